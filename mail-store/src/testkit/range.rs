//! Reading part of a message.

use super::{Fixture, account, item};
use crate::{Content, FetchQuery, Flags, MailStore, StoreError, Uid, UidSet, block_on};

/// The whole message as `fetch` serves it.
fn whole<S: MailStore>(store: &S, s: &crate::Session, uid: Uid) -> Vec<u8> {
    let q = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    let uids: UidSet = std::iter::once(uid).collect();
    let mut found = block_on(store.fetch(s, "INBOX", &uids, q)).unwrap();
    found.remove(0).content.unwrap()
}

/// Reads the message in pieces of `piece` octets until one comes back short.
fn in_pieces<S: MailStore>(store: &S, s: &crate::Session, uid: Uid, piece: usize) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        let p = block_on(store.read_range(s, "INBOX", uid, got.len() as u64, piece)).unwrap();
        assert!(p.len() <= piece, "a piece of {} for {piece}", p.len());
        let last = p.len() < piece;
        got.extend_from_slice(&p);
        if last {
            return got;
        }
    }
}

/// `read_range` serves exactly the octets `fetch` serves (CRLF line ends for a message
/// that came with LFs, binary content as it came), piece by piece whatever the piece size;
/// from the end on it is empty; a message that is not there is `NoSuchMessage`.
pub fn read_range_in_pieces<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let mut lf = b"Subject: pieces\n\n".to_vec();
    for i in 0..6000 {
        lf.extend_from_slice(format!(".line {i} of a message stored with LF\n").as_bytes());
    }
    let crlf: Vec<u8> = lf
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    let appended = block_on(store.append(&s, "INBOX", vec![item(store, &lf, Flags::new())]));
    let uid = appended.unwrap().uids[0];
    assert_eq!(whole(store, &s, uid), crlf);
    for piece in [1000, 4096, 65_536, crlf.len(), crlf.len() + 1] {
        assert!(
            in_pieces(store, &s, uid, piece) == crlf,
            "pieces of {piece}"
        );
    }
    let read = |offset: u64, len: usize| block_on(store.read_range(&s, "inbox", uid, offset, len));
    assert_eq!(read(3, 10).unwrap(), &crlf[3..13]);
    let end = crlf.len() as u64;
    assert_eq!(read(end - 2, 10).unwrap(), b"\r\n");
    assert!(read(end, 10).unwrap().is_empty());
    assert!(read(end + 1000, 10).unwrap().is_empty());
    assert!(read(0, 0).unwrap().is_empty());
    assert!(read(u64::MAX, usize::MAX).unwrap().is_empty());
    // Binary content (an IMAP literal8) is served as it came, bare LFs included.
    let binary = b"Subject: bin\r\n\r\n\x00\x01\n\r\x02.\n".to_vec();
    let mut up = store.upload();
    up.keep_line_ends();
    up.write(&binary).unwrap();
    let bin = block_on(store.append(&s, "INBOX", vec![crate::AppendItem::new(up)]))
        .unwrap()
        .uids[0];
    assert_eq!(whole(store, &s, bin), binary);
    for piece in [1, 3, 64] {
        assert_eq!(
            in_pieces(store, &s, bin, piece),
            binary,
            "pieces of {piece}"
        );
    }
    let gone = Uid::new(uid.get() + 100).unwrap();
    assert!(matches!(
        block_on(store.read_range(&s, "INBOX", gone, 0, 10)),
        Err(StoreError::NoSuchMessage(_))
    ));
    assert!(block_on(store.read_range(&s, "No such mailbox", uid, 0, 10)).is_err());
}

/// `open_message` reads what `fetch` serves, in pieces. After another session expunges
/// the message, a backend that holds it open (Maildir, memory) goes on reading it whole; one
/// that cannot (PostgreSQL, whose blob goes with its last message) fails the next read with
/// `NoSuchMessage`; none reads other octets. Once expunged it cannot be opened.
pub fn an_open_message_outlives_its_expunge<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let mut lf = b"Subject: open\n\n".to_vec();
    for i in 0..6000 {
        lf.extend_from_slice(format!("line {i} of a message stored with LF\n").as_bytes());
    }
    let appended = block_on(store.append(&s, "INBOX", vec![item(store, &lf, Flags::new())]));
    let uid = appended.unwrap().uids[0];
    let served = whole(store, &s, uid);
    let mut reader = block_on(store.open_message(&s, "INBOX", uid)).unwrap();
    assert_eq!(reader.size(), served.len() as u64);
    let mut got = block_on(reader.read(0, 1000)).unwrap();
    let other = crate::Session::new(s.account().clone());
    let uids: UidSet = std::iter::once(uid).collect();
    let deleted = crate::FlagOp::Add(Flags::new().with(crate::Flag::Deleted));
    block_on(store.store_flags(&other, "INBOX", &uids, deleted, None)).unwrap();
    block_on(store.expunge(&other, "INBOX", crate::ExpungeScope::Deleted)).unwrap();
    loop {
        match block_on(reader.read(got.len() as u64, 4096)) {
            Ok(p) => {
                got.extend_from_slice(&p);
                if p.len() < 4096 {
                    assert!(
                        got == served,
                        "the whole message, as served, after its expunge"
                    );
                    break;
                }
            }
            Err(StoreError::NoSuchMessage(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(served.starts_with(&got));
    assert!(block_on(reader.read(u64::MAX, 10)).unwrap().is_empty());
    assert!(matches!(
        block_on(store.open_message(&s, "INBOX", uid)),
        Err(StoreError::NoSuchMessage(_))
    ));
    // A mailbox deleted and created again under its name, with a message of the same UID
    // and size in it: the open message never reads the newcomer's octets.
    let body = |fill: u8| {
        let mut m = b"Subject: same size\r\n\r\n".to_vec();
        m.resize(100_000, fill);
        m.extend_from_slice(b"\r\n");
        m
    };
    let (first, second) = (body(b'a'), body(b'b'));
    block_on(store.create_mailbox(&s, "Again", None)).unwrap();
    let put = |m: &[u8]| {
        block_on(store.append(&s, "Again", vec![item(store, m, Flags::new())]))
            .unwrap()
            .uids[0]
    };
    let uid = put(&first);
    let mut reader = block_on(store.open_message(&s, "Again", uid)).unwrap();
    let mut got = block_on(reader.read(0, 1000)).unwrap();
    block_on(store.delete_mailbox(&other, "Again")).unwrap();
    block_on(store.create_mailbox(&other, "Again", None)).unwrap();
    assert_eq!(put(&second), uid, "a new mailbox starts at the same UID");
    loop {
        match block_on(reader.read(got.len() as u64, 4096)) {
            Ok(p) if p.is_empty() => break,
            Ok(p) => got.extend_from_slice(&p),
            Err(StoreError::NoSuchMessage(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(first.starts_with(&got), "octets of another message read");
}
