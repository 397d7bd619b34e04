//! Arbitrary bytes into the POP3 command decoders: no panic, progress, resynchronization at
//! the next LF after an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_pop3::{Limits, codec};

fn stream(data: &[u8], limits: &Limits) {
    let mut rest = data;
    loop {
        match codec::decode_command_with(rest, limits) {
            Ok((r, cmd)) => {
                assert!(r.len() < rest.len(), "a command consumed nothing");
                let _ = cmd.response_kind();
                let _ = cmd.verb();
                rest = r;
            }
            Err(e) if e.is_incomplete() => break,
            Err(_) => match mail_proto_fuzz::after_lf(rest) {
                Some(r) => rest = r,
                None => break,
            },
        }
    }
}

fuzz_target!(|data: &[u8]| {
    stream(data, &Limits::default());
    let mut small = Limits::default();
    small.max_command_line = 16;
    small.max_argument = 4;
    stream(data, &small);
    let _ = codec::parse_command_line(data, &Limits::default());
    let _ = codec::decode_sasl_line(data, 64);
    let _ = codec::parse_sasl_line(data);
});
