//! Encodings, and the batch encoder the transports share: map, validate, encode.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracer_api::SpanRecord;

use crate::mapping::Mapper;
use crate::model::Span;
use crate::validate::{validate, InvalidCounts, InvalidReason};
use crate::{json, proto};

/// How spans are encoded on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Zipkin v2 JSON list (`application/json`). The default.
    #[default]
    Json,
    /// Zipkin proto3 `ListOfSpans` (`application/x-protobuf`): smaller and faster to encode.
    Proto3,
}

impl Encoding {
    /// The HTTP `Content-Type` for this encoding.
    pub const fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Proto3 => "application/x-protobuf",
        }
    }

    /// `json` or `proto3`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Proto3 => "proto3",
        }
    }

    /// Appends one span as this encoding's list element (no separators for JSON).
    pub fn write_span(self, span: &Span<'_>, out: &mut Vec<u8>) {
        match self {
            Encoding::Json => json::write_span(span, out),
            Encoding::Proto3 => proto::write_span(span, out),
        }
    }

    /// Appends a list of spans in this encoding.
    pub fn write_list<'s, 'a: 's>(
        self,
        spans: impl IntoIterator<Item = &'s Span<'a>>,
        out: &mut Vec<u8>,
    ) {
        match self {
            Encoding::Json => json::write_list(spans, out),
            Encoding::Proto3 => proto::write_list(spans, out),
        }
    }

    /// Maps, validates and encodes `records` as one list appended to `out`. Spans Zipkin would
    /// reject are left out and counted in the returned [`Encoded::invalid`].
    pub fn encode_records(self, records: &[SpanRecord], out: &mut Vec<u8>) -> Encoded {
        let mut mapper = Mapper::new();
        let mut encoded = Encoded::default();
        if self == Encoding::Json {
            out.push(b'[');
        }
        for rec in records {
            let span = mapper.map(rec);
            if let Err(reason) = validate(&span) {
                encoded.invalid.add(reason, 1);
                encoded.first_invalid.get_or_insert(reason);
                continue;
            }
            if self == Encoding::Json && encoded.spans > 0 {
                out.push(b',');
            }
            self.write_span(&span, out);
            encoded.spans += 1;
        }
        if self == Encoding::Json {
            out.push(b']');
        }
        encoded
    }

    /// Like [`encode_records`](Encoding::encode_records), cutting the list into messages of at
    /// most `max_bytes` bytes each (several spans per message). A span that alone exceeds the
    /// limit is dropped as [`InvalidReason::TooLarge`]. Returns the messages with their span
    /// counts.
    pub fn encode_messages(
        self,
        records: &[SpanRecord],
        max_bytes: usize,
    ) -> (Vec<(Vec<u8>, usize)>, Encoded) {
        let mut mapper = Mapper::new();
        let mut encoded = Encoded::default();
        let mut messages = Vec::new();
        let mut current: Vec<u8> = Vec::new();
        let mut in_current = 0usize;
        let mut one = Vec::new();
        // JSON list brackets and separator.
        let (open, close, sep): (&[u8], &[u8], &[u8]) = match self {
            Encoding::Json => (b"[", b"]", b","),
            Encoding::Proto3 => (b"", b"", b""),
        };
        for rec in records {
            let span = mapper.map(rec);
            if let Err(reason) = validate(&span) {
                encoded.invalid.add(reason, 1);
                encoded.first_invalid.get_or_insert(reason);
                continue;
            }
            one.clear();
            self.write_span(&span, &mut one);
            if one.len() + open.len() + close.len() > max_bytes {
                encoded.invalid.add(InvalidReason::TooLarge, 1);
                encoded.first_invalid.get_or_insert(InvalidReason::TooLarge);
                continue;
            }
            if in_current > 0 && current.len() + sep.len() + one.len() + close.len() > max_bytes {
                current.extend_from_slice(close);
                messages.push((std::mem::take(&mut current), in_current));
                in_current = 0;
            }
            if in_current == 0 {
                current.extend_from_slice(open);
            } else {
                current.extend_from_slice(sep);
            }
            current.extend_from_slice(&one);
            in_current += 1;
            encoded.spans += 1;
        }
        if in_current > 0 {
            current.extend_from_slice(close);
            messages.push((current, in_current));
        }
        (messages, encoded)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoding name that is neither `json` nor `proto3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEncodingError(String);

impl fmt::Display for ParseEncodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown encoding `{}`: expected `json` or `proto3`",
            self.0
        )
    }
}

impl std::error::Error for ParseEncodingError {}

impl FromStr for Encoding {
    type Err = ParseEncodingError;

    /// `json` or `proto3` (also `proto`, `protobuf`), in any case.
    fn from_str(s: &str) -> Result<Encoding, ParseEncodingError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("json") {
            Ok(Encoding::Json)
        } else if ["proto3", "proto", "protobuf"]
            .iter()
            .any(|n| t.eq_ignore_ascii_case(n))
        {
            Ok(Encoding::Proto3)
        } else {
            Err(ParseEncodingError(s.to_owned()))
        }
    }
}

/// What [`Encoding::encode_records`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Spans written.
    pub spans: usize,
    /// Spans left out, by reason.
    pub invalid: InvalidCounts,
    /// The reason of the first span left out, if any.
    pub first_invalid: Option<InvalidReason>,
}

/// Logs dropped invalid spans at a bounded rate: the first drop at once, then at most one
/// summary per interval.
#[derive(Debug)]
pub(crate) struct InvalidLog {
    state: Mutex<LogState>,
    interval: Duration,
}

#[derive(Debug, Default)]
struct LogState {
    last: Option<Instant>,
    pending: InvalidCounts,
}

impl InvalidLog {
    pub(crate) fn new(interval: Duration) -> InvalidLog {
        InvalidLog {
            state: Mutex::new(LogState::default()),
            interval,
        }
    }

    /// Notes the invalid spans of one batch; logs when due. Returns true when it logged.
    pub(crate) fn note(&self, encoded: &Encoded) -> bool {
        if encoded.invalid.total() == 0 {
            return false;
        }
        let Ok(mut st) = self.state.lock() else {
            return false;
        };
        st.pending.merge(&encoded.invalid);
        let now = Instant::now();
        match st.last {
            None => {
                let reason = encoded
                    .first_invalid
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                log::warn!(
                    "zipkin: dropped {} span(s) Zipkin would reject ({}); first reason: {reason}; \
                     further drops are summarised every {:?}",
                    st.pending.total(),
                    st.pending,
                    self.interval
                );
            }
            Some(last) if now.duration_since(last) >= self.interval => {
                log::warn!(
                    "zipkin: dropped {} invalid span(s) since the last report ({})",
                    st.pending.total(),
                    st.pending
                );
            }
            Some(_) => return false,
        }
        st.last = Some(now);
        st.pending = InvalidCounts::default();
        true
    }
}
