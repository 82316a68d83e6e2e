//! Appdash frame encoding and decoding throughput, one core: spans per second for a typical
//! span (two tags) and a heavier one (six tags, two logs, baggage). Target: at least 5 M
//! typical spans/s encoded. Run with `cargo bench -p recorder-appdash`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use recorder_appdash::annotations::SpanEncoder;
use recorder_appdash::wire::FrameDecoder;
use tracer_api::{InMemoryRecorder, SpanRecord, Tracer};

fn spans(heavy: bool, n: usize) -> Vec<SpanRecord> {
    let copy = InMemoryRecorder::new();
    let tracer = Tracer::builder()
        .with_recorder(copy.clone())
        .build()
        .unwrap();
    let root = tracer.span("GET /home").start();
    for i in 0..n {
        let mut s = tracer.span("SELECT users").child_of(root.context()).start();
        s.set_tag("db.type", "sql");
        s.set_tag("http.status_code", 200 + (i % 5) as u64);
        if heavy {
            s.set_tag("component", "postgres");
            s.set_tag("peer.hostname", "db.internal");
            s.set_tag("ratio", 0.25);
            s.set_tag("error", false);
            s.log_event("query sent");
            s.set_baggage_item("tenant", "acme");
        }
    }
    drop(root);
    let mut all = copy.take();
    all.truncate(n);
    all
}

fn measure(name: &str, spans: usize, mut f: impl FnMut()) {
    // Warm up, then run for about a second.
    f();
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        f();
        rounds += 1;
    }
    let per_sec = (rounds * spans as u64) as f64 / start.elapsed().as_secs_f64();
    println!("{name:<34} {:>8.2} M spans/s", per_sec / 1e6);
}

fn main() {
    for heavy in [false, true] {
        let batch = spans(heavy, 1024);
        let kind = if heavy { "heavy" } else { "typical" };
        let mut out = Vec::with_capacity(1 << 20);
        let mut encoder = SpanEncoder::new();
        measure(&format!("encode ({kind})"), batch.len(), || {
            out.clear();
            for s in &batch {
                encoder.encode(black_box(s), &mut out);
            }
            black_box(&out);
        });
        println!("  {} bytes per span", out.len() / batch.len());
        let frames = out.clone();
        measure(&format!("decode ({kind})"), batch.len(), || {
            let mut d = FrameDecoder::new();
            d.push(black_box(&frames));
            let mut n = 0;
            while let Ok(Some(p)) = d.next_packet() {
                black_box(&p);
                n += 1;
            }
            assert_eq!(n, batch.len());
        });
    }
}
