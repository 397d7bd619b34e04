//! Group commit ([`group`]) for arrivals (APPEND and delivery): messages that sessions staged
//! for one account while another transaction held its lock become one transaction. Each
//! arrival keeps its own checks (mailbox, quota, UID space), its own UIDs, its own modseq and
//! its own answer.

use std::{collections::HashMap, sync::TryLockError};

use super::{
    Backend, Engine, Purpose,
    accounts::{Account, SharedAccount},
    copy_of,
    group::{self, Queued},
    lock,
    state::{MessageMeta, Record},
    uid, uid_space,
};
use crate::{
    error::{Result, StoreError},
    model::Appended,
    types::{AccountName, ModSeq, SessionId},
};

/// Messages staged for a mailbox, waiting for the account's lock.
pub(super) struct Staged<B> {
    mailbox: String,
    /// UIDs and modseqs are given at the commit.
    messages: Vec<MessageMeta<B>>,
}

/// The arrivals waiting, by account.
pub(super) type Queues<B> = group::Queues<Staged<B>, Appended>;

impl<K: Backend> Engine<K> {
    /// Commits `messages`, staged for `mailbox` (the commit makes them durable where they are
    /// first, for the whole group), together with the arrivals other sessions staged for the
    /// account meanwhile.
    pub(super) fn commit_arrival(
        &self,
        account: &AccountName,
        a: &SharedAccount<K::Blob>,
        mailbox: &str,
        messages: Vec<MessageMeta<K::Blob>>,
        origin: SessionId,
    ) -> Result<Appended> {
        let staged = Staged {
            mailbox: mailbox.to_owned(),
            messages,
        };
        self.arrivals
            .commit(account, a, staged, origin, |acct, batch| {
                self.commit_batch(account, acct, batch);
            })
    }

    /// What can be refused before a message is staged: a missing mailbox, a full quota.
    /// Checked only when the account's lock is free, so that staging never waits for
    /// another transaction; the commit checks again in any case.
    pub(super) fn precheck(
        a: &SharedAccount<K::Blob>,
        mailbox: &str,
        bytes: u64,
        count: u64,
    ) -> Result<()> {
        let mut acct = match a.try_lock() {
            Ok(acct) => acct,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(()),
        };
        acct.mailbox(mailbox)?;
        acct.check_quota(bytes, count)
    }

    /// Why staging for `mailbox` failed: the mailbox is gone (it was not checked before),
    /// or `e`.
    pub(super) fn staging_error(
        a: &SharedAccount<K::Blob>,
        mailbox: &str,
        e: StoreError,
    ) -> StoreError {
        match lock(a).mailbox(mailbox) {
            Err(gone) => gone,
            Ok(_) => e,
        }
    }

    fn commit_batch(
        &self,
        account: &AccountName,
        acct: &mut Account<K::Blob>,
        batch: &[Queued<Staged<K::Blob>, Appended>],
    ) {
        // Each arrival checked against the state the earlier ones of the batch leave.
        let mut added = (0u64, 0u64);
        // Per mailbox: the next UID and modseq, past the earlier arrivals of the batch.
        let mut next: HashMap<&str, (u32, u64)> = HashMap::new();
        let mut accepted = Vec::with_capacity(batch.len());
        for w in batch {
            let s = &w.item;
            let res = (|| {
                let bytes: u64 = s.messages.iter().map(|m| m.size).sum();
                let count = s.messages.len() as u64;
                acct.check_quota(added.0 + bytes, added.1 + count)?;
                let mb = self.open(account, acct, &s.mailbox)?;
                let (first, modseq) = next
                    .get(s.mailbox.as_str())
                    .copied()
                    .unwrap_or((mb.header.uidnext, mb.next_modseq().get()));
                uid_space(first, s.messages.len())?;
                // Its own modseq (RFC 7162: another session's change is another value).
                let modseq_next = modseq.saturating_add(1);
                let modseq = ModSeq::new(modseq)
                    .ok_or(StoreError::InvalidArgument("modseq space exhausted"))?;
                let mut records = Vec::with_capacity(s.messages.len());
                let mut uids = Vec::with_capacity(s.messages.len());
                let mut n = first;
                for m in &s.messages {
                    let uid = uid(n)?;
                    n = n.wrapping_add(1);
                    uids.push(uid);
                    records.push(Record::Append(MessageMeta {
                        uid,
                        modseq,
                        created: modseq,
                        ..m.clone()
                    }));
                }
                let appended = Appended {
                    uidvalidity: mb.header.uidvalidity,
                    uids,
                };
                next.insert(s.mailbox.as_str(), (n, modseq_next));
                added = (added.0 + bytes, added.1 + count);
                Ok((records, appended))
            })();
            match res {
                Ok((records, appended)) => accepted.push((w, records, appended)),
                Err(e) => w.answer(Err(e)),
            }
        }
        if accepted.is_empty() {
            return;
        }
        // One part a mailbox, its arrivals in order.
        let mut parts: Vec<(&str, Vec<Record<K::Blob>>)> = Vec::new();
        for (w, records, _) in &accepted {
            match parts.iter_mut().find(|(m, _)| *m == w.item.mailbox) {
                Some((_, all)) => all.extend(records.iter().cloned()),
                None => parts.push((w.item.mailbox.as_str(), records.clone())),
            }
        }
        let parts: Vec<_> = parts.iter().map(|(m, r)| (*m, r.as_slice())).collect();
        match self.backend.commit(account, &parts, Purpose::Ordinary) {
            Err(e) => {
                for (w, _, _) in &accepted {
                    w.answer(Err(copy_of(&e)));
                }
            }
            Ok(()) => {
                self.apply_group(account, acct, accepted, |s| s.mailbox.as_str());
            }
        }
    }
}

#[cfg(test)]
impl<K: Backend> Engine<K> {
    /// Runs `f` while holding `account`'s lock, as a long transaction would.
    pub(crate) fn while_locked<T>(&self, account: &AccountName, f: impl FnOnce() -> T) -> T {
        let a = self.account(account).ok();
        let _held = a.as_ref().map(|a| lock(a));
        f()
    }

    /// How many arrivals wait for `account`'s lock.
    pub(crate) fn arrivals_waiting(&self, account: &AccountName) -> usize {
        self.arrivals.waiting(account)
    }

    /// How many flag changes and expunges wait for `account`'s lock.
    pub(crate) fn changes_waiting(&self, account: &AccountName) -> usize {
        self.changes.waiting(account)
    }
}
