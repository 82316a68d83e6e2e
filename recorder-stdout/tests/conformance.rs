//! The tracer-api conformance suite through this recorder: every span the suite made is
//! written, and the JSON line of each one carries exactly its fields.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use recorder_stdout::{Format, StdoutRecorder};
use serde_json::{json, Map, Value as Json};
use support::SharedBuf;
use tracer_api::{conformance, KeyValue, Recorder, Sampling, SpanRecord, Value};

fn run(format: Format) -> (Vec<SpanRecord>, String) {
    let out = SharedBuf::default();
    let recorder = StdoutRecorder::builder()
        .with_format(format)
        .with_writer(out.clone())
        .build()
        .unwrap();
    let spans = conformance::run_with_recorder(Arc::new(recorder) as Arc<dyn Recorder>);
    assert!(!spans.is_empty());
    (spans, out.text())
}

fn micros(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_micros() as i64
}

/// The JSON a span should become, built independently of the encoder (times as epoch
/// microseconds only; the RFC 3339 strings are checked separately).
fn expected(s: &SpanRecord) -> Json {
    fn value(v: &Value) -> Json {
        match v {
            Value::Bool(b) => json!(b),
            Value::I64(i) => json!(i),
            Value::U64(u) => json!(u),
            Value::F64(f) if f.is_nan() => json!("NaN"),
            Value::F64(f) if f.is_infinite() => {
                json!(if *f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Value::F64(f) => json!(f),
            Value::Str(s) => json!(s),
        }
    }
    fn fields(kvs: &[KeyValue]) -> Json {
        let mut m = Map::new();
        for kv in kvs {
            m.insert(kv.key.to_string(), value(&kv.value));
        }
        Json::Object(m)
    }
    let ep = &s.process.endpoint;
    json!({
        "trace_id": s.trace_id.to_string(),
        "span_id": s.span_id.to_string(),
        "parent_id": s.parent_id.map(|p| p.to_string()),
        "references": s.references.iter().map(|r| json!({
            "kind": r.kind.as_str(),
            "trace_id": r.trace_id.to_string(),
            "span_id": r.span_id.to_string(),
        })).collect::<Vec<_>>(),
        "operation": s.operation.as_ref(),
        "start_us": micros(s.start),
        "duration_us": s.duration.as_micros() as u64,
        "tags": fields(&s.tags),
        "logs": s.logs.iter().map(|l| json!({
            "timestamp_us": micros(l.timestamp),
            "fields": fields(&l.fields),
        })).collect::<Vec<_>>(),
        "baggage": s.baggage.iter().map(|(k, v)| (k.to_owned(), json!(v))).collect::<Map<_, _>>(),
        "sampled": s.sampling.is_sampled(),
        "debug": s.sampling == Sampling::Debug,
        "shared": s.shared,
        "service": s.process.service_name.as_ref(),
        "endpoint": {
            "ipv4": ep.ipv4.map(|ip| ip.to_string()),
            "ipv6": ep.ipv6.map(|ip| ip.to_string()),
            "port": ep.port,
        },
        "process_tags": fields(&s.process.tags),
    })
}

/// Checks an RFC 3339 string against epoch microseconds (time of day and fraction; the date
/// arithmetic has its own unit tests) and removes it.
fn take_time(obj: &mut Map<String, Json>, key: &str, us_key: &str) {
    let text = obj.remove(key).unwrap();
    let text = text.as_str().unwrap();
    let us = obj[us_key].as_i64().unwrap();
    let (secs, frac) = (us.div_euclid(1_000_000), us.rem_euclid(1_000_000));
    let day = secs.rem_euclid(86_400);
    let want = format!(
        "T{:02}:{:02}:{:02}.{frac:06}Z",
        day / 3600,
        day / 60 % 60,
        day % 60
    );
    assert_eq!(text.len(), 27, "{text}");
    assert!(text.ends_with(&want), "{text} vs {us}");
}

#[test]
fn every_conformance_span_is_written_with_every_field() {
    let (spans, text) = run(Format::Json);
    let mut got: Vec<Json> = text
        .lines()
        .map(|line| {
            let mut v: Json = serde_json::from_str(line).unwrap();
            let obj = v.as_object_mut().unwrap();
            take_time(obj, "start", "start_us");
            for log in obj.get_mut("logs").unwrap().as_array_mut().unwrap() {
                take_time(log.as_object_mut().unwrap(), "timestamp", "timestamp_us");
            }
            v
        })
        .collect();
    let mut want: Vec<Json> = spans.iter().map(expected).collect();
    assert_eq!(got.len(), want.len());
    // Same multiset of spans, whatever order the batches came in.
    let key = |v: &Json| v.to_string();
    got.sort_by_key(key);
    want.sort_by_key(key);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}

#[test]
fn every_conformance_span_appears_in_the_tree() {
    let (spans, text) = run(Format::Pretty);
    let span_lines: Vec<&str> = text.lines().filter(|l| l.contains("]  span ")).collect();
    assert_eq!(span_lines.len(), spans.len(), "{text}");
    for s in &spans {
        let needle = format!("]  span {}", s.span_id);
        assert!(
            span_lines.iter().any(|l| l.contains(&needle)),
            "span {} missing:\n{text}",
            s.span_id
        );
    }
}
