//! The state shared by the application threads and the export worker: the bounded queue and the
//! counters behind [`ExportStats`].
//!
//! # Counting
//!
//! A span passes through three stages: *entry* (the `record` call), *queue*, and *batch* (taken
//! by the worker, being sent or waiting to retry). Every counter is monotonic:
//!
//! - `accepted`: spans admitted to the queue;
//! - `taken`: spans the worker moved from the queue into a batch;
//! - `exported`;
//! - drops, by stage and by cause: `entry` (never admitted: queue full under drop-newest,
//!   recorded after shutdown), `queue` (evicted under drop-oldest, still queued at shutdown's
//!   deadline), `batch` (invalid, rejected, retries exhausted, in flight at shutdown's
//!   deadline).
//!
//! The gauges are derived: `queued = accepted − taken − queue drops`,
//! `in_flight = taken − exported − batch drops`, and `recorded = accepted + entry drops`, so
//! `recorded = exported + dropped + queued + in_flight` holds by construction in every
//! snapshot. Each span's later-stage counter is only ever incremented after its earlier-stage
//! one (and the queue's push/pop synchronise), and a snapshot reads later stages first, so the
//! derived gauges are never negative. A snapshot also re-reads until two passes agree (at most
//! a few times), which makes it an exact picture of one instant whenever the counters are not
//! changing faster than it can read them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

use crossbeam_queue::ArrayQueue;
use tokio::sync::Notify;

use crate::record::SpanRecord;
use crate::recorder::{DropCause, DropCounts};

use super::config::BatchConfig;

/// A snapshot of a [`BatchRecorder`](super::BatchRecorder)'s accounting, since it was created.
///
/// `recorded == exported + dropped.total() + queued + in_flight` holds in every snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans handed to [`record`](crate::Recorder::record).
    pub recorded: u64,
    /// Spans the backend confirmed.
    pub exported: u64,
    /// Spans dropped, by cause.
    pub dropped: DropCounts,
    /// Spans waiting in the queue.
    pub queued: u64,
    /// Spans taken from the queue whose batch is being sent or waiting to retry.
    pub in_flight: u64,
}

impl ExportStats {
    /// Spans not yet exported or dropped: `queued + in_flight`.
    pub fn pending(&self) -> u64 {
        self.queued + self.in_flight
    }
}

impl std::fmt::Display for ExportStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} recorded, {} exported, dropped: {}, {} queued, {} in flight",
            self.recorded, self.exported, self.dropped, self.queued, self.in_flight
        )
    }
}

/// Keeps a value on its own cache line, so counters written by the application threads and by
/// the worker do not slow each other down.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

const CAUSES: usize = DropCause::ALL.len();

fn cause_index(cause: DropCause) -> usize {
    cause.index()
}

#[derive(Debug, Default)]
struct CauseCounters([AtomicU64; CAUSES]);

impl CauseCounters {
    fn add(&self, cause: DropCause, n: u64) {
        if let Some(c) = self.0.get(cause_index(cause)) {
            c.fetch_add(n, SeqCst);
        }
    }

    fn load(&self) -> [u64; CAUSES] {
        let mut out = [0; CAUSES];
        for (o, c) in out.iter_mut().zip(&self.0) {
            *o = c.load(SeqCst);
        }
        out
    }
}

/// The stage a span was dropped in (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Never admitted to the queue.
    Entry,
    /// Admitted, removed from the queue without being taken by the worker.
    Queue,
    /// Taken by the worker.
    Batch,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: Padded<AtomicU64>,
    entry: Padded<CauseCounters>,
    taken: Padded<AtomicU64>,
    exported: AtomicU64,
    queue: CauseCounters,
    batch: CauseCounters,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Raw {
    exported: u64,
    batch: [u64; CAUSES],
    taken: u64,
    queue: [u64; CAUSES],
    accepted: u64,
    entry: [u64; CAUSES],
}

impl Raw {
    fn same_flow(&self, other: &Raw) -> bool {
        self.exported == other.exported
            && self.batch == other.batch
            && self.taken == other.taken
            && self.queue == other.queue
            && self.accepted == other.accepted
    }
}

impl Counters {
    pub(crate) fn accepted(&self) {
        self.accepted.0.fetch_add(1, SeqCst);
    }

    pub(crate) fn taken(&self) {
        self.taken.0.fetch_add(1, SeqCst);
    }

    pub(crate) fn exported(&self, n: u64) {
        self.exported.fetch_add(n, SeqCst);
    }

    pub(crate) fn dropped(&self, stage: Stage, cause: DropCause, n: u64) {
        if n == 0 {
            return;
        }
        match stage {
            Stage::Entry => self.entry.0.add(cause, n),
            Stage::Queue => self.queue.add(cause, n),
            Stage::Batch => self.batch.add(cause, n),
        }
    }

    /// Spans that have left the queue (taken or dropped from it) so far.
    pub(crate) fn left_queue(&self) -> u64 {
        let q: u64 = self.queue.load().iter().sum();
        self.taken.0.load(SeqCst) + q
    }

    /// Spans admitted to the queue so far.
    pub(crate) fn accepted_total(&self) -> u64 {
        self.accepted.0.load(SeqCst)
    }

    fn collect(&self) -> Raw {
        // Later stages first: see the module docs.
        let exported = self.exported.load(SeqCst);
        let batch = self.batch.load();
        let taken = self.taken.0.load(SeqCst);
        let queue = self.queue.load();
        let accepted = self.accepted.0.load(SeqCst);
        let entry = self.entry.0.load();
        Raw {
            exported,
            batch,
            taken,
            queue,
            accepted,
            entry,
        }
    }

    pub(crate) fn snapshot(&self) -> ExportStats {
        let mut raw = self.collect();
        for _ in 0..8 {
            let again = self.collect();
            let stable = again.same_flow(&raw);
            raw = again;
            if stable {
                break;
            }
        }
        let sum = |a: &[u64; CAUSES]| a.iter().sum::<u64>();
        let mut dropped = DropCounts::default();
        for (i, cause) in DropCause::ALL.into_iter().enumerate() {
            let n = raw.entry.get(i).copied().unwrap_or(0)
                + raw.queue.get(i).copied().unwrap_or(0)
                + raw.batch.get(i).copied().unwrap_or(0);
            dropped.add(cause, n);
        }
        let queued = raw.accepted.saturating_sub(raw.taken + sum(&raw.queue));
        let in_flight = raw.taken.saturating_sub(raw.exported + sum(&raw.batch));
        ExportStats {
            recorded: raw.accepted + sum(&raw.entry),
            exported: raw.exported,
            dropped,
            queued,
            in_flight,
        }
    }
}

/// A queued span and its estimated size, computed once when it was recorded.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) span: SpanRecord,
    pub(crate) size: u32,
}

/// The queue: a ring allocated up front, plus one atomic word holding the reserved span count
/// (high 32 bits) and reserved bytes (low 32 bits), so both bounds are checked and taken in one
/// compare-and-swap.
#[derive(Debug)]
pub(crate) struct SpanQueue {
    ring: ArrayQueue<Queued>,
    level: AtomicU64,
    max_spans: u64,
    max_bytes: u64,
}

/// The queue's fill level right after a reservation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub(crate) spans: u64,
    pub(crate) bytes: u64,
}

const ONE_SPAN: u64 = 1 << 32;
const BYTES_MASK: u64 = ONE_SPAN - 1;

impl SpanQueue {
    fn new(max_spans: usize, max_bytes: usize) -> SpanQueue {
        SpanQueue {
            ring: ArrayQueue::new(max_spans.max(1)),
            level: AtomicU64::new(0),
            max_spans: max_spans as u64,
            max_bytes: max_bytes as u64,
        }
    }

    /// Reserves room for one span of `size` bytes, or says it does not fit.
    pub(crate) fn try_reserve(&self, size: u32) -> Option<Level> {
        let size = u64::from(size);
        let mut current = self.level.load(SeqCst);
        loop {
            let spans = current >> 32;
            let bytes = current & BYTES_MASK;
            if spans + 1 > self.max_spans || bytes + size > self.max_bytes {
                return None;
            }
            let next = current + ONE_SPAN + size;
            match self
                .level
                .compare_exchange_weak(current, next, SeqCst, SeqCst)
            {
                Ok(_) => {
                    return Some(Level {
                        spans: spans + 1,
                        bytes: bytes + size,
                    })
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Gives back the room one span of `size` bytes held.
    pub(crate) fn release(&self, size: u32) {
        self.level.fetch_sub(ONE_SPAN + u64::from(size), SeqCst);
    }

    /// The reserved count and bytes right now.
    pub(crate) fn level(&self) -> Level {
        let v = self.level.load(SeqCst);
        Level {
            spans: v >> 32,
            bytes: v & BYTES_MASK,
        }
    }

    /// True when a span of `size` bytes could never fit, even in an empty queue.
    pub(crate) fn never_fits(&self, size: u32) -> bool {
        u64::from(size) > self.max_bytes
    }

    /// Pushes into the ring; gives the item back if the ring is full.
    pub(crate) fn push(&self, item: Queued) -> Option<Queued> {
        self.ring.push(item).err()
    }

    /// Takes the oldest span. The caller counts it, then calls [`release`](SpanQueue::release).
    pub(crate) fn pop(&self) -> Option<Queued> {
        self.ring.pop()
    }
}

/// Everything the application threads and the worker share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: BatchConfig,
    pub(crate) queue: SpanQueue,
    pub(crate) counters: Counters,
    /// Wakes the worker when a full batch is queued (or a command arrives).
    pub(crate) notify: Notify,
    /// Set by a `record` that notified the worker; cleared by the worker before it cuts
    /// batches. Keeps `record` from notifying more than once per worker pass.
    pub(crate) wake_pending: AtomicBool,
    /// Set by the worker while it sleeps with no spans arriving. `record` wakes it (a system
    /// call) only then; while spans keep arriving the worker polls instead, so a busy
    /// application never pays for a wake-up.
    pub(crate) parked: AtomicBool,
    /// Set by `shutdown`: spans recorded from now on are dropped as `AfterShutdown`.
    pub(crate) closed: AtomicBool,
    /// Set by the worker when it aborts in-flight batches at shutdown's deadline: their spans
    /// count as `Shutdown`.
    pub(crate) aborting: AtomicBool,
    /// Set by the worker when it has stopped: spans still reaching the queue are dropped by
    /// whoever sees them first.
    pub(crate) worker_gone: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: BatchConfig) -> Shared {
        Shared {
            queue: SpanQueue::new(config.max_queue_spans, config.max_queue_bytes),
            config,
            counters: Counters::default(),
            notify: Notify::new(),
            wake_pending: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            aborting: AtomicBool::new(false),
            worker_gone: AtomicBool::new(false),
        }
    }

    /// Removes everything still queued, counting it as dropped from the queue for `cause`.
    /// Returns how many spans it removed.
    pub(crate) fn drain_queue(&self, cause: DropCause) -> u64 {
        let mut n = 0;
        while let Some(item) = self.queue.pop() {
            self.counters.dropped(Stage::Queue, cause, 1);
            self.queue.release(item.size);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_bounds_spans_and_bytes() {
        let q = SpanQueue::new(3, 100);
        assert!(q.try_reserve(40).is_some());
        assert!(q.try_reserve(40).is_some());
        assert!(q.try_reserve(40).is_none(), "bytes bound");
        let l = q.try_reserve(20).unwrap();
        assert_eq!((l.spans, l.bytes), (3, 100));
        assert!(q.try_reserve(0).is_none(), "count bound");
        q.release(40);
        let l = q.level();
        assert_eq!((l.spans, l.bytes), (2, 60));
        assert!(q.never_fits(101));
        assert!(!q.never_fits(100));
    }

    #[test]
    fn derived_gauges_add_up() {
        let c = Counters::default();
        for _ in 0..10 {
            c.accepted();
        }
        c.dropped(Stage::Entry, DropCause::QueueFull, 3);
        for _ in 0..6 {
            c.taken();
        }
        c.dropped(Stage::Queue, DropCause::QueueFull, 1);
        c.exported(2);
        c.dropped(Stage::Batch, DropCause::Invalid, 1);
        let s = c.snapshot();
        assert_eq!(s.recorded, 13);
        assert_eq!(s.queued, 3);
        assert_eq!(s.in_flight, 3);
        assert_eq!(s.dropped.get(DropCause::QueueFull), 4);
        assert_eq!(s.dropped.get(DropCause::Invalid), 1);
        assert_eq!(
            s.recorded,
            s.exported + s.dropped.total() + s.queued + s.in_flight
        );
    }
}
