#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Start + 2 tags + finish, sampled and unsampled, against a bare baseline.
//!
//! `cargo bench -p tracer-api --bench span_overhead` prints nanoseconds per operation (median of
//! several runs), allocations per operation, and each case's ratio to the baseline.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tracer_api::sampler::NeverSample;
use tracer_api::{NoopRecorder, Recorder, SpanRecord, Tracer};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Drops what it gets (the cost of handing a record over, without a queue).
struct Discard;
impl Recorder for Discard {
    fn record(&self, span: SpanRecord) {
        black_box(span);
    }
}

const ITERS: u64 = 200_000;
const RUNS: usize = 9;

fn measure(mut f: impl FnMut(u64)) -> (f64, f64) {
    f(0); // warm up
    let mut times = Vec::with_capacity(RUNS);
    let mut allocs = 0;
    for _ in 0..RUNS {
        let a0 = ALLOCS.load(Ordering::Relaxed);
        let t0 = Instant::now();
        for i in 0..ITERS {
            f(i);
        }
        let ns = t0.elapsed().as_nanos() as f64 / ITERS as f64;
        allocs = ALLOCS.load(Ordering::Relaxed) - a0;
        times.push(ns);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (times[RUNS / 2], allocs as f64 / ITERS as f64)
}

fn main() {
    let sampled = Tracer::builder()
        .with_service_name("bench")
        .with_recorder(Discard)
        .build()
        .unwrap();
    let sampled_noop_recorder = Tracer::builder()
        .with_service_name("bench")
        .with_recorder(NoopRecorder)
        .build()
        .unwrap();
    let unsampled = Tracer::builder()
        .with_service_name("bench")
        .with_sampler(NeverSample)
        .build()
        .unwrap();
    let noop = Tracer::noop();
    let parent = sampled.span("parent").start();
    let unsampled_parent = unsampled.span("parent").start();

    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let baseline = measure(|i| {
        // What instrumentation replaces: a name and two values passed somewhere opaque.
        black_box(("op", black_box(i), black_box("GET")));
    });
    type Case<'a> = (&'static str, Box<dyn FnMut(u64) + 'a>);
    let cases: Vec<Case<'_>> = vec![
        (
            "unsampled root: start + 2 tags + finish",
            Box::new(|i| {
                let mut s = unsampled.span("op").start();
                s.set_tag("i", i).set_tag("method", "GET");
                s.finish();
            }),
        ),
        (
            "unsampled child: start + 2 tags + finish",
            Box::new(|i| {
                let mut s = unsampled
                    .span("op")
                    .child_of(unsampled_parent.context())
                    .start();
                s.set_tag("i", i).set_tag("method", "GET");
                s.finish();
            }),
        ),
        (
            "no-op tracer: start + 2 tags + finish",
            Box::new(|i| {
                let mut s = noop.span("op").start();
                s.set_tag("i", i).set_tag("method", "GET");
                s.finish();
            }),
        ),
        (
            "sampled child -> noop recorder",
            Box::new(|i| {
                let mut s = sampled_noop_recorder
                    .span("op")
                    .child_of(parent.context())
                    .start();
                s.set_tag("i", i).set_tag("method", "GET");
                s.finish();
            }),
        ),
        (
            "sampled child -> discarding recorder",
            Box::new(|i| {
                let mut s = sampled.span("op").child_of(parent.context()).start();
                s.set_tag("i", i).set_tag("method", "GET");
                s.finish();
            }),
        ),
    ];
    println!("| case | ns/op (median of {RUNS}) | allocations/op | ratio to baseline |");
    println!("|---|---:|---:|---:|");
    println!(
        "| bare baseline | {:.1} | {:.2} | 1.0x |",
        baseline.0, baseline.1
    );
    for (name, mut f) in cases {
        if filter.as_deref().is_some_and(|flt| !name.contains(flt)) {
            continue;
        }
        let (ns, allocs) = measure(&mut *f);
        println!(
            "| {name} | {ns:.1} | {allocs:.2} | {:.1}x |",
            ns / baseline.0.max(0.01)
        );
    }
}
