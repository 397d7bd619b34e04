//! Decoding one direction of an SMTP session from its bytes alone: a capture, an archive, the
//! traffic a proxy relays, a fuzzer's input.
//!
//! [`ClientDecoder`] reads what a client sends: command lines; after `DATA`, the message up to
//! `CRLF.CRLF`, dot-unstuffed, in pieces as it arrives; after `BDAT n`, exactly `n` octets;
//! after `AUTH`, the SASL lines of the exchange. [`ServerDecoder`] reads what a server sends:
//! replies, multi-line ones whole.
//!
//! Neither takes part in the session, so what follows a command is decided from the command
//! alone: a client sends message data after `DATA` (it does so only after the server's `354`,
//! so in a transcript of the client's side the data follows the command), and an `AUTH`
//! exchange takes one line, or two for `LOGIN` (the server's challenges, which would say, are
//! in the other direction).
//!
//! Both decoders are fed the input not consumed yet, with whether more may follow, and return
//! one [`Step`] at a time: how many octets they are done with, and what they found, if
//! anything: an item or a [`TranscriptError`] saying where the bad message started and why.
//! After an error they resynchronise: a bad line is skipped through its LF (an overlong one
//! too, reported once however it arrives), a bad reply whole. They resume where they stopped,
//! so input that trickles in one octet at a time is scanned once.
//!
//! ```
//! use sansmail_smtp::codec::transcript::{ClientDecoder, ClientItem};
//!
//! let mut decoder = ClientDecoder::default();
//! let mut input = &b"DATA\r\n..a\r\n.\r\nQUIT\r\n"[..];
//! let mut found = Vec::new();
//! loop {
//!     let step = decoder.decode(input, false);
//!     let consumed = step.consumed;
//!     match step.found {
//!         Some(Ok(ClientItem::Command(c))) => found.push(c.verb().to_string()),
//!         Some(Ok(ClientItem::Data(piece))) => found.push(String::from_utf8_lossy(piece).into()),
//!         Some(Ok(ClientItem::DataEnd { size })) => found.push(format!("end of {size}")),
//!         Some(other) => panic!("{other:?}"),
//!         None if consumed == 0 => break, // more input is needed
//!         None => {}
//!     }
//!     input = &input[consumed..];
//! }
//! assert_eq!(found, ["DATA", ".a\r\n", "end of 4", "QUIT"]);
//! ```

mod client;
mod server;

pub use client::{ClientDecoder, ClientItem};
pub use server::{ServerDecoder, ServerItem};

use crate::DecodeError;

/// What one call to a decoder's `decode` did ([`sansmail_core::transcript::Step`]).
pub type Step<I> = sansmail_core::transcript::Step<I, TranscriptErrorKind>;

/// A message that does not decode, and where it starts
/// ([`sansmail_core::transcript::TranscriptError`]).
pub type TranscriptError = sansmail_core::transcript::TranscriptError<TranscriptErrorKind>;

/// What is wrong with a message of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptErrorKind {
    /// A command, SASL or reply line that does not frame or parse.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A SASL line that passes the grammar's `base64` but is not canonical base64.
    #[error("invalid base64")]
    InvalidBase64,
    /// The input ends inside a command or SASL line.
    #[error("input ends inside a line (no CRLF)")]
    UnterminatedLine,
    /// The first line of a reply does not start with a reply code.
    #[error("expected a reply code")]
    NotAReply,
    /// The input ends inside a reply.
    #[error("input ends inside a reply")]
    UnterminatedReply,
    /// Message data after DATA holds a CR or LF that is not part of a CRLF (RFC 5321 §2.3.8).
    #[error("bare CR or LF in message data")]
    BareLineEndingInData,
    /// Message data after DATA is larger than the limit.
    #[error("message data larger than {max} octets")]
    DataTooLarge {
        /// The limit, in octets after unstuffing.
        max: u64,
    },
    /// A line of message data after DATA is longer than the limit (RFC 5321 §4.5.3.1.6).
    #[error("message data line longer than {max} octets")]
    DataLineTooLong {
        /// The limit, CRLF included.
        max: usize,
    },
    /// The input ends before the data's `CRLF.CRLF`.
    #[error("input ends before the end of the data (CRLF.CRLF)")]
    UnterminatedData,
    /// The input ends inside a BDAT chunk.
    #[error("input ends after {received} of {size} BDAT octets")]
    UnterminatedChunk {
        /// Octets of the chunk that arrived.
        received: u64,
        /// Octets the BDAT command announced.
        size: u64,
    },
}

/// Drops input through the next LF: the rest of an overlong line that was reported before its
/// end arrived. Returns the octets dropped and whether the LF was among them.
fn skip_line(input: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', input) {
        Some(lf) => (lf + 1, true),
        None => (input.len(), false),
    }
}
