//! The client driver: a [`Client`] session over a connection, with the operations people use.
//!
//! ```no_run
//! use sansmail_pop3::{Credentials, session::client::{ClientConfig, TlsPolicy}};
//! use sansmail_pop3::tokio::{client::Pop3Client, tls::{TlsConnector, Verify}};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
//! config.starttls = TlsPolicy::Required;
//! let tls = TlsConnector::new(&Verify::Platform)?;
//! let mut pop = Pop3Client::connect("pop.example.org", 110, config, Some(tls)).await?;
//! for listing in pop.list().await? {
//!     let message = pop.retr(listing.msg).await?;
//!     println!("{} octets", message.len());
//!     pop.dele(listing.msg).await?;
//! }
//! // The deletions happen at QUIT (the UPDATE state).
//! assert!(pop.quit().await?);
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
    session::client::{ApiError, Client, ClientConfig, ClientError, Event, Request},
    types::{
        capability::Capabilities,
        command::MessageNumber,
        listing::{DropListing, ScanListing, UniqueIdListing},
        response::Response,
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
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The session failed: a refused login or STLS, a broken response, no answer in time.
    #[error(transparent)]
    Pop3(#[from] ClientError),
    /// The server answered a request with `-ERR`; the session goes on.
    #[error("{request:?} refused: {response}")]
    Refused {
        /// The request.
        request: Request,
        /// The server's response.
        response: Response<'static>,
    },
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// STLS or implicit TLS is required but no [`TlsConnector`] was given.
    #[error("TLS is required but no TLS connector was given")]
    NoTlsConnector,
    /// A request was made out of order.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// A POP3 client session over a connection.
#[derive(Debug)]
pub struct Pop3Client<IO> {
    driver: Driver<Client, IO>,
}

impl Pop3Client<TcpStream> {
    /// Connects to `host:port` and logs in: TLS at once when `config.implicit_tls` is set
    /// (port 995), the greeting, CAPA, STLS as `config.starttls` says, then APOP, AUTH PLAIN
    /// or USER/PASS when `config.credentials` is set. The server's certificate is checked
    /// against `host`; `tls` may be `None` only when no TLS is wanted (with
    /// [`TlsPolicy::Opportunistic`](sansmail_core::TlsPolicy::Opportunistic) that means plaintext).
    pub async fn connect(
        host: &str,
        port: u16,
        config: ClientConfig,
        tls: Option<TlsConnector>,
    ) -> Result<Self, Error> {
        let tcp = driver::connect_tcp(host, port, config.limits.response_timeout)
            .await?
            .ok_or(Error::Pop3(ClientError::Timeout))?;
        Self::start(Stream::plain(tcp), tls::server_name(host)?, config, tls).await
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Pop3Client<IO> {
    /// Like [`Pop3Client::connect`] over a connection made elsewhere; `server_name` is what
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
        };
        loop {
            if let Event::Ready = client.next().await? {
                return Ok(client);
            }
        }
    }

    /// What the server announced in its (last) CAPA answer.
    pub fn capabilities(&self) -> Option<&Capabilities<'static>> {
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

    /// STAT: how many messages, and their size.
    pub async fn stat(&mut self) -> Result<DropListing, Error> {
        self.driver.session_mut().stat()?;
        match self.answer(Request::Stat).await? {
            Event::Stat(d) => Ok(d),
            other => Err(unexpected(&other)),
        }
    }

    /// LIST: every message's number and size.
    pub async fn list(&mut self) -> Result<Vec<ScanListing>, Error> {
        self.driver.session_mut().list(None)?;
        match self.answer(Request::List(None)).await? {
            Event::List(l) => Ok(l),
            other => Err(unexpected(&other)),
        }
    }

    /// UIDL: every message's number and unique-id.
    pub async fn uidl(&mut self) -> Result<Vec<UniqueIdListing<'static>>, Error> {
        self.driver.session_mut().uidl(None)?;
        match self.answer(Request::Uidl(None)).await? {
            Event::Uidl(l) => Ok(l),
            other => Err(unexpected(&other)),
        }
    }

    /// RETR: the message, unstuffed, lines ending in CRLF. The server may mark it seen.
    pub async fn retr(&mut self, msg: MessageNumber) -> Result<Vec<u8>, Error> {
        self.driver.session_mut().retr(msg)?;
        self.content(Request::Retr(msg)).await
    }

    /// TOP: the header and the first `lines` lines of the body.
    pub async fn top(&mut self, msg: MessageNumber, lines: u64) -> Result<Vec<u8>, Error> {
        self.driver.session_mut().top(msg, lines)?;
        self.content(Request::Top(msg, lines)).await
    }

    /// DELE: marks a message; it is removed at [`quit`](Self::quit).
    pub async fn dele(&mut self, msg: MessageNumber) -> Result<(), Error> {
        self.driver.session_mut().dele(msg)?;
        self.answer(Request::Dele(msg)).await.map(drop)
    }

    /// RSET: unmarks every message marked with DELE.
    pub async fn rset(&mut self) -> Result<(), Error> {
        self.driver.session_mut().rset()?;
        self.answer(Request::Rset).await.map(drop)
    }

    /// NOOP.
    pub async fn noop(&mut self) -> Result<(), Error> {
        self.driver.session_mut().noop()?;
        self.answer(Request::Noop).await.map(drop)
    }

    /// QUIT: after login the server removes the messages marked with DELE (the UPDATE
    /// state). `true` when it says it did (`+OK`), `false` when some could not be removed.
    pub async fn quit(mut self) -> Result<bool, Error> {
        self.driver.session_mut().quit()?;
        let committed = loop {
            match self.next().await? {
                Event::Closed { committed, .. } => break committed,
                Event::Refused { request, response } => {
                    return Err(Error::Refused { request, response });
                }
                _ => {}
            }
        };
        self.driver.close().await;
        Ok(committed)
    }

    /// The answer to the request just made: its event, or its refusal as `Err`.
    async fn answer(&mut self, request: Request) -> Result<Event, Error> {
        loop {
            match self.next().await? {
                Event::Refused {
                    request: r,
                    response,
                } if r == request => {
                    return Err(Error::Refused { request, response });
                }
                event @ (Event::Stat(_)
                | Event::List(_)
                | Event::Scan(_)
                | Event::Uidl(_)
                | Event::UniqueId(_)
                | Event::MessageStart { .. }
                | Event::Deleted(_)
                | Event::Reset
                | Event::Noop) => return Ok(event),
                _ => {}
            }
        }
    }

    /// A message's content after RETR or TOP, at most [`Limits::max_message_size`](crate::Limits) octets:
    /// past it, the connection is of no further use (the rest of the message is still on
    /// its way).
    async fn content(&mut self, request: Request) -> Result<Vec<u8>, Error> {
        let max = self.driver.session().limits().max_message_size;
        let mut content = Vec::new();
        match self.answer(request).await? {
            Event::MessageStart { .. } => {}
            other => return Err(unexpected(&other)),
        }
        loop {
            match self.next().await? {
                Event::MessageData(data) if content.len() + data.len() > max => {
                    return Err(Error::Pop3(ClientError::Protocol(
                        crate::DecodeError::ResponseTooLarge { max },
                    )));
                }
                Event::MessageData(data) => content.extend_from_slice(&data),
                Event::MessageEnd { .. } => return Ok(content),
                _ => {}
            }
        }
    }

    /// The next event, with a failed session as `Err`.
    async fn next(&mut self) -> Result<Event, Error> {
        match self.driver.next_event().await? {
            Some(Event::Failed(e)) => Err(Error::Pop3(e)),
            Some(event) => Ok(event),
            None => Err(Error::Closed),
        }
    }
}

fn unexpected(event: &Event) -> Error {
    Error::Pop3(ClientError::Unexpected(format!(
        "an answer of another kind: {event:?}"
    )))
}
