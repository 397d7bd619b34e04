//! Parsers for command lines (RFC 1939 §4–7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4,
//! RFC 6856 §2–3), in one pass over the octets.
//!
//! ```text
//! command = keyword *(SP param) CRLF   ; 255 octets maximum (RFC 2449 §9)
//! keyword = 3*4VCHAR
//! param   = 1*VCHAR                    ; 40 characters maximum (RFC 2449 §4)
//! ```
//!
//! The parsers read a [`Cursor`] and report the first error with its offset from the start
//! of the line. A line that is not UTF-8 fails as such before anything else
//! ([`super::parse_command_line`] checks it when a parser fails); where UTF-8 is allowed
//! (user names, passwords) the parsers validate it, so a line they accept is UTF-8 whole.

use std::borrow::Cow;

use crate::DecodeError;
use crate::grammar::is_language_tag;
use crate::types::{
    command::{AuthInitial, Command, MessageNumber},
    sasl::{Mechanism, Secret},
};
use sansmail_core::is_base64_bytes;

/// A position in a command line.
///
/// With `STREAM` false the line is the whole slice (its CRLF already split off). With
/// `STREAM` true the slice is the input itself and the line ends at its first CR, so a
/// command is parsed without searching for the line end first; no production takes a CR
/// (or an LF), so both read the same octets up to there and agree on every line they accept.
pub(crate) struct Cursor<'a, const STREAM: bool> {
    input: &'a [u8],
    pos: usize,
}

impl<'a, const STREAM: bool> Cursor<'a, STREAM> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    /// Octets read so far: the offset of the next one from the start of the line.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next octet, `None` at the end of the line.
    #[inline]
    fn peek(&self) -> Option<u8> {
        match self.input.get(self.pos) {
            Some(b'\r') if STREAM => None,
            b => b.copied(),
        }
    }

    fn at_end(&self) -> bool {
        self.peek().is_none()
    }

    /// Takes the octets of `class` (which must not hold CR) from here on.
    #[inline]
    fn take_while(&mut self, class: impl Fn(u8) -> bool) -> &'a [u8] {
        debug_assert!(!class(b'\r') && !class(b'\n'));
        let start = self.pos;
        while let Some(&b) = self.input.get(self.pos) {
            if !class(b) {
                break;
            }
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    /// A syntax error here.
    fn fail<T>(&self, expected: &'static str) -> Result<T, DecodeError> {
        fail_at(self.pos, expected)
    }
}

fn fail_at<T>(at: usize, expected: &'static str) -> Result<T, DecodeError> {
    Err(DecodeError::Syntax { at, expected })
}

/// The keywords, as a little-endian `u32` of their lower-case letters (`TOP`, three letters,
/// stands alone).
mod kw {
    const fn word(k: [u8; 4]) -> u32 {
        u32::from_le_bytes(k)
    }
    pub(super) const USER: u32 = word(*b"user");
    pub(super) const PASS: u32 = word(*b"pass");
    pub(super) const APOP: u32 = word(*b"apop");
    pub(super) const AUTH: u32 = word(*b"auth");
    pub(super) const QUIT: u32 = word(*b"quit");
    pub(super) const STAT: u32 = word(*b"stat");
    pub(super) const LIST: u32 = word(*b"list");
    pub(super) const RETR: u32 = word(*b"retr");
    pub(super) const DELE: u32 = word(*b"dele");
    pub(super) const NOOP: u32 = word(*b"noop");
    pub(super) const RSET: u32 = word(*b"rset");
    pub(super) const UIDL: u32 = word(*b"uidl");
    pub(super) const CAPA: u32 = word(*b"capa");
    pub(super) const STLS: u32 = word(*b"stls");
    pub(super) const UTF8: u32 = word(*b"utf8");
    pub(super) const LANG: u32 = word(*b"lang");
    /// Sets bit 5 of every octet: turns A-Z into a-z and leaves a-z and 0-9 alone.
    pub(super) const LOWER: u32 = 0x2020_2020;
}

/// `VCHAR = %x21-7E`
fn is_vchar(b: u8) -> bool {
    b.is_ascii_graphic()
}

/// `command = keyword *(SP param)`, dispatched on the keyword (case-insensitive, RFC 2449
/// §9), up to the end of the line. `max_arg` is the longest argument in characters.
#[inline]
pub(crate) fn command<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max_arg: usize,
) -> Result<Command<'a>, DecodeError> {
    let cmd = keyword_and_arguments(cur, max_arg)?;
    if !cur.at_end() {
        return cur.fail("end of line");
    }
    Ok(cmd)
}

/// `keyword = 3*4VCHAR`: the keyword is every VCHAR up to the first other octet, so a known
/// word followed by one more VCHAR is an unknown keyword. The four octets are compared at
/// once, with A-Z folded to a-z: octets that fold to a letter are that letter in either case,
/// and the one digit (`8` of `UTF8`) is checked as it is.
#[inline]
fn keyword_and_arguments<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max_arg: usize,
) -> Result<Command<'a>, DecodeError> {
    cur.pos = 4;
    Ok(match four_octet_keyword(cur.input) {
        kw::USER => user(cur, max_arg)?,
        kw::PASS => pass(cur)?,
        kw::APOP => apop(cur, max_arg)?,
        kw::AUTH => auth(cur)?,
        kw::QUIT => Command::Quit,
        kw::STAT => Command::Stat,
        kw::LIST => Command::List {
            msg: optional_msg(cur)?,
        },
        kw::RETR => Command::Retr {
            msg: required_msg(cur)?,
        },
        kw::DELE => Command::Dele {
            msg: required_msg(cur)?,
        },
        kw::NOOP => Command::Noop,
        kw::RSET => Command::Rset,
        kw::UIDL => Command::Uidl {
            msg: optional_msg(cur)?,
        },
        kw::CAPA => Command::Capa,
        kw::STLS => Command::Stls,
        kw::UTF8 if cur.input.get(3) == Some(&b'8') => Command::Utf8,
        kw::LANG => lang(cur, max_arg)?,
        _ if is_top(cur.input) => {
            cur.pos = 3;
            top(cur)?
        }
        _ => return Err(DecodeError::UnknownCommand),
    })
}

/// The keyword when it has four octets, as a little-endian `u32` with A-Z folded to a-z;
/// 0 otherwise.
fn four_octet_keyword(line: &[u8]) -> u32 {
    match line.first_chunk::<4>() {
        Some(head) if !line.get(4).is_some_and(|&b| is_vchar(b)) => {
            u32::from_le_bytes(*head) | kw::LOWER
        }
        _ => 0,
    }
}

/// `"TOP"` (either case) as the whole keyword.
fn is_top(line: &[u8]) -> bool {
    match line {
        [t, o, p, rest @ ..] => {
            [t | 0x20, o | 0x20, p | 0x20] == *b"top" && !rest.first().is_some_and(|&b| is_vchar(b))
        }
        _ => false,
    }
}

/// `SP`: exactly one space.
fn sp<const S: bool>(cur: &mut Cursor<'_, S>) -> Result<(), DecodeError> {
    if cur.peek() == Some(b' ') {
        cur.pos += 1;
        Ok(())
    } else {
        cur.fail("SP")
    }
}

/// `"USER" SP name`, `name = param` (UTF-8 allowed, RFC 6856 §2)
fn user<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max_arg: usize,
) -> Result<Command<'a>, DecodeError> {
    sp(cur)?;
    let name = param_utf8(cur, max_arg)?;
    Ok(Command::User {
        name: Cow::Borrowed(name),
    })
}

/// `"PASS" SP string`: the rest of the line, spaces included (RFC 1939 §7: "the server may
/// treat spaces in the argument as part of the password"), of HTAB, SP, printable ASCII and
/// UTF-8 (RFC 6856). Not subject to the argument limit.
fn pass<'a, const S: bool>(cur: &mut Cursor<'a, S>) -> Result<Command<'a>, DecodeError> {
    sp(cur)?;
    let start = cur.pos;
    let password = cur.take_while(|b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80);
    if !cur.at_end() {
        return fail_at(start, "password of printable characters");
    }
    Ok(Command::Pass {
        password: Secret::new(Cow::Borrowed(utf8(password, start)?)),
    })
}

/// `"APOP" SP name SP digest`
fn apop<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max_arg: usize,
) -> Result<Command<'a>, DecodeError> {
    sp(cur)?;
    let name = param_utf8(cur, max_arg)?;
    sp(cur)?;
    let digest = digest(cur)?;
    Ok(Command::Apop {
        name: Cow::Borrowed(name),
        digest: Cow::Borrowed(digest),
    })
}

/// `digest = 32HEXDIG` (RFC 1939 §7, APOP; lower case by the RFC, either case accepted)
fn digest<'a, const S: bool>(cur: &mut Cursor<'a, S>) -> Result<&'a str, DecodeError> {
    let start = cur.pos;
    let d = cur.take_while(|b| b.is_ascii_hexdigit());
    if d.is_empty() {
        return fail_at(start, "digest");
    }
    if d.len() != 32 {
        return fail_at(start, "digest of 32 hexadecimal digits");
    }
    utf8(d, start)
}

/// ```text
/// auth-command     = "AUTH" SP sasl-mech [SP initial-response]   ; RFC 5034 §4
/// initial-response = base64 / "="
/// ```
/// `AUTH` without argument asks for the list of mechanisms (de facto; RFC 1734 servers).
fn auth<'a, const S: bool>(cur: &mut Cursor<'a, S>) -> Result<Command<'a>, DecodeError> {
    if cur.at_end() {
        return Ok(Command::AuthList);
    }
    sp(cur)?;
    let mechanism = sasl_mech(cur)?;
    let initial = if cur.at_end() {
        None
    } else {
        sp(cur)?;
        Some(initial_response(cur)?)
    };
    Ok(Command::Auth { mechanism, initial })
}

/// `sasl-mech = 1*20mech-char` (RFC 4422 §3.1), either case: the VCHARs up to SP or the end
/// of the line, checked as a whole.
fn sasl_mech<'a, const S: bool>(cur: &mut Cursor<'a, S>) -> Result<Mechanism<'a>, DecodeError> {
    let start = cur.pos;
    let mech = cur.take_while(is_vchar);
    if mech.is_empty() {
        return fail_at(start, "sasl-mech");
    }
    Mechanism::new(utf8(mech, start)?)
        .or_else(|_| fail_at(start, "sasl-mech of 1 to 20 of A-Z 0-9 - _"))
}

/// `initial-response = base64 / "="`, up to the end of the line.
fn initial_response<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
) -> Result<AuthInitial<'a>, DecodeError> {
    const EXPECTED: &str = "initial-response (base64 or '=')";
    let start = cur.pos;
    let ir = cur.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !cur.at_end() {
        return fail_at(start, EXPECTED);
    }
    match ir {
        b"=" => Ok(AuthInitial::Empty),
        _ if !ir.is_empty() && is_base64_bytes(ir) => Ok(AuthInitial::Base64(Secret::new(
            Cow::Borrowed(utf8(ir, start)?),
        ))),
        _ => fail_at(start, EXPECTED),
    }
}

/// `SP msg`
fn required_msg<const S: bool>(cur: &mut Cursor<'_, S>) -> Result<MessageNumber, DecodeError> {
    sp(cur)?;
    msg(cur)
}

/// `[SP msg]`
fn optional_msg<const S: bool>(
    cur: &mut Cursor<'_, S>,
) -> Result<Option<MessageNumber>, DecodeError> {
    if cur.at_end() {
        return Ok(None);
    }
    required_msg(cur).map(Some)
}

/// `msg = 1*DIGIT`: a message number, from 1, that fits in 32 bits.
fn msg<const S: bool>(cur: &mut Cursor<'_, S>) -> Result<MessageNumber, DecodeError> {
    let start = cur.pos;
    let Some(n) = number(cur) else {
        return fail_at(start, "message number");
    };
    match u32::try_from(n).ok().and_then(MessageNumber::new) {
        Some(m) => Ok(m),
        None => fail_at(start, "message number from 1 to 4294967295"),
    }
}

/// `1*DIGIT` as a `u64`; `None` without a digit or on overflow (never a wrap).
fn number<const S: bool>(cur: &mut Cursor<'_, S>) -> Option<u64> {
    let digits = cur.take_while(|b| b.is_ascii_digit());
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// `"TOP" SP msg SP n`, `n = 1*DIGIT` (lines of the body, 0 for the header only)
fn top<'a, const S: bool>(cur: &mut Cursor<'a, S>) -> Result<Command<'a>, DecodeError> {
    let msg = required_msg(cur)?;
    sp(cur)?;
    let start = cur.pos;
    let Some(lines) = number(cur) else {
        return fail_at(start, "number of lines");
    };
    Ok(Command::Top { msg, lines })
}

/// ```text
/// lang-command = "LANG" [SP lang-range]     ; RFC 6856 §3
/// lang-range   = language-tag / "*"
/// ```
fn lang<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max_arg: usize,
) -> Result<Command<'a>, DecodeError> {
    if cur.at_end() {
        return Ok(Command::Lang { range: None });
    }
    sp(cur)?;
    let start = cur.pos;
    let range = param(cur, max_arg)?;
    if range != "*" && !is_language_tag(range) {
        return fail_at(start, "language tag or '*'");
    }
    Ok(Command::Lang {
        range: Some(Cow::Borrowed(range)),
    })
}

/// `param = 1*VCHAR`, at most `max` characters.
fn param<'a, const S: bool>(cur: &mut Cursor<'a, S>, max: usize) -> Result<&'a str, DecodeError> {
    let start = cur.pos;
    let p = cur.take_while(is_vchar);
    if p.is_empty() {
        return fail_at(start, "param");
    }
    if p.len() > max {
        return Err(DecodeError::ArgumentTooLong { at: start, max });
    }
    utf8(p, start)
}

/// `param = 1*(VCHAR / UTF8-non-ascii)` (RFC 6856 §2), at most `max` characters.
fn param_utf8<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max: usize,
) -> Result<&'a str, DecodeError> {
    let start = cur.pos;
    let p = utf8(cur.take_while(|b| is_vchar(b) || b >= 0x80), start)?;
    if p.is_empty() {
        return fail_at(start, "param");
    }
    if p.len() > max && p.chars().count() > max {
        return Err(DecodeError::ArgumentTooLong { at: start, max });
    }
    Ok(p)
}

/// The octets at offset `at` of the line as text: the UTF-8 error where they are not.
fn utf8(octets: &[u8], at: usize) -> Result<&str, DecodeError> {
    std::str::from_utf8(octets).or_else(|e| fail_at(at + e.valid_up_to(), "UTF-8"))
}
