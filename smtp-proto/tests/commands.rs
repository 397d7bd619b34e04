//! Command lines: known answers for every RFC 5321 command and the extensions' arguments,
//! every strict prefix incomplete, the negative table, encoder refusals, and the same results
//! however the input is chunked (known answers and a real client stream).

mod common;

use std::{
    borrow::Cow,
    net::{Ipv4Addr, Ipv6Addr},
};

use common::{ClientEvent, assert_strict_prefixes_incomplete, chunkings, read_client};
use sansmail_smtp::{
    AddressLiteral, AuthInitial, Body, Command, DecodeError, Domain, DomainPart, ForwardPath,
    HelloKind, Limits, LocalPart, MailParams, Mailbox, Mechanism, Notify, RcptParams, Ret,
    ReversePath, Secret, UnknownParam, XText,
    codec::{
        self, BareLineEndings, DotStuffer, SaslLine,
        line::{Frame, LineError, find_line},
    },
    types::params::{DeliverBy, Hold, Orcpt},
};

// ---------------------------------------------------------------------------------------------
// Builders for expected values, from the public constructors only.

fn domain(s: &'static str) -> DomainPart<'static> {
    DomainPart::Domain(Domain::new(s).unwrap())
}

fn mailbox(local: &str, dom: DomainPart<'static>) -> Mailbox<'static> {
    Mailbox::new(LocalPart::new(local).unwrap(), dom)
}

fn from(local: &str, dom: &'static str) -> ReversePath<'static> {
    ReversePath::Mailbox(mailbox(local, domain(dom)))
}

fn to(local: &str, dom: &'static str) -> ForwardPath<'static> {
    ForwardPath::Mailbox(mailbox(local, domain(dom)))
}

fn hello(kind: HelloKind, host: DomainPart<'static>) -> Command<'static> {
    Command::Hello { kind, host }
}

fn mail(from: ReversePath<'static>, params: MailParams<'static>) -> Command<'static> {
    Command::Mail { from, params }
}

fn rcpt(to: ForwardPath<'static>, params: RcptParams<'static>) -> Command<'static> {
    Command::Rcpt { to, params }
}

fn xtext(s: &'static str) -> XText<'static> {
    XText::from_encoded(s).unwrap()
}

fn unknown(k: &'static str, v: Option<&'static str>) -> UnknownParam<'static> {
    UnknownParam::new(k, v.map(Cow::Borrowed)).unwrap()
}

#[allow(clippy::unnecessary_wraps)] // the fields and arguments are `Option`s
fn notify(success: bool, failure: bool, delay: bool) -> Option<Notify> {
    Some(Notify::On {
        success,
        failure,
        delay,
    })
}

fn auth(mech: &'static str, initial: Option<AuthInitial<'static>>) -> Command<'static> {
    Command::Auth {
        mechanism: Mechanism::new(mech).unwrap(),
        initial,
    }
}

#[allow(clippy::unnecessary_wraps)] // the fields and arguments are `Option`s
fn b64(s: &'static str) -> Option<AuthInitial<'static>> {
    Some(AuthInitial::Base64(Secret::new(Cow::Borrowed(s))))
}

fn arg(s: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(s)
}

fn a_example() -> ReversePath<'static> {
    from("a", "b.example")
}

/// One known answer: the wire form, the value, and whether the encoder writes exactly these
/// bytes back (upper-case verbs, canonical parameter order and spelling).
struct Case {
    wire: &'static [u8],
    value: Command<'static>,
    canonical: bool,
}

fn case(wire: &'static [u8], value: Command<'static>) -> Case {
    Case {
        wire,
        value,
        canonical: true,
    }
}

fn lenient(wire: &'static [u8], value: Command<'static>) -> Case {
    Case {
        wire,
        value,
        canonical: false,
    }
}

fn known_answers() -> Vec<Case> {
    let ipv6: Ipv6Addr = "2001:db8::1".parse().unwrap();
    vec![
        // --- HELO / EHLO / LHLO (RFC 5321 §4.1.1.1, RFC 2033)
        case(b"HELO client.example.com\r\n", hello(HelloKind::Helo, domain("client.example.com"))),
        lenient(b"helo Client.Example.COM\r\n", hello(HelloKind::Helo, domain("client.example.com"))),
        case(b"EHLO client.example.com\r\n", hello(HelloKind::Ehlo, domain("client.example.com"))),
        case(
            b"EHLO [192.0.2.1]\r\n",
            hello(
                HelloKind::Ehlo,
                DomainPart::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1))),
            ),
        ),
        case(
            b"EHLO [IPv6:2001:db8::1]\r\n",
            hello(HelloKind::Ehlo, DomainPart::Literal(AddressLiteral::Ipv6(ipv6))),
        ),
        lenient(
            b"ehlo [ipv6:2001:0DB8:0:0:0:0:0:1]\r\n",
            hello(HelloKind::Ehlo, DomainPart::Literal(AddressLiteral::Ipv6(ipv6))),
        ),
        case(
            b"EHLO [x-tag:some.content]\r\n",
            hello(
                HelloKind::Ehlo,
                DomainPart::Literal(AddressLiteral::general("x-tag", "some.content").unwrap()),
            ),
        ),
        case(
            "EHLO b\u{fc}cher.example\r\n".as_bytes(),
            hello(HelloKind::Ehlo, domain("b\u{fc}cher.example")),
        ),
        case(b"LHLO lmtp.example.net\r\n", hello(HelloKind::Lhlo, domain("lmtp.example.net"))),
        lenient(b"lhlo [10.0.0.1]\r\n", hello(
            HelloKind::Lhlo,
            DomainPart::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(10, 0, 0, 1))),
        )),
        // --- MAIL FROM (RFC 5321 §4.1.1.2)
        case(b"MAIL FROM:<>\r\n", mail(ReversePath::Null, MailParams::default())),
        lenient(b"mail from:<>\r\n", mail(ReversePath::Null, MailParams::default())),
        case(b"MAIL FROM:<user@example.com>\r\n", mail(from("user", "example.com"), MailParams::default())),
        lenient(
            b"MAIL FROM:<@a.example,@b.example:u@c.example>\r\n",
            mail(from("u", "c.example"), MailParams::default()),
        ),
        lenient(
            b"MAIL FROM:<@a.example:u@c.example>\r\n",
            mail(from("u", "c.example"), MailParams::default()),
        ),
        case(
            b"MAIL FROM:<\"john x\"@example.com>\r\n",
            mail(from("john x", "example.com"), MailParams::default()),
        ),
        case(
            b"MAIL FROM:<\"john \\\"x\\\" \\\\y\"@example.com>\r\n",
            mail(from("john \"x\" \\y", "example.com"), MailParams::default()),
        ),
        case(
            b"MAIL FROM:<first.last@[192.0.2.1]>\r\n",
            mail(
                ReversePath::Mailbox(mailbox(
                    "first.last",
                    DomainPart::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1))),
                )),
                MailParams::default(),
            ),
        ),
        case(
            "MAIL FROM:<\u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}> SMTPUTF8\r\n".as_bytes(),
            mail(
                from("\u{7528}\u{6237}", "\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}"),
                MailParams {
                    smtputf8: true,
                    ..MailParams::default()
                },
            ),
        ),
        case(
            "MAIL FROM:<j\u{fc}rgen@b\u{fc}cher.example> BODY=8BITMIME SMTPUTF8\r\n".as_bytes(),
            mail(
                from("j\u{fc}rgen", "b\u{fc}cher.example"),
                MailParams {
                    body: Some(Body::EightBitMime),
                    smtputf8: true,
                    ..MailParams::default()
                },
            ),
        ),
        // SIZE (RFC 1870)
        case(
            b"MAIL FROM:<a@b.example> SIZE=12345\r\n",
            mail(a_example(), MailParams { size: Some(12345), ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<a@b.example> SIZE=0\r\n",
            mail(a_example(), MailParams { size: Some(0), ..MailParams::default() }),
        ),
        lenient(
            b"MAIL FROM:<a@b.example> size=18446744073709551615\r\n",
            mail(a_example(), MailParams { size: Some(u64::MAX), ..MailParams::default() }),
        ),
        // BODY (RFC 6152, RFC 3030)
        case(
            b"MAIL FROM:<a@b.example> BODY=7BIT\r\n",
            mail(a_example(), MailParams { body: Some(Body::SevenBit), ..MailParams::default() }),
        ),
        lenient(
            b"MAIL FROM:<a@b.example> body=8bitmime\r\n",
            mail(a_example(), MailParams { body: Some(Body::EightBitMime), ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n",
            mail(a_example(), MailParams { body: Some(Body::BinaryMime), ..MailParams::default() }),
        ),
        // RET, ENVID (RFC 3461)
        case(
            b"MAIL FROM:<a@b.example> RET=FULL\r\n",
            mail(a_example(), MailParams { ret: Some(Ret::Full), ..MailParams::default() }),
        ),
        lenient(
            b"MAIL FROM:<a@b.example> ret=hdrs\r\n",
            mail(a_example(), MailParams { ret: Some(Ret::Hdrs), ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<> RET=HDRS ENVID=QQ314159\r\n",
            mail(
                ReversePath::Null,
                MailParams {
                    ret: Some(Ret::Hdrs),
                    envid: Some(xtext("QQ314159")),
                    ..MailParams::default()
                },
            ),
        ),
        case(
            b"MAIL FROM:<a@b.example> ENVID=abc+2Bdef+3D+20x\r\n",
            mail(a_example(), MailParams { envid: Some(xtext("abc+2Bdef+3D+20x")), ..MailParams::default() }),
        ),
        // AUTH= (RFC 4954 §5)
        case(
            b"MAIL FROM:<a@b.example> AUTH=<>\r\n",
            mail(a_example(), MailParams { auth: Some(xtext("<>")), ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<a@b.example> AUTH=user+40example.com\r\n",
            mail(a_example(), MailParams { auth: Some(xtext("user+40example.com")), ..MailParams::default() }),
        ),
        // REQUIRETLS (RFC 8689), MT-PRIORITY (RFC 6710)
        case(
            b"MAIL FROM:<a@b.example> REQUIRETLS\r\n",
            mail(a_example(), MailParams { requiretls: true, ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<a@b.example> MT-PRIORITY=-9\r\n",
            mail(a_example(), MailParams { mt_priority: Some(-9), ..MailParams::default() }),
        ),
        lenient(
            b"MAIL FROM:<a@b.example> MT-PRIORITY=+3\r\n",
            mail(a_example(), MailParams { mt_priority: Some(3), ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<a@b.example> MT-PRIORITY=9\r\n",
            mail(a_example(), MailParams { mt_priority: Some(9), ..MailParams::default() }),
        ),
        // BY (RFC 2852)
        case(
            b"MAIL FROM:<a@b.example> BY=120;R\r\n",
            mail(
                a_example(),
                MailParams {
                    by: Some(DeliverBy { time: 120, return_on_expiry: true, trace: false }),
                    ..MailParams::default()
                },
            ),
        ),
        case(
            b"MAIL FROM:<a@b.example> BY=-10;RT\r\n",
            mail(
                a_example(),
                MailParams {
                    by: Some(DeliverBy { time: -10, return_on_expiry: true, trace: true }),
                    ..MailParams::default()
                },
            ),
        ),
        lenient(
            b"MAIL FROM:<a@b.example> BY=+999999999;nt\r\n",
            mail(
                a_example(),
                MailParams {
                    by: Some(DeliverBy { time: 999_999_999, return_on_expiry: false, trace: true }),
                    ..MailParams::default()
                },
            ),
        ),
        // HOLDFOR / HOLDUNTIL (RFC 4865)
        case(
            b"MAIL FROM:<a@b.example> HOLDFOR=3600\r\n",
            mail(a_example(), MailParams { hold: Some(Hold::For(3600)), ..MailParams::default() }),
        ),
        case(
            b"MAIL FROM:<a@b.example> HOLDUNTIL=2026-12-31T23:59:59Z\r\n",
            mail(
                a_example(),
                MailParams {
                    hold: Some(Hold::Until(arg("2026-12-31T23:59:59Z"))),
                    ..MailParams::default()
                },
            ),
        ),
        // Unknown parameters are kept, in order, with and without values.
        lenient(
            b"MAIL FROM:<a@b.example> X-ONE=1 SIZE=5 XTWO\r\n",
            mail(
                a_example(),
                MailParams {
                    size: Some(5),
                    unknown: vec![unknown("X-ONE", Some("1")), unknown("XTWO", None)],
                    ..MailParams::default()
                },
            ),
        ),
        case(
            b"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1 AUTH=<> \
              MT-PRIORITY=4 BY=100;NT HOLDFOR=60 REQUIRETLS X-X=y\r\n",
            mail(
                a_example(),
                MailParams {
                    size: Some(1000),
                    body: Some(Body::EightBitMime),
                    smtputf8: true,
                    ret: Some(Ret::Hdrs),
                    envid: Some(xtext("id+2B1")),
                    auth: Some(xtext("<>")),
                    mt_priority: Some(4),
                    by: Some(DeliverBy { time: 100, return_on_expiry: false, trace: true }),
                    hold: Some(Hold::For(60)),
                    requiretls: true,
                    unknown: vec![unknown("X-X", Some("y"))],
                },
            ),
        ),
        // --- RCPT TO (RFC 5321 §4.1.1.3)
        case(b"RCPT TO:<Postmaster>\r\n", rcpt(ForwardPath::Postmaster, RcptParams::default())),
        lenient(b"rcpt to:<postmaster>\r\n", rcpt(ForwardPath::Postmaster, RcptParams::default())),
        case(
            b"RCPT TO:<Postmaster@example.com>\r\n",
            rcpt(to("Postmaster", "example.com"), RcptParams::default()),
        ),
        case(b"RCPT TO:<bob@example.org>\r\n", rcpt(to("bob", "example.org"), RcptParams::default())),
        lenient(
            b"RCPT TO:<@relay.example:bob@example.org>\r\n",
            rcpt(to("bob", "example.org"), RcptParams::default()),
        ),
        case(
            b"RCPT TO:<bob@example.org> NOTIFY=NEVER\r\n",
            rcpt(to("bob", "example.org"), RcptParams { notify: Some(Notify::Never), ..RcptParams::default() }),
        ),
        case(
            b"RCPT TO:<bob@example.org> NOTIFY=SUCCESS\r\n",
            rcpt(to("bob", "example.org"), RcptParams { notify: notify(true, false, false), ..RcptParams::default() }),
        ),
        case(
            b"RCPT TO:<bob@example.org> NOTIFY=FAILURE,DELAY\r\n",
            rcpt(to("bob", "example.org"), RcptParams { notify: notify(false, true, true), ..RcptParams::default() }),
        ),
        lenient(
            b"RCPT TO:<bob@example.org> NOTIFY=delay,Success,FAILURE\r\n",
            rcpt(to("bob", "example.org"), RcptParams { notify: notify(true, true, true), ..RcptParams::default() }),
        ),
        case(
            b"RCPT TO:<bob@example.org> ORCPT=rfc822;bob+2Bx@example.org\r\n",
            rcpt(
                to("bob", "example.org"),
                RcptParams {
                    orcpt: Some(Orcpt { addr_type: arg("rfc822"), addr: xtext("bob+2Bx@example.org") }),
                    ..RcptParams::default()
                },
            ),
        ),
        case(
            b"RCPT TO:<\"erin 512\"@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b X-Y\r\n",
            rcpt(
                to("erin 512", "example.com"),
                RcptParams {
                    notify: notify(true, true, false),
                    orcpt: Some(Orcpt { addr_type: arg("rfc822"), addr: xtext("a@b") }),
                    unknown: vec![unknown("X-Y", None)],
                },
            ),
        ),
        // --- DATA, BDAT (RFC 3030)
        case(b"DATA\r\n", Command::Data),
        lenient(b"data\r\n", Command::Data),
        case(b"BDAT 0\r\n", Command::Bdat { size: 0, last: false }),
        case(b"BDAT 1000 LAST\r\n", Command::Bdat { size: 1000, last: true }),
        lenient(b"bdat 5 last\r\n", Command::Bdat { size: 5, last: true }),
        case(b"BDAT 18446744073709551615\r\n", Command::Bdat { size: u64::MAX, last: false }),
        // --- RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS
        case(b"RSET\r\n", Command::Rset),
        case(b"NOOP\r\n", Command::Noop { arg: None }),
        case(b"NOOP hello\r\n", Command::Noop { arg: Some(arg("hello")) }),
        case(b"NOOP \"quoted arg\"\r\n", Command::Noop { arg: Some(arg("\"quoted arg\"")) }),
        case(b"QUIT\r\n", Command::Quit),
        lenient(b"qUiT\r\n", Command::Quit),
        case(b"VRFY smith\r\n", Command::Vrfy { arg: arg("smith") }),
        case(b"VRFY \"John Smith\"\r\n", Command::Vrfy { arg: arg("\"John Smith\"") }),
        case(b"VRFY Smith <smith@example.com>\r\n", Command::Vrfy { arg: arg("Smith <smith@example.com>") }),
        case(b"EXPN staff\r\n", Command::Expn { arg: arg("staff") }),
        case(b"HELP\r\n", Command::Help { topic: None }),
        case(b"HELP MAIL\r\n", Command::Help { topic: Some(arg("MAIL")) }),
        case(b"STARTTLS\r\n", Command::StartTls),
        lenient(b"starttls\r\n", Command::StartTls),
        // --- AUTH (RFC 4954)
        case(b"AUTH PLAIN\r\n", auth("PLAIN", None)),
        case(b"AUTH PLAIN =\r\n", auth("PLAIN", Some(AuthInitial::Empty))),
        case(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", auth("PLAIN", b64("AGFsaWNlAHNlY3JldA=="))),
        lenient(b"auth login\r\n", auth("LOGIN", None)),
        case(b"AUTH SCRAM-SHA-256 biwsbj11c2Vy\r\n", auth("SCRAM-SHA-256", b64("biwsbj11c2Vy"))),
        // --- ETRN (RFC 1985)
        case(b"ETRN example.com\r\n", Command::Etrn { node: arg("example.com") }),
        case(b"ETRN @example.com\r\n", Command::Etrn { node: arg("@example.com") }),
        case(b"ETRN #queue1\r\n", Command::Etrn { node: arg("#queue1") }),
    ]
}

#[test]
fn known_answers_decode() {
    for c in known_answers() {
        let got = codec::decode_command(c.wire);
        assert_eq!(
            got,
            Ok((&b""[..], c.value.clone())),
            "{:?}",
            String::from_utf8_lossy(c.wire)
        );
        // What follows the line is left for the next call.
        let mut two = c.wire.to_vec();
        two.extend_from_slice(b"QUIT\r\n");
        let (rest, cmd) = codec::decode_command(&two).unwrap();
        assert_eq!(rest, b"QUIT\r\n");
        assert_eq!(cmd, c.value);
    }
}

#[test]
fn known_answers_strict_prefixes_are_incomplete() {
    for c in known_answers() {
        assert_strict_prefixes_incomplete(c.wire, |b| {
            codec::decode_command(b).map(|(r, cmd)| (r.len(), cmd.into_owned()))
        });
    }
}

#[test]
fn known_answers_encode() {
    for c in known_answers() {
        let mut out = b"previous".to_vec();
        codec::encode_command(&c.value, &mut out).unwrap();
        let written = &out[b"previous".len()..];
        if c.canonical {
            assert_eq!(
                String::from_utf8_lossy(written),
                String::from_utf8_lossy(c.wire)
            );
        }
        assert_eq!(
            codec::decode_command(written),
            Ok((&b""[..], c.value.clone()))
        );
    }
}

#[test]
fn known_answers_any_chunking() {
    for c in known_answers() {
        let (whole, _) = read_client(&[c.wire], BareLineEndings::Reject);
        assert_eq!(whole[0], ClientEvent::Command(c.value.clone()));
        // Only `BDAT 0` is followed by anything: its (empty) chunk.
        assert_eq!(
            whole.len(),
            1 + usize::from(
                c.value
                    == Command::Bdat {
                        size: 0,
                        last: false
                    }
            )
        );
        for chunks in chunkings(c.wire) {
            let (events, _) = read_client(&chunks, BareLineEndings::Reject);
            assert_eq!(events, whole, "{chunks:?}");
        }
    }
}

#[test]
fn parsed_values_have_the_expected_meaning() {
    // Source route dropped, domain kept.
    let (_, cmd) =
        codec::decode_command(b"MAIL FROM:<@a.example,@b.example:u@c.example>\r\n").unwrap();
    let Command::Mail { from, .. } = cmd else {
        panic!("{cmd:?}")
    };
    let m = from.mailbox().unwrap();
    assert_eq!(m.local_part().as_wire(), "u");
    assert_eq!(m.domain().as_str(), "c.example");

    // Quoted local part: wire form kept, value unquoted.
    let (_, cmd) =
        codec::decode_command(b"MAIL FROM:<\"john \\\"x\\\" \\\\y\"@example.com>\r\n").unwrap();
    let Command::Mail { from, .. } = cmd else {
        panic!("{cmd:?}")
    };
    let lp = from.mailbox().unwrap().local_part().clone();
    assert!(lp.is_quoted());
    assert_eq!(lp.as_wire(), "\"john \\\"x\\\" \\\\y\"");
    assert_eq!(lp.unquoted(), "john \"x\" \\y");

    // A superfluous quoted-pair stays in the wire form; the value is the same.
    let (_, cmd) = codec::decode_command(b"MAIL FROM:<\"a\\ b\"@example.com>\r\n").unwrap();
    let Command::Mail { from, .. } = cmd else {
        panic!("{cmd:?}")
    };
    let lp = from.mailbox().unwrap().local_part().clone();
    assert_eq!(lp, LocalPart::from_wire("\"a\\ b\"").unwrap());
    assert_eq!(lp.unquoted(), "a b");

    // The postmaster in any case, quoted or not (RFC 5321 §4.5.1); nothing else.
    for wire in [
        "postmaster",
        "PostMaster",
        "\"POSTMASTER\"",
        "\"post\\master\"",
    ] {
        assert!(
            LocalPart::from_wire(wire).unwrap().is_postmaster(),
            "{wire}"
        );
    }
    for wire in [
        "postmaster2",
        "post.master",
        "\"postmaster \"",
        "p\u{f6}stmaster",
    ] {
        assert!(
            !LocalPart::from_wire(wire).unwrap().is_postmaster(),
            "{wire}"
        );
    }

    // UTF-8 addresses need SMTPUTF8.
    let (_, cmd) =
        codec::decode_command("MAIL FROM:<j\u{fc}rgen@example.com>\r\n".as_bytes()).unwrap();
    let Command::Mail { from, .. } = cmd else {
        panic!("{cmd:?}")
    };
    assert!(!from.mailbox().unwrap().is_ascii());

    // xtext escapes decode.
    let (_, cmd) = codec::decode_command(
        b"MAIL FROM:<a@b.example> ENVID=abc+2Bdef+3D+20x AUTH=user+40example.com\r\n",
    )
    .unwrap();
    let Command::Mail { params, .. } = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(params.envid.unwrap().decode(), "abc+def= x");
    assert_eq!(params.auth.unwrap().decode(), "user@example.com");
    let (_, cmd) =
        codec::decode_command(b"RCPT TO:<b@example.org> ORCPT=rfc822;bob+2Bx+40example.org\r\n")
            .unwrap();
    let Command::Rcpt { params, .. } = cmd else {
        panic!("{cmd:?}")
    };
    let orcpt = params.orcpt.unwrap();
    assert_eq!(orcpt.addr_type, "rfc822");
    assert_eq!(orcpt.addr.decode(), "bob+x@example.org");

    // <Postmaster> is not the null path, and <postmaster@domain> is a mailbox.
    let (_, cmd) = codec::decode_command(b"RCPT TO:<Postmaster>\r\n").unwrap();
    let Command::Rcpt { to, .. } = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(to, ForwardPath::Postmaster);
    assert!(to.mailbox().is_none());
    let (_, cmd) = codec::decode_command(b"RCPT TO:<postmaster@example.com>\r\n").unwrap();
    let Command::Rcpt { to, .. } = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(to.mailbox().unwrap().domain().as_str(), "example.com");
    assert_eq!(to.mailbox().unwrap().local_part().as_wire(), "postmaster");

    // Domains compare without regard to ASCII case, local parts exactly.
    assert_eq!(
        Domain::new("EXAMPLE.com").unwrap(),
        Domain::new("example.COM").unwrap()
    );
    assert_ne!(
        LocalPart::new("Bob").unwrap(),
        LocalPart::new("bob").unwrap()
    );
}

#[test]
fn sasl_lines() {
    let table: [(&[u8], SaslLine<'static>); 4] = [
        (b"*\r\n", SaslLine::Cancel),
        (b"\r\n", SaslLine::Response(Secret::new(arg("")))),
        (
            b"dXNlcm5hbWU=\r\n",
            SaslLine::Response(Secret::new(arg("dXNlcm5hbWU="))),
        ),
        (
            b"AGFsaWNlAHNlY3JldA==\r\n",
            SaslLine::Response(Secret::new(arg("AGFsaWNlAHNlY3JldA=="))),
        ),
    ];
    for (wire, want) in table {
        assert_eq!(
            codec::decode_sasl_line(wire, 12 * 1024),
            Ok((&b""[..], want.clone()))
        );
        assert_strict_prefixes_incomplete(wire, |b| {
            codec::decode_sasl_line(b, 12 * 1024).map(|(r, l)| (r.len(), format!("{l:?}")))
        });
        let line = &wire[..wire.len() - 2];
        assert_eq!(codec::parse_sasl_line(line), Ok(want));
    }
    for bad in [
        &b"abc"[..],
        b"a*==",
        b"====",
        b"A===",
        b"ab=c",
        b"**",
        b"* ",
        b"dXNl cm5h",
    ] {
        assert!(
            matches!(codec::parse_sasl_line(bad), Err(DecodeError::Syntax { .. })),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let mut out = Vec::new();
    codec::encode_sasl_response(Some(b"\0alice\0secret"), &mut out);
    codec::encode_sasl_response(None, &mut out);
    assert_eq!(out, b"AGFsaWNlAHNlY3JldA==\r\n*\r\n");
    // Secrets do not leak through Debug.
    let dbg = format!(
        "{:?}",
        codec::parse_sasl_line(b"AGFsaWNlAHNlY3JldA==").unwrap()
    );
    assert!(!dbg.contains("AGFsaWNl"), "{dbg}");
    let dbg = format!(
        "{:?}",
        codec::decode_command(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n").unwrap()
    );
    assert!(!dbg.contains("AGFsaWNl"), "{dbg}");
}

// ---------------------------------------------------------------------------------------------
// Negative table.

#[derive(Debug, Clone, Copy)]
enum Want {
    Unknown,
    Syntax,
    SyntaxAt(usize),
    Bare,
    TooLong(usize),
}

fn check(got: Result<(&[u8], Command<'_>), DecodeError>, want: Want) -> bool {
    match (got, want) {
        (Err(DecodeError::UnknownCommand), Want::Unknown)
        | (Err(DecodeError::Syntax { .. }), Want::Syntax)
        | (Err(DecodeError::BareLineEnding), Want::Bare) => true,
        (Err(DecodeError::Syntax { at, .. }), Want::SyntaxAt(want)) => at == want,
        (Err(DecodeError::LineTooLong { max }), Want::TooLong(want)) => max == want,
        _ => false,
    }
}

#[test]
fn malformed_lines() {
    use Want::{Bare, Syntax, SyntaxAt, TooLong, Unknown};
    let long_noop = format!("NOOP {}\r\n", "a".repeat(506)); // 513 octets with CRLF
    let long_auth = format!("AUTH PLAIN {}\r\n", "A".repeat(12 * 1024 - 12)); // 12 KiB + 1
    let table: Vec<(&[u8], Want)> = vec![
        (b"FOO\r\n", Unknown),
        (b"\r\n", Unknown),
        (b" QUIT\r\n", Unknown),
        (b"MAILFROM:<a@b.example>\r\n", Unknown),
        (b"XEXPS bar\r\n", Unknown),
        (b"STARTTLSX\r\n", Unknown),
        (b"HELO\r\n", SyntaxAt(4)),
        (b"EHLO\r\n", SyntaxAt(4)),
        (b"EHLO \r\n", SyntaxAt(5)),
        (b"HELO [192.0.2.1]\r\n", SyntaxAt(5)),
        (b"EHLO -bad.example\r\n", SyntaxAt(5)),
        (b"EHLO bad-.example\r\n", Syntax),
        (b"EHLO a..example\r\n", Syntax),
        (b"EHLO [300.0.0.1]\r\n", SyntaxAt(5)),
        (b"EHLO [IPv6:2001:db8::g]\r\n", SyntaxAt(5)),
        (b"EHLO [192.0.2.1\r\n", Syntax),
        (b"EHLO []\r\n", Syntax),
        (b"EHLO a.example extra\r\n", SyntaxAt(14)),
        (b"MAIL\r\n", SyntaxAt(4)),
        (b"MAIL TO:<a@b.example>\r\n", SyntaxAt(5)),
        (b"MAIL FROM: <a@b.example>\r\n", SyntaxAt(10)),
        (b"MAIL FROM:a@b.example\r\n", SyntaxAt(10)),
        (b"MAIL FROM:<a@b.example\r\n", Syntax),
        (b"MAIL FROM:<a@>\r\n", Syntax),
        (b"MAIL FROM:<@b.example>\r\n", Syntax),
        (b"MAIL FROM:<a.@b.example>\r\n", Syntax),
        (b"MAIL FROM:<\"unterminated@b.example>\r\n", Syntax),
        (b"MAIL FROM:<@a.example;u@c.example>\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> \r\n", SyntaxAt(24)),
        (b"MAIL FROM:<a@b.example>  SIZE=1\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> SIZE\r\n", SyntaxAt(24)),
        (b"MAIL FROM:<a@b.example> SIZE=abc\r\n", SyntaxAt(24)),
        (b"MAIL FROM:<a@b.example> SIZE=-1\r\n", Syntax),
        (
            b"MAIL FROM:<a@b.example> SIZE=184467440737095516160\r\n",
            Syntax,
        ),
        (b"MAIL FROM:<a@b.example> SIZE=1 SIZE=1\r\n", SyntaxAt(31)),
        (b"MAIL FROM:<a@b.example> SIZE=1 size=2\r\n", SyntaxAt(31)),
        (b"MAIL FROM:<a@b.example> BODY=9BIT\r\n", Syntax),
        (
            b"MAIL FROM:<a@b.example> BODY=7BIT BODY=7BIT\r\n",
            SyntaxAt(34),
        ),
        (b"MAIL FROM:<a@b.example> SMTPUTF8=yes\r\n", Syntax),
        (
            b"MAIL FROM:<a@b.example> SMTPUTF8 SMTPUTF8\r\n",
            SyntaxAt(33),
        ),
        (b"MAIL FROM:<a@b.example> REQUIRETLS REQUIRETLS\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> RET=ALL\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> RET=FULL RET=HDRS\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> ENVID=a+zz\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> ENVID=a+4a\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> ENVID=a+4\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> ENVID=a ENVID=b\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> AUTH=a+4\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> MT-PRIORITY=10\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> MT-PRIORITY=-\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> BY=10;X\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> BY=1234567890;R\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> BY=10\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> HOLDFOR=+5\r\n", Syntax),
        (
            b"MAIL FROM:<a@b.example> HOLDFOR=1 HOLDUNTIL=2026-12-31T23:59:59Z\r\n",
            Syntax,
        ),
        (b"MAIL FROM:<a@b.example> X-A=\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> -X=1\r\n", Syntax),
        (b"MAIL FROM:<a@b.example> X=a=b\r\n", Syntax),
        (b"RCPT\r\n", SyntaxAt(4)),
        (b"RCPT TO:<>\r\n", SyntaxAt(8)),
        (b"RCPT FROM:<a@b.example>\r\n", SyntaxAt(5)),
        (
            b"RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS\r\n",
            SyntaxAt(22),
        ),
        (b"RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS\r\n", Syntax),
        (b"RCPT TO:<a@b.example> NOTIFY=ALWAYS\r\n", Syntax),
        (b"RCPT TO:<a@b.example> NOTIFY=\r\n", Syntax),
        (
            b"RCPT TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER\r\n",
            SyntaxAt(35),
        ),
        (b"RCPT TO:<a@b.example> ORCPT=rfc822\r\n", Syntax),
        (b"RCPT TO:<a@b.example> ORCPT=;a@b\r\n", Syntax),
        (b"RCPT TO:<a@b.example> ORCPT=rfc822;a+zz\r\n", Syntax),
        (b"DATA x\r\n", SyntaxAt(5)),
        (b"DATA \r\n", SyntaxAt(5)),
        (b"RSET now\r\n", Syntax),
        (b"QUIT now\r\n", Syntax),
        (b"STARTTLS now\r\n", Syntax),
        (b"NOOP \r\n", Syntax),
        (b"NOOP  x\r\n", Syntax),
        (b"NOOP a\0b\r\n", Syntax),
        (b"BDAT\r\n", Syntax),
        (b"BDAT x\r\n", SyntaxAt(5)),
        (b"BDAT -1\r\n", SyntaxAt(5)),
        (b"BDAT 1 FIRST\r\n", SyntaxAt(7)),
        (b"BDAT 1 LAST x\r\n", Syntax),
        (b"BDAT 1 \r\n", Syntax),
        (b"BDAT 18446744073709551616\r\n", SyntaxAt(5)),
        (b"BDAT 99999999999999999999999\r\n", SyntaxAt(5)),
        (b"VRFY\r\n", SyntaxAt(4)),
        (b"EXPN\r\n", SyntaxAt(4)),
        (b"VRFY \r\n", Syntax),
        (b"AUTH\r\n", SyntaxAt(4)),
        (b"AUTH PL@IN\r\n", Syntax),
        (b"AUTH ABCDEFGHIJKLMNOPQRSTU\r\n", Syntax),
        (b"AUTH PLAIN \r\n", Syntax),
        (b"AUTH PLAIN dGVzdA\r\n", SyntaxAt(11)),
        (b"AUTH PLAIN dGVz dA==\r\n", Syntax),
        (b"AUTH PLAIN ==\r\n", Syntax),
        (b"ETRN\r\n", Syntax),
        (b"ETRN #\r\n", Syntax),
        (b"ETRN bad..domain\r\n", Syntax),
        (b"ETRN @\r\n", Syntax),
        (b"MAIL FROM:<\xff@b.example>\r\n", SyntaxAt(11)),
        (b"\xc3\x28\r\n", SyntaxAt(0)),
        // Line endings (RFC 5321 §2.3.8).
        (b"QUIT\n", Bare),
        (b"\n", Bare),
        (b"QUIT\r\r\n", Bare),
        (b"NOOP a\rb\r\n", Bare),
        (b"MAIL FROM:<a@b.example>\rRCPT TO:<c@d.example>\r\n", Bare),
        (b"RCPT TO:<a@b.example>\n\r\n", Bare),
        // Length (RFC 5321 §4.5.3.1.4; AUTH lines get the SASL limit).
        (long_noop.as_bytes(), TooLong(512)),
        (long_auth.as_bytes(), TooLong(12 * 1024)),
    ];
    let mut wrong = Vec::new();
    for (wire, want) in table {
        let got = codec::decode_command(wire);
        if !check(got.clone(), want) {
            wrong.push(format!(
                "{:?}: want {want:?}, got {got:?}",
                String::from_utf8_lossy(wire)
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let err = codec::decode_command(b"BDAT 18446744073709551616\r\n").unwrap_err();
    assert_eq!(
        err,
        DecodeError::Syntax {
            at: 5,
            expected: "chunk-size"
        }
    );
    let err = codec::decode_command(b"MAIL FROM:<a@b.example> SIZE=1 SIZE=2\r\n").unwrap_err();
    assert_eq!(
        err,
        DecodeError::Syntax {
            at: 31,
            expected: "each parameter at most once"
        }
    );
    let err = codec::decode_command(b"MAIL FROM:<\xff@b.example>\r\n").unwrap_err();
    assert_eq!(
        err,
        DecodeError::Syntax {
            at: 11,
            expected: "UTF-8"
        }
    );
    // Every error maps to a 5xx reply.
    for e in [
        DecodeError::UnknownCommand,
        DecodeError::BareLineEnding,
        DecodeError::LineTooLong { max: 512 },
        err,
    ] {
        let reply = sansmail_smtp::Reply::from(e);
        assert_eq!(reply.code().get() / 100, 5, "{e:?}");
    }
    assert_eq!(DecodeError::UnknownCommand.to_reply().code().get(), 500);
    assert_eq!(err.to_reply().code().get(), 501);
}

#[test]
fn line_limits() {
    // 512 octets with CRLF is the longest command line; 513 is refused.
    let ok = format!("NOOP {}\r\n", "a".repeat(505));
    assert_eq!(ok.len(), 512);
    assert!(codec::decode_command(ok.as_bytes()).is_ok());
    let long = format!("NOOP {}\r\n", "a".repeat(506));
    assert_eq!(
        codec::decode_command(long.as_bytes()),
        Err(DecodeError::LineTooLong { max: 512 })
    );
    // Without its LF, the line is refused as soon as 512 octets are buffered.
    assert_eq!(
        codec::decode_command(&long.as_bytes()[..511]),
        Err(DecodeError::Incomplete)
    );
    assert_eq!(
        codec::decode_command(&long.as_bytes()[..512]),
        Err(DecodeError::LineTooLong { max: 512 })
    );

    // MAIL and RCPT may be longer by what their parameters add (RFC 5321 §4.5.3.1.4, RFC
    // 3461 §4): a DSN relay's RCPT with a long ORCPT is read, up to 2048 octets.
    let addr = format!(
        "{}@{}.example",
        "l".repeat(64),
        vec!["d".repeat(60); 4].join(".")
    );
    let rcpt = format!("RCPT TO:<{addr}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{addr}\r\n");
    assert!(rcpt.len() > 512);
    assert!(matches!(
        codec::decode_command(rcpt.as_bytes()),
        Ok((rest, Command::Rcpt { .. })) if rest.is_empty()
    ));
    let mail = format!(
        "mail FROM:<{addr}> ENVID={} AUTH={addr}\r\n",
        "e".repeat(100)
    );
    assert!(mail.len() > 512);
    assert!(codec::decode_command(mail.as_bytes()).is_ok());
    let too_long = format!(
        "RCPT TO:<a@b.example> ORCPT=rfc822;{}\r\n",
        "x".repeat(2020)
    );
    assert_eq!(
        codec::decode_command(too_long.as_bytes()),
        Err(DecodeError::LineTooLong { max: 2048 })
    );

    // A 1 MiB line without LF.
    let huge = vec![b'A'; 1 << 20];
    assert_eq!(
        codec::decode_command(&huge),
        Err(DecodeError::LineTooLong { max: 512 })
    );
    let mut huge_auth = b"AUTH PLAIN ".to_vec();
    huge_auth.resize(1 << 20, b'A');
    assert_eq!(
        codec::decode_command(&huge_auth),
        Err(DecodeError::LineTooLong { max: 12 * 1024 })
    );

    // AUTH may carry a long initial response (an OAuth token), up to the SASL limit.
    let token = "A".repeat(4096);
    let line = format!("AUTH XOAUTH2 {token}\r\n");
    let (_, cmd) = codec::decode_command(line.as_bytes()).unwrap();
    assert_eq!(
        cmd,
        auth(
            "XOAUTH2",
            Some(AuthInitial::Base64(Secret::new(Cow::Owned(token))))
        )
    );

    // Custom limits.
    let mut limits = Limits::default();
    limits.max_command_line = 10;
    assert!(codec::decode_command_with(b"NOOP abc\r\n", &limits).is_ok());
    assert_eq!(
        codec::decode_command_with(b"NOOP abcd\r\n", &limits),
        Err(DecodeError::LineTooLong { max: 10 })
    );
}

#[test]
fn long_line_refused_however_chunked_then_resync() {
    let mut stream = format!("NOOP {}\r\n", "x".repeat(600)).into_bytes();
    stream.extend_from_slice(b"QUIT\r\n");
    let want = vec![
        ClientEvent::Error(DecodeError::LineTooLong { max: 512 }),
        ClientEvent::Command(Command::Quit),
    ];
    for chunks in chunkings(&stream) {
        let (events, done) = read_client(&chunks, BareLineEndings::Reject);
        assert_eq!(events, want);
        assert!(done);
    }
    // A megabyte without LF, one byte at a time: one error, and the buffer never holds it all.
    let mut s = common::ClientStream::new(BareLineEndings::Reject);
    for _ in 0..(1 << 20) / 4096 {
        s.push(&[b'A'; 4096]);
    }
    s.push(b"\r\nRSET\r\n");
    assert_eq!(
        s.events,
        vec![
            ClientEvent::Error(DecodeError::LineTooLong { max: 512 }),
            ClientEvent::Command(Command::Rset),
        ]
    );
}

#[test]
fn errors_resync_at_the_next_line_however_chunked() {
    let stream: &[u8] =
        b"FOO\r\nMAIL FROM:<a@b.example> SIZE=x\r\nQUIT\nNOOP\r\nEHLO [1.2.3.4]\r\n";
    let (whole, done) = read_client(&[stream], BareLineEndings::Reject);
    assert!(done);
    assert_eq!(
        whole,
        vec![
            ClientEvent::Error(DecodeError::UnknownCommand),
            ClientEvent::Error(DecodeError::Syntax {
                at: 24,
                expected: "SIZE=1*20DIGIT"
            }),
            ClientEvent::Error(DecodeError::BareLineEnding),
            ClientEvent::Command(Command::Noop { arg: None }),
            ClientEvent::Command(hello(
                HelloKind::Ehlo,
                DomainPart::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(1, 2, 3, 4)))
            )),
        ]
    );
    for chunks in chunkings(stream) {
        assert_eq!(read_client(&chunks, BareLineEndings::Reject).0, whole);
    }
}

#[test]
fn find_line_resumes_where_it_stopped() {
    let input = b"MAIL FROM:<a@b.example>\r\nRCPT";
    let whole = find_line(input, 512, 0);
    assert_eq!(
        whole,
        Frame::Line {
            len: 23,
            consumed: 25
        }
    );
    // Growing input, each call told how much was already scanned.
    let mut scanned = 0;
    for end in 0..=input.len() {
        let got = find_line(&input[..end], 512, scanned);
        if end < 25 {
            assert_eq!(got, Frame::Partial, "{end}");
            scanned = end;
        } else {
            assert_eq!(got, whole, "{end}");
        }
    }
    assert_eq!(
        find_line(b"abc\nrest", 512, 0),
        Frame::Invalid {
            error: LineError::BareLineEnding,
            consumed: 4
        }
    );
    assert_eq!(
        find_line(b"abcdef\r\n", 7, 0),
        Frame::Invalid {
            error: LineError::TooLong { max: 7 },
            consumed: 8
        }
    );
    assert_eq!(
        find_line(b"abcdef\r\n", 8, 0),
        Frame::Line {
            len: 6,
            consumed: 8
        }
    );
    assert_eq!(find_line(b"abcdefg", 7, 0), Frame::TooLongSoFar);
    assert_eq!(find_line(b"abcdef", 7, 0), Frame::Partial);
}

// ---------------------------------------------------------------------------------------------
// The encoder refuses what would break the line or not read back, and then writes nothing.

fn assert_all_refused(cases: Vec<Command<'static>>) {
    let mut wrong = Vec::new();
    for cmd in cases {
        let mut out = b"KEEP".to_vec();
        let res = codec::encode_command(&cmd, &mut out);
        if res.is_ok() || out != b"KEEP" {
            wrong.push(format!(
                "{cmd:?} encoded as {:?}",
                String::from_utf8_lossy(&out)
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn encoder_refuses_line_breaks_and_writes_nothing() {
    let bad_unknown = UnknownParam {
        keyword: arg("X-A"),
        value: Some(arg("a\r\nRCPT TO:<evil@example.com>")),
    };
    let bad_keyword = UnknownParam {
        keyword: arg("X\r\nRSET"),
        value: None,
    };
    let cases: Vec<Command<'static>> = vec![
        Command::Vrfy {
            arg: arg("smith\r\nRCPT TO:<evil@example.com>"),
        },
        Command::Vrfy {
            arg: arg("smith\n"),
        },
        Command::Expn {
            arg: arg("list\rx"),
        },
        Command::Noop {
            arg: Some(arg("a\r\nQUIT")),
        },
        Command::Help {
            topic: Some(arg("MAIL\n")),
        },
        Command::Etrn {
            node: arg("example.com\r\nQUIT"),
        },
        mail(
            a_example(),
            MailParams {
                unknown: vec![bad_unknown.clone()],
                ..MailParams::default()
            },
        ),
        mail(
            a_example(),
            MailParams {
                unknown: vec![bad_keyword.clone()],
                ..MailParams::default()
            },
        ),
        rcpt(
            to("b", "example.org"),
            RcptParams {
                unknown: vec![bad_unknown],
                ..RcptParams::default()
            },
        ),
        rcpt(
            to("b", "example.org"),
            RcptParams {
                unknown: vec![bad_keyword],
                ..RcptParams::default()
            },
        ),
        mail(
            a_example(),
            MailParams {
                hold: Some(Hold::Until(arg("2026\r\nQUIT"))),
                ..MailParams::default()
            },
        ),
        // Other control characters and empty arguments.
        Command::Vrfy { arg: arg("a\0b") },
        Command::Vrfy { arg: arg("") },
        Command::Noop { arg: Some(arg("")) },
        rcpt(
            to("b", "example.org"),
            RcptParams {
                notify: notify(false, false, false),
                ..RcptParams::default()
            },
        ),
        auth("PLAIN", b64("")),
        auth("PLAIN", b64("not base64!")),
    ];
    assert_all_refused(cases);
}

/// Values the types allow but the decoder would refuse or read as something else: the encoder
/// must refuse them rather than put a line on the wire that does not read back.
#[test]
fn encoder_refuses_what_does_not_read_back() {
    let cases: Vec<Command<'static>> = vec![
        // `NOOP  x` does not parse: the argument may not start with SP.
        Command::Noop {
            arg: Some(arg(" x")),
        },
        Command::Vrfy { arg: arg(" smith") },
        // ETRN takes a node name, not free text.
        Command::Etrn {
            node: arg("not a node"),
        },
        Command::Etrn { node: arg("#") },
        // HELO takes a domain (RFC 5321 §4.1.1.1), not an address literal.
        hello(
            HelloKind::Helo,
            DomainPart::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1))),
        ),
        // ENVID is at most 100 characters (RFC 3461 §4.4).
        mail(
            a_example(),
            MailParams {
                envid: Some(XText::from_encoded("x".repeat(101)).unwrap()),
                ..MailParams::default()
            },
        ),
        // ENVID and AUTH= need a value: `ENVID=` does not parse.
        mail(
            a_example(),
            MailParams {
                envid: Some(xtext("")),
                ..MailParams::default()
            },
        ),
        mail(
            a_example(),
            MailParams {
                auth: Some(xtext("")),
                ..MailParams::default()
            },
        ),
        // MT-PRIORITY is -9 to 9 (RFC 6710).
        mail(
            a_example(),
            MailParams {
                mt_priority: Some(10),
                ..MailParams::default()
            },
        ),
        mail(
            a_example(),
            MailParams {
                mt_priority: Some(-128),
                ..MailParams::default()
            },
        ),
        // BY time is at most 9 digits (RFC 2852).
        mail(
            a_example(),
            MailParams {
                by: Some(DeliverBy {
                    time: 1_000_000_000,
                    return_on_expiry: true,
                    trace: false,
                }),
                ..MailParams::default()
            },
        ),
        // ORCPT's address type may not contain '=' (esmtp-value).
        rcpt(
            to("b", "example.org"),
            RcptParams {
                orcpt: Some(Orcpt {
                    addr_type: arg("rfc=822"),
                    addr: xtext("a@b"),
                }),
                ..RcptParams::default()
            },
        ),
        // An "unknown" parameter with a known keyword would read back as that parameter, or
        // as a duplicate.
        mail(
            a_example(),
            MailParams {
                unknown: vec![unknown("SIZE", Some("10"))],
                ..MailParams::default()
            },
        ),
        mail(
            a_example(),
            MailParams {
                smtputf8: true,
                unknown: vec![unknown("smtputf8", None)],
                ..MailParams::default()
            },
        ),
        rcpt(
            to("b", "example.org"),
            RcptParams {
                unknown: vec![unknown("NOTIFY", Some("NEVER"))],
                ..RcptParams::default()
            },
        ),
    ];
    assert_all_refused(cases);
    // The same parameters at the edge of their range are fine.
    let ok = mail(
        a_example(),
        MailParams {
            envid: Some(XText::from_encoded("x".repeat(100)).unwrap()),
            mt_priority: Some(-9),
            by: Some(DeliverBy {
                time: -999_999_999,
                return_on_expiry: true,
                trace: false,
            }),
            unknown: vec![unknown("X-SIZE", Some("10"))],
            ..MailParams::default()
        },
    );
    let mut out = Vec::new();
    codec::encode_command(&ok, &mut out).unwrap();
    assert_eq!(codec::decode_command(&out), Ok((&b""[..], ok)));
}

// ---------------------------------------------------------------------------------------------
// A real client stream: the first part of the shared corpus, copied into tests/fixtures.

const CLIENT_STREAM: &[u8] = include_bytes!("fixtures/smtp-client-stream-head.txt");

#[test]
fn client_stream_decodes_and_reencodes_to_the_same_bytes() {
    let (events, done) = read_client(&[CLIENT_STREAM], BareLineEndings::Reject);
    assert!(done, "stream ends between commands");
    assert_eq!(
        &events[..3],
        &[
            ClientEvent::Command(hello(HelloKind::Ehlo, domain("client0.example.net"))),
            ClientEvent::Command(auth("PLAIN", b64("AGFsaWNlAHNlY3JldA=="))),
            ClientEvent::Command(mail(
                ReversePath::Null,
                MailParams {
                    ret: Some(Ret::Hdrs),
                    envid: Some(xtext("QQ314159")),
                    ..MailParams::default()
                }
            )),
        ]
    );
    let count = |f: fn(&ClientEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(|e| matches!(e, ClientEvent::Error(_))),
        0,
        "{events:?}"
    );
    assert_eq!(
        count(|e| matches!(e, ClientEvent::Command(Command::Quit))),
        6
    );
    assert_eq!(
        count(|e| matches!(e, ClientEvent::Command(Command::Hello { .. }))),
        6
    );
    assert!(count(|e| matches!(e, ClientEvent::Data(..))) >= 2);
    assert!(count(|e| matches!(e, ClientEvent::Chunk(..))) >= 2);
    assert!(events.contains(&ClientEvent::Command(rcpt(
        ForwardPath::Postmaster,
        RcptParams::default()
    ))));

    // Writing every event back gives the stream: commands by the encoder, DATA by the
    // stuffer, chunks as they were.
    let mut wire = Vec::new();
    for e in &events {
        match e {
            ClientEvent::Command(c) => codec::encode_command(c, &mut wire).unwrap(),
            ClientEvent::Data(data, end) => {
                assert!(!end.bare_line_ending && !end.too_large && !end.line_too_long);
                assert_eq!(end.size, data.len() as u64);
                let mut s = DotStuffer::new();
                s.encode(data, &mut wire);
                s.finish(&mut wire);
            }
            ClientEvent::Chunk(c) => wire.extend_from_slice(c),
            ClientEvent::Error(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&wire),
        String::from_utf8_lossy(CLIENT_STREAM)
    );
}

#[test]
fn client_stream_any_chunking() {
    let (whole, _) = read_client(&[CLIENT_STREAM], BareLineEndings::Reject);
    for chunks in chunkings(CLIENT_STREAM) {
        let (events, done) = read_client(&chunks, BareLineEndings::Reject);
        assert!(done);
        assert!(
            events == whole,
            "split {:?} differs",
            chunks.first().map(|c| c.len())
        );
    }
}

/// `size-value = 1*20DIGIT` (RFC 1870): twenty digits past u64 are a size over any limit
/// (the server answers 552, §6), not a syntax error; twenty-one are.
#[test]
fn twenty_digit_sizes_saturate() {
    for line in [
        &b"MAIL FROM:<a@b.example> SIZE=18446744073709551616\r\n"[..],
        b"MAIL FROM:<a@b.example> SIZE=99999999999999999999\r\n",
    ] {
        let (_, cmd) = codec::decode_command(line).unwrap();
        let Command::Mail { params, .. } = cmd else {
            panic!("{cmd:?}");
        };
        assert_eq!(params.size, Some(u64::MAX));
    }
    let (_, cmd) =
        codec::decode_command(b"MAIL FROM:<a@b.example> SIZE=18446744073709551615\r\n").unwrap();
    let Command::Mail { params, .. } = cmd else {
        panic!("{cmd:?}");
    };
    assert_eq!(params.size, Some(u64::MAX));
}
