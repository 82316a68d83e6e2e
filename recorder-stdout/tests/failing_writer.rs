//! A writer that fails: the batch becomes a counted drop, never a panic; `WouldBlock` before
//! any byte is retried by the pipeline without printing anything twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recorder_stdout::{BatchConfig, Format, StdoutRecorder};
use support::{fixture, SharedBuf};
use tracer_api::export::{ErrorKind, Reporter};
use tracer_api::{DropCause, Tracer};

/// Fails every write and flush with `kind`.
struct Broken(io::ErrorKind);

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(self.0, "closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::new(self.0, "closed"))
    }
}

fn fast_config() -> BatchConfig {
    BatchConfig {
        batch_interval: Duration::from_millis(20),
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..BatchConfig::default()
    }
}

#[tokio::test]
async fn broken_pipe_is_a_permanent_error() {
    for format in [Format::Json, Format::Pretty] {
        let reporter = StdoutRecorder::builder()
            .with_format(format)
            .with_writer(Broken(io::ErrorKind::BrokenPipe))
            .build_reporter();
        let err = reporter.report(&fixture()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Permanent);
        assert!(err.message().contains("closed"), "{err}");
        // Shutdown's flush fails too, quietly.
        reporter.shutdown().await;
    }
}

#[test]
fn a_broken_sink_counts_every_span_as_rejected() {
    let recorder = StdoutRecorder::builder()
        .with_writer(Broken(io::ErrorKind::BrokenPipe))
        .with_batch_config(fast_config())
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("svc")
        .with_recorder(recorder.clone())
        .build()
        .unwrap();
    for i in 0..100 {
        tracer.span(format!("op {i}")).start().finish();
    }
    let started = Instant::now();
    let report = tracer.shutdown(Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.exported, 0);
    assert_eq!(report.dropped.get(DropCause::Rejected), 100, "{report}");
    assert_eq!(report.dropped.total(), 100, "{report}");
    assert_eq!(recorder.stats().dropped.get(DropCause::Rejected), 100);
}

/// Refuses the first `refuse` writes with `WouldBlock`, then accepts everything.
#[derive(Clone)]
struct NotReadyAtFirst {
    refuse: Arc<AtomicUsize>,
    out: SharedBuf,
}

impl Write for NotReadyAtFirst {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.refuse.load(Ordering::SeqCst);
        if left > 0 {
            self.refuse.store(left - 1, Ordering::SeqCst);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn would_block_before_any_byte_is_retried_without_duplicates() {
    let out = SharedBuf::default();
    let writer = NotReadyAtFirst {
        refuse: Arc::new(AtomicUsize::new(2)),
        out: out.clone(),
    };
    let recorder = StdoutRecorder::builder()
        .with_writer(writer.clone())
        .with_batch_config(fast_config())
        .build()
        .unwrap();
    let tracer = Tracer::builder()
        .with_service_name("svc")
        .with_recorder(recorder)
        .build()
        .unwrap();
    for i in 0..50 {
        tracer.span(format!("op {i}")).start().finish();
    }
    let report = tracer.shutdown(Duration::from_secs(10));
    assert_eq!(report.exported, 50, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    assert_eq!(
        writer.refuse.load(Ordering::SeqCst),
        0,
        "the writer was refused twice"
    );
    let text = out.text();
    assert_eq!(text.lines().count(), 50);
    let mut ids: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["span_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50, "a span was written twice");
}

/// Half a batch written, then a failure: permanent, so the written half is not printed again.
#[tokio::test]
async fn failure_after_a_partial_write_is_permanent() {
    struct Half {
        budget: usize,
        out: SharedBuf,
    }
    impl Write for Half {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.budget);
            self.budget -= n;
            self.out.write(&buf[..n])
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let out = SharedBuf::default();
    let reporter = StdoutRecorder::builder()
        .with_writer(Half {
            budget: 100,
            out: out.clone(),
        })
        .build_reporter();
    let err = reporter.report(&fixture()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert_eq!(out.text().len(), 100);
}
