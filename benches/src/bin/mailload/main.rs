//! `mailload`: a load generator for mail servers on this machine.
//!
//! Opens N concurrent IMAP sessions running a mixed workload (LOGIN, SELECT, then rounds of
//! FETCH flags / FETCH ten headers / FETCH one body / APPEND / STORE \Deleted / EXPUNGE, then
//! LOGOUT) and S concurrent SMTP sessions delivering M messages in all, and reports
//! operations per second and latency percentiles per kind of operation, as Markdown rows.
//! The sessions are our sans-IO client sessions (`sansmail_imap::session::client`,
//! `sansmail_smtp::session::client`) over tokio.
//!
//! ```text
//! mailload [--label NAME] [--imap ADDR] [--smtp ADDR]
//!          [--imap-sessions N] [--rounds R] [--seed-messages K]
//!          [--user NAME:PASSWORD]...  [--smtp-sessions S] [--messages M]
//!          [--from ADDR] [--to ADDR]... [--max-seconds T] [--threads K]
//! ```
//!
//! IMAP session `i` logs in as the `i mod len`-th `--user` (default `alice:secret`).
//! `--imap` and `--smtp` may be given several times (nodes serving the same mailboxes):
//! session `i` connects to the `i mod len`-th address. Only loopback addresses are
//! accepted, and every run stops by itself after `--max-seconds`.
#![forbid(unsafe_code)]

mod imap;
mod smtp;
mod stats;
mod stress;

use std::{
    net::SocketAddr,
    process::ExitCode,
    time::{Duration, Instant},
};

use stats::Stats;

struct Options {
    label: String,
    /// Sessions are spread over these, round robin.
    imap: Vec<SocketAddr>,
    smtp: Vec<SocketAddr>,
    imap_sessions: usize,
    rounds: usize,
    seed_messages: u32,
    users: Vec<(String, String)>,
    smtp_sessions: usize,
    messages: usize,
    from: String,
    to: Vec<String>,
    max_seconds: u64,
    threads: usize,
    /// `--stress`: the consistency run instead of the mixed workload.
    stress: bool,
    clients: usize,
    seconds: u64,
    seed: u64,
    /// `--rate`: steps a second each stress client starts at most (0: back to back).
    rate: f64,
}

const USAGE: &str = "usage: mailload [--label NAME] [--imap ADDR]... [--smtp ADDR]... \
[--imap-sessions N] [--rounds R] [--seed-messages K] [--user NAME:PASSWORD]... \
[--smtp-sessions S] [--messages M] [--from ADDR] [--to ADDR]... [--max-seconds T] [--threads K]\n\
       mailload --stress --imap ADDR [--clients N] [--seconds T] [--seed S] \
[--rate R] [--user NAME:PASSWORD]... [--label NAME] [--threads K]";

fn loopback(flag: &str, v: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = v.parse().map_err(|e| format!("{flag} {v}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{flag} {v}: only loopback addresses are load-tested"
        ));
    }
    Ok(addr)
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        label: "server".to_owned(),
        imap: Vec::new(),
        smtp: Vec::new(),
        imap_sessions: 8,
        rounds: 20,
        seed_messages: 50,
        users: Vec::new(),
        smtp_sessions: 4,
        messages: 200,
        from: "load@example.org".to_owned(),
        to: Vec::new(),
        max_seconds: 120,
        threads: 2,
        stress: false,
        clients: 10,
        seconds: 5,
        seed: 1,
        rate: 0.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let num =
            |v: String| -> Result<usize, String> { v.parse().map_err(|e| format!("{v}: {e}")) };
        match flag.as_str() {
            "--label" => o.label = value()?,
            "--imap" => o.imap.push(loopback(&flag, &value()?)?),
            "--smtp" => o.smtp.push(loopback(&flag, &value()?)?),
            "--imap-sessions" => o.imap_sessions = num(value()?)?,
            "--rounds" => o.rounds = num(value()?)?,
            "--seed-messages" => {
                o.seed_messages = u32::try_from(num(value()?)?).map_err(|e| e.to_string())?;
            }
            "--user" => {
                let v = value()?;
                let (n, p) = v
                    .split_once(':')
                    .ok_or_else(|| format!("--user {v}: expected NAME:PASSWORD"))?;
                o.users.push((n.to_owned(), p.to_owned()));
            }
            "--smtp-sessions" => o.smtp_sessions = num(value()?)?,
            "--messages" => o.messages = num(value()?)?,
            "--from" => o.from = value()?,
            "--to" => o.to.push(value()?),
            "--max-seconds" => o.max_seconds = num(value()?)? as u64,
            "--threads" => o.threads = num(value()?)?.max(1),
            "--stress" => o.stress = true,
            "--clients" => o.clients = num(value()?)?.max(1),
            "--seconds" => o.seconds = num(value()?)? as u64,
            "--seed" => o.seed = num(value()?)? as u64,
            "--rate" => {
                let v = value()?;
                o.rate = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .ok_or_else(|| format!("--rate {v}: expected steps a second, 0 or more"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if o.stress && o.imap.is_empty() {
        return Err(format!("--stress needs --imap\n{USAGE}"));
    }
    if o.imap.is_empty() && o.smtp.is_empty() {
        return Err(format!("nothing to do: give --imap and/or --smtp\n{USAGE}"));
    }
    if o.users.is_empty() {
        o.users.push(("alice".to_owned(), "secret".to_owned()));
    }
    if o.to.is_empty() {
        o.to.push("alice@example.com".to_owned());
    }
    Ok(o)
}

async fn run_imap(o: &Options, addrs: &[SocketAddr], deadline: Instant) -> (Duration, Stats) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..o.imap_sessions {
        let (user, password) = o.users[i % o.users.len()].clone();
        let addr = addrs[i % addrs.len()];
        let w = imap::Workload {
            user,
            password,
            rounds: o.rounds,
            seed_messages: o.seed_messages,
            deadline,
            timeout: Duration::from_secs(30),
        };
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            if let Err(e) = imap::session(addr, w, &mut stats).await {
                stats.error(format!("session: {e}"));
            }
            stats
        }));
    }
    let mut all = Stats::default();
    for t in tasks {
        match t.await {
            Ok(s) => all.merge(s),
            Err(e) => all.error(format!("task: {e}")),
        }
    }
    (start.elapsed(), all)
}

async fn run_smtp(o: &Options, addrs: &[SocketAddr], deadline: Instant) -> (Duration, Stats) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    let sessions = o.smtp_sessions.max(1);
    for i in 0..sessions {
        let addr = addrs[i % addrs.len()];
        let w = smtp::Workload {
            from: o.from.clone(),
            to: o.to.clone(),
            messages: o.messages / sessions + usize::from(i < o.messages % sessions),
            deadline,
            timeout: Duration::from_secs(30),
        };
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            if let Err(e) = smtp::session(addr, w, &mut stats).await {
                stats.error(format!("session: {e}"));
            }
            stats
        }));
    }
    let mut all = Stats::default();
    for t in tasks {
        match t.await {
            Ok(s) => all.merge(s),
            Err(e) => all.error(format!("task: {e}")),
        }
    }
    (start.elapsed(), all)
}

fn report(o: &Options, protocol: &str, sessions: usize, wall: Duration, stats: &Stats) {
    stats::print_rows(&o.label, protocol, sessions, wall, stats);
    for (what, n) in &stats.errors {
        eprintln!("{} {protocol}: {n} x {what}", o.label);
    }
    eprintln!(
        "{} {protocol}: {} operations in {:.2} s, {} errors",
        o.label,
        stats.count(),
        wall.as_secs_f64(),
        stats.error_count()
    );
}

/// `--stress`: the latency table, then what the clients found; fails if they found a
/// violation (remarks do not count) or could not run.
fn stress_main(o: &Options, addr: SocketAddr, rt: &tokio::runtime::Runtime) -> ExitCode {
    let so = stress::Options {
        addr,
        clients: o.clients,
        duration: Duration::from_secs(o.seconds),
        users: o.users.clone(),
        seed: o.seed,
        timeout: Duration::from_secs(30),
        pace: (o.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / o.rate)),
    };
    let (wall, stats, found) = rt.block_on(stress::run(&so));
    println!("{}", stats::HEADER);
    report(o, "IMAP stress", o.clients, wall, &stats);
    println!();
    println!("| target | clients | seconds | violation | count |\n|---|---:|---:|---|---:|");
    for (what, n) in &found.counts {
        println!(
            "| {} | {} | {} | {what} | {n} |",
            o.label, o.clients, o.seconds
        );
    }
    for (what, examples) in &found.examples {
        for e in examples {
            eprintln!("{} {what}: {e}", o.label);
        }
    }
    let total = found.total();
    let failed: usize = stats
        .errors
        .iter()
        .filter(|(what, _)| what.starts_with(stress::CLIENT_FAILED))
        .map(|(_, n)| n)
        .sum();
    println!(
        "\n{}: {total} violations with {} clients in {:.0} s{}",
        o.label,
        o.clients,
        wall.as_secs_f64(),
        if failed > 0 {
            format!(" ({failed} clients failed)")
        } else {
            String::new()
        }
    );
    if total > 0 || failed > 0 || stats.count() == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    if o.stress
        && let Some(&addr) = o.imap.first()
    {
        return stress_main(&o, addr, &rt);
    }
    let deadline = Instant::now() + Duration::from_secs(o.max_seconds);
    let mut failed = false;
    println!("{}", stats::HEADER);
    // One protocol at a time, so each has the machine to itself.
    if !o.imap.is_empty() {
        let (wall, stats) = rt.block_on(run_imap(&o, &o.imap, deadline));
        report(&o, "IMAP", o.imap_sessions, wall, &stats);
        failed |= stats.count() == 0;
    }
    if !o.smtp.is_empty() {
        let (wall, stats) = rt.block_on(run_smtp(&o, &o.smtp, deadline));
        report(&o, "SMTP", o.smtp_sessions, wall, &stats);
        failed |= stats.count() == 0;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
