//! Logins: the [`Accounts`] policy a server supplies, and the [`Authenticator`] every
//! listener shares, which checks passwords off the async workers and throttles addresses that
//! keep failing (slower answers, then refusal for a while), over SMTP AUTH, IMAP
//! LOGIN/AUTHENTICATE and POP3 USER/PASS/AUTH/APOP alike.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use sansmail_core::Credentials;
use sansmail_smtp::{ForwardPath, ReversePath};
use sansmail_store::AccountName;

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
/// that is not enough, the oldest [`EVICT`].
const MAX_TRACKED: usize = 65_536;
/// How many of the oldest entries go at once when every remembered address is still fresh:
/// the scan that finds them is then paid once per that many new addresses, not for each
/// failure from a new one (an attacker rotating through addresses), under the lock that
/// every login's check takes.
const EVICT: usize = MAX_TRACKED / 8;

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
            // Down to `EVICT` under the limit whatever expired, so that the next scan is that
            // many new addresses away.
            if let Some(excess) = (map.len() + EVICT).checked_sub(MAX_TRACKED)
                && excess > 0
            {
                let mut last: Vec<Instant> = map.values().map(|f| f.last).collect();
                let (_, &mut cutoff, _) = last.select_nth_unstable(excess - 1);
                map.retain(|_, f| f.last > cutoff);
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

/// Who the server's users are: the policy a server built on this crate supplies. The
/// protocols ask it to check a login and to say where mail for an address goes.
pub trait Accounts: Send + Sync + 'static {
    /// The account `credentials` open: the password is right, and an authorization identity,
    /// if the client named one, is one the user may act as. Password hashes are slow on
    /// purpose; this runs on tokio's blocking pool.
    fn verify(&self, credentials: &Credentials) -> Option<AccountName>;

    /// `user`'s shared secret for APOP (RFC 1939 §7), which only a password kept in
    /// plaintext provides. `None` refuses APOP for the user.
    fn apop_secret(&self, user: &str) -> Option<String> {
        let _ = user;
        None
    }

    /// Whether APOP can work for anyone here (some user has a plaintext secret): the POP3
    /// greeting carries the APOP timestamp only then, since the timestamp is how APOP is
    /// offered (RFC 1939 §7) and clients that see it try APOP first.
    fn offers_apop(&self) -> bool {
        false
    }

    /// Where mail to `to` is delivered here: a local account's INBOX, or why not.
    fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal>;

    /// Whether `account`, logged in, may send with `from` as the envelope sender (Postfix's
    /// `reject_sender_login_mismatch`). By default: an address that is delivered to the
    /// account itself, and the null sender `<>`.
    fn may_send_as(&self, account: &AccountName, from: &ReversePath<'_>) -> bool {
        match from.mailbox() {
            None => true,
            Some(m) => self
                .recipient(&ForwardPath::Mailbox(m.clone()))
                .is_ok_and(|owner| &owner == account),
        }
    }
}

/// Why an address is not delivered here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The domain is not local and the server does not relay (`554 5.7.1`).
    NotLocal,
    /// The domain is local but has no such user (`550 5.1.1`).
    NoSuchUser,
    /// An address literal (`user@[192.0.2.1]`) names no local domain (`550 5.1.2`).
    AddressLiteral,
}

/// The accounts and the throttle, which every listener shares. It does not log: each
/// connection's [`ConnectionRecord::login`](crate::record::ConnectionRecord::login) does, with
/// the protocol and the account.
pub struct Authenticator {
    /// Users and their passwords.
    pub accounts: Arc<dyn Accounts>,
    /// Failed logins per address.
    pub throttle: Throttle,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator for `accounts` whose throttle follows `config`.
    pub fn new(accounts: Arc<dyn Accounts>, config: ThrottleConfig) -> Self {
        Self {
            accounts,
            throttle: Throttle::new(config),
        }
    }

    /// Checks a password from `peer` (on the blocking pool), waiting as the throttle says
    /// before a failure is answered.
    pub async fn login(&self, peer: IpAddr, credentials: Credentials) -> Login {
        let accounts = Arc::clone(&self.accounts);
        self.finish(peer, move || accounts.verify(&credentials))
            .await
    }

    /// APOP: checks `digest` for `user` against the greeting's `timestamp`.
    pub async fn apop(
        &self,
        peer: IpAddr,
        user: String,
        timestamp: String,
        digest: String,
    ) -> Login {
        let accounts = Arc::clone(&self.accounts);
        let check = move || {
            let secret = accounts.apop_secret(&user)?;
            if !sansmail_pop3::apop::verify(&timestamp, &secret, &digest) {
                return None;
            }
            accounts.verify(&Credentials::new(user, secret))
        };
        self.finish(peer, check).await
    }

    /// Runs `check` unless `peer` is refused, and answers as the throttle says.
    async fn finish(
        &self,
        peer: IpAddr,
        check: impl FnOnce() -> Option<AccountName> + Send + 'static,
    ) -> Login {
        if self.throttle.refused(peer, Instant::now()) {
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
                tracing::debug!(%peer, delay_ms = wait.as_millis(), "login failed: answer delayed");
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

    /// With every remembered address still fresh, a failure from one more drops the oldest
    /// eighth at once: the next new addresses are taken without another scan, and the
    /// newest failures are still counted.
    #[test]
    fn a_full_throttle_drops_its_oldest_entries_in_a_batch() {
        let t = Throttle::new(ThrottleConfig::default());
        let t0 = Instant::now();
        let ip = |i: usize| IpAddr::from((0x0a00_0000 + u32::try_from(i).unwrap()).to_be_bytes());
        let at = |i: usize| t0 + Duration::from_millis(u64::try_from(i).unwrap());
        for i in 0..MAX_TRACKED {
            t.failed(ip(i), at(i));
        }
        let len = || t.failures.lock().unwrap().len();
        assert_eq!(len(), MAX_TRACKED);
        let now = at(MAX_TRACKED);
        t.failed(ip(MAX_TRACKED), now);
        assert_eq!(len(), MAX_TRACKED - EVICT + 1);
        assert_eq!(t.current(ip(0), now), 0);
        assert_eq!(t.current(ip(EVICT - 1), now), 0);
        assert_eq!(t.current(ip(EVICT), now), 1);
        assert_eq!(t.current(ip(MAX_TRACKED - 1), now), 1);
        assert_eq!(t.current(ip(MAX_TRACKED), now), 1);
        t.failed(ip(MAX_TRACKED + 1), now);
        assert_eq!(len(), MAX_TRACKED - EVICT + 2, "no second eviction");
    }

    /// When some remembered failures have expired, the map still goes down to `EVICT` under
    /// the limit, the expired ones first: not just by what expired, which would make the
    /// next new address scan the map again.
    #[test]
    fn a_full_throttle_drops_to_an_eighth_under_the_limit_when_some_expired() {
        let t = Throttle::new(ThrottleConfig::default());
        let forget = ThrottleConfig::default().forget_after;
        let t0 = Instant::now();
        let ip = |i: usize| IpAddr::from((0x0a00_0000 + u32::try_from(i).unwrap()).to_be_bytes());
        let at = |i: usize| t0 + Duration::from_millis(u64::try_from(i).unwrap());
        for i in 0..MAX_TRACKED {
            t.failed(ip(i), at(i));
        }
        // The first ten have expired by then.
        let now = at(10) + forget;
        t.failed(ip(MAX_TRACKED), now);
        assert_eq!(t.failures.lock().unwrap().len(), MAX_TRACKED - EVICT + 1);
        assert_eq!(t.current(ip(EVICT - 1), now), 0);
        assert_eq!(t.current(ip(EVICT), now), 1);
    }
}
