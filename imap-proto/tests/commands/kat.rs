//! Known answers: input octets → the typed command, for every command form.

use std::borrow::Cow;

use sansmail_imap::{
    codec::{
        CommandOptions, EncodeBuf, decode_command, encode_command, frame::LiteralMode,
        parse_command,
    },
    types::{
        capability::Capability,
        command::{
            AppendData, AppendMessage, CatPart, CommandBody as B, ListMailbox, ListReturnOpt,
            ListSelectOpt, MetadataDepth, MetadataOptions, QResync, QuotaLimit, SaslResponse,
            Secret, SelectParam, StoreAction,
        },
        core::{AString, Atom, IString, Literal, Tag},
        datetime::DateTime,
        fetch_attr::{FetchAttr, FetchItems, FetchMacro, FetchModifiers, Partial},
        flag::{Flag, MailboxAttr},
        objectid::ObjectId,
        search::{
            EntryType, ModSeqEntry, PartialRange, SearchKey as K, SearchReturnOpt, SortCriterion,
            SortKey, ThreadAlgorithm, charset,
        },
        section::{Section, SectionText},
        status::StatusAttr,
    },
};

use super::{
    a, assert_strict_prefixes_incomplete, cmd, date, encode, frame_bytewise, frame_split, mbx, q,
    qs, seq,
};

fn tag(s: &'static str) -> Tag<'static> {
    Tag::new(s).unwrap()
}

fn atom(s: &'static str) -> Atom<'static> {
    Atom::new(s).unwrap()
}

fn neg(k: K<'static>) -> K<'static> {
    !k
}

fn lit(data: &'static [u8], mode: LiteralMode) -> Literal<'static> {
    Literal::new(data, mode).unwrap()
}

fn astr_lit(data: &'static [u8], mode: LiteralMode) -> AString<'static> {
    AString::String(IString::Literal(lit(data, mode)))
}

fn kw(s: &'static str) -> Flag<'static> {
    Flag::keyword(s).unwrap()
}

fn tok(s: &'static str) -> ListMailbox<'static> {
    ListMailbox::Token(Cow::Borrowed(s))
}

fn dt(s: &str) -> DateTime {
    // "26-Nov-2026 10:00:00 +0000"
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day: u8 = s[..2].trim().parse().unwrap();
    let month = u8::try_from(months.iter().position(|m| *m == &s[3..6]).unwrap()).unwrap() + 1;
    let year: u16 = s[7..11].parse().unwrap();
    let (h, m, sec) = (
        s[12..14].parse().unwrap(),
        s[15..17].parse().unwrap(),
        s[18..20].parse().unwrap(),
    );
    let sign: i16 = if &s[21..22] == "-" { -1 } else { 1 };
    let zone: i16 = s[22..26].parse().unwrap();
    DateTime::new(
        date(year, month, day),
        h,
        m,
        sec,
        sign * (zone / 100 * 60 + zone % 100),
    )
    .unwrap()
}

fn body_section(
    peek: bool,
    part: Vec<u32>,
    text: Option<SectionText<'static>>,
    partial: Option<Partial>,
) -> FetchAttr<'static> {
    FetchAttr::BodySection {
        peek,
        section: Section { part, text },
        partial,
    }
}

fn search(uid: bool, charset: Option<AString<'static>>, criteria: Vec<K<'static>>) -> B<'static> {
    B::Search {
        uid,
        return_opts: None,
        charset,
        criteria,
    }
}

fn fetch(uid: bool, set: &str, items: FetchItems<'static>) -> B<'static> {
    B::Fetch {
        uid,
        set: seq(set),
        items,
        modifiers: FetchModifiers::default(),
    }
}

fn store(
    uid: bool,
    set: &str,
    action: StoreAction,
    silent: bool,
    flags: Vec<Flag<'static>>,
) -> B<'static> {
    B::Store {
        uid,
        set: seq(set),
        unchanged_since: None,
        action,
        silent,
        flags,
    }
}

fn append1(
    mailbox: AString<'static>,
    flags: Option<Vec<Flag<'static>>>,
    date: Option<&str>,
    data: AppendData<'static>,
) -> B<'static> {
    B::Append {
        mailbox: mbx(mailbox),
        messages: vec![AppendMessage {
            flags,
            date: date.map(dt),
            data,
        }],
    }
}

/// (input, expected, whether encoding the expected value gives the input back)
fn table() -> Vec<(
    &'static [u8],
    sansmail_imap::types::command::Command<'static>,
    bool,
)> {
    use LiteralMode::{NonSync, Sync};
    let all_keys = vec![
        K::All,
        K::Answered,
        K::Bcc(a("x")),
        K::Before(date(2000, 1, 1)),
        K::Body(a("y")),
        K::Cc(a("z")),
        K::Deleted,
        K::Draft,
        K::Flagged,
        K::From(q("Smith, J")),
        K::Header(a("Message-ID"), q("<x@y>")),
        K::Keyword(atom("$Forwarded")),
        K::Larger(100),
        K::New,
        neg(K::Seen),
        K::Old,
        K::On(date(2020, 3, 2)),
        K::or(K::Answered, K::Flagged),
        K::Recent,
        K::Seen,
        K::SentBefore(date(2001, 12, 31)),
        K::SentOn(date(2002, 2, 2)),
        K::SentSince(date(2003, 3, 3)),
        K::Since(date(2004, 4, 4)),
        K::Smaller(5),
        K::Subject(a("s")),
        K::Text(a("t")),
        K::To(a("u")),
        K::Uid(seq("1:*")),
        K::Unanswered,
        K::Undeleted,
        K::Undraft,
        K::Unflagged,
        K::Unkeyword(atom("$Junk")),
        K::Unseen,
        K::SequenceSet(seq("1,2:4")),
        K::SequenceSet(seq("$")),
        K::and(vec![K::Seen, K::Flagged]).unwrap(),
        K::ModSeq {
            entry: None,
            modseq: 620_162_338,
        },
        K::ModSeq {
            entry: Some(ModSeqEntry {
                flag: Flag::Draft,
                entry_type: EntryType::All,
            }),
            modseq: 620_162_338,
        },
        K::ModSeq {
            entry: Some(ModSeqEntry {
                flag: kw("$Junk"),
                entry_type: EntryType::Private,
            }),
            modseq: 0,
        },
        K::Older(3600),
        K::Younger(60),
        K::SavedBefore(date(2019, 1, 1)),
        K::SavedOn(date(2019, 1, 2)),
        K::SavedSince(date(2019, 1, 3)),
        K::SaveDateSupported,
        K::EmailId(ObjectId::new("M6d99ac3275bb4e").unwrap()),
        K::ThreadId(ObjectId::new("T64b478a75b7ea9").unwrap()),
    ];
    vec![
        (b"A1 CAPABILITY\r\n", cmd("A1", B::Capability), true),
        (b"A1 NOOP\r\n", cmd("A1", B::Noop), true),
        (b"A1 LOGOUT\r\n", cmd("A1", B::Logout), true),
        (b"A1 STARTTLS\r\n", cmd("A1", B::StartTls), true),
        (b"A1 NAMESPACE\r\n", cmd("A1", B::Namespace), true),
        (b"A1 IDLE\r\n", cmd("A1", B::Idle), true),
        (b"A1 CHECK\r\n", cmd("A1", B::Check), true),
        (b"A1 CLOSE\r\n", cmd("A1", B::Close), true),
        (b"A1 UNSELECT\r\n", cmd("A1", B::Unselect), true),
        (b"A1 EXPUNGE\r\n", cmd("A1", B::Expunge), true),
        (b"a1 noop\r\n", cmd("a1", B::Noop), false),
        (b"A1 AUTHENTICATE PLAIN\r\n", cmd("A1", B::Authenticate { mechanism: atom("PLAIN"), initial: None }), true),
        (
            b"A1 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
            cmd("A1", B::Authenticate {
                mechanism: atom("PLAIN"),
                initial: Some(SaslResponse::base64("dGVzdAB0ZXN0AHRlc3Q=").unwrap()),
            }),
            true,
        ),
        (
            b"A1 AUTHENTICATE EXTERNAL =\r\n",
            cmd("A1", B::Authenticate { mechanism: atom("EXTERNAL"), initial: Some(SaslResponse::Empty) }),
            true,
        ),
        (b"A1 LOGIN grace \"p@ss w0rd\"\r\n", cmd("A1", B::Login { username: a("grace"), password: Secret::new(q("p@ss w0rd")) }), true),
        (
            b"A1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
            cmd("A1", B::Login { username: astr_lit(b"alice", Sync), password: Secret::new(astr_lit(b"secret", NonSync)) }),
            true,
        ),
        (
            b"A1 ENABLE CONDSTORE UTF8=ACCEPT X-FOO\r\n",
            cmd("A1", B::Enable { capabilities: vec![Capability::CondStore, Capability::Utf8Accept, Capability::other("X-FOO").unwrap()] }),
            true,
        ),
        (b"A1 SELECT INBOX\r\n", cmd("A1", B::Select { mailbox: mbx(a("INBOX")), params: vec![] }), true),
        (b"A1 SELECT inbox\r\n", cmd("A1", B::Select { mailbox: mbx(a("inbox")), params: vec![] }), true),
        (
            b"A1 SELECT &AMQ-rger (CONDSTORE)\r\n",
            cmd("A1", B::Select { mailbox: mbx(a("&AMQ-rger")), params: vec![SelectParam::CondStore] }),
            true,
        ),
        (
            b"A1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
            cmd("A1", B::Select {
                mailbox: mbx(a("INBOX")),
                params: vec![SelectParam::QResync(QResync {
                    uid_validity: 67_890_007,
                    modseq: 20_050_715_194_045_000,
                    known_uids: Some(seq("41,43:211,214:541")),
                    seq_match: None,
                })],
            }),
            true,
        ),
        (
            b"A1 EXAMINE INBOX (CONDSTORE QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000 15000,22500,27000)))\r\n",
            cmd("A1", B::Examine {
                mailbox: mbx(a("INBOX")),
                params: vec![
                    SelectParam::CondStore,
                    SelectParam::QResync(QResync {
                        uid_validity: 67_890_007,
                        modseq: 90_060_115_194_045_000,
                        known_uids: Some(seq("1:29997")),
                        seq_match: Some((seq("5000,7500,9000"), seq("15000,22500,27000"))),
                    }),
                ],
            }),
            true,
        ),
        (
            b"A1 SELECT x (QRESYNC (1 2 (1 3)))\r\n",
            cmd("A1", B::Select {
                mailbox: mbx(a("x")),
                params: vec![SelectParam::QResync(QResync { uid_validity: 1, modseq: 2, known_uids: None, seq_match: Some((seq("1"), seq("3"))) })],
            }),
            true,
        ),
        (b"A1 EXAMINE \"Projects/mail \\\"quoted\\\"\"\r\n", cmd("A1", B::Examine { mailbox: mbx(q("Projects/mail \"quoted\"")), params: vec![] }), true),
        (b"A1 CREATE Projects/2025\r\n", cmd("A1", B::Create { mailbox: mbx(a("Projects/2025")), special_use: None }), true),
        (
            b"A1 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n",
            cmd("A1", B::Create { mailbox: mbx(a("MySpecial")), special_use: Some(vec![MailboxAttr::Drafts, MailboxAttr::Sent]) }),
            true,
        ),
        (b"A1 CREATE x (USE ())\r\n", cmd("A1", B::Create { mailbox: mbx(a("x")), special_use: Some(vec![]) }), true),
        (b"A1 DELETE blurdybloop\r\n", cmd("A1", B::Delete { mailbox: mbx(a("blurdybloop")) }), true),
        (b"A1 RENAME blurdybloop sarasoop\r\n", cmd("A1", B::Rename { from: mbx(a("blurdybloop")), to: mbx(a("sarasoop")) }), true),
        (b"A1 SUBSCRIBE #news.comp.mail.mime\r\n", cmd("A1", B::Subscribe { mailbox: mbx(a("#news.comp.mail.mime")) }), true),
        (b"A1 UNSUBSCRIBE {4}\r\nabcd\r\n", cmd("A1", B::Unsubscribe { mailbox: mbx(astr_lit(b"abcd", Sync)) }), true),
        (
            b"A1 LIST \"\" *\r\n",
            cmd("A1", B::List { selection: None, reference: mbx(q("")), patterns: vec![tok("*")], return_opts: None }),
            true,
        ),
        (
            b"A1 LIST ~peter/mail/ %/&U,BTFw-\r\n",
            cmd("A1", B::List { selection: None, reference: mbx(a("~peter/mail/")), patterns: vec![tok("%/&U,BTFw-")], return_opts: None }),
            true,
        ),
        (
            b"A1 LIST (SUBSCRIBED REMOTE RECURSIVEMATCH) \"\" (\"INBOX\" Drafts Sent/%) RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
            cmd("A1", B::List {
                selection: Some(vec![ListSelectOpt::Subscribed, ListSelectOpt::Remote, ListSelectOpt::RecursiveMatch]),
                reference: mbx(q("")),
                patterns: vec![ListMailbox::String(qs("INBOX")), tok("Drafts"), tok("Sent/%")],
                return_opts: Some(vec![
                    ListReturnOpt::Children,
                    ListReturnOpt::Subscribed,
                    ListReturnOpt::SpecialUse,
                    ListReturnOpt::Status(vec![StatusAttr::Messages, StatusAttr::Unseen]),
                ]),
            }),
            true,
        ),
        (
            b"A1 LIST () \"\" % RETURN ()\r\n",
            cmd("A1", B::List { selection: Some(vec![]), reference: mbx(q("")), patterns: vec![tok("%")], return_opts: Some(vec![]) }),
            true,
        ),
        (
            b"A1 LIST (SPECIAL-USE RECURSIVEMATCH) \"\" *\r\n",
            cmd("A1", B::List {
                selection: Some(vec![ListSelectOpt::SpecialUse, ListSelectOpt::RecursiveMatch]),
                reference: mbx(q("")),
                patterns: vec![tok("*")],
                return_opts: None,
            }),
            true,
        ),
        (
            b"A1 LIST \"\" (\"*\")\r\n",
            cmd("A1", B::List { selection: None, reference: mbx(q("")), patterns: vec![ListMailbox::String(qs("*"))], return_opts: None }),
            false,
        ),
        (b"A1 LSUB \"#news.\" \"comp.mail.*\"\r\n", cmd("A1", B::Lsub { reference: mbx(q("#news.")), pattern: ListMailbox::String(qs("comp.mail.*")) }), true),
        (
            b"A1 STATUS Drafts (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT MAILBOXID DELETED-STORAGE)\r\n",
            cmd("A1", B::Status { mailbox: mbx(a("Drafts")), attrs: StatusAttr::ALL.to_vec() }),
            true,
        ),
        (
            b"A1 STATUS blurdybloop (uidnext messages)\r\n",
            cmd("A1", B::Status { mailbox: mbx(a("blurdybloop")), attrs: vec![StatusAttr::UidNext, StatusAttr::Messages] }),
            false,
        ),
        (
            b"A1 APPEND Sent (\\Seen) \"26-Nov-2026 10:00:00 +0000\" {5+}\r\nhello\r\n",
            cmd("A1", append1(a("Sent"), Some(vec![Flag::Seen]), Some("26-Nov-2026 10:00:00 +0000"), AppendData::Literal(lit(b"hello", NonSync)))),
            true,
        ),
        (b"A1 APPEND INBOX {5}\r\nhello\r\n", cmd("A1", append1(a("INBOX"), None, None, AppendData::Literal(lit(b"hello", Sync)))), true),
        (
            b"A1 APPEND INBOX \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi\r\n",
            cmd("A1", append1(a("INBOX"), None, Some(" 7-Feb-1994 21:52:25 -0800"), AppendData::Literal(lit(b"hi", Sync)))),
            false,
        ),
        (
            b"A1 APPEND INBOX () ~{3}\r\na\0b\r\n",
            cmd("A1", append1(a("INBOX"), Some(vec![]), None, AppendData::Literal(Literal::binary(&b"a\0b"[..], Sync)))),
            true,
        ),
        (
            b"A1 APPEND INBOX UTF8 (~{5+}\r\nh\xc3\xa9lo)\r\n",
            cmd("A1", append1(a("INBOX"), None, None, AppendData::Utf8(Literal::binary(&b"h\xc3\xa9lo"[..], NonSync)))),
            true,
        ),
        // CATENATE (RFC 4469): text and URL parts, the URL an astring.
        (
            b"A1 APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY=3/;UID=20/;SECTION=1\" TEXT {3+}\r\nabc URL ;UID=4)\r\n",
            cmd("A1", append1(a("Drafts"), None, None, AppendData::Catenate(vec![
                CatPart::Url(AString::String(IString::Quoted(Cow::Borrowed("/INBOX;UIDVALIDITY=3/;UID=20/;SECTION=1")))),
                CatPart::Text(lit(b"abc", NonSync)),
                CatPart::Url(a(";UID=4")),
            ]))),
            true,
        ),
        (
            b"A1 APPEND INBOX (\\Seen $Label1) {3+}\r\nabc () \"01-Jan-2025 00:00:00 -0500\" {2}\r\nde ~{1}\r\nf\r\n",
            cmd("A1", B::Append {
                mailbox: mbx(a("INBOX")),
                messages: vec![
                    AppendMessage { flags: Some(vec![Flag::Seen, kw("$Label1")]), date: None, data: AppendData::Literal(lit(b"abc", NonSync)) },
                    AppendMessage { flags: Some(vec![]), date: Some(dt("01-Jan-2025 00:00:00 -0500")), data: AppendData::Literal(lit(b"de", Sync)) },
                    AppendMessage { flags: None, date: None, data: AppendData::Literal(Literal::binary(&b"f"[..], Sync)) },
                ],
            }),
            true,
        ),
        (b"A1 UID EXPUNGE 3000:3002\r\n", cmd("A1", B::UidExpunge { set: seq("3000:3002") }), true),
        (
            b"A1 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
            cmd("A1", search(false, None, vec![K::Flagged, K::Since(date(1994, 2, 1)), neg(K::From(q("Smith")))])),
            true,
        ),
        (
            b"A1 UID SEARCH CHARSET UTF-8 OR FROM carol SUBJECT report SINCE 1-Feb-2025 NOT DELETED\r\n",
            cmd("A1", search(true, Some(charset("UTF-8").unwrap()), vec![
                K::or(K::From(a("carol")), K::Subject(a("report"))),
                K::Since(date(2025, 2, 1)),
                neg(K::Deleted),
            ])),
            true,
        ),
        (
            b"A1 SEARCH ALL ANSWERED BCC x BEFORE 1-Jan-2000 BODY y CC z DELETED DRAFT FLAGGED FROM \"Smith, J\" HEADER Message-ID \"<x@y>\" KEYWORD $Forwarded LARGER 100 NEW NOT SEEN OLD ON 2-Mar-2020 OR ANSWERED FLAGGED RECENT SEEN SENTBEFORE 31-Dec-2001 SENTON 2-Feb-2002 SENTSINCE 3-Mar-2003 SINCE 4-Apr-2004 SMALLER 5 SUBJECT s TEXT t TO u UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $Junk UNSEEN 1,2:4 $ (SEEN FLAGGED) MODSEQ 620162338 MODSEQ \"/flags/\\\\Draft\" all 620162338 MODSEQ \"/flags/$Junk\" priv 0 OLDER 3600 YOUNGER 60 SAVEDBEFORE 1-Jan-2019 SAVEDON 2-Jan-2019 SAVEDSINCE 3-Jan-2019 SAVEDATESUPPORTED EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9\r\n",
            cmd("A1", search(false, None, all_keys)),
            true,
        ),
        (
            b"A1 search since \"01-feb-1994\" not (from smith)\r\n",
            cmd("A1", search(false, None, vec![K::Since(date(1994, 2, 1)), neg(K::and(vec![K::From(a("smith"))]).unwrap())])),
            false,
        ),
        (
            b"A1 SEARCH RETURN (MIN MAX COUNT ALL SAVE) UNSEEN\r\n",
            cmd("A1", B::Search {
                uid: false,
                return_opts: Some(vec![SearchReturnOpt::Min, SearchReturnOpt::Max, SearchReturnOpt::Count, SearchReturnOpt::All, SearchReturnOpt::Save]),
                charset: None,
                criteria: vec![K::Unseen],
            }),
            true,
        ),
        (
            b"A1 SEARCH RETURN (PARTIAL -1:-100 COUNT) ALL\r\n",
            cmd("A1", B::Search {
                uid: false,
                return_opts: Some(vec![SearchReturnOpt::Partial(PartialRange::new(true, 1, 100).unwrap()), SearchReturnOpt::Count]),
                charset: None,
                criteria: vec![K::All],
            }),
            true,
        ),
        (
            b"A1 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n",
            cmd("A1", search(false, Some(charset("UTF-8").unwrap()), vec![K::Text(astr_lit(b"XXXXXX", Sync))])),
            true,
        ),
        (b"A1 SEARCH $\r\n", cmd("A1", search(false, None, vec![K::SequenceSet(seq("$"))])), true),
        (b"A1 FETCH 1:* ALL\r\n", cmd("A1", fetch(false, "1:*", FetchItems::Macro(FetchMacro::All))), true),
        (b"A1 FETCH 1 FAST\r\n", cmd("A1", fetch(false, "1", FetchItems::Macro(FetchMacro::Fast))), true),
        (b"A1 FETCH 1 FULL\r\n", cmd("A1", fetch(false, "1", FetchItems::Macro(FetchMacro::Full))), true),
        (b"A1 FETCH 2 FLAGS\r\n", cmd("A1", fetch(false, "2", FetchItems::Single(FetchAttr::Flags))), true),
        (b"A1 FETCH 2 (FLAGS)\r\n", cmd("A1", fetch(false, "2", FetchItems::List(vec![FetchAttr::Flags]))), true),
        (
            b"A1 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
            cmd("A1", fetch(false, "2:4", FetchItems::List(vec![
                FetchAttr::Flags,
                body_section(false, vec![], Some(SectionText::HeaderFields { not: false, fields: vec![a("DATE"), a("FROM")] }), None),
            ]))),
            true,
        ),
        (
            b"A1 FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Received)]\r\n",
            cmd("A1", fetch(false, "1", FetchItems::Single(body_section(true, vec![], Some(SectionText::HeaderFields { not: true, fields: vec![a("Received")] }), None)))),
            true,
        ),
        (
            b"A1 UID FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE BODY[] BODY[1.2.MIME] BODY[3.HEADER] BODY.PEEK[TEXT]<0.2048> BINARY[1] BINARY.PEEK[1.2]<10.20> BINARY.SIZE[] MODSEQ EMAILID THREADID SAVEDATE RFC822 RFC822.HEADER RFC822.TEXT PREVIEW PREVIEW (LAZY))\r\n",
            cmd("A1", fetch(true, "1", FetchItems::List(vec![
                FetchAttr::Uid,
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::Body,
                FetchAttr::BodyStructure,
                body_section(false, vec![], None, None),
                body_section(false, vec![1, 2], Some(SectionText::Mime), None),
                body_section(false, vec![3], Some(SectionText::Header), None),
                body_section(true, vec![], Some(SectionText::Text), Some(Partial::new(0, 2048).unwrap())),
                FetchAttr::Binary { peek: false, part: vec![1], partial: None },
                FetchAttr::Binary { peek: true, part: vec![1, 2], partial: Some(Partial::new(10, 20).unwrap()) },
                FetchAttr::BinarySize { part: vec![] },
                FetchAttr::ModSeq,
                FetchAttr::EmailId,
                FetchAttr::ThreadId,
                FetchAttr::SaveDate,
                FetchAttr::Rfc822,
                FetchAttr::Rfc822Header,
                FetchAttr::Rfc822Text,
                FetchAttr::Preview { lazy: false },
                FetchAttr::Preview { lazy: true },
            ]))),
            true,
        ),
        (
            b"A1 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
            cmd("A1", B::Fetch {
                uid: true,
                set: seq("300:500"),
                items: FetchItems::List(vec![FetchAttr::Flags]),
                modifiers: FetchModifiers { changed_since: Some(12345), vanished: true, partial: None },
            }),
            true,
        ),
        (
            b"A1 FETCH 1:* FLAGS (CHANGEDSINCE 7)\r\n",
            cmd("A1", B::Fetch { uid: false, set: seq("1:*"), items: FetchItems::Single(FetchAttr::Flags), modifiers: FetchModifiers { changed_since: Some(7), vanished: false, partial: None } }),
            true,
        ),
        // RFC 9394 §3.3.
        (
            b"10 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)\r\n",
            cmd("10", B::Fetch {
                uid: true,
                set: seq("25900:26600"),
                items: FetchItems::List(vec![FetchAttr::Uid, FetchAttr::Flags]),
                modifiers: FetchModifiers { changed_since: None, vanished: false, partial: Some(PartialRange::new(true, 1, 3).unwrap()) },
            }),
            true,
        ),
        (
            b"11 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 9 PARTIAL 1:5)\r\n",
            cmd("11", B::Fetch {
                uid: true,
                set: seq("1:*"),
                items: FetchItems::List(vec![FetchAttr::Flags]),
                modifiers: FetchModifiers { changed_since: Some(9), vanished: false, partial: Some(PartialRange::new(false, 1, 5).unwrap()) },
            }),
            true,
        ),
        (b"A1 fetch 1 body[]\r\n", cmd("A1", fetch(false, "1", FetchItems::Single(body_section(false, vec![], None, None)))), false),
        (b"A1 STORE 2:4 +FLAGS (\\Deleted)\r\n", cmd("A1", store(false, "2:4", StoreAction::Add, false, vec![Flag::Deleted])), true),
        (
            b"A1 UID STORE 4576:4579 +FLAGS.SILENT (\\Seen $Forwarded)\r\n",
            cmd("A1", store(true, "4576:4579", StoreAction::Add, true, vec![Flag::Seen, kw("$Forwarded")])),
            true,
        ),
        (b"A1 STORE 1 FLAGS ()\r\n", cmd("A1", store(false, "1", StoreAction::Replace, false, vec![])), true),
        (b"A1 STORE 1 -FLAGS \\Seen \\Flagged\r\n", cmd("A1", store(false, "1", StoreAction::Remove, false, vec![Flag::Seen, Flag::Flagged])), false),
        (
            b"A1 STORE 1 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Flagged)\r\n",
            cmd("A1", B::Store { uid: false, set: seq("1"), unchanged_since: Some(12_121_230_045), action: StoreAction::Remove, silent: true, flags: vec![Flag::Flagged] }),
            true,
        ),
        (b"A1 COPY 2:4 MEETING\r\n", cmd("A1", B::Copy { uid: false, set: seq("2:4"), mailbox: mbx(a("MEETING")) }), true),
        (b"A1 UID COPY 1:3 \"Saved Mail\"\r\n", cmd("A1", B::Copy { uid: true, set: seq("1:3"), mailbox: mbx(q("Saved Mail")) }), true),
        (b"A1 MOVE 1 Trash\r\n", cmd("A1", B::Move { uid: false, set: seq("1"), mailbox: mbx(a("Trash")) }), true),
        (b"A1 UID MOVE 4576 Archive/2025\r\n", cmd("A1", B::Move { uid: true, set: seq("4576"), mailbox: mbx(a("Archive/2025")) }), true),
        (b"A1 ID NIL\r\n", cmd("A1", B::Id { params: None }), true),
        (b"A1 ID ()\r\n", cmd("A1", B::Id { params: Some(vec![]) }), true),
        (
            b"A1 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL {4+}\r\nx-id \"y\")\r\n",
            cmd("A1", B::Id {
                params: Some(vec![
                    (qs("name"), Some(qs("sodr"))),
                    (qs("version"), Some(qs("19.34"))),
                    (qs("vendor"), None),
                    (IString::Literal(lit(b"x-id", NonSync)), Some(qs("y"))),
                ]),
            }),
            true,
        ),
        (b"A1 GETQUOTA \"\"\r\n", cmd("A1", B::GetQuota { root: q("") }), true),
        (b"A1 GETQUOTAROOT INBOX\r\n", cmd("A1", B::GetQuotaRoot { mailbox: mbx(a("INBOX")) }), true),
        (
            b"A1 SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)\r\n",
            cmd("A1", B::SetQuota {
                root: q(""),
                limits: vec![QuotaLimit { resource: atom("STORAGE"), limit: 512 }, QuotaLimit { resource: atom("MESSAGE"), limit: 1000 }],
            }),
            true,
        ),
        (b"A1 SETQUOTA x ()\r\n", cmd("A1", B::SetQuota { root: a("x"), limits: vec![] }), true),
        (b"A1 COMPRESS DEFLATE\r\n", cmd("A1", B::Compress { algorithm: atom("DEFLATE") }), true),
        (
            b"A1 SORT (DATE) UTF-8 SINCE 1-Feb-1994\r\n",
            cmd("A1", B::Sort {
                uid: false,
                return_opts: None,
                criteria: vec![SortCriterion { reverse: false, key: SortKey::Date }],
                charset: charset("UTF-8").unwrap(),
                keys: vec![K::Since(date(1994, 2, 1))],
            }),
            true,
        ),
        (
            b"A1 UID SORT (REVERSE ARRIVAL SUBJECT CC FROM SIZE TO DISPLAYFROM REVERSE DISPLAYTO) US-ASCII ALL\r\n",
            cmd("A1", B::Sort {
                uid: true,
                return_opts: None,
                criteria: vec![
                    SortCriterion { reverse: true, key: SortKey::Arrival },
                    SortCriterion { reverse: false, key: SortKey::Subject },
                    SortCriterion { reverse: false, key: SortKey::Cc },
                    SortCriterion { reverse: false, key: SortKey::From },
                    SortCriterion { reverse: false, key: SortKey::Size },
                    SortCriterion { reverse: false, key: SortKey::To },
                    SortCriterion { reverse: false, key: SortKey::DisplayFrom },
                    SortCriterion { reverse: true, key: SortKey::DisplayTo },
                ],
                charset: charset("US-ASCII").unwrap(),
                keys: vec![K::All],
            }),
            true,
        ),
        (
            b"A1 SORT RETURN (MIN COUNT) (SIZE) UTF-8 UNDELETED UNKEYWORD $Junk\r\n",
            cmd("A1", B::Sort {
                uid: false,
                return_opts: Some(vec![SearchReturnOpt::Min, SearchReturnOpt::Count]),
                criteria: vec![SortCriterion { reverse: false, key: SortKey::Size }],
                charset: charset("UTF-8").unwrap(),
                keys: vec![K::Undeleted, K::Unkeyword(atom("$Junk"))],
            }),
            true,
        ),
        // RFC 5267 §4.3 (B01, B02), §4.3.5 (B04), RFC 9394 §3.1.
        (
            b"B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk\r\n",
            cmd("B01", B::Search {
                uid: true,
                return_opts: Some(vec![SearchReturnOpt::Update, SearchReturnOpt::Count]),
                charset: None,
                criteria: vec![K::Deleted, K::Keyword(atom("$Junk"))],
            }),
            true,
        ),
        (
            b"B02 UID SORT RETURN (CONTEXT UPDATE PARTIAL 23500:24000) (REVERSE DATE) UTF-8 UNDELETED\r\n",
            cmd("B02", B::Sort {
                uid: true,
                return_opts: Some(vec![
                    SearchReturnOpt::Context,
                    SearchReturnOpt::Update,
                    SearchReturnOpt::Partial(PartialRange::new(false, 23500, 24000).unwrap()),
                ]),
                criteria: vec![SortCriterion { reverse: true, key: SortKey::Date }],
                charset: charset("UTF-8").unwrap(),
                keys: vec![K::Undeleted],
            }),
            true,
        ),
        (
            b"b03 search return (context update) all\r\n",
            cmd("b03", B::Search {
                uid: false,
                return_opts: Some(vec![SearchReturnOpt::Context, SearchReturnOpt::Update]),
                charset: None,
                criteria: vec![K::All],
            }),
            false,
        ),
        (
            b"B04 CANCELUPDATE \"B01\"\r\n",
            cmd("B04", B::CancelUpdate { tags: vec![tag("B01")] }),
            true,
        ),
        (
            b"B05 CANCELUPDATE \"B01\" \"B02\"\r\n",
            cmd("B05", B::CancelUpdate { tags: vec![tag("B01"), tag("B02")] }),
            true,
        ),
        (
            b"A1 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-Mar-2000\r\n",
            cmd("A1", B::Thread { uid: false, algorithm: ThreadAlgorithm::OrderedSubject, charset: charset("UTF-8").unwrap(), keys: vec![K::Since(date(2000, 3, 5))] }),
            true,
        ),
        (
            b"A1 UID THREAD REFERENCES US-ASCII TEXT \"gewp\"\r\n",
            cmd("A1", B::Thread { uid: true, algorithm: ThreadAlgorithm::References, charset: charset("US-ASCII").unwrap(), keys: vec![K::Text(q("gewp"))] }),
            true,
        ),
        (
            b"A1 THREAD X-FANCY \"UTF-8\" ALL\r\n",
            cmd("A1", B::Thread { uid: false, algorithm: ThreadAlgorithm::Other(atom("X-FANCY")), charset: q("UTF-8"), keys: vec![K::All] }),
            true,
        ),
        (
            b"A1 GETMETADATA \"\" /shared/comment\r\n",
            cmd("A1", B::GetMetadata { options: MetadataOptions::default(), mailbox: mbx(q("")), entries: vec![a("/shared/comment")] }),
            true,
        ),
        (
            b"A1 GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX (/private/comment /shared/comment)\r\n",
            cmd("A1", B::GetMetadata {
                options: MetadataOptions { max_size: Some(1024), depth: Some(MetadataDepth::Infinity) },
                mailbox: mbx(a("INBOX")),
                entries: vec![a("/private/comment"), a("/shared/comment")],
            }),
            true,
        ),
        (
            b"A1 GETMETADATA (DEPTH 1) INBOX /private\r\n",
            cmd("A1", B::GetMetadata { options: MetadataOptions { max_size: None, depth: Some(MetadataDepth::One) }, mailbox: mbx(a("INBOX")), entries: vec![a("/private")] }),
            true,
        ),
        (
            b"A1 SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)\r\n",
            cmd("A1", B::SetMetadata {
                mailbox: mbx(a("INBOX")),
                entries: vec![(a("/private/comment"), Some(IString::Literal(lit(b"My new comment across\r\ntwo lines.", Sync))))],
            }),
            true,
        ),
        (
            b"A1 SETMETADATA INBOX (/private/comment NIL /shared/x \"v\" /shared/y ~{2}\r\na\0)\r\n",
            cmd("A1", B::SetMetadata {
                mailbox: mbx(a("INBOX")),
                entries: vec![
                    (a("/private/comment"), None),
                    (a("/shared/x"), Some(qs("v"))),
                    (a("/shared/y"), Some(IString::Literal(Literal::binary(&b"a\0"[..], Sync)))),
                ],
            }),
            true,
        ),
    ]
}

/// A quoted string is 7-bit in IMAP4rev1 (RFC 3501 §4.3): 8-bit text, which the parser
/// takes quoted as clients send it, goes out as a literal unless UTF-8 is in force.
#[test]
fn eight_bit_text_is_quoted_only_under_utf8() {
    let input = "A1 UID SEARCH RETURN () CHARSET \"UTF-8\" TEXT \"ä\"\r\n";
    let expected = cmd(
        "A1",
        B::Search {
            uid: true,
            return_opts: Some(vec![]),
            charset: Some(q("UTF-8")),
            criteria: vec![K::Text(q("ä"))],
        },
    );
    for utf8 in [false, true] {
        let opts = CommandOptions {
            utf8,
            ..CommandOptions::default()
        };
        assert_eq!(parse_command(input.as_bytes(), &opts).unwrap(), expected);
    }
    let mut seven_bit = EncodeBuf::new();
    encode_command(&expected, &CommandOptions::default(), &mut seven_bit);
    assert_eq!(
        String::from_utf8_lossy(&seven_bit.bytes),
        "A1 UID SEARCH RETURN () CHARSET \"UTF-8\" TEXT {2}\r\nä\r\n"
    );
    assert_eq!(seven_bit.literals.len(), 1);
    let mut utf8 = EncodeBuf::new();
    let opts = CommandOptions {
        utf8: true,
        ..CommandOptions::default()
    };
    encode_command(&expected, &opts, &mut utf8);
    assert_eq!(String::from_utf8_lossy(&utf8.bytes), input);
}

#[test]
fn known_answers() {
    let opts = CommandOptions::default();
    for (input, expected, canonical) in table() {
        let shown = String::from_utf8_lossy(input);
        let parsed = parse_command(input, &opts).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!(parsed, expected, "{shown:?}");
        let (rest, decoded) =
            decode_command(input, &opts).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert_eq!((rest, &decoded), (&b""[..], &expected), "{shown:?}");
        assert_eq!(parsed.clone().into_owned(), expected, "{shown:?}");
        let encoded = encode(&expected);
        if canonical {
            assert_eq!(String::from_utf8_lossy(&encoded.bytes), shown, "encoding");
            assert_eq!(encoded.bytes, input, "{shown:?}");
        }
        // Whatever the input's form, the encoding decodes to the same value.
        assert_eq!(
            parse_command(&encoded.bytes, &opts).unwrap(),
            expected,
            "{shown:?}"
        );
        // Every literal's octets start where the mark says.
        for mark in &encoded.literals {
            assert!(
                encoded.bytes[..mark.data_start].ends_with(b"}\r\n"),
                "{shown:?}"
            );
        }
    }
}

#[test]
fn known_answers_every_strict_prefix_is_incomplete() {
    for (input, _, _) in table() {
        assert_strict_prefixes_incomplete(input);
    }
}

#[test]
fn known_answers_every_split_point_frames_the_same() {
    for (input, expected, _) in table() {
        for split in 0..=input.len() {
            assert_eq!(
                frame_split(input, split),
                input.len(),
                "{:?} split at {split}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(frame_bytewise(input), input.len());
        // Followed by another command, the frame still ends at the same place.
        let mut two = input.to_vec();
        two.extend_from_slice(b"Z9 NOOP\r\n");
        for split in 0..=two.len() {
            assert_eq!(frame_split(&two, split), input.len());
        }
        let (rest, first) = decode_command(&two, &CommandOptions::default()).unwrap();
        assert_eq!((rest, first), (&b"Z9 NOOP\r\n"[..], expected));
    }
}

/// Every known answer with any one octet replaced by a delimiter, a digit, CR, LF, NUL or
/// 0xFF: never a panic, and whatever parses re-encodes to something that parses the same.
#[test]
fn known_answers_with_one_octet_changed_never_panic() {
    let opts = CommandOptions::default();
    let bytes = b"\0 ()\"\\{}\r\n*$~[]<>.:09+-%\xff";
    for (input, _, _) in table() {
        let mut m = input.to_vec();
        for i in 0..m.len() {
            let orig = m[i];
            for &b in bytes {
                m[i] = b;
                if let Ok(c) = parse_command(&m, &opts) {
                    assert_eq!(parse_command(&encode(&c).bytes, &opts).unwrap(), c);
                }
                let _ = decode_command(&m, &opts);
            }
            m[i] = orig;
        }
    }
}
