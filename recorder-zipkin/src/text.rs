//! Writing [`Text`] and numbers into a byte sink without allocating.

use std::fmt::{self, Write as _};

use tracer_api::{KeyValue, Value};

use crate::model::Text;

/// Where text goes: the JSON encoder escapes it, the proto3 encoder copies it.
pub(crate) trait Sink {
    fn put(&mut self, s: &str);

    /// Puts ASCII digits, signs and dots: text that never needs escaping.
    fn put_plain(&mut self, b: &[u8]) {
        self.put(std::str::from_utf8(b).unwrap_or_default());
    }
}

const DIGITS2: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Formats an unsigned integer into `buf`, returning the digits.
pub(crate) fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while v >= 100 && i >= 2 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        if let (Some(dst), Some(src)) = (buf.get_mut(i..i + 2), DIGITS2.get(d..d + 2)) {
            dst.copy_from_slice(src);
        }
    }
    if v >= 10 && i >= 2 {
        let d = v as usize * 2;
        i -= 2;
        if let (Some(dst), Some(src)) = (buf.get_mut(i..i + 2), DIGITS2.get(d..d + 2)) {
            dst.copy_from_slice(src);
        }
    } else if i >= 1 {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + v as u8;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// Formats an IPv4 address in dotted form into `buf`, returning the text.
pub(crate) fn fmt_ipv4(ip: std::net::Ipv4Addr, buf: &mut [u8; 15]) -> &[u8] {
    let mut n = 0;
    for (k, octet) in ip.octets().into_iter().enumerate() {
        if k > 0 {
            if let Some(slot) = buf.get_mut(n) {
                *slot = b'.';
            }
            n += 1;
        }
        let mut d = [0u8; 20];
        let s = fmt_u64(u64::from(octet), &mut d);
        if let Some(dst) = buf.get_mut(n..n + s.len()) {
            dst.copy_from_slice(s);
        }
        n += s.len();
    }
    buf.get(..n).unwrap_or_default()
}

/// Formats a signed integer into `buf` (21 bytes: sign and 20 digits), returning the text.
pub(crate) fn fmt_i64(v: i64, buf: &mut [u8; 21]) -> &[u8] {
    let mut digits = [0u8; 20];
    let d = fmt_u64(v.unsigned_abs(), &mut digits);
    let n = d.len();
    let start = if v < 0 { 20 - n } else { 21 - n };
    if v < 0 {
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'-';
        }
    }
    if let Some(dst) = buf.get_mut(21 - n..) {
        dst.copy_from_slice(d);
    }
    buf.get(start..).unwrap_or_default()
}

struct FmtAdapter<'s, S: Sink>(&'s mut S);

impl<S: Sink> fmt::Write for FmtAdapter<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.put(s);
        Ok(())
    }
}

/// Writes a value in its `Display` form.
pub(crate) fn write_value<S: Sink>(v: &Value, sink: &mut S) {
    match v {
        Value::Str(s) => sink.put(s),
        Value::Bool(true) => sink.put("true"),
        Value::Bool(false) => sink.put("false"),
        Value::U64(n) => {
            let mut buf = [0u8; 20];
            sink.put_plain(fmt_u64(*n, &mut buf));
        }
        Value::I64(n) => {
            let mut buf = [0u8; 21];
            sink.put_plain(fmt_i64(*n, &mut buf));
        }
        Value::F64(f) => {
            // Display of a float never fails when the sink does not.
            let _ = write!(FmtAdapter(sink), "{f}");
        }
    }
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty() || s.bytes().any(|b| matches!(b, b' ' | b'=' | b'"'))
}

fn write_fields<S: Sink>(fields: &[KeyValue], sink: &mut S) {
    for (i, kv) in fields.iter().enumerate() {
        if i > 0 {
            sink.put(" ");
        }
        sink.put(&kv.key);
        sink.put("=");
        match &kv.value {
            Value::Str(s) if needs_quotes(s) => {
                sink.put("\"");
                let mut rest: &str = s;
                while let Some(pos) = rest.find(['"', '\\']) {
                    let (head, tail) = rest.split_at(pos);
                    sink.put(head);
                    sink.put("\\");
                    let (c, after) = tail.split_at(1);
                    sink.put(c);
                    rest = after;
                }
                sink.put(rest);
                sink.put("\"");
            }
            v => write_value(v, sink),
        }
    }
}

/// Writes a [`Text`].
pub(crate) fn write_text<S: Sink>(t: &Text<'_>, sink: &mut S) {
    match t {
        Text::Str(s) => sink.put(s),
        Text::Value(v) => write_value(v, sink),
        Text::Fields(f) => write_fields(f, sink),
    }
}

/// Writes `s` lower-cased (Unicode simple lower-case mapping, per character), as Zipkin does
/// for span and service names.
pub(crate) fn write_lower<S: Sink>(s: &str, sink: &mut S) {
    if !s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        sink.put(s);
        return;
    }
    if s.is_ascii() {
        // Lower-cased a block at a time on the stack; ASCII stays valid UTF-8.
        let mut buf = [0u8; 64];
        for chunk in s.as_bytes().chunks(buf.len()) {
            let dst = buf.get_mut(..chunk.len()).unwrap_or_default();
            for (d, c) in dst.iter_mut().zip(chunk) {
                *d = c.to_ascii_lowercase();
            }
            sink.put(std::str::from_utf8(dst).unwrap_or_default());
        }
        return;
    }
    let mut buf = [0u8; 4];
    for c in s.chars() {
        for l in c.to_lowercase() {
            sink.put(l.encode_utf8(&mut buf));
        }
    }
}

/// A sink that appends bytes as they are.
pub(crate) struct RawSink<'o>(pub(crate) &'o mut Vec<u8>);

impl Sink for RawSink<'_> {
    fn put(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    fn put_plain(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

/// A sink that only counts bytes.
pub(crate) struct CountSink(pub(crate) usize);

impl Sink for CountSink {
    fn put(&mut self, s: &str) {
        self.0 += s.len();
    }

    fn put_plain(&mut self, b: &[u8]) {
        self.0 += b.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: Text<'_>) -> String {
        let mut out = Vec::new();
        write_text(&t, &mut RawSink(&mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn integers() {
        let mut b = [0u8; 20];
        assert_eq!(fmt_u64(0, &mut b), b"0");
        assert_eq!(fmt_u64(u64::MAX, &mut b), b"18446744073709551615");
        let mut b = [0u8; 21];
        assert_eq!(fmt_i64(i64::MIN, &mut b), b"-9223372036854775808");
        assert_eq!(fmt_i64(-7, &mut b), b"-7");
        assert_eq!(fmt_i64(1472470996199000, &mut b), b"1472470996199000");
        let mut b = [0u8; 20];
        for v in [1u64, 9, 10, 99, 100, 101, 999, 1000, 12345, 9_999_999_999] {
            assert_eq!(fmt_u64(v, &mut b), v.to_string().as_bytes());
        }
        let mut b = [0u8; 15];
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.23.14.72",
            "192.168.99.101",
        ] {
            assert_eq!(fmt_ipv4(ip.parse().unwrap(), &mut b), ip.as_bytes());
        }
    }

    #[test]
    fn values_print_like_display() {
        for v in [
            Value::from(true),
            Value::from(-42i32),
            Value::from(42u8),
            Value::from(1.5f64),
            Value::from(f64::NAN),
            Value::from("x y"),
        ] {
            assert_eq!(render(Text::Value(&v)), v.to_string());
        }
    }

    #[test]
    fn fields_are_logfmt_like() {
        let f = vec![
            KeyValue::new("event", "error"),
            KeyValue::new("message", "no \"such\" file"),
            KeyValue::new("n", 3u32),
            KeyValue::new("e", ""),
            KeyValue::new("p", "a\\b=c"),
        ];
        assert_eq!(
            render(Text::Fields(&f)),
            r#"event=error message="no \"such\" file" n=3 e="" p="a\\b=c""#
        );
    }

    #[test]
    fn lower_case() {
        let mut out = Vec::new();
        write_lower("GET /Home", &mut RawSink(&mut out));
        write_lower(&"A".repeat(70), &mut RawSink(&mut out));
        write_lower("ÉCOLE", &mut RawSink(&mut out));
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, format!("get /home{}école", "a".repeat(70)));
    }
}
