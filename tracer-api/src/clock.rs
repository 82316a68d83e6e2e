//! One clock read per timestamp.
//!
//! A span needs a wall-clock start (for backends) and monotonic readings (for its duration).
//! Reading both clocks at every start costs a second system call's worth of time, so each
//! thread keeps an anchor pair — a monotonic instant and the wall-clock time read with it — and
//! derives wall-clock times from the monotonic clock, re-reading the wall clock once a second
//! so that adjustments of the system clock are picked up quickly.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

const REANCHOR_AFTER: Duration = Duration::from_secs(1);

thread_local! {
    static ANCHOR: Cell<Option<(Instant, SystemTime)>> = const { Cell::new(None) };
}

/// The wall-clock time and the monotonic instant of now.
#[inline]
pub(crate) fn now() -> (SystemTime, Instant) {
    let instant = Instant::now();
    let wall = ANCHOR
        .try_with(|anchor| {
            if let Some((at, wall)) = anchor.get() {
                // One subtraction (the costly part of deriving the time), used twice.
                let since = instant.saturating_duration_since(at);
                if since < REANCHOR_AFTER {
                    return wall + since;
                }
            }
            reanchor(anchor, instant)
        })
        // Only during thread teardown: read the wall clock directly.
        .unwrap_or_else(|_| SystemTime::now());
    (wall, instant)
}

#[cold]
#[inline(never)]
fn reanchor(anchor: &Cell<Option<(Instant, SystemTime)>>, instant: Instant) -> SystemTime {
    let wall = SystemTime::now();
    anchor.set(Some((instant, wall)));
    wall
}

/// The wall-clock time of now.
pub(crate) fn wall_now() -> SystemTime {
    now().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_wall_time_tracks_the_system_clock() {
        for _ in 0..1000 {
            let (wall, _) = now();
            let sys = SystemTime::now();
            let diff = match sys.duration_since(wall) {
                Ok(d) => d,
                Err(e) => e.duration(),
            };
            assert!(diff < Duration::from_millis(50), "{diff:?}");
        }
        let (w1, i1) = now();
        std::thread::sleep(Duration::from_millis(5));
        let (w2, i2) = now();
        assert_eq!(
            w2.duration_since(w1).unwrap().as_millis(),
            (i2 - i1).as_millis()
        );
    }
}
