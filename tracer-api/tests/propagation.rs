#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Propagation behaviour: malformed inputs (B3 spec and zipkin-go rules, W3C conformance
//! cases), bounds, a deterministic fuzz loop over every extractor and the binary decoder, and
//! round trips through `Tracer::inject` / `Tracer::extract` with the default propagator.

use std::collections::HashMap;
use std::time::Duration;

use tracer_api::propagation::{
    binary, default_propagator, BaggageHeaders, OtTracer, Propagator, TraceContext, B3,
};
use tracer_api::sampler::NeverSample;
use tracer_api::{
    Baggage, ExtractError, Extracted, InMemoryRecorder, Sampling, SpanContext, SpanId, TraceId,
    Tracer,
};

fn h(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The (format, reason) of a corrupted-context error, or a panic naming what came instead.
fn corrupted(r: Result<Extracted, ExtractError>, what: &str) -> (&'static str, String) {
    match r {
        Err(ExtractError::Corrupted { format, reason }) => (format, reason.into_owned()),
        other => panic!("{what}: expected a corrupted context, got {other:?}"),
    }
}

fn context(r: Result<Extracted, ExtractError>, what: &str) -> SpanContext {
    match r {
        Ok(Extracted::Context(c)) => {
            assert!(c.is_remote(), "{what}: extracted contexts are remote");
            c
        }
        other => panic!("{what}: expected a context, got {other:?}"),
    }
}

fn trace(high: u64, low: u64) -> TraceId {
    TraceId::from_parts(high, low).unwrap()
}

fn span(id: u64) -> SpanId {
    SpanId::from_u64(id).unwrap()
}

// ---------------------------------------------------------------------------------------------
// B3 multi-header: wire-formats 5.1 / 5.2.

#[test]
fn b3_multi_malformed_cases_are_corrupted() {
    let ids = [
        ("x-b3-traceid", "463ac35c9f6413ad"),
        ("x-b3-spanid", "a2fb4a1d1a96d312"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut m = h(&ids);
        m.extend(h(extra));
        m
    };
    let cases: Vec<(&str, HashMap<String, String>, &str)> = vec![
        (
            "sampled nonsense",
            with(&[("x-b3-sampled", "yes")]),
            "Sampled",
        ),
        ("sampled empty", with(&[("x-b3-sampled", "")]), "Sampled"),
        ("sampled 2", with(&[("x-b3-sampled", "2")]), "Sampled"),
        ("sampled padded", with(&[("x-b3-sampled", " 1")]), "Sampled"),
        (
            "sampled alone, bad",
            h(&[("x-b3-sampled", "maybe")]),
            "Sampled",
        ),
        (
            "trace only",
            h(&[("x-b3-traceid", "463ac35c9f6413ad")]),
            "both TraceID and SpanID",
        ),
        (
            "span only",
            h(&[("x-b3-spanid", "a2fb4a1d1a96d312")]),
            "both TraceID and SpanID",
        ),
        (
            "trace only with sampled",
            h(&[("x-b3-traceid", "463ac35c9f6413ad"), ("x-b3-sampled", "1")]),
            "both TraceID and SpanID",
        ),
        (
            "parent without ids",
            h(&[("x-b3-parentspanid", "0020000000000001")]),
            "ParentSpanID requires",
        ),
        (
            "parent without ids, with sampled",
            h(&[
                ("x-b3-parentspanid", "0020000000000001"),
                ("x-b3-sampled", "1"),
            ]),
            "ParentSpanID requires",
        ),
        (
            "parent dash",
            with(&[("x-b3-parentspanid", "-")]),
            "ParentSpanID",
        ),
        (
            "parent empty",
            with(&[("x-b3-parentspanid", "")]),
            "ParentSpanID",
        ),
        (
            "parent zero",
            with(&[("x-b3-parentspanid", "0000000000000000")]),
            "ParentSpanID",
        ),
        (
            "parent too long",
            with(&[("x-b3-parentspanid", "00000000000000001")]),
            "ParentSpanID",
        ),
        (
            "trace empty",
            h(&[("x-b3-traceid", ""), ("x-b3-spanid", "1")]),
            "TraceID",
        ),
        (
            "span empty",
            h(&[("x-b3-traceid", "1"), ("x-b3-spanid", "")]),
            "SpanID",
        ),
        (
            "trace nonsense",
            h(&[("x-b3-traceid", "xyz"), ("x-b3-spanid", "1")]),
            "TraceID",
        ),
        (
            "trace dash",
            h(&[("x-b3-traceid", "-"), ("x-b3-spanid", "1")]),
            "TraceID",
        ),
        (
            "trace 33 digits",
            h(&[("x-b3-traceid", &"1".repeat(33)), ("x-b3-spanid", "1")]),
            "TraceID",
        ),
        (
            "span 17 digits",
            h(&[("x-b3-traceid", "1"), ("x-b3-spanid", &"1".repeat(17))]),
            "SpanID",
        ),
        (
            "trace zero",
            h(&[("x-b3-traceid", "0000000000000000"), ("x-b3-spanid", "1")]),
            "zeros",
        ),
        (
            "trace zero 128",
            h(&[("x-b3-traceid", &"0".repeat(32)), ("x-b3-spanid", "1")]),
            "zeros",
        ),
        (
            "span zero",
            h(&[("x-b3-traceid", "1"), ("x-b3-spanid", "0000000000000000")]),
            "zeros",
        ),
        (
            "trace non-ascii",
            h(&[("x-b3-traceid", "463ac35c9f6413aé"), ("x-b3-spanid", "1")]),
            "TraceID",
        ),
        (
            "trace with sign",
            h(&[("x-b3-traceid", "+1"), ("x-b3-spanid", "1")]),
            "TraceID",
        ),
    ];
    for (name, carrier, reason_part) in cases {
        let (format, reason) = corrupted(B3::multi().extract(&carrier), name);
        assert_eq!(format, "b3", "{name}");
        assert!(reason.contains(reason_part), "{name}: {reason}");
    }
}

#[test]
fn b3_multi_valid_and_lenient_cases() {
    let found = |m: &[(&str, &str)]| B3::multi().extract(&h(m));
    // The spec's example, 128-bit trace id, any header-name case.
    let c = context(
        found(&[
            ("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"),
            ("X-B3-ParentSpanId", "05e3ac9a4f6e3b90"),
            ("X-B3-SpanId", "e457b5a2e4d86bd1"),
            ("X-B3-Sampled", "1"),
        ]),
        "spec example",
    );
    assert_eq!(c.trace_id().to_string(), "80f198ee56343ba864fe8b2a57d3eff7");
    assert_eq!(c.span_id().to_string(), "e457b5a2e4d86bd1");
    assert_eq!(c.parent_id(), Some(span(0x05e3_ac9a_4f6e_3b90)));
    assert_eq!(c.sampling(), Sampling::Accept);

    for (v, want) in [
        ("1", Sampling::Accept),
        ("0", Sampling::Deny),
        ("true", Sampling::Accept),
        ("FALSE", Sampling::Deny),
        ("True", Sampling::Accept),
    ] {
        let c = context(
            found(&[
                ("x-b3-traceid", "1"),
                ("x-b3-spanid", "2"),
                ("x-b3-sampled", v),
            ]),
            v,
        );
        assert_eq!(c.sampling(), want, "{v}");
    }
    // Upper-case hex is read; written back lower-case, 64-bit stays 16 digits.
    let c = context(
        found(&[
            ("x-b3-traceid", "463AC35C9F6413AD"),
            ("x-b3-spanid", "A2FB4A1D1A96D312"),
        ]),
        "upper",
    );
    assert_eq!(c.sampling(), Sampling::Deferred);
    let mut out = HashMap::new();
    B3::multi().inject(&c, &mut out);
    assert_eq!(out["x-b3-traceid"], "463ac35c9f6413ad");
    assert_eq!(out["x-b3-spanid"], "a2fb4a1d1a96d312");
    assert!(!out.contains_key("x-b3-sampled"), "deferred stays deferred");

    // Debug: flags exactly "1", wins over sampled; other flags values are ignored.
    let c = context(
        found(&[
            ("x-b3-traceid", "1"),
            ("x-b3-spanid", "2"),
            ("x-b3-flags", "1"),
            ("x-b3-sampled", "0"),
        ]),
        "debug",
    );
    assert!(c.is_debug());
    let c = context(
        found(&[
            ("x-b3-traceid", "1"),
            ("x-b3-spanid", "2"),
            ("x-b3-flags", "2"),
            ("x-b3-sampled", "1"),
        ]),
        "flags 2",
    );
    assert_eq!(c.sampling(), Sampling::Accept);

    // Sampling only.
    assert_eq!(
        found(&[("x-b3-sampled", "0")]),
        Ok(Extracted::SamplingOnly(Sampling::Deny))
    );
    assert_eq!(
        found(&[("x-b3-sampled", "true")]),
        Ok(Extracted::SamplingOnly(Sampling::Accept))
    );
    assert_eq!(
        found(&[("x-b3-flags", "1")]),
        Ok(Extracted::SamplingOnly(Sampling::Debug))
    );
    // Nothing at all, or only unrelated headers / ignored flags.
    assert_eq!(found(&[]), Err(ExtractError::NotFound));
    assert_eq!(
        found(&[("content-type", "text/plain"), ("x-b3-flags", "0")]),
        Err(ExtractError::NotFound)
    );
}

// ---------------------------------------------------------------------------------------------
// B3 single header: the cases of zipkin-go's spancontext_test.go, plus the B3 spec's.

#[test]
fn b3_single_header_parse_successes() {
    let cases: Vec<(&str, Extracted)> = vec![
        ("d", Extracted::SamplingOnly(Sampling::Debug)),
        ("1", Extracted::SamplingOnly(Sampling::Accept)),
        ("0", Extracted::SamplingOnly(Sampling::Deny)),
        (
            "000000000000007b00000000000001c8-000000000000007b",
            SpanContext::new(trace(123, 456), span(123), Sampling::Deferred).into(),
        ),
        (
            "000000000000007b00000000000001c8-000000000000007b-0",
            SpanContext::new(trace(123, 456), span(123), Sampling::Deny).into(),
        ),
        (
            "000000000000007b00000000000001c8-000000000000007b-1-00000000000001c8",
            SpanContext::new(trace(123, 456), span(123), Sampling::Accept)
                .with_parent_id(Some(span(456)))
                .into(),
        ),
        (
            "000000000000007b-00000000000001c8-d",
            SpanContext::new(trace(0, 123), span(456), Sampling::Debug).into(),
        ),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
            SpanContext::new(
                trace(0x80f1_98ee_5634_3ba8, 0x64fe_8b2a_57d3_eff7),
                span(0xe457_b5a2_e4d8_6bd1),
                Sampling::Accept,
            )
            .with_parent_id(Some(span(0x05e3_ac9a_4f6e_3b90)))
            .into(),
        ),
        // Upper case is read (leniently, like zipkin-go).
        (
            "000000000000007B-00000000000001C8-0",
            SpanContext::new(trace(0, 123), span(456), Sampling::Deny).into(),
        ),
    ];
    for (header, want) in cases {
        let got = B3::single().extract(&h(&[("b3", header)])).unwrap();
        let want = match want {
            Extracted::Context(c) => Extracted::Context(c.with_remote(true)),
            w => w,
        };
        assert_eq!(got, want, "{header}");
    }
}

#[test]
fn b3_single_header_parse_failures() {
    let p = "000000000000007b00000000000001c8";
    let cases: Vec<(String, &str)> = vec![
        ("a".into(), "Sampled"),
        ("3".into(), "Sampled"),
        ("D".into(), "Sampled"),
        ("000000000000007b".into(), "both TraceID and SpanID"),
        (p.into(), "both TraceID and SpanID"),
        (format!("{p}-000000000000007b-"), "Sampled"),
        (format!("{p}-000000000000007b-3"), "Sampled"),
        (format!("{p}-000000000000007b-true"), "Sampled"),
        (
            format!("{p}-000000000000007b-00000000000001c8"),
            "requires TraceID, SpanID and Sampled",
        ),
        (
            format!("{p}-000000000000007b-1-00000000000001c"),
            "ParentSpanID",
        ),
        (
            format!("{p}-000000000000007b-1-00000000000001c80"),
            "ParentSpanID",
        ),
        (
            format!("{p}-000000000000007b-1-0000000000000000"),
            "ParentSpanID",
        ),
        (
            format!("{p}-000000000000007b-1-00000000000001cx"),
            "ParentSpanID",
        ),
        (
            format!("{p}-000000000000007b-1-00000000000001c8-"),
            "more than four",
        ),
        (
            format!("{p}-000000000000007b-1-00000000000001c8-x"),
            "more than four",
        ),
        ("".into(), "empty"),
        ("00000000000007b-000000000000007b".into(), "TraceID"),
        ("0000000000000007b-000000000000007b".into(), "TraceID"),
        ("0000000000000000-000000000000007b-1".into(), "zeros"),
        ("x00000000000007b-000000000000007b-1".into(), "TraceID"),
        ("000000000000007b-0000000000000000-1".into(), "zeros"),
        ("000000000000007b-00000000000007b-1".into(), "SpanID"),
        ("000000000000007b-000000000000007bb-1".into(), "SpanID"),
        ("000000000000007b-00000000000000é-1".into(), "SpanID"),
        ("00000000000000é-000000000000007b-1".into(), "TraceID"),
        ("é".into(), "TraceID"),
        ("-".into(), "Sampled"),
        ("--".into(), "TraceID"),
        (" 000000000000007b-000000000000007b".into(), "TraceID"),
        ("000000000000007b-000000000000007b ".into(), "SpanID"),
        ("000000000000007b_000000000000007b".into(), "TraceID"),
    ];
    for (header, reason_part) in cases {
        let (format, reason) = corrupted(B3::single().extract(&h(&[("b3", &header)])), &header);
        assert_eq!(format, "b3-single", "{header}");
        assert!(reason.contains(reason_part), "{header:?}: {reason}");
    }
    assert_eq!(B3::single().extract(&h(&[])), Err(ExtractError::NotFound));
    // Single reads only `b3`; multi only x-b3-*.
    assert_eq!(
        B3::single().extract(&h(&[("x-b3-traceid", "1"), ("x-b3-spanid", "2")])),
        Err(ExtractError::NotFound)
    );
    assert_eq!(
        B3::multi().extract(&h(&[("b3", "1")])),
        Err(ExtractError::NotFound)
    );
}

#[test]
fn b3_both_precedence() {
    let multi = [
        ("x-b3-traceid", "1"),
        ("x-b3-spanid", "2"),
        ("x-b3-sampled", "1"),
    ];
    // Single present and good: it wins.
    let mut m = h(&multi);
    m.insert("b3".into(), "000000000000000a-000000000000000b-0".into());
    let c = context(B3::both().extract(&m), "both good");
    assert_eq!(c.trace_id(), trace(0, 10));
    assert_eq!(c.sampling(), Sampling::Deny);
    // Single broken, multi good: multi.
    m.insert("b3".into(), "garbage".into());
    let c = context(B3::both().extract(&m), "single broken");
    assert_eq!(c.trace_id(), trace(0, 1));
    // Both broken: the single header's error.
    m.insert("x-b3-spanid".into(), "zz".into());
    assert_eq!(
        corrupted(B3::both().extract(&m), "both broken").0,
        "b3-single"
    );
    // Single broken, multi absent: the single header's error.
    assert_eq!(
        corrupted(B3::both().extract(&h(&[("b3", "")])), "empty").0,
        "b3-single"
    );
    // Single absent, multi broken: the multi error.
    assert_eq!(
        corrupted(B3::both().extract(&h(&[("x-b3-spanid", "1")])), "multi").0,
        "b3"
    );
    assert_eq!(B3::both().extract(&h(&[])), Err(ExtractError::NotFound));
}

// ---------------------------------------------------------------------------------------------
// W3C traceparent: w3c/trace-context test/tracecontext/test_traceparent.py and test/test.py.

#[test]
fn traceparent_valid_cases() {
    let t = "12345678901234567890123456789012";
    let s = "1234567890123456";
    let cases: Vec<(String, Sampling)> = vec![
        (format!("00-{t}-{s}-00"), Sampling::Deny),
        (format!("00-{t}-{s}-01"), Sampling::Accept),
        (format!("00-{t}-{s}-02"), Sampling::Deny),
        (format!("00-{t}-{s}-03"), Sampling::Accept),
        (format!("00-{t}-{s}-ff"), Sampling::Accept),
        (
            format!("00-ffffffffffffffffffffffffffffffff-{s}-01"),
            Sampling::Accept,
        ),
        (format!("00-{t}-ffffffffffffffff-01"), Sampling::Accept),
        (format!("01-{t}-{s}-00"), Sampling::Deny),
        (format!("cc-{t}-{s}-01"), Sampling::Accept),
        (
            format!("cc-{t}-{s}-01-what-the-future-will-be-like"),
            Sampling::Accept,
        ),
        (format!("fe-{t}-{s}-01-"), Sampling::Accept),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            Sampling::Accept,
        ),
    ];
    for (tp, sampling) in cases {
        let c = context(
            TraceContext::new().extract(&h(&[("traceparent", &tp)])),
            &tp,
        );
        assert_eq!(c.sampling(), sampling, "{tp}");
        assert_eq!(c.trace_id().to_hex32(), tp[3..35], "{tp}");
        assert_eq!(c.span_id().to_string(), tp[36..52], "{tp}");
    }
    // Header name in any case.
    for name in ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
        context(
            TraceContext::new().extract(&h(&[(name, &format!("00-{t}-{s}-01"))])),
            name,
        );
    }
}

#[test]
fn traceparent_invalid_cases() {
    let t = "12345678901234567890123456789012";
    let s = "1234567890123456";
    let cases: Vec<String> = vec![
        format!("ff-{t}-{s}-01"),
        format!("00-00000000000000000000000000000000-{s}-01"),
        format!("00-{t}-0000000000000000-01"),
        format!("0-{t}-{s}-01"),
        format!("000-{t}-{s}-01"),
        format!("0000-{t}-{s}-01"),
        format!(".0-{t}-{s}-01"),
        format!("0.-{t}-{s}-01"),
        format!("00-1234567890123456789012345678901-{s}-00"),
        format!("00-123456789012345678901234567890123-{s}-00"),
        format!("00-.2345678901234567890123456789012-{s}-01"),
        format!("00-1234567890123456789012345678901.-{s}-01"),
        format!("00-{t}-123456789012345-00"),
        format!("00-{t}-12345678901234567-00"),
        format!("00-{t}-.234567890123456-01"),
        format!("00-{t}-123456789012345.-01"),
        format!("00-{t}-{s}-.0"),
        format!("00-{t}-{s}-0."),
        format!("00-{t}-{s}-0"),
        format!("00-{t}-{s}-001"),
        format!("00-{t}-{s}-01."),
        format!("00-{t}-{s}-01-what-the-future-will-be-like"),
        format!("cc-{t}-{s}-01.what-the-future-will-be-like"),
        format!("00-{}-{s}-01", t.to_uppercase().replace('1', "A")),
        format!("00-{t}-123456789012345A-01"),
        format!("00-{t}-{s}-0A"),
        format!("0A-{t}-{s}-01"),
        format!("00_{t}_{s}_01"),
        format!(" 00-{t}-{s}-01"),
        format!("00-{t}-{s}-01 "),
        format!("00-{t}-{s}-é"),
        format!("00-{t}é-{s}-01"),
        String::new(),
        "00".into(),
        "-".repeat(55),
        "0".repeat(55),
        "é".repeat(30),
    ];
    for tp in cases {
        let (format, _) = corrupted(
            TraceContext::new().extract(&h(&[("traceparent", &tp)])),
            &tp,
        );
        assert_eq!(format, "traceparent", "{tp}");
    }
    // Wrong header names are not read.
    for name in ["trace-parent", "trace.parent"] {
        assert_eq!(
            TraceContext::new().extract(&h(&[(name, &format!("00-{t}-{s}-01"))])),
            Err(ExtractError::NotFound)
        );
    }
    // An invalid traceparent drops the tracestate with it.
    assert!(TraceContext::new()
        .extract(&h(&[("traceparent", "junk"), ("tracestate", "a=b")]))
        .is_err());
}

#[test]
fn tracestate_is_opaque_and_bounded() {
    let tp = "00-12345678901234567890123456789012-1234567890123456-01";
    let ts = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE, odd = value ";
    let c = context(
        TraceContext::new().extract(&h(&[("traceparent", tp), ("TraceState", ts)])),
        "ts",
    );
    assert_eq!(c.trace_state(), Some(ts));
    let mut out = HashMap::new();
    TraceContext::new().inject(&c, &mut out);
    assert_eq!(out["tracestate"], ts);
    assert_eq!(out["traceparent"], tp);

    let big = "a=".to_owned() + &"b".repeat(600);
    let c = context(
        TraceContext::new().extract(&h(&[("traceparent", tp), ("tracestate", &big)])),
        "big",
    );
    assert_eq!(c.trace_state(), None);
    let mut out = HashMap::new();
    TraceContext::new().inject(&c, &mut out);
    assert!(!out.contains_key("tracestate"));
}

// ---------------------------------------------------------------------------------------------
// ot-tracer and baggage.

#[test]
fn ot_tracer_cases() {
    let ok = h(&[
        ("ot-tracer-traceid", "7b"),
        ("ot-tracer-spanid", "1c8"),
        ("ot-tracer-sampled", "false"),
    ]);
    let c = context(OtTracer::new().extract(&ok), "ok");
    assert_eq!(c.trace_id(), trace(0, 0x7b));
    assert_eq!(c.sampling(), Sampling::Deny);
    // 128-bit ids in full.
    let c = context(
        OtTracer::new().extract(&h(&[
            ("ot-tracer-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
            ("ot-tracer-spanid", "e457b5a2e4d86bd1"),
            ("ot-tracer-sampled", "1"),
        ])),
        "128",
    );
    assert!(c.trace_id().is_128bit());
    assert!(c.is_sampled());

    for missing in ["ot-tracer-traceid", "ot-tracer-spanid", "ot-tracer-sampled"] {
        let mut m = ok.clone();
        m.remove(missing);
        let (format, reason) = corrupted(OtTracer::new().extract(&m), missing);
        assert_eq!(format, "ot-tracer");
        assert!(reason.contains(missing), "{reason}");
    }
    for (key, bad) in [
        ("ot-tracer-traceid", ""),
        ("ot-tracer-traceid", "0"),
        ("ot-tracer-traceid", "-7b"),
        ("ot-tracer-traceid", "7b "),
        ("ot-tracer-spanid", "0x1c8"),
        ("ot-tracer-spanid", "é"),
        ("ot-tracer-sampled", ""),
        ("ot-tracer-sampled", "yes"),
        ("ot-tracer-sampled", "tRUE"),
    ] {
        let mut m = ok.clone();
        m.insert(key.into(), bad.into());
        corrupted(OtTracer::new().extract(&m), bad);
    }
    assert_eq!(
        OtTracer::new().extract(&h(&[])),
        Err(ExtractError::NotFound)
    );
}

#[test]
fn baggage_bounds_never_keep_half() {
    let base = [("x-b3-traceid", "1"), ("x-b3-spanid", "2")];
    let p = BaggageHeaders::new(B3::multi());
    let mut m = h(&base);
    for i in 0..65 {
        m.insert(format!("ot-baggage-item{i}"), "x".into());
    }
    assert_eq!(corrupted(p.extract(&m), "65 items").0, "ot-baggage");
    // The same bound applies to ot-tracer's own baggage.
    m.extend(h(&[
        ("ot-tracer-traceid", "1"),
        ("ot-tracer-spanid", "2"),
        ("ot-tracer-sampled", "true"),
    ]));
    assert_eq!(
        corrupted(OtTracer::new().extract(&m), "ot 65 items").0,
        "ot-baggage"
    );

    let mut m = h(&base);
    m.insert("ot-baggage-a".into(), "x".repeat(5000));
    m.insert("ot-baggage-b".into(), "x".repeat(5000));
    assert_eq!(corrupted(p.extract(&m), "10 KB").0, "ot-baggage");
    m.remove("ot-baggage-b");
    let c = context(p.extract(&m), "5 KB");
    assert_eq!(c.baggage_item("a").map(str::len), Some(5000));
    // Non-ASCII baggage values survive a HashMap carrier untouched.
    let mut m = h(&base);
    m.insert("ot-baggage-name".into(), "Zoë 東京".into());
    assert_eq!(
        context(p.extract(&m), "utf8").baggage_item("name"),
        Some("Zoë 東京")
    );
}

// ---------------------------------------------------------------------------------------------
// Empty, oversized and non-ASCII values everywhere.

fn all_extractors() -> Vec<(&'static str, Box<dyn Propagator>)> {
    vec![
        ("b3 multi", Box::new(B3::multi())),
        ("b3 single", Box::new(B3::single())),
        ("b3 both", Box::new(B3::both())),
        ("traceparent", Box::new(TraceContext::new())),
        ("ot-tracer", Box::new(OtTracer::new())),
        ("baggage(b3)", Box::new(BaggageHeaders::new(B3::both()))),
        (
            "baggage(w3c)",
            Box::new(BaggageHeaders::new(TraceContext::new())),
        ),
        ("default", Box::new(default_propagator())),
    ]
}

const HEADERS: &[&str] = &[
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "traceparent",
    "tracestate",
    "ot-tracer-traceid",
    "ot-tracer-spanid",
    "ot-tracer-sampled",
];

#[test]
fn empty_oversized_and_non_ascii_values_are_corrupted_never_panic() {
    let huge = "1".repeat(1 << 20);
    let huge_hex_dash = format!("{}-{}", "a".repeat(1 << 19), "b".repeat(1 << 19));
    for value in [
        "",
        " ",
        "é",
        "\u{0}",
        "\u{2028}",
        "東京-東京-1",
        &huge,
        &huge_hex_dash,
    ] {
        for header in HEADERS {
            if *header == "tracestate" {
                continue;
            }
            let m = h(&[(header, value)]);
            for (name, p) in all_extractors() {
                match p.extract(&m) {
                    Err(ExtractError::Corrupted { .. }) => {}
                    // A propagator that does not read this header finds nothing.
                    Err(ExtractError::NotFound) => {}
                    other => panic!("{name} {header}={value:.20?}: {other:?}"),
                }
            }
        }
    }
    // And the header's own codec reports it as corrupted (not absent).
    for (header, p) in [
        ("b3", &B3::single() as &dyn Propagator),
        ("x-b3-traceid", &B3::multi()),
        ("x-b3-sampled", &B3::multi()),
        ("traceparent", &TraceContext::new()),
    ] {
        for value in ["", "é", huge.as_str()] {
            let (_, reason) = corrupted(p.extract(&h(&[(header, value)])), header);
            assert!(reason.len() < 200, "reasons stay short: {reason}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic fuzzing: every extractor and the binary decoder, no panics, and whatever is
// accepted survives a round trip through the same codec.

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        // Knuth's MMIX constants; the high bits are the good ones.
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A random value, usually close to something valid so that the parsers go deep.
fn random_value(rng: &mut Lcg) -> String {
    const PIECES: &[&str] = &[
        "0",
        "1",
        "d",
        "-",
        "a",
        "f",
        "A",
        "F",
        "g",
        "00",
        "01",
        "ff",
        "cc",
        "true",
        "false",
        "é",
        "東",
        " ",
        "\t",
        "7b",
        "000000000000007b",
        "00000000000001c8",
        "000000000000007b00000000000001c8",
        "0000000000000000",
        "12345678901234567890123456789012",
        "1234567890123456",
        "\u{0}",
        "\u{7f}",
        "=",
        ",",
    ];
    let mut s = String::new();
    for _ in 0..rng.below(8) {
        if rng.below(4) == 0 {
            let c = char::from_u32(rng.next() as u32 % 0x800).unwrap_or('?');
            s.push(c);
        } else {
            s.push_str(rng.pick::<&str>(PIECES));
        }
    }
    s
}

fn assert_round_trip(
    name: &str,
    p: &dyn Propagator,
    c: &SpanContext,
    input: &HashMap<String, String>,
) {
    assert!(c.is_remote(), "{name}: not remote for {input:?}");
    let mut out = HashMap::new();
    p.inject(c, &mut out);
    let back = match p.extract(&out) {
        Ok(Extracted::Context(b)) => b,
        other => panic!("{name}: re-extract of {out:?} (from {input:?}) gave {other:?}"),
    };
    assert_eq!(back.trace_id(), c.trace_id(), "{name}: {input:?}");
    assert_eq!(back.span_id(), c.span_id(), "{name}: {input:?}");
    assert_eq!(back.sampling(), c.sampling(), "{name}: {input:?}");
    assert_eq!(back.baggage(), c.baggage(), "{name}: {input:?}");
    if name != "default" {
        // The default propagator reads B3 before traceparent, so only a single codec keeps
        // parent ids and tracestate exactly.
        assert_eq!(&back, c, "{name}: {input:?}");
    }
}

#[test]
fn fuzz_header_extractors() {
    let mut rng = Lcg(0x5eed_0fb3);
    let extractors = all_extractors();
    let mut names: Vec<String> = HEADERS.iter().map(|s| (*s).to_owned()).collect();
    names.extend(HEADERS.iter().map(|s| s.to_uppercase()));
    names.extend(
        [
            "ot-baggage-k",
            "OT-BAGGAGE-K",
            "ot-baggage-",
            "ot-baggage-é",
            "other",
        ]
        .map(String::from),
    );
    let mut accepted = 0;
    for _ in 0..4000 {
        let mut m = HashMap::new();
        for _ in 0..=rng.below(6) {
            m.insert(rng.pick(&names).clone(), random_value(&mut rng));
        }
        // Often start from a valid carrier and damage one header.
        if rng.below(2) == 0 {
            let valid = SpanContext::new(
                trace(rng.next(), rng.next() | 1),
                span(rng.next() | 1),
                Sampling::Accept,
            )
            .with_parent_id(Some(span(7)));
            let mut base = HashMap::new();
            B3::both().inject(&valid, &mut base);
            TraceContext::new().inject(&valid, &mut base);
            OtTracer::new().inject(&valid, &mut base);
            base.extend(m);
            m = base;
        }
        for (name, p) in &extractors {
            if let Ok(Extracted::Context(c)) = p.extract(&m) {
                accepted += 1;
                assert_round_trip(name, p.as_ref(), &c, &m);
            }
        }
    }
    assert!(
        accepted > 1000,
        "the fuzzer should reach valid inputs too: {accepted}"
    );
}

#[test]
fn fuzz_binary_decoder() {
    let mut rng = Lcg(0x00b1_4a27);
    let mut accepted = 0;
    for i in 0..6000 {
        let bytes: Vec<u8> = if i % 3 == 0 {
            // Pure noise, often with a plausible length prefix.
            let n = rng.below(64);
            let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            if n >= 4 && rng.below(2) == 0 {
                b[..4].copy_from_slice(&((n - 4) as u32).to_be_bytes());
            }
            b
        } else {
            // A valid encoding, damaged.
            let c = SpanContext::new(
                trace(rng.next() % 3, rng.next() | 1),
                span(rng.next() | 1),
                Sampling::Debug,
            )
            .with_parent_id(SpanId::from_u64(rng.next() % 2))
            .with_baggage(Baggage::from_iter([("k", "v"), ("user", "ada")]));
            let mut b = binary::encode(&c);
            for _ in 0..=rng.below(3) {
                if b.is_empty() {
                    break;
                }
                match rng.below(4) {
                    0 => {
                        let at = rng.below(b.len());
                        b[at] = rng.next() as u8;
                    }
                    1 => b.truncate(rng.below(b.len() + 1)),
                    2 => {
                        let at = rng.below(b.len() + 1);
                        b.insert(at, rng.next() as u8);
                    }
                    _ => {
                        let at = rng.below(b.len());
                        b[at] ^= 1 << rng.below(8);
                    }
                }
            }
            b
        };
        match binary::decode(&bytes) {
            Ok(c) => {
                accepted += 1;
                assert!(c.is_remote());
                assert_eq!(binary::decode(&binary::encode(&c)), Ok(c), "{bytes:02x?}");
            }
            Err(ExtractError::NotFound) => assert!(bytes.is_empty()),
            Err(ExtractError::Corrupted { format, .. }) => assert_eq!(format, "binary"),
        }
    }
    assert!(accepted > 100, "some damaged inputs stay valid: {accepted}");
}

// ---------------------------------------------------------------------------------------------
// Through the tracer, with the default propagator.

fn tracer_64bit(recorder: &InMemoryRecorder) -> Tracer {
    Tracer::builder()
        .with_service_name("propagation-test")
        .with_recorder(recorder.clone())
        .with_128bit_trace_ids(false)
        .build()
        .unwrap()
}

#[test]
fn tracer_round_trip_keeps_64bit_ids_debug_and_baggage() {
    let recorder = InMemoryRecorder::new();
    let tracer = tracer_64bit(&recorder);
    let mut client = tracer.span("client").start();
    client.set_baggage_item("customer", "acme");
    let mut headers = HashMap::new();
    tracer.inject(client.context(), &mut headers);

    let tid = client.context().trace_id();
    assert!(!tid.is_128bit());
    assert_eq!(
        headers["x-b3-traceid"].len(),
        16,
        "64-bit ids are never padded on B3"
    );
    assert_eq!(headers["x-b3-traceid"], tid.to_string());
    assert_eq!(headers["x-b3-sampled"], "1");
    assert_eq!(
        headers["traceparent"],
        format!("00-{}-{}-01", tid.to_hex32(), client.context().span_id())
    );
    assert_eq!(headers["ot-baggage-customer"], "acme");

    let extracted = tracer.extract(&headers).unwrap();
    let caller = extracted.context().unwrap();
    assert!(caller.is_remote());
    assert_eq!(caller.trace_id(), tid);
    assert_eq!(caller.span_id(), client.context().span_id());
    let server = tracer.span("server").extracted(&extracted).start();
    assert_eq!(server.context().trace_id(), tid);
    assert_eq!(
        server.context().parent_id(),
        Some(client.context().span_id())
    );
    assert_eq!(server.baggage_item("customer"), Some("acme"));

    // The next hop still sees 16 digits.
    let mut next = HashMap::new();
    tracer.inject(server.context(), &mut next);
    assert_eq!(next["x-b3-traceid"], headers["x-b3-traceid"]);
    assert_eq!(
        next["x-b3-parentspanid"],
        client.context().span_id().to_string()
    );
    server.finish();
    client.finish();
    assert_eq!(recorder.len(), 2);

    // Binary through the tracer.
    let bytes = tracer.inject_binary(caller);
    assert_eq!(
        tracer.extract_binary(&bytes).unwrap().context(),
        Some(caller)
    );
}

#[test]
fn tracer_round_trip_debug_survives() {
    let recorder = InMemoryRecorder::new();
    let tracer = Tracer::builder()
        .with_recorder(recorder.clone())
        .with_sampler(NeverSample)
        .build()
        .unwrap();
    let incoming = h(&[("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d")]);
    let extracted = tracer.extract(&incoming).unwrap();
    let server = tracer.span("server").extracted(&extracted).start();
    assert!(
        server.context().is_debug(),
        "debug overrides the never sampler"
    );
    let mut out = HashMap::new();
    tracer.inject(server.context(), &mut out);
    assert_eq!(out["x-b3-flags"], "1");
    assert!(
        !out.contains_key("x-b3-sampled"),
        "debug is not sent with sampled"
    );
    assert!(out["traceparent"].ends_with("-01"));
    let back = tracer.extract(&out).unwrap();
    assert_eq!(back.sampling(), Sampling::Debug);
    assert_eq!(
        back.context().unwrap().trace_id().to_string(),
        "80f198ee56343ba864fe8b2a57d3eff7"
    );
    server.finish();
    assert_eq!(recorder.len(), 1);
}

#[test]
fn sampling_only_b3_zero_gives_an_unsampled_new_root() {
    let recorder = InMemoryRecorder::new();
    let tracer = tracer_64bit(&recorder);
    let extracted = tracer.extract(&h(&[("b3", "0")])).unwrap();
    assert_eq!(extracted, Extracted::SamplingOnly(Sampling::Deny));
    let span = tracer.span("server").extracted(&extracted).start();
    assert!(!span.context().is_sampled());
    assert_eq!(span.context().parent_id(), None);
    assert!(!span.context().is_remote());
    let mut out = HashMap::new();
    tracer.inject(span.context(), &mut out);
    assert_eq!(out["x-b3-sampled"], "0");
    span.finish();
    assert!(recorder.is_empty());

    // `b3: 1` makes a sampled root even with a sampler that says no.
    let never = Tracer::builder()
        .with_recorder(recorder.clone())
        .with_sampler(NeverSample)
        .build()
        .unwrap();
    let extracted = never.extract(&h(&[("b3", "1")])).unwrap();
    let span = never.span("server").extracted(&extracted).start();
    assert!(span.context().is_sampled());
    span.finish();
    assert_eq!(recorder.len(), 1);
    assert!(tracer.shutdown(Duration::from_secs(5)).dropped.total() == 0);
}

#[test]
fn default_propagator_reads_every_format_and_prefers_single_b3() {
    let p = default_propagator();
    let w3c = "00-0000000000000000000000000000000a-000000000000000b-01";
    let ot = [
        ("ot-tracer-traceid", "c"),
        ("ot-tracer-spanid", "d"),
        ("ot-tracer-sampled", "true"),
    ];
    let multi = [("x-b3-traceid", "e"), ("x-b3-spanid", "f")];
    let single = ("b3", "0000000000000001-0000000000000002-1");

    let mut m = h(&ot);
    assert_eq!(context(p.extract(&m), "ot").trace_id(), trace(0, 0xc));
    m.insert("traceparent".into(), w3c.into());
    assert_eq!(context(p.extract(&m), "w3c").trace_id(), trace(0, 0xa));
    m.extend(h(&multi));
    assert_eq!(context(p.extract(&m), "multi").trace_id(), trace(0, 0xe));
    m.extend(h(&[single]));
    assert_eq!(context(p.extract(&m), "single").trace_id(), trace(0, 1));
    // A broken single header falls through to the others...
    m.insert("b3".into(), "broken".into());
    assert_eq!(
        context(p.extract(&m), "fallthrough").trace_id(),
        trace(0, 0xe)
    );
    // ...and is the reported error when nothing else is there.
    assert_eq!(
        corrupted(p.extract(&h(&[("b3", "broken")])), "alone").0,
        "b3-single"
    );
    assert_eq!(p.extract(&h(&[])), Err(ExtractError::NotFound));
}

// ---------------------------------------------------------------------------------------------
// http::HeaderMap (feature `http`).

#[cfg(feature = "http")]
mod header_map {
    use super::*;
    use http::header::{HeaderMap, HeaderName, HeaderValue};

    #[test]
    fn default_propagator_round_trips_through_a_header_map() {
        let recorder = InMemoryRecorder::new();
        let tracer = tracer_64bit(&recorder);
        let mut client = tracer.span("client").start();
        client.set_baggage_item("User-Id", "42");
        let mut headers = HeaderMap::new();
        tracer.inject(client.context(), &mut headers);
        for name in [
            "x-b3-traceid",
            "x-b3-spanid",
            "x-b3-sampled",
            "traceparent",
            "ot-baggage-user-id",
        ] {
            assert!(headers.contains_key(name), "{name}: {headers:?}");
        }
        assert_eq!(headers["x-b3-traceid"].to_str().unwrap().len(), 16);

        let extracted = tracer.extract(&headers).unwrap();
        let caller = extracted.context().unwrap();
        assert_eq!(caller.trace_id(), client.context().trace_id());
        assert_eq!(caller.span_id(), client.context().span_id());
        // Header names are case-insensitive, so baggage keys come back lower-cased.
        assert_eq!(caller.baggage_item("user-id"), Some("42"));
    }

    #[test]
    fn header_map_reads_any_case_and_each_codec() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_bytes(b"B3").unwrap(),
            HeaderValue::from_static("000000000000007b-00000000000001c8-d-0000000000000003"),
        );
        headers.insert(
            HeaderName::from_bytes(b"TraceState").unwrap(),
            HeaderValue::from_static("k=v"),
        );
        let c = context(B3::single().extract(&headers), "b3");
        assert!(c.is_debug());
        assert_eq!(c.parent_id(), Some(span(3)));

        let mut out = HeaderMap::new();
        B3::both().inject(&c, &mut out);
        TraceContext::new().inject(&c, &mut out);
        OtTracer::new().inject(&c, &mut out);
        assert_eq!(
            out["b3"],
            "000000000000007b-00000000000001c8-d-0000000000000003"
        );
        assert_eq!(out["x-b3-flags"], "1");
        assert_eq!(out["ot-tracer-traceid"], "7b");
        assert_eq!(
            out["traceparent"],
            "00-0000000000000000000000000000007b-00000000000001c8-01"
        );
        assert_eq!(
            context(TraceContext::new().extract(&out), "w3c").trace_id(),
            c.trace_id()
        );
        assert_eq!(
            context(OtTracer::new().extract(&out), "ot").span_id(),
            c.span_id()
        );
    }

    #[test]
    fn header_map_opaque_values_read_as_absent_not_panics() {
        let mut headers = HeaderMap::new();
        headers.insert("b3", HeaderValue::from_bytes("é".as_bytes()).unwrap());
        headers.insert("traceparent", HeaderValue::from_bytes(&[0xff; 55]).unwrap());
        for (name, p) in all_extractors() {
            assert_eq!(p.extract(&headers), Err(ExtractError::NotFound), "{name}");
        }
        headers.insert("x-b3-sampled", HeaderValue::from_static(""));
        assert_eq!(corrupted(B3::multi().extract(&headers), "empty").0, "b3");
    }
}
