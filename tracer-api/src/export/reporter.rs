//! The [`Reporter`] trait: what a backend implements to receive batches from the pipeline.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::record::SpanRecord;

/// Sends batches of finished spans to a backend. Runs on the export pipeline's own thread and
/// runtime, never on the application's.
///
/// A reporter encodes the batch, sends it (as one or several requests or messages) and says
/// how it went. The pipeline owns batching, retries, backoff, timeouts and accounting.
#[async_trait]
pub trait Reporter: Send + Sync + 'static {
    /// Sends one batch. `Ok` means the backend confirmed every span of the batch except the
    /// ones [`Delivered::invalid`] counts (dropped before sending, for instance because the
    /// backend would reject them). An `Err` says whether resending the same batch may succeed.
    ///
    /// The pipeline may call this again with the same batch after a retryable error, and
    /// cancels a call that outlives the request timeout.
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError>;

    /// An estimate of a span's encoded size in bytes, used to bound the queue and cut batches
    /// by bytes. Called on the application's thread: keep it cheap.
    fn estimated_size(&self, span: &SpanRecord) -> usize {
        span.estimated_size()
    }

    /// Called once when the pipeline shuts down, after the last batch: flush and close
    /// connections or producers. Bounded by the shutdown deadline.
    async fn shutdown(&self) {}
}

/// The outcome of a successful [`Reporter::report`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Spans of the batch that were not sent because they were invalid for the backend; they
    /// count as dropped (`DropCause::Invalid`), the rest as exported.
    pub invalid: u64,
}

/// Whether a failed report may succeed when retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Connection refused or reset, timeout, HTTP 5xx or 429, broker unavailable: try again
    /// later with backoff.
    Retryable,
    /// The backend rejected the payload (HTTP 400 and the like): the batch is dropped.
    Permanent,
}

/// A failed [`Reporter::report`].
#[derive(Clone, Debug)]
pub struct ReportError {
    kind: ErrorKind,
    message: String,
    retry_after: Option<Duration>,
}

impl ReportError {
    /// A failure that may succeed when retried.
    pub fn retryable(message: impl fmt::Display) -> ReportError {
        ReportError {
            kind: ErrorKind::Retryable,
            message: message.to_string(),
            retry_after: None,
        }
    }

    /// A failure that will not succeed when retried.
    pub fn permanent(message: impl fmt::Display) -> ReportError {
        ReportError {
            kind: ErrorKind::Permanent,
            message: message.to_string(),
            retry_after: None,
        }
    }

    /// The backend asked to wait at least this long before retrying (HTTP `Retry-After`).
    pub fn with_retry_after(mut self, after: Duration) -> ReportError {
        self.retry_after = Some(after);
        self
    }

    /// Retryable or permanent.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// True when retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }

    /// The wait the backend asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Retryable => "retryable",
            ErrorKind::Permanent => "permanent",
        };
        write!(f, "{kind} report error: {}", self.message)
    }
}

impl std::error::Error for ReportError {}
