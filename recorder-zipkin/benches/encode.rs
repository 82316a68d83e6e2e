//! Encoding throughput: span records to Zipkin JSON and proto3, per core.
//!
//! `cargo bench -p recorder-zipkin --bench encode` prints spans/s and MB/s for each encoding,
//! for the whole path the reporters run (mapping, validation, encoding into a reused buffer)
//! and for the encoder alone on an already-mapped span. Targets: JSON >= 3 M spans/s,
//! proto3 >= 5 M spans/s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use recorder_zipkin::mapping::Mapper;
use recorder_zipkin::{json, proto, Encoding};
use tracer_api::{
    Baggage, Endpoint, KeyValue, LogRecord, Process, References, Sampling, SpanId, SpanRecord,
    TraceId,
};

fn records(n: u64) -> Vec<SpanRecord> {
    let process = Arc::new(Process {
        service_name: "frontend".into(),
        endpoint: Endpoint {
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ipv6: None,
            port: Some(8080),
        },
        tags: vec![KeyValue::new("hostname", "web-1")],
    });
    let start = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000);
    (1..=n)
        .map(|i| SpanRecord {
            trace_id: TraceId::from_parts(0x7180c278b62e8f6a, i).unwrap(),
            span_id: SpanId::from_u64(i * 7919).unwrap(),
            parent_id: SpanId::from_u64(i * 31),
            references: References::new(),
            operation: "GET /api/users".into(),
            start: start + Duration::from_micros(i),
            duration: Duration::from_micros(1234),
            tags: vec![
                KeyValue::new("span.kind", "client"),
                KeyValue::new("http.method", "GET"),
                KeyValue::new("http.url", "http://backend:9000/api/users?page=2"),
                KeyValue::new("http.status_code", 200u16),
                KeyValue::new("peer.service", "backend"),
                KeyValue::new("peer.port", 9000u16),
            ],
            logs: vec![LogRecord {
                timestamp: start + Duration::from_micros(i + 500),
                fields: vec![KeyValue::new("event", "cache-miss")],
            }],
            baggage: Baggage::default(),
            sampling: Sampling::Accept,
            shared: false,
            process: process.clone(),
        })
        .collect()
}

/// Nanoseconds this thread spent on a CPU (Linux), so that numbers stay per core when other
/// processes share the machine.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn measure(label: &str, spans_per_iter: usize, mut f: impl FnMut() -> usize) {
    // Warm up, then run for about two seconds.
    for _ in 0..3 {
        black_box(f());
    }
    let mut iters = 0u64;
    let mut bytes = 0u64;
    let cpu0 = thread_cpu_ns();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        bytes += f() as u64;
        iters += 1;
    }
    let wall = t.elapsed().as_secs_f64();
    // Per core: CPU time when the OS reports it, else wall time.
    let secs = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => wall,
    };
    let spans = iters as f64 * spans_per_iter as f64;
    println!(
        "{label:<34} {:>6.2} M spans/s {:>8.1} MB/s  ({:.0} bytes/span, {:.0} ns/span, on CPU {:.0} % of wall)",
        spans / secs / 1e6,
        bytes as f64 / secs / 1e6,
        bytes as f64 / spans,
        secs * 1e9 / spans,
        secs / wall * 100.0
    );
}

fn main() {
    let batch = records(512);
    let mut buf = Vec::with_capacity(1 << 20);
    for encoding in [Encoding::Json, Encoding::Proto3] {
        measure(
            &format!("records -> {encoding} (batch of 512)"),
            batch.len(),
            || {
                buf.clear();
                let e = encoding.encode_records(black_box(&batch), &mut buf);
                black_box(e.spans);
                buf.len()
            },
        );
    }
    // The encoders alone, on one mapped span written 512 times.
    let mut mapper = Mapper::new();
    let span = mapper.map(&batch[0]);
    measure("model -> json (encoder only)", 512, || {
        buf.clear();
        for _ in 0..512 {
            json::write_span(black_box(&span), &mut buf);
        }
        buf.len()
    });
    measure("model -> proto3 (encoder only)", 512, || {
        buf.clear();
        for _ in 0..512 {
            proto::write_span(black_box(&span), &mut buf);
        }
        buf.len()
    });
}
