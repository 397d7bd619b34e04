//! Accounts: the loaded account the engine keeps in memory, and the account-wide calls
//! (create, exists, quota).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Condvar, Mutex},
};

use super::{
    Engine,
    backend::{AccountMeta, Backend, Loaded},
    lock,
    pop3::Lease,
    state::{Header, MailboxState},
};
use crate::{
    error::{Result, StoreError},
    model::{QuotaLimits, QuotaReport, QuotaResource, QuotaResourceName},
    types::{AccountName, Session},
};

pub(super) type SharedAccount<B> = Arc<Mutex<Account<B>>>;

/// A loaded account: every mailbox's index, the subscriptions, the persisted meta and the
/// POP3 lease. The engine holds it behind a mutex: one transaction at a time per account.
pub(super) struct Account<B> {
    pub(super) mailboxes: BTreeMap<String, MailboxState<B>>,
    pub(super) subscriptions: BTreeSet<String>,
    pub(super) meta: AccountMeta,
    pub(super) lease: Option<Lease>,
}

impl<B: Clone> Account<B> {
    pub(super) fn mailbox(&mut self, name: &str) -> Result<&mut MailboxState<B>> {
        self.mailboxes
            .get_mut(name)
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_owned()))
    }

    pub(super) fn usage(&self) -> (u64, u64) {
        self.mailboxes.values().fold((0, 0), |(b, n), m| {
            (b + m.size, n + m.messages.len() as u64)
        })
    }

    pub(super) fn check_quota(&self, add_bytes: u64, add_messages: u64) -> Result<()> {
        let (bytes, count) = self.usage();
        if let Some(limit) = self.meta.quota.storage_bytes
            && bytes + add_bytes > limit
        {
            return Err(StoreError::OverQuota(QuotaResourceName::Storage));
        }
        if let Some(limit) = self.meta.quota.messages
            && count + add_messages > limit
        {
            return Err(StoreError::OverQuota(QuotaResourceName::Message));
        }
        Ok(())
    }
}

/// What the engine's account map holds for a name.
pub(super) enum Slot<B> {
    Loaded(SharedAccount<B>),
    /// One caller is loading or creating the account, without the map's lock; others wait
    /// on [`Accounts::settled`] instead of loading it a second time.
    Busy,
}

/// The accounts in memory, by name.
pub(super) struct Accounts<B> {
    pub(super) map: Mutex<HashMap<AccountName, Slot<B>>>,
    /// Signalled whenever a [`Slot::Busy`] is settled.
    settled: Condvar,
}

impl<B> Accounts<B> {
    pub(super) fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            settled: Condvar::new(),
        }
    }
}

/// What [`Engine::lookup`] found: the account in memory, or the right to load or create it.
enum Lookup<'e, B> {
    Loaded(SharedAccount<B>),
    Claimed(Claim<'e, B>),
}

/// The right to load or create one account, held by one caller at a time. Dropped without
/// [`Claim::settle`] (an error, or unwinding), it frees the name for the next caller.
struct Claim<'e, B> {
    accounts: &'e Accounts<B>,
    name: AccountName,
}

impl<B> Claim<'_, B> {
    fn settle(self, account: &SharedAccount<B>) {
        lock(&self.accounts.map).insert(self.name.clone(), Slot::Loaded(Arc::clone(account)));
    }
}

impl<B> Drop for Claim<'_, B> {
    fn drop(&mut self) {
        let mut map = lock(&self.accounts.map);
        if matches!(map.get(&self.name), Some(Slot::Busy)) {
            map.remove(&self.name);
        }
        drop(map);
        self.accounts.settled.notify_all();
    }
}

/// An account as the backend loaded it, ready to be shared.
fn in_memory<B>(loaded: Loaded<B>) -> SharedAccount<B> {
    let mut meta = loaded.meta;
    for (_, m) in &loaded.mailboxes {
        meta.last_uidvalidity = meta.last_uidvalidity.max(m.header.uidvalidity.get());
    }
    Arc::new(Mutex::new(Account {
        mailboxes: loaded.mailboxes.into_iter().collect(),
        subscriptions: loaded.subscriptions,
        meta,
        lease: None,
    }))
}

impl<K: Backend> Engine<K> {
    /// The account if it is in memory; else the claim to load or create it, once no other
    /// caller holds that claim. The map's lock is never held across the backend's I/O, so
    /// loading one account (its journals, a scan of its directories) holds up no other.
    fn lookup(&self, name: &AccountName) -> Lookup<'_, K::Blob> {
        let mut map = lock(&self.accounts.map);
        loop {
            match map.get(name) {
                Some(Slot::Loaded(a)) => return Lookup::Loaded(Arc::clone(a)),
                Some(Slot::Busy) => {
                    map = self
                        .accounts
                        .settled
                        .wait(map)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                None => {
                    map.insert(name.clone(), Slot::Busy);
                    return Lookup::Claimed(Claim {
                        accounts: &self.accounts,
                        name: name.clone(),
                    });
                }
            }
        }
    }

    /// The account, loaded from the backend the first time.
    pub(super) fn account(&self, name: &AccountName) -> Result<SharedAccount<K::Blob>> {
        let claim = match self.lookup(name) {
            Lookup::Loaded(a) => return Ok(a),
            Lookup::Claimed(claim) => claim,
        };
        let loaded = self
            .backend
            .load_account(name)?
            .ok_or(StoreError::NoSuchAccount)?;
        let acct = in_memory(loaded);
        claim.settle(&acct);
        Ok(acct)
    }

    pub fn create_account(&self, account: &AccountName) -> Result<()> {
        let claim = match self.lookup(account) {
            Lookup::Loaded(_) => return Err(StoreError::AccountExists),
            Lookup::Claimed(claim) => claim,
        };
        if let Some(loaded) = self.backend.load_account(account)? {
            // Loaded now, so kept: the next call for it need not load it again.
            claim.settle(&in_memory(loaded));
            return Err(StoreError::AccountExists);
        }
        let mut acct = Account {
            mailboxes: BTreeMap::new(),
            subscriptions: BTreeSet::new(),
            meta: AccountMeta::default(),
            lease: None,
        };
        let header = Header::new(acct.meta.next_uidvalidity(), None);
        self.backend.create_account(account, &acct.meta, &header)?;
        acct.mailboxes
            .insert("INBOX".to_owned(), MailboxState::new(header));
        claim.settle(&Arc::new(Mutex::new(acct)));
        Ok(())
    }

    pub fn account_exists(&self, account: &AccountName) -> Result<bool> {
        match self.account(account) {
            Ok(_) => Ok(true),
            Err(StoreError::NoSuchAccount) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn set_quota(&self, account: &AccountName, limits: QuotaLimits) -> Result<()> {
        let a = self.account(account)?;
        let mut acct = lock(&a);
        let mut meta = acct.meta.clone();
        meta.quota = limits;
        self.backend.save_meta(account, &meta)?;
        acct.meta = meta;
        Ok(())
    }

    pub fn quota(&self, s: &Session) -> Result<QuotaReport> {
        let a = self.account(s.account())?;
        let acct = lock(&a);
        let (bytes, count) = acct.usage();
        let mut resources = Vec::new();
        if let Some(limit) = acct.meta.quota.storage_bytes {
            resources.push(QuotaResource {
                name: QuotaResourceName::Storage,
                usage: bytes.div_ceil(1024),
                limit: limit / 1024,
            });
        }
        if let Some(limit) = acct.meta.quota.messages {
            resources.push(QuotaResource {
                name: QuotaResourceName::Message,
                usage: count,
                limit,
            });
        }
        Ok(QuotaReport {
            root: String::new(),
            resources,
            used_bytes: bytes,
            used_messages: count,
        })
    }
}
