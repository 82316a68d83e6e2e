//! OpenTracing-style distributed tracing for Rust, with backends you choose at startup.
//!
//! `tracer-api` is what instrumentation depends on: a [`Tracer`] starts [`Span`]s, spans carry
//! tags, logs and baggage, and a [`SpanContext`] crosses process boundaries through B3, W3C
//! `traceparent`, `ot-tracer-*` headers or a binary form. Finished, sampled spans go to a
//! [`Recorder`]; the recorder crates (`recorder-stdout`, `recorder-zipkin`,
//! `recorder-appdash`) ship them to a backend, so switching backends is one line in `main`.
//!
//! # Getting started
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::Duration;
//! use tracer_api::{tags, InMemoryRecorder, Tracer};
//!
//! // In main: build the tracer once. A recorder crate's recorder goes here; this one keeps
//! // spans in memory.
//! let recorder = InMemoryRecorder::new();
//! let tracer = Tracer::builder()
//!     .with_service_name("frontend")
//!     .with_recorder(recorder.clone())
//!     .build()?;
//!
//! // A parent span and a child span.
//! let mut parent = tracer.span("GET /home").tag(tags::SPAN_KIND, "server").start();
//! parent.set_baggage_item("customer", "acme");
//! {
//!     let mut child = tracer.span("load profile").child_of(parent.context()).start();
//!     child.set_tag(tags::DB_TYPE, "sql");
//!     child.log_event("cache-miss");
//!     // Calling another service: inject the context into the request's headers...
//!     let mut headers = HashMap::new();
//!     tracer.inject(child.context(), &mut headers);
//!
//!     // ...and on the other side, extract it and continue the trace.
//!     let caller = tracer.extract(&headers)?;
//!     let server = tracer.span("GET /profile").extracted(&caller).start();
//!     assert_eq!(server.context().trace_id(), parent.context().trace_id());
//!     assert_eq!(server.baggage_item("customer"), Some("acme"));
//! } // spans finish when dropped, or explicitly with `finish()`
//! parent.finish();
//!
//! assert_eq!(recorder.len(), 3);
//! // At exit: deliver what is queued.
//! let report = tracer.shutdown(Duration::from_secs(5));
//! assert_eq!(report.dropped.total(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is where
//!
//! - [`Tracer`], [`TracerBuilder`]: service name, endpoint, process tags, sampler, recorder,
//!   propagator, 64- or 128-bit trace ids, shared span ids.
//! - [`SpanBuilder`], [`Span`]: references (`child_of`, `follows_from`; the first is the
//!   parent), start and finish times, tags, logs, baggage; a span finishes exactly once, on
//!   [`Span::finish`] or on drop.
//! - [`SpanContext`], [`Baggage`], [`Sampling`]; [`TraceId`], [`SpanId`].
//! - [`sampler`]: always, never, probability, rate-limited. Decided at the root, inherited;
//!   a `sampling.priority` tag overrides. Unsampled spans allocate nothing and are never
//!   recorded.
//! - [`propagation`]: carriers, codecs and the default composite propagator.
//! - [`tags`]: the OpenTracing standard tag and log-field names.
//! - [`global`]: the process-wide tracer (a no-op until set).
//! - [`Recorder`], [`SpanRecord`] (with its [`References`]), [`ExportReport`],
//!   [`NoopRecorder`], [`InMemoryRecorder`].
//! - [`conformance`]: the API conformance suite recorder crates run.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `http` | off | `Injector`/`Extractor` for `http::HeaderMap` |
//! | `export` | off | the batching export pipeline: `export::BatchRecorder`, `export::Reporter` (brings `tokio`, `async-trait`, `log`, `crossbeam-queue`) |
//!
//! With no features the crate has no dependencies and does no I/O.
//!
//! # Export pipeline
//!
//! With the `export` feature, `export::BatchRecorder<R: export::Reporter>` is the [`Recorder`]
//! the recorder crates build on: `record` moves the span into a bounded, preallocated,
//! lock-free queue (bounded by span count and estimated bytes; overflow drops the newest or the
//! oldest span and counts it) and returns; a worker thread with its own tokio runtime cuts
//! batches by size, bytes and interval, keeps several in flight, enforces a per-request
//! timeout, retries with exponential backoff and jitter, and logs failures at a bounded rate.
//! `flush` and `shutdown` take a deadline, work from sync code and inside any runtime, and
//! report what was exported and what was dropped, by cause; `stats()` adds up at every
//! snapshot. A backend implements only `Reporter::report`. Configuration: `export::BatchConfig`
//! (documented defaults, `from_env()` with `TRACER_EXPORT_*` variables). The `export` module
//! documentation has a tutorial for reporter authors.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod clock;
pub mod conformance;
mod context;
#[cfg(feature = "export")]
pub mod export;
pub mod global;
mod id;
pub mod propagation;
mod record;
mod recorder;
pub mod sampler;
mod span;
pub mod tags;
mod tracer;
mod value;

pub use crate::context::{Baggage, Extracted, Sampling, SpanContext};
pub use crate::id::{ParseIdError, SpanId, TraceId};
pub use crate::propagation::{ExtractError, Extractor, Injector, Propagator};
pub use crate::record::{Endpoint, Process, Reference, ReferenceKind, References, SpanRecord};
pub use crate::recorder::{
    DropCause, DropCounts, ExportReport, InMemoryRecorder, NoopRecorder, Recorder,
};
pub use crate::sampler::Sampler;
pub use crate::span::{Span, SpanBuilder};
pub use crate::tracer::{BuildError, Tracer, TracerBuilder};
pub use crate::value::{KeyValue, LogRecord, Value};

/// The workspace README's examples, compiled and run as doctests so they stay true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct WorkspaceReadme;
