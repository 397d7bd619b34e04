//! Group commit ([`group`]) for flag changes and expunges (STORE, EXPUNGE, CLOSE): those that
//! sessions queue for one account while another transaction holds its lock are worked out
//! one after another, each against what the earlier ones of the batch leave (an [`Overlay`]
//! over the mailbox, since nothing is applied before it is durable), and written as one
//! transaction a mailbox. Each keeps its own modseq and its own answer.
//!
//! Should the batch fail as a whole (a full journal, an I/O error), its changes are carried
//! out again one at a time, so that each gets the answer it would have got alone.

use std::collections::{HashMap, HashSet};

use super::{
    Backend, Engine, Purpose, SharedAccount,
    accounts::Account,
    group,
    state::{MailboxState, Record},
};
use crate::{
    error::{Result, StoreError},
    model::{ExpungeScope, Expunged, MessageFlags, StoreResult},
    types::{AccountName, Flag, FlagOp, Flags, ModSeq, SessionId, Uid, UidSet},
};

/// A change to one mailbox's messages.
pub(super) struct Change {
    pub mailbox: String,
    pub op: ChangeOp,
}

pub(super) enum ChangeOp {
    /// STORE: `op` on the messages of `uids` not modified after `unchanged_since`.
    Flags {
        uids: UidSet,
        op: FlagOp,
        unchanged_since: Option<ModSeq>,
    },
    Expunge(ExpungeScope),
}

/// The answer to a [`Change`], of the kind its [`ChangeOp`] asks for.
pub(crate) enum Changed {
    Stored(StoreResult),
    Expunged(Expunged),
}

/// The changes waiting, by account.
pub(super) type Queues = group::Queues<Change, Changed>;

type Queued = group::Queued<Change, Changed>;

/// A change worked out: its records, its answer, and whether it deletes.
type WorkedOut<B> = (Vec<Record<B>>, Changed, Purpose);

/// What the earlier changes of a batch did to one mailbox, not yet applied to it.
struct Overlay<B> {
    /// The modseq the next change gets.
    next_modseq: u64,
    /// Messages whose flags changed: their flags, blob and modseq now.
    flags: HashMap<Uid, (Flags, B, ModSeq)>,
    expunged: HashSet<Uid>,
}

impl<B: Clone> Overlay<B> {
    fn new(mb: &MailboxState<B>) -> Self {
        Self {
            next_modseq: mb.next_modseq().get(),
            flags: HashMap::new(),
            expunged: HashSet::new(),
        }
    }

    /// The message at `i` as the batch left it so far: its flags, blob and modseq, or `None`
    /// once expunged.
    fn message<'a>(
        &'a self,
        mb: &'a MailboxState<B>,
        i: usize,
    ) -> Option<(&'a Flags, &'a B, ModSeq)> {
        let m = &mb.messages[i];
        if self.expunged.contains(&m.uid) {
            return None;
        }
        Some(match self.flags.get(&m.uid) {
            Some((flags, blob, modseq)) => (flags, blob, *modseq),
            None => (&m.flags, &m.blob, m.modseq),
        })
    }

    /// The modseq of the change being worked out.
    fn modseq(&self) -> Result<ModSeq> {
        ModSeq::new(self.next_modseq).ok_or(StoreError::InvalidArgument("modseq space exhausted"))
    }

    /// Takes in a change's records: the changes after it see them.
    fn note(&mut self, records: &[Record<B>]) {
        if records.is_empty() {
            return;
        }
        self.next_modseq = self.next_modseq.saturating_add(1);
        for r in records {
            match r {
                Record::Flags {
                    uid,
                    modseq,
                    flags,
                    blob,
                    ..
                } => {
                    self.flags
                        .insert(*uid, (flags.clone(), blob.clone(), *modseq));
                }
                Record::Expunge { uid, .. } => {
                    self.expunged.insert(*uid);
                }
                Record::Append(_) | Record::Header(_) => {}
            }
        }
    }
}

impl<K: Backend> Engine<K> {
    /// Commits `change` together with the changes other sessions queued for the account
    /// meanwhile: one transaction a mailbox (a journal line is written whole or not at all;
    /// two mailboxes' journals are two writes).
    pub(super) fn commit_change(
        &self,
        account: &AccountName,
        a: &SharedAccount<K::Blob>,
        change: Change,
        origin: SessionId,
    ) -> Result<Changed> {
        self.changes
            .commit(account, a, change, origin, |acct, batch| {
                let mut mailboxes: Vec<(&str, Vec<&Queued>)> = Vec::new();
                for w in batch {
                    let name = w.item.mailbox.as_str();
                    match mailboxes.iter_mut().find(|(m, _)| *m == name) {
                        Some((_, changes)) => changes.push(w),
                        None => mailboxes.push((name, vec![w])),
                    }
                }
                for (name, changes) in mailboxes {
                    let Err(e) = self.change_group(account, acct, name, &changes) else {
                        continue;
                    };
                    let left: Vec<&Queued> =
                        changes.into_iter().filter(|w| !w.answered()).collect();
                    if let [only] = left.as_slice() {
                        only.answer(Err(e));
                        continue;
                    }
                    // Failed as a whole: each again alone, for the answer it would get alone.
                    for w in left {
                        if let Err(e) = self.change_group(account, acct, name, &[w]) {
                            w.answer(Err(e));
                        }
                    }
                }
            })
    }

    /// Works out each of `changes` to the mailbox `name` against what the earlier ones leave
    /// and commits them as one transaction. Answers a change that cannot be made at once;
    /// `Err` (the commit failed) leaves the others unanswered and the mailbox as it was.
    fn change_group(
        &self,
        account: &AccountName,
        acct: &mut Account<K::Blob>,
        name: &str,
        changes: &[&Queued],
    ) -> Result<()> {
        let mut overlay: Option<Overlay<K::Blob>> = None;
        let mut accepted = Vec::with_capacity(changes.len());
        let mut purpose = Purpose::Deleting;
        for &w in changes {
            let worked = match &mut overlay {
                Some(ov) => acct
                    .mailbox(name)
                    .and_then(|mb| self.work_out(account, name, mb, ov, &w.item.op)),
                // The first change picks up what other programs did to the mailbox.
                None => self.open(account, acct, name).and_then(|mb| {
                    let ov = overlay.insert(Overlay::new(mb));
                    self.work_out(account, name, mb, ov, &w.item.op)
                }),
            };
            match worked {
                Ok((records, answer, p)) => {
                    if !records.is_empty() && p == Purpose::Ordinary {
                        purpose = Purpose::Ordinary;
                    }
                    accepted.push((w, records, answer));
                }
                Err(e) => w.answer(Err(e)),
            }
        }
        // The journal line holds every change's records; a change alone (the common case,
        // and a STORE over a whole mailbox is one) is written without a copy of them.
        let joined: Vec<Record<K::Blob>>;
        let records: &[Record<K::Blob>] = match accepted.as_slice() {
            [(_, records, _)] => records,
            _ => {
                joined = accepted
                    .iter()
                    .flat_map(|(_, records, _)| records.iter().cloned())
                    .collect();
                &joined
            }
        };
        if !records.is_empty() {
            self.backend.commit(account, &[(name, records)], purpose)?;
        }
        self.apply_group(account, acct, accepted, |c| c.mailbox.as_str());
        Ok(())
    }

    /// One change's records and answer, against `mb` as `ov` says the batch left it; `ov`
    /// takes the records in.
    fn work_out(
        &self,
        account: &AccountName,
        name: &str,
        mb: &MailboxState<K::Blob>,
        ov: &mut Overlay<K::Blob>,
        op: &ChangeOp,
    ) -> Result<WorkedOut<K::Blob>> {
        let modseq = ov.modseq()?;
        let (records, answer, purpose) = match op {
            ChangeOp::Flags {
                uids,
                op,
                unchanged_since,
            } => {
                let (records, result) =
                    self.store_records(account, name, mb, ov, uids, op, *unchanged_since, modseq)?;
                // Setting \Deleted is how IMAP deletes: it may use the room kept for deleting.
                let purpose = match op {
                    FlagOp::Add(f) | FlagOp::Replace(f) if f.contains(Flag::Deleted) => {
                        Purpose::Deleting
                    }
                    _ => Purpose::Ordinary,
                };
                (records, Changed::Stored(result), purpose)
            }
            ChangeOp::Expunge(scope) => {
                let (records, expunged) = expunge_records(mb, ov, scope, modseq);
                (records, Changed::Expunged(expunged), Purpose::Deleting)
            }
        };
        ov.note(&records);
        Ok((records, answer, purpose))
    }

    /// The records of a STORE and its answer.
    #[allow(clippy::too_many_arguments)]
    fn store_records(
        &self,
        account: &AccountName,
        name: &str,
        mb: &MailboxState<K::Blob>,
        ov: &Overlay<K::Blob>,
        uids: &UidSet,
        op: &FlagOp,
        unchanged_since: Option<ModSeq>,
        modseq: ModSeq,
    ) -> Result<(Vec<Record<K::Blob>>, StoreResult)> {
        let mut result = StoreResult::default();
        let mut records = Vec::new();
        for i in mb.select(uids) {
            let Some((old, blob, last)) = ov.message(mb, i) else {
                continue;
            };
            let uid = mb.messages[i].uid;
            if unchanged_since.is_some_and(|limit| last > limit) {
                result.modified.push(uid);
                continue;
            }
            let flags = old.apply(op);
            if flags == *old {
                continue;
            }
            let planned = self.backend.plan_flags(account, name, blob, &flags)?;
            result.updated.push(MessageFlags {
                uid,
                flags: flags.clone(),
                modseq,
            });
            records.push(Record::Flags {
                uid,
                modseq,
                flags,
                blob: planned,
                from: Some(blob.clone()),
            });
        }
        Ok((records, result))
    }
}

/// The records of an expunge and its answer.
fn expunge_records<B: Clone>(
    mb: &MailboxState<B>,
    ov: &Overlay<B>,
    scope: &ExpungeScope,
    modseq: ModSeq,
) -> (Vec<Record<B>>, Expunged) {
    let deleted = |i: &usize| {
        ov.message(mb, *i)
            .is_some_and(|(flags, _, _)| flags.contains(Flag::Deleted))
    };
    let picked: Vec<usize> = match scope {
        ExpungeScope::Deleted => (0..mb.messages.len()).filter(deleted).collect(),
        ExpungeScope::DeletedIn(set) => mb.select(set).into_iter().filter(deleted).collect(),
        ExpungeScope::Uids(set) => mb
            .select(set)
            .into_iter()
            .filter(|&i| ov.message(mb, i).is_some())
            .collect(),
    };
    let mut records = Vec::with_capacity(picked.len());
    let mut uids = Vec::with_capacity(picked.len());
    for i in picked {
        let Some((_, blob, _)) = ov.message(mb, i) else {
            continue;
        };
        let uid = mb.messages[i].uid;
        uids.push(uid);
        records.push(Record::Expunge {
            uid,
            modseq,
            file: Some(blob.clone()),
            to: None,
        });
    }
    let modseq = (!uids.is_empty()).then_some(modseq);
    (records, Expunged { uids, modseq })
}
