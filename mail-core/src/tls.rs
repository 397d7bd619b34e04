//! TLS for the drivers: a connection that is plaintext until TLS starts, and rustls
//! configurations for both sides.
//!
//! [`Stream`] starts plaintext and switches to TLS once: at once for implicit TLS (ports 465,
//! 993, 995, RFC 8314), or when a session says STARTTLS/STLS was accepted. The switch reads
//! only the handshake's own records, so plaintext a peer pipelined behind the command fails the
//! handshake instead of reaching the session (the CVE-2011-0411 class; the sessions also drop
//! what they buffered).
//!
//! The crypto provider is rustls' `ring`, as the workspace pins.

use std::{
    fmt, io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use rustls::{
    ClientConfig, ServerConfig,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, UnixTime, pem::PemObject},
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use rustls::{ProtocolVersion, pki_types::ServerName};

/// The server side of TLS: runs handshakes with one server configuration.
#[derive(Clone)]
pub struct TlsAcceptor(tokio_rustls::TlsAcceptor);

impl From<Arc<ServerConfig>> for TlsAcceptor {
    fn from(config: Arc<ServerConfig>) -> Self {
        Self(config.into())
    }
}

impl TlsAcceptor {
    /// An acceptor for the certificate chain and key in PEM files.
    pub fn from_pem(cert: &Path, key: &Path) -> io::Result<Self> {
        server_config(cert, key).map(Self::from)
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsAcceptor")
    }
}

/// The client side of TLS: runs handshakes with one client configuration.
#[derive(Clone)]
pub struct TlsConnector(tokio_rustls::TlsConnector);

impl From<Arc<ClientConfig>> for TlsConnector {
    fn from(config: Arc<ClientConfig>) -> Self {
        Self(config.into())
    }
}

impl TlsConnector {
    /// A connector that checks server certificates as `verify` says.
    pub fn new(verify: &Verify) -> io::Result<Self> {
        client_config(verify).map(Self::from)
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsConnector")
    }
}

/// A connection: plaintext until TLS starts, TLS from then on.
pub enum Stream<IO> {
    /// Plaintext.
    Plain(IO),
    /// TLS, server or client side.
    Tls(Box<tokio_rustls::TlsStream<IO>>),
    /// A handshake failed half-way: nothing more can be read or written.
    Broken,
}

impl<IO> fmt::Debug for Stream<IO> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Stream::Plain",
            Self::Tls(_) => "Stream::Tls",
            Self::Broken => "Stream::Broken",
        })
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Stream<IO> {
    /// A plaintext connection.
    pub fn plain(io: IO) -> Self {
        Self::Plain(io)
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }

    /// The TLS version in use, once TLS is active.
    pub fn tls_version(&self) -> Option<ProtocolVersion> {
        match self {
            Self::Tls(s) => s.get_ref().1.protocol_version(),
            _ => None,
        }
    }

    /// The plaintext transport underneath.
    pub fn get_ref(&self) -> Option<&IO> {
        match self {
            Self::Plain(io) => Some(io),
            Self::Tls(s) => Some(s.get_ref().0),
            Self::Broken => None,
        }
    }

    /// Runs the server side of the handshake (implicit TLS, or after STARTTLS was answered).
    /// Only the handshake's own bytes are read from the transport.
    pub async fn accept_tls(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        let Self::Plain(io) = std::mem::replace(self, Self::Broken) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let tls = acceptor.0.accept(io).await?;
        *self = Self::Tls(Box::new(tls.into()));
        Ok(())
    }

    /// Runs the client side of the handshake with `server_name` (checked against the
    /// server's certificate unless the configuration says otherwise).
    pub async fn connect_tls(
        &mut self,
        connector: &TlsConnector,
        server_name: ServerName<'static>,
    ) -> io::Result<()> {
        let Self::Plain(io) = std::mem::replace(self, Self::Broken) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let tls = connector.0.connect(server_name, io).await?;
        *self = Self::Tls(Box::new(tls.into()));
        Ok(())
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Self::Broken => Poll::Ready(Err(broken())),
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Self::Broken => Poll::Ready(Err(broken())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Self::Broken => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Self::Broken => Poll::Ready(Ok(())),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_error(path: &Path, e: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}

/// Reads a certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1) from
/// PEM files.
pub fn load_pem(
    cert: &Path,
    key: &Path,
) -> io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| pem_error(cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, e))?;
    if chain.is_empty() {
        return Err(pem_error(cert, "no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_error(key, e))?;
    Ok((chain, key_der))
}

/// A server configuration for the certificate chain and key in PEM files.
pub fn server_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let (chain, key_der) = load_pem(cert, key)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| pem_error(cert, e))?;
    Ok(Arc::new(config))
}

/// The ALPN protocol ID registered for IMAP (IANA's registry, after RFC 2595).
pub const ALPN_IMAP: &[u8] = b"imap";
/// The ALPN protocol ID registered for POP3 (IANA's registry, after RFC 2595).
pub const ALPN_POP3: &[u8] = b"pop3";

/// `config` for the listeners of one protocol: it offers `alpn` alone, so a client that
/// offers ALPN without it is refused in the handshake (`no_application_protocol`, RFC 7301
/// §3.2). A TLS connection meant for another protocol, such as a browser's in the ALPACA
/// cross-protocol attack, is then not served; clients that offer no ALPN, as most mail
/// clients, are served as before. The certificate (and its reloads) stays `config`'s.
pub fn for_protocol(config: &Arc<ServerConfig>, alpn: &[u8]) -> Arc<ServerConfig> {
    let mut config = ServerConfig::clone(config);
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// The TLS acceptors of a server of the three protocols: one configuration (one
/// certificate, and its reloads), with IMAP's and POP3's ALPN IDs ([`for_protocol`]; SMTP
/// has none registered).
#[derive(Debug, Clone)]
pub struct MailAcceptors {
    /// For SMTP, submission and LMTP.
    pub smtp: TlsAcceptor,
    /// For IMAP: ALPN `imap`.
    pub imap: TlsAcceptor,
    /// For POP3: ALPN `pop3`.
    pub pop3: TlsAcceptor,
}

impl MailAcceptors {
    /// The acceptors for `config`.
    pub fn new(config: &Arc<ServerConfig>) -> Self {
        Self {
            smtp: TlsAcceptor::from(Arc::clone(config)),
            imap: TlsAcceptor::from(for_protocol(config, ALPN_IMAP)),
            pop3: TlsAcceptor::from(for_protocol(config, ALPN_POP3)),
        }
    }
}

/// A server certificate that can be replaced while the server runs (a reload after the
/// certificate was renewed): handshakes from then on use the new one, connections already
/// running keep theirs. [`ReloadableCert::server_config`] gives the configuration whose
/// acceptor stays the same across reloads.
pub struct ReloadableCert {
    current: std::sync::RwLock<Arc<rustls::sign::CertifiedKey>>,
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReloadableCert")
    }
}

impl ReloadableCert {
    /// The certificate chain and key in PEM files.
    pub fn load(cert: &Path, key: &Path) -> io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            current: std::sync::RwLock::new(certified_key(cert, key)?),
        }))
    }

    /// Replaces the certificate with the one in these files; on an error the old one stays.
    pub fn reload(&self, cert: &Path, key: &Path) -> io::Result<()> {
        let new = certified_key(cert, key)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = new;
        Ok(())
    }

    /// A server configuration (safe default versions, no client certificates) that always
    /// presents the certificate in force.
    pub fn server_config(self: &Arc<Self>) -> io::Result<Arc<ServerConfig>> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn rustls::server::ResolvesServerCert>);
        Ok(Arc::new(config))
    }
}

impl rustls::server::ResolvesServerCert for ReloadableCert {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

/// The chain and key in PEM files, checked to belong together.
fn certified_key(cert: &Path, key: &Path) -> io::Result<Arc<rustls::sign::CertifiedKey>> {
    let (chain, key_der) = load_pem(cert, key)?;
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| pem_error(key, e))?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        pem_error(
            cert,
            format!(
                "{e} (the key in {} is not this certificate's)",
                key.display()
            ),
        )
    })?;
    Ok(Arc::new(certified))
}

/// How a client checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verify {
    /// Against the platform's trusted roots (`/etc/ssl/certs` on Debian).
    Platform,
    /// Against the CA certificates in a PEM file (a self-signed certificate is its own CA).
    CaFile(PathBuf),
    /// Not at all: only the signatures of the handshake are checked. For tests against a
    /// self-signed certificate, or opportunistic STARTTLS between MTAs (RFC 7435), where an
    /// unverified channel is still better than plaintext.
    Insecure,
}

/// A client configuration that checks certificates as `verify` says.
pub fn client_config(verify: &Verify) -> io::Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?;
    let config = match verify {
        Verify::Platform => {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_owned(), ToString::to_string);
                return Err(io::Error::other(format!(
                    "no trusted root certificates on this system: {why}"
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Verify::CaFile(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| pem_error(path, e))? {
                roots
                    .add(cert.map_err(|e| pem_error(path, e))?)
                    .map_err(|e| pem_error(path, e))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Verify::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The name a client checks the server's certificate against: a DNS name or an IP address.
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host}: not a host name: {e}"),
        )
    })
}

/// Accepts any certificate; the handshake's signatures are still checked.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A self-signed certificate and its key, generated on the spot (feature `self-signed`):
/// for a server's first start without a configured certificate, and for tests.
#[cfg(feature = "self-signed")]
#[cfg_attr(docsrs, doc(cfg(feature = "self-signed")))]
pub struct SelfSigned {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
    cert: CertificateDer<'static>,
    key_der: Vec<u8>,
}

#[cfg(feature = "self-signed")]
impl fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfSigned").finish_non_exhaustive()
    }
}

#[cfg(feature = "self-signed")]
impl SelfSigned {
    /// A certificate for `names` (DNS names or IP addresses).
    pub fn generate(names: &[&str]) -> io::Result<Self> {
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let generated = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
        Ok(Self {
            cert_pem: generated.cert.pem(),
            key_pem: generated.key_pair.serialize_pem(),
            cert: generated.cert.der().clone(),
            key_der: generated.key_pair.serialize_der(),
        })
    }

    /// A server configuration presenting this certificate.
    pub fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let key = PrivateKeyDer::Pkcs8(self.key_der.clone().into());
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)
            .map_err(io::Error::other)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// A client configuration that trusts this certificate (and nothing else).
    pub fn connector(&self) -> io::Result<TlsConnector> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.clone()).map_err(io::Error::other)?;
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConnector::from(Arc::new(config)))
    }
}
