//! `protodump pop3 client [FILE]` and `protodump pop3 server [FILE] --client CLIENTFILE`:
//! [`sansmail_pop3::codec::transcript`], re-encoded. The server stream is decoded together with
//! the client's, which tells which replies are multi-line.

use std::{ffi::OsString, io::Read, process::ExitCode};

use sansmail_pop3::{
    Limits,
    codec::{
        self, Stuffer,
        transcript::{self, ClientItem, ServerItem},
    },
};

pub use sansmail_pop3::codec::transcript::ClientDecoder;

use super::{Direction, Event, Source, Step, StreamDecoder, UsageError, reencode, run};

/// `protodump pop3 ...`: `args` starts after `pop3`.
pub fn main(args: impl IntoIterator<Item = OsString>) -> Result<ExitCode, UsageError> {
    let usage = |text: &str| Err(text.to_owned());
    // `--client CLIENTFILE` (or `--client=CLIENTFILE`) may stand anywhere.
    let (mut rest, mut client) = (Vec::new(), None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--client") => match args.next() {
                Some(value) => Some(value),
                None => return usage("--client needs a file"),
            },
            a => a
                .and_then(|a| a.strip_prefix("--client="))
                .map(OsString::from),
        };
        match value {
            Some(_) if client.is_some() => return usage("--client given twice"),
            Some(value) => client = Some(Source::from_arg(value)),
            None => rest.push(arg),
        }
    }
    let (client, source) = match (super::direction_and_source(rest)?, client) {
        ((Direction::Client, source), None) => {
            return Ok(run(&mut ClientDecoder::default(), &source));
        }
        ((Direction::Client, _), Some(_)) => return usage("--client is for 'pop3 server' only"),
        ((Direction::Server, _), None) => {
            return usage(
                "'pop3 server' needs --client CLIENTFILE: the client's commands tell which \
                 responses are multi-line",
            );
        }
        ((Direction::Server, source), Some(client)) if client == source && client.0.is_none() => {
            return usage("the server stream and the client stream cannot both be stdin");
        }
        ((Direction::Server, source), Some(client)) => (client, source),
    };
    let mut commands = Vec::new();
    if let Err(e) = client.open().and_then(|mut c| c.read_to_end(&mut commands)) {
        eprintln!("protodump: cannot read {client}: {e}");
        return Ok(ExitCode::from(2));
    }
    Ok(run(&mut ServerDecoder::new(commands), &source))
}

impl StreamDecoder for ClientDecoder {
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step {
        let at = self.offset();
        let transcript::Step { consumed, found } = self.decode(input, !eof);
        reencode(at, consumed, found, |item| {
            match item {
                ClientItem::Command(c) => {
                    codec::encode_command(&c, out).map_err(|e| e.to_string())?;
                }
                ClientItem::SaslResponse(data) => {
                    codec::encode_sasl_response(data.as_ref().map(|d| d.expose().as_slice()), out);
                }
                other => return Err(format!("{other:?}")),
            }
            Ok(true)
        })
    }
}

/// Decodes and re-encodes what a POP3 server sends.
#[derive(Debug)]
pub struct ServerDecoder {
    decoder: transcript::ServerDecoder,
    /// Re-stuffs multi-line bodies.
    stuffer: Stuffer,
}

impl ServerDecoder {
    /// A decoder for the replies to the client stream `client` (all of it).
    pub fn new(client: Vec<u8>) -> Self {
        Self {
            decoder: transcript::ServerDecoder::new(client, Limits::default()),
            stuffer: Stuffer::new(),
        }
    }
}

impl StreamDecoder for ServerDecoder {
    fn decode(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Step {
        let at = self.decoder.offset();
        let transcript::Step { consumed, found } = self.decoder.decode(input, !eof);
        let stuffer = &mut self.stuffer;
        let mut line = Vec::new();
        let step = reencode(at, consumed, found, |item| {
            let ends = item.ends_message();
            match item {
                ServerItem::Response(r) | ServerItem::MultiLineStart(r) => {
                    codec::encode_response(&r, out);
                }
                ServerItem::Challenge(c) => codec::encode_continuation(&c, out),
                ServerItem::Content(piece) => _ = stuffer.encode(piece, out),
                ServerItem::Capability(c) => codec::encode_capability(&c, &mut line),
                ServerItem::ScanListing(l) => codec::encode_scan_listing(&l, &mut line),
                ServerItem::UniqueIdListing(l) => codec::encode_unique_id_listing(&l, &mut line),
                ServerItem::Language(l) => codec::encode_language(&l, &mut line),
                ServerItem::MultiLineEnd => stuffer.finish(out),
                other => return Err(format!("{other:?}")),
            }
            stuffer.encode(&line, out);
            Ok(ends)
        });
        if matches!(step.event, Some(Event::Error(_))) {
            self.stuffer = Stuffer::new();
        }
        step
    }
}
