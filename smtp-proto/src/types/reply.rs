//! Replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034).

use std::{borrow::Cow, fmt};

use super::InvalidInput;
use crate::grammar::is_text;

/// A three-digit reply code: `Reply-code = %x32-35 %x30-35 %x30-39`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

/// The first digit of a reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 2yz
    PositiveCompletion,
    /// 3yz
    PositiveIntermediate,
    /// 4yz
    TransientNegative,
    /// 5yz
    PermanentNegative,
}

impl ReplyCode {
    /// 211 System status
    pub const SYSTEM_STATUS: Self = Self(211);
    /// 214 Help message
    pub const HELP: Self = Self(214);
    /// 220 Service ready
    pub const SERVICE_READY: Self = Self(220);
    /// 221 Service closing transmission channel
    pub const CLOSING: Self = Self(221);
    /// 235 Authentication succeeded (RFC 4954)
    pub const AUTH_SUCCEEDED: Self = Self(235);
    /// 250 Requested mail action okay, completed
    pub const OK: Self = Self(250);
    /// 251 User not local; will forward
    pub const USER_NOT_LOCAL_WILL_FORWARD: Self = Self(251);
    /// 252 Cannot VRFY user, but will accept message and attempt delivery
    pub const CANNOT_VRFY: Self = Self(252);
    /// 334 Server challenge (RFC 4954)
    pub const AUTH_CONTINUE: Self = Self(334);
    /// 354 Start mail input; end with `<CRLF>.<CRLF>`
    pub const START_MAIL_INPUT: Self = Self(354);
    /// 421 Service not available, closing transmission channel
    pub const SERVICE_NOT_AVAILABLE: Self = Self(421);
    /// 450 Mailbox unavailable (busy)
    pub const MAILBOX_BUSY: Self = Self(450);
    /// 451 Local error in processing
    pub const LOCAL_ERROR: Self = Self(451);
    /// 452 Insufficient system storage
    pub const INSUFFICIENT_STORAGE: Self = Self(452);
    /// 454 Temporary authentication failure
    pub const AUTH_TEMPORARY_FAILURE: Self = Self(454);
    /// 500 Syntax error, command unrecognized
    pub const SYNTAX_ERROR: Self = Self(500);
    /// 501 Syntax error in parameters or arguments
    pub const SYNTAX_ERROR_PARAMS: Self = Self(501);
    /// 502 Command not implemented
    pub const NOT_IMPLEMENTED: Self = Self(502);
    /// 503 Bad sequence of commands
    pub const BAD_SEQUENCE: Self = Self(503);
    /// 504 Command parameter not implemented
    pub const PARAM_NOT_IMPLEMENTED: Self = Self(504);
    /// 530 Authentication required (RFC 4954)
    pub const AUTH_REQUIRED: Self = Self(530);
    /// 535 Authentication credentials invalid (RFC 4954)
    pub const AUTH_INVALID: Self = Self(535);
    /// 538 Encryption required for requested authentication mechanism (RFC 4954)
    pub const ENCRYPTION_REQUIRED: Self = Self(538);
    /// 550 Mailbox unavailable
    pub const MAILBOX_UNAVAILABLE: Self = Self(550);
    /// 551 User not local
    pub const USER_NOT_LOCAL: Self = Self(551);
    /// 552 Exceeded storage allocation
    pub const EXCEEDED_STORAGE: Self = Self(552);
    /// 553 Mailbox name not allowed
    pub const MAILBOX_NAME_NOT_ALLOWED: Self = Self(553);
    /// 554 Transaction failed
    pub const TRANSACTION_FAILED: Self = Self(554);
    /// 555 MAIL/RCPT parameters not recognized or not implemented
    pub const PARAMS_NOT_RECOGNIZED: Self = Self(555);

    /// Validates a reply code: first digit 2–5, second 0–5, third 0–9.
    pub const fn new(code: u16) -> Result<Self, InvalidInput> {
        let (a, b) = (code / 100, code / 10 % 10);
        if a >= 2 && a <= 5 && b <= 5 {
            Ok(Self(code))
        } else {
            Err(InvalidInput::new("reply code", "%x32-35 %x30-35 %x30-39"))
        }
    }

    pub(crate) const fn new_unchecked(code: u16) -> Self {
        Self(code)
    }

    /// The code as a number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The first digit's meaning.
    pub const fn severity(self) -> Severity {
        match self.0 / 100 {
            2 => Severity::PositiveCompletion,
            3 => Severity::PositiveIntermediate,
            4 => Severity::TransientNegative,
            _ => Severity::PermanentNegative,
        }
    }

    /// 2yz
    pub const fn is_positive(self) -> bool {
        self.0 / 100 == 2
    }

    /// 3yz
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }

    /// 4yz or 5yz
    pub const fn is_negative(self) -> bool {
        self.0 / 100 >= 4
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An enhanced status code: `class "." subject "." detail` (RFC 3463 §2).
///
/// ```text
/// status-code = class "." subject "." detail
/// class       = "2" / "4" / "5"
/// subject     = 1*3digit
/// detail      = 1*3digit
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedStatus {
    /// Validates the three parts.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Result<Self, InvalidInput> {
        if (class == 2 || class == 4 || class == 5) && subject <= 999 && detail <= 999 {
            Ok(Self {
                class,
                subject,
                detail,
            })
        } else {
            Err(InvalidInput::new(
                "enhanced status code",
                "class 2/4/5, subject and detail 0-999",
            ))
        }
    }

    pub(crate) const fn new_unchecked(class: u8, subject: u16, detail: u16) -> Self {
        Self {
            class,
            subject,
            detail,
        }
    }

    /// 2, 4 or 5.
    pub const fn class(self) -> u8 {
        self.class
    }

    /// The subject (second number).
    pub const fn subject(self) -> u16 {
        self.subject
    }

    /// The detail (third number).
    pub const fn detail(self) -> u16 {
        self.detail
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A complete reply, single- or multi-line.
///
/// When every line starts with the same enhanced status code, it is lifted into
/// [`Reply::status`] and removed from the lines; encoding puts it back on each line.
/// A reply always has at least one line, which may be empty (a code-only reply).
#[derive(Clone)]
pub struct Reply<'a> {
    code: ReplyCode,
    status: Option<EnhancedStatus>,
    lines: Lines<'a>,
}

/// The lines of a reply. Most replies have one line: it is held in place, so decoding such a
/// reply allocates nothing. A decoded reply of several lines is held as the text it was
/// decoded from, so that it allocates nothing either.
#[derive(Clone)]
enum Lines<'a> {
    One([Cow<'a, str>; 1]),
    Many(Vec<Cow<'a, str>>),
    /// Decoded lines as they arrived, from the first line's text to the last line's CR:
    /// `count` lines separated by CRLF, each after the first starting with its code and
    /// separator, and with the lifted status when the reply has one.
    Raw {
        text: &'a str,
        count: usize,
    },
}

impl<'a> Lines<'a> {
    fn from_vec(mut lines: Vec<Cow<'a, str>>) -> Self {
        match (lines.pop(), lines.is_empty()) {
            (Some(line), true) => Self::One([line]),
            (Some(line), false) => {
                lines.push(line);
                Self::Many(lines)
            }
            (None, _) => Self::Many(lines),
        }
    }
}

/// The lines of a [`Reply`], without code and status: [`Reply::lines`].
#[derive(Clone, Debug)]
pub struct ReplyLines<'r> {
    inner: LinesIter<'r>,
}

#[derive(Clone, Debug)]
enum LinesIter<'r> {
    Held(std::slice::Iter<'r, Cow<'r, str>>),
    Raw {
        /// What is left of the text; `None` when done.
        rest: Option<&'r str>,
        /// Whether `rest` starts with a line's code and separator.
        coded: bool,
        /// Whether each line starts with the lifted status.
        status: bool,
        left: usize,
    },
}

impl<'r> Iterator for ReplyLines<'r> {
    type Item = &'r str;

    fn next(&mut self) -> Option<&'r str> {
        match &mut self.inner {
            LinesIter::Held(lines) => lines.next().map(|l| &**l),
            LinesIter::Raw {
                rest,
                coded,
                status,
                left,
            } => {
                let text = rest.take()?;
                let (line, after) = split_line(text);
                *rest = after;
                // `Reply-code "-"` or `Reply-code SP` before the text, or the code alone.
                let line = if *coded {
                    line.get(4..).unwrap_or("")
                } else {
                    line
                };
                *coded = true;
                *left = left.saturating_sub(1);
                Some(if *status {
                    enhanced_status(line).map_or(line, |(_, rest)| rest)
                } else {
                    line
                })
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.inner {
            LinesIter::Held(lines) => lines.len(),
            LinesIter::Raw { left, .. } => *left,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReplyLines<'_> {}

/// The first line of `text` and what follows its CRLF, if anything. Text has no CR but the
/// one of each CRLF.
#[inline]
fn split_line(text: &str) -> (&str, Option<&str>) {
    match memchr::memchr(b'\r', text.as_bytes()) {
        Some(cr) => (text.get(..cr).unwrap_or(text), text.get(cr + 2..)),
        None => (text, None),
    }
}

// By the lines, not by how they are held.
impl PartialEq for Reply<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.status == other.status && self.lines().eq(other.lines())
    }
}

impl Eq for Reply<'_> {}

impl fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code)
            .field("status", &self.status)
            .field("lines", &self.lines().collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> Reply<'a> {
    /// A reply with one line of text per `\n`-separated part of `text`. Each line must be
    /// `textstring` (`%d09 / %d32-126`, plus UTF-8), so no CR, LF or control character can be
    /// injected.
    pub fn new(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        text: impl Into<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        let text = text.into();
        let lines: Vec<Cow<'a, str>> = match text {
            Cow::Borrowed(t) => t.split('\n').map(Cow::Borrowed).collect(),
            Cow::Owned(t) => t.split('\n').map(|l| Cow::Owned(l.to_owned())).collect(),
        };
        Self::from_lines(code, status, lines)
    }

    /// A reply from its lines of text, each validated as `textstring`.
    ///
    /// Without `status`, a status code that starts every line is lifted out of the text, as
    /// the decoder does, so the value reads back equal after encoding.
    pub fn from_lines(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        mut lines: Vec<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        if lines.is_empty() {
            return Err(InvalidInput::new("reply", "at least one line"));
        }
        if let Some(bad) = lines.iter().find(|l| !is_text(l)) {
            let _ = bad;
            return Err(InvalidInput::new(
                "reply text",
                "HT, SP and printable characters only",
            ));
        }
        let status = status.or_else(|| lift_status(&mut lines));
        Ok(Self {
            code,
            status,
            lines: Lines::from_vec(lines),
        })
    }

    /// A decoded reply of several lines, already checked.
    pub(crate) fn from_parsed(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        lines: Vec<Cow<'a, str>>,
    ) -> Self {
        Self {
            code,
            status,
            lines: Lines::from_vec(lines),
        }
    }

    /// A decoded reply of `count` lines held as `text` (see [`Lines::Raw`]), already
    /// checked; a status code that starts every line is lifted.
    pub(crate) fn from_raw(code: ReplyCode, text: &'a str, count: usize) -> Self {
        let mut reply = Self {
            code,
            status: None,
            lines: Lines::Raw { text, count },
        };
        // Most multi-line replies (EHLO's) have none: the first line says so.
        if enhanced_status_at(split_line(text).0.as_bytes()).is_some() {
            reply.status = common_status(reply.lines());
        }
        reply
    }

    /// A decoded reply of one line, already checked.
    pub(crate) fn from_parsed_line(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        line: &'a str,
    ) -> Self {
        Self {
            code,
            status,
            lines: Lines::One([Cow::Borrowed(line)]),
        }
    }

    /// A single-line reply from static text known to be valid.
    pub(crate) fn new_static(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        text: &'static str,
    ) -> Reply<'static> {
        debug_assert!(is_text(text));
        Reply {
            code,
            status,
            lines: Lines::One([Cow::Borrowed(text)]),
        }
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code shared by all lines, if any.
    pub fn status(&self) -> Option<EnhancedStatus> {
        self.status
    }

    /// The lines of text, without code and status.
    pub fn lines(&self) -> ReplyLines<'_> {
        ReplyLines {
            inner: match &self.lines {
                Lines::One(line) => LinesIter::Held(line.iter()),
                Lines::Many(lines) => LinesIter::Held(lines.iter()),
                Lines::Raw { text, count } => LinesIter::Raw {
                    rest: Some(text),
                    coded: false,
                    status: self.status.is_some(),
                    left: *count,
                },
            },
        }
    }

    /// All lines joined with `\n`.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.lines {
            Lines::One([line]) => Cow::Borrowed(line),
            _ => Cow::Owned(self.lines().collect::<Vec<_>>().join("\n")),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Reply<'static> {
        Reply {
            code: self.code,
            status: self.status,
            lines: match self.lines {
                Lines::One([line]) => Lines::One([Cow::Owned(line.into_owned())]),
                Lines::Many(lines) => Lines::Many(
                    lines
                        .into_iter()
                        .map(|l| Cow::Owned(l.into_owned()))
                        .collect(),
                ),
                Lines::Raw { .. } => {
                    Lines::Many(self.lines().map(|l| Cow::Owned(l.to_owned())).collect())
                }
            },
        }
    }
}

/// `status-code = class "." subject "." detail` at the start of `text`, followed by SP or the
/// end. Returns the status and the text after it.
pub(crate) fn enhanced_status(text: &str) -> Option<(EnhancedStatus, &str)> {
    let (status, rest) = enhanced_status_at(text.as_bytes())?;
    // The status is ASCII, so `rest` is a character boundary.
    Some((status, text.get(rest..)?))
}

/// [`enhanced_status`] on octets: the status and where the text after it starts.
#[inline]
pub(crate) fn enhanced_status_at(b: &[u8]) -> Option<(EnhancedStatus, usize)> {
    let class = match b.first()? {
        c @ (b'2' | b'4' | b'5') => c - b'0',
        _ => return None,
    };
    // The usual form, one digit each, at once.
    if let [_, b'.', s @ b'0'..=b'9', b'.', d @ b'0'..=b'9', after @ ..] = b {
        let rest = match after {
            [] => 5,
            [b' ', _, ..] => 6,
            _ if after[0].is_ascii_digit() => return enhanced_status_long(b, class),
            _ => return None,
        };
        let status = EnhancedStatus::new_unchecked(class, u16::from(s - b'0'), u16::from(d - b'0'));
        return Some((status, rest));
    }
    enhanced_status_long(b, class)
}

/// [`enhanced_status_at`] after its class, for subjects and details of any length.
fn enhanced_status_long(b: &[u8], class: u8) -> Option<(EnhancedStatus, usize)> {
    if b.get(1) != Some(&b'.') {
        return None;
    }
    let (subject, at) = status_number(b, 2)?;
    if b.get(at) != Some(&b'.') {
        return None;
    }
    let (detail, at) = status_number(b, at + 1)?;
    let rest = match b.get(at) {
        None => at,
        Some(b' ') if at + 1 < b.len() => at + 1,
        _ => return None,
    };
    Some((EnhancedStatus::new_unchecked(class, subject, detail), rest))
}

/// `1*3digit` at `from`, not followed by a fourth digit: the value and where it ends.
#[inline]
fn status_number(b: &[u8], from: usize) -> Option<(u16, usize)> {
    let mut n = 0u16;
    let mut i = from;
    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        if i - from == 3 {
            return None;
        }
        n = n * 10 + u16::from(d - b'0');
        i += 1;
    }
    (i > from).then_some((n, i))
}

/// If every line starts with the same enhanced status code (followed by text, or alone),
/// removes it from the lines and returns it.
pub(crate) fn lift_status(lines: &mut [Cow<'_, str>]) -> Option<EnhancedStatus> {
    let common = common_status(lines.iter().map(|l| &**l))?;
    for line in lines.iter_mut() {
        match line {
            Cow::Borrowed(l) => {
                let rest = enhanced_status(l).map_or(*l, |(_, rest)| rest);
                *line = Cow::Borrowed(rest);
            }
            Cow::Owned(l) => {
                let start = enhanced_status(l).map_or(0, |(_, rest)| l.len() - rest.len());
                l.drain(..start);
            }
        }
    }
    Some(common)
}

/// The enhanced status code every line starts with, if they all start with the same one.
fn common_status<'s>(lines: impl Iterator<Item = &'s str>) -> Option<EnhancedStatus> {
    let mut common = None;
    for line in lines {
        let (status, _) = enhanced_status(line)?;
        if *common.get_or_insert(status) != status {
            return None;
        }
    }
    common
}
