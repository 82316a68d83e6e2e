//! [`BatchConfig`]: the pipeline's bounds, batching, concurrency, timeouts and retry budget, with
//! defaults, environment variables and validation.

use std::fmt;
use std::time::Duration;

/// What [`BatchRecorder::record`](crate::Recorder::record) does when the queue is full (by span
/// count or by bytes). Either way the dropped span is counted as
/// [`DropCause::QueueFull`](crate::DropCause::QueueFull).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Keep what is queued, drop the span being recorded (the default: the oldest spans are
    /// the ones closest to being sent).
    #[default]
    DropNewest,
    /// Evict the oldest queued spans until the new one fits (keeps the most recent activity).
    DropOldest,
}

impl OverflowPolicy {
    /// `drop_newest` or `drop_oldest`, as `TRACER_EXPORT_OVERFLOW` spells them.
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowPolicy::DropNewest => "drop_newest",
            OverflowPolicy::DropOldest => "drop_oldest",
        }
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The largest accepted [`BatchConfig::max_queue_spans`]: the queue's ring is allocated up
/// front, so the bound is also a memory reservation.
pub const MAX_QUEUE_SPANS_LIMIT: usize = 1 << 24;

/// The largest accepted [`BatchConfig::max_queue_bytes`] (4 GiB − 1).
pub const MAX_QUEUE_BYTES_LIMIT: usize = u32::MAX as usize;

/// Configuration of a [`BatchRecorder`](super::BatchRecorder).
///
/// Every field is public; start from [`BatchConfig::default()`] or
/// [`BatchConfig::from_env()`] and change what you need. [`BatchConfig::validate`] (also run
/// by [`BatchRecorder::new`](super::BatchRecorder::new)) rejects zero and inconsistent values.
/// The defaults are listed in the [module documentation](super#defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// The most spans the queue holds (default 65 536). The queue's ring of this many slots is
    /// allocated when the recorder is built. At most [`MAX_QUEUE_SPANS_LIMIT`].
    pub max_queue_spans: usize,
    /// The most estimated bytes ([`Reporter::estimated_size`](super::Reporter::estimated_size))
    /// the queue holds (default 32 MiB). At most [`MAX_QUEUE_BYTES_LIMIT`].
    pub max_queue_bytes: usize,
    /// What happens to a span that does not fit (default [`OverflowPolicy::DropNewest`]).
    pub overflow: OverflowPolicy,
    /// The most spans in one batch (default 512). At most `max_queue_spans`.
    pub max_batch_spans: usize,
    /// The most estimated bytes in one batch (default 1 MiB). A single span larger than this is
    /// sent in a batch of its own. At most `max_queue_bytes`.
    pub max_batch_bytes: usize,
    /// The longest a queued span waits for its batch to fill before a partial batch is sent
    /// (default 1 s).
    pub batch_interval: Duration,
    /// How many batches may be being sent (or waiting to retry) at once (default 8).
    ///
    /// Throughput is about `max_in_flight × max_batch_spans / round trip`: with batches of 512
    /// and a collector that takes 20 ms per request, 4 in flight carry ~97 k spans/s and 8
    /// carry ~200 k, so 8 leaves headroom for a slow collector under a 100 k spans/s load.
    pub max_in_flight: usize,
    /// The longest one [`Reporter::report`](super::Reporter::report) call may take; a call
    /// still running then is cancelled and counts as a retryable failure (default 10 s).
    pub request_timeout: Duration,
    /// Attempts per batch, the first one included (default 8, so up to 7 retries). `1`
    /// disables retries.
    pub max_attempts: u32,
    /// The retry budget in time: no retry starts later than this after a batch's first
    /// attempt (default 60 s).
    pub max_retry_elapsed: Duration,
    /// The backoff before the first retry (default 100 ms). It doubles after each failed
    /// attempt, up to `max_backoff`; each wait is drawn uniformly from `[b/2, b]` for the
    /// current backoff `b` ("equal jitter"), and is at least what the backend asked for with
    /// [`ReportError::retry_after`](super::ReportError::retry_after).
    pub initial_backoff: Duration,
    /// The backoff cap (default 10 s).
    pub max_backoff: Duration,
    /// After the first failure is logged at `warn`, further failures and drops are summarised
    /// in at most one line per this period (default 10 s).
    pub log_summary_interval: Duration,
}

impl Default for BatchConfig {
    fn default() -> BatchConfig {
        BatchConfig {
            max_queue_spans: 65_536,
            max_queue_bytes: 32 * 1024 * 1024,
            overflow: OverflowPolicy::DropNewest,
            max_batch_spans: 512,
            max_batch_bytes: 1024 * 1024,
            batch_interval: Duration::from_secs(1),
            max_in_flight: 8,
            request_timeout: Duration::from_secs(10),
            max_attempts: 8,
            max_retry_elapsed: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            log_summary_interval: Duration::from_secs(10),
        }
    }
}

/// `TRACER_EXPORT_MAX_QUEUE_SPANS`: [`BatchConfig::max_queue_spans`].
pub const ENV_MAX_QUEUE_SPANS: &str = "TRACER_EXPORT_MAX_QUEUE_SPANS";
/// `TRACER_EXPORT_MAX_QUEUE_BYTES`: [`BatchConfig::max_queue_bytes`].
pub const ENV_MAX_QUEUE_BYTES: &str = "TRACER_EXPORT_MAX_QUEUE_BYTES";
/// `TRACER_EXPORT_MAX_BATCH_SPANS`: [`BatchConfig::max_batch_spans`].
pub const ENV_MAX_BATCH_SPANS: &str = "TRACER_EXPORT_MAX_BATCH_SPANS";
/// `TRACER_EXPORT_MAX_BATCH_BYTES`: [`BatchConfig::max_batch_bytes`].
pub const ENV_MAX_BATCH_BYTES: &str = "TRACER_EXPORT_MAX_BATCH_BYTES";
/// `TRACER_EXPORT_BATCH_INTERVAL_MS`: [`BatchConfig::batch_interval`] in milliseconds.
pub const ENV_BATCH_INTERVAL_MS: &str = "TRACER_EXPORT_BATCH_INTERVAL_MS";
/// `TRACER_EXPORT_MAX_IN_FLIGHT`: [`BatchConfig::max_in_flight`].
pub const ENV_MAX_IN_FLIGHT: &str = "TRACER_EXPORT_MAX_IN_FLIGHT";
/// `TRACER_EXPORT_REQUEST_TIMEOUT_MS`: [`BatchConfig::request_timeout`] in milliseconds.
pub const ENV_REQUEST_TIMEOUT_MS: &str = "TRACER_EXPORT_REQUEST_TIMEOUT_MS";
/// `TRACER_EXPORT_OVERFLOW`: [`BatchConfig::overflow`], `drop_newest` or `drop_oldest`.
pub const ENV_OVERFLOW: &str = "TRACER_EXPORT_OVERFLOW";

impl BatchConfig {
    /// The defaults, overridden by whichever `TRACER_EXPORT_*` variables are set (see the
    /// [module documentation](super#environment-variables)). An unset or empty variable keeps
    /// the default; a malformed one is an error naming the variable and the value. Ranges are
    /// checked by [`validate`](BatchConfig::validate), not here.
    pub fn from_env() -> Result<BatchConfig, ConfigError> {
        BatchConfig::from_lookup(|name| match std::env::var(name) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(raw)) => Some(raw.to_string_lossy().into_owned()),
        })
    }

    /// Like [`from_env`](BatchConfig::from_env), reading variables through `lookup` instead of
    /// the process environment (for tests, or configuration files mapped to the same names).
    pub fn from_lookup(
        mut lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<BatchConfig, ConfigError> {
        let mut config = BatchConfig::default();
        let mut get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(|v| (name, v))
        };
        if let Some((var, v)) = get(ENV_MAX_QUEUE_SPANS) {
            config.max_queue_spans = parse_count(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_MAX_QUEUE_BYTES) {
            config.max_queue_bytes = parse_count(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_MAX_BATCH_SPANS) {
            config.max_batch_spans = parse_count(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_MAX_BATCH_BYTES) {
            config.max_batch_bytes = parse_count(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_BATCH_INTERVAL_MS) {
            config.batch_interval = parse_millis(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_MAX_IN_FLIGHT) {
            config.max_in_flight = parse_count(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_REQUEST_TIMEOUT_MS) {
            config.request_timeout = parse_millis(var, &v)?;
        }
        if let Some((var, v)) = get(ENV_OVERFLOW) {
            config.overflow = match v.to_ascii_lowercase().replace('-', "_").as_str() {
                "drop_newest" => OverflowPolicy::DropNewest,
                "drop_oldest" => OverflowPolicy::DropOldest,
                _ => return Err(malformed(var, &v, "`drop_newest` or `drop_oldest`")),
            };
        }
        Ok(config)
    }

    /// Checks that every bound is non-zero and that the values are consistent with each other
    /// (a batch fits in the queue, the backoff cap is not below the first backoff, ...).
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn nonzero(field: &'static str, v: usize) -> Result<(), ConfigError> {
            if v == 0 {
                return Err(invalid(field, "must be at least 1".to_owned()));
            }
            Ok(())
        }
        fn positive(field: &'static str, d: Duration) -> Result<(), ConfigError> {
            if d.is_zero() {
                return Err(invalid(field, "must be longer than zero".to_owned()));
            }
            Ok(())
        }
        nonzero("max_queue_spans", self.max_queue_spans)?;
        nonzero("max_queue_bytes", self.max_queue_bytes)?;
        nonzero("max_batch_spans", self.max_batch_spans)?;
        nonzero("max_batch_bytes", self.max_batch_bytes)?;
        nonzero("max_in_flight", self.max_in_flight)?;
        if self.max_queue_spans > MAX_QUEUE_SPANS_LIMIT {
            return Err(invalid(
                "max_queue_spans",
                format!(
                    "{} is above the limit of {MAX_QUEUE_SPANS_LIMIT} (the queue is allocated up front)",
                    self.max_queue_spans
                ),
            ));
        }
        if self.max_queue_bytes > MAX_QUEUE_BYTES_LIMIT {
            return Err(invalid(
                "max_queue_bytes",
                format!(
                    "{} is above the limit of {MAX_QUEUE_BYTES_LIMIT}",
                    self.max_queue_bytes
                ),
            ));
        }
        if self.max_batch_spans > self.max_queue_spans {
            return Err(invalid(
                "max_batch_spans",
                format!(
                    "{} is larger than max_queue_spans ({}): a batch could never fill",
                    self.max_batch_spans, self.max_queue_spans
                ),
            ));
        }
        if self.max_batch_bytes > self.max_queue_bytes {
            return Err(invalid(
                "max_batch_bytes",
                format!(
                    "{} is larger than max_queue_bytes ({}): a batch could never fill",
                    self.max_batch_bytes, self.max_queue_bytes
                ),
            ));
        }
        positive("batch_interval", self.batch_interval)?;
        positive("request_timeout", self.request_timeout)?;
        positive("initial_backoff", self.initial_backoff)?;
        positive("log_summary_interval", self.log_summary_interval)?;
        if self.max_attempts == 0 {
            return Err(invalid(
                "max_attempts",
                "must be at least 1 (1 means no retries)".to_owned(),
            ));
        }
        if self.max_backoff < self.initial_backoff {
            return Err(invalid(
                "max_backoff",
                format!(
                    "{:?} is shorter than initial_backoff ({:?})",
                    self.max_backoff, self.initial_backoff
                ),
            ));
        }
        Ok(())
    }
}

fn parse_count(var: &'static str, v: &str) -> Result<usize, ConfigError> {
    v.parse::<usize>()
        .map_err(|_| malformed(var, v, "a non-negative integer"))
}

fn parse_millis(var: &'static str, v: &str) -> Result<Duration, ConfigError> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| malformed(var, v, "a whole number of milliseconds"))
}

fn malformed(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    // Keep error messages readable even if a variable holds something huge.
    let value: String = value.chars().take(64).collect();
    ConfigError::Malformed {
        var,
        value,
        expected,
    }
}

fn invalid(field: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { field, reason }
}

/// A configuration the pipeline cannot run with, or a pipeline that could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds a value that does not parse.
    Malformed {
        /// The variable, such as `TRACER_EXPORT_MAX_QUEUE_SPANS`.
        var: &'static str,
        /// The value found (at most its first 64 characters).
        value: String,
        /// What the variable should hold.
        expected: &'static str,
    },
    /// A field is zero, out of range, or inconsistent with another field.
    Invalid {
        /// The [`BatchConfig`] field, such as `max_batch_spans`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The export worker's thread or runtime could not be started.
    Worker {
        /// The operating system's error.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Malformed {
                var,
                value,
                expected,
            } => write!(
                f,
                "environment variable {var}={value:?} is malformed: expected {expected}; fix or unset it"
            ),
            ConfigError::Invalid { field, reason } => {
                write!(f, "invalid export configuration: {field} {reason}")
            }
            ConfigError::Worker { reason } => {
                write!(f, "could not start the span export worker: {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl FnMut(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let c = BatchConfig::default();
        c.validate().unwrap();
        assert_eq!(c.max_queue_spans, 65_536);
        assert_eq!(c.max_queue_bytes, 32 << 20);
        assert_eq!(c.max_batch_spans, 512);
        assert_eq!(c.max_batch_bytes, 1 << 20);
        assert_eq!(c.batch_interval, Duration::from_secs(1));
        assert_eq!(c.max_in_flight, 8);
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!(c.overflow, OverflowPolicy::DropNewest);
    }

    #[test]
    fn env_overrides_every_variable() {
        let c = BatchConfig::from_lookup(lookup(&[
            (ENV_MAX_QUEUE_SPANS, "1000"),
            (ENV_MAX_QUEUE_BYTES, "200000"),
            (ENV_MAX_BATCH_SPANS, " 100 "),
            (ENV_MAX_BATCH_BYTES, "50000"),
            (ENV_BATCH_INTERVAL_MS, "250"),
            (ENV_MAX_IN_FLIGHT, "6"),
            (ENV_REQUEST_TIMEOUT_MS, "1500"),
            (ENV_OVERFLOW, "drop_oldest"),
        ]))
        .unwrap();
        assert_eq!(c.max_queue_spans, 1000);
        assert_eq!(c.max_queue_bytes, 200_000);
        assert_eq!(c.max_batch_spans, 100);
        assert_eq!(c.max_batch_bytes, 50_000);
        assert_eq!(c.batch_interval, Duration::from_millis(250));
        assert_eq!(c.max_in_flight, 6);
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.overflow, OverflowPolicy::DropOldest);
        c.validate().unwrap();
    }

    #[test]
    fn unset_and_empty_keep_defaults() {
        let c = BatchConfig::from_lookup(lookup(&[(ENV_MAX_IN_FLIGHT, "")])).unwrap();
        assert_eq!(c, BatchConfig::default());
    }

    #[test]
    fn malformed_values_name_the_variable_and_value() {
        for (var, value) in [
            (ENV_MAX_QUEUE_SPANS, "lots"),
            (ENV_MAX_QUEUE_BYTES, "-1"),
            (ENV_MAX_BATCH_SPANS, "1.5"),
            (ENV_MAX_BATCH_BYTES, "1MiB"),
            (ENV_BATCH_INTERVAL_MS, "1s"),
            (ENV_MAX_IN_FLIGHT, "four"),
            (ENV_REQUEST_TIMEOUT_MS, "99999999999999999999999"),
            (ENV_OVERFLOW, "drop_random"),
        ] {
            let err = BatchConfig::from_lookup(lookup(&[(var, value)])).unwrap_err();
            match &err {
                ConfigError::Malformed {
                    var: v, value: got, ..
                } => {
                    assert_eq!(*v, var);
                    assert_eq!(got, value);
                }
                other => panic!("unexpected {other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains(var) && text.contains(value), "{text}");
        }
    }

    #[test]
    fn zero_and_inconsistent_values_are_rejected() {
        let cases: Vec<(&str, BatchConfig)> = vec![
            (
                "max_queue_spans",
                BatchConfig {
                    max_queue_spans: 0,
                    ..Default::default()
                },
            ),
            (
                "max_queue_bytes",
                BatchConfig {
                    max_queue_bytes: 0,
                    ..Default::default()
                },
            ),
            (
                "max_batch_spans",
                BatchConfig {
                    max_batch_spans: 0,
                    ..Default::default()
                },
            ),
            (
                "max_batch_bytes",
                BatchConfig {
                    max_batch_bytes: 0,
                    ..Default::default()
                },
            ),
            (
                "max_in_flight",
                BatchConfig {
                    max_in_flight: 0,
                    ..Default::default()
                },
            ),
            (
                "batch_interval",
                BatchConfig {
                    batch_interval: Duration::ZERO,
                    ..Default::default()
                },
            ),
            (
                "request_timeout",
                BatchConfig {
                    request_timeout: Duration::ZERO,
                    ..Default::default()
                },
            ),
            (
                "max_attempts",
                BatchConfig {
                    max_attempts: 0,
                    ..Default::default()
                },
            ),
            (
                "max_batch_spans",
                BatchConfig {
                    max_queue_spans: 100,
                    max_batch_spans: 101,
                    ..Default::default()
                },
            ),
            (
                "max_batch_bytes",
                BatchConfig {
                    max_queue_bytes: 1000,
                    max_batch_bytes: 1001,
                    ..Default::default()
                },
            ),
            (
                "max_backoff",
                BatchConfig {
                    initial_backoff: Duration::from_secs(2),
                    max_backoff: Duration::from_secs(1),
                    ..Default::default()
                },
            ),
            (
                "max_queue_spans",
                BatchConfig {
                    max_queue_spans: MAX_QUEUE_SPANS_LIMIT + 1,
                    ..Default::default()
                },
            ),
        ];
        for (field, config) in cases {
            match config.validate() {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: unexpected {other:?}"),
            }
        }
    }
}
