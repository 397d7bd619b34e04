//! Binary content (an IMAP APPEND with a `literal8`, RFC 3516 §4.3) is stored octet for
//! octet: its bare LFs stay LFs through flag changes, copies, moves and a reopened store,
//! while a message without the mark is stored with CRLF as always.

mod common;

use common::{TempDir, maildir_store};
use sansmail_store::{
    AccountName, AppendItem, Content, FetchQuery, Flag, FlagOp, Flags, MailStore, Session, UidSet,
    block_on, maildir::MaildirStore,
};

const BINARY: &[u8] = &[0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a];

fn alice(store: &MaildirStore) -> Session {
    let a = AccountName::try_from("alice").unwrap();
    if !block_on(store.account_exists(&a)).unwrap() {
        block_on(store.create_account(&a)).unwrap();
    }
    Session::new(a)
}

fn contents(store: &MaildirStore, s: &Session, mailbox: &str) -> Vec<(Vec<u8>, u64)> {
    let q = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    block_on(store.fetch(s, mailbox, &UidSet::all(), q))
        .unwrap()
        .into_iter()
        .map(|m| (m.content.unwrap(), m.size))
        .collect()
}

#[test]
fn binary_content_keeps_its_octets() {
    let dir = TempDir::new("binary");
    {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        block_on(store.create_mailbox(&s, "Other", None)).unwrap();
        let mut raw = store.upload();
        raw.write(BINARY).unwrap();
        raw.keep_line_ends();
        assert!(raw.keeps_line_ends());
        let mut text = store.upload();
        text.write(b"Subject: lf\n\nline\n").unwrap();
        let items = vec![AppendItem::new(raw), AppendItem::new(text)];
        let appended = block_on(store.append(&s, "INBOX", items)).unwrap();
        let expected = vec![
            (BINARY.to_vec(), 7),
            (b"Subject: lf\r\n\r\nline\r\n".to_vec(), 21),
        ];
        assert_eq!(contents(&store, &s, "INBOX"), expected);
        // A flag change renames the file; a copy and a move make new ones.
        let first: UidSet = appended.uids[..1].iter().copied().collect();
        let seen = FlagOp::Add(Flags::new().with(Flag::Seen));
        block_on(store.store_flags(&s, "INBOX", &first, seen, None)).unwrap();
        block_on(store.copy(&s, "INBOX", &first, "Other")).unwrap();
        assert_eq!(contents(&store, &s, "INBOX"), expected);
        assert_eq!(contents(&store, &s, "Other"), expected[..1]);
        block_on(store.move_messages(&s, "Other", &UidSet::all(), "INBOX")).unwrap();
    }
    // Read again from the index and the files.
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let all = contents(&store, &s, "INBOX");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], (BINARY.to_vec(), 7));
    assert_eq!(all[2], (BINARY.to_vec(), 7));
}
