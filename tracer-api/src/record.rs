//! The finished span handed to recorders, and the process it came from.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::context::{Baggage, Sampling};
use crate::id::{SpanId, TraceId};
use crate::value::{KeyValue, LogRecord, Value};

/// How a span relates to a span it references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReferenceKind {
    /// The referenced span depends on this one's outcome (a call).
    ChildOf,
    /// The referenced span does not wait for this one (fire and forget, a queue).
    FollowsFrom,
}

impl ReferenceKind {
    /// `child_of` or `follows_from`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::ChildOf => "child_of",
            ReferenceKind::FollowsFrom => "follows_from",
        }
    }
}

/// A reference from a span to another span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The kind of relation.
    pub kind: ReferenceKind,
    /// The referenced span's trace.
    pub trace_id: TraceId,
    /// The referenced span.
    pub span_id: SpanId,
}

/// A span's references, in order: the first is the parent.
///
/// Almost every span has no reference (a root) or one (its parent), so one reference is kept
/// inline and only two or more go to the heap: recording a sampled child span allocates no
/// list. It dereferences to a slice, so `iter()`, `len()`, `first()`, `is_empty()` and
/// indexing work as on a `Vec`; it compares, hashes and prints as that slice, whichever way
/// it is stored. It takes the room of one [`Reference`] (32 bytes on 64-bit targets), the
/// spilled `Vec` fitting in the same space.
///
/// ```
/// use tracer_api::{Reference, ReferenceKind, References, SpanId, TraceId};
///
/// let parent = Reference {
///     kind: ReferenceKind::ChildOf,
///     trace_id: TraceId::from_u128(1).ok_or("zero id")?,
///     span_id: SpanId::from_u64(2).ok_or("zero id")?,
/// };
/// let mut refs = References::from(parent);
/// assert_eq!(refs.len(), 1);
/// assert_eq!(refs[0].span_id, parent.span_id);
///
/// refs.push(Reference { kind: ReferenceKind::FollowsFrom, ..parent });
/// assert_eq!(refs.first(), Some(&parent));
/// assert_eq!(refs, References::from(vec![parent, refs[1]]));
/// assert!(References::new().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct References(Repr);

/// How [`References`] stores its list: `Many` holds two or more (when built by this module;
/// comparisons never depend on it).
#[derive(Clone, Default)]
enum Repr {
    #[default]
    None,
    One(Reference),
    Many(Vec<Reference>),
}

impl References {
    /// No references (a root span). Does not allocate.
    pub const fn new() -> References {
        References(Repr::None)
    }

    /// The references as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[Reference] {
        match &self.0 {
            Repr::None => &[],
            Repr::One(r) => std::slice::from_ref(r),
            Repr::Many(v) => v,
        }
    }

    /// Appends a reference. The second one moves the list to the heap.
    pub fn push(&mut self, reference: Reference) {
        match &mut self.0 {
            Repr::None => self.0 = Repr::One(reference),
            Repr::One(first) => {
                let mut v = Vec::with_capacity(4);
                v.push(*first);
                v.push(reference);
                self.0 = Repr::Many(v);
            }
            Repr::Many(v) => v.push(reference),
        }
    }

    /// The references as a `Vec` (allocates for a single, inline reference).
    pub fn into_vec(self) -> Vec<Reference> {
        match self.0 {
            Repr::None => Vec::new(),
            Repr::One(r) => vec![r],
            Repr::Many(v) => v,
        }
    }
}

impl Deref for References {
    type Target = [Reference];

    #[inline]
    fn deref(&self) -> &[Reference] {
        self.as_slice()
    }
}

impl AsRef<[Reference]> for References {
    fn as_ref(&self) -> &[Reference] {
        self.as_slice()
    }
}

impl fmt::Debug for References {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl PartialEq for References {
    fn eq(&self, other: &References) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for References {}

impl PartialEq<[Reference]> for References {
    fn eq(&self, other: &[Reference]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<Reference>> for References {
    fn eq(&self, other: &Vec<Reference>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> PartialEq<[Reference; N]> for References {
    fn eq(&self, other: &[Reference; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Hash for References {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl From<Reference> for References {
    #[inline]
    fn from(reference: Reference) -> References {
        References(Repr::One(reference))
    }
}

impl From<Vec<Reference>> for References {
    /// Keeps zero or one reference inline (freeing the `Vec`), more in the `Vec`.
    fn from(mut v: Vec<Reference>) -> References {
        if v.len() > 1 {
            return References(Repr::Many(v));
        }
        match v.pop() {
            Some(r) => References(Repr::One(r)),
            None => References(Repr::None),
        }
    }
}

impl<const N: usize> From<[Reference; N]> for References {
    fn from(array: [Reference; N]) -> References {
        array.into_iter().collect()
    }
}

impl From<&[Reference]> for References {
    fn from(slice: &[Reference]) -> References {
        slice.iter().copied().collect()
    }
}

impl From<References> for Vec<Reference> {
    fn from(references: References) -> Vec<Reference> {
        references.into_vec()
    }
}

impl Extend<Reference> for References {
    fn extend<I: IntoIterator<Item = Reference>>(&mut self, iter: I) {
        for reference in iter {
            self.push(reference);
        }
    }
}

impl FromIterator<Reference> for References {
    fn from_iter<I: IntoIterator<Item = Reference>>(iter: I) -> References {
        let mut references = References::new();
        references.extend(iter);
        references
    }
}

impl<'a> IntoIterator for &'a References {
    type Item = &'a Reference;
    type IntoIter = std::slice::Iter<'a, Reference>;

    fn into_iter(self) -> std::slice::Iter<'a, Reference> {
        self.as_slice().iter()
    }
}

/// A network endpoint: where a service runs. Every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Port; `None` or zero when unknown.
    pub port: Option<u16>,
}

impl Endpoint {
    /// True when no part is set.
    pub fn is_empty(&self) -> bool {
        self.ipv4.is_none() && self.ipv6.is_none() && self.port.is_none_or(|p| p == 0)
    }
}

/// The process that recorded a span: service name, endpoint and process-wide tags. Shared by
/// every span of a tracer (one `Arc`, never copied per span).
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    /// The service name (Zipkin's `localEndpoint.serviceName`).
    pub service_name: Cow<'static, str>,
    /// Where the service runs.
    pub endpoint: Endpoint,
    /// Tags that apply to every span of the process (host name, version, ...).
    pub tags: Vec<KeyValue>,
}

impl Default for Process {
    fn default() -> Process {
        Process {
            service_name: Cow::Borrowed("unknown_service"),
            endpoint: Endpoint::default(),
            tags: Vec::new(),
        }
    }
}

/// A finished span: what a [`Recorder`](crate::Recorder) receives.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord {
    /// The trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// The parent: the first reference's span, of either kind; `None` for a root. A shared
    /// span (see [`SpanRecord::shared`]) has the id of the client span it joined, so its
    /// parent is that client span's parent, while `references[0]` names the client span.
    pub parent_id: Option<SpanId>,
    /// Every reference given when the span started, in order (the first is the parent); one
    /// is stored inline, without an allocation.
    pub references: References,
    /// The operation name.
    pub operation: Cow<'static, str>,
    /// When the span started (wall clock).
    pub start: SystemTime,
    /// How long it took: on the monotonic clock when neither the start nor the finish time
    /// was given explicitly, otherwise finish − start on the wall clock (zero if negative).
    pub duration: Duration,
    /// Tags, in the order they were set; setting a key again replaces its value in place.
    pub tags: Vec<KeyValue>,
    /// Logs, in the order they were written.
    pub logs: Vec<LogRecord>,
    /// Baggage the span carried when it finished.
    pub baggage: Baggage,
    /// Sampling state (`Accept` or `Debug`: unsampled spans are never recorded).
    pub sampling: Sampling,
    /// True when this span shares its id with the remote client span it joined (Zipkin's
    /// `shared`: the server half of an RPC span, when the tracer shares span ids).
    pub shared: bool,
    /// The process that recorded it (shared by every span of the tracer).
    pub process: Arc<Process>,
}

impl SpanRecord {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&Value> {
        self.tags.iter().find(|t| t.key == key).map(|t| &t.value)
    }

    /// When the span finished (start + duration).
    pub fn end(&self) -> SystemTime {
        self.start + self.duration
    }

    /// A rough size of the record in bytes, for queue accounting.
    pub fn estimated_size(&self) -> usize {
        fn value_len(v: &Value) -> usize {
            match v {
                Value::Str(s) => s.len(),
                _ => 8,
            }
        }
        let tags: usize = self
            .tags
            .iter()
            .map(|t| t.key.len() + value_len(&t.value) + 8)
            .sum();
        let logs: usize = self
            .logs
            .iter()
            .map(|l| {
                16 + l
                    .fields
                    .iter()
                    .map(|f| f.key.len() + value_len(&f.value) + 8)
                    .sum::<usize>()
            })
            .sum();
        let baggage: usize = self
            .baggage
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum();
        96 + self.operation.len() + self.references.len() * 32 + tags + logs + baggage
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    fn reference(kind: ReferenceKind, span: u64) -> Reference {
        Reference {
            kind,
            trace_id: TraceId::from_u128(0xabc).unwrap(),
            span_id: SpanId::from_u64(span).unwrap(),
        }
    }

    fn hash(r: &References) -> u64 {
        let mut h = DefaultHasher::new();
        r.hash(&mut h);
        h.finish()
    }

    #[test]
    fn stays_as_small_as_one_reference() {
        // One reference inline, the `Vec` in the space the reference leaves.
        assert_eq!(
            std::mem::size_of::<References>(),
            std::mem::size_of::<Reference>()
        );
    }

    #[test]
    fn none() {
        let r = References::new();
        assert!(r.is_empty());
        assert_eq!(r.len(), 0);
        assert_eq!(r.first(), None);
        assert_eq!(r.iter().count(), 0);
        assert_eq!(r, References::default());
        assert_eq!(r, References::from(Vec::new()));
        assert!(matches!(References::from(Vec::new()).0, Repr::None));
        assert_eq!(format!("{r:?}"), "[]");
        assert!(r.into_vec().is_empty());
    }

    #[test]
    fn one_is_inline() {
        let a = reference(ReferenceKind::ChildOf, 1);
        let r = References::from(a);
        assert!(matches!(r.0, Repr::One(_)));
        assert!(!r.is_empty());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0], a);
        assert_eq!(r.first(), Some(&a));
        assert_eq!(r.as_slice(), &[a]);
        assert_eq!((&r).into_iter().collect::<Vec<_>>(), vec![&a]);
        assert_eq!(format!("{r:?}"), format!("{:?}", vec![a]));
        // A one-element Vec, array or iterator is kept inline too.
        for other in [
            References::from(vec![a]),
            References::from([a]),
            References::from(&[a][..]),
            std::iter::once(a).collect(),
        ] {
            assert!(matches!(other.0, Repr::One(_)));
            assert_eq!(other, r);
        }
        assert_eq!(r.into_vec(), vec![a]);
    }

    #[test]
    fn many_spill_and_keep_their_order() {
        let a = reference(ReferenceKind::FollowsFrom, 1);
        let b = reference(ReferenceKind::ChildOf, 2);
        let c = reference(ReferenceKind::ChildOf, 3);

        let mut pushed = References::new();
        pushed.push(a);
        assert!(matches!(pushed.0, Repr::One(_)));
        pushed.push(b);
        assert!(matches!(pushed.0, Repr::Many(_)));
        pushed.push(c);
        assert_eq!(pushed.len(), 3);
        assert_eq!(pushed.first(), Some(&a));
        assert_eq!(pushed[1], b);
        assert_eq!(pushed[2], c);
        assert_eq!(pushed.iter().copied().collect::<Vec<_>>(), vec![a, b, c]);

        let mut extended = References::from(a);
        extended.extend(vec![b, c]);
        let built = [
            extended,
            References::from(vec![a, b, c]),
            References::from([a, b, c]),
            vec![a, b, c].into_iter().collect(),
        ];
        for r in &built {
            assert!(matches!(r.0, Repr::Many(_)));
            assert_eq!(*r, pushed);
            assert_eq!(*r, vec![a, b, c]);
            assert_eq!(*r, [a, b, c]);
            assert_eq!(hash(r), hash(&pushed));
        }
        assert_eq!(format!("{pushed:?}"), format!("{:?}", vec![a, b, c]));
        assert_eq!(Vec::from(pushed), vec![a, b, c]);

        // Order matters.
        assert_ne!(References::from([a, b]), References::from([b, a]));
        assert_ne!(References::from([a, b]), References::from(a));
    }

    #[test]
    fn inline_and_spilled_forms_with_the_same_contents_are_equal() {
        let a = reference(ReferenceKind::ChildOf, 1);
        let spilled_one = References(Repr::Many(vec![a]));
        let spilled_none = References(Repr::Many(Vec::new()));
        assert_eq!(spilled_one, References::from(a));
        assert_eq!(hash(&spilled_one), hash(&References::from(a)));
        assert_eq!(spilled_none, References::new());
        assert_eq!(hash(&spilled_none), hash(&References::new()));
        assert_eq!(spilled_one.len(), 1);
        assert_eq!(spilled_one[0], a);
        assert!(spilled_none.is_empty());

        // A push onto a spilled list stays spilled and in order.
        let b = reference(ReferenceKind::FollowsFrom, 2);
        let mut r = spilled_one.clone();
        r.push(b);
        assert_eq!(r, [a, b]);
    }

    #[test]
    fn clones_are_independent() {
        let a = reference(ReferenceKind::ChildOf, 1);
        let b = reference(ReferenceKind::FollowsFrom, 2);
        let mut r = References::from(a);
        let copy = r.clone();
        r.push(b);
        assert_eq!(copy, [a]);
        assert_eq!(r, [a, b]);
        assert_eq!(r.clone(), r);
    }
}
