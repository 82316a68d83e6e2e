//! Spans: the builder that starts them and the [`Span`] that is timed, tagged, logged and
//! finished.

use std::borrow::Cow;
use std::fmt;
use std::mem::ManuallyDrop;
use std::time::{Duration, Instant, SystemTime};

use crate::clock;
use crate::context::{Baggage, Extracted, Sampling, SpanContext};
use crate::id::{new_root_ids, new_span_id, new_trace_id, SpanId, TraceId};
use crate::record::{Reference, ReferenceKind, References, SpanRecord};
use crate::tags::{self, log_fields, SpanKind};
use crate::tracer::Tracer;
use crate::value::{KeyValue, LogRecord, Value};

/// Starts a span: made by [`Tracer::span`], finished by [`SpanBuilder::start`].
///
/// The first reference given (`child_of` or `follows_from`) is the parent; later ones are kept
/// as extra references. With no reference the span starts a new trace.
#[must_use = "a span builder does nothing until `start` is called"]
pub struct SpanBuilder<'a> {
    tracer: &'a Tracer,
    operation: Cow<'static, str>,
    parent: Option<(ReferenceKind, &'a SpanContext)>,
    more_references: Vec<Reference>,
    sampling_hint: Option<Sampling>,
    start_time: Option<SystemTime>,
    tags: Vec<KeyValue>,
}

impl fmt::Debug for SpanBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanBuilder")
            .field("operation", &self.operation)
            .field("parent", &self.parent)
            .field("more_references", &self.more_references)
            .field("start_time", &self.start_time)
            .field("tags", &self.tags)
            .finish()
    }
}

impl<'a> SpanBuilder<'a> {
    #[inline]
    pub(crate) fn new(tracer: &'a Tracer, operation: Cow<'static, str>) -> SpanBuilder<'a> {
        SpanBuilder {
            tracer,
            operation,
            parent: None,
            more_references: Vec::new(),
            sampling_hint: None,
            start_time: None,
            tags: Vec::new(),
        }
    }

    #[inline]
    fn reference(mut self, kind: ReferenceKind, cx: Option<&'a SpanContext>) -> Self {
        if let Some(cx) = cx {
            if self.parent.is_none() {
                self.parent = Some((kind, cx));
            } else {
                self.more_references.push(Reference {
                    kind,
                    trace_id: cx.trace_id(),
                    span_id: cx.span_id(),
                });
            }
        }
        self
    }

    /// Starts the span as a child of `parent` (it depends on this span's outcome). `None` does
    /// nothing, so an optional parent can be passed as is.
    #[inline]
    pub fn child_of(self, parent: impl Into<Option<&'a SpanContext>>) -> Self {
        self.reference(ReferenceKind::ChildOf, parent.into())
    }

    /// Starts the span as following from `parent` (which does not wait for it). `None` does
    /// nothing.
    #[inline]
    pub fn follows_from(self, parent: impl Into<Option<&'a SpanContext>>) -> Self {
        self.reference(ReferenceKind::FollowsFrom, parent.into())
    }

    /// Continues what a propagator extracted: a child of the caller's context, or, when only a
    /// sampling decision came, a new trace that honours it.
    pub fn extracted(self, extracted: &'a Extracted) -> Self {
        match extracted {
            Extracted::Context(cx) => self.child_of(cx),
            Extracted::SamplingOnly(s) => SpanBuilder {
                sampling_hint: Some(*s),
                ..self
            },
        }
    }

    /// Sets an explicit start time (default: now).
    pub fn start_time(mut self, at: SystemTime) -> Self {
        self.start_time = Some(at);
        self
    }

    /// Adds a tag; a later tag with the same key wins. `sampling.priority` here decides
    /// sampling for a new trace and overrides an inherited decision.
    ///
    /// Under an unsampled parent (or a caller's "do not sample"), tags are not kept, so an
    /// unsampled child allocates nothing, until a positive `sampling.priority` tag revives the
    /// span: give that tag first, the tags after it are kept.
    #[inline]
    pub fn tag(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        let key = key.into();
        let denied = match self.parent {
            Some((_, p)) => p.sampling() == Sampling::Deny,
            None => self.sampling_hint == Some(Sampling::Deny),
        };
        if denied
            && key != tags::SAMPLING_PRIORITY
            && sampling_priority(&self.tags).is_none_or(|p| p == 0)
        {
            return self;
        }
        set_tag(&mut self.tags, key, value.into());
        self
    }

    /// Starts the span.
    #[inline(always)]
    pub fn start(self) -> Span {
        // Inlined into the caller: an unsampled span is decided and made here, and the sampled
        // work (and every rarer case) stays out of line.
        if self.surely_unsampled() {
            self.start_unsampled()
        } else {
            self.start_decided()
        }
    }

    /// True when the span will not be sampled, decided without tags or the sampler's virtual
    /// call: a no-op tracer, or (with no tags, hence no `sampling.priority`) a parent or a
    /// caller that denied sampling, or a decision left to a tracer that never samples.
    #[inline(always)]
    fn surely_unsampled(&self) -> bool {
        let inherited = match self.parent {
            Some((_, p)) => p.sampling(),
            None => self.sampling_hint.unwrap_or(Sampling::Deferred),
        };
        self.tracer.is_noop()
            || (self.tags.is_empty()
                && (inherited == Sampling::Deny
                    || (inherited == Sampling::Deferred && self.tracer.never_samples())))
    }

    /// An unsampled span: ids and the parent's baggage, nothing else (what
    /// [`start_decided`](Self::start_decided) makes of it too).
    #[inline(always)]
    fn start_unsampled(self) -> Span {
        // Taken apart so each part's drop is inlined here, where the compiler can see that
        // the vectors are empty and the name borrowed (the builder's whole drop is a call).
        let SpanBuilder {
            tracer,
            operation,
            parent,
            more_references,
            sampling_hint: _,
            start_time: _,
            tags,
        } = self;
        drop(operation);
        drop(more_references);
        drop(tags);
        let context = match parent {
            Some((_, p)) => {
                let (baggage, trace_state) = p.inheritance();
                SpanContext::child(
                    p.trace_id(),
                    new_span_id(),
                    Some(p.span_id()),
                    Sampling::Deny,
                    baggage,
                    trace_state,
                )
            }
            None => {
                let (trace_id, span_id) = new_root_ids(tracer.trace_id_128());
                SpanContext::new(trace_id, span_id, Sampling::Deny)
            }
        };
        Span::new(context, None)
    }

    /// Starts the span once the quick unsampled check has passed: decides sampling from tags,
    /// the inherited decision and the sampler, then builds the sampled span.
    #[inline(never)]
    fn start_decided(self) -> Span {
        let SpanBuilder {
            tracer,
            operation,
            parent,
            more_references,
            sampling_hint,
            start_time,
            tags,
        } = self;

        let priority = if tags.is_empty() {
            None
        } else {
            sampling_priority(&tags)
        };

        let inherited = match parent {
            Some((_, p)) => p.sampling(),
            None => sampling_hint.unwrap_or(Sampling::Deferred),
        };
        let trace_id = match parent {
            Some((_, p)) => p.trace_id(),
            None => new_trace_id(tracer.trace_id_128()),
        };
        let sampling = if tracer.is_noop() {
            Sampling::Deny
        } else {
            match priority {
                Some(0) => Sampling::Deny,
                Some(_) if inherited == Sampling::Debug => Sampling::Debug,
                Some(_) => Sampling::Accept,
                None if inherited == Sampling::Deferred => {
                    Sampling::from_sampled(tracer.should_sample(trace_id, &operation))
                }
                None => inherited,
            }
        };

        if !sampling.is_sampled() {
            // The unsampled path: ids and the parent's baggage, nothing else.
            let context = match parent {
                Some((_, p)) => SpanContext::child(
                    trace_id,
                    new_span_id(),
                    Some(p.span_id()),
                    sampling,
                    p.baggage().clone(),
                    p.trace_state_arc(),
                ),
                None => SpanContext::new(trace_id, new_span_id(), sampling),
            };
            return Span::new(context, None);
        }

        // Zipkin-style joined spans: the server half of an RPC reuses the client's span id.
        let share = tracer.shares_span_ids()
            && matches!(parent, Some((ReferenceKind::ChildOf, p)) if p.is_remote())
            && tags.iter().any(|t| {
                t.key == tags::SPAN_KIND && SpanKind::from_value(&t.value) == Some(SpanKind::Server)
            });
        let (context, references) = match parent {
            Some((kind, p)) => {
                let (span_id, parent_id) = if share {
                    (p.span_id(), p.parent_id())
                } else {
                    (new_span_id(), Some(p.span_id()))
                };
                let first = Reference {
                    kind,
                    trace_id: p.trace_id(),
                    span_id: p.span_id(),
                };
                // The parent alone is kept inline (no allocation); with more references, the
                // builder's `Vec` becomes the list, the parent first.
                let references = if more_references.is_empty() {
                    References::from(first)
                } else {
                    let mut all = more_references;
                    all.insert(0, first);
                    References::from(all)
                };
                let context = SpanContext::child(
                    trace_id,
                    span_id,
                    parent_id,
                    sampling,
                    p.baggage().clone(),
                    p.trace_state_arc(),
                );
                (context, references)
            }
            None => (
                SpanContext::new(trace_id, new_span_id(), sampling),
                References::new(),
            ),
        };
        let (start, start_instant) = match start_time {
            Some(t) => (t, None),
            None => {
                let (wall, instant) = clock::now();
                (wall, Some(instant))
            }
        };
        Span::new(
            context,
            Some(SpanState {
                tracer: tracer.clone(),
                operation,
                start,
                start_instant,
                references,
                tags,
                logs: Vec::new(),
                shared: share,
            }),
        )
    }
}

/// The `sampling.priority` tag's value among `tags`, as a number.
fn sampling_priority(tags: &[KeyValue]) -> Option<u64> {
    tags.iter()
        .find(|t| t.key == tags::SAMPLING_PRIORITY)
        .and_then(|t| priority_value(&t.value))
}

/// A `sampling.priority` value as a number: integers as they are, `true` as 1, `false` as 0.
fn priority_value(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| value.as_bool().map(u64::from))
}

#[inline]
fn set_tag(tags: &mut Vec<KeyValue>, key: Cow<'static, str>, value: Value) {
    match tags.iter_mut().find(|t| t.key == key) {
        Some(t) => t.value = value,
        None => tags.push(KeyValue { key, value }),
    }
}

struct SpanState {
    tracer: Tracer,
    operation: Cow<'static, str>,
    start: SystemTime,
    start_instant: Option<Instant>,
    references: References,
    tags: Vec<KeyValue>,
    logs: Vec<LogRecord>,
    shared: bool,
}

/// A span: one timed operation of a trace.
///
/// Finishes when [`finish`](Span::finish) or [`finish_at`](Span::finish_at) is called, or when
/// dropped, exactly once; a sampled span is then handed to the tracer's recorder. An unsampled
/// span keeps only its context: tags and logs on it cost a branch and allocate nothing.
pub struct Span {
    // Both fields are dropped by `Drop for Span` (the state when it is recorded or discarded,
    // the context's baggage and trace state explicitly), not by the compiler's drop code: that
    // code is large enough to stay an out-of-line call, which keeps the span in memory, while
    // an unsampled span without baggage needs two inlined checks. Every span ends in `drop`.
    context: ManuallyDrop<SpanContext>,
    // Inline rather than boxed: one allocation fewer per sampled span.
    state: ManuallyDrop<Option<SpanState>>,
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Span");
        d.field("context", &*self.context);
        if let Some(s) = &*self.state {
            d.field("operation", &s.operation)
                .field("tags", &s.tags)
                .field("logs", &s.logs.len());
        }
        d.finish()
    }
}

impl Span {
    #[inline(always)]
    fn new(context: SpanContext, state: Option<SpanState>) -> Span {
        Span {
            context: ManuallyDrop::new(context),
            state: ManuallyDrop::new(state),
        }
    }

    /// The span's context: pass it to children and to [`Tracer::inject`].
    #[inline]
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// True while the span will be recorded when it finishes.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.state.is_some()
    }

    /// The operation name (empty for a span that is not recording).
    pub fn operation_name(&self) -> &str {
        self.state.as_ref().map_or("", |s| &s.operation)
    }

    /// Renames the span.
    pub fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self {
        if let Some(s) = &mut *self.state {
            s.operation = name.into();
        }
        self
    }

    /// Sets a tag, replacing an earlier value of the same key. A `sampling.priority` of `0`
    /// stops the span (and its future children) from being recorded; a positive priority
    /// cannot revive a span that started unsampled, since its start was never measured.
    #[inline]
    pub fn set_tag(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) -> &mut Self {
        if let Some(s) = &mut *self.state {
            let key = key.into();
            let value = value.into();
            if key == tags::SAMPLING_PRIORITY && priority_value(&value) == Some(0) {
                self.context.set_sampling(Sampling::Deny);
                *self.state = None;
                return self;
            }
            set_tag(&mut s.tags, key, value);
        }
        self
    }

    /// Logs fields now.
    pub fn log<I>(&mut self, fields: I) -> &mut Self
    where
        I: IntoIterator<Item = KeyValue>,
    {
        if self.state.is_some() {
            self.log_at(clock::wall_now(), fields);
        }
        self
    }

    /// Logs fields with an explicit timestamp.
    pub fn log_at<I>(&mut self, timestamp: SystemTime, fields: I) -> &mut Self
    where
        I: IntoIterator<Item = KeyValue>,
    {
        if let Some(s) = &mut *self.state {
            s.logs.push(LogRecord {
                timestamp,
                fields: fields.into_iter().collect(),
            });
        }
        self
    }

    /// Logs one key/value field now.
    pub fn log_kv(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) -> &mut Self {
        if self.state.is_some() {
            self.log([KeyValue::new(key, value)]);
        }
        self
    }

    /// Logs an `event` field now (`span.log_event("cache-miss")`).
    pub fn log_event(&mut self, event: impl Into<Value>) -> &mut Self {
        self.log_kv(log_fields::EVENT, event)
    }

    /// Marks the span failed: sets the `error` tag to `true` and logs `event=error`,
    /// `error.object=<the error's text>` (OpenTracing's `ext.LogError`).
    pub fn log_error(&mut self, error: &dyn std::error::Error) -> &mut Self {
        if self.state.is_some() {
            self.set_tag(tags::ERROR, true);
            self.log([
                KeyValue::new(log_fields::EVENT, "error"),
                KeyValue::new(log_fields::ERROR_OBJECT, error.to_string()),
            ]);
        }
        self
    }

    /// Sets a baggage item: it travels to this span's future descendants, here and in other
    /// processes.
    pub fn set_baggage_item(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        self.context.baggage_mut().set(key, value);
        self
    }

    /// A baggage item of this span.
    pub fn baggage_item(&self, key: &str) -> Option<&str> {
        self.context.baggage_item(key)
    }

    /// Finishes the span now.
    #[inline]
    pub fn finish(self) {
        // Dropping finishes it.
    }

    /// Finishes the span at an explicit time (clamped to the start time if earlier).
    pub fn finish_at(mut self, at: SystemTime) {
        self.finish_with(Some(at));
    }

    #[inline(always)]
    fn finish_with(&mut self, end: Option<SystemTime>) {
        if let Some(state) = self.state.take() {
            // What the record needs is moved or copied out here, so the out-of-line recording
            // never gets the span's address: the compiler can then drop a span moved into
            // `finish` without first copying its 200 bytes.
            let cx = &mut *self.context;
            let baggage = std::mem::take(cx.baggage_mut());
            Span::record(
                state,
                cx.trace_id(),
                cx.span_id(),
                cx.parent_id(),
                cx.sampling(),
                baggage,
                end,
            );
        }
    }

    /// Hands a finished span to its tracer's recorder.
    #[inline(never)]
    fn record(
        s: SpanState,
        trace_id: TraceId,
        span_id: SpanId,
        parent_id: Option<SpanId>,
        sampling: Sampling,
        baggage: Baggage,
        end: Option<SystemTime>,
    ) {
        let SpanState {
            tracer,
            operation,
            start,
            start_instant,
            references,
            tags,
            logs,
            shared,
        } = s;
        let duration = match (end, start_instant) {
            (Some(end), _) => end.duration_since(start).unwrap_or(Duration::ZERO),
            (None, Some(i)) => i.elapsed(),
            (None, None) => clock::wall_now()
                .duration_since(start)
                .unwrap_or(Duration::ZERO),
        };
        let record = SpanRecord {
            trace_id,
            span_id,
            parent_id,
            references,
            operation,
            start,
            duration,
            tags,
            logs,
            baggage,
            sampling,
            shared,
            process: tracer.process().clone(),
        };
        tracer.recorder().record(record);
    }
}

impl Drop for Span {
    #[inline(always)]
    fn drop(&mut self) {
        self.finish_with(None);
        // The context's baggage and trace state: the only parts that own memory.
        if self.context.owns_memory() {
            self.context.release_memory();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::sampler::NeverSample;
    use crate::{Baggage, Sampling, SpanContext, SpanId, TraceId, Tracer};

    #[test]
    fn spans_release_the_baggage_and_trace_state_they_share() {
        let trace_state: Arc<str> = Arc::from("congo=t61rcWkgMzE");
        let baggage: Baggage = [("k", "v")].into_iter().collect();
        let parent = SpanContext::new(
            TraceId::from_parts(0, 1).unwrap(),
            SpanId::from_u64(2).unwrap(),
            Sampling::Deny,
        )
        .with_baggage(baggage)
        .with_trace_state(Some(trace_state.clone()));
        for tracer in [
            Tracer::noop(),
            Tracer::builder().with_sampler(NeverSample).build().unwrap(),
            Tracer::builder().build().unwrap(),
        ] {
            let mut child = tracer.span("child").child_of(&parent).start();
            assert_eq!(Arc::strong_count(&trace_state), 3);
            child.set_baggage_item("k2", "v2");
            assert_eq!(child.baggage_item("k"), Some("v"));
            child.finish();
            assert_eq!(Arc::strong_count(&trace_state), 2);
            // Revived by a priority (except on the no-op tracer): recorded, then released.
            let child = tracer
                .span("child")
                .child_of(&parent)
                .tag(crate::tags::SAMPLING_PRIORITY, 1)
                .start();
            assert_eq!(child.is_recording(), !tracer.is_noop());
            assert_eq!(Arc::strong_count(&trace_state), 3);
            drop(child);
            assert_eq!(Arc::strong_count(&trace_state), 2);
        }
        assert_eq!(Arc::strong_count(&trace_state), 2);
    }
}
