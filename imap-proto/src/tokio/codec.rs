//! tokio-util `Decoder`/`Encoder` adapters, for framing a stream without the session layer.
//!
//! [`ServerCodec`] reads commands and writes responses; [`ClientCodec`] reads responses and
//! writes commands. They frame and parse with the same limits as the sessions and leave every
//! protocol rule to the caller. A synchronizing literal is reported as
//! [`Inbound::LiteralAnnounced`]: write a continuation request (or a refusal) and keep reading.
//! [`ClientCodec`] writes a command whole, so use it with servers that advertise LITERAL+ or
//! with commands without synchronizing literals; the client session handles the rest.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    codec::{
        CommandError, CommandOptions, EncodeBuf, ResponseDecoder, ResponseError, ResponseOptions,
        encode_command, encode_response,
        frame::{FrameError, FrameLimits, Framed, Framer, Side},
        parse_command,
    },
    types::{command::Command, core::Tag, response::Response},
};

/// Errors of the adapters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A message could not be framed; it has been skipped.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A command did not parse; it has been skipped.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A response did not parse; it has been skipped.
    #[error(transparent)]
    Response(#[from] ResponseError),
}

/// What a server reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inbound {
    /// A complete command.
    Command(Command<'static>),
    /// A synchronizing literal was announced: answer `+` to receive it.
    LiteralAnnounced {
        /// The command's tag, if readable.
        tag: Option<Tag<'static>>,
        /// Its size.
        len: u64,
    },
}

/// Decodes commands; encodes responses.
#[derive(Debug)]
pub struct ServerCodec {
    framer: Framer,
    commands: CommandOptions,
    responses: ResponseOptions,
}

impl ServerCodec {
    /// A codec with these limits and options.
    pub fn new(limits: FrameLimits, commands: CommandOptions, responses: ResponseOptions) -> Self {
        Self {
            framer: Framer::new(Side::Server, limits),
            commands,
            responses,
        }
    }
}

impl Default for ServerCodec {
    fn default() -> Self {
        Self::new(
            FrameLimits::default(),
            CommandOptions::default(),
            ResponseOptions::default(),
        )
    }
}

impl Decoder for ServerCodec {
    type Item = Inbound;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, CodecError> {
        match self.framer.next(src) {
            Framed::Incomplete => Ok(None),
            Framed::LiteralAnnounced { len, line_end } => {
                if (src.len() - line_end) as u64 >= len {
                    // The octets are already here: keep framing.
                    return self.decode(src);
                }
                let tag = crate::codec::core::tag(src)
                    .ok()
                    .map(|(_, t)| t.into_owned());
                Ok(Some(Inbound::LiteralAnnounced { tag, len }))
            }
            Framed::Invalid { error, skip } => {
                self.framer.reset();
                src.advance(skip.min(src.len()));
                Err(error.into())
            }
            Framed::Complete { len } => {
                self.framer.reset();
                let parsed = parse_command(&src[..len], &self.commands).map(Command::into_owned);
                src.advance(len);
                Ok(Some(Inbound::Command(parsed?)))
            }
        }
    }
}

impl Encoder<&Response<'_>> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, response: &Response<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = EncodeBuf::new();
        encode_response(response, &self.responses, &mut buf);
        dst.extend_from_slice(&buf.bytes);
        Ok(())
    }
}

/// Decodes responses; encodes commands.
#[derive(Debug)]
pub struct ClientCodec {
    decoder: ResponseDecoder,
    commands: CommandOptions,
}

impl ClientCodec {
    /// A codec with these options.
    pub fn new(responses: ResponseOptions, commands: CommandOptions) -> Self {
        Self {
            decoder: ResponseDecoder::new(responses),
            commands,
        }
    }
}

impl Default for ClientCodec {
    fn default() -> Self {
        Self::new(ResponseOptions::default(), CommandOptions::default())
    }
}

impl Decoder for ClientCodec {
    type Item = Response<'static>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Response<'static>>, CodecError> {
        let (used, response) = match self.decoder.decode(src) {
            Ok((used, r)) => (used, r.into_owned()),
            Err(ResponseError::Incomplete) => return Ok(None),
            Err(e) => {
                src.advance(e.skip().clamp(1, src.len().max(1)).min(src.len()));
                return Err(e.into());
            }
        };
        src.advance(used);
        Ok(Some(response))
    }
}

impl Encoder<&Command<'_>> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, command: &Command<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = EncodeBuf::new();
        encode_command(command, &self.commands, &mut buf);
        dst.extend_from_slice(&buf.bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::command::CommandBody;

    #[test]
    fn server_codec_reports_literals_and_frames_commands() {
        let mut codec = ServerCodec::default();
        let mut src = BytesMut::from(&b"a1 NOOP\r\na2 APPEND INBOX {5}\r\n"[..]);
        let Some(Inbound::Command(c)) = codec.decode(&mut src).unwrap() else {
            panic!()
        };
        assert_eq!(c.body, CommandBody::Noop);
        let Some(Inbound::LiteralAnnounced { tag, len }) = codec.decode(&mut src).unwrap() else {
            panic!()
        };
        assert_eq!((tag.unwrap().as_str(), len), ("a2", 5));
        src.extend_from_slice(b"hello\r\n");
        assert!(
            matches!(codec.decode(&mut src).unwrap(), Some(Inbound::Command(c)) if c.body.name() == "APPEND")
        );
        assert!(src.is_empty());
    }

    #[test]
    fn client_codec_reads_responses_and_resynchronizes() {
        let mut codec = ClientCodec::default();
        let mut src = BytesMut::from(&b"* 3 EXISTS\r\n\x01garbage\r\na1 OK done\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(Response::Data(_))
        ));
        assert!(codec.decode(&mut src).is_err());
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(Response::Status(_))
        ));
    }
}
