//! [`Instrumented`]: any [`MailStore`] with the time each call took counted per operation.

use std::{future::Future, sync::Arc, time::Duration, time::Instant};

use sansmail_store::{
    AccessKey, AccountName, AppendItem, Appended, Changes, Copied, Delivered, ExpungeScope,
    Expunged, FetchQuery, FetchedMessage, FlagOp, ListScope, MailStore, MailboxInfo, Maildrop,
    MessageReader, ModSeq, Pop3Committed, Pop3Lease, QuotaLimits, QuotaReport, Recipient, Result,
    SearchHit, SearchQuery, Session, SpecialUse, Status, StoreResult, Subscription, Uid, UidSet,
    Upload,
};

use super::Metrics;

macro_rules! store_ops {
    ($($op:ident = $name:literal),* $(,)?) => {
        /// A [`MailStore`] operation, as labelled in `sansmail_store_operation_seconds{op}`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum StoreOp {
            $(
                #[doc = concat!("`", $name, "`")]
                $op,
            )*
        }

        impl StoreOp {
            /// Every operation, in the order of the counters.
            pub const ALL: [Self; [$($name),*].len()] = [$(Self::$op),*];

            /// The label value: the trait method's name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$op => $name,)*
                }
            }
        }
    };
}

store_ops! {
    CreateAccount = "create_account",
    AccountExists = "account_exists",
    SetQuota = "set_quota",
    Quota = "quota",
    List = "list",
    CreateMailbox = "create_mailbox",
    DeleteMailbox = "delete_mailbox",
    RenameMailbox = "rename_mailbox",
    Subscribe = "subscribe",
    Unsubscribe = "unsubscribe",
    Status = "status",
    Append = "append",
    Fetch = "fetch",
    ReadRange = "read_range",
    OpenMessage = "open_message",
    Search = "search",
    StoreFlags = "store_flags",
    Expunge = "expunge",
    Copy = "copy",
    MoveMessages = "move_messages",
    ChangesSince = "changes_since",
    TakeRecent = "take_recent",
    Watch = "watch",
    Pop3Open = "pop3_open",
    Pop3Renew = "pop3_renew",
    Pop3Retrieve = "pop3_retrieve",
    Pop3Commit = "pop3_commit",
    Pop3Release = "pop3_release",
    Deliver = "deliver",
    AccessKey = "access_key",
    MakeAccessKey = "make_access_key",
    ResetAccessKeys = "reset_access_keys",
}

impl StoreOp {
    pub(super) fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// A store whose every call is timed into [`Metrics`] (`sansmail_store_operation_seconds`)
/// and, when it fails, counted (`sansmail_store_errors_total`). It is the store itself for
/// the services: wrap the backend once and hand the wrapper to every service.
#[derive(Debug)]
pub struct Instrumented<S> {
    inner: Arc<S>,
    metrics: Arc<Metrics>,
}

impl<S> Instrumented<S> {
    /// `inner`, timed into `metrics`.
    pub fn new(inner: Arc<S>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    /// The backend underneath.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }
}

/// Whether a result counts as a failure.
trait Failed {
    fn failed(&self) -> bool;
}

impl<T> Failed for Result<T> {
    fn failed(&self) -> bool {
        self.is_err()
    }
}

impl Failed for Vec<Result<Delivered>> {
    fn failed(&self) -> bool {
        self.iter().any(std::result::Result::is_err)
    }
}

impl<S: MailStore> Instrumented<S> {
    async fn timed<T: Failed>(&self, op: StoreOp, call: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = call.await;
        let took: Duration = start.elapsed();
        self.metrics.store_op(op, took, out.failed());
        out
    }
}

impl<S: MailStore> MailStore for Instrumented<S> {
    fn hierarchy_delimiter(&self) -> char {
        self.inner.hierarchy_delimiter()
    }

    fn changed_from_outside(&self) -> bool {
        self.inner.changed_from_outside()
    }

    fn upload(&self) -> Upload {
        self.inner.upload()
    }

    fn create_account(&self, account: &AccountName) -> impl Future<Output = Result<()>> + Send {
        self.timed(StoreOp::CreateAccount, self.inner.create_account(account))
    }

    fn account_exists(&self, account: &AccountName) -> impl Future<Output = Result<bool>> + Send {
        self.timed(StoreOp::AccountExists, self.inner.account_exists(account))
    }

    fn set_quota(
        &self,
        account: &AccountName,
        limits: QuotaLimits,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(StoreOp::SetQuota, self.inner.set_quota(account, limits))
    }

    fn quota(&self, session: &Session) -> impl Future<Output = Result<QuotaReport>> + Send {
        self.timed(StoreOp::Quota, self.inner.quota(session))
    }

    fn check_quota(
        &self,
        session: &Session,
        octets: u64,
        messages: u64,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(
            StoreOp::Quota,
            self.inner.check_quota(session, octets, messages),
        )
    }

    fn list(
        &self,
        session: &Session,
        pattern: &str,
        scope: ListScope,
    ) -> impl Future<Output = Result<Vec<MailboxInfo>>> + Send {
        self.timed(StoreOp::List, self.inner.list(session, pattern, scope))
    }

    fn create_mailbox(
        &self,
        session: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> impl Future<Output = Result<()>> + Send {
        let call = self.inner.create_mailbox(session, name, special_use);
        self.timed(StoreOp::CreateMailbox, call)
    }

    fn delete_mailbox(
        &self,
        session: &Session,
        name: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(
            StoreOp::DeleteMailbox,
            self.inner.delete_mailbox(session, name),
        )
    }

    fn rename_mailbox(
        &self,
        session: &Session,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(
            StoreOp::RenameMailbox,
            self.inner.rename_mailbox(session, from, to),
        )
    }

    fn subscribe(&self, session: &Session, name: &str) -> impl Future<Output = Result<()>> + Send {
        self.timed(StoreOp::Subscribe, self.inner.subscribe(session, name))
    }

    fn unsubscribe(
        &self,
        session: &Session,
        name: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(StoreOp::Unsubscribe, self.inner.unsubscribe(session, name))
    }

    fn status(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Status>> + Send {
        self.timed(StoreOp::Status, self.inner.status(session, mailbox))
    }

    fn append(
        &self,
        session: &Session,
        mailbox: &str,
        items: Vec<AppendItem>,
    ) -> impl Future<Output = Result<Appended>> + Send {
        self.timed(StoreOp::Append, self.inner.append(session, mailbox, items))
    }

    fn fetch(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: FetchQuery,
    ) -> impl Future<Output = Result<Vec<FetchedMessage>>> + Send {
        self.timed(
            StoreOp::Fetch,
            self.inner.fetch(session, mailbox, uids, query),
        )
    }

    fn read_range(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
        offset: u64,
        len: usize,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send {
        let call = self.inner.read_range(session, mailbox, uid, offset, len);
        self.timed(StoreOp::ReadRange, call)
    }

    fn open_message(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
    ) -> impl Future<Output = Result<MessageReader>> + Send {
        let call = self.inner.open_message(session, mailbox, uid);
        self.timed(StoreOp::OpenMessage, call)
    }

    fn search(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: &SearchQuery,
    ) -> impl Future<Output = Result<Vec<SearchHit>>> + Send {
        self.timed(
            StoreOp::Search,
            self.inner.search(session, mailbox, uids, query),
        )
    }

    fn store_flags(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        op: FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> impl Future<Output = Result<StoreResult>> + Send {
        let call = self
            .inner
            .store_flags(session, mailbox, uids, op, unchanged_since);
        self.timed(StoreOp::StoreFlags, call)
    }

    fn expunge(
        &self,
        session: &Session,
        mailbox: &str,
        scope: ExpungeScope,
    ) -> impl Future<Output = Result<Expunged>> + Send {
        self.timed(
            StoreOp::Expunge,
            self.inner.expunge(session, mailbox, scope),
        )
    }

    fn copy(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> impl Future<Output = Result<Copied>> + Send {
        self.timed(StoreOp::Copy, self.inner.copy(session, from, uids, to))
    }

    fn move_messages(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> impl Future<Output = Result<Copied>> + Send {
        let call = self.inner.move_messages(session, from, uids, to);
        self.timed(StoreOp::MoveMessages, call)
    }

    fn changes_since(
        &self,
        session: &Session,
        mailbox: &str,
        since: u64,
    ) -> impl Future<Output = Result<Changes>> + Send {
        let call = self.inner.changes_since(session, mailbox, since);
        self.timed(StoreOp::ChangesSince, call)
    }

    fn take_recent(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Vec<Uid>>> + Send {
        self.timed(
            StoreOp::TakeRecent,
            self.inner.take_recent(session, mailbox),
        )
    }

    fn watch(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Subscription>> + Send {
        self.timed(StoreOp::Watch, self.inner.watch(session, mailbox))
    }

    fn watch_account(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<Subscription>> + Send {
        self.timed(StoreOp::Watch, self.inner.watch_account(session))
    }

    fn pop3_open(
        &self,
        session: &Session,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Maildrop>> + Send {
        self.timed(StoreOp::Pop3Open, self.inner.pop3_open(session, lease_for))
    }

    fn pop3_renew(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Pop3Lease>> + Send {
        let call = self.inner.pop3_renew(session, lease, lease_for);
        self.timed(StoreOp::Pop3Renew, call)
    }

    fn pop3_retrieve(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        uid: Uid,
        mark_seen: bool,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send {
        let call = self.inner.pop3_retrieve(session, lease, uid, mark_seen);
        self.timed(StoreOp::Pop3Retrieve, call)
    }

    fn pop3_commit(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> impl Future<Output = Result<Pop3Committed>> + Send {
        let call = self.inner.pop3_commit(session, lease, deleted);
        self.timed(StoreOp::Pop3Commit, call)
    }

    fn pop3_release(
        &self,
        session: &Session,
        lease: &Pop3Lease,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(
            StoreOp::Pop3Release,
            self.inner.pop3_release(session, lease),
        )
    }

    fn deliver(
        &self,
        message: Upload,
        recipients: &[Recipient],
    ) -> impl Future<Output = Vec<Result<Delivered>>> + Send {
        self.timed(StoreOp::Deliver, self.inner.deliver(message, recipients))
    }

    fn access_key(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Option<AccessKey>>> + Send {
        self.timed(StoreOp::AccessKey, self.inner.access_key(session, mailbox))
    }

    fn make_access_key(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<AccessKey>> + Send {
        self.timed(
            StoreOp::MakeAccessKey,
            self.inner.make_access_key(session, mailbox),
        )
    }

    fn reset_access_keys(
        &self,
        session: &Session,
        mailbox: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send {
        self.timed(
            StoreOp::ResetAccessKeys,
            self.inner.reset_access_keys(session, mailbox),
        )
    }
}

#[cfg(test)]
mod tests {
    use sansmail_store::memory::MemoryStore;

    use super::*;

    #[tokio::test]
    async fn every_call_is_timed_and_failures_counted() {
        let metrics = Metrics::new();
        let store = Instrumented::new(Arc::new(MemoryStore::new()), Arc::clone(&metrics));
        let alice = AccountName::try_from("alice").unwrap();
        store.create_account(&alice).await.unwrap();
        let session = Session::new(alice);
        store.status(&session, "INBOX").await.unwrap();
        assert!(store.status(&session, "Nope").await.is_err());
        assert_eq!(metrics.store_latency(StoreOp::CreateAccount).count(), 1);
        assert_eq!(metrics.store_latency(StoreOp::Status).count(), 2);
        let text = metrics.render();
        assert!(
            text.contains("sansmail_store_errors_total{op=\"status\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("sansmail_store_operation_seconds_count{op=\"status\"} 2\n"));
    }
}
