//! What happened on one connection, for the log and the metrics: a [`ConnectionRecord`] is
//! made when a listener admits a connection, the service writes into it (the account that
//! logged in, what the session said at its end), the socket counts the octets
//! ([`Metered`]), and when the connection ends the listener logs one line with all of it:
//!
//! ```text
//! INFO connection closed protocol="imap" listener="imaps" peer=192.0.2.7:50122
//!      account="alice" tls="TLSv1.3" commands=14 bytes_in=1203 bytes_out=48211
//!      duration_ms=5312 outcome="quit"
//! ```
//!
//! Logins are logged as they happen ([`ConnectionRecord::login`]) with protocol, listener,
//! peer and account (the name tried, for a failure). Nothing else about routine client
//! behaviour is logged at INFO: a client that drops the connection without a goodbye, or
//! without TLS `close_notify`, ends with outcome `disconnected`.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    task::{Context, Poll},
    time::Instant,
};

use sansmail_core::{CloseReason, tls::ProtocolVersion};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{
    auth::Login,
    metrics::{ListenerStats, LoginResult, Rejection},
};

/// Octets of a login name that a log line shows.
pub const MAX_LOGGED_NAME: usize = 256;

/// How a connection ended, as logged and counted in `sansmail_sessions_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The client said goodbye (QUIT, LOGOUT).
    Quit,
    /// The client closed or reset the connection without a goodbye.
    Disconnected,
    /// The client was silent (or trickled input) too long.
    Timeout,
    /// Too many invalid commands.
    TooManyErrors,
    /// The client broke the protocol beyond repair.
    ProtocolError,
    /// The server shut down.
    Shutdown,
    /// The server ended the session (a store failure in the middle of a message).
    Closed,
    /// The TLS handshake failed (implicit TLS or after STARTTLS).
    TlsFailed,
    /// Some other I/O error.
    Error,
}

impl Outcome {
    /// Every outcome, in the order of the counters.
    pub const ALL: [Self; 9] = [
        Self::Quit,
        Self::Disconnected,
        Self::Timeout,
        Self::TooManyErrors,
        Self::ProtocolError,
        Self::Shutdown,
        Self::Closed,
        Self::TlsFailed,
        Self::Error,
    ];

    /// The label and log value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Disconnected => "disconnected",
            Self::Timeout => "timeout",
            Self::TooManyErrors => "too_many_errors",
            Self::ProtocolError => "protocol_error",
            Self::Shutdown => "shutdown",
            Self::Closed => "closed",
            Self::TlsFailed => "tls_failed",
            Self::Error => "error",
        }
    }

    pub(crate) fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }

    /// How a session that ended without an I/O error ended: by its close reason, or the
    /// client went away when there is none.
    pub fn of_session(reason: Option<&CloseReason>) -> Self {
        match reason {
            Some(CloseReason::Quit) => Self::Quit,
            Some(CloseReason::Timeout) => Self::Timeout,
            Some(CloseReason::TooManyErrors) => Self::TooManyErrors,
            Some(CloseReason::Shutdown) => Self::Shutdown,
            Some(CloseReason::Protocol(_)) => Self::ProtocolError,
            Some(_) => Self::Closed,
            None => Self::Disconnected,
        }
    }

    /// How a connection that failed with `e` ended. A peer that went away (reset, broken
    /// pipe, EOF without TLS `close_notify`) is routine: [`Outcome::Disconnected`].
    pub fn of_error(e: &io::Error) -> Self {
        use io::ErrorKind as K;
        match e.kind() {
            K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
                Self::Disconnected
            }
            K::TimedOut => Self::Timeout,
            _ if e.to_string().starts_with("TLS handshake") => Self::TlsFailed,
            _ => Self::Error,
        }
    }
}

/// A TLS version as people write it.
pub fn tls_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

#[derive(Debug, Default)]
struct Said {
    account: Option<String>,
    tls: Option<ProtocolVersion>,
    commands: u64,
    close: Option<CloseReason>,
    ended: bool,
}

/// One connection's record: who, how much, how it ended.
#[derive(Debug)]
pub struct ConnectionRecord {
    listener: &'static str,
    protocol: &'static str,
    peer: SocketAddr,
    started: Instant,
    stats: Arc<ListenerStats>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    said: Mutex<Said>,
}

impl ConnectionRecord {
    /// A record for a connection from `peer` on the listener whose counters are `stats`.
    pub fn new(protocol: &'static str, peer: SocketAddr, stats: Arc<ListenerStats>) -> Arc<Self> {
        Arc::new(Self {
            listener: stats.name(),
            protocol,
            peer,
            started: Instant::now(),
            stats,
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            said: Mutex::default(),
        })
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The listener's name.
    pub fn listener(&self) -> &'static str {
        self.listener
    }

    /// The protocol (`smtp`, `lmtp`, `imap`, `pop3`).
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// The listener's counters.
    pub fn stats(&self) -> &ListenerStats {
        &self.stats
    }

    fn said(&self) -> std::sync::MutexGuard<'_, Said> {
        self.said.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The account logged in on this connection, once one is.
    pub fn account(&self) -> Option<String> {
        self.said().account.clone()
    }

    /// A login attempt as `user` (logged up to [`MAX_LOGGED_NAME`] octets) came to `login`:
    /// logged (INFO; a throttled address at WARN) with protocol, listener, peer and account,
    /// and counted.
    pub fn login(&self, user: &str, login: &Login) {
        let (protocol, listener, peer) = (self.protocol, self.listener, self.peer);
        // The name the client sent, which may be as long as a line or an IMAP literal.
        let user = crate::clipped(user, MAX_LOGGED_NAME);
        match login {
            Login::Accepted(account) => {
                self.said().account = Some(account.to_string());
                self.stats.login(LoginResult::Ok);
                tracing::info!(protocol, listener, %peer, account = %account, "login");
            }
            Login::Failed => {
                self.stats.login(LoginResult::Failed);
                tracing::info!(protocol, listener, %peer, account = user, "login failed");
            }
            Login::Refused => {
                self.stats.login(LoginResult::Throttled);
                tracing::warn!(
                    protocol,
                    listener,
                    %peer,
                    account = user,
                    "login refused: too many failures from this address"
                );
            }
        }
    }

    /// `copies` copies of a message were stored.
    pub fn delivered(&self, copies: u64) {
        self.stats.delivered(copies);
    }

    /// A message or recipient was refused.
    pub fn rejected(&self, why: Rejection) {
        self.stats.rejected(why);
    }

    /// What the session says at its end (or at any time; the last call counts): how many
    /// commands it took, the TLS version if TLS is on, and why it closed, if it did.
    pub fn session_state(
        &self,
        commands: u64,
        tls: Option<ProtocolVersion>,
        close: Option<&CloseReason>,
    ) {
        let mut said = self.said();
        said.commands = commands;
        said.tls = tls.or(said.tls);
        said.close = close.cloned();
    }

    /// The TLS version of an implicit-TLS connection, known before any session.
    pub fn tls(&self, version: Option<ProtocolVersion>) {
        self.said().tls = version;
    }

    /// Octets in and out so far.
    pub fn bytes(&self) -> (u64, u64) {
        (self.bytes_in.load(Relaxed), self.bytes_out.load(Relaxed))
    }

    /// Ends the record: the one log line and the session counter. `result` is what the
    /// connection's handler returned. Only the first call counts.
    pub fn finish(&self, result: &io::Result<()>) -> Outcome {
        let mut said = self.said();
        let outcome = match result {
            Ok(()) => Outcome::of_session(said.close.as_ref()),
            Err(e) => Outcome::of_error(e),
        };
        if std::mem::replace(&mut said.ended, true) {
            return outcome;
        }
        self.stats.closed(outcome);
        let (bytes_in, bytes_out) = self.bytes();
        let tls = said.tls.map_or_else(|| "none".to_owned(), tls_name);
        let account = said.account.as_deref().unwrap_or("");
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (protocol, listener, peer) = (self.protocol, self.listener, self.peer);
        let (commands, outcome_name) = (said.commands, outcome.as_str());
        match (result, outcome) {
            (Err(e), Outcome::Error) => tracing::warn!(
                protocol, listener, %peer, account, tls, commands, bytes_in, bytes_out,
                duration_ms, outcome = outcome_name, error = %e, "connection closed"
            ),
            (Err(e), Outcome::TlsFailed | Outcome::Timeout) => tracing::info!(
                protocol, listener, %peer, account, tls, commands, bytes_in, bytes_out,
                duration_ms, outcome = outcome_name, error = %e, "connection closed"
            ),
            _ => tracing::info!(
                protocol, listener, %peer, account, tls, commands, bytes_in, bytes_out,
                duration_ms, outcome = outcome_name, "connection closed"
            ),
        }
        outcome
    }
}

/// A socket that counts what passes through it into a [`ConnectionRecord`] and its
/// listener's byte counters. The octets counted are those on the wire (TLS included).
#[derive(Debug)]
pub struct Metered<IO> {
    io: IO,
    record: Arc<ConnectionRecord>,
}

impl<IO> Metered<IO> {
    /// `io`, counted into `record`.
    pub fn new(io: IO, record: Arc<ConnectionRecord>) -> Self {
        Self { io, record }
    }

    /// The socket.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The record it counts into.
    pub fn record(&self) -> &Arc<ConnectionRecord> {
        &self.record
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Metered<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            this.record.bytes_in.fetch_add(n, Relaxed);
            this.record.stats.bytes_in(n);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Metered<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            this.record.bytes_out.fetch_add(*n as u64, Relaxed);
            this.record.stats.bytes_out(*n as u64);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn outcomes_of_errors_and_sessions() {
        let eof = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify: https://docs.rs/...",
        );
        assert_eq!(Outcome::of_error(&eof), Outcome::Disconnected);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(Outcome::of_error(&reset), Outcome::Disconnected);
        let tls = io::Error::other("TLS handshake: received corrupt message");
        assert_eq!(Outcome::of_error(&tls), Outcome::TlsFailed);
        assert_eq!(Outcome::of_error(&io::Error::other("disk")), Outcome::Error);
        assert_eq!(Outcome::of_session(Some(&CloseReason::Quit)), Outcome::Quit);
        assert_eq!(Outcome::of_session(None), Outcome::Disconnected);
    }

    #[test]
    fn a_record_counts_once_and_keeps_the_account() {
        let metrics = Metrics::new();
        let stats = metrics.listener("pop3s", "pop3");
        stats.opened();
        let record = ConnectionRecord::new("pop3", "192.0.2.1:4000".parse().unwrap(), stats);
        let alice = sansmail_store::AccountName::try_from("alice").unwrap();
        record.login("alice", &Login::Failed);
        record.login("alice", &Login::Accepted(alice));
        record.session_state(4, None, Some(&CloseReason::Quit));
        assert_eq!(record.account().as_deref(), Some("alice"));
        assert_eq!(record.finish(&Ok(())), Outcome::Quit);
        assert_eq!(record.finish(&Ok(())), Outcome::Quit);
        let text = metrics.render();
        assert!(text.contains(
            "sansmail_sessions_total{listener=\"pop3s\",protocol=\"pop3\",outcome=\"quit\"} 1\n"
        ));
        assert!(
            text.contains("sansmail_connections_open{listener=\"pop3s\",protocol=\"pop3\"} 0\n")
        );
        assert_eq!(record.stats().logins(LoginResult::Failed), 1);
        assert_eq!(record.stats().logins(LoginResult::Ok), 1);
    }
}
