//! One delivery attempt: a queued message to the pending recipients of one destination
//! domain, over SMTP, with an outcome per recipient.
//!
//! The route (RFC 5321 §5.1): the domain's MX hosts in preference order (equal preferences
//! in random order), the domain itself when it has no MX (the implicit MX), none when its MX
//! is the null MX `.` (RFC 7505); or a smarthost for everything. Each host's addresses are
//! tried in turn until one takes the transaction. The session is `sansmail-smtp`'s client
//! through its tokio driver: EHLO, STARTTLS as the [`TlsMode`] says, AUTH at a smarthost,
//! PIPELINING, SIZE, CHUNKING; a message that needs 8BITMIME, BINARYMIME or SMTPUTF8 is
//! refused for good when the peer lacks it rather than sent altered (RFC 6152 §3, RFC 6531
//! §3.7.5).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sansmail_core::{
    Credentials,
    swept::SweptMap,
    tls::{self, Stream, TlsConnector, Verify},
};
use sansmail_smtp::{
    DomainPart, ForwardPath, Mailbox, ReversePath,
    session::client::{ClientConfig, ClientError, Envelope, Stage, TlsPolicy},
    tokio::client::{Error as ClientFailure, SmtpClient},
    types::{
        params::{Body, Notify as SmtpNotify, Orcpt, Ret},
        reply::Reply,
        xtext::XText,
    },
};
use tokio::{net::TcpStream, sync::Semaphore};

use super::{
    dns::{DnsError, Resolver},
    queue::{BodyType, QueueEntry, QueuedRecipient, Return},
};

/// How STARTTLS is used towards a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// STARTTLS whenever offered, certificate unchecked (RFC 7435); plaintext when it is not
    /// offered or its handshake fails.
    #[default]
    Opportunistic,
    /// STARTTLS must succeed (the certificate is not checked); otherwise the host is skipped
    /// and the message deferred.
    Required,
    /// STARTTLS must succeed with a certificate valid for the MX host's name.
    Verified,
}

impl std::str::FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "opportunistic" | "may" => Ok(Self::Opportunistic),
            "required" | "encrypt" => Ok(Self::Required),
            "verified" | "verify" => Ok(Self::Verified),
            _ => Err(format!("{s}: expected opportunistic, required or verified")),
        }
    }
}

/// Everything to one relay host instead of each domain's MX.
#[derive(Debug, Clone)]
pub struct Smarthost {
    /// Its name (the certificate is checked against it in [`TlsMode::Verified`]) or address.
    pub host: String,
    /// Its port (587 for submission, 25, 465 with `implicit_tls`).
    pub port: u16,
    /// Log in with these (PLAIN or LOGIN; only over TLS unless the host is on loopback).
    pub credentials: Option<Credentials>,
    /// TLS from the first octet (port 465).
    pub implicit_tls: bool,
}

/// How messages are delivered.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The name given in EHLO.
    pub hello_name: String,
    /// The port MX hosts are reached on (25; tests use others).
    pub port: u16,
    /// Relay everything through this host instead.
    pub smarthost: Option<Smarthost>,
    /// STARTTLS use by default.
    pub tls: TlsMode,
    /// STARTTLS use for particular domains (lower case), overriding `tls`.
    pub tls_per_domain: HashMap<String, TlsMode>,
    /// How certificates are checked in [`TlsMode::Verified`].
    pub verify: Verify,
    /// How long a TCP connection may take.
    pub connect_timeout: Duration,
    /// How long to wait for a reply (RFC 5321 §4.5.3.2: 5 minutes).
    pub reply_timeout: Duration,
    /// How long to wait for the reply after the message (RFC 5321 §4.5.3.2.6: 10 minutes).
    pub data_timeout: Duration,
    /// Simultaneous connections to one destination (domain, or the smarthost).
    pub max_connections_per_destination: usize,
    /// Addresses tried in one attempt, over all the destination's MX hosts (Postfix's
    /// `smtp_mx_address_limit`, 5): the destination's DNS decides how many there are, and
    /// each may take the whole connect timeout.
    pub max_addresses: usize,
}

impl DeliveryConfig {
    /// Defaults for a server called `hello_name`: port 25, opportunistic TLS, the RFC's
    /// timeouts, 10 connections per destination.
    pub fn new(hello_name: &str) -> Self {
        Self {
            hello_name: hello_name.to_owned(),
            port: 25,
            smarthost: None,
            tls: TlsMode::Opportunistic,
            tls_per_domain: HashMap::new(),
            verify: Verify::Platform,
            connect_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(5 * 60),
            data_timeout: Duration::from_secs(10 * 60),
            max_connections_per_destination: 10,
            max_addresses: 5,
        }
    }
}

/// What came of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The next hop took it.
    Delivered {
        /// Its reply (`250 2.0.0 Ok: queued as …`).
        reply: String,
        /// Which host.
        mta: String,
        /// The next hop offered DSN, so the NOTIFY parameters went on with the message and
        /// success is now its to report (RFC 3461 §5.2.2); otherwise this hop reports
        /// `relayed`.
        dsn_passed: bool,
    },
    /// Refused for good.
    Failed {
        /// RFC 3463 status.
        status: String,
        /// The reply (`550 5.1.1 …`) or what went wrong here.
        diagnostic: String,
        /// The host that refused, if one did.
        mta: Option<String>,
    },
    /// Not this time: retried later.
    Deferred {
        /// RFC 3463 status.
        status: String,
        /// The reply or what went wrong.
        diagnostic: String,
        /// The host, if one answered.
        mta: Option<String>,
    },
}

impl Outcome {
    fn failed(status: &str, diagnostic: impl Into<String>, mta: Option<&str>) -> Self {
        Self::Failed {
            status: status.to_owned(),
            diagnostic: diagnostic.into(),
            mta: mta.map(str::to_owned),
        }
    }

    fn deferred(status: &str, diagnostic: impl Into<String>, mta: Option<&str>) -> Self {
        Self::Deferred {
            status: status.to_owned(),
            diagnostic: diagnostic.into(),
            mta: mta.map(str::to_owned),
        }
    }

    /// The outcome a reply to a recipient means. `enhanced`: the server offered
    /// ENHANCEDSTATUSCODES, without which a reply's text is only text (RFC 2034).
    fn from_reply(reply: &Reply<'_>, mta: &str, dsn_passed: bool, enhanced: bool) -> Self {
        let text = one_line(reply);
        let code = reply.code().get();
        // An enhanced code of another class than the reply's says nothing reliable (RFC
        // 3463 §2: the class matches the reply's first digit): `452 5.2.2` is a deferral.
        let status = reply
            .status()
            .filter(|s| enhanced && u16::from(s.class()) == code / 100)
            .map_or_else(|| format!("{}.0.0", code / 100), |s| s.to_string());
        match code / 100 {
            2 => Self::Delivered {
                reply: text,
                mta: mta.to_owned(),
                dsn_passed,
            },
            5 => Self::failed(&status, text, Some(mta)),
            _ => Self::deferred(&status, text, Some(mta)),
        }
    }
}

/// A reply on one line, as a DSN's `Diagnostic-Code: smtp; …` and the logs show it.
fn one_line(reply: &Reply<'_>) -> String {
    reply.to_string().replace("\r\n", " ")
}

/// Delivers messages: the resolver, the TLS connectors, the per-destination limits.
pub struct Delivery {
    config: DeliveryConfig,
    resolver: Arc<dyn Resolver>,
    insecure: TlsConnector,
    verified: TlsConnector,
    /// The connection slots of each destination a delivery is going to or went to lately.
    limits: Mutex<SweptMap<String, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why one host did not take the transaction: the next is tried.
struct HostFailure {
    outcome: Outcome,
}

impl Delivery {
    /// Delivery as `config` says, looking names up with `resolver`.
    pub fn new(config: DeliveryConfig, resolver: Arc<dyn Resolver>) -> std::io::Result<Self> {
        Ok(Self {
            insecure: TlsConnector::new(&Verify::Insecure)?,
            verified: TlsConnector::new(&config.verify)?,
            config,
            resolver,
            limits: Mutex::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// The destination a recipient's mail goes to (its domain, or the smarthost): the unit
    /// of connection limits, and of one attempt.
    pub fn destination(&self, recipient: &QueuedRecipient) -> String {
        match &self.config.smarthost {
            Some(s) => format!("[{}]:{}", s.host, s.port),
            None => recipient.domain(),
        }
    }

    fn semaphore(&self, destination: &str) -> Arc<Semaphore> {
        let mut slots = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = slots.get(destination) {
            return Arc::clone(s);
        }
        // A delivery holds its destination's `Arc` for as long as it may hold a slot: one that
        // only the map holds is idle, and goes as the map grows.
        let in_use = |s: &mut Arc<Semaphore>| Arc::strong_count(s) > 1;
        let max = self.config.max_connections_per_destination.max(1);
        Arc::clone(
            slots.get_or_insert_with(destination.to_owned(), in_use, || {
                Arc::new(Semaphore::new(max))
            }),
        )
    }

    /// Delivers `message` (queued as `entry`) to the recipients at `indices` of the entry,
    /// all of `destination`; an outcome for each index.
    pub async fn deliver(
        &self,
        destination: &str,
        entry: &QueueEntry,
        message: &[u8],
        indices: &[usize],
    ) -> Vec<(usize, Outcome)> {
        let all = |o: Outcome| indices.iter().map(|&i| (i, o.clone())).collect();
        let hosts = match self.route(destination).await {
            Ok(h) => h,
            Err(o) => return all(o),
        };
        let slots = self.semaphore(destination);
        let mut last = Outcome::deferred("4.4.4", "no host to deliver to", None);
        let mut any_address = false;
        let mut tries = self.config.max_addresses.max(1);
        // Recipients a server refused for now (4xx) or lost with its connection go on to the
        // next address, as RFC 5321 §5.1 and Postfix have it; delivered and refused for good
        // are settled. What the last server said stands for those never settled.
        let mut remaining: Vec<usize> = indices.to_vec();
        let mut settled: Vec<(usize, Outcome)> = Vec::with_capacity(indices.len());
        let mut soft: Vec<(usize, Outcome)> = Vec::new();
        for host in &hosts {
            if tries == 0 {
                break;
            }
            let addrs = match self.addresses(&host.name).await {
                Ok(a) => a,
                Err(DnsError::NotFound(_)) => continue,
                Err(e @ DnsError::Temporary { .. }) => {
                    last = Outcome::deferred("4.4.3", e.to_string(), None);
                    continue;
                }
            };
            any_address = true;
            for ip in addrs.into_iter().take(tries) {
                tries -= 1;
                // A connection slot is held for the connection only, never across a lookup:
                // a slow name server holds up no other delivery to the destination.
                let Ok(_permit) = slots.acquire().await else {
                    let stop = Outcome::deferred("4.3.0", "delivery is shutting down", None);
                    settled.extend(remaining.iter().map(|&i| (i, stop.clone())));
                    return settled;
                };
                let addr = SocketAddr::new(ip, host.port);
                match self
                    .transaction(host, addr, destination, entry, message, &remaining)
                    .await
                {
                    Ok(outcomes) => {
                        soft.clear();
                        for (i, o) in outcomes {
                            if matches!(o, Outcome::Deferred { .. }) {
                                soft.push((i, o));
                            } else {
                                settled.push((i, o));
                            }
                        }
                        if soft.is_empty() {
                            return settled;
                        }
                        remaining = soft.iter().map(|(i, _)| *i).collect();
                    }
                    Err(f) => {
                        tracing::info!(
                            host = %host.name, %addr,
                            "outbound: {}", describe(&f.outcome)
                        );
                        last = f.outcome;
                    }
                }
            }
        }
        if !soft.is_empty() {
            settled.extend(soft);
            return settled;
        }
        if !any_address && matches!(last, Outcome::Deferred { ref status, .. } if status == "4.4.4")
        {
            // Every host name exists in no form: for an implicit MX the domain has no mail
            // server at all (RFC 5321 §5.1).
            if hosts.len() == 1 && hosts[0].implicit {
                last = Outcome::failed(
                    "5.1.2",
                    format!("{destination}: the domain has no MX and no address"),
                    None,
                );
            }
        }
        settled.extend(remaining.iter().map(|&i| (i, last.clone())));
        settled
    }

    /// The hosts to try for `destination`, in order, or the outcome for every recipient.
    async fn route(&self, destination: &str) -> Result<Vec<Host>, Outcome> {
        if let Some(s) = &self.config.smarthost {
            return Ok(vec![Host {
                name: s.host.clone(),
                port: s.port,
                implicit: false,
                smarthost: true,
            }]);
        }
        let host = |name: String, implicit| Host {
            name,
            port: self.config.port,
            implicit,
            smarthost: false,
        };
        // An address literal (`user@[192.0.2.1]`): that host, no lookup.
        if destination.starts_with('[') {
            return Ok(vec![host(destination.to_owned(), true)]);
        }
        match self.resolver.mx(destination).await {
            Ok(mut mx) if !mx.is_empty() => {
                if mx.iter().any(|m| m.exchange == ".") {
                    return Err(Outcome::failed(
                        "5.1.10",
                        format!("{destination}: the domain accepts no mail (null MX, RFC 7505)"),
                        None,
                    ));
                }
                // RFC 5321 §5.1: a client that is itself an MX of the domain drops the
                // records at its own preference and above; as the best, it has nowhere to
                // send the mail (Postfix: "mail for … loops back to myself").
                let me = self.config.hello_name.trim_end_matches('.');
                if let Some(own) = mx
                    .iter()
                    .filter(|m| m.exchange.trim_end_matches('.').eq_ignore_ascii_case(me))
                    .map(|m| m.preference)
                    .min()
                {
                    mx.retain(|m| m.preference < own);
                    if mx.is_empty() {
                        return Err(Outcome::failed(
                            "5.4.6",
                            format!(
                                "{destination}: mail loops back to this host, its best MX ({me})"
                            ),
                            None,
                        ));
                    }
                }
                shuffle(&mut mx);
                mx.sort_by_key(|m| m.preference);
                Ok(mx.into_iter().map(|m| host(m.exchange, false)).collect())
            }
            Ok(_) | Err(DnsError::NotFound(_)) => Ok(vec![host(destination.to_owned(), true)]),
            Err(e @ DnsError::Temporary { .. }) => {
                Err(Outcome::deferred("4.4.3", e.to_string(), None))
            }
        }
    }

    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .map(|h| h.strip_prefix("IPv6:").unwrap_or(h));
        if let Some(ip) = literal
            .or(Some(host))
            .and_then(|h| h.parse::<IpAddr>().ok())
        {
            return Ok(vec![ip]);
        }
        self.resolver.ips(host).await
    }

    fn tls_mode(&self, destination: &str) -> TlsMode {
        self.config
            .tls_per_domain
            .get(destination)
            .copied()
            .unwrap_or(self.config.tls)
    }

    /// One SMTP session with `addr`: the transaction, or why this host did not take it.
    async fn transaction(
        &self,
        host: &Host,
        addr: SocketAddr,
        destination: &str,
        entry: &QueueEntry,
        message: &[u8],
        indices: &[usize],
    ) -> Result<Vec<(usize, Outcome)>, HostFailure> {
        let mta = host.name.trim_start_matches('[').trim_end_matches(']');
        let mode = self.tls_mode(destination);
        // Lines past 998 octets are broken for strict receivers, except in a signed message:
        // breaking them would break its DKIM signature, which matters to more receivers.
        let fold = !crate::mailauth::is_dkim_signed(message);
        let mut client = match self.connect(host, addr, mode, true, fold).await {
            Ok(c) => c,
            // The handshake failed: opportunistic TLS goes on without (RFC 7435 §6).
            Err(ClientFailure::Io(e)) if mode == TlsMode::Opportunistic && !host.smarthost => {
                tracing::info!(host = %host.name, %addr, "outbound: TLS failed ({e}); plaintext");
                self.connect(host, addr, mode, false, fold)
                    .await
                    .map_err(|e| session_failure(&e, mta))?
            }
            Err(e) => return Err(session_failure(&e, mta)),
        };
        let caps = client.capabilities();
        let has = |k: &str| caps.is_some_and(|c| c.has(k));
        let refuse = |status: &str, why: &str| {
            let o = Outcome::failed(status, format!("{mta} {why}"), Some(mta));
            indices.iter().map(|&i| (i, o.clone())).collect::<Vec<_>>()
        };
        // The peer is this server (an implicit MX, or an address, that leads back here):
        // relaying would go round until the hop limit (Postfix: "mail for … loops back to
        // myself", RFC 5321 §5.1).
        // A smarthost on this machine may well greet with the machine's name: the loop is
        // one of routes found by MX.
        let me = self.config.hello_name.trim_end_matches('.');
        if !host.smarthost
            && caps.is_some_and(|c| c.domain.trim_end_matches('.').eq_ignore_ascii_case(me))
        {
            let _ = client.quit().await;
            return Ok(refuse(
                "5.4.6",
                "greets with this server's own name: mail loops back",
            ));
        }
        let unusable = match entry.body {
            BodyType::EightBit if !has("8BITMIME") => {
                Some(("5.6.3", "does not offer 8BITMIME, which this message needs"))
            }
            BodyType::Binary if !(has("BINARYMIME") && has("CHUNKING")) => Some((
                "5.6.3",
                "does not offer BINARYMIME and CHUNKING, which this message needs",
            )),
            _ if entry.smtputf8 && !has("SMTPUTF8") => {
                Some(("5.6.7", "does not offer SMTPUTF8, which this message needs"))
            }
            _ => None,
        };
        if let Some((status, why)) = unusable {
            let _ = client.quit().await;
            return Ok(refuse(status, why));
        }
        let dsn_passed = has("DSN");
        let enhanced = has("ENHANCEDSTATUSCODES");
        let envelope = match envelope(entry, indices, message.len()) {
            Ok(e) => e,
            Err(why) => {
                let _ = client.quit().await;
                return Ok(refuse("5.1.3", &why));
            }
        };
        let sent = client.send(&envelope, message).await;
        // Past RCPT, a failure of the transaction is the verdict of the recipients the peer
        // accepted (or did not answer); one it refused keeps its own reply. Not when MAIL
        // itself was refused: the RCPTs pipelined behind it were answered `503` for that.
        let mail_refused = matches!(
            sent,
            Err(ClientFailure::Smtp(ClientError::Rejected {
                stage: Stage::Mail,
                ..
            }))
        );
        let own: Vec<Option<Outcome>> = client
            .recipient_replies()
            .iter()
            .map(|r| {
                r.as_ref()
                    .filter(|r| r.code().is_negative() && r.code().get() != 503 && !mail_refused)
                    .map(|r| Outcome::from_reply(r, mta, dsn_passed, enhanced))
            })
            .collect();
        let each = |o: Outcome| -> Vec<(usize, Outcome)> {
            indices
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    (
                        i,
                        own.get(n).cloned().flatten().unwrap_or_else(|| o.clone()),
                    )
                })
                .collect()
        };
        let outcomes = match sent {
            Ok(sent) => indices
                .iter()
                .enumerate()
                .map(|(n, &i)| {
                    let o = match sent.recipients.get(n) {
                        Some(r) => Outcome::from_reply(r, mta, dsn_passed, enhanced),
                        None => {
                            Outcome::deferred("4.4.2", "no answer for this recipient", Some(mta))
                        }
                    };
                    (i, o)
                })
                .collect(),
            // A refusal is negative; anything else is no verdict on the message.
            Err(ClientFailure::Smtp(ClientError::Rejected { reply, .. }))
                if reply.code().is_negative() =>
            {
                each(Outcome::from_reply(&reply, mta, dsn_passed, enhanced))
            }
            Err(ClientFailure::Smtp(ClientError::TooLarge { size, limit })) => {
                each(Outcome::failed(
                    "5.3.4",
                    format!("{mta} takes messages up to {limit} octets; this one has {size}"),
                    Some(mta),
                ))
            }
            // The connection broke during the transaction: whether the message arrived is
            // unknown (RFC 1047); it is sent again later.
            Err(e) => each(Outcome::deferred("4.4.2", format!("{mta}: {e}"), Some(mta))),
        };
        let _ = client.quit().await;
        Ok(outcomes)
    }

    async fn connect(
        &self,
        host: &Host,
        addr: SocketAddr,
        mode: TlsMode,
        try_tls: bool,
        fold: bool,
    ) -> Result<SmtpClient<TcpStream>, ClientFailure> {
        let hello = DomainPart::try_from(self.config.hello_name.as_str())
            .map(DomainPart::into_owned)
            .map_err(|e| ClientFailure::Io(std::io::Error::other(e.to_string())))?;
        let mut config = ClientConfig::new(hello);
        if !fold {
            config.max_line = None;
        }
        config.reply_timeout = self.config.reply_timeout;
        config.data_end_timeout = self.config.data_timeout;
        config.starttls = match (mode, try_tls) {
            (_, false) => TlsPolicy::Never,
            (TlsMode::Opportunistic, true) => TlsPolicy::Opportunistic,
            _ => TlsPolicy::Required,
        };
        let mut connector = match mode {
            TlsMode::Verified => self.verified.clone(),
            _ => self.insecure.clone(),
        };
        if let Some(s) = self.config.smarthost.as_ref().filter(|_| host.smarthost) {
            config.credentials.clone_from(&s.credentials);
            config.implicit_tls = s.implicit_tls;
            // Credentials go only over TLS, or to a smarthost on this machine (in plaintext:
            // the client sends none in the clear unless told to).
            if s.credentials.is_some() {
                config.starttls = if addr.ip().is_loopback() {
                    TlsPolicy::Never
                } else {
                    TlsPolicy::Required
                };
            }
            if mode == TlsMode::Verified || s.credentials.is_some() {
                connector = self.verified.clone();
            }
        }
        let tcp = tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientFailure::Smtp(ClientError::Timeout))??;
        tcp.set_nodelay(true)?;
        let name = host.name.trim_start_matches('[').trim_end_matches(']');
        let name = name.strip_prefix("IPv6:").unwrap_or(name);
        let server_name = tls::server_name(name)?;
        SmtpClient::start(Stream::plain(tcp), server_name, config, Some(connector)).await
    }
}

/// How a session that never reached its transaction ends: deferred, the next host tried.
fn session_failure(e: &ClientFailure, mta: &str) -> HostFailure {
    let outcome = match e {
        ClientFailure::Smtp(ClientError::Rejected { reply, stage }) => {
            let text = one_line(reply);
            let status = match stage {
                Stage::StartTls => "4.7.5",
                Stage::Auth => "4.7.8",
                _ => "4.4.2",
            };
            Outcome::deferred(status, format!("{mta} said {text}"), Some(mta))
        }
        ClientFailure::Smtp(ClientError::TlsNotOffered) => Outcome::deferred(
            "4.7.4",
            format!("{mta} does not offer STARTTLS, which this destination requires"),
            Some(mta),
        ),
        ClientFailure::Smtp(ClientError::Timeout) => {
            Outcome::deferred("4.4.1", format!("{mta}: no answer in time"), Some(mta))
        }
        ClientFailure::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Outcome::deferred("4.4.1", format!("{mta}: connection refused"), None)
        }
        e => Outcome::deferred("4.4.2", format!("{mta}: {e}"), Some(mta)),
    };
    HostFailure { outcome }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Delivered { reply, .. } => format!("delivered: {reply}"),
        Outcome::Failed {
            status, diagnostic, ..
        } => format!("failed ({status}): {diagnostic}"),
        Outcome::Deferred {
            status, diagnostic, ..
        } => format!("deferred ({status}): {diagnostic}"),
    }
}

/// One host to try.
#[derive(Debug, Clone)]
struct Host {
    name: String,
    port: u16,
    /// The domain itself, for want of an MX.
    implicit: bool,
    smarthost: bool,
}

/// Equal-preference MX hosts in random order (RFC 5321 §5.1), from a cheap seed: the order
/// only spreads load.
fn shuffle<T>(v: &mut [T]) {
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.subsec_nanos() | 1);
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let j = usize::try_from(seed).unwrap_or(0) % (i + 1);
        v.swap(i, j);
    }
}

/// The envelope for the recipients at `indices`, with the entry's DSN parameters.
fn envelope(entry: &QueueEntry, indices: &[usize], size: usize) -> Result<Envelope, String> {
    let from = if entry.sender.is_empty() {
        ReversePath::Null
    } else {
        let m = Mailbox::try_from(entry.sender.as_str())
            .map_err(|e| format!("invalid sender {}: {e}", entry.sender))?;
        ReversePath::Mailbox(m.into_owned())
    };
    let mut recipients = Vec::new();
    for &i in indices {
        let Some(r) = entry.recipients.get(i) else {
            continue;
        };
        let m = Mailbox::try_from(r.address.as_str())
            .map_err(|e| format!("invalid recipient {}: {e}", r.address))?;
        let mut envelope = Envelope::new(ReversePath::Null, [ForwardPath::Mailbox(m.into_owned())]);
        let (to, mut params) = envelope.recipients.remove(0);
        params.notify = r.notify.map(|n| {
            if n.success || n.failure || n.delay {
                SmtpNotify::On {
                    success: n.success,
                    failure: n.failure,
                    delay: n.delay,
                }
            } else {
                SmtpNotify::Never
            }
        });
        params.orcpt = r.orcpt.as_deref().and_then(|o| {
            let (kind, addr) = o.split_once(';')?;
            Some(Orcpt {
                addr_type: kind.to_owned().into(),
                addr: XText::from_encoded(addr.to_owned()).ok()?,
            })
        });
        recipients.push((to, params));
    }
    let mut envelope = Envelope::new(from, []);
    envelope.recipients = recipients;
    envelope.params.size = Some(size as u64);
    envelope.params.body = match entry.body {
        BodyType::SevenBit => None,
        BodyType::EightBit => Some(Body::EightBitMime),
        BodyType::Binary => Some(Body::BinaryMime),
    };
    envelope.params.smtputf8 = entry.smtputf8;
    envelope.params.ret = entry.ret.map(|r| match r {
        Return::Full => Ret::Full,
        Return::Headers => Ret::Hdrs,
    });
    envelope.params.envid = entry
        .envid
        .as_deref()
        .and_then(|e| XText::from_encoded(e.to_owned()).ok());
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::dns::{Mx, StaticResolver};
    use sansmail_smtp::{EnhancedStatus, ReplyCode};

    /// Destinations no delivery holds are dropped once the map has grown, so the map stays
    /// bounded however many domains are mailed; one still held keeps its slots.
    #[test]
    fn idle_destinations_are_dropped() {
        let d = Delivery::new(
            DeliveryConfig::new("mail.example.org"),
            Arc::new(StaticResolver::default()),
        )
        .unwrap();
        let held = d.semaphore("held.example");
        for i in 0..10 * SweptMap::<(), ()>::MIN {
            drop(d.semaphore(&format!("d{i}.example")));
        }
        let len = || d.limits.lock().unwrap().len();
        assert!(
            len() <= SweptMap::<(), ()>::MIN,
            "{} destinations kept",
            len()
        );
        assert!(Arc::ptr_eq(&held, &d.semaphore("held.example")));
    }

    /// RFC 5321 §5.1: this host, an MX of the destination, sends only to better MXs, and
    /// as the best one refuses the mail instead of sending it to itself.
    #[tokio::test]
    async fn mx_records_at_or_below_our_own_are_dropped() {
        let mx = |p, e: &str| Mx {
            preference: p,
            exchange: e.to_owned(),
        };
        let mut resolver = StaticResolver::default();
        resolver.mx.insert(
            "backup.example".into(),
            vec![
                mx(30, "mx3.example"),
                mx(10, "mx1.example"),
                mx(20, "Mail.Example.org."),
                mx(20, "mx2.example"),
            ],
        );
        resolver.mx.insert(
            "primary.example".into(),
            vec![mx(10, "mail.example.org"), mx(20, "mx2.example")],
        );
        let d = Delivery::new(DeliveryConfig::new("mail.example.org"), Arc::new(resolver)).unwrap();
        let hosts = d.route("backup.example").await.unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["mx1.example"]);
        match d.route("primary.example").await {
            Err(Outcome::Failed { status, .. }) => assert_eq!(status, "5.4.6"),
            other => panic!("{other:?}"),
        }
    }

    /// A reply's enhanced code counts only when its class is the reply's (RFC 3463 §2);
    /// the reply's first digit decides between delivered, failed and deferred.
    #[test]
    fn an_enhanced_code_of_another_class_is_not_the_status() {
        let reply = |code, status: Option<(u8, u16, u16)>| {
            let status = status.map(|(c, s, d)| EnhancedStatus::new(c, s, d).unwrap());
            Reply::new(ReplyCode::new(code).unwrap(), status, "text").unwrap()
        };
        let status = |o: Outcome| match o {
            Outcome::Deferred { status, .. } | Outcome::Failed { status, .. } => status,
            Outcome::Delivered { .. } => "delivered".to_owned(),
        };
        let o = |r| Outcome::from_reply(&r, "mx", false, true);
        assert_eq!(status(o(reply(452, Some((5, 2, 2))))), "4.0.0");
        assert_eq!(status(o(reply(452, Some((4, 2, 2))))), "4.2.2");
        assert_eq!(status(o(reply(550, Some((4, 7, 1))))), "5.0.0");
        assert_eq!(status(o(reply(550, Some((5, 1, 1))))), "5.1.1");
        assert_eq!(status(o(reply(451, None))), "4.0.0");
        // Without ENHANCEDSTATUSCODES offered, the text is not read for a code (RFC 2034).
        let plain = Outcome::from_reply(&reply(550, Some((5, 1, 1))), "mx", false, false);
        assert_eq!(status(plain), "5.0.0");
    }
}
