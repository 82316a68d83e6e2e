//! Waiting with a deadline: probes polled with a growing pause, never a fixed sleep.

use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};

/// A point in time by which something must have happened.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    /// `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    /// True once the deadline has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The whole budget this deadline was made with.
    pub fn budget(&self) -> Duration {
        self.budget
    }
}

/// Calls `probe` until it returns `Ok`, pausing 20 ms at first and up to 500 ms between
/// calls, for at most `timeout`. `Err(reason)` from the probe means "not yet"; the last
/// reason is part of the timeout error, which names `what`.
///
/// ```
/// use std::time::Duration;
/// let mut calls = 0;
/// let n = integration::wait_until("three calls", Duration::from_secs(5), || {
///     calls += 1;
///     if calls == 3 { Ok(calls) } else { Err(format!("{calls} calls so far")) }
/// })?;
/// assert_eq!(n, 3);
///
/// let err = integration::wait_until("never", Duration::from_millis(50), || {
///     Err::<(), _>("still no".to_owned())
/// })
/// .unwrap_err();
/// assert!(err.to_string().contains("still no"));
/// # Ok::<(), integration::HarnessError>(())
/// ```
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> Result<T> {
    let deadline = Deadline::after(timeout);
    let mut pause = Duration::from_millis(20);
    loop {
        match probe() {
            Ok(v) => return Ok(v),
            Err(reason) => {
                if deadline.passed() {
                    return Err(HarnessError::Peer(format!(
                        "{what}: not done after {:?}; last observation: {reason}",
                        deadline.budget()
                    )));
                }
            }
        }
        std::thread::sleep(pause.min(deadline.remaining()));
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}
