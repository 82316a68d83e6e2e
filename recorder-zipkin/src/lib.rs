#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! The Zipkin model and its encoders are apart from the transports:
//!
//! - [`model`]: the Zipkin v2 span, borrowing its text from the record (no allocation).
//! - [`mapping`]: from a `SpanRecord` to a Zipkin span; the mapping table.
//! - [`validate`]: what Zipkin would reject, dropped and counted before sending.
//! - [`json`]: Zipkin v2 JSON exactly as Zipkin's writer emits it.
//! - [`proto`]: proto3 `ListOfSpans`, hand-written.
//! - [`http`]: the HTTP transport ([`HttpReporter`]).
//! - `kafka` (feature `kafka`): the Kafka transport (`KafkaReporter`).
//!
//! [`Encoding::encode_records`] maps, validates and encodes a batch into a caller's buffer; the
//! transports use it, and so can anything else that wants Zipkin bytes.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod encode;
pub mod http;
pub mod json;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod mapping;
pub mod model;
pub mod proto;
mod text;
pub mod validate;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use tracer_api::export::{BatchConfig, BatchRecorder, Delivered, ReportError, Reporter};
use tracer_api::SpanRecord;

pub use crate::encode::{Encoded, Encoding, ParseEncodingError};
pub use crate::http::HttpReporter;
#[cfg(feature = "kafka")]
pub use crate::kafka::KafkaReporter;
pub use crate::validate::{InvalidCounts, InvalidReason};

/// The default collector URL.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9411/api/v2/spans";

/// The environment variables [`ZipkinRecorder::from_env`] reads.
pub mod env {
    /// The collector URL.
    pub const ENDPOINT: &str = "ZIPKIN_ENDPOINT";
    /// `json` or `proto3`.
    pub const ENCODING: &str = "ZIPKIN_ENCODING";
    /// `true` to gzip request bodies.
    pub const GZIP: &str = "ZIPKIN_GZIP";
    /// Kafka brokers (`host:port,...`); with the `kafka` feature, selects the Kafka transport.
    pub const KAFKA_BOOTSTRAP_SERVERS: &str = "KAFKA_BOOTSTRAP_SERVERS";
    /// The Kafka topic.
    pub const KAFKA_TOPIC: &str = "ZIPKIN_KAFKA_TOPIC";
}

/// Why a Zipkin recorder could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable holds a value that cannot be used.
    #[error("environment variable {var} is malformed: {reason}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The collector URL is not an http or https URL.
    #[error("invalid Zipkin endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The URL, with any credentials replaced by `***`.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value is not valid in HTTP.
    #[error(
        "invalid HTTP header `{name}`: a header name must be a token and its value visible ASCII"
    )]
    InvalidHeader {
        /// The header name.
        name: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    /// The Kafka producer could not be built.
    #[error("{0}")]
    Kafka(String),
    /// The export pipeline refused its configuration.
    #[error("invalid export pipeline configuration: {0}")]
    Pipeline(String),
}

/// The reporter behind a Zipkin recorder: HTTP or (feature `kafka`) Kafka.
#[derive(Debug)]
#[non_exhaustive]
pub enum ZipkinReporter {
    /// `POST /api/v2/spans`.
    Http(HttpReporter),
    /// Messages on a Kafka topic.
    #[cfg(feature = "kafka")]
    Kafka(KafkaReporter),
}

#[async_trait]
impl Reporter for ZipkinReporter {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        match self {
            ZipkinReporter::Http(r) => r.report(batch).await,
            #[cfg(feature = "kafka")]
            ZipkinReporter::Kafka(r) => r.report(batch).await,
        }
    }

    fn estimated_size(&self, span: &SpanRecord) -> usize {
        match self {
            ZipkinReporter::Http(r) => r.estimated_size(span),
            #[cfg(feature = "kafka")]
            ZipkinReporter::Kafka(r) => r.estimated_size(span),
        }
    }

    async fn shutdown(&self) {
        match self {
            ZipkinReporter::Http(r) => r.shutdown().await,
            #[cfg(feature = "kafka")]
            ZipkinReporter::Kafka(r) => r.shutdown().await,
        }
    }
}

/// A cheap estimate of a span's encoded size.
pub(crate) fn estimated_size(encoding: Encoding, span: &SpanRecord) -> usize {
    let base = span.estimated_size() + span.process.service_name.len();
    match encoding {
        Encoding::Json => base + 160,
        Encoding::Proto3 => base,
    }
}

/// Entry point: `ZipkinRecorder::builder()` or `ZipkinRecorder::from_env()`, then `build()`,
/// which gives a [`BatchRecorder`] to hand to the tracer.
#[derive(Debug, Clone, Copy)]
pub struct ZipkinRecorder;

impl ZipkinRecorder {
    /// A builder with the defaults (HTTP to [`DEFAULT_ENDPOINT`], JSON, no gzip).
    pub fn builder() -> ZipkinBuilder {
        ZipkinBuilder::new()
    }

    /// A builder pre-filled from the environment (see [`mod@env`]); settings made on it
    /// afterwards win. A malformed variable makes [`ZipkinBuilder::build`] fail, naming it,
    /// unless code sets that setting afterwards.
    pub fn from_env() -> ZipkinBuilder {
        let mut b = ZipkinBuilder::from_lookup(|k| std::env::var(k).ok());
        match BatchConfig::from_env() {
            Ok(c) => b.batch = Some(c),
            Err(e) => b.defer(Setting::Batch, BuildError::Pipeline(e.to_string())),
        }
        b
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting {
    Endpoint,
    Encoding,
    Gzip,
    Batch,
}

/// Configures a Zipkin recorder. Made by [`ZipkinRecorder::builder`] or
/// [`ZipkinRecorder::from_env`].
#[derive(Clone)]
pub struct ZipkinBuilder {
    endpoint: String,
    encoding: Encoding,
    gzip: bool,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    batch: Option<BatchConfig>,
    #[cfg(feature = "kafka")]
    kafka: KafkaOptions,
    deferred: Vec<(Setting, BuildError)>,
}

#[cfg(feature = "kafka")]
#[derive(Clone)]
struct KafkaOptions {
    brokers: Option<String>,
    topic: String,
    config: Vec<(String, String)>,
    max_message_bytes: usize,
}

impl fmt::Debug for ZipkinBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        let mut d = f.debug_struct("ZipkinBuilder");
        d.field("endpoint", &http::redact_str(&self.endpoint))
            .field("encoding", &self.encoding)
            .field("gzip", &self.gzip)
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("batch", &self.batch);
        #[cfg(feature = "kafka")]
        {
            let keys: Vec<&str> = self.kafka.config.iter().map(|(k, _)| k.as_str()).collect();
            d.field("kafka_brokers", &self.kafka.brokers)
                .field("kafka_topic", &self.kafka.topic)
                .field("kafka_config", &keys)
                .field("kafka_max_message_bytes", &self.kafka.max_message_bytes);
        }
        d.finish_non_exhaustive()
    }
}

impl Default for ZipkinBuilder {
    fn default() -> ZipkinBuilder {
        ZipkinBuilder::new()
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    let v = v.trim();
    if ["true", "1", "yes", "on"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
    {
        Some(true)
    } else if ["false", "0", "no", "off"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
    {
        Some(false)
    } else {
        None
    }
}

impl ZipkinBuilder {
    /// A builder with the defaults.
    pub fn new() -> ZipkinBuilder {
        ZipkinBuilder {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            encoding: Encoding::Json,
            gzip: false,
            headers: Vec::new(),
            timeout: None,
            batch: None,
            #[cfg(feature = "kafka")]
            kafka: KafkaOptions {
                brokers: None,
                topic: kafka::DEFAULT_TOPIC.to_owned(),
                config: Vec::new(),
                max_message_bytes: kafka::DEFAULT_MAX_MESSAGE_BYTES,
            },
            deferred: Vec::new(),
        }
    }

    fn defer(&mut self, setting: Setting, err: BuildError) {
        self.deferred.retain(|(s, _)| *s != setting);
        self.deferred.push((setting, err));
    }

    fn clear(&mut self, setting: Setting) {
        self.deferred.retain(|(s, _)| *s != setting);
    }

    /// Reads the `ZIPKIN_*` (and Kafka) variables through `get`; empty values count as unset.
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> ZipkinBuilder {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut b = ZipkinBuilder::new();
        if let Some(v) = get(env::ENDPOINT) {
            match reqwest::Url::parse(v.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => b.endpoint = v.trim().to_owned(),
                Ok(_) => b.defer(
                    Setting::Endpoint,
                    BuildError::InvalidEnv {
                        var: env::ENDPOINT,
                        reason: format!("`{}` is not an http or https URL", http::redact_str(&v)),
                    },
                ),
                Err(e) => b.defer(
                    Setting::Endpoint,
                    BuildError::InvalidEnv {
                        var: env::ENDPOINT,
                        reason: format!("`{}` is not a URL: {e}", http::redact_str(&v)),
                    },
                ),
            }
        }
        if let Some(v) = get(env::ENCODING) {
            match v.parse::<Encoding>() {
                Ok(e) => b.encoding = e,
                Err(e) => b.defer(
                    Setting::Encoding,
                    BuildError::InvalidEnv {
                        var: env::ENCODING,
                        reason: e.to_string(),
                    },
                ),
            }
        }
        if let Some(v) = get(env::GZIP) {
            match parse_bool(&v) {
                Some(g) => b.gzip = g,
                None => b.defer(
                    Setting::Gzip,
                    BuildError::InvalidEnv {
                        var: env::GZIP,
                        reason: format!("`{v}` is not a boolean (true/false, 1/0, yes/no, on/off)"),
                    },
                ),
            }
        }
        #[cfg(feature = "kafka")]
        {
            if let Some(v) = get(env::KAFKA_BOOTSTRAP_SERVERS) {
                b.kafka.brokers = Some(v.trim().to_owned());
            }
            if let Some(v) = get(env::KAFKA_TOPIC) {
                b.kafka.topic = v.trim().to_owned();
            }
        }
        b
    }

    /// The collector URL, e.g. `http://zipkin:9411/api/v2/spans`.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self.clear(Setting::Endpoint);
        self
    }

    /// JSON (the default) or proto3, for HTTP bodies and Kafka messages.
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self.clear(Setting::Encoding);
        self
    }

    /// Gzip HTTP request bodies (`Content-Encoding: gzip`). Off by default.
    pub fn with_gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self.clear(Setting::Gzip);
        self
    }

    /// Adds a header to every HTTP request, e.g. `Authorization`. Values are never logged.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The timeout of one HTTP request (connecting included). Defaults to the pipeline's
    /// `request_timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The export pipeline's settings (queue bounds, batch size, interval, retries).
    pub fn with_batch_config(mut self, config: BatchConfig) -> Self {
        self.batch = Some(config);
        self.clear(Setting::Batch);
        self
    }

    /// Sends to Kafka instead of HTTP, through these bootstrap servers (`host:port,...`).
    #[cfg(feature = "kafka")]
    pub fn with_kafka_brokers(mut self, brokers: impl Into<String>) -> Self {
        self.kafka.brokers = Some(brokers.into());
        self
    }

    /// The Kafka topic; `zipkin` by default.
    #[cfg(feature = "kafka")]
    pub fn with_kafka_topic(mut self, topic: impl Into<String>) -> Self {
        self.kafka.topic = topic.into();
        self
    }

    /// Sets a librdkafka producer setting (`security.protocol`, `sasl.*`, `ssl.*`,
    /// `compression.codec`, ...). Applied after this crate's defaults, so it can override
    /// them. Values are never logged.
    #[cfg(feature = "kafka")]
    pub fn with_kafka_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka.config.push((key.into(), value.into()));
        self
    }

    /// The largest Kafka message in bytes (several spans per message); 900 000 by default.
    #[cfg(feature = "kafka")]
    pub fn with_kafka_max_message_bytes(mut self, bytes: usize) -> Self {
        self.kafka.max_message_bytes = bytes;
        self
    }

    fn check(&self) -> Result<BatchConfig, BuildError> {
        if let Some((_, e)) = self.deferred.first() {
            return Err(e.clone());
        }
        Ok(self.batch.clone().unwrap_or_default())
    }

    /// Builds the reporter alone, for use with a `BatchRecorder` built elsewhere.
    pub fn build_reporter(self) -> Result<ZipkinReporter, BuildError> {
        let batch = self.check()?;
        self.reporter(&batch)
    }

    fn reporter(self, batch: &BatchConfig) -> Result<ZipkinReporter, BuildError> {
        let timeout = self.timeout.unwrap_or(batch.request_timeout);
        #[cfg(feature = "kafka")]
        if let Some(brokers) = self.kafka.brokers {
            return Ok(ZipkinReporter::Kafka(KafkaReporter::new(
                kafka::KafkaSettings {
                    brokers,
                    topic: self.kafka.topic,
                    encoding: self.encoding,
                    max_message_bytes: self.kafka.max_message_bytes,
                    config: self.kafka.config,
                    request_timeout: timeout,
                },
            )?));
        }
        Ok(ZipkinReporter::Http(HttpReporter::new(
            http::HttpSettings {
                endpoint: self.endpoint,
                encoding: self.encoding,
                gzip: self.gzip,
                headers: self.headers,
                timeout,
            },
        )?))
    }

    /// Builds the recorder: the export pipeline with a Zipkin reporter. Hand it to
    /// `Tracer::builder().with_recorder(..)`; keep a clone to read its `stats()`.
    pub fn build(self) -> Result<BatchRecorder<ZipkinReporter>, BuildError> {
        let batch = self.check()?;
        let reporter = self.reporter(&batch)?;
        BatchRecorder::new(reporter, batch).map_err(|e| BuildError::Pipeline(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> ZipkinBuilder {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ZipkinBuilder::from_lookup(move |k| m.get(k).cloned())
    }

    #[test]
    fn env_values_are_read() {
        let b = lookup(&[
            (
                "ZIPKIN_ENDPOINT",
                "https://zipkin.example:9411/api/v2/spans",
            ),
            ("ZIPKIN_ENCODING", "PROTO3"),
            ("ZIPKIN_GZIP", "yes"),
        ]);
        assert_eq!(b.endpoint, "https://zipkin.example:9411/api/v2/spans");
        assert_eq!(b.encoding, Encoding::Proto3);
        assert!(b.gzip);
        assert!(b.deferred.is_empty());
        let b = lookup(&[("ZIPKIN_ENCODING", "")]);
        assert_eq!(b.encoding, Encoding::Json);
        assert_eq!(b.endpoint, DEFAULT_ENDPOINT);
    }

    #[test]
    fn malformed_env_names_the_variable() {
        for (var, value) in [
            ("ZIPKIN_ENCODING", "xml"),
            ("ZIPKIN_GZIP", "maybe"),
            ("ZIPKIN_ENDPOINT", "not a url"),
            ("ZIPKIN_ENDPOINT", "ftp://zipkin/x"),
        ] {
            let err = lookup(&[(var, value)]).build_reporter().unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
    }

    #[test]
    fn code_overrides_a_malformed_env_value() {
        let b = lookup(&[("ZIPKIN_ENCODING", "xml"), ("ZIPKIN_GZIP", "maybe")])
            .with_encoding(Encoding::Proto3)
            .with_gzip(false);
        let r = b.build_reporter().unwrap();
        match r {
            ZipkinReporter::Http(h) => assert_eq!(h.encoding(), Encoding::Proto3),
            #[allow(unreachable_patterns)]
            _ => panic!("expected HTTP"),
        }
    }

    #[test]
    fn credentials_never_shown() {
        let err = ZipkinRecorder::builder()
            .with_endpoint("http://user:hunter2@[::1")
            .build_reporter()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let b = ZipkinRecorder::builder()
            .with_endpoint("http://user:hunter2@127.0.0.1:9411/api/v2/spans")
            .with_header("Authorization", "Bearer hunter2");
        assert!(!format!("{b:?}").contains("hunter2"));
        let r = b.build_reporter().unwrap();
        assert!(!format!("{r:?}").contains("hunter2"), "{r:?}");
    }

    #[test]
    fn bad_header_is_an_error() {
        let err = ZipkinRecorder::builder()
            .with_header("bad header", "x")
            .build_reporter()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidHeader { .. }));
    }
}
