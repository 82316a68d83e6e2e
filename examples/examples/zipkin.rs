//! The smallest traced program with the Zipkin backend (HTTP).
//!
//! Start Zipkin (for example its `openzipkin/zipkin` container, port 9411), then:
//!
//! ```sh
//! cargo run -p examples --example zipkin --features zipkin
//! ```
//!
//! and find the trace in Zipkin's UI at <http://localhost:9411/zipkin/>. `ZIPKIN_ENDPOINT`
//! points it elsewhere.

use std::time::Duration;

use recorder_zipkin::ZipkinRecorder;
use tracer_api::{tags, Tracer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The one line that picks the backend (ZIPKIN_ENDPOINT, ZIPKIN_ENCODING, ZIPKIN_GZIP and
    // TRACER_EXPORT_* are read from the environment).
    let recorder = ZipkinRecorder::from_env().build()?;
    let tracer = Tracer::builder()
        .with_service_name("hello-zipkin")
        .with_recorder(recorder)
        .build()?;

    let request = tracer
        .span("GET /home")
        .tag(tags::SPAN_KIND, "server")
        .start();
    let trace_id = request.context().trace_id();
    {
        let mut call = tracer
            .span("GET /service")
            .child_of(request.context())
            .tag(tags::SPAN_KIND, "client")
            .tag(tags::PEER_SERVICE, "service")
            .start();
        call.set_tag(tags::HTTP_STATUS_CODE, 200);
    }
    request.finish();

    // Deliver what is queued, within a deadline, and say what happened.
    let report = tracer.shutdown(Duration::from_secs(5));
    println!("trace {trace_id}: {report}");
    if report.exported == 0 {
        eprintln!("nothing reached Zipkin: is it running at ZIPKIN_ENDPOINT (default http://127.0.0.1:9411/api/v2/spans)?");
    }
    Ok(())
}
