//! The one event loop behind every tokio driver of the workspace: a [`Driven`] session over a
//! [`Transport`], with STARTTLS/STLS and backpressure handled here.
//!
//! The protocol crates wrap a [`Driver`] in their own `Connection` (server side) and client
//! types, which add the protocol's configuration and operations; the loop itself is written
//! once.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::{
    session::Session,
    tls::{ServerName, TlsAcceptor, TlsConnector},
    transport::{Exchange, Transport},
};

/// How long a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Output queued beyond this is written before the next event is taken. A peer that
/// pipelines many commands with large answers (POP3 `RETR` after `RETR`) and reads none of
/// them then holds at most this plus one answer in memory, not one answer per command.
pub const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// A session with events, as the protocol crates' server and client sessions are.
pub trait Driven: Session {
    /// What the session tells its application.
    type Event;
    /// Why [`tls_established`](Self::tls_established) was refused (API misuse).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// Whether `event` says STARTTLS/STLS was agreed: the handshake runs now.
    fn is_start_tls(event: &Self::Event) -> bool;

    /// The handshake after a STARTTLS event succeeded.
    fn tls_established(&mut self) -> Result<(), Self::Error>;
}

/// Which side of TLS the driver runs when the session asks for it.
#[derive(Debug, Clone)]
pub enum TlsRole {
    /// Server: handshakes with this acceptor.
    Accept(TlsAcceptor),
    /// Client: handshakes with this connector, checking the certificate against the name.
    Connect(TlsConnector, ServerName<'static>),
}

/// A [`Driven`] session over a connection.
#[derive(Debug)]
pub struct Driver<S, IO> {
    transport: Transport<IO>,
    session: S,
    tls: Option<TlsRole>,
}

impl<S: Driven, IO: AsyncRead + AsyncWrite + Unpin> Driver<S, IO> {
    /// Runs `session` over `transport`; `tls` is what a STARTTLS event is answered with.
    pub fn new(transport: Transport<IO>, session: S, tls: Option<TlsRole>) -> Self {
        Self {
            transport,
            session,
            tls,
        }
    }

    /// The session.
    pub fn session(&self) -> &S {
        &self.session
    }

    /// The session, for answering decisions and making requests.
    pub fn session_mut(&mut self) -> &mut S {
        &mut self.session
    }

    /// The connection.
    pub fn transport(&self) -> &Transport<IO> {
        &self.transport
    }

    /// The connection, for its settings ([`Transport::set_send_timeout`]).
    pub fn transport_mut(&mut self) -> &mut Transport<IO> {
        &mut self.transport
    }

    /// The next event; `None` once the session is over (its last output sent and the
    /// connection closed) or the peer closed the connection.
    ///
    /// Output is sent before input is read, and before more events are taken once
    /// [`OUTPUT_HIGH_WATER`] octets are queued; input is read only when the session has
    /// nothing to do without it (it gave no event and no output). So a peer that pipelines
    /// commands and reads none of the answers stops being read from, and answered, once the
    /// connection's send buffer is full. Cancel-safe, except during a TLS handshake,
    /// after which the connection is unusable: a driver may race this against its own
    /// signals in `tokio::select!`.
    pub async fn next_event(&mut self) -> io::Result<Option<S::Event>> {
        loop {
            self.transport.take_output(&mut self.session);
            if self.transport.pending_output() > OUTPUT_HIGH_WATER {
                self.transport.flush().await?;
            }
            match self.session.poll_event() {
                Some(event) if S::is_start_tls(&event) => self.start_tls().await?,
                Some(event) => return Ok(Some(event)),
                None if self.session.is_closed() => {
                    self.close().await;
                    return Ok(None);
                }
                None => {
                    // A session may stop answering because its output is not drained yet
                    // (POP3's `max_queued_output`) while commands wait in its buffer: send,
                    // then ask again. Reading now instead could wait forever for a client
                    // that waits for those answers.
                    self.transport.take_output(&mut self.session);
                    if self.transport.has_output() {
                        self.transport.flush().await?;
                        continue;
                    }
                    if self.transport.exchange(&mut self.session).await? == Exchange::Eof {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Sends what the session queued, without waiting for input. Cancel-safe.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.transport.take_output(&mut self.session);
        self.transport.flush().await
    }

    /// Sends what is queued and closes the connection; a peer that is gone already is no
    /// error here.
    pub async fn close(&mut self) {
        self.transport.take_output(&mut self.session);
        let _ = self.transport.shutdown().await;
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        self.transport.take_output(&mut self.session);
        match &self.tls {
            Some(TlsRole::Accept(acceptor)) => {
                self.transport
                    .accept_tls(acceptor, HANDSHAKE_TIMEOUT)
                    .await?;
            }
            Some(TlsRole::Connect(connector, name)) => {
                self.transport
                    .connect_tls(connector, name.clone(), HANDSHAKE_TIMEOUT)
                    .await?;
            }
            None => {
                return Err(io::Error::other(
                    "STARTTLS was agreed but the driver has no TLS configuration",
                ));
            }
        }
        self.session.tls_established().map_err(io::Error::other)
    }
}
