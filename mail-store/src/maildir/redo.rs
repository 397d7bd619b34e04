//! Carrying out a committed transaction: what its records say about message files, done
//! once the journal holds them. The same code runs right after each commit and, at
//! recovery, on every transaction of each journal, which a crash may have left undone.
//!
//! Every step looks before it acts, so carrying a transaction out twice changes nothing:
//!
//! - `Append`: the message staged as `tmp/<base>` is renamed to its place in `cur/` or
//!   `new/` (a message moved in from another mailbox has nothing staged: the source's
//!   `Expunge` brings it);
//! - `Flags` with a `from`: the file is renamed to the new name;
//! - `Expunge` with a `file`: the file is removed, or for a move renamed into the other
//!   mailbox under its planned name.
//!
//! File names are never reused (a copy or move gets a new base name), so a file found under
//! a transaction's base name is the file that transaction meant.
//!
//! The renames are not fsynced one transaction at a time: the journal line is the only
//! write a transaction waits for. The directories they touched are fsynced before the
//! journal is folded into a snapshot ([`Disk::sync_pending_dirs`]), and until then recovery
//! carries out every transaction of the journal again, in order ([`Redo`] says how it finds
//! the files).

use std::{
    collections::{HashMap, HashSet},
    fs, io,
    path::{Path, PathBuf},
};

use super::{
    FileRef,
    disk::{Disk, not_found},
    index::sync_dir,
    names::split_info,
};
use crate::{
    engine::{Record, lock},
    error::Result,
    types::AccountName,
};

/// Finds message files by base name, listing a directory once for all the files that are
/// not where the index says.
#[derive(Default)]
struct Locator {
    listed: HashMap<PathBuf, HashMap<String, PathBuf>>,
}

impl Locator {
    /// Where `blob` is: under its own name, or (unless `exact`) under its base name with
    /// other flags.
    fn locate(&mut self, dir: &Path, blob: &FileRef, exact: bool) -> Option<PathBuf> {
        let p = Disk::path_of(dir, blob);
        if p.exists() {
            return Some(p);
        }
        if exact {
            return None;
        }
        let listing = self.listed.entry(dir.to_owned()).or_insert_with(|| {
            let mut m = HashMap::new();
            for sub in ["cur", "new"] {
                let Ok(entries) = fs::read_dir(dir.join(sub)) else {
                    continue;
                };
                for e in entries.flatten() {
                    if let Ok(f) = e.file_name().into_string() {
                        m.insert(split_info(&f).0.to_owned(), e.path());
                    }
                }
            }
            m
        });
        let found = listing.get(split_info(&blob.file).0)?;
        found.exists().then(|| found.clone())
    }

    /// The file at `from` is now at `to` (or gone).
    fn moved(&mut self, dir: &Path, base: &str, to: Option<PathBuf>) {
        if let Some(listing) = self.listed.get_mut(dir) {
            match to {
                Some(p) => listing.insert(base.to_owned(), p),
                None => listing.remove(base),
            };
        }
    }
}

/// Notes the directories of `paths` as changed.
fn touch(dirs: &mut HashSet<PathBuf>, paths: &[&Path]) {
    dirs.extend(
        paths
            .iter()
            .filter_map(|p| p.parent())
            .map(Path::to_path_buf),
    );
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if not_found(&e) => Ok(()),
        other => other,
    }
}

/// How [`Disk::carry_out`] finds the file a step acts on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Redo {
    /// Where the transaction left it, or wherever its base name is now: another program may
    /// have renamed it since the index was read (right after a commit, and for the journal's
    /// last transaction at recovery).
    Follow,
    /// Only under the exact name the transaction started from: an earlier transaction of
    /// the journal, whose file may since have been renamed by a later one or by another
    /// program, and must then be left as it is.
    Exact,
    /// A step that failed, tried again while the store runs: a flag change only from the
    /// exact name (a later change may have moved the file on, and its own step followed
    /// it), an expunge wherever the file is (no later change names an expunged message).
    Retry,
}

impl Disk {
    /// Carries out `records` of `mailbox` (a transaction the journal holds). Returns the
    /// first error, after trying every step; the directories touched are noted for
    /// [`sync_pending_dirs`](Self::sync_pending_dirs).
    pub(super) fn carry_out(
        &self,
        a: &AccountName,
        mailbox: &str,
        records: &[Record<FileRef>],
        redo: Redo,
    ) -> io::Result<()> {
        let dir = self.mailbox_dir(a, mailbox);
        let mut locator = Locator::default();
        let exact_flags = redo != Redo::Follow;
        let exact_expunge = redo == Redo::Exact;
        let mut touched: HashSet<PathBuf> = HashSet::new();
        let mut first_error = None;
        for r in records {
            let res = match r {
                Record::Append(m) => {
                    let staged = dir.join("tmp").join(split_info(&m.blob.file).0);
                    let dst = Self::path_of(&dir, &m.blob);
                    if staged.exists() && !dst.exists() {
                        // (The rename's two directories change in one file-system
                        // transaction on ext4 and XFS; an entry left in tmp/ would be ours.)
                        touch(&mut touched, &[&dst]);
                        ignore_missing(fs::rename(&staged, &dst))
                    } else {
                        Ok(())
                    }
                }
                Record::Flags {
                    blob,
                    from: Some(from),
                    ..
                } if from != blob => match locator.locate(&dir, from, exact_flags) {
                    Some(src) => {
                        let dst = Self::path_of(&dir, blob);
                        touch(&mut touched, &[&src, &dst]);
                        let res = ignore_missing(fs::rename(&src, &dst));
                        locator.moved(&dir, split_info(&blob.file).0, Some(dst));
                        res
                    }
                    None => Ok(()),
                },
                Record::Expunge {
                    file: Some(file),
                    to,
                    ..
                } => match locator.locate(&dir, file, exact_expunge) {
                    Some(src) => {
                        touch(&mut touched, &[&src]);
                        let base = split_info(&file.file).0;
                        match to {
                            None => {
                                locator.moved(&dir, base, None);
                                ignore_missing(fs::remove_file(&src))
                            }
                            Some((dest, blob)) => {
                                let ddir = self.mailbox_dir(a, dest);
                                let dst = Self::path_of(&ddir, blob);
                                touch(&mut touched, &[&dst]);
                                locator.moved(&dir, base, None);
                                if dst.exists() {
                                    Ok(())
                                } else {
                                    ignore_missing(fs::rename(&src, &dst))
                                }
                            }
                        }
                    }
                    None => Ok(()),
                },
                _ => Ok(()),
            };
            if let Err(e) = res {
                first_error.get_or_insert(e);
            }
        }
        if !touched.is_empty() {
            lock(&self.unsynced)
                .entry(a.clone())
                .or_default()
                .extend(touched);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Fsyncs the directories the account's earlier transactions changed, so that none of
    /// them needs carrying out again after a power cut (before their journal goes).
    pub(super) fn sync_pending_dirs(&self, a: &AccountName) -> Result<()> {
        if !self.durable() {
            lock(&self.unsynced).remove(a);
            return Ok(());
        }
        let dirs = lock(&self.unsynced).remove(a).unwrap_or_default();
        for d in &dirs {
            if let Err(e) = ignore_missing(sync_dir(d)) {
                // Kept for the next try.
                let mut pending = lock(&self.unsynced);
                let set = pending.entry(a.clone()).or_default();
                set.extend(dirs.iter().cloned());
                return Err(e.into());
            }
        }
        Ok(())
    }
}
