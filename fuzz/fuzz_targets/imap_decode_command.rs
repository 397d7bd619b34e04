//! Arbitrary bytes into the IMAP command decoders: no panic, progress on every outcome, skips
//! within the input, and the line parsers of IDLE and AUTHENTICATE.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_imap::{
    codec::{self, CommandOptions},
    error::DecodeError,
};

fn stream(data: &[u8], opts: &CommandOptions) {
    let mut rest = data;
    loop {
        match codec::decode_command(rest, opts) {
            Ok((r, cmd)) => {
                assert!(r.len() < rest.len(), "a command consumed nothing");
                let _ = cmd.body.name();
                let _ = cmd.into_owned();
                rest = r;
            }
            Err(DecodeError::Incomplete) => break,
            Err(DecodeError::LiteralAnnounced { len, line_end, .. }) => {
                assert!(line_end <= rest.len());
                assert!(
                    ((rest.len() - line_end) as u64) < len,
                    "literal was all there"
                );
                break;
            }
            Err(DecodeError::Frame { skip, .. } | DecodeError::Syntax { skip, .. }) => {
                assert!(
                    skip > 0 && skip <= rest.len(),
                    "skip {skip} of {}",
                    rest.len()
                );
                rest = &rest[skip..];
            }
            Err(e) => panic!("unexpected error kind {e:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    stream(data, &CommandOptions::default());
    stream(
        data,
        &CommandOptions {
            utf8: true,
            max_depth: 4,
        },
    );
    let _ = codec::parse_command(data, &CommandOptions::default());
    let _ = codec::parse_idle_done(data);
    let _ = codec::parse_sasl_response(data);
});
