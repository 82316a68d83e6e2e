//! Sections 1 and 2: start + 2 tags + finish of a span, sampled (into each library's export
//! pipeline) and unsampled, for this workspace and its peers, interleaved round by round so
//! that changes in machine load hit every case alike.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    Sampler as OtelSampler, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor,
};
use tracer_api::export::{BatchConfig, BatchRecorder, Delivered, ReportError, Reporter};
use tracer_api::sampler::NeverSample;
use tracer_api::{Recorder, SpanRecord, Tracer};

use crate::alloc::thread_allocs;
use crate::util::{median, ratio, verdict, Table};
use crate::Options;

/// A reporter that accepts every batch and throws it away.
#[derive(Debug)]
pub(crate) struct DiscardReporter;

#[async_trait::async_trait]
impl Reporter for DiscardReporter {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        black_box(batch);
        Ok(Delivered::default())
    }
}

/// A recorder that drops what it gets: the cost of handing a record over, without a queue.
#[derive(Debug)]
struct DiscardRecorder;

impl Recorder for DiscardRecorder {
    fn record(&self, span: SpanRecord) {
        black_box(span);
    }
}

/// fastrace's null reporter.
struct FastraceNull;

impl fastrace::collector::Reporter for FastraceNull {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// An OpenTelemetry span processor that does nothing.
#[derive(Debug)]
struct OtelNoopProcessor;

impl SpanProcessor for OtelNoopProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        black_box(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// An OpenTelemetry exporter that discards every batch.
#[derive(Debug)]
struct OtelNullExporter;

impl SpanExporter for OtelNullExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

static RT_IDS: AtomicU64 = AtomicU64::new(1);

/// rustracing leaves span state to the caller (rustracing_jaeger makes random ids); a counter
/// is the cheapest state that still identifies spans.
#[derive(Clone, Debug)]
struct RtState {
    trace: u64,
    #[allow(dead_code)] // carried like a real tracer's state; nothing reads it here
    span: u64,
}

impl<'a> From<rustracing::span::CandidateSpan<'a, RtState>> for RtState {
    fn from(c: rustracing::span::CandidateSpan<'a, RtState>) -> RtState {
        let span = RT_IDS.fetch_add(1, Ordering::Relaxed);
        let trace = c.references().first().map_or(span, |r| r.span().trace);
        RtState { trace, span }
    }
}

type RtTracer<S> = rustracing::Tracer<S, RtState>;

/// Starts rustracing's tracer with a thread that drains (and drops) finished spans.
fn rustracing_tracer<S: rustracing::sampler::Sampler<RtState>>(sampler: S) -> RtTracer<S> {
    let (tracer, rx) = rustracing::Tracer::new(sampler);
    std::thread::spawn(move || while rx.recv().is_ok() {});
    tracer
}

/// One case: runs `n` iterations.
type Case<'a> = Box<dyn FnMut(u64) + 'a>;

struct Measured {
    name: &'static str,
    ns: f64,
    allocs: f64,
}

/// Runs every case `rounds` times, interleaved, `iters` iterations a time; returns the median
/// ns/op and the allocations per op on the calling thread.
fn run(cases: Vec<(&'static str, Case<'_>)>, iters: u64, rounds: usize) -> Vec<Measured> {
    let mut cases = cases;
    for (_, f) in cases.iter_mut() {
        f(iters / 10 + 1); // warm up
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut allocs = vec![0u64; cases.len()];
    for _ in 0..rounds {
        for ((_, f), (t, a)) in cases
            .iter_mut()
            .zip(times.iter_mut().zip(allocs.iter_mut()))
        {
            let a0 = thread_allocs();
            let t0 = Instant::now();
            f(iters);
            let elapsed = t0.elapsed();
            // Read before `push`, whose growth would be counted as the case's allocation.
            *a += thread_allocs() - a0;
            t.push(elapsed.as_nanos() as f64 / iters as f64);
        }
    }
    cases
        .iter()
        .zip(times.iter_mut().zip(allocs))
        .map(|((name, _), (t, a))| Measured {
            name,
            ns: median(t),
            allocs: a as f64 / (iters as f64 * rounds as f64),
        })
        .collect()
}

fn find(m: &[Measured], name: &str) -> f64 {
    m.iter().find(|x| x.name == name).map_or(f64::NAN, |x| x.ns)
}

const OURS_BATCH: &str = "ours: tracer-api -> BatchRecorder (discarding reporter)";
const OURS_DIRECT: &str = "ours: tracer-api -> discarding Recorder (no queue)";
const FASTRACE: &str = "fastrace: local span, null reporter";
const OTEL_NOOP: &str = "opentelemetry_sdk: no-op processor";
const OTEL_BATCH: &str = "opentelemetry_sdk: default batch processor (null exporter)";
const RUSTRACING: &str = "rustracing: channel drained by a thread";

/// Section 1: sampled child spans. Returns the markdown section.
pub(crate) fn sampled(opts: &Options) -> String {
    let batch = BatchRecorder::new(DiscardReporter, BatchConfig::default())
        .unwrap_or_else(|e| crate::fail(&format!("batch recorder: {e}")));
    let ours = Tracer::builder()
        .with_service_name("bench")
        .with_recorder(batch.clone())
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("tracer: {e}")));
    let ours_direct = Tracer::builder()
        .with_service_name("bench")
        .with_recorder(DiscardRecorder)
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("tracer: {e}")));
    let parent = ours.span("parent").start();
    let parent_direct = ours_direct.span("parent").start();

    fastrace::set_reporter(FastraceNull, fastrace::collector::Config::default());

    let otel_noop = SdkTracerProvider::builder()
        .with_span_processor(OtelNoopProcessor)
        .build();
    let otel_batch = SdkTracerProvider::builder()
        .with_batch_exporter(OtelNullExporter)
        .build();
    let otel_noop_tracer = otel_noop.tracer("bench");
    let otel_batch_tracer = otel_batch.tracer("bench");
    let otel_noop_cx = opentelemetry::Context::new().with_span(otel_noop_tracer.start("parent"));
    let otel_batch_cx = opentelemetry::Context::new().with_span(otel_batch_tracer.start("parent"));

    let rt = rustracing_tracer(rustracing::sampler::AllSampler);
    let rt_parent = rt.span("parent").start();

    let cases: Vec<(&'static str, Case<'_>)> = vec![
        (
            OURS_BATCH,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = ours.span("op").child_of(parent.context()).start();
                    s.set_tag("i", i).set_tag("method", "GET");
                    s.finish();
                }
            }),
        ),
        (
            OURS_DIRECT,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = ours_direct
                        .span("op")
                        .child_of(parent_direct.context())
                        .start();
                    s.set_tag("i", i).set_tag("method", "GET");
                    s.finish();
                }
            }),
        ),
        (
            FASTRACE,
            Box::new(|n| {
                // A root per 100 children keeps fastrace's per-trace buffers bounded; its cost
                // is included, spread over the children.
                let mut i = 0;
                while i < n {
                    let root =
                        fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                    let _guard = root.set_local_parent();
                    let end = (i + 100).min(n);
                    while i < end {
                        let _s = fastrace::local::LocalSpan::enter_with_local_parent("op")
                            .with_property(|| ("i", i.to_string()))
                            .with_property(|| ("method", "GET"));
                        i += 1;
                    }
                }
            }),
        ),
        (
            OTEL_NOOP,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = otel_noop_tracer.start_with_context("op", &otel_noop_cx);
                    s.set_attribute(opentelemetry::KeyValue::new("i", i as i64));
                    s.set_attribute(opentelemetry::KeyValue::new("method", "GET"));
                    s.end();
                }
            }),
        ),
        (
            OTEL_BATCH,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = otel_batch_tracer.start_with_context("op", &otel_batch_cx);
                    s.set_attribute(opentelemetry::KeyValue::new("i", i as i64));
                    s.set_attribute(opentelemetry::KeyValue::new("method", "GET"));
                    s.end();
                }
            }),
        ),
        (
            RUSTRACING,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = rt.span("op").child_of(&rt_parent).start();
                    s.set_tag(|| rustracing::tag::Tag::new("i", i as i64));
                    s.set_tag(|| rustracing::tag::Tag::new("method", "GET"));
                    drop(s);
                }
            }),
        ),
    ];
    let before = batch.stats();
    let m = run(cases, opts.hot_iters, opts.rounds);
    let after = batch.stats();
    let _ = otel_noop.shutdown();
    let _ = otel_batch.shutdown();
    fastrace::flush();

    let ours_ns = find(&m, OURS_BATCH);
    let fastrace_ns = find(&m, FASTRACE);
    let otel_noop_ns = find(&m, OTEL_NOOP);
    let otel_batch_ns = find(&m, OTEL_BATCH);
    let mut t = Table::new(&["case", "ns/op (median)", "allocs/op", "ours ÷ this"]);
    for x in &m {
        t.row(&[
            x.name.to_owned(),
            format!("{:.1}", x.ns),
            format!("{:.2}", x.allocs),
            ratio(ours_ns, x.ns),
        ]);
    }
    let recorded = after.recorded.saturating_sub(before.recorded);
    let dropped = after.dropped.total().saturating_sub(before.dropped.total());
    let mut targets = Table::new(&["target", "measured", "verdict"]);
    targets.row(&[
        "ours ÷ fastrace ≤ 1.0".to_owned(),
        ratio(ours_ns, fastrace_ns),
        verdict(ours_ns <= fastrace_ns),
    ]);
    targets.row(&[
        "ours ÷ opentelemetry_sdk (no-op processor) ≤ 0.5".to_owned(),
        ratio(ours_ns, otel_noop_ns),
        verdict(ours_ns <= 0.5 * otel_noop_ns),
    ]);
    targets.row(&[
        "ours ÷ opentelemetry_sdk (batch processor) ≤ 0.5".to_owned(),
        ratio(ours_ns, otel_batch_ns),
        verdict(ours_ns <= 0.5 * otel_batch_ns),
    ]);
    format!(
        "## 1. Hot path: start + 2 tags + finish of a sampled child span\n\n\
         {} rounds of {} iterations per case, interleaved; median of the rounds.\n\n{}\n\
         Our batch pipeline during the runs: {recorded} spans recorded, {dropped} dropped \
         (queue full) — {:.1} % of the timed spans took the cheaper drop path.\n\n{}\n",
        opts.rounds,
        opts.hot_iters,
        t.finish(),
        if recorded > 0 {
            dropped as f64 * 100.0 / recorded as f64
        } else {
            0.0
        },
        targets.finish()
    )
}

const OURS_UNSAMPLED_ROOT: &str = "ours: unsampled root (NeverSample)";
const OURS_UNSAMPLED_CHILD: &str = "ours: child of an unsampled parent";
const OURS_NOOP: &str = "ours: no-op tracer";

/// Section 2: unsampled spans. Returns the markdown section.
pub(crate) fn unsampled(opts: &Options) -> String {
    let never = Tracer::builder()
        .with_service_name("bench")
        .with_sampler(NeverSample)
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("tracer: {e}")));
    let noop = Tracer::noop();
    let parent = never.span("parent").start();

    let otel_off = SdkTracerProvider::builder()
        .with_sampler(OtelSampler::AlwaysOff)
        .with_span_processor(OtelNoopProcessor)
        .build();
    let otel_off_tracer = otel_off.tracer("bench");
    let rt = rustracing_tracer(rustracing::sampler::NullSampler);

    let cases: Vec<(&'static str, Case<'_>)> = vec![
        (
            OURS_UNSAMPLED_ROOT,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = never.span("op").start();
                    s.set_tag("i", i).set_tag("method", "GET");
                    s.finish();
                }
            }),
        ),
        (
            OURS_UNSAMPLED_CHILD,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = never.span("op").child_of(parent.context()).start();
                    s.set_tag("i", i).set_tag("method", "GET");
                    s.finish();
                }
            }),
        ),
        (
            OURS_NOOP,
            Box::new(|n| {
                for i in 0..n {
                    let mut s = noop.span("op").start();
                    s.set_tag("i", i).set_tag("method", "GET");
                    s.finish();
                }
            }),
        ),
        (
            "fastrace: local span without a parent (not collected)",
            Box::new(|n| {
                for i in 0..n {
                    let _s = fastrace::local::LocalSpan::enter_with_local_parent("op")
                        .with_property(|| ("i", i.to_string()))
                        .with_property(|| ("method", "GET"));
                }
            }),
        ),
        (
            "opentelemetry_sdk: AlwaysOff sampler",
            Box::new(|n| {
                for i in 0..n {
                    let mut s = otel_off_tracer.start("op");
                    s.set_attribute(opentelemetry::KeyValue::new("i", i as i64));
                    s.set_attribute(opentelemetry::KeyValue::new("method", "GET"));
                    s.end();
                }
            }),
        ),
        (
            "rustracing: NullSampler",
            Box::new(|n| {
                for i in 0..n {
                    let mut s = rt.span("op").start();
                    s.set_tag(|| rustracing::tag::Tag::new("i", i as i64));
                    s.set_tag(|| rustracing::tag::Tag::new("method", "GET"));
                    drop(s);
                }
            }),
        ),
    ];
    let m = run(cases, opts.hot_iters * 2, opts.rounds);
    let _ = otel_off.shutdown();

    let mut t = Table::new(&["case", "ns/op (median)", "allocs/op"]);
    for x in &m {
        t.row(&[
            x.name.to_owned(),
            format!("{:.1}", x.ns),
            format!("{:.2}", x.allocs),
        ]);
    }
    let mut targets = Table::new(&["target", "measured", "verdict"]);
    for name in [OURS_UNSAMPLED_ROOT, OURS_UNSAMPLED_CHILD, OURS_NOOP] {
        if let Some(x) = m.iter().find(|x| x.name == name) {
            targets.row(&[
                format!("{name}: < 15 ns and 0 allocations"),
                format!("{:.1} ns, {:.2} allocs", x.ns, x.allocs),
                verdict(x.ns < 15.0 && x.allocs == 0.0),
            ]);
        }
    }
    format!(
        "## 2. Unsampled spans: start + 2 tags + finish\n\n\
         Allocations are counted on the calling thread only.\n\n{}\n{}\n",
        t.finish(),
        targets.finish()
    )
}

/// Runs one of our cases `n` times with nothing else going on, for `perf` and
/// `valgrind --tool=callgrind` (`--profile CASE`).
pub(crate) fn profile(case: &str, n: u64) {
    let batch = BatchRecorder::new(DiscardReporter, BatchConfig::default())
        .unwrap_or_else(|e| crate::fail(&format!("batch recorder: {e}")));
    let build =
        |r: Option<Box<dyn FnOnce(tracer_api::TracerBuilder) -> tracer_api::TracerBuilder>>| {
            let b = Tracer::builder().with_service_name("bench");
            let b = match r {
                Some(f) => f(b),
                None => b,
            };
            b.build()
                .unwrap_or_else(|e| crate::fail(&format!("tracer: {e}")))
        };
    let tracer = match case {
        "sampled-batch" => build(Some(Box::new(move |b| b.with_recorder(batch)))),
        "sampled-direct" => build(Some(Box::new(|b| b.with_recorder(DiscardRecorder)))),
        "unsampled-root" | "unsampled-child" => {
            build(Some(Box::new(|b| b.with_sampler(NeverSample))))
        }
        "noop" => Tracer::noop(),
        other => crate::fail(&format!(
            "unknown profile case {other:?}: sampled-batch, sampled-direct, unsampled-root, \
             unsampled-child, noop"
        )),
    };
    let parent = tracer.span("parent").start();
    let child = case != "unsampled-root" && case != "noop";
    for i in 0..n {
        let b = tracer.span("op");
        let b = if child {
            b.child_of(parent.context())
        } else {
            b
        };
        let mut s = b.start();
        s.set_tag("i", i).set_tag("method", "GET");
        s.finish();
    }
    let _ = tracer.shutdown(Duration::from_secs(1));
}
