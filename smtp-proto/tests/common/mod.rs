//! Helpers shared by the integration tests: prefix checks and small streaming drivers that
//! feed the pure decoders the way a session would, so that whole, split and byte-at-a-time
//! input can be compared.
#![allow(dead_code)]

use std::fmt::Debug;

use sansmail_smtp::{
    Command, DecodeError, Reply,
    codec::{self, BareLineEndings, ChunkReceiver, DataEnd, DataReceiver, ReplyLimits},
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

/// What a server-side reader of a client stream sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A command line.
    Command(Command<'static>),
    /// A line that could not be decoded.
    Error(DecodeError),
    /// The message data after DATA, unstuffed, and how it ended.
    Data(Vec<u8>, DataEnd),
    /// One BDAT chunk.
    Chunk(Vec<u8>),
}

enum Mode {
    Commands,
    /// Dropping the rest of a line that was already reported too long.
    SkipLine,
    Data(DataReceiver, Vec<u8>),
    Chunk(ChunkReceiver, Vec<u8>),
}

/// Reads a client's side of a session as a server would (assuming every DATA and BDAT is
/// accepted): command lines, then DATA until `CRLF.CRLF`, BDAT chunks by count.
pub struct ClientStream {
    buf: Vec<u8>,
    mode: Mode,
    policy: BareLineEndings,
    pub events: Vec<ClientEvent>,
}

impl ClientStream {
    pub fn new(policy: BareLineEndings) -> Self {
        Self {
            buf: Vec::new(),
            mode: Mode::Commands,
            policy,
            events: Vec::new(),
        }
    }

    pub fn push(&mut self, input: &[u8]) {
        self.buf.extend_from_slice(input);
        loop {
            let consumed = match &mut self.mode {
                Mode::Commands => match codec::decode_command(&self.buf) {
                    Ok((rest, cmd)) => {
                        let consumed = self.buf.len() - rest.len();
                        match cmd {
                            Command::Data => {
                                self.mode = Mode::Data(
                                    DataReceiver::new(self.policy, u64::MAX, Some(1000)),
                                    Vec::new(),
                                );
                            }
                            Command::Bdat { size, .. } => {
                                self.mode = Mode::Chunk(ChunkReceiver::new(size), Vec::new());
                            }
                            _ => {}
                        }
                        self.events.push(ClientEvent::Command(cmd.into_owned()));
                        consumed
                    }
                    Err(DecodeError::Incomplete) => return,
                    Err(e) => {
                        self.events.push(ClientEvent::Error(e));
                        match memchr::memchr(b'\n', &self.buf) {
                            Some(lf) => lf + 1,
                            None => {
                                self.mode = Mode::SkipLine;
                                self.buf.len()
                            }
                        }
                    }
                },
                Mode::SkipLine => match memchr::memchr(b'\n', &self.buf) {
                    Some(lf) => {
                        self.mode = Mode::Commands;
                        lf + 1
                    }
                    None => {
                        self.buf.clear();
                        return;
                    }
                },
                Mode::Data(rx, out) => {
                    let (n, end) = rx.decode(&self.buf, out);
                    if let Some(end) = end {
                        self.events
                            .push(ClientEvent::Data(std::mem::take(out), end));
                        self.mode = Mode::Commands;
                    }
                    n
                }
                Mode::Chunk(rx, out) => {
                    let taken = rx.take(&self.buf);
                    out.extend_from_slice(taken);
                    let n = taken.len();
                    if rx.remaining() == 0 {
                        self.events.push(ClientEvent::Chunk(std::mem::take(out)));
                        self.mode = Mode::Commands;
                    }
                    n
                }
            };
            self.buf.drain(..consumed);
            // A chunk of size zero completes without input; anything else waits for more.
            let empty_chunk = matches!(&self.mode, Mode::Chunk(rx, _) if rx.remaining() == 0);
            if self.buf.is_empty() && !empty_chunk {
                return;
            }
        }
    }

    /// Whether the stream stopped between commands (no partial line, data or chunk).
    pub fn at_boundary(&self) -> bool {
        self.buf.is_empty() && matches!(self.mode, Mode::Commands)
    }
}

/// Feeds `chunks` into a fresh [`ClientStream`] and returns what it saw.
pub fn read_client(chunks: &[&[u8]], policy: BareLineEndings) -> (Vec<ClientEvent>, bool) {
    let mut s = ClientStream::new(policy);
    for c in chunks {
        s.push(c);
    }
    let done = s.at_boundary();
    (s.events, done)
}

/// What a client-side reader of a server stream sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A reply.
    Reply(Reply<'static>),
    /// Input that could not be decoded; the reader skipped one line.
    Error(DecodeError),
}

/// Reads replies from `chunks` fed one after another.
pub fn read_replies(chunks: &[&[u8]], limits: ReplyLimits) -> (Vec<ServerEvent>, usize) {
    let mut buf = Vec::new();
    let mut events = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match codec::decode_reply_with(&buf, limits) {
                Ok((rest, reply)) => {
                    let consumed = buf.len() - rest.len();
                    events.push(ServerEvent::Reply(reply.into_owned()));
                    buf.drain(..consumed);
                }
                Err(DecodeError::Incomplete) => break,
                Err(e) => {
                    events.push(ServerEvent::Error(e));
                    match memchr::memchr(b'\n', &buf) {
                        Some(lf) => drop(buf.drain(..=lf)),
                        None => buf.clear(),
                    }
                }
            }
        }
    }
    (events, buf.len())
}
