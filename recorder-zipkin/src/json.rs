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

use crate::model::{Endpoint, Span, Text};
use crate::text::{self, fmt_i64, Sink};

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

/// Appends `s` escaped (without the surrounding quotes).
pub fn write_escaped(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
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

fn write_hex(v: u128, digits: usize, out: &mut Vec<u8>) {
    let mut buf = [0u8; 32];
    let n = digits.min(32);
    let mut x = v;
    for slot in buf.iter_mut().take(n).rev() {
        *slot = HEX.get((x & 0xf) as usize).copied().unwrap_or(b'0');
        x >>= 4;
    }
    out.extend_from_slice(buf.get(..n).unwrap_or_default());
}

fn write_i64(v: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 21];
    out.extend_from_slice(fmt_i64(v, &mut buf));
}

fn write_text_field(t: &Text<'_>, out: &mut Vec<u8>) {
    out.push(b'"');
    text::write_text(t, &mut JsonSink(out));
    out.push(b'"');
}

/// Appends one endpoint object (`{}` when empty; callers omit empty endpoints).
pub fn write_endpoint(e: &Endpoint<'_>, out: &mut Vec<u8>) {
    let mut sep = b'{';
    if !e.service_name.is_empty() {
        out.push(sep);
        out.extend_from_slice(b"\"serviceName\":\"");
        text::write_lower(e.service_name, &mut JsonSink(out));
        out.push(b'"');
        sep = b',';
    }
    if let Some(ip) = e.ipv4 {
        out.push(sep);
        out.extend_from_slice(b"\"ipv4\":\"");
        let mut buf = [0u8; 15];
        out.extend_from_slice(text::fmt_ipv4(ip, &mut buf));
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
        write_i64(i64::from(e.port), out);
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
    write_hex(span.trace_id, if span.is_128bit() { 32 } else { 16 }, out);
    if span.parent_id != 0 {
        out.extend_from_slice(b"\",\"parentId\":\"");
        write_hex(u128::from(span.parent_id), 16, out);
    }
    out.extend_from_slice(b"\",\"id\":\"");
    write_hex(u128::from(span.id), 16, out);
    out.push(b'"');
    if let Some(kind) = span.kind {
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(kind.as_str().as_bytes());
        out.push(b'"');
    }
    if !span.name.is_empty() {
        out.extend_from_slice(b",\"name\":\"");
        text::write_lower(span.name, &mut JsonSink(out));
        out.push(b'"');
    }
    if span.timestamp != 0 {
        out.extend_from_slice(b",\"timestamp\":");
        write_i64(span.timestamp, out);
    }
    if span.duration != 0 {
        out.extend_from_slice(b",\"duration\":");
        write_i64(span.duration, out);
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
            write_i64(a.timestamp, out);
            out.extend_from_slice(b",\"value\":");
            write_text_field(&a.value, out);
            out.push(b'}');
        }
        out.push(b']');
    }
    if !span.tags.is_empty() {
        out.extend_from_slice(b",\"tags\":{");
        for (i, t) in span.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
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
    fn empty_endpoint_is_braces() {
        let mut out = Vec::new();
        write_endpoint(&Endpoint::default(), &mut out);
        assert_eq!(out, b"{}");
    }
}
