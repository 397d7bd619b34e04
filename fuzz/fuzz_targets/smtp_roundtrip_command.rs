//! Every SMTP command that decodes re-encodes (canonically), decodes again to the same value,
//! and its canonical form is a fixed point.
//!
//! One asymmetry is by design (as in the crate's own `decoded_lines_reencode` test): a server
//! accepts a tab inside the free-form argument of NOOP, HELP, VRFY, EXPN and ETRN, and the
//! encoder refuses to send one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_smtp::{Command, codec};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match codec::decode_command(rest) {
            Ok((r, cmd)) => {
                let mut wire = Vec::new();
                if let Err(e) = codec::encode_command(&cmd, &mut wire) {
                    let free_form = matches!(
                        cmd,
                        Command::Noop { .. }
                            | Command::Help { .. }
                            | Command::Vrfy { .. }
                            | Command::Expn { .. }
                            | Command::Etrn { .. }
                    );
                    let line = &rest[..rest.len() - r.len()];
                    assert!(
                        free_form && line.contains(&b'\t'),
                        "decoded {cmd:?} does not encode: {e}"
                    );
                    rest = r;
                    continue;
                }
                let (tail, again) = codec::decode_command(&wire).unwrap_or_else(|e| {
                    panic!("{:?} does not decode: {e}", String::from_utf8_lossy(&wire))
                });
                assert!(tail.is_empty(), "encoding left bytes over");
                assert_eq!(again, cmd, "{:?}", String::from_utf8_lossy(&wire));
                let mut wire2 = Vec::new();
                codec::encode_command(&again, &mut wire2).expect("re-encode");
                assert_eq!(wire2, wire, "canonical form is not stable");
                rest = r;
            }
            Err(e) if e.is_incomplete() => break,
            Err(_) => match mail_proto_fuzz::after_lf(rest) {
                Some(r) => rest = r,
                None => break,
            },
        }
    }
});
