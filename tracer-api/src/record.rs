//! The finished span handed to recorders, and the process it came from.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
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
    /// Every reference given when the span started, in order (the first is the parent).
    pub references: Vec<Reference>,
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
