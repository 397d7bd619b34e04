//! One delivery to several mailboxes as a unit: before the staged copies are committed one
//! account at a time, a marker file in the spool (`<unique>.deliver`, written atomically)
//! lists them. If the process dies before every copy is committed, opening an account puts
//! its marked copies that are still staged in place (the directory scan then indexes them),
//! and a marker goes once none of its copies is staged any more. Without the marker, staged
//! copies are removed as abandoned: a message is delivered to all its recipients or to none.

use std::{collections::BTreeSet, fs, io};

use serde::{Deserialize, Serialize};

use super::{
    FileRef,
    disk::Disk,
    index::{sync_dir, write_atomic},
    names::split_info,
};
use crate::{
    engine::{Backend, DeliveryMark},
    error::Result,
    types::AccountName,
    upload::unique_name,
};

/// The extension of delivery markers.
pub(super) const MARK_EXT: &str = "deliver";

/// One copy of a marked delivery.
#[derive(Serialize, Deserialize)]
struct Copy {
    #[serde(rename = "a")]
    account: String,
    #[serde(rename = "m")]
    mailbox: String,
    #[serde(rename = "b")]
    blob: FileRef,
}

impl Disk {
    /// Writes the marker for copies staged in several mailboxes.
    pub(super) fn mark_delivery(
        &self,
        copies: &[(&AccountName, &str, &FileRef)],
    ) -> Result<DeliveryMark> {
        // The marker promises staged files: they are in their directories first (at no cost
        // for a `tmp/` nothing was staged in since its last fsync).
        let dirs: BTreeSet<(&AccountName, &str)> =
            copies.iter().map(|(a, m, _)| (*a, *m)).collect();
        for (a, m) in dirs {
            self.sync_staged(a, m)?;
        }
        let list: Vec<Copy> = copies
            .iter()
            .map(|(a, m, b)| Copy {
                account: a.as_str().to_owned(),
                mailbox: (*m).to_owned(),
                blob: (*b).clone(),
            })
            .collect();
        let bytes = serde_json::to_vec(&list).map_err(io::Error::other)?;
        let path = self
            .spool_dir()
            .join(format!("{}.{MARK_EXT}", unique_name()));
        write_atomic(&path, &bytes, self.durable())?;
        Ok(DeliveryMark(Some(path)))
    }

    /// Every copy was committed or discarded: the marker goes.
    pub(super) fn unmark_delivery(mark: DeliveryMark) {
        if let Some(path) = mark.0 {
            let _ = fs::remove_file(path);
        }
    }

    /// Opening account `a`: its copies of interrupted deliveries go in place; markers with no
    /// copy staged any more go.
    pub(super) fn finish_deliveries(&self, a: &AccountName) {
        let Ok(entries) = fs::read_dir(self.spool_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != MARK_EXT) {
                continue;
            }
            let Ok(list) = fs::read(&path)
                .map_err(|_| ())
                .and_then(|b| serde_json::from_slice::<Vec<Copy>>(&b).map_err(|_| ()))
            else {
                continue; // damaged: removed by age with the spool's other leftovers
            };
            let mut settled = true;
            // The directories the copies were renamed between.
            let mut dirs = BTreeSet::new();
            for c in &list {
                let Ok(account) = AccountName::try_from(c.account.as_str()) else {
                    continue;
                };
                let dir = self.mailbox_dir(&account, &c.mailbox);
                let staged = dir.join("tmp").join(split_info(&c.blob.file).0);
                let target = Self::path_of(&dir, &c.blob);
                if account == *a && staged.exists() && !target.exists() {
                    let _ = fs::rename(&staged, &target);
                }
                if staged.exists() {
                    settled = false;
                }
                if let Some(parent) = target.parent() {
                    dirs.insert(parent.to_owned());
                }
                dirs.insert(dir.join("tmp"));
            }
            // Without the marker, a copy back in tmp/ after a crash would be removed as
            // abandoned: every rename is on disk before the marker goes, whichever account's
            // load made it (another may be loading at the same time).
            // (A directory that is gone went with its mailbox: nothing can come back there.)
            let synced = |d: &std::path::PathBuf| match sync_dir(d) {
                Ok(()) => true,
                Err(e) => e.kind() == io::ErrorKind::NotFound,
            };
            if settled && (!self.durable() || dirs.iter().all(synced)) {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        path::Path,
        sync::{
            Arc,
            atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        },
    };

    use super::super::tmpfs::Tmpfs;
    use super::super::{MaildirOptions, MaildirStore};
    use crate::{
        AccountName, FetchQuery, MailStore, Recipient, Session, UidSet, Upload, block_on,
        engine::delivery::Crash, model::Content,
    };

    fn open(root: &Path) -> MaildirStore {
        let store = MaildirStore::open(root, MaildirOptions::default()).unwrap();
        for a in ["alice", "bob"] {
            let a = AccountName::try_from(a).unwrap();
            if !block_on(store.account_exists(&a)).unwrap() {
                block_on(store.create_account(&a)).unwrap();
            }
        }
        store
    }

    fn inbox(store: &MaildirStore, who: &str) -> Vec<Vec<u8>> {
        let s = Session::new(AccountName::try_from(who).unwrap());
        let q = FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        block_on(store.fetch(&s, "INBOX", &UidSet::all(), q))
            .unwrap()
            .into_iter()
            .filter_map(|m| m.content)
            .collect()
    }

    /// The transaction lines of INBOX's journal.
    fn journal_lines(root: &Path, who: &str) -> usize {
        let log = std::fs::read(root.join(who).join("Maildir").join("mailstore-log")).unwrap();
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        log[..end].iter().filter(|&&b| b == b'\n').count() - 1
    }

    /// Waits for `ready` (another thread's progress), failing the test after 30 s.
    fn wait_until(what: &str, ready: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !ready() {
            assert!(start.elapsed().as_secs() < 30, "{what} never happened");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Flag changes and expunges that wait while another transaction holds the account are
    /// committed together, each worked out against what the earlier ones leave: an expunge
    /// sees the `\Deleted` a STORE before it set, a STORE skips what an expunge before it
    /// removed, UNCHANGEDSINCE sees the modseq a STORE before it gave.
    #[test]
    fn changes_waiting_for_the_account_share_one_commit() {
        use crate::{ExpungeScope, Flag, FlagOp, Flags, ModSeq, Uid, engine::changes::Changed};
        let root = std::env::temp_dir().join(format!("mail-store-changes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let alice = AccountName::try_from("alice").unwrap();
        let s = Session::new(alice.clone());
        let engine = Arc::clone(&store.handle.engine);
        for i in 0..4 {
            let item = crate::AppendItem::new(Upload::from_bytes(
                format!("Subject: {i}\r\n\r\n").into_bytes(),
            ));
            engine.append(&s, "INBOX", vec![item]).unwrap();
        }
        let m0 = engine.status(&s, "INBOX").unwrap().highest_modseq.get() + 1;
        let before = journal_lines(&root, "alice");
        let uids = |a: u32, b: u32| UidSet::range(Uid::new(a).unwrap(), Uid::new(b).unwrap());
        let add = |f: Flag| FlagOp::Add(Flags::new().with(f));
        let changes: Vec<Box<dyn Fn() -> Changed + Send + Sync>> = vec![
            Box::new(|| {
                Changed::Stored(
                    engine
                        .store_flags(&s, "INBOX", &uids(1, 2), &add(Flag::Seen), None)
                        .unwrap(),
                )
            }),
            Box::new(|| {
                Changed::Stored(
                    engine
                        .store_flags(&s, "INBOX", &uids(2, 2), &add(Flag::Flagged), None)
                        .unwrap(),
                )
            }),
            Box::new(|| {
                Changed::Stored(
                    engine
                        .store_flags(&s, "INBOX", &uids(3, 3), &add(Flag::Deleted), None)
                        .unwrap(),
                )
            }),
            Box::new(|| {
                Changed::Expunged(engine.expunge(&s, "INBOX", &ExpungeScope::Deleted).unwrap())
            }),
            Box::new(|| {
                Changed::Stored(
                    engine
                        .store_flags(&s, "INBOX", &uids(3, 3), &add(Flag::Answered), None)
                        .unwrap(),
                )
            }),
            Box::new(|| {
                let since = ModSeq::new(m0);
                let op = FlagOp::Remove(Flags::new().with(Flag::Seen));
                Changed::Stored(
                    engine
                        .store_flags(&s, "INBOX", &uids(2, 2), &op, since)
                        .unwrap(),
                )
            }),
        ];
        let answers: Vec<Changed> = std::thread::scope(|sc| {
            let waiting = engine.while_locked(&alice, || {
                let mut threads = Vec::new();
                for (i, change) in changes.iter().enumerate() {
                    threads.push(sc.spawn(change));
                    // Queued in this order.
                    wait_until("queueing", || engine.changes_waiting(&alice) > i);
                }
                threads
            });
            waiting.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let stored = |c: &Changed| match c {
            Changed::Stored(r) => (
                r.updated
                    .iter()
                    .map(|f| (f.uid.get(), f.modseq.get() - m0))
                    .collect::<Vec<_>>(),
                r.modified.iter().map(|u| u.get()).collect::<Vec<_>>(),
            ),
            Changed::Expunged(_) => panic!("a STORE answered as an expunge"),
        };
        assert_eq!(stored(&answers[0]), (vec![(1, 0), (2, 0)], vec![]));
        assert_eq!(stored(&answers[1]), (vec![(2, 1)], vec![]));
        assert_eq!(stored(&answers[2]), (vec![(3, 2)], vec![]));
        match &answers[3] {
            Changed::Expunged(e) => {
                assert_eq!(e.uids, [Uid::new(3).unwrap()]);
                assert_eq!(e.modseq, ModSeq::new(m0 + 3));
            }
            Changed::Stored(_) => panic!("an expunge answered as a STORE"),
        }
        assert_eq!(stored(&answers[4]), (vec![], vec![]), "uid 3 is gone");
        assert_eq!(
            stored(&answers[5]),
            (vec![], vec![2]),
            "uid 2 changed after m0"
        );
        assert_eq!(journal_lines(&root, "alice"), before + 1, "one transaction");
        let flags = |store: &MaildirStore| {
            block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta()))
                .unwrap()
                .into_iter()
                .map(|m| {
                    (
                        m.uid.get(),
                        m.flags.system().collect::<Vec<_>>(),
                        m.modseq.get(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let expected = vec![
            (1, vec![Flag::Seen], m0),
            (2, vec![Flag::Seen, Flag::Flagged], m0 + 1),
            (4, vec![], m0 - 1),
        ];
        assert_eq!(flags(&store), expected);
        drop(changes);
        drop((engine, store));
        // And the same after a restart, from the journal and the files' names.
        assert_eq!(flags(&open(&root)), expected);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A batch that fails as a whole is carried out again one change at a time: on a full
    /// disk, a `\Deleted` queued behind a change that needs room of its own still succeeds,
    /// as it would alone (only deleting may use the journal's room kept for it).
    #[test]
    fn a_batch_that_fails_whole_is_carried_out_one_by_one() {
        use crate::{Flag, FlagOp, Flags, StoreError, Uid};
        let fs_ = Tmpfs::mount("group", 8 << 20);
        let root = fs_.path().join("store");
        let options = MaildirOptions {
            journal_reserve: 16 * 1024,
            ..MaildirOptions::default()
        };
        let store = MaildirStore::open(&root, options).unwrap();
        let alice = AccountName::try_from("alice").unwrap();
        block_on(store.create_account(&alice)).unwrap();
        let s = Session::new(alice.clone());
        let engine = Arc::clone(&store.handle.engine);
        for i in 0..2 {
            let item = crate::AppendItem::new(Upload::from_bytes(
                format!("Subject: {i}\r\n\r\n").into_bytes(),
            ));
            engine.append(&s, "INBOX", vec![item]).unwrap();
        }
        let one = |u: u32| UidSet::single(Uid::new(u).unwrap());
        let op = |add: bool, f: Flag| {
            let f = Flags::new().with(f);
            if add {
                FlagOp::Add(f)
            } else {
                FlagOp::Remove(f)
            }
        };
        fs_.fill();
        // Ordinary changes until the room they may use is spent.
        let spent = (0..10_000).find_map(|i| {
            let flagged = op(i % 2 == 0, Flag::Flagged);
            engine
                .store_flags(&s, "INBOX", &one(1), &flagged, None)
                .err()
        });
        assert!(matches!(spent, Some(StoreError::NoSpace)), "{spent:?}");
        let (seen, deleted) = std::thread::scope(|sc| {
            let (seen, deleted) = engine.while_locked(&alice, || {
                let seen = sc.spawn(|| {
                    engine.store_flags(&s, "INBOX", &one(1), &op(true, Flag::Seen), None)
                });
                wait_until("queueing", || engine.changes_waiting(&alice) >= 1);
                let deleted = sc.spawn(|| {
                    engine.store_flags(&s, "INBOX", &one(2), &op(true, Flag::Deleted), None)
                });
                wait_until("queueing", || engine.changes_waiting(&alice) >= 2);
                (seen, deleted)
            });
            (seen.join().unwrap(), deleted.join().unwrap())
        });
        assert!(matches!(seen, Err(StoreError::NoSpace)), "{seen:?}");
        let deleted = deleted.unwrap();
        assert_eq!(deleted.updated.len(), 1, "{deleted:?}");
        let flags: Vec<bool> =
            block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta()))
                .unwrap()
                .iter()
                .map(|m| m.flags.contains(Flag::Deleted))
                .collect();
        assert_eq!(flags, [false, true]);
    }

    /// A group commit whose journal write reaches the compaction threshold is in the snapshot
    /// whole: the journal is compacted only once every transaction of the write is applied.
    /// (The second transaction of each group sets a keyword, which only the index holds: a
    /// file's name has no room for it without Dovecot's keyword file.)
    #[test]
    fn a_group_commit_that_compacts_the_journal_is_kept_whole() {
        use super::super::disk::COMPACT_AFTER;
        use super::super::disk::Disk;
        use crate::{Flag, FlagOp, Flags, Keyword, Uid, engine::Engine};
        let root = std::env::temp_dir().join(format!("mail-store-compact-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let open = || {
            let options = MaildirOptions {
                fsync: false,
                ..MaildirOptions::default()
            };
            let store = MaildirStore::open(&root, options).unwrap();
            let engine = Arc::clone(&store.handle.engine);
            (store, engine)
        };
        let alice = AccountName::try_from("alice").unwrap();
        let s = Session::new(alice.clone());
        let work = || Flags::new().with_keyword(Keyword::try_from("work").unwrap());
        let append = |engine: &Engine<Disk>, flags: Flags| {
            let m = b"Subject: x\r\n\r\n".to_vec();
            let mut item = crate::AppendItem::new(Upload::from_bytes(m));
            item.flags = flags;
            engine.append(&s, "INBOX", vec![item]).unwrap().uids[0].get()
        };
        let add = |engine: &Engine<Disk>, u: u32, f: Flags| {
            let r = engine.store_flags(
                &s,
                "INBOX",
                &UidSet::single(Uid::new(u).unwrap()),
                &FlagOp::Add(f),
                None,
            );
            r.unwrap().updated[0].modseq.get()
        };
        // Transactions until one short of compacting.
        let fill = |engine: &Engine<Disk>, u: u32| {
            let mut on = true;
            // (Counted from the file each time: the first commit after a restart may write
            // a line more, for what the restart found.)
            while journal_lines(&root, "alice") + 1 < COMPACT_AFTER {
                let f = Flags::new().with(Flag::Flagged);
                let op = if on {
                    FlagOp::Add(f)
                } else {
                    FlagOp::Remove(f)
                };
                engine
                    .store_flags(
                        &s,
                        "INBOX",
                        &UidSet::single(Uid::new(u).unwrap()),
                        &op,
                        None,
                    )
                    .unwrap();
                on = !on;
            }
        };
        // Two calls queued while the account is busy, in this order: one group commit.
        let queued = |engine: &Engine<Disk>,
                      calls: [&(dyn Fn() -> u64 + Sync); 2],
                      waiting: &dyn Fn() -> usize| {
            let got = std::thread::scope(|sc| {
                let threads = engine.while_locked(&alice, || {
                    calls.map(|call| {
                        let n = waiting();
                        let t = sc.spawn(call);
                        wait_until("queueing", || waiting() > n);
                        t
                    })
                });
                threads.map(|t| t.join().unwrap())
            });
            assert!(
                journal_lines(&root, "alice") < 10,
                "the journal was compacted"
            );
            got
        };
        // (uid, keyword "work", modseq) of each message, after a restart.
        let reopened = || {
            let (store, _) = open();
            block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta()))
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        u64::from(m.uid.get()),
                        m.flags.has_keyword("work"),
                        m.modseq.get(),
                    )
                })
                .collect::<Vec<_>>()
        };

        let (store, engine) = open();
        block_on(store.create_account(&alice)).unwrap();
        let uids = [append(&engine, Flags::new()), append(&engine, Flags::new())];
        fill(&engine, uids[0]);
        let modseqs = queued(
            &engine,
            [
                &|| add(&engine, uids[0], Flags::new().with(Flag::Seen)),
                &|| add(&engine, uids[1], work()),
            ],
            &|| engine.changes_waiting(&alice),
        );
        drop((engine, store));
        let got = reopened();
        assert_eq!(got[1], (u64::from(uids[1]), true, modseqs[1]), "{got:?}");

        let (store, engine) = open();
        fill(&engine, uids[0]);
        let arrived = queued(
            &engine,
            [&|| u64::from(append(&engine, Flags::new())), &|| {
                u64::from(append(&engine, work()))
            }],
            &|| engine.arrivals_waiting(&alice),
        );
        drop((engine, store));
        let got = reopened();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(
            (got[2].0, got[3].0, got[3].1),
            (arrived[0], arrived[1], true),
            "{got:?}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Deliveries and an APPEND that wait while another transaction holds the account are
    /// committed together: one journal line, each with its own UID and answer.
    #[test]
    fn arrivals_waiting_for_the_account_share_one_commit() {
        let root = std::env::temp_dir().join(format!("mail-store-group-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let alice = AccountName::try_from("alice").unwrap();
        let engine = Arc::clone(&store.handle.engine);
        let before = journal_lines(&root, "alice");
        let msg = |i: usize| format!("Subject: {i}\r\n\r\nbody {i}\r\n").into_bytes();
        let mut uids: Vec<u32> = std::thread::scope(|sc| {
            let waiting = engine.while_locked(&alice, || {
                let mut threads = Vec::new();
                for i in 0..2 {
                    let (engine, to) = (&engine, vec![Recipient::inbox(alice.clone())]);
                    threads.push(sc.spawn(move || {
                        let mut got = engine.deliver(Upload::from_bytes(msg(i)), &to);
                        got.remove(0).unwrap().uid.get()
                    }));
                }
                let (engine, s) = (&engine, Session::new(alice.clone()));
                threads.push(sc.spawn(move || {
                    let item = crate::AppendItem::new(Upload::from_bytes(msg(2)));
                    engine.append(&s, "INBOX", vec![item]).unwrap().uids[0].get()
                }));
                wait_until("queueing", || engine.arrivals_waiting(&alice) >= 3);
                threads
            });
            waiting.into_iter().map(|t| t.join().unwrap()).collect()
        });
        uids.sort_unstable();
        assert_eq!(uids, [1, 2, 3]);
        assert_eq!(journal_lines(&root, "alice"), before + 1, "one transaction");
        let mut got = inbox(&store, "alice");
        got.sort();
        assert_eq!(got, [msg(0), msg(1), msg(2)]);
        drop((engine, store));
        // And the same after a restart, from the journal.
        let mut got = inbox(&open(&root), "alice");
        got.sort();
        assert_eq!(got, [msg(0), msg(1), msg(2)]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Lets a held hook go however a scope ends (a failed wait included), so that a failing
    /// test ends instead of hanging.
    struct Release<'a>(&'a AtomicBool);

    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }

    /// A hook that holds alice's calls until `release`, counting them and setting `held`.
    fn hold_alice(
        held: &Arc<AtomicBool>,
        release: &Arc<AtomicBool>,
        calls: &Arc<AtomicUsize>,
    ) -> super::super::disk::TestHook {
        let (held, release, calls) = (Arc::clone(held), Arc::clone(release), Arc::clone(calls));
        Arc::new(move |a: &AccountName| {
            if a.as_str() == "alice" {
                calls.fetch_add(1, SeqCst);
                held.store(true, SeqCst);
                while !release.load(SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        })
    }

    /// Whether `done` is set within ten seconds.
    fn within_ten_seconds(done: &AtomicBool) -> bool {
        let start = std::time::Instant::now();
        while !done.load(SeqCst) && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        done.load(SeqCst)
    }

    /// Delivers to alice and, once `held` says a hook holds her delivery, to bob: whether
    /// bob's was answered while alice's was still held (within ten seconds). Both succeed.
    fn bob_while_alice_is_held(
        engine: &crate::engine::Engine<super::super::disk::Disk>,
        held: &AtomicBool,
        release: &AtomicBool,
    ) -> bool {
        let to = |who: &str| vec![Recipient::inbox(AccountName::try_from(who).unwrap())];
        let bob_done = AtomicBool::new(false);
        std::thread::scope(|sc| {
            let _release = Release(release);
            let bob_done = &bob_done;
            let alice =
                sc.spawn(move || engine.deliver(Upload::from_bytes(msg("alice")), &to("alice")));
            wait_until("alice's hook", || held.load(SeqCst));
            let bob = sc.spawn(move || {
                let got = engine.deliver(Upload::from_bytes(msg("bob")), &to("bob"));
                bob_done.store(true, SeqCst);
                got
            });
            let bob_first = within_ten_seconds(bob_done);
            release.store(true, SeqCst);
            for got in [alice.join().unwrap(), bob.join().unwrap()] {
                assert!(got.iter().all(Result::is_ok), "{got:?}");
            }
            bob_first
        })
    }

    /// What [`bob_while_alice_is_held`] delivers to `who`.
    fn msg(who: &str) -> Vec<u8> {
        format!("Subject: to {who}\r\n\r\nhello\r\n").into_bytes()
    }

    /// Dovecot's keyword letters belong to one folder's `dovecot-keywords`: a copy is
    /// named through the destination's map, not with the source's letters.
    #[test]
    fn keyword_letters_are_translated_on_copy() {
        use crate::Flag;
        let root = std::env::temp_dir().join(format!("mail-store-kwcopy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        drop(open(&root));
        let md = root.join("alice/Maildir");
        std::fs::write(md.join("dovecot-keywords"), "0 $Junk\n").unwrap();
        std::fs::write(md.join("cur/1700000000.M1P9Q1.other:2,Sa"), msg("junk")).unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(".Archive").join(sub)).unwrap();
        }
        std::fs::write(
            md.join(".Archive/dovecot-keywords"),
            "0 $NotJunk\n1 $Junk\n",
        )
        .unwrap();
        let store = open(&root);
        let s = Session::new(AccountName::try_from("alice").unwrap());
        let q = FetchQuery::default();
        let fetched = block_on(store.fetch(&s, "INBOX", &UidSet::all(), q)).unwrap();
        assert!(fetched[0].flags.has_keyword("$Junk"));
        assert!(fetched[0].flags.contains(Flag::Seen));
        block_on(store.copy(&s, "INBOX", &UidSet::all(), "Archive")).unwrap();
        let names: Vec<String> = std::fs::read_dir(md.join(".Archive/cur"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].ends_with(":2,Sb"), "{names:?}");
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Folders other programs create or remove (maildrop, mutt, `maildirmake`) are seen
    /// by LIST and by a name's first use, without the account being loaded again; a folder
    /// spelled otherwise than the store would (raw UTF-8) is left alone, not shadowed.
    #[test]
    fn folders_made_by_other_programs_are_seen() {
        use crate::{ListScope, StoreError};
        let root = std::env::temp_dir().join(format!("mail-store-folders-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let s = Session::new(AccountName::try_from("alice").unwrap());
        assert_eq!(inbox(&store, "alice").len(), 0);
        let md = root.join("alice/Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(".Spam").join(sub)).unwrap();
            std::fs::create_dir_all(md.join(".Entwürfe").join(sub)).unwrap();
        }
        std::fs::write(md.join(".Spam/new/1800000000.M1P9Q1.other"), msg("spam")).unwrap();
        let names = |store: &MaildirStore| -> Vec<String> {
            block_on(store.list(&s, "*", ListScope::All))
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect()
        };
        assert!(
            names(&store).contains(&"Spam".to_owned()),
            "{:?}",
            names(&store)
        );
        assert_eq!(block_on(store.status(&s, "Spam")).unwrap().messages, 1);
        assert!(matches!(
            block_on(store.create_mailbox(&s, "Spam", None)),
            Err(StoreError::MailboxExists(_))
        ));
        assert!(!names(&store).contains(&"Entwürfe".to_owned()));
        assert!(!md.join(".Entw&APw-rfe").exists());
        std::fs::remove_dir_all(md.join(".Spam")).unwrap();
        assert!(!names(&store).contains(&"Spam".to_owned()));
        assert!(block_on(store.status(&s, "Spam")).is_err());
        // A folder the account's load opened though its name is not one the store would
        // give (`Inbox.Archive`) is not taken for gone at the next LIST.
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(".Inbox.Archive").join(sub)).unwrap();
        }
        drop(store);
        let store = open(&root);
        let loaded = names(&store);
        assert_eq!(names(&store), loaded);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A message file another program removed without the directory showing it (its
    /// mtime as we last saw it) is left out of a FETCH and expunged, not the whole FETCH
    /// failed.
    #[test]
    fn a_message_file_gone_unnoticed_is_left_out_and_expunged() {
        let root = std::env::temp_dir().join(format!("mail-store-gone-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let s = Session::new(AccountName::try_from("alice").unwrap());
        for who in ["one", "two", "three"] {
            let item = crate::AppendItem::new(Upload::from_bytes(msg(who)));
            block_on(store.append(&s, "INBOX", vec![item])).unwrap();
        }
        assert_eq!(inbox(&store, "alice").len(), 3);
        let md = root.join("alice/Maildir");
        let (dir, file) = ["new", "cur"]
            .iter()
            .flat_map(|sub| {
                let dir = md.join(sub);
                std::fs::read_dir(&dir)
                    .unwrap()
                    .flatten()
                    .map(move |e| (dir.clone(), e.path()))
            })
            .find(|(_, p)| std::fs::read(p).unwrap() == msg("two"))
            .unwrap();
        let seen = std::fs::metadata(&dir).unwrap().modified().unwrap();
        std::fs::remove_file(file).unwrap();
        std::fs::File::open(&dir)
            .unwrap()
            .set_modified(seen)
            .unwrap();
        assert_eq!(inbox(&store, "alice"), [msg("one"), msg("three")]);
        let status = block_on(store.status(&s, "INBOX")).unwrap();
        assert_eq!(status.messages, 2);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A message another program delivers while one of our commits is under way is seen at
    /// the next call: the mtimes our renames leave do not stand for the other program's
    /// change.
    #[test]
    fn a_delivery_by_another_program_during_a_commit_is_seen() {
        use crate::{Flag, FlagOp, Flags};
        let root = std::env::temp_dir().join(format!("mail-store-other-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let alice = AccountName::try_from("alice").unwrap();
        let s = Session::new(alice.clone());
        let item = crate::AppendItem::new(Upload::from_bytes(msg("alice")));
        block_on(store.append(&s, "INBOX", vec![item])).unwrap();
        assert_eq!(inbox(&store, "alice").len(), 1);
        // Directory timestamps are coarse (the kernel's tick): a change within the tick of
        // the last look cannot be told from it, by us or by Dovecot without its rescans of
        // recently changed directories. The other program's delivery comes later here.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let new = root.join("alice/Maildir/new");
        let engine = Arc::clone(&store.handle.engine);
        *engine.backend.commit_hook.lock().unwrap() = Some(Arc::new(move |_: &AccountName| {
            std::fs::write(new.join("1800000000.M1P9Q1.other"), msg("procmail")).unwrap();
        }));
        let seen = FlagOp::Add(Flags::new().with(Flag::Seen));
        block_on(store.store_flags(&s, "INBOX", &UidSet::all(), seen, None)).unwrap();
        *engine.backend.commit_hook.lock().unwrap() = None;
        assert_eq!(inbox(&store, "alice"), [msg("alice"), msg("procmail")]);
        drop((engine, store));
        let _ = std::fs::remove_dir_all(&root);
    }

    /// One account's journal write holds up no other: while alice's commit is held between
    /// taking her journal and writing it, a delivery to bob is committed and answered.
    #[test]
    fn a_commit_holds_up_no_other_account() {
        let root = std::env::temp_dir().join(format!("mail-store-apart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let engine = Arc::clone(&store.handle.engine);
        let held = Arc::new(AtomicBool::new(false));
        let release = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        *engine.backend.commit_hook.lock().unwrap() = Some(hold_alice(&held, &release, &calls));
        let bob_first = bob_while_alice_is_held(&engine, &held, &release);
        assert!(bob_first, "bob's delivery waited for alice's journal write");
        *engine.backend.commit_hook.lock().unwrap() = None;
        assert_eq!(inbox(&store, "alice"), [msg("alice")]);
        assert_eq!(inbox(&store, "bob"), [msg("bob")]);
        drop((engine, store));
        // And the same after a restart, from the journals.
        let store = open(&root);
        assert_eq!(inbox(&store, "alice"), [msg("alice")]);
        assert_eq!(inbox(&store, "bob"), [msg("bob")]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Runs `read` while a hook holds alice's first message read, and meanwhile a delivery
    /// of `msg("again")` to her, then `meanwhile` (with the read still held, if the delivery
    /// was answered). `read`'s result, and whether the delivery was answered (within ten
    /// seconds) while the read was held.
    fn deliver_while_alice_reads<T: Send>(
        engine: &crate::engine::Engine<super::super::disk::Disk>,
        read: impl FnOnce() -> T + Send,
        meanwhile: impl FnOnce(),
    ) -> (T, bool) {
        let (held, release) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let calls = Arc::new(AtomicUsize::new(0));
        *engine.backend.read_hook.lock().unwrap() = Some(hold_alice(&held, &release, &calls));
        let to = vec![Recipient::inbox(AccountName::try_from("alice").unwrap())];
        let done = AtomicBool::new(false);
        let got = std::thread::scope(|sc| {
            let _release = Release(&release);
            let reader = sc.spawn(read);
            wait_until("alice's read", || held.load(SeqCst));
            let (done, to) = (&done, &to);
            let writer = sc.spawn(move || {
                let got = engine.deliver(Upload::from_bytes(msg("again")), to);
                done.store(true, SeqCst);
                got
            });
            let delivered = within_ten_seconds(done);
            if !delivered {
                // The read holds the lock: let it go, or `meanwhile` may wait for ever.
                release.store(true, SeqCst);
            }
            meanwhile();
            release.store(true, SeqCst);
            let written = writer.join().unwrap();
            assert!(written.iter().all(Result::is_ok), "{written:?}");
            (reader.join().unwrap(), delivered)
        });
        *engine.backend.read_hook.lock().unwrap() = None;
        got
    }

    /// A FETCH reads the messages' octets without the account's lock: while alice's read is
    /// held, a delivery to her is committed and answered. A message expunged meanwhile is
    /// left out of the answer (read again under the lock, it is gone from the index), not
    /// taken for one another program removed.
    #[test]
    fn a_fetch_of_octets_holds_up_nothing_of_the_account() {
        use crate::{Content, ExpungeScope, FetchQuery, Flag, FlagOp, Flags};
        let root = std::env::temp_dir().join(format!("mail-store-read-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let engine = Arc::clone(&store.handle.engine);
        let s = Session::new(AccountName::try_from("alice").unwrap());
        engine.deliver(
            Upload::from_bytes(msg("alice")),
            &[Recipient::inbox(s.account().clone())],
        );
        let query = FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        let (fetched, delivered) = deliver_while_alice_reads(
            &engine,
            || engine.fetch(&s, "INBOX", &UidSet::all(), query),
            || {
                // The message being read is expunged before the read goes on.
                let deleted = FlagOp::Add(Flags::new().with(Flag::Deleted));
                let first = UidSet::range(crate::Uid::MIN, crate::Uid::MIN);
                engine
                    .store_flags(&s, "INBOX", &first, &deleted, None)
                    .unwrap();
                engine.expunge(&s, "INBOX", &ExpungeScope::Deleted).unwrap();
            },
        );
        assert!(delivered, "the delivery waited for alice's read");
        let fetched = fetched.unwrap();
        assert!(fetched.is_empty(), "{fetched:?}");
        assert_eq!(inbox(&store, "alice"), [msg("again")]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// POP3 RETR reads without the account's lock too: while alice's read is held, a
    /// delivery to her is answered; the message is served and marked `\Seen` after.
    #[test]
    fn a_pop3_retrieve_holds_up_nothing_of_the_account() {
        use crate::{Flag, Uid};
        let root = std::env::temp_dir().join(format!("mail-store-retr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let engine = Arc::clone(&store.handle.engine);
        let s = Session::new(AccountName::try_from("alice").unwrap());
        engine.deliver(
            Upload::from_bytes(msg("alice")),
            &[Recipient::inbox(s.account().clone())],
        );
        let drop = engine
            .pop3_open(&s, std::time::Duration::from_secs(60))
            .unwrap();
        let (data, delivered) = deliver_while_alice_reads(
            &engine,
            || engine.pop3_retrieve(&s, &drop.lease, Uid::MIN, true),
            || {},
        );
        assert!(delivered, "the delivery waited for alice's RETR");
        assert_eq!(data.unwrap(), msg("alice"));
        let first = UidSet::range(Uid::MIN, Uid::MIN);
        let seen = engine
            .fetch(&s, "INBOX", &first, crate::FetchQuery::meta())
            .unwrap();
        assert!(seen[0].flags.contains(Flag::Seen), "{seen:?}");
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A message kept octet for octet with a bare CR and a bare LF: its file name's `W=`
    /// is Dovecot's virtual size (the bare LF counted as CRLF, the bare CR not: Dovecot
    /// sends it as it is), while POP3, which sends the bare CR as CRLF, lists one octet
    /// more; after a restart too (the journal keeps the count).
    #[test]
    fn w_is_dovecot_virtual_size_and_pop3_counts_bare_crs() {
        let root = std::env::temp_dir().join(format!("mail-store-barecr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let message = b"Subject: x\r\n\r\na\rb\nc\r\n";
        let alice = AccountName::try_from("alice").unwrap();
        for round in 0..2 {
            let store = open(&root);
            let engine = Arc::clone(&store.handle.engine);
            if round == 0 {
                let mut data = Upload::from_bytes(message.to_vec());
                data.keep_line_ends();
                let got = engine.deliver(data, &[Recipient::inbox(alice.clone())]);
                assert!(got.iter().all(Result::is_ok), "{got:?}");
            }
            let names: Vec<String> = std::fs::read_dir(root.join("alice/Maildir/new"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names.len(), 1, "{names:?}");
            assert!(names[0].ends_with(",S=21,W=22"), "{names:?}");
            let s = Session::new(alice.clone());
            let drop = engine
                .pop3_open(&s, std::time::Duration::from_secs(60))
                .unwrap();
            assert_eq!(drop.messages[0].size, 23);
            engine.pop3_release(&s, &drop.lease).unwrap();
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A store over accounts alice and bob that are on disk and not yet in memory, with a
    /// load hook that holds alice's load ([`hold_alice`]).
    #[allow(clippy::type_complexity)]
    fn alice_held_while_loading(
        tag: &str,
    ) -> (
        std::path::PathBuf,
        MaildirStore,
        Arc<crate::engine::Engine<super::super::disk::Disk>>,
        Arc<AtomicBool>,
        Arc<AtomicBool>,
        Arc<AtomicUsize>,
    ) {
        let root = std::env::temp_dir().join(format!("mail-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        drop(open(&root));
        let store = MaildirStore::open(&root, MaildirOptions::default()).unwrap();
        let engine = Arc::clone(&store.handle.engine);
        let (held, release) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let calls = Arc::new(AtomicUsize::new(0));
        *engine.backend.load_hook.lock().unwrap() = Some(hold_alice(&held, &release, &calls));
        (root, store, engine, held, release, calls)
    }

    /// Loading one account holds up no other: while alice's account is held in the middle of
    /// its load, bob's is loaded and a delivery to him committed and answered.
    #[test]
    fn a_load_holds_up_no_other_account() {
        let (root, store, engine, held, release, calls) = alice_held_while_loading("load");
        let bob_first = bob_while_alice_is_held(&engine, &held, &release);
        assert!(
            bob_first,
            "bob's delivery waited for alice's account to load"
        );
        assert_eq!(calls.load(SeqCst), 1, "alice's account loaded once");
        *engine.backend.load_hook.lock().unwrap() = None;
        assert_eq!(inbox(&store, "alice"), [msg("alice")]);
        assert_eq!(inbox(&store, "bob"), [msg("bob")]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// Callers that need an account while it loads wait for that load instead of loading it
    /// again: four deliveries to alice at once load her account once, and all four arrive.
    #[test]
    fn an_account_is_loaded_once() {
        let (root, store, engine, held, release, calls) = alice_held_while_loading("once");
        let msg = |n: usize| format!("Subject: {n}\r\n\r\nhello\r\n").into_bytes();
        let to = vec![Recipient::inbox(AccountName::try_from("alice").unwrap())];
        std::thread::scope(|sc| {
            let _release = Release(&release);
            let (engine, to) = (&engine, &to);
            let first = sc.spawn(move || engine.deliver(Upload::from_bytes(msg(0)), to));
            wait_until("alice's load", || held.load(SeqCst));
            let others: Vec<_> = (1..4)
                .map(|n| sc.spawn(move || engine.deliver(Upload::from_bytes(msg(n)), to)))
                .collect();
            // Time for the others to find the load under way.
            std::thread::sleep(std::time::Duration::from_millis(100));
            release.store(true, SeqCst);
            for t in std::iter::once(first).chain(others) {
                let got = t.join().unwrap();
                assert!(got.iter().all(Result::is_ok), "{got:?}");
            }
        });
        assert_eq!(
            calls.load(SeqCst),
            1,
            "alice's account was loaded more than once"
        );
        *engine.backend.load_hook.lock().unwrap() = None;
        let mut got = inbox(&store, "alice");
        got.sort();
        assert_eq!(got, (0..4).map(msg).collect::<Vec<_>>());
        let _ = std::fs::remove_dir_all(&root);
    }

    /// The map of `tmp/` directories with staged entries follows DELETE and RENAME: nothing
    /// is left for a folder that is gone (a user creating, filling and deleting folders
    /// would grow it), and a renamed folder's entry moves with it.
    #[test]
    fn staged_entries_follow_deleted_and_renamed_folders() {
        let root = std::env::temp_dir().join(format!("mail-store-staged-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = open(&root);
        let engine = Arc::clone(&store.handle.engine);
        let alice = AccountName::try_from("alice").unwrap();
        let s = Session::new(alice.clone());
        for name in ["Gone", "Moved"] {
            block_on(store.create_mailbox(&s, name, None)).unwrap();
            let mut up = store.upload();
            up.write(b"Subject: x\r\n\r\nx\r\n").unwrap();
            block_on(store.append(&s, name, vec![crate::AppendItem::new(up)])).unwrap();
        }
        let tmp = |name: &str| engine.backend.mailbox_dir(&alice, name).join("tmp");
        let staged = |name: &str| {
            engine
                .backend
                .staged
                .lock()
                .unwrap()
                .contains_key(&tmp(name))
        };
        assert!(staged("Gone") && staged("Moved"));
        block_on(store.delete_mailbox(&s, "Gone")).unwrap();
        block_on(store.rename_mailbox(&s, "Moved", "Kept")).unwrap();
        assert!(!staged("Gone") && !staged("Moved") && staged("Kept"));
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A delivery to two accounts the process dies in reaches both after a restart once its
    /// marker was written, and neither before.
    #[test]
    fn an_interrupted_delivery_reaches_every_recipient_or_none() {
        for (crash, expect) in [(Crash::AfterFirstCommit, 1), (Crash::BeforeMark, 0)] {
            let root = std::env::temp_dir().join(format!(
                "mail-store-delivery-{}-{crash:?}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&root);
            let msg = b"Subject: to both\r\n\r\nhello\r\n".to_vec();
            {
                let store = open(&root);
                let to: Vec<Recipient> = ["alice", "bob"]
                    .iter()
                    .map(|a| Recipient::inbox(AccountName::try_from(*a).unwrap()))
                    .collect();
                let engine = Arc::clone(&store.handle.engine);
                engine.deliver_until(Upload::from_bytes(msg.clone()), &to, crash);
                let mark = std::fs::read_dir(root.join(".spool"))
                    .unwrap()
                    .flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == super::MARK_EXT));
                assert_eq!(mark, expect == 1, "{crash:?}: the marker");
            }
            let store = open(&root);
            for who in ["alice", "bob"] {
                let got = inbox(&store, who);
                assert_eq!(got.len(), expect, "{crash:?}: {who}'s INBOX");
                assert!(got.iter().all(|m| *m == msg), "{crash:?}");
                let tmp = root.join(who).join("Maildir/tmp");
                assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0, "{crash:?}");
            }
            let left = std::fs::read_dir(root.join(".spool")).unwrap().count();
            assert_eq!(left, 0, "{crash:?}: the marker is gone once settled");
            drop(store);
            let _ = std::fs::remove_dir_all(&root);
        }
    }
}
