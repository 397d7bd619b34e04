//! Decoding one direction of a POP3 session from its bytes alone: a capture, an archive, the
//! traffic a proxy relays, a fuzzer's input.
//!
//! [`ClientDecoder`] reads what a client sends: command lines, and the SASL lines after
//! `AUTH`. [`ServerDecoder`] reads what a server sends: the greeting, then one reply per
//! command. Whether a `+OK` starts a multi-line body depends on the command it answers
//! ([`Command::response_kind`](crate::Command::response_kind)), so the server's stream is
//! decoded together with the client's, which [`ServerDecoder::new`] takes whole: a SASL line
//! of the client's answers each `+ ` challenge, and the answer to `QUIT` is followed by a new
//! greeting (streams that hold several sessions back to back). A multi-line body comes in
//! pieces as it arrives: message content (RETR, TOP) unstuffed, and the lines of CAPA, LIST,
//! UIDL and LANG listings parsed one by one.
//!
//! The client decoder does not take part in the session either: an `AUTH` exchange is taken to
//! be one line, or two for `LOGIN` (the server's challenges, which would say, are in the other
//! direction).
//!
//! Both decoders are fed the input not consumed yet, with whether more may follow, and return
//! one [`Step`] at a time: how many octets they are done with, and what they found, if
//! anything: an item or a [`TranscriptError`] saying where the bad message started and why.
//! After an error they resynchronise: a bad line is skipped through its LF (an overlong one
//! too, reported once however it arrives), a multi-line reply whose first line or body is bad
//! through its end. They resume where they stopped, so input that trickles in one octet at a
//! time is scanned once.
//!
//! ```
//! use sansmail_pop3::codec::transcript::{ServerDecoder, ServerItem};
//!
//! let client = b"LIST\r\nQUIT\r\n".to_vec();
//! let server = b"+OK hi\r\n+OK\r\n1 120\r\n.\r\n+OK bye\r\n";
//! let mut decoder = ServerDecoder::new(client, Default::default());
//! let (mut pos, mut found) = (0, Vec::new());
//! loop {
//!     let step = decoder.decode(&server[pos..], false);
//!     pos += step.consumed;
//!     match step.found {
//!         Some(Ok(ServerItem::Response(r) | ServerItem::MultiLineStart(r))) => {
//!             found.push(r.text().unwrap_or_default().to_string());
//!         }
//!         Some(Ok(ServerItem::ScanListing(l))) => found.push(format!("{} is {}", l.msg, l.size)),
//!         Some(Ok(ServerItem::MultiLineEnd)) => found.push(".".into()),
//!         Some(other) => panic!("{other:?}"),
//!         None if pos == server.len() => break,
//!         None => {}
//!     }
//! }
//! assert_eq!(found, ["hi", "", "1 is 120", ".", "bye"]);
//! ```

mod client;
mod server;

pub use client::{ClientDecoder, ClientItem};
pub use server::{ServerDecoder, ServerItem};

use super::SaslLine;
use crate::{
    DecodeError,
    types::sasl::{Secret, base64_decode},
};

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
    /// The input ends inside a line.
    #[error("input ends inside a line (no CRLF)")]
    UnterminatedLine,
    /// A reply after the client stream's last command was answered.
    #[error("a reply without a command: the client stream has ended")]
    ReplyWithoutCommand,
    /// Message content holds a CR or LF that is not part of a CRLF.
    #[error("bare CR or LF in message content")]
    BareLineEndingInContent,
    /// A line of a CAPA, LIST, UIDL or LANG listing that does not parse.
    #[error("{command} line {line}: {error}")]
    Listing {
        /// The command whose answer it is.
        command: &'static str,
        /// Which line of the body, from 1.
        line: usize,
        /// What is wrong with it.
        error: DecodeError,
    },
    /// The input ends inside a multi-line body.
    #[error("input ends inside a multi-line response (no '.' line)")]
    UnterminatedBody,
}

/// `base64 / "*"` (RFC 5034 §4), decoded: `None` for `*`.
fn sasl_line(line: &[u8]) -> Result<Option<Secret<Vec<u8>>>, TranscriptErrorKind> {
    match super::parse_sasl_line(line)? {
        SaslLine::Cancel => Ok(None),
        SaslLine::Response(b64) => base64_decode(b64.expose())
            .map(|data| Some(Secret::new(data)))
            .ok_or(TranscriptErrorKind::InvalidBase64),
    }
}

/// Drops input through the next LF: the rest of an overlong line that was reported before its
/// end arrived. Returns the octets dropped and whether the LF was among them.
fn skip_line(input: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', input) {
        Some(lf) => (lf + 1, true),
        None => (input.len(), false),
    }
}
