//! Retries: backoff with growing gaps, permanent errors not retried, `retry_after` honoured,
//! the retry budget, and the per-request timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::time::Duration;

use export_support::{assert_adds_up, template, wait_until, Act, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::{DropCause, Recorder};

fn config() -> BatchConfig {
    BatchConfig {
        max_batch_spans: 10,
        batch_interval: Duration::from_millis(20),
        max_in_flight: 1,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_secs(2),
        ..BatchConfig::default()
    }
}

#[test]
fn retryable_failures_back_off_then_everything_is_delivered() {
    const FAILURES: u64 = 5;
    let batch = BatchRecorder::new(
        Fake::new(|n| {
            if n < FAILURES {
                Act::Retry(None)
            } else {
                Act::Ok { invalid: 0 }
            }
        }),
        config(),
    )
    .unwrap();
    for _ in 0..10 {
        batch.record(template());
    }
    let report = batch.flush(Duration::from_secs(20));
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.exported, 10);
    assert_eq!(report.dropped.total(), 0);
    assert_eq!(batch.reporter().calls(), FAILURES + 1);

    let times = batch.reporter().call_times();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), FAILURES as usize);
    // Equal jitter: wait k is in [b_k/2, b_k] and b doubles, so waits never shrink.
    for w in gaps.windows(2) {
        assert!(
            w[1] + Duration::from_millis(5) >= w[0],
            "gaps shrank: {gaps:?}"
        );
    }
    assert!(gaps[0] >= Duration::from_millis(10), "{gaps:?}");
    assert!(
        gaps[FAILURES as usize - 1] >= gaps[0] * 3,
        "no exponential growth: {gaps:?}"
    );
    assert_adds_up(&batch.stats());
}

#[test]
fn permanent_errors_are_rejected_and_not_retried() {
    let batch = BatchRecorder::new(Fake::new(|_| Act::Permanent), config()).unwrap();
    for _ in 0..30 {
        batch.record(template());
    }
    let report = batch.flush(Duration::from_secs(10));
    assert_eq!(report.dropped.get(DropCause::Rejected), 30, "{report}");
    assert_eq!(report.exported, 0);
    // Three batches of ten, each sent exactly once.
    assert_eq!(batch.reporter().calls(), 3);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(batch.reporter().calls(), 3);
    assert_adds_up(&batch.stats());
}

#[test]
fn retry_after_is_honoured() {
    let batch = BatchRecorder::new(
        Fake::new(|n| {
            if n == 0 {
                Act::Retry(Some(Duration::from_millis(400)))
            } else {
                Act::Ok { invalid: 0 }
            }
        }),
        config(),
    )
    .unwrap();
    for _ in 0..10 {
        batch.record(template());
    }
    let report = batch.flush(Duration::from_secs(10));
    assert_eq!(report.exported, 10, "{report}");
    let times = batch.reporter().call_times();
    assert_eq!(times.len(), 2);
    let gap = times[1] - times[0];
    assert!(gap >= Duration::from_millis(400), "retried after {gap:?}");
}

#[test]
fn retry_budget_ends_in_retries_exhausted() {
    let batch = BatchRecorder::new(
        Fake::new(|_| Act::Retry(None)),
        BatchConfig {
            max_attempts: 3,
            ..config()
        },
    )
    .unwrap();
    for _ in 0..10 {
        batch.record(template());
    }
    let report = batch.flush(Duration::from_secs(10));
    assert_eq!(
        report.dropped.get(DropCause::RetriesExhausted),
        10,
        "{report}"
    );
    assert_eq!(batch.reporter().calls(), 3);

    // The time budget, too: a retry_after beyond it gives up at once.
    let batch = BatchRecorder::new(
        Fake::new(|_| Act::Retry(Some(Duration::from_secs(3600)))),
        BatchConfig {
            max_retry_elapsed: Duration::from_secs(5),
            ..config()
        },
    )
    .unwrap();
    for _ in 0..10 {
        batch.record(template());
    }
    let report = batch.flush(Duration::from_secs(10));
    assert_eq!(
        report.dropped.get(DropCause::RetriesExhausted),
        10,
        "{report}"
    );
    assert_eq!(batch.reporter().calls(), 1);
}

#[test]
fn a_hung_request_is_cancelled_at_the_request_timeout_and_retried() {
    let batch = BatchRecorder::new(
        Fake::new(|n| {
            if n == 0 {
                Act::Hang
            } else {
                Act::Ok { invalid: 0 }
            }
        }),
        BatchConfig {
            request_timeout: Duration::from_millis(150),
            ..config()
        },
    )
    .unwrap();
    for _ in 0..10 {
        batch.record(template());
    }
    assert!(wait_until(Duration::from_secs(10), || batch
        .reporter()
        .delivered()
        == 10));
    let times = batch.reporter().call_times();
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= Duration::from_millis(150));
    let report = batch.shutdown(Duration::from_secs(5));
    assert_eq!(report.exported, 10);
    assert_eq!(report.dropped.total(), 0);
}
