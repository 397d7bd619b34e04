//! The mail server, all listeners on one `mail-store` Maildir store under `./mail-data`. By
//! default on 127.0.0.1: SMTP 2525, submission 2587 (AUTH required), SMTPS 2465, IMAP 2143,
//! IMAPS 2993, POP3 2110, POP3S 2995. The plaintext ports offer STARTTLS (STLS for POP3).
//! Without `--cert`/`--key` a self-signed certificate is generated at first start and kept
//! as `<data-dir>/tls/cert.pem` and `key.pem`.
//!
//! ```text
//! mailserver [--smtp ADDR|none] [--submission ADDR|none] [--smtps ADDR|none] [--lmtp ADDR|none]
//!            [--imap ADDR|none] [--imaps ADDR|none] [--pop3 ADDR|none] [--pop3s ADDR|none]
//!            [--cert PEM --key PEM] [--allow-plaintext-loopback yes|no]
//!            [--max-connections N] [--max-connections-per-ip N] [--idle-timeout SECONDS]
//!            [--max-message-size OCTETS] [--max-recipients N] [--data-dir DIR]
//!            [--bare-line-endings normalize|reject] [--journal-reserve OCTETS]
//!            [--dkim-keys DIR] [--dkim-selector NAME] [--check-inbound yes|no]
//!            [--hostname NAME] [--domain DOMAIN]... [--user NAME:PASSWORD]...
//!            [--users FILE] [--log error|warn|info|debug|trace]
//! ```
//!
//! `--journal-reserve` sets the room each mailbox's journal keeps written in advance (default
//! 256 KiB) so that deleting mail works on a full disk; `0` keeps none.
//!
//! `--dkim-keys DIR` keeps a DKIM key per `--domain` (`<selector>._domainkey.<domain>.pem`,
//! generated at the first start; each TXT record to publish is printed). `--check-inbound yes`
//! checks SPF, DKIM and DMARC on SMTP with the system's resolvers: an `Authentication-Results:`
//! field per message, DMARC `p=reject` failures refused.
//!
//! `--users FILE` holds `name:hash` lines: Argon2 PHC strings (`mailctl hash-password`
//! writes them) or SHA512-CRYPT (`$6$`, as `mkpasswd -m sha-512` writes), also with Dovecot's
//! `{SCHEME}` prefix. LMTP is off unless `--lmtp` names an address.
//!
//! Passwords (AUTH, LOGIN, USER/PASS) are refused without TLS, except from loopback
//! addresses while `--allow-plaintext-loopback` is `yes` (the default). Repeated failed
//! logins from one address are answered ever more slowly and then refused for a while.
//! `--idle-timeout` shortens every protocol's idle timeouts (by default those the RFCs set:
//! SMTP 5 min, IMAP 5 min before login and 30 after, POP3 10 min). Ctrl-C shuts down
//! gracefully: no new connections, idle ones are told so and closed, deliveries in progress
//! finish (for up to 30 s). Logs go to standard error (`--log`, default `info`).

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use sansmail_smtp::codec::BareLineEndings;
use tracing::Level;

use examples::{
    accounts::{self, Directory, User},
    server::{self, Options as ServerOptions},
    tls::CertSource,
};
use sansmail_server::listener::ConnectionLimits;

struct Options {
    smtp: Option<SocketAddr>,
    submission: Option<SocketAddr>,
    smtps: Option<SocketAddr>,
    lmtp: Option<SocketAddr>,
    imap: Option<SocketAddr>,
    imaps: Option<SocketAddr>,
    pop3: Option<SocketAddr>,
    pop3s: Option<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    allow_plaintext_loopback: bool,
    limits: ConnectionLimits,
    data_dir: PathBuf,
    hostname: String,
    domains: Vec<String>,
    users: Vec<User>,
    idle_timeout: Option<Duration>,
    max_message_size: Option<u64>,
    max_recipients: Option<usize>,
    bare_line_endings: BareLineEndings,
    journal_reserve: Option<u64>,
    dkim_keys: Option<PathBuf>,
    dkim_selector: Option<String>,
    check_inbound: bool,
    log: Level,
}

const USAGE: &str = "usage: mailserver [--smtp ADDR|none] [--submission ADDR|none] \
                     [--smtps ADDR|none] [--lmtp ADDR|none] [--imap ADDR|none] \
                     [--imaps ADDR|none] [--pop3 ADDR|none] [--pop3s ADDR|none] \
                     [--cert PEM --key PEM] [--allow-plaintext-loopback yes|no] \
                     [--max-connections N] [--max-connections-per-ip N] \
                     [--idle-timeout SECONDS] [--max-message-size OCTETS] \
                     [--max-recipients N] [--bare-line-endings normalize|reject] \
                     [--journal-reserve OCTETS] [--dkim-keys DIR] [--dkim-selector NAME] \
                     [--check-inbound yes|no] [--data-dir DIR] [--hostname NAME] \
                     [--domain DOMAIN]... [--user NAME:PASSWORD]... [--users FILE] \
                     [--log error|warn|info|debug|trace]";

fn yes_no(flag: &str, v: &str) -> Result<bool, String> {
    match v {
        "yes" | "on" | "true" => Ok(true),
        "no" | "off" | "false" => Ok(false),
        _ => Err(format!("{flag} {v}: expected yes or no")),
    }
}

fn count(flag: &str, v: &str) -> Result<usize, String> {
    match v.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} {v}: expected a positive number")),
    }
}

/// `ADDR` or `none`.
fn listen_addr(flag: &str, v: &str) -> Result<Option<SocketAddr>, String> {
    if v == "none" {
        Ok(None)
    } else {
        v.parse().map(Some).map_err(|e| format!("{flag} {v}: {e}"))
    }
}

fn parse_args() -> Result<Options, String> {
    let local = |port| Some(SocketAddr::from(([127, 0, 0, 1], port)));
    let mut o = Options {
        smtp: local(2525),
        submission: local(2587),
        smtps: local(2465),
        lmtp: None,
        imap: local(2143),
        imaps: local(2993),
        pop3: local(2110),
        pop3s: local(2995),
        cert: None,
        key: None,
        allow_plaintext_loopback: true,
        limits: ConnectionLimits::default(),
        data_dir: PathBuf::from("./mail-data"),
        hostname: "localhost".to_owned(),
        domains: Vec::new(),
        users: Vec::new(),
        idle_timeout: None,
        max_message_size: None,
        max_recipients: None,
        bare_line_endings: BareLineEndings::Normalize,
        journal_reserve: None,
        dkim_keys: None,
        dkim_selector: None,
        check_inbound: false,
        log: Level::INFO,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--smtp" => o.smtp = listen_addr(&flag, &value()?)?,
            "--imap" => o.imap = listen_addr(&flag, &value()?)?,
            "--pop3" => o.pop3 = listen_addr(&flag, &value()?)?,
            "--submission" => o.submission = listen_addr(&flag, &value()?)?,
            "--smtps" => o.smtps = listen_addr(&flag, &value()?)?,
            "--lmtp" => o.lmtp = listen_addr(&flag, &value()?)?,
            "--imaps" => o.imaps = listen_addr(&flag, &value()?)?,
            "--pop3s" => o.pop3s = listen_addr(&flag, &value()?)?,
            "--cert" => o.cert = Some(PathBuf::from(value()?)),
            "--key" => o.key = Some(PathBuf::from(value()?)),
            "--allow-plaintext-loopback" => {
                o.allow_plaintext_loopback = yes_no(&flag, &value()?)?;
            }
            "--max-connections" => o.limits.total = count(&flag, &value()?)?,
            "--max-connections-per-ip" => o.limits.per_ip = count(&flag, &value()?)?,
            "--idle-timeout" => {
                let secs = count(&flag, &value()?)?;
                o.idle_timeout = Some(Duration::from_secs(secs as u64));
            }
            "--max-message-size" => o.max_message_size = Some(count(&flag, &value()?)? as u64),
            "--max-recipients" => o.max_recipients = Some(count(&flag, &value()?)?),
            "--bare-line-endings" => {
                o.bare_line_endings = match value()?.as_str() {
                    "normalize" => BareLineEndings::Normalize,
                    "reject" => BareLineEndings::Reject,
                    v => return Err(format!("{flag}: expected normalize or reject, not {v}")),
                };
            }
            "--journal-reserve" => {
                let v = value()?;
                o.journal_reserve = Some(
                    v.parse()
                        .map_err(|_| format!("{flag} {v}: expected a number of octets"))?,
                );
            }
            "--dkim-keys" => o.dkim_keys = Some(PathBuf::from(value()?)),
            "--dkim-selector" => o.dkim_selector = Some(value()?),
            "--check-inbound" => o.check_inbound = yes_no(&flag, &value()?)?,
            "--users" => o
                .users
                .extend(accounts::read_users_file(Path::new(&value()?))?),
            "--log" => {
                let v = value()?;
                o.log = v.parse().map_err(|_| {
                    format!("--log {v}: expected error, warn, info, debug or trace")
                })?;
            }
            "--data-dir" => o.data_dir = PathBuf::from(value()?),
            "--hostname" => o.hostname = value()?,
            "--domain" => o.domains.push(value()?.to_lowercase()),
            "--user" => {
                let v = value()?;
                let (name, password) = v
                    .split_once(':')
                    .ok_or_else(|| format!("--user {v}: expected NAME:PASSWORD"))?;
                o.users.push(User {
                    name: name.to_lowercase(),
                    password: password.into(),
                    senders: Vec::new(),
                });
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if o.cert.is_some() != o.key.is_some() {
        return Err(format!("--cert and --key go together\n{USAGE}"));
    }
    let mut names = HashSet::new();
    if let Some(u) = o.users.iter().find(|u| !names.insert(&u.name)) {
        return Err(format!("user {} is given twice", u.name));
    }
    Ok(o)
}

/// A line on standard output, for whoever started the server (tests read the addresses from
/// it). Unlike `println!`, a reader that went away does not stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn demo_password() -> String {
    // Not a secret worth a CSPRNG: a demo account on loopback, printed at start.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
        ^ std::process::id().rotate_left(16);
    format!("demo-{seed:08x}")
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut o = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(o.log)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    if o.domains.is_empty() {
        o.domains = vec!["localhost".to_owned(), "example.org".to_owned()];
    }
    if o.users.is_empty() {
        let password = demo_password();
        say!(
            "no --user given: demo account demo@{} with password {password}",
            o.domains[0]
        );
        o.users.push(User {
            name: "demo".to_owned(),
            password: password.as_str().into(),
            senders: Vec::new(),
        });
    }
    let directory = Directory {
        domains: o.domains.clone(),
        postmaster: o.users[0].name.clone(),
        senders: o
            .users
            .iter()
            .map(|u| (u.name.clone(), u.senders.clone()))
            .collect(),
        users: o
            .users
            .into_iter()
            .map(|u| (u.name, u.password))
            .collect::<HashMap<_, _>>(),
    };
    let mut options = ServerOptions::new(o.data_dir.clone(), &o.hostname, directory);
    options.smtp = o.smtp;
    options.submission = o.submission;
    options.smtps = o.smtps;
    options.lmtp = o.lmtp;
    options.imap = o.imap;
    options.imaps = o.imaps;
    options.pop3 = o.pop3;
    options.pop3s = o.pop3s;
    options.allow_plaintext_loopback = o.allow_plaintext_loopback;
    options.limits = o.limits;
    if let Some(t) = o.idle_timeout {
        options.smtp_limits.command_timeout = t;
        options.smtp_limits.data_timeout = t;
        options.imap_limits.unauthenticated_timeout = t;
        options.imap_limits.autologout_timeout = t;
        options.pop3_limits.idle_timeout = t;
    }
    if let Some(n) = o.max_message_size {
        options.smtp_limits.max_message_size = n;
    }
    if let Some(n) = o.max_recipients {
        options.smtp_limits.max_recipients = n;
    }
    options.bare_line_endings = o.bare_line_endings;
    if let Some(n) = o.journal_reserve {
        options.journal_reserve = n;
    }
    options.dkim_keys = o.dkim_keys;
    if let Some(s) = o.dkim_selector {
        options.dkim_selector = s;
    }
    options.check_inbound = o.check_inbound;
    if let (Some(cert), Some(key)) = (o.cert, o.key) {
        options.cert = CertSource::Files { cert, key };
    }
    let running = match server::start(options).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    say!("mail store: {}", o.data_dir.display());
    for (record, new) in &running.dkim_records {
        let what = if *new {
            "new DKIM key; publish"
        } else {
            "DKIM key"
        };
        say!("{what}: {}", record.zone_line());
    }
    for (what, addr) in [
        ("smtp", running.smtp),
        ("submission", running.submission),
        ("smtps", running.smtps),
        ("lmtp", running.lmtp),
        ("imap", running.imap),
        ("imaps", running.imaps),
        ("pop3", running.pop3),
        ("pop3s", running.pop3s),
    ] {
        match addr {
            Some(a) => say!("{what} listening on {a}"),
            None => say!("{what} off"),
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => say!("shutting down"),
        Err(e) => tracing::error!("cannot wait for Ctrl-C: {e}"),
    }
    let left = running.shutdown(Duration::from_secs(30)).await;
    if left > 0 {
        tracing::warn!("{left} connections still busy after 30 s; closing them");
    }
    say!("stopped");
    ExitCode::SUCCESS
}
