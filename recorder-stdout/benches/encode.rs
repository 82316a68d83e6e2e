//! Rendering throughput per core: a batch of 512 spans with tags, a log and baggage, in both
//! formats, into a reused `String` (no I/O). Prints spans per second and bytes per span.
//! Run with `cargo bench -p recorder-stdout`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use recorder_stdout::Format;
use tracer_api::{
    Baggage, KeyValue, LogRecord, Process, Reference, ReferenceKind, Sampling, SpanId, SpanRecord,
    TraceId,
};

fn batch() -> Vec<SpanRecord> {
    let process = Arc::new(Process {
        service_name: Cow::Borrowed("frontend"),
        tags: vec![KeyValue::new("hostname", "web-1")],
        ..Process::default()
    });
    let trace_id = TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736).unwrap();
    let root = SpanId::from_u64(1).unwrap();
    let t0 = UNIX_EPOCH + Duration::from_secs(1_709_208_000);
    let mut baggage = Baggage::new();
    baggage.set("customer", "acme");
    (0..512u64)
        .map(|i| SpanRecord {
            trace_id,
            span_id: SpanId::from_u64(i + 2).unwrap(),
            parent_id: Some(root),
            references: vec![Reference {
                kind: ReferenceKind::ChildOf,
                trace_id,
                span_id: root,
            }]
            .into(),
            operation: Cow::Borrowed("GET /api/v1/users/{id}"),
            start: t0 + Duration::from_micros(i * 37),
            duration: Duration::from_micros(1_234 + i),
            tags: vec![
                KeyValue::new("span.kind", "client"),
                KeyValue::new("http.method", "GET"),
                KeyValue::new("http.status_code", 200i64),
                KeyValue::new("http.url", "https://users.internal/api/v1/users/42"),
            ],
            logs: vec![LogRecord {
                timestamp: t0 + Duration::from_micros(i * 37 + 100),
                fields: vec![
                    KeyValue::new("event", "retry"),
                    KeyValue::new("attempt", 2i64),
                ],
            }],
            baggage: baggage.clone(),
            sampling: Sampling::Accept,
            shared: false,
            process: Arc::clone(&process),
        })
        .collect()
}

fn measure(name: &str, format: Format, batch: &[SpanRecord]) {
    let mut out = String::new();
    // Warm up and size the buffer.
    for _ in 0..20 {
        out.clear();
        format.render(black_box(batch), false, &mut out);
    }
    let bytes_per_span = out.len() / batch.len();
    let mut rounds = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        out.clear();
        format.render(black_box(batch), false, &mut out);
        black_box(&out);
        rounds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let spans_per_sec = (rounds * batch.len() as u64) as f64 / secs;
    println!(
        "{name:<7} {:>6.2} M spans/s  {:>6.0} ns/span  {bytes_per_span} bytes/span",
        spans_per_sec / 1e6,
        1e9 / spans_per_sec
    );
}

fn main() {
    let batch = batch();
    measure("json", Format::Json, &batch);
    measure("pretty", Format::Pretty, &batch);
}
