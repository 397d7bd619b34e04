//! Line framing: finding the end of a CRLF-terminated line under a length limit
//! ([`sansmail_core::line`], with this crate's errors).

pub use sansmail_core::line::{Frame, LineError, find_line};

use crate::DecodeError;

impl From<LineError> for DecodeError {
    fn from(e: LineError) -> Self {
        match e {
            LineError::TooLong { max } => Self::LineTooLong { max },
            LineError::BareLineEnding => Self::BareLineEnding,
        }
    }
}

/// Splits one complete line off `input`: `Ok((line_without_crlf, rest))`.
pub fn split_line(input: &[u8], max: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    match find_line(input, max, 0) {
        Frame::Line { len, consumed } => Ok((&input[..len], &input[consumed..])),
        Frame::Invalid { error, .. } => Err(error.into()),
        Frame::TooLongSoFar => Err(DecodeError::LineTooLong { max }),
        Frame::Partial => Err(DecodeError::Incomplete),
    }
}
