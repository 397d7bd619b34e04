//! The Maildir backend: [`Disk`], its per-mailbox journal state and account locks, and the
//! engine's persistence contract over Maildir directories. Opening a mailbox (recovery),
//! message files, the journal and carrying out transactions have their own modules.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use super::{
    FileRef, MaildirOptions, access_key,
    delivery::MARK_EXT,
    dovecot,
    index::{self, sync_dir, write_atomic},
    journal::{self, Journal},
    names::{dovecot_keywords, dovecot_letters, folder_dir, info_for, info_matches, split_info},
    redo::Redo,
};
use crate::{
    access_key::AccessKey,
    engine::{
        AccountMeta, Arrival, Backend, DeliveryMark, Header, Loaded, MailboxState, MessageMeta,
        Part, Purpose, Record, lock, to_crlf,
    },
    error::{Result, StoreError},
    mime::MimeInfo,
    types::{AccountName, Flags},
    upload::{Upload, is_own_name, unique_name},
};

const ACCOUNT_META: &str = "mailstore-account";
const SUBSCRIPTIONS: &str = "mailstore-subscriptions";
const LOCK: &str = "mailstore.lock";
/// A deleted folder on its way out (renamed, then removed).
pub(super) const DELETED_PREFIX: &str = "..deleted-";
/// Journal transactions before the snapshot is rewritten.
pub(super) const COMPACT_AFTER: usize = 2000;

/// Journal lines after a compaction that failed (a full disk) before it is tried again.
const COMPACT_RETRY: usize = 200;
/// How long opening an account waits for its lock before it is taken as held by another
/// store.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a mailbox without a journal waits before trying to write one again.
const NO_JOURNAL_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Per-mailbox runtime state.
pub(super) struct Runtime {
    /// The journal; `None` while the mailbox has none for its snapshot (the disk was full
    /// when it was opened): changes fail with [`StoreError::NoSpace`] until one is written.
    pub(super) log: Option<Journal>,
    pub(super) generation: u64,
    pub(super) log_lines: usize,
    /// mtimes of `cur/` and `new/` when we last looked.
    pub(super) mtimes: Option<(SystemTime, SystemTime)>,
    /// Changes other programs made, applied but not yet in the journal (it was full): one
    /// line, written first at the next commit, its records each with their own modseq. Recovery finds the same changes again
    /// if the process ends before.
    pub(super) pending: Vec<Record<FileRef>>,
    /// Journal lines before compaction is tried again.
    pub(super) compact_at: usize,
    /// When a mailbox without a journal tries to write one again (after a full disk).
    pub(super) retry_at: Option<SystemTime>,
}

impl Runtime {
    pub(super) fn new(generation: u64) -> Self {
        Self {
            log: None,
            generation,
            log_lines: 0,
            mtimes: None,
            pending: Vec::new(),
            compact_at: 0,
            retry_at: None,
        }
    }
}

/// A mailbox's part of a transaction whose file steps failed.
type Unfinished = (String, Vec<Record<FileRef>>);

/// The Maildir backend: accounts live under `root`.
pub(crate) struct Disk {
    pub root: PathBuf,
    pub opts: MaildirOptions,
    pub(super) rt: Mutex<HashMap<(AccountName, String), Runtime>>,
    locks: Mutex<HashMap<AccountName, File>>,
    /// Directories changed since their last fsync, by account.
    pub(super) unsynced: Mutex<HashMap<AccountName, HashSet<PathBuf>>>,
    /// Per `tmp/` directory: whether it holds staged entries not yet fsynced.
    pub(super) staged: StagedDirs,
    /// By account: transactions in the journal whose file steps failed (a read-only or
    /// failing disk), by mailbox. Until they are carried out no directory of the account is
    /// scanned (the scan would take the files as they are for changes and undo what the
    /// client was told is done) and no journal is compacted (recovery must find them).
    unfinished: Mutex<HashMap<AccountName, Vec<Unfinished>>>,
    /// Called by a commit between taking its mailboxes' runtimes and writing their journals
    /// (tests hold one there).
    #[cfg(test)]
    pub(super) commit_hook: Mutex<Option<TestHook>>,
    /// Called when an account starts loading (tests hold one there).
    #[cfg(test)]
    pub(super) load_hook: Mutex<Option<TestHook>>,
    /// Called before a message's octets are read (tests hold one there).
    #[cfg(test)]
    pub(super) read_hook: Mutex<Option<TestHook>>,
}

#[cfg(test)]
pub(super) type TestHook = Arc<dyn Fn(&AccountName) + Send + Sync>;

/// Calls the hook a test set, if any, outside its lock (the hook may block).
#[cfg(test)]
fn call_hook(hook: &Mutex<Option<TestHook>>, a: &AccountName) {
    let hook = lock(hook).clone();
    if let Some(hook) = hook {
        hook(a);
    }
}

/// Each `tmp/` directory's "staged since its last fsync", behind a lock of its own that is
/// held through the fsync: one fsync serves every session that staged before it started,
/// and no session takes a staged entry as durable while that fsync runs.
pub(super) type StagedDirs = Mutex<HashMap<PathBuf, Arc<Mutex<bool>>>>;

/// The runtimes of some mailboxes of one account, out of the map that every account shares
/// while a call that holds the account's lock (under which alone they are used) works with
/// them, so that its I/O (a journal's fdatasync, a compaction) holds up no other account.
/// They go back when it is dropped.
pub(super) struct Taken<'a> {
    disk: &'a Disk,
    account: &'a AccountName,
    list: Vec<(String, Runtime)>,
}

impl<'a> Taken<'a> {
    /// Takes the runtimes of `mailboxes`, or none: a mailbox without one (or named twice)
    /// is [`StoreError::NoSuchMailbox`].
    pub(super) fn new<'m>(
        disk: &'a Disk,
        account: &'a AccountName,
        mailboxes: impl IntoIterator<Item = &'m str>,
    ) -> Result<Self> {
        let mut taken = Taken {
            disk,
            account,
            list: Vec::new(),
        };
        let mut rt = lock(&disk.rt);
        for mailbox in mailboxes {
            match rt.remove(&(account.clone(), mailbox.to_owned())) {
                Some(r) => taken.list.push((mailbox.to_owned(), r)),
                None => {
                    drop(rt);
                    return Err(StoreError::NoSuchMailbox(mailbox.to_owned()));
                }
            }
        }
        Ok(taken)
    }

    /// The runtimes, in the order their mailboxes were named.
    pub(super) fn runtimes(&mut self) -> impl Iterator<Item = &mut Runtime> {
        self.list.iter_mut().map(|(_, r)| r)
    }
}

impl Disk {
    /// `f` on the runtime of one mailbox, taken out of the shared map ([`Taken`]); `None`
    /// when the mailbox has none.
    fn with_runtime<T>(
        &self,
        a: &AccountName,
        mailbox: &str,
        f: impl FnOnce(&mut Runtime) -> T,
    ) -> Option<T> {
        let mut taken = Taken::new(self, a, [mailbox]).ok()?;
        taken.runtimes().next().map(f)
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut rt = lock(&self.disk.rt);
        for (mailbox, r) in self.list.drain(..) {
            rt.insert((self.account.clone(), mailbox), r);
        }
    }
}

/// The `:2,` info of a message copied or moved into the folder at `ddir`, from its file
/// name `file` in the folder it comes from. Lowercase letters are indices into that
/// folder's `dovecot-keywords`, each folder having its own: they are not carried over but
/// worked out again from the keywords through the destination's file.
fn carried_info(ddir: &Path, flags: &Flags, file: &str) -> String {
    let others: String = split_info(file)
        .1
        .chars()
        .filter(|c| !c.is_ascii_lowercase())
        .collect();
    info_in(ddir, flags, &others)
}

/// The `:2,` info for `flags` in the folder at `dir`, keeping `letters` of other programs
/// and naming keywords by that folder's `dovecot-keywords`.
fn info_in(dir: &Path, flags: &Flags, letters: &str) -> String {
    // Dovecot's keyword letters are lowercase: without any, and without keywords to set,
    // its keyword file (read at every call) changes nothing.
    let keywords =
        if !flags.keywords().is_empty() || letters.bytes().any(|b| b.is_ascii_lowercase()) {
            dovecot_keywords(dir)
        } else {
            Vec::new()
        };
    info_for(flags, &dovecot_letters(&keywords, flags, letters))
}

pub(super) fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// The mtimes of `cur/` and `new/`: when they move, another program changed the mailbox.
pub(super) fn mtimes(dir: &Path) -> Option<(SystemTime, SystemTime)> {
    let c = fs::metadata(dir.join("cur")).ok()?.modified().ok()?;
    let n = fs::metadata(dir.join("new")).ok()?.modified().ok()?;
    Some((c, n))
}

impl Disk {
    pub fn new(root: PathBuf, opts: MaildirOptions) -> Self {
        Self {
            root,
            opts,
            rt: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
            unsynced: Mutex::new(HashMap::new()),
            staged: Mutex::new(HashMap::new()),
            unfinished: Mutex::new(HashMap::new()),
            #[cfg(test)]
            commit_hook: Mutex::new(None),
            #[cfg(test)]
            load_hook: Mutex::new(None),
            #[cfg(test)]
            read_hook: Mutex::new(None),
        }
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.root.join(".spool")
    }

    pub fn account_dir(&self, a: &AccountName) -> PathBuf {
        self.root.join(a.as_str()).join("Maildir")
    }

    pub(super) fn mailbox_dir(&self, a: &AccountName, name: &str) -> PathBuf {
        let d = folder_dir(name);
        if d.is_empty() {
            self.account_dir(a)
        } else {
            self.account_dir(a).join(d)
        }
    }

    pub(super) fn durable(&self) -> bool {
        self.opts.fsync
    }

    /// Takes the per-account process lock: one process serves an account's Maildir.
    ///
    /// The map of held locks is not held while waiting for another process's lock, so that a
    /// contended account holds up no other account's load. (The engine loads an account once
    /// at a time, so no two calls wait for the same one.)
    fn lock_account(&self, a: &AccountName) -> Result<()> {
        if lock(&self.locks).contains_key(a) {
            return Ok(());
        }
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.account_dir(a).join(LOCK))?;
        // A lock can outlive its store for a moment: a child process forked by another
        // thread holds a copy of the descriptor until it execs. A store that really holds
        // it still does after this wait.
        let deadline = SystemTime::now() + LOCK_WAIT;
        loop {
            match f.try_lock() {
                Ok(()) => {
                    lock(&self.locks).entry(a.clone()).or_insert(f);
                    return Ok(());
                }
                Err(fs::TryLockError::WouldBlock) if SystemTime::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Io(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "the account's Maildir is in use by another store",
                    )));
                }
                Err(fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        }
    }

    /// Removes abandoned files from a `tmp/` directory: ours at once (one store serves an
    /// account at a time, so a file of ours there was left by a crash), other programs'
    /// after the configured age (the Maildir rule: they may still be writing them). Other
    /// programs use our form of name too (Python's `mailbox.Maildir`): one made on another
    /// host (a shared file system), or whose process still runs and is not this one, is
    /// theirs.
    pub(super) fn clean_tmp(&self, dir: &Path) {
        self.clean_dir(dir, |name| {
            crate::upload::from_this_host(name)
                && own_pid(name).is_none_or(|pid| pid == std::process::id() || !process_alive(pid))
        });
    }

    /// Removes abandoned files from `dir`: those `ours` accepts among our own names at once,
    /// the others after the configured age.
    fn clean_dir(&self, dir: &Path, ours: impl Fn(&str) -> bool) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let now = SystemTime::now();
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if (is_own_name(&name) && ours(&name)) || age >= self.opts.stale_tmp_age {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// Creates the spool and removes what it holds of processes that are gone.
    pub fn clean_spool(&self) -> io::Result<()> {
        fs::create_dir_all(self.spool_dir())?;
        // Several stores may share a root (one account each): only a spool file whose
        // process is gone is abandoned.
        // Delivery markers are settled when the accounts open (or go after 36 hours).
        self.clean_dir(&self.spool_dir(), |name| {
            Path::new(name).extension().is_none_or(|x| x != MARK_EXT)
                && own_pid(name).is_some_and(|pid| pid != std::process::id() && !process_alive(pid))
        });
        Ok(())
    }

    fn staged_flag(&self, tmp: &Path) -> Arc<Mutex<bool>> {
        Arc::clone(lock(&self.staged).entry(tmp.to_owned()).or_default())
    }

    /// Notes a new entry, written and fsynced, in the `tmp/` directory `tmp`.
    pub(super) fn note_staged(&self, tmp: &Path) {
        if self.durable() {
            *lock(&self.staged_flag(tmp)) = true;
        }
    }

    pub(super) fn ensure_dirs(dir: &Path) -> io::Result<()> {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(())
    }
}

/// The process id in one of our file names (`<secs>.M<micros>P<pid>Q<n>.<host>`).
fn own_pid(name: &str) -> Option<u32> {
    let rest = &name[name.find('P')? + 1..];
    rest[..rest.find('Q')?].parse().ok()
}

/// Whether process `pid` runs (on Linux, where `/proc` tells); elsewhere assumed.
fn process_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if not_found(&e) => Ok(T::default()),
        Err(e) => Err(e.into()),
    }
}

impl Backend for Disk {
    type Blob = FileRef;

    fn check_name(&self, name: &str) -> Result<()> {
        if name.contains('/') {
            return Err(StoreError::InvalidName(
                "'/' cannot appear in a Maildir folder name",
            ));
        }
        if name.split('.').any(|l| l.starts_with('~')) {
            return Err(StoreError::InvalidName(
                "a Maildir folder level cannot start with '~'",
            ));
        }
        if folder_dir(name).len() > 250 {
            return Err(StoreError::InvalidName(
                "mailbox name too long for a file name",
            ));
        }
        Ok(())
    }

    fn upload(&self) -> Upload {
        Upload::spilling_to(self.spool_dir())
    }

    fn load_account(&self, a: &AccountName) -> Result<Option<Loaded<FileRef>>> {
        let dir = self.account_dir(a);
        // An account is there once made: its record, or the cur/ of a Maildir another
        // program made. A cur/ removed since (by hand, by a clean-up) is made again when
        // INBOX is read; taking the account for absent would create it over its mail.
        if !dir.join(ACCOUNT_META).is_file() && !dir.join("cur").is_dir() {
            return Ok(None);
        }
        #[cfg(test)]
        call_hook(&self.load_hook, a);
        self.lock_account(a)?;
        // Copies of deliveries a crash interrupted go in place before tmp/ is cleaned.
        self.finish_deliveries(a);
        let mut meta: AccountMeta = read_json(&dir.join(ACCOUNT_META))?;
        let before = meta.clone();
        let mailboxes = self.load_mailboxes(a, &mut meta)?;
        for (_, m) in &mailboxes {
            meta.last_uidvalidity = meta.last_uidvalidity.max(m.header.uidvalidity.get());
        }
        if meta != before {
            // On a full disk the account still opens: the counter is also kept in each
            // mailbox's index, and the next change of the account's values writes it.
            match self.save_meta(a, &meta) {
                Ok(()) | Err(StoreError::NoSpace) => {}
                Err(e) => return Err(e),
            }
        }
        let subscriptions: BTreeSet<String> = match fs::read_to_string(dir.join(SUBSCRIPTIONS)) {
            Ok(s) => s
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            // None of ours yet: a Maildir Dovecot or Courier kept keeps its subscriptions.
            Err(e) if not_found(&e) => dovecot::subscriptions(&dir)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Loaded {
            mailboxes,
            subscriptions,
            meta,
        }))
    }

    fn max_loaded_accounts(&self) -> Option<usize> {
        Some(self.opts.max_loaded_accounts.max(1))
    }

    /// Other programs deliver into a Maildir and rename its files; a mailbox shows it when
    /// its directories are looked at again.
    fn changed_from_outside(&self) -> bool {
        true
    }

    fn expunge_history(&self) -> usize {
        self.opts.expunge_history
    }

    /// Closes the accounts' journals and releases their locks, once the directories their
    /// last transactions renamed in are fsynced: another store may take an account then,
    /// and would not know which of our renames its journal still has to make durable. An
    /// account whose directories cannot be fsynced is kept, and so is one with steps still
    /// to carry out (loaded again, its scan would undo them).
    fn unload_accounts(&self, accounts: &[AccountName]) -> Vec<AccountName> {
        let mut gone: HashSet<&AccountName> = HashSet::new();
        let mut kept = Vec::new();
        for a in accounts {
            if !lock(&self.unfinished).contains_key(a) && self.sync_pending_dirs(a).is_ok() {
                gone.insert(a);
            } else {
                kept.push(a.clone());
            }
        }
        lock(&self.rt).retain(|(a, _), _| !gone.contains(a));
        // Every `tmp/` is under `<root>/<account>/`.
        lock(&self.staged).retain(|tmp, _| {
            let account = tmp
                .strip_prefix(&self.root)
                .ok()
                .and_then(|p| p.iter().next())
                .and_then(|a| a.to_str())
                .and_then(|a| AccountName::try_from(a).ok());
            account.is_none_or(|a| !gone.contains(&a))
        });
        let mut locks = lock(&self.locks);
        for a in &gone {
            locks.remove(*a);
        }
        kept
    }

    fn create_account(&self, a: &AccountName, meta: &AccountMeta, inbox: &Header) -> Result<()> {
        let dir = self.account_dir(a);
        let res = (|| {
            Self::ensure_dirs(&dir)?;
            self.lock_account(a)?;
            self.save_meta(a, meta)?;
            self.create_mailbox(a, "INBOX", inbox)?;
            if self.durable() {
                // create_mailbox syncs Maildir/ itself; the entries naming it
                // (`<account>/Maildir` and `<root>/<account>`) need their directories synced
                // too, or a power loss can drop the new account with the mail acknowledged
                // into it.
                if let Some(account) = dir.parent() {
                    sync_dir(account)?;
                }
                sync_dir(&self.root)?;
            }
            Ok(())
        })();
        if res.is_err() {
            // Not half an account (a full disk): it would look like one at the next start.
            lock(&self.locks).remove(a);
            lock(&self.rt).remove(&(a.clone(), "INBOX".to_owned()));
            let _ = fs::remove_dir_all(&dir);
            if let Some(account) = dir.parent() {
                let _ = fs::remove_dir(account);
            }
        }
        res
    }

    fn save_meta(&self, a: &AccountName, meta: &AccountMeta) -> Result<()> {
        let bytes = serde_json::to_vec(meta).map_err(io::Error::other)?;
        write_atomic(
            &self.account_dir(a).join(ACCOUNT_META),
            &bytes,
            self.durable(),
        )?;
        Ok(())
    }

    fn save_subscriptions(&self, a: &AccountName, subs: &BTreeSet<String>) -> Result<()> {
        let mut text = String::new();
        for s in subs {
            text.push_str(s);
            text.push('\n');
        }
        write_atomic(
            &self.account_dir(a).join(SUBSCRIPTIONS),
            text.as_bytes(),
            self.durable(),
        )?;
        Ok(())
    }

    fn load_access_key(&self, a: &AccountName, mailbox: &str) -> Result<Option<AccessKey>> {
        access_key::load(&self.mailbox_dir(a, mailbox))
    }

    fn save_access_key(
        &self,
        a: &AccountName,
        mailbox: &str,
        key: Option<&AccessKey>,
    ) -> Result<()> {
        access_key::save(&self.mailbox_dir(a, mailbox), key, self.durable())
    }

    fn create_mailbox(&self, a: &AccountName, name: &str, header: &Header) -> Result<()> {
        let dir = self.mailbox_dir(a, name);
        if name != "INBOX" {
            if dir.exists() {
                return Err(StoreError::MailboxExists(name.to_owned()));
            }
            fs::create_dir(&dir)?;
        }
        let res = (|| {
            if name != "INBOX" {
                File::create(dir.join("maildirfolder"))?;
            }
            Self::ensure_dirs(&dir)?;
            let state = MailboxState::new(header.clone());
            // The journal before the snapshot: a snapshot is never without its journal (a
            // crash between the two leaves a journal alone, which is no index).
            let log = Journal::stage(&dir, 1, self.opts.journal_reserve, self.durable())?
                .install(&dir)?;
            index::write_snapshot(&dir, &state, 1, self.durable())?;
            if self.durable() {
                for sub in ["cur", "new", "tmp"] {
                    sync_dir(&dir.join(sub))?;
                }
                sync_dir(&dir)?;
                sync_dir(&self.account_dir(a))?;
            }
            Ok(log)
        })();
        let log = match res {
            Ok(log) => log,
            Err(e) => {
                // Not half a folder (a full disk): it would be a mailbox at the next start.
                if name != "INBOX" {
                    let _ = fs::remove_dir_all(&dir);
                }
                return Err(e);
            }
        };
        let mut rt = Runtime::new(1);
        rt.log = Some(log);
        rt.mtimes = mtimes(&dir);
        lock(&self.rt).insert((a.clone(), name.to_owned()), rt);
        Ok(())
    }

    fn delete_mailbox(&self, a: &AccountName, name: &str) -> Result<()> {
        let dir = self.mailbox_dir(a, name);
        // Rename first (atomic: the folder is gone for every reader), then remove. What a
        // crash leaves of it is removed when the account is opened.
        let trash = self
            .account_dir(a)
            .join(format!("{DELETED_PREFIX}{}", unique_name()));
        fs::rename(&dir, &trash)?;
        if self.durable() {
            sync_dir(&self.account_dir(a))?;
        }
        lock(&self.rt).remove(&(a.clone(), name.to_owned()));
        lock(&self.staged).remove(&dir.join("tmp"));
        let _ = fs::remove_dir_all(&trash);
        Ok(())
    }

    fn rename_mailbox(&self, a: &AccountName, from: &str, to: &str) -> Result<()> {
        let src = self.mailbox_dir(a, from);
        let dst = self.mailbox_dir(a, to);
        if dst.exists() {
            return Err(StoreError::MailboxExists(to.to_owned()));
        }
        // Renames still to be made durable name the old directory.
        self.sync_pending_dirs(a)?;
        fs::rename(&src, &dst)?;
        if self.durable() {
            sync_dir(&self.account_dir(a))?;
        }
        let mut rt = lock(&self.rt);
        if let Some(r) = rt.remove(&(a.clone(), from.to_owned())) {
            rt.insert((a.clone(), to.to_owned()), r);
        }
        drop(rt);
        // What was staged and not yet synced moved with the folder.
        let mut staged = lock(&self.staged);
        if let Some(flag) = staged.remove(&src.join("tmp")) {
            staged.insert(dst.join("tmp"), flag);
        }
        Ok(())
    }

    fn write_message(
        &self,
        a: &AccountName,
        mailbox: &str,
        upload: &mut Upload,
        mime: &MimeInfo,
        meta: &MessageMeta<()>,
        arrival: Arrival,
    ) -> Result<FileRef> {
        let dir = self.mailbox_dir(a, mailbox);
        let base = Self::new_base(meta);
        let (sub, file) = if arrival == Arrival::Delivery && meta.flags.is_empty() {
            ("new", base.clone())
        } else {
            ("cur", format!("{base}{}", info_for(&meta.flags, "")))
        };
        // Staged in tmp/ (Maildir's rule: readers never see a partial message); the commit
        // renames it into place.
        let staged = dir.join("tmp").join(&base);
        let mtime = meta.date.to_system_time();
        if let Some(spool) = upload.finish_file()? {
            let spool = spool.to_owned();
            if let Ok(f) = File::options().write(true).open(&spool) {
                let _ = f.set_modified(mtime);
            }
            self.stage_copy(&spool, &staged)?;
        } else {
            let res = (|| -> io::Result<()> {
                let mut f = File::options().write(true).create_new(true).open(&staged)?;
                f.write_all(&upload.bytes()?)?;
                let _ = f.set_modified(mtime);
                if self.durable() {
                    f.sync_all()?;
                }
                Ok(())
            })();
            if let Err(e) = res {
                let _ = fs::remove_file(&staged);
                return Err(e.into());
            }
            self.note_staged(&dir.join("tmp"));
        }
        Ok(FileRef {
            cache: index::append_cache(&dir, &base, mime),
            file,
            new: sub == "new",
            raw: upload.keeps_line_ends(),
        })
    }

    fn copy_message(
        &self,
        a: &AccountName,
        from: &str,
        blob: &FileRef,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<FileRef> {
        let sdir = self.mailbox_dir(a, from);
        let ddir = self.mailbox_dir(a, to);
        let src = Self::locate(&sdir, blob)?;
        let base = Self::new_base(meta);
        let file = format!("{base}{}", carried_info(&ddir, &meta.flags, &blob.file));
        self.stage_copy(&src, &ddir.join("tmp").join(&base))?;
        let mime = Self::mime_of(&sdir, blob)?;
        Ok(FileRef {
            cache: index::append_cache(&ddir, &base, &mime),
            file,
            new: false,
            raw: blob.raw,
        })
    }

    fn plan_move(
        &self,
        a: &AccountName,
        from: &str,
        blob: &FileRef,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<FileRef> {
        let sdir = self.mailbox_dir(a, from);
        let ddir = self.mailbox_dir(a, to);
        let mime = Self::mime_of(&sdir, blob)?;
        // A new base name, as for a copy: names are never reused, so recovery can tell
        // which file a journal line meant.
        let base = Self::new_base(meta);
        let file = format!("{base}{}", carried_info(&ddir, &meta.flags, &blob.file));
        Ok(FileRef {
            cache: index::append_cache(&ddir, &base, &mime),
            file,
            new: false,
            raw: blob.raw,
        })
    }

    fn begin_delivery(&self, copies: &[(&AccountName, &str, &FileRef)]) -> Result<DeliveryMark> {
        self.mark_delivery(copies)
    }

    fn end_delivery(&self, mark: DeliveryMark) {
        Self::unmark_delivery(mark);
    }

    fn sync_staged(&self, a: &AccountName, mailbox: &str) -> Result<()> {
        if !self.durable() {
            return Ok(());
        }
        let tmp = self.mailbox_dir(a, mailbox).join("tmp");
        let flag = self.staged_flag(&tmp);
        let mut dirty = lock(&flag);
        if *dirty {
            sync_dir(&tmp)?;
            *dirty = false;
        }
        Ok(())
    }

    fn discard(&self, a: &AccountName, mailbox: &str, blob: &FileRef) {
        let dir = self.mailbox_dir(a, mailbox);
        let _ = fs::remove_file(dir.join("tmp").join(split_info(&blob.file).0));
    }

    fn plan_flags(
        &self,
        a: &AccountName,
        mailbox: &str,
        blob: &FileRef,
        flags: &Flags,
    ) -> Result<FileRef> {
        let dir = self.mailbox_dir(a, mailbox);
        let (base, info) = split_info(&blob.file);
        let file = format!("{base}{}", info_in(&dir, flags, info));
        if file == blob.file && !blob.new {
            return Ok(blob.clone());
        }
        if info_matches(&blob.file, flags) && blob.new {
            // Only keywords changed: the file can stay in new/.
            return Ok(blob.clone());
        }
        Ok(FileRef {
            file,
            new: false,
            cache: blob.cache,
            raw: blob.raw,
        })
    }

    fn read_message(&self, a: &AccountName, mailbox: &str, blob: &FileRef) -> Result<Vec<u8>> {
        #[cfg(test)]
        call_hook(&self.read_hook, a);
        let dir = self.mailbox_dir(a, mailbox);
        let data = fs::read(Self::locate(&dir, blob)?)?;
        if blob.raw {
            return Ok(data);
        }
        Ok(to_crlf(&data).unwrap_or(data))
    }

    fn read_mime(&self, a: &AccountName, mailbox: &str, blob: &FileRef) -> Result<Arc<MimeInfo>> {
        Ok(Arc::new(Self::mime_of(
            &self.mailbox_dir(a, mailbox),
            blob,
        )?))
    }

    fn commit(&self, a: &AccountName, parts: &[Part<'_, FileRef>], purpose: Purpose) -> Result<()> {
        let mut taken = Taken::new(self, a, parts.iter().map(|(mailbox, _)| *mailbox))?;
        let mut lines = Vec::with_capacity(parts.len());
        for ((_, records), r) in parts.iter().zip(taken.runtimes()) {
            // One line, the changes found pending first (each record keeps its modseq): a
            // crash can then tear only this line, never leave a damaged one before a whole.
            let bytes = if r.pending.is_empty() {
                journal::encode(records)?
            } else {
                let mut all = r.pending.clone();
                all.extend(records.iter().cloned());
                journal::encode(&all)?
            };
            // Room in every journal before any is written.
            r.log
                .as_mut()
                .ok_or(StoreError::NoSpace)?
                .fit(bytes.len(), purpose)?;
            lines.push(bytes);
        }
        #[cfg(test)]
        call_hook(&self.commit_hook, a);
        // Staged messages (in tmp/) are in their directory before any journal line names
        // them, so that a line on disk means all its messages are (a multi-APPEND or COPY is
        // whole after a crash): one fsync of each `tmp/` for the whole group of arrivals. The
        // renames of earlier transactions need no fsync here: recovery carries out every
        // transaction of the journal again.
        for (mailbox, records) in parts {
            if records.iter().any(|r| matches!(r, Record::Append(_))) {
                self.sync_staged(a, mailbox)?;
            }
        }
        // The room is there: only an I/O error can stop this. After the first part it leaves
        // a part in a journal whose files were never moved, which recovery drops again (its
        // messages have no files).
        for (r, bytes) in taken.runtimes().zip(&lines) {
            r.log.as_mut().ok_or(StoreError::NoSpace)?.append(bytes)?;
            r.log_lines += 1;
            r.pending.clear();
        }
        // What the directories were before our renames: if another program changed them
        // since we last looked, the mtimes our renames leave must not stand for that change.
        let before: Vec<_> = parts
            .iter()
            .map(|(mailbox, _)| mtimes(&self.mailbox_dir(a, mailbox)))
            .collect();
        // Durable: what the records say about files happens now. A step that fails (an I/O
        // error) leaves its file as it was, and is tried again before any scan of the
        // account (`finish_unfinished`); recovery carries it out again too.
        let failed = parts
            .iter()
            .filter(|(mailbox, records)| self.carry_out(a, mailbox, records, Redo::Follow).is_err())
            .count();
        if failed > 0 {
            // Every part: a MOVE's destination is filled by its source's step.
            lock(&self.unfinished)
                .entry(a.clone())
                .or_default()
                .extend(parts.iter().map(|(m, r)| ((*m).to_owned(), r.to_vec())));
        }
        for (((mailbox, records), r), before) in parts.iter().zip(taken.runtimes()).zip(before) {
            // (A group of flag changes commits as ordinary and may hold expunges too.)
            let freed = purpose == Purpose::Deleting
                || records
                    .iter()
                    .any(|r| matches!(r, Record::Expunge { file: Some(_), .. }));
            // Only our own renames moved them: what they are now is what we know. Otherwise
            // the old mtimes stay, and the next refresh scans.
            if before.is_some() && before == r.mtimes {
                r.mtimes = mtimes(&self.mailbox_dir(a, mailbox));
            }
            if freed && let Some(log) = &mut r.log {
                // The deletion freed space: room for the next one.
                log.top_up();
            }
        }
        Ok(())
    }

    fn applied(&self, a: &AccountName, mailbox: &str, state: &MailboxState<FileRef>) {
        self.with_runtime(a, mailbox, |r| {
            if r.log_lines >= COMPACT_AFTER.max(state.messages.len() / 8)
                && r.log_lines >= r.compact_at
            {
                self.compact(a, &self.mailbox_dir(a, mailbox), r, state);
            }
        });
    }

    fn discover(
        &self,
        a: &AccountName,
        known: &BTreeSet<String>,
        meta: &mut AccountMeta,
    ) -> Result<(Vec<(String, MailboxState<FileRef>)>, Vec<String>)> {
        self.discover_mailboxes(a, known, meta)
    }

    fn rescan(&self, a: &AccountName, mailbox: &str) {
        self.with_runtime(a, mailbox, |r| r.mtimes = None);
    }

    fn refresh(
        &self,
        a: &AccountName,
        mailbox: &str,
        state: &MailboxState<FileRef>,
    ) -> Result<Vec<Record<FileRef>>> {
        if !self.finish_unfinished(a) {
            return Ok(Vec::new());
        }
        let dir = self.mailbox_dir(a, mailbox);
        let now = mtimes(&dir);
        let changed = self.with_runtime(a, mailbox, |r| {
            if r.log.is_none() && r.retry_at.is_none_or(|t| SystemTime::now() >= t) {
                // Opened on a full disk: write the index as soon as there is room (trying
                // again every few seconds, not at every call).
                self.compact(a, &dir, r, state);
                if r.log.is_none() {
                    r.retry_at = Some(SystemTime::now() + NO_JOURNAL_RETRY);
                }
            }
            let changed = now.is_none() || r.mtimes != now;
            r.mtimes = now;
            changed
        });
        if changed != Some(true) {
            return Ok(Vec::new());
        }
        if now.is_none() {
            return Err(StoreError::NoSuchMailbox(mailbox.to_owned()));
        }
        let records = Self::scan(&dir, state, None)?;
        if !records.is_empty() {
            self.with_runtime(a, mailbox, |r| Self::record_found(r, &records));
        }
        Ok(records)
    }
}

impl Disk {
    /// Carries out again the steps of `a`'s transactions that failed; whether none is left.
    /// A flag change only from the exact name it started from (a later change may have
    /// moved the file on since, its own step following it); an expunge wherever the file is
    /// ([`Redo::Retry`]).
    /// The account's calls are serialized, so its list can be out of the map meanwhile; the
    /// lock is not held over the file system.
    fn finish_unfinished(&self, a: &AccountName) -> bool {
        let Some(mut list) = lock(&self.unfinished).remove(a) else {
            return true;
        };
        list.retain(|(mailbox, records)| self.carry_out(a, mailbox, records, Redo::Retry).is_err());
        if list.is_empty() {
            return true;
        }
        let mut all = lock(&self.unfinished);
        let entry = all.entry(a.clone()).or_default();
        list.append(entry);
        *entry = list;
        false
    }

    /// Records what a scan found (other programs' changes): in the journal if it takes them,
    /// else with the changes pending, for the next commit. Each scan's records keep the
    /// modseq the scan gave them: the changes pending before were applied under theirs,
    /// which clients may have seen as HIGHESTMODSEQ since.
    pub(super) fn record_found(r: &mut Runtime, records: &[Record<FileRef>]) {
        r.pending.extend(records.iter().cloned());
        let Some(log) = &mut r.log else { return };
        let Ok(bytes) = journal::encode(&r.pending) else {
            return;
        };
        if log.fit(bytes.len(), Purpose::Deleting).is_ok() && log.append(&bytes).is_ok() {
            r.pending.clear();
            r.log_lines += 1;
        }
    }

    /// Folds the journal into a new snapshot and starts a new journal. On a full disk the
    /// old ones stay (nothing is lost) and it is tried again later.
    pub(super) fn compact(
        &self,
        a: &AccountName,
        dir: &Path,
        r: &mut Runtime,
        state: &MailboxState<FileRef>,
    ) {
        r.compact_at = r.log_lines + COMPACT_RETRY;
        // The journal about to go holds transactions whose steps failed: recovery needs them.
        if lock(&self.unfinished).contains_key(a) {
            return;
        }
        // The journal about to go may hold the only record of renames not yet durable.
        if self.sync_pending_dirs(a).is_err() {
            return;
        }
        let generation = r.generation + 1;
        let Ok(staged) = Journal::stage(dir, generation, self.opts.journal_reserve, self.durable())
        else {
            return;
        };
        if index::write_snapshot(dir, state, generation, self.durable()).is_err() {
            staged.abandon();
            return;
        }
        // The snapshot holds everything now, pending changes included.
        r.generation = generation;
        r.log_lines = 0;
        r.compact_at = 0;
        r.pending.clear();
        r.log = staged.install(dir).ok();
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path, time::Duration};

    use super::{
        super::{MaildirOptions, MaildirStore},
        *,
    };
    use crate::{AppendItem, MailStore, Session, block_on};

    /// The message files of a Maildir, by the text of their `Subject`.
    fn file_of(md: &Path, subject: &str) -> PathBuf {
        ["new", "cur"]
            .iter()
            .flat_map(|sub| fs::read_dir(md.join(sub)).unwrap().flatten())
            .map(|e| e.path())
            .find(|p| {
                fs::read(p)
                    .unwrap()
                    .starts_with(format!("Subject: {subject}\r\n").as_bytes())
            })
            .unwrap()
    }

    /// Changes another program makes while the journal takes nothing (a full disk) wait in
    /// the runtime for the next commit; each scan that finds some still gives them a modseq
    /// of their own, above the HIGHESTMODSEQ a client may already have seen. (They used to
    /// take the modseq of the changes already waiting, which a client that synchronised in
    /// between had seen: it never heard of the later expunge.)
    #[test]
    fn changes_found_while_the_journal_is_full_get_new_modseqs() {
        let root = std::env::temp_dir().join(format!("mail-store-found-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let store = MaildirStore::open(&root, MaildirOptions::default()).unwrap();
        let alice = AccountName::try_from("alice").unwrap();
        block_on(store.create_account(&alice)).unwrap();
        let s = Session::new(alice.clone());
        let items = (0..3)
            .map(|i| {
                AppendItem::new(Upload::from_bytes(
                    format!("Subject: {i}\r\n\r\n").into_bytes(),
                ))
            })
            .collect();
        let uids = block_on(store.append(&s, "INBOX", items)).unwrap().uids;
        let backend = &store.handle.engine.backend;
        {
            // What a full disk leaves: no journal, and no retry for a while.
            let mut rts = lock(&backend.rt);
            let r = rts.get_mut(&(alice.clone(), "INBOX".to_owned())).unwrap();
            r.log = None;
            r.retry_at = Some(SystemTime::now() + Duration::from_secs(3600));
        }
        let md = root.join("alice").join("Maildir");
        let highest = || block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
        let m0 = highest();

        fs::remove_file(file_of(&md, "0")).unwrap();
        let m1 = highest();
        assert!(m1 > m0, "{m1:?} after {m0:?}");
        fs::remove_file(file_of(&md, "1")).unwrap();
        let m2 = highest();
        assert!(
            m2 > m1,
            "the second scan's expunge needs a modseq above {m1:?}"
        );
        let since_m1 = block_on(store.changes_since(&s, "INBOX", m1.get())).unwrap();
        assert!(since_m1.expunged.contains(uids[1]), "{since_m1:?}");
        assert!(!since_m1.expunged.contains(uids[0]), "{since_m1:?}");
        let pending: Vec<_> = lock(&backend.rt)[&(alice, "INBOX".to_owned())]
            .pending
            .iter()
            .filter_map(|r| match r {
                Record::Expunge { modseq, .. } => Some(*modseq),
                _ => None,
            })
            .collect();
        assert_eq!(pending, [m1, m2], "both wait for the next commit");
        drop(store);
        let _ = fs::remove_dir_all(&root);
    }
}
