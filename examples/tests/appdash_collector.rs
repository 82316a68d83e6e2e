//! The default setup end to end: the app's spans go through the Appdash recorder to the
//! embedded collector, and its JSON API shows the same trace the in-memory recorder saw.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use collector_appdash::{Collector, CollectorHandle};
use recorder_appdash::AppdashRecorder;
use serde_json::Value as Json;
use support::{only, wait_for, Running};
use tracer_api::{ExportReport, InMemoryRecorder, Recorder, SpanRecord, Tracer};

/// Sends every span to both recorders: the in-memory one says what to expect.
struct Tee {
    memory: InMemoryRecorder,
    appdash: Box<dyn Recorder>,
}

impl Recorder for Tee {
    fn record(&self, span: SpanRecord) {
        self.memory.record(span.clone());
        self.appdash.record(span);
    }
    fn flush(&self, timeout: Duration) -> ExportReport {
        self.appdash.flush(timeout)
    }
    fn shutdown(&self, timeout: Duration) -> ExportReport {
        self.appdash.shutdown(timeout)
    }
}

async fn start_collector() -> CollectorHandle {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Collector::builder()
        .with_collector_addr(any)
        .with_http_addr(any)
        .start()
        .await
        .unwrap()
}

/// A tracer as `main` builds it for Appdash (64-bit ids), also recording into `memory`.
fn tracer(collector: &CollectorHandle, memory: &InMemoryRecorder) -> Tracer {
    let appdash = AppdashRecorder::builder()
        .with_collector_addr(collector.collector_addr().to_string())
        .build()
        .unwrap();
    Tracer::builder()
        .with_service_name("tutorial")
        .with_128bit_trace_ids(false)
        .with_recorder(Tee {
            memory: memory.clone(),
            appdash: Box::new(appdash),
        })
        .build()
        .unwrap()
}

async fn flush(tracer: &Tracer) -> ExportReport {
    let t = tracer.clone();
    tokio::task::spawn_blocking(move || t.flush(Duration::from_secs(5)))
        .await
        .unwrap()
}

async fn get_json(url: &str) -> Json {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Polls the collector's JSON API until trace `trace_id` has `spans` spans (at most 10 s).
async fn collected_trace(collector: &CollectorHandle, trace_id: &str, spans: usize) -> Json {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = get_json(&format!("{}/api/traces", collector.http_url())).await;
        let found = list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["trace_id"] == trace_id && t["span_count"] == spans);
        if found {
            return get_json(&format!("{}/api/traces/{trace_id}", collector.http_url())).await;
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace_id} with {spans} spans never arrived: {list:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn collected_span<'a>(trace: &'a Json, span_id: &str) -> &'a Json {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["span_id"] == span_id)
        .unwrap_or_else(|| panic!("span {span_id} not collected: {trace:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_trace_reaches_the_embedded_collector_whole() {
    let collector = start_collector().await;
    let memory = InMemoryRecorder::new();
    let tracer = tracer(&collector, &memory);
    let app = Running::start(tracer.clone()).await;

    assert_eq!(app.get("/home").await.0, 200);
    let spans = wait_for(&memory, 9).await;
    let report = flush(&tracer).await;
    assert_eq!(report.exported, 9, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");

    let home = only(&spans, "/home", "server");
    let trace_id = home.trace_id.to_string();
    assert_eq!(trace_id.len(), 16, "Appdash ids are 64-bit");
    let trace = collected_trace(&collector, &trace_id, 9).await;

    assert_eq!(trace["trace_id"], trace_id);
    assert_eq!(trace["span_count"], 9);
    assert_eq!(trace["error"], false);
    assert_eq!(
        trace["roots"],
        serde_json::json!([home.span_id.to_string()])
    );

    // Every span the app recorded is there, with its name, parent and tags. Appdash has no
    // follows_from: GET /async shows /home as its parent.
    for span in &spans {
        let collected = collected_span(&trace, &span.span_id.to_string());
        assert_eq!(collected["name"], span.operation.as_ref(), "{collected:#}");
        let parent = span.parent_id.map(|p| p.to_string());
        assert_eq!(
            collected["parent_id"].as_str(),
            parent.as_deref(),
            "{collected:#}"
        );
        let kind = span.tag("span.kind").and_then(|v| v.as_str()).unwrap();
        assert_eq!(collected["tags"]["span.kind"], kind, "{collected:#}");
        assert_eq!(collected["tags"]["http.method"], "GET");
        assert_eq!(collected["tags"]["http.status_code"], "200");
        assert_eq!(collected["error"], false);
        assert!(
            collected["start_micros"].as_u64().is_some(),
            "{collected:#}"
        );
    }
    let call_async = only(&spans, "GET /async", "client");
    assert_eq!(
        collected_span(&trace, &call_async.span_id.to_string())["parent_id"],
        home.span_id.to_string()
    );

    // And the web UI lists it where `main` says to look.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let page = client
        .get(format!("{}/traces", collector.http_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&trace_id), "the trace list shows the trace");

    app.stop().await;
    let t = tracer.clone();
    let report = tokio::task::spawn_blocking(move || t.shutdown(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(report.dropped.total(), 0, "{report}");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_context_shows_as_a_new_root_with_its_error_log() {
    let collector = start_collector().await;
    let memory = InMemoryRecorder::new();
    let tracer = tracer(&collector, &memory);
    let app = Running::start(tracer.clone()).await;

    let (status, _) = app.get_with("/db", &[("b3", "0-0-0-0-0")]).await;
    assert_eq!(status, 200);
    let spans = wait_for(&memory, 1).await;
    flush(&tracer).await;

    let db = only(&spans, "/db", "server");
    let trace = collected_trace(&collector, &db.trace_id.to_string(), 1).await;
    assert_eq!(trace["roots"], serde_json::json!([db.span_id.to_string()]));
    let collected = collected_span(&trace, &db.span_id.to_string());
    assert_eq!(collected["parent_id"], Json::Null);
    let logs = collected["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1, "{collected:#}");
    let log = logs[0].to_string();
    assert!(log.contains("corrupted"), "{log}");

    app.stop().await;
    let t = tracer.clone();
    tokio::task::spawn_blocking(move || t.shutdown(Duration::from_secs(5)))
        .await
        .unwrap();
    collector.shutdown().await;
}
