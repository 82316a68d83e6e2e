//! Section 3: encoding throughput on one core (thread CPU time), for the whole path each
//! transport runs: Zipkin JSON and proto3 (map, validate, encode a batch of 512) and Appdash
//! frames (annotations and varint-delimited `CollectPacket`s).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use recorder_appdash::annotations::SpanEncoder;
use recorder_zipkin::Encoding;
use tracer_api::{
    Baggage, Endpoint, KeyValue, LogRecord, Process, References, Sampling, SpanId, SpanRecord,
    TraceId,
};

use crate::util::{thread_cpu_ns, verdict, Table};
use crate::Options;

/// `n` records of the typical shape (2 tags, as in the hot path) or the rich one (6 tags,
/// of which 3 map to Zipkin fields, and a log).
pub(crate) fn records(n: u64, rich: bool) -> Vec<SpanRecord> {
    let process = Arc::new(Process {
        service_name: "frontend".into(),
        endpoint: Endpoint {
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ipv6: None,
            port: Some(8080),
        },
        tags: Vec::new(),
    });
    let start = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000);
    (1..=n)
        .map(|i| {
            let mut tags = vec![
                KeyValue::new("http.method", "GET"),
                KeyValue::new("http.status_code", 200u16),
            ];
            let mut logs = Vec::new();
            if rich {
                tags.extend([
                    KeyValue::new("span.kind", "client"),
                    KeyValue::new("http.url", "http://backend:9000/api/users?page=2"),
                    KeyValue::new("peer.service", "backend"),
                    KeyValue::new("peer.port", 9000u16),
                ]);
                logs.push(LogRecord {
                    timestamp: start + Duration::from_micros(i + 500),
                    fields: vec![KeyValue::new("event", "cache-miss")],
                });
            }
            SpanRecord {
                trace_id: TraceId::from_parts(0x7180_c278_b62e_8f6a, i)
                    .unwrap_or_else(|| crate::fail("trace id")),
                span_id: SpanId::from_u64(i.wrapping_mul(7919) | 1)
                    .unwrap_or_else(|| crate::fail("span id")),
                parent_id: SpanId::from_u64(i.wrapping_mul(31) | 2),
                references: References::new(),
                operation: "GET /api/users".into(),
                start: start + Duration::from_micros(i),
                duration: Duration::from_micros(1234),
                tags,
                logs,
                baggage: Baggage::default(),
                sampling: Sampling::Accept,
                shared: false,
                process: process.clone(),
            }
        })
        .collect()
}

struct Rate {
    spans_per_s: f64,
    mb_per_s: f64,
    bytes_per_span: f64,
    cpu_share: f64,
}

/// Runs `f` (which encodes `spans` spans and returns the bytes written) for `secs`; rates are
/// per second of this thread's CPU time.
fn measure(secs: f64, spans: usize, mut f: impl FnMut() -> usize) -> Rate {
    for _ in 0..3 {
        black_box(f());
    }
    let cpu0 = thread_cpu_ns();
    let t = Instant::now();
    let (mut iters, mut bytes) = (0u64, 0u64);
    while t.elapsed().as_secs_f64() < secs {
        bytes += f() as u64;
        iters += 1;
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e9,
        _ => wall,
    };
    let n = iters as f64 * spans as f64;
    Rate {
        spans_per_s: n / cpu,
        mb_per_s: bytes as f64 / cpu / 1e6,
        bytes_per_span: bytes as f64 / n,
        cpu_share: cpu / wall,
    }
}

/// Section 3. Returns the markdown section.
pub(crate) fn run(opts: &Options) -> String {
    let mut t = Table::new(&[
        "encoding",
        "span shape",
        "M spans/s",
        "MB/s",
        "bytes/span",
        "on CPU % of wall",
    ]);
    let mut targets = Table::new(&["target (typical spans)", "measured", "verdict"]);
    let mut buf = Vec::with_capacity(1 << 20);
    for rich in [false, true] {
        let batch = records(512, rich);
        let shape = if rich {
            "rich (6 tags, 1 log)"
        } else {
            "typical (2 tags)"
        };
        let mut encoder = SpanEncoder::new();
        let cases: [(&str, f64); 3] = [
            ("Zipkin JSON", 3e6),
            ("Zipkin proto3", 5e6),
            ("Appdash frames", 5e6),
        ];
        for (name, target) in cases {
            let r = measure(opts.encode_secs, batch.len(), || {
                buf.clear();
                match name {
                    "Zipkin JSON" => {
                        black_box(Encoding::Json.encode_records(black_box(&batch), &mut buf));
                    }
                    "Zipkin proto3" => {
                        black_box(Encoding::Proto3.encode_records(black_box(&batch), &mut buf));
                    }
                    _ => {
                        for s in &batch {
                            encoder.encode(black_box(s), &mut buf);
                        }
                    }
                }
                buf.len()
            });
            t.row(&[
                name.to_owned(),
                shape.to_owned(),
                format!("{:.2}", r.spans_per_s / 1e6),
                format!("{:.0}", r.mb_per_s),
                format!("{:.0}", r.bytes_per_span),
                format!("{:.0}", r.cpu_share * 100.0),
            ]);
            if !rich {
                targets.row(&[
                    format!("{name} ≥ {} M spans/s", target / 1e6),
                    format!("{:.2} M spans/s", r.spans_per_s / 1e6),
                    verdict(r.spans_per_s >= target),
                ]);
            }
        }
    }
    format!(
        "## 3. Encoding on one core\n\n\
         Whole path per batch of 512 records (Zipkin: map, validate, encode into a reused \
         buffer; Appdash: annotations and frames). Rates are per second of the thread's CPU \
         time.\n\n{}\n{}\n",
        t.finish(),
        targets.finish()
    )
}

/// Encodes 512 typical records `n` times in one encoding (`--profile json|proto3|appdash`).
pub(crate) fn profile(case: &str, n: u64) -> bool {
    let batch = records(512, false);
    let mut buf = Vec::with_capacity(1 << 20);
    let mut encoder = SpanEncoder::new();
    for _ in 0..n {
        buf.clear();
        match case {
            "json" => {
                black_box(Encoding::Json.encode_records(&batch, &mut buf));
            }
            "proto3" => {
                black_box(Encoding::Proto3.encode_records(&batch, &mut buf));
            }
            "appdash" => {
                for s in &batch {
                    encoder.encode(s, &mut buf);
                }
            }
            _ => return false,
        }
        black_box(&buf);
    }
    true
}
