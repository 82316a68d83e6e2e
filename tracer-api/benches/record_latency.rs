//! `BatchRecorder::record` latency with a healthy, a failing (retryable errors) and a hung
//! reporter: each call is timed with `Instant` (the timer's own cost, measured first, is
//! included in every sample), over many samples; p50, p99, p99.9 and max are printed as a
//! table. Target: p99.9 under 2 µs in every case.
//!
//! Run: `cargo bench -p tracer-api --features export --bench record_latency`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracer_api::export::{BatchConfig, BatchRecorder, Delivered, ReportError, Reporter};
use tracer_api::{
    Baggage, KeyValue, Process, Recorder, References, Sampling, SpanId, SpanRecord, TraceId,
};

const SAMPLES: usize = 1_000_000;
const CHUNK: usize = 50_000;

struct Healthy;
struct Failing;
struct Hung;

#[async_trait::async_trait]
impl Reporter for Healthy {
    async fn report(&self, _batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        Ok(Delivered::default())
    }
}

#[async_trait::async_trait]
impl Reporter for Failing {
    async fn report(&self, _batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        Err(ReportError::retryable("connection refused"))
    }
}

#[async_trait::async_trait]
impl Reporter for Hung {
    async fn report(&self, _batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        std::future::pending().await
    }
}

fn span() -> SpanRecord {
    SpanRecord {
        trace_id: TraceId::from_u128(0xabc).unwrap(),
        span_id: SpanId::from_u64(7).unwrap(),
        parent_id: SpanId::from_u64(3),
        references: References::new(),
        operation: Cow::Borrowed("GET /home"),
        start: SystemTime::now(),
        duration: Duration::from_micros(120),
        tags: vec![
            KeyValue::new("span.kind", "server"),
            KeyValue::new("http.status_code", 200i64),
        ],
        logs: Vec::new(),
        baggage: Baggage::new(),
        sampling: Sampling::Accept,
        shared: false,
        process: Arc::new(Process::default()),
    }
}

struct Row {
    name: &'static str,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    report: String,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure<R: Reporter>(name: &'static str, reporter: R) -> Row {
    let config = BatchConfig {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(1),
        ..BatchConfig::default()
    };
    let batch = BatchRecorder::new(reporter, config).unwrap();
    let template = span();
    let mut samples = Vec::with_capacity(SAMPLES);
    // Clone records outside the timed region, a chunk at a time.
    let mut chunk: Vec<SpanRecord> = Vec::with_capacity(CHUNK);
    while samples.len() < SAMPLES {
        chunk.extend((0..CHUNK).map(|_| template.clone()));
        for record in chunk.drain(..) {
            let t = Instant::now();
            batch.record(record);
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    let report = batch.shutdown(Duration::from_millis(500));
    let stats = batch.stats();
    samples.sort_unstable();
    Row {
        name,
        p50: percentile(&samples, 0.50),
        p99: percentile(&samples, 0.99),
        p999: percentile(&samples, 0.999),
        max: *samples.last().unwrap_or(&0),
        report: format!(
            "{} exported, dropped {} (shutdown: {})",
            stats.exported, stats.dropped, report
        ),
    }
}

fn timer_cost() -> u64 {
    let mut v: Vec<u64> = (0..100_000)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    percentile(&v, 0.5)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let timer = timer_cost();
    let rows = [
        measure("healthy", Healthy),
        measure("failing (retryable)", Failing),
        measure("hung", Hung),
    ];
    println!("record() latency, {SAMPLES} calls each (timer cost ~{timer} ns included)");
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>11}  outcome",
        "reporter", "p50 ns", "p99 ns", "p99.9 ns", "max ns"
    );
    for r in &rows {
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>11}  {}",
            r.name, r.p50, r.p99, r.p999, r.max, r.report
        );
    }
    let worst = rows.iter().map(|r| r.p999).max().unwrap_or(0);
    println!(
        "target p99.9 < 2000 ns: {} (worst {worst} ns)",
        if worst < 2000 { "met" } else { "MISSED" }
    );
}
