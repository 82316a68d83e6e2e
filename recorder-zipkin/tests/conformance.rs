//! The tracer-api conformance suite through the HTTP recorder: every span the suite made
//! reaches the collector, once, with its ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use recorder_zipkin::{Encoding, ZipkinRecorder};
use support::{decode_list, TestServer};
use tracer_api::export::BatchConfig;

fn run(encoding: Encoding, gzip: bool) {
    let server = TestServer::start();
    let recorder = ZipkinRecorder::builder()
        .with_endpoint(server.url())
        .with_encoding(encoding)
        .with_gzip(gzip)
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(20),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    let spans = tracer_api::conformance::run_with_recorder(Arc::new(recorder));
    assert!(!spans.is_empty());

    let mut received = Vec::new();
    for q in server.requests() {
        match encoding {
            Encoding::Json => {
                let v: serde_json::Value = serde_json::from_slice(&q.body).unwrap();
                for s in v.as_array().unwrap() {
                    received.push((
                        s["traceId"].as_str().unwrap().to_owned(),
                        s["id"].as_str().unwrap().to_owned(),
                        s.get("parentId")
                            .and_then(|p| p.as_str())
                            .map(str::to_owned),
                    ));
                }
            }
            Encoding::Proto3 => {
                for s in decode_list(&q.body) {
                    let parent = (!s.parent_id.is_empty())
                        .then(|| s.parent_id.iter().map(|b| format!("{b:02x}")).collect());
                    received.push((s.trace_id_hex(), s.id_hex(), parent));
                }
            }
        }
    }
    let expect: BTreeSet<(String, String, Option<String>)> = spans
        .iter()
        .map(|s| {
            (
                s.trace_id.to_string(),
                s.span_id.to_string(),
                s.parent_id
                    .filter(|p| *p != s.span_id)
                    .map(|p| p.to_string()),
            )
        })
        .collect();
    assert_eq!(received.len(), spans.len(), "every span exactly once");
    let got: BTreeSet<_> = received.into_iter().collect();
    assert_eq!(got, expect);
}

#[test]
fn conformance_over_http_json() {
    run(Encoding::Json, false);
}

#[test]
fn conformance_over_http_proto3_gzip() {
    run(Encoding::Proto3, true);
}
