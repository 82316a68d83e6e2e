//! Zipkin proto3 (`zipkin.proto3.ListOfSpans` of `zipkin.proto`), encoded by hand.
//!
//! Fields are written in field-number order; zero and empty values are left out, as proto3
//! does. Trace ids are 8 bytes (64-bit ids) or 16 bytes (128-bit), span ids 8 bytes,
//! big-endian; `parent_id` is omitted on root spans; `timestamp` and annotation timestamps are
//! `fixed64`; tag map entries always carry both key and value, even when empty. Names and
//! service names are lower-cased, as in the JSON form.
//!
//! A list is a sequence of `0x0a <length> <span>` records, so a list of one span is also what
//! Zipkin's "single span" proto3 encoding produces, and lists concatenate.
//!
//! ```
//! use recorder_zipkin::model::Span;
//! use recorder_zipkin::proto;
//!
//! let span = Span { trace_id: 1, id: 2, ..Span::default() };
//! let mut out = Vec::new();
//! proto::write_list([&span], &mut out);
//! assert_eq!(out, [0x0a, 20, 0x0a, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0x1a, 8, 0, 0, 0, 0, 0, 0, 0, 2]);
//! ```

use std::fmt::Write as _;

use crate::model::{Endpoint, Span, Text};
use crate::text::{self, CountSink, RawSink};

/// Appends `v` as a base-128 varint.
#[inline]
pub fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The number of bytes `v` takes as a varint.
pub const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline(always)]
fn key(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    write_varint(u64::from(field << 3 | u32::from(wire_type)), out);
}

#[inline]
fn bytes_field(field: u32, b: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    write_varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

/// Writes a length-delimited field whose body `f` appends, reserving `reserve` bytes for the
/// length and moving the body when its length needs another number of bytes.
fn nested(field: u32, reserve: usize, out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    key(field, 2, out);
    let at = out.len();
    out.resize(at + reserve, 0);
    f(out);
    let body_start = at + reserve;
    let len = out.len().saturating_sub(body_start);
    let need = varint_len(len as u64);
    if need != reserve {
        let end = out.len();
        if need > reserve {
            out.resize(end + (need - reserve), 0);
        }
        out.copy_within(body_start..end, at + need);
        if need < reserve {
            out.truncate(end - (reserve - need));
        }
    }
    let mut v = len as u64;
    for i in 0..need {
        let mut b = (v & 0x7f) as u8;
        v >>= 7;
        if i + 1 < need {
            b |= 0x80;
        }
        if let Some(slot) = out.get_mut(at + i) {
            *slot = b;
        }
    }
}

/// The size of a length-delimited field with a one-byte key and a `len`-byte body.
#[inline(always)]
const fn bytes_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Writes a message field (one-byte key) holding two length-delimited fields 1 and 2 whose
/// bodies are known, as a map entry or an annotation with a string value.
#[inline]
fn pair_field(field: u32, k: &[u8], v: &[u8], out: &mut Vec<u8>) {
    let len = bytes_field_len(k.len()) + bytes_field_len(v.len());
    key(field, 2, out);
    write_varint(len as u64, out);
    bytes_field(1, k, out);
    bytes_field(2, v, out);
}

fn text_field(field: u32, t: &Text<'_>, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    match text::simple_bytes(t, &mut buf) {
        Some(b) => bytes_field(field, b, out),
        None => nested(field, 1, out, |out| text::write_text(t, &mut RawSink(out))),
    }
}

fn lower_field(field: u32, s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    if bytes.is_ascii() {
        // Lower-casing ASCII keeps the length.
        key(field, 2, out);
        write_varint(bytes.len() as u64, out);
        text::push_ascii_lower(bytes, out);
        return;
    }
    let mut count = CountSink(0);
    text::write_lower(s, &mut count);
    key(field, 2, out);
    write_varint(count.0 as u64, out);
    text::write_lower(s, &mut RawSink(out));
}

fn write_endpoint_body(e: &Endpoint<'_>, out: &mut Vec<u8>) {
    if !e.service_name.is_empty() {
        lower_field(1, e.service_name, out);
    }
    if let Some(ip) = e.ipv4 {
        bytes_field(2, &ip.octets(), out);
    }
    if let Some(ip) = e.ipv6 {
        bytes_field(3, &ip.octets(), out);
    }
    if e.port != 0 {
        key(4, 0, out);
        write_varint(u64::from(e.port), out);
    }
}

/// Appends the body of one `Span` message (without the list's key and length).
pub fn write_span_body(span: &Span<'_>, out: &mut Vec<u8>) {
    if span.is_128bit() {
        bytes_field(1, &span.trace_id.to_be_bytes(), out);
    } else {
        bytes_field(1, &(span.trace_id as u64).to_be_bytes(), out);
    }
    if span.parent_id != 0 {
        bytes_field(2, &span.parent_id.to_be_bytes(), out);
    }
    bytes_field(3, &span.id.to_be_bytes(), out);
    if let Some(kind) = span.kind {
        key(4, 0, out);
        write_varint(kind.proto_value(), out);
    }
    if !span.name.is_empty() {
        lower_field(5, span.name, out);
    }
    if span.timestamp != 0 {
        key(6, 1, out);
        out.extend_from_slice(&(span.timestamp as u64).to_le_bytes());
    }
    if span.duration != 0 {
        key(7, 0, out);
        write_varint(span.duration as u64, out);
    }
    if !span.local_endpoint.is_empty() {
        nested(8, 1, out, |out| {
            write_endpoint_body(&span.local_endpoint, out)
        });
    }
    if !span.remote_endpoint.is_empty() {
        nested(9, 1, out, |out| {
            write_endpoint_body(&span.remote_endpoint, out)
        });
    }
    for a in span.annotations {
        let mut buf = [0u8; 20];
        match text::simple_bytes(&a.value, &mut buf) {
            Some(v) => {
                key(10, 2, out);
                write_varint((9 + bytes_field_len(v.len())) as u64, out);
                key(1, 1, out);
                out.extend_from_slice(&(a.timestamp as u64).to_le_bytes());
                bytes_field(2, v, out);
            }
            None => nested(10, 1, out, |out| {
                key(1, 1, out);
                out.extend_from_slice(&(a.timestamp as u64).to_le_bytes());
                text_field(2, &a.value, out);
            }),
        }
    }
    for t in span.tags {
        let mut buf = [0u8; 20];
        match text::simple_bytes(&t.value, &mut buf) {
            Some(v) => pair_field(11, t.key.as_bytes(), v, out),
            None => nested(11, 1, out, |out| {
                bytes_field(1, t.key.as_bytes(), out);
                text_field(2, &t.value, out);
            }),
        }
    }
    if span.debug {
        out.extend_from_slice(&[12 << 3, 1]);
    }
    if span.shared {
        out.extend_from_slice(&[13 << 3, 1]);
    }
}

/// Appends one span as a `ListOfSpans.spans` entry (`0x0a <length> <span>`): a one-span list.
pub fn write_span(span: &Span<'_>, out: &mut Vec<u8>) {
    nested(1, 2, out, |out| write_span_body(span, out));
}

/// Appends a `ListOfSpans` holding `spans`.
pub fn write_list<'s, 'a: 's>(spans: impl IntoIterator<Item = &'s Span<'a>>, out: &mut Vec<u8>) {
    for s in spans {
        write_span(s, out);
    }
}

/// Formats bytes as lower-case hex pairs separated by spaces, for test failure messages.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        for (v, n) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (16383, 2),
            (16384, 3),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
            let mut out = Vec::new();
            write_varint(v, &mut out);
            assert_eq!(out.len(), n);
        }
    }

    #[test]
    fn nested_moves_body_when_length_needs_other_width() {
        for len in [0usize, 5, 127, 128, 300, 16383, 16384, 70000] {
            for reserve in [1usize, 2] {
                let mut out = vec![0xff];
                nested(1, reserve, &mut out, |o| {
                    o.extend(std::iter::repeat_n(7u8, len))
                });
                let mut expect = vec![0xff, 0x0a];
                write_varint(len as u64, &mut expect);
                expect.extend(std::iter::repeat_n(7u8, len));
                assert_eq!(out, expect, "len {len} reserve {reserve}");
            }
        }
    }
}
