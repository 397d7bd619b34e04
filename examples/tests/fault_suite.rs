//! Fault suite (issue #15): the real `mailserver`, on a tmpfs of the test's own, is hit by
//! faults at random points of SMTP delivery, APPEND (several messages, MULTIAPPEND), STORE,
//! EXPUNGE, COPY, MOVE and POP3 QUIT, and after each one the answer is checked against what
//! happened:
//!
//! - **a full disk**: the tmpfs is filled to the last byte and a random few pages are freed
//!   again (and the server runs with a random journal reserve: the default, a small one or
//!   none), so the operation runs out of space at a random point or not at all;
//! - **kill -9**: the server is killed at a random moment after the command was sent (up to
//!   about the time the operation takes), sometimes on a full disk too.
//!
//! Every operation must be all or nothing: an `OK`/`250`/`+OK` answer means all of it
//! happened, `NO`/`4xx`/`-ERR` that nothing did, and without an answer (killed) either, but
//! never a part. What happened is read over IMAP (EXAMINE, which writes nothing) before a
//! restart, and the server is then restarted on the same (still full) disk: it must start,
//! serve the same mailboxes (same UIDs, same flags) and leave no temporary file behind.
//!
//! The rounds run in three phases, each on an empty store: with the default journal reserve
//! (deleting works on a full disk), with a small one (large deletions are refused), and with
//! none (every change is refused on a full disk).
//!
//! Rounds: `FAULT_SUITE_ROUNDS` (default 84: in each phase, each operation twice under each
//! fault);
//! random choices come from a seed printed at the start, `FAULT_SUITE_SEED` replays it. For a
//! long run:
//!
//! ```text
//! FAULT_SUITE_ROUNDS=2000 cargo test -p examples --test fault_suite -- --nocapture
//! ```
//!
//! The tmpfs needs root (as `.ci/run` has); without it the test fails and says so.

mod fault;

use std::{
    collections::BTreeMap,
    fmt::{self, Write as _},
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::mpsc,
    time::{Duration, Instant},
};

use fault::{Conn, Rng, Server, Tmpfs, View, dot_stuffed, leftovers, log_tail, message, view};

/// The journal reserve of each phase: the default, one too small for large changes, none
/// (every change fails on a full disk). Each phase starts with an empty store.
const PHASES: [u64; 3] = [256 * 1024, 8192, 0];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Smtp,
    Append,
    Store,
    Expunge,
    Copy,
    Move,
    Pop3Quit,
}

const OPS: [Op; 7] = [
    Op::Smtp,
    Op::Append,
    Op::Store,
    Op::Expunge,
    Op::Copy,
    Op::Move,
    Op::Pop3Quit,
];

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The disk full but for this many octets.
    DiskFull(u64),
    /// SIGKILL this long after the command went out (on a disk full but for so many octets).
    Kill(Duration, Option<u64>),
}

/// The server's answer to the operation's last command.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Ok(String),
    No(String),
    /// No answer: the server died first.
    Lost,
}

/// The three mailboxes the operations touch.
#[derive(Debug, Clone, PartialEq)]
struct State {
    inbox: View,
    trash: View,
    bob: View,
}

fn state(imap: SocketAddr) -> io::Result<State> {
    Ok(State {
        inbox: view(imap, "alice", "INBOX")?,
        trash: view(imap, "alice", "Trash")?,
        bob: view(imap, "bob", "INBOX")?,
    })
}

/// A mailbox without its UIDs: what a change must leave (new messages get UIDs the test
/// cannot know before).
type Bag = Vec<(String, Vec<String>)>;

fn bag<'a>(items: impl IntoIterator<Item = &'a (String, Vec<String>)>) -> Bag {
    let mut v: Bag = items.into_iter().cloned().collect();
    v.sort();
    v
}

/// What the three mailboxes hold, without UIDs.
type Bags = [Bag; 3];

fn bags(s: &State) -> Bags {
    [
        bag(s.inbox.values()),
        bag(s.trash.values()),
        bag(s.bob.values()),
    ]
}

/// What an operation asked for, enough to say what its whole effect is.
#[derive(Debug, Clone)]
enum Plan {
    Smtp {
        id: String,
        to_bob: bool,
    },
    Append {
        ids: Vec<String>,
    },
    Store {
        uids: Vec<u32>,
        action: &'static str,
        flags: Vec<String>,
    },
    Expunge,
    Copy {
        uids: Vec<u32>,
    },
    Move {
        uids: Vec<u32>,
    },
    Pop3Quit {
        numbers: Vec<usize>,
    },
}

fn flags_after(action: &str, had: &[String], flags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match action {
        "+" => had.iter().chain(flags).cloned().collect(),
        "-" => had.iter().filter(|f| !flags.contains(f)).cloned().collect(),
        _ => flags.to_vec(),
    };
    out.sort();
    out.dedup();
    out
}

/// The mailboxes once all of `plan` happened, from those before it.
fn whole_effect(plan: &Plan, before: &State) -> Bags {
    let mut s = before.clone();
    let fresh = |id: &str| (id.to_owned(), Vec::new());
    let mut added_trash = Vec::new();
    let mut added_inbox = Vec::new();
    let mut added_bob = Vec::new();
    match plan {
        Plan::Smtp { id, to_bob } => {
            added_inbox.push(fresh(id));
            if *to_bob {
                added_bob.push(fresh(id));
            }
        }
        Plan::Append { ids } => added_inbox.extend(ids.iter().map(|id| fresh(id))),
        Plan::Store {
            uids,
            action,
            flags,
        } => {
            for u in uids {
                if let Some(m) = s.inbox.get_mut(u) {
                    m.1 = flags_after(action, &m.1, flags);
                }
            }
        }
        Plan::Expunge => s.inbox.retain(|_, m| !m.1.iter().any(|f| f == "\\Deleted")),
        Plan::Copy { uids } => {
            added_trash.extend(uids.iter().filter_map(|u| s.inbox.get(u).cloned()));
        }
        Plan::Move { uids } => {
            added_trash.extend(uids.iter().filter_map(|u| s.inbox.get(u).cloned()));
            s.inbox.retain(|u, _| !uids.contains(u));
        }
        Plan::Pop3Quit { numbers } => {
            let gone: Vec<u32> = numbers
                .iter()
                .filter_map(|n| s.inbox.keys().nth(n - 1).copied())
                .collect();
            s.inbox.retain(|u, _| !gone.contains(u));
        }
    }
    let [mut i, mut t, mut b] = bags(&s);
    i.extend(added_inbox);
    t.extend(added_trash);
    b.extend(added_bob);
    for v in [&mut i, &mut t, &mut b] {
        v.sort();
    }
    [i, t, b]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    All,
    Nothing,
    /// The operation changes nothing, so both read the same.
    Either,
}

/// Whether the mailboxes after `plan` show all of it or none of it; `Err` says what else.
fn outcome(plan: &Plan, before: &State, after: &State) -> Result<Outcome, String> {
    let whole = whole_effect(plan, before);
    let none = bags(before);
    let now = bags(after);
    match (now == whole, now == none) {
        (true, true) => Ok(Outcome::Either),
        (true, false) => Ok(Outcome::All),
        (false, true) => Ok(Outcome::Nothing),
        (false, false) => {
            let names = ["alice INBOX", "alice Trash", "bob INBOX"];
            let mut why = String::from("part of it happened:");
            for k in 0..3 {
                if now[k] != whole[k] || now[k] != none[k] {
                    let _ = write!(
                        why,
                        " {}: {} messages before, {} after, {} if whole;",
                        names[k],
                        none[k].len(),
                        now[k].len(),
                        whole[k].len()
                    );
                }
            }
            Err(why)
        }
    }
}

/// Sends the command that starts the operation's commit and tells the killer when.
fn go(c: &mut Conn, line: &str, sent: &mpsc::Sender<Instant>) -> io::Result<()> {
    c.send(line)?;
    let _ = sent.send(Instant::now());
    Ok(())
}

fn tagged(r: io::Result<Vec<(String, Vec<Vec<u8>>)>>, tag: &str) -> Answer {
    match r {
        Ok(r) => {
            let last = r.last().map(|r| r.0.clone()).unwrap_or_default();
            if last.starts_with(&format!("{tag} OK")) {
                Answer::Ok(last)
            } else {
                Answer::No(last)
            }
        }
        Err(_) => Answer::Lost,
    }
}

/// Runs `plan` against the server; `sent` hears when its last command went out.
#[allow(clippy::too_many_lines)]
fn run(
    server: (SocketAddr, SocketAddr, SocketAddr),
    plan: &Plan,
    msgs: &[Vec<u8>],
    sent: &mpsc::Sender<Instant>,
) -> Answer {
    let (smtp, imap, pop3) = server;
    let res = (|| -> io::Result<Answer> {
        match plan {
            Plan::Smtp { to_bob, .. } => {
                let mut c = Conn::connect(smtp)?;
                c.smtp_reply()?;
                c.send("EHLO faults.test")?;
                c.smtp_reply()?;
                let mut cmds = vec!["MAIL FROM:<faults@remote.example>".to_owned()];
                cmds.push("RCPT TO:<alice@example.org>".to_owned());
                if *to_bob {
                    cmds.push("RCPT TO:<bob@example.org>".to_owned());
                }
                for cmd in cmds {
                    c.send(&cmd)?;
                    let r = c.smtp_reply()?;
                    if !r.starts_with("250") {
                        return Ok(Answer::No(r));
                    }
                }
                c.send("DATA")?;
                let r = c.smtp_reply()?;
                if !r.starts_with("354") {
                    return Ok(Answer::No(r));
                }
                c.write(&dot_stuffed(&msgs[0]))?;
                let _ = sent.send(Instant::now());
                let r = c.smtp_reply()?;
                Ok(if r.starts_with("250") {
                    Answer::Ok(r)
                } else {
                    Answer::No(r)
                })
            }
            Plan::Append { .. } => {
                let mut c = Conn::imap_login(imap, "alice")?;
                let mut head = String::from("a APPEND INBOX");
                for (i, m) in msgs.iter().enumerate() {
                    c.write(format!("{head} {{{}}}\r\n", m.len()).as_bytes())?;
                    let go_on = c.line()?;
                    if !go_on.starts_with('+') {
                        return Ok(Answer::No(go_on));
                    }
                    c.write(m)?;
                    head.clear();
                    if i + 1 == msgs.len() {
                        c.write(b"\r\n")?;
                        let _ = sent.send(Instant::now());
                    }
                }
                Ok(tagged(c.imap_until("a"), "a"))
            }
            Plan::Pop3Quit { numbers } => {
                let mut c = Conn::connect(pop3)?;
                c.line()?;
                for cmd in ["USER alice".to_owned(), "PASS secret".to_owned()]
                    .into_iter()
                    .chain(numbers.iter().map(|n| format!("DELE {n}")))
                {
                    c.send(&cmd)?;
                    let r = c.line()?;
                    if !r.starts_with("+OK") {
                        return Ok(Answer::No(r));
                    }
                }
                go(&mut c, "QUIT", sent)?;
                let r = c.line()?;
                Ok(if r.starts_with("+OK") {
                    Answer::Ok(r)
                } else {
                    Answer::No(r)
                })
            }
            _ => {
                let mut c = Conn::imap_login(imap, "alice")?;
                let r = c.imap("s", "SELECT INBOX")?;
                if !r.last().is_some_and(|r| r.0.starts_with("s OK")) {
                    return Ok(Answer::No(
                        r.last().map(|r| r.0.clone()).unwrap_or_default(),
                    ));
                }
                let set = |uids: &[u32]| {
                    uids.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let line = match plan {
                    Plan::Store {
                        uids,
                        action,
                        flags,
                    } => {
                        let verb = match *action {
                            "+" => "+FLAGS.SILENT",
                            "-" => "-FLAGS.SILENT",
                            _ => "FLAGS.SILENT",
                        };
                        format!("x UID STORE {} {verb} ({})", set(uids), flags.join(" "))
                    }
                    Plan::Expunge => "x EXPUNGE".to_owned(),
                    Plan::Copy { uids } => format!("x UID COPY {} Trash", set(uids)),
                    Plan::Move { uids } => format!("x UID MOVE {} Trash", set(uids)),
                    _ => unreachable!(),
                };
                go(&mut c, &line, sent)?;
                Ok(tagged(c.imap_until("x"), "x"))
            }
        }
    })();
    res.unwrap_or(Answer::Lost)
}

/// Puts the mailboxes in shape for the next round (the disk has space): enough messages in
/// INBOX, not too many anywhere.
fn prepare(imap: SocketAddr, rng: &mut Rng, seq: &mut u64) {
    let before = state(imap).unwrap();
    let mut c = Conn::imap_login(imap, "alice").unwrap();
    if before.inbox.len() < 40 {
        let mut line = String::from("p APPEND INBOX");
        let msgs: Vec<Vec<u8>> = (0..60)
            .map(|_| {
                *seq += 1;
                message(&format!("p{seq}@faults.test"), 300 + rng.index(3000))
            })
            .collect();
        for (i, m) in msgs.iter().enumerate() {
            c.write(format!("{line} {{{}}}\r\n", m.len()).as_bytes())
                .unwrap();
            assert!(c.line().unwrap().starts_with('+'));
            c.write(m).unwrap();
            line.clear();
            if i + 1 == msgs.len() {
                c.write(b"\r\n").unwrap();
            }
        }
        let r = c.imap_until("p").unwrap();
        assert!(r.last().unwrap().0.starts_with("p OK"), "{r:?}");
    }
    for (mailbox, max, view) in [("INBOX", 150, &before.inbox), ("Trash", 150, &before.trash)] {
        if view.len() > max {
            c.imap_ok("q", &format!("SELECT {mailbox}"));
            let last = view.keys().nth(view.len() / 2).unwrap();
            c.imap_ok(
                "r",
                &format!("UID STORE 1:{last} +FLAGS.SILENT (\\Deleted)"),
            );
            c.imap_ok("t", &format!("UID EXPUNGE 1:{last}"));
        }
    }
    let _ = c.imap("z", "LOGOUT");
    if before.bob.len() > 100 {
        let mut b = Conn::imap_login(imap, "bob").unwrap();
        b.imap_ok("q", "SELECT INBOX");
        b.imap_ok("r", "STORE 1:* +FLAGS.SILENT (\\Deleted)");
        b.imap_ok("t", "EXPUNGE");
    }
}

/// Picks what the operation does, from the mailboxes as they are (the disk has space; an
/// EXPUNGE gets messages flagged `\Deleted` first).
fn plan(op: Op, imap: SocketAddr, rng: &mut Rng, seq: &mut u64) -> (Plan, Vec<Vec<u8>>) {
    let inbox = view(imap, "alice", "INBOX").unwrap();
    let uids: Vec<u32> = inbox.keys().copied().collect();
    let some = |rng: &mut Rng| -> Vec<u32> {
        let n = 1 + rng.index(uids.len().min(80));
        let start = rng.index(uids.len() - n + 1);
        uids[start..start + n].to_vec()
    };
    let mut id = |rng: &mut Rng| {
        *seq += 1;
        format!("f{seq}.{}@faults.test", rng.below(1 << 20))
    };
    match op {
        Op::Smtp => {
            let id = id(rng);
            let size = if rng.below(12) == 0 {
                1_300_000
            } else {
                200 + rng.index(20_000)
            };
            let m = message(&id, size);
            let to_bob = rng.below(2) == 0;
            (Plan::Smtp { id, to_bob }, vec![m])
        }
        Op::Append => {
            let n = 1 + rng.below(4);
            let ids: Vec<String> = (0..n).map(|_| id(rng)).collect();
            let msgs = ids
                .iter()
                .map(|id| message(id, 200 + rng.index(12_000)))
                .collect();
            (Plan::Append { ids }, msgs)
        }
        Op::Store => {
            let action = rng.pick(&["+", "+", "-", "="]);
            let all = ["\\Deleted", "\\Seen", "\\Flagged", "\\Answered"];
            let mut flags: Vec<String> = all
                .iter()
                .filter(|_| rng.below(2) == 0)
                .map(|f| (*f).to_owned())
                .collect();
            if flags.is_empty() {
                flags.push("\\Deleted".to_owned());
            }
            flags.sort();
            let uids = some(rng);
            (
                Plan::Store {
                    uids,
                    action,
                    flags,
                },
                Vec::new(),
            )
        }
        Op::Expunge => {
            let marked = some(rng);
            let set: Vec<String> = marked.iter().map(u32::to_string).collect();
            let mut c = Conn::imap_login(imap, "alice").unwrap();
            c.imap_ok("s", "SELECT INBOX");
            c.imap_ok(
                "d",
                &format!("UID STORE {} +FLAGS.SILENT (\\Deleted)", set.join(",")),
            );
            let _ = c.imap("z", "LOGOUT");
            (Plan::Expunge, Vec::new())
        }
        Op::Copy => (Plan::Copy { uids: some(rng) }, Vec::new()),
        Op::Move => (Plan::Move { uids: some(rng) }, Vec::new()),
        Op::Pop3Quit => {
            let picked = some(rng);
            let numbers = picked
                .iter()
                .filter_map(|u| uids.iter().position(|x| x == u).map(|i| i + 1))
                .collect();
            (Plan::Pop3Quit { numbers }, Vec::new())
        }
    }
}

/// Counts for the closing line.
#[derive(Default)]
struct Figures {
    rounds: usize,
    disk_full: usize,
    kills: usize,
    kills_on_full_disk: usize,
    /// Kills after which staged files or a delivery marker waited for recovery.
    kills_mid_write: usize,
    answers: BTreeMap<&'static str, usize>,
    outcomes: BTreeMap<Outcome, usize>,
    by_op: BTreeMap<Op, (usize, usize, usize)>,
    restarts: usize,
    restarts_on_full_disk: usize,
    leftovers: usize,
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rounds: {} full-disk faults and {} kill -9 ({} of them on a full disk, {} left \
             staged files or a delivery marker for recovery); answers {:?}; outcomes {:?}; per operation (OK, refused, no answer) {:?}; \
             {} restarts ({} on a full disk), all served the same mailboxes; {} leftover files",
            self.rounds,
            self.disk_full,
            self.kills,
            self.kills_on_full_disk,
            self.kills_mid_write,
            self.answers,
            self.outcomes,
            self.by_op,
            self.restarts,
            self.restarts_on_full_disk,
            self.leftovers,
        )
    }
}

/// Removes the work directory unless the test failed (then it is kept for a look).
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("fault_suite: server log kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn restart(store: &Path, log: &Path, reserve: u64) -> Server {
    Server::start(store, log, reserve).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn fault_suite() {
    let rounds: usize = std::env::var("FAULT_SUITE_ROUNDS")
        .ok()
        .map_or(84, |v| v.parse().expect("FAULT_SUITE_ROUNDS: a number"));
    let seed: u64 = std::env::var("FAULT_SUITE_SEED").ok().map_or_else(
        || {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.as_secs() ^ (u64::from(t.subsec_nanos()) << 20) ^ u64::from(std::process::id())
        },
        |v| v.parse().expect("FAULT_SUITE_SEED: a number"),
    );
    println!("fault_suite: {rounds} rounds, seed {seed} (FAULT_SUITE_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let work = std::env::temp_dir().join(format!("fault-suite-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let _cleanup = Cleanup(work.clone());
    let log = work.join("server.log");
    let fs_ = Tmpfs::mount(&work.join("fs"), 48 << 20);
    let started = Instant::now();
    let mut seq = 0;
    let mut figures = Figures::default();
    let mut mismatches = Vec::new();
    // How long each operation took from its last command to its answer: kills land within.
    let mut took: BTreeMap<Op, Duration> = BTreeMap::new();
    let mut server: Option<Server> = None;
    let mut store = PathBuf::new();
    let mut reserve = 0;
    for round in 0..rounds {
        // A new phase: an empty store, with the phase's journal reserve.
        let phase = round * PHASES.len() / rounds.max(1);
        if round == 0 || phase != (round - 1) * PHASES.len() / rounds.max(1) {
            drop(server.take());
            reserve = PHASES[phase];
            store = fs_.path().join(format!("store-{reserve}"));
            let s = restart(&store, &log, reserve);
            // A new account has its Trash (and the other special-use mailboxes) already.
            let mut c = Conn::imap_login(s.imap, "alice").unwrap();
            c.imap_ok("c", "SELECT Trash");
            server = Some(s);
        }
        let k = round - (phase * rounds).div_ceil(PHASES.len());
        let op = OPS[k % OPS.len()];
        // With little or no reserve, mostly no free octet at all: the journal is what fails.
        let free = |rng: &mut Rng| {
            let none = if reserve < PHASES[0] { 3 } else { 1 };
            if rng.below(4) < none {
                0
            } else {
                4096 * rng.below(24)
            }
        };
        let fault = if (k / OPS.len()).is_multiple_of(2) {
            Fault::DiskFull(free(&mut rng))
        } else {
            let window = took.get(&op).copied().unwrap_or(Duration::from_millis(5));
            let after =
                window.mul_f64(1.3 * f64::from(u32::try_from(rng.below(1000)).unwrap()) / 1000.0);
            let full = (rng.below(3) == 0).then(|| free(&mut rng));
            Fault::Kill(after, full)
        };
        let running = server.take().unwrap();
        prepare(running.imap, &mut rng, &mut seq);
        let (plan, msgs) = plan(op, running.imap, &mut rng, &mut seq);
        let before = state(running.imap).unwrap();
        let full = match fault {
            Fault::DiskFull(k) | Fault::Kill(_, Some(k)) => {
                fs_.fill_leaving(k);
                true
            }
            Fault::Kill(_, None) => false,
        };
        let addrs = (running.smtp, running.imap, running.pop3);
        let (sent_tx, sent_rx) = mpsc::channel();
        let (answer, during) = match fault {
            Fault::DiskFull(_) => {
                let answer = run(addrs, &plan, &msgs, &sent_tx);
                if let (Answer::Ok(_), Ok(t)) = (&answer, sent_rx.try_recv()) {
                    let e = took.entry(op).or_default();
                    *e = (*e).max(t.elapsed());
                }
                let during = state(running.imap).unwrap_or_else(|e| {
                    panic!("round {round}: reading the mailboxes on a full disk: {e}")
                });
                running.kill();
                (answer, Some(during))
            }
            Fault::Kill(after, _) => {
                let runner = std::thread::spawn({
                    let (plan, msgs) = (plan.clone(), msgs.clone());
                    move || {
                        let answer = run(addrs, &plan, &msgs, &sent_tx);
                        (answer, Instant::now())
                    }
                });
                let sent = sent_rx.recv_timeout(Duration::from_secs(30));
                std::thread::sleep(after);
                running.kill();
                figures.kills_mid_write += usize::from(!leftovers(&store).is_empty());
                let (answer, at) = runner.join().unwrap();
                if let (Answer::Ok(_), Ok(t)) = (&answer, sent) {
                    let e = took.entry(op).or_default();
                    *e = (*e).max(at.saturating_duration_since(t));
                }
                (answer, None)
            }
        };
        figures.rounds += 1;
        match fault {
            Fault::DiskFull(_) => figures.disk_full += 1,
            Fault::Kill(_, full) => {
                figures.kills += 1;
                figures.kills_on_full_disk += usize::from(full.is_some());
            }
        }
        // Restarted on the same disk (still full if it was).
        let restarted = restart(&store, &log, reserve);
        figures.restarts += 1;
        figures.restarts_on_full_disk += usize::from(full);
        let after = state(restarted.imap).unwrap_or_else(|e| {
            panic!(
                "round {round}: reading the mailboxes after the restart: {e}\n{}",
                log_tail(&log)
            )
        });
        let left = leftovers(&store);
        figures.leftovers += left.len();
        let what = format!("round {round}: {op:?} under {fault:?}, answered {answer:?}");
        if !left.is_empty() {
            mismatches.push(format!("{what}: left after the restart: {left:?}"));
        }
        if let Some(during) = &during
            && *during != after
        {
            mismatches.push(format!(
                "{what}: the restart changed the mailboxes ({} / {} / {} messages before it, \
                 {} / {} / {} after)",
                during.inbox.len(),
                during.trash.len(),
                during.bob.len(),
                after.inbox.len(),
                after.trash.len(),
                after.bob.len()
            ));
        }
        let got = outcome(&plan, &before, &after);
        let key = match &answer {
            Answer::Ok(_) => "OK",
            Answer::No(_) => "refused",
            Answer::Lost => "no answer",
        };
        *figures.answers.entry(key).or_default() += 1;
        let e = figures.by_op.entry(op).or_default();
        match &answer {
            Answer::Ok(_) => e.0 += 1,
            Answer::No(_) => e.1 += 1,
            Answer::Lost => e.2 += 1,
        }
        match (&answer, got) {
            (_, Err(why)) => mismatches.push(format!("{what}: {why}")),
            (Answer::Ok(_), Ok(Outcome::Nothing)) => {
                mismatches.push(format!("{what}: answered OK, but nothing happened"));
            }
            (Answer::No(_), Ok(Outcome::All)) => {
                mismatches.push(format!("{what}: refused, but it happened"));
            }
            (_, Ok(o)) => *figures.outcomes.entry(o).or_default() += 1,
        }
        // An APPEND's APPENDUID names the messages appended.
        if let (Answer::Ok(text), Plan::Append { ids }) = (&answer, &plan)
            && let Some(at) = text.find("[APPENDUID ")
        {
            let set = text[at + 11..].split([' ', ']']).nth(1).unwrap_or_default();
            let mut named = Vec::new();
            for part in set.split(',') {
                let (lo, hi) = part.split_once(':').unwrap_or((part, part));
                let (lo, hi): (u32, u32) = (lo.parse().unwrap(), hi.parse().unwrap());
                named.extend(lo..=hi);
            }
            let got: Vec<&str> = named
                .iter()
                .filter_map(|u| after.inbox.get(u).map(|m| m.0.as_str()))
                .collect();
            if got != ids.iter().map(String::as_str).collect::<Vec<_>>() {
                mismatches.push(format!("{what}: APPENDUID names {got:?}, not {ids:?}"));
            }
        }
        if full {
            fs_.unfill();
        }
        server = Some(restarted);
    }
    drop(server);
    println!(
        "fault_suite: {figures}; {} answers that did not match what happened; {:?}; seed {seed}",
        mismatches.len(),
        started.elapsed()
    );
    assert!(
        mismatches.is_empty(),
        "answers that did not match the outcome:\n{}\nserver log:\n{}",
        mismatches.join("\n"),
        log_tail(&log)
    );
}
