//! TLS to the collector (feature `tls`): the handshake verifies the server against the CA
//! file and the server name, and spans arrive through it.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use recorder_appdash::annotations::wire_span_id;
use recorder_appdash::{AppdashRecorder, BuildError};
use support::{tls_ca_file, Collector};
use tracer_api::export::{BatchConfig, Reporter};
use tracer_api::{InMemoryRecorder, Tracer};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn spans_arrive_over_tls() {
    let collector = Collector::start_tls();
    let recorder = AppdashRecorder::builder()
        .with_collector_addr(format!("localhost:{}", collector.addr().port()))
        .with_tls_ca_file(tls_ca_file())
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(20),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    assert!(recorder.reporter().is_tls());
    let tracer = Tracer::builder()
        .with_recorder(recorder.clone())
        .build()
        .unwrap();
    for i in 0..20 {
        let mut s = tracer.span("over tls").start();
        s.set_tag("i", i);
    }
    let report = tracer.shutdown(WAIT);
    assert_eq!(report.exported, 20, "{report}");
    assert!(collector.wait_for_spans(20, WAIT));
    assert!(collector.errors().is_empty(), "{:?}", collector.errors());
}

#[tokio::test]
async fn the_ip_address_is_a_valid_server_name_and_a_wrong_name_fails_the_handshake() {
    let collector = Collector::start_tls();
    let spans = {
        let copy = InMemoryRecorder::new();
        let tracer = Tracer::builder()
            .with_recorder(copy.clone())
            .build()
            .unwrap();
        tracer.span("a").start().finish();
        copy.take()
    };
    // 127.0.0.1 is in the certificate: the host of the address is the default server name.
    let ok = AppdashRecorder::builder()
        .with_collector_addr(collector.addr().to_string())
        .with_tls_ca_file(tls_ca_file())
        .build_reporter()
        .unwrap();
    ok.report(&spans).await.unwrap();
    assert!(collector.wait_for_spans(1, WAIT));
    assert!(collector.span_ids().contains(&wire_span_id(&spans[0])));

    let wrong = AppdashRecorder::builder()
        .with_collector_addr(collector.addr().to_string())
        .with_tls_ca_file(tls_ca_file())
        .with_tls_server_name("collector.example")
        .build_reporter()
        .unwrap();
    let err = wrong.report(&spans).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.message().contains("cannot connect"), "{err}");
    assert_eq!(wrong.stats().connect_failures, 1);
}

#[test]
fn a_file_without_certificates_is_a_build_error() {
    let dir = std::env::temp_dir().join(format!("appdash-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let err = AppdashRecorder::builder()
        .with_tls_ca_file(&empty)
        .build_reporter()
        .unwrap_err();
    assert!(matches!(err, BuildError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
