//! Batch settings the integration tests share.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use tracer_api::export::BatchConfig;

/// Short batches, so each test's spans leave soon after they finish.
pub(crate) fn prompt() -> BatchConfig {
    BatchConfig {
        batch_interval: Duration::from_millis(50),
        ..BatchConfig::default()
    }
}

/// [`prompt`] batches that keep retrying (quickly, for up to ten minutes) while a peer is
/// stopped, for the tests that restart one.
pub(crate) fn patient() -> BatchConfig {
    BatchConfig {
        request_timeout: Duration::from_secs(5),
        max_attempts: 100_000,
        max_retry_elapsed: Duration::from_secs(600),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..prompt()
    }
}
