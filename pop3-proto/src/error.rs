//! The public decode error, and its mapping to the `-ERR` response a server sends for it.

use std::borrow::Cow;

use crate::types::response::{Reply, Response, Status};

/// Why a command or response could not be decoded.
///
/// `Incomplete` is not a failure of the peer: more bytes are needed. Every other variant
/// describes input that can never become valid, and says what went wrong and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More input is needed before anything can be decided.
    #[error("incomplete input")]
    Incomplete,
    /// The line is longer than the limit (octets, CRLF included): 255 for a command and 512
    /// for the first line of a response by default (RFC 2449 §4).
    #[error("line longer than {max} octets")]
    LineTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// A line ended with a bare LF, or contained a bare CR.
    #[error("bare CR or LF in a command or response line")]
    BareLineEnding,
    /// The keyword is not a command this crate knows. The text is never echoed back.
    #[error("unrecognized command")]
    UnknownCommand,
    /// The line does not match the grammar.
    #[error("syntax error at octet {at}: expected {expected}")]
    Syntax {
        /// Offset of the first octet that could not be parsed, from the start of the line.
        at: usize,
        /// What the grammar expected there.
        expected: &'static str,
    },
    /// An argument is longer than the limit (RFC 2449 §4: 40 characters).
    #[error("argument at octet {at} longer than {max} characters")]
    ArgumentTooLong {
        /// Offset of the argument from the start of the line.
        at: usize,
        /// The limit that was exceeded.
        max: usize,
    },
    /// A multi-line response is larger than the limit for responses decoded whole.
    #[error("multi-line response larger than {max} octets")]
    ResponseTooLarge {
        /// The limit that was exceeded.
        max: usize,
    },
}

impl DecodeError {
    /// Whether more input could still make the message decodable.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::Incomplete)
    }

    /// The `-ERR` response a server sends for a command line that failed to decode with this
    /// error. The client's text is never echoed (a Dovecot habit that produced responses over
    /// the 512-octet limit).
    pub fn to_response(&self) -> Response<'static> {
        let text: Cow<'static, str> = match self {
            Self::Incomplete => "Incomplete command".into(),
            Self::LineTooLong { max } => format!("Command line longer than {max} octets").into(),
            Self::BareLineEnding => "Bare CR or LF not allowed".into(),
            Self::UnknownCommand => "Unknown command".into(),
            Self::Syntax { at, expected } => {
                format!("Syntax error at octet {at}: expected {expected}").into()
            }
            Self::ArgumentTooLong { max, .. } => {
                format!("Argument longer than {max} characters").into()
            }
            Self::ResponseTooLarge { .. } => "Response too large".into(),
        };
        Response::from_parts_unchecked(Status::Err, None, Some(text))
    }
}

impl DecodeError {
    /// The same as a whole [`Reply`], as `sansmail_smtp::DecodeError::to_reply` gives one.
    pub fn to_reply(&self) -> Reply<'static> {
        Reply::Single(self.to_response())
    }
}

impl From<DecodeError> for Reply<'static> {
    fn from(err: DecodeError) -> Self {
        err.to_reply()
    }
}

impl From<DecodeError> for Response<'static> {
    fn from(err: DecodeError) -> Self {
        err.to_response()
    }
}
