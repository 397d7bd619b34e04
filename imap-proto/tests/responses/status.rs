//! Known answers: status responses, greetings, continuation requests and every response code.

use std::borrow::Cow;

use sansmail_imap::{
    codec::{EncodeBuf, ResponseOptions, decode_greeting, encode_greeting, parse_greeting},
    types::{
        capability::Capability,
        core::Tag,
        flag::Flag,
        objectid::ObjectId,
        response::{Greeting, GreetingKind, StatusKind},
        response_code::{MetadataCode, ResponseCode},
    },
};

use super::common::*;

#[test]
fn status_responses() {
    use StatusKind::*;
    let cases: Vec<(&[u8], _, bool)> = vec![
        (
            b"a001 OK LOGIN completed\r\n",
            tagged("a001", Ok, None, "LOGIN completed"),
            true,
        ),
        (
            b"a002 NO [TRYCREATE] Mailbox doesn't exist\r\n",
            tagged(
                "a002",
                No,
                Some(ResponseCode::TryCreate),
                "Mailbox doesn't exist",
            ),
            true,
        ),
        (
            b"a003 BAD Command unknown or arguments invalid\r\n",
            tagged("a003", Bad, None, "Command unknown or arguments invalid"),
            true,
        ),
        (
            b"* OK IMAP4rev2 server ready\r\n",
            untagged(Ok, None, "IMAP4rev2 server ready"),
            true,
        ),
        (
            b"* NO Disk is 98% full, please delete unnecessary data\r\n",
            untagged(No, None, "Disk is 98% full, please delete unnecessary data"),
            true,
        ),
        (
            b"* BAD Command line too long\r\n",
            untagged(Bad, None, "Command line too long"),
            true,
        ),
        (
            b"* BYE Autologout; idle for too long\r\n",
            untagged(Bye, None, "Autologout; idle for too long"),
            true,
        ),
        (
            b"* PREAUTH IMAP4rev2 server logged in as Smith\r\n",
            untagged(PreAuth, None, "IMAP4rev2 server logged in as Smith"),
            true,
        ),
        // IMAP4rev2's optional text: "[code] " with nothing after it, and SP alone.
        (
            b"A142 OK [READ-WRITE] \r\n",
            tagged("A142", Ok, Some(ResponseCode::ReadWrite), ""),
            true,
        ),
        (b"* OK \r\n", untagged(Ok, None, ""), true),
        // Keywords are case-insensitive; the encoder writes upper case.
        (b"a1 ok done\r\n", tagged("a1", Ok, None, "done"), false),
        (
            b"* ok [alert] Hi\r\n",
            ok_code(ResponseCode::Alert, "Hi"),
            false,
        ),
        // Text that ends in braces is not a literal for a client.
        (
            b"a2 NO see {5}\r\n",
            tagged("a2", No, None, "see {5}"),
            true,
        ),
        // Trailing spaces of status text are text.
        (b"* OK Fine  \r\n", untagged(Ok, None, "Fine  "), true),
        // Tags may hold any ASTRING-CHAR except "+".
        (b"]x.1 OK x\r\n", tagged("]x.1", Ok, None, "x"), true),
    ];
    for (wire, expected, identical) in cases {
        check(wire, &expected, identical);
    }
}

#[test]
fn utf8_text_under_utf8_mode() {
    let opts = ResponseOptions {
        utf8: true,
        ..ResponseOptions::default()
    };
    check_with(
        "* OK Grüße\r\n".as_bytes(),
        &untagged(StatusKind::Ok, None, "Grüße"),
        true,
        &opts,
    );
}

#[test]
fn continuation_requests() {
    let cases: Vec<(&[u8], _, bool)> = vec![
        (
            b"+ Ready for additional command text\r\n",
            cont(None, "Ready for additional command text"),
            true,
        ),
        (b"+ idling\r\n", cont(None, "idling"), true),
        (b"+ \r\n", cont(None, ""), true),
        (
            b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n",
            cont(
                None,
                "YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=",
            ),
            true,
        ),
        (
            b"+ [ALERT] Literal accepted\r\n",
            cont(Some(ResponseCode::Alert), "Literal accepted"),
            true,
        ),
    ];
    for (wire, expected, identical) in cases {
        check(wire, &expected, identical);
    }
    let sansmail_imap::types::response::Response::Continue(c) = parse(b"+ dGVzdA==\r\n") else {
        panic!()
    };
    assert_eq!(c.base64(), Some("dGVzdA=="));
    let sansmail_imap::types::response::Response::Continue(c) = parse(b"+ Ready for literal\r\n")
    else {
        panic!()
    };
    assert_eq!(c.base64(), None);
}

#[test]
fn greetings() {
    let opts = ResponseOptions::default();
    let cases: Vec<(&[u8], Greeting<'static>)> = vec![
        (b"* OK IMAP4rev2 Service Ready\r\n", Greeting { kind: GreetingKind::Ok, code: None, text: text("IMAP4rev2 Service Ready") }),
        (
            b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN LOGINDISABLED] Dovecot ready.\r\n",
            Greeting {
                kind: GreetingKind::Ok,
                code: Some(ResponseCode::Capability(vec![
                    Capability::Imap4Rev1,
                    Capability::Imap4Rev2,
                    Capability::StartTls,
                    Capability::Auth(atom("PLAIN")),
                    Capability::LoginDisabled,
                ])),
                text: text("Dovecot ready."),
            },
        ),
        (b"* PREAUTH Logged in as Smith\r\n", Greeting { kind: GreetingKind::PreAuth, code: None, text: text("Logged in as Smith") }),
        (b"* BYE Too many connections\r\n", Greeting { kind: GreetingKind::Bye, code: None, text: text("Too many connections") }),
    ];
    for (wire, expected) in cases {
        assert_eq!(parse_greeting(wire, &opts).unwrap(), expected);
        let mut out = EncodeBuf::new();
        encode_greeting(&expected, &mut out);
        assert_eq!(out.bytes, wire);
        let (rest, g) = decode_greeting(&[wire, b"a1"].concat(), &opts)
            .map(|(r, g)| (r.to_vec(), g.into_owned()))
            .unwrap();
        assert_eq!((rest.as_slice(), g), (&b"a1"[..], expected));
    }
    for bad in [
        &b"* NO go away\r\n"[..],
        b"a1 OK hi\r\n",
        b"* 1 EXISTS\r\n",
        b"+ x\r\n",
    ] {
        assert!(
            parse_greeting(bad, &opts).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

fn oid(s: &'static str) -> ObjectId<'static> {
    ObjectId::new(s).unwrap()
}

/// Every response code: the wire form after `* OK [` up to `]`, and the value.
fn codes() -> Vec<(&'static str, ResponseCode<'static>)> {
    use ResponseCode as C;
    vec![
        ("ALERT", C::Alert),
        ("ALREADYEXISTS", C::AlreadyExists),
        (
            "APPENDUID 38505 3955",
            C::AppendUid {
                uid_validity: 38505,
                uids: set("3955"),
            },
        ),
        (
            "APPENDUID 38505 3955:3957,3960",
            C::AppendUid {
                uid_validity: 38505,
                uids: set("3955:3957,3960"),
            },
        ),
        ("AUTHENTICATIONFAILED", C::AuthenticationFailed),
        ("AUTHORIZATIONFAILED", C::AuthorizationFailed),
        ("BADCHARSET", C::BadCharset(vec![])),
        (
            "BADCHARSET (UTF-8 \"US-ASCII\")",
            C::BadCharset(vec![aa("UTF-8"), aq("US-ASCII")]),
        ),
        ("CANNOT", C::Cannot),
        (
            "CAPABILITY IMAP4rev2 IDLE AUTH=SCRAM-SHA-256 X-UNKNOWN",
            C::Capability(vec![
                Capability::Imap4Rev2,
                Capability::Idle,
                Capability::Auth(atom("SCRAM-SHA-256")),
                Capability::Other(atom("X-UNKNOWN")),
            ]),
        ),
        ("CLIENTBUG", C::ClientBug),
        ("CLOSED", C::Closed),
        ("COMPRESSIONACTIVE", C::CompressionActive),
        ("CONTACTADMIN", C::ContactAdmin),
        (
            "COPYUID 38505 304,319:320 3956:3958",
            C::CopyUid {
                uid_validity: 38505,
                source: set("304,319:320"),
                destination: set("3956:3958"),
            },
        ),
        ("CORRUPTION", C::Corruption),
        ("EXPIRED", C::Expired),
        ("EXPUNGEISSUED", C::ExpungeIssued),
        ("HASCHILDREN", C::HasChildren),
        (
            "HIGHESTMODSEQ 715194045007",
            C::HighestModSeq(715_194_045_007),
        ),
        ("INUSE", C::InUse),
        ("LIMIT", C::Limit),
        (
            "MAILBOXID (F2212ea87-6097-4256-9d51-71338625)",
            C::MailboxId(oid("F2212ea87-6097-4256-9d51-71338625")),
        ),
        (
            "METADATA LONGENTRIES 2199",
            C::Metadata(MetadataCode::LongEntries(2199)),
        ),
        (
            "METADATA MAXSIZE 1024",
            C::Metadata(MetadataCode::MaxSize(1024)),
        ),
        ("METADATA TOOMANY", C::Metadata(MetadataCode::TooMany)),
        ("METADATA NOPRIVATE", C::Metadata(MetadataCode::NoPrivate)),
        ("MODIFIED 7,9", C::Modified(set("7,9"))),
        ("NOMODSEQ", C::NoModSeq),
        ("NOUPDATE \"B02\"", C::NoUpdate(Tag::new("B02").unwrap())),
        ("NONEXISTENT", C::NonExistent),
        ("NOPERM", C::NoPerm),
        ("NOTSAVED", C::NotSaved),
        ("OVERQUOTA", C::OverQuota),
        ("PARSE", C::Parse),
        (
            "PERMANENTFLAGS (\\Deleted \\Seen \\*)",
            C::PermanentFlags(vec![Flag::Deleted, Flag::Seen, Flag::Wildcard]),
        ),
        ("PERMANENTFLAGS ()", C::PermanentFlags(vec![])),
        (
            "PERMANENTFLAGS (\\Answered \\Flagged \\Draft $Forwarded $MDNSent \\*)",
            C::PermanentFlags(vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Draft,
                Flag::Keyword(atom("$Forwarded")),
                Flag::Keyword(atom("$MDNSent")),
                Flag::Wildcard,
            ]),
        ),
        ("PRIVACYREQUIRED", C::PrivacyRequired),
        ("READ-ONLY", C::ReadOnly),
        ("READ-WRITE", C::ReadWrite),
        ("SERVERBUG", C::ServerBug),
        ("TOOBIG", C::TooBig),
        ("TRYCREATE", C::TryCreate),
        ("UIDNEXT 4392", C::UidNext(4392)),
        ("UIDNOTSTICKY", C::UidNotSticky),
        ("UIDVALIDITY 3857529045", C::UidValidity(3_857_529_045)),
        ("UNAVAILABLE", C::Unavailable),
        ("UNKNOWN-CTE", C::UnknownCte),
        ("UNSEEN 12", C::Unseen(12)),
        ("USEATTR", C::UseAttr),
        // Unknown codes: an atom with optional text up to "]".
        ("X-GM-SOMETHING", C::other("X-GM-SOMETHING", None).unwrap()),
        (
            "REFERRAL imap://user;AUTH=*@SERVER2/SHARED/FOO",
            C::other(
                "REFERRAL",
                Some(Cow::Borrowed("imap://user;AUTH=*@SERVER2/SHARED/FOO")),
            )
            .unwrap(),
        ),
        (
            "X-NOUPDATE \"B02\"",
            C::other("X-NOUPDATE", Some(Cow::Borrowed("\"B02\""))).unwrap(),
        ),
    ]
}

#[test]
fn every_response_code() {
    for (code, value) in codes() {
        let wire = format!("* OK [{code}] text here\r\n");
        check(wire.as_bytes(), &ok_code(value.clone(), "text here"), true);
        // The same code in a tagged response and in a continuation request.
        let wire = format!("A1 NO [{code}] no\r\n");
        check(
            wire.as_bytes(),
            &tagged("A1", StatusKind::No, Some(value.clone()), "no"),
            true,
        );
        let wire = format!("+ [{code}] go\r\n");
        check(wire.as_bytes(), &cont(Some(value), "go"), true);
    }
}

#[test]
fn codes_are_case_insensitive_and_encoded_upper_case() {
    let r = parse(b"* OK [uidnext 5] x\r\n");
    assert_eq!(r, ok_code(ResponseCode::UidNext(5), "x"));
    assert_eq!(encode(&r), b"* OK [UIDNEXT 5] x\r\n");
    let r = parse(b"* OK [Read-Only] x\r\n");
    assert_eq!(r, ok_code(ResponseCode::ReadOnly, "x"));
}

#[test]
fn known_names_with_bad_arguments_fall_back_to_the_catch_all() {
    // `atom [SP 1*<any TEXT-CHAR except "]">]` covers these; they stay as received.
    for (code, name, t) in [
        ("UIDNEXT abc", "UIDNEXT", Some("abc")),
        ("UIDVALIDITY 0", "UIDVALIDITY", Some("0")),
        ("ALERT now", "ALERT", Some("now")),
        ("COPYUID 1 2:*", "COPYUID", Some("1 2:*")),
        ("HIGHESTMODSEQ", "HIGHESTMODSEQ", None),
        // RFC 5267's argument is a quoted tag.
        ("NOUPDATE B02", "NOUPDATE", Some("B02")),
        ("NOUPDATE \"a b\"", "NOUPDATE", Some("\"a b\"")),
    ] {
        let wire = format!("* OK [{code}] x\r\n");
        let r = parse(wire.as_bytes());
        let sansmail_imap::types::response::Response::Status(s) = &r else {
            panic!()
        };
        match &s.code {
            Some(ResponseCode::Other { name: n, text: tx }) => {
                assert_eq!((n.as_str(), tx.as_deref()), (name, t));
            }
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(encode(&r), wire.as_bytes());
    }
}
