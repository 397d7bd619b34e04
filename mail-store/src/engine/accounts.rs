//! Accounts: the loaded account the engine keeps in memory, and the account-wide calls
//! (create, exists, quota).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Condvar, Mutex, TryLockError},
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
            && bytes.saturating_add(add_bytes) > limit
        {
            return Err(StoreError::OverQuota(QuotaResourceName::Storage));
        }
        if let Some(limit) = self.meta.quota.messages
            && count.saturating_add(add_messages) > limit
        {
            return Err(StoreError::OverQuota(QuotaResourceName::Message));
        }
        Ok(())
    }
}

/// What the engine's account map holds for a name.
pub(super) enum Slot<B> {
    Loaded {
        account: SharedAccount<B>,
        /// [`Map::clock`] when it was last looked up.
        used: u64,
    },
    /// One caller is loading, creating or unloading the account, without the map's lock;
    /// others wait on [`Accounts::settled`] instead of loading it meanwhile.
    Busy,
}

/// The accounts in memory, by name.
pub(super) struct Map<B> {
    pub(super) slots: HashMap<AccountName, Slot<B>>,
    /// Counts lookups: the order in which accounts were last used.
    clock: u64,
}

impl<B> Map<B> {
    /// How many accounts are loaded.
    fn loaded(&self) -> usize {
        self.slots
            .values()
            .filter(|s| matches!(s, Slot::Loaded { .. }))
            .count()
    }
}

/// The accounts in memory, and their calls' coming and going.
pub(super) struct Accounts<B> {
    pub(super) map: Mutex<Map<B>>,
    /// Signalled whenever a [`Slot::Busy`] is settled.
    settled: Condvar,
}

impl<B> Accounts<B> {
    pub(super) fn new() -> Self {
        Self {
            map: Mutex::new(Map {
                slots: HashMap::new(),
                clock: 0,
            }),
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
        let mut map = lock(&self.accounts.map);
        map.clock += 1;
        let used = map.clock;
        map.slots.insert(
            self.name.clone(),
            Slot::Loaded {
                account: Arc::clone(account),
                used,
            },
        );
    }
}

impl<B> Drop for Claim<'_, B> {
    fn drop(&mut self) {
        let mut map = lock(&self.accounts.map);
        if matches!(map.slots.get(&self.name), Some(Slot::Busy)) {
            map.slots.remove(&self.name);
        }
        drop(map);
        self.accounts.settled.notify_all();
    }
}

/// An account being unloaded: what its slot held, and whether the backend kept it.
struct Victim<B> {
    name: AccountName,
    account: SharedAccount<B>,
    used: u64,
    kept: bool,
}

/// Accounts being unloaded, their slots [`Slot::Busy`]. Dropped, it puts back those the
/// backend kept and frees the others' names (after a panic too: a later call loads them
/// again, as a new process would).
struct Unloading<'e, B> {
    accounts: &'e Accounts<B>,
    victims: Vec<Victim<B>>,
}

impl<B> Drop for Unloading<'_, B> {
    fn drop(&mut self) {
        let mut map = lock(&self.accounts.map);
        for v in self.victims.drain(..) {
            if v.kept {
                let slot = Slot::Loaded {
                    account: v.account,
                    used: v.used,
                };
                map.slots.insert(v.name, slot);
            } else {
                map.slots.remove(&v.name);
            }
        }
        drop(map);
        self.accounts.settled.notify_all();
    }
}

/// Whether no call holds `account` (the map's is the only reference, and no other can be
/// made while the map is locked) and no POP3 session holds its lease, live or expired (an
/// expired one still holds until another session takes it).
fn is_idle<B>(account: &SharedAccount<B>) -> bool {
    if Arc::strong_count(account) != 1 {
        return false;
    }
    let acct = match account.try_lock() {
        Ok(a) => a,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return false,
    };
    acct.lease.is_none()
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
    /// How many accounts are loaded.
    #[cfg(test)]
    pub(crate) fn loaded_accounts(&self) -> usize {
        lock(&self.accounts.map).loaded()
    }

    /// The account if it is in memory; else the claim to load or create it, once no other
    /// caller holds that claim. The map's lock is never held across the backend's I/O, so
    /// loading one account (its journals, a scan of its directories) holds up no other.
    fn lookup(&self, name: &AccountName) -> Lookup<'_, K::Blob> {
        let mut map = lock(&self.accounts.map);
        loop {
            map.clock += 1;
            let now = map.clock;
            match map.slots.get_mut(name) {
                Some(Slot::Loaded { account, used }) => {
                    *used = now;
                    return Lookup::Loaded(Arc::clone(account));
                }
                Some(Slot::Busy) => {
                    map = self
                        .accounts
                        .settled
                        .wait(map)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                None => {
                    map.slots.insert(name.clone(), Slot::Busy);
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
        let loaded = match self.backend.load_account(name) {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return Err(StoreError::NoSuchAccount),
            Err(e) => return Err(self.failed_load(name, e)),
        };
        let acct = self.hold(loaded);
        claim.settle(&acct);
        self.unload_idle();
        Ok(acct)
    }

    /// A loaded account as the engine holds it. Snapshots of earlier versions kept every
    /// expunge: the history is trimmed to the backend's bound here.
    fn hold(&self, mut loaded: Loaded<K::Blob>) -> SharedAccount<K::Blob> {
        let keep = self.backend.expunge_history();
        for (_, mb) in &mut loaded.mailboxes {
            mb.trim_expunged(keep);
        }
        in_memory(loaded)
    }

    /// Once more accounts are loaded than the backend keeps
    /// ([`Backend::max_loaded_accounts`]), unloads those no call is using, least recently
    /// used first, down to seven eighths of the limit (so the map is sorted once per many
    /// loads). An account is in use while a call holds it (a delivery from staging its copy
    /// to committing it, too) or while a POP3 session holds its lease.
    fn unload_idle(&self) {
        let Some(max) = self.backend.max_loaded_accounts() else {
            return;
        };
        let mut unloading = {
            let mut map = lock(&self.accounts.map);
            let loaded = map.loaded();
            if loaded <= max {
                return;
            }
            let mut idle: Vec<(u64, &AccountName)> = map
                .slots
                .iter()
                .filter_map(|(name, slot)| match slot {
                    Slot::Loaded { account, used } if is_idle(account) => Some((*used, name)),
                    _ => None,
                })
                .collect();
            idle.sort_unstable();
            idle.truncate(loaded - (max - max / 8));
            let names: Vec<AccountName> = idle.into_iter().map(|(_, n)| n.clone()).collect();
            let mut victims = Vec::with_capacity(names.len());
            for name in names {
                // Unloaded without the map's lock; a call for it waits until it is done.
                if let Some(Slot::Loaded { account, used }) =
                    map.slots.insert(name.clone(), Slot::Busy)
                {
                    victims.push(Victim {
                        name,
                        account,
                        used,
                        kept: false,
                    });
                }
            }
            Unloading {
                accounts: &self.accounts,
                victims,
            }
        };
        if unloading.victims.is_empty() {
            return;
        }
        let names: Vec<AccountName> = unloading.victims.iter().map(|v| v.name.clone()).collect();
        let kept = self.backend.unload_accounts(&names);
        for v in &mut unloading.victims {
            v.kept = kept.contains(&v.name);
        }
    }

    /// `e`, once the backend has let go of what a load or creation of `name` that failed
    /// took (its lock, the journals it opened), so that the account is not held for good.
    fn failed_load(&self, name: &AccountName, e: StoreError) -> StoreError {
        self.backend.unload_accounts(std::slice::from_ref(name));
        e
    }

    pub fn create_account(&self, account: &AccountName) -> Result<()> {
        let claim = match self.lookup(account) {
            Lookup::Loaded(_) => return Err(StoreError::AccountExists),
            Lookup::Claimed(claim) => claim,
        };
        let found = self
            .backend
            .load_account(account)
            .map_err(|e| self.failed_load(account, e))?;
        if let Some(loaded) = found {
            // Loaded now, so kept: the next call for it need not load it again.
            claim.settle(&self.hold(loaded));
            self.unload_idle();
            return Err(StoreError::AccountExists);
        }
        let mut acct = Account {
            mailboxes: BTreeMap::new(),
            subscriptions: BTreeSet::new(),
            meta: AccountMeta::default(),
            lease: None,
        };
        let header = Header::new(acct.meta.next_uidvalidity(), None);
        self.backend
            .create_account(account, &acct.meta, &header)
            .map_err(|e| self.failed_load(account, e))?;
        acct.mailboxes
            .insert("INBOX".to_owned(), MailboxState::new(header));
        claim.settle(&Arc::new(Mutex::new(acct)));
        self.unload_idle();
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

    pub fn check_quota(&self, s: &Session, octets: u64, messages: u64) -> Result<()> {
        let a = self.account(s.account())?;
        lock(&a).check_quota(octets, messages)
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
