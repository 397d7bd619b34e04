//! Command lines: known answers for every RFC 1939 / 2449 / 2595 / 5034 / 6856 command,
//! every strict prefix incomplete, the negative table with where each error is, argument and
//! line limits, encoder refusals, the same results however the input is chunked, and
//! proptest round-trips.

mod common;

use std::borrow::Cow;

use common::{ClientItem, assert_strict_prefixes_incomplete, chunkings, read_commands};
use proptest::prelude::*;
use sansmail_pop3::{
    AuthInitial, Command, DecodeError, Expect, Limits, Mechanism, MessageNumber, Secret, Status,
    codec::{self, SaslLine},
};

fn n(i: u32) -> MessageNumber {
    MessageNumber::new(i).unwrap()
}

fn user(s: &'static str) -> Command<'static> {
    Command::User {
        name: Cow::Borrowed(s),
    }
}

fn pass(s: &'static str) -> Command<'static> {
    Command::Pass {
        password: Secret::new(Cow::Borrowed(s)),
    }
}

fn auth(mech: &'static str, initial: Option<AuthInitial<'static>>) -> Command<'static> {
    Command::Auth {
        mechanism: Mechanism::new(mech).unwrap(),
        initial,
    }
}

fn b64(s: &'static str) -> AuthInitial<'static> {
    AuthInitial::Base64(Secret::new(Cow::Borrowed(s)))
}

/// Known answers: the wire form, the value, and whether the encoder writes exactly these
/// bytes back (upper-case keywords, no leading zeros).
fn known_answers() -> Vec<(&'static [u8], Command<'static>, bool)> {
    let c = |w: &'static [u8], v| (w, v, true);
    let l = |w: &'static [u8], v| (w, v, false);
    vec![
        // RFC 1939 §4, §7: AUTHORIZATION.
        c(b"USER mrose\r\n", user("mrose")),
        c("USER j\u{f6}rg\r\n".as_bytes(), user("j\u{f6}rg")),
        c(
            b"USER a!#$%&'*+-/=?^_`{|}~@example.org\r\n",
            user("a!#$%&'*+-/=?^_`{|}~@example.org"),
        ),
        l(b"user mrose\r\n", user("mrose")),
        c(b"PASS secret\r\n", pass("secret")),
        c(b"PASS secret with spaces\r\n", pass("secret with spaces")),
        c(
            b"PASS  leading and trailing \r\n",
            pass(" leading and trailing "),
        ),
        c(b"PASS \r\n", pass("")),
        c(b"PASS tab\there\r\n", pass("tab\there")),
        c(
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
            Command::Apop {
                name: "mrose".into(),
                digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
            },
        ),
        c(
            b"APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n",
            Command::Apop {
                name: "mrose".into(),
                digest: "C4C9334BAC560ECC979E58001B3E22FB".into(),
            },
        ),
        c(b"QUIT\r\n", Command::Quit),
        l(b"quit\r\n", Command::Quit),
        l(b"QuIt\r\n", Command::Quit),
        // RFC 1939 §5: TRANSACTION.
        c(b"STAT\r\n", Command::Stat),
        c(b"LIST\r\n", Command::List { msg: None }),
        c(b"LIST 1\r\n", Command::List { msg: Some(n(1)) }),
        c(
            b"LIST 4294967295\r\n",
            Command::List {
                msg: Some(n(u32::MAX)),
            },
        ),
        l(b"LIST 007\r\n", Command::List { msg: Some(n(7)) }),
        c(b"RETR 1\r\n", Command::Retr { msg: n(1) }),
        l(b"retr 12\r\n", Command::Retr { msg: n(12) }),
        c(b"DELE 2\r\n", Command::Dele { msg: n(2) }),
        c(b"NOOP\r\n", Command::Noop),
        c(b"RSET\r\n", Command::Rset),
        // RFC 1939 §7: optional commands.
        c(
            b"TOP 1 10\r\n",
            Command::Top {
                msg: n(1),
                lines: 10,
            },
        ),
        c(
            b"TOP 1 0\r\n",
            Command::Top {
                msg: n(1),
                lines: 0,
            },
        ),
        c(
            b"TOP 3 18446744073709551615\r\n",
            Command::Top {
                msg: n(3),
                lines: u64::MAX,
            },
        ),
        // More lines than any body has: the whole message (RFC 1939 §7), however many.
        l(
            b"TOP 1 99999999999999999999\r\n",
            Command::Top {
                msg: n(1),
                lines: u64::MAX,
            },
        ),
        c(b"UIDL\r\n", Command::Uidl { msg: None }),
        c(b"UIDL 1\r\n", Command::Uidl { msg: Some(n(1)) }),
        // RFC 2449 §5, RFC 2595 §4.
        c(b"CAPA\r\n", Command::Capa),
        c(b"STLS\r\n", Command::Stls),
        // RFC 5034 §4.
        c(b"AUTH\r\n", Command::AuthList),
        c(b"AUTH PLAIN\r\n", auth("PLAIN", None)),
        c(
            b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
            auth("PLAIN", Some(b64("AGFsaWNlAHNlY3JldA=="))),
        ),
        c(b"AUTH PLAIN =\r\n", auth("PLAIN", Some(AuthInitial::Empty))),
        l(
            b"auth plain dGVzdA==\r\n",
            auth("PLAIN", Some(b64("dGVzdA=="))),
        ),
        c(
            b"AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=\r\n",
            auth(
                "SCRAM-SHA-256",
                Some(b64("biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=")),
            ),
        ),
        c(
            b"AUTH X_OAUTH2-01234567\r\n",
            auth("X_OAUTH2-01234567", None),
        ),
        // RFC 6856 §2–3.
        c(b"UTF8\r\n", Command::Utf8),
        c(b"LANG\r\n", Command::Lang { range: None }),
        c(
            b"LANG es\r\n",
            Command::Lang {
                range: Some("es".into()),
            },
        ),
        c(
            b"LANG en-boont\r\n",
            Command::Lang {
                range: Some("en-boont".into()),
            },
        ),
        c(
            b"LANG *\r\n",
            Command::Lang {
                range: Some("*".into()),
            },
        ),
    ]
}

#[test]
fn known_answers_decode_and_encode() {
    for (wire, value, canonical) in known_answers() {
        let (rest, got) = codec::decode_command(wire)
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(wire)));
        assert!(rest.is_empty());
        assert_eq!(got, value, "{:?}", String::from_utf8_lossy(wire));
        let mut out = Vec::new();
        codec::encode_command(&value, &mut out).unwrap();
        if canonical {
            assert_eq!(out, wire, "re-encoding {:?}", String::from_utf8_lossy(wire));
        } else {
            assert_ne!(
                out,
                wire,
                "mark it canonical: {:?}",
                String::from_utf8_lossy(wire)
            );
            assert_eq!(codec::decode_command(&out).unwrap().1, value);
        }
        // Pipelined: what follows is left alone.
        let mut two = wire.to_vec();
        two.extend_from_slice(b"NOOP\r\n");
        assert_eq!(
            codec::decode_command(&two).unwrap(),
            (&b"NOOP\r\n"[..], value)
        );
    }
}

#[test]
fn every_strict_prefix_is_incomplete() {
    for (wire, ..) in known_answers() {
        assert_strict_prefixes_incomplete(wire, |i| codec::decode_command(i).map(|_| ()));
    }
    for line in [&b"*\r\n"[..], b"\r\n", b"dGVzdA==\r\n"] {
        assert_strict_prefixes_incomplete(line, |i| codec::decode_sasl_line(i, 1000).map(|_| ()));
    }
}

#[test]
fn response_kinds() {
    use Expect::{MultiLine, Sasl, SingleLine};
    let table: &[(&[u8], Expect)] = &[
        (b"CAPA\r\n", MultiLine),
        (b"LIST\r\n", MultiLine),
        (b"LIST 1\r\n", SingleLine),
        (b"UIDL\r\n", MultiLine),
        (b"UIDL 1\r\n", SingleLine),
        (b"RETR 1\r\n", MultiLine),
        (b"TOP 1 0\r\n", MultiLine),
        (b"AUTH\r\n", MultiLine),
        (b"AUTH PLAIN\r\n", Sasl),
        (b"AUTH PLAIN =\r\n", Sasl),
        (b"LANG\r\n", MultiLine),
        (b"LANG es\r\n", SingleLine),
        (b"STAT\r\n", SingleLine),
        (b"DELE 1\r\n", SingleLine),
        (b"USER a\r\n", SingleLine),
        (b"PASS a\r\n", SingleLine),
        (b"APOP a c4c9334bac560ecc979e58001b3e22fb\r\n", SingleLine),
        (b"STLS\r\n", SingleLine),
        (b"UTF8\r\n", SingleLine),
        (b"NOOP\r\n", SingleLine),
        (b"RSET\r\n", SingleLine),
        (b"QUIT\r\n", SingleLine),
    ];
    for (wire, want) in table {
        let (_, cmd) = codec::decode_command(wire).unwrap();
        assert_eq!(
            cmd.response_kind(),
            *want,
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

fn syntax(at: usize, expected: &'static str) -> DecodeError {
    DecodeError::Syntax { at, expected }
}

#[test]
fn negative_table_says_what_and_where() {
    let long_user = format!("USER {}\r\n", "u".repeat(251));
    let long_line = format!("PASS {}\r\n", "p".repeat(249));
    let table: Vec<(&[u8], DecodeError)> = vec![
        (b"FOO\r\n", DecodeError::UnknownCommand),
        (b"RETRX 1\r\n", DecodeError::UnknownCommand),
        (b"XY\r\n", DecodeError::UnknownCommand),
        (b"\r\n", DecodeError::UnknownCommand),
        (b" STAT\r\n", DecodeError::UnknownCommand),
        (b"STAT x\r\n", syntax(4, "end of line")),
        (b"RETR\r\n", syntax(4, "SP")),
        (b"RETR \r\n", syntax(5, "message number")),
        (
            b"RETR 0\r\n",
            syntax(5, "message number from 1 to 4294967295"),
        ),
        (
            b"RETR 4294967296\r\n",
            syntax(5, "message number from 1 to 4294967295"),
        ),
        (
            b"RETR 99999999999999999999\r\n",
            syntax(5, "message number"),
        ),
        (b"RETR x\r\n", syntax(5, "message number")),
        (b"RETR -1\r\n", syntax(5, "message number")),
        (b"RETR  1\r\n", syntax(5, "message number")),
        (b"RETR 1 2\r\n", syntax(6, "end of line")),
        (b"DELE\r\n", syntax(4, "SP")),
        (b"TOP 1\r\n", syntax(5, "SP")),
        (b"TOP 1 x\r\n", syntax(6, "number of lines")),
        (b"USER\r\n", syntax(4, "SP")),
        (b"USER \r\n", syntax(5, "param")),
        (b"USER a b\r\n", syntax(6, "end of line")),
        (long_user.as_bytes(), DecodeError::LineTooLong { max: 255 }),
        (b"PASS\r\n", syntax(4, "SP")),
        (
            b"PASS a\x01b\r\n",
            syntax(5, "password of printable characters"),
        ),
        (b"APOP mrose\r\n", syntax(10, "SP")),
        (
            b"APOP mrose c4c9\r\n",
            syntax(11, "digest of 32 hexadecimal digits"),
        ),
        (
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fbX\r\n",
            syntax(43, "end of line"),
        ),
        (
            b"AUTH PLAIN abc\r\n",
            syntax(11, "initial-response (base64 or '=')"),
        ),
        (
            b"AUTH PLAIN ====\r\n",
            syntax(11, "initial-response (base64 or '=')"),
        ),
        (
            b"AUTH PLAIN dGVzdA== x\r\n",
            syntax(11, "initial-response (base64 or '=')"),
        ),
        (
            b"AUTH ABCDEFGHIJKLMNOPQRSTU\r\n",
            syntax(5, "sasl-mech of 1 to 20 of A-Z 0-9 - _"),
        ),
        (
            b"AUTH PL.AIN\r\n",
            syntax(5, "sasl-mech of 1 to 20 of A-Z 0-9 - _"),
        ),
        (b"LANG en_US\r\n", syntax(5, "language tag or '*'")),
        (b"UTF8 x\r\n", syntax(4, "end of line")),
        (b"USER \xff\r\n", syntax(5, "UTF-8")),
        (b"QUIT\n", DecodeError::BareLineEnding),
        (b"QU\rIT\r\n", DecodeError::BareLineEnding),
        (b"QUIT\r\r\n", DecodeError::BareLineEnding),
        (long_line.as_bytes(), DecodeError::LineTooLong { max: 255 }),
    ];
    for (wire, want) in table {
        let got = codec::decode_command(wire);
        assert_eq!(
            got.map(|(_, c)| c),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
        let response = want.to_response();
        assert_eq!(response.status(), Status::Err);
        assert_eq!(want.to_reply(), sansmail_pop3::Reply::Single(response));
    }
}

#[test]
fn limits_are_configurable() {
    let line = format!("PASS {}\r\n", "p".repeat(248));
    assert_eq!(line.len(), 255);
    assert!(
        codec::decode_command(line.as_bytes()).is_ok(),
        "255 octets fit"
    );
    let mut limits = Limits::default();
    limits.max_command_line = 100;
    assert_eq!(
        codec::decode_command_with(line.as_bytes(), &limits).map(|_| ()),
        Err(DecodeError::LineTooLong { max: 100 })
    );
    // The argument limit counts characters, and PASS and AUTH's initial response are exempt.
    let name = "\u{f6}".repeat(40);
    assert!(codec::decode_command(format!("USER {name}\r\n").as_bytes()).is_ok());
    assert!(codec::decode_command(format!("PASS {}\r\n", "x".repeat(200)).as_bytes()).is_ok());
    let ir = "A".repeat(200);
    assert!(codec::decode_command(format!("AUTH PLAIN {ir}\r\n").as_bytes()).is_ok());
    limits.max_command_line = 255;
    limits.max_argument = 3;
    assert_eq!(
        codec::decode_command_with(b"USER abcd\r\n", &limits).map(|_| ()),
        Err(DecodeError::ArgumentTooLong { at: 5, max: 3 })
    );
    assert_eq!(
        codec::decode_command_with(b"APOP abc 0123456789abcdef0123456789abcdef\r\n", &limits)
            .map(|_| ()),
        Ok(())
    );
    assert_eq!(
        codec::decode_command_with(b"LANG en-US\r\n", &limits).map(|_| ()),
        Err(DecodeError::ArgumentTooLong { at: 5, max: 3 })
    );
}

#[test]
fn errors_never_echo_the_client_text() {
    let secret = "hunter2-and-a-very-long-tail-that-would-overflow-the-limit";
    for wire in [
        format!("XYZW {secret}\r\n"),
        format!("STAT {secret}\r\n"),
        format!("USER {secret} x\r\n"),
        format!("RETR {secret}\r\n"),
    ] {
        let err = codec::decode_command(wire.as_bytes()).unwrap_err();
        let mut out = Vec::new();
        codec::encode_response(&err.to_response(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("-ERR "), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.len() < 100, "{text}");
    }
}

#[test]
fn encoder_refuses_what_would_break_the_line() {
    let bad = [
        user(""),
        user("a b"),
        user("a\r\nDELE 1"),
        pass("x\r\nDELE 1"),
        pass("nul\0"),
        Command::Apop {
            name: "a".into(),
            digest: "xyz".into(),
        },
        Command::Apop {
            name: "a b".into(),
            digest: "c4c9334bac560ecc979e58001b3e22fb".into(),
        },
        auth("PLAIN", Some(b64(""))),
        auth("PLAIN", Some(b64("abc"))),
        auth("PLAIN", Some(b64("dGVz dA=="))),
        Command::Lang {
            range: Some("en_US".into()),
        },
        Command::Lang {
            range: Some("en\r\n".into()),
        },
    ];
    for cmd in bad {
        let mut out = b"kept".to_vec();
        let err = codec::encode_command(&cmd, &mut out).unwrap_err();
        assert_eq!(err.verb, cmd.verb());
        assert_eq!(out, b"kept", "nothing written for {cmd:?}");
    }
}

#[test]
fn passwords_stay_out_of_debug_output() {
    let (_, cmd) = codec::decode_command(b"PASS hunter2\r\n").unwrap();
    assert!(!format!("{cmd:?}").contains("hunter2"));
    let (_, cmd) = codec::decode_command(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").unwrap();
    assert!(!format!("{cmd:?}").contains("AGFsaWNl"));
}

#[test]
fn sasl_lines() {
    assert_eq!(
        codec::decode_sasl_line(b"*\r\n", 100).unwrap().1,
        SaslLine::Cancel
    );
    assert_eq!(
        codec::decode_sasl_line(b"\r\n", 100).unwrap().1,
        SaslLine::Response(Secret::new(Cow::Borrowed("")))
    );
    assert_eq!(
        codec::decode_sasl_line(b"dGVzdA==\r\nQUIT\r\n", 100).unwrap(),
        (
            &b"QUIT\r\n"[..],
            SaslLine::Response(Secret::new(Cow::Borrowed("dGVzdA==")))
        )
    );
    assert!(codec::decode_sasl_line(b"dGVzdA\r\n", 100).is_err());
    assert!(codec::decode_sasl_line(b"**\r\n", 100).is_err());
    assert_eq!(
        codec::decode_sasl_line(&[b'A'; 20], 10),
        Err(DecodeError::LineTooLong { max: 10 })
    );
    let mut out = Vec::new();
    codec::encode_sasl_response(Some(b"\0alice\0secret"), &mut out);
    codec::encode_sasl_response(None, &mut out);
    assert_eq!(out, b"AGFsaWNlAHNlY3JldA==\r\n*\r\n");
}

/// A client stream holding every known answer once, with a SASL line after `AUTH PLAIN`.
fn stream() -> (Vec<u8>, Vec<ClientItem>) {
    let mut wire = Vec::new();
    let mut want = Vec::new();
    for (w, value, _) in known_answers() {
        wire.extend_from_slice(w);
        let sasl = matches!(value, Command::Auth { initial: None, .. });
        want.push(ClientItem::Command(value));
        if sasl {
            wire.extend_from_slice(b"dGVzdA==\r\n");
            want.push(ClientItem::Sasl(SaslLine::Response(Secret::new(
                "dGVzdA==".into(),
            ))));
        }
    }
    // A bad line in the middle is reported and skipped.
    wire.extend_from_slice(b"BOGUS x\r\nNOOP\r\n");
    want.extend([
        ClientItem::Error(DecodeError::UnknownCommand),
        ClientItem::Command(Command::Noop),
    ]);
    (wire, want)
}

#[test]
fn every_split_and_one_octet_at_a_time_give_the_same_commands() {
    let (wire, want) = stream();
    let limits = Limits::default();
    for chunks in chunkings(&wire) {
        let (got, left) = read_commands(&chunks, &limits);
        assert_eq!(left, 0);
        assert_eq!(
            got,
            want,
            "split {:?}",
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_long_line_is_refused_however_it_arrives() {
    let mut wire = vec![b'A'; 10_000];
    wire.extend_from_slice(b"\r\nSTAT\r\n");
    let want = vec![
        ClientItem::Error(DecodeError::LineTooLong { max: 255 }),
        ClientItem::Command(Command::Stat),
    ];
    let limits = Limits::default();
    for chunks in [
        vec![&wire[..]],
        wire.chunks(1).collect(),
        wire.chunks(100).collect(),
    ] {
        assert_eq!(read_commands(&chunks, &limits).0, want);
    }
}

// ---------------------------------------------------------------------------------------------
// Round-trips: decode(encode(x)) == x and encode(decode(encode(x))) == encode(x).

fn msg_strategy() -> impl Strategy<Value = MessageNumber> {
    (1..=u32::MAX).prop_map(|i| MessageNumber::new(i).unwrap())
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[!-~\u{e0}-\u{ff}\u{4e00}-\u{4e10}]{1,40}"
}

fn command_strategy() -> impl Strategy<Value = Command<'static>> {
    let base64 = proptest::collection::vec(any::<u8>(), 1..100)
        .prop_map(|b| sansmail_pop3::types::sasl::base64_encode(&b));
    prop_oneof![
        name_strategy().prop_map(|n| Command::User { name: n.into() }),
        "[ -~\t]{0,200}".prop_map(|p| Command::Pass {
            password: Secret::new(p.into())
        }),
        (name_strategy(), "[0-9a-fA-F]{32}").prop_map(|(n, d)| Command::Apop {
            name: n.into(),
            digest: d.into()
        }),
        (
            "[A-Z0-9_-]{1,20}",
            proptest::option::of(proptest::option::of(base64))
        )
            .prop_map(|(m, ir)| Command::Auth {
                mechanism: Mechanism::new(m).unwrap(),
                initial: ir.map(|i| match i {
                    None => AuthInitial::Empty,
                    Some(b) => AuthInitial::Base64(Secret::new(b.into())),
                }),
            }),
        Just(Command::AuthList),
        Just(Command::Quit),
        Just(Command::Stat),
        proptest::option::of(msg_strategy()).prop_map(|msg| Command::List { msg }),
        msg_strategy().prop_map(|msg| Command::Retr { msg }),
        msg_strategy().prop_map(|msg| Command::Dele { msg }),
        Just(Command::Noop),
        Just(Command::Rset),
        (msg_strategy(), any::<u64>()).prop_map(|(msg, lines)| Command::Top { msg, lines }),
        proptest::option::of(msg_strategy()).prop_map(|msg| Command::Uidl { msg }),
        Just(Command::Capa),
        Just(Command::Stls),
        Just(Command::Utf8),
        proptest::option::of(prop_oneof![Just("*".to_owned()), "[a-zA-Z0-9-]{1,40}"]).prop_map(
            |r| Command::Lang {
                range: r.map(Into::into)
            }
        ),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip(cmd in command_strategy()) {
        let mut wire = Vec::new();
        codec::encode_command(&cmd, &mut wire).unwrap();
        let (rest, back) = codec::decode_command(&wire).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&back, &cmd);
        let mut again = Vec::new();
        codec::encode_command(&back, &mut again).unwrap();
        prop_assert_eq!(again, wire);
    }

    #[test]
    fn arbitrary_lines_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = codec::decode_command(&line);
        let _ = codec::decode_sasl_line(&line, 1000);
    }

    #[test]
    fn keyword_lines_never_panic(kw in "(USER|PASS|APOP|AUTH|LIST|RETR|DELE|TOP|UIDL|LANG|STAT)", tail in "[ -~\u{80}-\u{ff}]{0,60}") {
        let wire = format!("{kw}{tail}\r\n");
        if let Ok((_, cmd)) = codec::decode_command(wire.as_bytes()) {
            // Whatever decodes encodes, and reads back the same.
            let mut out = Vec::new();
            codec::encode_command(&cmd, &mut out).unwrap();
            prop_assert_eq!(codec::decode_command(&out).unwrap().1, cmd);
        }
    }
}
