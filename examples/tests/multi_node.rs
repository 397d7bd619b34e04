//! Two `mailserver` processes on one PostgreSQL database (`--store postgres://...`), as
//! issue #18 asks: IMAP IDLE on one node hears SMTP deliveries made to the other, flags set
//! on one are seen on the other, POP3 answers `[IN-USE]` across nodes, and APPENDs from
//! both nodes at once get unique UIDs that increase. And `mailctl migrate` moving an
//! account from a Maildir into the database and back. Needs `SANSMAIL_TEST_POSTGRES`
//! (`. .ci/postgres.sh`; CI sets it).

mod common_pg;

use std::{
    collections::HashSet,
    thread,
    time::{Duration, Instant},
};

use common_pg::{Conn, Database, Node, TempDir, append_uid, mailctl, smtp_send};

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
                    let mut flags: Vec<&str> =
                        flags.split(' ').filter(|f| *f != "\\Recent").collect();
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
