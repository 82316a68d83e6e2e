//! The [`Recorder`] trait every backend implements, the report flush and shutdown return, and
//! two recorders of this crate: [`NoopRecorder`] and the [`InMemoryRecorder`] for tests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::record::SpanRecord;

/// Where finished, sampled spans go.
///
/// The contract:
/// - [`record`](Recorder::record) is called on the application's thread when a span finishes.
///   It never blocks, never panics and never fails loudly: a span it cannot keep becomes a
///   counted drop, visible in the next [`ExportReport`].
/// - [`flush`](Recorder::flush) delivers what is queued, waiting at most `timeout`.
/// - [`shutdown`](Recorder::shutdown) flushes, then stops; spans recorded afterwards are
///   dropped and counted. Calling it again returns the final report.
///
/// Both are callable from synchronous code and from inside any async runtime, and always
/// return by their deadline. The trait is object-safe: a tracer holds an `Arc<dyn Recorder>`.
pub trait Recorder: Send + Sync {
    /// Takes a finished span. Never blocks.
    fn record(&self, span: SpanRecord);

    /// Delivers everything recorded so far, waiting at most `timeout`.
    fn flush(&self, timeout: Duration) -> ExportReport {
        let _ = timeout;
        ExportReport::default()
    }

    /// Flushes, then stops accepting spans. Idempotent.
    fn shutdown(&self, timeout: Duration) -> ExportReport {
        self.flush(timeout)
    }
}

impl<R: Recorder + ?Sized> Recorder for Arc<R> {
    fn record(&self, span: SpanRecord) {
        (**self).record(span)
    }
    fn flush(&self, timeout: Duration) -> ExportReport {
        (**self).flush(timeout)
    }
    fn shutdown(&self, timeout: Duration) -> ExportReport {
        (**self).shutdown(timeout)
    }
}

impl<R: Recorder + ?Sized> Recorder for Box<R> {
    fn record(&self, span: SpanRecord) {
        (**self).record(span)
    }
    fn flush(&self, timeout: Duration) -> ExportReport {
        (**self).flush(timeout)
    }
    fn shutdown(&self, timeout: Duration) -> ExportReport {
        (**self).shutdown(timeout)
    }
}

/// Why a span was dropped instead of exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropCause {
    /// The queue was full (by span count or by bytes).
    QueueFull,
    /// The span was invalid for the backend (bad id, timestamp or name) and was not sent.
    Invalid,
    /// The backend refused the payload (a permanent error, such as HTTP 400).
    Rejected,
    /// Sending failed and the retry budget or the request deadline ran out.
    RetriesExhausted,
    /// Still queued when shutdown's deadline passed.
    Shutdown,
    /// Recorded after shutdown.
    AfterShutdown,
}

impl DropCause {
    /// Every cause, in a fixed order.
    pub const ALL: [DropCause; 6] = [
        DropCause::QueueFull,
        DropCause::Invalid,
        DropCause::Rejected,
        DropCause::RetriesExhausted,
        DropCause::Shutdown,
        DropCause::AfterShutdown,
    ];

    /// A short snake_case name, for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropCause::QueueFull => "queue_full",
            DropCause::Invalid => "invalid",
            DropCause::Rejected => "rejected",
            DropCause::RetriesExhausted => "retries_exhausted",
            DropCause::Shutdown => "shutdown",
            DropCause::AfterShutdown => "after_shutdown",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DropCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Dropped spans, counted by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts([u64; 6]);

impl DropCounts {
    /// The count for one cause.
    pub fn get(&self, cause: DropCause) -> u64 {
        self.0[cause.index()]
    }

    /// Adds `n` drops of `cause`.
    pub fn add(&mut self, cause: DropCause, n: u64) {
        self.0[cause.index()] += n;
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The non-zero counts.
    pub fn iter(&self) -> impl Iterator<Item = (DropCause, u64)> + '_ {
        DropCause::ALL
            .into_iter()
            .map(|c| (c, self.get(c)))
            .filter(|&(_, n)| n > 0)
    }
}

impl fmt::Display for DropCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (cause, n) in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n} {cause}")?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// What a recorder has done with the spans it was given, since it was created: returned by
/// [`Recorder::flush`] and [`Recorder::shutdown`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Spans the backend confirmed.
    pub exported: u64,
    /// Spans dropped, by cause.
    pub dropped: DropCounts,
    /// Spans still queued or in flight when the call returned.
    pub pending: u64,
    /// True when the call returned because its deadline passed with spans still pending.
    pub timed_out: bool,
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} exported, dropped: {}, {} pending{}",
            self.exported,
            self.dropped,
            self.pending,
            if self.timed_out {
                " (deadline passed)"
            } else {
                ""
            }
        )
    }
}

/// A recorder that discards everything. The tracer's default.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopRecorder;

impl Recorder for NoopRecorder {
    fn record(&self, _span: SpanRecord) {}
}

/// A recorder that keeps finished spans in memory, for tests (this crate's, recorder crates'
/// and applications').
///
/// Clones share the same store. `wait_for` lets a test wait for spans finished on other threads.
#[derive(Clone, Default)]
pub struct InMemoryRecorder {
    shared: Arc<(Mutex<Vec<SpanRecord>>, Condvar)>,
    recorded: Arc<AtomicU64>,
}

impl fmt::Debug for InMemoryRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryRecorder")
            .field("spans", &self.len())
            .finish()
    }
}

impl InMemoryRecorder {
    /// An empty recorder.
    pub fn new() -> InMemoryRecorder {
        InMemoryRecorder::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<SpanRecord>> {
        self.shared.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the spans recorded so far, in finish order.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.lock().clone()
    }

    /// Takes the spans recorded so far, leaving the store empty.
    pub fn take(&self) -> Vec<SpanRecord> {
        std::mem::take(&mut *self.lock())
    }

    /// The number of spans recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least `n` spans are stored, at most `timeout`. Returns whether they are.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut spans = self.lock();
        while spans.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            spans = match self.shared.1.wait_timeout(spans, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

impl Recorder for InMemoryRecorder {
    fn record(&self, span: SpanRecord) {
        self.lock().push(span);
        self.recorded.fetch_add(1, Ordering::Relaxed);
        self.shared.1.notify_all();
    }

    fn flush(&self, _timeout: Duration) -> ExportReport {
        ExportReport {
            exported: self.recorded.load(Ordering::Relaxed),
            ..ExportReport::default()
        }
    }
}
