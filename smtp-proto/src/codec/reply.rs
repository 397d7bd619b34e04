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

use super::line::{Frame, LineError, find_line};
use crate::types::reply::{enhanced_status_at, lift_status};
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
    /// Text that is not `textstring` (octets that are not UTF-8, control characters) is
    /// taken, each such character made `?`, instead of failing the reply: a client acts on
    /// the code alone (RFC 5321 §4.2), and localized servers send Latin-1 text. So is a
    /// multi-line reply whose lines carry different codes: the last line's counts; and so
    /// is a line that ends in LF alone. Off by
    /// default; [`ClientConfig::new`](crate::session::client::ClientConfig::new) turns it
    /// on, as Postfix's client reads replies.
    pub any_text: bool,
}

impl Default for ReplyLimits {
    fn default() -> Self {
        let l = crate::Limits::default();
        Self {
            max_line: 4096,
            max_size: l.max_reply_size,
            max_lines: l.max_reply_lines,
            any_text: false,
        }
    }
}

/// Finds where the reply at the start of `input` ends. Returns the octets it takes.
fn frame_reply(input: &[u8], limits: ReplyLimits) -> Result<usize, DecodeError> {
    let mut at = 0;
    let mut lines = 0;
    loop {
        let line = &input[at..];
        match lenient_line(find_line(line, limits.max_line, 0), line, limits) {
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

/// A lenient reader ([`ReplyLimits::any_text`]) ends a reply line at LF, CR before it or
/// not, as Postfix's client does; a CR elsewhere in the line is text (made `?`). Replies
/// are not commands: no other reader is to be fooled by where they end.
pub(crate) fn lenient_line(frame: Frame, line: &[u8], limits: ReplyLimits) -> Frame {
    match frame {
        Frame::Invalid {
            error: LineError::BareLineEnding,
            consumed,
        } if limits.any_text => Frame::Line {
            len: consumed - 1 - usize::from(consumed >= 2 && line[consumed - 2] == b'\r'),
            consumed,
        },
        frame => frame,
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
    match one_pass(input, limits) {
        Some((end, reply)) => Ok((&input[end..], reply)),
        None => framed(input, limits),
    }
}

/// A complete, well-formed reply at the start of `input` in one pass over its octets: each
/// line's code, separator and text are checked as the line end is searched for, and the text
/// is checked to be UTF-8 once for the whole reply. `None` for anything else (incomplete,
/// invalid, over a limit): [`framed`] then gives the answer, errors included. So
/// this accepts exactly what [`framed`] accepts, and builds the same value.
#[inline]
fn one_pass(input: &[u8], limits: ReplyLimits) -> Option<(usize, Reply<'_>)> {
    let code = reply_code(input)?;
    let (text_at, last) = text_start(*input.get(3)?)?;
    let cr = line_end(input, text_at, limits.max_line)?;
    let at = cr + 2;
    if at > limits.max_size || limits.max_lines == 0 {
        return None;
    }
    if !last {
        return many_lines(input, code, at, limits);
    }
    // The status is read from the octets; only the text after it needs the UTF-8 check.
    let (status, from) = match enhanced_status_at(&input[text_at..cr]) {
        Some((status, rest)) => (Some(status), text_at + rest),
        None => (None, text_at),
    };
    let text = crate::grammar::utf8_span(input, 0, from, cr).ok()?;
    Some((at, Reply::from_parsed_line(code, status, text)))
}

/// Where the CR of the line whose text starts at `text_at` is, when the line ends in CRLF
/// within `max_line` octets and its text is all `textstring` (or UTF-8) octets.
#[inline]
fn line_end(line: &[u8], text_at: usize, max_line: usize) -> Option<usize> {
    // No text octet is CR or LF, so the text runs to the line end or to an error.
    let cr = crate::grammar::text_end(line, text_at);
    (line.get(cr..cr + 2)? == b"\r\n" && cr + 2 <= max_line).then_some(cr)
}

/// [`one_pass`] after the first line, `at` octets long, when more lines follow.
#[inline(never)]
fn many_lines(
    input: &[u8],
    code: ReplyCode,
    mut at: usize,
    limits: ReplyLimits,
) -> Option<(usize, Reply<'_>)> {
    let mut n = 1;
    let mut cr;
    loop {
        let line = &input[at..];
        if line.get(..3)? != &input[..3] {
            return None;
        }
        let (text_at, last) = text_start(*line.get(3)?)?;
        cr = at + line_end(line, text_at, limits.max_line)?;
        n += 1;
        at = cr + 2;
        if n > limits.max_lines || at > limits.max_size {
            return None;
        }
        if last {
            break;
        }
    }
    // From the first line's text (after `Reply-code "-"`) to the last line's CR.
    let text = crate::grammar::utf8_span(input, 0, 4, cr).ok()?;
    Some((at, Reply::from_raw(code, text, n)))
}

/// Where a line's text starts, from the octet after its code, and whether the line is the
/// last: `"-"` (more lines follow), `SP` (the last line) or the CR of a code-only last line.
#[inline]
fn text_start(separator: u8) -> Option<(usize, bool)> {
    match separator {
        b'-' => Some((4, false)),
        b' ' => Some((4, true)),
        b'\r' => Some((3, true)),
        _ => None,
    }
}

/// Frames the reply at the start of `input`, then parses its lines: the exact answer for any
/// input, errors included.
#[inline(never)]
fn framed(input: &[u8], limits: ReplyLimits) -> Result<(&[u8], Reply<'_>), DecodeError> {
    let end = frame_reply(input, limits)?;
    let mut code = None;
    let mut lines = Vec::new();
    let mut at = 0;
    while at < end {
        let Some(lf) = memchr::memchr(b'\n', &input[at..end]) else {
            break;
        };
        let line = &input[at..at + lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line_code = reply_code(line).ok_or(DecodeError::Syntax {
            at,
            expected: "Reply-code",
        })?;
        // RFC 5321 §4.2.1 wants the same code on every line; a client taking any text
        // takes the last line's, as Postfix's does.
        match code {
            Some(c) if c != line_code && !limits.any_text => {
                return Err(DecodeError::Syntax {
                    at,
                    expected: "the same reply code on every line",
                });
            }
            _ => code = Some(line_code),
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
        let text = match std::str::from_utf8(text)
            .ok()
            .filter(|t| crate::grammar::is_text(t))
        {
            Some(t) => Cow::Borrowed(t),
            None if limits.any_text => Cow::Owned(printable(text)),
            None => {
                return Err(DecodeError::Syntax {
                    at: at + 4,
                    expected: "textstring",
                });
            }
        };
        lines.push(text);
        at += lf + 1;
    }
    let code = code.ok_or(DecodeError::Incomplete)?;
    let status = lift_status(&mut lines);
    Ok((&input[end..], Reply::from_parsed(code, status, lines)))
}

/// `text` with each octet that is not UTF-8 and each control character but HT made `?`.
fn printable(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .chars()
        .map(|c| {
            if c == char::REPLACEMENT_CHARACTER || (c.is_control() && c != '\t') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::reply::EnhancedStatus;

    /// Line by line: a code, a separator, text, a line end; mostly well-formed, with every
    /// way of breaking one among the choices.
    const CODES: &[&[u8]] = &[b"250", b"250", b"250", b"251", b"550", b"25"];
    const SEPARATORS: &[&[u8]] = &[b"-", b"-", b" ", b"", b"x"];
    const TEXT: &[&[u8]] = &[
        b"2.1.0",
        b"2.1.0 ",
        b"2.01.0 ",
        b"5.1.1 ",
        b"2.1.1000 ",
        b"ok",
        b"x y",
        b"\t",
        b"\xc3\xa9",
        b"\xc3",
        b"\x01",
        b"\x7f",
        b"\r",
        b"\n",
    ];
    const ENDS: &[&[u8]] = &[b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b""];

    fn line() -> impl Strategy<Value = Vec<u8>> {
        (
            0..CODES.len(),
            0..SEPARATORS.len(),
            prop::collection::vec(0..TEXT.len(), 0..4),
            0..ENDS.len(),
        )
            .prop_map(|(c, s, t, e)| {
                let mut v = [CODES[c], SEPARATORS[s]].concat();
                for &i in &t {
                    v.extend_from_slice(TEXT[i]);
                }
                v.extend_from_slice(ENDS[e]);
                v
            })
    }

    fn limits() -> ReplyLimits {
        ReplyLimits {
            max_line: 24,
            max_size: 96,
            max_lines: 5,
            any_text: false,
        }
    }

    proptest! {
        /// What the one-pass decoder accepts, the framed decoder accepts too, with the same
        /// value and length.
        #[test]
        fn one_pass_agrees_with_framed(lines in prop::collection::vec(line(), 1..7)) {
            let input = lines.concat();
            if let Some((end, reply)) = one_pass(&input, limits()) {
                let (rest, framed_reply) = framed(&input, limits()).unwrap();
                prop_assert_eq!(input.len() - rest.len(), end);
                prop_assert_eq!(reply, framed_reply);
            }
        }
    }

    #[test]
    fn one_pass_takes_well_formed_replies() {
        let cases: &[&[u8]] = &[
            b"250 2.1.0 Sender OK\r\n",
            b"334\r\n",
            b"220 mx ESMTP \xc3\xa9\r\nNOOP",
            b"250-mx\r\n250-SIZE 100\r\n250 8BITMIME\r\n",
            b"550-5.1.1 no\r\n550 5.1.1 such user\r\n",
        ];
        for input in cases {
            let (end, fast) = one_pass(input, ReplyLimits::default()).unwrap();
            let (rest, slow) = framed(input, ReplyLimits::default()).unwrap();
            assert_eq!((end, &fast), (input.len() - rest.len(), &slow));
        }
        let (_, r) = one_pass(cases[4], ReplyLimits::default()).unwrap();
        assert_eq!(r.status(), EnhancedStatus::new(5, 1, 1).ok());
        assert!(r.lines().eq(["no", "such user"]));
    }

    /// A multi-line reply held as its text reads back line by line, owned, joined and
    /// encoded as it arrived.
    #[test]
    fn multi_line_reply_reads_back() {
        let input = b"250-2.1.0 a\r\n250-2.1.0 b c\r\n250 2.1.0\r\n";
        let (end, r) = one_pass(input, ReplyLimits::default()).unwrap();
        assert_eq!(end, input.len());
        assert_eq!(r.status(), EnhancedStatus::new(2, 1, 0).ok());
        assert_eq!(r.lines().len(), 3);
        assert!(r.lines().eq(["a", "b c", ""]));
        assert_eq!(r.text(), "a\nb c\n");
        assert_eq!(r.clone().into_owned(), r);
        let mut out = Vec::new();
        crate::codec::encode_reply(&r, &mut out);
        assert_eq!(out, input);
        // Without a common status, and with a code-only last line.
        let (_, r) = one_pass(b"220-2.1.0 a\r\n220-b\r\n220\r\n", ReplyLimits::default()).unwrap();
        assert_eq!(r.status(), None);
        assert!(r.lines().eq(["2.1.0 a", "b", ""]));
    }
}
