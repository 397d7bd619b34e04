//! Mail to other systems: the queue that SMTP submission fills, and what empties it.
//!
//! - [`queue`]: the storage interface ([`queue::QueueStore`]) and its embedded default on
//!   disk ([`queue::DiskQueue`]); a message is durable there before its `250`.
//! - [`Relay`]: what [`SmtpService`](crate::smtp::SmtpService) needs to accept recipients
//!   elsewhere: the queue, who may relay (authenticated users, trusted networks), and the
//!   scheduler's wake-up.
//! - [`delivery`]: one attempt at a destination (MX lookup through [`dns`], the SMTP client
//!   session, TLS policy, a result per recipient); [`schedule`]: the queue runner (retries
//!   with backoff, expiry, which DSNs are due); [`dsn`]: the RFC 3464 notifications.

use std::{
    net::IpAddr,
    str::FromStr,
    sync::{Arc, Mutex, PoisonError},
};

pub mod delivery;
pub mod dns;
pub mod dsn;
pub mod queue;
pub mod schedule;
pub mod setup;

use queue::QueueStore;

/// An IP network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is inside (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|e| format!("{s}: not an IP network: {e}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self {
            addr: addr.to_canonical(),
            prefix,
        })
    }
}

/// Relaying: accepting recipients that are not local, into the outbound queue.
pub struct Relay {
    /// Where relayed messages are queued.
    pub queue: Arc<dyn QueueStore>,
    /// Clients in these networks may relay without logging in (port 25 from a trusted
    /// host); an authenticated client may relay from anywhere.
    pub trusted_networks: Vec<Network>,
    /// Told when a message was queued, so the runner tries it at once.
    pub wakeup: Arc<Wakeup>,
}

/// How the queue runner hears of new messages without reading the whole queue again.
#[derive(Debug, Default)]
pub struct Wakeup {
    fresh: Mutex<Vec<String>>,
    notify: tokio::sync::Notify,
}

impl Wakeup {
    /// Tells the runner that `id` was queued.
    pub fn queued(&self, id: String) {
        self.fresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id);
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.fresh.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("trusted_networks", &self.trusted_networks)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Relaying into `queue`, for authenticated clients only.
    pub fn new(queue: Arc<dyn QueueStore>) -> Self {
        Self {
            queue,
            trusted_networks: Vec::new(),
            wakeup: Arc::default(),
        }
    }

    /// Whether a client at `peer`, logged in or not, may relay.
    pub fn allows(&self, peer: IpAddr, authenticated: bool) -> bool {
        authenticated || self.trusted_networks.iter().any(|n| n.contains(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let n: Network = "192.0.2.0/24".parse().unwrap();
        assert!(n.contains("192.0.2.77".parse().unwrap()));
        assert!(n.contains("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        assert!(!n.contains("2001:db8::1".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        let one: Network = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
    }
}
