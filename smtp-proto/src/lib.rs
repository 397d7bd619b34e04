//! Sans-IO SMTP, ESMTP and LMTP.
//!
//! The crate has three layers, the same in every protocol crate of this workspace:
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
//!
//! ```
//! use smtp_proto::{codec, Command};
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

pub mod codec;
pub mod error;
pub mod limits;
pub mod session;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod types;

pub use error::DecodeError;
pub use limits::Limits;
pub use types::{
    address::{AddressLiteral, Domain, DomainPart, ForwardPath, LocalPart, Mailbox, ReversePath},
    capability::{Capability, EhloReply},
    command::{AuthInitial, Command, HelloKind},
    params::{Body, MailParams, Notify, RcptParams, Ret, UnknownParam},
    reply::{EnhancedStatus, Reply, ReplyCode},
    sasl::{Mechanism, Secret},
    xtext::XText,
};
