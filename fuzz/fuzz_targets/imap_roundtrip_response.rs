//! Every IMAP response that decodes (strict, or with every leniency; with and without UTF-8)
//! re-encodes, decodes again to the same value, and its encoding is a fixed point. Greetings
//! too. Without UTF-8, 8-bit text taken quoted goes out as a literal (a quoted string is
//! 7-bit), so the value comes back in the other form, and a `{n+}` literal comes back as `{n}`
//! (RFC 9051 §9): then only the fixed point is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_imap::codec::{self, EncodeBuf, Leniency, ResponseOptions};

fn stream(data: &[u8], opts: &ResponseOptions) {
    let mut rest = data;
    loop {
        match codec::decode_response(rest, opts) {
            Ok((r, resp)) => {
                let mut wire = EncodeBuf::new();
                codec::encode_response(&resp, opts, &mut wire);
                let (tail, again) = codec::decode_response(&wire.bytes, opts).unwrap_or_else(|e| {
                    panic!(
                        "{resp:?} encodes as {:?}, which does not decode: {e:?}",
                        String::from_utf8_lossy(&wire.bytes)
                    )
                });
                assert!(tail.is_empty(), "encoding left bytes over");
                let mut as_utf8 = EncodeBuf::new();
                let utf8 = ResponseOptions {
                    utf8: true,
                    ..*opts
                };
                codec::encode_response(&resp, &utf8, &mut as_utf8);
                // A server sends every literal synchronizing: a `{n+}` read comes back as
                // `{n}`, and only the fixed point below holds for it.
                let nonsync = format!("{resp:?}").contains("NonSync");
                if as_utf8.literals.len() == wire.literals.len() && !nonsync {
                    assert_eq!(again, resp, "{:?}", String::from_utf8_lossy(&wire.bytes));
                }
                let mut wire2 = EncodeBuf::new();
                codec::encode_response(&again, opts, &mut wire2);
                assert_eq!(wire2.bytes, wire.bytes, "encoding is not stable");
                rest = r;
            }
            Err(e) if e.is_incomplete() => break,
            Err(e) => rest = &rest[e.skip()..],
        }
    }
    if let Ok((_, greeting)) = codec::decode_greeting(data, opts) {
        let mut wire = EncodeBuf::new();
        codec::encode_greeting(&greeting, &mut wire);
        let (_, again) = codec::decode_greeting(&wire.bytes, opts).unwrap_or_else(|e| {
            panic!(
                "{greeting:?} encodes as {:?}, which does not decode: {e:?}",
                String::from_utf8_lossy(&wire.bytes)
            )
        });
        assert_eq!(again, greeting);
    }
}

fuzz_target!(|input: (u8, &[u8])| {
    let (flags, data) = input;
    let opts = ResponseOptions {
        utf8: flags & 1 != 0,
        lenient: if flags & 2 != 0 {
            Leniency::all()
        } else {
            Leniency::default()
        },
        ..ResponseOptions::default()
    };
    stream(data, &opts);
});
