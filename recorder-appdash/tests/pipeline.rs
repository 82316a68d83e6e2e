//! The recorder as applications use it: a tracer on the export pipeline, sending to the
//! loopback collector, including across a collector restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use recorder_appdash::annotations::wire_span_id;
use recorder_appdash::wire::WireSpanId;
use recorder_appdash::AppdashRecorder;
use support::Collector;
use tracer_api::export::BatchConfig;
use tracer_api::{InMemoryRecorder, Recorder, SpanRecord, Tracer};

const WAIT: Duration = Duration::from_secs(10);

type AppdashBatch = tracer_api::export::BatchRecorder<recorder_appdash::AppdashReporter>;

fn config() -> BatchConfig {
    BatchConfig {
        batch_interval: Duration::from_millis(20),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_attempts: 100,
        ..BatchConfig::default()
    }
}

/// Records `n` spans through `tracer` and returns their ids.
fn record(tracer: &Tracer, copy: &InMemoryRecorder, n: usize) -> Vec<WireSpanId> {
    let mut root = tracer.span("batch").start();
    for i in 0..n.saturating_sub(1) {
        let mut s = tracer.span("work").child_of(root.context()).start();
        s.set_tag("i", i as u64);
    }
    root.set_tag("n", n as u64);
    root.finish();
    let spans: Vec<SpanRecord> = copy.take();
    assert_eq!(spans.len(), n);
    spans.iter().map(wire_span_id).collect()
}

/// A tracer whose spans go to the Appdash recorder and to an in-memory copy.
fn tracer(addr: &str) -> (Tracer, InMemoryRecorder, AppdashBatch) {
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(addr)
        .with_batch_config(config())
        .with_reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .build()
        .unwrap();
    let copy = InMemoryRecorder::new();
    let tee = Tee(recorder.clone(), copy.clone());
    let tracer = Tracer::builder().with_recorder(tee).build().unwrap();
    (tracer, copy, recorder)
}

/// Sends every span to both recorders.
struct Tee(AppdashBatch, InMemoryRecorder);

impl Recorder for Tee {
    fn record(&self, span: SpanRecord) {
        self.1.record(span.clone());
        self.0.record(span);
    }
    fn flush(&self, timeout: Duration) -> tracer_api::ExportReport {
        self.0.flush(timeout)
    }
    fn shutdown(&self, timeout: Duration) -> tracer_api::ExportReport {
        self.0.shutdown(timeout)
    }
}

#[test]
fn spans_arrive_and_shutdown_delivers_everything() {
    let collector = Collector::start();
    let (tracer, copy, recorder) = tracer(&collector.addr().to_string());
    let ids = record(&tracer, &copy, 300);
    let report = tracer.shutdown(WAIT);
    assert_eq!(report.exported, 300, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert!(collector.wait_for_spans(300, WAIT));
    let got = collector.span_ids();
    assert!(ids.iter().all(|id| got.contains(id)));
    assert_eq!(recorder.reporter().stats().connects, 1);
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}

#[test]
fn spans_recorded_while_the_collector_restarts_arrive_after_the_reconnect() {
    let collector = Collector::start();
    let addr = collector.addr();
    let (tracer, copy, recorder) = tracer(&addr.to_string());

    let before = record(&tracer, &copy, 50);
    assert!(collector.wait_for_spans(50, WAIT));
    collector.stop();

    // Recorded while nothing listens: queued and retried.
    let during = record(&tracer, &copy, 50);
    std::thread::sleep(Duration::from_millis(300));
    assert!(recorder.reporter().stats().connect_failures >= 1);

    let collector = Collector::start_on(addr);
    let after = record(&tracer, &copy, 50);
    assert!(
        collector.wait_for_spans(100, WAIT),
        "got {} of 100 spans after the restart",
        collector.span_ids().len()
    );
    let report = tracer.shutdown(WAIT);
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(report.exported, 150, "{report}");
    let got = collector.span_ids();
    for id in during.iter().chain(&after) {
        assert!(got.contains(id), "{id} missing after the restart");
    }
    assert!(
        before.iter().all(|id| !got.contains(id)),
        "resent before the stop"
    );
    assert_eq!(recorder.reporter().stats().connects, 2);
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}

#[test]
fn from_env_builds_a_working_recorder() {
    let collector = Collector::start();
    let addr = collector.addr().to_string();
    let builder = AppdashRecorder::from_lookup(|name| match name {
        "APPDASH_COLLECTOR" => Some(addr.clone()),
        "TRACER_EXPORT_BATCH_INTERVAL_MS" => Some("10".to_owned()),
        _ => None,
    })
    .unwrap();
    let recorder = builder.build().unwrap();
    assert_eq!(recorder.reporter().collector_addr(), addr);
    assert_eq!(recorder.config().batch_interval, Duration::from_millis(10));
    let tracer = Tracer::builder()
        .with_recorder(recorder.clone())
        .build()
        .unwrap();
    tracer.span("one").start().finish();
    assert!(collector.wait_for_spans(1, WAIT));
    let report = tracer.shutdown(WAIT);
    assert_eq!(report.exported, 1, "{report}");
}
