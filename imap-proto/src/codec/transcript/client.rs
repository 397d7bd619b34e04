//! What a client sends: commands with their literals, `DONE` after IDLE, SASL lines after
//! AUTHENTICATE.

use super::{Step, is_mid_line, skip_line, truncated};
use crate::{
    codec::{
        CommandOptions,
        frame::{FrameError, FrameLimits, Framed, Framer, Side},
        parse_command, parse_idle_done, parse_sasl_response,
    },
    types::command::{Command, CommandBody, SaslResponse},
};

/// What a [`ClientDecoder`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientItem<'a> {
    /// A command, its literals included.
    Command(Command<'a>),
    /// The `DONE` line that ends IDLE.
    IdleDone,
    /// A line of a SASL exchange after `AUTHENTICATE`.
    SaslResponse(SaslResponse<'a>),
}

impl ClientItem<'_> {
    /// Whether the item completes a message: always, every item is one.
    pub fn ends_message(&self) -> bool {
        true
    }
}

/// What the client stream holds next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A command, literals included.
    Command,
    /// The `DONE` line that ends IDLE.
    Done,
    /// SASL response lines after `AUTHENTICATE`: this many more at most (a `*` line ends
    /// sooner).
    Sasl { lines_left: u8 },
    /// The rest of an overlong line, already reported: dropped through its LF.
    SkipLine,
}

/// Decodes what an IMAP client sends. See [the module](super).
#[derive(Debug)]
pub struct ClientDecoder {
    opts: CommandOptions,
    /// Frames commands; keeps its place while a command arrives in pieces.
    framer: Framer,
    state: State,
    /// Offset in the whole stream of the next octet to decode.
    offset: u64,
    /// Octets at the start of the input known to hold no LF (for `DONE` and SASL lines).
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
            state: State::Command,
            offset: 0,
            scanned: 0,
        }
    }

    /// The options commands are parsed with.
    pub fn options(&self) -> &CommandOptions {
        &self.opts
    }

    /// Octets consumed so far: the offset in the whole stream of the input's first octet on
    /// the next call.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes from the start of `input`, the octets not consumed yet; `more_follows` is
    /// `false` once nothing will be appended to it (a message cut short is then an error).
    pub fn decode<'a>(&mut self, input: &'a [u8], more_follows: bool) -> Step<ClientItem<'a>> {
        let eof = !more_follows;
        let step = match self.state {
            State::Command => self.command(input, eof),
            State::Done => self.line(input, eof, None),
            State::Sasl { lines_left } => self.line(input, eof, Some(lines_left)),
            State::SkipLine => {
                let (consumed, done) = skip_line(input);
                if done {
                    self.state = State::Command;
                }
                Step::more(consumed)
            }
        };
        self.offset += step.consumed as u64;
        step
    }

    /// Frames a command at the start of the input, then parses it.
    fn command<'a>(&mut self, input: &'a [u8], eof: bool) -> Step<ClientItem<'a>> {
        let at = self.offset;
        loop {
            match self.framer.next(input) {
                // A transcript of the client's side holds the octets whether or not the
                // server sent `+`.
                Framed::LiteralAnnounced { .. } => {}
                Framed::Complete { len } => {
                    self.framer.reset();
                    return match parse_command(&input[..len], &self.opts) {
                        Ok(command) => {
                            self.state = after_command(&command.body);
                            Step::item(len, ClientItem::Command(command))
                        }
                        Err(e) => Step::error(len, at, e),
                    };
                }
                Framed::Invalid { error, skip } => {
                    self.framer.reset();
                    if is_mid_line(input, skip) {
                        self.state = State::SkipLine;
                    }
                    return Step::error(skip, at, error);
                }
                Framed::Incomplete if eof && !input.is_empty() => {
                    self.framer.reset();
                    return Step::error(input.len(), at, truncated(input));
                }
                Framed::Incomplete => return Step::more(0),
            }
        }
    }

    /// Frames a `DONE` line, or with `sasl` (the lines left in the exchange) a SASL line, at
    /// the start of the input, then parses it.
    fn line<'a>(&mut self, input: &'a [u8], eof: bool, sasl: Option<u8>) -> Step<ClientItem<'a>> {
        let at = self.offset;
        let max = self.framer.limits().max_line;
        let line = match find_line(input, max, self.scanned) {
            Line::Complete(len) => &input[..len],
            Line::Partial if eof && !input.is_empty() => {
                self.scanned = 0;
                self.state = State::Command;
                return Step::error(input.len(), at, truncated(input));
            }
            Line::Partial => {
                self.scanned = input.len();
                return Step::more(0);
            }
            Line::Invalid { error, skip } => {
                self.scanned = 0;
                // Whatever it was, the IDLE or the SASL exchange is over.
                self.state = if is_mid_line(input, skip) {
                    State::SkipLine
                } else {
                    State::Command
                };
                return Step::error(skip, at, error);
            }
        };
        self.scanned = 0;
        // Whatever the line holds, a bad one or a `*` ends the exchange.
        self.state = State::Command;
        let found = match sasl {
            None => parse_idle_done(line).map(|()| ClientItem::IdleDone),
            Some(lines_left) => parse_sasl_response(line).map(|response| {
                if !matches!(response, SaslResponse::Cancel) && lines_left > 1 {
                    self.state = State::Sasl {
                        lines_left: lines_left - 1,
                    };
                }
                ClientItem::SaslResponse(response)
            }),
        };
        match found {
            Ok(item) => Step::item(line.len(), item),
            Err(e) => Step::error(line.len(), at, e),
        }
    }
}

/// What follows a command in the client's stream.
fn after_command(body: &CommandBody<'_>) -> State {
    match body {
        CommandBody::Idle => State::Done,
        CommandBody::Authenticate { mechanism, initial } => {
            // How many lines a client sends, counting the initial response: PLAIN sends one,
            // LOGIN the user name and then the password, and for any other mechanism one is
            // assumed.
            let lines: u8 = if mechanism.as_str().eq_ignore_ascii_case("LOGIN") {
                2
            } else {
                1
            };
            match lines.saturating_sub(u8::from(initial.is_some())) {
                0 => State::Command,
                lines_left => State::Sasl { lines_left },
            }
        }
        _ => State::Command,
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

/// Finds the line at the start of `input`, of at most `max` octets with its CRLF, as the
/// framer would without looking for literals (a `DONE` or SASL line announces none).
/// `scanned` octets are known to hold no LF.
fn find_line(input: &[u8], max: usize, scanned: usize) -> Line {
    let from = scanned.min(input.len());
    match memchr::memchr(b'\n', &input[from..]) {
        Some(i) => {
            let len = from + i + 1;
            let error = if len > max {
                FrameError::LineTooLong { max }
            } else if len < 2 || input[len - 2] != b'\r' {
                FrameError::BareLf
            } else {
                return Line::Complete(len);
            };
            Line::Invalid { error, skip: len }
        }
        None if input.len() > max => Line::Invalid {
            error: FrameError::LineTooLong { max },
            skip: input.len(),
        },
        None => Line::Partial,
    }
}
