//! The JSON-lines encoder: one object per span, fields in a fixed order (the schema is in the
//! crate docs). Hand-written: the output is small and fixed, and it keeps the crate free of a
//! serialisation framework.

use std::fmt::Write as _;

use tracer_api::{Endpoint, KeyValue, Sampling, SpanRecord, Value};

use crate::time::{duration_micros, epoch_micros, push_rfc3339};

/// Appends one span as a JSON object followed by `\n`.
pub(crate) fn push_span(out: &mut String, span: &SpanRecord) {
    let mut trace_buf = [0u8; 32];
    let mut span_buf = [0u8; 16];

    out.push_str("{\"trace_id\":\"");
    out.push_str(span.trace_id.encode_hex(&mut trace_buf));
    out.push_str("\",\"span_id\":\"");
    out.push_str(span.span_id.encode_hex(&mut span_buf));
    out.push_str("\",\"parent_id\":");
    match span.parent_id {
        Some(parent) => {
            out.push('"');
            out.push_str(parent.encode_hex(&mut span_buf));
            out.push('"');
        }
        None => out.push_str("null"),
    }

    out.push_str(",\"references\":[");
    for (i, reference) in span.references.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"kind\":\"");
        out.push_str(reference.kind.as_str());
        out.push_str("\",\"trace_id\":\"");
        out.push_str(reference.trace_id.encode_hex(&mut trace_buf));
        out.push_str("\",\"span_id\":\"");
        out.push_str(reference.span_id.encode_hex(&mut span_buf));
        out.push_str("\"}");
    }

    out.push_str("],\"operation\":");
    push_str(out, &span.operation);
    let start = epoch_micros(span.start);
    out.push_str(",\"start\":\"");
    push_rfc3339(out, start);
    out.push_str("\",\"start_us\":");
    push_i64(out, start);
    out.push_str(",\"duration_us\":");
    push_u64(out, duration_micros(span.duration));

    out.push_str(",\"tags\":");
    push_fields(out, &span.tags);

    out.push_str(",\"logs\":[");
    for (i, log) in span.logs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let at = epoch_micros(log.timestamp);
        out.push_str("{\"timestamp\":\"");
        push_rfc3339(out, at);
        out.push_str("\",\"timestamp_us\":");
        push_i64(out, at);
        out.push_str(",\"fields\":");
        push_fields(out, &log.fields);
        out.push('}');
    }

    out.push_str("],\"baggage\":{");
    for (i, (key, value)) in span.baggage.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, key);
        out.push(':');
        push_str(out, value);
    }

    out.push_str("},\"sampled\":");
    out.push_str(bool_str(span.sampling.is_sampled()));
    out.push_str(",\"debug\":");
    out.push_str(bool_str(span.sampling == Sampling::Debug));
    out.push_str(",\"shared\":");
    out.push_str(bool_str(span.shared));

    out.push_str(",\"service\":");
    push_str(out, &span.process.service_name);
    out.push_str(",\"endpoint\":");
    push_endpoint(out, &span.process.endpoint);
    out.push_str(",\"process_tags\":");
    push_fields(out, &span.process.tags);
    out.push_str("}\n");
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn push_endpoint(out: &mut String, endpoint: &Endpoint) {
    let _ = match endpoint.ipv4 {
        Some(ip) => write!(out, "{{\"ipv4\":\"{ip}\""),
        None => write!(out, "{{\"ipv4\":null"),
    };
    let _ = match endpoint.ipv6 {
        Some(ip) => write!(out, ",\"ipv6\":\"{ip}\""),
        None => write!(out, ",\"ipv6\":null"),
    };
    let _ = match endpoint.port {
        Some(port) => write!(out, ",\"port\":{port}}}"),
        None => write!(out, ",\"port\":null}}"),
    };
}

/// Key/value pairs as one JSON object, in order (a repeated key is written each time).
fn push_fields(out: &mut String, fields: &[KeyValue]) {
    out.push('{');
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, &field.key);
        out.push(':');
        push_value(out, &field.value);
    }
    out.push('}');
}

/// A value with its JSON type: bool, integer, float (always with a `.` or an exponent, so it
/// reads back as a float), string. Non-finite floats, which JSON cannot express, become the
/// strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
pub(crate) fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::Bool(b) => out.push_str(bool_str(*b)),
        Value::I64(v) => push_i64(out, *v),
        Value::U64(v) => push_u64(out, *v),
        Value::F64(v) if v.is_nan() => out.push_str("\"NaN\""),
        Value::F64(v) if v.is_infinite() && *v > 0.0 => out.push_str("\"Infinity\""),
        Value::F64(v) if v.is_infinite() => out.push_str("\"-Infinity\""),
        // `Debug` of a finite f64 is the shortest text that reads back to the same value, and
        // always has a `.` or an exponent: `1.0`, `0.1`, `1e-7`, `1.7976931348623157e308`.
        Value::F64(v) => {
            let _ = write!(out, "{v:?}");
        }
        Value::Str(s) => push_str(out, s),
    }
}

/// A JSON string: `"` and `\` escaped, the usual short escapes for `\n`, `\r`, `\t`, `\b`,
/// `\f`, and `\u00XX` for every other control character (C0, DEL and C1, so the output is
/// also safe to print on a terminal). Everything else, including non-ASCII, is written as is.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    let mut i = 0;
    loop {
        // Skip plain bytes; every character that needs escaping starts with a flagged byte.
        i += bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .position(|&b| FLAGGED[usize::from(b)])
            .unwrap_or(bytes.len() - i);
        let Some(&b) = bytes.get(i) else { break };
        let (escape, len) = match b {
            b'"' => (Escape::Short("\\\""), 1),
            b'\\' => (Escape::Short("\\\\"), 1),
            b'\n' => (Escape::Short("\\n"), 1),
            b'\r' => (Escape::Short("\\r"), 1),
            b'\t' => (Escape::Short("\\t"), 1),
            0x08 => (Escape::Short("\\b"), 1),
            0x0c => (Escape::Short("\\f"), 1),
            // 0xC2 leads U+0080..=U+00FF, of which U+0080..=U+009F are the C1 controls.
            0xc2 => match bytes.get(i + 1) {
                Some(&next @ 0x80..=0x9f) => (Escape::Unicode(u32::from(next)), 2),
                _ => {
                    i += 1;
                    continue;
                }
            },
            _ => (Escape::Unicode(u32::from(b)), 1),
        };
        // `plain_from` and `i` sit on character boundaries: both follow a whole character.
        out.push_str(s.get(plain_from..i).unwrap_or_default());
        match escape {
            Escape::Short(text) => out.push_str(text),
            Escape::Unicode(c) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                for nibble in [c >> 4 & 0xf, c & 0xf] {
                    out.push(char::from(
                        HEX.get(nibble as usize).copied().unwrap_or(b'0'),
                    ));
                }
            }
        }
        i += len;
        plain_from = i;
    }
    out.push_str(s.get(plain_from..).unwrap_or_default());
    out.push('"');
}

/// The bytes that start a character `push_str` may escape: C0 controls, `"`, `\`, DEL, and
/// 0xC2 (the lead byte of the C1 controls).
static FLAGGED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table[0xc2] = true;
    table
};

enum Escape {
    Short(&'static str),
    Unicode(u32),
}

/// Appends the decimal digits of `v`.
pub(crate) fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut used = 0;
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
        used += 1;
        if v == 0 {
            break;
        }
    }
    let digits = buf.get(buf.len() - used..).unwrap_or_default();
    out.push_str(std::str::from_utf8(digits).unwrap_or_default());
}

/// Appends `v` in decimal, with a `-` when negative.
pub(crate) fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, text);
        out
    }

    fn v(value: Value) -> String {
        let mut out = String::new();
        push_value(&mut out, &value);
        out
    }

    #[test]
    fn strings_escape_what_json_requires() {
        assert_eq!(s("plain"), r#""plain""#);
        assert_eq!(s(r#"a "q" \ b"#), r#""a \"q\" \\ b""#);
        assert_eq!(s("l1\nl2\r\t\u{8}\u{c}"), r#""l1\nl2\r\t\b\f""#);
        assert_eq!(
            s("\u{0}\u{1b}[31m\u{7f}\u{9b}"),
            r#""\u0000\u001b[31m\u007f\u009b""#
        );
        assert_eq!(s("héllo ✓ 😀"), "\"héllo ✓ 😀\"");
        assert_eq!(s(""), r#""""#);
    }

    #[test]
    fn strings_parse_back() {
        let mut text = String::new();
        for c in (0u32..0x300).chain([0x2028, 0x2029, 0xfeff, 0x1f600]) {
            text.extend(char::from_u32(c));
        }
        let parsed: String = serde_json::from_str(&s(&text)).unwrap();
        assert_eq!(parsed, text);
    }

    #[test]
    fn integers() {
        let f = |v: i64| {
            let mut out = String::new();
            push_i64(&mut out, v);
            out
        };
        for v in [0, 7, -7, 10, 1_000_000, i64::MAX, i64::MIN] {
            assert_eq!(f(v), v.to_string());
        }
        let mut out = String::new();
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string());
    }

    #[test]
    fn values_keep_their_json_type() {
        assert_eq!(v(Value::Bool(true)), "true");
        assert_eq!(v(Value::I64(i64::MIN)), "-9223372036854775808");
        assert_eq!(v(Value::U64(u64::MAX)), "18446744073709551615");
        assert_eq!(v(Value::F64(1.0)), "1.0");
        assert_eq!(v(Value::F64(-0.25)), "-0.25");
        assert_eq!(v(Value::F64(1e-7)), "1e-7");
        assert_eq!(v(Value::F64(f64::NAN)), r#""NaN""#);
        assert_eq!(v(Value::F64(f64::INFINITY)), r#""Infinity""#);
        assert_eq!(v(Value::F64(f64::NEG_INFINITY)), r#""-Infinity""#);
        for x in [f64::MAX, f64::MIN_POSITIVE, 5e-324, 0.1, 123456.789] {
            let parsed: f64 = serde_json::from_str(&v(Value::F64(x))).unwrap();
            assert_eq!(parsed.to_bits(), x.to_bits());
        }
    }
}
