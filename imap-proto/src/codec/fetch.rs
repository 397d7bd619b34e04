//! FETCH and STORE arguments (RFC 9051 §6.4.5–6, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC,
//! RFC 8474 OBJECTID, RFC 8514 SAVEDATE, RFC 8970 PREVIEW).

use super::{
    command::{keyword, label, upper},
    command_args::{mod_sequence_value, paren_list1, store_flag, store_flag_list},
    core::{PResult, byte, fail, number64, nz_number, section, sequence_set, sp, tag_no_case},
};
use crate::types::{
    command::{CommandBody, StoreAction},
    fetch_attr::{FetchAttr, FetchItems, FetchMacro, FetchModifiers, Partial},
};

/// ```text
/// fetch           = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
///                   fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
/// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
/// fetch-modifier  = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED"   ; RFC 7162
/// fetch-modifier  =/ modifier-partial                                  ; RFC 9394
/// modifier-partial = "PARTIAL" SP partial-range
/// ```
pub(crate) fn fetch(input: &[u8], uid: bool) -> PResult<'_, CommandBody<'_>> {
    let (rest, set) = sequence_set(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, items) = fetch_items(rest)?;
    let (rest, modifiers) = match rest.strip_prefix(b" ") {
        Some(r) => fetch_modifiers(r)?,
        None => (rest, FetchModifiers::default()),
    };
    Ok((
        rest,
        CommandBody::Fetch {
            uid,
            set,
            items,
            modifiers,
        },
    ))
}

fn fetch_items(input: &[u8]) -> PResult<'_, FetchItems<'_>> {
    if input.starts_with(b"(") {
        let (r, v) = paren_list1(input, "fetch-att", fetch_att)?;
        return Ok((r, FetchItems::List(v)));
    }
    if let Ok((r, k)) = keyword(input) {
        let mut buf = [0; 24];
        let m = match upper(k, &mut buf) {
            b"ALL" => Some(FetchMacro::All),
            b"FAST" => Some(FetchMacro::Fast),
            b"FULL" => Some(FetchMacro::Full),
            _ => None,
        };
        if let Some(m) = m {
            return Ok((r, FetchItems::Macro(m)));
        }
    }
    let (r, a) = fetch_att(input)?;
    Ok((r, FetchItems::Single(a)))
}

fn fetch_modifiers(input: &[u8]) -> PResult<'_, FetchModifiers> {
    let mut m = FetchModifiers::default();
    let (rest, _) = paren_list1(input, "fetch-modifier", |i| {
        let (r, k) = label(i, "CHANGEDSINCE, VANISHED or PARTIAL", keyword)?;
        if k.eq_ignore_ascii_case(b"CHANGEDSINCE") && m.changed_since.is_none() {
            let (r, ()) = sp(r)?;
            let (r, n) = mod_sequence_value(r)?;
            m.changed_since = Some(n);
            Ok((r, ()))
        } else if k.eq_ignore_ascii_case(b"VANISHED") && !m.vanished {
            m.vanished = true;
            Ok((r, ()))
        } else if k.eq_ignore_ascii_case(b"PARTIAL") && m.partial.is_none() {
            let (r, ()) = sp(r)?;
            let (r, range) = super::search::partial_range(r)?;
            m.partial = Some(range);
            Ok((r, ()))
        } else {
            fail(i, "CHANGEDSINCE, VANISHED or PARTIAL, once each")
        }
    })?;
    Ok((rest, m))
}

/// ```text
/// fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" / "BODY" ["STRUCTURE"] /
///             "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
///             "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary /
///             "RFC822" [".HEADER" / ".TEXT"] / "MODSEQ" / "EMAILID" / "THREADID" /
///             "SAVEDATE" / "PREVIEW" [SP "(" "LAZY" ")"]
/// ```
pub(crate) fn fetch_att(input: &[u8]) -> PResult<'_, FetchAttr<'_>> {
    let (rest, k) = label(input, "fetch-att", keyword)?;
    let mut buf = [0; 24];
    let simple = match upper(k, &mut buf) {
        b"ENVELOPE" => FetchAttr::Envelope,
        b"FLAGS" => FetchAttr::Flags,
        b"INTERNALDATE" => FetchAttr::InternalDate,
        b"RFC822.SIZE" => FetchAttr::Rfc822Size,
        b"BODYSTRUCTURE" => FetchAttr::BodyStructure,
        b"UID" => FetchAttr::Uid,
        b"MODSEQ" => FetchAttr::ModSeq,
        b"EMAILID" => FetchAttr::EmailId,
        b"THREADID" => FetchAttr::ThreadId,
        b"SAVEDATE" => FetchAttr::SaveDate,
        b"RFC822" => FetchAttr::Rfc822,
        b"RFC822.HEADER" => FetchAttr::Rfc822Header,
        b"RFC822.TEXT" => FetchAttr::Rfc822Text,
        b"BODY" if !rest.starts_with(b"[") => FetchAttr::Body,
        b"BODY" | b"BODY.PEEK" => {
            let peek = k.len() > 4;
            let (r, section) = section(rest)?;
            let (r, partial) = partial(r)?;
            return Ok((
                r,
                FetchAttr::BodySection {
                    peek,
                    section,
                    partial,
                },
            ));
        }
        b"BINARY" | b"BINARY.PEEK" => {
            let peek = k.len() > 6;
            let (r, part) = section_binary(rest)?;
            let (r, partial) = partial(r)?;
            return Ok((
                r,
                FetchAttr::Binary {
                    peek,
                    part,
                    partial,
                },
            ));
        }
        b"BINARY.SIZE" => {
            let (r, part) = section_binary(rest)?;
            return Ok((r, FetchAttr::BinarySize { part }));
        }
        b"PREVIEW" => {
            return match rest.get(..7) {
                Some(m) if m.eq_ignore_ascii_case(b" (LAZY)") => {
                    Ok((&rest[7..], FetchAttr::Preview { lazy: true }))
                }
                _ => Ok((rest, FetchAttr::Preview { lazy: false })),
            };
        }
        _ => return fail(input, "fetch-att"),
    };
    Ok((rest, simple))
}

/// `partial = "<" number64 "." nz-number64 ">"` (optional)
fn partial(input: &[u8]) -> PResult<'_, Option<Partial>> {
    let Some(r) = input.strip_prefix(b"<") else {
        return Ok((input, None));
    };
    let (r, offset) = number64(r)?;
    let (r, ()) = byte(r, b'.')?;
    let (r, length) = number64(r)?;
    let (r, ()) = byte(r, b'>')?;
    match Partial::new(offset, length) {
        Ok(p) => Ok((r, Some(p))),
        Err(_) => fail(input, "partial with a length of 1 or more"),
    }
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
        match r.strip_prefix(b".") {
            Some(r) => rest = r,
            None => return byte(r, b']').map(|(r, ())| (r, part)),
        }
    }
}

/// ```text
/// store           = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
/// store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"     ; RFC 7162
/// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
/// ```
pub(crate) fn store(input: &[u8], uid: bool) -> PResult<'_, CommandBody<'_>> {
    let (rest, set) = sequence_set(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, unchanged_since) = if rest.starts_with(b"(") {
        let (r, ()) = byte(rest, b'(')?;
        let (r, _) = tag_no_case(r, "UNCHANGEDSINCE")?;
        let (r, ()) = sp(r)?;
        let (r, n) = label(r, "mod-sequence-valzer", number64)?;
        let (r, ()) = byte(r, b')')?;
        (sp(r)?.0, Some(n))
    } else {
        (rest, None)
    };
    let (rest, action) = match rest.first() {
        Some(b'+') => (&rest[1..], StoreAction::Add),
        Some(b'-') => (&rest[1..], StoreAction::Remove),
        _ => (rest, StoreAction::Replace),
    };
    let (rest, _) = tag_no_case(rest, "FLAGS")?;
    let (rest, silent) = match tag_no_case(rest, ".SILENT") {
        Ok((r, _)) => (r, true),
        Err(_) => (rest, false),
    };
    let (rest, ()) = sp(rest)?;
    let (rest, flags) = if rest.starts_with(b"(") {
        store_flag_list(rest)?
    } else {
        let (mut rest, first) = store_flag(rest)?;
        let mut flags = vec![first];
        while let Some(r) = rest.strip_prefix(b" ") {
            let (r, f) = store_flag(r)?;
            flags.push(f);
            rest = r;
        }
        (rest, flags)
    };
    Ok((
        rest,
        CommandBody::Store {
            uid,
            set,
            unchanged_since,
            action,
            silent,
            flags,
        },
    ))
}
