//! `protodump smtp client|server [FILE]`.
//!
//! The client stream is commands, with what follows some of them: the payload after `DATA`
//! (up to `CRLF.CRLF`), exactly n octets after `BDAT n`, and SASL lines after an `AUTH`
//! whose exchange is not complete yet. The server stream is replies.

use std::{ffi::OsString, process::ExitCode};

use smtp_proto::{
    Command, DecodeError, Limits, Mechanism,
    codec::{
        self, BareLineEndings, ChunkReceiver, DataEnd, DataReceiver, DotStuffer, ReplyLimits,
        SaslLine,
        line::{Frame, find_line},
    },
    types::sasl::base64_decode,
};

use super::{Direction, Input, Step, StreamDecoder, UsageError, direction_and_source, run};

/// `protodump smtp ...`: `args` starts after `smtp`.
pub fn main(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, UsageError> {
    let (direction, source) = direction_and_source(args)?;
    Ok(match direction {
        Direction::Client => run(&mut ClientDecoder::default(), &source),
        Direction::Server => run(&mut ServerDecoder::default(), &source),
    })
}

/// What the client stream holds next.
#[derive(Debug)]
enum ClientState {
    /// A command line.
    Command,
    /// SASL response lines after `AUTH`: this many more at most (a `*` line ends sooner).
    Sasl { lines_left: u8 },
    /// The payload after `DATA`, starting at `start`.
    Data {
        start: u64,
        receiver: DataReceiver,
        stuffer: DotStuffer,
    },
    /// The chunk after `BDAT size`, starting at `start`.
    Bdat {
        start: u64,
        size: u64,
        receiver: ChunkReceiver,
    },
    /// The rest of an overlong line, already reported: dropped up to its LF. If it was a SASL
    /// line, the exchange is over.
    SkipLine,
}

/// Decodes what an SMTP client sends.
#[derive(Debug)]
pub struct ClientDecoder {
    limits: Limits,
    state: ClientState,
    /// Bytes at the start of the input known to hold no LF (the line framer resumes there).
    scanned: usize,
    /// Unstuffed DATA payload between the receiver and the stuffer.
    scratch: Vec<u8>,
}

impl Default for ClientDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ClientDecoder {
    /// A decoder enforcing `limits` (line lengths, message size).
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: ClientState::Command,
            scanned: 0,
            scratch: Vec::new(),
        }
    }

    /// Frames a command or SASL line at the start of the input, then decodes and re-encodes it.
    fn line(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let sasl = match self.state {
            ClientState::Sasl { lines_left } => Some(lines_left),
            _ => None,
        };
        let max = if sasl.is_some() {
            self.limits.max_sasl_line
        } else {
            codec::command_line_limit(input.bytes, &self.limits)
        };
        match find_line(input.bytes, max, self.scanned) {
            Frame::Line { len, consumed } => {
                self.scanned = 0;
                let line = &input.bytes[..len];
                let result = if let Some(lines_left) = sasl {
                    self.sasl_line(line, lines_left, out)
                } else {
                    self.command_line(line, input.offset + consumed as u64, out)
                };
                match result {
                    Ok(()) => Step::message(consumed),
                    Err(reason) => Step::error(consumed, input.offset, reason),
                }
            }
            Frame::Invalid { error, consumed } => {
                self.scanned = 0;
                // A bad SASL line ends the exchange: the server answers 501 (RFC 4954 §4).
                self.state = ClientState::Command;
                Step::error(consumed, input.offset, error)
            }
            Frame::TooLongSoFar => {
                self.scanned = 0;
                self.state = ClientState::SkipLine;
                Step::error(
                    input.bytes.len(),
                    input.offset,
                    DecodeError::LineTooLong { max },
                )
            }
            Frame::Partial if input.eof && !input.bytes.is_empty() => {
                self.scanned = 0;
                self.state = ClientState::Command;
                Step::error(
                    input.bytes.len(),
                    input.offset,
                    "input ends inside a line (no CRLF)",
                )
            }
            Frame::Partial => {
                self.scanned = input.bytes.len();
                Step::more(0)
            }
        }
    }

    /// Decodes and re-encodes a command line; sets up what follows it. `next` is the offset
    /// just after the line.
    fn command_line(&mut self, line: &[u8], next: u64, out: &mut Vec<u8>) -> Result<(), String> {
        let command = codec::parse_command_line(line).map_err(|e| e.to_string())?;
        codec::encode_command(&command, out).map_err(|e| format!("cannot re-encode: {e}"))?;
        self.state = match command {
            Command::Data => ClientState::Data {
                start: next,
                receiver: DataReceiver::new(
                    BareLineEndings::Reject,
                    self.limits.max_message_size,
                    self.limits.max_text_line,
                ),
                stuffer: DotStuffer::new(),
            },
            Command::Bdat { size, .. } => ClientState::Bdat {
                start: next,
                size,
                receiver: ChunkReceiver::new(size),
            },
            Command::Auth { mechanism, initial } => {
                match sasl_lines(&mechanism).saturating_sub(u8::from(initial.is_some())) {
                    0 => ClientState::Command,
                    lines_left => ClientState::Sasl { lines_left },
                }
            }
            _ => ClientState::Command,
        };
        Ok(())
    }

    /// Decodes and re-encodes one line of a SASL exchange, of which `lines_left` remain.
    fn sasl_line(&mut self, line: &[u8], lines_left: u8, out: &mut Vec<u8>) -> Result<(), String> {
        // Whatever the line holds, a bad one or a `*` ends the exchange.
        self.state = ClientState::Command;
        match codec::parse_sasl_line(line).map_err(|e| e.to_string())? {
            SaslLine::Cancel => codec::encode_sasl_response(None, out),
            SaslLine::Response(b64) => {
                let data = base64_decode(b64.expose()).ok_or("invalid base64")?;
                codec::encode_sasl_response(Some(&data), out);
                if lines_left > 1 {
                    self.state = ClientState::Sasl {
                        lines_left: lines_left - 1,
                    };
                }
            }
        }
        Ok(())
    }
}

/// How many lines a client sends in an exchange of `mechanism`, counting the initial
/// response: PLAIN sends one, LOGIN the user name and then the password, and for any other
/// mechanism one is assumed.
fn sasl_lines(mechanism: &Mechanism<'_>) -> u8 {
    if *mechanism == Mechanism::LOGIN { 2 } else { 1 }
}

/// Why decoded DATA is refused, if it is.
fn data_error(end: DataEnd, limits: &Limits) -> Option<String> {
    if end.bare_line_ending {
        Some("bare CR or LF in message data".into())
    } else if end.too_large {
        Some(format!(
            "message data larger than {} octets",
            limits.max_message_size
        ))
    } else if end.line_too_long {
        Some(format!(
            "message data line longer than {} octets",
            limits.max_text_line.unwrap_or(usize::MAX)
        ))
    } else {
        None
    }
}

impl StreamDecoder for ClientDecoder {
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        match &mut self.state {
            ClientState::Command | ClientState::Sasl { .. } => self.line(input, out),
            ClientState::Data {
                start,
                receiver,
                stuffer,
            } => {
                let start = *start;
                let (consumed, end) = receiver.decode(input.bytes, &mut self.scratch);
                stuffer.encode(&self.scratch, out);
                self.scratch.clear();
                match end {
                    Some(end) => {
                        stuffer.finish(out);
                        self.state = ClientState::Command;
                        match data_error(end, &self.limits) {
                            None => Step::message(consumed),
                            Some(reason) => Step::error(consumed, start, reason),
                        }
                    }
                    None if input.eof => {
                        self.state = ClientState::Command;
                        Step::error(
                            consumed,
                            start,
                            "input ends before the end of the data (CRLF.CRLF)",
                        )
                    }
                    None => Step::more(consumed),
                }
            }
            ClientState::Bdat {
                start,
                size,
                receiver,
            } => {
                let chunk = receiver.take(input.bytes);
                out.extend_from_slice(chunk);
                if receiver.remaining() == 0 {
                    self.state = ClientState::Command;
                    Step::message(chunk.len())
                } else if input.eof {
                    let reason = format!(
                        "input ends after {} of {size} BDAT octets",
                        *size - receiver.remaining()
                    );
                    let start = *start;
                    self.state = ClientState::Command;
                    Step::error(chunk.len(), start, reason)
                } else {
                    Step::more(chunk.len())
                }
            }
            ClientState::SkipLine => match find_lf(input.bytes) {
                Some(lf) => {
                    self.state = ClientState::Command;
                    Step::more(lf + 1)
                }
                None => Step::more(input.bytes.len()),
            },
        }
    }
}

fn find_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Decodes what an SMTP server sends: replies.
///
/// A reply is framed as `frame_reply` in the codec does it: a line whose code is followed by
/// `-` continues the reply, any other line ends it. A first line that does not start with
/// three digits is not a reply at all: it is reported and skipped alone, so a garbage line
/// does not take the next reply with it. A reply that does not decode is skipped whole.
#[derive(Debug)]
pub struct ServerDecoder {
    limits: ReplyLimits,
    /// Bytes of complete lines of the current reply framed so far.
    framed: usize,
    /// How many lines that is.
    lines: usize,
    /// Bytes after `framed` known to hold no LF.
    scanned: usize,
    /// Inside a reply that was already reported (too large, or a bad line that looked like a
    /// continuation): its remaining lines are dropped up to its last one.
    skipping: bool,
    /// Dropping the rest of an overlong line.
    skip_line: bool,
}

impl Default for ServerDecoder {
    fn default() -> Self {
        Self::new(ReplyLimits::default())
    }
}

impl ServerDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: ReplyLimits) -> Self {
        Self {
            limits,
            framed: 0,
            lines: 0,
            scanned: 0,
            skipping: false,
            skip_line: false,
        }
    }

    /// Starts framing the next reply.
    fn reset(&mut self) {
        self.framed = 0;
        self.lines = 0;
        self.scanned = 0;
    }
}

/// Whether a reply line continues the reply (RFC 5321 §4.2.1: `Reply-code "-"`), as the
/// codec's framer decides it.
fn continues(line: &[u8]) -> bool {
    line.get(3) == Some(&b'-')
}

/// Whether a line that is being skipped continues its reply: three digits and `-`. A garbage
/// line does not drag the next reply into the skip.
fn looks_continued(line: &[u8]) -> bool {
    starts_with_code(line) && continues(line)
}

fn starts_with_code(line: &[u8]) -> bool {
    line.get(..3)
        .is_some_and(|c| c.iter().all(u8::is_ascii_digit))
}

impl StreamDecoder for ServerDecoder {
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let bytes = input.bytes;
        if self.skip_line {
            return match find_lf(bytes) {
                Some(lf) => {
                    self.skip_line = false;
                    Step::more(lf + 1)
                }
                None => Step::more(bytes.len()),
            };
        }
        loop {
            let rest = &bytes[self.framed..];
            match find_line(rest, self.limits.max_line, self.scanned) {
                Frame::Line { len, consumed } => {
                    let line = &rest[..len];
                    self.framed += consumed;
                    self.lines += 1;
                    self.scanned = 0;
                    let framed = self.framed;
                    if self.skipping {
                        self.skipping = looks_continued(line);
                        self.reset();
                        return Step::more(framed);
                    }
                    if self.lines == 1 && !starts_with_code(line) {
                        self.reset();
                        return Step::error(framed, input.offset, "expected a reply code");
                    }
                    if self.lines > self.limits.max_lines || framed > self.limits.max_size {
                        self.skipping = looks_continued(line);
                        self.reset();
                        return Step::error(framed, input.offset, DecodeError::ReplyTooLarge);
                    }
                    if continues(line) {
                        continue;
                    }
                    self.reset();
                    return match codec::decode_reply_with(&bytes[..framed], self.limits) {
                        Ok((_, reply)) => {
                            codec::encode_reply(&reply, out);
                            Step::message(framed)
                        }
                        Err(e) => Step::error(framed, input.offset, e),
                    };
                }
                // A bad line ends the reply unless it looks like a continuation line: then the
                // rest of the reply goes with it.
                Frame::Invalid { error, consumed } => {
                    let framed = self.framed + consumed;
                    let reported = std::mem::replace(&mut self.skipping, looks_continued(rest));
                    self.reset();
                    return if reported {
                        Step::more(framed)
                    } else {
                        Step::error(framed, input.offset, error)
                    };
                }
                Frame::TooLongSoFar => {
                    let reported = std::mem::replace(&mut self.skipping, looks_continued(rest));
                    self.skip_line = true;
                    self.reset();
                    return if reported {
                        Step::more(bytes.len())
                    } else {
                        Step::error(
                            bytes.len(),
                            input.offset,
                            DecodeError::LineTooLong {
                                max: self.limits.max_line,
                            },
                        )
                    };
                }
                Frame::Partial if input.eof && !bytes.is_empty() => {
                    let skipping = std::mem::take(&mut self.skipping);
                    self.reset();
                    return if skipping {
                        Step::more(bytes.len())
                    } else {
                        Step::error(bytes.len(), input.offset, "input ends inside a reply")
                    };
                }
                Frame::Partial => {
                    self.scanned = rest.len();
                    return Step::more(0);
                }
            }
        }
    }
}
