//! tokio-util `Decoder`/`Encoder` adapters, for framing a stream without the session layer.
//!
//! [`ServerCodec`] reads commands (and, when told, message data) and writes replies;
//! [`ClientCodec`] reads replies and writes commands. They apply the same framing and limits
//! as the sessions, but leave every protocol rule to the caller.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    DecodeError, Limits,
    codec::{self, DataEnd, DataReceiver, EncodeError, ReplyLimits, line::Frame},
    types::{command::Command, reply::Reply},
};

/// Errors of the adapters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The peer sent something that does not decode; the offending line has been skipped.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A value could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// What a server reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inbound {
    /// A command.
    Command(Command<'static>),
    /// Message data (unstuffed after DATA, raw for BDAT).
    Data(Vec<u8>),
    /// The end of the message data.
    DataEnd(DataEnd),
}

#[derive(Debug)]
enum Mode {
    Commands,
    Data(DataReceiver),
    Chunk(u64),
}

/// Decodes commands and message data; encodes replies.
#[derive(Debug)]
pub struct ServerCodec {
    limits: Limits,
    mode: Mode,
    pending_end: Option<DataEnd>,
}

impl ServerCodec {
    /// A codec with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            mode: Mode::Commands,
            pending_end: None,
        }
    }

    /// After a `354`: read dot-stuffed data up to `CRLF.CRLF`.
    pub fn expect_data(&mut self, bare_line_endings: codec::BareLineEndings) {
        self.mode = Mode::Data(DataReceiver::new(
            bare_line_endings,
            self.limits.max_message_size,
            self.limits.max_text_line,
        ));
    }

    /// After `BDAT n`: read `n` raw octets.
    pub fn expect_chunk(&mut self, size: u64) {
        self.mode = Mode::Chunk(size);
    }
}

impl Decoder for ServerCodec {
    type Item = Inbound;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, CodecError> {
        match &mut self.mode {
            Mode::Data(rx) => {
                let mut out = Vec::new();
                let (used, end) = rx.decode(src, &mut out);
                src.advance(used);
                if let Some(end) = end {
                    if out.is_empty() {
                        self.mode = Mode::Commands;
                        return Ok(Some(Inbound::DataEnd(end)));
                    }
                    // Report the data now and the end on the next call.
                    self.mode = Mode::Chunk(0);
                    self.pending_end = Some(end);
                }
                Ok((!out.is_empty()).then_some(Inbound::Data(out)))
            }
            Mode::Chunk(remaining) => {
                if *remaining == 0 {
                    self.mode = Mode::Commands;
                    return match self.pending_end.take() {
                        Some(end) => Ok(Some(Inbound::DataEnd(end))),
                        None => self.decode(src),
                    };
                }
                let n = usize::try_from(*remaining).map_or(src.len(), |r| r.min(src.len()));
                if n == 0 {
                    return Ok(None);
                }
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.mode = Mode::Commands;
                }
                Ok(Some(Inbound::Data(src.split_to(n).to_vec())))
            }
            Mode::Commands => {
                let max = codec::command_line_limit(src, &self.limits);
                match codec::line::find_line(src, max, 0) {
                    Frame::Partial => Ok(None),
                    Frame::TooLongSoFar => {
                        src.clear();
                        Err(DecodeError::LineTooLong { max }.into())
                    }
                    Frame::Invalid { error, consumed } => {
                        src.advance(consumed);
                        Err(error.into())
                    }
                    Frame::Line { len, consumed } => {
                        let parsed =
                            codec::parse_command_line(&src[..len]).map(Command::into_owned);
                        src.advance(consumed);
                        Ok(Some(Inbound::Command(parsed?)))
                    }
                }
            }
        }
    }
}

impl Encoder<&Reply<'_>> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, reply: &Reply<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = Vec::new();
        codec::encode_reply(reply, &mut buf);
        dst.extend_from_slice(&buf);
        Ok(())
    }
}

/// Decodes replies; encodes commands.
#[derive(Debug, Default)]
pub struct ClientCodec {
    limits: ReplyLimits,
}

impl ClientCodec {
    /// A codec with these reply limits.
    pub fn new(limits: ReplyLimits) -> Self {
        Self { limits }
    }
}

impl Decoder for ClientCodec {
    type Item = Reply<'static>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reply<'static>>, CodecError> {
        let (used, reply) = match codec::decode_reply_with(src, self.limits) {
            Ok((rest, reply)) => (src.len() - rest.len(), reply.into_owned()),
            Err(DecodeError::Incomplete) => return Ok(None),
            Err(e) => {
                // Resynchronize after the offending line.
                let skip = memchr::memchr(b'\n', src).map_or(src.len(), |i| i + 1);
                src.advance(skip);
                return Err(e.into());
            }
        };
        src.advance(used);
        Ok(Some(reply))
    }
}

impl Encoder<&Command<'_>> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, command: &Command<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = Vec::new();
        codec::encode_command(command, &mut buf)?;
        dst.extend_from_slice(&buf);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codec_frames_commands_and_data() {
        let mut codec = ServerCodec::new(Limits::default());
        let mut src =
            BytesMut::from(&b"MAIL FROM:<a@b.c>\r\nDATA\r\nhi\r\n..x\r\n.\r\nQUIT\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(Inbound::Command(Command::Mail { .. }))
        ));
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(Inbound::Command(Command::Data))
        );
        codec.expect_data(codec::BareLineEndings::Reject);
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(Inbound::Data(b"hi\r\n.x\r\n".to_vec()))
        );
        assert!(
            matches!(codec.decode(&mut src).unwrap(), Some(Inbound::DataEnd(e)) if e.size == 8)
        );
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(Inbound::Command(Command::Quit))
        );
        assert_eq!(codec.decode(&mut src).unwrap(), None);
        let mut src = BytesMut::from(&b"BDAT 0 LAST\r\nQUIT\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(Inbound::Command(Command::Bdat {
                size: 0,
                last: true
            }))
        ));
        codec.expect_chunk(0);
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(Inbound::Command(Command::Quit))
        );
    }

    #[test]
    fn client_codec_reads_multiline_replies() {
        let mut codec = ClientCodec::default();
        let mut src = BytesMut::from(&b"250-a\r\n250 b\r\n354 go\r\n"[..]);
        assert_eq!(
            codec.decode(&mut src).unwrap().map(|r| r.lines().len()),
            Some(2)
        );
        assert_eq!(
            codec.decode(&mut src).unwrap().map(|r| r.code().get()),
            Some(354)
        );
        assert!(codec.decode(&mut src).unwrap().is_none());
        let mut bad = BytesMut::from(&b"hello\r\n220 ok\r\n"[..]);
        assert!(codec.decode(&mut bad).is_err());
        assert_eq!(
            codec.decode(&mut bad).unwrap().map(|r| r.code().get()),
            Some(220)
        );
    }
}
