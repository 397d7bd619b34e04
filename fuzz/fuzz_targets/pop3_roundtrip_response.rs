//! Every POP3 reply that decodes (under each `Expect` kind) re-encodes, decodes again to the
//! same value, and its encoding is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_pop3::{DecodeError, Expect, codec};

fn stream(data: &[u8], expect: Expect) {
    let mut rest = data;
    loop {
        match codec::decode_response(rest, expect) {
            Ok((r, reply)) => {
                let mut wire = Vec::new();
                codec::encode_reply(&reply, &mut wire);
                let (tail, again) = match codec::decode_response(&wire, expect) {
                    Ok(decoded) => decoded,
                    // `resp-code *CHAR`: a code glued to its text (`[X]text`) is written back
                    // with the separating SP, one octet longer, which can pass the line limit.
                    Err(DecodeError::LineTooLong { max }) if glued_code(rest) => {
                        let line = wire.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
                        assert_eq!(line, max + 1, "{:?}", String::from_utf8_lossy(&wire));
                        rest = r;
                        continue;
                    }
                    Err(e) => panic!("{:?} does not decode: {e}", String::from_utf8_lossy(&wire)),
                };
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

/// Whether the status line at the start of `input` has a response code directly followed by
/// text, without the SP.
fn glued_code(input: &[u8]) -> bool {
    let line = input.split(|&b| b == b'\n').next().unwrap_or_default();
    let Some(open) = line.iter().position(|&b| b == b'[') else {
        return false;
    };
    line[open..]
        .iter()
        .position(|&b| b == b']')
        .and_then(|close| line.get(open + close + 1))
        .is_some_and(|&after| after != b' ' && after != b'\r')
}

fuzz_target!(|data: &[u8]| {
    for expect in [Expect::SingleLine, Expect::MultiLine, Expect::Sasl] {
        stream(data, expect);
    }
});
