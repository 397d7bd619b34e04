//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

use sansmail_store::maildir::{MaildirOptions, MaildirStore};

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "mail-store-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn maildir_store(dir: &Path) -> MaildirStore {
    MaildirStore::open(dir, MaildirOptions::default()).unwrap()
}

pub fn maildir_fixture() -> sansmail_store::testkit::Fixture<MaildirStore> {
    let dir = TempDir::new("kit");
    let store = maildir_store(dir.path());
    sansmail_store::testkit::Fixture::new(store).with_guard(dir)
}
