#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The examples app (the tutorial's web app, `examples::app`) with each backend: one `GET
//! /home` leaves the whole trace in that backend. The app runs in-process on a free port with
//! the recorder its binary would build for the backend, pointed at the shared peer:
//!
//! - Zipkin over HTTP, read back from `/api/v2/trace/{id}`;
//! - Zipkin through Kafka's `zipkin` topic, read back the same way and counted by the Kafka
//!   collector;
//! - Appdash, read back from `/traces/{id}/profile` and the trace page's tree;
//! - stdout, JSON lines written into a buffer.
//!
//! The Zipkin and stdout tests play a caller that propagates but does not report: they send
//! B3 headers with a trace id of their own (fresh in every run) and a caller span id, so the
//! app continues that trace, which they then look up by id. The Appdash test sends no context
//! (Appdash shows a trace whose root has a parent as a sub-span) and learns the id of the trace
//! the app started from a [`Tap`] on its recorder. The trace is the one
//! `examples/tests/trace_tree.rs` checks in memory: `/home` (server, child of the caller or the
//! root), `GET /service` (client) → `/service` → `GET /db` → `/db`, and `GET /async` (client,
//! follows from `/home`) → `/async` → `GET /db` → `/db`: nine spans, one trace id.
//!
//! The peers are started once per binary and shared; each test isolates itself by trace id.

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use examples::app::{self, App, Config};
use examples::backend::Backend;
use integration::{Appdash, AppdashSpan, Kafka, Zipkin};
use recorder_appdash::AppdashRecorder;
use recorder_stdout::{Format, StdoutRecorder};
use recorder_zipkin::ZipkinRecorder;
use serde_json::Value;
use tokio::net::TcpListener;
use tracer_api::export::{BatchConfig, BatchRecorder, Reporter};
use tracer_api::{ExportReport, Recorder, SpanId, SpanRecord, TraceId, Tracer};

/// The longest random sleep of the app's handlers: enough to give spans a duration, short
/// enough to keep the tests fast.
const MAX_SLEEP: Duration = Duration::from_millis(5);
/// Spans of one `/home` request.
const SPANS: usize = 9;
/// How long the app may take to record them all (the async branch included).
const RECORD_TIMEOUT: Duration = Duration::from_secs(20);
/// The deadline of the tracer's shutdown.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(60);
/// How long a backend may take to show the trace.
const QUERY_TIMEOUT: Duration = Duration::from_secs(90);

/// A random non-zero `u64` (std's hasher keys are random per process and per `RandomState`).
fn random_u64() -> u64 {
    loop {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        let v = h.finish();
        if v != 0 {
            return v;
        }
    }
}

/// The caller the test plays: it sends its context as B3 headers and reports nothing, so
/// `/home` is a child of a span no backend knows, in a trace whose id the test chose.
#[derive(Clone, Copy, Debug)]
struct Caller {
    trace_id: TraceId,
    span_id: SpanId,
}

impl Caller {
    /// A fresh caller; `wide` for a 128-bit trace id (what the app's binary uses for Zipkin),
    /// otherwise 64-bit (Appdash's ids are 64-bit).
    fn new(wide: bool) -> Caller {
        let high = if wide { random_u64() } else { 0 };
        Caller {
            trace_id: TraceId::from_parts(high, random_u64()).unwrap(),
            span_id: SpanId::from_u64(random_u64()).unwrap(),
        }
    }

    /// The B3 multi-header context, sampled.
    fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-b3-traceid", self.trace_id.to_string()),
            ("x-b3-spanid", self.span_id.to_string()),
            ("x-b3-sampled", "1".to_owned()),
        ]
    }
}

/// The tracer the app's binary builds for `backend` (loopback endpoint, 64-bit trace ids for
/// Appdash), with `recorder`.
fn tracer(backend: Backend, recorder: impl Recorder + 'static) -> Tracer {
    assert!(backend.is_compiled(), "{backend} is not compiled in");
    Tracer::builder()
        .with_service_name(format!("examples-it-{backend}"))
        .with_ipv4(Ipv4Addr::LOCALHOST)
        .with_128bit_trace_ids(backend != Backend::Appdash)
        .with_recorder(recorder)
        .build()
        .unwrap()
}

/// A recorder that notes the trace id of every span it is handed and passes the span on: how
/// a test learns the id of a trace the app started itself.
struct Tap<R: Reporter> {
    inner: BatchRecorder<R>,
    traces: Arc<Mutex<Vec<TraceId>>>,
}

impl<R: Reporter> Clone for Tap<R> {
    fn clone(&self) -> Self {
        Tap {
            inner: self.inner.clone(),
            traces: Arc::clone(&self.traces),
        }
    }
}

impl<R: Reporter> Tap<R> {
    fn new(inner: &BatchRecorder<R>) -> Tap<R> {
        Tap {
            inner: inner.clone(),
            traces: Arc::default(),
        }
    }

    /// The one trace id of every span seen.
    fn only_trace(&self) -> TraceId {
        let traces = self.traces.lock().unwrap().clone();
        assert_eq!(traces.len(), SPANS, "{traces:?}");
        assert!(traces.iter().all(|t| *t == traces[0]), "{traces:?}");
        traces[0]
    }
}

impl<R: Reporter> Recorder for Tap<R> {
    fn record(&self, span: SpanRecord) {
        self.traces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(span.trace_id);
        self.inner.record(span);
    }

    fn flush(&self, timeout: Duration) -> ExportReport {
        self.inner.flush(timeout)
    }

    fn shutdown(&self, timeout: Duration) -> ExportReport {
        self.inner.shutdown(timeout)
    }
}

/// Short batches, so spans leave soon after they finish.
fn batch_config() -> BatchConfig {
    BatchConfig {
        batch_interval: Duration::from_millis(50),
        ..BatchConfig::default()
    }
}

/// Serves the app with `tracer` on a free port, sends one `GET /home` (as `caller` if there is
/// one, otherwise without any context, as the tutorial's browser does), waits until
/// `recorder` has been handed all nine spans (the `/async` branch runs in the background and
/// may outlive `/home`'s answer), stops the app and shuts the tracer down with a deadline.
fn serve_one_home<R: Reporter>(
    tracer: &Tracer,
    recorder: &BatchRecorder<R>,
    caller: Option<&Caller>,
) -> ExportReport {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let config = Config::for_listener(&listener)
            .unwrap()
            .with_max_sleep(MAX_SLEEP);
        let home = format!("{}/home", config.base_url);
        let app = App::new(tracer.clone(), config).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app::serve(listener, app, async {
            let _ = stopped.await;
        }));

        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.get(&home).timeout(Duration::from_secs(30));
        for (name, value) in caller.iter().flat_map(|c| c.headers()) {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.text().await.unwrap(),
            "Request started\nRequest done!\n"
        );

        let started = Instant::now();
        while recorder.stats().recorded < SPANS as u64 {
            assert!(
                started.elapsed() < RECORD_TIMEOUT,
                "the app recorded {} of {SPANS} spans within {RECORD_TIMEOUT:?}",
                recorder.stats()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the app stops within 10 s")
            .unwrap()
            .unwrap();
    });
    drop(runtime);

    let report = tracer.shutdown(SHUTDOWN_DEADLINE);
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(report.exported, SPANS as u64, "{report}");
    assert_eq!(recorder.stats().recorded, SPANS as u64, "nothing more");
    report
}

/// A span as a backend shows it, reduced to what the tree check needs. Names and kinds are
/// lower-cased (Zipkin lower-cases names and upper-cases kinds).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    trace: String,
    id: String,
    parent: Option<String>,
    name: String,
    kind: String,
    status: Option<String>,
    url: Option<String>,
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}) parent {:?} status {:?}",
            self.id, self.name, self.kind, self.parent, self.status
        )
    }
}

/// The spans of the tree, by role, once [`check_tree`] found them.
#[derive(Debug)]
struct Tree<'a> {
    home: &'a Seen,
    call_async: &'a Seen,
}

/// Checks the nine spans of one `/home` request as any backend shows them: one trace id,
/// nine distinct ids, the names and kinds of the five server and four client spans, every
/// parent link (`/home`'s is the caller's span, or none without a caller),
/// `http.status_code` 200 and the URL path on every span.
fn check_tree<'a>(spans: &'a [Seen], caller: Option<&Caller>, trace_hex: &str) -> Tree<'a> {
    let all = || spans.iter().map(|s| format!("\n  {s}")).collect::<String>();
    assert_eq!(spans.len(), SPANS, "spans:{}", all());
    for s in spans {
        assert_eq!(s.trace, trace_hex, "trace id of {s}; spans:{}", all());
        assert_eq!(s.status.as_deref(), Some("200"), "{s}");
    }
    let mut ids: Vec<&str> = spans.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), SPANS, "span ids are distinct; spans:{}", all());

    let find = |name: &str, kind: &str| -> Vec<&'a Seen> {
        spans
            .iter()
            .filter(|s| s.name == name && s.kind == kind)
            .collect()
    };
    let only = |name: &str, kind: &str| -> &'a Seen {
        let found = find(name, kind);
        assert_eq!(found.len(), 1, "one {name} ({kind}); spans:{}", all());
        found[0]
    };
    let child_of = |child: &Seen, parent: &Seen| {
        assert_eq!(
            child.parent.as_deref(),
            Some(parent.id.as_str()),
            "{child} should be a child of {parent}; spans:{}",
            all()
        );
    };
    let path_is = |s: &Seen, path: &str| {
        let url = s.url.as_deref().unwrap_or_default();
        assert!(
            url.ends_with(path),
            "{s}: http.url {url:?} ends with {path}"
        );
    };

    let home = only("/home", "server");
    assert_eq!(
        home.parent,
        caller.map(|c| c.span_id.to_string()),
        "/home continues the caller's context, or is the root; spans:{}",
        all()
    );
    path_is(home, "/home");

    let call_service = only("get /service", "client");
    child_of(call_service, home);
    path_is(call_service, "/service");
    let service = only("/service", "server");
    child_of(service, call_service);
    path_is(service, "/service");

    let call_async = only("get /async", "client");
    child_of(call_async, home);
    path_is(call_async, "/async");
    let async_work = only("/async", "server");
    child_of(async_work, call_async);
    path_is(async_work, "/async");

    let db_calls = find("get /db", "client");
    let dbs = find("/db", "server");
    assert_eq!((db_calls.len(), dbs.len()), (2, 2), "spans:{}", all());
    for caller_span in [service, async_work] {
        let calls: Vec<_> = db_calls
            .iter()
            .filter(|c| c.parent.as_deref() == Some(caller_span.id.as_str()))
            .collect();
        assert_eq!(
            calls.len(),
            1,
            "one GET /db under {caller_span}; spans:{}",
            all()
        );
        path_is(calls[0], "/db");
        let served: Vec<_> = dbs
            .iter()
            .filter(|d| d.parent.as_deref() == Some(calls[0].id.as_str()))
            .collect();
        assert_eq!(
            served.len(),
            1,
            "one /db under {}; spans:{}",
            calls[0],
            all()
        );
        path_is(served[0], "/db");
    }
    Tree { home, call_async }
}

/// A JSON value as a string: strings as they are, numbers and booleans printed.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Zipkin's v2 JSON spans as [`Seen`], after checking what every span must have there: the
/// service name (lower-cased), a timestamp and a duration, and no `span.kind` tag left over.
fn zipkin_seen(spans: &[Value], service: &str) -> Vec<Seen> {
    spans
        .iter()
        .map(|span| {
            let str_at = |k: &str| text(span.get(k));
            assert_eq!(
                span.get("localEndpoint")
                    .and_then(|e| text(e.get("serviceName"))),
                Some(service.to_lowercase()),
                "{span}"
            );
            assert!(
                span.get("timestamp").and_then(Value::as_i64).unwrap_or(0) > 0,
                "{span}"
            );
            assert!(
                span.get("duration").and_then(Value::as_i64).unwrap_or(0) > 0,
                "{span}"
            );
            let tags = span.get("tags");
            let tag = |k: &str| tags.and_then(|t| text(t.get(k)));
            assert_eq!(tag("span.kind"), None, "mapped to kind: {span}");
            assert_eq!(tag("error"), None, "{span}");
            assert_eq!(tag("http.method").as_deref(), Some("GET"), "{span}");
            Seen {
                trace: str_at("traceId").unwrap_or_default(),
                id: str_at("id").unwrap_or_default(),
                parent: str_at("parentId"),
                name: str_at("name").unwrap_or_default(),
                kind: str_at("kind").unwrap_or_default().to_lowercase(),
                status: tag("http.status_code"),
                url: tag("http.url"),
            }
        })
        .collect()
}

/// Reads the trace back from Zipkin and checks it: the tree, the kinds as Zipkin names them
/// (`SERVER`, `CLIENT`), the names lower-cased, the service, one trace id.
fn check_zipkin(zipkin: &Zipkin, caller: &Caller, service: &str) {
    let trace_hex = caller.trace_id.to_string();
    assert_eq!(trace_hex.len(), 32, "a 128-bit trace id: {trace_hex}");
    let found = zipkin
        .wait_for_trace(&trace_hex, SPANS, QUERY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    for span in &found {
        let kind = span.get("kind").and_then(Value::as_str);
        assert!(
            matches!(kind, Some("SERVER" | "CLIENT")),
            "kind {kind:?}: {span}"
        );
        let name = span.get("name").and_then(Value::as_str).unwrap_or_default();
        assert_eq!(name, name.to_lowercase(), "Zipkin lower-cases names");
    }
    let seen = zipkin_seen(&found, service);
    let tree = check_tree(&seen, Some(caller), &trace_hex);
    // The async call is Zipkin's child of /home (Zipkin has only parents); it started after
    // /home did.
    let ts = |s: &Seen| {
        found
            .iter()
            .find(|v| v.get("id").and_then(Value::as_str) == Some(s.id.as_str()))
            .and_then(|v| v.get("timestamp").and_then(Value::as_i64))
            .unwrap_or(0)
    };
    assert!(ts(tree.call_async) >= ts(tree.home), "{found:?}");
}

/// Zipkin over HTTP: the recorder the binary builds for `--backend zipkin`, sending to the
/// shared Zipkin's `/api/v2/spans`.
#[test]
fn zipkin_over_http_holds_the_whole_trace() {
    let zipkin = Zipkin::shared_http().unwrap_or_else(|e| panic!("{e}"));
    let _access = zipkin.shared_access();
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(zipkin.spans_endpoint())
        .with_batch_config(batch_config())
        .build()
        .unwrap();
    let tracer = tracer(Backend::Zipkin, recorder.clone());
    let caller = Caller::new(true);

    serve_one_home(&tracer, &recorder, Some(&caller));
    check_zipkin(zipkin, &caller, &tracer.process().service_name);
}

/// Zipkin through Kafka: the recorder the binary builds for `--backend kafka`, producing to the
/// shared broker's `zipkin` topic, which the shared Zipkin reads.
#[test]
fn zipkin_over_kafka_holds_the_whole_trace() {
    let zipkin = Zipkin::shared_with_kafka().unwrap_or_else(|e| panic!("{e}"));
    let kafka = Kafka::shared().unwrap_or_else(|e| panic!("{e}"));
    // Kafka first, then Zipkin, as the other Kafka tests take them.
    let _k = kafka.shared_access();
    let _z = zipkin.shared_access();
    let recorder = ZipkinRecorder::builder()
        .with_kafka_brokers(kafka.bootstrap_servers())
        .with_batch_config(batch_config())
        .build()
        .unwrap();
    let tracer = tracer(Backend::Kafka, recorder.clone());
    let caller = Caller::new(true);
    let before = zipkin.metrics().unwrap();

    serve_one_home(&tracer, &recorder, Some(&caller));
    check_zipkin(zipkin, &caller, &tracer.process().service_name);

    // The spans came through the Kafka collector.
    let after = zipkin.metrics().unwrap();
    assert!(
        after.spans("kafka") >= before.spans("kafka") + SPANS as u64,
        "Kafka transport spans: {} before, {} after",
        before.spans("kafka"),
        after.spans("kafka")
    );
    assert_eq!(after.spans_dropped("kafka"), before.spans_dropped("kafka"));
}

/// Appdash's trace page tree as [`Seen`] (pre-order), checking on the way that every span
/// sits under the span its parent id names.
fn appdash_seen(node: &AppdashSpan, out: &mut Vec<Seen>) {
    for child in &node.children {
        assert_eq!(
            child.parent,
            node.span,
            "span {} ({:?}) is shown under {} ({:?})",
            child.span,
            child.name(),
            node.span,
            node.name()
        );
    }
    out.push(Seen {
        trace: node.trace.clone(),
        id: node.span.clone(),
        parent: Some(node.parent.clone()).filter(|p| p != "0000000000000000"),
        name: node.name().unwrap_or_default().to_lowercase(),
        kind: node.annotation("span.kind").unwrap_or_default().to_owned(),
        status: node.annotation("http.status_code").map(str::to_owned),
        url: node.annotation("http.url").map(str::to_owned),
    });
    for child in &node.children {
        appdash_seen(child, out);
    }
}

/// Appdash: the recorder the binary builds for `--backend appdash` with `APPDASH_COLLECTOR`
/// set, sending to the shared Appdash's collector. The request comes without any context, as
/// from the tutorial's browser, so `/home` is the root (Appdash shows a trace whose root has a
/// parent as a sub-span, without its JSON export); a [`Tap`] tells the test the trace id. The
/// profile lists the nine spans, `/home` first; the trace page holds them in the right tree.
#[test]
fn appdash_holds_the_whole_trace() {
    let appdash = Appdash::shared().unwrap_or_else(|e| panic!("{e}"));
    let _access = appdash.shared_access();
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(appdash.collector_addr())
        .with_batch_config(batch_config())
        .build()
        .unwrap();
    let tap = Tap::new(&recorder);
    let tracer = tracer(Backend::Appdash, tap.clone());

    serve_one_home(&tracer, &recorder, None);
    let trace_id = tap.only_trace();
    assert!(!trace_id.is_128bit(), "Appdash gets 64-bit trace ids");
    let trace = trace_id.low();

    let profile = appdash
        .wait_for_profile(trace, SPANS, QUERY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = profile.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(profile.len(), SPANS, "{profile:?}");
    assert_eq!(names.first(), Some(&"/home"), "the root first: {names:?}");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &names {
        *counts.entry(name).or_default() += 1;
    }
    let want: BTreeMap<&str, usize> = [
        ("/home", 1),
        ("GET /service", 1),
        ("/service", 1),
        ("GET /async", 1),
        ("/async", 1),
        ("GET /db", 2),
        ("/db", 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, want, "{profile:?}");
    let trace_hex = format!("{trace:016x}");
    for entry in &profile {
        assert!(entry.url.contains(&trace_hex), "{entry:?}");
        assert!(entry.time_cum >= 0.0, "{entry:?}");
    }

    let root = appdash
        .trace_page(trace)
        .unwrap()
        .expect("the trace page after the profile listed the trace");
    let mut seen = Vec::new();
    appdash_seen(&root, &mut seen);
    let tree = check_tree(&seen, None, &trace_hex);
    assert_eq!(root.span, tree.home.id, "/home is the root of the page");
    for s in &seen {
        let node = find_appdash(&root, &s.id).unwrap();
        assert!(
            node.annotation("Span.Start").is_some() && node.annotation("Span.End").is_some(),
            "{s} has a timespan: {:?}",
            node.annotations
        );
    }
    // The async call says it follows from /home.
    let call_async = find_appdash(&root, &tree.call_async.id).unwrap();
    assert!(
        call_async
            .annotations_of("ref.follows_from")
            .any(|v| v == tree.home.id),
        "GET /async follows from /home: {:?}",
        call_async.annotations
    );
}

fn find_appdash<'a>(node: &'a AppdashSpan, id: &str) -> Option<&'a AppdashSpan> {
    if node.span == id {
        return Some(node);
    }
    node.children.iter().find_map(|c| find_appdash(c, id))
}

/// A shared in-memory sink for the stdout recorder.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// stdout: the recorder the binary builds for `--backend stdout` (JSON lines), writing into a
/// buffer: nine lines, one trace id, the tree, and `GET /async`'s follows-from reference.
#[test]
fn stdout_prints_the_whole_trace() {
    let out = Buffer::default();
    let recorder = StdoutRecorder::builder()
        .with_format(Format::Json)
        .with_writer(out.clone())
        .with_batch_config(batch_config())
        .build()
        .unwrap();
    let tracer = tracer(Backend::Stdout, recorder.clone());
    let caller = Caller::new(false);

    serve_one_home(&tracer, &recorder, Some(&caller));

    let text_out = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), SPANS, "{text_out}");
    let service = tracer.process().service_name.to_string();
    let seen: Vec<Seen> = lines
        .iter()
        .map(|l| {
            assert_eq!(text(l.get("service")), Some(service.clone()), "{l}");
            assert_eq!(l.get("sampled"), Some(&Value::Bool(true)), "{l}");
            let tag = |k: &str| l.get("tags").and_then(|t| text(t.get(k)));
            assert_eq!(tag("error"), None, "{l}");
            Seen {
                trace: text(l.get("trace_id")).unwrap_or_default(),
                id: text(l.get("span_id")).unwrap_or_default(),
                parent: text(l.get("parent_id")),
                name: text(l.get("operation")).unwrap_or_default().to_lowercase(),
                kind: tag("span.kind").unwrap_or_default(),
                status: tag("http.status_code"),
                url: tag("http.url"),
            }
        })
        .collect();
    let trace_hex = caller.trace_id.to_string();
    assert_eq!(trace_hex.len(), 16, "a 64-bit trace id stays 64-bit");
    let tree = check_tree(&seen, Some(&caller), &trace_hex);

    let async_line = lines
        .iter()
        .find(|l| text(l.get("span_id")).as_deref() == Some(tree.call_async.id.as_str()))
        .unwrap();
    let refs = async_line
        .get("references")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(refs.len(), 1, "{async_line}");
    assert_eq!(text(refs[0].get("kind")).as_deref(), Some("follows_from"));
    assert_eq!(text(refs[0].get("span_id")), Some(tree.home.id.clone()));
    assert_eq!(text(refs[0].get("trace_id")), Some(trace_hex.clone()));
    let home_line = lines
        .iter()
        .find(|l| text(l.get("span_id")).as_deref() == Some(tree.home.id.as_str()))
        .unwrap();
    let home_refs = home_line
        .get("references")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(text(home_refs[0].get("kind")).as_deref(), Some("child_of"));
}
