//! Arbitrary bytes into the POP3 response decoder under each `Expect` kind, and into the
//! listing line parsers: no panic, progress, bounded bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_pop3::{Expect, Limits, Reply, codec};

fn stream(data: &[u8], expect: Expect, limits: &Limits) {
    let mut rest = data;
    loop {
        match codec::decode_response_with(rest, expect, limits) {
            Ok((r, reply)) => {
                assert!(r.len() < rest.len(), "a reply consumed nothing");
                match &reply {
                    Reply::MultiLine { body, .. } => {
                        assert_eq!(expect, Expect::MultiLine);
                        assert!(body.as_stuffed().len() <= limits.max_response_size);
                        for line in body.lines() {
                            let _ = codec::parse_capability(line);
                            let _ = codec::parse_scan_listing(line);
                            let _ = codec::parse_unique_id_listing(line);
                            let _ = codec::parse_language(line);
                        }
                        let _ = body.unstuffed();
                    }
                    Reply::Continue(c) => {
                        assert_eq!(expect, Expect::Sasl);
                        let _ = c.decode();
                    }
                    Reply::Single(r) => {
                        let _ = r.timestamp();
                    }
                }
                let _ = reply.into_owned();
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
    let mut small = Limits::default();
    small.max_response_line = 24;
    small.max_response_size = 64;
    small.max_sasl_line = 32;
    for expect in [Expect::SingleLine, Expect::MultiLine, Expect::Sasl] {
        stream(data, expect, &Limits::default());
        stream(data, expect, &small);
        let _ = codec::parse_reply_line(data, expect);
    }
    let _ = codec::parse_capability(data);
    let _ = codec::parse_scan_listing(data);
    let _ = codec::parse_unique_id_listing(data);
    let _ = codec::parse_language(data);
});
