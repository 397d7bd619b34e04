//! tokio-util `Decoder`/`Encoder` adapters, for framing a stream without the session layer.
//!
//! [`ServerCodec`] reads commands (and, when told, message data) and writes replies;
//! [`ClientCodec`] reads replies and writes commands. They apply the same framing and limits
//! as the sessions, but leave every protocol rule to the caller. [`ClientCodec`] reads with
//! a [`transcript::ServerDecoder`], so a reply that trickles in is scanned once and a bad one
//! is skipped whole. [`ServerCodec`] is told what follows a command rather than deciding it
//! from the command, as the server decides on `354`, so it frames with the codec's parts.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    DecodeError, Limits,
    codec::{
        self, DataEnd, DataReceiver, EncodeError, ReplyLimits,
        line::Frame,
        transcript::{self, ServerItem, TranscriptError, TranscriptErrorKind},
    },
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
    /// A reply that is not one (its first line has no reply code), or that the end of the
    /// stream cut short; it has been skipped.
    #[error(transparent)]
    Transcript(TranscriptError),
}

impl From<TranscriptError> for CodecError {
    fn from(e: TranscriptError) -> Self {
        match e.kind {
            TranscriptErrorKind::Decode(e) => Self::Decode(e),
            _ => Self::Transcript(e),
        }
    }
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
    /// Dropping the rest of an overlong command line, already reported: its tail is no
    /// command.
    skip_line: bool,
}

impl ServerCodec {
    /// A codec with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            mode: Mode::Commands,
            pending_end: None,
            skip_line: false,
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
                if self.skip_line {
                    let Some(lf) = memchr::memchr(b'\n', src) else {
                        src.clear();
                        return Ok(None);
                    };
                    src.advance(lf + 1);
                    self.skip_line = false;
                }
                let max = codec::command_line_limit(src, &self.limits);
                match codec::line::find_line(src, max, 0) {
                    Frame::Partial => Ok(None),
                    Frame::TooLongSoFar => {
                        src.clear();
                        self.skip_line = true;
                        Err(DecodeError::LineTooLong { max }.into())
                    }
                    Frame::Invalid { error, consumed } => {
                        let error = DecodeError::from(error);
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
    replies: transcript::ServerDecoder,
}

impl ClientCodec {
    /// A codec with these reply limits.
    pub fn new(limits: ReplyLimits) -> Self {
        Self {
            replies: transcript::ServerDecoder::new(limits),
        }
    }
}

impl ClientCodec {
    /// The next reply in `src`; `more_follows` is `false` at the end of the stream, where a
    /// reply cut short is an error.
    fn next_reply(
        &mut self,
        src: &mut BytesMut,
        more_follows: bool,
    ) -> Result<Option<Reply<'static>>, CodecError> {
        loop {
            let step = self.replies.decode(src, more_follows);
            let consumed = step.consumed;
            let found = step
                .found
                .map(|found| found.map(|ServerItem::Reply(r)| r.into_owned()));
            src.advance(consumed);
            match found {
                Some(Ok(reply)) => return Ok(Some(reply)),
                Some(Err(e)) => return Err(e.into()),
                None if consumed == 0 => return Ok(None),
                // The rest of a reply already reported, dropped.
                None => {}
            }
        }
    }
}

impl Decoder for ClientCodec {
    type Item = Reply<'static>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Reply<'static>>, CodecError> {
        self.next_reply(src, true)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Reply<'static>>, CodecError> {
        self.next_reply(src, false)
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
    fn server_codec_drops_the_tail_of_an_overlong_line() {
        let mut codec = ServerCodec::new(Limits::default());
        // Past the 512-octet limit, the line goes on with what looks like a command.
        let mut src = BytesMut::from(&[b'x'; 600][..]);
        assert!(matches!(
            codec.decode(&mut src),
            Err(CodecError::Decode(DecodeError::LineTooLong { max: 512 }))
        ));
        src.extend_from_slice(b"RCPT TO:<a@b.example>\r\nQUIT\r\n");
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

    #[test]
    fn client_codec_skips_a_bad_reply_whole() {
        let mut codec = ClientCodec::default();
        // The second line of the first reply is no reply of its own.
        let mut src = BytesMut::from(&b"250-a\r\n251 b\r\n221 bye\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut src),
            Err(CodecError::Decode(DecodeError::Syntax { .. }))
        ));
        assert_eq!(
            codec.decode(&mut src).unwrap().map(|r| r.code().get()),
            Some(221)
        );
        // An overlong line, trickling in, is one error; its end is not taken for a reply.
        let mut src = BytesMut::new();
        let (mut errors, mut replies) = (0, Vec::new());
        for &b in &[&[b'2'; 5000][..], b"\r\n250 ok\r\n"].concat() {
            src.extend_from_slice(&[b]);
            match codec.decode(&mut src) {
                Err(CodecError::Decode(DecodeError::LineTooLong { .. })) => errors += 1,
                Ok(Some(reply)) => replies.push(reply.code().get()),
                other => assert!(matches!(other, Ok(None)), "{other:?}"),
            }
        }
        assert_eq!((errors, replies), (1, vec![250]));
        // At the end of the stream, a reply cut short is an error, not leftover bytes.
        let mut src = BytesMut::from(&b"250-more to come\r\n"[..]);
        assert_eq!(codec.decode(&mut src).unwrap(), None);
        assert!(matches!(
            codec.decode_eof(&mut src),
            Err(CodecError::Transcript(e)) if e.kind == TranscriptErrorKind::UnterminatedReply
        ));
        assert_eq!(codec.decode_eof(&mut src).unwrap(), None);
    }
}
