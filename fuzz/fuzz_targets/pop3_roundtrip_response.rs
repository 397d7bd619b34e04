//! Every POP3 reply that decodes (under each `Expect` kind) re-encodes, decodes again to the
//! same value, and its encoding is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_proto::{Expect, codec};

fn stream(data: &[u8], expect: Expect) {
    let mut rest = data;
    loop {
        match codec::decode_response(rest, expect) {
            Ok((r, reply)) => {
                let mut wire = Vec::new();
                codec::encode_reply(&reply, &mut wire);
                let (tail, again) = codec::decode_response(&wire, expect).unwrap_or_else(|e| {
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
}

fuzz_target!(|data: &[u8]| {
    for expect in [Expect::SingleLine, Expect::MultiLine, Expect::Sasl] {
        stream(data, expect);
    }
});
