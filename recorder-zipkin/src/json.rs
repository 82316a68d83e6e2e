//! Zipkin v2 JSON, byte for byte as Zipkin's own writer emits it.
//!
//! Field order `traceId, parentId, id, kind, name, timestamp, duration, localEndpoint,
//! remoteEndpoint, annotations, tags, debug, shared`; endpoint order `serviceName, ipv4, ipv6,
//! port`; absent or empty fields omitted; `debug` and `shared` written only when true; ids
//! lower-case hex, zero-padded to 16 or 32 digits; names and service names lower-cased.
//! Strings are escaped as Zipkin escapes them: `"`, `\`, `\t`, `\b`, `\n`, `\r`, `\f` with a
//! backslash, other control characters as `\u00XX` (lower-case hex), and U+2028 and U+2029 as
//! `\u2028` and `\u2029`; everything else is written as UTF-8.
//!
//! Every function appends to a caller's `Vec<u8>`, so one buffer can be reused across
//! batches; nothing is allocated per field.
//!
//! ```
//! use recorder_zipkin::json;
//! use recorder_zipkin::model::Span;
//!
//! let span = Span { trace_id: 0x7180c278b62e8f6a216a2aea45d08fc9, id: 0x5b4185666d50f68b, ..Span::default() };
//! let mut out = Vec::new();
//! json::write_list([&span], &mut out);
//! assert_eq!(out, br#"[{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","id":"5b4185666d50f68b"}]"#);
//! ```

use std::io::Write as _;

use tracer_api::Value;

use crate::model::{Endpoint, Span, Text};
use crate::text::{self, push_i64, push_u64, Sink};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What each byte needs: 0 nothing, 1 `\u00XX`, 2 a check for U+2028/U+2029 (0xE2 starts
/// them), or the letter after the backslash.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = 1;
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0x0c] = b'f';
    t[0xE2] = 2;
    t
};

/// True when some byte of `bytes` may need escaping: a control character, `"`, `\`, or 0xE2
/// (the first byte of U+2028 and U+2029). Eight bytes at a time.
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    #[inline(always)]
    fn has_zero(x: u64) -> bool {
        x.wrapping_sub(LO) & !x & HI != 0
    }
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let Ok(a) = <[u8; 8]>::try_from(c) else {
            return true;
        };
        let v = u64::from_le_bytes(a);
        let below_space = v.wrapping_sub(LO * 0x20) & !v & HI != 0;
        if below_space
            | has_zero(v ^ (LO * u64::from(b'"')))
            | has_zero(v ^ (LO * u64::from(b'\\')))
            | has_zero(v ^ (LO * 0xE2))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| ESCAPE[usize::from(b)] != 0)
}

/// Appends `s` escaped (without the surrounding quotes).
#[inline]
pub fn write_escaped(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    if needs_escape(bytes) {
        write_escaped_slow(bytes, out);
    } else {
        out.extend_from_slice(bytes);
    }
}

/// Appends `s` lower-cased (see [`text::write_lower`]) and escaped.
#[inline]
fn write_lower_escaped(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    if bytes.is_ascii() && !needs_escape(bytes) {
        // Lower-casing ASCII never makes or removes a byte that needs escaping.
        text::push_ascii_lower(bytes, out);
    } else {
        text::write_lower(s, &mut JsonSink(out));
    }
}

#[cold]
fn write_escaped_slow(bytes: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    let mut i = 0;
    while let Some(off) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| ESCAPE[usize::from(b)] != 0))
    {
        i += off;
        let b = bytes.get(i).copied().unwrap_or(0);
        let e = ESCAPE[usize::from(b)];
        match e {
            1 => {
                out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
                i += 1;
                start = i;
            }
            2 => {
                let next = (bytes.get(i + 1).copied(), bytes.get(i + 2).copied());
                match next {
                    (Some(0x80), Some(c @ (0xA8 | 0xA9))) => {
                        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
                        out.extend_from_slice(if c == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                        i += 3;
                        start = i;
                    }
                    _ => i += 1,
                }
            }
            _ => {
                out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
                out.push(b'\\');
                out.push(e);
                i += 1;
                start = i;
            }
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

struct JsonSink<'o>(&'o mut Vec<u8>);

impl Sink for JsonSink<'_> {
    fn put(&mut self, s: &str) {
        write_escaped(s, self.0);
    }

    fn put_plain(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

/// The 8 lower-case hex digits of `x`, without a table: each nibble is spread to its own
/// byte, then turned into `0`-`9` or `a`-`f`.
#[inline(always)]
fn hex8(x: u32) -> [u8; 8] {
    let mut v = u64::from(x);
    v = ((v & 0xFFFF_0000) << 16) | (v & 0xFFFF);
    v = ((v & 0x0000_FF00_0000_FF00) << 8) | (v & 0x0000_00FF_0000_00FF);
    v = ((v & 0x00F0_00F0_00F0_00F0) << 4) | (v & 0x000F_000F_000F_000F);
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    v += 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10);
    v.to_be_bytes()
}

/// Appends the 16 lower-case hex digits of `v`.
#[inline(always)]
fn write_hex16(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 16];
    let (hi, lo) = buf.split_at_mut(8);
    hi.copy_from_slice(&hex8((v >> 32) as u32));
    lo.copy_from_slice(&hex8(v as u32));
    out.extend_from_slice(&buf);
}

fn write_text_field(t: &Text<'_>, out: &mut Vec<u8>) {
    out.push(b'"');
    match t {
        Text::Str(s) => write_escaped(s, out),
        Text::Value(Value::Str(s)) => write_escaped(s, out),
        Text::Value(Value::U64(n)) => push_u64(*n, out),
        Text::Value(Value::I64(n)) => push_i64(*n, out),
        Text::Value(Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Text::Value(Value::F64(_)) | Text::Fields(_) => text::write_text(t, &mut JsonSink(out)),
    }
    out.push(b'"');
}

/// Appends one endpoint object (`{}` when empty; callers omit empty endpoints).
pub fn write_endpoint(e: &Endpoint<'_>, out: &mut Vec<u8>) {
    let mut sep = b'{';
    if !e.service_name.is_empty() {
        out.push(sep);
        out.extend_from_slice(b"\"serviceName\":\"");
        write_lower_escaped(e.service_name, out);
        out.push(b'"');
        sep = b',';
    }
    if let Some(ip) = e.ipv4 {
        out.push(sep);
        out.extend_from_slice(b"\"ipv4\":\"");
        text::push_ipv4(ip, out);
        out.push(b'"');
        sep = b',';
    }
    if let Some(ip) = e.ipv6 {
        out.push(sep);
        out.extend_from_slice(b"\"ipv6\":\"");
        let _ = write!(out, "{ip}");
        out.push(b'"');
        sep = b',';
    }
    if e.port != 0 {
        out.push(sep);
        out.extend_from_slice(b"\"port\":");
        push_u64(u64::from(e.port), out);
        sep = b',';
    }
    if sep == b'{' {
        out.push(b'{');
    }
    out.push(b'}');
}

/// Appends one span object.
pub fn write_span(span: &Span<'_>, out: &mut Vec<u8>) {
    out.reserve(256);
    out.extend_from_slice(b"{\"traceId\":\"");
    if span.is_128bit() {
        write_hex16((span.trace_id >> 64) as u64, out);
    }
    write_hex16(span.trace_id as u64, out);
    if span.parent_id != 0 {
        out.extend_from_slice(b"\",\"parentId\":\"");
        write_hex16(span.parent_id, out);
    }
    out.extend_from_slice(b"\",\"id\":\"");
    write_hex16(span.id, out);
    out.push(b'"');
    if let Some(kind) = span.kind {
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(kind.as_str().as_bytes());
        out.push(b'"');
    }
    if !span.name.is_empty() {
        out.extend_from_slice(b",\"name\":\"");
        write_lower_escaped(span.name, out);
        out.push(b'"');
    }
    if span.timestamp != 0 {
        out.extend_from_slice(b",\"timestamp\":");
        push_i64(span.timestamp, out);
    }
    if span.duration != 0 {
        out.extend_from_slice(b",\"duration\":");
        push_i64(span.duration, out);
    }
    if !span.local_endpoint.is_empty() {
        out.extend_from_slice(b",\"localEndpoint\":");
        write_endpoint(&span.local_endpoint, out);
    }
    if !span.remote_endpoint.is_empty() {
        out.extend_from_slice(b",\"remoteEndpoint\":");
        write_endpoint(&span.remote_endpoint, out);
    }
    if !span.annotations.is_empty() {
        out.extend_from_slice(b",\"annotations\":[");
        for (i, a) in span.annotations.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"timestamp\":");
            push_i64(a.timestamp, out);
            out.extend_from_slice(b",\"value\":");
            write_text_field(&a.value, out);
            out.push(b'}');
        }
        out.push(b']');
    }
    if !span.tags.is_empty() {
        out.extend_from_slice(b",\"tags\":{");
        for (i, t) in span.tags.iter().enumerate() {
            let open: &[u8] = if i > 0 { b",\"" } else { b"\"" };
            out.extend_from_slice(open);
            write_escaped(t.key, out);
            out.extend_from_slice(b"\":");
            write_text_field(&t.value, out);
        }
        out.push(b'}');
    }
    if span.debug {
        out.extend_from_slice(b",\"debug\":true");
    }
    if span.shared {
        out.extend_from_slice(b",\"shared\":true");
    }
    out.push(b'}');
}

/// Appends a JSON list of spans (`[...]`), what `POST /api/v2/spans` and the Kafka collector
/// take.
pub fn write_list<'s, 'a: 's>(spans: impl IntoIterator<Item = &'s Span<'a>>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, s) in spans.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_span(s, out);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = Vec::new();
        write_escaped(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaping_matches_zipkin() {
        assert_eq!(esc("plain é ü 日本"), "plain é ü 日本");
        assert_eq!(esc("\"\\\t\u{8}\n\r\u{c}"), r#"\"\\\t\b\n\r\f"#);
        assert_eq!(esc("\u{0}\u{1f}\u{7f}"), "\\u0000\\u001f\u{7f}");
        assert_eq!(
            esc("a\u{2028}b\u{2029}c\u{2027}"),
            "a\\u2028b\\u2029c\u{2027}"
        );
        assert_eq!(esc("/"), "/");
    }

    #[test]
    fn hex_matches_format() {
        for v in [
            0u64,
            1,
            0xa,
            0xf0,
            u64::MAX,
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
        ] {
            let mut out = Vec::new();
            write_hex16(v, &mut out);
            assert_eq!(out, format!("{v:016x}").as_bytes());
        }
    }

    #[test]
    fn escape_scan_agrees_with_table() {
        for b in 0..=255u8 {
            for len in [1usize, 7, 8, 9, 16, 23] {
                for pos in 0..len {
                    let mut s = vec![b'a'; len];
                    s[pos] = b;
                    assert_eq!(
                        needs_escape(&s),
                        ESCAPE[usize::from(b)] != 0,
                        "byte {b:#x} at {pos} of {len}"
                    );
                }
            }
        }
        assert!(!needs_escape(b""));
        assert_eq!(esc("0123456789abcdef\n\u{7}"), "0123456789abcdef\\n\\u0007");
    }

    #[test]
    fn lower_escaped() {
        let mut out = Vec::new();
        write_lower_escaped("GET /Users", &mut out);
        write_lower_escaped("A\"B", &mut out);
        write_lower_escaped("ÉCOLE\u{2028}", &mut out);
        assert_eq!(out, "get /usersa\\\"bécole\\u2028".as_bytes());
    }

    #[test]
    fn empty_endpoint_is_braces() {
        let mut out = Vec::new();
        write_endpoint(&Endpoint::default(), &mut out);
        assert_eq!(out, b"{}");
    }
}
