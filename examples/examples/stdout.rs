//! The smallest traced program with the stdout backend: spans are printed as a tree.
//!
//! ```sh
//! cargo run -p examples --example stdout --features stdout
//! ```

use std::time::Duration;

use recorder_stdout::{Format, StdoutRecorder};
use tracer_api::{tags, Tracer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The one line that picks the backend (STDOUT_TARGET, STDOUT_COLOR and TRACER_EXPORT_*
    // are read from the environment; the format set here wins over STDOUT_FORMAT).
    let recorder = StdoutRecorder::from_env()?
        .with_format(Format::Pretty)
        .build()?;
    let tracer = Tracer::builder()
        .with_service_name("hello-stdout")
        .with_recorder(recorder)
        .build()?;

    let mut request = tracer
        .span("GET /home")
        .tag(tags::SPAN_KIND, "server")
        .start();
    {
        let mut query = tracer
            .span("SELECT users")
            .child_of(request.context())
            .tag(tags::DB_TYPE, "sql")
            .start();
        query.log_event("cache-miss");
    } // the child finishes here, when dropped
    request.set_tag(tags::HTTP_STATUS_CODE, 200);
    request.finish();

    // Write what is queued before exiting.
    let report = tracer.shutdown(Duration::from_secs(5));
    eprintln!("{report}");
    Ok(())
}
