//! tokio drivers (feature `tokio`): the sessions over a socket, and stream codecs.
//!
//! - [`client::ImapClient`]: connects (plaintext, STARTTLS, or implicit TLS), logs in, and
//!   offers SELECT/EXAMINE, LIST, FETCH, STORE, SEARCH, APPEND, EXPUNGE, IDLE and any other
//!   command through [`run`](client::ImapClient::run), each answer collected per command.
//! - [`server::Connection`]: runs a [`Server`](crate::session::server::Server) session over
//!   any `AsyncRead + AsyncWrite` and hands the application the session's events and
//!   decisions; STARTTLS, timeouts and backpressure are handled inside.
//! - [`ServerCodec`] and [`ClientCodec`]: tokio-util `Decoder`/`Encoder`s that frame a stream
//!   without the session layer.
//!
//! [`tls`] is `sansmail_core::tls`, re-exported: the plaintext-or-TLS [`Stream`](tls::Stream) and
//! the rustls configurations shared with the workspace's SMTP and POP3 drivers.

pub mod client;
mod codec;
pub mod server;

pub use codec::{ClientCodec, CodecError, Inbound, ServerCodec};
pub use sansmail_core::{tls, transport::Transport};
