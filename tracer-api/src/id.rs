//! Trace and span identifiers, and the generator that makes them.
//!
//! A [`TraceId`] holds up to 128 bits and is never zero. An id whose high 64 bits are zero is a
//! *64-bit id*: it prints as 16 hex digits and stays 16 digits on B3 and Zipkin wires (never
//! silently padded to 32). A [`SpanId`] is 64 bits and never zero. Hex is lower-case and
//! zero-padded; parsing accepts upper case too, as B3 readers do.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

/// A trace identifier: 64 or 128 bits, never zero.
///
/// Stored as two 64-bit halves (not a `u128`), so it is 8-byte aligned and copies with plain
/// 64-bit moves on the hot path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId {
    high: u64,
    low: u64,
}

/// A span identifier: 64 bits, never zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(NonZeroU64);

/// Why a hex id could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseIdError {
    /// The text was empty.
    Empty,
    /// The text was longer than the id allows (16 digits for a span id, 32 for a trace id).
    TooLong,
    /// The text held a character that is not a hex digit.
    NotHex,
    /// The id was all zeros, which no tracer may send.
    Zero,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseIdError::Empty => "id is empty",
            ParseIdError::TooLong => "id has too many hex digits",
            ParseIdError::NotHex => "id contains a character that is not a hex digit",
            ParseIdError::Zero => "id is all zeros",
        })
    }
}

impl std::error::Error for ParseIdError {}

fn parse_hex(s: &str, max_digits: usize) -> Result<u128, ParseIdError> {
    if s.is_empty() {
        return Err(ParseIdError::Empty);
    }
    if s.len() > max_digits {
        return Err(ParseIdError::TooLong);
    }
    let mut v: u128 = 0;
    for b in s.bytes() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(ParseIdError::NotHex),
        };
        v = (v << 4) | u128::from(d);
    }
    Ok(v)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(out: &mut [u8], mut v: u128) {
    for slot in out.iter_mut().rev() {
        *slot = HEX[(v & 0xf) as usize];
        v >>= 4;
    }
}

impl TraceId {
    /// Makes a trace id from 128 bits; `None` when zero.
    pub const fn from_u128(v: u128) -> Option<TraceId> {
        TraceId::from_parts((v >> 64) as u64, v as u64)
    }

    /// Makes a trace id from its high and low 64 bits; `None` when both are zero.
    /// A zero `high` gives a 64-bit id.
    pub const fn from_parts(high: u64, low: u64) -> Option<TraceId> {
        if high == 0 && low == 0 {
            None
        } else {
            Some(TraceId { high, low })
        }
    }

    /// The id as a 128-bit integer.
    pub const fn to_u128(self) -> u128 {
        ((self.high as u128) << 64) | self.low as u128
    }

    /// The high 64 bits (zero for a 64-bit id).
    pub const fn high(self) -> u64 {
        self.high
    }

    /// The low 64 bits.
    pub const fn low(self) -> u64 {
        self.low
    }

    /// True when the high 64 bits are set, so the id needs 32 hex digits.
    pub const fn is_128bit(self) -> bool {
        self.high() != 0
    }

    /// Parses 1 to 32 hex digits (either case). Up to 16 digits give a 64-bit id; a 32-digit id
    /// whose first 16 digits are zero is the same id as its low half, as Zipkin treats it.
    pub fn from_hex(s: &str) -> Result<TraceId, ParseIdError> {
        TraceId::from_u128(parse_hex(s, 32)?).ok_or(ParseIdError::Zero)
    }

    /// Writes the id as 16 (64-bit) or 32 (128-bit) lower-case hex digits into `buf` and returns
    /// the text, without allocating.
    pub fn encode_hex(self, buf: &mut [u8; 32]) -> &str {
        let n = if self.is_128bit() { 32 } else { 16 };
        write_hex(&mut buf[..n], self.to_u128());
        // Only ASCII hex digits were written.
        std::str::from_utf8(&buf[..n]).unwrap_or_default()
    }

    /// Always 32 lower-case hex digits, left-padded with zeros (the W3C form).
    pub fn to_hex32(self) -> String {
        let mut buf = [0u8; 32];
        write_hex(&mut buf, self.to_u128());
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 32];
        f.write_str(self.encode_hex(&mut buf))
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl FromStr for TraceId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceId::from_hex(s)
    }
}

impl SpanId {
    /// Makes a span id; `None` when zero.
    pub const fn from_u64(v: u64) -> Option<SpanId> {
        match NonZeroU64::new(v) {
            Some(v) => Some(SpanId(v)),
            None => None,
        }
    }

    /// The id as a 64-bit integer.
    pub const fn to_u64(self) -> u64 {
        self.0.get()
    }

    /// Parses 1 to 16 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<SpanId, ParseIdError> {
        SpanId::from_u64(parse_hex(s, 16)? as u64).ok_or(ParseIdError::Zero)
    }

    /// Writes the id as 16 lower-case hex digits into `buf` and returns the text.
    pub fn encode_hex(self, buf: &mut [u8; 16]) -> &str {
        write_hex(buf, u128::from(self.to_u64()));
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 16];
        f.write_str(self.encode_hex(&mut buf))
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl FromStr for SpanId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpanId::from_hex(s)
    }
}

thread_local! {
    // Zero means "not seeded yet": a `const` initialiser keeps every access a plain
    // thread-local load (no lazy-init call on the hot path).
    static RNG: Cell<u64> = const { Cell::new(0) };
}

#[cold]
#[inline(never)]
fn seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS once per process and perturbed per instance, which is
    // enough entropy for ids (they need to be unique, not secret).
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish() | 1
}

const WY_INCREMENT: u64 = 0xa076_1d64_78bd_642f;

/// wyrand's output function for one step of its (additive) state.
#[inline(always)]
fn wymix(x: u64) -> u64 {
    let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
    ((t >> 64) as u64) ^ (t as u64)
}

/// `N` fast per-thread random numbers (wyrand), the same as `N` single steps would give, with
/// one thread-local access; the steps do not depend on each other, so they run in parallel.
/// Not cryptographic.
#[inline(always)]
fn random_words<const N: usize>() -> [u64; N] {
    let from = |state: u64| -> [u64; N] {
        std::array::from_fn(|i| wymix(state.wrapping_add(WY_INCREMENT.wrapping_mul(i as u64 + 1))))
    };
    RNG.try_with(|s| {
        let mut state = s.get();
        if state == 0 {
            state = seed();
        }
        s.set(state.wrapping_add(WY_INCREMENT.wrapping_mul(N as u64)));
        from(state)
    })
    // Only during thread teardown: a fresh seed each time is still random enough.
    .unwrap_or_else(|_| from(seed()))
}

/// A fast per-thread random number (wyrand). Not cryptographic.
#[inline]
pub(crate) fn random_u64() -> u64 {
    let [x] = random_words::<1>();
    x
}

/// A new random span id.
#[inline]
pub(crate) fn new_span_id() -> SpanId {
    match SpanId::from_u64(random_u64()) {
        Some(id) => id,
        None => new_span_id_retry(),
    }
}

/// After a zero (once in 2^64 ids): draw again.
#[cold]
#[inline(never)]
fn new_span_id_retry() -> SpanId {
    loop {
        if let Some(id) = SpanId::from_u64(random_u64()) {
            return id;
        }
    }
}

/// The trace id made of `low` and, for a 128-bit id, `high`, when it is a valid id of the
/// asked width (a 128-bit id needs a non-zero high half).
#[inline(always)]
fn trace_id_of(wide: bool, low: u64, high: u64) -> Option<TraceId> {
    let high = if wide { high } else { 0 };
    // Both widths need one half non-zero: the high one for 128 bits, the low one for 64.
    let must = if wide { high } else { low };
    if must == 0 {
        None
    } else {
        Some(TraceId { high, low })
    }
}

/// A new random trace id of 128 bits (high half never zero) or 64 bits.
#[inline]
pub(crate) fn new_trace_id(wide: bool) -> TraceId {
    let [low, high] = random_words::<2>();
    match trace_id_of(wide, low, high) {
        Some(id) => id,
        None => new_trace_id_retry(wide),
    }
}

/// After an invalid draw (once in 2^64): draw again.
#[cold]
#[inline(never)]
fn new_trace_id_retry(wide: bool) -> TraceId {
    loop {
        let [low, high] = random_words::<2>();
        if let Some(id) = trace_id_of(wide, low, high) {
            return id;
        }
    }
}

/// A new root span's ids: a random trace id (as [`new_trace_id`]) and a random span id, drawn
/// together with one thread-local access.
#[inline]
pub(crate) fn new_root_ids(wide: bool) -> (TraceId, SpanId) {
    let [low, high, span] = random_words::<3>();
    match (trace_id_of(wide, low, high), SpanId::from_u64(span)) {
        (Some(trace), Some(span)) => (trace, span),
        _ => new_root_ids_retry(wide),
    }
}

#[cold]
#[inline(never)]
fn new_root_ids_retry(wide: bool) -> (TraceId, SpanId) {
    (new_trace_id(wide), new_span_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_padded() {
        let t = TraceId::from_parts(0, 0x7b).unwrap();
        assert_eq!(t.to_string(), "000000000000007b");
        assert!(!t.is_128bit());
        let t = TraceId::from_parts(1, 2).unwrap();
        assert_eq!(t.to_string(), "00000000000000010000000000000002");
        assert_eq!(
            SpanId::from_u64(0xAB).unwrap().to_string(),
            "00000000000000ab"
        );
        assert_eq!(
            TraceId::from_parts(0, 5).unwrap().to_hex32(),
            "00000000000000000000000000000005"
        );
    }

    #[test]
    fn parse_round_trips_and_rejects() {
        let t: TraceId = "80f198ee56343ba864fe8b2a57d3eff7".parse().unwrap();
        assert_eq!(t.to_string(), "80f198ee56343ba864fe8b2a57d3eff7");
        assert_eq!(
            "ABC".parse::<SpanId>().unwrap(),
            SpanId::from_u64(0xabc).unwrap()
        );
        // A 32-digit id with a zero high half is the 64-bit id.
        let t: TraceId = "0000000000000000000000000000007b".parse().unwrap();
        assert_eq!(t.to_string(), "000000000000007b");
        assert_eq!("".parse::<TraceId>(), Err(ParseIdError::Empty));
        assert_eq!("0".parse::<TraceId>(), Err(ParseIdError::Zero));
        assert_eq!("0000".parse::<SpanId>(), Err(ParseIdError::Zero));
        assert_eq!("x1".parse::<SpanId>(), Err(ParseIdError::NotHex));
        assert_eq!("-1".parse::<SpanId>(), Err(ParseIdError::NotHex));
        assert_eq!("é".parse::<SpanId>(), Err(ParseIdError::NotHex));
        assert_eq!(
            "11111111111111111".parse::<SpanId>(),
            Err(ParseIdError::TooLong)
        );
        assert_eq!(
            "1".repeat(33).parse::<TraceId>(),
            Err(ParseIdError::TooLong)
        );
    }

    #[test]
    fn generated_ids_have_the_asked_width() {
        for _ in 0..1000 {
            assert!(new_trace_id(true).is_128bit());
            assert!(!new_trace_id(false).is_128bit());
        }
        let a = new_span_id();
        let b = new_span_id();
        assert_ne!(a, b);
        for _ in 0..1000 {
            let (t, s) = new_root_ids(true);
            assert!(t.is_128bit());
            assert_ne!(t.low(), s.to_u64());
            let (t, _) = new_root_ids(false);
            assert!(!t.is_128bit());
        }
    }

    #[test]
    fn drawing_several_words_is_the_same_sequence_as_single_steps() {
        RNG.with(|s| s.set(12345));
        let one: Vec<u64> = (0..6).map(|_| random_u64()).collect();
        RNG.with(|s| s.set(12345));
        let [a, b] = random_words::<2>();
        let [c, d, e] = random_words::<3>();
        let [f] = random_words::<1>();
        assert_eq!(one, vec![a, b, c, d, e, f]);
    }
}
