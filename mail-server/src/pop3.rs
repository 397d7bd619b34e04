//! POP3 from a store: `sansmail_pop3`'s server driver on the store's POP3 view. The session
//! answers STAT, LIST, UIDL, DELE, RSET and NOOP from the maildrop it was given; this module
//! only logs users in (taking the store's exclusive lease), hands out message contents (read
//! from the store a piece at a time, as the session asks for them), and commits the
//! deletions at QUIT.

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use sansmail_core::tls::TlsAcceptor;
use sansmail_pop3::{
    Response, ResponseCode, Uid,
    session::{
        Maildrop, ServerConfig,
        responses::{self},
        server::{Event, Server},
    },
    tokio::server::Connection,
};
use sansmail_store::{
    AccountName, Flag, FlagOp, Flags, MailStore, MessageReader, Pop3Lease, Session, StoreError,
    Uid as StoreUid, UidSet,
};

use crate::{
    Socket, Stream,
    auth::{Authenticator, Login},
    listener::Gate,
    plaintext_allowed,
    record::ConnectionRecord,
};

/// Settings shared by every connection.
#[derive(Debug)]
pub struct Pop3Service<S> {
    /// The session configuration; each connection gets its own APOP timestamp and, on
    /// loopback, plaintext logins.
    pub config: ServerConfig,
    /// Password checks and the failed-login throttle (shared with the other listeners).
    pub auth: Arc<Authenticator>,
    /// The mail.
    pub store: Arc<S>,
    /// How long the maildrop lease lasts without activity; renewed while the client talks.
    pub lease_for: Duration,
    /// For STLS; `None` offers no STLS.
    pub tls: Option<TlsAcceptor>,
    /// USER/PASS and AUTH PLAIN without TLS from a loopback address.
    pub allow_plaintext_loopback: bool,
    /// Shutdown: a connection waiting for the client's next command closes (without
    /// deleting anything: no QUIT, no UPDATE state).
    pub gate: Arc<Gate>,
    /// Octets of a message read from the store at a time for RETR and TOP (default 64 KiB):
    /// a connection holds a few pieces however large the message, and the next is read
    /// only once the client took the last.
    pub retrieve_piece: usize,
}

impl<S: MailStore> Pop3Service<S> {
    /// The default configuration for a server called `hostname`.
    pub fn new(hostname: &str, auth: Arc<Authenticator>, store: Arc<S>, gate: Arc<Gate>) -> Self {
        let config = ServerConfig::new(hostname);
        // A lease outlives the session's idle timeout, so only a vanished client loses it.
        let lease_for = config.limits.idle_timeout + Duration::from_secs(60);
        Self {
            config,
            auth,
            store,
            lease_for,
            tls: None,
            allow_plaintext_loopback: true,
            gate,
            retrieve_piece: 64 * 1024,
        }
    }
}

/// A unique APOP timestamp for this connection (RFC 1939 §7: `<pid.clock@hostname>`).
fn apop_timestamp(hostname: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let clock = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "<{}.{}.{}.{}@{hostname}>",
        std::process::id(),
        clock.as_secs(),
        clock.subsec_nanos(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The logged-in user's maildrop, as the store leased it.
struct Leased {
    session: Session,
    lease: Pop3Lease,
    /// The store UID of each message number (index + 1).
    uids: Vec<StoreUid>,
    /// Set once QUIT committed (the store released the lease).
    committed: bool,
}

struct Conn<'s, S> {
    service: &'s Pop3Service<S>,
    peer: SocketAddr,
    record: &'s ConnectionRecord,
    maildrop: Option<Leased>,
    /// The message RETR or TOP is sending, open until its last piece is out, so that an
    /// expunge by another session meanwhile cannot cut it short.
    sending: Option<MessageReader>,
}

/// Runs one connection (already TLS on an implicit-TLS port), writing the account and the
/// session's end into `record`.
pub async fn handle_connection<S: MailStore>(
    stream: Stream,
    record: Arc<ConnectionRecord>,
    service: Arc<Pop3Service<S>>,
) -> io::Result<()> {
    let service = &*service;
    let peer = record.peer();
    let mut config = service.config.clone();
    config.auth_requires_tls = !plaintext_allowed(service.allow_plaintext_loopback, peer);
    config.apop_timestamp = service
        .auth
        .accounts
        .offers_apop()
        .then(|| apop_timestamp(&config.hostname));
    let mut connection = Connection::new(stream, config, service.tls.clone());
    let mut conn = Conn {
        service,
        peer,
        record: &record,
        maildrop: None,
        sending: None,
    };
    let result = conn.run(&mut connection).await;
    let server = connection.session();
    record.session_state(
        server.commands(),
        connection.transport().tls_version(),
        server.close_reason(),
    );
    if let Some(d) = conn.maildrop.take()
        && !d.committed
    {
        // The session ended without UPDATE: nothing is deleted, the lease goes.
        if let Err(e) = service.store.pop3_release(&d.session, &d.lease).await {
            tracing::error!(%peer, "pop3: releasing the maildrop: {e}");
        }
    }
    result
}

impl<S: MailStore> Conn<'_, S> {
    async fn run(&mut self, connection: &mut Connection<Socket>) -> io::Result<()> {
        loop {
            let event = tokio::select! {
                event = connection.next_event() => event?,
                // Waiting for the client: close without deleting anything (no UPDATE).
                () = self.service.gate.shutting_down() => {
                    connection.session_mut().shutdown();
                    let _ = connection.next_event().await;
                    return Ok(());
                }
                // The session answers STAT, LIST, NOOP and the like itself, without an
                // event: the lease is renewed on time however the client keeps busy.
                () = self.renewal_due() => {
                    self.renew_lease().await;
                    continue;
                }
            };
            let Some(event) = event else { return Ok(()) };
            self.renew_lease().await;
            let server = connection.session_mut();
            match event {
                Event::Login { credentials, .. } => {
                    let user = credentials.authcid.clone();
                    let login = self.service.auth.login(self.peer.ip(), credentials).await;
                    self.record.login(&user, &login);
                    self.answer_login(server, login).await?;
                }
                Event::Apop {
                    name,
                    digest,
                    timestamp,
                } => {
                    let auth = &self.service.auth;
                    let user = name.clone();
                    let login = auth.apop(self.peer.ip(), name, timestamp, digest).await;
                    self.record.login(&user, &login);
                    self.answer_login(server, login).await?;
                }
                // Only PLAIN is offered, and the session runs it.
                Event::AuthExchange { .. } => reject(server, &responses::auth_failed())?,
                Event::Retrieve { msg, top, .. } => {
                    self.retrieve(server, msg.index(), top.is_some(), None)
                        .await?;
                }
                Event::RetrieveMore { msg, top, offset } => {
                    self.retrieve(server, msg.index(), top.is_some(), Some(offset))
                        .await?;
                }
                Event::Commit { deletions } => {
                    let indices: Vec<usize> =
                        deletions.iter().map(|(msg, _)| msg.index()).collect();
                    self.commit(server, &indices).await?;
                }
                // UTF8 needs nothing from us.
                _ => {}
            }
        }
    }

    /// How long until half of the maildrop's lease has passed (zero once it has), or
    /// `None` with no lease to keep.
    fn until_renewal(&self) -> Option<Duration> {
        let d = self.maildrop.as_ref().filter(|d| !d.committed)?;
        let left = d
            .lease
            .expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Some(left.saturating_sub(self.service.lease_for / 2))
    }

    /// Returns once half of the maildrop's lease has passed (never without one), and not
    /// sooner than a second (half the lease, if shorter) after a renewal that failed.
    async fn renewal_due(&self) {
        let least = (self.service.lease_for / 2).min(Duration::from_secs(1));
        match self.until_renewal() {
            Some(wait) => tokio::time::sleep(wait.max(least)).await,
            None => std::future::pending().await,
        }
    }

    /// Keeps the lease while the session lasts (renewed once half of it has passed): a
    /// client that goes silent is signed off by the idle timeout first, and one that
    /// vanishes with the process loses it when it expires.
    async fn renew_lease(&mut self) {
        if self.until_renewal() != Some(Duration::ZERO) {
            return;
        }
        let lease_for = self.service.lease_for;
        let Some(d) = &mut self.maildrop else { return };
        match self
            .service
            .store
            .pop3_renew(&d.session, &d.lease, lease_for)
            .await
        {
            Ok(lease) => d.lease = lease,
            Err(e) => tracing::error!("pop3: renewing the lease of {}: {e}", d.session.account()),
        }
    }

    /// Answers a login attempt: the maildrop for a right password, `-ERR [AUTH]` for a wrong
    /// one, `-ERR [SYS/TEMP]` while the throttle refuses the address.
    async fn answer_login(&mut self, server: &mut Server, login: Login) -> io::Result<()> {
        match login {
            Login::Accepted(account) => self.login(server, account).await,
            Login::Failed => reject(server, &responses::auth_failed()),
            Login::Refused => reject(server, &responses::sys_temp()),
        }
    }

    /// Takes the maildrop's lease and enters the TRANSACTION state.
    async fn login(&mut self, server: &mut Server, account: AccountName) -> io::Result<()> {
        let session = Session::new(account);
        let store = &self.service.store;
        let opened = match store.pop3_open(&session, self.service.lease_for).await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!("pop3: opening the maildrop of {}: {e}", session.account());
                return reject(server, &failure(&e, Failed::Login));
            }
        };
        let mut maildrop = Maildrop::new();
        let mut uids = Vec::with_capacity(opened.messages.len());
        for m in &opened.messages {
            // The store's UIDLs are valid POP3 unique-ids; a message that somehow is not
            // stays out of this session's listing.
            if let Ok(uidl) = Uid::new(m.uidl.as_str())
                && maildrop.push(m.size, uidl).is_some()
            {
                uids.push(m.uid);
            }
        }
        self.maildrop = Some(Leased {
            session,
            lease: opened.lease,
            uids,
            committed: false,
        });
        server.accept_login(maildrop).map_err(io::Error::other)
    }

    /// A piece of a message for RETR or TOP: the first (`from` is `None`) or the one from
    /// `from` on. The message ends with a piece shorter than asked or once TOP has its
    /// lines; then RETR sets `\Seen` (TOP does not).
    async fn retrieve(
        &mut self,
        server: &mut Server,
        index: usize,
        top: bool,
        from: Option<u64>,
    ) -> io::Result<()> {
        let found = self
            .maildrop
            .as_ref()
            .and_then(|d| Some((d, *d.uids.get(index)?)));
        let Some((d, uid)) = found else {
            return match from {
                None => reject(server, &responses::message_unavailable()),
                // Not reachable: the session asks only for the message it was given.
                Some(_) => {
                    server.close();
                    Ok(())
                }
            };
        };
        let store = &self.service.store;
        let piece = self.service.retrieve_piece.max(1);
        let offset = from.unwrap_or(0);
        if from.is_none() {
            self.sending = match store.open_message(&d.session, "INBOX", uid).await {
                Ok(reader) => Some(reader),
                Err(e) => {
                    // Expunged meanwhile by IMAP, or the disk failed.
                    tracing::info!("pop3: message {uid} of {}: {e}", d.session.account());
                    return reject(server, &failure(&e, Failed::Message));
                }
            };
        }
        let read = match &mut self.sending {
            Some(reader) => reader.read(offset, piece).await,
            None => Err(StoreError::NoSuchMessage(uid.get())),
        };
        let data = match read {
            Ok(data) => data,
            Err(e) => {
                tracing::error!("pop3: message {uid} of {}: {e}", d.session.account());
                self.sending = None;
                if from.is_none() {
                    // Nothing is out yet, not even the +OK.
                    return reject(server, &failure(&e, Failed::Message));
                }
                // Part of the message is out: no -ERR can follow, only the end of the
                // connection (the client sees the message cut short).
                server.close();
                return Ok(());
            }
        };
        let more = server.message_data(&data).map_err(io::Error::other)?;
        if more && data.len() == piece {
            // The session asks for the next piece once this one is on its way.
            return Ok(());
        }
        self.sending = None;
        server.message_end().map_err(io::Error::other)?;
        if !top {
            let uids: UidSet = std::iter::once(uid).collect();
            let seen = FlagOp::Add(Flags::new().with(Flag::Seen));
            if let Err(e) = store
                .store_flags(&d.session, "INBOX", &uids, seen, None)
                .await
            {
                tracing::error!("pop3: marking {uid} of {} seen: {e}", d.session.account());
            }
        }
        Ok(())
    }

    /// QUIT in the TRANSACTION state: delete what DELE marked, release the lease.
    async fn commit(&mut self, server: &mut Server, indices: &[usize]) -> io::Result<()> {
        let Some(d) = &mut self.maildrop else {
            return server.accept().map_err(io::Error::other);
        };
        let deleted: Vec<StoreUid> = indices
            .iter()
            .filter_map(|&i| d.uids.get(i).copied())
            .collect();
        match self
            .service
            .store
            .pop3_commit(&d.session, &d.lease, &deleted)
            .await
        {
            Ok(_) => {
                d.committed = true;
                server.accept().map_err(io::Error::other)
            }
            Err(e) => {
                tracing::error!("pop3: committing for {}: {e}", d.session.account());
                reject(server, &failure(&e, Failed::Commit))
            }
        }
    }
}

/// What a store error stopped.
#[derive(Clone, Copy)]
enum Failed {
    Login,
    Message,
    Commit,
}

/// The one place where a store error becomes a POP3 answer: `-ERR [IN-USE]` for a maildrop
/// another session holds (RFC 2449 §8.1.1), no code for a message another session
/// expunged (as Dovecot), `-ERR [SYS/TEMP]` for the rest, a full disk included (RFC 3206
/// §4: trying again later may work).
fn failure(e: &StoreError, what: Failed) -> Response<'static> {
    let no_space = matches!(e, StoreError::NoSpace | StoreError::Limit(_));
    let text = match what {
        Failed::Login if matches!(e, StoreError::InUse) => return responses::in_use(),
        Failed::Login => return responses::sys_temp(),
        Failed::Message if matches!(e, StoreError::NoSuchMessage(_)) => {
            return responses::message_expunged();
        }
        Failed::Message => return responses::message_unavailable(),
        // The store commits every deletion or none: none happened.
        Failed::Commit if no_space => "Not enough disk space: no message deleted, try again later",
        Failed::Commit => "No message deleted, try again later",
    };
    Response::err(Some(ResponseCode::SysTemp), text).unwrap_or_else(|_| responses::sys_temp())
}

fn reject(server: &mut Server, response: &sansmail_pop3::Response<'_>) -> io::Result<()> {
    server.reject(response).map_err(io::Error::other)
}

impl<S: MailStore> crate::listener::Service for Pop3Service<S> {
    fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    fn protocol(&self) -> &'static str {
        "pop3"
    }

    /// What a client over the connection limit is told.
    fn busy_reply(&self) -> Vec<u8> {
        let mut out = Vec::new();
        sansmail_pop3::codec::encode_response(&responses::sys_temp(), &mut out);
        out
    }

    fn handle(
        stream: Stream,
        record: Arc<ConnectionRecord>,
        service: Arc<Self>,
    ) -> impl Future<Output = io::Result<()>> + Send {
        handle_connection(stream, record, service)
    }
}

/// Binds a plaintext listener for `service` (under the limits and shutdown of its gate) and
/// serves it in the background, returning the bound address.
pub async fn spawn<S: MailStore>(
    addr: SocketAddr,
    service: Arc<Pop3Service<S>>,
) -> io::Result<SocketAddr> {
    crate::listener::spawn("pop3", addr, None, service)
        .await
        .map(|(local, _)| local)
}
