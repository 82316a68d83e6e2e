//! Side-by-side benchmarks of this workspace and its peers (fastrace, opentelemetry_sdk,
//! rustracing), in one run: the hot path, unsampled spans, encoding, export under load and
//! `record` latency. Prints a markdown report of medians and ratios (ours ÷ theirs) and
//! writes it to `target/bench-report.md`.
//!
//! ```text
//! cargo run --release -p benches              # everything, about 3-4 minutes on 2 cores
//! cargo run --release -p benches -- --quick   # a short smoke run (under a minute)
//! cargo run --release -p benches -- --only hot,unsampled,encode,export,latency
//! cargo run --release -p benches -- --out report.md
//! cargo run --release -p benches -- --profile sampled-batch 1000000   # one case, for perf
//! ```

mod alloc;
mod encode;
mod export;
mod hot;
mod latency;
mod sink;
mod util;

use std::time::Instant;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Run-wide settings.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) hot_iters: u64,
    pub(crate) rounds: usize,
    pub(crate) encode_secs: f64,
    pub(crate) export_secs: f64,
    pub(crate) latency_samples: usize,
    only: Option<Vec<String>>,
    out: std::path::PathBuf,
    quick: bool,
}

impl Options {
    fn parse() -> Options {
        let mut args = std::env::args().skip(1);
        let mut quick = false;
        let mut only = None;
        let mut out = None;
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--only" => {
                    only = args
                        .next()
                        .map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
                }
                "--out" => out = args.next().map(std::path::PathBuf::from),
                "--bench" => {} // passed by `cargo bench`
                "-h" | "--help" => {
                    println!(
                        "usage: benches [--quick] [--only hot,unsampled,encode,export,latency] [--out FILE]"
                    );
                    std::process::exit(0);
                }
                other => fail(&format!("unknown argument {other:?} (try --help)")),
            }
        }
        let out = out.unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
                .join("bench-report.md")
        });
        if quick {
            Options {
                hot_iters: 20_000,
                rounds: 5,
                encode_secs: 0.3,
                export_secs: 2.0,
                latency_samples: 100_000,
                only,
                out,
                quick,
            }
        } else {
            Options {
                hot_iters: 200_000,
                rounds: 11,
                encode_secs: 2.0,
                export_secs: 10.0,
                latency_samples: 1_000_000,
                only,
                out,
                quick,
            }
        }
    }

    fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|s| s == section))
    }
}

/// Reports a setup failure and exits (a benchmark cannot go on without its fixtures).
pub(crate) fn fail(msg: &str) -> ! {
    eprintln!("benches: {msg}");
    std::process::exit(2)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let v: Vec<&str> = s.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    format!(
        "- CPUs: {cpus} ({model}), {} {}\n- load average (1, 5, 15 min) at start: {}\n",
        std::env::consts::OS,
        std::env::consts::ARCH,
        load_average()
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        let case = args.get(i + 1).map_or("", String::as_str);
        let n = args
            .get(i + 2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        if !encode::profile(case, n) {
            hot::profile(case, n);
        }
        return;
    }
    let opts = Options::parse();
    let started = Instant::now();
    let mut report = format!(
        "# Benchmarks: this workspace side by side with its peers\n\n{}- mode: {}\n\n",
        machine(),
        if opts.quick {
            "--quick (smoke run: short, noisy)"
        } else {
            "full"
        }
    );
    type Section = (&'static str, fn(&Options) -> String);
    let sections: [Section; 5] = [
        ("hot", hot::sampled),
        ("unsampled", hot::unsampled),
        ("encode", encode::run),
        ("export", export::run),
        ("latency", latency::run),
    ];
    for (name, f) in sections {
        if !opts.wants(name) {
            continue;
        }
        eprintln!("benches: running {name} ...");
        let t = Instant::now();
        let text = f(&opts);
        println!("{text}");
        report.push_str(&text);
        report.push('\n');
        eprintln!("benches: {name} took {:.1} s", t.elapsed().as_secs_f64());
    }
    let tail = format!(
        "Total time {:.0} s; load average at the end: {}.\n",
        started.elapsed().as_secs_f64(),
        load_average()
    );
    println!("{tail}");
    report.push_str(&tail);
    if let Some(dir) = opts.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&opts.out, report) {
        Ok(()) => eprintln!("benches: report written to {}", opts.out.display()),
        Err(e) => eprintln!("benches: could not write {}: {e}", opts.out.display()),
    }
}
