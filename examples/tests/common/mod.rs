//! The mail server started in-process on port 0 for the interop tests, and helpers to run
//! the real clients against it. A missing client fails the test: `.ci/run` installs them.
#![allow(dead_code)]

pub mod dovecot;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::Command,
    sync::Arc,
    time::Duration,
};

use examples::{
    accounts::Directory,
    server::Store,
    server::{self, Options},
};
use mail_store::{
    AccountName, FetchQuery, FetchedMessage, MailStore, Session, UidSet, model::Content,
};

pub struct TestServer {
    pub smtp: SocketAddr,
    pub smtps: SocketAddr,
    pub submission: SocketAddr,
    pub imap: SocketAddr,
    pub imaps: SocketAddr,
    pub pop3: SocketAddr,
    pub pop3s: SocketAddr,
    /// LMTP, if the options asked for it (`options.lmtp`).
    pub lmtp: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub store: Arc<Store>,
    pub runtime: tokio::runtime::Runtime,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Users alice:secret and bob:hunter2 at example.org.
pub fn directory() -> Directory {
    Directory {
        domains: vec!["example.org".into()],
        users: HashMap::from([
            ("alice".into(), "secret".into()),
            ("bob".into(), "hunter2".into()),
        ]),
        postmaster: "alice".into(),
    }
}

/// An authenticator for the users of [`directory`], with the default throttle.
#[allow(dead_code)]
pub fn authenticator() -> std::sync::Arc<mail_server::auth::Authenticator> {
    std::sync::Arc::new(mail_server::auth::Authenticator::new(
        std::sync::Arc::new(directory()),
        mail_server::auth::ThrottleConfig::default(),
    ))
}

/// Starts every listener (SMTP, SMTPS, submission, IMAP, IMAPS, POP3, POP3S) on one fresh
/// store, for the users of [`directory`], with a self-signed certificate.
pub fn start(name: &str) -> TestServer {
    start_with(name, |_| {})
}

/// [`start`], with the options changed by `adjust` first.
pub fn start_with(name: &str, adjust: impl FnOnce(&mut Options)) -> TestServer {
    let data_dir = std::env::temp_dir().join(format!("mailserver-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let any = || Some("127.0.0.1:0".parse().unwrap());
    let mut options = Options::new(data_dir.clone(), "mail.example.org", directory());
    options.smtp = any();
    options.smtps = any();
    options.submission = any();
    options.imap = any();
    options.imaps = any();
    options.pop3 = any();
    options.pop3s = any();
    adjust(&mut options);
    let running = runtime.block_on(server::start(options)).unwrap();
    TestServer {
        smtp: running.smtp.unwrap(),
        smtps: running.smtps.unwrap(),
        submission: running.submission.unwrap(),
        imap: running.imap.unwrap(),
        imaps: running.imaps.unwrap(),
        pop3: running.pop3.unwrap(),
        pop3s: running.pop3s.unwrap(),
        lmtp: running.lmtp,
        data_dir,
        store: running.store,
        runtime,
    }
}

impl TestServer {
    /// `user`'s messages in `mailbox`, with their octets, read through the store.
    pub fn messages(&self, user: &str, mailbox: &str) -> Vec<FetchedMessage> {
        let session = Session::new(AccountName::try_from(user).unwrap());
        let query = FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        self.runtime
            .block_on(self.store.fetch(&session, mailbox, &UidSet::all(), query))
            .unwrap()
    }

    /// Delivers `raw` to `to` over SMTP with Python's smtplib (byte for byte).
    pub fn deliver(&self, to: &[&str], raw: &[u8]) {
        let script = r#"
import smtplib, sys
raw = sys.stdin.buffer.read()
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
refused = s.sendmail("sender@remote.example", sys.argv[2:], raw)
assert not refused, refused
s.quit()
"#;
        let port = self.smtp.port().to_string();
        let mut args = vec!["-c", script, &port];
        args.extend_from_slice(to);
        let (ok, log) = run_with_input(Command::new("python3").args(&args), raw);
        assert!(ok, "smtplib failed:\n{log}");
    }
}

/// Runs a command; its success and what it printed (stdout, then stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    run_with_input(cmd, b"")
}

/// Runs a command with `input` on stdin.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> (bool, String) {
    let (ok, out, err) = run_bytes(cmd, input);
    (
        ok,
        format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        ),
    )
}

/// Runs a command with `input` on stdin; its success, stdout and stderr as bytes.
pub fn run_bytes(cmd: &mut Command, input: &[u8]) -> (bool, Vec<u8>, Vec<u8>) {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {cmd:?} (is it installed? .ci/run installs it): {e}")
        });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (out.status.success(), out.stdout, out.stderr)
}

/// Runs a Python script with arguments; panics with its output if it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let (ok, log) = run(Command::new("python3").arg("-c").arg(script).args(args));
    assert!(ok, "python failed:\n{log}");
    log
}

/// A line-oriented client over a raw socket, for what no installed client does (IDLE).
pub struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut raw = Self {
            reader: BufReader::new(stream),
            writer,
        };
        raw.line();
        raw
    }

    /// Whether the server closed the connection (no more lines).
    pub fn closed(&mut self) -> bool {
        let mut s = String::new();
        matches!(self.reader.read_line(&mut s), Ok(0))
    }

    /// The next line, without CRLF; panics on timeout or end of stream.
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        let n = self.reader.read_line(&mut s).unwrap();
        assert!(n > 0, "connection closed");
        s.trim_end_matches(['\r', '\n']).to_owned()
    }

    pub fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\r\n").unwrap();
    }

    /// Lines up to and including the first that starts with `prefix`.
    pub fn until(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            let done = l.starts_with(prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// Sends a tagged command and returns its responses, the tagged one last; asserts OK.
    pub fn command(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.send(&format!("{tag} {command}"));
        let lines = self.until(&format!("{tag} "));
        let last = lines.last().unwrap();
        assert!(
            last.starts_with(&format!("{tag} OK")),
            "{command}: {lines:?}"
        );
        lines
    }
}
