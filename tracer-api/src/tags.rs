//! The OpenTracing standard tag and log-field names, and typed helpers for them.
//!
//! ```
//! use tracer_api::{tags, Tracer};
//! let tracer = Tracer::noop();
//! let mut span = tracer.span("GET /home").tag(tags::SPAN_KIND, tags::SpanKind::Server).start();
//! span.set_tag(tags::HTTP_METHOD, "GET");
//! span.set_tag(tags::HTTP_STATUS_CODE, 200u16);
//! ```

use crate::value::Value;

/// `span.kind`: `client`, `server`, `producer` or `consumer` (see [`SpanKind`]).
pub const SPAN_KIND: &str = "span.kind";
/// `component`: the library or framework that made the span.
pub const COMPONENT: &str = "component";
/// `error`: `true` when the operation failed.
pub const ERROR: &str = "error";
/// `sampling.priority`: `0` asks not to record the trace, above `0` asks to record it.
pub const SAMPLING_PRIORITY: &str = "sampling.priority";
/// `peer.service`: the remote service's name.
pub const PEER_SERVICE: &str = "peer.service";
/// `peer.address`: the remote address, in any form.
pub const PEER_ADDRESS: &str = "peer.address";
/// `peer.hostname`: the remote host name.
pub const PEER_HOSTNAME: &str = "peer.hostname";
/// `peer.ipv4`: the remote IPv4 address, dotted (or a `u32`).
pub const PEER_HOST_IPV4: &str = "peer.ipv4";
/// `peer.ipv6`: the remote IPv6 address.
pub const PEER_HOST_IPV6: &str = "peer.ipv6";
/// `peer.port`: the remote port.
pub const PEER_PORT: &str = "peer.port";
/// `http.url`: the request URL.
pub const HTTP_URL: &str = "http.url";
/// `http.method`: the request method.
pub const HTTP_METHOD: &str = "http.method";
/// `http.status_code`: the response status.
pub const HTTP_STATUS_CODE: &str = "http.status_code";
/// `db.instance`: the database name.
pub const DB_INSTANCE: &str = "db.instance";
/// `db.statement`: the query.
pub const DB_STATEMENT: &str = "db.statement";
/// `db.type`: `sql`, `redis`, `cassandra`, ...
pub const DB_TYPE: &str = "db.type";
/// `db.user`: the database user.
pub const DB_USER: &str = "db.user";
/// `message_bus.destination`: the topic or queue.
pub const MESSAGE_BUS_DESTINATION: &str = "message_bus.destination";

/// Standard log-field names.
pub mod log_fields {
    /// `event`: a stable name for what happened (`error`, `cache-miss`, ...).
    pub const EVENT: &str = "event";
    /// `message`: a human-readable message.
    pub const MESSAGE: &str = "message";
    /// `error.kind`: the type or kind of an error.
    pub const ERROR_KIND: &str = "error.kind";
    /// `error.object`: the error itself, as text.
    pub const ERROR_OBJECT: &str = "error.object";
    /// `stack`: a stack trace.
    pub const STACK: &str = "stack";
}

/// The values of `span.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// The client side of an RPC.
    Client,
    /// The server side of an RPC.
    Server,
    /// A message producer.
    Producer,
    /// A message consumer.
    Consumer,
}

impl SpanKind {
    /// The lower-case tag value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Client => "client",
            SpanKind::Server => "server",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// Parses a tag value, ignoring ASCII case.
    pub fn parse(s: &str) -> Option<SpanKind> {
        [
            SpanKind::Client,
            SpanKind::Server,
            SpanKind::Producer,
            SpanKind::Consumer,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// Reads a `span.kind` tag value.
    pub fn from_value(v: &Value) -> Option<SpanKind> {
        v.as_str().and_then(SpanKind::parse)
    }
}

impl From<SpanKind> for Value {
    fn from(k: SpanKind) -> Value {
        Value::from(k.as_str())
    }
}
