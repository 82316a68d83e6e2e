//! Shared test helpers: a cloneable in-memory sink and a fixed trace.
#![allow(dead_code)]

use std::borrow::Cow;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracer_api::{
    Baggage, Endpoint, KeyValue, LogRecord, Process, Reference, ReferenceKind, References,
    Sampling, SpanId, SpanRecord, TraceId, Value,
};

/// A `Vec<u8>` shared between the recorder (which writes) and the test (which reads).
#[derive(Clone, Default)]
pub(crate) struct SharedBuf(pub(crate) Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// 2024-02-29T12:00:00Z plus `us` microseconds.
pub(crate) fn at(us: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_709_208_000) + Duration::from_micros(us)
}

pub(crate) fn trace_id() -> TraceId {
    TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736).unwrap()
}

pub(crate) fn sid(v: u64) -> SpanId {
    SpanId::from_u64(v).unwrap()
}

fn base(process: &Arc<Process>, trace_id: TraceId, id: u64, op: &'static str) -> SpanRecord {
    SpanRecord {
        trace_id,
        span_id: sid(id),
        parent_id: None,
        references: References::new(),
        operation: Cow::Borrowed(op),
        start: at(0),
        duration: Duration::ZERO,
        tags: Vec::new(),
        logs: Vec::new(),
        baggage: Baggage::new(),
        sampling: Sampling::Accept,
        shared: false,
        process: Arc::clone(process),
    }
}

/// A fixed batch: three spans of one trace (a root, a child with a log, a follows-from span
/// with two references), in the order they would finish, plus an orphan of a second trace
/// (64-bit id, debug, shared, another process).
pub(crate) fn fixture() -> Vec<SpanRecord> {
    let frontend = Arc::new(Process {
        service_name: Cow::Borrowed("frontend"),
        endpoint: Endpoint {
            ipv4: Some(Ipv4Addr::new(10, 0, 0, 7)),
            ipv6: None,
            port: Some(8080),
        },
        tags: vec![
            KeyValue::new("hostname", "web-1"),
            KeyValue::new("cpu.count", 4u64),
        ],
    });
    let t = trace_id();
    let child_of_root = Reference {
        kind: ReferenceKind::ChildOf,
        trace_id: t,
        span_id: sid(0x00f0_67aa_0ba9_02b7),
    };

    let mut root = base(&frontend, t, 0x00f0_67aa_0ba9_02b7, "GET /home");
    root.duration = Duration::from_micros(12_500);
    root.tags = vec![
        KeyValue::new("span.kind", "server"),
        KeyValue::new("http.status_code", 200i64),
    ];
    root.baggage.set("customer", "acme");

    let mut child = base(&frontend, t, 0x00f0_67aa_0ba9_02b8, "load profile");
    child.parent_id = Some(child_of_root.span_id);
    child.references = vec![child_of_root].into();
    child.start = at(1_000);
    child.duration = Duration::from_nanos(5_000_250);
    child.tags = vec![
        KeyValue::new("db.type", "sql"),
        KeyValue::new("cache.hit", false),
        KeyValue::new("ratio", 0.75),
    ];
    child.logs = vec![LogRecord {
        timestamp: at(2_000),
        fields: vec![
            KeyValue::new("event", "cache-miss"),
            KeyValue::new("size", 3i64),
        ],
    }];
    child.baggage.set("customer", "acme");

    let mut email = base(&frontend, t, 0x00f0_67aa_0ba9_02b9, "send email");
    email.parent_id = Some(child_of_root.span_id);
    email.references = vec![
        Reference {
            kind: ReferenceKind::FollowsFrom,
            ..child_of_root
        },
        Reference {
            kind: ReferenceKind::ChildOf,
            trace_id: t,
            span_id: sid(0xabc),
        },
    ]
    .into();
    email.start = at(11_000);
    email.duration = Duration::from_millis(30);
    email.tags = vec![KeyValue::new("error", true)];
    email.logs = vec![LogRecord {
        timestamp: at(40_000),
        fields: vec![
            KeyValue::new("event", "error"),
            KeyValue::new("message", "smtp: 421 \"try later\""),
        ],
    }];

    let backend = Arc::new(Process {
        service_name: Cow::Borrowed("billing"),
        endpoint: Endpoint::default(),
        tags: Vec::new(),
    });
    let other = TraceId::from_u128(0x0000_0000_0000_002a).unwrap();
    let mut orphan = base(&backend, other, 0x0000_0000_0000_0007, "charge");
    orphan.parent_id = Some(sid(6));
    orphan.references = vec![Reference {
        kind: ReferenceKind::ChildOf,
        trace_id: other,
        span_id: sid(6),
    }]
    .into();
    orphan.start = at(500);
    orphan.duration = Duration::from_micros(250);
    orphan.tags = vec![KeyValue::new("amount", Value::F64(f64::NAN))];
    orphan.sampling = Sampling::Debug;
    orphan.shared = true;

    vec![child, root, orphan, email]
}
