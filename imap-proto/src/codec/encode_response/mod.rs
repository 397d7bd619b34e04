//! Encoding responses: canonical upper-case keywords and single spaces; strings, atoms and
//! literals keep the form they were parsed in, so a canonical stream re-encodes to the same
//! octets.
//!
//! The encoders recurse into body structures, threads and extension values; values built by
//! the parser are bounded by [`ResponseOptions::max_depth`], and values built by hand should
//! be too.

mod fetch;

use fetch::fetch_item;
pub(crate) use fetch::{fetch_open, literal_head};

use super::{EncodeBuf, response::ResponseOptions};
use crate::types::{
    capability::Capability,
    core::AString,
    response::{Continue, Data, Greeting, GreetingKind, Response, Status},
    response_code::{MetadataCode, ResponseCode},
    response_data::{
        ContextUpdate, ESearch, ESearchItem, ListData, ListExtItem, MetadataEntries,
        NamespaceDescr, SearchResult, StatusItem, TaggedExtComp, TaggedExtVal, Thread,
    },
};

/// Appends one response, final CRLF included.
pub fn encode_response(resp: &Response<'_>, opts: &ResponseOptions, out: &mut EncodeBuf) {
    out.utf8 = opts.utf8;
    out.server = true;
    match resp {
        Response::Status(s) => status(s, out),
        Response::Continue(c) => continue_req(c, out),
        Response::Data(d) => {
            out.push(b"* ");
            data(d, opts, out);
        }
    }
    out.push(b"\r\n");
}

/// Appends a greeting, final CRLF included.
pub fn encode_greeting(greeting: &Greeting<'_>, out: &mut EncodeBuf) {
    out.server = true;
    out.push(match greeting.kind {
        GreetingKind::Ok => b"* OK ",
        GreetingKind::PreAuth => b"* PREAUTH ",
        GreetingKind::Bye => b"* BYE ",
    });
    resp_text(greeting.code.as_ref(), greeting.text.as_str(), out);
    out.push(b"\r\n");
}

fn status(s: &Status<'_>, out: &mut EncodeBuf) {
    match &s.tag {
        Some(t) => out.push(t.as_str().as_bytes()),
        None => out.push(b"*"),
    }
    out.push(b" ");
    out.push(s.kind.as_str().as_bytes());
    out.push(b" ");
    resp_text(s.code.as_ref(), s.text.as_str(), out);
}

fn continue_req(c: &Continue<'_>, out: &mut EncodeBuf) {
    out.push(b"+ ");
    resp_text(c.code.as_ref(), c.text.as_str(), out);
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`
fn resp_text(code: Option<&ResponseCode<'_>>, text: &str, out: &mut EncodeBuf) {
    if let Some(code) = code {
        out.push(b"[");
        response_code(code, out);
        out.push(b"] ");
    }
    out.push(text.as_bytes());
}

fn capabilities(caps: &[Capability<'_>], out: &mut EncodeBuf) {
    for c in caps {
        out.push(b" ");
        out.push_display(c);
    }
}

fn response_code(code: &ResponseCode<'_>, out: &mut EncodeBuf) {
    if let Some(name) = code.simple_name() {
        out.push(name.as_bytes());
        return;
    }
    match code {
        ResponseCode::AppendUid { uid_validity, uids } => {
            out.push_display(format_args!("APPENDUID {uid_validity} {uids}"));
        }
        ResponseCode::BadCharset(list) => {
            out.push(b"BADCHARSET");
            if !list.is_empty() {
                out.push(b" (");
                out.push_separated(list, EncodeBuf::push_astring);
                out.push(b")");
            }
        }
        ResponseCode::BadEvent(events) => {
            out.push(b"BADEVENT (");
            out.push_separated(events, crate::codec::encode_command::push_event);
            out.push(b")");
        }
        ResponseCode::Capability(caps) => {
            out.push(b"CAPABILITY");
            capabilities(caps, out);
        }
        ResponseCode::CopyUid {
            uid_validity,
            source,
            destination,
        } => out.push_display(format_args!(
            "COPYUID {uid_validity} {source} {destination}"
        )),
        ResponseCode::HighestModSeq(n) => out.push_display(format_args!("HIGHESTMODSEQ {n}")),
        ResponseCode::MailboxId(id) => out.push_display(format_args!("MAILBOXID ({id})")),
        ResponseCode::Metadata(m) => match m {
            MetadataCode::LongEntries(n) => {
                out.push_display(format_args!("METADATA LONGENTRIES {n}"));
            }
            MetadataCode::MaxSize(n) => out.push_display(format_args!("METADATA MAXSIZE {n}")),
            MetadataCode::TooMany => out.push(b"METADATA TOOMANY"),
            MetadataCode::NoPrivate => out.push(b"METADATA NOPRIVATE"),
        },
        ResponseCode::Modified(set) => out.push_display(format_args!("MODIFIED {set}")),
        ResponseCode::NoUpdate(tag) => {
            out.push(b"NOUPDATE ");
            out.push_quoted(tag.as_str());
        }
        ResponseCode::PermanentFlags(flags) => {
            out.push(b"PERMANENTFLAGS ");
            out.push_flag_list(flags);
        }
        ResponseCode::UidNext(n) => out.push_display(format_args!("UIDNEXT {n}")),
        ResponseCode::UidValidity(n) => out.push_display(format_args!("UIDVALIDITY {n}")),
        ResponseCode::Unseen(n) => out.push_display(format_args!("UNSEEN {n}")),
        ResponseCode::UrlMech(others) => {
            out.push(b"URLMECH INTERNAL");
            for (name, data) in others {
                out.push(b" ");
                out.push(name.as_str().as_bytes());
                if let Some(d) = data {
                    out.push(b"=");
                    out.push(d.as_bytes());
                }
            }
        }
        ResponseCode::Other { name, text } => {
            out.push(name.as_str().as_bytes());
            if let Some(t) = text {
                out.push(b" ");
                out.push(t.as_bytes());
            }
        }
        // The codes without arguments were written above.
        _ => {}
    }
}

fn data(d: &Data<'_>, opts: &ResponseOptions, out: &mut EncodeBuf) {
    match d {
        Data::Capability(caps) => {
            out.push(b"CAPABILITY");
            capabilities(caps, out);
        }
        Data::Enabled(caps) => {
            out.push(b"ENABLED");
            capabilities(caps, out);
        }
        Data::List(l) => {
            out.push(b"LIST ");
            mailbox_list(l, opts, out);
        }
        Data::Lsub(l) => {
            out.push(b"LSUB ");
            mailbox_list(l, opts, out);
        }
        Data::Status { mailbox, items } => {
            out.push(b"STATUS ");
            out.push_mailbox(mailbox, opts.utf8);
            out.push(b" (");
            out.push_separated(items, status_item);
            out.push(b")");
        }
        Data::Search(s) => {
            out.push(b"SEARCH");
            search_result(s, out);
        }
        Data::Sort(s) => {
            out.push(b"SORT");
            search_result(s, out);
        }
        Data::ESearch(e) => esearch(e, out),
        Data::Flags(flags) => {
            out.push(b"FLAGS ");
            out.push_flag_list(flags);
        }
        Data::Exists(n) => out.push_display(format_args!("{n} EXISTS")),
        Data::Recent(n) => out.push_display(format_args!("{n} RECENT")),
        Data::Expunge(n) => out.push_display(format_args!("{n} EXPUNGE")),
        Data::Vanished { earlier, uids } => {
            out.push(if *earlier {
                b"VANISHED (EARLIER) "
            } else {
                b"VANISHED "
            });
            out.push_sequence_set(uids);
        }
        Data::Fetch { seq, items } => {
            out.push_display(format_args!("{seq} FETCH ("));
            out.push_separated(items, fetch_item);
            out.push(b")");
        }
        Data::Id(None) => out.push(b"ID NIL"),
        Data::Id(Some(pairs)) => {
            out.push(b"ID (");
            out.push_separated(pairs, |out, (k, v)| {
                out.push_string(k);
                out.push(b" ");
                out.push_nstring(v.as_ref());
            });
            out.push(b")");
        }
        Data::Namespace(ns) => {
            out.push(b"NAMESPACE ");
            namespace(&ns.personal, out);
            out.push(b" ");
            namespace(&ns.other, out);
            out.push(b" ");
            namespace(&ns.shared, out);
        }
        Data::Quota { root, resources } => {
            out.push(b"QUOTA ");
            out.push_astring(root);
            out.push(b" (");
            out.push_separated(resources, |out, r| {
                out.push(r.name.as_str().as_bytes());
                out.push_display(format_args!(" {} {}", r.usage, r.limit));
            });
            out.push(b")");
        }
        Data::QuotaRoot { mailbox, roots } => {
            out.push(b"QUOTAROOT ");
            out.push_mailbox(mailbox, opts.utf8);
            for r in roots {
                out.push(b" ");
                out.push_astring(r);
            }
        }
        Data::Metadata { mailbox, entries } => {
            out.push(b"METADATA ");
            out.push_mailbox(mailbox, opts.utf8);
            out.push(b" ");
            match entries {
                MetadataEntries::Values(values) => {
                    out.push(b"(");
                    out.push_separated(values, |out, (k, v)| {
                        out.push_astring(k);
                        out.push(b" ");
                        out.push_nstring(v.as_ref());
                    });
                    out.push(b")");
                }
                MetadataEntries::Names(names) => out.push_separated(names, EncodeBuf::push_astring),
            }
        }
        Data::GenUrlAuth(urls) => {
            out.push(b"GENURLAUTH");
            for url in urls {
                out.push(b" ");
                out.push_astring(url);
            }
        }
        Data::UrlFetch(items) => {
            out.push(b"URLFETCH");
            for (url, data) in items {
                out.push(b" ");
                out.push_astring(url);
                out.push(b" ");
                out.push_nstring(data.as_ref());
            }
        }
        Data::Thread(threads) => {
            out.push(b"THREAD");
            if !threads.is_empty() {
                out.push(b" ");
                for t in threads {
                    thread(t, out);
                }
            }
        }
    }
}

fn delimiter(d: Option<char>, out: &mut EncodeBuf) {
    match d {
        Some(c) => {
            let mut buf = [0; 4];
            out.push_quoted(c.encode_utf8(&mut buf));
        }
        None => out.push(b"NIL"),
    }
}

fn mailbox_list(l: &ListData<'_>, opts: &ResponseOptions, out: &mut EncodeBuf) {
    out.push(b"(");
    out.push_separated(&l.attributes, |out, a| out.push_display(a));
    out.push(b") ");
    delimiter(l.delimiter, out);
    out.push(b" ");
    out.push_mailbox(&l.mailbox, opts.utf8);
    if let Some(items) = &l.extended {
        out.push(b" (");
        out.push_separated(items, |out, item| match item {
            ListExtItem::ChildInfo(list) => {
                out.push(b"\"CHILDINFO\" (");
                // `list-select-base-opt-quoted` (RFC 5258 §8): quoted, an atom's value too.
                out.push_separated(list, |out, v| match v {
                    AString::Atom(a) => out.push_text(a),
                    AString::String(s) => out.push_string(s),
                });
                out.push(b")");
            }
            ListExtItem::OldName(m) => {
                out.push(b"\"OLDNAME\" (");
                out.push_mailbox(m, opts.utf8);
                out.push(b")");
            }
            ListExtItem::Other { tag, value } => {
                out.push_astring(tag);
                out.push(b" ");
                tagged_ext_val(value, out);
            }
        });
        out.push(b")");
    }
}

fn tagged_ext_val(v: &TaggedExtVal<'_>, out: &mut EncodeBuf) {
    match v {
        TaggedExtVal::Number(n) => out.push_display(n),
        TaggedExtVal::Set(s) => out.push_sequence_set(s),
        TaggedExtVal::Comp(c) => {
            out.push(b"(");
            out.push_separated(c, tagged_ext_comp);
            out.push(b")");
        }
    }
}

fn tagged_ext_comp(out: &mut EncodeBuf, c: &TaggedExtComp<'_>) {
    match c {
        TaggedExtComp::AString(a) => out.push_astring(a),
        TaggedExtComp::List(list) => {
            out.push(b"(");
            out.push_separated(list, tagged_ext_comp);
            out.push(b")");
        }
    }
}

fn status_item(out: &mut EncodeBuf, item: &StatusItem<'_>) {
    out.push(item.name().as_bytes());
    out.push(b" ");
    match item {
        StatusItem::AppendLimit(None) => out.push(b"NIL"),
        StatusItem::MailboxId(id) => out.push_display(format_args!("({id})")),
        other => out.push_display(other.number().unwrap_or_default()),
    }
}

fn search_result(s: &SearchResult, out: &mut EncodeBuf) {
    for n in &s.ids {
        out.push_display(format_args!(" {n}"));
    }
    if let Some(m) = s.modseq {
        out.push_display(format_args!(" (MODSEQ {m})"));
    }
}

fn esearch(e: &ESearch<'_>, out: &mut EncodeBuf) {
    out.push(b"ESEARCH");
    if let Some(tag) = &e.tag {
        out.push(b" (TAG ");
        // RFC 9051 allows an atom (`tag-string = astring`); RFC 4731 clients expect a
        // string, so build the correlator as a quoted string when answering them.
        out.push_astring(tag);
        out.push(b")");
    }
    if e.uid {
        out.push(b" UID");
    }
    for item in &e.items {
        out.push(b" ");
        match item {
            ESearchItem::Min(n) => out.push_display(format_args!("MIN {n}")),
            ESearchItem::Max(n) => out.push_display(format_args!("MAX {n}")),
            ESearchItem::All(s) => out.push_display(format_args!("ALL {s}")),
            ESearchItem::Count(n) => out.push_display(format_args!("COUNT {n}")),
            ESearchItem::ModSeq(n) => out.push_display(format_args!("MODSEQ {n}")),
            ESearchItem::Partial { range, results } => {
                out.push_display(format_args!("PARTIAL ({range} "));
                match results {
                    Some(s) => out.push_sequence_set(s),
                    None => out.push(b"NIL"),
                }
                out.push(b")");
            }
            ESearchItem::AddTo(pairs) => context_updates(b"ADDTO (", pairs, out),
            ESearchItem::RemoveFrom(pairs) => context_updates(b"REMOVEFROM (", pairs, out),
            ESearchItem::Other { name, value } => {
                out.push(name.as_str().as_bytes());
                out.push(b" ");
                tagged_ext_val(value, out);
            }
        }
    }
}

/// `"ADDTO" / "REMOVEFROM" SP "(" context-position SP sequence-set
/// *(SP context-position SP sequence-set) ")"`
fn context_updates(opening: &[u8], pairs: &[ContextUpdate], out: &mut EncodeBuf) {
    out.push(opening);
    out.push_separated(pairs, |o, p| {
        o.push_display(format_args!("{} ", p.position));
        o.push_sequence_set(&p.set);
    });
    out.push(b")");
}

fn namespace(list: &[NamespaceDescr<'_>], out: &mut EncodeBuf) {
    if list.is_empty() {
        out.push(b"NIL");
        return;
    }
    out.push(b"(");
    for d in list {
        out.push(b"(");
        out.push_string(&d.prefix);
        out.push(b" ");
        delimiter(d.delimiter, out);
        for (name, values) in &d.extensions {
            out.push(b" ");
            out.push_string(name);
            out.push(b" (");
            out.push_separated(values, EncodeBuf::push_string);
            out.push(b")");
        }
        out.push(b")");
    }
    out.push(b")");
}

/// `thread-list = "(" (thread-members / thread-nested) ")"`, without recursion: a server
/// builds the tree from its messages' references, so its depth is the mailbox's to choose.
fn thread(t: &Thread, out: &mut EncodeBuf) {
    // Each open list, and the next of its children to write.
    let mut open: Vec<(&Thread, usize)> = vec![(t, 0)];
    thread_open(t, out);
    while let Some((node, next)) = open.last_mut() {
        if let Some(child) = node.children.get(*next) {
            *next += 1;
            thread_open(child, out);
            open.push((child, 0));
        } else {
            out.push(b")");
            open.pop();
        }
    }
}

/// A thread list's `(` and its chain of ids.
fn thread_open(t: &Thread, out: &mut EncodeBuf) {
    out.push(b"(");
    for (i, n) in t.ids.iter().enumerate() {
        if i > 0 {
            out.push(b" ");
        }
        out.push_display(n);
    }
    if !t.ids.is_empty() && !t.children.is_empty() {
        out.push(b" ");
    }
}
