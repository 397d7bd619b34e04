//! `mailserver` processes on one PostgreSQL database (`--store postgres://...`) or on a
//! Maildir, `mailctl`, and line clients for SMTP, IMAP and POP3. The database is a fresh one per test on the
//! cluster `SANSMAIL_TEST_POSTGRES` names (`. .ci/postgres.sh` starts one; CI does).
#![allow(dead_code)]

use std::{
    io::{self, BufRead, BufReader, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The cluster's URL, or a failure that says how to start one.
pub fn cluster_url() -> String {
    std::env::var("SANSMAIL_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "SANSMAIL_TEST_POSTGRES is not set: start a private PostgreSQL cluster with \
             `. .ci/postgres.sh` (from the workspace root) and run the tests from that shell"
        )
    })
}

/// Runs SQL on the cluster's `postgres` database with psql; its output.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-Atqc", sql])
        .output()
        .expect("psql (Debian's postgresql-client) runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A fresh database, dropped when this is.
pub struct Database {
    admin: String,
    name: String,
    pub url: String,
}

impl Database {
    pub fn new(tag: &str) -> Self {
        let admin = cluster_url();
        let name = format!(
            "mn_{tag}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                % 1_000_000
        );
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Self { admin, name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin.as_str(),
                "-Atqc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("mn-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `mailserver` process.
pub struct Node {
    pub child: Child,
    pub smtp: SocketAddr,
    pub imap: SocketAddr,
    pub pop3: SocketAddr,
    pub log: PathBuf,
}

impl Node {
    /// Starts a node on `url` (a `postgres://` URL, or `maildir` for the Maildir under
    /// `dir`) with its own data folder (uploads spool there) and waits until it listens.
    /// `ports` reuses the addresses of a node that was killed.
    pub fn start(
        url: &str,
        dir: &Path,
        ports: Option<(SocketAddr, SocketAddr, SocketAddr)>,
    ) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join("log");
        let stderr = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let (s, i, p) = ports.map_or_else(
            || {
                (
                    "127.0.0.1:0".into(),
                    "127.0.0.1:0".into(),
                    "127.0.0.1:0".into(),
                )
            },
            |(s, i, p)| (s.to_string(), i.to_string(), p.to_string()),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailserver"))
            .args(["--smtp", &s, "--imap", &i, "--pop3", &p])
            .args(["--submission", "none", "--smtps", "none", "--imaps", "none"])
            .args([
                "--pop3s",
                "none",
                "--log",
                "warn",
                "--domain",
                "example.org",
            ])
            .args(["--user", "alice:secret", "--user", "bob:secret"])
            .arg("--data-dir")
            .arg(dir)
            .args(["--store", url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let (mut smtp, mut imap, mut pop3) = (None, None, None);
        let deadline = Instant::now() + TIMEOUT;
        while smtp.is_none() || imap.is_none() || pop3.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "mailserver did not start; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            let addr = |l: &str, p: &str| l.strip_prefix(p).map(|a| a.trim().parse().unwrap());
            smtp = smtp.or_else(|| addr(&line, "smtp listening on "));
            imap = imap.or_else(|| addr(&line, "imap listening on "));
            pop3 = pop3.or_else(|| addr(&line, "pop3 listening on "));
        }
        Self {
            child,
            smtp: smtp.unwrap(),
            imap: imap.unwrap(),
            pop3: pop3.unwrap(),
            log,
        }
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn ports(&self) -> (SocketAddr, SocketAddr, SocketAddr) {
        (self.smtp, self.imap, self.pop3)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A line-oriented connection that also reads IMAP literals.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let writer = stream.try_clone()?;
        let mut c = Self {
            reader: BufReader::new(stream),
            writer,
            tag: 0,
        };
        c.line()?;
        Ok(c)
    }

    pub fn set_timeout(&self, t: Duration) {
        let _ = self.writer.set_read_timeout(Some(t));
    }

    pub fn line(&mut self) -> io::Result<String> {
        let mut v = Vec::new();
        if self.reader.read_until(b'\n', &mut v)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
        }
        let mut s = String::from_utf8_lossy(&v).into_owned();
        // An IMAP literal: its octets, then the rest of the line.
        while let Some(n) = s
            .trim_end()
            .strip_suffix('}')
            .and_then(|x| x.rsplit_once('{'))
            .and_then(|(_, n)| n.parse::<usize>().ok())
        {
            let mut lit = vec![0; n];
            io::Read::read_exact(&mut self.reader, &mut lit)?;
            s.push_str(&String::from_utf8_lossy(&lit));
            let mut rest = Vec::new();
            self.reader.read_until(b'\n', &mut rest)?;
            s.push_str(&String::from_utf8_lossy(&rest));
        }
        Ok(s.trim_end_matches(['\r', '\n']).to_owned())
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    pub fn send_line(&mut self, line: &str) -> io::Result<()> {
        self.send(format!("{line}\r\n").as_bytes())
    }

    /// An IMAP command: the untagged lines, and the tagged status line.
    pub fn imap(&mut self, command: &str) -> io::Result<(Vec<String>, String)> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.send_line(&format!("{tag} {command}"))?;
        let mut untagged = Vec::new();
        loop {
            let l = self.line()?;
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                return Ok((untagged, rest.to_owned()));
            }
            untagged.push(l);
        }
    }

    /// IMAP APPEND of `msg` with a LITERAL+ literal.
    pub fn append(&mut self, mailbox: &str, flags: &str, msg: &[u8]) -> io::Result<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let mut cmd =
            format!("{tag} APPEND {mailbox} ({flags}) {{{}+}}\r\n", msg.len()).into_bytes();
        cmd.extend_from_slice(msg);
        cmd.extend_from_slice(b"\r\n");
        self.send(&cmd)?;
        loop {
            let l = self.line()?;
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                return Ok(rest.to_owned());
            }
        }
    }

    pub fn login(addr: SocketAddr, user: &str) -> io::Result<Self> {
        let mut c = Self::connect(addr)?;
        let (_, ok) = c.imap(&format!("LOGIN {user} secret"))?;
        assert!(ok.starts_with("OK"), "LOGIN: {ok}");
        Ok(c)
    }

    /// SMTP: one reply (the last line of a multi-line one).
    pub fn smtp_reply(&mut self) -> io::Result<String> {
        loop {
            let l = self.line()?;
            if l.as_bytes().get(3) != Some(&b'-') {
                return Ok(l);
            }
        }
    }
}

/// Delivers `msg` to `rcpt` over SMTP; the final reply.
pub fn smtp_send(addr: SocketAddr, rcpt: &str, msg: &[u8]) -> io::Result<String> {
    let mut c = Conn::connect(addr)?;
    for cmd in [
        "EHLO client.test".to_owned(),
        "MAIL FROM:<sender@remote.example>".to_owned(),
        format!("RCPT TO:<{rcpt}>"),
        "DATA".to_owned(),
    ] {
        c.send_line(&cmd)?;
        let r = c.smtp_reply()?;
        if !(r.starts_with('2') || r.starts_with('3')) {
            return Ok(r);
        }
    }
    let mut data = msg.to_vec();
    data.extend_from_slice(b".\r\n");
    c.send(&data)?;
    let r = c.smtp_reply()?;
    let _ = c.send_line("QUIT");
    Ok(r)
}

/// The number after `key` in a response line (`[APPENDUID 7 12]` with key `APPENDUID 7 `).
pub fn number_after(text: &str, key: &str) -> Option<u32> {
    let i = text.find(key)? + key.len();
    text[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// APPENDUID's UID.
pub fn append_uid(text: &str) -> Option<u32> {
    let i = text.find("[APPENDUID ")? + "[APPENDUID ".len();
    let rest = &text[i..];
    let sp = rest.find(' ')?;
    number_after(&rest[sp..], " ")
}

/// Runs `mailctl ARGS`: its exit status and what it printed (both streams).
pub fn mailctl(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailctl"))
        .args(args)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}
