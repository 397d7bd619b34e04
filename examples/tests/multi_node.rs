//! Two `mailserver` processes on one PostgreSQL database (`--store postgres://...`), as
//! issue #18 asks: IMAP IDLE on one node hears SMTP deliveries made to the other, flags set
//! on one are seen on the other, POP3 answers `[IN-USE]` across nodes, and APPENDs from
//! both nodes at once get unique UIDs that increase. And `mailctl migrate` moving an
//! account from a Maildir into the database and back. Needs `SANSMAIL_TEST_POSTGRES`
//! (`. .ci/postgres.sh`; CI sets it).

mod common_pg;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use common_pg::{Conn, Database, Node, TempDir, append_uid, mailctl, smtp_send};

/// One test at a time: one of them restarts the cluster every test uses.
static SERIAL: Mutex<()> = Mutex::new(());

/// How long a change may take to reach the other node's IDLE.
const BOUND: Duration = Duration::from_secs(3);

fn two_nodes(tag: &str) -> (Database, TempDir, Node, Node) {
    let db = Database::new(tag);
    let dir = TempDir::new(tag);
    let a = Node::start(&db.url, &dir.0.join("a"), None);
    let b = Node::start(&db.url, &dir.0.join("b"), None);
    (db, dir, a, b)
}

/// Reads IDLE updates until one contains `what` or `BOUND` passes; the time it took.
fn idle_until(c: &mut Conn, what: &str) -> Duration {
    let t = Instant::now();
    c.set_timeout(BOUND);
    loop {
        match c.line() {
            Ok(l) if l.contains(what) => return t.elapsed(),
            Ok(_) => {}
            Err(e) => panic!("no {what:?} within {BOUND:?}: {e}"),
        }
    }
}

#[test]
fn idle_flags_pop3_and_appends_across_nodes() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_db, _dir, a, b) = two_nodes("share");
    // IMAP IDLE on A hears SMTP deliveries to B.
    let mut idle = Conn::login(a.imap, "alice").unwrap();
    let (_, ok) = idle.imap("SELECT INBOX").unwrap();
    assert!(ok.starts_with("OK"), "{ok}");
    idle.send_line("t100 IDLE").unwrap();
    assert!(idle.line().unwrap().starts_with('+'));
    let mut worst = Duration::ZERO;
    for i in 1..=5 {
        let msg = format!("Subject: delivery {i}\r\nMessage-ID: <d{i}@x>\r\n\r\nhello\r\n");
        let r = smtp_send(b.smtp, "alice@example.org", msg.as_bytes()).unwrap();
        assert!(r.starts_with("250"), "{r}");
        worst = worst.max(idle_until(&mut idle, &format!("* {i} EXISTS")));
    }
    assert!(worst < BOUND);
    eprintln!("slowest delivery seen by IDLE on the other node: {worst:?}");
    // Flags set on B reach A's IDLE, and a fetch on A.
    let mut on_b = Conn::login(b.imap, "alice").unwrap();
    on_b.imap("SELECT INBOX").unwrap();
    let (_, ok) = on_b
        .imap("UID STORE 1:3 +FLAGS (\\Flagged $Important)")
        .unwrap();
    assert!(ok.starts_with("OK"), "{ok}");
    idle_until(&mut idle, "\\Flagged");
    idle.send_line("DONE").unwrap();
    loop {
        if idle.line().unwrap().starts_with("t100 ") {
            break;
        }
    }
    let (lines, _) = idle.imap("UID FETCH 1:5 (FLAGS)").unwrap();
    let flagged = lines
        .iter()
        .filter(|l| l.contains("\\Flagged") && l.contains("$Important"))
        .count();
    assert_eq!(flagged, 3, "{lines:?}");

    // POP3 [IN-USE] across nodes.
    let mut pop_a = Conn::connect(a.pop3).unwrap();
    pop_a.send_line("USER alice").unwrap();
    pop_a.line().unwrap();
    pop_a.send_line("PASS secret").unwrap();
    let r = pop_a.line().unwrap();
    assert!(r.starts_with("+OK"), "{r}");
    let mut pop_b = Conn::connect(b.pop3).unwrap();
    pop_b.send_line("USER alice").unwrap();
    pop_b.line().unwrap();
    pop_b.send_line("PASS secret").unwrap();
    let r = pop_b.line().unwrap();
    assert!(r.starts_with("-ERR [IN-USE]"), "{r}");
    pop_a.send_line("QUIT").unwrap();
    pop_a.line().unwrap();
    let mut pop_b = Conn::connect(b.pop3).unwrap();
    pop_b.send_line("USER alice").unwrap();
    pop_b.line().unwrap();
    pop_b.send_line("PASS secret").unwrap();
    let r = pop_b.line().unwrap();
    assert!(
        r.starts_with("+OK"),
        "after QUIT on A, B gets the maildrop: {r}"
    );
    pop_b.send_line("QUIT").unwrap();

    // Concurrent APPEND from both nodes: unique UIDs, increasing per connection.
    let per = 40;
    let writers: Vec<_> = [a.imap, b.imap, a.imap, b.imap]
        .into_iter()
        .enumerate()
        .map(|(w, addr)| {
            thread::spawn(move || {
                let mut c = Conn::login(addr, "bob").unwrap();
                (0..per)
                    .map(|i| {
                        let msg = format!("Subject: w{w} {i}\r\n\r\nx\r\n");
                        let r = c.append("INBOX", "", msg.as_bytes()).unwrap();
                        append_uid(&r).unwrap_or_else(|| panic!("no APPENDUID: {r}"))
                    })
                    .collect::<Vec<u32>>()
            })
        })
        .collect();
    let mut all = HashSet::new();
    for w in writers {
        let uids = w.join().unwrap();
        assert!(uids.windows(2).all(|p| p[0] < p[1]), "{uids:?}");
        for u in uids {
            assert!(all.insert(u), "UID {u} given twice");
        }
    }
    assert_eq!(all.len(), 4 * per);
    assert_eq!(
        all.iter().max().copied(),
        Some(u32::try_from(4 * per).unwrap())
    );
    let mut bob = Conn::login(a.imap, "bob").unwrap();
    let (lines, _) = bob.imap("STATUS INBOX (MESSAGES UIDNEXT)").unwrap();
    assert!(
        lines[0].contains(&format!("MESSAGES {}", 4 * per))
            && lines[0].contains(&format!("UIDNEXT {}", 4 * per + 1)),
        "{lines:?}"
    );
}

/// What a client sees of an account: per mailbox, each message's UID, flags (sorted, without
/// `\\Recent`, which belongs to a session), internal date, size and length of its octets;
/// mailbox names with `.` as the delimiter (Maildir's; PostgreSQL's is `/`).
fn snapshot(node: &Node) -> Vec<(String, Vec<String>)> {
    let mut c = Conn::login(node.imap, "alice").unwrap();
    let (list, ok) = c.imap("LIST \"\" \"*\"").unwrap();
    assert!(ok.starts_with("OK"), "{ok}");
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|l| Some(l.rsplit_once(' ')?.1.trim_matches('"').to_owned()))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let (_, ok) = c.imap(&format!("EXAMINE \"{name}\"")).unwrap();
            assert!(ok.starts_with("OK"), "{name}: {ok}");
            let (lines, ok) = c
                .imap("UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
                .unwrap();
            assert!(ok.starts_with("OK"), "{ok}");
            let messages = lines
                .iter()
                .filter(|l| l.contains(" FETCH ("))
                .map(|l| {
                    let uid = common_pg::number_after(l, "UID ").unwrap();
                    let flags = l
                        .split_once("FLAGS (")
                        .and_then(|(_, r)| r.split_once(')'))
                        .unwrap()
                        .0;
                    let mut flags: Vec<&str> = flags
                        .split(' ')
                        .filter(|f| !f.is_empty() && *f != "\\Recent")
                        .collect();
                    flags.sort_unstable();
                    let date = l.split_once("INTERNALDATE \"").unwrap().1;
                    let date = date.split_once('"').unwrap().0;
                    let size = common_pg::number_after(l, "RFC822.SIZE ").unwrap();
                    let body = l.split_once("BODY[] {").unwrap().1;
                    format!("{uid} {flags:?} {date} {size} {}", body.len())
                })
                .collect();
            (name.replace('/', "."), messages)
        })
        .collect()
}

/// `mailctl migrate`: an account from a Maildir into PostgreSQL and back into a fresh
/// Maildir, each step served by a mailserver that shows the same mailboxes, UIDs (with the
/// gap an expunge left), flags, keywords, dates and messages.
#[test]
fn mailctl_migrate_moves_an_account_to_postgres_and_back() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let db = Database::new("migrate");
    let dir = TempDir::new("migrate");
    let (first, back) = (dir.0.join("first"), dir.0.join("back"));
    let mut on_maildir = Node::start("maildir", &first, None);
    for i in 1..=4 {
        let msg = format!("Subject: m{i}\r\nMessage-ID: <m{i}@x>\r\n\r\nbody {i}\r\n");
        let r = smtp_send(on_maildir.smtp, "alice@example.org", msg.as_bytes()).unwrap();
        assert!(r.starts_with("250"), "{r}");
    }
    let mut c = Conn::login(on_maildir.imap, "alice").unwrap();
    for command in [
        "SELECT INBOX",
        "UID STORE 2 +FLAGS (\\Deleted)",
        "EXPUNGE",
        "UID STORE 3 +FLAGS (\\Seen $Label1)",
        "CREATE Work.2026",
        "SUBSCRIBE Work.2026",
    ] {
        let (_, ok) = c.imap(command).unwrap();
        assert!(ok.starts_with("OK"), "{command}: {ok}");
    }
    let r = c
        .append(
            "Work.2026",
            "\\Flagged $Project",
            b"Subject: filed\r\n\r\nx\r\n",
        )
        .unwrap();
    assert!(r.starts_with("OK"), "{r}");
    drop(c);
    let before = snapshot(&on_maildir);
    // INBOX, Work, Work.2026 and a new account's five special-use mailboxes.
    assert_eq!(before.len(), 8, "{before:?}");
    let inbox = before.iter().find(|(name, _)| name == "INBOX").unwrap();
    assert_eq!(inbox.1.len(), 3, "{before:?}");
    on_maildir.kill();

    let (ok, out) = mailctl(&[
        "migrate",
        "--user",
        "alice",
        "--from",
        first.to_str().unwrap(),
        "--to",
        &db.url,
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("alice: 8 mailboxes, 4 messages, 6 subscriptions"),
        "{out}"
    );
    let mut on_postgres = Node::start(&db.url, &dir.0.join("pg"), None);
    assert_eq!(snapshot(&on_postgres), before);
    // The target holds messages now: a second migration is refused.
    let (ok, out) = mailctl(&[
        "migrate",
        "--user",
        "alice",
        "--from",
        first.to_str().unwrap(),
        "--to",
        &db.url,
    ]);
    assert!(!ok && out.contains("already holds messages"), "{out}");
    on_postgres.kill();

    let to = format!("maildir:{}", back.display());
    let (ok, out) = mailctl(&["migrate", "--user", "alice", "--from", &db.url, "--to", &to]);
    assert!(ok, "{out}");
    let on_maildir = Node::start("maildir", &back, None);
    assert_eq!(snapshot(&on_maildir), before);
}

/// The flags the load toggles on the messages it appended.
const TOGGLED: [&str; 4] = ["\\Seen", "\\Flagged", "\\Answered", "$Later"];

/// What one client of the load knows for sure once it stops.
#[derive(Default)]
struct Ledger {
    /// Message-ID of each acknowledged message, with its APPENDUID (none for SMTP).
    acked: Vec<(String, Option<u32>)>,
    /// Per UID this client appended: each toggled flag's state after the last STORE on it,
    /// `None` when that STORE was not acknowledged (it may or may not have happened).
    flags: HashMap<u32, HashMap<&'static str, Option<bool>>>,
    /// When each acknowledged operation was answered.
    acked_at: Vec<Instant>,
    /// STOREs acknowledged.
    stores: usize,
    /// Operations answered with a refusal (`NO`, `4xx`) or cut off.
    failed: usize,
    /// Refusals that were not temporary ones: must stay empty.
    wrong: Vec<String>,
}

impl Ledger {
    fn ack(&mut self) {
        self.acked_at.push(Instant::now());
    }

    fn acked_after(&self, t: Instant) -> usize {
        self.acked_at.iter().filter(|a| **a > t).count()
    }

    /// A refusal: IMAP `NO` or SMTP `4xx`; anything else (`BAD`, `5xx`) is recorded as wrong.
    fn refused(&mut self, what: &str, answer: &str) {
        self.failed += 1;
        if !(answer.starts_with("NO") || answer.starts_with('4')) {
            self.wrong.push(format!("{what}: {answer}"));
        }
    }
}

/// A tiny deterministic generator: which message and flag the next STORE touches.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap() % n
    }
}

/// LOGIN and SELECT INBOX, or why not (the node is down, the database restarting).
fn open_inbox(addr: SocketAddr) -> Result<Conn, String> {
    let mut c = Conn::connect(addr).map_err(|e| e.to_string())?;
    for command in ["LOGIN alice secret", "SELECT INBOX"] {
        let (_, ok) = c.imap(command).map_err(|e| e.to_string())?;
        if !ok.starts_with("OK") {
            return Err(format!("{command}: {ok}"));
        }
    }
    Ok(c)
}

/// An IMAP client of the load: APPENDs to alice's INBOX and toggles flags of the messages
/// it appended, alternately, recording what was acknowledged, until `stop`. A broken
/// connection (its node killed) is opened again, forever.
fn imap_load(w: usize, addr: SocketAddr, stop: &AtomicBool) -> Ledger {
    let mut ledger = Ledger::default();
    let mut rng = Lcg(w as u64 + 1);
    let mut mine: Vec<u32> = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut c) = open_inbox(addr) else {
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            if n % 2 == 1 || mine.is_empty() {
                let id = format!("w{w}-{n}@crash");
                let msg = format!("Message-ID: <{id}>\r\nSubject: load {n}\r\n\r\nfrom {w}\r\n");
                match c.append("INBOX", "", msg.as_bytes()) {
                    Ok(r) if r.starts_with("OK") => {
                        let uid = append_uid(&r).unwrap_or_else(|| panic!("no APPENDUID: {r}"));
                        ledger.acked.push((id, Some(uid)));
                        ledger
                            .flags
                            .insert(uid, TOGGLED.iter().map(|f| (*f, Some(false))).collect());
                        mine.push(uid);
                        ledger.ack();
                    }
                    Ok(r) => ledger.refused("APPEND", &r),
                    Err(_) => {
                        ledger.failed += 1;
                        break;
                    }
                }
            } else {
                let uid = mine[rng.below(mine.len())];
                let flag = TOGGLED[rng.below(TOGGLED.len())];
                let state = ledger.flags.get_mut(&uid).unwrap();
                let on = state[flag] != Some(true);
                let sign = if on { '+' } else { '-' };
                // Whatever the answer, the flag's state is unknown until it is known.
                state.insert(flag, None);
                match c.imap(&format!("UID STORE {uid} {sign}FLAGS ({flag})")) {
                    Ok((lines, ok)) if ok.starts_with("OK") => {
                        // The answer's FETCH shows the new flags: the change was applied.
                        let shown = lines
                            .iter()
                            .any(|l| l.contains(&format!("UID {uid}")) && l.contains(flag) == on);
                        assert!(shown, "STORE on UID {uid}: {ok}, {lines:?}");
                        state.insert(flag, Some(on));
                        ledger.stores += 1;
                        ledger.ack();
                    }
                    Ok((_, ok)) => ledger.refused("STORE", &ok),
                    Err(_) => {
                        ledger.failed += 1;
                        break;
                    }
                }
            }
        }
    }
    ledger
}

/// An SMTP client of the load: delivers to alice, one message per connection, until
/// `stop`.
fn smtp_load(w: usize, addr: SocketAddr, stop: &AtomicBool) -> Ledger {
    let mut ledger = Ledger::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("s{w}-{n}@crash");
        let msg = format!("Message-ID: <{id}>\r\nSubject: delivery {n}\r\n\r\nhi\r\n");
        match smtp_send(addr, "alice@example.org", msg.as_bytes()) {
            Ok(r) if r.starts_with("250") => {
                ledger.acked.push((id, None));
                ledger.ack();
            }
            Ok(r) => ledger.refused("SMTP", &r),
            Err(_) => {
                ledger.failed += 1;
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
    ledger
}

/// alice's INBOX as `node` serves it: Message-ID → every (UID, flags) carrying it.
fn inbox_by_message_id(node: &Node) -> HashMap<String, Vec<(u32, Vec<String>)>> {
    let mut c = open_inbox(node.imap).unwrap();
    let (lines, ok) = c
        .imap("UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        .unwrap();
    assert!(ok.starts_with("OK"), "{ok}");
    let mut out: HashMap<String, Vec<(u32, Vec<String>)>> = HashMap::new();
    for l in lines.iter().filter(|l| l.contains(" FETCH (")) {
        let uid = common_pg::number_after(l, "(UID ")
            .or_else(|| common_pg::number_after(l, " UID "))
            .unwrap_or_else(|| panic!("no UID: {l}"));
        let flags = l
            .split_once("FLAGS (")
            .and_then(|(_, r)| r.split_once(')'))
            .unwrap_or_else(|| panic!("no FLAGS: {l}"))
            .0;
        let flags = flags
            .split(' ')
            .filter(|f| !f.is_empty() && *f != "\\Recent")
            .map(str::to_owned)
            .collect();
        let id = l
            .split_once("Message-ID: <")
            .and_then(|(_, r)| r.split_once('>'))
            .unwrap_or_else(|| panic!("no Message-ID: {l}"))
            .0;
        out.entry(id.to_owned()).or_default().push((uid, flags));
    }
    out
}

/// Runs `SANSMAIL_TEST_PG_RESTART` (`pg_ctl restart -m immediate` of the private cluster):
/// PostgreSQL stops as after a crash and recovers from its log.
fn restart_postgres() -> Duration {
    let command = std::env::var("SANSMAIL_TEST_PG_RESTART").unwrap_or_else(|_| {
        panic!("SANSMAIL_TEST_PG_RESTART is not set: run the tests from a shell that sourced .ci/postgres.sh")
    });
    let t = Instant::now();
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

/// Item 5's last part: under continuous APPENDs, SMTP deliveries and flag changes on both
/// nodes, one node is killed with SIGKILL and PostgreSQL restarted (immediate mode: a crash
/// and its recovery) while the other keeps serving. Every acknowledged message is there
/// exactly once, with its APPENDUID and the flags of its last acknowledged STORE, as both
/// nodes show; refusals during the outage are temporary ones (`NO`, `4xx`); and the
/// surviving node serves again after the restart without being restarted itself.
#[test]
fn kill_9_and_a_database_restart_mid_load_lose_nothing_acknowledged() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (db, dir, mut a, b) = two_nodes("crash");
    let stop = Arc::new(AtomicBool::new(false));
    let spawn = |w: usize, addr: SocketAddr, smtp: bool| {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            if smtp {
                smtp_load(w, addr, &stop)
            } else {
                imap_load(w, addr, &stop)
            }
        })
    };
    let on_a = vec![
        spawn(1, a.imap, false),
        spawn(2, a.imap, false),
        spawn(1, a.smtp, true),
    ];
    let on_b = vec![
        spawn(3, b.imap, false),
        spawn(4, b.imap, false),
        spawn(2, b.smtp, true),
    ];

    thread::sleep(Duration::from_millis(1500));
    let ports = a.ports();
    a.kill();
    let killed = Instant::now();
    thread::sleep(Duration::from_millis(500));
    let took = restart_postgres();
    let restarted = Instant::now();
    eprintln!("PostgreSQL restarted in {took:?}");
    thread::sleep(Duration::from_secs(2));
    let a = Node::start(&db.url, &dir.0.join("a"), Some(ports));
    let a_back = Instant::now();
    thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let on_a: Vec<Ledger> = on_a.into_iter().map(|h| h.join().unwrap()).collect();
    let on_b: Vec<Ledger> = on_b.into_iter().map(|h| h.join().unwrap()).collect();

    for (node, ledgers) in [("A", &on_a), ("B", &on_b)] {
        for (i, l) in ledgers.iter().enumerate() {
            eprintln!(
                "node {node} client {i}: {} messages and {} flag changes acknowledged, {} failed",
                l.acked.len(),
                l.stores,
                l.failed
            );
            assert!(
                l.wrong.is_empty(),
                "refusals that are not temporary: {:?}",
                l.wrong
            );
        }
    }
    // The load ran on A before the kill and after its restart, and on B after PostgreSQL's
    // restart: the pool of each node recovered by itself.
    for l in &on_a {
        assert!(
            l.acked_at.iter().any(|t| *t < killed),
            "nothing acknowledged before the kill"
        );
        assert!(
            l.acked_after(a_back) > 0,
            "nothing acknowledged by the restarted node"
        );
    }
    for l in &on_b {
        assert!(
            l.acked_after(restarted) > 0,
            "node B did not recover from the restart"
        );
    }

    let all: Vec<&Ledger> = on_a.iter().chain(&on_b).collect();
    let seen_a = inbox_by_message_id(&a);
    let seen_b = inbox_by_message_id(&b);
    assert_eq!(seen_a, seen_b, "the two nodes show different INBOXes");
    for (id, copies) in &seen_a {
        assert_eq!(
            copies.len(),
            1,
            "{id} stored {} times: {copies:?}",
            copies.len()
        );
    }
    let mut checked_flags = 0;
    for l in &all {
        for (id, uid) in &l.acked {
            let copies = seen_a
                .get(id)
                .unwrap_or_else(|| panic!("acknowledged message {id} is missing"));
            let (stored_uid, flags) = &copies[0];
            if let Some(uid) = uid {
                assert_eq!(
                    stored_uid, uid,
                    "{id}: APPENDUID {uid}, stored as {stored_uid}"
                );
                for (flag, state) in &l.flags[uid] {
                    if let Some(on) = state {
                        assert_eq!(
                            flags.iter().any(|f| f == flag),
                            *on,
                            "{id} (UID {uid}): {flag} should be {}; flags {flags:?}",
                            if *on { "set" } else { "clear" }
                        );
                        checked_flags += 1;
                    }
                }
            }
        }
    }
    let acked: usize = all.iter().map(|l| l.acked.len()).sum();
    eprintln!(
        "{acked} acknowledged messages of {} stored, {checked_flags} flag states checked",
        seen_a.len()
    );
    assert!(acked > 0 && checked_flags > 0);
}
