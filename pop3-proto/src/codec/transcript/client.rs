//! What a client sends: command lines, SASL lines after AUTH.

use super::{Step, TranscriptErrorKind, sasl_line, skip_line};
use crate::{
    DecodeError, Limits,
    codec::{
        self,
        line::{Frame, find_line},
    },
    types::{command::Command, sasl::Secret},
};

/// What a [`ClientDecoder`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientItem<'a> {
    /// A command line.
    Command(Command<'a>),
    /// A line of a SASL exchange after `AUTH`, base64-decoded; `None` for `*`, the client
    /// cancelling.
    SaslResponse(Option<Secret<Vec<u8>>>),
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
    /// A command line.
    Command,
    /// SASL response lines after `AUTH`: this many more at most (a `*` line ends sooner).
    Sasl { lines_left: u8 },
    /// The rest of an overlong line, already reported: dropped through its LF. If it was a
    /// SASL line, the exchange is over.
    SkipLine,
}

/// Decodes what a POP3 client sends. See [the module](super).
#[derive(Debug)]
pub struct ClientDecoder {
    limits: Limits,
    state: State,
    /// Offset in the whole stream of the next octet to decode.
    offset: u64,
    /// Octets at the start of the input known to hold no LF.
    scanned: usize,
}

impl Default for ClientDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ClientDecoder {
    /// A decoder enforcing `limits` (line and argument lengths).
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: State::Command,
            offset: 0,
            scanned: 0,
        }
    }

    /// Octets consumed so far: the offset in the whole stream of the input's first octet on
    /// the next call.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes from the start of `input`, the octets not consumed yet; `more_follows` is
    /// `false` once nothing will be appended to it (a line cut short is then an error).
    pub fn decode<'a>(&mut self, input: &'a [u8], more_follows: bool) -> Step<ClientItem<'a>> {
        let step = self.step(input, !more_follows);
        self.offset += step.consumed as u64;
        step
    }

    fn step<'a>(&mut self, input: &'a [u8], eof: bool) -> Step<ClientItem<'a>> {
        let sasl = match self.state {
            State::Command => None,
            State::Sasl { lines_left } => Some(lines_left),
            State::SkipLine => {
                let (consumed, done) = skip_line(input);
                if done {
                    self.state = State::Command;
                }
                return Step::more(consumed);
            }
        };
        let max = if sasl.is_some() {
            self.limits.max_sasl_line
        } else {
            self.limits.max_command_line
        };
        let frame = find_line(input, max, self.scanned);
        // A partial line waits for more input; when none will come, it is an error.
        if frame == Frame::Partial && (!eof || input.is_empty()) {
            self.scanned = input.len();
            return Step::more(0);
        }
        self.scanned = 0;
        // Whatever the line holds, a bad one or a `*` ends a SASL exchange.
        self.state = State::Command;
        let at = self.offset;
        match frame {
            Frame::Line { len, consumed } => {
                let line = &input[..len];
                let found = match sasl {
                    Some(lines_left) => sasl_line(line).map(|data| {
                        if data.is_some() && lines_left > 1 {
                            self.state = State::Sasl {
                                lines_left: lines_left - 1,
                            };
                        }
                        ClientItem::SaslResponse(data)
                    }),
                    None => codec::parse_command_line(line, &self.limits)
                        .map(|command| {
                            self.state = after_command(&command);
                            ClientItem::Command(command)
                        })
                        .map_err(TranscriptErrorKind::from),
                };
                match found {
                    Ok(item) => Step::item(consumed, item),
                    Err(kind) => Step::error(consumed, at, kind),
                }
            }
            Frame::Invalid { error, consumed } => {
                Step::error(consumed, at, DecodeError::from(error))
            }
            Frame::TooLongSoFar => {
                self.state = State::SkipLine;
                Step::error(input.len(), at, DecodeError::LineTooLong { max })
            }
            Frame::Partial => Step::error(input.len(), at, TranscriptErrorKind::UnterminatedLine),
        }
    }
}

/// What follows `command` in the client's stream.
fn after_command(command: &Command<'_>) -> State {
    let Command::Auth { mechanism, initial } = command else {
        return State::Command;
    };
    // How many lines a client sends, counting the initial response: PLAIN sends one, LOGIN
    // the user name and then the password, and for any other mechanism one is assumed.
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
