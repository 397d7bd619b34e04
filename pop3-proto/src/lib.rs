//! Sans-IO POP3: RFC 1939, with CAPA and response codes (RFC 2449, RFC 3206), STLS
//! (RFC 2595), SASL AUTH (RFC 5034) and UTF8/LANG (RFC 6856), with a tokio driver beside it.
//!
//! Four layers, the same in every protocol crate of this workspace:
//!
//! - [`types`]: the vocabulary ([`Command`], [`Response`], [`Reply`], [`Capability`],
//!   listings, unique-ids). Values borrow from the input where they can and validate on
//!   construction, so an invalid value cannot be built and then encoded.
//! - [`codec`]: line framing, parsers named after the RFCs' ABNF, encoders that append to a
//!   caller-owned buffer, and the multi-line body framers (byte-stuffing and unstuffing in
//!   chunks). Whether a `+OK` starts a multi-line body depends on the command it answers:
//!   [`Command::response_kind`] says, and the decoder takes it as an [`Expect`].
//! - [`session`]: the [`Server`](session::server::Server) and
//!   [`Client`](session::client::Client) state machines. They never touch a socket or a clock:
//!   bytes go in with `handle_input`, events and bytes come out with `poll_event` and
//!   `poll_transmit`, and time is passed in.
//! - `tokio` (feature `tokio`): the sessions over a socket — [`Pop3Client`](tokio::client::Pop3Client)
//!   downloads, [`Connection`](tokio::server::Connection) serves one client — with STLS or
//!   implicit TLS (tokio-rustls), timeouts and backpressure handled.
//!
//! # Downloading mail (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn download() -> Result<(), Box<dyn std::error::Error>> {
//! use sansmail_pop3::{Credentials, session::client::ClientConfig};
//! use sansmail_pop3::tokio::{client::Pop3Client, tls::{TlsConnector, Verify}};
//!
//! let mut config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
//! config.implicit_tls = true;
//! let tls = TlsConnector::new(&Verify::Platform)?;
//! let mut pop = Pop3Client::connect("pop.example.org", 995, config, Some(tls)).await?;
//! for listing in pop.list().await? {
//!     let message = pop.retr(listing.msg).await?;
//!     // Store the message durably here, then:
//!     pop.dele(listing.msg).await?;
//! }
//! pop.quit().await?; // the deletions happen now (the UPDATE state)
//! # Ok(()) }
//! ```
//!
//! # Serving a client (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! use sansmail_pop3::{Uid, session::{Maildrop, ServerConfig, responses, server::Event}};
//! use sansmail_pop3::tokio::{server::Connection, tls::Stream};
//!
//! let message = b"Subject: hi\r\n\r\nhello\r\n";
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::new("pop.example.org"), None);
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Login { credentials, .. } if credentials.password.expose() == "secret" => {
//!             let mut maildrop = Maildrop::new();
//!             maildrop.push(message.len() as u64, Uid::new("1").unwrap());
//!             session.accept_login(maildrop)
//!         }
//!         Event::Login { .. } => session.reject(&responses::auth_failed()),
//!         Event::Retrieve { .. } => session
//!             .accept()
//!             .and_then(|()| session.message_data(message).map(drop))
//!             .and_then(|()| session.message_end()),
//!         // Remove what was marked, then sign off.
//!         Event::Commit { .. } => session.accept(),
//!         _ => Ok(()),
//!     };
//!     answered.map_err(std::io::Error::other)?;
//! }
//! # Ok(()) }
//! ```
//!
//! # The bare codec
//!
//! ```
//! use sansmail_pop3::{codec, Command, Expect, MessageNumber, Reply};
//!
//! let (rest, cmd) = codec::decode_command(b"TOP 1 10\r\nQUIT\r\n").unwrap();
//! assert_eq!(cmd, Command::Top { msg: MessageNumber::new(1).unwrap(), lines: 10 });
//! assert_eq!(cmd.response_kind(), Expect::MultiLine);
//! assert_eq!(rest, b"QUIT\r\n");
//!
//! let wire = b"+OK\r\nSubject: x\r\n\r\n..dot\r\n.\r\n";
//! let (_, reply) = codec::decode_response(wire, cmd.response_kind()).unwrap();
//! let Reply::MultiLine { body, .. } = reply else { panic!() };
//! assert_eq!(body.unstuffed(), b"Subject: x\r\n\r\n.dot\r\n");
//! ```
//!
//! The session's own sans-IO loop is shown in [`session::server`] and [`session::client`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod apop;
pub mod codec;
pub mod error;
mod grammar;
pub mod limits;
mod md5;
pub mod session;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
pub mod types;

pub use error::DecodeError;
pub use limits::Limits;
pub use types::{
    InvalidInput, Text,
    capability::{Capabilities, Capability, OtherCapability},
    command::{AuthInitial, Command, MessageNumber},
    listing::{DropListing, Language, ScanListing, Uid, UniqueIdListing},
    response::{Body, Continuation, Expect, Reply, Response, ResponseCode, Status, UnknownCode},
    sasl::{Credentials, Mechanism, Secret},
};
