//! `read_range` on Maildir files other programs wrote: bare LF line ends are served as CRLF
//! at the same offsets as `fetch` serves them, read in one pass without loading the file.

mod common;

use std::fs;

use common::{TempDir, maildir_store};
use sansmail_store::{
    AccountName, Content, FetchQuery, MailStore, Session, UidSet, block_on, maildir::MaildirStore,
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
