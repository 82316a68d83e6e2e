#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `recorder-zipkin` over HTTP against a real Zipkin server: JSON and proto3, gzip on and off;
//! Zipkin stopped and started again; shutdown delivering 100 000 queued spans.
//!
//! One Zipkin serves every test of this binary (started on first use, or `$ZIPKIN_URL`);
//! tests are isolated by trace id, and the test that stops Zipkin takes exclusive access.

use std::time::Duration;

mod support;

use integration::scenario::record_traces;
use integration::Zipkin;
use recorder_zipkin::{Encoding, ZipkinRecorder};
use tracer_api::export::BatchConfig;
use tracer_api::{DropCause, Tracer};

fn zipkin() -> &'static Zipkin {
    Zipkin::shared_http().unwrap_or_else(|e| panic!("{e}"))
}

fn sample_over_http(encoding: Encoding, gzip: bool) {
    let zipkin = zipkin();
    let _access = zipkin.shared_access();
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(zipkin.spans_endpoint())
        .with_encoding(encoding)
        .with_gzip(gzip)
        .with_batch_config(support::prompt())
        .build()
        .unwrap();
    let (before, after) = support::sample_into_zipkin(
        zipkin,
        recorder,
        format!("it-http-{encoding:?}-gzip-{gzip}"),
        Duration::from_secs(30),
    );
    assert!(
        after.spans("http") >= before.spans("http") + 3,
        "Zipkin's HTTP collector counted {} spans before and {} after",
        before.spans("http"),
        after.spans("http")
    );
}

#[test]
fn json_over_http_arrives_intact() {
    sample_over_http(Encoding::Json, false);
}

#[test]
fn gzipped_json_over_http_arrives_intact() {
    sample_over_http(Encoding::Json, true);
}

#[test]
fn proto3_over_http_arrives_intact() {
    sample_over_http(Encoding::Proto3, false);
}

#[test]
fn gzipped_proto3_over_http_arrives_intact() {
    sample_over_http(Encoding::Proto3, true);
}

/// Spans recorded while Zipkin is down wait in the queue (up to its bound) and arrive once it
/// is back; what did not fit is counted as `queue_full`, exactly.
#[test]
fn spans_recorded_while_zipkin_is_down_arrive_and_drops_are_counted() {
    const QUEUE: usize = 2_000;
    const IN_FLIGHT: usize = 2;
    const BATCH: usize = 100;
    let zipkin = zipkin();
    let _exclusive = zipkin.exclusive();
    let config = BatchConfig {
        max_queue_spans: QUEUE,
        max_batch_spans: BATCH,
        max_in_flight: IN_FLIGHT,
        ..support::patient()
    };
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(zipkin.spans_endpoint())
        .with_encoding(Encoding::Proto3)
        .with_batch_config(config)
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("it-zipkin-restart")
        .with_recorder(recorder.clone())
        .build()
        .unwrap();

    // Up: delivered at once.
    record_traces(&tracer, "before", 1, 10);
    let report = tracer.flush(Duration::from_secs(30));
    assert_eq!((report.exported, report.pending), (10, 0), "{report}");

    zipkin.stop().unwrap();
    // Down: 3 000 spans for a queue of 2 000 (plus what the worker holds in flight).
    let down = record_traces(&tracer, "down", 6, 500);
    let while_down = recorder.stats();
    assert_eq!(while_down.exported, 10, "{while_down}");
    zipkin.start_again().unwrap();

    let report = tracer.flush(Duration::from_secs(120));
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.pending, 0, "{report}");
    let stats = recorder.stats();
    let dropped = stats.dropped.get(DropCause::QueueFull);
    assert_eq!(stats.recorded, 3_010, "{stats}");
    assert_eq!(
        stats.dropped.total(),
        dropped,
        "only queue overflow drops: {stats}"
    );
    assert_eq!(stats.exported + dropped, 3_010, "{stats}");
    let kept = 3_000 - dropped;
    eprintln!("Zipkin down: kept {kept} of 3000 spans, dropped {dropped}: {stats}");
    assert!(
        kept >= QUEUE as u64 && kept <= (QUEUE + IN_FLIGHT * BATCH) as u64,
        "kept {kept} spans for a queue of {QUEUE}: {stats}"
    );

    // The restarted Zipkin (in-memory storage) holds exactly the spans that were kept.
    let ids: Vec<String> = down.iter().map(|t| t.to_string()).collect();
    let arrived = integration::wait_until(
        &format!("Zipkin to hold the {kept} spans kept while it was down"),
        Duration::from_secs(60),
        || {
            let mut n = 0u64;
            for id in &ids {
                if let Some(spans) = zipkin.trace(id).map_err(|e| e.to_string())? {
                    n += spans.len() as u64;
                }
            }
            if n >= kept {
                Ok(n)
            } else {
                Err(format!("{n} spans so far"))
            }
        },
    )
    .unwrap();
    assert_eq!(
        arrived, kept,
        "Zipkin holds {arrived}, the recorder exported {kept}"
    );
    let report = tracer.shutdown(Duration::from_secs(10));
    assert_eq!(report.pending, 0, "{report}");
}

/// Shutdown with a deadline delivers everything queued: 100 000 spans recorded, 100 000 in
/// Zipkin.
#[test]
fn shutdown_delivers_100k_queued_spans() {
    const TRACES: usize = 100;
    const SPANS: usize = 1_000;
    let zipkin = zipkin();
    let _access = zipkin.shared_access();
    let config = BatchConfig {
        max_queue_spans: 131_072,
        max_queue_bytes: 256 * 1024 * 1024,
        max_batch_spans: 1_000,
        request_timeout: Duration::from_secs(30),
        ..BatchConfig::default()
    };
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(zipkin.spans_endpoint())
        .with_encoding(Encoding::Proto3)
        .with_batch_config(config)
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("it-shutdown-100k")
        .with_recorder(recorder.clone())
        .build()
        .unwrap();
    let before = zipkin.metrics().unwrap();

    let started = std::time::Instant::now();
    let ids = record_traces(&tracer, "bulk", TRACES, SPANS);
    let recorded = started.elapsed();
    let report = tracer.shutdown(Duration::from_secs(240));
    eprintln!(
        "100k spans: recorded in {recorded:?}, shutdown delivered them in {:?}: {report}",
        started.elapsed() - recorded
    );
    assert_eq!(report.exported, (TRACES * SPANS) as u64, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(report.pending, 0, "{report}");
    assert!(!report.timed_out, "{report}");
    assert_eq!(recorder.stats().recorded, (TRACES * SPANS) as u64);

    for id in &ids {
        let spans = zipkin
            .wait_for_trace(&id.to_string(), SPANS, Duration::from_secs(120))
            .unwrap();
        assert_eq!(spans.len(), SPANS, "trace {id}");
    }
    let after = zipkin.metrics().unwrap();
    assert!(
        after.spans("http") >= before.spans("http") + (TRACES * SPANS) as u64,
        "Zipkin counted {} HTTP spans before and {} after",
        before.spans("http"),
        after.spans("http")
    );
}
