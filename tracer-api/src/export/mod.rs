//! The export pipeline (feature `export`): a [`BatchRecorder`] queues finished spans and sends
//! them in batches through a [`Reporter`], on a thread and runtime of its own.
//!
//! A backend implements [`Reporter`] (encode a batch, send it, say how it went); the pipeline
//! does everything else: bounding memory, batching, concurrency, timeouts, retries with
//! backoff, accounting and logging. Recorder crates wrap a `BatchRecorder<TheirReporter>` in
//! their builder; applications rarely build one by hand.
//!
//! # Writing a reporter
//!
//! A reporter gets `&[SpanRecord]` and returns [`Delivered`] or a [`ReportError`] that says
//! whether retrying may help. It runs on the pipeline's own current-thread tokio runtime, so it
//! may use tokio-based clients (their I/O driver is there) and must not block the thread.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use tracer_api::export::{BatchConfig, BatchRecorder, Delivered, ReportError, Reporter};
//! use tracer_api::{InMemoryRecorder, Recorder, SpanRecord, Tracer};
//!
//! /// Counts spans, and refuses spans without an operation name.
//! #[derive(Default)]
//! struct CountingReporter {
//!     received: AtomicU64,
//! }
//!
//! #[async_trait::async_trait]
//! impl Reporter for CountingReporter {
//!     async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
//!         // A real reporter encodes the valid spans and sends them; on failure it returns
//!         // ReportError::retryable("connection refused") (possibly with_retry_after) or
//!         // ReportError::permanent("HTTP 400: ...").
//!         let invalid = batch.iter().filter(|s| s.operation.is_empty()).count() as u64;
//!         self.received.fetch_add(batch.len() as u64 - invalid, Ordering::Relaxed);
//!         Ok(Delivered { invalid })
//!     }
//!
//!     fn estimated_size(&self, span: &SpanRecord) -> usize {
//!         span.estimated_size() // the default; a reporter may know its encoding better
//!     }
//! }
//!
//! let batch = BatchRecorder::new(CountingReporter::default(), BatchConfig::default())?;
//! let tracer = Tracer::builder()
//!     .with_service_name("checkout")
//!     .with_recorder(batch.clone())
//!     .build()?;
//!
//! for _ in 0..1000 {
//!     tracer.span("charge card").start().finish();
//! }
//! tracer.span("").start().finish(); // invalid for this backend
//!
//! // At exit: deliver what is queued, within a deadline.
//! let report = tracer.shutdown(Duration::from_secs(5));
//! assert_eq!(report.exported, 1000);
//! assert_eq!(report.dropped.get(tracer_api::DropCause::Invalid), 1);
//! assert_eq!(report.pending, 0);
//! assert_eq!(batch.reporter().received.load(Ordering::Relaxed), 1000);
//! # let _ = InMemoryRecorder::new();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Return [`Delivered::invalid`] for spans you dropped before sending (they are counted as
//! [`DropCause::Invalid`](crate::DropCause::Invalid), the rest of the batch as exported).
//! Classify errors: connection refused, timeouts, HTTP 5xx and 429, broker unavailable are
//! [`ReportError::retryable`]; a payload the backend refuses (HTTP 400) is
//! [`ReportError::permanent`] and the batch is dropped as
//! [`DropCause::Rejected`](crate::DropCause::Rejected) without retrying. Pass HTTP
//! `Retry-After` on with [`ReportError::with_retry_after`]. Do not retry inside `report`, and
//! do not add your own timeout: the pipeline does both. Close connections or producers in
//! [`Reporter::shutdown`].
//!
//! # Guarantees
//!
//! - **`record` never waits.** It reserves room with one compare-and-swap on a word holding the
//!   queued span count and bytes, pushes into a lock-free bounded ring
//!   ([`crossbeam_queue::ArrayQueue`]), and, when a full batch is waiting, wakes the worker at
//!   most once per worker pass. No lock is taken that the worker could hold. It never logs.
//! - **`record` never allocates.** The span moves into a slot of a ring allocated once, in
//!   [`BatchRecorder::new`]: `max_queue_spans` slots of about
//!   `size_of::<SpanRecord>() + 16` bytes (208 bytes on 64-bit targets, so 13 MiB for
//!   the default 65 536 spans), independent of the spans' own heap data, which
//!   `max_queue_bytes` bounds. A growable queue would allocate blocks on the hot path; a ring
//!   of boxed spans would allocate a box per span. The price of the preallocated ring is that
//!   memory up front: lower `max_queue_spans` to save it. Spans evicted under drop-oldest are
//!   freed on the recording thread.
//! - **Memory is bounded** by `max_queue_spans` and `max_queue_bytes` (estimated with
//!   [`Reporter::estimated_size`], computed once per span), plus at most `max_in_flight`
//!   batches. A span that does not fit is dropped (newest or oldest, per
//!   [`OverflowPolicy`]) and counted as [`DropCause::QueueFull`](crate::DropCause::QueueFull).
//! - **The worker owns its thread and runtime.** The pipeline works the same with no runtime,
//!   a current-thread runtime or a one-worker multi-thread runtime; no runtime is ever created
//!   or dropped on an application thread, and no "no reactor running" panic can come from a
//!   reporter's client.
//! - **Throughput:** batches are cut when `max_batch_spans` or `max_batch_bytes` is reached, or
//!   after `batch_interval`; up to `max_in_flight` batches are sent concurrently.
//! - **Timeouts are enforced:** a `report` call still running after `request_timeout` is
//!   cancelled and counts as a retryable failure. Retries back off exponentially with jitter
//!   and stop after `max_attempts` attempts or `max_retry_elapsed`; the backend's
//!   `retry_after` is honoured. Exhausted batches are dropped as
//!   [`DropCause::RetriesExhausted`](crate::DropCause::RetriesExhausted).
//! - **Flush and shutdown always return by their deadline**, from sync code or from inside any
//!   runtime (they block the calling thread at most `timeout`; use
//!   [`BatchRecorder::flush_async`] / [`BatchRecorder::shutdown_async`] to await instead), and
//!   are idempotent. If a reporter blocks the worker's thread, at most 64 requests wait for
//!   it; a later `flush` answers (timed out) after at most 10 ms, so calling it in a loop
//!   cannot pile requests up, and `shutdown` waits for room until its deadline. Shutdown
//!   delivers everything queued when the backend is healthy, then
//!   calls [`Reporter::shutdown`] within the deadline; what is left at the deadline is counted
//!   as [`DropCause::Shutdown`](crate::DropCause::Shutdown), and spans recorded afterwards as
//!   [`DropCause::AfterShutdown`](crate::DropCause::AfterShutdown).
//! - **Accounting adds up:** [`BatchRecorder::stats`] returns [`ExportStats`] with
//!   `recorded == exported + dropped.total() + queued + in_flight` in every snapshot, even
//!   while other threads record.
//! - **Logging is bounded:** through the `log` crate, the first failure or drop at `warn`, then
//!   at most one summary line per `log_summary_interval` with counts and the last error; never
//!   a line per span.
//!
//! # Defaults
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `max_queue_spans` | 65 536 | spans the queue holds (ring allocated up front) |
//! | `max_queue_bytes` | 32 MiB | estimated bytes the queue holds |
//! | `overflow` | `DropNewest` | which span a full queue drops |
//! | `max_batch_spans` | 512 | spans per batch |
//! | `max_batch_bytes` | 1 MiB | estimated bytes per batch |
//! | `batch_interval` | 1 s | longest wait before a partial batch is sent |
//! | `max_in_flight` | 8 | batches sent (or waiting to retry) at once (8 × 512 spans per 20 ms round trip is ~200 k spans/s) |
//! | `request_timeout` | 10 s | longest one `report` call may take |
//! | `max_attempts` | 8 | attempts per batch, the first included |
//! | `max_retry_elapsed` | 60 s | no retry starts later than this after the first attempt |
//! | `initial_backoff` | 100 ms | first backoff; doubles per failure, wait drawn from `[b/2, b]` |
//! | `max_backoff` | 10 s | backoff cap |
//! | `log_summary_interval` | 10 s | at most one summary log line per period |
//!
//! # Environment variables
//!
//! [`BatchConfig::from_env`] starts from the defaults and applies these; unset or empty keeps
//! the default, a malformed value is a [`ConfigError::Malformed`] naming the variable.
//!
//! | variable | field | format |
//! |---|---|---|
//! | `TRACER_EXPORT_MAX_QUEUE_SPANS` | `max_queue_spans` | integer |
//! | `TRACER_EXPORT_MAX_QUEUE_BYTES` | `max_queue_bytes` | integer (bytes) |
//! | `TRACER_EXPORT_MAX_BATCH_SPANS` | `max_batch_spans` | integer |
//! | `TRACER_EXPORT_MAX_BATCH_BYTES` | `max_batch_bytes` | integer (bytes) |
//! | `TRACER_EXPORT_BATCH_INTERVAL_MS` | `batch_interval` | integer (milliseconds) |
//! | `TRACER_EXPORT_MAX_IN_FLIGHT` | `max_in_flight` | integer |
//! | `TRACER_EXPORT_REQUEST_TIMEOUT_MS` | `request_timeout` | integer (milliseconds) |
//! | `TRACER_EXPORT_OVERFLOW` | `overflow` | `drop_newest` or `drop_oldest` |
//!
//! Zero and inconsistent values (a batch larger than the queue, a backoff cap below the first
//! backoff) are rejected by [`BatchConfig::validate`], which [`BatchRecorder::new`] runs.

mod batch;
mod config;
mod reporter;
mod state;
mod worker;

pub use self::batch::BatchRecorder;
pub use self::config::{
    BatchConfig, ConfigError, OverflowPolicy, ENV_BATCH_INTERVAL_MS, ENV_MAX_BATCH_BYTES,
    ENV_MAX_BATCH_SPANS, ENV_MAX_IN_FLIGHT, ENV_MAX_QUEUE_BYTES, ENV_MAX_QUEUE_SPANS, ENV_OVERFLOW,
    ENV_REQUEST_TIMEOUT_MS, MAX_QUEUE_BYTES_LIMIT, MAX_QUEUE_SPANS_LIMIT,
};
pub use self::reporter::{Delivered, ErrorKind, ReportError, Reporter};
pub use self::state::ExportStats;

#[cfg(test)]
mod tests {
    #[test]
    fn slot_size_matches_the_docs() {
        let slot = std::mem::size_of::<super::state::Queued>() + 8;
        println!(
            "SpanRecord: {} bytes, ring slot: {slot} bytes",
            std::mem::size_of::<crate::SpanRecord>()
        );
        assert!(
            slot <= 256,
            "update the memory figures in the module docs: {slot}"
        );
    }
}
