//! Message data: dot-unstuffing and the end marker (only `CRLF.CRLF` ends DATA, never the
//! SMTP smuggling variants), bare CR/LF policies, size and line limits, any chunking, the
//! dot-stuffer and CRLF normalizer, BDAT chunk counting, and proptest round trips.

mod common;

use common::chunkings;
use proptest::prelude::*;
use sansmail_smtp::codec::{
    BareLineEndings, ChunkReceiver, CrlfNormalizer, DataEnd, DataReceiver, DotStuffer,
};

const POLICIES: [BareLineEndings; 2] = [BareLineEndings::Reject, BareLineEndings::Normalize];

/// What a receiver made of some chunks: the delivered data, the octets consumed, the end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Received {
    out: Vec<u8>,
    consumed: usize,
    end: Option<DataEnd>,
}

fn receive_with(chunks: &[&[u8]], mut rx: DataReceiver) -> Received {
    let mut out = Vec::new();
    let mut consumed = 0;
    for c in chunks {
        let (n, end) = rx.decode(c, &mut out);
        consumed += n;
        if let Some(end) = end {
            assert!(rx.is_done());
            return Received {
                out,
                consumed,
                end: Some(end),
            };
        }
        assert_eq!(n, c.len(), "a receiver that is not done takes everything");
    }
    assert!(!rx.is_done());
    Received {
        out,
        consumed,
        end: None,
    }
}

fn receive(chunks: &[&[u8]], policy: BareLineEndings) -> Received {
    receive_with(chunks, DataReceiver::new(policy, u64::MAX, None))
}

#[allow(clippy::unnecessary_wraps)] // compared with `Option<DataEnd>` everywhere
fn end(size: usize, bare: bool) -> Option<DataEnd> {
    Some(DataEnd {
        size: size as u64,
        bare_line_ending: bare,
        too_large: false,
        line_too_long: false,
    })
}

/// Reference: bare CR and bare LF become CRLF.
fn normalize(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
            }
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// What `Normalize` delivers, from what `Reject` delivers: [`normalize`], and a line after a
/// bare LF loses a leading dot unless the dot is alone on it. `dot_pending`: the input ended
/// with a bare LF and a dot, which is stuffing or data once the next octet comes.
fn normalize_received(rejected: &[u8], dot_pending: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(rejected.len());
    for (i, &b) in rejected.iter().enumerate() {
        let bare_lf_before =
            i > 0 && rejected[i - 1] == b'\n' && (i < 2 || rejected[i - 2] != b'\r');
        let stuffing = b == b'.'
            && bare_lf_before
            && rejected
                .get(i + 1)
                .is_some_and(|&n| n != b'\r' && n != b'\n');
        if !stuffing {
            out.push(b);
        }
    }
    if dot_pending {
        out.pop();
    }
    normalize(&out)
}

fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
    let mut s = DotStuffer::new();
    let mut wire = Vec::new();
    for c in chunks {
        s.encode(c, &mut wire);
    }
    s.finish(&mut wire);
    wire
}

// ---------------------------------------------------------------------------------------------
// Known answers.

/// Wire (up to and including the end marker) and the delivered data.
const UNSTUFFING: &[(&[u8], &[u8])] = &[
    // Empty message: the marker right away (one popular crate missed this).
    (b".\r\n", b""),
    (b"\r\n.\r\n", b"\r\n"),
    (b"a\r\n.\r\n", b"a\r\n"),
    (
        b"Subject: x\r\n\r\nbody\r\n.\r\n",
        b"Subject: x\r\n\r\nbody\r\n",
    ),
    // A line that is just `..` is a line that is just `.`.
    (b"..\r\n.\r\n", b".\r\n"),
    (b"a\r\n..\r\nb\r\n.\r\n", b"a\r\n.\r\nb\r\n"),
    (b"..a\r\n.\r\n", b".a\r\n"),
    (b"...\r\n.\r\n", b"..\r\n"),
    // RFC 5321 §4.5.2: a leading dot is deleted also when the client did not stuff.
    (b".b\r\n.\r\n", b"b\r\n"),
    (b". \r\n.\r\n", b" \r\n"),
    // Dots elsewhere are data.
    (b"a.\r\nb..c\r\n.\r\n", b"a.\r\nb..c\r\n"),
    (b"\r\n\r\n.\r\n", b"\r\n\r\n"),
    // The marker is a line of its own: `.x` and `. ` are not it.
    (b".x\r\n. \r\n.\r\n", b"x\r\n \r\n"),
    // Binary octets pass.
    (b"\x00\xff\x80\r\n.\r\n", b"\x00\xff\x80\r\n"),
];

#[test]
fn unstuffing_known_answers() {
    for &(wire, want) in UNSTUFFING {
        for policy in POLICIES {
            let mut with_next = wire.to_vec();
            with_next.extend_from_slice(b"QUIT\r\n");
            let got = receive(&[&with_next], policy);
            assert_eq!(
                got,
                Received {
                    out: want.to_vec(),
                    consumed: wire.len(),
                    end: end(want.len(), false)
                },
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }
}

#[test]
fn unstuffing_strict_prefixes_do_not_end() {
    for &(wire, want) in UNSTUFFING {
        for i in 0..wire.len() {
            let got = receive(&[&wire[..i]], BareLineEndings::Reject);
            assert_eq!(got.end, None, "{:?}", String::from_utf8_lossy(&wire[..i]));
            assert!(
                want.starts_with(&got.out),
                "output so far is a prefix of the data"
            );
        }
    }
}

#[test]
fn unstuffing_any_chunking() {
    for &(wire, _) in UNSTUFFING {
        let mut stream = wire.to_vec();
        stream.extend_from_slice(b"RSET\r\n");
        for policy in POLICIES {
            let whole = receive(&[&stream], policy);
            for chunks in chunkings(&stream) {
                assert_eq!(receive(&chunks, policy), whole, "{chunks:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SMTP smuggling (CVE-2023-51764, -51765, -51766): only CRLF "." CRLF ends the data.

const SMUGGLING: [&[u8]; 5] = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\n"];

#[test]
fn smuggling_vectors_never_end_data() {
    let smuggled = b"MAIL FROM:<evil@example.com>\r\n";
    for vector in SMUGGLING {
        for lead in [&b""[..], b"a", b"a\r\n"] {
            // The vector, then a smuggled command, then the real end.
            let mut content = lead.to_vec();
            content.extend_from_slice(vector);
            content.extend_from_slice(smuggled);
            let mut wire = content.clone();
            wire.extend_from_slice(b".\r\n");
            let show = String::from_utf8_lossy(&wire).into_owned();

            let reject = receive(&[&wire], BareLineEndings::Reject);
            assert_eq!(reject.consumed, wire.len(), "{show:?}");
            assert_eq!(
                reject.out, content,
                "Reject delivers the octets as they came: {show:?}"
            );
            assert_eq!(reject.end, end(content.len(), true), "{show:?}");

            let normalized = receive(&[&wire], BareLineEndings::Normalize);
            assert_eq!(normalized.consumed, wire.len(), "{show:?}");
            let mut want = lead.to_vec();
            want.extend_from_slice(b"\r\n.\r\n");
            want.extend_from_slice(smuggled);
            assert_eq!(
                String::from_utf8_lossy(&normalized.out),
                String::from_utf8_lossy(&want),
                "{show:?}"
            );
            assert_eq!(normalized.end, end(want.len(), false), "{show:?}");

            for chunks in chunkings(&wire) {
                assert_eq!(receive(&chunks, BareLineEndings::Reject), reject);
                assert_eq!(receive(&chunks, BareLineEndings::Normalize), normalized);
            }

            // Without the real end, the data goes on.
            for policy in POLICIES {
                assert_eq!(receive(&[&content], policy).end, None, "{show:?}");
            }
        }
    }
}

#[test]
fn normalize_turns_bare_cr_and_lf_into_crlf() {
    let wire = b"a\rb\nc\r\r\nd\n\ne\r\n.\r\n";
    let got = receive(&[wire], BareLineEndings::Normalize);
    let want = b"a\r\nb\r\nc\r\n\r\nd\r\n\r\ne\r\n";
    assert_eq!(
        String::from_utf8_lossy(&got.out),
        String::from_utf8_lossy(want)
    );
    assert_eq!(got.end, end(want.len(), false));
    let got = receive(&[wire], BareLineEndings::Reject);
    assert_eq!(got.out, &wire[..wire.len() - 3]);
    assert_eq!(got.end, end(wire.len() - 3, true));
    // A message with only CRLF line ends is not flagged.
    assert_eq!(
        receive(&[b"a\r\n.\r\n"], BareLineEndings::Reject).end,
        end(3, false)
    );
}

/// Python's smtplib sends `bytes` with their LF line ends and stuffs the dots of lines after
/// each LF; what arrives is the message it was given, in CRLF.
#[test]
fn normalize_unstuffs_lines_after_a_bare_lf() {
    let wire = b"Subject: lf\n\n..dot\n...two\n.\n.\r\nend\n\r\n.\r\n";
    let want = b"Subject: lf\r\n\r\n.dot\r\n..two\r\n.\r\n.\r\nend\r\n\r\n";
    let whole = receive(&[wire], BareLineEndings::Normalize);
    assert_eq!(
        String::from_utf8_lossy(&whole.out),
        String::from_utf8_lossy(want)
    );
    assert_eq!(whole.end, end(want.len(), false));
    assert_eq!(whole.consumed, wire.len());
    for chunks in chunkings(wire) {
        assert_eq!(receive(&chunks, BareLineEndings::Normalize), whole);
    }
    // A lone dot after a bare LF, then CRLF, is data, not the end (`\n.\r\n` smuggling).
    let smuggle = receive(&[b"a\n.\r\nMAIL FROM:<x>\r\n"], BareLineEndings::Normalize);
    assert_eq!(smuggle.end, None);
    assert_eq!(smuggle.out, b"a\r\n.\r\nMAIL FROM:<x>\r\n");
}

// ---------------------------------------------------------------------------------------------
// Limits.

#[test]
fn size_limit_caps_the_output() {
    let line = b"0123456789012345678\r\n"; // 21 octets
    let mut wire = Vec::new();
    for _ in 0..3 {
        wire.extend_from_slice(line);
    }
    wire.extend_from_slice(b".\r\n");
    for max in [0u64, 1, 10, 20, 21, 62] {
        let rx = DataReceiver::new(BareLineEndings::Reject, max, None);
        let whole = receive_with(&[&wire], rx.clone());
        let want_end = DataEnd {
            size: max,
            bare_line_ending: false,
            too_large: true,
            line_too_long: false,
        };
        assert_eq!(whole.end, Some(want_end), "max {max}");
        assert_eq!(whole.consumed, wire.len(), "the end is still found");
        assert_eq!(whole.out, &wire[..usize::try_from(max).unwrap()]);
        for chunks in chunkings(&wire) {
            assert_eq!(receive_with(&chunks, rx.clone()), whole);
        }
    }
    // Exactly at the limit is fine.
    let rx = DataReceiver::new(BareLineEndings::Reject, 63, None);
    let got = receive_with(&[&wire], rx);
    assert_eq!(got.end, end(63, false));
}

#[test]
fn line_limit_counts_octets_with_crlf_but_not_the_stuffed_dot() {
    let limit = |wire: &[u8]| {
        let rx = DataReceiver::new(BareLineEndings::Reject, u64::MAX, Some(10));
        let r = receive_with(&[wire], rx.clone());
        for chunks in chunkings(wire) {
            assert_eq!(receive_with(&chunks, rx.clone()), r);
        }
        r.end.unwrap().line_too_long
    };
    assert!(!limit(b"12345678\r\n.\r\n"));
    assert!(limit(b"123456789\r\n.\r\n"));
    assert!(limit(b"a\r\n123456789\r\nb\r\n.\r\n"));
    // RFC 5321 §4.5.3.1.6: the limit does not count the dot added for transparency.
    assert!(!limit(b"..2345678\r\n.\r\n"));
    assert!(limit(b"..23456789\r\n.\r\n"));
    // The count starts again on each line.
    assert!(!limit(b"12345678\r\n12345678\r\n.\r\n"));
    // The output is not cut.
    let rx = DataReceiver::new(BareLineEndings::Reject, u64::MAX, Some(10));
    assert_eq!(
        receive_with(&[b"123456789012\r\n.\r\n"], rx).out,
        b"123456789012\r\n"
    );
}

// ---------------------------------------------------------------------------------------------
// The client side: dot-stuffing.

#[test]
fn dot_stuffer_known_answers() {
    let table: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        // Not ending in CRLF: one is added before the marker.
        (b"a", b"a\r\n.\r\n"),
        (b"a\r\nb", b"a\r\nb\r\n.\r\n"),
        (b".", b"..\r\n.\r\n"),
        (b".\r\n", b"..\r\n.\r\n"),
        (b".a\r\n..b\r\nc.d\r\n", b"..a\r\n...b\r\nc.d\r\n.\r\n"),
        (b"\r\n.\r\n", b"\r\n..\r\n.\r\n"),
        // Bare CR and LF become CRLF, and a dot after them starts a line.
        (b"a\n.b", b"a\r\n..b\r\n.\r\n"),
        (b"a\r.b", b"a\r\n..b\r\n.\r\n"),
        (b"\r", b"\r\n.\r\n"),
        (b"\n", b"\r\n.\r\n"),
        (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n"),
        (b"\n.\n", b"\r\n..\r\n.\r\n"),
        (b"\r.\r\n", b"\r\n..\r\n.\r\n"),
    ];
    for &(data, want) in table {
        let show = String::from_utf8_lossy(data).into_owned();
        assert_eq!(
            String::from_utf8_lossy(&stuff(&[data])),
            String::from_utf8_lossy(want),
            "{show:?}"
        );
        for chunks in chunkings(data) {
            assert_eq!(stuff(&chunks), want, "{show:?} as {chunks:?}");
        }
        // And the receiver gets the normalized data back, with its final CRLF.
        let got = receive(&[want], BareLineEndings::Reject);
        assert_eq!(got.consumed, want.len());
        assert_eq!(got.out, expected_after_transfer(data), "{show:?}");
        assert!(!got.end.unwrap().bare_line_ending);
    }
    // `finish` makes the stuffer ready for the next message.
    let mut s = DotStuffer::new();
    let mut out = Vec::new();
    s.encode(b"a\r", &mut out);
    s.finish(&mut out);
    s.encode(b".", &mut out);
    s.finish(&mut out);
    assert_eq!(out, b"a\r\n.\r\n..\r\n.\r\n");
}

/// What a receiver delivers for `data` sent through a stuffer: the data with its line ends
/// normalized, and a CRLF added if it did not end with one.
fn expected_after_transfer(data: &[u8]) -> Vec<u8> {
    let mut want = normalize(data);
    if !want.is_empty() && !want.ends_with(b"\r\n") {
        want.extend_from_slice(b"\r\n");
    }
    want
}

// ---------------------------------------------------------------------------------------------
// BDAT: chunk counting and CRLF normalization.

#[test]
fn chunk_receiver_takes_exactly_the_chunk() {
    let mut rx = ChunkReceiver::new(10);
    assert_eq!(rx.take(b"0123"), b"0123");
    assert_eq!(rx.remaining(), 6);
    assert_eq!(rx.take(b""), b"");
    assert_eq!(rx.take(b"456789BDAT 1 LAST\r\n"), b"456789");
    assert_eq!(rx.remaining(), 0);
    assert_eq!(rx.take(b"more"), b"");
    let mut rx = ChunkReceiver::new(0);
    assert_eq!(rx.take(b"QUIT\r\n"), b"");
    // Sizes beyond usize are counted down, not truncated.
    let mut rx = ChunkReceiver::new(u64::MAX);
    assert_eq!(rx.take(b"abc"), b"abc");
    assert_eq!(rx.remaining(), u64::MAX - 3);
    // No stuffing: dots and `.CRLF` are data.
    let mut rx = ChunkReceiver::new(8);
    assert_eq!(rx.take(b"\r\n.\r\n..\r\n"), b"\r\n.\r\n..\r");
}

#[test]
fn crlf_normalizer_known_answers() {
    // Like the stuffer without the stuffing: a last line gets its CRLF at `finish`.
    let table: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
        (b"a\r\nb", b"a\r\nb\r\n"),
        (b"a\nb\rc", b"a\r\nb\r\nc\r\n"),
        (b"\r\r\n", b"\r\n\r\n"),
        (b"\n\r", b"\r\n\r\n"),
        (b".\r\n..\r\n.", b".\r\n..\r\n.\r\n"),
        (b"a\r", b"a\r\n"),
    ];
    for &(data, want) in table {
        for chunks in chunkings(data) {
            let mut n = CrlfNormalizer::default();
            let mut out = Vec::new();
            for c in &chunks {
                n.encode(c, &mut out);
            }
            n.finish(&mut out);
            assert_eq!(out, want, "{:?}", String::from_utf8_lossy(data));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties over arbitrary data.

fn data_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(b'\r'),
            3 => Just(b'\n'),
            3 => Just(b'.'),
            2 => Just(b'a'),
            1 => Just(b' '),
            1 => any::<u8>(),
        ],
        0..80,
    )
}

/// Cuts `data` at the given points (taken modulo its length, sorted).
fn cut<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = points.iter().map(|p| p % (data.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for p in at {
        chunks.push(&data[from..p]);
        from = p;
    }
    chunks.push(&data[from..]);
    chunks
}

/// Reference for where the data ends: the first `CRLF "." CRLF`, counting the start of the
/// data as a line start.
fn reference_end(wire: &[u8]) -> Option<usize> {
    let mut framed = b"\r\n".to_vec();
    framed.extend_from_slice(wire);
    framed
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|p| p + 3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever is sent through the stuffer comes out of the receiver, normalized.
    #[test]
    fn stuff_then_receive_round_trips(
        data in data_bytes(),
        send_cuts in prop::collection::vec(any::<usize>(), 0..4),
        recv_cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let wire = stuff(&cut(&data, &send_cuts));
        let mut with_next = wire.clone();
        with_next.extend_from_slice(b"QUIT\r\n");
        let got = receive(&cut(&with_next, &recv_cuts), BareLineEndings::Reject);
        let want = expected_after_transfer(&data);
        prop_assert_eq!(got.consumed, wire.len());
        prop_assert_eq!(got.end, end(want.len(), false));
        prop_assert_eq!(got.out, want);
    }

    /// On any input the data ends at the first `CRLF.CRLF` and nowhere else, the result does
    /// not depend on chunking, and Normalize delivers what Reject does with bare line ends
    /// made CRLF and the lines after a bare LF unstuffed.
    #[test]
    fn receiver_ends_only_at_crlf_dot_crlf(
        wire in data_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..5),
    ) {
        let reject = receive(&[&wire], BareLineEndings::Reject);
        prop_assert_eq!(reject.end.map(|_| reject.consumed), reference_end(&wire));
        prop_assert_eq!(&receive(&cut(&wire, &cuts), BareLineEndings::Reject), &reject);
        let normalized = receive(&[&wire], BareLineEndings::Normalize);
        prop_assert_eq!(normalized.consumed, reject.consumed);
        prop_assert_eq!(&receive(&cut(&wire, &cuts), BareLineEndings::Normalize), &normalized);
        let dot_pending = reject.end.is_none() && wire.ends_with(b"\n.") && !wire.ends_with(b"\r\n.");
        prop_assert_eq!(&normalized.out, &normalize_received(&reject.out, dot_pending));
        if let Some(e) = reject.end {
            prop_assert_eq!(e.size, reject.out.len() as u64);
            let bare = normalize(&reject.out) != reject.out;
            prop_assert_eq!(e.bare_line_ending, bare);
            prop_assert!(!normalized.end.unwrap().bare_line_ending);
        }
    }

    /// The normalizer agrees with the reference however the data is cut.
    #[test]
    fn crlf_normalizer_matches_reference(
        data in data_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let mut n = CrlfNormalizer::default();
        let mut out = Vec::new();
        for c in cut(&data, &cuts) {
            n.encode(c, &mut out);
        }
        n.finish(&mut out);
        prop_assert_eq!(&out, &expected_after_transfer(&data));
        // `finish` leaves it ready for the next message.
        n.encode(b"x", &mut out);
        n.finish(&mut out);
        prop_assert!(out.ends_with(b"x\r\n") && out.len() == expected_after_transfer(&data).len() + 3);
    }
}

/// Removes every CRLF SP: what breaking long lines inserts, and unfolding takes out.
fn unfold(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut i = 0;
    while i < wire.len() {
        if wire[i..].starts_with(b"\r\n ") {
            i += 3;
        } else {
            out.push(wire[i]);
            i += 1;
        }
    }
    out
}

/// Text with long runs, dots, line ends and multi-octet characters.
fn text_with_long_lines() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => (1usize..40).prop_map(|n| vec![b'a'; n]),
            1 => Just(b".".to_vec()),
            1 => Just(b"\r\n".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(b"\r\n ".to_vec()),
            1 => Just("é".as_bytes().to_vec()),
            1 => Just("€".as_bytes().to_vec()),
            1 => Just("𝄞".as_bytes().to_vec()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// Known answer: a line of 25 octets with a limit of 10, and a stuffed dot counted.
#[test]
fn long_lines_are_broken_with_crlf_space() {
    let mut s = DotStuffer::with_line_limit(10);
    let mut wire = Vec::new();
    s.encode(
        b"abcdefghijklmnopqrstuvwxy\r\n.123456789xyz\r\nshort",
        &mut wire,
    );
    s.finish(&mut wire);
    assert_eq!(
        wire,
        b"abcdefghij\r\n klmnopqrs\r\n tuvwxy\r\n..12345678\r\n 9xyz\r\nshort\r\n.\r\n"
    );
    // A character is not split: "é" (two octets) would end at column 11.
    let mut s = DotStuffer::with_line_limit(10);
    let mut wire = Vec::new();
    s.encode("abcdefghié".as_bytes(), &mut wire);
    s.finish(&mut wire);
    assert_eq!(wire, "abcdefghi\r\n é\r\n.\r\n".as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// With a line limit, no line on the wire is longer than it (a stuffed dot counted), no
    /// UTF-8 character is split, and taking out the inserted CRLF SP gives what the
    /// stuffer without a limit sends with its own CRLF SP taken out; the same for the
    /// normalizer, however the data is cut.
    #[test]
    fn broken_lines_keep_the_text(
        data in text_with_long_lines(),
        limit in 8usize..30,
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let chunks = cut(&data, &cuts);
        let mut s = DotStuffer::with_line_limit(limit);
        let mut n = CrlfNormalizer::with_line_limit(limit);
        let (mut wire, mut normalized) = (Vec::new(), Vec::new());
        for c in &chunks {
            s.encode(c, &mut wire);
            n.encode(c, &mut normalized);
        }
        s.finish(&mut wire);
        n.finish(&mut normalized);
        for line in wire.split(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\r").unwrap_or(line);
            prop_assert!(text.len() <= limit, "{:?}", String::from_utf8_lossy(text));
            prop_assert!(std::str::from_utf8(text).is_ok());
        }
        prop_assert_eq!(unfold(&wire), unfold(&stuff(&chunks)));
        let mut plain = CrlfNormalizer::default();
        let mut want = Vec::new();
        plain.encode(&data, &mut want);
        plain.finish(&mut want);
        prop_assert_eq!(unfold(&normalized), unfold(&want));
        prop_assert!(normalized.split(|&b| b == b'\n').all(|l| l.len() <= limit + 1));
    }
}

/// Messages of several bulk-check chunks (8 KiB each): ordinary lines with, at random
/// places, a line that needs the careful path (a stuffed dot, a bare CR or LF, a line over
/// the limit).
fn long_data() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        20 => (1usize..90).prop_map(|n| {
            let mut l = vec![b'x'; n];
            l.extend_from_slice(b"\r\n");
            l
        }),
        1 => Just(b"..stuffed\r\n".to_vec()),
        1 => Just(b"bare\rCR\r\n".to_vec()),
        1 => Just(b"bare LF\n".to_vec()),
        1 => (150usize..9000).prop_map(|n| {
            let mut l = vec![b'y'; n];
            l.extend_from_slice(b"\r\n");
            l
        }),
    ];
    prop::collection::vec(line, 200..800).prop_map(|lines| lines.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Across chunk boundaries of the bulk check, the receiver delivers what it delivers one
    /// octet at a time (where there is no bulk check), flags included.
    #[test]
    fn long_messages_match_octet_by_octet(
        data in long_data(),
        cuts in prop::collection::vec(any::<usize>(), 0..3),
    ) {
        let mut wire = data;
        // A real CRLF before the marker: after a bare LF, "." CRLF is not the end.
        wire.extend_from_slice(b"end\r\n.\r\nQUIT\r\n");
        for policy in POLICIES {
            let rx = || DataReceiver::new(policy, u64::MAX, Some(100));
            let whole = receive_with(&[&wire], rx());
            let octets: Vec<&[u8]> = wire.chunks(1).collect();
            prop_assert_eq!(&receive_with(&octets, rx()), &whole);
            prop_assert_eq!(&receive_with(&cut(&wire, &cuts), rx()), &whole);
            prop_assert_eq!(whole.consumed, wire.len() - b"QUIT\r\n".len());
            // Handed out in runs instead of copied: the same data, in the same order.
            let mut runs = Vec::new();
            let (consumed, end) = rx().decode_with(&wire, |run| runs.extend_from_slice(run));
            prop_assert_eq!(Received { out: runs, consumed, end }, whole);
        }
    }
}

#[test]
fn decode_with_hands_out_whole_lines_borrowed() {
    // 64 KiB of ordinary lines, one stuffed line in 50.
    let mut wire = Vec::new();
    for n in 0..1000 {
        if n % 50 == 7 {
            wire.extend_from_slice(b"..a line that starts with a dot\r\n");
        } else {
            wire.extend_from_slice(
                format!("line {n:4} of ordinary text, {}\r\n", "x".repeat(n % 40)).as_bytes(),
            );
        }
    }
    wire.extend_from_slice(b".\r\n");
    let mut copied = Vec::new();
    let (n, end) =
        DataReceiver::new(BareLineEndings::Reject, u64::MAX, Some(1000)).decode(&wire, &mut copied);
    assert_eq!(n, wire.len());

    let input = wire.as_ptr_range();
    // The runs outlive the call: kept, then written out at once.
    let mut runs: Vec<&[u8]> = Vec::new();
    let (n_with, end_with) = DataReceiver::new(BareLineEndings::Reject, u64::MAX, Some(1000))
        .decode_with(&wire, |run| runs.push(run));
    assert_eq!((n_with, end_with), (n, end));
    // Every run lies in the input: nothing was copied, not even the CRLFs.
    assert!(runs.iter().all(|r| {
        let r = r.as_ptr_range();
        input.start <= r.start && r.end <= input.end
    }));
    assert_eq!(runs.concat(), copied);
    // Whole lines at a time: a few runs per stuffed line and per 8 KiB, not one per line.
    assert!(
        runs.len() < 20 * 4 + 2 * wire.len() / 8192,
        "{} runs",
        runs.len()
    );
}
