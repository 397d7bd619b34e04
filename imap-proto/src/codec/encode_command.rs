//! Encoding commands in canonical form: upper-case keywords, single spaces, values in the form
//! they hold (atom, quoted or literal), so a decoded canonical command re-encodes to the same
//! octets. Literal marks are recorded in the [`EncodeBuf`] so a client knows where to wait for
//! `+`.
//!
//! Values that cannot be sent as they are (an atom or quoted string holding CR, LF or other
//! characters its form does not allow, built by hand through a public enum variant) are sent
//! in a form that can hold them instead, so no value can inject a line.

use super::{CommandOptions, EncodeBuf, frame::LiteralMode};
use crate::types::{
    command::{
        AppendData, CatPart, Command, CommandBody, ListMailbox, ListReturnOpt, MetadataDepth,
        SaslResponse, SelectParam, StoreAction, is_list_char,
    },
    core::{AString, IString, Literal, is_atom_char, is_bare_astring, is_quotable, is_text_char},
    fetch_attr::{FetchAttr, FetchItems, FetchModifiers, Partial},
    mailbox::Mailbox,
    search::Charset,
};

mod notify;
mod search;

pub(crate) use notify::push_event;
use search::{push_search_keys, push_search_return_opts};

/// Appends `cmd` (tag, command, arguments, final CRLF) to `out`.
pub fn encode_command(cmd: &Command<'_>, opts: &CommandOptions, out: &mut EncodeBuf) {
    out.utf8 = opts.utf8;
    out.server = false;
    out.push(cmd.tag.as_str().as_bytes());
    out.push(b" ");
    encode_body(&cmd.body, opts, out);
    out.push(b"\r\n");
}

/// Appends the `DONE` line that ends IDLE.
pub fn encode_idle_done(out: &mut EncodeBuf) {
    out.push(b"DONE\r\n");
}

/// Appends a SASL response line (after a continuation request during AUTHENTICATE).
/// [`SaslResponse::Empty`] is sent as an empty line.
pub fn encode_sasl_response(resp: &SaslResponse<'_>, out: &mut EncodeBuf) {
    match resp {
        SaslResponse::Base64(data) => out.push(data.expose().as_bytes()),
        SaslResponse::Empty => {}
        SaslResponse::Cancel => out.push(b"*"),
    }
    out.push(b"\r\n");
}

fn encode_body(body: &CommandBody<'_>, opts: &CommandOptions, out: &mut EncodeBuf) {
    out.push(body.name().as_bytes());
    let utf8 = opts.utf8;
    match body {
        CommandBody::Capability
        | CommandBody::Noop
        | CommandBody::Logout
        | CommandBody::StartTls
        | CommandBody::Namespace
        | CommandBody::Idle
        | CommandBody::Check
        | CommandBody::Close
        | CommandBody::Unselect
        | CommandBody::Expunge => {}
        CommandBody::Authenticate { mechanism, initial } => {
            out.push(b" ");
            out.push(mechanism.as_str().as_bytes());
            match initial {
                Some(SaslResponse::Base64(d)) if !d.expose().is_empty() => {
                    out.push(b" ");
                    out.push(d.expose().as_bytes());
                }
                Some(SaslResponse::Base64(_) | SaslResponse::Empty) => out.push(b" ="),
                Some(SaslResponse::Cancel) | None => {}
            }
        }
        CommandBody::Login { username, password } => {
            out.push(b" ");
            push_astring(out, username);
            out.push(b" ");
            push_astring(out, password.expose());
        }
        CommandBody::Enable { capabilities } => {
            for c in capabilities {
                out.push(b" ");
                out.push_display(c);
            }
        }
        CommandBody::Select { mailbox, params } | CommandBody::Examine { mailbox, params } => {
            sp_mailbox(out, mailbox, utf8);
            if !params.is_empty() {
                out.push(b" (");
                out.push_separated(params, push_select_param);
                out.push(b")");
            }
        }
        CommandBody::Create {
            mailbox,
            special_use,
        } => {
            sp_mailbox(out, mailbox, utf8);
            if let Some(attrs) = special_use {
                out.push(b" (USE (");
                out.push_separated(attrs, |o, a| o.push_display(a));
                out.push(b"))");
            }
        }
        CommandBody::Delete { mailbox }
        | CommandBody::Subscribe { mailbox }
        | CommandBody::Unsubscribe { mailbox }
        | CommandBody::GetQuotaRoot { mailbox } => sp_mailbox(out, mailbox, utf8),
        CommandBody::Rename { from, to } => {
            sp_mailbox(out, from, utf8);
            sp_mailbox(out, to, utf8);
        }
        CommandBody::List {
            selection,
            reference,
            patterns,
            return_opts,
        } => {
            if let Some(sel) = selection {
                out.push(b" (");
                out.push_separated(sel, |o, s| o.push(s.as_str().as_bytes()));
                out.push(b")");
            }
            sp_mailbox(out, reference, utf8);
            out.push(b" ");
            if let [one] = patterns.as_slice() {
                push_list_mailbox(out, one);
            } else {
                out.push(b"(");
                out.push_separated(patterns, push_list_mailbox);
                out.push(b")");
            }
            if let Some(ret) = return_opts {
                out.push(b" RETURN (");
                out.push_separated(ret, push_list_return_opt);
                out.push(b")");
            }
        }
        CommandBody::Lsub { reference, pattern } => {
            sp_mailbox(out, reference, utf8);
            out.push(b" ");
            push_list_mailbox(out, pattern);
        }
        CommandBody::Status { mailbox, attrs } => {
            sp_mailbox(out, mailbox, utf8);
            out.push(b" (");
            out.push_separated(attrs, |o, a| o.push(a.as_str().as_bytes()));
            out.push(b")");
        }
        CommandBody::Append { mailbox, messages } => {
            sp_mailbox(out, mailbox, utf8);
            for m in messages {
                if let Some(flags) = &m.flags {
                    out.push(b" ");
                    out.push_flag_list(flags);
                }
                if let Some(date) = &m.date {
                    out.push(b" ");
                    out.push_date_time(date);
                }
                out.push(b" ");
                match &m.data {
                    AppendData::Literal(l) => out.push_literal(l),
                    AppendData::Utf8(l) => {
                        out.push(b"UTF8 (");
                        let binary = Literal::binary(l.data(), l.mode());
                        out.push_literal(&binary);
                        out.push(b")");
                    }
                    AppendData::Catenate(parts) => {
                        out.push(b"CATENATE (");
                        for (i, part) in parts.iter().enumerate() {
                            if i > 0 {
                                out.push(b" ");
                            }
                            match part {
                                CatPart::Text(l) => {
                                    out.push(b"TEXT ");
                                    out.push_literal(l);
                                }
                                CatPart::Url(u) => {
                                    out.push(b"URL ");
                                    out.push_astring(u);
                                }
                            }
                        }
                        out.push(b")");
                    }
                }
            }
        }
        CommandBody::UidExpunge { set } => {
            out.push(b" ");
            out.push_sequence_set(set);
        }
        CommandBody::Search {
            return_opts,
            charset,
            criteria,
            ..
        } => {
            push_search_return_opts(out, return_opts.as_deref());
            if let Some(c) = charset {
                out.push(b" CHARSET ");
                push_charset(out, c);
            }
            push_search_keys(out, criteria);
        }
        CommandBody::Fetch {
            set,
            items,
            modifiers,
            ..
        } => {
            out.push(b" ");
            out.push_sequence_set(set);
            out.push(b" ");
            match items {
                FetchItems::Macro(m) => out.push(m.as_str().as_bytes()),
                FetchItems::Single(a) => push_fetch_att(out, a),
                FetchItems::List(v) => {
                    out.push(b"(");
                    out.push_separated(v, push_fetch_att);
                    out.push(b")");
                }
            }
            push_fetch_modifiers(out, *modifiers);
        }
        CommandBody::Store {
            set,
            unchanged_since,
            action,
            silent,
            flags,
            ..
        } => {
            out.push(b" ");
            out.push_sequence_set(set);
            if let Some(n) = unchanged_since {
                out.push(b" (UNCHANGEDSINCE ");
                out.push_display(n);
                out.push(b")");
            }
            out.push(match action {
                StoreAction::Replace => b" FLAGS",
                StoreAction::Add => b" +FLAGS",
                StoreAction::Remove => b" -FLAGS",
            });
            if *silent {
                out.push(b".SILENT");
            }
            out.push(b" ");
            out.push_flag_list(flags);
        }
        CommandBody::Copy { set, mailbox, .. } | CommandBody::Move { set, mailbox, .. } => {
            out.push(b" ");
            out.push_sequence_set(set);
            sp_mailbox(out, mailbox, utf8);
        }
        CommandBody::Id { params } => match params {
            None => out.push(b" NIL"),
            Some(params) => {
                out.push(b" (");
                out.push_separated(params, |o, (k, v)| {
                    push_string(o, k);
                    o.push(b" ");
                    push_nstring(o, v.as_ref());
                });
                out.push(b")");
            }
        },
        CommandBody::GetQuota { root } => {
            out.push(b" ");
            push_astring(out, root);
        }
        CommandBody::SetQuota { root, limits } => {
            out.push(b" ");
            push_astring(out, root);
            out.push(b" (");
            out.push_separated(limits, |o, l| {
                o.push(l.resource.as_str().as_bytes());
                o.push(b" ");
                o.push_display(l.limit);
            });
            out.push(b")");
        }
        CommandBody::Compress { algorithm } => {
            out.push(b" ");
            out.push(algorithm.as_str().as_bytes());
        }
        CommandBody::CancelUpdate { tags } => {
            for t in tags {
                out.push(b" ");
                out.push_quoted(t.as_str());
            }
        }
        CommandBody::Sort {
            return_opts,
            criteria,
            charset,
            keys,
            ..
        } => {
            push_search_return_opts(out, return_opts.as_deref());
            out.push(b" (");
            out.push_separated(criteria, |o, c| {
                if c.reverse {
                    o.push(b"REVERSE ");
                }
                o.push(c.key.as_str().as_bytes());
            });
            out.push(b") ");
            push_charset(out, charset);
            push_search_keys(out, keys);
        }
        CommandBody::Thread {
            algorithm,
            charset,
            keys,
            ..
        } => {
            out.push(b" ");
            out.push(algorithm.as_str().as_bytes());
            out.push(b" ");
            push_charset(out, charset);
            push_search_keys(out, keys);
        }
        CommandBody::GetMetadata {
            options,
            mailbox,
            entries,
        } => {
            let mut opts_list: Vec<String> = Vec::new();
            if let Some(n) = options.max_size {
                opts_list.push(format!("MAXSIZE {n}"));
            }
            if let Some(d) = options.depth {
                opts_list.push(
                    match d {
                        MetadataDepth::Zero => "DEPTH 0",
                        MetadataDepth::One => "DEPTH 1",
                        MetadataDepth::Infinity => "DEPTH infinity",
                    }
                    .to_owned(),
                );
            }
            if !opts_list.is_empty() {
                out.push(b" (");
                out.push(opts_list.join(" ").as_bytes());
                out.push(b")");
            }
            sp_mailbox(out, mailbox, utf8);
            out.push(b" ");
            if let [one] = entries.as_slice() {
                push_astring(out, one);
            } else {
                out.push(b"(");
                out.push_separated(entries, push_astring);
                out.push(b")");
            }
        }
        CommandBody::SetMetadata { mailbox, entries } => {
            sp_mailbox(out, mailbox, utf8);
            out.push(b" (");
            out.push_separated(entries, |o, (k, v)| {
                push_astring(o, k);
                o.push(b" ");
                push_nstring(o, v.as_ref());
            });
            out.push(b")");
        }
        CommandBody::ResetKey {
            mailbox,
            mechanisms,
        } => {
            if let Some(m) = mailbox {
                sp_mailbox(out, m, utf8);
                for mech in mechanisms {
                    out.push(b" ");
                    out.push(mech.as_str().as_bytes());
                }
            }
        }
        CommandBody::GenUrlAuth { urls } => {
            for (url, mech) in urls {
                out.push(b" ");
                push_astring(out, url);
                out.push(b" ");
                out.push(mech.as_str().as_bytes());
            }
        }
        CommandBody::UrlFetch { urls } => {
            for url in urls {
                out.push(b" ");
                push_astring(out, url);
            }
        }
        CommandBody::Notify { set } => notify::push_notify(out, set.as_ref(), utf8),
    }
}

fn sp_mailbox(out: &mut EncodeBuf, m: &Mailbox<'_>, utf8: bool) {
    out.push(b" ");
    push_astring(out, &m.to_wire(utf8));
}

/// `astring`, in its form if the form can hold the value (`NIL` is quoted).
pub(crate) fn push_astring(out: &mut EncodeBuf, s: &AString<'_>) {
    match s {
        AString::Atom(a) if is_bare_astring(a.as_bytes()) => {
            out.push(a.as_bytes());
        }
        AString::Atom(a) => push_value(out, a.as_bytes()),
        AString::String(s) => push_string(out, s),
    }
}

/// `string`, in its form if the form can hold the value.
pub(crate) fn push_string(out: &mut EncodeBuf, s: &IString<'_>) {
    match s {
        IString::Quoted(q) if q.bytes().all(is_text_char) => out.push_text(q),
        IString::Quoted(q) => push_value(out, q.as_bytes()),
        IString::Literal(l) => out.push_literal(l),
    }
}

fn push_nstring(out: &mut EncodeBuf, s: Option<&IString<'_>>) {
    match s {
        Some(s) => push_string(out, s),
        None => out.push(b"NIL"),
    }
}

/// The cheapest string form for `value`: quoted, literal, or (with NUL) literal8.
fn push_value(out: &mut EncodeBuf, value: &[u8]) {
    if is_quotable(value) {
        out.push_text(&String::from_utf8_lossy(value));
        return;
    }
    match Literal::new(value, LiteralMode::Sync) {
        Ok(lit) => out.push_literal(&lit),
        Err(_) => out.push_literal(&Literal::binary(value, LiteralMode::Sync)),
    }
}

/// `charset = atom / quoted`
fn push_charset(out: &mut EncodeBuf, c: &Charset<'_>) {
    match c {
        AString::Atom(a) if !a.is_empty() && a.bytes().all(is_atom_char) => out.push(a.as_bytes()),
        other => {
            let bytes = other.as_bytes();
            if is_quotable(bytes) {
                out.push_quoted(&String::from_utf8_lossy(bytes));
            } else {
                push_value(out, bytes);
            }
        }
    }
}

fn push_list_mailbox(out: &mut EncodeBuf, m: &ListMailbox<'_>) {
    match m {
        ListMailbox::Token(t) if !t.is_empty() && t.bytes().all(is_list_char) => {
            out.push(t.as_bytes());
        }
        ListMailbox::Token(t) => push_value(out, t.as_bytes()),
        ListMailbox::String(s) => push_string(out, s),
    }
}

fn push_select_param(out: &mut EncodeBuf, p: &SelectParam) {
    match p {
        SelectParam::CondStore => out.push(b"CONDSTORE"),
        SelectParam::QResync(q) => {
            out.push(b"QRESYNC (");
            out.push_display(q.uid_validity);
            out.push(b" ");
            out.push_display(q.modseq);
            if let Some(known) = &q.known_uids {
                out.push(b" ");
                out.push_sequence_set(known);
            }
            if let Some((seqs, uids)) = &q.seq_match {
                out.push(b" (");
                out.push_sequence_set(seqs);
                out.push(b" ");
                out.push_sequence_set(uids);
                out.push(b")");
            }
            out.push(b")");
        }
    }
}

fn push_list_return_opt(out: &mut EncodeBuf, o: &ListReturnOpt) {
    match o {
        ListReturnOpt::Subscribed => out.push(b"SUBSCRIBED"),
        ListReturnOpt::Children => out.push(b"CHILDREN"),
        ListReturnOpt::SpecialUse => out.push(b"SPECIAL-USE"),
        ListReturnOpt::Status(attrs) => {
            out.push(b"STATUS (");
            out.push_separated(attrs, |o, a| o.push(a.as_str().as_bytes()));
            out.push(b")");
        }
    }
}

fn push_partial(out: &mut EncodeBuf, p: Option<&Partial>) {
    if let Some(p) = p {
        out.push_display(format_args!("<{}.{}>", p.offset, p.length));
    }
}

fn push_part(out: &mut EncodeBuf, part: &[u32]) {
    out.push(b"[");
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            out.push(b".");
        }
        out.push_display(n);
    }
    out.push(b"]");
}

pub(crate) fn push_fetch_att(out: &mut EncodeBuf, a: &FetchAttr<'_>) {
    if let Some(name) = a.simple_name() {
        out.push(name.as_bytes());
        return;
    }
    match a {
        FetchAttr::BodySection {
            peek,
            section,
            partial,
        } => {
            out.push(if *peek { b"BODY.PEEK" } else { b"BODY" });
            out.push_section(section);
            push_partial(out, partial.as_ref());
        }
        FetchAttr::Binary {
            peek,
            part,
            partial,
        } => {
            out.push(if *peek { b"BINARY.PEEK" } else { b"BINARY" });
            push_part(out, part);
            push_partial(out, partial.as_ref());
        }
        FetchAttr::BinarySize { part } => {
            out.push(b"BINARY.SIZE");
            push_part(out, part);
        }
        FetchAttr::Preview { lazy } => out.push(if *lazy { b"PREVIEW (LAZY)" } else { b"PREVIEW" }),
        _ => {}
    }
}

fn push_fetch_modifiers(out: &mut EncodeBuf, m: FetchModifiers) {
    if m.is_empty() {
        return;
    }
    out.push(b" (");
    if let Some(n) = m.changed_since {
        out.push(b"CHANGEDSINCE ");
        out.push_display(n);
        if m.vanished {
            out.push(b" ");
        }
    }
    if m.vanished {
        out.push(b"VANISHED");
    }
    if let Some(p) = m.partial {
        if m.changed_since.is_some() || m.vanished {
            out.push(b" ");
        }
        out.push(b"PARTIAL ");
        out.push_display(p);
    }
    out.push(b")");
}
