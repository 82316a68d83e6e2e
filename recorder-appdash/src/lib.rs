//! `Tracer::builder().with_recorder(AppdashRecorder::from_env()?.build()?)` sends a tracer's
//! spans to an [Appdash](https://github.com/sourcegraph/appdash) collector.
//!
//! `recorder-appdash` is the Appdash backend of `tracer-api`. It speaks Appdash's collector
//! protocol (proto2 `CollectPacket` messages in varint-delimited frames over TCP, optionally
//! TLS) and writes the annotations Appdash's own OpenTracing recorder writes, so Appdash's web
//! UI (or this workspace's `collector-appdash`) shows span names, timelines, tags, logs and
//! baggage. Spans go through `tracer-api`'s export pipeline: recording never blocks the
//! application, batches are sent from the pipeline's own thread, failures are retried with
//! backoff, and shutdown delivers what is queued.
//!
//! # Getting started
//!
//! ```
//! use std::time::Duration;
//! use recorder_appdash::AppdashRecorder;
//! use tracer_api::Tracer;
//! # // A stand-in collector for this example: counts the packets it decodes.
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let addr = listener.local_addr()?.to_string();
//! # let collector = std::thread::spawn(move || {
//! #     use std::io::Read;
//! #     let (mut conn, _) = listener.accept().unwrap();
//! #     let mut decoder = recorder_appdash::wire::FrameDecoder::new();
//! #     let (mut buf, mut packets) = ([0u8; 4096], Vec::new());
//! #     while let Ok(n @ 1..) = conn.read(&mut buf) {
//! #         decoder.push(&buf[..n]);
//! #         while let Some(p) = decoder.next_packet().unwrap() { packets.push(p); }
//! #     }
//! #     packets
//! # });
//! # std::env::set_var("APPDASH_COLLECTOR", &addr);
//!
//! // In main: APPDASH_COLLECTOR says where the collector listens (default 127.0.0.1:7701).
//! let tracer = Tracer::builder()
//!     .with_service_name("frontend")
//!     .with_recorder(AppdashRecorder::from_env()?.build()?)
//!     .build()?;
//!
//! let mut span = tracer.span("GET /home").start();
//! span.set_tag("http.status_code", 200);
//! span.log_event("rendered");
//! span.finish();
//!
//! // At exit: deliver what is queued.
//! let report = tracer.shutdown(Duration::from_secs(5));
//! assert_eq!(report.exported, 1);
//! # let packets = collector.join().unwrap();
//! # assert_eq!(packets.len(), 1);
//! # assert_eq!(packets[0].annotations[0].value_str(), Some("GET /home"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Run Appdash (`appdash serve`, collector on port 7701, UI on 7700) or this workspace's
//! `collector-appdash`, and the trace shows up in its UI.
//!
//! # Configuration
//!
//! | builder | environment | default |
//! |---|---|---|
//! | [`with_collector_addr`](AppdashRecorderBuilder::with_collector_addr) | `APPDASH_COLLECTOR` | `127.0.0.1:7701` |
//! | `with_tls_ca_file` (feature `tls`) | `APPDASH_TLS_CA` | none: plain TCP |
//! | `with_tls_server_name` (feature `tls`) | `APPDASH_TLS_SERVER_NAME` | the collector's host |
//! | [`with_batch_config`](AppdashRecorderBuilder::with_batch_config) | `TRACER_EXPORT_*` | [`BatchConfig::default`](tracer_api::export::BatchConfig) |
//! | [`with_connect_timeout`](AppdashRecorderBuilder::with_connect_timeout) | | 5 s |
//! | [`with_write_timeout`](AppdashRecorderBuilder::with_write_timeout) | | 5 s |
//! | [`with_reconnect_backoff`](AppdashRecorderBuilder::with_reconnect_backoff) | | 100 ms doubling to 5 s |
//! | [`with_extra_annotations`](AppdashRecorderBuilder::with_extra_annotations) | | on: `service.name` and references are sent |
//!
//! [`AppdashRecorder::from_env`] reads the environment into a builder; setters called
//! afterwards win. An unset or empty variable keeps the default; a malformed one is a
//! [`BuildError`] naming it (TLS variables without the `tls` feature are errors too, rather
//! than a silent fall-back to plain TCP).
//!
//! # Delivery
//!
//! The [`AppdashReporter`] connects on the first batch and keeps one connection. A failed
//! connect is a retryable error (the pipeline retries the batch with backoff) and further
//! connects wait an exponential backoff. Appdash never acknowledges, so a batch counts as
//! delivered once written and flushed to the socket; a closed or broken connection is noticed
//! before the next write (or by the write failing) and replaced, and the batch is re-sent.
//! See [`AppdashReporter`] for the exact guarantees.
//!
//! # What Appdash receives
//!
//! One packet per span with the annotations of Appdash's OpenTracing recorder (`Name`,
//! logs as `Msg`/`Time`, tags, baggage, `Span.Start`/`Span.End`), a 128-bit trace id reduced to
//! its low 64 bits: see [`annotations`]. The wire codec, shared with collectors, is [`wire`].
//!
//! Beyond Go's recorder, each span also carries `service.name` (the tracer's service name) and
//! one `ref.follows_from` / `ref.child_of` annotation (a span id in 16 hex digits) per
//! follows-from reference and per child-of reference other than the parent, since Appdash's
//! wire has no service and no reference kinds. Appdash's UI shows them as plain key/values;
//! `collector-appdash` shows the service and the references.
//! [`with_extra_annotations(false)`](AppdashRecorderBuilder::with_extra_annotations) sends
//! Go's annotations alone.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tls` | off | TLS to the collector: rustls (ring provider) through tokio-rustls, trusting the CA certificates of a PEM file |

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod annotations;
mod client;
mod config;
#[cfg(feature = "tls")]
mod tls;
pub mod wire;

pub use crate::client::{AppdashReporter, ReporterStats};
pub use crate::config::{
    AppdashRecorder, AppdashRecorderBuilder, BuildError, DEFAULT_COLLECTOR_ADDR, ENV_COLLECTOR,
    ENV_TLS_CA, ENV_TLS_SERVER_NAME,
};
