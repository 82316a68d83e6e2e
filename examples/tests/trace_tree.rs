//! One request to `/home` leaves one whole trace: server spans for every route, client spans
//! for every call, parent/child links and the follows-from reference of the async branch.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{all, only, wait_for, Running};
use tracer_api::{tags, InMemoryRecorder, ReferenceKind, SpanRecord, Tracer, Value};

fn tracer(recorder: &InMemoryRecorder) -> Tracer {
    Tracer::builder()
        .with_service_name("tutorial")
        .with_recorder(recorder.clone())
        .build()
        .unwrap()
}

fn assert_http(span: &SpanRecord, kind: &str, url_suffix: &str) {
    assert_eq!(
        span.tag(tags::SPAN_KIND).and_then(Value::as_str),
        Some(kind),
        "{span:#?}"
    );
    assert_eq!(
        span.tag(tags::HTTP_METHOD).and_then(Value::as_str),
        Some("GET")
    );
    let url = span.tag(tags::HTTP_URL).and_then(Value::as_str).unwrap();
    assert!(
        url.ends_with(url_suffix),
        "{url} should end with {url_suffix}"
    );
    assert_eq!(
        span.tag(tags::HTTP_STATUS_CODE).and_then(Value::as_u64),
        Some(200),
        "{span:#?}"
    );
    assert_eq!(span.tag(tags::ERROR), None, "{span:#?}");
    assert!(span.logs.is_empty(), "{span:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_leaves_one_whole_trace() {
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;

    let (status, page) = app.get("/home").await;
    assert_eq!(status, 200);
    assert_eq!(page, "Request started\nRequest done!\n");

    // 5 server spans (/home, /service, /async, /db twice), 4 client spans.
    let spans = wait_for(&recorder, 9).await;
    // Nothing more arrives.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(recorder.len(), 9, "{:#?}", recorder.spans());

    let trace_id = spans[0].trace_id;
    assert!(spans.iter().all(|s| s.trace_id == trace_id), "{spans:#?}");

    // /home: the root.
    let home = only(&spans, "/home", "server");
    assert_http(home, "server", "/home");
    assert_eq!(home.parent_id, None);
    assert!(home.references.is_empty());

    // /home -> GET /service -> /service -> GET /db -> /db, every link child_of.
    let call_service = only(&spans, "GET /service", "client");
    assert_http(call_service, "client", "/service");
    assert_eq!(call_service.parent_id, Some(home.span_id));
    assert_eq!(call_service.references[0].kind, ReferenceKind::ChildOf);

    let service = only(&spans, "/service", "server");
    assert_http(service, "server", "/service");
    assert_eq!(service.parent_id, Some(call_service.span_id));
    assert_eq!(service.references[0].kind, ReferenceKind::ChildOf);

    // /home -> GET /async (follows_from: /home does not wait) -> /async -> GET /db -> /db.
    let call_async = only(&spans, "GET /async", "client");
    assert_http(call_async, "client", "/async");
    assert_eq!(call_async.parent_id, Some(home.span_id));
    assert_eq!(call_async.references.len(), 1);
    assert_eq!(call_async.references[0].kind, ReferenceKind::FollowsFrom);
    assert_eq!(call_async.references[0].span_id, home.span_id);
    assert_eq!(call_async.references[0].trace_id, trace_id);

    let async_work = only(&spans, "/async", "server");
    assert_http(async_work, "server", "/async");
    assert_eq!(async_work.parent_id, Some(call_async.span_id));

    let db_calls = all(&spans, "GET /db", "client");
    assert_eq!(db_calls.len(), 2, "{spans:#?}");
    let dbs = all(&spans, "/db", "server");
    assert_eq!(dbs.len(), 2, "{spans:#?}");
    for caller in [service, async_work] {
        let call = db_calls
            .iter()
            .find(|c| c.parent_id == Some(caller.span_id))
            .unwrap_or_else(|| panic!("no GET /db under {}: {spans:#?}", caller.operation));
        assert_http(call, "client", "/db");
        let db = dbs
            .iter()
            .find(|d| d.parent_id == Some(call.span_id))
            .unwrap_or_else(|| panic!("no /db under the call from {}", caller.operation));
        assert_http(db, "server", "/db");
        assert_eq!(db.references[0].kind, ReferenceKind::ChildOf);
    }

    // Every span id is distinct, and the server spans are named after their routes.
    let mut ids: Vec<_> = spans.iter().map(|s| s.span_id).collect();
    ids.sort_by_key(|id| id.to_string());
    ids.dedup();
    assert_eq!(ids.len(), 9);

    // Children start no earlier than their parents and the synchronous branch ends inside
    // /home; the async branch may outlive it.
    assert!(call_service.start >= home.start);
    assert!(call_service.end() <= home.end());
    assert!(service.end() <= call_service.end());

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_links_to_home_and_is_not_traced() {
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;
    let (status, page) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"href="/home""#), "{page}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(recorder.is_empty(), "{:#?}", recorder.spans());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_its_own_trace() {
    let recorder = InMemoryRecorder::new();
    let app = Running::start(tracer(&recorder)).await;
    for _ in 0..3 {
        assert_eq!(app.get("/home").await.0, 200);
    }
    let spans = wait_for(&recorder, 27).await;
    let mut traces: Vec<String> = spans.iter().map(|s| s.trace_id.to_string()).collect();
    traces.sort();
    traces.dedup();
    assert_eq!(traces.len(), 3);
    for trace in &traces {
        let in_trace = spans
            .iter()
            .filter(|s| &s.trace_id.to_string() == trace)
            .count();
        assert_eq!(in_trace, 9);
    }
    app.stop().await;
}
