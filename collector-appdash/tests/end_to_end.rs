//! End to end: a tracer with recorder-appdash sends to the embedded collector; the JSON API
//! shows the tree, names, tags, logs, baggage and timings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;
use support::{eventually, flush, get, start, trace_with_spans, tracer_to};
use tracer_api::KeyValue;

fn span_named<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {trace}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_arrives_as_a_tree() {
    let handle = start().await;
    let tracer = tracer_to(&handle);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ms = |n: u64| t0 + Duration::from_millis(n);

    let mut root = tracer.span("GET /home").start_time(t0).start();
    root.set_tag("span.kind", "server");
    root.set_tag("http.status_code", 200);
    root.set_tag("service", "frontend");
    root.set_baggage_item("customer", "acme");
    let mut db = tracer
        .span("SELECT users")
        .child_of(root.context())
        .start_time(ms(10))
        .start();
    db.set_tag("db.type", "sql");
    db.log_at(ms(15), [KeyValue::new("event", "cache-miss")]);
    let mut fetch = tracer
        .span("fetch avatar")
        .child_of(root.context())
        .start_time(ms(40))
        .start();
    fetch.log_at(
        ms(45),
        [
            KeyValue::new("event", "retry"),
            KeyValue::new("attempt", 2i64),
        ],
    );
    let io = tracer
        .span("dns")
        .child_of(fetch.context())
        .start_time(ms(41))
        .start();
    // Children finish (and are sent) before their parents: the store adopts them later.
    io.finish_at(ms(43));
    db.finish_at(ms(30));
    fetch.finish_at(ms(90));
    root.finish_at(ms(100));
    flush(&tracer).await;

    let trace = trace_with_spans(&handle, 4).await;
    assert_eq!(trace["span_count"], 4);
    assert_eq!(trace["duration_micros"], 100_000);
    assert_eq!(trace["error"], false);
    let names: Vec<(&str, u64)> = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["depth"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("GET /home", 0),
            ("SELECT users", 1),
            ("fetch avatar", 1),
            ("dns", 2)
        ],
        "depth first, siblings by start time"
    );

    let root = span_named(&trace, "GET /home");
    let db = span_named(&trace, "SELECT users");
    let fetch = span_named(&trace, "fetch avatar");
    let dns = span_named(&trace, "dns");
    assert_eq!(trace["roots"], serde_json::json!([root["span_id"]]));
    assert_eq!(root["parent_id"], Value::Null);
    assert_eq!(db["parent_id"], root["span_id"]);
    assert_eq!(dns["parent_id"], fetch["span_id"]);
    assert_eq!(
        root["children"],
        serde_json::json!([db["span_id"], fetch["span_id"]])
    );
    assert_eq!(root["span_id"].as_str().unwrap().len(), 16);

    // Timings.
    assert_eq!(root["start"], "2023-11-14T22:13:20Z");
    assert_eq!(root["start_micros"], 1_700_000_000_000_000i64);
    assert_eq!(db["duration_micros"], 20_000);
    assert_eq!(dns["end"], "2023-11-14T22:13:20.043Z");

    // Tags (values as Go's %+v prints them), baggage and logs.
    assert_eq!(root["tags"]["http.status_code"], "200");
    assert_eq!(root["tags"]["span.kind"], "server");
    assert_eq!(db["tags"]["db.type"], "sql");
    assert_eq!(root["baggage"]["customer"], "acme");
    assert_eq!(db["baggage"]["customer"], "acme");
    assert!(root["tags"].get("customer").is_none());
    assert_eq!(db["logs"][0]["message"], "cache-miss");
    assert_eq!(db["logs"][0]["time_micros"], 1_700_000_000_015_000i64);
    assert_eq!(db["logs"][0]["fields"], Value::Null);
    assert_eq!(fetch["logs"][0]["fields"]["event"], "retry");
    assert_eq!(fetch["logs"][0]["fields"]["attempt"], "2");
    let keys: Vec<&str> = db["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(&keys[..2], &["Name", "_schema:name"]);
    assert_eq!(keys.last(), Some(&"_schema:Timespan"));
    assert_eq!(db["annotations"][1]["value"], Value::Null);

    // The list: root name, service, counts; filters.
    let list = get(handle.http_addr(), "/api/traces").await.json();
    let row = &list["traces"][0];
    assert_eq!(row["name"], "GET /home");
    assert_eq!(row["service"], "frontend");
    assert_eq!(row["span_count"], 4);
    assert_eq!(row["duration_micros"], 100_000);
    assert_eq!(row["trace_id"], trace["trace_id"]);
    for (query, hits) in [
        ("?service=frontend", 1),
        ("?service=backend", 0),
        ("?operation=dns", 1),
        ("?operation=GET%20%2Fhome&service=frontend", 1),
        ("?operation=nothing", 0),
        ("?service=", 1),
    ] {
        let list = get(handle.http_addr(), &format!("/api/traces{query}"))
            .await
            .json();
        assert_eq!(list["traces"].as_array().unwrap().len(), hits, "{query}");
    }

    // The HTML pages render, and `/` leads to the list.
    let id = trace["trace_id"].as_str().unwrap();
    let page = get(handle.http_addr(), &format!("/traces/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.body.contains("fetch avatar"));
    assert!(page.body.contains("class=\"bar\""));
    let sub = get(
        handle.http_addr(),
        &format!("/traces/{id}/{}", fetch["span_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(sub.status, 200);
    assert!(sub.body.contains("dns") && !sub.body.contains("SELECT users"));
    let list_page = get(handle.http_addr(), "/traces?service=frontend").await;
    assert_eq!(list_page.status, 200);
    assert!(list_page.body.contains(id));
    let root_page = get(handle.http_addr(), "/").await;
    assert!((300..400).contains(&root_page.status));
    assert_eq!(root_page.header("location"), Some("/traces"));

    // Unknown and malformed ids.
    assert_eq!(
        get(handle.http_addr(), "/api/traces/00000000000000ff")
            .await
            .status,
        404
    );
    assert_eq!(
        get(handle.http_addr(), "/api/traces/not-hex").await.status,
        400
    );
    assert_eq!(get(handle.http_addr(), "/nowhere").await.status, 404);

    let _ = tokio::task::spawn_blocking(move || tracer.shutdown(support::WAIT)).await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_marked_in_the_list_and_the_trace() {
    let handle = start().await;
    let tracer = tracer_to(&handle);
    let mut ok = tracer.span("fine").start();
    ok.set_tag("n", 1);
    ok.finish();
    let mut failed = tracer.span("broken").start();
    failed.log_error(&std::io::Error::other("disk on fire"));
    failed.finish();
    let mut logged = tracer.span("logged only").start();
    logged.log([KeyValue::new("event", "error"), KeyValue::new("k", "v")]);
    logged.finish();
    flush(&tracer).await;

    let list = eventually("three traces", || {
        let l = handle.store().traces(&Default::default());
        (l.len() == 3).then_some(l)
    })
    .await;
    let by_name = |n: &str| list.iter().find(|t| t.name == n).unwrap().error;
    assert!(!by_name("fine"));
    assert!(by_name("broken"));
    assert!(by_name("logged only"));
    let json = get(handle.http_addr(), "/api/traces").await.json();
    let errors = json["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["error"] == true)
        .count();
    assert_eq!(errors, 2);
    let page = get(handle.http_addr(), "/traces").await;
    assert_eq!(page.body.matches("class=\"err\"").count(), 2);
    handle.shutdown().await;
}
