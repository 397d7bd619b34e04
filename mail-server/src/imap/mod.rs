//! IMAP from a store: `sansmail_imap`'s server driver, its events answered with
//! [`MailStore`] calls. The session owns the protocol (states, tags, literals, IDLE, the
//! client's view of sequence numbers); this module answers its events with store calls and
//! turns the store's change events into [`Update`](sansmail_imap::session::view::Update)s the session tells the client when
//! RFC 9051 §7.4.1 allows.
//!
//! - `mailboxes`: SELECT/EXAMINE, LIST/LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, STATUS,
//!   APPEND, NAMESPACE, QUOTA.
//! - `fetch`: FETCH, whole-message sections streamed a piece at a time.
//! - `messages`: STORE, COPY, MOVE, EXPUNGE, CLOSE.
//! - `search`: SEARCH, ESEARCH and PARTIAL; `updates` refreshes updating searches (CONTEXT=).
//! - `sort`: SORT, ESORT and SORT=DISPLAY; `thread`: THREAD=ORDEREDSUBJECT and
//!   THREAD=REFERENCES.
//! - `notify`: NOTIFY's STATUS and LIST responses about the other mailboxes.
//! - `qresync`: QRESYNC's SELECT parameter and `UID FETCH (CHANGEDSINCE n VANISHED)`.
//! - `urlauth`: GENURLAUTH, URLFETCH and RESETKEY (URLAUTH); `catenate`: CATENATE.
//! - `section`: IMAP's sections as the store's, and partial ranges; `convert`: store values as
//!   IMAP types.

mod catenate;
mod convert;
mod fetch;
mod mailboxes;
mod messages;
mod notify;
mod qresync;
mod search;
mod section;
mod sort;
mod thread;
mod updates;
mod urlauth;

use std::{borrow::Cow, io, net::SocketAddr, sync::Arc};

use crate::{
    Socket, Stream,
    auth::{Authenticator, Login},
    listener::Gate,
    plaintext_allowed,
    record::ConnectionRecord,
};
use sansmail_core::{Credentials, tls::TlsAcceptor};
use sansmail_imap::{
    session::{
        ServerConfig,
        server::{Event, Server},
    },
    tokio::server::Connection,
    types::{
        capability::Capability,
        command::{Command, CommandBody, State},
        core::{IString, Text},
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};
use sansmail_store::{ChangeEvent, MailStore, Session, StoreError, Subscription};

/// Settings shared by every connection.
#[derive(Debug)]
pub struct ImapService<S> {
    /// The session configuration; each connection allows plaintext logins on loopback. Read
    /// when the first connection of each kind (TLS from the start or not, plaintext login
    /// allowed or not) comes: change it before serving.
    pub config: ServerConfig,
    /// Password checks and the failed-login throttle (shared with the other listeners).
    pub auth: Arc<Authenticator>,
    /// The mailboxes.
    pub store: Arc<S>,
    /// For STARTTLS; `None` offers no STARTTLS.
    pub tls: Option<TlsAcceptor>,
    /// LOGIN and AUTHENTICATE without TLS from a loopback address.
    pub allow_plaintext_loopback: bool,
    /// Shutdown: a connection waiting for the client (IDLE included) ends with `* BYE`.
    pub gate: Arc<Gate>,
    /// How long a session with a mailbox selected waits for the client before it asks the
    /// store to look at the mailbox again, so that what another program changed (a
    /// Maildir's MDA, procmail) reaches IDLE and the next NOOP; the store tells every session
    /// watching the mailbox, as for its own changes. Default: 2 s for a store
    /// [`changed_from_outside`](MailStore::changed_from_outside) (a Maildir's look is two
    /// `stat` calls), `None` for one that tells of every change itself.
    pub external_poll: Option<std::time::Duration>,
    /// By account, mailbox and UIDVALIDITY: the highest UID some session claimed `\Recent`
    /// up to, so that the other sessions told of a new message do not each ask the store.
    recent_claimed: std::sync::Mutex<std::collections::HashMap<(String, String, u32), u32>>,
    /// `config` as each kind of connection runs it, made from `config` when the first such
    /// connection comes, then shared: see [`ImapService::session_config`].
    session_configs: [std::sync::OnceLock<Arc<ServerConfig>>; 4],
}

impl<S: MailStore> ImapService<S> {
    /// The capabilities this server implements, for a server called `hostname`.
    pub fn new(hostname: &str, auth: Arc<Authenticator>, store: Arc<S>, gate: Arc<Gate>) -> Self {
        let mut config = ServerConfig::new(hostname);
        config.id = Some(vec![
            ("name".to_owned(), "sansmail".to_owned()),
            ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        ]);
        // What this service implements beyond the session's own defaults.
        config.capabilities.extend([
            Capability::ListExtended,
            Capability::ListStatus,
            Capability::CreateSpecialUse,
            // RFC 3502: the messages of one APPEND are one store transaction.
            Capability::MultiAppend,
            // RFC 4978: the session agrees, the driver compresses.
            Capability::CompressDeflate,
            Capability::SearchRes,
            Capability::Sort,
            Capability::Quota,
            Capability::StatusSize,
            // The number is set per connection from the limits then in force.
            Capability::AppendLimit(None),
            Capability::Binary,
            Capability::Utf8Accept,
            // RFC 4467, with URLFETCH; URLs of the user's own mailboxes.
            Capability::UrlAuth,
            // RFC 5465: the account's changes from the store's account-wide subscription.
            Capability::Notify,
        ]);
        // RFC 5957, RFC 5267 §3.1, RFC 5256 §4, RFC 4469; RFC 9208: each quota resource
        // the store reports, named (STATUS answers DELETED and DELETED-STORAGE, which they
        // require).
        let more = [
            "QUOTA=RES-STORAGE",
            "QUOTA=RES-MESSAGE",
            "SORT=DISPLAY",
            "ESORT",
            "CONTEXT=SEARCH",
            "CONTEXT=SORT",
            "PARTIAL",
            "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES",
            "CATENATE",
        ];
        config
            .capabilities
            .extend(more.into_iter().filter_map(|c| Capability::parse(c).ok()));
        let external_poll = store
            .changed_from_outside()
            .then_some(std::time::Duration::from_secs(2));
        Self {
            config,
            auth,
            store,
            tls: None,
            allow_plaintext_loopback: true,
            gate,
            external_poll,
            recent_claimed: std::sync::Mutex::default(),
            session_configs: Default::default(),
        }
    }

    /// The session configuration for a connection that must (or need not) use TLS before
    /// logging in and that is (or is not) TLS from the start: `config` with those settings,
    /// STARTTLS when offered and the APPENDLIMIT in force. One copy of each kind is shared
    /// by all its connections (the capability list alone is about a kilobyte).
    fn session_config(&self, auth_requires_tls: bool, implicit_tls: bool) -> Arc<ServerConfig> {
        let kind = usize::from(auth_requires_tls) * 2 + usize::from(implicit_tls);
        let config = self.session_configs[kind].get_or_init(|| {
            let mut config = self.config.clone();
            config.auth_requires_tls = auth_requires_tls;
            config.implicit_tls = implicit_tls;
            config.starttls = self.tls.is_some() && !implicit_tls;
            let limit = append_limit(&config);
            for c in &mut config.capabilities {
                if let Capability::AppendLimit(n) = c {
                    *n = Some(limit);
                }
            }
            Arc::new(config)
        });
        Arc::clone(config)
    }
}

/// The largest message APPEND takes (RFC 7889): the framer refuses a larger literal or
/// command (`NO [TOOBIG]`).
fn append_limit(config: &ServerConfig) -> u64 {
    let frame = &config.limits.frame;
    frame.max_literal.min(frame.max_message)
}

/// Runs one connection (already TLS on an implicit-TLS port), writing the account and the
/// session's end into `record`.
pub async fn handle_connection<S: MailStore>(
    stream: Stream,
    record: Arc<ConnectionRecord>,
    service: Arc<ImapService<S>>,
) -> io::Result<()> {
    let service = &*service;
    let peer = record.peer();
    let config = service.session_config(
        !plaintext_allowed(service.allow_plaintext_loopback, peer),
        stream.is_tls(),
    );
    let mut conn = Conn {
        service,
        peer,
        record: &record,
        append_limit: append_limit(&config),
        connection: Connection::new(stream, config, service.tls.clone()),
        session: None,
        selected: None,
        fetching: None,
        notify: None,
        closing: false,
        url_reads: std::sync::atomic::AtomicU64::new(0),
    };
    let result = conn.run().await;
    let server = conn.connection.session();
    record.session_state(
        server.commands(),
        conn.connection.transport().tls_version(),
        server.close_reason(),
    );
    result
}

/// The selected mailbox, beside the session's view of it.
struct Selected {
    /// Its name, as the store knows it.
    name: String,
    read_only: bool,
    /// Changes made by other sessions.
    sub: Subscription,
    /// Whether this session claims `\Recent` (IMAP4rev1 SELECT: the first session told of
    /// a message gets it; EXAMINE and IMAP4rev2 leave it to others).
    claims_recent: bool,
    uidvalidity: u32,
}

/// One connection.
struct Conn<'s, S> {
    service: &'s ImapService<S>,
    peer: SocketAddr,
    record: &'s ConnectionRecord,
    connection: Connection<Socket>,
    /// The APPENDLIMIT advertised, from the session's configuration.
    append_limit: u64,
    /// Set at login.
    session: Option<Session>,
    selected: Option<Selected>,
    /// The FETCH being answered while a streamed literal waits for the session's
    /// `FetchMore`.
    fetching: Option<fetch::FetchRun>,
    /// NOTIFY (RFC 5465) in effect: the account's changes.
    notify: Option<notify::Notifying>,
    /// A `BYE` was sent: close once it is out.
    closing: bool,
    /// Octets of messages read for the URLs of the command being answered (CATENATE,
    /// URLFETCH): each URL reads its whole message, so their number alone bounds nothing.
    url_reads: std::sync::atomic::AtomicU64,
}

/// What woke the connection up.
enum Wake {
    Event(io::Result<Option<Event>>),
    Change(ChangeEvent),
    /// A change of the account, under NOTIFY.
    Notify(ChangeEvent),
    /// Time to look at the selected mailbox again ([`ImapService::external_poll`]).
    Poll,
    Shutdown,
}

fn api(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(e)
}

impl<S: MailStore> Conn<'_, S> {
    fn server(&self) -> &Server {
        self.connection.session()
    }

    fn server_mut(&mut self) -> &mut Server {
        self.connection.session_mut()
    }

    async fn run(&mut self) -> io::Result<()> {
        loop {
            Box::pin(self.pump_updates()).await?;
            if self.closing {
                self.connection.flush().await?;
                return Ok(());
            }
            let Conn {
                connection,
                selected,
                service,
                notify,
                ..
            } = self;
            let poll_every = service.external_poll.filter(|_| selected.is_some());
            let poll = async {
                match poll_every {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending().await,
                }
            };
            let change = async {
                match selected {
                    Some(s) => s.sub.recv().await,
                    None => std::future::pending().await,
                }
            };
            let account_change = async {
                match notify {
                    Some(n) => n.sub.recv().await,
                    None => std::future::pending().await,
                }
            };
            let wake = tokio::select! {
                event = connection.next_event() => Wake::Event(event),
                ev = change => Wake::Change(ev),
                ev = account_change => Wake::Notify(ev),
                () = poll => Wake::Poll,
                () = service.gate.shutting_down() => Wake::Shutdown,
            };
            // The handlers' futures are boxed: inline, the largest of them (a command's)
            // would make every connection's task that large while it waits.
            match wake {
                Wake::Event(event) => match event? {
                    Some(event) => Box::pin(self.event(event)).await?,
                    None => return Ok(()),
                },
                Wake::Change(ev) => {
                    Box::pin(self.apply_change(ev)).await?;
                    // In IDLE the session tells the client at once.
                    self.connection.flush().await?;
                }
                Wake::Notify(ev) => {
                    // Between commands: sent at once (RFC 5465 §3).
                    Box::pin(self.apply_notifications(ev)).await?;
                    self.connection.flush().await?;
                }
                Wake::Poll => Box::pin(self.look_again()).await,
                Wake::Shutdown => {
                    self.server_mut().shutdown();
                    self.connection.flush().await?;
                    return Ok(());
                }
            }
        }
    }

    /// Asks the store for nothing of the selected mailbox: opening it picks up what other
    /// programs changed, which comes back as change events. A failure is the next
    /// command's to report.
    async fn look_again(&mut self) {
        let (Some(name), Ok(session)) = (
            self.selected.as_ref().map(|s| s.name.clone()),
            self.session(),
        ) else {
            return;
        };
        let nothing = sansmail_store::UidSet::new();
        let query = sansmail_store::FetchQuery::meta();
        let _ = self
            .service
            .store
            .fetch(&session, &name, &nothing, query)
            .await;
    }

    /// Writes what the session has queued (the data of a long FETCH, as it is produced).
    async fn flush(&mut self) -> io::Result<()> {
        self.connection.flush().await
    }

    /// Answers one event of the session.
    async fn event(&mut self, event: Event) -> io::Result<()> {
        match event {
            // The framer already refuses literals over the configured limit.
            Event::LiteralAnnounced {
                append_to: Some(mailbox),
                len,
                ..
            } => self.announced_message(&mailbox, len).await,
            Event::LiteralAnnounced { .. } => self.server_mut().accept_literal().map_err(api),
            Event::Command(cmd) => self.command(cmd).await,
            Event::Login { credentials } => self.login(credentials).await,
            // Only PLAIN is offered, and the session runs it.
            Event::AuthExchange { .. } => self
                .server_mut()
                .reject(None, "Unsupported mechanism")
                .map_err(api),
            Event::Idle => self.server_mut().accept().map_err(api),
            Event::FetchMore { .. } => self.fetch_more().await,
            // A SELECT of another mailbox reports the old one closed after the SELECT
            // itself (possibly completed already): only a session that is no longer in
            // the Selected state has nothing selected.
            Event::Deselected => {
                if self.server().connection_state() != State::Selected {
                    self.selected = None;
                }
                Ok(())
            }
            // IDLE's end, LOGOUT: answered by the session.
            _ => Ok(()),
        }
    }

    async fn login(&mut self, credentials: Credentials) -> io::Result<()> {
        let user = credentials.authcid.clone();
        let login = self.service.auth.login(self.peer.ip(), credentials).await;
        self.record.login(&user, &login);
        let server = self.connection.session_mut();
        match login {
            Login::Accepted(account) => {
                let accepted = server.accept_user(account.as_str()).map_err(api);
                self.session = Some(Session::new(account));
                accepted
            }
            Login::Failed => server
                .reject(
                    Some(ResponseCode::AuthenticationFailed),
                    "Authentication failed",
                )
                .map_err(api),
            Login::Refused => server
                .reject(
                    Some(ResponseCode::Unavailable),
                    "Too many failed logins from your address, try again later",
                )
                .map_err(api),
        }
    }

    async fn command(&mut self, cmd: Command<'static>) -> io::Result<()> {
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
            CommandBody::Notify { set } => self.notify(set).await,
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
            CommandBody::GenUrlAuth { urls } => self.genurlauth(&urls).await,
            CommandBody::UrlFetch { urls } => self.urlfetch(&urls).await,
            CommandBody::ResetKey { mailbox, .. } => self.resetkey(mailbox.as_ref()).await,
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
        self.server_mut().complete(kind, code, text).map_err(api)
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
            self.server_mut().send(&Response::Status(Status::untagged(
                StatusKind::Ok,
                Some(code),
                text,
            )));
        }
    }

    /// Ends the connection with `* BYE`.
    fn bye(&mut self, text: &'static str) {
        if let Ok(text) = Text::new(text) {
            self.server_mut().send(&Response::Status(Status::untagged(
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

    /// Whether CONDSTORE is on (ENABLE, SELECT (CONDSTORE), or a command using it, RFC 7162
    /// §3.1; the session keeps track): FETCH responses carry MODSEQ.
    fn condstore(&self) -> bool {
        self.server().is_enabled(&Capability::CondStore)
    }

    /// Whether the client enabled IMAP4rev2 (RFC 9051 rules from then on).
    fn rev2(&self) -> bool {
        self.server().is_enabled(&Capability::Imap4Rev2)
    }

    /// The APPENDLIMIT this connection advertises.
    fn append_limit(&self) -> u64 {
        self.append_limit
    }

    fn namespace(&mut self) -> io::Result<()> {
        use sansmail_imap::types::response_data::{NamespaceDescr, Namespaces};
        let delimiter = self.service.store.hierarchy_delimiter();
        self.server_mut().send_data(Data::Namespace(Namespaces {
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
}

impl<S: MailStore> crate::listener::Service for ImapService<S> {
    fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    fn protocol(&self) -> &'static str {
        "imap"
    }

    /// What a client over the connection limit is told.
    fn busy_reply(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Ok(text) = Text::new("Too many connections, try again later") {
            let bye = Response::Status(Status::untagged(StatusKind::Bye, None, text));
            let mut buf = sansmail_imap::codec::EncodeBuf::new();
            let opts = sansmail_imap::codec::ResponseOptions::default();
            sansmail_imap::codec::encode_response(&bye, &opts, &mut buf);
            out = buf.bytes;
        }
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
    service: Arc<ImapService<S>>,
) -> io::Result<SocketAddr> {
    crate::listener::spawn("imap", addr, None, service)
        .await
        .map(|(local, _)| local)
}

#[cfg(test)]
mod tests {
    use sansmail_core::Credentials;
    use sansmail_smtp::ForwardPath;
    use sansmail_store::{AccountName, memory::MemoryStore};

    use super::*;
    use crate::{
        auth::{Accounts, Refusal, ThrottleConfig},
        listener::{ConnectionLimits, Gate},
    };

    struct Nobody;

    impl Accounts for Nobody {
        fn verify(&self, _: &Credentials) -> Option<AccountName> {
            None
        }

        fn recipient(&self, _: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
            Err(Refusal::NotLocal)
        }
    }

    fn service() -> ImapService<MemoryStore> {
        let auth = Authenticator::new(Arc::new(Nobody), ThrottleConfig::default());
        let gate = Gate::new(ConnectionLimits::default());
        ImapService::new(
            "imap.example",
            Arc::new(auth),
            Arc::new(MemoryStore::new()),
            gate,
        )
    }

    #[test]
    fn connections_of_one_kind_share_one_configuration() {
        let service = service();
        let first = service.session_config(true, false);
        assert!(Arc::ptr_eq(&first, &service.session_config(true, false)));
        for (tls_first, implicit) in [(false, false), (true, true), (false, true)] {
            let other = service.session_config(tls_first, implicit);
            assert!(!Arc::ptr_eq(&first, &other));
            assert_eq!(
                (other.auth_requires_tls, other.implicit_tls),
                (tls_first, implicit)
            );
        }
        // No TLS acceptor: no STARTTLS, whatever the connection.
        assert!(!first.starttls);
        let limit = append_limit(&service.config);
        assert!(
            first
                .capabilities
                .contains(&Capability::AppendLimit(Some(limit)))
        );
    }
}
