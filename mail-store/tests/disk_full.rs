//! The Maildir backend on a full disk (issue #15) and after interrupted transactions, on a
//! small tmpfs of the test's own (it mounts one, so it runs as root, as `.ci/run` does):
//!
//! - the store opens on a disk with 0 octets free and serves what it holds, recording what
//!   recovery finds once there is room; writes fail with [`StoreError::NoSpace`];
//! - `\Deleted`, EXPUNGE, MOVE and the POP3 commit work with 0 octets free (the journal's
//!   room written in advance), and free the space;
//! - a change that fails changes nothing, on disk or after a restart;
//! - a transaction interrupted between its journal line and its file operations is carried
//!   out by recovery, one that never reached the journal leaves nothing;
//! - what crashes and full disks leave behind is removed.

mod common;
#[path = "../src/maildir/tmpfs.rs"]
mod tmpfs;

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use common::TempDir;
use sansmail_store::{
    AccountName, AppendItem, Content, ExpungeScope, FetchQuery, Flag, FlagOp, Flags, MailStore,
    Recipient, Session, StoreError, Uid, UidSet, Upload, block_on,
    maildir::{MaildirOptions, MaildirStore},
};
use tmpfs::Tmpfs;

fn opts(reserve: u64) -> MaildirOptions {
    MaildirOptions {
        journal_reserve: reserve,
        ..MaildirOptions::default()
    }
}

fn open(root: &Path, reserve: u64) -> MaildirStore {
    MaildirStore::open(root, opts(reserve)).unwrap()
}

fn alice(store: &MaildirStore) -> Session {
    let a = AccountName::try_from("alice").unwrap();
    if !block_on(store.account_exists(&a)).unwrap() {
        block_on(store.create_account(&a)).unwrap();
    }
    Session::new(a)
}

fn msg(n: usize) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@x>\r\n\r\nbody {n} {}\r\n",
        "x".repeat(n % 50)
    )
    .into_bytes()
}

fn append_n(store: &MaildirStore, s: &Session, mailbox: &str, from: usize, n: usize) -> Vec<Uid> {
    let items = (from..from + n)
        .map(|i| AppendItem::new(Upload::from_bytes(msg(i))))
        .collect();
    block_on(store.append(s, mailbox, items)).unwrap().uids
}

fn try_append(
    store: &MaildirStore,
    s: &Session,
    mailbox: &str,
    n: usize,
) -> Result<(), StoreError> {
    block_on(store.append(
        s,
        mailbox,
        vec![AppendItem::new(Upload::from_bytes(msg(n)))],
    ))
    .map(|_| ())
}

/// (UID, flags, octets) of every message (the octets as text, for readable failures).
fn contents(store: &MaildirStore, s: &Session, mailbox: &str) -> Vec<(u32, Flags, String)> {
    let q = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    block_on(store.fetch(s, mailbox, &UidSet::all(), q))
        .unwrap()
        .into_iter()
        .map(|m| {
            let text = String::from_utf8(m.content.unwrap()).unwrap();
            (m.uid.get(), m.flags, text)
        })
        .collect()
}

fn uids(store: &MaildirStore, s: &Session, mailbox: &str) -> Vec<u32> {
    block_on(store.fetch(s, mailbox, &UidSet::all(), FetchQuery::meta()))
        .unwrap()
        .iter()
        .map(|m| m.uid.get())
        .collect()
}

/// This host's name as the store writes it in file names.
fn this_host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_else(|_| "localhost".into())
        .trim()
        .replace('/', "\\057")
        .replace(':', "\\072")
        .replace(',', "\\054")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn maildir(root: &Path) -> PathBuf {
    root.join("alice").join("Maildir")
}

/// Files a write of ours leaves while it runs: none may stay.
fn leftovers(md: &Path) -> Vec<String> {
    let mut out: Vec<String> = names(&md.join("tmp"))
        .into_iter()
        .map(|n| format!("tmp/{n}"))
        .collect();
    out.extend(
        names(md)
            .into_iter()
            .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp")),
    );
    out
}

fn is_no_space(r: &Result<(), StoreError>) -> bool {
    matches!(r, Err(StoreError::NoSpace))
}

/// Refused for a full disk (`Limit`: the journal's last page takes a few records, too few).
fn full_disk<T>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NoSpace | StoreError::Limit(_)))
}

/// A call on the store, interrupted by hand in `interrupted_transactions_are_all_or_nothing`.
type Op = fn(&MaildirStore, &Session);

#[test]
fn starts_and_serves_reads_on_a_full_disk() {
    for reserve in [MaildirOptions::default().journal_reserve, 0] {
        let fs_ = Tmpfs::mount("start", 8 << 20);
        let root = fs_.path().join("store");
        let md = maildir(&root);
        let before = {
            let store = open(&root, reserve);
            let s = alice(&store);
            append_n(&store, &s, "INBOX", 0, 5);
            block_on(store.create_mailbox(&s, "Work", None)).unwrap();
            append_n(&store, &s, "Work", 5, 2);
            contents(&store, &s, "INBOX")
        };
        // What a crash and another program leave: a message delivered without the index
        // knowing (recovery gives it a UID: a write), a tmp/ file of ours, a half-written
        // account file.
        fs::write(md.join("new").join("1700000001.M1P1.other"), msg(99)).unwrap();
        fs::write(
            md.join("tmp")
                .join(format!("1700000002.M3P999999004Q5.{}", this_host())),
            b"Subject: half",
        )
        .unwrap();
        fs::write(md.join("mailstore-account.tmp"), b"").unwrap();
        fs_.fill();

        let store = MaildirStore::open(&root, opts(reserve)).expect("opens on a full disk");
        let s = alice(&store);
        let got = contents(&store, &s, "INBOX");
        assert_eq!(got.len(), 6, "reserve {reserve}: every message is served");
        assert_eq!(got[..5], before[..], "reserve {reserve}");
        assert_eq!(got[5].2.as_bytes(), msg(99));
        assert_eq!(contents(&store, &s, "Work").len(), 2);
        block_on(store.take_recent(&s, "INBOX")).expect("SELECT works");
        assert!(leftovers(&md).is_empty(), "{:?}", leftovers(&md));
        // Writes are refused, cleanly (the leftovers removed freed a little: full again).
        fs_.fill();
        assert!(is_no_space(&try_append(&store, &s, "INBOX", 100)));
        let delivered = block_on(store.deliver(
            Upload::from_bytes(msg(101)),
            &[Recipient::inbox(s.account().clone())],
        ));
        assert!(
            matches!(delivered[..], [Err(StoreError::NoSpace)]),
            "{delivered:?}"
        );
        assert!(matches!(
            block_on(store.create_mailbox(&s, "New", None)),
            Err(StoreError::NoSpace)
        ));
        assert!(!md.join(".New").exists(), "no half-made folder");
        assert!(leftovers(&md).is_empty(), "{:?}", leftovers(&md));
        assert_eq!(uids(&store, &s, "INBOX").len(), 6);
        let during = uids(&store, &s, "INBOX");
        drop(store);

        // Restarted on the full disk, and then with space: the same UIDs.
        let store = open(&root, reserve);
        let s = alice(&store);
        assert_eq!(uids(&store, &s, "INBOX"), during, "reserve {reserve}");
        drop(store);
        fs_.unfill();
        let store = open(&root, reserve);
        let s = alice(&store);
        assert_eq!(uids(&store, &s, "INBOX"), during, "reserve {reserve}");
        try_append(&store, &s, "INBOX", 102).unwrap();
    }
}

#[test]
fn deleting_works_with_no_space_left() {
    let fs_ = Tmpfs::mount("delete", 16 << 20);
    let root = fs_.path().join("store");
    let md = maildir(&root);
    let store = open(&root, MaildirOptions::default().journal_reserve);
    let s = alice(&store);
    block_on(store.create_mailbox(&s, "Trash", None)).unwrap();
    append_n(&store, &s, "INBOX", 0, 260);
    fs_.fill();
    assert!(is_no_space(&try_append(&store, &s, "INBOX", 1000)));

    // STORE 1:200 +FLAGS (\Deleted), then EXPUNGE, with 0 octets free.
    let all = uids(&store, &s, "INBOX");
    let first: UidSet = all[..200].iter().map(|&u| Uid::new(u).unwrap()).collect();
    let deleted = FlagOp::Add(Flags::new().with(Flag::Deleted));
    let r = block_on(store.store_flags(&s, "INBOX", &first, deleted, None)).unwrap();
    assert_eq!(r.updated.len(), 200);
    let marked = names(&md.join("cur"))
        .iter()
        .filter(|n| n.ends_with(":2,T"))
        .count();
    assert_eq!(marked, 200, "the files carry the flag");
    let gone = block_on(store.expunge(&s, "INBOX", ExpungeScope::Deleted)).unwrap();
    assert_eq!(gone.uids.len(), 200);
    assert_eq!(names(&md.join("cur")).len(), 60);
    assert!(fs_.free() > 0, "deleting freed space");

    // On a full disk again: MOVE to Trash and the POP3 commit.
    fs_.fill();
    let rest = uids(&store, &s, "INBOX");
    let some: UidSet = rest[..30].iter().map(|&u| Uid::new(u).unwrap()).collect();
    let moved = block_on(store.move_messages(&s, "INBOX", &some, "Trash")).unwrap();
    assert_eq!(moved.map.len(), 30);
    let drop_ = block_on(store.pop3_open(&s, Duration::from_secs(60))).unwrap();
    let dele: Vec<Uid> = drop_.messages.iter().map(|m| m.uid).collect();
    assert_eq!(dele.len(), 30);
    let done = block_on(store.pop3_commit(&s, &drop_.lease, &dele)).unwrap();
    assert_eq!(done.deleted, 30);
    assert!(names(&md.join("cur")).is_empty());
    assert_eq!(uids(&store, &s, "Trash").len(), 30);
    drop(store);

    // What was acknowledged is what a restart (still on a full disk) finds.
    fs_.fill();
    let store = open(&root, MaildirOptions::default().journal_reserve);
    let s = alice(&store);
    assert!(uids(&store, &s, "INBOX").is_empty());
    assert_eq!(uids(&store, &s, "Trash").len(), 30);
    assert!(leftovers(&md).is_empty(), "{:?}", leftovers(&md));
}

/// A change the journal cannot take fails and changes nothing: not the files, not what a
/// restart finds.
#[test]
fn a_refused_change_changes_nothing() {
    let fs_ = Tmpfs::mount("refused", 8 << 20);
    let root = fs_.path().join("store");
    let md = maildir(&root);
    let deleted = || FlagOp::Add(Flags::new().with(Flag::Deleted));
    let seen = |on: bool| {
        let f = Flags::new().with(Flag::Seen);
        if on {
            FlagOp::Add(f)
        } else {
            FlagOp::Remove(f)
        }
    };
    {
        // No room kept at all: nothing can change on a full disk.
        let store = open(&root, 0);
        let s = alice(&store);
        append_n(&store, &s, "INBOX", 0, 200);
        let files = names(&md.join("cur"));
        fs_.fill();
        // (The journal's last page may take a few records: too few for these.)
        let r = block_on(store.store_flags(&s, "INBOX", &UidSet::all(), deleted(), None));
        assert!(full_disk(&r), "{r:?}");
        assert_eq!(names(&md.join("cur")), files, "no file renamed");
        let r = block_on(store.expunge(&s, "INBOX", ExpungeScope::Uids(UidSet::all())));
        assert!(full_disk(&r), "{r:?}");
        assert_eq!(names(&md.join("cur")), files, "no file removed");
        let m = contents(&store, &s, "INBOX");
        assert!(m.iter().all(|(_, f, _)| !f.contains(Flag::Deleted)));
        drop(store);
        let store = open(&root, 0);
        let s = alice(&store);
        let m = contents(&store, &s, "INBOX");
        assert_eq!(m.len(), 200);
        assert!(m.iter().all(|(_, f, _)| !f.contains(Flag::Deleted)));
        fs_.unfill();
    }
    {
        // A small room: reading mail (\Seen) cannot use what deleting needs, and a change
        // larger than the room is refused as such ([LIMIT]) while a smaller one works.
        let store = open(&root, 16 * 1024);
        let s = alice(&store);
        let all = uids(&store, &s, "INBOX");
        fs_.fill();
        let one = UidSet::single(Uid::new(all[0]).unwrap());
        let mut stores = 0;
        let refused = loop {
            match block_on(store.store_flags(&s, "INBOX", &one, seen(stores % 2 == 0), None)) {
                Ok(_) => stores += 1,
                Err(e) => break e,
            }
            assert!(stores < 1000, "\\Seen never ran out of room");
        };
        assert!(matches!(refused, StoreError::NoSpace), "{refused:?}");
        assert!(stores > 5, "some \\Seen changes fit: {stores}");
        let files = names(&md.join("cur"));
        let r = block_on(store.store_flags(&s, "INBOX", &UidSet::all(), deleted(), None));
        assert!(matches!(r, Err(StoreError::Limit(_))), "{r:?}");
        assert_eq!(names(&md.join("cur")), files, "no file renamed");
        let few: UidSet = all[..10].iter().map(|&u| Uid::new(u).unwrap()).collect();
        block_on(store.store_flags(&s, "INBOX", &few, deleted(), None)).unwrap();
        let gone = block_on(store.expunge(&s, "INBOX", ExpungeScope::Deleted)).unwrap();
        assert_eq!(gone.uids.len(), 10);
        drop(store);
        let store = open(&root, 16 * 1024);
        let s = alice(&store);
        let m = contents(&store, &s, "INBOX");
        assert_eq!(m.len(), 190);
        assert!(m.iter().all(|(_, f, _)| !f.contains(Flag::Deleted)));
    }
}

/// Copies `dir`'s regular files into `to` (a backup of a moment).
fn backup(dir: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for n in names(dir) {
        let p = dir.join(&n);
        if p.is_file() {
            fs::copy(&p, to.join(&n)).unwrap();
        }
    }
}

/// Makes `dir`'s regular files what `from` holds (removing the others).
fn restore(from: &Path, dir: &Path) {
    for n in names(dir) {
        if dir.join(&n).is_file() {
            fs::remove_file(dir.join(&n)).unwrap();
        }
    }
    backup(from, dir);
}

/// A crash between a transaction's journal line and its file operations, made by hand:
/// the files are put back as they were before the call (the journal keeps the line), and
/// recovery must carry the transaction out whole. With the journal put back too (the crash
/// came before the line), nothing may have happened.
#[test]
fn interrupted_transactions_are_all_or_nothing() {
    let work = TempDir::new("interrupted");
    let root = work.path().join("store");
    let md = maildir(&root);
    let saved = work.path().join("saved");
    let inbox_log = |p: &Path| p.join("mailstore-log");
    let trash = md.join(".Trash");
    let setup = || {
        let _ = fs::remove_dir_all(&root);
        let store = open(&root, MaildirOptions::default().journal_reserve);
        let s = alice(&store);
        block_on(store.create_mailbox(&s, "Trash", None)).unwrap();
        append_n(&store, &s, "INBOX", 0, 20);
        let before = contents(&store, &s, "INBOX");
        (store, s, before)
    };
    let snapshot = || {
        let _ = fs::remove_dir_all(&saved);
        for (sub, d) in [
            ("cur", md.join("cur")),
            ("new", md.join("new")),
            ("tmp", md.join("tmp")),
            ("tcur", trash.join("cur")),
            ("root", md.clone()),
            ("troot", trash.clone()),
        ] {
            backup(&d, &saved.join(sub));
        }
    };
    let put_back = |journal_too: bool| {
        // Messages the transaction added go back to where they were staged (tmp/).
        let before: HashSet<String> = names(&saved.join("cur")).into_iter().collect();
        for n in names(&md.join("cur")) {
            if !before.contains(&n) {
                let base = n.split(':').next().unwrap();
                fs::rename(md.join("cur").join(&n), md.join("tmp").join(base)).unwrap();
            }
        }
        for (sub, d) in [
            ("cur", md.join("cur")),
            ("new", md.join("new")),
            ("tcur", trash.join("cur")),
        ] {
            restore(&saved.join(sub), &d);
        }
        if journal_too {
            fs::copy(inbox_log(&saved.join("root")), inbox_log(&md)).unwrap();
            fs::copy(inbox_log(&saved.join("troot")), inbox_log(&trash)).unwrap();
        }
    };
    let ops: [(&str, Op); 4] = [
        ("POP3 QUIT of 20", |store, s| {
            let d = block_on(store.pop3_open(s, Duration::from_secs(60))).unwrap();
            let dele: Vec<Uid> = d.messages.iter().map(|m| m.uid).collect();
            block_on(store.pop3_commit(s, &d.lease, &dele)).unwrap();
        }),
        ("STORE +FLAGS (\\Deleted \\Seen)", |store, s| {
            let op = FlagOp::Add(Flags::new().with(Flag::Deleted).with(Flag::Seen));
            block_on(store.store_flags(s, "INBOX", &UidSet::all(), op, None)).unwrap();
        }),
        ("MOVE of 20", |store, s| {
            block_on(store.move_messages(s, "INBOX", &UidSet::all(), "Trash")).unwrap();
        }),
        ("APPEND of 3", |store, s| {
            append_n(store, s, "INBOX", 100, 3);
        }),
    ];
    for (what, op) in ops {
        for journal_too in [false, true] {
            let (store, s, before) = setup();
            snapshot();
            op(&store, &s);
            let after = (contents(&store, &s, "INBOX"), contents(&store, &s, "Trash"));
            drop(store);
            put_back(journal_too);
            let store = open(&root, MaildirOptions::default().journal_reserve);
            let s = alice(&store);
            let got = (contents(&store, &s, "INBOX"), contents(&store, &s, "Trash"));
            if journal_too {
                assert_eq!(got.0, before, "{what}, crash before the journal line");
                assert!(got.1.is_empty(), "{what}, crash before the journal line");
            } else {
                assert_eq!(got, after, "{what}, crash after the journal line");
            }
            assert!(leftovers(&md).is_empty(), "{what}: {:?}", leftovers(&md));
        }
    }
}

/// What crashes leave is removed when the account opens: our own tmp/ files at once, other
/// programs' after 36 hours; spool files of processes that are gone; half-written index
/// files; folders half deleted.
#[test]
fn leftovers_are_removed_at_open() {
    let work = TempDir::new("leftovers");
    let root = work.path();
    let md = maildir(root);
    {
        let store = open(root, 4096);
        let s = alice(&store);
        block_on(store.create_mailbox(&s, "Work", None)).unwrap();
        append_n(&store, &s, "Work", 0, 2);
    }
    let host = this_host();
    fs::write(
        md.join("tmp")
            .join(format!("1700000000.M12P999999345Q6.{host},S=5,W=5")),
        b"ours",
    )
    .unwrap();
    fs::write(md.join("tmp").join("1700000000.M12P345.host"), b"Dovecot's").unwrap();
    // Our form of name, from a process that still runs (Python's mailbox.Maildir writes
    // these), or from another host sharing the file system: not ours.
    let alive = format!("1700000000.M7P1Q0.{host}");
    fs::write(md.join("tmp").join(&alive), b"Python's").unwrap();
    fs::write(
        md.join("tmp").join("1700000000.M7P999999007Q0.elsewhere"),
        b"another host's",
    )
    .unwrap();
    fs::write(
        md.join(".Work/tmp")
            .join(format!("1700000000.M1P999999992Q3.{host}")),
        b"ours",
    )
    .unwrap();
    fs::write(md.join("mailstore-account.tmp"), b"").unwrap();
    fs::write(md.join(".Work/mailstore-index.tmp"), b"{").unwrap();
    fs::write(md.join(".Work/mailstore-log.tmp"), b"mailstore-log 9\n").unwrap();
    fs::create_dir_all(md.join("..deleted-1700000000.M1P2Q3.h/cur")).unwrap();
    let spool = root.join(".spool");
    fs::write(spool.join("1700000000.M1P999999999Q1.h"), b"gone").unwrap();
    let ours_alive = format!("1700000000.M1P{}Q1.h", std::process::id());
    fs::write(spool.join(&ours_alive), b"still being written").unwrap();

    let store = open(root, 4096);
    let s = alice(&store);
    assert_eq!(uids(&store, &s, "Work").len(), 2);
    let mut left = vec![
        "1700000000.M12P345.host".to_owned(),
        "1700000000.M7P999999007Q0.elsewhere".to_owned(),
        alive,
    ];
    left.sort();
    assert_eq!(names(&md.join("tmp")), left);
    assert!(names(&md.join(".Work/tmp")).is_empty());
    assert!(!md.join("mailstore-account.tmp").exists());
    assert!(!md.join(".Work/mailstore-index.tmp").exists());
    assert!(!md.join(".Work/mailstore-log.tmp").exists());
    assert!(!md.join("..deleted-1700000000.M1P2Q3.h").exists());
    assert_eq!(names(&spool), [ours_alive]);
}
