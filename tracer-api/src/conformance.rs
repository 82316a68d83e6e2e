//! The OpenTracing API conformance suite, in the spirit of opentracing-go's `harness/`.
//!
//! It exercises everything a tracer promises (references, tags, logs, baggage propagation to
//! children and across inject/extract for every codec, sampling, finish-once) and checks the
//! records that come out. Recorder crates run it through their recorder to prove that every
//! span the API produces is accepted and exported:
//!
//! ```
//! use std::sync::Arc;
//! use tracer_api::{conformance, InMemoryRecorder};
//!
//! let backend = InMemoryRecorder::new(); // a recorder crate passes its own recorder here
//! let spans = conformance::run_with_recorder(Arc::new(backend.clone()));
//! assert_eq!(backend.len(), spans.len());
//! ```
//!
//! Each check panics with a message naming what failed, like any test assertion.

// An assertion harness: failing loudly is its job.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::context::{Extracted, Sampling};
use crate::propagation::{binary, BaggageHeaders, OtTracer, Propagator, TraceContext, B3};
use crate::record::{ReferenceKind, SpanRecord};
use crate::recorder::{ExportReport, InMemoryRecorder, Recorder};
use crate::sampler::NeverSample;
use crate::tracer::Tracer;
use crate::value::{KeyValue, Value};
use crate::{tags, SpanContext};

/// Sends every span to an in-memory recorder (for the suite's assertions) and to the
/// recorder under test.
struct Tee {
    memory: InMemoryRecorder,
    target: Arc<dyn Recorder>,
}

impl Recorder for Tee {
    fn record(&self, span: SpanRecord) {
        self.memory.record(span.clone());
        self.target.record(span);
    }
    fn flush(&self, timeout: Duration) -> ExportReport {
        self.target.flush(timeout)
    }
    fn shutdown(&self, timeout: Duration) -> ExportReport {
        self.target.shutdown(timeout)
    }
}

struct Harness {
    tracer: Tracer,
    unsampled: Tracer,
    memory: InMemoryRecorder,
}

impl Harness {
    fn new(target: Arc<dyn Recorder>) -> Harness {
        let memory = InMemoryRecorder::new();
        let tee: Arc<dyn Recorder> = Arc::new(Tee {
            memory: memory.clone(),
            target,
        });
        let tracer = Tracer::builder()
            .with_service_name("conformance")
            .with_ipv4(std::net::Ipv4Addr::new(127, 0, 0, 1))
            .with_port(8080)
            .with_process_tag("suite", "tracer-api")
            .with_shared_recorder(tee.clone())
            .build()
            .unwrap_or_else(|e| panic!("building the conformance tracer: {e}"));
        let unsampled = Tracer::builder()
            .with_service_name("conformance-unsampled")
            .with_sampler(NeverSample)
            .with_shared_recorder(tee)
            .build()
            .unwrap_or_else(|e| panic!("building the unsampled tracer: {e}"));
        Harness {
            tracer,
            unsampled,
            memory,
        }
    }
}

/// Runs every check against an in-memory recorder. Panics on the first failure.
pub fn run() -> Vec<SpanRecord> {
    run_with_recorder(Arc::new(InMemoryRecorder::new()))
}

/// Runs every check with spans going to `recorder` too, then shuts `recorder` down (10 s
/// deadline) and asserts that it exported every span with no drop. Returns every span the
/// suite recorded, so a recorder's test can compare them with what its backend received.
pub fn run_with_recorder(recorder: Arc<dyn Recorder>) -> Vec<SpanRecord> {
    let h = Harness::new(recorder.clone());
    let mut all = Vec::new();
    type Check = fn(&Harness) -> Vec<SpanRecord>;
    let checks: [(&str, Check); 13] = [
        ("start and finish", check_start_finish),
        ("child_of", check_child_of),
        ("follows_from", check_follows_from),
        ("several references", check_several_references),
        ("tags", check_tags),
        ("logs", check_logs),
        ("explicit times", check_explicit_times),
        ("finish exactly once", check_finish_once),
        ("operation name", check_operation_name),
        ("baggage to children", check_baggage_children),
        ("inject and extract", check_propagation),
        ("sampling", check_sampling),
        ("process info", check_process),
    ];
    for (name, check) in checks {
        let spans = check(&h);
        let leftover = h.memory.take();
        assert!(
            leftover.is_empty(),
            "conformance check `{name}` left {} unexpected spans",
            leftover.len()
        );
        all.extend(spans);
    }
    let report = recorder.shutdown(Duration::from_secs(10));
    assert_eq!(
        report.exported,
        all.len() as u64,
        "the recorder under test exported {} of the suite's {} spans ({report})",
        report.exported,
        all.len()
    );
    assert_eq!(
        report.dropped.total(),
        0,
        "the recorder dropped spans: {report}"
    );
    assert!(!report.timed_out, "shutdown timed out: {report}");
    all
}

fn one(h: &Harness, check: &str) -> SpanRecord {
    let mut spans = h.memory.take();
    assert_eq!(
        spans.len(),
        1,
        "`{check}`: expected one span, got {}",
        spans.len()
    );
    spans.remove(0)
}

fn check_start_finish(h: &Harness) -> Vec<SpanRecord> {
    let span = h.tracer.span("root").start();
    let cx = span.context().clone();
    assert!(span.is_recording());
    assert!(cx.is_sampled());
    assert_eq!(cx.parent_id(), None);
    span.finish();
    let r = one(h, "start and finish");
    assert_eq!(r.operation, "root");
    assert_eq!(
        (r.trace_id, r.span_id, r.parent_id),
        (cx.trace_id(), cx.span_id(), None)
    );
    assert!(r.references.is_empty());
    assert!(r.trace_id.is_128bit(), "trace ids are 128-bit by default");
    assert!(r.start <= SystemTime::now());
    vec![r]
}

fn check_child_of(h: &Harness) -> Vec<SpanRecord> {
    let parent = h.tracer.span("parent").start();
    let child = h.tracer.span("child").child_of(parent.context()).start();
    assert_eq!(child.context().trace_id(), parent.context().trace_id());
    assert_ne!(child.context().span_id(), parent.context().span_id());
    assert_eq!(
        child.context().parent_id(),
        Some(parent.context().span_id())
    );
    child.finish();
    parent.finish();
    let spans = h.memory.take();
    assert_eq!(spans.len(), 2);
    let (c, p) = (&spans[0], &spans[1]);
    assert_eq!(c.parent_id, Some(p.span_id));
    assert_eq!(c.references.len(), 1);
    assert_eq!(c.references[0].kind, ReferenceKind::ChildOf);
    assert_eq!(c.references[0].span_id, p.span_id);
    assert_eq!(c.trace_id, p.trace_id);
    spans
}

fn check_follows_from(h: &Harness) -> Vec<SpanRecord> {
    let parent = h.tracer.span("producer").start();
    let pcx = parent.context().clone();
    parent.finish();
    let follower = h.tracer.span("consumer").follows_from(&pcx).start();
    follower.finish();
    let spans = h.memory.take();
    let f = &spans[1];
    assert_eq!(
        f.parent_id,
        Some(pcx.span_id()),
        "a follows-from parent is the parent"
    );
    assert_eq!(f.references[0].kind, ReferenceKind::FollowsFrom);
    assert_eq!(f.trace_id, pcx.trace_id());
    spans
}

fn check_several_references(h: &Harness) -> Vec<SpanRecord> {
    let a = h.tracer.span("a").start();
    let b = h.tracer.span("b").start();
    let none: Option<&SpanContext> = None;
    let joined = h
        .tracer
        .span("join")
        .child_of(none)
        .follows_from(a.context())
        .child_of(b.context())
        .start();
    assert_eq!(joined.context().trace_id(), a.context().trace_id());
    joined.finish();
    drop(b);
    drop(a);
    let spans = h.memory.take();
    let j = &spans[0];
    assert_eq!(j.references.len(), 2, "a None reference adds nothing");
    assert_eq!(j.references[0].kind, ReferenceKind::FollowsFrom);
    assert_eq!(j.references[0].span_id, spans[2].span_id);
    assert_eq!(j.references[1].kind, ReferenceKind::ChildOf);
    assert_eq!(j.references[1].trace_id, spans[1].trace_id);
    assert_eq!(
        j.parent_id,
        Some(spans[2].span_id),
        "the first reference is the parent"
    );
    spans
}

fn check_tags(h: &Harness) -> Vec<SpanRecord> {
    let owned = String::from("owned");
    let mut span = h
        .tracer
        .span("tags")
        .tag("at.start", "yes")
        .tag(tags::SPAN_KIND, tags::SpanKind::Client)
        .start();
    span.set_tag("bool", true)
        .set_tag("i8", -8i8)
        .set_tag("i64", i64::MIN)
        .set_tag("u16", 16u16)
        .set_tag("u64", u64::MAX)
        .set_tag("f32", 1.5f32)
        .set_tag("f64", -0.25f64)
        .set_tag("static", "static str")
        .set_tag(Cow::Owned(owned.clone()), owned.clone())
        .set_tag("overwritten", 1)
        .set_tag("overwritten", "second")
        .set_tag("unicode ключ", "значение \"quoted\"\n<b>");
    span.finish();
    let r = one(h, "tags");
    let expect: &[(&str, Value)] = &[
        ("at.start", Value::from("yes")),
        (tags::SPAN_KIND, Value::from("client")),
        ("bool", Value::Bool(true)),
        ("i8", Value::I64(-8)),
        ("i64", Value::I64(i64::MIN)),
        ("u16", Value::U64(16)),
        ("u64", Value::U64(u64::MAX)),
        ("f32", Value::F64(1.5)),
        ("f64", Value::F64(-0.25)),
        ("static", Value::from("static str")),
        ("owned", Value::from("owned")),
        ("overwritten", Value::from("second")),
        ("unicode ключ", Value::from("значение \"quoted\"\n<b>")),
    ];
    assert_eq!(r.tags.len(), expect.len(), "tags: {:?}", r.tags);
    for (i, (k, v)) in expect.iter().enumerate() {
        assert_eq!(r.tags[i].key, *k, "tag order");
        assert_eq!(&r.tags[i].value, v, "tag {k}");
    }
    vec![r]
}

fn check_logs(h: &Harness) -> Vec<SpanRecord> {
    let mut span = h.tracer.span("logs").start();
    let at = SystemTime::now();
    span.log_at(
        at,
        [KeyValue::new("event", "explicit"), KeyValue::new("n", 3)],
    );
    span.log_kv("message", "hello");
    span.log_event("cache-miss");
    span.log_error(&std::io::Error::other("boom"));
    span.finish();
    let r = one(h, "logs");
    assert_eq!(r.logs.len(), 4);
    assert_eq!(r.logs[0].timestamp, at);
    assert_eq!(r.logs[0].fields.len(), 2);
    assert_eq!(r.logs[0].field("n"), Some(&Value::I64(3)));
    assert_eq!(r.logs[1].field("message"), Some(&Value::from("hello")));
    assert_eq!(r.logs[2].field("event"), Some(&Value::from("cache-miss")));
    assert_eq!(r.logs[3].field("event"), Some(&Value::from("error")));
    assert_eq!(r.logs[3].field("error.object"), Some(&Value::from("boom")));
    assert_eq!(r.tag(tags::ERROR), Some(&Value::Bool(true)));
    for l in &r.logs[1..] {
        assert!(
            l.timestamp >= r.start,
            "log timestamps fall within the span"
        );
        assert!(l.timestamp <= r.end() + Duration::from_millis(1));
    }
    vec![r]
}

fn check_explicit_times(h: &Harness) -> Vec<SpanRecord> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let end = start + Duration::from_millis(1500);
    h.tracer
        .span("timed")
        .start_time(start)
        .start()
        .finish_at(end);
    let early = h.tracer.span("clamped").start_time(start).start();
    early.finish_at(start - Duration::from_secs(1));
    let spans = h.memory.take();
    assert_eq!(spans[0].start, start);
    assert_eq!(spans[0].duration, Duration::from_millis(1500));
    assert_eq!(
        spans[1].duration,
        Duration::ZERO,
        "a finish before the start clamps"
    );
    spans
}

fn check_finish_once(h: &Harness) -> Vec<SpanRecord> {
    let span = h.tracer.span("explicit").start();
    span.finish(); // finish consumes the span, so Drop cannot finish it again
    {
        let _dropped = h.tracer.span("dropped").start();
    }
    let spans = h.memory.take();
    assert_eq!(spans.len(), 2, "each span is recorded exactly once");
    assert_eq!(spans[0].operation, "explicit");
    assert_eq!(spans[1].operation, "dropped");
    spans
}

fn check_operation_name(h: &Harness) -> Vec<SpanRecord> {
    let mut span = h.tracer.span("before").start();
    assert_eq!(span.operation_name(), "before");
    span.set_operation_name(format!("after {}", 1));
    span.finish();
    let r = one(h, "operation name");
    assert_eq!(r.operation, "after 1");
    vec![r]
}

fn check_baggage_children(h: &Harness) -> Vec<SpanRecord> {
    let mut root = h.tracer.span("root").start();
    root.set_baggage_item("user", "alice");
    let before = root.context().clone();
    let mut child = h.tracer.span("child").child_of(root.context()).start();
    assert_eq!(child.baggage_item("user"), Some("alice"));
    child.set_baggage_item("child-only", "x");
    assert_eq!(
        root.baggage_item("child-only"),
        None,
        "baggage flows to descendants only"
    );
    let grandchild = h
        .tracer
        .span("grandchild")
        .child_of(child.context())
        .start();
    assert_eq!(grandchild.baggage_item("user"), Some("alice"));
    assert_eq!(grandchild.baggage_item("child-only"), Some("x"));
    root.set_baggage_item("late", "y");
    assert_eq!(
        child.baggage_item("late"),
        None,
        "set after a child started: not inherited"
    );
    assert_eq!(
        before.baggage_item("late"),
        None,
        "contexts handed out are immutable"
    );
    let mut seen = Vec::new();
    grandchild.context().for_each_baggage_item(|k, _| {
        seen.push(k.to_owned());
        false
    });
    assert_eq!(seen.len(), 1, "for_each_baggage_item stops when asked");
    grandchild.finish();
    child.finish();
    root.finish();
    let spans = h.memory.take();
    assert_eq!(spans[0].baggage.get("child-only"), Some("x"));
    assert_eq!(spans[2].baggage.get("late"), Some("y"));
    spans
}

fn codecs() -> Vec<(&'static str, Box<dyn Propagator>)> {
    vec![
        (
            "default",
            Box::new(crate::propagation::default_propagator()),
        ),
        ("b3 multi", Box::new(BaggageHeaders::new(B3::multi()))),
        ("b3 single", Box::new(BaggageHeaders::new(B3::single()))),
        (
            "traceparent",
            Box::new(BaggageHeaders::new(TraceContext::new())),
        ),
        ("ot-tracer", Box::new(OtTracer::new())),
    ]
}

fn check_propagation(h: &Harness) -> Vec<SpanRecord> {
    let mut client = h
        .tracer
        .span("client")
        .tag(tags::SPAN_KIND, "client")
        .start();
    client.set_baggage_item("tenant", "t-1");
    let cx = client.context().clone();
    let mut servers = 0;
    for (name, codec) in codecs() {
        let mut carrier: HashMap<String, String> = HashMap::new();
        codec.inject(&cx, &mut carrier);
        assert!(!carrier.is_empty(), "{name}: injected nothing");
        let found = codec
            .extract(&carrier)
            .unwrap_or_else(|e| panic!("{name}: extract failed: {e}"));
        let remote = found
            .context()
            .unwrap_or_else(|| panic!("{name}: only a sampling decision came back"));
        assert_eq!(remote.trace_id(), cx.trace_id(), "{name}: trace id");
        assert_eq!(remote.span_id(), cx.span_id(), "{name}: span id");
        assert!(remote.is_sampled(), "{name}: sampled flag");
        assert!(remote.is_remote(), "{name}: marked remote");
        assert_eq!(
            remote.baggage_item("tenant"),
            Some("t-1"),
            "{name}: baggage"
        );
        let server = h.tracer.span("server").extracted(&found).start();
        assert_eq!(
            server.context().parent_id(),
            Some(cx.span_id()),
            "{name}: parent"
        );
        assert_eq!(server.baggage_item("tenant"), Some("t-1"));
        server.finish();
        servers += 1;
    }
    // The binary form.
    let bytes = h.tracer.inject_binary(&cx);
    let found = h
        .tracer
        .extract_binary(&bytes)
        .unwrap_or_else(|e| panic!("binary: extract failed: {e}"));
    let remote = found
        .context()
        .unwrap_or_else(|| panic!("binary: no context"));
    assert_eq!(
        (remote.trace_id(), remote.span_id()),
        (cx.trace_id(), cx.span_id())
    );
    assert_eq!(remote.baggage_item("tenant"), Some("t-1"));
    assert_eq!(
        binary::decode(&bytes).ok().map(|c| c.span_id()),
        Some(cx.span_id())
    );

    // Nothing to extract is "not found", not an error of substance.
    let empty: HashMap<String, String> = HashMap::new();
    for (name, codec) in codecs() {
        let err = codec.extract(&empty).err();
        assert!(
            err.as_ref().is_some_and(|e| e.is_not_found()),
            "{name}: empty carrier gave {err:?}"
        );
    }
    // The tracer's own inject/extract use its propagator.
    let mut headers: HashMap<String, String> = HashMap::new();
    h.tracer.inject(&cx, &mut headers);
    let via_tracer = h
        .tracer
        .extract(&headers)
        .ok()
        .and_then(Extracted::into_context);
    assert_eq!(via_tracer.map(|c| c.span_id()), Some(cx.span_id()));
    client.finish();
    let spans = h.memory.take();
    assert_eq!(spans.len(), servers + 1);
    spans
}

fn check_sampling(h: &Harness) -> Vec<SpanRecord> {
    // Unsampled spans never reach the recorder, and children inherit the decision.
    let mut root = h.unsampled.span("unsampled").start();
    assert!(!root.is_recording());
    root.set_tag("ignored", 1).log_event("ignored");
    root.set_baggage_item("still", "propagates");
    let child = h
        .tracer
        .span("child of unsampled")
        .child_of(root.context())
        .start();
    assert!(!child.context().is_sampled(), "the decision is inherited");
    assert_eq!(child.baggage_item("still"), Some("propagates"));
    let mut carrier: HashMap<String, String> = HashMap::new();
    h.tracer.inject(child.context(), &mut carrier);
    let remote = h.tracer.extract(&carrier).ok();
    assert_eq!(
        remote.as_ref().map(Extracted::sampling),
        Some(Sampling::Deny)
    );
    if let Some(remote) = &remote {
        let server = h
            .tracer
            .span("server of unsampled")
            .extracted(remote)
            .start();
        assert!(!server.is_recording(), "the decision crosses processes");
    }
    drop(child);
    root.finish();
    assert!(h.memory.is_empty(), "unsampled spans were recorded");

    // sampling.priority at start overrides in both directions.
    let forced = h
        .unsampled
        .span("forced")
        .tag(tags::SAMPLING_PRIORITY, 1)
        .start();
    assert!(forced.is_recording());
    let denied = h
        .tracer
        .span("denied")
        .tag(tags::SAMPLING_PRIORITY, 0)
        .start();
    assert!(!denied.is_recording());
    let mut dropped_later = h.tracer.span("dropped later").start();
    dropped_later.set_tag(tags::SAMPLING_PRIORITY, 0u16);
    assert!(!dropped_later.context().is_sampled());
    drop(dropped_later);
    drop(denied);
    forced.finish();
    let spans = h.memory.take();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].operation, "forced");
    spans
}

fn check_process(h: &Harness) -> Vec<SpanRecord> {
    h.tracer.span("a").start().finish();
    h.tracer.span("b").start().finish();
    let spans = h.memory.take();
    assert!(
        Arc::ptr_eq(&spans[0].process, &spans[1].process),
        "process info is shared, not copied per span"
    );
    let p = &spans[0].process;
    assert_eq!(p.service_name, "conformance");
    assert_eq!(p.endpoint.port, Some(8080));
    assert_eq!(p.tags.len(), 1);
    spans
}
