//! Arbitrary bytes into the SMTP reply decoder (and the EHLO reply reader): no panic,
//! progress, limits respected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_smtp::{
    EhloReply,
    codec::{self, ReplyLimits},
};

fn stream(data: &[u8], limits: ReplyLimits) {
    let mut rest = data;
    loop {
        match codec::decode_reply_with(rest, limits) {
            Ok((r, reply)) => {
                let used = rest.len() - r.len();
                assert!(used > 0, "a reply consumed nothing");
                assert!(used <= limits.max_size, "reply larger than max_size");
                assert!(
                    reply.lines().len() <= limits.max_lines,
                    "more lines than max_lines"
                );
                let _ = reply.text();
                if let Ok(ehlo) = EhloReply::from_reply(&reply) {
                    let _ = ehlo.size_limit();
                    let _ = ehlo.auth_mechanisms();
                    let _ = ehlo.to_reply();
                }
                rest = r;
            }
            Err(e) if e.is_incomplete() => {
                assert!(rest.len() <= limits.max_size, "waiting beyond max_size");
                break;
            }
            Err(_) => match mail_proto_fuzz::after_lf(rest) {
                Some(r) => rest = r,
                None => break,
            },
        }
    }
}

fuzz_target!(|data: &[u8]| {
    stream(data, ReplyLimits::default());
    stream(
        data,
        ReplyLimits {
            max_line: 20,
            max_size: 64,
            max_lines: 3,
            any_text: true,
        },
    );
});
