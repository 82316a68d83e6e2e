//! The OpenTracing-to-Zipkin mapping table, checked through the encoders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use recorder_zipkin::Encoding;
use serde_json::{json, Value as Json};
use support::{decode_list, log_at, record};
use tracer_api::{
    Endpoint, KeyValue, Process, Reference, ReferenceKind, Sampling, SpanId, SpanRecord, TraceId,
};

fn to_json(rec: &SpanRecord) -> String {
    let mut out = Vec::new();
    let enc = Encoding::Json.encode_records(std::slice::from_ref(rec), &mut out);
    assert_eq!(enc.spans, 1, "span was dropped: {:?}", enc.invalid);
    let s = String::from_utf8(out).unwrap();
    s.strip_prefix('[')
        .unwrap()
        .strip_suffix(']')
        .unwrap()
        .to_owned()
}

fn parsed(rec: &SpanRecord) -> Json {
    serde_json::from_str(&to_json(rec)).unwrap()
}

#[test]
fn canonical_client_span_from_a_record() {
    let mut rec = record(
        0x7180c278b62e8f6a216a2aea45d08fc9,
        0x5b4185666d50f68b,
        Some(0x6b221d5bc9e6496c),
    );
    rec.operation = "get".into();
    rec.process = Arc::new(Process {
        service_name: "frontend".into(),
        endpoint: Endpoint {
            ipv4: Some(Ipv4Addr::new(127, 0, 0, 1)),
            ipv6: None,
            port: None,
        },
        tags: vec![KeyValue::new("clnt/finagle.version", "6.45.0")],
    });
    rec.tags = vec![
        KeyValue::new("span.kind", "client"),
        KeyValue::new("http.path", "/api"),
        KeyValue::new("peer.service", "backend"),
        KeyValue::new("peer.ipv4", "192.168.99.101"),
        KeyValue::new("peer.port", 9000u16),
    ];
    rec.logs = vec![
        log_at(1472470996238000, vec![KeyValue::new("event", "foo")]),
        log_at(1472470996403000, vec![KeyValue::new("event", "bar")]),
    ];
    assert_eq!(
        to_json(&rec),
        r#"{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","parentId":"6b221d5bc9e6496c","id":"5b4185666d50f68b","kind":"CLIENT","name":"get","timestamp":1472470996199000,"duration":207000,"localEndpoint":{"serviceName":"frontend","ipv4":"127.0.0.1"},"remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},"annotations":[{"timestamp":1472470996238000,"value":"foo"},{"timestamp":1472470996403000,"value":"bar"}],"tags":{"clnt/finagle.version":"6.45.0","http.path":"/api"}}"#
    );
    let mut out = Vec::new();
    Encoding::Proto3.encode_records(std::slice::from_ref(&rec), &mut out);
    assert_eq!(out.len(), 182);
}

#[test]
fn span_kind_maps_and_other_values_stay_tags() {
    for (value, kind) in [
        ("client", "CLIENT"),
        ("SERVER", "SERVER"),
        ("Producer", "PRODUCER"),
        ("consumer", "CONSUMER"),
    ] {
        let mut rec = record(1, 2, None);
        rec.tags.push(KeyValue::new("span.kind", value));
        let j = parsed(&rec);
        assert_eq!(j["kind"], kind);
        assert!(j.get("tags").is_none(), "{j}");
    }
    let mut rec = record(1, 2, None);
    rec.tags.push(KeyValue::new("span.kind", "rpc"));
    let j = parsed(&rec);
    assert!(j.get("kind").is_none());
    assert_eq!(j["tags"]["span.kind"], "rpc");
    let mut rec = record(1, 2, None);
    rec.tags.push(KeyValue::new("span.kind", 3u8));
    assert_eq!(parsed(&rec)["tags"]["span.kind"], "3");
}

#[test]
fn peer_tags_make_the_remote_endpoint() {
    for port in [
        KeyValue::new("peer.port", 8080u16),
        KeyValue::new("peer.port", 8080i32),
        KeyValue::new("peer.port", 8080u64),
        KeyValue::new("peer.port", 8080i64),
        KeyValue::new("peer.port", 8080usize),
    ] {
        let mut rec = record(1, 2, None);
        rec.tags = vec![
            KeyValue::new("peer.service", "db"),
            KeyValue::new("peer.ipv4", u32::from(Ipv4Addr::new(10, 0, 0, 7))),
            KeyValue::new("peer.ipv6", "2001:db8::c001"),
            port,
            KeyValue::new("peer.hostname", "db.local"),
        ];
        let j = parsed(&rec);
        assert_eq!(
            j["remoteEndpoint"],
            json!({"serviceName": "db", "ipv4": "10.0.0.7", "ipv6": "2001:db8::c001", "port": 8080})
        );
        assert_eq!(j["tags"], json!({"peer.hostname": "db.local"}));
    }
}

#[test]
fn unusable_peer_values_stay_tags() {
    let mut rec = record(1, 2, None);
    rec.tags = vec![
        KeyValue::new("peer.port", 70000u32),
        KeyValue::new("peer.ipv4", "not-an-ip"),
        KeyValue::new("peer.ipv6", "::zz"),
        KeyValue::new("peer.service", 5u8),
    ];
    let j = parsed(&rec);
    assert!(j.get("remoteEndpoint").is_none(), "{j}");
    assert_eq!(
        j["tags"],
        json!({"peer.ipv4": "not-an-ip", "peer.ipv6": "::zz", "peer.port": "70000", "peer.service": "5"})
    );
    let mut rec = record(1, 2, None);
    rec.tags = vec![
        KeyValue::new("peer.port", 0u16),
        KeyValue::new("peer.port2", -1i8),
    ];
    assert_eq!(parsed(&rec)["tags"]["peer.port"], "0");
}

#[test]
fn ipv4_mapped_ipv6_goes_to_ipv4() {
    let mut rec = record(1, 2, None);
    rec.tags = vec![KeyValue::new("peer.ipv6", "::ffff:192.0.2.1")];
    assert_eq!(parsed(&rec)["remoteEndpoint"], json!({"ipv4": "192.0.2.1"}));
    rec.process = Arc::new(Process {
        service_name: "svc".into(),
        endpoint: Endpoint {
            ipv4: None,
            ipv6: Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            port: Some(8080),
        },
        tags: Vec::new(),
    });
    assert_eq!(
        parsed(&rec)["localEndpoint"],
        json!({"serviceName": "svc", "ipv6": "2001:db8::1", "port": 8080})
    );
}

#[test]
fn tags_are_strings_sorted_and_span_tags_win() {
    let mut rec = record(1, 2, None);
    rec.process = Arc::new(Process {
        service_name: "svc".into(),
        endpoint: Endpoint::default(),
        tags: vec![
            KeyValue::new("hostname", "box-1"),
            KeyValue::new("version", "1.0"),
        ],
    });
    rec.tags = vec![
        KeyValue::new("version", "2.0"),
        KeyValue::new("error", true),
        KeyValue::new("http.status_code", 500u16),
        KeyValue::new("ratio", 0.5f64),
        KeyValue::new("delta", -3i64),
    ];
    let s = to_json(&rec);
    assert!(
        s.contains(r#""tags":{"delta":"-3","error":"true","hostname":"box-1","http.status_code":"500","ratio":"0.5","version":"2.0"}"#),
        "{s}"
    );
}

#[test]
fn logs_become_annotations() {
    let mut rec = record(1, 2, None);
    rec.logs = vec![
        log_at(
            30,
            vec![
                KeyValue::new("event", "error"),
                KeyValue::new("message", "disk full"),
            ],
        ),
        log_at(10, vec![KeyValue::new("event", "cache-miss")]),
        log_at(20, vec![]),
        log_at(20, vec![KeyValue::new("waited.millis", 1500u32)]),
        log_at(40, vec![KeyValue::new("event", 7u8)]),
    ];
    let j = parsed(&rec);
    assert_eq!(
        j["annotations"],
        json!([
            {"timestamp": 10, "value": "cache-miss"},
            {"timestamp": 20, "value": "waited.millis=1500"},
            {"timestamp": 30, "value": "event=error message=\"disk full\""},
            {"timestamp": 40, "value": "7"},
        ])
    );
}

#[test]
fn parent_shared_debug_and_times() {
    // A follows-from parent is still the parent.
    let mut rec = record(1, 2, Some(9));
    rec.references = vec![Reference {
        kind: ReferenceKind::FollowsFrom,
        trace_id: TraceId::from_u128(1).unwrap(),
        span_id: SpanId::from_u64(9).unwrap(),
    }]
    .into();
    rec.sampling = Sampling::Debug;
    rec.shared = true;
    rec.tags.push(KeyValue::new("span.kind", "server"));
    let j = parsed(&rec);
    assert_eq!(j["parentId"], "0000000000000009");
    assert_eq!(j["debug"], true);
    assert_eq!(j["shared"], true);

    // shared is cleared on client spans; a parent equal to the id is left out.
    let mut rec = record(1, 2, Some(2));
    rec.shared = true;
    rec.tags.push(KeyValue::new("span.kind", "client"));
    let j = parsed(&rec);
    assert!(j.get("shared").is_none() && j.get("parentId").is_none() && j.get("debug").is_none());

    for (d, us) in [
        (Duration::ZERO, 1),
        (Duration::from_nanos(400), 1),
        (Duration::from_nanos(1500), 2),
        (Duration::from_nanos(2499), 2),
        (Duration::from_secs(3), 3_000_000),
    ] {
        let mut rec = record(1, 2, None);
        rec.duration = d;
        rec.start = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_000_000_000_000_000_600);
        let j = parsed(&rec);
        assert_eq!(j["duration"], us, "{d:?}");
        assert_eq!(j["timestamp"], 1_000_000_000_000_001u64);
    }
}

#[test]
fn proto3_carries_the_same_mapping() {
    let mut rec = record(
        0x7180c278b62e8f6a216a2aea45d08fc9,
        0x5b4185666d50f68b,
        Some(3),
    );
    rec.operation = "GET /Users".into();
    rec.tags = vec![
        KeyValue::new("span.kind", "producer"),
        KeyValue::new("peer.service", "kafka"),
        KeyValue::new("peer.port", 9092i32),
        KeyValue::new("error", true),
        KeyValue::new("empty", ""),
    ];
    rec.logs = vec![log_at(
        5,
        vec![KeyValue::new("a", 1u8), KeyValue::new("b", "x y")],
    )];
    rec.sampling = Sampling::Debug;
    let mut out = Vec::new();
    Encoding::Proto3.encode_records(std::slice::from_ref(&rec), &mut out);
    let spans = decode_list(&out);
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.trace_id_hex(), "7180c278b62e8f6a216a2aea45d08fc9");
    assert_eq!(s.id_hex(), "5b4185666d50f68b");
    assert_eq!(s.parent_id, 3u64.to_be_bytes());
    assert_eq!(s.kind, 3);
    assert_eq!(s.name, "get /users");
    assert_eq!(s.timestamp, 1_472_470_996_199_000);
    assert_eq!(s.duration, 207_000);
    assert_eq!(s.local_endpoint.as_ref().unwrap().service_name, "svc");
    let remote = s.remote_endpoint.as_ref().unwrap();
    assert_eq!((remote.service_name.as_str(), remote.port), ("kafka", 9092));
    assert_eq!(s.annotations, vec![(5, "a=1 b=\"x y\"".to_owned())]);
    assert_eq!(s.tags.get("error").map(String::as_str), Some("true"));
    assert_eq!(s.tags.get("empty").map(String::as_str), Some(""));
    assert!(s.debug && !s.shared);

    // A 64-bit trace id is 8 bytes, a root has no parent.
    let rec = record(0x42, 0x43, None);
    let mut out = Vec::new();
    Encoding::Proto3.encode_records(std::slice::from_ref(&rec), &mut out);
    let s = &decode_list(&out)[0];
    assert_eq!(s.trace_id, 0x42u64.to_be_bytes());
    assert!(s.parent_id.is_empty());
}
