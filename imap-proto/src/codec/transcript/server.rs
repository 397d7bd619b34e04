//! What a server sends: responses with their literals.

use super::{Step, invalid, is_mid_line, skip_line, truncated};
use crate::{
    codec::{DecodeError, ResponseDecoder, ResponseOptions},
    types::response::Response,
};

/// What a [`ServerDecoder`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerItem<'a> {
    /// A response, its literals included. A greeting is one too: `* OK`, `* PREAUTH` or
    /// `* BYE`.
    Response(Response<'a>),
}

impl ServerItem<'_> {
    /// Whether the item completes a message: always, every item is one.
    pub fn ends_message(&self) -> bool {
        true
    }
}

/// Decodes what an IMAP server sends. See [the module](super).
#[derive(Debug)]
pub struct ServerDecoder {
    decoder: ResponseDecoder,
    /// Offset in the whole stream of the next octet to decode.
    offset: u64,
    /// Dropping the rest of an overlong line.
    skip_line: bool,
}

impl Default for ServerDecoder {
    fn default() -> Self {
        Self::new(ResponseOptions::default())
    }
}

impl ServerDecoder {
    /// A decoder parsing and framing with `opts`.
    pub fn new(opts: ResponseOptions) -> Self {
        Self {
            decoder: ResponseDecoder::new(opts),
            offset: 0,
            skip_line: false,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &ResponseOptions {
        self.decoder.options()
    }

    /// Octets consumed so far: the offset in the whole stream of the input's first octet on
    /// the next call.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Decodes from the start of `input`, the octets not consumed yet; `more_follows` is
    /// `false` once nothing will be appended to it (a message cut short is then an error).
    pub fn decode<'a>(&mut self, input: &'a [u8], more_follows: bool) -> Step<ServerItem<'a>> {
        let step = self.step(input, !more_follows);
        self.offset += step.consumed as u64;
        step
    }

    fn step<'a>(&mut self, input: &'a [u8], eof: bool) -> Step<ServerItem<'a>> {
        let at = self.offset;
        if self.skip_line {
            let (consumed, done) = skip_line(input);
            self.skip_line = !done;
            return Step::more(consumed);
        }
        if input.is_empty() {
            return Step::more(0);
        }
        match self.decoder.decode(input) {
            Ok((len, response)) => Step::item(len, ServerItem::Response(response)),
            Err(DecodeError::Incomplete) if eof => {
                // Nothing follows: start afresh rather than resume the framer.
                self.decoder = ResponseDecoder::new(*self.decoder.options());
                Step::error(input.len(), at, truncated(input))
            }
            Err(DecodeError::Incomplete) => Step::more(0),
            Err(e) => {
                let skip = e.skip();
                self.skip_line = is_mid_line(input, skip);
                Step::error(skip, at, invalid(e, input))
            }
        }
    }
}
