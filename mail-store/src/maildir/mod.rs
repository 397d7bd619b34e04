//! The embedded default backend: Maildir++ on disk, in the format other tools read, plus our
//! own index beside the messages.
//!
//! # Layout
//!
//! ```text
//! <root>/.spool/                   large uploads, linked into place on delivery, and the
//!                                  markers of deliveries to several mailboxes
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
//! Each mailbox has a journal (`mailstore-log`): every transaction is one line, written with
//! one `write` and one `fdatasync`, and that line is the moment the transaction happens. What
//! comes before it changes nothing a reader sees: a new message is written to `tmp/` and
//! fsynced (the Maildir rule), a flag change or a move only computes the new file name.
//! What comes after it carries the transaction out: staged messages are renamed into `cur/`
//! (append) or `new/` (delivery without flags), files are renamed for their flags (`:2,` and
//! the letters `DFPRST` in ASCII order, `P` being `$Forwarded`; other keywords live only in
//! our index), moved to another folder, or removed. So a call that fails changed nothing,
//! and a call that returned is durable; a COPY, MOVE, multi-APPEND, STORE, EXPUNGE or POP3
//! QUIT is whole or not at all, also when the process dies in the middle of it (recovery
//! carries out every transaction of each journal again). File names are never reused (a
//! copy or a move gets a new one), which makes carrying a transaction out twice harmless.
//!
//! What a transaction waits for is therefore one journal write: messages are written and
//! fsynced in `tmp/` before the account's lock is taken, the commit fsyncs `tmp/` once for
//! the whole group of arrivals it writes (before its journal line), and the renames that
//! follow the journal line are fsynced only before the journal is folded into a new
//! snapshot. An APPEND costs the message's fsync and its share of one `tmp/` fsync and one
//! `fdatasync`; a STORE or EXPUNGE its share of the `fdatasync` alone, whatever the size of
//! the mailbox. The journal is written outside the lock the accounts share, so one
//! account's `fdatasync` holds up no other.
//!
//! # A full disk
//!
//! The journal keeps room written in advance (zeros after its last line,
//! [`MaildirOptions::journal_reserve`]), which a transaction overwrites in place: on a full
//! disk (on ext4, XFS or tmpfs; a copy-on-write file system needs space for any write)
//! flagging messages `\Deleted`, expunging them, moving them to Trash and the POP3 commit
//! still work, and free space; changes other than deleting leave half of the room unused.
//! Writes that need new space fail with [`StoreError::NoSpace`](crate::StoreError::NoSpace)
//! and leave nothing behind. Opening an account writes nothing it needs before it can serve:
//! on a full disk the store opens, serves what it holds, and records what recovery found as
//! soon as the journal takes it. The snapshot is rewritten atomically (write, fsync, rename)
//! when the journal grows, and again later if the disk was full.
//!
//! # Recovery and other programs
//!
//! Opening an account replays each mailbox's journal over its snapshot, carries out each
//! journal's last transaction, removes what crashes left (our own `tmp/` files at once,
//! other programs' after 36 hours, half-written index files, half-deleted folders), and
//! compares the index with the directory: files not indexed (delivered by another program)
//! get new UIDs, index entries whose file is gone are expunged, and files renamed by another
//! program change flags. The same comparison runs before each operation when the mtime of
//! `cur/` or `new/` moved, so deliveries by other programs show up without a restart.
//! Opening 100 000 messages reads the index and lists the directories; it does not open
//! message files.
//!
//! One store process serves an account at a time: it holds an exclusive lock on
//! `mailstore.lock` while the store lives. POP3 leases and change subscriptions are
//! therefore kept in memory. Operations on one account are serialised (one transaction at a
//! time per account); different accounts proceed in parallel on the executor, and loading
//! one account from disk holds up no other.
//!
//! An account stays loaded once used, with its lock file and each of its mailboxes'
//! journals open: a process needs about one descriptor per mailbox in use beside those of
//! its connections, so a server raises its soft limit on open files (`RLIMIT_NOFILE`; the
//! example server does so at start, to the hard limit).
//!
//! Interoperation: Dovecot (`mail_location = maildir:<root>/%u/Maildir`) reads a Maildir this
//! backend wrote, and this backend reads what Dovecot wrote, including its keyword letters
//! (`dovecot-keywords`), which are kept in sync when flags change. Dovecot shows no IMAP flag
//! for the `P` letter; keywords other than Dovecot's lettered ones live only in our index.
//! A folder first opened here without an index of ours keeps the UIDVALIDITY, UIDs and
//! UIDNEXT Dovecot or Courier gave it (`dovecot-uidlist`, `courierimapuiddb`), and an
//! account without subscriptions of ours takes theirs (`subscriptions`,
//! `courierimapsubscribed`): moving a Maildir here renumbers nothing. Files another program
//! adds later get UIDs of ours.
//!
//! # Threads
//!
//! The work is blocking file I/O. Each call runs on the store's [`Executor`] (by default a
//! pool of threads of its own, sixteen and more while calls wait, up to 256) and the returned
//! future only waits for it, so calling the store from an async runtime never blocks the
//! runtime's threads. With tokio, hand it
//! tokio's blocking pool: `Executor::from_fn(|job| { tokio::task::spawn_blocking(job); })`.

mod access_key;
mod delivery;
mod disk;
mod dovecot;
mod files;
mod index;
mod journal;
mod names;
mod range;
mod recovery;
mod redo;
// Also tests/disk_full.rs's, which uses all of it.
#[cfg(test)]
#[allow(dead_code)]
mod tmpfs;
#[cfg(test)]
mod unload;

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
    /// Stored octet for octet (binary content, [`Upload::keep_line_ends`]): read as it is,
    /// where files other programs write are read with bare LFs as CRLF.
    ///
    /// [`Upload::keep_line_ends`]: crate::Upload::keep_line_ends
    #[serde(rename = "r", default, skip_serializing_if = "std::ops::Not::not")]
    raw: bool,
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
    /// Where blocking work runs (default: a pool of sixteen threads, so that one account's
    /// fsync does not hold up the others, and the changes that sessions send one account
    /// while it is busy wait together and are committed as a group; it starts more threads,
    /// up to 256, while jobs wait and no thread is idle, so that the calls waiting for one
    /// busy account do not leave the others without a thread).
    pub executor: Executor,
    /// Octets of each mailbox's journal written in advance (default 256 KiB), so that on a
    /// full disk messages can still be flagged `\Deleted`, expunged, moved and deleted over
    /// POP3: about 500 messages flagged and expunged at a time (a record takes 100 to 300
    /// octets; a larger change is refused whole with [`StoreError::Limit`]). Other changes
    /// leave half of it unused. It costs that much disk per mailbox. `0` keeps no room: on
    /// a full disk every change then fails with [`StoreError::NoSpace`].
    ///
    /// [`StoreError::Limit`]: crate::StoreError::Limit
    /// [`StoreError::NoSpace`]: crate::StoreError::NoSpace
    pub journal_reserve: u64,
    /// Accounts kept loaded (default 1024): each holds its index in memory, a descriptor per
    /// mailbox (its journal) and one for its lock, so the process needs a few descriptors
    /// per account on top of those of its connections. Past it, those no call is using and
    /// no POP3 session holds are unloaded, least recently used first, their lock released
    /// (loaded again from their snapshots and journals when next used). Accounts in use are
    /// never unloaded, so more may be loaded for a while (a delivery to many recipients
    /// holds them all). Keep it above the number of accounts with sessions open at once, or
    /// their accounts are loaded over and over.
    pub max_loaded_accounts: usize,
    /// Expunges each mailbox remembers with the modseq they happened at (default 16,384;
    /// 16 octets each in memory and in its snapshot). QRESYNC asks which messages were
    /// expunged since a modseq; past this many, the oldest are let go of, and a question
    /// about a modseq before the remembered ones is answered with every UID below UIDNEXT
    /// that is not in the mailbox, as Dovecot does once its transaction log has rotated.
    /// (Versions before this option read a trimmed history as complete: after a downgrade
    /// they may leave out expunges older than it when a client resynchronises.)
    pub expunge_history: usize,
}

impl Default for MaildirOptions {
    fn default() -> Self {
        Self {
            fsync: true,
            stale_tmp_age: Duration::from_secs(36 * 3600),
            executor: Executor::growing_pool(16, 256, Duration::from_secs(10)),
            journal_reserve: 256 * 1024,
            max_loaded_accounts: 1024,
            expunge_history: crate::engine::DEFAULT_EXPUNGE_HISTORY,
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
