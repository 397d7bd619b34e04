//! Parsers for command lines (RFC 5321 §4.1, with the ESMTP extensions' arguments).
//!
//! Each parser takes one line without its CRLF, already checked to be UTF-8.

use std::borrow::Cow;

use crate::grammar::{
    PResult, domain, domain_part, esmtp_keyword, esmtp_value, expect, fail, keyword, mailbox,
    number, string,
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

/// Runs the argument parser of a verb that needs `SP arguments`, which must consume them all.
#[inline]
fn with<'a>(
    line: &'a str,
    args: Option<&'a str>,
    parser: impl FnOnce(&'a str) -> PResult<'a, Command<'a>>,
) -> Result<Command<'a>, CommandError<'a>> {
    let Some(args) = args else {
        return Err(CommandError::Syntax(crate::grammar::PError {
            input: &line[line.len()..],
            expected: "SP and arguments",
        }));
    };
    crate::grammar::all_consuming(args, parser).map_err(CommandError::Syntax)
}

/// A verb without arguments.
#[inline]
fn no_args<'a>(args: Option<&'a str>, cmd: Command<'a>) -> Result<Command<'a>, CommandError<'a>> {
    match args {
        None => Ok(cmd),
        Some(a) => Err(CommandError::Syntax(crate::grammar::PError {
            input: a,
            expected: "end of line",
        })),
    }
}

/// `command = verb [SP arguments]`, dispatched on the verb (case-insensitive).
#[inline]
pub(crate) fn command(line: &str) -> Result<Command<'_>, CommandError<'_>> {
    // Every verb but STARTTLS has four letters: look at the fifth octet before searching.
    let (verb, args) = match line.as_bytes().get(4) {
        None if line.len() == 4 => (line, None),
        Some(b' ') => (&line[..4], Some(&line[5..])),
        _ => match memchr::memchr(b' ', line.as_bytes()) {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
            None => (line, None),
        },
    };
    if let Ok(v) = <[u8; 4]>::try_from(verb.as_bytes()) {
        return match verb4(v) {
            MAIL => with(line, args, mail),
            RCPT => with(line, args, rcpt),
            EHLO => with(line, args, |i| hello(i, HelloKind::Ehlo)),
            HELO => with(line, args, |i| hello(i, HelloKind::Helo)),
            LHLO => with(line, args, |i| hello(i, HelloKind::Lhlo)),
            DATA => no_args(args, Command::Data),
            BDAT => with(line, args, bdat),
            RSET => no_args(args, Command::Rset),
            QUIT => no_args(args, Command::Quit),
            NOOP => match args {
                None => Ok(Command::Noop { arg: None }),
                Some(_) => with(line, args, |i| {
                    string_arg(i).map(|(r, s)| (r, Command::Noop { arg: Some(s) }))
                }),
            },
            HELP => match args {
                None => Ok(Command::Help { topic: None }),
                Some(_) => with(line, args, |i| {
                    string_arg(i).map(|(r, s)| (r, Command::Help { topic: Some(s) }))
                }),
            },
            VRFY => with(line, args, |i| {
                string_arg(i).map(|(r, arg)| (r, Command::Vrfy { arg }))
            }),
            EXPN => with(line, args, |i| {
                string_arg(i).map(|(r, arg)| (r, Command::Expn { arg }))
            }),
            AUTH => with(line, args, auth),
            ETRN => with(line, args, etrn),
            _ => Err(CommandError::UnknownVerb),
        };
    }
    if verb.eq_ignore_ascii_case("STARTTLS") {
        return no_args(args, Command::StartTls);
    }
    Err(CommandError::UnknownVerb)
}

/// Why a command line did not parse.
#[derive(Debug)]
pub(crate) enum CommandError<'a> {
    UnknownVerb,
    Syntax(crate::grammar::PError<'a>),
}

/// ```text
/// ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
/// helo = "HELO" SP Domain CRLF
/// lhlo = "LHLO" SP ( Domain / address-literal ) CRLF      ; RFC 2033
/// ```
fn hello(input: &str, kind: HelloKind) -> PResult<'_, Command<'_>> {
    let (rest, host) = if kind == HelloKind::Helo {
        let (rest, d) = expect(input, "Domain", domain)?;
        (rest, DomainPart::Domain(Domain::from_parsed(d)))
    } else {
        domain_part(input)?
    };
    Ok((rest, Command::Hello { kind, host }))
}

/// ```text
/// Path      = "<" [ A-d-l ":" ] Mailbox ">"
/// A-d-l     = At-domain *( "," At-domain )
/// At-domain = "@" Domain
/// ```
/// The source route is checked and dropped (RFC 5321 §4.1.1.2, Appendix C).
fn path(input: &str) -> PResult<'_, Mailbox<'_>> {
    let Some(mut rest) = input.strip_prefix('<') else {
        return fail(input, "'<'");
    };
    if rest.starts_with('@') {
        loop {
            let Some(after_at) = rest.strip_prefix('@') else {
                return fail(rest, "At-domain");
            };
            let (after, _) = expect(after_at, "Domain", domain)?;
            if let Some(next) = after.strip_prefix(',') {
                rest = next;
            } else if let Some(next) = after.strip_prefix(':') {
                rest = next;
                break;
            } else {
                return fail(after, "',' or ':'");
            }
        }
    }
    let (rest, mbox) = mailbox(rest)?;
    let Some(rest) = rest.strip_prefix('>') else {
        return fail(rest, "'>'");
    };
    Ok((rest, mbox))
}

/// `Reverse-path = Path / "<>"`
fn reverse_path(input: &str) -> PResult<'_, ReversePath<'_>> {
    if let Some(rest) = input.strip_prefix("<>") {
        return Ok((rest, ReversePath::Null));
    }
    let (rest, m) = path(input)?;
    Ok((rest, ReversePath::Mailbox(m)))
}

/// `( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )`
fn forward_path(input: &str) -> PResult<'_, ForwardPath<'_>> {
    if let Ok((rest, _)) = keyword(input, "<Postmaster>") {
        return Ok((rest, ForwardPath::Postmaster));
    }
    let (rest, m) = path(input)?;
    Ok((rest, ForwardPath::Mailbox(m)))
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`
#[inline]
fn mail(input: &str) -> PResult<'_, Command<'_>> {
    let (rest, _) = keyword(input, "FROM:")?;
    let (rest, from) = expect(rest, "Reverse-path", reverse_path)?;
    let mut params = MailParams::default();
    let rest = esmtp_params(rest, |kw, value, at| mail_param(&mut params, kw, value, at))?;
    Ok((rest, Command::Mail { from, params }))
}

/// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
///         [SP Rcpt-parameters] CRLF`
#[inline]
fn rcpt(input: &str) -> PResult<'_, Command<'_>> {
    let (rest, _) = keyword(input, "TO:")?;
    let (rest, to) = expect(rest, "Forward-path", forward_path)?;
    let mut params = RcptParams::default();
    let rest = esmtp_params(rest, |kw, value, at| rcpt_param(&mut params, kw, value, at))?;
    Ok((rest, Command::Rcpt { to, params }))
}

/// ```text
/// Mail-parameters = esmtp-param *(SP esmtp-param)
/// esmtp-param     = esmtp-keyword ["=" esmtp-value]
/// ```
/// Calls `each` with every keyword, value and the input at the parameter, and returns what
/// follows the last one.
fn esmtp_params<'a>(
    mut input: &'a str,
    mut each: impl FnMut(&'a str, Option<&'a str>, &'a str) -> Result<(), &'static str>,
) -> Result<&'a str, nom::Err<crate::grammar::PError<'a>>> {
    while let Some(after_sp) = input.strip_prefix(' ') {
        let at = after_sp;
        let (rest, kw) = esmtp_keyword(after_sp)?;
        let (rest, value) = match rest.strip_prefix('=') {
            Some(v) => {
                let (rest, value) = esmtp_value(v)?;
                (rest, Some(value))
            }
            None => (rest, None),
        };
        if let Err(expected) = each(kw, value, at) {
            return Err(nom::Err::Error(crate::grammar::PError {
                input: at,
                expected,
            }));
        }
        input = rest;
    }
    Ok(input)
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), &'static str> {
    if slot.is_some() {
        return Err("each parameter at most once");
    }
    *slot = Some(value);
    Ok(())
}

fn set_flag(flag: &mut bool, value: Option<&str>) -> Result<(), &'static str> {
    if value.is_some() {
        return Err("no value for this parameter");
    }
    if *flag {
        return Err("each parameter at most once");
    }
    *flag = true;
    Ok(())
}

fn need(value: Option<&str>) -> Result<&str, &'static str> {
    value.ok_or("'=' and a value")
}

fn xtext(value: Option<&str>) -> Result<XText<'_>, &'static str> {
    let v = need(value)?;
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

fn mail_param<'a>(
    p: &mut MailParams<'a>,
    kw: &'a str,
    value: Option<&'a str>,
    _at: &'a str,
) -> Result<(), &'static str> {
    let is = |k: &str| kw.eq_ignore_ascii_case(k);
    if is("SIZE") {
        // size-value = 1*20DIGIT (RFC 1870)
        let v = need(value)?;
        let n = (v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse::<u64>().ok())
            .flatten()
            .ok_or("SIZE=1*20DIGIT")?;
        set_once(&mut p.size, n)
    } else if is("BODY") {
        let v = need(value)?;
        let body = if v.eq_ignore_ascii_case("7BIT") {
            Body::SevenBit
        } else if v.eq_ignore_ascii_case("8BITMIME") {
            Body::EightBitMime
        } else if v.eq_ignore_ascii_case("BINARYMIME") {
            Body::BinaryMime
        } else {
            return Err("BODY=7BIT, 8BITMIME or BINARYMIME");
        };
        set_once(&mut p.body, body)
    } else if is("SMTPUTF8") {
        set_flag(&mut p.smtputf8, value)
    } else if is("REQUIRETLS") {
        set_flag(&mut p.requiretls, value)
    } else if is("RET") {
        let v = need(value)?;
        let ret = if v.eq_ignore_ascii_case("FULL") {
            Ret::Full
        } else if v.eq_ignore_ascii_case("HDRS") {
            Ret::Hdrs
        } else {
            return Err("RET=FULL or HDRS");
        };
        set_once(&mut p.ret, ret)
    } else if is("ENVID") {
        // envid-value = xtext, at most 100 characters (RFC 3461 §4.4)
        let x = xtext(value)?;
        if x.as_encoded().len() > MAX_ENVID {
            return Err("ENVID of at most 100 characters");
        }
        set_once(&mut p.envid, x)
    } else if is("AUTH") {
        set_once(&mut p.auth, xtext(value)?)
    } else if is("MT-PRIORITY") {
        // priority-value = %x2D %x39 / ... / [ %x2B ] %x39   (RFC 6710: -9 to 9)
        let v = need(value)?;
        let ok = matches!(v.as_bytes(), [d] | [b'-' | b'+', d] if d.is_ascii_digit());
        let n: i8 = if ok {
            v.parse().map_err(|_| "MT-PRIORITY=-9..9")?
        } else {
            return Err("MT-PRIORITY=-9..9");
        };
        set_once(&mut p.mt_priority, n)
    } else if is("BY") {
        set_once(&mut p.by, deliver_by(need(value)?)?)
    } else if is("HOLDFOR") {
        let v = need(value)?;
        let n = v.parse::<u64>().map_err(|_| "HOLDFOR=1*DIGIT")?;
        if !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err("HOLDFOR=1*DIGIT");
        }
        set_once(&mut p.hold, Hold::For(n))
    } else if is("HOLDUNTIL") {
        set_once(&mut p.hold, Hold::Until(Cow::Borrowed(need(value)?)))
    } else {
        p.unknown.push(UnknownParam {
            keyword: Cow::Borrowed(kw),
            value: value.map(Cow::Borrowed),
        });
        Ok(())
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

fn rcpt_param<'a>(
    p: &mut RcptParams<'a>,
    kw: &'a str,
    value: Option<&'a str>,
    _at: &'a str,
) -> Result<(), &'static str> {
    if kw.eq_ignore_ascii_case("NOTIFY") {
        set_once(&mut p.notify, notify(need(value)?)?)
    } else if kw.eq_ignore_ascii_case("ORCPT") {
        // orcpt-parameter = "ORCPT=" original-recipient-address
        // original-recipient-address = addr-type ";" xtext
        let v = need(value)?;
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
    } else {
        p.unknown.push(UnknownParam {
            keyword: Cow::Borrowed(kw),
            value: value.map(Cow::Borrowed),
        });
        Ok(())
    }
}

/// `notify-esmtp-value = "NEVER" / 1#notify-list-element`,
/// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"` (RFC 3461 §4.1)
fn notify(v: &str) -> Result<Notify, &'static str> {
    const WHAT: &str = "NOTIFY=NEVER or SUCCESS,FAILURE,DELAY";
    if v.eq_ignore_ascii_case("NEVER") {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for item in v.split(',') {
        let slot = if item.eq_ignore_ascii_case("SUCCESS") {
            &mut success
        } else if item.eq_ignore_ascii_case("FAILURE") {
            &mut failure
        } else if item.eq_ignore_ascii_case("DELAY") {
            &mut delay
        } else {
            return Err(WHAT);
        };
        if *slot {
            return Err(WHAT);
        }
        *slot = true;
    }
    Ok(Notify::On {
        success,
        failure,
        delay,
    })
}

/// `bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF`, `chunk-size = 1*DIGIT`,
/// `end-marker = "LAST"` (RFC 3030 §2)
fn bdat(input: &str) -> PResult<'_, Command<'_>> {
    let (rest, size) = expect(input, "chunk-size", number)?;
    let (rest, last) = match rest.strip_prefix(' ') {
        Some(r) => (keyword(r, "LAST")?.0, true),
        None => (rest, false),
    };
    Ok((rest, Command::Bdat { size, last }))
}

/// The argument of NOOP, HELP, VRFY and EXPN: `String = Atom / Quoted-string`.
///
/// VRFY and EXPN in the wild also carry `User Name <mailbox>` forms; RFC 5321 §3.5.1 lets the
/// server decide, so anything printable is kept as one argument when it is not a `String`.
fn string_arg(input: &str) -> PResult<'_, Cow<'_, str>> {
    if let Ok(("", s)) = string(input) {
        return Ok(("", Cow::Borrowed(s)));
    }
    if !input.is_empty() && crate::grammar::is_text(input) && !input.starts_with(' ') {
        return Ok(("", Cow::Borrowed(input)));
    }
    fail(input, "String")
}

/// `"AUTH" SP sasl-mech [SP initial-response]`, `initial-response = base64 / "="`
/// (RFC 4954 §4)
fn auth(input: &str) -> PResult<'_, Command<'_>> {
    let (mech, initial) = match input.split_once(' ') {
        Some((m, i)) => (m, Some(i)),
        None => (input, None),
    };
    let Ok(mechanism) = Mechanism::new(mech) else {
        return fail(input, "sasl-mech");
    };
    let initial = match initial {
        None => None,
        Some("=") => Some(AuthInitial::Empty),
        Some(b) if !b.is_empty() && is_base64(b) => {
            Some(AuthInitial::Base64(Secret::new(Cow::Borrowed(b))))
        }
        Some(b) => return fail(b, "initial-response (base64 or '=')"),
    };
    Ok(("", Command::Auth { mechanism, initial }))
}

/// `etrn = "ETRN" SP node-name`, `node-name = domain / "@" domain / "#" String` (RFC 1985)
pub(crate) fn etrn(input: &str) -> PResult<'_, Command<'_>> {
    let ok = if let Some(q) = input.strip_prefix('#') {
        crate::grammar::all_consuming(q, string).is_ok()
    } else {
        let d = input.strip_prefix('@').unwrap_or(input);
        crate::grammar::all_consuming(d, domain).is_ok()
    };
    if !ok {
        return fail(input, "node-name");
    }
    Ok((
        "",
        Command::Etrn {
            node: Cow::Borrowed(input),
        },
    ))
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
