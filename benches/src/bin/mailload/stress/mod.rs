//! `mailload --stress`: N clients on two shared mailboxes doing random APPEND, STORE,
//! EXPUNGE, COPY, MOVE, FETCH, SEARCH, NOOP and IDLE; each tracks its view of the selected
//! mailbox from the untagged responses alone ([`view::View`]) and counts what a caching
//! client cannot live with: a message's MODSEQ going down (an older flag state after a newer
//! one), flags that differ at one MODSEQ, a keyword outside the last FLAGS, EXISTS/EXPUNGE
//! arithmetic that does not add up (or an EXPUNGE during FETCH/STORE/SEARCH), UIDs not
//! strictly increasing, `\Recent` in two sessions, MOVE within the mailbox telling EXISTS
//! before EXPUNGE, and, once every client stopped, a flag change never told (the final
//! `FETCH 1:*` newer than the view). Latencies per command go to the usual table.

mod client;
mod commands;
mod view;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use client::{Conn, Done, Mode, append};
use commands::{Rng, fetch, mailbox, message, meta, one, random_flag, set, store};
use sansmail_imap::types::{
    capability::Capability,
    command::{CommandBody, Secret, StoreAction},
    core::{AString, Atom},
    fetch_attr::FetchAttr,
    flag::Flag,
    response::StatusKind,
    search::SearchKey,
    section::Section,
    sequence::{SeqNum, SequenceSet},
};
use tokio::sync::Barrier;
pub use view::Violations;
use view::{View, kind};

use crate::stats::Stats;

/// The shared mailboxes.
pub const MAILBOXES: [&str; 2] = ["stress-a", "stress-b"];
/// Messages each mailbox holds before the clients start, and the bounds they keep to.
const SEED: u32 = 30;
const LOW: u32 = 15;
const HIGH: u32 = 120;

/// What a stress run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: SocketAddr,
    pub clients: usize,
    pub duration: Duration,
    pub users: Vec<(String, String)>,
    pub seed: u64,
    pub timeout: Duration,
    /// Each client starts a step this often, whatever the last one took (`None`: back to
    /// back). At a rate both servers keep up with, their latencies compare at the same load.
    pub pace: Option<Duration>,
}

/// Cross-session state: who saw which message `\Recent`.
#[derive(Default)]
struct Shared {
    recent: Mutex<HashMap<(String, u32, u32), usize>>,
    violations: Mutex<Violations>,
}

impl Shared {
    /// Records the `\Recent` messages of a view that is being closed.
    fn recent_of(&self, client: usize, view: &View) {
        let mut map = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut v = self
            .violations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for &uid in &view.recent {
            let key = (view.mailbox.clone(), view.uidvalidity, uid);
            match map.get(&key) {
                Some(&other) if other != client => v.add(
                    kind::RECENT_TWICE,
                    format!("{} UID {uid}: clients {other} and {client}", view.mailbox),
                ),
                Some(_) => {}
                None => {
                    map.insert(key, client);
                }
            }
        }
    }
}

/// One client's run.
struct Player {
    id: usize,
    conn: Conn,
    rng: Rng,
    stats: Stats,
    shared: Arc<Shared>,
    appended: u64,
}

impl Player {
    async fn timed(
        &mut self,
        what: &'static str,
        body: CommandBody<'_>,
        mode: Mode,
    ) -> Result<Done, String> {
        let t = Instant::now();
        self.stats.commands += 1;
        let done = self.conn.command(body, mode).await?;
        self.stats.record(what, t.elapsed());
        if done.kind != StatusKind::Ok {
            self.stats
                .error(format!("{what} {:?}: {}", done.kind, done.text));
        }
        Ok(done)
    }

    fn len(&self) -> u32 {
        self.conn.view.as_ref().map_or(0, View::len)
    }

    fn current(&self) -> String {
        self.conn
            .view
            .as_ref()
            .map_or_else(|| MAILBOXES[0].to_owned(), |v| v.mailbox.clone())
    }

    fn other(&self) -> &'static str {
        if self.current() == MAILBOXES[0] {
            MAILBOXES[1]
        } else {
            MAILBOXES[0]
        }
    }

    /// A UID the client was told of, at random.
    fn some_uid(&mut self) -> Option<u32> {
        let uids: Vec<u32> = self
            .conn
            .view
            .as_ref()
            .map(|v| v.uids().into_iter().filter(|&u| u > 0).collect())
            .unwrap_or_default();
        (!uids.is_empty())
            .then(|| uids[self.rng.below(u32::try_from(uids.len()).unwrap_or(1)) as usize])
    }

    fn some_seq(&mut self) -> Option<u32> {
        let n = self.len();
        (n > 0).then(|| 1 + self.rng.below(n))
    }

    async fn select(&mut self, name: &str) -> Result<(), String> {
        if let Some(old) = self.conn.view.take() {
            self.shared.recent_of(self.id, &old);
        }
        self.conn.view = Some(View::new(name));
        let done = self
            .timed(
                "SELECT",
                CommandBody::Select {
                    mailbox: mailbox(name),
                    params: vec![],
                },
                Mode::Normal,
            )
            .await?;
        if done.kind != StatusKind::Ok {
            return Err(format!("SELECT {name}: {}", done.text));
        }
        self.learn().await
    }

    /// Fetches the UIDs (and flags) of messages the client heard of by EXISTS only, as a
    /// syncing client does.
    async fn learn(&mut self) -> Result<(), String> {
        if let Some(first) = self.conn.view.as_ref().and_then(View::first_unknown) {
            let s = SequenceSet::range(SeqNum::Value(first), SeqNum::Largest)
                .unwrap_or(SequenceSet::Items(Vec::new()));
            self.conn
                .command(fetch(false, s, meta()), Mode::NoExpunge)
                .await?;
        }
        Ok(())
    }

    async fn step(&mut self) -> Result<(), String> {
        let len = self.len();
        let mut r = self.rng.below(100);
        if len > HIGH && r < 32 {
            r = 32; // expunge rather than add
        }
        if len < LOW && (32..55).contains(&r) {
            r = 20; // add rather than remove
        }
        let here = self.current();
        match r {
            0..=19 => {
                let flag = random_flag(&mut self.rng);
                let action = if self.rng.chance(60) {
                    StoreAction::Add
                } else {
                    StoreAction::Remove
                };
                let silent = self.rng.chance(10);
                if self.rng.chance(70) {
                    if let Some(u) = self.some_uid() {
                        self.timed(
                            "STORE",
                            store(true, one(u), action, silent, flag),
                            Mode::Normal,
                        )
                        .await?;
                    }
                } else if let Some(s) = self.some_seq() {
                    self.timed(
                        "STORE",
                        store(false, one(s), action, silent, flag),
                        Mode::NoExpunge,
                    )
                    .await?;
                }
            }
            20..=31 => {
                self.appended += 1;
                let m = message(self.id, self.appended);
                let target = if self.rng.chance(80) {
                    here
                } else {
                    self.other().to_owned()
                };
                let mut flags = Vec::new();
                for _ in 0..self.rng.below(3) {
                    flags.push(random_flag(&mut self.rng));
                }
                flags.dedup();
                self.timed("APPEND", append(&target, flags, &m), Mode::Normal)
                    .await?;
            }
            32..=41 => {
                if let Some(u) = self.some_uid() {
                    self.timed(
                        "STORE",
                        store(true, one(u), StoreAction::Add, true, Flag::Deleted),
                        Mode::Normal,
                    )
                    .await?;
                    self.timed(
                        "EXPUNGE",
                        CommandBody::UidExpunge { set: one(u) },
                        Mode::Normal,
                    )
                    .await?;
                }
            }
            42..=44 => {
                if let Some(s) = self.some_seq() {
                    self.timed(
                        "STORE",
                        store(false, one(s), StoreAction::Add, false, Flag::Deleted),
                        Mode::NoExpunge,
                    )
                    .await?;
                    self.timed("EXPUNGE", CommandBody::Expunge, Mode::Normal)
                        .await?;
                }
            }
            45..=54 => {
                let moving = r >= 50;
                let same = self.rng.chance(30);
                let target = if same { here } else { self.other().to_owned() };
                if let Some(u) = self.some_uid() {
                    let (what, body) = if moving {
                        (
                            "MOVE",
                            CommandBody::Move {
                                uid: true,
                                set: one(u),
                                mailbox: mailbox(&target),
                            },
                        )
                    } else {
                        (
                            "COPY",
                            CommandBody::Copy {
                                uid: true,
                                set: one(u),
                                mailbox: mailbox(&target),
                            },
                        )
                    };
                    let mode = if moving && same {
                        Mode::MoveHere
                    } else {
                        Mode::Normal
                    };
                    self.timed(what, body, mode).await?;
                }
            }
            55..=72 => {
                if len > 0 {
                    let a = 1 + self.rng.below(len);
                    let b = (a + self.rng.below(20)).min(len);
                    self.timed("FETCH", fetch(false, set(a, b), meta()), Mode::NoExpunge)
                        .await?;
                }
            }
            73..=76 => {
                if let Some(s) = self.some_seq() {
                    let body = FetchAttr::BodySection {
                        peek: false,
                        section: Section {
                            part: vec![],
                            text: None,
                        },
                        partial: None,
                    };
                    // Half the time without FLAGS: the \Seen it sets must be told anyway.
                    let attrs = if self.rng.chance(50) {
                        let mut a = meta();
                        a.push(body);
                        a
                    } else {
                        vec![body]
                    };
                    self.timed("FETCH", fetch(false, one(s), attrs), Mode::NoExpunge)
                        .await?;
                }
            }
            77..=84 => {
                self.timed("NOOP", CommandBody::Noop, Mode::Normal).await?;
            }
            85..=91 => {
                let wait = Duration::from_millis(20 + u64::from(self.rng.below(130)));
                self.conn.idle(wait).await?;
            }
            92..=94 => {
                let key = if self.rng.chance(50) {
                    SearchKey::Unseen
                } else {
                    Atom::new("$kw1".to_owned()).map_or(SearchKey::Flagged, SearchKey::Keyword)
                };
                let body = CommandBody::Search {
                    uid: false,
                    return_opts: None,
                    charset: None,
                    criteria: vec![key],
                };
                self.timed("SEARCH", body, Mode::NoExpunge).await?;
            }
            95..=96 => {
                let other = self.other();
                self.select(other).await?;
            }
            _ => {
                if let Some(u) = self.some_uid() {
                    let flag = random_flag(&mut self.rng);
                    self.timed(
                        "STORE",
                        store(true, one(u), StoreAction::Replace, false, flag),
                        Mode::Normal,
                    )
                    .await?;
                }
            }
        }
        self.learn().await
    }

    /// Told everything there was to tell (NOOP after every client stopped), the mailbox as
    /// it is now against the view.
    async fn final_check(&mut self) -> Result<(), String> {
        self.conn.command(CommandBody::Noop, Mode::Normal).await?;
        self.conn.collected.clear();
        let all = SequenceSet::range(SeqNum::Value(1), SeqNum::Largest)
            .unwrap_or(SequenceSet::Items(Vec::new()));
        if self.len() > 0 {
            self.conn
                .command(fetch(false, all, meta()), Mode::Final)
                .await?;
        }
        let collected = std::mem::take(&mut self.conn.collected);
        if let Some(view) = self.conn.view.as_mut() {
            view.final_check(&collected, &mut self.conn.violations);
        }
        if let Some(view) = self.conn.view.take() {
            self.shared.recent_of(self.id, &view);
        }
        Ok(())
    }
}

async fn login(conn: &mut Conn, user: &str, password: &str) -> Result<(), String> {
    let done = conn
        .command(
            CommandBody::Login {
                username: AString::try_from(user)
                    .map_err(|e| e.to_string())?
                    .into_owned(),
                password: Secret::new(
                    AString::try_from(password)
                        .map_err(|e| e.to_string())?
                        .into_owned(),
                ),
            },
            Mode::Normal,
        )
        .await?;
    if done.kind != StatusKind::Ok {
        return Err(format!("LOGIN {user}: {}", done.text));
    }
    Ok(())
}

/// Creates the mailboxes (if need be) and fills them to [`SEED`] messages for each user.
async fn prepare(o: &Options) -> Result<(), String> {
    for (user, password) in &o.users {
        let mut c = Conn::connect(o.addr, o.timeout).await?;
        login(&mut c, user, password).await?;
        for name in MAILBOXES {
            // Fails with ALREADYEXISTS after the first run: fine.
            c.command(
                CommandBody::Create {
                    mailbox: mailbox(name),
                    special_use: None,
                },
                Mode::Normal,
            )
            .await?;
            c.view = Some(View::new(name));
            c.command(
                CommandBody::Examine {
                    mailbox: mailbox(name),
                    params: vec![],
                },
                Mode::Normal,
            )
            .await?;
            let have = c.view.as_ref().map_or(0, View::len);
            for i in have..SEED {
                let m = message(usize::MAX, u64::from(i));
                c.command(append(name, vec![], &m), Mode::Normal).await?;
            }
        }
        let _ = c.command(CommandBody::Logout, Mode::Normal).await;
    }
    Ok(())
}

/// Runs one client: set-up, random commands until `deadline`, then (once every client is
/// there) the final check.
async fn player(
    o: Options,
    id: usize,
    deadline: Instant,
    start: Arc<Barrier>,
    end: Arc<Barrier>,
    shared: Arc<Shared>,
) -> (Stats, Violations) {
    let (user, password) = o.users[id % o.users.len()].clone();
    let mut stats = Stats::default();
    let conn = match Conn::connect(o.addr, o.timeout).await {
        Ok(c) => Some(c),
        Err(e) => {
            stats.error(format!("{CLIENT_FAILED}connect: {e}"));
            None
        }
    };
    let Some(conn) = conn else {
        start.wait().await;
        end.wait().await;
        return (stats, Violations::default());
    };
    let mut p = Player {
        id,
        conn,
        rng: Rng::new(o.seed ^ (id as u64 + 1).wrapping_mul(0x1000_0001)),
        stats,
        shared,
        appended: 0,
    };
    let setup = async {
        login(&mut p.conn, &user, &password).await?;
        let enable = CommandBody::Enable {
            capabilities: vec![Capability::CondStore],
        };
        p.conn.command(enable, Mode::Normal).await?;
        p.conn.condstore = true;
        p.select(MAILBOXES[id % MAILBOXES.len()]).await
    }
    .await;
    start.wait().await;
    let mut failed = setup.err();
    if failed.is_none() {
        // Paced clients start spread over one interval, not all at once.
        let mut next = o.pace.map(|every| {
            let (id, clients) = (u32::try_from(id), u32::try_from(o.clients.max(1)));
            Instant::now() + every * id.unwrap_or(0) / clients.unwrap_or(1)
        });
        while Instant::now() < deadline {
            if let (Some(at), Some(every)) = (&mut next, o.pace) {
                tokio::time::sleep_until((*at).into()).await;
                // Behind schedule (a slow server): the next step starts at once.
                *at += every;
            }
            if let Err(e) = p.step().await {
                failed = Some(e);
                break;
            }
        }
    }
    end.wait().await;
    if failed.is_none() {
        // Every change is made; let the servers tell the sessions.
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Err(e) = p.final_check().await {
            failed = Some(e);
        }
        let _ = p.conn.command(CommandBody::Logout, Mode::Normal).await;
    }
    if let Some(e) = failed {
        p.stats.error(format!("{CLIENT_FAILED}{e}"));
    }
    (p.stats, p.conn.violations)
}

/// How the errors of a client that could not run to the end begin.
pub const CLIENT_FAILED: &str = "client failed: ";

/// Runs the clients; their latencies and what they found.
pub async fn run(o: &Options) -> (Duration, Stats, Violations) {
    let mut violations = Violations::default();
    let mut stats = Stats::default();
    if let Err(e) = prepare(o).await {
        stats.error(format!("{CLIENT_FAILED}prepare: {e}"));
        return (Duration::ZERO, stats, violations);
    }
    let clients = o.clients.max(1);
    let start = Arc::new(Barrier::new(clients));
    let end = Arc::new(Barrier::new(clients));
    let shared = Arc::new(Shared::default());
    let began = Instant::now();
    let deadline = began + o.duration;
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            tokio::spawn(player(
                o.clone(),
                id,
                deadline,
                Arc::clone(&start),
                Arc::clone(&end),
                Arc::clone(&shared),
            ))
        })
        .collect();
    for t in tasks {
        match t.await {
            Ok((s, v)) => {
                stats.merge(s);
                violations.merge(v);
            }
            Err(e) => stats.error(format!("{CLIENT_FAILED}task: {e}")),
        }
    }
    if let Ok(mut v) = shared.violations.lock() {
        violations.merge(std::mem::take(&mut *v));
    }
    (began.elapsed(), stats, violations)
}
