//! The Kafka transport (feature `kafka`): spans as messages on the `zipkin` topic.
//!
//! Each batch is cut into messages of at most
//! [`with_kafka_max_message_bytes`](crate::ZipkinBuilder::with_kafka_max_message_bytes)
//! bytes (900 000 by default, under Kafka's 1 MB default `message.max.bytes`), each a JSON
//! list or a proto3 `ListOfSpans` of several spans, with no key: what Zipkin's Kafka collector
//! reads. The producer is an `rdkafka` `FutureProducer` configured with `acks=all` and
//! `enable.idempotence=true`; a span counts as exported only when the broker confirmed the
//! delivery of its message. Sending never blocks the pipeline's thread: messages are queued
//! in librdkafka and their delivery futures awaited.
//!
//! A broker that is down makes deliveries time out after `message.timeout.ms` (by default
//! 80 % of the pipeline's request timeout, so the report returns before the pipeline gives up
//! on it), which is a retryable error; the pipeline retries the batch within its bounds.
//! Messages of a failed batch that were delivered are delivered again by the retry:
//! delivery is at least once, and Zipkin stores a repeated span once.
//!
//! Any librdkafka producer setting can be passed through
//! ([`with_kafka_config`](crate::ZipkinBuilder::with_kafka_config)), for instance
//! `security.protocol`, `sasl.*`, `ssl.*`, `compression.codec` (`lz4` and `snappy` are built
//! in; `gzip` and `zstd` need the `rdkafka` features that link zlib or zstd). Values are never
//! logged.
//!
//! `rdkafka` is built with its `cmake-build` feature: librdkafka is compiled from source, so
//! no system librdkafka is needed, but the build wants `cmake`, a C and C++ compiler and
//! `make` (on Debian: `apt-get install cmake build-essential`). No zlib, OpenSSL, SASL or
//! curl is linked: TLS and SASL need rdkafka's `ssl`/`sasl` features (and libssl-dev,
//! libsasl2-dev) in the application's own dependency on `rdkafka`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tracer_api::export::{Delivered, ReportError, Reporter};
use tracer_api::SpanRecord;

use crate::encode::{log_invalid, Encoding};
use crate::BuildError;

/// Zipkin's default Kafka topic.
pub const DEFAULT_TOPIC: &str = "zipkin";

/// The default largest message, in bytes: under Kafka's 1 MB default.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 900_000;

/// Sends batches to Kafka for Zipkin's Kafka collector. Built by
/// [`ZipkinBuilder`](crate::ZipkinBuilder) when Kafka brokers are set.
pub struct KafkaReporter {
    producer: FutureProducer,
    topic: String,
    encoding: Encoding,
    max_message_bytes: usize,
    flush_timeout: Duration,
    brokers: String,
}

impl fmt::Debug for KafkaReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaReporter")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .field("encoding", &self.encoding)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

pub(crate) struct KafkaSettings {
    pub(crate) brokers: String,
    pub(crate) topic: String,
    pub(crate) encoding: Encoding,
    pub(crate) max_message_bytes: usize,
    pub(crate) config: Vec<(String, String)>,
    pub(crate) request_timeout: Duration,
}

impl KafkaReporter {
    pub(crate) fn new(s: KafkaSettings) -> Result<KafkaReporter, BuildError> {
        if s.brokers.trim().is_empty() {
            return Err(BuildError::Kafka("no Kafka bootstrap servers given".into()));
        }
        if s.topic.is_empty() {
            return Err(BuildError::Kafka("the Kafka topic is empty".into()));
        }
        if s.max_message_bytes < 64 {
            return Err(BuildError::Kafka(format!(
                "the Kafka message limit of {} bytes is too small",
                s.max_message_bytes
            )));
        }
        let timeout_ms = (s.request_timeout.as_millis() * 4 / 5).clamp(100, 300_000);
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &s.brokers)
            .set("client.id", "recorder-zipkin")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", timeout_ms.to_string())
            .set(
                "message.max.bytes",
                s.max_message_bytes
                    .saturating_add(4096)
                    .max(1_000_000)
                    .to_string(),
            );
        for (k, v) in &s.config {
            cfg.set(k, v);
        }
        let producer: FutureProducer = cfg.create().map_err(|e| {
            // A rejected setting's value may be a secret (sasl.password): name the key only.
            let reason = match &e {
                rdkafka::error::KafkaError::ClientConfig(_, desc, key, _) => {
                    format!("client config error: {desc} (setting `{key}`)")
                }
                other => other.to_string(),
            };
            BuildError::Kafka(format!("cannot create the Kafka producer: {reason}"))
        })?;
        Ok(KafkaReporter {
            producer,
            topic: s.topic,
            encoding: s.encoding,
            max_message_bytes: s.max_message_bytes,
            flush_timeout: s.request_timeout.max(Duration::from_secs(1)),
            brokers: s.brokers,
        })
    }

    /// The topic spans go to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The encoding of messages.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The largest message in bytes.
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }
}

fn classify(e: &KafkaError) -> ReportError {
    let permanent = matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidTopic
        )
    );
    let message = format!("zipkin kafka: {e}");
    if permanent {
        ReportError::permanent(message)
    } else {
        ReportError::retryable(message)
    }
}

#[async_trait]
impl Reporter for KafkaReporter {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        let (messages, encoded) = self.encoding.encode_messages(batch, self.max_message_bytes);
        log_invalid(&encoded);
        let invalid = encoded.invalid.total();
        let mut deliveries = Vec::with_capacity(messages.len());
        for (payload, _) in &messages {
            let record = FutureRecord::<(), [u8]>::to(&self.topic).payload(payload.as_slice());
            match self.producer.send_result(record) {
                Ok(d) => deliveries.push(d),
                Err((e, _)) => return Err(classify(&e)),
            }
        }
        for d in deliveries {
            match d.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(classify(&e)),
                Err(_) => {
                    return Err(ReportError::retryable(
                        "zipkin kafka: the producer dropped a message before its delivery report",
                    ))
                }
            }
        }
        Ok(Delivered { invalid })
    }

    fn estimated_size(&self, span: &SpanRecord) -> usize {
        crate::estimated_size(self.encoding, span)
    }

    async fn shutdown(&self) {
        let producer = self.producer.clone();
        let timeout = self.flush_timeout;
        let flushed = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::warn!("zipkin kafka: flushing the producer at shutdown failed: {e}"),
            Err(e) => log::warn!("zipkin kafka: flushing the producer at shutdown failed: {e}"),
        }
    }
}
