//! An account from Maildir into PostgreSQL and back (`sansmail_store::migrate`): flags,
//! keywords, internal dates, octets, UIDs (gaps included), special-use roles and
//! subscriptions survive both ways. Needs `SANSMAIL_TEST_POSTGRES` (`. .ci/postgres.sh`).
#![cfg(feature = "postgres")]

mod common;

use sansmail_store::{
    AccountName, AppendItem, Content, ExpungeScope, FetchQuery, FetchedMessage, Flag, Flags,
    InternalDate, Keyword, ListScope, MailStore, Session, SpecialUse, Uid, UidSet, block_on,
    migrate::migrate_account,
};

fn snapshot<S: MailStore>(
    store: &S,
    s: &Session,
    mailbox: &str,
) -> Vec<(Uid, Flags, InternalDate, Option<Vec<u8>>)> {
    let full = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    block_on(store.fetch(s, mailbox, &UidSet::all(), full))
        .unwrap()
        .into_iter()
        .map(|m: FetchedMessage| (m.uid, m.flags, m.internal_date, m.content))
        .collect()
}

#[test]
fn maildir_to_postgres_and_back() {
    let dir = common::TempDir::new("migrate");
    let maildir = common::maildir_store(&dir.path().join("a"));
    let (pg, schema) = common::postgres_store("migrate");
    let _guard = common::SchemaGuard(schema);
    let alice = AccountName::try_from("alice").unwrap();
    let s = Session::new(alice.clone());
    block_on(maildir.create_account(&alice)).unwrap();
    block_on(maildir.create_mailbox(&s, "Lists.rust", None)).unwrap();
    block_on(maildir.create_mailbox(&s, "Drafts", Some(SpecialUse::Drafts))).unwrap();
    block_on(maildir.subscribe(&s, "Lists.rust")).unwrap();
    let kw = |k| Keyword::try_from(k).unwrap();
    for i in 0..30u32 {
        let mut flags = Flags::new();
        if i % 2 == 0 {
            flags.insert(Flag::Seen);
        }
        if i % 3 == 0 {
            flags.insert_keyword(kw("$Forwarded"));
            flags.insert_keyword(kw("Project-X"));
        }
        if i % 5 == 0 {
            flags.insert(Flag::Flagged);
            flags.insert(Flag::Answered);
        }
        let mut up = maildir.upload();
        up.write(format!("From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n").as_bytes())
            .unwrap();
        let item = AppendItem {
            data: up,
            flags,
            internal_date: Some(InternalDate {
                timestamp: 1_700_000_000 + i64::from(i) * 3600,
                offset_minutes: 120,
            }),
        };
        let mailbox = if i < 20 { "INBOX" } else { "Lists.rust" };
        block_on(maildir.append(&s, mailbox, vec![item])).unwrap();
    }
    // Gaps in INBOX's UIDs.
    let gone: UidSet = [2, 3, 9, 15].into_iter().filter_map(Uid::new).collect();
    block_on(maildir.expunge(&s, "INBOX", ExpungeScope::Uids(gone))).unwrap();
    let inbox = snapshot(&maildir, &s, "INBOX");
    let lists = snapshot(&maildir, &s, "Lists.rust");

    let there = block_on(migrate_account(&maildir, &pg, &alice)).unwrap();
    assert_eq!(there.messages, 26);
    assert!(there.renumbered.is_empty(), "{there:?}");
    assert_eq!(snapshot(&pg, &s, "INBOX"), inbox);
    assert_eq!(snapshot(&pg, &s, "Lists/rust"), lists);
    let roles = block_on(pg.list(&s, "*", ListScope::All)).unwrap();
    assert!(
        roles
            .iter()
            .any(|m| m.name == "Drafts" && m.special_use == Some(SpecialUse::Drafts))
    );
    let subs = block_on(pg.list(&s, "*", ListScope::Subscribed)).unwrap();
    assert_eq!(
        subs.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Lists/rust"]
    );

    let back_store = common::maildir_store(&dir.path().join("b"));
    let back = block_on(migrate_account(&pg, &back_store, &alice)).unwrap();
    assert_eq!(back.messages, 26);
    assert_eq!(snapshot(&back_store, &s, "INBOX"), inbox);
    assert_eq!(snapshot(&back_store, &s, "Lists.rust"), lists);
    let subs = block_on(back_store.list(&s, "*", ListScope::Subscribed)).unwrap();
    assert_eq!(
        subs.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Lists.rust"]
    );
}
