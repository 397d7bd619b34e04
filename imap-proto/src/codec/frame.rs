//! Framing: finding where one IMAP message ends before anything is parsed.
//!
//! An IMAP message is a line, or a line ending in a literal announcement (`{n}`, `{n+}`,
//! `~{n}`) followed by `n` octets and the rest of the message. The framer finds the end,
//! enforces the line, literal and message limits, and reports each synchronizing literal so a
//! server can decide between `+` and a refusal *before* the client sends the octets. It never
//! allocates: an announced `{4294967295}` costs nothing until octets arrive. It resumes where
//! it stopped, so input that trickles in one byte at a time is scanned once.

pub use crate::types::core::LiteralMode;

/// Which side is reading: a server reads commands, a client reads responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reading commands (reports synchronizing literals).
    Server,
    /// Reading responses (status text may end in `{n}` without announcing a literal).
    Client,
}

/// Limits the framer enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Longest line between literals, CRLF included.
    pub max_line: usize,
    /// Largest literal.
    pub max_literal: u64,
    /// Largest non-synchronizing literal (LITERAL-: 4096; LITERAL+: as `max_literal`).
    pub max_nonsync_literal: u64,
    /// Largest message, literals included.
    pub max_message: u64,
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_nonsync_literal: 64 * 1024 * 1024,
            max_message: 80 * 1024 * 1024,
        }
    }
}

impl FrameLimits {
    /// Limits for reading a server's responses, the default of
    /// [`ResponseOptions`](crate::codec::ResponseOptions): a `* SEARCH` or `* SORT` line for
    /// a large mailbox is one line of megabytes, and `BODY[]` is as large as the messages the
    /// server takes (Exchange's limit is 150 MB). Still bounded, against a hostile server.
    pub const fn responses() -> Self {
        Self {
            max_line: 16 * 1024 * 1024,
            max_literal: 256 * 1024 * 1024,
            max_nonsync_literal: 256 * 1024 * 1024,
            max_message: 288 * 1024 * 1024,
        }
    }
}

/// Why a message cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line is longer than the limit.
    #[error("line longer than {max} octets")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// A literal is larger than the limit.
    #[error("literal of {len} octets exceeds the limit of {max}")]
    LiteralTooLarge {
        /// The announced size.
        len: u64,
        /// The limit.
        max: u64,
        /// The literal's mode: a refused synchronizing literal is never sent, a refused
        /// non-synchronizing one is already on its way.
        mode: LiteralMode,
    },
    /// The message is larger than the limit.
    #[error("message larger than {max} octets")]
    MessageTooLarge {
        /// The limit.
        max: u64,
    },
    /// A line ended in LF without CR.
    #[error("line ends with a bare LF")]
    BareLf,
}

/// What the framer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// A complete message: the first `len` octets of the buffer.
    Complete {
        /// Octets in the message, final CRLF included.
        len: usize,
    },
    /// More input is needed.
    Incomplete,
    /// A synchronizing literal of `len` octets was announced at the end of the line ending at
    /// `line_end`. The server answers `+` (and calls [`Framer::next`] again as octets arrive)
    /// or refuses the command and drops the first `line_end` octets.
    LiteralAnnounced {
        /// The announced size.
        len: u64,
        /// Octets up to and including the announcing line's CRLF.
        line_end: usize,
    },
    /// The message can never be valid. Drop the first `skip` octets to resynchronize, then
    /// answer the error. For a refused non-synchronizing literal, `skip` covers only the
    /// line; the literal's octets are on their way and the connection should be closed.
    Invalid {
        /// What is wrong.
        error: FrameError,
        /// Octets to drop.
        skip: usize,
    },
}

/// The resumable framer. Call [`Framer::next`] with the buffer that starts at the message's
/// first octet; after `Complete` or `Invalid`, drop the octets and call [`Framer::reset`].
#[derive(Debug, Clone)]
pub struct Framer {
    side: Side,
    limits: FrameLimits,
    /// Where scanning resumes.
    pos: usize,
    /// Where the current line began.
    line_start: usize,
    /// Octets of literal still to skip, from `pos`.
    literal_left: u64,
}

impl Framer {
    /// A framer for one side, with these limits.
    pub fn new(side: Side, limits: FrameLimits) -> Self {
        Self {
            side,
            limits,
            pos: 0,
            line_start: 0,
            literal_left: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &FrameLimits {
        &self.limits
    }

    /// Changes the limits (for example when LITERAL+ is negotiated).
    pub fn set_limits(&mut self, limits: FrameLimits) {
        self.limits = limits;
    }

    /// Forgets the message in progress.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.line_start = 0;
        self.literal_left = 0;
    }

    /// Continues framing the message at the start of `buf`.
    pub fn next(&mut self, buf: &[u8]) -> Framed {
        loop {
            if self.literal_left > 0 {
                let available = (buf.len() - self.pos) as u64;
                if available < self.literal_left {
                    self.literal_left -= available;
                    self.pos = buf.len();
                    return Framed::Incomplete;
                }
                // The literal fits in usize: it is no larger than what is buffered.
                self.pos += usize::try_from(self.literal_left).unwrap_or(0);
                self.literal_left = 0;
                self.line_start = self.pos;
            }
            let Some(i) = memchr::memchr(b'\n', &buf[self.pos..]) else {
                self.pos = buf.len();
                if buf.len() - self.line_start > self.limits.max_line {
                    return Framed::Invalid {
                        error: FrameError::LineTooLong {
                            max: self.limits.max_line,
                        },
                        skip: buf.len(),
                    };
                }
                return Framed::Incomplete;
            };
            let lf = self.pos + i;
            let line_end = lf + 1;
            self.pos = line_end;
            if line_end - self.line_start > self.limits.max_line {
                return self.invalid(FrameError::LineTooLong {
                    max: self.limits.max_line,
                });
            }
            if line_end as u64 > self.limits.max_message {
                return self.invalid(FrameError::MessageTooLarge {
                    max: self.limits.max_message,
                });
            }
            // The CR must be on this line: a literal's last octet does not count.
            if lf == self.line_start || buf[lf - 1] != b'\r' {
                return self.invalid(FrameError::BareLf);
            }
            let line = &buf[self.line_start..lf - 1];
            let Some((len, mode)) = self.literal_at_end(line) else {
                return Framed::Complete { len: line_end };
            };
            let max = match mode {
                LiteralMode::Sync => self.limits.max_literal,
                LiteralMode::NonSync => {
                    self.limits.max_nonsync_literal.min(self.limits.max_literal)
                }
            };
            if len > max {
                return self.invalid(FrameError::LiteralTooLarge { len, max, mode });
            }
            if line_end as u64 + len > self.limits.max_message {
                return self.invalid(FrameError::MessageTooLarge {
                    max: self.limits.max_message,
                });
            }
            self.literal_left = len;
            self.line_start = line_end;
            if mode == LiteralMode::Sync && self.side == Side::Server {
                // Reported even when octets already follow (a client that did not wait):
                // the server decides either way.
                return Framed::LiteralAnnounced { len, line_end };
            }
        }
    }

    fn invalid(&mut self, error: FrameError) -> Framed {
        let skip = self.pos;
        self.reset();
        Framed::Invalid { error, skip }
    }

    /// `literal = "{" number64 ["+"] "}" CRLF`, `literal8 = "~{" number64 "}" CRLF` at the end
    /// of `line` (CRLF already removed).
    fn literal_at_end(&self, line: &[u8]) -> Option<(u64, LiteralMode)> {
        let body = line.strip_suffix(b"}")?;
        let open = memchr::memrchr(b'{', body)?;
        let mut digits = &body[open + 1..];
        let mode = match digits.strip_suffix(b"+") {
            Some(d) => {
                digits = d;
                LiteralMode::NonSync
            }
            None => LiteralMode::Sync,
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Only a message's first line says what kind of response it is: after a literal, a
        // line that begins with `BAD` is an astring, not a status (`* QUOTAROOT "" {3}`,
        // `aaa BAD {2}`).
        if self.side == Side::Client && self.line_start == 0 && is_status_text(&line[..open]) {
            return None;
        }
        // A size past `number64` is no literal (the line is then a syntax error).
        Some((super::core::number64_value(digits)?, mode))
    }
}

/// Whether `line` is a response whose end is free text: a continuation request, or a status
/// response (`tag OK/NO/BAD`, `* OK/NO/BAD/BYE/PREAUTH`). Their text may end in `{n}`
/// without announcing a literal.
fn is_status_text(line: &[u8]) -> bool {
    if line.starts_with(b"+") {
        return true;
    }
    let mut words = line.splitn(3, |&b| b == b' ');
    let (Some(_tag), Some(kind)) = (words.next(), words.next()) else {
        return false;
    };
    [&b"OK"[..], b"NO", b"BAD", b"BYE", b"PREAUTH"]
        .iter()
        .any(|k| kind.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(side: Side, input: &[u8]) -> Framed {
        Framer::new(side, FrameLimits::default()).next(input)
    }

    /// A line after a literal that looks like a status response still announces one: only
    /// the message's first line says what it is (found by the differential fuzz target).
    #[test]
    fn status_words_after_a_literal_are_data() {
        let msg = b"* QUOTAROOT \"\" {3}\r\naaa BAD {2}\r\nbb\r\n";
        assert_eq!(
            frame(Side::Client, msg),
            Framed::Complete { len: msg.len() }
        );
        // On the first line the same words are a status response's text.
        let line = b"* BAD not a literal {2}\r\n";
        let status = [&line[..], b"bb\r\n"].concat();
        assert_eq!(
            frame(Side::Client, &status),
            Framed::Complete { len: line.len() }
        );
    }

    /// `number64 = 1*DIGIT`: any number of leading zeros; a size past 2^63 - 1 is no
    /// `number64`, so no literal.
    #[test]
    fn literal_sizes_with_leading_zeros_and_past_64_bits() {
        let zeros = format!("a LOGIN {{{}5}}\r\n", "0".repeat(40));
        assert_eq!(
            frame(Side::Server, zeros.as_bytes()),
            Framed::LiteralAnnounced {
                len: 5,
                line_end: zeros.len()
            }
        );
        let largest = b"a LOGIN {09223372036854775807}\r\n";
        assert!(matches!(
            frame(Side::Server, largest),
            Framed::Invalid {
                error: FrameError::LiteralTooLarge {
                    len: 9_223_372_036_854_775_807,
                    ..
                },
                ..
            }
        ));
        let past = b"a LOGIN {9223372036854775808}\r\n";
        assert_eq!(
            frame(Side::Server, past),
            Framed::Complete { len: past.len() }
        );
    }

    #[test]
    fn lines_and_literals() {
        assert_eq!(
            frame(Side::Server, b"a NOOP\r\nb"),
            Framed::Complete { len: 8 }
        );
        assert_eq!(frame(Side::Server, b"a NOOP\r"), Framed::Incomplete);
        assert_eq!(
            frame(Side::Server, b"a LOGIN {3}\r\n"),
            Framed::LiteralAnnounced {
                len: 3,
                line_end: 13
            }
        );
        let mut f = Framer::new(Side::Server, FrameLimits::default());
        let msg = b"a LOGIN {3}\r\nbob {2+}\r\npw\r\nnext";
        assert!(matches!(
            f.next(&msg[..13]),
            Framed::LiteralAnnounced { .. }
        ));
        assert_eq!(f.next(&msg[..20]), Framed::Incomplete);
        assert_eq!(f.next(msg), Framed::Complete { len: 27 });
    }

    #[test]
    fn huge_announcement_costs_nothing() {
        let limits = FrameLimits::default();
        let f = frame(Side::Server, b"a APPEND x {4294967295}\r\n");
        assert_eq!(
            f,
            Framed::Invalid {
                error: FrameError::LiteralTooLarge {
                    len: 4_294_967_295,
                    max: limits.max_literal,
                    mode: LiteralMode::Sync
                },
                skip: 25
            }
        );
    }

    #[test]
    fn cr_at_the_end_of_a_literal_does_not_end_the_line() {
        let f = frame(Side::Client, b"* 1 FETCH (BODY[] {1}\r\n\r\n");
        assert!(
            matches!(
                f,
                Framed::Invalid {
                    error: FrameError::BareLf,
                    ..
                }
            ),
            "{f:?}"
        );
    }

    #[test]
    fn status_text_braces_are_not_literals_for_clients() {
        assert_eq!(
            frame(Side::Client, b"* OK see {5}\r\n"),
            Framed::Complete { len: 14 }
        );
        assert_eq!(
            frame(Side::Client, b"* 1 FETCH (BODY[] {2}\r\nab)\r\n"),
            Framed::Complete { len: 28 }
        );
    }
}
