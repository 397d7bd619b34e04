//! `read_range` on Maildir files other programs wrote: bare LF line ends are served as CRLF
//! at the same offsets as `fetch` serves them, read in one pass without loading the file;
//! `open_message` on the embedded backends.

mod common;

use std::fs;

use common::{TempDir, maildir_store};
use sansmail_store::{
    AccountName, AppendItem, Content, ExpungeScope, FetchQuery, Flag, FlagOp, Flags, MailStore,
    Session, UidSet, block_on, maildir::MaildirStore, memory::MemoryStore,
};

fn alice(store: &MaildirStore) -> Session {
    let a = AccountName::try_from("alice").unwrap();
    block_on(store.create_account(&a)).unwrap();
    Session::new(a)
}

#[test]
fn a_file_with_bare_lfs_is_read_in_pieces_as_fetch_serves_it() {
    let dir = TempDir::new("range-lf");
    let store = maildir_store(dir.path());
    let s = alice(&store);
    // Delivered by another program, with LF line ends (and one CRLF) as Dovecot stores them.
    let mut stored = b"Subject: from elsewhere\n\r\n".to_vec();
    for i in 0..20_000 {
        stored.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    let md = store.maildir_path(s.account());
    fs::write(md.join("new").join("1800000000.M1P9.other"), &stored).unwrap();
    let q = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    let found = block_on(store.fetch(&s, "INBOX", &UidSet::all(), q)).unwrap();
    let (uid, served) = (found[0].uid, found[0].content.clone().unwrap());
    assert_eq!(served.len(), stored.len() + 20_001);
    for piece in [1000, 65_536, 1 << 20] {
        let mut got = Vec::new();
        loop {
            let p = block_on(store.read_range(&s, "INBOX", uid, got.len() as u64, piece)).unwrap();
            let last = p.len() < piece;
            got.extend_from_slice(&p);
            if last {
                break;
            }
        }
        assert!(got == served, "pieces of {piece}");
        // The same through an open message, which goes on from where each piece stopped.
        let mut reader = block_on(store.open_message(&s, "INBOX", uid)).unwrap();
        let mut got = Vec::new();
        loop {
            let p = block_on(reader.read(got.len() as u64, piece)).unwrap();
            got.extend_from_slice(&p);
            if p.len() < piece {
                break;
            }
        }
        assert!(got == served, "open, pieces of {piece}");
    }
    // A range whose first octet is the CR served before a stored LF.
    let lf = stored.iter().rposition(|&b| b == b'\n').unwrap();
    let at = served.len() - (stored.len() - lf) - 1;
    assert_eq!(&served[at..at + 2], b"\r\n");
    let got = block_on(store.read_range(&s, "INBOX", uid, at as u64, 2)).unwrap();
    assert_eq!(got, b"\r\n");
    let got = block_on(store.read_range(&s, "INBOX", uid, at as u64 + 1, 1)).unwrap();
    assert_eq!(got, b"\n");
}

/// The embedded backends hold an open message: read whole after another session expunged
/// it (the Maildir file is unlinked meanwhile; the memory store drops its copy).
#[test]
fn an_open_message_is_read_whole_after_its_expunge() {
    fn check<S: MailStore>(store: &S, s: &Session) {
        let mut message = b"Subject: big\r\n\r\n".to_vec();
        for i in 0..20_000 {
            message.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        let mut up = store.upload();
        up.write(&message).unwrap();
        let appended = block_on(store.append(s, "INBOX", vec![AppendItem::new(up)])).unwrap();
        let mut reader = block_on(store.open_message(s, "INBOX", appended.uids[0])).unwrap();
        let mut got = block_on(reader.read(0, 100)).unwrap();
        let deleted = FlagOp::Add(Flags::new().with(Flag::Deleted));
        block_on(store.store_flags(s, "INBOX", &UidSet::all(), deleted, None)).unwrap();
        let gone = block_on(store.expunge(s, "INBOX", ExpungeScope::Deleted)).unwrap();
        assert_eq!(gone.uids, appended.uids);
        loop {
            let p = block_on(reader.read(got.len() as u64, 7000)).unwrap();
            got.extend_from_slice(&p);
            if p.len() < 7000 {
                break;
            }
        }
        assert!(got == message, "{} octets of {}", got.len(), message.len());
    }
    let dir = TempDir::new("range-open");
    let store = maildir_store(dir.path());
    let s = alice(&store);
    check(&store, &s);
    let memory = MemoryStore::new();
    let a = AccountName::try_from("alice").unwrap();
    block_on(memory.create_account(&a)).unwrap();
    check(&memory, &Session::new(a));
}
