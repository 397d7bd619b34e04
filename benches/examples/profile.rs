//! Runs one parser case of the benchmarks in a plain loop, for a profiler: instruction counts
//! under callgrind are stable on a busy machine where timings are not.
//!
//! ```text
//! cargo build --release -p benches --example profile
//! valgrind --tool=callgrind target/release/examples/profile smtp_commands/ours 20
//! perf record target/release/examples/profile imap_responses/ours 500
//! ```
//! Run it with 0 iterations too and subtract, to leave the set-up out.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use benches::{corpus, dot_stuff, realistic_message, smtp_command_lines};
use imap_codec::decode::Decoder;

const CASES: &str = "smtp_commands/{ours,smtp-proto} smtp_data/{ours,ours_borrowed,smtp-proto} \
                     smtp_replies/{ours,smtp-proto} imap_responses/{ours,imap-codec} imap_commands/{ours,imap-codec} \
                     pop3_commands/{ours,pop3-codec} pop3_responses/ours";

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(case), Some(n)) = (
        args.next(),
        args.next().and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: profile CASE ITERATIONS\ncases: {CASES}");
        std::process::exit(2);
    };
    let mut run: Box<dyn FnMut()> = match case.as_str() {
        "smtp_commands/ours" | "smtp_commands/smtp-proto" => {
            let stream = corpus("smtp-client-stream.txt");
            // `ONLY=RCPT` keeps the lines that start with that verb, to profile one command.
            let only = std::env::var("ONLY").unwrap_or_default();
            let input: Vec<u8> = smtp_command_lines(&stream)
                .into_iter()
                .filter(|l| l.starts_with(only.as_bytes()))
                .collect::<Vec<_>>()
                .concat();
            if case.ends_with("ours") {
                Box::new(move || {
                    let mut i = &input[..];
                    while !i.is_empty() {
                        let (rest, c) = sansmail_smtp::codec::decode_command(i).unwrap();
                        black_box(&c);
                        i = rest;
                    }
                })
            } else {
                Box::new(move || {
                    let mut it = input.iter();
                    while !it.as_slice().is_empty() {
                        black_box(stalwart_smtp::Request::parse(&mut it).unwrap());
                    }
                })
            }
        }
        "smtp_data/ours" | "smtp_data/ours_borrowed" | "smtp_data/smtp-proto" => {
            let stuffed = dot_stuff(&realistic_message(1 << 20, 7));
            let mut out = Vec::with_capacity(stuffed.len());
            if case.ends_with("borrowed") {
                Box::new(move || {
                    let mut rx = sansmail_smtp::codec::DataReceiver::new(
                        sansmail_smtp::codec::BareLineEndings::Reject,
                        35 << 20,
                        Some(1000),
                    );
                    black_box(rx.decode_with(&stuffed, |run| {
                        black_box(run);
                    }));
                })
            } else if case.ends_with("ours") {
                Box::new(move || {
                    out.clear();
                    let mut rx = sansmail_smtp::codec::DataReceiver::new(
                        sansmail_smtp::codec::BareLineEndings::Reject,
                        35 << 20,
                        Some(1000),
                    );
                    black_box(rx.decode(&stuffed, &mut out));
                })
            } else {
                Box::new(move || {
                    out.clear();
                    let mut rx = stalwart_smtp::request::receiver::DataReceiver::new();
                    black_box(rx.ingest(&mut stuffed.iter(), &mut out));
                })
            }
        }
        "smtp_replies/ours" | "smtp_replies/smtp-proto" => {
            let input = corpus("smtp-server-stream.txt");
            if case.ends_with("ours") {
                Box::new(move || {
                    let mut i = &input[..];
                    while !i.is_empty() {
                        let (rest, r) = sansmail_smtp::codec::decode_reply(i).unwrap();
                        black_box(&r);
                        i = rest;
                    }
                })
            } else {
                Box::new(move || {
                    let mut rx = stalwart_smtp::response::parser::ResponseReceiver::default();
                    let mut it = input.iter();
                    while !it.as_slice().is_empty() {
                        black_box(rx.parse(&mut it).unwrap());
                        rx.reset();
                    }
                })
            }
        }
        "imap_responses/ours" | "imap_responses/imap-codec" => {
            let input = corpus("imap-server-stream.txt");
            let ours = case.ends_with("ours");
            Box::new(move || {
                let opts = sansmail_imap::codec::ResponseOptions::default();
                let codec = imap_codec::ResponseCodec::default();
                let mut i = &input[..];
                while !i.is_empty() {
                    i = if ours {
                        let (rest, r) = sansmail_imap::codec::decode_response(i, &opts).unwrap();
                        black_box(&r);
                        rest
                    } else {
                        let (rest, r) = codec.decode(i).unwrap();
                        black_box(&r);
                        rest
                    };
                }
            })
        }
        "imap_commands/ours" | "imap_commands/imap-codec" => {
            // Commands only (the DONE lines after IDLE are skipped on both sides). `ONLY=UID
            // FETCH` keeps the commands whose text after the tag starts with that.
            let stream = corpus("imap-client-stream.txt");
            let only = std::env::var("ONLY").unwrap_or_default();
            let opts = sansmail_imap::codec::CommandOptions::default();
            let mut input = Vec::new();
            let mut i = &stream[..];
            while !i.is_empty() {
                let len = if i.starts_with(b"DONE\r\n") {
                    6
                } else {
                    i.len()
                        - sansmail_imap::codec::decode_command(i, &opts)
                            .unwrap()
                            .0
                            .len()
                };
                let (msg, rest) = i.split_at(len);
                let body = msg.splitn(2, |&b| b == b' ').nth(1).unwrap_or(msg);
                if msg.starts_with(b"DONE\r\n") && only.is_empty()
                    || body.len() >= only.len()
                        && body[..only.len()].eq_ignore_ascii_case(only.as_bytes())
                {
                    input.extend_from_slice(msg);
                }
                i = rest;
            }
            let ours = case.ends_with("ours");
            Box::new(move || {
                let opts = sansmail_imap::codec::CommandOptions::default();
                let codec = imap_codec::CommandCodec::default();
                let mut i = &input[..];
                while !i.is_empty() {
                    if i.starts_with(b"DONE\r\n") {
                        i = &i[6..];
                        continue;
                    }
                    i = if ours {
                        let (rest, c) = sansmail_imap::codec::decode_command(i, &opts).unwrap();
                        black_box(&c);
                        rest
                    } else {
                        let (rest, c) = codec.decode(i).unwrap();
                        black_box(&c);
                        rest
                    };
                }
            })
        }
        "pop3_commands/ours" | "pop3_commands/pop3-codec" => {
            let input = corpus("pop3-client-stream.txt");
            let ours = case.ends_with("ours");
            Box::new(move || {
                let mut i = &input[..];
                while !i.is_empty() {
                    i = if ours {
                        let (rest, c) = sansmail_pop3::codec::decode_command(i).unwrap();
                        black_box(&c);
                        rest
                    } else {
                        let (rest, c) = pop3_codec::parse::command(i).unwrap();
                        black_box(&c);
                        rest
                    };
                }
            })
        }
        "pop3_responses/ours" => {
            let input = corpus("pop3-server-stream.txt");
            let expect = pop3_expectations(&corpus("pop3-client-stream.txt"));
            Box::new(move || {
                let mut i = &input[..];
                for &e in &expect {
                    let (rest, r) = sansmail_pop3::codec::decode_response(i, e).unwrap();
                    black_box(&r);
                    i = rest;
                }
                assert!(i.is_empty());
            })
        }
        _ => {
            eprintln!("unknown case {case}\ncases: {CASES}");
            std::process::exit(2);
        }
    };
    for _ in 0..n {
        run();
    }
}

/// The kind of reply each reply of `pop3-server-stream.txt` is, as `benches/pop3.rs` works
/// it out: a greeting opens every session, then one reply per command.
fn pop3_expectations(client: &[u8]) -> Vec<sansmail_pop3::types::response::Expect> {
    use sansmail_pop3::{Command, codec::decode_command, types::response::Expect};
    let mut out = vec![Expect::SingleLine];
    let mut rest = client;
    while !rest.is_empty() {
        let (tail, cmd) = decode_command(rest).unwrap();
        out.push(cmd.response_kind());
        let quit = matches!(cmd, Command::Quit);
        rest = tail;
        if quit && !rest.is_empty() {
            out.push(Expect::SingleLine);
        }
    }
    out
}
