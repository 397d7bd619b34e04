//! Recovery and other programs: opening an account replays each mailbox's journal over its
//! snapshot, carries out again what each journal's transactions committed (a crash may
//! have interrupted them, or their renames may not have reached the disk), removes what crashes left behind, and compares the index with the
//! directory, so messages delivered, renamed or removed by another program (or written
//! before a crash) are picked up.
//!
//! Opening writes nothing before the account can be served: on a full disk the mailboxes
//! open from what is on disk, and what could not be recorded is recorded as soon as there is
//! room.

use std::{
    collections::{HashMap, HashSet},
    fs, io,
    path::{Path, PathBuf},
};

use super::{
    FileRef,
    disk::{COMPACT_AFTER, DELETED_PREFIX, Disk, Runtime, mtimes, not_found},
    dovecot, index,
    journal::{self, Journal},
    names::{dovecot_keywords, flags_from_info, folder_name, split_info},
    redo::Redo,
};
use crate::{
    engine::{AccountMeta, Header, MailboxState, MessageMeta, Record, crlf_sizes, lock, to_crlf},
    error::{Result, StoreError},
    mime::MimeInfo,
    types::{AccountName, InternalDate, Keyword, Uid, UidValidity},
};

/// A mailbox between reading its index and scanning its directory.
struct Opening {
    name: String,
    dir: PathBuf,
    state: MailboxState<FileRef>,
    generation: u64,
    journal: Option<journal::Found>,
    /// The UIDs Dovecot or Courier gave the files, for a Maildir of theirs opened here the
    /// first time.
    imported: Option<HashMap<String, u32>>,
}

/// Removes what an interrupted write or delete of ours left in `dir`: `mailstore-*.tmp`
/// files (a snapshot, journal or account file being replaced) and folders being deleted.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("mailstore-") && name.ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        } else if name.starts_with(DELETED_PREFIX) && e.path().is_dir() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

impl Disk {
    /// Opens every mailbox of an account (INBOX first, then the folders in name order).
    pub(super) fn load_mailboxes(
        &self,
        a: &AccountName,
        meta: &mut AccountMeta,
    ) -> Result<Vec<(String, MailboxState<FileRef>)>> {
        let root = self.account_dir(a);
        remove_leftovers(&root);
        let mut names = Vec::new();
        for e in fs::read_dir(&root)? {
            let e = e?;
            if !e.file_type()?.is_dir() {
                continue;
            }
            if let Some(name) = e.file_name().to_str().and_then(folder_name) {
                names.push(name);
            }
        }
        names.sort();
        names.insert(0, "INBOX".to_owned());
        // First every index and journal, then what the journals' transactions may have left
        // undone (a move spans two mailboxes), then each directory.
        let mut opening = Vec::with_capacity(names.len());
        for name in names {
            opening.push(self.read_mailbox(a, name, meta)?);
        }
        for o in &opening {
            let Some(journal) = &o.journal else { continue };
            let last = journal.transactions.len().saturating_sub(1);
            for (i, tx) in journal.transactions.iter().enumerate() {
                let redo = if i == last { Redo::Follow } else { Redo::Exact };
                // What fails here stays as the directory shows it; the scan agrees.
                let _ = self.carry_out(a, &o.name, tx, redo);
            }
        }
        let _ = self.sync_pending_dirs(a);
        opening
            .into_iter()
            .map(|o| self.open_mailbox(a, o))
            .collect()
    }

    /// The Maildir++ folders other programs created or removed since the account was
    /// loaded ([`Backend::discover`](crate::engine::Backend::discover)): one `readdir` of the
    /// account's root. A folder counts once it has its `cur/`.
    #[allow(clippy::type_complexity)]
    pub(super) fn discover_mailboxes(
        &self,
        a: &AccountName,
        known: &std::collections::BTreeSet<String>,
        meta: &mut AccountMeta,
    ) -> Result<(Vec<(String, MailboxState<FileRef>)>, Vec<String>)> {
        let root = self.account_dir(a);
        // Every folder on disk, as the account's load reads them (for what is gone), and
        // those among them whose name the store's rules take (for what is new: a wildcard
        // or an empty level stays out).
        let mut on_disk = Vec::new();
        for e in fs::read_dir(&root)? {
            let e = e?;
            if !e.file_type()?.is_dir() || !e.path().join("cur").is_dir() {
                continue;
            }
            if let Some(name) = e.file_name().to_str().and_then(folder_name) {
                on_disk.push(name);
            }
        }
        let gone: Vec<String> = known
            .iter()
            .filter(|n| *n != "INBOX" && !on_disk.contains(n))
            .cloned()
            .collect();
        for n in &gone {
            lock(&self.rt).remove(&(a.clone(), n.clone()));
        }
        on_disk.sort();
        let mut found = Vec::new();
        for name in on_disk.into_iter().filter(|n| !known.contains(n)) {
            if crate::names::canonical(&name, '.').is_ok_and(|c| c == name) {
                // A folder that cannot be opened now (unreadable, a full disk) is left for
                // a later look: it must not fail the LIST or SELECT that looked.
                if let Ok(opening) = self.read_mailbox(a, name, meta)
                    && let Ok(opened) = self.open_mailbox(a, opening)
                {
                    found.push(opened);
                }
            }
        }
        Ok((found, gone))
    }

    /// Reads a mailbox's snapshot and replays its journal.
    fn read_mailbox(
        &self,
        a: &AccountName,
        name: String,
        meta: &mut AccountMeta,
    ) -> Result<Opening> {
        let dir = self.mailbox_dir(a, &name);
        Self::ensure_dirs(&dir)?;
        if name != "INBOX" {
            remove_leftovers(&dir);
        }
        let fresh =
            |meta: &mut AccountMeta| MailboxState::new(Header::new(meta.next_uidvalidity(), None));
        let (state, generation, imported) = match index::read_snapshot(&dir) {
            Ok(Some((state, generation))) => (state, generation, None),
            // No index: a Maildir another program wrote. Dovecot's or Courier's UIDs and
            // UIDVALIDITY are kept, so that no client sees its messages renumbered; without
            // them UIDs start over under a new UIDVALIDITY.
            Ok(None) => match dovecot::uidlist(&dir)
                .and_then(|l| Some((UidValidity::new(l.uidvalidity)?, l)))
            {
                Some((uidvalidity, list)) => {
                    let mut header = Header::new(uidvalidity, None);
                    header.uidnext = list.uidnext;
                    (MailboxState::new(header), 0, Some(list.uids))
                }
                None => (fresh(meta), 0, None),
            },
            // An index we cannot trust: UIDs start over too.
            Err(StoreError::Corrupt(_)) => (fresh(meta), 0, None),
            Err(e) => return Err(e),
        };
        let (mut state, generation, journal) = match journal::read(&dir, generation) {
            // What the readable transactions staged goes in place first: acknowledged, it
            // must not be taken for a leftover of tmp/ when the mailbox starts over.
            Ok(Some(found)) if found.damaged.is_some() => {
                for tx in &found.transactions {
                    let staged: Vec<_> = tx
                        .iter()
                        .filter(|r| matches!(r, Record::Append(_)))
                        .cloned()
                        .collect();
                    let _ = self.carry_out(a, &name, &staged, Redo::Follow);
                }
                (fresh(meta), 0, None)
            }
            Ok(journal) => (state, generation, journal),
            // The snapshot alone is older than what clients were told: UIDs start over
            // under a new UIDVALIDITY, as with a damaged index.
            Err(StoreError::Corrupt(_)) => (fresh(meta), 0, None),
            Err(e) => return Err(e),
        };
        // Starting over (no snapshot to go by): the next snapshot's generation is above
        // that of any journal left there, which is then never replayed onto it.
        let generation = match generation {
            0 => journal::generation_of(&dir).unwrap_or(0),
            g => g,
        };
        if let Some(j) = &journal {
            for tx in &j.transactions {
                state.apply_all(tx.iter().cloned());
            }
        }
        Ok(Opening {
            name,
            dir,
            state,
            generation,
            journal,
            imported,
        })
    }

    /// Compares a replayed mailbox with its directory and records what differs: in the
    /// journal, or on a full disk pending, to be recorded with the next change.
    fn open_mailbox(&self, a: &AccountName, o: Opening) -> Result<(String, MailboxState<FileRef>)> {
        let Opening {
            name,
            dir,
            mut state,
            generation,
            journal,
            imported,
        } = o;
        // Taken before the scan: a change another program makes during the scan (or the
        // compaction below) moves them again, and the first refresh scans once more.
        let seen = mtimes(&dir);
        // The scan first: it puts in place what was staged and indexed but never renamed,
        // which the clean-up would take for our leftovers.
        let records = Self::scan(&dir, &state, imported.as_ref())?;
        self.clean_tmp(&dir.join("tmp"));
        let mut rt = Runtime::new(generation);
        if let Some(found) = &journal {
            rt.log = Some(Journal::open(
                &dir,
                found,
                self.opts.journal_reserve,
                self.durable(),
            )?);
            rt.log_lines = found.transactions.len();
        }
        if !records.is_empty() {
            state.apply_all(records.clone());
            Self::record_found(&mut rt, &records);
        }
        if rt.log.is_none() || rt.log_lines >= COMPACT_AFTER {
            self.compact(a, &dir, &mut rt, &state);
        }
        if imported.is_some() {
            // Our index has the UIDs now; the other program's list is not taken again.
            let _ = fs::write(dir.join(dovecot::IMPORTED), b"");
        }
        rt.mtimes = seen;
        lock(&self.rt).insert((a.clone(), name.clone()), rt);
        Ok((name, state))
    }

    /// Moves an indexed message's staged copy `tmp/<base>` to where the index has it.
    fn put_in_place(dir: &Path, base: &str, m: &MessageMeta<FileRef>) -> bool {
        let staged = dir.join("tmp").join(base);
        let place = dir
            .join(if m.blob.new { "new" } else { "cur" })
            .join(&m.blob.file);
        staged.is_file() && fs::rename(&staged, &place).is_ok()
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
                // Only regular files are messages: a FIFO would block the read for good, a
                // directory fail it, and a symlink hand out whatever file it names (one
                // server process reads every account's mail).
                if file.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                let base = split_info(&file).0.to_owned();
                out.insert(base, (file, is_new));
            }
        }
        Ok(out)
    }

    /// Compares the directory with the index: files that vanished are expunged, files renamed
    /// by other programs change flags, files not indexed get UIDs: those in `imported` (by
    /// base name) the UID another program gave them, if still free, the others new ones.
    pub(super) fn scan(
        dir: &Path,
        state: &MailboxState<FileRef>,
        imported: Option<&HashMap<String, u32>>,
    ) -> Result<Vec<Record<FileRef>>> {
        let files = Self::list_files(dir)?;
        let dovecot_kw = dovecot_keywords(dir);
        let modseq = state.next_modseq();
        let mut records = Vec::new();
        let mut known = HashSet::with_capacity(state.messages.len());
        for m in &state.messages {
            let base = split_info(&m.blob.file).0;
            match files.get(base) {
                // Staged but never put in place: the rename after its journal line failed
                // (a full directory, an I/O error) or was lost. The message was acknowledged,
                // so it goes in place now rather than being taken for deleted.
                None if Self::put_in_place(dir, base, m) => {}
                None => records.push(Record::Expunge {
                    uid: m.uid,
                    modseq,
                    file: None,
                    to: None,
                }),
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
                                raw: m.blob.raw,
                            },
                            from: None,
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
        // The imported UIDs, each given once, and only where no message of ours has it.
        let mut taken: HashSet<u32> = match imported {
            Some(_) => state.messages.iter().map(|m| m.uid.get()).collect(),
            None => HashSet::new(),
        };
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
            let (vsize, bare_crs) = crlf_sizes(&data);
            let listed = imported
                .and_then(|l| l.get(base.as_str()).copied())
                .filter(|&u| u < state.header.uidnext && taken.insert(u));
            let uid = match listed {
                Some(u) => Uid::new(u),
                None => {
                    // UIDNEXT must stay a UID: the last one given is u32::MAX - 1.
                    let Some(uid) = Uid::new(next).filter(|u| u.get() < u32::MAX) else {
                        break;
                    };
                    next += 1;
                    Some(uid)
                }
            };
            let Some(uid) = uid else {
                continue;
            };
            records.push(Record::Append(MessageMeta {
                uid,
                modseq,
                created: modseq,
                flags,
                date,
                size: data.len() as u64,
                vsize,
                bare_crs,
                blob: FileRef {
                    file: file.clone(),
                    new: *is_new,
                    cache: index::append_cache(dir, base, &mime),
                    raw: false,
                },
            }));
        }
        Ok(records)
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
