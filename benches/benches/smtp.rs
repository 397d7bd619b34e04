//! SMTP parser benchmarks. Filled in by the benchmarking work; kept so `cargo bench` builds.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions
use criterion::{Criterion, criterion_group, criterion_main};

fn smtp(_c: &mut Criterion) {}

criterion_group!(benches, smtp);
criterion_main!(benches);
