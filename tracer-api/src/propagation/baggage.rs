//! Baggage as `ot-baggage-<key>` headers, added to any propagator.
//!
//! [`BaggageHeaders`] wraps a propagator. On inject it lets the inner propagator write its
//! headers, then writes one `ot-baggage-<key>: <value>` header per baggage item (the form
//! basictracer-go and Appdash's tracer use). On extract it asks the inner propagator; when
//! that finds a span context, every `ot-baggage-*` header is attached to it as a baggage item.
//! Header names are matched without regard to ASCII case and baggage keys are lower-cased on
//! extract (HTTP header names are case-insensitive, so the case could not be trusted anyway).
//! A header named just `ot-baggage-` (no key) is ignored.
//!
//! # Bounds
//!
//! Baggage comes from the network, so extraction accepts at most [`MAX_ITEMS`] items of at
//! most [`MAX_BYTES`] bytes in all (keys plus values). Beyond either bound the extraction
//! fails with [`ExtractError::Corrupted`] (format `ot-baggage`) rather than keeping a part of
//! the baggage that the caller did not choose: the caller then starts a new trace. The same
//! bounds apply to the [`binary`](super::binary) form. Injection writes every item.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use tracer_api::propagation::{BaggageHeaders, Propagator, B3};
//! use tracer_api::{Baggage, Sampling, SpanContext, SpanId, TraceId};
//!
//! let propagator = BaggageHeaders::new(B3::multi());
//! let cx = SpanContext::new(
//!     TraceId::from_parts(0, 1).ok_or("zero id")?,
//!     SpanId::from_u64(2).ok_or("zero id")?,
//!     Sampling::Accept,
//! )
//! .with_baggage(Baggage::from_iter([("customer", "acme")]));
//!
//! let mut headers = HashMap::new();
//! propagator.inject(&cx, &mut headers);
//! assert_eq!(headers["ot-baggage-customer"], "acme");
//!
//! let found = propagator.extract(&headers)?;
//! assert_eq!(found.context().and_then(|c| c.baggage_item("customer")), Some("acme"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::{ExtractError, Extractor, Injector, Propagator};
use crate::context::{Baggage, Extracted, SpanContext};

/// The prefix of baggage headers: `ot-baggage-<key>`.
pub const BAGGAGE_PREFIX: &str = "ot-baggage-";
/// The most baggage items extraction accepts.
pub const MAX_ITEMS: usize = 64;
/// The most bytes of baggage (keys plus values) extraction accepts.
pub const MAX_BYTES: usize = 8 * 1024;

const FORMAT: &str = "ot-baggage";

/// A propagator plus baggage as `ot-baggage-*` headers (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaggageHeaders<P> {
    inner: P,
}

impl<P> BaggageHeaders<P> {
    /// Wraps `inner`, adding baggage headers to what it writes and reads.
    pub const fn new(inner: P) -> BaggageHeaders<P> {
        BaggageHeaders { inner }
    }

    /// The wrapped propagator.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Unwraps the inner propagator.
    pub fn into_inner(self) -> P {
        self.inner
    }
}

impl<P: Propagator> Propagator for BaggageHeaders<P> {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        self.inner.inject(context, carrier);
        inject_items(context, carrier);
    }

    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        match self.inner.extract(carrier)? {
            Extracted::Context(mut context) => {
                let items = extract_items(carrier)?;
                if context.baggage().is_empty() {
                    // The usual case: the inner codec carries no baggage of its own.
                    return Ok(Extracted::Context(context.with_baggage(items)));
                }
                let baggage = context.baggage_mut();
                for (k, v) in items.iter() {
                    baggage.set(k, v);
                }
                Ok(Extracted::Context(context))
            }
            sampling_only => Ok(sampling_only),
        }
    }
}

/// Writes one `ot-baggage-<key>` header per baggage item.
pub(crate) fn inject_items(context: &SpanContext, carrier: &mut dyn Injector) {
    let mut name = String::new();
    for (k, v) in context.baggage().iter() {
        name.clear();
        name.push_str(BAGGAGE_PREFIX);
        name.push_str(k);
        carrier.set(&name, v.to_owned());
    }
}

/// The key part of `header` when it is a baggage header (prefix matched in any case).
fn baggage_key(header: &str) -> Option<&str> {
    let prefix = header.get(..BAGGAGE_PREFIX.len())?;
    if prefix.eq_ignore_ascii_case(BAGGAGE_PREFIX) {
        header.get(BAGGAGE_PREFIX.len()..)
    } else {
        None
    }
}

/// Checks that `count` items of `bytes` bytes in all are within the bounds.
pub(crate) fn check_bounds(
    format: &'static str,
    count: usize,
    bytes: usize,
) -> Result<(), ExtractError> {
    if count > MAX_ITEMS {
        return Err(ExtractError::corrupted(
            format,
            format!("more than {MAX_ITEMS} baggage items"),
        ));
    }
    if bytes > MAX_BYTES {
        return Err(ExtractError::corrupted(
            format,
            format!("more than {MAX_BYTES} bytes of baggage"),
        ));
    }
    Ok(())
}

/// Reads every `ot-baggage-*` header, keys lower-cased, within the bounds.
pub(crate) fn extract_items(carrier: &dyn Extractor) -> Result<Baggage, ExtractError> {
    let mut headers: Vec<(&str, &str)> = carrier
        .keys()
        .into_iter()
        .filter_map(|h| baggage_key(h).map(|k| (h, k)))
        .filter(|(_, k)| !k.is_empty())
        .collect();
    check_bounds(FORMAT, headers.len(), 0)?;
    // Sorted, so that when two headers differ only by case the same one wins every time.
    headers.sort_unstable();
    let mut total = 0usize;
    let mut items = Vec::with_capacity(headers.len());
    for (header, key) in headers {
        let Some(value) = carrier.get(header) else {
            continue;
        };
        total = total.saturating_add(key.len()).saturating_add(value.len());
        check_bounds(FORMAT, 0, total)?;
        items.push((key, value));
    }
    let mut baggage = Baggage::new();
    for (key, value) in items {
        baggage.set(key.to_ascii_lowercase(), value);
    }
    Ok(baggage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Sampling;
    use crate::id::{SpanId, TraceId};
    use crate::propagation::B3;
    use std::collections::HashMap;

    fn base() -> HashMap<String, String> {
        HashMap::from([
            ("x-b3-traceid".to_owned(), "1".to_owned()),
            ("x-b3-spanid".to_owned(), "2".to_owned()),
        ])
    }

    #[test]
    fn keys_are_lower_cased_and_prefix_matched_in_any_case() {
        let mut h = base();
        h.insert("OT-Baggage-User-ID".to_owned(), "42".to_owned());
        h.insert("ot-baggage-".to_owned(), "ignored".to_owned());
        h.insert("ot-baggagex".to_owned(), "not baggage".to_owned());
        let cx = BaggageHeaders::new(B3::multi())
            .extract(&h)
            .unwrap()
            .into_context()
            .unwrap();
        assert_eq!(cx.baggage().len(), 1);
        assert_eq!(cx.baggage_item("user-id"), Some("42"));
    }

    #[test]
    fn bounds_are_exact() {
        let p = BaggageHeaders::new(B3::multi());
        let mut h = base();
        for i in 0..MAX_ITEMS {
            h.insert(format!("ot-baggage-k{i}"), "v".to_owned());
        }
        assert_eq!(
            p.extract(&h).unwrap().context().unwrap().baggage().len(),
            MAX_ITEMS
        );
        h.insert("ot-baggage-one-more".to_owned(), "v".to_owned());
        assert!(matches!(
            p.extract(&h),
            Err(ExtractError::Corrupted {
                format: "ot-baggage",
                ..
            })
        ));

        let mut h = base();
        h.insert("ot-baggage-k".to_owned(), "v".repeat(MAX_BYTES - 1));
        assert!(p.extract(&h).is_ok());
        h.insert("ot-baggage-k".to_owned(), "v".repeat(MAX_BYTES));
        assert!(p.extract(&h).is_err());
    }

    #[test]
    fn sampling_only_passes_through_and_inject_writes_items() {
        let h = HashMap::from([
            ("b3".to_owned(), "0".to_owned()),
            ("ot-baggage-a".to_owned(), "b".to_owned()),
        ]);
        assert_eq!(
            BaggageHeaders::new(B3::single()).extract(&h),
            Ok(Extracted::SamplingOnly(Sampling::Deny))
        );
        let cx = SpanContext::new(
            TraceId::from_parts(0, 1).unwrap(),
            SpanId::from_u64(2).unwrap(),
            Sampling::Accept,
        )
        .with_baggage(Baggage::from_iter([("a", "1"), ("b", "2")]));
        let mut out = HashMap::new();
        BaggageHeaders::new(B3::single()).inject(&cx, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out["ot-baggage-a"], "1");
        assert_eq!(out["ot-baggage-b"], "2");
    }
}
