//! What the server session tells the application.

use sansmail_core::Credentials;

#[cfg(doc)]
use super::Server;
use crate::types::{
    capability::Capability,
    command::Command,
    core::{Atom, Tag},
    mailbox::Mailbox,
};

/// What happened in the session. **Decision** events wait for an answer; until then
/// `poll_event` returns `None` and no further input is read.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// **Decision**: a synchronizing literal of `len` octets was announced. Answer with
    /// [`Server::accept_literal`] (the client is told to send it) or
    /// [`Server::reject_literal`] (the command fails; the client will not send it).
    LiteralAnnounced {
        /// The command's tag, if it could be read.
        tag: Option<Tag<'static>>,
        /// The announced size.
        len: u64,
        /// The mailbox, when the literal is message data of an APPEND
        /// ([`append_literal_mailbox`](crate::codec::append_literal_mailbox)): a message that
        /// will not fit can be refused before it is sent (`TOOBIG`, `OVERQUOTA`,
        /// `TRYCREATE`).
        append_to: Option<Mailbox<'static>>,
    },
    /// **Decision**: a command for the application. Send untagged data with
    /// [`Server::send`], then finish with [`Server::complete`]. For SELECT and EXAMINE, call
    /// [`Server::select`] before completing with OK.
    Command(Command<'static>),
    /// **Decision**: LOGIN or AUTHENTICATE PLAIN. [`Server::accept`] or [`Server::reject`].
    Login {
        /// What the client sent.
        credentials: Credentials,
    },
    /// **Decision**: AUTHENTICATE with a mechanism the application runs. Answer with
    /// [`Server::auth_challenge`], [`Server::accept`] or [`Server::reject`].
    AuthExchange {
        /// The mechanism.
        mechanism: Atom<'static>,
        /// The client's data: the initial response, then each response.
        response: Option<Vec<u8>>,
    },
    /// **Decision**: IDLE. [`Server::accept`] starts it (updates pushed with
    /// [`Server::push_update`] then go out at once); [`Server::reject`] refuses it.
    Idle,
    /// The client ended IDLE; the session has answered it.
    IdleDone,
    /// ENABLE turned these extensions on (already answered).
    Enabled(Vec<Capability<'static>>),
    /// STARTTLS was accepted: flush the transmit buffer, run the handshake, then call
    /// [`Server::tls_established`].
    StartTls,
    /// COMPRESS DEFLATE was accepted (RFC 4978; offered with `COMPRESS=DEFLATE` among the
    /// configured capabilities): send the transmit buffer as it is, compress everything
    /// after it and decompress all input, starting with what
    /// [`Server::deflate_established`](super::Server::deflate_established) returns. The
    /// tokio driver does this itself.
    Compress,
    /// The selected mailbox was closed by CLOSE, UNSELECT or a failed SELECT (a SELECT of
    /// another mailbox replaces it without this event). For CLOSE, the application expunges
    /// before completing.
    Deselected,
    /// LOGOUT was answered; close the connection once the transmit buffer is sent.
    Logout,
    /// **Decision**: the next piece of the FETCH response being streamed
    /// ([`Server::fetch_begin`]), asked once what was given so far has been taken with
    /// [`Server::poll_transmit`] (down to
    /// [`Limits::max_queued_output`](crate::Limits::max_queued_output)). Give it with
    /// [`Server::message_data`]; once the literal is complete, start another with
    /// [`Server::fetch_literal`] or end the response with [`Server::fetch_end`] (and go on
    /// with the command). No `NO` can follow part of a literal: if the octets cannot be read
    /// now, [`Server::close`].
    FetchMore {
        /// The message the response is about.
        seq: u32,
        /// Octets given so far of the literal last started: where its next piece starts
        /// (its length once it is complete; 0 before the first).
        offset: u64,
    },
}
