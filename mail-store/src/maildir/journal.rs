//! The journal of one mailbox (`mailstore-log`), with room written in advance.
//!
//! The file is a first line `mailstore-log <generation>`, one line per transaction (a
//! 16-digit hex FNV-1a checksum, a space, the JSON array of records), and then zeros: room
//! for later transactions, written when there was space. A transaction overwrites zeros in
//! place, which takes no new space on the file systems Maildir lives on (ext4, XFS, tmpfs;
//! not a copy-on-write one such as btrfs or ZFS), so a full disk still takes the records of
//! deletions, and the unlinks they lead to then free space for the room to be written again.
//! A reader stops at the first line that is not whole (no newline, a bad checksum): the
//! zeros, or a line torn by a crash.
//!
//! A transaction is one `write` and one `fdatasync`: it is in the journal entirely or not at
//! all. Changes other than deleting must leave half of the room unused, so that reading mail
//! (which sets `\Seen`) cannot use up what deleting needs.

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use super::{FileRef, index::sync_dir};
use crate::{
    engine::{Purpose, Record},
    error::{Result, StoreError},
};

pub(crate) const LOG: &str = "mailstore-log";

/// Zeros are written in pieces of this size.
static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// FNV-1a, 64 bits: enough to tell a torn line from a whole one.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One transaction as a journal line.
pub(crate) fn encode(records: &[Record<FileRef>]) -> Result<Vec<u8>> {
    let body = serde_json::to_vec(records).map_err(io::Error::other)?;
    let mut line = format!("{:016x} ", checksum(&body)).into_bytes();
    line.extend_from_slice(&body);
    line.push(b'\n');
    Ok(line)
}

type Transactions = Vec<Vec<Record<FileRef>>>;

/// What [`read`] found in a journal.
pub(crate) struct Found {
    /// The whole transactions, in order.
    pub transactions: Transactions,
    /// Where they end: the next transaction goes there.
    pub valid_len: u64,
    /// Whether something other than zeros follows (a torn line).
    pub dirty_tail: bool,
    /// Why the journal cannot be replayed whole, where a damaged line has whole ones after
    /// it (a crash tears only the last line: each transaction is one line, one write).
    /// `transactions` are then those before the damage.
    pub damaged: Option<String>,
}

/// The generation a journal's first line names, if it has one.
pub(crate) fn generation_of(dir: &Path) -> Option<u64> {
    let mut head = [0u8; 64];
    let n = File::open(dir.join(LOG)).ok()?.read(&mut head).ok()?;
    let head = head.get(..n)?;
    let nl = head.iter().position(|&b| b == b'\n')?;
    std::str::from_utf8(&head[..nl])
        .ok()?
        .strip_prefix("mailstore-log ")?
        .parse()
        .ok()
}

/// One journal line as a transaction, if it is whole: its checksum matches and its records
/// read.
fn transaction(line: &[u8]) -> Option<Vec<Record<FileRef>>> {
    if line.len() < 18 || line[16] != b' ' {
        return None;
    }
    let sum = std::str::from_utf8(&line[..16])
        .ok()
        .and_then(|h| u64::from_str_radix(h, 16).ok())?;
    let body = &line[17..];
    if checksum(body) != sum {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// The transactions of journal generation `generation`, the one the snapshot of that
/// generation goes with (`0`: there is no snapshot). `None` if there is none to replay: no
/// snapshot and no journal, or the journal of an older generation, which a compaction
/// that stopped before installing its new journal leaves behind (the snapshot holds it).
///
/// [`StoreError::Corrupt`] where the journal cannot be what this store left beside a
/// snapshot: missing, empty or of a later generation; a damaged line with whole ones after
/// it is [`Found::damaged`]. Replaying the snapshot alone, or what can be read, would hand
/// out UIDs again under the same UIDVALIDITY (RFC 9051 §2.3.1.1): the mailbox must start
/// over.
pub(crate) fn read(dir: &Path, generation: u64) -> Result<Option<Found>> {
    let corrupt = |what: &str| {
        Err(StoreError::Corrupt(format!(
            "{}: {what}",
            dir.join(LOG).display()
        )))
    };
    let mut data = Vec::new();
    match File::open(dir.join(LOG)) {
        Ok(mut f) => {
            f.read_to_end(&mut data)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && generation == 0 => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return corrupt("missing"),
        Err(e) => return Err(e.into()),
    }
    let first_nl = data.iter().position(|&b| b == b'\n');
    let head = first_nl
        .and_then(|nl| std::str::from_utf8(&data[..nl]).ok())
        .and_then(|h| h.strip_prefix("mailstore-log "))
        .and_then(|g| g.parse::<u64>().ok());
    match head {
        Some(g) if g == generation => {}
        _ if generation == 0 => return Ok(None),
        Some(g) if g < generation => return Ok(None),
        Some(g) => {
            return corrupt(&format!(
                "generation {g}, after the snapshot's {generation}"
            ));
        }
        None => return corrupt("no header line"),
    }
    let mut transactions = Vec::new();
    let mut pos = first_nl.map_or(0, |nl| nl + 1);
    while pos < data.len() {
        let Some(len) = data[pos..].iter().position(|&b| b == b'\n') else {
            break; // zeros, or a torn last line
        };
        let Some(tx) = transaction(&data[pos..pos + len]) else {
            break;
        };
        transactions.push(tx);
        pos += len + 1;
    }
    let rest = data.get(pos..).unwrap_or_default();
    let damaged = rest
        .split(|&b| b == b'\n')
        .skip(1)
        .any(|line| transaction(line).is_some())
        .then(|| {
            format!(
                "{}: a damaged transaction after {} whole ones, and whole ones after it",
                dir.join(LOG).display(),
                transactions.len()
            )
        });
    Ok(Some(Found {
        transactions,
        valid_len: pos as u64,
        dirty_tail: rest.iter().any(|&b| b != 0),
        damaged,
    }))
}

/// An open journal.
pub(crate) struct Journal {
    file: File,
    /// Where the next transaction goes.
    pos: u64,
    /// The file's length: zeros from `pos` to here.
    len: u64,
    /// The room to keep written in advance.
    reserve: u64,
    durable: bool,
}

/// Writes zeros at the end of `file` until it is `target` octets long, or the disk is full.
/// Returns the length reached.
fn extend(file: &mut File, mut len: u64, target: u64) -> io::Result<u64> {
    if len >= target {
        return Ok(len);
    }
    file.seek(SeekFrom::Start(len))?;
    while len < target {
        let n = usize::try_from(target - len).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
        match file.write(&ZEROS[..n]) {
            Ok(0) => break,
            Ok(k) => len += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if crate::error::is_no_space(&e) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

impl Journal {
    /// Writes a new journal of `generation` beside the current one (`mailstore-log.tmp`):
    /// its first line, then as much of the room as the disk takes. [`Staged::install`] puts
    /// it in place.
    pub fn stage(dir: &Path, generation: u64, reserve: u64, durable: bool) -> Result<Staged> {
        let tmp = dir.join(format!("{LOG}.tmp"));
        let res = (|| -> Result<Journal> {
            let mut file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            let head = format!("mailstore-log {generation}\n");
            file.write_all(head.as_bytes())?;
            let pos = head.len() as u64;
            let len = extend(&mut file, pos, pos + reserve)?;
            if durable {
                file.sync_all()?;
            }
            Ok(Journal {
                file,
                pos,
                len,
                reserve,
                durable,
            })
        })();
        match res {
            Ok(journal) => Ok(Staged { tmp, journal }),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// Opens the journal `read` found, to write after its last whole transaction: a torn
    /// line after it is overwritten with zeros (in place), and the room is written again if
    /// the disk has space.
    pub fn open(dir: &Path, found: &Found, reserve: u64, durable: bool) -> Result<Journal> {
        let mut file = File::options().read(true).write(true).open(dir.join(LOG))?;
        let len = file.metadata()?.len();
        let pos = found.valid_len.min(len);
        if found.dirty_tail {
            file.seek(SeekFrom::Start(pos))?;
            let mut left = len - pos;
            while left > 0 {
                let n = usize::try_from(left).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
                file.write_all(&ZEROS[..n])?;
                left -= n as u64;
            }
            if durable {
                file.sync_data()?;
            }
        }
        let mut j = Journal {
            file,
            pos,
            len,
            reserve,
            durable,
        };
        j.top_up();
        Ok(j)
    }

    /// The room left for transactions.
    pub fn room(&self) -> u64 {
        self.len - self.pos
    }

    /// Makes sure `line` fits now (writing more room if it must), leaving half the reserve
    /// unused unless the transaction is a deletion.
    pub fn fit(&mut self, line: usize, purpose: Purpose) -> Result<()> {
        let keep = match purpose {
            Purpose::Ordinary => self.reserve / 2,
            Purpose::Deleting => 0,
        };
        let need = line as u64 + keep;
        if self.room() >= need {
            return Ok(());
        }
        let target = self.pos + need + self.reserve / 2;
        self.len = extend(&mut self.file, self.len, target)?;
        if self.room() >= need {
            return Ok(());
        }
        // The disk is full. If the transaction is larger than the room a deletion may use,
        // fewer messages at a time could fit.
        if line as u64 > self.room().saturating_sub(keep) && self.room() > keep + 1024 {
            return Err(StoreError::Limit(
                "the disk is full: change fewer messages at a time",
            ));
        }
        Err(StoreError::NoSpace)
    }

    /// Writes one or more transaction lines (already [`fit`](Self::fit)) as one write, and
    /// makes them durable.
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let res = (|| -> io::Result<()> {
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file.write_all(bytes)?;
            if self.durable {
                self.file.sync_data()?;
            }
            Ok(())
        })();
        match res {
            Ok(()) => {
                self.pos += bytes.len() as u64;
                self.len = self.len.max(self.pos);
                Ok(())
            }
            Err(e) => {
                // What reached the file is no transaction: back to zeros (in place), so a
                // shorter line written there later is not followed by part of this one.
                let _ = self.file.seek(SeekFrom::Start(self.pos)).and_then(|_| {
                    let n = bytes.len().min(usize::try_from(self.room()).unwrap_or(0));
                    self.file.write_all(&vec![0; n])
                });
                Err(e.into())
            }
        }
    }

    /// Writes the room back up to the reserve if the disk has space (after a deletion freed
    /// some, or after opening).
    pub fn top_up(&mut self) {
        if self.room() >= self.reserve {
            return;
        }
        if let Ok(len) = extend(&mut self.file, self.len, self.pos + self.reserve) {
            self.len = len;
        }
    }
}

/// A new journal written beside the current one.
pub(crate) struct Staged {
    tmp: PathBuf,
    journal: Journal,
}

impl Staged {
    /// Renames the new journal over the current one.
    pub fn install(self, dir: &Path) -> Result<Journal> {
        fs::rename(&self.tmp, dir.join(LOG))?;
        if self.journal.durable {
            sync_dir(dir)?;
        }
        Ok(self.journal)
    }

    /// Removes the new journal.
    pub fn abandon(self) {
        let _ = fs::remove_file(&self.tmp);
    }
}
