//! What the tests send and how they check what arrived: a sample trace with a parent, a
//! child, a follows-from span, tags, logs and an error, and the checks of its Zipkin and
//! Appdash forms.

use std::collections::BTreeMap;

use serde_json::Value;
use tracer_api::{tags, KeyValue, SpanId, TraceId, Tracer};

use crate::appdash::{AppdashSpan, ProfileEntry};

/// The root span's operation name.
pub const ROOT_NAME: &str = "GET /checkout";
/// The child span's operation name.
pub const CHILD_NAME: &str = "SELECT orders";
/// The follows-from span's operation name.
pub const FOLLOWER_NAME: &str = "send receipt";

/// The ids of a recorded [sample trace](SampleTrace::record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleTrace {
    /// The tracer's service name.
    pub service: String,
    /// The trace.
    pub trace_id: TraceId,
    /// `GET /checkout`: a server span, the root.
    pub root: SpanId,
    /// `SELECT orders`: a client child of the root, with a remote endpoint, three logs and an
    /// error.
    pub child: SpanId,
    /// `send receipt`: a producer span that follows from the root.
    pub follower: SpanId,
}

fn hex(id: SpanId) -> String {
    id.to_string()
}

impl SampleTrace {
    /// Records the sample trace with `tracer` (its spans go to the tracer's recorder):
    ///
    /// - `GET /checkout`: `span.kind=server`, `http.method=GET`, `http.status_code=200`;
    /// - `SELECT orders`, child of it: `span.kind=client`, `peer.service=orders-db`,
    ///   `peer.ipv4=10.0.0.7`, `peer.port=5432`, `db.type=sql`, logs `cache-miss`,
    ///   `event=retry attempt=2`, and an error (`error=true`, `event=error
    ///   error.object="connection reset"`);
    /// - `send receipt`, follows from the root: `span.kind=producer`, `peer.service=mailer`,
    ///   log `queued`.
    pub fn record(tracer: &Tracer) -> SampleTrace {
        let root = tracer
            .span(ROOT_NAME)
            .tag(tags::SPAN_KIND, "server")
            .tag("http.method", "GET")
            .tag("http.status_code", 200u16)
            .start();
        let mut child = tracer
            .span(CHILD_NAME)
            .child_of(root.context())
            .tag(tags::SPAN_KIND, "client")
            .tag("peer.service", "orders-db")
            .tag("peer.ipv4", "10.0.0.7")
            .tag("peer.port", 5432u16)
            .tag("db.type", "sql")
            .start();
        child.log_event("cache-miss");
        child.log([KeyValue::new("event", "retry"), KeyValue::new("attempt", 2)]);
        child.log_error(&std::io::Error::other("connection reset"));
        let child_id = child.context().span_id();
        child.finish();
        let mut follower = tracer
            .span(FOLLOWER_NAME)
            .follows_from(root.context())
            .tag(tags::SPAN_KIND, "producer")
            .tag("peer.service", "mailer")
            .start();
        follower.log_event("queued");
        let follower_id = follower.context().span_id();
        follower.finish();
        let sample = SampleTrace {
            service: tracer.process().service_name.to_string(),
            trace_id: root.context().trace_id(),
            root: root.context().span_id(),
            child: child_id,
            follower: follower_id,
        };
        root.finish();
        sample
    }

    /// The trace id as Zipkin writes it (16 or 32 lower-case hex digits).
    pub fn zipkin_trace_id(&self) -> String {
        self.trace_id.to_string()
    }

    /// The trace id as Appdash has it: the low 64 bits.
    pub fn appdash_trace_id(&self) -> u64 {
        self.trace_id.low()
    }

    /// Checks Zipkin's `/api/v2/trace/{id}` answer: three spans with the mapped kinds,
    /// parents, names (lower-cased), endpoints, tags and annotations.
    pub fn check_zipkin(&self, spans: &[Value]) -> Result<(), String> {
        if spans.len() != 3 {
            return Err(format!("expected 3 spans, got {}: {spans:?}", spans.len()));
        }
        let by_id: BTreeMap<&str, &Value> = spans
            .iter()
            .filter_map(|s| s.get("id").and_then(Value::as_str).map(|id| (id, s)))
            .collect();
        let get = |id: SpanId| {
            by_id
                .get(hex(id).as_str())
                .copied()
                .ok_or_else(|| format!("span {id} missing from {spans:?}"))
        };
        let (root, child, follower) = (get(self.root)?, get(self.child)?, get(self.follower)?);
        let service = self.service.to_lowercase();
        let s = |v: &Value, path: &[&str]| -> Option<String> {
            let mut cur = v;
            for p in path {
                cur = cur.get(p)?;
            }
            match cur {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        let expect = |v: &Value, path: &[&str], want: Option<&str>| -> Result<(), String> {
            let got = s(v, path);
            if got.as_deref() == want {
                Ok(())
            } else {
                Err(format!(
                    "span {}: {} is {got:?}, expected {want:?}; span: {v}",
                    s(v, &["id"]).unwrap_or_default(),
                    path.join(".")
                ))
            }
        };
        let trace = self.zipkin_trace_id();
        for span in [root, child, follower] {
            expect(span, &["traceId"], Some(&trace))?;
            expect(span, &["localEndpoint", "serviceName"], Some(&service))?;
            let ts = span.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
            let dur = span.get("duration").and_then(Value::as_i64).unwrap_or(0);
            if ts <= 0 || dur <= 0 {
                return Err(format!("timestamp/duration missing: {span}"));
            }
            for a in span
                .get("annotations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let at = a.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
                if at < ts || at > ts + dur {
                    return Err(format!("annotation {a} outside its span {span}"));
                }
            }
            if let Some(tags) = span.get("tags").and_then(Value::as_object) {
                if let Some(k) = tags
                    .keys()
                    .find(|k| *k == "span.kind" || k.starts_with("peer."))
                {
                    return Err(format!("tag {k} should have been mapped: {span}"));
                }
            }
        }
        expect(root, &["parentId"], None)?;
        expect(root, &["kind"], Some("SERVER"))?;
        expect(root, &["name"], Some(&ROOT_NAME.to_lowercase()))?;
        expect(root, &["tags", "http.method"], Some("GET"))?;
        expect(root, &["tags", "http.status_code"], Some("200"))?;
        expect(root, &["remoteEndpoint"], None)?;

        let root_hex = hex(self.root);
        expect(child, &["parentId"], Some(&root_hex))?;
        expect(child, &["kind"], Some("CLIENT"))?;
        expect(child, &["name"], Some(&CHILD_NAME.to_lowercase()))?;
        expect(child, &["remoteEndpoint", "serviceName"], Some("orders-db"))?;
        expect(child, &["remoteEndpoint", "ipv4"], Some("10.0.0.7"))?;
        expect(child, &["remoteEndpoint", "port"], Some("5432"))?;
        expect(child, &["tags", "db.type"], Some("sql"))?;
        expect(child, &["tags", "error"], Some("true"))?;
        let notes: Vec<String> = child
            .get("annotations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| s(a, &["value"]))
            .collect();
        let want = [
            "cache-miss",
            "event=retry attempt=2",
            "event=error error.object=\"connection reset\"",
        ];
        if notes != want {
            return Err(format!("child annotations {notes:?}, expected {want:?}"));
        }

        expect(follower, &["parentId"], Some(&root_hex))?;
        expect(follower, &["kind"], Some("PRODUCER"))?;
        expect(follower, &["name"], Some(&FOLLOWER_NAME.to_lowercase()))?;
        expect(follower, &["remoteEndpoint", "serviceName"], Some("mailer"))?;
        let follower_notes: Vec<String> = follower
            .get("annotations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| s(a, &["value"]))
            .collect();
        if follower_notes != ["queued"] {
            return Err(format!(
                "follower annotations {follower_notes:?}, expected [\"queued\"]"
            ));
        }
        Ok(())
    }

    /// Checks Appdash's `/traces/{id}/profile`: the root first, then its two children, by
    /// name, each linking to its own span.
    pub fn check_appdash_profile(&self, profile: &[ProfileEntry]) -> Result<(), String> {
        let names: Vec<&str> = profile.iter().map(|e| e.name.as_str()).collect();
        let ok_len = profile.len() == 3;
        let root_first = names.first() == Some(&ROOT_NAME);
        let mut rest: Vec<&str> = names.iter().skip(1).copied().collect();
        rest.sort_unstable();
        let mut want_rest = vec![CHILD_NAME, FOLLOWER_NAME];
        want_rest.sort_unstable();
        if !(ok_len && root_first && rest == want_rest) {
            return Err(format!(
                "profile names {names:?}, expected {ROOT_NAME:?} first, then {want_rest:?}"
            ));
        }
        for e in profile {
            let id = match e.name.as_str() {
                ROOT_NAME => self.root,
                CHILD_NAME => self.child,
                _ => self.follower,
            };
            if !e.url.contains(&format!("{:016x}", self.appdash_trace_id())) {
                return Err(format!("profile entry {e:?} does not link to the trace"));
            }
            if e.name != ROOT_NAME && !e.url.contains(&hex(id)) {
                return Err(format!("profile entry {e:?} does not link to span {id}"));
            }
            if e.time_cum < 0.0 {
                return Err(format!("profile entry {e:?} has a negative time"));
            }
        }
        Ok(())
    }

    /// Checks the trace Appdash's trace page embeds: the tree (root, two children), names,
    /// tags, logs (`Msg`) and timespans.
    pub fn check_appdash_trace(&self, root: &AppdashSpan) -> Result<(), String> {
        let zero = "0000000000000000";
        if root.span != hex(self.root) || root.parent != zero {
            return Err(format!("root is {} (parent {})", root.span, root.parent));
        }
        if root.trace != format!("{:016x}", self.appdash_trace_id()) {
            return Err(format!("trace id {}", root.trace));
        }
        let want = |span: &AppdashSpan, key: &str, value: &str| -> Result<(), String> {
            if span.annotations_of(key).any(|v| v == value) {
                Ok(())
            } else {
                Err(format!(
                    "span {} ({:?}) has no annotation {key}={value:?}: {:?}",
                    span.span,
                    span.name(),
                    span.annotations
                ))
            }
        };
        want(root, "Name", ROOT_NAME)?;
        want(root, "span.kind", "server")?;
        want(root, "http.method", "GET")?;
        want(root, "http.status_code", "200")?;
        if root.children.len() != 2 {
            return Err(format!(
                "root has {} children, expected 2: {:?}",
                root.children.len(),
                root.children
            ));
        }
        let find = |id: SpanId| {
            root.children
                .iter()
                .find(|c| c.span == hex(id))
                .ok_or_else(|| format!("span {id} is not under the root"))
        };
        let child = find(self.child)?;
        let follower = find(self.follower)?;
        for s in [root, child, follower] {
            if s.annotation("Span.Start").is_none() || s.annotation("Span.End").is_none() {
                return Err(format!(
                    "span {} has no timespan: {:?}",
                    s.span, s.annotations
                ));
            }
        }
        for s in [child, follower] {
            if s.parent != root.span {
                return Err(format!("span {} has parent {}", s.span, s.parent));
            }
        }
        want(child, "Name", CHILD_NAME)?;
        want(child, "span.kind", "client")?;
        want(child, "peer.service", "orders-db")?;
        want(child, "peer.port", "5432")?;
        want(child, "db.type", "sql")?;
        want(child, "error", "true")?;
        want(child, "Msg", "cache-miss")?;
        want(child, "Msg", r#"{"attempt":"2","event":"retry"}"#)?;
        want(
            child,
            "Msg",
            r#"{"error.object":"connection reset","event":"error"}"#,
        )?;
        if child.annotations_of("Time").count() != 3 {
            return Err(format!("child logs have no 3 Time annotations: {child:?}"));
        }
        want(follower, "Name", FOLLOWER_NAME)?;
        want(follower, "span.kind", "producer")?;
        want(follower, "Msg", "queued")?;
        Ok(())
    }
}

/// Records `traces` traces of `spans_per_trace` spans each (a root and its children, named
/// `<name> <i>`) and returns their trace ids. Used for volume and fault tests.
pub fn record_traces(
    tracer: &Tracer,
    name: &str,
    traces: usize,
    spans_per_trace: usize,
) -> Vec<TraceId> {
    let mut ids = Vec::with_capacity(traces);
    for _ in 0..traces {
        let root = tracer.span(format!("{name} root")).start();
        for i in 1..spans_per_trace {
            tracer
                .span(format!("{name} {i}"))
                .child_of(root.context())
                .start()
                .finish();
        }
        ids.push(root.context().trace_id());
        root.finish();
    }
    ids
}
