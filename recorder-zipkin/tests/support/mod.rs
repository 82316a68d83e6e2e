//! Test support: a loopback HTTP/1.1 server that records requests, a proto3 `ListOfSpans`
//! decoder, and span-record helpers.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations
)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tracer_api::{
    Baggage, KeyValue, LogRecord, Process, References, Sampling, SpanId, SpanRecord, TraceId,
};

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub raw_body: Vec<u8>,
    /// The body, gunzipped when `Content-Encoding: gzip`.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A canned response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn with_body(mut self, body: &str) -> Response {
        self.body = body.to_owned();
        self
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Request>,
    script: VecDeque<Response>,
}

/// A Zipkin-like collector on 127.0.0.1: answers 202 unless scripted otherwise. Runs on its
/// own thread and runtime, so tests may block while it serves.
pub struct TestServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sh = shared.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let Ok((sock, _)) = listener.accept().await else {
                        return;
                    };
                    let sh = sh.clone();
                    tokio::spawn(async move {
                        let _ = serve(sock, sh).await;
                    });
                }
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        TestServer { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}/api/v2/spans", self.addr)
    }

    /// Answers the next requests with these responses, in order, then 202 again.
    pub fn script(&self, responses: impl IntoIterator<Item = Response>) {
        self.shared.lock().unwrap().script.extend(responses);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().unwrap().requests.clone()
    }
}

async fn serve(sock: tokio::net::TcpStream, shared: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut raw_body = vec![0u8; len];
        rd.read_exact(&mut raw_body).await?;
        let gz = headers
            .iter()
            .any(|(k, v)| k == "content-encoding" && v.contains("gzip"));
        let body = if gz {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw_body.as_slice())
                .read_to_end(&mut out)
                .unwrap();
            out
        } else {
            raw_body.clone()
        };
        let resp = {
            let mut sh = shared.lock().unwrap();
            sh.requests.push(Request {
                method,
                path,
                headers,
                raw_body,
                body,
            });
            sh.script.pop_front().unwrap_or(Response::status(202))
        };
        let mut out = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            resp.status,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&resp.body);
        wr.write_all(out.as_bytes()).await?;
    }
}

// ---------------------------------------------------------------------------------------
// A small proto3 decoder for zipkin.proto3.ListOfSpans (test-only).

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PEndpoint {
    pub service_name: String,
    pub ipv4: Vec<u8>,
    pub ipv6: Vec<u8>,
    pub port: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PSpan {
    pub trace_id: Vec<u8>,
    pub parent_id: Vec<u8>,
    pub id: Vec<u8>,
    pub kind: u64,
    pub name: String,
    pub timestamp: u64,
    pub duration: u64,
    pub local_endpoint: Option<PEndpoint>,
    pub remote_endpoint: Option<PEndpoint>,
    pub annotations: Vec<(u64, String)>,
    pub tags: BTreeMap<String, String>,
    pub debug: bool,
    pub shared: bool,
}

impl PSpan {
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
    pub fn trace_id_hex(&self) -> String {
        self.trace_id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
        assert!(shift < 64, "varint too long");
    }
}

fn fields(buf: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos);
        let f = match key & 7 {
            0 => Field::Varint(varint(buf, &mut pos)),
            1 => {
                let v = u64::from_le_bytes(buf[pos..pos + 8].try_into().unwrap());
                pos += 8;
                Field::Fixed64(v)
            }
            2 => {
                let len = varint(buf, &mut pos) as usize;
                let b = &buf[pos..pos + len];
                pos += len;
                Field::Bytes(b)
            }
            t => panic!("unexpected wire type {t}"),
        };
        out.push((key >> 3, f));
    }
    out
}

fn string(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("valid UTF-8")
}

fn endpoint(b: &[u8]) -> PEndpoint {
    let mut e = PEndpoint::default();
    for (n, f) in fields(b) {
        match (n, f) {
            (1, Field::Bytes(b)) => e.service_name = string(b),
            (2, Field::Bytes(b)) => e.ipv4 = b.to_vec(),
            (3, Field::Bytes(b)) => e.ipv6 = b.to_vec(),
            (4, Field::Varint(v)) => e.port = v,
            (n, _) => panic!("unexpected endpoint field {n}"),
        }
    }
    e
}

pub fn decode_span(b: &[u8]) -> PSpan {
    let mut s = PSpan::default();
    for (n, f) in fields(b) {
        match (n, f) {
            (1, Field::Bytes(b)) => s.trace_id = b.to_vec(),
            (2, Field::Bytes(b)) => s.parent_id = b.to_vec(),
            (3, Field::Bytes(b)) => s.id = b.to_vec(),
            (4, Field::Varint(v)) => s.kind = v,
            (5, Field::Bytes(b)) => s.name = string(b),
            (6, Field::Fixed64(v)) => s.timestamp = v,
            (7, Field::Varint(v)) => s.duration = v,
            (8, Field::Bytes(b)) => s.local_endpoint = Some(endpoint(b)),
            (9, Field::Bytes(b)) => s.remote_endpoint = Some(endpoint(b)),
            (10, Field::Bytes(b)) => {
                let mut ts = 0;
                let mut value = String::new();
                for (n, f) in fields(b) {
                    match (n, f) {
                        (1, Field::Fixed64(v)) => ts = v,
                        (2, Field::Bytes(b)) => value = string(b),
                        (n, _) => panic!("unexpected annotation field {n}"),
                    }
                }
                s.annotations.push((ts, value));
            }
            (11, Field::Bytes(b)) => {
                let mut k = None;
                let mut v = None;
                for (n, f) in fields(b) {
                    match (n, f) {
                        (1, Field::Bytes(b)) => k = Some(string(b)),
                        (2, Field::Bytes(b)) => v = Some(string(b)),
                        (n, _) => panic!("unexpected tag field {n}"),
                    }
                }
                s.tags.insert(k.expect("tag key"), v.expect("tag value"));
            }
            (12, Field::Varint(v)) => s.debug = v == 1,
            (13, Field::Varint(v)) => s.shared = v == 1,
            (n, _) => panic!("unexpected span field {n}"),
        }
    }
    assert!(
        s.trace_id.len() == 8 || s.trace_id.len() == 16,
        "trace id length"
    );
    assert_eq!(s.id.len(), 8, "span id length");
    assert!(
        s.parent_id.is_empty() || s.parent_id.len() == 8,
        "parent id length"
    );
    s
}

/// Decodes a `ListOfSpans`.
pub fn decode_list(b: &[u8]) -> Vec<PSpan> {
    fields(b)
        .into_iter()
        .map(|(n, f)| match (n, f) {
            (1, Field::Bytes(b)) => decode_span(b),
            (n, _) => panic!("unexpected ListOfSpans field {n}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Records.

pub fn process(service: &'static str) -> Arc<Process> {
    Arc::new(Process {
        service_name: service.into(),
        ..Process::default()
    })
}

/// A plain sampled record with the given ids, starting at a fixed time.
pub fn record(trace: u128, id: u64, parent: Option<u64>) -> SpanRecord {
    SpanRecord {
        trace_id: TraceId::from_u128(trace).unwrap(),
        span_id: SpanId::from_u64(id).unwrap(),
        parent_id: parent.map(|p| SpanId::from_u64(p).unwrap()),
        references: References::new(),
        operation: "op".into(),
        start: SystemTime::UNIX_EPOCH + Duration::from_micros(1_472_470_996_199_000),
        duration: Duration::from_micros(207_000),
        tags: Vec::new(),
        logs: Vec::new(),
        baggage: Baggage::default(),
        sampling: Sampling::Accept,
        shared: false,
        process: process("svc"),
    }
}

pub fn log_at(micros: u64, fields: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        timestamp: SystemTime::UNIX_EPOCH + Duration::from_micros(micros),
        fields,
    }
}

/// Many records with ids 1..=n, some tags and a log.
pub fn records(n: u64) -> Vec<SpanRecord> {
    (1..=n)
        .map(|i| {
            let mut r = record(0xabc, i, if i > 1 { Some(1) } else { None });
            r.tags.push(KeyValue::new("i", i));
            r.tags.push(KeyValue::new("http.method", "GET"));
            r.logs.push(log_at(
                1_472_470_996_200_000,
                vec![KeyValue::new("event", "x")],
            ));
            r
        })
        .collect()
}

/// The span ids in a JSON list body.
pub fn json_ids(body: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}
