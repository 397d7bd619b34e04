//! The server driver: a [`Server`] session over a connection.
//!
//! ```no_run
//! use sansmail_pop3::session::{Maildrop, ServerConfig, responses, server::Event};
//! use sansmail_pop3::tokio::{server::Connection, tls::Stream};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::new("pop.example.org"), None);
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Login { credentials, .. } if credentials.password.expose() == "secret" => {
//!             // Lock the user's maildrop and list its messages here.
//!             session.accept_login(Maildrop::new())
//!         }
//!         Event::Login { .. } | Event::Apop { .. } | Event::AuthExchange { .. } => {
//!             session.reject(&responses::auth_failed())
//!         }
//!         Event::Retrieve { .. } => session.reject(&responses::message_unavailable()),
//!         // Delete what was marked, then sign off.
//!         Event::Commit { .. } => session.accept(),
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
/// [`session_mut`](Self::session_mut) before asking for the next event. STLS, the session's
/// timeout and backpressure (no reading while answers are unsent, and no more answers
/// produced while a large one is unsent) are handled inside.
#[derive(Debug)]
pub struct Connection<IO>(Driver<Server, IO>);

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// Starts a session over `stream`. `config.implicit_tls` follows the stream; STLS is
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

    /// The session, for answering decisions.
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
    /// client closed the connection. STLS is run here and not reported.
    ///
    /// Cancel-safe, except while an STLS handshake runs (after which the connection is
    /// unusable): a driver may race it against its own signals in `tokio::select!`.
    pub async fn next_event(&mut self) -> io::Result<Option<Event>> {
        self.0.next_event().await
    }

    /// Ends the session with `-ERR [SYS/TEMP]` (the server is shutting down; nothing is
    /// deleted) and closes the connection.
    pub async fn shutdown(mut self) {
        self.0.session_mut().shutdown();
        self.0.close().await;
    }
}
