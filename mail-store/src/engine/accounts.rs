//! Accounts: the loaded account the engine keeps in memory, and the account-wide calls
//! (create, exists, quota).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
};

use super::{
    Engine,
    backend::{AccountMeta, Backend},
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

impl<K: Backend> Engine<K> {
    /// The account, loaded from the backend the first time.
    pub(super) fn account(&self, name: &AccountName) -> Result<SharedAccount<K::Blob>> {
        let mut accounts = lock(&self.accounts);
        if let Some(a) = accounts.get(name) {
            return Ok(Arc::clone(a));
        }
        let loaded = self
            .backend
            .load_account(name)?
            .ok_or(StoreError::NoSuchAccount)?;
        let mut meta = loaded.meta;
        for (_, m) in &loaded.mailboxes {
            meta.last_uidvalidity = meta.last_uidvalidity.max(m.header.uidvalidity.get());
        }
        let acct = Arc::new(Mutex::new(Account {
            mailboxes: loaded.mailboxes.into_iter().collect(),
            subscriptions: loaded.subscriptions,
            meta,
            lease: None,
        }));
        accounts.insert(name.clone(), Arc::clone(&acct));
        Ok(acct)
    }

    pub fn create_account(&self, account: &AccountName) -> Result<()> {
        let mut accounts = lock(&self.accounts);
        if accounts.contains_key(account) || self.backend.load_account(account)?.is_some() {
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
        accounts.insert(account.clone(), Arc::new(Mutex::new(acct)));
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
