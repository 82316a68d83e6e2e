//! The smallest traced program with the Kafka backend: Zipkin spans on a Kafka topic, for
//! Zipkin's Kafka collector to read.
//!
//! With a broker on 127.0.0.1:9092 (or `KAFKA_BOOTSTRAP_SERVERS` set):
//!
//! ```sh
//! cargo run -p examples --example kafka --features kafka
//! ```

use std::time::Duration;

use recorder_zipkin::ZipkinRecorder;
use tracer_api::{tags, Tracer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let brokers =
        std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned());

    // The one line that picks the backend (ZIPKIN_KAFKA_TOPIC, default `zipkin`, and
    // TRACER_EXPORT_* are read from the environment).
    let recorder = ZipkinRecorder::from_env()
        .with_kafka_brokers(brokers)
        .build()?;
    let tracer = Tracer::builder()
        .with_service_name("hello-kafka")
        .with_recorder(recorder)
        .build()?;

    let request = tracer
        .span("GET /home")
        .tag(tags::SPAN_KIND, "server")
        .start();
    {
        // A message handed to a queue: the consumer follows from the producer.
        let producer = tracer
            .span("publish order")
            .child_of(request.context())
            .tag(tags::SPAN_KIND, "producer")
            .tag(tags::MESSAGE_BUS_DESTINATION, "orders")
            .start();
        let _consumer = tracer
            .span("process order")
            .follows_from(producer.context())
            .tag(tags::SPAN_KIND, "consumer")
            .start();
    }
    request.finish();

    // A span counts as exported once the broker confirmed it.
    let report = tracer.shutdown(Duration::from_secs(10));
    println!("{report}");
    Ok(())
}
