//! Parsers for command lines (RFC 5321 §4.1, with the ESMTP extensions' arguments).
//!
//! Each parser takes one line without its CRLF. The line is checked to be UTF-8 once, by
//! the verbs whose arguments are text.
//!
//! The parsers work on offsets into the line: each production starts at an offset, returns
//! where it ended and its value, and the command is built once, in place, from the values.
//! Errors carry the offset where the input went wrong and what was expected there.

use std::borrow::Cow;

use crate::DecodeError;
use crate::grammar::{
    Fail, PResult, Step, all_digits, digits_u64, domain_at, domain_part_at, esmtp_keyword_end,
    esmtp_value_end, fail, fail_at, fold16, folded, mailbox_at, number_at, string,
};
use crate::types::{
    address::{Domain, DomainPart, ForwardPath, Mailbox, ReversePath},
    command::{AuthInitial, Command, HelloKind},
    params::{Body, DeliverBy, Hold, MailParams, Notify, Orcpt, RcptParams, Ret, UnknownParam},
    sasl::{Mechanism, Secret, is_base64},
    xtext::{XText, is_xtext},
};

/// The verb as a big-endian `u32` with ASCII letters upper-cased. A non-letter octet can
/// never map onto an upper-case letter, so comparing against the constants below needs no
/// separate letter check.
const fn verb4(v: [u8; 4]) -> u32 {
    u32::from_be_bytes(v) & !0x2020_2020
}

/// The four octets at `at` as [`verb4`] would read them, or `None` past the end.
#[inline]
fn word4(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(verb4(w))
}

const MAIL: u32 = verb4(*b"MAIL");
const RCPT: u32 = verb4(*b"RCPT");
const EHLO: u32 = verb4(*b"EHLO");
const HELO: u32 = verb4(*b"HELO");
const LHLO: u32 = verb4(*b"LHLO");
const DATA: u32 = verb4(*b"DATA");
const BDAT: u32 = verb4(*b"BDAT");
const RSET: u32 = verb4(*b"RSET");
const QUIT: u32 = verb4(*b"QUIT");
const NOOP: u32 = verb4(*b"NOOP");
const HELP: u32 = verb4(*b"HELP");
const VRFY: u32 = verb4(*b"VRFY");
const EXPN: u32 = verb4(*b"EXPN");
const AUTH: u32 = verb4(*b"AUTH");
const ETRN: u32 = verb4(*b"ETRN");
const FROM: u32 = verb4(*b"FROM");
const LAST: u32 = verb4(*b"LAST");

impl From<Fail> for DecodeError {
    #[inline]
    fn from(f: Fail) -> Self {
        Self::Syntax {
            at: f.at,
            expected: f.expected,
        }
    }
}

/// The arguments must end the line.
#[inline]
fn at_end(line: &str, end: usize) -> Result<(), Fail> {
    if end == line.len() {
        Ok(())
    } else {
        fail_at(end, "end of input")
    }
}

/// The line as text, or where its UTF-8 breaks.
#[inline]
pub(crate) fn utf8(line: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(line).map_err(|e| DecodeError::Syntax {
        at: e.valid_up_to(),
        expected: "UTF-8",
    })
}

/// [`utf8`] for a line that `raw` starts with: the check may run past the line
/// ([`crate::grammar::utf8_span`]).
#[inline]
fn text<'a>(line: &'a [u8], raw: &'a [u8]) -> Result<&'a str, DecodeError> {
    crate::grammar::utf8_span(raw, 0, 0, line.len()).map_err(|e| DecodeError::Syntax {
        at: e.valid_up_to(),
        expected: "UTF-8",
    })
}

/// `command = verb [SP arguments]`, dispatched on the verb (case-insensitive). `line` is the
/// line without its CRLF.
///
/// The command is built once, as `wrap`'s argument, so that a caller returning
/// `Ok((rest, command))` has it built where it is returned. Commands that carry no text
/// (QUIT, DATA, BDAT, ...) are parsed from the octets; the others from the line checked once
/// to be UTF-8. Invalid UTF-8 anywhere in a line is reported before any other error.
/// `raw` is the input the line was cut from (the line, or more).
#[inline]
pub(crate) fn command<'a, R>(
    line: &'a [u8],
    raw: &'a [u8],
    wrap: impl FnOnce(Command<'a>) -> R,
) -> Result<R, DecodeError> {
    // Every verb but STARTTLS has four letters: look at the fifth octet before searching.
    // `args` is the offset of the arguments, after the SP.
    let (verb_len, args) = match line.get(4) {
        None if line.len() == 4 => (4, None),
        Some(b' ') => (4, Some(5)),
        _ => match memchr::memchr(b' ', line) {
            Some(i) => (i, Some(i + 1)),
            None => (line.len(), None),
        },
    };
    let need = || {
        args.ok_or(Fail {
            at: line.len(),
            expected: "SP and arguments",
        })
    };
    // A verb without arguments; any error is reported after the UTF-8 check.
    let bare = |cmd: Command<'static>| match args {
        None => Ok(cmd),
        Some(at) => {
            utf8(line)?;
            Err(Fail {
                at,
                expected: "end of line",
            }
            .into())
        }
    };
    let unknown = || {
        utf8(line)?;
        Err(DecodeError::UnknownCommand)
    };
    if verb_len != 4 {
        if line[..verb_len].eq_ignore_ascii_case(b"STARTTLS") {
            return bare(Command::StartTls).map(wrap);
        }
        return unknown();
    }
    let Some(verb) = word4(line, 0) else {
        return unknown();
    };
    match verb {
        RCPT => rcpt(text(line, raw)?, raw, need()?, wrap),
        MAIL => mail(text(line, raw)?, raw, need()?, wrap),
        EHLO | HELO | LHLO => hello(text(line, raw)?, need()?, verb, wrap),
        DATA => bare(Command::Data).map(wrap),
        QUIT => bare(Command::Quit).map(wrap),
        RSET => bare(Command::Rset).map(wrap),
        BDAT => match bdat(line, need()?) {
            Ok((size, last)) => Ok(wrap(Command::Bdat { size, last })),
            Err(e) => {
                utf8(line)?;
                Err(e.into())
            }
        },
        NOOP if args.is_none() => Ok(wrap(Command::Noop { arg: None })),
        HELP if args.is_none() => Ok(wrap(Command::Help { topic: None })),
        NOOP | HELP | VRFY | EXPN | AUTH | ETRN => {
            let text = text(line, raw)?;
            let at = need()?;
            Ok(wrap(match verb {
                NOOP => Command::Noop {
                    arg: Some(string_arg(text, at)?),
                },
                HELP => Command::Help {
                    topic: Some(string_arg(text, at)?),
                },
                VRFY => Command::Vrfy {
                    arg: string_arg(text, at)?,
                },
                EXPN => Command::Expn {
                    arg: string_arg(text, at)?,
                },
                AUTH => {
                    let (mechanism, initial) = auth(text, at)?;
                    Command::Auth { mechanism, initial }
                }
                _ => Command::Etrn {
                    node: Cow::Borrowed(etrn_at(text, at)?),
                },
            }))
        }
        _ => unknown(),
    }
}

/// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
///         [SP Rcpt-parameters] CRLF`
///
/// Each command with large arguments is built in a function of its own, so that it is
/// written where it is returned instead of being copied there.
#[inline(never)]
fn rcpt<'a, R>(
    line: &'a str,
    raw: &'a [u8],
    at: usize,
    wrap: impl FnOnce(Command<'a>) -> R,
) -> Result<R, DecodeError> {
    let (i, to) = forward_path(line, at)?;
    let mut params = RcptParams::default();
    let end = esmtp_params(line, raw, i, |p| rcpt_param(&mut params, p))?;
    at_end(line, end)?;
    Ok(wrap(Command::Rcpt { to, params }))
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`
#[inline(never)]
fn mail<'a, R>(
    line: &'a str,
    raw: &'a [u8],
    at: usize,
    wrap: impl FnOnce(Command<'a>) -> R,
) -> Result<R, DecodeError> {
    let (i, from) = reverse_path(line, at)?;
    let mut params = MailParams::default();
    let end = esmtp_params(line, raw, i, |p| mail_param(&mut params, p))?;
    at_end(line, end)?;
    Ok(wrap(Command::Mail { from, params }))
}

/// ```text
/// ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
/// helo = "HELO" SP Domain CRLF
/// lhlo = "LHLO" SP ( Domain / address-literal ) CRLF      ; RFC 2033
/// ```
#[inline(never)]
fn hello<'a, R>(
    line: &'a str,
    at: usize,
    verb: u32,
    wrap: impl FnOnce(Command<'a>) -> R,
) -> Result<R, DecodeError> {
    let (kind, (end, host)) = match verb {
        HELO => (
            HelloKind::Helo,
            match domain_at(line, at) {
                Ok((end, d)) => (end, DomainPart::Domain(Domain::from_parsed(d))),
                Err(_) => {
                    return Err(DecodeError::from(Fail {
                        at,
                        expected: "Domain",
                    }));
                }
            },
        ),
        EHLO => (HelloKind::Ehlo, domain_part_at(line, at)?),
        _ => (HelloKind::Lhlo, domain_part_at(line, at)?),
    };
    at_end(line, end)?;
    Ok(wrap(Command::Hello { kind, host }))
}

/// ```text
/// Path      = "<" [ A-d-l ":" ] Mailbox ">"
/// A-d-l     = At-domain *( "," At-domain )
/// At-domain = "@" Domain
/// ```
/// The source route is checked and dropped (RFC 5321 §4.1.1.2, Appendix C).
#[inline]
fn path(line: &str, at: usize) -> Step<Mailbox<'_>> {
    let b = line.as_bytes();
    if b.get(at) != Some(&b'<') {
        return fail_at(at, "'<'");
    }
    let mut i = at + 1;
    if b.get(i) == Some(&b'@') {
        loop {
            if b.get(i) != Some(&b'@') {
                return fail_at(i, "At-domain");
            }
            let (after, _) = domain_at(line, i + 1).map_err(|_| Fail {
                at: i + 1,
                expected: "Domain",
            })?;
            match b.get(after) {
                Some(b',') => i = after + 1,
                Some(b':') => {
                    i = after + 1;
                    break;
                }
                _ => return fail_at(after, "',' or ':'"),
            }
        }
    }
    let (end, mbox) = mailbox_at(line, i)?;
    if b.get(end) != Some(&b'>') {
        return fail_at(end, "'>'");
    }
    Ok((end + 1, mbox))
}

/// One `esmtp-param`: the offsets of its keyword and value in the line.
#[derive(Clone, Copy)]
struct Param<'a> {
    line: &'a str,
    /// The input the line starts, for reading keywords a word at a time.
    raw: &'a [u8],
    kw: (usize, usize),
    value: Option<(usize, usize)>,
}

impl<'a> Param<'a> {
    /// The keyword as [`fold16`] reads it.
    #[inline]
    fn key(&self) -> Option<u128> {
        fold16(self.raw, self.kw.0, self.kw.1)
    }

    fn keyword(&self) -> &'a str {
        &self.line[self.kw.0..self.kw.1]
    }

    /// The value, required.
    #[inline]
    fn need(&self) -> Result<&'a str, &'static str> {
        self.value
            .map(|(a, e)| &self.line[a..e])
            .ok_or("'=' and a value")
    }

    /// The value's octets as [`fold16`] reads them, required.
    #[inline]
    fn need_key(&self) -> Result<Option<u128>, &'static str> {
        let (a, e) = self.value.ok_or("'=' and a value")?;
        Ok(fold16(self.raw, a, e))
    }

    /// Kept as an unknown parameter.
    fn unknown(&self) -> UnknownParam<'a> {
        UnknownParam {
            keyword: Cow::Borrowed(self.keyword()),
            value: self.value.map(|(a, e)| Cow::Borrowed(&self.line[a..e])),
        }
    }
}

/// ```text
/// Mail-parameters = esmtp-param *(SP esmtp-param)
/// esmtp-param     = esmtp-keyword ["=" esmtp-value]
/// ```
/// Calls `each` with every parameter, from offset `at` (where the first SP would be), and
/// returns where the last one ends. An error of `each` is reported at its keyword.
#[inline]
fn esmtp_params<'a>(
    line: &'a str,
    raw: &'a [u8],
    at: usize,
    mut each: impl FnMut(Param<'a>) -> Result<(), &'static str>,
) -> Result<usize, Fail> {
    let b = line.as_bytes();
    let mut i = at;
    while b.get(i) == Some(&b' ') {
        let kw_at = i + 1;
        let kw_end = esmtp_keyword_end(b, kw_at)?;
        let (end, value) = if b.get(kw_end) == Some(&b'=') {
            let end = esmtp_value_end(b, kw_end + 1)?;
            (end, Some((kw_end + 1, end)))
        } else {
            (kw_end, None)
        };
        each(Param {
            line,
            raw,
            kw: (kw_at, kw_end),
            value,
        })
        .map_err(|expected| Fail {
            at: kw_at,
            expected,
        })?;
        i = end;
    }
    Ok(i)
}

/// The `"FROM:" Reverse-path` of `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
/// CRLF`, with `Reverse-path = Path / "<>"`.
#[inline]
fn reverse_path(line: &str, at: usize) -> Step<ReversePath<'_>> {
    let b = line.as_bytes();
    if word4(b, at) != Some(FROM) || b.get(at + 4) != Some(&b':') {
        return fail_at(at, "FROM:");
    }
    let p = at + 5;
    if b.get(p..p + 2) == Some(b"<>") {
        return Ok((p + 2, ReversePath::Null));
    }
    match path(line, p) {
        Ok((i, m)) => Ok((i, ReversePath::Mailbox(m))),
        Err(_) => fail_at(p, "Reverse-path"),
    }
}

/// The `"TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )` of
/// `rcpt = "RCPT TO:" ( ... ) [SP Rcpt-parameters] CRLF`.
#[inline]
fn forward_path(line: &str, at: usize) -> Step<ForwardPath<'_>> {
    let b = line.as_bytes();
    if !b
        .get(at..at + 2)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"TO"))
        || b.get(at + 2) != Some(&b':')
    {
        return fail_at(at, "TO:");
    }
    let p = at + 3;
    if b.get(p..p + 12)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"<Postmaster>"))
    {
        return Ok((p + 12, ForwardPath::Postmaster));
    }
    match path(line, p) {
        Ok((i, m)) => Ok((i, ForwardPath::Mailbox(m))),
        Err(_) => fail_at(p, "Forward-path"),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), &'static str> {
    if slot.is_some() {
        return Err("each parameter at most once");
    }
    *slot = Some(value);
    Ok(())
}

fn set_flag(flag: &mut bool, has_value: bool) -> Result<(), &'static str> {
    if has_value {
        return Err("no value for this parameter");
    }
    if *flag {
        return Err("each parameter at most once");
    }
    *flag = true;
    Ok(())
}

fn xtext<'a>(p: &Param<'a>) -> Result<XText<'a>, &'static str> {
    let v = p.need()?;
    if is_xtext(v) {
        Ok(XText::from_parsed(v))
    } else {
        Err("xtext")
    }
}

/// The MAIL parameters [`mail_param`] interprets; any other keyword is kept as unknown.
pub(crate) const MAIL_KEYWORDS: &[&str] = &[
    "SIZE",
    "BODY",
    "SMTPUTF8",
    "REQUIRETLS",
    "RET",
    "ENVID",
    "AUTH",
    "MT-PRIORITY",
    "BY",
    "HOLDFOR",
    "HOLDUNTIL",
];

/// The RCPT parameters [`rcpt_param`] interprets.
pub(crate) const RCPT_KEYWORDS: &[&str] = &["NOTIFY", "ORCPT"];

/// `envid-value`: xtext of at most 100 characters (RFC 3461 §4.4).
pub(crate) const MAX_ENVID: usize = 100;

/// `by-time`: at most nine digits (RFC 2852 §4).
pub(crate) const MAX_BY_TIME: i64 = 999_999_999;

const SIZE: u128 = folded("SIZE");
const BODY: u128 = folded("BODY");
const SMTPUTF8: u128 = folded("SMTPUTF8");
const REQUIRETLS: u128 = folded("REQUIRETLS");
const RET: u128 = folded("RET");
const ENVID: u128 = folded("ENVID");
const AUTH_PARAM: u128 = folded("AUTH");
const MT_PRIORITY: u128 = folded("MT-PRIORITY");
const BY: u128 = folded("BY");
const HOLDFOR: u128 = folded("HOLDFOR");
const HOLDUNTIL: u128 = folded("HOLDUNTIL");
const SEVEN_BIT: u128 = folded("7BIT");
const EIGHT_BIT_MIME: u128 = folded("8BITMIME");
const BINARY_MIME: u128 = folded("BINARYMIME");
const FULL: u128 = folded("FULL");
const HDRS: u128 = folded("HDRS");
const NOTIFY: u128 = folded("NOTIFY");
const ORCPT: u128 = folded("ORCPT");

fn mail_param<'a>(p: &mut MailParams<'a>, param: Param<'a>) -> Result<(), &'static str> {
    match param.key() {
        Some(SIZE) => {
            // size-value = 1*20DIGIT (RFC 1870)
            let v = param.need()?.as_bytes();
            let n = (v.len() <= 20 && all_digits(v))
                .then(|| digits_u64(v))
                .flatten()
                .ok_or("SIZE=1*20DIGIT")?;
            set_once(&mut p.size, n)
        }
        Some(BODY) => {
            let body = match param.need_key()? {
                Some(SEVEN_BIT) => Body::SevenBit,
                Some(EIGHT_BIT_MIME) => Body::EightBitMime,
                Some(BINARY_MIME) => Body::BinaryMime,
                _ => return Err("BODY=7BIT, 8BITMIME or BINARYMIME"),
            };
            set_once(&mut p.body, body)
        }
        Some(SMTPUTF8) => set_flag(&mut p.smtputf8, param.value.is_some()),
        Some(REQUIRETLS) => set_flag(&mut p.requiretls, param.value.is_some()),
        Some(RET) => {
            let ret = match param.need_key()? {
                Some(FULL) => Ret::Full,
                Some(HDRS) => Ret::Hdrs,
                _ => return Err("RET=FULL or HDRS"),
            };
            set_once(&mut p.ret, ret)
        }
        Some(ENVID) => {
            // envid-value = xtext, at most 100 characters (RFC 3461 §4.4)
            let x = xtext(&param)?;
            if x.as_encoded().len() > MAX_ENVID {
                return Err("ENVID of at most 100 characters");
            }
            set_once(&mut p.envid, x)
        }
        Some(AUTH_PARAM) => set_once(&mut p.auth, xtext(&param)?),
        Some(MT_PRIORITY) => {
            // priority-value = %x2D %x39 / ... / [ %x2B ] %x39   (RFC 6710: -9 to 9)
            let (negative, d) = match *param.need()?.as_bytes() {
                [d] | [b'+', d] if d.is_ascii_digit() => (false, d),
                [b'-', d] if d.is_ascii_digit() => (true, d),
                _ => return Err("MT-PRIORITY=-9..9"),
            };
            let n = i8::try_from(d - b'0').map_err(|_| "MT-PRIORITY=-9..9")?;
            set_once(&mut p.mt_priority, if negative { -n } else { n })
        }
        Some(BY) => set_once(&mut p.by, deliver_by(param.need()?)?),
        Some(HOLDFOR) => {
            let v = param.need()?.as_bytes();
            let n = all_digits(v)
                .then(|| digits_u64(v))
                .flatten()
                .ok_or("HOLDFOR=1*DIGIT")?;
            set_once(&mut p.hold, Hold::For(n))
        }
        Some(HOLDUNTIL) => set_once(&mut p.hold, Hold::Until(Cow::Borrowed(param.need()?))),
        _ => {
            p.unknown.push(param.unknown());
            Ok(())
        }
    }
}

/// `by-value = by-time ";" by-mode [ by-trace ]`, `by-time = [ "-" / "+" ] 1*9digit`,
/// `by-mode = "N" / "R"`, `by-trace = "T"` (RFC 2852 §4)
fn deliver_by(v: &str) -> Result<DeliverBy, &'static str> {
    const WHAT: &str = "BY=time;N|R[T]";
    let (time, mode) = v.split_once(';').ok_or(WHAT)?;
    let digits = time.strip_prefix(['-', '+']).unwrap_or(time);
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WHAT);
    }
    let time: i64 = time.parse().map_err(|_| WHAT)?;
    // Case-insensitive without `to_ascii_uppercase`, which would allocate.
    let (mode, trace) = match mode.as_bytes() {
        [m] => (m.to_ascii_uppercase(), false),
        [m, b'T' | b't'] => (m.to_ascii_uppercase(), true),
        _ => return Err(WHAT),
    };
    let return_on_expiry = match mode {
        b'R' => true,
        b'N' => false,
        _ => return Err(WHAT),
    };
    Ok(DeliverBy {
        time,
        return_on_expiry,
        trace,
    })
}

fn rcpt_param<'a>(p: &mut RcptParams<'a>, param: Param<'a>) -> Result<(), &'static str> {
    match param.key() {
        Some(NOTIFY) => {
            let (a, e) = param.value.ok_or("'=' and a value")?;
            set_once(&mut p.notify, notify(param.raw, a, e)?)
        }
        Some(ORCPT) => {
            // orcpt-parameter = "ORCPT=" original-recipient-address
            // original-recipient-address = addr-type ";" xtext
            let v = param.need()?;
            let (addr_type, addr) = v.split_once(';').ok_or("ORCPT=addr-type;xtext")?;
            if crate::grammar::all_consuming(addr_type, crate::grammar::atom).is_err()
                || !is_xtext(addr)
            {
                return Err("ORCPT=addr-type;xtext");
            }
            set_once(
                &mut p.orcpt,
                Orcpt {
                    addr_type: Cow::Borrowed(addr_type),
                    addr: XText::from_parsed(addr),
                },
            )
        }
        _ => {
            p.unknown.push(param.unknown());
            Ok(())
        }
    }
}

/// `notify-esmtp-value = "NEVER" / 1#notify-list-element`,
/// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"` (RFC 3461 §4.1)
fn notify(b: &[u8], at: usize, end: usize) -> Result<Notify, &'static str> {
    const WHAT: &str = "NOTIFY=NEVER or SUCCESS,FAILURE,DELAY";
    const NEVER: u128 = folded("NEVER");
    const SUCCESS: u128 = folded("SUCCESS");
    const FAILURE: u128 = folded("FAILURE");
    const DELAY: u128 = folded("DELAY");
    if fold16(b, at, end) == Some(NEVER) {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    let mut item = at;
    loop {
        let comma = b[item..end]
            .iter()
            .position(|&c| c == b',')
            .map_or(end, |i| item + i);
        let slot = match fold16(b, item, comma) {
            Some(SUCCESS) => &mut success,
            Some(FAILURE) => &mut failure,
            Some(DELAY) => &mut delay,
            _ => return Err(WHAT),
        };
        if *slot {
            return Err(WHAT);
        }
        *slot = true;
        if comma == end {
            break;
        }
        item = comma + 1;
    }
    Ok(Notify::On {
        success,
        failure,
        delay,
    })
}

/// `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF`, `chunk-size = 1*DIGIT`,
/// `end-marker = "LAST"` (RFC 3030 §2)
#[inline]
fn bdat(line: &[u8], at: usize) -> Result<(u64, bool), Fail> {
    let (i, size) = number_at(line, at).map_err(|_| Fail {
        at,
        expected: "chunk-size",
    })?;
    let (end, last) = if line.get(i) == Some(&b' ') {
        if word4(line, i + 1) != Some(LAST) {
            return fail_at(i + 1, "LAST");
        }
        (i + 5, true)
    } else {
        (i, false)
    };
    if end != line.len() {
        return fail_at(end, "end of input");
    }
    Ok((size, last))
}

/// The argument of NOOP, HELP, VRFY and EXPN, the rest of the line:
/// `String = Atom / Quoted-string`.
///
/// VRFY and EXPN in the wild also carry `User Name <mailbox>` forms; RFC 5321 §3.5.1 lets the
/// server decide, so anything printable is kept as one argument when it is not a `String`.
fn string_arg(line: &str, at: usize) -> Result<Cow<'_, str>, Fail> {
    let input = &line[at..];
    if let Ok(("", s)) = string(input) {
        return Ok(Cow::Borrowed(s));
    }
    if !input.is_empty() && crate::grammar::is_text(input) && !input.starts_with(' ') {
        return Ok(Cow::Borrowed(input));
    }
    fail_at(at, "String")
}

/// `"AUTH" SP sasl-mech [SP initial-response]`, `initial-response = base64 / "="`
/// (RFC 4954 §4)
fn auth(line: &str, at: usize) -> Result<(Mechanism<'_>, Option<AuthInitial<'_>>), Fail> {
    let input = &line[at..];
    let (mech, initial) = match input.split_once(' ') {
        Some((m, i)) => (m, Some(i)),
        None => (input, None),
    };
    let Ok(mechanism) = Mechanism::new(mech) else {
        return fail_at(at, "sasl-mech");
    };
    let initial = match initial {
        None => None,
        Some("=") => Some(AuthInitial::Empty),
        Some(b) if !b.is_empty() && is_base64(b) => {
            Some(AuthInitial::Base64(Secret::new(Cow::Borrowed(b))))
        }
        Some(_) => return fail_at(at + mech.len() + 1, "initial-response (base64 or '=')"),
    };
    Ok((mechanism, initial))
}

/// `etrn = "ETRN" SP node-name`, `node-name = domain / "@" domain / "#" String` (RFC 1985);
/// the rest of the line from `at`.
fn etrn_at(line: &str, at: usize) -> Result<&str, Fail> {
    let input = &line[at..];
    let ok = if let Some(q) = input.strip_prefix('#') {
        crate::grammar::all_consuming(q, string).is_ok()
    } else {
        let from = at + usize::from(input.starts_with('@'));
        domain_at(line, from).is_ok_and(|(end, _)| end == line.len())
    };
    if !ok {
        return fail_at(at, "node-name");
    }
    Ok(input)
}

/// [`etrn_at`] as a nom parser, for the encoder's check.
pub(crate) fn etrn(input: &str) -> PResult<'_, Command<'_>> {
    match etrn_at(input, 0) {
        Ok(node) => Ok((
            "",
            Command::Etrn {
                node: Cow::Borrowed(node),
            },
        )),
        Err(f) => fail(&input[f.at..], f.expected),
    }
}

/// A line of a SASL exchange (RFC 4954 §4): `base64 / "*"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslLine<'a> {
    /// `*`: the client cancels the exchange.
    Cancel,
    /// The client's response, base64 (possibly empty).
    Response(Secret<Cow<'a, str>>),
}

pub(crate) fn sasl_line(line: &str) -> PResult<'_, SaslLine<'_>> {
    if line == "*" {
        return Ok(("", SaslLine::Cancel));
    }
    if is_base64(line) {
        return Ok(("", SaslLine::Response(Secret::new(Cow::Borrowed(line)))));
    }
    fail(line, "base64 or '*'")
}
