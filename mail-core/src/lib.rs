//! What the sansmail protocol crates (`sansmail-smtp`, `sansmail-imap`, `sansmail-pop3`) share.
//!
//! - [`sasl`]: mechanism names, secrets kept out of `Debug` output, canonical base64 and the
//!   PLAIN message (RFC 4422, RFC 4616, RFC 4648). Its items are re-exported here.
//! - [`session`]: the contract every sans-IO session keeps (bytes in, bytes out, time passed
//!   in), as a trait a driver can be written against once.
//! - [`line`](mod@line), [`parse`] and [`clock`]: the machinery of the protocol crates' codecs and
//!   sessions: CRLF line framing under a limit, the nom parse error with what was expected,
//!   and the input clock that keeps a trickling client (slowloris) from holding a session.
//! - `deflate` (feature `deflate`, part of `tokio`): raw DEFLATE both ways, IMAP's
//!   COMPRESS=DEFLATE (RFC 4978).
//! - [`transcript`]: the steps and errors of the protocol crates' transcript decoders.
//! - [`swept`]: a map for long-lived server state keyed by what clients choose, swept of
//!   the entries no longer in use as it grows.
//! - [`utf7`]: modified UTF-7 (RFC 3501 §5.1.3), the form of IMAP mailbox names on the wire
//!   and of Maildir++ folder names on disk.
//! - `tls`, `transport` and `driver` (feature `tokio`): a connection that is plaintext until
//!   TLS starts (implicit TLS, or STARTTLS/STLS once) over any `AsyncRead + AsyncWrite`,
//!   rustls configurations for clients and servers, the cancel-safe send-then-read loop, and
//!   the event loop every protocol crate's tokio driver runs its session with.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
#[cfg(feature = "deflate")]
#[cfg_attr(docsrs, doc(cfg(feature = "deflate")))]
pub mod deflate;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod driver;
pub mod error;
pub mod line;
pub mod parse;
pub mod sasl;
pub mod session;
pub mod swept;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tls;
pub mod transcript;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod transport;
pub mod utf7;

pub use error::InvalidInput;
pub use sasl::{
    Credentials, Mechanism, Secret, base64_decode, base64_encode, is_base64, is_base64_bytes,
    is_mechanism, plain_decode, plain_encode,
};
pub use session::{CloseReason, Session, TlsPolicy};
