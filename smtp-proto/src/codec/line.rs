//! Line framing: finding the end of a CRLF-terminated line under a length limit.

use crate::DecodeError;

/// What the framer found at the start of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A complete line: `len` octets without the CRLF, `consumed` with it.
    Line {
        /// Length of the line without its terminator.
        len: usize,
        /// Length including the terminator.
        consumed: usize,
    },
    /// A line that can never be valid; skip `consumed` octets (through its LF) to resync.
    Invalid {
        /// What was wrong.
        error: DecodeError,
        /// Octets to skip, terminator included.
        consumed: usize,
    },
    /// The line is longer than the limit and its end has not arrived yet. Everything buffered
    /// can be dropped; keep dropping until an LF arrives.
    TooLongSoFar,
    /// No complete line yet.
    Partial,
}

/// Finds the first line of `input`. `max` counts the CRLF. `scanned` is how many octets of
/// `input` are already known to contain no LF, so input that trickles in stays O(n).
pub fn find_line(input: &[u8], max: usize, scanned: usize) -> Frame {
    if scanned == 0 {
        // One search for the first CR or LF: in a valid line it is the CR of the final
        // CRLF. Anything else takes the general path below, which gives the exact answer.
        if let Some(cr) = memchr::memchr2(b'\r', b'\n', input) {
            if input[cr] == b'\r' && input.get(cr + 1) == Some(&b'\n') && cr + 2 <= max {
                return Frame::Line {
                    len: cr,
                    consumed: cr + 2,
                };
            }
        }
    }
    let from = scanned.min(input.len());
    match memchr::memchr(b'\n', &input[from..]) {
        Some(i) => {
            let lf = from + i;
            let consumed = lf + 1;
            if consumed > max {
                return Frame::Invalid {
                    error: DecodeError::LineTooLong { max },
                    consumed,
                };
            }
            // The line must end in CRLF and hold no other CR (RFC 5321 §2.3.8): a bare CR
            // inside a line is a line ending to some peers (`\r\r\n` was folded by old
            // Postfix).
            if lf == 0
                || input[lf - 1] != b'\r'
                || memchr::memchr(b'\r', &input[..lf - 1]).is_some()
            {
                return Frame::Invalid {
                    error: DecodeError::BareLineEnding,
                    consumed,
                };
            }
            Frame::Line {
                len: lf - 1,
                consumed,
            }
        }
        // A line of max octets must end in LF at index max - 1; without one, it is too long.
        None if input.len() >= max => Frame::TooLongSoFar,
        None => Frame::Partial,
    }
}

/// Splits one complete line off `input`: `Ok((line_without_crlf, rest))`.
pub fn split_line(input: &[u8], max: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    match find_line(input, max, 0) {
        Frame::Line { len, consumed } => Ok((&input[..len], &input[consumed..])),
        Frame::Invalid { error, .. } => Err(error),
        Frame::TooLongSoFar => Err(DecodeError::LineTooLong { max }),
        Frame::Partial => Err(DecodeError::Incomplete),
    }
}
