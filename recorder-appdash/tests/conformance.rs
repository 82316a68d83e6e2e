//! The tracer-api conformance suite through the Appdash recorder: every span the suite makes
//! is exported, and the loopback collector received each one, with its name and timespan.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use recorder_appdash::annotations::{span_annotations, wire_span_id};
use recorder_appdash::AppdashRecorder;
use support::Collector;
use tracer_api::conformance;
use tracer_api::export::BatchConfig;

#[test]
fn conformance_suite_through_the_appdash_recorder() {
    let collector = Collector::start();
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(collector.addr().to_string())
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(20),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    let spans = conformance::run_with_recorder(Arc::new(recorder.clone()));
    assert!(!spans.is_empty());
    let stats = recorder.stats();
    assert_eq!(stats.exported, spans.len() as u64, "{stats:?}");

    // Span ids are unique within the suite unless shared with a remote client span; compare
    // packets by id, merging the packets of a shared id as Appdash does.
    let ids: std::collections::HashSet<_> = spans.iter().map(wire_span_id).collect();
    assert!(collector.wait_for_spans(ids.len(), Duration::from_secs(10)));
    let packets = collector.packets();
    assert_eq!(packets.len(), spans.len());
    for span in &spans {
        let id = wire_span_id(span);
        let expected = span_annotations(span);
        assert!(
            packets
                .iter()
                .any(|p| p.span_id == id && p.annotations == expected),
            "span {id} ({}) not received as sent",
            span.operation
        );
    }
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}
