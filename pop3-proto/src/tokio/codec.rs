//! tokio-util `Decoder`/`Encoder` adapters, for framing a stream without the session layer.
//!
//! [`ServerCodec`] reads commands (and SASL lines, when told) and writes responses and
//! stuffed message content; [`ClientCodec`] writes commands and reads responses, knowing
//! from the commands it encoded which responses are multi-line, and hands message bodies
//! over in unstuffed chunks. They apply the same framing and limits as the sessions, but
//! leave every protocol rule to the caller.

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    DecodeError, Limits,
    codec::{self, EncodeError, MultiLineReceiver, SaslLine, Stuffer, line::Frame},
    types::{
        command::Command,
        response::{Continuation, Expect, Reply, Response},
    },
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
pub enum ServerInbound {
    /// A command.
    Command(Command<'static>),
    /// A line of a SASL exchange (after [`ServerCodec::expect_sasl_line`]).
    Sasl(SaslLine<'static>),
}

/// What a server writes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ServerOutbound<'a> {
    /// A single-line response, or the first line of a multi-line one.
    Response(&'a Response<'a>),
    /// A whole reply.
    Reply(&'a Reply<'a>),
    /// A SASL challenge.
    Continuation(&'a Continuation<'a>),
    /// A piece of multi-line content, stuffed on the way out.
    Content(&'a [u8]),
    /// The end of multi-line content: the terminating `.` CRLF.
    ContentEnd,
}

/// Decodes commands; encodes responses and content.
#[derive(Debug)]
pub struct ServerCodec {
    limits: Limits,
    sasl: bool,
    skipping: bool,
    stuffer: Stuffer,
}

impl ServerCodec {
    /// A codec with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            sasl: false,
            skipping: false,
            stuffer: Stuffer::new(),
        }
    }

    /// After a `+ ` challenge: read the next line as a SASL line.
    pub fn expect_sasl_line(&mut self) {
        self.sasl = true;
    }

    /// Limits TOP's content: the header and `lines` body lines of the next content.
    pub fn top(&mut self, lines: u64) {
        self.stuffer = Stuffer::top(lines);
    }
}

impl Decoder for ServerCodec {
    type Item = ServerInbound;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ServerInbound>, CodecError> {
        let max = if self.sasl {
            self.limits.max_sasl_line
        } else {
            self.limits.max_command_line
        };
        if self.skipping {
            match memchr::memchr(b'\n', src) {
                Some(lf) => {
                    src.advance(lf + 1);
                    self.skipping = false;
                    return Err(DecodeError::LineTooLong { max }.into());
                }
                None => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
        match codec::line::find_line(src, max, 0) {
            Frame::Partial => Ok(None),
            Frame::TooLongSoFar => {
                src.clear();
                self.skipping = true;
                Ok(None)
            }
            Frame::Invalid { error, consumed } => {
                let error = DecodeError::from(error);
                src.advance(consumed);
                self.sasl = false;
                Err(error.into())
            }
            Frame::Line { len, consumed } => {
                let line = &src[..len];
                let item = if self.sasl {
                    self.sasl = false;
                    codec::parse_sasl_line(line).map(|l| {
                        ServerInbound::Sasl(match l {
                            SaslLine::Cancel => SaslLine::Cancel,
                            SaslLine::Response(s) => SaslLine::Response(crate::Secret::new(
                                s.expose().to_string().into(),
                            )),
                        })
                    })
                } else {
                    codec::parse_command_line(line, &self.limits)
                        .map(|c| ServerInbound::Command(c.into_owned()))
                };
                src.advance(consumed);
                Ok(Some(item?))
            }
        }
    }
}

impl Encoder<ServerOutbound<'_>> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: ServerOutbound<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = Vec::new();
        match item {
            ServerOutbound::Response(r) => codec::encode_response(r, &mut buf),
            ServerOutbound::Reply(r) => codec::encode_reply(r, &mut buf),
            ServerOutbound::Continuation(c) => codec::encode_continuation(c, &mut buf),
            ServerOutbound::Content(data) => {
                self.stuffer.encode(data, &mut buf);
            }
            ServerOutbound::ContentEnd => self.stuffer.finish(&mut buf),
        }
        dst.extend_from_slice(&buf);
        Ok(())
    }
}

/// What a client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientInbound {
    /// A single-line response, or the first line of a multi-line one (whose body follows
    /// as `Data` and `End`).
    Response(Response<'static>),
    /// A SASL challenge.
    Continue(Continuation<'static>),
    /// A piece of a multi-line body, unstuffed.
    Data(Vec<u8>),
    /// The end of a multi-line body.
    End,
}

/// What a client writes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ClientOutbound<'a> {
    /// A command; the codec notes which response it expects.
    Command(&'a Command<'a>),
    /// A line of a SASL exchange: data (base64-encoded on the way) or `None` for `*`.
    Sasl(Option<&'a [u8]>),
}

/// Decodes responses; encodes commands. The greeting is expected first.
#[derive(Debug)]
pub struct ClientCodec {
    limits: Limits,
    expect: VecDeque<Expect>,
    body: Option<MultiLineReceiver>,
}

impl Default for ClientCodec {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ClientCodec {
    /// A codec with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            expect: VecDeque::from([Expect::SingleLine]),
            body: None,
        }
    }
}

impl Decoder for ClientCodec {
    type Item = ClientInbound;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ClientInbound>, CodecError> {
        if let Some(rx) = &mut self.body {
            let mut out = Vec::new();
            let (used, done) = rx.decode(src, &mut out);
            src.advance(used);
            if !out.is_empty() {
                return Ok(Some(ClientInbound::Data(out)));
            }
            if done {
                self.body = None;
                return Ok(Some(ClientInbound::End));
            }
            return Ok(None);
        }
        let expect = self.expect.front().copied().unwrap_or(Expect::SingleLine);
        let max = if expect == Expect::Sasl {
            self.limits.max_sasl_line.max(self.limits.max_response_line)
        } else {
            self.limits.max_response_line
        };
        let (len, consumed) = match codec::line::find_line(src, max, 0) {
            Frame::Partial => return Ok(None),
            Frame::TooLongSoFar => {
                src.clear();
                return Err(DecodeError::LineTooLong { max }.into());
            }
            Frame::Invalid { error, consumed } => {
                let error = DecodeError::from(error);
                src.advance(consumed);
                self.expect.pop_front();
                return Err(error.into());
            }
            Frame::Line { len, consumed } => (len, consumed),
        };
        let reply = codec::parse_reply_line(&src[..len], expect).map(Reply::into_owned);
        src.advance(consumed);
        self.expect.pop_front();
        match reply? {
            Reply::Single(r) => {
                if expect == Expect::MultiLine && r.is_ok() {
                    self.body = Some(MultiLineReceiver::new());
                }
                Ok(Some(ClientInbound::Response(r)))
            }
            Reply::Continue(c) => Ok(Some(ClientInbound::Continue(c))),
            Reply::MultiLine { response, .. } => Ok(Some(ClientInbound::Response(response))),
        }
    }
}

impl Encoder<ClientOutbound<'_>> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: ClientOutbound<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut buf = Vec::new();
        match item {
            ClientOutbound::Command(c) => {
                codec::encode_command(c, &mut buf)?;
                self.expect.push_back(c.response_kind());
            }
            ClientOutbound::Sasl(data) => {
                codec::encode_sasl_response(data, &mut buf);
                self.expect.push_back(Expect::Sasl);
            }
        }
        dst.extend_from_slice(&buf);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageNumber;

    #[test]
    fn server_codec_frames_commands_and_writes_content() {
        let mut codec = ServerCodec::new(Limits::default());
        let mut src = BytesMut::from(&b"AUTH PLAIN\r\nAGEAYg==\r\nRETR 1\r\n"[..]);
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(ServerInbound::Command(Command::Auth { .. }))
        ));
        codec.expect_sasl_line();
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(ServerInbound::Sasl(SaslLine::Response(_)))
        ));
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(ServerInbound::Command(Command::Retr {
                msg: MessageNumber::new(1).unwrap()
            }))
        );
        let mut dst = BytesMut::new();
        let ok = Response::ok("2 octets").unwrap();
        codec
            .encode(ServerOutbound::Response(&ok), &mut dst)
            .unwrap();
        codec
            .encode(ServerOutbound::Content(b".a\nb"), &mut dst)
            .unwrap();
        codec.encode(ServerOutbound::ContentEnd, &mut dst).unwrap();
        assert_eq!(&dst[..], b"+OK 2 octets\r\n..a\r\nb\r\n.\r\n");

        // A long line is refused once, however it arrives, and the stream resynchronizes.
        let mut src = BytesMut::from(&[b'A'; 300][..]);
        assert_eq!(codec.decode(&mut src).unwrap(), None);
        assert!(src.is_empty());
        src.extend_from_slice(b"AAA\r\nNOOP\r\n");
        assert!(matches!(
            codec.decode(&mut src),
            Err(CodecError::Decode(DecodeError::LineTooLong { max: 255 }))
        ));
        assert_eq!(
            codec.decode(&mut src).unwrap(),
            Some(ServerInbound::Command(Command::Noop))
        );
    }

    #[test]
    fn client_codec_routes_multi_line_answers_by_command() {
        let mut codec = ClientCodec::default();
        let mut dst = BytesMut::new();
        for c in [
            Command::Stat,
            Command::List { msg: None },
            Command::Uidl { msg: None },
        ] {
            codec.encode(ClientOutbound::Command(&c), &mut dst).unwrap();
        }
        assert_eq!(&dst[..], b"STAT\r\nLIST\r\nUIDL\r\n");
        let mut src = BytesMut::from(
            &b"+OK ready\r\n+OK 1 5\r\n+OK\r\n1 5\r\n..x\r\n.\r\n-ERR no UIDL\r\n"[..],
        );
        let mut got = Vec::new();
        while let Some(item) = codec.decode(&mut src).unwrap() {
            got.push(item);
        }
        assert_eq!(
            got,
            [
                ClientInbound::Response(Response::ok("ready").unwrap()),
                ClientInbound::Response(Response::ok("1 5").unwrap()),
                ClientInbound::Response(crate::session::responses::ok()),
                ClientInbound::Data(b"1 5\r\n.x\r\n".to_vec()),
                ClientInbound::End,
                ClientInbound::Response(Response::err(None, "no UIDL").unwrap()),
            ]
        );
    }
}
