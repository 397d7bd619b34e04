//! IMAP parsing: ours against imap-codec 2.0.0-alpha (extensions on) on the same bytes.
//!
//! - `imap_commands`: every message of `imap-client-stream.txt` (commands with their
//!   literals, and the `DONE` that ends each IDLE). Each message is handed whole to both
//!   sides, which frame and parse it into a typed command that borrows from the input: ours
//!   `decode_command` (framer, then parser) and `parse_idle_done`; imap-codec's
//!   `CommandCodec` and `IdleDoneCodec`.
//! - `imap_responses`: `imap-server-stream.txt` decoded response by response from one buffer,
//!   as a client reads it: ours `decode_response` into `Response<'_>`, imap-codec's
//!   `ResponseCodec` into its `Response<'_>`. Both borrow from the input.
#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented items

use std::hint::black_box;

use benches::corpus;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::{CommandCodec, IdleDoneCodec, ResponseCodec, decode::Decoder};
use sansmail_imap::codec::{
    CommandOptions, ResponseOptions, decode_command, decode_response,
    frame::{FrameLimits, Framed, Framer, Side},
    parse_idle_done,
};

/// A client message: a command, or the `DONE` line after IDLE.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Done,
}

/// Cuts the client stream into messages with our framer (literals included).
fn client_messages(stream: &[u8]) -> Vec<(Kind, &[u8])> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut idling = false;
    while !rest.is_empty() {
        let mut framer = Framer::new(Side::Server, FrameLimits::default());
        let len = loop {
            match framer.next(rest) {
                Framed::Complete { len } => break len,
                Framed::LiteralAnnounced { .. } => {}
                other => panic!("framing the corpus: {other:?}"),
            }
        };
        let (msg, tail) = rest.split_at(len);
        let kind = if idling { Kind::Done } else { Kind::Command };
        idling = kind == Kind::Command
            && msg
                .splitn(3, |&b| b == b' ')
                .nth(1)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"IDLE\r\n"));
        out.push((kind, msg));
        rest = tail;
    }
    out
}

fn ours_commands(messages: &[(Kind, &[u8])], opts: &CommandOptions) {
    for &(kind, msg) in messages {
        match kind {
            Kind::Command => {
                let (rest, cmd) = decode_command(msg, opts).unwrap();
                black_box((rest, &cmd));
            }
            Kind::Done => parse_idle_done(msg).unwrap(),
        }
    }
}

fn codec_commands(messages: &[(Kind, &[u8])]) {
    for &(kind, msg) in messages {
        match kind {
            Kind::Command => {
                let (rest, cmd) = CommandCodec::default().decode(msg).unwrap();
                black_box((rest, &cmd));
            }
            Kind::Done => {
                let done = IdleDoneCodec::default().decode(msg).unwrap();
                black_box(done);
            }
        }
    }
}

fn imap_commands(c: &mut Criterion) {
    let stream = corpus("imap-client-stream.txt");
    let messages = client_messages(&stream);
    let opts = CommandOptions::default();
    // Both sides parse every message completely.
    for &(kind, msg) in &messages {
        if kind == Kind::Command {
            let ours = decode_command(msg, &opts);
            assert!(matches!(ours, Ok((b"", _))), "ours: {ours:?}");
            let theirs = CommandCodec::default().decode(msg);
            assert!(
                matches!(theirs, Ok((b"", _))),
                "imap-codec on {}: {theirs:?}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    let mut g = c.benchmark_group("imap_commands");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| ours_commands(black_box(&messages), &opts));
    });
    g.bench_function("imap-codec", |b| {
        b.iter(|| codec_commands(black_box(&messages)));
    });
    g.finish();
}

fn ours_responses(mut input: &[u8], opts: &ResponseOptions) -> usize {
    let mut n = 0;
    while !input.is_empty() {
        let (rest, resp) = decode_response(input, opts).unwrap();
        black_box(&resp);
        input = rest;
        n += 1;
    }
    n
}

fn codec_responses(mut input: &[u8]) -> usize {
    let codec = ResponseCodec::default();
    let mut n = 0;
    while !input.is_empty() {
        let (rest, resp) = codec.decode(input).unwrap();
        black_box(&resp);
        input = rest;
        n += 1;
    }
    n
}

fn imap_responses(c: &mut Criterion) {
    let input = corpus("imap-server-stream.txt");
    let opts = ResponseOptions::default();
    let n = ours_responses(&input, &opts);
    assert_eq!(codec_responses(&input), n);

    let mut g = c.benchmark_group("imap_responses");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("ours", |b| {
        b.iter(|| ours_responses(black_box(&input), &opts));
    });
    g.bench_function("imap-codec", |b| {
        b.iter(|| codec_responses(black_box(&input)));
    });
    g.finish();
}

criterion_group!(benches, imap_commands, imap_responses);
criterion_main!(benches);
