//! Replies: known answers (single-line, multi-line, code-only, enhanced status codes), the
//! typed EHLO reply and its way back to the same bytes, the negative table, limits, every
//! strict prefix incomplete, and the same results however the input is chunked.

mod common;

use std::borrow::Cow;

use common::{ServerEvent, assert_strict_prefixes_incomplete, chunkings, read_replies};
use sansmail_smtp::{
    Capability, DecodeError, EhloReply, EnhancedStatus, Mechanism, Reply, ReplyCode,
    codec::{self, ReplyLimits},
};

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

#[allow(clippy::unnecessary_wraps)] // reads better where an `Option` is wanted
fn status(class: u8, subject: u16, detail: u16) -> Option<EnhancedStatus> {
    Some(EnhancedStatus::new(class, subject, detail).unwrap())
}

fn reply(n: u16, st: Option<EnhancedStatus>, lines: &[&'static str]) -> Reply<'static> {
    Reply::from_lines(
        code(n),
        st,
        lines.iter().map(|l| Cow::Borrowed(*l)).collect(),
    )
    .unwrap()
}

fn encode(r: &Reply<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_reply(r, &mut out);
    out
}

/// Known answers: the wire form, the value, and whether the encoder writes these bytes back.
fn known_answers() -> Vec<(&'static [u8], Reply<'static>, bool)> {
    vec![
        (b"220 mx.example.com ESMTP ready\r\n", reply(220, None, &["mx.example.com ESMTP ready"]), true),
        (b"250 OK\r\n", reply(250, None, &["OK"]), true),
        (b"250-a\r\n250-b\r\n250 c\r\n", reply(250, None, &["a", "b", "c"]), true),
        // Code-only replies (RFC 5321 §4.2): with and without the SP.
        (b"334\r\n", reply(334, None, &[""]), false),
        (b"334 \r\n", reply(334, None, &[""]), true),
        (b"250-\r\n250 \r\n", reply(250, None, &["", ""]), true),
        (b"250-\r\n250\r\n", reply(250, None, &["", ""]), false),
        // AUTH LOGIN prompts are base64.
        (b"334 VXNlcm5hbWU6\r\n", reply(334, None, &["VXNlcm5hbWU6"]), true),
        (b"354 End data with <CR><LF>.<CR><LF>\r\n", reply(354, None, &["End data with <CR><LF>.<CR><LF>"]), true),
        // Enhanced status codes (RFC 3463) are lifted when every line has the same one.
        (b"250 2.1.0 Sender ok\r\n", reply(250, status(2, 1, 0), &["Sender ok"]), true),
        (b"221 2.0.0 Bye\r\n", reply(221, status(2, 0, 0), &["Bye"]), true),
        (b"250 2.0.0\r\n", reply(250, status(2, 0, 0), &[""]), true),
        (
            b"550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check.\r\n",
            reply(550, status(5, 1, 1), &["The email account that you tried to reach does not exist.", "Please check."]),
            true,
        ),
        (b"452 4.2.2 Mailbox full\r\n", reply(452, status(4, 2, 2), &["Mailbox full"]), true),
        (b"554 5.7.1 \xc3\xa9t\xc3\xa9\r\n", reply(554, status(5, 7, 1), &["\u{e9}t\u{e9}"]), true),
        (b"250 2.999.123 x\r\n", reply(250, status(2, 999, 123), &["x"]), true),
        (b"250-2.0.0\r\n250 2.0.0 done\r\n", reply(250, status(2, 0, 0), &["", "done"]), true),
        // Mixed or partial statuses are kept as text.
        (b"550-5.1.1 a\r\n550 5.1.2 b\r\n", reply(550, None, &["5.1.1 a", "5.1.2 b"]), true),
        (b"550-5.1.1 a\r\n550 b\r\n", reply(550, None, &["5.1.1 a", "b"]), true),
        // Not an enhanced status: a fourth digit, a bad class, trailing SP with no text.
        (b"250 2.0.0000 x\r\n", reply(250, None, &["2.0.0000 x"]), true),
        (b"250 3.0.0 x\r\n", reply(250, None, &["3.0.0 x"]), true),
        (b"250 2.0.0 \r\n", reply(250, None, &["2.0.0 "]), true),
        (b"250 2.0.0.1 x\r\n", reply(250, None, &["2.0.0.1 x"]), true),
        // Text with HT and UTF-8.
        (b"250 a\tb\r\n", reply(250, None, &["a\tb"]), true),
    ]
}

#[test]
fn known_answers_decode() {
    for (wire, want, _) in known_answers() {
        assert_eq!(
            codec::decode_reply(wire),
            Ok((&b""[..], want.clone())),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
        let mut two = wire.to_vec();
        two.extend_from_slice(b"221 bye\r\n");
        let (rest, got) = codec::decode_reply(&two).unwrap();
        assert_eq!(rest, b"221 bye\r\n");
        assert_eq!(got, want);
    }
}

#[test]
fn known_answers_encode() {
    for (wire, value, canonical) in known_answers() {
        let bytes = encode(&value);
        if canonical {
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(wire)
            );
        }
        assert_eq!(codec::decode_reply(&bytes), Ok((&b""[..], value)));
    }
    // A code-only reply is written with its SP.
    assert_eq!(encode(&reply(334, None, &[""])), b"334 \r\n");
}

#[test]
fn known_answers_strict_prefixes_are_incomplete() {
    for (wire, _, _) in known_answers() {
        assert_strict_prefixes_incomplete(wire, |b| {
            codec::decode_reply(b).map(|(r, rep)| (r.len(), rep.into_owned()))
        });
    }
}

#[test]
fn known_answers_any_chunking() {
    let mut pipelined = Vec::new();
    let mut all = Vec::new();
    for (wire, want, _) in known_answers() {
        pipelined.extend_from_slice(wire);
        all.push(ServerEvent::Reply(want.clone()));
        for chunks in chunkings(wire) {
            let (events, left) = read_replies(&chunks, ReplyLimits::default());
            assert_eq!(events, vec![ServerEvent::Reply(want.clone())]);
            assert_eq!(left, 0);
        }
    }
    for chunks in chunkings(&pipelined) {
        let (events, left) = read_replies(&chunks, ReplyLimits::default());
        assert_eq!(events, all);
        assert_eq!(left, 0);
    }
}

#[test]
fn reply_accessors() {
    let (_, r) = codec::decode_reply(b"550-5.1.1 a\r\n550 5.1.1 b\r\n").unwrap();
    assert_eq!(r.code(), ReplyCode::MAILBOX_UNAVAILABLE);
    assert!(r.code().is_negative() && !r.code().is_positive());
    assert_eq!(r.status().map(|s| s.to_string()), Some("5.1.1".to_owned()));
    assert_eq!(r.text(), "a\nb");
    assert_eq!(r.to_string(), "550-5.1.1 a\r\n550 5.1.1 b");
    let (_, r) = codec::decode_reply(b"334 \r\n").unwrap();
    assert!(r.code().is_intermediate());
    assert_eq!(r.text(), "");
}

/// A reply built with its status code written into the text reads back as the same value.
#[test]
fn constructor_and_decoder_agree_on_status() {
    for r in [
        reply(250, None, &["2.1.0 Sender ok"]),
        reply(250, None, &["2.0.0"]),
        reply(550, None, &["5.1.1 a", "5.1.1 b"]),
        Reply::new(code(250), None, "2.1.5 one\n2.1.5 two").unwrap(),
        Reply::new(code(250), None, String::from("2.1.5 owned")).unwrap(),
    ] {
        let bytes = encode(&r);
        assert_eq!(
            codec::decode_reply(&bytes),
            Ok((&b""[..], r.clone())),
            "{r:?}"
        );
        assert!(r.status().is_some(), "{r:?}");
    }
    // Where a line lacks it, nothing is lifted.
    let r = reply(550, None, &["5.1.1 a", "b"]);
    assert_eq!(r.status(), None);
    assert!(r.lines().eq(["5.1.1 a", "b"]));
}

#[test]
fn constructors_validate() {
    for bad in [0, 199, 199, 600, 260, 999, 1250] {
        assert!(ReplyCode::new(bad).is_err(), "{bad}");
    }
    for good in [200, 250, 334, 421, 559] {
        assert_eq!(ReplyCode::new(good).unwrap().get(), good);
    }
    assert!(EnhancedStatus::new(3, 0, 0).is_err());
    assert!(EnhancedStatus::new(2, 1000, 0).is_err());
    assert!(EnhancedStatus::new(5, 0, 1000).is_err());
    // No CR, LF (other than as a line separator in `new`) or control characters in text.
    assert!(Reply::new(code(250), None, "a\rb").is_err());
    assert!(Reply::new(code(250), None, "a\0b").is_err());
    assert!(Reply::from_lines(code(250), None, vec![Cow::Borrowed("a\nb")]).is_err());
    assert!(Reply::from_lines(code(250), None, vec![]).is_err());
    assert!(
        Reply::new(code(250), None, "a\nb")
            .unwrap()
            .lines()
            .eq(["a", "b"])
    );
}

// ---------------------------------------------------------------------------------------------
// Negative table and limits.

#[test]
fn malformed_replies() {
    type Check = fn(&Result<(&[u8], Reply<'_>), DecodeError>) -> bool;
    let syntax =
        |r: &Result<(&[u8], Reply<'_>), DecodeError>| matches!(r, Err(DecodeError::Syntax { .. }));
    let bare =
        |r: &Result<(&[u8], Reply<'_>), DecodeError>| matches!(r, Err(DecodeError::BareLineEnding));
    let table: Vec<(&[u8], Check)> = vec![
        (b"25\r\n", syntax),
        (b"\r\n", syntax),
        (b"2500\r\n", syntax),
        (b"250x hello\r\n", syntax),
        (b"abc hello\r\n", syntax),
        (b" 250 x\r\n", syntax),
        (b"600 x\r\n", syntax),
        (b"160 x\r\n", syntax),
        (b"260 x\r\n", syntax),
        (b"250-a\r\n251 b\r\n", syntax),
        (b"250-a\r\n550 b\r\n", syntax),
        (b"250 a\x01b\r\n", syntax),
        (b"250 a\x7fb\r\n", syntax),
        (b"250 \xff\xfe\r\n", syntax),
        (b"250 a\n", bare),
        (b"250-a\r\n250 b\n", bare),
        (b"250 a\rb\r\n", bare),
        (b"250 a\r\r\n", bare),
    ];
    let mut wrong = Vec::new();
    for (wire, ok) in table {
        let got = codec::decode_reply(wire);
        if !ok(&got) {
            wrong.push(format!("{:?}: got {got:?}", String::from_utf8_lossy(wire)));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        codec::decode_reply(b"250-a\r\n251 b\r\n"),
        Err(DecodeError::Syntax {
            at: 7,
            expected: "the same reply code on every line"
        })
    );
}

/// A line without a reply code is refused when it is complete, not after the rest of a
/// "multi-line reply" that will never end.
#[test]
fn garbage_is_refused_without_waiting_for_more() {
    for wire in [
        &b"abc-hello\r\n"[..],
        b"25-\r\n",
        b"HTTP/1.1 400 Bad Request\r\n",
        b"250-ok\r\nxyz-\r\n",
    ] {
        let got = codec::decode_reply(wire);
        assert!(
            matches!(got, Err(DecodeError::Syntax { .. })),
            "{:?}: {got:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn reply_limits() {
    let limits = ReplyLimits {
        max_line: 20,
        max_size: 100,
        max_lines: 3,
        any_text: false,
    };
    let dec = |b: &'static [u8]| codec::decode_reply_with(b, limits).map(|(r, rep)| (r.len(), rep));
    // Lines.
    assert!(dec(b"250-a\r\n250-b\r\n250 c\r\n").is_ok());
    assert_eq!(
        dec(b"250-a\r\n250-b\r\n250-c\r\n250 d\r\n"),
        Err(DecodeError::ReplyTooLarge)
    );
    // Too many lines is known before the reply ends.
    assert_eq!(
        dec(b"250-a\r\n250-b\r\n250-c\r\n250-d\r\n"),
        Err(DecodeError::ReplyTooLarge)
    );
    // Line length, CRLF included.
    assert!(dec(b"250 45678901234567\r\n").is_ok()); // 20 octets
    assert_eq!(
        dec(b"250 456789012345678\r\n"),
        Err(DecodeError::LineTooLong { max: 20 })
    );
    assert_eq!(dec(b"250 45678901234567"), Err(DecodeError::Incomplete));
    assert_eq!(
        dec(b"250 4567890123456789"),
        Err(DecodeError::LineTooLong { max: 20 })
    );
    // Total size, complete or not.
    let limits = ReplyLimits {
        max_line: 100,
        max_size: 30,
        max_lines: 10,
        any_text: false,
    };
    let dec = |b: &'static [u8]| codec::decode_reply_with(b, limits).map(|(r, rep)| (r.len(), rep));
    assert!(dec(b"250-0123456789\r\n250 01234567\r\n").is_ok()); // 30 octets
    assert_eq!(
        dec(b"250-0123456789\r\n250 012345678\r\n"),
        Err(DecodeError::ReplyTooLarge)
    );
    assert_eq!(
        dec(b"250-0123456789\r\n250-0123456789"),
        Err(DecodeError::Incomplete)
    );
    assert_eq!(
        dec(b"250-0123456789\r\n250-01234567890"),
        Err(DecodeError::ReplyTooLarge)
    );
    // The defaults: 256 lines.
    let mut many = Vec::new();
    for _ in 0..256 {
        many.extend_from_slice(b"250-x\r\n");
    }
    let mut ok = many.clone();
    ok.truncate(ok.len() - 7);
    ok.extend_from_slice(b"250 x\r\n");
    assert_eq!(codec::decode_reply(&ok).unwrap().1.lines().len(), 256);
    many.extend_from_slice(b"250 x\r\n");
    assert_eq!(codec::decode_reply(&many), Err(DecodeError::ReplyTooLarge));
    // The same however the input arrives.
    for chunks in chunkings(&many) {
        let (events, _) = read_replies(&chunks, ReplyLimits::default());
        assert_eq!(
            events.first(),
            Some(&ServerEvent::Error(DecodeError::ReplyTooLarge))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// EHLO.

const EHLO: &[u8] = b"250-mx.example.com Hello client [192.0.2.1]\r\n\
250-SIZE 35882577\r\n\
250-PIPELINING\r\n\
250-8BITMIME\r\n\
250-SMTPUTF8\r\n\
250-CHUNKING\r\n\
250-BINARYMIME\r\n\
250-DSN\r\n\
250-STARTTLS\r\n\
250-AUTH PLAIN LOGIN SCRAM-SHA-256\r\n\
250-ENHANCEDSTATUSCODES\r\n\
250-REQUIRETLS\r\n\
250-DELIVERBY 240\r\n\
250-FUTURERELEASE 604800 2026-12-31T23:59:59Z\r\n\
250-MT-PRIORITY MIXER\r\n\
250-ETRN\r\n\
250-HELP\r\n\
250-SIZE\r\n\
250-DELIVERBY\r\n\
250-MT-PRIORITY\r\n\
250-AUTH\r\n\
250-X-EXPS GSSAPI NTLM\r\n\
250 XCLIENT ADDR NAME\r\n";

fn mechs(names: &[&'static str]) -> Vec<Mechanism<'static>> {
    names.iter().map(|n| Mechanism::new(*n).unwrap()).collect()
}

fn other(keyword: &'static str, params: &[&'static str]) -> Capability<'static> {
    Capability::Other {
        keyword: Cow::Borrowed(keyword),
        params: params.iter().map(|p| Cow::Borrowed(*p)).collect(),
    }
}

#[test]
fn ehlo_reply_is_typed() {
    let (rest, r) = codec::decode_reply(EHLO).unwrap();
    assert!(rest.is_empty());
    let ehlo = EhloReply::from_reply(&r).unwrap();
    let want = EhloReply {
        domain: Cow::Borrowed("mx.example.com"),
        greeting: Some(Cow::Borrowed("Hello client [192.0.2.1]")),
        capabilities: vec![
            Capability::Size(Some(35_882_577)),
            Capability::Pipelining,
            Capability::EightBitMime,
            Capability::SmtpUtf8,
            Capability::Chunking,
            Capability::BinaryMime,
            Capability::Dsn,
            Capability::StartTls,
            Capability::Auth(mechs(&["PLAIN", "LOGIN", "SCRAM-SHA-256"])),
            Capability::EnhancedStatusCodes,
            Capability::RequireTls,
            Capability::DeliverBy(Some(240)),
            Capability::FutureRelease {
                max_interval: 604_800,
                max_datetime: Cow::Borrowed("2026-12-31T23:59:59Z"),
            },
            Capability::MtPriority(Some(Cow::Borrowed("MIXER"))),
            Capability::Etrn,
            Capability::Help,
            Capability::Size(None),
            Capability::DeliverBy(None),
            Capability::MtPriority(None),
            Capability::Auth(vec![]),
            other("X-EXPS", &["GSSAPI", "NTLM"]),
            other("XCLIENT", &["ADDR", "NAME"]),
        ],
    };
    assert_eq!(ehlo, want);
    assert_eq!(ehlo.size_limit(), Some(35_882_577));
    assert_eq!(
        ehlo.auth_mechanisms(),
        mechs(&["plain", "login", "scram-sha-256"]).as_slice()
    );
    assert!(ehlo.has("pipelining") && ehlo.has("XCLIENT") && !ehlo.has("XFORWARD"));

    // And back to the same bytes.
    assert_eq!(
        String::from_utf8_lossy(&encode(&want.to_reply().unwrap())),
        String::from_utf8_lossy(EHLO)
    );
    assert_eq!(
        EhloReply::from_reply(&want.to_reply().unwrap()).unwrap(),
        want.clone()
    );
    assert_eq!(want.into_owned().to_reply().unwrap(), r.into_owned());
}

#[test]
fn ehlo_reply_forms() {
    let (_, r) = codec::decode_reply(b"250 mx.example.com\r\n").unwrap();
    let e = EhloReply::from_reply(&r).unwrap();
    assert_eq!(
        (
            e.domain.as_ref(),
            e.greeting.as_deref(),
            e.capabilities.len()
        ),
        ("mx.example.com", None, 0)
    );
    assert_eq!(e.size_limit(), None);
    assert!(e.auth_mechanisms().is_empty());

    let (_, r) = codec::decode_reply(b"250-[192.0.2.1]\r\n250 SIZE 0\r\n").unwrap();
    let e = EhloReply::from_reply(&r).unwrap();
    assert_eq!(e.domain, "[192.0.2.1]");
    assert_eq!(e.capabilities, [Capability::Size(Some(0))]);
    assert_eq!(e.size_limit(), None, "SIZE 0 means no fixed limit");

    // Not an EHLO reply.
    for wire in [
        &b"550 5.7.1 go away\r\n"[..],
        b"250 2.0.0 mx.example.com\r\n",
        b"250 \r\n",
        b"502 unknown\r\n",
    ] {
        let (_, r) = codec::decode_reply(wire).unwrap();
        assert!(
            EhloReply::from_reply(&r).is_err(),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

/// A server name that reads as an enhanced status code would come back as a status, which an
/// EHLO reply cannot have: `to_reply` refuses it instead of writing what does not read back.
#[test]
fn ehlo_reply_refuses_a_status_like_name() {
    for caps in [vec![], vec![other("2.0.0", &[])]] {
        let e = EhloReply {
            domain: Cow::Borrowed("2.0.0"),
            greeting: None,
            capabilities: caps,
        };
        assert!(e.to_reply().is_err());
    }
    let e = EhloReply {
        domain: Cow::Borrowed("2.0.0"),
        greeting: None,
        capabilities: vec![Capability::Pipelining],
    };
    let r = e.to_reply().unwrap();
    assert_eq!(encode(&r), b"250-2.0.0\r\n250 PIPELINING\r\n");
    assert_eq!(EhloReply::from_reply(&r).unwrap(), e);
}

/// Capabilities in unusual spellings are kept as written (`Other`), so the reply is written
/// back byte for byte; only the canonical form becomes a typed value.
#[test]
fn ehlo_noncanonical_lines_kept_as_written() {
    let table: [(&str, Capability<'static>); 11] = [
        ("size 1000", other("size", &["1000"])),
        ("Pipelining", other("Pipelining", &[])),
        ("SIZE 0010", other("SIZE", &["0010"])),
        ("SIZE +5", other("SIZE", &["+5"])),
        ("SIZE 1 2", other("SIZE", &["1", "2"])),
        ("SIZE x", other("SIZE", &["x"])),
        ("DELIVERBY 007", other("DELIVERBY", &["007"])),
        (
            "FUTURERELEASE 060 2026-12-31T23:59:59Z",
            other("FUTURERELEASE", &["060", "2026-12-31T23:59:59Z"]),
        ),
        ("PIPELINING ", other("PIPELINING", &[""])),
        ("AUTH PLAIN  LOGIN", other("AUTH", &["PLAIN", "", "LOGIN"])),
        ("8BITMIME x", other("8BITMIME", &["x"])),
    ];
    for (line, want) in table {
        let wire = format!("250-mx.example.com\r\n250 {line}\r\n");
        let (_, r) = codec::decode_reply(wire.as_bytes()).unwrap();
        let e = EhloReply::from_reply(&r).unwrap();
        assert_eq!(e.capabilities, [want], "{line:?}");
        // A client still reads the limit.
        if line.eq_ignore_ascii_case("size 1000") {
            assert_eq!(e.size_limit(), Some(1000));
        }
        assert_eq!(
            String::from_utf8_lossy(&encode(&e.to_reply().unwrap())),
            wire,
            "{line:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A real server stream: the first part of the shared corpus, copied into tests/fixtures.

const SERVER_STREAM: &[u8] = include_bytes!("fixtures/smtp-server-stream-head.txt");

#[test]
fn server_stream_decodes_and_reencodes_to_the_same_bytes() {
    let (events, left) = read_replies(&[SERVER_STREAM], ReplyLimits::default());
    assert_eq!(left, 0);
    let replies: Vec<Reply<'static>> = events
        .iter()
        .map(|e| match e {
            ServerEvent::Reply(r) => r.clone(),
            ServerEvent::Error(e) => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(
        replies[0],
        reply(220, None, &["mx.example.com ESMTP ready"])
    );
    let ehlo = EhloReply::from_reply(&replies[1]).unwrap();
    assert_eq!(ehlo.size_limit(), Some(35_882_577));
    assert_eq!(
        ehlo.auth_mechanisms(),
        mechs(&["PLAIN", "LOGIN", "XOAUTH2"]).as_slice()
    );
    assert!(ehlo.capabilities.contains(&Capability::RequireTls));
    assert_eq!(
        replies[2],
        reply(235, status(2, 7, 0), &["Authentication successful"])
    );
    assert!(replies.contains(&reply(334, None, &[""])));
    assert!(replies.contains(&reply(334, None, &["VXNlcm5hbWU6"])));
    assert!(replies.contains(&reply(221, status(2, 0, 0), &["Bye"])));
    let greetings = replies
        .iter()
        .filter(|r| r.code() == ReplyCode::SERVICE_READY)
        .count();
    let ehlos = replies.iter().filter(|r| r.lines().len() > 1).count();
    assert_eq!(greetings, ehlos);
    assert!(greetings >= 5);

    let mut wire = Vec::new();
    for r in &replies {
        codec::encode_reply(r, &mut wire);
    }
    assert_eq!(
        String::from_utf8_lossy(&wire),
        String::from_utf8_lossy(SERVER_STREAM)
    );
}

#[test]
fn server_stream_any_chunking() {
    let (whole, _) = read_replies(&[SERVER_STREAM], ReplyLimits::default());
    for chunks in chunkings(SERVER_STREAM) {
        let (events, left) = read_replies(&chunks, ReplyLimits::default());
        assert_eq!(left, 0);
        assert!(
            events == whole,
            "split {:?} differs",
            chunks.first().map(|c| c.len())
        );
    }
}

/// RFC 5321 §4.2: a client acts on the code alone. Text that is not `textstring` (Latin-1
/// from a localized server, control characters) fails the reply by default, and is taken,
/// made printable, under `any_text`, which the client's configuration turns on.
#[test]
fn any_text_takes_latin1_and_control_characters() {
    let latin1 = b"550 5.1.1 Empf\xe4nger\x07 unbekannt\r\n";
    assert!(matches!(
        codec::decode_reply(latin1),
        Err(DecodeError::Syntax { .. })
    ));
    let limits = ReplyLimits {
        any_text: true,
        ..ReplyLimits::default()
    };
    let (rest, reply) = codec::decode_reply_with(latin1, limits).unwrap();
    assert!(rest.is_empty());
    assert_eq!(reply.code().get(), 550);
    assert_eq!(
        reply.status().map(|s| s.to_string()).as_deref(),
        Some("5.1.1")
    );
    assert_eq!(reply.text(), "Empf?nger? unbekannt");
    let (_, many) =
        codec::decode_reply_with(b"250-mx.example \xa9\r\n250 SIZE 10\r\n", limits).unwrap();
    assert_eq!(many.lines().count(), 2);
    // Valid UTF-8 (SMTPUTF8 servers) is kept as it is.
    let (_, utf8) = codec::decode_reply_with("250 café\r\n".as_bytes(), limits).unwrap();
    assert_eq!(utf8.text(), "café");
    // Lines with different codes: refused by default, the last line's code under any_text.
    let mixed = b"451-Temporary local problem\r\n450 4.7.1 try later\r\n";
    assert!(codec::decode_reply(mixed).is_err());
    let (rest, reply) = codec::decode_reply_with(mixed, limits).unwrap();
    assert!(rest.is_empty());
    assert_eq!(reply.code().get(), 450);
    assert_eq!(reply.lines().count(), 2);
    let config = sansmail_smtp::session::client::ClientConfig::new(
        sansmail_smtp::types::address::DomainPart::Domain(
            sansmail_smtp::types::address::Domain::new("client.example").unwrap(),
        ),
    );
    assert!(config.reply_limits.any_text);
}

/// Replies whose lines end in a bare LF (scripted test servers, some appliances): refused
/// by default, read under `any_text` as Postfix's client reads them, with a stray CR in the
/// text made printable. Where the reply ends does not move: the rest stays for the next.
#[test]
fn any_text_ends_reply_lines_at_lf() {
    let limits = ReplyLimits {
        any_text: true,
        ..ReplyLimits::default()
    };
    let input = b"250-mx.example\n250-SIZE 10\r\n250 8BIT\rMIME\n354 go on\n";
    assert!(matches!(
        codec::decode_reply(input),
        Err(DecodeError::BareLineEnding)
    ));
    let (rest, reply) = codec::decode_reply_with(input, limits).unwrap();
    assert_eq!(rest, b"354 go on\n");
    assert_eq!(reply.code().get(), 250);
    assert_eq!(
        reply.lines().collect::<Vec<_>>(),
        ["mx.example", "SIZE 10", "8BIT?MIME"]
    );
    let (rest, reply) = codec::decode_reply_with(rest, limits).unwrap();
    assert!(rest.is_empty());
    assert_eq!((reply.code().get(), reply.text()), (354, "go on".into()));
    // Only a complete line counts: "250 ok\r" may still get its LF.
    assert!(matches!(
        codec::decode_reply_with(b"250 ok\r", limits),
        Err(DecodeError::Incomplete)
    ));
}

/// Clients read the AUTH line as written by real servers: a trailing or doubled space, any
/// case, or only the pre-RFC `AUTH=` line.
#[test]
fn offers_auth_reads_real_servers_lines() {
    use sansmail_smtp::{EhloReply, types::sasl::Mechanism};
    for (text, plain, login) in [
        (
            &b"250-mx\r\n250-AUTH PLAIN LOGIN \r\n250 8BITMIME\r\n"[..],
            true,
            true,
        ),
        (b"250-mx\r\n250 AUTH  login\r\n", false, true),
        (b"250-mx\r\n250 AUTH=PLAIN LOGIN\r\n", true, true),
        (b"250-mx\r\n250 AUTH PLAIN\r\n", true, false),
        (b"250-mx\r\n250 XAUTH PLAIN\r\n", false, false),
    ] {
        let (_, reply) = codec::decode_reply(text).unwrap();
        let ehlo = EhloReply::from_reply(&reply).unwrap();
        assert_eq!(ehlo.offers_auth(&Mechanism::PLAIN), plain, "{text:?}");
        assert_eq!(ehlo.offers_auth(&Mechanism::LOGIN), login, "{text:?}");
    }
}
