//! proptest: `parse(encode(x)) == x` for generated commands, and encoding is stable.

use proptest::{collection::vec, option, prelude::*, strategy::Union};
use sansmail_imap::{
    codec::{
        CommandOptions, EncodeBuf, decode_command, encode_command, frame::LiteralMode,
        parse_command,
    },
    types::{
        capability::Capability,
        command::{
            AppendData, AppendMessage, CatPart, Command, CommandBody as B, ListMailbox,
            ListReturnOpt, ListSelectOpt, MetadataDepth, MetadataOptions, QResync, QuotaLimit,
            SaslResponse, Secret, SelectParam, StoreAction,
        },
        core::{AString, Atom, IString, Literal, Tag},
        datetime::{Date, DateTime},
        fetch_attr::{FetchAttr, FetchItems, FetchMacro, FetchModifiers, Partial},
        flag::{Flag, MailboxAttr},
        mailbox::Mailbox,
        objectid::ObjectId,
        search::{
            EntryType, ModSeqEntry, PartialRange, SearchKey as K, SearchReturnOpt, SortCriterion,
            SortKey, ThreadAlgorithm, charset,
        },
        section::{Section, SectionText},
        sequence::{SeqItem, SeqNum, SequenceSet},
        status::StatusAttr,
    },
};

fn tag() -> impl Strategy<Value = Tag<'static>> {
    "[A-Za-z0-9.]{1,6}".prop_map(|s| Tag::new(s).unwrap())
}

fn mode() -> impl Strategy<Value = LiteralMode> {
    prop_oneof![Just(LiteralMode::Sync), Just(LiteralMode::NonSync)]
}

/// Any octets but NUL: the cheapest form (atom, quoted or literal), sometimes a LITERAL+.
fn astring() -> impl Strategy<Value = AString<'static>> {
    prop_oneof![
        "[A-Za-z0-9_.$/-]{1,8}".prop_map(|s| AString::from_bytes(s.into_bytes()).unwrap()),
        "[ -~]{0,8}".prop_map(|s| AString::from_bytes(s.into_bytes()).unwrap()),
        vec(1u8..=255, 0..12).prop_map(|b| AString::from_bytes(b).unwrap()),
        (vec(1u8..=255, 0..12), mode())
            .prop_map(|(b, m)| AString::String(IString::Literal(Literal::new(b, m).unwrap()))),
    ]
}

fn istring() -> impl Strategy<Value = IString<'static>> {
    prop_oneof![
        "[ -~]{0,8}".prop_map(|s| IString::from_bytes(s.into_bytes()).unwrap()),
        (vec(1u8..=255, 0..12), mode())
            .prop_map(|(b, m)| IString::Literal(Literal::new(b, m).unwrap())),
    ]
}

fn atom() -> impl Strategy<Value = Atom<'static>> {
    "[A-Za-z][A-Za-z0-9_.=+-]{0,8}".prop_map(|s| Atom::new(s).unwrap())
}

/// A mailbox as it would arrive: built by name, then taken through its wire form.
fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    "[A-Za-z0-9 äö日&/._\"\\\\-]{0,10}".prop_map(|name| {
        let m = Mailbox::new(name).unwrap();
        Mailbox::from_wire(m.to_wire(false).into_owned(), false).unwrap()
    })
}

fn list_mailbox() -> impl Strategy<Value = ListMailbox<'static>> {
    "[A-Za-z0-9 ä%*&/._-]{0,8}".prop_map(|s| ListMailbox::from_name(&s, false).unwrap())
}

fn seq_num() -> impl Strategy<Value = SeqNum> {
    prop_oneof![4 => (1u32..=u32::MAX).prop_map(SeqNum::Value), 1 => Just(SeqNum::Largest)]
}

fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        9 => vec(
            prop_oneof![seq_num().prop_map(SeqItem::Single), (seq_num(), seq_num()).prop_map(|(a, b)| SeqItem::Range(a, b))],
            1..4
        )
        .prop_map(|items| SequenceSet::new(items).unwrap()),
        1 => Just(SequenceSet::Saved),
    ]
}

fn flag() -> impl Strategy<Value = Flag<'static>> {
    prop_oneof![
        Just(Flag::Seen),
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Draft),
        "\\$?[A-Za-z][A-Za-z0-9]{0,6}".prop_map(|s| Flag::keyword(s).unwrap()),
        "[A-Za-z]{1,6}"
            .prop_filter("not a system flag", |s| Flag::parse(&format!("\\{s}"))
                .is_ok_and(|f| matches!(f, Flag::Extension(_))))
            .prop_map(|s| Flag::parse(&format!("\\{s}")).unwrap().into_owned()),
    ]
}

fn date() -> impl Strategy<Value = Date> {
    (1900u16..2100, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -1439i16..1440)
        .prop_map(|(d, h, m, s, z)| DateTime::new(d, h, m, s, z).unwrap())
}

fn status_attrs() -> impl Strategy<Value = Vec<StatusAttr>> {
    vec(proptest::sample::select(StatusAttr::ALL.to_vec()), 1..4)
}

fn search_key() -> impl Strategy<Value = K<'static>> {
    let text = |f: fn(AString<'static>) -> K<'static>| astring().prop_map(f);
    let on = |f: fn(Date) -> K<'static>| date().prop_map(f);
    let leaf = Union::new(vec![
        Just(K::All).boxed(),
        Just(K::Answered).boxed(),
        Just(K::Deleted).boxed(),
        Just(K::Draft).boxed(),
        Just(K::Flagged).boxed(),
        Just(K::New).boxed(),
        Just(K::Old).boxed(),
        Just(K::Recent).boxed(),
        Just(K::Seen).boxed(),
        Just(K::Unanswered).boxed(),
        Just(K::Undeleted).boxed(),
        Just(K::Undraft).boxed(),
        Just(K::Unflagged).boxed(),
        Just(K::Unseen).boxed(),
        Just(K::SaveDateSupported).boxed(),
        text(K::Bcc).boxed(),
        text(K::Body).boxed(),
        text(K::Cc).boxed(),
        text(K::From).boxed(),
        text(K::Subject).boxed(),
        text(K::Text).boxed(),
        text(K::To).boxed(),
        (astring(), astring())
            .prop_map(|(h, v)| K::Header(h, v))
            .boxed(),
        on(K::Before).boxed(),
        on(K::On).boxed(),
        on(K::Since).boxed(),
        on(K::SentBefore).boxed(),
        on(K::SentOn).boxed(),
        on(K::SentSince).boxed(),
        on(K::SavedBefore).boxed(),
        on(K::SavedOn).boxed(),
        on(K::SavedSince).boxed(),
        atom().prop_map(K::Keyword).boxed(),
        atom().prop_map(K::Unkeyword).boxed(),
        (0..=i64::MAX as u64).prop_map(K::Larger).boxed(),
        (0..=i64::MAX as u64).prop_map(K::Smaller).boxed(),
        (1u32..).prop_map(K::Older).boxed(),
        (1u32..).prop_map(K::Younger).boxed(),
        sequence_set().prop_map(K::Uid).boxed(),
        sequence_set().prop_map(K::SequenceSet).boxed(),
        (
            option::of((
                flag(),
                prop_oneof![
                    Just(EntryType::Private),
                    Just(EntryType::Shared),
                    Just(EntryType::All)
                ],
            )),
            0..=i64::MAX as u64,
        )
            .prop_map(|(e, modseq)| K::ModSeq {
                entry: e.map(|(flag, entry_type)| ModSeqEntry { flag, entry_type }),
                modseq,
            })
            .boxed(),
        "[A-Za-z0-9_-]{1,20}"
            .prop_map(|s| K::EmailId(ObjectId::new(s).unwrap()))
            .boxed(),
        "[A-Za-z0-9_-]{1,20}"
            .prop_map(|s| K::ThreadId(ObjectId::new(s).unwrap()))
            .boxed(),
    ]);
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| !k),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::or(a, b)),
            vec(inner, 1..3).prop_map(|v| K::and(v).unwrap()),
        ]
    })
}

fn search_return_opts() -> impl Strategy<Value = Option<Vec<SearchReturnOpt>>> {
    option::of(vec(
        prop_oneof![
            Just(SearchReturnOpt::Min),
            Just(SearchReturnOpt::Max),
            Just(SearchReturnOpt::All),
            Just(SearchReturnOpt::Count),
            Just(SearchReturnOpt::Save),
            Just(SearchReturnOpt::Context),
            Just(SearchReturnOpt::Update),
            (any::<bool>(), 1u32.., 1u32..).prop_map(|(l, a, b)| SearchReturnOpt::Partial(
                PartialRange::new(l, a, b).unwrap()
            )),
        ],
        0..3,
    ))
}

fn charset_s() -> impl Strategy<Value = AString<'static>> {
    prop_oneof![Just("UTF-8"), Just("US-ASCII"), Just("ISO 8859-1")]
        .prop_map(|c| charset(c).unwrap().into_owned())
}

fn section() -> impl Strategy<Value = Section<'static>> {
    (
        vec(1u32..20, 0..3),
        0u8..5,
        vec(astring(), 1..3),
        any::<bool>(),
    )
        .prop_map(|(part, kind, fields, not)| {
            let text = match kind {
                0 => None,
                1 => Some(SectionText::Header),
                2 => Some(SectionText::Text),
                3 if !part.is_empty() => Some(SectionText::Mime),
                _ => Some(SectionText::HeaderFields { not, fields }),
            };
            Section { part, text }
        })
}

fn partial() -> impl Strategy<Value = Option<Partial>> {
    option::of(
        (0..=i64::MAX as u64, 1..=i64::MAX as u64).prop_map(|(o, l)| Partial::new(o, l).unwrap()),
    )
}

fn fetch_att() -> impl Strategy<Value = FetchAttr<'static>> {
    prop_oneof![
        proptest::sample::select(vec![
            FetchAttr::Envelope,
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
            FetchAttr::Body,
            FetchAttr::BodyStructure,
            FetchAttr::Uid,
            FetchAttr::ModSeq,
            FetchAttr::EmailId,
            FetchAttr::ThreadId,
            FetchAttr::SaveDate,
            FetchAttr::Rfc822,
            FetchAttr::Rfc822Header,
            FetchAttr::Rfc822Text,
            FetchAttr::Preview { lazy: false },
            FetchAttr::Preview { lazy: true },
        ]),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| {
            FetchAttr::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), vec(1u32..9, 0..3), partial()).prop_map(|(peek, part, partial)| {
            FetchAttr::Binary {
                peek,
                part,
                partial,
            }
        }),
        vec(1u32..9, 0..3).prop_map(|part| FetchAttr::BinarySize { part }),
    ]
}

fn fetch_items() -> impl Strategy<Value = FetchItems<'static>> {
    prop_oneof![
        proptest::sample::select(vec![FetchMacro::All, FetchMacro::Fast, FetchMacro::Full])
            .prop_map(FetchItems::Macro),
        fetch_att().prop_map(FetchItems::Single),
        vec(fetch_att(), 1..4).prop_map(FetchItems::List),
    ]
}

fn append_message() -> impl Strategy<Value = AppendMessage<'static>> {
    let data = prop_oneof![
        (vec(1u8..=255, 0..20), mode())
            .prop_map(|(b, m)| AppendData::Literal(Literal::new(b, m).unwrap())),
        (vec(any::<u8>(), 0..20), mode())
            .prop_map(|(b, m)| AppendData::Literal(Literal::binary(b, m))),
        (vec(any::<u8>(), 0..20), mode())
            .prop_map(|(b, m)| AppendData::Utf8(Literal::binary(b, m))),
        vec(
            prop_oneof![
                (vec(1u8..=255, 0..20), mode())
                    .prop_map(|(b, m)| CatPart::Text(Literal::new(b, m).unwrap())),
                astring().prop_map(CatPart::Url),
            ],
            1..4
        )
        .prop_map(AppendData::Catenate),
    ];
    (option::of(vec(flag(), 0..3)), option::of(date_time()), data)
        .prop_map(|(flags, date, data)| AppendMessage { flags, date, data })
}

fn list_select() -> impl Strategy<Value = Option<Vec<ListSelectOpt>>> {
    option::of(proptest::sample::subsequence(
        vec![
            ListSelectOpt::Subscribed,
            ListSelectOpt::Remote,
            ListSelectOpt::RecursiveMatch,
            ListSelectOpt::SpecialUse,
        ],
        0..=4,
    ))
    .prop_map(|sel| {
        sel.map(|mut v| {
            if v.contains(&ListSelectOpt::RecursiveMatch)
                && !v.contains(&ListSelectOpt::Subscribed)
                && !v.contains(&ListSelectOpt::SpecialUse)
            {
                v.insert(0, ListSelectOpt::Subscribed);
            }
            v
        })
    })
}

fn list_return() -> impl Strategy<Value = Option<Vec<ListReturnOpt>>> {
    option::of(vec(
        prop_oneof![
            Just(ListReturnOpt::Subscribed),
            Just(ListReturnOpt::Children),
            Just(ListReturnOpt::SpecialUse),
            status_attrs().prop_map(ListReturnOpt::Status),
        ],
        0..3,
    ))
}

fn select_params() -> impl Strategy<Value = Vec<SelectParam>> {
    vec(
        prop_oneof![
            Just(SelectParam::CondStore),
            (
                1u32..,
                1..=i64::MAX as u64,
                option::of(sequence_set()),
                option::of((sequence_set(), sequence_set()))
            )
                .prop_map(|(uid_validity, modseq, known_uids, seq_match)| {
                    SelectParam::QResync(QResync {
                        uid_validity,
                        modseq,
                        known_uids,
                        seq_match,
                    })
                }),
        ],
        0..3,
    )
}

fn body() -> impl Strategy<Value = B<'static>> {
    let uid = any::<bool>;
    Union::new(vec![
        proptest::sample::select(vec![
            B::Capability,
            B::Noop,
            B::Logout,
            B::StartTls,
            B::Namespace,
            B::Idle,
            B::Check,
            B::Close,
            B::Unselect,
            B::Expunge,
        ])
        .boxed(),
        (
            atom(),
            option::of(prop_oneof![
                Just(SaslResponse::Empty),
                "([A-Za-z0-9+/]{4}){1,4}".prop_map(|s| SaslResponse::base64(s).unwrap())
            ]),
        )
            .prop_map(|(mechanism, initial)| B::Authenticate { mechanism, initial })
            .boxed(),
        (astring(), astring())
            .prop_map(|(u, p)| B::Login {
                username: u,
                password: Secret::new(p),
            })
            .boxed(),
        vec(atom(), 1..4)
            .prop_map(|v| B::Enable {
                capabilities: v
                    .iter()
                    .map(|a| Capability::parse(a.as_str()).unwrap().into_owned())
                    .collect(),
            })
            .boxed(),
        (mailbox(), select_params(), any::<bool>())
            .prop_map(|(mailbox, params, ex)| {
                if ex {
                    B::Examine { mailbox, params }
                } else {
                    B::Select { mailbox, params }
                }
            })
            .boxed(),
        (
            mailbox(),
            option::of(vec(
                proptest::sample::select(vec![
                    MailboxAttr::All,
                    MailboxAttr::Archive,
                    MailboxAttr::Drafts,
                    MailboxAttr::Junk,
                    MailboxAttr::Sent,
                    MailboxAttr::Trash,
                ]),
                0..3,
            )),
        )
            .prop_map(|(mailbox, special_use)| B::Create {
                mailbox,
                special_use,
            })
            .boxed(),
        mailbox().prop_map(|mailbox| B::Delete { mailbox }).boxed(),
        mailbox()
            .prop_map(|mailbox| B::Subscribe { mailbox })
            .boxed(),
        mailbox()
            .prop_map(|mailbox| B::Unsubscribe { mailbox })
            .boxed(),
        mailbox()
            .prop_map(|mailbox| B::GetQuotaRoot { mailbox })
            .boxed(),
        (mailbox(), mailbox())
            .prop_map(|(from, to)| B::Rename { from, to })
            .boxed(),
        (
            list_select(),
            mailbox(),
            vec(list_mailbox(), 1..4),
            list_return(),
        )
            .prop_map(|(selection, reference, patterns, return_opts)| B::List {
                selection,
                reference,
                patterns,
                return_opts,
            })
            .boxed(),
        (mailbox(), list_mailbox())
            .prop_map(|(reference, pattern)| B::Lsub { reference, pattern })
            .boxed(),
        (mailbox(), status_attrs())
            .prop_map(|(mailbox, attrs)| B::Status { mailbox, attrs })
            .boxed(),
        (mailbox(), vec(append_message(), 1..3))
            .prop_map(|(mailbox, messages)| B::Append { mailbox, messages })
            .boxed(),
        sequence_set().prop_map(|set| B::UidExpunge { set }).boxed(),
        (
            uid(),
            search_return_opts(),
            option::of(charset_s()),
            vec(search_key(), 1..4),
        )
            .prop_map(|(uid, return_opts, charset, criteria)| B::Search {
                uid,
                return_opts,
                charset,
                criteria,
            })
            .boxed(),
        (
            uid(),
            sequence_set(),
            fetch_items(),
            option::of(1..=i64::MAX as u64),
            any::<bool>(),
            option::of((any::<bool>(), 1u32.., 1u32..)),
        )
            .prop_map(
                |(uid, set, items, changed_since, vanished, partial)| B::Fetch {
                    uid,
                    set,
                    items,
                    modifiers: FetchModifiers {
                        changed_since,
                        vanished,
                        partial: partial.map(|(l, a, b)| PartialRange::new(l, a, b).unwrap()),
                    },
                },
            )
            .boxed(),
        (
            uid(),
            sequence_set(),
            option::of(0..=i64::MAX as u64),
            proptest::sample::select(vec![
                StoreAction::Replace,
                StoreAction::Add,
                StoreAction::Remove,
            ]),
            any::<bool>(),
            vec(flag(), 0..4),
        )
            .prop_map(
                |(uid, set, unchanged_since, action, silent, flags)| B::Store {
                    uid,
                    set,
                    unchanged_since,
                    action,
                    silent,
                    flags,
                },
            )
            .boxed(),
        (uid(), sequence_set(), mailbox(), any::<bool>())
            .prop_map(|(uid, set, mailbox, mv)| {
                if mv {
                    B::Move { uid, set, mailbox }
                } else {
                    B::Copy { uid, set, mailbox }
                }
            })
            .boxed(),
        option::of(vec((istring(), option::of(istring())), 0..4))
            .prop_map(|params| B::Id { params })
            .boxed(),
        astring().prop_map(|root| B::GetQuota { root }).boxed(),
        (astring(), vec((atom(), 0..=i64::MAX as u64), 0..3))
            .prop_map(|(root, l)| B::SetQuota {
                root,
                limits: l
                    .into_iter()
                    .map(|(resource, limit)| QuotaLimit { resource, limit })
                    .collect(),
            })
            .boxed(),
        atom()
            .prop_map(|algorithm| B::Compress { algorithm })
            .boxed(),
        vec(tag(), 1..3)
            .prop_map(|tags| B::CancelUpdate { tags })
            .boxed(),
        (
            uid(),
            search_return_opts(),
            vec(
                (
                    any::<bool>(),
                    proptest::sample::select(vec![
                        SortKey::Arrival,
                        SortKey::Cc,
                        SortKey::Date,
                        SortKey::From,
                        SortKey::Size,
                        SortKey::Subject,
                        SortKey::To,
                        SortKey::DisplayFrom,
                        SortKey::DisplayTo,
                    ]),
                ),
                1..4,
            ),
            charset_s(),
            vec(search_key(), 1..3),
        )
            .prop_map(|(uid, return_opts, c, charset, keys)| B::Sort {
                uid,
                return_opts,
                criteria: c
                    .into_iter()
                    .map(|(reverse, key)| SortCriterion { reverse, key })
                    .collect(),
                charset,
                keys,
            })
            .boxed(),
        (uid(), atom(), charset_s(), vec(search_key(), 1..3))
            .prop_map(|(uid, alg, charset, keys)| B::Thread {
                uid,
                algorithm: ThreadAlgorithm::from_atom(alg),
                charset,
                keys,
            })
            .boxed(),
        (
            option::of(any::<u32>()),
            option::of(proptest::sample::select(vec![
                MetadataDepth::Zero,
                MetadataDepth::One,
                MetadataDepth::Infinity,
            ])),
            mailbox(),
            vec(astring(), 1..3),
        )
            .prop_map(|(max_size, depth, mailbox, entries)| B::GetMetadata {
                options: MetadataOptions { max_size, depth },
                mailbox,
                entries,
            })
            .boxed(),
        (
            mailbox(),
            vec(
                (
                    astring(),
                    option::of(prop_oneof![
                        istring(),
                        (vec(any::<u8>(), 0..8), mode())
                            .prop_map(|(b, m)| IString::Literal(Literal::binary(b, m)))
                    ]),
                ),
                1..3,
            ),
        )
            .prop_map(|(mailbox, entries)| B::SetMetadata { mailbox, entries })
            .boxed(),
    ])
}

fn command() -> impl Strategy<Value = Command<'static>> {
    (tag(), body()).prop_map(|(t, b)| Command::new(t, b))
}

fn encode(c: &Command<'_>) -> EncodeBuf {
    let mut out = EncodeBuf::new();
    encode_command(c, &CommandOptions::default(), &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn parse_encode_round_trip(c in command()) {
        // Under UTF-8 every value keeps its form: 8-bit text stays quoted.
        let utf8 = CommandOptions { utf8: true, ..CommandOptions::default() };
        let mut out = EncodeBuf::new();
        encode_command(&c, &utf8, &mut out);
        let parsed = parse_command(&out.bytes, &utf8);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&out.bytes), parsed);
        prop_assert_eq!(&parsed.unwrap(), &c, "{:?}", String::from_utf8_lossy(&out.bytes));
        // IMAP4rev1: the same value, and 8-bit quoted text comes back as a literal.
        let opts = CommandOptions::default();
        let out = encode(&c);
        let parsed = parse_command(&out.bytes, &opts);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&out.bytes), parsed);
        let parsed = parsed.unwrap();
        let mut direct = EncodeBuf::new();
        encode_command(&c, &utf8, &mut direct);
        if out.literals.len() == direct.literals.len() {
            prop_assert_eq!(&parsed, &c, "{:?}", String::from_utf8_lossy(&out.bytes));
        }
        // Through the framer as well, and re-encoding is byte-identical.
        let (rest, decoded) = decode_command(&out.bytes, &opts).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(encode(&decoded).bytes, out.bytes);
    }

    #[test]
    fn arbitrary_input_never_panics(bytes in vec(any::<u8>(), 0..200)) {
        let _ = parse_command(&bytes, &CommandOptions::default());
        let _ = decode_command(&bytes, &CommandOptions::default());
    }

    #[test]
    fn mutated_commands_never_panic(c in command(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = encode(&c).bytes;
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = parse_command(&bytes, &CommandOptions::default());
        bytes.truncate(i);
        let _ = decode_command(&bytes, &CommandOptions::default());
    }
}
