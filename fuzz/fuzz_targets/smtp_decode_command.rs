//! Arbitrary bytes into the SMTP command decoders: no panic, progress on every outcome, and
//! a resynchronization at the next LF after an error (as a server does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_smtp::{Limits, codec};

fn stream(data: &[u8], limits: &Limits) {
    let mut rest = data;
    loop {
        match codec::decode_command_with(rest, limits) {
            Ok((r, cmd)) => {
                assert!(r.len() < rest.len(), "a command consumed nothing");
                let _ = cmd.verb();
                let _ = cmd.into_owned();
                rest = r;
            }
            Err(e) if e.is_incomplete() => break,
            Err(e) => {
                let _ = e.to_reply();
                match mail_proto_fuzz::after_lf(rest) {
                    Some(r) => rest = r,
                    None => break,
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    stream(data, &Limits::default());
    let mut small = Limits::default();
    small.max_command_line = 16;
    small.max_sasl_line = 24;
    stream(data, &small);

    // SASL lines, and one whole line through the line parser.
    let _ = codec::decode_sasl_line(data, 64);
    let _ = codec::parse_sasl_line(data);
    let _ = codec::parse_command_line(data);
});
