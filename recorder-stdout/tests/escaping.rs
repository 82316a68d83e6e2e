//! Strings with quotes, newlines, control characters and non-ASCII stay valid JSON (checked by
//! parsing with serde_json) and read back unchanged; the tree escapes them for the terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::borrow::Cow;
use std::sync::Arc;

use recorder_stdout::{Format, StdoutRecorder};
use support::{fixture, SharedBuf};
use tracer_api::export::Reporter;
use tracer_api::{KeyValue, LogRecord, Process, Value};

const NASTY: &[&str] = &[
    "say \"hi\"",
    "back\\slash",
    "two\nlines\r\n",
    "tab\there",
    "nul\u{0}bell\u{7}esc\u{1b}[31mred\u{1b}[0m",
    "del\u{7f} csi\u{9b}",
    "héllo wörld ✓ 日本語 😀",
    "line sep\u{2028}para sep\u{2029}",
    "{\"looks\":\"like json\"}",
    "",
];

fn nasty_batch() -> Vec<tracer_api::SpanRecord> {
    let mut spans = Vec::new();
    for (i, s) in NASTY.iter().enumerate() {
        let mut span = fixture().remove(0);
        span.span_id = support::sid(1000 + i as u64);
        span.operation = Cow::Owned(s.to_string());
        span.tags = vec![KeyValue::new(s.to_string(), s.to_string())];
        span.logs = vec![LogRecord {
            timestamp: support::at(0),
            fields: vec![KeyValue::new("msg", s.to_string())],
        }];
        span.baggage = Default::default();
        span.baggage.set(format!("k{s}"), s.to_string());
        span.process = Arc::new(Process {
            service_name: Cow::Owned(s.to_string()),
            tags: vec![KeyValue::new("p", s.to_string())],
            ..Process::default()
        });
        spans.push(span);
    }
    spans
}

async fn render(format: Format, color: bool, batch: &[tracer_api::SpanRecord]) -> String {
    let out = SharedBuf::default();
    let reporter = StdoutRecorder::builder()
        .with_format(format)
        .with_color(color)
        .with_writer(out.clone())
        .build_reporter();
    reporter.report(batch).await.unwrap();
    out.text()
}

#[tokio::test]
async fn nasty_strings_round_trip_through_json() {
    let batch = nasty_batch();
    let text = render(Format::Json, false, &batch).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), NASTY.len(), "a raw newline split a line");
    for (line, s) in lines.iter().zip(NASTY) {
        assert!(!line.contains('\u{1b}') && !line.contains('\u{9b}'));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["operation"], *s);
        assert_eq!(v["tags"][*s], *s);
        assert_eq!(v["logs"][0]["fields"]["msg"], *s);
        assert_eq!(v["baggage"][format!("k{s}")], *s);
        assert_eq!(v["service"], *s);
        assert_eq!(v["process_tags"]["p"], *s);
    }
}

#[tokio::test]
async fn numbers_keep_their_type_and_non_finite_floats_become_strings() {
    let mut span = fixture().remove(0);
    span.tags = vec![
        KeyValue::new("min", i64::MIN),
        KeyValue::new("max", u64::MAX),
        KeyValue::new("one", 1.0),
        KeyValue::new("tiny", 5e-324),
        KeyValue::new("big", f64::MAX),
        KeyValue::new("nan", Value::F64(f64::NAN)),
        KeyValue::new("inf", f64::INFINITY),
        KeyValue::new("-inf", f64::NEG_INFINITY),
        KeyValue::new("yes", true),
    ];
    let text = render(Format::Json, false, &[span]).await;
    let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    let tags = &v["tags"];
    assert_eq!(tags["min"].as_i64(), Some(i64::MIN));
    assert_eq!(tags["max"].as_u64(), Some(u64::MAX));
    assert!(tags["one"].is_f64());
    assert_eq!(tags["one"].as_f64(), Some(1.0));
    assert_eq!(tags["tiny"].as_f64(), Some(5e-324));
    assert_eq!(tags["big"].as_f64(), Some(f64::MAX));
    assert_eq!(tags["nan"], "NaN");
    assert_eq!(tags["inf"], "Infinity");
    assert_eq!(tags["-inf"], "-Infinity");
    assert_eq!(tags["yes"], true);
}

#[tokio::test]
async fn the_tree_never_passes_control_characters_to_the_terminal() {
    let batch = nasty_batch();
    for color in [false, true] {
        let text = render(Format::Pretty, color, &batch).await;
        let spans = text
            .lines()
            .filter(|l| l.contains("  span 00000000000003"))
            .count();
        assert_eq!(spans, NASTY.len(), "{text}");
        let mut stripped = text.clone();
        for code in [
            "\u{1b}[0m",
            "\u{1b}[1m",
            "\u{1b}[2m",
            "\u{1b}[1;31m",
            "\u{1b}[36m",
            "\u{1b}[32m",
        ] {
            stripped = stripped.replace(code, "");
        }
        assert!(
            !stripped.chars().any(|c| c.is_control() && c != '\n'),
            "{stripped:?}"
        );
        assert!(stripped.contains("esc\\u{1b}[31mred"));
    }
}
