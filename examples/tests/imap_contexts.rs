//! Updating searches (RFC 5267 CONTEXT=SEARCH, CONTEXT=SORT) and PARTIAL results (RFC 9394)
//! over raw sockets against the `mailserver` binary: one session's SEARCH RETURN (UPDATE)
//! hears ADDTO and REMOVEFROM as another session appends, stores flags and expunges, until
//! CANCELUPDATE; PARTIAL pages through a 30-message mailbox from either end. Where the
//! installed Dovecot advertises the extension, the same checks run against it.

mod common;

use std::{net::SocketAddr, thread::sleep, time::Duration};

use common::{Raw, dovecot::Dovecot, start};

fn login(addr: SocketAddr, tag: &str) -> Raw {
    let mut c = Raw::connect(addr);
    c.command(&format!("{tag}0"), "LOGIN alice secret");
    c
}

fn append(c: &mut Raw, tag: &str, mailbox: &str, i: usize) {
    // Arrivals within a second tie; the subjects sort as the numbers do.
    let message = format!("From: a@example.org\r\nSubject: m{i:02}\r\n\r\nbody {i}\r\n");
    c.send(&format!(
        "{tag} APPEND {mailbox} {{{}+}}\r\n{message}",
        message.len()
    ));
    let lines = c.until(&format!("{tag} "));
    assert!(
        lines.last().unwrap().starts_with(&format!("{tag} OK")),
        "{lines:?}"
    );
}

/// Whether the server at `addr` advertises `capability`.
fn offers(addr: SocketAddr, capability: &str) -> bool {
    let mut c = login(addr, "q");
    let caps = c.command("q1", "CAPABILITY");
    caps[0]
        .split(' ')
        .any(|c| c.eq_ignore_ascii_case(capability))
}

/// The numbers of a sequence set (`2:4,7` is 2, 3, 4, 7; `4:2` is 4, 3, 2 as written).
fn numbers(set: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for part in set.split(',') {
        match part.split_once(':') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                if a <= b {
                    out.extend(a..=b);
                } else {
                    out.extend((b..=a).rev());
                }
            }
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

/// The ADDTO and REMOVEFROM items of the `* ESEARCH (TAG "tag")` lines, in order, as
/// `(name, position, numbers)` per pair; with the index of the line each came on.
fn updates(lines: &[String], tag: &str) -> Vec<(usize, String, u32, Vec<u32>)> {
    let prefix = format!("* ESEARCH (TAG \"{tag}\")");
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(mut rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        while let Some(at) = rest.find(" ADDTO (").or_else(|| rest.find(" REMOVEFROM (")) {
            let item = &rest[at + 1..];
            let (name, after) = item.split_once(" (").unwrap();
            let (pairs, tail) = after.split_once(')').unwrap();
            let words: Vec<&str> = pairs.split(' ').collect();
            for pair in words.chunks(2) {
                out.push((
                    i,
                    name.to_owned(),
                    pair[0].parse().unwrap(),
                    numbers(pair[1]),
                ));
            }
            rest = tail;
        }
    }
    out
}

/// The UIDs an update names, of one kind, whatever the positions.
fn named(updates: &[(usize, String, u32, Vec<u32>)], kind: &str) -> Vec<u32> {
    updates
        .iter()
        .filter(|u| u.1 == kind)
        .flat_map(|u| u.3.iter().copied())
        .collect()
}

/// Lets the server hear another session's change before the next command.
fn settle() {
    sleep(Duration::from_millis(300));
}

/// RFC 5267 §4.3: a UID SEARCH RETURN (UPDATE) in one session hears how its result
/// changes as another session appends (ADDTO after EXISTS), sets `\Seen` (REMOVEFROM) and
/// expunges (REMOVEFROM before EXPUNGE); after CANCELUPDATE it hears nothing more.
fn search_updates(who: &str, addr: SocketAddr) {
    let mut a = login(addr, "a");
    let mut b = login(addr, "b");
    b.command("b1", "CREATE Ctx");
    for i in 1..=3 {
        append(&mut b, &format!("b2{i}"), "Ctx", i);
    }
    a.command("a1", "SELECT Ctx");
    b.command("b3", "SELECT Ctx");
    let first = a.command("u1", "UID SEARCH RETURN (UPDATE COUNT) UNSEEN");
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("* ESEARCH (TAG \"u1\") UID") && l.contains("COUNT 3")),
        "{who}: {first:?}"
    );

    append(&mut b, "b4", "Ctx", 4);
    settle();
    let told = a.command("a2", "NOOP");
    let u = updates(&told, "u1");
    assert_eq!(named(&u, "ADDTO"), [4], "{who}: {told:?}");
    let exists = told.iter().position(|l| l == "* 4 EXISTS");
    assert!(
        exists.is_some_and(|e| e < u[0].0),
        "{who}: ADDTO after EXISTS: {told:?}"
    );

    b.command("b5", "UID STORE 1 +FLAGS (\\Seen)");
    settle();
    let told = a.command("a3", "NOOP");
    assert_eq!(
        named(&updates(&told, "u1"), "REMOVEFROM"),
        [1],
        "{who}: {told:?}"
    );

    b.command("b6", "UID STORE 2 +FLAGS (\\Deleted)");
    b.command("b7", "EXPUNGE");
    settle();
    let told = a.command("a4", "NOOP");
    let u = updates(&told, "u1");
    assert_eq!(named(&u, "REMOVEFROM"), [2], "{who}: {told:?}");
    let expunge = told.iter().position(|l| l == "* 2 EXPUNGE");
    assert!(
        expunge.is_some_and(|e| u[0].0 < e),
        "{who}: REMOVEFROM before EXPUNGE: {told:?}"
    );

    // Our own flag change counts too (told with the STORE or at the next command).
    let mut told = a.command("a5", "UID STORE 3 +FLAGS (\\Seen)");
    told.extend(a.command("a6", "NOOP"));
    assert_eq!(
        named(&updates(&told, "u1"), "REMOVEFROM"),
        [3],
        "{who}: {told:?}"
    );

    a.command("a7", "CANCELUPDATE \"u1\"");
    append(&mut b, "b8", "Ctx", 5);
    settle();
    let told = a.command("a8", "NOOP");
    assert!(told.iter().any(|l| l == "* 4 EXISTS"), "{who}: {told:?}");
    assert!(updates(&told, "u1").is_empty(), "{who}: {told:?}");
    assert!(
        !told.iter().any(|l| l.contains("ESEARCH")),
        "{who}: {told:?}"
    );
}

#[test]
fn search_update_hears_other_sessions_until_cancelled() {
    let server = start("ctx-update");
    assert!(offers(server.imap, "CONTEXT=SEARCH"));
    search_updates("ours", server.imap);
    let dovecot = Dovecot::start("ctx-update", &[]);
    let addr = SocketAddr::from(([127, 0, 0, 1], dovecot.imap));
    if offers(addr, "CONTEXT=SEARCH") {
        search_updates("dovecot", addr);
    } else {
        eprintln!("the installed Dovecot does not offer CONTEXT=SEARCH: not compared");
    }
}

/// RFC 5267 §4.3 with CONTEXT=SORT (ours only: Dovecot does not offer it): an updating
/// SORT hears new messages at their positions in the sort order, and a second updating
/// search with a tag still in use is refused.
#[test]
fn sort_update_tells_positions() {
    let server = start("ctx-sort");
    let addr = server.imap;
    assert!(offers(addr, "CONTEXT=SORT"));
    let mut a = login(addr, "a");
    let mut b = login(addr, "b");
    b.command("b1", "CREATE Sorted");
    for i in 1..=3 {
        append(&mut b, &format!("b2{i}"), "Sorted", i);
    }
    a.command("a1", "SELECT Sorted");
    let first = a.command(
        "s1",
        "UID SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 ALL",
    );
    assert!(
        first.contains(&"* ESEARCH (TAG \"s1\") UID ALL 3,2,1".to_owned()),
        "{first:?}"
    );
    // IMAP4rev1 `\Recent`: arrivals this session claims join a search for NEW.
    let new = a.command("r1", "UID SEARCH RETURN (UPDATE COUNT) NEW");
    assert!(
        new.contains(&"* ESEARCH (TAG \"r1\") UID COUNT 3".to_owned()),
        "{new:?}"
    );
    append(&mut b, "b3", "Sorted", 4);
    append(&mut b, "b4", "Sorted", 5);
    settle();
    let told = a.command("a2", "NOOP");
    assert_eq!(named(&updates(&told, "r1"), "ADDTO"), [4, 5], "{told:?}");
    assert!(
        told.contains(&"* ESEARCH (TAG \"s1\") UID ADDTO (1 5,4)".to_owned()),
        "{told:?}"
    );
    a.send("s1 UID SEARCH RETURN (UPDATE) ALL");
    let refused = a.until("s1 ");
    assert!(refused.last().unwrap().starts_with("s1 BAD"), "{refused:?}");
}

/// RFC 9394 §3.1: PARTIAL pages from the first result (`1:10`) or the last (`-1:-5`),
/// echoes the range, returns what exists of it or NIL, combines with COUNT and MIN, keeps
/// the sort order under SORT, and excludes ALL.
fn partial_pages(who: &str, addr: SocketAddr, from_last: bool) {
    let mut c = login(addr, "p");
    c.command("p1", "CREATE Paged");
    for i in 1..=30 {
        append(&mut c, &format!("p2-{i}"), "Paged", i);
    }
    c.command("p3", "SELECT Paged");
    let first = c.command("p4", "UID SEARCH RETURN (PARTIAL 1:10) ALL");
    assert!(
        first.contains(&"* ESEARCH (TAG \"p4\") UID PARTIAL (1:10 1:10)".to_owned()),
        "{who}: {first:?}"
    );
    let past = c.command("p5", "SEARCH RETURN (PARTIAL 31:40) ALL");
    assert!(
        past.contains(&"* ESEARCH (TAG \"p5\") PARTIAL (31:40 NIL)".to_owned()),
        "{who}: {past:?}"
    );
    let tail = c.command("p6", "SEARCH RETURN (PARTIAL 25:40 COUNT MIN) ALL");
    let line = tail.iter().find(|l| l.starts_with("* ESEARCH")).unwrap();
    for item in ["PARTIAL (25:40 25:30)", "COUNT 30", "MIN 1"] {
        assert!(line.contains(item), "{who}: {tail:?}");
    }
    c.send("p7 SEARCH RETURN (PARTIAL 1:5 ALL) ALL");
    let both = c.until("p7 ");
    assert!(
        both.last().unwrap().starts_with("p7 BAD"),
        "{who}: {both:?}"
    );
    if !from_last {
        return;
    }
    let last = c.command("p8", "UID SEARCH RETURN (PARTIAL -1:-5) ALL");
    assert!(
        last.contains(&"* ESEARCH (TAG \"p8\") UID PARTIAL (-1:-5 26:30)".to_owned()),
        "{who}: {last:?}"
    );
    // SAVE keeps what PARTIAL returned (RFC 9394 §3.2).
    c.command("p9", "UID SEARCH RETURN (SAVE PARTIAL -6:-8) UNSEEN");
    let saved = c.command("p10", "UID SEARCH $");
    assert!(
        saved.contains(&"* SEARCH 23 24 25".to_owned()),
        "{who}: {saved:?}"
    );
    // RFC 9394 §3.3: UID FETCH's PARTIAL pages the messages the UID set names.
    let fetched = c.command("p12", "UID FETCH 2:* (FLAGS) (PARTIAL -1:-3)");
    let seqs: Vec<&str> = fetched
        .iter()
        .filter_map(|l| l.strip_prefix("* ")?.split_once(" FETCH").map(|(n, _)| n))
        .collect();
    assert_eq!(seqs, ["28", "29", "30"], "{who}: {fetched:?}");
    let sorted = c.command(
        "p11",
        "UID SORT RETURN (PARTIAL 1:3) (REVERSE SUBJECT) UTF-8 ALL",
    );
    assert!(
        sorted.contains(&"* ESEARCH (TAG \"p11\") UID PARTIAL (1:3 30,29,28)".to_owned()),
        "{who}: {sorted:?}"
    );
}

#[test]
fn partial_pages_from_either_end() {
    let server = start("ctx-partial");
    assert!(offers(server.imap, "PARTIAL"));
    partial_pages("ours", server.imap, true);
    let dovecot = Dovecot::start("ctx-partial", &[]);
    let addr = SocketAddr::from(([127, 0, 0, 1], dovecot.imap));
    let partial = offers(addr, "PARTIAL");
    if partial || offers(addr, "CONTEXT=SEARCH") {
        partial_pages("dovecot", addr, partial);
    } else {
        eprintln!("the installed Dovecot offers neither PARTIAL nor CONTEXT=SEARCH: not compared");
    }
}
