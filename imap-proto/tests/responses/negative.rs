//! Input that must be refused, nesting bombs, and arbitrary input that must not panic.

use proptest::prelude::*;
use sansmail_imap::codec::{
    DecodeError, ResponseOptions, SyntaxError, SyntaxErrorKind, decode_response, parse_greeting,
    parse_response,
};

const BAD: &[&[u8]] = &[
    b"\r\n",
    b"*\r\n",
    b"* \r\n",
    b"+x\r\n",
    b"* OK x",
    b"* OK x\n",
    b"* OK a\0b\r\n",
    b"* OK Gr\xc3\xbc\xc3\x9fe\r\n",
    b"* OKAY x\r\n",
    b"a1 BYE x\r\n",
    b"a1 PREAUTH x\r\n",
    b"a+1 OK x\r\n",
    b"a1  OK x\r\n",
    b"* FOO bar\r\n",
    b"* OK [UIDNEXT 5 x\r\n",
    b"* OK [] x\r\n",
    b"* OK [ALERT]x\r\n",
    b"* OK [ALERT ] x\r\n",
    b"* OK [PERMANENTFLAGS (\\Seen foo]bar)] x\r\n",
    b"* 0 FETCH (UID 1)\r\n",
    b"* 0 EXPUNGE\r\n",
    b"* 1 FETCH ()\r\n",
    b"* 1 FETCH (UID 0)\r\n",
    b"* 1 FETCH (FOO)\r\n",
    b"* 1 FETCH (FOO (1)\r\n",
    b"* 1 FETCH (UID 1 )\r\n",
    b"* 1 FETCH (UID 1  FLAGS ())\r\n",
    b"* 1 FETCH (UID 1\r\n",
    b"* 1 FETCH (MODSEQ 5)\r\n",
    b"* 1 FETCH (EMAILID ())\r\n",
    b"* 1 FETCH (EMAILID (a b))\r\n",
    b"* 1 FETCH (FLAGS (\\*))\r\n",
    b"* 1 FETCH (INTERNALDATE \"30-Feb-2024 10:00:00 +0000\")\r\n",
    b"* 1 FETCH (INTERNALDATE \"1-Feb-2024 10:00:00 +0000\")\r\n",
    b"* 1 FETCH (BODY[] ~{3}\r\nabc)\r\n",
    b"* 1 FETCH (BODY[MIME] NIL)\r\n",
    b"* 1 FETCH (BODY[]<x> NIL)\r\n",
    b"* 1 FETCH (BINARY[0] NIL)\r\n",
    b"* 1 FETCH (BINARY.SIZE[1] x)\r\n",
    b"* 1 FETCH (BODY[] {3}\r\nab)\r\n",
    b"* 1 FETCH (RFC822.SIZE -1)\r\n",
    b"* 1 FETCH (ENVELOPE (NIL NIL () NIL NIL NIL NIL NIL NIL NIL))\r\n",
    b"* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
    b"* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL))\r\n",
    // (Without lines a "TEXT" part is `body-type-basic`: `media-basic` may be any string.)
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 x))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" () NIL NIL \"7BIT\" 10 1))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"a\") NIL NIL \"7BIT\" 10 1))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"a\" NIL) NIL NIL \"7BIT\" 10 1))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL NIL 10 1))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL ()))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"APPLICATION\" \"PDF\" NIL NIL NIL \"BASE64\" 10 NIL (\"A\")))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 10 1))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) \"MIXED\"))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)))\r\n",
    b"* 1 FETCH (BODYSTRUCTURE ())\r\n",
    b"* FLAGS (\\*)\r\n",
    b"* FLAGS (\\Seen\r\n",
    b"* FLAGS \\Seen\r\n",
    b"* LIST (\\Noselect) \"//\" foo\r\n",
    b"* LIST (\\Noselect) \"\" foo\r\n",
    b"* LIST () \"/\"\r\n",
    b"* LIST () \"/\" \r\n",
    b"* LIST (Noselect) \"/\" foo\r\n",
    b"* LIST () \"/\" foo (CHILDINFO ())\r\n",
    b"* LIST () \"/\" {3}\r\na\rb\r\n",
    b"* STATUS INBOX (FOO 1)\r\n",
    b"* STATUS INBOX (UIDNEXT 0)\r\n",
    b"* STATUS INBOX MESSAGES 1\r\n",
    b"* SEARCH 0\r\n",
    b"* SEARCH 1  2\r\n",
    b"* SEARCH 1 (MODSEQ)\r\n",
    b"* SEARCH x\r\n",
    b"* ESEARCH (TAG \"a\") MIN 0\r\n",
    b"* ESEARCH (TAG) MIN 1\r\n",
    b"* ESEARCH MIN\r\n",
    b"* ESEARCH PARTIAL (1:-5 NIL)\r\n",
    b"* 1 EXISTS x\r\n",
    b"* -1 EXISTS\r\n",
    b"* 4294967296 EXISTS\r\n",
    b"* THREAD ()\r\n",
    b"* THREAD (1 2(3))\r\n",
    b"* THREAD (1 (\r\n",
    b"* THREAD (0)\r\n",
    b"* THREAD (1) (2)\r\n",
    b"* VANISHED 1:*\r\n",
    b"* VANISHED (EARLIER)\r\n",
    b"* NAMESPACE ((\"\" \"/\"))\r\n",
    b"* NAMESPACE () NIL NIL\r\n",
    b"* NAMESPACE ((\"\" \"/\" \"X\" ())) NIL NIL\r\n",
    b"* QUOTA x (STORAGE 1)\r\n",
    b"* QUOTAROOT\r\n",
    b"* ID (\"a\")\r\n",
    b"* ID\r\n",
    b"* METADATA INBOX ()\r\n",
    b"* METADATA INBOX\r\n",
    b"* CAPABILITY  IMAP4rev1\r\n",
    // RFC 5267: ADDTO and REMOVEFROM hold at least one position and set.
    b"* ESEARCH ADDTO ()\r\n",
    b"* ESEARCH ADDTO (1)\r\n",
    b"* ESEARCH ADDTO (1 2 3)\r\n",
    b"* ESEARCH REMOVEFROM (x 2)\r\n",
    b"* ESEARCH (TAG \"A\") PARTIAL (1:-2 NIL)\r\n",
    b"* ESEARCH PARTIAL (0:5 1)\r\n",
];

#[test]
fn refused() {
    let strict = ResponseOptions::default();
    for bad in BAD {
        let r = parse_response(bad, &strict);
        assert!(
            r.is_err(),
            "accepted {:?}: {r:?}",
            String::from_utf8_lossy(bad)
        );
        let e = r.unwrap_err();
        assert!(e.offset <= bad.len(), "{e:?}");
        assert!(!e.to_string().is_empty());
        // Through the framer, the whole message is skipped.
        if let Err(d @ DecodeError::Syntax { .. }) = decode_response(bad, &strict) {
            assert_eq!(d.skip(), bad.len());
        }
    }
}

#[test]
fn error_positions() {
    let opts = ResponseOptions::default();
    assert_eq!(
        parse_response(b"* 1 FETCH (UID 1 FOO ()\r\n", &opts),
        Err(SyntaxError {
            kind: SyntaxErrorKind::Syntax,
            tag: None,
            offset: 23,
            expected: "SP",
        })
    );
    assert_eq!(
        parse_response(b"* OK x", &opts),
        Err(SyntaxError {
            kind: SyntaxErrorKind::Syntax,
            tag: None,
            offset: 6,
            expected: "CRLF at the end of the message",
        })
    );
}

fn nested(open: &str, n: usize, inner: &str, close: &str) -> Vec<u8> {
    [open.repeat(n), inner.to_string(), close.repeat(n)]
        .concat()
        .into_bytes()
}

#[test]
fn nesting_bombs_are_errors() {
    let opts = ResponseOptions::default();
    let n = 100_000;
    let bombs: Vec<Vec<u8>> = vec![
        [&b"* 1 FETCH (BODYSTRUCTURE "[..], &nested("(", n, "", ""), b"\r\n"].concat(),
        [&b"* 1 FETCH (BODYSTRUCTURE "[..], &nested("(", n, "\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1", ") \"MIXED\""), b")\r\n"].concat(),
        [&b"* 1 FETCH (BODY ("[..], &nested("(", n, "", ")"), b")\r\n"].concat(),
        [&b"* THREAD "[..], &nested("(", n, "1", ")"), b"\r\n"].concat(),
        [&b"* THREAD "[..], &nested("(", n, "", ""), b"\r\n"].concat(),
        [&b"* LIST () \"/\" x (X "[..], &nested("(", n, "a", ")"), b")\r\n"].concat(),
        [&b"* ESEARCH X "[..], &nested("(", n, "a", ")"), b"\r\n"].concat(),
        [&b"* 1 FETCH (BODYSTRUCTURE (\"A\" \"B\" NIL NIL NIL \"7BIT\" 1 NIL NIL NIL NIL "[..], &nested("(", n, "1", ")"), b"))\r\n"].concat(),
        [&b"* 1 FETCH (BODYSTRUCTURE "[..], &nested("(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ", n, "", ""), b"\r\n"].concat(),
    ];
    for bomb in &bombs {
        match parse_response(bomb, &opts) {
            Err(SyntaxError {
                kind: SyntaxErrorKind::TooDeep,
                ..
            }) => {}
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(&bomb[..60])),
        }
        // Through the framer as well (with room for the long line).
        let roomy = ResponseOptions {
            limits: sansmail_imap::codec::frame::FrameLimits {
                max_line: 1 << 24,
                ..Default::default()
            },
            ..opts
        };
        let d = decode_response(bomb, &roomy);
        assert!(
            matches!(&d, Err(DecodeError::Syntax { error, .. }) if error.kind == SyntaxErrorKind::TooDeep),
            "{d:?}"
        );
    }
}

#[test]
fn nesting_up_to_the_limit_parses() {
    let leaf = "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)";
    let body = |depth: usize| {
        let mut b = leaf.to_string();
        for _ in 1..depth {
            b = format!("({b} \"MIXED\")");
        }
        format!("* 1 FETCH (BODYSTRUCTURE {b})\r\n").into_bytes()
    };
    let opts = ResponseOptions::default();
    let deepest = body(100);
    let r = parse_response(&deepest, &opts).unwrap();
    assert_eq!(super::common::encode(&r), deepest);
    assert!(matches!(
        parse_response(&body(101), &opts),
        Err(SyntaxError {
            kind: SyntaxErrorKind::TooDeep,
            ..
        })
    ));
    let shallow = ResponseOptions {
        max_depth: 3,
        ..opts
    };
    assert!(parse_response(&body(3), &shallow).is_ok());
    assert!(parse_response(&body(4), &shallow).is_err());
    // Nested message/rfc822 parts: the deepest frames of the parser.
    let message = |depth: usize| {
        let mut b = leaf.to_string();
        for _ in 1..depth {
            b = format!(
                "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) {b} 1)"
            );
        }
        format!("* 1 FETCH (BODYSTRUCTURE {b})\r\n").into_bytes()
    };
    let deepest = message(100);
    let r = parse_response(&deepest, &opts).unwrap();
    assert_eq!(super::common::encode(&r), deepest);
    assert_eq!(r.clone().into_owned(), r);
    assert!(matches!(
        parse_response(&message(101), &opts),
        Err(SyntaxError {
            kind: SyntaxErrorKind::TooDeep,
            ..
        })
    ));
    let thread = |depth: usize| nested("(1 ", depth, "(2)(3)", ")");
    let t = [&b"* THREAD "[..], &thread(99), b"\r\n"].concat();
    assert!(parse_response(&t, &opts).is_ok());
    let t = [&b"* THREAD "[..], &thread(100), b"\r\n"].concat();
    assert!(parse_response(&t, &opts).is_err());
}

/// The sample messages, for mutation.
fn samples() -> Vec<&'static [u8]> {
    let mut v: Vec<&'static [u8]> = super::framing::SAMPLES.to_vec();
    v.extend(BAD);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_do_not_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let opts = ResponseOptions::default();
        let _ = parse_response(&input, &opts);
        let _ = decode_response(&input, &opts);
        let _ = parse_greeting(&input, &opts);
        let lenient = ResponseOptions { lenient: sansmail_imap::codec::Leniency::all(), utf8: true, ..opts };
        let _ = parse_response(&input, &lenient);
    }

    #[test]
    fn mutated_samples_do_not_panic(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"()[]{}<>\"\\ *+-~0123456789NILnil\r\n\0\xff.:,$".to_vec()),
        op in 0..3u8,
    ) {
        let all = samples();
        let mut msg = all[which.index(all.len())].to_vec();
        let i = at.index(msg.len() + 1);
        match op {
            0 => msg.insert(i, byte),
            1 if i < msg.len() => msg[i] = byte,
            _ => { msg.truncate(i); msg.extend_from_slice(b"\r\n"); }
        }
        for opts in [ResponseOptions::default(), ResponseOptions { lenient: sansmail_imap::codec::Leniency::all(), ..ResponseOptions::default() }] {
            if let Ok(r) = parse_response(&msg, &opts) {
                // Whatever parses re-encodes to something that parses again and encodes to
                // the same octets; ASCII parses to the same value. (An 8-bit quoted string,
                // read lossily, goes out as a literal without UTF-8: the same text, not the
                // same variant.)
                let bytes = super::common::encode_with(&r, &opts);
                let again = parse_response(&bytes, &opts).unwrap();
                prop_assert_eq!(&super::common::encode_with(&again, &opts), &bytes);
                if msg.is_ascii() {
                    prop_assert_eq!(again, r);
                }
            }
            let _ = decode_response(&msg, &opts);
        }
    }
}
