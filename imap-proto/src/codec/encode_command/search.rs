//! Encoding search keys and ESEARCH return options.

use super::push_astring;
use crate::{
    codec::EncodeBuf,
    types::{
        core::AString,
        datetime::Date,
        search::{SearchKey, SearchReturnOpt},
    },
};

pub(super) fn push_search_return_opts(out: &mut EncodeBuf, opts: Option<&[SearchReturnOpt]>) {
    let Some(opts) = opts else { return };
    out.push(b" RETURN (");
    out.push_separated(opts, |o, r| match r {
        SearchReturnOpt::Min => o.push(b"MIN"),
        SearchReturnOpt::Max => o.push(b"MAX"),
        SearchReturnOpt::All => o.push(b"ALL"),
        SearchReturnOpt::Count => o.push(b"COUNT"),
        SearchReturnOpt::Save => o.push(b"SAVE"),
        SearchReturnOpt::Context => o.push(b"CONTEXT"),
        SearchReturnOpt::Update => o.push(b"UPDATE"),
        SearchReturnOpt::Partial(p) => {
            o.push(b"PARTIAL ");
            o.push_display(p);
        }
    });
    out.push(b")");
}

/// ` key key ...`
pub(super) fn push_search_keys(out: &mut EncodeBuf, keys: &[SearchKey<'_>]) {
    for k in keys {
        out.push(b" ");
        push_search_key(out, k);
    }
}

/// `search-key` (recursive: keys built by hand are not depth-limited).
pub(crate) fn push_search_key(out: &mut EncodeBuf, key: &SearchKey<'_>) {
    use SearchKey as K;
    let word = |out: &mut EncodeBuf, w: &str| out.push(w.as_bytes());
    let text = |out: &mut EncodeBuf, w: &str, s: &AString<'_>| {
        out.push(w.as_bytes());
        out.push(b" ");
        push_astring(out, s);
    };
    let date = |out: &mut EncodeBuf, w: &str, d: &Date| {
        out.push(w.as_bytes());
        out.push(b" ");
        out.push_display(d);
    };
    match key {
        K::All => word(out, "ALL"),
        K::Answered => word(out, "ANSWERED"),
        K::Bcc(s) => text(out, "BCC", s),
        K::Before(d) => date(out, "BEFORE", d),
        K::Body(s) => text(out, "BODY", s),
        K::Cc(s) => text(out, "CC", s),
        K::Deleted => word(out, "DELETED"),
        K::Draft => word(out, "DRAFT"),
        K::Flagged => word(out, "FLAGGED"),
        K::From(s) => text(out, "FROM", s),
        K::Header(h, v) => {
            text(out, "HEADER", h);
            out.push(b" ");
            push_astring(out, v);
        }
        K::Keyword(a) => {
            out.push(b"KEYWORD ");
            out.push(a.as_str().as_bytes());
        }
        K::Larger(n) => out.push_display(format_args!("LARGER {n}")),
        K::New => word(out, "NEW"),
        K::Not(k) => {
            out.push(b"NOT ");
            push_search_key(out, k);
        }
        K::Old => word(out, "OLD"),
        K::On(d) => date(out, "ON", d),
        K::Or(a, b) => {
            out.push(b"OR ");
            push_search_key(out, a);
            out.push(b" ");
            push_search_key(out, b);
        }
        K::Recent => word(out, "RECENT"),
        K::Seen => word(out, "SEEN"),
        K::SentBefore(d) => date(out, "SENTBEFORE", d),
        K::SentOn(d) => date(out, "SENTON", d),
        K::SentSince(d) => date(out, "SENTSINCE", d),
        K::Since(d) => date(out, "SINCE", d),
        K::Smaller(n) => out.push_display(format_args!("SMALLER {n}")),
        K::Subject(s) => text(out, "SUBJECT", s),
        K::Text(s) => text(out, "TEXT", s),
        K::To(s) => text(out, "TO", s),
        K::Uid(set) => {
            out.push(b"UID ");
            out.push_sequence_set(set);
        }
        K::Unanswered => word(out, "UNANSWERED"),
        K::Undeleted => word(out, "UNDELETED"),
        K::Undraft => word(out, "UNDRAFT"),
        K::Unflagged => word(out, "UNFLAGGED"),
        K::Unkeyword(a) => {
            out.push(b"UNKEYWORD ");
            out.push(a.as_str().as_bytes());
        }
        K::Unseen => word(out, "UNSEEN"),
        K::SequenceSet(set) => out.push_sequence_set(set),
        K::And(keys) => {
            out.push(b"(");
            out.push_separated(keys, push_search_key);
            out.push(b")");
        }
        K::ModSeq { entry, modseq } => {
            out.push(b"MODSEQ ");
            if let Some(e) = entry {
                let name = format!("/flags/{}", e.flag);
                out.push_quoted(&name);
                out.push(b" ");
                out.push(e.entry_type.as_str().as_bytes());
                out.push(b" ");
            }
            out.push_display(modseq);
        }
        K::Older(n) => out.push_display(format_args!("OLDER {n}")),
        K::Younger(n) => out.push_display(format_args!("YOUNGER {n}")),
        K::SavedBefore(d) => date(out, "SAVEDBEFORE", d),
        K::SavedOn(d) => date(out, "SAVEDON", d),
        K::SavedSince(d) => date(out, "SAVEDSINCE", d),
        K::SaveDateSupported => word(out, "SAVEDATESUPPORTED"),
        K::EmailId(id) => {
            out.push(b"EMAILID ");
            out.push(id.as_str().as_bytes());
        }
        K::ThreadId(id) => {
            out.push(b"THREADID ");
            out.push(id.as_str().as_bytes());
        }
    }
}
