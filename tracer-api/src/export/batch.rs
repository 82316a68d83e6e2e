//! [`BatchRecorder`]: the handle applications and tracers hold.

use std::fmt;
use std::sync::atomic::{fence, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::Sender;

use crate::record::SpanRecord;
use crate::recorder::{DropCause, ExportReport, Recorder};

use super::config::{BatchConfig, ConfigError, OverflowPolicy};
use super::reporter::Reporter;
use super::state::{ExportStats, Level, Queued, Shared, Stage};
use super::worker::{self, deadline_after, report_now, worker_deadline, Command};

/// Under [`OverflowPolicy::DropOldest`], the most spans one `record` call evicts to make room
/// before it drops the new span instead (bounds the call's work).
const MAX_EVICTIONS_PER_RECORD: usize = 64;

/// A [`Recorder`] that queues finished spans and sends them in batches through a [`Reporter`]
/// from a worker thread of its own. See the [module documentation](super) for the guarantees.
///
/// Cloning is cheap and every clone shares the same queue and worker. When the last clone is
/// dropped without [`shutdown`](Recorder::shutdown), the worker delivers what is queued in the
/// background (for at most one `request_timeout`) and stops; call `shutdown` at exit to wait
/// for it and learn what happened.
pub struct BatchRecorder<R: Reporter> {
    inner: Arc<Inner<R>>,
}

struct Inner<R> {
    shared: Arc<Shared>,
    reporter: Arc<R>,
    control: Sender<Command>,
}

impl<R: Reporter> Clone for BatchRecorder<R> {
    fn clone(&self) -> Self {
        BatchRecorder {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<R: Reporter> fmt::Debug for BatchRecorder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchRecorder")
            .field("reporter", &std::any::type_name::<R>())
            .field("config", &self.inner.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<R: Reporter> BatchRecorder<R> {
    /// Validates `config`, allocates the queue and starts the worker thread.
    ///
    /// Fails with [`ConfigError::Invalid`] for zero or inconsistent settings (see
    /// [`BatchConfig::validate`]) and with [`ConfigError::Worker`] when the operating system
    /// refuses a thread. Callable from anywhere, including inside an async runtime: it waits
    /// only for the worker thread to start.
    pub fn new(reporter: R, config: BatchConfig) -> Result<BatchRecorder<R>, ConfigError> {
        config.validate()?;
        let shared = Arc::new(Shared::new(config));
        let reporter = Arc::new(reporter);
        let control = worker::spawn(Arc::clone(&shared), Arc::clone(&reporter))?;
        Ok(BatchRecorder {
            inner: Arc::new(Inner {
                shared,
                reporter,
                control,
            }),
        })
    }

    /// The reporter batches go to.
    pub fn reporter(&self) -> &R {
        &self.inner.reporter
    }

    /// The configuration in force.
    pub fn config(&self) -> &BatchConfig {
        &self.inner.shared.config
    }

    /// Counts since the recorder was created. `recorded == exported + dropped.total() + queued
    /// + in_flight` in every snapshot.
    pub fn stats(&self) -> ExportStats {
        self.inner.shared.counters.snapshot()
    }

    /// [`Recorder::flush`] for async code: awaits the result instead of blocking the calling
    /// thread (the wait runs on a short-lived helper thread). Works on any runtime, and
    /// resolves within `timeout`.
    pub async fn flush_async(&self, timeout: Duration) -> ExportReport {
        self.off_thread(timeout, false).await
    }

    /// [`Recorder::shutdown`] for async code: awaits the result instead of blocking the calling
    /// thread (the wait runs on a short-lived helper thread). Works on any runtime, and
    /// resolves within `timeout`.
    pub async fn shutdown_async(&self, timeout: Duration) -> ExportReport {
        self.off_thread(timeout, true).await
    }

    fn call(&self, timeout: Duration, shutdown: bool) -> ExportReport {
        if shutdown {
            self.shutdown(timeout)
        } else {
            self.flush(timeout)
        }
    }

    async fn off_thread(&self, timeout: Duration, shutdown: bool) -> ExportReport {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("tracer-export-wait".to_owned())
            .spawn(move || {
                let _ = tx.send(this.call(timeout, shutdown));
            });
        match spawned {
            Ok(_) => match rx.await {
                Ok(report) => report,
                Err(_) => report_now(&self.inner.shared, true),
            },
            // No helper thread to be had: wait here, still bounded by `timeout`.
            Err(_) => self.call(timeout, shutdown),
        }
    }

    /// Under drop-oldest: evicts queued spans until one of `size` bytes fits.
    fn make_room(&self, size: u32) -> Option<Level> {
        let shared = &*self.inner.shared;
        if shared.queue.never_fits(size) {
            return None;
        }
        for _ in 0..MAX_EVICTIONS_PER_RECORD {
            let old = shared.queue.pop()?;
            shared
                .counters
                .dropped(Stage::Queue, DropCause::QueueFull, 1);
            shared.queue.release(old.size);
            drop(old);
            if let Some(level) = shared.queue.try_reserve(size) {
                return Some(level);
            }
        }
        None
    }
}

/// What is left of `timeout` since `start`.
fn remaining(start: Instant, timeout: Duration) -> Duration {
    timeout.saturating_sub(start.elapsed())
}

/// How long `flush` waits for room in a full request queue (see [`send_by`]).
const FLUSH_GRACE: Duration = Duration::from_millis(10);

/// Sends a request to the worker; while its bounded request queue is full (the worker's thread
/// stuck, or flooded with requests), retries until `deadline`. Never blocks a runtime: it
/// sleeps the calling thread in short steps, as `flush` and `shutdown` block it anyway.
fn send_by(
    control: &Sender<Command>,
    mut command: Command,
    deadline: Instant,
) -> Result<(), TrySendError<Command>> {
    loop {
        match control.try_send(command) {
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                command = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

impl<R: Reporter> Recorder for BatchRecorder<R> {
    /// Queues the span, or counts it as dropped. Never waits and never allocates: the span
    /// moves into a slot of the ring allocated when the recorder was built (see the module
    /// documentation for the costs).
    fn record(&self, span: SpanRecord) {
        let shared = &*self.inner.shared;
        if shared.closed.load(Relaxed) {
            shared
                .counters
                .dropped(Stage::Entry, DropCause::AfterShutdown, 1);
            return;
        }
        let size = u32::try_from(self.inner.reporter.estimated_size(&span)).unwrap_or(u32::MAX);
        let level = match shared.queue.try_reserve(size) {
            Some(level) => level,
            None => {
                let room = match shared.config.overflow {
                    OverflowPolicy::DropNewest => None,
                    OverflowPolicy::DropOldest => self.make_room(size),
                };
                match room {
                    Some(level) => level,
                    None => {
                        shared
                            .counters
                            .dropped(Stage::Entry, DropCause::QueueFull, 1);
                        return;
                    }
                }
            }
        };
        shared.counters.accepted();
        if let Some(item) = shared.queue.push(Queued { span, size }) {
            // Reservations never exceed the ring's capacity, so this does not happen; if it
            // did, the span would be counted, not lost.
            shared
                .counters
                .dropped(Stage::Queue, DropCause::QueueFull, 1);
            shared.queue.release(item.size);
            return;
        }
        // Pairs with the fence in the worker's final drain: either the worker sees this span,
        // or this call sees that the worker is gone and drops it itself.
        fence(SeqCst);
        if shared.worker_gone.load(Relaxed) {
            shared.drain_queue(DropCause::AfterShutdown);
            return;
        }
        let config = &shared.config;
        if (level.spans >= config.max_batch_spans as u64
            || level.bytes >= config.max_batch_bytes as u64)
            && shared.parked.load(SeqCst)
            && !shared.wake_pending.load(Relaxed)
            && !shared.wake_pending.swap(true, SeqCst)
        {
            shared.notify.notify_one();
        }
    }

    /// Sends every span recorded before the call (partial batches included) and waits for
    /// their outcome, at most `timeout`. Callable from any thread, sync or async; blocks the
    /// calling thread at most `timeout`.
    fn flush(&self, timeout: Duration) -> ExportReport {
        let shared = &*self.inner.shared;
        if shared.worker_gone.load(SeqCst) {
            return report_now(shared, false);
        }
        let now = Instant::now();
        let (tx, rx) = sync_channel(1);
        let command = Command::Flush {
            target: shared.counters.accepted_total(),
            deadline: worker_deadline(now, timeout),
            reply: tx,
        };
        // A full request queue means the worker has not read its last requests: give it a
        // short grace, then answer (timed out) rather than pile requests up.
        let grace = deadline_after(now, timeout.min(FLUSH_GRACE));
        match send_by(&self.inner.control, command, grace) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return report_now(shared, true),
            Err(TrySendError::Closed(_)) => return report_now(shared, false),
        }
        match rx.recv_timeout(remaining(now, timeout)) {
            Ok(report) => report,
            Err(RecvTimeoutError::Timeout) => report_now(shared, true),
            Err(RecvTimeoutError::Disconnected) => report_now(shared, false),
        }
    }

    /// Stops accepting spans (later ones are dropped as `AfterShutdown`), delivers everything
    /// queued, then calls [`Reporter::shutdown`]; at `timeout` it cancels what is still in
    /// flight and counts it, with what is still queued, as `Shutdown`. Blocks the calling
    /// thread at most `timeout`; idempotent (later calls return the current report).
    fn shutdown(&self, timeout: Duration) -> ExportReport {
        let shared = &*self.inner.shared;
        shared.closed.store(true, SeqCst);
        let now = Instant::now();
        let (tx, rx) = sync_channel(1);
        let command = Command::Shutdown {
            deadline: worker_deadline(now, timeout),
            reply: tx,
        };
        let sent = match send_by(&self.inner.control, command, deadline_after(now, timeout)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                // The worker's thread stayed stuck, its request queue full, to the deadline.
                shared.drain_queue(DropCause::Shutdown);
                return report_now(shared, true);
            }
            Err(TrySendError::Closed(_)) => false,
        };
        if sent {
            match rx.recv_timeout(remaining(now, timeout)) {
                Ok(report) => return report,
                Err(RecvTimeoutError::Disconnected) => {}
                Err(RecvTimeoutError::Timeout) => {
                    // The worker is stuck (a reporter blocking its thread): count what is
                    // still queued here; spans inside the stuck call stay pending.
                    shared.drain_queue(DropCause::Shutdown);
                    return report_now(shared, true);
                }
            }
        }
        let report = report_now(shared, false);
        ExportReport {
            timed_out: report.pending > 0,
            ..report
        }
    }
}
