//! The server driver: a [`Server`] session over a connection.
//!
//! ```no_run
//! use sansmail_smtp::session::{ServerConfig, server::Event};
//! use sansmail_smtp::tokio::{server::Connection, tls::Stream};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::new("mx.example.org"), None);
//! let mut message = Vec::new();
//! while let Some(event) = conn.next_event().await? {
//!     match event {
//!         Event::Mail { .. } | Event::Rcpt { .. } | Event::DataStart => {
//!             conn.session_mut().accept().map_err(std::io::Error::other)?;
//!         }
//!         Event::MessageData(data) => message.extend_from_slice(&data),
//!         Event::MessageEnd { .. } => {
//!             // Make the message durable here, then acknowledge it.
//!             conn.session_mut().accept().map_err(std::io::Error::other)?;
//!             message.clear();
//!         }
//!         Event::MessageAborted { .. } | Event::TransactionReset => message.clear(),
//!         Event::Auth { .. } | Event::AuthExchange { .. } => {
//!             let refused = sansmail_smtp::session::replies::auth_failed();
//!             conn.session_mut().reject(&refused).map_err(std::io::Error::other)?;
//!         }
//!         _ => {}
//!     }
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
/// session's timeouts and backpressure (no reading while answers are unsent) are handled
/// inside.
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

    /// The next event; `None` once the session is over (its last reply sent) or the client
    /// closed the connection. STARTTLS is run here and not reported.
    ///
    /// Cancel-safe, except while a STARTTLS handshake runs (after which the connection is
    /// unusable): a driver may race it against its own signals in `tokio::select!`.
    pub async fn next_event(&mut self) -> io::Result<Option<Event>> {
        self.0.next_event().await
    }

    /// Ends the session with `421 4.3.2` (the server is shutting down) and closes the
    /// connection.
    pub async fn shutdown(mut self) {
        self.0.session_mut().shutdown();
        self.0.close().await;
    }
}
