//! Parsers for command lines (RFC 1939 §4–7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4,
//! RFC 6856 §2–3).
//!
//! Each parser takes one line without its CRLF, already checked to be UTF-8.
//!
//! ```text
//! command = keyword *(SP param) CRLF   ; 255 octets maximum (RFC 2449 §9)
//! keyword = 3*4VCHAR
//! param   = 1*VCHAR                    ; 40 characters maximum (RFC 2449 §4)
//! ```

use std::borrow::Cow;

use crate::grammar::{
    PError, PResult, all_consuming, digest, expect, fail, is_language_tag, is_text, keyword, msg,
    number, param, param_utf8, sp,
};
use crate::types::{
    command::{AuthInitial, Command, MessageNumber},
    sasl::{Mechanism, Secret, is_base64},
};

/// Why a command line did not parse.
#[derive(Debug)]
pub(crate) enum CommandError<'a> {
    UnknownVerb,
    Syntax(PError<'a>),
}

/// `command = keyword *(SP param)`, dispatched on the keyword (case-insensitive). `max_arg`
/// is the longest argument in characters.
pub(crate) fn command(line: &str, max_arg: usize) -> Result<Command<'_>, CommandError<'_>> {
    let (args, verb) = keyword(line).map_err(|_| CommandError::UnknownVerb)?;
    let is = |v: &str| verb.eq_ignore_ascii_case(v);
    let parse = |parser: &dyn Fn(&str) -> PResult<'_, Command<'_>>| {
        all_consuming(args, parser).map_err(CommandError::Syntax)
    };
    let bare = |cmd: Command<'static>| {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(CommandError::Syntax(PError {
                input: args,
                expected: "end of line",
            }))
        }
    };
    if is("USER") {
        parse(&|i| user(i, max_arg))
    } else if is("PASS") {
        parse(&pass)
    } else if is("APOP") {
        parse(&|i| apop(i, max_arg))
    } else if is("AUTH") {
        parse(&auth)
    } else if is("QUIT") {
        bare(Command::Quit)
    } else if is("STAT") {
        bare(Command::Stat)
    } else if is("LIST") {
        parse(&|i| optional_msg(i).map(|(r, msg)| (r, Command::List { msg })))
    } else if is("RETR") {
        parse(&|i| required_msg(i).map(|(r, msg)| (r, Command::Retr { msg })))
    } else if is("DELE") {
        parse(&|i| required_msg(i).map(|(r, msg)| (r, Command::Dele { msg })))
    } else if is("NOOP") {
        bare(Command::Noop)
    } else if is("RSET") {
        bare(Command::Rset)
    } else if is("TOP") {
        parse(&top)
    } else if is("UIDL") {
        parse(&|i| optional_msg(i).map(|(r, msg)| (r, Command::Uidl { msg })))
    } else if is("CAPA") {
        bare(Command::Capa)
    } else if is("STLS") {
        bare(Command::Stls)
    } else if is("UTF8") {
        bare(Command::Utf8)
    } else if is("LANG") {
        parse(&|i| lang(i, max_arg))
    } else {
        Err(CommandError::UnknownVerb)
    }
}

/// `"USER" SP name`, `name = param` (UTF-8 allowed, RFC 6856 §2)
fn user(input: &str, max_arg: usize) -> PResult<'_, Command<'_>> {
    let (rest, ()) = sp(input)?;
    let (rest, name) = param_utf8(rest, max_arg)?;
    Ok((
        rest,
        Command::User {
            name: Cow::Borrowed(name),
        },
    ))
}

/// `"PASS" SP string`: the rest of the line, spaces included (RFC 1939 §7: "the server may
/// treat spaces in the argument as part of the password"). Not subject to the argument limit.
fn pass(input: &str) -> PResult<'_, Command<'_>> {
    let (rest, ()) = sp(input)?;
    if !is_text(rest) {
        return fail(rest, "password of printable characters");
    }
    Ok((
        "",
        Command::Pass {
            password: Secret::new(Cow::Borrowed(rest)),
        },
    ))
}

/// `"APOP" SP name SP digest`, `digest = 32HEXDIG`
fn apop(input: &str, max_arg: usize) -> PResult<'_, Command<'_>> {
    let (rest, ()) = sp(input)?;
    let (rest, name) = param_utf8(rest, max_arg)?;
    let (rest, ()) = sp(rest)?;
    let (rest, d) = digest(rest)?;
    Ok((
        rest,
        Command::Apop {
            name: Cow::Borrowed(name),
            digest: Cow::Borrowed(d),
        },
    ))
}

/// ```text
/// auth-command     = "AUTH" SP sasl-mech [SP initial-response]   ; RFC 5034 §4
/// initial-response = base64 / "="
/// ```
/// `AUTH` without argument asks for the list of mechanisms (de facto; RFC 1734 servers).
fn auth(input: &str) -> PResult<'_, Command<'_>> {
    if input.is_empty() {
        return Ok(("", Command::AuthList));
    }
    let (rest, ()) = sp(input)?;
    let (rest, mech) = expect(rest, "sasl-mech", |i| {
        nom::bytes::complete::take_while1(|c: char| c.is_ascii_graphic())(i)
    })?;
    let Ok(mechanism) = Mechanism::new(mech) else {
        return fail(&input[1..], "sasl-mech of 1 to 20 of A-Z 0-9 - _");
    };
    if rest.is_empty() {
        return Ok((
            "",
            Command::Auth {
                mechanism,
                initial: None,
            },
        ));
    }
    let (ir, ()) = sp(rest)?;
    let initial = if ir == "=" {
        AuthInitial::Empty
    } else if !ir.is_empty() && is_base64(ir) {
        AuthInitial::Base64(Secret::new(Cow::Borrowed(ir)))
    } else {
        return fail(ir, "initial-response (base64 or '=')");
    };
    Ok((
        "",
        Command::Auth {
            mechanism,
            initial: Some(initial),
        },
    ))
}

/// `SP msg`
fn required_msg(input: &str) -> PResult<'_, MessageNumber> {
    let (rest, ()) = sp(input)?;
    msg(rest)
}

/// `[SP msg]`
fn optional_msg(input: &str) -> PResult<'_, Option<MessageNumber>> {
    if input.is_empty() {
        return Ok(("", None));
    }
    let (rest, m) = required_msg(input)?;
    Ok((rest, Some(m)))
}

/// `"TOP" SP msg SP n`, `n = 1*DIGIT` (lines of the body, 0 for the header only)
fn top(input: &str) -> PResult<'_, Command<'_>> {
    let (rest, msg) = required_msg(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, lines) = expect(rest, "number of lines", number)?;
    Ok((rest, Command::Top { msg, lines }))
}

/// ```text
/// lang-command = "LANG" [SP lang-range]     ; RFC 6856 §3
/// lang-range   = language-tag / "*"
/// ```
fn lang(input: &str, max_arg: usize) -> PResult<'_, Command<'_>> {
    if input.is_empty() {
        return Ok(("", Command::Lang { range: None }));
    }
    let (rest, ()) = sp(input)?;
    let (after, range) = param(rest, max_arg)?;
    if range != "*" && !is_language_tag(range) {
        return fail(rest, "language tag or '*'");
    }
    Ok((
        after,
        Command::Lang {
            range: Some(Cow::Borrowed(range)),
        },
    ))
}
