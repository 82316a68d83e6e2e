//! Shutdown from a current-thread runtime, a one-worker multi-thread runtime and no runtime:
//! returns before its deadline and, with a healthy collector, loses nothing (1 M spans in,
//! 1 M out).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::time::{Duration, Instant};

use export_support::{template, Act, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::{DropCause, Recorder};

const SPANS: u64 = 1_000_000;
const DEADLINE: Duration = Duration::from_secs(60);

fn big_queue() -> BatchConfig {
    BatchConfig {
        max_queue_spans: 1 << 20,
        max_queue_bytes: 1 << 30,
        ..BatchConfig::default()
    }
}

fn record_million(batch: &BatchRecorder<Fake>) {
    let template = template();
    for _ in 0..SPANS {
        batch.record(template.clone());
    }
}

fn check_complete(batch: &BatchRecorder<Fake>, report: tracer_api::ExportReport, took: Duration) {
    assert!(took < DEADLINE, "shutdown took {took:?}");
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(report.exported, SPANS, "{report}");
    assert_eq!(report.pending, 0);
    assert_eq!(batch.reporter().delivered(), SPANS);
    assert_eq!(batch.stats().recorded, SPANS);
}

#[test]
fn shutdown_without_a_runtime_delivers_a_million() {
    let batch = BatchRecorder::new(Fake::healthy(), big_queue()).unwrap();
    record_million(&batch);
    let start = Instant::now();
    let report = batch.shutdown(DEADLINE);
    check_complete(&batch, report, start.elapsed());
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_on_a_current_thread_runtime_delivers_a_million() {
    let batch = BatchRecorder::new(Fake::healthy(), big_queue()).unwrap();
    record_million(&batch);
    let start = Instant::now();
    let report = batch.shutdown(DEADLINE);
    check_complete(&batch, report, start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn shutdown_on_a_one_worker_runtime_delivers_a_million() {
    let batch = BatchRecorder::new(Fake::healthy(), big_queue()).unwrap();
    record_million(&batch);
    let start = Instant::now();
    let report = batch.shutdown(DEADLINE);
    check_complete(&batch, report, start.elapsed());
}

#[tokio::test(flavor = "current_thread")]
async fn async_flush_and_shutdown_on_a_current_thread_runtime() {
    let batch = BatchRecorder::new(
        Fake::healthy().with_delay(Duration::from_millis(5)),
        BatchConfig::default(),
    )
    .unwrap();
    for _ in 0..10_000 {
        batch.record(template());
    }
    // The runtime's own timers keep running while we await.
    let ticker = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        true
    });
    let report = batch.flush_async(Duration::from_secs(30)).await;
    assert_eq!(report.exported, 10_000, "{report}");
    assert!(ticker.await.unwrap());
    let report = batch.shutdown_async(Duration::from_secs(30)).await;
    assert_eq!(report.exported, 10_000);
    assert!(!report.timed_out);
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_on_a_current_thread_runtime_with_a_hung_collector_returns_by_the_deadline() {
    let batch = BatchRecorder::new(Fake::new(|_| Act::Hang), BatchConfig::default()).unwrap();
    for _ in 0..5_000 {
        batch.record(template());
    }
    let start = Instant::now();
    let report = batch.shutdown(Duration::from_millis(300));
    assert!(start.elapsed() < Duration::from_millis(300));
    assert!(report.timed_out);
    assert_eq!(report.dropped.get(DropCause::Shutdown), 5_000, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn flush_on_a_one_worker_runtime_returns() {
    let batch = BatchRecorder::new(Fake::healthy(), BatchConfig::default()).unwrap();
    for _ in 0..1_000 {
        batch.record(template());
    }
    let report = batch.flush(Duration::from_secs(10));
    assert_eq!(report.exported, 1_000, "{report}");
    assert!(!report.timed_out);
}
