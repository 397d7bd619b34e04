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
    Fail, Host, MailboxAt, PResult, Step, Text, all_digits, digits_u64, domain_at, domain_end,
    esmtp_keyword_end, esmtp_value_end, fail, fail_at, fold16, folded, host_at, is_base64,
    is_xtext, mailbox_spans, number_at, string,
};
use crate::types::{
    address::{ForwardPath, ReversePath},
    command::{AuthInitial, Command, HelloKind},
    params::{Body, DeliverBy, Hold, MailParams, Notify, Orcpt, RcptParams, Ret, UnknownParam},
    sasl::{Mechanism, Secret},
    xtext::XText,
};

/// The verb as a big-endian `u32` with ASCII letters upper-cased. A non-letter octet can
/// never map onto an upper-case letter, so comparing against the constants below needs no
/// separate letter check.
const fn verb4(v: [u8; 4]) -> u32 {
    u32::from_be_bytes(v) & !0x2020_2020
}

/// The four octets at `at` as [`verb4`] would read them, or `None` past the end.
#[inline]
pub(crate) fn word4(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(verb4(w))
}

pub(crate) const MAIL: u32 = verb4(*b"MAIL");
pub(crate) const RCPT: u32 = verb4(*b"RCPT");
pub(crate) const EHLO: u32 = verb4(*b"EHLO");
pub(crate) const HELO: u32 = verb4(*b"HELO");
pub(crate) const LHLO: u32 = verb4(*b"LHLO");
pub(crate) const DATA: u32 = verb4(*b"DATA");
pub(crate) const BDAT: u32 = verb4(*b"BDAT");
pub(crate) const RSET: u32 = verb4(*b"RSET");
pub(crate) const QUIT: u32 = verb4(*b"QUIT");
pub(crate) const NOOP: u32 = verb4(*b"NOOP");
pub(crate) const HELP: u32 = verb4(*b"HELP");
pub(crate) const VRFY: u32 = verb4(*b"VRFY");
pub(crate) const EXPN: u32 = verb4(*b"EXPN");
pub(crate) const AUTH: u32 = verb4(*b"AUTH");
pub(crate) const ETRN: u32 = verb4(*b"ETRN");
pub(crate) const FROM: u32 = verb4(*b"FROM");
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
fn at_end(line: &[u8], end: usize) -> Result<(), Fail> {
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
/// This is the exact parser: [`one_pass`] handles the common lines before they are framed
/// and leaves the rest, errors included, to this one. Invalid UTF-8 anywhere in a line is
/// reported before any other error. `raw` is the input the line was cut from (the line, or
/// more).
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
    // The text of the line, from offset 0.
    let line_text = || text(line, raw).map(|s| Text { s, base: 0 });
    // Any spans the parsers return lie inside the line, at ASCII octets.
    let built = || DecodeError::Syntax {
        at: 0,
        expected: "UTF-8",
    };
    match verb {
        RCPT => {
            let t = line_text()?;
            let (end, to, params) = rcpt_args(line, raw, need()?)?;
            at_end(line, end)?;
            let to = to.build(t).ok_or_else(built)?;
            let params = params.build(t, line, raw).ok_or_else(built)?;
            Ok(wrap(Command::Rcpt { to, params }))
        }
        MAIL => {
            let t = line_text()?;
            let (end, from, params) = mail_args(line, raw, need()?)?;
            at_end(line, end)?;
            let from = from.build(t).ok_or_else(built)?;
            let params = params.build(t, line, raw).ok_or_else(built)?;
            Ok(wrap(Command::Mail { from, params }))
        }
        EHLO | HELO | LHLO => {
            let t = line_text()?;
            let (end, kind, host) = hello_args(line, need()?, verb)?;
            at_end(line, end)?;
            let host = host.build(t).ok_or_else(built)?;
            Ok(wrap(Command::Hello { kind, host }))
        }
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
            Ok(wrap(text_command(verb, text, at)?))
        }
        _ => unknown(),
    }
}

/// The commands whose argument is the rest of the line as text (NOOP, HELP, VRFY, EXPN,
/// AUTH, ETRN), from offset `at` of `text`.
#[inline]
pub(crate) fn text_command(verb: u32, text: &str, at: usize) -> Result<Command<'_>, Fail> {
    Ok(match verb {
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
    })
}

/// The arguments of `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
/// Forward-path ) [SP Rcpt-parameters] CRLF`, from offset `at`: where they end, and what
/// they are.
#[inline]
pub(crate) fn rcpt_args(b: &[u8], raw: &[u8], at: usize) -> Result<(usize, ToAt, RcptArgs), Fail> {
    let (i, to) = forward_path(b, at)?;
    let mut params = RcptArgs {
        at: i,
        ..RcptArgs::default()
    };
    let end = esmtp_params(b, i, |p| rcpt_param(&mut params, raw, p))?;
    Ok((end, to, params))
}

/// The arguments of `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`, from
/// offset `at`.
#[inline]
pub(crate) fn mail_args(
    b: &[u8],
    raw: &[u8],
    at: usize,
) -> Result<(usize, FromAt, MailArgs), Fail> {
    let (i, from) = reverse_path(b, at)?;
    let (end, params) = mail_params(b, raw, i)?;
    Ok((end, from, params))
}

/// `[SP Mail-parameters]` from offset `at`: where they end, and what they are.
#[inline]
pub(crate) fn mail_params(b: &[u8], raw: &[u8], at: usize) -> Result<(usize, MailArgs), Fail> {
    let mut params = MailArgs {
        at,
        ..MailArgs::default()
    };
    let end = esmtp_params(b, at, |p| mail_param(&mut params, raw, p))?;
    Ok((end, params))
}

/// ```text
/// ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
/// helo = "HELO" SP Domain CRLF
/// lhlo = "LHLO" SP ( Domain / address-literal ) CRLF      ; RFC 2033
/// ```
/// The argument from offset `at`.
#[inline]
pub(crate) fn hello_args(b: &[u8], at: usize, verb: u32) -> Result<(usize, HelloKind, Host), Fail> {
    Ok(match verb {
        HELO => match domain_end(b, at) {
            Ok(end) => (end, HelloKind::Helo, Host::Domain(at, end)),
            Err(_) => return fail_at(at, "Domain"),
        },
        EHLO => {
            let (end, host) = host_at(b, at)?;
            (end, HelloKind::Ehlo, host)
        }
        _ => {
            let (end, host) = host_at(b, at)?;
            (end, HelloKind::Lhlo, host)
        }
    })
}

/// ```text
/// Path      = "<" [ A-d-l ":" ] Mailbox ">"
/// A-d-l     = At-domain *( "," At-domain )
/// At-domain = "@" Domain
/// ```
/// The source route is checked and dropped (RFC 5321 §4.1.1.2, Appendix C). Its callers
/// report any error at the path's start, so there is no detail to keep.
#[inline]
fn path(b: &[u8], at: usize) -> Option<(usize, MailboxAt)> {
    if b.get(at) != Some(&b'<') {
        return None;
    }
    let mut i = at + 1;
    if b.get(i) == Some(&b'@') {
        loop {
            if b.get(i) != Some(&b'@') {
                return None;
            }
            let after = domain_end(b, i + 1).ok()?;
            match b.get(after) {
                Some(b',') => i = after + 1,
                Some(b':') => {
                    i = after + 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    let (end, mbox) = mailbox_spans(b, i).ok()?;
    if b.get(end) != Some(&b'>') {
        return None;
    }
    Some((end + 1, mbox))
}

/// One `esmtp-param`: the offsets of its keyword and value in the line.
#[derive(Clone, Copy)]
pub(crate) struct Param {
    kw: (usize, usize),
    value: Option<(usize, usize)>,
}

impl Param {
    /// The keyword as [`fold16`] reads it from `raw`, the input the line starts (read a
    /// word at a time).
    #[inline]
    fn key(&self, raw: &[u8]) -> Option<u128> {
        fold16(raw, self.kw.0, self.kw.1)
    }

    /// The value's offsets, required.
    #[inline]
    fn need(&self) -> Result<(usize, usize), &'static str> {
        self.value.ok_or("'=' and a value")
    }

    /// The value's octets, required.
    #[inline]
    fn need_octets<'r>(&self, raw: &'r [u8]) -> Result<&'r [u8], &'static str> {
        let (a, e) = self.need()?;
        raw.get(a..e).ok_or("'=' and a value")
    }

    /// The value's octets as [`fold16`] reads them, required.
    #[inline]
    fn need_key(&self, raw: &[u8]) -> Result<Option<u128>, &'static str> {
        let (a, e) = self.need()?;
        Ok(fold16(raw, a, e))
    }
}

/// ```text
/// Mail-parameters = esmtp-param *(SP esmtp-param)
/// esmtp-param     = esmtp-keyword ["=" esmtp-value]
/// ```
/// Calls `each` with every parameter, from offset `at` (where the first SP would be), and
/// returns where the last one ends. An error of `each` is reported at its keyword.
#[inline]
fn esmtp_params(
    b: &[u8],
    at: usize,
    mut each: impl FnMut(Param) -> Result<(), &'static str>,
) -> Result<usize, Fail> {
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

/// The parameters of a line that [`esmtp_params`] parsed without error, from offset `at`,
/// with `keep` choosing those to collect.
fn unknown_params<'a>(
    t: Text<'a>,
    b: &[u8],
    raw: &[u8],
    at: usize,
    keep: impl Fn(Option<u128>) -> bool,
) -> Option<Vec<UnknownParam<'a>>> {
    let mut out = Vec::new();
    let mut failed = false;
    let _ = esmtp_params(b, at, |p| {
        if keep(p.key(raw)) {
            let keyword = t.get(p.kw.0, p.kw.1);
            let value = p.value.map(|(a, e)| t.get(a, e));
            match (keyword, value) {
                (Some(k), None) => out.push(UnknownParam {
                    keyword: Cow::Borrowed(k),
                    value: None,
                }),
                (Some(k), Some(Some(v))) => out.push(UnknownParam {
                    keyword: Cow::Borrowed(k),
                    value: Some(Cow::Borrowed(v)),
                }),
                _ => failed = true,
            }
        }
        Ok(())
    });
    (!failed).then_some(out)
}

/// `Reverse-path = Path / "<>"`, as offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FromAt {
    Null,
    Mailbox(MailboxAt),
}

impl FromAt {
    #[inline]
    pub(crate) fn build(self, t: Text<'_>) -> Option<ReversePath<'_>> {
        Some(match self {
            Self::Null => ReversePath::Null,
            Self::Mailbox(m) => ReversePath::Mailbox(m.build(t)?),
        })
    }
}

/// The forward path of RCPT, as offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ToAt {
    Postmaster,
    Mailbox(MailboxAt),
}

impl ToAt {
    #[inline]
    pub(crate) fn build(self, t: Text<'_>) -> Option<ForwardPath<'_>> {
        Some(match self {
            Self::Postmaster => ForwardPath::Postmaster,
            Self::Mailbox(m) => ForwardPath::Mailbox(m.build(t)?),
        })
    }
}

/// The `"FROM:" Reverse-path` of `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
/// CRLF`, with `Reverse-path = Path / "<>"`.
#[inline]
fn reverse_path(b: &[u8], at: usize) -> Step<FromAt> {
    if word4(b, at) != Some(FROM) || b.get(at + 4) != Some(&b':') {
        return fail_at(at, "FROM:");
    }
    let p = at + 5;
    if b.get(p..p + 2) == Some(b"<>") {
        return Ok((p + 2, FromAt::Null));
    }
    match path(b, p) {
        Some((i, m)) => Ok((i, FromAt::Mailbox(m))),
        None => fail_at(p, "Reverse-path"),
    }
}

/// The `"TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )` of
/// `rcpt = "RCPT TO:" ( ... ) [SP Rcpt-parameters] CRLF`.
#[inline]
fn forward_path(b: &[u8], at: usize) -> Step<ToAt> {
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
        return Ok((p + 12, ToAt::Postmaster));
    }
    match path(b, p) {
        Some((i, m)) => Ok((i, ToAt::Mailbox(m))),
        None => fail_at(p, "Forward-path"),
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

/// An xtext value's offsets.
fn xtext(p: &Param, raw: &[u8]) -> Result<(usize, usize), &'static str> {
    if is_xtext(p.need_octets(raw)?) {
        p.need()
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
pub(crate) const NOTIFY: u128 = folded("NOTIFY");
pub(crate) const ORCPT: u128 = folded("ORCPT");

/// Whether [`mail_param`] interprets the keyword `key` ([`fold16`]).
fn is_mail_keyword(key: Option<u128>) -> bool {
    matches!(
        key,
        Some(
            SIZE | BODY
                | SMTPUTF8
                | REQUIRETLS
                | RET
                | ENVID
                | AUTH_PARAM
                | MT_PRIORITY
                | BY
                | HOLDFOR
                | HOLDUNTIL
        )
    )
}

/// The MAIL parameters as [`mail_param`] reads them, the text ones as offsets.
#[derive(Debug, Default)]
pub(crate) struct MailArgs {
    size: Option<u64>,
    body: Option<Body>,
    smtputf8: bool,
    ret: Option<Ret>,
    envid: Option<(usize, usize)>,
    auth: Option<(usize, usize)>,
    mt_priority: Option<i8>,
    by: Option<DeliverBy>,
    hold: Option<HoldAt>,
    requiretls: bool,
    /// Whether there is any parameter [`mail_param`] does not interpret.
    unknown: bool,
    /// Where the parameters start.
    at: usize,
}

/// `HOLDFOR=` or `HOLDUNTIL=` (with the offsets of its value).
#[derive(Debug, Clone, Copy)]
enum HoldAt {
    For(u64),
    Until(usize, usize),
}

impl MailArgs {
    /// The parameters, with their text from `t`; `b` and `raw` as [`mail_args`] read them.
    #[inline]
    pub(crate) fn build<'a>(self, t: Text<'a>, b: &[u8], raw: &[u8]) -> Option<MailParams<'a>> {
        let xtext = |s: Option<(usize, usize)>| match s {
            None => Some(None),
            Some((a, e)) => Some(Some(XText::from_parsed(t.get(a, e)?))),
        };
        Some(MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: xtext(self.envid)?,
            auth: xtext(self.auth)?,
            mt_priority: self.mt_priority,
            by: self.by,
            hold: match self.hold {
                None => None,
                Some(HoldAt::For(n)) => Some(Hold::For(n)),
                Some(HoldAt::Until(a, e)) => Some(Hold::Until(Cow::Borrowed(t.get(a, e)?))),
            },
            requiretls: self.requiretls,
            unknown: if self.unknown {
                unknown_params(t, b, raw, self.at, |k| !is_mail_keyword(k))?
            } else {
                Vec::new()
            },
        })
    }
}

fn mail_param(p: &mut MailArgs, raw: &[u8], param: Param) -> Result<(), &'static str> {
    match param.key(raw) {
        Some(SIZE) => {
            // size-value = 1*20DIGIT (RFC 1870): twenty digits may be past u64, which is
            // still a size (over any limit: 552, §6), not a syntax error.
            let v = param.need_octets(raw)?;
            let n = (v.len() <= 20 && all_digits(v))
                .then(|| digits_u64(v).unwrap_or(u64::MAX))
                .ok_or("SIZE=1*20DIGIT")?;
            set_once(&mut p.size, n)
        }
        Some(BODY) => {
            let body = match param.need_key(raw)? {
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
            let ret = match param.need_key(raw)? {
                Some(FULL) => Ret::Full,
                Some(HDRS) => Ret::Hdrs,
                _ => return Err("RET=FULL or HDRS"),
            };
            set_once(&mut p.ret, ret)
        }
        Some(ENVID) => {
            // envid-value = xtext, at most 100 characters (RFC 3461 §4.4)
            let (a, e) = xtext(&param, raw)?;
            if e - a > MAX_ENVID {
                return Err("ENVID of at most 100 characters");
            }
            set_once(&mut p.envid, (a, e))
        }
        Some(AUTH_PARAM) => set_once(&mut p.auth, xtext(&param, raw)?),
        Some(MT_PRIORITY) => {
            // priority-value = %x2D %x39 / ... / [ %x2B ] %x39   (RFC 6710: -9 to 9)
            let (negative, d) = match *param.need_octets(raw)? {
                [d] | [b'+', d] if d.is_ascii_digit() => (false, d),
                [b'-', d] if d.is_ascii_digit() => (true, d),
                _ => return Err("MT-PRIORITY=-9..9"),
            };
            let n = i8::try_from(d - b'0').map_err(|_| "MT-PRIORITY=-9..9")?;
            set_once(&mut p.mt_priority, if negative { -n } else { n })
        }
        Some(BY) => set_once(&mut p.by, deliver_by(param.need_octets(raw)?)?),
        Some(HOLDFOR) => {
            let v = param.need_octets(raw)?;
            let n = all_digits(v)
                .then(|| digits_u64(v))
                .flatten()
                .ok_or("HOLDFOR=1*DIGIT")?;
            set_once(&mut p.hold, HoldAt::For(n))
        }
        Some(HOLDUNTIL) => {
            let (a, e) = param.need()?;
            set_once(&mut p.hold, HoldAt::Until(a, e))
        }
        _ => {
            p.unknown = true;
            Ok(())
        }
    }
}

/// `by-value = by-time ";" by-mode [ by-trace ]`, `by-time = [ "-" / "+" ] 1*9digit`,
/// `by-mode = "N" / "R"`, `by-trace = "T"` (RFC 2852 §4)
fn deliver_by(v: &[u8]) -> Result<DeliverBy, &'static str> {
    const WHAT: &str = "BY=time;N|R[T]";
    let semi = memchr::memchr(b';', v).ok_or(WHAT)?;
    let (time, mode) = (&v[..semi], &v[semi + 1..]);
    let (negative, digits) = match time {
        [b'-', d @ ..] => (true, d),
        [b'+', d @ ..] | d => (false, d),
    };
    if digits.is_empty() || digits.len() > 9 || !all_digits(digits) {
        return Err(WHAT);
    }
    let n = i64::try_from(digits_u64(digits).ok_or(WHAT)?).map_err(|_| WHAT)?;
    let time = if negative { -n } else { n };
    let (mode, trace) = match mode {
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

/// The RCPT parameters as [`rcpt_param`] reads them, the text ones as offsets.
#[derive(Debug, Default)]
pub(crate) struct RcptArgs {
    notify: Option<Notify>,
    /// The offsets of `addr-type` and of the xtext.
    orcpt: Option<OrcptAt>,
    unknown: bool,
    at: usize,
}

impl RcptArgs {
    /// The parameters, with their text from `t`; `b` and `raw` as [`rcpt_args`] read them.
    #[inline]
    pub(crate) fn build<'a>(self, t: Text<'a>, b: &[u8], raw: &[u8]) -> Option<RcptParams<'a>> {
        Some(RcptParams {
            notify: self.notify,
            orcpt: match self.orcpt {
                None => None,
                Some(at) => Some(orcpt_value(t, at)?),
            },
            unknown: if self.unknown {
                unknown_params(t, b, raw, self.at, |k| !matches!(k, Some(NOTIFY | ORCPT)))?
            } else {
                Vec::new()
            },
        })
    }
}

fn rcpt_param(p: &mut RcptArgs, raw: &[u8], param: Param) -> Result<(), &'static str> {
    match param.key(raw) {
        Some(NOTIFY) => {
            let (a, e) = param.need()?;
            set_once(&mut p.notify, notify(raw, a, e)?)
        }
        Some(ORCPT) => {
            let (a, e) = param.need()?;
            set_once(&mut p.orcpt, orcpt(raw, a, e)?)
        }
        _ => {
            p.unknown = true;
            Ok(())
        }
    }
}

/// The offsets of an ORCPT value's `addr-type` and of its xtext.
pub(crate) type OrcptAt = ((usize, usize), (usize, usize));

/// The ORCPT value at offsets `at`, with its text from `t`.
#[inline]
pub(crate) fn orcpt_value(t: Text<'_>, ((a, e), (xa, xe)): OrcptAt) -> Option<Orcpt<'_>> {
    Some(Orcpt {
        addr_type: Cow::Borrowed(t.get(a, e)?),
        addr: XText::from_parsed(t.get(xa, xe)?),
    })
}

/// The offsets of `addr-type` and of the xtext in the `ORCPT` value `b[a..e]`:
///
/// ```text
/// orcpt-parameter            = "ORCPT=" original-recipient-address    ; RFC 3461 §4.2
/// original-recipient-address = addr-type ";" xtext
/// addr-type                  = atom
/// ```
#[inline]
pub(crate) fn orcpt(b: &[u8], a: usize, e: usize) -> Result<OrcptAt, &'static str> {
    const WHAT: &str = "ORCPT=addr-type;xtext";
    let v = b.get(a..e).ok_or(WHAT)?;
    // `atext` holds no ";": the atom ends at the first one.
    let semi = crate::grammar::atext_end(v, 0);
    if semi == 0 || v.get(semi) != Some(&b';') || !is_xtext(&v[semi + 1..]) {
        return Err(WHAT);
    }
    Ok(((a, a + semi), (a + semi + 1, e)))
}

/// `notify-esmtp-value = "NEVER" / 1#notify-list-element`,
/// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"` (RFC 3461 §4.1)
pub(crate) fn notify(b: &[u8], at: usize, end: usize) -> Result<Notify, &'static str> {
    const WHAT: &str = "NOTIFY=NEVER or SUCCESS,FAILURE,DELAY";
    const NEVER: u128 = folded("NEVER");
    const SUCCESS: u128 = folded("SUCCESS");
    const FAILURE: u128 = folded("FAILURE");
    const DELAY: u128 = folded("DELAY");
    const SUCCESS_FAILURE: u128 = folded("SUCCESS,FAILURE");
    const FAILURE_SUCCESS: u128 = folded("FAILURE,SUCCESS");
    const SUCCESS_DELAY: u128 = folded("SUCCESS,DELAY");
    const DELAY_SUCCESS: u128 = folded("DELAY,SUCCESS");
    const FAILURE_DELAY: u128 = folded("FAILURE,DELAY");
    const DELAY_FAILURE: u128 = folded("DELAY,FAILURE");
    // Lists of one or two elements fit in one word: matched whole.
    let on = |success, failure, delay| {
        Ok(Notify::On {
            success,
            failure,
            delay,
        })
    };
    match fold16(b, at, end) {
        Some(NEVER) => return Ok(Notify::Never),
        Some(SUCCESS) => return on(true, false, false),
        Some(FAILURE) => return on(false, true, false),
        Some(DELAY) => return on(false, false, true),
        Some(SUCCESS_FAILURE | FAILURE_SUCCESS) => return on(true, true, false),
        Some(SUCCESS_DELAY | DELAY_SUCCESS) => return on(true, false, true),
        Some(FAILURE_DELAY | DELAY_FAILURE) => return on(false, true, true),
        _ => {}
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
    let (end, size, last) = bdat_args(line, at)?;
    if end != line.len() {
        return fail_at(end, "end of input");
    }
    Ok((size, last))
}

/// The arguments of [`bdat`] from offset `at`: where they end, the size and `LAST`.
#[inline]
pub(crate) fn bdat_args(b: &[u8], at: usize) -> Result<(usize, u64, bool), Fail> {
    let (i, size) = number_at(b, at).map_err(|_| Fail {
        at,
        expected: "chunk-size",
    })?;
    if b.get(i) == Some(&b' ') {
        if word4(b, i + 1) != Some(LAST) {
            return fail_at(i + 1, "LAST");
        }
        return Ok((i + 5, size, true));
    }
    Ok((i, size, false))
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

/// What [`DecodeError::Syntax`] expected when AUTH's initial response is not base64: a
/// server answers it as a SASL response that does not decode (`501 5.5.2`, RFC 4954 §4).
pub(crate) const INITIAL_RESPONSE: &str = "initial-response (base64 or '=')";

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
        Some(_) => return fail_at(at + mech.len() + 1, INITIAL_RESPONSE),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every list of up to three elements, in any order and case, with repeats: the whole-word
    /// matches of one and two elements agree with reading the list element by element.
    #[test]
    fn notify_lists_of_every_order() {
        let words = ["SUCCESS", "failure", "Delay", "NEVER", "x"];
        let mut lists: Vec<Vec<&str>> = words.iter().map(|w| vec![*w]).collect();
        for _ in 0..2 {
            let longer: Vec<Vec<&str>> = lists
                .iter()
                .flat_map(|l| words.iter().map(move |w| [l.clone(), vec![*w]].concat()))
                .collect();
            lists.extend(longer);
        }
        for list in lists {
            let value = list.join(",");
            let upper: Vec<String> = list.iter().map(|w| w.to_ascii_uppercase()).collect();
            let has = |w: &str| upper.iter().any(|u| u == w);
            let distinct = upper
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let want = if upper == ["NEVER"] {
                Ok(Notify::Never)
            } else if distinct == upper.len() && !has("NEVER") && !has("X") {
                Ok(Notify::On {
                    success: has("SUCCESS"),
                    failure: has("FAILURE"),
                    delay: has("DELAY"),
                })
            } else {
                Err(())
            };
            let b = value.as_bytes();
            assert_eq!(notify(b, 0, b.len()).map_err(|_| ()), want, "{value}");
        }
    }
}
