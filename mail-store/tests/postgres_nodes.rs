//! Two PostgreSQL stores on one schema, as two server nodes on one database: change events
//! cross between them through LISTEN/NOTIFY within a bounded delay, a subscriber whose
//! LISTEN connection dropped is told it lagged and resynchronises, concurrent appends from
//! both get unique increasing UIDs, the POP3 lease holds across them, and SEARCH in SQL
//! answers what the scan answers. Needs `SANSMAIL_TEST_POSTGRES` (`. .ci/postgres.sh`).
#![cfg(feature = "postgres")]
#![allow(
    clippy::range_plus_one,
    clippy::manual_is_multiple_of,
    clippy::format_push_string
)]

mod common;

use std::{
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use sansmail_store::{
    AccountName, AppendItem, ChangeKind, ExpungeScope, FetchQuery, Flag, FlagOp, Flags,
    InternalDate, Keyword, MailStore, Recipient, Session, StoreError, Uid, UidSet, block_on,
    date::Day,
    postgres::{PostgresOptions, PostgresStore},
    search::{DayCmp, SearchQuery},
};

/// Two stores (nodes) on one fresh schema, and the guard that drops it.
fn two_nodes() -> (Arc<PostgresStore>, Arc<PostgresStore>, common::SchemaGuard) {
    let (a, schema) = common::postgres_store("nodes");
    let b = block_on(PostgresStore::open(
        &common::postgres_url(),
        PostgresOptions {
            schema: Some(schema.clone()),
            pool_size: 4,
            ..PostgresOptions::default()
        },
    ))
    .unwrap();
    (Arc::new(a), Arc::new(b), common::SchemaGuard(schema))
}

fn append(store: &PostgresStore, s: &Session, mailbox: &str, raw: &[u8], flags: Flags) -> Uid {
    let mut up = store.upload();
    up.write(raw).unwrap();
    let item = AppendItem {
        data: up,
        flags,
        internal_date: None,
    };
    block_on(store.append(s, mailbox, vec![item])).unwrap().uids[0]
}

/// The limit on how long a change takes to reach another node's subscriber.
const BOUND: Duration = Duration::from_secs(2);

#[test]
fn events_cross_nodes_within_a_bounded_delay() {
    let (a, b, _guard) = two_nodes();
    let alice = AccountName::try_from("alice").unwrap();
    block_on(a.create_account(&alice)).unwrap();
    let on_a = Session::new(alice.clone());
    let on_b = Session::new(alice.clone());
    let sub = block_on(a.watch(&on_a, "INBOX")).unwrap();
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let t = Instant::now();
        let u = append(
            &b,
            &on_b,
            "INBOX",
            format!("Subject: {i}\r\n\r\nx\r\n").as_bytes(),
            Flags::new(),
        );
        let ev = sub
            .recv_timeout(BOUND)
            .expect("node A hears node B's append");
        worst = worst.max(t.elapsed());
        let ChangeKind::Appended { messages } = ev.kind else {
            panic!("{ev:?}")
        };
        assert_eq!(messages[0].uid, u);
        assert_eq!(ev.origin, on_b.id());
    }
    assert!(worst < BOUND, "slowest event took {worst:?}");
    // Flags set on B are seen on A, as an event and in a fetch.
    let uids = UidSet::all();
    block_on(b.store_flags(
        &on_b,
        "INBOX",
        &uids,
        FlagOp::Add(Flags::new().with(Flag::Flagged)),
        None,
    ))
    .unwrap();
    let ev = sub.recv_timeout(BOUND).expect("flags event");
    let ChangeKind::FlagsChanged(changed) = ev.kind else {
        panic!("{ev:?}")
    };
    assert_eq!(changed.len(), 20);
    let got = block_on(a.fetch(&on_a, "INBOX", &uids, FetchQuery::meta())).unwrap();
    assert!(got.iter().all(|m| m.flags.contains(Flag::Flagged)));
    // A session does not hear its own changes, on either node.
    let own = block_on(b.watch(&on_b, "INBOX")).unwrap();
    append(
        &b,
        &on_b,
        "INBOX",
        b"Subject: mine\r\n\r\nx\r\n",
        Flags::new(),
    );
    assert!(sub.recv_timeout(BOUND).is_some());
    assert!(own.recv_timeout(Duration::from_millis(300)).is_none());
}

#[test]
fn a_dropped_listener_makes_subscribers_resynchronise() {
    let (a, b, guard) = two_nodes();
    let alice = AccountName::try_from("alice").unwrap();
    block_on(a.create_account(&alice)).unwrap();
    let on_a = Session::new(alice.clone());
    let on_b = Session::new(alice.clone());
    let sub = block_on(a.watch(&on_a, "INBOX")).unwrap();
    let first = append(&b, &on_b, "INBOX", b"Subject: 1\r\n\r\nx\r\n", Flags::new());
    assert!(sub.recv_timeout(BOUND).is_some());
    let mark = block_on(a.status(&on_a, "INBOX")).unwrap().highest_modseq;
    // Cut every LISTEN connection on this schema's channel (both nodes').
    let killed = common::postgres_sql(&format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE query = 'LISTEN \"sansmail_{}\"'",
        guard.0.replace('_', "")
    ));
    assert!(killed.trim() != "0", "no listener found: {killed}");
    let ev = sub.recv_timeout(Duration::from_secs(5)).expect("lagged");
    assert_eq!(ev.kind, ChangeKind::Lagged);
    // What the subscriber missed comes from changes_since; events flow again afterwards.
    let second = append(&b, &on_b, "INBOX", b"Subject: 2\r\n\r\nx\r\n", Flags::new());
    let ch = block_on(a.changes_since(&on_a, "INBOX", mark.get())).unwrap();
    assert_eq!(
        ch.new.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![second]
    );
    assert!(first < second);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        append(&b, &on_b, "INBOX", b"Subject: 3\r\n\r\nx\r\n", Flags::new());
        match sub.recv_timeout(Duration::from_millis(500)) {
            Some(ev) if matches!(ev.kind, ChangeKind::Appended { .. }) => break,
            _ if Instant::now() > deadline => panic!("no event after the listener came back"),
            _ => {}
        }
    }
}

#[test]
fn concurrent_appends_from_two_nodes_get_unique_increasing_uids() {
    let (a, b, _guard) = two_nodes();
    let alice = AccountName::try_from("alice").unwrap();
    block_on(a.create_account(&alice)).unwrap();
    let per_writer = 25;
    let writers: Vec<_> = [&a, &b, &a, &b]
        .into_iter()
        .enumerate()
        .map(|(w, store)| {
            let store = Arc::clone(store);
            let s = Session::new(alice.clone());
            thread::spawn(move || {
                (0..per_writer)
                    .map(|i| {
                        append(
                            &store,
                            &s,
                            "INBOX",
                            format!("Subject: w{w} {i}\r\n\r\nx\r\n").as_bytes(),
                            Flags::new(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in writers {
        let uids = w.join().unwrap();
        assert!(
            uids.windows(2).all(|p| p[0] < p[1]),
            "each writer's UIDs increase"
        );
        all.extend(uids);
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "UIDs are unique");
    // No gap: the UIDs are 1..=n, and UIDNEXT follows.
    assert_eq!(all.first().map(|u| u.get()), Some(1));
    assert_eq!(all.last().map(|u| u.get()), Some(u32::try_from(n).unwrap()));
    let s = Session::new(alice);
    let st = block_on(b.status(&s, "INBOX")).unwrap();
    assert_eq!(
        (st.messages as usize, st.uidnext.get() as usize),
        (n, n + 1)
    );
}

/// Plain connections to a test schema, to hold and watch row locks beside a store.
struct Raw {
    rt: tokio::runtime::Runtime,
    schema: String,
}

impl Raw {
    fn new(schema: &str) -> Self {
        Self {
            rt: tokio::runtime::Runtime::new().unwrap(),
            schema: schema.to_owned(),
        }
    }

    fn connect(&self) -> tokio_postgres::Client {
        self.rt.block_on(async {
            let (client, conn) =
                tokio_postgres::connect(&common::postgres_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(conn);
            client
                .batch_execute(&format!("SET search_path TO \"{}\"", self.schema))
                .await
                .unwrap();
            client
        })
    }

    /// Locks `who`'s INBOX row in a transaction left open on a new connection; returns the
    /// connection and its backend's pid.
    fn hold_inbox(&self, who: &str) -> (tokio_postgres::Client, i32) {
        let holder = self.connect();
        let pid = self.rt.block_on(async {
            holder.batch_execute("BEGIN").await.unwrap();
            holder.batch_execute(&inbox_row(who)).await.unwrap();
            holder
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .unwrap()
                .get(0)
        });
        (holder, pid)
    }

    /// Returns once a session waits for a lock that backend `pid` holds.
    fn until_waited_for(&self, probe: &tokio_postgres::Client, pid: i32, what: &str) {
        let start = Instant::now();
        loop {
            let waiting: i64 = self.rt.block_on(async {
                probe
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity \
                         WHERE $1 = ANY(pg_blocking_pids(pid))",
                        &[&pid],
                    )
                    .await
                    .unwrap()
                    .get(0)
            });
            if waiting > 0 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{what} never waited"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The statement that locks `who`'s INBOX row.
fn inbox_row(who: &str) -> String {
    format!(
        "SELECT m.id FROM mailboxes m JOIN accounts a ON a.id = m.account_id \
         WHERE a.name = '{who}' AND m.name = 'INBOX' FOR UPDATE OF m"
    )
}

/// Two nodes on a fresh schema with accounts alice and bob, and a [`Raw`] beside them.
fn alice_and_bob() -> (
    Arc<PostgresStore>,
    common::SchemaGuard,
    Raw,
    AccountName,
    AccountName,
) {
    let (a, _b, guard) = two_nodes();
    let (alice, bob) = (
        AccountName::try_from("alice").unwrap(),
        AccountName::try_from("bob").unwrap(),
    );
    block_on(a.create_account(&alice)).unwrap();
    block_on(a.create_account(&bob)).unwrap();
    let raw = Raw::new(&guard.0);
    (a, guard, raw, alice, bob)
}

/// A delivery locks its recipients' mailboxes in one order, whatever the order it is given
/// them in: while alice's INBOX is held by another transaction, a delivery to bob and alice
/// (bob first) waits for alice's with bob's still free. So a delivery listing them the other
/// way round, holding alice's, can never be waiting for bob's at the same time (a deadlock).
#[test]
fn a_delivery_locks_mailboxes_in_one_order() {
    let (a, guard, raw, alice, bob) = alice_and_bob();
    let (holder, holder_pid) = raw.hold_inbox("alice");
    let delivery = {
        let (a, to) = (
            Arc::clone(&a),
            vec![Recipient::inbox(bob), Recipient::inbox(alice)],
        );
        thread::spawn(move || {
            let mut up = a.upload();
            up.write(b"Subject: to both\r\n\r\nhello\r\n").unwrap();
            block_on(a.deliver(up, &to))
        })
    };
    let probe = raw.connect();
    raw.until_waited_for(&probe, holder_pid, "the delivery");
    let bob_free = raw.rt.block_on(async {
        probe.batch_execute("BEGIN").await.unwrap();
        let got = probe
            .batch_execute(&format!("{} NOWAIT", inbox_row("bob")))
            .await;
        probe.batch_execute("ROLLBACK").await.unwrap();
        got
    });
    raw.rt.block_on(holder.batch_execute("ROLLBACK")).unwrap();
    let results = delivery.join().unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(
        bob_free.is_ok(),
        "bob's INBOX was locked while the delivery waited for alice's: {bob_free:?}"
    );
    drop(guard);
}

/// Callers waiting for one account's rows wait for their turn without a connection: with a
/// pool of four and alice's INBOX row held by another transaction, six appends to alice
/// leave connections for bob, whose STATUS is answered meanwhile.
#[test]
fn waiting_writers_of_one_account_leave_the_pool_to_others() {
    let (a, guard, raw, alice, bob) = alice_and_bob();
    let (holder, holder_pid) = raw.hold_inbox("alice");
    let appends: Vec<_> = (0..6)
        .map(|i| {
            let (a, s) = (Arc::clone(&a), Session::new(alice.clone()));
            thread::spawn(move || {
                let mut up = a.upload();
                up.write(format!("Subject: {i}\r\n\r\nx\r\n").as_bytes())
                    .unwrap();
                block_on(a.append(&s, "INBOX", vec![AppendItem::new(up)]))
            })
        })
        .collect();
    // An append waits for the holder's lock; a moment for the others to queue.
    raw.until_waited_for(&raw.connect(), holder_pid, "an append");
    thread::sleep(Duration::from_millis(200));
    let status = {
        let (a, s) = (Arc::clone(&a), Session::new(bob));
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || tx.send(block_on(a.status(&s, "INBOX"))));
        rx.recv_timeout(Duration::from_secs(5))
    };
    raw.rt.block_on(holder.batch_execute("ROLLBACK")).unwrap();
    for t in appends {
        t.join().unwrap().unwrap();
    }
    let status = status.expect("bob's STATUS waited for a connection");
    assert_eq!(status.unwrap().messages, 0);
    let st = block_on(a.status(&Session::new(alice), "INBOX")).unwrap();
    assert_eq!(st.messages, 6);
    drop(guard);
}

#[test]
fn the_pop3_lease_holds_across_nodes() {
    let (a, b, _guard) = two_nodes();
    let alice = AccountName::try_from("alice").unwrap();
    block_on(a.create_account(&alice)).unwrap();
    let s1 = Session::new(alice.clone());
    let s2 = Session::new(alice);
    let u = append(&a, &s1, "INBOX", b"Subject: p\r\n\r\nx\r\n", Flags::new());
    let drop1 = block_on(a.pop3_open(&s1, Duration::from_secs(60))).unwrap();
    assert!(matches!(
        block_on(b.pop3_open(&s2, Duration::from_secs(60))),
        Err(StoreError::InUse)
    ));
    block_on(a.pop3_release(&s1, &drop1.lease)).unwrap();
    // A released lease is dead on every node.
    assert!(matches!(
        block_on(b.pop3_commit(&s2, &drop1.lease, &[u])),
        Err(StoreError::LeaseExpired)
    ));
    let drop2 = block_on(b.pop3_open(&s2, Duration::from_secs(60))).unwrap();
    assert_eq!(drop2.messages.len(), 1);
    let done = block_on(b.pop3_commit(&s2, &drop2.lease, &[u])).unwrap();
    assert_eq!(done.deleted, 1);
    assert_eq!(block_on(a.status(&s1, "INBOX")).unwrap().messages, 0);
}

/// A small xorshift, so runs repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[usize::try_from(self.next() % v.len() as u64).unwrap()]
    }
}

const WORDS: &[&str] = &["alpha", "Beta", "gamma", "DELTA", "eps"];
const PEOPLE: &[&str] = &[
    "Alice Example <alice@example.org>",
    "bob@example.net (Bob Builder)",
    "\"Carol Q\" <carol@q.example>",
    "undisclosed-recipients:;",
    "dave",
];

fn random_query(rng: &mut Rng, depth: u32) -> SearchQuery {
    let leaf = rng.next() % 14;
    if depth > 0 && leaf < 4 {
        return match leaf {
            0 => !random_query(rng, depth - 1),
            1 => SearchQuery::or(random_query(rng, depth - 1), random_query(rng, depth - 1)),
            _ => SearchQuery::And(vec![
                random_query(rng, depth - 1),
                random_query(rng, depth - 1),
            ]),
        };
    }
    let word = rng.pick(WORDS).to_string();
    let part = word[..1 + usize::try_from(rng.next() % 3).unwrap()].to_ascii_uppercase();
    let day = Day::new(
        2024,
        1 + u8::try_from(rng.next() % 3).unwrap(),
        1 + u8::try_from(rng.next() % 28).unwrap(),
    )
    .unwrap();
    let cmp = *rng.pick(&[DayCmp::Before, DayCmp::On, DayCmp::Since]);
    match rng.next() % 16 {
        0 => SearchQuery::Flag(*rng.pick(&Flag::ALL)),
        1 => SearchQuery::Keyword(
            Keyword::try_from(rng.pick(&["$Work", "todo", "Later"])[..].to_owned()).unwrap(),
        ),
        2 => SearchQuery::Larger(rng.next() % 400),
        3 => SearchQuery::Smaller(rng.next() % 400),
        4 => SearchQuery::InternalDay(cmp, day),
        5 => SearchQuery::SentDay(cmp, day),
        6 => SearchQuery::Header {
            name: b"Subject".to_vec(),
            contains: part.into_bytes(),
        },
        7 => SearchQuery::Header {
            name: b"x-tag".to_vec(),
            contains: Vec::new(),
        },
        8 => SearchQuery::Address {
            name: b"From".to_vec(),
            contains: rng
                .pick(&["alice@", "BOB", "carol q", "dave", ""])
                .as_bytes()
                .to_vec(),
        },
        9 => SearchQuery::Address {
            name: b"X-Addr".to_vec(),
            contains: b"alice".to_vec(),
        },
        10 => SearchQuery::Body(part.into_bytes()),
        11 => SearchQuery::Text(word.into_bytes()),
        12 => SearchQuery::ModSeqAtLeast(rng.next() % 60),
        13 => SearchQuery::Uids(UidSet::range(
            Uid::new(1 + u32::try_from(rng.next() % 30).unwrap()).unwrap(),
            Uid::new(1 + u32::try_from(rng.next() % 30).unwrap()).unwrap(),
        )),
        14 => SearchQuery::ArrivedSince(
            1_706_000_000 + i64::try_from(rng.next() % 5_000_000).unwrap(),
        ),
        _ => SearchQuery::All,
    }
}

/// SEARCH in SQL finds exactly what evaluating every message finds, for random queries
/// over random messages.
#[test]
fn sql_search_answers_as_the_scan_does() {
    let (a, _b, _guard) = two_nodes();
    let alice = AccountName::try_from("alice").unwrap();
    block_on(a.create_account(&alice)).unwrap();
    let s = Session::new(alice);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for i in 0..40 {
        let mut raw = format!(
            "From: {}\r\nTo: {}\r\nSubject: {} {}\r\n",
            rng.pick(PEOPLE),
            rng.pick(PEOPLE),
            rng.pick(WORDS),
            rng.pick(WORDS)
        );
        if rng.next() % 2 == 0 {
            raw.push_str(&format!(
                "Date: {} Feb 2024 10:00 +0100\r\n",
                1 + rng.next() % 28
            ));
        }
        if rng.next() % 3 == 0 {
            raw.push_str("X-Tag: yes\r\n X-Addr: alice\r\n");
        }
        raw.push_str(&format!("\r\n{} body {i}\r\n", rng.pick(WORDS)));
        let mut flags = Flags::new();
        for f in Flag::ALL {
            if rng.next() % 3 == 0 {
                flags.insert(f);
            }
        }
        if rng.next() % 2 == 0 {
            flags.insert_keyword(Keyword::try_from(*rng.pick(&["$work", "TODO"])).unwrap());
        }
        let mut up = a.upload();
        up.write(raw.as_bytes()).unwrap();
        block_on(a.append(
            &s,
            "INBOX",
            vec![AppendItem {
                data: up,
                flags,
                internal_date: Some(InternalDate {
                    timestamp: 1_706_000_000 + i64::try_from(rng.next() % 6_000_000).unwrap(),
                    offset_minutes: *rng.pick(&[-600i16, 0, 90, 720]),
                }),
            }],
        ))
        .unwrap();
    }
    block_on(a.expunge(
        &s,
        "INBOX",
        ExpungeScope::Uids(UidSet::single(Uid::new(3).unwrap())),
    ))
    .unwrap();
    let scope = UidSet::range(Uid::new(2).unwrap(), Uid::new(35).unwrap());
    let mut nonempty = 0;
    for _ in 0..300 {
        let q = random_query(&mut rng, 3);
        let sql = block_on(a.search(&s, "INBOX", &scope, &q)).unwrap();
        let scan = block_on(sansmail_store::search::scan(&*a, &s, "INBOX", &scope, &q)).unwrap();
        assert_eq!(sql, scan, "{q:?}");
        nonempty += usize::from(!sql.is_empty() && sql.len() < 33);
    }
    assert!(nonempty > 50, "the queries should discriminate: {nonempty}");
}

/// The expunge history is bounded (`PostgresOptions::expunge_history`), on either node.
#[test]
fn expunge_history_is_bounded() {
    let (a, schema) = common::postgres_store("history");
    let _guard = common::SchemaGuard(schema.clone());
    let small = || {
        block_on(PostgresStore::open(
            &common::postgres_url(),
            PostgresOptions {
                schema: Some(schema.clone()),
                pool_size: 2,
                expunge_history: 4,
                ..PostgresOptions::default()
            },
        ))
        .unwrap()
    };
    let b = small();
    let history = sansmail_store::testkit::bounded_expunge_history(&b);
    history.check(&b);
    history.check(&a);
    drop(b);
    history.check(&small());
}

/// The last UID a mailbox gives is `u32::MAX - 1`, as on Maildir, so that UIDNEXT stays a
/// UID: past it APPEND and COPY fail and STATUS still answers. (`u32::MAX` used to be
/// given, after which UIDNEXT was 2^32: STATUS failed, and the expunge history's gaps,
/// which end below `u32::MAX`, left that UID out.)
#[test]
fn the_last_uid_leaves_room_for_uidnext() {
    let (a, _guard, raw, alice, _bob) = alice_and_bob();
    let s = Session::new(alice);
    block_on(a.create_mailbox(&s, "Other", None)).unwrap();
    let other = append(&a, &s, "Other", b"Subject: other\r\n\r\n", Flags::new());
    append(&a, &s, "INBOX", b"Subject: 1\r\n\r\n", Flags::new());
    let c = raw.connect();
    raw.rt
        .block_on(c.batch_execute(&format!(
            "UPDATE mailboxes SET uidnext = {} WHERE name = 'INBOX'",
            u32::MAX - 1
        )))
        .unwrap();
    let last = append(&a, &s, "INBOX", b"Subject: 2\r\n\r\n", Flags::new());
    assert_eq!(last.get(), u32::MAX - 1);
    assert_eq!(
        block_on(a.status(&s, "INBOX")).unwrap().uidnext.get(),
        u32::MAX
    );
    let mut up = a.upload();
    up.write(b"Subject: 3\r\n\r\n").unwrap();
    let refused = block_on(a.append(&s, "INBOX", vec![AppendItem::new(up)]));
    assert!(
        matches!(refused, Err(StoreError::InvalidArgument(_))),
        "{refused:?}"
    );
    let refused = block_on(a.copy(&s, "Other", &UidSet::single(other), "INBOX"));
    assert!(
        matches!(refused, Err(StoreError::InvalidArgument(_))),
        "{refused:?}"
    );
    assert_eq!(
        block_on(a.status(&s, "INBOX")).unwrap().uidnext.get(),
        u32::MAX
    );
}
