//! RFC rules of a mailbox that several sessions use at once (#14), over raw sockets, each
//! checked against our server and against Dovecot, the reference: `\Recent` in exactly one
//! session, new keywords announced before use, MOVE within the selected mailbox, the first
//! CONDSTORE-enabling command, UID and MODSEQ in the FETCH responses CONDSTORE causes,
//! HIGHESTMODSEQ after EXPUNGE under QRESYNC, EXPUNGEISSUED for a message expunged
//! elsewhere, ESEARCH MIN/MAX with MODSEQ, ENVELOPE and SEARCH of addresses with comments,
//! LSUB and RECURSIVEMATCH parents. Dovecot needs root (CI runs as root; `.ci/run` installs
//! it).

mod common;

use std::net::SocketAddr;

use common::{Raw, dovecot::Dovecot, start};

/// Runs `check` against our server and Dovecot, each with a fresh mailbox tree.
fn both(name: &str, check: impl Fn(&str, SocketAddr)) {
    let server = start(name);
    check("ours", server.imap);
    let dovecot = Dovecot::start(name, &[]);
    check("dovecot", SocketAddr::from(([127, 0, 0, 1], dovecot.imap)));
}

fn login(addr: SocketAddr, tag: &str) -> Raw {
    let mut c = Raw::connect(addr);
    c.command(&format!("{tag}0"), "LOGIN alice secret");
    c
}

/// APPEND of a text message with a non-synchronizing literal (LITERAL+, both servers).
fn append(c: &mut Raw, tag: &str, mailbox: &str, message: &str) -> Vec<String> {
    c.send(&format!(
        "{tag} APPEND {mailbox} {{{}+}}\r\n{message}",
        message.len()
    ));
    let lines = c.until(&format!("{tag} "));
    assert!(
        lines.last().unwrap().starts_with(&format!("{tag} OK")),
        "{lines:?}"
    );
    lines
}

fn message(i: usize) -> String {
    format!("From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n")
}

/// The number in `* n RECENT` lines (the last one), 0 without any.
fn recent(lines: &[String]) -> u32 {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("* ")?.strip_suffix(" RECENT")?.parse().ok())
        .next_back()
        .unwrap_or(0)
}

/// IMAP4rev1 `\Recent` (RFC 3501 §2.3.2): a message that arrives while sessions have the
/// mailbox selected is recent in exactly one of them, which hears `* n RECENT`; STATUS
/// from elsewhere then counts it as seen (RECENT 0).
#[test]
fn recent_in_exactly_one_session() {
    both("rules-recent", |who, addr| {
        let mut a = login(addr, "a");
        let mut b = login(addr, "b");
        let mut c = login(addr, "c");
        c.command("c1", "CREATE Shared");
        a.command("a1", "SELECT Shared");
        b.command("b1", "SELECT Shared");
        append(&mut c, "c2", "Shared", &message(1));
        append(&mut c, "c3", "Shared", &message(2));
        // Our server tells each session as soon as it hears of the change; Dovecot at the
        // session's next command.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let told_a = a.command("a2", "NOOP");
        let told_b = b.command("b2", "NOOP");
        assert_eq!(
            recent(&told_a) + recent(&told_b),
            2,
            "{who}: {told_a:?} {told_b:?}"
        );
        let flags_a = a.command("a3", "FETCH 1:2 (FLAGS)");
        let flags_b = b.command("b3", "FETCH 1:2 (FLAGS)");
        for seq in 1..=2 {
            let has = |lines: &[String]| {
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("* {seq} FETCH")) && l.contains("\\Recent"))
            };
            assert!(
                has(&flags_a) != has(&flags_b),
                "{who}: message {seq} is \\Recent in exactly one session: {flags_a:?} {flags_b:?}"
            );
        }
        let status = c.command("c4", "STATUS Shared (MESSAGES RECENT)");
        assert_eq!(status[0], "* STATUS Shared (MESSAGES 2 RECENT 0)", "{who}");
    });
}

/// RFC 9051 §7.3.5, RFC 3501 §7.2.6: a new keyword is announced with FLAGS (and
/// PERMANENTFLAGS) before a FETCH carries it, to the session that set it and to the others.
#[test]
fn new_keywords_are_announced() {
    both("rules-keywords", |who, addr| {
        let mut a = login(addr, "a");
        let mut b = login(addr, "b");
        a.command("a1", "CREATE Kw");
        append(&mut a, "a2", "Kw", &message(1));
        a.command("a3", "SELECT Kw");
        b.command("b1", "SELECT Kw");
        let stored = a.command("a4", "STORE 1 +FLAGS ($kw1)");
        let flags = stored.iter().position(|l| l.starts_with("* FLAGS ("));
        let fetch = stored.iter().position(|l| l.starts_with("* 1 FETCH"));
        assert!(
            flags.is_some() && flags < fetch && stored[flags.unwrap()].contains("$kw1"),
            "{who}: {stored:?}"
        );
        assert!(
            stored
                .iter()
                .any(|l| l.starts_with("* OK [PERMANENTFLAGS (") && l.contains("$kw1 \\*)")),
            "{who}: {stored:?}"
        );
        let told = b.command("b2", "NOOP");
        let flags = told.iter().position(|l| l.starts_with("* FLAGS ("));
        let fetch = told.iter().position(|l| l.starts_with("* 1 FETCH"));
        assert!(
            flags.is_some() && flags < fetch && told[flags.unwrap()].contains("$kw1"),
            "{who}: {told:?}"
        );
    });
}

/// MOVE into the selected mailbox: the source's EXPUNGE before the copy's EXISTS.
#[test]
fn move_within_the_selected_mailbox() {
    both("rules-move", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Mv");
        append(&mut a, "a2", "Mv", &message(1));
        append(&mut a, "a3", "Mv", &message(2));
        a.command("a4", "SELECT Mv");
        let moved = a.command("a5", "MOVE 1 Mv");
        let expunge = moved.iter().position(|l| l == "* 1 EXPUNGE");
        let exists = moved.iter().position(|l| l == "* 2 EXISTS");
        assert!(
            expunge.is_some() && exists.is_some() && expunge < exists,
            "{who}: {moved:?}"
        );
    });
}

/// RFC 7162 §3.1: the first CONDSTORE-enabling command with a mailbox selected (here FETCH
/// with MODSEQ) gets `* OK [HIGHESTMODSEQ n]`, before its FETCH responses.
#[test]
fn implicit_condstore_reports_highestmodseq() {
    both("rules-condstore", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Cs");
        append(&mut a, "a2", "Cs", &message(1));
        a.command("a3", "SELECT Cs");
        let fetched = a.command("a4", "FETCH 1 (MODSEQ)");
        assert!(
            fetched[0].starts_with("* OK [HIGHESTMODSEQ ") && fetched[1].starts_with("* 1 FETCH"),
            "{who}: {fetched:?}"
        );
        let again = a.command("a5", "FETCH 1 (MODSEQ)");
        assert!(again[0].starts_with("* 1 FETCH"), "{who}: {again:?}");
    });
}

/// RFC 7162 §3.2.4: once CONDSTORE is on, a server with QRESYNC gives the FETCH responses
/// a STORE, a FETCH that sets `\Seen`, or another session's change causes both UID and
/// MODSEQ. Dovecot does so once QRESYNC is enabled; ours from the first CONDSTORE-enabling
/// command, as the RFC says (checked on ours alone at the end).
#[test]
fn condstore_fetch_responses_carry_uid_and_modseq() {
    both("rules-condstore-uid", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Cu");
        for i in 1..=2 {
            append(&mut a, &format!("a2{i}"), "Cu", &message(i));
        }
        a.command("a3", "ENABLE QRESYNC");
        a.command("a4", "SELECT Cu");
        // The FETCH responses about `seq` (their literals' lines included) tell both
        // (Dovecot sends them in a FETCH of their own after one with a body).
        let full = |lines: &[String], seq: u32| {
            let prefix = format!("* {seq} FETCH ");
            let mut told: Vec<String> = Vec::new();
            let mut open = false;
            for l in &lines[..lines.len() - 1] {
                if l.starts_with("* ") {
                    open = l.starts_with(&prefix);
                    if open {
                        told.push(l.clone());
                    }
                } else if let (true, Some(last)) = (open, told.last_mut()) {
                    last.push_str(l);
                }
            }
            let all = told.concat();
            all.contains("UID ") && all.contains("MODSEQ (")
        };
        let stored = a.command("a5", "STORE 1 +FLAGS (\\Flagged)");
        assert!(full(&stored, 1), "{who}: {stored:?}");
        let seen = a.command("a6", "FETCH 2 (FLAGS BODY[])");
        assert!(full(&seen, 2), "{who}: {seen:?}");
        let mut b = login(addr, "b");
        b.command("b1", "SELECT Cu");
        b.command("b2", "STORE 1 +FLAGS (\\Answered)");
        let told = a.command("a7", "FETCH 1 (INTERNALDATE)");
        let flags: Vec<&String> = told.iter().filter(|l| l.contains("FLAGS (")).collect();
        assert!(
            !flags.is_empty()
                && flags
                    .iter()
                    .all(|l| l.contains("UID ") && l.contains("MODSEQ (")),
            "{who}: {told:?}"
        );
        if who == "ours" {
            let mut c = login(addr, "c");
            c.command("c1", "SELECT Cu (CONDSTORE)");
            let stored = c.command("c2", "STORE 2 +FLAGS (\\Flagged)");
            assert!(full(&stored, 2), "{who}: {stored:?}");
        }
    });
}

/// RFC 7162 §3.2.7: under QRESYNC the tagged OK of EXPUNGE and UID EXPUNGE carries
/// HIGHESTMODSEQ (VANISHED has no mod-sequence of its own).
#[test]
fn expunge_under_qresync_reports_highestmodseq() {
    both("rules-expunge-modseq", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Ex");
        for i in 1..=3 {
            append(&mut a, &format!("a2{i}"), "Ex", &message(i));
        }
        a.command("a3", "ENABLE QRESYNC");
        a.command("a4", "SELECT Ex");
        a.command("a5", "STORE 1:2 +FLAGS.SILENT (\\Deleted)");
        let gone = a.command("a6", "EXPUNGE");
        assert!(
            gone.last().unwrap().starts_with("a6 OK [HIGHESTMODSEQ "),
            "{who}: {gone:?}"
        );
        let uid = a.command("a7", "FETCH 1 (UID)");
        let u = uid[0].split("UID ").nth(1).unwrap().trim_end_matches(')');
        a.command("a8", "STORE 1 +FLAGS.SILENT (\\Deleted)");
        let gone = a.command("a9", &format!("UID EXPUNGE {u}"));
        assert!(
            gone.last().unwrap().starts_with("a9 OK [HIGHESTMODSEQ "),
            "{who}: {gone:?}"
        );
    });
}

/// RFC 2180 §4.1 and RFC 5530: a FETCH of a message another session expunged, which this
/// one has not been told of, returns the data still kept or says `EXPUNGEISSUED` (not a
/// plain OK that leaves it out unexplained).
#[test]
fn fetch_of_a_message_expunged_elsewhere() {
    both("rules-expungeissued", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Ei");
        for i in 1..=3 {
            append(&mut a, &format!("a2{i}"), "Ei", &message(i));
        }
        a.command("a3", "SELECT Ei");
        let mut b = login(addr, "b");
        b.command("b1", "SELECT Ei");
        b.command("b2", "STORE 2 +FLAGS.SILENT (\\Deleted)");
        b.command("b3", "EXPUNGE");
        let fetched = a.command("a4", "FETCH 1:3 (BODY.PEEK[])");
        let tagged = fetched.last().unwrap();
        assert!(tagged.starts_with("a4 OK"), "{who}: {fetched:?}");
        // (Its flag change, `\Deleted`, may come as a FETCH of its own: not the data.)
        let kept = fetched
            .iter()
            .any(|l| l.starts_with("* 2 FETCH") && l.contains("BODY[]"));
        assert!(
            kept || tagged.starts_with("a4 OK [EXPUNGEISSUED]"),
            "{who}: {fetched:?}"
        );
        assert!(fetched.iter().any(|l| l.starts_with("* 3 FETCH")), "{who}");
        // The expunge is told at the next command that allows it.
        let noop = a.command("a5", "NOOP");
        assert!(noop.iter().any(|l| l == "* 2 EXPUNGE"), "{who}: {noop:?}");
    });
}

/// RFC 5182 §2.1: a SELECT empties `$` (the UIDs it holds belong to the mailbox before),
/// and so does a SEARCH with SAVE that fails with NO.
#[test]
fn the_saved_search_result_is_emptied() {
    both("rules-searchres", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Sr");
        for i in 1..=3 {
            append(&mut a, &format!("a2{i}"), "INBOX", &message(i));
            append(&mut a, &format!("a3{i}"), "Sr", &message(i));
        }
        a.command("a4", "SELECT INBOX");
        a.command("a5", "UID SEARCH RETURN (SAVE) ALL");
        let fetched = a.command("a6", "FETCH $ (UID)");
        assert_eq!(fetched.len(), 4, "{who}: {fetched:?}");
        a.command("a7", "SELECT Sr");
        let fetched = a.command("a8", "FETCH $ (UID)");
        assert_eq!(fetched.len(), 1, "{who}: {fetched:?}");
        assert!(fetched[0].starts_with("a8 OK"), "{who}: {fetched:?}");
        a.command("a9", "SEARCH RETURN (SAVE) ALL");
        a.send("a10 SEARCH RETURN (SAVE) CHARSET X-NONE ALL");
        let refused = a.until("a10 ");
        assert!(
            refused.last().unwrap().starts_with("a10 NO"),
            "{who}: {refused:?}"
        );
        let fetched = a.command("a11", "FETCH $ (UID)");
        assert_eq!(fetched.len(), 1, "{who}: {fetched:?}");
    });
}

/// The selected mailbox under mailbox commands of the same session: RENAME INBOX tells of
/// its messages leaving (RFC 9051 §6.3.6), RENAME of a mailbox above the selected one
/// keeps it selected under its new name, and DELETE of it ends the session after its OK
/// (`* BYE`, as Dovecot does: IMAP has no response that takes a client out of the Selected
/// state). (Ours only: the reference Dovecot refuses RENAME INBOX here and disconnects a
/// session whose selected mailbox is renamed.)
#[test]
fn mailbox_commands_and_the_selected_mailbox() {
    let server = start("rules-selected");
    let mut a = login(server.imap, "a");
    for i in 3..=4 {
        append(&mut a, &format!("d{i}"), "INBOX", &message(i));
    }
    a.command("d5", "SELECT INBOX");
    let mut told = a.command("d6", "RENAME INBOX Former");
    told.extend(a.command("d7", "NOOP"));
    let expunges = told.iter().filter(|l| l.ends_with(" EXPUNGE")).count();
    assert_eq!(expunges, 2, "{told:?}");
    let status = a.command("d8", "STATUS Former (MESSAGES)");
    assert!(status[0].ends_with("(MESSAGES 2)"), "{status:?}");

    a.command("b1", "CREATE Top.Sub");
    append(&mut a, "b2", "Top.Sub", &message(2));
    a.command("b3", "SELECT Top.Sub");
    a.command("b4", "RENAME Top Moved");
    let fetched = a.command("b5", "FETCH 1 (FLAGS)");
    assert!(fetched[0].starts_with("* 1 FETCH"), "{fetched:?}");

    a.command("a1", "CREATE Gone");
    append(&mut a, "a2", "Gone", &message(1));
    a.command("a3", "SELECT Gone");
    a.command("a4", "DELETE Gone");
    let bye = a.line();
    assert!(bye.starts_with("* BYE "), "{bye}");
    assert!(a.closed());
}

/// RFC 9051 §6.4.4: SEARCH matches the decoded text: a Subject in encoded words (RFC 2047)
/// and a base64 body (RFC 2045), searched for in UTF-8.
#[test]
fn search_matches_decoded_text() {
    both("rules-search-decoded", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Dec");
        append(
            &mut a,
            "a2",
            "Dec",
            "From: a@example.org\r\nSubject: =?UTF-8?Q?Un_caf=C3=A9?=\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nVW4gY2Fmw6kgYXUgbGFpdA0K\r\n",
        );
        append(&mut a, "a3", "Dec", &message(2));
        a.command("a4", "SELECT Dec");
        for (tag, key) in [("a5", "SUBJECT"), ("a6", "BODY"), ("a7", "TEXT")] {
            a.send(&format!("{tag} SEARCH CHARSET UTF-8 {key} {{5+}}\r\ncafé"));
            let found = a.until(&format!("{tag} "));
            assert_eq!(found[0], "* SEARCH 1", "{who} {key}: {found:?}");
        }
    });
}

/// RFC 7162 §3.1.5 with RFC 4731: SEARCH RETURN (MIN) or (MAX) with a MODSEQ key reports
/// the returned message's MODSEQ, not the highest of every match.
#[test]
fn esearch_min_max_report_their_own_modseq() {
    both("rules-esearch", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Es");
        for i in 1..=3 {
            append(&mut a, &format!("a2{i}"), "Es", &message(i));
        }
        // Dovecot counts modseqs once CONDSTORE is on.
        a.command("a30", "ENABLE CONDSTORE");
        a.command("a3", "SELECT Es");
        // Message 2 changes last: it has the highest modseq.
        a.command("a4", "STORE 2 +FLAGS (\\Seen)");
        let modseq = |a: &mut Raw, tag: &str, seq: u32| -> u64 {
            let f = a.command(tag, &format!("FETCH {seq} (MODSEQ)"));
            let l = f.iter().find(|l| l.contains("MODSEQ (")).unwrap();
            l.split("MODSEQ (")
                .nth(1)
                .unwrap()
                .trim_end_matches("))")
                .parse()
                .unwrap()
        };
        let (m1, m2, m3) = (
            modseq(&mut a, "a5", 1),
            modseq(&mut a, "a6", 2),
            modseq(&mut a, "a7", 3),
        );
        assert!(m2 > m1 && m2 > m3, "{who}: {m1} {m2} {m3}");
        let min = a.command("a8", "SEARCH RETURN (MIN) MODSEQ 1");
        assert!(
            min[0].ends_with(&format!("MIN 1 MODSEQ {m1}")),
            "{who}: {min:?}"
        );
        let max = a.command("a9", "SEARCH RETURN (MAX) MODSEQ 1");
        assert!(
            max[0].ends_with(&format!("MAX 3 MODSEQ {m3}")),
            "{who}: {max:?}"
        );
        let count = a.command("a10", "SEARCH RETURN (MIN COUNT) MODSEQ 1");
        assert!(
            count[0].ends_with(&format!("MODSEQ {m2}")),
            "{who}: {count:?}"
        );
    });
}

/// ENVELOPE names an address by its comment when it has no phrase; SEARCH TO finds an
/// address written with comments inside it.
#[test]
fn addresses_with_comments() {
    both("rules-address", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Ad");
        append(
            &mut a,
            "a2",
            "Ad",
            "From: user@domain.example (Real Name)\r\nTo: <user-from (comment)@ (comment) domain.org>\r\nSubject: s\r\n\r\nbody\r\n",
        );
        a.command("a3", "SELECT Ad");
        let env = a.command("a4", "FETCH 1 (ENVELOPE)");
        assert!(
            env[0].contains(r#"(("Real Name" NIL "user" "domain.example"))"#)
                && env[0].contains(r#"((NIL NIL "user-from" "domain.org"))"#),
            "{who}: {env:?}"
        );
        // A dotted phrase keeps its spaces; an address without a domain has a host, not
        // NIL, which would start a group (RFC 9051 §7.5.2): ours "", Dovecot 2.3's
        // "MISSING_DOMAIN" (later versions "").
        append(
            &mut a,
            "a6",
            "Ad",
            "From: Dr. Smith <s@x.org>\r\nTo: root\r\nSubject: t\r\n\r\nbody\r\n",
        );
        let env = a.command("a7", "FETCH 2 (ENVELOPE)");
        assert!(
            env[0].contains(r#"(("Dr. Smith" NIL "s" "x.org"))"#)
                && (env[0].contains(r#"((NIL NIL "root" ""))"#)
                    || who == "dovecot"
                        && env[0].contains(r#"((NIL NIL "root" "MISSING_DOMAIN"))"#)),
            "{who}: {env:?}"
        );
        for (key, found) in [
            ("TO user-from@domain.org", true),
            ("FROM \"Real Name\"", true),
            ("TO comment", false),
        ] {
            let r = a.command("a5", &format!("SEARCH {key}"));
            assert_eq!(r[0] == "* SEARCH 1", found, "{who}: {key}: {r:?}");
        }
    });
}

/// The names, with `\Noselect` or CHILDINFO marked, of LSUB or LIST responses.
fn names(lines: &[String], marker: &str) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("* LSUB") || l.starts_with("* LIST"))
        .map(|l| {
            let name = l
                .split("\".\" ")
                .nth(1)
                .unwrap_or_default()
                .split(' ')
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned();
            if l.contains(marker) {
                format!("{name}+")
            } else {
                name
            }
        })
        .collect();
    v.sort();
    v
}

/// RFC 3501 §6.3.9: LSUB with `%` returns the unsubscribed parent of a subscribed child as
/// `\Noselect`. RFC 5258 §3.5: with several patterns, RECURSIVEMATCH gives CHILDINFO only to
/// a parent whose subscribed child no pattern matches (its nearest parent a pattern matches).
#[test]
fn lsub_and_recursivematch_parents() {
    both("rules-lsub", |who, addr| {
        let mut a = login(addr, "a");
        for m in ["P1.C1", "P2.C2.D2", "P3", "Q.C"] {
            a.command("a1", &format!("CREATE {m}"));
        }
        for m in ["P1.C1", "P2.C2.D2", "P3", "Q.C"] {
            a.command("a2", &format!("SUBSCRIBE {m}"));
        }
        let lsub = a.command("a3", "LSUB \"\" \"%\"");
        assert_eq!(
            own(names(&lsub, "\\Noselect")),
            ["P1+", "P2+", "P3", "Q+"],
            "{who}: {lsub:?}"
        );
        let lsub = a.command("a4", "LSUB \"\" \"P2.%\"");
        assert_eq!(names(&lsub, "\\Noselect"), ["P2.C2+"], "{who}: {lsub:?}");
        let list = a.command(
            "a5",
            "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"P1\" \"P1.%\" \"P2\" \"P2.%\")",
        );
        assert_eq!(
            names(&list, "CHILDINFO"),
            ["P1.C1", "P2.C2+"],
            "{who}: {list:?}"
        );
        let list = a.command(
            "a6",
            "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"P1.%\" \"%\")",
        );
        assert_eq!(
            own(names(&list, "CHILDINFO")),
            ["P1.C1", "P2+", "P3", "Q+"],
            "{who}: {list:?}"
        );
    });
}
/// `names` without the special-use mailboxes a new account of ours starts with.
fn own(mut names: Vec<String>) -> Vec<String> {
    names.retain(|n| !["Archive", "Drafts", "Junk", "Sent", "Trash"].contains(&n.as_str()));
    names
}

/// APPEND with a `~{n}` literal8 (RFC 3516): the octets are stored as sent, bare LFs
/// included. Dovecot turns bare LFs into CRLF here (9 octets); we keep the 7.
#[test]
fn binary_append_is_stored_octet_for_octet() {
    let server = start("rules-binary");
    let mut a = login(server.imap, "a");
    let body: &[u8] = &[0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a];
    a.send_bytes(b"a1 APPEND INBOX ~{7+}\r\n");
    a.send_bytes(body);
    a.send("");
    let done = a.until("a1 ");
    assert!(done.last().unwrap().starts_with("a1 OK"), "{done:?}");
    a.command("a2", "SELECT INBOX");
    let size = a.command("a3", "FETCH 1 (RFC822.SIZE)");
    assert!(size[0].contains("RFC822.SIZE 7"), "{size:?}");
    let stored = server.messages("alice", "INBOX");
    assert_eq!(stored[0].content.as_deref(), Some(body));
}

/// A new account has Drafts, Sent, Trash, Junk and Archive with their special-use attributes
/// (RFC 6154), subscribed: a client's first "save a copy in Sent" needs no CREATE.
#[test]
fn new_accounts_have_special_use_mailboxes() {
    let server = start("rules-special-use");
    let mut c = login(server.imap, "s");
    let lines = c.command("s1", r#"LIST (SPECIAL-USE) "" "*""#);
    let mut found: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("* LIST "))
        .map(String::as_str)
        .collect();
    found.sort_unstable();
    let expected = [
        ("Archive", "\\Archive"),
        ("Drafts", "\\Drafts"),
        ("Junk", "\\Junk"),
        ("Sent", "\\Sent"),
        ("Trash", "\\Trash"),
    ];
    assert_eq!(found.len(), expected.len(), "{lines:?}");
    for ((name, attr), line) in expected.iter().zip(&found) {
        assert!(
            line.contains(attr) && line.ends_with(&format!(" {name}")),
            "{line}"
        );
    }
    let subscribed = c.command("s2", r#"LSUB "" "*""#);
    for (name, _) in expected {
        assert!(
            subscribed.iter().any(|l| l.ends_with(&format!(" {name}"))),
            "{name} not subscribed: {subscribed:?}"
        );
    }
    append(&mut c, "s3", "Sent", &message(1));
}

/// MULTIAPPEND (RFC 3502): several messages in one APPEND get consecutive UIDs in one
/// APPENDUID; when one of them cannot be stored, none is.
#[test]
fn multiappend_is_all_or_nothing() {
    let server = start("rules-multiappend");
    let mut c = login(server.imap, "m");
    let caps = c.command("m1", "CAPABILITY");
    assert!(caps[0].contains(" MULTIAPPEND"), "{caps:?}");
    let (one, two) = (message(1), message(2));
    c.send(&format!(
        "m2 APPEND INBOX (\\Seen) {{{}+}}\r\n{one} {{{}+}}\r\n{two}",
        one.len(),
        two.len()
    ));
    let done = c.until("m2 ");
    let last = done.last().unwrap();
    assert!(last.starts_with("m2 OK [APPENDUID "), "{done:?}");
    assert!(last.contains(" 1:2]"), "{last}");
    // The second message's flag list is bad: the command fails and the first is not kept.
    c.send(&format!(
        "m3 APPEND INBOX {{{}+}}\r\n{one} (\\Bogus) {{{}+}}\r\n{two}",
        one.len(),
        two.len()
    ));
    let refused = c.until("m3 ");
    assert!(!refused.last().unwrap().starts_with("m3 OK"), "{refused:?}");
    let status = c.command("m4", "STATUS INBOX (MESSAGES UIDNEXT)");
    assert_eq!(
        status[0], "* STATUS INBOX (MESSAGES 2 UIDNEXT 3)",
        "{status:?}"
    );
}

/// A client's side of COMPRESS=DEFLATE written with flate2 alone (not our codec): raw
/// DEFLATE both ways, each write ended with a sync flush.
struct Deflated {
    stream: std::net::TcpStream,
    tx: flate2::Compress,
    rx: flate2::Decompress,
    plain: Vec<u8>,
}

impl Deflated {
    fn new(stream: std::net::TcpStream, already: &[u8]) -> Self {
        let mut d = Self {
            stream,
            tx: flate2::Compress::new(flate2::Compression::fast(), false),
            rx: flate2::Decompress::new(false),
            plain: Vec::new(),
        };
        d.inflate(already);
        d
    }

    fn compressed(&mut self, text: &str) -> Vec<u8> {
        let mut wire = Vec::with_capacity(text.len() + 64);
        self.tx
            .compress_vec(text.as_bytes(), &mut wire, flate2::FlushCompress::Sync)
            .unwrap();
        wire
    }

    fn send(&mut self, text: &str) {
        use std::io::Write;
        let wire = self.compressed(text);
        self.stream.write_all(&wire).unwrap();
    }

    fn inflate(&mut self, mut wire: &[u8]) {
        while !wire.is_empty() {
            let mut out = Vec::with_capacity(64 * 1024);
            let before = self.rx.total_in();
            self.rx
                .decompress_vec(wire, &mut out, flate2::FlushDecompress::Sync)
                .unwrap();
            let taken = usize::try_from(self.rx.total_in() - before).unwrap();
            wire = &wire[taken..];
            self.plain.extend_from_slice(&out);
        }
    }

    /// Lines up to and including the one starting with `tag`.
    fn until(&mut self, tag: &str) -> Vec<String> {
        use std::io::Read;
        loop {
            let text = String::from_utf8_lossy(&self.plain).into_owned();
            let lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
            if let Some(i) = lines.iter().position(|l| l.starts_with(tag)) {
                return lines[..=i].to_vec();
            }
            let mut buf = [0; 16 * 1024];
            let n = self.stream.read(&mut buf).unwrap();
            assert!(n > 0, "closed; so far: {text}");
            self.inflate(&buf[..n]);
        }
    }
}

/// COMPRESS=DEFLATE (RFC 4978) with a flate2 client: after the tagged OK everything is
/// compressed both ways, including a command the client pipelined behind COMPRESS; a
/// second COMPRESS is refused with [COMPRESSIONACTIVE]; a message comes back intact.
#[test]
fn compress_deflate_end_to_end() {
    use std::io::{Read, Write};
    let server = start("rules-compress");
    let body = "x".repeat(200_000);
    let mut c = login(server.imap, "z");
    append(
        &mut c,
        "z1",
        "INBOX",
        &format!("Subject: big\r\n\r\n{body}\r\n"),
    );
    let caps = c.command("z2", "CAPABILITY");
    assert!(caps[0].contains(" COMPRESS=DEFLATE"), "{caps:?}");
    drop(c);

    let mut stream = std::net::TcpStream::connect(server.imap).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let read_until = |stream: &mut std::net::TcpStream, got: &mut Vec<u8>, tag: &[u8]| {
        while !got.windows(tag.len()).any(|w| w == tag) {
            let mut buf = [0; 4096];
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
    };
    stream.write_all(b"a1 LOGIN alice secret\r\n").unwrap();
    read_until(&mut stream, &mut got, b"a1 OK");
    got.clear();
    // COMPRESS and, pipelined behind it, a compressed SELECT.
    let mut d = Deflated::new(stream.try_clone().unwrap(), &[]);
    let mut wire = b"a2 COMPRESS DEFLATE\r\n".to_vec();
    wire.extend(d.compressed("a3 SELECT INBOX\r\n"));
    stream.write_all(&wire).unwrap();
    read_until(&mut stream, &mut got, b"a2 OK DEFLATE active\r\n");
    let end = got.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    assert_eq!(&got[..end], b"a2 OK DEFLATE active\r\n");
    let mut d = Deflated::new(stream, &got[end..]);
    let selected = d.until("a3 ");
    assert!(selected.contains(&"* 1 EXISTS".to_owned()), "{selected:?}");
    assert!(
        selected.last().unwrap().starts_with("a3 OK"),
        "{selected:?}"
    );
    d.plain.clear();

    d.send("a4 UID FETCH 1 BODY.PEEK[TEXT]\r\n");
    let fetched = d.until("a4 ");
    assert!(fetched.last().unwrap().starts_with("a4 OK"), "{fetched:?}");
    assert!(fetched.contains(&body), "the body did not come back intact");
    d.plain.clear();
    d.send("a5 COMPRESS DEFLATE\r\n");
    let again = d.until("a5 ");
    assert_eq!(again, ["a5 NO [COMPRESSIONACTIVE] DEFLATE active already"]);
    d.plain.clear();
    d.send("a6 LOGOUT\r\n");
    let bye = d.until("a6 ");
    assert!(bye[0].starts_with("* BYE"), "{bye:?}");
}

/// CATENATE (RFC 4469): a message made of text and parts of one already stored, named by
/// absolute and relative IMAP URLs; a URL from another UIDVALIDITY is `NO [BADURL ...]`.
#[test]
fn catenate_builds_a_message_from_parts() {
    let server = start("rules-catenate");
    let mut c = login(server.imap, "k");
    let caps = c.command("k1", "CAPABILITY");
    assert!(caps[0].contains(" CATENATE"), "{caps:?}");
    append(
        &mut c,
        "k2",
        "INBOX",
        "From: a@example.org\r\nSubject: old\r\n\r\nthe old body\r\n",
    );
    let status = c.command("k3", "STATUS INBOX (UIDVALIDITY)");
    let validity: u32 = status[0]
        .split("UIDVALIDITY ")
        .nth(1)
        .and_then(|v| v.trim_end_matches(')').parse().ok())
        .unwrap();
    let head = "Subject: new\r\n\r\n";
    let done = c.command(
        "k4",
        &format!(
            "APPEND Drafts CATENATE (TEXT {{{}+}}\r\n{head} URL \"/INBOX;UIDVALIDITY={validity}/;UID=1/;SECTION=TEXT\")",
            head.len()
        ),
    );
    assert!(done.last().unwrap().contains("[APPENDUID "), "{done:?}");
    c.command("k5", "SELECT Drafts");
    let body = c.command("k6", "FETCH 1 BODY.PEEK[]");
    assert!(
        body.iter().any(|l| l == "the old body") && body.iter().any(|l| l == "Subject: new"),
        "{body:?}"
    );
    // Relative to the selected mailbox (Drafts now), a header field of its message.
    c.command(
        "k7",
        "APPEND Drafts CATENATE (URL \";UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)\" TEXT {4+}\r\nxyz\n)",
    );
    let second = c.command("k8", "FETCH 2 BODY.PEEK[]");
    assert!(second.iter().any(|l| l == "Subject: new"), "{second:?}");
    // Another UIDVALIDITY, a missing message, a bad section: BADURL, nothing appended.
    for (tag, url) in [
        (
            "k9",
            format!("/INBOX;UIDVALIDITY={}/;UID=1", validity.wrapping_add(1)),
        ),
        ("k10", "/INBOX/;UID=99".to_owned()),
        ("k11", "/INBOX/;UID=1/;SECTION=7.9".to_owned()),
    ] {
        c.send(&format!("{tag} APPEND Drafts CATENATE (URL \"{url}\")"));
        let refused = c.until(&format!("{tag} "));
        let last = refused.last().unwrap();
        assert!(
            last.starts_with(&format!("{tag} NO [BADURL {url}]")),
            "{last}"
        );
    }
    let status = c.command("k12", "STATUS Drafts (MESSAGES)");
    assert_eq!(status[0], "* STATUS Drafts (MESSAGES 2)");
}

/// LIST patterns: one of 60,000 wildcards is answered and the session goes on (a recursive
/// matcher overflowed its thread's stack and took the server down); under UTF8=ACCEPT a
/// pattern is UTF-8, not modified UTF-7 (RFC 6855 §3); LIST-STATUS answers as STATUS
/// does, refusing an item STATUS refuses (RFC 5819 §2).
#[test]
fn list_patterns() {
    both("rules-list-patterns", |who, addr| {
        let mut c = login(addr, "a");
        let wild = "%".repeat(60_000);
        c.send(&format!("a1 LIST \"\" {{{}+}}\r\n{wild}", wild.len()));
        // `%%…%` is `%`: the top level.
        let lines = c.until("a1 ");
        assert!(
            lines.iter().any(|l| l.ends_with(" INBOX")),
            "{who}: {lines:?}"
        );
        c.command("a2", "NOOP");
        if who != "ours" {
            return;
        }
        c.command("a3", "ENABLE UTF8=ACCEPT");
        c.command("a4", "CREATE \"A&-B\"");
        let lines = c.command("a5", "LIST \"\" \"A&-B\"");
        let listed: Vec<&String> = lines.iter().filter(|l| l.starts_with("* LIST")).collect();
        assert!(
            listed.len() == 1 && listed[0].trim_end_matches('"').ends_with("A&-B"),
            "{lines:?}"
        );
        let lines = c.command("a6", "SELECT INBOX");
        assert!(
            lines.iter().any(|l| l.starts_with("* OK [UIDNEXT")),
            "{lines:?}"
        );
        let status = c.command("a7", "STATUS INBOX (MESSAGES RECENT)");
        let listed = c.command("a8", "LIST \"\" INBOX RETURN (STATUS (MESSAGES RECENT))");
        let status_line = |lines: &[String]| {
            lines
                .iter()
                .find(|l| l.starts_with("* STATUS"))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(status_line(&status), status_line(&listed), "{listed:?}");
        c.send("a9 LIST \"\" INBOX RETURN (STATUS (MAILBOXID))");
        let lines = c.until("a9 ");
        assert!(lines.last().unwrap().starts_with("a9 BAD"), "{lines:?}");
    });
}

/// A section the message does not have is empty, not NIL, and its BINARY.SIZE is 0, as
/// Dovecot answers (RFC 9051 §7.5.2 asks for the item; imap-msgpart returns an empty part).
#[test]
fn missing_sections_are_empty() {
    both("rules-missing-section", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Sec");
        append(&mut a, "a2", "Sec", &message(1));
        a.command("a3", "SELECT Sec");
        let r = a.command(
            "a4",
            "FETCH 1 (BODY.PEEK[5] BODY.PEEK[1.HEADER] BINARY.PEEK[7] BINARY.SIZE[7])",
        );
        // Ours quotes the empty string, Dovecot sends it as the literal {0}.
        let text = r.concat().replace("{0}", "\"\"");
        for item in [
            "BODY[5] \"\"",
            "BODY[1.HEADER] \"\"",
            "BINARY[7] \"\"",
            "BINARY.SIZE[7] 0",
        ] {
            assert!(text.contains(item), "{who}: {item}: {r:?}");
        }
    });
}

/// A multipart without parts is still `body-type-mpart`, holding an empty text part, and a
/// message/rfc822 part that does not parse is still `body-type-msg` (RFC 9051 §9), as
/// Dovecot answers.
#[test]
fn bodystructure_of_empty_parts() {
    both("rules-empty-parts", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Parts");
        append(
            &mut a,
            "a2",
            "Parts",
            "Subject: m\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"foo\"\r\n\r\n",
        );
        append(
            &mut a,
            "a3",
            "Parts",
            "Subject: e\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\r\n--b--\r\n",
        );
        a.command("a4", "SELECT Parts");
        let r = a.command("a5", "FETCH 1:2 (BODYSTRUCTURE)");
        let first = r[0].to_ascii_lowercase();
        assert!(
            first.contains(
                r#"(bodystructure (("text" "plain" ("charset" "us-ascii") nil nil "7bit" 0 0"#
            ) && first.contains(r#" "mixed" ("boundary" "foo")"#),
            "{who}: {r:?}"
        );
        let second = r[1].to_ascii_lowercase();
        assert!(
            second.contains(r#"(("message" "rfc822" nil nil nil "7bit" "#)
                && second.contains(r#"(nil nil nil nil nil nil nil nil nil nil) ("text" "plain""#),
            "{who}: {r:?}"
        );
    });
}

/// RFC 9051 §9 (seq-number): a sequence number past the last message is a client error,
/// in a range ending in `*` too (`10:*` with two messages is `2:10`): BAD, as Dovecot
/// answers. `2:*` and `*` stay fine.
#[test]
fn a_range_to_star_from_past_the_end_is_bad() {
    both("rules-range-past", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Rp");
        for i in 1..=2 {
            append(&mut a, &format!("a2{i}"), "Rp", &message(i));
        }
        a.command("a3", "SELECT Rp");
        a.send("a4 FETCH 10:* FLAGS");
        let past = a.until("a4 ");
        assert!(
            past.last().unwrap().starts_with("a4 BAD"),
            "{who}: {past:?}"
        );
        let fine = a.command("a5", "FETCH 2:* FLAGS");
        assert!(fine[0].starts_with("* 2 FETCH"), "{who}: {fine:?}");
        assert!(fine.last().unwrap().starts_with("a5 OK"), "{who}: {fine:?}");
    });
}

/// RFC 7162 §3.1.4.1: FETCH with CHANGEDSINCE returns (and so, with BODY[], marks `\Seen`)
/// only the messages changed since; the others keep their flags.
#[test]
fn changedsince_fetch_of_bodies_marks_only_what_it_returns() {
    both("rules-changedsince-seen", |who, addr| {
        let mut a = login(addr, "a");
        a.command("a1", "CREATE Cs2");
        for i in 1..=2 {
            append(&mut a, &format!("a2{i}"), "Cs2", &message(i));
        }
        let selected = a.command("a3", "SELECT Cs2 (CONDSTORE)");
        let modseq: u64 = selected
            .iter()
            .find_map(|l| l.split("[HIGHESTMODSEQ ").nth(1))
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{who}: {selected:?}"));
        a.command("a4", "STORE 2 +FLAGS.SILENT (\\Flagged)");
        let fetched = a.command("a5", &format!("FETCH 1:2 (BODY[]) (CHANGEDSINCE {modseq})"));
        assert!(
            fetched.iter().all(|l| !l.starts_with("* 1 FETCH")),
            "{who}: {fetched:?}"
        );
        let flags = a.command("a6", "FETCH 1 FLAGS");
        assert!(!flags[0].contains("\\Seen"), "{who}: {flags:?}");
    });
}

/// Mail another program delivers into the Maildir (tmp/, then new/, as the Maildir rules
/// say) reaches a session with the mailbox selected: at once in IDLE, and in the next NOOP
/// a moment later (RFC 9051 §6.1.2: NOOP is how a client polls). Before, nothing was seen
/// until some other command opened the mailbox in the store.
#[test]
fn mail_another_program_delivers_is_seen() {
    let server = start("external-delivery");
    let maildir = server.data_dir.join("alice").join("Maildir");
    let drop_in = |name: &str, subject: &str| {
        let tmp = maildir.join("tmp").join(name);
        std::fs::write(&tmp, format!("Subject: {subject}\r\n\r\nfrom procmail\r\n")).unwrap();
        std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
    };
    let mut c = login(server.imap, "x");
    let selected = c.command("x1", "SELECT INBOX");
    assert!(selected.contains(&"* 0 EXISTS".to_owned()), "{selected:?}");
    c.send("x2 IDLE");
    assert!(c.line().starts_with("+ "));
    drop_in("1800000000.M1P1.mda", "first");
    assert_eq!(c.line(), "* 1 EXISTS");
    c.send("DONE");
    c.until("x2 OK");
    drop_in("1800000001.M1P1.mda", "second");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let noop = c.command("x3", "NOOP");
    assert!(noop.contains(&"* 2 EXISTS".to_owned()), "{noop:?}");
}
