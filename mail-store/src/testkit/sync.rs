//! Changes since a modseq, `\Recent`, change events and concurrent sessions.

use std::{sync::Arc, thread, time::Duration};

use super::{Fixture, account, item, message, put};
use crate::{
    ChangeEvent, ChangeKind, ExpungeScope, FetchQuery, Flag, FlagOp, Flags, MailStore, Session,
    Subscription, UidSet, block_on,
};

/// `changes_since` splits new messages, changed messages and expunged UIDs by modseq.
pub fn changes_since_classifies<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = put(store, &s, "INBOX", "a", Flags::new());
    let b = put(store, &s, "INBOX", "b", Flags::new());
    let c = put(store, &s, "INBOX", "c", Flags::new());
    let mark = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(a),
        FlagOp::Add(Flags::new().with(Flag::Seen)),
        None,
    ))
    .unwrap();
    block_on(store.expunge(&s, "INBOX", ExpungeScope::Uids(UidSet::single(b)))).unwrap();
    let d = put(store, &s, "INBOX", "d", Flags::new());
    let ch = block_on(store.changes_since(&s, "INBOX", mark.get())).unwrap();
    assert_eq!(ch.new.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![d]);
    assert_eq!(
        ch.changed.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![a]
    );
    assert!(ch.changed[0].flags.contains(Flag::Seen));
    assert_eq!(ch.expunged, crate::UidSet::single(b));
    assert_eq!(
        ch.highest_modseq,
        block_on(store.status(&s, "INBOX")).unwrap().highest_modseq
    );
    let everything = block_on(store.changes_since(&s, "INBOX", 0)).unwrap();
    assert_eq!(
        everything.new.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![a, c, d]
    );
    let none = block_on(store.changes_since(&s, "INBOX", ch.highest_modseq.get())).unwrap();
    assert!(none.new.is_empty() && none.changed.is_empty() && none.expunged.is_empty());
}

/// `\Recent` (IMAP4rev1): the first session to claim new messages gets them, no other.
pub fn recent_is_claimed_once<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = put(store, &s, "INBOX", "a", Flags::new());
    let b = put(store, &s, "INBOX", "b", Flags::new());
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().recent, 2);
    let s2 = Session::new(s.account().clone());
    assert_eq!(
        block_on(store.take_recent(&s, "INBOX")).unwrap(),
        vec![a, b]
    );
    assert!(
        block_on(store.take_recent(&s2, "INBOX"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().recent, 0);
    let c = put(store, &s, "INBOX", "c", Flags::new());
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().recent, 1);
    assert_eq!(block_on(store.take_recent(&s2, "INBOX")).unwrap(), vec![c]);
}

/// The next event of `sub` within `wait`, past the `Created` of the mailbox it watches: a
/// backend whose events arrive asynchronously (PostgreSQL's NOTIFY) may deliver the
/// creation after a watch that began right after it.
fn next_change(sub: &Subscription, wait: Duration) -> Option<ChangeEvent> {
    loop {
        let ev = sub.recv_timeout(wait)?;
        if ev.kind != ChangeKind::Created {
            return Some(ev);
        }
    }
}

/// Every other session watching a mailbox hears about appends, flag changes, expunges,
/// renames and deletion; the session that made a change does not hear its own echo.
pub fn change_events_reach_other_sessions<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let writer = account(store, "alice");
    let reader = Session::new(writer.account().clone());
    block_on(store.create_mailbox(&writer, "Box", None)).unwrap();
    let mut mine = block_on(store.watch(&writer, "Box")).unwrap();
    let theirs = block_on(store.watch(&reader, "Box")).unwrap();
    let wait = Duration::from_secs(5);
    let u = put(store, &writer, "Box", "a", Flags::new());
    let ev = next_change(&theirs, wait).expect("append event");
    assert_eq!(ev.mailbox, "Box");
    assert_eq!(ev.origin, writer.id());
    let ChangeKind::Appended { messages } = ev.kind else {
        panic!("{ev:?}")
    };
    assert_eq!(messages[0].uid, u);
    block_on(store.store_flags(
        &writer,
        "Box",
        &UidSet::single(u),
        FlagOp::Add(Flags::new().with(Flag::Deleted)),
        None,
    ))
    .unwrap();
    let ev = next_change(&theirs, wait).expect("flags event");
    let ChangeKind::FlagsChanged(fl) = ev.kind else {
        panic!("{ev:?}")
    };
    assert!(fl[0].flags.contains(Flag::Deleted));
    let ex = block_on(store.expunge(&writer, "Box", ExpungeScope::Deleted)).unwrap();
    let ev = next_change(&theirs, wait).expect("expunge event");
    assert_eq!(
        ev.kind,
        ChangeKind::Expunged {
            uids: vec![u],
            modseq: ex.modseq.unwrap()
        }
    );
    assert!(mine.try_next().is_none(), "no echo to the origin");
    // The reader's own change reaches the writer, through the async interface too.
    put(store, &reader, "Box", "b", Flags::new());
    let ev = block_on(mine.recv());
    assert!(matches!(ev.kind, ChangeKind::Appended { .. }));
    block_on(store.rename_mailbox(&writer, "Box", "Box2")).unwrap();
    let ev = next_change(&theirs, wait).expect("rename event");
    assert_eq!(ev.kind, ChangeKind::Renamed { to: "Box2".into() });
    let theirs2 = block_on(store.watch(&reader, "Box2")).unwrap();
    block_on(store.delete_mailbox(&writer, "Box2")).unwrap();
    assert!(matches!(
        next_change(&theirs2, wait).expect("delete event").kind,
        ChangeKind::Deleted { .. }
    ));
    // Watching a mailbox that does not exist fails.
    assert!(block_on(store.watch(&reader, "Nope")).is_err());
}

/// A session watching the whole account hears the changes other sessions make to every
/// mailbox and to the mailbox list: created (parents too), subscribed, renamed, deleted;
/// not its own.
pub fn account_events_cover_every_mailbox<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let writer = account(store, "alice");
    let reader = Session::new(writer.account().clone());
    let all = block_on(store.watch_account(&reader)).unwrap();
    let wait = Duration::from_secs(5);
    let child = format!("Lists{}Rust", store.hierarchy_delimiter());
    let child = child.as_str();
    let next = || {
        let ev = all.recv_timeout(wait).expect("an event");
        assert_eq!(ev.origin, writer.id());
        (ev.mailbox, ev.kind)
    };
    block_on(store.create_mailbox(&writer, child, None)).unwrap();
    assert_eq!(next(), ("Lists".into(), ChangeKind::Created));
    assert_eq!(next(), (child.into(), ChangeKind::Created));
    let u = put(store, &writer, child, "a", Flags::new());
    let (name, kind) = next();
    assert_eq!(name, child);
    assert!(
        matches!(&kind, ChangeKind::Appended { messages } if messages[0].uid == u),
        "{kind:?}"
    );
    put(store, &writer, "INBOX", "b", Flags::new());
    assert_eq!(next().0, "INBOX");
    block_on(store.subscribe(&writer, child)).unwrap();
    assert_eq!(next(), (child.into(), ChangeKind::Subscribed { on: true }));
    // Subscribing again changes nothing and tells nothing.
    block_on(store.subscribe(&writer, child)).unwrap();
    block_on(store.unsubscribe(&writer, child)).unwrap();
    assert_eq!(next(), (child.into(), ChangeKind::Subscribed { on: false }));
    block_on(store.rename_mailbox(&writer, child, "Rust")).unwrap();
    assert_eq!(
        next(),
        (child.into(), ChangeKind::Renamed { to: "Rust".into() })
    );
    block_on(store.delete_mailbox(&writer, "Rust")).unwrap();
    let (name, kind) = next();
    assert_eq!(name, "Rust");
    assert!(matches!(kind, ChangeKind::Deleted { .. }), "{kind:?}");
    // The watcher's own changes are not echoed.
    block_on(store.create_mailbox(&reader, "Mine", None)).unwrap();
    put(store, &reader, "Mine", "c", Flags::new());
    assert!(all.recv_timeout(Duration::from_millis(200)).is_none());
}

/// Two writers append and change flags at the same time while a third session watches:
/// every UID is unique, nothing is lost, and the watcher hears every append.
pub fn concurrent_writers_and_reader<S: MailStore>(fx: Fixture<S>) {
    let store = Arc::clone(&fx.store);
    let base = account(&*store, "alice");
    let reader = Session::new(base.account().clone());
    let sub = block_on(store.watch(&reader, "INBOX")).unwrap();
    const PER_WRITER: usize = 40;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let store = Arc::clone(&store);
            let s = Session::new(base.account().clone());
            thread::spawn(move || {
                let mut uids = Vec::new();
                for i in 0..PER_WRITER {
                    let data = message(&format!("w{w}-{i}"), "x");
                    let a = block_on(store.append(
                        &s,
                        "INBOX",
                        vec![item(&*store, &data, Flags::new())],
                    ))
                    .unwrap();
                    uids.push(a.uids[0]);
                    if i % 4 == 0 {
                        block_on(store.store_flags(
                            &s,
                            "INBOX",
                            &UidSet::single(a.uids[0]),
                            FlagOp::Add(Flags::new().with(Flag::Seen)),
                            None,
                        ))
                        .unwrap();
                    }
                }
                uids
            })
        })
        .collect();
    let mut all: Vec<_> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "UIDs must be unique");
    let st = block_on(store.status(&reader, "INBOX")).unwrap();
    assert_eq!(st.messages as usize, 2 * PER_WRITER);
    assert_eq!(
        st.unseen as usize,
        2 * PER_WRITER - 2 * PER_WRITER.div_ceil(4)
    );
    let mut heard = 0;
    let mut seen_flags = 0;
    while heard < 2 * PER_WRITER || seen_flags < 2 * PER_WRITER.div_ceil(4) {
        let ev = sub
            .recv_timeout(Duration::from_secs(5))
            .expect("an event for every change");
        match ev.kind {
            ChangeKind::Appended { messages } => heard += messages.len(),
            ChangeKind::FlagsChanged(f) => seen_flags += f.len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Modseqs of the messages are unique per transaction and below HIGHESTMODSEQ.
    let msgs = block_on(store.fetch(&reader, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
    assert!(msgs.iter().all(|m| m.modseq <= st.highest_modseq));
    let mut seqs: Vec<_> = msgs
        .iter()
        .filter(|m| !m.flags.contains(Flag::Seen))
        .map(|m| m.modseq)
        .collect();
    let k = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), k, "each append transaction has its own modseq");
}

/// What [`bounded_expunge_history`] did, to check now and again after the store reopens.
#[derive(Debug, Clone)]
pub struct ExpungeHistory {
    session: Session,
    /// Each expunged UID with the modseq of its expunge, in order.
    expunges: Vec<(u32, u64)>,
}

/// For a store set to remember four expunges with their modseqs (its `expunge_history`
/// option), not a case of [`cases`](super::cases): twelve messages, nine of them expunged
/// one at a time. Check the answers with [`ExpungeHistory::check`].
pub fn bounded_expunge_history<S: MailStore>(store: &S) -> ExpungeHistory {
    let session = account(store, "alice");
    let uids: Vec<u32> = (0..12)
        .map(|i| put(store, &session, "INBOX", &format!("m{i}"), Flags::new()).get())
        .collect();
    assert_eq!(uids, (1..=12).collect::<Vec<_>>());
    let expunges = (1..=10)
        .filter(|&u| u != 5)
        .map(|u| {
            let scope = ExpungeScope::Uids(UidSet::single(super::uid(u)));
            let e = block_on(store.expunge(&session, "INBOX", scope)).unwrap();
            (u, e.modseq.unwrap().get())
        })
        .collect();
    ExpungeHistory { session, expunges }
}

impl ExpungeHistory {
    /// The latest expunge is answered exactly; a modseq older than the history with every
    /// UID not in the mailbox (those expunged before it too, as RFC 7162 §3.2.6 allows);
    /// every answer holds each UID expunged after its modseq and none still present.
    pub fn check<S: MailStore>(&self, store: &S) {
        let changes = |since: u64| {
            block_on(store.changes_since(&self.session, "INBOX", since))
                .unwrap()
                .expunged
        };
        let set = |uids: &[u32]| uids.iter().map(|&u| super::uid(u)).collect::<UidSet>();
        let gone = set(&[1, 2, 3, 4, 6, 7, 8, 9, 10]);
        assert_eq!(changes(self.expunges[7].1), set(&[10]));
        assert_eq!(changes(self.expunges[0].1), gone);
        assert_eq!(changes(0), gone);
        for (i, &(_, since)) in self.expunges.iter().enumerate() {
            let got = changes(since);
            for &(u, _) in &self.expunges[i + 1..] {
                assert!(got.contains(super::uid(u)), "{u} after {since}: {got:?}");
            }
            for u in [5, 11, 12] {
                assert!(!got.contains(super::uid(u)), "{u} is present: {got:?}");
            }
        }
    }
}
