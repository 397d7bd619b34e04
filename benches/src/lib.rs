//! Criterion benchmarks comparing the workspace's parsers with the crates users would pick
//! instead. The benchmarks live in `benches/`; this library only holds shared helpers.
#![forbid(unsafe_code)]
