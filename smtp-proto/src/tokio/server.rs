//! The server driver: a [`Server`] session over a connection.
//!
//! ```no_run
//! use smtp_proto::session::{ServerConfig, server::Event};
//! use smtp_proto::tokio::{server::Connection, tls::Stream};
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
//!             let refused = smtp_proto::session::replies::auth_failed();
//!             conn.session_mut().reject(refused).map_err(std::io::Error::other)?;
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

use std::{io, time::Duration, time::Instant};

use mail_core::{
    tls::{Stream, TlsAcceptor},
    transport::{Exchange, Transport},
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::session::{
    ServerConfig,
    server::{Event, Server},
};

/// How long a client has to finish the TLS handshake after STARTTLS.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`Server`] session over a connection.
///
/// [`next_event`](Self::next_event) sends what the session queued, reads when the session
/// needs input, and returns each event; answer decisions through
/// [`session_mut`](Self::session_mut) before asking for the next event. STARTTLS, the
/// session's timeouts and backpressure (no reading while answers are unsent) are handled
/// inside.
#[derive(Debug)]
pub struct Connection<IO> {
    transport: Transport<IO>,
    session: Server,
    tls: Option<TlsAcceptor>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// Starts a session over `stream`. `config.implicit_tls` follows the stream; STARTTLS is
    /// offered when `tls` is given and the stream is not TLS already.
    pub fn new(stream: Stream<IO>, mut config: ServerConfig, tls: Option<TlsAcceptor>) -> Self {
        config.implicit_tls = stream.is_tls();
        config.extensions.starttls = tls.is_some() && !stream.is_tls();
        Self {
            session: Server::new(config, Instant::now()),
            transport: Transport::new(stream),
            tls,
        }
    }

    /// The session, for answering decisions and asking about its state.
    pub fn session(&self) -> &Server {
        &self.session
    }

    /// The session, for answering decisions.
    pub fn session_mut(&mut self) -> &mut Server {
        &mut self.session
    }

    /// The connection (whether TLS is active, and which version).
    pub fn transport(&self) -> &Transport<IO> {
        &self.transport
    }

    /// The next event; `None` once the session is over (its last reply sent) or the client
    /// closed the connection.
    ///
    /// Cancel-safe, except while a STARTTLS handshake runs (after which the connection is
    /// unusable): a driver may race it against its own signals in `tokio::select!`.
    pub async fn next_event(&mut self) -> io::Result<Option<Event>> {
        loop {
            match self.session.poll_event() {
                Some(Event::StartTls) => {
                    let acceptor = self.tls.as_ref().ok_or_else(|| {
                        io::Error::other("STARTTLS was accepted without a TLS acceptor")
                    })?;
                    self.transport.take_output(&mut self.session);
                    self.transport
                        .accept_tls(acceptor, HANDSHAKE_TIMEOUT)
                        .await?;
                    self.session.tls_established().map_err(io::Error::other)?;
                }
                Some(event) => return Ok(Some(event)),
                None if self.session.is_closed() => {
                    self.close().await;
                    return Ok(None);
                }
                None => {
                    if self.transport.exchange(&mut self.session).await? == Exchange::Eof {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Ends the session with `421 4.3.2` (the server is shutting down) and closes the
    /// connection.
    pub async fn shutdown(mut self) {
        self.session.shutdown();
        self.close().await;
    }

    /// Sends the last output and closes; a peer that is gone is no error here.
    async fn close(&mut self) {
        self.transport.take_output(&mut self.session);
        let _ = self.transport.shutdown().await;
    }
}
