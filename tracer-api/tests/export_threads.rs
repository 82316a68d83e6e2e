//! Spans from other threads: a flush delivers what a still-living, idle thread recorded, the
//! batch interval delivers spans of a thread that went quiet, a thread's spans outlive it,
//! many threads recording into several recorders get each span delivered exactly once, and
//! spans recorded after shutdown are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::sync::mpsc;
use std::time::Duration;

use export_support::{assert_adds_up, numbered, template, wait_until, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::Recorder;

fn config(batch_interval: Duration) -> BatchConfig {
    BatchConfig {
        batch_interval,
        ..BatchConfig::default()
    }
}

/// Runs `f` on a thread that stays alive (and idle) until the returned sender is dropped.
fn on_parked_thread(f: impl FnOnce() + Send + 'static) -> mpsc::Sender<()> {
    let (done_tx, done_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        f();
        done_tx.send(()).unwrap();
        let _ = stop_rx.recv();
    });
    done_rx.recv().unwrap();
    stop_tx
}

#[test]
fn spans_of_an_idle_thread_count_as_queued_and_a_flush_delivers_them() {
    let batch = BatchRecorder::new(Fake::healthy(), config(Duration::from_secs(3600))).unwrap();
    let b = batch.clone();
    let _keep = on_parked_thread(move || {
        for _ in 0..5 {
            b.record(template());
        }
    });
    let s = batch.stats();
    assert_eq!(s.recorded, 5, "{s}");
    assert_eq!(s.queued, 5, "{s}");
    assert_adds_up(&s);
    let report = batch.flush(Duration::from_secs(10));
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.exported, 5, "{report}");
    assert_eq!(batch.reporter().delivered(), 5);
}

#[test]
fn the_batch_interval_delivers_spans_of_a_thread_that_went_quiet() {
    let batch = BatchRecorder::new(Fake::healthy(), config(Duration::from_millis(50))).unwrap();
    let b = batch.clone();
    let _keep = on_parked_thread(move || {
        for _ in 0..3 {
            b.record(template());
        }
    });
    assert!(
        wait_until(Duration::from_secs(5), || batch.reporter().delivered() == 3),
        "{}",
        batch.stats()
    );
    assert_eq!(batch.stats().queued, 0);
}

#[test]
fn spans_outlive_the_thread_that_recorded_them() {
    let batch = BatchRecorder::new(
        Fake::healthy().keeping_ids(),
        config(Duration::from_secs(3600)),
    )
    .unwrap();
    let b = batch.clone();
    std::thread::spawn(move || {
        for i in 0..10 {
            b.record(numbered(i));
        }
    })
    .join()
    .unwrap();
    let report = batch.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 10, "{report}");
    let mut ids = batch.reporter().delivered_ids();
    ids.sort_unstable();
    assert_eq!(ids, (0..10).collect::<Vec<_>>());
}

#[test]
fn many_threads_many_recorders_every_span_delivered_once() {
    let recorders: Vec<_> = (0..3)
        .map(|_| {
            BatchRecorder::new(
                Fake::healthy().keeping_ids(),
                BatchConfig {
                    max_batch_spans: 100,
                    ..config(Duration::from_millis(20))
                },
            )
            .unwrap()
        })
        .collect();
    std::thread::scope(|scope| {
        for t in 0..6u64 {
            let recorders = &recorders;
            scope.spawn(move || {
                for i in 0..2_000u64 {
                    let r = &recorders[((t + i) % 3) as usize];
                    r.record(numbered(t * 1_000_000 + i));
                    if i % 500 == 0 {
                        assert_adds_up(&r.stats());
                    }
                }
            });
        }
    });
    let mut all = Vec::new();
    for r in &recorders {
        let report = r.shutdown(Duration::from_secs(10));
        assert_eq!(report.pending, 0, "{report}");
        assert_eq!(report.dropped.total(), 0, "{report}");
        all.extend(r.reporter().delivered_ids());
    }
    all.sort_unstable();
    let expected: Vec<u64> = (0..6u64)
        .flat_map(|t| (0..2_000u64).map(move |i| t * 1_000_000 + i))
        .collect();
    assert_eq!(all.len(), expected.len());
    assert_eq!(all, expected, "each span exactly once");
}

#[test]
fn shutdown_delivers_an_idle_threads_spans_and_counts_later_ones() {
    let batch = BatchRecorder::new(Fake::healthy(), config(Duration::from_secs(3600))).unwrap();
    let b = batch.clone();
    let keep = on_parked_thread(move || {
        for _ in 0..7 {
            b.record(template());
        }
    });
    let report = batch.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 7, "{report}");
    // After shutdown, spans are dropped and counted.
    let b = batch.clone();
    drop(keep);
    let _keep = on_parked_thread(move || b.record(template()));
    let s = batch.stats();
    assert_eq!(s.recorded, 8, "{s}");
    assert_eq!(s.dropped.total(), 1, "{s}");
    assert_eq!(s.queued, 0, "{s}");
    assert_adds_up(&s);
}
