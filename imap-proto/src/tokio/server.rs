//! The server driver: a [`Server`] session over a connection.
//!
//! A server with mailboxes races [`Connection::next_event`] (cancel-safe) against its store's
//! change notifications and hands each change to the session with
//! [`Server::push_update`]; the session tells the client when RFC 9051 §7.4.1 allows.
//!
//! ```no_run
//! use sansmail_imap::session::{ServerConfig, server::Event};
//! use sansmail_imap::tokio::{server::Connection, tls::Stream};
//! use sansmail_imap::types::{command::CommandBody, response::StatusKind, response_code::ResponseCode};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::default(), None);
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Login { credentials } if credentials.password.expose() == "secret" => {
//!             session.accept()
//!         }
//!         Event::Login { .. } => {
//!             session.reject(Some(ResponseCode::AuthenticationFailed), "Authentication failed")
//!         }
//!         Event::LiteralAnnounced { .. } => session.accept_literal(),
//!         Event::Command(cmd) => match cmd.body {
//!             CommandBody::Namespace => session.complete(StatusKind::Ok, None, "done"),
//!             _ => session.complete(StatusKind::No, None, "Not here"),
//!         },
//!         _ => Ok(()),
//!     };
//!     answered.map_err(std::io::Error::other)?;
//! }
//! # Ok(()) }
//! ```

use std::{io, time::Instant};

use sansmail_core::{
    driver::{Driven, Driver, TlsRole},
    tls::{Stream, TlsAcceptor},
    transport::Transport,
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::session::{
    ServerConfig,
    server::{ApiError, Event, Server},
};

impl Driven for Server {
    type Event = Event;
    type Error = ApiError;

    fn poll_event(&mut self) -> Option<Event> {
        Server::poll_event(self)
    }

    fn is_start_tls(event: &Event) -> bool {
        matches!(event, Event::StartTls)
    }

    fn tls_established(&mut self) -> Result<(), ApiError> {
        Server::tls_established(self)
    }
}

/// A [`Server`] session over a connection.
///
/// [`next_event`](Self::next_event) sends what the session queued, reads when the session
/// needs input, and returns each event; answer decisions through
/// [`session_mut`](Self::session_mut) before asking for the next event. STARTTLS, the
/// session's timeouts and backpressure are handled inside.
#[derive(Debug)]
pub struct Connection<IO>(Driver<Server, IO>);

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// Starts a session over `stream`. `config.implicit_tls` follows the stream; STARTTLS is
    /// offered when `tls` is given and the stream is not TLS already.
    pub fn new(stream: Stream<IO>, mut config: ServerConfig, tls: Option<TlsAcceptor>) -> Self {
        config.implicit_tls = stream.is_tls();
        config.starttls = tls.is_some() && !stream.is_tls();
        Self(Driver::new(
            Transport::new(stream),
            Server::new(config, Instant::now()),
            tls.map(TlsRole::Accept),
        ))
    }

    /// The session, for asking about its state.
    pub fn session(&self) -> &Server {
        self.0.session()
    }

    /// The session, for answering decisions and pushing updates.
    pub fn session_mut(&mut self) -> &mut Server {
        self.0.session_mut()
    }

    /// The connection (whether TLS is active, and which version).
    pub fn transport(&self) -> &Transport<IO> {
        self.0.transport()
    }

    /// The connection, for its settings (the send timeout:
    /// [`Transport::set_send_timeout`]).
    pub fn transport_mut(&mut self) -> &mut Transport<IO> {
        self.0.transport_mut()
    }

    /// The next event; `None` once the session is over (its last response sent) or the
    /// client closed the connection. STARTTLS is run here and not reported.
    ///
    /// Cancel-safe, except while a STARTTLS handshake runs (after which the connection is
    /// unusable).
    pub async fn next_event(&mut self) -> io::Result<Option<Event>> {
        self.0.next_event().await
    }

    /// Sends what the session queued (updates pushed while the client is in IDLE) without
    /// waiting for input. Cancel-safe.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.0.flush().await
    }

    /// Ends the session with `* BYE` (the server is shutting down) and closes the
    /// connection.
    pub async fn shutdown(mut self) {
        self.0.session_mut().shutdown();
        self.0.close().await;
    }
}
