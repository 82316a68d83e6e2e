//! A call that fails leaves its mark on the client span (`error=true` and an error log) and
//! on the handler's answer, never a panic or a hang.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use examples::app::Config;
use support::{only, wait_for, Running, MAX_SLEEP};
use tokio::net::TcpListener;
use tracer_api::tags::log_fields;
use tracer_api::{tags, InMemoryRecorder, SpanRecord, Tracer, Value};

fn tracer(recorder: &InMemoryRecorder) -> Tracer {
    Tracer::builder()
        .with_service_name("tutorial")
        .with_recorder(recorder.clone())
        .build()
        .unwrap()
}

/// The app, but calling "itself" at a port nobody listens on.
async fn start_with_dead_upstream(recorder: &InMemoryRecorder) -> Running {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config::new(dead_url)
        .with_max_sleep(MAX_SLEEP)
        .with_request_timeout(Duration::from_secs(5));
    Running::start_with(tracer(recorder), listener, config).await
}

fn assert_failed_call(span: &SpanRecord) {
    assert_eq!(span.tag(tags::ERROR), Some(&Value::Bool(true)), "{span:#?}");
    assert_eq!(span.tag(tags::HTTP_STATUS_CODE), None, "no answer came");
    let log = span.logs.first().unwrap();
    assert_eq!(log.field(log_fields::EVENT), Some(&Value::from("error")));
    assert!(log.field(log_fields::ERROR_OBJECT).is_some(), "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_reports_a_failed_call_and_both_client_spans_record_it() {
    let recorder = InMemoryRecorder::new();
    let app = start_with_dead_upstream(&recorder).await;

    let (status, page) = app.get("/home").await;
    assert_eq!(status, 200);
    assert!(
        page.starts_with("Request started\nGET /service failed: "),
        "{page}"
    );
    assert!(page.ends_with("Request done!\n"), "{page}");

    // /home, GET /service and GET /async (the two calls went nowhere).
    let spans = wait_for(&recorder, 3).await;
    let home = only(&spans, "/home", "server");
    assert_eq!(home.tag(tags::ERROR), None);
    assert_failed_call(only(&spans, "GET /service", "client"));
    assert_failed_call(only(&spans, "GET /async", "client"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_answers_502_when_db_fails_and_its_server_span_is_an_error() {
    let recorder = InMemoryRecorder::new();
    let app = start_with_dead_upstream(&recorder).await;

    let (status, body) = app.get("/service").await;
    assert_eq!(status, 502);
    assert!(body.starts_with("GET /db failed: "), "{body}");

    let spans = wait_for(&recorder, 2).await;
    let service = only(&spans, "/service", "server");
    assert_eq!(service.tag(tags::ERROR), Some(&Value::Bool(true)));
    assert_eq!(
        service.tag(tags::HTTP_STATUS_CODE).and_then(Value::as_u64),
        Some(502)
    );
    assert_failed_call(only(&spans, "GET /db", "client"));
    app.stop().await;
}
