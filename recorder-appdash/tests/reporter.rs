//! The reporter on its own, against the loopback collector: what it sends, lazy connect,
//! refused connects and backoff, and reconnecting after the collector went away.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use recorder_appdash::annotations::{span_annotations, wire_span_id, SpanEncoder, SERVICE_NAME};
use recorder_appdash::{AppdashRecorder, AppdashReporter};
use support::Collector;
use tracer_api::export::Reporter;
use tracer_api::{InMemoryRecorder, SpanRecord, Tracer};

const WAIT: Duration = Duration::from_secs(10);

/// `n` finished spans of one trace (a root and its children), with tags, logs and baggage.
fn spans(n: usize) -> Vec<SpanRecord> {
    let recorder = InMemoryRecorder::new();
    let tracer = Tracer::builder()
        .with_recorder(recorder.clone())
        .build()
        .unwrap();
    let mut root = tracer.span("root").start();
    root.set_baggage_item("tenant", "acme");
    for i in 1..n {
        let mut child = tracer
            .span(format!("child {i}"))
            .child_of(root.context())
            .start();
        child.set_tag("index", i as u64);
        child.log_event("working");
        child.finish();
    }
    root.finish();
    recorder.take()
}

fn reporter(addr: &str) -> AppdashReporter {
    AppdashRecorder::builder()
        .with_collector_addr(addr)
        .with_reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400))
        .build_reporter()
        .unwrap()
}

#[tokio::test]
async fn a_batch_arrives_as_one_packet_per_span_with_appdash_annotations() {
    let collector = Collector::start();
    let reporter = reporter(&collector.addr().to_string());
    let batch = spans(5);
    assert_eq!(collector.connections(), 0);
    let delivered = reporter.report(&batch).await.unwrap();
    assert_eq!(delivered.invalid, 0);
    assert!(collector.wait_for_spans(5, WAIT));
    let packets = collector.packets();
    assert_eq!(packets.len(), 5);
    for (span, packet) in batch.iter().zip(&packets) {
        assert_eq!(packet.span_id, wire_span_id(span));
        assert_eq!(packet.annotations, span_annotations(span));
    }
    let root = packets.iter().find(|p| p.span_id.parent == 0).unwrap();
    assert_eq!(root.annotations[0].value_str(), Some("root"));
    assert!(root
        .annotations
        .iter()
        .any(|a| a.key == "tenant" && a.value_str() == Some("acme")));
    let stats = reporter.stats();
    assert_eq!((stats.connects, stats.frames), (1, 5));
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}

#[tokio::test]
async fn the_builder_switch_turns_the_extra_annotations_off() {
    let collector = Collector::start();
    let addr = collector.addr().to_string();
    let batch = spans(2);
    let later = spans(2);
    let go = AppdashRecorder::builder()
        .with_collector_addr(&addr)
        .with_extra_annotations(false)
        .build_reporter()
        .unwrap();
    go.report(&batch).await.unwrap();
    assert!(collector.wait_for_spans(2, WAIT));
    reporter(&addr).report(&later).await.unwrap();
    assert!(collector.wait_for_spans(4, WAIT));
    let packets = collector.packets();
    let go_encoder = || SpanEncoder::new().with_extra_annotations(false);
    for (span, packet) in batch.iter().zip(&packets[..2]) {
        assert_eq!(packet.annotations, go_encoder().annotations(span));
        assert!(!packet.annotations.iter().any(|a| a.key == SERVICE_NAME));
    }
    for (span, packet) in later.iter().zip(&packets[2..]) {
        assert_eq!(packet.annotations, span_annotations(span));
        assert!(packet
            .annotations
            .iter()
            .any(|a| a.key == SERVICE_NAME && a.value_str() == Some("unknown_service")));
    }
    let child = packets[2..].iter().find(|p| p.span_id.parent != 0).unwrap();
    assert!(
        !child.annotations.iter().any(|a| a.key.starts_with("ref.")),
        "a child-of parent is carried by the ids alone"
    );
}

#[tokio::test]
async fn connects_lazily_and_reuses_the_connection() {
    let collector = Collector::start();
    let reporter = reporter(&collector.addr().to_string());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(collector.connections(), 0);
    for _ in 0..5 {
        reporter.report(&spans(2)).await.unwrap();
    }
    assert!(collector.wait_for_spans(10, WAIT));
    assert_eq!(collector.connections(), 1);
    assert_eq!(reporter.stats().connects, 1);
    // An empty batch sends nothing.
    reporter.report(&[]).await.unwrap();
    assert_eq!(reporter.stats().frames, 10);
}

#[tokio::test]
async fn a_refused_connect_is_retryable_and_backs_off() {
    // A port nothing listens on: bind one, note it, close it.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let reporter = reporter(&addr.to_string());
    let err = reporter.report(&spans(1)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains(&addr.to_string()), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_millis(50)));
    // Within the backoff: fails without trying to connect.
    let err = reporter.report(&spans(1)).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(reporter.stats().connect_failures, 1);
    // After it: tries again, and the backoff doubles.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let err = reporter.report(&spans(1)).await.unwrap_err();
    assert_eq!(reporter.stats().connect_failures, 2);
    assert_eq!(err.retry_after(), Some(Duration::from_millis(100)));
    // Once the collector is up, the next attempt after the backoff connects and resets it.
    let collector = Collector::start_on(addr);
    tokio::time::sleep(Duration::from_millis(110)).await;
    reporter.report(&spans(3)).await.unwrap();
    assert!(collector.wait_for_spans(3, WAIT));
    assert_eq!(reporter.stats().connects, 1);
}

#[tokio::test]
async fn reconnects_after_the_collector_restarts() {
    let collector = Collector::start();
    let addr = collector.addr();
    let reporter = reporter(&addr.to_string());
    let first = spans(3);
    reporter.report(&first).await.unwrap();
    assert!(collector.wait_for_spans(3, WAIT));
    collector.stop();

    // The collector is gone: the closed connection is noticed before writing, and the connect
    // is refused.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = spans(4);
    let err = reporter.report(&second).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");

    // Back on the same port: the retried batch goes to the new collector.
    let collector = Collector::start_on(addr);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match reporter.report(&second).await {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(e.retry_after().unwrap_or(Duration::from_millis(20))).await;
            }
            Err(e) => panic!("never reconnected: {e}"),
        }
    }
    assert!(collector.wait_for_spans(4, WAIT));
    let got = collector.span_ids();
    for s in &second {
        assert!(got.contains(&wire_span_id(s)));
    }
    assert_eq!(reporter.stats().connects, 2);
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}

#[tokio::test]
async fn shutdown_closes_the_connection_cleanly() {
    let collector = Collector::start();
    let reporter = reporter(&collector.addr().to_string());
    reporter.report(&spans(2)).await.unwrap();
    reporter.shutdown().await;
    assert!(collector.wait_for_spans(2, WAIT));
    // The server saw a clean end of stream at a frame boundary.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_never_interleave_frames() {
    let collector = Collector::start();
    let reporter = std::sync::Arc::new(reporter(&collector.addr().to_string()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let reporter = reporter.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                reporter.report(&spans(20)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(collector.wait_for_spans(8 * 10 * 20, WAIT));
    assert_eq!(collector.packets().len(), 8 * 10 * 20);
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}
