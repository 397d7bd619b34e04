//! Durable delivery into Maildir folders (`tmp/` → fsync → `new/`).
//!
//! A stop-gap for the SMTP example until `mail-store` provides the shared storage trait: it
//! writes exactly the on-disk layout that store uses, `<data-dir>/<user>/Maildir/{tmp,new,cur}`.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// A message being received, written to a spool file as it arrives.
#[derive(Debug)]
pub struct Incoming {
    path: PathBuf,
    file: io::BufWriter<File>,
    size: u64,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique on this host: `<secs>.M<micros>P<pid>Q<counter>.<host>` (the Maildir
/// convention).
fn unique_name(hostname: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let host: String = hostname
        .chars()
        .map(|c| if c == '/' || c == ':' { '_' } else { c })
        .collect();
    format!(
        "{}.M{}P{}Q{n}.{host}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id()
    )
}

/// The Maildir of `user` under `data_dir`, created if needed.
pub fn maildir(data_dir: &Path, user: &str) -> io::Result<PathBuf> {
    let dir = data_dir.join(user).join("Maildir");
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    Ok(dir)
}

impl Incoming {
    /// Starts a spool file in `spool_dir` (a Maildir's `tmp/`, so that delivery is a rename
    /// or a link on the same file system).
    pub fn create(spool_dir: &Path, hostname: &str) -> io::Result<Self> {
        let path = spool_dir.join(unique_name(hostname));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok(Self {
            path,
            file: io::BufWriter::new(file),
            size: 0,
        })
    }

    /// Appends message data.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.size += data.len() as u64;
        self.file.write_all(data)
    }

    /// Octets written.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the message durable in every Maildir of `targets` (each a Maildir root), then
    /// removes the spool file. Returns one result per target. A target's result is `Ok` only
    /// once the message file and the `new/` directory holding it are fsynced.
    pub fn deliver(
        self,
        targets: &[PathBuf],
        hostname: &str,
    ) -> io::Result<Vec<io::Result<PathBuf>>> {
        let file = self
            .file
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        let results = targets
            .iter()
            .map(|dir| deliver_one(&self.path, dir, hostname))
            .collect();
        fs::remove_file(&self.path)?;
        Ok(results)
    }

    /// Drops the message.
    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.path);
    }
}

fn deliver_one(spool: &Path, maildir: &Path, hostname: &str) -> io::Result<PathBuf> {
    let name = unique_name(hostname);
    let tmp = maildir.join("tmp").join(&name);
    // A hard link shares the fsynced data; fall back to a copy across file systems.
    if fs::hard_link(spool, &tmp).is_err() {
        fs::copy(spool, &tmp)?;
        File::open(&tmp)?.sync_all()?;
    }
    let new = maildir.join("new").join(&name);
    fs::rename(&tmp, &new)?;
    File::open(maildir.join("new"))?.sync_all()?;
    Ok(new)
}
