//! Sans-IO IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051), with the common extensions and a
//! tokio driver beside it.
//!
//! Four layers, the same in every protocol crate of this workspace:
//!
//! - [`types`]: the vocabulary (strings, mailboxes, sequence sets, flags, sections,
//!   commands, responses). Values borrow from the input and validate on construction.
//! - [`codec`]: the framer that splits lines and literals before parsing (and reports each
//!   synchronizing literal so a server can answer `+` or refuse), nom parsers named after the
//!   RFC's ABNF, and encoders that choose the cheapest valid form.
//! - [`session`]: server and client state machines without I/O. The server session owns the
//!   protocol's rules: states, tags, literals, IDLE, the client's view of sequence numbers
//!   and when changes made elsewhere may be told (RFC 9051 §7.4.1), CONDSTORE/QRESYNC state,
//!   updating searches (RFC 5267 CONTEXT=SEARCH/SORT) and the rules of PARTIAL (RFC 9394).
//! - `tokio` (feature `tokio`): the sessions over a socket — [`ImapClient`](tokio::client::ImapClient)
//!   with the operations people use, [`Connection`](tokio::server::Connection) serving one
//!   client — with STARTTLS or implicit TLS (tokio-rustls), timeouts and backpressure handled.
//!
//! And the IMAP algorithms over plain data: [`sort`] (SORT, RFC 5256 §3, RFC 5957, and
//! ESORT's ordered set) and [`thread`] (THREAD=ORDEREDSUBJECT and THREAD=REFERENCES,
//! RFC 5256 §4), and [`url`] (IMAP URLs naming a message part, RFC 5092, for CATENATE, and
//! URLAUTH's authorized URLs and `INTERNAL` tokens, RFC 4467). A
//! server on `mail-store` gets everything else from the `mail-server` crate.
//!
//! # Reading mail (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn read() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sansmail_imap::session::client::{ClientConfig, Credentials};
//! use sansmail_imap::tokio::{client::ImapClient, tls::{TlsConnector, Verify}};
//! use sansmail_imap::types::{fetch_attr::FetchAttr, search::SearchKey, sequence::SequenceSet};
//!
//! let config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
//! let tls = TlsConnector::new(&Verify::Platform)?;
//! let mut imap = ImapClient::connect("imap.example.org", 143, config, Some(tls)).await?;
//! let inbox = imap.select("INBOX").await?;
//! println!("{} messages, UIDVALIDITY {:?}", inbox.exists, inbox.uid_validity);
//! let unseen = imap.uid_search(vec![SearchKey::Unseen]).await?;
//! if let Ok(set) = SequenceSet::from_numbers(unseen) {
//!     for m in imap.uid_fetch(&set, vec![FetchAttr::Envelope]).await? {
//!         println!("{:?}: {:?}", m.uid(), m.items);
//!     }
//! }
//! let news = imap.idle(Duration::from_secs(29 * 60)).await?; // until something happens
//! println!("{news:?}");
//! imap.logout().await?;
//! # Ok(()) }
//! ```
//!
//! # Serving a client (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! use sansmail_imap::session::{ServerConfig, server::Event};
//! use sansmail_imap::tokio::{server::Connection, tls::Stream};
//! use sansmail_imap::types::{command::CommandBody, response::StatusKind, response_code::ResponseCode};
//!
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::default(), None);
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Login { credentials } if credentials.password.expose() == "secret" => {
//!             session.accept()
//!         }
//!         Event::Login { .. } => {
//!             session.reject(Some(ResponseCode::AuthenticationFailed), "Authentication failed")
//!         }
//!         Event::LiteralAnnounced { .. } => session.accept_literal(),
//!         // A real server answers each command from its store (see `mail-server`).
//!         Event::Command(cmd) => match cmd.body {
//!             CommandBody::Namespace => session.complete(StatusKind::Ok, None, "done"),
//!             _ => session.complete(StatusKind::No, None, "not here"),
//!         },
//!         _ => Ok(()),
//!     };
//!     answered.map_err(std::io::Error::other)?;
//! }
//! # Ok(()) }
//! ```
//!
//! # The bare sans-IO loop
//!
//! ```
//! use std::time::Instant;
//! use sansmail_imap::session::{ServerConfig, server::{Event, Server}};
//!
//! let now = Instant::now();
//! let mut config = ServerConfig::default();
//! config.auth_requires_tls = false;
//! let mut server = Server::new(config, now);
//! let mut wire = Vec::new();
//! server.poll_transmit(&mut wire); // the greeting
//! server.handle_input(now, b"a1 LOGIN alice secret\r\n");
//! while let Some(event) = server.poll_event() {
//!     if let Event::Login { credentials } = event {
//!         assert_eq!(credentials.authcid, "alice");
//!         server.accept().unwrap();
//!     }
//! }
//! wire.clear();
//! server.poll_transmit(&mut wire);
//! assert!(wire.starts_with(b"a1 OK [CAPABILITY IMAP4rev1 "));
//! ```
//!
//! And the codec alone:
//!
//! ```
//! use sansmail_imap::codec::{CommandOptions, parse_command};
//! use sansmail_imap::types::command::CommandBody;
//!
//! let cmd = parse_command(b"a2 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER])\r\n", &CommandOptions::default()).unwrap();
//! assert_eq!(cmd.tag.as_str(), "a2");
//! assert!(matches!(cmd.body, CommandBody::Fetch { uid: true, .. }));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
pub mod error;
pub mod limits;
pub mod session;
pub mod sort;
pub mod thread;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
pub mod types;
pub mod url;

pub use error::{DecodeError, SyntaxError, SyntaxErrorKind};
pub use limits::Limits;
