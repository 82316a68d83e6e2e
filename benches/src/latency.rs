//! Section 5: `record` latency of our Zipkin HTTP recorder (the `BatchRecorder` every
//! transport shares) with a healthy, a refusing and a hung sink. Records are cloned outside
//! the timed region and offered at 100 k spans/s in bursts of 100 per millisecond; each call
//! is timed with `Instant` (the timer's own cost is included).

use std::time::{Duration, Instant};

use recorder_zipkin::ZipkinRecorder;
use tracer_api::export::BatchConfig;
use tracer_api::{Recorder, SpanRecord};

use crate::sink::{refusing_url, Behaviour, Sink};
use crate::util::{percentile, thread_preemptions, verdict, Table};
use crate::Options;

const BURST: usize = 100;

struct Row {
    name: &'static str,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    over_2us: usize,
    /// The first call of each burst (after the ~1 ms pause): p50 and p90.
    first_p50: u64,
    first_p90: u64,
    /// The other calls: p99.9.
    warm_p999: u64,
    preempted: Option<u64>,
    outcome: String,
}

fn measure(name: &'static str, url: String, config: BatchConfig, samples: usize) -> Row {
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(url)
        .with_timeout(Duration::from_secs(2))
        .with_batch_config(config)
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("zipkin recorder: {e}")));
    let template = crate::encode::records(1, false)
        .pop()
        .unwrap_or_else(|| crate::fail("record"));
    let mut times = Vec::with_capacity(samples);
    let mut burst: Vec<SpanRecord> = Vec::with_capacity(BURST);
    let pre0 = thread_preemptions();
    let start = Instant::now();
    let mut done = 0usize;
    while done < samples {
        burst.extend((0..BURST).map(|_| template.clone()));
        for r in burst.drain(..) {
            let t = Instant::now();
            recorder.record(r);
            times.push(t.elapsed().as_nanos() as u64);
        }
        done += BURST;
        // Pace to 100 k/s.
        let due = start + Duration::from_micros((done / BURST) as u64 * 1000);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let preempted = match (pre0, thread_preemptions()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let report = recorder.shutdown(Duration::from_millis(500));
    let stats = recorder.stats();
    // The first call of a burst follows a sleep: its caches are cold. These calls are 1 % of
    // all, so they decide the overall p99.9; shown apart to tell that from the warm path.
    let mut first: Vec<u64> = times.iter().copied().step_by(BURST).collect();
    let mut warm: Vec<u64> = times
        .iter()
        .enumerate()
        .filter(|(i, _)| i % BURST != 0)
        .map(|(_, &t)| t)
        .collect();
    first.sort_unstable();
    warm.sort_unstable();
    times.sort_unstable();
    Row {
        first_p50: percentile(&first, 0.50),
        first_p90: percentile(&first, 0.90),
        warm_p999: percentile(&warm, 0.999),
        name,
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        p999: percentile(&times, 0.999),
        max: times.last().copied().unwrap_or(0),
        over_2us: times.len() - times.partition_point(|&t| t <= 2000),
        preempted,
        outcome: format!(
            "{} exported, {} dropped; shutdown: {report}",
            stats.exported,
            stats.dropped.total()
        ),
    }
}

/// Section 5. Returns the markdown section.
pub(crate) fn run(opts: &Options) -> String {
    let healthy = Sink::start(Behaviour::Answer(Duration::ZERO));
    let hung = Sink::start(Behaviour::Hang);
    let fast_retry = BatchConfig {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..BatchConfig::default()
    };
    let n = opts.latency_samples;
    let rows = [
        measure("healthy sink", healthy.url(), BatchConfig::default(), n),
        measure(
            "refusing sink (connection refused)",
            refusing_url(),
            fast_retry.clone(),
            n,
        ),
        measure(
            "hung sink (accepts, never answers)",
            hung.url(),
            fast_retry,
            n,
        ),
        // Diagnostic: batches only on the interval, so `record` never wakes the worker.
        measure(
            "healthy sink, size-triggered wake-ups off (diagnostic)",
            healthy.url(),
            BatchConfig {
                max_batch_spans: BatchConfig::default().max_queue_spans,
                batch_interval: Duration::from_millis(50),
                ..BatchConfig::default()
            },
            n,
        ),
    ];
    let mut t = Table::new(&[
        "sink",
        "p50 ns",
        "p99 ns",
        "p99.9 ns",
        "max ns",
        "calls > 2 µs",
        "first call after a pause p50 / p90 ns",
        "other calls p99.9 ns",
        "thread preempted",
    ]);
    let mut notes = String::new();
    for r in &rows {
        t.row(&[
            r.name.to_owned(),
            r.p50.to_string(),
            r.p99.to_string(),
            r.p999.to_string(),
            r.max.to_string(),
            r.over_2us.to_string(),
            format!("{} / {}", r.first_p50, r.first_p90),
            r.warm_p999.to_string(),
            r.preempted.map_or("-".to_owned(), |p| p.to_string()),
        ]);
        notes.push_str(&format!("- {}: {}\n", r.name, r.outcome));
    }
    let mut targets = Table::new(&["target", "measured", "verdict"]);
    for r in rows.iter().take(3) {
        targets.row(&[
            format!("{}: p99.9 < 2 µs", r.name),
            format!("{} ns", r.p999),
            verdict(r.p999 < 2000),
        ]);
    }
    format!(
        "## 5. `record` latency\n\n\
         {n} calls per sink at 100 k spans/s (bursts of {BURST} per ms); \"thread \
         preempted\" counts the recording thread's involuntary context switches during the \
         run. The first call of each burst comes after a sleep, with cold caches; those calls \
         are 1 % of all, so the overall p99.9 is about their p90.\n\n{}\n{}\n{}\n",
        t.finish(),
        notes,
        targets.finish()
    )
}
