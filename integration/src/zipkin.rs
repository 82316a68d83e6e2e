//! [`Zipkin`]: a real Zipkin server (in-memory storage, HTTP collector, optionally the Kafka
//! collector), started by the tests or named by `ZIPKIN_URL`, and its query API.

use std::sync::{OnceLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use serde_json::Value;

use crate::error::{HarnessError, Result};
use crate::external;
use crate::fetch::{self, free_port};
use crate::http;
use crate::kafka::Kafka;
use crate::managed::ManagedPeer;
use crate::process::Launch;
use crate::wait::wait_until;

/// How long a Zipkin server gets to become ready (a JVM on two busy cores).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// The Kafka topic and consumer group Zipkin's Kafka collector reads.
pub const KAFKA_TOPIC: &str = "zipkin";

/// How a self-started Zipkin is configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipkinOptions {
    /// Kafka bootstrap servers for the Kafka collector; `None` runs the HTTP collector alone.
    pub kafka_bootstrap: Option<String>,
    /// `MEM_MAX_SPANS`: spans the in-memory storage keeps before evicting the oldest traces.
    pub max_spans: u32,
    /// The JVM's maximum heap, in MiB.
    pub heap_mib: u32,
}

impl Default for ZipkinOptions {
    /// HTTP only, room for 250 000 spans (the shutdown test sends 100 000), 512 MiB of heap.
    fn default() -> ZipkinOptions {
        ZipkinOptions {
            kafka_bootstrap: None,
            max_spans: 250_000,
            heap_mib: 512,
        }
    }
}

/// A Zipkin server: started by the harness (and stopped when the test process ends), or an
/// external one named by `ZIPKIN_URL`.
///
/// Tests share one server per test binary and isolate themselves by trace id. Tests that stop
/// the server take [`exclusive`](Zipkin::exclusive) access; the others hold
/// [`shared_access`](Zipkin::shared_access) while they send and check.
#[derive(Debug)]
pub struct Zipkin {
    base_url: String,
    peer: ManagedPeer,
    kafka: bool,
}

fn shared(
    cell: &'static OnceLock<Result<Zipkin, HarnessError>>,
    init: impl FnOnce() -> Result<Zipkin>,
) -> Result<&'static Zipkin> {
    cell.get_or_init(init).as_ref().map_err(Clone::clone)
}

impl Zipkin {
    /// This test binary's Zipkin with the HTTP collector: `ZIPKIN_URL` if set, otherwise one
    /// started on first use (fetched with Maven if needed). A failed start fails every caller
    /// with the same error.
    pub fn shared_http() -> Result<&'static Zipkin> {
        static CELL: OnceLock<Result<Zipkin, HarnessError>> = OnceLock::new();
        shared(&CELL, || match external::var(external::ZIPKIN_URL) {
            Some(url) => {
                let zipkin = Zipkin::external(&url, false);
                zipkin.wait_ready(START_TIMEOUT)?;
                Ok(zipkin)
            }
            None => Zipkin::start(&ZipkinOptions::default()),
        })
    }

    /// This test binary's Zipkin with the Kafka collector reading [`Kafka::shared`]'s
    /// `zipkin` topic. With `ZIPKIN_URL` set, `KAFKA_BOOTSTRAP_SERVERS` must be set too (the
    /// external Zipkin must read that Kafka).
    pub fn shared_with_kafka() -> Result<&'static Zipkin> {
        static CELL: OnceLock<Result<Zipkin, HarnessError>> = OnceLock::new();
        shared(&CELL, || {
            let url = external::var(external::ZIPKIN_URL);
            if url.is_some() && external::var(external::KAFKA_BOOTSTRAP_SERVERS).is_none() {
                return Err(HarnessError::Config(format!(
                    "{} is set but {} is not: set both, to the Zipkin and the Kafka it reads",
                    external::ZIPKIN_URL,
                    external::KAFKA_BOOTSTRAP_SERVERS
                )));
            }
            let kafka = Kafka::shared()?;
            kafka.create_topic(KAFKA_TOPIC, 1)?;
            match url {
                Some(url) => {
                    let zipkin = Zipkin::external(&url, true);
                    zipkin.wait_ready(START_TIMEOUT)?;
                    Ok(zipkin)
                }
                None => Zipkin::start(&ZipkinOptions {
                    kafka_bootstrap: Some(kafka.bootstrap_servers().to_owned()),
                    ..ZipkinOptions::default()
                }),
            }
        })
    }

    /// An external Zipkin at `base_url` (no trailing `/api/...`); `kafka` when it has the Kafka
    /// collector (then [`wait_ready`](Zipkin::wait_ready) also waits for that).
    pub fn external(base_url: &str, kafka: bool) -> Zipkin {
        Zipkin {
            base_url: base_url.trim_end_matches('/').to_owned(),
            peer: ManagedPeer::external("zipkin"),
            kafka,
        }
    }

    /// Starts a Zipkin server on a free loopback port and waits until `/health` says `UP`.
    pub fn start(options: &ZipkinOptions) -> Result<Zipkin> {
        fetch::require_java()?;
        let jar = fetch::zipkin_jar()?;
        let port = free_port()?;
        let log = fetch::run_dir().join(format!("zipkin-{port}.log"));
        let mut env = vec![
            ("STORAGE_TYPE".to_owned(), "mem".to_owned()),
            ("MEM_MAX_SPANS".to_owned(), options.max_spans.to_string()),
            ("SELF_TRACING_ENABLED".to_owned(), "false".to_owned()),
            ("COLLECTOR_SCRIBE_ENABLED".to_owned(), "false".to_owned()),
        ];
        if let Some(b) = &options.kafka_bootstrap {
            env.extend([
                ("KAFKA_BOOTSTRAP_SERVERS".to_owned(), b.clone()),
                ("KAFKA_TOPIC".to_owned(), KAFKA_TOPIC.to_owned()),
                ("KAFKA_GROUP_ID".to_owned(), "zipkin-integration".to_owned()),
                ("KAFKA_STREAMS".to_owned(), "1".to_owned()),
            ]);
        }
        // Whatever Zipkin would read from this process's environment, the launch decides.
        let env_remove = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| {
                [
                    "KAFKA_",
                    "STORAGE_",
                    "MEM_",
                    "COLLECTOR_",
                    "QUERY_",
                    "SCRIBE_",
                    "RABBIT_",
                    "ES_",
                    "CASSANDRA",
                    "MYSQL_",
                    "ZIPKIN_",
                    "JAVA_OPTS",
                ]
                .iter()
                .any(|p| k.starts_with(p))
            })
            .collect();
        let launch = Launch {
            name: "zipkin".to_owned(),
            program: "java".to_owned(),
            args: vec![
                "-Xms64m".into(),
                format!("-Xmx{}m", options.heap_mib),
                "-XX:+UseSerialGC".into(),
                "-XX:TieredStopAtLevel=1".into(),
                "-XX:+ExitOnOutOfMemoryError".into(),
                "-Djava.awt.headless=true".into(),
                "-Dlog4j2.disable.jmx=true".into(),
                "-jar".into(),
                jar.display().to_string(),
                format!("--server.port={port}"),
                format!("--armeria.ports[0].port={port}"),
                "--armeria.ports[0].ip=127.0.0.1".into(),
                "--armeria.ports[0].protocols[0]=http".into(),
            ],
            env,
            env_remove,
            dir: None,
            log,
            grace: Duration::from_secs(5),
        };
        let zipkin = Zipkin {
            base_url: format!("http://127.0.0.1:{port}"),
            // No ready line: `/health` tells when it is up.
            peer: ManagedPeer::launched("zipkin", launch, None),
            kafka: options.kafka_bootstrap.is_some(),
        };
        zipkin.start_again()?;
        Ok(zipkin)
    }

    /// True when the server was not started by the harness.
    pub fn is_external(&self) -> bool {
        self.peer.is_external()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The HTTP collector endpoint: `<base>/api/v2/spans`.
    pub fn spans_endpoint(&self) -> String {
        format!("{}/api/v2/spans", self.base_url)
    }

    /// Access for a test that only sends and queries. Waits while a fault test has the
    /// server stopped.
    pub fn shared_access(&self) -> RwLockReadGuard<'_, ()> {
        self.peer.shared_access()
    }

    /// Access for a test that stops the server; waits for the other tests to finish theirs.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.peer.exclusive()
    }

    /// Stops the server (`SIGTERM`, then `SIGKILL` after 5 s), or runs
    /// `$INTEGRATION_PEER_CONTROL stop zipkin` for an external one. Its in-memory storage
    /// is lost.
    pub fn stop(&self) -> Result<()> {
        self.peer.stop()
    }

    /// Starts the server again on the same port (or runs `... start zipkin`) and waits until
    /// it is ready.
    pub fn start_again(&self) -> Result<()> {
        self.peer.start_again()?;
        self.wait_ready(START_TIMEOUT)
    }

    /// Waits until `/health` answers 200 with status `UP` (and, with the Kafka collector,
    /// lists it), failing early if a self-started server exits.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let url = format!("{}/health", self.base_url);
        let res = wait_until("Zipkin to report UP on /health", timeout, || {
            if let Err(e) = self.peer.check_running() {
                return Ok(Err(e));
            }
            match http::get(&url) {
                Ok(r) if r.status == 200 && r.body.contains("UP") => {
                    if self.kafka && !r.body.contains("KafkaCollector") {
                        Err(format!("no KafkaCollector in {}", r.body))
                    } else {
                        Ok(Ok(()))
                    }
                }
                Ok(r) => Err(format!("status {}: {}", r.status, r.body)),
                Err(e) => Err(e.to_string()),
            }
        });
        match res {
            Ok(inner) => inner,
            Err(e) => Err(HarnessError::Peer(format!("{e}{}", self.peer.log_hint(30)))),
        }
    }

    /// `GET /api/v2/trace/{id}`: the trace's spans, or `None` while Zipkin does not know it
    /// (404).
    pub fn trace(&self, trace_id: &str) -> Result<Option<Vec<Value>>> {
        let url = format!("{}/api/v2/trace/{trace_id}", self.base_url);
        let r = http::get(&url)?;
        match r.status {
            200 => match serde_json::from_str::<Value>(&r.body) {
                Ok(Value::Array(spans)) => Ok(Some(spans)),
                Ok(other) => Err(HarnessError::Query(format!(
                    "GET {url}: expected a JSON array, got {other}"
                ))),
                Err(e) => Err(HarnessError::Query(format!("GET {url}: not JSON: {e}"))),
            },
            404 => Ok(None),
            s => Err(HarnessError::Query(format!(
                "GET {url}: status {s}: {}",
                r.body
            ))),
        }
    }

    /// Polls [`trace`](Zipkin::trace) until it has at least `spans` spans (storage happens
    /// after the collector's 202, and Kafka adds a hop), for at most `timeout`.
    pub fn wait_for_trace(
        &self,
        trace_id: &str,
        spans: usize,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        wait_until(
            &format!("Zipkin to hold {spans} spans of trace {trace_id}"),
            timeout,
            || match self.trace(trace_id) {
                Ok(Some(found)) if found.len() >= spans => Ok(found),
                Ok(Some(found)) => Err(format!("{} spans so far", found.len())),
                Ok(None) => Err("trace not found (404)".to_owned()),
                Err(e) => Err(e.to_string()),
            },
        )
    }

    /// The collector counters from `GET /metrics`.
    pub fn metrics(&self) -> Result<CollectorMetrics> {
        let v = http::get_json(&format!("{}/metrics", self.base_url))?;
        match v {
            Value::Object(map) => Ok(CollectorMetrics(map)),
            other => Err(HarnessError::Query(format!(
                "/metrics: expected a JSON object, got {other}"
            ))),
        }
    }
}

/// Zipkin's collector counters (`/metrics`), per transport (`http`, `kafka`, `grpc`).
#[derive(Clone, Debug, PartialEq)]
pub struct CollectorMetrics(serde_json::Map<String, Value>);

impl CollectorMetrics {
    /// `counter.zipkin_collector.<name>.<transport>`, 0 when absent.
    pub fn counter(&self, name: &str, transport: &str) -> f64 {
        self.0
            .get(&format!("counter.zipkin_collector.{name}.{transport}"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    }

    /// Spans received over a transport.
    pub fn spans(&self, transport: &str) -> u64 {
        self.counter("spans", transport) as u64
    }

    /// Spans received over a transport and then dropped (unreadable or not stored).
    pub fn spans_dropped(&self, transport: &str) -> u64 {
        self.counter("spans_dropped", transport) as u64
    }

    /// Messages (HTTP requests, Kafka records) received over a transport.
    pub fn messages(&self, transport: &str) -> u64 {
        self.counter("messages", transport) as u64
    }

    /// Messages received over a transport and dropped.
    pub fn messages_dropped(&self, transport: &str) -> u64 {
        self.counter("messages_dropped", transport) as u64
    }

    /// Bytes received over a transport.
    pub fn bytes(&self, transport: &str) -> u64 {
        self.counter("bytes", transport) as u64
    }
}
