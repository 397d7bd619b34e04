//! The public decode error of [`crate::codec::decode_command`].

use crate::{
    codec::{CommandError, frame::FrameError},
    types::core::Tag,
};

/// Why no command could be decoded from the input (yet).
///
/// `Incomplete` and `LiteralAnnounced` are not failures of the peer: more octets are needed.
/// The other variants describe input that can never become valid, and say how many octets to
/// drop to resynchronize.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// More input is needed.
    #[error("incomplete input")]
    Incomplete,
    /// A synchronizing literal was announced and its octets are not all there. The server
    /// answers `+` (continuation request) or refuses the command with a tagged `NO`/`BAD`
    /// and drops the first `line_end` octets; the client sends the octets only after `+`.
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
    /// The message is framed but is not a valid command.
    #[error("{error}")]
    Command {
        /// What is wrong, with the tag if it could be read.
        error: CommandError,
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

    /// The tag of the offending command, when one could be read, for `tag BAD`.
    pub fn tag(&self) -> Option<&Tag<'static>> {
        match self {
            Self::LiteralAnnounced { tag, .. } => tag.as_ref(),
            Self::Command { error, .. } => error.tag.as_ref(),
            _ => None,
        }
    }
}
