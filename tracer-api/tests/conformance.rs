#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite against the in-memory recorder.

use std::sync::Arc;

use tracer_api::{conformance, InMemoryRecorder};

#[test]
fn the_api_conforms() {
    let spans = conformance::run();
    assert!(spans.len() > 20, "the suite recorded {} spans", spans.len());
}

#[test]
fn the_suite_reports_what_it_recorded() {
    let backend = InMemoryRecorder::new();
    let spans = conformance::run_with_recorder(Arc::new(backend.clone()));
    let got: Vec<_> = backend.spans().iter().map(|s| s.span_id).collect();
    let want: Vec<_> = spans.iter().map(|s| s.span_id).collect();
    assert_eq!(got, want);
}
