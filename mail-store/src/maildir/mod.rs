//! The embedded default backend: Maildir++ on disk, in the format other tools read, plus our
//! own index beside the messages.
//!
//! # Layout
//!
//! ```text
//! <root>/.spool/                   large uploads, linked into place on delivery
//! <root>/<account>/Maildir/        INBOX: cur/ new/ tmp/
//!     mailstore-index              our index snapshot (UIDs, modseqs, flags, keywords)
//!     mailstore-log                our journal since that snapshot
//!     mailstore-cache              ENVELOPE/BODYSTRUCTURE of each message
//!     mailstore-account            UIDVALIDITY counter and quota limits
//!     mailstore-subscriptions      subscribed names, one per line
//!     .Work.Sub/                   the mailbox "Work.Sub" (levels in modified UTF-7)
//!         maildirfolder cur/ new/ tmp/ mailstore-index mailstore-log mailstore-cache
//! ```
//!
//! The hierarchy delimiter is `.`, as in Dovecot's and Courier's Maildir++, so a name may not
//! contain `/` and a level may not start with `~`.
//!
//! # Durability
//!
//! A message is written to `tmp/`, fsynced and renamed into `cur/` (append) or `new/`
//! (delivery without flags); flags live in the file name as `:2,` and the letters `DFPRST`
//! in ASCII order (`P` is `$Forwarded`); other keywords live only in our index. Before a call
//! returns, the directories it changed are fsynced and its transaction is appended to the
//! journal and fsynced, so an acknowledged write survives a crash. The snapshot is rewritten
//! atomically (write, fsync, rename) when the journal grows.
//!
//! # Recovery and other programs
//!
//! Opening an account replays each mailbox's journal over its snapshot, removes stale `tmp/`
//! files, and compares the index with the directory: files not indexed (delivered by another
//! program, or written before a crash) get new UIDs, index entries whose file is gone are
//! expunged, and files renamed by another program change flags. The same comparison runs
//! before each operation when the mtime of `cur/` or `new/` moved, so deliveries by other
//! programs show up without a restart. Opening 100 000 messages reads the index and lists the
//! directories; it does not open message files.
//!
//! One store process serves an account at a time: it holds an exclusive lock on
//! `mailstore.lock` while the store lives. POP3 leases and change subscriptions are
//! therefore kept in memory. Operations on one account are serialised (one transaction at a
//! time per account); different accounts proceed in parallel on the executor.
//!
//! Interoperation: Dovecot (`mail_location = maildir:<root>/%u/Maildir`) reads a Maildir this
//! backend wrote, and this backend reads what Dovecot wrote, including its keyword letters
//! (`dovecot-keywords`), which are kept in sync when flags change. Dovecot shows no IMAP flag
//! for the `P` letter; keywords other than Dovecot's lettered ones live only in our index.
//!
//! # Threads
//!
//! The work is blocking file I/O. Each call runs on the store's [`Executor`] (by default a
//! pool of two threads of its own) and the returned future only waits for it, so calling the
//! store from an async runtime never blocks the runtime's threads. With tokio, hand it
//! tokio's blocking pool: `Executor::from_fn(|job| { tokio::task::spawn_blocking(job); })`.

mod disk;
mod index;
mod names;

use std::{path::PathBuf, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use self::disk::Disk;
use crate::{
    engine::{Backend, Engine},
    error::Result,
    exec::Executor,
    model::{
        AppendItem, Appended, Changes, Copied, Delivered, ExpungeScope, Expunged, FetchQuery,
        FetchedMessage, ListScope, MailboxInfo, Maildrop, Pop3Committed, Pop3Lease, QuotaLimits,
        QuotaReport, Recipient, Status, StoreResult,
    },
    notify::Subscription,
    store::MailStore,
    types::{AccountName, FlagOp, ModSeq, Session, SpecialUse, Uid, UidSet},
    upload::Upload,
};

/// Where a message's file is. Persisted in the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileRef {
    /// The file name, with its `:2,` info.
    #[serde(rename = "n")]
    file: String,
    /// In `new/` rather than `cur/`.
    #[serde(rename = "w", default, skip_serializing_if = "std::ops::Not::not")]
    new: bool,
    /// Offset of its structure in `mailstore-cache`.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    cache: Option<u64>,
}

/// Settings of a [`MaildirStore`].
#[derive(Debug, Clone)]
pub struct MaildirOptions {
    /// Fsync files and directories before acknowledging (default `true`). Turning it off
    /// trades durability for speed: only for tests and bulk imports.
    pub fsync: bool,
    /// `tmp/` files at least this old are removed when an account is opened (default 36
    /// hours, the Maildir convention; another program may be writing younger ones).
    pub stale_tmp_age: Duration,
    /// Where blocking work runs (default: a pool of two threads).
    pub executor: Executor,
}

impl Default for MaildirOptions {
    fn default() -> Self {
        Self {
            fsync: true,
            stale_tmp_age: Duration::from_secs(36 * 3600),
            executor: Executor::thread_pool(2),
        }
    }
}

/// The Maildir store. See the [module documentation](self).
pub struct MaildirStore {
    engine: Arc<Engine<Disk>>,
    exec: Executor,
}

impl std::fmt::Debug for MaildirStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaildirStore")
            .field("root", &self.engine.backend.root)
            .finish_non_exhaustive()
    }
}

impl MaildirStore {
    /// Opens (creating if needed) a store whose accounts live under `root`.
    pub fn open(root: impl Into<PathBuf>, options: MaildirOptions) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let exec = options.executor.clone();
        let disk = Disk::new(root, options);
        disk.clean_spool()?;
        Ok(Self {
            engine: Arc::new(Engine::new(disk, '.')),
            exec,
        })
    }

    /// The Maildir directory of an account (`<root>/<account>/Maildir`).
    pub fn maildir_path(&self, account: &AccountName) -> PathBuf {
        self.engine.backend.account_dir(account)
    }
}

/// Runs an engine call on the executor with owned copies of the arguments.
macro_rules! on_exec {
    ($self:ident, |$e:ident| $body:expr) => {{
        let $e = Arc::clone(&$self.engine);
        $self.exec.run(move || $body).await?
    }};
}

impl MailStore for MaildirStore {
    fn hierarchy_delimiter(&self) -> char {
        self.engine.delimiter()
    }
    fn upload(&self) -> Upload {
        self.engine.backend.upload()
    }
    async fn create_account(&self, account: &AccountName) -> Result<()> {
        let a = account.clone();
        on_exec!(self, |e| e.create_account(&a))
    }
    async fn account_exists(&self, account: &AccountName) -> Result<bool> {
        let a = account.clone();
        on_exec!(self, |e| e.account_exists(&a))
    }
    async fn set_quota(&self, account: &AccountName, limits: QuotaLimits) -> Result<()> {
        let a = account.clone();
        on_exec!(self, |e| e.set_quota(&a, limits))
    }
    async fn quota(&self, session: &Session) -> Result<QuotaReport> {
        let s = session.clone();
        on_exec!(self, |e| e.quota(&s))
    }
    async fn list(
        &self,
        session: &Session,
        pattern: &str,
        scope: ListScope,
    ) -> Result<Vec<MailboxInfo>> {
        let (s, p) = (session.clone(), pattern.to_owned());
        on_exec!(self, |e| e.list(&s, &p, scope))
    }
    async fn create_mailbox(
        &self,
        session: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        on_exec!(self, |e| e.create_mailbox(&s, &n, special_use))
    }
    async fn delete_mailbox(&self, session: &Session, name: &str) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        on_exec!(self, |e| e.delete_mailbox(&s, &n))
    }
    async fn rename_mailbox(&self, session: &Session, from: &str, to: &str) -> Result<()> {
        let (s, f, t) = (session.clone(), from.to_owned(), to.to_owned());
        on_exec!(self, |e| e.rename_mailbox(&s, &f, &t))
    }
    async fn subscribe(&self, session: &Session, name: &str) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        on_exec!(self, |e| e.subscribe(&s, &n, true))
    }
    async fn unsubscribe(&self, session: &Session, name: &str) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        on_exec!(self, |e| e.subscribe(&s, &n, false))
    }
    async fn status(&self, session: &Session, mailbox: &str) -> Result<Status> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        on_exec!(self, |e| e.status(&s, &m))
    }
    async fn append(
        &self,
        session: &Session,
        mailbox: &str,
        items: Vec<AppendItem>,
    ) -> Result<Appended> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        on_exec!(self, |e| e.append(&s, &m, items))
    }
    async fn fetch(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: FetchQuery,
    ) -> Result<Vec<FetchedMessage>> {
        let (s, m, u) = (session.clone(), mailbox.to_owned(), uids.clone());
        on_exec!(self, |e| e.fetch(&s, &m, &u, query))
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
        on_exec!(self, |e| e.store_flags(&s, &m, &u, &op, unchanged_since))
    }
    async fn expunge(
        &self,
        session: &Session,
        mailbox: &str,
        scope: ExpungeScope,
    ) -> Result<Expunged> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        on_exec!(self, |e| e.expunge(&s, &m, &scope))
    }
    async fn copy(&self, session: &Session, from: &str, uids: &UidSet, to: &str) -> Result<Copied> {
        let (s, f, u, t) = (
            session.clone(),
            from.to_owned(),
            uids.clone(),
            to.to_owned(),
        );
        on_exec!(self, |e| e.copy_or_move(&s, &f, &u, &t, false))
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
        on_exec!(self, |e| e.copy_or_move(&s, &f, &u, &t, true))
    }
    async fn changes_since(&self, session: &Session, mailbox: &str, since: u64) -> Result<Changes> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        on_exec!(self, |e| e.changes_since(&s, &m, since))
    }
    async fn take_recent(&self, session: &Session, mailbox: &str) -> Result<Vec<Uid>> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        on_exec!(self, |e| e.take_recent(&s, &m))
    }
    async fn watch(&self, session: &Session, mailbox: &str) -> Result<Subscription> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        on_exec!(self, |e| e.watch(&s, &m))
    }
    async fn pop3_open(&self, session: &Session, lease_for: Duration) -> Result<Maildrop> {
        let s = session.clone();
        on_exec!(self, |e| e.pop3_open(&s, lease_for))
    }
    async fn pop3_renew(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> Result<Pop3Lease> {
        let (s, l) = (session.clone(), lease.clone());
        on_exec!(self, |e| e.pop3_renew(&s, &l, lease_for))
    }
    async fn pop3_retrieve(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        uid: Uid,
        mark_seen: bool,
    ) -> Result<Vec<u8>> {
        let (s, l) = (session.clone(), lease.clone());
        on_exec!(self, |e| e.pop3_retrieve(&s, &l, uid, mark_seen))
    }
    async fn pop3_commit(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> Result<Pop3Committed> {
        let (s, l, d) = (session.clone(), lease.clone(), deleted.to_vec());
        on_exec!(self, |e| e.pop3_commit(&s, &l, &d))
    }
    async fn pop3_release(&self, session: &Session, lease: &Pop3Lease) -> Result<()> {
        let (s, l) = (session.clone(), lease.clone());
        on_exec!(self, |e| e.pop3_release(&s, &l))
    }
    async fn deliver(&self, message: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        let e = Arc::clone(&self.engine);
        let r = recipients.to_vec();
        let n = r.len();
        match self.exec.run(move || e.deliver(message, &r)).await {
            Ok(v) => v,
            Err(_) => (0..n).map(|_| Err(crate::StoreError::WorkerGone)).collect(),
        }
    }
}
