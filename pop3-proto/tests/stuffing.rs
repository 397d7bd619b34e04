//! Byte-stuffing (RFC 1939 §3) in chunks: the server's [`Stuffer`] and the client's
//! [`MultiLineReceiver`], their edge cases (a line that is just `.`, `..` lines, a message
//! not ending in CRLF, an empty message, bare CR and LF), TOP's line limit, and agreement
//! however the data is chunked.

mod common;

use common::chunkings;
use proptest::prelude::*;
use sansmail_pop3::{
    Expect, Reply,
    codec::{self, MultiLineReceiver, Stuffer},
};

fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
    let mut s = Stuffer::new();
    let mut out = Vec::new();
    for c in chunks {
        s.encode(c, &mut out);
    }
    s.finish(&mut out);
    out
}

/// Reads a body after the first line; returns the data and the octets left after the
/// terminator (or `None` if it never came).
fn unstuff(chunks: &[&[u8]]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut rx = MultiLineReceiver::new();
    let mut out = Vec::new();
    let mut rest: Option<Vec<u8>> = None;
    for c in chunks {
        if let Some(r) = &mut rest {
            r.extend_from_slice(c);
            continue;
        }
        let (used, done) = rx.decode(c, &mut out);
        if done {
            rest = Some(c[used..].to_vec());
        } else {
            assert_eq!(used, c.len(), "consumes everything before the terminator");
        }
    }
    assert_eq!(rx.is_done(), rest.is_some());
    (out, rest)
}

/// Message content, its wire form, and the data a client reads back (CRLF line ends, a
/// last line ended).
const CASES: &[(&[u8], &[u8], &[u8])] = &[
    // An empty message: just the terminator.
    (b"", b".\r\n", b""),
    // A line that is just ".".
    (b".\r\n", b"..\r\n.\r\n", b".\r\n"),
    (
        b"a\r\n.\r\nb\r\n",
        b"a\r\n..\r\nb\r\n.\r\n",
        b"a\r\n.\r\nb\r\n",
    ),
    // ".." lines and dots at every line start.
    (b"..\r\n", b"...\r\n.\r\n", b"..\r\n"),
    (
        b".a\r\n..b\r\n...\r\n",
        b"..a\r\n...b\r\n....\r\n.\r\n",
        b".a\r\n..b\r\n...\r\n",
    ),
    // Dots inside a line are data.
    (b"a.b\r\nc.\r\n", b"a.b\r\nc.\r\n.\r\n", b"a.b\r\nc.\r\n"),
    // No CRLF at the end: one is added before the terminator.
    (b"no newline", b"no newline\r\n.\r\n", b"no newline\r\n"),
    (b".", b"..\r\n.\r\n", b".\r\n"),
    (b"a\r\n.", b"a\r\n..\r\n.\r\n", b"a\r\n.\r\n"),
    // Bare LF and bare CR (a Maildir file) become CRLF, and the next line is stuffed.
    (b"a\n.b\n", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
    (b"a\r.b\r", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
    (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n", b"a\r\n\r\nb\r\n"),
    (b"\n\n", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
    // Empty lines.
    (b"\r\n", b"\r\n.\r\n", b"\r\n"),
    (
        b"Subject: x\r\n\r\nbody\r\n",
        b"Subject: x\r\n\r\nbody\r\n.\r\n",
        b"Subject: x\r\n\r\nbody\r\n",
    ),
];

#[test]
fn stuffing_known_answers_in_every_chunking() {
    for &(data, wire, _) in CASES {
        for chunks in chunkings(data) {
            assert_eq!(
                stuff(&chunks),
                wire,
                "{:?} split {chunks:?}",
                String::from_utf8_lossy(data)
            );
        }
    }
}

#[test]
fn unstuffing_known_answers_in_every_chunking() {
    for &(_, wire, read) in CASES {
        let mut stream = wire.to_vec();
        stream.extend_from_slice(b"+OK next\r\n");
        for chunks in chunkings(&stream) {
            let (data, rest) = unstuff(&chunks);
            assert_eq!(data, read, "{:?}", String::from_utf8_lossy(wire));
            assert_eq!(rest.as_deref(), Some(&b"+OK next\r\n"[..]));
        }
        // The whole-response decoder reads the same.
        let mut whole = b"+OK\r\n".to_vec();
        whole.extend_from_slice(wire);
        let (_, reply) = codec::decode_response(&whole, Expect::MultiLine).unwrap();
        let Reply::MultiLine { body, .. } = reply else {
            panic!()
        };
        assert_eq!(body.unstuffed(), read);
    }
}

#[test]
fn only_crlf_dot_crlf_ends_a_body() {
    // None of these holds a terminator: the receiver is still waiting at the end.
    for wire in [
        &b"a\n.\nb\r\n"[..],
        b"a\n.\r\nb\r\n",
        b"a\r.\rb\r\n",
        b"a\r.\r\nb\r\n",
        b"a\r\n.\nb\r\n",
        b"a\r\n. \r\n",
        b"a\r\n.x\r\n",
    ] {
        for chunks in chunkings(wire) {
            let (_, rest) = unstuff(&chunks);
            assert_eq!(rest, None, "{:?}", String::from_utf8_lossy(wire));
        }
        let mut whole = b"+OK\r\n".to_vec();
        whole.extend_from_slice(wire);
        assert!(
            codec::decode_response(&whole, Expect::MultiLine)
                .unwrap_err()
                .is_incomplete()
        );
    }
}

#[test]
fn a_leading_dot_is_stripped_even_when_not_doubled() {
    // RFC 1939 §3: "If so and if octets other than CRLF follow, the first octet of the line
    // (the termination octet) is stripped away."
    let (data, rest) = unstuff(&[b".x\r\n.\r\n"]);
    assert_eq!(data, b"x\r\n");
    assert_eq!(rest.as_deref(), Some(&b""[..]));
    let (data, _) = unstuff(&[b".\rx\r\n.\r\n"]);
    assert_eq!(data, b"\rx\r\n");
}

#[test]
fn top_sends_the_header_the_blank_line_and_n_body_lines() {
    let msg = b"From: a\r\nSubject: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n";
    let cases: &[(u64, &[u8])] = &[
        (0, b"From: a\r\nSubject: b\r\n\r\n.\r\n"),
        (1, b"From: a\r\nSubject: b\r\n\r\nline 1\r\n.\r\n"),
        (
            2,
            b"From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\n.\r\n",
        ),
        (
            3,
            b"From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n",
        ),
        (
            99,
            b"From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n",
        ),
    ];
    for &(n, want) in cases {
        for chunks in chunkings(msg) {
            let mut s = Stuffer::top(n);
            let mut out = Vec::new();
            let mut more = true;
            for c in &chunks {
                more = s.encode(c, &mut out);
            }
            // The message has 3 body lines: TOP 3 and less reach the limit.
            assert_eq!(
                more,
                n > 3,
                "TOP {n}: more wanted only until the limit is reached"
            );
            assert_eq!(s.is_full(), n <= 3);
            s.finish(&mut out);
            assert_eq!(out, want, "TOP {n}");
        }
    }
    // LF line ends, a header without body, and a message without a blank line.
    let mut out = Vec::new();
    let mut s = Stuffer::top(1);
    s.encode(b"A: b\n\nx\ny\n", &mut out);
    s.finish(&mut out);
    assert_eq!(out, b"A: b\r\n\r\nx\r\n.\r\n");
    let mut out = Vec::new();
    let mut s = Stuffer::top(0);
    assert!(s.encode(b"A: b\r\nC: d", &mut out));
    s.finish(&mut out);
    assert_eq!(out, b"A: b\r\nC: d\r\n.\r\n");
}

#[test]
fn a_stuffer_is_reusable_after_finish() {
    let mut s = Stuffer::top(0);
    let mut out = Vec::new();
    s.encode(b"A: b\r\n\r\nbody", &mut out);
    s.finish(&mut out);
    s.encode(b".x", &mut out);
    s.finish(&mut out);
    assert_eq!(out, b"A: b\r\n\r\n.\r\n..x\r\n.\r\n");
}

/// What a client reads back for `data`: bare CR and LF as CRLF, a last line ended.
fn normalized(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'.'),
            Just(b'\r'),
            Just(b'\n'),
            Just(b'a'),
            any::<u8>()
        ],
        0..200,
    )
}

proptest! {
    #[test]
    fn stuffing_then_unstuffing_gives_the_data_back(
        data in data_strategy(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        // Split the data and the wire at arbitrary points.
        let split = |bytes: &[u8]| -> Vec<Vec<u8>> {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut out = Vec::new();
            let mut last = 0;
            for p in points {
                out.push(bytes[last..p].to_vec());
                last = p;
            }
            out.push(bytes[last..].to_vec());
            out
        };
        let pieces = split(&data);
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        let wire = stuff(&refs);
        prop_assert_eq!(&wire, &stuff(&[&data]));
        // The wire never holds a terminator before its end.
        prop_assert_eq!(memchr::memmem::find(&wire, b"\r\n.\r\n").map_or(3, |i| i + 5), wire.len());
        let wire_pieces = split(&wire);
        let wire_refs: Vec<&[u8]> = wire_pieces.iter().map(Vec::as_slice).collect();
        let (back, rest) = unstuff(&wire_refs);
        prop_assert_eq!(rest.as_deref(), Some(&b""[..]));
        prop_assert_eq!(back, normalized(&data));
    }

    #[test]
    fn the_receiver_never_panics(wire in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut rx = MultiLineReceiver::new();
        let mut out = Vec::new();
        let (used, done) = rx.decode(&wire, &mut out);
        prop_assert!(used <= wire.len());
        prop_assert!(done || used == wire.len());
        prop_assert!(out.len() <= wire.len());
    }
}
