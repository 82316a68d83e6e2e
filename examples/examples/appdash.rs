//! The smallest traced program with the Appdash backend: an Appdash-compatible collector and
//! web UI in the same process, and a recorder sending to it.
//!
//! ```sh
//! cargo run -p examples --example appdash
//! ```
//!
//! then open the printed URL; Ctrl-C stops it. To send to a collector of your own instead,
//! drop the embedded one and let `AppdashRecorder::from_env()` read `APPDASH_COLLECTOR`.

use std::net::SocketAddr;
use std::time::Duration;

use collector_appdash::Collector;
use recorder_appdash::AppdashRecorder;
use tracer_api::{tags, Tracer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The collector (a free port) and its web UI (port 8700, as in the tutorial).
    let collector = Collector::builder()
        .with_collector_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_http_addr(SocketAddr::from(([127, 0, 0, 1], 8700)))
        .start()
        .await?;

    // The one line that picks the backend (TRACER_EXPORT_* are read from the environment).
    let recorder = AppdashRecorder::from_env()?
        .with_collector_addr(collector.collector_addr().to_string())
        .build()?;
    let tracer = Tracer::builder()
        .with_service_name("hello-appdash")
        .with_128bit_trace_ids(false) // Appdash ids are 64-bit
        .with_recorder(recorder)
        .build()?;

    let mut request = tracer
        .span("GET /home")
        .tag(tags::SPAN_KIND, "server")
        .start();
    let trace_id = request.context().trace_id();
    {
        let mut query = tracer
            .span("SELECT users")
            .child_of(request.context())
            .tag(tags::DB_TYPE, "sql")
            .start();
        query.log_event("cache-miss");
    }
    request.set_baggage_item("customer", "acme");
    request.finish();

    // Deliver the spans now (a blocking call: keep it off the runtime's threads).
    let t = tracer.clone();
    let report = tokio::task::spawn_blocking(move || t.flush(Duration::from_secs(5))).await?;
    println!("{report}");
    println!(
        "See the trace at {}/traces/{trace_id}; Ctrl-C to stop.",
        collector.http_url()
    );

    tokio::signal::ctrl_c().await?;
    tokio::task::spawn_blocking(move || tracer.shutdown(Duration::from_secs(5))).await?;
    collector.shutdown().await;
    Ok(())
}
