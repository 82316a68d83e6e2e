//! The Appdash wire format: `CollectPacket` messages in varint-delimited frames.
//!
//! Appdash's collector protocol is one long-lived TCP (or TLS) stream from client to server,
//! carrying frames back to back. A frame is the unsigned LEB128 varint length of a message
//! followed by that many bytes of a proto2 `CollectPacket`:
//!
//! ```proto
//! message CollectPacket {
//!   required group SpanID = 1 {
//!     required fixed64 trace  = 2;
//!     required fixed64 span   = 3;
//!     optional fixed64 parent = 4;
//!   }
//!   repeated group Annotation = 5 {
//!     required string key   = 6;
//!     optional bytes  value = 7;
//!   }
//! }
//! ```
//!
//! There is no handshake, no version and no acknowledgement. Appdash's server refuses frames
//! over [`MAX_FRAME_SIZE`] (1 MiB) by closing the connection. This crate's decoder also
//! refuses a packet of more than [`MAX_ANNOTATIONS_PER_PACKET`] annotations, which bounds the
//! memory one frame can take once decoded; the recorder never sends one.
//!
//! This module is a hand-written codec (no protobuf crate: proto2 groups are rare enough that
//! generators handle them poorly). It is shared by the client of this crate and by collectors:
//! - [`encode_frame`] writes one frame; [`CollectPacket::encode`] the message alone.
//! - [`FrameDecoder`] is fed bytes as they arrive from a stream and yields packets. Any
//!   malformed input (bad varint, oversized or truncated frame, bad tags or wire types, missing
//!   required fields, keys that are not UTF-8) becomes a [`DecodeError`], never a panic, and
//!   the decoder never allocates on the word of a length prefix: a frame's bytes are buffered
//!   only as they arrive, and a prefix over the limit is refused before any of its body.
//!
//! The encoder always writes `trace`, `span` and `parent` (0 for a root): Appdash's Go server
//! dereferences `parent` without checking, so a packet without it can crash it. The decoder is
//! lenient where protobuf is: a missing `parent` reads as 0, unknown fields are skipped, and a
//! repeated `SpanID` group merges into the first, as proto2 merging does.
//!
//! ```
//! use recorder_appdash::wire::{encode_frame, Annotation, CollectPacket, FrameDecoder, WireSpanId};
//!
//! let packet = CollectPacket {
//!     span_id: WireSpanId { trace: 1, span: 2, parent: 3 },
//!     annotations: vec![
//!         Annotation::new("Name", "testOperation"),
//!         Annotation::marker("_schema:name"),
//!     ],
//! };
//! let mut frame = Vec::new();
//! encode_frame(&packet, &mut frame)?;
//! assert_eq!(frame[0], 68); // the varint length of the message that follows
//!
//! let mut decoder = FrameDecoder::new();
//! decoder.push(&frame);
//! assert_eq!(decoder.next_packet()?, Some(packet));
//! assert_eq!(decoder.next_packet()?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

/// The largest message a frame may carry: 1 MiB, as Appdash's server enforces.
pub const MAX_FRAME_SIZE: usize = 1024 * 1024;

/// The most annotations one packet may hold. A decoded annotation takes tens of bytes of
/// memory for as few as four on the wire, so without a cap one 1 MiB frame of tiny annotations
/// would grow to 12-25 MiB when decoded. Spans with more annotations are split over several
/// packets with the same span id, which Appdash stores as one span (the recorder does this).
pub const MAX_ANNOTATIONS_PER_PACKET: usize = 16_384;

/// Bytes of the `SpanID` group as this encoder writes it (start, three fixed64 fields, end).
pub(crate) const SPAN_ID_LEN: usize = 1 + 9 + 9 + 9 + 1;

// Tags (field number << 3 | wire type) of the CollectPacket message.
const TAG_SPAN_ID_START: u8 = 0x0b; // field 1, start group
const TAG_SPAN_ID_END: u8 = 0x0c; // field 1, end group
const TAG_TRACE: u8 = 0x11; // field 2, fixed64
const TAG_SPAN: u8 = 0x19; // field 3, fixed64
const TAG_PARENT: u8 = 0x21; // field 4, fixed64
const TAG_ANNOTATION_START: u8 = 0x2b; // field 5, start group
const TAG_ANNOTATION_END: u8 = 0x2c; // field 5, end group
const TAG_KEY: u8 = 0x32; // field 6, length-delimited
const TAG_VALUE: u8 = 0x3a; // field 7, length-delimited

// Wire types.
const WT_VARINT: u8 = 0;
const WT_FIXED64: u8 = 1;
const WT_LEN: u8 = 2;
const WT_START_GROUP: u8 = 3;
const WT_END_GROUP: u8 = 4;
const WT_FIXED32: u8 = 5;

/// How deeply unknown groups may nest before the decoder gives up.
const MAX_UNKNOWN_GROUP_DEPTH: usize = 64;

/// Appdash's span id triple: trace, span and parent (0 for a root), each 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireSpanId {
    /// The trace id (the low 64 bits of a 128-bit trace id).
    pub trace: u64,
    /// The span id.
    pub span: u64,
    /// The parent span id; 0 for a root span.
    pub parent: u64,
}

impl fmt::Display for WireSpanId {
    /// Appdash's `SpanID.String()`: `trace/span[/parent]` in 16 hex digits each, parent elided
    /// when 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}/{:016x}", self.trace, self.span)?;
        if self.parent != 0 {
            write!(f, "/{:016x}", self.parent)?;
        }
        Ok(())
    }
}

/// One key/value annotation of a span.
///
/// `value: None` (the field absent on the wire, Go's `nil`) differs from `Some(vec![])` (present
/// and empty): Appdash's schema markers such as `_schema:name` carry no value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Annotation {
    /// The key.
    pub key: String,
    /// The value, if any.
    pub value: Option<Vec<u8>>,
}

impl Annotation {
    /// An annotation with a value.
    pub fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Annotation {
        Annotation {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// An annotation without a value, such as the `_schema:*` markers.
    pub fn marker(key: impl Into<String>) -> Annotation {
        Annotation {
            key: key.into(),
            value: None,
        }
    }

    /// The value as UTF-8 text, if there is a value and it is valid UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        self.value
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    fn encoded_len(&self) -> usize {
        annotation_len(self.key.len(), self.value.as_ref().map(Vec::len))
    }
}

/// The message Appdash clients send: a span id and annotations for that span.
///
/// Appdash's store appends the annotations of every packet with the same span id, so a span may
/// arrive in several packets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CollectPacket {
    /// Which span the annotations belong to.
    pub span_id: WireSpanId,
    /// The annotations, in order.
    pub annotations: Vec<Annotation>,
}

impl CollectPacket {
    /// The length of the encoded message (without the frame's length prefix).
    pub fn encoded_len(&self) -> usize {
        SPAN_ID_LEN
            + self
                .annotations
                .iter()
                .map(Annotation::encoded_len)
                .sum::<usize>()
    }

    /// Appends the encoded message (without a length prefix) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_span_id(out, self.span_id);
        for a in &self.annotations {
            put_annotation(out, a.key.as_bytes(), a.value.as_deref());
        }
    }

    /// Decodes one message (the bytes of a frame, without its length prefix).
    pub fn decode(bytes: &[u8]) -> Result<CollectPacket, DecodeError> {
        decode_packet(bytes)
    }
}

/// Appends one frame (varint length, then the message) to `out`.
///
/// Fails, leaving `out` as it was, when the message is larger than [`MAX_FRAME_SIZE`], since
/// an Appdash server would drop the connection on it.
pub fn encode_frame(packet: &CollectPacket, out: &mut Vec<u8>) -> Result<(), FrameTooLarge> {
    let len = packet.encoded_len();
    if len > MAX_FRAME_SIZE {
        return Err(FrameTooLarge {
            len,
            max: MAX_FRAME_SIZE,
        });
    }
    out.reserve(varint_len(len as u64) + len);
    put_varint(out, len as u64);
    packet.encode(out);
    Ok(())
}

/// A packet too large for one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTooLarge {
    /// The encoded message length.
    pub len: usize,
    /// The limit it exceeds.
    pub max: usize,
}

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CollectPacket of {} bytes exceeds the {}-byte frame limit; split its annotations \
             over several packets with the same span id",
            self.len, self.max
        )
    }
}

impl std::error::Error for FrameTooLarge {}

/// Why bytes could not be decoded as Appdash frames.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// A varint ran past 10 bytes or past 64 bits.
    BadVarint,
    /// A frame's length prefix exceeds the limit.
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The input ended inside a frame or inside a field.
    Truncated,
    /// A tag with field number 0, or a wire type that does not exist (6 or 7).
    BadTag {
        /// The tag as read.
        tag: u64,
    },
    /// A known field arrived with the wrong wire type.
    WrongWireType {
        /// The field number.
        field: u32,
        /// The wire type it came with.
        wire_type: u8,
    },
    /// An end-group tag that closes no open group, or a group left open.
    UnbalancedGroup,
    /// Unknown groups nested too deeply.
    TooDeep,
    /// A required field was absent.
    MissingField(&'static str),
    /// An annotation key was not valid UTF-8.
    InvalidUtf8,
    /// A packet held more annotations than [`MAX_ANNOTATIONS_PER_PACKET`].
    TooManyAnnotations {
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadVarint => f.write_str("malformed varint (longer than 64 bits)"),
            DecodeError::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the {max}-byte limit")
            }
            DecodeError::Truncated => f.write_str("input ends in the middle of a frame or field"),
            DecodeError::BadTag { tag } => write!(f, "invalid protobuf tag {tag:#x}"),
            DecodeError::WrongWireType { field, wire_type } => {
                write!(f, "field {field} has unexpected wire type {wire_type}")
            }
            DecodeError::UnbalancedGroup => f.write_str("unbalanced protobuf group"),
            DecodeError::TooDeep => f.write_str("unknown groups nested too deeply"),
            DecodeError::MissingField(name) => write!(f, "required field `{name}` is missing"),
            DecodeError::InvalidUtf8 => f.write_str("annotation key is not valid UTF-8"),
            DecodeError::TooManyAnnotations { max } => {
                write!(f, "packet holds more than {max} annotations")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// An incremental decoder of a stream of frames.
///
/// Feed it bytes with [`push`](FrameDecoder::push) as they arrive, then call
/// [`next_packet`](FrameDecoder::next_packet) until it returns `Ok(None)` (more bytes needed).
/// At the end of the stream, [`finish`](FrameDecoder::finish) tells whether a frame was cut
/// short. After an error the stream cannot be resynchronised: every later call returns the
/// same error, and a server should close the connection.
///
/// Memory: the buffer holds at most the bytes pushed and not yet consumed. A length prefix over
/// the limit is an error as soon as the prefix is read, so a reader that drains the decoder
/// after each read never holds more than one frame plus one read's worth of bytes.
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    pos: usize,
    max_frame: usize,
    failed: Option<DecodeError>,
}

impl Default for FrameDecoder {
    fn default() -> FrameDecoder {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder with the [`MAX_FRAME_SIZE`] limit.
    pub fn new() -> FrameDecoder {
        FrameDecoder::with_max_frame_size(MAX_FRAME_SIZE)
    }

    /// A decoder with another frame size limit (at most 1 GiB; larger limits are clamped).
    pub fn with_max_frame_size(max: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            pos: 0,
            max_frame: max.min(1 << 30),
            failed: None,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes pushed but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The next complete packet; `Ok(None)` when more bytes are needed.
    pub fn next_packet(&mut self) -> Result<Option<CollectPacket>, DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (len, prefix) = match read_varint(rest) {
            Ok(v) => v,
            Err(DecodeError::Truncated) => return Ok(None),
            Err(e) => return Err(self.fail(e)),
        };
        if len > self.max_frame as u64 {
            return Err(self.fail(DecodeError::FrameTooLarge {
                len,
                max: self.max_frame,
            }));
        }
        // `len` is at most `max_frame`, a usize.
        let len = len as usize;
        let Some(body) = rest.get(prefix..prefix + len) else {
            return Ok(None);
        };
        match decode_packet(body) {
            Ok(packet) => {
                self.pos += prefix + len;
                if self.pos == self.buf.len() {
                    self.buf.clear();
                    self.pos = 0;
                }
                Ok(Some(packet))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Call at the end of the stream: an error if a frame was left incomplete (or an earlier
    /// error occurred).
    pub fn finish(&self) -> Result<(), DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.buffered() > 0 {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.failed = Some(e.clone());
        self.buf = Vec::new();
        self.pos = 0;
        e
    }
}

/// Decodes a buffer holding whole frames back to back (a convenience for tests and files).
pub fn decode_frames(bytes: &[u8]) -> Result<Vec<CollectPacket>, DecodeError> {
    let mut decoder = FrameDecoder::new();
    decoder.push(bytes);
    let mut out = Vec::new();
    while let Some(p) = decoder.next_packet()? {
        out.push(p);
    }
    decoder.finish()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Encoding primitives (shared with the span encoder of this crate).

pub(crate) fn varint_len(v: u64) -> usize {
    // Each byte carries 7 bits; 0 still takes one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_span_id(out: &mut Vec<u8>, id: WireSpanId) {
    out.extend_from_slice(&span_id_bytes(id));
}

/// The `SpanID` group as this encoder writes it, built on the stack so it is appended at once.
#[inline]
pub(crate) fn span_id_bytes(id: WireSpanId) -> [u8; SPAN_ID_LEN] {
    let mut b = [0u8; SPAN_ID_LEN];
    b[0] = TAG_SPAN_ID_START;
    b[1] = TAG_TRACE;
    b[2..10].copy_from_slice(&id.trace.to_le_bytes());
    b[10] = TAG_SPAN;
    b[11..19].copy_from_slice(&id.span.to_le_bytes());
    b[19] = TAG_PARENT;
    b[20..28].copy_from_slice(&id.parent.to_le_bytes());
    b[28] = TAG_SPAN_ID_END;
    b
}

/// Encoded length of an annotation group with a key and an optional value of these lengths.
pub(crate) fn annotation_len(key: usize, value: Option<usize>) -> usize {
    let mut n = 1 + 1 + varint_len(key as u64) + key + 1;
    if let Some(v) = value {
        n += 1 + varint_len(v as u64) + v;
    }
    n
}

#[inline(always)]
pub(crate) fn put_annotation(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    // Lengths under 128 are one-byte varints: the common case is written in a few appends.
    if key.len() < 0x80 {
        out.extend_from_slice(&[TAG_ANNOTATION_START, TAG_KEY, key.len() as u8]);
    } else {
        out.extend_from_slice(&[TAG_ANNOTATION_START, TAG_KEY]);
        put_varint(out, key.len() as u64);
    }
    out.extend_from_slice(key);
    match value {
        Some(v) if v.len() < 0x80 => {
            out.extend_from_slice(&[TAG_VALUE, v.len() as u8]);
            out.extend_from_slice(v);
        }
        Some(v) => {
            out.push(TAG_VALUE);
            put_varint(out, v.len() as u64);
            out.extend_from_slice(v);
        }
        None => {}
    }
    out.push(TAG_ANNOTATION_END);
}

// ---------------------------------------------------------------------------------------------
// Decoding.

/// Reads a varint from the start of `b`: (value, bytes used).
fn read_varint(b: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate() {
        if i == 9 && byte > 1 {
            // The tenth byte may only hold the 64th bit.
            return Err(DecodeError::BadVarint);
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, i + 1));
        }
        if i == 9 {
            return Err(DecodeError::BadVarint);
        }
    }
    Err(DecodeError::Truncated)
}

/// A cursor over a message's bytes.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let (v, n) = read_varint(self.b)?;
        self.b = self.b.get(n..).unwrap_or_default();
        Ok(v)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.b.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let bytes = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(a))
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated)?;
        self.take(n)
    }

    /// Reads a tag: (field number, wire type).
    fn tag(&mut self) -> Result<(u32, u8), DecodeError> {
        let tag = self.varint()?;
        let wire_type = (tag & 7) as u8;
        let field = tag >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) || wire_type > WT_FIXED32 {
            return Err(DecodeError::BadTag { tag });
        }
        Ok((field as u32, wire_type))
    }

    /// Skips the value of an unknown field whose tag was just read.
    fn skip(&mut self, field: u32, wire_type: u8) -> Result<(), DecodeError> {
        match wire_type {
            WT_VARINT => self.varint().map(drop),
            WT_FIXED64 => self.take(8).map(drop),
            WT_LEN => self.len_delimited().map(drop),
            WT_FIXED32 => self.take(4).map(drop),
            WT_START_GROUP => self.skip_group(field),
            _ => Err(DecodeError::UnbalancedGroup),
        }
    }

    /// Skips an unknown group (its start tag already read), nested groups included.
    fn skip_group(&mut self, field: u32) -> Result<(), DecodeError> {
        let mut open = vec![field];
        while let Some(&innermost) = open.last() {
            if self.is_empty() {
                return Err(DecodeError::Truncated);
            }
            let (f, wt) = self.tag()?;
            match wt {
                WT_START_GROUP => {
                    if open.len() >= MAX_UNKNOWN_GROUP_DEPTH {
                        return Err(DecodeError::TooDeep);
                    }
                    open.push(f);
                }
                WT_END_GROUP => {
                    if f != innermost {
                        return Err(DecodeError::UnbalancedGroup);
                    }
                    open.pop();
                }
                _ => self.skip(f, wt)?,
            }
        }
        Ok(())
    }
}

fn decode_packet(bytes: &[u8]) -> Result<CollectPacket, DecodeError> {
    let mut r = Reader { b: bytes };
    let mut trace = None;
    let mut span = None;
    let mut parent = None;
    let mut seen_span_id = false;
    let mut annotations = Vec::new();
    while !r.is_empty() {
        let (field, wt) = r.tag()?;
        match (field, wt) {
            (1, WT_START_GROUP) => {
                seen_span_id = true;
                decode_span_id(&mut r, &mut trace, &mut span, &mut parent)?;
            }
            (5, WT_START_GROUP) => {
                if annotations.len() >= MAX_ANNOTATIONS_PER_PACKET {
                    return Err(DecodeError::TooManyAnnotations {
                        max: MAX_ANNOTATIONS_PER_PACKET,
                    });
                }
                annotations.push(decode_annotation(&mut r)?)
            }
            (_, WT_END_GROUP) => return Err(DecodeError::UnbalancedGroup),
            (1 | 5, _) => {
                return Err(DecodeError::WrongWireType {
                    field,
                    wire_type: wt,
                })
            }
            _ => r.skip(field, wt)?,
        }
    }
    if !seen_span_id {
        return Err(DecodeError::MissingField("SpanID"));
    }
    Ok(CollectPacket {
        span_id: WireSpanId {
            trace: trace.ok_or(DecodeError::MissingField("SpanID.trace"))?,
            span: span.ok_or(DecodeError::MissingField("SpanID.span"))?,
            parent: parent.unwrap_or(0),
        },
        annotations,
    })
}

fn decode_span_id(
    r: &mut Reader<'_>,
    trace: &mut Option<u64>,
    span: &mut Option<u64>,
    parent: &mut Option<u64>,
) -> Result<(), DecodeError> {
    loop {
        if r.is_empty() {
            return Err(DecodeError::Truncated);
        }
        let (field, wt) = r.tag()?;
        let slot = match field {
            1 if wt == WT_END_GROUP => return Ok(()),
            2 => &mut *trace,
            3 => &mut *span,
            4 => &mut *parent,
            _ if wt == WT_END_GROUP => return Err(DecodeError::UnbalancedGroup),
            _ => {
                r.skip(field, wt)?;
                continue;
            }
        };
        if wt != WT_FIXED64 {
            return Err(DecodeError::WrongWireType {
                field,
                wire_type: wt,
            });
        }
        *slot = Some(r.fixed64()?);
    }
}

fn decode_annotation(r: &mut Reader<'_>) -> Result<Annotation, DecodeError> {
    let mut key = None;
    let mut value = None;
    loop {
        if r.is_empty() {
            return Err(DecodeError::Truncated);
        }
        let (field, wt) = r.tag()?;
        match (field, wt) {
            (5, WT_END_GROUP) => break,
            (6, WT_LEN) => key = Some(r.len_delimited()?),
            (7, WT_LEN) => value = Some(r.len_delimited()?),
            (6 | 7, _) => {
                return Err(DecodeError::WrongWireType {
                    field,
                    wire_type: wt,
                })
            }
            (_, WT_END_GROUP) => return Err(DecodeError::UnbalancedGroup),
            _ => r.skip(field, wt)?,
        }
    }
    let key = key.ok_or(DecodeError::MissingField("Annotation.key"))?;
    let key = std::str::from_utf8(key).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(Annotation {
        key: key.to_owned(),
        value: value.map(<[u8]>::to_vec),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_packet_with_too_many_annotations_is_refused() {
        let id = WireSpanId {
            trace: 1,
            span: 2,
            parent: 0,
        };
        let mut body = Vec::new();
        CollectPacket {
            span_id: id,
            annotations: Vec::new(),
        }
        .encode(&mut body);
        // The smallest annotation: an empty key, four bytes.
        let tiny = [0x2b, 0x32, 0x00, 0x2c];
        let at_limit = body.len() + tiny.len() * MAX_ANNOTATIONS_PER_PACKET;
        let mut packet = body.clone();
        for _ in 0..MAX_ANNOTATIONS_PER_PACKET {
            packet.extend_from_slice(&tiny);
        }
        assert_eq!(packet.len(), at_limit);
        let ok = CollectPacket::decode(&packet).unwrap();
        assert_eq!(ok.annotations.len(), MAX_ANNOTATIONS_PER_PACKET);
        packet.extend_from_slice(&tiny);
        assert_eq!(
            CollectPacket::decode(&packet),
            Err(DecodeError::TooManyAnnotations {
                max: MAX_ANNOTATIONS_PER_PACKET
            })
        );
        // A whole frame of tiny annotations: refused before it becomes 12-25 MiB of memory.
        let mut frame_body = body;
        while frame_body.len() + tiny.len() <= MAX_FRAME_SIZE {
            frame_body.extend_from_slice(&tiny);
        }
        let mut frame = Vec::new();
        put_varint(&mut frame, frame_body.len() as u64);
        frame.extend_from_slice(&frame_body);
        assert!(matches!(
            decode_frames(&frame),
            Err(DecodeError::TooManyAnnotations { .. })
        ));
    }

    /// A small deterministic generator (splitmix64), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
        fn text(&mut self, n: usize) -> String {
            const PIECES: [&str; 8] = ["a", "Z", "0", ":", ".", "é", "漢", "🦀"];
            (0..n)
                .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
                .collect()
        }
        fn id(&mut self) -> u64 {
            match self.below(4) {
                0 => 0,
                1 => u64::MAX,
                2 => self.below(300),
                _ => self.next(),
            }
        }
        fn packet(&mut self) -> CollectPacket {
            let n = match self.below(10) {
                0 => 0,
                9 => 200,
                _ => self.below(8) as usize,
            };
            let annotations = (0..n)
                .map(|_| {
                    let key_len = if self.below(20) == 0 {
                        200
                    } else {
                        self.below(12) as usize
                    };
                    let key = self.text(key_len);
                    let value = match self.below(4) {
                        0 => None,
                        1 => Some(Vec::new()),
                        2 => {
                            let n = if self.below(10) == 0 { 300 } else { 5 };
                            Some(self.bytes(n))
                        }
                        _ => Some(self.text(20).into_bytes()),
                    };
                    Annotation { key, value }
                })
                .collect();
            CollectPacket {
                span_id: WireSpanId {
                    trace: self.id(),
                    span: self.id(),
                    parent: self.id(),
                },
                annotations,
            }
        }
    }

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    fn packet_a() -> CollectPacket {
        CollectPacket {
            span_id: WireSpanId {
                trace: 1,
                span: 2,
                parent: 3,
            },
            annotations: vec![
                Annotation::new("Name", "testOperation"),
                Annotation::marker("_schema:name"),
            ],
        }
    }

    pub(crate) const PACKET_A: &str = "44 0b 11 01 00 00 00 00 00 00 00 19 02 00 00 00 00 00 00 00
        21 03 00 00 00 00 00 00 00 0c 2b 32 04 4e 61 6d 65
        3a 0d 74 65 73 74 4f 70 65 72 61 74 69 6f 6e 2c
        2b 32 0c 5f 73 63 68 65 6d 61 3a 6e 61 6d 65 2c";

    fn packet_b() -> CollectPacket {
        CollectPacket {
            span_id: WireSpanId {
                trace: 0x0123_4567_89ab_cdef,
                span: 0xfedc_ba98_7654_3210,
                parent: 0,
            },
            annotations: vec![
                Annotation::new("Span.Start", "2016-01-02T15:04:05.123456789Z"),
                Annotation::new("Span.End", "2016-01-02T15:04:05.2Z"),
                Annotation::marker("_schema:Timespan"),
            ],
        }
    }

    pub(crate) const PACKET_B: &str = "
        83 01 0b 11 ef cd ab 89 67 45 23 01 19 10 32 54 76 98 ba dc fe 21 00 00 00 00 00 00 00 00 0c
        2b 32 0a 53 70 61 6e 2e 53 74 61 72 74 3a 1e 32 30 31 36 2d 30 31 2d 30 32 54 31 35 3a 30 34
        3a 30 35 2e 31 32 33 34 35 36 37 38 39 5a 2c 2b 32 08 53 70 61 6e 2e 45 6e 64 3a 16 32 30 31
        36 2d 30 31 2d 30 32 54 31 35 3a 30 34 3a 30 35 2e 32 5a 2c 2b 32 10 5f 73 63 68 65 6d 61 3a
        54 69 6d 65 73 70 61 6e 2c";

    #[test]
    fn golden_packet_a() {
        let mut out = Vec::new();
        encode_frame(&packet_a(), &mut out).unwrap();
        assert_eq!(out, hex(PACKET_A));
        assert_eq!(out.len(), 69);
        assert_eq!(packet_a().encoded_len(), 68);
        assert_eq!(decode_frames(&hex(PACKET_A)).unwrap(), vec![packet_a()]);
    }

    #[test]
    fn golden_packet_b() {
        let mut out = Vec::new();
        encode_frame(&packet_b(), &mut out).unwrap();
        assert_eq!(out, hex(PACKET_B));
        assert_eq!(packet_b().encoded_len(), 131);
        assert_eq!(decode_frames(&hex(PACKET_B)).unwrap(), vec![packet_b()]);
    }

    #[test]
    fn both_golden_frames_back_to_back_byte_by_byte() {
        let mut stream = hex(PACKET_A);
        stream.extend(hex(PACKET_B));
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for b in &stream {
            d.push(std::slice::from_ref(b));
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
        }
        d.finish().unwrap();
        assert_eq!(got, vec![packet_a(), packet_b()]);
    }

    #[test]
    fn span_id_prints_like_appdash() {
        assert_eq!(
            packet_a().span_id.to_string(),
            "0000000000000001/0000000000000002/0000000000000003"
        );
        assert_eq!(
            packet_b().span_id.to_string(),
            "0123456789abcdef/fedcba9876543210"
        );
    }

    #[test]
    fn varints() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::MAX >> 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(read_varint(&out), Ok((v, out.len())));
        }
        assert_eq!(read_varint(&[0x80]), Err(DecodeError::Truncated));
        assert_eq!(read_varint(&[0xff; 10]), Err(DecodeError::BadVarint));
        let mut eleven = vec![0x80; 10];
        eleven.push(0);
        assert_eq!(read_varint(&eleven), Err(DecodeError::BadVarint));
        // 10th byte with more than the top bit.
        let mut big = vec![0xff; 9];
        big.push(0x02);
        assert_eq!(read_varint(&big), Err(DecodeError::BadVarint));
    }

    #[test]
    fn empty_and_absent_values_round_trip_distinctly() {
        let p = CollectPacket {
            span_id: WireSpanId::default(),
            annotations: vec![
                Annotation::marker("k"),
                Annotation::new("k", Vec::new()),
                Annotation::new("", "v"),
            ],
        };
        let mut out = Vec::new();
        encode_frame(&p, &mut out).unwrap();
        let back = decode_frames(&out).unwrap();
        assert_eq!(back, vec![p]);
        assert_eq!(back[0].annotations[0].value, None);
        assert_eq!(back[0].annotations[1].value, Some(Vec::new()));
    }

    #[test]
    fn generated_packets_round_trip() {
        let mut rng = Rng(42);
        let packets: Vec<CollectPacket> = (0..2000).map(|_| rng.packet()).collect();
        let mut stream = Vec::new();
        for p in &packets {
            let before = stream.len();
            encode_frame(p, &mut stream).unwrap();
            let body = stream.len() - before - varint_len(p.encoded_len() as u64);
            assert_eq!(body, p.encoded_len());
        }
        // Fed in uneven chunks.
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let n = (rng.below(700) as usize + 1).min(rest.len());
            d.push(&rest[..n]);
            rest = &rest[n..];
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
        }
        d.finish().unwrap();
        assert_eq!(got, packets);
    }

    #[test]
    fn oversized_packet_is_refused_by_the_encoder() {
        let p = CollectPacket {
            span_id: WireSpanId::default(),
            annotations: vec![Annotation::new("big", vec![0u8; MAX_FRAME_SIZE])],
        };
        let mut out = vec![1, 2];
        let err = encode_frame(&p, &mut out).unwrap_err();
        assert!(err.len > MAX_FRAME_SIZE);
        assert_eq!(out, vec![1, 2]);
    }

    /// Frames the decoder must refuse, with the error it must give.
    fn malformed() -> Vec<(&'static str, Vec<u8>, DecodeError)> {
        let good = hex(PACKET_A);
        let body = good[1..].to_vec();
        let frame = |b: &[u8]| {
            let mut v = Vec::new();
            put_varint(&mut v, b.len() as u64);
            v.extend_from_slice(b);
            v
        };
        let truncated_inner = frame(&body[..body.len() - 3]);
        vec![
            (
                "varint prefix too long",
                vec![0xff; 11],
                DecodeError::BadVarint,
            ),
            (
                "length over the limit",
                {
                    let mut v = Vec::new();
                    put_varint(&mut v, MAX_FRAME_SIZE as u64 + 1);
                    v
                },
                DecodeError::FrameTooLarge {
                    len: MAX_FRAME_SIZE as u64 + 1,
                    max: MAX_FRAME_SIZE,
                },
            ),
            (
                "huge length",
                vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                DecodeError::FrameTooLarge {
                    len: u64::MAX,
                    max: MAX_FRAME_SIZE,
                },
            ),
            (
                "message cut inside",
                truncated_inner,
                DecodeError::Truncated,
            ),
            (
                "frame cut short",
                good[..40].to_vec(),
                DecodeError::Truncated,
            ),
            (
                "empty message",
                frame(&[]),
                DecodeError::MissingField("SpanID"),
            ),
            (
                "no span field",
                frame(&[0x0b, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x0c]),
                DecodeError::MissingField("SpanID.span"),
            ),
            (
                "no trace field",
                frame(&[0x0b, 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x0c]),
                DecodeError::MissingField("SpanID.trace"),
            ),
            (
                "annotation without key",
                frame(&[&body[..29], &[0x2b, 0x3a, 0x00, 0x2c][..]].concat()),
                DecodeError::MissingField("Annotation.key"),
            ),
            (
                "key not UTF-8",
                frame(&[&body[..29], &[0x2b, 0x32, 0x02, 0xc3, 0x28, 0x2c][..]].concat()),
                DecodeError::InvalidUtf8,
            ),
            (
                "field number zero",
                frame(&[0x02, 0x00]),
                DecodeError::BadTag { tag: 2 },
            ),
            (
                "wire type 7",
                frame(&[0x0f]),
                DecodeError::BadTag { tag: 0x0f },
            ),
            (
                "SpanID as bytes",
                frame(&[0x0a, 0x00]),
                DecodeError::WrongWireType {
                    field: 1,
                    wire_type: 2,
                },
            ),
            (
                "trace as varint",
                frame(&[0x0b, 0x10, 0x01, 0x0c]),
                DecodeError::WrongWireType {
                    field: 2,
                    wire_type: 0,
                },
            ),
            (
                "key as fixed64",
                frame(&[&body[..29], &[0x2b, 0x31][..], &[0; 8], &[0x2c]].concat()),
                DecodeError::WrongWireType {
                    field: 6,
                    wire_type: 1,
                },
            ),
            (
                "SpanID group never closed",
                frame(&body[..28]),
                DecodeError::Truncated,
            ),
            (
                "stray end group",
                frame(&[&body[..29], &[0x2c][..]].concat()),
                DecodeError::UnbalancedGroup,
            ),
            (
                "SpanID closed by the annotation's end tag",
                frame(&[&body[..28], &[0x2c][..]].concat()),
                DecodeError::UnbalancedGroup,
            ),
            (
                "key length past the end",
                frame(&[&body[..29], &[0x2b, 0x32, 0x7f, b'a', 0x2c][..]].concat()),
                DecodeError::Truncated,
            ),
            (
                "unknown groups nested too deep",
                frame(&[&body[..29], &[0x43; 100][..]].concat()),
                DecodeError::TooDeep,
            ),
            (
                "unknown group closed by another field",
                frame(&[&body[..29], &[0x43, 0x4c][..]].concat()),
                DecodeError::UnbalancedGroup,
            ),
        ]
    }

    #[test]
    fn malformed_frames_are_errors() {
        for (name, bytes, want) in malformed() {
            let mut d = FrameDecoder::new();
            d.push(&bytes);
            let got = match d.next_packet() {
                Err(e) => e,
                Ok(Some(p)) => panic!("{name}: decoded {p:?}"),
                Ok(None) => d.finish().expect_err(name),
            };
            assert_eq!(got, want, "{name}");
            assert!(!got.to_string().is_empty());
            // The decoder stays failed.
            d.push(&hex(PACKET_A));
            if want != DecodeError::Truncated {
                assert_eq!(d.next_packet(), Err(want), "{name}");
            }
        }
    }

    #[test]
    fn oversized_prefix_fails_before_the_body_arrives() {
        let mut d = FrameDecoder::new();
        d.push(&[0x81, 0x80, 0x40]); // 1 MiB + 1
        assert!(matches!(
            d.next_packet(),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert_eq!(d.buffered(), 0);
        // A frame of exactly the limit is accepted.
        let mut d = FrameDecoder::new();
        let mut p = packet_a();
        let room = MAX_FRAME_SIZE - p.encoded_len() - annotation_len(1, Some(0));
        let value_len = room - (varint_len(room as u64) - 1);
        p.annotations
            .push(Annotation::new("v", vec![7u8; value_len - 2]));
        let mut frame = Vec::new();
        encode_frame(&p, &mut frame).unwrap();
        assert!(p.encoded_len() <= MAX_FRAME_SIZE);
        assert!(p.encoded_len() > MAX_FRAME_SIZE - 8);
        d.push(&frame);
        assert_eq!(d.next_packet().unwrap(), Some(p));
    }

    #[test]
    fn unknown_fields_are_skipped_and_missing_parent_is_zero() {
        let mut body = Vec::new();
        body.extend_from_slice(&[0x0b, 0x11, 9, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0x19, 8, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0x48, 0x96, 0x01]); // field 9, varint, inside SpanID
        body.push(0x0c);
        body.extend_from_slice(&[0x55, 1, 2, 3, 4]); // field 10, fixed32
        body.extend_from_slice(&[0x5b, 0x63, 0x64, 0x5c]); // field 11 group containing group 12
        body.extend_from_slice(&[0x2b, 0x32, 0x01, b'k', 0x6a, 0x01, b'x', 0x2c]); // field 13 in annotation
        let mut frame = Vec::new();
        put_varint(&mut frame, body.len() as u64);
        frame.extend_from_slice(&body);
        let got = decode_frames(&frame).unwrap();
        assert_eq!(
            got,
            vec![CollectPacket {
                span_id: WireSpanId {
                    trace: 9,
                    span: 8,
                    parent: 0
                },
                annotations: vec![Annotation::marker("k")],
            }]
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(7);
        let mut good = Vec::new();
        for _ in 0..50 {
            encode_frame(&rng.packet(), &mut good).unwrap();
        }
        for round in 0..6_000 {
            let input = match round % 3 {
                // Pure noise.
                0 => {
                    let n = rng.below(200) as usize;
                    rng.bytes(n)
                }
                // Valid frames with bytes flipped.
                1 => {
                    let mut v = good[..good.len().min(600)].to_vec();
                    for _ in 0..=rng.below(4) {
                        let i = rng.below(v.len() as u64) as usize;
                        v[i] ^= 1 << rng.below(8);
                    }
                    v
                }
                // Valid frames cut short.
                _ => good[..rng.below(good.len() as u64) as usize].to_vec(),
            };
            let mut d = FrameDecoder::new();
            let mut rest = &input[..];
            let mut decoded = 0usize;
            while !rest.is_empty() {
                let n = (rng.below(64) as usize + 1).min(rest.len());
                d.push(&rest[..n]);
                rest = &rest[n..];
                while let Ok(Some(p)) = d.next_packet() {
                    decoded += 1;
                    // Whatever decodes re-encodes to something that decodes the same.
                    let mut again = Vec::new();
                    encode_frame(&p, &mut again).unwrap();
                    assert_eq!(decode_frames(&again).unwrap(), vec![p]);
                }
                assert!(d.buffered() <= input.len());
            }
            let _ = d.finish();
            assert!(decoded <= input.len());
        }
    }
}
