//! Measuring helpers: medians, percentiles, per-thread CPU time and context switches.

use std::fmt::Write as _;

/// The median of `v` (sorts it); 0 when empty.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(0.0),
        n => {
            let a = v.get(n / 2 - 1).copied().unwrap_or(0.0);
            let b = v.get(n / 2).copied().unwrap_or(0.0);
            (a + b) / 2.0
        }
    }
}

/// The `p` quantile (0..=1) of an ascending slice (nearest rank); 0 when empty.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i.min(sorted.len() - 1))
        .copied()
        .unwrap_or_default()
}

/// Nanoseconds the calling thread has spent on a CPU (Linux `schedstat`), when known.
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// The calling thread's involuntary context switches so far (Linux), when known.
pub(crate) fn thread_preemptions() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))?
        .trim()
        .parse()
        .ok()
}

/// A ratio as text (`-` when the denominator is not positive).
pub(crate) fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 && ours.is_finite() {
        format!("{:.2}", ours / theirs)
    } else {
        "-".to_owned()
    }
}

/// A markdown table builder.
#[derive(Debug, Default)]
pub(crate) struct Table {
    text: String,
}

impl Table {
    /// A table with the given column headers; columns after the first are right-aligned.
    pub(crate) fn new(headers: &[&str]) -> Table {
        let mut t = Table::default();
        let _ = writeln!(t.text, "| {} |", headers.join(" | "));
        let aligns: Vec<&str> = headers
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(t.text, "|{}|", aligns.join("|"));
        t
    }

    /// Appends a row.
    pub(crate) fn row(&mut self, cells: &[String]) {
        let _ = writeln!(self.text, "| {} |", cells.join(" | "));
    }

    /// The markdown text.
    pub(crate) fn finish(self) -> String {
        self.text
    }
}

/// Whether a target was met, as a table cell.
pub(crate) fn verdict(met: bool) -> String {
    if met { "met" } else { "**missed**" }.to_owned()
}
