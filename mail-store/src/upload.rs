//! A message being received, buffered in memory and spilled to a spool file when large.

use std::{
    fs::{self, File},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// Messages up to this size stay in memory.
pub const SPILL_THRESHOLD: usize = 1 << 20;

/// Message octets streamed in chunks from a protocol session (IMAP literal, SMTP DATA/BDAT).
///
/// Get one from [`MailStore::upload`](crate::MailStore::upload), feed it with
/// [`write`](Self::write), then hand it to an append or a delivery. Past
/// [`SPILL_THRESHOLD`] octets it moves to a spool file the backend chose (for the Maildir
/// backend a file on the same file system, so storing it is a link, not a copy); the file is
/// removed when the upload is dropped. `write` is plain buffered file I/O without fsync.
#[derive(Debug)]
pub struct Upload {
    buf: Vec<u8>,
    spool_dir: Option<PathBuf>,
    file: Option<(PathBuf, io::BufWriter<File>)>,
    len: u64,
    /// Stored as it is, bare LFs included (see [`Upload::keep_line_ends`]).
    keep_line_ends: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file name unique on this host: `<secs>.M<micros>P<pid>Q<counter>.<host>`, the Maildir
/// convention.
pub(crate) fn unique_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.M{}P{}Q{n}.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        hostname()
    )
}

/// Whether `name` is one [`unique_name`] makes (the `Q<counter>` part is ours: Dovecot's
/// names are `<secs>.M<micros>P<pid>.<host>`, and other deliverers differ more).
pub(crate) fn is_own_name(name: &str) -> bool {
    fn digits(s: &str) -> Option<&str> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| &s[n..])
    }
    (|| {
        let s = digits(name)?.strip_prefix(".M")?;
        let s = digits(s)?.strip_prefix('P')?;
        let s = digits(s)?.strip_prefix('Q')?;
        digits(s)?.strip_prefix('.')
    })()
    .is_some()
}

/// Whether `name`, one [`unique_name`] makes, was made on this host: its host part (after
/// `Q<counter>.`, up to `,` or `:`) is this host's name.
pub(crate) fn from_this_host(name: &str) -> bool {
    let Some(q) = name.find('Q') else {
        return false;
    };
    let rest = &name[q + 1..];
    let host = rest
        .find('.')
        .map(|dot| &rest[dot + 1..])
        .map(|h| h.split([',', ':']).next().unwrap_or(h));
    host == Some(hostname())
}

fn hostname() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let h = fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| fs::read_to_string("/etc/hostname"))
            .unwrap_or_else(|_| "localhost".into());
        // Maildir: '/' and ':' may not appear in the host part.
        h.trim()
            .chars()
            .map(|c| match c {
                '/' => "\\057".to_owned(),
                ':' => "\\072".to_owned(),
                ',' => "\\054".to_owned(),
                c => c.to_string(),
            })
            .collect()
    })
}

impl Upload {
    /// An upload that never spills (memory only).
    pub fn in_memory() -> Self {
        Self {
            buf: Vec::new(),
            spool_dir: None,
            file: None,
            len: 0,
            keep_line_ends: false,
        }
    }

    /// An upload that spills into `dir` past [`SPILL_THRESHOLD`].
    pub fn spilling_to(dir: impl Into<PathBuf>) -> Self {
        Self {
            buf: Vec::new(),
            spool_dir: Some(dir.into()),
            file: None,
            len: 0,
            keep_line_ends: false,
        }
    }

    /// A finished upload holding `data` (convenient for tests and small messages).
    pub fn from_bytes(data: impl Into<Vec<u8>>) -> Self {
        let buf = data.into();
        Self {
            len: buf.len() as u64,
            buf,
            spool_dir: None,
            file: None,
            keep_line_ends: false,
        }
    }

    /// Has the message stored octet for octet: its bare LFs are not turned into CRLF as
    /// they otherwise are. For binary content, as an IMAP APPEND with a `literal8` sends it
    /// (RFC 3516 §4.3, RFC 9051 §6.3.12).
    pub fn keep_line_ends(&mut self) {
        self.keep_line_ends = true;
    }

    /// Whether the message is stored octet for octet ([`Upload::keep_line_ends`]).
    pub fn keeps_line_ends(&self) -> bool {
        self.keep_line_ends
    }

    /// Appends a chunk.
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.len += chunk.len() as u64;
        if let Some((_, f)) = &mut self.file {
            return f.write_all(chunk);
        }
        self.buf.extend_from_slice(chunk);
        if self.buf.len() > SPILL_THRESHOLD
            && let Some(dir) = &self.spool_dir
        {
            fs::create_dir_all(dir)?;
            let path = dir.join(unique_name());
            let file = File::options().write(true).create_new(true).open(&path)?;
            let mut w = io::BufWriter::new(file);
            w.write_all(&self.buf)?;
            self.buf = Vec::new();
            self.file = Some((path, w));
        }
        Ok(())
    }

    /// Octets received.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flushes and fsyncs the spool file, if the upload spilled, and returns its path (a
    /// backend on the same file system can link it into place instead of copying).
    pub fn finish_file(&mut self) -> io::Result<Option<&Path>> {
        match &mut self.file {
            Some((path, w)) => {
                w.flush()?;
                w.get_ref().sync_all()?;
                Ok(Some(path))
            }
            None => Ok(None),
        }
    }

    /// All octets (read back from the spool file if it spilled).
    pub fn bytes(&mut self) -> io::Result<std::borrow::Cow<'_, [u8]>> {
        match &mut self.file {
            Some((path, w)) => {
                w.flush()?;
                let mut v = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
                File::open(path)?.read_to_end(&mut v)?;
                Ok(v.into())
            }
            None => Ok((&self.buf[..]).into()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some((path, _)) = self.file.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("mail-store-upload-{}", unique_name()));
        let mut u = Upload::spilling_to(&dir);
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..20 {
            u.write(&chunk).unwrap();
        }
        assert_eq!(u.len(), 20 * 64 * 1024);
        let path = u.finish_file().unwrap().unwrap().to_owned();
        assert!(path.exists());
        assert_eq!(u.bytes().unwrap().len(), 20 * 64 * 1024);
        drop(u);
        assert!(!path.exists());
        let _ = fs::remove_dir_all(dir);
    }
}
