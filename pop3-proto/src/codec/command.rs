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
//! of the line. A line that is not UTF-8 fails as such before anything else (the caller
//! checks the whole line once a parser fails); where UTF-8 is allowed (user names,
//! passwords) the parsers validate it, so a line they accept is UTF-8 whole.

use std::borrow::Cow;

use crate::DecodeError;
use crate::grammar::is_language_tag;
use crate::types::{
    command::{AuthInitial, Command, MessageNumber},
    sasl::{Mechanism, Secret},
};

/// A position in a command line.
///
/// With `STREAM` false the line is the whole slice (its CRLF already split off). With
/// `STREAM` true the slice is the input itself (or its first `max_line` octets) and the line
/// ends at its first CR, so a command is parsed without searching for the line end first; no
/// production takes a CR (or an LF), so both read the same octets up to there and agree on
/// every line they accept.
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

    /// Moves past spaces that end the line, and says whether it did: Dovecot takes
    /// `LIST ` or `STAT ` (older clients and scripts send them) as without the space.
    fn skip_trailing_spaces(&mut self) -> bool {
        let mut end = self.pos;
        while self.input.get(end) == Some(&b' ') {
            end += 1;
        }
        let at_end = match self.input.get(end) {
            None => true,
            Some(b'\r') => STREAM,
            Some(_) => false,
        };
        if at_end {
            self.pos = end;
        }
        at_end
    }

    /// Takes the octets of `class` (which must not hold CR) from here on.
    #[inline]
    fn take_while(&mut self, class: impl Fn(u8) -> bool) -> &'a [u8] {
        debug_assert!(!class(b'\r') && !class(b'\n'));
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let len = rest.iter().position(|&b| !class(b)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
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

/// Octet classes of the longer arguments, as bits of a table indexed by octet: a run costs a
/// load and a test an octet instead of a chain of range comparisons.
mod class {
    /// `HEXDIG`, either case.
    pub(super) const HEXDIG: u8 = 1;
    /// `base64-char = ALPHA / DIGIT / "+" / "/"`
    pub(super) const BASE64: u8 = 2;
    /// A password's octets: HTAB, SP, printable ASCII, and the octets of non-ASCII UTF-8.
    pub(super) const TEXT: u8 = 4;

    static TABLE: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut b = 0usize;
        while b < 256 {
            #[allow(clippy::cast_possible_truncation)] // b < 256
            let c = b as u8;
            let mut v = 0;
            if c.is_ascii_hexdigit() {
                v |= HEXDIG;
            }
            if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
                v |= BASE64;
            }
            if c == b'\t' || (c >= b' ' && c <= b'~') || c >= 0x80 {
                v |= TEXT;
            }
            t[b] = v;
            b += 1;
        }
        t
    };

    /// Whether `b` is of `class`.
    pub(super) fn is(class: u8, b: u8) -> bool {
        TABLE[usize::from(b)] & class != 0
    }
}

/// `command = keyword *(SP param)`, dispatched on the keyword (case-insensitive, RFC 2449
/// §9), up to the end of the line. `max_arg` is the longest argument in characters.
#[inline]
pub(crate) fn command<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
    max_arg: usize,
) -> Result<Command<'a>, DecodeError> {
    let cmd = keyword_and_arguments(cur, max_arg)?;
    if !cur.skip_trailing_spaces() {
        return cur.fail("end of line");
    }
    Ok(cmd)
}

/// `keyword = 3*4VCHAR`: the keyword is every VCHAR up to the first other octet, so a known
/// word followed by one more VCHAR is an unknown keyword. The four octets are compared at
/// once, with A-Z folded to a-z: octets that fold to a letter are that letter in either case,
/// and the one digit (`8` of `UTF8`) is checked as it is.
///
/// Stops where the arguments do: the caller checks that the line ends there ([`command`],
/// or from a stream, that the CRLF follows).
#[inline]
pub(crate) fn keyword_and_arguments<'a, const S: bool>(
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
    let password = cur.take_while(|b| class::is(class::TEXT, b));
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
    let d = cur.take_while(|b| class::is(class::HEXDIG, b));
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
///
/// ```text
/// base64      = base64-terminal / ( 1*(4base64-char) [base64-terminal] )   ; RFC 5034 §4
/// base64-char = ALPHA / DIGIT / "+" / "/"
/// ```
/// Read in one pass as the base64-chars, then at most two `=`, four octets to a group.
fn initial_response<'a, const S: bool>(
    cur: &mut Cursor<'a, S>,
) -> Result<AuthInitial<'a>, DecodeError> {
    const EXPECTED: &str = "initial-response (base64 or '=')";
    let start = cur.pos;
    let chars = cur.take_while(|b| class::is(class::BASE64, b)).len();
    let pad = cur.take_while(|b| b == b'=').len();
    if !cur.at_end() {
        return fail_at(start, EXPECTED);
    }
    match (chars, pad) {
        (0, 1) => Ok(AuthInitial::Empty),
        (1.., 0..=2) if (chars + pad).is_multiple_of(4) => {
            let ir = utf8(&cur.input[start..cur.pos], start)?;
            Ok(AuthInitial::Base64(Secret::new(Cow::Borrowed(ir))))
        }
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
    if cur.skip_trailing_spaces() {
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

/// `"TOP" SP msg SP n`, `n = 1*DIGIT` (lines of the body, 0 for the header only). An `n`
/// past `u64::MAX` is taken as `u64::MAX`: more lines than any body has, which RFC 1939
/// §7 answers with the whole message.
#[inline]
fn top<'a, const S: bool>(cur: &mut Cursor<'a, S>) -> Result<Command<'a>, DecodeError> {
    let msg = required_msg(cur)?;
    sp(cur)?;
    let digits = cur.take_while(|b| b.is_ascii_digit());
    if digits.is_empty() {
        return fail_at(cur.pos, "number of lines");
    }
    let lines = digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, codec};

    fn n(i: u32) -> MessageNumber {
        MessageNumber::new(i).unwrap_or_else(|| panic!("{i}"))
    }

    /// Parses `line` both ways: as a line (no CRLF) and straight from a stream (CRLF and
    /// the next command after it). They must agree.
    fn parse(line: &[u8]) -> Result<Command<'_>, DecodeError> {
        let as_line = codec::parse_command_line(line, &Limits::default());
        let mut wire = line.to_vec();
        wire.extend_from_slice(b"\r\nNOOP\r\n");
        let streamed = codec::decode_command(&wire).map(|(rest, cmd)| {
            assert_eq!(rest, b"NOOP\r\n", "{:?}", String::from_utf8_lossy(line));
            cmd.into_owned()
        });
        assert_eq!(as_line, streamed, "{:?}", String::from_utf8_lossy(line));
        as_line
    }

    fn syntax(at: usize, expected: &'static str) -> DecodeError {
        DecodeError::Syntax { at, expected }
    }

    #[test]
    fn the_class_table_holds_each_class() {
        for b in 0..=u8::MAX {
            assert_eq!(class::is(class::HEXDIG, b), b.is_ascii_hexdigit(), "{b:#x}");
            let base64 = b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
            assert_eq!(class::is(class::BASE64, b), base64, "{b:#x}");
            let text = b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80;
            assert_eq!(class::is(class::TEXT, b), text, "{b:#x}");
        }
    }

    #[test]
    fn keywords_ignore_case_in_every_octet() {
        let words: [(&[u8], Command<'static>); 17] = [
            (b"USER a", Command::User { name: "a".into() }),
            (
                b"PASS a",
                Command::Pass {
                    password: Secret::new("a".into()),
                },
            ),
            (
                b"APOP a c4c9334bac560ecc979e58001b3e22fb",
                Command::Apop {
                    name: "a".into(),
                    digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
                },
            ),
            (b"AUTH", Command::AuthList),
            (b"QUIT", Command::Quit),
            (b"STAT", Command::Stat),
            (b"LIST", Command::List { msg: None }),
            (b"RETR 1", Command::Retr { msg: n(1) }),
            (b"DELE 1", Command::Dele { msg: n(1) }),
            (b"NOOP", Command::Noop),
            (b"RSET", Command::Rset),
            (
                b"TOP 1 2",
                Command::Top {
                    msg: n(1),
                    lines: 2,
                },
            ),
            (b"UIDL", Command::Uidl { msg: None }),
            (b"CAPA", Command::Capa),
            (b"STLS", Command::Stls),
            (b"UTF8", Command::Utf8),
            (b"LANG", Command::Lang { range: None }),
        ];
        for (line, want) in words {
            let len = if line.starts_with(b"TOP") { 3 } else { 4 };
            for mask in 0..1u32 << len {
                let mut line = line.to_vec();
                for (i, b) in line[..len].iter_mut().enumerate() {
                    if mask & 1 << i != 0 {
                        *b = b.to_ascii_lowercase();
                    }
                }
                assert_eq!(parse(&line), Ok(want.clone()));
            }
        }
    }

    #[test]
    fn a_keyword_is_every_vchar_up_to_the_first_other_octet() {
        for line in [
            &b"QUITX"[..],
            b"QUIT1",
            b"TOPX 1 2",
            b"TOP1 2",
            b"QUI",
            b"TO",
            b"",
            b" QUIT",
            b"\tQUIT",
            b"QU\tT",
            b"\xc3\xa9TAT",
            // 0x18 folds onto the `8` of UTF8 (0x38) without being it.
            b"UTF\x18",
        ] {
            assert_eq!(
                parse(line),
                Err(DecodeError::UnknownCommand),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        // Ended by an octet that is not a VCHAR, the keyword stands and the octet is refused.
        assert_eq!(parse(b"QUIT\t"), Err(syntax(4, "end of line")));
        assert_eq!(parse(b"LIST\t1"), Err(syntax(4, "SP")));
        assert_eq!(parse(b"TOP\t1 2"), Err(syntax(3, "SP")));
        assert_eq!(parse(b"AUTH\x01"), Err(syntax(4, "SP")));
        assert_eq!(parse(b"RETR\x7f1"), Err(syntax(4, "SP")));
        assert_eq!(
            parse("STAT\u{e9}".as_bytes()),
            Err(syntax(4, "end of line"))
        );
    }

    #[test]
    fn every_command_with_its_arguments() {
        let table: [(&[u8], Command<'static>); 17] = [
            (
                b"USER mrose",
                Command::User {
                    name: "mrose".into(),
                },
            ),
            (
                "USER j\u{f6}rg".as_bytes(),
                Command::User {
                    name: "j\u{f6}rg".into(),
                },
            ),
            (
                b"PASS  two  spaces ",
                Command::Pass {
                    password: Secret::new(" two  spaces ".into()),
                },
            ),
            (
                "PASS \u{e9}t\u{e9}\tx".as_bytes(),
                Command::Pass {
                    password: Secret::new("\u{e9}t\u{e9}\tx".into()),
                },
            ),
            (
                b"AUTH PLAIN",
                Command::Auth {
                    mechanism: Mechanism::PLAIN,
                    initial: None,
                },
            ),
            (
                b"AUTH plain =",
                Command::Auth {
                    mechanism: Mechanism::PLAIN,
                    initial: Some(AuthInitial::Empty),
                },
            ),
            (
                b"AUTH PLAIN AB==",
                Command::Auth {
                    mechanism: Mechanism::PLAIN,
                    initial: Some(AuthInitial::Base64(Secret::new("AB==".into()))),
                },
            ),
            (
                b"AUTH PLAIN a+/9ABC=",
                Command::Auth {
                    mechanism: Mechanism::PLAIN,
                    initial: Some(AuthInitial::Base64(Secret::new("a+/9ABC=".into()))),
                },
            ),
            (b"LIST 42", Command::List { msg: Some(n(42)) }),
            (b"UIDL 007", Command::Uidl { msg: Some(n(7)) }),
            (b"RETR 4294967295", Command::Retr { msg: n(u32::MAX) }),
            (b"DELE 3", Command::Dele { msg: n(3) }),
            (
                b"TOP 2 18446744073709551615",
                Command::Top {
                    msg: n(2),
                    lines: u64::MAX,
                },
            ),
            (
                b"TOP 2 18446744073709551616",
                Command::Top {
                    msg: n(2),
                    lines: u64::MAX,
                },
            ),
            (
                b"LANG *",
                Command::Lang {
                    range: Some("*".into()),
                },
            ),
            (
                b"LANG de-CH",
                Command::Lang {
                    range: Some("de-CH".into()),
                },
            ),
            (
                b"APOP j\xc3\xb6rg C4C9334BAC560ECC979E58001B3E22FB",
                Command::Apop {
                    name: "j\u{f6}rg".into(),
                    digest: "C4C9334BAC560ECC979E58001B3E22FB".into(),
                },
            ),
        ];
        for (line, want) in table {
            assert_eq!(parse(line), Ok(want), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn trailing_spaces_are_taken() {
        assert_eq!(parse(b"QUIT "), Ok(Command::Quit));
        assert_eq!(parse(b"STAT  "), Ok(Command::Stat));
        assert_eq!(parse(b"LIST "), Ok(Command::List { msg: None }));
        assert!(matches!(
            parse(b"LIST 1 "),
            Ok(Command::List { msg: Some(_) })
        ));
        assert!(matches!(parse(b"TOP 1 2 "), Ok(Command::Top { .. })));
        // A password is the rest of the line, its spaces included.
        assert!(
            matches!(parse(b"PASS a b "), Ok(Command::Pass { password }) if password.expose() == "a b ")
        );
    }

    #[test]
    fn bad_arguments_say_what_and_where() {
        let table: [(&[u8], DecodeError); 15] = [
            // Extra or missing spaces (spaces ending the line are taken, as Dovecot takes
            // them: `trailing_spaces_are_taken`).
            (b"RETR  1", syntax(5, "message number")),
            (b"TOP 1  2", syntax(6, "number of lines")),
            (b"USER  a", syntax(5, "param")),
            (
                b"APOP a  c4c9334bac560ecc979e58001b3e22fb",
                syntax(7, "digest"),
            ),
            (b"AUTH  PLAIN", syntax(5, "sasl-mech")),
            (
                b"AUTH PLAIN  AB==",
                syntax(11, "initial-response (base64 or '=')"),
            ),
            (b"LANG  en", syntax(5, "param")),
            // Numbers.
            (b"DELE 0", syntax(5, "message number from 1 to 4294967295")),
            // Base64: at most two '=', four octets to a group, '=' alone only by itself.
            (
                b"AUTH PLAIN A===",
                syntax(11, "initial-response (base64 or '=')"),
            ),
            (
                b"AUTH PLAIN ==",
                syntax(11, "initial-response (base64 or '=')"),
            ),
            (
                b"AUTH PLAIN AB=A",
                syntax(11, "initial-response (base64 or '=')"),
            ),
            (
                b"AUTH PLAIN ABC",
                syntax(11, "initial-response (base64 or '=')"),
            ),
            // Non-ASCII where only ASCII goes, and text that is not UTF-8 (which comes first).
            ("LANG \u{e9}".as_bytes(), syntax(5, "param")),
            (b"RETR 1 \xff", syntax(7, "UTF-8")),
            (b"\xc3QUIT", syntax(0, "UTF-8")),
        ];
        for (line, want) in table {
            assert_eq!(
                parse(line),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(parse(b"USER j\xc3("), Err(syntax(6, "UTF-8")));
        assert_eq!(parse(b"PASS \xff"), Err(syntax(5, "UTF-8")));
        assert_eq!(parse(b"APOP \xe4\xb8 x"), Err(syntax(5, "UTF-8")));
    }

    #[test]
    fn arguments_are_counted_in_characters() {
        let limits = Limits {
            max_argument: 40,
            ..Limits::default()
        };
        let parse = |line: &[u8]| codec::parse_command_line(line, &limits).map(|_| ());
        let ok = format!("USER {}", "\u{f6}".repeat(40));
        assert!(parse(ok.as_bytes()).is_ok());
        let long = format!("USER {}", "\u{f6}".repeat(41));
        assert_eq!(
            parse(long.as_bytes()),
            Err(DecodeError::ArgumentTooLong { at: 5, max: 40 })
        );
        let long = format!("LANG {}", "a".repeat(41));
        assert_eq!(
            parse(long.as_bytes()),
            Err(DecodeError::ArgumentTooLong { at: 5, max: 40 })
        );
        // By default a login name as long as a full address is taken.
        let address = format!("USER {}@example.org", "firstname.lastname.department");
        assert!(codec::parse_command_line(address.as_bytes(), &Limits::default()).is_ok());
    }

    /// A line given without its CRLF ends where the slice does: a CR in it is an octet like
    /// any other that no production takes, not the end of the line.
    #[test]
    fn a_cr_inside_a_given_line_is_refused() {
        let limits = Limits::default();
        for (line, want) in [
            (&b"QUIT\r"[..], syntax(4, "end of line")),
            (b"LIST\rX", syntax(4, "SP")),
            (b"AUTH PLAIN\r", syntax(10, "SP")),
            (b"PASS a\rb", syntax(5, "password of printable characters")),
        ] {
            assert_eq!(codec::parse_command_line(line, &limits), Err(want));
        }
    }

    /// Parsed straight from the input, a command the grammar takes is returned only when its
    /// CRLF follows within the line limit; anything else is framed as before.
    #[test]
    fn from_the_stream_a_command_needs_its_crlf_within_the_limit() {
        let table: [(&[u8], DecodeError); 9] = [
            (b"RETR 1", DecodeError::Incomplete),
            (b"RETR 1\r", DecodeError::Incomplete),
            (b"QUIT", DecodeError::Incomplete),
            (b"TOP", DecodeError::Incomplete),
            (b"RETR 1\n", DecodeError::BareLineEnding),
            (b"RETR 1\nQUIT\r\n", DecodeError::BareLineEnding),
            (b"QUIT\rX\r\n", DecodeError::BareLineEnding),
            (b"QUIT\r\r\n", DecodeError::BareLineEnding),
            (b"RETR 1\r\r\n", DecodeError::BareLineEnding),
        ];
        for (wire, want) in table {
            assert_eq!(
                codec::decode_command(wire).map(|(_, c)| c),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        // 255 octets with the CRLF fit; 256 do not, though the command itself is fine.
        let fits = format!("PASS {}\r\n", "p".repeat(248));
        assert!(codec::decode_command(fits.as_bytes()).is_ok());
        let long = format!("PASS {}\r\n", "p".repeat(249));
        assert_eq!(
            codec::decode_command(long.as_bytes()).map(|(_, c)| c),
            Err(DecodeError::LineTooLong { max: 255 })
        );
        // Without an end in sight, over the limit is too long already.
        let endless = format!("PASS {}", "p".repeat(1000));
        assert_eq!(
            codec::decode_command(endless.as_bytes()).map(|(_, c)| c),
            Err(DecodeError::LineTooLong { max: 255 })
        );
        let limits = Limits {
            max_command_line: 8,
            ..Limits::default()
        };
        assert!(codec::decode_command_with(b"RETR 1\r\n", &limits).is_ok());
        assert_eq!(
            codec::decode_command_with(b"RETR 12\r\n", &limits).map(|(_, c)| c),
            Err(DecodeError::LineTooLong { max: 8 })
        );
    }
}
