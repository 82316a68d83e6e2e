//! The in-memory store: traces bounded by count, by age and by bytes, oldest evicted first.
//!
//! Like Appdash's `MemoryStore`, packets for a span that is already stored append their
//! annotations to it, and a span may arrive before its parent: the tree is computed when a
//! trace is read, from the parent ids, so a late parent adopts its children. A trace's age
//! counts from its first packet (as Appdash's `RecentStore` does).
//!
//! The store is a cheap handle (`Clone` shares it). One mutex guards it; collecting a packet
//! holds it for a map insert. [`Store::trace`] copies the trace's spans out before building
//! its view; [`Store::traces`] keeps a summary per trace and rebuilds, under the lock, the
//! summaries of the traces changed since the last listing.
//!
//! **Bytes.** Each stored annotation counts as its key and value lengths plus
//! [`ANNOTATION_OVERHEAD`] bytes; when a packet would take the total past
//! [`StoreConfig::max_bytes`], the oldest traces are evicted until it fits. A packet larger than
//! the whole budget is dropped and counted.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use recorder_appdash::wire::{Annotation, CollectPacket};

use crate::model::{build_trace, RawSpan, TraceView};

/// Limits of a [`Store`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The most traces kept; the oldest is evicted when a new one arrives (default 10 000).
    pub max_traces: usize,
    /// Traces older than this (since their first packet) are evicted; `None` keeps them until
    /// the count limit evicts them (default 30 minutes, Appdash's `--delete-after`).
    pub max_age: Option<Duration>,
    /// The most spans kept per trace; later new spans are dropped and counted (default 10 000).
    pub max_spans_per_trace: usize,
    /// The most annotations kept per span; later ones are dropped and counted (default 10 000).
    pub max_annotations_per_span: usize,
    /// The most annotation bytes kept in all (see the [module docs](self) for how they are
    /// counted); the oldest traces are evicted to make room (default 256 MiB).
    pub max_bytes: usize,
}

/// The fixed cost counted for each stored annotation, on top of its key and value lengths.
pub const ANNOTATION_OVERHEAD: usize = 32;

/// The bytes an annotation counts for against [`StoreConfig::max_bytes`].
fn annotation_cost(a: &Annotation) -> usize {
    a.key
        .len()
        .saturating_add(a.value.as_ref().map_or(0, Vec::len))
        .saturating_add(ANNOTATION_OVERHEAD)
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            max_traces: 10_000,
            max_age: Some(Duration::from_secs(30 * 60)),
            max_spans_per_trace: 10_000,
            max_annotations_per_span: 10_000,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Counters of a [`Store`], as of one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Traces held now.
    pub traces: usize,
    /// Spans held now.
    pub spans: usize,
    /// Annotation bytes held now, as counted against [`StoreConfig::max_bytes`].
    pub bytes: usize,
    /// Packets collected since the store was made.
    pub packets: u64,
    /// Traces evicted because the count limit was reached.
    pub evicted_by_count: u64,
    /// Traces evicted because they grew older than the age limit.
    pub evicted_by_age: u64,
    /// Traces evicted to keep the store within its byte budget.
    pub evicted_by_bytes: u64,
    /// Packets refused because they alone exceed the byte budget.
    pub packets_too_large: u64,
    /// New spans refused because their trace held the most spans allowed.
    pub spans_dropped: u64,
    /// Annotations refused because their span held the most allowed.
    pub annotations_dropped: u64,
}

/// One line of the trace list.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSummary {
    /// The trace id.
    pub trace_id: u64,
    /// The root span's id (the first top-level span).
    pub root_span_id: u64,
    /// The root span's name (its id in hex when it has none).
    pub name: String,
    /// The root span's service (its `service` tag, else its `service.name` annotation), or
    /// else the first service of any span.
    pub service: Option<String>,
    /// The earliest start of any span.
    pub start: Option<SystemTime>,
    /// From the earliest start to the latest end.
    pub duration: Option<Duration>,
    /// How many spans the trace has.
    pub span_count: usize,
    /// Whether a span reports an error (an `error` tag of `true`, or an `event=error` log).
    pub error: bool,
    /// When the collector received the trace's first packet.
    pub received: SystemTime,
    services: BTreeSet<String>,
    operations: BTreeSet<String>,
}

impl TraceSummary {
    fn of(view: &TraceView, received: SystemTime) -> TraceSummary {
        let root = view.root();
        let service_of = |s: &crate::model::SpanView| s.service.clone();
        let services: BTreeSet<String> = view.spans.iter().filter_map(service_of).collect();
        TraceSummary {
            trace_id: view.trace_id,
            root_span_id: root.map_or(0, |r| r.span_id),
            name: root.map(|r| r.display_name()).unwrap_or_default(),
            service: root
                .and_then(service_of)
                .or_else(|| services.iter().next().cloned()),
            start: view.start(),
            duration: view.duration(),
            span_count: view.spans.len(),
            error: view.has_error(),
            received,
            services,
            operations: view.spans.iter().filter_map(|s| s.name.clone()).collect(),
        }
    }

    /// Whether the trace has a span of this service (see [`SpanView::service`]).
    ///
    /// [`SpanView::service`]: crate::SpanView::service
    pub fn has_service(&self, service: &str) -> bool {
        self.services.contains(service)
    }

    /// The services of the trace's spans, sorted, without repeats.
    pub fn services(&self) -> impl Iterator<Item = &str> + '_ {
        self.services.iter().map(String::as_str)
    }

    /// Whether the trace has a span with this name.
    pub fn has_operation(&self, operation: &str) -> bool {
        self.operations.contains(operation)
    }
}

/// Which traces [`Store::traces`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Only traces with a span of this service (exact match).
    pub service: Option<String>,
    /// Only traces with a span of this name (exact match).
    pub operation: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

/// The in-memory trace store. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    config: Arc<StoreConfig>,
}

#[derive(Debug, Default)]
struct Inner {
    traces: HashMap<u64, TraceEntry>,
    /// Trace ids, oldest first.
    order: VecDeque<u64>,
    spans: usize,
    bytes: usize,
    stats: StoreStats,
}

#[derive(Debug)]
struct TraceEntry {
    first_seen: Instant,
    received: SystemTime,
    spans: HashMap<u64, usize>,
    raw: Vec<RawSpan>,
    bytes: usize,
    summary: Option<TraceSummary>,
}

impl Default for Store {
    fn default() -> Store {
        Store::new(StoreConfig::default())
    }
}

impl Store {
    /// An empty store with these limits (a `max_traces` of 0 is taken as 1).
    pub fn new(config: StoreConfig) -> Store {
        Store {
            inner: Arc::new(Mutex::new(Inner::default())),
            config: Arc::new(config),
        }
    }

    /// The limits.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data: every update
        // below is a single insert or push.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a packet: a new span, or more annotations for a known one.
    pub fn collect(&self, packet: CollectPacket) {
        let now = Instant::now();
        let config = &*self.config;
        let max_annotations = config.max_annotations_per_span;
        let mut annotations = packet.annotations;
        let mut cut = truncate(&mut annotations, max_annotations);
        // An upper bound of what this packet adds (the span may keep fewer annotations).
        let cost = stored_cost(&annotations);
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.stats.packets += 1;
        inner.evict_expired(config, now);
        if cost > config.max_bytes {
            inner.stats.packets_too_large += 1;
            return;
        }
        while inner.bytes.saturating_add(cost) > config.max_bytes {
            if !inner.evict_oldest() {
                break;
            }
            inner.stats.evicted_by_bytes += 1;
        }
        let trace_id = packet.span_id.trace;
        if !inner.traces.contains_key(&trace_id) {
            while inner.traces.len() >= config.max_traces.max(1) {
                if !inner.evict_oldest() {
                    break;
                }
                inner.stats.evicted_by_count += 1;
            }
            inner.traces.insert(
                trace_id,
                TraceEntry {
                    first_seen: now,
                    received: SystemTime::now(),
                    spans: HashMap::new(),
                    raw: Vec::new(),
                    bytes: 0,
                    summary: None,
                },
            );
            inner.order.push_back(trace_id);
        }
        let Some(entry) = inner.traces.get_mut(&trace_id) else {
            return;
        };
        entry.summary = None;
        let span_id = packet.span_id.span;
        if let Some(raw) = entry
            .spans
            .get(&span_id)
            .and_then(|&i| entry.raw.get_mut(i))
        {
            if raw.parent == 0 {
                raw.parent = packet.span_id.parent;
            }
            let room = max_annotations.saturating_sub(raw.annotations.len());
            cut += truncate(&mut annotations, room);
            inner.stats.annotations_dropped += cut;
            let added = stored_cost(&annotations);
            entry.bytes = entry.bytes.saturating_add(added);
            inner.bytes = inner.bytes.saturating_add(added);
            raw.annotations.extend(annotations);
            return;
        }
        if entry.raw.len() >= config.max_spans_per_trace {
            inner.stats.spans_dropped += 1;
            return;
        }
        inner.stats.annotations_dropped += cut;
        let added = stored_cost(&annotations);
        entry.bytes = entry.bytes.saturating_add(added);
        inner.bytes = inner.bytes.saturating_add(added);
        entry.spans.insert(span_id, entry.raw.len());
        entry.raw.push(RawSpan {
            span_id,
            parent: packet.span_id.parent,
            annotations,
        });
        inner.spans += 1;
    }

    /// The trace with this id, if stored.
    pub fn trace(&self, trace_id: u64) -> Option<TraceView> {
        let raw = {
            let mut inner = self.lock();
            inner.evict_expired(&self.config, Instant::now());
            inner.traces.get(&trace_id)?.raw.clone()
        };
        Some(build_trace(trace_id, &raw))
    }

    /// The stored traces that match `filter`, newest first (by start time, then by arrival).
    ///
    /// Summaries are cached per trace; those of traces changed since they were last listed are
    /// rebuilt while the store's lock is held.
    pub fn traces(&self, filter: &TraceFilter) -> Vec<TraceSummary> {
        let mut list: Vec<(usize, TraceSummary)> = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            inner.evict_expired(&self.config, Instant::now());
            let Inner { traces, order, .. } = inner;
            order
                .iter()
                .enumerate()
                .filter_map(|(seq, id)| {
                    let entry = traces.get_mut(id)?;
                    let summary = match &entry.summary {
                        Some(s) => s,
                        None => {
                            let view = build_trace(*id, &entry.raw);
                            entry
                                .summary
                                .insert(TraceSummary::of(&view, entry.received))
                        }
                    };
                    let keep = filter
                        .service
                        .as_deref()
                        .is_none_or(|s| summary.has_service(s))
                        && filter
                            .operation
                            .as_deref()
                            .is_none_or(|o| summary.has_operation(o));
                    keep.then(|| (seq, summary.clone()))
                })
                .collect()
        };
        list.sort_by(|(sa, a), (sb, b)| {
            let ta = a.start.unwrap_or(a.received);
            let tb = b.start.unwrap_or(b.received);
            tb.cmp(&ta).then(sb.cmp(sa))
        });
        let mut out: Vec<TraceSummary> = list.into_iter().map(|(_, s)| s).collect();
        if let Some(limit) = filter.limit {
            out.truncate(limit);
        }
        out
    }

    /// How many traces are stored.
    pub fn len(&self) -> usize {
        let mut inner = self.lock();
        inner.evict_expired(&self.config, Instant::now());
        inner.traces.len()
    }

    /// Whether no trace is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counters.
    pub fn stats(&self) -> StoreStats {
        let mut inner = self.lock();
        inner.evict_expired(&self.config, Instant::now());
        StoreStats {
            traces: inner.traces.len(),
            spans: inner.spans,
            bytes: inner.bytes,
            ..inner.stats
        }
    }

    /// Removes every trace.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.traces.clear();
        inner.order.clear();
        inner.spans = 0;
        inner.bytes = 0;
    }
}

/// What these annotations count for against [`StoreConfig::max_bytes`].
fn stored_cost(annotations: &[Annotation]) -> usize {
    annotations
        .iter()
        .map(annotation_cost)
        .fold(0, usize::saturating_add)
}

/// Keeps at most `room` annotations; returns how many were cut.
fn truncate(annotations: &mut Vec<Annotation>, room: usize) -> u64 {
    let cut = annotations.len().saturating_sub(room);
    annotations.truncate(room);
    cut as u64
}

impl Inner {
    fn evict_oldest(&mut self) -> bool {
        let Some(id) = self.order.pop_front() else {
            return false;
        };
        if let Some(entry) = self.traces.remove(&id) {
            self.spans = self.spans.saturating_sub(entry.raw.len());
            self.bytes = self.bytes.saturating_sub(entry.bytes);
        }
        true
    }

    fn evict_expired(&mut self, config: &StoreConfig, now: Instant) {
        let Some(max_age) = config.max_age else {
            return;
        };
        while let Some(entry) = self.order.front().and_then(|id| self.traces.get(id)) {
            if now.saturating_duration_since(entry.first_seen) < max_age {
                break;
            }
            self.evict_oldest();
            self.stats.evicted_by_age += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recorder_appdash::wire::WireSpanId;

    fn packet(trace: u64, span: u64, parent: u64, anns: Vec<Annotation>) -> CollectPacket {
        CollectPacket {
            span_id: WireSpanId {
                trace,
                span,
                parent,
            },
            annotations: anns,
        }
    }

    #[test]
    fn packets_of_a_span_merge_and_late_parents_adopt() {
        let store = Store::default();
        store.collect(packet(1, 2, 1, vec![Annotation::new("Name", "child")]));
        store.collect(packet(1, 2, 1, vec![Annotation::new("k", "v")]));
        let t = store.trace(1).unwrap();
        assert_eq!(
            t.roots,
            vec![2],
            "an orphan is shown at the top until its parent comes"
        );
        store.collect(packet(1, 1, 0, vec![Annotation::new("Name", "root")]));
        let t = store.trace(1).unwrap();
        assert_eq!(t.roots, vec![1]);
        assert_eq!(t.span(1).unwrap().children, vec![2]);
        assert_eq!(t.span(2).unwrap().annotations.len(), 2);
        assert_eq!(t.span(2).unwrap().tag("k"), Some("v"));
        assert_eq!(store.stats().spans, 2);
        assert_eq!(store.stats().packets, 3);
        let list = store.traces(&TraceFilter::default());
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "root");
        assert_eq!(list[0].span_count, 2);
    }

    #[test]
    fn services_come_from_service_name_or_the_service_tag() {
        let store = Store::default();
        let named = |name: &str, extra: Vec<Annotation>| {
            let mut v = vec![Annotation::new("Name", name)];
            v.extend(extra);
            v
        };
        // Appdash's Go recorder: a `service` tag only.
        store.collect(packet(
            1,
            1,
            0,
            named("go", vec![Annotation::new("service", "legacy")]),
        ));
        // recorder-appdash: `service.name` on each span; the root's service wins.
        store.collect(packet(
            2,
            5,
            4,
            named("child", vec![Annotation::new("service.name", "backend")]),
        ));
        store.collect(packet(
            2,
            4,
            0,
            named("root", vec![Annotation::new("service.name", "frontend")]),
        ));
        let list = store.traces(&TraceFilter::default());
        let by_id = |id: u64| list.iter().find(|t| t.trace_id == id).unwrap();
        assert_eq!(by_id(1).service.as_deref(), Some("legacy"));
        assert_eq!(by_id(2).service.as_deref(), Some("frontend"));
        assert_eq!(
            by_id(2).services().collect::<Vec<_>>(),
            vec!["backend", "frontend"]
        );
        for (service, hits) in [("backend", 1), ("frontend", 1), ("legacy", 1), ("x", 0)] {
            let filter = TraceFilter {
                service: Some(service.to_owned()),
                ..TraceFilter::default()
            };
            assert_eq!(store.traces(&filter).len(), hits, "{service}");
        }
    }

    #[test]
    fn per_trace_and_per_span_bounds() {
        let store = Store::new(StoreConfig {
            max_spans_per_trace: 2,
            max_annotations_per_span: 3,
            ..StoreConfig::default()
        });
        for s in 1..=3 {
            store.collect(packet(1, s, 0, vec![Annotation::marker("a"); 2]));
        }
        store.collect(packet(1, 1, 0, vec![Annotation::marker("b"); 2]));
        let stats = store.stats();
        assert_eq!(stats.spans, 2);
        assert_eq!(stats.spans_dropped, 1);
        assert_eq!(stats.annotations_dropped, 1);
        assert_eq!(
            store.trace(1).unwrap().span(1).unwrap().annotations.len(),
            3
        );
    }

    #[test]
    fn count_eviction_removes_the_oldest() {
        let store = Store::new(StoreConfig {
            max_traces: 2,
            ..StoreConfig::default()
        });
        for t in 1..=3 {
            store.collect(packet(t, 1, 0, Vec::new()));
        }
        store.collect(packet(2, 5, 1, Vec::new()));
        assert!(store.trace(1).is_none());
        assert!(store.trace(2).is_some());
        assert_eq!(store.stats().evicted_by_count, 1);
        assert_eq!(store.stats().spans, 3);
        store.clear();
        assert!(store.is_empty());
    }

    #[test]
    fn byte_budget_evicts_the_oldest_and_refuses_oversized_packets() {
        // Each annotation: key "k" (1) + 9-byte value + overhead.
        let each = 1 + 9 + ANNOTATION_OVERHEAD;
        let ann = || Annotation::new("k", "123456789");
        let store = Store::new(StoreConfig {
            max_bytes: 5 * each,
            ..StoreConfig::default()
        });
        for t in 1..=2 {
            store.collect(packet(t, 1, 0, vec![ann(), ann()]));
        }
        assert_eq!(store.stats().bytes, 4 * each);
        // Two more do not fit: trace 1, the oldest, goes.
        store.collect(packet(3, 1, 0, vec![ann(), ann()]));
        assert!(store.trace(1).is_none());
        assert!(store.trace(2).is_some() && store.trace(3).is_some());
        let stats = store.stats();
        assert_eq!(stats.evicted_by_bytes, 1);
        assert_eq!(stats.evicted_by_count, 0);
        assert_eq!(stats.bytes, 4 * each);
        assert_eq!(stats.traces, 2);
        // Appending to a kept trace counts too, and evicts the oldest other trace.
        store.collect(packet(3, 1, 0, vec![ann(), ann()]));
        assert!(store.trace(2).is_none());
        assert_eq!(
            store.trace(3).unwrap().span(1).unwrap().annotations.len(),
            4
        );
        assert_eq!(store.stats().evicted_by_bytes, 2);
        assert_eq!(store.stats().bytes, 4 * each);
        // A packet over the whole budget is refused without evicting anything.
        store.collect(packet(4, 1, 0, vec![ann(); 6]));
        let stats = store.stats();
        assert!(store.trace(4).is_none());
        assert!(store.trace(3).is_some());
        assert_eq!(stats.packets_too_large, 1);
        assert_eq!(stats.evicted_by_bytes, 2);
        assert_eq!(stats.packets, 5);
        assert!(stats.bytes <= 5 * each);
        store.clear();
        assert_eq!(store.stats().bytes, 0);
    }
}
