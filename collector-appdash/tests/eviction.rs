//! The store is bounded by trace count and by age; the oldest traces go first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{builder, eventually, frame, get, send_and_close};

#[tokio::test]
async fn the_oldest_traces_are_evicted_past_the_count_limit() {
    let handle = builder().with_max_traces(3).start().await.unwrap();
    let addr = handle.collector_addr();
    for trace in 1..=5u64 {
        send_and_close(addr, &frame(trace, 1, 0, &format!("trace {trace}"), 0, 1)).await;
        eventually("the trace", || handle.store().trace(trace).map(|_| ())).await;
    }
    // A late span of a kept trace does not count as a new trace.
    send_and_close(addr, &frame(4, 2, 1, "late child", 0, 1)).await;
    eventually("the late child", || {
        (handle.store().trace(4)?.spans.len() == 2).then_some(())
    })
    .await;
    let ids: Vec<u64> = handle
        .store()
        .traces(&Default::default())
        .iter()
        .map(|t| t.trace_id)
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![3, 4, 5]);
    let stats = handle.store().stats();
    assert_eq!(stats.evicted_by_count, 2);
    assert_eq!(stats.traces, 3);
    assert_eq!(stats.spans, 4);
    let api = get(handle.http_addr(), "/api/traces/0000000000000001").await;
    assert_eq!(api.status, 404);
    let list = get(handle.http_addr(), "/api/traces").await.json();
    assert_eq!(list["traces"].as_array().unwrap().len(), 3);
    handle.shutdown().await;
}

#[tokio::test]
async fn traces_older_than_the_age_limit_are_evicted() {
    let handle = builder()
        .with_max_age(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let addr = handle.collector_addr();
    send_and_close(addr, &frame(1, 1, 0, "old", 0, 1)).await;
    eventually("the old trace", || handle.store().trace(1).map(|_| ())).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    send_and_close(addr, &frame(2, 1, 0, "new", 0, 1)).await;
    eventually("the new trace", || handle.store().trace(2).map(|_| ())).await;
    assert!(handle.store().trace(1).is_none());
    assert_eq!(handle.store().stats().evicted_by_age, 1);
    // Reads evict too, without new traffic.
    eventually("the new trace to age out", || {
        get_blocking_free(&handle).then_some(())
    })
    .await;
    assert_eq!(handle.store().stats().evicted_by_age, 2);
    handle.shutdown().await;
}

fn get_blocking_free(handle: &collector_appdash::CollectorHandle) -> bool {
    handle.store().traces(&Default::default()).is_empty()
}

#[tokio::test]
async fn a_zero_age_keeps_traces_until_the_count_limit() {
    let handle = builder()
        .with_max_age(Duration::ZERO)
        .with_max_traces(1)
        .start()
        .await
        .unwrap();
    assert_eq!(handle.store().config().max_age, None);
    send_and_close(handle.collector_addr(), &frame(7, 1, 0, "kept", 0, 1)).await;
    eventually("the trace", || handle.store().trace(7).map(|_| ())).await;
    send_and_close(handle.collector_addr(), &frame(8, 1, 0, "next", 0, 1)).await;
    eventually("the second trace replaces the first", || {
        handle.store().trace(7).is_none().then_some(())
    })
    .await;
    assert!(handle.store().trace(8).is_some());
    handle.shutdown().await;
}
