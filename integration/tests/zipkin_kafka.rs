#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `recorder-zipkin` over Kafka (feature `kafka`) against a real Kafka broker and a real
//! Zipkin reading the `zipkin` topic: the sample trace in JSON and proto3, confirmed by the
//! query API and by the Kafka transport's collector counters; the broker restarted with
//! nothing lost.
//!
//! One Kafka and one Zipkin serve every test of this binary (or `$KAFKA_BOOTSTRAP_SERVERS`
//! and `$ZIPKIN_URL`). Locks are always taken Kafka first, then Zipkin.

use std::time::Duration;

mod support;

use integration::scenario::record_traces;
use integration::{Kafka, Zipkin};
use recorder_zipkin::{Encoding, ZipkinRecorder};
use tracer_api::export::BatchConfig;
use tracer_api::Tracer;

fn peers() -> (&'static Kafka, &'static Zipkin) {
    let zipkin = Zipkin::shared_with_kafka().unwrap_or_else(|e| panic!("{e}"));
    let kafka = Kafka::shared().unwrap_or_else(|e| panic!("{e}"));
    (kafka, zipkin)
}

fn sample_over_kafka(encoding: Encoding) {
    let (kafka, zipkin) = peers();
    let _k = kafka.shared_access();
    let _z = zipkin.shared_access();
    let recorder = ZipkinRecorder::builder()
        .with_kafka_brokers(kafka.bootstrap_servers())
        .with_encoding(encoding)
        .with_batch_config(support::prompt())
        .build()
        .unwrap();
    let (before, after) = support::sample_into_zipkin(
        zipkin,
        recorder,
        format!("it-kafka-{encoding:?}"),
        Duration::from_secs(60),
    );

    // The spans came through the Kafka collector, which read them all.
    assert!(
        after.spans("kafka") >= before.spans("kafka") + 3,
        "Kafka transport spans: {} before, {} after",
        before.spans("kafka"),
        after.spans("kafka")
    );
    assert!(after.messages("kafka") > before.messages("kafka"));
    assert!(after.bytes("kafka") > before.bytes("kafka"));
    assert_eq!(after.spans_dropped("kafka"), before.spans_dropped("kafka"));
    assert_eq!(
        after.messages_dropped("kafka"),
        before.messages_dropped("kafka")
    );
}

#[test]
fn json_over_kafka_arrives_intact() {
    sample_over_kafka(Encoding::Json);
}

#[test]
fn proto3_over_kafka_arrives_intact() {
    sample_over_kafka(Encoding::Proto3);
}

/// The broker stops while spans are recorded and comes back: every span reaches Zipkin.
#[test]
fn broker_restart_loses_nothing() {
    let (kafka, zipkin) = peers();
    let _k = kafka.exclusive();
    let _z = zipkin.shared_access();
    let recorder = ZipkinRecorder::builder()
        .with_kafka_brokers(kafka.bootstrap_servers())
        .with_encoding(Encoding::Json)
        .with_batch_config(BatchConfig {
            max_batch_spans: 50,
            ..support::patient()
        })
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("it-kafka-restart")
        .with_recorder(recorder.clone())
        .build()
        .unwrap();

    let before = record_traces(&tracer, "before", 1, 50);
    let report = tracer.flush(Duration::from_secs(60));
    assert_eq!((report.exported, report.pending), (50, 0), "{report}");

    kafka.stop().unwrap();
    let during = record_traces(&tracer, "during", 4, 100);
    kafka.start_again().unwrap();
    let after = record_traces(&tracer, "after", 1, 50);

    let report = tracer.shutdown(Duration::from_secs(180));
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.exported, 500, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(recorder.stats().recorded, 500);

    for (ids, spans) in [(before, 50), (during, 100), (after, 50)] {
        for id in ids {
            let found = zipkin
                .wait_for_trace(&id.to_string(), spans, Duration::from_secs(120))
                .unwrap();
            assert_eq!(found.len(), spans, "trace {id}");
        }
    }
}
