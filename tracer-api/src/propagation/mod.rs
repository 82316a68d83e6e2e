//! Propagation: moving a [`SpanContext`] across process boundaries.
//!
//! Carriers are two tiny traits, [`Injector`] and [`Extractor`], implemented for
//! `HashMap<String, String>` and (feature `http`) `http::HeaderMap`. A [`Propagator`] writes a
//! context into an injector and reads one from an extractor; a [`CompositePropagator`] is a
//! plain list of them.
//!
//! | codec | headers | notes |
//! |---|---|---|
//! | [`B3`] | `x-b3-traceid`, `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`, `x-b3-flags`, or single `b3` | 64-bit trace ids stay 64-bit; debug survives; `b3: 0` sampling-only form |
//! | [`TraceContext`] | `traceparent`, `tracestate` | W3C; `tracestate` kept opaque and passed on |
//! | [`OtTracer`] | `ot-tracer-traceid`, `ot-tracer-spanid`, `ot-tracer-sampled`, `ot-baggage-*` | what Appdash's and basictracer's Go tracers speak |
//! | [`binary`] | bytes | basictracer's binary form, extended for 128-bit ids |
//!
//! The default ([`default_propagator`]) injects B3 multi-header and `traceparent`, and
//! extracts whichever is present: single `b3` first, then B3 multi-header, then `traceparent`,
//! then `ot-tracer-*`. Baggage travels as `ot-baggage-*` headers with every codec of the
//! default.
//!
//! Extraction tells "nothing there" ([`ExtractError::NotFound`]) from "something there but
//! broken" ([`ExtractError::Corrupted`], with the reason). It never panics on any input.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::context::{Extracted, SpanContext};

pub mod b3;
pub mod baggage;
pub mod binary;
pub mod ot;
pub mod w3c;

pub use self::b3::{B3Encoding, B3};
pub use self::baggage::BaggageHeaders;
pub use self::ot::OtTracer;
pub use self::w3c::TraceContext;

/// Where a propagator writes a context: headers of an outgoing request, a message's metadata.
pub trait Injector {
    /// Sets `key` to `value`, replacing an earlier value.
    fn set(&mut self, key: &str, value: String);
}

/// Where a propagator reads a context from: headers of an incoming request.
pub trait Extractor {
    /// The first value of `key`, matched without regard to ASCII case.
    fn get(&self, key: &str) -> Option<&str>;

    /// Every key present (for prefix lookups such as `ot-baggage-*`).
    fn keys(&self) -> Vec<&str>;
}

impl<S: std::hash::BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }
}

impl<S: std::hash::BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        match HashMap::get(self, key) {
            Some(v) => Some(v.as_str()),
            None => self
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

#[cfg(feature = "http")]
impl Injector for http::HeaderMap {
    /// Values that are not valid header values (control characters) are not set.
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::header::HeaderValue::from_str(&value),
        ) {
            self.insert(name, value);
        }
    }
}

#[cfg(feature = "http")]
impl Extractor for http::HeaderMap {
    /// Values that are not visible ASCII read as absent.
    fn get(&self, key: &str) -> Option<&str> {
        http::HeaderMap::get(self, key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        http::HeaderMap::keys(self).map(|k| k.as_str()).collect()
    }
}

/// Why extraction found no context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// The carrier holds no context of this format: start a new trace.
    NotFound,
    /// The carrier holds a context of this format, but it is malformed.
    Corrupted {
        /// The format that failed (`b3`, `b3-single`, `traceparent`, `ot-tracer`, `ot-baggage`,
        /// `binary`).
        format: &'static str,
        /// What was wrong, for logs.
        reason: Cow<'static, str>,
    },
}

impl ExtractError {
    /// A corrupted-context error.
    pub fn corrupted(format: &'static str, reason: impl Into<Cow<'static, str>>) -> ExtractError {
        ExtractError::Corrupted {
            format,
            reason: reason.into(),
        }
    }

    /// True for [`ExtractError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, ExtractError::NotFound)
    }
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtractError::NotFound => f.write_str("span context not found in the carrier"),
            ExtractError::Corrupted { format, reason } => {
                write!(
                    f,
                    "span context corrupted in the carrier ({format}): {reason}"
                )
            }
        }
    }
}

impl std::error::Error for ExtractError {}

/// Injects and extracts span contexts in one format.
pub trait Propagator: Send + Sync + fmt::Debug {
    /// Writes `context` into `carrier`.
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector);

    /// Reads a context from `carrier`.
    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError>;
}

impl<P: Propagator + ?Sized> Propagator for Box<P> {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        (**self).inject(context, carrier)
    }
    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        (**self).extract(carrier)
    }
}

impl<P: Propagator + ?Sized> Propagator for std::sync::Arc<P> {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        (**self).inject(context, carrier)
    }
    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        (**self).extract(carrier)
    }
}

/// Several propagators as one: every injector writes; extractors are tried in order and the
/// first context found wins. When none finds one, the first corruption is reported, else
/// [`ExtractError::NotFound`].
///
/// A W3C `tracestate` belongs to the trace, whichever header carried the ids: when the context
/// found has none and the carrier's `traceparent` names the same trace, its `tracestate` is
/// attached, so it is passed on even when B3 was read first.
#[derive(Debug, Default)]
pub struct CompositePropagator {
    injectors: Vec<Box<dyn Propagator>>,
    extractors: Vec<Box<dyn Propagator>>,
}

impl CompositePropagator {
    /// An empty composite (injects nothing, finds nothing).
    pub fn new() -> CompositePropagator {
        CompositePropagator::default()
    }

    /// Adds a propagator used for injection only.
    pub fn with_injector(mut self, p: impl Propagator + 'static) -> Self {
        self.injectors.push(Box::new(p));
        self
    }

    /// Adds a propagator used for extraction only, tried after the ones added before.
    pub fn with_extractor(mut self, p: impl Propagator + 'static) -> Self {
        self.extractors.push(Box::new(p));
        self
    }
}

impl Propagator for CompositePropagator {
    fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        for p in &self.injectors {
            p.inject(context, carrier);
        }
    }

    fn extract(&self, carrier: &dyn Extractor) -> Result<Extracted, ExtractError> {
        let mut first_error = None;
        for p in &self.extractors {
            match p.extract(carrier) {
                Ok(Extracted::Context(cx)) if cx.trace_state().is_none() => {
                    let state = w3c::matching_trace_state(carrier, &cx);
                    return Ok(Extracted::Context(cx.with_trace_state(state)));
                }
                Ok(found) => return Ok(found),
                Err(ExtractError::NotFound) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(ExtractError::NotFound))
    }
}

/// The default propagator: injects B3 multi-header and `traceparent` (plus `ot-baggage-*`
/// for baggage); extracts single `b3`, then B3 multi-header, then `traceparent`, then
/// `ot-tracer-*`, with baggage from `ot-baggage-*` attached to whichever context is found.
pub fn default_propagator() -> CompositePropagator {
    CompositePropagator::new()
        .with_injector(BaggageHeaders::new(B3::multi()))
        .with_injector(TraceContext::new())
        .with_extractor(BaggageHeaders::new(B3::single()))
        .with_extractor(BaggageHeaders::new(B3::multi()))
        .with_extractor(BaggageHeaders::new(TraceContext::new()))
        .with_extractor(OtTracer::new())
}
