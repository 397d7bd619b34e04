//! Starting the mail server: one store, and the SMTP, submission, IMAP and POP3 listeners
//! (plaintext with STARTTLS/STLS, and implicit TLS) on it. The `mailserver` binary and the
//! interop tests both start it this way.
//!
//! [`Running::reload`] applies new settings without dropping a connection: the users, the
//! certificate (from the same files, renewed), the connection and session limits. New
//! connections get the new limits; open ones keep theirs, and their next login checks the
//! new passwords.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sansmail_core::tls::MailAcceptors;
use sansmail_smtp::session::Protocol;

use sansmail_server::{
    auth::{Accounts, Authenticator, ThrottleConfig},
    imap::ImapService,
    listener::{self, ConnectionLimits, Gate, Service},
    mailauth::DnsRecord,
    metrics::{Instrumented, Metrics},
    outbound::setup::{Outbound as OutboundPieces, OutboundSettings},
    passwd_file::Directory,
    pop3::Pop3Service,
    reload::Swap,
    smtp::SmtpService,
};
use sansmail_store::{
    AccountName, Executor, MailStore, Session, StoreError,
    either::EitherStore,
    maildir::{MaildirOptions, MaildirStore},
    postgres::{PostgresOptions, PostgresStore},
    provision::{DEFAULT_MAILBOXES, ensure_special_use},
};

use crate::tls::{self, CertSource, TlsAcceptor};

/// The store every listener uses: the Maildir under the data folder (the embedded default),
/// or a PostgreSQL database several server processes share (`--store postgres://...`).
pub type Store = EitherStore<MaildirStore, PostgresStore>;

/// The store as the services see it: every call timed into the metrics.
pub type Served = Instrumented<Store>;

/// Mail to and from other systems: the settings the example server passes to
/// [`OutboundPieces::start`].
pub type Outbound = OutboundSettings;

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
    /// Where the messages live: `None` for the Maildir under `data_dir`, or a
    /// `postgres://` URL ([`open_store_at`]).
    pub store: Option<String>,
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
    /// The Prometheus endpoint (`GET /metrics`), or `None`.
    pub metrics: Option<SocketAddr>,
    /// Quotas from the users file, applied to the store at start and at each reload.
    pub quotas: Vec<(String, sansmail_store::QuotaLimits)>,
    /// Sending to other systems, DKIM and inbound checks.
    pub outbound: Outbound,
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
            store: None,
            hostname: hostname.to_owned(),
            directory,
            smtp_limits: sansmail_smtp::Limits::default(),
            bare_line_endings: sansmail_smtp::codec::BareLineEndings::Normalize,
            imap_limits: sansmail_imap::Limits::default(),
            pop3_limits: sansmail_pop3::Limits::default(),
            throttle: ThrottleConfig::default(),
            journal_reserve: MaildirOptions::default().journal_reserve,
            metrics: None,
            quotas: Vec::new(),
            outbound: Outbound::default(),
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
    /// The metrics endpoint's address.
    pub metrics: Option<SocketAddr>,
    /// Each local domain's DKIM record (a TXT record to publish), and whether its key was
    /// made at this start.
    pub dkim_records: Vec<(DnsRecord, bool)>,
    /// The store.
    pub store: Arc<Store>,
    /// Connection counts, shutdown and the metrics.
    pub gate: Arc<Gate>,
    /// The listener tasks, which end at shutdown.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// What a reload replaces.
    live: Live,
}

/// The settings a reload replaces, where the listeners read them.
#[derive(Debug)]
struct Live {
    directory: Arc<Swap<Directory>>,
    /// The certificate files' certificate; `None` for the self-signed one.
    cert: Option<Arc<sansmail_core::tls::ReloadableCert>>,
    /// The options in force, for what a reload cannot change.
    options: std::sync::Mutex<Options>,
    services: Services,
    auth: Arc<Authenticator>,
    served: Arc<Served>,
    acceptors: MailAcceptors,
    /// The outbound relay and inbound checker every reload's services share.
    wired: OutboundPieces,
}

/// The services every listener of a kind shares, each in the swap its listeners read.
#[derive(Debug)]
struct Services {
    smtp: Arc<Swap<SmtpService<Served>>>,
    submission: Arc<Swap<SmtpService<Served>>>,
    lmtp: Arc<Swap<SmtpService<Served>>>,
    imap: Arc<Swap<ImapService<Served>>>,
    pop3: Arc<Swap<Pop3Service<Served>>>,
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
    start_with(options, Vec::new()).await
}

/// [`start`] with sockets already bound (systemd socket activation, or bound before
/// dropping root), by listener name (`smtp`, `imaps`..., `metrics`): a listener with a
/// socket here serves on it instead of binding its address.
pub async fn start_with(
    options: Options,
    mut sockets: Vec<(String, std::net::TcpListener)>,
) -> io::Result<Running> {
    std::fs::create_dir_all(&options.data_dir)?;
    let store = open_store_at(
        options.store.as_deref(),
        &options.data_dir,
        &options.directory,
        options.journal_reserve,
    )
    .await
    .map_err(|e| io::Error::other(format!("{}: {e}", options.data_dir.display())))?;
    apply_quotas(&store, &options.quotas).await;
    let (tls_config, cert) = match &options.cert {
        CertSource::Files { cert, key } => {
            let reloadable = sansmail_core::tls::ReloadableCert::load(cert, key)?;
            (reloadable.server_config()?, Some(reloadable))
        }
        CertSource::SelfSigned => (
            tls::server_config(&options.cert, &options.data_dir, &options.hostname)?,
            None,
        ),
    };
    let acceptors = MailAcceptors::new(&tls_config);
    let directory = Arc::new(Swap::new(Arc::new(options.directory.clone())));
    let accounts: Arc<dyn Accounts> = Arc::clone(&directory) as Arc<dyn Accounts>;
    let auth = Arc::new(Authenticator::new(accounts, options.throttle));
    let gate = Gate::with_metrics(options.limits, Metrics::new());
    let served = Arc::new(Instrumented::new(
        Arc::clone(&store),
        Arc::clone(gate.metrics()),
    ));
    let mut wired = OutboundPieces::start(
        &options.outbound,
        &options.hostname,
        &options.directory.domains,
        &options.data_dir.join("queue"),
        Arc::clone(&served),
        Arc::clone(&directory) as Arc<dyn Accounts>,
    )?;
    let (runner, dkim_records) = (wired.runner.take(), std::mem::take(&mut wired.dkim_records));
    let built = build_services(&options, &auth, &served, &gate, &acceptors, &wired);
    let services = Services {
        smtp: Arc::new(Swap::new(built.smtp)),
        submission: Arc::new(Swap::new(built.submission)),
        lmtp: Arc::new(Swap::new(built.lmtp)),
        imap: Arc::new(Swap::new(built.imap)),
        pop3: Arc::new(Swap::new(built.pop3)),
    };
    let mut running = Running {
        smtp: None,
        smtps: None,
        submission: None,
        lmtp: None,
        imap: None,
        imaps: None,
        pop3: None,
        pop3s: None,
        metrics: None,
        dkim_records,
        store: Arc::clone(&store),
        gate: Arc::clone(&gate),
        tasks: Vec::new(),
        live: Live {
            directory,
            cert,
            options: std::sync::Mutex::new(options.clone()),
            services,
            auth,
            served,
            acceptors: acceptors.clone(),
            wired,
        },
    };
    if let Some(runner) = runner {
        let gate = Arc::clone(&gate);
        running.tasks.push(tokio::spawn(async move {
            runner.run(async move { gate.shutting_down().await }).await;
        }));
    }
    let a = &acceptors;
    let s = &running.live.services;
    let (smtp, submission, lmtp) = (
        Arc::clone(&s.smtp),
        Arc::clone(&s.submission),
        Arc::clone(&s.lmtp),
    );
    let (imap, pop3) = (Arc::clone(&s.imap), Arc::clone(&s.pop3));
    let o = &options;
    running.smtp = running
        .listen("smtp", o.smtp, &mut sockets, None, Arc::clone(&smtp))
        .await?;
    running.smtps = running
        .listen("smtps", o.smtps, &mut sockets, Some(a.smtp.clone()), smtp)
        .await?;
    running.submission = running
        .listen("submission", o.submission, &mut sockets, None, submission)
        .await?;
    running.lmtp = running
        .listen("lmtp", o.lmtp, &mut sockets, None, lmtp)
        .await?;
    running.imap = running
        .listen("imap", o.imap, &mut sockets, None, Arc::clone(&imap))
        .await?;
    running.imaps = running
        .listen("imaps", o.imaps, &mut sockets, Some(a.imap.clone()), imap)
        .await?;
    running.pop3 = running
        .listen("pop3", o.pop3, &mut sockets, None, Arc::clone(&pop3))
        .await?;
    running.pop3s = running
        .listen("pop3s", o.pop3s, &mut sockets, Some(a.pop3.clone()), pop3)
        .await?;
    let metrics_socket = sockets
        .iter()
        .position(|(n, _)| n == "metrics")
        .map(|i| sockets.swap_remove(i).1);
    if let Some((name, _)) = sockets.first() {
        return Err(io::Error::other(format!(
            "a socket was handed over for {name:?}, which is no listener (smtp, submission, \
             smtps, lmtp, imap, imaps, pop3, pop3s, metrics)"
        )));
    }
    let metrics_listener = match (metrics_socket, o.metrics) {
        (Some(socket), _) => {
            socket.set_nonblocking(true)?;
            Some(tokio::net::TcpListener::from_std(socket)?)
        }
        (None, Some(addr)) => Some(listener::bind("metrics", addr).await?),
        (None, None) => None,
    };
    if let Some(socket) = metrics_listener {
        let local = socket.local_addr()?;
        let metrics = Arc::clone(gate.metrics());
        let task = tokio::spawn(sansmail_server::metrics::http::serve(socket, metrics, gate));
        tracing::info!(listener = "metrics", address = %local, "listening");
        running.metrics = Some(local);
        running.tasks.push(task);
    }
    Ok(running)
}

/// One service of each kind, as `options` say.
struct Built {
    smtp: Arc<SmtpService<Served>>,
    submission: Arc<SmtpService<Served>>,
    lmtp: Arc<SmtpService<Served>>,
    imap: Arc<ImapService<Served>>,
    pop3: Arc<Pop3Service<Served>>,
}

fn build_services(
    options: &Options,
    auth: &Arc<Authenticator>,
    store: &Arc<Served>,
    gate: &Arc<Gate>,
    acceptors: &MailAcceptors,
    wired: &OutboundPieces,
) -> Built {
    let hostname = &options.hostname;
    let plain = options.allow_plaintext_loopback;
    let smtp_service = |kind: SmtpKind| {
        let mut s = SmtpService::new(
            hostname,
            kind == SmtpKind::Submission,
            Arc::clone(auth),
            Arc::clone(store),
            Arc::clone(gate),
        );
        s.tls = Some(acceptors.smtp.clone());
        s.allow_plaintext_loopback = plain;
        s.config.limits = options.smtp_limits.clone();
        s.config.bare_line_endings = options.bare_line_endings;
        if kind == SmtpKind::Lmtp {
            s.config.protocol = Protocol::Lmtp;
            s.config.extensions.auth.clear();
        } else {
            s.relay.clone_from(&wired.relay);
        }
        if kind == SmtpKind::Relay {
            s.verify.clone_from(&wired.verifier);
        }
        Arc::new(s)
    };
    let imap = {
        let mut s = ImapService::new(
            hostname,
            Arc::clone(auth),
            Arc::clone(store),
            Arc::clone(gate),
        );
        s.tls = Some(acceptors.imap.clone());
        s.allow_plaintext_loopback = plain;
        s.config.limits = options.imap_limits.clone();
        Arc::new(s)
    };
    let pop3 = {
        let mut s = Pop3Service::new(
            hostname,
            Arc::clone(auth),
            Arc::clone(store),
            Arc::clone(gate),
        );
        s.tls = Some(acceptors.pop3.clone());
        s.allow_plaintext_loopback = plain;
        s.lease_for = options.pop3_limits.idle_timeout + Duration::from_secs(60);
        s.config.limits = options.pop3_limits.clone();
        Arc::new(s)
    };
    Built {
        smtp: smtp_service(SmtpKind::Relay),
        submission: smtp_service(SmtpKind::Submission),
        lmtp: smtp_service(SmtpKind::Lmtp),
        imap,
        pop3,
    }
}

/// Sets each listed account's quota in the store where it differs (logged, not fatal).
async fn apply_quotas(store: &Store, quotas: &[(String, sansmail_store::QuotaLimits)]) {
    for (user, limits) in quotas {
        let Ok(account) = AccountName::try_from(user.as_str()) else {
            continue;
        };
        if let Err(e) = store.set_quota(&account, *limits).await {
            tracing::error!(account = %account, "setting the quota: {e}");
        }
    }
}

impl Running {
    /// Applies `new`: users and passwords, the certificate (read again from its files), the
    /// connection limits and the sessions' limits and settings (host name, plaintext
    /// logins, timeouts, sizes). Listener addresses, the data directory, the store and the
    /// journal reserve need a restart: a change to them is refused with an error and nothing
    /// applied. On any error the settings in force stay.
    pub async fn reload(&self, new: Options) -> io::Result<()> {
        let live = &self.live;
        let old = live
            .options
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let fixed = |o: &Options| {
            (
                [
                    o.smtp,
                    o.smtps,
                    o.submission,
                    o.lmtp,
                    o.imap,
                    o.imaps,
                    o.pop3,
                    o.pop3s,
                ],
                o.metrics,
                o.data_dir.clone(),
                o.store.clone(),
                o.journal_reserve,
                o.outbound.clone(),
            )
        };
        if fixed(&old) != fixed(&new) {
            return Err(io::Error::other(
                "listener addresses, metrics, data-dir, store, journal-reserve and the relay, \
                 DNS, DKIM and inbound-check settings change only at a restart",
            ));
        }
        match (&new.cert, &live.cert) {
            (CertSource::Files { cert, key }, Some(current)) => current.reload(cert, key)?,
            (CertSource::SelfSigned, None) => {}
            _ => {
                return Err(io::Error::other(
                    "switching between cert/key files and the self-signed certificate needs \
                     a restart",
                ));
            }
        }
        create_accounts(&self.store, &new.directory)
            .await
            .map_err(|e| io::Error::other(format!("creating the new accounts: {e}")))?;
        apply_quotas(&self.store, &new.quotas).await;
        let built = build_services(
            &new,
            &live.auth,
            &live.served,
            &self.gate,
            &live.acceptors,
            &live.wired,
        );
        live.directory.store(Arc::new(new.directory.clone()));
        self.gate.set_limits(new.limits);
        let s = &live.services;
        s.smtp.store(built.smtp);
        s.submission.store(built.submission);
        s.lmtp.store(built.lmtp);
        s.imap.store(built.imap);
        s.pop3.store(built.pop3);
        *live
            .options
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = new;
        Ok(())
    }

    /// The metrics every listener counts into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.gate.metrics()
    }
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
    /// Serves one listener, on the socket handed over for it or else on `addr` if set;
    /// returns where it is bound.
    async fn listen<S: Service>(
        &mut self,
        name: &'static str,
        addr: Option<SocketAddr>,
        sockets: &mut Vec<(String, std::net::TcpListener)>,
        implicit_tls: Option<TlsAcceptor>,
        service: Arc<Swap<S>>,
    ) -> io::Result<Option<SocketAddr>> {
        let listener = match sockets.iter().position(|(n, _)| n == name) {
            Some(i) => {
                let (_, socket) = sockets.swap_remove(i);
                socket.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(socket)?
            }
            None => match addr {
                Some(addr) => listener::bind(name, addr).await?,
                None => return Ok(None),
            },
        };
        let (local, task) = listener::spawn_swappable(name, listener, implicit_tls, service)?;
        self.tasks.push(task);
        Ok(Some(local))
    }
}

/// Whether a `--store` value names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Opens the store `location` names and creates the configured users' accounts that do not
/// exist yet: a `postgres://` URL is a PostgreSQL database that several server processes
/// share (uploads spool under `data_dir`); `None` or `maildir` is the Maildir under
/// `data_dir`, the embedded default ([`open_store`]).
pub async fn open_store_at(
    location: Option<&str>,
    data_dir: &Path,
    directory: &Directory,
    journal_reserve: u64,
) -> Result<Arc<Store>, StoreError> {
    let url = match location {
        None | Some("maildir") => return open_store(data_dir, directory, journal_reserve).await,
        Some(url) if is_postgres_url(url) => url,
        Some(_) => {
            return Err(StoreError::InvalidName(
                "the store is `maildir` (the default) or a postgres:// URL",
            ));
        }
    };
    let options = PostgresOptions {
        spool_dir: Some(data_dir.to_owned()),
        ..PostgresOptions::default()
    };
    let store = EitherStore::Right(PostgresStore::open(url, options).await?);
    create_accounts(&store, directory).await?;
    Ok(Arc::new(store))
}

/// Opens a store by location alone, for tools (`mailctl migrate`): a `postgres://` URL, or
/// a Maildir data folder (`maildir:DIR` or `DIR`, the mailserver's `--data-dir`).
pub async fn open_location(location: &str) -> Result<Store, StoreError> {
    if is_postgres_url(location) {
        return Ok(EitherStore::Right(
            PostgresStore::open(location, PostgresOptions::default()).await?,
        ));
    }
    let root = PathBuf::from(location.strip_prefix("maildir:").unwrap_or(location));
    let store =
        tokio::task::spawn_blocking(move || MaildirStore::open(root, MaildirOptions::default()))
            .await
            .map_err(|_| StoreError::WorkerGone)??;
    Ok(EitherStore::Left(store))
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
    let store = EitherStore::Left(
        tokio::task::spawn_blocking(move || MaildirStore::open(root, options))
            .await
            .map_err(|_| StoreError::WorkerGone)??,
    );
    create_accounts(&store, directory).await?;
    Ok(Arc::new(store))
}

/// Drafts, Sent, Trash, Junk and Archive beside INBOX for a new account (#14): a client's
/// first "save to Sent" must not fail with [TRYCREATE]. Not fatal: the account works without
/// them (on a full disk, say).
async fn give_mailboxes(store: &Store, account: &AccountName) {
    let session = Session::new(account.clone());
    if let Err(e) = ensure_special_use(store, &session, &DEFAULT_MAILBOXES).await {
        tracing::error!("cannot create the mailboxes of {account}: {e}");
    }
}

/// Creates the accounts of the configured users that do not exist yet (on a full disk:
/// logged, and left for a later start or reload).
pub async fn create_accounts(store: &Store, directory: &Directory) -> Result<(), StoreError> {
    let mut users: Vec<&String> = directory.users.keys().collect();
    users.sort();
    // One account that cannot be opened (a damaged file, a read-only folder) is logged and
    // left out; the others are served. Only when none can be is the start refused.
    let mut first_error = None;
    let mut opened = 0usize;
    for user in &users {
        let account = AccountName::try_from(user.as_str())?;
        let made = match store.account_exists(&account).await {
            Ok(true) => Ok(()),
            Ok(false) => match store.create_account(&account).await {
                // Drafts, Sent, Trash, Junk and Archive beside INBOX (#14): a client's first
                // "save to Sent" must not fail with [TRYCREATE].
                Ok(()) => {
                    give_mailboxes(store, &account).await;
                    Ok(())
                }
                // Another node on the same database created it meanwhile (and gives it its
                // mailboxes).
                Err(StoreError::AccountExists) => Ok(()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => opened += 1,
            // On a full disk the others are served; this one is created at a later start.
            Err(StoreError::NoSpace) => {
                tracing::error!("cannot create the mailbox of {account}: the disk is full");
                opened += 1;
            }
            Err(e) => {
                tracing::error!("the mailboxes of {account} cannot be opened: {e}");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if opened == 0 && !users.is_empty() => Err(e),
        _ => Ok(()),
    }
}
