//! Multi-line bodies in arbitrary chunks.
//!
//! - `MultiLineReceiver` consumes exactly up to the first `CRLF "." CRLF` (the body starts at
//!   a line start), whatever the chunking, and delivers the reference unstuffing: each CRLF
//!   line with one leading dot removed.
//! - `decode_response` under `Expect::MultiLine` finds the same body.
//! - `Stuffer` output read back gives the CRLF-normalized content; with `Stuffer::top` the
//!   output is still a well-formed body, no longer than the full one.
//! - `Body::from_unstuffed` and `Body::from_stuffed` agree with them.
//!
//! Flags: the TOP line count for `Stuffer::top` (0 to 255).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{ChunkedInput, end_marker, normalize_lines, split};
use sansmail_pop3::{Body, Expect, Reply, codec, codec::MultiLineReceiver, codec::Stuffer};

fn receive(pieces: &[&[u8]]) -> (usize, bool, Vec<u8>) {
    let mut rx = MultiLineReceiver::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        let (used, done) = rx.decode(piece, &mut out);
        assert!(used <= piece.len());
        consumed += used;
        if done {
            assert!(rx.is_done());
            assert_eq!(rx.decode(b"x\r\n.\r\n", &mut out), (0, true));
            return (consumed, true, out);
        }
        assert_eq!(used, piece.len(), "input left over before the terminator");
    }
    (consumed, false, out)
}

/// Reference unstuffing of the body before the terminator (empty, or ending in CRLF).
fn unstuff_reference(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(rest.len());
        let line = &rest[..end];
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
        rest = rest.get(end + 2..).unwrap_or_default();
    }
    out
}

fuzz_target!(|input: ChunkedInput| {
    let data = &input.data[..];
    let pieces = split(data, &input.chunks);
    let (consumed, done, out) = receive(&pieces);
    let whole = receive(&[data]);
    assert_eq!(
        (consumed, done, &out),
        (whole.0, whole.1, &whole.2),
        "chunking changed the result"
    );
    match end_marker(data) {
        Some(m) => {
            assert!(done, "terminator not seen");
            assert_eq!(consumed, m, "terminator not found at the first CRLF.CRLF");
            let content = &data[..m - 3];
            assert_eq!(out, unstuff_reference(content));
            // The whole-response decoder finds the same body.
            let mut wire = b"+OK\r\n".to_vec();
            wire.extend_from_slice(data);
            let (rest, reply) = codec::decode_response(&wire, Expect::MultiLine).expect("decodes");
            assert_eq!(rest, &data[m..]);
            let Reply::MultiLine { body, .. } = reply else {
                panic!("not multi-line")
            };
            assert_eq!(body.as_stuffed(), content);
            assert_eq!(body.unstuffed(), out);
        }
        None => {
            assert!(!done, "terminator found where there is none");
            assert_eq!(consumed, data.len());
        }
    }

    // Stuffing, then receiving.
    let normalized = normalize_lines(data);
    let mut stuffer = Stuffer::new();
    let mut wire = Vec::new();
    for piece in &pieces {
        assert!(stuffer.encode(piece, &mut wire));
    }
    stuffer.finish(&mut wire);
    let (consumed, done, out) = receive(&[&wire]);
    assert!(
        done && consumed == wire.len(),
        "stuffed body does not end at its terminator"
    );
    assert_eq!(out, normalized, "stuffing does not round-trip");
    let body = Body::from_unstuffed(data);
    assert_eq!(body.as_stuffed(), &wire[..wire.len() - 3]);
    assert_eq!(
        Body::from_stuffed(body.as_stuffed()).expect("valid body"),
        body
    );

    // TOP: still a body, and a prefix of the full content.
    let mut top = Stuffer::top(u64::from(input.flags));
    let mut twire = Vec::new();
    for piece in &pieces {
        if !top.encode(piece, &mut twire) {
            break;
        }
    }
    top.finish(&mut twire);
    let (consumed, done, tout) = receive(&[&twire]);
    assert!(
        done && consumed == twire.len(),
        "TOP body does not end at its terminator"
    );
    assert!(
        normalized.starts_with(&tout),
        "TOP is not a prefix of the message"
    );
});
