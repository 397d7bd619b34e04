//! Sans-IO POP3: RFC 1939, with CAPA and response codes (RFC 2449, RFC 3206), STLS
//! (RFC 2595), SASL AUTH (RFC 5034) and UTF8/LANG (RFC 6856).
//!
//! The crate has three layers, the same in every protocol crate of this workspace:
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
//!
//! ```
//! use pop3_proto::{codec, Command, Expect, MessageNumber, Reply};
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
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod apop;
pub mod codec;
pub mod error;
pub mod limits;
mod md5;
pub mod session;
#[cfg(feature = "tokio")]
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
