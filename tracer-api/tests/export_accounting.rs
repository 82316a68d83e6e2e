//! Accounting: AfterShutdown, Invalid, idempotent flush and shutdown, partial batches on flush,
//! and the stats invariant under concurrent recording.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use export_support::{assert_adds_up, template, Act, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder, OverflowPolicy};
use tracer_api::{DropCause, Recorder};

#[test]
fn spans_recorded_after_shutdown_are_counted() {
    let batch = BatchRecorder::new(Fake::healthy(), BatchConfig::default()).unwrap();
    for _ in 0..5 {
        batch.record(template());
    }
    let report = batch.shutdown(Duration::from_secs(5));
    assert_eq!(report.exported, 5);
    for _ in 0..7 {
        batch.record(template());
    }
    let s = batch.stats();
    assert_eq!(s.dropped.get(DropCause::AfterShutdown), 7, "{s}");
    assert_eq!(s.recorded, 12);
    assert_eq!(s.queued, 0);
    assert_adds_up(&s);
    assert_eq!(batch.reporter().delivered(), 5);
    assert_eq!(batch.reporter().shutdowns.load(Ordering::SeqCst), 1);
}

#[test]
fn delivered_invalid_counts_as_invalid() {
    let batch = BatchRecorder::new(
        Fake::new(|_| Act::Ok { invalid: 2 }),
        BatchConfig {
            max_batch_spans: 10,
            ..BatchConfig::default()
        },
    )
    .unwrap();
    for _ in 0..30 {
        batch.record(template());
    }
    let report = batch.shutdown(Duration::from_secs(5));
    assert_eq!(report.dropped.get(DropCause::Invalid), 6, "{report}");
    assert_eq!(report.exported, 24);
    assert_eq!(report.dropped.total(), 6);
}

#[test]
fn flush_sends_partial_batches_and_both_calls_are_idempotent() {
    let batch = BatchRecorder::new(
        Fake::healthy(),
        BatchConfig {
            batch_interval: Duration::from_secs(3600),
            ..BatchConfig::default()
        },
    )
    .unwrap();
    for _ in 0..7 {
        batch.record(template());
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        batch.reporter().calls(),
        0,
        "a partial batch waits for the interval"
    );
    let first = batch.flush(Duration::from_secs(5));
    assert_eq!(first.exported, 7);
    assert!(!first.timed_out);
    let second = batch.flush(Duration::from_secs(5));
    assert_eq!(second, first);
    assert_eq!(batch.reporter().calls(), 1);

    let s1 = batch.shutdown(Duration::from_secs(5));
    let start = Instant::now();
    let s2 = batch.shutdown(Duration::from_secs(5));
    let s3 = batch.flush(Duration::from_secs(5));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(s1, s2);
    assert_eq!(s2, s3);
    assert_eq!(s1.exported, 7);
    assert_eq!(batch.reporter().shutdowns.load(Ordering::SeqCst), 1);
}

#[test]
fn concurrent_shutdowns_all_return() {
    let batch = BatchRecorder::new(
        Fake::healthy().with_delay(Duration::from_millis(5)),
        BatchConfig::default(),
    )
    .unwrap();
    for _ in 0..5_000 {
        batch.record(template());
    }
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let b = batch.clone();
            std::thread::spawn(move || b.shutdown(Duration::from_secs(10)))
        })
        .collect();
    for h in handles {
        let r = h.join().unwrap();
        assert!(!r.timed_out, "{r}");
        assert_eq!(r.exported, 5_000);
    }
}

#[test]
fn stats_add_up_in_every_snapshot_under_concurrent_recording() {
    for overflow in [OverflowPolicy::DropNewest, OverflowPolicy::DropOldest] {
        let batch = BatchRecorder::new(
            Fake::new(|n| match n % 5 {
                0 => Act::Ok { invalid: 1 },
                1 => Act::Permanent,
                2 => Act::Retry(None),
                _ => Act::Ok { invalid: 0 },
            })
            .with_delay(Duration::from_millis(1)),
            BatchConfig {
                max_queue_spans: 2_000,
                max_batch_spans: 64,
                max_attempts: 2,
                initial_backoff: Duration::from_millis(1),
                batch_interval: Duration::from_millis(5),
                overflow,
                ..BatchConfig::default()
            },
        )
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let producers: Vec<_> = (0..3)
            .map(|_| {
                let b = batch.clone();
                std::thread::spawn(move || {
                    let t = template();
                    for _ in 0..150_000 {
                        b.record(t.clone());
                    }
                })
            })
            .collect();
        let checker = {
            let b = batch.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut snapshots = 0u64;
                let mut last = b.stats();
                while !stop.load(Ordering::SeqCst) {
                    let s = b.stats();
                    assert_adds_up(&s);
                    assert!(
                        s.recorded >= last.recorded,
                        "recorded went back: {last} -> {s}"
                    );
                    assert!(s.exported >= last.exported);
                    for cause in DropCause::ALL {
                        assert!(s.dropped.get(cause) >= last.dropped.get(cause));
                    }
                    last = s;
                    snapshots += 1;
                }
                snapshots
            })
        };
        for p in producers {
            p.join().unwrap();
        }
        let report = batch.shutdown(Duration::from_secs(30));
        stop.store(true, Ordering::SeqCst);
        let snapshots = checker.join().unwrap();
        assert!(snapshots > 100, "only {snapshots} snapshots");
        let s = batch.stats();
        assert_adds_up(&s);
        assert_eq!(s.recorded, 450_000);
        assert_eq!(report.pending, 0, "{report}");
        assert_eq!(s.exported + s.dropped.total(), 450_000);
        assert!(s.dropped.get(DropCause::QueueFull) > 0);
        assert!(s.dropped.get(DropCause::Rejected) > 0);
        assert!(s.dropped.get(DropCause::Invalid) > 0);
    }
}
