//! Samplers: which new traces are recorded.
//!
//! The decision is made once, when a trace's root span starts (or when a caller deferred it),
//! and travels in the [`SpanContext`](crate::SpanContext) to every descendant, in this process
//! and across process boundaries. A `sampling.priority` tag given when a span starts overrides
//! it: `0` denies, anything above `0` accepts.

use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use crate::id::TraceId;

/// Decides whether a new trace is recorded.
pub trait Sampler: Send + Sync + fmt::Debug {
    /// True when the trace should be recorded.
    fn should_sample(&self, trace_id: TraceId, operation: &str) -> bool;
}

/// Records every trace (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysSample;

impl Sampler for AlwaysSample {
    fn should_sample(&self, _trace_id: TraceId, _operation: &str) -> bool {
        true
    }
}

/// Records no trace.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeverSample;

impl Sampler for NeverSample {
    fn should_sample(&self, _trace_id: TraceId, _operation: &str) -> bool {
        false
    }
}

/// Records a fraction of traces, decided from the trace id, so every process that sees the
/// same trace id with the same rate decides the same way.
#[derive(Clone, Copy, Debug)]
pub struct ProbabilitySampler {
    threshold: u64,
    always: bool,
}

impl ProbabilitySampler {
    /// Records about `rate` of traces; `rate` is clamped to `0.0..=1.0` (NaN counts as `0.0`).
    pub fn new(rate: f64) -> ProbabilitySampler {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        ProbabilitySampler {
            threshold: (rate * u64::MAX as f64) as u64,
            always: rate >= 1.0,
        }
    }
}

impl Sampler for ProbabilitySampler {
    fn should_sample(&self, trace_id: TraceId, _operation: &str) -> bool {
        // Mix the low bits so sequential ids spread evenly.
        let x = trace_id.low().wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.always || x < self.threshold
    }
}

/// Records at most `per_second` new traces each second (a token bucket that refills
/// continuously, holding at most one second's worth).
#[derive(Debug)]
pub struct RateLimitingSampler {
    per_second: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimitingSampler {
    /// At most `per_second` traces each second; non-positive or NaN rates record nothing.
    pub fn new(per_second: f64) -> RateLimitingSampler {
        let per_second = if per_second.is_nan() {
            0.0
        } else {
            per_second.max(0.0)
        };
        RateLimitingSampler {
            per_second,
            state: Mutex::new(Bucket {
                tokens: per_second,
                last: Instant::now(),
            }),
        }
    }
}

impl Sampler for RateLimitingSampler {
    fn should_sample(&self, _trace_id: TraceId, _operation: &str) -> bool {
        if self.per_second <= 0.0 {
            return false;
        }
        let Ok(mut b) = self.state.lock() else {
            return false;
        };
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.per_second.max(1.0));
        let ok = b.tokens >= 1.0;
        if ok {
            b.tokens -= 1.0;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::new_trace_id;

    #[test]
    fn probability_is_roughly_the_rate_and_deterministic() {
        let s = ProbabilitySampler::new(0.25);
        let ids: Vec<_> = (0..20_000).map(|_| new_trace_id(true)).collect();
        let n = ids.iter().filter(|&&t| s.should_sample(t, "op")).count();
        assert!((4000..6000).contains(&n), "{n}");
        for &t in &ids[..100] {
            assert_eq!(s.should_sample(t, "a"), s.should_sample(t, "b"));
        }
        assert!(ids
            .iter()
            .all(|&t| ProbabilitySampler::new(1.0).should_sample(t, "")));
        assert!(!ids
            .iter()
            .any(|&t| ProbabilitySampler::new(0.0).should_sample(t, "")));
        assert!(!ProbabilitySampler::new(f64::NAN).should_sample(ids[0], ""));
    }

    #[test]
    fn rate_limiter_caps_a_burst() {
        let s = RateLimitingSampler::new(10.0);
        let t = new_trace_id(true);
        let n = (0..1000).filter(|_| s.should_sample(t, "op")).count();
        assert!((10..=11).contains(&n), "{n}");
        assert!(!RateLimitingSampler::new(-1.0).should_sample(t, "op"));
    }
}
