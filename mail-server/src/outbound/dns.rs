//! The DNS lookups outbound delivery needs (MX, then A/AAAA), behind a small trait so that
//! delivery is tested without a network: [`HickoryResolver`] asks real DNS servers (the
//! system's, or ones the operator names), [`StaticResolver`] answers from a table.

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    time::Duration,
};

use hickory_resolver::{
    TokioResolver,
    config::{NameServerConfigGroup, ResolverConfig},
    name_server::TokioConnectionProvider,
};

/// A future the resolver returns.
pub type Lookup<'a, T> = Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>;

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist, or has no record of the type asked (an authoritative
    /// answer: a fact, not a failure).
    #[error("{0}: no such record")]
    NotFound(String),
    /// The lookup failed (timeout, SERVFAIL): try again later.
    #[error("{name}: DNS lookup failed: {reason}")]
    Temporary {
        /// The name looked up.
        name: String,
        /// What failed.
        reason: String,
    },
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// Lower is tried first.
    pub preference: u16,
    /// The mail exchanger's host name, without the trailing dot (`.` itself for a null MX,
    /// RFC 7505).
    pub exchange: String,
}

/// The lookups delivery makes.
pub trait Resolver: Send + Sync + 'static {
    /// The MX records of `domain`.
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Vec<Mx>>;
    /// The IPv4 and IPv6 addresses of `host`.
    fn ips<'a>(&'a self, host: &'a str) -> Lookup<'a, Vec<IpAddr>>;
}

/// Real DNS through hickory-resolver.
pub struct HickoryResolver(TokioResolver);

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HickoryResolver")
    }
}

impl HickoryResolver {
    /// The system's resolvers (`/etc/resolv.conf`).
    pub fn system() -> std::io::Result<Self> {
        let mut builder = TokioResolver::builder_tokio().map_err(std::io::Error::other)?;
        both_families(builder.options_mut());
        Ok(Self(builder.build()))
    }

    /// Asks the DNS servers at `servers` (UDP, then TCP for truncated answers), each query
    /// given `timeout`. Tests start one on a loopback address.
    pub fn with_servers(servers: &[SocketAddr], timeout: Duration) -> Self {
        let mut group = NameServerConfigGroup::with_capacity(servers.len() * 2);
        for s in servers {
            group.merge(NameServerConfigGroup::from_ips_clear(
                &[s.ip()],
                s.port(),
                true,
            ));
        }
        let config = ResolverConfig::from_parts(None, Vec::new(), group);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
        builder.options_mut().timeout = timeout;
        builder.options_mut().attempts = 2;
        // Mail domains are absolute: no search list.
        builder.options_mut().ndots = 0;
        both_families(builder.options_mut());
        Self(builder.build())
    }

    /// The resolver, for other lookups (TXT for SPF/DKIM/DMARC).
    pub fn inner(&self) -> &TokioResolver {
        &self.0
    }
}

/// A and AAAA both: hickory's default asks for AAAA only when there is no A, so a
/// dual-stack MX unreachable over IPv4 would never be tried over IPv6 (RFC 5321 §5.1: every
/// address of a host is tried).
fn both_families(options: &mut hickory_resolver::config::ResolverOpts) {
    options.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4AndIpv6;
}

/// Only an answer that the name does not exist (NXDOMAIN) or has no records of the type
/// (NODATA, a NOERROR answer) is `NotFound`, a permanent fact. Hickory reports SERVFAIL,
/// REFUSED and other failures as "no records" too (with their response code): those, like
/// timeouts, are temporary (RFC 5321 §5.1; Postfix defers with 4.4.3).
fn classify(name: &str, e: &hickory_resolver::proto::ProtoError) -> DnsError {
    use hickory_resolver::proto::{NoRecords, ProtoErrorKind, op::ResponseCode};
    let negative = matches!(
        e.kind(),
        ProtoErrorKind::NoRecordsFound(NoRecords {
            response_code: ResponseCode::NXDomain | ResponseCode::NoError,
            ..
        })
    );
    if negative {
        DnsError::NotFound(name.to_owned())
    } else {
        DnsError::Temporary {
            name: name.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// `name` as an absolute DNS name (a trailing dot), so no search list applies.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

impl Resolver for HickoryResolver {
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Vec<Mx>> {
        Box::pin(async move {
            let answer = self
                .0
                .mx_lookup(fqdn(domain))
                .await
                .map_err(|e| classify(domain, &e))?;
            Ok(answer
                .iter()
                .map(|mx| {
                    let name = mx.exchange().to_ascii();
                    let trimmed = name.strip_suffix('.').unwrap_or(&name);
                    Mx {
                        preference: mx.preference(),
                        exchange: if trimmed.is_empty() {
                            ".".to_owned()
                        } else {
                            trimmed.to_ascii_lowercase()
                        },
                    }
                })
                .collect())
        })
    }

    fn ips<'a>(&'a self, host: &'a str) -> Lookup<'a, Vec<IpAddr>> {
        Box::pin(async move {
            let answer = self
                .0
                .lookup_ip(fqdn(host))
                .await
                .map_err(|e| classify(host, &e))?;
            Ok(answer.iter().collect())
        })
    }
}

/// Answers from tables: for tests, and for sites that route by a fixed map.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    /// MX records per domain (lower case).
    pub mx: HashMap<String, Vec<Mx>>,
    /// Addresses per host name (lower case).
    pub hosts: HashMap<String, Vec<IpAddr>>,
    /// Names whose lookups fail temporarily.
    pub failing: Vec<String>,
}

impl StaticResolver {
    fn check(&self, name: &str) -> Result<String, DnsError> {
        let name = name.to_ascii_lowercase();
        if self.failing.contains(&name) {
            return Err(DnsError::Temporary {
                name,
                reason: "SERVFAIL (static)".into(),
            });
        }
        Ok(name)
    }
}

impl Resolver for StaticResolver {
    fn mx<'a>(&'a self, domain: &'a str) -> Lookup<'a, Vec<Mx>> {
        Box::pin(async move {
            let name = self.check(domain)?;
            self.mx.get(&name).cloned().ok_or(DnsError::NotFound(name))
        })
    }

    fn ips<'a>(&'a self, host: &'a str) -> Lookup<'a, Vec<IpAddr>> {
        Box::pin(async move {
            let name = self.check(host)?;
            self.hosts
                .get(&name)
                .cloned()
                .ok_or(DnsError::NotFound(name))
        })
    }
}
