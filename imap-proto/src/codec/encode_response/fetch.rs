//! Encoding FETCH items: ENVELOPE, BODY/BODYSTRUCTURE and the message data items.

use super::super::EncodeBuf;
use crate::types::{
    body::{
        Body, BodyExtension, BodyFields, BodyParams, ExtDisposition, Language, SinglePart,
        SinglePartKind,
    },
    core::{IString, NString},
    envelope::{Address, Envelope},
    fetch::{FetchItem, LiteralItem},
};

fn nstring(s: &NString<'_>, out: &mut EncodeBuf) {
    out.push_nstring(s.as_ref());
}

fn origin(o: Option<u32>, out: &mut EncodeBuf) {
    if let Some(n) = o {
        out.push_display(format_args!("<{n}>"));
    }
}

fn section_part(part: &[u32], out: &mut EncodeBuf) {
    out.push(b"[");
    for (i, p) in part.iter().enumerate() {
        if i > 0 {
            out.push(b".");
        }
        out.push_display(p);
    }
    out.push(b"]");
}

pub(super) fn fetch_item(out: &mut EncodeBuf, item: &FetchItem<'_>) {
    match item {
        FetchItem::Flags(flags) => {
            out.push(b"FLAGS ");
            out.push_flag_list(flags);
        }
        FetchItem::Uid(n) => out.push_display(format_args!("UID {n}")),
        FetchItem::InternalDate(d) => {
            out.push(b"INTERNALDATE ");
            out.push_date_time(d);
        }
        FetchItem::Rfc822Size(n) => out.push_display(format_args!("RFC822.SIZE {n}")),
        FetchItem::Envelope(e) => {
            out.push(b"ENVELOPE ");
            envelope(e, out);
        }
        FetchItem::Body(b) => {
            out.push(b"BODY ");
            body(b, out);
        }
        FetchItem::BodyStructure(b) => {
            out.push(b"BODYSTRUCTURE ");
            body(b, out);
        }
        FetchItem::BodySection {
            section,
            origin: o,
            data,
        } => {
            out.push(b"BODY");
            out.push_section(section);
            origin(*o, out);
            out.push(b" ");
            nstring(data, out);
        }
        FetchItem::Binary {
            part,
            origin: o,
            data,
        } => {
            out.push(b"BINARY");
            section_part(part, out);
            origin(*o, out);
            out.push(b" ");
            nstring(data, out);
        }
        FetchItem::BinarySize { part, size } => {
            out.push(b"BINARY.SIZE");
            section_part(part, out);
            out.push_display(format_args!(" {size}"));
        }
        FetchItem::ModSeq(n) => out.push_display(format_args!("MODSEQ ({n})")),
        FetchItem::EmailId(id) => out.push_display(format_args!("EMAILID ({id})")),
        FetchItem::ThreadId(Some(id)) => out.push_display(format_args!("THREADID ({id})")),
        FetchItem::ThreadId(None) => out.push(b"THREADID NIL"),
        FetchItem::SaveDate(Some(d)) => {
            out.push(b"SAVEDATE ");
            out.push_date_time(d);
        }
        FetchItem::SaveDate(None) => out.push(b"SAVEDATE NIL"),
        FetchItem::Rfc822(s)
        | FetchItem::Rfc822Header(s)
        | FetchItem::Rfc822Text(s)
        | FetchItem::Preview(s) => {
            out.push(item.name().as_bytes());
            out.push(b" ");
            nstring(s, out);
        }
        FetchItem::Other(o) => {
            out.push(o.name().as_bytes());
            out.push(b" ");
            out.push(o.value());
        }
    }
}

/// The start of a FETCH response whose last items are streamed literals:
/// `* seq FETCH (item SP item` (no space after the last).
pub(crate) fn fetch_open(seq: u32, items: &[FetchItem<'_>], out: &mut EncodeBuf) {
    out.push_display(format_args!("* {seq} FETCH ("));
    out.push_separated(items, fetch_item);
}

/// A streamed literal's item name and length: `BODY[section]<origin> {len}` CRLF (`~{len}`
/// for BINARY), its octets to follow.
pub(crate) fn literal_head(item: &LiteralItem<'_>, len: u64, out: &mut EncodeBuf) {
    match item {
        LiteralItem::BodySection { section, origin: o } => {
            out.push(b"BODY");
            out.push_section(section);
            origin(*o, out);
        }
        LiteralItem::Binary { part, origin: o } => {
            out.push(b"BINARY");
            section_part(part, out);
            origin(*o, out);
        }
        LiteralItem::Rfc822 => out.push(b"RFC822"),
        LiteralItem::Rfc822Header => out.push(b"RFC822.HEADER"),
        LiteralItem::Rfc822Text => out.push(b"RFC822.TEXT"),
    }
    let tilde = if item.is_binary() { "~" } else { "" };
    out.push_display(format_args!(" {tilde}{{{len}}}\r\n"));
}

fn envelope(e: &Envelope<'_>, out: &mut EncodeBuf) {
    out.push(b"(");
    nstring(&e.date, out);
    out.push(b" ");
    nstring(&e.subject, out);
    for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
        out.push(b" ");
        address_list(list, out);
    }
    out.push(b" ");
    nstring(&e.in_reply_to, out);
    out.push(b" ");
    nstring(&e.message_id, out);
    out.push(b")");
}

fn address_list(list: &[Address<'_>], out: &mut EncodeBuf) {
    if list.is_empty() {
        out.push(b"NIL");
        return;
    }
    out.push(b"(");
    for a in list {
        out.push(b"(");
        nstring(&a.name, out);
        out.push(b" ");
        nstring(&a.adl, out);
        out.push(b" ");
        nstring(&a.mailbox, out);
        out.push(b" ");
        nstring(&a.host, out);
        out.push(b")");
    }
    out.push(b")");
}

/// `body`
fn body(b: &Body<'_>, out: &mut EncodeBuf) {
    out.push(b"(");
    match b {
        Body::Single(p) => single_part(p, out),
        Body::Multi(m) => {
            for part in &m.parts {
                body(part, out);
            }
            out.push(b" ");
            out.push_string(&m.subtype);
            if let Some(ext) = &m.ext {
                out.push(b" ");
                body_params(&ext.params, out);
                ext_disposition(ext.more.as_ref(), out);
            }
        }
    }
    out.push(b")");
}

fn single_part(p: &SinglePart<'_>, out: &mut EncodeBuf) {
    out.push_string(&p.media_type);
    out.push(b" ");
    out.push_string(&p.subtype);
    out.push(b" ");
    body_fields(&p.fields, out);
    match &p.specific {
        SinglePartKind::Basic => {}
        SinglePartKind::Text { lines } => out.push_display(format_args!(" {lines}")),
        SinglePartKind::Message {
            envelope: e,
            body: b,
            lines,
        } => {
            out.push(b" ");
            envelope(e, out);
            out.push(b" ");
            body(b, out);
            out.push_display(format_args!(" {lines}"));
        }
    }
    if let Some(ext) = &p.ext {
        out.push(b" ");
        nstring(&ext.md5, out);
        ext_disposition(ext.more.as_ref(), out);
    }
}

fn body_fields(f: &BodyFields<'_>, out: &mut EncodeBuf) {
    body_params(&f.params, out);
    out.push(b" ");
    nstring(&f.id, out);
    out.push(b" ");
    nstring(&f.description, out);
    out.push(b" ");
    nstring(&f.encoding, out);
    out.push_display(format_args!(" {}", f.octets));
}

fn body_params(params: &BodyParams<'_>, out: &mut EncodeBuf) {
    match params {
        None => out.push(b"NIL"),
        Some(list) => {
            out.push(b"(");
            out.push_separated(list, |out, (k, v)| {
                out.push_string(k);
                out.push(b" ");
                out.push_nstring(v.as_ref());
            });
            out.push(b")");
        }
    }
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
fn ext_disposition(ext: Option<&ExtDisposition<'_>>, out: &mut EncodeBuf) {
    let Some(ext) = ext else { return };
    out.push(b" ");
    match &ext.disposition {
        None => out.push(b"NIL"),
        Some(d) => {
            out.push(b"(");
            out.push_string(&d.kind);
            out.push(b" ");
            body_params(&d.params, out);
            out.push(b")");
        }
    }
    let Some(lang) = &ext.more else { return };
    out.push(b" ");
    match &lang.language {
        Language::Single(s) => nstring(s, out),
        Language::List(list) => {
            out.push(b"(");
            out.push_separated(list, |out, s: &IString<'_>| out.push_string(s));
            out.push(b")");
        }
    }
    let Some(loc) = &lang.more else { return };
    out.push(b" ");
    nstring(&loc.location, out);
    for e in &loc.extensions {
        out.push(b" ");
        body_extension(e, out);
    }
}

fn body_extension(e: &BodyExtension<'_>, out: &mut EncodeBuf) {
    match e {
        BodyExtension::String(s) => nstring(s, out),
        BodyExtension::Number(n) => out.push_display(n),
        BodyExtension::List(list) => {
            out.push(b"(");
            out.push_separated(list, |out, e| body_extension(e, out));
            out.push(b")");
        }
    }
}
