//! The IMAP listener: sockets into `imap_proto::session::server::Server`, mailboxes from
//! `mail-store`. The session owns the protocol (states, tags, literals, IDLE, the
//! client's view of sequence numbers); this driver answers its events with store calls and
//! turns the store's change events into [`Update`]s the session tells the client when
//! RFC 9051 §7.4.1 allows.
//!
//! - `mailboxes`: SELECT/EXAMINE, LIST/LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS,
//!   APPEND, NAMESPACE, QUOTA.
//! - `messages`: FETCH, STORE, COPY, MOVE, EXPUNGE, CLOSE.
//! - `search`: SEARCH and ESEARCH.
//! - `sort`: SORT, ESORT and SORT=DISPLAY; `thread`: THREAD=ORDEREDSUBJECT and
//!   THREAD=REFERENCES.
//! - `qresync`: QRESYNC's SELECT parameter and `UID FETCH (CHANGEDSINCE n VANISHED)`.
//! - `section`: IMAP's sections as the store's, and partial ranges; `convert`: store values as
//!   IMAP types.

mod convert;
mod mailboxes;
mod messages;
mod qresync;
mod search;
mod section;
mod sort;
mod thread;

use std::{borrow::Cow, io, net::SocketAddr, sync::Arc, time::Instant};

use imap_proto::{
    session::{
        ServerConfig,
        server::{Event, Server},
        view::Update,
    },
    types::{
        capability::Capability,
        command::{Command, CommandBody, State},
        core::{IString, Text},
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};
use mail_store::{
    ChangeEvent, ChangeKind, FetchQuery, MailStore, Session, StoreError, Subscription, UidSet,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    auth::{Authenticator, Login, ThrottleConfig},
    listener::{Gate, HANDSHAKE_TIMEOUT},
    smtp_server::plaintext_allowed,
    store_glue::{Directory, Store},
    tls::{Stream, TlsAcceptor},
};

/// Settings shared by every connection.
#[derive(Debug)]
pub struct ImapService {
    /// The session configuration; each connection allows plaintext logins on loopback.
    pub config: ServerConfig,
    /// Who may log in.
    pub directory: Arc<Directory>,
    /// Password checks and the failed-login throttle (shared with the other listeners).
    pub auth: Arc<Authenticator>,
    /// The mailboxes.
    pub store: Arc<Store>,
    /// For STARTTLS; `None` offers no STARTTLS.
    pub tls: Option<TlsAcceptor>,
    /// LOGIN and AUTHENTICATE without TLS from a loopback address.
    pub allow_plaintext_loopback: bool,
    /// Shutdown: a connection waiting for the client (IDLE included) ends with `* BYE`.
    pub gate: Arc<Gate>,
}

impl ImapService {
    /// The capabilities this server implements, for a server called `hostname`.
    pub fn new(
        hostname: &str,
        directory: Arc<Directory>,
        store: Arc<Store>,
        gate: Arc<Gate>,
    ) -> Self {
        let mut config = ServerConfig::default();
        config.greeting = format!("{hostname} IMAP server ready");
        config.capabilities = vec![
            Capability::Imap4Rev1,
            Capability::Imap4Rev2,
            Capability::LiteralPlus,
            Capability::Idle,
            Capability::Namespace,
            Capability::Enable,
            Capability::Id,
            Capability::UidPlus,
            Capability::Move,
            Capability::Unselect,
            Capability::Children,
            Capability::ListExtended,
            Capability::ListStatus,
            Capability::SpecialUse,
            Capability::CreateSpecialUse,
            Capability::CondStore,
            Capability::QResync,
            Capability::ESearch,
            Capability::SearchRes,
            Capability::Sort,
            Capability::Quota,
            Capability::StatusSize,
            // The number is set per connection from the limits then in force.
            Capability::AppendLimit(None),
            Capability::Binary,
            Capability::Utf8Accept,
        ];
        // RFC 5957, RFC 5267 §3.1, RFC 5256 §4.
        let more = [
            "SORT=DISPLAY",
            "ESORT",
            "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES",
        ];
        config
            .capabilities
            .extend(more.into_iter().filter_map(|c| Capability::parse(c).ok()));
        Self {
            config,
            auth: Arc::new(Authenticator::new(
                Arc::clone(&directory),
                ThrottleConfig::default(),
            )),
            directory,
            store,
            tls: None,
            allow_plaintext_loopback: true,
            gate,
        }
    }
}

/// The largest message APPEND takes (RFC 7889): the framer refuses a larger literal or
/// command (`NO [TOOBIG]`).
fn append_limit(config: &ServerConfig) -> u64 {
    let frame = &config.limits.frame;
    frame.max_literal.min(frame.max_message)
}

/// Runs one connection (already TLS on an implicit-TLS port).
pub async fn handle_connection(
    stream: Stream,
    peer: SocketAddr,
    service: Arc<ImapService>,
) -> io::Result<()> {
    let service = &*service;
    let mut config = service.config.clone();
    config.implicit_tls = stream.is_tls();
    config.starttls = service.tls.is_some() && !stream.is_tls();
    config.plaintext_auth_requires_tls = !plaintext_allowed(service.allow_plaintext_loopback, peer);
    let limit = append_limit(&config);
    for c in &mut config.capabilities {
        if let Capability::AppendLimit(n) = c {
            *n = Some(limit);
        }
    }
    let mut conn = Conn {
        service,
        peer,
        starttls: false,
        stream,
        server: Server::new(config, Instant::now()),
        out: Vec::new(),
        session: None,
        selected: None,
        condstore: false,
        closing: false,
    };
    let result = conn.run().await;
    let _ = conn.stream.shutdown().await;
    result
}

/// The selected mailbox, beside the session's view of it.
struct Selected {
    /// Its name, as the store knows it.
    name: String,
    read_only: bool,
    /// Changes made by other sessions.
    sub: Subscription,
    /// UIDs whose `\Recent` this session claimed (IMAP4rev1), ascending.
    recent: Vec<u32>,
}

impl Selected {
    fn is_recent(&self, uid: u32) -> bool {
        self.recent.binary_search(&uid).is_ok()
    }
}

/// One connection.
struct Conn<'s> {
    service: &'s ImapService,
    peer: SocketAddr,
    stream: Stream,
    /// STARTTLS was accepted: the handshake runs once its `OK` is sent.
    starttls: bool,
    server: Server,
    out: Vec<u8>,
    /// Set at login.
    session: Option<Session>,
    selected: Option<Selected>,
    /// CONDSTORE was enabled (ENABLE, SELECT (CONDSTORE), or a command using it): FETCH
    /// responses carry MODSEQ.
    condstore: bool,
    /// A `BYE` was sent: close once it is out.
    closing: bool,
}

/// What woke the connection up.
enum Wake {
    Read(io::Result<usize>),
    Change(ChangeEvent),
    Timeout,
    Shutdown,
}

/// An event, detached from the session's input so the store can be awaited.
enum Ev {
    Literal,
    Command(Command<'static>),
    Login(mail_core::Credentials),
    Refuse,
    Idle,
    Enabled,
    Deselected,
    StartTls,
    Nothing,
}

fn api(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(e)
}

impl Conn<'_> {
    async fn run(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            self.pump_updates().await?;
            if !self.closing {
                self.drive().await?;
            }
            self.flush().await?;
            if self.server.is_closed() || self.closing {
                return Ok(());
            }
            if std::mem::take(&mut self.starttls) {
                // Every byte read so far went to the session, which dropped what followed
                // STARTTLS; the handshake reads only its own records.
                let Some(acceptor) = &self.service.tls else {
                    return Err(io::Error::other("STARTTLS without a TLS configuration"));
                };
                tokio::time::timeout(HANDSHAKE_TIMEOUT, self.stream.accept_tls(acceptor))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"))??;
                self.server.tls_established().map_err(api)?;
                continue;
            }
            let deadline = self
                .server
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            let Conn {
                stream,
                selected,
                service,
                ..
            } = self;
            let change = async {
                match selected {
                    Some(s) => s.sub.recv().await,
                    None => std::future::pending().await,
                }
            };
            let timeout = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let wake = tokio::select! {
                r = stream.read(&mut buf) => Wake::Read(r),
                ev = change => Wake::Change(ev),
                () = timeout => Wake::Timeout,
                () = service.gate.shutting_down() => Wake::Shutdown,
            };
            match wake {
                Wake::Read(Ok(0)) => return Ok(()),
                Wake::Read(Ok(n)) => self.server.handle_input(Instant::now(), &buf[..n]),
                Wake::Read(Err(e)) => return Err(e),
                Wake::Change(ev) => self.apply_change(ev).await?,
                Wake::Timeout => self.server.handle_timeout(Instant::now()),
                Wake::Shutdown => {
                    self.bye("Server shutting down");
                    self.flush().await?;
                    return Ok(());
                }
            }
        }
    }

    /// Sends what the session has queued.
    async fn flush(&mut self) -> io::Result<()> {
        self.server.poll_transmit(&mut self.out);
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Answers every event the session has.
    async fn drive(&mut self) -> io::Result<()> {
        loop {
            let ev = match self.server.poll_event() {
                None => return Ok(()),
                // The framer already refuses literals over the configured limit.
                Some(Event::LiteralAnnounced { .. }) => Ev::Literal,
                Some(Event::Command(cmd)) => Ev::Command(cmd.into_owned()),
                Some(Event::Login { credentials }) => Ev::Login(credentials),
                // Only PLAIN is offered, and the session runs it.
                Some(Event::AuthExchange { .. }) => Ev::Refuse,
                Some(Event::Idle) => Ev::Idle,
                Some(Event::Enabled(_)) => Ev::Enabled,
                Some(Event::Deselected) => Ev::Deselected,
                Some(Event::StartTls) => Ev::StartTls,
                // IDLE's end, LOGOUT: answered by the session.
                Some(_) => Ev::Nothing,
            };
            match ev {
                Ev::Literal => self.server.accept_literal().map_err(api)?,
                Ev::Command(cmd) => self.command(cmd).await?,
                Ev::Login(attempt) => {
                    match self.service.auth.login(self.peer.ip(), attempt).await {
                        Login::Accepted(account) => {
                            self.session = Some(Session::new(account));
                            self.server.accept().map_err(api)?;
                        }
                        Login::Failed => self
                            .server
                            .reject(
                                Some(ResponseCode::AuthenticationFailed),
                                "Authentication failed",
                            )
                            .map_err(api)?,
                        Login::Refused => self
                            .server
                            .reject(
                                Some(ResponseCode::Unavailable),
                                "Too many failed logins from your address, try again later",
                            )
                            .map_err(api)?,
                    }
                }
                Ev::Refuse => self
                    .server
                    .reject(None, "Unsupported mechanism")
                    .map_err(api)?,
                Ev::Idle => self.server.accept().map_err(api)?,
                // ENABLE QRESYNC turns CONDSTORE on too (RFC 7162 §3.2.3).
                Ev::Enabled => self.condstore |= self.server.is_enabled(&Capability::CondStore),
                // A SELECT of another mailbox reports the old one closed after the SELECT
                // itself (possibly completed already): only a session that is no longer in
                // the Selected state has nothing selected.
                Ev::Deselected => {
                    if self.server.connection_state() != State::Selected {
                        self.selected = None;
                    }
                }
                Ev::StartTls => self.starttls = true,
                Ev::Nothing => {}
            }
            if self.closing {
                return Ok(());
            }
        }
    }

    async fn command(&mut self, cmd: Command<'static>) -> io::Result<()> {
        // ID is valid in every state (RFC 2971); the session lets nothing else through
        // before login.
        if let CommandBody::Id { .. } = cmd.body {
            return self.id();
        }
        if self.session.is_none() {
            return self.bad("Log in first");
        }
        let tag = cmd.tag;
        match cmd.body {
            CommandBody::Select { mailbox, params } => self.select(mailbox, &params, false).await,
            CommandBody::Examine { mailbox, params } => self.select(mailbox, &params, true).await,
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.create(&mailbox, special_use.as_deref()).await,
            CommandBody::Delete { mailbox } => self.delete(&mailbox).await,
            CommandBody::Rename { from, to } => self.rename(&from, &to).await,
            CommandBody::Subscribe { mailbox } => self.subscribe(&mailbox, true).await,
            CommandBody::Unsubscribe { mailbox } => self.subscribe(&mailbox, false).await,
            CommandBody::List {
                selection,
                reference,
                patterns,
                return_opts,
            } => {
                self.list(
                    selection.unwrap_or_default(),
                    &reference,
                    &patterns,
                    return_opts,
                )
                .await
            }
            CommandBody::Lsub { reference, pattern } => self.lsub(&reference, &pattern).await,
            CommandBody::Namespace => self.namespace(),
            CommandBody::Status { mailbox, attrs } => self.status(&mailbox, &attrs).await,
            CommandBody::Append { mailbox, messages } => self.append(&mailbox, messages).await,
            CommandBody::GetQuotaRoot { mailbox } => self.quota_root(&mailbox).await,
            CommandBody::GetQuota { root } => self.quota(&root.to_str_lossy()).await,
            CommandBody::SetQuota { .. } => self.no(
                Some(ResponseCode::NoPerm),
                "Quota is set by the administrator",
            ),
            CommandBody::Close => self.close().await,
            CommandBody::Unselect => self.ok(None, "UNSELECT completed"),
            CommandBody::Expunge => self.expunge(None).await,
            CommandBody::UidExpunge { set } => self.expunge(Some(set)).await,
            CommandBody::Search {
                uid,
                return_opts,
                charset,
                criteria,
            } => {
                self.search(&tag, uid, return_opts, charset.as_ref(), &criteria)
                    .await
            }
            CommandBody::Sort {
                uid,
                return_opts,
                criteria,
                charset,
                keys,
            } => {
                self.sort(&tag, uid, return_opts, &criteria, &charset, &keys)
                    .await
            }
            CommandBody::Thread {
                uid,
                algorithm,
                charset,
                keys,
            } => self.thread(uid, &algorithm, &charset, &keys).await,
            CommandBody::Fetch {
                uid,
                set,
                items,
                modifiers,
            } => self.fetch(uid, &set, &items, modifiers).await,
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                action,
                silent,
                flags,
            } => {
                self.store(uid, &set, unchanged_since, action, silent, &flags)
                    .await
            }
            CommandBody::Copy { uid, set, mailbox } => {
                self.copy_or_move(uid, &set, &mailbox, false).await
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.copy_or_move(uid, &set, &mailbox, true).await
            }
            other => self.bad(&format!("{} is not supported", other.name())),
        }
    }

    // ---- answering ----

    fn complete(
        &mut self,
        kind: StatusKind,
        code: Option<ResponseCode<'_>>,
        text: &str,
    ) -> io::Result<()> {
        self.server.complete(kind, code, text).map_err(api)
    }

    fn ok(&mut self, code: Option<ResponseCode<'_>>, text: &str) -> io::Result<()> {
        self.complete(StatusKind::Ok, code, text)
    }

    fn no(&mut self, code: Option<ResponseCode<'_>>, text: &str) -> io::Result<()> {
        self.complete(StatusKind::No, code, text)
    }

    fn bad(&mut self, text: &str) -> io::Result<()> {
        self.complete(StatusKind::Bad, None, text)
    }

    /// `NO` for a store error.
    fn fail(&mut self, e: &StoreError) -> io::Result<()> {
        if e.is_temporary() {
            tracing::error!("imap store error: {e}");
        }
        let (code, text) = convert::error_code(e);
        self.no(code, &text)
    }

    /// An untagged `OK` with a response code (`* OK [UIDNEXT 5]`).
    fn untagged_ok(&mut self, code: ResponseCode<'_>, text: &'static str) {
        if let Ok(text) = Text::new(text) {
            self.server.send(&Response::Status(Status::untagged(
                StatusKind::Ok,
                Some(code),
                text,
            )));
        }
    }

    /// Ends the connection with `* BYE`.
    fn bye(&mut self, text: &'static str) {
        if let Ok(text) = Text::new(text) {
            self.server.send(&Response::Status(Status::untagged(
                StatusKind::Bye,
                None,
                text,
            )));
        }
        self.closing = true;
    }

    /// The logged-in session (commands past login only).
    fn session(&self) -> io::Result<Session> {
        self.session
            .clone()
            .ok_or_else(|| io::Error::other("command before login"))
    }

    /// Whether the client enabled IMAP4rev2 (RFC 9051 rules from then on).
    fn rev2(&self) -> bool {
        self.server.is_enabled(&Capability::Imap4Rev2)
    }

    /// The APPENDLIMIT this server advertises.
    fn append_limit(&self) -> u64 {
        append_limit(&self.service.config)
    }

    fn namespace(&mut self) -> io::Result<()> {
        use imap_proto::types::response_data::{NamespaceDescr, Namespaces};
        let delimiter = self.service.store.hierarchy_delimiter();
        self.server.send_data(Data::Namespace(Namespaces {
            personal: vec![NamespaceDescr {
                prefix: IString::Quoted(Cow::Borrowed("")),
                delimiter: Some(delimiter),
                extensions: Vec::new(),
            }],
            other: Vec::new(),
            shared: Vec::new(),
        }));
        self.ok(None, "NAMESPACE completed")
    }

    fn id(&mut self) -> io::Result<()> {
        let pair = |k: &'static str, v: &'static str| {
            (
                IString::Quoted(Cow::Borrowed(k)),
                Some(IString::Quoted(Cow::Borrowed(v))),
            )
        };
        self.server.send_data(Data::Id(Some(vec![
            pair("name", "mailserver"),
            pair("vendor", "examples"),
            pair("version", env!("CARGO_PKG_VERSION")),
        ])));
        self.ok(None, "ID completed")
    }

    // ---- changes from other sessions ----

    /// Hands the session every change queued for the selected mailbox.
    async fn pump_updates(&mut self) -> io::Result<()> {
        while let Some(ev) = self.selected.as_ref().and_then(|s| s.sub.try_next()) {
            self.apply_change(ev).await?;
            if self.closing {
                break;
            }
        }
        Ok(())
    }

    /// One change made by another session, as the updates the session tells the client.
    async fn apply_change(&mut self, ev: ChangeEvent) -> io::Result<()> {
        let Some(sel) = &self.selected else {
            return Ok(());
        };
        let updates = match ev.kind {
            ChangeKind::Appended { messages } => {
                vec![Update::New(messages.iter().map(|m| m.uid.get()).collect())]
            }
            ChangeKind::FlagsChanged(list) => list
                .iter()
                .map(|m| Update::Flags {
                    uid: m.uid.get(),
                    flags: convert::imap_flags(&m.flags, sel.is_recent(m.uid.get())),
                    modseq: Some(m.modseq.get()),
                })
                .collect(),
            ChangeKind::Expunged { uids, .. } => {
                vec![Update::Expunged(uids.iter().map(|u| u.get()).collect())]
            }
            ChangeKind::Renamed { .. } => {
                self.bye("The selected mailbox was renamed");
                return Ok(());
            }
            ChangeKind::Deleted { .. } => {
                self.bye("The selected mailbox was deleted");
                return Ok(());
            }
            ChangeKind::Lagged => self.resync().await?,
        };
        for u in updates {
            self.push(u);
        }
        Ok(())
    }

    /// Queues a change for the client. Nothing is selected in the session only while a
    /// selection is being replaced or closed, when there is nobody to tell.
    fn push(&mut self, update: Update) {
        if self.server.push_update(update).is_err() {
            self.selected = None;
        }
    }

    /// After missed change events: compares the view with the store.
    async fn resync(&mut self) -> io::Result<Vec<Update>> {
        let (Some(sel), Some(view)) = (&self.selected, self.server.view()) else {
            return Ok(Vec::new());
        };
        let known = view.uids().to_vec();
        let session = self.session()?;
        let name = sel.name.clone();
        let now = match self
            .service
            .store
            .fetch(&session, &name, &UidSet::all(), FetchQuery::meta())
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!("imap resync of {name}: {e}");
                self.bye("Cannot resynchronise the mailbox");
                return Ok(Vec::new());
            }
        };
        let present: Vec<u32> = now.iter().map(|m| m.uid.get()).collect();
        let floor = known.last().copied().unwrap_or(0);
        let gone: Vec<u32> = known
            .iter()
            .copied()
            .filter(|u| present.binary_search(u).is_err())
            .collect();
        let mut updates = vec![Update::Expunged(gone)];
        for m in &now {
            let uid = m.uid.get();
            if uid <= floor {
                updates.push(Update::Flags {
                    uid,
                    flags: convert::imap_flags(&m.flags, false),
                    modseq: Some(m.modseq.get()),
                });
            }
        }
        updates.push(Update::New(
            present.into_iter().filter(|&u| u > floor).collect(),
        ));
        Ok(updates)
    }
}

impl crate::listener::Service for ImapService {
    fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    /// What a client over the connection limit is told.
    fn busy_reply(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Ok(text) = Text::new("Too many connections, try again later") {
            let bye = Response::Status(Status::untagged(StatusKind::Bye, None, text));
            let mut buf = imap_proto::codec::EncodeBuf::new();
            let opts = imap_proto::codec::ResponseOptions::default();
            imap_proto::codec::encode_response(&bye, &opts, &mut buf);
            out = buf.bytes;
        }
        out
    }

    fn handle(
        stream: Stream,
        peer: SocketAddr,
        service: Arc<Self>,
    ) -> impl Future<Output = io::Result<()>> + Send {
        handle_connection(stream, peer, service)
    }
}

/// Binds a plaintext listener for `service` (under the limits and shutdown of its gate) and
/// serves it in the background, returning the bound address. [`crate::server::start`]
/// starts every listener; this is for one with a service of its own.
pub async fn spawn(addr: SocketAddr, service: Arc<ImapService>) -> io::Result<SocketAddr> {
    crate::listener::spawn("imap", addr, None, service)
        .await
        .map(|(local, _)| local)
}
