//! Fake reporters and helpers shared by the `export_*` tests.
#![allow(dead_code, unreachable_pub)]

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tracer_api::export::{Delivered, ExportStats, ReportError, Reporter};
use tracer_api::{Baggage, Process, References, Sampling, SpanId, SpanRecord, TraceId};

/// A span whose clone allocates nothing (no tags, logs or baggage; a borrowed name).
pub fn template() -> SpanRecord {
    SpanRecord {
        trace_id: TraceId::from_u128(0x1234).unwrap(),
        span_id: SpanId::from_u64(1).unwrap(),
        parent_id: None,
        references: References::new(),
        operation: Cow::Borrowed("op"),
        start: SystemTime::now(),
        duration: Duration::from_micros(5),
        tags: Vec::new(),
        logs: Vec::new(),
        baggage: Baggage::new(),
        sampling: Sampling::Accept,
        shared: false,
        process: Arc::new(Process::default()),
    }
}

/// The template with span id `id + 1`, to tell spans apart.
pub fn numbered(id: u64) -> SpanRecord {
    let mut s = template();
    s.span_id = SpanId::from_u64(id + 1).unwrap();
    s
}

/// The number given to [`numbered`].
pub fn number(span: &SpanRecord) -> u64 {
    span.span_id.to_u64() - 1
}

/// What the fake does on one call.
#[derive(Clone, Debug)]
pub enum Act {
    /// Succeed, declaring this many spans invalid.
    Ok { invalid: u64 },
    /// Fail retryably, maybe asking to wait.
    Retry(Option<Duration>),
    /// Fail permanently.
    Permanent,
    /// Never return (until cancelled).
    Hang,
    /// Block the worker thread itself for this long, then succeed.
    BlockThread(Duration),
}

type Script = Box<dyn Fn(u64) -> Act + Send + Sync>;

/// A scripted reporter: `script(call_index)` says what each call does; each call first waits
/// `delay` (asynchronously). Records call times and delivered span numbers.
pub struct Fake {
    script: Script,
    delay: Duration,
    size: Option<usize>,
    pub calls: AtomicU64,
    pub call_times: Mutex<Vec<Instant>>,
    pub delivered: AtomicU64,
    pub delivered_ids: Mutex<Vec<u64>>,
    pub batch_sizes: Mutex<Vec<usize>>,
    pub keep_ids: bool,
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
    pub shutdowns: AtomicU64,
}

impl Fake {
    pub fn new(script: impl Fn(u64) -> Act + Send + Sync + 'static) -> Fake {
        Fake {
            script: Box::new(script),
            delay: Duration::ZERO,
            size: None,
            calls: AtomicU64::new(0),
            call_times: Mutex::new(Vec::new()),
            delivered: AtomicU64::new(0),
            delivered_ids: Mutex::new(Vec::new()),
            batch_sizes: Mutex::new(Vec::new()),
            keep_ids: false,
            gate: None,
            shutdowns: AtomicU64::new(0),
        }
    }

    /// Always succeeds.
    pub fn healthy() -> Fake {
        Fake::new(|_| Act::Ok { invalid: 0 })
    }

    pub fn with_delay(mut self, delay: Duration) -> Fake {
        self.delay = delay;
        self
    }

    /// Every span is estimated at `size` bytes.
    pub fn with_size(mut self, size: usize) -> Fake {
        self.size = Some(size);
        self
    }

    /// Keeps the numbers of delivered spans.
    pub fn keeping_ids(mut self) -> Fake {
        self.keep_ids = true;
        self
    }

    /// Each call first takes a permit from `gate` (and gives it back).
    pub fn gated(mut self, gate: Arc<tokio::sync::Semaphore>) -> Fake {
        self.gate = Some(gate);
        self
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }

    pub fn call_times(&self) -> Vec<Instant> {
        self.call_times.lock().unwrap().clone()
    }

    pub fn delivered_ids(&self) -> Vec<u64> {
        self.delivered_ids.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Reporter for Fake {
    async fn report(&self, batch: &[SpanRecord]) -> Result<Delivered, ReportError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.call_times.lock().unwrap().push(Instant::now());
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await;
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        match (self.script)(n) {
            Act::Ok { invalid } => {
                let invalid = invalid.min(batch.len() as u64);
                self.delivered
                    .fetch_add(batch.len() as u64 - invalid, Ordering::SeqCst);
                self.batch_sizes.lock().unwrap().push(batch.len());
                if self.keep_ids {
                    self.delivered_ids
                        .lock()
                        .unwrap()
                        .extend(batch.iter().skip(invalid as usize).map(number));
                }
                Ok(Delivered { invalid })
            }
            Act::Retry(after) => {
                let e = ReportError::retryable("503 service unavailable");
                Err(match after {
                    Some(d) => e.with_retry_after(d),
                    None => e,
                })
            }
            Act::Permanent => Err(ReportError::permanent("400 bad request")),
            Act::Hang => std::future::pending().await,
            Act::BlockThread(d) => {
                std::thread::sleep(d);
                self.delivered
                    .fetch_add(batch.len() as u64, Ordering::SeqCst);
                Ok(Delivered::default())
            }
        }
    }

    fn estimated_size(&self, span: &SpanRecord) -> usize {
        self.size.unwrap_or_else(|| span.estimated_size())
    }

    async fn shutdown(&self) {
        self.shutdowns.fetch_add(1, Ordering::SeqCst);
    }
}

/// Checks the accounting invariant.
pub fn assert_adds_up(s: &ExportStats) {
    assert_eq!(
        s.recorded,
        s.exported + s.dropped.total() + s.queued + s.in_flight,
        "accounting does not add up: {s}"
    );
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}
