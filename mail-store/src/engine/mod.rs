//! The store's rules, written once for every embedded backend.
//!
//! [`Engine`] keeps each loaded account in memory behind a mutex (one transaction at a time
//! per account, so cross-mailbox operations such as move and quota checks are atomic) and
//! asks a [`Backend`] to make each transaction durable before applying it. The memory backend
//! persists nothing; the Maildir backend writes files and a journal.

pub(crate) mod pattern;
pub(crate) mod state;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

pub(crate) use self::state::{Header, MailboxState, MessageMeta, Record};
use crate::{
    error::{Result, StoreError},
    mime::MimeInfo,
    model::{
        AppendItem, Appended, Changes, Content, Copied, Delivered, ExpungeScope, Expunged,
        FetchQuery, FetchedMessage, ListScope, MailboxInfo, Maildrop, MessageFlags, Pop3Committed,
        Pop3Lease, Pop3Message, QuotaLimits, QuotaReport, QuotaResource, QuotaResourceName,
        Recipient, Status, StoreResult,
    },
    notify::{ChangeEvent, ChangeHub, ChangeKind, Subscription},
    types::{
        AccountName, Flag, FlagOp, Flags, InternalDate, ModSeq, Session, SessionId, SpecialUse,
        Uid, UidSet, UidValidity,
    },
    upload::Upload,
};

/// Account-wide values that a backend persists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountMeta {
    /// The last UIDVALIDITY handed out in this account; new ones are always larger.
    pub last_uidvalidity: u32,
    #[serde(default)]
    pub quota: QuotaLimits,
}

/// What a backend finds when it opens an account.
pub(crate) struct Loaded<B> {
    pub mailboxes: Vec<(String, MailboxState<B>)>,
    pub subscriptions: BTreeSet<String>,
    pub meta: AccountMeta,
}

/// Where a backend puts a message it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Appended by a client that saw it (Maildir `cur/`).
    Append,
    /// Delivered by SMTP/LMTP (Maildir `new/`).
    Delivery,
}

/// Persistence for the engine. Every method is blocking and may do I/O.
pub(crate) trait Backend: Send + Sync + 'static {
    type Blob: Clone + Send + Sync + fmt::Debug + 'static;

    /// Extra rules for mailbox names (characters the backend cannot store).
    fn check_name(&self, name: &str) -> Result<()>;
    fn upload(&self) -> Upload;
    fn load_account(&self, account: &AccountName) -> Result<Option<Loaded<Self::Blob>>>;
    fn create_account(
        &self,
        account: &AccountName,
        meta: &AccountMeta,
        inbox: &Header,
    ) -> Result<()>;
    fn save_meta(&self, account: &AccountName, meta: &AccountMeta) -> Result<()>;
    fn save_subscriptions(&self, account: &AccountName, subs: &BTreeSet<String>) -> Result<()>;
    fn create_mailbox(&self, account: &AccountName, name: &str, header: &Header) -> Result<()>;
    fn delete_mailbox(&self, account: &AccountName, name: &str) -> Result<()>;
    fn rename_mailbox(&self, account: &AccountName, from: &str, to: &str) -> Result<()>;
    /// Stores a message durably (but not yet indexed).
    fn write_message(
        &self,
        account: &AccountName,
        mailbox: &str,
        upload: &mut Upload,
        mime: &MimeInfo,
        meta: &MessageMeta<()>,
        arrival: Arrival,
    ) -> Result<Self::Blob>;
    fn copy_message(
        &self,
        account: &AccountName,
        from: &str,
        blob: &Self::Blob,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<Self::Blob>;
    fn move_message(
        &self,
        account: &AccountName,
        from: &str,
        blob: &Self::Blob,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<Self::Blob>;
    /// Undoes a `write_message`/`copy_message` whose transaction failed.
    fn discard(&self, account: &AccountName, mailbox: &str, blob: &Self::Blob);
    fn set_flags(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
        flags: &Flags,
    ) -> Result<Self::Blob>;
    /// Removes a message's octets; a message already gone is not an error.
    fn remove_message(&self, account: &AccountName, mailbox: &str, blob: &Self::Blob)
    -> Result<()>;
    fn read_message(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
    ) -> Result<Vec<u8>>;
    fn read_mime(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
    ) -> Result<Arc<MimeInfo>>;
    /// Makes a transaction durable; the engine applies it afterwards.
    fn commit(
        &self,
        account: &AccountName,
        mailbox: &str,
        records: &[Record<Self::Blob>],
    ) -> Result<()>;
    /// Called after a transaction was applied (the Maildir backend compacts its journal).
    fn applied(&self, account: &AccountName, mailbox: &str, state: &MailboxState<Self::Blob>);
    /// Changes made to the mailbox by other programs since the last call.
    fn refresh(
        &self,
        account: &AccountName,
        mailbox: &str,
        state: &MailboxState<Self::Blob>,
    ) -> Result<Vec<Record<Self::Blob>>>;
}

#[derive(Debug)]
struct Lease {
    id: u64,
    session: SessionId,
    expires: SystemTime,
}

type SharedAccount<B> = Arc<Mutex<Account<B>>>;

pub(crate) struct Account<B> {
    mailboxes: BTreeMap<String, MailboxState<B>>,
    subscriptions: BTreeSet<String>,
    meta: AccountMeta,
    lease: Option<Lease>,
}

impl<B: Clone> Account<B> {
    fn mailbox(&mut self, name: &str) -> Result<&mut MailboxState<B>> {
        self.mailboxes
            .get_mut(name)
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_owned()))
    }

    fn usage(&self) -> (u64, u64) {
        self.mailboxes.values().fold((0, 0), |(b, n), m| {
            (b + m.size, n + m.messages.len() as u64)
        })
    }

    fn check_quota(&self, add_bytes: u64, add_messages: u64) -> Result<()> {
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

    /// A UIDVALIDITY larger than any this account handed out, time-based when possible.
    fn next_uidvalidity(&mut self) -> UidValidity {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let v = now.max(self.meta.last_uidvalidity.saturating_add(1)).max(1);
        self.meta.last_uidvalidity = v;
        UidValidity::new(v).unwrap_or_else(|| unreachable!())
    }
}

/// `data` with every bare LF turned into CRLF, or `None` if it has none.
pub(crate) fn to_crlf(data: &[u8]) -> Option<Vec<u8>> {
    let bare = data
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'));
    if !bare {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Some(out)
}

/// Counts octets with every bare LF counted as CRLF.
pub(crate) fn crlf_size(data: &[u8]) -> u64 {
    let mut extra = 0u64;
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            extra += 1;
        }
        prev = b;
    }
    data.len() as u64 + extra
}

fn uid(n: u32) -> Result<Uid> {
    Uid::new(n).ok_or(StoreError::InvalidArgument("UID space exhausted"))
}

fn uid_space(next: u32, n: usize) -> Result<()> {
    if u64::from(next) + n as u64 > u64::from(u32::MAX) {
        return Err(StoreError::InvalidArgument("UID space exhausted"));
    }
    Ok(())
}

/// The engine: the store's rules over a [`Backend`].
pub(crate) struct Engine<K: Backend> {
    pub backend: K,
    delimiter: char,
    accounts: Mutex<HashMap<AccountName, SharedAccount<K::Blob>>>,
    pub hub: ChangeHub,
    lease_ids: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
            accounts: Mutex::new(HashMap::new()),
            hub: ChangeHub::new(),
            lease_ids: AtomicU64::new(seed | 1),
        }
    }

    pub fn delimiter(&self) -> char {
        self.delimiter
    }

    fn account(&self, name: &AccountName) -> Result<SharedAccount<K::Blob>> {
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

    /// Validates a mailbox name and makes `INBOX` canonical.
    pub fn canonical(&self, name: &str) -> Result<String> {
        let d = self.delimiter;
        if name.is_empty() || name.len() > 1000 {
            return Err(StoreError::InvalidName("mailbox name must be 1-1000 bytes"));
        }
        if name.chars().any(char::is_control) {
            return Err(StoreError::InvalidName(
                "mailbox name has a control character",
            ));
        }
        if name.split(d).any(str::is_empty) {
            return Err(StoreError::InvalidName(
                "mailbox name has an empty hierarchy level",
            ));
        }
        if name.contains(['*', '%']) {
            return Err(StoreError::InvalidName("mailbox name has a wildcard"));
        }
        let first_end = name.find(d).unwrap_or(name.len());
        let canon = if name[..first_end].eq_ignore_ascii_case("INBOX") {
            format!("INBOX{}", &name[first_end..])
        } else {
            name.to_owned()
        };
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

    /// Makes a transaction durable, applies it and tells the watchers.
    fn commit(
        &self,
        account: &AccountName,
        name: &str,
        mb: &mut MailboxState<K::Blob>,
        records: Vec<Record<K::Blob>>,
        origin: SessionId,
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.backend.commit(account, name, &records)?;
        let events = events_of(&records);
        mb.apply_all(records);
        self.backend.applied(account, name, mb);
        for kind in events {
            self.publish(account, name, origin, kind);
        }
        Ok(())
    }

    /// Picks up changes other programs made to the mailbox.
    fn refresh(
        &self,
        account: &AccountName,
        name: &str,
        mb: &mut MailboxState<K::Blob>,
    ) -> Result<()> {
        let records = self.backend.refresh(account, name, mb)?;
        self.commit(account, name, mb, records, SessionId::EXTERNAL)
    }

    fn open<'a>(
        &self,
        account: &AccountName,
        acct: &'a mut Account<K::Blob>,
        name: &str,
    ) -> Result<&'a mut MailboxState<K::Blob>> {
        let mb = acct.mailbox(name)?;
        self.refresh(account, name, mb)?;
        Ok(mb)
    }

    // ---- accounts ----

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
        let header = Header::new(acct.next_uidvalidity(), None);
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

    // ---- the mailbox tree ----

    pub fn list(&self, s: &Session, pattern: &str, scope: ListScope) -> Result<Vec<MailboxInfo>> {
        let a = self.account(s.account())?;
        let acct = lock(&a);
        let d = self.delimiter;
        let mut names: BTreeMap<String, bool> = BTreeMap::new();
        match scope {
            ListScope::All => {
                for name in acct.mailboxes.keys() {
                    names.insert(name.clone(), true);
                    let mut cut = name.as_str();
                    while let Some(i) = cut.rfind(d) {
                        cut = &cut[..i];
                        names.entry(cut.to_owned()).or_insert(false);
                    }
                }
            }
            ListScope::Subscribed => {
                for name in &acct.subscriptions {
                    names.insert(name.clone(), acct.mailboxes.contains_key(name));
                }
            }
        }
        let mut out = Vec::new();
        for (name, exists) in names {
            if !pattern::matches(pattern, &name, d) {
                continue;
            }
            let has_children = acct
                .mailboxes
                .range(format!("{name}{d}")..)
                .next()
                .is_some_and(|(n, _)| self.is_child(n, &name));
            out.push(MailboxInfo {
                special_use: acct.mailboxes.get(&name).and_then(|m| m.header.special_use),
                subscribed: acct.subscriptions.contains(&name),
                name,
                exists,
                has_children,
            });
        }
        Ok(out)
    }

    pub fn create_mailbox(
        &self,
        s: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        if acct.mailboxes.contains_key(&name) {
            return Err(StoreError::MailboxExists(name));
        }
        let d = self.delimiter;
        let mut parents = Vec::new();
        let mut cut = name.as_str();
        while let Some(i) = cut.rfind(d) {
            cut = &cut[..i];
            if !acct.mailboxes.contains_key(cut) {
                parents.push(cut.to_owned());
            }
        }
        for (n, role) in parents
            .into_iter()
            .rev()
            .map(|p| (p, None))
            .chain(std::iter::once((name.clone(), special_use)))
        {
            let header = Header::new(acct.next_uidvalidity(), role);
            self.backend.save_meta(s.account(), &acct.meta)?;
            self.backend.create_mailbox(s.account(), &n, &header)?;
            acct.mailboxes.insert(n, MailboxState::new(header));
        }
        Ok(())
    }

    pub fn delete_mailbox(&self, s: &Session, name: &str) -> Result<()> {
        let name = self.canonical(name)?;
        if name == "INBOX" {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted"));
        }
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let uidvalidity = acct.mailbox(&name)?.header.uidvalidity;
        if acct.mailboxes.keys().any(|n| self.is_child(n, &name)) {
            return Err(StoreError::HasChildren(name));
        }
        self.backend.delete_mailbox(s.account(), &name)?;
        acct.mailboxes.remove(&name);
        self.publish(
            s.account(),
            &name,
            s.id(),
            ChangeKind::Deleted { uidvalidity },
        );
        Ok(())
    }

    pub fn rename_mailbox(&self, s: &Session, from: &str, to: &str) -> Result<()> {
        let from = self.canonical(from)?;
        let to = self.canonical(to)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&from)?;
        if acct.mailboxes.contains_key(&to) {
            return Err(StoreError::MailboxExists(to));
        }
        if to == "INBOX" {
            return Err(StoreError::MailboxExists(to));
        }
        if self.is_child(&to, &from) {
            return Err(StoreError::NotAllowed(
                "cannot rename a mailbox into itself",
            ));
        }
        drop(acct);
        // Missing parents of the target come first, as CREATE makes them.
        if let Some(i) = to.rfind(self.delimiter) {
            let parent = &to[..i];
            let exists = lock(&a).mailboxes.contains_key(parent);
            if !exists {
                self.create_mailbox(s, parent, None)?;
            }
        }
        let mut acct = lock(&a);
        if from == "INBOX" {
            // RFC 3501 §6.3.5: INBOX's messages move to the new mailbox, INBOX stays (empty).
            let header = Header::new(acct.next_uidvalidity(), None);
            self.backend.save_meta(account, &acct.meta)?;
            self.backend.create_mailbox(account, &to, &header)?;
            acct.mailboxes.insert(to.clone(), MailboxState::new(header));
            drop(acct);
            self.copy_or_move(s, "INBOX", &UidSet::all(), &to, true)?;
            return Ok(());
        }
        let moving: Vec<String> = acct
            .mailboxes
            .keys()
            .filter(|n| **n == from || self.is_child(n, &from))
            .cloned()
            .collect();
        for old in &moving {
            let new = format!("{to}{}", &old[from.len()..]);
            if acct.mailboxes.contains_key(&new) {
                return Err(StoreError::MailboxExists(new));
            }
        }
        for old in moving {
            let new = format!("{to}{}", &old[from.len()..]);
            self.backend.rename_mailbox(account, &old, &new)?;
            if let Some(mb) = acct.mailboxes.remove(&old) {
                acct.mailboxes.insert(new.clone(), mb);
            }
            self.publish(account, &old, s.id(), ChangeKind::Renamed { to: new });
        }
        Ok(())
    }

    pub fn subscribe(&self, s: &Session, name: &str, on: bool) -> Result<()> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mut subs = acct.subscriptions.clone();
        let changed = if on {
            subs.insert(name)
        } else {
            subs.remove(&name)
        };
        if changed {
            self.backend.save_subscriptions(s.account(), &subs)?;
            acct.subscriptions = subs;
        }
        Ok(())
    }

    // ---- messages ----

    pub fn status(&self, s: &Session, name: &str) -> Result<Status> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mb = self.open(s.account(), &mut acct, &name)?;
        let recent = mb.messages.len()
            - mb.messages
                .partition_point(|m| m.uid.get() < mb.header.first_recent);
        Ok(Status {
            messages: u32::try_from(mb.messages.len()).unwrap_or(u32::MAX),
            recent: u32::try_from(recent).unwrap_or(u32::MAX),
            uidnext: uid(mb.header.uidnext)?,
            uidvalidity: mb.header.uidvalidity,
            unseen: mb.count_flag(Flag::Seen, false),
            deleted: mb.count_flag(Flag::Deleted, true),
            size: mb.size,
            highest_modseq: mb.highest_modseq(),
            keywords: mb.keywords.clone(),
            new_keywords_allowed: true,
            special_use: mb.header.special_use,
        })
    }

    #[allow(clippy::explicit_counter_loop)]
    pub fn append(&self, s: &Session, name: &str, items: Vec<AppendItem>) -> Result<Appended> {
        if items.is_empty() {
            return Err(StoreError::InvalidArgument("nothing to append"));
        }
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        let total: u64 = items.iter().map(|i| i.data.len()).sum();
        acct.check_quota(total, items.len() as u64)?;
        let mb = self.open(account, &mut acct, &name)?;
        uid_space(mb.header.uidnext, items.len())?;
        let modseq = mb.next_modseq();
        let mut records = Vec::with_capacity(items.len());
        let mut uids = Vec::with_capacity(items.len());
        let mut next = mb.header.uidnext;
        for mut item in items {
            let meta = prepare(
                &mut item.data,
                uid(next)?,
                modseq,
                item.flags,
                item.internal_date,
            )?;
            let written = meta.0.clone();
            match self.backend.write_message(
                account,
                &name,
                &mut item.data,
                &meta.1,
                &written,
                Arrival::Append,
            ) {
                Ok(blob) => {
                    uids.push(written.uid);
                    records.push(Record::Append(written.with_blob(blob)));
                }
                Err(e) => {
                    self.discard_all(account, &name, &records);
                    return Err(e);
                }
            }
            next += 1;
        }
        let uidvalidity = mb.header.uidvalidity;
        let keep = records.clone();
        if let Err(e) = self.commit(account, &name, mb, records, s.id()) {
            self.discard_all(account, &name, &keep);
            return Err(e);
        }
        Ok(Appended { uidvalidity, uids })
    }

    fn discard_all(&self, account: &AccountName, name: &str, records: &[Record<K::Blob>]) {
        for r in records {
            if let Record::Append(m) = r {
                self.backend.discard(account, name, &m.blob);
            }
        }
    }

    #[allow(clippy::many_single_char_names)]
    pub fn fetch(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        q: FetchQuery,
    ) -> Result<Vec<FetchedMessage>> {
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        let mb = self.open(account, &mut acct, &name)?;
        let mut out = Vec::new();
        for i in mb.select(uids) {
            let m = &mb.messages[i];
            let mime = if q.envelope || q.body_structure {
                Some(self.backend.read_mime(account, &name, &m.blob)?)
            } else {
                None
            };
            let content = match q.content {
                None => None,
                Some(c) => {
                    let raw = self.backend.read_message(account, &name, &m.blob)?;
                    Some(slice_content(raw, c))
                }
            };
            out.push(FetchedMessage {
                uid: m.uid,
                flags: m.flags.clone(),
                modseq: m.modseq,
                internal_date: m.date,
                size: m.size,
                crlf_size: m.vsize,
                envelope: mime
                    .as_ref()
                    .filter(|_| q.envelope)
                    .map(|m| Arc::new(m.envelope.clone())),
                body_structure: mime
                    .as_ref()
                    .filter(|_| q.body_structure)
                    .map(|m| Arc::new(m.body.clone())),
                content,
            });
        }
        Ok(out)
    }

    pub fn store_flags(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        op: &FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreResult> {
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        let mb = self.open(account, &mut acct, &name)?;
        let modseq = mb.next_modseq();
        let mut result = StoreResult::default();
        let mut records = Vec::new();
        for i in mb.select(uids) {
            let m = &mb.messages[i];
            if let Some(limit) = unchanged_since
                && m.modseq > limit
            {
                result.modified.push(m.uid);
                continue;
            }
            let flags = m.flags.apply(op);
            if flags == m.flags {
                continue;
            }
            let blob = self.backend.set_flags(account, &name, &m.blob, &flags)?;
            result.updated.push(MessageFlags {
                uid: m.uid,
                flags: flags.clone(),
                modseq,
            });
            records.push(Record::Flags {
                uid: m.uid,
                modseq,
                flags,
                blob,
            });
        }
        self.commit(account, &name, mb, records, s.id())?;
        Ok(result)
    }

    pub fn expunge(&self, s: &Session, name: &str, scope: &ExpungeScope) -> Result<Expunged> {
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        let mb = self.open(account, &mut acct, &name)?;
        let picked: Vec<usize> = match scope {
            ExpungeScope::Deleted => (0..mb.messages.len())
                .filter(|&i| mb.messages[i].flags.contains(Flag::Deleted))
                .collect(),
            ExpungeScope::DeletedIn(set) => mb
                .select(set)
                .into_iter()
                .filter(|&i| mb.messages[i].flags.contains(Flag::Deleted))
                .collect(),
            ExpungeScope::Uids(set) => mb.select(set),
        };
        if picked.is_empty() {
            return Ok(Expunged {
                uids: Vec::new(),
                modseq: None,
            });
        }
        let modseq = mb.next_modseq();
        let mut records = Vec::with_capacity(picked.len());
        for i in picked {
            let m = &mb.messages[i];
            self.backend.remove_message(account, &name, &m.blob)?;
            records.push(Record::Expunge { uid: m.uid, modseq });
        }
        let uids = records
            .iter()
            .filter_map(|r| match r {
                Record::Expunge { uid, .. } => Some(*uid),
                _ => None,
            })
            .collect();
        self.commit(account, &name, mb, records, s.id())?;
        Ok(Expunged {
            uids,
            modseq: Some(modseq),
        })
    }

    #[allow(clippy::explicit_counter_loop)]
    pub fn copy_or_move(
        &self,
        s: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
        is_move: bool,
    ) -> Result<Copied> {
        let from = self.canonical(from)?;
        let to = self.canonical(to)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&to)?;
        let src = self.open(account, &mut acct, &from)?;
        let picked: Vec<MessageMeta<K::Blob>> = src
            .select(uids)
            .into_iter()
            .map(|i| src.messages[i].clone())
            .collect();
        let dst = self.open(account, &mut acct, &to)?;
        let uidvalidity = dst.header.uidvalidity;
        if picked.is_empty() {
            return Ok(Copied {
                uidvalidity,
                map: Vec::new(),
            });
        }
        if !is_move {
            let total: u64 = picked.iter().map(|m| m.size).sum();
            acct.check_quota(total, picked.len() as u64)?;
        }
        let dst = acct.mailbox(&to)?;
        uid_space(dst.header.uidnext, picked.len())?;
        let modseq = dst.next_modseq();
        let mut next = dst.header.uidnext;
        let mut records = Vec::with_capacity(picked.len());
        let mut map = Vec::with_capacity(picked.len());
        for m in &picked {
            let new_meta = MessageMeta {
                uid: uid(next)?,
                modseq,
                created: modseq,
                ..m.with_blob(())
            };
            let res = if is_move {
                self.backend
                    .move_message(account, &from, &m.blob, &to, &new_meta)
            } else {
                self.backend
                    .copy_message(account, &from, &m.blob, &to, &new_meta)
            };
            match res {
                Ok(blob) => {
                    map.push((m.uid, new_meta.uid));
                    records.push(Record::Append(new_meta.with_blob(blob)));
                }
                Err(e) => {
                    if !is_move {
                        self.discard_all(account, &to, &records);
                    }
                    // A partial move leaves the moved files in the destination unindexed;
                    // the Maildir backend's recovery indexes them there (nothing lost, nothing
                    // duplicated), so commit what moved before failing.
                    if is_move && !records.is_empty() {
                        let moved: Vec<Uid> = map.iter().map(|(u, _)| *u).collect();
                        self.finish_move(s, &mut acct, &from, &to, records, &moved)?;
                    }
                    return Err(e);
                }
            }
            next += 1;
        }
        if is_move {
            let moved: Vec<Uid> = map.iter().map(|(u, _)| *u).collect();
            self.finish_move(s, &mut acct, &from, &to, records, &moved)?;
        } else {
            let keep = records.clone();
            let dst = acct.mailbox(&to)?;
            if let Err(e) = self.commit(account, &to, dst, records, s.id()) {
                self.discard_all(account, &to, &keep);
                return Err(e);
            }
        }
        Ok(Copied { uidvalidity, map })
    }

    fn finish_move(
        &self,
        s: &Session,
        acct: &mut Account<K::Blob>,
        from: &str,
        to: &str,
        appended: Vec<Record<K::Blob>>,
        moved: &[Uid],
    ) -> Result<()> {
        let account = s.account();
        let dst = acct.mailbox(to)?;
        self.commit(account, to, dst, appended, s.id())?;
        let src = acct.mailbox(from)?;
        let modseq = src.next_modseq();
        let records = moved
            .iter()
            .map(|&uid| Record::Expunge { uid, modseq })
            .collect();
        self.commit(account, from, src, records, s.id())
    }

    pub fn changes_since(&self, s: &Session, name: &str, since: u64) -> Result<Changes> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mb = self.open(s.account(), &mut acct, &name)?;
        let mut new = Vec::new();
        let mut changed = Vec::new();
        for m in &mb.messages {
            if m.created.get() > since {
                new.push(m.flags_entry());
            } else if m.modseq.get() > since {
                changed.push(m.flags_entry());
            }
        }
        let mut expunged: Vec<Uid> = mb
            .expunged
            .iter()
            .filter(|(_, m)| m.get() > since)
            .map(|(u, _)| *u)
            .collect();
        expunged.sort_unstable();
        expunged.dedup();
        Ok(Changes {
            uidvalidity: mb.header.uidvalidity,
            highest_modseq: mb.highest_modseq(),
            new,
            changed,
            expunged,
        })
    }

    pub fn take_recent(&self, s: &Session, name: &str) -> Result<Vec<Uid>> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mb = self.open(s.account(), &mut acct, &name)?;
        let first = mb.header.first_recent;
        if first >= mb.header.uidnext {
            return Ok(Vec::new());
        }
        let start = mb.messages.partition_point(|m| m.uid.get() < first);
        let uids = mb.messages[start..].iter().map(|m| m.uid).collect();
        let header = Header {
            first_recent: mb.header.uidnext,
            ..mb.header.clone()
        };
        self.commit(s.account(), &name, mb, vec![Record::Header(header)], s.id())?;
        Ok(uids)
    }

    pub fn watch(&self, s: &Session, name: &str) -> Result<Subscription> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        Ok(self.hub.subscribe(s.account(), &name, s.id()))
    }

    // ---- POP3 ----

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
                size: m.vsize,
                // Dovecot's default pop3_uidl_format, %08Xu%08Xv.
                uidl: format!("{:08X}{:08X}", m.uid.get(), uidvalidity),
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
        let mut acct = lock(&a);
        Self::check_lease(&acct, lease)?;
        let mb = self.open(account, &mut acct, "INBOX")?;
        let m = mb.get(u).ok_or(StoreError::NoSuchMessage(u.get()))?.clone();
        let data = self.backend.read_message(account, "INBOX", &m.blob)?;
        if mark_seen && !m.flags.contains(Flag::Seen) {
            let flags = m.flags.clone().with(Flag::Seen);
            let blob = self.backend.set_flags(account, "INBOX", &m.blob, &flags)?;
            let modseq = mb.next_modseq();
            let rec = Record::Flags {
                uid: u,
                modseq,
                flags,
                blob,
            };
            self.commit(account, "INBOX", mb, vec![rec], s.id())?;
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
            let modseq = mb.next_modseq();
            let mut records = Vec::new();
            for i in present {
                let m = &mb.messages[i];
                self.backend.remove_message(account, "INBOX", &m.blob)?;
                records.push(Record::Expunge { uid: m.uid, modseq });
            }
            self.commit(account, "INBOX", mb, records, s.id())?;
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

    // ---- delivery ----

    pub fn deliver(&self, mut upload: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        let origin = SessionId::new();
        let prepared = match prepare(&mut upload, Uid::MIN, ModSeq::MIN, Flags::new(), None) {
            Ok(p) => p,
            Err(e) => {
                let msg = e.to_string();
                return recipients
                    .iter()
                    .map(|_| Err(StoreError::Io(std::io::Error::other(msg.clone()))))
                    .collect();
            }
        };
        recipients
            .iter()
            .map(|r| self.deliver_one(&mut upload, &prepared, r, origin))
            .collect()
    }

    fn deliver_one(
        &self,
        upload: &mut Upload,
        (meta, mime): &(MessageMeta<()>, MimeInfo),
        r: &Recipient,
        origin: SessionId,
    ) -> Result<Delivered> {
        let account = &r.account;
        let name = self.canonical(r.mailbox.as_deref().unwrap_or("INBOX"))?;
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        acct.check_quota(meta.size, 1)?;
        let mb = self.open(account, &mut acct, &name)?;
        uid_space(mb.header.uidnext, 1)?;
        let modseq = mb.next_modseq();
        let meta = MessageMeta {
            uid: uid(mb.header.uidnext)?,
            modseq,
            created: modseq,
            flags: r.flags.clone(),
            ..meta.clone()
        };
        let blob =
            self.backend
                .write_message(account, &name, upload, mime, &meta, Arrival::Delivery)?;
        let rec = Record::Append(meta.with_blob(blob));
        let keep = vec![rec.clone()];
        if let Err(e) = self.commit(account, &name, mb, vec![rec], origin) {
            self.discard_all(account, &name, &keep);
            return Err(e);
        }
        Ok(Delivered {
            uidvalidity: mb.header.uidvalidity,
            uid: meta.uid,
            mailbox: name,
        })
    }
}

fn set_len(uids: &[Uid]) -> usize {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// Computes what the index keeps about a new message.
fn prepare(
    data: &mut Upload,
    uid: Uid,
    modseq: ModSeq,
    flags: Flags,
    date: Option<InternalDate>,
) -> Result<(MessageMeta<()>, MimeInfo)> {
    // The store keeps and serves messages with CRLF line ends, the form IMAP and POP3 send,
    // so that sizes, BODYSTRUCTURE offsets and the octets served always agree.
    if let Some(fixed) = to_crlf(&data.bytes()?) {
        let spool = std::mem::replace(data, Upload::from_bytes(fixed));
        drop(spool);
    }
    let bytes = data.bytes()?;
    let mime = MimeInfo::parse(&bytes);
    let meta = MessageMeta {
        uid,
        modseq,
        created: modseq,
        flags,
        date: date.unwrap_or_else(InternalDate::now),
        size: bytes.len() as u64,
        vsize: crlf_size(&bytes),
        blob: (),
    };
    Ok((meta, mime))
}

fn slice_content(raw: Vec<u8>, c: Content) -> Vec<u8> {
    let len = raw.len();
    let hl = usize::try_from(crate::mime::header_len(&raw)).unwrap_or(len);
    match c {
        Content::Full => raw,
        Content::Header => raw[..hl.min(len)].to_vec(),
        Content::Text => raw[hl.min(len)..].to_vec(),
        Content::Range { offset, len: n } => {
            let start = usize::try_from(offset).unwrap_or(len).min(len);
            let end = start
                .saturating_add(usize::try_from(n).unwrap_or(usize::MAX))
                .min(len);
            raw[start..end].to_vec()
        }
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
            Record::Expunge { uid, modseq } => {
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
