//! The client driver: a [`Client`] session over a connection, with the operations people use.
//!
//! ```no_run
//! use sansmail_smtp::session::client::{ClientConfig, Envelope, TlsPolicy};
//! use sansmail_smtp::tokio::{client::SmtpClient, tls::{TlsConnector, Verify}};
//! use sansmail_smtp::{DomainPart, ForwardPath, Mailbox, ReversePath, types::sasl::Credentials};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ClientConfig::new(DomainPart::try_from("client.example.org")?.into_owned());
//! config.starttls = TlsPolicy::Required;
//! config.credentials = Some(Credentials::new("alice", "secret"));
//! let tls = TlsConnector::new(&Verify::Platform)?;
//! let mut smtp = SmtpClient::connect("mail.example.org", 587, config, Some(tls)).await?;
//!
//! let envelope = Envelope::new(
//!     ReversePath::Mailbox(Mailbox::try_from("alice@example.org")?.into_owned()),
//!     [ForwardPath::Mailbox(Mailbox::try_from("bob@example.net")?.into_owned())],
//! );
//! let sent = smtp.send(&envelope, b"Subject: hi\r\n\r\nHello Bob\r\n").await?;
//! assert!(sent.all_accepted(), "{:?}", sent.recipients);
//! smtp.quit().await?;
//! # Ok(()) }
//! ```

use std::{io, time::Instant};

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
    session::client::{ApiError, Client, ClientConfig, ClientError, Envelope, Event},
    types::{capability::EhloReply, reply::Reply},
};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The server refused a step, broke the protocol, or did not answer in time. The
    /// session is over unless the failure was a transaction's (see
    /// [`SmtpClient::send`]).
    #[error(transparent)]
    Smtp(#[from] ClientError),
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// STARTTLS or implicit TLS is required but no [`TlsConnector`] was given.
    #[error("TLS is required but no TLS connector was given")]
    NoTlsConnector,
    /// The envelope could not be sent (no recipient, a value that cannot be encoded).
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// The outcome of one message: for each envelope recipient, in envelope order, the reply that
/// decided it (its refusal at RCPT, or the server's verdict after the message: in SMTP one for
/// every accepted recipient, in LMTP each recipient's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// One reply per envelope recipient.
    pub recipients: Vec<Reply<'static>>,
}

impl Sent {
    /// Whether recipient `index` has the message.
    pub fn is_accepted(&self, index: usize) -> bool {
        self.recipients
            .get(index)
            .is_some_and(|r| r.code().is_positive())
    }

    /// Whether every recipient has the message.
    pub fn all_accepted(&self) -> bool {
        self.recipients.iter().all(|r| r.code().is_positive())
    }

    /// How many recipients have the message.
    pub fn accepted(&self) -> usize {
        self.recipients
            .iter()
            .filter(|r| r.code().is_positive())
            .count()
    }

    fn new(rcpt: Vec<Option<Reply<'static>>>, finals: &[(usize, Reply<'static>)]) -> Self {
        let fallback = finals.first().map(|(_, r)| r);
        let recipients = rcpt
            .into_iter()
            .enumerate()
            .filter_map(|(i, at_rcpt)| match at_rcpt {
                Some(r) if !r.code().is_positive() => Some(r),
                at_rcpt => finals
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, r)| r)
                    .or(fallback)
                    .cloned()
                    .or(at_rcpt),
            })
            .collect();
        Self { recipients }
    }
}

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
}

/// An SMTP, submission or LMTP client session over a connection.
#[derive(Debug)]
pub struct SmtpClient<IO> {
    driver: Driver<Client, IO>,
    /// The session waits for a transaction or QUIT.
    ready: bool,
    /// The RCPT replies of the last [`send`](Self::send), by envelope index.
    recipients: Vec<Option<Reply<'static>>>,
}

impl SmtpClient<TcpStream> {
    /// Connects to `host:port` and makes the session ready to send: TLS at once when
    /// `config.implicit_tls` is set (ports 465), the greeting, EHLO, STARTTLS as
    /// `config.starttls` says, AUTH when `config.credentials` is set. The server's
    /// certificate is checked against `host`; `tls` may be `None` only when no TLS is
    /// wanted (with [`TlsPolicy::Opportunistic`](sansmail_core::TlsPolicy::Opportunistic) that means plaintext).
    pub async fn connect(
        host: &str,
        port: u16,
        config: ClientConfig,
        tls: Option<TlsConnector>,
    ) -> Result<Self, Error> {
        let tcp = driver::connect_tcp(host, port, config.reply_timeout)
            .await?
            .ok_or(Error::Smtp(ClientError::Timeout))?;
        Self::start(Stream::plain(tcp), tls::server_name(host)?, config, tls).await
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> SmtpClient<IO> {
    /// Like [`SmtpClient::connect`] over a connection made elsewhere (a proxy, a Unix socket,
    /// a test's in-memory pipe); `server_name` is what the certificate is checked against.
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
            ready: false,
            recipients: Vec::new(),
        };
        client.until_ready().await?;
        Ok(client)
    }

    /// What the server announced in its (last) EHLO reply.
    pub fn capabilities(&self) -> Option<&EhloReply<'static>> {
        self.driver.session().capabilities()
    }

    /// The session.
    pub fn session(&self) -> &Client {
        self.driver.session()
    }

    /// The connection (whether TLS is active, and which version).
    pub fn transport(&self) -> &Transport<IO> {
        self.driver.transport()
    }

    /// Sends one message to the envelope's recipients (pipelined and with BDAT where the
    /// server offers them). `Ok` once the server gave its verdict for every recipient,
    /// accepted or not (see [`Sent`]), the refusal of every recipient included; `Err` when
    /// the transaction failed as a whole (MAIL or DATA refused) or the session did. After a
    /// failed transaction ([`Error::Smtp`] with the session still open) another may follow.
    ///
    /// Without a SIZE in the envelope, the message's length is declared (RFC 1870), so that
    /// a server with a smaller limit refuses it at MAIL, before it is sent.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Sent, Error> {
        self.recipients = vec![None; envelope.recipients.len()];
        self.until_ready().await?;
        let sized = envelope.params.size.is_none().then(|| {
            let mut sized = envelope.clone();
            sized.params.size = Some(message.len() as u64);
            sized
        });
        self.driver
            .session_mut()
            .send_mail(sized.as_ref().unwrap_or(envelope))?;
        self.ready = false;
        loop {
            match self.next().await? {
                Event::Recipient { index, reply } => {
                    if let Some(slot) = self.recipients.get_mut(index) {
                        *slot = Some(reply);
                    }
                }
                Event::SendData => {
                    let session = self.driver.session_mut();
                    // A reply that came right behind the 354 (a refusal, a 421) has moved
                    // the session on: its own event follows and says how it went.
                    if session.send_data(message).is_ok() {
                        session.end_data()?;
                    }
                }
                Event::Sent { replies } => {
                    return Ok(Sent::new(self.recipients.clone(), &replies));
                }
                Event::TransactionFailed(ClientError::NoValidRecipients) => {
                    return Ok(Sent::new(self.recipients.clone(), &[]));
                }
                Event::TransactionFailed(e) => return Err(Error::Smtp(e)),
                Event::Ready => self.ready = true,
                Event::Closed => return Err(Error::Closed),
                _ => {}
            }
        }
    }

    /// The replies to the RCPT commands of the last [`send`](Self::send), by envelope
    /// index (`None`: not answered), also when it failed: a recipient refused at RCPT has
    /// its own verdict whatever happened to the transaction after it (RFC 5321 §3.3).
    pub fn recipient_replies(&self) -> &[Option<Reply<'static>>] {
        &self.recipients
    }

    /// Says QUIT, waits for the answer and closes the connection.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.until_ready().await?;
        self.driver.session_mut().quit()?;
        loop {
            match self.next().await {
                Ok(Event::Closed) | Err(Error::Closed) => break,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        // The server may close first; that is how QUIT ends.
        self.driver.close().await;
        Ok(())
    }

    async fn until_ready(&mut self) -> Result<(), Error> {
        while !self.ready {
            match self.next().await? {
                Event::Ready => self.ready = true,
                Event::Closed => return Err(Error::Closed),
                _ => {}
            }
        }
        Ok(())
    }

    /// The next event, with a failed session as `Err`.
    async fn next(&mut self) -> Result<Event, Error> {
        // An LMTP server that closed, or whose connection broke, after some final replies:
        // those recipients have the message (`Sent`), however the rest went.
        let lost = |client: &mut Self, error: Error| {
            let session = client.driver.session_mut();
            session.connection_closed();
            session.poll_event().ok_or(error)
        };
        match self.driver.next_event().await {
            Ok(Some(Event::Failed(e))) => Err(Error::Smtp(e)),
            Ok(Some(event)) => Ok(event),
            Ok(None) => lost(self, Error::Closed),
            Err(e) => lost(self, Error::Io(e)),
        }
    }
}
