//! How a [`SpanRecord`] becomes Appdash annotations: exactly what Appdash's own OpenTracing
//! recorder (`appdash/opentracing`) writes, so the Appdash UI shows names, timelines, tags, logs
//! and baggage.
//!
//! For a span, in this order:
//!
//! | annotations | from |
//! |---|---|
//! | `Name` = operation, `_schema:name` (no value) | the operation name |
//! | `Msg` = message, `Time` = RFC 3339 time, `_schema:log` (no value) | each log, in order |
//! | key = value | each tag, the value formatted like Go's `%+v` |
//! | key = value | each baggage item (raw key, no prefix) |
//! | `service.name` = service | the process's service name (see below) |
//! | `ref.follows_from` / `ref.child_of` = span id | references (see below) |
//! | `Span.Start`, `Span.End` (RFC 3339), `_schema:Timespan` (no value) | start and start + duration |
//!
//! - Times are UTC, `2016-01-02T15:04:05.123456789Z`, with trailing zeros of the fraction
//!   trimmed and the dot dropped when the fraction is zero (Go's `time.RFC3339Nano`).
//! - A log's message: when its only field is `event`, the event text; otherwise a JSON object
//!   of all fields with sorted keys (a repeated key keeps its last value) and every value a
//!   string, as Go's `encoding/json` writes a `map[string]string` (HTML characters and U+2028/9
//!   escaped). Values are stringified as Appdash's log materializer does: floats with six
//!   decimals (`%f`), integers and booleans plainly.
//! - Tags use Go's `%+v`: integers and booleans plainly, floats in Go's shortest form (`1.5`,
//!   `1e+06`, `+Inf`), strings as they are.
//!
//! **One packet per span.** Appdash's Go recorder sends a span as five or more packets with
//! the same span id, which Appdash's store concatenates; this crate sends the same annotations,
//! in the same order, as one packet (fewer bytes and syscalls, and the store ends up with the
//! identical annotation list). A span whose annotations exceed the 1 MiB frame limit (or
//! [`MAX_ANNOTATIONS_PER_PACKET`]) is split over
//! several packets with the same span id at annotation boundaries; a single annotation
//! too large for a frame on its own has its value (and, past 4 KiB, its key) truncated at a
//! character boundary so the frame stays acceptable.
//!
//! **Ids.** Appdash ids are 64 bits: a 128-bit trace id sends its low 64 bits (the high half
//! is dropped, so two traces differing only in their high halves would merge in Appdash).
//! The packet's parent id is the first reference, of either kind. The process's tags and the
//! sampling state have no place in Appdash's model and are not sent.
//!
//! **Beyond Go's recorder.** Appdash's wire has no service name and no reference kinds, so by
//! default two kinds of annotations are added, between the baggage and `Span.Start` (Appdash's
//! own UI shows them as plain key/values; `collector-appdash` reads them):
//!
//! - [`SERVICE_NAME`] (`service.name`) = the tracer's service name
//!   (`SpanRecord::process.service_name`), unless the span has a `service.name` tag of its
//!   own (which is sent as a tag and wins) or the name is empty;
//! - [`REF_FOLLOWS_FROM`] (`ref.follows_from`) = the referenced span id as 16 lower-case hex
//!   digits, one annotation for each follows-from reference (the parent included when the
//!   span follows from it), and [`REF_CHILD_OF`] (`ref.child_of`) likewise for each child-of
//!   reference except the parent (the first reference), which the packet already carries.
//!   The referenced span may belong to another trace; Appdash ids cannot say which, so a
//!   collector finds it only when it is in the same trace.
//!
//! [`SpanEncoder::with_extra_annotations`]`(false)` (or the recorder builder's
//! `with_extra_annotations(false)`) leaves them out, for output byte for byte like Go's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracer_api::{LogRecord, ReferenceKind, SpanRecord, Value};

use crate::wire::{
    annotation_len, put_annotation, span_id_bytes, Annotation, WireSpanId,
    MAX_ANNOTATIONS_PER_PACKET, MAX_FRAME_SIZE, SPAN_ID_LEN,
};

/// The key of the span name annotation.
pub const NAME: &str = "Name";
/// The schema marker of the span name event.
pub const SCHEMA_NAME: &str = "_schema:name";
/// The key of a log message.
pub const MSG: &str = "Msg";
/// The key of a log's time.
pub const TIME: &str = "Time";
/// The schema marker of a log event.
pub const SCHEMA_LOG: &str = "_schema:log";
/// The key of the span's start time.
pub const SPAN_START: &str = "Span.Start";
/// The key of the span's end time.
pub const SPAN_END: &str = "Span.End";
/// The schema marker of the timespan event.
pub const SCHEMA_TIMESPAN: &str = "_schema:Timespan";
/// The prefix of every schema marker key.
pub const SCHEMA_PREFIX: &str = "_schema:";
/// The key of the service name annotation (not written by Go's recorder; see the
/// [module docs](self)).
pub const SERVICE_NAME: &str = "service.name";
/// The key of a follows-from reference: the referenced span id in 16 lower-case hex digits
/// (not written by Go's recorder).
pub const REF_FOLLOWS_FROM: &str = "ref.follows_from";
/// The key of a child-of reference other than the parent: the referenced span id in 16
/// lower-case hex digits (not written by Go's recorder).
pub const REF_CHILD_OF: &str = "ref.child_of";

/// Keys longer than this are cut when an annotation cannot fit in a frame otherwise.
const MAX_KEY_WHEN_TRUNCATING: usize = 4096;

/// Appdash's id triple for a span: the low 64 bits of the trace id, the span id, and the
/// parent id or 0.
pub fn wire_span_id(span: &SpanRecord) -> WireSpanId {
    WireSpanId {
        trace: span.trace_id.low(),
        span: span.span_id.to_u64(),
        parent: span.parent_id.map_or(0, |p| p.to_u64()),
    }
}

/// The annotations written for this span, in order: Appdash's OpenTracing recorder's, plus
/// the service name and references (see the [module docs](self)). For Go's alone, use
/// [`SpanEncoder::with_extra_annotations`]`(false)` and [`SpanEncoder::annotations`].
pub fn span_annotations(span: &SpanRecord) -> Vec<Annotation> {
    SpanEncoder::new().annotations(span)
}

/// Appends the frames of one span to `out` (one frame, unless its annotations exceed the
/// frame limit); returns how many frames were written.
pub fn encode_span(span: &SpanRecord, out: &mut Vec<u8>) -> usize {
    SpanEncoder::new().encode(span, out)
}

/// Encodes spans into frames, reusing its scratch buffer across spans.
#[derive(Debug)]
pub struct SpanEncoder {
    scratch: Scratch,
    extras: bool,
}

impl Default for SpanEncoder {
    fn default() -> SpanEncoder {
        SpanEncoder {
            scratch: Scratch::default(),
            extras: true,
        }
    }
}

/// Buffers reused across spans: formatted values, and the date-time part of the last second
/// formatted (spans of a batch mostly start and end within the same few seconds).
#[derive(Debug, Default)]
struct Scratch {
    text: String,
    /// The second whose `YYYY-MM-DDTHH:MM:SS` is in `cached_date_time` (years 0 to 9999 only).
    cached_secs: Option<i64>,
    cached_date_time: [u8; DATE_TIME_LEN],
}

/// Length of `YYYY-MM-DDTHH:MM:SS`.
const DATE_TIME_LEN: usize = 19;
/// Room for a formatted time: the date-time, `.`, nine digits and `Z`.
const TIME_LEN: usize = DATE_TIME_LEN + 11;

impl Scratch {
    /// `YYYY-MM-DDTHH:MM:SS` of `secs`, when its year has four digits.
    #[inline(always)]
    fn date_time(&mut self, secs: i64) -> Option<[u8; DATE_TIME_LEN]> {
        if self.cached_secs != Some(secs) {
            self.cached_date_time = date_time_bytes(secs)?;
            self.cached_secs = Some(secs);
        }
        Some(self.cached_date_time)
    }

    /// Formats the time `secs`/`nanos` (as [`split_time`] gives them) into `buf`, or into
    /// `text` for years Go's format has no four digits for.
    fn time<'a>(&'a mut self, secs: i64, nanos: u32, buf: &'a mut [u8; TIME_LEN]) -> &'a [u8] {
        if self.cached_secs != Some(secs) {
            match date_time_bytes(secs) {
                Some(dt) => {
                    self.cached_date_time = dt;
                    self.cached_secs = Some(secs);
                }
                None => {
                    self.text.clear();
                    write_date_time(&mut self.text, secs);
                    write_fraction_z(&mut self.text, nanos);
                    return self.text.as_bytes();
                }
            }
        }
        let (head, tail) = buf.split_at_mut(DATE_TIME_LEN);
        head.copy_from_slice(&self.cached_date_time);
        let mut frac = [0u8; 11];
        let n = fraction_z(nanos, &mut frac);
        if let (Some(dst), Some(src)) = (tail.get_mut(..n), frac.get(..n)) {
            dst.copy_from_slice(src);
        }
        buf.get(..DATE_TIME_LEN + n).unwrap_or_default()
    }
}

impl SpanEncoder {
    /// A new encoder, adding the service name and reference annotations.
    pub fn new() -> SpanEncoder {
        SpanEncoder::default()
    }

    /// Whether to add the `service.name`, `ref.follows_from` and `ref.child_of` annotations
    /// Go's recorder does not write (default `true`; `false` gives Go's annotations byte for
    /// byte). See the [module docs](self).
    pub fn with_extra_annotations(mut self, on: bool) -> SpanEncoder {
        self.extras = on;
        self
    }

    /// Whether the extra annotations are added.
    pub fn extra_annotations(&self) -> bool {
        self.extras
    }

    /// The annotations this encoder writes for a span, in order.
    pub fn annotations(&mut self, span: &SpanRecord) -> Vec<Annotation> {
        struct Collect(Vec<Annotation>);
        impl Sink for Collect {
            fn annotation(&mut self, key: &str, value: Option<&[u8]>) {
                self.0.push(Annotation {
                    key: key.to_owned(),
                    value: value.map(<[u8]>::to_vec),
                });
            }
        }
        let mut sink = Collect(Vec::with_capacity(
            10 + span.tags.len() + 3 * span.logs.len() + span.references.len(),
        ));
        walk(span, self.extras, &mut self.scratch, &mut sink);
        sink.0
    }

    /// Appends the frames of one span to `out`; returns how many frames were written.
    pub fn encode(&mut self, span: &SpanRecord, out: &mut Vec<u8>) -> usize {
        let mut w = FrameWriter {
            out,
            id: wire_span_id(span),
            frame_start: 0,
            body_len: 0,
            annotations: 0,
            frames: 0,
        };
        w.start_frame();
        walk(span, self.extras, &mut self.scratch, &mut w);
        w.finish_frame();
        w.frames
    }
}

/// Formats a time as Go's `time.RFC3339Nano` in UTC: `2016-01-02T15:04:05.123456789Z`, with
/// trailing zeros of the fraction trimmed (and the dot dropped when it is zero).
pub fn format_time(t: SystemTime) -> String {
    let mut s = String::with_capacity(30);
    write_time(&mut s, t);
    s
}

/// The `Msg` text of a log record (see the [module docs](self)).
pub fn log_message(log: &LogRecord) -> String {
    let mut s = String::new();
    write_log_message(&mut s, log);
    s
}

/// A tag value as Go's `fmt.Sprintf("%+v", value)` prints it.
pub fn tag_value(value: &Value) -> String {
    let mut s = String::new();
    write_go_v(&mut s, value);
    s
}

// ---------------------------------------------------------------------------------------------

/// Receives annotations in order.
trait Sink {
    fn annotation(&mut self, key: &str, value: Option<&[u8]>);

    /// The name annotations: `Name` = operation, then `_schema:name`.
    #[inline(always)]
    fn name(&mut self, operation: &str) {
        self.annotation(NAME, Some(operation.as_bytes()));
        self.annotation(SCHEMA_NAME, None);
    }

    /// The timespan annotations: `Span.Start`, `Span.End` (times as [`split_time`] gives
    /// them), then `_schema:Timespan`.
    #[inline(always)]
    fn timespan(&mut self, scratch: &mut Scratch, start: (i64, u32), end: (i64, u32)) {
        let mut buf = [0u8; TIME_LEN];
        self.annotation(SPAN_START, Some(scratch.time(start.0, start.1, &mut buf)));
        self.annotation(SPAN_END, Some(scratch.time(end.0, end.1, &mut buf)));
        self.annotation(SCHEMA_TIMESPAN, None);
    }
}

/// Produces the annotations of a span into `sink` (with the extra annotations when `extras`);
/// `scratch` holds formatted values.
#[inline(always)]
fn walk(span: &SpanRecord, extras: bool, scratch: &mut Scratch, sink: &mut impl Sink) {
    let mut time_buf = [0u8; TIME_LEN];
    sink.name(&span.operation);
    for log in &span.logs {
        scratch.text.clear();
        write_log_message(&mut scratch.text, log);
        sink.annotation(MSG, Some(scratch.text.as_bytes()));
        let (secs, nanos) = split_time(log.timestamp);
        sink.annotation(TIME, Some(scratch.time(secs, nanos, &mut time_buf)));
        sink.annotation(SCHEMA_LOG, None);
    }
    let mut own_service_name = false;
    for tag in &span.tags {
        own_service_name |= tag.key == SERVICE_NAME;
        let mut num = [0u8; 20];
        match &tag.value {
            Value::Str(s) => sink.annotation(&tag.key, Some(s.as_bytes())),
            Value::Bool(b) => sink.annotation(
                &tag.key,
                Some(if *b { b"true".as_slice() } else { b"false" }),
            ),
            Value::U64(u) => sink.annotation(&tag.key, Some(decimal(*u, &mut num))),
            Value::I64(i) if *i >= 0 => {
                sink.annotation(&tag.key, Some(decimal(i.unsigned_abs(), &mut num)));
            }
            other => {
                scratch.text.clear();
                write_go_v(&mut scratch.text, other);
                sink.annotation(&tag.key, Some(scratch.text.as_bytes()));
            }
        }
    }
    for (k, v) in span.baggage.iter() {
        sink.annotation(k, Some(v.as_bytes()));
    }
    if extras {
        walk_extras(span, own_service_name, sink);
    }
    let start = split_time(span.start);
    let end = end_time(span, start.0, start.1);
    sink.timespan(scratch, start, end);
}

/// The span's end (`start + duration`) as [`split_time`] gives it, from the start's parts.
fn end_time(span: &SpanRecord, secs: i64, nanos: u32) -> (i64, u32) {
    let nanos = nanos + span.duration.subsec_nanos();
    let (carry, nanos) = if nanos >= 1_000_000_000 {
        (1, nanos - 1_000_000_000)
    } else {
        (0, nanos)
    };
    i64::try_from(span.duration.as_secs())
        .ok()
        .and_then(|d| secs.checked_add(d))
        .and_then(|s| s.checked_add(carry))
        .map_or_else(
            || {
                span.start
                    .checked_add(span.duration)
                    .map_or((i64::MAX, nanos), split_time)
            },
            |s| (s, nanos),
        )
}

/// The service name and the references (see the [module docs](self)); `own_service_name`
/// when the span has a `service.name` tag.
fn walk_extras(span: &SpanRecord, own_service_name: bool, sink: &mut impl Sink) {
    let service = &span.process.service_name;
    if !service.is_empty() && !own_service_name {
        sink.annotation(SERVICE_NAME, Some(service.as_bytes()));
    }
    for (i, r) in span.references.iter().enumerate() {
        let key = match r.kind {
            ReferenceKind::FollowsFrom => REF_FOLLOWS_FROM,
            // The first reference is the parent, which the packet's ids carry.
            ReferenceKind::ChildOf if i == 0 => continue,
            ReferenceKind::ChildOf => REF_CHILD_OF,
        };
        sink.annotation(key, Some(hex16(r.span_id.to_u64()).as_slice()));
    }
}

/// `v` in 16 lower-case hex digits.
fn hex16(v: u64) -> [u8; 16] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = HEX[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// Writes frames straight into the output buffer.
struct FrameWriter<'a> {
    out: &'a mut Vec<u8>,
    id: WireSpanId,
    frame_start: usize,
    body_len: usize,
    /// Annotations in the current frame (at most [`MAX_ANNOTATIONS_PER_PACKET`]).
    annotations: usize,
    frames: usize,
}

/// Room reserved for a frame's length prefix: two bytes, a varint up to 16 383; a frame
/// shorter than 128 bytes is moved back one byte, a longer one than 16 383 forward one (frames
/// are at most 1 MiB, a 3-byte varint).
const PREFIX_ROOM: usize = 2;

impl FrameWriter<'_> {
    fn start_frame(&mut self) {
        self.frame_start = self.out.len();
        let id = span_id_bytes(self.id);
        let mut head = [0u8; PREFIX_ROOM + SPAN_ID_LEN];
        head[PREFIX_ROOM..].copy_from_slice(&id);
        self.out.extend_from_slice(&head);
        self.body_len = SPAN_ID_LEN;
        self.annotations = 0;
    }

    fn finish_frame(&mut self) {
        let len = self.body_len;
        let at = self.frame_start;
        let body_start = at + PREFIX_ROOM;
        if len < 0x80 {
            self.out.copy_within(body_start.., body_start - 1);
            self.out.truncate(self.out.len() - 1);
            if let Some(slot) = self.out.get_mut(at) {
                *slot = len as u8;
            }
        } else if len < 0x4000 {
            if let Some(slot) = self.out.get_mut(at..body_start) {
                slot.copy_from_slice(&[(len as u8) | 0x80, (len >> 7) as u8]);
            }
        } else {
            // Frames are at most 1 MiB, so the length fits a 3-byte varint.
            if body_start <= self.out.len() {
                self.out.insert(body_start, 0);
            }
            if let Some(slot) = self.out.get_mut(at..=body_start) {
                slot.copy_from_slice(&[
                    (len as u8) | 0x80,
                    ((len >> 7) as u8) | 0x80,
                    (len >> 14) as u8,
                ]);
            }
        }
        self.frames += 1;
    }

    /// Starts a new frame first when one more annotation of `n` bytes would not fit in this
    /// one (by bytes or by count).
    #[inline(always)]
    fn make_room(&mut self, n: usize) {
        if (self.body_len + n > MAX_FRAME_SIZE || self.annotations >= MAX_ANNOTATIONS_PER_PACKET)
            && self.body_len > SPAN_ID_LEN
        {
            self.finish_frame();
            self.start_frame();
        }
        self.body_len += n;
        self.annotations += 1;
    }

    /// True when `count` more annotations of `n` bytes in all fit in this frame as they are.
    #[inline(always)]
    fn fits(&self, count: usize, n: usize) -> bool {
        self.body_len + n <= MAX_FRAME_SIZE
            && self.annotations + count <= MAX_ANNOTATIONS_PER_PACKET
    }

    #[inline(never)]
    fn large_annotation(&mut self, key: &[u8], value: Option<&[u8]>) {
        let (key, value) = fit_in_frame(key, value);
        self.make_room(annotation_len(key.len(), value.map(<[u8]>::len)));
        put_annotation(self.out, key, value);
    }
}

impl Sink for FrameWriter<'_> {
    #[inline(always)]
    fn annotation(&mut self, key: &str, value: Option<&[u8]>) {
        let key = key.as_bytes();
        let small_value = match value {
            Some(v) => v.len() < 0x80,
            None => true,
        };
        if key.len() < 0x80 && small_value {
            // One-byte varint lengths: far below the frame limit, nothing to cut.
            self.make_room(4 + key.len() + value.map_or(0, |v| 2 + v.len()));
            put_annotation(self.out, key, value);
        } else {
            self.large_annotation(key, value);
        }
    }

    #[inline(always)]
    fn name(&mut self, operation: &str) {
        let op = operation.as_bytes();
        // `Name` = operation and the `_schema:name` marker, in three appends.
        let n = NAME_HEAD.len() + 1 + op.len() + SCHEMA_NAME_ANNOTATION.len();
        if op.len() < 0x80 && self.fits(2, n) {
            self.body_len += n;
            self.annotations += 2;
            let mut head = [0u8; NAME_HEAD.len() + 1];
            head[..NAME_HEAD.len()].copy_from_slice(&NAME_HEAD);
            head[NAME_HEAD.len()] = op.len() as u8;
            self.out.extend_from_slice(&head);
            self.out.extend_from_slice(op);
            self.out.extend_from_slice(&SCHEMA_NAME_ANNOTATION);
        } else {
            self.annotation(NAME, Some(op));
            self.annotation(SCHEMA_NAME, None);
        }
    }

    #[inline(always)]
    fn timespan(&mut self, scratch: &mut Scratch, start: (i64, u32), end: (i64, u32)) {
        // The three annotations built on the stack and appended at once; the same bytes as
        // one by one, as they either all fit in this frame or the general path splits them.
        if let (Some(s), Some(e)) = (scratch.date_time(start.0), scratch.date_time(end.0)) {
            let mut b = StackBuf::<TIMESPAN_MAX>::new();
            b.put(&SPAN_START_HEAD);
            b.put_time(&s, start.1);
            b.put(&SPAN_END_HEAD);
            b.put_time(&e, end.1);
            b.put(&SCHEMA_TIMESPAN_ANNOTATION);
            let bytes = b.as_slice();
            if !bytes.is_empty() && self.fits(3, bytes.len()) {
                self.body_len += bytes.len();
                self.annotations += 3;
                self.out.extend_from_slice(bytes);
                return;
            }
        }
        let mut buf = [0u8; TIME_LEN];
        self.annotation(SPAN_START, Some(scratch.time(start.0, start.1, &mut buf)));
        self.annotation(SPAN_END, Some(scratch.time(end.0, end.1, &mut buf)));
        self.annotation(SCHEMA_TIMESPAN, None);
    }
}

/// The start of the `Name` annotation up to its value's length byte.
const NAME_HEAD: [u8; 8] = *b"\x2b\x32\x04Name\x3a";
/// The `_schema:name` annotation's end and the whole marker annotation.
const SCHEMA_NAME_ANNOTATION: [u8; 17] = *b"\x2c\x2b\x32\x0c_schema:name\x2c";
/// The `Span.Start` annotation up to its value's length byte.
const SPAN_START_HEAD: [u8; 14] = *b"\x2b\x32\x0aSpan.Start\x3a";
/// The end of the `Span.Start` annotation and the `Span.End` one up to its value's length.
const SPAN_END_HEAD: [u8; 13] = *b"\x2c\x2b\x32\x08Span.End\x3a";
/// The end of the `Span.End` annotation and the whole `_schema:Timespan` marker.
const SCHEMA_TIMESPAN_ANNOTATION: [u8; 21] = *b"\x2c\x2b\x32\x10_schema:Timespan\x2c";
/// Room for the timespan annotations.
const TIMESPAN_MAX: usize = 128;

/// A fixed stack buffer appended to; writes past its end are dropped and make it empty.
struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> StackBuf<N> {
    fn new() -> Self {
        StackBuf {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    #[inline(always)]
    fn put(&mut self, b: &[u8]) {
        match self.buf.get_mut(self.len..self.len + b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.len += b.len();
            }
            None => self.overflow = true,
        }
    }

    /// A time's length byte, then the time: `date` (`YYYY-MM-DDTHH:MM:SS`) and `nanos` as
    /// [`write_fraction_z`] writes them.
    #[inline(always)]
    fn put_time(&mut self, date: &[u8; DATE_TIME_LEN], nanos: u32) {
        let (digits, kept) = nano_digits(nanos);
        let frac_len = if kept == 0 { 1 } else { kept + 2 };
        self.put(&[(DATE_TIME_LEN + frac_len) as u8]);
        self.put(date);
        if kept == 0 {
            self.put(b"Z");
        } else {
            self.put(b".");
            let at = self.len;
            // All nine digits, then `Z` over the first trimmed zero.
            self.put(&digits);
            if !self.overflow {
                self.len = at + kept;
            }
            self.put(b"Z");
        }
    }

    fn as_slice(&self) -> &[u8] {
        if self.overflow {
            return &[];
        }
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// The nine digits of a fraction of a second, and how many are left once trailing zeros are
/// trimmed (0 for 0).
#[inline(always)]
fn nano_digits(nanos: u32) -> ([u8; 9], usize) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                                2021222324252627282930313233343536373839\
                                4041424344454647484950515253545556575859\
                                6061626364656667686970717273747576777879\
                                8081828384858687888990919293949596979899";
    let mut d = [b'0'; 9];
    let mut n = nanos % 1_000_000_000;
    for i in [7usize, 5, 3, 1] {
        let p = (n % 100) as usize * 2;
        if let (Some(dst), Some(src)) = (d.get_mut(i..i + 2), PAIRS.get(p..p + 2)) {
            dst.copy_from_slice(src);
        }
        n /= 100;
    }
    d[0] = b'0' + n as u8;
    let mut kept = 9;
    while kept > 0 && d.get(kept - 1) == Some(&b'0') {
        kept -= 1;
    }
    (d, kept)
}

/// Cuts an annotation that cannot fit in a frame on its own, at UTF-8 character boundaries.
fn fit_in_frame<'k, 'v>(key: &'k [u8], value: Option<&'v [u8]>) -> (&'k [u8], Option<&'v [u8]>) {
    let room = MAX_FRAME_SIZE - SPAN_ID_LEN;
    if annotation_len(key.len(), value.map(<[u8]>::len)) <= room {
        return (key, value);
    }
    let key = if key.len() > MAX_KEY_WHEN_TRUNCATING {
        utf8_prefix(key, MAX_KEY_WHEN_TRUNCATING)
    } else {
        key
    };
    let value = value.map(|v| {
        // Room left for the value bytes, counting its tag and a 3-byte length.
        let fixed = annotation_len(key.len(), Some(0)) - 1 + 3;
        utf8_prefix(v, room.saturating_sub(fixed))
    });
    (key, value)
}

/// The longest prefix of `b` of at most `max` bytes that does not split a UTF-8 character.
fn utf8_prefix(b: &[u8], max: usize) -> &[u8] {
    if b.len() <= max {
        return b;
    }
    let mut end = max;
    // Continuation bytes look like 0b10xx_xxxx; step back to the start of a character.
    while end > 0 && b.get(end).is_some_and(|&c| c & 0xc0 == 0x80) {
        end -= 1;
    }
    b.get(..end).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Formatting.

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Seconds since the epoch (floored) and nanoseconds within the second.
fn split_time(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (secs, 0),
                n => (secs - 1, 1_000_000_000 - n),
            }
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the epoch.
fn write_date_time(out: &mut String, secs: i64) {
    if let Some(buf) = date_time_bytes(secs) {
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
        return;
    }
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    // Outside Go's four-digit years: still a readable time.
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the epoch, for years 0 to 9999.
fn date_time_bytes(secs: i64) -> Option<[u8; DATE_TIME_LEN]> {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut buf = *b"0000-00-00T00:00:00";
    let y = y as u32;
    let fields = [
        (0, y / 100),
        (2, y % 100),
        (5, mo),
        (8, d),
        (11, (sod / 3600) as u32),
        (14, (sod / 60 % 60) as u32),
        (17, (sod % 60) as u32),
    ];
    for (at, v) in fields {
        if let Some(pair) = buf.get_mut(at..at + 2) {
            pair.copy_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
        }
    }
    Some(buf)
}

/// Writes `.fraction` with trailing zeros trimmed (nothing for 0), then `Z`, into `buf`;
/// returns the length written.
fn fraction_z(nanos: u32, buf: &mut [u8; 11]) -> usize {
    if nanos == 0 {
        buf[0] = b'Z';
        return 1;
    }
    let mut n = nanos;
    let mut digits = 9;
    while n % 10 == 0 {
        n /= 10;
        digits -= 1;
    }
    buf[0] = b'.';
    if let Some(slots) = buf.get_mut(1..=digits) {
        for slot in slots.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    if let Some(z) = buf.get_mut(digits + 1) {
        *z = b'Z';
    }
    digits + 2
}

/// The decimal digits of `v`, written at the end of `buf`.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
        i -= 1;
        if v == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// `.fraction` with trailing zeros trimmed (nothing for 0), then `Z`.
fn write_fraction_z(out: &mut String, nanos: u32) {
    let mut buf = [0u8; 11];
    let n = fraction_z(nanos, &mut buf);
    out.push_str(std::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default());
}

/// Appends the decimal digits of `v`, without going through `core::fmt`.
fn push_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    out.push_str(std::str::from_utf8(decimal(v, &mut buf)).unwrap_or_default());
}

fn write_time(out: &mut String, t: SystemTime) {
    let (secs, nanos) = split_time(t);
    write_date_time(out, secs);
    write_fraction_z(out, nanos);
}

/// Go's `%f` (log fields): six decimals; `NaN`, `+Inf`, `-Inf`.
fn write_go_f(out: &mut String, v: f64) {
    if !write_non_finite(out, v) {
        let _ = write!(out, "{v:.6}");
    }
}

fn write_non_finite(out: &mut String, v: f64) -> bool {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        return false;
    }
    true
}

/// Go's `%v` of a float64 (`strconv` format `'g'`, shortest): the shortest digits that
/// round-trip, in exponent form (`1e+06`, `1.5e-05`) when the decimal exponent is below -4 or
/// at least 6, plain otherwise.
fn write_go_float_v(out: &mut String, v: f64) {
    if write_non_finite(out, v) {
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if v.is_sign_negative() {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(mantissa);
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
        return;
    }
    // Plain notation: the decimal point goes after `exp + 1` digits.
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            let (int, frac) = digits.split_at(point);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    }
}

/// Go's `%+v` of a tag value.
fn write_go_v(out: &mut String, v: &Value) {
    match v {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I64(i) => {
            if *i < 0 {
                out.push('-');
            }
            push_u64(out, i.unsigned_abs());
        }
        Value::U64(u) => push_u64(out, *u),
        Value::F64(f) => write_go_float_v(out, *f),
        Value::Str(s) => out.push_str(s),
    }
}

/// A log field as Appdash's materializer stringifies it.
fn write_log_field(out: &mut String, v: &Value) {
    match v {
        Value::F64(f) => write_go_f(out, *f),
        other => write_go_v(out, other),
    }
}

fn write_log_message(out: &mut String, log: &LogRecord) {
    if let [only] = log.fields.as_slice() {
        if only.key == "event" {
            write_log_field(out, &only.value);
            return;
        }
    }
    let mut fields: BTreeMap<&str, String> = BTreeMap::new();
    for f in &log.fields {
        let mut s = String::new();
        write_log_field(&mut s, &f.value);
        fields.insert(&f.key, s);
    }
    if fields.len() == 1 {
        if let Some(event) = fields.get("event") {
            out.push_str(event);
            return;
        }
    }
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, k);
        out.push(':');
        write_json_string(out, v);
    }
    out.push('}');
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe, U+2028/U+2029 escaped).
fn write_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\0'..='\u{1f}' => {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX[((n >> shift) & 0xf) as usize]));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use std::sync::Arc;
    use std::time::Duration;
    use tracer_api::{Baggage, KeyValue, Process, References, Sampling, SpanId, TraceId};

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    fn record() -> SpanRecord {
        SpanRecord {
            trace_id: TraceId::from_parts(0xdead, 1).unwrap(),
            span_id: SpanId::from_u64(2).unwrap(),
            parent_id: SpanId::from_u64(3),
            references: References::new(),
            operation: Cow::Borrowed("testOperation"),
            start: at(1_451_747_045, 123_456_789),
            duration: Duration::from_nanos(76_543_211),
            tags: vec![KeyValue::new("tag", 1i64), KeyValue::new("error", true)],
            logs: vec![
                LogRecord {
                    timestamp: at(1_451_747_045, 150_000_000),
                    fields: vec![KeyValue::new("event", "cache-miss")],
                },
                LogRecord {
                    timestamp: at(1_451_747_045, 160_000_000),
                    fields: vec![
                        KeyValue::new("event", "error"),
                        KeyValue::new("error.object", "boom <\"x\">"),
                        KeyValue::new("attempt", 2u32),
                        KeyValue::new("ratio", 0.5),
                    ],
                },
            ],
            baggage: [("somelongval", "val")].into_iter().collect::<Baggage>(),
            sampling: Sampling::Accept,
            shared: false,
            process: Arc::new(Process::default()),
        }
    }

    fn pairs(anns: &[Annotation]) -> Vec<(String, Option<String>)> {
        anns.iter()
            .map(|a| {
                (
                    a.key.clone(),
                    a.value
                        .as_ref()
                        .map(|v| String::from_utf8(v.clone()).unwrap()),
                )
            })
            .collect()
    }

    #[test]
    fn annotations_in_appdash_order() {
        let got = pairs(&span_annotations(&record()));
        let s = |k: &str, v: &str| (k.to_owned(), Some(v.to_owned()));
        let m = |k: &str| (k.to_owned(), None);
        assert_eq!(
            got,
            vec![
                s("Name", "testOperation"),
                m("_schema:name"),
                s("Msg", "cache-miss"),
                s("Time", "2016-01-02T15:04:05.15Z"),
                m("_schema:log"),
                s(
                    "Msg",
                    r#"{"attempt":"2","error.object":"boom \u003c\"x\"\u003e","event":"error","ratio":"0.500000"}"#
                ),
                s("Time", "2016-01-02T15:04:05.16Z"),
                m("_schema:log"),
                s("tag", "1"),
                s("error", "true"),
                s("somelongval", "val"),
                s("service.name", "unknown_service"),
                s("Span.Start", "2016-01-02T15:04:05.123456789Z"),
                s("Span.End", "2016-01-02T15:04:05.2Z"),
                m("_schema:Timespan"),
            ]
        );
    }

    fn reference(kind: ReferenceKind, span: u64) -> tracer_api::Reference {
        tracer_api::Reference {
            kind,
            trace_id: TraceId::from_parts(0xdead, 1).unwrap(),
            span_id: SpanId::from_u64(span).unwrap(),
        }
    }

    #[test]
    fn service_name_and_references_beyond_go() {
        assert_eq!(SERVICE_NAME, "service.name");
        assert_eq!(REF_FOLLOWS_FROM, "ref.follows_from");
        assert_eq!(REF_CHILD_OF, "ref.child_of");
        let mut r = record();
        r.process = Arc::new(Process {
            service_name: Cow::Borrowed("frontend"),
            ..Process::default()
        });
        // The parent (first reference) follows from span 3; then a child-of and another
        // follows-from.
        r.parent_id = SpanId::from_u64(3);
        r.references = vec![
            reference(ReferenceKind::FollowsFrom, 3),
            reference(ReferenceKind::ChildOf, 0xabc),
            reference(ReferenceKind::FollowsFrom, 0x0123_4567_89ab_cdef),
        ]
        .into();
        let s = |k: &str, v: &str| (k.to_owned(), Some(v.to_owned()));
        let got = pairs(&span_annotations(&r));
        let n = got.len();
        assert_eq!(
            got[n - 8..],
            [
                s("somelongval", "val"),
                s("service.name", "frontend"),
                s("ref.follows_from", "0000000000000003"),
                s("ref.child_of", "0000000000000abc"),
                s("ref.follows_from", "0123456789abcdef"),
                s("Span.Start", "2016-01-02T15:04:05.123456789Z"),
                s("Span.End", "2016-01-02T15:04:05.2Z"),
                ("_schema:Timespan".to_owned(), None),
            ]
        );

        // A child-of parent is not repeated; a span's own `service.name` tag wins.
        r.references = vec![
            reference(ReferenceKind::ChildOf, 3),
            reference(ReferenceKind::ChildOf, 4),
        ]
        .into();
        r.tags.push(KeyValue::new("service.name", "override"));
        let got = pairs(&span_annotations(&r));
        let extras: Vec<_> = got
            .iter()
            .filter(|(k, _)| k == SERVICE_NAME || k.starts_with("ref."))
            .cloned()
            .collect();
        assert_eq!(
            extras,
            vec![
                s("service.name", "override"),
                s("ref.child_of", "0000000000000004")
            ]
        );

        // An empty service name is not sent.
        r.tags.pop();
        r.process = Arc::new(Process {
            service_name: Cow::Borrowed(""),
            ..Process::default()
        });
        assert!(!span_annotations(&r).iter().any(|a| a.key == SERVICE_NAME));
    }

    #[test]
    fn the_switch_gives_go_annotations_byte_for_byte() {
        let mut r = record();
        r.references = vec![
            reference(ReferenceKind::FollowsFrom, 3),
            reference(ReferenceKind::ChildOf, 4),
        ]
        .into();
        let mut go = SpanEncoder::new().with_extra_annotations(false);
        assert!(!go.extra_annotations());
        assert!(SpanEncoder::new().extra_annotations());
        let plain = go.annotations(&r);
        let full = span_annotations(&r);
        assert_eq!(full.len(), plain.len() + 3);
        let without: Vec<Annotation> = full
            .into_iter()
            .filter(|a| a.key != SERVICE_NAME && !a.key.starts_with("ref."))
            .collect();
        assert_eq!(without, plain);
        assert!(plain
            .iter()
            .all(|a| a.key != SERVICE_NAME && !a.key.starts_with("ref.")));
        // The frames carry exactly those annotations.
        let mut out = Vec::new();
        assert_eq!(go.encode(&r, &mut out), 1);
        let packets = crate::wire::decode_frames(&out).unwrap();
        assert_eq!(packets[0].annotations, plain);
        let mut with = Vec::new();
        encode_span(&r, &mut with);
        assert!(with.len() > out.len());
    }

    #[test]
    fn ids_use_the_low_half_of_the_trace_id() {
        let r = record();
        assert_eq!(
            wire_span_id(&r),
            WireSpanId {
                trace: 1,
                span: 2,
                parent: 3
            }
        );
        let root = SpanRecord {
            parent_id: None,
            ..r
        };
        assert_eq!(wire_span_id(&root).parent, 0);
    }

    #[test]
    fn encoded_frame_decodes_to_the_annotations() {
        let r = record();
        let mut out = Vec::new();
        assert_eq!(encode_span(&r, &mut out), 1);
        let packets = crate::wire::decode_frames(&out).unwrap();
        assert_eq!(packets.len(), 1);
        assert_eq!(packets[0].span_id, wire_span_id(&r));
        assert_eq!(packets[0].annotations, span_annotations(&r));
    }

    #[test]
    fn golden_bytes_of_a_minimal_span() {
        // The name part of wire-formats 1.7 packet A, followed by the timespan of packet B.
        let mut r = record();
        r.trace_id = TraceId::from_u128(1).unwrap();
        r.tags.clear();
        r.logs.clear();
        r.baggage = Baggage::default();
        let mut out = Vec::new();
        // Go's annotations alone: the extras would add `service.name`.
        SpanEncoder::new()
            .with_extra_annotations(false)
            .encode(&r, &mut out);
        let packets = crate::wire::decode_frames(&out).unwrap();
        let mut expected = Vec::new();
        crate::wire::encode_frame(&packets[0], &mut expected).unwrap();
        assert_eq!(out, expected);
        // Packet A of wire-formats 1.7 (ids 1/2/3, the name event), then the timespan
        // annotations of packet B, under one 170-byte frame.
        use crate::wire::tests::{hex, PACKET_A, PACKET_B};
        let mut golden = vec![0xaa, 0x01];
        golden.extend_from_slice(&hex(PACKET_A)[1..]);
        golden.extend_from_slice(&hex(PACKET_B)[2 + 29..]);
        assert_eq!(out, golden);
    }

    #[test]
    fn a_reused_encoder_formats_every_time_afresh() {
        let mut enc = SpanEncoder::new();
        let mut out = Vec::new();
        let mut records = Vec::new();
        for (i, secs) in [5u64, 5, 6, 86_399, 86_400, 5].into_iter().enumerate() {
            let mut r = record();
            r.start = at(1_451_747_000 + secs, (i as u32) * 100_000_000);
            r.duration = Duration::from_millis(1500);
            enc.encode(&r, &mut out);
            records.push(r);
        }
        let packets = crate::wire::decode_frames(&out).unwrap();
        for (p, r) in packets.iter().zip(&records) {
            assert_eq!(p.annotations, span_annotations(r));
            let start = p.annotations.iter().find(|a| a.key == SPAN_START).unwrap();
            assert_eq!(start.value_str(), Some(format_time(r.start).as_str()));
        }
    }

    #[test]
    fn times_format_like_go_rfc3339nano() {
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_time(at(253_402_300_800, 5)),
            "10000-01-01T00:00:00.000000005Z"
        );
        assert_eq!(
            format_time(at(1_451_747_045, 200_000_000)),
            "2016-01-02T15:04:05.2Z"
        );
        assert_eq!(
            format_time(at(1_451_747_045, 1)),
            "2016-01-02T15:04:05.000000001Z"
        );
        assert_eq!(format_time(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(
            format_time(at(4_102_444_799, 999_999_990)),
            "2099-12-31T23:59:59.99999999Z"
        );
        assert_eq!(
            format_time(UNIX_EPOCH - Duration::new(1, 500_000_000)),
            "1969-12-31T23:59:58.5Z"
        );
        assert_eq!(
            format_time(UNIX_EPOCH - Duration::from_secs(86_400 * 365)),
            "1969-01-01T00:00:00Z"
        );
    }

    #[test]
    fn tag_values_print_like_go_percent_v() {
        let cases: [(Value, &str); 16] = [
            (Value::from(true), "true"),
            (Value::from(-42i32), "-42"),
            (Value::from(u64::MAX), "18446744073709551615"),
            (Value::from("text"), "text"),
            (Value::from(1.5), "1.5"),
            (Value::from(0.0), "0"),
            (Value::from(-0.0), "-0"),
            (Value::from(100_000.0), "100000"),
            (Value::from(123_456.0), "123456"),
            (Value::from(1_000_000.0), "1e+06"),
            (Value::from(1_234_567.0), "1.234567e+06"),
            (Value::from(0.0001), "0.0001"),
            (Value::from(0.00001234), "1.234e-05"),
            (Value::from(1e100), "1e+100"),
            (Value::from(f64::INFINITY), "+Inf"),
            (Value::from(f64::NAN), "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(tag_value(&v), want, "{v:?}");
        }
        assert_eq!(tag_value(&Value::from(-2.5e-7)), "-2.5e-07");
        assert_eq!(tag_value(&Value::from(f64::NEG_INFINITY)), "-Inf");
    }

    #[test]
    fn log_messages_materialize_like_appdash() {
        let log = |fields: Vec<KeyValue>| LogRecord {
            timestamp: UNIX_EPOCH,
            fields,
        };
        assert_eq!(log_message(&log(vec![KeyValue::new("event", "x")])), "x");
        assert_eq!(log_message(&log(vec![])), "{}");
        assert_eq!(
            log_message(&log(vec![
                KeyValue::new("event", "a"),
                KeyValue::new("event", "b")
            ])),
            "b",
            "a repeated key keeps its last value, leaving only `event`"
        );
        assert_eq!(
            log_message(&log(vec![KeyValue::new("msg", "x")])),
            r#"{"msg":"x"}"#
        );
        assert_eq!(
            log_message(&log(vec![
                KeyValue::new("z", 1.0),
                KeyValue::new("b", false),
                KeyValue::new("a", -3i64),
                KeyValue::new("n", f64::NAN),
                KeyValue::new("s", "tab\tnl\n\u{1}&\u{2028}é"),
            ])),
            r#"{"a":"-3","b":"false","n":"NaN","s":"tab\tnl\n\u0001\u0026\u2028é","z":"1.000000"}"#
        );
        assert_eq!(
            log_message(&log(vec![KeyValue::new("event", 2.5)])),
            "2.500000"
        );
    }

    #[test]
    fn huge_spans_split_into_frames_under_the_limit() {
        let mut r = record();
        r.tags = (0..40)
            .map(|i| KeyValue::new(format!("t{i}"), "x".repeat(100_000)))
            .collect();
        let mut out = Vec::new();
        let frames = encode_span(&r, &mut out);
        assert!(frames >= 4, "{frames}");
        let packets = crate::wire::decode_frames(&out).unwrap();
        assert_eq!(packets.len(), frames);
        assert!(packets.iter().all(|p| p.span_id == wire_span_id(&r)));
        assert!(packets.iter().all(|p| p.encoded_len() <= MAX_FRAME_SIZE));
        let merged: Vec<Annotation> = packets.into_iter().flat_map(|p| p.annotations).collect();
        assert_eq!(merged, span_annotations(&r));
    }

    #[test]
    fn spans_with_many_annotations_split_by_count() {
        let mut r = record();
        r.tags = (0..40_000u64)
            .map(|i| KeyValue::new(format!("t{i}"), i))
            .collect();
        let mut out = Vec::new();
        let frames = encode_span(&r, &mut out);
        assert!(frames >= 3, "{frames}");
        assert_eq!(out, reference_frames(&r), "the same bytes as plain packing");
        let packets = crate::wire::decode_frames(&out).unwrap();
        assert_eq!(packets.len(), frames);
        assert!(packets
            .iter()
            .all(|p| p.annotations.len() <= MAX_ANNOTATIONS_PER_PACKET));
        let merged: Vec<Annotation> = packets.into_iter().flat_map(|p| p.annotations).collect();
        assert_eq!(merged, span_annotations(&r));
    }

    #[test]
    fn an_annotation_too_large_for_any_frame_is_truncated() {
        let mut r = record();
        r.tags = vec![
            KeyValue::new("k".repeat(5000), "é".repeat(MAX_FRAME_SIZE)),
            KeyValue::new("after", "ok"),
        ];
        let mut out = Vec::new();
        encode_span(&r, &mut out);
        let packets = crate::wire::decode_frames(&out).unwrap();
        assert!(packets.iter().all(|p| p.encoded_len() <= MAX_FRAME_SIZE));
        let merged: Vec<Annotation> = packets.into_iter().flat_map(|p| p.annotations).collect();
        let big = merged.iter().find(|a| a.key.starts_with('k')).unwrap();
        assert_eq!(big.key.len(), MAX_KEY_WHEN_TRUNCATING);
        let v = big.value_str().expect("still valid UTF-8");
        assert!(v.len() > MAX_FRAME_SIZE - 10_000 && v.len() < MAX_FRAME_SIZE);
        assert!(merged.iter().any(|a| a.key == "after"));
        assert_eq!(merged.last().unwrap().key, SCHEMA_TIMESPAN);
    }

    /// The frames of a span as a plain reference writes them: the annotations packed greedily
    /// into packets under the frame and count limits, each packet through `encode_frame`.
    fn reference_frames(r: &SpanRecord) -> Vec<u8> {
        let id = wire_span_id(r);
        let mut packets: Vec<crate::wire::CollectPacket> = Vec::new();
        for a in span_annotations(r) {
            let n = annotation_len(a.key.len(), a.value.as_ref().map(Vec::len));
            match packets.last_mut() {
                Some(p)
                    if p.encoded_len() + n <= MAX_FRAME_SIZE
                        && p.annotations.len() < MAX_ANNOTATIONS_PER_PACKET =>
                {
                    p.annotations.push(a)
                }
                _ => packets.push(crate::wire::CollectPacket {
                    span_id: id,
                    annotations: vec![a],
                }),
            }
        }
        let mut out = Vec::new();
        for p in &packets {
            crate::wire::encode_frame(p, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn frames_match_a_plain_packing_at_every_split_point() {
        // The name and timespan annotations are written in one go when they fit: the bytes
        // must be those of annotation-by-annotation packing wherever the frame limit falls.
        let mut enc = SpanEncoder::new();
        for op_len in [14usize, 200] {
            for l in (MAX_FRAME_SIZE - 330..MAX_FRAME_SIZE - 60).step_by(3) {
                let mut r = record();
                r.logs.clear();
                r.operation = Cow::Owned("o".repeat(op_len));
                r.start = at(1_451_747_045, l as u32 * 997);
                r.duration = Duration::from_nanos(l as u64 * 1000);
                r.tags = vec![
                    KeyValue::new("v", "y".repeat(l)),
                    KeyValue::new("n", l as u64),
                ];
                let mut out = Vec::new();
                let frames = enc.encode(&r, &mut out);
                assert_eq!(out, reference_frames(&r), "op {op_len}, value {l}");
                assert_eq!(crate::wire::decode_frames(&out).unwrap().len(), frames);
            }
        }
        // Small spans of every shape agree too, times with every fraction length.
        for (i, nanos) in [0u32, 1, 10, 120_000_000, 123_456_789, 999_999_999]
            .into_iter()
            .enumerate()
        {
            let mut r = record();
            r.start = at(1_451_747_045 + i as u64, nanos);
            r.duration = Duration::new(i as u64, nanos / 3);
            r.tags.push(KeyValue::new("neg", -7i64));
            r.tags.push(KeyValue::new("big", u64::MAX));
            r.tags.push(KeyValue::new("f", 0.25));
            let mut out = Vec::new();
            enc.encode(&r, &mut out);
            assert_eq!(out, reference_frames(&r), "nanos {nanos}");
        }
    }

    #[test]
    fn frame_prefix_shift_is_right_for_every_varint_width() {
        for value_len in [0usize, 50, 100, 200, 16_300, 16_400, 20_000] {
            let mut r = record();
            r.tags = vec![KeyValue::new("v", "y".repeat(value_len))];
            let mut out = vec![0xee];
            encode_span(&r, &mut out);
            assert_eq!(out[0], 0xee);
            let packets = crate::wire::decode_frames(&out[1..]).unwrap();
            assert_eq!(packets.len(), 1);
            assert_eq!(packets[0].annotations, span_annotations(&r));
        }
    }
}
