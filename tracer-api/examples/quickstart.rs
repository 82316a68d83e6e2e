//! A small traced "request" printed by a hand-written recorder.
//!
//! `cargo run -p tracer-api --example quickstart`

use std::collections::HashMap;
use std::time::Duration;

use tracer_api::{tags, Recorder, SpanRecord, Tracer};

/// A recorder is one trait; this one prints a line per finished span.
struct PrintRecorder;

impl Recorder for PrintRecorder {
    fn record(&self, span: SpanRecord) {
        let parent = span.parent_id.map(|p| p.to_string()).unwrap_or_default();
        let tags: Vec<String> = span
            .tags
            .iter()
            .map(|t| format!("{}={}", t.key, t.value))
            .collect();
        println!(
            "trace={} span={} parent={:<16} {:<14} {:>8.3} ms  {}",
            span.trace_id,
            span.span_id,
            parent,
            span.operation,
            span.duration.as_secs_f64() * 1000.0,
            tags.join(" ")
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tracer = Tracer::builder()
        .with_service_name("quickstart")
        .with_recorder(PrintRecorder)
        .build()?;

    let mut home = tracer
        .span("GET /home")
        .tag(tags::SPAN_KIND, tags::SpanKind::Server)
        .start();
    home.set_baggage_item("user", "newcomer");

    // An outgoing call: a client span whose context travels in the request headers.
    let mut call = tracer
        .span("GET /service")
        .child_of(home.context())
        .tag(tags::SPAN_KIND, tags::SpanKind::Client)
        .start();
    let mut headers: HashMap<String, String> = HashMap::new();
    tracer.inject(call.context(), &mut headers);
    println!("headers sent: {headers:?}");

    // The other side extracts the caller's context and continues the trace.
    let caller = tracer.extract(&headers)?;
    let mut service = tracer
        .span("/service")
        .extracted(&caller)
        .tag(tags::SPAN_KIND, tags::SpanKind::Server)
        .start();
    service.log_kv(
        "user",
        service.baggage_item("user").unwrap_or("?").to_owned(),
    );
    std::thread::sleep(Duration::from_millis(20));
    service.finish();

    call.set_tag(tags::HTTP_STATUS_CODE, 200u16);
    call.finish();
    home.finish();
    Ok(())
}
