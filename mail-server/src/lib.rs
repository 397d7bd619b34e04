//! Mail served from a [`MailStore`](sansmail_store::MailStore): SMTP and LMTP delivery, IMAP and
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
//! - [`outbound`]: the queue of mail for other systems, its delivery, retries and DSNs;
//!   [`mailauth`]: DKIM signing of what leaves, SPF/DKIM/DMARC checks of what arrives.
//! - [`listener`]: the accept loop: connection limits in total and per address, implicit
//!   TLS, graceful shutdown.
//! - [`auth`]: logins checked off the async workers and throttled per address.
//! - [`record`]: one log line per connection (protocol, peer, account, TLS, commands, octets,
//!   duration, outcome) and login events; [`metrics`]: the counters behind them, a store
//!   wrapper timing every call, and a Prometheus endpoint.
//! - [`reload`]: settings replaced while the server runs (users, certificates, limits).
//! - `passwd_file` (feature `passwd-file`): users from a Dovecot-style passwd-file, their
//!   Argon2 or SHA512-CRYPT hashes, the file edited in place, and an [`auth::Accounts`]
//!   policy over it.
//!
//! The protocol rules are the sessions' (`smtp-proto`, `imap-proto`, `pop3-proto`); the
//! algorithms on stored messages are `mail-store`'s and `imap-proto`'s. What is here is the
//! answer to each event: which store call, and what it means on the wire.
//!
//! # A whole mail server
//!
//! ```no_run
//! use std::sync::Arc;
//! use sansmail_core::Credentials;
//! use sansmail_server::{
//!     auth::{Accounts, Authenticator, Refusal, ThrottleConfig},
//!     imap::ImapService, listener::{self, ConnectionLimits, Gate}, pop3::Pop3Service,
//!     smtp::SmtpService,
//! };
//! use sansmail_store::{AccountName, MailStore, memory::MemoryStore};
//! use sansmail_smtp::ForwardPath;
//!
//! /// The policy: who logs in, and which addresses are delivered here.
//! struct Users;
//!
//! impl Accounts for Users {
//!     fn verify(&self, c: &Credentials) -> Option<AccountName> {
//!         let ok = c.authcid == "alice" && c.password.expose() == "secret";
//!         ok.then(|| AccountName::try_from("alice").ok()).flatten()
//!     }
//!
//!     fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
//!         match to.mailbox() {
//!             Some(m) if m.to_string() == "alice@example.org" => {
//!                 AccountName::try_from("alice").map_err(|_| Refusal::NoSuchUser)
//!             }
//!             _ => Err(Refusal::NotLocal),
//!         }
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let store = Arc::new(MemoryStore::new());
//! store.create_account(&AccountName::try_from("alice").unwrap()).await.ok();
//! let auth = Arc::new(Authenticator::new(Arc::new(Users), ThrottleConfig::default()));
//! let gate = Gate::new(ConnectionLimits::default());
//! let host = "mail.example.org";
//! let smtp = SmtpService::new(host, false, auth.clone(), store.clone(), gate.clone());
//! let imap = ImapService::new(host, auth.clone(), store.clone(), gate.clone());
//! let pop3 = Pop3Service::new(host, auth, store, gate.clone());
//! listener::spawn("smtp", "127.0.0.1:2525".parse().unwrap(), None, Arc::new(smtp)).await?;
//! listener::spawn("imap", "127.0.0.1:2143".parse().unwrap(), None, Arc::new(imap)).await?;
//! listener::spawn("pop3", "127.0.0.1:2110".parse().unwrap(), None, Arc::new(pop3)).await?;
//! tokio::signal::ctrl_c().await?;
//! gate.shutdown();
//! gate.drained().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod auth;
pub mod imap;
pub mod listener;
pub mod mailauth;
pub mod metrics;
pub mod outbound;
#[cfg(feature = "passwd-file")]
pub mod passwd_file;
pub mod pop3;
pub mod record;
pub mod reload;
pub mod smtp;

/// A client's socket, its octets counted into the connection's record.
pub type Socket = record::Metered<tokio::net::TcpStream>;

/// A connection of the listeners: plaintext until TLS starts.
pub type Stream = sansmail_core::tls::Stream<Socket>;

/// The longest start of `s` of at most `max` octets that ends between characters: text from
/// a peer, bounded for a log line or a header field.
pub(crate) fn clipped(s: &str, max: usize) -> &str {
    let end = (0..=max.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    s.get(..end).unwrap_or_default()
}

/// Whether `peer` may send a password without TLS: only from a loopback address, and only
/// while the server allows it.
pub fn plaintext_allowed(allow_loopback: bool, peer: std::net::SocketAddr) -> bool {
    allow_loopback && peer.ip().to_canonical().is_loopback()
}
