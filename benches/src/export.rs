//! Section 4: export under load. 100 k spans/s are offered for a fixed time to a loopback
//! sink that answers each request after 20 ms; what the sink received after shutdown gives
//! the dropped fraction, for our Zipkin HTTP recorder and for opentelemetry_sdk's default
//! batch processor with its Zipkin HTTP exporter.

use std::time::{Duration, Instant};

use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use recorder_zipkin::ZipkinRecorder;
use tracer_api::export::BatchConfig;
use tracer_api::{Recorder, Tracer};

use crate::sink::{Behaviour, Sink};
use crate::util::{verdict, Table};
use crate::Options;

const RATE: f64 = 100_000.0;
const SINK_DELAY: Duration = Duration::from_millis(20);

/// Calls `make` at `RATE` per second for `secs`; returns how many spans it made.
fn offer(secs: f64, mut make: impl FnMut(u64)) -> u64 {
    let start = Instant::now();
    let mut made = 0u64;
    loop {
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= secs {
            break;
        }
        let due = (elapsed * RATE) as u64;
        while made < due {
            make(made);
            made += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    made
}

struct Outcome {
    name: String,
    offered: u64,
    received: u64,
    requests: u64,
    note: String,
}

fn ours(secs: f64, name: &str, config: Option<BatchConfig>) -> Outcome {
    let sink = Sink::start(Behaviour::Answer(SINK_DELAY));
    let mut builder = ZipkinRecorder::builder().with_endpoint(sink.url());
    if let Some(config) = config {
        builder = builder.with_batch_config(config);
    }
    let recorder = builder
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("zipkin recorder: {e}")));
    let tracer = Tracer::builder()
        .with_service_name("bench")
        .with_recorder(recorder.clone())
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("tracer: {e}")));
    let parent = tracer.span("parent").start();
    let offered = offer(secs, |i| {
        let mut s = tracer
            .span("GET /api/users")
            .child_of(parent.context())
            .start();
        s.set_tag("i", i).set_tag("http.method", "GET");
        s.finish();
    });
    let t = Instant::now();
    let report = recorder.shutdown(Duration::from_secs(30));
    let stats = recorder.stats();
    Outcome {
        name: name.to_owned(),
        offered,
        received: sink.spans(),
        requests: sink
            .counts
            .requests
            .load(std::sync::atomic::Ordering::SeqCst),
        note: format!(
            "recorder stats: {} exported, {} dropped ({}); shutdown took {:.2} s",
            stats.exported,
            stats.dropped.total(),
            report,
            t.elapsed().as_secs_f64()
        ),
    }
}

// opentelemetry-zipkin is deprecated in favour of OTLP, but it speaks the same Zipkin JSON
// over HTTP as ours, so both pipelines hit the same sink with the same payload.
#[allow(deprecated)]
fn otel(secs: f64) -> Outcome {
    let sink = Sink::start(Behaviour::Answer(SINK_DELAY));
    let exporter = opentelemetry_zipkin::ZipkinExporter::builder()
        .with_collector_endpoint(sink.url())
        .build()
        .unwrap_or_else(|e| crate::fail(&format!("otel zipkin exporter: {e}")));
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("bench");
    let cx = opentelemetry::Context::new().with_span(tracer.start("parent"));
    let offered = offer(secs, |i| {
        let mut s = tracer.start_with_context("GET /api/users", &cx);
        s.set_attribute(opentelemetry::KeyValue::new("i", i as i64));
        s.set_attribute(opentelemetry::KeyValue::new("http.method", "GET"));
        s.end();
    });
    let t = Instant::now();
    let result = provider.shutdown();
    Outcome {
        name:
            "opentelemetry_sdk: default batch processor + opentelemetry-zipkin (blocking reqwest)"
                .to_owned(),
        offered,
        received: sink.spans(),
        requests: sink
            .counts
            .requests
            .load(std::sync::atomic::Ordering::SeqCst),
        note: format!(
            "shutdown: {result:?}, took {:.2} s",
            t.elapsed().as_secs_f64()
        ),
    }
}

/// Section 4. Returns the markdown section.
pub(crate) fn run(opts: &Options) -> String {
    let defaults = BatchConfig::default();
    let default_label = format!(
        "ours: recorder-zipkin HTTP (BatchRecorder defaults: {} in flight × {} spans)",
        defaults.max_in_flight, defaults.max_batch_spans
    );
    let half_label = format!(
        "ours, diagnostic: {} in flight (other settings default)",
        (defaults.max_in_flight / 2).max(1)
    );
    let rows = [
        ours(opts.export_secs, &default_label, None),
        otel(opts.export_secs),
        // Diagnostic: the ceiling is max_in_flight × max_batch_spans / round trip, so half the
        // default shows how close the default sits to the offered load.
        ours(
            opts.export_secs,
            &half_label,
            Some(BatchConfig {
                max_in_flight: (defaults.max_in_flight / 2).max(1),
                ..defaults
            }),
        ),
    ];
    let mut t = Table::new(&[
        "pipeline",
        "offered",
        "received by the sink",
        "requests",
        "dropped",
    ]);
    let mut notes = String::new();
    for r in &rows {
        let dropped = r.offered.saturating_sub(r.received) as f64 / r.offered.max(1) as f64;
        t.row(&[
            r.name.clone(),
            r.offered.to_string(),
            r.received.to_string(),
            r.requests.to_string(),
            format!("{:.1} %", dropped * 100.0),
        ]);
        notes.push_str(&format!("- {}: {}\n", r.name, r.note));
    }
    let ours_dropped = rows
        .first()
        .map_or(1, |r| r.offered.saturating_sub(r.received));
    let mut targets = Table::new(&["target", "measured", "verdict"]);
    targets.row(&[
        "nothing dropped by ours".to_owned(),
        format!("{ours_dropped} dropped"),
        verdict(ours_dropped == 0),
    ]);
    format!(
        "## 4. Export: {} k spans/s for {} s to a sink answering after {} ms\n\n\
         Both send Zipkin v2 JSON over HTTP/1.1 to the same kind of loopback sink; \
         \"received\" counts spans in answered requests after each pipeline's shutdown.\n\n\
         {}\n{}\n{}\n",
        RATE / 1000.0,
        opts.export_secs,
        SINK_DELAY.as_millis(),
        t.finish(),
        notes,
        targets.finish()
    )
}
