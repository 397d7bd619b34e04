//! Every POP3 command that decodes re-encodes, decodes again to the same value, and its
//! encoding is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_pop3::codec;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match codec::decode_command(rest) {
            Ok((r, cmd)) => {
                let mut wire = Vec::new();
                codec::encode_command(&cmd, &mut wire)
                    .unwrap_or_else(|e| panic!("decoded {cmd:?} does not encode: {e}"));
                let (tail, again) = codec::decode_command(&wire).unwrap_or_else(|e| {
                    panic!("{:?} does not decode: {e}", String::from_utf8_lossy(&wire))
                });
                assert!(tail.is_empty(), "encoding left bytes over");
                assert_eq!(again, cmd, "{:?}", String::from_utf8_lossy(&wire));
                let mut wire2 = Vec::new();
                codec::encode_command(&again, &mut wire2).expect("re-encode");
                assert_eq!(wire2, wire, "encoding is not stable");
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
