//! The contract every sans-IO session of the workspace keeps.
//!
//! A session never touches a socket or a clock: the driver hands it what it read with
//! [`handle_input`](Session::handle_input), sends what [`poll_transmit`](Session::poll_transmit)
//! gives, and calls [`handle_timeout`](Session::handle_timeout) when
//! [`poll_timeout`](Session::poll_timeout) says. Events and decisions are each protocol's own;
//! this trait is the part a driver can be written against once (quinn-proto's
//! `Connection` with `handle_event`/`poll_transmit`/`poll_timeout` is the model).

use std::time::Instant;

/// Whether a client upgrades a plaintext connection with STARTTLS (SMTP, IMAP) or STLS
/// (POP3). A connection that is TLS from the start (implicit TLS) needs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Never ask for TLS: a login goes in plaintext, as the application chose.
    Never,
    /// Ask for TLS when the server offers it; go on in plaintext when it does not, but
    /// send no credentials there: whoever removed STARTTLS from the server's answer would
    /// get them (RFC 8314). A session that would log in then fails as under `Required`.
    #[default]
    Opportunistic,
    /// Fail unless the server offers TLS (or TLS is already active).
    Required,
}

/// Why a session ended. A closed session keeps it (`close_reason()`), as rustls keeps the
/// error that ended a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer said goodbye: QUIT, LOGOUT.
    Quit,
    /// The peer was silent (or trickled input) too long.
    Timeout,
    /// Too many invalid commands.
    TooManyErrors,
    /// The server is shutting down.
    Shutdown,
    /// The peer broke the protocol in a way no answer can repair; what it did.
    Protocol(&'static str),
    /// The application ended the session.
    Application,
    /// What the session had to tell the peer piled up past its limit: the peer never let
    /// it be told (an IMAP client that only sends FETCH while others expunge).
    Backlog,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Quit => f.write_str("the peer quit"),
            Self::Timeout => f.write_str("timed out"),
            Self::TooManyErrors => f.write_str("too many invalid commands"),
            Self::Shutdown => f.write_str("the server is shutting down"),
            Self::Protocol(what) => write!(f, "protocol violation: {what}"),
            Self::Application => f.write_str("closed by the application"),
            Self::Backlog => f.write_str("too many changes waiting to be told"),
        }
    }
}

/// A protocol session without I/O: SMTP, IMAP and POP3, server and client side.
pub trait Session {
    /// Feeds bytes read from the peer. Drain the protocol's events and
    /// [`poll_transmit`](Self::poll_transmit) afterwards.
    fn handle_input(&mut self, now: Instant, data: &[u8]);

    /// Moves the bytes to send to the peer into `out`.
    fn poll_transmit(&mut self, out: &mut Vec<u8>);

    /// When [`handle_timeout`](Self::handle_timeout) is due, if ever.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Tells the session the time; it acts on the timeouts that passed.
    fn handle_timeout(&mut self, now: Instant);

    /// Whether the session is over: close the connection once its last output is sent.
    fn is_closed(&self) -> bool;
}

/// Implements [`Session`] for session types whose inherent methods of the same names do the
/// work (each protocol crate's `Server` and `Client`).
#[macro_export]
macro_rules! impl_session {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::Session for $t {
            fn handle_input(&mut self, now: ::std::time::Instant, data: &[u8]) {
                <$t>::handle_input(self, now, data);
            }
            fn poll_transmit(&mut self, out: &mut ::std::vec::Vec<u8>) {
                <$t>::poll_transmit(self, out);
            }
            fn poll_timeout(&self) -> ::std::option::Option<::std::time::Instant> {
                <$t>::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: ::std::time::Instant) {
                <$t>::handle_timeout(self, now);
            }
            fn is_closed(&self) -> bool {
                <$t>::is_closed(self)
            }
        }
    )*};
}
