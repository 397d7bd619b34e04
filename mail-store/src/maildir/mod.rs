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
mod files;
mod index;
mod names;
mod recovery;

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use self::disk::Disk;
use crate::{
    engine::{Engine, Handle, impl_mail_store},
    error::Result,
    exec::Executor,
    types::AccountName,
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
    handle: Handle<Disk>,
}

impl std::fmt::Debug for MaildirStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaildirStore")
            .field("root", &self.handle.engine.backend.root)
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
            handle: Handle::new(Engine::new(disk, '.'), Some(exec)),
        })
    }

    /// The Maildir directory of an account (`<root>/<account>/Maildir`).
    pub fn maildir_path(&self, account: &AccountName) -> PathBuf {
        self.handle.engine.backend.account_dir(account)
    }
}

impl_mail_store!(MaildirStore, handle);
