//! Message files: finding one another program may have renamed, its structure, names for
//! new ones, and linking (or copying) durably.

use std::{
    fs::{self, File},
    io,
    path::{Path, PathBuf},
};

use super::{FileRef, disk::Disk, index, names::split_info};
use crate::{
    engine::{MessageMeta, to_crlf},
    error::Result,
    mime::MimeInfo,
    upload::unique_name,
};

impl Disk {
    /// Where the index last saw the message file.
    pub(super) fn path_of(dir: &Path, blob: &FileRef) -> PathBuf {
        dir.join(if blob.new { "new" } else { "cur" })
            .join(&blob.file)
    }

    /// The message's current path, following a rename by another program.
    pub(super) fn locate(dir: &Path, blob: &FileRef) -> io::Result<PathBuf> {
        let p = Self::path_of(dir, blob);
        if p.exists() {
            return Ok(p);
        }
        let base = split_info(&blob.file).0;
        for sub in ["cur", "new"] {
            for e in fs::read_dir(dir.join(sub))?.flatten() {
                if let Ok(f) = e.file_name().into_string()
                    && e.file_type().is_ok_and(|t| t.is_file())
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

    /// The message's structure: from the cache, or parsed from the file.
    pub(super) fn mime_of(dir: &Path, blob: &FileRef) -> Result<MimeInfo> {
        if let Some(off) = blob.cache
            && let Some(m) = index::read_cache(dir, off, split_info(&blob.file).0)
        {
            return Ok(m);
        }
        let data = fs::read(Self::locate(dir, blob)?)?;
        if blob.raw {
            return Ok(MimeInfo::parse(&data));
        }
        Ok(MimeInfo::parse(&to_crlf(&data).unwrap_or(data)))
    }

    /// A new, unique base name, with the sizes Dovecot reads from it (`S=`, `W=`).
    pub(super) fn new_base(meta: &MessageMeta<()>) -> String {
        format!("{},S={},W={}", unique_name(), meta.size, meta.vsize)
    }

    /// Stages a copy of `src` as `staged` (in a `tmp/` directory) durably: a hard link, or
    /// where the file system has none, a copy written and fsynced.
    pub(super) fn stage_copy(&self, src: &Path, staged: &Path) -> Result<()> {
        if fs::hard_link(src, staged).is_err() {
            let res = fs::copy(src, staged).and_then(|_| {
                if self.durable() {
                    File::open(staged)?.sync_all()?;
                }
                Ok(())
            });
            if let Err(e) = res {
                let _ = fs::remove_file(staged);
                return Err(e.into());
            }
        }
        if let Some(tmp) = staged.parent() {
            self.note_staged(tmp);
        }
        Ok(())
    }
}
