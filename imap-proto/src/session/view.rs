//! The selected mailbox as the client sees it: message sequence numbers mapped to UIDs, the
//! changes from other sessions waiting until RFC 9051 §7.4.1 lets them be told, the newest
//! state of each message the client was told, and the messages that are `\Recent` in this
//! session.
//!
//! The session owns this view, so sequence numbers in every response agree with what the
//! client has been told: an expunge shifts numbers only when its `EXPUNGE` (or `VANISHED`)
//! goes out, never while a FETCH, STORE or SEARCH is answered. A client caches on what it is
//! told, so it is never told a message state older than one it already has: a queued change
//! whose mod-sequence is not above what the client was told of the message (in a FETCH or
//! STORE answer) is dropped, and of several queued changes to one message only the newest
//! goes out.

use std::{
    borrow::Cow,
    collections::{BTreeMap, HashSet, VecDeque},
};

use super::contexts::Context;
use crate::types::{
    core::{AString, IString},
    flag::Flag,
    response_data::{ContextUpdate, ESearch, ESearchItem},
    sequence::SequenceSet,
};

/// A change to the selected mailbox made elsewhere (another session, a delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// New messages, by UID (ascending, above every UID in the view).
    New(Vec<u32>),
    /// Messages that were expunged.
    Expunged {
        /// The messages, by UID.
        uids: Vec<u32>,
        /// The mod-sequence of the expunge (RFC 7162 §3.2.10), when the store keeps them.
        /// While the expunge waits (RFC 9051 §7.4.1) and the client is told higher
        /// mod-sequences, commands end with `HIGHESTMODSEQ` below it, so a client that
        /// resynchronizes from there still learns of it.
        modseq: Option<u64>,
    },
    /// A message's flags changed.
    Flags {
        /// The message.
        uid: u32,
        /// Its flags now (without `\Recent`: the session adds it for messages that are
        /// recent in this session).
        flags: Vec<Flag<'static>>,
        /// Its modseq now (sent when CONDSTORE is enabled). With it, a change older than
        /// what the client was told of the message is dropped.
        modseq: Option<u64>,
    },
}

impl Update {
    /// The messages an arrival or expunge names (a flag change is kept apart).
    fn uids(&self) -> &[u32] {
        match self {
            Self::New(uids) | Self::Expunged { uids, .. } => uids,
            Self::Flags { .. } => &[],
        }
    }
}

/// A message's flags and mod-sequence as the application read them from its store, given
/// with a FETCH response about the message
/// ([`Server::send_fetch`](super::server::Server::send_fetch)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    /// Its flags (without `\Recent`).
    pub flags: Vec<Flag<'static>>,
    /// Its mod-sequence, if the store keeps them.
    pub modseq: Option<u64>,
}

/// What to tell the client, worked out against the view at the moment of telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    Exists(u32),
    Expunge(u32),
    Vanished(SequenceSet),
    Flags {
        seq: u32,
        uid: u32,
        flags: Vec<Flag<'static>>,
        modseq: Option<u64>,
    },
    /// ADDTO or REMOVEFROM for an updating search (RFC 5267 §4.3).
    Context(ESearch<'static>),
}

/// The selected mailbox's UIDs in sequence order, and the updates not yet told.
#[derive(Debug, Clone, Default)]
pub struct MailboxView {
    uids: Vec<u32>,
    /// By index as `uids`: the highest mod-sequence of the message's state the client was
    /// told (0: none).
    told: Vec<u64>,
    read_only: bool,
    /// New messages and expunges not yet told, in the order they happened.
    pending: VecDeque<Update>,
    /// The messages the arrivals and expunges in `pending` name.
    pending_uids: usize,
    /// Flag changes not yet told: the newest state of each message, by UID.
    flags: BTreeMap<u32, (Vec<Flag<'static>>, Option<u64>)>,
    /// States the application read that are newer than what the client was told of the
    /// message's flags (a `STORE .SILENT`, a FETCH without FLAGS), by UID: a change older
    /// than one of them that arrives later is told as this state instead.
    known: BTreeMap<u32, (Vec<Flag<'static>>, u64)>,
    /// UIDs that are `\Recent` in this session (IMAP4rev1), ascending.
    recent: Vec<u32>,
    /// Updating searches (RFC 5267): they end with the selection.
    pub(crate) contexts: Vec<Context>,
}

impl MailboxView {
    /// A view of a mailbox holding `uids` (ascending).
    pub fn new(mut uids: Vec<u32>, read_only: bool) -> Self {
        uids.sort_unstable();
        uids.dedup();
        Self {
            told: vec![0; uids.len()],
            uids,
            read_only,
            pending: VecDeque::new(),
            pending_uids: 0,
            flags: BTreeMap::new(),
            known: BTreeMap::new(),
            recent: Vec::new(),
            contexts: Vec::new(),
        }
    }

    /// Whether the mailbox was opened with EXAMINE (or is read-only).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Messages the client knows of.
    pub fn len(&self) -> u32 {
        u32::try_from(self.uids.len()).unwrap_or(u32::MAX)
    }

    /// Whether the client knows of no message.
    pub fn is_empty(&self) -> bool {
        self.uids.is_empty()
    }

    /// The UIDs in sequence order.
    pub fn uids(&self) -> &[u32] {
        &self.uids
    }

    /// The UIDs of arrivals queued and not told yet, in the order they came (after a
    /// missed change event, the application compares these too with the mailbox: one
    /// expunged meanwhile needs its expunge queued after it).
    pub fn queued_new(&self) -> impl Iterator<Item = u32> + '_ {
        self.pending
            .iter()
            .filter_map(|u| match u {
                Update::New(uids) => Some(uids.iter().copied()),
                _ => None,
            })
            .flatten()
    }

    /// The UID of sequence number `seq`.
    pub fn uid(&self, seq: u32) -> Option<u32> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.uids.get(i).copied()
    }

    /// The sequence number of `uid`.
    pub fn seq(&self, uid: u32) -> Option<u32> {
        let i = self.uids.binary_search(&uid).ok()?;
        u32::try_from(i + 1).ok()
    }

    /// Whether `uid` is `\Recent` in this session (IMAP4rev1: this session was the first to
    /// be told of it).
    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent.binary_search(&uid).is_ok()
    }

    /// The UIDs that are `\Recent` in this session, ascending (some may not be told yet).
    pub fn recent(&self) -> &[u32] {
        &self.recent
    }

    /// How many messages the client knows of are `\Recent` in this session: what `RECENT`
    /// reports.
    pub fn recent_count(&self) -> u32 {
        let n = self
            .recent
            .iter()
            .filter(|u| self.uids.binary_search(u).is_ok())
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Marks messages `\Recent` in this session.
    pub(crate) fn claim_recent(&mut self, uids: impl IntoIterator<Item = u32>) {
        self.recent.extend(uids);
        self.recent.sort_unstable();
        self.recent.dedup();
    }

    /// The messages a command's set names, as `(seq, uid)` in sequence order. With `uid`,
    /// the set holds UIDs (`*` is the largest UID), otherwise sequence numbers. Numbers that
    /// name no message are left out, as RFC 9051 asks for UID sets. `$` resolves to `saved`.
    pub fn resolve(&self, set: &SequenceSet, uid: bool, saved: &[u32]) -> Vec<(u32, u32)> {
        let indexed = self
            .uids
            .iter()
            .enumerate()
            .map(|(i, &u)| (u32::try_from(i + 1).unwrap_or(u32::MAX), u));
        match set {
            SequenceSet::Saved => indexed
                .filter(|(_, u)| saved.binary_search(u).is_ok())
                .collect(),
            _ if uid => {
                let largest = self.uids.last().copied().unwrap_or(0);
                indexed.filter(|&(_, u)| set.contains(u, largest)).collect()
            }
            SequenceSet::Items(_) => {
                let largest = self.len();
                indexed.filter(|&(s, _)| set.contains(s, largest)).collect()
            }
        }
    }

    /// The highest mod-sequence of `uid`'s state the client was told (0: none).
    pub(crate) fn told_modseq(&self, uid: u32) -> u64 {
        self.uids
            .binary_search(&uid)
            .map_or(0, |i| self.told.get(i).copied().unwrap_or(0))
    }

    /// Records that the client was told `uid`'s flags as they were at `modseq`: queued
    /// changes and known states not newer are dropped.
    pub(crate) fn note_told(&mut self, uid: u32, modseq: u64) {
        if let Ok(i) = self.uids.binary_search(&uid)
            && let Some(t) = self.told.get_mut(i)
        {
            *t = (*t).max(modseq);
        }
        if self
            .flags
            .get(&uid)
            .is_some_and(|(_, m)| m.is_some_and(|m| m <= modseq))
        {
            self.flags.remove(&uid);
        }
        if self.known.get(&uid).is_some_and(|(_, m)| *m <= modseq) {
            self.known.remove(&uid);
        }
    }

    /// Records a state of `uid` the application read but did not tell the client (a `STORE
    /// .SILENT`, a FETCH without FLAGS). A change queued for the message that is not newer
    /// becomes this state; one that arrives later and is older is told as this state.
    pub(crate) fn learn(&mut self, uid: u32, flags: Vec<Flag<'static>>, modseq: u64) {
        if self.uids.binary_search(&uid).is_err() || self.told_modseq(uid) >= modseq {
            return;
        }
        match self.flags.get(&uid) {
            Some((_, Some(queued))) if *queued > modseq => {}
            Some(_) => {
                self.flags.insert(uid, (flags, Some(modseq)));
            }
            None => {
                if self.known.get(&uid).is_none_or(|(_, m)| *m < modseq) {
                    self.known.insert(uid, (flags, modseq));
                }
            }
        }
    }

    /// Queues a change to tell the client when allowed. A flag change replaces an older one
    /// queued for the same message; one older than what the client was told of the message
    /// is dropped, and one older than a state the application read becomes that state.
    pub(crate) fn push(&mut self, update: Update) {
        match update {
            Update::Flags { uid, flags, modseq } => {
                let Some(m) = modseq else {
                    self.flags.insert(uid, (flags, None));
                    return;
                };
                if let Some((_, Some(queued))) = self.flags.get(&uid)
                    && *queued >= m
                {
                    return;
                }
                if let Some((known, k)) = self.known.remove(&uid)
                    && k >= m
                {
                    // The change is part of what the application read since: tell that.
                    self.flags.insert(uid, (known, Some(k)));
                    return;
                }
                if self.told_modseq(uid) >= m {
                    return;
                }
                self.flags.insert(uid, (flags, Some(m)));
            }
            other => {
                self.pending_uids += other.uids().len();
                self.pending.push_back(other);
            }
        }
    }

    /// The flag change queued for `uid`, if any: its flags and modseq.
    pub(crate) fn queued_flags(&self, uid: u32) -> Option<&(Vec<Flag<'static>>, Option<u64>)> {
        self.flags.get(&uid)
    }

    /// Takes the flag change queued for `uid`: the newest flags and modseq. For folding it
    /// into a FETCH response about the message (RFC 9051 §6.4.5: flags a FETCH changed go
    /// out with it), or for dropping it when a response carries a newer state.
    pub(crate) fn take_flags(&mut self, uid: u32) -> Option<(Vec<Flag<'static>>, Option<u64>)> {
        self.flags.remove(&uid)
    }

    /// How many messages the changes waiting to be told name.
    pub(crate) fn untold(&self) -> usize {
        self.pending_uids + self.flags.len()
    }

    /// Whether anything waits to be told.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.flags.is_empty()
    }

    /// The highest mod-sequence below every expunge that waits to be told, if one waits
    /// and says its mod-sequence.
    pub(crate) fn held_expunge_floor(&self) -> Option<u64> {
        self.pending
            .iter()
            .filter_map(|u| match u {
                Update::Expunged {
                    modseq: Some(m), ..
                } => Some(m.saturating_sub(1)),
                _ => None,
            })
            .min()
    }

    /// Tells what may be told now, applying it to the view, in the order Dovecot uses:
    /// expunges, then `EXISTS`, then flag changes. Expunges stay queued unless
    /// `expunges_allowed`; with `vanished` (QRESYNC) they are told as `VANISHED`.
    ///
    /// Updating searches are told around them (RFC 5267 §4.3.3, §4.3.4): REMOVEFROM first,
    /// while the numbers of the messages leaving are still valid, ADDTO after EXISTS.
    pub(crate) fn drain(&mut self, expunges_allowed: bool, vanished: bool) -> Vec<Notice> {
        let mut out = Vec::new();
        if !self.contexts.is_empty() {
            let leaving: HashSet<u32> = if expunges_allowed {
                self.pending
                    .iter()
                    .filter_map(|u| match u {
                        Update::Expunged { uids, .. } => Some(uids.iter().copied()),
                        _ => None,
                    })
                    .flatten()
                    .collect()
            } else {
                HashSet::new()
            };
            let mut contexts = std::mem::take(&mut self.contexts);
            for c in &mut contexts {
                let uid = c.search.uid;
                let pairs = c.removals(&leaving, |u| self.number(u, uid));
                out.extend(context_notice(c, pairs, ESearchItem::RemoveFrom));
            }
            self.contexts = contexts;
        }
        let mut held = VecDeque::new();
        let mut held_uids = 0;
        let mut news: Vec<u32> = Vec::new();
        while let Some(update) = self.pending.pop_front() {
            match update {
                Update::New(uids) => news.extend(uids),
                Update::Expunged { uids, .. } if expunges_allowed => {
                    let mut gone = Vec::new();
                    for uid in uids {
                        self.flags.remove(&uid);
                        self.known.remove(&uid);
                        if let Ok(i) = self.uids.binary_search(&uid) {
                            if !vanished {
                                out.push(Notice::Expunge(u32::try_from(i + 1).unwrap_or(u32::MAX)));
                            }
                            self.uids.remove(i);
                            if i < self.told.len() {
                                self.told.remove(i);
                            }
                            gone.push(uid);
                        } else {
                            // Arrived and went before the client was told of it.
                            news.retain(|&u| u != uid);
                        }
                        if let Ok(i) = self.recent.binary_search(&uid) {
                            self.recent.remove(i);
                        }
                    }
                    if vanished && let Ok(set) = SequenceSet::from_numbers(gone) {
                        out.push(Notice::Vanished(set));
                    }
                }
                held_update @ Update::Expunged { .. } => {
                    held_uids += held_update.uids().len();
                    held.push_back(held_update);
                }
                // Kept in `flags`, never queued here.
                Update::Flags { .. } => {}
            }
        }
        self.pending = held;
        self.pending_uids = held_uids;
        news.sort_unstable();
        news.dedup();
        let floor = self.uids.last().copied().unwrap_or(0);
        let before = self.uids.len();
        self.uids.extend(news.into_iter().filter(|&u| u > floor));
        self.told.resize(self.uids.len(), 0);
        if self.uids.len() != before {
            out.push(Notice::Exists(self.len()));
        }
        let last = self.uids.last().copied().unwrap_or(0);
        let queued = std::mem::take(&mut self.flags);
        for (uid, (flags, modseq)) in queued {
            match self.uids.binary_search(&uid) {
                Ok(i) => {
                    let told = self.told.get(i).copied().unwrap_or(0);
                    if modseq.is_some_and(|m| m <= told) {
                        continue;
                    }
                    if let (Some(m), Some(t)) = (modseq, self.told.get_mut(i)) {
                        *t = m;
                    }
                    out.push(Notice::Flags {
                        seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                        uid,
                        flags,
                        modseq,
                    });
                }
                // A change to a message whose arrival is not told yet waits for it.
                Err(_) if uid > last => {
                    self.flags.insert(uid, (flags, modseq));
                }
                Err(_) => {}
            }
        }
        let mut contexts = std::mem::take(&mut self.contexts);
        for c in &mut contexts {
            let uid = c.search.uid;
            let pairs = c.additions(|u| self.number(u, uid));
            out.extend(context_notice(c, pairs, ESearchItem::AddTo));
        }
        self.contexts = contexts;
        out
    }

    /// A message's UID, or its sequence number, if the client knows it.
    fn number(&self, uid: u32, as_uid: bool) -> Option<u32> {
        let seq = self.seq(uid)?;
        Some(if as_uid { uid } else { seq })
    }
}

/// `ESEARCH (TAG "tag") [UID] ADDTO/REMOVEFROM (...)`, unless there is nothing to tell.
fn context_notice(
    c: &Context,
    pairs: Vec<ContextUpdate>,
    item: fn(Vec<ContextUpdate>) -> ESearchItem<'static>,
) -> Option<Notice> {
    if pairs.is_empty() {
        return None;
    }
    let tag = c.search.tag.as_str().to_owned();
    Some(Notice::Context(ESearch {
        tag: Some(AString::String(IString::Quoted(Cow::Owned(tag)))),
        uid: c.search.uid,
        items: vec![item(pairs)],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expunges_wait_and_shift_numbers_only_when_told() {
        let mut v = MailboxView::new(vec![10, 20, 30, 40], false);
        v.push(Update::Expunged {
            uids: vec![20],
            modseq: None,
        });
        v.push(Update::Flags {
            uid: 30,
            flags: vec![Flag::Seen],
            modseq: None,
        });
        v.push(Update::New(vec![50]));
        // During a FETCH: EXISTS and flags go out against the old numbering.
        let told = v.drain(false, false);
        assert_eq!(told[0], Notice::Exists(5));
        assert_eq!(
            told[1],
            Notice::Flags {
                seq: 3,
                uid: 30,
                flags: vec![Flag::Seen],
                modseq: None
            }
        );
        assert_eq!(v.seq(30), Some(3));
        assert!(v.has_pending());
        // Later, where expunges are allowed.
        assert_eq!(v.drain(true, false), [Notice::Expunge(2)]);
        assert_eq!(v.seq(30), Some(2));
        assert_eq!(v.uids(), [10, 30, 40, 50]);
    }

    fn flags(uid: u32, flags: Vec<Flag<'static>>, modseq: u64) -> Update {
        Update::Flags {
            uid,
            flags,
            modseq: Some(modseq),
        }
    }

    fn told_flags(notices: &[Notice]) -> Vec<(u32, Vec<Flag<'static>>, Option<u64>)> {
        notices
            .iter()
            .filter_map(|n| match n {
                Notice::Flags {
                    uid, flags, modseq, ..
                } => Some((*uid, flags.clone(), *modseq)),
                _ => None,
            })
            .collect()
    }

    /// Expunges go out before EXISTS (Dovecot's order, and what MOVE into the selected
    /// mailbox needs: the source's EXPUNGE before the copy's EXISTS).
    #[test]
    fn expunges_before_exists() {
        let mut v = MailboxView::new(vec![1, 2], false);
        v.push(Update::New(vec![3]));
        v.push(Update::Expunged {
            uids: vec![1],
            modseq: None,
        });
        assert_eq!(
            v.drain(true, false),
            [Notice::Expunge(1), Notice::Exists(2)]
        );
        assert_eq!(v.uids(), [2, 3]);
        // A message that came and went before the client was told of it is never told.
        v.push(Update::New(vec![4]));
        v.push(Update::Expunged {
            uids: vec![4],
            modseq: None,
        });
        assert_eq!(v.drain(true, false), []);
        assert_eq!(v.uids(), [2, 3]);
    }

    /// A queued change older than what the client was told is dropped; of two queued
    /// changes the newer wins, whatever order they come in.
    #[test]
    fn never_an_older_state() {
        let mut v = MailboxView::new(vec![1, 2, 3], false);
        v.push(flags(3, vec![Flag::Seen], 11));
        // A STORE answer told the state at 13.
        v.note_told(3, 13);
        assert_eq!(told_flags(&v.drain(true, false)), []);
        v.push(flags(3, vec![Flag::Flagged], 12));
        assert_eq!(told_flags(&v.drain(true, false)), []);
        v.push(flags(2, vec![Flag::Answered], 20));
        v.push(flags(2, vec![Flag::Seen], 19));
        assert_eq!(
            told_flags(&v.drain(true, false)),
            [(2, vec![Flag::Answered], Some(20))]
        );
        v.push(flags(2, vec![], 20));
        assert_eq!(told_flags(&v.drain(true, false)), [], "same modseq: told");
    }

    /// A state the application read but did not tell (STORE .SILENT) replaces an older
    /// change queued or arriving later, so the client gets both changes.
    #[test]
    fn known_state_replaces_older_changes() {
        let mut v = MailboxView::new(vec![1, 2], false);
        v.learn(1, vec![Flag::Seen, Flag::Flagged], 13);
        assert!(!v.has_pending(), "nothing to tell by itself");
        v.push(flags(1, vec![Flag::Seen], 12));
        assert_eq!(
            told_flags(&v.drain(true, false)),
            [(1, vec![Flag::Seen, Flag::Flagged], Some(13))]
        );
        v.push(flags(2, vec![Flag::Draft], 5));
        v.learn(2, vec![Flag::Draft, Flag::Answered], 6);
        v.push(flags(2, vec![Flag::Deleted], 7));
        assert_eq!(
            told_flags(&v.drain(true, false)),
            [(2, vec![Flag::Deleted], Some(7))]
        );
    }

    /// A change to a message whose arrival is queued waits for it rather than being lost.
    #[test]
    fn flags_wait_for_their_message() {
        let mut v = MailboxView::new(vec![1], false);
        v.push(flags(5, vec![Flag::Seen], 9));
        assert_eq!(told_flags(&v.drain(true, false)), []);
        v.push(Update::New(vec![5]));
        let told = v.drain(true, false);
        assert_eq!(told[0], Notice::Exists(2));
        assert_eq!(told_flags(&told), [(5, vec![Flag::Seen], Some(9))]);
    }

    /// An arrival queued and then found gone (by an application that missed the event,
    /// comparing [`MailboxView::queued_new`] with the mailbox) is never told as EXISTS
    /// without its expunge.
    #[test]
    fn a_queued_arrival_found_gone_is_not_told() {
        let mut v = MailboxView::new(vec![1, 2], false);
        v.push(Update::New(vec![3, 4]));
        assert_eq!(v.queued_new().collect::<Vec<_>>(), [3, 4]);
        v.push(Update::Expunged {
            uids: vec![4],
            modseq: None,
        });
        let told = v.drain(true, false);
        assert_eq!(v.uids(), [1, 2, 3]);
        assert_eq!(told, [Notice::Exists(3)]);
        assert_eq!(v.queued_new().count(), 0);
    }

    #[test]
    fn recent_counts_what_the_client_knows() {
        let mut v = MailboxView::new(vec![1, 2], false);
        v.claim_recent([2, 3]);
        assert_eq!(v.recent_count(), 1);
        assert!(v.is_recent(3) && !v.is_recent(1));
        v.push(Update::New(vec![3]));
        v.drain(true, false);
        assert_eq!(v.recent_count(), 2);
        v.push(Update::Expunged {
            uids: vec![2],
            modseq: None,
        });
        v.drain(true, false);
        assert_eq!(v.recent_count(), 1);
        assert_eq!(v.recent(), [3]);
    }

    #[test]
    fn resolve_sets() {
        let v = MailboxView::new(vec![3, 7, 9], false);
        let set = SequenceSet::range(
            crate::types::sequence::SeqNum::Value(2),
            crate::types::sequence::SeqNum::Largest,
        )
        .unwrap();
        assert_eq!(v.resolve(&set, false, &[]), [(2, 7), (3, 9)]);
        assert_eq!(v.resolve(&set, true, &[]), [(1, 3), (2, 7), (3, 9)]);
        let big = SequenceSet::range(
            crate::types::sequence::SeqNum::Value(1),
            crate::types::sequence::SeqNum::Value(u32::MAX),
        )
        .unwrap();
        assert_eq!(v.resolve(&big, true, &[]).len(), 3);
        assert_eq!(v.resolve(&SequenceSet::Saved, true, &[7]), [(2, 7)]);
    }
}
