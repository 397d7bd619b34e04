//! One store type for a program that picks its backend at start: [`EitherStore`] holds one
//! of two stores and implements [`MailStore`] by handing every call to it (a server that
//! takes `--store postgres://...` and keeps Maildir as its default).

use std::time::Duration;

use crate::{
    access_key::AccessKey,
    error::Result,
    model::{
        AppendItem, Appended, Changes, Copied, Delivered, ExpungeScope, Expunged, FetchQuery,
        FetchedMessage, ListScope, MailboxInfo, Maildrop, Pop3Committed, Pop3Lease, QuotaLimits,
        QuotaReport, Recipient, Status, StoreResult,
    },
    notify::Subscription,
    reader::MessageReader,
    search::{SearchHit, SearchQuery},
    store::MailStore,
    types::{AccountName, FlagOp, ModSeq, Session, SpecialUse, Uid, UidSet},
    upload::Upload,
};

/// One of two stores, chosen at run time.
#[derive(Debug)]
pub enum EitherStore<A, B> {
    /// The first kind (in the example server: Maildir).
    Left(A),
    /// The second kind (in the example server: PostgreSQL).
    Right(B),
}

/// Calls the same method on whichever store it is.
macro_rules! both {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            EitherStore::Left($s) => $call,
            EitherStore::Right($s) => $call,
        }
    };
}

impl<A: MailStore, B: MailStore> MailStore for EitherStore<A, B> {
    fn hierarchy_delimiter(&self) -> char {
        both!(self, s => s.hierarchy_delimiter())
    }

    fn changed_from_outside(&self) -> bool {
        both!(self, s => s.changed_from_outside())
    }

    fn upload(&self) -> Upload {
        both!(self, s => s.upload())
    }

    async fn create_account(&self, account: &AccountName) -> Result<()> {
        both!(self, s => s.create_account(account).await)
    }

    async fn account_exists(&self, account: &AccountName) -> Result<bool> {
        both!(self, s => s.account_exists(account).await)
    }

    async fn set_quota(&self, account: &AccountName, limits: QuotaLimits) -> Result<()> {
        both!(self, s => s.set_quota(account, limits).await)
    }

    async fn quota(&self, session: &Session) -> Result<QuotaReport> {
        both!(self, s => s.quota(session).await)
    }

    async fn check_quota(&self, session: &Session, octets: u64, messages: u64) -> Result<()> {
        both!(self, s => s.check_quota(session, octets, messages).await)
    }

    async fn list(
        &self,
        session: &Session,
        pattern: &str,
        scope: ListScope,
    ) -> Result<Vec<MailboxInfo>> {
        both!(self, s => s.list(session, pattern, scope).await)
    }

    async fn create_mailbox(
        &self,
        session: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        both!(self, s => s.create_mailbox(session, name, special_use).await)
    }

    async fn delete_mailbox(&self, session: &Session, name: &str) -> Result<()> {
        both!(self, s => s.delete_mailbox(session, name).await)
    }

    async fn rename_mailbox(&self, session: &Session, from: &str, to: &str) -> Result<()> {
        both!(self, s => s.rename_mailbox(session, from, to).await)
    }

    async fn subscribe(&self, session: &Session, name: &str) -> Result<()> {
        both!(self, s => s.subscribe(session, name).await)
    }

    async fn unsubscribe(&self, session: &Session, name: &str) -> Result<()> {
        both!(self, s => s.unsubscribe(session, name).await)
    }

    async fn status(&self, session: &Session, mailbox: &str) -> Result<Status> {
        both!(self, s => s.status(session, mailbox).await)
    }

    async fn append(
        &self,
        session: &Session,
        mailbox: &str,
        items: Vec<AppendItem>,
    ) -> Result<Appended> {
        both!(self, s => s.append(session, mailbox, items).await)
    }

    async fn fetch(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: FetchQuery,
    ) -> Result<Vec<FetchedMessage>> {
        both!(self, s => s.fetch(session, mailbox, uids, query).await)
    }

    async fn read_range(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        both!(self, s => s.read_range(session, mailbox, uid, offset, len).await)
    }

    async fn open_message(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
    ) -> Result<MessageReader> {
        both!(self, s => s.open_message(session, mailbox, uid).await)
    }

    async fn search(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: &SearchQuery,
    ) -> Result<Vec<SearchHit>> {
        both!(self, s => s.search(session, mailbox, uids, query).await)
    }

    async fn store_flags(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        op: FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreResult> {
        both!(self, s => s.store_flags(session, mailbox, uids, op, unchanged_since).await)
    }

    async fn expunge(
        &self,
        session: &Session,
        mailbox: &str,
        scope: ExpungeScope,
    ) -> Result<Expunged> {
        both!(self, s => s.expunge(session, mailbox, scope).await)
    }

    async fn copy(&self, session: &Session, from: &str, uids: &UidSet, to: &str) -> Result<Copied> {
        both!(self, s => s.copy(session, from, uids, to).await)
    }

    async fn move_messages(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> Result<Copied> {
        both!(self, s => s.move_messages(session, from, uids, to).await)
    }

    async fn changes_since(&self, session: &Session, mailbox: &str, since: u64) -> Result<Changes> {
        both!(self, s => s.changes_since(session, mailbox, since).await)
    }

    async fn take_recent(&self, session: &Session, mailbox: &str) -> Result<Vec<Uid>> {
        both!(self, s => s.take_recent(session, mailbox).await)
    }

    async fn watch(&self, session: &Session, mailbox: &str) -> Result<Subscription> {
        both!(self, s => s.watch(session, mailbox).await)
    }

    async fn watch_account(&self, session: &Session) -> Result<Subscription> {
        both!(self, s => s.watch_account(session).await)
    }

    async fn pop3_open(&self, session: &Session, lease_for: Duration) -> Result<Maildrop> {
        both!(self, s => s.pop3_open(session, lease_for).await)
    }

    async fn pop3_renew(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> Result<Pop3Lease> {
        both!(self, s => s.pop3_renew(session, lease, lease_for).await)
    }

    async fn pop3_retrieve(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        uid: Uid,
        mark_seen: bool,
    ) -> Result<Vec<u8>> {
        both!(self, s => s.pop3_retrieve(session, lease, uid, mark_seen).await)
    }

    async fn pop3_commit(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> Result<Pop3Committed> {
        both!(self, s => s.pop3_commit(session, lease, deleted).await)
    }

    async fn pop3_release(&self, session: &Session, lease: &Pop3Lease) -> Result<()> {
        both!(self, s => s.pop3_release(session, lease).await)
    }

    async fn deliver(&self, message: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        both!(self, s => s.deliver(message, recipients).await)
    }

    async fn access_key(&self, session: &Session, mailbox: &str) -> Result<Option<AccessKey>> {
        both!(self, s => s.access_key(session, mailbox).await)
    }

    async fn make_access_key(&self, session: &Session, mailbox: &str) -> Result<AccessKey> {
        both!(self, s => s.make_access_key(session, mailbox).await)
    }

    async fn reset_access_keys(&self, session: &Session, mailbox: Option<&str>) -> Result<()> {
        both!(self, s => s.reset_access_keys(session, mailbox).await)
    }
}
