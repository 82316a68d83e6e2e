//! The web app of the OpenTracing tutorial, in Rust, traced with `tracer-api`, with the
//! backend chosen by Cargo feature and configured at startup.
//!
//! `cargo run -p examples` starts it with the embedded Appdash collector and web UI, as the
//! tutorial does; open <http://localhost:8080/home>, then see the trace at
//! <http://localhost:8700/traces>. The binary (`src/main.rs`) is flags, the one line that makes
//! the recorder, and shutdown; this library is the app, so tests run it in-process.
//!
//! # Getting started
//!
//! Serve the app on a free port with an in-memory recorder, make one request, and look at the
//! trace it left:
//!
//! ```
//! use std::time::Duration;
//! use examples::app::{self, App, Config};
//! use tracer_api::{InMemoryRecorder, Tracer};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any recorder works here: AppdashRecorder, ZipkinRecorder, StdoutRecorder...
//! let recorder = InMemoryRecorder::new();
//! let tracer = Tracer::builder()
//!     .with_service_name("tutorial")
//!     .with_recorder(recorder.clone())
//!     .build()?;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = Config::for_listener(&listener)?.with_max_sleep(Duration::from_millis(5));
//! let home = format!("{}/home", config.base_url);
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(app::serve(listener, App::new(tracer.clone(), config)?, async {
//!     let _ = stopped.await;
//! }));
//!
//! let page = reqwest::get(&home).await?.text().await?;
//! assert_eq!(page, "Request started\nRequest done!\n");
//!
//! // Five server spans (/home, /service, /async, /db twice) and four client spans; /async
//! // runs in the background, so wait for it.
//! let waiter = recorder.clone();
//! assert!(tokio::task::spawn_blocking(move || waiter.wait_for(9, Duration::from_secs(10))).await?);
//! let spans = recorder.spans();
//! assert!(spans.iter().all(|s| s.trace_id == spans[0].trace_id));
//!
//! let _ = stop.send(());
//! server.await??;
//! let report = tracer.shutdown(Duration::from_secs(5));
//! assert_eq!(report.dropped.total(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # What is where
//!
//! - [`app`]: [`app::router`], [`app::serve`], [`app::App`] (tracer, HTTP client, settings) and
//!   the handlers, written like the Go tutorial's.
//! - [`instrument`]: the [`instrument::server_span`] axum middleware (extracts the caller's
//!   context, starts a `span.kind=server` span) and [`instrument::traced_get`] (a
//!   `span.kind=client` span whose context is injected into the request).
//! - [`backend`]: [`backend::Backend`] and the error for a backend that is not compiled in.
//! - [`cli`]: the flags and environment variables of the binary.
//! - `examples/`: one small program per backend (`cargo run -p examples --example stdout
//!   --features stdout`, and `appdash`, `zipkin`, `kafka`).
//!
//! # Feature flags
//!
//! | feature | default | backend |
//! |---|---|---|
//! | `appdash` | on | `recorder-appdash` and the embedded `collector-appdash` with its web UI |
//! | `zipkin` | off | `recorder-zipkin` over HTTP |
//! | `kafka` | off | `recorder-zipkin` through Kafka (librdkafka is built from source) |
//! | `stdout` | off | `recorder-stdout` |
//!
//! # Configuration
//!
//! | flag | environment | default |
//! |---|---|---|
//! | `--backend` | `TRACER_BACKEND` | the first compiled in: appdash, zipkin, kafka, stdout |
//! | `--port` | | 8080 |
//! | `--ui-port` | | 8700 (embedded Appdash UI) |
//! | `--collector-port` | | 0: a free port (embedded Appdash collector) |
//! | `--kafka-brokers` | `KAFKA_BOOTSTRAP_SERVERS` | `127.0.0.1:9092` |
//! | `--max-sleep-ms` | | 200 |
//! | `--service-name` | | `tutorial` |
//!
//! Each recorder also reads its own variables (`from_env()`): `APPDASH_COLLECTOR` (set it to
//! send to an Appdash collector of your own instead of the embedded one), `ZIPKIN_ENDPOINT`,
//! `ZIPKIN_ENCODING`, `STDOUT_FORMAT`, and the export pipeline's `TRACER_EXPORT_*`.

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod app;
pub mod backend;
pub mod cli;
pub mod instrument;
