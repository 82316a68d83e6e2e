//! W3C Trace Context: the `traceparent` header, with `tracestate` passed on untouched.
//!
//! # `traceparent`
//!
//! Written as `00-{trace id, 32 digits}-{span id, 16 digits}-{flags}`, lower-case hex. A 64-bit
//! trace id is left-padded with 16 zeros (the W3C form has no shorter id); reading such an id
//! back gives the 64-bit id again, so B3 headers written later still carry 16 digits. Flags are
//! `01` for a sampled or debug context and `00` otherwise (W3C has neither a debug flag nor a
//! deferred decision: a deferred context is written as not sampled).
//!
//! Reading is strict, as the specification asks (version `00`):
//!
//! - exactly `{2}-{32}-{16}-{2}` lower-case hex digits (55 characters) for version `00`;
//! - for a later version (`01` to `fe`) a longer value is accepted when its first 55
//!   characters parse and the 56th is `-` (the future format extends this one);
//! - version `ff`, upper-case digits, wrong lengths, other separators, all-zero trace or parent
//!   ids give [`ExtractError::Corrupted`]; no `traceparent` gives [`ExtractError::NotFound`];
//! - flag bit `0x01` gives [`Sampling::Accept`], its absence [`Sampling::Deny`]; other bits
//!   are ignored.
//!
//! # `tracestate`
//!
//! Kept opaque: the value read with a valid `traceparent` is stored in the context
//! ([`SpanContext::trace_state`]), inherited by child spans and written back on inject. It is
//! ignored (not passed on) when it is empty, longer than [`MAX_TRACESTATE_LEN`] bytes (the
//! length the specification asks every vendor to propagate at least), or holds characters
//! outside printable ASCII. Only the first `tracestate` header line is read.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use tracer_api::propagation::{Propagator, TraceContext};
//! use tracer_api::Sampling;
//!
//! let headers = HashMap::from([
//!     ("traceparent".to_owned(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
//!     ("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned()),
//! ]);
//! let found = TraceContext::new().extract(&headers)?;
//! let cx = found.context().ok_or("no context")?;
//! assert_eq!(cx.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(cx.sampling(), Sampling::Accept);
//! assert_eq!(cx.trace_state(), Some("congo=t61rcWkgMzE"));
//!
//! let mut out = HashMap::new();
//! TraceContext::new().inject(cx, &mut out);
//! assert_eq!(out, headers);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use super::{ExtractError, Extractor, Injector, Propagator};
use crate::context::{Extracted, Sampling, SpanContext};
use crate::id::{SpanId, TraceId};

/// `traceparent`: version, trace id, parent (span) id and flags.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// `tracestate`: vendor-specific state, passed on opaque.
pub const TRACESTATE_HEADER: &str = "tracestate";
/// The longest `tracestate` value kept and passed on, in bytes; a longer one is dropped whole.
pub const MAX_TRACESTATE_LEN: usize = 512;

const FORMAT: &str = "traceparent";
/// `00-` + 32 + `-` + 16 + `-` + 2.
const TRACEPARENT_LEN: usize = 55;

/// The W3C Trace Context propagator (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceContext;

impl TraceContext {
    /// The `traceparent` / `tracestate` propagator.
    pub const fn new() -> TraceContext {
        TraceContext
    }
}

impl Propagator for TraceContext {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        carrier.set(TRACEPARENT_HEADER, traceparent_value(context));
        if let Some(state) = context.trace_state() {
            carrier.set(TRACESTATE_HEADER, state.to_owned());
        }
    }

    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        let Some(value) = carrier.get(TRACEPARENT_HEADER) else {
            return Err(ExtractError::NotFound);
        };
        let context = parse_traceparent(value)?;
        let state = carrier
            .get(TRACESTATE_HEADER)
            .filter(|s| is_acceptable_tracestate(s))
            .map(Arc::<str>::from);
        Ok(Extracted::Context(
            context.with_trace_state(state).with_remote(true),
        ))
    }
}

/// The `tracestate` of `carrier` when its `traceparent` names the same trace as `context`:
/// lets a context found by another codec (B3 is read first by default) keep the trace's state.
pub(crate) fn matching_trace_state(
    carrier: &dyn Extractor,
    context: &SpanContext,
) -> Option<Arc<str>> {
    // The cheap test first: almost every carrier has no `tracestate`.
    let state = carrier
        .get(TRACESTATE_HEADER)
        .filter(|s| is_acceptable_tracestate(s))?;
    let parent = parse_traceparent(carrier.get(TRACEPARENT_HEADER)?).ok()?;
    (parent.trace_id() == context.trace_id()).then(|| Arc::<str>::from(state))
}

fn traceparent_value(context: &SpanContext) -> String {
    let mut span_buf = [0u8; 16];
    let flags = if context.is_sampled() { "01" } else { "00" };
    format!(
        "00-{}-{}-{flags}",
        context.trace_id().to_hex32(),
        context.span_id().encode_hex(&mut span_buf)
    )
}

fn is_acceptable_tracestate(s: &str) -> bool {
    !s.trim().is_empty()
        && s.len() <= MAX_TRACESTATE_LEN
        && s.bytes().all(|b| b == b'\t' || (0x20..=0x7e).contains(&b))
}

/// Parses lower-case hex digits only (W3C forbids upper case); `None` on anything else.
fn lower_hex(digits: &[u8]) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    digits.iter().try_fold(0u128, |acc, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some((acc << 4) | u128::from(d))
    })
}

fn corrupted(reason: &'static str) -> ExtractError {
    ExtractError::corrupted(FORMAT, reason)
}

fn parse_traceparent(value: &str) -> Result<SpanContext, ExtractError> {
    let b = value.as_bytes();
    if b.len() < TRACEPARENT_LEN {
        return Err(corrupted("traceparent is shorter than 55 characters"));
    }
    let field = |start: usize, len: usize| b.get(start..start + len).unwrap_or_default();
    let dash_at = |i: usize| b.get(i) == Some(&b'-');

    let version = lower_hex(field(0, 2))
        .ok_or_else(|| corrupted("traceparent version is not two lower-case hex digits"))?;
    if version == 0xff {
        return Err(corrupted("traceparent version ff is invalid"));
    }
    if !(dash_at(2) && dash_at(35) && dash_at(52)) {
        return Err(corrupted(
            "traceparent fields are not 2, 32, 16 and 2 digits separated by '-'",
        ));
    }
    if b.len() > TRACEPARENT_LEN && (version == 0 || !dash_at(TRACEPARENT_LEN)) {
        return Err(corrupted(if version == 0 {
            "traceparent version 00 must be exactly 55 characters"
        } else {
            "traceparent has trailing data not separated by '-'"
        }));
    }
    let trace = lower_hex(field(3, 32))
        .ok_or_else(|| corrupted("traceparent trace id is not 32 lower-case hex digits"))?;
    let span = lower_hex(field(36, 16))
        .ok_or_else(|| corrupted("traceparent parent id is not 16 lower-case hex digits"))?;
    let flags = lower_hex(field(53, 2))
        .ok_or_else(|| corrupted("traceparent flags are not two lower-case hex digits"))?;
    let trace_id =
        TraceId::from_u128(trace).ok_or_else(|| corrupted("traceparent trace id is all zeros"))?;
    let span_id = SpanId::from_u64(span as u64)
        .ok_or_else(|| corrupted("traceparent parent id is all zeros"))?;
    let sampling = Sampling::from_sampled(flags & 0x01 == 0x01);
    Ok(SpanContext::new(trace_id, span_id, sampling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn headers(tp: &str) -> HashMap<String, String> {
        HashMap::from([("traceparent".to_owned(), tp.to_owned())])
    }

    #[test]
    fn inject_exact_values() {
        let cx = SpanContext::new(
            TraceId::from_parts(0, 0x7b).unwrap(),
            SpanId::from_u64(0x1c8).unwrap(),
            Sampling::Debug,
        );
        let mut h = HashMap::new();
        TraceContext::new().inject(&cx, &mut h);
        assert_eq!(
            h,
            headers("00-0000000000000000000000000000007b-00000000000001c8-01")
        );
        let cx = SpanContext::new(cx.trace_id(), cx.span_id(), Sampling::Deny)
            .with_trace_state(Some(Arc::from("a=b")));
        let mut h = HashMap::new();
        TraceContext::new().inject(&cx, &mut h);
        assert_eq!(
            h["traceparent"],
            "00-0000000000000000000000000000007b-00000000000001c8-00"
        );
        assert_eq!(h["tracestate"], "a=b");
    }

    #[test]
    fn padded_64bit_id_reads_back_as_64bit() {
        let found = TraceContext::new()
            .extract(&headers(
                "00-0000000000000000000000000000007b-00000000000001c8-00",
            ))
            .unwrap();
        let cx = found.context().unwrap();
        assert!(!cx.trace_id().is_128bit());
        assert_eq!(cx.trace_id().to_string(), "000000000000007b");
        assert_eq!(cx.sampling(), Sampling::Deny);
        assert!(cx.is_remote());
        assert_eq!(cx.trace_state(), None);
    }

    #[test]
    fn future_versions_and_flags() {
        let tp =
            "cc-12345678901234567890123456789012-1234567890123456-03-what-the-future-will-be-like";
        let cx = TraceContext::new().extract(&headers(tp)).unwrap();
        assert_eq!(cx.sampling(), Sampling::Accept);
        let tp = "00-12345678901234567890123456789012-1234567890123456-02";
        let cx = TraceContext::new().extract(&headers(tp)).unwrap();
        assert_eq!(cx.sampling(), Sampling::Deny);
        for bad in [
            "ff-12345678901234567890123456789012-1234567890123456-01",
            "00-12345678901234567890123456789012-1234567890123456-01-x",
            "cc-12345678901234567890123456789012-1234567890123456-01.x",
        ] {
            assert!(matches!(
                TraceContext::new().extract(&headers(bad)),
                Err(ExtractError::Corrupted {
                    format: "traceparent",
                    ..
                })
            ));
        }
    }

    #[test]
    fn tracestate_bounds() {
        let tp = "00-12345678901234567890123456789012-1234567890123456-01";
        let with = |ts: &str| {
            let mut h = headers(tp);
            h.insert("tracestate".to_owned(), ts.to_owned());
            TraceContext::new()
                .extract(&h)
                .unwrap()
                .into_context()
                .unwrap()
        };
        let max = format!("k={}", "v".repeat(MAX_TRACESTATE_LEN - 2));
        assert_eq!(with(&max).trace_state(), Some(max.as_str()));
        let over = format!("k={}", "v".repeat(MAX_TRACESTATE_LEN - 1));
        assert_eq!(with(&over).trace_state(), None);
        assert_eq!(with("").trace_state(), None);
        assert_eq!(with("a=é").trace_state(), None);
        assert_eq!(with("a=\n").trace_state(), None);
    }
}
