//! Sans-IO SMTP, ESMTP and LMTP, with a tokio driver beside it.
//!
//! Four layers, the same in every protocol crate of this workspace (`smtp-proto`,
//! `imap-proto`, `pop3-proto`), so a reader who knows one knows all three:
//!
//! - [`types`]: the vocabulary ([`Command`], [`Reply`], [`Mailbox`], parameters, capabilities).
//!   Values borrow from the input where they can and validate on construction, so an invalid
//!   value cannot be built and then encoded.
//! - [`codec`]: line framing, parsers named after RFC 5321's ABNF, encoders that append to a
//!   caller-owned buffer, and the DATA/BDAT framers (dot-unstuffing that ends *only* at
//!   `CRLF.CRLF`).
//! - [`session`]: the [`Server`](session::server::Server) and
//!   [`Client`](session::client::Client) state machines. They never touch a socket or a clock:
//!   bytes go in with `handle_input`, events and bytes come out with `poll_event` and
//!   `poll_transmit`, and time is passed in.
//! - `tokio` (feature `tokio`): the sessions over a socket — [`SmtpClient`](tokio::client::SmtpClient)
//!   sends messages, [`Connection`](tokio::server::Connection) serves one client — with
//!   STARTTLS or implicit TLS (tokio-rustls), timeouts and backpressure handled.
//!
//! # Sending a message (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn send() -> Result<(), Box<dyn std::error::Error>> {
//! use sansmail_smtp::{DomainPart, ForwardPath, Mailbox, ReversePath, types::sasl::Credentials};
//! use sansmail_smtp::session::client::{ClientConfig, Envelope, TlsPolicy};
//! use sansmail_smtp::tokio::{client::SmtpClient, tls::{TlsConnector, Verify}};
//!
//! let mut config = ClientConfig::new(DomainPart::try_from("laptop.example.org")?.into_owned());
//! config.starttls = TlsPolicy::Required;
//! config.credentials = Some(Credentials::new("alice", "secret"));
//! let tls = TlsConnector::new(&Verify::Platform)?;
//! let mut smtp = SmtpClient::connect("mail.example.org", 587, config, Some(tls)).await?;
//! let envelope = Envelope::new(
//!     ReversePath::Mailbox(Mailbox::try_from("alice@example.org")?.into_owned()),
//!     [ForwardPath::Mailbox(Mailbox::try_from("bob@example.net")?.into_owned())],
//! );
//! let sent = smtp.send(&envelope, b"Subject: hi\r\n\r\nHello Bob\r\n").await?;
//! for (i, reply) in sent.recipients.iter().enumerate() {
//!     println!("recipient {i}: {reply}");
//! }
//! smtp.quit().await?;
//! # Ok(()) }
//! ```
//!
//! # Serving a client (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn serve() -> std::io::Result<()> {
//! use sansmail_smtp::session::{ServerConfig, server::Event};
//! use sansmail_smtp::tokio::{server::Connection, tls::Stream};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:2525").await?;
//! let (tcp, _) = listener.accept().await?;
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::new("mx.example.org"), None);
//! let mut message = Vec::new();
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Mail { .. } | Event::Rcpt { .. } | Event::DataStart => session.accept(),
//!         Event::MessageData(data) => {
//!             message.extend_from_slice(&data);
//!             Ok(())
//!         }
//!         // Make the message durable here, then acknowledge it.
//!         Event::MessageEnd { .. } => session.accept(),
//!         _ => Ok(()),
//!     };
//!     answered.map_err(std::io::Error::other)?;
//! }
//! # Ok(()) }
//! ```
//!
//! # The bare sans-IO loop
//!
//! What the driver does, with any I/O: feed bytes in, answer events, send what comes out.
//!
//! ```
//! use std::time::Instant;
//! use sansmail_smtp::session::{ServerConfig, server::{Event, Server}};
//!
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::new("mx.example.org"), now);
//! let mut wire = Vec::new();
//! server.poll_transmit(&mut wire); // the greeting
//! server.handle_input(now, b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n");
//! while let Some(event) = server.poll_event() {
//!     if let Event::Mail { from, .. } = event {
//!         assert_eq!(from.to_string(), "<a@example.org>");
//!         server.accept().unwrap();
//!     }
//! }
//! server.poll_transmit(&mut wire);
//! assert!(wire.ends_with(b"250 2.1.0 Sender OK\r\n"));
//! ```
//!
//! And the codec alone:
//!
//! ```
//! use sansmail_smtp::{codec, Command};
//!
//! let (rest, cmd) = codec::decode_command(b"MAIL FROM:<a@example.org> SIZE=1000\r\nQUIT\r\n").unwrap();
//! let Command::Mail { from, params } = cmd else { panic!() };
//! assert_eq!(from.mailbox().unwrap().domain().as_str(), "example.org");
//! assert_eq!(params.size, Some(1000));
//! assert_eq!(rest, b"QUIT\r\n");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
pub mod error;
mod grammar;
pub mod limits;
pub mod session;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
pub mod types;

pub use error::DecodeError;
pub use limits::Limits;
pub use types::{
    address::{AddressLiteral, Domain, DomainPart, ForwardPath, LocalPart, Mailbox, ReversePath},
    capability::{Capability, EhloReply},
    command::{AuthInitial, Command, HelloKind},
    params::{Body, MailParams, Notify, RcptParams, Ret, UnknownParam},
    reply::{EnhancedStatus, Reply, ReplyCode, ReplyLines},
    sasl::{Mechanism, Secret},
    xtext::XText,
};
