//! `protodump smtp client|server [FILE]`: [`sansmail_smtp::codec::transcript`], re-encoded.

pub use sansmail_smtp::codec::transcript::ServerDecoder;
use sansmail_smtp::codec::{
    DotStuffer, encode_command, encode_reply, encode_sasl_response,
    transcript::{self, ClientItem, ServerItem},
};

use super::{Event, Step, StreamDecoder, reencode};

/// Decodes and re-encodes what an SMTP client sends.
#[derive(Debug, Default)]
pub struct ClientDecoder {
    decoder: transcript::ClientDecoder,
    /// Re-stuffs the message after DATA.
    stuffer: DotStuffer,
}

impl StreamDecoder for ClientDecoder {
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step {
        let at = self.decoder.offset();
        let transcript::Step { consumed, found } = self.decoder.decode(input, !eof);
        let stuffer = &mut self.stuffer;
        let step = reencode(at, consumed, found, |item| {
            let ends = item.ends_message();
            match item {
                ClientItem::Command(c) => encode_command(&c, out).map_err(|e| e.to_string())?,
                ClientItem::SaslResponse(data) => {
                    encode_sasl_response(data.as_ref().map(|d| d.expose().as_slice()), out);
                }
                ClientItem::Data(piece) => stuffer.encode(piece, out),
                ClientItem::DataEnd { .. } => stuffer.finish(out),
                ClientItem::Chunk(piece) => out.extend_from_slice(piece),
                ClientItem::ChunkEnd => {}
                other => return Err(format!("{other:?}")),
            }
            Ok(ends)
        });
        if matches!(step.event, Some(Event::Error(_))) {
            self.stuffer = DotStuffer::new();
        }
        step
    }
}

impl StreamDecoder for ServerDecoder {
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step {
        let at = self.offset();
        let transcript::Step { consumed, found } = self.decode(input, !eof);
        reencode(at, consumed, found, |item| match item {
            ServerItem::Reply(reply) => {
                encode_reply(&reply, out);
                Ok(true)
            }
            other => Err(format!("{other:?}")),
        })
    }
}
