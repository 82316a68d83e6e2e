//! A collector that takes 20 ms per batch, offered 100 k spans/s for 5 s: nothing is dropped,
//! everything is exported (the default configuration keeps 4 batches in flight).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::time::{Duration, Instant};

use export_support::{assert_adds_up, template, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::Recorder;

#[test]
fn slow_collector_at_100k_spans_per_second_loses_nothing() {
    const RATE: u64 = 100_000;
    const SECONDS: u64 = 5;
    let batch = BatchRecorder::new(
        Fake::healthy().with_delay(Duration::from_millis(20)),
        BatchConfig::default(),
    )
    .unwrap();

    let producer = {
        let batch = batch.clone();
        std::thread::spawn(move || {
            let template = template();
            let start = Instant::now();
            let total = RATE * SECONDS;
            let mut sent = 0u64;
            let mut max_queued = 0;
            while sent < total {
                // Pace: by now, `elapsed * RATE` spans should have been offered.
                let due = (start.elapsed().as_micros() as u64 * RATE / 1_000_000).min(total);
                while sent < due {
                    batch.record(template.clone());
                    sent += 1;
                }
                max_queued = max_queued.max(batch.stats().queued);
                std::thread::sleep(Duration::from_millis(1));
            }
            (start.elapsed(), max_queued)
        })
    };
    let (elapsed, max_queued) = producer.join().unwrap();
    assert!(
        elapsed < Duration::from_secs(SECONDS + 2),
        "the producer could not keep the pace: {elapsed:?}"
    );

    let report = batch.flush(Duration::from_secs(60));
    let stats = batch.stats();
    assert_adds_up(&stats);
    assert_eq!(stats.recorded, RATE * SECONDS);
    assert_eq!(
        report.dropped.total(),
        0,
        "{report} (max queued {max_queued})"
    );
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.exported, RATE * SECONDS);
    assert_eq!(batch.reporter().delivered(), RATE * SECONDS);
    // Several batches were in flight at once: one at a time could not have kept up.
    let calls = batch.reporter().calls();
    assert!(calls >= RATE * SECONDS / 512, "{calls} calls");
    let report = batch.shutdown(Duration::from_secs(5));
    assert_eq!(report.exported, RATE * SECONDS);
    assert_eq!(report.pending, 0);
}
