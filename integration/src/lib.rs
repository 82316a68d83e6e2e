//! Integration tests of the recorders against the real servers: Zipkin (HTTP and Kafka
//! collectors), an Apache Kafka broker, and Appdash, and the harness that fetches, starts and
//! stops them.
//!
//! The tests are in `tests/`: `zipkin_http.rs`, `zipkin_kafka.rs`, `appdash.rs` and
//! `examples_app.rs` (the tutorial app of the `examples` crate with each backend), plus
//! `harness.rs` for the harness itself; each test binary shares one set of peers among its
//! tests. `cargo test -p integration`
//! (or the workspace's `cargo test --workspace --all-features`) runs them.
//!
//! # Getting started
//!
//! Every peer runs as a [`PeerProcess`]: a server in its own process group whose guard stops
//! the whole group on drop, and which also stops when the test process ends in any way
//! (panic, abort, kill), so nothing is left behind. Readiness is always a probe with a
//! deadline ([`wait_until`], [`PeerProcess::wait_for_log`]), never a fixed sleep:
//!
//! ```
//! use std::time::Duration;
//! use integration::{wait_until, Launch, PeerProcess};
//!
//! let dir = std::env::temp_dir().join(format!("integration-doc-{}", std::process::id()));
//! let launch = Launch {
//!     name: "greeter".into(),
//!     program: "sh".into(),
//!     args: vec!["-c".into(), "echo listening; exec sleep 600".into()],
//!     env: vec![],
//!     env_remove: vec![],
//!     dir: None,
//!     log: dir.join("greeter.log"),
//!     grace: Duration::from_secs(2),
//! };
//! let mut peer = PeerProcess::spawn(&launch)?;
//! peer.wait_for_log("listening", 0, Duration::from_secs(10))?;
//! assert!(peer.is_running());
//!
//! peer.stop()?; // SIGTERM to the group, SIGKILL after the grace period; waits until gone
//! assert!(!peer.is_running());
//! wait_until("nothing", Duration::from_secs(1), || Ok::<_, String>(()))?;
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok::<(), integration::HarnessError>(())
//! ```
//!
//! The peers themselves, shared by the tests of one binary (started on first use, isolated
//! by trace id):
//!
//! ```no_run
//! use std::time::Duration;
//! use integration::{scenario::SampleTrace, Zipkin};
//! use recorder_zipkin::ZipkinRecorder;
//! use tracer_api::Tracer;
//!
//! let zipkin = Zipkin::shared_http()?; // fetched with Maven and started, or $ZIPKIN_URL
//! let _access = zipkin.shared_access(); // fault tests that stop Zipkin wait for this
//! let recorder = ZipkinRecorder::builder()
//!     .with_endpoint(zipkin.spans_endpoint())
//!     .build()?;
//! let tracer = Tracer::builder().with_service_name("doc").with_recorder(recorder).build()?;
//! let sample = SampleTrace::record(&tracer);
//! tracer.shutdown(Duration::from_secs(10));
//! let spans = zipkin.wait_for_trace(&sample.zipkin_trace_id(), 3, Duration::from_secs(30))?;
//! sample.check_zipkin(&spans)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The peers
//!
//! | peer | fetched | started | ready when |
//! |---|---|---|---|
//! | Zipkin [`fetch::ZIPKIN_VERSION`] | `io.zipkin:zipkin-server:<v>:jar:exec` with `mvn dependency:copy` | `java -jar`, in-memory storage, loopback port | `/health` says `UP` (and lists the Kafka collector when it has one) |
//! | Kafka 3.9 (KRaft) | `peers/kafka/pom.xml` with `mvn dependency:copy-dependencies` | `kafka.tools.StorageTool format`, then `kafka.Kafka` | it logs `Kafka Server started` and answers metadata |
//! | Appdash | `go build` of `peers/appdash/go.mod`'s pinned module | `appdash serve` with its own store file | it logs that it listens, `/` answers and the collector accepts |
//!
//! Fetched peers are kept in [`fetch::peers_dir`] (`target/peers`), and Maven's and Go's
//! own caches hold what they downloaded, so a second run downloads nothing. Java 17+, Maven
//! and Go must be on `PATH`; when one is missing the tests fail with a
//! [`HarnessError::MissingTool`] that says so and how to point the tests at servers started
//! elsewhere instead (they never pass silently).
//!
//! # External peers
//!
//! With `ZIPKIN_URL`, `KAFKA_BOOTSTRAP_SERVERS`, `APPDASH_COLLECTOR` and `APPDASH_URL` set,
//! the tests use those servers instead of starting their own (see [`external`]); the fault
//! tests then stop and start them through `$INTEGRATION_PEER_CONTROL` (for instance
//! `docker compose -f integration/docker-compose.yml`). `integration/docker-compose.yml`
//! runs all three.
//!
//! # Adding a test
//!
//! Take a shared peer ([`Zipkin::shared_http`], [`Zipkin::shared_with_kafka`],
//! [`Kafka::shared`], [`Appdash::shared`]), hold its `shared_access()` (or `exclusive()` to
//! stop it), send with a tracer whose service name is unique to the test, and wait for the
//! trace by id. The examples app plugs in the same way: start it with its backend pointed at
//! a shared peer (`Zipkin::spans_endpoint`, `Kafka::bootstrap_servers`,
//! `Appdash::collector_addr`), drive a request, and check the trace it produced with
//! [`Zipkin::wait_for_trace`] or [`Appdash::wait_for_profile`].

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod appdash;
mod base64;
mod error;
pub mod external;
pub mod fetch;
pub mod http;
pub mod kafka;
mod managed;
mod process;
pub mod scenario;
mod wait;
pub mod zipkin;

pub use crate::appdash::{Appdash, AppdashSpan, ProfileEntry};
pub use crate::error::{HarnessError, Result};
pub use crate::kafka::Kafka;
pub use crate::process::{log_len, log_tail, run_tool, Launch, PeerProcess};
pub use crate::wait::{wait_until, Deadline};
pub use crate::zipkin::{CollectorMetrics, Zipkin, ZipkinOptions};
