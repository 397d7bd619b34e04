//! The [`MailStore`](crate::MailStore) implementation of the public store types, written once.
//!
//! A public store type ([`MemoryStore`](crate::memory::MemoryStore),
//! [`MaildirStore`](crate::maildir::MaildirStore)) wraps a [`Handle`]: the engine over its
//! backend, and where the engine's blocking calls run. [`impl_mail_store!`] then implements
//! the trait for it by running each method's engine call through the handle. It is a macro
//! because the trait must be implemented on each public type itself (so each one's
//! documentation lists it), while the implementation is the same for every backend.

use std::sync::Arc;

use super::{Backend, Engine};
use crate::{
    error::{Result, StoreError},
    exec::Executor,
    model::{Delivered, Recipient},
    upload::Upload,
};

/// An engine and where its calls run.
pub(crate) struct Handle<B: Backend> {
    pub engine: Arc<Engine<B>>,
    /// `None`: on the task that polls the call's future, for a backend that does no
    /// blocking I/O.
    exec: Option<Executor>,
}

impl<B: Backend> Handle<B> {
    /// Calls run on `exec`, or on the polling task if it is `None`.
    pub fn new(engine: Engine<B>, exec: Option<Executor>) -> Self {
        Self {
            engine: Arc::new(engine),
            exec,
        }
    }

    /// The hierarchy delimiter of mailbox names.
    pub fn delimiter(&self) -> char {
        self.engine.delimiter()
    }

    /// The executor calls run on, if any.
    pub fn executor(&self) -> Option<crate::exec::Executor> {
        self.exec.clone()
    }

    /// A new upload in the backend's spool.
    pub fn upload(&self) -> Upload {
        self.engine.backend.upload()
    }

    /// Runs one engine call. It owns what it uses, since it may run on another thread.
    pub async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Engine<B>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run_raw(call).await?
    }

    /// Delivers through the engine: one result per recipient, each an error if the executor
    /// dropped the call.
    pub async fn deliver(
        &self,
        message: Upload,
        recipients: &[Recipient],
    ) -> Vec<Result<Delivered>> {
        let recipients = recipients.to_vec();
        let n = recipients.len();
        match self.run_raw(move |e| e.deliver(message, &recipients)).await {
            Ok(results) => results,
            Err(_) => (0..n).map(|_| Err(StoreError::WorkerGone)).collect(),
        }
    }

    /// Runs `call`; `Err` only if the executor dropped it unrun.
    async fn run_raw<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Engine<B>) -> T + Send + 'static,
    ) -> Result<T> {
        match &self.exec {
            None => Ok(call(&self.engine)),
            Some(exec) => {
                let engine = Arc::clone(&self.engine);
                exec.run(move || call(&engine)).await
            }
        }
    }
}

/// Implements [`MailStore`](crate::MailStore) for `$store`, whose field `$handle` is a
/// [`Handle`]: each method copies its borrowed arguments and runs the engine's call of the
/// same name (`search` keeps the trait's default scan).
macro_rules! impl_mail_store {
    ($store:ty, $handle:ident) => {
        // An anonymous const scopes the imports to the impl.
        const _: () = {
            use std::time::Duration;

            use $crate::{
                error::Result,
                model::{
                    AppendItem, Appended, Changes, Copied, Delivered, ExpungeScope, Expunged,
                    FetchQuery, FetchedMessage, ListScope, MailboxInfo, Maildrop, Pop3Committed,
                    Pop3Lease, QuotaLimits, QuotaReport, Recipient, Status, StoreResult,
                },
                notify::Subscription,
                reader::MessageReader,
                store::MailStore,
                types::{AccountName, FlagOp, ModSeq, Session, SpecialUse, Uid, UidSet},
                upload::Upload,
            };

            impl MailStore for $store {
                fn hierarchy_delimiter(&self) -> char {
                    self.$handle.delimiter()
                }

                fn changed_from_outside(&self) -> bool {
                    $crate::engine::Backend::changed_from_outside(&self.$handle.engine.backend)
                }

                fn upload(&self) -> Upload {
                    self.$handle.upload()
                }

                async fn create_account(&self, account: &AccountName) -> Result<()> {
                    let a = account.clone();
                    self.$handle.run(move |e| e.create_account(&a)).await
                }

                async fn account_exists(&self, account: &AccountName) -> Result<bool> {
                    let a = account.clone();
                    self.$handle.run(move |e| e.account_exists(&a)).await
                }

                async fn set_quota(
                    &self,
                    account: &AccountName,
                    limits: QuotaLimits,
                ) -> Result<()> {
                    let a = account.clone();
                    self.$handle.run(move |e| e.set_quota(&a, limits)).await
                }

                async fn quota(&self, session: &Session) -> Result<QuotaReport> {
                    let s = session.clone();
                    self.$handle.run(move |e| e.quota(&s)).await
                }

                async fn check_quota(
                    &self,
                    session: &Session,
                    octets: u64,
                    messages: u64,
                ) -> Result<()> {
                    let s = session.clone();
                    self.$handle
                        .run(move |e| e.check_quota(&s, octets, messages))
                        .await
                }

                async fn list(
                    &self,
                    session: &Session,
                    pattern: &str,
                    scope: ListScope,
                ) -> Result<Vec<MailboxInfo>> {
                    let (s, p) = (session.clone(), pattern.to_owned());
                    self.$handle.run(move |e| e.list(&s, &p, scope)).await
                }

                async fn create_mailbox(
                    &self,
                    session: &Session,
                    name: &str,
                    special_use: Option<SpecialUse>,
                ) -> Result<()> {
                    let (s, n) = (session.clone(), name.to_owned());
                    self.$handle
                        .run(move |e| e.create_mailbox(&s, &n, special_use))
                        .await
                }

                async fn delete_mailbox(&self, session: &Session, name: &str) -> Result<()> {
                    let (s, n) = (session.clone(), name.to_owned());
                    self.$handle.run(move |e| e.delete_mailbox(&s, &n)).await
                }

                async fn rename_mailbox(
                    &self,
                    session: &Session,
                    from: &str,
                    to: &str,
                ) -> Result<()> {
                    let (s, f, t) = (session.clone(), from.to_owned(), to.to_owned());
                    self.$handle
                        .run(move |e| e.rename_mailbox(&s, &f, &t))
                        .await
                }

                async fn subscribe(&self, session: &Session, name: &str) -> Result<()> {
                    let (s, n) = (session.clone(), name.to_owned());
                    self.$handle.run(move |e| e.subscribe(&s, &n, true)).await
                }

                async fn unsubscribe(&self, session: &Session, name: &str) -> Result<()> {
                    let (s, n) = (session.clone(), name.to_owned());
                    self.$handle.run(move |e| e.subscribe(&s, &n, false)).await
                }

                async fn status(&self, session: &Session, mailbox: &str) -> Result<Status> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.status(&s, &m)).await
                }

                async fn append(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    items: Vec<AppendItem>,
                ) -> Result<Appended> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.append(&s, &m, items)).await
                }

                async fn fetch(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    uids: &UidSet,
                    query: FetchQuery,
                ) -> Result<Vec<FetchedMessage>> {
                    let (s, m, u) = (session.clone(), mailbox.to_owned(), uids.clone());
                    self.$handle.run(move |e| e.fetch(&s, &m, &u, query)).await
                }

                async fn read_range(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    uid: Uid,
                    offset: u64,
                    len: usize,
                ) -> Result<Vec<u8>> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle
                        .run(move |e| e.read_range(&s, &m, uid, offset, len))
                        .await
                }

                async fn open_message(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    uid: Uid,
                ) -> Result<MessageReader> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    let (source, size) = self
                        .$handle
                        .run(move |e| e.open_message(&s, &m, uid))
                        .await?;
                    Ok(MessageReader::new(size, source, self.$handle.executor()))
                }

                async fn store_flags(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    uids: &UidSet,
                    op: FlagOp,
                    unchanged_since: Option<ModSeq>,
                ) -> Result<StoreResult> {
                    let (s, m, u) = (session.clone(), mailbox.to_owned(), uids.clone());
                    self.$handle
                        .run(move |e| e.store_flags(&s, &m, &u, &op, unchanged_since))
                        .await
                }

                async fn expunge(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    scope: ExpungeScope,
                ) -> Result<Expunged> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.expunge(&s, &m, &scope)).await
                }

                async fn copy(
                    &self,
                    session: &Session,
                    from: &str,
                    uids: &UidSet,
                    to: &str,
                ) -> Result<Copied> {
                    let (s, f, u, t) = (
                        session.clone(),
                        from.to_owned(),
                        uids.clone(),
                        to.to_owned(),
                    );
                    self.$handle
                        .run(move |e| e.copy_or_move(&s, &f, &u, &t, false))
                        .await
                }

                async fn move_messages(
                    &self,
                    session: &Session,
                    from: &str,
                    uids: &UidSet,
                    to: &str,
                ) -> Result<Copied> {
                    let (s, f, u, t) = (
                        session.clone(),
                        from.to_owned(),
                        uids.clone(),
                        to.to_owned(),
                    );
                    self.$handle
                        .run(move |e| e.copy_or_move(&s, &f, &u, &t, true))
                        .await
                }

                async fn changes_since(
                    &self,
                    session: &Session,
                    mailbox: &str,
                    since: u64,
                ) -> Result<Changes> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle
                        .run(move |e| e.changes_since(&s, &m, since))
                        .await
                }

                async fn take_recent(&self, session: &Session, mailbox: &str) -> Result<Vec<Uid>> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.take_recent(&s, &m)).await
                }

                async fn watch(&self, session: &Session, mailbox: &str) -> Result<Subscription> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.watch(&s, &m)).await
                }

                async fn watch_account(&self, session: &Session) -> Result<Subscription> {
                    let s = session.clone();
                    self.$handle.run(move |e| e.watch_account(&s)).await
                }

                async fn pop3_open(
                    &self,
                    session: &Session,
                    lease_for: Duration,
                ) -> Result<Maildrop> {
                    let s = session.clone();
                    self.$handle.run(move |e| e.pop3_open(&s, lease_for)).await
                }

                async fn pop3_renew(
                    &self,
                    session: &Session,
                    lease: &Pop3Lease,
                    lease_for: Duration,
                ) -> Result<Pop3Lease> {
                    let (s, l) = (session.clone(), lease.clone());
                    self.$handle
                        .run(move |e| e.pop3_renew(&s, &l, lease_for))
                        .await
                }

                async fn pop3_retrieve(
                    &self,
                    session: &Session,
                    lease: &Pop3Lease,
                    uid: Uid,
                    mark_seen: bool,
                ) -> Result<Vec<u8>> {
                    let (s, l) = (session.clone(), lease.clone());
                    self.$handle
                        .run(move |e| e.pop3_retrieve(&s, &l, uid, mark_seen))
                        .await
                }

                async fn pop3_commit(
                    &self,
                    session: &Session,
                    lease: &Pop3Lease,
                    deleted: &[Uid],
                ) -> Result<Pop3Committed> {
                    let (s, l, d) = (session.clone(), lease.clone(), deleted.to_vec());
                    self.$handle.run(move |e| e.pop3_commit(&s, &l, &d)).await
                }

                async fn pop3_release(&self, session: &Session, lease: &Pop3Lease) -> Result<()> {
                    let (s, l) = (session.clone(), lease.clone());
                    self.$handle.run(move |e| e.pop3_release(&s, &l)).await
                }

                async fn deliver(
                    &self,
                    message: Upload,
                    recipients: &[Recipient],
                ) -> Vec<Result<Delivered>> {
                    self.$handle.deliver(message, recipients).await
                }

                async fn access_key(
                    &self,
                    session: &Session,
                    mailbox: &str,
                ) -> Result<Option<$crate::AccessKey>> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.access_key(&s, &m)).await
                }

                async fn make_access_key(
                    &self,
                    session: &Session,
                    mailbox: &str,
                ) -> Result<$crate::AccessKey> {
                    let (s, m) = (session.clone(), mailbox.to_owned());
                    self.$handle.run(move |e| e.make_access_key(&s, &m)).await
                }

                async fn reset_access_keys(
                    &self,
                    session: &Session,
                    mailbox: Option<&str>,
                ) -> Result<()> {
                    let (s, m) = (session.clone(), mailbox.map(str::to_owned));
                    self.$handle
                        .run(move |e| e.reset_access_keys(&s, m.as_deref()))
                        .await
                }
            }
        };
    };
}

pub(crate) use impl_mail_store;
