//! Shared test helpers: a collector on loopback ports, a tracer pointed at it, a tiny HTTP/1.1
//! client, and polling with a deadline.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use collector_appdash::{Collector, CollectorBuilder, CollectorHandle};
use recorder_appdash::AppdashRecorder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracer_api::export::BatchConfig;
use tracer_api::Tracer;

/// Generous upper bound for anything to happen.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A builder on free loopback ports.
pub fn builder() -> CollectorBuilder {
    Collector::builder()
        .with_collector_addr(any_port())
        .with_http_addr(any_port())
}

pub async fn start() -> CollectorHandle {
    builder().start().await.unwrap()
}

/// A tracer sending to the collector, batching every 10 ms.
pub fn tracer_to(handle: &CollectorHandle) -> Tracer {
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(handle.collector_addr().to_string())
        .with_reconnect_backoff(Duration::from_millis(10), Duration::from_millis(100))
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(10),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    Tracer::builder()
        .with_service_name("test")
        .with_recorder(recorder)
        .build()
        .unwrap()
}

/// Delivers what the tracer has queued, off the runtime's threads.
pub async fn flush(tracer: &Tracer) {
    let t = tracer.clone();
    let report = tokio::task::spawn_blocking(move || t.flush(WAIT))
        .await
        .unwrap();
    assert_eq!(report.dropped.total(), 0, "{report}");
}

/// Polls `f` until it returns `Some`, or panics after [`WAIT`].
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A response of [`get`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `GET path` with optional extra header lines, over a fresh connection.
pub async fn get_with(addr: SocketAddr, path: &str, extra_headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in extra_headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("response within the deadline")
        .unwrap();
    parse_response(&raw)
}

pub async fn get(addr: SocketAddr, path: &str) -> Response {
    get_with(addr, path, &[]).await
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete header");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Response {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

/// The JSON of `/api/traces/{trace}` once it has `spans` spans.
pub async fn trace_with_spans(handle: &CollectorHandle, spans: usize) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = get(handle.http_addr(), "/api/traces").await.json();
        if let Some(t) = list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["span_count"] == spans)
        {
            let id = t["trace_id"].as_str().unwrap().to_owned();
            return get(handle.http_addr(), &format!("/api/traces/{id}"))
                .await
                .json();
        }
        assert!(
            Instant::now() < deadline,
            "no trace with {spans} spans arrived: {list}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The TLS test files (a CA, and a server certificate for `localhost` and 127.0.0.1).
pub fn tls_file(name: &str) -> String {
    format!("{}/tests/support/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// One frame for span `span` of trace `trace`, named `name`, lasting from `start_ms` to
/// `end_ms` milliseconds after 2023-11-14T22:13:20Z.
pub fn frame(
    trace: u64,
    span: u64,
    parent: u64,
    name: &str,
    start_ms: u64,
    end_ms: u64,
) -> Vec<u8> {
    use recorder_appdash::annotations::format_time;
    use recorder_appdash::wire::{encode_frame, Annotation, CollectPacket, WireSpanId};
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let packet = CollectPacket {
        span_id: WireSpanId {
            trace,
            span,
            parent,
        },
        annotations: vec![
            Annotation::new("Name", name),
            Annotation::marker("_schema:name"),
            Annotation::new(
                "Span.Start",
                format_time(t0 + Duration::from_millis(start_ms)),
            ),
            Annotation::new("Span.End", format_time(t0 + Duration::from_millis(end_ms))),
            Annotation::marker("_schema:Timespan"),
        ],
    };
    let mut out = Vec::new();
    encode_frame(&packet, &mut out).unwrap();
    out
}

/// Connects, writes `bytes`, and closes.
pub async fn send_and_close(addr: SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s.shutdown().await.unwrap();
    // Wait for the server to close its side, so the bytes are processed.
    let mut buf = [0u8; 16];
    let _ = tokio::time::timeout(WAIT, s.read(&mut buf)).await;
}

/// Waits until the server closes this connection (EOF or reset); panics after [`WAIT`].
pub async fn assert_closed_by_server(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("the collector sent {n} bytes"),
        Err(_) => panic!("the collector kept the connection open"),
    }
}
