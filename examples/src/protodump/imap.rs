//! `protodump imap client|server [FILE]`.
//!
//! The client stream is commands, each with its literals (`{n}`, `{n+}`, `~{n}`), as the
//! framer delimits them; the `DONE` line after `IDLE`; and SASL lines after an
//! `AUTHENTICATE` whose exchange is not complete yet. The server stream is responses, with
//! their literals (a greeting too, `* PREAUTH` included).
//!
//! A message is decoded only once the framer has found its end, so a literal is held whole
//! (up to the framer's limits) before it is parsed.

use std::{ffi::OsString, process::ExitCode};

use imap_proto::{
    codec::{
        CommandOptions, EncodeBuf, ResponseDecoder, ResponseError, ResponseOptions, encode_command,
        encode_greeting, encode_idle_done, encode_response, encode_sasl_response,
        frame::{FrameError, FrameLimits, Framed, Framer, Side},
        parse_command, parse_greeting, parse_idle_done, parse_sasl_response,
    },
    types::command::{CommandBody, SaslResponse},
};

use super::{Direction, Input, Step, StreamDecoder, UsageError, direction_and_source, run};

/// `protodump imap ...`: `args` starts after `imap`.
pub fn main(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, UsageError> {
    let (direction, source) = direction_and_source(args)?;
    Ok(match direction {
        Direction::Client => run(&mut ClientDecoder::default(), &source),
        Direction::Server => run(&mut ServerDecoder::default(), &source),
    })
}

/// Runs `encode` on a buffer that appends to `out`.
fn encode_into(out: &mut Vec<u8>, encode: impl FnOnce(&mut EncodeBuf)) {
    let mut buf = EncodeBuf {
        bytes: std::mem::take(out),
        literals: Vec::new(),
    };
    encode(&mut buf);
    *out = buf.bytes;
}

/// What the client stream holds next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    /// A command, literals included.
    Command,
    /// The `DONE` line that ends IDLE.
    Done,
    /// SASL response lines after `AUTHENTICATE`: this many more at most (a `*` line ends
    /// sooner).
    Sasl { lines_left: u8 },
    /// The rest of an overlong line, already reported: dropped up to its LF.
    SkipLine,
}

/// Decodes what an IMAP client sends.
#[derive(Debug)]
pub struct ClientDecoder {
    opts: CommandOptions,
    /// Frames commands; keeps its place while a command arrives in pieces.
    framer: Framer,
    state: ClientState,
    /// Bytes at the start of the input known to hold no LF (for `DONE` and SASL lines).
    scanned: usize,
}

impl Default for ClientDecoder {
    fn default() -> Self {
        Self::new(CommandOptions::default(), FrameLimits::default())
    }
}

impl ClientDecoder {
    /// A decoder parsing with `opts` and framing with `limits`.
    pub fn new(opts: CommandOptions, limits: FrameLimits) -> Self {
        Self {
            opts,
            framer: Framer::new(Side::Server, limits),
            state: ClientState::Command,
            scanned: 0,
        }
    }

    /// Frames a command at the start of the input, then decodes and re-encodes it.
    fn command(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let bytes = input.bytes;
        loop {
            match self.framer.next(bytes) {
                // The dump holds the client's side only: the octets follow whether or not
                // the server would have sent `+`.
                Framed::LiteralAnnounced { .. } => {}
                Framed::Complete { len } => {
                    self.framer.reset();
                    let message = &bytes[..len];
                    return match parse_command(message, &self.opts) {
                        Ok(command) => {
                            encode_into(out, |buf| encode_command(&command, &self.opts, buf));
                            self.state = after_command(&command.body);
                            Step::message(len)
                        }
                        Err(e) => Step::error(len, input.offset, e),
                    };
                }
                Framed::Invalid { error, skip } => {
                    self.framer.reset();
                    if is_mid_line(bytes, skip) {
                        self.state = ClientState::SkipLine;
                    }
                    return Step::error(skip, input.offset, error);
                }
                Framed::Incomplete if input.eof && !bytes.is_empty() => {
                    self.framer.reset();
                    return Step::error(bytes.len(), input.offset, truncated(bytes));
                }
                Framed::Incomplete => return Step::more(0),
            }
        }
    }

    /// Frames a `DONE` line, or with `sasl` (the lines left in the exchange) a SASL line, at
    /// the start of the input, then decodes and re-encodes it.
    fn line(&mut self, input: Input<'_>, sasl: Option<u8>, out: &mut Vec<u8>) -> Step {
        let max = self.framer.limits().max_line;
        let line = match find_line(input.bytes, max, self.scanned) {
            Line::Complete(len) => &input.bytes[..len],
            Line::Partial if input.eof && !input.bytes.is_empty() => {
                self.scanned = 0;
                self.state = ClientState::Command;
                return Step::error(input.bytes.len(), input.offset, truncated(input.bytes));
            }
            Line::Partial => {
                self.scanned = input.bytes.len();
                return Step::more(0);
            }
            Line::Invalid { error, skip } => {
                self.scanned = 0;
                // Whatever it was, the IDLE or the SASL exchange is over.
                self.state = if is_mid_line(input.bytes, skip) {
                    ClientState::SkipLine
                } else {
                    ClientState::Command
                };
                return Step::error(skip, input.offset, error);
            }
        };
        self.scanned = 0;
        // Whatever the line holds, a bad one or a `*` ends the exchange.
        self.state = ClientState::Command;
        let result = match sasl {
            None => parse_idle_done(line).map(|()| encode_into(out, encode_idle_done)),
            Some(lines_left) => parse_sasl_response(line).map(|response| {
                if !matches!(response, SaslResponse::Cancel) && lines_left > 1 {
                    self.state = ClientState::Sasl {
                        lines_left: lines_left - 1,
                    };
                }
                encode_into(out, |buf| encode_sasl_response(&response, buf));
            }),
        };
        match result {
            Ok(()) => Step::message(line.len()),
            Err(e) => Step::error(line.len(), input.offset, e),
        }
    }
}

/// What follows a command in the client's stream.
fn after_command(body: &CommandBody<'_>) -> ClientState {
    match body {
        CommandBody::Idle => ClientState::Done,
        CommandBody::Authenticate { mechanism, initial } => {
            // How many lines a client sends, counting the initial response: PLAIN sends one,
            // LOGIN the user name and then the password, and for any other mechanism one is
            // assumed (the server's answers, which would say, are not in this stream).
            let lines: u8 = if mechanism.as_str().eq_ignore_ascii_case("LOGIN") {
                2
            } else {
                1
            };
            match lines.saturating_sub(u8::from(initial.is_some())) {
                0 => ClientState::Command,
                lines_left => ClientState::Sasl { lines_left },
            }
        }
        _ => ClientState::Command,
    }
}

impl StreamDecoder for ClientDecoder {
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        match self.state {
            ClientState::Command => self.command(input, out),
            ClientState::Done => self.line(input, None, out),
            ClientState::Sasl { lines_left } => self.line(input, Some(lines_left), out),
            ClientState::SkipLine => skip_line(input.bytes, &mut self.state, ClientState::Command),
        }
    }
}

/// Decodes what an IMAP server sends: responses, and a greeting.
///
/// A message that parses as a response is re-encoded as one; one that does not but parses
/// as a greeting (`* PREAUTH`) is re-encoded as a greeting.
#[derive(Debug)]
pub struct ServerDecoder {
    decoder: ResponseDecoder,
    /// Dropping the rest of an overlong line.
    skip_line: bool,
}

impl Default for ServerDecoder {
    fn default() -> Self {
        Self::new(ResponseOptions::default())
    }
}

impl ServerDecoder {
    /// A decoder parsing and framing with `opts`.
    pub fn new(opts: ResponseOptions) -> Self {
        Self {
            decoder: ResponseDecoder::new(opts),
            skip_line: false,
        }
    }
}

impl StreamDecoder for ServerDecoder {
    fn decode(&mut self, input: Input<'_>, out: &mut Vec<u8>) -> Step {
        let bytes = input.bytes;
        if self.skip_line {
            return skip_line(bytes, &mut self.skip_line, false);
        }
        if bytes.is_empty() {
            return Step::more(0);
        }
        match self.decoder.decode(bytes) {
            Ok((len, response)) => {
                encode_into(out, |buf| {
                    encode_response(&response, self.decoder.options(), buf);
                });
                Step::message(len)
            }
            Err(ResponseError::Incomplete) if input.eof => {
                // Nothing follows: start afresh rather than resume the framer.
                self.decoder = ResponseDecoder::new(*self.decoder.options());
                Step::error(bytes.len(), input.offset, truncated(bytes))
            }
            Err(ResponseError::Incomplete) => Step::more(0),
            Err(e @ ResponseError::Syntax { skip, .. }) => {
                match parse_greeting(&bytes[..skip], self.decoder.options()) {
                    Ok(greeting) => {
                        encode_into(out, |buf| encode_greeting(&greeting, buf));
                        Step::message(skip)
                    }
                    Err(_) => Step::error(skip, input.offset, e),
                }
            }
            Err(e) => {
                let skip = e.skip();
                self.skip_line = is_mid_line(bytes, skip);
                Step::error(skip, input.offset, e)
            }
        }
    }
}

/// How a line at the start of the input is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// A line of this many octets, CRLF included.
    Complete(usize),
    /// No LF yet.
    Partial,
    /// A line that can never be valid; drop `skip` octets (the line, or all that is buffered
    /// of an overlong one).
    Invalid { error: FrameError, skip: usize },
}

/// Finds the line at the start of `bytes`, of at most `max` octets with its CRLF, as the
/// framer would without looking for literals. `scanned` octets are known to hold no LF.
fn find_line(bytes: &[u8], max: usize, scanned: usize) -> Line {
    let from = scanned.min(bytes.len());
    match find_lf(&bytes[from..]) {
        Some(i) => {
            let len = from + i + 1;
            let error = if len > max {
                FrameError::LineTooLong { max }
            } else if len < 2 || bytes[len - 2] != b'\r' {
                FrameError::BareLf
            } else {
                return Line::Complete(len);
            };
            Line::Invalid { error, skip: len }
        }
        None if bytes.len() > max => Line::Invalid {
            error: FrameError::LineTooLong { max },
            skip: bytes.len(),
        },
        None => Line::Partial,
    }
}

/// Whether dropping `skip` octets of `bytes` leaves the rest of a line (an overlong line
/// reported before its end arrived).
fn is_mid_line(bytes: &[u8], skip: usize) -> bool {
    skip > 0 && bytes[skip - 1] != b'\n'
}

/// Drops input up to and including an LF; then sets `state` to `after`.
fn skip_line<T>(bytes: &[u8], state: &mut T, after: T) -> Step {
    match find_lf(bytes) {
        Some(lf) => {
            *state = after;
            Step::more(lf + 1)
        }
        None => Step::more(bytes.len()),
    }
}

/// Why input that ends inside a message is refused.
fn truncated(bytes: &[u8]) -> &'static str {
    if find_lf(bytes).is_none() {
        "input ends inside a line (no CRLF)"
    } else {
        // The framer wants more after a complete line only when that line announced a
        // literal.
        "input ends inside a literal or the line after it"
    }
}

fn find_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}
