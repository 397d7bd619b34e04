//! What the protocol crates' transcript decoders (`codec::transcript` in each) return: one
//! step at a time over one direction of a session's bytes, each a typed item or an error
//! that says where its message starts. Each crate names its own item and error kinds.

use std::fmt;

/// What one call to a decoder's `decode` did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Step<I, K> {
    /// Octets at the start of the input the decoder is done with: drop them before the next
    /// call.
    pub consumed: usize,
    /// What was found. `None` with nothing consumed: more input is needed (or, when none
    /// follows, everything has been decoded).
    pub found: Option<Result<I, TranscriptError<K>>>,
}

impl<I, K> Step<I, K> {
    /// Whether the decoder can go no further without more input.
    pub fn needs_input(&self) -> bool {
        self.consumed == 0 && self.found.is_none()
    }

    /// Nothing found; `consumed` octets used.
    pub const fn more(consumed: usize) -> Self {
        Self {
            consumed,
            found: None,
        }
    }

    /// `item` found in `consumed` octets.
    pub const fn item(consumed: usize, item: I) -> Self {
        Self {
            consumed,
            found: Some(Ok(item)),
        }
    }

    /// A message starting at `at` in the stream is wrong in the way `kind` says; skip
    /// `consumed` octets.
    pub fn error(consumed: usize, at: u64, kind: impl Into<K>) -> Self {
        Self {
            consumed,
            found: Some(Err(TranscriptError {
                at,
                kind: kind.into(),
            })),
        }
    }
}

/// A message that does not decode, and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscriptError<K> {
    /// Offset of the start of the message in the whole stream.
    pub at: u64,
    /// What is wrong with it.
    pub kind: K,
}

impl<K: fmt::Display> fmt::Display for TranscriptError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.kind)
    }
}

impl<K: std::error::Error + 'static> std::error::Error for TranscriptError<K> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}
