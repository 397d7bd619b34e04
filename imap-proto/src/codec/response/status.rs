//! Status responses, greetings, continuation requests, response codes, and the dispatch of a
//! message to the right production.

use std::borrow::Cow;

use nom::bytes::complete::take_while1;

use super::{Cx, data};
use crate::{
    codec::core::{
        self, PResult, ascii, atom, atom_as_sent, byte, expect, fail, number, number64, nz_number,
        paren_list, quoted, sequence_set, sp, tag,
    },
    types::{
        capability::Capability,
        core::{AString, Atom, IString, Text},
        objectid::{ObjectId, is_objectid_char},
        response::{Continue, Greeting, GreetingKind, Response, Status, StatusKind},
        response_code::{MetadataCode, ResponseCode},
        sequence::{SeqItem, SeqNum, SequenceSet},
    },
};

/// A keyword: letters, digits, `-`, `.` and `=` (response names, FETCH item names, codes).
pub(crate) fn keyword(input: &[u8]) -> PResult<'_, &[u8]> {
    core::run1(input, core::KEYWORD_CHAR, "a keyword")
}

/// ```text
/// response = continue-req / response-data / response-tagged    ; one message of it
/// ```
pub(crate) fn response<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Response<'a>> {
    match input.first() {
        Some(b'+') => continue_req(cx, input).map(|(r, c)| (r, Response::Continue(c))),
        Some(b'*') => {
            let (rest, ()) = sp(&input[1..])?;
            if let Ok((after, kind)) = status_keyword(rest) {
                let (r, (code, text)) = resp_text_after_keyword(cx, after)?;
                let status = Status::untagged(kind, code, text);
                return Ok((r, Response::Status(status)));
            }
            let rest = if cx.lenient().trailing_space {
                trim_trailing_spaces(rest)
            } else {
                rest
            };
            data::response_data(cx, rest).map(|(r, d)| (r, Response::Data(d)))
        }
        _ => {
            let (rest, t) = tag(input)?;
            let (rest, ()) = sp(rest)?;
            let (after, kind) = status_keyword(rest)?;
            if matches!(kind, StatusKind::PreAuth | StatusKind::Bye) {
                return fail(rest, "OK, NO or BAD (response-tagged)");
            }
            let (r, (code, text)) = resp_text_after_keyword(cx, after)?;
            Ok((
                r,
                Response::Status(Status {
                    tag: Some(t),
                    kind,
                    code,
                    text,
                }),
            ))
        }
    }
}

/// `input` without the spaces that end it, unless they are a literal's octets (`{5}` CRLF
/// `Sent ` as the last value): those are data.
fn trim_trailing_spaces(input: &[u8]) -> &[u8] {
    if ends_in_literal(input) {
        return input;
    }
    let end = input.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    &input[..end]
}

/// Whether the last octets of `input` are a literal's data: some `{n}` (or `{n+}`) CRLF
/// is followed by exactly `n` octets up to the end.
fn ends_in_literal(input: &[u8]) -> bool {
    let mut end = input.len();
    while let Some(at) = input[..end].windows(3).rposition(|w| w == b"}\r\n") {
        let digits_end = if at > 0 && input[at - 1] == b'+' {
            at - 1
        } else {
            at
        };
        let digits_start = input[..digits_end]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        if digits_start > 0
            && input[digits_start - 1] == b'{'
            && let Ok(n) = std::str::from_utf8(&input[digits_start..digits_end])
                .unwrap_or_default()
                .parse::<usize>()
            && at.checked_add(3).and_then(|d| d.checked_add(n)) == Some(input.len())
        {
            return true;
        }
        end = at;
    }
    false
}

/// `"OK" / "NO" / "BAD" / "PREAUTH" / "BYE"`, followed by SP or the end of the line.
fn status_keyword(input: &[u8]) -> PResult<'_, StatusKind> {
    let (rest, k) = keyword(input)?;
    let kind = match super::Upper::new(k).as_bytes() {
        b"OK" => StatusKind::Ok,
        b"NO" => StatusKind::No,
        b"BAD" => StatusKind::Bad,
        b"PREAUTH" => StatusKind::PreAuth,
        b"BYE" => StatusKind::Bye,
        _ => return fail(input, "OK, NO, BAD, PREAUTH or BYE"),
    };
    if !rest.is_empty() && !rest.starts_with(b" ") {
        return fail(input, "OK, NO, BAD, PREAUTH or BYE");
    }
    Ok((rest, kind))
}

/// `SP resp-text` after a status keyword or `+`; nothing at all under
/// [`Leniency::missing_text`](super::Leniency::missing_text).
fn resp_text_after_keyword<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
) -> PResult<'a, (Option<ResponseCode<'a>>, Text<'a>)> {
    if input.is_empty() && cx.lenient().missing_text {
        return Ok((input, (None, Text::from_parsed(""))));
    }
    let (rest, ()) = sp(input)?;
    resp_text(cx, rest)
}

/// ```text
/// resp-text = ["[" resp-text-code "]" SP] [text]
/// ```
pub(crate) fn resp_text<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
) -> PResult<'a, (Option<ResponseCode<'a>>, Text<'a>)> {
    if !input.starts_with(b"[") {
        return text(cx, input).map(|(r, t)| (r, (None, t)));
    }
    let (rest, code) = resp_text_code(cx, &input[1..])?;
    let (rest, ()) = byte(rest, b']')?;
    if rest.is_empty() && cx.lenient().missing_text {
        return Ok((rest, (Some(code), Text::from_parsed(""))));
    }
    let (rest, ()) = sp(rest)?;
    let (rest, t) = text(cx, rest)?;
    Ok((rest, (Some(code), t)))
}

/// `text = 1*(TEXT-CHAR / UTF8-2 / UTF8-3 / UTF8-4)` up to the end of the line, here also
/// empty (IMAP4rev2's `[text]`). 8-bit octets need UTF-8 mode or the `eight_bit_text`
/// leniency.
fn text<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Text<'a>> {
    let lenient = cx.lenient().eight_bit_text;
    let (rest, t) = match core::text(input) {
        Ok(ok) => ok,
        Err(_) if lenient => {
            let owned = String::from_utf8_lossy(input).into_owned();
            return match Text::new(owned) {
                Ok(t) => Ok((&input[input.len()..], t)),
                Err(_) => fail(input, "TEXT-CHAR"),
            };
        }
        Err(e) => return Err(e),
    };
    if !rest.is_empty() {
        return fail(rest, "TEXT-CHAR");
    }
    if !t.is_ascii() && !cx.opts.utf8 && !lenient {
        let i = t.bytes().position(|b| !b.is_ascii()).unwrap_or(0);
        return fail(&input[i..], "7-bit TEXT-CHAR (UTF-8 not enabled)");
    }
    Ok((rest, Text::from_parsed(t)))
}

/// ```text
/// continue-req = "+" SP (resp-text / base64) CRLF
/// ```
/// Base64 is kept as text; see [`Continue`].
fn continue_req<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Continue<'a>> {
    let (rest, ()) = byte(input, b'+')?;
    let (rest, (code, text)) = resp_text_after_keyword(cx, rest)?;
    Ok((rest, Continue { code, text }))
}

/// ```text
/// greeting       = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
/// resp-cond-auth = ("OK" / "PREAUTH") SP resp-text
/// resp-cond-bye  = "BYE" SP resp-text
/// ```
pub(crate) fn greeting<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Greeting<'a>> {
    let (rest, ()) = byte(input, b'*')?;
    let (rest, ()) = sp(rest)?;
    let (after, kind) = status_keyword(rest)?;
    let kind = match kind {
        StatusKind::Ok => GreetingKind::Ok,
        StatusKind::PreAuth => GreetingKind::PreAuth,
        StatusKind::Bye => GreetingKind::Bye,
        StatusKind::No | StatusKind::Bad => return fail(rest, "OK, PREAUTH or BYE"),
    };
    let (rest, (code, text)) = resp_text_after_keyword(cx, after)?;
    Ok((rest, Greeting { kind, code, text }))
}

/// ```text
/// resp-text-code = "ALERT" / "BADCHARSET" [SP "(" charset *(SP charset) ")" ] / ... /
///                  atom [SP 1*<any TEXT-CHAR except "]">]
/// ```
/// A known name whose arguments do not parse falls back to the catch-all, as the ABNF's
/// last alternative allows.
fn resp_text_code<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, ResponseCode<'a>> {
    let (after_name, name) = atom(input)?;
    if let Ok((rest, code)) = known_code(cx, name, after_name)
        && rest.starts_with(b"]")
    {
        return Ok((rest, code));
    }
    let (rest, text) = match after_name.strip_prefix(b" ") {
        Some(r) => {
            let len = r
                .iter()
                .position(|&b| matches!(b, b']' | 0 | b'\r' | b'\n'))
                .unwrap_or(r.len());
            if len == 0 {
                return fail(r, "response code text");
            }
            match std::str::from_utf8(&r[..len]) {
                Ok(t) => (&r[len..], Some(Cow::Borrowed(t))),
                Err(_) => return fail(r, "UTF-8 response code text"),
            }
        }
        None => (after_name, None),
    };
    let name = Atom::from_parsed(name);
    Ok((rest, ResponseCode::Other { name, text }))
}

/// The codes this crate knows, by name; the input starts after the name.
fn known_code<'a>(cx: Cx<'_, 'a>, name: &'a str, input: &'a [u8]) -> PResult<'a, ResponseCode<'a>> {
    let upper = super::Upper::new(name.as_bytes());
    if let Some((_, code)) = crate::types::response_code::SIMPLE_CODES
        .iter()
        .find(|(n, _)| n.as_bytes() == upper.as_bytes())
    {
        return Ok((input, code.clone()));
    }
    let (rest, ()) = match upper.as_bytes() {
        // BADCHARSET's list is optional.
        b"BADCHARSET" if !input.starts_with(b" ") => {
            return Ok((input, ResponseCode::BadCharset(Vec::new())));
        }
        // CAPABILITY's list starts with its own SP.
        b"CAPABILITY" => {
            let (rest, caps) = capabilities(input)?;
            return Ok((rest, ResponseCode::Capability(caps)));
        }
        _ => sp(input)?,
    };
    match upper.as_bytes() {
        b"APPENDUID" => {
            let (rest, uid_validity) = nz_number(rest)?;
            let (rest, ()) = sp(rest)?;
            let (rest, uids) = uid_set(rest)?;
            Ok((rest, ResponseCode::AppendUid { uid_validity, uids }))
        }
        b"BADEVENT" => {
            let (rest, list) = paren_list(rest, crate::codec::notify::event)?;
            if list.is_empty() {
                return fail(rest, "at least one event");
            }
            Ok((rest, ResponseCode::BadEvent(list)))
        }
        b"BADCHARSET" => {
            let (rest, list) = paren_list(rest, charset)?;
            if list.is_empty() {
                return fail(rest, "at least one charset");
            }
            Ok((rest, ResponseCode::BadCharset(list)))
        }
        b"COPYUID" => {
            let (rest, uid_validity) = nz_number(rest)?;
            let (rest, ()) = sp(rest)?;
            let (rest, source) = uid_set(rest)?;
            let (rest, ()) = sp(rest)?;
            let (rest, destination) = uid_set(rest)?;
            Ok((
                rest,
                ResponseCode::CopyUid {
                    uid_validity,
                    source,
                    destination,
                },
            ))
        }
        b"HIGHESTMODSEQ" => number64(rest).map(|(r, n)| (r, ResponseCode::HighestModSeq(n))),
        b"MAILBOXID" => paren_objectid(rest).map(|(r, id)| (r, ResponseCode::MailboxId(id))),
        b"METADATA" => metadata_code(rest).map(|(r, m)| (r, ResponseCode::Metadata(m))),
        b"MODIFIED" => sequence_set(rest).map(|(r, s)| (r, ResponseCode::Modified(s))),
        // `"NOUPDATE" SP quoted` (RFC 5267): the quoted string is a search's tag.
        b"NOUPDATE" => {
            crate::codec::search::quoted_tag(rest).map(|(r, t)| (r, ResponseCode::NoUpdate(t)))
        }
        b"PERMANENTFLAGS" => {
            let (r, flags) = paren_list(rest, |i| data::flag(cx, i, true))?;
            Ok((r, ResponseCode::PermanentFlags(flags)))
        }
        b"UIDNEXT" => nz_number(rest).map(|(r, n)| (r, ResponseCode::UidNext(n))),
        b"UIDVALIDITY" => nz_number(rest).map(|(r, n)| (r, ResponseCode::UidValidity(n))),
        b"UNSEEN" => nz_number(rest).map(|(r, n)| (r, ResponseCode::Unseen(n))),
        b"URLMECH" => urlmech(rest),
        _ => fail(input, "a known response code"),
    }
}

/// ```text
/// resp-text-code =/ "URLMECH" SP "INTERNAL" *(SP mechanism ["=" base64])
/// ```
/// (RFC 4467 §9), after `URLMECH SP`.
fn urlmech(input: &[u8]) -> PResult<'_, ResponseCode<'_>> {
    let (mut rest, _) = core::tag_no_case(input, "INTERNAL")?;
    if rest.first().is_some_and(|b| !matches!(b, b' ' | b']')) {
        return fail(input, "INTERNAL");
    }
    let mut others = Vec::new();
    while let Ok((r, ())) = sp(rest) {
        let (r, name) = crate::codec::urlauth::mechanism(r)?;
        let (r, data) = match r.strip_prefix(b"=") {
            Some(after) => {
                let end = after
                    .iter()
                    .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
                    .unwrap_or(after.len());
                if !crate::types::command::is_base64(&after[..end]) {
                    return fail(after, "base64");
                }
                (&after[end..], Some(Cow::Borrowed(ascii(&after[..end]))))
            }
            None => (r, None),
        };
        others.push((name, data));
        rest = r;
    }
    Ok((rest, ResponseCode::UrlMech(others)))
}

/// `*(SP capability)`, `capability = ("AUTH=" auth-type) / atom`
pub(crate) fn capabilities(mut input: &[u8]) -> PResult<'_, Vec<Capability<'_>>> {
    let mut caps = Vec::new();
    while let Some(r) = input.strip_prefix(b" ") {
        let (r, a) = atom(r)?;
        match Capability::parse(a) {
            Ok(c) => caps.push(c),
            Err(_) => return fail(input, "capability"),
        }
        input = r;
    }
    Ok((input, caps))
}

/// `charset = atom / quoted`
fn charset(input: &[u8]) -> PResult<'_, AString<'_>> {
    if input.starts_with(b"\"") {
        let (r, q) = quoted(input)?;
        return Ok((r, AString::String(IString::Quoted(q))));
    }
    let (r, a) = atom(input)?;
    Ok((r, atom_as_sent(a)))
}

/// ```text
/// uid-set   = (uniqueid / uid-range) *("," uid-set)
/// uid-range = (uniqueid ":" uniqueid)
/// ```
/// A sequence set without `*` or `$`.
pub(crate) fn uid_set(input: &[u8]) -> PResult<'_, SequenceSet> {
    let (rest, set) = sequence_set(input)?;
    let ok = match &set {
        SequenceSet::Saved => false,
        SequenceSet::Items(items) => items.iter().all(|i| match i {
            SeqItem::Single(n) => *n != SeqNum::Largest,
            SeqItem::Range(a, b) => *a != SeqNum::Largest && *b != SeqNum::Largest,
        }),
    };
    if ok {
        Ok((rest, set))
    } else {
        fail(input, "uid-set (no \"*\" or \"$\")")
    }
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`
pub(crate) fn objectid(input: &[u8]) -> PResult<'_, ObjectId<'_>> {
    let (rest, id) = expect(input, "objectid", take_while1(is_objectid_char))?;
    match ObjectId::new(ascii(id)) {
        Ok(id) => Ok((rest, id)),
        Err(_) => fail(input, "objectid of at most 255 octets"),
    }
}

/// `"(" objectid ")"`
pub(crate) fn paren_objectid(input: &[u8]) -> PResult<'_, ObjectId<'_>> {
    let (rest, ()) = byte(input, b'(')?;
    let (rest, id) = objectid(rest)?;
    let (rest, ()) = byte(rest, b')')?;
    Ok((rest, id))
}

/// ```text
/// "METADATA" SP ("LONGENTRIES" SP number / "MAXSIZE" SP number / "TOOMANY" / "NOPRIVATE")
/// ```
fn metadata_code(input: &[u8]) -> PResult<'_, MetadataCode> {
    let (rest, k) = keyword(input)?;
    match super::Upper::new(k).as_bytes() {
        b"LONGENTRIES" => {
            let (rest, ()) = sp(rest)?;
            number(rest).map(|(r, n)| (r, MetadataCode::LongEntries(n)))
        }
        b"MAXSIZE" => {
            let (rest, ()) = sp(rest)?;
            number(rest).map(|(r, n)| (r, MetadataCode::MaxSize(n)))
        }
        b"TOOMANY" => Ok((rest, MetadataCode::TooMany)),
        b"NOPRIVATE" => Ok((rest, MetadataCode::NoPrivate)),
        _ => fail(input, "LONGENTRIES, MAXSIZE, TOOMANY or NOPRIVATE"),
    }
}
