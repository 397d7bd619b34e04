//! The Maildir backend's files: messages, folders, recovery and external changes.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::SystemTime,
};

use super::{
    FileRef, MaildirOptions,
    index::{self, sync_dir, write_atomic},
    names::{flags_from_info, folder_dir, folder_name, info_for, info_matches, split_info},
};
use crate::{
    engine::{
        AccountMeta, Arrival, Backend, Header, Loaded, MailboxState, MessageMeta, Record,
        crlf_size, to_crlf,
    },
    error::{Result, StoreError},
    mime::MimeInfo,
    types::{AccountName, Flags, InternalDate, Keyword, UidValidity},
    upload::{Upload, unique_name},
};

const ACCOUNT_META: &str = "mailstore-account";
const SUBSCRIPTIONS: &str = "mailstore-subscriptions";
const LOCK: &str = "mailstore.lock";
/// Journal transactions before the snapshot is rewritten.
const COMPACT_AFTER: usize = 2000;

/// Per-mailbox runtime state.
struct Runtime {
    log: File,
    generation: u64,
    log_lines: usize,
    /// mtimes of `cur/` and `new/` when we last looked.
    mtimes: Option<(SystemTime, SystemTime)>,
}

pub(crate) struct Disk {
    pub root: PathBuf,
    pub opts: MaildirOptions,
    rt: Mutex<HashMap<(AccountName, String), Runtime>>,
    locks: Mutex<HashMap<AccountName, File>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

fn mtimes(dir: &Path) -> Option<(SystemTime, SystemTime)> {
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

    fn mailbox_dir(&self, a: &AccountName, name: &str) -> PathBuf {
        let d = folder_dir(name);
        if d.is_empty() {
            self.account_dir(a)
        } else {
            self.account_dir(a).join(d)
        }
    }

    fn durable(&self) -> bool {
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
    fn clean_tmp(&self, dir: &Path) {
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

    fn ensure_dirs(dir: &Path) -> io::Result<()> {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(())
    }

    fn new_uidvalidity(meta: &mut AccountMeta) -> UidValidity {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let v = now.max(meta.last_uidvalidity.saturating_add(1)).max(1);
        meta.last_uidvalidity = v;
        UidValidity::new(v).unwrap_or(UidValidity::MIN)
    }

    /// Opens one mailbox: snapshot, journal replay, directory scan, fresh snapshot.
    fn load_mailbox(
        &self,
        a: &AccountName,
        name: &str,
        meta: &mut AccountMeta,
    ) -> Result<MailboxState<FileRef>> {
        let dir = self.mailbox_dir(a, name);
        Self::ensure_dirs(&dir)?;
        self.clean_tmp(&dir.join("tmp"));
        let (mut state, generation) = match index::read_snapshot(&dir) {
            Ok(Some(found)) => found,
            // No index (a Maildir another program wrote) or one we cannot trust: UIDs start
            // over under a new UIDVALIDITY.
            Ok(None) | Err(StoreError::Corrupt(_)) => (
                MailboxState::new(Header::new(Self::new_uidvalidity(meta), None)),
                0,
            ),
            Err(e) => return Err(e),
        };
        let mut replayed = 0;
        let mut valid_len = None;
        if let Some((txs, len)) = index::read_log(&dir, generation)? {
            replayed = txs.len();
            valid_len = Some(len);
            for tx in txs {
                state.apply_all(tx);
            }
        }
        let records = Self::scan(&dir, &state)?;
        let (log, generation, log_lines) = match valid_len {
            // A clean snapshot and journal: keep appending to the journal.
            Some(len) if records.is_empty() && replayed < COMPACT_AFTER => (
                index::open_log(&dir, len, self.durable())?,
                generation,
                replayed,
            ),
            // Otherwise fold everything into a new snapshot.
            _ => {
                state.apply_all(records);
                let generation = generation + 1;
                index::write_snapshot(&dir, &state, generation, self.durable())?;
                (
                    index::reset_log(&dir, generation, self.durable())?,
                    generation,
                    0,
                )
            }
        };
        lock(&self.rt).insert(
            (a.clone(), name.to_owned()),
            Runtime {
                log,
                generation,
                log_lines,
                mtimes: mtimes(&dir),
            },
        );
        Ok(state)
    }

    /// Lists `cur/` and `new/`: base name → (file name, in `new/`).
    fn list_files(dir: &Path) -> io::Result<HashMap<String, (String, bool)>> {
        let mut out = HashMap::new();
        for (sub, is_new) in [("new", true), ("cur", false)] {
            for e in fs::read_dir(dir.join(sub))? {
                let e = e?;
                let Ok(file) = e.file_name().into_string() else {
                    continue;
                };
                if file.starts_with('.') {
                    continue;
                }
                let base = split_info(&file).0.to_owned();
                out.insert(base, (file, is_new));
            }
        }
        Ok(out)
    }

    fn dovecot_keywords(dir: &Path) -> Vec<String> {
        let Ok(text) = fs::read_to_string(dir.join("dovecot-keywords")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for line in text.lines() {
            if let Some((n, kw)) = line.split_once(' ')
                && let Ok(n) = n.parse::<usize>()
            {
                if out.len() <= n {
                    out.resize(n + 1, String::new());
                }
                kw.clone_into(&mut out[n]);
            }
        }
        out
    }

    /// Compares the directory with the index: files that vanished are expunged, files renamed
    /// by other programs change flags, files not indexed get UIDs.
    fn scan(dir: &Path, state: &MailboxState<FileRef>) -> Result<Vec<Record<FileRef>>> {
        let files = Self::list_files(dir)?;
        let dovecot_kw = Self::dovecot_keywords(dir);
        let modseq = state.next_modseq();
        let mut records = Vec::new();
        let mut known = HashSet::with_capacity(state.messages.len());
        for m in &state.messages {
            let base = split_info(&m.blob.file).0;
            match files.get(base) {
                None => records.push(Record::Expunge { uid: m.uid, modseq }),
                Some((file, is_new)) => {
                    known.insert(base);
                    if *file != m.blob.file || *is_new != m.blob.new {
                        let (sys, letters) = flags_from_info(split_info(file).1);
                        let mut flags = sys;
                        // Keywords Dovecot keeps as letters come from the name; the others
                        // live only in our index.
                        for k in m.flags.keywords() {
                            let lettered = dovecot_kw
                                .iter()
                                .any(|d| d.eq_ignore_ascii_case(k.as_str()));
                            if !k.as_str().eq_ignore_ascii_case(Keyword::FORWARDED) && !lettered {
                                flags.insert_keyword(k.clone());
                            }
                        }
                        for i in letters {
                            if let Some(k) = dovecot_kw
                                .get(i)
                                .and_then(|k| Keyword::try_from(k.as_str()).ok())
                            {
                                flags.insert_keyword(k);
                            }
                        }
                        records.push(Record::Flags {
                            uid: m.uid,
                            modseq,
                            flags,
                            blob: FileRef {
                                file: file.clone(),
                                new: *is_new,
                                cache: m.blob.cache,
                            },
                        });
                    }
                }
            }
        }
        let mut fresh: Vec<(&String, &(String, bool))> = files
            .iter()
            .filter(|(b, _)| !known.contains(b.as_str()))
            .collect();
        if fresh.is_empty() {
            return Ok(records);
        }
        // Maildir names start with the delivery time: sorting by it keeps arrival order.
        fresh.sort_by(|a, b| arrival_key(a.0).cmp(&arrival_key(b.0)));
        let keywords = &dovecot_kw;
        let mut next = state.header.uidnext;
        for (base, (file, is_new)) in fresh {
            let path = dir.join(if *is_new { "new" } else { "cur" }).join(file);
            let data = match fs::read(&path) {
                // Other programs (Dovecot, MDAs) store LF line ends; we serve CRLF.
                Ok(d) => to_crlf(&d).unwrap_or(d),
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            let date = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_or_else(|_| InternalDate::now(), InternalDate::from_system_time);
            let (mut flags, kw_idx) = flags_from_info(split_info(file).1);
            for i in kw_idx {
                if let Some(k) = keywords
                    .get(i)
                    .and_then(|k| Keyword::try_from(k.as_str()).ok())
                {
                    flags.insert_keyword(k);
                }
            }
            let mime = MimeInfo::parse(&data);
            let Some(uid) = crate::types::Uid::new(next) else {
                break;
            };
            next += 1;
            records.push(Record::Append(MessageMeta {
                uid,
                modseq,
                created: modseq,
                flags,
                date,
                size: data.len() as u64,
                vsize: crlf_size(&data),
                blob: FileRef {
                    file: file.clone(),
                    new: *is_new,
                    cache: index::append_cache(dir, base, &mime),
                },
            }));
        }
        Ok(records)
    }

    fn path_of(dir: &Path, blob: &FileRef) -> PathBuf {
        dir.join(if blob.new { "new" } else { "cur" })
            .join(&blob.file)
    }

    /// The message's current path, following a rename by another program.
    fn locate(dir: &Path, blob: &FileRef) -> io::Result<PathBuf> {
        let p = Self::path_of(dir, blob);
        if p.exists() {
            return Ok(p);
        }
        let base = split_info(&blob.file).0;
        for sub in ["cur", "new"] {
            for e in fs::read_dir(dir.join(sub))?.flatten() {
                if let Ok(f) = e.file_name().into_string()
                    && split_info(&f).0 == base
                {
                    return Ok(e.path());
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "message file is gone",
        ))
    }

    fn mime_of(dir: &Path, blob: &FileRef) -> Result<MimeInfo> {
        if let Some(off) = blob.cache
            && let Some(m) = index::read_cache(dir, off, split_info(&blob.file).0)
        {
            return Ok(m);
        }
        let data = fs::read(Self::locate(dir, blob)?)?;
        Ok(MimeInfo::parse(&to_crlf(&data).unwrap_or(data)))
    }

    fn new_base(meta: &MessageMeta<()>) -> String {
        format!("{},S={},W={}", unique_name(), meta.size, meta.vsize)
    }

    /// Links (or copies) `src` to `dst` durably.
    fn link_or_copy(&self, src: &Path, dst: &Path, tmp_dir: &Path) -> Result<()> {
        if fs::hard_link(src, dst).is_ok() {
            return Ok(());
        }
        let tmp = tmp_dir.join(unique_name());
        fs::copy(src, &tmp)?;
        if self.durable() {
            File::open(&tmp)?.sync_all()?;
        }
        fs::rename(&tmp, dst)?;
        Ok(())
    }
}

/// The other programs' letters of `old_info`, with the letters of Dovecot's keywords set to
/// match `flags` (`dovecot-keywords` maps `a`–`z` to keywords).
fn dovecot_letters(dovecot_kw: &[String], flags: &Flags, old_info: &str) -> String {
    if dovecot_kw.is_empty() {
        return old_info.to_owned();
    }
    let mut out: String = old_info
        .chars()
        .filter(|c| {
            !c.is_ascii_lowercase()
                || dovecot_kw
                    .get((*c as usize) - ('a' as usize))
                    .is_none_or(String::is_empty)
        })
        .collect();
    for (i, k) in dovecot_kw.iter().enumerate().take(26) {
        if !k.is_empty() && flags.has_keyword(k) {
            out.push(char::from(b'a' + u8::try_from(i).unwrap_or(0)));
        }
    }
    out
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
        let info = dovecot_letters(&Self::dovecot_keywords(&dir), flags, info);
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

/// The delivery time in a Maildir base name (`<secs>.M<micros>P<pid>...` or `<secs>.<...>`),
/// as numbers, then the name: plain string order would put `M99999` after `M682796`.
fn arrival_key(base: &str) -> (u64, u64, &str) {
    let (secs, rest) = base.split_once('.').unwrap_or((base, ""));
    let micros = rest.strip_prefix('M').map_or(0, |r| {
        r.bytes().take_while(u8::is_ascii_digit).fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
    });
    (secs.parse().unwrap_or(u64::MAX), micros, base)
}

#[cfg(test)]
mod arrival_tests {
    use super::arrival_key;

    #[test]
    fn arrival_order_is_numeric() {
        let mut names = vec![
            "1700000000.M682796P1.h",
            "1700000000.M99999P1.h",
            "999999999.M5P1.h",
            "1700000001.x",
        ];
        names.sort_by_key(|n| arrival_key(n));
        assert_eq!(
            names,
            [
                "999999999.M5P1.h",
                "1700000000.M99999P1.h",
                "1700000000.M682796P1.h",
                "1700000001.x"
            ]
        );
    }
}
