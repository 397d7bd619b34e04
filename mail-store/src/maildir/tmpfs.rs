//! A small file system of its own for a test: a tmpfs mounted (as root; CI runs as root) on
//! a temporary directory, filled to the last byte on demand.

use std::{
    fs::File,
    io::{self, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

/// A tmpfs of a given size, unmounted and removed when dropped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` octets. Fails the test, saying why, when it cannot (a tmpfs
    /// needs root).
    pub fn mount(tag: &str, size: u64) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mail-store-fs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Tmpfs(dir),
            Ok(o) => panic!(
                "this test needs a small file system of its own and could not mount a tmpfs on \
                 {} (it must run as root, as .ci/run does): {}",
                dir.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!("this test needs `mount` (and root) to mount a tmpfs: {e}"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Fills the file system to the last byte with a file `filler`; returns its path.
    pub fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0x5a; chunk];
            loop {
                match f.write(&buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::StorageFull => break,
                    Err(e) => panic!("filling {}: {e}", path.display()),
                }
            }
        }
        f.sync_all().unwrap();
        assert_eq!(self.free(), 0, "the file system is full");
        path
    }

    /// Removes the filler: space again.
    pub fn unfill(&self) {
        let _ = std::fs::remove_file(self.0.join("filler"));
    }

    /// Free octets, as `df` reports them.
    pub fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.0)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}
