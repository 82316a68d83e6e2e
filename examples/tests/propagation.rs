//! Incoming requests continue the caller's trace from its headers; a corrupted context starts
//! a new trace, and the server span logs why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;

use support::{all, only, wait_for, Running};
use tracer_api::tags::log_fields;
use tracer_api::{tags, InMemoryRecorder, Tracer, Value};

fn tracer(recorder: &InMemoryRecorder) -> Tracer {
    Tracer::builder()
        .with_service_name("tutorial")
        .with_recorder(recorder.clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_b3_header_starts_a_new_root_that_logs_the_error() {
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;

    let (status, body) = app.get_with("/db", &[("b3", "not-a-span-context")]).await;
    assert_eq!(status, 200, "the request itself is served: {body}");

    let spans = wait_for(&recorder, 1).await;
    let db = only(&spans, "/db", "server");
    assert_eq!(db.parent_id, None, "a new root: {db:#?}");
    assert!(db.references.is_empty());
    assert_eq!(db.logs.len(), 1, "{db:#?}");
    let log = &db.logs[0];
    assert_eq!(log.field(log_fields::EVENT), Some(&Value::from("error")));
    let error = log
        .field(log_fields::ERROR_OBJECT)
        .and_then(Value::as_str)
        .unwrap();
    assert!(error.contains("corrupted"), "{error}");
    assert!(error.contains("b3"), "{error}");
    assert_eq!(
        db.tag(tags::HTTP_STATUS_CODE).and_then(Value::as_u64),
        Some(200)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_context_on_home_still_gives_one_whole_trace_under_the_new_root() {
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;

    let corrupted = [
        ("x-b3-traceid", "zzzz"),
        ("x-b3-spanid", "00f067aa0ba902b7"),
    ];
    assert_eq!(app.get_with("/home", &corrupted).await.0, 200);
    let spans = wait_for(&recorder, 9).await;
    let home = only(&spans, "/home", "server");
    assert_eq!(home.parent_id, None);
    assert_eq!(
        home.logs[0].field(log_fields::EVENT),
        Some(&Value::from("error"))
    );
    assert!(spans.iter().all(|s| s.trace_id == home.trace_id));
    // Only the span that received the corrupted context logs it.
    let with_logs = spans.iter().filter(|s| !s.logs.is_empty()).count();
    assert_eq!(with_logs, 1, "{spans:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_b3_and_w3c_contexts_are_continued() {
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;

    // A caller in another process: its own tracer, its context injected into headers.
    let caller_tracer = Tracer::builder()
        .with_service_name("caller")
        .with_recorder(InMemoryRecorder::new())
        .build()
        .unwrap();
    let caller = caller_tracer.span("caller").start();
    let mut headers: HashMap<String, String> = HashMap::new();
    caller_tracer.inject(caller.context(), &mut headers);
    assert!(headers.contains_key("x-b3-traceid"), "{headers:?}");
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(app.get_with("/db", &pairs).await.0, 200);

    // W3C alone.
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(
        app.get_with("/db", &[("traceparent", traceparent)]).await.0,
        200
    );

    let spans = wait_for(&recorder, 2).await;
    let dbs = all(&spans, "/db", "server");
    assert_eq!(dbs.len(), 2);
    let from_b3 = dbs
        .iter()
        .find(|s| s.trace_id == caller.context().trace_id())
        .unwrap_or_else(|| panic!("no span continues the B3 caller: {dbs:#?}"));
    assert_eq!(from_b3.parent_id, Some(caller.context().span_id()));
    assert!(from_b3.logs.is_empty());

    let from_w3c = dbs
        .iter()
        .find(|s| s.trace_id.to_string() == "4bf92f3577b34da6a3ce929d0e0e4736")
        .unwrap_or_else(|| panic!("no span continues the W3C caller: {dbs:#?}"));
    assert_eq!(
        from_w3c.parent_id.map(|id| id.to_string()).as_deref(),
        Some("00f067aa0ba902b7")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_calls_carry_the_client_spans_context() {
    // The app's own calls: each server span's parent is the client span that called it, which
    // is only possible if the client span's context was injected.
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;
    assert_eq!(app.get("/service").await.0, 200);
    let spans = wait_for(&recorder, 3).await;
    let service = only(&spans, "/service", "server");
    let call = only(&spans, "GET /db", "client");
    let db = only(&spans, "/db", "server");
    assert_eq!(call.parent_id, Some(service.span_id));
    assert_eq!(db.parent_id, Some(call.span_id));
    assert_eq!(db.trace_id, service.trace_id);
    app.stop().await;
}
