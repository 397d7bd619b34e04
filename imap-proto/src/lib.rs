//! Sans-IO IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051), with the common extensions.
//!
//! The same three layers as the workspace's `smtp-proto`:
//!
//! - [`types`]: the vocabulary (strings, mailboxes, sequence sets, flags, sections,
//!   commands, responses). Values borrow from the input and validate on construction.
//! - [`codec`]: the framer that splits lines and literals before parsing (and reports each
//!   synchronizing literal so a server can answer `+` or refuse), nom parsers named after the
//!   RFC's ABNF, and encoders that choose the cheapest valid form.
//! - `session`: server and client state machines without I/O.
//! - [`sort`]: SORT (RFC 5256 §3, RFC 5957) and ESORT's ordered set over plain per-message
//!   records.
//! - [`thread`]: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §4) over those records.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod codec;
pub mod error;
pub mod session;
pub mod sort;
pub mod thread;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod types;
