//! tokio-util `Decoder`/`Encoder` adapters, for framing a stream without the session layer.
//!
//! [`ServerCodec`] reads commands and writes responses; [`ClientCodec`] reads responses and
//! writes commands. They frame and parse with the same limits as the sessions and leave every
//! protocol rule to the caller. A synchronizing literal is reported as
//! [`Inbound::LiteralAnnounced`]: write a continuation request (or a refusal) and keep reading.
//! [`ClientCodec`] writes a command whole, so use it with servers that advertise LITERAL+ or
//! with commands without synchronizing literals; the client session handles the rest. It reads
//! with a [`transcript::ServerDecoder`]. [`ServerCodec`] reports synchronizing literals
//! instead of expecting their octets, so it frames with the codec's [`Framer`].

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    codec::{
        CommandOptions, EncodeBuf, ResponseOptions, SyntaxError, encode_command, encode_response,
        frame::{FrameError, FrameLimits, Framed, Framer, Side},
        parse_command,
        transcript::{self, ServerItem, TranscriptError, TranscriptErrorKind},
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
    /// A command or response did not parse; it has been skipped.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// The end of the stream cut a response short.
    #[error(transparent)]
    Transcript(TranscriptError),
}

impl From<TranscriptError> for CodecError {
    fn from(e: TranscriptError) -> Self {
        match e.kind {
            TranscriptErrorKind::Frame(e) => Self::Frame(e),
            TranscriptErrorKind::Syntax(e) => Self::Syntax(e),
            _ => Self::Transcript(e),
        }
    }
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
    /// Dropping the rest of an overlong line, already reported: its tail is no command.
    skip_line: bool,
}

impl ServerCodec {
    /// A codec with these limits and options.
    pub fn new(limits: FrameLimits, commands: CommandOptions, responses: ResponseOptions) -> Self {
        Self {
            framer: Framer::new(Side::Server, limits),
            commands,
            responses,
            skip_line: false,
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
        if self.skip_line {
            let Some(lf) = memchr::memchr(b'\n', src) else {
                src.clear();
                return Ok(None);
            };
            src.advance(lf + 1);
            self.skip_line = false;
        }
        match self.framer.next(src) {
            Framed::Incomplete => Ok(None),
            Framed::LiteralAnnounced { len, line_end } => {
                if (src.len() - line_end) as u64 >= len {
                    // The octets are already here: keep framing.
                    return self.decode(src);
                }
                let tag = crate::codec::core::whole_tag(src).map(Tag::into_owned);
                Ok(Some(Inbound::LiteralAnnounced { tag, len }))
            }
            Framed::Invalid { error, skip } => {
                self.framer.reset();
                let skip = skip.min(src.len());
                // An overlong line reported before its end arrived.
                self.skip_line = skip > 0 && src[skip - 1] != b'\n';
                src.advance(skip);
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
    responses: transcript::ServerDecoder,
    commands: CommandOptions,
}

impl ClientCodec {
    /// A codec with these options.
    pub fn new(responses: ResponseOptions, commands: CommandOptions) -> Self {
        Self {
            responses: transcript::ServerDecoder::new(responses),
            commands,
        }
    }

    /// The next response in `src`; `more_follows` is `false` at the end of the stream, where
    /// a response cut short is an error.
    fn next_response(
        &mut self,
        src: &mut BytesMut,
        more_follows: bool,
    ) -> Result<Option<Response<'static>>, CodecError> {
        loop {
            let step = self.responses.decode(src, more_follows);
            let consumed = step.consumed;
            let found = step
                .found
                .map(|found| found.map(|ServerItem::Response(r)| r.into_owned()));
            src.advance(consumed);
            match found {
                Some(Ok(response)) => return Ok(Some(response)),
                Some(Err(e)) => return Err(e.into()),
                None if consumed == 0 => return Ok(None),
                // The rest of an overlong line already reported, dropped.
                None => {}
            }
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
        self.next_response(src, true)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Response<'static>>, CodecError> {
        self.next_response(src, false)
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
    fn server_codec_drops_the_tail_of_an_overlong_line() {
        let limits = FrameLimits {
            max_line: 100,
            ..FrameLimits::default()
        };
        let mut codec = ServerCodec::new(
            limits,
            CommandOptions::default(),
            ResponseOptions::default(),
        );
        // Past the limit, the line goes on with what looks like a command.
        let mut src = BytesMut::from(&[b'x'; 200][..]);
        assert!(matches!(
            codec.decode(&mut src),
            Err(CodecError::Frame(FrameError::LineTooLong { max: 100 }))
        ));
        src.extend_from_slice(b" a1 DELETE INBOX\r\na2 NOOP\r\n");
        let Some(Inbound::Command(c)) = codec.decode(&mut src).unwrap() else {
            panic!()
        };
        assert_eq!((c.tag.as_str(), c.body), ("a2", CommandBody::Noop));
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

    #[test]
    fn client_codec_skips_an_overlong_line_whole() {
        let limits = FrameLimits {
            max_line: 100,
            ..FrameLimits::default()
        };
        let responses = ResponseOptions {
            limits,
            ..ResponseOptions::default()
        };
        let mut codec = ClientCodec::new(responses, CommandOptions::default());
        let stream = [
            &b"* OK "[..],
            &[b'x'; 300],
            b" a1 OK done\r\n",
            b"a2 OK done\r\n",
        ]
        .concat();
        let (mut src, mut errors, mut tags) = (BytesMut::new(), 0, Vec::new());
        for chunk in stream.chunks(7) {
            src.extend_from_slice(chunk);
            loop {
                match codec.decode(&mut src) {
                    Err(CodecError::Frame(_)) => errors += 1,
                    Ok(Some(Response::Status(s))) => tags.push(s.tag.map(|t| t.to_string())),
                    Ok(None) => break,
                    other => panic!("{other:?}"),
                }
            }
        }
        // The tail of the long line is not taken for a response.
        assert_eq!((errors, tags), (1, vec![Some("a2".to_string())]));
        let mut src = BytesMut::from(&b"* 1 FETCH (BODY[] {5}\r\nab"[..]);
        assert_eq!(codec.decode(&mut src).unwrap(), None);
        assert!(matches!(
            codec.decode_eof(&mut src),
            Err(CodecError::Transcript(_))
        ));
    }
}
