//! The POP3 maildrop: a snapshot of INBOX under an exclusive, renewable lease.

use std::{
    sync::atomic::Ordering,
    time::{Duration, SystemTime},
};

use super::{
    Backend, Engine, Purpose, accounts::Account, lock, messages::expunge_record, state::Record,
};
use crate::{
    error::{Result, StoreError},
    model::{Maildrop, Pop3Committed, Pop3Lease, Pop3Message},
    types::{Flag, Session, SessionId, Uid, UidSet},
};

/// The exclusive hold one session has on an account's maildrop.
#[derive(Debug)]
pub(super) struct Lease {
    id: u64,
    session: SessionId,
    expires: SystemTime,
}

impl<K: Backend> Engine<K> {
    fn check_lease<'a>(acct: &'a Account<K::Blob>, lease: &Pop3Lease) -> Result<&'a Lease> {
        match &acct.lease {
            Some(l) if l.id == lease.id => Ok(l),
            _ => Err(StoreError::LeaseExpired),
        }
    }

    pub fn pop3_open(&self, s: &Session, lease_for: Duration) -> Result<Maildrop> {
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        let now = SystemTime::now();
        if let Some(l) = &acct.lease
            && l.expires > now
            && l.session != s.id()
        {
            return Err(StoreError::InUse);
        }
        let mb = self.open(account, &mut acct, "INBOX")?;
        let uidvalidity = mb.header.uidvalidity.get();
        let messages = mb
            .messages
            .iter()
            .map(|m| Pop3Message {
                uid: m.uid,
                size: m.pop3_size(),
                // Dovecot's default pop3_uidl_format, %08Xu%08Xv (lower-case hex).
                uidl: format!("{:08x}{:08x}", m.uid.get(), uidvalidity),
            })
            .collect();
        let id = self.lease_ids.fetch_add(2, Ordering::Relaxed);
        let expires = now + lease_for;
        acct.lease = Some(Lease {
            id,
            session: s.id(),
            expires,
        });
        Ok(Maildrop {
            lease: Pop3Lease { id, expires },
            messages,
        })
    }

    pub fn pop3_renew(
        &self,
        s: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> Result<Pop3Lease> {
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        Self::check_lease(&acct, lease)?;
        let expires = SystemTime::now() + lease_for;
        if let Some(l) = &mut acct.lease {
            l.expires = expires;
        }
        Ok(Pop3Lease {
            id: lease.id,
            expires,
        })
    }

    pub fn pop3_retrieve(
        &self,
        s: &Session,
        lease: &Pop3Lease,
        u: Uid,
        mark_seen: bool,
    ) -> Result<Vec<u8>> {
        let account = s.account();
        let a = self.account(account)?;
        // Read without the account's lock (as FETCH is); a file renamed or removed
        // meanwhile is read again under it.
        let blob = {
            let mut acct = lock(&a);
            Self::check_lease(&acct, lease)?;
            let mb = self.open(account, &mut acct, "INBOX")?;
            mb.get(u)
                .ok_or(StoreError::NoSuchMessage(u.get()))?
                .blob
                .clone()
        };
        let read = match self.backend.read_message(account, "INBOX", &blob) {
            Err(e) if e.is_not_found() => None,
            other => Some(other?),
        };
        let mut acct = lock(&a);
        Self::check_lease(&acct, lease)?;
        let mb = self.open(account, &mut acct, "INBOX")?;
        let msg = mb.get(u).ok_or(StoreError::NoSuchMessage(u.get()))?.clone();
        let data = match read {
            Some(data) => data,
            None => self.backend.read_message(account, "INBOX", &msg.blob)?,
        };
        if mark_seen && !msg.flags.contains(Flag::Seen) {
            let flags = msg.flags.clone().with(Flag::Seen);
            let blob = self
                .backend
                .plan_flags(account, "INBOX", &msg.blob, &flags)?;
            let modseq = mb.next_modseq();
            let rec = Record::Flags {
                uid: u,
                modseq,
                flags,
                blob,
                from: Some(msg.blob.clone()),
            };
            match self.commit(account, "INBOX", mb, vec![rec], s.id(), Purpose::Ordinary) {
                // On a full disk the message is still served, only not marked \Seen (POP3
                // shows no flags, so the answer claims nothing that did not happen).
                Ok(()) | Err(StoreError::NoSpace | StoreError::Limit(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(data)
    }

    pub fn pop3_commit(
        &self,
        s: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> Result<Pop3Committed> {
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        Self::check_lease(&acct, lease)?;
        let mb = self.open(account, &mut acct, "INBOX")?;
        let set: UidSet = deleted.iter().copied().collect();
        let present = mb.select(&set);
        let already_gone = set_len(deleted) - present.len();
        let mut out = Pop3Committed {
            deleted: present.len(),
            already_gone,
        };
        if !present.is_empty() {
            // One transaction: every deletion or none (RFC 1939 §6, the UPDATE state), also
            // when the process dies half-way through removing the files.
            let modseq = mb.next_modseq();
            let records = present
                .into_iter()
                .map(|i| expunge_record(&mb.messages[i], modseq))
                .collect();
            self.commit(account, "INBOX", mb, records, s.id(), Purpose::Deleting)?;
        } else {
            out.deleted = 0;
        }
        acct.lease = None;
        Ok(out)
    }

    pub fn pop3_release(&self, s: &Session, lease: &Pop3Lease) -> Result<()> {
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        if acct.lease.as_ref().is_some_and(|l| l.id == lease.id) {
            acct.lease = None;
        }
        Ok(())
    }
}

fn set_len(uids: &[Uid]) -> usize {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    v.len()
}
