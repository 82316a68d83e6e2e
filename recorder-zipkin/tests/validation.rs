//! Spans Zipkin would reject are dropped and counted; the rest of the batch goes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, SystemTime};

use recorder_zipkin::model::{Annotation, Span, Tag, Text};
use recorder_zipkin::validate::validate;
use recorder_zipkin::{Encoding, InvalidReason};
use support::{decode_list, json_ids, log_at, record, records};
use tracer_api::KeyValue;

#[test]
fn model_rules() {
    let ok = Span {
        trace_id: 1,
        id: 1,
        timestamp: 5,
        duration: 1,
        ..Span::default()
    };
    assert_eq!(validate(&ok), Ok(()));
    assert_eq!(
        validate(&Span { trace_id: 0, ..ok }),
        Err(InvalidReason::ZeroTraceId)
    );
    assert_eq!(
        validate(&Span { id: 0, ..ok }),
        Err(InvalidReason::ZeroSpanId)
    );
    assert_eq!(
        validate(&Span {
            timestamp: -1,
            ..ok
        }),
        Err(InvalidReason::TimestampBeforeEpoch)
    );
    assert_eq!(
        validate(&Span {
            timestamp: i64::MAX,
            ..ok
        }),
        Err(InvalidReason::TimestampOutOfRange)
    );
    // Mapping saturates a start too far before the epoch at -i64::MAX.
    for timestamp in [-i64::MAX, i64::MIN] {
        assert_eq!(
            validate(&Span { timestamp, ..ok }),
            Err(InvalidReason::TimestampOutOfRange)
        );
    }
    assert_eq!(
        validate(&Span {
            timestamp: -i64::MAX + 1,
            ..ok
        }),
        Err(InvalidReason::TimestampBeforeEpoch)
    );
    assert_eq!(
        validate(&Span { duration: -5, ..ok }),
        Err(InvalidReason::DurationOutOfRange)
    );
    let ann = [Annotation {
        timestamp: -3,
        value: Text::Str("x"),
    }];
    assert_eq!(
        validate(&Span {
            annotations: &ann,
            ..ok
        }),
        Err(InvalidReason::AnnotationTimestampOutOfRange)
    );
    let tags = [Tag {
        key: "",
        value: Text::Str("x"),
    }];
    assert_eq!(
        validate(&Span { tags: &tags, ..ok }),
        Err(InvalidReason::EmptyTagKey)
    );
}

fn bad_records() -> Vec<tracer_api::SpanRecord> {
    let mut batch = records(5);
    // Before the epoch.
    batch[1].start = SystemTime::UNIX_EPOCH - Duration::from_secs(10);
    // A log before the epoch.
    batch[3].logs.push(log_at(0, vec![]));
    batch[3].logs.push(tracer_api::LogRecord {
        timestamp: SystemTime::UNIX_EPOCH - Duration::from_micros(1),
        fields: vec![KeyValue::new("event", "x")],
    });
    // An empty tag key.
    batch[4].tags.push(KeyValue::new("", "v"));
    batch
}

#[test]
fn invalid_spans_are_dropped_and_counted_in_both_encodings() {
    let batch = bad_records();
    let mut out = Vec::new();
    let enc = Encoding::Json.encode_records(&batch, &mut out);
    assert_eq!(enc.spans, 2);
    assert_eq!(enc.invalid.total(), 3);
    assert_eq!(enc.invalid.get(InvalidReason::TimestampBeforeEpoch), 1);
    assert_eq!(
        enc.invalid
            .get(InvalidReason::AnnotationTimestampOutOfRange),
        1
    );
    assert_eq!(enc.invalid.get(InvalidReason::EmptyTagKey), 1);
    assert_eq!(enc.first_invalid, Some(InvalidReason::TimestampBeforeEpoch));
    assert_eq!(json_ids(&out), ["0000000000000001", "0000000000000003"]);

    let mut out = Vec::new();
    let enc = Encoding::Proto3.encode_records(&batch, &mut out);
    assert_eq!(enc.spans, 2);
    let ids: Vec<String> = decode_list(&out).iter().map(|s| s.id_hex()).collect();
    assert_eq!(ids, ["0000000000000001", "0000000000000003"]);
}

#[test]
fn far_future_times_are_invalid() {
    let mut rec = record(1, 2, None);
    // SystemTime on Linux reaches far beyond what fits in i64 microseconds.
    if let Some(t) =
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::from(u32::MAX) * 4_000_000))
    {
        rec.start = t;
        let enc = Encoding::Json.encode_records(std::slice::from_ref(&rec), &mut Vec::new());
        assert_eq!(enc.invalid.get(InvalidReason::TimestampOutOfRange), 1);
    }
    let mut rec = record(1, 2, None);
    if let Some(t) =
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(u64::from(u32::MAX) * 4_000_000))
    {
        rec.start = t;
        let enc = Encoding::Json.encode_records(std::slice::from_ref(&rec), &mut Vec::new());
        assert_eq!(enc.invalid.get(InvalidReason::TimestampOutOfRange), 1);
    }
    let mut rec = record(1, 2, None);
    rec.duration = Duration::MAX;
    let enc = Encoding::Json.encode_records(std::slice::from_ref(&rec), &mut Vec::new());
    assert_eq!(enc.invalid.get(InvalidReason::DurationOutOfRange), 1);
}

#[test]
fn messages_are_cut_under_the_byte_limit() {
    let batch = records(200);
    for encoding in [Encoding::Json, Encoding::Proto3] {
        let (messages, enc) = encoding.encode_messages(&batch, 2000);
        assert_eq!(enc.spans, 200);
        assert!(
            messages.len() > 5,
            "{encoding}: {} messages",
            messages.len()
        );
        let mut ids = Vec::new();
        for (m, n) in &messages {
            assert!(m.len() <= 2000, "{encoding}: message of {} bytes", m.len());
            let got: Vec<String> = match encoding {
                Encoding::Json => json_ids(m),
                Encoding::Proto3 => decode_list(m).iter().map(|s| s.id_hex()).collect(),
            };
            assert_eq!(got.len(), *n);
            ids.extend(got);
        }
        let expect: Vec<String> = (1..=200u64).map(|i| format!("{i:016x}")).collect();
        assert_eq!(ids, expect);
    }
}

#[test]
fn a_span_larger_than_the_limit_is_dropped_alone() {
    let mut batch = records(3);
    batch[1].tags.push(KeyValue::new("big", "x".repeat(5000)));
    let (messages, enc) = Encoding::Json.encode_messages(&batch, 1000);
    assert_eq!(enc.spans, 2);
    assert_eq!(enc.invalid.get(InvalidReason::TooLarge), 1);
    let ids: Vec<String> = messages.iter().flat_map(|(m, _)| json_ids(m)).collect();
    assert_eq!(ids, ["0000000000000001", "0000000000000003"]);
}

#[test]
fn one_message_under_a_large_limit_is_the_records_encoding() {
    let batch = bad_records();
    for encoding in [Encoding::Json, Encoding::Proto3] {
        let mut out = b"prefix".to_vec();
        let enc = encoding.encode_records(&batch, &mut out);
        let (messages, menc) = encoding.encode_messages(&batch, usize::MAX);
        assert_eq!(enc, menc);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].1, 2);
        assert_eq!(&out[6..], messages[0].0.as_slice(), "{encoding}");
    }
    // No valid span: an empty list for one request, no message at all for Kafka.
    let empty = &bad_records()[1..2];
    let mut out = Vec::new();
    Encoding::Json.encode_records(empty, &mut out);
    assert_eq!(out, b"[]");
    let (messages, enc) = Encoding::Json.encode_messages(empty, 1000);
    assert!(messages.is_empty());
    assert_eq!(enc.invalid.total(), 1);
}
