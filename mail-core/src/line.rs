//! Finding the end of a CRLF-terminated line under a length limit, for the line-based
//! protocols (SMTP commands and replies, POP3 commands and responses).
//!
//! A line must end in CRLF and hold no other CR: a bare CR or LF is a line ending to some
//! peers and not to others, which is how commands are smuggled (RFC 5321 §2.3.8, RFC 1939
//! §3).

/// Why a line can never be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The line is longer than the limit (octets, CRLF included).
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The line ends with a bare LF or holds a bare CR.
    BareLineEnding,
}

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
        error: LineError,
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
        if let Some(cr) = memchr::memchr2(b'\r', b'\n', input)
            && input[cr] == b'\r'
            && input.get(cr + 1) == Some(&b'\n')
            && cr + 2 <= max
        {
            return Frame::Line {
                len: cr,
                consumed: cr + 2,
            };
        }
    }
    let from = scanned.min(input.len());
    match memchr::memchr(b'\n', &input[from..]) {
        Some(i) => {
            let lf = from + i;
            let consumed = lf + 1;
            if consumed > max {
                return Frame::Invalid {
                    error: LineError::TooLong { max },
                    consumed,
                };
            }
            if lf == 0
                || input[lf - 1] != b'\r'
                || memchr::memchr(b'\r', &input[..lf - 1]).is_some()
            {
                return Frame::Invalid {
                    error: LineError::BareLineEnding,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_their_errors() {
        let line = |len, consumed| Frame::Line { len, consumed };
        let invalid = |error, consumed| Frame::Invalid { error, consumed };
        assert_eq!(find_line(b"NOOP\r\nQUIT\r\n", 512, 0), line(4, 6));
        assert_eq!(find_line(b"\r\n", 512, 0), line(0, 2));
        assert_eq!(find_line(b"NOOP\r", 512, 0), Frame::Partial);
        assert_eq!(
            find_line(b"NOOP\n", 512, 0),
            invalid(LineError::BareLineEnding, 5)
        );
        assert_eq!(
            find_line(b"NO\rOP\r\n", 512, 0),
            invalid(LineError::BareLineEnding, 7)
        );
        assert_eq!(
            find_line(b"\n", 512, 0),
            invalid(LineError::BareLineEnding, 1)
        );
        // The limit counts the CRLF.
        assert_eq!(find_line(b"abcd\r\n", 6, 0), line(4, 6));
        assert_eq!(
            find_line(b"abcde\r\n", 6, 0),
            invalid(LineError::TooLong { max: 6 }, 7)
        );
        assert_eq!(find_line(b"abcdef", 6, 0), Frame::TooLongSoFar);
        assert_eq!(find_line(b"abcde", 6, 0), Frame::Partial);
    }

    #[test]
    fn trickled_input_gives_the_same_answer() {
        let input = b"MAIL FROM:<a@b>\r\nRCPT";
        for scanned in 0..=15 {
            assert_eq!(
                find_line(input, 512, scanned),
                Frame::Line {
                    len: 15,
                    consumed: 17
                }
            );
        }
    }
}
