//! LIST and LSUB (`mailbox-list`, RFC 9051, RFC 5258 LIST-EXTENDED), mailbox names,
//! hierarchy delimiters and NAMESPACE (RFC 2342).

use super::{Cx, astring, ext::tagged_ext_val, string};
use crate::{
    codec::core::{PResult, ascii, atom, byte, expect, fail, nil, paren_list, quoted, sp},
    types::{
        core::{AString, IString},
        flag::MailboxAttr,
        mailbox::Mailbox,
        response::Data,
        response_data::{ListData, ListExtItem, NamespaceDescr, Namespaces},
    },
};

/// `"(" 1*DQUOTE QUOTED-CHAR DQUOTE ")" / nil`: a hierarchy delimiter.
pub(crate) fn delimiter(input: &[u8]) -> PResult<'_, Option<char>> {
    if let Ok((rest, ())) = nil(input) {
        return Ok((rest, None));
    }
    let (rest, q) = expect(input, "a quoted delimiter or NIL", quoted)?;
    let mut chars = q.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok((rest, Some(c))),
        _ => fail(input, "one QUOTED-CHAR"),
    }
}

/// Interprets a `mailbox` astring.
pub(crate) fn mailbox_name<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Mailbox<'a>> {
    let (rest, a) = expect(input, "mailbox", astring)?;
    match Mailbox::from_wire(a, cx.opts.utf8) {
        Ok(m) => Ok((rest, m)),
        Err(_) => fail(input, "a mailbox name without CR, LF or NUL"),
    }
}

/// ```text
/// mailbox-data  =/ "LIST" SP mailbox-list / "LSUB" SP mailbox-list
/// mailbox-list  = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
///                 [SP mbox-list-extended]
/// mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"
/// mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val
/// ```
pub(crate) fn mailbox_list<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, ListData<'a>> {
    let (rest, ()) = sp(input)?;
    let (rest, attributes) = paren_list(rest, mbx_list_flag)?;
    let (rest, ()) = sp(rest)?;
    let (rest, delimiter) = delimiter(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, mailbox) = mailbox_name(cx, rest)?;
    let (rest, extended) = match rest.strip_prefix(b" ") {
        Some(r) => {
            let (r, items) = paren_list(r, |i| list_ext_item(cx, i))?;
            (r, Some(items))
        }
        None => (rest, None),
    };
    Ok((
        rest,
        ListData {
            attributes,
            delimiter,
            mailbox,
            extended,
        },
    ))
}

/// `mbx-list-flag = "\" atom` (every kind: `\Noselect`, `\HasChildren`, `\Sent`, ...)
fn mbx_list_flag(input: &[u8]) -> PResult<'_, MailboxAttr<'_>> {
    let (rest, ()) = expect(input, "mbx-list-flag", |i| byte(i, b'\\'))?;
    let (rest, a) = atom(rest)?;
    match MailboxAttr::parse(ascii(&input[..=a.len()])) {
        Ok(attr) => Ok((rest, attr)),
        Err(_) => fail(input, "mbx-list-flag"),
    }
}

/// `CHILDINFO (...)`, `OLDNAME (mailbox)`, or any `astring SP tagged-ext-val`.
fn list_ext_item<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, ListExtItem<'a>> {
    let (rest, name) = astring(input)?;
    let (rest, ()) = sp(rest)?;
    // The tags are recognized in any form; servers and the RFCs quote them.
    if name.as_bytes().eq_ignore_ascii_case(b"CHILDINFO") {
        let (r, list) = paren_list(rest, astring)?;
        if list.is_empty() {
            return fail(rest, "at least one CHILDINFO value");
        }
        // Read unquoted too, but kept in the quoted form it is sent in.
        let list = list
            .into_iter()
            .map(|v| match v {
                AString::Atom(a) => AString::String(IString::Quoted(a)),
                s @ AString::String(_) => s,
            })
            .collect();
        return Ok((r, ListExtItem::ChildInfo(list)));
    }
    if name.as_bytes().eq_ignore_ascii_case(b"OLDNAME") {
        let (r, ()) = byte(rest, b'(')?;
        let (r, m) = mailbox_name(cx, r)?;
        let (r, ()) = byte(r, b')')?;
        return Ok((r, ListExtItem::OldName(m)));
    }
    let (rest, value) = tagged_ext_val(cx, rest, 0)?;
    Ok((rest, ListExtItem::Other { tag: name, value }))
}

/// ```text
/// namespace-response = "NAMESPACE" SP namespace SP namespace SP namespace
/// namespace          = nil / "(" 1*namespace-descr ")"
/// namespace-descr    = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
///                      *(SP string SP "(" string *(SP string) ")") ")"
/// ```
pub(crate) fn namespace_response<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let (rest, ()) = sp(input)?;
    let (rest, personal) = namespace(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, other) = namespace(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, shared) = namespace(cx, rest)?;
    Ok((
        rest,
        Data::Namespace(Namespaces {
            personal,
            other,
            shared,
        }),
    ))
}

fn namespace<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Vec<NamespaceDescr<'a>>> {
    if let Ok((r, ())) = nil(input) {
        return Ok((r, Vec::new()));
    }
    let (mut rest, ()) = byte(input, b'(')?;
    let mut out = Vec::new();
    loop {
        let (r, d) = namespace_descr(rest)?;
        out.push(d);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, out));
        }
        rest = super::body::skip_list_space(cx, r);
    }
}

fn namespace_descr(input: &[u8]) -> PResult<'_, NamespaceDescr<'_>> {
    let (rest, ()) = byte(input, b'(')?;
    let (rest, prefix) = string(rest)?;
    let (rest, ()) = sp(rest)?;
    let (mut rest, delimiter) = delimiter(rest)?;
    let mut extensions = Vec::new();
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, name) = string(r)?;
        let (r, ()) = sp(r)?;
        let (r, values) = paren_list(r, string)?;
        if values.is_empty() {
            return fail(r, "at least one namespace extension value");
        }
        extensions.push((name, values));
        rest = r;
    }
    let (rest, ()) = byte(rest, b')')?;
    Ok((
        rest,
        NamespaceDescr {
            prefix,
            delimiter,
            extensions,
        },
    ))
}
