//! `mailctl` against our server (over STARTTLS and implicit TLS, checking the server's
//! self-signed certificate with `--ca`) and against Debian's Dovecot on loopback (IMAP and
//! POP3, plaintext). Dovecot must be installed (`.ci/run` installs it); the Dovecot tests
//! need root to hand the Maildir to the dovecot user, as CI runs.

mod common;

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{TestServer, dovecot::Dovecot, run, run_with_input, start};

const MAILCTL: &str = env!("CARGO_BIN_EXE_mailctl");

/// `mailctl` with the connection flags for `port`, verifying against the server's own
/// certificate.
fn mailctl(server: &TestServer, args: &[&str], port: u16, tls: &str) -> Command {
    let mut cmd = Command::new(MAILCTL);
    let ca = server.data_dir.join("tls/cert.pem");
    cmd.args(args).args([
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--tls",
        tls,
        "--ca",
        ca.to_str().unwrap(),
        "--timeout",
        "20",
    ]);
    cmd
}

fn login(cmd: &mut Command) -> &mut Command {
    cmd.args(["--user", "alice", "--password", "secret"])
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailctl-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn maildir_count(dir: &Path) -> usize {
    fs::read_dir(dir.join("new")).map_or(0, Iterator::count)
}

#[test]
fn send_over_submission_and_smtps() {
    let server = start("mailctl-send");
    let msg = b"From: alice@example.org\r\nSubject: via mailctl\r\n\r\nhello\r\n";
    // Submission without AUTH: refused.
    let (ok, log) = run_with_input(
        mailctl(
            &server,
            &[
                "send",
                "--from",
                "alice@example.org",
                "--to",
                "alice@example.org",
            ],
            server.submission.port(),
            "starttls",
        )
        .arg("-"),
        msg,
    );
    assert!(!ok, "{log}");
    assert!(log.contains("530"), "{log}");
    // With AUTH over STARTTLS, the message from a file; over SMTPS from stdin.
    let dir = temp("send");
    let file = dir.join("msg.eml");
    fs::write(&file, msg).unwrap();
    let (ok, log) = run(login(&mut mailctl(
        &server,
        &[
            "send",
            "--from",
            "alice@example.org",
            "--to",
            "alice@example.org",
            "--to",
            "bob@example.org",
            file.to_str().unwrap(),
        ],
        server.submission.port(),
        "starttls",
    )));
    assert!(ok, "{log}");
    assert!(log.contains("sent: 250"), "{log}");
    let (ok, log) = run_with_input(
        login(&mut mailctl(
            &server,
            &["send", "--from", "", "--to", "alice@example.org"],
            server.smtps.port(),
            "implicit",
        )),
        msg,
    );
    assert!(ok, "{log}");
    assert_eq!(server.messages("alice", "INBOX").len(), 2);
    assert_eq!(server.messages("bob", "INBOX").len(), 1);
    let content = server.messages("bob", "INBOX")[0].content.clone().unwrap();
    // The submission server completed the header (RFC 6409 §8.3, §8.4).
    let stored = common::strip_trace(&content);
    assert!(stored.ends_with(msg), "{}", String::from_utf8_lossy(stored));
    let added = String::from_utf8_lossy(&stored[..stored.len() - msg.len()]);
    assert!(
        added.starts_with("Date: ")
            && added.contains("\r\nMessage-ID: <")
            && added.ends_with(">\r\n"),
        "{added}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn certificate_is_verified() {
    let server = start("mailctl-verify");
    let dir = temp("verify");
    // A CA that is not the server's: the handshake fails.
    let (other, _) = examples::tls::self_signed(&dir.join("other"), "other.test").unwrap();
    let (ok, log) = run(login(Command::new(MAILCTL).args([
        "imap",
        "list",
        "--port",
        &server.imaps.port().to_string(),
        "--tls",
        "implicit",
        "--ca",
        other.to_str().unwrap(),
    ])));
    assert!(!ok, "{log}");
    assert!(log.contains("TLS handshake"), "{log}");
    // --insecure skips the check.
    let (ok, log) = run(login(Command::new(MAILCTL).args([
        "imap",
        "list",
        "--port",
        &server.imaps.port().to_string(),
        "--tls",
        "implicit",
        "--insecure",
    ])));
    assert!(ok, "{log}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn imap_list_fetch_flag_and_watch() {
    let server = start("mailctl-imap");
    server.deliver(&["alice@example.org"], b"Subject: first\r\n\r\none\r\n");
    server.deliver(&["alice@example.org"], b"Subject: second\r\n\r\ntwo\r\n");
    let imap = server.imap.port();
    let (ok, log) = run(login(&mut mailctl(
        &server,
        &["imap", "list"],
        imap,
        "starttls",
    )));
    assert!(ok, "{log}");
    assert!(log.lines().any(|l| l == "INBOX"), "{log}");

    let (ok, log) = run(login(&mut mailctl(
        &server,
        &["imap", "fetch", "--uid", "2"],
        server.imaps.port(),
        "implicit",
    )));
    assert!(ok, "{log}");
    assert_eq!(log, "Subject: second\r\n\r\ntwo\r\n");
    let dir = temp("imap");
    let out = dir.join("out");
    let (ok, log) = run(login(&mut mailctl(
        &server,
        &["imap", "fetch", "--out", out.to_str().unwrap()],
        imap,
        "starttls",
    )));
    assert!(ok, "{log}");
    assert_eq!(
        fs::read(out.join("1.eml")).unwrap(),
        b"Subject: first\r\n\r\none\r\n"
    );
    assert!(out.join("2.eml").exists());
    // Fetching peeks: nothing became \Seen.
    assert!(
        server
            .messages("alice", "INBOX")
            .iter()
            .all(|m| !m.flags.contains(sansmail_store::Flag::Seen))
    );

    let (ok, log) = run(login(&mut mailctl(
        &server,
        &[
            "imap",
            "flag",
            "--uid",
            "1",
            "--add",
            "\\Flagged",
            "--add",
            "\\Seen",
        ],
        imap,
        "starttls",
    )));
    assert!(ok, "{log}");
    assert!(log.contains("\\Flagged") && log.contains("\\Seen"), "{log}");
    let (ok, log) = run(login(&mut mailctl(
        &server,
        &["imap", "flag", "--uid", "1", "--remove", "\\Seen"],
        imap,
        "starttls",
    )));
    assert!(ok, "{log}");
    let first = &server.messages("alice", "INBOX")[0];
    assert!(first.flags.contains(sansmail_store::Flag::Flagged));
    assert!(!first.flags.contains(sansmail_store::Flag::Seen));

    // watch: two messages arrive while it idles; it prints them and exits.
    let mut watch = login(&mut mailctl(
        &server,
        &["imap", "watch", "--count", "2"],
        imap,
        "starttls",
    ))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = wait_for_idle(&mut watch);
    server.deliver(&["alice@example.org"], b"Subject: third\r\n\r\n3\r\n");
    std::thread::sleep(Duration::from_millis(300));
    server.deliver(&["alice@example.org"], b"Subject: fourth\r\n\r\n4\r\n");
    let out = wait_output(&mut watch, stdout, Duration::from_secs(30));
    assert!(out.contains("new UID 3: Subject: third"), "{out}");
    assert!(out.contains("new UID 4: Subject: fourth"), "{out}");
    let _ = fs::remove_dir_all(&dir);
}

/// Waits until `mailctl imap watch` says it idles (its first line), then returns a thread
/// collecting the rest of its output.
fn wait_for_idle(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(line.starts_with("watching "), "{line:?}");
    std::thread::spawn(move || {
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        rest
    })
}

/// The child's output (collected by `stdout`) and stderr once it exits; panics if it does
/// not in time or fails.
fn wait_output(
    child: &mut Child,
    stdout: std::thread::JoinHandle<String>,
    limit: Duration,
) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = stdout.join().unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert!(status.success(), "{out}");
            return out;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mailctl did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pop3_fetch_into_maildir_and_delete() {
    let server = start("mailctl-pop3");
    for i in 0..3 {
        server.deliver(
            &["alice@example.org"],
            format!("Subject: m{i}\r\n\r\nbody {i}\r\n").as_bytes(),
        );
    }
    let dir = temp("pop3");
    let keep = dir.join("keep");
    let (ok, log) = run(login(&mut mailctl(
        &server,
        &["pop3", "fetch", "--maildir", keep.to_str().unwrap()],
        server.pop3.port(),
        "starttls",
    )));
    assert!(ok, "{log}");
    assert!(log.contains("3 messages saved, 0 deleted"), "{log}");
    assert_eq!(maildir_count(&keep), 3);
    assert_eq!(server.messages("alice", "INBOX").len(), 3);

    let gone = dir.join("gone");
    let (ok, log) = run(login(&mut mailctl(
        &server,
        &[
            "pop3",
            "fetch",
            "--maildir",
            gone.to_str().unwrap(),
            "--delete",
        ],
        server.pop3s.port(),
        "implicit",
    )));
    assert!(ok, "{log}");
    assert!(log.contains("3 messages saved, 3 deleted"), "{log}");
    assert_eq!(maildir_count(&gone), 3);
    assert!(server.messages("alice", "INBOX").is_empty());
    let mut bodies: Vec<Vec<u8>> = fs::read_dir(gone.join("new"))
        .unwrap()
        .map(|e| fs::read(e.unwrap().path()).unwrap())
        .collect();
    bodies.sort();
    assert_eq!(bodies[0], b"Subject: m0\r\n\r\nbody 0\r\n");
    let _ = fs::remove_dir_all(&dir);
}

// ---- Dovecot ----

impl Dovecot {
    /// `mailctl` against Dovecot's IMAP or POP3 listener.
    fn mailctl(&self, args: &[&str], imap: bool) -> Command {
        let port = if imap { self.imap } else { self.pop3 };
        let mut cmd = Command::new(MAILCTL);
        cmd.args(args).args([
            "--port",
            &port.to_string(),
            "--tls",
            "none",
            "--user",
            "alice",
            "--password",
            "secret",
            "--timeout",
            "20",
        ]);
        cmd
    }
}

#[test]
fn dovecot_imap() {
    let dovecot = Dovecot::start(
        "dovecot-imap",
        &[
            b"Subject: one\r\n\r\nfirst\r\n",
            b"Subject: two\r\n\r\nsecond\r\n",
        ],
    );
    let (ok, log) = run(&mut dovecot.mailctl(&["imap", "list"], true));
    assert!(ok, "{log}\n{}", dovecot.log());
    assert!(log.lines().any(|l| l == "INBOX"), "{log}");
    let (ok, log) = run(&mut dovecot.mailctl(&["imap", "fetch"], true));
    assert!(ok, "{log}\n{}", dovecot.log());
    assert!(
        log.contains("Subject: one") && log.contains("Subject: two"),
        "{log}"
    );
    assert_eq!(log.matches("From mailctl").count(), 2, "{log}");
    let (ok, log) =
        run(&mut dovecot.mailctl(&["imap", "flag", "--uid", "1", "--add", "\\Flagged"], true));
    assert!(ok, "{log}\n{}", dovecot.log());
    assert!(log.contains("\\Flagged"), "{log}");
    let (ok, log) = run(&mut dovecot.mailctl(&["imap", "fetch", "--uid", "2"], true));
    assert!(ok, "{log}");
    assert_eq!(log, "Subject: two\r\n\r\nsecond\r\n");

    // watch: a message Dovecot's IDLE notices (a new file in the Maildir).
    let mut watch = dovecot
        .mailctl(&["imap", "watch", "--count", "1"], true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = wait_for_idle(&mut watch);
    let maildir = dovecot.mail_root.join("alice/Maildir");
    let path =
        examples::mailctl::maildir_deliver(&maildir, b"Subject: three\r\n\r\n3\r\n").unwrap();
    let _ = Command::new("chown")
        .arg("dovecot:dovecot")
        .arg(&path)
        .status();
    let out = wait_output(&mut watch, stdout, Duration::from_secs(30));
    assert!(out.contains("new UID 3: Subject: three"), "{out}");
}

#[test]
fn dovecot_pop3() {
    let dovecot = Dovecot::start(
        "dovecot-pop3",
        &[
            b"Subject: one\r\n\r\nfirst\r\n",
            b"Subject: two\r\n\r\nsecond\r\n",
        ],
    );
    let out = dovecot.dir.join("fetched");
    let (ok, log) = run(&mut dovecot.mailctl(
        &[
            "pop3",
            "fetch",
            "--maildir",
            out.to_str().unwrap(),
            "--delete",
        ],
        false,
    ));
    assert!(ok, "{log}\n{}", dovecot.log());
    assert!(log.contains("2 messages saved, 2 deleted"), "{log}");
    assert_eq!(maildir_count(&out), 2);
    // Gone from Dovecot: a second fetch finds nothing.
    let again = dovecot.dir.join("again");
    let (ok, log) = run(&mut dovecot.mailctl(
        &["pop3", "fetch", "--maildir", again.to_str().unwrap()],
        false,
    ));
    assert!(ok, "{log}\n{}", dovecot.log());
    assert!(log.contains("0 messages saved"), "{log}");
}
