//! The process-wide tracer: a no-op until an application sets one.
//!
//! Applications call [`set_tracer`] once in `main`; libraries only ever read it with
//! [`tracer`]. Tests use [`set_scoped`], which overrides the tracer for the current thread until
//! the returned guard is dropped, without touching the global one.

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

use crate::tracer::Tracer;

static GLOBAL: OnceLock<Tracer> = OnceLock::new();
static NOOP: OnceLock<Tracer> = OnceLock::new();

thread_local! {
    static SCOPED: RefCell<Vec<Tracer>> = const { RefCell::new(Vec::new()) };
}

/// The tracer was already set; the global tracer can be set once.
#[derive(Debug)]
pub struct SetTracerError(Tracer);

impl SetTracerError {
    /// The tracer that was not installed.
    pub fn into_tracer(self) -> Tracer {
        self.0
    }
}

impl fmt::Display for SetTracerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the global tracer is already set; set it once in main (tests: use global::set_scoped)",
        )
    }
}

impl std::error::Error for SetTracerError {}

/// Installs the process-wide tracer. Fails if one is already set.
pub fn set_tracer(tracer: Tracer) -> Result<(), SetTracerError> {
    let mut slot = Some(tracer);
    GLOBAL.get_or_init(|| slot.take().unwrap_or_else(Tracer::noop));
    match slot {
        None => Ok(()),
        Some(t) => Err(SetTracerError(t)),
    }
}

/// True once [`set_tracer`] has succeeded.
pub fn is_set() -> bool {
    GLOBAL.get().is_some()
}

/// The current tracer: this thread's scoped override, else the global one, else a no-op.
pub fn tracer() -> Tracer {
    // `try_with`: during thread teardown the override is gone; fall back to the global one.
    if let Some(t) = SCOPED
        .try_with(|s| s.borrow().last().cloned())
        .ok()
        .flatten()
    {
        return t;
    }
    match GLOBAL.get() {
        Some(t) => t.clone(),
        None => NOOP.get_or_init(Tracer::noop).clone(),
    }
}

/// Restores the previous tracer of this thread when dropped.
#[must_use = "the override ends when the guard is dropped"]
#[derive(Debug)]
pub struct ScopedTracerGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Overrides the tracer for the current thread until the guard is dropped. Overrides nest.
pub fn set_scoped(tracer: Tracer) -> ScopedTracerGuard {
    // During thread teardown there is nothing to override any more.
    let _ = SCOPED.try_with(|s| s.borrow_mut().push(tracer));
    ScopedTracerGuard {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for ScopedTracerGuard {
    fn drop(&mut self) {
        let _ = SCOPED.try_with(|s| {
            s.borrow_mut().pop();
        });
    }
}
