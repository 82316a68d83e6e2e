//! Golden output for a fixed trace, in both formats: pins the JSON schema and the tree layout.
//! After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test -p recorder-stdout
//! --test golden` and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use recorder_stdout::{Format, StdoutRecorder};
use support::{fixture, SharedBuf};
use tracer_api::export::Reporter;

async fn report(format: Format, color: bool) -> String {
    let out = SharedBuf::default();
    let reporter = StdoutRecorder::builder()
        .with_format(format)
        .with_color(color)
        .with_writer(out.clone())
        .build_reporter();
    reporter.report(&fixture()).await.unwrap();
    out.text()
}

fn check(name: &str, got: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        got, want,
        "output differs from {name}; see the test's docs to update it"
    );
}

#[tokio::test]
async fn json_golden() {
    let text = report(Format::Json, false).await;
    check("fixture.jsonl", &text);
}

#[tokio::test]
async fn json_colour_is_ignored() {
    assert_eq!(
        report(Format::Json, true).await,
        report(Format::Json, false).await
    );
}

#[tokio::test]
async fn pretty_golden() {
    let text = report(Format::Pretty, false).await;
    check("fixture.pretty.txt", &text);
}

#[tokio::test]
async fn pretty_colour_golden() {
    let text = report(Format::Pretty, true).await;
    check("fixture.pretty-color.txt", &text);
    // Without the escape sequences it is the plain output.
    let mut plain = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find('\u{1b}') {
        plain.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find('m').unwrap();
        rest = &rest[end + 1..];
    }
    plain.push_str(rest);
    assert_eq!(plain, report(Format::Pretty, false).await);
}

/// The JSON lines parse, and every field of every record is there with the right value.
#[tokio::test]
async fn json_carries_every_field() {
    let text = report(Format::Json, false).await;
    let spans = fixture();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), spans.len());
    let keys = [
        "trace_id",
        "span_id",
        "parent_id",
        "references",
        "operation",
        "start",
        "start_us",
        "duration_us",
        "tags",
        "logs",
        "baggage",
        "sampled",
        "debug",
        "shared",
        "service",
        "endpoint",
        "process_tags",
    ];
    for (line, span) in lines.iter().zip(&spans) {
        let obj = line.as_object().unwrap();
        assert_eq!(obj.keys().count(), keys.len());
        for key in keys {
            assert!(obj.contains_key(key), "missing {key}");
        }
        assert_eq!(line["trace_id"], span.trace_id.to_string());
        assert_eq!(line["span_id"], span.span_id.to_string());
        assert_eq!(
            line["parent_id"].as_str(),
            span.parent_id.map(|p| p.to_string()).as_deref()
        );
        let refs = line["references"].as_array().unwrap();
        assert_eq!(refs.len(), span.references.len());
        for (r, want) in refs.iter().zip(&span.references) {
            assert_eq!(r["kind"], want.kind.as_str());
            assert_eq!(r["trace_id"], want.trace_id.to_string());
            assert_eq!(r["span_id"], want.span_id.to_string());
        }
        assert_eq!(line["operation"], span.operation.as_ref());
        let start_us = span
            .start
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        assert_eq!(line["start_us"].as_u64(), Some(start_us));
        assert_eq!(
            line["duration_us"].as_u64(),
            Some(span.duration.as_micros() as u64)
        );
        assert_eq!(line["tags"].as_object().unwrap().len(), span.tags.len());
        assert_eq!(line["logs"].as_array().unwrap().len(), span.logs.len());
        assert_eq!(
            line["baggage"].as_object().unwrap().len(),
            span.baggage.len()
        );
        assert_eq!(line["debug"], span.sampling == tracer_api::Sampling::Debug);
        assert_eq!(line["shared"], span.shared);
        assert_eq!(line["service"], span.process.service_name.as_ref());
        assert_eq!(
            line["process_tags"].as_object().unwrap().len(),
            span.process.tags.len()
        );
    }
    // Typed values.
    let child = &lines[0];
    assert_eq!(child["tags"]["cache.hit"], serde_json::json!(false));
    assert!(child["tags"]["ratio"].is_f64());
    assert!(child["logs"][0]["fields"]["size"].is_i64());
    assert_eq!(child["start"], "2024-02-29T12:00:00.001000Z");
    assert_eq!(child["logs"][0]["timestamp"], "2024-02-29T12:00:00.002000Z");
    assert_eq!(lines[1]["tags"]["http.status_code"], 200);
    assert_eq!(lines[1]["endpoint"]["ipv4"], "10.0.0.7");
    assert_eq!(lines[1]["endpoint"]["port"], 8080);
    assert_eq!(lines[1]["process_tags"]["cpu.count"], 4);
    assert_eq!(lines[2]["tags"]["amount"], "NaN");
    assert_eq!(lines[2]["trace_id"], "000000000000002a");
}
