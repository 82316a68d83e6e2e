#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `recorder-appdash` against the real Appdash server (`appdash serve`, built from the
//! pinned Go module): the sample trace as Appdash's profile and trace page show it; Appdash
//! restarted, with the client reconnecting.
//!
//! One Appdash serves every test of this binary (or `$APPDASH_COLLECTOR` and
//! `$APPDASH_URL`).

use std::time::Duration;

mod support;

use integration::scenario::{record_traces, SampleTrace};
use integration::Appdash;
use recorder_appdash::AppdashRecorder;
use tracer_api::Tracer;

fn appdash() -> &'static Appdash {
    Appdash::shared().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn sample_trace_shows_in_appdash() {
    let appdash = appdash();
    let _access = appdash.shared_access();
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(appdash.collector_addr())
        .with_batch_config(support::prompt())
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("it-appdash")
        .with_recorder(recorder)
        .build()
        .unwrap();

    let sample = SampleTrace::record(&tracer);
    let report = tracer.shutdown(Duration::from_secs(30));
    assert_eq!(report.exported, 3, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");

    let profile = appdash
        .wait_for_profile(sample.appdash_trace_id(), 3, Duration::from_secs(30))
        .unwrap();
    sample
        .check_appdash_profile(&profile)
        .unwrap_or_else(|e| panic!("{e}; profile: {profile:?}"));
    let root = appdash
        .trace_page(sample.appdash_trace_id())
        .unwrap()
        .expect("the trace page after the profile listed the trace");
    sample
        .check_appdash_trace(&root)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Appdash stops and starts again: spans recorded meanwhile and afterwards arrive, over a new
/// connection.
#[test]
fn client_reconnects_after_appdash_restart() {
    let appdash = appdash();
    let _exclusive = appdash.exclusive();
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(appdash.collector_addr())
        .with_reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .with_batch_config(support::patient())
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("it-appdash-restart")
        .with_recorder(recorder.clone())
        .build()
        .unwrap();

    let before = record_traces(&tracer, "before", 1, 10);
    let report = tracer.flush(Duration::from_secs(30));
    assert_eq!((report.exported, report.pending), (10, 0), "{report}");
    appdash
        .wait_for_profile(before[0].low(), 10, Duration::from_secs(30))
        .unwrap();

    appdash.stop().unwrap();
    let during = record_traces(&tracer, "during", 1, 10);
    appdash.start_again().unwrap();
    let report = tracer.flush(Duration::from_secs(60));
    assert_eq!(report.pending, 0, "{report}");
    let after = record_traces(&tracer, "after", 1, 10);

    let report = tracer.shutdown(Duration::from_secs(60));
    assert!(!report.timed_out, "{report}");
    assert_eq!(report.exported, 30, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(recorder.stats().recorded, 30);
    for id in during.iter().chain(&after) {
        let profile = appdash
            .wait_for_profile(id.low(), 10, Duration::from_secs(30))
            .unwrap();
        assert_eq!(profile.len(), 10, "trace {id}: {profile:?}");
    }
}
