//! The one event loop behind every tokio driver of the workspace: a [`Driven`] session over a
//! [`Transport`], with STARTTLS/STLS and backpressure handled here.
//!
//! The protocol crates wrap a [`Driver`] in their own `Connection` (server side) and client
//! types, which add the protocol's configuration and operations; the loop itself is written
//! once.

use std::{
    io,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

use crate::{
    session::{Session, TlsPolicy},
    tls::{ServerName, Stream, TlsAcceptor, TlsConnector},
    transport::{Exchange, Transport},
};

/// How long a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

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

    /// Whether `event` says COMPRESS=DEFLATE (IMAP, RFC 4978) was agreed: the driver
    /// compresses from here on. Never, unless a protocol has it.
    fn is_start_deflate(_event: &Self::Event) -> bool {
        false
    }

    /// The driver compresses from now on; returns what the session had read past the
    /// command that agreed it (compressed octets, which the driver decompresses and hands
    /// back as input).
    fn deflate_established(&mut self) -> Result<Vec<u8>, Self::Error> {
        Ok(Vec::new())
    }
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
                Some(event) if S::is_start_deflate(&event) => {
                    let rest = self
                        .session
                        .deflate_established()
                        .map_err(io::Error::other)?;
                    self.transport.start_deflate(&mut self.session, &rest)?;
                }
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

/// A server session that a [`Connection`] can start and stop: the protocol crates' server
/// sessions implement it.
pub trait ServerSession: Driven {
    /// The session's configuration.
    type Config;

    /// A session at `now` for a connection that is TLS already (`implicit_tls`, ports 465,
    /// 993, 995), offering STARTTLS/STLS when `starttls`.
    fn start(config: Self::Config, implicit_tls: bool, starttls: bool, now: Instant) -> Self;

    /// Says the server is shutting down (SMTP `421`, IMAP `* BYE`, POP3 `-ERR [SYS/TEMP]`)
    /// and ends the session.
    fn shut_down(&mut self);
}

/// A server session over a connection: what a server runs per client.
///
/// [`next_event`](Self::next_event) sends what the session queued, reads when the session
/// needs input, and returns each event; answer decisions through
/// [`session_mut`](Self::session_mut) before asking for the next event. STARTTLS/STLS, the
/// session's timeouts and backpressure (no reading while answers are unsent) are handled
/// inside.
#[derive(Debug)]
pub struct Connection<S, IO>(Driver<S, IO>);

impl<S: ServerSession, IO: AsyncRead + AsyncWrite + Unpin> Connection<S, IO> {
    /// Starts a session over `stream`. The session is told whether the stream is TLS
    /// already; STARTTLS/STLS is offered when `tls` is given and the stream is not TLS. A
    /// configuration shared by many connections (an `Arc`) is copied only when its TLS
    /// settings differ from this connection's.
    pub fn new(stream: Stream<IO>, config: impl Into<S::Config>, tls: Option<TlsAcceptor>) -> Self {
        let implicit_tls = stream.is_tls();
        let starttls = tls.is_some() && !implicit_tls;
        Self(Driver::new(
            Transport::new(stream),
            S::start(config.into(), implicit_tls, starttls, Instant::now()),
            tls.map(TlsRole::Accept),
        ))
    }

    /// The session, for asking about its state.
    pub fn session(&self) -> &S {
        self.0.session()
    }

    /// The session, for answering decisions (and pushing updates, in IMAP).
    pub fn session_mut(&mut self) -> &mut S {
        self.0.session_mut()
    }

    /// The connection (whether TLS is active, and which version).
    pub fn transport(&self) -> &Transport<IO> {
        self.0.transport()
    }

    /// The connection, for its settings ([`Transport::set_send_timeout`]).
    pub fn transport_mut(&mut self) -> &mut Transport<IO> {
        self.0.transport_mut()
    }

    /// The next event; `None` once the session is over (its last answer sent) or the client
    /// closed the connection. STARTTLS/STLS is run here and not reported.
    ///
    /// Cancel-safe, except while a TLS handshake runs (after which the connection is
    /// unusable): a server may race it against its own signals (store notifications,
    /// shutdown) in `tokio::select!`.
    pub async fn next_event(&mut self) -> io::Result<Option<S::Event>> {
        self.0.next_event().await
    }

    /// Sends what the session queued (IMAP updates pushed during IDLE) without waiting for
    /// input. Cancel-safe.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.0.flush().await
    }

    /// Ends the session with the protocol's shutdown answer and closes the connection.
    pub async fn shutdown(mut self) {
        self.0.session_mut().shut_down();
        self.0.close().await;
    }
}

/// Connects to `host:port` over TCP within `timeout` (`None` when it passed), with Nagle's
/// algorithm off: a client's commands are small writes that wait for small answers.
pub async fn connect_tcp(
    host: &str,
    port: u16,
    timeout: Duration,
) -> io::Result<Option<TcpStream>> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Err(_) => Ok(None),
        Ok(tcp) => {
            let tcp = tcp?;
            tcp.set_nodelay(true)?;
            Ok(Some(tcp))
        }
    }
}

/// A client's connection made ready for its session: the STARTTLS/STLS policy resolved
/// against the connector given (without one, [`TlsPolicy::Opportunistic`] means plaintext
/// for a session that will not `login`, and otherwise, as [`TlsPolicy::Required`], is
/// refused with `no_connector` unless the stream is TLS already), and the TLS handshake run
/// first when `implicit_tls` asks for it. Returns the transport and the policy the session
/// is to follow.
#[allow(clippy::too_many_arguments)]
pub async fn client_transport<IO, E>(
    stream: Stream<IO>,
    server_name: &ServerName<'static>,
    starttls: TlsPolicy,
    implicit_tls: bool,
    login: bool,
    tls: Option<&TlsConnector>,
    no_connector: E,
) -> Result<(Transport<IO>, TlsPolicy), E>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    E: From<io::Error>,
{
    let mut transport = Transport::new(stream);
    // Without a connector no STARTTLS can run. A session that sends no password goes on in
    // plaintext; one that would `login` under Opportunistic cannot keep the password off
    // the wire, so it is refused as under Required.
    let policy = match (tls, starttls) {
        (None, TlsPolicy::Opportunistic) if !login || transport.is_tls() => TlsPolicy::Never,
        (None, TlsPolicy::Opportunistic | TlsPolicy::Required) if !transport.is_tls() => {
            return Err(no_connector);
        }
        (_, policy) => policy,
    };
    if implicit_tls && !transport.is_tls() {
        let Some(connector) = tls else {
            return Err(no_connector);
        };
        transport
            .connect_tls(connector, server_name.clone(), HANDSHAKE_TIMEOUT)
            .await?;
    }
    Ok((transport, policy))
}
