//! Logging is rate-limited: the first failure at warn, then at most one summary per period,
//! never a line per span or per batch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "export")]

mod export_support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use export_support::{template, Act, Fake};
use tracer_api::export::{BatchConfig, BatchRecorder};
use tracer_api::{DropCause, Recorder};

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("tracer_api") {
            self.0
                .lock()
                .unwrap()
                .push((record.level(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static LOGGER: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn failures_and_drops_are_summarised_not_logged_one_by_one() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let period = Duration::from_millis(400);
    let batch = BatchRecorder::new(
        Fake::new(|_| Act::Retry(None)),
        BatchConfig {
            max_queue_spans: 500,
            max_batch_spans: 10,
            max_in_flight: 4,
            max_attempts: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            batch_interval: Duration::from_millis(5),
            log_summary_interval: period,
            ..BatchConfig::default()
        },
    )
    .unwrap();
    let start = Instant::now();
    let template = template();
    while start.elapsed() < Duration::from_millis(1_500) {
        for _ in 0..1_000 {
            batch.record(template.clone());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let report = batch.shutdown(Duration::from_secs(5));
    let elapsed = start.elapsed();
    let calls = batch.reporter().calls();
    assert!(calls > 50, "only {calls} failed requests");
    assert!(
        report.dropped.get(DropCause::RetriesExhausted) > 0,
        "{report}"
    );
    assert!(report.dropped.get(DropCause::QueueFull) > 0, "{report}");

    let lines = LOGGER.0.lock().unwrap().clone();
    let warns: Vec<&String> = lines
        .iter()
        .filter(|(l, _)| *l <= log::Level::Warn)
        .map(|(_, m)| m)
        .collect();
    assert!(!warns.is_empty());
    assert!(
        warns
            .iter()
            .any(|m| m.starts_with("span export failed") && m.contains("503")),
        "the backend's error is never named: {warns:#?}"
    );
    // One first warning, one summary per period at most, and a final summary.
    let allowed = 2 + (elapsed.as_millis() / period.as_millis()) as usize + 1;
    assert!(
        warns.len() <= allowed,
        "{} warn lines for {calls} failures in {elapsed:?}: {warns:#?}",
        warns.len()
    );
    assert!(
        warns.iter().any(|m| m.contains("failed requests")),
        "no summary: {warns:#?}"
    );
}
