//! Starting the mail server: one store, and the SMTP, submission, IMAP and POP3 listeners
//! (plaintext with STARTTLS/STLS, and implicit TLS) on it. The `mailserver` binary and the
//! interop tests both start it this way.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sansmail_smtp::session::Protocol;

use sansmail_server::{
    auth::{Accounts, Authenticator, ThrottleConfig},
    imap::ImapService,
    listener::{self, ConnectionLimits, Gate, Service},
    mailauth::{DnsRecord, KeyDir, KeyType, Signer, Verifier},
    outbound::dns::HickoryResolver,
    pop3::Pop3Service,
    smtp::SmtpService,
};
use sansmail_store::{
    AccountName, Executor, MailStore, Session, StoreError,
    maildir::{MaildirOptions, MaildirStore},
    provision::{DEFAULT_MAILBOXES, ensure_special_use},
};

use crate::{
    accounts::Directory,
    tls::{self, CertSource, TlsAcceptor},
};

/// The store every listener uses.
pub type Store = MaildirStore;

/// What to start. [`Options::new`] starts nothing; set the listeners wanted.
#[derive(Debug, Clone)]
pub struct Options {
    /// SMTP (STARTTLS offered), or `None`.
    pub smtp: Option<SocketAddr>,
    /// SMTP over implicit TLS (SMTPS, RFC 8314), or `None`.
    pub smtps: Option<SocketAddr>,
    /// Submission (RFC 6409: STARTTLS offered, AUTH required before MAIL), or `None`.
    pub submission: Option<SocketAddr>,
    /// LMTP (RFC 2033: for a trusted MTA that hands local mail over, one reply per
    /// recipient; STARTTLS offered, no AUTH), or `None`.
    pub lmtp: Option<SocketAddr>,
    /// IMAP (STARTTLS offered), or `None`.
    pub imap: Option<SocketAddr>,
    /// IMAP over implicit TLS, or `None`.
    pub imaps: Option<SocketAddr>,
    /// POP3 (STLS offered), or `None`.
    pub pop3: Option<SocketAddr>,
    /// POP3 over implicit TLS, or `None`.
    pub pop3s: Option<SocketAddr>,
    /// The server's certificate.
    pub cert: CertSource,
    /// Passwords in plaintext (no TLS) from loopback addresses. Off: every client needs
    /// TLS before it may log in.
    pub allow_plaintext_loopback: bool,
    /// Simultaneous connections, over all listeners.
    pub limits: ConnectionLimits,
    /// Where the Maildirs live (`<data-dir>/<user>/Maildir`).
    pub data_dir: PathBuf,
    /// The server's name in greetings (and in the self-signed certificate).
    pub hostname: String,
    /// Users and local domains.
    pub directory: Directory,
    /// SMTP and submission sessions' limits (line lengths, message size, recipients, errors,
    /// timeouts).
    pub smtp_limits: sansmail_smtp::Limits,
    /// Bare CR or LF in message data: stored as CRLF (the default, Postfix 3.9's), or the
    /// message refused with `550 5.6.0`. Only CRLF.CRLF ends the data either way.
    pub bare_line_endings: sansmail_smtp::codec::BareLineEndings,
    /// IMAP sessions' limits (lines, literals, nesting, bad commands, timeouts).
    pub imap_limits: sansmail_imap::Limits,
    /// POP3 sessions' limits (lines, errors, failed logins, idle timeout).
    pub pop3_limits: sansmail_pop3::Limits,
    /// Failed logins per client address, over all listeners: slowed down, then refused.
    pub throttle: ThrottleConfig,
    /// Octets of each mailbox's journal written in advance, so that deleting mail works on
    /// a full disk ([`MaildirOptions::journal_reserve`]).
    pub journal_reserve: u64,
    /// DKIM signing keys of the local domains, generated at the first start; `None` signs
    /// nothing. Their records are in [`Running::dkim_records`].
    pub dkim_keys: Option<PathBuf>,
    /// The DKIM selector (`sansmail`): `<selector>._domainkey.<domain>`.
    pub dkim_selector: String,
    /// SPF, DKIM and DMARC checks on SMTP (25, 465) with the system's resolvers.
    pub check_inbound: bool,
}

impl Options {
    /// No listener, a self-signed certificate, plaintext passwords from loopback, default
    /// connection limits.
    pub fn new(data_dir: impl Into<PathBuf>, hostname: &str, directory: Directory) -> Self {
        Self {
            smtp: None,
            smtps: None,
            submission: None,
            lmtp: None,
            imap: None,
            imaps: None,
            pop3: None,
            pop3s: None,
            cert: CertSource::SelfSigned,
            allow_plaintext_loopback: true,
            limits: ConnectionLimits::default(),
            data_dir: data_dir.into(),
            hostname: hostname.to_owned(),
            directory,
            smtp_limits: sansmail_smtp::Limits::default(),
            bare_line_endings: sansmail_smtp::codec::BareLineEndings::Normalize,
            imap_limits: sansmail_imap::Limits::default(),
            pop3_limits: sansmail_pop3::Limits::default(),
            throttle: ThrottleConfig::default(),
            journal_reserve: MaildirOptions::default().journal_reserve,
            dkim_keys: None,
            dkim_selector: "sansmail".to_owned(),
            check_inbound: false,
        }
    }
}

/// The running server: where each listener is bound, and the store they share.
#[derive(Debug)]
pub struct Running {
    /// The SMTP listener's address.
    pub smtp: Option<SocketAddr>,
    /// The SMTPS listener's address.
    pub smtps: Option<SocketAddr>,
    /// The submission listener's address.
    pub submission: Option<SocketAddr>,
    /// The LMTP listener's address.
    pub lmtp: Option<SocketAddr>,
    /// The IMAP listener's address.
    pub imap: Option<SocketAddr>,
    /// The IMAPS listener's address.
    pub imaps: Option<SocketAddr>,
    /// The POP3 listener's address.
    pub pop3: Option<SocketAddr>,
    /// The POP3S listener's address.
    pub pop3s: Option<SocketAddr>,
    /// The store.
    pub store: Arc<Store>,
    /// Connection counts and shutdown.
    pub gate: Arc<Gate>,
    /// The listener tasks, which end at shutdown.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Signs mail of the local domains (for the outbound queue's `SigningQueue`).
    pub dkim: Option<Arc<Signer>>,
    /// Each domain's DKIM record, and whether its key is new (to publish).
    pub dkim_records: Vec<(DnsRecord, bool)>,
}

impl Running {
    /// Graceful shutdown: stop accepting, close the connections that are waiting for their
    /// client (SMTP `421`, IMAP `* BYE`, POP3 `-ERR` without deleting), let the ones busy
    /// with a command (a delivery, an expunge) finish, for up to `grace`. Returns how many
    /// connections were still open after it.
    pub async fn shutdown(self, grace: Duration) -> usize {
        self.gate.shutdown();
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = tokio::time::timeout(grace, self.gate.drained()).await;
        self.gate.open_connections()
    }
}

/// Opens the store and binds the listeners; they run as tasks on the current tokio runtime
/// until [`Running::shutdown`] or until the runtime shuts down.
pub async fn start(options: Options) -> io::Result<Running> {
    std::fs::create_dir_all(&options.data_dir)?;
    let store = open_store(
        &options.data_dir,
        &options.directory,
        options.journal_reserve,
    )
    .await
    .map_err(|e| io::Error::other(format!("{}: {e}", options.data_dir.display())))?;
    let tls_config = tls::server_config(&options.cert, &options.data_dir, &options.hostname)?;
    let acceptor = TlsAcceptor::from(tls_config);
    let (dkim, dkim_records) = match &options.dkim_keys {
        Some(dir) => {
            let keys = KeyDir::open(dir)?;
            let (signer, records) = Signer::from_dir(
                &keys,
                &options.directory.domains,
                &options.dkim_selector,
                KeyType::default(),
            )
            .map_err(io::Error::other)?;
            (Some(Arc::new(signer)), records)
        }
        None => (None, Vec::new()),
    };
    let verifier = if options.check_inbound {
        let resolver = HickoryResolver::system()?;
        Some(Arc::new(Verifier::new(&resolver, &options.hostname)))
    } else {
        None
    };
    let directory: Arc<dyn Accounts> = Arc::new(options.directory);
    let auth = Arc::new(Authenticator::new(directory, options.throttle));
    let gate = Gate::new(options.limits);
    let mut running = Running {
        smtp: None,
        smtps: None,
        submission: None,
        lmtp: None,
        imap: None,
        imaps: None,
        pop3: None,
        pop3s: None,
        store: Arc::clone(&store),
        gate: Arc::clone(&gate),
        tasks: Vec::new(),
        dkim,
        dkim_records,
    };
    let hostname = &options.hostname;
    let plain = options.allow_plaintext_loopback;

    let smtp_service = |kind: SmtpKind| {
        let mut s = SmtpService::new(
            hostname,
            kind == SmtpKind::Submission,
            Arc::clone(&auth),
            Arc::clone(&store),
            Arc::clone(&gate),
        );
        s.tls = Some(acceptor.clone());
        s.allow_plaintext_loopback = plain;
        s.config.limits = options.smtp_limits.clone();
        s.config.bare_line_endings = options.bare_line_endings;
        if kind == SmtpKind::Relay {
            s.verify.clone_from(&verifier);
        }
        if kind == SmtpKind::Lmtp {
            s.config.protocol = Protocol::Lmtp;
            s.config.extensions.auth.clear();
        }
        Arc::new(s)
    };
    let tls = || Some(acceptor.clone());
    running.smtp = running
        .listen("smtp", options.smtp, None, smtp_service(SmtpKind::Relay))
        .await?;
    running.smtps = running
        .listen("smtps", options.smtps, tls(), smtp_service(SmtpKind::Relay))
        .await?;
    running.submission = running
        .listen(
            "submission",
            options.submission,
            None,
            smtp_service(SmtpKind::Submission),
        )
        .await?;
    running.lmtp = running
        .listen("lmtp", options.lmtp, None, smtp_service(SmtpKind::Lmtp))
        .await?;

    let imap_service = {
        let mut s = ImapService::new(
            hostname,
            Arc::clone(&auth),
            Arc::clone(&store),
            Arc::clone(&gate),
        );
        s.tls = Some(acceptor.clone());
        s.allow_plaintext_loopback = plain;
        s.config.limits = options.imap_limits.clone();
        Arc::new(s)
    };
    running.imap = running
        .listen("imap", options.imap, None, Arc::clone(&imap_service))
        .await?;
    running.imaps = running
        .listen("imaps", options.imaps, tls(), imap_service)
        .await?;

    let pop3_service = {
        let mut s = Pop3Service::new(
            hostname,
            Arc::clone(&auth),
            Arc::clone(&store),
            Arc::clone(&gate),
        );
        s.tls = Some(acceptor.clone());
        s.allow_plaintext_loopback = plain;
        s.lease_for = options.pop3_limits.idle_timeout + Duration::from_secs(60);
        s.config.limits = options.pop3_limits.clone();
        Arc::new(s)
    };
    running.pop3 = running
        .listen("pop3", options.pop3, None, Arc::clone(&pop3_service))
        .await?;
    running.pop3s = running
        .listen("pop3s", options.pop3s, tls(), pop3_service)
        .await?;
    Ok(running)
}

/// What an SMTP-family listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmtpKind {
    /// Port 25 (2525): mail for local users, no relaying.
    Relay,
    /// Submission: AUTH before MAIL.
    Submission,
    /// LMTP.
    Lmtp,
}

impl Running {
    /// Binds and serves one listener if `addr` is set; returns where it is bound.
    async fn listen<S: Service>(
        &mut self,
        name: &'static str,
        addr: Option<SocketAddr>,
        implicit_tls: Option<TlsAcceptor>,
        service: Arc<S>,
    ) -> io::Result<Option<SocketAddr>> {
        let Some(addr) = addr else { return Ok(None) };
        let (local, task) = listener::spawn(name, addr, implicit_tls, service).await?;
        self.tasks.push(task);
        Ok(Some(local))
    }
}

/// Opens the Maildir store under `data_dir` (its blocking work on tokio's blocking pool) and
/// creates the accounts of the configured users that do not exist yet. Call it from inside a
/// tokio runtime. On a full disk it opens all the same (reads and deleting work), and the
/// accounts that could not be created are created at a later start.
pub async fn open_store(
    data_dir: &Path,
    directory: &Directory,
    journal_reserve: u64,
) -> Result<Arc<Store>, StoreError> {
    let handle = tokio::runtime::Handle::current();
    let options = MaildirOptions {
        executor: Executor::from_fn(move |job| {
            handle.spawn_blocking(job);
        }),
        journal_reserve,
        ..MaildirOptions::default()
    };
    let root = data_dir.to_owned();
    let store = tokio::task::spawn_blocking(move || MaildirStore::open(root, options))
        .await
        .map_err(|_| StoreError::WorkerGone)??;
    let mut users: Vec<&String> = directory.users.keys().collect();
    users.sort();
    for user in users {
        let account = AccountName::try_from(user.as_str())?;
        if !store.account_exists(&account).await? {
            match store.create_account(&account).await {
                // Drafts, Sent, Trash, Junk and Archive beside INBOX (#14): a client's first
                // "save to Sent" must not fail with [TRYCREATE].
                Ok(()) => {
                    let session = Session::new(account.clone());
                    // Not fatal: the account works without them (a full disk, say).
                    if let Err(e) = ensure_special_use(&store, &session, &DEFAULT_MAILBOXES).await {
                        tracing::error!("cannot create the mailboxes of {account}: {e}");
                    }
                }
                // On a full disk the others are served; this one is created at a later start.
                Err(StoreError::NoSpace) => {
                    tracing::error!("cannot create the mailbox of {account}: the disk is full");
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(Arc::new(store))
}
