//! A collector that never answers: `record` keeps returning, memory stays within the queue
//! bound (drops counted as QueueFull), and shutdown returns by its deadline with the leftovers
//! counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::time::{Duration, Instant};

use export_support::{assert_adds_up, template, wait_until, Act, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::{DropCause, Recorder};

fn config() -> BatchConfig {
    BatchConfig {
        max_queue_spans: 1_000,
        max_batch_spans: 100,
        max_in_flight: 2,
        batch_interval: Duration::from_millis(10),
        request_timeout: Duration::from_secs(3600),
        ..BatchConfig::default()
    }
}

#[test]
fn hung_collector_bounded_memory_and_shutdown_by_deadline() {
    let batch = BatchRecorder::new(Fake::new(|_| Act::Hang), config()).unwrap();
    let template = template();
    let mut returned = 0u64;
    for i in 0..200_000u64 {
        batch.record(template.clone());
        returned += 1;
        if i % 1000 == 0 {
            let s = batch.stats();
            assert!(s.queued <= 1_000, "queue over its bound: {s}");
            assert!(s.in_flight <= 200, "{s}");
            assert_adds_up(&s);
        }
    }
    assert_eq!(returned, 200_000);
    assert!(wait_until(Duration::from_secs(5), || batch
        .reporter()
        .calls()
        == 2));
    let s = batch.stats();
    assert_eq!(s.recorded, 200_000);
    assert!(s.queued <= 1_000);
    assert_eq!(s.in_flight, 200, "{s}");
    assert!(
        s.dropped.get(DropCause::QueueFull) >= 200_000 - 1_200,
        "{s}"
    );

    let start = Instant::now();
    let report = batch.shutdown(Duration::from_millis(500));
    let took = start.elapsed();
    assert!(took < Duration::from_millis(500), "shutdown took {took:?}");
    assert!(report.timed_out, "{report}");
    assert_eq!(report.pending, 0, "{report}");
    assert_eq!(report.exported, 0);
    assert_eq!(
        report.dropped.get(DropCause::Shutdown),
        s.queued + s.in_flight,
        "{report}"
    );
    assert_eq!(report.dropped.total(), 200_000);
    // The reporter's own shutdown was still called (with what was left of the deadline).
    assert_eq!(
        batch
            .reporter()
            .shutdowns
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[test]
fn reporter_blocking_the_worker_thread_cannot_hold_shutdown_past_its_deadline() {
    let batch = BatchRecorder::new(
        Fake::new(|_| Act::BlockThread(Duration::from_secs(30))),
        config(),
    )
    .unwrap();
    for _ in 0..500 {
        batch.record(template());
    }
    assert!(wait_until(Duration::from_secs(5), || batch
        .reporter()
        .calls()
        == 1));
    for _ in 0..500 {
        batch.record(template());
    }
    let start = Instant::now();
    let report = batch.shutdown(Duration::from_millis(300));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert!(report.timed_out);
    // The blocked batch stays pending; everything still queued is counted.
    let s = batch.stats();
    assert_adds_up(&s);
    assert_eq!(s.queued, 0, "{s}");
    assert!(s.in_flight >= 100, "{s}");
    assert_eq!(
        s.dropped.get(DropCause::Shutdown) + s.in_flight,
        1_000,
        "{s}"
    );
    // And flush on a stuck worker returns by its deadline too.
    let start = Instant::now();
    let r = batch.flush(Duration::from_millis(100));
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(r.pending > 0);
}

#[test]
fn flushes_against_a_stuck_worker_do_not_pile_up() {
    let batch = BatchRecorder::new(
        Fake::new(|_| Act::BlockThread(Duration::from_secs(30))),
        config(),
    )
    .unwrap();
    for _ in 0..200 {
        batch.record(template());
    }
    assert!(wait_until(Duration::from_secs(5), || batch
        .reporter()
        .calls()
        == 1));
    // The worker's thread is blocked: the first requests wait out their timeout, then the
    // request queue is full and later calls answer within ~10 ms (timed out) instead of
    // queueing without bound: ~5.6 s in all, where 300 calls waiting 50 ms would take 15 s.
    let start = Instant::now();
    for _ in 0..300 {
        let r = batch.flush(Duration::from_millis(50));
        assert!(r.timed_out, "{r}");
        assert!(r.pending > 0, "{r}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    let s = batch.stats();
    assert_adds_up(&s);
    // Shutdown still waits for room (to its deadline), then counts what is queued.
    let report = batch.shutdown(Duration::from_millis(300));
    assert!(report.timed_out, "{report}");
}
