//! SEARCH (and UID SEARCH, ESEARCH's RETURN options, SEARCHRES's SAVE): the keys turned
//! into `mail-store`'s protocol-neutral query, which the store evaluates over the selected
//! mailbox's messages. SORT and THREAD select their messages the same way ([`Conn::find`]).
//!
//! What only this session knows is resolved here before the store is asked: sequence
//! numbers, `$` and `\Recent` become UID sets, OLDER and YOUNGER instants from our clock.

use std::{borrow::Cow, io};

use sansmail_imap::{
    session::contexts::UpdatingSearch,
    sort::ordered_set,
    types::{
        core::{AString, IString, Tag},
        datetime::Date,
        response::Data,
        response_code::ResponseCode,
        response_data::{ESearch, ESearchItem, SearchResult},
        search::{Charset, SearchKey, SearchReturnOpt},
        sequence::SequenceSet,
    },
};
use sansmail_store::{
    Flag, Keyword, MailStore, SearchQuery, Uid, UidSet, date::Day, search::DayCmp,
};

use super::{Conn, api};

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

/// A query no message matches.
fn nothing() -> SearchQuery {
    !SearchQuery::All
}

/// What the session-relative keys name.
struct Scope<'a> {
    /// The UIDs of the messages the client knows, in mailbox order (sequence number - 1).
    known: &'a [u32],
    /// `$`: the UIDs saved by the last SEARCH with SAVE.
    saved: &'a [u32],
    /// The messages this session sees as `\Recent`.
    recent: &'a UidSet,
    /// Seconds since the epoch, for OLDER and YOUNGER.
    now: i64,
}

impl Scope<'_> {
    fn uids(&self, keep: impl Fn(usize, u32) -> bool) -> SearchQuery {
        SearchQuery::Uids(
            self.known
                .iter()
                .enumerate()
                .filter(|&(i, &u)| keep(i, u))
                .filter_map(|(_, &u)| Uid::new(u))
                .collect(),
        )
    }

    /// `key` as a store query.
    fn query(&self, key: &SearchKey<'_>) -> SearchQuery {
        use SearchQuery as Q;
        let unset = |f| !Q::Flag(f);
        let keyword = |k: &str| Keyword::try_from(k).map_or_else(|_| nothing(), Q::Keyword);
        let header = |name: &str, v: &AString<'_>| Q::Header {
            name: name.as_bytes().to_vec(),
            contains: v.as_bytes().to_vec(),
        };
        let address = |name: &str, v: &AString<'_>| Q::Address {
            name: name.as_bytes().to_vec(),
            contains: v.as_bytes().to_vec(),
        };
        let internal = |cmp, d: Date| day(d).map_or_else(nothing, |d| Q::InternalDay(cmp, d));
        let sent = |cmp, d: Date| day(d).map_or_else(nothing, |d| Q::SentDay(cmp, d));
        match key {
            SearchKey::All => Q::All,
            SearchKey::Answered => Q::Flag(Flag::Answered),
            SearchKey::Deleted => Q::Flag(Flag::Deleted),
            SearchKey::Draft => Q::Flag(Flag::Draft),
            SearchKey::Flagged => Q::Flag(Flag::Flagged),
            SearchKey::Seen => Q::Flag(Flag::Seen),
            SearchKey::Unanswered => unset(Flag::Answered),
            SearchKey::Undeleted => unset(Flag::Deleted),
            SearchKey::Undraft => unset(Flag::Draft),
            SearchKey::Unflagged => unset(Flag::Flagged),
            SearchKey::Unseen => unset(Flag::Seen),
            SearchKey::Keyword(k) => keyword(k.as_str()),
            SearchKey::Unkeyword(k) => !keyword(k.as_str()),
            SearchKey::Recent => Q::Uids(self.recent.clone()),
            SearchKey::New => Q::And(vec![Q::Uids(self.recent.clone()), unset(Flag::Seen)]),
            SearchKey::Old => !Q::Uids(self.recent.clone()),
            SearchKey::Larger(n) => Q::Larger(*n),
            SearchKey::Smaller(n) => Q::Smaller(*n),
            SearchKey::Before(d) => internal(DayCmp::Before, *d),
            SearchKey::On(d) => internal(DayCmp::On, *d),
            SearchKey::Since(d) => internal(DayCmp::Since, *d),
            SearchKey::SentBefore(d) => sent(DayCmp::Before, *d),
            SearchKey::SentOn(d) => sent(DayCmp::On, *d),
            SearchKey::SentSince(d) => sent(DayCmp::Since, *d),
            // RFC 5032: older is more than n seconds ago, younger n or fewer.
            SearchKey::Older(n) => Q::ArrivedBefore(self.now - i64::from(*n)),
            SearchKey::Younger(n) => Q::ArrivedSince(self.now - i64::from(*n)),
            SearchKey::ModSeq { modseq, .. } => Q::ModSeqAtLeast(*modseq),
            SearchKey::Uid(SequenceSet::Saved) | SearchKey::SequenceSet(SequenceSet::Saved) => {
                Q::Uids(self.saved.iter().copied().filter_map(Uid::new).collect())
            }
            SearchKey::Uid(set) => {
                let largest = self.known.last().copied().unwrap_or(0);
                self.uids(|_, uid| set.contains(uid, largest))
            }
            SearchKey::SequenceSet(set) => {
                let largest = u32::try_from(self.known.len()).unwrap_or(u32::MAX);
                self.uids(|i, _| set.contains(u32::try_from(i + 1).unwrap_or(u32::MAX), largest))
            }
            SearchKey::From(v) => address("From", v),
            SearchKey::To(v) => address("To", v),
            SearchKey::Cc(v) => address("Cc", v),
            SearchKey::Bcc(v) => address("Bcc", v),
            SearchKey::Subject(v) => header("Subject", v),
            SearchKey::Header(name, v) => Q::Header {
                name: name.as_bytes().to_vec(),
                contains: v.as_bytes().to_vec(),
            },
            SearchKey::Body(v) => Q::Body(v.as_bytes().to_vec()),
            SearchKey::Text(v) => Q::Text(v.as_bytes().to_vec()),
            SearchKey::Not(k) => !self.query(k),
            SearchKey::Or(one, other) => Q::or(self.query(one), self.query(other)),
            SearchKey::And(keys) => Q::And(keys.iter().map(|k| self.query(k)).collect()),
            // Refused before searching.
            _ => nothing(),
        }
    }
}

/// The MODSEQ of an ESEARCH answer (RFC 7162 §3.1.5 with RFC 4731): with only MIN and/or
/// MAX asked, the highest mod-sequence of the messages returned (the first and/or last);
/// otherwise that of every message found. `None` when nothing was found.
pub(super) fn esearch_modseq(opts: &[SearchReturnOpt], modseqs: &[u64]) -> Option<u64> {
    let (min, max) = (
        opts.contains(&SearchReturnOpt::Min),
        opts.contains(&SearchReturnOpt::Max),
    );
    let only_min_max = (min || max)
        && opts.iter().all(|o| {
            matches!(
                o,
                SearchReturnOpt::Min | SearchReturnOpt::Max | SearchReturnOpt::Save
            )
        });
    if only_min_max {
        let first = modseqs.first().filter(|_| min);
        let last = modseqs.last().filter(|_| max);
        first.into_iter().chain(last).copied().max()
    } else {
        modseqs.iter().copied().max()
    }
}

/// A SEARCH date as the store's calendar day (both validate alike, so this never fails).
fn day(d: Date) -> Option<Day> {
    Day::new(d.year(), d.month(), d.day()).ok()
}

/// A message the keys matched: its sequence number, UID and mod-sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    pub seq: u32,
    pub uid: u32,
    pub modseq: u64,
}

/// What a SEARCH or SORT with RETURN answers (RFC 4731, RFC 5267 §3.1, RFC 9394): the
/// numbers found in the command's order (ascending for SEARCH, sort order for SORT), their
/// UIDs beside them, and whether the order is a sort order (then sets keep it).
pub(super) struct Results<'r> {
    pub ids: &'r [u32],
    pub uids: &'r [u32],
    pub sorted: bool,
}

impl Results<'_> {
    /// A set of some of the numbers: ascending for SEARCH, in sort order for SORT.
    fn set(&self, ids: &[u32]) -> Option<SequenceSet> {
        if self.sorted {
            ordered_set(ids)
        } else {
            SequenceSet::from_numbers(ids.iter().copied()).ok()
        }
    }
}

/// The UIDs SAVE keeps (RFC 9394 §3.2, Table 1; RFC 5182 §2.4): every message found when
/// ALL or COUNT is asked for, or SAVE alone; otherwise those PARTIAL, MIN and MAX return.
fn saved_uids(opts: &[SearchReturnOpt], r: &Results<'_>) -> Vec<u32> {
    use SearchReturnOpt as O;
    let everything = opts.iter().any(|o| matches!(o, O::All | O::Count))
        || !opts
            .iter()
            .any(|o| matches!(o, O::Min | O::Max | O::Partial(_)));
    if everything {
        return r.uids.to_vec();
    }
    let mut picked: Vec<usize> = Vec::new();
    for o in opts {
        match o {
            O::Min if !r.uids.is_empty() => picked.push(0),
            O::Max if !r.uids.is_empty() => picked.push(r.uids.len() - 1),
            O::Partial(range) => picked.extend(range.indices(r.uids.len()).into_iter().flatten()),
            _ => {}
        }
    }
    picked.sort_unstable();
    picked.dedup();
    picked
        .iter()
        .filter_map(|&i| r.uids.get(i).copied())
        .collect()
}

/// Whether a `charset` argument names one this server searches in: US-ASCII and UTF-8
/// (RFC 9051 §6.4.4; UTF-8 is the superset both are compared as).
fn known_charset(charset: &Charset<'_>) -> bool {
    let c = charset.to_str_lossy();
    c.eq_ignore_ascii_case("US-ASCII") || c.eq_ignore_ascii_case("UTF-8")
}

impl<S: MailStore> Conn<'_, S> {
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
        let with_modseq = criteria.iter().any(SearchKey::uses_modseq);
        let Some((name, _)) = self.selected_mailbox() else {
            self.no(None, "No mailbox selected")?;
            return Ok(None);
        };
        let session = self.session()?;
        let known: Vec<u32> = self
            .server()
            .view()
            .map(|v| v.uids().to_vec())
            .unwrap_or_default();
        if known.is_empty() {
            // Nothing to search: the store is not asked.
            return Ok(Some((Vec::new(), with_modseq)));
        }
        let query = self.query(criteria, &known);
        // Only the messages the client knows: one delivered since it was last told is not
        // found, nor one expunged elsewhere (the store no longer has it).
        let uids: UidSet = known.iter().copied().filter_map(Uid::new).collect();
        let hits = match self
            .service
            .store
            .search(&session, &name, &uids, &query)
            .await
        {
            Ok(h) => h,
            Err(e) => {
                self.fail(&e)?;
                return Ok(None);
            }
        };
        let found = hits
            .iter()
            .filter_map(|h| {
                let uid = h.uid.get();
                let pos = known.binary_search(&uid).ok()?;
                Some(Found {
                    seq: u32::try_from(pos + 1).unwrap_or(u32::MAX),
                    uid,
                    modseq: h.modseq.get(),
                })
            })
            .collect();
        Ok(Some((found, with_modseq)))
    }

    /// `criteria` as a store query, with the session-relative keys resolved against the
    /// messages the client knows (`known`, their UIDs in mailbox order).
    fn query(&self, criteria: &[SearchKey<'_>], known: &[u32]) -> SearchQuery {
        // Every message `\Recent` in this session, those claimed but not told yet too (an
        // updating search for RECENT or NEW takes them in as they arrive).
        let recent: UidSet = self
            .server()
            .view()
            .map(|v| v.recent().iter().copied().filter_map(Uid::new).collect())
            .unwrap_or_default();
        let scope = Scope {
            known,
            saved: self.server().saved_search(),
            recent: &recent,
            now: sansmail_store::InternalDate::now().timestamp,
        };
        SearchQuery::And(criteria.iter().map(|k| scope.query(k)).collect())
    }

    /// The result of an updating search now (RFC 5267 §4.3), as UIDs in its order: over
    /// every message of the mailbox, those the client is not told of yet too (the session
    /// holds their ADDTO back until their EXISTS is out). Sequence numbers in the keys name
    /// the messages the client knows now, `$` the result saved now. `None` after a store
    /// error, which is logged: the search keeps the result it had.
    pub(super) async fn evaluate(&self, search: &UpdatingSearch) -> Option<Vec<u32>> {
        let (name, _) = self.selected_mailbox()?;
        let session = self.session().ok()?;
        let known = self.server().view().map(|v| v.uids().to_vec())?;
        let query = self.query(&search.keys, &known);
        let hits = match self
            .service
            .store
            .search(&session, &name, &UidSet::all(), &query)
            .await
        {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("imap: updating search {} in {name}: {e}", search.tag);
                return None;
            }
        };
        let mut uids: Vec<u32> = hits.iter().map(|h| h.uid.get()).collect();
        uids.sort_unstable();
        uids.dedup();
        match &search.sort {
            None => Some(uids),
            Some(criteria) => match self.sort_uids(&uids, criteria).await {
                Ok(sorted) => Some(sorted),
                Err(e) => {
                    tracing::warn!("imap: updating sort {} in {name}: {e}", search.tag);
                    None
                }
            },
        }
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
        let Some((found, with_modseq)) = self.find(criteria).await? else {
            return Ok(());
        };
        let ids: Vec<u32> = found
            .iter()
            .map(|f| if uid { f.uid } else { f.seq })
            .collect();
        let highest = found.iter().map(|f| f.modseq).max().filter(|_| with_modseq);
        match return_opts {
            None => self.server_mut().send_data(Data::Search(SearchResult {
                ids,
                modseq: highest,
            })),
            Some(opts) => {
                let uids: Vec<u32> = found.iter().map(|f| f.uid).collect();
                let modseqs: Vec<u64> = found.iter().map(|f| f.modseq).collect();
                let modseqs = with_modseq.then_some(&modseqs[..]);
                let results = Results {
                    ids: &ids,
                    uids: &uids,
                    sorted: false,
                };
                self.esearch(tag, uid, &opts, &results, modseqs)?;
            }
        }
        self.ok(None, "SEARCH completed")
    }

    /// Answers a SEARCH or SORT with RETURN options (RFC 4731, RFC 5267, RFC 9394): MIN and
    /// MAX are the first and last of `results`, PARTIAL takes positions in its order, SAVE
    /// keeps what [`saved_uids`] says, UPDATE starts the session's updates of it. Options
    /// that return nothing alone (an empty list, or only CONTEXT and UPDATE) mean ALL.
    /// `modseqs` (beside the results) when a MODSEQ key was used: see [`esearch_modseq`].
    pub(super) fn esearch(
        &mut self,
        tag: &Tag<'_>,
        uid: bool,
        opts: &[SearchReturnOpt],
        results: &Results<'_>,
        modseqs: Option<&[u64]>,
    ) -> io::Result<()> {
        use SearchReturnOpt as O;
        let mut opts = opts.to_vec();
        if opts.iter().all(|o| matches!(o, O::Context | O::Update)) {
            opts.push(O::All);
        }
        let ids = results.ids;
        let highest = modseqs.and_then(|m| esearch_modseq(&opts, m));
        if opts.contains(&O::Save) {
            self.server_mut().save_search(saved_uids(&opts, results));
        }
        let mut items = Vec::new();
        for o in &opts {
            match o {
                O::Min => items.extend(ids.first().map(|&n| ESearchItem::Min(n))),
                O::Max => items.extend(ids.last().map(|&n| ESearchItem::Max(n))),
                O::All => items.extend(results.set(ids).map(ESearchItem::All)),
                O::Count => items.push(ESearchItem::Count(
                    u32::try_from(ids.len()).unwrap_or(u32::MAX),
                )),
                O::Partial(range) => items.push(ESearchItem::Partial {
                    range: *range,
                    results: range
                        .indices(ids.len())
                        .and_then(|i| results.set(ids.get(i).unwrap_or_default())),
                }),
                _ => {}
            }
        }
        if let Some(m) = highest {
            items.push(ESearchItem::ModSeq(m));
        }
        // SAVE alone answers nothing (RFC 5182 §2.4).
        if opts
            .iter()
            .any(|o| !matches!(o, O::Save | O::Context | O::Update))
        {
            self.server_mut().send_data(Data::ESearch(ESearch {
                tag: Some(AString::String(IString::Quoted(Cow::Owned(
                    tag.as_str().to_owned(),
                )))),
                uid,
                items,
            }));
        }
        if opts.contains(&O::Update) {
            // Refused with NO [NOUPDATE] by the session past its limit (RFC 5267 §4.3.1).
            self.server_mut()
                .start_updating(results.uids.to_vec())
                .map_err(api)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// RFC 7162 §3.1.5: MIN or MAX alone reports the returned message's MODSEQ, as Dovecot
    /// does (`MIN 1 MODSEQ 7` where the highest of all is 8); with ALL or COUNT, the highest.
    #[test]
    fn esearch_modseq_is_that_of_what_is_returned() {
        use SearchReturnOpt::{All, Count, Max, Min, Save};
        let m = [7, 8, 7];
        assert_eq!(super::esearch_modseq(&[Min], &m), Some(7));
        assert_eq!(super::esearch_modseq(&[Max], &m), Some(7));
        assert_eq!(super::esearch_modseq(&[Min, Max], &[7, 8, 9]), Some(9));
        assert_eq!(super::esearch_modseq(&[Min, Save], &[5, 8]), Some(5));
        assert_eq!(super::esearch_modseq(&[Min, Count], &m), Some(8));
        assert_eq!(super::esearch_modseq(&[Max, All], &m), Some(8));
        assert_eq!(super::esearch_modseq(&[All], &m), Some(8));
        assert_eq!(super::esearch_modseq(&[Min], &[]), None);
    }

    /// RFC 9394 §3.2, Table 1: with PARTIAL, SAVE keeps the page (and MIN and MAX), unless
    /// COUNT or ALL is asked for, which keep everything found.
    #[test]
    fn save_keeps_what_partial_min_and_max_return() {
        use SearchReturnOpt::{All, Count, Max, Min, Partial, Save};
        use sansmail_imap::types::search::PartialRange;
        let uids = [10, 20, 30, 40, 50, 60];
        let r = Results {
            ids: &[1, 2, 3, 4, 5, 6],
            uids: &uids,
            sorted: false,
        };
        let last2 = Partial(PartialRange::new(true, 1, 2).unwrap());
        assert_eq!(saved_uids(&[Save, last2], &r), [50, 60]);
        assert_eq!(saved_uids(&[Save, last2, Min], &r), [10, 50, 60]);
        assert_eq!(saved_uids(&[Save, Min, Max], &r), [10, 60]);
        assert_eq!(saved_uids(&[Save, last2, Count], &r), uids);
        assert_eq!(saved_uids(&[Save, All], &r), uids);
        assert_eq!(saved_uids(&[Save], &r), uids);
        let none = Partial(PartialRange::new(false, 7, 9).unwrap());
        assert!(saved_uids(&[Save, none], &r).is_empty());
    }

    use sansmail_imap::types::{
        core::Atom,
        sequence::{SeqItem, SeqNum},
    };

    use super::*;

    fn uids(v: &[u32]) -> SearchQuery {
        SearchQuery::Uids(v.iter().copied().filter_map(Uid::new).collect())
    }

    fn set(items: Vec<SeqItem>) -> SequenceSet {
        SequenceSet::new(items).unwrap()
    }

    #[test]
    fn session_keys_become_uid_sets() {
        let recent: UidSet = Uid::new(9).into_iter().collect();
        let scope = Scope {
            known: &[3, 5, 9],
            saved: &[5, 7],
            recent: &recent,
            now: 1000,
        };
        let q = |k: SearchKey<'_>| scope.query(&k);
        let from_2 = || set(vec![SeqItem::Range(SeqNum::Value(2), SeqNum::Largest)]);
        assert_eq!(q(SearchKey::SequenceSet(from_2())), uids(&[5, 9]));
        // As UIDs, 2:* is every known UID from 2 (and * is the largest known UID).
        assert_eq!(q(SearchKey::Uid(from_2())), uids(&[3, 5, 9]));
        let star = || set(vec![SeqItem::Single(SeqNum::Largest)]);
        assert_eq!(q(SearchKey::Uid(star())), uids(&[9]));
        assert_eq!(q(SearchKey::SequenceSet(star())), uids(&[9]));
        assert_eq!(q(SearchKey::SequenceSet(SequenceSet::Saved)), uids(&[5, 7]));
        assert_eq!(q(SearchKey::Uid(SequenceSet::Saved)), uids(&[5, 7]));
        assert_eq!(q(SearchKey::Recent), uids(&[9]));
        assert_eq!(q(SearchKey::Old), !uids(&[9]));
        assert_eq!(
            q(SearchKey::New),
            SearchQuery::And(vec![uids(&[9]), !SearchQuery::Flag(Flag::Seen)])
        );
        assert_eq!(q(SearchKey::Older(10)), SearchQuery::ArrivedBefore(990));
        assert_eq!(q(SearchKey::Younger(10)), SearchQuery::ArrivedSince(990));
    }

    #[test]
    fn message_keys_carry_over() {
        let recent = UidSet::new();
        let scope = Scope {
            known: &[],
            saved: &[],
            recent: &recent,
            now: 0,
        };
        let q = |k: SearchKey<'_>| scope.query(&k);
        let date = Date::new(2003, 7, 1).unwrap();
        let day = Day::new(2003, 7, 1).unwrap();
        assert_eq!(
            q(SearchKey::Since(date)),
            SearchQuery::InternalDay(DayCmp::Since, day)
        );
        assert_eq!(
            q(SearchKey::SentOn(date)),
            SearchQuery::SentDay(DayCmp::On, day)
        );
        assert_eq!(
            q(SearchKey::From(AString::try_from("Alice").unwrap())),
            SearchQuery::Address {
                name: b"From".to_vec(),
                contains: b"Alice".to_vec()
            }
        );
        assert_eq!(
            q(SearchKey::Subject(AString::try_from("Hi").unwrap())),
            SearchQuery::Header {
                name: b"Subject".to_vec(),
                contains: b"Hi".to_vec()
            }
        );
        assert_eq!(
            q(SearchKey::Unkeyword(Atom::new("$Work".to_owned()).unwrap())),
            !SearchQuery::Keyword(Keyword::try_from("$work").unwrap())
        );
        assert_eq!(q(SearchKey::Unflagged), !SearchQuery::Flag(Flag::Flagged));
        assert_eq!(
            q(SearchKey::ModSeq {
                entry: None,
                modseq: 0
            }),
            SearchQuery::ModSeqAtLeast(0)
        );
        assert_eq!(q(SearchKey::SaveDateSupported), nothing());
    }
}
