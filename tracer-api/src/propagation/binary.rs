//! The binary form of a span context: basictracer-go's `TracerState`, extended compatibly.
//!
//! # Layout
//!
//! A 4-byte big-endian length `N`, then `N` bytes of a protocol buffers (proto3) message:
//!
//! ```proto
//! message TracerState {
//!   fixed64 trace_id = 1;                    // low 64 bits of the trace id
//!   fixed64 span_id = 2;
//!   bool    sampled = 3;                     // true for sampled and debug contexts
//!   map<string, string> baggage_items = 4;
//!   // Extensions; basictracer-go readers skip them as unknown fields.
//!   fixed64 trace_id_high = 5;               // high 64 bits, only for 128-bit trace ids
//!   bool    debug = 6;                       // only when set
//!   fixed64 parent_span_id = 7;              // only when the context has a parent
//! }
//! ```
//!
//! Fields are written in field-number order; as proto3 does, `sampled` and `debug` are
//! omitted when false, and baggage items are written sorted by key, each map entry as a
//! nested message (key = field 1, value = field 2). A Go basictracer reads what this writes
//! (it sees the low 64 bits of a 128-bit trace id), and this reads what Go writes.
//!
//! # Worked example
//!
//! Trace id `7b` (64-bit), span id `1c8`, sampled, baggage `k=v` — exactly what basictracer-go
//! writes for the same context:
//!
//! ```text
//! 00 00 00 1c                  length: 28 bytes follow
//! 09 7b 00 00 00 00 00 00 00   field 1 (trace_id), fixed64 little-endian: 0x7b
//! 11 c8 01 00 00 00 00 00 00   field 2 (span_id), fixed64: 0x1c8
//! 18 01                        field 3 (sampled), varint: true
//! 22 06                        field 4 (baggage_items), a 6-byte map entry:
//!       0a 01 6b               entry field 1 (key): "k"
//!       12 01 76               entry field 2 (value): "v"
//! ```
//!
//! The same trace with a 128-bit id (high half `1`), parent `3`, debug and no baggage adds
//! `29 01 00 00 00 00 00 00 00` (field 5), `30 01` (field 6) and `39 03 00 00 00 00 00 00 00`
//! (field 7) after `18 01`, for a length of 40 (`00 00 00 28`).
//!
//! # Decoding
//!
//! Empty input gives [`ExtractError::NotFound`]. Everything malformed gives
//! [`ExtractError::Corrupted`] (format `binary`): a length prefix shorter than 4 bytes, a
//! length past the end of the input or over [`MAX_MESSAGE_LEN`], a varint that is truncated or
//! overflows 64 bits, field number 0, wire types 3, 4 (groups), 6 and 7, a known field with the
//! wrong wire type, a truncated field, a zero or missing trace or span id, baggage that is not
//! UTF-8 or exceeds the [baggage bounds](super::baggage). Unknown fields are skipped; a
//! repeated field keeps its last value (protobuf's rule); bytes after the message are not read
//! (basictracer reads the message from a stream). A zero `parent_span_id` means no parent.
//! The decoder never panics and allocates only for the baggage it keeps.
//!
//! # Example
//!
//! ```
//! use tracer_api::propagation::binary;
//! use tracer_api::{Sampling, SpanContext, SpanId, TraceId};
//!
//! let cx = SpanContext::new(
//!     TraceId::from_parts(0, 0x7b).ok_or("zero id")?,
//!     SpanId::from_u64(0x1c8).ok_or("zero id")?,
//!     Sampling::Accept,
//! );
//! let bytes = binary::encode(&cx);
//! assert_eq!(&bytes[..4], &[0, 0, 0, 20]);
//! assert_eq!(binary::decode(&bytes)?, cx.with_remote(true));
//! assert!(binary::decode(&[]).is_err_and(|e| e.is_not_found()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;

use super::baggage::check_bounds;
use super::ExtractError;
use crate::context::{Baggage, Sampling, SpanContext};
use crate::id::{SpanId, TraceId};

/// The largest message (after the length prefix) the decoder accepts, in bytes.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

const FORMAT: &str = "binary";

const WIRE_VARINT: u64 = 0;
const WIRE_FIXED64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_FIXED32: u64 = 5;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> u64 {
    let bits = 64 - u64::from(v.leading_zeros()).min(63);
    bits.div_ceil(7)
}

fn put_tag(out: &mut Vec<u8>, field: u64, wire: u64) {
    put_varint(out, (field << 3) | wire);
}

fn put_fixed64(out: &mut Vec<u8>, field: u64, v: u64) {
    put_tag(out, field, WIRE_FIXED64);
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_tag(out, field, WIRE_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Encodes `context` (see the [module docs](self) for the layout).
pub fn encode(context: &SpanContext) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 9 + 9 + 2 + 9 + 2 + 9);
    out.extend_from_slice(&[0; 4]);
    put_fixed64(&mut out, 1, context.trace_id().low());
    put_fixed64(&mut out, 2, context.span_id().to_u64());
    if context.is_sampled() {
        put_tag(&mut out, 3, WIRE_VARINT);
        out.push(1);
    }
    for (k, v) in context.baggage().iter() {
        let (k_len, v_len) = (k.len() as u64, v.len() as u64);
        let entry_len = 1 + varint_len(k_len) + k_len + 1 + varint_len(v_len) + v_len;
        put_tag(&mut out, 4, WIRE_LEN);
        put_varint(&mut out, entry_len);
        put_bytes(&mut out, 1, k.as_bytes());
        put_bytes(&mut out, 2, v.as_bytes());
    }
    let high = context.trace_id().high();
    if high != 0 {
        put_fixed64(&mut out, 5, high);
    }
    if context.is_debug() {
        put_tag(&mut out, 6, WIRE_VARINT);
        out.push(1);
    }
    if let Some(parent) = context.parent_id() {
        put_fixed64(&mut out, 7, parent.to_u64());
    }
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    if let Some(prefix) = out.get_mut(..4) {
        prefix.copy_from_slice(&len.to_be_bytes());
    }
    out
}

fn corrupted(reason: impl Into<Cow<'static, str>>) -> ExtractError {
    ExtractError::corrupted(FORMAT, reason)
}

/// A cursor over a protobuf message.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn varint(&mut self) -> Result<u64, ExtractError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some((&b, rest)) = self.buf.split_first() else {
                return Err(corrupted("truncated varint"));
            };
            self.buf = rest;
            if i == 9 && b > 1 {
                return Err(corrupted("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupted("varint overflows 64 bits"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ExtractError> {
        if n > self.buf.len() {
            return Err(corrupted("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn fixed64(&mut self) -> Result<u64, ExtractError> {
        let bytes = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(a))
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], ExtractError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| corrupted("truncated field"))?;
        self.take(n)
    }

    fn skip(&mut self, wire: u64) -> Result<(), ExtractError> {
        match wire {
            WIRE_VARINT => self.varint().map(drop),
            WIRE_FIXED64 => self.take(8).map(drop),
            WIRE_LEN => self.len_delimited().map(drop),
            WIRE_FIXED32 => self.take(4).map(drop),
            3 | 4 => Err(corrupted("groups (wire types 3 and 4) are not supported")),
            w => Err(corrupted(format!("invalid wire type {w}"))),
        }
    }

    /// Reads a tag; returns (field number, wire type).
    fn tag(&mut self) -> Result<(u64, u64), ExtractError> {
        let tag = self.varint()?;
        let field = tag >> 3;
        if field == 0 {
            return Err(corrupted("field number 0"));
        }
        Ok((field, tag & 7))
    }
}

fn wrong_wire_type(field: u64, wire: u64) -> ExtractError {
    corrupted(format!("field {field} has the wrong wire type {wire}"))
}

fn utf8<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a str, ExtractError> {
    std::str::from_utf8(bytes).map_err(|_| corrupted(format!("baggage {what} is not UTF-8")))
}

/// Reads one `baggage_items` map entry.
fn map_entry(entry: &[u8]) -> Result<(&str, &str), ExtractError> {
    let mut r = Reader { buf: entry };
    let (mut key, mut value) = ("", "");
    while !r.is_empty() {
        match r.tag()? {
            (1, WIRE_LEN) => key = utf8(r.len_delimited()?, "key")?,
            (2, WIRE_LEN) => value = utf8(r.len_delimited()?, "value")?,
            (f @ (1 | 2), w) => return Err(wrong_wire_type(f, w)),
            (_, w) => r.skip(w)?,
        }
    }
    Ok((key, value))
}

/// Decodes a context (see the [module docs](self) for what is accepted). The context is
/// marked remote.
pub fn decode(bytes: &[u8]) -> Result<SpanContext, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::NotFound);
    }
    let Some((prefix, rest)) = bytes.split_first_chunk::<4>() else {
        return Err(corrupted("length prefix is shorter than 4 bytes"));
    };
    let len = u32::from_be_bytes(*prefix) as usize;
    if len > MAX_MESSAGE_LEN {
        return Err(corrupted(format!(
            "message length {len} is over the {MAX_MESSAGE_LEN}-byte limit"
        )));
    }
    let Some(message) = rest.get(..len) else {
        return Err(corrupted(format!(
            "length prefix says {len} bytes but {} follow",
            rest.len()
        )));
    };

    let mut r = Reader { buf: message };
    let (mut low, mut high, mut span, mut parent) = (0u64, 0u64, 0u64, 0u64);
    let (mut sampled, mut debug) = (false, false);
    let mut items: Vec<(&str, &str)> = Vec::new();
    let mut item_bytes = 0usize;
    while !r.is_empty() {
        match r.tag()? {
            (1, WIRE_FIXED64) => low = r.fixed64()?,
            (2, WIRE_FIXED64) => span = r.fixed64()?,
            (3, WIRE_VARINT) => sampled = r.varint()? != 0,
            (4, WIRE_LEN) => {
                let (k, v) = map_entry(r.len_delimited()?)?;
                item_bytes = item_bytes.saturating_add(k.len() + v.len());
                check_bounds(FORMAT, items.len() + 1, item_bytes)?;
                items.push((k, v));
            }
            (5, WIRE_FIXED64) => high = r.fixed64()?,
            (6, WIRE_VARINT) => debug = r.varint()? != 0,
            (7, WIRE_FIXED64) => parent = r.fixed64()?,
            (f @ 1..=7, w) => return Err(wrong_wire_type(f, w)),
            (_, w) => r.skip(w)?,
        }
    }

    let trace_id =
        TraceId::from_parts(high, low).ok_or_else(|| corrupted("trace id is zero or missing"))?;
    let span_id = SpanId::from_u64(span).ok_or_else(|| corrupted("span id is zero or missing"))?;
    let sampling = if debug {
        Sampling::Debug
    } else {
        Sampling::from_sampled(sampled)
    };
    let mut baggage = Baggage::new();
    for (k, v) in items {
        baggage.set(k, v);
    }
    Ok(SpanContext::new(trace_id, span_id, sampling)
        .with_parent_id(SpanId::from_u64(parent))
        .with_baggage(baggage)
        .with_remote(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(high: u64, low: u64, span: u64, sampling: Sampling) -> SpanContext {
        SpanContext::new(
            TraceId::from_parts(high, low).unwrap(),
            SpanId::from_u64(span).unwrap(),
            sampling,
        )
    }

    /// The worked example of the module docs, byte for byte.
    #[test]
    fn worked_example_bytes() {
        let c = cx(0, 0x7b, 0x1c8, Sampling::Accept).with_baggage(Baggage::from_iter([("k", "v")]));
        let want: &[u8] = &[
            0x00, 0x00, 0x00, 0x1c, //
            0x09, 0x7b, 0, 0, 0, 0, 0, 0, 0, //
            0x11, 0xc8, 0x01, 0, 0, 0, 0, 0, 0, //
            0x18, 0x01, //
            0x22, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v',
        ];
        assert_eq!(encode(&c), want);
        assert_eq!(decode(want).unwrap(), c.with_remote(true));
    }

    #[test]
    fn extended_example_bytes() {
        let c = cx(1, 0x7b, 0x1c8, Sampling::Debug).with_parent_id(SpanId::from_u64(3));
        let want: &[u8] = &[
            0x00, 0x00, 0x00, 0x28, //
            0x09, 0x7b, 0, 0, 0, 0, 0, 0, 0, //
            0x11, 0xc8, 0x01, 0, 0, 0, 0, 0, 0, //
            0x18, 0x01, //
            0x29, 0x01, 0, 0, 0, 0, 0, 0, 0, //
            0x30, 0x01, //
            0x39, 0x03, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(encode(&c), want);
        assert_eq!(decode(want).unwrap(), c.with_remote(true));
    }

    #[test]
    fn unsampled_omits_sampled_and_long_baggage_uses_multibyte_lengths() {
        let value = "x".repeat(200);
        let c = cx(0, 1, 2, Sampling::Deny).with_baggage(Baggage::from_iter([("key", &*value)]));
        let bytes = encode(&c);
        // 4 + 9 + 9 + (1 + 2 + (2 + 3) + (1 + 2 + 200))
        assert_eq!(bytes.len(), 4 + 18 + 211);
        assert_eq!(&bytes[22..25], &[0x22, 0xd0, 0x01]); // entry length 208
        assert_eq!(decode(&bytes).unwrap(), c.with_remote(true));
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn unknown_fields_are_skipped_and_last_value_wins() {
        let mut msg = vec![0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0x11, 2, 0, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&[0x40, 0x96, 0x01]); // field 8 varint
        msg.extend_from_slice(&[0x4d, 1, 2, 3, 4]); // field 9 fixed32
        msg.extend_from_slice(&[0x52, 0x02, 0xff, 0xff]); // field 10 bytes
        msg.extend_from_slice(&[0x51, 1, 2, 3, 4, 5, 6, 7, 8]); // field 10 fixed64
        msg.extend_from_slice(&[0x11, 5, 0, 0, 0, 0, 0, 0, 0]); // span id again
        msg.extend_from_slice(&[0x18, 0x02]); // bool as 2: true
        let mut bytes = (msg.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&msg);
        bytes.extend_from_slice(b"trailing");
        let c = decode(&bytes).unwrap();
        assert_eq!(c.span_id().to_u64(), 5);
        assert_eq!(c.sampling(), Sampling::Accept);
    }

    #[test]
    fn malformed_inputs_are_corrupted() {
        let good =
            encode(&cx(0, 1, 2, Sampling::Accept).with_baggage(Baggage::from_iter([("a", "b")])));
        let with_msg = |msg: &[u8]| {
            let mut b = (msg.len() as u32).to_be_bytes().to_vec();
            b.extend_from_slice(msg);
            b
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("short prefix", vec![0, 0, 1]),
            ("length past end", good[..good.len() - 1].to_vec()),
            ("over limit", vec![0, 1, 0, 1]),
            ("empty message", with_msg(&[])),
            (
                "zero trace",
                with_msg(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 1, 0, 0, 0, 0, 0, 0, 0]),
            ),
            ("missing span", with_msg(&[0x09, 1, 0, 0, 0, 0, 0, 0, 0])),
            ("truncated fixed64", with_msg(&[0x09, 1, 0, 0])),
            ("truncated varint", with_msg(&[0x18, 0x80])),
            (
                "overflowing varint",
                with_msg(&[
                    0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                ]),
            ),
            ("field zero", with_msg(&[0x00, 0x01])),
            ("group", with_msg(&[0x43])),
            ("wire type 6", with_msg(&[0x46])),
            ("wrong wire type", with_msg(&[0x08, 0x01])),
            ("bad utf-8 key", with_msg(&[0x22, 0x03, 0x0a, 0x01, 0xff])),
            ("bad utf-8 value", with_msg(&[0x22, 0x03, 0x12, 0x01, 0xc3])),
            ("entry length past end", with_msg(&[0x22, 0x09, 0x0a, 0x01])),
            (
                "huge length",
                with_msg(&[0x22, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            ),
        ];
        for (name, bytes) in cases {
            match decode(&bytes) {
                Err(ExtractError::Corrupted { format, .. }) => {
                    assert_eq!(format, "binary", "{name}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
