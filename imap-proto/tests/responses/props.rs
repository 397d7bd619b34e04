//! Property: `parse(encode(x)) == x` for generated responses, recursive body structures,
//! threads and extension values included (with bounded depth).

use std::borrow::Cow;

use proptest::{collection::vec, option, prelude::*};
use sansmail_imap::{
    codec::{ResponseOptions, frame::LiteralMode, parse_response},
    types::{
        body::{
            Body, BodyExtension, BodyFields, Disposition, ExtDisposition, ExtLanguage, ExtLocation,
            Language, MultiPart, MultiPartExt, SinglePart, SinglePartExt, SinglePartKind,
        },
        capability::Capability,
        core::{AString, Atom, IString, Literal, NString, Tag, Text},
        datetime::{Date, DateTime},
        envelope::{Address, Envelope},
        fetch::FetchItem,
        flag::{Flag, MailboxAttr},
        mailbox::Mailbox,
        objectid::ObjectId,
        response::{Continue, Data, Response, Status, StatusKind},
        response_code::{MetadataCode, ResponseCode},
        response_data::{
            ContextUpdate, ESearch, ESearchItem, ListData, ListExtItem, MetadataEntries,
            NamespaceDescr, Namespaces, QuotaResource, ResourceName, SearchResult, StatusItem,
            TaggedExtComp, TaggedExtVal, Thread,
        },
        search::PartialRange,
        section::{Section, SectionText},
        sequence::{SeqItem, SeqNum, SequenceSet},
    },
};

use super::common::encode_with;

fn atom_str() -> BoxedStrategy<String> {
    atom_str_unboxed().boxed()
}

fn atom_str_unboxed() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.!#&'+,/:;<=>?@^|~-]{1,8}"
}

/// An astring sent as an atom: not `NIL`, which is sent quoted and read back so.
fn bare_astring(text: impl Strategy<Value = String>) -> impl Strategy<Value = AString<'static>> {
    text.prop_filter("NIL is sent quoted", |s| !s.eq_ignore_ascii_case("NIL"))
        .prop_map(|s| AString::Atom(Cow::Owned(s)))
}

/// Names that cannot collide with anything this crate knows.
fn x_name() -> BoxedStrategy<String> {
    x_name_unboxed().boxed()
}

fn x_name_unboxed() -> impl Strategy<Value = String> {
    "X-[A-Z0-9]{1,6}"
}

fn x_atom() -> BoxedStrategy<Atom<'static>> {
    x_atom_unboxed().boxed()
}

fn x_atom_unboxed() -> impl Strategy<Value = Atom<'static>> {
    x_name().prop_map(|s| Atom::new(s).unwrap())
}

fn u63() -> BoxedStrategy<u64> {
    u63_unboxed().boxed()
}

fn u63_unboxed() -> impl Strategy<Value = u64> {
    0..=i64::MAX as u64
}

fn nz() -> BoxedStrategy<u32> {
    nz_unboxed().boxed()
}

fn nz_unboxed() -> impl Strategy<Value = u32> {
    1..=u32::MAX
}

fn literal(binary: bool) -> BoxedStrategy<Literal<'static>> {
    literal_unboxed(binary).boxed()
}

fn literal_unboxed(binary: bool) -> impl Strategy<Value = Literal<'static>> {
    // A server sends synchronizing literals only (RFC 9051 §9); the encoder writes every
    // literal of a response as one.
    vec(any::<u8>(), 0..20).prop_map(move |mut data| {
        let mode = LiteralMode::Sync;
        if binary {
            Literal::binary(data, mode)
        } else {
            data.retain(|&b| b != 0);
            Literal::new(data, mode).unwrap()
        }
    })
}

fn istring() -> BoxedStrategy<IString<'static>> {
    istring_unboxed().boxed()
}

fn istring_unboxed() -> impl Strategy<Value = IString<'static>> {
    prop_oneof![
        4 => "[ -~]{0,12}".prop_map(|s| IString::Quoted(Cow::Owned(s))),
        1 => "[^\r\n\0]{0,6}".prop_map(|s| IString::Quoted(Cow::Owned(s))),
        1 => literal(false).prop_map(IString::Literal),
    ]
}

fn nstring() -> BoxedStrategy<NString<'static>> {
    nstring_unboxed().boxed()
}

fn nstring_unboxed() -> impl Strategy<Value = NString<'static>> {
    option::weighted(0.8, istring())
}

/// `nstring / literal8`
fn nstring8() -> BoxedStrategy<NString<'static>> {
    nstring8_unboxed().boxed()
}

fn nstring8_unboxed() -> impl Strategy<Value = NString<'static>> {
    prop_oneof![
        nstring(),
        literal(true).prop_map(|l| Some(IString::Literal(l)))
    ]
}

fn astring() -> BoxedStrategy<AString<'static>> {
    astring_unboxed().boxed()
}

fn astring_unboxed() -> impl Strategy<Value = AString<'static>> {
    prop_oneof![
        2 => bare_astring(atom_str()),
        1 => istring().prop_map(AString::String),
    ]
}

fn mailbox() -> BoxedStrategy<Mailbox<'static>> {
    mailbox_unboxed().boxed()
}

fn mailbox_unboxed() -> impl Strategy<Value = Mailbox<'static>> {
    prop_oneof![
        astring(),
        Just(AString::Atom(Cow::Borrowed("INBOX"))),
        Just(AString::Atom(Cow::Borrowed("&AMQ-rger"))),
    ]
    .prop_filter_map("CR/LF/NUL", |a| Mailbox::from_wire(a, false).ok())
}

fn text() -> BoxedStrategy<Text<'static>> {
    text_unboxed().boxed()
}

fn text_unboxed() -> impl Strategy<Value = Text<'static>> {
    "([ -Z\\\\-~][ -~]{0,15})?".prop_map(|s| Text::new(s).unwrap())
}

fn seq_num() -> BoxedStrategy<SeqNum> {
    seq_num_unboxed().boxed()
}

fn seq_num_unboxed() -> impl Strategy<Value = SeqNum> {
    prop_oneof![4 => nz().prop_map(SeqNum::Value), 1 => Just(SeqNum::Largest)]
}

fn sequence_set() -> BoxedStrategy<SequenceSet> {
    sequence_set_unboxed().boxed()
}

fn sequence_set_unboxed() -> impl Strategy<Value = SequenceSet> {
    vec(
        prop_oneof![
            seq_num().prop_map(SeqItem::Single),
            (seq_num(), seq_num()).prop_map(|(a, b)| SeqItem::Range(a, b)),
        ],
        1..4,
    )
    .prop_map(|items| SequenceSet::new(items).unwrap())
}

fn uid_set() -> BoxedStrategy<SequenceSet> {
    uid_set_unboxed().boxed()
}

fn uid_set_unboxed() -> impl Strategy<Value = SequenceSet> {
    vec(
        prop_oneof![
            nz().prop_map(|n| SeqItem::Single(SeqNum::Value(n))),
            (nz(), nz()).prop_map(|(a, b)| SeqItem::Range(SeqNum::Value(a), SeqNum::Value(b))),
        ],
        1..4,
    )
    .prop_map(|items| SequenceSet::new(items).unwrap())
}

fn flag(perm: bool) -> BoxedStrategy<Flag<'static>> {
    flag_unboxed(perm).boxed()
}

fn flag_unboxed(perm: bool) -> impl Strategy<Value = Flag<'static>> {
    let mut options = vec![
        Just(Flag::Answered).boxed(),
        Just(Flag::Flagged).boxed(),
        Just(Flag::Deleted).boxed(),
        Just(Flag::Seen).boxed(),
        Just(Flag::Draft).boxed(),
        Just(Flag::Recent).boxed(),
        "[$A-Za-z][A-Za-z0-9_$-]{0,8}"
            .prop_map(|s| Flag::keyword(s).unwrap())
            .boxed(),
        x_atom().prop_map(Flag::Extension).boxed(),
    ];
    if perm {
        options.push(Just(Flag::Wildcard).boxed());
    }
    prop::strategy::Union::new(options)
}

fn capability() -> BoxedStrategy<Capability<'static>> {
    capability_unboxed().boxed()
}

fn capability_unboxed() -> impl Strategy<Value = Capability<'static>> {
    prop_oneof![
        prop::sample::select(vec![
            "IMAP4rev1",
            "IMAP4rev2",
            "STARTTLS",
            "LOGINDISABLED",
            "IDLE",
            "UIDPLUS",
            "MOVE",
            "CONDSTORE",
            "QRESYNC",
            "ENABLE",
            "LITERAL+",
            "UTF8=ACCEPT",
            "APPENDLIMIT",
            "APPENDLIMIT=35651584",
            "STATUS=SIZE",
            "OBJECTID",
        ])
        .prop_map(|c| Capability::parse(c).unwrap()),
        "[A-Z0-9-]{1,8}".prop_map(|m| Capability::Auth(Atom::new(m).unwrap())),
        "[A-Z]{1,8}".prop_map(|m| Capability::Thread(Atom::new(m).unwrap())),
        x_atom().prop_map(Capability::Other),
    ]
}

fn objectid() -> BoxedStrategy<ObjectId<'static>> {
    objectid_unboxed().boxed()
}

fn objectid_unboxed() -> impl Strategy<Value = ObjectId<'static>> {
    "[A-Za-z0-9_-]{1,20}".prop_map(|s| ObjectId::new(s).unwrap())
}

fn response_code() -> BoxedStrategy<ResponseCode<'static>> {
    response_code_unboxed().boxed()
}

fn response_code_unboxed() -> impl Strategy<Value = ResponseCode<'static>> {
    use ResponseCode as C;
    prop_oneof![
        prop::sample::select(vec![
            C::Alert,
            C::AlreadyExists,
            C::AuthenticationFailed,
            C::AuthorizationFailed,
            C::Cannot,
            C::ClientBug,
            C::Closed,
            C::CompressionActive,
            C::ContactAdmin,
            C::Corruption,
            C::Expired,
            C::ExpungeIssued,
            C::HasChildren,
            C::InUse,
            C::Limit,
            C::NoModSeq,
            C::NonExistent,
            C::NoPerm,
            C::NotSaved,
            C::OverQuota,
            C::Parse,
            C::PrivacyRequired,
            C::ReadOnly,
            C::ReadWrite,
            C::ServerBug,
            C::TooBig,
            C::TryCreate,
            C::UidNotSticky,
            C::Unavailable,
            C::UnknownCte,
            C::UseAttr,
        ]),
        (nz(), uid_set()).prop_map(|(uid_validity, uids)| C::AppendUid { uid_validity, uids }),
        (nz(), uid_set(), uid_set()).prop_map(|(uid_validity, source, destination)| C::CopyUid {
            uid_validity,
            source,
            destination
        }),
        vec(
            prop_oneof![
                bare_astring("[A-Z0-9-]{1,8}"),
                "[ -~]{0,8}".prop_map(|s| AString::String(IString::Quoted(Cow::Owned(s))))
            ],
            0..3
        )
        .prop_map(C::BadCharset),
        vec(capability(), 0..4).prop_map(C::Capability),
        u63().prop_map(C::HighestModSeq),
        objectid().prop_map(C::MailboxId),
        prop_oneof![
            any::<u32>().prop_map(MetadataCode::LongEntries),
            any::<u32>().prop_map(MetadataCode::MaxSize),
            Just(MetadataCode::TooMany),
            Just(MetadataCode::NoPrivate),
        ]
        .prop_map(C::Metadata),
        sequence_set().prop_map(C::Modified),
        "[A-Za-z0-9.]{1,8}".prop_map(|t| C::NoUpdate(Tag::new(t).unwrap())),
        vec(flag(true), 0..4).prop_map(C::PermanentFlags),
        nz().prop_map(C::UidNext),
        nz().prop_map(C::UidValidity),
        nz().prop_map(C::Unseen),
        (x_name(), option::of("[a-z0-9\"][a-z0-9 \"]{0,10}")).prop_map(|(n, t)| C::other(
            n,
            t.map(Cow::Owned)
        )
        .unwrap()),
    ]
}

fn status() -> BoxedStrategy<Response<'static>> {
    status_unboxed().boxed()
}

fn status_unboxed() -> impl Strategy<Value = Response<'static>> {
    (
        option::of("[A-Za-z0-9.]{1,8}"),
        0..5u8,
        option::of(response_code()),
        text(),
    )
        .prop_map(|(tag, kind, code, text)| {
            let kinds = [
                StatusKind::Ok,
                StatusKind::No,
                StatusKind::Bad,
                StatusKind::PreAuth,
                StatusKind::Bye,
            ];
            match tag {
                Some(t) => Response::Status(
                    Status::tagged(
                        Tag::new(t).unwrap(),
                        kinds[usize::from(kind % 3)],
                        code,
                        text,
                    )
                    .unwrap(),
                ),
                None => Response::Status(Status::untagged(kinds[usize::from(kind)], code, text)),
            }
        })
}

fn continue_req() -> BoxedStrategy<Response<'static>> {
    continue_req_unboxed().boxed()
}

fn continue_req_unboxed() -> impl Strategy<Value = Response<'static>> {
    (option::of(response_code()), text())
        .prop_map(|(code, text)| Response::Continue(Continue { code, text }))
}

fn delimiter() -> BoxedStrategy<Option<char>> {
    delimiter_unboxed().boxed()
}

fn delimiter_unboxed() -> impl Strategy<Value = Option<char>> {
    option::of(prop::sample::select(vec!['/', '.', '\\', '"', 'ä', ' ']))
}

fn tagged_ext_comp() -> BoxedStrategy<TaggedExtComp<'static>> {
    tagged_ext_comp_unboxed().boxed()
}

fn tagged_ext_comp_unboxed() -> impl Strategy<Value = TaggedExtComp<'static>> {
    astring()
        .prop_map(TaggedExtComp::AString)
        .prop_recursive(3, 12, 3, |inner| {
            vec(inner, 1..3).prop_map(TaggedExtComp::List)
        })
}

fn tagged_ext_val() -> BoxedStrategy<TaggedExtVal<'static>> {
    tagged_ext_val_unboxed().boxed()
}

fn tagged_ext_val_unboxed() -> impl Strategy<Value = TaggedExtVal<'static>> {
    prop_oneof![
        u63().prop_map(TaggedExtVal::Number),
        sequence_set()
            .prop_filter("a single number is a Number", |s| !matches!(s, SequenceSet::Items(i) if matches!(i[..], [SeqItem::Single(SeqNum::Value(_))])))
            .prop_map(TaggedExtVal::Set),
        vec(tagged_ext_comp(), 0..3).prop_map(TaggedExtVal::Comp),
    ]
}

fn list_data() -> BoxedStrategy<ListData<'static>> {
    list_data_unboxed().boxed()
}

fn list_data_unboxed() -> impl Strategy<Value = ListData<'static>> {
    let attr = prop_oneof![
        prop::sample::select(vec![
            MailboxAttr::NoInferiors,
            MailboxAttr::NoSelect,
            MailboxAttr::Marked,
            MailboxAttr::Unmarked,
            MailboxAttr::NonExistent,
            MailboxAttr::Subscribed,
            MailboxAttr::Remote,
            MailboxAttr::HasChildren,
            MailboxAttr::HasNoChildren,
            MailboxAttr::All,
            MailboxAttr::Archive,
            MailboxAttr::Drafts,
            MailboxAttr::Flagged,
            MailboxAttr::Junk,
            MailboxAttr::Sent,
            MailboxAttr::Trash,
        ]),
        x_atom().prop_map(MailboxAttr::Extension),
    ];
    let item = prop_oneof![
        // Quoted on the wire: read back as strings.
        vec(istring().prop_map(AString::String), 1..3).prop_map(ListExtItem::ChildInfo),
        mailbox().prop_map(ListExtItem::OldName),
        (x_name(), tagged_ext_val()).prop_map(|(tag, value)| ListExtItem::Other {
            tag: AString::Atom(Cow::Owned(tag)),
            value
        }),
    ];
    (
        vec(attr, 0..4),
        delimiter(),
        mailbox(),
        option::of(vec(item, 0..3)),
    )
        .prop_map(|(attributes, delimiter, mailbox, extended)| ListData {
            attributes,
            delimiter,
            mailbox,
            extended,
        })
}

fn status_item() -> BoxedStrategy<StatusItem<'static>> {
    status_item_unboxed().boxed()
}

fn status_item_unboxed() -> impl Strategy<Value = StatusItem<'static>> {
    prop_oneof![
        any::<u32>().prop_map(StatusItem::Messages),
        nz().prop_map(StatusItem::UidNext),
        nz().prop_map(StatusItem::UidValidity),
        any::<u32>().prop_map(StatusItem::Unseen),
        any::<u32>().prop_map(StatusItem::Deleted),
        u63().prop_map(StatusItem::Size),
        any::<u32>().prop_map(StatusItem::Recent),
        u63().prop_map(StatusItem::HighestModSeq),
        option::of(u63()).prop_map(StatusItem::AppendLimit),
        objectid().prop_map(StatusItem::MailboxId),
        u63().prop_map(StatusItem::DeletedStorage),
    ]
}

fn search_result() -> BoxedStrategy<SearchResult> {
    search_result_unboxed().boxed()
}

fn search_result_unboxed() -> impl Strategy<Value = SearchResult> {
    (vec(nz(), 0..5), option::of(u63())).prop_map(|(ids, modseq)| SearchResult { ids, modseq })
}

fn esearch() -> BoxedStrategy<ESearch<'static>> {
    esearch_unboxed().boxed()
}

fn esearch_unboxed() -> impl Strategy<Value = ESearch<'static>> {
    let item = prop_oneof![
        nz().prop_map(ESearchItem::Min),
        nz().prop_map(ESearchItem::Max),
        sequence_set().prop_map(ESearchItem::All),
        any::<u32>().prop_map(ESearchItem::Count),
        u63().prop_map(ESearchItem::ModSeq),
        (prop::bool::ANY, nz(), nz(), option::of(sequence_set())).prop_map(
            |(from_end, first, last, results)| ESearchItem::Partial {
                range: PartialRange::new(from_end, first, last).unwrap(),
                results,
            }
        ),
        vec(context_update(), 1..3).prop_map(ESearchItem::AddTo),
        vec(context_update(), 1..3).prop_map(ESearchItem::RemoveFrom),
        (x_atom(), tagged_ext_val()).prop_map(|(name, value)| ESearchItem::Other { name, value }),
    ];
    (option::of(astring()), prop::bool::ANY, vec(item, 0..4))
        .prop_map(|(tag, uid, items)| ESearch { tag, uid, items })
}

/// RFC 5267: a position (0 for SEARCH) and a set of numbers.
fn context_update() -> impl Strategy<Value = ContextUpdate> {
    (any::<u32>(), sequence_set()).prop_map(|(position, set)| ContextUpdate { position, set })
}

fn namespaces() -> BoxedStrategy<Namespaces<'static>> {
    namespaces_unboxed().boxed()
}

fn namespaces_unboxed() -> impl Strategy<Value = Namespaces<'static>> {
    let ns = || {
        let descr = (
            istring(),
            delimiter(),
            vec((istring(), vec(istring(), 1..3)), 0..2),
        )
            .prop_map(|(prefix, delimiter, extensions)| NamespaceDescr {
                prefix,
                delimiter,
                extensions,
            });
        vec(descr, 0..3)
    };
    (ns(), ns(), ns()).prop_map(|(personal, other, shared)| Namespaces {
        personal,
        other,
        shared,
    })
}

fn quota_resource() -> BoxedStrategy<QuotaResource<'static>> {
    quota_resource_unboxed().boxed()
}

fn quota_resource_unboxed() -> impl Strategy<Value = QuotaResource<'static>> {
    let name = prop_oneof![
        Just(ResourceName::Storage),
        Just(ResourceName::Message),
        Just(ResourceName::Mailbox),
        Just(ResourceName::AnnotationStorage),
        x_atom().prop_map(ResourceName::Other),
    ];
    (name, u63(), u63()).prop_map(|(name, usage, limit)| QuotaResource { name, usage, limit })
}

fn thread() -> BoxedStrategy<Thread> {
    thread_unboxed().boxed()
}

fn thread_unboxed() -> impl Strategy<Value = Thread> {
    vec(nz(), 1..4)
        .prop_map(|ids| Thread {
            ids,
            children: vec![],
        })
        .prop_recursive(4, 24, 3, |inner| {
            (vec(nz(), 0..3), vec(inner, 1..3)).prop_map(|(ids, children)| Thread { ids, children })
        })
}

fn date_time() -> BoxedStrategy<DateTime> {
    date_time_unboxed().boxed()
}

fn date_time_unboxed() -> impl Strategy<Value = DateTime> {
    (
        1900..2100u16,
        1..=12u8,
        1..=28u8,
        0..24u8,
        0..60u8,
        0..60u8,
        -1439..=1439i16,
    )
        .prop_map(|(y, mo, d, h, mi, s, z)| {
            DateTime::new(Date::new(y, mo, d).unwrap(), h, mi, s, z).unwrap()
        })
}

fn address() -> BoxedStrategy<Address<'static>> {
    address_unboxed().boxed()
}

fn address_unboxed() -> impl Strategy<Value = Address<'static>> {
    (nstring(), nstring(), nstring(), nstring()).prop_map(|(name, adl, mailbox, host)| Address {
        name,
        adl,
        mailbox,
        host,
    })
}

fn envelope() -> BoxedStrategy<Envelope<'static>> {
    envelope_unboxed().boxed()
}

fn envelope_unboxed() -> impl Strategy<Value = Envelope<'static>> {
    let list = || vec(address(), 0..3);
    (
        (nstring(), nstring(), list(), list(), list()),
        (list(), list(), list(), nstring(), nstring()),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
}

fn body_params() -> BoxedStrategy<Option<Vec<(IString<'static>, NString<'static>)>>> {
    body_params_unboxed().boxed()
}

fn body_params_unboxed() -> impl Strategy<Value = Option<Vec<(IString<'static>, NString<'static>)>>>
{
    option::of(vec((istring(), istring().prop_map(Some)), 1..3))
}

fn body_extension() -> BoxedStrategy<BodyExtension<'static>> {
    body_extension_unboxed().boxed()
}

fn body_extension_unboxed() -> impl Strategy<Value = BodyExtension<'static>> {
    prop_oneof![
        nstring().prop_map(BodyExtension::String),
        u63().prop_map(BodyExtension::Number)
    ]
    .prop_recursive(3, 10, 3, |inner| {
        vec(inner, 1..3).prop_map(BodyExtension::List)
    })
}

fn ext_disposition() -> BoxedStrategy<Option<ExtDisposition<'static>>> {
    ext_disposition_unboxed().boxed()
}

fn ext_disposition_unboxed() -> impl Strategy<Value = Option<ExtDisposition<'static>>> {
    let disposition = option::of(
        (istring(), body_params()).prop_map(|(kind, params)| Disposition { kind, params }),
    );
    let language = prop_oneof![
        nstring().prop_map(Language::Single),
        vec(istring(), 1..3).prop_map(Language::List)
    ];
    let location = option::of((nstring(), vec(body_extension(), 0..3)).prop_map(
        |(location, extensions)| ExtLocation {
            location,
            extensions,
        },
    ));
    let lang = option::of(
        (language, location).prop_map(|(language, more)| ExtLanguage { language, more }),
    );
    option::of(
        (disposition, lang).prop_map(|(disposition, more)| ExtDisposition { disposition, more }),
    )
}

fn body_fields() -> BoxedStrategy<BodyFields<'static>> {
    body_fields_unboxed().boxed()
}

fn body_fields_unboxed() -> impl Strategy<Value = BodyFields<'static>> {
    (body_params(), nstring(), nstring(), istring(), any::<u32>()).prop_map(
        |(params, id, description, encoding, octets)| BodyFields {
            params,
            id,
            description,
            encoding: Some(encoding),
            octets,
        },
    )
}

fn leaf_body() -> BoxedStrategy<Body<'static>> {
    leaf_body_unboxed().boxed()
}

fn leaf_body_unboxed() -> impl Strategy<Value = Body<'static>> {
    let basic_type = prop::sample::select(vec![
        ("APPLICATION", "PDF"),
        ("image", "png"),
        ("MESSAGE", "DELIVERY-STATUS"),
        ("X-A", "B"),
        // `media-basic` may be any string: without lines or an envelope these are basic.
        ("TEXT", "PLAIN"),
        ("message", "rfc822"),
    ]);
    let single_ext = || {
        option::of(
            (nstring(), ext_disposition()).prop_map(|(md5, more)| SinglePartExt { md5, more }),
        )
    };
    prop_oneof![
        (basic_type, body_fields(), single_ext()).prop_map(|((t, s), fields, ext)| Body::Single(
            SinglePart {
                media_type: IString::Quoted(Cow::Borrowed(t)),
                subtype: IString::Quoted(Cow::Borrowed(s)),
                fields,
                specific: SinglePartKind::Basic,
                ext,
            }
        )),
        (
            prop::sample::select(vec!["TEXT", "text"]),
            istring(),
            body_fields(),
            u63(),
            single_ext()
        )
            .prop_map(|(t, subtype, fields, lines, ext)| {
                Body::Single(SinglePart {
                    media_type: IString::Quoted(Cow::Borrowed(t)),
                    subtype,
                    fields,
                    specific: SinglePartKind::Text { lines },
                    ext,
                })
            }),
    ]
}

fn body() -> BoxedStrategy<Body<'static>> {
    body_unboxed().boxed()
}

fn body_unboxed() -> impl Strategy<Value = Body<'static>> {
    leaf_body().prop_recursive(4, 16, 3, |inner| {
        let multi_ext = option::of(
            (body_params(), ext_disposition())
                .prop_map(|(params, more)| MultiPartExt { params, more }),
        );
        prop_oneof![
            (vec(inner.clone(), 1..3), istring(), multi_ext).prop_map(|(parts, subtype, ext)| {
                Body::Multi(MultiPart {
                    parts,
                    subtype,
                    ext,
                })
            }),
            (envelope(), inner, body_fields(), u63()).prop_map(
                |(envelope, body, fields, lines)| Body::Single(SinglePart {
                    media_type: IString::Quoted(Cow::Borrowed("MESSAGE")),
                    subtype: IString::Quoted(Cow::Borrowed("RFC822")),
                    fields,
                    specific: SinglePartKind::Message {
                        envelope: Box::new(envelope),
                        body: Box::new(body),
                        lines
                    },
                    ext: None,
                })
            ),
        ]
    })
}

fn section() -> BoxedStrategy<Section<'static>> {
    section_unboxed().boxed()
}

fn section_unboxed() -> impl Strategy<Value = Section<'static>> {
    let astr = prop_oneof![
        bare_astring(atom_str()),
        "[ -~]{0,8}".prop_map(|s| AString::String(IString::Quoted(Cow::Owned(s))))
    ];
    (vec(nz(), 0..3), 0..6u8, prop::bool::ANY, vec(astr, 1..3)).prop_map(
        |(part, t, not, fields)| {
            let text = match t {
                1 => Some(SectionText::Header),
                2 => Some(SectionText::Text),
                3 if !part.is_empty() => Some(SectionText::Mime),
                0 | 3 => None,
                _ => Some(SectionText::HeaderFields { not, fields }),
            };
            Section { part, text }
        },
    )
}

fn fetch_item() -> BoxedStrategy<FetchItem<'static>> {
    fetch_item_unboxed().boxed()
}

fn fetch_item_unboxed() -> impl Strategy<Value = FetchItem<'static>> {
    prop_oneof![
        vec(flag(false), 0..4).prop_map(FetchItem::Flags),
        nz().prop_map(FetchItem::Uid),
        date_time().prop_map(FetchItem::InternalDate),
        u63().prop_map(FetchItem::Rfc822Size),
        envelope().prop_map(|e| FetchItem::Envelope(Box::new(e))),
        body().prop_map(|b| FetchItem::Body(Box::new(b))),
        body().prop_map(|b| FetchItem::BodyStructure(Box::new(b))),
        (section(), option::of(any::<u32>()), nstring()).prop_map(|(section, origin, data)| {
            FetchItem::BodySection {
                section,
                origin,
                data,
            }
        }),
        (vec(nz(), 0..3), option::of(any::<u32>()), nstring8())
            .prop_map(|(part, origin, data)| FetchItem::Binary { part, origin, data }),
        (vec(nz(), 0..3), any::<u32>())
            .prop_map(|(part, size)| FetchItem::BinarySize { part, size }),
        u63().prop_map(FetchItem::ModSeq),
        objectid().prop_map(FetchItem::EmailId),
        option::of(objectid()).prop_map(FetchItem::ThreadId),
        option::of(date_time()).prop_map(FetchItem::SaveDate),
        nstring().prop_map(FetchItem::Rfc822),
        nstring().prop_map(FetchItem::Rfc822Header),
        nstring().prop_map(FetchItem::Rfc822Text),
        nstring().prop_map(FetchItem::Preview),
    ]
}

fn data() -> BoxedStrategy<Data<'static>> {
    data_unboxed().boxed()
}

fn data_unboxed() -> impl Strategy<Value = Data<'static>> {
    prop_oneof![
        vec(capability(), 0..5).prop_map(Data::Capability),
        vec(capability(), 0..3).prop_map(Data::Enabled),
        list_data().prop_map(Data::List),
        list_data().prop_map(|mut l| {
            l.extended = None;
            Data::Lsub(l)
        }),
        (mailbox(), vec(status_item(), 0..4))
            .prop_map(|(mailbox, items)| Data::Status { mailbox, items }),
        search_result().prop_map(Data::Search),
        search_result().prop_map(Data::Sort),
        esearch().prop_map(Data::ESearch),
        vec(flag(false), 0..5).prop_map(Data::Flags),
        any::<u32>().prop_map(Data::Exists),
        any::<u32>().prop_map(Data::Recent),
        nz().prop_map(Data::Expunge),
        (prop::bool::ANY, uid_set()).prop_map(|(earlier, uids)| Data::Vanished { earlier, uids }),
        (nz(), vec(fetch_item(), 1..4)).prop_map(|(seq, items)| Data::Fetch { seq, items }),
        option::of(vec((istring(), nstring()), 0..3)).prop_map(Data::Id),
        namespaces().prop_map(Data::Namespace),
        (astring(), vec(quota_resource(), 0..3))
            .prop_map(|(root, resources)| Data::Quota { root, resources }),
        (mailbox(), vec(astring(), 0..3))
            .prop_map(|(mailbox, roots)| Data::QuotaRoot { mailbox, roots }),
        (
            mailbox(),
            prop_oneof![
                vec((astring(), nstring8()), 1..3).prop_map(MetadataEntries::Values),
                vec(astring(), 1..3).prop_map(MetadataEntries::Names),
            ]
        )
            .prop_map(|(mailbox, entries)| Data::Metadata { mailbox, entries }),
        vec(thread(), 0..3).prop_map(Data::Thread),
    ]
}

fn response() -> BoxedStrategy<Response<'static>> {
    response_unboxed().boxed()
}

fn response_unboxed() -> impl Strategy<Value = Response<'static>> {
    prop_oneof![1 => status(), 1 => continue_req(), 4 => data().prop_map(Response::Data)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(resp in response()) {
        // Under UTF-8 every value keeps its form (8-bit text stays quoted).
        let opts = ResponseOptions { utf8: true, ..ResponseOptions::default() };
        let bytes = encode_with(&resp, &opts);
        let parsed = parse_response(&bytes, &opts);
        prop_assert!(parsed.is_ok(), "{:?} for {:?}", parsed, String::from_utf8_lossy(&bytes));
        prop_assert_eq!(parsed.unwrap(), resp.clone());
        // Through the framer too: the encoded response is exactly one message.
        let (rest, framed) = sansmail_imap::codec::decode_response(&bytes, &opts).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(framed.into_owned(), resp.clone());
        seven_bit_round_trip(&resp)?;
    }

    #[test]
    fn round_trip_bodies(b in body()) {
        let resp = Response::Data(Data::Fetch { seq: 1, items: vec![FetchItem::BodyStructure(Box::new(b))] });
        let opts = ResponseOptions { utf8: true, ..ResponseOptions::default() };
        let bytes = encode_with(&resp, &opts);
        prop_assert_eq!(parse_response(&bytes, &opts).unwrap(), resp.clone());
        seven_bit_round_trip(&resp)?;
    }
}

/// IMAP4rev1 (RFC 3501 §4.3): 8-bit quoted text goes as a literal, which parses, and
/// re-encoding what was parsed gives the same octets.
fn seven_bit_round_trip(resp: &Response<'static>) -> Result<(), TestCaseError> {
    let opts = ResponseOptions::default();
    let bytes = encode_with(resp, &opts);
    let parsed = parse_response(&bytes, &opts);
    prop_assert!(
        parsed.is_ok(),
        "{:?} for {:?}",
        parsed,
        String::from_utf8_lossy(&bytes)
    );
    prop_assert_eq!(encode_with(&parsed.unwrap(), &opts), bytes);
    Ok(())
}
