//! The store's rules, written once for every embedded backend.
//!
//! [`Engine`] keeps each loaded account in memory behind a mutex (one transaction at a time
//! per account, so cross-mailbox operations such as move and quota checks are atomic) and
//! asks a [`Backend`] to make each transaction durable before applying it. The memory backend
//! persists nothing; the Maildir backend writes files and a journal.
//!
//! This module holds the engine and what every transaction goes through (name rules,
//! refreshing a mailbox from its backend, commit, change events); each family of
//! operations has its own module:
//!
//! - [`backend`]: the persistence contract a backend implements;
//! - [`accounts`]: loaded accounts, creating one, quota;
//! - [`mailboxes`]: the mailbox tree and subscriptions;
//! - [`messages`]: one mailbox's messages (status, append, fetch, flags, expunge, changes);
//! - [`group`]: group commit, transactions queued for a busy account carried out together;
//! - [`arrivals`]: APPEND and delivery committed together;
//! - [`changes`]: flag changes and expunges committed together;
//! - [`copy`]: COPY and MOVE between mailboxes;
//! - [`pop3`]: the POP3 maildrop and its lease;
//! - [`range`]: part of a message, for serving a large one in pieces;
//! - [`delivery`]: SMTP/LMTP delivery to several recipients;
//! - [`handle`]: the [`MailStore`](crate::MailStore) implementation of the public store
//!   types, written once;
//! - [`state`]: one mailbox's index (mailbox names and LIST patterns are in
//!   [`crate::names`], line ends in [`crate::crlf`], shared with the PostgreSQL backend).

mod access_keys;
mod accounts;
mod arrivals;
mod backend;
pub(crate) mod changes;
mod copy;
pub(crate) mod delivery;
mod group;
mod handle;
mod mailboxes;
mod messages;
mod pop3;
mod range;
pub(crate) mod state;

use std::{
    sync::{Mutex, MutexGuard, atomic::AtomicU64},
    time::{SystemTime, UNIX_EPOCH},
};

use self::accounts::{Account, SharedAccount};
pub(crate) use self::{
    backend::{
        AccountMeta, Arrival, Backend, DEFAULT_EXPUNGE_HISTORY, DeliveryMark, Loaded, Part, Purpose,
    },
    handle::{Handle, impl_mail_store},
    range::RangeRead,
    state::{Header, MailboxState, MessageMeta, Record},
};
pub(crate) use crate::crlf::{crlf_sizes, to_crlf};
use crate::{
    error::{Result, StoreError},
    model::MessageFlags,
    notify::{ChangeEvent, ChangeHub, ChangeKind},
    types::{AccountName, SessionId, Uid},
};

/// `n` as a UID; zero, where `uidnext` wrapped, is an error.
fn uid(n: u32) -> Result<Uid> {
    Uid::new(n).ok_or(StoreError::InvalidArgument("UID space exhausted"))
}

/// Fails unless `n` UIDs from `next` on stay within 32 bits.
fn uid_space(next: u32, n: usize) -> Result<()> {
    if u64::from(next) + n as u64 > u64::from(u32::MAX) {
        return Err(StoreError::InvalidArgument("UID space exhausted"));
    }
    Ok(())
}

/// The same error for another caller (a store error is not `Clone`).
fn copy_of(e: &StoreError) -> StoreError {
    match e {
        StoreError::NoSpace => StoreError::NoSpace,
        StoreError::Limit(why) => StoreError::Limit(why),
        e => StoreError::Io(std::io::Error::other(e.to_string())),
    }
}

/// The engine: the store's rules over a [`Backend`].
pub(crate) struct Engine<K: Backend> {
    pub backend: K,
    delimiter: char,
    accounts: accounts::Accounts<K::Blob>,
    /// Arrivals waiting for their account's lock ([`arrivals`]).
    arrivals: arrivals::Queues<K::Blob>,
    /// Flag changes and expunges waiting for their account's lock ([`changes`]).
    changes: changes::Queues,
    pub hub: ChangeHub,
    lease_ids: AtomicU64,
}

/// Locks `m`, ignoring poisoning: one call that panicked must not make an account (or the
/// whole store) unusable for every later call.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<K: Backend> Engine<K> {
    pub fn new(backend: K, delimiter: char) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() ^ (u64::from(d.subsec_nanos()) << 20));
        Self {
            backend,
            delimiter,
            accounts: accounts::Accounts::new(),
            arrivals: group::Queues::new(),
            changes: group::Queues::new(),
            hub: ChangeHub::new(),
            lease_ids: AtomicU64::new(seed | 1),
        }
    }

    pub fn delimiter(&self) -> char {
        self.delimiter
    }

    /// Validates a mailbox name and makes `INBOX` canonical.
    pub fn canonical(&self, name: &str) -> Result<String> {
        let canon = crate::names::canonical(name, self.delimiter)?;
        self.backend.check_name(&canon)?;
        Ok(canon)
    }

    fn is_child(&self, name: &str, parent: &str) -> bool {
        name.len() > parent.len()
            && name.starts_with(parent)
            && name[parent.len()..].starts_with(self.delimiter)
    }

    fn publish(&self, account: &AccountName, mailbox: &str, origin: SessionId, kind: ChangeKind) {
        self.hub.publish(
            account,
            &ChangeEvent {
                mailbox: mailbox.to_owned(),
                origin,
                kind,
            },
        );
    }

    /// Makes a transaction on one mailbox durable, applies it and tells the watchers.
    fn commit(
        &self,
        account: &AccountName,
        name: &str,
        mb: &mut MailboxState<K::Blob>,
        records: Vec<Record<K::Blob>>,
        origin: SessionId,
        purpose: Purpose,
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.backend.commit(account, &[(name, &records)], purpose)?;
        self.apply(account, name, mb, records, origin);
        Ok(())
    }

    /// Applies a transaction the backend made durable and tells the watchers.
    fn apply(
        &self,
        account: &AccountName,
        name: &str,
        mb: &mut MailboxState<K::Blob>,
        records: Vec<Record<K::Blob>>,
        origin: SessionId,
    ) {
        if records.is_empty() {
            return;
        }
        self.apply_records(account, name, mb, records, origin);
        self.backend.applied(account, name, mb);
    }

    /// Applies the transactions of a group commit in order, tells the backend once a mailbox
    /// (it may compact a mailbox's journal into a snapshot of its state, which must hold every
    /// transaction of the journal write they shared), then answers their callers.
    fn apply_group<T, R>(
        &self,
        account: &AccountName,
        acct: &mut Account<K::Blob>,
        group: Vec<group::Done<'_, T, R, K::Blob>>,
        mailbox: impl Fn(&T) -> &str,
    ) {
        let mut touched: Vec<&str> = Vec::new();
        let mut answers = Vec::with_capacity(group.len());
        for (w, records, answer) in group {
            let name = mailbox(&w.item);
            if !records.is_empty() {
                if let Ok(mb) = acct.mailbox(name) {
                    self.apply_records(account, name, mb, records, w.origin);
                }
                if !touched.contains(&name) {
                    touched.push(name);
                }
            }
            answers.push((w, answer));
        }
        for name in touched {
            if let Ok(mb) = acct.mailbox(name) {
                self.backend.applied(account, name, mb);
            }
        }
        for (w, answer) in answers {
            w.answer(Ok(answer));
        }
    }

    /// Applies durable records to the index and tells the watchers.
    fn apply_records(
        &self,
        account: &AccountName,
        name: &str,
        mb: &mut MailboxState<K::Blob>,
        records: Vec<Record<K::Blob>>,
        origin: SessionId,
    ) {
        let events = events_of(&records);
        mb.apply_all(records);
        mb.trim_expunged(self.backend.expunge_history());
        for kind in events {
            self.publish(account, name, origin, kind);
        }
    }

    /// Picks up changes other programs made to the mailbox.
    fn refresh(
        &self,
        account: &AccountName,
        name: &str,
        mb: &mut MailboxState<K::Blob>,
    ) -> Result<()> {
        let records = self.backend.refresh(account, name, mb)?;
        self.apply(account, name, mb, records, SessionId::EXTERNAL);
        Ok(())
    }

    /// Takes in the mailboxes other programs created or removed ([`Backend::discover`]).
    fn discover(&self, account: &AccountName, acct: &mut Account<K::Blob>) -> Result<()> {
        let known = acct.mailboxes.keys().cloned().collect();
        let before = acct.meta.clone();
        let (found, gone) = self.backend.discover(account, &known, &mut acct.meta)?;
        for (name, mb) in found {
            acct.meta.last_uidvalidity =
                acct.meta.last_uidvalidity.max(mb.header.uidvalidity.get());
            acct.mailboxes.insert(name.clone(), mb);
            self.publish(account, &name, SessionId::EXTERNAL, ChangeKind::Created);
        }
        for name in gone {
            if let Some(mb) = acct.mailboxes.remove(&name) {
                let uidvalidity = mb.header.uidvalidity;
                self.publish(
                    account,
                    &name,
                    SessionId::EXTERNAL,
                    ChangeKind::Deleted { uidvalidity },
                );
            }
        }
        if acct.meta != before {
            // Kept in each mailbox's index too: a failure here loses nothing.
            let _ = self.backend.save_meta(account, &acct.meta);
        }
        Ok(())
    }

    fn open<'a>(
        &self,
        account: &AccountName,
        acct: &'a mut Account<K::Blob>,
        name: &str,
    ) -> Result<&'a mut MailboxState<K::Blob>> {
        if !acct.mailboxes.contains_key(name) {
            self.discover(account, acct)?;
        }
        let mb = acct.mailbox(name)?;
        self.refresh(account, name, mb)?;
        Ok(mb)
    }
}

/// The change events a transaction produces.
fn events_of<B>(records: &[Record<B>]) -> Vec<ChangeKind> {
    let mut appended = Vec::new();
    let mut flags = Vec::new();
    let mut expunged = Vec::new();
    let mut expunge_modseq = None;
    for r in records {
        match r {
            Record::Append(m) => appended.push(m.flags_entry()),
            Record::Flags {
                uid,
                modseq,
                flags: f,
                ..
            } => flags.push(MessageFlags {
                uid: *uid,
                flags: f.clone(),
                modseq: *modseq,
            }),
            Record::Expunge { uid, modseq, .. } => {
                expunged.push(*uid);
                expunge_modseq = Some(*modseq);
            }
            Record::Header(_) => {}
        }
    }
    let mut out = Vec::new();
    if let Some(modseq) = expunge_modseq {
        out.push(ChangeKind::Expunged {
            uids: expunged,
            modseq,
        });
    }
    if !appended.is_empty() {
        out.push(ChangeKind::Appended { messages: appended });
    }
    if !flags.is_empty() {
        out.push(ChangeKind::FlagsChanged(flags));
    }
    out
}
