//! The Maildir backend: [`Disk`], its per-mailbox journal state and account locks, and the
//! engine's persistence contract over Maildir directories. Opening a mailbox (recovery) and
//! message files have their own modules.

use std::{
    collections::{BTreeSet, HashMap},
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use super::{
    FileRef, MaildirOptions,
    index::{self, sync_dir, write_atomic},
    names::{
        dovecot_keywords, dovecot_letters, folder_dir, folder_name, info_for, info_matches,
        split_info,
    },
};
use crate::{
    engine::{
        AccountMeta, Arrival, Backend, Header, Loaded, MailboxState, MessageMeta, Record, lock,
        to_crlf,
    },
    error::{Result, StoreError},
    mime::MimeInfo,
    types::{AccountName, Flags},
    upload::{Upload, unique_name},
};

const ACCOUNT_META: &str = "mailstore-account";
const SUBSCRIPTIONS: &str = "mailstore-subscriptions";
const LOCK: &str = "mailstore.lock";
/// Journal transactions before the snapshot is rewritten.
pub(super) const COMPACT_AFTER: usize = 2000;

/// Per-mailbox runtime state.
pub(super) struct Runtime {
    pub(super) log: File,
    pub(super) generation: u64,
    pub(super) log_lines: usize,
    /// mtimes of `cur/` and `new/` when we last looked.
    pub(super) mtimes: Option<(SystemTime, SystemTime)>,
}

/// The Maildir backend: accounts live under `root`.
pub(crate) struct Disk {
    pub root: PathBuf,
    pub opts: MaildirOptions,
    pub(super) rt: Mutex<HashMap<(AccountName, String), Runtime>>,
    locks: Mutex<HashMap<AccountName, File>>,
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
    fn lock_account(&self, a: &AccountName) -> Result<()> {
        let mut locks = lock(&self.locks);
        if locks.contains_key(a) {
            return Ok(());
        }
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.account_dir(a).join(LOCK))?;
        match f.try_lock() {
            Ok(()) => {
                locks.insert(a.clone(), f);
                Ok(())
            }
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::Io(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the account's Maildir is in use by another store",
            ))),
            Err(fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// Removes `tmp/` files older than the configured age (left by a crash).
    pub(super) fn clean_tmp(&self, dir: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let now = SystemTime::now();
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age >= self.opts.stale_tmp_age {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    pub fn clean_spool(&self) -> io::Result<()> {
        fs::create_dir_all(self.spool_dir())?;
        self.clean_tmp(&self.spool_dir());
        Ok(())
    }

    pub(super) fn ensure_dirs(dir: &Path) -> io::Result<()> {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(())
    }
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
        if !dir.join("cur").is_dir() {
            return Ok(None);
        }
        self.lock_account(a)?;
        let mut meta: AccountMeta = read_json(&dir.join(ACCOUNT_META))?;
        let before = meta.clone();
        let mut mailboxes = vec![(
            "INBOX".to_owned(),
            self.load_mailbox(a, "INBOX", &mut meta)?,
        )];
        let mut folders = Vec::new();
        for e in fs::read_dir(&dir)? {
            let e = e?;
            if !e.file_type()?.is_dir() {
                continue;
            }
            if let Some(name) = e.file_name().to_str().and_then(folder_name) {
                folders.push(name);
            }
        }
        folders.sort();
        for name in folders {
            let state = self.load_mailbox(a, &name, &mut meta)?;
            mailboxes.push((name, state));
        }
        for (_, m) in &mailboxes {
            meta.last_uidvalidity = meta.last_uidvalidity.max(m.header.uidvalidity.get());
        }
        if meta != before {
            self.save_meta(a, &meta)?;
        }
        let subscriptions: BTreeSet<String> = match fs::read_to_string(dir.join(SUBSCRIPTIONS)) {
            Ok(s) => s
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            Err(e) if not_found(&e) => BTreeSet::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Loaded {
            mailboxes,
            subscriptions,
            meta,
        }))
    }

    fn create_account(&self, a: &AccountName, meta: &AccountMeta, inbox: &Header) -> Result<()> {
        let dir = self.account_dir(a);
        Self::ensure_dirs(&dir)?;
        self.lock_account(a)?;
        self.save_meta(a, meta)?;
        self.create_mailbox(a, "INBOX", inbox)?;
        if self.durable() {
            // create_mailbox syncs Maildir/ itself; the entries naming it (`<account>/Maildir`
            // and `<root>/<account>`) need their directories synced too, or a power loss can
            // drop the new account with the mail acknowledged into it.
            if let Some(account) = dir.parent() {
                sync_dir(account)?;
            }
            sync_dir(&self.root)?;
        }
        Ok(())
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

    fn create_mailbox(&self, a: &AccountName, name: &str, header: &Header) -> Result<()> {
        let dir = self.mailbox_dir(a, name);
        if name != "INBOX" {
            if dir.exists() {
                return Err(StoreError::MailboxExists(name.to_owned()));
            }
            fs::create_dir(&dir)?;
            File::create(dir.join("maildirfolder"))?;
        }
        Self::ensure_dirs(&dir)?;
        let state = MailboxState::new(header.clone());
        index::write_snapshot(&dir, &state, 1, self.durable())?;
        let log = index::reset_log(&dir, 1, self.durable())?;
        if self.durable() {
            for sub in ["cur", "new", "tmp"] {
                sync_dir(&dir.join(sub))?;
            }
            sync_dir(&dir)?;
            sync_dir(&self.account_dir(a))?;
        }
        lock(&self.rt).insert(
            (a.clone(), name.to_owned()),
            Runtime {
                log,
                generation: 1,
                log_lines: 0,
                mtimes: mtimes(&dir),
            },
        );
        Ok(())
    }

    fn delete_mailbox(&self, a: &AccountName, name: &str) -> Result<()> {
        let dir = self.mailbox_dir(a, name);
        // Rename first (atomic: the folder is gone for every reader), then remove.
        let trash = self
            .account_dir(a)
            .join(format!("..deleted-{}", unique_name()));
        fs::rename(&dir, &trash)?;
        if self.durable() {
            sync_dir(&self.account_dir(a))?;
        }
        lock(&self.rt).remove(&(a.clone(), name.to_owned()));
        let _ = fs::remove_dir_all(&trash);
        Ok(())
    }

    fn rename_mailbox(&self, a: &AccountName, from: &str, to: &str) -> Result<()> {
        let src = self.mailbox_dir(a, from);
        let dst = self.mailbox_dir(a, to);
        if dst.exists() {
            return Err(StoreError::MailboxExists(to.to_owned()));
        }
        fs::rename(&src, &dst)?;
        if self.durable() {
            sync_dir(&self.account_dir(a))?;
        }
        let mut rt = lock(&self.rt);
        if let Some(r) = rt.remove(&(a.clone(), from.to_owned())) {
            rt.insert((a.clone(), to.to_owned()), r);
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
        let target = dir.join(sub).join(&file);
        let mtime = meta.date.to_system_time();
        if let Some(spool) = upload.finish_file()? {
            let spool = spool.to_owned();
            if let Ok(f) = File::options().write(true).open(&spool) {
                let _ = f.set_modified(mtime);
            }
            self.link_or_copy(&spool, &target, &dir.join("tmp"))?;
        } else {
            let tmp = dir.join("tmp").join(&base);
            let mut f = File::options().write(true).create_new(true).open(&tmp)?;
            let res = (|| -> io::Result<()> {
                f.write_all(&upload.bytes()?)?;
                let _ = f.set_modified(mtime);
                if self.durable() {
                    f.sync_all()?;
                }
                fs::rename(&tmp, &target)
            })();
            if let Err(e) = res {
                let _ = fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        Ok(FileRef {
            cache: index::append_cache(&dir, &base, mime),
            file,
            new: sub == "new",
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
        let file = format!("{base}{}", info_for(&meta.flags, split_info(&blob.file).1));
        self.link_or_copy(&src, &ddir.join("cur").join(&file), &ddir.join("tmp"))?;
        let mime = Self::mime_of(&sdir, blob)?;
        Ok(FileRef {
            cache: index::append_cache(&ddir, &base, &mime),
            file,
            new: false,
        })
    }

    fn move_message(
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
        let mime = Self::mime_of(&sdir, blob)?;
        // A new base: moving within one mailbox must not look like the same file.
        let base = if from == to {
            Self::new_base(meta)
        } else {
            split_info(&blob.file).0.to_owned()
        };
        let file = format!("{base}{}", info_for(&meta.flags, split_info(&blob.file).1));
        fs::rename(&src, ddir.join("cur").join(&file))?;
        Ok(FileRef {
            cache: index::append_cache(&ddir, &base, &mime),
            file,
            new: false,
        })
    }

    fn discard(&self, a: &AccountName, mailbox: &str, blob: &FileRef) {
        let _ = fs::remove_file(Self::path_of(&self.mailbox_dir(a, mailbox), blob));
    }

    fn set_flags(
        &self,
        a: &AccountName,
        mailbox: &str,
        blob: &FileRef,
        flags: &Flags,
    ) -> Result<FileRef> {
        let dir = self.mailbox_dir(a, mailbox);
        let (base, info) = split_info(&blob.file);
        let info = dovecot_letters(&dovecot_keywords(&dir), flags, info);
        let file = format!("{base}{}", info_for(flags, &info));
        if file == blob.file && !blob.new {
            return Ok(blob.clone());
        }
        if info_matches(&blob.file, flags) && blob.new {
            // Only keywords changed: the file can stay in new/.
            return Ok(blob.clone());
        }
        let src = Self::locate(&dir, blob)?;
        fs::rename(&src, dir.join("cur").join(&file))?;
        Ok(FileRef {
            file,
            new: false,
            cache: blob.cache,
        })
    }

    fn remove_message(&self, a: &AccountName, mailbox: &str, blob: &FileRef) -> Result<()> {
        let dir = self.mailbox_dir(a, mailbox);
        match Self::locate(&dir, blob).and_then(fs::remove_file) {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn read_message(&self, a: &AccountName, mailbox: &str, blob: &FileRef) -> Result<Vec<u8>> {
        let dir = self.mailbox_dir(a, mailbox);
        let data = fs::read(Self::locate(&dir, blob)?)?;
        Ok(to_crlf(&data).unwrap_or(data))
    }

    fn read_mime(&self, a: &AccountName, mailbox: &str, blob: &FileRef) -> Result<Arc<MimeInfo>> {
        Ok(Arc::new(Self::mime_of(
            &self.mailbox_dir(a, mailbox),
            blob,
        )?))
    }

    fn commit(&self, a: &AccountName, mailbox: &str, records: &[Record<FileRef>]) -> Result<()> {
        let dir = self.mailbox_dir(a, mailbox);
        let touches_files = records.iter().any(|r| !matches!(r, Record::Header(_)));
        if touches_files && self.durable() {
            // The renames and unlinks of this transaction reach the disk before the journal
            // says they happened.
            sync_dir(&dir.join("cur"))?;
            sync_dir(&dir.join("new"))?;
        }
        let mut rt = lock(&self.rt);
        let r = rt
            .get_mut(&(a.clone(), mailbox.to_owned()))
            .ok_or_else(|| StoreError::NoSuchMailbox(mailbox.to_owned()))?;
        index::append_log(&mut r.log, records, self.durable())?;
        r.log_lines += 1;
        if touches_files {
            r.mtimes = mtimes(&dir);
        }
        Ok(())
    }

    fn applied(&self, a: &AccountName, mailbox: &str, state: &MailboxState<FileRef>) {
        let dir = self.mailbox_dir(a, mailbox);
        let mut rt = lock(&self.rt);
        let Some(r) = rt.get_mut(&(a.clone(), mailbox.to_owned())) else {
            return;
        };
        if r.log_lines < COMPACT_AFTER.max(state.messages.len() / 8) {
            return;
        }
        let generation = r.generation + 1;
        // A failure here loses nothing: the journal of the old generation is still whole.
        if index::write_snapshot(&dir, state, generation, self.durable()).is_ok()
            && let Ok(log) = index::reset_log(&dir, generation, self.durable())
        {
            r.log = log;
            r.generation = generation;
            r.log_lines = 0;
        }
    }

    fn refresh(
        &self,
        a: &AccountName,
        mailbox: &str,
        state: &MailboxState<FileRef>,
    ) -> Result<Vec<Record<FileRef>>> {
        let dir = self.mailbox_dir(a, mailbox);
        let now = mtimes(&dir);
        {
            let mut rt = lock(&self.rt);
            let Some(r) = rt.get_mut(&(a.clone(), mailbox.to_owned())) else {
                return Ok(Vec::new());
            };
            if now.is_some() && r.mtimes == now {
                return Ok(Vec::new());
            }
            r.mtimes = now;
        }
        if now.is_none() {
            return Err(StoreError::NoSuchMailbox(mailbox.to_owned()));
        }
        Self::scan(&dir, state)
    }
}
