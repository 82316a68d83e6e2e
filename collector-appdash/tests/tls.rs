//! TLS on the collector port (feature `tls`): recorder-appdash delivers over TLS, and a
//! plain-TCP client fails the handshake without disturbing anyone.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use collector_appdash::StartError;
use recorder_appdash::AppdashRecorder;
use support::{builder, eventually, frame, tls_file, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracer_api::export::BatchConfig;
use tracer_api::Tracer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_arrive_over_tls() {
    let handle = builder()
        .with_tls_files(tls_file("server.pem"), tls_file("server.key"))
        .with_frame_timeout(Duration::from_secs(2))
        .start()
        .await
        .unwrap();

    // A client speaking plain TCP: the handshake fails, only that connection is closed.
    let mut plain = tokio::net::TcpStream::connect(handle.collector_addr())
        .await
        .unwrap();
    plain
        .write_all(&frame(1, 1, 0, "plain", 0, 1))
        .await
        .unwrap();
    // The server answers with a TLS alert, then closes.
    let mut alert = Vec::new();
    let read = tokio::time::timeout(WAIT, plain.read_to_end(&mut alert)).await;
    assert!(read.is_ok(), "the collector kept the connection open");
    assert!(alert.len() < 64, "{alert:?}");
    eventually("the failed handshake", || {
        (handle.stats().tls_failures == 1).then_some(())
    })
    .await;

    let recorder = AppdashRecorder::builder()
        .with_collector_addr(format!("localhost:{}", handle.collector_addr().port()))
        .with_tls_ca_file(tls_file("ca.pem"))
        .with_batch_config(BatchConfig {
            batch_interval: Duration::from_millis(10),
            ..BatchConfig::default()
        })
        .build()
        .unwrap();
    let tracer = Tracer::builder().with_recorder(recorder).build().unwrap();
    for i in 0..10 {
        let mut s = tracer.span("over tls").start();
        s.set_tag("i", i);
    }
    let t = tracer.clone();
    let report = tokio::task::spawn_blocking(move || t.shutdown(WAIT))
        .await
        .unwrap();
    assert_eq!(report.exported, 10, "{report}");
    eventually("ten traces", || (handle.store().len() == 10).then_some(())).await;
    assert!(handle.store().trace(1).is_none());
    handle.shutdown().await;
}

#[tokio::test]
async fn bad_tls_files_are_start_errors() {
    let err = builder()
        .with_tls_files(tls_file("missing.pem"), tls_file("server.key"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    // A key that does not belong to the certificate.
    let err = builder()
        .with_tls_files(tls_file("ca.pem"), tls_file("server.key"))
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
}
