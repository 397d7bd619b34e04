//! The client's configuration, requests, events and errors.

use crate::{
    DecodeError, Limits,
    types::{
        capability::Capabilities,
        command::{Command, MessageNumber},
        listing::{DropListing, ScanListing, UniqueIdListing},
        response::Response,
        sasl::Credentials,
    },
};

pub use sansmail_core::TlsPolicy;

/// A client session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The user and password to log in with; `None` to stay in the AUTHORIZATION state.
    pub credentials: Option<Credentials>,
    /// Use APOP when the greeting carries a timestamp (the password is then the APOP
    /// secret). On a plaintext connection the application chose ([`TlsPolicy::Never`]) it
    /// is tried first, keeping the password off the wire; under TLS when the server offers
    /// no password method, or, where its capabilities are unknown (no CAPA), once after a
    /// password it refused without a reason code; on a plaintext connection under the
    /// other policies never, as no password is sent there: the digest of a timestamp that
    /// whoever is on the path can choose allows an offline search for the password.
    pub apop: bool,
    /// Use AUTH PLAIN when the server offers it (before USER/PASS).
    pub sasl_plain: bool,
    /// STLS policy.
    pub starttls: TlsPolicy,
    /// The connection is TLS from the start (POP3S).
    pub implicit_tls: bool,
    /// Ask CAPA after the greeting (and after TLS). Without it, the server's capabilities
    /// are unknown: no STLS, no PIPELINING, and USER/PASS (or APOP) to log in.
    pub capa: bool,
    /// Enable UTF8 mode (RFC 6856) when the server offers it.
    pub utf8: bool,
    /// Send requests without waiting when the server offers PIPELINING.
    pub pipelining: bool,
    /// Limits on the responses accepted and the response timeout.
    pub limits: Limits,
}

impl ClientConfig {
    /// Defaults for a client logging in with `credentials`.
    pub fn new(credentials: Option<Credentials>) -> Self {
        Self {
            credentials,
            apop: true,
            sasl_plain: true,
            starttls: TlsPolicy::Opportunistic,
            implicit_tls: false,
            capa: true,
            utf8: false,
            pipelining: true,
            limits: Limits::default(),
        }
    }
}

/// A request the application makes once the session is [`Event::Ready`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// STAT
    Stat,
    /// LIST, for one message or all.
    List(Option<MessageNumber>),
    /// UIDL, for one message or all.
    Uidl(Option<MessageNumber>),
    /// RETR
    Retr(MessageNumber),
    /// TOP: the header and this many body lines.
    Top(MessageNumber, u64),
    /// DELE
    Dele(MessageNumber),
    /// RSET
    Rset,
    /// NOOP
    Noop,
    /// QUIT
    Quit,
}

impl Request {
    /// The command that carries it.
    pub fn command(self) -> Command<'static> {
        match self {
            Self::Stat => Command::Stat,
            Self::List(msg) => Command::List { msg },
            Self::Uidl(msg) => Command::Uidl { msg },
            Self::Retr(msg) => Command::Retr { msg },
            Self::Top(msg, lines) => Command::Top { msg, lines },
            Self::Dele(msg) => Command::Dele { msg },
            Self::Rset => Command::Rset,
            Self::Noop => Command::Noop,
            Self::Quit => Command::Quit,
        }
    }
}

/// Which step a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The server's greeting.
    Greeting,
    /// STLS.
    StartTls,
    /// APOP, AUTH or USER/PASS.
    Login,
}

/// Why the session failed. Server responses are kept whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused a step.
    #[error("server refused {stage:?}: {response}")]
    Rejected {
        /// The step.
        stage: Stage,
        /// The server's response.
        response: Response<'static>,
    },
    /// TLS is required (by the policy, or by a password under
    /// [`TlsPolicy::Opportunistic`]) but the server does not offer STLS or refused it.
    #[error("the server does not offer STLS")]
    TlsNotOffered,
    /// Credentials are set but the server offers no way to use them.
    #[error("the server offers no usable login method")]
    NoLoginMethod,
    /// The server sent something that is not a valid response.
    #[error("invalid response: {0}")]
    Protocol(DecodeError),
    /// A response that does not fit the request (a STAT answer without numbers, a
    /// challenge nobody asked for).
    #[error("unexpected response: {0}")]
    Unexpected(String),
    /// No response in time.
    #[error("timed out waiting for the server")]
    Timeout,
    /// A command could not be written: the credentials hold what it cannot carry (a space
    /// in a user name, CR or LF in a password).
    #[error("{0}")]
    Unsendable(crate::codec::EncodeError),
}

/// What happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's greeting.
    Greeting(Response<'static>),
    /// The server's CAPA answer (after TLS, the second one).
    Capabilities(Capabilities<'static>),
    /// STLS was accepted: run the TLS handshake now, then call
    /// [`Client::tls_established`](super::Client::tls_established).
    StartTls,
    /// The login succeeded; the session is in the TRANSACTION state.
    Authenticated(Response<'static>),
    /// Requests may be made (after login, or after the greeting without credentials).
    Ready,
    /// The answer to STAT.
    Stat(DropListing),
    /// The answer to LIST without argument.
    List(Vec<ScanListing>),
    /// The answer to `LIST msg`.
    Scan(ScanListing),
    /// The answer to UIDL without argument.
    Uidl(Vec<UniqueIdListing<'static>>),
    /// The answer to `UIDL msg`.
    UniqueId(UniqueIdListing<'static>),
    /// RETR or TOP was accepted; the content follows.
    MessageStart {
        /// The message.
        msg: MessageNumber,
        /// The first line (`+OK 120 octets`).
        response: Response<'static>,
    },
    /// A piece of the message, unstuffed, lines ending in CRLF.
    MessageData(Vec<u8>),
    /// The message is complete.
    MessageEnd {
        /// The message.
        msg: MessageNumber,
    },
    /// DELE succeeded.
    Deleted(MessageNumber),
    /// RSET succeeded.
    Reset,
    /// NOOP succeeded.
    Noop,
    /// The server answered a request with `-ERR`; the session goes on.
    Refused {
        /// The request.
        request: Request,
        /// The server's response.
        response: Response<'static>,
    },
    /// QUIT was answered (the UPDATE state, RFC 1939 §6); close the connection.
    Closed {
        /// `+OK` after login: the deleted messages were removed. `-ERR`: some were not.
        committed: bool,
        /// The server's response.
        response: Response<'static>,
    },
    /// The session failed and is closed.
    Failed(ClientError),
}
