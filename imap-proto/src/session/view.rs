//! The selected mailbox as the client sees it: message sequence numbers mapped to UIDs, and
//! the changes from other sessions waiting until RFC 9051 §7.4.1 lets them be told.
//!
//! The session owns this view, so sequence numbers in every response agree with what the
//! client has been told: an expunge shifts numbers only when its `EXPUNGE` (or `VANISHED`)
//! goes out, never while a FETCH, STORE or SEARCH is answered.

use std::collections::VecDeque;

use crate::types::{flag::Flag, sequence::SequenceSet};

/// A change to the selected mailbox made elsewhere (another session, a delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// New messages, by UID (ascending, above every UID in the view).
    New(Vec<u32>),
    /// Messages that were expunged, by UID.
    Expunged(Vec<u32>),
    /// A message's flags changed.
    Flags {
        /// The message.
        uid: u32,
        /// Its flags now.
        flags: Vec<Flag<'static>>,
        /// Its modseq now (sent when CONDSTORE is enabled).
        modseq: Option<u64>,
    },
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
}

/// The selected mailbox's UIDs in sequence order, and the updates not yet told.
#[derive(Debug, Clone, Default)]
pub struct MailboxView {
    uids: Vec<u32>,
    read_only: bool,
    pending: VecDeque<Update>,
}

impl MailboxView {
    /// A view of a mailbox holding `uids` (ascending).
    pub fn new(mut uids: Vec<u32>, read_only: bool) -> Self {
        uids.sort_unstable();
        uids.dedup();
        Self {
            uids,
            read_only,
            pending: VecDeque::new(),
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

    /// Queues a change to tell the client when allowed.
    pub(crate) fn push(&mut self, update: Update) {
        self.pending.push_back(update);
    }

    /// Takes the flag changes queued for `uid`: the last one's flags and modseq. For folding
    /// them into a FETCH response about the message (RFC 9051 §6.4.5: flags a FETCH changed
    /// go out with it).
    pub(crate) fn take_flags(&mut self, uid: u32) -> Option<(Vec<Flag<'static>>, Option<u64>)> {
        let mut found = None;
        self.pending.retain(|u| match u {
            Update::Flags {
                uid: u,
                flags,
                modseq,
            } if *u == uid => {
                found = Some((flags.clone(), *modseq));
                false
            }
            _ => true,
        });
        found
    }

    /// Whether anything waits to be told.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Tells what may be told now, applying it to the view. Expunges stay queued unless
    /// `expunges_allowed`; with `vanished` (QRESYNC) they are told as `VANISHED`.
    pub(crate) fn drain(&mut self, expunges_allowed: bool, vanished: bool) -> Vec<Notice> {
        let mut out = Vec::new();
        let mut held = VecDeque::new();
        while let Some(update) = self.pending.pop_front() {
            match update {
                Update::New(uids) => {
                    let before = self.uids.len();
                    let floor = self.uids.last().copied().unwrap_or(0);
                    self.uids.extend(uids.into_iter().filter(|&u| u > floor));
                    self.uids.dedup();
                    if self.uids.len() != before {
                        // Coalesce with an EXISTS just told.
                        if let Some(Notice::Exists(_)) = out.last() {
                            out.pop();
                        }
                        out.push(Notice::Exists(self.len()));
                    }
                }
                Update::Expunged(uids) if expunges_allowed => {
                    let mut gone = Vec::new();
                    for uid in uids {
                        if let Ok(i) = self.uids.binary_search(&uid) {
                            if !vanished {
                                out.push(Notice::Expunge(u32::try_from(i + 1).unwrap_or(u32::MAX)));
                            }
                            self.uids.remove(i);
                            gone.push(uid);
                        }
                    }
                    if vanished && let Ok(set) = SequenceSet::from_numbers(gone) {
                        out.push(Notice::Vanished(set));
                    }
                }
                held_update @ Update::Expunged(_) => held.push_back(held_update),
                Update::Flags { uid, flags, modseq } => {
                    if let Some(seq) = self.seq(uid) {
                        out.push(Notice::Flags {
                            seq,
                            uid,
                            flags,
                            modseq,
                        });
                    }
                }
            }
        }
        self.pending = held;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expunges_wait_and_shift_numbers_only_when_told() {
        let mut v = MailboxView::new(vec![10, 20, 30, 40], false);
        v.push(Update::Expunged(vec![20]));
        v.push(Update::Flags {
            uid: 30,
            flags: vec![Flag::Seen],
            modseq: None,
        });
        v.push(Update::New(vec![50]));
        // During a FETCH: flags and EXISTS go out against the old numbering.
        let told = v.drain(false, false);
        assert_eq!(
            told[0],
            Notice::Flags {
                seq: 3,
                uid: 30,
                flags: vec![Flag::Seen],
                modseq: None
            }
        );
        assert_eq!(told[1], Notice::Exists(5));
        assert_eq!(v.seq(30), Some(3));
        assert!(v.has_pending());
        // Later, where expunges are allowed.
        assert_eq!(v.drain(true, false), [Notice::Expunge(2)]);
        assert_eq!(v.seq(30), Some(2));
        assert_eq!(v.uids(), [10, 30, 40, 50]);
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
