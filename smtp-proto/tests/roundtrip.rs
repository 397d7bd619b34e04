//! proptest round trips: for arbitrary valid commands, replies, EHLO replies and SASL lines,
//! `decode(encode(x)) == x`; and for arbitrary lines that decode, encoding the value gives a
//! line that decodes to the same value.

use std::{
    borrow::Cow,
    net::{Ipv4Addr, Ipv6Addr},
};

use proptest::{option, prelude::*};
use sansmail_smtp::{
    AddressLiteral, AuthInitial, Body, Capability, Command, Domain, DomainPart, EhloReply,
    EnhancedStatus, ForwardPath, HelloKind, LocalPart, MailParams, Mailbox, Mechanism, Notify,
    RcptParams, Reply, ReplyCode, Ret, ReversePath, Secret, UnknownParam, XText,
    codec::{self, SaslLine},
    types::{
        params::{DeliverBy, Hold, Orcpt},
        sasl::{base64_decode, base64_encode},
    },
};

// ---------------------------------------------------------------------------------------------
// Addresses.

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?",
        1 => "[a-z\u{e0}-\u{ff}\u{4e00}-\u{4e20}]{1,5}",
    ]
}

fn domain() -> impl Strategy<Value = Domain<'static>> {
    prop::collection::vec(label(), 1..4).prop_map(|labels| Domain::new(labels.join(".")).unwrap())
}

fn address_literal() -> impl Strategy<Value = AddressLiteral<'static>> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| AddressLiteral::Ipv4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| AddressLiteral::Ipv6(Ipv6Addr::from(a))),
        (
            "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?",
            "[!-Z^-~]{1,12}"
        )
            .prop_filter_map("IPv6 tag", |(tag, content)| AddressLiteral::general(
                tag, content
            )
            .ok()),
    ]
}

fn domain_part() -> impl Strategy<Value = DomainPart<'static>> {
    prop_oneof![
        3 => domain().prop_map(DomainPart::Domain),
        1 => address_literal().prop_map(DomainPart::Literal),
    ]
}

fn local_part() -> impl Strategy<Value = LocalPart<'static>> {
    prop_oneof![
        // Dot-string.
        prop::collection::vec(
            "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,6}|[\u{e0}-\u{ff}]{1,3}",
            1..4
        )
        .prop_map(|atoms| LocalPart::new(&atoms.join(".")).unwrap()),
        // Anything printable, quoted as needed.
        "[ -~\u{e9}\u{4e2d}]{0,12}".prop_map(|v| LocalPart::new(&v).unwrap()),
        // Quoted strings with superfluous quoted-pairs, kept as written.
        prop::collection::vec(prop_oneof!["[ !#-\\[\\]-~]", "\\\\[ -~]"], 0..8)
            .prop_map(|parts| LocalPart::from_wire(format!("\"{}\"", parts.concat())).unwrap()),
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (local_part(), domain_part()).prop_map(|(l, d)| Mailbox::new(l, d))
}

// ---------------------------------------------------------------------------------------------
// Parameters.

/// `esmtp-value`: printable ASCII except "=" and SP, and UTF-8.
fn esmtp_value() -> impl Strategy<Value = String> {
    "[!-<>-~\u{e9}\u{20ac}]{1,10}"
}

/// Encoded xtext of at most 90 characters. Empty is valid xtext, but not as the whole value
/// of ENVID or AUTH (an `esmtp-value` has at least one character).
fn xtext(min: usize) -> impl Strategy<Value = XText<'static>> {
    prop::collection::vec(prop_oneof!["[!-*,-<>-~]", "\\+[0-9A-F]{2}"], min..30)
        .prop_map(|parts| XText::from_encoded(parts.concat()).unwrap())
}

fn unknown_params() -> impl Strategy<Value = Vec<UnknownParam<'static>>> {
    prop::collection::vec(
        ("[xX](-?[A-Za-z0-9]){0,6}", option::of(esmtp_value()))
            .prop_map(|(k, v)| UnknownParam::new(k, v.map(Cow::Owned)).unwrap()),
        0..3,
    )
}

fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
    (
        option::of(any::<u64>()),
        option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        option::of(xtext(1)),
        option::of(xtext(1)),
        option::of(-9i8..=9),
        option::of(
            (-999_999_999i64..=999_999_999, any::<bool>(), any::<bool>()).prop_map(
                |(time, return_on_expiry, trace)| DeliverBy {
                    time,
                    return_on_expiry,
                    trace,
                },
            ),
        ),
        option::of(prop_oneof![
            any::<u64>().prop_map(Hold::For),
            esmtp_value().prop_map(|v| Hold::Until(Cow::Owned(v))),
        ]),
        any::<bool>(),
        unknown_params(),
    )
        .prop_map(
            |(
                size,
                body,
                smtputf8,
                ret,
                envid,
                auth,
                mt_priority,
                by,
                hold,
                requiretls,
                unknown,
            )| {
                MailParams {
                    size,
                    body,
                    smtputf8,
                    ret,
                    envid,
                    auth,
                    mt_priority,
                    by,
                    hold,
                    requiretls,
                    unknown,
                }
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    let notify = prop_oneof![
        Just(Notify::Never),
        (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter("at least one", |(s, f, d)| *s || *f || *d)
            .prop_map(|(success, failure, delay)| Notify::On {
                success,
                failure,
                delay
            }),
    ];
    let orcpt = ("[a-zA-Z0-9-]{1,8}", xtext(0)).prop_map(|(addr_type, addr)| Orcpt {
        addr_type: Cow::Owned(addr_type),
        addr,
    });
    (option::of(notify), option::of(orcpt), unknown_params()).prop_map(
        |(notify, orcpt, unknown)| RcptParams {
            notify,
            orcpt,
            unknown,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// A free-form argument: printable, not starting with SP (UTF-8 allowed).
fn free_arg() -> impl Strategy<Value = Cow<'static, str>> {
    "[!-~\u{e9}][ -~\u{e9}]{0,15}".prop_map(Cow::Owned)
}

fn command() -> impl Strategy<Value = Command<'static>> {
    let ehlo = (
        prop_oneof![Just(HelloKind::Ehlo), Just(HelloKind::Lhlo)],
        domain_part(),
    )
        .prop_map(|(kind, host)| Command::Hello { kind, host });
    let helo = domain().prop_map(|d| Command::Hello {
        kind: HelloKind::Helo,
        host: DomainPart::Domain(d),
    });
    let mail = (
        prop_oneof![1 => Just(ReversePath::Null), 4 => mailbox().prop_map(ReversePath::Mailbox)],
        mail_params(),
    )
        .prop_map(|(from, params)| Command::Mail { from, params });
    let rcpt = (
        prop_oneof![1 => Just(ForwardPath::Postmaster), 4 => mailbox().prop_map(ForwardPath::Mailbox)],
        rcpt_params(),
    )
        .prop_map(|(to, params)| Command::Rcpt { to, params });
    let auth = (
        "[A-Za-z0-9_-]{1,20}",
        option::of(prop_oneof![
            Just(AuthInitial::Empty),
            prop::collection::vec(any::<u8>(), 1..40)
                .prop_map(|b| AuthInitial::Base64(Secret::new(Cow::Owned(base64_encode(&b))))),
        ]),
    )
        .prop_map(|(m, initial)| Command::Auth {
            mechanism: Mechanism::new(m).unwrap(),
            initial,
        });
    let etrn = prop_oneof![
        domain().prop_map(|d| d.to_string()),
        domain().prop_map(|d| format!("@{d}")),
        "#[a-zA-Z0-9]{1,8}",
        "#\"[ a-z]{0,8}\"",
    ]
    .prop_map(|node| Command::Etrn {
        node: Cow::Owned(node),
    });
    prop_oneof![
        1 => ehlo,
        1 => helo,
        4 => mail,
        4 => rcpt,
        1 => Just(Command::Data),
        1 => (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        1 => Just(Command::Rset),
        1 => option::of(free_arg()).prop_map(|arg| Command::Noop { arg }),
        1 => Just(Command::Quit),
        1 => free_arg().prop_map(|arg| Command::Vrfy { arg }),
        1 => free_arg().prop_map(|arg| Command::Expn { arg }),
        1 => option::of(free_arg()).prop_map(|topic| Command::Help { topic }),
        1 => Just(Command::StartTls),
        1 => auth,
        1 => etrn,
    ]
}

// ---------------------------------------------------------------------------------------------
// Replies.

fn reply_code() -> impl Strategy<Value = ReplyCode> {
    (2u16..=5, 0u16..=5, 0u16..=9)
        .prop_map(|(a, b, c)| ReplyCode::new(a * 100 + b * 10 + c).unwrap())
}

fn enhanced_status() -> impl Strategy<Value = EnhancedStatus> {
    (
        prop_oneof![Just(2u8), Just(4), Just(5)],
        0u16..=999,
        0u16..=999,
    )
        .prop_map(|(c, s, d)| EnhancedStatus::new(c, s, d).unwrap())
}

fn reply_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\t -~\u{e9}\u{1f600}]{0,20}",
        // Lines that look like they carry a status code.
        ("[245]\\.[0-9]{1,3}\\.[0-9]{1,3}", "( [ -~]{0,8})?").prop_map(|(s, t)| s + &t),
    ]
}

fn reply() -> impl Strategy<Value = Reply<'static>> {
    (
        reply_code(),
        option::of(enhanced_status()),
        prop::collection::vec(reply_line(), 1..5),
    )
        .prop_map(|(code, status, lines)| {
            Reply::from_lines(code, status, lines.into_iter().map(Cow::Owned).collect()).unwrap()
        })
}

fn capability() -> impl Strategy<Value = Capability<'static>> {
    prop_oneof![
        option::of(any::<u64>()).prop_map(Capability::Size),
        Just(Capability::Pipelining),
        Just(Capability::EightBitMime),
        Just(Capability::SmtpUtf8),
        Just(Capability::Chunking),
        Just(Capability::BinaryMime),
        Just(Capability::Dsn),
        Just(Capability::StartTls),
        prop::collection::vec("[A-Z0-9_-]{1,20}", 0..4).prop_map(|m| Capability::Auth(
            m.into_iter().map(|m| Mechanism::new(m).unwrap()).collect()
        )),
        Just(Capability::EnhancedStatusCodes),
        Just(Capability::RequireTls),
        option::of(any::<u64>()).prop_map(Capability::DeliverBy),
        (any::<u64>(), "[0-9TZ:.-]{1,20}").prop_map(|(max_interval, d)| {
            Capability::FutureRelease {
                max_interval,
                max_datetime: Cow::Owned(d),
            }
        }),
        option::of("[A-Z]{1,10}").prop_map(|p| Capability::MtPriority(p.map(Cow::Owned))),
        Just(Capability::Etrn),
        Just(Capability::Help),
        ("X[A-Z0-9-]{0,8}", prop::collection::vec("[!-~]{1,6}", 0..3)).prop_map(|(k, p)| {
            Capability::Other {
                keyword: Cow::Owned(k),
                params: p.into_iter().map(Cow::Owned).collect(),
            }
        }),
    ]
}

fn ehlo_reply() -> impl Strategy<Value = EhloReply<'static>> {
    let name = prop_oneof![
        9 => domain(),
        1 => "[245]\\.[0-9]{1,3}\\.[0-9]{1,3}".prop_map(|d| Domain::new(d).unwrap()),
    ];
    (
        name,
        option::of("[ -~]{0,20}"),
        prop::collection::vec(capability(), 0..8),
    )
        .prop_map(|(d, greeting, capabilities)| EhloReply {
            domain: Cow::Owned(d.to_string()),
            greeting: greeting.map(Cow::Owned),
            capabilities,
        })
}

/// `[245] "." 1*3DIGIT "." 1*3DIGIT`
fn looks_like_status(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    matches!(parts.as_slice(), [c, s, d]
        if matches!(*c, "2" | "4" | "5")
            && [s, d].iter().all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())))
}

// ---------------------------------------------------------------------------------------------
// Arbitrary lines built from SMTP-ish tokens, most of them invalid.

fn token_line() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just("MAIL FROM:"),
        Just("RCPT TO:"),
        Just("EHLO "),
        Just("HELO "),
        Just("LHLO "),
        Just("VRFY "),
        Just("EXPN "),
        Just("NOOP"),
        Just("HELP"),
        Just("ETRN "),
        Just("AUTH "),
        Just("BDAT "),
        Just("DATA"),
        Just("QUIT"),
        Just("RSET"),
        Just("STARTTLS"),
        Just("<"),
        Just(">"),
        Just("<>"),
        Just("<Postmaster>"),
        Just("@"),
        Just("."),
        Just(","),
        Just(":"),
        Just(";"),
        Just("a"),
        Just("b.example"),
        Just(" "),
        Just("="),
        Just("\""),
        Just("\\"),
        Just("["),
        Just("]"),
        Just("IPv6:"),
        Just("::1"),
        Just("192.0.2.1"),
        Just("+"),
        Just("2B"),
        Just("0"),
        Just("9"),
        Just("-"),
        Just("#"),
        Just("SIZE="),
        Just("BODY="),
        Just("8BITMIME"),
        Just("NOTIFY="),
        Just("NEVER"),
        Just("SUCCESS"),
        Just("ORCPT=rfc822;"),
        Just("ENVID="),
        Just("RET=HDRS"),
        Just("SMTPUTF8"),
        Just("BY=5;R"),
        Just("HOLDFOR=1"),
        Just("MT-PRIORITY="),
        Just("X-Y"),
        Just("PLAIN"),
        Just("LAST"),
        Just("\u{e9}"),
        Just("\t"),
        Just("AUTH="),
        Just("dGVzdA=="),
    ];
    prop::collection::vec(token, 1..14).prop_map(|t| {
        let mut line = t.concat().into_bytes();
        line.extend_from_slice(b"\r\n");
        line
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn command_round_trips(cmd in command()) {
        let mut out = Vec::new();
        codec::encode_command(&cmd, &mut out).unwrap();
        prop_assert!(out.ends_with(b"\r\n"));
        prop_assert_eq!(memchr::memchr(b'\n', &out), Some(out.len() - 1), "one line");
        let (rest, back) = codec::decode_command(&out)
            .map_err(|e| TestCaseError::fail(format!("{e:?} for {:?}", String::from_utf8_lossy(&out))))?;
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&back, &cmd);
        prop_assert_eq!(back.into_owned(), cmd);
    }

    #[test]
    fn reply_round_trips(reply in reply()) {
        let mut out = Vec::new();
        codec::encode_reply(&reply, &mut out);
        let (rest, back) = codec::decode_reply(&out)
            .map_err(|e| TestCaseError::fail(format!("{e:?} for {:?}", String::from_utf8_lossy(&out))))?;
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&back, &reply);
        // And the same bytes again.
        let mut again = Vec::new();
        codec::encode_reply(&back, &mut again);
        prop_assert_eq!(again, out);
    }

    #[test]
    fn ehlo_reply_round_trips(ehlo in ehlo_reply()) {
        // Only a server name that reads as an enhanced status code is refused.
        let Ok(reply) = ehlo.to_reply() else {
            prop_assert!(looks_like_status(&ehlo.domain), "{:?}", ehlo);
            return Ok(());
        };
        let mut out = Vec::new();
        codec::encode_reply(&reply, &mut out);
        let (rest, back) = codec::decode_reply(&out).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(EhloReply::from_reply(&back).unwrap(), ehlo);
    }

    #[test]
    fn sasl_response_round_trips(data in option::of(prop::collection::vec(any::<u8>(), 0..64))) {
        let mut out = Vec::new();
        codec::encode_sasl_response(data.as_deref(), &mut out);
        let (rest, line) = codec::decode_sasl_line(&out, 12 * 1024).unwrap();
        prop_assert!(rest.is_empty());
        match (line, data) {
            (SaslLine::Cancel, None) => {}
            (SaslLine::Response(b), Some(d)) => prop_assert_eq!(base64_decode(b.expose()), Some(d)),
            (line, data) => prop_assert!(false, "{:?} for {:?}", line, data),
        }
    }

    /// Whatever line decodes re-encodes (tabs aside, which the encoder refuses in free-form
    /// arguments) to a line that decodes to the same value.
    #[test]
    fn decoded_lines_reencode(line in token_line()) {
        if let Ok((_, cmd)) = codec::decode_command(&line) {
            let mut out = Vec::new();
            match codec::encode_command(&cmd, &mut out) {
                Ok(()) => {
                    let back = codec::decode_command(&out)
                        .map_err(|e| TestCaseError::fail(format!(
                            "{:?} -> {:?}: {e:?}", String::from_utf8_lossy(&line), String::from_utf8_lossy(&out))))?;
                    prop_assert_eq!(back, (&b""[..], cmd));
                }
                Err(_) => prop_assert!(line.contains(&b'\t'), "{:?} decodes but does not encode", String::from_utf8_lossy(&line)),
            }
        }
    }
}
