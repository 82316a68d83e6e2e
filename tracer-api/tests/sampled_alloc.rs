#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What a sampled span allocates (counted by a global allocator in this test binary): one
//! reference is kept inline, so a child span with no tags allocates nothing of its own.

mod alloc_support;

use tracer_api::{Recorder, ReferenceKind, SpanRecord, Tracer};

use alloc_support::thread_allocs;

/// Checks each span's references, then drops it (on the recording thread).
struct Check;

impl Recorder for Check {
    fn record(&self, span: SpanRecord) {
        match span.operation.as_ref() {
            "root" => assert!(span.references.is_empty()),
            "child" | "tagged" => {
                assert_eq!(span.references.len(), 1);
                assert_eq!(span.references[0].kind, ReferenceKind::ChildOf);
                assert_eq!(Some(span.references[0].span_id), span.parent_id);
            }
            "joined" => {
                assert_eq!(span.references.len(), 3);
                assert_eq!(span.references[0].kind, ReferenceKind::FollowsFrom);
                assert_eq!(Some(span.references[0].span_id), span.parent_id);
                assert_eq!(span.references[1].kind, ReferenceKind::ChildOf);
                assert_eq!(span.references[2].kind, ReferenceKind::FollowsFrom);
            }
            other => panic!("unexpected span {other}"),
        }
    }
}

/// Allocations per call of `f` on this thread, over 1000 calls.
fn allocs_per_call(mut f: impl FnMut()) -> f64 {
    let before = thread_allocs();
    for _ in 0..1000 {
        f();
    }
    (thread_allocs() - before) as f64 / 1000.0
}

#[test]
fn sampled_spans_allocate_only_their_lists() {
    let tracer = Tracer::builder()
        .with_service_name("svc")
        .with_recorder(Check)
        .build()
        .unwrap();
    // Warm up thread-locals.
    tracer.span("root").start().finish();
    let root = tracer.span("root").start();
    let other = tracer.span("root").start();

    assert_eq!(
        allocs_per_call(|| tracer.span("root").start().finish()),
        0.0
    );
    // The parent reference is inline: nothing allocated.
    assert_eq!(
        allocs_per_call(|| tracer
            .span("child")
            .child_of(root.context())
            .start()
            .finish()),
        0.0
    );
    // Tags: their `Vec` is the one allocation (it was two, with the references' `Vec`).
    assert_eq!(
        allocs_per_call(|| {
            let mut s = tracer.span("tagged").child_of(root.context()).start();
            s.set_tag("a", 1u64).set_tag("b", "x");
            s.finish();
        }),
        1.0
    );
    // Several references: one list, in order, the first the parent.
    assert_eq!(
        allocs_per_call(|| tracer
            .span("joined")
            .follows_from(root.context())
            .child_of(other.context())
            .follows_from(other.context())
            .start()
            .finish()),
        1.0
    );
}
