//! URLAUTH (RFC 4467): the URL grammar, the commands and responses (known answers, every
//! strict prefix, refusals, proptest round-trips), the INTERNAL token, and the session's
//! rules.

use std::{borrow::Cow, fmt::Write, time::Instant};

use proptest::prelude::*;
use sansmail_imap::{
    codec::{
        CommandOptions, EncodeBuf, ResponseOptions, encode_command, encode_response, parse_command,
        parse_response,
    },
    session::{
        ServerConfig,
        server::{Event, Server},
    },
    types::{
        capability::Capability,
        command::{Command, CommandBody, State},
        core::{AString, Atom, IString, Tag},
        mailbox::Mailbox,
        response::{Data, Response, StatusKind},
        response_code::ResponseCode,
    },
    url::{UrlAccess, internal_token, is_mechanism, parse_auth_url, verify_internal_token},
};

fn cmd(wire: &[u8]) -> Command<'_> {
    parse_command(wire, &CommandOptions::default())
        .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(wire)))
}

fn encode_cmd(c: &Command<'_>) -> Vec<u8> {
    let mut out = EncodeBuf::new();
    encode_command(c, &CommandOptions::default(), &mut out);
    out.bytes
}

fn encode_resp(r: &Response<'_>) -> Vec<u8> {
    let mut out = EncodeBuf::new();
    encode_response(r, &ResponseOptions::default(), &mut out);
    out.bytes
}

fn atom(s: &str) -> Atom<'static> {
    Atom::new(s.to_owned()).unwrap()
}

fn astr(s: &str) -> AString<'static> {
    AString::from_bytes(s.as_bytes().to_vec()).unwrap()
}

const RUMP: &str = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred";

/// Parses `wire`, compares, re-encodes byte for byte, and refuses every strict prefix.
fn command_kat(wire: &[u8], body: CommandBody<'static>) {
    let expected = Command::new(Tag::new("a1").unwrap(), body);
    assert_eq!(cmd(wire), expected);
    assert_eq!(
        String::from_utf8_lossy(&encode_cmd(&expected)),
        String::from_utf8_lossy(wire)
    );
    for end in 0..wire.len() {
        assert!(
            parse_command(&wire[..end], &CommandOptions::default()).is_err(),
            "prefix {:?} accepted",
            String::from_utf8_lossy(&wire[..end])
        );
    }
}

#[test]
fn commands_known_answers() {
    command_kat(
        b"a1 RESETKEY\r\n",
        CommandBody::ResetKey {
            mailbox: None,
            mechanisms: Vec::new(),
        },
    );
    command_kat(
        b"a1 RESETKEY INBOX INTERNAL\r\n",
        CommandBody::ResetKey {
            mailbox: Some(Mailbox::new("INBOX").unwrap()),
            mechanisms: vec![atom("INTERNAL")],
        },
    );
    command_kat(
        b"a1 RESETKEY Drafts\r\n",
        CommandBody::ResetKey {
            mailbox: Some(Mailbox::new("Drafts").unwrap()),
            mechanisms: Vec::new(),
        },
    );
    // RFC 4467 §6.1's example, the URL quoted.
    command_kat(
        format!("a1 GENURLAUTH \"{RUMP}\" INTERNAL\r\n").as_bytes(),
        CommandBody::GenUrlAuth {
            urls: vec![(
                AString::String(IString::Quoted(Cow::Borrowed(RUMP))),
                atom("INTERNAL"),
            )],
        },
    );
    command_kat(
        b"a1 GENURLAUTH \"imap://a@h/M/;UID=1;URLAUTH=anonymous\" INTERNAL \"imap://a@h/N/;UID=2;URLAUTH=authuser\" X-OTHER.1\r\n",
        CommandBody::GenUrlAuth {
            urls: vec![
                (
                    AString::String(IString::Quoted(Cow::Borrowed(
                        "imap://a@h/M/;UID=1;URLAUTH=anonymous",
                    ))),
                    atom("INTERNAL"),
                ),
                (
                    AString::String(IString::Quoted(Cow::Borrowed(
                        "imap://a@h/N/;UID=2;URLAUTH=authuser",
                    ))),
                    atom("X-OTHER.1"),
                ),
            ],
        },
    );
    let full = format!("{RUMP}:internal:91354a473744909de610943775f92038");
    command_kat(
        format!("a1 URLFETCH \"{full}\" \"{full}\"\r\n").as_bytes(),
        CommandBody::UrlFetch {
            urls: vec![
                AString::String(IString::Quoted(Cow::Owned(full.clone()))),
                AString::String(IString::Quoted(Cow::Owned(full.clone()))),
            ],
        },
    );
}

#[test]
fn commands_refused() {
    for bad in [
        &b"a1 GENURLAUTH\r\n"[..],
        b"a1 GENURLAUTH \"imap://a@h/M/;UID=1;URLAUTH=anonymous\"\r\n",
        b"a1 GENURLAUTH \"imap://a@h/M/;UID=1;URLAUTH=anonymous\" IN_TERNAL\r\n",
        b"a1 GENURLAUTH \"imap://a@h/M/;UID=1;URLAUTH=anonymous\" \r\n",
        b"a1 URLFETCH\r\n",
        b"a1 URLFETCH \r\n",
        b"a1 RESETKEY \r\n",
        b"a1 RESETKEY INBOX \r\n",
        b"a1 RESETKEY INBOX +\r\n",
    ] {
        assert!(
            parse_command(bad, &CommandOptions::default()).is_err(),
            "{:?} accepted",
            String::from_utf8_lossy(bad)
        );
    }
    let body = cmd(b"a1 URLFETCH x\r\n").body;
    assert!(!body.valid_in(State::NotAuthenticated));
    assert!(body.valid_in(State::Authenticated));
    assert!(body.valid_in(State::Selected));
    assert_eq!(body.name(), "URLFETCH");
}

fn response_kat(wire: &[u8], expected: &Response<'_>) {
    let got = parse_response(wire, &ResponseOptions::default())
        .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(wire)));
    assert_eq!(&got, expected);
    assert_eq!(
        String::from_utf8_lossy(&encode_resp(expected)),
        String::from_utf8_lossy(wire)
    );
    assert_eq!(&got.into_owned(), expected);
    for end in 0..wire.len() {
        assert!(
            parse_response(&wire[..end], &ResponseOptions::default()).is_err(),
            "prefix {:?} accepted",
            String::from_utf8_lossy(&wire[..end])
        );
    }
}

#[test]
fn responses_known_answers() {
    let full = format!("{RUMP}:internal:91354a473744909de610943775f92038");
    response_kat(
        format!("* GENURLAUTH \"{full}\"\r\n").as_bytes(),
        &Response::Data(Data::GenUrlAuth(vec![AString::String(IString::Quoted(
            Cow::Owned(full.clone()),
        ))])),
    );
    // RFC 4467 §6.3: one URL's data as a literal, another's NIL.
    response_kat(
        format!(
            "* URLFETCH \"{full}\" {{26}}\r\nBody of the first\r\npart.\r\n \"{full}\" NIL\r\n"
        )
        .as_bytes(),
        &Response::Data(Data::UrlFetch(vec![
            (
                AString::String(IString::Quoted(Cow::Owned(full.clone()))),
                Some(IString::from_bytes(&b"Body of the first\r\npart.\r\n"[..]).unwrap()),
            ),
            (
                AString::String(IString::Quoted(Cow::Owned(full.clone()))),
                None,
            ),
        ])),
    );
    response_kat(
        b"* OK [URLMECH INTERNAL] mechanisms\r\n",
        &Response::Status(sansmail_imap::types::response::Status::untagged(
            StatusKind::Ok,
            Some(ResponseCode::UrlMech(Vec::new())),
            sansmail_imap::types::core::Text::new("mechanisms").unwrap(),
        )),
    );
    response_kat(
        b"* OK [URLMECH INTERNAL XSAMPLE=P34OKhO7VEkCbsiYY8rGEg== X-OTHER] mechanisms\r\n",
        &Response::Status(sansmail_imap::types::response::Status::untagged(
            StatusKind::Ok,
            Some(ResponseCode::UrlMech(vec![
                (
                    atom("XSAMPLE"),
                    Some(Cow::Borrowed("P34OKhO7VEkCbsiYY8rGEg==")),
                ),
                (atom("X-OTHER"), None),
            ])),
            sansmail_imap::types::core::Text::new("mechanisms").unwrap(),
        )),
    );
    for bad in [
        &b"* GENURLAUTH\r\n"[..],
        b"* URLFETCH\r\n",
        b"* URLFETCH url\r\n",
    ] {
        assert!(
            parse_response(bad, &ResponseOptions::default()).is_err(),
            "{:?} accepted",
            String::from_utf8_lossy(bad)
        );
    }
    // A URLMECH whose arguments do not parse is left as an unknown code (the ABNF's
    // catch-all), never taken for a URLMECH.
    for odd in [
        &b"* OK [URLMECH] x\r\n"[..],
        b"* OK [URLMECH XSAMPLE] x\r\n",
        b"* OK [URLMECH INTERNALX] x\r\n",
        b"* OK [URLMECH INTERNAL X=!] x\r\n",
    ] {
        let parsed = parse_response(odd, &ResponseOptions::default()).unwrap();
        let Response::Status(status) = parsed else {
            panic!("{parsed:?}");
        };
        assert!(
            matches!(status.code, Some(ResponseCode::Other { .. })),
            "{status:?}"
        );
    }
    assert_eq!(Capability::parse("URLAUTH"), Ok(Capability::UrlAuth));
    assert_eq!(Capability::UrlAuth.to_string(), "URLAUTH");
}

#[test]
fn auth_urls_parse_into_their_pieces() {
    let url = parse_auth_url(RUMP).unwrap();
    assert_eq!(url.owner(), "joe");
    assert_eq!(url.host, "example.com");
    assert_eq!(url.mailbox(), "INBOX");
    assert_eq!(url.message.uid, 20);
    assert_eq!(url.message.section.as_deref(), Some("1.2"));
    assert_eq!(url.access, UrlAccess::Submit("fred".to_owned()));
    assert_eq!(url.expire, None);
    assert_eq!(url.verifier, None);
    assert_eq!(url.rump(), RUMP);

    let full = format!(
        "imap://joe;AUTH=*@example.com:143/Sent%20Items;UIDVALIDITY=9/;UID=3/;PARTIAL=0.10;EXPIRE=2006-05-01T12:00:00Z;URLAUTH=user+fr%40ed:INTERNAL:{}",
        "ab".repeat(20)
    );
    let url = parse_auth_url(&full).unwrap();
    assert_eq!(url.host, "example.com:143");
    assert_eq!(url.mailbox(), "Sent Items");
    assert_eq!(url.message.uid_validity, Some(9));
    assert_eq!(url.message.partial, Some((0, Some(10))));
    assert_eq!(url.expire, Some(1_146_484_800));
    assert!(url.is_expired(1_146_484_800));
    assert!(!url.is_expired(1_146_484_799));
    assert_eq!(url.access, UrlAccess::User("fr@ed".to_owned()));
    let verifier = url.verifier.clone().unwrap();
    assert_eq!(verifier.mechanism, "INTERNAL");
    assert_eq!(verifier.token, "ab".repeat(20));
    assert_eq!(url.rump(), &full[..full.len() - 50]);
    assert_eq!(url.authorized("INTERNAL", &"ab".repeat(20)), full);

    for (access, expected) in [
        ("AUTHUSER", UrlAccess::AuthUser),
        ("anonymous", UrlAccess::Anonymous),
        ("Submit+x", UrlAccess::Submit("x".to_owned())),
    ] {
        let u = format!("imap://a@h/M/;UID=1;URLAUTH={access}");
        assert_eq!(parse_auth_url(&u).unwrap().access, expected);
    }

    for bad in [
        // Relative, or no user: an authimapurl names its owner.
        "/INBOX/;UID=1;URLAUTH=anonymous",
        "imap://example.com/INBOX/;UID=1;URLAUTH=anonymous",
        "imap://@example.com/INBOX/;UID=1;URLAUTH=anonymous",
        "imap://a@/INBOX/;UID=1;URLAUTH=anonymous",
        // No ;URLAUTH=, or a bad access identifier.
        "imap://a@h/INBOX/;UID=1",
        "imap://a@h/INBOX/;UID=1;URLAUTH=",
        "imap://a@h/INBOX/;UID=1;URLAUTH=user+",
        "imap://a@h/INBOX/;UID=1;URLAUTH=everyone",
        // No message.
        "imap://a@h/INBOX;URLAUTH=anonymous",
        // Bad verifiers.
        "imap://a@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL",
        "imap://a@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:abc",
        "imap://a@h/INBOX/;UID=1;URLAUTH=anonymous::0123456789abcdef0123456789abcdef",
        "imap://a@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:0123456789abcdef0123456789abcdeg",
        // A bad expiry.
        "imap://a@h/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=anonymous",
        "imap://a@h/INBOX/;UID=1;EXPIRE=2006-05-01;URLAUTH=anonymous",
    ] {
        assert!(parse_auth_url(bad).is_err(), "{bad:?} accepted");
    }
    assert!(is_mechanism("INTERNAL") && is_mechanism("x-1.2"));
    assert!(!is_mechanism("") && !is_mechanism("a_b"));
}

#[test]
fn internal_tokens_authorize_exactly_their_rump() {
    let key = [0x5a; 32];
    let token = internal_token(&key, RUMP);
    let url = parse_auth_url(&format!("{RUMP}:INTERNAL:{token}")).unwrap();
    assert_eq!(url.rump(), RUMP);
    assert!(verify_internal_token(
        &key,
        url.rump(),
        &url.verifier.as_ref().unwrap().token
    ));
    // Another access identifier is another rump.
    assert!(!verify_internal_token(
        &key,
        &RUMP.replace("submit+fred", "anonymous"),
        &token
    ));
}

// ---- the session ----

fn server() -> Server {
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    config.capabilities.push(Capability::UrlAuth);
    Server::new(config, Instant::now())
}

fn out(s: &mut Server) -> String {
    let mut out = Vec::new();
    s.poll_transmit(&mut out);
    String::from_utf8(out).unwrap()
}

/// Feeds `input`; the events that reached the application.
fn feed(s: &mut Server, input: &str) -> Vec<Event> {
    s.handle_input(Instant::now(), input.as_bytes());
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn logged_in(user: &str) -> Server {
    let mut s = server();
    let events = feed(&mut s, "a0 LOGIN joe secret\r\n");
    assert!(matches!(events.as_slice(), [Event::Login { .. }]));
    s.accept_user(user).unwrap();
    assert_eq!(s.user(), Some(user));
    out(&mut s);
    s
}

#[test]
fn session_refuses_what_genurlauth_cannot_authorize() {
    let mut s = server();
    assert!(feed(&mut s, "a1 URLFETCH x\r\n").is_empty());
    assert!(out(&mut s).contains("a1 BAD"));
    let mut s = logged_in("joe");
    for (line, why) in [
        (
            "GENURLAUTH \"imap://joe@h/INBOX/;UID=1\" INTERNAL",
            "URLAUTH",
        ),
        (
            "GENURLAUTH \"/INBOX/;UID=1;URLAUTH=anonymous\" INTERNAL",
            "absolute",
        ),
        (
            "GENURLAUTH \"imap://ann@h/INBOX/;UID=1;URLAUTH=anonymous\" INTERNAL",
            "own",
        ),
        (
            "GENURLAUTH \"imap://joe@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:0123456789abcdef0123456789abcdef\" INTERNAL",
            "rump",
        ),
        (
            "GENURLAUTH \"imap://joe@h/INBOX/;UID=1;URLAUTH=anonymous\" XSAMPLE",
            "mechanism",
        ),
        ("RESETKEY INBOX XSAMPLE", "mechanism"),
    ] {
        let events = feed(&mut s, &format!("b1 {line}\r\n"));
        assert!(events.is_empty(), "{line}: {events:?}");
        let answer = out(&mut s);
        assert!(answer.starts_with("b1 BAD"), "{line}: {answer}");
        assert!(answer.contains(why), "{line}: {answer}");
    }
    // The user's own URL, any case of the name, goes to the application.
    let events = feed(
        &mut s,
        "b2 GENURLAUTH \"imap://JOE@h/INBOX/;UID=1;URLAUTH=user+ann\" internal\r\n",
    );
    assert!(
        matches!(&events[..], [Event::Command(c)] if c.body.name() == "GENURLAUTH"),
        "{events:?}"
    );
    s.complete(StatusKind::Ok, None, "done").unwrap();
    out(&mut s);
    let events = feed(&mut s, "b3 RESETKEY\r\nb4 URLFETCH anything\r\n");
    assert!(matches!(&events[..], [Event::Command(c)] if c.body.name() == "RESETKEY"));
    // RESETKEY's OK names the mechanisms (RFC 4467 §8).
    s.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(out(&mut s), "b3 OK [URLMECH INTERNAL] done\r\n");
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(matches!(&events[..], [Event::Command(c)] if c.body.name() == "URLFETCH"));
    s.complete(StatusKind::Ok, None, "done").unwrap();
    assert_eq!(out(&mut s), "b4 OK done\r\n");
}

#[test]
fn select_names_the_urlauth_mechanisms() {
    let mut s = logged_in("joe");
    let events = feed(&mut s, "a1 SELECT INBOX\r\n");
    assert!(matches!(&events[..], [Event::Command(_)]));
    s.select(vec![1, 2]).unwrap();
    s.complete(StatusKind::Ok, Some(ResponseCode::ReadWrite), "done")
        .unwrap();
    let answer = out(&mut s);
    let mech = answer.find("* OK [URLMECH INTERNAL]").expect(&answer);
    assert!(mech < answer.find("a1 OK").unwrap(), "{answer}");
    // Without URLAUTH offered, no URLMECH.
    let mut config = ServerConfig::default();
    config.auth_requires_tls = false;
    let mut plain = Server::new(config, Instant::now());
    feed(&mut plain, "a0 LOGIN joe secret\r\n");
    plain.accept().unwrap();
    feed(&mut plain, "a1 SELECT INBOX\r\n");
    plain.select(vec![1]).unwrap();
    plain.complete(StatusKind::Ok, None, "done").unwrap();
    assert!(!out(&mut plain).contains("URLMECH"));
}

// ---- round trips ----

fn url_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::char::range('a', 'z'),
        prop::char::range('0', '9'),
        Just(';'),
        Just('/'),
        Just(':'),
        Just('='),
        Just('+'),
        Just('%'),
        Just('"'),
        Just(' '),
        Just('\\'),
        Just('é'),
    ]
}

fn url_string() -> impl Strategy<Value = String> {
    prop::collection::vec(url_char(), 1..40).prop_map(|v| v.into_iter().collect())
}

fn mechanism() -> impl Strategy<Value = Atom<'static>> {
    "[A-Za-z0-9.-]{1,12}".prop_map(|s| Atom::new(s).unwrap())
}

fn body() -> impl Strategy<Value = CommandBody<'static>> {
    prop_oneof![
        (
            prop::option::of("[A-Za-z][A-Za-z0-9]{0,8}"),
            prop::collection::vec(mechanism(), 0..3)
        )
            .prop_map(|(m, mechs)| CommandBody::ResetKey {
                mechanisms: if m.is_some() { mechs } else { Vec::new() },
                mailbox: m.map(|m| Mailbox::new(m).unwrap()),
            }),
        prop::collection::vec((url_string(), mechanism()), 1..4).prop_map(|v| {
            CommandBody::GenUrlAuth {
                urls: v.into_iter().map(|(u, m)| (astr(&u), m)).collect(),
            }
        }),
        prop::collection::vec(url_string(), 1..4).prop_map(|v| CommandBody::UrlFetch {
            urls: v.iter().map(|u| astr(u)).collect(),
        }),
    ]
}

fn data() -> impl Strategy<Value = Data<'static>> {
    prop_oneof![
        prop::collection::vec(url_string(), 1..4)
            .prop_map(|v| Data::GenUrlAuth(v.iter().map(|u| astr(u)).collect())),
        prop::collection::vec(
            (
                url_string(),
                prop::option::of(prop::collection::vec(1u8..=255, 0..64))
            ),
            1..4
        )
        .prop_map(|v| Data::UrlFetch(
            v.into_iter()
                .map(|(u, d)| (astr(&u), d.map(|d| IString::from_bytes(d).unwrap())))
                .collect()
        )),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip(body in body()) {
        let c = Command::new(Tag::new("t1").unwrap(), body);
        // Under UTF-8, so that 8-bit text keeps its quoted form.
        let opts = CommandOptions { utf8: true, ..CommandOptions::default() };
        let mut out = EncodeBuf::new();
        encode_command(&c, &opts, &mut out);
        let wire = out.bytes;
        let parsed = parse_command(&wire, &opts)
            .map_err(|e| TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&wire))))?;
        prop_assert_eq!(parsed.into_owned(), c);
    }

    #[test]
    fn responses_round_trip(d in data()) {
        let r = Response::Data(d);
        let wire = encode_resp(&r);
        let parsed = parse_response(&wire, &ResponseOptions::default())
            .map_err(|e| TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(&wire))))?;
        // Values compare by content: a string may come back in another form.
        let (Response::Data(a), Response::Data(b)) = (parsed.into_owned(), r) else {
            return Err(TestCaseError::fail("not data"));
        };
        match (a, b) {
            (Data::GenUrlAuth(x), Data::GenUrlAuth(y)) => {
                prop_assert_eq!(x.iter().map(AString::as_bytes).collect::<Vec<_>>(),
                    y.iter().map(AString::as_bytes).collect::<Vec<_>>());
            }
            (Data::UrlFetch(x), Data::UrlFetch(y)) => {
                let flat = |v: &[(AString<'_>, Option<IString<'_>>)]| v.iter()
                    .map(|(u, d)| (u.as_bytes().to_vec(), d.as_ref().map(|d| d.as_bytes().to_vec())))
                    .collect::<Vec<_>>();
                prop_assert_eq!(flat(&x), flat(&y));
            }
            (a, b) => return Err(TestCaseError::fail(format!("{a:?} vs {b:?}"))),
        }
    }

    /// A URL built from pieces parses back into them, and its rump is what precedes the
    /// verifier.
    #[test]
    fn auth_urls_round_trip(
        user in "[a-z]{1,8}",
        mailbox in "[A-Za-z]{1,8}",
        uid in 1u32..,
        expire in prop::option::of(0i64..4_000_000_000),
        access in prop_oneof![
            "[a-z]{1,6}".prop_map(UrlAccess::Submit),
            "[a-z]{1,6}".prop_map(UrlAccess::User),
            Just(UrlAccess::AuthUser),
            Just(UrlAccess::Anonymous),
        ],
        token in prop::option::of("[0-9a-f]{32,48}"),
    ) {
        let mut rump = format!("imap://{user}@example.org/{mailbox}/;UID={uid}");
        if let Some(t) = expire {
            let days = t.div_euclid(86_400);
            let secs = t.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            write!(
                rump,
                ";EXPIRE={y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                secs / 3600, secs / 60 % 60, secs % 60
            ).unwrap();
        }
        rump.push_str(";URLAUTH=");
        match &access {
            UrlAccess::Submit(u) => write!(rump, "submit+{u}").unwrap(),
            UrlAccess::User(u) => write!(rump, "user+{u}").unwrap(),
            UrlAccess::AuthUser => rump.push_str("authuser"),
            UrlAccess::Anonymous => rump.push_str("anonymous"),
        }
        let text = match &token {
            Some(t) => format!("{rump}:INTERNAL:{t}"),
            None => rump.clone(),
        };
        let url = parse_auth_url(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(url.owner(), user.as_str());
        prop_assert_eq!(url.mailbox(), mailbox.as_str());
        prop_assert_eq!(url.message.uid, uid);
        prop_assert_eq!(url.expire, expire);
        prop_assert_eq!(&url.access, &access);
        prop_assert_eq!(url.rump(), rump.as_str());
        prop_assert_eq!(url.verifier.map(|v| v.token), token);
    }
}

/// The date of a day counted from 1970-01-01 (for building expiries in the test).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}
