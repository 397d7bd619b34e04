//! Latency samples and their summary.
#![allow(clippy::cast_precision_loss)] // counts as f64 for rates: far below 2^52

use std::{collections::BTreeMap, time::Duration};

/// Latencies per kind of operation, and the errors seen.
#[derive(Debug, Default)]
pub struct Stats {
    pub samples: BTreeMap<&'static str, Vec<Duration>>,
    pub errors: BTreeMap<String, usize>,
    /// Protocol commands sent (an SMTP transaction is MAIL, each RCPT and DATA).
    pub commands: usize,
}

impl Stats {
    pub fn record(&mut self, kind: &'static str, took: Duration) {
        self.samples.entry(kind).or_default().push(took);
    }

    pub fn error(&mut self, what: impl Into<String>) {
        *self.errors.entry(what.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Stats) {
        for (k, v) in other.samples {
            self.samples.entry(k).or_default().extend(v);
        }
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        self.commands += other.commands;
    }

    pub fn count(&self) -> usize {
        self.samples.values().map(Vec::len).sum()
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }

    /// The samples of every kind but connection set-up.
    pub fn commands_samples(&self) -> Vec<Duration> {
        self.samples
            .iter()
            .filter(|(k, _)| !k.starts_with("connect"))
            .flat_map(|(_, v)| v.iter().copied())
            .collect()
    }
}

/// p50, p90, p99 and max of `samples`, in milliseconds.
pub fn percentiles(samples: &[Duration]) -> [f64; 4] {
    if samples.is_empty() {
        return [0.0; 4];
    }
    let mut v = samples.to_vec();
    v.sort_unstable();
    // Nearest rank: the smallest sample with at least `percent`% of the samples at or below.
    let at = |percent: usize| {
        let rank = (percent * v.len()).div_ceil(100).clamp(1, v.len());
        v[rank - 1].as_secs_f64() * 1000.0
    };
    [
        at(50),
        at(90),
        at(99),
        v[v.len() - 1].as_secs_f64() * 1000.0,
    ]
}

/// Prints one target's results as Markdown table rows: the total, then each kind.
pub fn print_rows(target: &str, protocol: &str, sessions: usize, wall: Duration, stats: &Stats) {
    let secs = wall.as_secs_f64();
    let row = |what: &str, ops: usize, samples: &[Duration], errors: usize| {
        let [p50, p90, p99, max] = percentiles(samples);
        println!(
            "| {target} | {protocol} | {what} | {sessions} | {ops} | {errors} | {:.0} | {p50:.2} | {p90:.2} | {p99:.2} | {max:.2} |",
            ops as f64 / secs,
        );
    };
    row(
        "**all commands**",
        stats.commands,
        &stats.commands_samples(),
        stats.error_count(),
    );
    for (kind, samples) in &stats.samples {
        row(kind, samples.len(), samples, 0);
    }
}

pub const HEADER: &str = "| target | protocol | operation | sessions | count | errors | per second | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|";
