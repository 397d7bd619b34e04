//! Commands: known answers for every command form (RFC 3501, RFC 9051 and the extensions),
//! every strict prefix incomplete, every split point through the framer, the negative table,
//! the nesting bomb, proptest round-trips, and a real client stream decoded and re-encoded
//! byte for byte.

#[path = "commands/kat.rs"]
mod kat;
#[path = "commands/roundtrip.rs"]
mod roundtrip;

use std::borrow::Cow;

use sansmail_imap::{
    codec::{
        CommandOptions, EncodeBuf, SyntaxErrorKind, append_literal_mailbox, decode_command,
        encode_command, encode_idle_done, encode_sasl_response,
        frame::{FrameLimits, Framed, Framer, Side},
        parse_command, parse_idle_done, parse_sasl_response,
    },
    error::DecodeError,
    types::{
        command::{Command, CommandBody, SaslResponse, Secret, State},
        core::{AString, IString, Tag},
        datetime::Date,
        mailbox::Mailbox,
        response::{Response, StatusKind},
        sequence::{SeqItem, SeqNum, SequenceSet},
    },
};

// ---------------------------------------------------------------------------------------------
// Builders for expected values, from the public constructors only.

fn tag(s: &'static str) -> Tag<'static> {
    Tag::new(s).unwrap()
}

/// An astring sent as an atom.
fn a(s: &'static str) -> AString<'static> {
    AString::Atom(Cow::Borrowed(s))
}

/// An astring sent quoted.
fn q(s: &'static str) -> AString<'static> {
    AString::String(qs(s))
}

fn qs(s: &'static str) -> IString<'static> {
    IString::Quoted(Cow::Borrowed(s))
}

/// A mailbox as it arrived on the wire (modified UTF-7).
fn mbx(wire: AString<'static>) -> Mailbox<'static> {
    Mailbox::from_wire(wire, false).unwrap()
}

/// A sequence set from its text (`1,3:*`).
fn seq(s: &str) -> SequenceSet {
    if s == "$" {
        return SequenceSet::Saved;
    }
    let num = |n: &str| {
        if n == "*" {
            SeqNum::Largest
        } else {
            SeqNum::Value(n.parse().unwrap())
        }
    };
    let items = s
        .split(',')
        .map(|item| match item.split_once(':') {
            Some((x, y)) => SeqItem::Range(num(x), num(y)),
            None => SeqItem::Single(num(item)),
        })
        .collect();
    SequenceSet::new(items).unwrap()
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn cmd(t: &'static str, body: CommandBody<'static>) -> Command<'static> {
    Command::new(tag(t), body)
}

fn encode(c: &Command<'_>) -> EncodeBuf {
    let mut out = EncodeBuf::new();
    encode_command(c, &CommandOptions::default(), &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Generic checks.

/// Every strict prefix is `Incomplete`, or `LiteralAnnounced` when it ends inside (or just
/// before) a synchronizing literal's octets.
fn assert_strict_prefixes_incomplete(input: &[u8]) {
    let opts = CommandOptions::default();
    for i in 0..input.len() {
        match decode_command(&input[..i], &opts) {
            Err(DecodeError::Incomplete) => {}
            Err(DecodeError::LiteralAnnounced { len, line_end, .. }) => {
                assert!(
                    line_end <= i,
                    "prefix {i}: literal announced beyond the input"
                );
                let line = &input[..line_end];
                assert!(
                    line.ends_with(b"}\r\n") && !line.ends_with(b"+}\r\n"),
                    "prefix {i}"
                );
                assert!(
                    ((i - line_end) as u64) < len,
                    "prefix {i}: literal octets all present"
                );
            }
            other => panic!(
                "prefix {i} of {:?}: {other:?}",
                String::from_utf8_lossy(input)
            ),
        }
    }
}

/// Frames `input` with the framer fed at `split` first, then all of it; returns the length.
fn frame_split(input: &[u8], split: usize) -> usize {
    let mut framer = Framer::new(Side::Server, FrameLimits::default());
    match framer.next(&input[..split]) {
        Framed::Complete { len } => return len,
        Framed::Incomplete | Framed::LiteralAnnounced { .. } => {}
        Framed::Invalid { error, .. } => panic!("split {split}: {error}"),
    }
    loop {
        match framer.next(input) {
            Framed::Complete { len } => return len,
            Framed::LiteralAnnounced { .. } => {}
            other => panic!("split {split}: {other:?}"),
        }
    }
}

/// Frames `input` one octet at a time; returns where the message completed.
fn frame_bytewise(input: &[u8]) -> usize {
    let mut framer = Framer::new(Side::Server, FrameLimits::default());
    for i in 1..=input.len() {
        match framer.next(&input[..i]) {
            Framed::Complete { len } => return len,
            Framed::Incomplete | Framed::LiteralAnnounced { .. } => {}
            Framed::Invalid { error, .. } => panic!("at {i}: {error}"),
        }
    }
    panic!("never complete")
}

// ---------------------------------------------------------------------------------------------
// Negative table.

#[test]
fn negative_table() {
    use SyntaxErrorKind::{Syntax, UnknownCommand};
    let cases: &[(&[u8], SyntaxErrorKind, Option<&str>, usize)] = &[
        (b"A1 FOO\r\n", UnknownCommand, Some("A1"), 3),
        (b"A1 XYZZY arg\r\n", UnknownCommand, Some("A1"), 3),
        (b"A1 UID FROB 1\r\n", Syntax, Some("A1"), 7),
        (b"A1 NOOP extra\r\n", Syntax, Some("A1"), 7),
        (b"A1 NOOP", Syntax, Some("A1"), 7),
        (b"A1 NOOP\r\nA2 NOOP\r\n", Syntax, Some("A1"), 9),
        (b"A1 LOGIN \"a\0b\" c\r\n", Syntax, Some("A1"), 11),
        (b"A1 LOGIN {3}\r\na\0b c\r\n", Syntax, Some("A1"), 14),
        (b"A1 LOGIN a\r\n", Syntax, Some("A1"), 10),
        (b"A1 LOGIN \"a\\nb\" c\r\n", Syntax, Some("A1"), 11),
        (b"A1 SEARCH SINCE 30-Feb-2025\r\n", Syntax, Some("A1"), 16),
        (b"A1 SEARCH SINCE 1-Foo-2025\r\n", Syntax, Some("A1"), 18),
        (
            b"A1 APPEND INBOX \"31-Feb-2025 00:00:00 +0000\" {1}\r\nx\r\n",
            Syntax,
            Some("A1"),
            16,
        ),
        (b"A1 APPEND INBOX\r\n", Syntax, Some("A1"), 15),
        // CATENATE needs at least one part, each TEXT or URL.
        (b"A1 APPEND Drafts CATENATE ()\r\n", Syntax, Some("A1"), 27),
        (
            b"A1 APPEND Drafts CATENATE (DATA x)\r\n",
            Syntax,
            Some("A1"),
            27,
        ),
        (
            b"A1 APPEND INBOX (\\Recent) {1}\r\nx\r\n",
            Syntax,
            Some("A1"),
            17,
        ),
        (
            b"A1 APPEND INBOX UTF8 ({1}\r\nx)\r\n",
            Syntax,
            Some("A1"),
            22,
        ),
        (b"A1 FETCH 0 FLAGS\r\n", Syntax, Some("A1"), 9),
        (b"A1 FETCH 1 ()\r\n", Syntax, Some("A1"), 12),
        (b"A1 FETCH 1 BODY.PEEK\r\n", Syntax, Some("A1"), 20),
        (b"A1 FETCH 1 BODY[]<5.0>\r\n", Syntax, Some("A1"), 17),
        (
            b"A1 FETCH 1 FLAGS (CHANGEDSINCE 0)\r\n",
            Syntax,
            Some("A1"),
            31,
        ),
        (
            b"A1 FETCH 1 FLAGS (VANISHED VANISHED)\r\n",
            Syntax,
            Some("A1"),
            27,
        ),
        (b"+ NOOP\r\n", Syntax, None, 0),
        (b" NOOP\r\n", Syntax, None, 0),
        (b"A1\r\n", Syntax, Some("A1"), 2),
        (b"A1 SELECT\r\n", Syntax, Some("A1"), 9),
        (b"A1 SELECT INBOX (FOO)\r\n", Syntax, Some("A1"), 17),
        (b"A1 SELECT INBOX ()\r\n", Syntax, Some("A1"), 17),
        (
            b"A1 LIST (RECURSIVEMATCH) \"\" *\r\n",
            Syntax,
            Some("A1"),
            8,
        ),
        (b"A1 LIST \"\" ()\r\n", Syntax, Some("A1"), 12),
        (b"A1 STORE 1 +FLAGS (\\Recent)\r\n", Syntax, Some("A1"), 19),
        (b"A1 STORE 1 +FLAGS (\\*)\r\n", Syntax, Some("A1"), 19),
        (b"A1 STORE 1 FLAGZ (\\Seen)\r\n", Syntax, Some("A1"), 11),
        (b"A1 STATUS INBOX ()\r\n", Syntax, Some("A1"), 17),
        (b"A1 STATUS INBOX (BOGUS)\r\n", Syntax, Some("A1"), 17),
        (b"A1 SEARCH\r\n", Syntax, Some("A1"), 9),
        (b"A1 SEARCH ()\r\n", Syntax, Some("A1"), 11),
        (b"A1 SEARCH BOGUS\r\n", Syntax, Some("A1"), 10),
        (b"A1 SEARCH OR SEEN\r\n", Syntax, Some("A1"), 17),
        (
            b"A1 SEARCH MODSEQ \"/flags/\\\\Seen\" nobody 5\r\n",
            Syntax,
            Some("A1"),
            33,
        ),
        (b"A1 SEARCH EMAILID a.b\r\n", Syntax, Some("A1"), 19),
        (b"A1 SEARCH YOUNGER 0\r\n", Syntax, Some("A1"), 18),
        (b"A1 SORT () UTF-8 ALL\r\n", Syntax, Some("A1"), 9),
        (b"A1 SORT (BOGUS) UTF-8 ALL\r\n", Syntax, Some("A1"), 9),
        (b"A1 AUTHENTICATE PLAIN abc\r\n", Syntax, Some("A1"), 22),
        (b"A1 ENABLE\r\n", Syntax, Some("A1"), 9),
        (b"A1 ID (\"a\")\r\n", Syntax, Some("A1"), 10),
        (
            b"A1 GETMETADATA (DEPTH 2) INBOX /private/x\r\n",
            Syntax,
            Some("A1"),
            23,
        ),
        (b"A1 SETMETADATA INBOX ()\r\n", Syntax, Some("A1"), 22),
        (b"A1 SELECT \"a\r\nb\"\r\n", Syntax, Some("A1"), 10),
        // RFC 5267 §5: `CANCELUPDATE 1*(SP quoted)`; a tag is no quoted string.
        (b"A1 CANCELUPDATE\r\n", Syntax, Some("A1"), 15),
        (b"A1 CANCELUPDATE B01\r\n", Syntax, Some("A1"), 16),
        (b"A1 CANCELUPDATE \"a b\"\r\n", Syntax, Some("A1"), 16),
        (
            b"A1 SEARCH RETURN (PARTIAL 1:-5) ALL\r\n",
            Syntax,
            Some("A1"),
            28,
        ),
    ];
    let opts = CommandOptions::default();
    for &(input, kind, t, offset) in cases {
        let err = parse_command(input, &opts).expect_err(&String::from_utf8_lossy(input));
        assert_eq!(
            err.kind,
            kind,
            "{:?}: {err}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            err.tag.as_ref().map(Tag::as_str),
            t,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            err.offset,
            offset,
            "{:?}: {err}",
            String::from_utf8_lossy(input)
        );
        assert!(!err.expected.is_empty());
    }
}

#[test]
fn unknown_command_reports_tag_through_decode() {
    let err = decode_command(b"t42 FROB x\r\nrest", &CommandOptions::default()).unwrap_err();
    let DecodeError::Syntax { error, skip } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((error.kind, *skip), (SyntaxErrorKind::UnknownCommand, 12));
    assert_eq!(err.tag().map(Tag::as_str), Some("t42"));
    assert_eq!(
        error.to_string(),
        "unknown command: expected a command name at octet 4"
    );
}

/// A tag token with a character a tag cannot hold is no tag at all: its valid prefix (`x` of
/// `x+4`) may be another command's tag, so the answer is untagged (RFC 9051 §9 `tag`).
#[test]
fn invalid_tag_token_is_answered_untagged() {
    let opts = CommandOptions::default();
    for input in [
        &b"x+4 NOOP\r\n"[..],
        b"x{5 NOOP\r\n",
        b"x\"6 NOOP\r\n",
        b"x%7 NOOP\r\n",
        b"x*8 NOOP\r\n",
        b"x\\10 NOOP\r\n",
        b"x(1 NOOP\r\n",
        b"x+\r\n",
    ] {
        let err = decode_command(input, &opts).unwrap_err();
        let shown = String::from_utf8_lossy(input);
        assert_eq!(err.tag(), None, "{shown}");
        let Some(Response::Status(status)) = err.to_response(None) else {
            panic!("{shown}: {err:?}")
        };
        assert_eq!(
            (status.tag, status.kind),
            (None, StatusKind::Bad),
            "{shown}"
        );
    }
    // The announcing line's tag is read the same way.
    let err = decode_command(b"x+{5}\r\n", &opts).unwrap_err();
    assert!(
        matches!(err, DecodeError::LiteralAnnounced { tag: None, .. }),
        "{err:?}"
    );
    // A whole tag followed by something wrong keeps it.
    for (input, t) in [(&b"abc\r\n"[..], "abc"), (b"a]1 NOOP x\r\n", "a]1")] {
        let err = decode_command(input, &opts).unwrap_err();
        assert_eq!(err.tag().map(Tag::as_str), Some(t), "{err:?}");
    }
}

#[test]
fn literal_announced_carries_the_tag() {
    let err = decode_command(b"a7 APPEND INBOX {310}\r\n", &CommandOptions::default()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::LiteralAnnounced {
            tag: Some(tag("a7")),
            len: 310,
            line_end: 23
        }
    );
    // A literal announced and its octets already there (a client that did not wait): decoded.
    let (rest, c) =
        decode_command(b"a7 LOGIN {3}\r\nbob pw\r\nx", &CommandOptions::default()).unwrap();
    assert_eq!(rest, b"x");
    assert_eq!(c.body.name(), "LOGIN");
    // Over the framer's limit.
    let err = decode_command(
        b"a8 APPEND INBOX {99999999999}\r\n",
        &CommandOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, DecodeError::Frame { skip: 31, .. }),
        "{err:?}"
    );
}

#[test]
fn idle_done_and_sasl_lines() {
    assert_eq!(parse_idle_done(b"DONE\r\n"), Ok(()));
    assert_eq!(parse_idle_done(b"done\r\n"), Ok(()));
    for bad in [
        &b"DONEX\r\n"[..],
        b"DON\r\n",
        b"DONE",
        b"DONE \r\n",
        b"A1 DONE\r\n",
    ] {
        let e = parse_idle_done(bad).unwrap_err();
        assert_eq!(e.kind, SyntaxErrorKind::Syntax);
        assert_eq!(e.tag, None);
    }
    let mut out = EncodeBuf::new();
    encode_idle_done(&mut out);
    assert_eq!(out.bytes, b"DONE\r\n");

    assert_eq!(parse_sasl_response(b"*\r\n"), Ok(SaslResponse::Cancel));
    assert_eq!(
        parse_sasl_response(b"dGVzdA==\r\n"),
        Ok(SaslResponse::base64("dGVzdA==").unwrap())
    );
    assert_eq!(
        parse_sasl_response(b"\r\n"),
        Ok(SaslResponse::base64("").unwrap())
    );
    assert!(parse_sasl_response(b"abc\r\n").is_err());
    assert!(parse_sasl_response(b"dGVzdA==").is_err());
    let mut out = EncodeBuf::new();
    encode_sasl_response(&SaslResponse::base64("dGVzdA==").unwrap(), &mut out);
    encode_sasl_response(&SaslResponse::Cancel, &mut out);
    assert_eq!(out.bytes, b"dGVzdA==\r\n*\r\n");
    assert_eq!(
        format!("{:?}", SaslResponse::base64("dGVzdA==").unwrap()),
        "Base64(Secret(<redacted>))"
    );
}

// ---------------------------------------------------------------------------------------------
// Nesting.

fn search_with(key: &str) -> Vec<u8> {
    format!("A1 SEARCH {key}\r\n").into_bytes()
}

#[test]
fn nesting_bomb_is_an_error_not_a_stack_overflow() {
    let opts = CommandOptions::default();
    let n = 100_000;
    let bombs = [
        format!("{}ALL{}", "(".repeat(n), ")".repeat(n)),
        "(".repeat(n),
        format!("{}ALL", "NOT ".repeat(n)),
        format!("{}ALL ALL", "OR ".repeat(n)),
        format!("{}ALL", "OR (".repeat(n)),
    ];
    for bomb in &bombs {
        let input = search_with(bomb);
        let err = parse_command(&input, &opts).unwrap_err();
        assert_eq!(err.kind, SyntaxErrorKind::TooDeep, "{err}");
        assert_eq!(err.tag, Some(tag("A1")));
        // Through the framer the line is too long before anything is parsed.
        assert!(matches!(
            decode_command(&input, &opts),
            Err(DecodeError::Frame { .. })
        ));
    }
    // Exactly at the limit is fine; one more is not.
    let d = opts.max_depth;
    let at_limit = search_with(&format!("{}ALL{}", "(".repeat(d - 1), ")".repeat(d - 1)));
    let c = parse_command(&at_limit, &opts).unwrap();
    assert_eq!(encode(&c).bytes, at_limit);
    let over = search_with(&format!("{}ALL{}", "(".repeat(d), ")".repeat(d)));
    assert_eq!(
        parse_command(&over, &opts).unwrap_err().kind,
        SyntaxErrorKind::TooDeep
    );
    let nots = search_with(&format!("{}ALL", "NOT ".repeat(d - 1)));
    assert!(parse_command(&nots, &opts).is_ok());
    let nots = search_with(&format!("{}ALL", "NOT ".repeat(d)));
    assert_eq!(
        parse_command(&nots, &opts).unwrap_err().kind,
        SyntaxErrorKind::TooDeep
    );
    // A smaller limit is honoured.
    let shallow = CommandOptions {
        max_depth: 3,
        ..CommandOptions::default()
    };
    assert!(parse_command(&search_with("(NOT ALL)"), &shallow).is_ok());
    assert!(parse_command(&search_with("((NOT ALL))"), &shallow).is_err());
}

// ---------------------------------------------------------------------------------------------
// States, names, UTF-8 mailbox names.

#[test]
fn states_and_names() {
    let opts = CommandOptions::default();
    let body = |s: &[u8]| parse_command(s, &opts).unwrap().body.into_owned();
    let login = body(b"a LOGIN u p\r\n");
    assert!(login.valid_in(State::NotAuthenticated));
    assert!(!login.valid_in(State::Authenticated));
    let fetch = body(b"a UID FETCH 1 FLAGS\r\n");
    assert_eq!((fetch.name(), fetch.is_uid()), ("UID FETCH", true));
    assert!(fetch.valid_in(State::Selected) && !fetch.valid_in(State::Authenticated));
    let select = body(b"a SELECT INBOX\r\n");
    assert!(select.valid_in(State::Authenticated) && select.valid_in(State::Selected));
    assert!(!select.valid_in(State::NotAuthenticated) && !select.valid_in(State::Logout));
    let enable = body(b"a ENABLE QRESYNC\r\n");
    assert!(enable.valid_in(State::Authenticated) && !enable.valid_in(State::Selected));
    for any in [
        &b"a CAPABILITY\r\n"[..],
        b"a NOOP\r\n",
        b"a LOGOUT\r\n",
        b"a ID NIL\r\n",
    ] {
        let b = body(any);
        assert!(
            b.valid_in(State::NotAuthenticated) && b.valid_in(State::Selected),
            "{}",
            b.name()
        );
        assert!(!b.valid_in(State::Logout));
        assert!(!b.is_uid());
    }
    assert!(body(b"a UID EXPUNGE 1\r\n").is_uid());
    assert!(!body(b"a EXPUNGE\r\n").is_uid());
}

/// `NIL` as an astring (a mailbox, a user name) is sent quoted, whatever form it was built in:
/// many parsers read a bare one as nil. Both forms are read.
#[test]
fn nil_astrings_are_sent_quoted() {
    let opts = CommandOptions::default();
    let wire = |c: &Command<'_>| String::from_utf8(encode(c).bytes).unwrap();
    let select = cmd(
        "a1",
        CommandBody::Select {
            mailbox: Mailbox::new("NIL").unwrap(),
            params: vec![],
        },
    );
    assert_eq!(wire(&select), "a1 SELECT \"NIL\"\r\n");
    for input in [&b"a1 SELECT NIL\r\n"[..], b"a1 SELECT \"NIL\"\r\n"] {
        let c = parse_command(input, &opts).unwrap();
        assert_eq!(c, select);
        assert_eq!(wire(&c), "a1 SELECT \"NIL\"\r\n");
    }
    assert_eq!(
        AString::try_from("nil").unwrap(),
        AString::String(qs("nil"))
    );
    let login = cmd(
        "a2",
        CommandBody::Login {
            username: a("Nil"),
            password: Secret::new(a("nIL")),
        },
    );
    assert_eq!(wire(&login), "a2 LOGIN \"Nil\" \"nIL\"\r\n");
    // Read back in the form it is sent in.
    let c = parse_command(b"a2 LOGIN Nil nIL\r\n", &opts).unwrap();
    let CommandBody::Login { username, .. } = &c.body else {
        panic!("{c:?}")
    };
    assert_eq!(username, &q("Nil"));
    // Only the whole value: NILS and NIL2 stay atoms.
    assert_eq!(AString::try_from("NILS").unwrap(), a("NILS"));
    let c = parse_command(b"a3 SELECT NIL2\r\n", &opts).unwrap();
    assert_eq!(wire(&c), "a3 SELECT NIL2\r\n");
    // A SEARCH charset too: read as it is sent, so that it encodes back to itself.
    let c = parse_command(b"a4 SEARCH CHARSET nil ALL\r\n", &opts).unwrap();
    assert_eq!(wire(&c), "a4 SEARCH CHARSET \"nil\" ALL\r\n");
    assert_eq!(parse_command(wire(&c).as_bytes(), &opts).unwrap(), c);
}

#[test]
fn utf8_accept_mailbox_names() {
    let utf8 = CommandOptions {
        utf8: true,
        ..CommandOptions::default()
    };
    let c = parse_command("A1 SELECT \"Ärger\"\r\n".as_bytes(), &utf8).unwrap();
    let CommandBody::Select { mailbox, .. } = &c.body else {
        panic!()
    };
    assert_eq!(mailbox.name(), "Ärger");
    // Without UTF8=ACCEPT the same name is modified UTF-7 on the wire.
    let c = parse_command(b"A1 SELECT &AMQ-rger\r\n", &CommandOptions::default()).unwrap();
    let CommandBody::Select { mailbox, .. } = &c.body else {
        panic!()
    };
    assert_eq!(mailbox.name(), "Ärger");
    // A mailbox built by name is encoded for the connection's mode.
    let body = CommandBody::Select {
        mailbox: Mailbox::new("Ärger").unwrap(),
        params: vec![],
    };
    let cmd = Command::new(tag("A2"), body);
    let mut out = EncodeBuf::new();
    encode_command(&cmd, &CommandOptions::default(), &mut out);
    assert_eq!(out.bytes, b"A2 SELECT &AMQ-rger\r\n");
    let mut out = EncodeBuf::new();
    encode_command(&cmd, &utf8, &mut out);
    assert_eq!(out.bytes, "A2 SELECT \"Ärger\"\r\n".as_bytes());
}

#[test]
fn hand_built_values_cannot_inject_lines() {
    let body = CommandBody::Login {
        username: AString::Atom(Cow::Borrowed("a\r\nA2 DELETE INBOX")),
        password: sansmail_imap::types::command::Secret::new(AString::String(IString::Quoted(
            Cow::Borrowed("x\r\ny"),
        ))),
    };
    let out = encode(&Command::new(tag("A1"), body));
    assert_eq!(
        out.bytes,
        b"A1 LOGIN {18}\r\na\r\nA2 DELETE INBOX {4}\r\nx\r\ny\r\n"
    );
    assert_eq!(out.literals.len(), 2);
    let back = parse_command(&out.bytes, &CommandOptions::default()).unwrap();
    let CommandBody::Login { username, password } = back.body else {
        panic!()
    };
    assert_eq!(username.as_bytes(), b"a\r\nA2 DELETE INBOX");
    assert_eq!(password.expose().as_bytes(), b"x\r\ny");
    assert_eq!(format!("{password:?}"), "Secret(<redacted>)");
}

// ---------------------------------------------------------------------------------------------
// The corpus.

#[test]
fn corpus_decodes_and_reencodes_byte_identically() {
    let stream = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/imap-client-stream.txt"
    ))
    .unwrap();
    let opts = CommandOptions::default();
    let mut framer = Framer::new(Side::Server, FrameLimits::default());
    let mut out = EncodeBuf::new();
    let mut rest = &stream[..];
    let (mut commands, mut dones, mut idle) = (0, 0, false);
    while !rest.is_empty() {
        let len = loop {
            match framer.next(rest) {
                Framed::Complete { len } => break len,
                Framed::LiteralAnnounced { .. } => {}
                other => panic!("after {commands} commands: {other:?}"),
            }
        };
        framer.reset();
        let (message, after) = rest.split_at(len);
        if idle {
            parse_idle_done(message).unwrap();
            encode_idle_done(&mut out);
            idle = false;
            dones += 1;
        } else {
            let c = parse_command(message, &opts)
                .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(message)));
            idle = c.body == CommandBody::Idle;
            let before = out.bytes.len();
            encode_command(&c, &opts, &mut out);
            assert_eq!(
                &out.bytes[before..],
                message,
                "{:?}",
                String::from_utf8_lossy(message)
            );
            // The owned copy is equal and encodes the same.
            assert_eq!(c.clone().into_owned(), c);
            commands += 1;
        }
        rest = after;
    }
    assert_eq!(out.bytes, stream);
    assert_eq!((commands, dones), (4200, 300));
    // decode_command walks the same stream.
    let mut rest = &stream[..];
    let mut n = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(b"DONE\r\n") {
            rest = r;
            continue;
        }
        let (r, _) = decode_command(rest, &opts).unwrap();
        rest = r;
        n += 1;
    }
    assert_eq!(n, 4200);
}

// ---------------------------------------------------------------------------------------------
// RFC 9051 §8 (the client's side of the sample session), in lower case as the RFC writes it:
// parsed case-insensitively, re-encoded in canonical form.

#[test]
fn rfc9051_section8_transcript() {
    let session: &[(&[u8], &[u8])] = &[
        (b"a001 login mrc secret\r\n", b"a001 LOGIN mrc secret\r\n"),
        (b"a002 select inbox\r\n", b"a002 SELECT inbox\r\n"),
        (b"a003 fetch 12 full\r\n", b"a003 FETCH 12 FULL\r\n"),
        (
            b"a004 fetch 12 body[header]\r\n",
            b"a004 FETCH 12 BODY[HEADER]\r\n",
        ),
        (
            b"a005 store 12 +flags \\deleted\r\n",
            b"a005 STORE 12 +FLAGS (\\Deleted)\r\n",
        ),
        (b"a006 logout\r\n", b"a006 LOGOUT\r\n"),
    ];
    let stream: Vec<u8> = session
        .iter()
        .flat_map(|(i, _)| i.iter().copied())
        .collect();
    let mut rest = &stream[..];
    let mut state = State::NotAuthenticated;
    for (input, canonical) in session {
        let (r, c) = decode_command(rest, &CommandOptions::default()).unwrap();
        assert_eq!(rest.len() - r.len(), input.len());
        assert!(c.body.valid_in(state), "{} in {state:?}", c.body.name());
        state = match c.body {
            CommandBody::Login { .. } => State::Authenticated,
            CommandBody::Select { .. } => State::Selected,
            CommandBody::Logout => State::Logout,
            _ => state,
        };
        assert_eq!(encode(&c).bytes, *canonical);
        rest = r;
    }
    assert!(rest.is_empty());
}

#[test]
fn literal_marks_tell_a_client_where_to_wait() {
    let c = parse_command(
        b"A003 APPEND saved-messages (\\Seen) {5}\r\nhello {2+}\r\nhi\r\n",
        &CommandOptions::default(),
    )
    .unwrap();
    let out = encode(&c);
    assert_eq!(out.literals.len(), 2);
    assert_eq!(out.literals[0].data_start, 40);
    assert_eq!(&out.bytes[40..45], b"hello");
    assert_eq!(
        out.literals[0].mode,
        sansmail_imap::codec::frame::LiteralMode::Sync
    );
    assert_eq!(
        out.literals[1].mode,
        sansmail_imap::codec::frame::LiteralMode::NonSync
    );
    assert_eq!(&out.bytes[out.literals[1].data_start..][..2], b"hi");
}

/// The corpus fed to one resumed framer in chunks of every size from 1 to 97 octets frames
/// into the same messages as the whole stream, each parsing to the same command.
#[test]
fn corpus_framed_in_chunks_gives_the_same_commands() {
    let stream = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/imap-client-stream.txt"
    ))
    .unwrap();
    let opts = CommandOptions::default();
    let whole = frame_all(&stream, stream.len());
    assert_eq!(whole.len(), 4500);
    for chunk in [1, 2, 3, 7, 64, 97] {
        assert_eq!(frame_all(&stream, chunk), whole, "chunk {chunk}");
    }
    for (start, end) in whole.iter().copied().take(200) {
        let m = &stream[start..end];
        if m != b"DONE\r\n" {
            let c = parse_command(m, &opts).unwrap();
            assert_eq!(encode(&c).bytes, m);
        }
    }
}

/// Message boundaries found by one framer fed `chunk` octets at a time.
fn frame_all(stream: &[u8], chunk: usize) -> Vec<(usize, usize)> {
    let mut framer = Framer::new(Side::Server, FrameLimits::default());
    let (mut start, mut avail) = (0, 0);
    let mut out = Vec::new();
    while start < stream.len() {
        match framer.next(&stream[start..avail]) {
            Framed::Complete { len } => {
                out.push((start, start + len));
                start += len;
                framer.reset();
            }
            Framed::Incomplete | Framed::LiteralAnnounced { .. } => {
                assert!(avail < stream.len(), "stream ends inside a message");
                avail = (avail + chunk).min(stream.len());
            }
            Framed::Invalid { error, .. } => panic!("{error}"),
        }
    }
    out
}

/// One mapping from a decode error to what a server says: BAD with the tag where it was read,
/// NO [TOOBIG] for a synchronizing literal the client has not sent, BYE when the octets of a
/// refused literal are already on their way.
#[test]
fn decode_errors_map_to_the_response_a_server_sends() {
    use sansmail_imap::codec::{ResponseOptions, encode_response};
    let say = |err: &DecodeError| -> Option<String> {
        let response = err.to_response(None)?;
        let mut out = EncodeBuf::new();
        encode_response(&response, &ResponseOptions::default(), &mut out);
        Some(String::from_utf8(out.bytes).unwrap())
    };
    let opts = CommandOptions::default();
    let decode = |input: &[u8]| decode_command(input, &opts).unwrap_err();

    let unknown = decode(b"a1 FROB\r\n");
    assert_eq!(
        say(&unknown).unwrap(),
        "a1 BAD unknown command: expected a command name at octet 3\r\n"
    );
    let syntax = decode(b"a2 SELECT\r\n");
    assert!(
        say(&syntax).unwrap().starts_with("a2 BAD syntax error: "),
        "{syntax}"
    );
    let untagged = decode(b"*\r\n");
    assert!(say(&untagged).unwrap().starts_with("* BAD "), "{untagged}");
    assert!(!unknown.closes_connection() && !syntax.closes_connection());

    // More input is no error to answer.
    assert_eq!(say(&decode(b"a3 NOOP")), None);
    assert_eq!(say(&decode(b"a4 APPEND INBOX {5}\r\n")), None);

    // Framing errors, through a framer with small limits; the caller supplies the tag it read.
    let limits = FrameLimits {
        max_line: 32,
        max_literal: 10,
        max_nonsync_literal: 10,
        max_message: 64,
    };
    let frame = |input: &[u8]| {
        let mut framer = Framer::new(Side::Server, limits);
        match framer.next(input) {
            Framed::Invalid { error, skip } => DecodeError::Frame { error, skip },
            other => panic!("{other:?}"),
        }
    };
    let tag = Tag::new("t1").unwrap();
    let sync = frame(b"t1 APPEND INBOX {100}\r\n");
    assert!(!sync.closes_connection());
    assert_eq!(
        sync.to_response(Some(&tag)).map(|r| {
            let mut out = EncodeBuf::new();
            encode_response(&r, &ResponseOptions::default(), &mut out);
            String::from_utf8(out.bytes).unwrap()
        }),
        Some("t1 NO [TOOBIG] Literal too large\r\n".to_string())
    );
    let nonsync = frame(b"t1 APPEND INBOX {100+}\r\n");
    assert!(nonsync.closes_connection());
    assert_eq!(
        say(&nonsync).unwrap(),
        "* BYE [TOOBIG] Literal too large\r\n"
    );
    let long = frame(&[b'x'; 40]);
    assert_eq!(say(&long).unwrap(), "* BAD Line too long\r\n");
    let bare = frame(b"t1 NOOP\n");
    assert_eq!(say(&bare).unwrap(), "* BAD Lines end with CRLF\r\n");
}

/// Which announced literals are an APPEND's message data: the mailbox is found after whole
/// messages (MULTIAPPEND), options, `UTF8 (` and CATENATE's earlier parts; a literal that is
/// the mailbox name, a URL, or another command's is not.
#[test]
fn append_literal_mailbox_finds_message_data() {
    let opts = CommandOptions::default();
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"a APPEND INBOX {5}\r\n", Some("INBOX")),
        (b"a append \"Sent Items\" ~{5}\r\n", Some("Sent Items")),
        (
            b"a APPEND Box (\\Seen $X) \" 1-Jan-2026 10:00:00 +0000\" {0}\r\n",
            Some("Box"),
        ),
        (b"a APPEND Box {3}\r\nabc (\\Draft) {7}\r\n", Some("Box")),
        (b"a APPEND Box UTF8 (~{9}\r\n", Some("Box")),
        (b"a APPEND Box CATENATE (TEXT {9}\r\n", Some("Box")),
        (
            b"a APPEND Box CATENATE (URL \"/INBOX/;uid=1\" TEXT {9}\r\n",
            Some("Box"),
        ),
        (b"a APPEND {3}\r\n", None),
        (b"a APPEND Box CATENATE (URL {9}\r\n", None),
        (b"a APPEND Box (\\Recent) {5}\r\n", None),
        (b"a LOGIN {5}\r\n", None),
        (b"a APPENDX Box {5}\r\n", None),
        (b"a APPEND Box {5}x\r\n", None),
        (b"a APPEND Box {5+}\r\n", None),
    ];
    for (prefix, want) in cases {
        let got = append_literal_mailbox(prefix, &opts);
        assert_eq!(
            got.as_ref().map(Mailbox::name),
            *want,
            "{}",
            String::from_utf8_lossy(prefix)
        );
    }
}
