//! Message data after DATA and BDAT, in arbitrary chunks.
//!
//! - `DataReceiver` consumes exactly up to the first `CRLF "." CRLF` (the data starts at a
//!   line start), whatever the chunking, and chunked decoding equals one-shot decoding.
//! - Under `Reject`, the delivered data is the reference unstuffing: each CRLF line with one
//!   leading dot removed (kept when a bare CR or LF follows it).
//! - Under `Normalize`, the delivered data holds only CRLF line ends.
//! - `DotStuffer` output read back by `DataReceiver` gives the CRLF-normalized data, ending
//!   exactly at the marker; `CrlfNormalizer` gives the same normalization.
//! - `ChunkReceiver` takes exactly its size.
//!
//! Flags: bit 0 picks small limits (size and line length) for the receivers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{ChunkedInput, end_marker, normalize_lines, only_crlf, split};
use sansmail_smtp::codec::{
    BareLineEndings, ChunkReceiver, CrlfNormalizer, DataEnd, DataReceiver, DotStuffer,
};

fn receive(
    pieces: &[&[u8]],
    policy: BareLineEndings,
    max_size: u64,
    max_line: Option<usize>,
) -> (usize, Option<DataEnd>, Vec<u8>) {
    let mut rx = DataReceiver::new(policy, max_size, max_line);
    let mut out = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        let (used, end) = rx.decode(piece, &mut out);
        assert!(used <= piece.len());
        consumed += used;
        if let Some(end) = end {
            assert!(rx.is_done());
            // Nothing more is taken once the marker is seen.
            assert_eq!(rx.decode(b"more\r\n.\r\n", &mut out), (0, None));
            return (consumed, Some(end), out);
        }
        assert_eq!(used, piece.len(), "input left over before the end marker");
    }
    (consumed, None, out)
}

/// Reference unstuffing under `Reject` of the data before the marker (which ends in CRLF or
/// is empty).
fn unstuff_reference(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let line = match line {
            [b'.', b'\r' | b'\n', ..] => line,
            [b'.', tail @ ..] => tail,
            _ => line,
        };
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        rest = rest.get(end + 2..).unwrap_or_default();
    }
    out
}

fuzz_target!(|input: ChunkedInput| {
    let data = &input.data[..];
    let pieces = split(data, &input.chunks);
    let small = input.flags & 1 == 1;
    let (max_size, max_line) = if small {
        (64, Some(20))
    } else {
        (u64::MAX, None)
    };

    let marker = end_marker(data);
    for policy in [BareLineEndings::Reject, BareLineEndings::Normalize] {
        let (consumed, end, out) = receive(&pieces, policy, max_size, max_line);
        let whole = receive(&[data], policy, max_size, max_line);
        assert_eq!(
            (consumed, end, &out),
            (whole.0, whole.1, &whole.2),
            "chunking changed the result"
        );
        match marker {
            Some(m) => {
                assert_eq!(consumed, m, "end marker not found at the first CRLF.CRLF");
                let end = end.expect("marker seen");
                assert_eq!(end.size, out.len() as u64);
                assert!(end.size <= max_size);
                if !small {
                    assert!(!end.too_large && !end.line_too_long);
                    let content = &data[..m - 3];
                    let bare = !only_crlf(content);
                    match policy {
                        BareLineEndings::Reject => {
                            assert_eq!(end.bare_line_ending, bare);
                            assert_eq!(out, unstuff_reference(content));
                        }
                        BareLineEndings::Normalize => {
                            assert!(!end.bare_line_ending);
                            assert!(only_crlf(&out), "bare line ending delivered");
                        }
                    }
                }
            }
            None => {
                assert!(end.is_none(), "end marker found where there is none");
                assert_eq!(consumed, data.len());
            }
        }
    }

    // Stuffing, then receiving: the normalized data, ending exactly at the marker.
    let mut stuffer = DotStuffer::new();
    let mut wire = Vec::new();
    for piece in &pieces {
        stuffer.encode(piece, &mut wire);
    }
    stuffer.finish(&mut wire);
    let normalized = normalize_lines(data);
    let (consumed, end, out) = receive(&[&wire], BareLineEndings::Reject, u64::MAX, None);
    assert_eq!(consumed, wire.len(), "stuffed data ends before its marker");
    let end = end.expect("stuffed data has its marker");
    assert!(!end.bare_line_ending);
    assert_eq!(out, normalized, "stuffing does not round-trip");

    let mut normalizer = CrlfNormalizer::default();
    let mut crlf = Vec::new();
    for piece in &pieces {
        normalizer.encode(piece, &mut crlf);
    }
    normalizer.finish(&mut crlf);
    assert_eq!(crlf, normalized);

    // BDAT: a chunk size from the first bytes, the rest in pieces.
    let size = data
        .iter()
        .take(2)
        .fold(0u64, |n, &b| n << 8 | u64::from(b));
    let mut rx = ChunkReceiver::new(size);
    let mut taken = 0u64;
    for piece in &pieces {
        let t = rx.take(piece);
        assert!(t.len() <= piece.len());
        taken += t.len() as u64;
        assert_eq!(rx.remaining(), size - taken);
    }
    assert_eq!(taken, size.min(data.len() as u64));
});
