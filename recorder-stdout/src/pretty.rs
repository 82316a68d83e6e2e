//! The `pretty` format: each batch's spans grouped by trace, as an indented tree.
//!
//! What it does with spans that arrive in different batches is described in the crate docs
//! ("The pretty format"): nesting is by parent id within one batch; a span whose parent is not
//! in the batch is printed at the top level of its trace with its parent id.

use std::collections::HashMap;
use std::fmt::Write as _;

use tracer_api::{KeyValue, ReferenceKind, Sampling, SpanId, SpanRecord, TraceId, Value};

use crate::time::{duration_micros, epoch_micros, push_rfc3339};

/// Deeper spans are indented as if at this depth, so a pathological chain cannot make lines
/// arbitrarily long.
const MAX_INDENT_DEPTH: usize = 32;

#[derive(Clone, Copy)]
enum Paint {
    Bold,
    Dim,
    Error,
    Time,
    Key,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Bold => "\x1b[1m",
            Paint::Dim => "\x1b[2m",
            Paint::Error => "\x1b[1;31m",
            Paint::Time => "\x1b[36m",
            Paint::Key => "\x1b[32m",
        }
    }
}

struct Out<'a> {
    buf: &'a mut String,
    color: bool,
}

impl Out<'_> {
    fn start(&mut self, paint: Paint) {
        if self.color {
            self.buf.push_str(paint.code());
        }
    }

    fn end(&mut self) {
        if self.color {
            self.buf.push_str("\x1b[0m");
        }
    }

    fn text(&mut self, paint: Paint, text: &str) {
        self.start(paint);
        push_escaped(self.buf, text, false);
        self.end();
    }

    fn indent(&mut self, depth: usize, extra: usize) {
        for _ in 0..(2 + 2 * depth.min(MAX_INDENT_DEPTH) + extra) {
            self.buf.push(' ');
        }
    }
}

/// Appends the tree of one batch.
pub(crate) fn push_batch(buf: &mut String, batch: &[SpanRecord], color: bool) {
    let mut out = Out { buf, color };

    // Group by trace, in the order traces first appear in the batch.
    let mut groups: Vec<(TraceId, Vec<&SpanRecord>)> = Vec::new();
    let mut group_of: HashMap<TraceId, usize> = HashMap::new();
    for span in batch {
        let next = groups.len();
        let g = *group_of.entry(span.trace_id).or_insert(next);
        match groups.get_mut(g) {
            Some((_, spans)) => spans.push(span),
            None => groups.push((span.trace_id, vec![span])),
        }
    }

    for (trace_id, mut spans) in groups {
        spans.sort_by_key(|s| epoch_micros(s.start));
        push_trace(&mut out, trace_id, &spans);
    }
}

fn push_trace(out: &mut Out<'_>, trace_id: TraceId, spans: &[&SpanRecord]) {
    let t0 = spans
        .iter()
        .map(|s| epoch_micros(s.start))
        .min()
        .unwrap_or_default();

    out.start(Paint::Bold);
    let _ = write!(out.buf, "trace {trace_id}");
    out.end();
    out.buf.push_str("  ");
    push_rfc3339(out.buf, t0);
    let n = spans.len();
    let _ = writeln!(out.buf, "  {n} span{}", if n == 1 { "" } else { "s" });

    // Parent links within this batch. The first span with an id wins (ids repeat only when
    // a server span shares its client's id).
    let mut index_of: HashMap<SpanId, usize> = HashMap::with_capacity(n);
    for (i, span) in spans.iter().enumerate() {
        index_of.entry(span.span_id).or_insert(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        let parent = span
            .parent_id
            .and_then(|p| index_of.get(&p).copied())
            .filter(|&p| p != i);
        match parent.and_then(|p| children.get_mut(p)) {
            Some(list) => list.push(i),
            None => roots.push(i),
        }
    }

    // Depth-first, iteratively (a long chain must not overflow the stack). Spans caught in a
    // parent cycle (possible only with hand-made records) are reached by the second pass.
    let mut visited = vec![false; n];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in roots.into_iter().chain(0..n) {
        stack.push((start, 0));
        while let Some((i, depth)) = stack.pop() {
            match visited.get_mut(i) {
                Some(seen) if !*seen => *seen = true,
                _ => continue,
            }
            let Some(span) = spans.get(i) else { continue };
            push_span(out, span, depth, t0);
            if let Some(kids) = children.get(i) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
    }
}

fn push_span(out: &mut Out<'_>, span: &SpanRecord, depth: usize, t0: i64) {
    let start = epoch_micros(span.start);
    out.indent(depth, 0);
    let failed = span
        .tags
        .iter()
        .any(|t| t.key == "error" && is_true(&t.value));
    out.text(
        if failed { Paint::Error } else { Paint::Bold },
        &span.operation,
    );
    out.buf.push_str("  ");
    out.start(Paint::Time);
    out.buf.push('+');
    push_micros(out.buf, start.saturating_sub(t0));
    out.buf.push_str("  ");
    push_micros(
        out.buf,
        i64::try_from(duration_micros(span.duration)).unwrap_or(i64::MAX),
    );
    out.end();
    out.buf.push_str("  ");
    out.start(Paint::Dim);
    out.buf.push('[');
    push_escaped(out.buf, &span.process.service_name, false);
    let _ = write!(out.buf, "]  span {}", span.span_id);
    if depth == 0 {
        if let Some(parent) = span.parent_id {
            let _ = write!(out.buf, "  parent {parent}");
        }
    }
    if span.references.first().map(|r| r.kind) == Some(ReferenceKind::FollowsFrom) {
        out.buf.push_str("  follows_from");
    }
    if span.sampling == Sampling::Debug {
        out.buf.push_str("  debug");
    }
    if span.shared {
        out.buf.push_str("  shared");
    }
    out.end();
    out.buf.push('\n');

    for tag in &span.tags {
        out.indent(depth, 4);
        push_pair(out, tag);
        out.buf.push('\n');
    }
    if span.references.len() > 1 {
        for r in &span.references {
            out.indent(depth, 4);
            out.start(Paint::Dim);
            let _ = writeln!(
                out.buf,
                "ref {} {}/{}",
                r.kind.as_str(),
                r.trace_id,
                r.span_id
            );
            out.end();
        }
    }
    for (key, value) in span.baggage.iter() {
        out.indent(depth, 4);
        out.buf.push_str("baggage ");
        out.text(Paint::Key, key);
        out.buf.push_str(" = ");
        push_escaped(out.buf, value, true);
        out.buf.push('\n');
    }
    for log in &span.logs {
        out.indent(depth, 4);
        out.buf.push_str("log ");
        out.start(Paint::Time);
        let offset = epoch_micros(log.timestamp).saturating_sub(t0);
        out.buf.push(if offset < 0 { '-' } else { '+' });
        push_micros(out.buf, offset.saturating_abs());
        out.end();
        for field in &log.fields {
            out.buf.push_str("  ");
            push_pair(out, field);
        }
        out.buf.push('\n');
    }
}

fn push_pair(out: &mut Out<'_>, kv: &KeyValue) {
    out.text(Paint::Key, &kv.key);
    out.buf.push_str(" = ");
    match &kv.value {
        Value::Str(s) => push_escaped(out.buf, s, true),
        Value::F64(v) => {
            let _ = write!(out.buf, "{v:?}");
        }
        other => {
            let _ = write!(out.buf, "{other}");
        }
    }
}

fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Str(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A length of time in µs, or in ms or s with three decimals: `250µs`, `12.500ms`, `3.000s`.
/// Negative values print as `0µs`; a caller that can meet them prints the sign and passes the
/// absolute value.
fn push_micros(out: &mut String, us: i64) {
    let us = us.max(0);
    let _ = if us < 1_000 {
        write!(out, "{us}µs")
    } else if us < 1_000_000 {
        write!(out, "{}.{:03}ms", us / 1_000, us % 1_000)
    } else {
        write!(out, "{}.{:03}s", us / 1_000_000, us / 1_000 % 1_000)
    };
}

/// Text from a span, made safe for a terminal: control characters (which could move the
/// cursor or change colours) are escaped as `\n`, `\t`, `\u{1b}`..., and in a `quoted` string
/// so are `"` and `\`.
fn push_escaped(out: &mut String, s: &str, quoted: bool) {
    if quoted {
        out.push('"');
    }
    // Fast path: nothing to escape (every control character starts with a byte below 0x20,
    // 0x7f or 0xc2).
    let special =
        |b: u8| b < 0x20 || b == 0x7f || b == 0xc2 || (quoted && (b == b'"' || b == b'\\'));
    if !s.bytes().any(special) {
        out.push_str(s);
        if quoted {
            out.push('"');
        }
        return;
    }
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' | '\\' if quoted => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use tracer_api::{Baggage, Process, Reference};

    use super::*;

    fn span(
        trace: u128,
        id: u64,
        parent: Option<u64>,
        op: &'static str,
        start_us: u64,
    ) -> SpanRecord {
        let trace_id = TraceId::from_u128(trace).unwrap();
        let parent_id = parent.and_then(SpanId::from_u64);
        SpanRecord {
            trace_id,
            span_id: SpanId::from_u64(id).unwrap(),
            parent_id,
            references: parent_id
                .map(|p| Reference {
                    kind: ReferenceKind::ChildOf,
                    trace_id,
                    span_id: p,
                })
                .into_iter()
                .collect(),
            operation: Cow::Borrowed(op),
            start: UNIX_EPOCH + Duration::from_micros(start_us),
            duration: Duration::from_micros(1_500),
            tags: Vec::new(),
            logs: Vec::new(),
            baggage: Baggage::new(),
            sampling: Sampling::Accept,
            shared: false,
            process: Arc::new(Process::default()),
        }
    }

    fn render(batch: &[SpanRecord]) -> String {
        let mut s = String::new();
        push_batch(&mut s, batch, false);
        s
    }

    #[test]
    fn nests_by_parent_and_lists_orphans_with_their_parent() {
        let batch = [
            span(1, 3, Some(2), "grandchild", 3_000),
            span(1, 2, Some(1), "child", 2_000),
            span(1, 1, None, "root", 1_000),
            span(1, 9, Some(8), "orphan", 1_500),
        ];
        let text = render(&batch);
        let want = "\
trace 0000000000000001  1970-01-01T00:00:00.001000Z  4 spans
  root  +0µs  1.500ms  [unknown_service]  span 0000000000000001
    child  +1.000ms  1.500ms  [unknown_service]  span 0000000000000002
      grandchild  +2.000ms  1.500ms  [unknown_service]  span 0000000000000003
  orphan  +500µs  1.500ms  [unknown_service]  span 0000000000000009  parent 0000000000000008
";
        assert_eq!(text, want);
    }

    #[test]
    fn separate_traces_get_separate_headers() {
        let batch = [
            span(1, 1, None, "a", 0),
            span(2, 2, None, "b", 0),
            span(1, 3, Some(1), "c", 0),
        ];
        let text = render(&batch);
        assert_eq!(text.matches("trace ").count(), 2);
        assert!(text.starts_with("trace 0000000000000001"));
        assert!(text.contains("    c  +0µs"));
    }

    #[test]
    fn cycles_and_self_parents_terminate_and_print_every_span() {
        let batch = [
            span(1, 1, Some(2), "a", 0),
            span(1, 2, Some(1), "b", 0),
            span(1, 3, Some(3), "self", 0),
        ];
        let text = render(&batch);
        for op in ["a  ", "b  ", "self  "] {
            assert_eq!(text.matches(op).count(), 1, "{text}");
        }
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let batch: Vec<_> = (1..=20_000u64)
            .map(|i| span(1, i, i.checked_sub(1).filter(|&p| p > 0), "x", i))
            .collect();
        let text = render(&batch);
        assert_eq!(text.lines().count(), 20_001);
        let longest = text.lines().map(str::len).max().unwrap();
        assert!(longest < 200, "{longest}");
    }

    #[test]
    fn terminal_control_characters_are_escaped() {
        let mut s = span(1, 1, None, "op\u{1b}[2J", 0);
        s.tags.push(KeyValue::new("k\n", "v\"\u{9b}\\"));
        let text = render(&[s]);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{9b}'));
        assert!(text.contains("op\\u{1b}[2J"));
        assert!(text.contains("k\\n = \"v\\\"\\u{9b}\\\\\""), "{text}");
    }

    #[test]
    fn colour_only_when_asked() {
        let mut plain = String::new();
        push_batch(&mut plain, &[span(1, 1, None, "op", 0)], false);
        let mut coloured = String::new();
        push_batch(&mut coloured, &[span(1, 1, None, "op", 0)], true);
        assert!(!plain.contains('\u{1b}'));
        assert!(coloured.contains("\u{1b}[1mop\u{1b}[0m"));
    }

    #[test]
    fn durations() {
        let f = |us| {
            let mut s = String::new();
            push_micros(&mut s, us);
            s
        };
        assert_eq!(f(0), "0µs");
        assert_eq!(f(999), "999µs");
        assert_eq!(f(1_000), "1.000ms");
        assert_eq!(f(12_345), "12.345ms");
        assert_eq!(f(61_234_567), "61.234s");
        assert_eq!(f(-5), "0µs");
    }
}
