//! `/traces/{trace}/profile` has Appdash's shape: a depth-first array of
//! `{Name, URL, Time, TimeChildren, TimeCum}` in milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use recorder_appdash::wire::{encode_frame, Annotation, CollectPacket, WireSpanId};
use serde_json::json;
use support::{eventually, frame, get, send_and_close, start};

#[tokio::test]
async fn profile_json_matches_appdash() {
    let handle = start().await;
    let mut bytes = Vec::new();
    // Children first: the store re-parents them when the root arrives.
    bytes.extend(frame(0xabc, 0x11, 0x1, "A1", 15, 35));
    bytes.extend(frame(0xabc, 0x10, 0x1, "A", 10, 40));
    bytes.extend(frame(0xabc, 0x20, 0x1, "B", 50, 90));
    bytes.extend(frame(0xabc, 0x1, 0, "root", 0, 100));
    // A span with neither name nor time span, under A.
    let bare = CollectPacket {
        span_id: WireSpanId {
            trace: 0xabc,
            span: 0x12,
            parent: 0x10,
        },
        annotations: vec![Annotation::new("k", "v")],
    };
    encode_frame(&bare, &mut bytes).unwrap();
    bytes.extend(frame(0xabc, 0x13, 0x10, "A2", 15, 35));
    send_and_close(handle.collector_addr(), &bytes).await;
    eventually("six spans", || {
        (handle.store().trace(0xabc)?.spans.len() == 6).then_some(())
    })
    .await;

    let t = "0000000000000abc";
    let resp = get(handle.http_addr(), &format!("/traces/{t}/profile")).await;
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let url = |s: &str| format!("/traces/{t}/{s}");
    // A1 names the root as its parent: it is the root's child, started at 15 (after A at 10).
    // Spans without a time span come after their timed siblings.
    assert_eq!(
        resp.json(),
        json!([
            {"Name": "root", "URL": format!("/traces/{t}"), "Time": 100, "TimeChildren": 190, "TimeCum": 210},
            {"Name": "A", "URL": url("0000000000000010"), "Time": 30, "TimeChildren": 50, "TimeCum": 50},
            {"Name": "A2", "URL": url("0000000000000013"), "Time": 20, "TimeChildren": 20, "TimeCum": 20},
            {"Name": "0000000000000012", "URL": url("0000000000000012"), "Time": 0, "TimeChildren": 0, "TimeCum": 0},
            {"Name": "A1", "URL": url("0000000000000011"), "Time": 20, "TimeChildren": 20, "TimeCum": 20},
            {"Name": "B", "URL": url("0000000000000020"), "Time": 40, "TimeChildren": 40, "TimeCum": 40},
        ])
    );

    // The profile of a sub-tree.
    let sub = get(
        handle.http_addr(),
        &format!("/traces/{t}/0000000000000010/profile"),
    )
    .await
    .json();
    assert_eq!(sub.as_array().unwrap().len(), 3);
    assert_eq!(sub[0]["Name"], "A");
    assert_eq!(sub[0]["TimeCum"], 50);

    assert_eq!(
        get(handle.http_addr(), "/traces/0000000000000def/profile")
            .await
            .status,
        404
    );
    assert_eq!(
        get(
            handle.http_addr(),
            &format!("/traces/{t}/00000000000000ff/profile")
        )
        .await
        .status,
        404
    );
    assert_eq!(
        get(handle.http_addr(), "/traces/xyz/profile").await.status,
        400
    );
    handle.shutdown().await;
}
