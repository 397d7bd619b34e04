//! The server's certificate: `--cert`/`--key` PEM files, or a self-signed one generated at
//! first start and kept in the data directory. The plaintext-or-TLS connection and the rustls
//! configurations are `sansmail_core::tls`'s.

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::ServerConfig;
use sansmail_core::tls::SelfSigned;
pub use sansmail_core::tls::{TlsAcceptor, TlsConnector, Verify, client_config, load_pem};
use tokio::net::TcpStream;

/// A connection of the listeners and of `mailctl`: plaintext until TLS starts.
pub type Stream = sansmail_core::tls::Stream<TcpStream>;

/// Where the server's certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// PEM files: the certificate chain and its private key.
    Files {
        /// The certificate chain, leaf first.
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A self-signed certificate for the server's host name, generated at first start as
    /// `<data-dir>/tls/cert.pem` and `key.pem`, reused afterwards.
    SelfSigned,
}

/// The self-signed certificate in `dir` (`cert.pem`, `key.pem`), generated for `hostname`
/// (and `localhost`, 127.0.0.1, ::1) when it is not there yet. Returns the two paths.
pub fn self_signed(dir: &Path, hostname: &str) -> io::Result<(PathBuf, PathBuf)> {
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(dir)?;
    let mut names = vec![hostname, "localhost"];
    names.dedup();
    names.extend(["127.0.0.1", "::1"]);
    let generated = SelfSigned::generate(&names)?;
    // Written beside, then renamed: a crash never leaves half a key to be reused.
    let write = |path: &Path, text: &str, private: bool| -> io::Result<()> {
        let tmp = path.with_extension("pem.tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            if private {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            #[cfg(not(unix))]
            let _ = private;
            let mut f = options.open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    };
    write(&key_path, &generated.key_pem, true)?;
    write(&cert_path, &generated.cert_pem, false)?;
    Ok((cert_path, key_path))
}

/// The server's rustls configuration.
pub fn server_config(
    source: &CertSource,
    data_dir: &Path,
    hostname: &str,
) -> io::Result<Arc<ServerConfig>> {
    let (cert, key) = match source {
        CertSource::Files { cert, key } => (cert.clone(), key.clone()),
        CertSource::SelfSigned => self_signed(&data_dir.join("tls"), hostname)?,
    };
    sansmail_core::tls::server_config(&cert, &key)
}
