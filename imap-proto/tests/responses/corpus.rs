//! Every message of the server-stream corpus decodes and re-encodes to the same octets.

use sansmail_imap::codec::{ResponseOptions, decode_response};

use super::common::encode;

const CORPUS: &[u8] = include_bytes!("../fixtures/imap-server-stream.txt");

#[test]
fn corpus_round_trips_byte_identically() {
    let opts = ResponseOptions::default();
    let mut input = CORPUS;
    let mut count = 0;
    while !input.is_empty() {
        let (rest, resp) = decode_response(input, &opts).unwrap_or_else(|e| {
            let end = input.len().min(300);
            panic!(
                "{e} at message {count}: {:?}",
                String::from_utf8_lossy(&input[..end])
            )
        });
        let message = &input[..input.len() - rest.len()];
        assert_eq!(
            String::from_utf8_lossy(&encode(&resp)),
            String::from_utf8_lossy(message),
            "message {count}"
        );
        assert_eq!(resp.clone().into_owned(), resp);
        input = rest;
        count += 1;
    }
    assert!(count > 300, "only {count} messages");
}
