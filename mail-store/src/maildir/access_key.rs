//! A mailbox's URLAUTH access key on disk: `mailstore-urlauth-key` in the mailbox's folder,
//! 64 hexadecimal digits, readable by the owner only. It is replaced atomically (temporary
//! file, fsync, rename, fsync of the folder) and goes with the folder when the mailbox is
//! renamed or deleted.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::Path,
};

use super::{disk::not_found, index::sync_dir};
use crate::{
    access_key::AccessKey,
    error::{Result, StoreError},
};

const FILE: &str = "mailstore-urlauth-key";

/// The key kept in the mailbox folder `dir`, if any.
pub(super) fn load(dir: &Path) -> Result<Option<AccessKey>> {
    let path = dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(text) => AccessKey::from_hex(text.trim_end())
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("{}: not an access key", path.display()))),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Replaces (or with `None` removes) the key of the mailbox folder `dir`.
pub(super) fn save(dir: &Path, key: Option<&AccessKey>, durable: bool) -> Result<()> {
    let path = dir.join(FILE);
    match key {
        None => match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if not_found(&e) => return Ok(()),
            Err(e) => return Err(e.into()),
        },
        Some(key) => {
            let tmp = dir.join(format!("{FILE}.tmp"));
            let written = write_private(&tmp, format!("{}\n", key.to_hex()).as_bytes(), durable)
                .and_then(|()| fs::rename(&tmp, &path));
            if let Err(e) = written {
                let _ = fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
    }
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Writes a new file only its owner may read.
fn write_private(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f: File = options.open(path)?;
    f.write_all(bytes)?;
    if durable {
        f.sync_all()?;
    }
    Ok(())
}
