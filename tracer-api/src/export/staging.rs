//! Per-thread staging: each recording thread gathers its finished spans in a small buffer of its
//! own and hands them to the shared queue a chunk at a time.
//!
//! Handing every span to the worker on its own costs several cache-line transfers between cores
//! per span (the ring slot, its index, the fill-level word the worker updates). A thread's own
//! buffer stays in its own cache; the shared queue is touched once per chunk of up to a batch
//! (at most [`STAGE_SPANS`] spans), and a chunk that is a whole batch is sent as it is.
//!
//! Nothing is hidden by it:
//!
//! - a staged span is already *queued* for the accounting (its room is reserved in the queue's
//!   fill level and it counts as accepted), so the bounds and [`ExportStats`](super::ExportStats)
//!   are exactly as without staging;
//! - every buffer is registered with its recorder, and the worker collects them when a batch
//!   interval passes, when a flush or shutdown waits, and when the queue holds a full batch
//!   that has not been handed over yet; a span recorded before `flush` is therefore in the
//!   flush;
//! - a thread that exits hands its buffer over first.
//!
//! Each buffer sits behind a mutex that only its own thread and the worker take. The owner
//! only ever *tries* the lock: when the worker happens to be collecting, the span goes straight
//! to the shared queue instead, so `record` never waits for the worker.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, PoisonError, TryLockError, Weak};

use crate::record::SpanRecord;

use super::state::{Chunk, Queued, Shared};

/// The most spans a thread stages before it hands them over (fewer when `max_batch_spans` is
/// smaller).
pub(crate) const STAGE_SPANS: usize = 1024;

/// The most estimated bytes a thread stages before it hands them over (fewer when
/// `max_batch_bytes` is smaller).
pub(crate) const STAGE_BYTES: u64 = 4 * 1024 * 1024;

/// The spans a thread stages before it hands them over, for a `max_batch_spans`.
pub(crate) fn stage_spans(max_batch_spans: usize) -> usize {
    STAGE_SPANS.min(max_batch_spans).max(1)
}

/// One thread's buffer for one recorder. Starts a cache line, so the lock and the fields a
/// `record` call reads share as few lines as possible.
#[repr(align(64))]
pub(crate) struct Slot {
    staged: Mutex<Staged>,
    /// Set when the owning thread has exited; the registry forgets the slot once it is empty.
    retired: AtomicBool,
}

/// Spent spans (already exported or dropped) a recording thread frees per `record` call.
/// More than one, so the thread frees faster than it records.
const FREE_PER_RECORD: usize = 1;

/// With no spent spans at hand, a thread looks for more once per this many `record` calls.
const SPENT_CHECK_EVERY: u32 = 16;

/// A thread's staged spans, oldest first, and spent spans it frees a few at a time.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    chunk: Chunk,
    bytes: u64,
    spent: Vec<SpanRecord>,
    /// An emptied buffer of spent spans, kept as the next staging buffer.
    reuse: Vec<SpanRecord>,
    /// `record` calls left before the thread looks for spent spans again, after finding none
    /// (the shared queue's indices live in the worker's cache: not worth a look per call).
    skip_spent_checks: u32,
}

impl Staged {
    /// Takes the oldest staged span (drop-oldest evicting).
    pub(crate) fn pop_oldest(&mut self) -> Option<Queued> {
        let old = self.chunk.pop_front()?;
        self.bytes = self.bytes.saturating_sub(u64::from(old.size));
        Some(old)
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("retired", &self.retired.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// The buffers of every thread that recorded into one recorder.
#[derive(Debug)]
pub(crate) struct Registry {
    slots: Mutex<Vec<Arc<Slot>>>,
    stage_spans: usize,
    stage_bytes: u64,
}

impl Registry {
    pub(crate) fn new(max_batch_spans: usize, max_batch_bytes: usize) -> Registry {
        Registry {
            slots: Mutex::new(Vec::new()),
            stage_spans: stage_spans(max_batch_spans),
            stage_bytes: STAGE_BYTES.min(max_batch_bytes as u64).max(1),
        }
    }

    fn register(&self, chunk: Chunk) -> Arc<Slot> {
        let slot = Arc::new(Slot {
            staged: Mutex::new(Staged {
                chunk,
                bytes: 0,
                spent: Vec::new(),
                reuse: Vec::new(),
                skip_spent_checks: 0,
            }),
            retired: AtomicBool::new(false),
        });
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.push(Arc::clone(&slot));
        slot
    }
}

/// What [`stage`] did with a span.
pub(crate) enum Outcome {
    /// Staged, or handed over with the rest of the thread's buffer, or counted as dropped.
    Done {
        /// True when a chunk went to the shared queue: the caller may need to wake the worker.
        handed_over: bool,
    },
    /// This thread cannot stage now (the worker is collecting its buffer, or the thread is
    /// being torn down): the caller queues the span directly.
    Unstaged(Queued),
}

struct LocalEntry {
    shared: Weak<Shared>,
    slot: Arc<Slot>,
}

impl Drop for LocalEntry {
    fn drop(&mut self) {
        // The thread is exiting (or the recorder is gone): hand over what is staged.
        if let Some(shared) = self.shared.upgrade() {
            let handed = {
                let mut staged = self
                    .slot
                    .staged
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                hand_over(&shared, &mut staged)
            };
            if handed {
                shared.after_hand_over();
            }
        }
        self.slot.retired.store(true, SeqCst);
    }
}

thread_local! {
    static LOCAL: RefCell<Vec<LocalEntry>> = const { RefCell::new(Vec::new()) };
}

/// Stages `item` in this thread's buffer for `shared`'s recorder: reserves its room (or counts
/// it as dropped), and hands the buffer over when it is full.
pub(crate) fn stage(shared: &Arc<Shared>, item: Queued) -> Outcome {
    let mut item = Some(item);
    let done = LOCAL.try_with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return None;
        };
        let key = Arc::as_ptr(shared);
        let index = match local.iter().position(|e| Weak::as_ptr(&e.shared) == key) {
            Some(i) => i,
            None => {
                local.retain(|e| e.shared.strong_count() > 0);
                let slot = shared
                    .staging
                    .register(shared.queue.spare_chunk(shared.staging.stage_spans));
                local.push(LocalEntry {
                    shared: Arc::downgrade(shared),
                    slot,
                });
                local.len() - 1
            }
        };
        // The borrow is kept (nothing below calls back into `stage`): no reference count
        // traffic on the slot.
        let slot = &local.get(index)?.slot;
        let mut staged = match slot.staged.try_lock() {
            Ok(staged) => staged,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        let item = item.take()?;
        // Checked under the lock: the worker sets `worker_gone` before its last collection,
        // so either it collects this span or this thread sees that it is gone.
        if shared.worker_gone.load(SeqCst) {
            shared.count_after_shutdown();
            return Some(false);
        }
        if !shared.admit(item.size, Some(&mut staged)) {
            return Some(false);
        }
        // A chunk never grows past a batch's bytes, so that it can be sent as it is.
        let mut handed = false;
        if staged.bytes + u64::from(item.size) > shared.staging.stage_bytes {
            handed = hand_over(shared, &mut staged);
        }
        staged.bytes += u64::from(item.size);
        staged.chunk.push(item);
        free_spent(shared, &mut staged);
        if staged.chunk.len() >= shared.staging.stage_spans {
            handed |= hand_over(shared, &mut staged);
        }
        Some(handed)
    });
    match (done, item) {
        (Ok(Some(handed_over)), _) => Outcome::Done { handed_over },
        (_, Some(item)) => Outcome::Unstaged(item),
        // The span was taken and dealt with, yet no answer came back: cannot happen, since
        // every path that takes it answers; treat it as done.
        (_, None) => Outcome::Done { handed_over: false },
    }
}

/// Frees a few spent spans on this thread: the memory goes back to this thread's allocator
/// cache, where its next spans find it, instead of being freed on the worker thread into
/// this thread's heap (which makes the two threads contend for the allocator's lock).
fn free_spent(shared: &Shared, staged: &mut Staged) {
    if staged.spent.is_empty() {
        if staged.skip_spent_checks > 0 {
            staged.skip_spent_checks -= 1;
            return;
        }
        match shared.spent.pop() {
            Some(batch) => {
                let emptied = std::mem::replace(&mut staged.spent, batch);
                // Keep the emptied buffer as the next staging buffer: a new one would be
                // fresh memory, page-faulted in while `record` fills it.
                if staged.reuse.capacity() < emptied.capacity() {
                    staged.reuse = emptied;
                } else {
                    shared.queue.return_buffer(emptied);
                }
            }
            None => {
                staged.skip_spent_checks = SPENT_CHECK_EVERY - 1;
                return;
            }
        }
    }
    // Dropped in place: only the fields that own memory are read, the record is not moved.
    let keep = staged.spent.len().saturating_sub(FREE_PER_RECORD);
    staged.spent.truncate(keep);
}

/// Moves a slot's staged spans to the shared queue as one chunk. The caller holds the slot's
/// lock, so a collection by the worker never misses spans that are between the two.
fn hand_over(shared: &Shared, staged: &mut Staged) -> bool {
    if staged.chunk.is_empty() {
        return false;
    }
    let capacity = shared.staging.stage_spans;
    let mut fresh = shared.queue.spare_chunk(capacity);
    if fresh.spans.capacity() < capacity {
        // A recycled chunk whose spans left as a batch: reuse the buffer of a batch this
        // thread has finished freeing, or make one.
        if staged.reuse.capacity() >= capacity {
            fresh.spans = VecDeque::from(std::mem::take(&mut staged.reuse));
        } else if staged.spent.is_empty() && staged.spent.capacity() >= capacity {
            fresh.spans = VecDeque::from(std::mem::take(&mut staged.spent));
        } else {
            fresh.spans = VecDeque::from(shared.queue.take_buffer());
        }
    }
    let chunk = std::mem::replace(&mut staged.chunk, fresh);
    staged.bytes = 0;
    shared.push_chunk(chunk);
    true
}

impl Shared {
    /// Hands every thread's staged spans to the shared queue (called by the worker, and by
    /// whoever drains the queue at the end). Forgets the buffers of threads that have exited.
    /// Must not be called while holding a slot's lock.
    pub(crate) fn collect_staged(&self) {
        let mut slots = self
            .staging
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slots.retain(|slot| {
            let mut staged = slot.staged.lock().unwrap_or_else(PoisonError::into_inner);
            if staged.chunk.is_empty() {
                // Nothing recorded since the last hand-over: free the spent spans here rather
                // than keep them until the thread records again.
                self.queue.return_buffer(std::mem::take(&mut staged.spent));
            }
            hand_over(self, &mut staged);
            // A retired slot's thread is gone: nothing will be staged there again.
            !slot.retired.load(SeqCst)
        });
    }
}
