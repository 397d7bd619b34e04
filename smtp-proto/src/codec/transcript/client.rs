//! What a client sends: commands, message data after DATA and BDAT, SASL lines after AUTH.

use super::{Step, TranscriptErrorKind, skip_line};
use crate::{
    DecodeError, Limits,
    codec::{
        self, BareLineEndings, ChunkReceiver, DataEnd, DataReceiver, SaslLine,
        line::{Frame, find_line},
    },
    types::{
        command::Command,
        sasl::{Mechanism, Secret, base64_decode},
    },
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
    /// A piece of the message after `DATA`, dot-unstuffed.
    Data(&'a [u8]),
    /// The `CRLF.CRLF` that ends the message after `DATA`.
    DataEnd {
        /// Octets of message data, after unstuffing.
        size: u64,
    },
    /// A piece of the chunk after `BDAT`, as it came.
    Chunk(&'a [u8]),
    /// The chunk after `BDAT` is complete.
    ChunkEnd,
}

impl ClientItem<'_> {
    /// Whether the item completes a message: all but a piece of message data.
    pub fn ends_message(&self) -> bool {
        !matches!(self, Self::Data(_) | Self::Chunk(_))
    }
}

/// What the client stream holds next.
#[derive(Debug)]
enum State {
    /// A command line.
    Command,
    /// SASL response lines after `AUTH`: this many more at most (a `*` line ends sooner).
    Sasl { lines_left: u8 },
    /// The message after `DATA`, whose first octet is at offset `start`.
    Data { start: u64, receiver: DataReceiver },
    /// The message after `DATA` is over, its last piece reported: how it ended, or `None`
    /// when the input ended first.
    DataOver { start: u64, end: Option<DataEnd> },
    /// The chunk after `BDAT size`, whose first octet is at offset `start`.
    Chunk {
        start: u64,
        size: u64,
        receiver: ChunkReceiver,
    },
    /// The rest of an overlong line, already reported: dropped through its LF. If it was a
    /// SASL line, the exchange is over.
    SkipLine,
}

/// Decodes what an SMTP client sends. See [the module](super).
#[derive(Debug)]
pub struct ClientDecoder {
    limits: Limits,
    state: State,
    /// Offset in the whole stream of the next octet to decode.
    offset: u64,
    /// Octets at the start of the input known to hold no LF (the line framer resumes there).
    scanned: usize,
    /// The unstuffed piece of message data being reported.
    data: Vec<u8>,
}

impl Default for ClientDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ClientDecoder {
    /// A decoder enforcing `limits`: command, SASL and text line lengths, and message size.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: State::Command,
            offset: 0,
            scanned: 0,
            data: Vec::new(),
        }
    }

    /// Octets consumed so far: the offset in the whole stream of the input's first octet on
    /// the next call.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes from the start of `input`, the octets not consumed yet; `more_follows` is
    /// `false` once nothing will be appended to it (a message cut short is then an error).
    pub fn decode<'a>(&'a mut self, input: &'a [u8], more_follows: bool) -> Step<ClientItem<'a>> {
        let eof = !more_follows;
        let step = match &mut self.state {
            State::Command | State::Sasl { .. } => self.line(input, eof),
            State::Data { start, receiver } => {
                let start = *start;
                self.data.clear();
                let (consumed, end) = receiver.decode(input, &mut self.data);
                self.offset += consumed as u64;
                let over = end.is_some() || eof;
                if over {
                    self.state = State::DataOver { start, end };
                }
                // The last piece first; the end on the next call.
                if !self.data.is_empty() {
                    return Step::item(consumed, ClientItem::Data(&self.data));
                }
                let mut step = if over {
                    self.data_over(start, end)
                } else {
                    Step::more(0)
                };
                step.consumed = consumed;
                return step;
            }
            State::DataOver { start, end } => {
                let (start, end) = (*start, *end);
                self.data_over(start, end)
            }
            State::Chunk {
                start,
                size,
                receiver,
            } => {
                if receiver.remaining() == 0 {
                    self.state = State::Command;
                    Step::item(0, ClientItem::ChunkEnd)
                } else if !input.is_empty() {
                    let piece = receiver.take(input);
                    Step::item(piece.len(), ClientItem::Chunk(piece))
                } else if eof {
                    let kind = TranscriptErrorKind::UnterminatedChunk {
                        received: *size - receiver.remaining(),
                        size: *size,
                    };
                    let start = *start;
                    self.state = State::Command;
                    Step::error(0, start, kind)
                } else {
                    Step::more(0)
                }
            }
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

    /// Reports the end of the message after `DATA` (nothing consumed), and goes back to
    /// commands.
    fn data_over<'a>(&mut self, start: u64, end: Option<DataEnd>) -> Step<ClientItem<'a>> {
        self.state = State::Command;
        let kind = match end {
            None => TranscriptErrorKind::UnterminatedData,
            Some(end) if end.bare_line_ending => TranscriptErrorKind::BareLineEndingInData,
            Some(end) if end.too_large => TranscriptErrorKind::DataTooLarge {
                max: self.limits.max_message_size,
            },
            Some(end) if end.line_too_long => TranscriptErrorKind::DataLineTooLong {
                max: self.limits.max_text_line.unwrap_or(usize::MAX),
            },
            Some(end) => return Step::item(0, ClientItem::DataEnd { size: end.size }),
        };
        Step::error(0, start, kind)
    }

    /// Frames a command or SASL line at the start of the input, then decodes it.
    fn line<'a>(&mut self, input: &'a [u8], eof: bool) -> Step<ClientItem<'a>> {
        let sasl = match self.state {
            State::Sasl { lines_left } => Some(lines_left),
            _ => None,
        };
        let max = if sasl.is_some() {
            self.limits.max_sasl_line
        } else {
            codec::command_line_limit(input, &self.limits)
        };
        let frame = find_line(input, max, self.scanned);
        // A partial line waits for more input; when none will come, it is an error.
        if frame == Frame::Partial && (!eof || input.is_empty()) {
            self.scanned = input.len();
            return Step::more(0);
        }
        self.scanned = 0;
        // Whatever the line holds, a bad one ends a SASL exchange: the server answers 501
        // (RFC 4954 §4).
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
                    None => codec::parse_command_line(line)
                        .map(|command| {
                            self.state = self.after(&command, at + consumed as u64);
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

    /// What follows `command` in the client's stream; `next` is the offset just after it.
    fn after(&self, command: &Command<'_>, next: u64) -> State {
        match command {
            Command::Data => State::Data {
                start: next,
                receiver: DataReceiver::new(
                    BareLineEndings::Reject,
                    self.limits.max_message_size,
                    self.limits.max_text_line,
                ),
            },
            Command::Bdat { size, .. } => State::Chunk {
                start: next,
                size: *size,
                receiver: ChunkReceiver::new(*size),
            },
            Command::Auth { mechanism, initial } => {
                match sasl_lines(mechanism).saturating_sub(u8::from(initial.is_some())) {
                    0 => State::Command,
                    lines_left => State::Sasl { lines_left },
                }
            }
            _ => State::Command,
        }
    }
}

/// How many lines a client sends in an exchange of `mechanism`, counting the initial
/// response: PLAIN sends one, LOGIN the user name and then the password, and for any other
/// mechanism one is assumed.
fn sasl_lines(mechanism: &Mechanism<'_>) -> u8 {
    if *mechanism == Mechanism::LOGIN { 2 } else { 1 }
}

/// `base64 / "*"` (RFC 4954 §4), decoded: `None` for `*`.
fn sasl_line(line: &[u8]) -> Result<Option<Secret<Vec<u8>>>, TranscriptErrorKind> {
    match codec::parse_sasl_line(line)? {
        SaslLine::Cancel => Ok(None),
        SaslLine::Response(b64) => base64_decode(b64.expose())
            .map(|data| Some(Secret::new(data)))
            .ok_or(TranscriptErrorKind::InvalidBase64),
    }
}
