//! The Kafka transport against librdkafka's mock cluster: messages are consumed back and
//! decoded.
#![cfg(feature = "kafka")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{Message, Offset, TopicPartitionList};
use recorder_zipkin::{Encoding, ZipkinRecorder, ZipkinReporter};
use support::{decode_list, json_ids, records};
use tracer_api::export::{BatchConfig, Reporter};
use tracer_api::Recorder;

fn consume(
    brokers: &str,
    topic: &str,
    want_spans: usize,
    encoding: Encoding,
) -> Vec<(usize, Vec<String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let mut spans = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while spans < want_spans && Instant::now() < deadline {
        if let Some(msg) = consumer.poll(Duration::from_millis(200)) {
            let msg = msg.unwrap();
            assert!(
                msg.key().is_none(),
                "Zipkin's collector ignores keys; we send none"
            );
            let payload = msg.payload().unwrap();
            let ids = match encoding {
                Encoding::Json => {
                    assert_eq!(payload[0], b'[');
                    json_ids(payload)
                }
                Encoding::Proto3 => decode_list(payload).iter().map(|s| s.id_hex()).collect(),
            };
            spans += ids.len();
            out.push((payload.len(), ids));
        }
    }
    out
}

fn reporter(
    mock: &MockCluster<'_, rdkafka::producer::DefaultProducerContext>,
    encoding: Encoding,
    topic: Option<&str>,
) -> ZipkinReporter {
    let mut b = ZipkinRecorder::builder()
        .with_kafka_brokers(mock.bootstrap_servers())
        .with_encoding(encoding)
        .with_kafka_max_message_bytes(4000)
        .with_timeout(Duration::from_secs(3))
        .with_kafka_config("linger.ms", "1");
    if let Some(t) = topic {
        b = b.with_kafka_topic(t);
    }
    b.build_reporter().unwrap()
}

fn check_roundtrip(encoding: Encoding) {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("zipkin", 1, 1).unwrap();
    let r = reporter(&mock, encoding, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let batch = records(300);
    let d = rt.block_on(r.report(&batch)).unwrap();
    assert_eq!(d.invalid, 0);
    let messages = consume(&mock.bootstrap_servers(), "zipkin", 300, encoding);
    assert!(
        messages.len() > 3,
        "several spans per message, several messages: {}",
        messages.len()
    );
    let mut ids = Vec::new();
    for (len, m) in messages {
        assert!(len <= 4000, "message of {len} bytes");
        assert!(m.len() > 1);
        ids.extend(m);
    }
    let expect: Vec<String> = (1..=300u64).map(|i| format!("{i:016x}")).collect();
    assert_eq!(ids, expect);
    rt.block_on(r.shutdown());
}

#[test]
fn json_lists_roundtrip_through_the_mock_cluster() {
    check_roundtrip(Encoding::Json);
}

#[test]
fn proto3_lists_roundtrip_through_the_mock_cluster() {
    check_roundtrip(Encoding::Proto3);
}

#[test]
fn broker_down_is_a_retryable_error_in_bounded_time() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("spans", 1, 1).unwrap();
    let r = reporter(&mock, Encoding::Json, Some("spans"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(r.report(&records(2))).unwrap();
    mock.broker_down(1).unwrap();
    let t = Instant::now();
    let err = rt.block_on(r.report(&records(2))).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    // message.timeout.ms is 2.4 s here; librdkafka scans for timed-out messages about once a
    // second and a loaded machine adds more: the bound only tells "bounded" from "hangs".
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn pipeline_exports_through_kafka_and_flushes_at_shutdown() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("zipkin", 1, 1).unwrap();
    let recorder = ZipkinRecorder::builder()
        .with_kafka_brokers(mock.bootstrap_servers())
        .with_encoding(Encoding::Proto3)
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(20),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    for r in records(100) {
        recorder.record(r);
    }
    let report = recorder.shutdown(Duration::from_secs(15));
    assert_eq!(report.exported, 100, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    let got: usize = consume(&mock.bootstrap_servers(), "zipkin", 100, Encoding::Proto3)
        .iter()
        .map(|(_, ids)| ids.len())
        .sum();
    assert_eq!(got, 100);
}
