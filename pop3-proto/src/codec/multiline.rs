//! Multi-line bodies (RFC 1939 §3): byte-stuffing for servers, unstuffing for clients, both
//! in chunks, so that a 50 MB message never has to sit whole in memory.
//!
//! ```text
//! multi-line  = single-line *dot-stuffed ending
//! dot-stuffed = *CHAR CRLF    ; a line starting with "." gets another "."
//! ending      = "." CRLF
//! ```
//!
//! Only CRLF ends a line: a bare CR or LF is data, and a `.` after it starts nothing.

use std::borrow::Cow;

use crate::types::response::Body;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RxState {
    /// At the start of a line (after a CRLF, or at the start of the body).
    LineStart,
    /// Saw `.` at the start of a line.
    Dot,
    /// Saw `.` CR at the start of a line.
    DotCr,
    /// Inside a line.
    Text,
    /// Saw CR inside a line.
    Cr,
    /// The terminating `.` CRLF has been consumed.
    Done,
}

/// Reads the body of a multi-line response: removes the stuffing and finds the terminating
/// `.` CRLF, across any chunking. Create it right after the first line's CRLF.
#[derive(Debug, Clone)]
pub struct MultiLineReceiver {
    state: RxState,
}

impl Default for MultiLineReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl MultiLineReceiver {
    /// A receiver at the start of the body.
    pub fn new() -> Self {
        Self {
            state: RxState::LineStart,
        }
    }

    /// Whether the terminator has been seen.
    pub fn is_done(&self) -> bool {
        self.state == RxState::Done
    }

    /// Consumes `input` up to and including the terminator, appending the unstuffed data
    /// (lines with their CRLF) to `out`. Returns the octets consumed and whether the
    /// terminator was seen. Octets after it are not consumed: they are the next response.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                RxState::Done => break,
                RxState::Text => {
                    // The hot path: copy a run of ordinary octets at once.
                    let run = memchr::memchr(b'\r', &input[i..]).unwrap_or(input.len() - i);
                    out.extend_from_slice(&input[i..i + run]);
                    i += run;
                    if i < input.len() {
                        i += 1;
                        self.state = RxState::Cr;
                    }
                }
                RxState::LineStart => {
                    let b = input[i];
                    i += 1;
                    match b {
                        b'.' => self.state = RxState::Dot,
                        b'\r' => self.state = RxState::Cr,
                        _ => {
                            out.push(b);
                            self.state = RxState::Text;
                        }
                    }
                }
                RxState::Dot => {
                    if input[i] == b'\r' {
                        i += 1;
                        self.state = RxState::DotCr;
                    } else {
                        // RFC 1939 §3: a leading "." followed by more than CRLF is stripped.
                        self.state = RxState::Text;
                    }
                }
                RxState::DotCr => {
                    if input[i] == b'\n' {
                        self.state = RxState::Done;
                        return (i + 1, true);
                    }
                    // `.` CR and something else: the dot is stripped, the CR is data.
                    out.push(b'\r');
                    self.state = RxState::Text;
                }
                RxState::Cr => {
                    if input[i] == b'\n' {
                        i += 1;
                        out.extend_from_slice(b"\r\n");
                        self.state = RxState::LineStart;
                    } else {
                        out.push(b'\r');
                        self.state = RxState::Text;
                    }
                }
            }
        }
        (i, self.state == RxState::Done)
    }
}

/// TOP's line budget (RFC 1939 §7): the header, the blank line, then `remaining` body lines.
#[derive(Debug, Clone, Copy)]
struct LineLimit {
    in_header: bool,
    remaining: u64,
}

/// Byte-stuffs message content for a multi-line response, in chunks. Bare CR and bare LF
/// become CRLF (a Maildir file has LF line ends; the wire needs CRLF), lines starting with
/// `.` get another `.`, and [`Stuffer::finish`] ends a last line without its CRLF before the
/// terminator.
///
/// With [`Stuffer::top`], it passes only the header, the blank line and the first `n` lines
/// of the body, and drops the rest.
#[derive(Debug, Clone, Default)]
pub struct Stuffer {
    /// Not at the start of a line.
    mid_line: bool,
    /// The last octet was a CR whose LF has not been seen.
    pending_cr: bool,
    limit: Option<LineLimit>,
    /// The line limit has been reached.
    full: bool,
}

impl Stuffer {
    /// A stuffer at the start of the content.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stuffer for `TOP msg n`: the header, the blank line after it, and `n` body lines.
    pub fn top(body_lines: u64) -> Self {
        Self {
            limit: Some(LineLimit {
                in_header: true,
                remaining: body_lines,
            }),
            ..Self::default()
        }
    }

    /// Whether TOP's line limit has been reached: further content is dropped, so the
    /// application may stop reading it.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Appends the stuffed form of `data` to `out`. Returns whether more content is wanted
    /// (`false` once TOP's line limit is reached).
    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        out.reserve(data.len() + data.len() / 64);
        let mut i = 0;
        while i < data.len() && !self.full {
            let b = data[i];
            if self.pending_cr {
                self.pending_cr = false;
                self.line_end(out);
                if b == b'\n' {
                    i += 1;
                }
                continue;
            }
            match b {
                b'\r' => {
                    self.pending_cr = true;
                    i += 1;
                }
                b'\n' => {
                    self.line_end(out);
                    i += 1;
                }
                _ => {
                    if !self.mid_line && b == b'.' {
                        out.push(b'.');
                    }
                    let run = memchr::memchr2(b'\r', b'\n', &data[i..]).unwrap_or(data.len() - i);
                    out.extend_from_slice(&data[i..i + run]);
                    self.mid_line = true;
                    i += run;
                }
            }
        }
        !self.full
    }

    /// Ends the content: a CRLF if the last line has none, then the terminating `.` CRLF.
    /// The stuffer is then ready for another message (without a line limit).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.finish_body(out);
        out.extend_from_slice(b".\r\n");
        *self = Self::default();
    }

    /// Ends the content without the terminator.
    pub(crate) fn finish_body(&mut self, out: &mut Vec<u8>) {
        if !self.full && (self.pending_cr || self.mid_line) {
            out.extend_from_slice(b"\r\n");
        }
        self.pending_cr = false;
        self.mid_line = false;
    }

    /// Writes a CRLF and counts the line against TOP's limit.
    fn line_end(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        let blank = !self.mid_line;
        self.mid_line = false;
        if let Some(limit) = &mut self.limit {
            if limit.in_header {
                if blank {
                    limit.in_header = false;
                    self.full = limit.remaining == 0;
                }
            } else {
                limit.remaining = limit.remaining.saturating_sub(1);
                self.full = limit.remaining == 0;
            }
        }
    }
}

impl Body<'_> {
    /// A body holding `data`: lines starting with `.` are stuffed, bare CR and LF become
    /// CRLF, and a last line without its line end gets one.
    pub fn from_unstuffed(data: &[u8]) -> Body<'static> {
        let mut out = Vec::with_capacity(data.len() + 2);
        let mut stuffer = Stuffer::new();
        stuffer.encode(data, &mut out);
        stuffer.finish_body(&mut out);
        Body(Cow::Owned(out))
    }
}
