//! Arbitrary bytes into the IMAP response and greeting decoders, strict and with every
//! leniency, with and without UTF-8, one-shot and with the resumable `ResponseDecoder`: no
//! panic, progress and skips within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_imap::codec::{
    self, DecodeError, Leniency, ResponseDecoder, ResponseOptions, frame::FrameLimits,
};

fn stream(data: &[u8], opts: &ResponseOptions) {
    let mut rest = data;
    loop {
        match codec::decode_response(rest, opts) {
            Ok((r, resp)) => {
                assert!(r.len() < rest.len(), "a response consumed nothing");
                let _ = resp.into_owned();
                rest = r;
            }
            Err(DecodeError::Incomplete) => break,
            Err(e) => {
                let skip = e.skip();
                assert!(
                    skip > 0 && skip <= rest.len(),
                    "skip {skip} of {}",
                    rest.len()
                );
                rest = &rest[skip..];
            }
        }
    }
    // The resumable decoder, fed everything at once, agrees on the first response.
    let mut dec = ResponseDecoder::new(*opts);
    match (dec.decode(data), codec::decode_response(data, opts)) {
        (Ok((n, a)), Ok((r, b))) => {
            assert_eq!(n, data.len() - r.len());
            assert_eq!(a, b);
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("ResponseDecoder {a:?} but decode_response {b:?}"),
    }
    let _ = codec::decode_greeting(data, opts);
}

fuzz_target!(|data: &[u8]| {
    stream(data, &ResponseOptions::default());
    stream(
        data,
        &ResponseOptions {
            utf8: true,
            max_depth: 5,
            limits: FrameLimits {
                max_line: 100,
                max_literal: 50,
                max_nonsync_literal: 20,
                max_message: 400,
            },
            lenient: Leniency::all(),
        },
    );
});
