//! BODY/BODYSTRUCTURE and ENVELOPE (RFC 9051 §9).

use super::Cx;
use crate::{
    codec::core::{PResult, byte, nil, number, number64, sp},
    types::{
        body::{
            Body, BodyExtension, BodyFields, BodyParams, Disposition, ExtDisposition, ExtLanguage,
            ExtLocation, Language, MultiPart, MultiPartExt, SinglePart, SinglePartExt,
            SinglePartKind,
        },
        core::NString,
        envelope::{Address, Envelope},
    },
};

/// `body = "(" (body-type-1part / body-type-mpart) ")"`
pub(crate) fn body<'a>(cx: Cx<'_, 'a>, input: &'a [u8], depth: usize) -> PResult<'a, Body<'a>> {
    let depth = cx.nest(input, depth)?;
    let (rest, ()) = byte(input, b'(')?;
    let (rest, body) = if rest.starts_with(b"(") {
        body_type_mpart(cx, rest, depth).map(|(r, m)| (r, Body::Multi(m)))?
    } else {
        body_type_1part(cx, rest, depth).map(|(r, p)| (r, Body::Single(p)))?
    };
    let (rest, ()) = byte(rest, b')')?;
    Ok((rest, body))
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`
fn body_type_mpart<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, MultiPart<'a>> {
    let mut parts = Vec::new();
    let mut rest = input;
    while rest.starts_with(b"(") {
        let (r, part) = body(cx, rest, depth)?;
        parts.push(part);
        rest = skip_list_space(cx, r);
    }
    let (rest, ()) = sp(rest)?;
    let (rest, subtype) = cx.string(rest)?;
    let (rest, ext) = match rest.strip_prefix(b" ") {
        Some(r) => {
            // `body-ext-mpart = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
            let (r, params) = body_fld_param(cx, r)?;
            let (r, more) = ext_disposition(cx, r, depth)?;
            (r, Some(MultiPartExt { params, more }))
        }
        None => (rest, None),
    };
    Ok((
        rest,
        MultiPart {
            parts,
            subtype,
            ext,
        },
    ))
}

/// ```text
/// body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
/// body-type-basic = media-basic SP body-fields
/// body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
/// body-type-text  = media-text SP body-fields SP body-fld-lines
/// media-basic     = ((DQUOTE ("APPLICATION" / "AUDIO" / "IMAGE" / "FONT" / "MESSAGE" /
///                    "MODEL" / "VIDEO") DQUOTE) / string) SP media-subtype
/// ```
///
/// `media-basic` may be any string, `"TEXT"` and `"MESSAGE" "RFC822"` included, so the ABNF
/// is ambiguous: what follows the fields decides. Lines are a number and an envelope a
/// list; `body-ext-1part` starts with an nstring, which is neither.
fn body_type_1part<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, SinglePart<'a>> {
    let (rest, media_type) = cx.string(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, subtype) = cx.string(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, fields) = body_fields(cx, rest)?;
    let is = |s: &crate::types::core::IString<'_>, v: &str| {
        s.as_bytes().eq_ignore_ascii_case(v.as_bytes())
    };
    let next = rest.strip_prefix(b" ").and_then(<[u8]>::first);
    let (rest, specific) = if is(&media_type, "TEXT") && next.is_some_and(u8::is_ascii_digit) {
        let (r, ()) = sp(rest)?;
        let (r, lines) = number64(r)?;
        (r, SinglePartKind::Text { lines })
    } else if is(&media_type, "MESSAGE")
        && (is(&subtype, "RFC822") || is(&subtype, "GLOBAL"))
        && next == Some(&b'(')
    {
        let (r, ()) = sp(rest)?;
        let (r, envelope) = envelope(cx, r)?;
        let (r, ()) = sp(r)?;
        let (r, inner) = body(cx, r, depth)?;
        let (r, ()) = sp(r)?;
        let (r, lines) = number64(r)?;
        (
            r,
            SinglePartKind::Message {
                envelope: Box::new(envelope),
                body: Box::new(inner),
                lines,
            },
        )
    } else {
        (rest, SinglePartKind::Basic)
    };
    let (rest, ext) = match rest.strip_prefix(b" ") {
        Some(r) => {
            // `body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
            let (r, md5) = cx.nstring(r)?;
            let (r, more) = ext_disposition(cx, r, depth)?;
            (r, Some(SinglePartExt { md5, more }))
        }
        None => (rest, None),
    };
    Ok((
        rest,
        SinglePart {
            media_type,
            subtype,
            fields,
            specific,
            ext,
        },
    ))
}

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`
fn body_fields<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, BodyFields<'a>> {
    let (rest, params) = body_fld_param(cx, input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, id) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, description) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    // `body-fld-enc = (DQUOTE ("7BIT" / "8BIT" / "BINARY" / "BASE64"/ "QUOTED-PRINTABLE") DQUOTE) / string`
    let (rest, encoding) = string_or_lenient_nil(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, octets) = number(rest)?;
    Ok((
        rest,
        BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        },
    ))
}

/// A `string`, or `NIL` under [`Leniency::nil_for_string`](super::Leniency::nil_for_string).
fn string_or_lenient_nil<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, NString<'a>> {
    if cx.lenient().nil_for_string
        && let Ok((r, ())) = nil(input)
    {
        return Ok((r, None));
    }
    cx.string(input).map(|(r, s)| (r, Some(s)))
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
fn body_fld_param<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, BodyParams<'a>> {
    if let Ok((r, ())) = nil(input) {
        return Ok((r, None));
    }
    if let Some(r) = empty_list(cx, input) {
        return Ok((r, None));
    }
    let (mut rest, ()) = byte(input, b'(')?;
    let mut params = Vec::new();
    loop {
        let (r, key) = cx.string(rest)?;
        let (r, ()) = sp(r)?;
        let (r, value) = string_or_lenient_nil(cx, r)?;
        params.push((key, value));
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, Some(params)));
        }
        let (r, ()) = sp(r)?;
        rest = r;
    }
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
fn ext_disposition<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, Option<ExtDisposition<'a>>> {
    let Some(rest) = input.strip_prefix(b" ") else {
        return Ok((input, None));
    };
    let (rest, disposition) = body_fld_dsp(cx, rest)?;
    let Some(rest) = rest.strip_prefix(b" ") else {
        return Ok((
            rest,
            Some(ExtDisposition {
                disposition,
                more: None,
            }),
        ));
    };
    let (rest, language) = body_fld_lang(cx, rest)?;
    let Some(rest) = rest.strip_prefix(b" ") else {
        return Ok((
            rest,
            Some(ExtDisposition {
                disposition,
                more: Some(ExtLanguage {
                    language,
                    more: None,
                }),
            }),
        ));
    };
    let (mut rest, location) = cx.nstring(rest)?;
    let mut extensions = Vec::new();
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, e) = body_extension(cx, r, depth)?;
        extensions.push(e);
        rest = r;
    }
    Ok((
        rest,
        Some(ExtDisposition {
            disposition,
            more: Some(ExtLanguage {
                language,
                more: Some(ExtLocation {
                    location,
                    extensions,
                }),
            }),
        }),
    ))
}

/// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
fn body_fld_dsp<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Option<Disposition<'a>>> {
    if let Ok((r, ())) = nil(input) {
        return Ok((r, None));
    }
    let (rest, ()) = byte(input, b'(')?;
    let (rest, kind) = cx.string(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, params) = body_fld_param(cx, rest)?;
    let (rest, ()) = byte(rest, b')')?;
    Ok((rest, Some(Disposition { kind, params })))
}

/// `body-fld-lang = nstring / "(" string *(SP string) ")"`
fn body_fld_lang<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Language<'a>> {
    let Some(mut rest) = input.strip_prefix(b"(") else {
        return cx.nstring(input).map(|(r, s)| (r, Language::Single(s)));
    };
    let mut list = Vec::new();
    loop {
        let (r, s) = cx.string(rest)?;
        list.push(s);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, Language::List(list)));
        }
        let (r, ()) = sp(r)?;
        rest = r;
    }
}

/// `body-extension = nstring / number / number64 / "(" body-extension *(SP body-extension) ")"`
fn body_extension<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, BodyExtension<'a>> {
    if input.first().is_some_and(u8::is_ascii_digit) {
        return number64(input).map(|(r, n)| (r, BodyExtension::Number(n)));
    }
    let Some(mut rest) = input.strip_prefix(b"(") else {
        return cx
            .nstring(input)
            .map(|(r, s)| (r, BodyExtension::String(s)));
    };
    let depth = cx.nest(input, depth)?;
    let mut list = Vec::new();
    loop {
        let (r, e) = body_extension(cx, rest, depth)?;
        list.push(e);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, BodyExtension::List(list)));
        }
        let (r, ()) = sp(r)?;
        rest = r;
    }
}

/// ```text
/// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to
///            SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
/// ```
pub(crate) fn envelope<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Envelope<'a>> {
    let (rest, ()) = byte(input, b'(')?;
    let (rest, date) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, subject) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, from) = address_list(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, sender) = address_list(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, reply_to) = address_list(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, to) = address_list(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, cc) = address_list(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, bcc) = address_list(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, in_reply_to) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, message_id) = cx.nstring(rest)?;
    let (rest, ()) = byte(rest, b')')?;
    Ok((
        rest,
        Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to,
            cc,
            bcc,
            in_reply_to,
            message_id,
        },
    ))
}

/// `env-from = "(" 1*address ")" / nil` (and the other address lists)
fn address_list<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Vec<Address<'a>>> {
    if let Ok((r, ())) = nil(input) {
        return Ok((r, Vec::new()));
    }
    if let Some(r) = empty_list(cx, input) {
        return Ok((r, Vec::new()));
    }
    let (mut rest, ()) = byte(input, b'(')?;
    let mut list = Vec::new();
    loop {
        let (r, a) = address(cx, rest)?;
        list.push(a);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, list));
        }
        rest = skip_list_space(cx, r);
    }
}

/// Under [`Leniency::empty_lists`](super::Leniency::empty_lists), the input after a `()`
/// that stands for `NIL`.
fn empty_list<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> Option<&'a [u8]> {
    input
        .strip_prefix(b"()")
        .filter(|_| cx.lenient().empty_lists)
}

/// Under [`Leniency::spaces_in_lists`](super::Leniency::spaces_in_lists), the SP before the
/// next `(` of a list whose items the grammar writes without separators.
pub(crate) fn skip_list_space<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> &'a [u8] {
    match input.strip_prefix(b" ") {
        Some(r) if cx.lenient().spaces_in_lists && r.starts_with(b"(") => r,
        _ => input,
    }
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
fn address<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Address<'a>> {
    let (rest, ()) = byte(input, b'(')?;
    let (rest, name) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, adl) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, mailbox) = cx.nstring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, host) = cx.nstring(rest)?;
    let (rest, ()) = byte(rest, b')')?;
    Ok((
        rest,
        Address {
            name,
            adl,
            mailbox,
            host,
        },
    ))
}
