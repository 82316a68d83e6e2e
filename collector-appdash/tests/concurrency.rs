//! Many clients collecting while readers list and render traces: everything arrives, nothing
//! deadlocks; settings out of range and taken ports are start errors; shutdown is prompt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use collector_appdash::StartError;
use support::{builder, eventually, frame, get, start, WAIT};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_and_readers() {
    let handle = start().await;
    let addr = handle.collector_addr();
    let mut writers = Vec::new();
    for client in 0..8u64 {
        writers.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            for trace in 0..50u64 {
                let id = client * 1000 + trace + 1;
                // Each trace: a child before its root, in two writes.
                s.write_all(&frame(id, 2, 1, "child", 1, 2)).await.unwrap();
                s.write_all(&frame(id, 1, 0, "root", 0, 3)).await.unwrap();
            }
            s.shutdown().await.unwrap();
        }));
    }
    let http = handle.http_addr();
    let reader = tokio::spawn(async move {
        for _ in 0..20 {
            assert_eq!(get(http, "/api/traces?limit=5").await.status, 200);
            assert_eq!(get(http, "/traces").await.status, 200);
        }
    });
    for w in writers {
        w.await.unwrap();
    }
    reader.await.unwrap();
    eventually("400 complete traces", || {
        let list = handle.store().traces(&Default::default());
        (list.len() == 400 && list.iter().all(|t| t.span_count == 2 && t.name == "root"))
            .then_some(())
    })
    .await;
    assert_eq!(handle.stats().packets, 800);
    let limited = get(http, "/api/traces?limit=7").await.json();
    assert_eq!(limited["traces"].as_array().unwrap().len(), 7);
    assert_eq!(get(http, "/api/traces?limit=lots").await.status, 400);

    // Shutdown closes open client connections and returns promptly.
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(&frame(9, 1, 0, "last", 0, 1)).await.unwrap();
    eventually("the last span", || handle.store().trace(9).map(|_| ())).await;
    let started = Instant::now();
    let store = handle.store().clone();
    handle.shutdown().await;
    assert!(started.elapsed() < WAIT);
    support::assert_closed_by_server(&mut open).await;
    assert!(store.trace(9).is_some(), "delivered data stays readable");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
    assert!(tokio::net::TcpStream::connect(http).await.is_err());
}

#[tokio::test]
async fn bad_settings_and_taken_ports_are_start_errors() {
    let handle = start().await;
    let err = builder()
        .with_collector_addr(handle.collector_addr())
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StartError::Bind {
                what: "collector",
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains(&handle.collector_addr().to_string()));
    for b in [
        builder().with_max_traces(0),
        builder().with_max_connections(0),
        builder().with_max_frame_size(0),
        builder().with_idle_timeout(Duration::ZERO),
        builder().with_basic_auth("a:b", "c"),
    ] {
        let err = b.start().await.unwrap_err();
        assert!(matches!(err, StartError::Setting { .. }), "{err}");
    }
    handle.shutdown().await;
}
