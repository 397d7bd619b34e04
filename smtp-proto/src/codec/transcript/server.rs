//! What a server sends: replies.

use super::{Step, TranscriptErrorKind, skip_line};
use crate::{
    DecodeError,
    codec::{
        self, ReplyLimits,
        line::{Frame, find_line},
        reply,
    },
    types::reply::Reply,
};

/// What a [`ServerDecoder`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerItem<'a> {
    /// A reply, all its lines.
    Reply(Reply<'a>),
}

impl ServerItem<'_> {
    /// Whether the item completes a message: always, a reply is one.
    pub fn ends_message(&self) -> bool {
        true
    }
}

/// Decodes what an SMTP server sends: replies. See [the module](super).
///
/// A reply is framed as [`codec::decode_reply_with`] frames it: a line whose code is followed
/// by `-` continues the reply, any other line ends it. A first line that does not start with
/// three digits is not a reply at all: it is reported and skipped alone, so a garbage line
/// does not take the next reply with it. A reply that does not decode is skipped whole.
#[derive(Debug)]
pub struct ServerDecoder {
    limits: ReplyLimits,
    /// Offset in the whole stream of the next octet to decode.
    offset: u64,
    /// Octets of complete lines of the current reply framed so far.
    framed: usize,
    /// How many lines that is.
    lines: usize,
    /// Octets after `framed` known to hold no LF.
    scanned: usize,
    /// Inside a reply that was already reported (too large, or a bad line that looked like a
    /// continuation): its remaining lines are dropped up to its last one.
    skipping: bool,
    /// Dropping the rest of an overlong line.
    skip_line: bool,
}

impl Default for ServerDecoder {
    fn default() -> Self {
        Self::new(ReplyLimits::default())
    }
}

impl ServerDecoder {
    /// A decoder enforcing `limits` (line length, lines and octets per reply).
    pub fn new(limits: ReplyLimits) -> Self {
        Self {
            limits,
            offset: 0,
            framed: 0,
            lines: 0,
            scanned: 0,
            skipping: false,
            skip_line: false,
        }
    }

    /// Octets consumed so far: the offset in the whole stream of the input's first octet on
    /// the next call.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes from the start of `input`, the octets not consumed yet; `more_follows` is
    /// `false` once nothing will be appended to it (a reply cut short is then an error).
    pub fn decode<'a>(&mut self, input: &'a [u8], more_follows: bool) -> Step<ServerItem<'a>> {
        let step = self.step(input, !more_follows);
        self.offset += step.consumed as u64;
        step
    }

    fn step<'a>(&mut self, input: &'a [u8], eof: bool) -> Step<ServerItem<'a>> {
        if self.skip_line {
            let (consumed, done) = skip_line(input);
            self.skip_line = !done;
            return Step::more(consumed);
        }
        let at = self.offset;
        loop {
            let rest = &input[self.framed..];
            let frame = find_line(rest, self.limits.max_line, self.scanned);
            match reply::lenient_line(frame, rest, self.limits) {
                Frame::Line { len, consumed } => {
                    let line = &rest[..len];
                    self.framed += consumed;
                    self.lines += 1;
                    self.scanned = 0;
                    let framed = self.framed;
                    if self.skipping {
                        self.skipping = looks_continued(line);
                        self.reset();
                        return Step::more(framed);
                    }
                    if self.lines == 1 && !starts_with_code(line) {
                        self.reset();
                        return Step::error(framed, at, TranscriptErrorKind::NotAReply);
                    }
                    if self.lines > self.limits.max_lines || framed > self.limits.max_size {
                        self.skipping = looks_continued(line);
                        self.reset();
                        return Step::error(framed, at, DecodeError::ReplyTooLarge);
                    }
                    if continues(line) {
                        continue;
                    }
                    self.reset();
                    return match codec::decode_reply_with(&input[..framed], self.limits) {
                        Ok((_, reply)) => Step::item(framed, ServerItem::Reply(reply)),
                        Err(e) => Step::error(framed, at, e),
                    };
                }
                // A bad line ends the reply unless it looks like a continuation line: then the
                // rest of the reply goes with it.
                Frame::Invalid { error, consumed } => {
                    let error = DecodeError::from(error);
                    let framed = self.framed + consumed;
                    let reported = std::mem::replace(&mut self.skipping, looks_continued(rest));
                    self.reset();
                    return if reported {
                        Step::more(framed)
                    } else {
                        Step::error(framed, at, error)
                    };
                }
                Frame::TooLongSoFar => {
                    let reported = std::mem::replace(&mut self.skipping, looks_continued(rest));
                    self.skip_line = true;
                    self.reset();
                    let max = self.limits.max_line;
                    return if reported {
                        Step::more(input.len())
                    } else {
                        Step::error(input.len(), at, DecodeError::LineTooLong { max })
                    };
                }
                Frame::Partial if eof && !input.is_empty() => {
                    let reported = std::mem::take(&mut self.skipping);
                    self.reset();
                    return if reported {
                        Step::more(input.len())
                    } else {
                        Step::error(input.len(), at, TranscriptErrorKind::UnterminatedReply)
                    };
                }
                Frame::Partial => {
                    self.scanned = rest.len();
                    return Step::more(0);
                }
            }
        }
    }

    /// Starts framing the next reply.
    fn reset(&mut self) {
        self.framed = 0;
        self.lines = 0;
        self.scanned = 0;
    }
}

/// Whether a reply line continues the reply (RFC 5321 §4.2.1: `Reply-code "-"`), as the
/// codec's framer decides it.
fn continues(line: &[u8]) -> bool {
    line.get(3) == Some(&b'-')
}

/// Whether a line that is being skipped continues its reply: three digits and `-`. A garbage
/// line does not drag the next reply into the skip.
fn looks_continued(line: &[u8]) -> bool {
    starts_with_code(line) && continues(line)
}

fn starts_with_code(line: &[u8]) -> bool {
    line.get(..3)
        .is_some_and(|c| c.iter().all(u8::is_ascii_digit))
}
