//! The `ot-tracer-*` headers of basictracer-go, the tracer core Appdash's OpenTracing tracer
//! uses.
//!
//! | header | value |
//! |---|---|
//! | `ot-tracer-traceid` | the trace id, lower-case hex **without** zero padding (`7b`); a 128-bit id is written in full |
//! | `ot-tracer-spanid` | the span id, the same way |
//! | `ot-tracer-sampled` | `true` or `false` (a debug context is `true`; a deferred one `false`) |
//! | `ot-baggage-<key>` | one header per baggage item |
//!
//! Reading matches header names without regard to ASCII case. All three state headers are
//! required: none gives [`ExtractError::NotFound`], only some of them, an id that is not 1 to
//! 32 (trace) or 1 to 16 (span) hex digits of either case, an all-zero id, or a sampled value
//! that Go's `strconv.ParseBool` would reject give [`ExtractError::Corrupted`]. Baggage is read
//! as [`BaggageHeaders`](super::BaggageHeaders) reads it: keys lower-cased, within the same
//! bounds.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use tracer_api::propagation::{OtTracer, Propagator};
//! use tracer_api::{Baggage, Sampling, SpanContext, SpanId, TraceId};
//!
//! let cx = SpanContext::new(
//!     TraceId::from_parts(0, 0x7b).ok_or("zero id")?,
//!     SpanId::from_u64(0x1c8).ok_or("zero id")?,
//!     Sampling::Accept,
//! )
//! .with_baggage(Baggage::from_iter([("user", "ada")]));
//!
//! let mut headers = HashMap::new();
//! OtTracer::new().inject(&cx, &mut headers);
//! assert_eq!(headers["ot-tracer-traceid"], "7b");
//! assert_eq!(headers["ot-tracer-spanid"], "1c8");
//! assert_eq!(headers["ot-tracer-sampled"], "true");
//! assert_eq!(headers["ot-baggage-user"], "ada");
//!
//! let back = OtTracer::new().extract(&headers)?.into_context().ok_or("no context")?;
//! assert_eq!(back.trace_id(), cx.trace_id());
//! assert_eq!(back.baggage_item("user"), Some("ada"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::baggage::{extract_items, inject_items};
use super::{ExtractError, Extractor, Injector, Propagator};
use crate::context::{Extracted, Sampling, SpanContext};
use crate::id::{SpanId, TraceId};

/// `ot-tracer-traceid`: the trace id, unpadded lower-case hex.
pub const TRACE_ID_HEADER: &str = "ot-tracer-traceid";
/// `ot-tracer-spanid`: the span id, unpadded lower-case hex.
pub const SPAN_ID_HEADER: &str = "ot-tracer-spanid";
/// `ot-tracer-sampled`: `true` or `false`.
pub const SAMPLED_HEADER: &str = "ot-tracer-sampled";

const FORMAT: &str = "ot-tracer";

/// The `ot-tracer-*` propagator (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OtTracer;

impl OtTracer {
    /// The `ot-tracer-*` / `ot-baggage-*` propagator.
    pub const fn new() -> OtTracer {
        OtTracer
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Propagator for OtTracer {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        carrier.set(
            TRACE_ID_HEADER,
            format!("{:x}", context.trace_id().to_u128()),
        );
        carrier.set(SPAN_ID_HEADER, format!("{:x}", context.span_id().to_u64()));
        let sampled = if context.is_sampled() {
            "true"
        } else {
            "false"
        };
        carrier.set(SAMPLED_HEADER, sampled.to_owned());
        inject_items(context, carrier);
    }

    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        let trace = carrier.get(TRACE_ID_HEADER);
        let span = carrier.get(SPAN_ID_HEADER);
        let sampled = carrier.get(SAMPLED_HEADER);
        let (trace, span, sampled) = match (trace, span, sampled) {
            (None, None, None) => return Err(ExtractError::NotFound),
            (Some(t), Some(s), Some(sm)) => (t, s, sm),
            (t, s, sm) => {
                let missing: Vec<&str> = [
                    (t.is_none(), TRACE_ID_HEADER),
                    (s.is_none(), SPAN_ID_HEADER),
                    (sm.is_none(), SAMPLED_HEADER),
                ]
                .iter()
                .filter(|(absent, _)| *absent)
                .map(|(_, name)| *name)
                .collect();
                return Err(ExtractError::corrupted(
                    FORMAT,
                    format!("missing {}", missing.join(" and ")),
                ));
            }
        };
        let trace_id = TraceId::from_hex(trace).map_err(|e| {
            ExtractError::corrupted(FORMAT, format!("invalid {TRACE_ID_HEADER}: {e}"))
        })?;
        let span_id = SpanId::from_hex(span).map_err(|e| {
            ExtractError::corrupted(FORMAT, format!("invalid {SPAN_ID_HEADER}: {e}"))
        })?;
        let sampled = parse_go_bool(sampled).ok_or_else(|| {
            ExtractError::corrupted(FORMAT, "invalid ot-tracer-sampled (expected true or false)")
        })?;
        let baggage = extract_items(carrier)?;
        Ok(Extracted::Context(
            SpanContext::new(trace_id, span_id, Sampling::from_sampled(sampled))
                .with_baggage(baggage)
                .with_remote(true),
        ))
    }
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

    #[test]
    fn inject_is_unpadded_and_128bit_in_full() {
        let cx = SpanContext::new(
            TraceId::from_parts(0x1, 0xa).unwrap(),
            SpanId::from_u64(0xff).unwrap(),
            Sampling::Deny,
        );
        let mut h = HashMap::new();
        OtTracer::new().inject(&cx, &mut h);
        assert_eq!(
            h,
            map(&[
                ("ot-tracer-traceid", "1000000000000000a"),
                ("ot-tracer-spanid", "ff"),
                ("ot-tracer-sampled", "false"),
            ])
        );
        let back = OtTracer::new().extract(&h).unwrap().into_context().unwrap();
        assert_eq!(back, cx.with_remote(true));
    }

    #[test]
    fn extract_rules() {
        let ok = map(&[
            ("Ot-Tracer-TraceId", "7B"),
            ("OT-TRACER-SPANID", "1c8"),
            ("ot-tracer-sampled", "True"),
            ("Ot-Baggage-Key", "v"),
        ]);
        let cx = OtTracer::new()
            .extract(&ok)
            .unwrap()
            .into_context()
            .unwrap();
        assert_eq!(cx.trace_id().to_u128(), 0x7b);
        assert!(cx.is_sampled());
        assert_eq!(cx.baggage_item("key"), Some("v"));

        assert_eq!(
            OtTracer::new().extract(&map(&[("ot-baggage-a", "b")])),
            Err(ExtractError::NotFound)
        );
        let some = OtTracer::new().extract(&map(&[("ot-tracer-traceid", "1")]));
        match some {
            Err(ExtractError::Corrupted { format, reason }) => {
                assert_eq!(format, "ot-tracer");
                assert_eq!(reason, "missing ot-tracer-spanid and ot-tracer-sampled");
            }
            other => panic!("{other:?}"),
        }
        for (t, s, sm) in [
            ("0", "1", "true"),
            ("1", "0", "true"),
            ("x", "1", "true"),
            ("1", "1", "yes"),
            ("", "1", "true"),
            ("1", "11111111111111111", "true"),
        ] {
            let h = map(&[
                ("ot-tracer-traceid", t),
                ("ot-tracer-spanid", s),
                ("ot-tracer-sampled", sm),
            ]);
            assert!(
                matches!(
                    OtTracer::new().extract(&h),
                    Err(ExtractError::Corrupted { .. })
                ),
                "{h:?}"
            );
        }
    }
}
