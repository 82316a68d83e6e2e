//! Encodings, and the batch encoder the transports share: map, validate, encode.

use std::fmt;
use std::str::FromStr;

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
        // One message with no size limit: it is never sealed early.
        let (encoded, _) = self.encode_split(records, usize::MAX, out, |_, _| {});
        if encoded.spans == 0 {
            let (open, close, _) = self.delimiters();
            out.extend_from_slice(open);
            out.extend_from_slice(close);
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
        let mut messages = Vec::new();
        let mut current = Vec::new();
        let (encoded, in_last) = self.encode_split(records, max_bytes, &mut current, |m, n| {
            messages.push((m, n))
        });
        if in_last > 0 {
            messages.push((current, in_last));
        }
        (messages, encoded)
    }

    /// The list's opening bracket, closing bracket and separator.
    const fn delimiters(self) -> (&'static [u8], &'static [u8], &'static [u8]) {
        match self {
            Encoding::Json => (b"[", b"]", b","),
            Encoding::Proto3 => (b"", b"", b""),
        }
    }

    /// The routine both encoders share: maps, validates and writes each span straight into
    /// `out`, the message being built (from its length on entry). When a span would take the
    /// message over `max_bytes`, it is cut back out: dropped as too large when it cannot fit
    /// in a message of its own, else the message is closed and handed to `sealed` with its
    /// span count, and the span starts the next one in `out`. Returns what was done and the
    /// number of spans in the last message, which is closed when it has any and left in `out`.
    fn encode_split(
        self,
        records: &[SpanRecord],
        max_bytes: usize,
        out: &mut Vec<u8>,
        mut sealed: impl FnMut(Vec<u8>, usize),
    ) -> (Encoded, usize) {
        let (open, close, sep) = self.delimiters();
        let mut mapper = Mapper::new();
        let mut encoded = Encoded::default();
        let mut start = out.len();
        let mut in_current = 0usize;
        for rec in records {
            let span = mapper.map(rec);
            if let Err(reason) = validate(&span) {
                encoded.drop_invalid(reason);
                continue;
            }
            let mark = out.len();
            let lead = if in_current == 0 { open } else { sep };
            out.extend_from_slice(lead);
            self.write_span(&span, out);
            let size = (out.len() - start).saturating_add(close.len());
            if size > max_bytes {
                let span_len = out.len() - mark - lead.len();
                if in_current == 0 || span_len.saturating_add(open.len() + close.len()) > max_bytes
                {
                    out.truncate(mark);
                    encoded.drop_invalid(InvalidReason::TooLarge);
                    continue;
                }
                let mut next = Vec::with_capacity(out.capacity());
                next.extend_from_slice(open);
                next.extend_from_slice(out.get(mark + lead.len()..).unwrap_or_default());
                out.truncate(mark);
                out.extend_from_slice(close);
                sealed(std::mem::replace(out, next), in_current);
                start = 0;
                in_current = 0;
            }
            in_current += 1;
            encoded.spans += 1;
        }
        if in_current > 0 {
            out.extend_from_slice(close);
        }
        (encoded, in_current)
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

impl Encoded {
    fn drop_invalid(&mut self, reason: InvalidReason) {
        self.invalid.add(reason, 1);
        self.first_invalid.get_or_insert(reason);
    }
}

/// Logs the spans of one report attempt left out as invalid, at debug level: one line with
/// the counts by reason. Dropped spans are counted by the export pipeline
/// ([`Delivered::invalid`](tracer_api::export::Delivered::invalid), as an invalid drop),
/// which logs drops itself at a bounded rate, so nothing here is logged above debug level;
/// a retried batch logs again.
pub(crate) fn log_invalid(encoded: &Encoded) {
    if encoded.invalid.total() > 0 {
        log::debug!(
            "zipkin: left out {} span(s) Zipkin would reject ({})",
            encoded.invalid.total(),
            encoded.invalid
        );
    }
}
