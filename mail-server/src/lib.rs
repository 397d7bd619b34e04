//! Mail served from a [`MailStore`](mail_store::MailStore): SMTP and LMTP delivery, IMAP and
//! POP3, each a protocol crate's tokio driver answered with store calls.
//!
//! A server project supplies its policy (who its users are, which addresses are local: the
//! [`auth::Accounts`] trait) and a store backend, and gets the rest:
//!
//! - [`imap::ImapService`]: IMAP4rev1 and IMAP4rev2 with IDLE, CONDSTORE/QRESYNC, SEARCH,
//!   SORT/THREAD, BINARY, LIST-EXTENDED, SPECIAL-USE, QUOTA and more, the selected mailbox
//!   kept current from the store's change events.
//! - [`pop3::Pop3Service`]: POP3 on the store's maildrop lease, deletions at QUIT only.
//! - [`smtp::SmtpService`]: SMTP, submission and LMTP into the store, every copy durable
//!   before its `250`.
//! - [`listener`]: the accept loop: connection limits in total and per address, implicit
//!   TLS, graceful shutdown.
//! - [`auth`]: logins checked off the async workers and throttled per address.
//!
//! The protocol rules are the sessions' (`smtp-proto`, `imap-proto`, `pop3-proto`); the
//! algorithms on stored messages are `mail-store`'s and `imap-proto`'s. What is here is the
//! answer to each event: which store call, and what it means on the wire.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod imap;
pub mod listener;
pub mod pop3;
pub mod smtp;

/// A connection of the listeners: plaintext until TLS starts.
pub type Stream = mail_core::tls::Stream<tokio::net::TcpStream>;

/// Whether `peer` may send a password without TLS: only from a loopback address, and only
/// while the server allows it.
pub fn plaintext_allowed(allow_loopback: bool, peer: std::net::SocketAddr) -> bool {
    allow_loopback && peer.ip().to_canonical().is_loopback()
}
