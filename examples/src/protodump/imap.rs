//! `protodump imap client|server [FILE]`: [`sansmail_imap::codec::transcript`], re-encoded.

pub use sansmail_imap::codec::transcript::{ClientDecoder, ServerDecoder};
use sansmail_imap::codec::{
    EncodeBuf, encode_command, encode_idle_done, encode_response, encode_sasl_response,
    transcript::{self, ClientItem, ServerItem},
};

use super::{Step, StreamDecoder, reencode};

/// Runs `encode` on a buffer that appends to `out`.
fn encode_into(out: &mut Vec<u8>, encode: impl FnOnce(&mut EncodeBuf)) {
    let mut buf = EncodeBuf {
        bytes: std::mem::take(out),
        ..EncodeBuf::default()
    };
    encode(&mut buf);
    *out = buf.bytes;
}

impl StreamDecoder for ClientDecoder {
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step {
        let at = self.offset();
        let transcript::Step { consumed, found } = self.decode(input, !eof);
        let opts = self.options();
        reencode(at, consumed, found, |item| {
            match item {
                ClientItem::Command(c) => encode_into(out, |buf| encode_command(&c, opts, buf)),
                ClientItem::IdleDone => encode_into(out, encode_idle_done),
                ClientItem::SaslResponse(r) => encode_into(out, |b| encode_sasl_response(&r, b)),
                other => return Err(format!("{other:?}")),
            }
            Ok(true)
        })
    }
}

impl StreamDecoder for ServerDecoder {
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step {
        let at = self.offset();
        let transcript::Step { consumed, found } = self.decode(input, !eof);
        let opts = self.options();
        reencode(at, consumed, found, |item| match item {
            ServerItem::Response(r) => {
                encode_into(out, |buf| encode_response(&r, opts, buf));
                Ok(true)
            }
            other => Err(format!("{other:?}")),
        })
    }
}
