#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Unsampled spans allocate nothing (counted by a global allocator in this test binary).

mod alloc_support;

use alloc_support::thread_allocs;
use tracer_api::sampler::NeverSample;
use tracer_api::{tags, InMemoryRecorder, Tracer};

#[test]
fn unsampled_spans_allocate_nothing() {
    let rec = InMemoryRecorder::new();
    let tracer = Tracer::builder()
        .with_service_name("svc")
        .with_sampler(NeverSample)
        .with_recorder(rec.clone())
        .build()
        .unwrap();
    // Warm up thread-locals.
    tracer.span("warm").start().finish();
    let mut with_baggage = tracer.span("with baggage").start();
    with_baggage.set_baggage_item("k", "v");
    let before = thread_allocs();
    for i in 0..1000u64 {
        let mut root = tracer.span("root").start();
        root.set_tag("a", i).set_tag(tags::COMPONENT, "test");
        let mut child = tracer
            .span("child")
            .child_of(root.context())
            .tag("x", 1)
            .start();
        child.log_event("ignored");
        child.set_operation_name("renamed");
        child.finish();
        root.finish();
        let mut shared = tracer
            .span("shares the baggage")
            .child_of(with_baggage.context())
            .start();
        shared.set_tag("a", i);
        assert_eq!(shared.baggage_item("k"), Some("v"));
        shared.finish();
    }
    let after = thread_allocs();
    assert_eq!(after - before, 0, "unsampled spans allocated");
    assert!(rec.is_empty());
}
