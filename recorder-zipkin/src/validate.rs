//! Checks a span against what a Zipkin collector accepts, before it is sent.
//!
//! Zipkin answers `400` for the whole request when one span in it is malformed, so a span that
//! would be rejected is dropped here, counted with its [`InvalidReason`], and the rest of the
//! batch goes. The rules follow Zipkin's `Span`/`Endpoint` builders and JSON reader:
//!
//! - `traceId` and `id` must not be zero (Zipkin: "traceId is all zeros");
//! - `timestamp`, `duration` and annotation timestamps must be non-negative 64-bit
//!   microseconds: a start before 1970 or a time so far out that it does not fit is an error
//!   here (the server would silently zero it, and zipkin-go refuses it);
//! - tag keys must not be empty. Annotation values and tag values are not checked: any text
//!   is written as a JSON or proto3 string, which Zipkin stores as is.
//!
//! What the encoders already guarantee is not checked again: hex ids are lower-case and
//! zero-padded, `kind` is upper-case, names and service names are lower-cased, ports fit in
//! 16 bits, a `parentId` equal to `id` is left out, `shared` is cleared on client spans.

use std::fmt;

use crate::model::Span;

/// Why a span was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The trace id is zero.
    ZeroTraceId,
    /// The span id is zero.
    ZeroSpanId,
    /// The span started before 1970-01-01.
    TimestampBeforeEpoch,
    /// The start time does not fit in signed 64-bit epoch microseconds.
    TimestampOutOfRange,
    /// The duration is negative or does not fit in signed 64-bit microseconds.
    DurationOutOfRange,
    /// A log's timestamp is before 1970 or does not fit in signed 64-bit microseconds.
    AnnotationTimestampOutOfRange,
    /// A tag has an empty key.
    EmptyTagKey,
    /// The encoded span alone is larger than the transport's message limit.
    TooLarge,
}

impl InvalidReason {
    /// Every reason, for summaries.
    pub const ALL: [InvalidReason; 8] = [
        InvalidReason::ZeroTraceId,
        InvalidReason::ZeroSpanId,
        InvalidReason::TimestampBeforeEpoch,
        InvalidReason::TimestampOutOfRange,
        InvalidReason::DurationOutOfRange,
        InvalidReason::AnnotationTimestampOutOfRange,
        InvalidReason::EmptyTagKey,
        InvalidReason::TooLarge,
    ];

    /// A short snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            InvalidReason::ZeroTraceId => "zero_trace_id",
            InvalidReason::ZeroSpanId => "zero_span_id",
            InvalidReason::TimestampBeforeEpoch => "timestamp_before_epoch",
            InvalidReason::TimestampOutOfRange => "timestamp_out_of_range",
            InvalidReason::DurationOutOfRange => "duration_out_of_range",
            InvalidReason::AnnotationTimestampOutOfRange => "annotation_timestamp_out_of_range",
            InvalidReason::EmptyTagKey => "empty_tag_key",
            InvalidReason::TooLarge => "too_large",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidReason::ZeroTraceId => "trace id is zero",
            InvalidReason::ZeroSpanId => "span id is zero",
            InvalidReason::TimestampBeforeEpoch => "span starts before 1970",
            InvalidReason::TimestampOutOfRange => "start time does not fit in 64-bit microseconds",
            InvalidReason::DurationOutOfRange => "duration does not fit in 64-bit microseconds",
            InvalidReason::AnnotationTimestampOutOfRange => {
                "a log timestamp is before 1970 or does not fit in 64-bit microseconds"
            }
            InvalidReason::EmptyTagKey => "a tag has an empty key",
            InvalidReason::TooLarge => "the encoded span is larger than the message limit",
        })
    }
}

/// Checks `span`; `Ok` when Zipkin would accept it.
pub fn validate(span: &Span<'_>) -> Result<(), InvalidReason> {
    if span.trace_id == 0 {
        return Err(InvalidReason::ZeroTraceId);
    }
    if span.id == 0 {
        return Err(InvalidReason::ZeroSpanId);
    }
    if span.timestamp < 0 {
        // Mapping saturates a start too far before the epoch at `-i64::MAX`.
        return Err(if span.timestamp <= -i64::MAX {
            InvalidReason::TimestampOutOfRange
        } else {
            InvalidReason::TimestampBeforeEpoch
        });
    }
    if span.timestamp == i64::MAX {
        return Err(InvalidReason::TimestampOutOfRange);
    }
    if span.duration < 0 || span.duration == i64::MAX {
        return Err(InvalidReason::DurationOutOfRange);
    }
    if span
        .annotations
        .iter()
        .any(|a| a.timestamp < 0 || a.timestamp == i64::MAX)
    {
        return Err(InvalidReason::AnnotationTimestampOutOfRange);
    }
    if span.tags.iter().any(|t| t.key.is_empty()) {
        return Err(InvalidReason::EmptyTagKey);
    }
    Ok(())
}

/// Counts of dropped spans by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InvalidCounts([u64; 8]);

impl InvalidCounts {
    /// The count for one reason.
    pub fn get(&self, reason: InvalidReason) -> u64 {
        self.0.get(reason.index()).copied().unwrap_or(0)
    }

    /// Adds `n` for `reason`.
    pub fn add(&mut self, reason: InvalidReason, n: u64) {
        if let Some(c) = self.0.get_mut(reason.index()) {
            *c = c.saturating_add(n);
        }
    }

    /// The total over every reason.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &InvalidCounts) {
        for r in InvalidReason::ALL {
            self.add(r, other.get(r));
        }
    }

    /// Non-zero counts with their reasons.
    pub fn iter(&self) -> impl Iterator<Item = (InvalidReason, u64)> + '_ {
        InvalidReason::ALL
            .into_iter()
            .map(|r| (r, self.get(r)))
            .filter(|(_, n)| *n > 0)
    }
}

impl fmt::Display for InvalidCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (r, n)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n} {}", r.as_str())?;
        }
        Ok(())
    }
}
