//! What the server session tells the application.

#[cfg(doc)]
use super::Server;
#[cfg(doc)]
use crate::session::responses;

use crate::{
    session::maildrop::Deletions,
    types::{
        command::MessageNumber,
        sasl::{Credentials, Mechanism},
    },
};

/// How the credentials of an [`Event::Login`] were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// USER and PASS (RFC 1939 §7).
    UserPass,
    /// AUTH PLAIN (RFC 5034, RFC 4616).
    Plain,
}

/// What happened in the session. Events that ask for a decision say so; until it is given,
/// `poll_event` returns `None` and no further input is processed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// **Decision**: a user name and password (USER/PASS or AUTH PLAIN). Check them, lock
    /// the maildrop, then [`Server::accept_login`]; or [`Server::reject`] with
    /// [`responses::auth_failed`], [`responses::in_use`], [`responses::sys_temp`], ….
    Login {
        /// How they were sent.
        method: LoginMethod,
        /// What the client sent.
        credentials: Credentials,
    },
    /// **Decision**: APOP. Look up the user's secret and check the digest with
    /// [`apop::verify`](crate::apop::verify)`(timestamp, secret, digest)`, then as for
    /// [`Event::Login`].
    Apop {
        /// The mailbox name.
        name: String,
        /// The digest the client sent (32 hexadecimal digits, either case).
        digest: String,
        /// The timestamp of this session's greeting, brackets included.
        timestamp: String,
    },
    /// **Decision**: a step of a SASL exchange for a mechanism the application runs. Answer
    /// with [`Server::auth_challenge`], [`Server::accept_login`] or [`Server::reject`].
    AuthExchange {
        /// The mechanism.
        mechanism: Mechanism<'static>,
        /// The client's data: the initial response, then each response. `None` when AUTH
        /// came without an initial response.
        response: Option<Vec<u8>>,
    },
    /// **Decision**: RETR or TOP of a message that exists and is not deleted. Stream its
    /// content with [`Server::message_data`] (CRLF or LF line ends, unstuffed) and end it
    /// with [`Server::message_end`]; or refuse with [`Server::reject`] (for example
    /// [`responses::message_unavailable`]). For TOP the session cuts the content after the
    /// requested number of body lines; `message_data` returns `false` once it has enough.
    ///
    /// A large message need not be read whole: give its first piece (or only
    /// [`Server::accept`]) and return; [`Event::RetrieveMore`] asks for each next piece.
    Retrieve {
        /// The message.
        msg: MessageNumber,
        /// Its unique-id, as in the maildrop.
        uid: String,
        /// Its size, as in the maildrop.
        size: u64,
        /// `Some(n)` for `TOP msg n`.
        top: Option<u64>,
    },
    /// **Decision**: the next piece of the RETR or TOP in progress, asked once what was
    /// given so far has been taken with [`Server::poll_transmit`] (down to
    /// [`Limits::max_queued_output`](crate::Limits::max_queued_output)). Give it with
    /// [`Server::message_data`], or end the message with [`Server::message_end`]. No
    /// `-ERR` can follow any more: if the content cannot be read now, [`Server::close`].
    RetrieveMore {
        /// The message.
        msg: MessageNumber,
        /// `Some(n)` for `TOP msg n`.
        top: Option<u64>,
        /// Octets of content given so far: where the next piece starts.
        offset: u64,
    },
    /// **Decision**: QUIT in the TRANSACTION state (the UPDATE state, RFC 1939 §6). Remove the
    /// messages listed, release the maildrop lock, then [`Server::accept`]; if some could not
    /// be removed, [`Server::reject`] with [`responses::commit_failed`]. The session closes
    /// either way.
    Commit {
        /// The messages marked as deleted.
        deletions: Deletions,
    },
    /// STLS was accepted and its `+OK` queued. Flush the transmit buffer, run the TLS
    /// handshake, then call [`Server::tls_established`]. Input received so far is discarded.
    StartTls,
    /// The client enabled UTF8 mode (RFC 6856 §2): messages may be sent with UTF-8 headers
    /// as they are.
    Utf8Enabled,
}
