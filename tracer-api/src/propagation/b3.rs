//! B3 propagation, Zipkin's header format: multi-header (`x-b3-*`) and the single `b3` header.
//!
//! # Writing
//!
//! | encoding | headers written |
//! |---|---|
//! | [`B3Encoding::Multi`] | `x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid` (when the context has a parent), then `x-b3-flags: 1` for a debug context, else `x-b3-sampled: 1` or `0` (nothing when the decision was deferred) |
//! | [`B3Encoding::Single`] | `b3: {trace}-{span}[-{1\|0\|d}[-{parent}]]` |
//! | [`B3Encoding::Both`] | all of the above |
//!
//! Header names are lower case. Ids are lower-case hex; a 64-bit trace id is written as 16
//! digits and a 128-bit one as 32: a 64-bit id is never padded, so callers that compare ids
//! (Zipkin, the B3 spec) keep seeing the id they sent. The single header never carries a
//! parent without a sampling state (the B3 grammar does not allow it), so a context whose
//! decision was deferred is written as `trace-span` only.
//!
//! # Reading
//!
//! The rules are those of zipkin-go (`propagation/b3`), with empty and nonsense values
//! treated as malformed, as the B3 spec asks:
//!
//! - No B3 header at all gives [`ExtractError::NotFound`].
//! - Multi-header: `x-b3-sampled` is `1`/`0`, or leniently `true`/`false` in any case;
//!   `x-b3-flags` exactly `1` means debug (other flags values are ignored); ids are 1 to 16
//!   (span) or 1 to 32 (trace) hex digits of either case. Only `x-b3-sampled` (or
//!   `x-b3-flags: 1`) without ids gives [`Extracted::SamplingOnly`]. Exactly one of trace id
//!   and span id, a parent id without them, an empty value, a bad digit or an all-zero id give
//!   [`ExtractError::Corrupted`].
//! - Single header: `b3: 0`, `b3: 1` and `b3: d` are sampling-only. Otherwise a 16 or 32 digit
//!   trace id, a 16 digit span id, an optional sampling state (`1`, `0` or `d`) and an
//!   optional 16 digit parent id, separated by `-`. Anything else is corrupted.
//! - [`B3Encoding::Both`] reads the single header first; when it is absent or broken it reads
//!   the multi-header form; when both fail the single header's error is reported (as
//!   zipkin-go does).
//!
//! Extracted contexts are marked remote ([`SpanContext::is_remote`]). A context without
//! `x-b3-sampled` carries [`Sampling::Deferred`]: the receiving tracer's sampler decides.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use tracer_api::propagation::{Propagator, B3};
//! use tracer_api::{Extracted, Sampling, SpanContext, SpanId, TraceId};
//!
//! let trace_id = TraceId::from_parts(0, 0x7b).ok_or("zero id")?;
//! let span_id = SpanId::from_u64(0x1c8).ok_or("zero id")?;
//! let cx = SpanContext::new(trace_id, span_id, Sampling::Debug);
//!
//! let mut headers = HashMap::new();
//! B3::single().inject(&cx, &mut headers);
//! assert_eq!(headers["b3"], "000000000000007b-00000000000001c8-d");
//!
//! let mut headers = HashMap::new();
//! B3::multi().inject(&cx, &mut headers);
//! assert_eq!(headers["x-b3-traceid"], "000000000000007b"); // 64-bit ids stay 16 digits
//! assert_eq!(headers["x-b3-flags"], "1");
//! assert!(!headers.contains_key("x-b3-sampled"));
//!
//! let found = B3::multi().extract(&headers)?;
//! assert_eq!(found.context().map(|c| (c.trace_id(), c.is_debug())), Some((trace_id, true)));
//!
//! // The sampling-only form: no ids, just "don't record this".
//! let headers = HashMap::from([("b3".to_owned(), "0".to_owned())]);
//! assert_eq!(B3::both().extract(&headers)?, Extracted::SamplingOnly(Sampling::Deny));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;

use super::{ExtractError, Extractor, Injector, Propagator};
use crate::context::{Extracted, Sampling, SpanContext};
use crate::id::{ParseIdError, SpanId, TraceId};

/// `x-b3-traceid`: the trace id, 16 or 32 lower-case hex digits.
pub const TRACE_ID_HEADER: &str = "x-b3-traceid";
/// `x-b3-spanid`: the span id, 16 lower-case hex digits.
pub const SPAN_ID_HEADER: &str = "x-b3-spanid";
/// `x-b3-parentspanid`: the parent span id, absent on a root span.
pub const PARENT_SPAN_ID_HEADER: &str = "x-b3-parentspanid";
/// `x-b3-sampled`: `1` (record) or `0` (do not); absent when the receiver decides.
pub const SAMPLED_HEADER: &str = "x-b3-sampled";
/// `x-b3-flags`: `1` means debug (record, and keep whatever the backend's sampling).
pub const FLAGS_HEADER: &str = "x-b3-flags";
/// `b3`: the single-header form.
pub const SINGLE_HEADER: &str = "b3";

/// The `format` of multi-header errors.
const MULTI_FORMAT: &str = "b3";
/// The `format` of single-header errors.
const SINGLE_FORMAT: &str = "b3-single";

/// Which B3 headers a [`B3`] propagator writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum B3Encoding {
    /// The `x-b3-*` headers (what most Zipkin tracers send by default).
    #[default]
    Multi,
    /// The single `b3` header.
    Single,
    /// Writes both forms; reads the single header first, then the multi-header form.
    Both,
}

/// The B3 propagator (see the [module docs](self) for the exact rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct B3 {
    encoding: B3Encoding,
}

impl B3 {
    /// A B3 propagator with the given encoding.
    pub const fn new(encoding: B3Encoding) -> B3 {
        B3 { encoding }
    }

    /// Multi-header B3 (`x-b3-*`).
    pub const fn multi() -> B3 {
        B3::new(B3Encoding::Multi)
    }

    /// Single-header B3 (`b3`).
    pub const fn single() -> B3 {
        B3::new(B3Encoding::Single)
    }

    /// Both forms: writes both, reads the single header first.
    pub const fn both() -> B3 {
        B3::new(B3Encoding::Both)
    }

    /// The encoding this propagator uses.
    pub const fn encoding(&self) -> B3Encoding {
        self.encoding
    }
}

impl Propagator for B3 {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        match self.encoding {
            B3Encoding::Multi => inject_multi(context, carrier),
            B3Encoding::Single => carrier.set(SINGLE_HEADER, single_header_value(context)),
            B3Encoding::Both => {
                inject_multi(context, carrier);
                carrier.set(SINGLE_HEADER, single_header_value(context));
            }
        }
    }

    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        match self.encoding {
            B3Encoding::Multi => extract_multi(carrier),
            B3Encoding::Single => extract_single(carrier),
            B3Encoding::Both => match extract_single(carrier) {
                Ok(found) => Ok(found),
                Err(ExtractError::NotFound) => extract_multi(carrier),
                Err(single_error) => extract_multi(carrier).map_err(|_| single_error),
            },
        }
    }
}

fn inject_multi(context: &SpanContext, carrier: &mut dyn Injector) {
    carrier.set(TRACE_ID_HEADER, context.trace_id().to_string());
    carrier.set(SPAN_ID_HEADER, context.span_id().to_string());
    if let Some(parent) = context.parent_id() {
        carrier.set(PARENT_SPAN_ID_HEADER, parent.to_string());
    }
    match context.sampling() {
        Sampling::Debug => carrier.set(FLAGS_HEADER, "1".to_owned()),
        Sampling::Accept => carrier.set(SAMPLED_HEADER, "1".to_owned()),
        Sampling::Deny => carrier.set(SAMPLED_HEADER, "0".to_owned()),
        Sampling::Deferred => {}
    }
}

/// The single `b3` header value for `context`: `trace-span[-sampling[-parent]]`.
fn single_header_value(context: &SpanContext) -> String {
    let mut out = String::with_capacity(32 + 1 + 16 + 2 + 17);
    let mut trace_buf = [0u8; 32];
    out.push_str(context.trace_id().encode_hex(&mut trace_buf));
    out.push('-');
    let mut span_buf = [0u8; 16];
    out.push_str(context.span_id().encode_hex(&mut span_buf));
    let state = match context.sampling() {
        Sampling::Accept => Some('1'),
        Sampling::Deny => Some('0'),
        Sampling::Debug => Some('d'),
        Sampling::Deferred => None,
    };
    if let Some(state) = state {
        out.push('-');
        out.push(state);
        // A parent is only allowed after a sampling state.
        if let Some(parent) = context.parent_id() {
            out.push('-');
            out.push_str(parent.encode_hex(&mut span_buf));
        }
    }
    out
}

fn corrupted(format: &'static str, reason: impl Into<Cow<'static, str>>) -> ExtractError {
    ExtractError::corrupted(format, reason)
}

fn id_error(format: &'static str, what: &str, e: ParseIdError) -> ExtractError {
    corrupted(format, format!("{what}: {e}"))
}

fn extract_multi(carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
    let trace = carrier.get(TRACE_ID_HEADER);
    let span = carrier.get(SPAN_ID_HEADER);
    let parent = carrier.get(PARENT_SPAN_ID_HEADER);
    let sampled = carrier.get(SAMPLED_HEADER);
    let debug = carrier.get(FLAGS_HEADER) == Some("1");
    if trace.is_none() && span.is_none() && parent.is_none() && sampled.is_none() && !debug {
        return Err(ExtractError::NotFound);
    }

    let mut sampling = match sampled {
        None => Sampling::Deferred,
        Some(v) if v == "1" || v.eq_ignore_ascii_case("true") => Sampling::Accept,
        Some(v) if v == "0" || v.eq_ignore_ascii_case("false") => Sampling::Deny,
        Some(_) => {
            return Err(corrupted(
                MULTI_FORMAT,
                "invalid B3 Sampled header found (expected 1, 0, true or false)",
            ))
        }
    };
    if debug {
        sampling = Sampling::Debug;
    }

    let trace_id = trace
        .map(TraceId::from_hex)
        .transpose()
        .map_err(|e| id_error(MULTI_FORMAT, "invalid B3 TraceID header found", e))?;
    let span_id = span
        .map(SpanId::from_hex)
        .transpose()
        .map_err(|e| id_error(MULTI_FORMAT, "invalid B3 SpanID header found", e))?;

    match (trace_id, span_id) {
        (Some(trace_id), Some(span_id)) => {
            let parent_id = parent
                .map(SpanId::from_hex)
                .transpose()
                .map_err(|e| id_error(MULTI_FORMAT, "invalid B3 ParentSpanID header found", e))?;
            Ok(Extracted::Context(
                SpanContext::new(trace_id, span_id, sampling)
                    .with_parent_id(parent_id)
                    .with_remote(true),
            ))
        }
        (None, None) if parent.is_some() => Err(corrupted(
            MULTI_FORMAT,
            "ParentSpanID requires both TraceID and SpanID to be available",
        )),
        (None, None) => match sampling {
            // Unreachable given the check above, but never invent a decision.
            Sampling::Deferred => Err(ExtractError::NotFound),
            s => Ok(Extracted::SamplingOnly(s)),
        },
        _ => Err(corrupted(
            MULTI_FORMAT,
            "require either both TraceID and SpanID or none",
        )),
    }
}

fn extract_single(carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
    match carrier.get(SINGLE_HEADER) {
        None => Err(ExtractError::NotFound),
        Some(value) => parse_single(value),
    }
}

fn sampling_state(s: &str) -> Option<Sampling> {
    match s {
        "1" => Some(Sampling::Accept),
        "0" => Some(Sampling::Deny),
        "d" => Some(Sampling::Debug),
        _ => None,
    }
}

/// Parses a single `b3` header value.
fn parse_single(value: &str) -> Result<Extracted, ExtractError> {
    const F: &str = SINGLE_FORMAT;
    if value.is_empty() {
        return Err(corrupted(F, "empty b3 header"));
    }
    if value.len() == 1 {
        return sampling_state(value)
            .map(Extracted::SamplingOnly)
            .ok_or_else(|| corrupted(F, "invalid B3 Sampled found (expected 1, 0 or d)"));
    }

    let mut fields = value.split('-');
    let trace = fields.next().unwrap_or_default();
    let Some(span) = fields.next() else {
        return Err(if trace.len() == 16 || trace.len() == 32 {
            corrupted(F, "require either both TraceID and SpanID or none")
        } else {
            corrupted(F, "invalid B3 TraceID value found")
        });
    };
    if trace.len() != 16 && trace.len() != 32 {
        return Err(corrupted(
            F,
            "invalid B3 TraceID value found (expected 16 or 32 hex digits)",
        ));
    }
    let trace_id =
        TraceId::from_hex(trace).map_err(|e| id_error(F, "invalid B3 TraceID value found", e))?;
    if span.len() != 16 {
        return Err(corrupted(
            F,
            "invalid B3 SpanID value found (expected 16 hex digits)",
        ));
    }
    let span_id =
        SpanId::from_hex(span).map_err(|e| id_error(F, "invalid B3 SpanID value found", e))?;

    let sampling = match fields.next() {
        None => Sampling::Deferred,
        Some(s) if s.len() == 16 => {
            return Err(corrupted(
                F,
                "ParentSpanID requires TraceID, SpanID and Sampled to be available",
            ))
        }
        Some(s) => sampling_state(s)
            .ok_or_else(|| corrupted(F, "invalid B3 Sampled found (expected 1, 0 or d)"))?,
    };
    let parent_id = match fields.next() {
        None => None,
        Some(p) if p.len() == 16 => Some(
            SpanId::from_hex(p)
                .map_err(|e| id_error(F, "invalid B3 ParentSpanID value found", e))?,
        ),
        Some(_) => {
            return Err(corrupted(
                F,
                "invalid B3 ParentSpanID value found (expected 16 hex digits)",
            ))
        }
    };
    if fields.next().is_some() {
        return Err(corrupted(F, "b3 header has more than four fields"));
    }
    Ok(Extracted::Context(
        SpanContext::new(trace_id, span_id, sampling)
            .with_parent_id(parent_id)
            .with_remote(true),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn cx(high: u64, low: u64, span: u64, sampling: Sampling) -> SpanContext {
        SpanContext::new(
            TraceId::from_parts(high, low).unwrap(),
            SpanId::from_u64(span).unwrap(),
            sampling,
        )
    }

    #[test]
    fn multi_inject_exact_headers() {
        let c = cx(0, 0x7b, 0x1c8, Sampling::Accept).with_parent_id(SpanId::from_u64(3));
        let mut h = HashMap::new();
        B3::multi().inject(&c, &mut h);
        assert_eq!(
            h,
            map(&[
                ("x-b3-traceid", "000000000000007b"),
                ("x-b3-spanid", "00000000000001c8"),
                ("x-b3-parentspanid", "0000000000000003"),
                ("x-b3-sampled", "1"),
            ])
        );

        let c = cx(1, 2, 3, Sampling::Debug);
        let mut h = HashMap::new();
        B3::multi().inject(&c, &mut h);
        assert_eq!(
            h,
            map(&[
                ("x-b3-traceid", "00000000000000010000000000000002"),
                ("x-b3-spanid", "0000000000000003"),
                ("x-b3-flags", "1"),
            ])
        );

        let mut h = HashMap::new();
        B3::multi().inject(&cx(0, 5, 6, Sampling::Deferred), &mut h);
        assert_eq!(h.len(), 2);
        let mut h = HashMap::new();
        B3::multi().inject(&cx(0, 5, 6, Sampling::Deny), &mut h);
        assert_eq!(h["x-b3-sampled"], "0");
    }

    #[test]
    fn single_inject_exact_values() {
        let parent = SpanId::from_u64(0x1c8);
        let cases = [
            (
                cx(0x7b, 0x1c8, 0x7b, Sampling::Deferred),
                None,
                "000000000000007b00000000000001c8-000000000000007b",
            ),
            (
                cx(0x7b, 0x1c8, 0x7b, Sampling::Deny),
                None,
                "000000000000007b00000000000001c8-000000000000007b-0",
            ),
            (
                cx(0x7b, 0x1c8, 0x7b, Sampling::Deny),
                parent,
                "000000000000007b00000000000001c8-000000000000007b-0-00000000000001c8",
            ),
            (
                cx(0, 0x7b, 0x7b, Sampling::Accept),
                parent,
                "000000000000007b-000000000000007b-1-00000000000001c8",
            ),
            (
                cx(0, 0x7b, 0x7b, Sampling::Debug),
                None,
                "000000000000007b-000000000000007b-d",
            ),
            // Never a parent without a sampling state.
            (
                cx(0, 0x7b, 0x7b, Sampling::Deferred),
                parent,
                "000000000000007b-000000000000007b",
            ),
        ];
        for (c, parent, want) in cases {
            let c = c.with_parent_id(parent);
            let mut h = HashMap::new();
            B3::single().inject(&c, &mut h);
            assert_eq!(h, map(&[("b3", want)]), "{c:?}");
            // And it reads back as the same context.
            let back = B3::single().extract(&h).unwrap().into_context().unwrap();
            assert_eq!(back.trace_id(), c.trace_id());
            assert_eq!(back.span_id(), c.span_id());
            assert_eq!(back.sampling(), c.sampling());
            assert!(back.is_remote());
        }
    }

    #[test]
    fn both_writes_both_and_round_trips() {
        let c = cx(9, 8, 7, Sampling::Accept).with_parent_id(SpanId::from_u64(6));
        let mut h = HashMap::new();
        B3::both().inject(&c, &mut h);
        assert_eq!(h.len(), 5);
        assert_eq!(
            h["b3"],
            "00000000000000090000000000000008-0000000000000007-1-0000000000000006"
        );
        for p in [B3::both(), B3::single(), B3::multi()] {
            let back = p.extract(&h).unwrap().into_context().unwrap();
            assert_eq!(back, c.clone().with_remote(true));
        }
    }

    #[test]
    fn multi_extract_rules() {
        let ok = B3::multi()
            .extract(&map(&[
                ("X-B3-TraceId", "7B"),
                ("X-B3-SpanId", "1C8"),
                ("X-B3-Sampled", "True"),
            ]))
            .unwrap();
        let c = ok.context().unwrap();
        assert_eq!(c.trace_id().to_string(), "000000000000007b");
        assert_eq!(c.sampling(), Sampling::Accept);

        let only_sampled = B3::multi().extract(&map(&[("x-b3-sampled", "0")]));
        assert_eq!(only_sampled, Ok(Extracted::SamplingOnly(Sampling::Deny)));
        let only_debug = B3::multi().extract(&map(&[("x-b3-flags", "1")]));
        assert_eq!(only_debug, Ok(Extracted::SamplingOnly(Sampling::Debug)));
        // Other flags values are ignored.
        assert_eq!(
            B3::multi().extract(&map(&[("x-b3-flags", "0")])),
            Err(ExtractError::NotFound)
        );
        assert_eq!(B3::multi().extract(&map(&[])), Err(ExtractError::NotFound));
        // Flags 1 wins over sampled.
        let d = B3::multi()
            .extract(&map(&[
                ("x-b3-traceid", "1"),
                ("x-b3-spanid", "2"),
                ("x-b3-sampled", "0"),
                ("x-b3-flags", "1"),
            ]))
            .unwrap();
        assert_eq!(d.sampling(), Sampling::Debug);
    }

    #[test]
    fn both_reports_the_single_error_when_both_fail() {
        let h = map(&[("b3", "nonsense"), ("x-b3-traceid", "1")]);
        match B3::both().extract(&h) {
            Err(ExtractError::Corrupted { format, .. }) => assert_eq!(format, "b3-single"),
            other => panic!("{other:?}"),
        }
        // A broken single header with a good multi form: the multi form wins.
        let h = map(&[
            ("b3", "nonsense"),
            ("x-b3-traceid", "1"),
            ("x-b3-spanid", "2"),
        ]);
        assert!(B3::both().extract(&h).unwrap().context().is_some());
        // Single wins when both are good.
        let h = map(&[("b3", "0"), ("x-b3-traceid", "1"), ("x-b3-spanid", "2")]);
        assert_eq!(
            B3::both().extract(&h),
            Ok(Extracted::SamplingOnly(Sampling::Deny))
        );
    }
}
