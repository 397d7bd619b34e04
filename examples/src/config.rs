//! The mailserver's settings: one [`Settings`] struct that the configuration file
//! (`--config FILE`, TOML) and the command line both fill, through serde. Every field is one
//! key of the file and one flag (`max-connections = 512` ⇔ `--max-connections 512`); the
//! flags override the file, and fields neither sets keep their defaults, which are what
//! `cargo run` starts with. Adding an option is adding a field.
//!
//! Unknown keys and bad values stop the server with the file, the line and the key (or the
//! flag) named. `mailserver.toml` at the top of the repository lists every key.

mod flags;
mod values;

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use serde::Deserialize;

pub use values::{Listen, LogFormat, LogLevel, Octets, Seconds, UserSpec, YesNo};

use sansmail_server::{
    listener::ConnectionLimits,
    passwd_file::{Directory, User, read_users_file},
};
use sansmail_smtp::codec::BareLineEndings;

use crate::{
    server::{Options as ServerOptions, Outbound},
    tls::CertSource,
};

/// Every setting of the mail server. The serde names are the file's keys and the flags
/// (`--` + key).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// SMTP (STARTTLS offered): `ADDR` or `none`.
    pub smtp: Listen,
    /// Submission (RFC 6409: AUTH before MAIL).
    pub submission: Listen,
    /// SMTP over implicit TLS.
    pub smtps: Listen,
    /// LMTP for a trusted MTA (off by default).
    pub lmtp: Listen,
    /// IMAP (STARTTLS offered).
    pub imap: Listen,
    /// IMAP over implicit TLS.
    pub imaps: Listen,
    /// POP3 (STLS offered).
    pub pop3: Listen,
    /// POP3 over implicit TLS.
    pub pop3s: Listen,
    /// The Prometheus endpoint (`GET /metrics`), off by default.
    pub metrics: Listen,
    /// Mail from logged-in clients (and `relay-networks`) to other systems goes into the
    /// outbound queue and out by MX; `no` refuses it (`554 5.7.1`).
    pub relay: YesNo,
    /// Networks (`192.0.2.0/24`, `2001:db8::/32`) whose clients may relay without logging in.
    #[serde(deserialize_with = "values::one_or_many")]
    pub relay_networks: Vec<String>,
    /// Send everything through this host (`HOST:PORT`) instead of MX lookups.
    pub smarthost: Option<String>,
    /// DNS servers (`IP` or `IP:PORT`) for MX lookups and inbound checks; default: the
    /// system's.
    #[serde(deserialize_with = "values::one_or_many")]
    pub dns_server: Vec<String>,
    /// The port MX hosts are reached on (25; tests and private networks use others).
    pub mx_port: u16,
    /// DKIM keys of the local domains (`<selector>._domainkey.<domain>.pem`), generated at
    /// the first start with their TXT records printed; outgoing mail is signed.
    pub dkim_keys: Option<PathBuf>,
    /// The DKIM selector.
    pub dkim_selector: String,
    /// SPF, DKIM and DMARC checks on port 25 (`Authentication-Results:`, DMARC `p=reject`
    /// refused).
    pub check_inbound: YesNo,
    /// The certificate chain (PEM); with `key`, or neither for a self-signed one.
    pub cert: Option<PathBuf>,
    /// The private key (PEM).
    pub key: Option<PathBuf>,
    /// Passwords without TLS from loopback addresses.
    pub allow_plaintext_loopback: YesNo,
    /// Connections open at once, over all listeners.
    pub max_connections: usize,
    /// Connections open at once from one address.
    pub max_connections_per_ip: usize,
    /// Every protocol's idle timeout (default: each RFC's).
    pub idle_timeout: Option<Seconds>,
    /// The largest message SMTP takes and IMAP APPEND stores (APPENDLIMIT).
    pub max_message_size: Option<Octets>,
    /// Failed logins from one address before each further one is answered after a delay.
    pub login_delay_after: Option<u32>,
    /// Failed logins from one address after which its logins are refused, right or wrong,
    /// for `login-lockout-time`; 0: never.
    pub login_lockout_after: Option<u32>,
    /// How long failed logins are remembered (and a locked-out address stays so).
    pub login_lockout_time: Option<Seconds>,
    /// Recipients per SMTP transaction.
    pub max_recipients: Option<usize>,
    /// Bare CR or LF in message data: `normalize` or `reject`.
    pub bare_line_endings: LineEndings,
    /// Room each mailbox's journal keeps for deleting on a full disk.
    pub journal_reserve: Option<Octets>,
    /// Where the Maildirs live.
    pub data_dir: PathBuf,
    /// The messages in PostgreSQL (`postgres://USER@HOST:PORT/DB`, shared by several
    /// server processes) instead of the Maildir under `data_dir`; `maildir`: the default.
    pub store: Option<String>,
    /// The server's name in greetings and its self-signed certificate.
    pub hostname: String,
    /// Local domains (default `localhost` and `example.org`).
    #[serde(deserialize_with = "values::one_or_many")]
    pub domain: Vec<String>,
    /// Accounts with a plaintext password, `NAME:PASSWORD` (tests and demos).
    #[serde(deserialize_with = "values::one_or_many")]
    pub user: Vec<UserSpec>,
    /// Users files (`name:hash` lines).
    #[serde(deserialize_with = "values::one_or_many")]
    pub users: Vec<PathBuf>,
    /// Log level: `error`, `warn`, `info`, `debug`, `trace`.
    pub log: LogLevel,
    /// Log lines as `text` or `json` (one object a line).
    pub log_format: LogFormat,
    /// After binding the listeners as root, run as this user.
    pub run_as: Option<String>,
    /// ... and this group (default: the user's).
    pub run_as_group: Option<String>,
    /// Where the server writes its process id at start, for `mailctl admin` (which
    /// signals a reload after changing the users file) and scripts.
    pub pid_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        let local = |port| Listen::at(([127, 0, 0, 1], port).into());
        Self {
            smtp: local(2525),
            submission: local(2587),
            smtps: local(2465),
            lmtp: Listen::Off,
            imap: local(2143),
            imaps: local(2993),
            pop3: local(2110),
            pop3s: local(2995),
            metrics: Listen::Off,
            relay: YesNo(true),
            relay_networks: Vec::new(),
            smarthost: None,
            dns_server: Vec::new(),
            mx_port: 25,
            dkim_keys: None,
            dkim_selector: "sansmail".to_owned(),
            check_inbound: YesNo(false),
            cert: None,
            key: None,
            allow_plaintext_loopback: YesNo(true),
            max_connections: 512,
            max_connections_per_ip: 32,
            idle_timeout: None,
            max_message_size: None,
            login_delay_after: None,
            login_lockout_after: None,
            login_lockout_time: None,
            max_recipients: None,
            bare_line_endings: LineEndings::Normalize,
            journal_reserve: None,
            data_dir: PathBuf::from("./mail-data"),
            store: None,
            hostname: "localhost".to_owned(),
            domain: Vec::new(),
            user: Vec::new(),
            users: Vec::new(),
            log: LogLevel::default(),
            log_format: LogFormat::Text,
            run_as: None,
            run_as_group: None,
            pid_file: None,
        }
    }
}

/// `bare-line-endings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEndings {
    /// Stored as CRLF (Postfix 3.9's default).
    Normalize,
    /// The message refused with `550 5.6.0`.
    Reject,
}

impl From<LineEndings> for BareLineEndings {
    fn from(l: LineEndings) -> Self {
        match l {
            LineEndings::Normalize => Self::Normalize,
            LineEndings::Reject => Self::Reject,
        }
    }
}

/// What is wrong with the settings, naming where: the file, line and key, or the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl serde::de::Error for ConfigError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// The command line, split: `--config FILE` and the other flags as key and values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--check-config`: validate and exit.
    pub check: bool,
    /// The flags by key, values in order (`--domain a --domain b`).
    pub flags: BTreeMap<String, Vec<String>>,
}

impl CommandLine {
    /// Splits `args` (without the program name). Every flag takes one value; `-h`/`--help`
    /// is an error carrying nothing (the caller prints the usage).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ConfigError> {
        let mut out = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Err(ConfigError(String::new()));
            }
            if arg == "--check-config" {
                out.check = true;
                continue;
            }
            let Some(key) = arg.strip_prefix("--").filter(|k| !k.is_empty()) else {
                return Err(ConfigError(format!("unexpected argument {arg}")));
            };
            let (key, value) = match key.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => {
                    let v = args
                        .next()
                        .ok_or_else(|| ConfigError(format!("--{key} needs a value")))?;
                    (key.to_owned(), v)
                }
            };
            if key == "config" {
                out.config = Some(PathBuf::from(value));
            } else {
                out.flags.entry(key).or_default().push(value);
            }
        }
        Ok(out)
    }
}

/// The configuration file's text, parsed, with where it came from.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    table: toml::Table,
}

impl ConfigFile {
    /// Reads and checks `path`: TOML syntax, known keys, each value of the right kind.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Self::parse(path, &text)
    }

    /// [`ConfigFile::read`] on text already read.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let located = |e: toml::de::Error| ConfigError(locate(path, text, &e));
        // Deserializing the text itself keeps the spans, so errors name the line.
        toml::from_str::<Settings>(text).map_err(located)?;
        let table = toml::from_str::<toml::Table>(text).map_err(located)?;
        Ok(Self {
            path: path.to_owned(),
            table,
        })
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `file:line: key `k`: message` for a TOML error, from its span.
fn locate(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return format!("{}: {message}", path.display());
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !key.trim().starts_with('[') => format!(
            "{}:{line_no}: key `{}`: {message}",
            path.display(),
            key.trim().trim_matches('"')
        ),
        _ => format!("{}:{line_no}: {message}", path.display()),
    }
}

/// The settings from the file (if any) and the flags over it.
pub fn resolve(
    file: Option<&ConfigFile>,
    flags: &BTreeMap<String, Vec<String>>,
) -> Result<Settings, ConfigError> {
    // The flags alone first, so an error in one names the flag.
    Settings::deserialize(flags::FlagMap::new(flags, None))?;
    let settings = Settings::deserialize(flags::FlagMap::new(flags, file.map(|f| &f.table)))
        .map_err(|e| match file {
            Some(f) => ConfigError(format!("{}: {e}", f.path.display())),
            None => e,
        })?;
    settings.check()?;
    Ok(settings)
}

impl Settings {
    /// What serde cannot check alone.
    fn check(&self) -> Result<(), ConfigError> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(ConfigError("cert and key go together".to_owned()));
        }
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return Err(ConfigError(
                "max-connections and max-connections-per-ip must be positive".to_owned(),
            ));
        }
        if self.run_as.is_none() && self.run_as_group.is_some() {
            return Err(ConfigError("run-as-group needs run-as".to_owned()));
        }
        let mut names = std::collections::HashSet::new();
        if let Some(u) = self.user.iter().find(|u| !names.insert(u.name.clone())) {
            return Err(ConfigError(format!("user {} is given twice", u.name)));
        }
        Ok(())
    }

    /// Every listener's name and address (`None`: off), the metrics endpoint's too.
    pub fn listeners(&self) -> [crate::service::Configured; 9] {
        [
            ("smtp", self.smtp.addr()),
            ("submission", self.submission.addr()),
            ("smtps", self.smtps.addr()),
            ("lmtp", self.lmtp.addr()),
            ("imap", self.imap.addr()),
            ("imaps", self.imaps.addr()),
            ("pop3", self.pop3.addr()),
            ("pop3s", self.pop3s.addr()),
            ("metrics", self.metrics.addr()),
        ]
    }

    /// The keys of every setting, as in the file (the flags are `--` + key).
    pub fn keys() -> &'static [&'static str] {
        flags::KEYS.get_or_init(flags::probe_keys)
    }
}

#[cfg(test)]
mod tests;

impl Settings {
    /// The local domains: those configured, or `localhost` and `example.org`.
    pub fn domains(&self) -> Vec<String> {
        if self.domain.is_empty() {
            vec!["localhost".to_owned(), "example.org".to_owned()]
        } else {
            self.domain.iter().map(|d| d.to_lowercase()).collect()
        }
    }

    /// The accounts: `user` entries and the users files (read now; errors name the file and
    /// line). With none at all, the demo account `demo` with `demo_password` when given.
    pub fn accounts(&self, demo_password: Option<&str>) -> Result<Vec<User>, ConfigError> {
        let mut users: Vec<User> = self
            .user
            .iter()
            .map(|u| User {
                name: u.name.clone(),
                password: u.password.as_str().into(),
                senders: Vec::new(),
                quota: None,
            })
            .collect();
        for path in &self.users {
            users.extend(read_users_file(path).map_err(|e| ConfigError(e.to_string()))?);
        }
        let mut names = std::collections::HashSet::new();
        if let Some(u) = users.iter().find(|u| !names.insert(u.name.clone())) {
            return Err(ConfigError(format!("user {} is given twice", u.name)));
        }
        if let (true, Some(password)) = (users.is_empty(), demo_password) {
            users.push(User {
                name: "demo".to_owned(),
                password: password.into(),
                senders: Vec::new(),
                quota: None,
            });
        }
        Ok(users)
    }

    /// Relaying, DNS, DKIM and inbound checks, their values checked.
    fn outbound(&self) -> Result<Outbound, ConfigError> {
        let networks = self
            .relay_networks
            .iter()
            .map(|n| {
                n.parse()
                    .map_err(|e| ConfigError(format!("relay-networks: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let smarthost = match &self.smarthost {
            None => None,
            Some(hp) => {
                let bad = || ConfigError(format!("smarthost: {hp:?} is not HOST:PORT"));
                let (host, port) = hp.rsplit_once(':').ok_or_else(bad)?;
                let port = port.parse().map_err(|_| bad())?;
                if host.is_empty() {
                    return Err(bad());
                }
                Some((host.trim_matches(['[', ']']).to_owned(), port))
            }
        };
        let dns_servers = self
            .dns_server
            .iter()
            .map(|s| {
                s.parse::<std::net::SocketAddr>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
                    .map_err(|_| ConfigError(format!("dns-server: {s:?} is not IP or IP:PORT")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Outbound {
            relay: self.relay.0,
            relay_networks: networks,
            smarthost,
            dns_servers,
            mx_port: self.mx_port,
            dkim_keys: self.dkim_keys.clone(),
            dkim_selector: self.dkim_selector.clone(),
            check_inbound: self.check_inbound.0,
        })
    }

    /// The server's options: the accounts read as [`Settings::accounts`] says.
    pub fn server_options(
        &self,
        demo_password: Option<&str>,
    ) -> Result<ServerOptions, ConfigError> {
        let users = self.accounts(demo_password)?;
        let quotas = users
            .iter()
            .map(|u| (u.name.clone(), u.quota.unwrap_or_default()))
            .collect();
        let directory = Directory::new(self.domains(), users);
        let mut o = ServerOptions::new(self.data_dir.clone(), &self.hostname, directory);
        o.smtp = self.smtp.addr();
        o.submission = self.submission.addr();
        o.smtps = self.smtps.addr();
        o.lmtp = self.lmtp.addr();
        o.imap = self.imap.addr();
        o.imaps = self.imaps.addr();
        o.pop3 = self.pop3.addr();
        o.pop3s = self.pop3s.addr();
        o.metrics = self.metrics.addr();
        o.quotas = quotas;
        o.store.clone_from(&self.store);
        o.allow_plaintext_loopback = self.allow_plaintext_loopback.0;
        o.limits = ConnectionLimits {
            total: self.max_connections,
            per_ip: self.max_connections_per_ip,
        };
        if let Some(Seconds(t)) = self.idle_timeout {
            o.smtp_limits.command_timeout = t;
            o.smtp_limits.data_timeout = t;
            o.imap_limits.unauthenticated_timeout = t;
            o.imap_limits.autologout_timeout = t;
            o.pop3_limits.idle_timeout = t;
        }
        if let Some(Octets(n)) = self.max_message_size {
            o.smtp_limits.max_message_size = n;
            // APPEND's literal is the message; a command may hold some text around it.
            let frame = &mut o.imap_limits.frame;
            frame.max_literal = n;
            frame.max_nonsync_literal = frame.max_nonsync_literal.min(n);
            frame.max_message = frame.max_message.max(n.saturating_add(16 << 20));
        }
        if let Some(n) = self.login_delay_after {
            o.throttle.slow_after = n;
        }
        if let Some(n) = self.login_lockout_after {
            o.throttle.refuse_after = if n == 0 { u32::MAX } else { n };
        }
        if let Some(Seconds(t)) = self.login_lockout_time {
            o.throttle.forget_after = t;
        }
        if let Some(n) = self.max_recipients {
            o.smtp_limits.max_recipients = n;
        }
        o.bare_line_endings = self.bare_line_endings.into();
        if let Some(Octets(n)) = self.journal_reserve {
            o.journal_reserve = n;
        }
        o.outbound = self.outbound()?;
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            o.cert = CertSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            };
        }
        Ok(o)
    }
}
