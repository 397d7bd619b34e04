//! The Maildir backend's on-disk format, durability across reopen, crash recovery and
//! changes made by other programs.

mod common;

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use common::{TempDir, maildir_store};
use sansmail_store::{
    AccountName, AppendItem, ChangeKind, Content, ExpungeScope, FetchQuery, Flag, FlagOp, Flags,
    Keyword, ListScope, MailStore, Session, SpecialUse, UidSet, block_on,
    maildir::{MaildirOptions, MaildirStore},
};

fn alice(store: &MaildirStore) -> Session {
    let a = AccountName::try_from("alice").unwrap();
    if !block_on(store.account_exists(&a)).unwrap() {
        block_on(store.create_account(&a)).unwrap();
    }
    Session::new(a)
}

fn msg(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbody of {subject}\r\n").into_bytes()
}

fn append(
    store: &MaildirStore,
    s: &Session,
    mailbox: &str,
    subject: &str,
    flags: Flags,
) -> sansmail_store::Uid {
    let mut up = store.upload();
    up.write(&msg(subject)).unwrap();
    let item = AppendItem {
        data: up,
        flags,
        internal_date: None,
    };
    block_on(store.append(s, mailbox, vec![item])).unwrap().uids[0]
}

fn files(dir: &Path) -> Vec<String> {
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

fn subjects(store: &MaildirStore, s: &Session, mailbox: &str) -> Vec<(String, Flags)> {
    let q = FetchQuery {
        envelope: true,
        ..FetchQuery::default()
    };
    block_on(store.fetch(s, mailbox, &UidSet::all(), q))
        .unwrap()
        .into_iter()
        .map(|m| (m.envelope.unwrap().subject.clone().unwrap(), m.flags))
        .collect()
}

#[test]
fn real_maildir_layout() {
    let dir = TempDir::new("layout");
    let store = maildir_store(dir.path());
    let s = alice(&store);
    block_on(store.create_mailbox(&s, "Work.Ärger", Some(SpecialUse::Archive))).unwrap();
    let flags = Flags::new()
        .with(Flag::Seen)
        .with(Flag::Answered)
        .with(Flag::Flagged)
        .with(Flag::Draft)
        .with(Flag::Deleted)
        .with_keyword(Keyword::try_from("$Forwarded").unwrap())
        .with_keyword(Keyword::try_from("Custom").unwrap());
    append(&store, &s, "INBOX", "a", flags);
    append(&store, &s, "Work.Ärger", "b", Flags::new());
    let md = maildir(dir.path());
    let cur = files(&md.join("cur"));
    assert_eq!(cur.len(), 1);
    assert!(cur[0].ends_with(":2,DFPRST"), "{cur:?}");
    assert!(cur[0].contains(",S=") && cur[0].contains(",W="), "{cur:?}");
    assert!(files(&md.join("tmp")).is_empty());
    let folder = md.join(".Work.&AMQ-rger");
    assert!(folder.join("maildirfolder").exists());
    assert!(
        md.join(".Work").join("maildirfolder").exists(),
        "parents are folders too"
    );
    let cur = files(&folder.join("cur"));
    assert!(cur[0].ends_with(":2,"), "{cur:?}");
    assert_eq!(
        fs::read(folder.join("cur").join(&cur[0])).unwrap(),
        msg("b")
    );
    // Flag changes rename the file, letters in ASCII order.
    block_on(store.store_flags(
        &s,
        "Work.Ärger",
        &UidSet::all(),
        FlagOp::Replace(Flags::new().with(Flag::Seen).with(Flag::Flagged)),
        None,
    ))
    .unwrap();
    let cur = files(&folder.join("cur"));
    assert!(cur[0].ends_with(":2,FS"), "{cur:?}");
    // Delivery without flags lands in new/.
    let mut up = store.upload();
    up.write(&msg("delivered")).unwrap();
    let r = block_on(store.deliver(up, &[sansmail_store::Recipient::inbox(s.account().clone())]));
    assert!(r[0].is_ok());
    let new = files(&md.join("new"));
    assert_eq!(new.len(), 1);
    assert!(!new[0].contains(":2,"));
    // Reading it as seen moves it to cur/.
    block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(r[0].as_ref().unwrap().uid),
        FlagOp::Add(Flags::new().with(Flag::Seen)),
        None,
    ))
    .unwrap();
    assert!(files(&md.join("new")).is_empty());
    assert_eq!(files(&md.join("cur")).len(), 2);
}

#[test]
fn everything_survives_reopen() {
    let dir = TempDir::new("reopen");
    let (status, subjects_before, uid_b) = {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        block_on(store.create_mailbox(&s, "Sent", Some(SpecialUse::Sent))).unwrap();
        block_on(store.subscribe(&s, "Sent")).unwrap();
        block_on(store.set_quota(
            s.account(),
            sansmail_store::QuotaLimits {
                storage_bytes: Some(1 << 20),
                messages: None,
            },
        ))
        .unwrap();
        let kw = Keyword::try_from("Project").unwrap();
        append(
            &store,
            &s,
            "INBOX",
            "a",
            Flags::new().with_keyword(kw.clone()),
        );
        let b = append(&store, &s, "INBOX", "b", Flags::new());
        let c = append(&store, &s, "INBOX", "c", Flags::new());
        block_on(store.store_flags(
            &s,
            "INBOX",
            &UidSet::single(b),
            FlagOp::Add(Flags::new().with(Flag::Seen)),
            None,
        ))
        .unwrap();
        block_on(store.expunge(&s, "INBOX", ExpungeScope::Uids(UidSet::single(c)))).unwrap();
        block_on(store.take_recent(&s, "INBOX")).unwrap();
        (
            block_on(store.status(&s, "INBOX")).unwrap(),
            subjects(&store, &s, "INBOX"),
            b,
        )
    };
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let again = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(again, status);
    assert_eq!(subjects(&store, &s, "INBOX"), subjects_before);
    let ch = block_on(store.changes_since(&s, "INBOX", 0)).unwrap();
    assert_eq!(ch.expunged.ranges().count(), 1, "the expunge log survives");
    let list = block_on(store.list(&s, "*", ListScope::Subscribed)).unwrap();
    assert_eq!(list[0].name, "Sent");
    assert_eq!(list[0].special_use, Some(SpecialUse::Sent));
    assert_eq!(block_on(store.quota(&s)).unwrap().resources.len(), 1);
    // New UIDs continue after the old ones.
    let d = append(&store, &s, "INBOX", "d", Flags::new());
    assert!(d.get() > uid_b.get() + 1);
}

#[test]
fn second_store_on_the_same_account_is_refused() {
    let dir = TempDir::new("lock");
    let one = maildir_store(dir.path());
    alice(&one);
    let two = maildir_store(dir.path());
    let a = AccountName::try_from("alice").unwrap();
    assert!(block_on(two.status(&Session::new(a.clone()), "INBOX")).is_err());
    drop(one);
    assert!(block_on(two.status(&Session::new(a), "INBOX")).is_ok());
}

/// A crash leaves: a half-written file in tmp/, a finished message in new/ that was never
/// indexed, a file in cur/ the index does not know, an index entry whose file is gone, and
/// a torn last journal line. Opening repairs all of it.
#[test]
fn crash_recovery() {
    let dir = TempDir::new("crash");
    let md = maildir(dir.path());
    let (uidvalidity, uidnext, kept) = {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        let a = append(
            &store,
            &s,
            "INBOX",
            "kept",
            Flags::new().with(Flag::Flagged),
        );
        let b = append(&store, &s, "INBOX", "lost", Flags::new());
        let st = block_on(store.status(&s, "INBOX")).unwrap();
        // The file of b disappears (the index now points at a missing file).
        let cur = files(&md.join("cur"));
        let lost = cur
            .iter()
            .find(|f| fs::read(md.join("cur").join(f)).unwrap() == msg("lost"))
            .unwrap();
        fs::remove_file(md.join("cur").join(lost)).unwrap();
        let _ = b;
        (st.uidvalidity, st.uidnext, a)
    };
    fs::write(
        md.join("tmp").join("1700000000.M1P1.crashed"),
        b"Subject: half",
    )
    .unwrap();
    fs::write(
        md.join("new").join("1700000001.M1P1.delivered"),
        msg("unindexed-new"),
    )
    .unwrap();
    fs::write(
        md.join("cur").join("1700000002.M1P1.written:2,S"),
        msg("unindexed-cur"),
    )
    .unwrap();
    let mut log = fs::OpenOptions::new()
        .append(true)
        .open(md.join("mailstore-log"))
        .unwrap();
    std::io::Write::write_all(&mut log, b"0123456789abcdef [{\"X\":{\"uid\":1,\"mod").unwrap();
    drop(log);

    let opts = MaildirOptions {
        stale_tmp_age: Duration::ZERO,
        ..MaildirOptions::default()
    };
    let store = MaildirStore::open(dir.path(), opts).unwrap();
    let s = alice(&store);
    assert!(
        files(&md.join("tmp")).is_empty(),
        "stale tmp/ files are removed"
    );
    let st = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(
        st.uidvalidity, uidvalidity,
        "an intact index keeps its UIDs"
    );
    let got = subjects(&store, &s, "INBOX");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, "kept");
    assert!(got[0].1.contains(Flag::Flagged));
    let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert!(names.contains(&"unindexed-new") && names.contains(&"unindexed-cur"));
    assert!(
        got.iter()
            .find(|g| g.0 == "unindexed-cur")
            .unwrap()
            .1
            .contains(Flag::Seen)
    );
    let uids: Vec<u32> = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta()))
        .unwrap()
        .iter()
        .map(|m| m.uid.get())
        .collect();
    assert_eq!(uids[0], kept.get());
    assert!(
        uids[1] >= uidnext.get() && uids[2] > uids[1],
        "new files get new UIDs: {uids:?}"
    );
    let ch = block_on(store.changes_since(&s, "INBOX", 0)).unwrap();
    assert_eq!(
        ch.expunged.ranges().count(),
        1,
        "the missing file is expunged"
    );
    // Content of a recovered message is served.
    let full = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    let m = block_on(store.fetch(
        &s,
        "INBOX",
        &UidSet::single(sansmail_store::Uid::new(uids[1]).unwrap()),
        full,
    ))
    .unwrap();
    assert!(m[0].content.as_ref().unwrap().starts_with(b"From:"));
    drop(store);
    // A destroyed index: the messages stay, under a new, larger UIDVALIDITY.
    fs::write(md.join("mailstore-index"), b"garbage").unwrap();
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let st2 = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(st2.messages, 3);
    assert!(st2.uidvalidity > uidvalidity);
}

/// Moves the message file whose content is `content` from `cur/` back to `tmp/` under its
/// base name: its append's rename never reached the disk.
fn unrename(md: &Path, content: &[u8]) {
    let cur = files(&md.join("cur"));
    let f = cur
        .iter()
        .find(|f| fs::read(md.join("cur").join(f)).unwrap() == content)
        .unwrap();
    let base = f.split(':').next().unwrap();
    fs::rename(md.join("cur").join(f), md.join("tmp").join(base)).unwrap();
}

/// A transaction's renames are not fsynced before the next transaction: after a power cut
/// that lost several of them, opening carries out every transaction of the journal again.
#[test]
fn renames_lost_in_a_power_cut_are_carried_out_again() {
    let dir = TempDir::new("lost-renames");
    let md = maildir(dir.path());
    {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        let one = append(&store, &s, "INBOX", "one", Flags::new());
        append(&store, &s, "INBOX", "two", Flags::new());
        let seen = Flags::new().with(Flag::Seen);
        block_on(store.store_flags(&s, "INBOX", &UidSet::single(one), FlagOp::Add(seen), None))
            .unwrap();
        append(&store, &s, "INBOX", "three", Flags::new());
    }
    // As the disk may have it after a power cut: the journal holds all four transactions,
    // the directories only the last one's rename.
    unrename(&md, &msg("one"));
    unrename(&md, &msg("two"));
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let got = subjects(&store, &s, "INBOX");
    let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(names, ["one", "two", "three"]);
    assert!(got[0].1.contains(Flag::Seen), "{got:?}");
    assert!(files(&md.join("tmp")).is_empty());
    let cur = files(&md.join("cur"));
    assert_eq!(cur.len(), 3, "{cur:?}");
    assert_eq!(
        cur.iter().filter(|f| f.ends_with(":2,S")).count(),
        1,
        "{cur:?}"
    );
}

/// A rename after its journal line that failed (a full directory, an I/O error) leaves an
/// acknowledged message staged in `tmp/`: the next scan puts it in place instead of taking
/// it for deleted, while the store runs and when it opens again.
#[test]
fn a_staged_message_whose_rename_failed_is_put_in_place() {
    let dir = TempDir::new("failed-rename");
    let md = maildir(dir.path());
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let one = append(&store, &s, "INBOX", "one", Flags::new());
    append(&store, &s, "INBOX", "two", Flags::new());
    unrename(&md, &msg("one"));
    // Another program delivers: the next call scans the directory.
    fs::write(md.join("new").join("1700000000.M1P1.other"), msg("other")).unwrap();
    let names: Vec<String> = subjects(&store, &s, "INBOX")
        .into_iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(names, ["one", "two", "other"]);
    let fetched =
        block_on(store.fetch(&s, "INBOX", &UidSet::single(one), FetchQuery::default())).unwrap();
    assert_eq!(fetched.len(), 1);
    assert!(files(&md.join("tmp")).is_empty());
    // The same failure, then a reopen.
    unrename(&md, &msg("two"));
    drop(store);
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let names: Vec<String> = subjects(&store, &s, "INBOX")
        .into_iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(names, ["one", "two", "other"]);
    assert_eq!(
        files(&md.join("cur")).len() + files(&md.join("new")).len(),
        3
    );
}

/// Carrying out an earlier transaction again never undoes what another program did to its
/// file afterwards.
#[test]
fn recovery_keeps_renames_by_other_programs() {
    let dir = TempDir::new("redo-other");
    let md = maildir(dir.path());
    {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        let one = append(&store, &s, "INBOX", "one", Flags::new());
        let flagged = Flags::new().with(Flag::Flagged);
        block_on(store.store_flags(
            &s,
            "INBOX",
            &UidSet::single(one),
            FlagOp::Add(flagged),
            None,
        ))
        .unwrap();
        append(&store, &s, "INBOX", "two", Flags::new());
    }
    // A mail reader marks it read while the server is down.
    let cur = files(&md.join("cur"));
    let f = cur.iter().find(|f| f.ends_with(":2,F")).unwrap();
    let read = f.replace(":2,F", ":2,FS");
    fs::rename(md.join("cur").join(f), md.join("cur").join(&read)).unwrap();
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let got = subjects(&store, &s, "INBOX");
    assert_eq!(got[0].0, "one");
    assert!(
        got[0].1.contains(Flag::Seen) && got[0].1.contains(Flag::Flagged),
        "{got:?}"
    );
    assert!(md.join("cur").join(&read).exists());
}

/// The snapshot is rewritten as the journal grows and what it holds is the same.
#[test]
fn journal_compaction() {
    let dir = TempDir::new("compact");
    let opts = || MaildirOptions {
        fsync: false,
        ..MaildirOptions::default()
    };
    let before = {
        let store = MaildirStore::open(dir.path(), opts()).unwrap();
        let s = alice(&store);
        let u = append(&store, &s, "INBOX", "x", Flags::new());
        for i in 0..2100 {
            let op = if i % 2 == 0 {
                FlagOp::Add(Flags::new().with(Flag::Seen))
            } else {
                FlagOp::Remove(Flags::new().with(Flag::Seen))
            };
            block_on(store.store_flags(&s, "INBOX", &UidSet::single(u), op, None)).unwrap();
        }
        block_on(store.status(&s, "INBOX")).unwrap()
    };
    let log = fs::read_to_string(maildir(dir.path()).join("mailstore-log")).unwrap();
    assert!(log.lines().count() < 200, "the journal was compacted");
    let store = MaildirStore::open(dir.path(), opts()).unwrap();
    let s = alice(&store);
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap(), before);
}

/// Another program delivers into new/, marks a message read by renaming it, and deletes
/// one: the store notices before the next operation and tells watchers.
#[test]
fn changes_by_other_programs() {
    let dir = TempDir::new("external");
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let a = append(&store, &s, "INBOX", "a", Flags::new());
    let b = append(&store, &s, "INBOX", "b", Flags::new());
    let watcher = block_on(store.watch(&s, "INBOX")).unwrap();
    let md = maildir(dir.path());
    std::thread::sleep(Duration::from_millis(20));
    fs::write(
        md.join("new").join("1800000000.M1P9.other"),
        msg("external"),
    )
    .unwrap();
    let cur = files(&md.join("cur"));
    let fa = cur
        .iter()
        .find(|f| fs::read(md.join("cur").join(f)).unwrap() == msg("a"))
        .unwrap();
    let fb = cur
        .iter()
        .find(|f| fs::read(md.join("cur").join(f)).unwrap() == msg("b"))
        .unwrap();
    fs::rename(
        md.join("cur").join(fa),
        md.join("cur")
            .join(format!("{}:2,RS", fa.split(':').next().unwrap())),
    )
    .unwrap();
    fs::remove_file(md.join("cur").join(fb)).unwrap();
    let got = subjects(&store, &s, "INBOX");
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "a");
    assert!(got[0].1.contains(Flag::Seen) && got[0].1.contains(Flag::Answered));
    assert_eq!(got[1].0, "external");
    let mut kinds = Vec::new();
    while let Some(ev) = watcher.recv_timeout(Duration::from_millis(200)) {
        assert_eq!(ev.origin, sansmail_store::SessionId::EXTERNAL);
        kinds.push(ev.kind);
    }
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, ChangeKind::Expunged { uids, .. } if uids == &vec![b])),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, ChangeKind::Appended { .. }))
    );
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, ChangeKind::FlagsChanged(f) if f[0].uid == a))
    );
}

/// The store's futures are Send and run from tasks of a multi-threaded tokio runtime, with
/// the blocking work on tokio's blocking pool.
#[test]
fn runs_on_tokio_from_spawned_tasks() {
    let dir = TempDir::new("tokio");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let opts = MaildirOptions {
            executor: sansmail_store::Executor::from_fn(|job| {
                tokio::task::spawn_blocking(job);
            }),
            ..MaildirOptions::default()
        };
        let store = std::sync::Arc::new(MaildirStore::open(dir.path(), opts).unwrap());
        let a = AccountName::try_from("alice").unwrap();
        store.create_account(&a).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = std::sync::Arc::clone(&store);
            let s = Session::new(a.clone());
            tasks.push(tokio::spawn(async move {
                let mut up = store.upload();
                up.write(&msg(&format!("t{i}"))).unwrap();
                store
                    .append(&s, "INBOX", vec![AppendItem::new(up)])
                    .await
                    .unwrap()
                    .uids[0]
            }));
        }
        let mut uids = Vec::new();
        for t in tasks {
            uids.push(t.await.unwrap());
        }
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), 8);
        let s = Session::new(a);
        assert_eq!(store.status(&s, "INBOX").await.unwrap().messages, 8);
    });
}

/// A torn last journal line is cut off on open, so what is written after it is not glued
/// to the garbage and survives the next open.
#[test]
fn torn_journal_tail_is_cut() {
    let dir = TempDir::new("torn");
    let md = maildir(dir.path());
    {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        let u = append(&store, &s, "INBOX", "a", Flags::new());
        block_on(store.store_flags(
            &s,
            "INBOX",
            &UidSet::single(u),
            FlagOp::Add(Flags::new().with(Flag::Seen)),
            None,
        ))
        .unwrap();
    }
    let mut log = fs::OpenOptions::new()
        .append(true)
        .open(md.join("mailstore-log"))
        .unwrap();
    std::io::Write::write_all(&mut log, b"00000000000000ff [{\"F\":").unwrap();
    drop(log);
    {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        let got = subjects(&store, &s, "INBOX");
        assert_eq!(got.len(), 1);
        assert!(
            got[0].1.contains(Flag::Seen),
            "the whole transactions before the tear stay"
        );
        block_on(store.store_flags(
            &s,
            "INBOX",
            &UidSet::all(),
            FlagOp::Add(Flags::new().with(Flag::Flagged)),
            None,
        ))
        .unwrap();
    }
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let got = subjects(&store, &s, "INBOX");
    assert!(
        got[0].1.contains(Flag::Flagged),
        "written after the tear, still there: {got:?}"
    );
}

/// Listing UIDs, flags and sizes after opening comes from the index, not the message files:
/// with every message file emptied behind the store's back (same names, so the directory
/// listing agrees), the sizes reported are still the real ones.
#[test]
fn open_and_list_does_not_read_message_files() {
    let dir = TempDir::new("noread");
    let n = 3000;
    let size = {
        let store = MaildirStore::open(
            dir.path(),
            MaildirOptions {
                fsync: false,
                ..MaildirOptions::default()
            },
        )
        .unwrap();
        let s = alice(&store);
        let items: Vec<AppendItem> = (0..n)
            .map(|i| {
                let mut up = store.upload();
                up.write(&msg(&format!("m{i}"))).unwrap();
                AppendItem {
                    data: up,
                    flags: if i % 2 == 0 {
                        Flags::new().with(Flag::Seen)
                    } else {
                        Flags::new()
                    },
                    internal_date: None,
                }
            })
            .collect();
        block_on(store.append(&s, "INBOX", items)).unwrap();
        msg("m1").len() as u64
    };
    let cur = maildir(dir.path()).join("cur");
    for f in files(&cur) {
        fs::write(cur.join(f), b"").unwrap();
    }
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let all = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
    assert_eq!(all.len(), n);
    assert!(all.iter().all(|m| m.size >= size - 1));
    assert_eq!(
        all.iter().filter(|m| m.flags.contains(Flag::Seen)).count(),
        n / 2
    );
    assert_eq!(
        block_on(store.status(&s, "INBOX")).unwrap().messages as usize,
        n
    );
}

/// URLAUTH access keys: a private file in the mailbox's folder, the same key after reopen,
/// gone after a reset, and a damaged file reported as corruption rather than used.
#[test]
fn access_keys_on_disk() {
    let dir = TempDir::new("access-keys");
    let inbox_file = maildir(dir.path()).join("mailstore-urlauth-key");
    let sent_file = maildir(dir.path())
        .join(".Sent")
        .join("mailstore-urlauth-key");
    let (inbox, sent) = {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        block_on(store.create_mailbox(&s, "Sent", None)).unwrap();
        let inbox = block_on(store.make_access_key(&s, "INBOX")).unwrap();
        let sent = block_on(store.make_access_key(&s, "Sent")).unwrap();
        (inbox, sent)
    };
    let text = fs::read_to_string(&inbox_file).unwrap();
    assert_eq!(text.len(), 65, "{text:?}");
    assert!(text.ends_with('\n') && text[..64].bytes().all(|b| b.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&inbox_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
    }
    assert!(sent_file.exists());
    assert!(
        !files(&maildir(dir.path()))
            .iter()
            .any(|f| f == "mailstore-urlauth-key.tmp")
    );

    let store = maildir_store(dir.path());
    let s = alice(&store);
    assert_eq!(
        block_on(store.access_key(&s, "INBOX")).unwrap(),
        Some(inbox)
    );
    assert_eq!(block_on(store.access_key(&s, "Sent")).unwrap(), Some(sent));
    block_on(store.reset_access_keys(&s, Some("Sent"))).unwrap();
    assert!(!sent_file.exists());
    assert!(inbox_file.exists());

    fs::write(&inbox_file, "not a key\n").unwrap();
    assert!(matches!(
        block_on(store.access_key(&s, "INBOX")),
        Err(sansmail_store::StoreError::Corrupt(_))
    ));
}

/// The expunge history is bounded (`MaildirOptions::expunge_history`): the latest expunges
/// are answered exactly, a modseq older than the history reaches with every UID that is not
/// in the mailbox (a superset, as RFC 7162 §3.2.6 allows), and both hold across a reopen.
#[test]
fn expunge_history_is_bounded() {
    let dir = TempDir::new("history");
    let options = || MaildirOptions {
        expunge_history: 4,
        ..MaildirOptions::default()
    };
    let store = MaildirStore::open(dir.path(), options()).unwrap();
    let history = sansmail_store::testkit::bounded_expunge_history(&store);
    history.check(&store);
    drop(store);
    let store = MaildirStore::open(dir.path(), options()).unwrap();
    history.check(&store);
}

/// A journal damaged otherwise than by a crash (a line changed with whole ones after it,
/// emptied, deleted) cannot be replayed: the snapshot alone is older than what clients were
/// told, and its UIDNEXT would hand out their UIDs again. The mailbox starts over under a
/// new UIDVALIDITY (RFC 9051 §2.3.1.1), every message kept.
#[test]
fn a_damaged_journal_gives_a_new_uidvalidity() {
    for damage in ["line", "empty", "missing"] {
        let dir = TempDir::new(&format!("damaged-{damage}"));
        let md = maildir(dir.path());
        let before = {
            let store = maildir_store(dir.path());
            let s = alice(&store);
            for subject in ["a", "b", "c", "d"] {
                append(&store, &s, "INBOX", subject, Flags::new());
            }
            let deleted = FlagOp::Add(Flags::new().with(Flag::Deleted));
            let bc: UidSet = [2, 3]
                .into_iter()
                .filter_map(sansmail_store::Uid::new)
                .collect();
            block_on(store.store_flags(&s, "INBOX", &bc, deleted, None)).unwrap();
            block_on(store.expunge(&s, "INBOX", ExpungeScope::Deleted)).unwrap();
            append(&store, &s, "INBOX", "e", Flags::new());
            block_on(store.status(&s, "INBOX")).unwrap()
        };
        assert_eq!(before.uidnext.get(), 6);
        let log = md.join("mailstore-log");
        match damage {
            "line" => {
                let mut data = fs::read(&log).unwrap();
                let third = data
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .nth(1)
                    .map(|(i, _)| i + 5)
                    .unwrap();
                data[third] ^= 0x01;
                fs::write(&log, data).unwrap();
            }
            "empty" => fs::write(&log, b"").unwrap(),
            _ => fs::remove_file(&log).unwrap(),
        }
        let store = maildir_store(dir.path());
        let s = alice(&store);
        let after = block_on(store.status(&s, "INBOX")).unwrap();
        assert_ne!(after.uidvalidity, before.uidvalidity, "{damage}");
        let mut got: Vec<String> = subjects(&store, &s, "INBOX")
            .into_iter()
            .map(|(subject, _)| subject)
            .collect();
        got.sort();
        assert_eq!(got, ["a", "d", "e"], "{damage}");
    }
}

/// Only regular files in `new/` and `cur/` are messages: a FIFO (which would block the
/// read for good), a directory and a symlink (which would serve whatever file it names, and
/// one server reads every account's mail) are left alone.
#[test]
fn only_regular_files_are_messages() {
    let dir = TempDir::new("special-files");
    let md = maildir(dir.path());
    {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        append(&store, &s, "INBOX", "real", Flags::new());
    }
    let secret = dir.path().join("secret");
    fs::write(&secret, msg("secret")).unwrap();
    std::os::unix::fs::symlink(&secret, md.join("new").join("1700000000.M1P1.link")).unwrap();
    fs::create_dir(md.join("new").join("1700000001.M1P1.dir")).unwrap();
    let fifo = md.join("cur").join("1700000002.M1P1.fifo:2,S");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    // On a thread: were the FIFO read, the open would never return.
    let root = dir.path().to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let store = maildir_store(&root);
        let s = alice(&store);
        let _ = tx.send(subjects(&store, &s, "INBOX"));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("opening the store hung");
    let names: Vec<&str> = got.iter().map(|(subject, _)| subject.as_str()).collect();
    assert_eq!(names, ["real"]);
}

/// An account whose INBOX `cur/` went missing (removed by hand) is still the account: the
/// folder is made again and its messages keep their UIDs. Before, it was taken for absent
/// and created again over its index, its mail no longer seen.
#[test]
fn a_missing_cur_is_made_again() {
    let dir = TempDir::new("missing-cur");
    let md = maildir(dir.path());
    let before = {
        let store = maildir_store(dir.path());
        let s = alice(&store);
        append(&store, &s, "INBOX", "one", Flags::new());
        append(&store, &s, "INBOX", "two", Flags::new());
        block_on(store.status(&s, "INBOX")).unwrap()
    };
    for f in files(&md.join("cur")) {
        fs::rename(md.join("cur").join(&f), md.join("new").join(&f)).unwrap();
    }
    fs::remove_dir(md.join("cur")).unwrap();
    let store = maildir_store(dir.path());
    let a = AccountName::try_from("alice").unwrap();
    assert!(block_on(store.account_exists(&a)).unwrap());
    let s = Session::new(a);
    let after = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(
        (after.uidvalidity, after.uidnext, after.messages),
        (before.uidvalidity, before.uidnext, 2)
    );
    assert!(md.join("cur").is_dir());
}

/// A change the client was told is done, whose file step failed (here a directory stands
/// where the renamed file goes; a read-only or failing disk does the same), is not undone by
/// the next scan of the folder: the scan waits until the step is carried out.
#[test]
fn a_failed_rename_is_not_undone_by_a_scan() {
    let dir = TempDir::new("failed-rename");
    let md = maildir(dir.path());
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let uid = append(&store, &s, "INBOX", "one", Flags::new());
    let before = files(&md.join("cur"));
    assert_eq!(before.len(), 1, "{before:?}");
    let base = before[0].split(':').next().unwrap().to_owned();
    let blocker = md.join("cur").join(format!("{base}:2,F"));
    fs::create_dir(&blocker).unwrap();
    fs::write(blocker.join("x"), b"x").unwrap();
    let flagged = FlagOp::Add(Flags::new().with(Flag::Flagged));
    block_on(store.store_flags(&s, "INBOX", &UidSet::single(uid), flagged, None)).unwrap();
    // Another program changes the folder: the next look scans it.
    std::thread::sleep(Duration::from_millis(20));
    fs::write(md.join("cur").join(".touch"), b"").unwrap();
    fs::remove_file(md.join("cur").join(".touch")).unwrap();
    let got = subjects(&store, &s, "INBOX");
    assert!(got[0].1.contains(Flag::Flagged), "undone: {got:?}");
    // Once the way is clear, the step is carried out.
    fs::remove_dir_all(&blocker).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    fs::write(md.join("new").join(".touch"), b"").unwrap();
    fs::remove_file(md.join("new").join(".touch")).unwrap();
    let got = subjects(&store, &s, "INBOX");
    assert!(got[0].1.contains(Flag::Flagged), "{got:?}");
    assert_eq!(files(&md.join("cur")), [format!("{base}:2,F")]);
}

/// Runs its closure with `-i` when dropped: the folder is made mutable again, also when
/// the test fails.
struct Mutable<F: Fn(&str) -> bool>(F);

impl<F: Fn(&str) -> bool> Drop for Mutable<F> {
    fn drop(&mut self) {
        (self.0)("-i");
    }
}

/// `\Deleted` and the expunge of a message, then a POP3 deletion of another, all
/// acknowledged while the folder refuses renames and unlinks (immutable here, read-only in
/// the field): once it takes them again, both messages are gone and stay gone. Before, the
/// retried rename moved the file away from the name the expunge looked for, and the next
/// scan brought the message back under a new UID. Needs `chattr` (root, ext4); without it
/// the case is skipped.
#[test]
fn failed_expunges_are_carried_out_once_possible() {
    let dir = TempDir::new("failed-expunge");
    let md = maildir(dir.path());
    let store = maildir_store(dir.path());
    let s = alice(&store);
    let first = append(&store, &s, "INBOX", "popped", Flags::new());
    append(&store, &s, "INBOX", "kept", Flags::new());
    let gone = append(&store, &s, "INBOX", "gone", Flags::new());
    let cur = md.join("cur");
    let chattr = |flag: &str| {
        std::process::Command::new("chattr")
            .arg(flag)
            .arg(&cur)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !chattr("+i") {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    let guard = Mutable(chattr);
    let deleted = FlagOp::Add(Flags::new().with(Flag::Deleted));
    block_on(store.store_flags(&s, "INBOX", &UidSet::single(gone), deleted, None)).unwrap();
    block_on(store.expunge(&s, "INBOX", ExpungeScope::Deleted)).unwrap();
    let maildrop = block_on(store.pop3_open(&s, Duration::from_secs(60))).unwrap();
    block_on(store.pop3_commit(&s, &maildrop.lease, &[first])).unwrap();
    drop(guard);
    std::thread::sleep(Duration::from_millis(20));
    fs::write(md.join("new").join(".touch"), b"").unwrap();
    fs::remove_file(md.join("new").join(".touch")).unwrap();
    let got: Vec<String> = subjects(&store, &s, "INBOX")
        .into_iter()
        .map(|(subject, _)| subject)
        .collect();
    assert_eq!(got, ["kept"]);
    assert_eq!(files(&cur).len(), 1, "{:?}", files(&cur));
    drop(store);
    let store = maildir_store(dir.path());
    let s = alice(&store);
    assert_eq!(subjects(&store, &s, "INBOX").len(), 1);
}
