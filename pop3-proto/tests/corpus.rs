//! The shared corpus (`/work/shared/corpus`, copied into `tests/fixtures`): 300 POP3
//! sessions. Every command decodes and re-encodes byte-identically; the server's stream,
//! read with the expectations the commands give (which responses are multi-line), decodes
//! and re-encodes byte-identically too; and chunking changes nothing.

mod common;

use common::{
    ClientItem, ServerItem, expectations, irregular_chunkings, read_commands, read_replies,
};
use sansmail_pop3::{Command, Expect, Limits, Reply, codec};

const CLIENT: &[u8] = include_bytes!("fixtures/pop3-client-stream.txt");
const SERVER: &[u8] = include_bytes!("fixtures/pop3-server-stream.txt");

fn commands() -> Vec<Command<'static>> {
    let mut input = CLIENT;
    let mut out = Vec::new();
    while !input.is_empty() {
        let (rest, cmd) = codec::decode_command(input).unwrap_or_else(|e| {
            let line = input.split(|&b| b == b'\n').next().unwrap_or_default();
            panic!("{:?}: {e}", String::from_utf8_lossy(line))
        });
        out.push(cmd.into_owned());
        input = rest;
    }
    out
}

#[test]
fn every_client_command_decodes_and_reencodes_byte_identically() {
    let mut lines = 0;
    let mut reencoded = Vec::new();
    for line in CLIENT.split_inclusive(|&b| b == b'\n') {
        let (rest, cmd) = codec::decode_command(line).unwrap();
        assert!(rest.is_empty());
        let start = reencoded.len();
        codec::encode_command(&cmd, &mut reencoded).unwrap();
        assert_eq!(&reencoded[start..], line, "{cmd:?}");
        lines += 1;
    }
    assert_eq!(reencoded, CLIENT);
    assert_eq!(lines, 4300);
    let cmds = commands();
    assert_eq!(cmds.len(), lines);
    // Every kind of command in the corpus is there, with PASS keeping its spaces.
    for verb in [
        "CAPA", "APOP", "AUTH", "USER", "PASS", "STAT", "LIST", "UIDL", "TOP", "RETR", "DELE",
        "NOOP", "RSET", "QUIT",
    ] {
        assert!(cmds.iter().any(|c| c.verb() == verb), "{verb}");
    }
    assert!(cmds.iter().any(
        |c| matches!(c, Command::Pass { password } if password.expose() == "secret with spaces")
    ));
}

#[test]
fn the_client_stream_reads_the_same_in_any_chunking() {
    let want: Vec<ClientItem> = commands().into_iter().map(ClientItem::Command).collect();
    for chunks in irregular_chunkings(CLIENT) {
        let (got, left) = read_commands(&chunks, &Limits::default());
        assert_eq!(left, 0);
        assert!(got == want, "chunking of {} pieces differs", chunks.len());
    }
}

/// Decodes the server stream whole, reply by reply, with the commands' expectations.
fn replies(expect: &[Expect]) -> Vec<(Reply<'_>, &[u8])> {
    let mut input = SERVER;
    let mut out = Vec::new();
    for (i, &kind) in expect.iter().enumerate() {
        let (rest, reply) = codec::decode_response(input, kind).unwrap_or_else(|e| {
            let line = input.split(|&b| b == b'\n').next().unwrap_or_default();
            panic!(
                "reply {i} ({kind:?}) {:?}: {e}",
                String::from_utf8_lossy(line)
            )
        });
        let wire = &input[..input.len() - rest.len()];
        out.push((reply, wire));
        input = rest;
    }
    assert!(input.is_empty(), "{} octets left over", input.len());
    out
}

#[test]
fn the_server_stream_decodes_and_reencodes_byte_identically() {
    let cmds = commands();
    let expect = expectations(&cmds);
    // 300 greetings, one reply per command.
    assert_eq!(expect.len(), cmds.len() + 300);
    let all = replies(&expect);
    let mut reencoded = Vec::new();
    let mut multi = 0;
    for (reply, wire) in &all {
        let start = reencoded.len();
        codec::encode_reply(reply, &mut reencoded);
        assert_eq!(&reencoded[start..], *wire, "{reply:?}");
        assert!(!matches!(reply, Reply::Continue(_)));
        multi += usize::from(matches!(reply, Reply::MultiLine { .. }));
    }
    assert_eq!(reencoded, SERVER);
    // CAPA, LIST, UIDL, TOP and the first RETR of each session are multi-line; the RETR of
    // a deleted message gets a one-line -ERR.
    assert_eq!(multi, 300 * 5);
    // Stuffed lines come back unstuffed, with the stuffing restored on re-encoding.
    let has_line = |want: &[u8]| {
        all.iter().any(
            |(r, _)| matches!(r, Reply::MultiLine { body, .. } if body.lines().any(|l| l == want)),
        )
    };
    assert!(has_line(b".stuffed") && has_line(b".dot") && has_line(b"."));
    assert!(!has_line(b"..stuffed"));
}

#[test]
fn the_server_stream_reads_the_same_in_any_chunking() {
    let expect = expectations(&commands());
    let want: Vec<ServerItem> = replies(&expect)
        .into_iter()
        .map(|(r, _)| ServerItem::from_reply(r))
        .collect();
    for chunks in irregular_chunkings(SERVER) {
        let got = read_replies(&chunks, &expect, &Limits::default());
        assert!(got == want, "chunking of {} pieces differs", chunks.len());
    }
}

#[test]
fn misrouted_expectations_are_detected() {
    // Reading the stream as if every response were single-line fails at the first CAPA
    // body line: the routing is what makes the stream decodable.
    let expect = vec![Expect::SingleLine; 40];
    let mut input = SERVER;
    let mut failed = false;
    for kind in expect {
        match codec::decode_response(input, kind) {
            Ok((rest, _)) => input = rest,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed);
}
