//! Responses: known answers for every form (`+OK`/`-ERR`, with and without text, every
//! response code, continuations, multi-line bodies), every strict prefix incomplete, the
//! negative table, capabilities and listings, the same results however the input is
//! chunked, and proptest round-trips.

mod common;

use common::{ServerItem, assert_strict_prefixes_incomplete, chunkings, read_replies};
use proptest::prelude::*;
use sansmail_pop3::{
    Body, Capabilities, Capability, Continuation, DecodeError, DropListing, Expect, Limits,
    Mechanism, MessageNumber, Reply, Response, ResponseCode, ScanListing, Status, Text, Uid,
    UniqueIdListing, codec,
};

fn resp(
    status: Status,
    code: Option<ResponseCode<'static>>,
    text: Option<&'static str>,
) -> Response<'static> {
    Response::new(status, code, text.map(|t| Text::new(t).unwrap())).unwrap()
}

fn single(
    status: Status,
    code: Option<ResponseCode<'static>>,
    text: Option<&'static str>,
) -> Reply<'static> {
    Reply::Single(resp(status, code, text))
}

fn multi(text: Option<&'static str>, stuffed: &'static [u8]) -> Reply<'static> {
    Reply::MultiLine {
        response: resp(Status::Ok, None, text),
        body: Body::from_stuffed(stuffed).unwrap(),
    }
}

fn other(code: &'static str) -> ResponseCode<'static> {
    let c = ResponseCode::new(code).unwrap();
    assert!(matches!(c, ResponseCode::Other(_)));
    c
}

struct Case {
    wire: &'static [u8],
    expect: Expect,
    value: Reply<'static>,
    canonical: bool,
}

fn known_answers() -> Vec<Case> {
    use Expect::{MultiLine, Sasl, SingleLine};
    use Status::{Err, Ok};
    let c = |wire, expect, value| Case {
        wire,
        expect,
        value,
        canonical: true,
    };
    let l = |wire, expect, value| Case {
        wire,
        expect,
        value,
        canonical: false,
    };
    vec![
        c(b"+OK\r\n", SingleLine, single(Ok, None, None)),
        c(b"+OK \r\n", SingleLine, single(Ok, None, Some(""))),
        c(
            b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
            SingleLine,
            single(Ok, None, Some("POP3 server ready <1896.697170952@dbc.mtview.ca.us>")),
        ),
        c(b"+OK 2 320\r\n", SingleLine, single(Ok, None, Some("2 320"))),
        c(b"-ERR\r\n", SingleLine, single(Err, None, None)),
        c(b"-ERR no such message\r\n", SingleLine, single(Err, None, Some("no such message"))),
        c(
            b"-ERR [IN-USE] Do you have another POP session running?\r\n",
            SingleLine,
            single(Err, Some(ResponseCode::InUse), Some("Do you have another POP session running?")),
        ),
        c(
            b"-ERR [LOGIN-DELAY] minimum time between mail checks violated\r\n",
            SingleLine,
            single(Err, Some(ResponseCode::LoginDelay), Some("minimum time between mail checks violated")),
        ),
        c(b"-ERR [SYS/TEMP] try later\r\n", SingleLine, single(Err, Some(ResponseCode::SysTemp), Some("try later"))),
        c(b"-ERR [SYS/PERM] call us\r\n", SingleLine, single(Err, Some(ResponseCode::SysPerm), Some("call us"))),
        c(b"-ERR [AUTH] Invalid password\r\n", SingleLine, single(Err, Some(ResponseCode::Auth), Some("Invalid password"))),
        c(b"-ERR [UTF8] needs UTF8\r\n", SingleLine, single(Err, Some(ResponseCode::Utf8), Some("needs UTF8"))),
        c(b"-ERR [X-FOO/BAR/BAZ] kept\r\n", SingleLine, single(Err, Some(other("X-FOO/BAR/BAZ")), Some("kept"))),
        c(b"-ERR [SYS/OTHER]\r\n", SingleLine, single(Err, Some(other("SYS/OTHER")), None)),
        c(b"+OK [AUTH]\r\n", SingleLine, single(Ok, Some(ResponseCode::Auth), None)),
        c(b"+OK [AUTH] \r\n", SingleLine, single(Ok, Some(ResponseCode::Auth), Some(""))),
        c(b"-ERR [AUTH] [nested] text\r\n", SingleLine, single(Err, Some(ResponseCode::Auth), Some("[nested] text"))),
        c("+OK Gr\u{fc}\u{df}e, \u{4e16}\u{754c}\r\n".as_bytes(), SingleLine, single(Ok, None, Some("Gr\u{fc}\u{df}e, \u{4e16}\u{754c}"))),
        c(b"+OK tab\there\r\n", SingleLine, single(Ok, None, Some("tab\there"))),
        l(b"+ok fine\r\n", SingleLine, single(Ok, None, Some("fine"))),
        l(b"-err nope\r\n", SingleLine, single(Err, None, Some("nope"))),
        l(b"-ERR [in-use] locked\r\n", SingleLine, single(Err, Some(ResponseCode::InUse), Some("locked"))),
        l(b"-ERR [AUTH]x\r\n", SingleLine, single(Err, Some(ResponseCode::Auth), Some("x"))),
        // An empty body: the first line's CRLF starts the terminator line.
        c(b"+OK\r\n.\r\n", MultiLine, multi(None, b"")),
        // RFC 5034 §4 continuations.
        c(b"+ \r\n", Sasl, Reply::Continue(Continuation::from_base64("").unwrap())),
        c(b"+ VXNlcm5hbWU6\r\n", Sasl, Reply::Continue(Continuation::from_base64("VXNlcm5hbWU6").unwrap())),
        c(b"+OK Logged in\r\n", Sasl, single(Ok, None, Some("Logged in"))),
        c(b"-ERR [AUTH] no\r\n", Sasl, single(Err, Some(ResponseCode::Auth), Some("no"))),
        // Multi-line (RFC 1939 §3): a -ERR is one line.
        c(b"-ERR no such message\r\n", MultiLine, single(Err, None, Some("no such message"))),
        c(
            b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
            MultiLine,
            multi(Some("2 messages (320 octets)"), b"1 120\r\n2 200\r\n"),
        ),
        c(
            b"+OK Capability list follows\r\nTOP\r\nSASL PLAIN\r\n.\r\n",
            MultiLine,
            multi(Some("Capability list follows"), b"TOP\r\nSASL PLAIN\r\n"),
        ),
        c(
            b"+OK 120 octets\r\nSubject: x\r\n\r\n..\r\n...dots\r\n.a\r\nbare\nlf and bare\rcr\r\n.\r\n",
            MultiLine,
            multi(Some("120 octets"), b"Subject: x\r\n\r\n..\r\n...dots\r\n.a\r\nbare\nlf and bare\rcr\r\n"),
        ),
        c(b"+OK\r\n\r\n.\r\n", MultiLine, multi(None, b"\r\n")),
        c(b"+OK\r\n\r\n\r\n.\r\n", MultiLine, multi(None, b"\r\n\r\n")),
    ]
}

#[test]
fn known_answers_decode_and_encode() {
    for case in known_answers() {
        let what = String::from_utf8_lossy(case.wire);
        let (rest, got) = codec::decode_response(case.wire, case.expect)
            .unwrap_or_else(|e| panic!("{what:?}: {e}"));
        assert!(rest.is_empty(), "{what:?}");
        assert_eq!(got, case.value, "{what:?}");
        let mut out = Vec::new();
        codec::encode_reply(&case.value, &mut out);
        if case.canonical {
            assert_eq!(out, case.wire, "re-encoding {what:?}");
        } else {
            assert_ne!(out, case.wire, "mark it canonical: {what:?}");
            assert_eq!(
                codec::decode_response(&out, case.expect).unwrap().1,
                case.value
            );
        }
        let mut two = case.wire.to_vec();
        two.extend_from_slice(b"+OK next\r\n");
        let (rest, again) = codec::decode_response(&two, case.expect).unwrap();
        assert_eq!(
            (rest, again),
            (&b"+OK next\r\n"[..], case.value),
            "{what:?}"
        );
    }
}

#[test]
fn every_strict_prefix_is_incomplete() {
    for case in known_answers() {
        assert_strict_prefixes_incomplete(case.wire, |i| {
            codec::decode_response(i, case.expect).map(|_| ())
        });
    }
}

#[test]
fn a_single_line_expectation_leaves_a_body_alone() {
    let (rest, reply) = codec::decode_response(b"+OK\r\n.\r\n", Expect::SingleLine).unwrap();
    assert_eq!(reply, single(Status::Ok, None, None));
    assert_eq!(rest, b".\r\n");
}

#[test]
fn greeting_timestamps() {
    let r = |t: &'static str| resp(Status::Ok, None, Some(t));
    assert_eq!(
        r("POP3 server ready <1896.697170952@dbc.mtview.ca.us>").timestamp(),
        Some("<1896.697170952@dbc.mtview.ca.us>")
    );
    assert_eq!(r("<a> then <b@c> and <d@e>").timestamp(), Some("<b@c>"));
    assert_eq!(r("no timestamp <here>").timestamp(), None);
    assert_eq!(r("broken <a@b").timestamp(), None);
    assert_eq!(resp(Status::Ok, None, None).timestamp(), None);
}

fn syntax(at: usize, expected: &'static str) -> DecodeError {
    DecodeError::Syntax { at, expected }
}

#[test]
fn negative_table_says_what_and_where() {
    use Expect::{MultiLine, Sasl, SingleLine};
    let long = format!("+OK {}\r\n", "x".repeat(507));
    let table: Vec<(&[u8], Expect, DecodeError)> = vec![
        (b"OK\r\n", SingleLine, syntax(0, "\"+OK\" or \"-ERR\"")),
        (b"\r\n", SingleLine, syntax(0, "\"+OK\" or \"-ERR\"")),
        (b"+OKAY\r\n", SingleLine, syntax(3, "SP or end of line")),
        (b"-ERR\tx\r\n", SingleLine, syntax(4, "SP or end of line")),
        (
            b"+OK bad\x01ctl\r\n",
            SingleLine,
            syntax(4, "text of printable characters"),
        ),
        (b"+OK \xff\r\n", SingleLine, syntax(4, "UTF-8 text")),
        (b"+ x\r\n", SingleLine, syntax(0, "\"+OK\" or \"-ERR\"")),
        (b"+ abc\r\n", Sasl, syntax(2, "base64")),
        (b"+\r\n", Sasl, syntax(0, "\"+OK\" or \"-ERR\"")),
        (b"+OK\n", SingleLine, DecodeError::BareLineEnding),
        (b"+OK a\rb\r\n", SingleLine, DecodeError::BareLineEnding),
        (
            long.as_bytes(),
            SingleLine,
            DecodeError::LineTooLong { max: 512 },
        ),
        (b"+OK\n.\r\n", MultiLine, DecodeError::BareLineEnding),
    ];
    for (wire, expect, want) in table {
        let got = codec::decode_response(wire, expect).map(|(_, r)| r);
        assert_eq!(got, Err(want), "{:?}", String::from_utf8_lossy(wire));
    }
    // 512 octets with the CRLF fit.
    let fits = format!("+OK {}\r\n", "x".repeat(506));
    assert!(codec::decode_response(fits.as_bytes(), SingleLine).is_ok());
}

#[test]
fn buffered_multi_line_responses_are_limited() {
    let mut limits = Limits::default();
    limits.max_response_size = 16;
    let wire = b"+OK\r\n1 100\r\n2 200\r\n3 300\r\n.\r\n";
    assert_eq!(
        codec::decode_response_with(wire, Expect::MultiLine, &limits).map(|_| ()),
        Err(DecodeError::ResponseTooLarge { max: 16 })
    );
    // Refused as soon as more than the limit is buffered without a terminator.
    assert_eq!(
        codec::decode_response_with(&wire[..23], Expect::MultiLine, &limits).map(|_| ()),
        Err(DecodeError::ResponseTooLarge { max: 16 })
    );
    assert_eq!(
        codec::decode_response_with(&wire[..12], Expect::MultiLine, &limits).map(|_| ()),
        Err(DecodeError::Incomplete)
    );
    limits.max_response_size = 21;
    assert!(codec::decode_response_with(wire, Expect::MultiLine, &limits).is_ok());
}

#[test]
fn constructors_refuse_what_would_not_read_back() {
    assert!(Text::new("a\r\nb").is_err());
    assert!(Text::new("nul\0").is_err());
    assert!(Response::ok("[IN-USE] pretending").is_err());
    assert!(Response::err(Some(ResponseCode::Auth), "[ok after a code]").is_ok());
    assert!(ResponseCode::new("").is_err());
    assert!(ResponseCode::new("A//B").is_err());
    assert!(ResponseCode::new("A]B").is_err());
    assert!(ResponseCode::new("A B").is_err());
    assert_eq!(
        ResponseCode::new("sys/temp").unwrap(),
        ResponseCode::SysTemp
    );
    assert!(Continuation::from_base64("abc").is_err());
    assert!(Body::from_stuffed(&b"a\r\n.\r\nb\r\n"[..]).is_err());
    assert!(Body::from_stuffed(&b".\r\n"[..]).is_err());
    assert!(Body::from_stuffed(&b"no line end"[..]).is_err());
    assert!(Body::from_stuffed(&b""[..]).is_ok());
    assert_eq!(Continuation::new(b"Username:").as_str(), "VXNlcm5hbWU6");
    assert_eq!(Continuation::new(b"Username:").decode(), b"Username:");
}

#[test]
fn bodies_unstuff_line_by_line() {
    let body = Body::from_stuffed(&b"..\r\n...x\r\n.y\r\nz\r\n\r\n"[..]).unwrap();
    let lines: Vec<&[u8]> = body.lines().collect();
    assert_eq!(lines, [&b"."[..], b"..x", b"y", b"z", b""]);
    assert_eq!(body.unstuffed(), b".\r\n..x\r\ny\r\nz\r\n\r\n");
    let built = Body::from_unstuffed(b".\n..x\nz");
    assert_eq!(built.as_stuffed(), b"..\r\n...x\r\nz\r\n");
}

// ---------------------------------------------------------------------------------------------
// Capabilities (RFC 2449 §6, RFC 2595, RFC 3206, RFC 6856).

fn capability_answers() -> Vec<(&'static str, Capability<'static>, bool)> {
    let m = |s: &'static str| Mechanism::new(s).unwrap();
    vec![
        ("TOP", Capability::Top, true),
        ("USER", Capability::User, true),
        (
            "SASL PLAIN LOGIN",
            Capability::Sasl(vec![m("PLAIN"), m("LOGIN")]),
            true,
        ),
        ("SASL", Capability::Sasl(vec![]), true),
        ("RESP-CODES", Capability::RespCodes, true),
        ("AUTH-RESP-CODE", Capability::AuthRespCode, true),
        (
            "LOGIN-DELAY 900",
            Capability::LoginDelay {
                seconds: 900,
                per_user: false,
            },
            true,
        ),
        (
            "LOGIN-DELAY 0 USER",
            Capability::LoginDelay {
                seconds: 0,
                per_user: true,
            },
            true,
        ),
        ("PIPELINING", Capability::Pipelining, true),
        (
            "EXPIRE NEVER",
            Capability::Expire {
                days: None,
                per_user: false,
            },
            true,
        ),
        (
            "EXPIRE 60 USER",
            Capability::Expire {
                days: Some(60),
                per_user: true,
            },
            true,
        ),
        ("UIDL", Capability::Uidl, true),
        (
            "IMPLEMENTATION Shlemazle-Plotz-v302",
            Capability::Implementation(Text::new("Shlemazle-Plotz-v302").unwrap()),
            true,
        ),
        (
            "IMPLEMENTATION two  spaces ok",
            Capability::Implementation(Text::new("two  spaces ok").unwrap()),
            true,
        ),
        ("STLS", Capability::Stls, true),
        ("UTF8", Capability::Utf8 { user: false }, true),
        ("UTF8 USER", Capability::Utf8 { user: true }, true),
        ("LANG", Capability::Lang, true),
        ("top", Capability::Top, false),
        (
            "expire never user",
            Capability::Expire {
                days: None,
                per_user: true,
            },
            false,
        ),
    ]
}

#[test]
fn capabilities_known_answers() {
    for (line, value, canonical) in capability_answers() {
        assert_eq!(
            codec::parse_capability(line.as_bytes()).unwrap(),
            value,
            "{line}"
        );
        assert_eq!(Capability::parse(line).unwrap(), value, "{line}");
        let mut out = Vec::new();
        codec::encode_capability(&value, &mut out);
        let want = format!("{line}\r\n");
        assert_eq!(
            out == want.as_bytes(),
            canonical,
            "{line}: {:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn unknown_and_odd_capabilities_are_kept() {
    for line in [
        "X-FOO bar baz",
        "TOP now",
        "LOGIN-DELAY soon",
        "EXPIRE 1 2",
        "UTF8 ALL",
        "SASL PL@IN",
        "IMPLEMENTATION",
    ] {
        let cap = codec::parse_capability(line.as_bytes()).unwrap();
        let Capability::Other(o) = &cap else {
            panic!("{line}: {cap:?}")
        };
        assert_eq!(o.tag(), line.split(' ').next().unwrap());
        let mut out = Vec::new();
        codec::encode_capability(&cap, &mut out);
        assert_eq!(out, format!("{line}\r\n").as_bytes());
    }
    for bad in [".TOP", "TOP  x", "", "TOP ", "X\u{1}"] {
        assert!(codec::parse_capability(bad.as_bytes()).is_err(), "{bad:?}");
    }
    let caps = Capabilities(vec![
        Capability::Pipelining,
        Capability::Sasl(vec![Mechanism::PLAIN]),
    ]);
    assert!(caps.pipelining() && caps.has("sasl") && !caps.stls() && !caps.user());
    assert_eq!(caps.sasl(), [Mechanism::PLAIN]);
}

// ---------------------------------------------------------------------------------------------
// Listings (RFC 1939 §5, §7).

#[test]
fn listings() {
    let ok = |t: &'static str| resp(Status::Ok, None, Some(t));
    assert_eq!(
        DropListing::from_response(&ok("2 320")),
        Some(DropListing {
            count: 2,
            size: 320
        })
    );
    assert_eq!(
        DropListing::from_response(&ok("2 320 and more")),
        Some(DropListing {
            count: 2,
            size: 320
        })
    );
    assert_eq!(DropListing::from_response(&ok("2")), None);
    assert_eq!(DropListing::from_response(&ok("2 320x")), None);
    assert_eq!(
        DropListing::from_response(&resp(Status::Err, None, Some("2 320"))),
        None
    );
    let one = MessageNumber::new(1).unwrap();
    assert_eq!(
        ScanListing::from_response(&ok("1 120")),
        Some(ScanListing {
            msg: one,
            size: 120
        })
    );
    assert_eq!(ScanListing::from_response(&ok("0 120")), None);
    assert_eq!(codec::parse_scan_listing(b"2 200").unwrap().size, 200);
    assert!(codec::parse_scan_listing(b"2  200").is_err());
    let u = ok("1 whqtswO00WBw418f9t5JxYwZ");
    assert_eq!(
        UniqueIdListing::from_response(&u),
        Some(UniqueIdListing {
            msg: one,
            uid: Uid::new("whqtswO00WBw418f9t5JxYwZ").unwrap()
        })
    );
    let uid70 = "~".repeat(70);
    assert!(codec::parse_unique_id_listing(format!("3 {uid70}").as_bytes()).is_ok());
    // Longer than RFC 1939 allows: read, as servers send them, but never made.
    let line = format!("3 {uid70}~");
    let long = codec::parse_unique_id_listing(line.as_bytes()).unwrap();
    assert_eq!(long.uid.as_str().len(), 71);
    assert!(Uid::new(long.uid.as_str()).is_err());
    assert!(codec::parse_unique_id_listing(b"3 a b").is_err());
    assert_eq!(
        codec::parse_unique_id_listing(b"3 a \t ")
            .unwrap()
            .uid
            .as_str(),
        "a"
    );
    assert!(Uid::new("").is_err() && Uid::new("a b").is_err() && Uid::new("\u{e9}").is_err());
    assert!(Uid::new(uid70).is_ok());
    let lang = codec::parse_language(b"en-boont English Boontling dialect").unwrap();
    assert_eq!(
        (lang.tag(), lang.description()),
        ("en-boont", "English Boontling dialect")
    );
    assert!(codec::parse_language(b"en_US English").is_err());
}

// ---------------------------------------------------------------------------------------------
// Chunking: whole buffers, every split and one octet at a time agree.

#[test]
fn every_split_gives_the_same_replies() {
    let cases = known_answers();
    let mut wire = Vec::new();
    let mut expect = Vec::new();
    let mut want = Vec::new();
    for c in &cases {
        wire.extend_from_slice(c.wire);
        expect.push(c.expect);
        want.push(ServerItem::from_reply(c.value.clone()));
    }
    for chunks in chunkings(&wire) {
        let got = read_replies(&chunks, &expect, &Limits::default());
        assert_eq!(
            got,
            want,
            "split {:?}",
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Round-trips.

fn code_strategy() -> impl Strategy<Value = ResponseCode<'static>> {
    prop_oneof![
        Just(ResponseCode::InUse),
        Just(ResponseCode::LoginDelay),
        Just(ResponseCode::SysTemp),
        Just(ResponseCode::SysPerm),
        Just(ResponseCode::Auth),
        Just(ResponseCode::Utf8),
        "[!-.0-\\\\^-~]{1,10}(/[!-.0-\\\\^-~]{1,10}){0,2}"
            .prop_map(|s| ResponseCode::new(s).unwrap().into_owned()),
    ]
}

fn response_strategy() -> impl Strategy<Value = Response<'static>> {
    (
        prop_oneof![Just(Status::Ok), Just(Status::Err)],
        proptest::option::of(code_strategy()),
        proptest::option::of("[ -~\t\u{a0}-\u{2ff}]{0,80}"),
    )
        .prop_filter_map("text starting with '[' needs a code", |(s, c, t)| {
            Response::new(s, c, t.map(|t| Text::new(t).unwrap())).ok()
        })
}

proptest! {
    #[test]
    fn single_line_responses_round_trip(r in response_strategy()) {
        let mut wire = Vec::new();
        codec::encode_response(&r, &mut wire);
        let (rest, back) = codec::decode_response(&wire, Expect::SingleLine).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(back, Reply::Single(r));
    }

    #[test]
    fn multi_line_responses_round_trip(
        r in response_strategy(),
        data in proptest::collection::vec(prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'x')], 0..60),
    ) {
        let reply = if r.is_ok() {
            Reply::MultiLine { response: r, body: Body::from_unstuffed(&data) }
        } else {
            Reply::Single(r)
        };
        let mut wire = Vec::new();
        codec::encode_reply(&reply, &mut wire);
        let (rest, back) = codec::decode_response(&wire, Expect::MultiLine).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&back, &reply);
        // And the streaming reader agrees, one octet at a time.
        let chunks: Vec<&[u8]> = wire.chunks(1).collect();
        let streamed = read_replies(&chunks, &[Expect::MultiLine], &Limits::default());
        prop_assert_eq!(streamed, vec![ServerItem::from_reply(reply)]);
    }

    #[test]
    fn continuations_round_trip(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let c = Continuation::new(&data);
        let mut wire = Vec::new();
        codec::encode_continuation(&c, &mut wire);
        let (_, back) = codec::decode_response(&wire, Expect::Sasl).unwrap();
        prop_assert_eq!(back, Reply::Continue(c.clone()));
        prop_assert_eq!(c.decode(), data);
    }

    #[test]
    fn capabilities_round_trip(cap in capability_strategy()) {
        let mut wire = Vec::new();
        codec::encode_capability(&cap, &mut wire);
        prop_assert!(wire.ends_with(b"\r\n"));
        let back = codec::parse_capability(&wire[..wire.len() - 2]).unwrap();
        prop_assert_eq!(back, cap);
    }

    #[test]
    fn arbitrary_responses_never_panic(
        wire in proptest::collection::vec(any::<u8>(), 0..200),
        kind in prop_oneof![Just(Expect::SingleLine), Just(Expect::MultiLine), Just(Expect::Sasl)],
    ) {
        let _ = codec::decode_response(&wire, kind);
        let _ = codec::parse_capability(&wire);
        let _ = codec::parse_scan_listing(&wire);
        let _ = codec::parse_unique_id_listing(&wire);
        let _ = codec::parse_language(&wire);
    }
}

fn capability_strategy() -> impl Strategy<Value = Capability<'static>> {
    let mech = "[A-Z0-9_-]{1,20}".prop_map(|m| Mechanism::new(m).unwrap());
    prop_oneof![
        Just(Capability::Top),
        Just(Capability::User),
        proptest::collection::vec(mech, 0..4).prop_map(Capability::Sasl),
        Just(Capability::RespCodes),
        Just(Capability::AuthRespCode),
        (any::<u64>(), any::<bool>())
            .prop_map(|(seconds, per_user)| Capability::LoginDelay { seconds, per_user }),
        Just(Capability::Pipelining),
        (proptest::option::of(any::<u64>()), any::<bool>())
            .prop_map(|(days, per_user)| Capability::Expire { days, per_user }),
        Just(Capability::Uidl),
        "[ -~]{0,60}".prop_map(|t| Capability::Implementation(Text::new(t).unwrap())),
        Just(Capability::Stls),
        any::<bool>().prop_map(|user| Capability::Utf8 { user }),
        Just(Capability::Lang),
        (
            "X-[A-Z0-9-]{1,10}",
            proptest::collection::vec("[!-~]{1,10}", 0..4)
        )
            .prop_map(|(tag, params)| {
                let line = std::iter::once(tag)
                    .chain(params)
                    .collect::<Vec<_>>()
                    .join(" ");
                Capability::parse(&line).unwrap().into_owned()
            }),
    ]
}
