//! Each leniency: off (the default) the deviation is an error, on it is accepted.

use sansmail_imap::{
    codec::{Leniency, ResponseOptions, parse_greeting, parse_response},
    types::{
        body::{Body, SinglePart},
        fetch::FetchItem,
        flag::Flag,
        response::{Data, Response, StatusKind},
        response_code::ResponseCode,
    },
};

use super::common::*;

fn with(lenient: Leniency) -> ResponseOptions {
    ResponseOptions {
        lenient,
        ..ResponseOptions::default()
    }
}

/// `wire` fails strictly and under every other leniency, and parses under `on` (and under
/// `Leniency::all()`) to `expected`, re-encoding to `reencoded`.
fn lenient_case(on: Leniency, wire: &[u8], expected: &Response<'_>, reencoded: &[u8]) {
    let show = String::from_utf8_lossy(wire);
    assert!(
        parse_response(wire, &ResponseOptions::default()).is_err(),
        "strict accepted {show:?}"
    );
    for other in others(on) {
        assert!(
            parse_response(wire, &with(other)).is_err(),
            "{other:?} accepted {show:?}"
        );
    }
    for opts in [with(on), with(Leniency::all())] {
        let got = parse_response(wire, &opts).unwrap_or_else(|e| panic!("{e} in {show:?}"));
        assert_eq!(&got, expected, "{show:?}");
        assert_eq!(
            String::from_utf8_lossy(&encode_with(&got, &opts)),
            String::from_utf8_lossy(reencoded)
        );
    }
}

/// Every single leniency except `on`.
fn others(on: Leniency) -> Vec<Leniency> {
    let none = Leniency::default();
    [
        Leniency {
            trailing_space: true,
            ..none
        },
        Leniency {
            nil_for_string: true,
            ..none
        },
        Leniency {
            gmail_flags: true,
            ..none
        },
        Leniency {
            missing_text: true,
            ..none
        },
        Leniency {
            eight_bit_text: true,
            ..none
        },
        Leniency {
            empty_lists: true,
            ..none
        },
        Leniency {
            unpadded_day: true,
            ..none
        },
        Leniency {
            nul_in_literals: true,
            ..none
        },
    ]
    .into_iter()
    .filter(|l| *l != on)
    .collect()
}

#[test]
fn default_is_strict() {
    assert_eq!(ResponseOptions::default().lenient, Leniency::default());
    let l = Leniency::default();
    assert!(
        !(l.trailing_space
            || l.nil_for_string
            || l.gmail_flags
            || l.missing_text
            || l.eight_bit_text
            || l.empty_lists
            || l.unpadded_day
            || l.nul_in_literals)
    );
}

#[test]
fn trailing_space() {
    let on = Leniency {
        trailing_space: true,
        ..Leniency::default()
    };
    for (wire, canonical) in [
        (&b"* SEARCH 1 2 \r\n"[..], &b"* SEARCH 1 2\r\n"[..]),
        (b"* SEARCH \r\n", b"* SEARCH\r\n"),
        (b"* 3 EXISTS  \r\n", b"* 3 EXISTS\r\n"),
        (b"* 1 FETCH (UID 7) \r\n", b"* 1 FETCH (UID 7)\r\n"),
        (
            b"* LIST (\\Noselect) \"/\" foo \r\n",
            b"* LIST (\\Noselect) \"/\" foo\r\n",
        ),
        (
            b"* CAPABILITY IMAP4rev1 IDLE \r\n",
            b"* CAPABILITY IMAP4rev1 IDLE\r\n",
        ),
    ] {
        lenient_case(on, wire, &parse(canonical), canonical);
    }
    // A literal's octets are data: `Sent ` keeps its space.
    let opts = with(on);
    let literal = parse_with(b"* LIST () \"/\" {5}\r\nSent \r\n", &opts);
    assert_eq!(literal, parse(b"* LIST () \"/\" \"Sent \"\r\n"));
    // A literal length that does not fit is no literal end (no overflow).
    let _ = sansmail_imap::codec::parse_response(
        b"* 1 FETCH (BODY[] \"x {18446744073709551615}\r\n \") \r\n",
        &opts,
    );
    // Status text keeps its spaces under the leniency too.
    assert_eq!(
        parse_with(b"* OK hi \r\n", &opts),
        untagged(StatusKind::Ok, None, "hi ")
    );
}

#[test]
fn nil_for_string() {
    let on = Leniency {
        nil_for_string: true,
        ..Leniency::default()
    };
    let wire =
        b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" NIL) NIL NIL NIL 10 1))\r\n";
    let r = parse_with(wire, &with(on));
    let Response::Data(Data::Fetch { items, .. }) = &r else {
        panic!()
    };
    let FetchItem::BodyStructure(b) = &items[0] else {
        panic!()
    };
    let Body::Single(SinglePart { fields, .. }) = &**b else {
        panic!()
    };
    assert_eq!(fields.params, Some(vec![(q("CHARSET"), None)]));
    assert_eq!(fields.encoding, None);
    lenient_case(on, wire, &r, wire);
    // In a disposition's parameters too.
    let wire = b"* 1 FETCH (BODYSTRUCTURE (\"APPLICATION\" \"PDF\" NIL NIL NIL \"BASE64\" 10 NIL (\"ATTACHMENT\" (\"FILENAME\" NIL))))\r\n";
    lenient_case(on, wire, &parse_with(wire, &with(on)), wire);
}

#[test]
fn gmail_flags() {
    let on = Leniency {
        gmail_flags: true,
        ..Leniency::default()
    };
    let opts = with(on);
    let wire = b"* FLAGS (\\Answered \\Seen $NotPhishing Junk]Mail \\X]y)\r\n";
    let r = parse_with(wire, &opts);
    let Response::Data(Data::Flags(flags)) = &r else {
        panic!()
    };
    assert_eq!(flags[3].to_string(), "Junk]Mail");
    assert!(matches!(&flags[3], Flag::Keyword(_)));
    assert!(matches!(&flags[4], Flag::Extension(_)));
    lenient_case(on, wire, &r, wire);

    let wire = b"* OK [PERMANENTFLAGS (\\Seen [Gmail]Label \\*)] Flags permitted.\r\n";
    let r = parse_with(wire, &opts);
    let Response::Status(s) = &r else { panic!() };
    let Some(ResponseCode::PermanentFlags(flags)) = &s.code else {
        panic!("{r:?}")
    };
    assert_eq!(
        flags.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["\\Seen", "[Gmail]Label", "\\*"]
    );
    lenient_case(on, wire, &r, wire);

    let wire = b"* 1 FETCH (FLAGS (\\Seen x]))\r\n";
    lenient_case(on, wire, &parse_with(wire, &opts), wire);
}

#[test]
fn missing_text() {
    let on = Leniency {
        missing_text: true,
        ..Leniency::default()
    };
    let cases: Vec<(&[u8], Response<'static>, &[u8])> = vec![
        (
            b"* OK\r\n",
            untagged(StatusKind::Ok, None, ""),
            b"* OK \r\n",
        ),
        (
            b"* BYE\r\n",
            untagged(StatusKind::Bye, None, ""),
            b"* BYE \r\n",
        ),
        (
            b"a1 OK\r\n",
            tagged("a1", StatusKind::Ok, None, ""),
            b"a1 OK \r\n",
        ),
        (b"+\r\n", cont(None, ""), b"+ \r\n"),
        (
            b"* OK [HIGHESTMODSEQ 9]\r\n",
            ok_code(ResponseCode::HighestModSeq(9), ""),
            b"* OK [HIGHESTMODSEQ 9] \r\n",
        ),
        (
            b"a2 NO [TRYCREATE]\r\n",
            tagged("a2", StatusKind::No, Some(ResponseCode::TryCreate), ""),
            b"a2 NO [TRYCREATE] \r\n",
        ),
        (
            b"+ [ALERT]\r\n",
            cont(Some(ResponseCode::Alert), ""),
            b"+ [ALERT] \r\n",
        ),
    ];
    for (wire, expected, reencoded) in cases {
        lenient_case(on, wire, &expected, reencoded);
    }
    assert!(parse_greeting(b"* OK\r\n", &ResponseOptions::default()).is_err());
    assert!(parse_greeting(b"* OK\r\n", &with(on)).is_ok());
}

#[test]
fn eight_bit_text() {
    let on = Leniency {
        eight_bit_text: true,
        ..Leniency::default()
    };
    lenient_case(
        on,
        "* OK Grüße\r\n".as_bytes(),
        &untagged(StatusKind::Ok, None, "Grüße"),
        "* OK Grüße\r\n".as_bytes(),
    );
    lenient_case(
        on,
        "+ Weiter …\r\n".as_bytes(),
        &cont(None, "Weiter …"),
        "+ Weiter …\r\n".as_bytes(),
    );
    // Octets that are not UTF-8 (Latin-1 here) are replaced.
    lenient_case(
        on,
        b"a1 NO Gr\xfc\xdfe\r\n",
        &tagged("a1", StatusKind::No, None, "Gr\u{fffd}\u{fffd}e"),
        "a1 NO Gr\u{fffd}\u{fffd}e\r\n".as_bytes(),
    );
    // UTF-8 mode accepts UTF-8 but still refuses other octets.
    let utf8 = ResponseOptions {
        utf8: true,
        ..ResponseOptions::default()
    };
    assert!(parse_response("* OK Grüße\r\n".as_bytes(), &utf8).is_ok());
    assert!(parse_response(b"* OK Gr\xfc\xdfe\r\n", &utf8).is_err());
}

/// A Latin-1 subject copied unencoded into ENVELOPE is read with U+FFFD, not refused with
/// the whole FETCH.
#[test]
fn eight_bit_quoted_strings() {
    let on = Leniency {
        eight_bit_text: true,
        ..Leniency::default()
    };
    let canonical = "* 1 FETCH (ENVELOPE (NIL \"Gr\u{fffd}\u{fffd}e \\\"x\\\"\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n";
    let expected = parse(canonical.as_bytes());
    lenient_case(
        on,
        b"* 1 FETCH (ENVELOPE (NIL \"Gr\xfc\xdfe \\\"x\\\"\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
        &expected,
        &encode_with(&expected, &with(on)),
    );
    // Message data is never altered: its octets stay an error rather than U+FFFD.
    for data in [
        &b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] \"Subject: Gr\xfc\xdfe\")\r\n"[..],
        b"* 1 FETCH (RFC822.HEADER \"Subject: Gr\xfc\xdfe\")\r\n",
    ] {
        assert!(parse_response(data, &with(Leniency::all())).is_err());
    }
    // A preview is text, as ENVELOPE's is.
    assert!(parse_response(b"* 1 FETCH (PREVIEW \"Gr\xfc\xdfe\")\r\n", &with(on)).is_ok());
}

/// `()` for no parameters and for an empty address list (Mail.ru, Domino) is read as NIL.
#[test]
fn empty_lists() {
    let on = Leniency {
        empty_lists: true,
        ..Leniency::default()
    };
    for (wire, canonical) in [
        (
            &b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" () NIL NIL \"7BIT\" 10 1))\r\n"[..],
            &b"* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1))\r\n"[..],
        ),
        (
            b"* 1 FETCH (ENVELOPE (NIL \"s\" ((\"T\" NIL \"i\" \"e.ru\")) NIL NIL () NIL NIL NIL NIL))\r\n",
            b"* 1 FETCH (ENVELOPE (NIL \"s\" ((\"T\" NIL \"i\" \"e.ru\")) NIL NIL NIL NIL NIL NIL NIL))\r\n",
        ),
    ] {
        lenient_case(on, wire, &parse(canonical), canonical);
    }
}

/// A one-digit day without its space (`"8-Mar-2023 ..."`) is read, and encoded back as two
/// digits.
#[test]
fn unpadded_day() {
    let on = Leniency {
        unpadded_day: true,
        ..Leniency::default()
    };
    lenient_case(
        on,
        b"* 1 FETCH (INTERNALDATE \"8-Mar-2023 12:16:47 +0800\" UID 5)\r\n",
        &parse(b"* 1 FETCH (INTERNALDATE \" 8-Mar-2023 12:16:47 +0800\" UID 5)\r\n"),
        b"* 1 FETCH (INTERNALDATE \"08-Mar-2023 12:16:47 +0800\" UID 5)\r\n",
    );
    // Still a date: a day of one digit followed by anything else is refused.
    assert!(
        parse_response(
            b"* 1 FETCH (INTERNALDATE \"8-Foo-2023 12:16:47 +0800\")\r\n",
            &with(on)
        )
        .is_err()
    );
    assert!(parse_response(b"* 1 FETCH (INTERNALDATE \"8\")\r\n", &with(on)).is_err());
}

/// A literal holding NUL (a damaged message) is kept whole under the leniency.
#[test]
fn nul_in_literals() {
    let on = Leniency {
        nul_in_literals: true,
        ..Leniency::default()
    };
    let wire = b"* 1 FETCH (BODY[] {3}\r\na\x00b UID 5)\r\n";
    assert!(parse_response(wire, &ResponseOptions::default()).is_err());
    for opts in [with(on), with(Leniency::all())] {
        let Response::Data(Data::Fetch { items, .. }) = parse_with(wire, &opts) else {
            panic!()
        };
        let FetchItem::BodySection {
            data: Some(data), ..
        } = &items[0]
        else {
            panic!("{items:?}")
        };
        assert_eq!(data.as_bytes(), b"a\x00b");
    }
}

#[test]
fn spaces_in_lists() {
    let on = Leniency {
        spaces_in_lists: true,
        ..Leniency::default()
    };
    for (wire, canonical) in [
        (
            &b"* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL \"a\" \"b\") (NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL NIL NIL))\r\n"[..],
            &b"* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) NIL NIL NIL NIL NIL NIL NIL))\r\n"[..],
        ),
        (
            b"* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) (\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 1 1) \"ALTERNATIVE\"))\r\n",
            b"* 1 FETCH (BODY ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 1 1) \"ALTERNATIVE\"))\r\n",
        ),
        (
            b"* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\") (\"#news.\" \".\"))\r\n",
            b"* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\")(\"#news.\" \".\"))\r\n",
        ),
    ] {
        lenient_case(on, wire, &parse(canonical), canonical);
    }
}
