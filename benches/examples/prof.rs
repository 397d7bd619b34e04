#![allow(missing_docs, clippy::unwrap_used)]
use benches::*;
use std::hint::black_box;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args[1].as_str();
    let n: usize = args[2].parse().unwrap();
    let smtp = corpus("smtp-client-stream.txt");
    let lines = smtp_command_lines(&smtp);
    let input: Vec<u8> = lines.concat();
    let imap_c = corpus("imap-client-stream.txt");
    let imap_s = corpus("imap-server-stream.txt");
    let msg = realistic_message(1 << 20, 7);
    let stuffed = dot_stuff(&msg);
    let mut out = Vec::with_capacity(stuffed.len());
    for _ in 0..n {
        match case {
            "smtp_ours" => {
                let mut i = &input[..];
                while !i.is_empty() {
                    let (r, c) = smtp_proto::codec::decode_command(i).unwrap();
                    black_box(&c);
                    i = r;
                }
            }
            "smtp_theirs" => {
                let mut it = input.iter();
                while !it.as_slice().is_empty() {
                    black_box(stalwart_smtp::Request::parse(&mut it).unwrap());
                }
            }
            "data_ours" => {
                out.clear();
                let mut rx = smtp_proto::codec::DataReceiver::new(
                    smtp_proto::codec::BareLineEndings::Reject,
                    35 << 20,
                    Some(1000),
                );
                black_box(rx.decode(&stuffed, &mut out));
            }
            "data_theirs" => {
                out.clear();
                let mut rx = stalwart_smtp::request::receiver::DataReceiver::new();
                black_box(rx.ingest(&mut stuffed.iter(), &mut out));
            }
            "imap_resp_ours" => {
                let o = imap_proto::codec::ResponseOptions::default();
                let mut i = &imap_s[..];
                while !i.is_empty() {
                    let (r, x) = imap_proto::codec::decode_response(i, &o).unwrap();
                    black_box(&x);
                    i = r;
                }
            }
            "imap_resp_theirs" => {
                use imap_codec::decode::Decoder;
                let c = imap_codec::ResponseCodec::default();
                let mut i = &imap_s[..];
                while !i.is_empty() {
                    let (r, x) = c.decode(i).unwrap();
                    black_box(&x);
                    i = r;
                }
            }
            "imap_cmd_ours" => {
                let o = imap_proto::codec::CommandOptions::default();
                let mut i = &imap_c[..];
                while !i.is_empty() {
                    match imap_proto::codec::decode_command(i, &o) {
                        Ok((r, x)) => {
                            black_box(&x);
                            i = r;
                        }
                        Err(_) => {
                            let lf = i.iter().position(|&b| b == b'\n').unwrap();
                            i = &i[lf + 1..];
                        }
                    }
                }
            }
            "imap_cmd_theirs" => {
                use imap_codec::decode::Decoder;
                let c = imap_codec::CommandCodec::default();
                let mut i = &imap_c[..];
                while !i.is_empty() {
                    match c.decode(i) {
                        Ok((r, x)) => {
                            black_box(&x);
                            i = r;
                        }
                        Err(_) => {
                            let lf = i.iter().position(|&b| b == b'\n').unwrap();
                            i = &i[lf + 1..];
                        }
                    }
                }
            }
            _ => panic!("case"),
        }
    }
}
