//! Our index beside the messages: a snapshot file rewritten atomically, a journal of
//! checksummed transactions appended between snapshots, and a cache of parsed structures.
//!
//! - `mailstore-index`: one JSON line with the mailbox header, keywords and expunge log, then
//!   one JSON line per message. Written to a temporary file, fsynced, renamed over the old
//!   one, and the directory fsynced.
//! - `mailstore-log`: the journal of transactions since the snapshot (see
//!   [`journal`](super::journal)). A snapshot records the generation it contains; a journal
//!   of an older generation is ignored (the crash happened between writing a snapshot and
//!   installing its journal).
//! - `mailstore-cache`: ENVELOPE/BODYSTRUCTURE JSON lines, appended without fsync and found
//!   by offset; a missing or damaged entry is recomputed from the message file.

use std::{
    fs::{self, File},
    io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write},
    path::Path,
};

use serde::{Deserialize, Serialize};

use super::FileRef;
use crate::{
    engine::{Header, MailboxState, MessageMeta},
    error::{Result, StoreError},
    mime::MimeInfo,
    types::{Keyword, ModSeq, Uid},
};

pub(crate) const INDEX: &str = "mailstore-index";
pub(crate) const CACHE: &str = "mailstore-cache";

#[derive(Serialize, Deserialize)]
struct Head {
    v: u32,
    generation: u64,
    count: usize,
    header: Header,
    keywords: Vec<Keyword>,
    expunged: Vec<(Uid, ModSeq)>,
    /// Where the expunge history starts (absent in snapshots of earlier versions: all of it).
    #[serde(default, skip_serializing_if = "is_zero")]
    expunged_floor: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
/// A temporary file that could not be written whole (a full disk) is removed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if durable && let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Writes a snapshot of `state` as generation `generation`.
pub(crate) fn write_snapshot(
    dir: &Path,
    state: &MailboxState<FileRef>,
    generation: u64,
    durable: bool,
) -> Result<()> {
    let path = dir.join(INDEX);
    let tmp = dir.join(format!("{INDEX}.tmp"));
    let res = (|| -> io::Result<()> {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        let head = Head {
            v: 1,
            generation,
            count: state.messages.len(),
            header: state.header.clone(),
            keywords: state.keywords.clone(),
            expunged: state.expunged.clone(),
            expunged_floor: state.expunged_floor,
        };
        serde_json::to_writer(&mut w, &head).map_err(io::Error::from)?;
        w.write_all(b"\n")?;
        for m in &state.messages {
            serde_json::to_writer(&mut w, m).map_err(io::Error::from)?;
            w.write_all(b"\n")?;
        }
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = res {
        // A full disk: what was written of the new snapshot goes; the old one stays.
        let _ = fs::remove_file(&tmp);
        return Err(e.into());
    }
    // Renamed: the new snapshot is the one readers see, so the caller must go on as if it
    // stood (a compaction installs its journal), whatever the directory's fsync says. Were
    // the rename lost in a crash after all, the old snapshot beside the new journal reads
    // as damaged and the mailbox starts over, rather than dropping the journal's changes.
    if durable {
        let _ = sync_dir(dir);
    }
    Ok(())
}

/// Reads a snapshot: `Ok(None)` if there is none, `Err(Corrupt)` if it cannot be trusted.
pub(crate) fn read_snapshot(dir: &Path) -> Result<Option<(MailboxState<FileRef>, u64)>> {
    let file = match File::open(dir.join(INDEX)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("{}: {what}", dir.join(INDEX).display()));
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let head: Head = serde_json::from_str(&line).map_err(|_| corrupt("bad header line"))?;
    let mut state = MailboxState::new(head.header);
    state.keywords = head.keywords;
    state.expunged = head.expunged;
    state.expunged_floor = head.expunged_floor;
    state.messages.reserve(head.count);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let m: MessageMeta<FileRef> =
            serde_json::from_str(&line).map_err(|_| corrupt("bad message line"))?;
        state.size += m.size;
        state.messages.push(m);
    }
    if state.messages.len() != head.count {
        return Err(corrupt("truncated"));
    }
    if state.messages.windows(2).any(|w| w[0].uid >= w[1].uid) {
        return Err(corrupt("UIDs out of order"));
    }
    Ok(Some((state, head.generation)))
}

#[derive(Serialize, Deserialize)]
struct CacheEntry<'a> {
    b: std::borrow::Cow<'a, str>,
    m: MimeInfo,
}

/// Appends a message's structure to the cache; returns its offset.
pub(crate) fn append_cache(dir: &Path, base: &str, mime: &MimeInfo) -> Option<u64> {
    let mut f = File::options()
        .append(true)
        .create(true)
        .open(dir.join(CACHE))
        .ok()?;
    let offset = f.metadata().ok()?.len();
    let mut line = serde_json::to_vec(&CacheEntry {
        b: base.into(),
        m: mime.clone(),
    })
    .ok()?;
    line.push(b'\n');
    f.write_all(&line).ok()?;
    Some(offset)
}

/// Reads a structure from the cache if the entry at `offset` is whole and belongs to `base`.
pub(crate) fn read_cache(dir: &Path, offset: u64, base: &str) -> Option<MimeInfo> {
    let mut f = File::open(dir.join(CACHE)).ok()?;
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut line = Vec::new();
    BufReader::new(f).read_until(b'\n', &mut line).ok()?;
    let e: CacheEntry<'_> = serde_json::from_slice(&line).ok()?;
    (e.b == base).then_some(e.m)
}
