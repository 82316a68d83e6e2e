//! Overflow: drop-newest keeps the oldest spans, drop-oldest the newest; the byte bound; batches
//! cut by bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::sync::Arc;
use std::time::Duration;

use export_support::{assert_adds_up, numbered, wait_until, Fake};
use tokio::sync::Semaphore;
use tracer_api::export::{BatchConfig, BatchRecorder, OverflowPolicy};
use tracer_api::{DropCause, Recorder};

/// Sends spans 0..10 as one batch that the gated reporter holds, then offers 10..35 to a queue
/// of 10, releases the gate and returns the numbers the backend received.
fn run(overflow: OverflowPolicy) -> (Vec<u64>, tracer_api::ExportReport) {
    let gate = Arc::new(Semaphore::new(0));
    let batch = BatchRecorder::new(
        Fake::healthy().keeping_ids().gated(gate.clone()),
        BatchConfig {
            max_queue_spans: 10,
            max_batch_spans: 10,
            max_in_flight: 1,
            batch_interval: Duration::from_secs(3600),
            overflow,
            ..BatchConfig::default()
        },
    )
    .unwrap();
    for i in 0..10 {
        batch.record(numbered(i));
    }
    assert!(wait_until(Duration::from_secs(5), || batch
        .stats()
        .in_flight
        == 10));
    for i in 10..35 {
        batch.record(numbered(i));
    }
    let s = batch.stats();
    assert_eq!(s.queued, 10, "{s}");
    assert_eq!(s.dropped.get(DropCause::QueueFull), 15, "{s}");
    assert_adds_up(&s);
    gate.add_permits(1000);
    let report = batch.shutdown(Duration::from_secs(10));
    let mut ids = batch.reporter().delivered_ids();
    ids.sort_unstable();
    (ids, report)
}

#[test]
fn drop_newest_keeps_what_was_queued_first() {
    let (ids, report) = run(OverflowPolicy::DropNewest);
    assert_eq!(ids, (0..20).collect::<Vec<_>>());
    assert_eq!(report.exported, 20);
    assert_eq!(report.dropped.get(DropCause::QueueFull), 15);
}

#[test]
fn drop_oldest_keeps_the_most_recent() {
    let (ids, report) = run(OverflowPolicy::DropOldest);
    let expected: Vec<u64> = (0..10).chain(25..35).collect();
    assert_eq!(ids, expected);
    assert_eq!(report.exported, 20);
    assert_eq!(report.dropped.get(DropCause::QueueFull), 15);
}

#[test]
fn the_byte_bound_limits_the_queue_and_batches_are_cut_by_bytes() {
    let gate = Arc::new(Semaphore::new(0));
    let batch = BatchRecorder::new(
        Fake::healthy()
            .with_size(100)
            .keeping_ids()
            .gated(gate.clone()),
        BatchConfig {
            max_queue_spans: 1_000,
            max_queue_bytes: 1_000,
            max_batch_spans: 100,
            max_batch_bytes: 300,
            max_in_flight: 1,
            batch_interval: Duration::from_millis(20),
            ..BatchConfig::default()
        },
    )
    .unwrap();
    for i in 0..3 {
        batch.record(numbered(i));
    }
    assert!(wait_until(Duration::from_secs(5), || batch
        .stats()
        .in_flight
        == 3));
    for i in 3..50 {
        batch.record(numbered(i));
    }
    let s = batch.stats();
    assert_eq!(s.queued, 10, "1 000 bytes hold ten 100-byte spans: {s}");
    assert_eq!(s.dropped.get(DropCause::QueueFull), 37, "{s}");
    gate.add_permits(1000);
    let report = batch.flush(Duration::from_secs(10));
    assert_eq!(report.exported, 13, "{report}");
    let sizes = batch.reporter().batch_sizes.lock().unwrap().clone();
    assert!(
        sizes.iter().all(|&n| n <= 3),
        "batches over 300 bytes: {sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), 13);

    // A span larger than the whole queue's byte bound is dropped even when the queue is empty.
    let big = BatchRecorder::new(
        Fake::healthy().with_size(2_000),
        BatchConfig {
            max_queue_bytes: 1_000,
            max_batch_bytes: 1_000,
            overflow: OverflowPolicy::DropOldest,
            ..BatchConfig::default()
        },
    )
    .unwrap();
    big.record(numbered(0));
    assert_eq!(big.stats().dropped.get(DropCause::QueueFull), 1);
}

#[test]
fn a_span_larger_than_a_batch_goes_alone() {
    let batch = BatchRecorder::new(
        Fake::healthy().with_size(500),
        BatchConfig {
            max_batch_bytes: 300,
            batch_interval: Duration::from_millis(10),
            ..BatchConfig::default()
        },
    )
    .unwrap();
    for i in 0..4 {
        batch.record(numbered(i));
    }
    let report = batch.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 4, "{report}");
    let sizes = batch.reporter().batch_sizes.lock().unwrap().clone();
    assert_eq!(sizes, vec![1, 1, 1, 1]);
}
