//! What a trace looks like once its annotations are read: spans with names, times, tags, logs
//! and baggage, arranged in a tree.
//!
//! Appdash stores nothing but `(key, value)` annotations per span. This module reads them the
//! way Appdash's OpenTracing recorder (and `recorder-appdash`) writes them:
//!
//! | annotations | read as |
//! |---|---|
//! | `Name` | the span name (the first one wins) |
//! | `Span.Start`, `Span.End` (RFC 3339) | the span's time span; without them `Client.Send`/`Client.Recv` or `Server.Recv`/`Server.Send` of Appdash's HTTP events |
//! | `Msg`, then `Time` | one log; a message that is a JSON object gives the log's fields |
//! | `service.name` | the span's service (the first one wins) |
//! | `ref.follows_from`, `ref.child_of` (a span id in hex) | the span's references |
//! | `_schema:*` | markers, shown only among the raw annotations |
//! | anything else | a tag or a baggage item |
//!
//! **Baggage.** Appdash's wire does not mark baggage: a baggage item is sent like a tag. Since
//! baggage is inherited by every descendant of the span that set it, a key/value pair is shown
//! as baggage when the same pair appears on the span's parent or on one of its children; the
//! standard OpenTracing tags (`span.kind`, `component`, `error`, `http.*`, `db.*`, `peer.*`,
//! `message_bus.*`, `sampling.priority`) and the `service` tag are always tags. Programs that need certainty read
//! the raw annotations.
//!
//! **Errors.** A span is marked as an error when it has an `error` tag of `true`, or a log
//! whose `event` is `error`.
//!
//! `service.name` and `ref.*` are not shown a second time as tags (they stay among the raw
//! annotations); a `ref.*` value that is not a span id is kept as a tag.
//!
//! **Service.** Appdash's own packets carry no service name; `recorder-appdash` adds a
//! `service.name` annotation with the tracer's service name (a span's own `service.name` tag
//! is sent the same way). A span's service is the value of its `service` tag if it has one (a
//! per-span override), else of its `service.name` annotation.
//!
//! **References.** Appdash's ids carry only the parent (the first reference, of either kind).
//! `recorder-appdash` adds a `ref.follows_from` annotation per follows-from reference (the
//! parent included when the span follows from it) and a `ref.child_of` annotation per further
//! child-of reference; they become [`SpanView::references`]. A span that follows from its
//! parent still sits under it in the tree, marked by [`SpanView::follows_from_parent`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use recorder_appdash::annotations::{REF_CHILD_OF, REF_FOLLOWS_FROM, SERVICE_NAME};
use recorder_appdash::wire::Annotation;

/// How a span relates to a span it references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    /// The referenced span waits for this one (a call): `ref.child_of`, or the parent.
    ChildOf,
    /// The referenced span does not wait for this one (fire and forget, a queue):
    /// `ref.follows_from`.
    FollowsFrom,
}

impl ReferenceKind {
    /// `child_of` or `follows_from`, as in the JSON API.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::ChildOf => "child_of",
            ReferenceKind::FollowsFrom => "follows_from",
        }
    }
}

/// A reference from a span to another span, read from a `ref.*` annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReferenceView {
    /// The kind of relation.
    pub kind: ReferenceKind,
    /// The referenced span (which may belong to another trace: Appdash ids cannot say).
    pub span_id: u64,
}

/// One span of a trace, read from its annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanView {
    /// The span id.
    pub span_id: u64,
    /// The parent span id, `None` for a root (parent 0 on the wire).
    pub parent_id: Option<u64>,
    /// The `Name` annotation.
    pub name: Option<String>,
    /// The span's service: its `service` tag, else its `service.name` annotation (see the
    /// [module docs](self)).
    pub service: Option<String>,
    /// References from `ref.follows_from` and `ref.child_of` annotations, in arrival order,
    /// without repeats.
    pub references: Vec<ReferenceView>,
    /// When the span started.
    pub start: Option<SystemTime>,
    /// When the span ended.
    pub end: Option<SystemTime>,
    /// Tags, in arrival order (baggage excluded).
    pub tags: Vec<(String, String)>,
    /// Baggage items (see the [module docs](self) for how they are told from tags).
    pub baggage: Vec<(String, String)>,
    /// Logs, in arrival order.
    pub logs: Vec<LogView>,
    /// Every annotation as received, in order.
    pub annotations: Vec<Annotation>,
    /// The ids of the child spans, earliest first.
    pub children: Vec<u64>,
    /// Depth in the tree: 0 for a root.
    pub depth: usize,
    /// Whether the span reports an error.
    pub error: bool,
}

impl SpanView {
    /// The span's duration, when both ends are known (zero if the end precedes the start).
    pub fn duration(&self) -> Option<Duration> {
        match (self.start, self.end) {
            (Some(s), Some(e)) => Some(e.duration_since(s).unwrap_or_default()),
            _ => None,
        }
    }

    /// The name, or the span id in 16 hex digits when the span has none (as Appdash shows it).
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("{:016x}", self.span_id),
        }
    }

    /// Whether the span follows from its parent (a `ref.follows_from` naming the parent).
    pub fn follows_from_parent(&self) -> bool {
        self.parent_id.is_some_and(|p| {
            self.references
                .iter()
                .any(|r| r.kind == ReferenceKind::FollowsFrom && r.span_id == p)
        })
    }

    /// The spans this one follows from.
    pub fn follows_from(&self) -> impl Iterator<Item = u64> + '_ {
        self.references
            .iter()
            .filter(|r| r.kind == ReferenceKind::FollowsFrom)
            .map(|r| r.span_id)
    }

    /// The value of the first tag (or baggage item) with this key.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .chain(&self.baggage)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One log of a span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogView {
    /// The `Time` annotation, if present and valid.
    pub time: Option<SystemTime>,
    /// The `Msg` annotation: the event text, or a JSON object of the fields.
    pub message: String,
    /// The fields, when the message is a JSON object.
    pub fields: Option<BTreeMap<String, String>>,
}

impl LogView {
    /// Whether this log records an error (`event` = `error`).
    pub fn is_error(&self) -> bool {
        match &self.fields {
            Some(f) => f.get("event").is_some_and(|e| e == "error"),
            None => self.message == "error",
        }
    }
}

/// A trace: its spans in tree order (each parent before its children, siblings earliest
/// first).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceView {
    /// The trace id.
    pub trace_id: u64,
    /// The spans, depth first.
    pub spans: Vec<SpanView>,
    /// The ids of the top-level spans: roots, and spans whose parent has not arrived.
    pub roots: Vec<u64>,
}

impl TraceView {
    /// The earliest start of any span.
    pub fn start(&self) -> Option<SystemTime> {
        self.spans.iter().filter_map(|s| s.start).min()
    }

    /// The latest end of any span.
    pub fn end(&self) -> Option<SystemTime> {
        self.spans.iter().filter_map(|s| s.end.or(s.start)).max()
    }

    /// From the earliest start to the latest end.
    pub fn duration(&self) -> Option<Duration> {
        match (self.start(), self.end()) {
            (Some(s), Some(e)) => Some(e.duration_since(s).unwrap_or_default()),
            _ => None,
        }
    }

    /// The span with this id.
    pub fn span(&self, span_id: u64) -> Option<&SpanView> {
        self.spans.iter().find(|s| s.span_id == span_id)
    }

    /// The first root span.
    pub fn root(&self) -> Option<&SpanView> {
        self.roots.first().and_then(|id| self.span(*id))
    }

    /// Whether any span reports an error.
    pub fn has_error(&self) -> bool {
        self.spans.iter().any(|s| s.error)
    }

    /// The sub-tree under `span_id` (that span becomes the only root, at depth 0).
    pub fn subtree(&self, span_id: u64) -> Option<TraceView> {
        let pos = self.spans.iter().position(|s| s.span_id == span_id)?;
        let base = self.spans.get(pos)?.depth;
        let mut spans = Vec::new();
        for (i, s) in self.spans.iter().enumerate().skip(pos) {
            if i > pos && s.depth <= base {
                break;
            }
            let mut s = s.clone();
            s.depth -= base;
            spans.push(s);
        }
        Some(TraceView {
            trace_id: self.trace_id,
            spans,
            roots: vec![span_id],
        })
    }
}

/// A span as stored: its parent and its annotations.
#[derive(Clone, Debug)]
pub(crate) struct RawSpan {
    pub(crate) span_id: u64,
    pub(crate) parent: u64,
    pub(crate) annotations: Vec<Annotation>,
}

/// Standard OpenTracing tags that are never taken for baggage.
fn is_standard_tag(key: &str) -> bool {
    const EXACT: [&str; 5] = [
        "span.kind",
        "component",
        "error",
        "sampling.priority",
        "service",
    ];
    const PREFIXES: [&str; 4] = ["http.", "db.", "peer.", "message_bus."];
    EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Builds the view of a trace from its stored spans (in arrival order).
pub(crate) fn build_trace(trace_id: u64, raw: &[RawSpan]) -> TraceView {
    // Read each span's annotations; attributes are split into tags and baggage afterwards.
    let mut spans: Vec<(SpanView, Vec<(String, String)>)> = raw.iter().map(read_span).collect();
    let index: HashMap<u64, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, (s, _))| (s.span_id, i))
        .collect();

    // Children lists and roots.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, (s, _)) in spans.iter().enumerate() {
        match s.parent_id.and_then(|p| index.get(&p)) {
            Some(&p) if p != i => {
                if let Some(c) = children.get_mut(p) {
                    c.push(i);
                }
            }
            _ => roots.push(i),
        }
    }
    let key = |i: &usize| {
        let s = spans.get(*i).map(|(s, _)| s);
        (
            s.and_then(|s| s.start).is_none(),
            s.and_then(|s| s.start),
            s.map(|s| s.span_id),
        )
    };
    roots.sort_by_key(key);
    for c in &mut children {
        c.sort_by_key(key);
    }

    // Baggage: pairs shared along a parent-child edge.
    let pairs: Vec<HashSet<(&str, &str)>> = spans
        .iter()
        .map(|(_, attrs)| {
            attrs
                .iter()
                .filter(|(k, _)| !is_standard_tag(k))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        })
        .collect();
    let mut shared: Vec<HashSet<(String, String)>> = vec![HashSet::new(); spans.len()];
    for (p, kids) in children.iter().enumerate() {
        for &c in kids {
            if let (Some(pp), Some(cp)) = (pairs.get(p), pairs.get(c)) {
                for pair in pp.intersection(cp) {
                    let owned = (pair.0.to_owned(), pair.1.to_owned());
                    if let Some(s) = shared.get_mut(p) {
                        s.insert(owned.clone());
                    }
                    if let Some(s) = shared.get_mut(c) {
                        s.insert(owned);
                    }
                }
            }
        }
    }
    drop(pairs);
    for ((span, attrs), bag) in spans.iter_mut().zip(&shared) {
        for (k, v) in std::mem::take(attrs) {
            if bag.contains(&(k.clone(), v.clone())) {
                span.baggage.push((k, v));
            } else {
                span.tags.push((k, v));
            }
        }
    }

    // Depth-first order without recursion; the first span (in arrival order) caught in a
    // parent cycle becomes a root, and the edge back to it is dropped, so the tree (and
    // `children`) stays acyclic. A span is marked visited when it is first reached, and only
    // then gets its depth and a place among its parent's children.
    let mut order = Vec::with_capacity(spans.len());
    let mut depth = vec![0usize; spans.len()];
    let mut visited = vec![false; spans.len()];
    let mut tree: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut top = roots.clone();
    let mut next_unvisited = 0;
    loop {
        let mut stack = Vec::new();
        for &r in top.iter().rev() {
            if let Some(v) = visited.get_mut(r).filter(|v| !**v) {
                *v = true;
                stack.push(r);
            }
        }
        while let Some(i) = stack.pop() {
            order.push(i);
            let d = depth.get(i).copied().unwrap_or(0);
            let mut kept = Vec::new();
            for &c in children.get(i).map(Vec::as_slice).unwrap_or_default() {
                if let Some(v) = visited.get_mut(c).filter(|v| !**v) {
                    *v = true;
                    if let Some(cd) = depth.get_mut(c) {
                        *cd = d + 1;
                    }
                    kept.push(c);
                }
            }
            stack.extend(kept.iter().rev());
            if let Some(t) = tree.get_mut(i) {
                *t = kept;
            }
        }
        while visited.get(next_unvisited).copied().unwrap_or(false) {
            next_unvisited += 1;
        }
        if next_unvisited >= spans.len() {
            break;
        }
        roots.push(next_unvisited);
        top = vec![next_unvisited];
    }

    let ids: Vec<u64> = spans.iter().map(|(s, _)| s.span_id).collect();
    let mut slots: Vec<Option<SpanView>> = spans.into_iter().map(|(s, _)| Some(s)).collect();
    let mut out = Vec::with_capacity(order.len());
    for i in order {
        let Some(mut s) = slots.get_mut(i).and_then(Option::take) else {
            continue;
        };
        s.depth = depth.get(i).copied().unwrap_or(0);
        s.children = tree
            .get(i)
            .map(|kids| kids.iter().filter_map(|&c| ids.get(c).copied()).collect())
            .unwrap_or_default();
        out.push(s);
    }
    TraceView {
        trace_id,
        spans: out,
        roots: roots.iter().filter_map(|&r| ids.get(r).copied()).collect(),
    }
}

/// Reads one span's annotations; returns the view and its plain key/value attributes.
fn read_span(raw: &RawSpan) -> (SpanView, Vec<(String, String)>) {
    let mut view = SpanView {
        span_id: raw.span_id,
        parent_id: (raw.parent != 0).then_some(raw.parent),
        name: None,
        service: None,
        references: Vec::new(),
        start: None,
        end: None,
        tags: Vec::new(),
        baggage: Vec::new(),
        logs: Vec::new(),
        annotations: raw.annotations.clone(),
        children: Vec::new(),
        depth: 0,
        error: false,
    };
    let mut attrs = Vec::new();
    let mut log_open = false;
    let mut http_times: HashMap<&str, SystemTime> = HashMap::new();
    let mut service_name = None;
    for a in &raw.annotations {
        let value = || {
            a.value
                .as_deref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        match a.key.as_str() {
            "Name" if view.name.is_none() => view.name = Some(value()),
            "Span.Start" if view.start.is_none() => view.start = parse_time(&value()),
            "Span.End" if view.end.is_none() => view.end = parse_time(&value()),
            "Msg" => {
                let message = value();
                view.logs.push(LogView {
                    time: None,
                    fields: log_fields(&message),
                    message,
                });
                log_open = true;
            }
            "Time" if log_open && view.logs.last().is_some_and(|l| l.time.is_none()) => {
                if let Some(l) = view.logs.last_mut() {
                    l.time = parse_time(&value());
                }
            }
            SERVICE_NAME => {
                if service_name.is_none() {
                    service_name = Some(value());
                }
            }
            k @ (REF_FOLLOWS_FROM | REF_CHILD_OF) => {
                let kind = if k == REF_FOLLOWS_FROM {
                    ReferenceKind::FollowsFrom
                } else {
                    ReferenceKind::ChildOf
                };
                match parse_span_id(&value()) {
                    Some(span_id) => {
                        let r = ReferenceView { kind, span_id };
                        if !view.references.contains(&r) {
                            view.references.push(r);
                        }
                    }
                    None => attrs.push((a.key.clone(), value())),
                }
            }
            k @ ("Client.Send" | "Client.Recv" | "Server.Recv" | "Server.Send") => {
                if let Some(t) = parse_time(&value()) {
                    http_times.insert(k, t);
                }
                attrs.push((a.key.clone(), value()));
            }
            k if k.starts_with("_schema:") => log_open = false,
            _ => attrs.push((a.key.clone(), value())),
        }
    }
    if view.start.is_none() && view.end.is_none() {
        for (s, e) in [
            ("Client.Send", "Client.Recv"),
            ("Server.Recv", "Server.Send"),
        ] {
            if let (Some(s), Some(e)) = (http_times.get(s), http_times.get(e)) {
                view.start = Some(*s);
                view.end = Some(*e);
                break;
            }
        }
    }
    view.service = attrs
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone())
        .or(service_name);
    view.error = attrs
        .iter()
        .any(|(k, v)| k == "error" && v.trim().eq_ignore_ascii_case("true"))
        || view.logs.iter().any(LogView::is_error);
    (view, attrs)
}

/// A span id of a `ref.*` annotation: 1 to 16 hex digits, not zero.
fn parse_span_id(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok().filter(|&id| id != 0)
}

/// The fields of a log message that is a JSON object.
fn log_fields(message: &str) -> Option<BTreeMap<String, String>> {
    if !message.trim_start().starts_with('{') {
        return None;
    }
    let serde_json::Value::Object(map) = serde_json::from_str(message).ok()? else {
        return None;
    };
    Some(
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect(),
    )
}

/// Parses an RFC 3339 time (`2016-01-02T15:04:05.123456789Z`, or with a `±hh:mm` offset) as
/// Go's `time.RFC3339Nano` writes it. `None` for anything else.
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        let mut v = 0i64;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        Some(v)
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    // The year may have more than four digits.
    let year_len = b.iter().position(|&c| c == b'-')?;
    if !(4..=6).contains(&year_len) {
        return None;
    }
    let year = num(0, year_len)?;
    let o = year_len;
    let separators = [
        (0, &b"-"[..]),
        (3, b"-"),
        (6, b"Tt "),
        (9, b":"),
        (12, b":"),
    ];
    if !separators.iter().all(|(at, c)| sep(o + at, c)) {
        return None;
    }
    let (month, day) = (num(o + 1, 2)?, num(o + 4, 2)?);
    let (hour, min, sec) = (num(o + 7, 2)?, num(o + 10, 2)?, num(o + 13, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = o + 15;
    let mut nanos = 0i64;
    if sep(i, b".") {
        i += 1;
        let mut digits = 0;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if digits < 9 {
                nanos = nanos * 10 + i64::from(d - b'0');
            }
            digits += 1;
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if c == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    let total = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    from_unix_nanos(total)
}

/// A count of nanoseconds since the epoch (negative before it) as a `SystemTime`.
fn from_unix_nanos(n: i128) -> Option<SystemTime> {
    let abs = n.unsigned_abs();
    let secs = u64::try_from(abs / 1_000_000_000).ok()?;
    let d = Duration::new(secs, (abs % 1_000_000_000) as u32);
    if n >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// Days since 1970-01-01 of a civil date, proleptic Gregorian.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch (negative before it).
pub(crate) fn unix_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recorder_appdash::annotations::format_time;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn times_round_trip_with_the_recorder_format() {
        for t in [
            UNIX_EPOCH,
            at(1_451_747_045, 123_456_789),
            at(1_451_747_045, 200_000_000),
            at(951_782_400, 0),
            at(4_102_444_799, 999_999_990),
            UNIX_EPOCH - Duration::new(1, 500_000_000),
            at(253_402_300_800, 5),
        ] {
            assert_eq!(parse_time(&format_time(t)), Some(t), "{}", format_time(t));
        }
    }

    #[test]
    fn offsets_and_bad_times() {
        assert_eq!(
            parse_time("2016-01-02T16:04:05.5+01:00"),
            Some(at(1_451_747_045, 500_000_000))
        );
        assert_eq!(
            parse_time("2016-01-02T14:34:05-00:30"),
            Some(at(1_451_747_045, 0))
        );
        for bad in [
            "",
            "2016",
            "2016-01-02",
            "2016-01-02T15:04:05",
            "2016-13-02T15:04:05Z",
            "2016-01-02T15:04:05.Z",
            "2016-01-02T15:04:05Zjunk",
            "2016-01-02T15:04:05+1:00",
            "x016-01-02T15:04:05Z",
            "20é6-01-02T15:04:05Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    fn raw(span: u64, parent: u64, anns: Vec<Annotation>) -> RawSpan {
        RawSpan {
            span_id: span,
            parent,
            annotations: anns,
        }
    }

    fn named(name: &str, start: u64, end: u64) -> Vec<Annotation> {
        vec![
            Annotation::new("Name", name),
            Annotation::marker("_schema:name"),
            Annotation::new("Span.Start", format_time(at(start, 0))),
            Annotation::new("Span.End", format_time(at(end, 0))),
            Annotation::marker("_schema:Timespan"),
        ]
    }

    #[test]
    fn tree_order_depths_and_orphans() {
        let spans = vec![
            raw(3, 1, named("late child", 20, 30)),
            raw(2, 1, named("early child", 10, 12)),
            raw(4, 2, named("grandchild", 11, 12)),
            raw(1, 0, named("root", 5, 40)),
            raw(9, 77, named("orphan", 50, 60)),
            // A parent cycle: none is reachable from a root.
            raw(5, 8, named("cycle a", 1, 2)),
            raw(6, 5, named("cycle b", 3, 4)),
            raw(8, 6, named("cycle c", 5, 6)),
        ];
        let t = build_trace(7, &spans);
        let order: Vec<(u64, usize)> = t.spans.iter().map(|s| (s.span_id, s.depth)).collect();
        assert_eq!(order[..4], [(1, 0), (2, 1), (4, 2), (3, 1)]);
        assert_eq!(t.spans.len(), 8);
        assert_eq!(t.roots, vec![1, 9, 5]);
        assert_eq!(t.span(1).unwrap().children, vec![2, 3]);
        assert_eq!(t.root().unwrap().name.as_deref(), Some("root"));
        assert_eq!(t.start(), Some(at(1, 0)));
        let sub = t.subtree(2).unwrap();
        let ids: Vec<(u64, usize)> = sub.spans.iter().map(|s| (s.span_id, s.depth)).collect();
        assert_eq!(ids, vec![(2, 0), (4, 1)]);

        // The cycle is cut at its first span, which becomes a root: depths follow the tree,
        // and no child list points back up.
        assert_eq!(order[5..], [(5, 0), (6, 1), (8, 2)]);
        assert_eq!(t.span(5).unwrap().children, vec![6]);
        assert_eq!(t.span(6).unwrap().children, vec![8]);
        assert!(t.span(8).unwrap().children.is_empty());
        let mut seen = HashSet::new();
        for s in &t.spans {
            for c in &s.children {
                assert!(seen.insert(*c), "span {c} listed as a child twice");
                assert_eq!(
                    t.span(*c).unwrap().depth,
                    s.depth + 1,
                    "child {c} of {}",
                    s.span_id
                );
                assert!(!t.roots.contains(c), "root {c} listed as a child");
            }
        }
        let sub = t.subtree(5).unwrap();
        let ids: Vec<(u64, usize)> = sub.spans.iter().map(|s| (s.span_id, s.depth)).collect();
        assert_eq!(ids, vec![(5, 0), (6, 1), (8, 2)]);
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let spans: Vec<RawSpan> = (1..=100_000u64)
            .map(|i| raw(i, i - 1, vec![Annotation::new("Name", "x")]))
            .collect();
        let t = build_trace(1, &spans);
        assert_eq!(t.spans.len(), 100_000);
        assert_eq!(t.spans.last().unwrap().depth, 99_999);
    }

    #[test]
    fn logs_tags_baggage_and_errors() {
        let mut root = named("root", 1, 9);
        root.extend([
            Annotation::new("Msg", "cache-miss"),
            Annotation::new("Time", "1970-01-01T00:00:02Z"),
            Annotation::marker("_schema:log"),
            Annotation::new("http.method", "GET"),
            Annotation::new("component", "web"),
            Annotation::new("customer", "acme"),
        ]);
        let mut child = named("child", 2, 3);
        child.extend([
            Annotation::new("Msg", r#"{"event":"error","error.object":"boom"}"#),
            Annotation::new("Time", "bad"),
            Annotation::marker("_schema:log"),
            Annotation::new("component", "web"),
            Annotation::new("customer", "acme"),
            Annotation::new("Time", "not a log"),
        ]);
        let t = build_trace(1, &[raw(1, 0, root), raw(2, 1, child)]);
        let r = t.span(1).unwrap();
        assert_eq!(r.logs.len(), 1);
        assert_eq!(r.logs[0].message, "cache-miss");
        assert_eq!(r.logs[0].time, Some(at(2, 0)));
        assert!(!r.error);
        assert_eq!(
            r.tags,
            vec![
                ("http.method".to_owned(), "GET".to_owned()),
                ("component".to_owned(), "web".to_owned())
            ]
        );
        assert_eq!(r.baggage, vec![("customer".to_owned(), "acme".to_owned())]);
        let c = t.span(2).unwrap();
        assert!(c.error);
        assert_eq!(c.logs[0].time, None);
        assert_eq!(c.logs[0].fields.as_ref().unwrap()["error.object"], "boom");
        assert_eq!(c.tag("Time"), Some("not a log"));
        assert_eq!(c.baggage, vec![("customer".to_owned(), "acme".to_owned())]);
        assert_eq!(c.annotations.len(), 11);
        assert!(t.has_error());
        let mut tagged = named("e", 1, 2);
        tagged.push(Annotation::new("error", "true"));
        assert!(build_trace(1, &[raw(1, 0, tagged)]).spans[0].error);
    }

    #[test]
    fn service_and_references_are_read_not_shown_as_tags() {
        let mut root = named("root", 1, 9);
        root.extend([
            Annotation::new("service.name", "frontend"),
            Annotation::new("service.name", "ignored second"),
        ]);
        let mut child = named("child", 2, 3);
        child.extend([
            Annotation::new("service.name", "worker"),
            Annotation::new("ref.follows_from", "0000000000000001"),
            Annotation::new("ref.child_of", "00000000000000ff"),
            // A re-sent packet repeats annotations: read once.
            Annotation::new("ref.follows_from", "0000000000000001"),
            Annotation::new("ref.follows_from", "not an id"),
            Annotation::new("ref.child_of", "0000000000000000"),
        ]);
        let mut tagged = named("tagged", 4, 5);
        tagged.extend([
            Annotation::new("service.name", "process"),
            Annotation::new("service", "override"),
        ]);
        let t = build_trace(1, &[raw(1, 0, root), raw(2, 1, child), raw(3, 1, tagged)]);
        let r = t.span(1).unwrap();
        assert_eq!(r.service.as_deref(), Some("frontend"));
        assert!(r.tags.is_empty() && r.baggage.is_empty(), "{r:?}");
        assert!(r.references.is_empty() && !r.follows_from_parent());
        assert_eq!(r.annotations.len(), 7, "raw annotations keep everything");
        let c = t.span(2).unwrap();
        assert_eq!(c.service.as_deref(), Some("worker"));
        assert_eq!(
            c.references,
            vec![
                ReferenceView {
                    kind: ReferenceKind::FollowsFrom,
                    span_id: 1
                },
                ReferenceView {
                    kind: ReferenceKind::ChildOf,
                    span_id: 0xff
                },
            ]
        );
        assert!(c.follows_from_parent());
        assert_eq!(c.follows_from().collect::<Vec<_>>(), vec![1]);
        assert_eq!(
            c.tags,
            vec![
                ("ref.follows_from".to_owned(), "not an id".to_owned()),
                ("ref.child_of".to_owned(), "0000000000000000".to_owned()),
            ],
            "values that are not span ids stay visible as tags"
        );
        assert_eq!(c.parent_id, Some(1), "still under its parent in the tree");
        assert_eq!(t.span(1).unwrap().children, vec![2, 3]);
        let g = t.span(3).unwrap();
        assert_eq!(g.service.as_deref(), Some("override"));
        assert_eq!(g.tag("service"), Some("override"));
        assert_eq!(g.tag("service.name"), None);
        assert_eq!(ReferenceKind::FollowsFrom.as_str(), "follows_from");
        assert_eq!(ReferenceKind::ChildOf.as_str(), "child_of");
    }

    #[test]
    fn spans_without_annotations_still_show() {
        let t = build_trace(
            1,
            &[raw(0x2a, 0, vec![Annotation::new("Name", vec![0xff])])],
        );
        assert_eq!(t.spans[0].name.as_deref(), Some("\u{fffd}"));
        let t = build_trace(1, &[raw(0x2a, 0, Vec::new())]);
        assert_eq!(t.spans[0].display_name(), "000000000000002a");
        assert_eq!(t.spans[0].duration(), None);
        assert_eq!(t.duration(), None);
    }
}
