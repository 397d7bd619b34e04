//! One mailbox's index: messages with UIDs, flags and modseqs, the expunge log, and the
//! records (transactions) that change it.
//!
//! Every mutation is expressed as a list of [`Record`]s; applying them is the only way the
//! state changes. The Maildir backend writes the same records to its journal and replays
//! them on open, so what a live operation does and what recovery rebuilds cannot differ.

use serde::{Deserialize, Serialize};

use crate::{
    model::MessageFlags,
    types::{Flag, Flags, InternalDate, Keyword, ModSeq, SpecialUse, Uid, UidSet, UidValidity},
};

/// A message's index entry. `B` is the backend's locator for the message octets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MessageMeta<B> {
    #[serde(rename = "u")]
    pub uid: Uid,
    #[serde(rename = "m")]
    pub modseq: ModSeq,
    /// The modseq of the transaction that added the message.
    #[serde(rename = "c")]
    pub created: ModSeq,
    #[serde(rename = "f")]
    pub flags: Flags,
    #[serde(rename = "d")]
    pub date: InternalDate,
    #[serde(rename = "s")]
    pub size: u64,
    /// Size with CRLF line ends (bare LFs counted as CRLF; Dovecot's virtual size).
    #[serde(rename = "v")]
    pub vsize: u64,
    /// CRs not followed by LF, which POP3 sends as CRLF (absent in records written before
    /// it was kept: such a message's POP3 size then leaves them out, as it did).
    #[serde(rename = "r", default, skip_serializing_if = "is_zero")]
    pub bare_crs: u64,
    #[serde(rename = "b")]
    pub blob: B,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl<B> MessageMeta<B> {
    /// The size POP3's LIST and STAT report: as RETR sends the message (RFC 1939 §11).
    pub fn pop3_size(&self) -> u64 {
        self.vsize + self.bare_crs
    }

    pub fn flags_entry(&self) -> MessageFlags {
        MessageFlags {
            uid: self.uid,
            flags: self.flags.clone(),
            modseq: self.modseq,
        }
    }

    pub fn with_blob<C>(&self, blob: C) -> MessageMeta<C> {
        MessageMeta {
            uid: self.uid,
            modseq: self.modseq,
            created: self.created,
            flags: self.flags.clone(),
            date: self.date,
            size: self.size,
            vsize: self.vsize,
            bare_crs: self.bare_crs,
            blob,
        }
    }
}

/// Mailbox-wide values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    pub uidvalidity: UidValidity,
    pub uidnext: u32,
    pub highest_modseq: u64,
    /// Messages with a UID at or above this are `\Recent`.
    pub first_recent: u32,
    #[serde(default)]
    pub special_use: Option<SpecialUse>,
}

impl Header {
    pub fn new(uidvalidity: UidValidity, special_use: Option<SpecialUse>) -> Self {
        Self {
            uidvalidity,
            uidnext: 1,
            highest_modseq: 1,
            first_recent: 1,
            special_use,
        }
    }
}

/// One change to a mailbox; a transaction is a list of them.
///
/// A record also says what the backend does to the message octets once the transaction is
/// durable (the Maildir backend renames and removes files after its journal line is written,
/// and its recovery redoes what a crash interrupted): an `Append`'s blob is put in place, a
/// `Flags` record's blob replaces `from`, an `Expunge` removes `file` or moves it to `to`.
/// Records that only describe what another program did carry no `from` and no `file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Record<B> {
    #[serde(rename = "A")]
    Append(MessageMeta<B>),
    #[serde(rename = "F")]
    Flags {
        uid: Uid,
        modseq: ModSeq,
        flags: Flags,
        blob: B,
        /// The blob before the change, when the change moves the octets.
        #[serde(default = "none", skip_serializing_if = "Option::is_none")]
        from: Option<B>,
    },
    #[serde(rename = "X")]
    Expunge {
        uid: Uid,
        modseq: ModSeq,
        /// The octets to remove.
        #[serde(default = "none", skip_serializing_if = "Option::is_none")]
        file: Option<B>,
        /// For a move: the mailbox and blob the octets go to instead of being removed.
        #[serde(default = "none", skip_serializing_if = "Option::is_none")]
        to: Option<(String, B)>,
    },
    #[serde(rename = "H")]
    Header(Header),
}

/// A missing optional field (without asking `B: Default` as `#[serde(default)]` would).
fn none<T>() -> Option<T> {
    None
}

/// The index of one mailbox.
#[derive(Debug, Clone)]
pub(crate) struct MailboxState<B> {
    pub header: Header,
    /// Sorted by UID.
    pub messages: Vec<MessageMeta<B>>,
    /// (UID, modseq of its expunge), in expunge order: the expunges after
    /// [`expunged_floor`](Self::expunged_floor).
    pub expunged: Vec<(Uid, ModSeq)>,
    /// The history of expunges is complete above this modseq; older entries were let go of
    /// ([`trim_expunged`](Self::trim_expunged)). 0: nothing was.
    pub expunged_floor: u64,
    /// Keywords ever used in this mailbox, sorted.
    pub keywords: Vec<Keyword>,
    /// Sum of message sizes.
    pub size: u64,
}

impl<B: Clone> MailboxState<B> {
    pub fn new(header: Header) -> Self {
        Self {
            header,
            messages: Vec::new(),
            expunged: Vec::new(),
            expunged_floor: 0,
            keywords: Vec::new(),
            size: 0,
        }
    }

    pub fn next_modseq(&self) -> ModSeq {
        ModSeq::new(self.header.highest_modseq + 1)
            .unwrap_or(ModSeq::new(u64::MAX).unwrap_or_else(|| unreachable!()))
    }

    pub fn highest_modseq(&self) -> ModSeq {
        ModSeq::new(self.header.highest_modseq.max(1)).unwrap_or_else(|| unreachable!())
    }

    pub fn index_of(&self, uid: Uid) -> Option<usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid).ok()
    }

    pub fn get(&self, uid: Uid) -> Option<&MessageMeta<B>> {
        self.index_of(uid).map(|i| &self.messages[i])
    }

    /// Indices of the messages in `set`, ascending.
    pub fn select(&self, set: &UidSet) -> Vec<usize> {
        let mut out = Vec::new();
        for (lo, hi) in set.ranges() {
            let start = self.messages.partition_point(|m| m.uid < lo);
            for (i, m) in self.messages[start..].iter().enumerate() {
                if m.uid > hi {
                    break;
                }
                out.push(start + i);
            }
        }
        out
    }

    fn note_keywords(&mut self, flags: &Flags) {
        for k in flags.keywords() {
            if let Err(i) = self.keywords.binary_search(k) {
                self.keywords.insert(i, k.clone());
            }
        }
    }

    fn bump(&mut self, modseq: ModSeq) {
        self.header.highest_modseq = self.header.highest_modseq.max(modseq.get());
    }

    /// Applies one transaction.
    pub fn apply_all(&mut self, records: impl IntoIterator<Item = Record<B>>) {
        let mut gone: Vec<Uid> = Vec::new();
        for r in records {
            match r {
                Record::Append(m) => {
                    self.header.uidnext = self.header.uidnext.max(m.uid.get().saturating_add(1));
                    self.bump(m.modseq);
                    self.note_keywords(&m.flags);
                    self.size += m.size;
                    match self.messages.last() {
                        Some(last) if last.uid >= m.uid => {
                            match self.messages.binary_search_by_key(&m.uid, |x| x.uid) {
                                Ok(i) => {
                                    self.size -= self.messages[i].size;
                                    self.messages[i] = m;
                                }
                                Err(i) => self.messages.insert(i, m),
                            }
                        }
                        _ => self.messages.push(m),
                    }
                }
                Record::Flags {
                    uid,
                    modseq,
                    flags,
                    blob,
                    ..
                } => {
                    self.bump(modseq);
                    self.note_keywords(&flags);
                    if let Some(i) = self.index_of(uid) {
                        let m = &mut self.messages[i];
                        m.flags = flags;
                        m.modseq = modseq;
                        m.blob = blob;
                    }
                }
                Record::Expunge { uid, modseq, .. } => {
                    self.bump(modseq);
                    self.expunged.push((uid, modseq));
                    gone.push(uid);
                }
                Record::Header(h) => {
                    let highest = self.header.highest_modseq.max(h.highest_modseq);
                    let uidnext = self.header.uidnext.max(h.uidnext);
                    if h.uidvalidity != self.header.uidvalidity {
                        self.header = h;
                    } else {
                        self.header = Header {
                            highest_modseq: highest,
                            uidnext,
                            ..h
                        };
                    }
                }
            }
        }
        if !gone.is_empty() {
            gone.sort_unstable();
            let mut removed = 0;
            self.messages.retain(|m| {
                let hit = gone.binary_search(&m.uid).is_ok();
                if hit {
                    removed += m.size;
                }
                !hit
            });
            self.size -= removed;
        }
    }

    /// Keeps at most `keep` entries of the expunge history. Past it, the oldest entries go,
    /// down to half of `keep` (so trimming happens once per many expunges), and the floor
    /// rises to the modseq of the last one that went.
    pub fn trim_expunged(&mut self, keep: usize) {
        if self.expunged.len() <= keep {
            return;
        }
        let drop = self.expunged.len() - keep / 2;
        // Entries are in expunge order, so their modseqs ascend.
        let floor = self.expunged[..drop]
            .iter()
            .map(|(_, m)| m.get())
            .max()
            .unwrap_or(0);
        self.expunged.drain(..drop);
        self.expunged.shrink_to(keep / 2 + keep / 8);
        self.expunged_floor = self.expunged_floor.max(floor);
    }

    /// The UIDs expunged after modseq `since`. When the history no longer reaches back that
    /// far, every UID below UIDNEXT that is not in the mailbox: a superset, which is what a
    /// server that keeps no expunge history answers (RFC 7162 §3.2.6, RFC 5162 §4.1), and
    /// at most one range more than the mailbox has messages.
    pub fn expunged_since(&self, since: u64) -> UidSet {
        if since >= self.expunged_floor {
            return self
                .expunged
                .iter()
                .filter(|(_, m)| m.get() > since)
                .map(|(u, _)| *u)
                .collect();
        }
        let present: Vec<u32> = self.messages.iter().map(|m| m.uid.get()).collect();
        UidSet::gaps(&present, self.header.uidnext)
    }

    /// The messages with `\Deleted`: how many, and their octets (STATUS DELETED and
    /// DELETED-STORAGE), in one walk.
    pub fn deleted(&self) -> (u32, u64) {
        let (count, size) = self
            .messages
            .iter()
            .filter(|m| m.flags.contains(Flag::Deleted))
            .fold((0usize, 0u64), |(n, size), m| (n + 1, size + m.size));
        (u32::try_from(count).unwrap_or(u32::MAX), size)
    }

    pub fn count_flag(&self, flag: Flag, set: bool) -> u32 {
        u32::try_from(
            self.messages
                .iter()
                .filter(|m| m.flags.contains(flag) == set)
                .count(),
        )
        .unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    fn append(mb: &mut MailboxState<()>, n: u32) {
        let modseq = mb.next_modseq();
        mb.apply_all([Record::Append(MessageMeta {
            uid: uid(n),
            modseq,
            created: modseq,
            flags: Flags::new(),
            date: InternalDate::now(),
            size: 1,
            vsize: 1,
            bare_crs: 0,
            blob: (),
        })]);
    }

    fn expunge(mb: &mut MailboxState<()>, n: u32) -> u64 {
        let modseq = mb.next_modseq();
        mb.apply_all([Record::Expunge {
            uid: uid(n),
            modseq,
            file: None,
            to: None,
        }]);
        modseq.get()
    }

    fn ranges(set: &UidSet) -> Vec<(u32, u32)> {
        set.ranges().map(|(a, b)| (a.get(), b.get())).collect()
    }

    #[test]
    fn expunge_history_is_trimmed_to_half_past_its_limit() {
        let mut mb = MailboxState::new(Header::new(UidValidity::new(1).unwrap(), None));
        for n in 1..=2_000 {
            append(&mut mb, n);
        }
        let mut at = Vec::new();
        for n in 1..=1_990 {
            at.push(expunge(&mut mb, n));
            mb.trim_expunged(16);
            assert!(mb.expunged.len() <= 16 && mb.expunged.capacity() <= 64);
        }
        // Trimmed to 8 whenever it passed 16.
        let kept = mb.expunged.len();
        assert!((8..=16).contains(&kept), "{kept}");
        let first_kept = u32::try_from(1_990 - kept + 1).unwrap();
        assert_eq!(mb.expunged_floor, at[1_990 - kept - 1]);
        // Within the history: exact.
        assert_eq!(ranges(&mb.expunged_since(at[1_990 - 3])), [(1_989, 1_990)]);
        assert_eq!(
            ranges(&mb.expunged_since(mb.expunged_floor)),
            [(first_kept, 1_990)]
        );
        // Before it: every UID not in the mailbox, as ranges.
        assert_eq!(
            ranges(&mb.expunged_since(mb.expunged_floor - 1)),
            [(1, 1_990)]
        );
        assert_eq!(ranges(&mb.expunged_since(0)), [(1, 1_990)]);
    }

    #[test]
    fn a_superset_is_the_gaps_between_present_uids_below_uidnext() {
        let mut mb = MailboxState::new(Header::new(UidValidity::new(1).unwrap(), None));
        for n in [2, 3, 5, 9] {
            append(&mut mb, n);
        }
        let first = expunge(&mut mb, 3);
        expunge(&mut mb, 9);
        assert_eq!(ranges(&mb.expunged_since(0)), [(3, 3), (9, 9)]);
        mb.trim_expunged(0);
        assert_eq!(mb.expunged_floor, first + 1);
        assert!(mb.expunged.is_empty());
        // UIDs 1, 4 and 6 to 8 were never used: a client ignores what it does not know.
        assert_eq!(ranges(&mb.expunged_since(first)), [(1, 1), (3, 4), (6, 9)]);
        assert!(mb.expunged_since(first + 1).is_empty());
        let empty = MailboxState::<()>::new(Header::new(UidValidity::new(1).unwrap(), None));
        assert!(empty.expunged_since(0).is_empty());
    }
}
