//! Known answers: FETCH items, ENVELOPE and BODY/BODYSTRUCTURE.

use sansmail_imap::{
    codec::frame::LiteralMode,
    types::{
        body::{
            Body, BodyExtension, BodyFields, Disposition, ExtDisposition, ExtLanguage, ExtLocation,
            Language, MultiPart, MultiPartExt, SinglePart, SinglePartExt, SinglePartKind,
        },
        core::{IString, Literal},
        datetime::{Date, DateTime},
        envelope::{Address, Envelope},
        fetch::{FetchItem, OtherItem},
        flag::Flag,
        objectid::ObjectId,
        response::{Data, Response},
        section::{Section, SectionText},
    },
};

use super::common::*;

fn fetch(seq: u32, items: Vec<FetchItem<'static>>) -> Response<'static> {
    data(Data::Fetch { seq, items })
}

fn one(wire: &[u8]) -> FetchItem<'_> {
    match parse(wire) {
        Response::Data(Data::Fetch { mut items, .. }) if items.len() == 1 => items.remove(0),
        other => panic!("{other:?}"),
    }
}

fn dt(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, zone: i16) -> DateTime {
    DateTime::new(Date::new(y, mo, d).unwrap(), h, mi, s, zone).unwrap()
}

fn fields(
    params: Vec<(&'static str, &'static str)>,
    enc: &'static str,
    octets: u32,
) -> BodyFields<'static> {
    BodyFields {
        params: if params.is_empty() {
            None
        } else {
            Some(params.into_iter().map(|(k, v)| (q(k), nq(v))).collect())
        },
        id: None,
        description: None,
        encoding: nq(enc),
        octets,
    }
}

fn text_part(
    sub: &'static str,
    f: BodyFields<'static>,
    lines: u64,
    ext: Option<SinglePartExt<'static>>,
) -> Body<'static> {
    Body::Single(SinglePart {
        media_type: q("TEXT"),
        subtype: q(sub),
        fields: f,
        specific: SinglePartKind::Text { lines },
        ext,
    })
}

fn nil_ext4() -> SinglePartExt<'static> {
    SinglePartExt {
        md5: None,
        more: Some(ExtDisposition {
            disposition: None,
            more: Some(ExtLanguage {
                language: Language::Single(None),
                more: Some(ExtLocation {
                    location: None,
                    extensions: vec![],
                }),
            }),
        }),
    }
}

#[test]
fn simple_items() {
    let cases: Vec<(&[u8], Response<'static>)> = vec![
        (
            b"* 12 FETCH (FLAGS (\\Seen) UID 4827313)\r\n",
            fetch(
                12,
                vec![
                    FetchItem::Flags(vec![Flag::Seen]),
                    FetchItem::Uid(4_827_313),
                ],
            ),
        ),
        (
            b"* 1 FETCH (FLAGS ())\r\n",
            fetch(1, vec![FetchItem::Flags(vec![])]),
        ),
        (
            b"* 1 FETCH (FLAGS (\\Recent \\Answered $Label1))\r\n",
            fetch(
                1,
                vec![FetchItem::Flags(vec![
                    Flag::Recent,
                    Flag::Answered,
                    Flag::Keyword(atom("$Label1")),
                ])],
            ),
        ),
        (
            b"* 2 FETCH (INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n",
            fetch(
                2,
                vec![FetchItem::InternalDate(dt(1996, 7, 17, 2, 44, 25, -420))],
            ),
        ),
        (
            b"* 2 FETCH (RFC822.SIZE 44827)\r\n",
            fetch(2, vec![FetchItem::Rfc822Size(44827)]),
        ),
        (
            b"* 2 FETCH (RFC822.SIZE 6000000000)\r\n",
            fetch(2, vec![FetchItem::Rfc822Size(6_000_000_000)]),
        ),
        (
            b"* 3 FETCH (MODSEQ (624140003))\r\n",
            fetch(3, vec![FetchItem::ModSeq(624_140_003)]),
        ),
        (
            b"* 4 FETCH (UID 4 MODSEQ (12121231000) FLAGS (\\Seen))\r\n",
            fetch(
                4,
                vec![
                    FetchItem::Uid(4),
                    FetchItem::ModSeq(12_121_231_000),
                    FetchItem::Flags(vec![Flag::Seen]),
                ],
            ),
        ),
        (
            b"* 5 FETCH (EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))\r\n",
            fetch(
                5,
                vec![
                    FetchItem::EmailId(ObjectId::new("M6d99ac3275bb4e").unwrap()),
                    FetchItem::ThreadId(Some(ObjectId::new("T64b478a75b7ea9").unwrap())),
                ],
            ),
        ),
        (
            b"* 5 FETCH (THREADID NIL)\r\n",
            fetch(5, vec![FetchItem::ThreadId(None)]),
        ),
        (
            b"* 6 FETCH (SAVEDATE \"01-Feb-2024 10:00:00 +0100\")\r\n",
            fetch(
                6,
                vec![FetchItem::SaveDate(Some(dt(2024, 2, 1, 10, 0, 0, 60)))],
            ),
        ),
        (
            b"* 6 FETCH (SAVEDATE NIL)\r\n",
            fetch(6, vec![FetchItem::SaveDate(None)]),
        ),
        (
            b"* 7 FETCH (RFC822 {5}\r\nHello)\r\n",
            fetch(7, vec![FetchItem::Rfc822(Some(lit(b"Hello")))]),
        ),
        (
            b"* 7 FETCH (RFC822.HEADER \"Subject: x\" RFC822.TEXT NIL)\r\n",
            fetch(
                7,
                vec![
                    FetchItem::Rfc822Header(nq("Subject: x")),
                    FetchItem::Rfc822Text(None),
                ],
            ),
        ),
        (
            b"* 8 FETCH (PREVIEW \"Hello there\")\r\n",
            fetch(8, vec![FetchItem::Preview(nq("Hello there"))]),
        ),
        (
            b"* 8 FETCH (PREVIEW NIL)\r\n",
            fetch(8, vec![FetchItem::Preview(None)]),
        ),
    ];
    for (wire, expected) in cases {
        check(wire, &expected, true);
    }
    // Item names are case-insensitive.
    check(
        b"* 1 fetch (uid 5 flags (\\seen))\r\n",
        &fetch(
            1,
            vec![FetchItem::Uid(5), FetchItem::Flags(vec![Flag::Seen])],
        ),
        false,
    );
}

#[test]
fn body_sections() {
    let sec = |part: &[u32], text: Option<SectionText<'static>>| Section {
        part: part.to_vec(),
        text,
    };
    let cases: Vec<(&[u8], FetchItem<'static>)> = vec![
        (
            b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n",
            FetchItem::BodySection {
                section: sec(&[], None),
                origin: None,
                data: Some(lit(b"abc")),
            },
        ),
        (
            b"* 1 FETCH (BODY[TEXT] \"x\")\r\n",
            FetchItem::BodySection {
                section: sec(&[], Some(SectionText::Text)),
                origin: None,
                data: nq("x"),
            },
        ),
        (
            b"* 1 FETCH (BODY[HEADER] NIL)\r\n",
            FetchItem::BodySection {
                section: sec(&[], Some(SectionText::Header)),
                origin: None,
                data: None,
            },
        ),
        (
            b"* 1 FETCH (BODY[1.2.MIME] \"\")\r\n",
            FetchItem::BodySection {
                section: sec(&[1, 2], Some(SectionText::Mime)),
                origin: None,
                data: nq(""),
            },
        ),
        (
            b"* 1 FETCH (BODY[4.2.2.1] \"x\")\r\n",
            FetchItem::BodySection {
                section: sec(&[4, 2, 2, 1], None),
                origin: None,
                data: nq("x"),
            },
        ),
        (
            b"* 1 FETCH (BODY[]<0> {2}\r\nab)\r\n",
            FetchItem::BodySection {
                section: sec(&[], None),
                origin: Some(0),
                data: Some(lit(b"ab")),
            },
        ),
        (
            b"* 1 FETCH (BODY[TEXT]<1024> \"x\")\r\n",
            FetchItem::BodySection {
                section: sec(&[], Some(SectionText::Text)),
                origin: Some(1024),
                data: nq("x"),
            },
        ),
        (
            b"* 1 FETCH (BODY[HEADER.FIELDS (DATE FROM)] {2}\r\n\r\n)\r\n",
            FetchItem::BodySection {
                section: sec(
                    &[],
                    Some(SectionText::HeaderFields {
                        not: false,
                        fields: vec![aa("DATE"), aa("FROM")],
                    }),
                ),
                origin: None,
                data: Some(lit(b"\r\n")),
            },
        ),
        (
            b"* 1 FETCH (BODY[2.HEADER.FIELDS.NOT (\"X-Spam\")] \"a\")\r\n",
            FetchItem::BodySection {
                section: sec(
                    &[2],
                    Some(SectionText::HeaderFields {
                        not: true,
                        fields: vec![aq("X-Spam")],
                    }),
                ),
                origin: None,
                data: nq("a"),
            },
        ),
        (
            b"* 1 FETCH (BINARY[] {3}\r\nabc)\r\n",
            FetchItem::Binary {
                part: vec![],
                origin: None,
                data: Some(lit(b"abc")),
            },
        ),
        (
            b"* 1 FETCH (BINARY[1.2]<100> NIL)\r\n",
            FetchItem::Binary {
                part: vec![1, 2],
                origin: Some(100),
                data: None,
            },
        ),
        (
            b"* 1 FETCH (BINARY.SIZE[3] 2345)\r\n",
            FetchItem::BinarySize {
                part: vec![3],
                size: 2345,
            },
        ),
        (
            b"* 1 FETCH (BINARY.SIZE[] 9)\r\n",
            FetchItem::BinarySize {
                part: vec![],
                size: 9,
            },
        ),
    ];
    for (wire, expected) in cases {
        check(wire, &fetch(1, vec![expected]), true);
    }
    // BINARY may carry literal8 with NUL; BODY[] may not.
    let item = one(b"* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n");
    assert_eq!(
        item,
        FetchItem::Binary {
            part: vec![1],
            origin: None,
            data: Some(IString::Literal(Literal::binary(
                &b"a\0b"[..],
                LiteralMode::Sync
            )))
        }
    );
    assert_eq!(
        encode(&fetch(1, vec![item])),
        b"* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n"
    );
    assert!(
        sansmail_imap::codec::parse_response(
            b"* 1 FETCH (BODY[] ~{3}\r\nabc)\r\n",
            &sansmail_imap::codec::ResponseOptions::default()
        )
        .is_err()
    );
}

#[test]
fn envelope() {
    let addr = |name: Option<&'static str>, mailbox: &'static str, host: &'static str| Address {
        name: name.map(q),
        adl: None,
        mailbox: nq(mailbox),
        host: nq(host),
    };
    let wire = b"* 12 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\"))\r\n";
    let gray = addr(Some("Terry Gray"), "gray", "cac.washington.edu");
    let env = Envelope {
        date: nq("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
        subject: nq("IMAP4rev2 WG mtg summary and minutes"),
        from: vec![gray.clone()],
        sender: vec![gray.clone()],
        reply_to: vec![gray],
        to: vec![addr(None, "imap", "cac.washington.edu")],
        cc: vec![
            addr(None, "minutes", "CNRI.Reston.VA.US"),
            addr(Some("John Klensin"), "KLENSIN", "MIT.EDU"),
        ],
        bcc: vec![],
        in_reply_to: None,
        message_id: nq("<B27397-0100000@cac.washington.edu>"),
    };
    check(
        wire,
        &fetch(12, vec![FetchItem::Envelope(Box::new(env))]),
        true,
    );
    // Group syntax: a start (NIL host) and an end (NIL mailbox and host).
    let wire = b"* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL))\r\n";
    let FetchItem::Envelope(e) = one(wire) else {
        panic!()
    };
    assert!(e.to[0].is_group_start() && e.to[1].is_group_end());
    check(
        wire,
        &fetch(1, vec![FetchItem::Envelope(e.into_owned().into())]),
        true,
    );
}

#[test]
fn dovecot_body_without_content_type() {
    let wire = b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 2 NIL NIL NIL NIL))\r\n";
    let body = Body::Single(SinglePart {
        media_type: q("text"),
        subtype: q("plain"),
        fields: BodyFields {
            params: Some(vec![(q("charset"), nq("us-ascii"))]),
            id: None,
            description: None,
            encoding: nq("7bit"),
            octets: 21,
        },
        specific: SinglePartKind::Text { lines: 2 },
        ext: Some(nil_ext4()),
    });
    check(
        wire,
        &fetch(1, vec![FetchItem::BodyStructure(Box::new(body.clone()))]),
        true,
    );
    assert_eq!(body.media_type(), "text");
    assert_eq!(body.disposition(), None);
    assert_eq!(body.language(), Some(&Language::Single(None)));
}

#[test]
fn rfc_body_examples() {
    // RFC 9051 §7.5.2: BODY (no extension data) of a one-part text message.
    let wire = b"* 12 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
    let body = text_part(
        "PLAIN",
        fields(vec![("CHARSET", "US-ASCII")], "7BIT", 3028),
        92,
        None,
    );
    check(
        wire,
        &fetch(12, vec![FetchItem::Body(Box::new(body))]),
        true,
    );

    // RFC 3501 §7.4.2 multipart/mixed with two text parts.
    let wire = b"* 3 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))\r\n";
    let mut second = fields(
        vec![("CHARSET", "US-ASCII"), ("NAME", "cc.diff")],
        "BASE64",
        4554,
    );
    second.id = nq("<960723163407.20117h@cac.washington.edu>");
    second.description = nq("Compiler diff");
    let body = Body::Multi(MultiPart {
        parts: vec![
            text_part(
                "PLAIN",
                fields(vec![("CHARSET", "US-ASCII")], "7BIT", 1152),
                23,
                None,
            ),
            text_part("PLAIN", second, 73, None),
        ],
        subtype: q("MIXED"),
        ext: None,
    });
    check(wire, &fetch(3, vec![FetchItem::Body(Box::new(body))]), true);
}

#[test]
fn multipart_with_extension_data() {
    let wire = b"* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 120 4 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" NIL (\"en\" \"de\") \"http://example.com/a\" 7 (\"x\" 8 (NIL)))(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 5000 NIL (\"attachment\" (\"filename\" \"a.pdf\")) \"en\") \"mixed\" (\"boundary\" \"xyz\") (\"inline\" NIL) NIL NIL))\r\n";
    let FetchItem::BodyStructure(b) = one(wire) else {
        panic!()
    };
    let Body::Multi(m) = &*b else { panic!() };
    assert_eq!(m.parts.len(), 2);
    let Body::Single(first) = &m.parts[0] else {
        panic!()
    };
    let ext = first.ext.as_ref().unwrap();
    assert_eq!(ext.md5, nq("Q2hlY2sgSW50ZWdyaXR5IQ=="));
    let lang = ext.more.as_ref().unwrap().more.as_ref().unwrap();
    assert_eq!(lang.language, Language::List(vec![q("en"), q("de")]));
    let loc = lang.more.as_ref().unwrap();
    assert_eq!(loc.location, nq("http://example.com/a"));
    assert_eq!(
        loc.extensions,
        vec![
            BodyExtension::Number(7),
            BodyExtension::List(vec![
                BodyExtension::String(nq("x")),
                BodyExtension::Number(8),
                BodyExtension::List(vec![BodyExtension::String(None)])
            ]),
        ]
    );
    let second = &m.parts[1];
    assert_eq!(
        second.disposition(),
        Some(&Disposition {
            kind: q("attachment"),
            params: Some(vec![(q("filename"), nq("a.pdf"))])
        })
    );
    assert!(matches!(
        second,
        Body::Single(SinglePart {
            specific: SinglePartKind::Basic,
            ..
        })
    ));
    assert_eq!(second.language(), Some(&Language::Single(nq("en"))));
    assert_eq!(second.location(), None);
    assert_eq!(
        m.ext,
        Some(MultiPartExt {
            params: Some(vec![(q("boundary"), nq("xyz"))]),
            more: Some(ExtDisposition {
                disposition: Some(Disposition {
                    kind: q("inline"),
                    params: None
                }),
                more: Some(ExtLanguage {
                    language: Language::Single(None),
                    more: Some(ExtLocation {
                        location: None,
                        extensions: vec![]
                    })
                }),
            }),
        })
    );
    check(
        wire,
        &fetch(1, vec![FetchItem::BodyStructure(b.into_owned().into())]),
        false,
    );
    // Each optional field may stop the extension data.
    for tail in [
        &b""[..],
        b" NIL",
        b" NIL NIL",
        b" NIL NIL NIL",
        b" NIL NIL NIL NIL",
        b" NIL NIL NIL NIL 1 2",
    ] {
        let wire = [&b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) \"MIXED\""[..], tail, b"))\r\n"].concat();
        let r = parse(&wire);
        assert_eq!(encode(&r), wire);
    }
}

#[test]
fn message_rfc822_part() {
    let wire = b"* 9 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL)(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 500 (NIL \"Fwd\" ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"HTML\" NIL NIL NIL \"8BIT\" 300 10 NIL NIL NIL NIL) 20 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL))\r\n";
    let FetchItem::BodyStructure(b) = one(wire) else {
        panic!()
    };
    let Body::Multi(m) = &*b else { panic!() };
    let Body::Single(SinglePart {
        specific:
            SinglePartKind::Message {
                envelope,
                body,
                lines,
            },
        ..
    }) = &m.parts[1]
    else {
        panic!()
    };
    assert_eq!((envelope.subject.clone(), *lines), (nq("Fwd"), 20));
    assert!(matches!(
        &**body,
        Body::Single(SinglePart {
            specific: SinglePartKind::Text { lines: 10 },
            ..
        })
    ));
    check(
        wire,
        &fetch(9, vec![FetchItem::BodyStructure(b.into_owned().into())]),
        true,
    );
    // message/global (RFC 6532) is a message part too; other message subtypes are basic.
    let wire = b"* 1 FETCH (BODY (\"message\" \"global\" NIL NIL NIL \"8bit\" 5 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"8bit\" 5 1) 1))\r\n";
    assert!(
        matches!(one(wire), FetchItem::Body(b) if matches!(&*b, Body::Single(SinglePart { specific: SinglePartKind::Message { .. }, .. })))
    );
    let wire = b"* 1 FETCH (BODY (\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"7BIT\" 5))\r\n";
    assert!(
        matches!(one(wire), FetchItem::Body(b) if matches!(&*b, Body::Single(SinglePart { specific: SinglePartKind::Basic, .. })))
    );
}

/// `media-basic` may be any string, "TEXT" and "MESSAGE" "RFC822" included: without lines
/// (or without an envelope) such a part is `body-type-basic`, possibly with extension data
/// (imap-codec sends one this way; found by `imap_differential`).
#[test]
fn text_and_message_types_without_lines_are_basic() {
    fn basic(wire: &[u8]) -> (bool, Option<u64>, bool) {
        match one(wire) {
            FetchItem::Body(b) | FetchItem::BodyStructure(b) => match &*b {
                Body::Single(s) => match s.specific {
                    SinglePartKind::Basic => (true, None, s.ext.is_some()),
                    SinglePartKind::Text { lines } => (false, Some(lines), s.ext.is_some()),
                    SinglePartKind::Message { .. } => (false, None, s.ext.is_some()),
                },
                other @ Body::Multi(_) => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    let wire = b"* 1 FETCH (BODY (\"TEXT\" \"\" (\"\" {3}\r\n{1}) NIL NIL \"\" 35))\r\n";
    assert_eq!(basic(wire), (true, None, false));
    let wire = b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7BIT\" 35 NIL))\r\n";
    assert_eq!(basic(wire), (true, None, true));
    let wire = b"* 1 FETCH (BODY (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 35 \"md5\"))\r\n";
    assert_eq!(basic(wire), (true, None, true));
    // With lines (or an envelope) they are what they say.
    let wire = b"* 1 FETCH (BODY (\"TEXT\" \"plain\" NIL NIL NIL \"7BIT\" 35 2 NIL))\r\n";
    assert_eq!(basic(wire), (false, Some(2), true));
    // A number where the lines go is lines; anything else after the fields must be an nstring.
    let wire = b"* 1 FETCH (BODY (\"TEXT\" \"plain\" NIL NIL NIL \"7BIT\" 35 (1)))\r\n";
    let opts = sansmail_imap::codec::ResponseOptions::default();
    assert!(sansmail_imap::codec::decode_response(wire, &opts).is_err());
}

#[test]
fn gmail_style_full_fetch() {
    let wire = b"* 1 FETCH (UID 1000 RFC822.SIZE 23444 FLAGS (\\Seen $Forwarded) INTERNALDATE \"17-Jul-2025 02:44:25 -0700\" MODSEQ (58384) BODY[HEADER.FIELDS (FROM)] {22}\r\nFrom: erin@example.com)\r\n";
    let r = parse(wire);
    let Response::Data(Data::Fetch { seq: 1, items }) = &r else {
        panic!()
    };
    assert_eq!(items.len(), 6);
    assert_eq!(
        items.iter().map(FetchItem::name).collect::<Vec<_>>(),
        [
            "UID",
            "RFC822.SIZE",
            "FLAGS",
            "INTERNALDATE",
            "MODSEQ",
            "BODY"
        ]
    );
    assert_eq!(encode(&r), wire);
}

#[test]
fn space_padded_day_is_read_and_written_with_two_digits() {
    // `date-day-fixed = (SP DIGIT) / 2DIGIT`: both are read; the encoder writes 2DIGIT.
    let r = parse(b"* 1 FETCH (INTERNALDATE \" 7-Jul-2025 02:44:25 +0000\")\r\n");
    assert_eq!(
        r,
        fetch(
            1,
            vec![FetchItem::InternalDate(dt(2025, 7, 7, 2, 44, 25, 0))]
        )
    );
    assert_eq!(
        encode(&r),
        b"* 1 FETCH (INTERNALDATE \"07-Jul-2025 02:44:25 +0000\")\r\n"
    );
}

/// Items of extensions this crate does not know (Gmail's X-GM-EXT-1, asked for with
/// `FetchAttr::Other`) are kept as they came instead of failing the whole response; a
/// known item with a wrong value still fails it.
#[test]
fn unknown_extension_items_are_kept() {
    let wire = b"* 1 FETCH (X-GM-THRID 1266894439832287888 X-GM-LABELS (\\Inbox \\Sent Important \"Muy Importante\" {3}\r\na b) UID 5)\r\n";
    let other = |name: &'static str, value: &'static [u8]| {
        FetchItem::Other(OtherItem::new(name, value).unwrap())
    };
    check(
        wire,
        &fetch(
            1,
            vec![
                other("X-GM-THRID", b"1266894439832287888"),
                other(
                    "X-GM-LABELS",
                    b"(\\Inbox \\Sent Important \"Muy Importante\" {3}\r\na b)",
                ),
                FetchItem::Uid(5),
            ],
        ),
        true,
    );
    // Built by an application, an item holds one value and nothing that would end the
    // response early.
    assert!(OtherItem::new("X-FOO", &b"1)\r\n* BYE now"[..]).is_err());
    assert!(OtherItem::new("X-FOO", &b"1 2"[..]).is_err());
    assert!(OtherItem::new("X FOO", &b"1"[..]).is_err());
    assert!(OtherItem::new("X-FOO", &b"(a {1}\r\nb)"[..]).is_ok());
    assert!(
        sansmail_imap::codec::parse_response(
            b"* 1 FETCH (UID x)\r\n",
            &sansmail_imap::codec::ResponseOptions::default()
        )
        .is_err()
    );
}
