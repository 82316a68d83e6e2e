//! Span contexts, sampling state and baggage: what crosses process boundaries.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::id::{SpanId, TraceId};

/// The sampling state a context carries.
///
/// Local spans are always decided ([`Sampling::Accept`], [`Sampling::Deny`] or
/// [`Sampling::Debug`]). [`Sampling::Deferred`] appears only on contexts extracted from a caller
/// that left the decision to us (B3 without `X-B3-Sampled`); the tracer's sampler then decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sampling {
    /// Not decided yet: the receiver's sampler decides.
    Deferred,
    /// Recorded.
    Accept,
    /// Not recorded.
    Deny,
    /// Recorded, and backends should keep it whatever their own sampling (B3 `X-B3-Flags: 1`).
    Debug,
}

impl Sampling {
    /// True for [`Sampling::Accept`] and [`Sampling::Debug`].
    pub const fn is_sampled(self) -> bool {
        matches!(self, Sampling::Accept | Sampling::Debug)
    }

    /// `Accept` or `Deny` from a bool.
    pub const fn from_sampled(sampled: bool) -> Sampling {
        if sampled {
            Sampling::Accept
        } else {
            Sampling::Deny
        }
    }
}

/// Baggage: key/value pairs that travel with a trace to every descendant span, in this process
/// and across process boundaries.
///
/// Cheap to clone (shared, copy-on-write); an empty baggage allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baggage(Option<Arc<BTreeMap<String, String>>>);

impl Baggage {
    /// An empty baggage.
    pub const fn new() -> Baggage {
        Baggage(None)
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|m| m.is_empty())
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.as_ref()?.get(key).map(String::as_str)
    }

    /// Sets `key` to `value`, replacing an earlier value. Copies the items only when they are
    /// shared with another context.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let map = self.0.get_or_insert_with(Default::default);
        Arc::make_mut(map).insert(key.into(), value.into());
    }

    /// The items, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Calls `f` for each item, sorted by key, until it returns `false`
    /// (OpenTracing's `ForeachBaggageItem`).
    pub fn for_each(&self, mut f: impl FnMut(&str, &str) -> bool) {
        for (k, v) in self.iter() {
            if !f(k, v) {
                break;
            }
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Baggage {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Baggage {
        let mut b = Baggage::new();
        for (k, v) in iter {
            b.set(k, v);
        }
        b
    }
}

/// The identity of a span and what it hands to its children: trace id, span id, the parent it
/// was started under (when known), the sampling state, baggage and the W3C `tracestate` it
/// carries on.
///
/// Immutable once made; cloning is cheap (baggage and trace state are shared).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent_id: Option<SpanId>,
    sampling: Sampling,
    remote: bool,
    baggage: Baggage,
    trace_state: Option<Arc<str>>,
}

impl SpanContext {
    /// A context with the given ids, sampling state and no baggage. Propagators use this for
    /// what they extract; instrumentation gets contexts from spans.
    pub fn new(trace_id: TraceId, span_id: SpanId, sampling: Sampling) -> SpanContext {
        SpanContext {
            trace_id,
            span_id,
            parent_id: None,
            sampling,
            remote: false,
            baggage: Baggage::new(),
            trace_state: None,
        }
    }

    /// A local child's context, built in one step (the span hot path).
    #[inline]
    pub(crate) fn child(
        trace_id: TraceId,
        span_id: SpanId,
        parent_id: Option<SpanId>,
        sampling: Sampling,
        baggage: Baggage,
        trace_state: Option<Arc<str>>,
    ) -> SpanContext {
        SpanContext {
            trace_id,
            span_id,
            parent_id,
            sampling,
            remote: false,
            baggage,
            trace_state,
        }
    }

    /// The same context with the given parent span id (B3 `X-B3-ParentSpanId`).
    pub fn with_parent_id(mut self, parent_id: Option<SpanId>) -> SpanContext {
        self.parent_id = parent_id;
        self
    }

    /// The same context with the given baggage.
    pub fn with_baggage(mut self, baggage: Baggage) -> SpanContext {
        self.baggage = baggage;
        self
    }

    /// The same context with an opaque W3C `tracestate` value to pass on.
    pub fn with_trace_state(mut self, trace_state: Option<Arc<str>>) -> SpanContext {
        self.trace_state = trace_state;
        self
    }

    /// The same context marked as received from another process (set by extraction).
    pub fn with_remote(mut self, remote: bool) -> SpanContext {
        self.remote = remote;
        self
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The id of the span this one was started under, when known.
    pub fn parent_id(&self) -> Option<SpanId> {
        self.parent_id
    }

    /// The sampling state.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// True when the span is recorded.
    pub fn is_sampled(&self) -> bool {
        self.sampling.is_sampled()
    }

    /// True when the debug flag is set.
    pub fn is_debug(&self) -> bool {
        self.sampling == Sampling::Debug
    }

    /// True when this context came from another process through a propagator.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// The baggage items.
    pub fn baggage(&self) -> &Baggage {
        &self.baggage
    }

    /// A baggage item.
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.baggage.get(key)
    }

    /// Calls `f` for each baggage item until it returns `false`.
    pub fn for_each_baggage_item(&self, f: impl FnMut(&str, &str) -> bool) {
        self.baggage.for_each(f)
    }

    /// The opaque W3C `tracestate` this trace carries, if any.
    pub fn trace_state(&self) -> Option<&str> {
        self.trace_state.as_deref()
    }

    pub(crate) fn trace_state_arc(&self) -> Option<Arc<str>> {
        self.trace_state.clone()
    }

    /// What a child inherits: the baggage and the trace state, shared. Inlined where most
    /// contexts carry neither, so that case costs two loads.
    #[inline]
    pub(crate) fn inheritance(&self) -> (Baggage, Option<Arc<str>>) {
        if self.baggage.0.is_none() && self.trace_state.is_none() {
            (Baggage::new(), None)
        } else {
            self.clone_inheritance()
        }
    }

    #[inline(never)]
    fn clone_inheritance(&self) -> (Baggage, Option<Arc<str>>) {
        (self.baggage.clone(), self.trace_state.clone())
    }

    /// True when dropping the context frees or releases memory. Every field that owns memory
    /// must be checked here: [`Span`](crate::Span) keeps its context in a `ManuallyDrop` and
    /// calls [`release_memory`](Self::release_memory) when this is true.
    #[inline(always)]
    pub(crate) fn owns_memory(&self) -> bool {
        self.baggage.0.is_some() || self.trace_state.is_some()
    }

    /// Drops what the context owns (see [`owns_memory`](Self::owns_memory)), leaving it
    /// without baggage or trace state. The parts are moved out here and dropped out of line,
    /// by value: that code never gets the context's address (see `Drop for Span`).
    #[inline(always)]
    pub(crate) fn release_memory(&mut self) {
        release(std::mem::take(&mut self.baggage), self.trace_state.take());
    }

    pub(crate) fn baggage_mut(&mut self) -> &mut Baggage {
        &mut self.baggage
    }

    pub(crate) fn set_sampling(&mut self, sampling: Sampling) {
        self.sampling = sampling;
    }
}

/// Drops a context's baggage and trace state, out of line.
#[inline(never)]
fn release(baggage: Baggage, trace_state: Option<Arc<str>>) {
    drop(baggage);
    drop(trace_state);
}

/// What a propagator found in a carrier: a whole span context, or only a sampling decision
/// (B3's `b3: 0` / `b3: d` forms, or `X-B3-Sampled` without ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extracted {
    /// A caller's span context: start the server span as its child.
    Context(SpanContext),
    /// Only a sampling decision: start a new trace, but honour the decision.
    SamplingOnly(Sampling),
}

impl Extracted {
    /// The span context, when one was found.
    pub fn context(&self) -> Option<&SpanContext> {
        match self {
            Extracted::Context(c) => Some(c),
            Extracted::SamplingOnly(_) => None,
        }
    }

    /// The span context, when one was found.
    pub fn into_context(self) -> Option<SpanContext> {
        match self {
            Extracted::Context(c) => Some(c),
            Extracted::SamplingOnly(_) => None,
        }
    }

    /// The sampling state found.
    pub fn sampling(&self) -> Sampling {
        match self {
            Extracted::Context(c) => c.sampling(),
            Extracted::SamplingOnly(s) => *s,
        }
    }
}

impl From<SpanContext> for Extracted {
    fn from(c: SpanContext) -> Extracted {
        Extracted::Context(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baggage_is_copy_on_write_and_iteration_stops_early() {
        let mut a = Baggage::new();
        assert!(a.is_empty());
        a.set("k1", "v1");
        let mut b = a.clone();
        b.set("k2", "v2");
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 2);
        let mut seen = 0;
        b.for_each(|_, _| {
            seen += 1;
            false
        });
        assert_eq!(seen, 1);
        assert_eq!(b.get("k2"), Some("v2"));
        assert_eq!(b.get("nope"), None);
    }
}
