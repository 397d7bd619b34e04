//! Known answers: untagged data other than FETCH.

use std::borrow::Cow;

use sansmail_imap::{
    codec::ResponseOptions,
    types::{
        capability::Capability,
        core::{AString, Atom},
        flag::{Flag, MailboxAttr},
        mailbox::Mailbox,
        objectid::ObjectId,
        response::{Data, Response},
        response_data::{
            ContextUpdate, ESearch, ESearchItem, ListData, ListExtItem, MetadataEntries,
            NamespaceDescr, Namespaces, QuotaResource, ResourceName, SearchResult, StatusItem,
            TaggedExtComp, TaggedExtVal, Thread,
        },
        search::PartialRange,
        status::StatusAttr,
    },
};

use super::common::*;

fn list(
    attrs: Vec<MailboxAttr<'static>>,
    delim: Option<char>,
    mailbox: Mailbox<'static>,
) -> ListData<'static> {
    ListData {
        attributes: attrs,
        delimiter: delim,
        mailbox,
        extended: None,
    }
}

#[test]
fn capability_and_enabled() {
    check(
        b"* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI XPIG-LATIN\r\n",
        &data(Data::Capability(vec![
            Capability::Imap4Rev2,
            Capability::StartTls,
            Capability::Auth(atom("GSSAPI")),
            Capability::Other(atom("XPIG-LATIN")),
        ])),
        true,
    );
    check(
        b"* ENABLED CONDSTORE QRESYNC\r\n",
        &data(Data::Enabled(vec![
            Capability::CondStore,
            Capability::QResync,
        ])),
        true,
    );
    // `AUTH=` alone is an atom, not an AUTH capability without a mechanism (found by
    // imap_differential: imap-codec sends it).
    check(
        b"* CAPABILITY AUTH= THREAD= AUTH=X\r\n",
        &data(Data::Capability(vec![
            Capability::Other(atom("AUTH=")),
            Capability::Other(atom("THREAD=")),
            Capability::Auth(atom("X")),
        ])),
        true,
    );
    check(b"* ENABLED\r\n", &data(Data::Enabled(vec![])), true);
    check(b"* CAPABILITY\r\n", &data(Data::Capability(vec![])), true);
}

#[test]
fn list_and_lsub() {
    use MailboxAttr as A;
    let cases: Vec<(&[u8], Data<'static>, bool)> = vec![
        (
            b"* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n",
            Data::List(list(vec![A::NoSelect], Some('/'), mbox("~/Mail/foo"))),
            true,
        ),
        (
            b"* LIST () \".\" INBOX\r\n",
            Data::List(list(vec![], Some('.'), mbox("INBOX"))),
            true,
        ),
        (
            b"* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n",
            Data::List(list(
                vec![A::HasNoChildren, A::Sent],
                Some('/'),
                mbox("Sent"),
            )),
            true,
        ),
        (
            b"* LIST (\\Noinferiors) NIL \"\"\r\n",
            Data::List(list(vec![A::NoInferiors], None, mbox_q(""))),
            true,
        ),
        (
            b"* LIST () \"\\\\\" \"a\\\\b\"\r\n",
            Data::List(list(vec![], Some('\\'), mbox_q("a\\b"))),
            true,
        ),
        (
            b"* LIST (\\Marked \\X-Custom) \"/\" {5}\r\nA/B C\r\n",
            Data::List(list(
                vec![A::Marked, A::Extension(atom("X-Custom"))],
                Some('/'),
                Mailbox::from_wire(AString::String(lit(b"A/B C")), false).unwrap(),
            )),
            // A server sends the name quoted, not as the literal it was read as.
            false,
        ),
        (
            b"* LSUB () \".\" #news.comp.mail.misc\r\n",
            Data::Lsub(list(vec![], Some('.'), mbox("#news.comp.mail.misc"))),
            true,
        ),
        (
            b"* LIST (\\Subscribed) \"/\" \"Fruit/Peach\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
            Data::List(ListData {
                attributes: vec![A::Subscribed],
                delimiter: Some('/'),
                mailbox: mbox_q("Fruit/Peach"),
                extended: Some(vec![ListExtItem::ChildInfo(vec![aq("SUBSCRIBED")])]),
            }),
            true,
        ),
        (
            b"* LIST () \"/\" Foo (childinfo (\"SUBSCRIBED\" \"REMOTE\"))\r\n",
            Data::List(ListData {
                attributes: vec![],
                delimiter: Some('/'),
                mailbox: mbox("Foo"),
                extended: Some(vec![ListExtItem::ChildInfo(vec![
                    aq("SUBSCRIBED"),
                    aq("REMOTE"),
                ])]),
            }),
            false,
        ),
        (
            b"* LIST () \"/\" \"NewMailbox\" (\"OLDNAME\" (\"OldMailbox\"))\r\n",
            Data::List(ListData {
                attributes: vec![],
                delimiter: Some('/'),
                mailbox: mbox_q("NewMailbox"),
                extended: Some(vec![ListExtItem::OldName(mbox_q("OldMailbox"))]),
            }),
            true,
        ),
        (
            b"* LIST () \"/\" X (X-A 5 X-B 1:3,7 X-C (a (b c)) X-D ())\r\n",
            Data::List(ListData {
                attributes: vec![],
                delimiter: Some('/'),
                mailbox: mbox("X"),
                extended: Some(vec![
                    ListExtItem::Other {
                        tag: aa("X-A"),
                        value: TaggedExtVal::Number(5),
                    },
                    ListExtItem::Other {
                        tag: aa("X-B"),
                        value: TaggedExtVal::Set(set("1:3,7")),
                    },
                    ListExtItem::Other {
                        tag: aa("X-C"),
                        value: TaggedExtVal::Comp(vec![
                            TaggedExtComp::AString(aa("a")),
                            TaggedExtComp::List(vec![
                                TaggedExtComp::AString(aa("b")),
                                TaggedExtComp::AString(aa("c")),
                            ]),
                        ]),
                    },
                    ListExtItem::Other {
                        tag: aa("X-D"),
                        value: TaggedExtVal::Comp(vec![]),
                    },
                ]),
            }),
            true,
        ),
        (
            b"* LIST () \"/\" X ()\r\n",
            Data::List(ListData {
                attributes: vec![],
                delimiter: Some('/'),
                mailbox: mbox("X"),
                extended: Some(vec![]),
            }),
            true,
        ),
    ];
    for (wire, expected, identical) in cases {
        check(wire, &data(expected), identical);
    }
}

/// A mailbox named `NIL` (any case) is a valid astring, but many parsers read a bare one as
/// nil: it goes out quoted, as Dovecot sends it. Both forms are read.
#[test]
fn mailbox_named_nil_is_quoted() {
    for name in ["NIL", "nil", "Nil"] {
        let list = data(Data::List(ListData {
            attributes: vec![MailboxAttr::HasNoChildren],
            delimiter: Some('.'),
            mailbox: Mailbox::new(name).unwrap(),
            extended: None,
        }));
        let wire = format!("* LIST (\\HasNoChildren) \".\" \"{name}\"\r\n");
        assert_eq!(String::from_utf8_lossy(&encode(&list)), wire);
        assert_eq!(parse(wire.as_bytes()), list);
        let bare = format!("* LIST (\\HasNoChildren) \".\" {name}\r\n");
        assert_eq!(parse(bare.as_bytes()), list);

        let status = format!("* STATUS {name} (MESSAGES 0)\r\n");
        let read = parse(status.as_bytes());
        let Response::Data(Data::Status { mailbox, .. }) = &read else {
            panic!("{read:?}")
        };
        assert_eq!(mailbox.name(), name);
        assert_eq!(
            String::from_utf8_lossy(&encode(&read)),
            format!("* STATUS \"{name}\" (MESSAGES 0)\r\n")
        );
    }
    // Whatever form a value was built in.
    let built = data(Data::Status {
        mailbox: Mailbox::from_wire(aa("nil"), false).unwrap(),
        items: vec![],
    });
    assert_eq!(encode(&built), b"* STATUS \"nil\" ()\r\n");
}

/// `CHILDINFO` values are `list-select-base-opt-quoted` (RFC 5258 §8): quoted even when
/// built as atoms, as a server builds them; read unquoted too.
/// A hand-built quoted string holding CR, LF or NUL cannot end the response line: it goes
/// as a literal (NUL left out), as the command encoder sends one.
#[test]
fn hand_built_quoted_strings_cannot_inject_lines() {
    use sansmail_imap::types::core::IString;
    let built = data(Data::GenUrlAuth(vec![
        AString::String(IString::Quoted(Cow::Borrowed("a\r\n* BYE x"))),
        AString::String(IString::Quoted(Cow::Borrowed("n\0l"))),
    ]));
    assert_eq!(
        String::from_utf8_lossy(&encode(&built)),
        "* GENURLAUTH {10}\r\na\r\n* BYE x {2}\r\nnl\r\n"
    );
}

#[test]
fn childinfo_values_are_quoted() {
    let built = data(Data::List(ListData {
        attributes: vec![MailboxAttr::HasChildren],
        delimiter: Some('.'),
        mailbox: Mailbox::new("P").unwrap(),
        extended: Some(vec![ListExtItem::ChildInfo(vec![
            AString::try_from("SUBSCRIBED").unwrap(),
        ])]),
    }));
    let wire: &[u8] = b"* LIST (\\HasChildren) \".\" P (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n";
    assert_eq!(
        String::from_utf8_lossy(&encode(&built)),
        String::from_utf8_lossy(wire)
    );
    let read = data(Data::List(ListData {
        attributes: vec![MailboxAttr::HasChildren],
        delimiter: Some('.'),
        mailbox: Mailbox::new("P").unwrap(),
        extended: Some(vec![ListExtItem::ChildInfo(vec![aq("SUBSCRIBED")])]),
    }));
    assert_eq!(parse(wire), read);
    let unquoted: &[u8] = b"* LIST (\\HasChildren) \".\" P (\"CHILDINFO\" (SUBSCRIBED))\r\n";
    assert_eq!(parse(unquoted), read);
}

#[test]
fn mailbox_names_modified_utf7_and_utf8() {
    let r = parse(b"* LIST () \"/\" &AMQ-rger\r\n");
    let sansmail_imap::types::response::Response::Data(Data::List(l)) = &r else {
        panic!()
    };
    assert_eq!(l.mailbox.name(), "Ärger");
    assert_eq!(encode(&r), b"* LIST () \"/\" &AMQ-rger\r\n");
    let utf8 = ResponseOptions {
        utf8: true,
        ..ResponseOptions::default()
    };
    let r = parse_with("* LIST () \"/\" \"Ärger\"\r\n".as_bytes(), &utf8);
    let sansmail_imap::types::response::Response::Data(Data::List(l)) = &r else {
        panic!()
    };
    assert_eq!(l.mailbox.name(), "Ärger");
    // Built by hand, a name is encoded in modified UTF-7 unless UTF-8 is on.
    let built = data(Data::List(list(
        vec![],
        Some('/'),
        Mailbox::new("Ärger/台北").unwrap(),
    )));
    assert_eq!(encode(&built), b"* LIST () \"/\" &AMQ-rger/&U,BTFw-\r\n");
    assert_eq!(
        encode_with(&built, &utf8),
        "* LIST () \"/\" \"Ärger/台北\"\r\n".as_bytes()
    );
}

#[test]
fn status() {
    let cases: Vec<(&[u8], Data<'static>)> = vec![
        (b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n", Data::Status { mailbox: mbox("blurdybloop"), items: vec![StatusItem::Messages(231), StatusItem::UidNext(44292)] }),
        (b"* STATUS INBOX ()\r\n", Data::Status { mailbox: mbox("INBOX"), items: vec![] }),
        (
            b"* STATUS \"Sent Items\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 3 UNSEEN 4 DELETED 5 SIZE 6000000000 RECENT 7 HIGHESTMODSEQ 8 APPENDLIMIT 9 MAILBOXID (M1) DELETED-STORAGE 10)\r\n",
            Data::Status {
                mailbox: mbox_q("Sent Items"),
                items: vec![
                    StatusItem::Messages(1),
                    StatusItem::UidNext(2),
                    StatusItem::UidValidity(3),
                    StatusItem::Unseen(4),
                    StatusItem::Deleted(5),
                    StatusItem::Size(6_000_000_000),
                    StatusItem::Recent(7),
                    StatusItem::HighestModSeq(8),
                    StatusItem::AppendLimit(Some(9)),
                    StatusItem::MailboxId(ObjectId::new("M1").unwrap()),
                    StatusItem::DeletedStorage(10),
                ],
            },
        ),
        (b"* STATUS INBOX (APPENDLIMIT NIL)\r\n", Data::Status { mailbox: mbox("INBOX"), items: vec![StatusItem::AppendLimit(None)] }),
    ];
    for (wire, expected) in cases {
        check(wire, &data(expected), true);
    }
    assert_eq!(StatusItem::UidNext(1).attr(), StatusAttr::UidNext);
    assert_eq!(StatusItem::DeletedStorage(1).name(), "DELETED-STORAGE");
}

#[test]
fn search_and_sort() {
    let s = |ids: &[u32], modseq: Option<u64>| SearchResult {
        ids: ids.to_vec(),
        modseq,
    };
    let cases: Vec<(&[u8], Data<'static>)> = vec![
        (
            b"* SEARCH 2 84 882\r\n",
            Data::Search(s(&[2, 84, 882], None)),
        ),
        (b"* SEARCH\r\n", Data::Search(s(&[], None))),
        (
            b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n",
            Data::Search(s(&[2, 5, 6, 7, 11, 12, 18, 19, 20, 23], Some(917_162_500))),
        ),
        (b"* SORT 2 3 6\r\n", Data::Sort(s(&[2, 3, 6], None))),
        (b"* SORT\r\n", Data::Sort(s(&[], None))),
        (
            b"* SORT 5 3 (MODSEQ 12)\r\n",
            Data::Sort(s(&[5, 3], Some(12))),
        ),
    ];
    for (wire, expected) in cases {
        check(wire, &data(expected), true);
    }
}

#[test]
fn esearch() {
    let e = |tag: Option<AString<'static>>, uid: bool, items: Vec<ESearchItem<'static>>| {
        Data::ESearch(ESearch { tag, uid, items })
    };
    let cases: Vec<(&[u8], Data<'static>)> = vec![
        (
            b"* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n",
            e(
                Some(aq("A282")),
                false,
                vec![ESearchItem::Min(2), ESearchItem::Count(3)],
            ),
        ),
        (
            b"* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n",
            e(
                Some(aq("A283")),
                false,
                vec![ESearchItem::All(set("2,10:11"))],
            ),
        ),
        (
            b"* ESEARCH (TAG \"A284\") MIN 4\r\n",
            e(Some(aq("A284")), false, vec![ESearchItem::Min(4)]),
        ),
        (
            b"* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n",
            e(
                Some(aq("A285")),
                true,
                vec![ESearchItem::Min(7), ESearchItem::Max(3800)],
            ),
        ),
        (
            b"* ESEARCH (TAG \"A286\") COUNT 15\r\n",
            e(Some(aq("A286")), false, vec![ESearchItem::Count(15)]),
        ),
        (
            b"* ESEARCH (TAG \"A287\")\r\n",
            e(Some(aq("A287")), false, vec![]),
        ),
        (b"* ESEARCH\r\n", e(None, false, vec![])),
        (
            b"* ESEARCH UID COUNT 17 ALL 4:18,21,28\r\n",
            e(
                None,
                true,
                vec![ESearchItem::Count(17), ESearchItem::All(set("4:18,21,28"))],
            ),
        ),
        (
            b"* ESEARCH (TAG \"a\") UID MIN 1 MAX 9 COUNT 3 ALL 1,5,9 MODSEQ 4521\r\n",
            e(
                Some(aq("a")),
                true,
                vec![
                    ESearchItem::Min(1),
                    ESearchItem::Max(9),
                    ESearchItem::Count(3),
                    ESearchItem::All(set("1,5,9")),
                    ESearchItem::ModSeq(4521),
                ],
            ),
        ),
        (
            b"* ESEARCH (TAG A1) UID PARTIAL (-1:-100 200:250,252:300) PARTIAL (1:10 NIL)\r\n",
            e(
                Some(aa("A1")),
                true,
                vec![
                    ESearchItem::Partial {
                        range: PartialRange::new(true, 1, 100).unwrap(),
                        results: Some(set("200:250,252:300")),
                    },
                    ESearchItem::Partial {
                        range: PartialRange::new(false, 1, 10).unwrap(),
                        results: None,
                    },
                ],
            ),
        ),
        // RFC 5267 §4.3.3 and §4.3.4: several pairs in one item, several items in order.
        (
            b"* ESEARCH (TAG \"C01\") UID ADDTO (1 2733 3 2731:2732) REMOVEFROM (0 32768) X-N 4\r\n",
            e(
                Some(aq("C01")),
                true,
                vec![
                    ESearchItem::AddTo(vec![
                        ContextUpdate {
                            position: 1,
                            set: set("2733"),
                        },
                        ContextUpdate {
                            position: 3,
                            set: set("2731:2732"),
                        },
                    ]),
                    ESearchItem::RemoveFrom(vec![ContextUpdate {
                        position: 0,
                        set: set("32768"),
                    }]),
                    ESearchItem::Other {
                        name: atom("X-N"),
                        value: TaggedExtVal::Number(4),
                    },
                ],
            ),
        ),
        (
            b"* ESEARCH (TAG \"B01\") ADDTO (2 7,5,6)\r\n",
            e(
                Some(aq("B01")),
                false,
                vec![ESearchItem::AddTo(vec![ContextUpdate {
                    position: 2,
                    set: set("7,5,6"),
                }])],
            ),
        ),
    ];
    for (wire, expected) in cases {
        check(wire, &data(expected), true);
    }
}

#[test]
fn esearch_updates_are_told_apart_from_answers() {
    let update = ESearch {
        tag: Some(aq("B01")),
        uid: true,
        items: vec![ESearchItem::RemoveFrom(vec![ContextUpdate {
            position: 0,
            set: set("7"),
        }])],
    };
    assert!(update.is_update());
    let answer = ESearch {
        tag: Some(aq("B01")),
        uid: true,
        items: vec![ESearchItem::Count(3), ESearchItem::All(set("1:3"))],
    };
    assert!(!answer.is_update());
}

#[test]
fn flags_and_counts() {
    let cases: Vec<(&[u8], Data<'static>)> = vec![
        (
            b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
            Data::Flags(vec![
                Flag::Answered,
                Flag::Flagged,
                Flag::Deleted,
                Flag::Seen,
                Flag::Draft,
            ]),
        ),
        (b"* FLAGS ()\r\n", Data::Flags(vec![])),
        (
            b"* FLAGS (\\Seen $Forwarded $Junk \\X-Ext)\r\n",
            Data::Flags(vec![
                Flag::Seen,
                Flag::Keyword(atom("$Forwarded")),
                Flag::Keyword(atom("$Junk")),
                Flag::Extension(atom("X-Ext")),
            ]),
        ),
        (b"* 23 EXISTS\r\n", Data::Exists(23)),
        (b"* 0 EXISTS\r\n", Data::Exists(0)),
        (b"* 5 RECENT\r\n", Data::Recent(5)),
        (b"* 0 RECENT\r\n", Data::Recent(0)),
        (b"* 44 EXPUNGE\r\n", Data::Expunge(44)),
        (
            b"* VANISHED 405,407,410,425\r\n",
            Data::Vanished {
                earlier: false,
                uids: set("405,407,410,425"),
            },
        ),
        (
            b"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n",
            Data::Vanished {
                earlier: true,
                uids: set("41,43:116,118,120:211,214:540"),
            },
        ),
    ];
    for (wire, expected) in cases {
        check(wire, &data(expected), true);
    }
    check(b"* 3 exists\r\n", &data(Data::Exists(3)), false);
}

#[test]
fn id() {
    check(b"* ID NIL\r\n", &data(Data::Id(None)), true);
    check(
        b"* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" \"sunos\" \"os-version\" \"5.5\" \"support-url\" \"mailto:cyrus-bugs+@andrew.cmu.edu\")\r\n",
        &data(Data::Id(Some(vec![
            (q("name"), nq("Cyrus")),
            (q("version"), nq("1.5")),
            (q("os"), nq("sunos")),
            (q("os-version"), nq("5.5")),
            (q("support-url"), nq("mailto:cyrus-bugs+@andrew.cmu.edu")),
        ]))),
        true,
    );
    check(
        b"* ID (\"name\" NIL)\r\n",
        &data(Data::Id(Some(vec![(q("name"), None)]))),
        true,
    );
    check(b"* ID ()\r\n", &data(Data::Id(Some(vec![]))), true);
}

#[test]
fn namespace() {
    let d = |prefix: &'static str, delim: Option<char>| NamespaceDescr {
        prefix: q(prefix),
        delimiter: delim,
        extensions: vec![],
    };
    check(
        b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
        &data(Data::Namespace(Namespaces {
            personal: vec![d("", Some('/'))],
            other: vec![],
            shared: vec![],
        })),
        true,
    );
    check(
        b"* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))\r\n",
        &data(Data::Namespace(Namespaces {
            personal: vec![d("", Some('/'))],
            other: vec![d("~", Some('/'))],
            shared: vec![d("#shared/", Some('/')), d("#public/", Some('/')), d("#ftp/", Some('/')), d("#news.", Some('.'))],
        })),
        true,
    );
    check(
        b"* NAMESPACE ((\"\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL ((\"Public Folders/\" NIL))\r\n",
        &data(Data::Namespace(Namespaces {
            personal: vec![NamespaceDescr { prefix: q(""), delimiter: Some('/'), extensions: vec![(q("X-PARAM"), vec![q("FLAG1"), q("FLAG2")])] }],
            other: vec![],
            shared: vec![d("Public Folders/", None)],
        })),
        true,
    );
    check(
        b"* NAMESPACE NIL NIL NIL\r\n",
        &data(Data::Namespace(Namespaces::default())),
        true,
    );
}

#[test]
fn quota() {
    let r = |name, usage, limit| QuotaResource { name, usage, limit };
    check(
        b"* QUOTA \"\" (STORAGE 10 512)\r\n",
        &data(Data::Quota {
            root: aq(""),
            resources: vec![r(ResourceName::Storage, 10, 512)],
        }),
        true,
    );
    check(
        b"* QUOTA \"!partition/sda4\" (STORAGE 104 10923847 MESSAGE 2 1000 MAILBOX 1 5 ANNOTATION-STORAGE 0 100 X-FOO 1 2)\r\n",
        &data(Data::Quota {
            root: aq("!partition/sda4"),
            resources: vec![
                r(ResourceName::Storage, 104, 10_923_847),
                r(ResourceName::Message, 2, 1000),
                r(ResourceName::Mailbox, 1, 5),
                r(ResourceName::AnnotationStorage, 0, 100),
                r(ResourceName::Other(Atom::new("X-FOO").unwrap()), 1, 2),
            ],
        }),
        true,
    );
    check(
        b"* QUOTA x ()\r\n",
        &data(Data::Quota {
            root: aa("x"),
            resources: vec![],
        }),
        true,
    );
    check(
        b"* QUOTAROOT INBOX \"\"\r\n",
        &data(Data::QuotaRoot {
            mailbox: mbox("INBOX"),
            roots: vec![aq("")],
        }),
        true,
    );
    check(
        b"* QUOTAROOT comp.mail.mime\r\n",
        &data(Data::QuotaRoot {
            mailbox: mbox("comp.mail.mime"),
            roots: vec![],
        }),
        true,
    );
    check(
        b"* QUOTAROOT INBOX \"#user/alice\" \"!partition/sda4\"\r\n",
        &data(Data::QuotaRoot {
            mailbox: mbox("INBOX"),
            roots: vec![aq("#user/alice"), aq("!partition/sda4")],
        }),
        true,
    );
}

#[test]
fn metadata() {
    check(
        b"* METADATA \"\" (/shared/comment \"Shared comment\")\r\n",
        &data(Data::Metadata {
            mailbox: mbox_q(""),
            entries: MetadataEntries::Values(vec![(aa("/shared/comment"), nq("Shared comment"))]),
        }),
        true,
    );
    check(
        b"* METADATA INBOX (/private/comment \"My comment\" /shared/comment NIL)\r\n",
        &data(Data::Metadata {
            mailbox: mbox("INBOX"),
            entries: MetadataEntries::Values(vec![
                (aa("/private/comment"), nq("My comment")),
                (aa("/shared/comment"), None),
            ]),
        }),
        true,
    );
    check(
        b"* METADATA INBOX /shared/comment /private/comment\r\n",
        &data(Data::Metadata {
            mailbox: mbox("INBOX"),
            entries: MetadataEntries::Names(vec![aa("/shared/comment"), aa("/private/comment")]),
        }),
        true,
    );
    // `value = nstring / literal8`
    let r = parse(b"* METADATA INBOX (/private/x ~{3}\r\na\0b)\r\n");
    let sansmail_imap::types::response::Response::Data(Data::Metadata {
        entries: MetadataEntries::Values(v),
        ..
    }) = &r
    else {
        panic!()
    };
    assert_eq!(v[0].1.as_ref().unwrap().as_bytes(), b"a\0b");
    assert_eq!(
        encode(&r),
        b"* METADATA INBOX (/private/x ~{3}\r\na\0b)\r\n"
    );
}

fn th(ids: &[u32], children: Vec<Thread>) -> Thread {
    Thread {
        ids: ids.to_vec(),
        children,
    }
}

#[test]
fn thread() {
    check(b"* THREAD\r\n", &data(Data::Thread(vec![])), true);
    check(
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
        &data(Data::Thread(vec![
            th(&[2], vec![]),
            th(
                &[3, 6],
                vec![th(&[4, 23], vec![]), th(&[44, 7, 96], vec![])],
            ),
        ])),
        true,
    );
    check(
        b"* THREAD ((3)(5))\r\n",
        &data(Data::Thread(vec![th(
            &[],
            vec![th(&[3], vec![]), th(&[5], vec![])],
        )])),
        true,
    );
    check(
        b"* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)\r\n",
        &parse(b"* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)\r\n").into_owned(),
        true,
    );
    // One nested list means the same as a longer chain; it is kept as sent.
    check(
        b"* THREAD (1 (2))\r\n",
        &data(Data::Thread(vec![th(&[1], vec![th(&[2], vec![])])])),
        true,
    );
}

/// A server builds THREAD trees from its messages' references, so their depth is the
/// mailbox's to choose: encoding and dropping one must not recurse (a stack overflow aborts
/// the whole server). 100 000 levels on a 256 KiB stack.
#[test]
fn deep_thread_encodes_and_drops_without_recursion() {
    const DEPTH: u32 = 100_000;
    let out = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            // Each level: a message with two replies, the first of which branches again.
            let mut t = th(&[2 * DEPTH + 1], vec![]);
            for level in (1..=DEPTH).rev() {
                t = th(&[2 * level - 1], vec![t, th(&[2 * level], vec![])]);
            }
            encode(&data(Data::Thread(vec![t])))
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(out.starts_with(b"* THREAD (1 (3 (5 "), "{:?}", &out[..20]);
    assert!(
        out.ends_with(b")(4))(2))\r\n"),
        "{:?}",
        &out[out.len() - 20..]
    );
    let opens = out.iter().filter(|&&b| b == b'(').count();
    let closes = out.iter().filter(|&&b| b == b')').count();
    assert_eq!(
        (opens, closes),
        (2 * DEPTH as usize + 1, 2 * DEPTH as usize + 1)
    );
}

#[test]
fn unknown_code_text_may_hold_8bit_utf8() {
    let r = parse("* OK [X-Y café] x\r\n".as_bytes());
    let sansmail_imap::types::response::Response::Status(s) = r else {
        panic!()
    };
    assert_eq!(
        s.code,
        Some(sansmail_imap::types::response_code::ResponseCode::Other {
            name: atom("X-Y"),
            text: Some(Cow::Borrowed("café"))
        })
    );
}

/// What a client sent as a literal goes back as a server may send it: a mailbox name in its
/// cheapest form, any other literal synchronizing, never `{n+}` (RFC 9051 §9: no
/// non-synchronizing literals from server to client). Before, both were echoed as read
/// (`* STATUS {5+}` CRLF `INBOX ...`).
#[test]
fn literals_read_from_a_client_go_back_synchronizing() {
    use sansmail_imap::{
        codec::frame::LiteralMode,
        types::core::{IString, Literal},
    };
    let nonsync =
        |s: &'static [u8]| IString::Literal(Literal::new(s, LiteralMode::NonSync).unwrap());
    let inbox = Mailbox::from_wire(AString::String(nonsync(b"INBOX")), false).unwrap();
    let status = Response::Data(Data::Status {
        mailbox: inbox,
        items: vec![StatusItem::Messages(8)],
    });
    assert_eq!(
        String::from_utf8_lossy(&encode(&status)),
        "* STATUS INBOX (MESSAGES 8)\r\n"
    );
    // Not valid modified UTF-7, taken as it is: the same octets come back.
    let amp = Mailbox::from_wire(AString::String(nonsync(b"a&b")), false).unwrap();
    let status = Response::Data(Data::Status {
        mailbox: amp,
        items: vec![StatusItem::Messages(1)],
    });
    assert_eq!(
        String::from_utf8_lossy(&encode(&status)),
        "* STATUS a&b (MESSAGES 1)\r\n"
    );
    let odd = Mailbox::from_wire(AString::String(nonsync(b"a\"b")), false).unwrap();
    let list = Response::Data(Data::List(list(vec![], Some('/'), odd)));
    assert_eq!(
        String::from_utf8_lossy(&encode(&list)),
        "* LIST () \"/\" \"a\\\"b\"\r\n"
    );
    let metadata = Response::Data(Data::Metadata {
        mailbox: mbox("INBOX"),
        entries: MetadataEntries::Names(vec![AString::String(nonsync(b"/private/x"))]),
    });
    assert_eq!(
        String::from_utf8_lossy(&encode(&metadata)),
        "* METADATA INBOX {10}\r\n/private/x\r\n"
    );
}
