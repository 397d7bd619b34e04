//! Real POP3 clients (Python's poplib, curl, fetchmail) against the example server, with mail
//! arriving over SMTP and checked through IMAP and the store afterwards.
//!
//! These need the clients installed; `.ci/run` installs them. A missing client fails the test
//! rather than skipping it, so CI cannot pass without having run it.

mod common;

use std::{process::Command, sync::Arc, time::Duration};

use common::{Raw, python, run, run_bytes, start};
use sansmail_server::pop3::{self as pop3_server, Pop3Service};

const FIRST: &[u8] =
    b"From: a@remote.example\r\nSubject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n";
const SECOND: &[u8] = b"Subject: two\r\n\r\nsecond message\r\n";

const POPLIB: &str = r#"
import poplib, sys, time
port = int(sys.argv[1])
first = open(sys.argv[2], "rb").read()
second = open(sys.argv[3], "rb").read()

p = poplib.POP3("127.0.0.1", port, timeout=10)
assert b"<" in p.getwelcome(), p.getwelcome()  # an APOP timestamp
caps = p.capa()
assert "UIDL" in caps and "TOP" in caps and "USER" in caps, caps
p.user("alice")
p.pass_("secret")
count, size = p.stat()
assert (count, size) == (2, len(first) + len(second)), (count, size)
resp, listing, _ = p.list()
assert listing == [b"1 %d" % len(first), b"2 %d" % len(second)], listing
resp, uidls, _ = p.uidl()
assert len(uidls) == 2 and len(set(u.split()[1] for u in uidls)) == 2, uidls
resp, lines, octets = p.retr(1)
assert b"\r\n".join(lines) + b"\r\n" == first, lines
resp, lines, _ = p.top(2, 0)
assert lines == [b"Subject: two", b""], lines

# The maildrop is leased: a second session is refused while this one lives.
q = poplib.POP3("127.0.0.1", port, timeout=10)
q.user("alice")
try:
    q.pass_("secret")
    raise SystemExit("second login succeeded")
except poplib.error_proto as e:
    assert b"[IN-USE]" in e.args[0], e
q.close()

p.dele(1)
try:
    p.retr(1)
    raise SystemExit("RETR of a deleted message succeeded")
except poplib.error_proto:
    pass
assert p.stat() == (1, len(second)), p.stat()
p.rset()
assert p.stat()[0] == 2
p.dele(1)
resp = p.quit()
assert resp.startswith(b"+OK"), resp

# The lease is gone, the deletion happened.
p = poplib.POP3("127.0.0.1", port, timeout=10)
p.apop("alice", "secret")
assert p.stat() == (1, len(second)), p.stat()
resp, lines, _ = p.retr(1)
assert b"\r\n".join(lines) + b"\r\n" == second, lines
# Without QUIT nothing is deleted, and the lease is released when the connection drops.
p.dele(1)
p.close()
for attempt in range(50):
    # The server releases the lease once it sees the connection gone.
    p = poplib.POP3("127.0.0.1", port, timeout=10)
    p.user("alice")
    try:
        p.pass_("secret")
        break
    except poplib.error_proto as e:
        assert b"[IN-USE]" in e.args[0], e
        p.close()
        time.sleep(0.05)
assert p.stat()[0] == 1, p.stat()
p.quit()
print("poplib ok")
"#;

#[test]
fn python_poplib_session() {
    let server = start("poplib");
    server.deliver(&["alice@example.org"], FIRST);
    server.deliver(&["alice@example.org"], SECOND);
    let (first, second) = (
        server.data_dir.join("first.eml"),
        server.data_dir.join("second.eml"),
    );
    std::fs::write(&first, FIRST).unwrap();
    std::fs::write(&second, SECOND).unwrap();
    let out = python(
        POPLIB,
        &[
            &server.pop3.port().to_string(),
            first.to_str().unwrap(),
            second.to_str().unwrap(),
        ],
    );
    assert!(out.contains("poplib ok"), "{out}");

    // Gone from IMAP too; RETR set \Seen on the one left.
    let left = server.messages("alice", "INBOX");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].content.as_deref(), Some(SECOND));
    assert!(left[0].flags.contains(sansmail_store::Flag::Seen));
    let mut imap = Raw::connect(server.imap);
    imap.command("a1", "LOGIN alice secret");
    let select = imap.command("a2", "SELECT INBOX");
    assert!(select.contains(&"* 1 EXISTS".to_owned()), "{select:?}");
    let fetched = imap.command("a3", "FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    assert!(fetched[0].contains("\\Seen"), "{fetched:?}");
    assert_eq!(fetched[1], "Subject: two");
    imap.command("a4", "LOGOUT");
}

#[test]
fn curl_lists_retrieves_and_deletes() {
    let server = start("curl-pop3");
    server.deliver(&["alice@example.org"], FIRST);
    server.deliver(&["alice@example.org"], SECOND);
    let base = format!("pop3://127.0.0.1:{}", server.pop3.port());
    let curl = |path: &str, extra: &[&str]| {
        run(Command::new("curl")
            .args(["-sS", &format!("{base}/{path}"), "-u", "alice:secret"])
            .args(extra))
    };
    let (ok, list) = curl("", &[]);
    assert!(ok, "{list}");
    assert_eq!(
        list,
        format!("1 {}\r\n2 {}\r\n", FIRST.len(), SECOND.len()),
        "{list}"
    );
    let (ok, body, err) = run_bytes(
        Command::new("curl").args(["-sS", &format!("{base}/1"), "-u", "alice:secret"]),
        b"",
    );
    assert!(ok, "{}", String::from_utf8_lossy(&err));
    assert_eq!(body, FIRST);
    let (ok, uidl) = curl("", &["-X", "UIDL"]);
    assert!(ok && uidl.lines().count() == 2, "{uidl}");
    let (ok, stat) = curl("", &["-X", "STAT", "-I"]);
    assert!(ok, "{stat}");
    let (ok, log) = curl("2", &["-X", "DELE", "-I"]);
    assert!(ok, "{log}");
    let (ok, list) = curl("", &[]);
    assert!(ok, "{list}");
    assert_eq!(list, format!("1 {}\r\n", FIRST.len()));
    let inbox = server.messages("alice", "INBOX");
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].content.as_deref(), Some(FIRST));
}

#[test]
fn wrong_password_and_unknown_user_are_refused() {
    let server = start("pop3-auth");
    let script = r#"
import poplib, sys
for user, password in [("alice", "nope"), ("nobody", "secret")]:
    p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
    p.user(user)
    try:
        p.pass_(password)
        raise SystemExit("login succeeded")
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR [AUTH]"), e
    p.quit()
print("refused ok")
"#;
    let out = python(script, &[&server.pop3.port().to_string()]);
    assert!(out.contains("refused ok"), "{out}");
}

/// A POP3 listener of its own on `server`'s store, with its service `adjust`ed.
fn own_pop3(
    server: &common::TestServer,
    adjust: impl FnOnce(&mut Pop3Service<examples::server::Store>),
) -> std::net::SocketAddr {
    let mut service = Pop3Service::new(
        "t",
        common::authenticator(),
        Arc::clone(&server.store),
        sansmail_server::listener::Gate::new(sansmail_server::listener::ConnectionLimits::default()),
    );
    adjust(&mut service);
    server
        .runtime
        .block_on(pop3_server::spawn(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(service),
        ))
        .unwrap()
}

/// Sends USER alice and PASS secret on `c`; the answer to PASS.
fn login(c: &mut Raw) -> String {
    c.send("USER alice");
    assert!(c.line().starts_with("+OK"));
    c.send("PASS secret");
    c.line()
}

/// A silent client is signed off with `-ERR` after the idle timeout; its deletions are not
/// committed and its lease is released.
#[test]
fn silent_clients_time_out_without_deleting() {
    let server = start("pop3-timeout");
    server.deliver(&["alice@example.org"], SECOND);
    let addr = own_pop3(&server, |s| {
        s.config.limits.idle_timeout = Duration::from_millis(300);
    });
    let mut c = Raw::connect(addr);
    assert!(login(&mut c).starts_with("+OK"));
    c.send("DELE 1");
    assert!(c.line().starts_with("+OK"));
    assert!(c.line().starts_with("-ERR"));
    assert!(c.closed());
    assert_eq!(server.messages("alice", "INBOX").len(), 1);
    let ok = login(&mut Raw::connect(addr));
    assert!(ok.starts_with("+OK"), "{ok}");
}

/// The maildrop's lease lasts as long as the session, however the client keeps it busy:
/// the session answers NOOP (and STAT, LIST, UIDL, DELE, RSET) without asking the server,
/// and the lease used to be renewed only on what it asks (RETR, TOP, QUIT), so a second
/// login got the maildrop of a session still in use (RFC 1939 §8, RFC 2449 §8.1.1).
#[test]
fn the_lease_outlives_a_busy_session() {
    let server = start("pop3-lease");
    server.deliver(&["alice@example.org"], SECOND);
    let addr = own_pop3(&server, |s| s.lease_for = Duration::from_millis(600));
    let mut first = Raw::connect(addr);
    assert!(login(&mut first).starts_with("+OK"));
    first.send("DELE 1");
    assert!(first.line().starts_with("+OK"));
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(200));
        first.send("NOOP");
        assert!(first.line().starts_with("+OK"));
    }
    let mut second = Raw::connect(addr);
    let refused = login(&mut second);
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");
    first.send("QUIT");
    let quit = first.line();
    assert!(quit.starts_with("+OK"), "{quit}");
    assert!(server.messages("alice", "INBOX").is_empty());
}

/// A message that an IMAP client expunges while RETR is sending it still goes out whole,
/// as the message the session listed (Dovecot does the same): before, the connection closed
/// in the middle of it, and with it went every DELE of the session. Another RETR of it then
/// gets `-ERR` without `[SYS/TEMP]`: it is gone for good. (And the UIDL is Dovecot's.)
#[test]
fn a_message_expunged_during_retr_is_sent_whole() {
    use sansmail_store::{AccountName, ExpungeScope, Flag, FlagOp, Flags, MailStore, Session};
    let server = start("pop3-expunged");
    // Larger than loopback's socket buffers, so that RETR is under way at the expunge.
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..400_000 {
        big.extend_from_slice(format!("line {i:07} of a large message\r\n").as_bytes());
    }
    server.deliver(&["alice@example.org"], SECOND);
    server.deliver(&["alice@example.org"], &big);
    let addr = own_pop3(&server, |_| {});
    let mut c = Raw::connect(addr);
    assert!(login(&mut c).starts_with("+OK"));
    c.send("DELE 1");
    assert!(c.line().starts_with("+OK"));
    let imap = Session::new(AccountName::try_from("alice").unwrap());
    // Dovecot's default UIDL, %08Xu%08Xv, which it writes in lower case: a maildrop moved
    // between the two keeps its UIDLs, and clients download nothing twice.
    let status = server
        .runtime
        .block_on(server.store.status(&imap, "INBOX"))
        .unwrap();
    let uid = server.messages("alice", "INBOX")[1].uid.get();
    c.send("UIDL 2");
    let expected = format!("+OK 2 {uid:08x}{:08x}", status.uidvalidity.get());
    assert_eq!(c.line(), expected);
    c.send("RETR 2");
    assert!(c.line().starts_with("+OK"));
    assert_eq!(c.line(), "Subject: big");
    let all = sansmail_store::UidSet::all();
    let deleted = FlagOp::Add(Flags::new().with(Flag::Deleted));
    server
        .runtime
        .block_on(
            server
                .store
                .store_flags(&imap, "INBOX", &all, deleted, None),
        )
        .unwrap();
    let gone = server
        .runtime
        .block_on(server.store.expunge(&imap, "INBOX", ExpungeScope::Deleted))
        .unwrap();
    assert_eq!(gone.uids.len(), 2);
    // `line` fails if the connection ends first.
    let mut received = b"Subject: big\r\n".to_vec();
    loop {
        let line = c.line();
        if line == "." {
            break;
        }
        received.extend_from_slice(line.as_bytes());
        received.extend_from_slice(b"\r\n");
    }
    assert!(
        received == big,
        "{} octets of {}",
        received.len(),
        big.len()
    );
    c.send("RETR 2");
    assert_eq!(c.line(), "-ERR Message was deleted by another session");
    c.send("QUIT");
    assert!(c.line().starts_with("+OK"));
}

/// Runs fetchmail with its rc on stdin (it has no password flag), delivering with an MDA
/// that appends to `mbox`; returns its output.
fn fetchmail(dir: &std::path::Path, port: u16, server: &str, options: &str) -> (bool, String) {
    let rc = format!(
        "set no syslog\npoll 127.0.0.1 protocol pop3 service {port} {server} user \"alice\" password \"secret\" {options} mda \"cat >> {}\"\n",
        dir.join("fm.mbox").display()
    );
    common::run_with_input(
        Command::new("fetchmail")
            .args(["-f", "-", "-v", "--nodetach", "-i"])
            .arg(dir.join("fetchids"))
            .arg("--pidfile")
            .arg(dir.join("fetchmail.pid"))
            .env("HOME", dir)
            .current_dir(dir),
        rc.as_bytes(),
    )
}

/// fetchmail downloads (keeping, with UIDL tracking: a second run fetches nothing new),
/// then downloads and deletes over STLS, then over POP3S.
#[test]
fn fetchmail_downloads_and_deletes() {
    let server = start("pop3-fetchmail");
    server.deliver(&["alice@example.org"], FIRST);
    server.deliver(&["alice@example.org"], SECOND);
    let dir = std::env::temp_dir().join(format!("fetchmail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mbox = dir.join("fm.mbox");

    // Plaintext on loopback, keep, UIDL tracking.
    let (ok, log) = fetchmail(
        &dir,
        server.pop3.port(),
        "uidl",
        "sslproto \"\" keep fetchall",
    );
    assert!(ok, "{log}");
    let got = std::fs::read(&mbox).unwrap();
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.contains("Subject: one") && got.contains("second message"),
        "{log}"
    );
    assert_eq!(server.messages("alice", "INBOX").len(), 2);
    let (_, log) = fetchmail(&dir, server.pop3.port(), "uidl", "sslproto \"\" keep");
    // UIDL tracking: both are known, nothing is retrieved again.
    assert!(log.contains("(2 seen)") && !log.contains("RETR"), "{log}");

    // STLS, no keep: downloaded and deleted.
    std::fs::remove_file(&mbox).unwrap();
    let (ok, log) = fetchmail(
        &dir,
        server.pop3.port(),
        "",
        "sslproto \"auto\" no sslcertck fetchall",
    );
    assert!(ok, "{log}");
    assert!(log.contains("STLS"), "{log}");
    let got = String::from_utf8_lossy(&std::fs::read(&mbox).unwrap()).into_owned();
    assert!(
        got.contains("Subject: one") && got.contains("second message"),
        "{got}"
    );
    assert!(server.messages("alice", "INBOX").is_empty(), "{log}");

    // POP3S.
    server.deliver(&["alice@example.org"], SECOND);
    std::fs::remove_file(&mbox).unwrap();
    let (ok, log) = fetchmail(&dir, server.pop3s.port(), "", "ssl no sslcertck fetchall");
    assert!(ok, "{log}");
    let got = String::from_utf8_lossy(&std::fs::read(&mbox).unwrap()).into_owned();
    assert!(got.contains("second message"), "{got}");
    assert!(server.messages("alice", "INBOX").is_empty(), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
