//! Parsers for response lines (RFC 1939 §3, RFC 2449 §8–9, RFC 5034 §4) and the lines of
//! multi-line answers (CAPA, LIST, UIDL, LANG).
//!
//! Each parser takes one line without its CRLF, already checked to be UTF-8.

use std::borrow::Cow;

use nom::bytes::complete::take_while1;

use crate::grammar::{
    self, PResult, capa_tag, expect, fail, is_language_tag, is_text, is_vchar, msg, number, param,
    resp_code, sp, unique_id,
};
use crate::types::{
    InvalidInput, Text,
    capability::{Capability, OtherCapability},
    listing::{DropListing, Language, ScanListing, Uid, UniqueIdListing},
    response::{Continuation, Response, ResponseCode, Status},
    sasl::{Mechanism, is_base64, is_mechanism},
};

/// ```text
/// single-line = status [SP text]
/// status      = "+OK" / "-ERR"
/// text        = *schar / resp-code *CHAR
/// ```
///
/// A text starting with `[` that is not a well-formed `resp-code` is kept as text.
pub(crate) fn single_line(input: &str) -> PResult<'_, Response<'_>> {
    let (rest, status) = status(input)?;
    if rest.is_empty() {
        return Ok(("", Response::from_parts_unchecked(status, None, None)));
    }
    let (text, ()) = expect(rest, "SP or end of line", sp)?;
    if !is_text(text) {
        return fail(text, "text of printable characters");
    }
    let (code, text) = match resp_code(text) {
        Ok((after, code)) => {
            let code = ResponseCode::from_parsed(Cow::Borrowed(code));
            // `resp-code *CHAR`: one SP separates code and text; anything else is text too.
            (
                Some(code),
                after
                    .strip_prefix(' ')
                    .or(Some(after).filter(|a| !a.is_empty())),
            )
        }
        Err(_) => (None, Some(text)),
    };
    Ok((
        "",
        Response::from_parts_unchecked(status, code, text.map(Cow::Borrowed)),
    ))
}

/// `status = "+OK" / "-ERR"` (case-insensitive, RFC 2449 §9)
pub(crate) fn status(input: &str) -> PResult<'_, Status> {
    let b = input.as_bytes();
    match b.first() {
        Some(b'+') if b.get(1..3).is_some_and(|k| k.eq_ignore_ascii_case(b"OK")) => {
            Ok((&input[3..], Status::Ok))
        }
        Some(b'-') if b.get(1..4).is_some_and(|e| e.eq_ignore_ascii_case(b"ERR")) => {
            Ok((&input[4..], Status::Err))
        }
        _ => fail(input, "\"+OK\" or \"-ERR\""),
    }
}

/// `continue-req = "+" SP [base64]` (RFC 5034 §4)
pub(crate) fn continue_req(input: &str) -> PResult<'_, Continuation<'_>> {
    let Some(rest) = input.strip_prefix("+ ") else {
        return fail(input, "\"+\" SP");
    };
    if !is_base64(rest) {
        return fail(rest, "base64");
    }
    Ok(("", Continuation::from_parsed(rest)))
}

/// ```text
/// capability = capa-tag *(SP param)
/// ```
/// Known tags are typed when their parameters fit:
/// ```text
/// "SASL" *(SP sasl-mech)                         ; RFC 2449 §6.3
/// "LOGIN-DELAY" SP 1*DIGIT [SP "USER"]           ; RFC 2449 §6.5
/// "EXPIRE" SP ("NEVER" / 1*DIGIT) [SP "USER"]    ; RFC 2449 §6.7
/// "IMPLEMENTATION" SP text                       ; RFC 2449 §6.9
/// "UTF8" [SP "USER"]                             ; RFC 6856 §2
/// ```
pub(crate) fn capability(input: &str) -> PResult<'_, Capability<'_>> {
    let (rest, tag) = capa_tag(input)?;
    let is = |t: &str| tag.eq_ignore_ascii_case(t);
    if is("IMPLEMENTATION")
        && let Some(text) = rest.strip_prefix(' ')
        && is_text(text)
    {
        return Ok(("", Capability::Implementation(Text::from_parsed(text))));
    }
    let mut params: Vec<&str> = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let (after, ()) = sp(rest)?;
        let (after, p) = expect(after, "param", take_while1(is_vchar))?;
        params.push(p);
        rest = after;
    }
    let known = typed_capability(tag, &params);
    Ok((
        "",
        known.unwrap_or_else(|| {
            Capability::Other(OtherCapability::from_parsed(
                tag,
                params.into_iter().map(Cow::Borrowed).collect(),
            ))
        }),
    ))
}

fn typed_capability<'a>(tag: &'a str, params: &[&'a str]) -> Option<Capability<'a>> {
    let is = |t: &str| tag.eq_ignore_ascii_case(t);
    let user = |p: &[&str]| match p {
        [] => Some(false),
        [u] if u.eq_ignore_ascii_case("USER") => Some(true),
        _ => None,
    };
    let none = params.is_empty();
    Some(match tag {
        _ if is("TOP") && none => Capability::Top,
        _ if is("USER") && none => Capability::User,
        _ if is("UIDL") && none => Capability::Uidl,
        _ if is("PIPELINING") && none => Capability::Pipelining,
        _ if is("RESP-CODES") && none => Capability::RespCodes,
        _ if is("AUTH-RESP-CODE") && none => Capability::AuthRespCode,
        _ if is("STLS") && none => Capability::Stls,
        _ if is("LANG") && none => Capability::Lang,
        _ if is("UTF8") => Capability::Utf8 {
            user: user(params)?,
        },
        _ if is("SASL") => {
            if !params.iter().all(|m| is_mechanism(m)) {
                return None;
            }
            Capability::Sasl(
                params
                    .iter()
                    .filter_map(|m| Mechanism::new(*m).ok())
                    .collect(),
            )
        }
        _ if is("LOGIN-DELAY") => {
            let (first, more) = params.split_first()?;
            Capability::LoginDelay {
                seconds: digits(first)?,
                per_user: user(more)?,
            }
        }
        _ if is("EXPIRE") => {
            let (first, more) = params.split_first()?;
            let days = if first.eq_ignore_ascii_case("NEVER") {
                None
            } else {
                Some(digits(first)?)
            };
            Capability::Expire {
                days,
                per_user: user(more)?,
            }
        }
        _ => return None,
    })
}

fn digits(s: &str) -> Option<u64> {
    crate::grammar::all_consuming(s, number).ok()
}

/// `drop-listing = count SP size [SP *CHAR]` (RFC 1939 §5: "makes no requirement on what
/// follows the maildrop size")
pub(crate) fn drop_listing(input: &str) -> PResult<'_, DropListing> {
    let (rest, count) = expect(input, "message count", number)?;
    let (rest, ()) = sp(rest)?;
    let (rest, size) = expect(rest, "maildrop size", number)?;
    Ok((trailer(rest)?, DropListing { count, size }))
}

/// `scan-listing = msg SP size [SP *CHAR]` (RFC 1939 §5: "makes no requirement on what
/// follows the message size")
pub(crate) fn scan_listing(input: &str) -> PResult<'_, ScanListing> {
    let (rest, msg) = msg(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, size) = expect(rest, "message size", number)?;
    Ok((trailer(rest)?, ScanListing { msg, size }))
}

/// Text after a listing: nothing, or SP and anything.
fn trailer(rest: &str) -> Result<&str, nom::Err<crate::grammar::PError<'_>>> {
    if rest.is_empty() || rest.starts_with(' ') {
        Ok("")
    } else {
        fail::<_, ()>(rest, "SP or end of line").map(|_| "")
    }
}

/// `unique-id-listing = msg SP unique-id`, `unique-id = 1*70 %x21-7E` (RFC 1939 §7), and
/// spaces after it, which servers pad with. Nothing else may follow: a unique-id with a
/// space in it is no prefix of another.
pub(crate) fn unique_id_listing(input: &str) -> PResult<'_, UniqueIdListing<'_>> {
    let (rest, msg) = msg(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, uid) = unique_id(rest)?;
    Ok((
        rest.trim_start_matches([' ', '\t']),
        UniqueIdListing {
            msg,
            uid: Uid::from_parsed(uid),
        },
    ))
}

/// `language-listing = language-tag SP description` (RFC 6856 §3)
pub(crate) fn language_listing(input: &str) -> PResult<'_, Language<'_>> {
    let (rest, tag) = param(input, 40)?;
    if !is_language_tag(tag) {
        return fail(input, "language tag");
    }
    let (description, ()) = sp(rest)?;
    if !is_text(description) {
        return fail(description, "description of printable characters");
    }
    Ok(("", Language::from_parsed(tag, description)))
}

impl DropListing {
    /// Reads a STAT response. Text after the size is allowed and ignored (RFC 1939 §5).
    pub fn from_response(response: &Response<'_>) -> Option<Self> {
        if !response.is_ok() || response.code().is_some() {
            return None;
        }
        let text = response.text()?;
        grammar::all_consuming(text, drop_listing).ok()
    }
}

impl ScanListing {
    /// Reads the response to `LIST msg`. Text after the size is allowed and ignored.
    pub fn from_response(response: &Response<'_>) -> Option<Self> {
        if !response.is_ok() || response.code().is_some() {
            return None;
        }
        grammar::all_consuming(response.text()?, scan_listing).ok()
    }
}

impl<'a> UniqueIdListing<'a> {
    /// Reads the response to `UIDL msg`.
    pub fn from_response(response: &'a Response<'_>) -> Option<Self> {
        if !response.is_ok() || response.code().is_some() {
            return None;
        }
        grammar::all_consuming(response.text()?, unique_id_listing).ok()
    }
}

impl<'a> Capability<'a> {
    /// Parses one capability line (without CRLF). This is also how to build an
    /// [`OtherCapability`]: a known tag comes back typed.
    pub fn parse(line: &'a str) -> Result<Self, InvalidInput> {
        grammar::all_consuming(line, capability)
            .map_err(|e| InvalidInput::new("capability", e.expected))
    }
}
