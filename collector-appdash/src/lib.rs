#![doc = include_str!("../README.md")]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod collector;
pub mod model;
mod server;
pub mod store;
#[cfg(feature = "tls")]
mod tls;
mod web;

pub use crate::collector::{
    Collector, CollectorBuilder, CollectorHandle, StartError, DEFAULT_COLLECTOR_ADDR,
    DEFAULT_HTTP_ADDR,
};
pub use crate::model::{LogView, ReferenceKind, ReferenceView, SpanView, TraceView};
pub use crate::server::CollectorStats;
pub use crate::store::{Store, StoreConfig, StoreStats, TraceFilter, TraceSummary};

/// Parses a duration such as `90s`, `30m`, `2h`, `1h30m`, `500ms` or `1d` (units `ms`, `s`,
/// `m`, `h`, `d`; a bare `0` is zero).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(collector_appdash::parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert!(collector_appdash::parse_duration("30").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let bad = || {
        format!("invalid duration {s:?}: expected a number and a unit (ms, s, m, h, d), such as 90s, 30m or 2h")
    };
    if s.is_empty() {
        return Err(bad());
    }
    let mut total_ms: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let (num, tail) = rest.split_at(digits);
        let n: u64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let ms_per = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        total_ms = n
            .checked_mul(ms_per)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| format!("duration {s:?} is too long"))?;
        rest = tail;
    }
    Ok(std::time::Duration::from_millis(total_ms))
}
