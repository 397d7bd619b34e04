//! POP3 parsing.
//!
//! - `pop3_commands`: every line of `pop3-client-stream.txt`, parsed from one buffer. Ours
//!   returns `Command<'_>` borrowing from the input; duesee's `pop3-codec` 0.3 (the only other
//!   POP3 parser on crates.io that builds here) returns owned `String`s.
//! - `pop3_responses`: `pop3-server-stream.txt`, decoded reply by reply with the kind of reply
//!   each command calls for (single line, multi-line, SASL), ours only: the multi-line bodies
//!   are framed (found up to `.` CRLF) and borrowed, not copied.
#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented items

use std::hint::black_box;

use benches::{corpus, lines};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansmail_pop3::{
    codec::{decode_command, decode_response},
    types::response::Expect,
};

fn ours_commands(mut input: &[u8]) -> usize {
    let mut n = 0;
    while !input.is_empty() {
        let (rest, cmd) = decode_command(input).unwrap();
        black_box(&cmd);
        input = rest;
        n += 1;
    }
    n
}

fn codec_commands(mut input: &[u8]) -> usize {
    let mut n = 0;
    while !input.is_empty() {
        let (rest, cmd) = pop3_codec::parse::command(input).unwrap();
        black_box(&cmd);
        input = rest;
        n += 1;
    }
    n
}

fn pop3_commands(c: &mut Criterion) {
    let input = corpus("pop3-client-stream.txt");
    let n = lines(&input).len();
    assert_eq!(ours_commands(&input), n);
    assert_eq!(codec_commands(&input), n);

    let mut g = c.benchmark_group("pop3_commands");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("ours", |b| b.iter(|| ours_commands(black_box(&input))));
    g.bench_function("pop3-codec", |b| {
        b.iter(|| codec_commands(black_box(&input)));
    });
    g.finish();
}

/// What each reply of the server stream is: a greeting opens every session, then one reply
/// per command, of the kind the command calls for.
fn expectations(client: &[u8]) -> Vec<Expect> {
    let mut out = vec![Expect::SingleLine];
    let mut rest = client;
    while !rest.is_empty() {
        let (tail, cmd) = decode_command(rest).unwrap();
        out.push(cmd.response_kind());
        let quit = matches!(cmd, sansmail_pop3::Command::Quit);
        rest = tail;
        if quit && !rest.is_empty() {
            out.push(Expect::SingleLine);
        }
    }
    out
}

fn ours_responses(mut input: &[u8], expect: &[Expect]) {
    for &e in expect {
        let (rest, reply) = decode_response(input, e).unwrap();
        black_box(&reply);
        input = rest;
    }
    assert!(input.is_empty());
}

fn pop3_responses(c: &mut Criterion) {
    let client = corpus("pop3-client-stream.txt");
    let input = corpus("pop3-server-stream.txt");
    let expect = expectations(&client);
    ours_responses(&input, &expect);

    let mut g = c.benchmark_group("pop3_responses");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| ours_responses(black_box(&input), &expect));
    });
    g.finish();
}

criterion_group!(benches, pop3_commands, pop3_responses);
criterion_main!(benches);
