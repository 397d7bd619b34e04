//! Every SMTP reply that decodes re-encodes, decodes again to the same value, and its
//! encoding is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_smtp::codec;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match codec::decode_reply(rest) {
            Ok((r, reply)) => {
                let mut wire = Vec::new();
                codec::encode_reply(&reply, &mut wire);
                let (tail, again) = codec::decode_reply(&wire).unwrap_or_else(|e| {
                    panic!("{:?} does not decode: {e}", String::from_utf8_lossy(&wire))
                });
                assert!(tail.is_empty(), "encoding left bytes over");
                assert_eq!(again, reply, "{:?}", String::from_utf8_lossy(&wire));
                let mut wire2 = Vec::new();
                codec::encode_reply(&again, &mut wire2);
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
