//! The client's configuration, its events and errors.

#[cfg(doc)]
use super::Client;
use std::time::Duration;

use sansmail_core::{Credentials, TlsPolicy};

use crate::{
    codec::ResponseOptions,
    types::{
        core::Tag,
        response::{Continue, Data, Status},
    },
};

/// A client session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The letters before the tag's number (`A` gives `A0001`).
    pub tag_prefix: String,
    /// How responses are parsed (limits, leniencies).
    pub response_options: ResponseOptions,
    /// Log in with these once greeted (and upgraded): AUTHENTICATE PLAIN when the server
    /// offers it, LOGIN otherwise. `None`: the application logs in, or the server greeted
    /// with PREAUTH.
    pub credentials: Option<Credentials>,
    /// STARTTLS policy for the set-up after the greeting.
    pub starttls: TlsPolicy,
    /// The connection is TLS from the start (port 993).
    pub implicit_tls: bool,
    /// How long to wait for the server while a command is in flight (IDLE excepted).
    pub response_timeout: Duration,
}

impl Default for ClientConfig {
    /// No set-up: the application sends STARTTLS and LOGIN itself ([`Event::Ready`] follows
    /// the greeting at once).
    fn default() -> Self {
        Self {
            tag_prefix: "A".to_owned(),
            response_options: ResponseOptions::default(),
            credentials: None,
            starttls: TlsPolicy::Never,
            implicit_tls: false,
            response_timeout: Duration::from_secs(5 * 60),
        }
    }
}

impl ClientConfig {
    /// A client that sets the connection up itself: STARTTLS when offered, then a login with
    /// `credentials` (none: stay unauthenticated, or PREAUTH). Responses are parsed with
    /// every [`Leniency`](crate::codec::Leniency) on, for the servers it will meet.
    pub fn new(credentials: Option<Credentials>) -> Self {
        Self {
            credentials,
            starttls: TlsPolicy::Opportunistic,
            response_options: ResponseOptions {
                lenient: crate::codec::Leniency::all(),
                ..ResponseOptions::default()
            },
            ..Self::default()
        }
    }
}

/// Which step of the set-up a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The greeting.
    Greeting,
    /// CAPABILITY.
    Capability,
    /// STARTTLS.
    StartTls,
    /// AUTHENTICATE or LOGIN.
    Login,
}

/// Why the session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused a step of the set-up (or greeted with BYE).
    #[error("server refused {stage:?}: {} {}", .status.kind.as_str(), .status.text)]
    Rejected {
        /// The step.
        stage: Stage,
        /// The server's answer.
        status: Status<'static>,
    },
    /// TLS is required (by the policy, or by credentials under
    /// [`TlsPolicy::Opportunistic`]) but the server does not offer STARTTLS or refused it,
    /// or greeted with PREAUTH on a plaintext connection (where STARTTLS is no longer
    /// possible).
    #[error("the server does not offer STARTTLS")]
    TlsNotOffered,
    /// Credentials are set but the server offers no way to use them (LOGINDISABLED without
    /// AUTH=PLAIN).
    #[error("the server offers no usable login method")]
    NoLoginMethod,
    /// The server sent something that is not a valid response, or a tagged answer to no
    /// command in flight.
    #[error("invalid response: {0}")]
    Protocol(String),
    /// No answer in time.
    #[error("timed out waiting for the server")]
    Timeout,
}

/// What happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's greeting: `OK`, `PREAUTH` (already authenticated) or `BYE`.
    Greeting(Status<'static>),
    /// STARTTLS was accepted, the set-up's or the application's (whose `Completed`
    /// follows): run the TLS handshake now, then call [`Client::tls_established`]. The tokio
    /// driver does this itself.
    StartTls,
    /// COMPRESS DEFLATE was answered OK (its `Completed` follows): compress everything sent
    /// from now on and decompress all input, starting with what
    /// [`Client::deflate_established`](super::Client::deflate_established) returns. The
    /// tokio driver does this itself.
    Compress,
    /// The set-up is done (logged in, when credentials were given): commands may be sent.
    Ready,
    /// Untagged data, with the tag of the oldest command in flight (`None` if none is:
    /// unsolicited news such as EXISTS).
    Data {
        /// The command it is taken to answer.
        tag: Option<Tag<'static>>,
        /// The data.
        data: Data<'static>,
    },
    /// An untagged status (`* OK [UIDVALIDITY ...]`, `* NO ...`, `* BAD ...`).
    Untagged(Status<'static>),
    /// An untagged response that does not parse, skipped: the session goes on.
    Unparsed {
        /// The response as it came, literals included.
        response: Vec<u8>,
        /// What the parser found wrong.
        error: String,
    },
    /// A command finished.
    Completed {
        /// Its tag.
        tag: Tag<'static>,
        /// Its name (`UID FETCH`, ...).
        name: &'static str,
        /// The tagged status.
        status: Status<'static>,
    },
    /// The server accepted IDLE; updates arrive as `Data` until [`Client::idle_done`].
    Idling,
    /// A continuation request no literal or exchange of the session was waiting for (an
    /// AUTHENTICATE exchange the application runs).
    Continue(Continue<'static>),
    /// The server said BYE (after LOGOUT, or on its own); close the connection.
    Closed {
        /// The BYE's text.
        reason: String,
    },
    /// The session failed and is closed.
    Failed(ClientError),
}

/// The API was used out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
    /// A command is waiting for a continuation, IDLE is running, or the set-up is not done.
    #[error("not now: {0}")]
    Busy(&'static str),
    /// No IDLE is running.
    #[error("no IDLE is running")]
    NotIdling,
    /// `tls_established` without a STARTTLS the server accepted.
    #[error("no STARTTLS is in progress")]
    NoStartTls,
    /// `deflate_established` without a COMPRESS the server accepted.
    #[error("no COMPRESS is in progress")]
    NoCompress,
    /// STARTTLS on a connection that is TLS already: a server that accepted it would have
    /// the client start a second handshake inside the first.
    #[error("TLS is already in force")]
    AlreadyTls,
    /// The command needs a capability the server did not announce (a `literal8` needs
    /// BINARY, RFC 3516 §4.3).
    #[error("the server does not offer {0}")]
    NotOffered(&'static str),
}
