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

use examples::server::{self, Options, Store};
use sansmail_server::passwd_file::Directory;
use sansmail_store::{
    AccountName, FetchQuery, FetchedMessage, MailStore, Recipient, Session, UidSet, model::Content,
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
        senders: HashMap::new(),
    }
}

/// An authenticator for the users of [`directory`], with the default throttle.
#[allow(dead_code)]
pub fn authenticator() -> std::sync::Arc<sansmail_server::auth::Authenticator> {
    std::sync::Arc::new(sansmail_server::auth::Authenticator::new(
        std::sync::Arc::new(directory()),
        sansmail_server::auth::ThrottleConfig::default(),
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

    /// Delivers `raw` to the local users `to` names (`alice@example.org`) through the store,
    /// byte for byte, as the SMTP listener does but without its trace fields: the IMAP and
    /// POP3 tests see exactly what they put in. SMTP's own path is `smtp_interop`'s.
    pub fn deliver(&self, to: &[&str], raw: &[u8]) {
        let recipients: Vec<Recipient> = to
            .iter()
            .map(|t| {
                let user = t.split('@').next().unwrap().to_lowercase();
                Recipient::inbox(AccountName::try_from(user.as_str()).unwrap())
            })
            .collect();
        let mut upload = self.store.upload();
        upload.write(raw).unwrap();
        for r in self
            .runtime
            .block_on(self.store.deliver(upload, &recipients))
        {
            r.unwrap();
        }
    }
}

/// The message as the client sent it: the trace fields the server prepends at delivery
/// (`Return-Path:`, then `Received:` with its continuation lines; RFC 5321 §4.4), checked to
/// be there and removed.
#[allow(dead_code)]
pub fn strip_trace(stored: &[u8]) -> &[u8] {
    let line_end = |b: &[u8]| b.windows(2).position(|w| w == b"\r\n").map(|p| p + 2);
    assert!(
        stored.starts_with(b"Return-Path: <"),
        "no Return-Path: {:?}",
        String::from_utf8_lossy(stored)
    );
    let mut rest = &stored[line_end(stored).unwrap()..];
    assert!(
        rest.starts_with(b"Received: from "),
        "no Received: {:?}",
        String::from_utf8_lossy(stored)
    );
    rest = &rest[line_end(rest).unwrap()..];
    while rest.starts_with(b"\t") || rest.starts_with(b" ") {
        rest = &rest[line_end(rest).unwrap()..];
    }
    rest
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

    /// Sends octets as they are (a literal's data).
    pub fn send_bytes(&mut self, data: &[u8]) {
        self.writer.write_all(data).unwrap();
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
