//! Search: every kind of key, their combinations, UID scoping and modseqs, through
//! [`MailStore::search`] as the backend answers it (the default scan or its own).

use super::{Fixture, account, uid};
use crate::{
    AppendItem, Flag, FlagOp, Flags, InternalDate, Keyword, MailStore, SearchQuery, Session,
    StoreError, Uid, UidSet, block_on,
    date::Day,
    search::{CONTENT_BATCH, DayCmp},
};

fn kw(s: &str) -> Keyword {
    Keyword::try_from(s).unwrap()
}

fn day(y: u16, m: u8, d: u8) -> Day {
    Day::new(y, m, d).unwrap()
}

fn header(name: &str, value: &str) -> SearchQuery {
    SearchQuery::Header {
        name: name.as_bytes().to_vec(),
        contains: value.as_bytes().to_vec(),
    }
}

fn not(q: SearchQuery) -> SearchQuery {
    !q
}

/// Appends one message and returns its UID.
fn add<S: MailStore>(store: &S, s: &Session, raw: &[u8], flags: Flags, date: InternalDate) -> Uid {
    let mut up = store.upload();
    up.write(raw).unwrap();
    let item = AppendItem {
        data: up,
        flags,
        internal_date: Some(date),
    };
    block_on(store.append(s, "INBOX", vec![item])).unwrap().uids[0]
}

/// The UIDs of INBOX's messages in `uids` that `q` matches, checking the answer's order and
/// that each hit carries the message's modseq.
fn find<S: MailStore>(store: &S, s: &Session, uids: &UidSet, q: &SearchQuery) -> Vec<u32> {
    let hits = block_on(store.search(s, "INBOX", uids, q)).unwrap();
    assert!(
        hits.windows(2).all(|w| w[0].uid < w[1].uid),
        "hits ascending by UID: {hits:?}"
    );
    let set: UidSet = hits.iter().map(|h| h.uid).collect();
    if !set.is_empty() {
        let meta = block_on(store.fetch(s, "INBOX", &set, crate::FetchQuery::meta())).unwrap();
        let modseqs: Vec<_> = meta.iter().map(|m| (m.uid, m.modseq)).collect();
        let hit_modseqs: Vec<_> = hits.iter().map(|h| (h.uid, h.modseq)).collect();
        assert_eq!(hit_modseqs, modseqs, "hits carry the messages' modseqs");
    }
    hits.iter().map(|h| h.uid.get()).collect()
}

fn all<S: MailStore>(store: &S, s: &Session, q: &SearchQuery) -> Vec<u32> {
    find(store, s, &UidSet::all(), q)
}

const DATE: InternalDate = InternalDate {
    timestamp: 760_683_145,
    offset_minutes: -480,
};

/// System flags set and not set, keywords (case-insensitively), and sizes.
pub fn search_flags_keywords_and_sizes<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let short = b"Subject: a\r\n\r\nx\r\n";
    let long = b"Subject: b\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n";
    let a = add(store, &s, short, Flags::new().with(Flag::Seen), DATE).get();
    let b = add(
        store,
        &s,
        long,
        Flags::new()
            .with(Flag::Flagged)
            .with(Flag::Deleted)
            .with_keyword(kw("$Label1")),
        DATE,
    )
    .get();
    let c = add(
        store,
        &s,
        short,
        Flags::new()
            .with(Flag::Answered)
            .with(Flag::Draft)
            .with_keyword(kw("Work")),
        DATE,
    )
    .get();
    assert_eq!(all(store, &s, &SearchQuery::All), [a, b, c]);
    assert_eq!(all(store, &s, &SearchQuery::Flag(Flag::Seen)), [a]);
    assert_eq!(all(store, &s, &not(SearchQuery::Flag(Flag::Seen))), [b, c]);
    assert_eq!(all(store, &s, &SearchQuery::Flag(Flag::Flagged)), [b]);
    assert_eq!(all(store, &s, &SearchQuery::Flag(Flag::Deleted)), [b]);
    assert_eq!(all(store, &s, &SearchQuery::Flag(Flag::Answered)), [c]);
    assert_eq!(all(store, &s, &SearchQuery::Flag(Flag::Draft)), [c]);
    assert_eq!(all(store, &s, &SearchQuery::Keyword(kw("$label1"))), [b]);
    assert_eq!(all(store, &s, &SearchQuery::Keyword(kw("WORK"))), [c]);
    assert_eq!(
        all(store, &s, &not(SearchQuery::Keyword(kw("work")))),
        [a, b]
    );
    assert!(all(store, &s, &SearchQuery::Keyword(kw("none"))).is_empty());
    let (n, m) = (short.len() as u64, long.len() as u64);
    assert_eq!(all(store, &s, &SearchQuery::Larger(n)), [b]);
    assert_eq!(all(store, &s, &SearchQuery::Larger(n - 1)), [a, b, c]);
    assert!(all(store, &s, &SearchQuery::Larger(m)).is_empty());
    assert_eq!(all(store, &s, &SearchQuery::Smaller(m)), [a, c]);
    assert!(all(store, &s, &SearchQuery::Smaller(n)).is_empty());
    // Flags changed after append are what is searched.
    block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(uid(a)),
        FlagOp::Remove(Flags::new().with(Flag::Seen)),
        None,
    ))
    .unwrap();
    assert!(all(store, &s, &SearchQuery::Flag(Flag::Seen)).is_empty());
}

/// Internal dates by the day of their own zone, sent dates by the `Date:` field's day as
/// written (the internal date's without one), and arrival instants.
pub fn search_dates<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    // 1994-02-08T05:52:25Z is 7 Feb in -0800 and 8 Feb in UTC.
    let a = add(
        store,
        &s,
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\na\r\n",
        Flags::new(),
        DATE,
    )
    .get();
    // 2003-07-01T23:30:00Z, 2 Jul in +0100; the Date: field says 30 Jun (in -1000).
    let b = add(
        store,
        &s,
        b"Subject: b\r\nDate: 30 Jun 2003 13:30 -1000 (HST)\r\n\r\nb\r\n",
        Flags::new(),
        InternalDate {
            timestamp: 1_057_102_200,
            offset_minutes: 60,
        },
    )
    .get();
    // No Date: field: the internal date's day, 1 Jul 2003 in UTC.
    let c = add(
        store,
        &s,
        b"Subject: c\r\n\r\nc\r\n",
        Flags::new(),
        InternalDate::from_timestamp(1_057_100_000),
    )
    .get();
    let internal = |cmp, d| all(store, &s, &SearchQuery::InternalDay(cmp, d));
    let sent = |cmp, d| all(store, &s, &SearchQuery::SentDay(cmp, d));
    assert_eq!(internal(DayCmp::On, day(1994, 2, 7)), [a]);
    assert!(internal(DayCmp::On, day(1994, 2, 8)).is_empty());
    assert_eq!(internal(DayCmp::On, day(2003, 7, 2)), [b]);
    assert_eq!(internal(DayCmp::On, day(2003, 7, 1)), [c]);
    assert_eq!(internal(DayCmp::Before, day(2003, 7, 2)), [a, c]);
    assert_eq!(internal(DayCmp::Before, day(2003, 7, 1)), [a]);
    assert_eq!(internal(DayCmp::Since, day(2003, 7, 1)), [b, c]);
    assert_eq!(internal(DayCmp::Since, day(2003, 7, 2)), [b]);
    assert_eq!(sent(DayCmp::On, day(1994, 2, 7)), [a]);
    assert_eq!(sent(DayCmp::On, day(2003, 6, 30)), [b]);
    assert_eq!(sent(DayCmp::On, day(2003, 7, 1)), [c]);
    assert_eq!(sent(DayCmp::Before, day(2003, 7, 1)), [a, b]);
    assert_eq!(sent(DayCmp::Since, day(2003, 6, 30)), [b, c]);
    assert_eq!(sent(DayCmp::Since, day(2003, 7, 1)), [c]);
    let before = |t| all(store, &s, &SearchQuery::ArrivedBefore(t));
    let since = |t| all(store, &s, &SearchQuery::ArrivedSince(t));
    assert_eq!(before(1_057_100_000), [a]);
    assert_eq!(before(1_057_100_001), [a, c]);
    assert_eq!(since(1_057_100_000), [b, c]);
    assert_eq!(since(1_057_102_200), [b]);
    assert!(since(1_057_102_201).is_empty());
}

/// Header fields by name, body and text: ASCII case-insensitive substrings of the raw,
/// unfolded values and the raw body; an empty string matches where the field exists.
pub fn search_header_body_and_text<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = add(
        store,
        &s,
        b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Quarterly\r\n report\r\nX-Tag: =?UTF-8?Q?caf=C3=A9?=\r\n\r\nThe numbers are in.\r\n",
        Flags::new(),
        DATE,
    )
    .get();
    let b = add(
        store,
        &s,
        b"From: bob@example.net\r\nCc: Carol <carol@example.com>\r\nSubject: lunch\r\n\r\nSee you at noon, Alice.\r\n",
        Flags::new(),
        DATE,
    )
    .get();
    let body = |v: &str| all(store, &s, &SearchQuery::Body(v.as_bytes().to_vec()));
    let text = |v: &str| all(store, &s, &SearchQuery::Text(v.as_bytes().to_vec()));
    let head = |n: &str, v: &str| all(store, &s, &header(n, v));
    assert_eq!(head("From", "ALICE@"), [a]);
    assert_eq!(head("from", "example.net"), [b]);
    assert_eq!(head("To", "bob"), [a]);
    assert_eq!(head("Cc", "carol"), [b]);
    assert!(head("Bcc", "").is_empty());
    assert_eq!(head("cc", ""), [b]);
    assert_eq!(head("Subject", ""), [a, b]);
    // Folding is undone; the value matches raw, and with its encoded words decoded
    // (RFC 2047).
    assert_eq!(head("Subject", "quarterly report"), [a]);
    assert_eq!(head("X-Tag", "=C3=A9"), [a]);
    assert_eq!(head("X-Tag", "café"), [a]);
    assert_eq!(text("CAFÉ".to_lowercase().as_str()), [a]);
    assert!(head("Subject", "numbers").is_empty());
    assert_eq!(body("NUMBERS"), [a]);
    assert_eq!(body("alice"), [b]);
    assert!(body("Subject").is_empty());
    assert_eq!(body(""), [a, b]);
    assert_eq!(text("alice"), [a, b]);
    assert_eq!(text("lunch"), [b]);
    assert_eq!(text("noon"), [b]);
    assert!(text("nothing like this").is_empty());
}

/// NOT, OR and AND over keys of every kind, and a search limited to a UID set (by the
/// argument and by a UIDs key); expunged and missing UIDs are never found.
pub fn search_logic_and_uid_scope<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let m =
        |subject: &str, body: &str| format!("Subject: {subject}\r\n\r\n{body}\r\n").into_bytes();
    let seen = Flags::new().with(Flag::Seen);
    let a = add(store, &s, &m("one", "apple"), seen.clone(), DATE).get();
    let b = add(store, &s, &m("two", "banana"), Flags::new(), DATE).get();
    let c = add(store, &s, &m("three", "apple pie"), Flags::new(), DATE).get();
    let d = add(store, &s, &m("four", "cherry"), seen, DATE).get();
    let apple = SearchQuery::Body(b"apple".to_vec());
    let is_seen = SearchQuery::Flag(Flag::Seen);
    assert_eq!(all(store, &s, &not(apple.clone())), [b, d]);
    assert_eq!(
        all(store, &s, &SearchQuery::or(apple.clone(), is_seen.clone())),
        [a, c, d]
    );
    assert_eq!(
        all(
            store,
            &s,
            &SearchQuery::And(vec![apple.clone(), is_seen.clone()])
        ),
        [a]
    );
    assert_eq!(
        all(
            store,
            &s,
            &SearchQuery::And(vec![not(is_seen.clone()), not(apple.clone())])
        ),
        [b]
    );
    assert_eq!(
        all(
            store,
            &s,
            &SearchQuery::or(header("Subject", "tw"), not(SearchQuery::All))
        ),
        [b]
    );
    assert_eq!(all(store, &s, &SearchQuery::And(Vec::new())), [a, b, c, d]);
    // Scoped by the argument.
    let bc = UidSet::range(uid(b), uid(c));
    assert_eq!(find(store, &s, &bc, &SearchQuery::All), [b, c]);
    assert_eq!(find(store, &s, &bc, &apple), [c]);
    assert!(find(store, &s, &UidSet::new(), &SearchQuery::All).is_empty());
    let missing = UidSet::single(uid(d + 100));
    assert!(find(store, &s, &missing, &SearchQuery::All).is_empty());
    // Scoped by a key.
    let ad: UidSet = [uid(a), uid(d)].into_iter().collect();
    assert_eq!(all(store, &s, &SearchQuery::Uids(ad.clone())), [a, d]);
    assert_eq!(all(store, &s, &not(SearchQuery::Uids(ad.clone()))), [b, c]);
    assert_eq!(
        all(
            store,
            &s,
            &SearchQuery::And(vec![SearchQuery::Uids(ad), apple.clone()])
        ),
        [a]
    );
    // Expunged messages are gone from every answer.
    block_on(store.expunge(
        &s,
        "INBOX",
        crate::ExpungeScope::Uids(UidSet::single(uid(c))),
    ))
    .unwrap();
    assert_eq!(all(store, &s, &apple), [a]);
    assert_eq!(all(store, &s, &SearchQuery::All), [a, b, d]);
    assert!(matches!(
        block_on(store.search(&s, "Nope", &UidSet::all(), &SearchQuery::All)),
        Err(StoreError::NoSuchMailbox(_))
    ));
}

/// MODSEQ: messages whose modseq is at least the value, and hits carrying the modseq a
/// flag change gave them.
pub fn search_modseq<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = add(store, &s, b"Subject: a\r\n\r\na\r\n", Flags::new(), DATE);
    let b = add(store, &s, b"Subject: b\r\n\r\nb\r\n", Flags::new(), DATE);
    let before = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    let changed = block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(a),
        FlagOp::Add(Flags::new().with(Flag::Flagged)),
        None,
    ))
    .unwrap();
    let after = changed.updated[0].modseq;
    assert!(after > before);
    let at_least = |n: u64| all(store, &s, &SearchQuery::ModSeqAtLeast(n));
    assert_eq!(at_least(after.get()), [a.get()]);
    assert_eq!(at_least(after.get() + 1), Vec::<u32>::new());
    assert_eq!(at_least(0), [a.get(), b.get()]);
    assert_eq!(at_least(1), [a.get(), b.get()]);
    let hits = block_on(store.search(&s, "INBOX", &UidSet::all(), &SearchQuery::All)).unwrap();
    assert_eq!(hits[0].modseq, after);
    assert!(hits[1].modseq <= before);
    // A modseq key next to a content key.
    let both = SearchQuery::And(vec![
        SearchQuery::ModSeqAtLeast(after.get()),
        SearchQuery::Body(b"A".to_vec()),
    ]);
    assert_eq!(all(store, &s, &both), [a.get()]);
}

/// More messages than one content batch: every one is evaluated, in UID order.
pub fn search_across_batches<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let n = u32::try_from(CONTENT_BATCH * 2 + 5).unwrap();
    let items = (1..=n)
        .map(|i| {
            let mut up = store.upload();
            let word = if i % 3 == 0 { "fizz" } else { "buzz" };
            up.write(format!("Subject: {i}\r\n\r\n{word}\r\n").as_bytes())
                .unwrap();
            let flags = if i % 2 == 0 {
                Flags::new().with(Flag::Seen)
            } else {
                Flags::new()
            };
            AppendItem {
                data: up,
                flags,
                internal_date: Some(DATE),
            }
        })
        .collect();
    let uids = block_on(store.append(&s, "INBOX", items)).unwrap().uids;
    let pick = |keep: &dyn Fn(u32) -> bool| -> Vec<u32> {
        (1..=n)
            .filter(|&i| keep(i))
            .map(|i| uids[i as usize - 1].get())
            .collect()
    };
    let fizz = SearchQuery::Body(b"FIZZ".to_vec());
    assert_eq!(all(store, &s, &fizz), pick(&|i| i % 3 == 0));
    assert_eq!(
        all(
            store,
            &s,
            &SearchQuery::or(fizz.clone(), SearchQuery::Flag(Flag::Seen))
        ),
        pick(&|i| i % 3 == 0 || i % 2 == 0)
    );
    assert_eq!(
        all(
            store,
            &s,
            &SearchQuery::And(vec![not(SearchQuery::Flag(Flag::Seen)), not(fizz)])
        ),
        pick(&|i| i % 3 != 0 && i % 2 != 0)
    );
    assert_eq!(
        all(store, &s, &header("subject", "1")),
        pick(&|i| i.to_string().contains('1'))
    );
}
