//! `mailctl`: a mail client on the crates' client sessions. `send` (SMTP/submission), `imap
//! list|fetch|watch|flag`, `pop3 fetch`. Each command is an async function here so the
//! tests can run them too; `src/bin/mailctl.rs` parses the command line.
//!
//! Like the server's drivers, this holds no protocol rule: the sessions decide what to send
//! and when; this code moves bytes, runs the TLS handshakes the sessions ask for, and
//! turns events into output.

pub mod imap;
pub mod pop3;
pub mod smtp;

use std::{
    io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant, SystemTime},
};

use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::tls::{self, Stream, TlsConnector, Verify};

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

/// A connection to the server: bytes in and out, TLS when the session asks for it.
pub(crate) struct Conn {
    stream: Stream,
    host: String,
    verify: Verify,
    buf: Vec<u8>,
    timeout: Duration,
}

impl Conn {
    /// Connects (and runs the handshake at once for implicit TLS).
    pub(crate) async fn open(ep: &Endpoint) -> io::Result<Self> {
        let tcp = tokio::time::timeout(ep.timeout, TcpStream::connect((ep.host.as_str(), ep.port)))
            .await
            .map_err(|_| fail(format!("{}:{}: connection timed out", ep.host, ep.port)))?
            .map_err(|e| fail(format!("{}:{}: {e}", ep.host, ep.port)))?;
        let _ = tcp.set_nodelay(true);
        let mut conn = Self {
            stream: Stream::Plain(tcp),
            host: ep.host.clone(),
            verify: ep.verify.clone(),
            buf: vec![0; 64 * 1024],
            timeout: ep.timeout,
        };
        if ep.security == Security::Implicit {
            conn.start_tls().await?;
        }
        Ok(conn)
    }

    /// The client side of the TLS handshake. Called after the session has consumed
    /// everything read so far (it discards what followed the server's go-ahead).
    pub(crate) async fn start_tls(&mut self) -> io::Result<()> {
        let connector = TlsConnector::from(tls::client_config(&self.verify)?);
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| fail(format!("{}: {e}", self.host)))?;
        tokio::time::timeout(self.timeout, self.stream.connect_tls(&connector, name))
            .await
            .map_err(|_| fail("TLS handshake timed out"))?
            .map_err(|e| fail(format!("TLS handshake: {e}")))
    }

    /// Sends what the session queued.
    pub(crate) async fn write(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        if !out.is_empty() {
            self.stream.write_all(out).await?;
            self.stream.flush().await?;
            out.clear();
        }
        Ok(())
    }

    /// Reads what arrives before `deadline` (the session's, or the connection timeout):
    /// `Ok(None)` on timeout, an empty slice at the end of the stream.
    pub(crate) async fn read(&mut self, deadline: Option<Instant>) -> io::Result<Option<&[u8]>> {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + self.timeout);
        let deadline = tokio::time::Instant::from_std(deadline);
        match tokio::time::timeout_at(deadline, self.stream.read(&mut self.buf)).await {
            Err(_) => Ok(None),
            Ok(Ok(n)) => Ok(Some(&self.buf[..n])),
            Ok(Err(e)) => Err(e),
        }
    }

    /// Reads with no deadline (IDLE waits as long as it takes).
    pub(crate) async fn read_forever(&mut self) -> io::Result<&[u8]> {
        let n = self.stream.read(&mut self.buf).await?;
        Ok(&self.buf[..n])
    }

    pub(crate) async fn close(&mut self) {
        let _ = self.stream.shutdown().await;
    }
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
