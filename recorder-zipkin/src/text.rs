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

/// The number of decimal digits of `v` (1 for zero).
pub(crate) fn dec_len(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Puts the two digits of `d` (below 100) at `buf[i..i + 2]`.
#[inline(always)]
fn put2(buf: &mut [u8; 20], i: usize, d: usize) {
    if let (Some(dst), Some(src)) = (buf.get_mut(i..i + 2), DIGITS2.get(d * 2..d * 2 + 2)) {
        dst.copy_from_slice(src);
    }
}

/// Formats an unsigned integer at the start of `buf`, returning the number of digits.
pub(crate) fn fmt_u64_left(mut v: u64, buf: &mut [u8; 20]) -> usize {
    let n = dec_len(v);
    let mut i = n;
    while v >= 10_000 {
        let r = (v % 10_000) as usize;
        v /= 10_000;
        i = i.saturating_sub(4);
        put2(buf, i, r / 100);
        put2(buf, i + 2, r % 100);
    }
    if v >= 100 {
        i = i.saturating_sub(2);
        put2(buf, i, (v % 100) as usize);
        v /= 100;
    }
    if v >= 10 {
        put2(buf, i.saturating_sub(2), v as usize);
    } else if let Some(slot) = buf.get_mut(i.saturating_sub(1)) {
        *slot = b'0' + v as u8;
    }
    n
}

/// Formats an unsigned integer into `buf`, returning the digits.
pub(crate) fn fmt_u64(v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let n = fmt_u64_left(v, buf);
    buf.get(..n).unwrap_or_default()
}

/// Appends the decimal digits of `v`. The digits are copied as one fixed-size block and the
/// vector cut back, which is cheaper than a copy of variable length.
#[inline]
pub(crate) fn push_u64(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let n = fmt_u64_left(v, &mut buf);
    out.extend_from_slice(&buf);
    out.truncate(out.len() - (20 - n));
}

/// Appends `v` in decimal, with a `-` when negative.
#[inline]
pub(crate) fn push_i64(v: i64, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(v.unsigned_abs(), out);
}

/// Formats a signed integer at the start of `buf` (sign and at most 19 digits), returning its
/// length.
pub(crate) fn fmt_i64_left(v: i64, buf: &mut [u8; 20]) -> usize {
    if v < 0 {
        let mut digits = [0u8; 20];
        let n = fmt_u64_left(v.unsigned_abs(), &mut digits);
        buf[0] = b'-';
        if let (Some(dst), Some(src)) = (buf.get_mut(1..n + 1), digits.get(..n)) {
            dst.copy_from_slice(src);
        }
        n + 1
    } else {
        fmt_u64_left(v.unsigned_abs(), buf)
    }
}

/// The bytes of `t` when they can be had without running the `Display` machinery: strings,
/// integers (formatted into `buf`) and booleans. `None` for floats and log fields.
#[inline]
pub(crate) fn simple_bytes<'t>(t: &'t Text<'_>, buf: &'t mut [u8; 20]) -> Option<&'t [u8]> {
    match t {
        Text::Str(s) => Some(s.as_bytes()),
        Text::Value(Value::Str(s)) => Some(s.as_bytes()),
        Text::Value(Value::U64(n)) => {
            let len = fmt_u64_left(*n, buf);
            buf.get(..len)
        }
        Text::Value(Value::I64(n)) => {
            let len = fmt_i64_left(*n, buf);
            buf.get(..len)
        }
        Text::Value(Value::Bool(true)) => Some(b"true"),
        Text::Value(Value::Bool(false)) => Some(b"false"),
        Text::Value(Value::F64(_)) | Text::Fields(_) => None,
    }
}

/// Lower-cases the ASCII letters among eight bytes that are all ASCII.
#[inline(always)]
pub(crate) fn lower8(v: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    // Top bit of each byte: set from `A` up, and from past `Z` up; no byte carries into the
    // next as every byte is below 0x80.
    let from_a = v + LO * (0x80 - u64::from(b'A'));
    let past_z = v + LO * (0x80 - u64::from(b'Z') - 1);
    let upper = (from_a ^ past_z) & (LO * 0x80);
    v | (upper >> 2)
}

/// Appends `bytes`, which must be ASCII, lower-cased: eight at a time, each block copied with
/// a fixed size.
#[inline]
pub(crate) fn push_ascii_lower(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 8);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        if let Ok(a) = <[u8; 8]>::try_from(c) {
            out.extend_from_slice(&lower8(u64::from_le_bytes(a)).to_le_bytes());
        }
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        let mut a = [0u8; 8];
        for (d, s) in a.iter_mut().zip(rem) {
            *d = *s;
        }
        out.extend_from_slice(&lower8(u64::from_le_bytes(a)).to_le_bytes());
        out.truncate(out.len() - (8 - rem.len()));
    }
}

/// Appends an IPv4 address in dotted form (one fixed-size copy, then cut back).
pub(crate) fn push_ipv4(ip: std::net::Ipv4Addr, out: &mut Vec<u8>) {
    // Each octet is written after a dot; the first dot is dropped when copying.
    let mut buf = [0u8; 16];
    let mut n = 0;
    let mut put = |n: &mut usize, b: u8| {
        if let Some(slot) = buf.get_mut(*n) {
            *slot = b;
        }
        *n += 1;
    };
    for o in ip.octets() {
        put(&mut n, b'.');
        if o >= 100 {
            put(&mut n, b'0' + o / 100);
        }
        if o >= 10 {
            put(&mut n, b'0' + (o / 10) % 10);
        }
        put(&mut n, b'0' + o % 10);
    }
    let [_, rest @ ..] = buf;
    out.extend_from_slice(&rest);
    out.truncate(out.len() - (16 - n));
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

/// Writes `s` lower-cased (Unicode full lower-case mapping per character, as
/// [`char::to_lowercase`] does, so one character may become several), as Zipkin does for span
/// and service names.
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
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.23.14.72",
            "192.168.99.101",
            "1.20.100.9",
        ] {
            let mut out = b"x".to_vec();
            push_ipv4(ip.parse().unwrap(), &mut out);
            assert_eq!(out, format!("x{ip}").as_bytes());
        }
        let mut edges = vec![0u64, u64::MAX, i64::MAX as u64, i64::MIN as u64];
        for p in 0..20 {
            let t = 10u64.pow(p);
            edges.extend([t - 1, t, t + 1, t.wrapping_mul(7) / 3]);
        }
        for v in edges {
            let mut out = b"ab".to_vec();
            push_u64(v, &mut out);
            assert_eq!(out, format!("ab{v}").as_bytes());
            let s = v as i64;
            let mut out = Vec::new();
            push_i64(s, &mut out);
            assert_eq!(out, s.to_string().as_bytes());
            let mut b = [0u8; 20];
            let n = fmt_i64_left(s, &mut b);
            assert_eq!(&b[..n], s.to_string().as_bytes());
            let mut b = [0u8; 21];
            assert_eq!(fmt_i64(s, &mut b), s.to_string().as_bytes());
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
    fn ascii_lower_blocks() {
        let all: Vec<u8> = (0..0x80u8).collect();
        for len in 0..all.len() {
            let mut out = b"Z".to_vec();
            push_ascii_lower(&all[..len], &mut out);
            let mut expect = b"Z".to_vec();
            expect.extend(all[..len].iter().map(u8::to_ascii_lowercase));
            assert_eq!(out, expect, "len {len}");
        }
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
