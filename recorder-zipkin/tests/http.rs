//! The HTTP transport against a loopback collector.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use recorder_zipkin::{Encoding, ZipkinRecorder, ZipkinReporter};
use support::{decode_list, json_ids, records, Response, TestServer};
use tracer_api::export::{BatchConfig, Reporter};
use tracer_api::{DropCause, KeyValue, Recorder};

fn reporter(server: &TestServer, encoding: Encoding, gzip: bool) -> ZipkinReporter {
    ZipkinRecorder::builder()
        .with_endpoint(server.url())
        .with_encoding(encoding)
        .with_gzip(gzip)
        .with_header("Authorization", "Bearer t0ken")
        .with_timeout(Duration::from_secs(5))
        .build_reporter()
        .unwrap()
}

fn fast_config() -> BatchConfig {
    BatchConfig {
        batch_interval: Duration::from_millis(20),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..BatchConfig::default()
    }
}

#[tokio::test]
async fn json_body_and_headers() {
    let server = TestServer::start();
    let r = reporter(&server, Encoding::Json, false);
    let d = r.report(&records(3)).await.unwrap();
    assert_eq!(d.invalid, 0);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let q = &reqs[0];
    assert_eq!(
        (q.method.as_str(), q.path.as_str()),
        ("POST", "/api/v2/spans")
    );
    assert_eq!(q.header("content-type"), Some("application/json"));
    assert_eq!(q.header("b3"), Some("0"));
    assert_eq!(q.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(q.header("content-encoding"), None);
    assert_eq!(q.body.first(), Some(&b'['));
    assert_eq!(
        json_ids(&q.body),
        ["0000000000000001", "0000000000000002", "0000000000000003"]
    );
}

#[tokio::test]
async fn proto3_with_gzip() {
    let server = TestServer::start();
    let r = reporter(&server, Encoding::Proto3, true);
    r.report(&records(50)).await.unwrap();
    let q = &server.requests()[0];
    assert_eq!(q.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(q.header("content-encoding"), Some("gzip"));
    assert_eq!(q.raw_body[..2], [0x1f, 0x8b], "gzip magic");
    assert!(q.raw_body.len() < q.body.len());
    let spans = decode_list(&q.body);
    assert_eq!(spans.len(), 50);
    assert_eq!(spans[49].id_hex(), format!("{:016x}", 50));
}

#[tokio::test]
async fn status_400_is_permanent_with_zipkins_message() {
    let server = TestServer::start();
    server.script([Response::status(400).with_body("Expected a JSON_V2 encoded list\n")]);
    let r = reporter(&server, Encoding::Json, false);
    let err = r.report(&records(1)).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        err.message().contains("Expected a JSON_V2 encoded list"),
        "{err}"
    );
    assert!(!err.to_string().contains("t0ken"));
}

#[tokio::test]
async fn server_errors_and_429_are_retryable() {
    let server = TestServer::start();
    server.script([
        Response::status(503),
        Response::status(429).with_header("Retry-After", "3"),
        Response::status(500).with_body("storage down"),
    ]);
    let r = reporter(&server, Encoding::Json, false);
    let e = r.report(&records(1)).await.unwrap_err();
    assert!(e.is_retryable() && e.retry_after().is_none(), "{e}");
    let e = r.report(&records(1)).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    let e = r.report(&records(1)).await.unwrap_err();
    assert!(
        e.is_retryable() && e.message().contains("storage down"),
        "{e}"
    );
    r.report(&records(1)).await.unwrap();
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = ZipkinRecorder::builder()
        .with_endpoint(format!("http://user:secret@127.0.0.1:{port}/api/v2/spans"))
        .with_timeout(Duration::from_secs(2))
        .build_reporter()
        .unwrap();
    let e = r.report(&records(1)).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(!e.to_string().contains("secret"), "{e}");
}

#[tokio::test]
async fn invalid_spans_are_not_sent_and_counted() {
    let server = TestServer::start();
    let r = reporter(&server, Encoding::Json, false);
    let mut batch = records(3);
    batch[0].tags.push(KeyValue::new("", "x"));
    let d = r.report(&batch).await.unwrap();
    assert_eq!(d.invalid, 1);
    assert_eq!(
        json_ids(&server.requests()[0].body),
        ["0000000000000002", "0000000000000003"]
    );

    // A batch with only invalid spans sends nothing.
    let mut batch = records(1);
    batch[0].tags.push(KeyValue::new("", "x"));
    assert_eq!(r.report(&batch).await.unwrap().invalid, 1);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn pipeline_retries_5xx_then_delivers() {
    let server = TestServer::start();
    server.script([Response::status(503), Response::status(502)]);
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(server.url())
        .with_batch_config(fast_config())
        .build()
        .unwrap();
    for r in records(10) {
        recorder.record(r);
    }
    let report = recorder.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 10, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    let reqs = server.requests();
    assert!(reqs.len() >= 3, "{} requests", reqs.len());
    let delivered: Vec<String> = reqs[2..].iter().flat_map(|q| json_ids(&q.body)).collect();
    assert_eq!(delivered.len(), 10);
}

#[test]
fn pipeline_counts_400_as_rejected() {
    let server = TestServer::start();
    server.script([Response::status(400).with_body("Malformed reading List<Span> from json")]);
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(server.url())
        .with_batch_config(fast_config())
        .build()
        .unwrap();
    for r in records(4) {
        recorder.record(r);
    }
    let report = recorder.shutdown(Duration::from_secs(10));
    assert_eq!(report.dropped.get(DropCause::Rejected), 4, "{report}");
    assert_eq!(report.exported, 0, "{report}");
    assert_eq!(
        server.requests().len(),
        1,
        "a permanent error is not retried"
    );
}

#[test]
fn pipeline_counts_invalid_spans() {
    let server = TestServer::start();
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(server.url())
        .with_encoding(Encoding::Proto3)
        .with_batch_config(fast_config())
        .build()
        .unwrap();
    let mut batch = records(5);
    batch[2].start = std::time::SystemTime::UNIX_EPOCH - Duration::from_secs(1);
    for r in batch {
        recorder.record(r);
    }
    let report = recorder.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 4, "{report}");
    assert_eq!(report.dropped.get(DropCause::Invalid), 1, "{report}");
    let ids: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|q| decode_list(&q.body))
        .map(|s| s.id_hex())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(!ids.contains(&format!("{:016x}", 3)));
    let stats = recorder.stats();
    assert_eq!(stats.exported, 4);
    let _: Arc<dyn Recorder> = Arc::new(recorder);
}
