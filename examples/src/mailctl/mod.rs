//! `mailctl`: a mail client on the protocol crates' client drivers. `send`
//! (SMTP/submission), `imap list|fetch|watch|flag`, `pop3 fetch`. Each command is an async
//! function here so the tests can run them too; `src/bin/mailctl.rs` parses the command line.

pub mod imap;
pub mod pop3;
pub mod smtp;

use std::{
    io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime},
};

use crate::tls::Verify;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plaintext only (a test server without TLS).
    None,
    /// STARTTLS/STLS, required: the session fails if the server does not offer it.
    StartTls,
    /// TLS from the first byte (ports 465, 993, 995).
    Implicit,
}

impl Security {
    /// `none`, `starttls` or `implicit`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "starttls" | "stls" => Some(Self::StartTls),
            "implicit" | "tls" => Some(Self::Implicit),
            _ => None,
        }
    }
}

/// Where to connect and how.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// How the server's certificate is checked.
    pub verify: Verify,
    /// User name and password, if logging in.
    pub login: Option<(String, String)>,
    /// How long to wait for the server at any step.
    pub timeout: Duration,
}

/// Fails with a message for the user.
pub(crate) fn fail(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// Writes a message into a Maildir's `new/` (through `tmp/`, synced, then renamed: a
/// reader never sees half a message). Returns its path.
pub fn maildir_deliver(maildir: &Path, content: &[u8]) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub))?;
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let name = format!(
        "{}.M{}P{}Q{}.mailctl",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let tmp = maildir.join("tmp").join(&name);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
    }
    let dest = maildir.join("new").join(&name);
    std::fs::rename(&tmp, &dest)?;
    Ok(dest)
}
