//! tokio drivers (feature `tokio`): the sessions over a socket, and stream codecs.
//!
//! - [`client::Pop3Client`]: connects (plaintext, STLS, or implicit TLS), logs in (APOP, AUTH
//!   PLAIN or USER/PASS), and offers STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP and QUIT.
//! - [`server::Connection`]: runs a [`Server`](crate::session::server::Server) session over
//!   any `AsyncRead + AsyncWrite` and hands the application the session's events and
//!   decisions; STLS, timeouts and backpressure are handled inside.
//! - [`ServerCodec`] and [`ClientCodec`]: tokio-util `Decoder`/`Encoder`s that frame a stream
//!   without the session layer.
//!
//! [`tls`] is `sansmail_core::tls`, re-exported: the plaintext-or-TLS [`Stream`](tls::Stream) and
//! the rustls configurations shared with the workspace's SMTP and IMAP drivers.

pub mod client;
mod codec;
pub mod server;

pub use codec::{
    ClientCodec, ClientInbound, ClientOutbound, CodecError, ServerCodec, ServerInbound,
    ServerOutbound,
};
pub use sansmail_core::{tls, transport::Transport};
