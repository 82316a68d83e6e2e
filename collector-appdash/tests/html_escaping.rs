//! Every string that comes from a span is escaped in the HTML pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{flush, get, start, trace_with_spans, tracer_to};
use tracer_api::KeyValue;

const EVIL: &str = "<script>alert('x')</script>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_tags_logs_and_baggage_are_escaped() {
    let handle = start().await;
    let tracer = tracer_to(&handle);
    let mut root = tracer.span(format!("root {EVIL}")).start();
    root.set_tag(format!("tag{EVIL}"), EVIL);
    root.set_tag(
        "service",
        format!("svc\"><img src=x onerror=alert(1)>{EVIL}"),
    );
    root.set_baggage_item("bag", EVIL);
    root.log([KeyValue::new("event", EVIL)]);
    let mut child = tracer.span(EVIL).child_of(root.context()).start();
    child.log([KeyValue::new("event", "error"), KeyValue::new("msg", EVIL)]);
    child.finish();
    root.finish();
    flush(&tracer).await;

    let trace = trace_with_spans(&handle, 2).await;
    let id = trace["trace_id"].as_str().unwrap();
    let child_id = trace["spans"][1]["span_id"].as_str().unwrap();
    // The JSON keeps the text as it is.
    assert_eq!(trace["spans"][1]["name"], EVIL);

    let svc = "svc%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%3Cscript%3E";
    for path in [
        "/traces".to_owned(),
        format!("/traces?service={svc}"),
        format!(
            "/traces?operation={}",
            "%3Cscript%3Ealert('x')%3C%2Fscript%3E"
        ),
        format!("/traces/{id}"),
        format!("/traces/{id}/{child_id}"),
    ] {
        let page = get(handle.http_addr(), &path).await;
        assert_eq!(page.status, 200, "{path}");
        let body = page.body.to_lowercase();
        assert!(
            !body.contains("<script"),
            "{path}: unescaped script in {body}"
        );
        assert!(!body.contains("<img"), "{path}: unescaped img");
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("default-src 'none'"),
            "{path}"
        );
    }
    let page = get(handle.http_addr(), &format!("/traces/{id}")).await;
    let escaped = "&lt;script&gt;alert('x')&lt;/script&gt;";
    // Name (waterfall and details), tag key and value, baggage, both logs.
    assert!(page.body.matches(escaped).count() >= 6, "{}", page.body);
    assert!(page.body.contains(&format!("tag{escaped}")));
    let list = get(handle.http_addr(), "/traces").await;
    assert!(list.body.contains(&format!("root {escaped}")));
    assert!(list.body.contains("svc&quot;&gt;&lt;img"));
    handle.shutdown().await;
}
