//! The fault suite's harness: a tmpfs of its own, the `mailserver` process on it, plain
//! protocol connections, and what IMAP shows of a mailbox. (`fault_suite.rs` and
//! `full_disk.rs` each use part of it.)
#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs::File,
    io::{self, BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

pub const USERS: [(&str, &str); 2] = [("alice", "secret"), ("bob", "hunter2")];
const TIMEOUT: Duration = Duration::from_secs(30);

/// splitmix64: small, seedable, good enough to pick faults.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `0..n`.
    pub fn index(&mut self, n: usize) -> usize {
        usize::try_from(self.below(n as u64)).unwrap()
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }
}

/// A tmpfs of the test's own, unmounted when dropped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` octets on `dir`; fails the test, saying why, when it cannot
    /// (a tmpfs needs root, which `.ci/run` has).
    pub fn mount(dir: &Path, size: u64) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Tmpfs(dir.to_owned()),
            Ok(o) => panic!(
                "the fault suite needs a small file system of its own and could not mount a \
                 tmpfs on {} (it must run as root, as .ci/run does): {}",
                dir.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!("the fault suite needs `mount` (and root) for a tmpfs: {e}"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    fn filler(&self) -> PathBuf {
        self.0.join("filler")
    }

    /// Fills the file system to the last byte, then frees `free` octets of it again.
    pub fn fill_leaving(&self, free: u64) {
        let mut f = File::options()
            .create(true)
            .append(true)
            .open(self.filler())
            .unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0x5a; chunk];
            loop {
                match f.write(&buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::StorageFull => break,
                    Err(e) => panic!("filling the tmpfs: {e}"),
                }
            }
        }
        let len = f.metadata().unwrap().len();
        f.set_len(len.saturating_sub(free)).unwrap();
    }

    /// Removes the filler.
    pub fn unfill(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A line-oriented connection that also reads IMAP literals.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        // A literal's octets and the next line are two small writes: no Nagle delay.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let writer = stream.try_clone()?;
        Ok(Self {
            reader: BufReader::new(stream),
            writer,
        })
    }

    pub fn line(&mut self) -> io::Result<String> {
        let mut v = Vec::new();
        if self.reader.read_until(b'\n', &mut v)? == 0 || !v.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        Ok(String::from_utf8_lossy(&v)
            .trim_end_matches(['\r', '\n'])
            .to_owned())
    }

    pub fn send(&mut self, line: &str) -> io::Result<()> {
        self.write(format!("{line}\r\n").as_bytes())
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// SMTP: the last line of one reply.
    pub fn smtp_reply(&mut self) -> io::Result<String> {
        loop {
            let l = self.line()?;
            if l.as_bytes().get(3) != Some(&b'-') {
                return Ok(l);
            }
        }
    }

    /// IMAP: one response, its literals taken out.
    pub fn imap_response(&mut self) -> io::Result<(String, Vec<Vec<u8>>)> {
        let mut text = String::new();
        let mut literals = Vec::new();
        loop {
            let l = self.line()?;
            text.push_str(&l);
            let Some(n) = l
                .strip_suffix('}')
                .and_then(|s| s.rsplit_once('{'))
                .and_then(|(_, n)| n.trim_end_matches('+').parse::<usize>().ok())
            else {
                return Ok((text, literals));
            };
            let mut lit = vec![0; n];
            self.reader.read_exact(&mut lit)?;
            literals.push(lit);
        }
    }

    /// IMAP: responses up to the tagged one, which comes last.
    pub fn imap_until(&mut self, tag: &str) -> io::Result<Vec<(String, Vec<Vec<u8>>)>> {
        let prefix = format!("{tag} ");
        let mut out = Vec::new();
        loop {
            let r = self.imap_response()?;
            let done = r.0.starts_with(&prefix);
            out.push(r);
            if done {
                return Ok(out);
            }
        }
    }

    pub fn imap(&mut self, tag: &str, command: &str) -> io::Result<Vec<(String, Vec<Vec<u8>>)>> {
        self.send(&format!("{tag} {command}"))?;
        self.imap_until(tag)
    }

    /// A command that must succeed.
    pub fn imap_ok(&mut self, tag: &str, command: &str) -> Vec<(String, Vec<Vec<u8>>)> {
        let r = self
            .imap(tag, command)
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        let last = &r.last().unwrap().0;
        assert!(
            last.starts_with(&format!("{tag} OK")),
            "{command} answered {last}"
        );
        r
    }

    /// An IMAP connection, logged in.
    pub fn imap_login(addr: SocketAddr, user: &str) -> io::Result<Self> {
        let mut c = Self::connect(addr)?;
        c.line()?;
        let r = c.imap("l", &format!("LOGIN {user} {}", password(user)))?;
        if !r.last().is_some_and(|r| r.0.starts_with("l OK")) {
            return Err(io::Error::other(format!("LOGIN answered {r:?}")));
        }
        Ok(c)
    }
}

pub fn password(user: &str) -> &'static str {
    USERS.iter().find(|(u, _)| *u == user).unwrap().1
}

/// A message with a unique Message-ID and a body of `size` octets or so.
pub fn message(id: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "Message-ID: <{id}>\r\nFrom: <faults@remote.example>\r\nTo: <alice@example.org>\r\n\
         Subject: fault suite {id}\r\n\r\n"
    );
    let mut i = 0;
    while m.len() < size {
        let _ = write!(m, "{i:06} {id} lorem ipsum dolor sit amet\r\n");
        i += 1;
    }
    m.push_str("END\r\n");
    m.into_bytes()
}

/// SMTP dot-stuffing and the final `.` line.
pub fn dot_stuffed(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 8);
    for line in msg.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The number after `key` in `text`.
pub fn number_after(text: &str, key: &str) -> Option<u32> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A mailbox as IMAP shows it: UID → (Message-ID, flags without `\Recent`, sorted).
pub type View = BTreeMap<u32, (String, Vec<String>)>;

/// What IMAP shows of `mailbox` (EXAMINE: nothing is written, also on a full disk).
pub fn view(imap: SocketAddr, user: &str, mailbox: &str) -> io::Result<View> {
    let mut c = Conn::imap_login(imap, user)?;
    let r = c.imap("e", &format!("EXAMINE {mailbox}"))?;
    if !r.last().is_some_and(|r| r.0.starts_with("e OK")) {
        return Err(io::Error::other(format!("EXAMINE {mailbox}: {r:?}")));
    }
    let r = c.imap(
        "f",
        "UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
    )?;
    let (tagged, untagged) = r.split_last().unwrap();
    if !tagged.0.starts_with("f OK") {
        return Err(io::Error::other(format!("FETCH: {}", tagged.0)));
    }
    let mut out = View::new();
    for (text, lits) in untagged {
        if !text.contains(" FETCH (") {
            continue;
        }
        let uid = number_after(text, "UID ").ok_or_else(|| io::Error::other(text.clone()))?;
        let flags = text
            .find("FLAGS (")
            .map(|at| &text[at + 7..])
            .and_then(|rest| rest.split_once(')'))
            .map(|(f, _)| f)
            .unwrap_or_default();
        let mut flags: Vec<String> = flags
            .split_whitespace()
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .map(str::to_owned)
            .collect();
        flags.sort();
        let header = lits
            .first()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default();
        let id = header
            .split_once('<')
            .and_then(|(_, r)| r.split_once('>'))
            .map(|(id, _)| id.to_owned())
            .unwrap_or_default();
        out.insert(uid, (id, flags));
    }
    let _ = c.imap("z", "LOGOUT");
    Ok(out)
}

/// The `mailserver` process (SIGKILLed when dropped).
pub struct Server {
    pub child: Child,
    pub smtp: SocketAddr,
    pub imap: SocketAddr,
    pub pop3: SocketAddr,
}

impl Server {
    /// Starts the server on `data_dir` and waits until it listens (the store is open then).
    /// `Err` with the log's tail if it does not.
    pub fn start(data_dir: &Path, log: &Path, journal_reserve: u64) -> Result<Self, String> {
        let any = "127.0.0.1:0";
        let stderr = File::options().create(true).append(true).open(log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailserver"));
        cmd.args(["--smtp", any, "--imap", any, "--pop3", any])
            .args(["--submission", "none", "--smtps", "none", "--imaps", "none"])
            .args([
                "--pop3s",
                "none",
                "--log",
                "warn",
                "--domain",
                "example.org",
            ])
            .args(["--journal-reserve", &journal_reserve.to_string()]);
        for (u, p) in USERS {
            cmd.args(["--user", &format!("{u}:{p}")]);
        }
        let mut child = cmd
            .arg("--data-dir")
            .arg(data_dir)
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
                let status = child.wait();
                return Err(format!(
                    "the server did not start on {} ({status:?}); its log:\n{}",
                    data_dir.display(),
                    log_tail(log)
                ));
            };
            let addr = |p: &str| line.strip_prefix(p).and_then(|a| a.trim().parse().ok());
            smtp = smtp.or_else(|| addr("smtp listening on "));
            imap = imap.or_else(|| addr("imap listening on "));
            pop3 = pop3.or_else(|| addr("pop3 listening on "));
        }
        Ok(Server {
            child,
            smtp: smtp.unwrap(),
            imap: imap.unwrap(),
            pop3: pop3.unwrap(),
        })
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Files a write of ours leaves while it runs (in `tmp/`, the spool, `mailstore-*.tmp`):
/// none may stay after a restart.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name == "tmp" || name == ".spool" {
                out.extend(
                    std::fs::read_dir(&path)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path()),
                );
            } else if name != "tls" {
                out.extend(leftovers(&path));
            }
        } else if name.starts_with("mailstore-")
            && Path::new(&name).extension().is_some_and(|e| e == "tmp")
        {
            out.push(path);
        }
    }
    out
}
