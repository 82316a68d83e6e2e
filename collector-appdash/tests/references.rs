//! Service names and follows-from references end to end: tracers with recorder-appdash (in two
//! services) send to the embedded collector; the JSON API shows each span's service and
//! references, the list filters by service, and the trace page marks follows-from spans.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, UNIX_EPOCH};

use collector_appdash::CollectorHandle;
use recorder_appdash::AppdashRecorder;
use serde_json::{json, Value};
use support::{flush, get, start, trace_with_spans, tracer_to};
use tracer_api::export::BatchConfig;
use tracer_api::Tracer;

/// A tracer of service `service` sending to the collector.
fn tracer_of(handle: &CollectorHandle, service: &'static str) -> Tracer {
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(handle.collector_addr().to_string())
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(10),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    Tracer::builder()
        .with_service_name(service)
        .with_recorder(recorder)
        .build()
        .unwrap()
}

fn span_named<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in {trace}"))
}

fn annotation_keys(span: &Value) -> Vec<&str> {
    span["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_follows_from_references_are_shown() {
    let handle = start().await;
    let web = tracer_to(&handle); // service "test"
    let worker = tracer_of(&handle, "worker");
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ms = |n: u64| t0 + Duration::from_millis(n);

    let root = web.span("POST /orders").start_time(t0).start();
    let validate = web
        .span("validate")
        .child_of(root.context())
        .start_time(ms(1))
        .start();
    // Queued work: follows from the request (its parent on the wire), in another service.
    let job = worker
        .span("send email")
        .follows_from(root.context())
        .start_time(ms(20))
        .start();
    // A join: a child of `validate`, also following from the job.
    let join = web
        .span("join")
        .child_of(validate.context())
        .follows_from(job.context())
        .start_time(ms(3))
        .start();
    join.finish_at(ms(4));
    validate.finish_at(ms(5));
    job.finish_at(ms(60));
    root.finish_at(ms(10));
    flush(&web).await;
    flush(&worker).await;

    let trace = trace_with_spans(&handle, 4).await;
    let root = span_named(&trace, "POST /orders");
    let validate = span_named(&trace, "validate");
    let job = span_named(&trace, "send email");
    let join = span_named(&trace, "join");
    let root_id = root["span_id"].as_str().unwrap();
    let job_id = job["span_id"].as_str().unwrap();

    // Services, per span.
    assert_eq!(root["service"], "test");
    assert_eq!(job["service"], "worker");
    assert_eq!(join["service"], "test");

    // References: the follows-from parent, and a follows-from beside a child-of parent.
    assert_eq!(root["references"], json!([]));
    assert_eq!(
        validate["references"],
        json!([]),
        "a child-of parent is not repeated"
    );
    assert_eq!(
        job["references"],
        json!([{ "kind": "follows_from", "span_id": root_id }])
    );
    assert_eq!(
        job["parent_id"], root_id,
        "still under the request in the tree"
    );
    assert_eq!(
        join["references"],
        json!([{ "kind": "follows_from", "span_id": job_id }])
    );
    assert_eq!(join["parent_id"], validate["span_id"]);

    // Not shown a second time as tags, but kept among the raw annotations.
    for span in [root, validate, job, join] {
        let tags = span["tags"].as_object().unwrap();
        assert!(
            !tags
                .keys()
                .any(|k| k == "service.name" || k.starts_with("ref.")),
            "{span}"
        );
        assert!(annotation_keys(span).contains(&"service.name"), "{span}");
    }
    assert!(annotation_keys(job).contains(&"ref.follows_from"));
    assert_eq!(annotation_keys(job).last(), Some(&"_schema:Timespan"));

    // The list: the root's service, every service; the service filter.
    let list = get(handle.http_addr(), "/api/traces").await.json();
    let row = &list["traces"][0];
    assert_eq!(row["trace_id"], trace["trace_id"]);
    assert_eq!(row["service"], "test");
    assert_eq!(row["services"], json!(["test", "worker"]));
    for (query, hits) in [
        ("?service=test", 1),
        ("?service=worker", 1),
        ("?service=worker&operation=send%20email", 1),
        ("?service=unknown_service", 0),
        ("?service=nobody", 0),
    ] {
        let list = get(handle.http_addr(), &format!("/api/traces{query}"))
            .await
            .json();
        assert_eq!(list["traces"].as_array().unwrap().len(), hits, "{query}");
    }
    let page = get(handle.http_addr(), "/traces?service=worker").await;
    assert!(page.body.contains(trace["trace_id"].as_str().unwrap()));
    assert!(page.body.contains("<td>test</td>"), "the Service column");

    // The trace page: a follows-from marker linking to the followed span, a distinct bar,
    // and the references among the span's details.
    let id = trace["trace_id"].as_str().unwrap();
    let html = get(handle.http_addr(), &format!("/traces/{id}")).await.body;
    assert!(
        html.contains(&format!(
            "↳ follows from <a class=\"ff\" href=\"#span-{root_id}\">POST /orders</a>"
        )),
        "{html}"
    );
    assert!(html.contains(&format!(
        "↳ follows from <a class=\"ff\" href=\"#span-{job_id}\">send email</a>"
    )));
    assert_eq!(html.matches("class=\"bar ff\"").count(), 2, "{html}");
    assert!(html.contains("(follows from)"));
    assert!(html.contains("<th>Service</th><td>worker</td>"));
    assert!(html.contains("<th>References</th>"));

    for t in [web, worker] {
        let _ = tokio::task::spawn_blocking(move || t.shutdown(support::WAIT)).await;
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_compatible_spans_have_no_service_or_references() {
    let handle = start().await;
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(handle.collector_addr().to_string())
        .with_extra_annotations(false)
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("quiet")
        .with_recorder(recorder)
        .build()
        .unwrap();
    let root = tracer.span("root").start();
    tracer
        .span("queued")
        .follows_from(root.context())
        .start()
        .finish();
    root.finish();
    flush(&tracer).await;

    let trace = trace_with_spans(&handle, 2).await;
    let queued = span_named(&trace, "queued");
    assert_eq!(queued["references"], json!([]));
    assert_eq!(queued["service"], Value::Null);
    assert_eq!(queued["parent_id"], span_named(&trace, "root")["span_id"]);
    let list = get(handle.http_addr(), "/api/traces").await.json();
    assert_eq!(list["traces"][0]["service"], Value::Null);
    assert_eq!(list["traces"][0]["services"], json!([]));
    let html = get(
        handle.http_addr(),
        &format!("/traces/{}", trace["trace_id"].as_str().unwrap()),
    )
    .await
    .body;
    assert!(!html.contains("follows from <a"));

    let _ = tokio::task::spawn_blocking(move || tracer.shutdown(support::WAIT)).await;
    handle.shutdown().await;
}
