//! Batch settings and steps the integration tests share.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use integration::scenario::SampleTrace;
use integration::zipkin::CollectorMetrics;
use integration::Zipkin;
use tracer_api::export::BatchConfig;
use tracer_api::{Recorder, Tracer};

/// Short batches, so each test's spans leave soon after they finish.
pub(crate) fn prompt() -> BatchConfig {
    BatchConfig {
        batch_interval: Duration::from_millis(50),
        ..BatchConfig::default()
    }
}

/// [`prompt`] batches that keep retrying (quickly, for up to ten minutes) while a peer is
/// stopped, for the tests that restart one.
pub(crate) fn patient() -> BatchConfig {
    BatchConfig {
        request_timeout: Duration::from_secs(5),
        max_attempts: 100_000,
        max_retry_elapsed: Duration::from_secs(600),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..prompt()
    }
}

/// Records the sample trace with a tracer named `service` whose spans go to `recorder`, shuts
/// it down within `deadline`, and checks that all three spans are exported and arrive intact in
/// `zipkin` (waiting up to `deadline` + 30 s). Returns Zipkin's collector metrics from before
/// and after, for the transport-specific checks.
pub(crate) fn sample_into_zipkin(
    zipkin: &Zipkin,
    recorder: impl Recorder + 'static,
    service: String,
    deadline: Duration,
) -> (CollectorMetrics, CollectorMetrics) {
    let tracer = Tracer::builder()
        .with_service_name(service)
        .with_recorder(recorder)
        .build()
        .unwrap();
    let before = zipkin.metrics().unwrap();

    let sample = SampleTrace::record(&tracer);
    let report = tracer.shutdown(deadline);
    assert_eq!(report.exported, 3, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");

    let spans = zipkin
        .wait_for_trace(
            &sample.zipkin_trace_id(),
            3,
            deadline + Duration::from_secs(30),
        )
        .unwrap();
    sample
        .check_zipkin(&spans)
        .unwrap_or_else(|e| panic!("{e}"));
    (before, zipkin.metrics().unwrap())
}
