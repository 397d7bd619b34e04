//! The in-memory backend, for tests and embedding. Nothing survives the process.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use crate::{
    engine::{
        AccountMeta, Arrival, Backend, Engine, Header, Loaded, MailboxState, MessageMeta, Record,
    },
    error::Result,
    mime::MimeInfo,
    model::{
        AppendItem, Appended, Changes, Copied, Delivered, ExpungeScope, Expunged, FetchQuery,
        FetchedMessage, ListScope, MailboxInfo, Maildrop, Pop3Committed, Pop3Lease, QuotaLimits,
        QuotaReport, Recipient, Status, StoreResult,
    },
    notify::Subscription,
    store::MailStore,
    types::{AccountName, FlagOp, Flags, ModSeq, Session, SpecialUse, Uid, UidSet},
    upload::Upload,
};

/// A message held in memory.
#[derive(Debug)]
pub struct MemBlob {
    data: Vec<u8>,
    mime: Arc<MimeInfo>,
}

#[derive(Debug, Default)]
struct Mem;

impl Backend for Mem {
    type Blob = Arc<MemBlob>;

    fn check_name(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    fn upload(&self) -> Upload {
        Upload::in_memory()
    }
    fn load_account(&self, _account: &AccountName) -> Result<Option<Loaded<Self::Blob>>> {
        // Accounts live only in the engine's map: one it has not seen does not exist.
        Ok(None)
    }
    fn create_account(&self, _: &AccountName, _: &AccountMeta, _: &Header) -> Result<()> {
        Ok(())
    }
    fn save_meta(&self, _: &AccountName, _: &AccountMeta) -> Result<()> {
        Ok(())
    }
    fn save_subscriptions(&self, _: &AccountName, _: &BTreeSet<String>) -> Result<()> {
        Ok(())
    }
    fn create_mailbox(&self, _: &AccountName, _: &str, _: &Header) -> Result<()> {
        Ok(())
    }
    fn delete_mailbox(&self, _: &AccountName, _: &str) -> Result<()> {
        Ok(())
    }
    fn rename_mailbox(&self, _: &AccountName, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
    fn write_message(
        &self,
        _: &AccountName,
        _: &str,
        upload: &mut Upload,
        mime: &MimeInfo,
        _: &MessageMeta<()>,
        _: Arrival,
    ) -> Result<Self::Blob> {
        Ok(Arc::new(MemBlob {
            data: upload.bytes()?.into_owned(),
            mime: Arc::new(mime.clone()),
        }))
    }
    fn copy_message(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: &str,
        _: &MessageMeta<()>,
    ) -> Result<Self::Blob> {
        Ok(Arc::clone(blob))
    }
    fn move_message(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: &str,
        _: &MessageMeta<()>,
    ) -> Result<Self::Blob> {
        Ok(Arc::clone(blob))
    }
    fn discard(&self, _: &AccountName, _: &str, _: &Self::Blob) {}
    fn set_flags(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: &Flags,
    ) -> Result<Self::Blob> {
        Ok(Arc::clone(blob))
    }
    fn remove_message(&self, _: &AccountName, _: &str, _: &Self::Blob) -> Result<()> {
        Ok(())
    }
    fn read_message(&self, _: &AccountName, _: &str, blob: &Self::Blob) -> Result<Vec<u8>> {
        Ok(blob.data.clone())
    }
    fn read_mime(&self, _: &AccountName, _: &str, blob: &Self::Blob) -> Result<Arc<MimeInfo>> {
        Ok(Arc::clone(&blob.mime))
    }
    fn commit(&self, _: &AccountName, _: &str, _: &[Record<Self::Blob>]) -> Result<()> {
        Ok(())
    }
    fn applied(&self, _: &AccountName, _: &str, _: &MailboxState<Self::Blob>) {}
    fn refresh(
        &self,
        _: &AccountName,
        _: &str,
        _: &MailboxState<Self::Blob>,
    ) -> Result<Vec<Record<Self::Blob>>> {
        Ok(Vec::new())
    }
}

/// The in-memory store. Its hierarchy delimiter is `/`.
///
/// Operations run on the calling task (they only take a mutex for a short time), so it
/// needs no executor.
pub struct MemoryStore {
    engine: Engine<Mem>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            engine: Engine::new(Mem, '/'),
        }
    }
}

impl MailStore for MemoryStore {
    fn hierarchy_delimiter(&self) -> char {
        self.engine.delimiter()
    }
    fn upload(&self) -> Upload {
        self.engine.backend.upload()
    }
    async fn create_account(&self, account: &AccountName) -> Result<()> {
        self.engine.create_account(account)
    }
    async fn account_exists(&self, account: &AccountName) -> Result<bool> {
        self.engine.account_exists(account)
    }
    async fn set_quota(&self, account: &AccountName, limits: QuotaLimits) -> Result<()> {
        self.engine.set_quota(account, limits)
    }
    async fn quota(&self, session: &Session) -> Result<QuotaReport> {
        self.engine.quota(session)
    }
    async fn list(
        &self,
        session: &Session,
        pattern: &str,
        scope: ListScope,
    ) -> Result<Vec<MailboxInfo>> {
        self.engine.list(session, pattern, scope)
    }
    async fn create_mailbox(
        &self,
        session: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        self.engine.create_mailbox(session, name, special_use)
    }
    async fn delete_mailbox(&self, session: &Session, name: &str) -> Result<()> {
        self.engine.delete_mailbox(session, name)
    }
    async fn rename_mailbox(&self, session: &Session, from: &str, to: &str) -> Result<()> {
        self.engine.rename_mailbox(session, from, to)
    }
    async fn subscribe(&self, session: &Session, name: &str) -> Result<()> {
        self.engine.subscribe(session, name, true)
    }
    async fn unsubscribe(&self, session: &Session, name: &str) -> Result<()> {
        self.engine.subscribe(session, name, false)
    }
    async fn status(&self, session: &Session, mailbox: &str) -> Result<Status> {
        self.engine.status(session, mailbox)
    }
    async fn append(
        &self,
        session: &Session,
        mailbox: &str,
        items: Vec<AppendItem>,
    ) -> Result<Appended> {
        self.engine.append(session, mailbox, items)
    }
    async fn fetch(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: FetchQuery,
    ) -> Result<Vec<FetchedMessage>> {
        self.engine.fetch(session, mailbox, uids, query)
    }
    async fn store_flags(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        op: FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreResult> {
        self.engine
            .store_flags(session, mailbox, uids, &op, unchanged_since)
    }
    async fn expunge(
        &self,
        session: &Session,
        mailbox: &str,
        scope: ExpungeScope,
    ) -> Result<Expunged> {
        self.engine.expunge(session, mailbox, &scope)
    }
    async fn copy(&self, session: &Session, from: &str, uids: &UidSet, to: &str) -> Result<Copied> {
        self.engine.copy_or_move(session, from, uids, to, false)
    }
    async fn move_messages(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> Result<Copied> {
        self.engine.copy_or_move(session, from, uids, to, true)
    }
    async fn changes_since(&self, session: &Session, mailbox: &str, since: u64) -> Result<Changes> {
        self.engine.changes_since(session, mailbox, since)
    }
    async fn take_recent(&self, session: &Session, mailbox: &str) -> Result<Vec<Uid>> {
        self.engine.take_recent(session, mailbox)
    }
    async fn watch(&self, session: &Session, mailbox: &str) -> Result<Subscription> {
        self.engine.watch(session, mailbox)
    }
    async fn pop3_open(&self, session: &Session, lease_for: Duration) -> Result<Maildrop> {
        self.engine.pop3_open(session, lease_for)
    }
    async fn pop3_renew(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> Result<Pop3Lease> {
        self.engine.pop3_renew(session, lease, lease_for)
    }
    async fn pop3_retrieve(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        uid: Uid,
        mark_seen: bool,
    ) -> Result<Vec<u8>> {
        self.engine.pop3_retrieve(session, lease, uid, mark_seen)
    }
    async fn pop3_commit(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> Result<Pop3Committed> {
        self.engine.pop3_commit(session, lease, deleted)
    }
    async fn pop3_release(&self, session: &Session, lease: &Pop3Lease) -> Result<()> {
        self.engine.pop3_release(session, lease)
    }
    async fn deliver(&self, message: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        self.engine.deliver(message, recipients)
    }
}
