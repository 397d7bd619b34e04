//! SEARCH (and UID SEARCH, ESEARCH's RETURN options, SEARCHRES's SAVE): the keys
//! evaluated over what the store returns for the selected mailbox's messages. SORT and
//! THREAD select their messages with the same evaluation ([`Conn::find`]).
//!
//! Text keys compare ASCII case-insensitively against the raw header values and the raw
//! body (no MIME decoding); date keys compare calendar days, ignoring time and zone
//! (RFC 9051 §6.4.4).

use std::{borrow::Cow, io};

use imap_proto::types::{
    core::{AString, IString, Tag},
    datetime::Date,
    response::Data,
    response_code::ResponseCode,
    response_data::{ESearch, ESearchItem, SearchResult},
    search::{Charset, SearchKey, SearchReturnOpt},
    sequence::SequenceSet,
};
use mail_store::{FetchQuery, FetchedMessage, Flag, MailStore, Uid, UidSet, model::Content};

use super::{Conn, convert, date};

/// Messages searched per store call when their octets are needed.
const CONTENT_BATCH: usize = 64;

/// What the keys need besides the index data.
fn content_needed(keys: &[SearchKey<'_>]) -> Option<Content> {
    fn need(k: &SearchKey<'_>) -> Option<Content> {
        match k {
            SearchKey::Body(_) | SearchKey::Text(_) => Some(Content::Full),
            SearchKey::Bcc(_)
            | SearchKey::Cc(_)
            | SearchKey::From(_)
            | SearchKey::To(_)
            | SearchKey::Subject(_)
            | SearchKey::Header(..)
            | SearchKey::SentBefore(_)
            | SearchKey::SentOn(_)
            | SearchKey::SentSince(_) => Some(Content::Header),
            SearchKey::Not(k) => need(k),
            SearchKey::Or(a, b) => max(need(a), need(b)),
            SearchKey::And(v) => v.iter().map(need).fold(None, max),
            _ => None,
        }
    }
    fn max(a: Option<Content>, b: Option<Content>) -> Option<Content> {
        match (a, b) {
            (Some(Content::Full), _) | (_, Some(Content::Full)) => Some(Content::Full),
            (Some(x), _) | (None, Some(x)) => Some(x),
            (None, None) => None,
        }
    }
    keys.iter().map(need).fold(None, max)
}

/// The first key this server cannot evaluate, by name.
fn unsupported(keys: &[SearchKey<'_>]) -> Option<&'static str> {
    keys.iter().find_map(|k| match k {
        SearchKey::Not(k) => unsupported(std::slice::from_ref(k)),
        SearchKey::Or(a, b) => {
            unsupported(std::slice::from_ref(a)).or_else(|| unsupported(std::slice::from_ref(b)))
        }
        SearchKey::And(v) => unsupported(v),
        SearchKey::SavedBefore(_)
        | SearchKey::SavedOn(_)
        | SearchKey::SavedSince(_)
        | SearchKey::SaveDateSupported => Some("SAVEDATE"),
        SearchKey::EmailId(_) | SearchKey::ThreadId(_) => Some("OBJECTID"),
        _ => None,
    })
}

fn uses_modseq(keys: &[SearchKey<'_>]) -> bool {
    keys.iter().any(|k| match k {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(k) => uses_modseq(std::slice::from_ref(k)),
        SearchKey::Or(a, b) => {
            uses_modseq(std::slice::from_ref(a)) || uses_modseq(std::slice::from_ref(b))
        }
        SearchKey::And(v) => uses_modseq(v),
        _ => false,
    })
}

/// Whether `needle` occurs in `hay`, ASCII case-insensitively. An empty needle matches.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The values of the header fields called `name` in a header block, unfolded.
pub(super) fn header_values(header: &[u8], name: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let content = line
            .strip_suffix(b"\n")
            .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
        if content.is_empty() {
            break;
        }
        if matches!(content.first(), Some(b' ' | b'\t')) {
            if let Some(v) = &mut current {
                v.extend_from_slice(content);
            }
            continue;
        }
        out.extend(current.take());
        if let Some(colon) = content.iter().position(|&b| b == b':')
            && content[..colon].trim_ascii_end().eq_ignore_ascii_case(name)
        {
            current = Some(content[colon + 1..].trim_ascii_start().to_vec());
        }
    }
    out.extend(current);
    out
}

fn day(d: Date) -> (u16, u8, u8) {
    (d.year(), d.month(), d.day())
}

/// One message as the keys see it.
struct Candidate<'a> {
    seq: u32,
    m: &'a FetchedMessage,
    recent: bool,
    header: &'a [u8],
    body: &'a [u8],
}

impl Candidate<'_> {
    fn header_has(&self, name: &[u8], needle: &[u8]) -> bool {
        header_values(self.header, name)
            .iter()
            .any(|v| contains(v, needle))
    }

    fn internal_day(&self) -> Option<(u16, u8, u8)> {
        convert::date_time(self.m.internal_date).map(|d| day(d.date()))
    }

    /// The `Date:` header's day, or the internal date's when there is none.
    fn sent_day(&self) -> Option<(u16, u8, u8)> {
        header_values(self.header, b"Date")
            .first()
            .and_then(|v| date::sent_day(v))
            .map(day)
            .or_else(|| self.internal_day())
    }
}

/// Where the numbers of sequence sets point.
struct Scope<'a> {
    saved: &'a [u32],
    largest_seq: u32,
    largest_uid: u32,
    now: i64,
}

fn matches(key: &SearchKey<'_>, c: &Candidate<'_>, s: &Scope<'_>) -> bool {
    let flags = &c.m.flags;
    let uid = c.m.uid.get();
    let age = s.now - c.m.internal_date.timestamp;
    match key {
        SearchKey::All => true,
        SearchKey::Answered => flags.contains(Flag::Answered),
        SearchKey::Deleted => flags.contains(Flag::Deleted),
        SearchKey::Draft => flags.contains(Flag::Draft),
        SearchKey::Flagged => flags.contains(Flag::Flagged),
        SearchKey::Seen => flags.contains(Flag::Seen),
        SearchKey::Unanswered => !flags.contains(Flag::Answered),
        SearchKey::Undeleted => !flags.contains(Flag::Deleted),
        SearchKey::Undraft => !flags.contains(Flag::Draft),
        SearchKey::Unflagged => !flags.contains(Flag::Flagged),
        SearchKey::Unseen => !flags.contains(Flag::Seen),
        SearchKey::Keyword(k) => flags.has_keyword(k.as_str()),
        SearchKey::Unkeyword(k) => !flags.has_keyword(k.as_str()),
        SearchKey::Recent => c.recent,
        SearchKey::New => c.recent && !flags.contains(Flag::Seen),
        SearchKey::Old => !c.recent,
        SearchKey::Larger(n) => c.m.size > *n,
        SearchKey::Smaller(n) => c.m.size < *n,
        SearchKey::Before(d) => c.internal_day().is_some_and(|x| x < day(*d)),
        SearchKey::On(d) => c.internal_day().is_some_and(|x| x == day(*d)),
        SearchKey::Since(d) => c.internal_day().is_some_and(|x| x >= day(*d)),
        SearchKey::SentBefore(d) => c.sent_day().is_some_and(|x| x < day(*d)),
        SearchKey::SentOn(d) => c.sent_day().is_some_and(|x| x == day(*d)),
        SearchKey::SentSince(d) => c.sent_day().is_some_and(|x| x >= day(*d)),
        SearchKey::Older(n) => age > i64::from(*n),
        SearchKey::Younger(n) => age <= i64::from(*n),
        SearchKey::ModSeq { modseq, .. } => c.m.modseq.get() >= *modseq,
        SearchKey::Uid(set) => match set {
            SequenceSet::Saved => s.saved.binary_search(&uid).is_ok(),
            set @ SequenceSet::Items(_) => set.contains(uid, s.largest_uid),
        },
        SearchKey::SequenceSet(set) => match set {
            SequenceSet::Saved => s.saved.binary_search(&uid).is_ok(),
            set @ SequenceSet::Items(_) => set.contains(c.seq, s.largest_seq),
        },
        SearchKey::From(v) => c.header_has(b"From", v.as_bytes()),
        SearchKey::To(v) => c.header_has(b"To", v.as_bytes()),
        SearchKey::Cc(v) => c.header_has(b"Cc", v.as_bytes()),
        SearchKey::Bcc(v) => c.header_has(b"Bcc", v.as_bytes()),
        SearchKey::Subject(v) => c.header_has(b"Subject", v.as_bytes()),
        SearchKey::Header(name, v) => c.header_has(name.as_bytes(), v.as_bytes()),
        SearchKey::Body(v) => contains(c.body, v.as_bytes()),
        SearchKey::Text(v) => contains(c.header, v.as_bytes()) || contains(c.body, v.as_bytes()),
        SearchKey::Not(k) => !matches(k, c, s),
        SearchKey::Or(one, other) => matches(one, c, s) || matches(other, c, s),
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, c, s)),
        // Refused before searching.
        _ => false,
    }
}

/// Splits a stored message at the blank line ending its header.
fn split(raw: &[u8]) -> (&[u8], &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    raw.split_at(end)
}

/// A message the keys matched: its sequence number, UID and mod-sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    pub seq: u32,
    pub uid: u32,
    pub modseq: u64,
}

/// Whether RETURN asks for PARTIAL (RFC 9394), which this server does not offer.
pub(super) fn partial_requested(return_opts: Option<&[SearchReturnOpt]>) -> bool {
    return_opts
        .into_iter()
        .flatten()
        .any(|o| matches!(o, SearchReturnOpt::Partial(_)))
}

/// Whether a `charset` argument names one this server searches in: US-ASCII and UTF-8
/// (RFC 9051 §6.4.4; UTF-8 is the superset both are compared as).
fn known_charset(charset: &Charset<'_>) -> bool {
    let c = charset.to_str_lossy();
    c.eq_ignore_ascii_case("US-ASCII") || c.eq_ignore_ascii_case("UTF-8")
}

impl Conn<'_> {
    /// `NO [BADCHARSET (US-ASCII UTF-8)]` for a charset other than those, answering the
    /// command; `false` then.
    pub(super) fn check_charset(&mut self, charset: Option<&Charset<'_>>) -> io::Result<bool> {
        match charset {
            Some(c) if !known_charset(c) => {
                let known = ["US-ASCII", "UTF-8"]
                    .into_iter()
                    .filter_map(|n| AString::try_from(n).ok())
                    .collect();
                self.no(Some(ResponseCode::BadCharset(known)), "Unsupported charset")?;
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    /// The messages of the selected mailbox `criteria` match, in mailbox order, and whether a
    /// MODSEQ key was used. `None` when the command was answered already (a key this server
    /// cannot evaluate, nothing selected, a store error). SEARCH, SORT and THREAD share it.
    pub(super) async fn find(
        &mut self,
        criteria: &[SearchKey<'_>],
    ) -> io::Result<Option<(Vec<Found>, bool)>> {
        if let Some(what) = unsupported(criteria) {
            self.bad(&format!("{what} search keys are not supported"))?;
            return Ok(None);
        }
        let with_modseq = uses_modseq(criteria);
        self.condstore |= with_modseq;
        let Some((name, _)) = self.selected_mailbox() else {
            self.no(None, "No mailbox selected")?;
            return Ok(None);
        };
        let session = self.session()?;
        let known: Vec<u32> = self
            .server
            .view()
            .map(|v| v.uids().to_vec())
            .unwrap_or_default();
        let mut saved = self.server.saved_search().to_vec();
        saved.sort_unstable();
        let scope = Scope {
            saved: &saved,
            largest_seq: u32::try_from(known.len()).unwrap_or(u32::MAX),
            largest_uid: known.last().copied().unwrap_or(0),
            now: mail_store::InternalDate::now().timestamp,
        };
        let query = FetchQuery {
            content: content_needed(criteria),
            ..FetchQuery::default()
        };
        let batch = if query.content.is_some() {
            CONTENT_BATCH
        } else {
            known.len().max(1)
        };
        let mut found = Vec::new();
        for (i, chunk) in known.chunks(batch).enumerate() {
            let set: UidSet = chunk.iter().filter_map(|&u| Uid::new(u)).collect();
            let messages = match self.service.store.fetch(&session, &name, &set, query).await {
                Ok(m) => m,
                Err(e) => {
                    self.fail(&e)?;
                    return Ok(None);
                }
            };
            for m in &messages {
                let u = m.uid.get();
                // Sequence numbers as the client knows them; messages expunged elsewhere
                // but not yet told are not found.
                let Ok(pos) = chunk.binary_search(&u) else {
                    continue;
                };
                let seq = u32::try_from(i * batch + pos + 1).unwrap_or(u32::MAX);
                let raw = m.content.as_deref().unwrap_or_default();
                let (header, body) = match query.content {
                    Some(Content::Header) => (raw, &[][..]),
                    _ => split(raw),
                };
                let c = Candidate {
                    seq,
                    m,
                    recent: self.is_recent(u),
                    header,
                    body,
                };
                if criteria.iter().all(|k| matches(k, &c, &scope)) {
                    found.push(Found {
                        seq,
                        uid: u,
                        modseq: m.modseq.get(),
                    });
                }
            }
        }
        Ok(Some((found, with_modseq)))
    }

    pub(super) async fn search(
        &mut self,
        tag: &Tag<'_>,
        uid: bool,
        return_opts: Option<Vec<SearchReturnOpt>>,
        charset: Option<&Charset<'_>>,
        criteria: &[SearchKey<'_>],
    ) -> io::Result<()> {
        if !self.check_charset(charset)? {
            return Ok(());
        }
        if partial_requested(return_opts.as_deref()) {
            return self.bad("PARTIAL is not supported");
        }
        let Some((found, with_modseq)) = self.find(criteria).await? else {
            return Ok(());
        };
        let ids: Vec<u32> = found
            .iter()
            .map(|f| if uid { f.uid } else { f.seq })
            .collect();
        let highest = found.iter().map(|f| f.modseq).max().filter(|_| with_modseq);
        match return_opts {
            None => self.server.send_data(Data::Search(SearchResult {
                ids,
                modseq: highest,
            })),
            Some(opts) => {
                let all = SequenceSet::from_numbers(ids.iter().copied()).ok();
                let saved = found.iter().map(|f| f.uid).collect();
                self.esearch(tag, uid, opts, &ids, all, saved, highest);
            }
        }
        self.ok(None, "SEARCH completed")
    }

    /// Answers a SEARCH or SORT with RETURN options (RFC 4731, RFC 5267 §3.1): `ids` in the
    /// command's order (ascending for SEARCH, sort order for SORT), so MIN and MAX are its
    /// first and last; `all` is ALL's set; SAVE keeps `saved` (RFC 5182). An empty option
    /// list means ALL.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn esearch(
        &mut self,
        tag: &Tag<'_>,
        uid: bool,
        opts: Vec<SearchReturnOpt>,
        ids: &[u32],
        mut all: Option<SequenceSet>,
        saved: Vec<u32>,
        highest: Option<u64>,
    ) {
        let opts = if opts.is_empty() {
            vec![SearchReturnOpt::All]
        } else {
            opts
        };
        if opts.contains(&SearchReturnOpt::Save) {
            self.server.save_search(saved);
        }
        let mut items = Vec::new();
        for o in &opts {
            match o {
                SearchReturnOpt::Min => items.extend(ids.first().map(|&n| ESearchItem::Min(n))),
                SearchReturnOpt::Max => items.extend(ids.last().map(|&n| ESearchItem::Max(n))),
                SearchReturnOpt::All => items.extend(all.take().map(ESearchItem::All)),
                SearchReturnOpt::Count => items.push(ESearchItem::Count(
                    u32::try_from(ids.len()).unwrap_or(u32::MAX),
                )),
                SearchReturnOpt::Save | SearchReturnOpt::Partial(_) => {}
            }
        }
        if let Some(m) = highest {
            items.push(ESearchItem::ModSeq(m));
        }
        // SAVE alone answers nothing (RFC 5182 §2.4).
        if opts.iter().any(|o| *o != SearchReturnOpt::Save) {
            self.server.send_data(Data::ESearch(ESearch {
                tag: Some(AString::String(IString::Quoted(Cow::Owned(
                    tag.as_str().to_owned(),
                )))),
                uid,
                items,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_unfold_and_match_names() {
        let h = b"Subject: hello\r\n world\r\nX-A: 1\r\nsubject : again\r\n\r\nbody";
        assert_eq!(
            header_values(h, b"Subject"),
            [b"hello world".to_vec(), b"again".to_vec()]
        );
        assert!(contains(b"Hello World", b"o wo"));
        assert!(!contains(b"abc", b"abcd"));
    }
}
