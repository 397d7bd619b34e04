//! The client driver: a [`Client`] session over a connection, with the operations people use.
//!
//! Each operation sends one command and collects what answers it: its untagged data and its
//! tagged status. Untagged data nobody asked for (EXISTS, EXPUNGE, flag changes made
//! elsewhere) is kept for [`ImapClient::take_news`].
//!
//! ```no_run
//! use sansmail_imap::session::client::ClientConfig;
//! use sansmail_imap::tokio::{client::ImapClient, tls::{TlsConnector, Verify}};
//! use sansmail_imap::types::{fetch_attr::FetchAttr, sequence::{SeqNum, SequenceSet}};
//! use sansmail_core::Credentials;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
//! let tls = TlsConnector::new(&Verify::Platform)?;
//! let mut imap = ImapClient::connect("imap.example.org", 143, config, Some(tls)).await?;
//! let inbox = imap.select("INBOX").await?;
//! println!("{} messages", inbox.exists);
//! let all = SequenceSet::range(SeqNum::Value(1), SeqNum::Largest)?;
//! for message in imap.uid_fetch(&all, vec![FetchAttr::Flags, FetchAttr::Envelope]).await? {
//!     println!("{:?}", message.items);
//! }
//! // Wait up to 29 minutes for news (RFC 9051 §6.3.13).
//! let news = imap.idle(std::time::Duration::from_secs(29 * 60)).await?;
//! println!("{news:?}");
//! imap.logout().await?;
//! # Ok(()) }
//! ```

use std::{
    io,
    time::{Duration, Instant},
};

use sansmail_core::{
    driver::{self, Driven, Driver, TlsRole},
    tls::{self, ServerName, Stream, TlsConnector},
    transport::Transport,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

use crate::{
    session::client::{ApiError, Client, ClientConfig, ClientError, Event},
    types::{
        capability::Capability,
        command::{
            AppendData, AppendMessage, CommandBody, ListMailbox, SaslData, SaslResponse,
            StoreAction,
        },
        core::{AString, Atom, IString, Literal, Tag},
        datetime::DateTime,
        fetch::FetchItem,
        fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
        flag::Flag,
        mailbox::Mailbox,
        notify::NotifySet,
        response::{Data, Status, StatusKind},
        response_code::ResponseCode,
        response_data::{ESearchItem, ListData},
        search::SearchKey,
        sequence::SequenceSet,
    },
};

impl Driven for Client {
    type Event = Event;
    type Error = ApiError;

    fn poll_event(&mut self) -> Option<Event> {
        Client::poll_event(self)
    }

    fn is_start_tls(event: &Event) -> bool {
        matches!(event, Event::StartTls)
    }

    fn tls_established(&mut self) -> Result<(), ApiError> {
        Client::tls_established(self)
    }

    fn is_start_deflate(event: &Event) -> bool {
        matches!(event, Event::Compress)
    }

    fn deflate_established(&mut self) -> Result<Vec<u8>, ApiError> {
        Client::deflate_established(self)
    }
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The session failed: a refused set-up step, a broken response, no answer in time.
    #[error(transparent)]
    Imap(#[from] ClientError),
    /// The server answered the command with `NO` (or `BAD`); the session goes on.
    #[error("{command} refused: {} {}", .status.kind.as_str(), .status.text)]
    Refused {
        /// The command's name.
        command: &'static str,
        /// The tagged status.
        status: Box<Status<'static>>,
    },
    /// The server said BYE, or closed the connection.
    #[error("the server closed the connection: {0}")]
    Closed(String),
    /// STARTTLS or implicit TLS is required but no [`TlsConnector`] was given.
    #[error("TLS is required but no TLS connector was given")]
    NoTlsConnector,
    /// A command was made out of order (during IDLE, before the set-up).
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// The most UIDs [`ImapClient::uid_search`] expands an ESEARCH answer to: more than any
/// mailbox holds.
const MAX_SEARCH_UIDS: usize = 1 << 24;

/// A command's answer: its untagged data and its `OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The untagged data, in order.
    pub data: Vec<Data<'static>>,
    /// Untagged statuses while it ran (`* OK [UIDVALIDITY ...]`, `* NO ...`).
    pub untagged: Vec<Status<'static>>,
    /// The tagged `OK`.
    pub status: Status<'static>,
}

/// What SELECT or EXAMINE tells about the mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// `EXISTS`
    pub exists: u32,
    /// `FLAGS`: the flags the mailbox knows.
    pub flags: Vec<Flag<'static>>,
    /// `PERMANENTFLAGS`
    pub permanent_flags: Vec<Flag<'static>>,
    /// `UIDVALIDITY`
    pub uid_validity: Option<u32>,
    /// `UIDNEXT`
    pub uid_next: Option<u32>,
    /// `HIGHESTMODSEQ` (CONDSTORE), if the server reports it.
    pub highest_modseq: Option<u64>,
    /// Opened read-only (EXAMINE, or `[READ-ONLY]`).
    pub read_only: bool,
}

/// One message of a FETCH answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its sequence number.
    pub seq: u32,
    /// What was fetched (with `UID` for UID FETCH).
    pub items: Vec<FetchItem<'static>>,
}

impl Fetched {
    /// The message's UID, when the answer carries it.
    pub fn uid(&self) -> Option<u32> {
        uid_of(&self.items)
    }

    /// The message's flags, when the answer carries them.
    pub fn flags(&self) -> Option<&[Flag<'static>]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::Flags(f) => Some(f.as_slice()),
            _ => None,
        })
    }

    /// The octets of the first body section (`BODY[...]`, `BINARY[...]`, `RFC822`), when
    /// the answer carries one.
    pub fn body(&self) -> Option<&[u8]> {
        self.items.iter().find_map(|i| match i {
            FetchItem::BodySection { data, .. }
            | FetchItem::Binary { data, .. }
            | FetchItem::Rfc822(data) => Some(data.as_ref().map_or(&[][..], IString::as_bytes)),
            _ => None,
        })
    }
}

/// An IMAP client session over a connection.
#[derive(Debug)]
pub struct ImapClient<IO> {
    driver: Driver<Client, IO>,
    news: Vec<Data<'static>>,
    unreadable: Vec<Unreadable>,
    unreadable_dropped: usize,
    alerts: Vec<Status<'static>>,
}

/// How many unreadable responses, and how many alerts, are kept until taken; and how much
/// of each unreadable response.
const MAX_KEPT: usize = 64;
const MAX_KEPT_OCTETS: usize = 4096;

/// An untagged response the decoder could not read, even with its leniencies: it was
/// skipped, so what it said (a message's FETCH data) is missing from the answer it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The response as it came, literals included (its first 4 KiB).
    pub response: Vec<u8>,
    /// What the decoder found wrong.
    pub error: String,
}

impl ImapClient<TcpStream> {
    /// Connects to `host:port` and sets the session up as `config` says: TLS at once when
    /// `config.implicit_tls` is set (port 993), the greeting, CAPABILITY, STARTTLS per
    /// `config.starttls`, the login with `config.credentials`. The server's certificate is
    /// checked against `host`; `tls` may be `None` only when no TLS is wanted (with
    /// [`TlsPolicy::Opportunistic`](sansmail_core::TlsPolicy::Opportunistic) that means plaintext).
    pub async fn connect(
        host: &str,
        port: u16,
        config: ClientConfig,
        tls: Option<TlsConnector>,
    ) -> Result<Self, Error> {
        let tcp = driver::connect_tcp(host, port, config.response_timeout)
            .await?
            .ok_or(Error::Imap(ClientError::Timeout))?;
        Self::start(Stream::plain(tcp), tls::server_name(host)?, config, tls).await
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> ImapClient<IO> {
    /// Like [`ImapClient::connect`] over a connection made elsewhere; `server_name` is what
    /// the certificate is checked against.
    pub async fn start(
        stream: Stream<IO>,
        server_name: ServerName<'static>,
        mut config: ClientConfig,
        tls: Option<TlsConnector>,
    ) -> Result<Self, Error> {
        let (transport, starttls) = driver::client_transport(
            stream,
            &server_name,
            config.starttls,
            config.implicit_tls,
            config.credentials.is_some(),
            tls.as_ref(),
            Error::NoTlsConnector,
        )
        .await?;
        config.starttls = starttls;
        config.implicit_tls = transport.is_tls();
        let session = Client::new(config, Instant::now());
        let tls = tls.map(|t| TlsRole::Connect(t, server_name));
        let mut client = Self {
            driver: Driver::new(transport, session, tls),
            news: Vec::new(),
            unreadable: Vec::new(),
            unreadable_dropped: 0,
            alerts: Vec::new(),
        };
        while !client.driver.session().is_ready() {
            if let Event::Data { data, .. } = client.next().await? {
                client.news.push(data);
            }
        }
        Ok(client)
    }

    /// The capabilities the server announced last.
    pub fn capabilities(&self) -> &[Capability<'static>] {
        self.driver.session().capabilities()
    }

    /// The session (state, capabilities).
    pub fn session(&self) -> &Client {
        self.driver.session()
    }

    /// The connection (whether TLS is active, and which version).
    pub fn transport(&self) -> &Transport<IO> {
        self.driver.transport()
    }

    /// Untagged data that answered no command (EXISTS, EXPUNGE, FETCH with new flags,
    /// VANISHED), oldest first; taken out.
    pub fn take_news(&mut self) -> Vec<Data<'static>> {
        std::mem::take(&mut self.news)
    }

    /// The responses skipped because they could not be read, oldest first, and how many
    /// more were skipped beyond those kept (the first 64 since the last call, each cut to
    /// its first 4 KiB); taken out. A client that syncs checks it after a FETCH: a message
    /// whose FETCH response was skipped is missing from the answer, not gone from the
    /// mailbox, and a count above zero says that more are.
    pub fn take_unreadable(&mut self) -> (Vec<Unreadable>, usize) {
        (
            std::mem::take(&mut self.unreadable),
            std::mem::take(&mut self.unreadable_dropped),
        )
    }

    /// The statuses with an `[ALERT]` code the server sent, tagged or not, oldest first;
    /// taken out (the first 64 since the last call). RFC 9051 §7.1: their text MUST be
    /// presented to the user.
    pub fn take_alerts(&mut self) -> Vec<Status<'static>> {
        std::mem::take(&mut self.alerts)
    }

    /// Runs one command to its completion: `Ok` for `OK`, [`Error::Refused`] for `NO` and
    /// `BAD`. An AUTHENTICATE goes with its initial response only: a challenge after it (a
    /// server's error details after a refused OAuth token) is answered as the mechanism
    /// asks (OAUTHBEARER's `%x01`, XOAUTH2's empty response), so the server's refusal
    /// (`NO [AUTHENTICATIONFAILED]`) comes at once rather than the response timeout.
    ///
    /// After a LOGIN or AUTHENTICATE whose `OK` did not carry the new capabilities, it asks
    /// for them (CAPABILITY) before returning, so that [`capabilities`](Self::capabilities)
    /// describes the logged-in session.
    pub async fn run(&mut self, body: CommandBody<'_>) -> Result<Answer, Error> {
        let login = matches!(
            body,
            CommandBody::Login { .. } | CommandBody::Authenticate { .. }
        );
        let authenticate = match &body {
            CommandBody::Authenticate { mechanism, .. } => Some(mechanism.as_str().to_owned()),
            _ => None,
        };
        let tag = self.driver.session_mut().send(body)?;
        let answer = self.answer_with(&tag, authenticate).await?;
        if login && self.capabilities().is_empty() {
            let tag = self.driver.session_mut().send(CommandBody::Capability)?;
            // The login stands even if the server refuses to say them.
            match self.answer_with(&tag, None).await {
                Ok(_) | Err(Error::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(answer)
    }

    /// SELECT: opens a mailbox read-write.
    pub async fn select(&mut self, mailbox: &str) -> Result<Selected, Error> {
        let mailbox = mailbox_arg(mailbox)?;
        let answer = self
            .run(CommandBody::Select {
                mailbox,
                params: Vec::new(),
            })
            .await?;
        Ok(selected(&answer, false))
    }

    /// EXAMINE: opens a mailbox read-only.
    pub async fn examine(&mut self, mailbox: &str) -> Result<Selected, Error> {
        let mailbox = mailbox_arg(mailbox)?;
        let answer = self
            .run(CommandBody::Examine {
                mailbox,
                params: Vec::new(),
            })
            .await?;
        Ok(selected(&answer, true))
    }

    /// LIST: the mailboxes matching `pattern` (`*` any characters, `%` any but the
    /// delimiter) under the empty reference.
    pub async fn list(&mut self, pattern: &str) -> Result<Vec<ListData<'static>>, Error> {
        // A pattern names mailboxes: modified UTF-7 unless UTF-8 is in force.
        let pattern = ListMailbox::from_name(pattern, self.driver.session().is_utf8())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let answer = self
            .run(CommandBody::List {
                selection: None,
                reference: mailbox_arg("")?,
                patterns: vec![pattern],
                return_opts: None,
            })
            .await?;
        let mut found = Vec::new();
        for d in answer.data {
            match d {
                Data::List(l) => found.push(l),
                other => self.news.push(other),
            }
        }
        Ok(found)
    }

    /// FETCH by sequence numbers.
    pub async fn fetch(
        &mut self,
        set: &SequenceSet,
        attrs: Vec<FetchAttr<'_>>,
    ) -> Result<Vec<Fetched>, Error> {
        self.fetch_with(false, set, attrs).await
    }

    /// UID FETCH: by UIDs; every answer carries its UID.
    pub async fn uid_fetch(
        &mut self,
        set: &SequenceSet,
        attrs: Vec<FetchAttr<'_>>,
    ) -> Result<Vec<Fetched>, Error> {
        self.fetch_with(true, set, attrs).await
    }

    async fn fetch_with(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        attrs: Vec<FetchAttr<'_>>,
    ) -> Result<Vec<Fetched>, Error> {
        let items = if attrs.len() == 1 {
            attrs
                .into_iter()
                .next()
                .map_or(FetchItems::List(Vec::new()), FetchItems::Single)
        } else {
            FetchItems::List(attrs)
        };
        let answer = self
            .run(CommandBody::Fetch {
                uid,
                set: set.clone(),
                items,
                modifiers: FetchModifiers::default(),
            })
            .await?;
        let asked = uid.then_some(set);
        Ok(fetched(answer.data, asked, &mut self.news))
    }

    /// UID STORE: changes flags by UID; the messages' flags afterwards (none with
    /// `silent`).
    pub async fn uid_store(
        &mut self,
        set: &SequenceSet,
        action: StoreAction,
        flags: Vec<Flag<'_>>,
        silent: bool,
    ) -> Result<Vec<Fetched>, Error> {
        let answer = self
            .run(CommandBody::Store {
                uid: true,
                set: set.clone(),
                unchanged_since: None,
                action,
                silent,
                flags,
            })
            .await?;
        Ok(fetched(answer.data, Some(set), &mut self.news))
    }

    /// UID SEARCH: the UIDs of the selected mailbox's messages the keys (ANDed) match.
    pub async fn uid_search(&mut self, criteria: Vec<SearchKey<'_>>) -> Result<Vec<u32>, Error> {
        // Text beyond ASCII needs its charset named unless UTF-8 is in force (RFC 3501
        // §6.4.4); every server supports UTF-8 there (RFC 9051 §6.4.4).
        let utf8 =
            !self.driver.session().is_utf8() && criteria.iter().any(SearchKey::has_non_ascii);
        let answer = self
            .run(CommandBody::Search {
                uid: true,
                return_opts: None,
                charset: utf8.then(|| AString::Atom("UTF-8".into())),
                criteria,
            })
            .await?;
        let mut uids = Vec::new();
        for d in answer.data {
            match d {
                Data::Search(r) => uids.extend(r.ids),
                // An updating search's news (RFC 5267) is not this command's answer.
                Data::ESearch(e) if !e.is_update() => {
                    for item in &e.items {
                        if let ESearchItem::All(set) = item {
                            // A set is a few octets however many UIDs it spans: a hostile
                            // `ALL 1:4294967295` would be 16 GiB.
                            let room = MAX_SEARCH_UIDS - uids.len().min(MAX_SEARCH_UIDS);
                            let before = uids.len();
                            uids.extend(set.iter(u32::MAX).take(room + 1));
                            if uids.len() - before > room {
                                return Err(Error::Imap(ClientError::Protocol(format!(
                                    "a search answer of more than {MAX_SEARCH_UIDS} UIDs"
                                ))));
                            }
                        }
                    }
                }
                other => self.news.push(other),
            }
        }
        Ok(uids)
    }

    /// APPEND: stores `message` in `mailbox`; its UIDVALIDITY and UID when the server says
    /// them (UIDPLUS). A message with a NUL goes as a `literal8`, only to a server that
    /// offers BINARY or IMAP4rev2 ([`ApiError::NotOffered`] otherwise).
    pub async fn append(
        &mut self,
        mailbox: &str,
        flags: Vec<Flag<'_>>,
        date: Option<DateTime>,
        message: &[u8],
    ) -> Result<Option<(u32, u32)>, Error> {
        let literal = match Literal::new(message.to_vec(), crate::codec::frame::LiteralMode::Sync) {
            Ok(literal) => literal,
            // A NUL goes only in a literal8, which needs BINARY (RFC 3516 §4.3) or IMAP4rev2
            // (RFC 9051 §6.3.12).
            Err(_)
                if self.driver.session().has(&Capability::Binary)
                    || self.driver.session().has(&Capability::Imap4Rev2) =>
            {
                Literal::binary(message.to_vec(), crate::codec::frame::LiteralMode::Sync)
            }
            Err(_) => return Err(ApiError::NotOffered("BINARY").into()),
        };
        let answer = self
            .run(CommandBody::Append {
                mailbox: mailbox_arg(mailbox)?,
                messages: vec![AppendMessage {
                    flags: (!flags.is_empty()).then_some(flags),
                    date,
                    data: AppendData::Literal(literal),
                }],
            })
            .await?;
        // EXISTS for the selected mailbox (RFC 9051 §6.3.12), or anything else.
        self.news.extend(answer.data);
        Ok(match answer.status.code {
            Some(ResponseCode::AppendUid { uid_validity, uids }) => {
                uids.iter(u32::MAX).next().map(|uid| (uid_validity, uid))
            }
            _ => None,
        })
    }

    /// EXPUNGE: removes the messages flagged `\Deleted`; the sequence numbers (EXPUNGE) or
    /// UIDs (VANISHED, under QRESYNC) reported.
    pub async fn expunge(&mut self) -> Result<Vec<Data<'static>>, Error> {
        self.run(CommandBody::Expunge).await.map(|a| a.data)
    }

    /// NOOP: lets the server report changes (see [`take_news`](Self::take_news)).
    pub async fn noop(&mut self) -> Result<(), Error> {
        let answer = self.run(CommandBody::Noop).await?;
        self.news.extend(answer.data);
        Ok(())
    }

    /// GENURLAUTH (RFC 4467 §6.1): authorizes each URL rump
    /// (`imap://user@host/mailbox/;UID=n;URLAUTH=access`) with the `INTERNAL` mechanism;
    /// the authorized URLs, in the same order.
    pub async fn genurlauth(&mut self, rumps: &[&str]) -> Result<Vec<String>, Error> {
        let mechanism = Atom::new(crate::url::INTERNAL).map_err(invalid_input)?;
        let urls = rumps
            .iter()
            .map(|r| {
                let url = AString::from_bytes(r.as_bytes().to_vec()).map_err(invalid_input)?;
                Ok((url, mechanism.clone()))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let answer = self.run(CommandBody::GenUrlAuth { urls }).await?;
        let mut full = Vec::new();
        for d in answer.data {
            match d {
                Data::GenUrlAuth(urls) => {
                    full.extend(urls.iter().map(|u| u.to_str_lossy().into_owned()));
                }
                other => self.news.push(other),
            }
        }
        Ok(full)
    }

    /// URLFETCH (RFC 4467 §6.3): each URL with the octets it names, `None` where the server
    /// answered `NIL` (an invalid, expired or unauthorized URL).
    pub async fn urlfetch(
        &mut self,
        urls: &[&str],
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, Error> {
        let urls = urls
            .iter()
            .map(|u| AString::from_bytes(u.as_bytes().to_vec()).map_err(invalid_input))
            .collect::<Result<Vec<_>, Error>>()?;
        let answer = self.run(CommandBody::UrlFetch { urls }).await?;
        let mut fetched = Vec::new();
        for d in answer.data {
            match d {
                Data::UrlFetch(items) => fetched.extend(items.into_iter().map(|(url, data)| {
                    (
                        url.to_str_lossy().into_owned(),
                        data.map(|d| d.as_bytes().to_vec()),
                    )
                })),
                other => self.news.push(other),
            }
        }
        Ok(fetched)
    }

    /// RESETKEY (RFC 4467 §6.2): new access keys for `mailbox`, or for every mailbox with
    /// `None`; the URLs authorized before stop working.
    pub async fn resetkey(&mut self, mailbox: Option<&str>) -> Result<(), Error> {
        let mailbox = mailbox.map(mailbox_arg).transpose()?;
        let answer = self
            .run(CommandBody::ResetKey {
                mailbox,
                mechanisms: Vec::new(),
            })
            .await?;
        self.news.extend(answer.data);
        Ok(())
    }

    /// NOTIFY (RFC 5465): `Some(set)` asks the server to report the events of `set` without
    /// being asked, `None` (`NOTIFY NONE`) stops it. Returns the untagged data of the answer
    /// (the STATUS of each matching mailbox for `NOTIFY SET STATUS`); what comes later
    /// arrives through [`wait_news`](Self::wait_news) or with the next command, in
    /// [`take_news`](Self::take_news). A server without the events asked for answers
    /// `NO [BADEVENT (...)]` ([`Error::Refused`]).
    pub async fn notify(
        &mut self,
        set: Option<NotifySet<'_>>,
    ) -> Result<Vec<Data<'static>>, Error> {
        self.run(CommandBody::Notify { set }).await.map(|a| a.data)
    }

    /// Waits up to `max` for untagged data sent unasked (under NOTIFY), without sending a
    /// command; returns it with what was already waiting in [`take_news`](Self::take_news).
    pub async fn wait_news(&mut self, max: Duration) -> Result<Vec<Data<'static>>, Error> {
        let deadline = tokio::time::Instant::now() + max;
        while self.news.is_empty() {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => break,
                Ok(event) => {
                    if let Event::Data { data, .. } = event? {
                        self.news.push(data);
                    }
                }
            }
        }
        Ok(self.take_news())
    }

    /// COMPRESS=DEFLATE (RFC 4978): from the server's OK on, both directions are compressed.
    /// Fails with [`Error::Refused`] when the server says NO (it does not offer it, or
    /// compression is active already).
    pub async fn compress(&mut self) -> Result<(), Error> {
        self.run(CommandBody::Compress {
            algorithm: Atom::from_parsed("DEFLATE"),
        })
        .await
        .map(drop)
    }

    /// IDLE (RFC 2177): waits until the server reports a change or `max` passes, ends IDLE
    /// with DONE, and returns the changes reported (also those already waiting in
    /// [`take_news`](Self::take_news)). Servers drop idle clients after 30 minutes; keep
    /// `max` below that and idle again.
    pub async fn idle(&mut self, max: Duration) -> Result<Vec<Data<'static>>, Error> {
        let tag = self.driver.session_mut().send(CommandBody::Idle)?;
        let deadline = tokio::time::Instant::now() + max;
        let mut idling = false;
        loop {
            if idling && !self.news.is_empty() {
                break;
            }
            match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => break,
                Ok(event) => match event? {
                    Event::Idling => idling = true,
                    Event::Data { data, .. } => self.news.push(data),
                    // The server may end IDLE itself (`OK IDLE terminated`): the news so
                    // far is the answer. NO or BAD refused it.
                    Event::Completed {
                        tag: t,
                        status,
                        name,
                    } if t == tag => {
                        if status.kind == StatusKind::Ok {
                            return Ok(self.take_news());
                        }
                        return Err(Error::Refused {
                            command: name,
                            status: Box::new(status),
                        });
                    }
                    _ => {}
                },
            }
        }
        if self.driver.session_mut().idle_done().is_ok() {
            // What came between DONE and the OK is news too.
            let answer = self.answer(&tag).await?;
            self.news.extend(answer.data);
        }
        Ok(self.take_news())
    }

    /// LOGOUT, and closes the connection.
    pub async fn logout(mut self) -> Result<(), Error> {
        self.driver.session_mut().send(CommandBody::Logout)?;
        loop {
            match self.next().await {
                Ok(_) => {}
                Err(Error::Closed(_)) => break,
                Err(e) => return Err(e),
            }
        }
        self.driver.close().await;
        Ok(())
    }

    /// Collects the answer of the command tagged `tag`.
    async fn answer(&mut self, tag: &Tag<'static>) -> Result<Answer, Error> {
        self.answer_with(tag, None).await
    }

    /// [`answer`](Self::answer); `authenticate`: the command is an AUTHENTICATE with this
    /// mechanism, whose error challenges are answered.
    async fn answer_with(
        &mut self,
        tag: &Tag<'static>,
        authenticate: Option<String>,
    ) -> Result<Answer, Error> {
        let mut data = Vec::new();
        let mut untagged = Vec::new();
        loop {
            match self.next().await? {
                Event::Data {
                    tag: Some(t),
                    data: d,
                } if &t == tag => data.push(d),
                Event::Data { data: d, .. } => self.news.push(d),
                Event::Untagged(status) => untagged.push(status),
                Event::Continue(_) if let Some(mechanism) = &authenticate => {
                    // After an error challenge: OAUTHBEARER's client sends %x01 (RFC 7628
                    // §3.2.3), XOAUTH2's an empty response; either brings the refusal.
                    let answer = if mechanism.eq_ignore_ascii_case("OAUTHBEARER") {
                        "AQ=="
                    } else {
                        ""
                    };
                    let answer = SaslResponse::Base64(SaslData::new(answer.into()));
                    self.driver.session_mut().sasl_response(&answer);
                }
                Event::Completed {
                    tag: t,
                    name,
                    status,
                } if &t == tag => {
                    return if status.kind == StatusKind::Ok {
                        Ok(Answer {
                            data,
                            untagged,
                            status,
                        })
                    } else {
                        Err(Error::Refused {
                            command: name,
                            status: Box::new(status),
                        })
                    };
                }
                _ => {}
            }
        }
    }

    /// The next event, with a failed or closed session as `Err`; unreadable responses are
    /// set aside and alerts noted on the way.
    async fn next(&mut self) -> Result<Event, Error> {
        loop {
            let event = match self.driver.next_event().await? {
                Some(Event::Failed(e)) => return Err(Error::Imap(e)),
                Some(Event::Closed { reason }) => return Err(Error::Closed(reason)),
                Some(Event::Unparsed {
                    mut response,
                    error,
                }) => {
                    // Bounded: a hostile server could send them without end.
                    if self.unreadable.len() < MAX_KEPT {
                        response.truncate(MAX_KEPT_OCTETS);
                        self.unreadable.push(Unreadable { response, error });
                    } else {
                        self.unreadable_dropped += 1;
                    }
                    continue;
                }
                Some(event) => event,
                None => return Err(Error::Closed("connection closed".to_owned())),
            };
            if let Event::Untagged(status) | Event::Completed { status, .. } = &event
                && status.code == Some(ResponseCode::Alert)
                && self.alerts.len() < MAX_KEPT
            {
                self.alerts.push(status.clone());
            }
            return Ok(event);
        }
    }
}

fn mailbox_arg(name: &str) -> Result<Mailbox<'static>, Error> {
    Mailbox::new(name.to_owned()).map_err(|e| {
        Error::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("mailbox {name:?}: {e}"),
        ))
    })
}

fn invalid_input(e: impl std::fmt::Display) -> Error {
    Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// The FETCH data of an answer; other data goes to `news`. For a UID command (`uids`, the
/// set asked for), a FETCH without a UID or with one outside the set is news too: another
/// session's flag change the server reports meanwhile, not this command's answer.
fn fetched(
    data: Vec<Data<'static>>,
    uids: Option<&SequenceSet>,
    news: &mut Vec<Data<'static>>,
) -> Vec<Fetched> {
    let mut out = Vec::new();
    for d in data {
        match d {
            Data::Fetch { seq, items } if answers(uids, &items) => {
                out.push(Fetched { seq, items });
            }
            other => news.push(other),
        }
    }
    out
}

fn uid_of(items: &[FetchItem<'_>]) -> Option<u32> {
    items.iter().find_map(|i| match i {
        FetchItem::Uid(u) => Some(*u),
        _ => None,
    })
}

/// Whether FETCH data with `items` answers a command for `uids` (any, without one).
fn answers(uids: Option<&SequenceSet>, items: &[FetchItem<'_>]) -> bool {
    let uid = uid_of(items);
    uids.is_none_or(|set| {
        // `n:*` reaches the largest UID even below `n` (RFC 9051 §6.4.9), which the
        // client does not know: any UID may answer it.
        uid.is_some_and(|uid| {
            *set == SequenceSet::Saved || set.has_largest() || set.contains(uid, u32::MAX)
        })
    })
}

fn selected(answer: &Answer, read_only: bool) -> Selected {
    let mut s = Selected {
        read_only,
        ..Selected::default()
    };
    for d in &answer.data {
        match d {
            Data::Exists(n) => s.exists = *n,
            Data::Flags(f) => s.flags.clone_from(f),
            _ => {}
        }
    }
    let codes = answer
        .untagged
        .iter()
        .chain([&answer.status])
        .filter_map(|st| st.code.as_ref());
    for code in codes {
        match code {
            ResponseCode::UidValidity(v) => s.uid_validity = Some(*v),
            ResponseCode::UidNext(v) => s.uid_next = Some(*v),
            ResponseCode::HighestModSeq(v) => s.highest_modseq = Some(*v),
            ResponseCode::PermanentFlags(f) => s.permanent_flags.clone_from(f),
            ResponseCode::ReadOnly => s.read_only = true,
            ResponseCode::ReadWrite => s.read_only = false,
            _ => {}
        }
    }
    s
}
