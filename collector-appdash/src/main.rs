//! `collector-appdash`: an Appdash-compatible collector with a web UI, as a program.
//!
//! ```text
//! collector-appdash [--collector 127.0.0.1:7701] [--http 127.0.0.1:7700]
//!                   [--max-traces 10000] [--max-age 30m] [--max-bytes 268435456]
//!                   [--max-connections 512]
//!                   [--tls-cert cert.pem --tls-key key.pem] [--basic-auth user:pass]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use collector_appdash::{parse_duration, Collector};

/// An Appdash-compatible trace collector with a web UI.
///
/// Appdash clients (such as recorder-appdash) send spans to the collector port; the web UI
/// shows the traces. Everything is kept in memory.
#[derive(Debug, Parser)]
#[command(name = "collector-appdash", version)]
struct Args {
    /// Address of the collector port (Appdash protocol).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7701")]
    collector: SocketAddr,
    /// Address of the web UI and JSON API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7700")]
    http: SocketAddr,
    /// The most traces kept in memory (the oldest are evicted first).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_traces: usize,
    /// Evict traces older than this, such as 90s, 30m or 2h (0: never by age).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    max_age: Duration,
    /// The most annotation bytes kept in memory (the oldest traces are evicted first).
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    max_bytes: usize,
    /// The most client connections open at once.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_connections: usize,
    /// PEM certificate chain: serve TLS on the collector port (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require HTTP basic auth on the web UI, as user:password.
    #[arg(long, value_name = "USER:PASS", value_parser = parse_basic_auth)]
    basic_auth: Option<(String, String)>,
    /// Log every client connection and error to standard error.
    #[arg(long)]
    verbose: bool,
}

fn parse_basic_auth(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_owned(), pass.to_owned())),
        _ => Err("expected user:password".to_owned()),
    }
}

/// Prints log records at or above a level to standard error.
struct StderrLog(log::LevelFilter);

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.0
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{} {}", record.level(), record.args());
        }
    }
    fn flush(&self) {}
}

static INFO_LOG: StderrLog = StderrLog(log::LevelFilter::Info);
static DEBUG_LOG: StderrLog = StderrLog(log::LevelFilter::Debug);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let logger = if args.verbose { &DEBUG_LOG } else { &INFO_LOG };
    if log::set_logger(logger).is_ok() {
        log::set_max_level(logger.0);
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("collector-appdash: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Collector::builder()
        .with_collector_addr(args.collector)
        .with_http_addr(args.http)
        .with_max_traces(args.max_traces)
        .with_max_age(args.max_age)
        .with_max_bytes(args.max_bytes)
        .with_max_connections(args.max_connections);
    if let Some((user, pass)) = args.basic_auth {
        builder = builder.with_basic_auth(user, pass);
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        builder = with_tls(builder, cert, key)?;
    }
    let handle = builder.start().await?;
    println!(
        "collector-appdash: collecting on {} (Appdash protocol); web UI at {}/traces",
        handle.collector_addr(),
        handle.http_url()
    );
    tokio::signal::ctrl_c().await?;
    println!("collector-appdash: shutting down");
    handle.shutdown().await;
    Ok(())
}

#[cfg(feature = "tls")]
fn with_tls(
    builder: collector_appdash::CollectorBuilder,
    cert: PathBuf,
    key: PathBuf,
) -> Result<collector_appdash::CollectorBuilder, Box<dyn std::error::Error>> {
    Ok(builder.with_tls_files(cert, key))
}

#[cfg(not(feature = "tls"))]
fn with_tls(
    _builder: collector_appdash::CollectorBuilder,
    _cert: PathBuf,
    _key: PathBuf,
) -> Result<collector_appdash::CollectorBuilder, Box<dyn std::error::Error>> {
    Err("--tls-cert/--tls-key need TLS support: rebuild with `--features tls`".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_bad_flags_are_clear_errors() {
        let a = Args::try_parse_from(["c"]).unwrap();
        assert_eq!(a.collector.to_string(), "127.0.0.1:7701");
        assert_eq!(a.http.to_string(), "127.0.0.1:7700");
        assert_eq!(a.max_age, Duration::from_secs(1800));
        let a = Args::try_parse_from([
            "c",
            "--max-age",
            "90s",
            "--basic-auth",
            "me:p:w",
            "--http",
            "0.0.0.0:0",
        ])
        .unwrap();
        assert_eq!(a.max_age, Duration::from_secs(90));
        assert_eq!(a.basic_auth, Some(("me".to_owned(), "p:w".to_owned())));
        let err = Args::try_parse_from(["c", "--max-age", "soon"]).unwrap_err();
        assert!(err.to_string().contains("invalid duration"), "{err}");
        let err = Args::try_parse_from(["c", "--basic-auth", "nocolon"]).unwrap_err();
        assert!(err.to_string().contains("user:password"), "{err}");
        assert!(Args::try_parse_from(["c", "--tls-cert", "x.pem"]).is_err());
        assert!(Args::try_parse_from(["c", "--collector", "nowhere"]).is_err());
    }
}
