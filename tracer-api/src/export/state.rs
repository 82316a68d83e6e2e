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

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Mutex, PoisonError, TryLockError};

use crossbeam_queue::ArrayQueue;
use tokio::sync::Notify;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::context::{Baggage, Sampling};
use crate::id::{new_span_id, new_trace_id};
use crate::record::{Process, References, SpanRecord};
use crate::recorder::{DropCause, DropCounts};

use super::config::{BatchConfig, OverflowPolicy};
use super::staging::{stage_spans, Registry, Staged};

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

    pub(crate) fn taken(&self, n: u64) {
        self.taken.0.fetch_add(n, SeqCst);
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

/// Spans handed over together (oldest first) with their estimated sizes. A chunk that fits a
/// batch becomes the batch as it is: its spans are not copied again.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub(crate) spans: VecDeque<SpanRecord>,
    pub(crate) sizes: VecDeque<u32>,
}

impl Chunk {
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub(crate) fn push(&mut self, item: Queued) {
        self.spans.push_back(item.span);
        self.sizes.push_back(item.size);
    }

    /// Takes the oldest span.
    pub(crate) fn pop_front(&mut self) -> Option<Queued> {
        let span = self.spans.pop_front()?;
        let size = self.sizes.pop_front().unwrap_or(0);
        Some(Queued { span, size })
    }

    /// The spans and estimated bytes it holds.
    pub(crate) fn totals(&self) -> (u64, u64) {
        (
            self.len() as u64,
            self.sizes.iter().map(|&s| u64::from(s)).sum(),
        )
    }

    pub(crate) fn clear(&mut self) {
        self.spans.clear();
        self.sizes.clear();
    }
}

/// The queue: a lock-free ring of chunks (each the spans one thread handed over at once, see
/// [`staging`](super::staging)), a pool of empty chunk buffers for reuse, and one atomic word
/// holding the reserved span count (high 32 bits) and reserved bytes (low 32 bits), so both
/// bounds are checked and taken in one compare-and-swap. Staged spans hold reservations too.
#[derive(Debug)]
pub(crate) struct SpanQueue {
    ring: ArrayQueue<Chunk>,
    spare: ArrayQueue<Chunk>,
    /// Empty span buffers (of `buffer_spans` capacity) for staging, their memory already
    /// touched: filling a fresh buffer would page-fault inside `record`.
    buffers: ArrayQueue<Vec<SpanRecord>>,
    buffer_spans: usize,
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

/// Empty chunk buffers kept for reuse.
const SPARE_CHUNKS: usize = 256;

/// Staging buffers beyond a full queue's worth: batches in flight, spent batches, threads'
/// buffers.
const EXTRA_BUFFERS: usize = 24;

impl SpanQueue {
    fn new(max_spans: usize, max_bytes: usize, buffer_spans: usize) -> SpanQueue {
        let buffer_spans = buffer_spans.max(1);
        // Enough buffers for a full queue, plus the batches in flight and spent.
        let buffers = max_spans.div_ceil(buffer_spans) + EXTRA_BUFFERS;
        let queue = SpanQueue {
            // Every chunk holds at least one reserved span, so the ring never fills first.
            ring: ArrayQueue::new(max_spans.max(1)),
            spare: ArrayQueue::new(SPARE_CHUNKS),
            buffers: ArrayQueue::new(buffers),
            buffer_spans,
            level: AtomicU64::new(0),
            max_spans: max_spans as u64,
            max_bytes: max_bytes as u64,
        };
        queue.prefill_buffers(buffers);
        queue
    }

    /// Allocates the staging buffers up front and writes every slot once, so their pages are
    /// mapped before the first `record` (as a preallocated ring's would be).
    fn prefill_buffers(&self, n: usize) {
        let filler = SpanRecord {
            trace_id: new_trace_id(false),
            span_id: new_span_id(),
            parent_id: None,
            references: References::new(),
            operation: Cow::Borrowed(""),
            start: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
            tags: Vec::new(),
            logs: Vec::new(),
            baggage: Baggage::new(),
            sampling: Sampling::Accept,
            shared: false,
            process: Arc::new(Process::default()),
        };
        for _ in 0..n {
            let mut buffer = Vec::with_capacity(self.buffer_spans);
            buffer.resize(self.buffer_spans, filler.clone());
            buffer.clear();
            if self.buffers.push(buffer).is_err() {
                break;
            }
        }
    }

    /// An empty staging buffer: a prepared one, or a new one when all are in use.
    pub(crate) fn take_buffer(&self) -> Vec<SpanRecord> {
        self.buffers
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buffer_spans))
    }

    /// Gives a span buffer back for reuse, freeing its spans (or frees it when enough are
    /// kept or it is too small).
    pub(crate) fn return_buffer(&self, mut buffer: Vec<SpanRecord>) {
        buffer.clear();
        if buffer.capacity() >= self.buffer_spans {
            let _ = self.buffers.push(buffer);
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

    /// Gives back the room `spans` spans of `bytes` bytes in all held.
    pub(crate) fn release(&self, spans: u64, bytes: u64) {
        self.level.fetch_sub(spans * ONE_SPAN + bytes, SeqCst);
    }

    /// The reserved count and bytes right now (staged spans included).
    pub(crate) fn level(&self) -> Level {
        let v = self.level.load(SeqCst);
        Level {
            spans: v >> 32,
            bytes: v & BYTES_MASK,
        }
    }

    /// True when a span of `size` bytes does not fit right now.
    pub(crate) fn is_full_for(&self, size: u32) -> bool {
        let level = self.level();
        level.spans + 1 > self.max_spans || level.bytes + u64::from(size) > self.max_bytes
    }

    /// True when a span of `size` bytes could never fit, even in an empty queue.
    pub(crate) fn never_fits(&self, size: u32) -> bool {
        u64::from(size) > self.max_bytes
    }

    /// Pushes a chunk into the ring; gives it back if the ring is full.
    pub(crate) fn push(&self, chunk: Chunk) -> Option<Chunk> {
        self.ring.push(chunk).err()
    }

    /// Takes the oldest chunk. The caller counts its spans, then calls
    /// [`release`](SpanQueue::release).
    pub(crate) fn pop(&self) -> Option<Chunk> {
        self.ring.pop()
    }

    /// An empty chunk: a reused one, or a new one with room for `capacity` spans.
    pub(crate) fn spare_chunk(&self, capacity: usize) -> Chunk {
        self.spare.pop().unwrap_or_else(|| Chunk {
            spans: VecDeque::from(self.take_buffer()),
            sizes: VecDeque::with_capacity(capacity),
        })
    }

    /// Keeps an emptied chunk for reuse (or frees it when enough are kept).
    pub(crate) fn recycle(&self, mut chunk: Chunk) {
        chunk.clear();
        if chunk.spans.capacity() > 0 || chunk.sizes.capacity() > 0 {
            let _ = self.spare.push(chunk);
        }
    }
}

/// Everything the application threads and the worker share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: BatchConfig,
    pub(crate) queue: SpanQueue,
    pub(crate) counters: Counters,
    /// Every recording thread's staging buffer.
    pub(crate) staging: Registry,
    /// The rest of the chunk the worker took last, waiting for the next batch. Still queued
    /// for the accounting; behind a lock (the worker's, uncontended) so that draining the
    /// queue at a deadline reaches it even while the worker is stuck in a reporter.
    pub(crate) carry: Mutex<Chunk>,
    /// Sent batches whose spans the recording threads free, a few per `record` call (see
    /// [`staging`](super::staging)). Used only while spans keep arriving; otherwise the
    /// worker frees them itself.
    pub(crate) spent: ArrayQueue<Vec<SpanRecord>>,
    /// Set by the worker while spans keep arriving: sent batches go to `spent`.
    pub(crate) recycling: AtomicBool,
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

/// Sent batches kept for the recording threads to free.
const SPENT_BATCHES: usize = 8;

/// Under [`OverflowPolicy::DropOldest`], the most spans one `record` call evicts to make room
/// before it drops the new span instead (bounds the call's work).
const MAX_EVICTIONS_PER_RECORD: usize = 64;

impl Shared {
    pub(crate) fn new(config: BatchConfig) -> Shared {
        Shared {
            queue: SpanQueue::new(
                config.max_queue_spans,
                config.max_queue_bytes,
                stage_spans(config.max_batch_spans),
            ),
            staging: Registry::new(config.max_batch_spans, config.max_batch_bytes),
            carry: Mutex::new(Chunk::default()),
            spent: ArrayQueue::new(SPENT_BATCHES),
            recycling: AtomicBool::new(false),
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

    /// Reserves room for a span of `size` bytes (evicting the oldest queued spans under
    /// drop-oldest, `own` being the calling thread's staged spans, if any) and counts it as
    /// accepted; or counts it as dropped (queue full) and says so.
    pub(crate) fn admit(&self, size: u32, own: Option<&mut Staged>) -> bool {
        let admitted = match self.queue.try_reserve(size) {
            Some(_) => true,
            None => match self.config.overflow {
                OverflowPolicy::DropNewest => false,
                OverflowPolicy::DropOldest => self.make_room(size, own),
            },
        };
        if admitted {
            self.counters.accepted();
        } else {
            self.counters.dropped(Stage::Entry, DropCause::QueueFull, 1);
        }
        admitted
    }

    /// Under drop-oldest: evicts the oldest queued spans until a span of `size` bytes fits, in
    /// queue order: the worker's carried spans, then the ring's chunks, then the calling
    /// thread's own staged spans (other threads' staged spans are theirs to hand over). Gives
    /// up (the new span is dropped instead) after [`MAX_EVICTIONS_PER_RECORD`] evictions, or
    /// when the worker is taking a batch at this very moment.
    fn make_room(&self, size: u32, mut own: Option<&mut Staged>) -> bool {
        if self.queue.never_fits(size) {
            return false;
        }
        let mut carry = match self.carry.try_lock() {
            Ok(carry) => carry,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        for _ in 0..MAX_EVICTIONS_PER_RECORD {
            if carry.is_empty() {
                if let Some(chunk) = self.queue.pop() {
                    let spent = std::mem::replace(&mut *carry, chunk);
                    self.queue.recycle(spent);
                }
            }
            let old = match carry.pop_front() {
                Some(old) => old,
                None => match own.as_deref_mut().and_then(Staged::pop_oldest) {
                    Some(old) => old,
                    None => return false,
                },
            };
            self.counters.dropped(Stage::Queue, DropCause::QueueFull, 1);
            self.queue.release(1, u64::from(old.size));
            drop(old);
            if self.queue.try_reserve(size).is_some() {
                return true;
            }
        }
        false
    }

    /// A batch is done with: its spans go to the recording threads to free while spans keep
    /// arriving, and are freed here otherwise.
    pub(crate) fn retire_batch(&self, batch: Vec<SpanRecord>) {
        if !self.recycling.load(Relaxed) {
            self.queue.return_buffer(batch);
            return;
        }
        // When enough are waiting, this one is freed here.
        if let Err(batch) = self.spent.push(batch) {
            self.queue.return_buffer(batch);
        }
    }

    /// Frees the spent batches nobody picked up.
    pub(crate) fn free_spent(&self) {
        while let Some(batch) = self.spent.pop() {
            self.queue.return_buffer(batch);
        }
    }

    /// Counts a span recorded after the worker stopped.
    pub(crate) fn count_after_shutdown(&self) {
        self.counters
            .dropped(Stage::Entry, DropCause::AfterShutdown, 1);
    }

    /// Puts a chunk of admitted spans in the ring.
    pub(crate) fn push_chunk(&self, chunk: Chunk) {
        if let Some(chunk) = self.queue.push(chunk) {
            // Every chunk holds at least one reservation and the ring has a slot per
            // reservable span, so this does not happen; if it did, the spans would be
            // counted, not lost.
            let (spans, bytes) = chunk.totals();
            self.counters
                .dropped(Stage::Queue, DropCause::QueueFull, spans);
            self.queue.release(spans, bytes);
        }
    }

    /// After spans reached the ring: drops them if the worker is already gone, and wakes the
    /// worker when a full batch waits and it sleeps.
    pub(crate) fn after_hand_over(&self) {
        // Pairs with the fence in the worker's final drain: either the worker sees these
        // spans, or this call sees that the worker is gone and drops them itself.
        fence(SeqCst);
        if self.worker_gone.load(Relaxed) {
            self.drain_queue(DropCause::AfterShutdown);
            return;
        }
        let level = self.queue.level();
        if (level.spans >= self.config.max_batch_spans as u64
            || level.bytes >= self.config.max_batch_bytes as u64)
            && self.parked.load(SeqCst)
            && !self.wake_pending.load(Relaxed)
            && !self.wake_pending.swap(true, SeqCst)
        {
            self.notify.notify_one();
        }
    }

    /// Removes everything still queued or staged, counting it as dropped from the queue for
    /// `cause`. Returns how many spans it removed. Must not be called while holding a staging
    /// slot's lock.
    pub(crate) fn drain_queue(&self, cause: DropCause) -> u64 {
        self.collect_staged();
        let mut n = {
            let mut carry = self.carry.lock().unwrap_or_else(PoisonError::into_inner);
            let (spans, bytes) = carry.totals();
            carry.clear();
            self.counters.dropped(Stage::Queue, cause, spans);
            self.queue.release(spans, bytes);
            spans
        };
        while let Some(chunk) = self.queue.pop() {
            let (spans, bytes) = chunk.totals();
            self.counters.dropped(Stage::Queue, cause, spans);
            self.queue.release(spans, bytes);
            self.queue.recycle(chunk);
            n += spans;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_bounds_spans_and_bytes() {
        let q = SpanQueue::new(3, 100, 2);
        assert!(q.try_reserve(40).is_some());
        assert!(q.try_reserve(40).is_some());
        assert!(q.try_reserve(40).is_none(), "bytes bound");
        let l = q.try_reserve(20).unwrap();
        assert_eq!((l.spans, l.bytes), (3, 100));
        assert!(q.try_reserve(0).is_none(), "count bound");
        q.release(1, 40);
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
        c.taken(6);
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
