//! Helpers shared by the integration tests: prefix checks, chunkings, and streaming readers
//! that feed the pure decoders the way a session would, so that whole, split and
//! byte-at-a-time input can be compared.
#![allow(dead_code)]

use std::fmt::Debug;

use sansmail_pop3::{
    Command, DecodeError, Expect, Limits, Reply, Response,
    codec::{self, MultiLineReceiver, SaslLine},
};

/// Asserts that every strict prefix of `input` (the empty one included) is `Incomplete`.
pub fn assert_strict_prefixes_incomplete<T: Debug>(
    input: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) {
    for i in 0..input.len() {
        let got = decode(&input[..i]);
        assert!(
            matches!(got, Err(DecodeError::Incomplete)),
            "prefix {:?} of {:?}: expected Incomplete, got {got:?}",
            String::from_utf8_lossy(&input[..i]),
            String::from_utf8_lossy(input),
        );
    }
}

/// Splits of `input` to try: every two-way split, and one octet at a time.
pub fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all: Vec<Vec<&[u8]>> = (0..=input.len())
        .map(|i| vec![&input[..i], &input[i..]])
        .collect();
    all.push(input.chunks(1).collect());
    all
}

/// A few deterministic irregular chunkings (sizes from a small LCG), plus one octet at a
/// time: for long streams where every two-way split would be quadratic.
pub fn irregular_chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![input.chunks(1).collect::<Vec<_>>(), vec![input]];
    for seed in [1u64, 7, 42, 1_000_003] {
        let mut x = seed;
        let mut rest = input;
        let mut chunks = Vec::new();
        while !rest.is_empty() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let n = usize::try_from(x >> 54).unwrap_or(1).clamp(1, rest.len());
            chunks.push(&rest[..n]);
            rest = &rest[n..];
        }
        all.push(chunks);
    }
    all
}

/// What a server-side reader of a client stream sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientItem {
    /// A command line.
    Command(Command<'static>),
    /// A line of a SASL exchange.
    Sasl(SaslLine<'static>),
    /// A line that could not be decoded.
    Error(DecodeError),
}

/// Reads commands from `chunks` fed one after another, as a server would: on a bad line it
/// skips through the next LF. `sasl_after` says which commands are followed by one SASL
/// line (in these tests: `AUTH mech` without an initial response).
pub fn read_commands(chunks: &[&[u8]], limits: &Limits) -> (Vec<ClientItem>, usize) {
    let mut buf = Vec::new();
    let mut items = Vec::new();
    let mut sasl = false;
    let mut skipping = false;
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            if skipping {
                match memchr::memchr(b'\n', &buf) {
                    Some(lf) => {
                        buf.drain(..=lf);
                        skipping = false;
                        continue;
                    }
                    None => {
                        buf.clear();
                        break;
                    }
                }
            }
            let decoded = if sasl {
                codec::decode_sasl_line(&buf, limits.max_sasl_line).map(|(rest, l)| {
                    let owned = match l {
                        SaslLine::Cancel => SaslLine::Cancel,
                        SaslLine::Response(s) => SaslLine::Response(sansmail_pop3::Secret::new(
                            s.expose().to_string().into(),
                        )),
                    };
                    (buf.len() - rest.len(), ClientItem::Sasl(owned))
                })
            } else {
                codec::decode_command_with(&buf, limits)
                    .map(|(rest, c)| (buf.len() - rest.len(), ClientItem::Command(c.into_owned())))
            };
            match decoded {
                Ok((used, item)) => {
                    sasl = matches!(
                        &item,
                        ClientItem::Command(Command::Auth { initial: None, .. })
                    );
                    items.push(item);
                    buf.drain(..used);
                }
                Err(DecodeError::Incomplete) => break,
                Err(e) => {
                    items.push(ClientItem::Error(e));
                    sasl = false;
                    match memchr::memchr(b'\n', &buf) {
                        Some(lf) => drop(buf.drain(..=lf)),
                        None => {
                            buf.clear();
                            skipping = true;
                        }
                    }
                }
            }
        }
    }
    (items, buf.len())
}

/// One reply as a streaming reader sees it: the first line, and the unstuffed body of a
/// multi-line one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerItem {
    /// A single line (or a continuation, as a `Reply`).
    Reply(Reply<'static>),
    /// A multi-line reply: the first line and the unstuffed body.
    MultiLine(Response<'static>, Vec<u8>),
    /// Input that could not be decoded.
    Error(DecodeError),
}

impl ServerItem {
    /// The item for a reply decoded whole.
    pub fn from_reply(reply: Reply<'_>) -> Self {
        match reply {
            Reply::MultiLine { response, body } => {
                Self::MultiLine(response.into_owned(), body.unstuffed())
            }
            other => Self::Reply(other.into_owned()),
        }
    }
}

/// Reads replies from `chunks` fed one after another, expecting `expect` in order: first
/// lines are framed as a client would, bodies go through a [`MultiLineReceiver`].
pub fn read_replies(chunks: &[&[u8]], expect: &[Expect], limits: &Limits) -> Vec<ServerItem> {
    let mut buf = Vec::new();
    let mut items = Vec::new();
    let mut next = expect.iter().copied();
    let mut current = next.next();
    let mut body: Option<(Response<'static>, MultiLineReceiver, Vec<u8>)> = None;
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            if let Some((_, rx, out)) = &mut body {
                let (used, done) = rx.decode(&buf, out);
                buf.drain(..used);
                if !done {
                    break;
                }
                if let Some((r, _, out)) = body.take() {
                    items.push(ServerItem::MultiLine(r, out));
                }
                current = next.next();
                continue;
            }
            let Some(kind) = current else { break };
            let max = limits.max_response_line;
            match codec::line::split_line(&buf, max) {
                Ok((line, rest)) => {
                    let used = buf.len() - rest.len();
                    match codec::parse_reply_line(line, kind).map(Reply::into_owned) {
                        Ok(Reply::Single(r)) if kind == Expect::MultiLine && r.is_ok() => {
                            body = Some((r, MultiLineReceiver::new(), Vec::new()));
                        }
                        Ok(reply) => {
                            items.push(ServerItem::Reply(reply));
                            current = next.next();
                        }
                        Err(e) => {
                            items.push(ServerItem::Error(e));
                            current = next.next();
                        }
                    }
                    buf.drain(..used);
                }
                Err(DecodeError::Incomplete) => break,
                Err(e) => {
                    items.push(ServerItem::Error(e));
                    return items;
                }
            }
        }
    }
    items
}

/// What the server's stream holds for a client's stream: the greeting, then one reply per
/// command, and a new greeting after each QUIT that is not the last command (the streams
/// hold many sessions back to back).
pub fn expectations(commands: &[Command<'_>]) -> Vec<Expect> {
    let mut out = vec![Expect::SingleLine];
    for (i, c) in commands.iter().enumerate() {
        out.push(c.response_kind());
        if *c == Command::Quit && i + 1 < commands.len() {
            out.push(Expect::SingleLine);
        }
    }
    out
}
