//! The public decode error, and its mapping to the reply a server sends for it.

use crate::types::reply::{EnhancedStatus, Reply, ReplyCode};

/// Why a message could not be decoded.
///
/// `Incomplete` is not a failure of the peer: more bytes are needed. Every other variant
/// describes input that can never become valid, and says where it went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More input is needed before anything can be decided.
    #[error("incomplete input")]
    Incomplete,
    /// The line is longer than the limit (octets, CRLF included).
    #[error("line longer than {max} octets")]
    LineTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// A line ended with a bare LF, or contained a bare CR (RFC 5321 §2.3.8).
    #[error("bare CR or LF in a command or reply line")]
    BareLineEnding,
    /// The verb is not a command this crate knows.
    #[error("unrecognized command")]
    UnknownCommand,
    /// The line does not match the grammar.
    #[error("syntax error at byte {at}: expected {expected}")]
    Syntax {
        /// Offset of the first byte that could not be parsed, from the start of the line; for a
        /// reply, from the start of the reply (its first line).
        at: usize,
        /// What the grammar expected there.
        expected: &'static str,
    },
    /// A parameter or argument is syntactically fine but its value is not acceptable.
    #[error("invalid {what}")]
    InvalidValue {
        /// Which value.
        what: &'static str,
    },
    /// A multi-line reply has more lines or octets than the limit allows.
    #[error("reply too large")]
    ReplyTooLarge,
}

impl DecodeError {
    /// Whether more input could still make the message decodable.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::Incomplete)
    }

    /// The reply a server sends for a command line that failed to decode with this error.
    pub fn to_reply(&self) -> Reply<'static> {
        let (code, status, text): (u16, (u8, u16, u16), &'static str) = match self {
            Self::Incomplete => (500, (5, 5, 2), "Incomplete command"),
            Self::LineTooLong { .. } => (500, (5, 5, 2), "Line too long"),
            Self::BareLineEnding => (500, (5, 5, 2), "Bare CR or LF not allowed"),
            Self::UnknownCommand => (500, (5, 5, 1), "Command unrecognized"),
            Self::Syntax { .. } => (501, (5, 5, 4), "Syntax error in parameters or arguments"),
            Self::InvalidValue { what } => {
                return Reply::new_static(
                    ReplyCode::SYNTAX_ERROR_PARAMS,
                    Some(EnhancedStatus::new_unchecked(5, 5, 4)),
                    what,
                );
            }
            Self::ReplyTooLarge => (500, (5, 5, 2), "Reply too large"),
        };
        Reply::new_static(
            ReplyCode::new_unchecked(code),
            Some(EnhancedStatus::new_unchecked(status.0, status.1, status.2)),
            text,
        )
    }
}

impl From<DecodeError> for Reply<'static> {
    fn from(err: DecodeError) -> Self {
        err.to_reply()
    }
}
