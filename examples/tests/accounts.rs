//! Accounts and logins: `--users FILE` with hashed passwords (the binary, with its logs),
//! the failed-login throttle over all three protocols, and delivery over LMTP with Python's
//! `smtplib.LMTP`.

mod common;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{Raw, directory, python, start_with};
use examples::server;
use sansmail_server::auth::ThrottleConfig;
use sansmail_smtp::types::sasl::base64_encode;

/// The spec's first SHA-crypt example: "Hello world!" under salt "saltstring".
const SHA512_HELLO: &str = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";

struct Binary {
    child: Child,
    addrs: HashMap<String, SocketAddr>,
    stderr: std::thread::JoinHandle<String>,
    data_dir: std::path::PathBuf,
}

impl Binary {
    /// Kills the server; returns what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        stderr.join().unwrap()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Starts `mailserver` with SMTP, IMAP and POP3 on free ports and `args`; reads the listening
/// addresses it prints.
fn mailserver(name: &str, args: &[&str]) -> Binary {
    let data_dir = std::env::temp_dir().join(format!("accounts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let any = "127.0.0.1:0";
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--smtp", any, "--submission", "none", "--smtps", "none"])
        .args([
            "--imap", any, "--imaps", "none", "--pop3", any, "--pop3s", "none",
        ])
        .args(["--domain", "example.org"])
        .args(args)
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut addrs = HashMap::new();
    let mut line = String::new();
    while addrs.len() < 3 {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "mailserver exited");
        if let Some((what, addr)) = line.trim().split_once(" listening on ") {
            addrs.insert(what.to_owned(), addr.parse().unwrap());
        }
    }
    Binary {
        child,
        addrs,
        stderr,
        data_dir,
    }
}

fn imap_login(addr: SocketAddr, user: &str, password: &str) -> String {
    let mut c = Raw::connect(addr);
    c.send(&format!("a1 LOGIN {user} \"{password}\""));
    c.until("a1 ").pop().unwrap()
}

fn pop3_login(addr: SocketAddr, user: &str, password: &str) -> String {
    let mut c = Raw::connect(addr);
    c.send(&format!("USER {user}"));
    assert!(c.line().starts_with("+OK"));
    c.send(&format!("PASS {password}"));
    c.line()
}

fn smtp_auth(addr: SocketAddr, user: &str, password: &str) -> String {
    let mut c = Raw::connect(addr);
    c.send("EHLO client.example");
    c.until("250 ");
    let plain = base64_encode(format!("\0{user}\0{password}").as_bytes());
    c.send(&format!("AUTH PLAIN {plain}"));
    c.line()
}

#[test]
fn users_file_with_hashes() {
    let out = Command::new(env!("CARGO_BIN_EXE_mailctl"))
        .arg("hash-password")
        .env("MAILCTL_PASSWORD", "correct horse")
        .output()
        .unwrap();
    assert!(out.status.success());
    let argon = String::from_utf8(out.stdout).unwrap();
    assert!(argon.starts_with("$argon2id$"), "{argon}");
    let file = std::env::temp_dir().join(format!("users-{}", std::process::id()));
    std::fs::write(
        &file,
        format!(
            "# test users\nAlice:{}\nbob:{{SHA512-CRYPT}}{SHA512_HELLO}:1000:1000::/home/bob\n",
            argon.trim()
        ),
    )
    .unwrap();
    let server = mailserver(
        "users",
        &["--users", file.to_str().unwrap(), "--log", "debug"],
    );
    let (imap, pop3, smtp) = (
        server.addrs["imap"],
        server.addrs["pop3"],
        server.addrs["smtp"],
    );

    assert!(imap_login(imap, "alice", "correct horse").starts_with("a1 OK"));
    assert!(imap_login(imap, "ALICE", "correct horse").starts_with("a1 OK"));
    let wrong = imap_login(imap, "alice", "correct hors");
    assert!(wrong.starts_with("a1 NO [AUTHENTICATIONFAILED]"), "{wrong}");
    assert!(pop3_login(pop3, "bob", "Hello world!").starts_with("+OK"));
    assert!(pop3_login(pop3, "bob", "hello world!").starts_with("-ERR [AUTH]"));
    assert!(smtp_auth(smtp, "bob", "Hello world!").starts_with("235 "));
    // A user not in the file has no account.
    assert!(imap_login(imap, "demo", "x").starts_with("a1 NO"));

    let log = server.stop();
    // tracing: each listener says where it is; logins and failures are logged with their
    // protocol and account.
    for expected in [
        "listening",
        "listener=\"imap\"",
        // Each login and failure with its protocol and account (#16).
        "login protocol=\"smtp\" listener=\"smtp\"",
        "login protocol=\"pop3\" listener=\"pop3\"",
        "account=bob",
        "login failed protocol=\"imap\" listener=\"imap\"",
        "account=\"demo\"",
    ] {
        assert!(log.contains(expected), "no {expected:?} in the log:\n{log}");
    }
    assert!(
        !log.contains("correct horse"),
        "a password in the log:\n{log}"
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn users_file_errors_stop_the_server() {
    let file = std::env::temp_dir().join(format!("bad-users-{}", std::process::id()));
    std::fs::write(&file, "alice:plaintext-secret\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mailserver"))
        .args(["--users", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":1: user alice: not a password hash"), "{err}");
    let _ = std::fs::remove_file(&file);
}

/// Failed logins from one address are answered ever more slowly, then refused (even with
/// the right password) over every protocol; the throttle is shared by all listeners.
#[test]
fn failed_logins_slow_down_then_refuse() {
    let delay = Duration::from_millis(300);
    let server = start_with("throttle", |o| {
        o.throttle = ThrottleConfig {
            slow_after: 1,
            delay,
            max_delay: Duration::from_secs(2),
            refuse_after: 4,
            forget_after: Duration::from_secs(600),
        };
    });
    // Failure 1: answered at once (no minimum asserted, only that 2 and 3 take longer).
    assert!(imap_login(server.imap, "alice", "wrong").starts_with("a1 NO [AUTHENTICATIONFAILED]"));
    // Failure 2 (POP3) waits the delay, failure 3 (SMTP) twice that.
    let t = Instant::now();
    assert!(pop3_login(server.pop3, "alice", "wrong").starts_with("-ERR [AUTH]"));
    let second = t.elapsed();
    assert!(second >= delay, "second failure answered after {second:?}");
    let t = Instant::now();
    let r = smtp_auth(server.submission, "alice", "wrong");
    assert!(r.starts_with("535 5.7.8"), "{r}");
    let third = t.elapsed();
    assert!(third >= 2 * delay, "third failure answered after {third:?}");
    // Failure 4 reaches the limit; from now on even the right password is refused.
    assert!(imap_login(server.imap, "bob", "wrong").starts_with("a1 NO"));
    let r = imap_login(server.imap, "alice", "secret");
    assert!(r.starts_with("a1 NO [UNAVAILABLE]"), "{r}");
    let r = pop3_login(server.pop3, "alice", "secret");
    assert!(r.starts_with("-ERR [SYS/TEMP]"), "{r}");
    let r = smtp_auth(server.submission, "alice", "secret");
    assert!(r.starts_with("454 4.7.0"), "{r}");
}

/// A success forgets earlier failures: a user who mistyped twice is not slowed down later.
#[test]
fn success_resets_the_throttle() {
    let delay = Duration::from_secs(5);
    let server = start_with("throttle-reset", |o| {
        o.throttle = ThrottleConfig {
            slow_after: 2,
            delay,
            max_delay: delay,
            refuse_after: 3,
            forget_after: Duration::from_secs(600),
        };
    });
    for _ in 0..2 {
        assert!(imap_login(server.imap, "alice", "typo").starts_with("a1 NO"));
    }
    assert!(imap_login(server.imap, "alice", "secret").starts_with("a1 OK"));
    for _ in 0..2 {
        let t = Instant::now();
        assert!(imap_login(server.imap, "alice", "typo").starts_with("a1 NO"));
        assert!(t.elapsed() < delay, "slowed down after a success");
    }
}

/// LMTP (RFC 2033) with Python's smtplib.LMTP: one reply per recipient after the data, an
/// unknown user refused at RCPT, relaying refused.
#[test]
fn lmtp_delivers_per_recipient() {
    let data_dir = std::env::temp_dir().join(format!("accounts-lmtp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut options = server::Options::new(data_dir.clone(), "mail.example.org", directory());
    options.lmtp = Some("127.0.0.1:0".parse().unwrap());
    let running = runtime.block_on(server::start(options)).unwrap();
    let lmtp = running.lmtp.unwrap();
    assert!(running.smtp.is_none());

    // smtplib returns the recipients refused at RCPT; it raises if the message itself is.
    let script = r#"
import smtplib, sys
s = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
code, _ = s.ehlo("mx.example.net")
assert code == 250, code
msg = b"From: a@remote.example\r\nTo: alice@example.org\r\nSubject: lmtp\r\n\r\nper recipient\r\n"
rcpts = ["alice@example.org", "nobody@example.org", "x@elsewhere.example", "Bob@Example.Org"]
refused = s.sendmail("a@remote.example", rcpts, msg)
print("refused", sorted((k, v[0]) for k, v in refused.items()))
s.quit()
"#;
    let out = python(script, &[&lmtp.port().to_string()]);
    assert!(
        out.contains("refused [('nobody@example.org', 550), ('x@elsewhere.example', 554)]"),
        "{out}"
    );
    let session =
        |u: &str| sansmail_store::Session::new(sansmail_store::AccountName::try_from(u).unwrap());
    for (user, address) in [("alice", "alice@example.org"), ("bob", "Bob@Example.Org")] {
        let messages = runtime
            .block_on(sansmail_store::MailStore::fetch(
                &*running.store,
                &session(user),
                "INBOX",
                &sansmail_store::UidSet::all(),
                sansmail_store::FetchQuery {
                    content: Some(sansmail_store::model::Content::Full),
                    ..sansmail_store::FetchQuery::default()
                },
            ))
            .unwrap();
        assert_eq!(messages.len(), 1, "{user}");
        // Each copy names its own recipient, after Return-Path and before Received.
        let text = String::from_utf8_lossy(messages[0].content.as_deref().unwrap()).into_owned();
        let expected =
            format!("Return-Path: <a@remote.example>\r\nDelivered-To: {address}\r\nReceived: ");
        assert!(text.starts_with(&expected), "{user}: {text}");
        assert_eq!(text.matches("Delivered-To:").count(), 1, "{user}: {text}");
    }

    // Raw: LHLO, and a reply per accepted recipient after the data.
    let mut c = Raw::connect(lmtp);
    c.send("LHLO mx.example.net");
    let caps = c.until("250 ");
    assert!(!caps.iter().any(|l| l.contains("AUTH")), "{caps:?}");
    c.send("MAIL FROM:<a@remote.example>");
    assert!(c.line().starts_with("250"));
    c.send("RCPT TO:<alice@example.org>");
    assert!(c.line().starts_with("250"));
    c.send("RCPT TO:<bob@example.org>");
    assert!(c.line().starts_with("250"));
    c.send("DATA");
    assert!(c.line().starts_with("354"));
    c.send("Subject: two\r\n\r\nbody\r\n.");
    let replies = [c.line(), c.line()];
    assert!(replies.iter().all(|r| r.starts_with("250")), "{replies:?}");
    drop(c);
    drop(running);
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// An account whose mailboxes cannot be opened (a damaged account record here) is logged
/// and left out: the server starts and serves the others. Before, one such account stopped
/// the start, every user with it.
#[test]
fn one_broken_account_leaves_the_others_served() {
    let data_dir = std::env::temp_dir().join(format!("accounts-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    {
        // The accounts made, then the server gone with its runtime.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let options = server::Options::new(data_dir.clone(), "mail.example.org", directory());
        drop(runtime.block_on(server::start(options)).unwrap());
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let record = data_dir
        .join("bob")
        .join("Maildir")
        .join("mailstore-account");
    assert!(record.is_file(), "{}", record.display());
    std::fs::write(&record, b"{ not json").unwrap();
    let mut options = server::Options::new(data_dir.clone(), "mail.example.org", directory());
    options.imap = Some("127.0.0.1:0".parse().unwrap());
    let running = runtime
        .block_on(server::start(options))
        .expect("the server starts without bob");
    let imap = running.imap.unwrap();
    assert!(imap_login(imap, "alice", "secret").starts_with("a1 OK"));
    drop(running);
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data_dir);
}
