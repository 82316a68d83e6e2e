//! Malformed and abusive clients lose only their own connection: garbage, an oversized length
//! prefix, a truncated frame, a frame never finished, thousands of idle connections. A good
//! client keeps delivering throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use collector_appdash::CollectorHandle;
use support::{
    assert_closed_by_server, builder, eventually, flush, frame, send_and_close, tracer_to,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracer_api::Tracer;

/// Sends one span through the tracer and waits until the store has `want` traces.
async fn good_client_delivers(handle: &CollectorHandle, tracer: &Tracer, want: usize) {
    tracer.span(format!("good {want}")).start().finish();
    flush(tracer).await;
    eventually("the good client's trace", || {
        (handle.store().len() == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_closes_only_that_connection() {
    let handle = builder()
        .with_frame_timeout(Duration::from_millis(300))
        .with_idle_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let addr = handle.collector_addr();
    let tracer = tracer_to(&handle);
    good_client_delivers(&handle, &tracer, 1).await;

    // Garbage: an invalid tag after a valid length.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0x05, 0xff, 0xff, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert_closed_by_server(&mut s).await;
    eventually("garbage counted", || {
        (handle.stats().bad_input == 1).then_some(())
    })
    .await;
    good_client_delivers(&handle, &tracer, 2).await;

    // A varint that never ends.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0xff; 11]).await.unwrap();
    assert_closed_by_server(&mut s).await;

    // A length prefix over the limit (1 MiB + 1): refused before any body is sent.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0x81, 0x80, 0x40]).await.unwrap();
    assert_closed_by_server(&mut s).await;
    eventually("oversized prefix counted", || {
        (handle.stats().bad_input == 3).then_some(())
    })
    .await;
    assert_eq!(
        handle.stats().timed_out,
        0,
        "closed for the size, not by a timeout"
    );
    good_client_delivers(&handle, &tracer, 3).await;

    // A valid frame, then half of another, then the client closes: the first stays stored.
    let good = frame(0xaaaa, 1, 0, "before the cut", 0, 5);
    let mut bytes = good.clone();
    let next = frame(0xbbbb, 1, 0, "cut", 0, 5);
    bytes.extend_from_slice(&next[..next.len() / 2]);
    send_and_close(addr, &bytes).await;
    eventually("truncated frame counted", || {
        (handle.stats().bad_input == 4).then_some(())
    })
    .await;
    assert!(handle.store().trace(0xaaaa).is_some());
    assert!(handle.store().trace(0xbbbb).is_none());
    good_client_delivers(&handle, &tracer, 5).await;

    // Half a frame, then silence: closed after the frame timeout.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&next[..next.len() / 2]).await.unwrap();
    good_client_delivers(&handle, &tracer, 6).await;
    assert_closed_by_server(&mut s).await;
    eventually("slow frame counted", || {
        (handle.stats().timed_out == 1).then_some(())
    })
    .await;

    // A frame trickled a byte at a time, slower than the frame timeout allows in total.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut closed = false;
    for b in &next {
        if s.write_all(std::slice::from_ref(b)).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !closed {
        assert_closed_by_server(&mut s).await;
    }
    assert!(handle.store().trace(0xbbbb).is_none());
    eventually("trickle counted", || {
        (handle.stats().timed_out == 2).then_some(())
    })
    .await;

    // Random bytes from many clients at once.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let mut bytes = Vec::new();
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(seed as u8);
        }
        tasks.push(tokio::spawn(
            async move { send_and_close(addr, &bytes).await },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored = handle.store().len();
    good_client_delivers(&handle, &tracer, stored + 1).await;

    let _ = tokio::task::spawn_blocking(move || tracer.shutdown(support::WAIT)).await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_do_not_starve_a_busy_client() {
    let handle = builder()
        .with_max_connections(64)
        .with_idle_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let addr = handle.collector_addr();

    // A busy client, connected before the flood.
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(&frame(1, 1, 0, "busy 0", 0, 1))
        .await
        .unwrap();
    eventually("the busy client's first span", || {
        handle.store().trace(1).is_some().then_some(())
    })
    .await;

    // 1000 idle connections: 63 fit beside the busy one, the rest are refused.
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    eventually("refusals counted", || {
        (handle.stats().connections_refused == 937).then_some(())
    })
    .await;

    // The busy client keeps delivering while the idle ones hold their slots and time out.
    for i in 1..=20u64 {
        busy.write_all(&frame(1, 1 + i, 1, &format!("busy {i}"), i, i + 1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    eventually("all busy spans", || {
        (handle.store().trace(1).map(|t| t.spans.len()) == Some(21)).then_some(())
    })
    .await;
    eventually("idle connections closed", || {
        let s = handle.stats();
        (s.timed_out == 63 && s.connections_open == 1).then_some(())
    })
    .await;
    drop(idle);

    // With the slots free again, a new client connects and delivers.
    let tracer = tracer_to(&handle);
    good_client_delivers(&handle, &tracer, 2).await;
    let stats = handle.stats();
    assert_eq!(stats.bad_input, 0);
    assert_eq!(stats.connections_accepted, 1 + 63 + 1);

    let _ = tokio::task::spawn_blocking(move || tracer.shutdown(support::WAIT)).await;
    handle.shutdown().await;
}
