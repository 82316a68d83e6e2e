#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Tracer options: id width, shared span ids, samplers, the no-op tracer, build errors.

use std::collections::HashMap;

use tracer_api::propagation::B3;
use tracer_api::sampler::{NeverSample, ProbabilitySampler};
use tracer_api::{tags, BuildError, InMemoryRecorder, Sampling, Tracer};

fn tracer_with(recorder: &InMemoryRecorder) -> tracer_api::TracerBuilder {
    Tracer::builder()
        .with_service_name("svc")
        .with_recorder(recorder.clone())
}

#[test]
fn sixty_four_bit_trace_ids_stay_sixty_four_bit() {
    let rec = InMemoryRecorder::new();
    let tracer = tracer_with(&rec)
        .with_128bit_trace_ids(false)
        .build()
        .unwrap();
    let span = tracer.span("op").start();
    assert!(!span.context().trace_id().is_128bit());
    let mut headers = HashMap::new();
    tracer.inject(span.context(), &mut headers);
    assert_eq!(headers["x-b3-traceid"].len(), 16);
}

#[test]
fn server_spans_share_the_callers_id_when_asked() {
    let rec = InMemoryRecorder::new();
    let client_tracer = tracer_with(&rec).build().unwrap();
    let server_tracer = tracer_with(&rec)
        .with_shared_span_ids(true)
        .with_propagator(B3::multi())
        .build()
        .unwrap();
    let client = client_tracer
        .span("call")
        .tag(tags::SPAN_KIND, "client")
        .start();
    let mut headers = HashMap::new();
    server_tracer.inject(client.context(), &mut headers);
    let remote = server_tracer.extract(&headers).unwrap();
    let server = server_tracer
        .span("handle")
        .extracted(&remote)
        .tag(tags::SPAN_KIND, tags::SpanKind::Server)
        .start();
    assert_eq!(server.context().span_id(), client.context().span_id());
    assert_eq!(server.context().parent_id(), client.context().parent_id());
    // A local child of the shared server span is a normal child.
    let local = server_tracer
        .span("work")
        .child_of(server.context())
        .start();
    assert_ne!(local.context().span_id(), server.context().span_id());
    drop(local);
    server.finish();
    client.finish();
    let spans = rec.take();
    assert!(spans[1].shared, "the server half is marked shared");
    assert!(!spans[0].shared);
    assert!(!spans[2].shared);

    // Without the option, or without span.kind=server, ids are never shared.
    let plain = tracer_with(&rec).build().unwrap();
    let s = plain
        .span("handle")
        .extracted(&remote)
        .tag(tags::SPAN_KIND, "server")
        .start();
    assert_ne!(s.context().span_id(), client_ids(&remote));
    let s2 = server_tracer.span("no kind").extracted(&remote).start();
    assert_ne!(s2.context().span_id(), client_ids(&remote));
}

fn client_ids(e: &tracer_api::Extracted) -> tracer_api::SpanId {
    e.context().unwrap().span_id()
}

#[test]
fn deferred_and_sampling_only_decisions() {
    let rec = InMemoryRecorder::new();
    let tracer = tracer_with(&rec).with_sampler(NeverSample).build().unwrap();
    // A caller that deferred: our sampler decides (never).
    let mut headers = HashMap::new();
    headers.insert("x-b3-traceid".to_owned(), "463ac35c9f6413ad".to_owned());
    headers.insert("x-b3-spanid".to_owned(), "a2fb4a1d1a96d312".to_owned());
    let remote = tracer.extract(&headers).unwrap();
    assert_eq!(remote.sampling(), Sampling::Deferred);
    let span = tracer.span("deferred").extracted(&remote).start();
    assert!(!span.is_recording());
    assert_eq!(span.context().trace_id().to_string(), "463ac35c9f6413ad");
    // A caller that said "debug" only: a new trace, recorded whatever our sampler says.
    let mut headers = HashMap::new();
    headers.insert("b3".to_owned(), "d".to_owned());
    let remote = tracer.extract(&headers).unwrap();
    let span = tracer.span("debug root").extracted(&remote).start();
    assert!(span.is_recording());
    assert!(span.context().is_debug());
    assert_eq!(span.context().parent_id(), None);
    span.finish();
    assert_eq!(rec.take()[0].sampling, Sampling::Debug);
}

#[test]
fn probability_sampling_is_decided_at_the_root_and_inherited() {
    let rec = InMemoryRecorder::new();
    let tracer = tracer_with(&rec)
        .with_sampler(ProbabilitySampler::new(0.5))
        .build()
        .unwrap();
    let mut recorded_roots = 0;
    for _ in 0..400 {
        let root = tracer.span("root").start();
        let child = tracer.span("child").child_of(root.context()).start();
        assert_eq!(root.is_recording(), child.is_recording());
        recorded_roots += usize::from(root.is_recording());
    }
    assert!((120..280).contains(&recorded_roots), "{recorded_roots}");
    assert_eq!(rec.len(), recorded_roots * 2);
}

#[test]
fn the_noop_tracer_records_nothing_but_propagates() {
    let tracer = Tracer::noop();
    assert!(tracer.is_noop());
    let mut span = tracer.span("op").tag(tags::SAMPLING_PRIORITY, 1).start();
    assert!(!span.is_recording());
    span.set_baggage_item("k", "v");
    let mut headers = HashMap::new();
    tracer.inject(span.context(), &mut headers);
    assert!(headers.contains_key("x-b3-traceid"));
    assert_eq!(headers.get("ot-baggage-k").map(String::as_str), Some("v"));
}

#[test]
fn an_empty_service_name_is_refused() {
    let err = Tracer::builder()
        .with_service_name("  ")
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::EmptyServiceName);
    assert!(err.to_string().contains("with_service_name"));
}

#[test]
fn tracestate_survives_when_b3_is_read_first() {
    let tracer = Tracer::builder().with_service_name("svc").build().unwrap();
    let mut headers = HashMap::new();
    headers.insert(
        "x-b3-traceid".to_owned(),
        "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
    );
    headers.insert("x-b3-spanid".to_owned(), "00f067aa0ba902b7".to_owned());
    headers.insert("x-b3-sampled".to_owned(), "1".to_owned());
    headers.insert(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
    );
    headers.insert("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned());
    let remote = tracer.extract(&headers).unwrap();
    assert_eq!(
        remote.context().unwrap().trace_state(),
        Some("congo=t61rcWkgMzE")
    );
    let server = tracer.span("server").extracted(&remote).start();
    let mut out = HashMap::new();
    tracer.inject(server.context(), &mut out);
    assert_eq!(out["tracestate"], "congo=t61rcWkgMzE");

    // A traceparent of another trace lends nothing.
    headers.insert(
        "traceparent".to_owned(),
        "00-11111111111111111111111111111111-00f067aa0ba902b7-01".to_owned(),
    );
    let remote = tracer.extract(&headers).unwrap();
    assert_eq!(remote.context().unwrap().trace_state(), None);
}

#[test]
fn sampling_priority_revives_a_child_of_an_unsampled_parent_with_its_later_tags() {
    let rec = InMemoryRecorder::new();
    let tracer = tracer_with(&rec).with_sampler(NeverSample).build().unwrap();
    let parent = tracer.span("unsampled").start();
    let child = tracer
        .span("forced")
        .child_of(parent.context())
        .tag("dropped", "before the priority")
        .tag(tags::SAMPLING_PRIORITY, 1)
        .tag(tags::COMPONENT, "kept")
        .start();
    assert!(child.is_recording());
    child.finish();
    let span = &rec.take()[0];
    assert_eq!(
        span.tag(tags::COMPONENT).and_then(|v| v.as_str()),
        Some("kept")
    );
    assert!(span.tag("dropped").is_none());
}

#[test]
fn a_false_sampling_priority_stops_recording() {
    let rec = InMemoryRecorder::new();
    let tracer = tracer_with(&rec).build().unwrap();
    let mut span = tracer.span("op").start();
    span.set_tag(tags::SAMPLING_PRIORITY, false);
    assert!(!span.is_recording());
    assert!(!span.context().is_sampled());
    span.finish();
    assert!(rec.is_empty());
}

#[test]
fn unsampled_spans_keep_ids_parents_baggage_and_trace_state() {
    let rec = InMemoryRecorder::new();
    for wide in [true, false] {
        let tracer = tracer_with(&rec)
            .with_sampler(NeverSample)
            .with_128bit_trace_ids(wide)
            .build()
            .unwrap();
        let root = tracer.span("root").start();
        let cx = root.context();
        assert!(!root.is_recording());
        assert_eq!(cx.sampling(), Sampling::Deny);
        assert_eq!(cx.trace_id().is_128bit(), wide);
        assert_eq!(cx.parent_id(), None);
        assert_ne!(
            cx.span_id(),
            tracer.span("other").start().context().span_id()
        );
    }

    // An unsampled caller with baggage and a W3C trace state: both reach the child.
    let tracer = tracer_with(&rec).with_sampler(NeverSample).build().unwrap();
    let mut headers = HashMap::new();
    headers.insert(
        "traceparent".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_owned(),
    );
    headers.insert("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned());
    headers.insert("ot-baggage-user".to_owned(), "alice".to_owned());
    let remote = tracer.extract(&headers).unwrap();
    let server = tracer.span("server").extracted(&remote).start();
    let mut child = tracer.span("child").child_of(server.context()).start();
    child.set_tag("ignored", 1);
    for span in [&server, &child] {
        assert!(!span.is_recording());
        assert_eq!(
            span.context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span.context().trace_state(), Some("congo=t61rcWkgMzE"));
        assert_eq!(span.baggage_item("user"), Some("alice"));
    }
    assert_eq!(
        server
            .context()
            .parent_id()
            .map(|id| id.to_string())
            .as_deref(),
        Some("00f067aa0ba902b7")
    );
    assert_eq!(
        child.context().parent_id(),
        Some(server.context().span_id())
    );
    child.finish();
    server.finish();
    assert!(rec.is_empty());

    // A sampled parent still wins over a tracer that never samples new traces.
    let sampled = remote.context().unwrap().clone();
    let mut headers = HashMap::new();
    headers.insert("x-b3-traceid".to_owned(), "463ac35c9f6413ad".to_owned());
    headers.insert("x-b3-spanid".to_owned(), "a2fb4a1d1a96d312".to_owned());
    headers.insert("x-b3-sampled".to_owned(), "1".to_owned());
    let accepted = tracer.extract(&headers).unwrap();
    tracer.span("kept").extracted(&accepted).start().finish();
    assert_eq!(rec.take().len(), 1);
    assert!(!sampled.is_sampled());
}

#[test]
fn custom_samplers_are_asked_and_the_default_one_records_deferred_callers() {
    #[derive(Debug)]
    struct Counting(std::sync::atomic::AtomicUsize);
    impl tracer_api::Sampler for Counting {
        fn should_sample(&self, _: tracer_api::TraceId, operation: &str) -> bool {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            operation == "yes"
        }
    }
    let rec = InMemoryRecorder::new();
    let counting = std::sync::Arc::new(Counting(Default::default()));
    #[derive(Debug)]
    struct Shared(std::sync::Arc<Counting>);
    impl tracer_api::Sampler for Shared {
        fn should_sample(&self, t: tracer_api::TraceId, operation: &str) -> bool {
            self.0.should_sample(t, operation)
        }
    }
    let tracer = tracer_with(&rec)
        .with_sampler(Shared(counting.clone()))
        .build()
        .unwrap();
    assert!(tracer.span("yes").start().is_recording());
    assert!(!tracer.span("no").start().is_recording());
    assert_eq!(counting.0.load(std::sync::atomic::Ordering::Relaxed), 2);

    // The default sampler (always) decides for a caller that deferred.
    let tracer = tracer_with(&rec).build().unwrap();
    let mut headers = HashMap::new();
    headers.insert("x-b3-traceid".to_owned(), "463ac35c9f6413ad".to_owned());
    headers.insert("x-b3-spanid".to_owned(), "a2fb4a1d1a96d312".to_owned());
    let remote = tracer.extract(&headers).unwrap();
    assert_eq!(remote.sampling(), Sampling::Deferred);
    assert!(tracer
        .span("server")
        .extracted(&remote)
        .start()
        .is_recording());
}
