//! SMTP parsing: ours against Stalwart's `smtp-proto` 0.2 on the same bytes.
//!
//! - `smtp_commands`: every command line of `smtp-client-stream.txt` (DATA and BDAT payloads
//!   cut out), parsed from one buffer the way a server reads a pipelined batch. Both sides
//!   produce typed commands that borrow from the input (`Command<'_>` and
//!   `Request<Cow<'_, str>>`).
//! - `smtp_data`: a 1 MiB message, dot-stuffed, unstuffed into a reused `Vec` through the end
//!   marker (ours: `DataReceiver` with bare CR/LF refused and RFC 5321's 1000-octet line check;
//!   Stalwart's `DataReceiver`);
//!   `ours_borrowed` hands the data out in runs borrowed from the input instead
//!   (`DataReceiver::decode_with`), as a caller that writes it to a file or a hash can take it.
//! - `smtp_replies`: every reply of `smtp-server-stream.txt`. Ours returns `Reply<'_>` (lines
//!   borrowed, one `Vec` of lines); Stalwart's `ResponseReceiver` returns an owned `String`.
#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented items

use std::hint::black_box;

use benches::{corpus, dot_stuff, realistic_message, smtp_command_lines};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansmail_smtp::{
    Limits,
    codec::{self, BareLineEndings},
};

fn ours_commands(mut input: &[u8]) -> usize {
    let mut n = 0;
    while !input.is_empty() {
        let (rest, cmd) = codec::decode_command(input).unwrap();
        black_box(&cmd);
        input = rest;
        n += 1;
    }
    n
}

fn stalwart_commands(input: &[u8]) -> usize {
    let mut it = input.iter();
    let mut n = 0;
    while !it.as_slice().is_empty() {
        let req = stalwart_smtp::Request::parse(&mut it).unwrap();
        black_box(&req);
        n += 1;
    }
    n
}

fn smtp_commands(c: &mut Criterion) {
    let stream = corpus("smtp-client-stream.txt");
    let lines = smtp_command_lines(&stream);
    let input: Vec<u8> = lines.concat();
    // Both sides parse every line into a command: the same work.
    for line in &lines {
        codec::decode_command(line).unwrap();
        stalwart_smtp::Request::parse(&mut line.iter())
            .unwrap_or_else(|e| panic!("Stalwart: {e:?} on {}", String::from_utf8_lossy(line)));
    }
    assert_eq!(ours_commands(&input), lines.len());
    assert_eq!(stalwart_commands(&input), lines.len());

    let mut g = c.benchmark_group("smtp_commands");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("ours", |b| b.iter(|| ours_commands(black_box(&input))));
    g.bench_function("smtp-proto", |b| {
        b.iter(|| stalwart_commands(black_box(&input)));
    });
    g.finish();
}

fn smtp_data(c: &mut Criterion) {
    let message = realistic_message(1 << 20, 7);
    let stuffed = dot_stuff(&message);
    let limits = Limits::default();
    let ours = |out: &mut Vec<u8>| {
        let mut rx = codec::DataReceiver::new(
            BareLineEndings::Reject,
            limits.max_message_size,
            // RFC 5321's 1000-octet lines checked, as the server could be told to.
            Some(1000),
        );
        rx.decode(black_box(&stuffed), out)
    };
    // The same decoding, the data handed out in runs borrowed from the input where it can be
    // (`decode_with`), as a caller writing it to a file or a hash takes it.
    let ours_borrowed = || {
        let mut rx =
            codec::DataReceiver::new(BareLineEndings::Reject, limits.max_message_size, Some(1000));
        let mut delivered = 0;
        let (used, end) = rx.decode_with(black_box(&stuffed), |run| {
            delivered += black_box(run).len();
        });
        (used, end, delivered)
    };
    let theirs = |out: &mut Vec<u8>| {
        let mut rx = stalwart_smtp::request::receiver::DataReceiver::new();
        let mut it = black_box(&stuffed).iter();
        let done = rx.ingest(&mut it, out);
        (stuffed.len() - it.as_slice().len(), done)
    };
    // Both deliver exactly the message, CRLF before the marker included.
    let mut out = Vec::with_capacity(stuffed.len());
    let (used, end) = ours(&mut out);
    let end = end.unwrap();
    assert_eq!((used, out.as_slice()), (stuffed.len(), message.as_slice()));
    assert!(!end.bare_line_ending && !end.line_too_long && !end.too_large);
    let (used, borrowed_end, delivered) = ours_borrowed();
    assert_eq!(
        (used, borrowed_end, delivered),
        (stuffed.len(), Some(end), message.len())
    );
    out.clear();
    assert_eq!(theirs(&mut out), (stuffed.len(), true));
    assert_eq!(out, message);

    let mut g = c.benchmark_group("smtp_data");
    g.throughput(Throughput::Bytes(stuffed.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| {
            out.clear();
            black_box(ours(&mut out));
        });
    });
    g.bench_function("ours_borrowed", |b| b.iter(|| black_box(ours_borrowed())));
    g.bench_function("smtp-proto", |b| {
        b.iter(|| {
            out.clear();
            black_box(theirs(&mut out));
        });
    });
    g.finish();
}

fn ours_replies(mut input: &[u8]) -> usize {
    let mut n = 0;
    while !input.is_empty() {
        let (rest, reply) = codec::decode_reply(input).unwrap();
        black_box(&reply);
        input = rest;
        n += 1;
    }
    n
}

fn stalwart_replies(input: &[u8]) -> usize {
    let mut rx = stalwart_smtp::response::parser::ResponseReceiver::default();
    let mut it = input.iter();
    let mut n = 0;
    while !it.as_slice().is_empty() {
        let reply = rx.parse(&mut it).unwrap();
        black_box(&reply);
        rx.reset();
        n += 1;
    }
    n
}

fn smtp_replies(c: &mut Criterion) {
    let input = corpus("smtp-server-stream.txt");
    let n = ours_replies(&input);
    assert_eq!(stalwart_replies(&input), n);

    let mut g = c.benchmark_group("smtp_replies");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("ours", |b| b.iter(|| ours_replies(black_box(&input))));
    g.bench_function("smtp-proto", |b| {
        b.iter(|| stalwart_replies(black_box(&input)));
    });
    g.finish();
}

criterion_group!(benches, smtp_commands, smtp_data, smtp_replies);
criterion_main!(benches);
