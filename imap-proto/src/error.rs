//! The crate's one decode error, for commands and responses alike, and the response a server
//! sends for a command that failed to decode.

use std::borrow::Cow;

use crate::{
    codec::{
        core::PError,
        frame::{FrameError, LiteralMode},
    },
    types::{
        core::{Tag, Text},
        response::{Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

/// Why no command or response could be decoded from the input (yet).
///
/// `Incomplete` and `LiteralAnnounced` are not failures of the peer: more octets are needed.
/// The other variants describe input that can never become valid, and say how many octets to
/// drop to resynchronize ([`DecodeError::skip`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More input is needed.
    #[error("incomplete input")]
    Incomplete,
    /// A synchronizing literal was announced in a command and its octets are not all there.
    /// The server answers `+` (continuation request) or refuses the command with a tagged
    /// `NO`/`BAD` and drops the first `line_end` octets; the client sends the octets only
    /// after `+`.
    #[error("synchronizing literal of {len} octets announced")]
    LiteralAnnounced {
        /// The command's tag, if it could be read.
        tag: Option<Tag<'static>>,
        /// The announced size.
        len: u64,
        /// Octets up to and including the CRLF of the line announcing the literal.
        line_end: usize,
    },
    /// The message cannot be framed (line or literal too long, bare LF).
    #[error("{error}")]
    Frame {
        /// What is wrong.
        error: FrameError,
        /// Octets to drop to resynchronize.
        skip: usize,
    },
    /// The message is framed but does not match the grammar.
    #[error("{error}")]
    Syntax {
        /// What is wrong, with the tag if it could be read.
        error: SyntaxError,
        /// Octets to drop: the whole message.
        skip: usize,
    },
}

impl DecodeError {
    /// Whether more input could still make the message decodable (`Incomplete` or
    /// `LiteralAnnounced`).
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::Incomplete | Self::LiteralAnnounced { .. })
    }

    /// The tag of the offending message, when one could be read, for `tag BAD`.
    pub fn tag(&self) -> Option<&Tag<'static>> {
        match self {
            Self::LiteralAnnounced { tag, .. } => tag.as_ref(),
            Self::Syntax { error, .. } => error.tag.as_ref(),
            _ => None,
        }
    }

    /// Octets to drop before decoding the next message: 0 while more input is needed.
    pub fn skip(&self) -> usize {
        match *self {
            Self::Incomplete | Self::LiteralAnnounced { .. } => 0,
            Self::Frame { skip, .. } | Self::Syntax { skip, .. } => skip,
        }
    }

    /// Whether a server must end the session after this error: the octets of a refused
    /// non-synchronizing literal, or of a message over the limit, are already on their way
    /// and cannot be told apart from commands (RFC 7888 §4).
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            Self::Frame {
                error: FrameError::LiteralTooLarge {
                    mode: LiteralMode::NonSync,
                    ..
                } | FrameError::MessageTooLarge { .. },
                ..
            }
        )
    }

    /// The response a server sends for a command that failed to decode with this error:
    /// `tag BAD` (`* BAD` without a readable tag) for what does not match the grammar,
    /// `tag NO [TOOBIG]` for a synchronizing literal over the limit (the client has not sent
    /// it), `* BYE [TOOBIG]` when [`closes_connection`](Self::closes_connection). `None`
    /// while more input is needed.
    ///
    /// `tag` is the command's tag where the caller read it from the message itself (the
    /// framer does not).
    pub fn to_response(&self, tag: Option<&Tag<'_>>) -> Option<Response<'static>> {
        let tag = self.tag().or(tag).map(|t| t.clone().into_owned());
        let (tag, kind, code, text) = match self {
            Self::Incomplete | Self::LiteralAnnounced { .. } => return None,
            _ if self.closes_connection() => (
                None,
                StatusKind::Bye,
                Some(ResponseCode::TooBig),
                "Literal too large",
            ),
            Self::Frame { error, .. } => match error {
                FrameError::LiteralTooLarge { .. } => (
                    tag,
                    StatusKind::No,
                    Some(ResponseCode::TooBig),
                    "Literal too large",
                ),
                FrameError::LineTooLong { .. } => (tag, StatusKind::Bad, None, "Line too long"),
                FrameError::BareLf => (tag, StatusKind::Bad, None, "Lines end with CRLF"),
                // `closes_connection` above; kept for future frame errors.
                _ => (tag, StatusKind::Bad, None, "Invalid message"),
            },
            Self::Syntax { error, .. } => {
                let text = Text::new(Cow::Owned(error.to_string()))
                    .unwrap_or_else(|_| Text::from_parsed("Syntax error"));
                return Some(Response::Status(Status {
                    tag,
                    kind: StatusKind::Bad,
                    code: None,
                    text,
                }));
            }
        };
        Some(Response::Status(Status {
            tag,
            kind,
            code,
            text: Text::from_parsed(text),
        }))
    }
}

/// What kind of problem a framed message has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// The command name is not one this crate knows (`tag BAD` with "unknown command").
    UnknownCommand,
    /// The message does not match the grammar.
    Syntax,
    /// Nesting deeper than the options' `max_depth`.
    TooDeep,
}

/// Why a framed command or response could not be parsed. A server answers `tag BAD ...`
/// (or `* BAD ...` when even the tag could not be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: expected {expected} at octet {offset}", match kind {
    SyntaxErrorKind::UnknownCommand => "unknown command",
    SyntaxErrorKind::Syntax => "syntax error",
    SyntaxErrorKind::TooDeep => "nesting too deep",
})]
pub struct SyntaxError {
    /// What went wrong.
    pub kind: SyntaxErrorKind,
    /// The message's tag, if its whole first token is one (not for `x+4`).
    pub tag: Option<Tag<'static>>,
    /// Offset in the message of the first octet that could not be parsed.
    pub offset: usize,
    /// What the grammar wanted there.
    pub expected: &'static str,
}

/// The `expected` text of a nesting error; parsers return it as a `nom::Err::Failure`.
pub(crate) const TOO_DEEP: &str = "less nesting";

impl SyntaxError {
    /// An error at `at`, a suffix of `message`.
    pub(crate) fn new(
        kind: SyntaxErrorKind,
        tag: Option<&Tag<'_>>,
        message: &[u8],
        at: &[u8],
        expected: &'static str,
    ) -> Self {
        let kind = if expected == TOO_DEEP {
            SyntaxErrorKind::TooDeep
        } else {
            kind
        };
        Self {
            kind,
            tag: tag.map(|t| t.clone().into_owned()),
            offset: message.len().saturating_sub(at.len()),
            expected,
        }
    }

    pub(crate) fn from_nom(
        tag: Option<&Tag<'_>>,
        message: &[u8],
        err: &nom::Err<PError<'_>>,
    ) -> Self {
        match err {
            nom::Err::Error(e) | nom::Err::Failure(e) => {
                Self::new(SyntaxErrorKind::Syntax, tag, message, e.input, e.expected)
            }
            nom::Err::Incomplete(_) => {
                Self::new(SyntaxErrorKind::Syntax, tag, message, &[], "more input")
            }
        }
    }
}
