//! The app's command line and environment.
//!
//! Every flag has a default, so `cargo run -p examples` needs none. The backend's own
//! settings come from its recorder's environment variables (`APPDASH_COLLECTOR`,
//! `ZIPKIN_ENDPOINT`, `STDOUT_FORMAT`, `TRACER_EXPORT_*`, ...), read by its `from_env()`.

use std::time::Duration;

use clap::Parser;

use crate::backend::Backend;

/// The OpenTracing tutorial's web app: open http://localhost:8080/home and see the trace.
#[derive(Clone, Debug, Parser)]
#[command(name = "tutorial", version)]
pub struct Options {
    /// Where spans go: appdash, zipkin, kafka or stdout [default: the first compiled in,
    /// appdash in a default build]
    #[arg(long, env = "TRACER_BACKEND")]
    pub backend: Option<Backend>,

    /// The app's port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// The embedded Appdash web UI's port on 127.0.0.1 (backend appdash without
    /// APPDASH_COLLECTOR).
    #[arg(long, default_value_t = 8700)]
    pub ui_port: u16,

    /// The embedded Appdash collector's port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub collector_port: u16,

    /// Kafka brokers for the kafka backend.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    pub kafka_brokers: String,

    /// The longest random sleep of each handler, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub max_sleep_ms: u64,

    /// The service name spans are recorded under.
    #[arg(long, default_value = "tutorial")]
    pub service_name: String,
}

impl Options {
    /// The longest random sleep of each handler.
    pub fn max_sleep(&self) -> Duration {
        Duration::from_millis(self.max_sleep_ms)
    }

    /// The chosen backend, checked to be compiled in: `--backend`, else `TRACER_BACKEND`, else
    /// [`Backend::default_compiled`].
    pub fn backend(&self) -> Result<Backend, crate::backend::NotCompiled> {
        match self.backend.or_else(Backend::default_compiled) {
            Some(backend) => backend.ensure_compiled(),
            // A build without any backend feature: name the default one.
            None => Err(crate::backend::NotCompiled(Backend::Appdash)),
        }
    }
}
