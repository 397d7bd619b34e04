//! tokio drivers (feature `tokio`): the sessions over a socket, and stream codecs.
//!
//! - [`client::SmtpClient`]: connects (plaintext, STARTTLS, or implicit TLS), says EHLO,
//!   authenticates, and sends messages with a result per recipient.
//! - [`server::Connection`]: runs a [`Server`](crate::session::server::Server) session over any
//!   `AsyncRead + AsyncWrite` and hands the application the session's events and decisions;
//!   STARTTLS, timeouts and backpressure are handled inside.
//! - [`ServerCodec`] and [`ClientCodec`]: tokio-util `Decoder`/`Encoder`s that frame a stream
//!   without the session layer.
//!
//! [`tls`] is `sansmail_core::tls`, re-exported: the plaintext-or-TLS [`Stream`](tls::Stream) and
//! the rustls configurations shared with the workspace's IMAP and POP3 drivers.

pub mod client;
mod codec;
pub mod server;

pub use codec::{ClientCodec, CodecError, Inbound, ServerCodec};
pub use sansmail_core::{tls, transport::Transport};
