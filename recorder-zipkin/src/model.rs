//! The Zipkin v2 span model, as it goes on the wire.
//!
//! These types borrow their text from the records they were mapped from (see
//! [`mapping`](crate::mapping)), so building one allocates nothing. Ids are the raw integers
//! Zipkin carries: a zero id means "absent" for `parent_id` and "invalid" for `trace_id` and
//! `id` (see [`validate`](crate::validate)). Timestamps and durations are epoch microseconds
//! as signed 64-bit integers, like Zipkin's own model; zero means absent.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use tracer_api::tags::SpanKind;
use tracer_api::{KeyValue, Value};

/// The role of a span in an RPC or messaging exchange. No kind means a local span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The client side of an RPC: `timestamp` is when the request was sent.
    Client,
    /// The server side of an RPC: `timestamp` is when the request was received.
    Server,
    /// A message producer: `timestamp` is when the message was sent.
    Producer,
    /// A message consumer: `timestamp` is when the message was received.
    Consumer,
}

impl Kind {
    /// The upper-case name Zipkin expects: `CLIENT`, `SERVER`, `PRODUCER` or `CONSUMER`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "CLIENT",
            Kind::Server => "SERVER",
            Kind::Producer => "PRODUCER",
            Kind::Consumer => "CONSUMER",
        }
    }

    /// The `zipkin.proto3.Span.Kind` enum value (1 to 4).
    pub const fn proto_value(self) -> u64 {
        match self {
            Kind::Client => 1,
            Kind::Server => 2,
            Kind::Producer => 3,
            Kind::Consumer => 4,
        }
    }

    /// Parses an OpenTracing `span.kind` value (`client`, `server`, `producer`, `consumer`,
    /// in any ASCII case), as [`SpanKind::parse`] does. Anything else is not a Zipkin kind.
    pub fn parse(s: &str) -> Option<Kind> {
        SpanKind::parse(s).map(Kind::from)
    }
}

impl From<SpanKind> for Kind {
    fn from(k: SpanKind) -> Kind {
        match k {
            SpanKind::Client => Kind::Client,
            SpanKind::Server => Kind::Server,
            SpanKind::Producer => Kind::Producer,
            SpanKind::Consumer => Kind::Consumer,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text on the wire: a string, a tag value (written with its `Display` form) or the fields of
/// a log (written as `key1=v1 key2=v2`, see [`mapping`](crate::mapping)). Encoders write it
/// straight into their output, so non-string values are never turned into `String`s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Text<'a> {
    /// A string, written as is.
    Str(&'a str),
    /// A value, written as its `Display` form (`true`, `42`, `1.5`, text as is).
    Value(&'a Value),
    /// Log fields, written as `key=value` pairs separated by one space; a string value that
    /// is empty or holds a space, `=` or `"` is quoted, with `"` and `\` escaped by `\`.
    Fields(&'a [KeyValue]),
}

impl Text<'_> {
    /// True when the text would be written as the empty string.
    pub fn is_empty(&self) -> bool {
        match self {
            Text::Str(s) => s.is_empty(),
            Text::Value(Value::Str(s)) => s.is_empty(),
            Text::Value(_) => false,
            Text::Fields(f) => f.is_empty(),
        }
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { f, result: Ok(()) };
        crate::text::write_text(self, &mut sink);
        sink.result
    }
}

struct FmtSink<'f, 'g> {
    f: &'f mut fmt::Formatter<'g>,
    result: fmt::Result,
}

impl crate::text::Sink for FmtSink<'_, '_> {
    fn put(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }
}

/// A host taking part in a span. Empty parts are omitted on the wire, and an endpoint with
/// no parts at all is omitted entirely.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// The service name; written lower-case; empty means absent.
    pub service_name: &'a str,
    /// The IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// The IPv6 address (an IPv4-mapped address should go in `ipv4` instead).
    pub ipv6: Option<Ipv6Addr>,
    /// The port; zero means absent.
    pub port: u16,
}

impl Endpoint<'_> {
    /// True when no part is set, so the endpoint is not written.
    pub fn is_empty(&self) -> bool {
        self.service_name.is_empty() && self.ipv4.is_none() && self.ipv6.is_none() && self.port == 0
    }
}

/// An event in a span's life: a timestamp and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Annotation<'a> {
    /// Epoch microseconds.
    pub timestamp: i64,
    /// What happened.
    pub value: Text<'a>,
}

/// A span tag: Zipkin tags are string to string.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tag<'a> {
    /// The key.
    pub key: &'a str,
    /// The value, written as a string.
    pub value: Text<'a>,
}

/// A Zipkin v2 span.
///
/// Encoders write the fields in the order of Zipkin's own JSON writer: `traceId`, `parentId`,
/// `id`, `kind`, `name`, `timestamp`, `duration`, `localEndpoint`, `remoteEndpoint`,
/// `annotations`, `tags`, `debug`, `shared`; absent and empty fields are left out. Tags and
/// annotations are written in the order given: the mapping sorts tags by key and annotations
/// by timestamp, as Zipkin's model does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Span<'a> {
    /// The trace id: 64 bits when the high half is zero (16 hex digits), else 128 (32 digits).
    pub trace_id: u128,
    /// The parent span id; zero for a root span.
    pub parent_id: u64,
    /// The span id.
    pub id: u64,
    /// The kind; `None` for a local span.
    pub kind: Option<Kind>,
    /// The operation name; written lower-case; empty means absent.
    pub name: &'a str,
    /// Start, epoch microseconds; zero means absent.
    pub timestamp: i64,
    /// Duration in microseconds; zero means absent.
    pub duration: i64,
    /// The host that recorded the span.
    pub local_endpoint: Endpoint<'a>,
    /// The other side of an RPC or messaging exchange.
    pub remote_endpoint: Endpoint<'a>,
    /// Events, in the order to write them.
    pub annotations: &'a [Annotation<'a>],
    /// Tags, in the order to write them (keys should be unique).
    pub tags: &'a [Tag<'a>],
    /// Force storage whatever the collector's sampling (B3 debug).
    pub debug: bool,
    /// The server half of an RPC span whose id the client started.
    pub shared: bool,
}

impl Span<'_> {
    /// True when the trace id needs 128 bits.
    pub fn is_128bit(&self) -> bool {
        (self.trace_id >> 64) != 0
    }
}
