//! The OpenTracing tutorial's web app: `cargo run -p examples`, then open
//! <http://localhost:8080/home> and see the trace at <http://localhost:8700/traces>.
//!
//! The backend is a Cargo feature (`appdash`, the default, `zipkin`, `kafka`, `stdout`) picked
//! at startup with `--backend` or `TRACER_BACKEND`; see `--help`.

// A build without any backend feature still compiles, and says which feature to turn on.
#![cfg_attr(
    not(any(feature = "appdash", feature = "zipkin", feature = "stdout")),
    allow(unreachable_code, unused_variables)
)]

use std::error::Error;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use examples::app::{self, App, Config};
use examples::backend::{Backend, NotCompiled};
use examples::cli::Options;
use tokio::net::TcpListener;
use tracer_api::{Recorder, Tracer};

#[cfg(feature = "appdash")]
use recorder_appdash::AppdashRecorder;
#[cfg(feature = "stdout")]
use recorder_stdout::StdoutRecorder;
#[cfg(feature = "zipkin")]
use recorder_zipkin::ZipkinRecorder;

/// How long shutdown waits for queued spans to be delivered.
const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> ExitCode {
    logger::init();
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), Box<dyn Error>> {
    let backend = options.backend()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on 127.0.0.1:{}: {e} (choose another port with --port)",
                options.port
            )
        })?;

    // The tutorial's setup: an Appdash collector and web UI in this process, unless
    // APPDASH_COLLECTOR names a collector of your own.
    #[cfg(feature = "appdash")]
    let (embedded, appdash_addr) = match backend {
        Backend::Appdash => embedded::start(&options).await?,
        _ => (None, String::new()),
    };

    #[cfg(feature = "kafka")]
    let brokers = &options.kafka_brokers;

    // The recorder: one line per backend. Everything else in this file is the same for all.
    #[rustfmt::skip]
    let recorder: Arc<dyn Recorder> = match backend {
        #[cfg(feature = "appdash")]
        Backend::Appdash => Arc::new(AppdashRecorder::from_env()?.with_collector_addr(&appdash_addr).build()?),
        #[cfg(feature = "zipkin")]
        Backend::Zipkin => Arc::new(ZipkinRecorder::from_env().build()?),
        #[cfg(feature = "kafka")]
        Backend::Kafka => Arc::new(ZipkinRecorder::from_env().with_kafka_brokers(brokers).build()?),
        #[cfg(feature = "stdout")]
        Backend::Stdout => Arc::new(StdoutRecorder::from_env()?.build()?),
        #[allow(unreachable_patterns)] // when every backend is compiled in
        other => return Err(NotCompiled(other).into()),
    };

    let tracer = Tracer::builder()
        .with_service_name(options.service_name.clone())
        .with_ipv4(Ipv4Addr::LOCALHOST)
        .with_port(options.port)
        // Appdash's span ids and trace ids are 64-bit: keep the ids the UI shows the same.
        .with_128bit_trace_ids(backend != Backend::Appdash)
        .with_shared_recorder(recorder)
        .build()?;

    let config = Config::for_listener(&listener)?.with_max_sleep(options.max_sleep());
    let app = App::new(tracer.clone(), config)?;

    println!(
        "Go to http://localhost:{}/home to start a request!",
        options.port
    );
    match backend {
        Backend::Appdash => {
            #[cfg(feature = "appdash")]
            match &embedded {
                Some(collector) => println!(
                    "Appdash web UI running on http://localhost:{}; see the traces at http://localhost:{}/traces",
                    collector.http_addr().port(),
                    collector.http_addr().port()
                ),
                None => println!("Spans go to the Appdash collector at {appdash_addr}"),
            }
        }
        Backend::Zipkin => println!("Spans go to Zipkin (ZIPKIN_ENDPOINT, default http://127.0.0.1:9411/api/v2/spans); see them at http://localhost:9411/zipkin/"),
        Backend::Kafka => println!("Spans go to Kafka at {} (topic ZIPKIN_KAFKA_TOPIC, default zipkin)", options.kafka_brokers),
        Backend::Stdout => println!("Spans are printed here, in batches"),
    }
    println!("Press Ctrl-C to stop.");

    let served = app::serve(listener, app, shutdown_signal()).await;

    // Deliver what is queued, within a deadline, and say what happened.
    let report = tokio::task::spawn_blocking(move || tracer.shutdown(FLUSH_DEADLINE)).await?;
    println!("Tracer shut down: {report}");

    #[cfg(feature = "appdash")]
    if let Some(collector) = embedded {
        collector.shutdown().await;
    }
    served.map_err(|e| format!("the server failed: {e}").into())
}

/// Completes on Ctrl-C (or SIGTERM on Unix).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling here: run until killed.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    println!("\nShutting down...");
}

#[cfg(feature = "appdash")]
mod embedded {
    use std::error::Error;
    use std::net::Ipv4Addr;

    use collector_appdash::{Collector, CollectorHandle};
    use examples::cli::Options;

    /// Starts the embedded collector and UI, unless `APPDASH_COLLECTOR` is set. Returns the
    /// handle and the collector address the recorder should send to.
    pub(crate) async fn start(
        options: &Options,
    ) -> Result<(Option<CollectorHandle>, String), Box<dyn Error>> {
        if let Some(external) = std::env::var_os(recorder_appdash::ENV_COLLECTOR) {
            return Ok((None, external.to_string_lossy().trim().to_owned()));
        }
        let collector = Collector::builder()
            .with_collector_addr((Ipv4Addr::LOCALHOST, options.collector_port).into())
            .with_http_addr((Ipv4Addr::LOCALHOST, options.ui_port).into())
            .start()
            .await
            .map_err(|e| format!("{e} (choose other ports with --ui-port, --collector-port)"))?;
        let addr = collector.collector_addr().to_string();
        Ok((Some(collector), addr))
    }
}

/// A minimal logger: warnings and errors of the recorders (a backend that cannot be
/// reached, dropped spans) on standard error.
mod logger {
    use log::{Level, LevelFilter, Log, Metadata, Record};

    struct Stderr;

    impl Log for Stderr {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.level() <= Level::Warn
        }

        fn log(&self, record: &Record<'_>) {
            if self.enabled(record.metadata()) {
                eprintln!("{} {}: {}", record.level(), record.target(), record.args());
            }
        }

        fn flush(&self) {}
    }

    pub(crate) fn init() {
        if log::set_logger(&Stderr).is_ok() {
            log::set_max_level(LevelFilter::Warn);
        }
    }
}
