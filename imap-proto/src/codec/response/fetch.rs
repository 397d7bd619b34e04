//! The items of a FETCH response (`msg-att`).

use super::{
    Cx, body, data,
    status::{keyword, objectid, paren_objectid},
};
use crate::{
    codec::core::{self, PResult, byte, fail, nil, number, number64, nz_number, section, sp},
    types::{
        datetime::DateTime,
        fetch::{FetchItem, OtherItem},
    },
};

/// `msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"`
pub(crate) fn msg_att<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Vec<FetchItem<'a>>> {
    let (mut rest, ()) = byte(input, b'(')?;
    // A FETCH response for a message list carries half a dozen items or more.
    let mut items = Vec::with_capacity(8);
    loop {
        let (r, item) = msg_att_item(cx, rest)?;
        items.push(item);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, items));
        }
        let (r, ()) = sp(r)?;
        rest = r;
    }
}

/// One `msg-att-dynamic` or `msg-att-static`.
fn msg_att_item<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, FetchItem<'a>> {
    let (rest, name) = keyword(input)?;
    let upper = super::Upper::new(name);
    match upper.as_bytes() {
        b"BODY" if rest.starts_with(b"[") => {
            let (r, section) = section(rest)?;
            let (r, origin) = origin(r)?;
            let (r, ()) = sp(r)?;
            let (r, data) = cx.data_nstring(r)?;
            return Ok((
                r,
                FetchItem::BodySection {
                    section,
                    origin,
                    data,
                },
            ));
        }
        b"BINARY" => {
            let (r, part) = section_binary(rest)?;
            let (r, origin) = origin(r)?;
            let (r, ()) = sp(r)?;
            // `nstring / literal8`
            let (r, data) = core::nstring(r)?;
            return Ok((r, FetchItem::Binary { part, origin, data }));
        }
        b"BINARY.SIZE" => {
            let (r, part) = section_binary(rest)?;
            let (r, ()) = sp(r)?;
            let (r, size) = number(r)?;
            return Ok((r, FetchItem::BinarySize { part, size }));
        }
        _ => {}
    }
    let (rest, ()) = sp(rest)?;
    match upper.as_bytes() {
        b"FLAGS" => data::flag_list(cx, rest).map(|(r, f)| (r, FetchItem::Flags(f))),
        b"UID" => nz_number(rest).map(|(r, n)| (r, FetchItem::Uid(n))),
        b"INTERNALDATE" => date_time(cx, rest).map(|(r, d)| (r, FetchItem::InternalDate(d))),
        b"RFC822.SIZE" => number64(rest).map(|(r, n)| (r, FetchItem::Rfc822Size(n))),
        b"ENVELOPE" => body::envelope(cx, rest).map(|(r, e)| (r, FetchItem::Envelope(Box::new(e)))),
        b"BODY" => body::body(cx, rest, 0).map(|(r, b)| (r, FetchItem::Body(Box::new(b)))),
        b"BODYSTRUCTURE" => {
            body::body(cx, rest, 0).map(|(r, b)| (r, FetchItem::BodyStructure(Box::new(b))))
        }
        b"MODSEQ" => {
            // `"MODSEQ" SP "(" permsg-modsequence ")"`
            let (r, ()) = byte(rest, b'(')?;
            let (r, n) = number64(r)?;
            let (r, ()) = byte(r, b')')?;
            Ok((r, FetchItem::ModSeq(n)))
        }
        b"EMAILID" => paren_objectid(rest).map(|(r, id)| (r, FetchItem::EmailId(id))),
        b"THREADID" => match nil(rest) {
            Ok((r, ())) => Ok((r, FetchItem::ThreadId(None))),
            Err(_) => {
                let (r, ()) = byte(rest, b'(')?;
                let (r, id) = objectid(r)?;
                let (r, ()) = byte(r, b')')?;
                Ok((r, FetchItem::ThreadId(Some(id))))
            }
        },
        b"SAVEDATE" => match nil(rest) {
            Ok((r, ())) => Ok((r, FetchItem::SaveDate(None))),
            Err(_) => date_time(cx, rest).map(|(r, d)| (r, FetchItem::SaveDate(Some(d)))),
        },
        b"RFC822" => cx
            .data_nstring(rest)
            .map(|(r, s)| (r, FetchItem::Rfc822(s))),
        b"RFC822.HEADER" => cx
            .data_nstring(rest)
            .map(|(r, s)| (r, FetchItem::Rfc822Header(s))),
        b"RFC822.TEXT" => cx
            .data_nstring(rest)
            .map(|(r, s)| (r, FetchItem::Rfc822Text(s))),
        // Preview text (RFC 8970), not message data: read as ENVELOPE's text is.
        b"PREVIEW" => cx.nstring(rest).map(|(r, s)| (r, FetchItem::Preview(s))),
        _ => {
            let (r, ()) = other_value(cx, rest, 0)?;
            let value = &rest[..rest.len() - r.len()];
            // A keyword is ASCII.
            let Ok(name) = std::str::from_utf8(name) else {
                return fail(input, "a FETCH item");
            };
            Ok((r, FetchItem::Other(OtherItem::from_parsed(name, value))))
        }
    }
}

/// Whether `value` is exactly one value of an extension's item ([`other_value`]).
pub(crate) fn is_item_value(value: &[u8]) -> bool {
    let opts = super::ResponseOptions::default();
    let cx = Cx {
        opts: &opts,
        text: None,
    };
    matches!(other_value(cx, value, 0), Ok(([], ())))
}

/// The value of an item of an extension (RFC 4466 `tagged-ext-val`, with flags in its lists
/// as Gmail's `X-GM-LABELS (\Inbox "Muy Importante")`): a string, a parenthesized list of
/// values, or a run of printable octets other than specials (a number, an atom, a flag).
fn other_value<'a>(cx: Cx<'_, 'a>, input: &'a [u8], depth: usize) -> PResult<'a, ()> {
    match input.first() {
        Some(b'(') => {
            let depth = cx.nest(input, depth)?;
            let mut rest = &input[1..];
            if let Some(r) = rest.strip_prefix(b")") {
                return Ok((r, ()));
            }
            loop {
                let (r, ()) = other_value(cx, rest, depth)?;
                if let Some(r) = r.strip_prefix(b")") {
                    return Ok((r, ()));
                }
                let (r, ()) = sp(r)?;
                rest = r;
            }
        }
        Some(b'"' | b'{' | b'~') => core::string(input).map(|(r, _)| (r, ())),
        _ => {
            let len = input
                .iter()
                .position(|&b| !b.is_ascii_graphic() || matches!(b, b'(' | b')' | b'"' | b'{'))
                .unwrap_or(input.len());
            if len == 0 {
                return fail(input, "a FETCH item's value");
            }
            Ok((&input[len..], ()))
        }
    }
}

/// `date-time`, and under [`Leniency::unpadded_day`](super::Leniency::unpadded_day) a day
/// of one digit without its padding space.
fn date_time<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, DateTime> {
    let strict = core::date_time(input);
    if strict.is_ok() || !cx.lenient().unpadded_day {
        return strict;
    }
    let [b'"', day, b'-', ..] = input else {
        return strict;
    };
    // The value is short: pad a copy of it, not of the rest of the input.
    let close = input.iter().take(40).skip(1).position(|&b| b == b'"');
    let Some(close) = close.filter(|_| day.is_ascii_digit()).map(|q| q + 1) else {
        return strict;
    };
    let mut padded = b"\" ".to_vec();
    padded.extend_from_slice(&input[1..=close]);
    match core::date_time(&padded) {
        Ok(([], d)) => Ok((&input[close + 1..], d)),
        _ => strict,
    }
}

/// `["<" number ">"]`
fn origin(input: &[u8]) -> PResult<'_, Option<u32>> {
    let Some(r) = input.strip_prefix(b"<") else {
        return Ok((input, None));
    };
    let (r, n) = number(r)?;
    let (r, ()) = byte(r, b'>')?;
    Ok((r, Some(n)))
}

/// `section-binary = "[" [section-part] "]"`, `section-part = nz-number *("." nz-number)`
fn section_binary(input: &[u8]) -> PResult<'_, Vec<u32>> {
    let (mut rest, ()) = byte(input, b'[')?;
    let mut part = Vec::new();
    if let Some(r) = rest.strip_prefix(b"]") {
        return Ok((r, part));
    }
    loop {
        let (r, n) = nz_number(rest)?;
        part.push(n);
        if let Some(r) = r.strip_prefix(b"]") {
            return Ok((r, part));
        }
        let (r, ()) = byte(r, b'.')?;
        rest = r;
    }
}
