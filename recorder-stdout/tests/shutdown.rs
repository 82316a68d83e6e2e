//! Shutdown writes every queued span, and writing happens on the pipeline's thread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use recorder_stdout::{BatchConfig, Format, StdoutRecorder};
use support::SharedBuf;
use tracer_api::Tracer;

const N: usize = 20_000;

fn tracer_with(format: Format, out: impl Write + Send + 'static) -> Tracer {
    // A long interval: nothing is cut by time, so shutdown has to write what is queued.
    let config = BatchConfig {
        batch_interval: Duration::from_secs(60),
        ..BatchConfig::default()
    };
    let recorder = StdoutRecorder::builder()
        .with_format(format)
        .with_writer(out)
        .with_batch_config(config)
        .build()
        .unwrap();
    Tracer::builder()
        .with_service_name("svc")
        .with_recorder(recorder)
        .build()
        .unwrap()
}

#[test]
fn shutdown_writes_every_queued_span_as_json() {
    let out = SharedBuf::default();
    let tracer = tracer_with(Format::Json, out.clone());
    let mut want = HashSet::new();
    for i in 0..N {
        let mut span = tracer.span("work").start();
        span.set_tag("i", i as u64);
        want.insert(span.context().span_id().to_string());
        span.finish();
    }
    let report = tracer.shutdown(Duration::from_secs(30));
    assert_eq!(report.exported, N as u64, "{report}");
    assert_eq!(report.dropped.total(), 0, "{report}");
    let text = out.text();
    assert_eq!(text.lines().count(), N);
    let got: HashSet<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["span_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn shutdown_writes_every_queued_span_as_a_tree() {
    let out = SharedBuf::default();
    let tracer = tracer_with(Format::Pretty, out.clone());
    let n = 1_000;
    for _ in 0..n {
        let root = tracer.span("root").start();
        tracer
            .span("child")
            .child_of(root.context())
            .start()
            .finish();
        root.finish();
    }
    let report = tracer.shutdown(Duration::from_secs(30));
    assert_eq!(report.exported, 2 * n as u64, "{report}");
    let text = out.text();
    let roots = text.lines().filter(|l| l.starts_with("  root  +")).count();
    let children = text
        .lines()
        .filter(|l| l.starts_with("    child  +"))
        .count();
    assert_eq!((roots, children), (n, n), "{text}");
}

/// Records which threads write, and whether the last thing done was a flush.
#[derive(Clone, Default)]
struct Spy {
    writers: Arc<Mutex<HashSet<ThreadId>>>,
    unflushed: Arc<Mutex<usize>>,
    lines: Arc<Mutex<usize>>,
}

impl Write for Spy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writers.lock().unwrap().insert(thread::current().id());
        *self.unflushed.lock().unwrap() += buf.len();
        *self.lines.lock().unwrap() += buf.iter().filter(|&&b| b == b'\n').count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        *self.unflushed.lock().unwrap() = 0;
        Ok(())
    }
}

#[test]
fn writes_happen_on_the_pipeline_thread_and_end_flushed() {
    let spy = Spy::default();
    let tracer = tracer_with(Format::Json, spy.clone());
    for _ in 0..100 {
        tracer.span("op").start().finish();
    }
    tracer.flush(Duration::from_secs(10));
    assert_eq!(*spy.lines.lock().unwrap(), 100);
    assert_eq!(*spy.unflushed.lock().unwrap(), 0);
    tracer.shutdown(Duration::from_secs(10));
    let writers = spy.writers.lock().unwrap();
    assert!(!writers.is_empty());
    assert!(!writers.contains(&thread::current().id()));
}
