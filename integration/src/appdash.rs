//! [`Appdash`]: the real Appdash server (`appdash serve`, built with Go from the pinned
//! module), started by the tests or named by `APPDASH_COLLECTOR` and `APPDASH_URL`, and what
//! its web app tells about a trace.

use std::sync::{OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use serde_json::Value;

use crate::error::{HarnessError, Result};
use crate::external;
use crate::fetch::{self, free_port};
use crate::http;
use crate::managed::{ManagedPeer, ReadyLine};
use crate::process::Launch;
use crate::wait::wait_until;

/// How long Appdash gets to start (it is a Go program: well under a second).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Printed just before the web server starts listening, after the collector.
const READY_LINE: &str = "appdash HTTP server listening";

/// An Appdash server: started by the harness (collector and web app on loopback ports, a
/// store file of its own) or external.
#[derive(Debug)]
pub struct Appdash {
    collector: String,
    base_url: String,
    peer: ManagedPeer,
}

/// One line of `/traces/{id}/profile`: a span of the trace, root first.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileEntry {
    /// The span's name.
    pub name: String,
    /// Its page, `/traces/<trace>/<span>`.
    pub url: String,
    /// Its own time in ms (the span's duration minus its children's).
    pub time: f64,
    /// Its children's time in ms.
    pub time_children: f64,
    /// Its whole time in ms.
    pub time_cum: f64,
}

/// A span as Appdash's trace page holds it: ids (hex) and annotations (values decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppdashSpan {
    /// The trace id, 16 hex digits.
    pub trace: String,
    /// The span id, 16 hex digits.
    pub span: String,
    /// The parent span id, 16 hex digits (zeros for a root).
    pub parent: String,
    /// The annotations, in order: key and value (UTF-8, lossily).
    pub annotations: Vec<(String, String)>,
    /// The child spans.
    pub children: Vec<AppdashSpan>,
}

impl AppdashSpan {
    /// The first value of an annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of an annotation, in order.
    pub fn annotations_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.annotations
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The span name (`Name` annotation).
    pub fn name(&self) -> Option<&str> {
        self.annotation("Name")
    }

    fn from_json(v: &Value) -> Result<AppdashSpan, String> {
        let id = v.get("ID").ok_or("no ID")?;
        let hex = |k: &str| -> Result<String, String> {
            id.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("no ID.{k}"))
        };
        let mut annotations = Vec::new();
        if let Some(list) = v.get("Annotations").and_then(Value::as_array) {
            for a in list {
                let key = a.get("Key").and_then(Value::as_str).unwrap_or_default();
                let value = match a.get("Value") {
                    Some(Value::String(b64)) => crate::base64::decode(b64)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .ok_or_else(|| format!("annotation {key}: value is not base64"))?,
                    _ => String::new(),
                };
                annotations.push((key.to_owned(), value));
            }
        }
        let mut children = Vec::new();
        if let Some(list) = v.get("Sub").and_then(Value::as_array) {
            for s in list {
                children.push(AppdashSpan::from_json(s)?);
            }
        }
        Ok(AppdashSpan {
            trace: hex("Trace")?,
            span: hex("Span")?,
            parent: hex("Parent")?,
            annotations,
            children,
        })
    }
}

impl Appdash {
    /// This test binary's Appdash: `APPDASH_COLLECTOR` and `APPDASH_URL` if set (both are
    /// needed), otherwise one built and started on first use.
    pub fn shared() -> Result<&'static Appdash> {
        static CELL: OnceLock<Result<Appdash, HarnessError>> = OnceLock::new();
        CELL.get_or_init(|| {
            match (
                external::var(external::APPDASH_COLLECTOR),
                external::var(external::APPDASH_URL),
            ) {
                (Some(collector), Some(url)) => {
                    let appdash = Appdash {
                        collector,
                        base_url: url.trim_end_matches('/').to_owned(),
                        peer: ManagedPeer::external("appdash"),
                    };
                    appdash.wait_serving()?;
                    Ok(appdash)
                }
                (None, None) => Appdash::start(),
                _ => Err(HarnessError::Config(format!(
                    "set both {} and {} (the collector address and the web app's URL of the \
                     same Appdash), or neither",
                    external::APPDASH_COLLECTOR,
                    external::APPDASH_URL
                ))),
            }
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Builds (if needed) and starts `appdash serve` on two free loopback ports with a store
    /// file in this run's directory, and waits until both listen.
    pub fn start() -> Result<Appdash> {
        let bin = fetch::appdash_binary()?;
        let collector = free_port()?;
        let web = free_port()?;
        let dir = fetch::run_dir().join(format!("appdash-{collector}"));
        let launch = Launch {
            name: "appdash".into(),
            program: bin.display().to_string(),
            args: vec![
                "serve".into(),
                format!("--collector=127.0.0.1:{collector}"),
                format!("--http=127.0.0.1:{web}"),
                format!("--url=http://127.0.0.1:{web}"),
                format!("--store-file={}", dir.join("appdash.gob").display()),
                "--persist-interval=1s".into(),
                "--delete-after=0".into(),
            ],
            env: Vec::new(),
            env_remove: Vec::new(),
            dir: None,
            log: dir.join("appdash.log"),
            grace: Duration::from_secs(5),
        };
        let appdash = Appdash {
            collector: format!("127.0.0.1:{collector}"),
            base_url: format!("http://127.0.0.1:{web}"),
            peer: ManagedPeer::launched(
                "appdash",
                launch,
                Some(ReadyLine {
                    needle: READY_LINE,
                    timeout: START_TIMEOUT,
                }),
            ),
        };
        appdash.start_again()?;
        Ok(appdash)
    }

    /// The collector's `host:port`.
    pub fn collector_addr(&self) -> &str {
        &self.collector
    }

    /// The web app's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// True when the server was not started by the harness.
    pub fn is_external(&self) -> bool {
        self.peer.is_external()
    }

    /// Access for a test that only sends and checks.
    pub fn shared_access(&self) -> RwLockReadGuard<'_, ()> {
        self.peer.shared_access()
    }

    /// Access for a test that stops the server.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.peer.exclusive()
    }

    /// Stops the server (or runs `$INTEGRATION_PEER_CONTROL stop appdash`).
    pub fn stop(&self) -> Result<()> {
        self.peer.stop()
    }

    /// Starts the server again on the same ports and store file (or runs
    /// `... start appdash`), and waits until it serves.
    pub fn start_again(&self) -> Result<()> {
        self.peer.start_again()?;
        self.wait_serving()
    }

    /// Waits until the web app answers `GET /` and the collector accepts connections.
    pub fn wait_serving(&self) -> Result<()> {
        let url = format!("{}/", self.base_url);
        wait_until("Appdash's web app to answer", START_TIMEOUT, || {
            match http::get(&url) {
                Ok(r) if r.status == 200 => {}
                Ok(r) => return Err(format!("status {}", r.status)),
                Err(e) => return Err(e.to_string()),
            }
            std::net::TcpStream::connect(&self.collector)
                .map(drop)
                .map_err(|e| format!("collector {}: {e}", self.collector))
        })
    }

    /// `GET /traces/{id}/profile`: the trace's spans, root first, or `None` while Appdash
    /// does not know the trace (it answers 500 `trace not found`).
    pub fn profile(&self, trace: u64) -> Result<Option<Vec<ProfileEntry>>> {
        let url = format!("{}/traces/{trace:016x}/profile", self.base_url);
        let r = http::get(&url)?;
        if r.status != 200 {
            if r.body.contains("trace not found") {
                return Ok(None);
            }
            return Err(HarnessError::Query(format!(
                "GET {url}: status {}: {}",
                r.status, r.body
            )));
        }
        let v: Value = serde_json::from_str(&r.body)
            .map_err(|e| HarnessError::Query(format!("GET {url}: not JSON: {e}")))?;
        let list = v
            .as_array()
            .ok_or_else(|| HarnessError::Query(format!("GET {url}: not a JSON array: {v}")))?;
        let num = |e: &Value, k: &str| e.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        Ok(Some(
            list.iter()
                .map(|e| ProfileEntry {
                    name: e
                        .get("Name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    url: e
                        .get("URL")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    time: num(e, "Time"),
                    time_children: num(e, "TimeChildren"),
                    time_cum: num(e, "TimeCum"),
                })
                .collect(),
        ))
    }

    /// Polls [`profile`](Appdash::profile) until it lists at least `spans` spans.
    pub fn wait_for_profile(
        &self,
        trace: u64,
        spans: usize,
        timeout: Duration,
    ) -> Result<Vec<ProfileEntry>> {
        wait_until(
            &format!("Appdash to list {spans} spans of trace {trace:016x}"),
            timeout,
            || match self.profile(trace) {
                Ok(Some(p)) if p.len() >= spans => Ok(p),
                Ok(Some(p)) => Err(format!("{} spans so far", p.len())),
                Ok(None) => Err("trace not found".to_owned()),
                Err(e) => Err(e.to_string()),
            },
        )
    }

    /// The trace as the trace page `GET /traces/{id}` embeds it (its "Export as JSON" data):
    /// the root span with its sub-spans, or `None` while the trace is unknown.
    pub fn trace_page(&self, trace: u64) -> Result<Option<AppdashSpan>> {
        let url = format!("{}/traces/{trace:016x}", self.base_url);
        let r = http::get(&url)?;
        if r.status != 200 {
            if r.body.contains("trace not found") {
                return Ok(None);
            }
            return Err(HarnessError::Query(format!(
                "GET {url}: status {}: {}",
                r.status,
                r.body.chars().take(300).collect::<String>()
            )));
        }
        let json = embedded_trace_json(&r.body).ok_or_else(|| {
            HarnessError::Query(format!(
                "GET {url}: no data-clipboard-text with the trace's JSON in the page"
            ))
        })?;
        let v: Value = serde_json::from_str(&json)
            .map_err(|e| HarnessError::Query(format!("GET {url}: embedded JSON: {e}")))?;
        let root = match &v {
            Value::Array(list) => list.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        AppdashSpan::from_json(&root)
            .map(Some)
            .map_err(|e| HarnessError::Query(format!("GET {url}: embedded trace: {e}")))
    }
}

/// Finds the `data-clipboard-text="..."` attribute that holds the trace as JSON and undoes
/// its HTML escaping.
fn embedded_trace_json(page: &str) -> Option<String> {
    const ATTR: &str = "data-clipboard-text=\"";
    let mut rest = page;
    while let Some(i) = rest.find(ATTR) {
        rest = rest.get(i + ATTR.len()..)?;
        let end = rest.find('"')?;
        let text = unescape_html(rest.get(..end)?);
        if text.trim_start().starts_with('[') || text.trim_start().starts_with('{') {
            return Some(text);
        }
        rest = rest.get(end..)?;
    }
    None
}

/// Undoes HTML character references (`&#34;`, `&#x22;`, `&quot;`, `&amp;`, `&lt;`, `&gt;`,
/// `&#39;`, `&apos;`).
fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        rest = rest.get(i..).unwrap_or_default();
        let Some(semi) = rest.find(';').filter(|&n| n <= 10) else {
            out.push('&');
            rest = rest.get(1..).unwrap_or_default();
            continue;
        };
        let entity = rest.get(1..semi).unwrap_or_default();
        let c = match entity {
            "quot" => Some('"'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .or_else(|| e.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = rest.get(semi + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_go_template_attributes() {
        assert_eq!(
            unescape_html(
                "[{&#34;ID&#34;:{&#34;Trace&#34;:&#34;0a&#34;}}] &amp; &lt;&#x41;&gt; &x"
            ),
            "[{\"ID\":{\"Trace\":\"0a\"}}] & <A> &x"
        );
    }

    #[test]
    fn finds_the_embedded_trace() {
        let page = r#"<a data-clipboard-text="hello">x</a>
            <button data-clipboard-text="[{&#34;ID&#34;:{&#34;Trace&#34;:&#34;00000000000000aa&#34;,&#34;Span&#34;:&#34;00000000000000bb&#34;,&#34;Parent&#34;:&#34;0000000000000000&#34;},&#34;Annotations&#34;:[{&#34;Key&#34;:&#34;Name&#34;,&#34;Value&#34;:&#34;R0VUIC9ob21l&#34;}],&#34;Sub&#34;:null}]">"#;
        let json = embedded_trace_json(page).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        let span = AppdashSpan::from_json(&v[0]).unwrap();
        assert_eq!(span.trace, "00000000000000aa");
        assert_eq!(span.name(), Some("GET /home"));
        assert!(span.children.is_empty());
    }
}
