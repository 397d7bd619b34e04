//! Crash safety (issue #8): the real `mailserver` binary is flooded with SMTP deliveries and
//! IMAP APPENDs from several threads at once, killed with SIGKILL at a random moment,
//! restarted on the same data directory and checked. Every round (start, flood, kill,
//! restart, verify) works on the same data directory, so the store accumulates crashes:
//!
//! - the server starts again and opens the store (also when it is killed again during that
//!   recovery, which some rounds do);
//! - every acknowledged message (SMTP `250` after DATA, IMAP tagged `OK` for APPEND) is
//!   present exactly once in each mailbox it went to, and under the UID APPENDUID named;
//! - a message not acknowledged is present at most once, and whole: octet for octet what
//!   was sent (its last line is a known trailer, its RFC822.SIZE the size sent);
//! - nothing appears that was not sent to that mailbox;
//! - UIDs are unique and strictly increasing in every mailbox, UIDVALIDITY never changes,
//!   a message seen once keeps its UID in every later round, and messages that arrive after
//!   a restart get UIDs above every UID before it; UIDNEXT is above the highest UID;
//! - flags changed during the flood (a client keeps storing flags in bob's INBOX while mail
//!   arrives there) change nothing of the above; the scratch messages that client appends
//!   and expunges again stay gone once the expunge was acknowledged (and may be gone if it
//!   was only asked for);
//! - at the end, the store opened directly (`MaildirStore`, no server) holds exactly what
//!   IMAP showed, octet for octet;
//! - after each restart nothing is left in `tmp/` folders or the spool.
//!
//! Rounds: `CRASH_SAFETY_ROUNDS` (default 3). Random choices (kill delay, message sizes,
//! recipients, flags) come from a seed printed at the start; `CRASH_SAFETY_SEED` replays it
//! (thread timing still differs). For a long run:
//!
//! ```text
//! CRASH_SAFETY_ROUNDS=50 cargo test -p examples --test crash_safety -- --nocapture
//! ```
//!
//! What this cannot show: SIGKILL ends the process but keeps the kernel's page cache, so a
//! missing fsync goes unnoticed here (that needs a power cut). It shows that nothing is
//! acknowledged before it is in the message files and the journal, and that recovery from
//! any point of a write (tmp file, rename, journal line, snapshot rewrite) is clean.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write as _,
    fs::File,
    io::{self, BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

/// A mailbox: (user, mailbox name).
type Mbox = (&'static str, &'static str);

const USERS: [(&str, &str); 2] = [("alice", "secret"), ("bob", "hunter2")];
const MAILBOXES: [Mbox; 3] = [("alice", "INBOX"), ("alice", "Crash"), ("bob", "INBOX")];
const SMTP_THREADS: usize = 3;
const IMAP_THREADS: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(60);

fn password(user: &str) -> &'static str {
    USERS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, p)| *p)
        .unwrap()
}

/// splitmix64: small, seedable, good enough to pick delays and sizes.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

/// FNV-1a, to compare contents without keeping every message in memory.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A message with a unique Message-ID, a body of random length (over 1 MiB when `large`, so
/// the server spools it to a file) and a trailer line naming it.
fn message(id: &str, to: &str, rng: &mut Rng, large: bool) -> Vec<u8> {
    let mut m = format!(
        "Message-ID: <{id}>\r\nFrom: <flood@remote.example>\r\nTo: <{to}>\r\n\
         Subject: crash safety {id}\r\n\r\n"
    );
    let lines = if large { 20_000 } else { 1 + rng.below(80) };
    for i in 0..lines {
        let fill = usize::try_from(rng.below(60)).unwrap();
        let _ = write!(m, "{i:05} {id} {}\r\n", "x".repeat(fill));
    }
    let _ = write!(m, "END-OF-MESSAGE {id}\r\n");
    m.into_bytes()
}

/// A stored message without the trace fields SMTP delivery prepends (`Return-Path:`,
/// `Received:` and its continuation lines): what the client sent. APPENDed messages have none.
fn as_sent(stored: &[u8]) -> &[u8] {
    if !stored.starts_with(b"Return-Path: <") {
        return stored;
    }
    let mut rest = stored;
    let mut lines = 0;
    while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
        let is_trace = lines == 0
            || (lines == 1 && rest.starts_with(b"Received: "))
            || rest.starts_with(b"\t");
        if !is_trace {
            break;
        }
        rest = &rest[end + 2..];
        lines += 1;
    }
    rest
}

/// SMTP dot-stuffing and the final `.` line.
fn dot_stuffed(msg: &[u8]) -> Vec<u8> {
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

/// A line-oriented connection that also reads IMAP literals.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let writer = stream.try_clone()?;
        Ok(Self {
            reader: BufReader::new(stream),
            writer,
        })
    }

    fn raw_line(&mut self) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        if self.reader.read_until(b'\n', &mut v)? == 0 || !v.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        Ok(v)
    }

    fn line(&mut self) -> io::Result<String> {
        let v = self.raw_line()?;
        Ok(String::from_utf8_lossy(&v)
            .trim_end_matches(['\r', '\n'])
            .to_owned())
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        let mut v = line.as_bytes().to_vec();
        v.extend_from_slice(b"\r\n");
        self.writer.write_all(&v)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// SMTP: the lines of one (possibly multi-line) reply; the last is `NNN text`.
    fn smtp_reply(&mut self) -> io::Result<String> {
        loop {
            let l = self.line()?;
            if l.as_bytes().get(3) != Some(&b'-') {
                return Ok(l);
            }
        }
    }

    /// IMAP: one response, its literals taken out (`{N}` stays in the text).
    fn imap_response(&mut self) -> io::Result<(String, Vec<Vec<u8>>)> {
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

    /// IMAP: responses up to the tagged one, which is returned last.
    fn imap_command(
        &mut self,
        tag: &str,
        command: &str,
    ) -> io::Result<Vec<(String, Vec<Vec<u8>>)>> {
        self.send(&format!("{tag} {command}"))?;
        self.imap_until(tag)
    }

    fn imap_until(&mut self, tag: &str) -> io::Result<Vec<(String, Vec<Vec<u8>>)>> {
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
}

/// The number after `key` in `text` (`UID 17`, `[UIDNEXT 18]`).
fn number_after(text: &str, key: &str) -> Option<u32> {
    let at = text.find(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The (UIDVALIDITY, UID) of an `[APPENDUID v u]` response code.
fn append_uid(text: &str) -> Option<(u32, u32)> {
    let at = text.find("[APPENDUID ")?;
    let mut parts = text[at + 11..].split([' ', ']']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// APPENDUID's (UIDVALIDITY, UID); `None` for SMTP.
type AppendUid = Option<(u32, u32)>;

/// What one flood records: everything sent (before it was sent) and every acknowledgement.
#[derive(Default)]
struct FloodLog {
    /// id → where it went, length and hash.
    sent: Vec<(String, Vec<Mbox>, usize, u64)>,
    /// (mailbox, id, APPENDUID's (uidvalidity, uid)).
    acks: Vec<(Mbox, String, AppendUid)>,
    smtp_acked: usize,
    imap_acked: usize,
    large_acked: usize,
    /// Expunges asked for (the kill may come before their answer): (mailbox, id).
    expunge_tried: Vec<(Mbox, String)>,
    /// Acknowledged expunges: (mailbox, id).
    expunged: Vec<(Mbox, String)>,
    /// Acknowledged UID STOREs.
    stores: usize,
    /// Negative answers, and connection errors before the kill: neither should happen.
    problems: Vec<String>,
}

struct Flood {
    round: usize,
    killed: AtomicBool,
    log: Mutex<FloodLog>,
}

impl Flood {
    fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    fn sent(&self, id: &str, to: Vec<Mbox>, msg: &[u8]) {
        let mut log = self.log.lock().unwrap();
        log.sent.push((id.to_owned(), to, msg.len(), fnv(msg)));
    }

    fn problem(&self, what: String) {
        self.log.lock().unwrap().problems.push(what);
    }

    /// Runs client sessions until the server is killed (or too many failures before that).
    fn run(&self, mut session: impl FnMut() -> io::Result<()>, who: &str) {
        let mut failures = 0;
        loop {
            match session() {
                Ok(()) if !self.killed() && self.log.lock().unwrap().problems.len() < 10 => {}
                Ok(()) => return,
                Err(_) if self.killed() => return,
                Err(e) => {
                    self.problem(format!("{who}: error before the kill: {e}"));
                    failures += 1;
                    if failures > 3 {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

/// One SMTP connection: several messages to alice, bob or both, then QUIT.
fn smtp_session(
    addr: SocketAddr,
    f: &Flood,
    t: usize,
    seq: &mut u64,
    rng: &mut Rng,
) -> io::Result<()> {
    let mut c = Conn::connect(addr)?;
    let greeting = c.smtp_reply()?;
    if !greeting.starts_with("220") {
        f.problem(format!("smtp{t}: greeting {greeting}"));
        return Ok(());
    }
    c.send("EHLO flood.test")?;
    c.smtp_reply()?;
    for _ in 0..=rng.below(20) {
        if f.killed() {
            break;
        }
        let to: Vec<Mbox> = match rng.below(4) {
            0 => vec![MAILBOXES[0], MAILBOXES[2]],
            1 | 2 => vec![MAILBOXES[0]],
            _ => vec![MAILBOXES[2]],
        };
        let id = format!("cs{}.s{t}.{seq}@crash.test", f.round);
        *seq += 1;
        let large = rng.below(40) == 0;
        let msg = message(&id, "flood@example.org", rng, large);
        for (cmd, want) in std::iter::once(("MAIL FROM:<flood@remote.example>".to_owned(), "250"))
            .chain(
                to.iter()
                    .map(|(u, _)| (format!("RCPT TO:<{u}@example.org>"), "250")),
            )
            .chain(std::iter::once(("DATA".to_owned(), "354")))
        {
            c.send(&cmd)?;
            let r = c.smtp_reply()?;
            if !r.starts_with(want) {
                f.problem(format!("smtp{t}: {cmd} answered {r}"));
                return Ok(());
            }
        }
        f.sent(&id, to.clone(), &msg);
        c.write(&dot_stuffed(&msg))?;
        let r = c.smtp_reply()?;
        if !r.starts_with("250") {
            f.problem(format!("smtp{t}: {id} answered {r}"));
            return Ok(());
        }
        let mut log = f.log.lock().unwrap();
        log.smtp_acked += 1;
        log.large_acked += usize::from(large);
        for m in to {
            log.acks.push((m, id.clone(), None));
        }
    }
    c.send("QUIT")?;
    let _ = c.smtp_reply();
    Ok(())
}

/// `APPEND` of `msg` to `mbox` with a synchronizing literal; the message counts as sent once
/// the server asked for it. The tagged answer, or `None` when the server refused the literal
/// (recorded as a problem).
#[allow(clippy::too_many_arguments)]
fn append(
    c: &mut Conn,
    f: &Flood,
    who: &str,
    tag: &str,
    mbox: Mbox,
    flags: &str,
    id: &str,
    msg: &[u8],
) -> io::Result<Option<String>> {
    c.send(&format!("{tag} APPEND {} {flags}{{{}}}", mbox.1, msg.len()))?;
    let go = c.line()?;
    if !go.starts_with('+') {
        f.problem(format!("{who}: APPEND {id} answered {go}"));
        return Ok(None);
    }
    f.sent(id, vec![mbox], msg);
    c.write(msg)?;
    c.write(b"\r\n")?;
    let done = c.imap_until(tag)?;
    Ok(Some(done.last().unwrap().0.clone()))
}

/// One IMAP connection: LOGIN, several APPENDs (synchronizing literals, random flags), LOGOUT.
fn imap_session(
    addr: SocketAddr,
    f: &Flood,
    t: usize,
    seq: &mut u64,
    rng: &mut Rng,
) -> io::Result<()> {
    let user = if t.is_multiple_of(2) { "alice" } else { "bob" };
    let mut c = Conn::connect(addr)?;
    let greeting = c.line()?;
    if !greeting.starts_with("* OK") {
        f.problem(format!("imap{t}: greeting {greeting}"));
        return Ok(());
    }
    let login = c.imap_command("l", &format!("LOGIN {user} {}", password(user)))?;
    if !login.last().is_some_and(|r| r.0.starts_with("l OK")) {
        f.problem(format!("imap{t}: LOGIN answered {login:?}"));
        return Ok(());
    }
    for k in 0..=rng.below(30) {
        if f.killed() {
            break;
        }
        let mbox = MAILBOXES
            .iter()
            .copied()
            .filter(|(u, _)| *u == user)
            .nth(usize::try_from(rng.below(2)).unwrap())
            .unwrap_or(MAILBOXES[2]);
        let id = format!("cs{}.i{t}.{seq}@crash.test", f.round);
        *seq += 1;
        let msg = message(&id, &format!("{user}@example.org"), rng, false);
        let flags =
            ["", "(\\Seen) ", "(\\Flagged \\Seen) "][usize::try_from(rng.below(3)).unwrap()];
        let tag = format!("a{k}");
        let who = format!("imap{t}");
        let Some(last) = append(&mut c, f, &who, &tag, mbox, flags, &id, &msg)? else {
            return Ok(());
        };
        let last = &last;
        if !last.starts_with(&format!("{tag} OK")) {
            f.problem(format!("imap{t}: APPEND {id} answered {last}"));
            return Ok(());
        }
        let uid = append_uid(last);
        if uid.is_none() {
            f.problem(format!("imap{t}: APPEND {id} OK without APPENDUID: {last}"));
        }
        let mut log = f.log.lock().unwrap();
        log.imap_acked += 1;
        log.acks.push((mbox, id, uid));
    }
    c.send("z LOGOUT")?;
    let _ = c.imap_until("z");
    Ok(())
}

/// Runs one command that must succeed; `false` (and a problem noted) if it did not.
fn must(c: &mut Conn, f: &Flood, tag: &str, command: &str) -> io::Result<bool> {
    let r = c.imap_command(tag, command)?;
    let last = &r.last().unwrap().0;
    let ok = last.starts_with(&format!("{tag} OK"));
    if !ok {
        f.problem(format!("churn: {command} answered {last}"));
    }
    Ok(ok)
}

/// One IMAP connection in bob's INBOX, while mail arrives there: it changes flags (the store
/// renames files between `new/` and `cur/`), and appends scratch messages and expunges them
/// again (UIDs get gaps; an acknowledged expunge must not come back).
fn churn_session(
    addr: SocketAddr,
    f: &Flood,
    uids: u64,
    seq: &mut u64,
    rng: &mut Rng,
) -> io::Result<()> {
    let mut c = Conn::connect(addr)?;
    c.line()?;
    if !must(&mut c, f, "l", "LOGIN bob hunter2")? || !must(&mut c, f, "s", "SELECT INBOX")? {
        return Ok(());
    }
    let mbox = MAILBOXES[2];
    for k in 0..=rng.below(30) {
        if f.killed() {
            break;
        }
        let from = 1 + rng.below(uids);
        let to = from + rng.below(40);
        let op = ["+FLAGS.SILENT", "-FLAGS.SILENT", "FLAGS.SILENT"]
            [usize::try_from(rng.below(3)).unwrap()];
        let flags = [
            "(\\Seen)",
            "(\\Answered \\Flagged)",
            "(\\Seen \\Draft $Forwarded)",
        ][usize::try_from(rng.below(3)).unwrap()];
        if !must(
            &mut c,
            f,
            &format!("f{k}"),
            &format!("UID STORE {from}:{to} {op} {flags}"),
        )? {
            return Ok(());
        }
        f.log.lock().unwrap().stores += 1;
        if rng.below(3) != 0 {
            continue;
        }
        let id = format!("cs{}.x.{seq}@crash.test", f.round);
        *seq += 1;
        let msg = message(&id, "bob@example.org", rng, false);
        let tag = format!("a{k}");
        let Some(last) = append(&mut c, f, "churn", &tag, mbox, "", &id, &msg)? else {
            return Ok(());
        };
        let last = &last;
        let Some((validity, uid)) = append_uid(last) else {
            f.problem(format!("churn: APPEND {id} answered {last}"));
            return Ok(());
        };
        f.log
            .lock()
            .unwrap()
            .acks
            .push((mbox, id.clone(), Some((validity, uid))));
        f.log.lock().unwrap().expunge_tried.push((mbox, id.clone()));
        if !must(
            &mut c,
            f,
            &format!("d{k}"),
            &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
        )? || !must(&mut c, f, &format!("e{k}"), &format!("UID EXPUNGE {uid}"))?
        {
            return Ok(());
        }
        f.log.lock().unwrap().expunged.push((mbox, id));
    }
    c.send("z LOGOUT")?;
    let _ = c.imap_until("z");
    Ok(())
}

/// The `mailserver` process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    smtp: SocketAddr,
    imap: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn spawn_server(data_dir: &Path, log: &Path) -> Child {
    let any = "127.0.0.1:0";
    let stderr = File::options().create(true).append(true).open(log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailserver"));
    cmd.args(["--smtp", any, "--imap", any])
        .args(["--submission", "none", "--smtps", "none", "--imaps", "none"])
        .args(["--pop3", "none", "--pop3s", "none", "--log", "warn"])
        .args(["--domain", "example.org"]);
    for (u, p) in USERS {
        cmd.args(["--user", &format!("{u}:{p}")]);
    }
    cmd.arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Starts the server and waits until it listens (the store is open by then).
fn start_server(data_dir: &Path, log: &Path) -> Server {
    let mut child = spawn_server(data_dir, log);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Reads every line, also after the addresses: the pipe never fills.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let (mut smtp, mut imap) = (None, None);
    let deadline = Instant::now() + TIMEOUT;
    while smtp.is_none() || imap.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(a) = line.strip_prefix("smtp listening on ") {
                    smtp = Some(a.trim().parse().unwrap());
                } else if let Some(a) = line.strip_prefix("imap listening on ") {
                    imap = Some(a.trim().parse().unwrap());
                }
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the server did not start on the crashed data directory {} ({status:?}); \
                     its log:\n{}",
                    data_dir.display(),
                    log_tail(log)
                );
            }
        }
    }
    Server {
        child,
        smtp: smtp.unwrap(),
        imap: imap.unwrap(),
    }
}

/// What the verifications have established so far.
#[derive(Default)]
struct World {
    /// id → (length, hash) of everything ever sent.
    sent: HashMap<String, (usize, u64)>,
    /// (mailbox, id) of everything ever sent.
    targets: HashSet<(Mbox, String)>,
    /// (mailbox, id) acknowledged → APPENDUID's UID.
    acked: HashMap<(Mbox, String), Option<u32>>,
    /// (mailbox, id) whose expunge was asked for: they may be gone.
    expunge_tried: HashSet<(Mbox, String)>,
    /// (mailbox, id) whose expunge was acknowledged: they must be gone.
    expunged: HashSet<(Mbox, String)>,
    /// What each mailbox held at the last verification: id → UID.
    seen: HashMap<Mbox, BTreeMap<String, u32>>,
    uidvalidity: HashMap<Mbox, u32>,
    max_uid: HashMap<Mbox, u32>,
}

/// The Message-ID in a header block.
fn message_id(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let start = text.find('<')? + 1;
    let end = start + text[start..].find('>')?;
    Some(text[start..end].to_owned())
}

/// Checks every mailbox through IMAP against what was sent and acknowledged; updates the
/// world. Returns how many messages the mailboxes hold.
fn verify(addr: SocketAddr, world: &mut World, round: usize) -> usize {
    let mut total = 0;
    for (user, pass) in USERS {
        let mut c = Conn::connect(addr).unwrap();
        let greeting = c.line().unwrap();
        assert!(greeting.starts_with("* OK"), "round {round}: {greeting}");
        let r = c
            .imap_command("l", &format!("LOGIN {user} {pass}"))
            .unwrap();
        assert!(r.last().unwrap().0.starts_with("l OK"), "{r:?}");
        for mbox in MAILBOXES.iter().copied().filter(|(u, _)| *u == user) {
            total += verify_mailbox(&mut c, mbox, world, round);
        }
        let _ = c.imap_command("z", "LOGOUT");
    }
    total
}

fn verify_mailbox(c: &mut Conn, mbox: Mbox, world: &mut World, round: usize) -> usize {
    let at = format!("round {round}, {}/{}", mbox.0, mbox.1);
    let select = c.imap_command("s", &format!("SELECT {}", mbox.1)).unwrap();
    assert!(
        select.last().unwrap().0.starts_with("s OK"),
        "{at}: SELECT failed: {select:?}"
    );
    let (mut uidvalidity, mut uidnext, mut exists) = (None, None, None);
    for (text, _) in &select {
        uidvalidity = uidvalidity.or_else(|| number_after(text, "[UIDVALIDITY "));
        uidnext = uidnext.or_else(|| number_after(text, "[UIDNEXT "));
        if text.ends_with(" EXISTS") {
            exists = number_after(text, "* ");
        }
    }
    let (uidvalidity, uidnext, exists) = (
        uidvalidity.expect("UIDVALIDITY"),
        uidnext.expect("UIDNEXT"),
        exists.expect("EXISTS"),
    );
    let known = *world.uidvalidity.entry(mbox).or_insert(uidvalidity);
    assert_eq!(
        uidvalidity, known,
        "{at}: UIDVALIDITY changed from {known} to {uidvalidity}"
    );

    // Every message: sequence number, UID, size, Message-ID.
    let mut present: Vec<(u32, u32, u32, String)> = Vec::new();
    if exists > 0 {
        let r = c
            .imap_command(
                "f",
                "FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
            )
            .unwrap();
        let (tagged, untagged) = r.split_last().unwrap();
        assert!(
            tagged.0.starts_with("f OK"),
            "{at}: FETCH failed: {tagged:?}"
        );
        for (text, lits) in untagged {
            if !text.contains(" FETCH (") {
                continue;
            }
            let seq = number_after(text, "* ").unwrap();
            let uid = number_after(text, "UID ").unwrap();
            let size = number_after(text, "RFC822.SIZE ").unwrap();
            let id = lits
                .first()
                .and_then(|h| message_id(h))
                .unwrap_or_else(|| panic!("{at}: UID {uid} has no Message-ID: {text} {lits:?}"));
            present.push((seq, uid, size, id));
        }
    }
    assert_eq!(
        present.len(),
        exists as usize,
        "{at}: {exists} EXISTS but {} FETCH responses",
        present.len()
    );
    // Sequence numbers 1..=n, UIDs strictly increasing, below UIDNEXT.
    for (i, (seq, uid, _, _)) in present.iter().enumerate() {
        assert_eq!(*seq as usize, i + 1, "{at}: FETCH responses out of order");
        if i > 0 {
            let before = present[i - 1].1;
            assert!(
                *uid > before,
                "{at}: UID {uid} at sequence {seq} follows UID {before}"
            );
        }
        assert!(
            *uid < uidnext,
            "{at}: UID {uid} not below UIDNEXT {uidnext}"
        );
    }
    // Each message once, sent to this mailbox, whole in size.
    let mut by_id: BTreeMap<String, u32> = BTreeMap::new();
    for (_, uid, size, id) in &present {
        if let Some(other) = by_id.insert(id.clone(), *uid) {
            panic!("{at}: {id} is present twice, as UID {other} and UID {uid}");
        }
        assert!(
            world.targets.contains(&(mbox, id.clone())),
            "{at}: UID {uid} is {id}, which was never sent to this mailbox"
        );
        // SMTP deliveries carry their trace fields on top of what was sent.
        let (len, _) = world.sent[id];
        assert!(
            *size as usize >= len,
            "{at}: UID {uid} ({id}) has RFC822.SIZE {size}, {len} octets were sent"
        );
    }
    // What was there before is still there, under the same UID; what is new has UIDs above
    // everything before.
    let before_max = world.max_uid.get(&mbox).copied().unwrap_or(0);
    let seen = world.seen.entry(mbox).or_default();
    for (id, uid) in seen.iter() {
        match by_id.get(id) {
            Some(now) => assert_eq!(
                now, uid,
                "{at}: {id} was UID {uid} in an earlier round, now UID {now}"
            ),
            None if world.expunge_tried.contains(&(mbox, id.clone())) => {}
            None => panic!("{at}: {id} (UID {uid}) was there in an earlier round and is gone"),
        }
    }
    for (m, id) in &world.expunged {
        if let (true, Some(uid)) = (*m == mbox, by_id.get(id)) {
            panic!("{at}: {id} (UID {uid}) was expunged (acknowledged) and is back");
        }
    }
    let fresh: Vec<(u32, String)> = by_id
        .iter()
        .filter(|(id, _)| !seen.contains_key(*id))
        .map(|(id, uid)| (*uid, id.clone()))
        .collect();
    for (uid, id) in &fresh {
        assert!(
            *uid > before_max,
            "{at}: {id} arrived after the restart as UID {uid}, not above the earlier UID {before_max}"
        );
    }
    // Acknowledged messages are all there, under the UID APPENDUID named.
    for ((m, id), uid) in &world.acked {
        if *m != mbox || world.expunge_tried.contains(&(*m, id.clone())) {
            continue;
        }
        match (by_id.get(id), uid) {
            (None, _) => panic!("{at}: {id} was acknowledged and is missing"),
            (Some(now), Some(then)) => assert_eq!(
                now, then,
                "{at}: {id} was acknowledged with APPENDUID {then} and is UID {now}"
            ),
            (Some(_), None) => {}
        }
    }
    // The new messages octet for octet.
    for chunk in fresh.chunks(100) {
        let set: Vec<String> = chunk.iter().map(|(u, _)| u.to_string()).collect();
        let r = c
            .imap_command("b", &format!("UID FETCH {} BODY.PEEK[]", set.join(",")))
            .unwrap();
        let (tagged, untagged) = r.split_last().unwrap();
        assert!(
            tagged.0.starts_with("b OK"),
            "{at}: FETCH failed: {tagged:?}"
        );
        let mut got = 0;
        for (text, lits) in untagged {
            if !text.contains(" FETCH (") {
                continue;
            }
            let uid = number_after(text, "UID ").unwrap();
            let Some((_, id)) = chunk.iter().find(|(u, _)| *u == uid) else {
                continue;
            };
            let body = as_sent(
                lits.first()
                    .unwrap_or_else(|| panic!("{at}: no body: {text}")),
            );
            let (len, hash) = world.sent[id];
            let trailer = format!("END-OF-MESSAGE {id}\r\n");
            assert!(
                body.len() == len && fnv(body) == hash && body.ends_with(trailer.as_bytes()),
                "{at}: UID {uid} ({id}) is not what was sent: {} octets (sent {len}), ends {:?}",
                body.len(),
                String::from_utf8_lossy(&body[body.len().saturating_sub(80)..])
            );
            got += 1;
        }
        assert_eq!(got, chunk.len(), "{at}: not every new message was fetched");
    }
    let max = by_id.values().copied().max().unwrap_or(0);
    assert!(
        uidnext > before_max,
        "{at}: UIDNEXT {uidnext} fell to or below the earlier UID {before_max}"
    );
    *seen = by_id;
    world.max_uid.insert(mbox, max.max(before_max));
    let _ = c.imap_command("u", "UNSELECT");
    present.len()
}

/// Opens the store directly (no server) and compares it with what IMAP showed.
fn verify_store(data_dir: &Path, world: &World) {
    use sansmail_store::{
        AccountName, FetchQuery, MailStore, Session, UidSet,
        maildir::{MaildirOptions, MaildirStore},
        model::Content,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = MaildirStore::open(data_dir, MaildirOptions::default())
        .expect("the store does not open directly");
    for mbox in MAILBOXES {
        let session = Session::new(AccountName::try_from(mbox.0).unwrap());
        let status = runtime
            .block_on(store.status(&session, mbox.1))
            .unwrap_or_else(|e| panic!("{mbox:?}: STATUS: {e}"));
        assert_eq!(
            status.uidvalidity.get(),
            world.uidvalidity[&mbox],
            "{mbox:?}"
        );
        let query = FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        let messages = runtime
            .block_on(store.fetch(&session, mbox.1, &UidSet::all(), query))
            .unwrap();
        let seen = &world.seen[&mbox];
        assert_eq!(messages.len(), seen.len(), "{mbox:?}: count in the store");
        let by_uid: HashMap<u32, &String> = seen.iter().map(|(id, uid)| (*uid, id)).collect();
        for m in messages {
            let id = by_uid
                .get(&m.uid.get())
                .unwrap_or_else(|| panic!("{mbox:?}: UID {} was not seen over IMAP", m.uid.get()));
            let content = m.content.unwrap();
            let body = as_sent(&content);
            assert_eq!(
                (body.len(), fnv(body)),
                world.sent[*id],
                "{mbox:?}: UID {} ({id}) differs in the store",
                m.uid.get()
            );
        }
        assert!(
            status.uidnext.get() > world.max_uid[&mbox],
            "{mbox:?}: UIDNEXT"
        );
    }
}

/// Files in `tmp/` folders and the spool (what a kill left; recovery removes ours at once).
fn leftovers(dir: &Path) -> usize {
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            let name = e.file_name();
            if name == "tmp" || name == ".spool" {
                n += std::fs::read_dir(&path).map_or(0, Iterator::count);
            } else {
                n += leftovers(&path);
            }
        }
    }
    n
}

/// Removes the data directory unless the test failed (then it is kept for a look).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("crash_safety: data directory kept at {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn crash_safety() {
    let rounds: usize = std::env::var("CRASH_SAFETY_ROUNDS")
        .ok()
        .map_or(3, |v| v.parse().expect("CRASH_SAFETY_ROUNDS: a number"));
    let seed: u64 = std::env::var("CRASH_SAFETY_SEED").ok().map_or_else(
        || {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.as_secs() ^ (u64::from(t.subsec_nanos()) << 20) ^ u64::from(std::process::id())
        },
        |v| v.parse().expect("CRASH_SAFETY_SEED: a number"),
    );
    println!("crash_safety: {rounds} rounds, seed {seed} (CRASH_SAFETY_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let data_dir = std::env::temp_dir().join(format!("crash-safety-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
    let _cleanup = Cleanup(data_dir.clone());
    let log = data_dir.join("server.log");
    let store_dir = data_dir.join("store");
    println!(
        "crash_safety: data in {}, server log {}",
        store_dir.display(),
        log.display()
    );

    let started = Instant::now();
    let mut world = World::default();
    let (mut kills, mut recovery_kills, mut stores, mut expunges) = (0, 0, 0, 0);
    let (mut smtp_acked, mut imap_acked, mut large_acked, mut sent_total) = (0, 0, 0, 0);
    let mut server = start_server(&store_dir, &log);
    // The second mailbox of alice's.
    {
        let mut c = Conn::connect(server.imap).unwrap();
        c.line().unwrap();
        c.imap_command("l", "LOGIN alice secret").unwrap();
        let r = c.imap_command("c", "CREATE Crash").unwrap();
        assert!(r.last().unwrap().0.starts_with("c OK"), "{r:?}");
    }
    verify(server.imap, &mut world, 0);

    for round in 1..=rounds {
        let round_started = Instant::now();
        let flood = Arc::new(Flood {
            round,
            killed: AtomicBool::new(false),
            log: Mutex::new(FloodLog::default()),
        });
        let mut threads = Vec::new();
        for t in 0..SMTP_THREADS {
            let (f, addr, mut r) = (Arc::clone(&flood), server.smtp, rng.fork());
            threads.push(std::thread::spawn(move || {
                let mut n = 0;
                f.run(
                    || smtp_session(addr, &f, t, &mut n, &mut r),
                    &format!("smtp{t}"),
                );
            }));
        }
        for t in 0..IMAP_THREADS {
            let (f, addr, mut r) = (Arc::clone(&flood), server.imap, rng.fork());
            threads.push(std::thread::spawn(move || {
                let mut n = 0;
                f.run(
                    || imap_session(addr, &f, t, &mut n, &mut r),
                    &format!("imap{t}"),
                );
            }));
        }
        {
            let (f, addr, mut r) = (Arc::clone(&flood), server.imap, rng.fork());
            let uids = u64::from(world.max_uid.get(&MAILBOXES[2]).copied().unwrap_or(0)) + 50;
            threads.push(std::thread::spawn(move || {
                let mut seq = 0;
                f.run(|| churn_session(addr, &f, uids, &mut seq, &mut r), "churn");
            }));
        }
        let delay = Duration::from_millis(50 + rng.below(2500));
        std::thread::sleep(delay);
        flood.killed.store(true, Ordering::SeqCst);
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        kills += 1;
        for t in threads {
            t.join().unwrap();
        }
        let flood = Arc::into_inner(flood).unwrap().log.into_inner().unwrap();
        assert!(
            flood.problems.is_empty(),
            "round {round}: the server refused or failed before the kill:\n{}\nlog:\n{}",
            flood.problems.join("\n"),
            log_tail(&log)
        );
        for (id, to, len, hash) in &flood.sent {
            world.sent.insert(id.clone(), (*len, *hash));
            for m in to {
                world.targets.insert((*m, id.clone()));
            }
        }
        for (m, id, uid) in &flood.acks {
            if let Some((validity, uid)) = uid {
                let before = world.max_uid.get(m).copied().unwrap_or(0);
                assert!(
                    *uid > before,
                    "round {round}: {id} got APPENDUID {uid} in {m:?}, not above the earlier UID {before}"
                );
                assert_eq!(
                    Some(validity),
                    world.uidvalidity.get(m),
                    "round {round}: APPENDUID's UIDVALIDITY for {id}"
                );
            }
            world.acked.insert((*m, id.clone()), uid.map(|u| u.1));
        }
        world
            .expunged
            .extend(flood.expunged.iter().map(|(m, id)| (*m, id.clone())));
        world
            .expunge_tried
            .extend(flood.expunge_tried.iter().map(|(m, id)| (*m, id.clone())));
        smtp_acked += flood.smtp_acked;
        stores += flood.stores;
        expunges += flood.expunged.len();
        imap_acked += flood.imap_acked;
        large_acked += flood.large_acked;
        sent_total += flood.sent.len();

        // Sometimes kill it again while it recovers.
        let mut recovery_kill = None;
        if rng.below(4) == 0 {
            let after = Duration::from_millis(rng.below(60));
            let mut child = spawn_server(&store_dir, &log);
            std::thread::sleep(after);
            child.kill().unwrap();
            child.wait().unwrap();
            recovery_kills += 1;
            recovery_kill = Some(after);
        }
        let restart = Instant::now();
        server = start_server(&store_dir, &log);
        let restart = restart.elapsed();
        let verify_started = Instant::now();
        let held = verify(server.imap, &mut world, round);
        // Recovery removes what the kills left in tmp/ and the spool (issue #15 item 7).
        let left = leftovers(&store_dir);
        assert_eq!(
            left, 0,
            "round {round}: {left} files left in tmp/ and the spool"
        );
        // UIDs given out are never given again, also those expunged since: later arrivals
        // must be above this round's APPENDUIDs too.
        for (m, _, uid) in &flood.acks {
            if let Some((_, uid)) = uid {
                let max = world.max_uid.entry(*m).or_default();
                *max = (*max).max(*uid);
            }
        }
        println!(
            "round {round}/{rounds}: killed after {delay:?}{}; sent {}, acked {} by SMTP \
             ({} large) and {} by APPEND, {} STOREs and {} EXPUNGEs; restart {restart:?}, verify {:?} ({held} messages \
             held), round {:?}",
            recovery_kill.map_or_else(String::new, |d| format!(" and again {d:?} into recovery")),
            flood.sent.len(),
            flood.smtp_acked,
            flood.large_acked,
            flood.imap_acked,
            flood.stores,
            flood.expunged.len(),
            verify_started.elapsed(),
            round_started.elapsed()
        );
    }

    // After the last restart: new mail gets UIDs above everything before.
    {
        let f = Flood {
            round: rounds + 1,
            killed: AtomicBool::new(false),
            log: Mutex::new(FloodLog::default()),
        };
        let mut r = rng.fork();
        smtp_session(server.smtp, &f, 0, &mut 0, &mut r).unwrap();
        imap_session(server.imap, &f, 0, &mut 0, &mut r).unwrap();
        let log = f.log.into_inner().unwrap();
        assert!(log.problems.is_empty(), "{:?}", log.problems);
        for (id, to, len, hash) in &log.sent {
            world.sent.insert(id.clone(), (*len, *hash));
            for m in to {
                world.targets.insert((*m, id.clone()));
            }
        }
        for (m, id, uid) in &log.acks {
            world.acked.insert((*m, id.clone()), uid.map(|u| u.1));
        }
        verify(server.imap, &mut world, rounds + 1);
    }
    kills += 1;
    drop(server);
    verify_store(&store_dir, &world);

    let held: usize = world.seen.values().map(BTreeMap::len).sum();
    let acked_messages = world
        .acked
        .keys()
        .filter(|k| !world.expunge_tried.contains(k))
        .count();
    let not_acked = world
        .seen
        .iter()
        .flat_map(|(m, ids)| ids.keys().map(move |id| (*m, id.clone())))
        .filter(|k| !world.acked.contains_key(k))
        .count();
    println!(
        "crash_safety: {rounds} rounds in {:?}, {kills} SIGKILLs under load plus \
         {recovery_kills} during recovery; {sent_total} messages sent, {smtp_acked} acked by \
         SMTP ({large_acked} over 1 MiB) and {imap_acked} by APPEND, {stores} flag STOREs \
         and {expunges} acknowledged EXPUNGEs of scratch messages; {held} mailbox copies \
         held, all {acked_messages} acknowledged ones among them, {not_acked} never \
         acknowledged but whole; {} files left in tmp/ and the spool; seed {seed}",
        started.elapsed(),
        leftovers(&store_dir),
    );
}
