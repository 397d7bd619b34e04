//! Parsing replies (RFC 5321 §4.2).
//!
//! ```text
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!              Reply-code [ SP textstring ] CRLF
//! Reply-code = %x32-35 %x30-35 %x30-39
//! textstring = 1*(%d09 / %d32-126)        ; HT, SP, Printable US-ASCII
//! ```
//! Code-only lines (`334` CRLF) are legal and accepted. Text may be UTF-8 (RFC 6531 §3.7.4.2
//! lets SMTPUTF8 servers send it); other control characters are refused.

use std::borrow::Cow;

use super::line::{Frame, find_line};
use crate::types::reply::lift_status;
use crate::{
    DecodeError,
    types::reply::{Reply, ReplyCode},
};

/// The limits a reply decoder enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest line, CRLF included.
    pub max_line: usize,
    /// Most octets in one reply.
    pub max_size: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        let l = crate::Limits::default();
        Self {
            max_line: 4096,
            max_size: l.max_reply_size,
            max_lines: l.max_reply_lines,
        }
    }
}

/// Finds where the reply at the start of `input` ends. Returns the octets it takes.
fn frame_reply(input: &[u8], limits: ReplyLimits) -> Result<usize, DecodeError> {
    let mut at = 0;
    let mut lines = 0;
    loop {
        let line = &input[at..];
        match find_line(line, limits.max_line, 0) {
            Frame::Line { len, consumed } => {
                lines += 1;
                at += consumed;
                if lines > limits.max_lines || at > limits.max_size {
                    return Err(DecodeError::ReplyTooLarge);
                }
                // Checked here, not only when the reply is complete: a line without a code
                // followed by `-` would otherwise keep the reader waiting for more lines.
                if reply_code(&line[..len]).is_none() {
                    return Err(DecodeError::Syntax {
                        at: at - consumed,
                        expected: "Reply-code",
                    });
                }
                if line.get(3) != Some(&b'-') {
                    return Ok(at);
                }
            }
            Frame::Invalid { error, .. } => return Err(error.into()),
            Frame::TooLongSoFar => {
                return Err(DecodeError::LineTooLong {
                    max: limits.max_line,
                });
            }
            Frame::Partial => {
                return if at + line.len() > limits.max_size {
                    Err(DecodeError::ReplyTooLarge)
                } else {
                    Err(DecodeError::Incomplete)
                };
            }
        }
    }
}

/// `Reply-code`: three digits, 2–5, 0–5, 0–9.
fn reply_code(line: &[u8]) -> Option<ReplyCode> {
    match line {
        [a @ b'2'..=b'5', b @ b'0'..=b'5', c @ b'0'..=b'9', ..] => Some(ReplyCode::new_unchecked(
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        )),
        _ => None,
    }
}

/// Decodes one complete reply from the start of `input`.
pub fn decode_reply_with(
    input: &[u8],
    limits: ReplyLimits,
) -> Result<(&[u8], Reply<'_>), DecodeError> {
    let end = frame_reply(input, limits)?;
    let mut code = None;
    let mut lines = Vec::new();
    let mut at = 0;
    while at < end {
        let Some(lf) = memchr::memchr(b'\n', &input[at..end]) else {
            break;
        };
        let line = &input[at..at + lf - 1];
        let line_code = reply_code(line).ok_or(DecodeError::Syntax {
            at,
            expected: "Reply-code",
        })?;
        if *code.get_or_insert(line_code) != line_code {
            return Err(DecodeError::Syntax {
                at,
                expected: "the same reply code on every line",
            });
        }
        let text = match line.get(3) {
            None => &[][..],
            Some(b'-' | b' ') => &line[4..],
            Some(_) => {
                return Err(DecodeError::Syntax {
                    at: at + 3,
                    expected: "SP, '-' or CRLF",
                });
            }
        };
        let text = std::str::from_utf8(text)
            .ok()
            .filter(|t| crate::grammar::is_text(t))
            .ok_or(DecodeError::Syntax {
                at: at + 4,
                expected: "textstring",
            })?;
        lines.push(Cow::Borrowed(text));
        at += lf + 1;
    }
    let code = code.ok_or(DecodeError::Incomplete)?;
    let status = lift_status(&mut lines);
    Ok((&input[end..], Reply::from_parsed(code, status, lines)))
}
