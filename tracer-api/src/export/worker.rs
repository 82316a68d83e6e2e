//! The export worker: its own OS thread running its own current-thread tokio runtime. It cuts
//! batches from the queue, keeps up to `max_in_flight` of them being sent, retries with backoff,
//! answers flushes and runs the shutdown sequence.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{fence, Ordering::SeqCst};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{channel, Receiver, Sender};
use tokio::task::{JoinError, JoinSet};

use crate::record::SpanRecord;
use crate::recorder::{DropCause, DropCounts, ExportReport};

use super::config::{BatchConfig, ConfigError};
use super::reporter::{ReportError, Reporter};
use super::state::{Queued, Shared, Stage};

/// A request from an application thread to the worker.
#[derive(Debug)]
pub(crate) enum Command {
    /// Deliver every span accepted before the call (`target` is the accepted count then).
    Flush {
        target: u64,
        deadline: Instant,
        reply: SyncSender<ExportReport>,
    },
    /// Deliver everything, stop, and call `Reporter::shutdown`.
    Shutdown {
        deadline: Instant,
        reply: SyncSender<ExportReport>,
    },
}

/// Flush and shutdown requests the worker has not read yet, at most. More means its thread is
/// stuck (a reporter blocking it): further calls answer at once instead of piling up.
pub(crate) const MAX_PENDING_COMMANDS: usize = 64;

/// `now + d`, saturating instead of overflowing for absurd durations.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(60 * 60 * 24 * 365);
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

/// The deadline the worker works to: a little before the caller's, so its answer (with the
/// leftovers counted) arrives before the caller stops waiting.
pub(crate) fn worker_deadline(now: Instant, timeout: Duration) -> Instant {
    let margin = (timeout / 20).min(Duration::from_millis(50));
    deadline_after(now, timeout.saturating_sub(margin))
}

/// The report of what happened so far.
pub(crate) fn report_now(shared: &Shared, timed_out: bool) -> ExportReport {
    let s = shared.counters.snapshot();
    ExportReport {
        exported: s.exported,
        dropped: s.dropped,
        pending: s.pending(),
        timed_out,
    }
}

/// Starts the worker thread and its runtime; returns the command channel.
pub(crate) fn spawn<R: Reporter>(
    shared: Arc<Shared>,
    reporter: Arc<R>,
) -> Result<Sender<Command>, ConfigError> {
    let (tx, rx) = channel(MAX_PENDING_COMMANDS);
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    std::thread::Builder::new()
        .name("tracer-export".to_owned())
        .spawn(move || {
            // The runtime is created, used and dropped on this thread only.
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let worker = Worker::new(shared, reporter, rx);
            runtime.block_on(worker.run());
        })
        .map_err(|e| ConfigError::Worker {
            reason: e.to_string(),
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(tx),
        Ok(Err(reason)) => Err(ConfigError::Worker { reason }),
        Err(_) => Err(ConfigError::Worker {
            reason: "the worker thread stopped while starting".to_owned(),
        }),
    }
}

struct FlushWait {
    target: u64,
    /// Once every span of the target has left the queue: batches with a lower sequence number
    /// must finish.
    cut_before: Option<u64>,
    deadline: Instant,
    reply: SyncSender<ExportReport>,
}

struct ShutdownWait {
    deadline: Instant,
    replies: Vec<SyncSender<ExportReport>>,
}

enum Event {
    Command(Option<Command>),
    Joined(Result<(tokio::task::Id, ()), JoinError>),
    Wake,
}

struct Worker<R> {
    shared: Arc<Shared>,
    reporter: Arc<R>,
    log: Arc<LogState>,
    rx: Receiver<Command>,
    rx_open: bool,
    tasks: JoinSet<()>,
    seq_of: HashMap<tokio::task::Id, u64>,
    outstanding: BTreeSet<u64>,
    next_seq: u64,
    /// A span taken from the queue that did not fit in the previous batch's bytes.
    carry: Option<Queued>,
    last_cut: Instant,
    flushes: Vec<FlushWait>,
    shutdown: Option<ShutdownWait>,
    seed: u64,
    /// `accepted` at the previous pass: spans arriving since then keep the worker polling.
    last_accepted: u64,
}

/// How often the worker looks at the queue while spans keep arriving.
const POLL: Duration = Duration::from_millis(1);

impl<R: Reporter> Worker<R> {
    fn new(shared: Arc<Shared>, reporter: Arc<R>, rx: Receiver<Command>) -> Worker<R> {
        let seed = seed_from_clock();
        Worker {
            log: Arc::new(LogState::new(shared.config.log_summary_interval)),
            shared,
            reporter,
            rx,
            rx_open: true,
            tasks: JoinSet::new(),
            seq_of: HashMap::new(),
            outstanding: BTreeSet::new(),
            next_seq: 0,
            carry: None,
            last_cut: Instant::now(),
            flushes: Vec::new(),
            shutdown: None,
            seed,
            last_accepted: 0,
        }
    }

    fn config(&self) -> &BatchConfig {
        &self.shared.config
    }

    async fn run(mut self) {
        loop {
            self.reap();
            self.cut();
            self.answer_flushes();
            if let Some(sd) = &self.shutdown {
                if self.idle() || Instant::now() >= sd.deadline {
                    break;
                }
            }
            self.log.maybe_summarise(&self.shared);
            let mut wake_at = self.next_wake();
            let accepted = self.shared.counters.accepted_total();
            let arriving = accepted != self.last_accepted;
            self.last_accepted = accepted;
            if arriving && self.tasks.len() < self.config().max_in_flight {
                // Busy: poll, so that `record` never has to wake us.
                wake_at = wake_at.min(Instant::now() + POLL);
            } else {
                // Quiet (or nothing can be sent): sleep until `record` sees a full batch.
                self.shared.parked.store(true, SeqCst);
                if self.full_batch_queued() {
                    self.shared.parked.store(false, SeqCst);
                    continue;
                }
            }
            let wake_at = tokio::time::Instant::from_std(wake_at);
            let event = tokio::select! {
                biased;
                cmd = self.rx.recv(), if self.rx_open => Event::Command(cmd),
                Some(res) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    Event::Joined(res)
                }
                _ = self.shared.notify.notified() => Event::Wake,
                _ = tokio::time::sleep_until(wake_at) => Event::Wake,
            };
            self.shared.parked.store(false, SeqCst);
            match event {
                Event::Command(cmd) => self.on_command(cmd),
                Event::Joined(res) => self.on_joined(res),
                Event::Wake => {}
            }
        }
        self.finish().await;
    }

    /// True when the queue holds at least a full batch (by spans or bytes) and one could be
    /// started now.
    fn full_batch_queued(&self) -> bool {
        let level = self.shared.queue.level();
        self.tasks.len() < self.config().max_in_flight
            && (level.spans >= self.config().max_batch_spans as u64
                || level.bytes >= self.config().max_batch_bytes as u64)
    }

    /// Nothing queued, carried or in flight.
    fn idle(&self) -> bool {
        self.carry.is_none() && self.tasks.is_empty() && self.shared.queue.level().spans == 0
    }

    fn next_wake(&self) -> Instant {
        let now = Instant::now();
        let interval = self.config().batch_interval;
        let can_cut = self.tasks.len() < self.config().max_in_flight;
        let has_spans = self.carry.is_some() || self.shared.queue.level().spans > 0;
        let mut at = if can_cut && has_spans {
            deadline_after(self.last_cut, interval)
        } else {
            deadline_after(now, interval)
        };
        at = at.min(self.log.next_due());
        for f in &self.flushes {
            at = at.min(f.deadline);
        }
        if let Some(sd) = &self.shutdown {
            at = at.min(sd.deadline);
        }
        // Never spin: wake at least a millisecond from now unless a deadline is due.
        at.max(now + Duration::from_millis(1))
    }

    fn on_command(&mut self, cmd: Option<Command>) {
        match cmd {
            Some(Command::Flush {
                target,
                deadline,
                reply,
            }) => self.flushes.push(FlushWait {
                target,
                cut_before: None,
                deadline,
                reply,
            }),
            Some(Command::Shutdown { deadline, reply }) => {
                self.shared.closed.store(true, SeqCst);
                match &mut self.shutdown {
                    Some(sd) => {
                        sd.deadline = sd.deadline.min(deadline);
                        sd.replies.push(reply);
                    }
                    None => {
                        self.shutdown = Some(ShutdownWait {
                            deadline,
                            replies: vec![reply],
                        })
                    }
                }
            }
            None => {
                // Every handle is gone without a shutdown: deliver what is queued in the
                // background (bounded by one request timeout), then stop.
                self.rx_open = false;
                self.shared.closed.store(true, SeqCst);
                if self.shutdown.is_none() {
                    let deadline = deadline_after(Instant::now(), self.config().request_timeout);
                    self.shutdown = Some(ShutdownWait {
                        deadline,
                        replies: Vec::new(),
                    });
                }
            }
        }
    }

    fn on_joined(&mut self, res: Result<(tokio::task::Id, ()), JoinError>) {
        let id = match res {
            Ok((id, ())) => id,
            Err(e) => {
                if e.is_panic() {
                    log::error!("span export: the reporter panicked while sending a batch; its spans are counted as rejected");
                }
                e.id()
            }
        };
        if let Some(seq) = self.seq_of.remove(&id) {
            self.outstanding.remove(&seq);
        }
    }

    fn reap(&mut self) {
        while let Some(res) = self.tasks.try_join_next_with_id() {
            self.on_joined(res);
        }
    }

    /// Cuts and starts as many batches as the queue and `max_in_flight` allow. Full batches go
    /// at once; a partial one when the interval has passed, or when a flush or shutdown waits.
    fn cut(&mut self) {
        let now = Instant::now();
        let max_spans = self.config().max_batch_spans as u64;
        let max_bytes = self.config().max_batch_bytes as u64;
        let interval_due = now >= deadline_after(self.last_cut, self.config().batch_interval);
        let force = interval_due || !self.flushes.is_empty() || self.shutdown.is_some();
        while self.tasks.len() < self.config().max_in_flight {
            self.shared.wake_pending.store(false, SeqCst);
            let level = self.shared.queue.level();
            let (carry_spans, carry_bytes) = match &self.carry {
                Some(c) => (1, u64::from(c.size)),
                None => (0, 0),
            };
            let spans = level.spans + carry_spans;
            let full = spans >= max_spans || level.bytes + carry_bytes >= max_bytes;
            if spans == 0 || !(full || force) {
                break;
            }
            let batch = self.take_batch(spans);
            if batch.is_empty() {
                break;
            }
            self.start_batch(batch);
            self.last_cut = now;
        }
        if interval_due && self.carry.is_none() && self.shared.queue.level().spans == 0 {
            self.last_cut = now;
        }
    }

    fn take_batch(&mut self, available: u64) -> Vec<SpanRecord> {
        let max_spans = self.config().max_batch_spans;
        let max_bytes = self.config().max_batch_bytes as u64;
        let cap = usize::try_from(available)
            .unwrap_or(max_spans)
            .min(max_spans);
        let mut batch = Vec::with_capacity(cap);
        let mut bytes = 0u64;
        if let Some(c) = self.carry.take() {
            bytes += u64::from(c.size);
            batch.push(c.span);
        }
        while batch.len() < max_spans {
            let Some(item) = self.shared.queue.pop() else {
                break;
            };
            self.shared.counters.taken();
            self.shared.queue.release(item.size);
            if !batch.is_empty() && bytes + u64::from(item.size) > max_bytes {
                self.carry = Some(item);
                break;
            }
            bytes += u64::from(item.size);
            batch.push(item.span);
        }
        batch
    }

    fn start_batch(&mut self, batch: Vec<SpanRecord>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let job = BatchJob {
            shared: Arc::clone(&self.shared),
            reporter: Arc::clone(&self.reporter),
            log: Arc::clone(&self.log),
            seed: splitmix64(self.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        };
        let handle = self.tasks.spawn(job.send(batch));
        self.seq_of.insert(handle.id(), seq);
        self.outstanding.insert(seq);
    }

    fn answer_flushes(&mut self) {
        if self.flushes.is_empty() {
            return;
        }
        let now = Instant::now();
        let carried = u64::from(self.carry.is_some());
        let left = self.shared.counters.left_queue().saturating_sub(carried);
        let oldest = self.outstanding.first().copied();
        let next_seq = self.next_seq;
        let shared = Arc::clone(&self.shared);
        self.flushes.retain_mut(|f| {
            if f.cut_before.is_none() && left >= f.target {
                f.cut_before = Some(next_seq);
            }
            let done = f.cut_before.is_some_and(|c| oldest.is_none_or(|o| o >= c));
            if done {
                let _ = f.reply.try_send(report_now(&shared, false));
                false
            } else if now >= f.deadline {
                let _ = f.reply.try_send(report_now(&shared, true));
                false
            } else {
                true
            }
        });
    }

    /// The end of the worker: at the deadline, cancel what is in flight and count what is
    /// left; then shut the reporter down within what remains of the deadline; answer everyone.
    async fn finish(&mut self) {
        let deadline = self
            .shutdown
            .as_ref()
            .map_or_else(Instant::now, |sd| sd.deadline);
        let timed_out = !self.idle();
        if timed_out {
            self.shared.aborting.store(true, SeqCst);
            self.tasks.abort_all();
            while let Some(res) = self.tasks.join_next_with_id().await {
                self.on_joined(res);
            }
            if self.carry.take().is_some() {
                self.shared
                    .counters
                    .dropped(Stage::Batch, DropCause::Shutdown, 1);
            }
            let n = self.shared.drain_queue(DropCause::Shutdown);
            log::warn!(
                "span export: shutdown deadline passed; {n} queued spans and the batches in flight were dropped"
            );
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(remaining, self.reporter.shutdown())
            .await
            .is_err()
        {
            log::warn!("span export: the reporter's shutdown did not finish by the deadline");
        }
        self.shared.worker_gone.store(true, SeqCst);
        fence(SeqCst);
        self.shared.drain_queue(DropCause::AfterShutdown);
        self.log.final_summary(&self.shared);

        let report = report_now(&self.shared, timed_out);
        for f in self.flushes.drain(..) {
            let _ = f.reply.try_send(report);
        }
        if let Some(sd) = self.shutdown.take() {
            for r in sd.replies {
                let _ = r.try_send(report);
            }
        }
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            match cmd {
                Command::Flush { reply, .. } | Command::Shutdown { reply, .. } => {
                    let _ = reply.try_send(report_now(&self.shared, false));
                }
            }
        }
    }
}

/// One batch being sent: attempts, backoff, accounting.
struct BatchJob<R> {
    shared: Arc<Shared>,
    reporter: Arc<R>,
    log: Arc<LogState>,
    seed: u64,
}

/// Counts a batch's spans if its task ends without resolving them: cancelled at shutdown's
/// deadline (`Shutdown`) or unwound by a panicking reporter (`Rejected`).
struct Unresolved {
    shared: Arc<Shared>,
    spans: u64,
    armed: bool,
}

impl Unresolved {
    fn resolve(&mut self, counted: impl FnOnce(&Shared)) {
        counted(&self.shared);
        self.armed = false;
    }
}

impl Drop for Unresolved {
    fn drop(&mut self) {
        if self.armed {
            let cause = if self.shared.aborting.load(SeqCst) {
                DropCause::Shutdown
            } else {
                DropCause::Rejected
            };
            self.shared
                .counters
                .dropped(Stage::Batch, cause, self.spans);
        }
    }
}

impl<R: Reporter> BatchJob<R> {
    async fn send(self, batch: Vec<SpanRecord>) {
        let n = batch.len() as u64;
        let mut unresolved = Unresolved {
            shared: Arc::clone(&self.shared),
            spans: n,
            armed: true,
        };
        let config = &self.shared.config;
        let first = Instant::now();
        let mut rng = self.seed;
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let outcome =
                tokio::time::timeout(config.request_timeout, self.reporter.report(&batch)).await;
            let (err, timed_out) = match outcome {
                Ok(Ok(delivered)) => {
                    let invalid = delivered.invalid.min(n);
                    unresolved.resolve(|s| {
                        s.counters
                            .dropped(Stage::Batch, DropCause::Invalid, invalid);
                        s.counters.exported(n - invalid);
                    });
                    return;
                }
                Ok(Err(e)) if !e.is_retryable() => {
                    unresolved
                        .resolve(|s| s.counters.dropped(Stage::Batch, DropCause::Rejected, n));
                    self.log.failure(&e, false, "batch rejected, not retried");
                    return;
                }
                Ok(Err(e)) => (e, false),
                Err(_) => (
                    ReportError::retryable(format!(
                        "the request did not finish within {:?} and was cancelled",
                        config.request_timeout
                    )),
                    true,
                ),
            };
            let backoff = backoff(config, attempt, &mut rng);
            let wait = err
                .retry_after()
                .map_or(backoff, |after| after.max(backoff));
            let over_budget = first.elapsed().saturating_add(wait) > config.max_retry_elapsed;
            if attempt >= config.max_attempts || over_budget {
                unresolved.resolve(|s| {
                    s.counters
                        .dropped(Stage::Batch, DropCause::RetriesExhausted, n)
                });
                self.log
                    .failure(&err, timed_out, "retry budget exhausted, batch dropped");
                return;
            }
            self.log.failure(&err, timed_out, "will retry with backoff");
            tokio::time::sleep(wait).await;
        }
    }
}

/// The wait before retry number `attempt` (1 after the first failure): the backoff doubles
/// from `initial_backoff` up to `max_backoff`, and the wait is drawn from `[b/2, b]`.
pub(crate) fn backoff(config: &BatchConfig, attempt: u32, rng: &mut u64) -> Duration {
    let shift = attempt.saturating_sub(1).min(31);
    let base = config
        .initial_backoff
        .checked_mul(1u32 << shift)
        .unwrap_or(config.max_backoff)
        .min(config.max_backoff);
    let nanos = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
    let half = nanos / 2;
    *rng = splitmix64(*rng);
    let jitter = if half == u64::MAX {
        *rng
    } else {
        *rng % (half + 1)
    };
    Duration::from_nanos(nanos - half + jitter)
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed_from_clock() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    splitmix64(nanos ^ u64::from(std::process::id()))
}

/// Rate-limited logging: the first problem at `warn`, then at most one summary line per
/// `interval`, never a line per span or per batch.
/// How often the worker looks for a first drop to warn about.
const FIRST_DROP_CHECK: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct LogState {
    interval: Duration,
    inner: Mutex<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    /// The first failed request was logged.
    warned_failure: bool,
    /// The first drop was logged.
    warned_drop: bool,
    failures: u64,
    timeouts: u64,
    last_error: Option<String>,
    next_due: Instant,
    /// Before the first warning: when the counters are next read to look for a first drop.
    /// Reading them touches the cache lines `record` writes, so not on every worker pass.
    next_drop_check: Instant,
    drops_seen: DropCounts,
}

impl LogState {
    fn new(interval: Duration) -> LogState {
        LogState {
            interval,
            inner: Mutex::new(LogInner {
                warned_failure: false,
                warned_drop: false,
                failures: 0,
                timeouts: 0,
                last_error: None,
                next_due: deadline_after(Instant::now(), interval),
                next_drop_check: Instant::now(),
                drops_seen: DropCounts::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_due(&self) -> Instant {
        self.lock().next_due
    }

    fn failure(&self, err: &ReportError, timed_out: bool, what: &str) {
        let mut inner = self.lock();
        if !inner.warned_failure {
            inner.warned_failure = true;
            inner.next_due = inner
                .next_due
                .max(deadline_after(Instant::now(), self.interval));
            log::warn!(
                "span export failed ({what}): {err}; further failures are summarised at most every {:?}",
                self.interval
            );
            return;
        }
        inner.failures += 1;
        if timed_out {
            inner.timeouts += 1;
        }
        inner.last_error = Some(err.to_string());
    }

    fn maybe_summarise(&self, shared: &Shared) {
        let now = Instant::now();
        let mut inner = self.lock();
        let warned = inner.warned_failure || inner.warned_drop;
        if warned && now < inner.next_due {
            return;
        }
        if !inner.warned_drop {
            if now < inner.next_drop_check {
                return;
            }
            inner.next_drop_check = deadline_after(now, FIRST_DROP_CHECK);
        }
        let stats = shared.counters.snapshot();
        let new_drops = difference(&stats.dropped, &inner.drops_seen);
        if !inner.warned_drop && new_drops.total() > 0 {
            // The first drop gets its own line, at once.
            inner.warned_drop = true;
            inner.drops_seen = stats.dropped;
            inner.next_due = inner.next_due.max(deadline_after(now, self.interval));
            log::warn!(
                "span export: spans dropped ({new_drops}); further drops and failures are summarised at most every {:?}",
                self.interval
            );
            return;
        }
        if !warned || now < inner.next_due {
            return;
        }
        Self::summary_line(&mut inner, &new_drops, &stats, self.interval);
        inner.drops_seen = stats.dropped;
        inner.next_due = deadline_after(now, self.interval);
    }

    fn final_summary(&self, shared: &Shared) {
        let mut inner = self.lock();
        let stats = shared.counters.snapshot();
        let new_drops = difference(&stats.dropped, &inner.drops_seen);
        Self::summary_line(&mut inner, &new_drops, &stats, self.interval);
        inner.drops_seen = stats.dropped;
    }

    fn summary_line(
        inner: &mut LogInner,
        new_drops: &DropCounts,
        stats: &super::ExportStats,
        interval: Duration,
    ) {
        if inner.failures == 0 && new_drops.total() == 0 {
            return;
        }
        let last = inner.last_error.take().unwrap_or_default();
        log::warn!(
            "span export, last {interval:?}: {} failed requests ({} timed out), dropped: {new_drops}; last error: {last}; totals: {stats}",
            inner.failures,
            inner.timeouts,
        );
        inner.failures = 0;
        inner.timeouts = 0;
    }
}

fn difference(now: &DropCounts, before: &DropCounts) -> DropCounts {
    let mut d = DropCounts::default();
    for cause in DropCause::ALL {
        d.add(cause, now.get(cause).saturating_sub(before.get(cause)));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_equal_jitter_and_is_capped() {
        let config = BatchConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..BatchConfig::default()
        };
        let mut rng = 42;
        for _ in 0..1000 {
            let b1 = backoff(&config, 1, &mut rng);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = backoff(&config, 3, &mut rng);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            let b20 = backoff(&config, 20, &mut rng);
            assert!(b20 >= Duration::from_millis(500) && b20 <= Duration::from_secs(1));
            let huge = backoff(&config, u32::MAX, &mut rng);
            assert!(huge <= Duration::from_secs(1));
        }
    }

    #[test]
    fn deadlines_saturate() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now);
        assert!(worker_deadline(now, Duration::from_secs(1)) < now + Duration::from_secs(1));
        assert_eq!(worker_deadline(now, Duration::ZERO), now);
    }
}
