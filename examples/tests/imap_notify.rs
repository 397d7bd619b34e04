//! NOTIFY (RFC 5465) over the socket against the `mailserver` binary: one session asks for
//! the account's events, another changes the account, and the first hears of it without
//! sending a command (read with a timeout). Also BADEVENT, the §5 rules, and NOTIFY NONE.

mod common;

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use common::{dovecot::Dovecot, start};

/// A raw session whose reads give up after a while, to tell "nothing came" from a line.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn login(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut c = Self {
            reader: BufReader::new(stream),
            writer,
        };
        c.line().expect("greeting");
        c.ok("l0", "LOGIN alice secret");
        c
    }

    fn line(&mut self) -> Option<String> {
        let mut s = String::new();
        match self.reader.read_line(&mut s) {
            Ok(0) => panic!("connection closed"),
            Ok(_) => Some(s.trim_end_matches(['\r', '\n']).to_owned()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// The command's responses, the tagged one last.
    fn command(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .unwrap();
        let mut lines = Vec::new();
        loop {
            let l = self.line().expect("an answer");
            let done = l.starts_with(&format!("{tag} "));
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    fn ok(&mut self, tag: &str, command: &str) -> Vec<String> {
        let lines = self.command(tag, command);
        assert!(
            lines.last().unwrap().starts_with(&format!("{tag} OK")),
            "{command}: {lines:?}"
        );
        lines
    }

    /// Lines that arrive unasked within `wait` (until `count` of them came).
    fn unasked(&mut self, count: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut lines = Vec::new();
        while lines.len() < count && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            self.reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            if let Some(l) = self.line() {
                lines.push(l);
            }
        }
        self.reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        lines
    }

    fn append(&mut self, tag: &str, mailbox: &str) {
        let message = "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
        self.writer
            .write_all(
                format!(
                    "{tag} APPEND {mailbox} {{{}+}}\r\n{message}\r\n",
                    message.len()
                )
                .as_bytes(),
            )
            .unwrap();
        let mut last = String::new();
        while !last.starts_with(&format!("{tag} ")) {
            last = self.line().expect("APPEND's answer");
        }
        assert!(last.starts_with(&format!("{tag} OK")), "{last}");
    }
}

/// The number after `key` in a STATUS line.
fn item(line: &str, key: &str) -> Option<u64> {
    let at = line.find(&format!("{key} "))? + key.len() + 1;
    line[at..]
        .split([' ', ')'])
        .next()
        .and_then(|n| n.parse().ok())
}

#[test]
fn notify_reports_other_mailboxes_and_the_mailbox_list() {
    let server = start("notify-main");
    let mut a = Client::login(server.imap);
    let mut b = Client::login(server.imap);
    b.ok("b1", "CREATE Lists");
    b.append("b2", "Lists");

    let caps = a.ok("a1", "CAPABILITY");
    assert!(caps[0].split(' ').any(|c| c == "NOTIFY"), "{caps:?}");
    a.ok("a2", "SELECT INBOX");
    // SET STATUS: the current STATUS of every matching mailbox but the selected one.
    let set = a.ok(
        "a3",
        "NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))",
    );
    let lists = set
        .iter()
        .find(|l| l.starts_with("* STATUS Lists "))
        .unwrap_or_else(|| panic!("{set:?}"));
    assert_eq!(item(lists, "MESSAGES"), Some(1), "{lists}");
    for key in ["UIDNEXT", "UIDVALIDITY", "UNSEEN"] {
        assert!(item(lists, key).is_some(), "{key}: {lists}");
    }
    assert!(
        !set.iter().any(|l| l.starts_with("* STATUS INBOX")),
        "the selected mailbox is told with EXISTS, not STATUS: {set:?}"
    );
    assert!(a.unasked(1, Duration::from_millis(300)).is_empty());

    // Another session appends to another mailbox: STATUS, without a command.
    b.append("b3", "Lists");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].starts_with("* STATUS Lists ("), "{heard:?}");
    assert_eq!(item(&heard[0], "MESSAGES"), Some(2), "{heard:?}");
    assert_eq!(item(&heard[0], "UNSEEN"), Some(2), "{heard:?}");

    // ... creates and deletes a mailbox: LIST, then LIST with \NonExistent.
    b.ok("b4", "CREATE Fresh");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(
        heard[0].starts_with("* LIST () ") && heard[0].ends_with(" Fresh"),
        "{heard:?}"
    );
    b.ok("b5", "DELETE Fresh");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(
        heard[0].starts_with("* LIST (\\NonExistent)") && heard[0].ends_with(" Fresh"),
        "{heard:?}"
    );

    // ... renames one: LIST with OLDNAME.
    b.ok("b6", "RENAME Lists Reading");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(
        heard[0].contains(" Reading (\"OLDNAME\" (\"Lists\"))")
            || heard[0].contains(" Reading (\"OLDNAME\" (Lists))"),
        "{heard:?}"
    );

    // ... delivers to the selected mailbox: EXISTS at once (the `selected` filter), then
    // the FETCH MessageNew asked for (`* 1 RECENT` between them, IMAP4rev1), as Dovecot.
    b.append("b7", "INBOX");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard, vec!["* 1 EXISTS".to_owned()]);
    let mut rest = a.unasked(1, Duration::from_secs(5));
    if rest == ["* 1 RECENT"] {
        rest = a.unasked(1, Duration::from_secs(5));
    }
    assert_eq!(rest, vec!["* 1 FETCH (UID 1)".to_owned()]);

    // A flood into one mailbox collapses: at most one STATUS per batch, ending at the
    // last count.
    for i in 0..20 {
        b.append(&format!("f{i}"), "Reading");
    }
    let mut last = None;
    let mut seen = 0;
    while last != Some(22) {
        let heard = a.unasked(1, Duration::from_secs(5));
        assert_eq!(heard.len(), 1, "STATUS up to 22 messages, got {last:?}");
        assert!(heard[0].starts_with("* STATUS Reading ("), "{heard:?}");
        last = item(&heard[0], "MESSAGES");
        seen += 1;
    }
    assert!(seen <= 20, "one STATUS per change at most: {seen}");

    // NOTIFY NONE: nothing more.
    a.ok("a4", "NOTIFY NONE");
    b.append("b8", "Reading");
    b.ok("b9", "CREATE Quiet");
    assert!(
        a.unasked(1, Duration::from_millis(800)).is_empty(),
        "nothing after NOTIFY NONE"
    );
}

#[test]
fn notify_refusals() {
    let server = start("notify-refusals");
    let mut a = Client::login(server.imap);
    let bad = a.command(
        "a1",
        "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))",
    );
    assert!(
        bad.last().unwrap().starts_with("a1 NO [BADEVENT ("),
        "{bad:?}"
    );
    let listed = bad.last().unwrap();
    for e in [
        "MessageNew",
        "MessageExpunge",
        "MailboxName",
        "SubscriptionChange",
    ] {
        assert!(listed.contains(e), "{e}: {listed}");
    }
    assert!(!listed.contains("AnnotationChange"), "{listed}");
    for (tag, command) in [
        ("a2", "NOTIFY SET (personal (MessageNew))"),
        ("a3", "NOTIFY SET (selected (FlagChange))"),
        (
            "a4",
            "NOTIFY SET (selected (MessageNew MessageExpunge MailboxName))",
        ),
        ("a5", "NOTIFY SET (selected NONE) (selected-delayed NONE)"),
        ("a6", "NOTIFY SET"),
    ] {
        let lines = a.command(tag, command);
        assert!(
            lines.last().unwrap().starts_with(&format!("{tag} BAD")),
            "{command}: {lines:?}"
        );
    }
    // An unknown mailbox is no error; the subscription filter follows SUBSCRIBE.
    a.ok(
        "a7",
        "NOTIFY SET (mailboxes Nowhere (MessageNew MessageExpunge)) (subscribed (MessageNew MessageExpunge SubscriptionChange))",
    );
    let mut b = Client::login(server.imap);
    b.ok("b1", "CREATE Sub");
    b.append("b2", "Sub");
    assert!(
        a.unasked(1, Duration::from_millis(500)).is_empty(),
        "Sub is not subscribed"
    );
    b.ok("b3", "SUBSCRIBE Sub");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert!(
        heard.len() == 1
            && heard[0].starts_with("* LIST (\\Subscribed) ")
            && heard[0].ends_with(" Sub"),
        "{heard:?}"
    );
    b.append("b4", "Sub");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert!(
        heard.len() == 1 && heard[0].starts_with("* STATUS Sub (MESSAGES 2 "),
        "{heard:?}"
    );
    // The first group that matches a mailbox applies: Sub's NONE hides it from `personal`.
    a.ok(
        "a8",
        "NOTIFY SET (mailboxes Sub NONE) (personal (MessageNew MessageExpunge))",
    );
    b.append("b5", "Sub");
    b.append("b6", "INBOX");
    let heard = a.unasked(2, Duration::from_secs(2));
    assert!(
        heard.len() == 1 && heard[0].starts_with("* STATUS INBOX ("),
        "only INBOX: {heard:?}"
    );
}

/// A client that stops reading: the server stops at the first notification it cannot
/// write, the changes made meanwhile wait in the store's bounded queue and collapse into
/// one STATUS per mailbox when the client reads again; more changes than the queue holds
/// end NOTIFY with `* OK [NOTIFICATIONOVERFLOW]` (RFC 5465 §3.1) instead of growing memory.
#[test]
fn a_client_that_does_not_read_gets_collapsed_status_then_overflow() {
    let server = start("notify-flood");
    let mut a = Client::login(server.imap);
    let mut b = Client::login(server.imap);
    b.ok("b1", "CREATE Lists");
    // A message larger than the socket buffers: its FETCH blocks the server while A does
    // not read.
    let line = format!("{}\r\n", "x".repeat(998));
    let big = format!(
        "From: a@example.org\r\nSubject: big\r\n\r\n{}",
        line.repeat(24 * 1024)
    );
    b.writer
        .write_all(format!("b2 APPEND INBOX {{{}+}}\r\n", big.len()).as_bytes())
        .unwrap();
    b.writer.write_all(big.as_bytes()).unwrap();
    b.writer.write_all(b"\r\n").unwrap();
    assert!(b.line().unwrap().starts_with("b2 OK"));
    a.ok("a1", "SELECT INBOX");
    a.ok(
        "a2",
        "NOTIFY SET (personal (MessageNew MessageExpunge FlagChange MailboxName))",
    );
    a.writer.write_all(b"a3 FETCH 1 BODY.PEEK[]\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));

    // 30 appends while A does not read.
    for i in 0..30 {
        b.append(&format!("c{i}"), "Lists");
    }
    let mut lines = Vec::new();
    while !lines.last().is_some_and(|l: &String| l.starts_with("a3 ")) {
        lines.push(a.line().expect("FETCH's answer"));
    }
    lines.extend(a.unasked(40, Duration::from_secs(2)));
    let status: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("* STATUS Lists "))
        .collect();
    assert!(
        !status.is_empty() && status.len() <= 3,
        "collapsed into one STATUS or a few: {status:?}"
    );
    assert_eq!(item(status[status.len() - 1], "MESSAGES"), Some(30));

    // Again, with more changes than the queue holds (4096): overflow, and NOTIFY is off.
    a.writer.write_all(b"a4 FETCH 1 BODY.PEEK[]\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    b.ok("b3", "SELECT Lists");
    let mut flags = String::new();
    for i in 0..4200 {
        let op = if i % 2 == 0 { '+' } else { '-' };
        let _ = write!(flags, "f{i} STORE 1 {op}FLAGS.SILENT (\\Flagged)\r\n");
    }
    b.writer.write_all(flags.as_bytes()).unwrap();
    let mut last = String::new();
    while !last.starts_with("f4199 ") {
        last = b.line().expect("STORE's answers");
    }
    assert!(last.starts_with("f4199 OK"), "{last}");
    let mut lines = Vec::new();
    while !lines.last().is_some_and(|l: &String| l.starts_with("a4 ")) {
        lines.push(a.line().expect("FETCH's answer"));
    }
    lines.extend(a.unasked(10, Duration::from_secs(2)));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("* OK [NOTIFICATIONOVERFLOW]")),
        "{:?}",
        &lines[lines.len().saturating_sub(5)..]
    );
    b.append("b4", "Lists");
    assert!(
        a.unasked(1, Duration::from_millis(800)).is_empty(),
        "NOTIFY is off after the overflow"
    );
}

/// One line as a shape to compare between servers: numbers as `N`, quotes dropped, the
/// hierarchy delimiter as `D`; a STATUS line as its mailbox and item names.
fn shape(line: &str) -> String {
    let line = line.replace('"', "");
    let mut out = String::new();
    let mut digits = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('N');
            }
            digits = true;
        } else {
            digits = false;
            out.push(c);
        }
    }
    out.replace(" / ", " D ").replace(" . ", " D ")
}

/// The sequence of the main test, as shapes, against the server at `addr`.
fn notify_sequence(addr: SocketAddr) -> Vec<(String, Vec<String>)> {
    let mut a = Client::login(addr);
    let mut b = Client::login(addr);
    b.ok("b1", "CREATE Lists");
    b.append("b2", "Lists");
    a.ok("a1", "SELECT INBOX");
    let mut steps = Vec::new();
    let set = a.ok(
        "a2",
        "NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))",
    );
    let untagged = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with("* STATUS Lists") || l.starts_with("* LIST"))
            .map(|l| shape(l))
            .collect()
    };
    steps.push(("NOTIFY SET STATUS".to_owned(), untagged(&set)));
    let wait = Duration::from_secs(3);
    b.append("b3", "Lists");
    steps.push(("APPEND Lists".to_owned(), shapes(&a.unasked(1, wait))));
    b.ok("b4", "CREATE Fresh");
    steps.push(("CREATE".to_owned(), shapes(&a.unasked(1, wait))));
    b.ok("b5", "DELETE Fresh");
    steps.push(("DELETE".to_owned(), shapes(&a.unasked(1, wait))));
    b.ok("b6", "RENAME Lists Reading");
    steps.push(("RENAME".to_owned(), shapes(&a.unasked(1, wait))));
    b.append("b7", "INBOX");
    let mut lines = a.unasked(3, wait);
    lines.retain(|l| !l.ends_with(" RECENT"));
    steps.push(("APPEND INBOX".to_owned(), shapes(&lines)));
    let bad = a.command(
        "a3",
        "NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))",
    );
    let refusal = bad
        .last()
        .unwrap()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    steps.push(("BADEVENT".to_owned(), vec![shape(&refusal)]));
    steps
}

fn shapes(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| shape(l)).collect()
}

/// The STATUS items named in a STATUS shape.
fn status_keys(shape: &str) -> Vec<&str> {
    let Some(open) = shape.find('(') else {
        return Vec::new();
    };
    shape[open + 1..]
        .trim_end_matches(')')
        .split(' ')
        .filter(|w| *w != "N")
        .collect()
}

/// The same sequence against Dovecot (NOTIFY needs its notify plugin): the same responses
/// in shape. Where Dovecot differs, RFC 5465 is followed and the difference is checked as
/// such: a changed mailbox's STATUS also carries UIDVALIDITY (Dovecot leaves it out after
/// the first), and BADEVENT lists the supported events in parentheses (§3.1; Dovecot lists
/// the unsupported ones, bare).
#[test]
fn responses_have_dovecots_shape() {
    let server = start("notify-shape");
    let ours = notify_sequence(server.imap);
    let dovecot = Dovecot::start_with("notify-shape", &[], "mail_plugins = notify\n");
    let theirs = notify_sequence(SocketAddr::from(([127, 0, 0, 1], dovecot.imap)));
    assert_eq!(ours.len(), theirs.len());
    for ((step, o), (_, t)) in ours.iter().zip(&theirs) {
        match step.as_str() {
            "APPEND Lists" => {
                assert_eq!(o.len(), 1, "{step}: ours {o:?}");
                assert_eq!(t.len(), 1, "{step}: dovecot {t:?}");
                for key in status_keys(&t[0]) {
                    assert!(
                        status_keys(&o[0]).contains(&key),
                        "{step}: {key} in {o:?}, dovecot {t:?}"
                    );
                }
            }
            "BADEVENT" => {
                assert_eq!(o, &["aN NO [BADEVENT".to_owned()], "{step}");
                assert!(t[0].starts_with("aN NO [BADEVENT"), "{step}: dovecot {t:?}");
            }
            _ => assert_eq!(o, t, "{step}: ours {o:?}, dovecot {t:?}"),
        }
    }
}

/// RFC 5465 §3.1, §5.1: a group asking for FlagChange gets HIGHESTMODSEQ in its STATUS,
/// without CONDSTORE: a flag change elsewhere changes nothing else a STATUS shows.
#[test]
fn flag_changes_elsewhere_show_in_highestmodseq() {
    let server = start("notify-flags");
    let mut a = Client::login(server.imap);
    let mut b = Client::login(server.imap);
    b.ok("b1", "CREATE Kept");
    b.append("b2", "Kept");
    let set = a.ok(
        "a1",
        "NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))",
    );
    let before = set
        .iter()
        .find(|l| l.starts_with("* STATUS Kept "))
        .unwrap_or_else(|| panic!("{set:?}"))
        .clone();
    assert!(item(&before, "HIGHESTMODSEQ").is_some(), "{before}");
    b.ok("b3", "SELECT Kept");
    b.ok("b4", "STORE 1 +FLAGS (\\Flagged)");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].starts_with("* STATUS Kept ("), "{heard:?}");
    assert!(
        item(&heard[0], "HIGHESTMODSEQ") > item(&before, "HIGHESTMODSEQ"),
        "{before} then {heard:?}"
    );
}

/// A `subscribed` filter follows this session's own SUBSCRIBE too (RFC 5465 §6.4), which
/// the store does not echo back to it.
#[test]
fn subscribed_follows_this_sessions_subscriptions() {
    let server = start("notify-subscribed");
    let mut a = Client::login(server.imap);
    let mut b = Client::login(server.imap);
    b.ok("b1", "CREATE Feeds");
    a.ok("a1", "NOTIFY SET (subscribed (MessageNew MessageExpunge))");
    b.append("b2", "Feeds");
    assert!(a.unasked(1, Duration::from_millis(500)).is_empty());
    a.ok("a2", "SUBSCRIBE Feeds");
    b.append("b3", "Feeds");
    let heard = a.unasked(1, Duration::from_secs(5));
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0].starts_with("* STATUS Feeds ("), "{heard:?}");
    a.ok("a3", "UNSUBSCRIBE Feeds");
    b.append("b4", "Feeds");
    assert!(a.unasked(1, Duration::from_millis(500)).is_empty());
}
