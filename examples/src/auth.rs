//! Passwords and logins: stored password forms (`--user` plaintext, `--users FILE` hashes),
//! the users file, and the per-address throttle that slows repeated failed logins down and
//! then refuses them for a while. Shared by SMTP AUTH, IMAP LOGIN/AUTHENTICATE and POP3
//! USER/PASS/AUTH/APOP.

use std::{
    collections::HashMap,
    fmt, io,
    net::IpAddr,
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use mail_core::Credentials;
use mail_store::AccountName;

use crate::store_glue::Directory;

/// A user's password as the server keeps it.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// Given on the command line (`--user NAME:PASSWORD`). The only form APOP can use.
    Plain(String),
    /// An Argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    Argon2(String),
    /// A SHA512-CRYPT string (`$6$[rounds=N$]salt$hash`).
    Sha512Crypt(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret, not even a hash (offline guessing).
        f.write_str(match self {
            Self::Plain(_) => "Password::Plain(..)",
            Self::Argon2(_) => "Password::Argon2(..)",
            Self::Sha512Crypt(_) => "Password::Sha512Crypt(..)",
        })
    }
}

impl From<&str> for Password {
    fn from(plain: &str) -> Self {
        Self::Plain(plain.to_owned())
    }
}

impl Password {
    /// A stored hash: `$argon2id$…` (or `$argon2i$`, `$argon2d$`) or `$6$…`, optionally
    /// behind the scheme prefix Dovecot's passwd-files use (`{ARGON2ID}`, `{SHA512-CRYPT}`).
    /// Anything else, plaintext included, is refused: a users file holds hashes only.
    pub fn parse_hash(stored: &str) -> Result<Self, String> {
        let hash = match stored.strip_prefix('{') {
            Some(rest) => {
                let (scheme, hash) = rest
                    .split_once('}')
                    .ok_or_else(|| "unterminated {SCHEME} prefix".to_owned())?;
                let expected = match scheme.to_ascii_uppercase().as_str() {
                    "ARGON2ID" | "ARGON2I" | "ARGON2D" | "ARGON2" => "$argon2",
                    "SHA512-CRYPT" => "$6$",
                    other => return Err(format!("unsupported scheme {{{other}}}")),
                };
                if !hash.starts_with(expected) {
                    return Err(format!(
                        "{{{scheme}}} but the hash does not start with {expected}"
                    ));
                }
                hash
            }
            None => stored,
        };
        if hash.starts_with("$argon2") {
            PasswordHash::new(hash).map_err(|e| format!("bad Argon2 hash: {e}"))?;
            Ok(Self::Argon2(hash.to_owned()))
        } else if let Some(rest) = hash.strip_prefix("$6$") {
            // salt$hash, or rounds=N$salt$hash; the hash is 86 characters of crypt base64.
            let digest = rest.rsplit('$').next().unwrap_or_default();
            let well_formed = rest.contains('$')
                && digest.len() == 86
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
            if !well_formed {
                return Err(
                    "bad SHA512-CRYPT hash: expected $6$[rounds=N$]salt$<86 characters>".into(),
                );
            }
            Ok(Self::Sha512Crypt(hash.to_owned()))
        } else {
            Err(
                "not a password hash: expected $argon2id$… or $6$… (see `mailctl hash-password`)"
                    .to_owned(),
            )
        }
    }

    /// Whether `candidate` is this password. Hash checks cost milliseconds on purpose: call it
    /// off the async workers.
    pub fn verify(&self, candidate: &str) -> bool {
        match self {
            Self::Plain(known) => {
                // Compare every octet so the time taken does not tell where a guess went wrong.
                known.len() == candidate.len()
                    && known
                        .bytes()
                        .zip(candidate.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }
            Self::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &hash)
                    .is_ok()
            }),
            Self::Sha512Crypt(hash) => sha_crypt::sha512_check(candidate, hash).is_ok(),
        }
    }

    /// The secret itself, which only a plaintext password has (APOP needs it).
    pub fn plaintext(&self) -> Option<&str> {
        match self {
            Self::Plain(p) => Some(p),
            Self::Argon2(_) | Self::Sha512Crypt(_) => None,
        }
    }
}

/// An Argon2id hash of `password` with the crate's default (OWASP-recommended) parameters
/// and a random salt, as a PHC string for a users file.
pub fn hash_password(password: &str) -> io::Result<String> {
    let mut salt = [0u8; 16];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    }
    let salt = SaltString::encode_b64(&salt).map_err(|e| io::Error::other(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Reads a users file: one `name:hash` a line (a Dovecot passwd-file's first two fields also
/// work: whatever follows a second `:` is ignored), `#` comments and blank lines skipped. User
/// names are lower-cased. Errors name the file and line.
pub fn read_users_file(path: &Path) -> Result<Vec<(String, Password)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_users(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))
}

/// [`read_users_file`]'s parser; errors carry the 1-based line number.
pub fn parse_users(text: &str) -> Result<Vec<(String, Password)>, (usize, String)> {
    let mut users = Vec::new();
    let mut seen = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let name = fields.next().unwrap_or_default().to_lowercase();
        let hash = fields
            .next()
            .ok_or_else(|| (n, "expected NAME:HASH".to_owned()))?;
        AccountName::try_from(name.as_str())
            .map_err(|e| (n, format!("user name {name:?}: {e}")))?;
        if let Some(first) = seen.insert(name.clone(), n) {
            return Err((n, format!("user {name} already defined on line {first}")));
        }
        let password = Password::parse_hash(hash).map_err(|e| (n, format!("user {name}: {e}")))?;
        users.push((name, password));
    }
    Ok(users)
}

/// How failed logins from one client address are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures after which each further failed attempt is answered only after a delay.
    pub slow_after: u32,
    /// The first delay; it doubles with each further failure, up to `max_delay`.
    pub delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Failures after which every login from the address is refused, right or wrong, until
    /// `forget_after` has passed since the last failure.
    pub refuse_after: u32,
    /// How long failures are remembered.
    pub forget_after: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            slow_after: 3,
            delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            refuse_after: 10,
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}

/// The address failures are counted under: an IPv4 address (also when IPv4-mapped), or an
/// IPv6 address's /64 — one host usually has a whole /64 to rotate through.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Failed logins per client address (IPv6: per /64), over every protocol and connection.
#[derive(Debug, Default)]
pub struct Throttle {
    config: ThrottleConfig,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The most addresses remembered; past it, the entries that expired are dropped first and, if
/// that is not enough, the oldest.
const MAX_TRACKED: usize = 65_536;

impl Throttle {
    /// A throttle with `config`.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            failures: Mutex::default(),
        }
    }

    fn current(&self, ip: IpAddr, now: Instant) -> u32 {
        let ip = bucket(ip);
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&ip)
            .filter(|f| now.duration_since(f.last) < self.config.forget_after)
            .map_or(0, |f| f.count)
    }

    /// Whether logins from `ip` are refused without looking at the password.
    pub fn refused(&self, ip: IpAddr, now: Instant) -> bool {
        self.current(ip, now) >= self.config.refuse_after
    }

    /// Records a failure; returns how long to wait before answering it.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> Duration {
        let ip = bucket(ip);
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            let forget = self.config.forget_after;
            map.retain(|_, f| now.duration_since(f.last) < forget);
            if map.len() >= MAX_TRACKED
                && let Some(oldest) = map.iter().min_by_key(|(_, f)| f.last).map(|(ip, _)| *ip)
            {
                map.remove(&oldest);
            }
        }
        let entry = map.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= self.config.forget_after {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        let beyond = entry.count.saturating_sub(self.config.slow_after);
        if beyond == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (beyond - 1).min(16);
        self.config
            .delay
            .saturating_mul(factor)
            .min(self.config.max_delay)
    }

    /// A successful login forgets the address's failures.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&bucket(ip));
    }
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The password is right.
    Accepted(AccountName),
    /// Wrong user or password (already delayed as the throttle says).
    Failed,
    /// Too many failures from this address: refused without a check, try again later.
    Refused,
}

/// The directory and the throttle, which every listener shares.
#[derive(Debug)]
pub struct Authenticator {
    /// Users and their passwords.
    pub directory: Arc<Directory>,
    /// Failed logins per address.
    pub throttle: Throttle,
}

impl Authenticator {
    /// An authenticator for `directory` whose throttle follows `config`.
    pub fn new(directory: Arc<Directory>, config: ThrottleConfig) -> Self {
        Self {
            directory,
            throttle: Throttle::new(config),
        }
    }

    /// Checks a password from `peer` (on the blocking pool: hashes are slow on purpose),
    /// waiting as the throttle says before a failure is answered.
    pub async fn login(&self, peer: IpAddr, credentials: Credentials) -> Login {
        let directory = Arc::clone(&self.directory);
        let check = move || {
            directory.authenticate(
                credentials.authzid.as_deref(),
                &credentials.authcid,
                credentials.password.expose(),
            )
        };
        self.finish(peer, check).await
    }

    /// Runs `check` unless `peer` is refused, and answers as the throttle says. For mechanisms
    /// the caller verifies itself (APOP).
    pub async fn finish(
        &self,
        peer: IpAddr,
        check: impl FnOnce() -> Option<AccountName> + Send + 'static,
    ) -> Login {
        if self.throttle.refused(peer, Instant::now()) {
            tracing::warn!(%peer, "login refused: too many failures from this address");
            return Login::Refused;
        }
        let account = tokio::task::spawn_blocking(check).await.ok().flatten();
        match account {
            Some(account) => {
                self.throttle.succeeded(peer);
                Login::Accepted(account)
            }
            None => {
                let wait = self.throttle.failed(peer, Instant::now());
                tracing::info!(%peer, delay_ms = wait.as_millis(), "login failed");
                tokio::time::sleep(wait).await;
                Login::Failed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        let p = Password::parse_hash(&phc).unwrap();
        assert!(matches!(p, Password::Argon2(_)));
        assert!(p.verify("correct horse"));
        assert!(!p.verify("correct hors"));
        assert!(!p.verify(""));
        assert_eq!(p.plaintext(), None);
        // A salt is drawn each time.
        assert_ne!(phc, hash_password("correct horse").unwrap());
    }

    #[test]
    fn sha512_crypt_known_answer() {
        // The first example of the SHA-crypt specification (Drepper), "Hello world!".
        let h = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        let p = Password::parse_hash(h).unwrap();
        assert!(p.verify("Hello world!"));
        assert!(!p.verify("Hello world"));
        let prefixed = Password::parse_hash(&format!("{{SHA512-CRYPT}}{h}")).unwrap();
        assert_eq!(prefixed, p);
    }

    #[test]
    fn users_file_errors_name_the_line() {
        let phc = hash_password("x").unwrap();
        let text = format!("# users\n\nAlice:{phc}\nbob:secret\n");
        let (line, msg) = parse_users(&text).unwrap_err();
        assert_eq!(line, 4);
        assert!(
            msg.contains("bob") && msg.contains("not a password hash"),
            "{msg}"
        );
        let dup = format!("alice:{phc}\nALICE:{phc}\n");
        let (line, msg) = parse_users(&dup).unwrap_err();
        assert_eq!((line, msg.contains("line 1")), (2, true), "{msg}");
        assert_eq!(parse_users("carol\n").unwrap_err().0, 1);
        assert!(
            parse_users("x:{MD5}abc\n")
                .unwrap_err()
                .1
                .contains("unsupported scheme")
        );
        let ok = parse_users(&format!("Alice:{phc}:1000:1000::/home/alice\n")).unwrap();
        assert_eq!(ok[0].0, "alice");
        assert!(ok[0].1.verify("x"));
    }

    #[test]
    fn throttle_slows_then_refuses_then_forgets() {
        let config = ThrottleConfig {
            slow_after: 2,
            delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            refuse_after: 5,
            forget_after: Duration::from_secs(60),
        };
        let t = Throttle::new(config);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let t0 = Instant::now();
        let delays: Vec<u128> = (0..5).map(|_| t.failed(ip, t0).as_millis()).collect();
        assert_eq!(delays, [0, 0, 100, 200, 300]);
        assert!(t.refused(ip, t0));
        assert!(!t.refused(other, t0), "the throttle is per address");
        assert!(
            !t.refused(ip, t0 + Duration::from_secs(61)),
            "failures expire"
        );
        assert_eq!(t.failed(ip, t0 + Duration::from_secs(61)), Duration::ZERO);
        t.failed(other, t0);
        t.succeeded(other);
        assert_eq!(t.current(other, t0), 0);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let config = ThrottleConfig {
            refuse_after: 2,
            ..ThrottleConfig::default()
        };
        let t = Throttle::new(config);
        let now = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::7".parse().unwrap();
        let other_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        t.failed(a, now);
        t.failed(b, now);
        assert!(t.refused(a, now) && t.refused(b, now), "one /64, one count");
        assert!(!t.refused(other_net, now));
        let v4: IpAddr = [192, 0, 2, 9].into();
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        t.failed(v4, now);
        t.failed(mapped, now);
        assert!(t.refused(v4, now));
    }
}
