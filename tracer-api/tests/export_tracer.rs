//! The pipeline behind a real `Tracer`, and the API conformance suite through it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::sync::Arc;
use std::time::Duration;

use export_support::Fake;
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::{tags, Recorder, Tracer};

#[test]
fn spans_from_a_tracer_are_exported() {
    let batch = BatchRecorder::new(Fake::healthy(), BatchConfig::default()).unwrap();
    let tracer = Tracer::builder()
        .with_service_name("frontend")
        .with_recorder(batch.clone())
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1_000 {
                    let parent = tracer
                        .span("GET /home")
                        .tag(tags::SPAN_KIND, "server")
                        .start();
                    let mut child = tracer.span("db").child_of(parent.context()).start();
                    child.set_tag(tags::DB_TYPE, "sql");
                    child.finish();
                }
            });
        }
    });
    let report = tracer.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 8_000, "{report}");
    assert_eq!(report.dropped.total(), 0);
    assert_eq!(batch.reporter().delivered(), 8_000);
    assert_eq!(batch.stats().recorded, 8_000);
}

#[test]
fn conformance_suite_through_the_pipeline() {
    let batch = BatchRecorder::new(Fake::healthy().keeping_ids(), BatchConfig::default()).unwrap();
    let recorder: Arc<dyn Recorder> = Arc::new(batch.clone());
    let spans = tracer_api::conformance::run_with_recorder(recorder);
    assert!(!spans.is_empty());
    let s = batch.stats();
    assert_eq!(s.exported, spans.len() as u64, "{s}");
    assert_eq!(batch.reporter().delivered(), spans.len() as u64);
}
