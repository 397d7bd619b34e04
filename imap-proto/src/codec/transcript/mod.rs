//! Decoding one direction of an IMAP session from its bytes alone: a capture, an archive, the
//! traffic a proxy relays, a fuzzer's input.
//!
//! [`ClientDecoder`] reads what a client sends: commands, each with its literals (`{n}`,
//! `{n+}`, `~{n}`) as the [framer](super::frame) delimits them; the `DONE` line after `IDLE`;
//! and the SASL lines after `AUTHENTICATE`. [`ServerDecoder`] reads what a server sends:
//! responses with their literals, the greeting among them.
//!
//! Neither takes part in the session, so what follows a command is decided from the command
//! alone: a synchronizing literal's octets follow its line (a client sends them only after the
//! server's `+`, so in a transcript of the client's side they are there), and an
//! `AUTHENTICATE` exchange takes one line, or two for `LOGIN` (the server's challenges, which
//! would say, are in the other direction). A message is decoded once the framer has found its
//! end, so a literal is held whole, up to the framer's limits.
//!
//! Both decoders are fed the input not consumed yet, with whether more may follow, and return
//! one [`Step`] at a time: how many octets they are done with, and what they found, if
//! anything: an item or a [`TranscriptError`] saying where the bad message started and why.
//! After an error they resynchronise: a bad message is skipped whole, an overlong line through
//! its LF (reported once however it arrives). They resume where they stopped, so input that
//! trickles in one octet at a time is scanned once.
//!
//! ```
//! use sansmail_imap::codec::transcript::{ClientDecoder, ClientItem};
//!
//! let stream = b"a1 LOGIN {3}\r\nbob {2+}\r\npw\r\na2 IDLE\r\nDONE\r\n";
//! let mut decoder = ClientDecoder::default();
//! let (mut pos, mut found) = (0, Vec::new());
//! loop {
//!     let step = decoder.decode(&stream[pos..], false);
//!     pos += step.consumed;
//!     match step.found {
//!         Some(Ok(ClientItem::Command(c))) => found.push(c.body.name()),
//!         Some(Ok(ClientItem::IdleDone)) => found.push("DONE"),
//!         Some(other) => panic!("{other:?}"),
//!         None if pos == stream.len() => break,
//!         None => {}
//!     }
//! }
//! assert_eq!(found, ["LOGIN", "IDLE", "DONE"]);
//! ```

mod client;
mod server;

pub use client::{ClientDecoder, ClientItem};
pub use server::{ServerDecoder, ServerItem};

use super::{DecodeError, SyntaxError, frame::FrameError};

/// What one call to a decoder's `decode` did ([`sansmail_core::transcript::Step`]).
pub type Step<I> = sansmail_core::transcript::Step<I, TranscriptErrorKind>;

/// A message that does not decode, and where it starts
/// ([`sansmail_core::transcript::TranscriptError`]).
pub type TranscriptError = sansmail_core::transcript::TranscriptError<TranscriptErrorKind>;

/// What is wrong with a message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptErrorKind {
    /// A message that cannot be framed: too long, a literal or message over the limits, a
    /// bare LF.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A command, response, `DONE` or SASL line that does not parse.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// The input ends inside a line.
    #[error("input ends inside a line (no CRLF)")]
    UnterminatedLine,
    /// The input ends inside a literal, or inside the line after one.
    #[error("input ends inside a literal or the line after it")]
    UnterminatedLiteral,
}

/// What a decode error that is not about missing input says about the message.
fn invalid(e: DecodeError, input: &[u8]) -> TranscriptErrorKind {
    match e {
        DecodeError::Frame { error, .. } => TranscriptErrorKind::Frame(error),
        DecodeError::Syntax { error, .. } => TranscriptErrorKind::Syntax(error),
        // Missing input, which callers handle before: said as such.
        _ => truncated(input),
    }
}

/// Why input that ends inside a message is refused.
fn truncated(input: &[u8]) -> TranscriptErrorKind {
    if memchr::memchr(b'\n', input).is_none() {
        TranscriptErrorKind::UnterminatedLine
    } else {
        // The framer wants more after a complete line only when that line announced a
        // literal.
        TranscriptErrorKind::UnterminatedLiteral
    }
}

/// Whether dropping `skip` octets of `input` leaves the rest of a line (an overlong line
/// reported before its end arrived).
fn is_mid_line(input: &[u8], skip: usize) -> bool {
    skip > 0 && input.get(skip - 1) != Some(&b'\n')
}

/// Drops input through the next LF: the rest of an overlong line that was reported before its
/// end arrived. Returns the octets dropped and whether the LF was among them.
fn skip_line(input: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', input) {
        Some(lf) => (lf + 1, true),
        None => (input.len(), false),
    }
}
