//! What the listeners, sessions and the store did, counted for an operator: connections and
//! sessions per listener, logins, messages delivered and rejected (by reason), octets in and
//! out, and the store's latency per operation. [`Metrics::render`] writes them in the
//! Prometheus text format (version 0.0.4), which [`http::serve`] offers at `GET /metrics`.
//!
//! Counting costs an atomic add: it is always on, only the endpoint is optional. The
//! listeners' [`Gate`](crate::listener::Gate) holds the server's `Metrics`; the services
//! report through each connection's [`ConnectionRecord`](crate::record::ConnectionRecord),
//! and the store through [`Instrumented`]. A server adds its own values (a queue's size) with
//! [`Metrics::gauge`].
//!
//! Written by hand rather than with a metrics crate: a few dozen series in a fixed shape, and
//! the text format is a page of code.

pub mod http;
mod store;

use std::{
    fmt::Write as _,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

pub use store::{Instrumented, StoreOp};

use crate::record::Outcome;

/// Why a message or recipient was refused, as counted in
/// `sansmail_messages_rejected_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// A recipient in a domain that is not local (`554 5.7.1`, no relaying).
    RelayDenied,
    /// A local domain without that user (`550 5.1.1`).
    NoSuchUser,
    /// An address literal that is not local (`550 5.1.2`).
    AddressLiteral,
    /// An authenticated sender using an address not theirs (`553 5.7.1`).
    SenderNotOwned,
    /// Over the recipient's quota (`552 5.2.2`).
    OverQuota,
    /// The disk is full (`452 4.3.1`).
    NoSpace,
    /// The store failed otherwise.
    StoreError,
    /// Larger than the size limit.
    TooBig,
    /// Refused by the session for its content (bare line ends when refused, bad chunks).
    InvalidMessage,
}

impl Rejection {
    /// Every reason, in the order of the counters.
    pub const ALL: [Self; 9] = [
        Self::RelayDenied,
        Self::NoSuchUser,
        Self::AddressLiteral,
        Self::SenderNotOwned,
        Self::OverQuota,
        Self::NoSpace,
        Self::StoreError,
        Self::TooBig,
        Self::InvalidMessage,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RelayDenied => "relay_denied",
            Self::NoSuchUser => "no_such_user",
            Self::AddressLiteral => "address_literal",
            Self::SenderNotOwned => "sender_not_owned",
            Self::OverQuota => "over_quota",
            Self::NoSpace => "no_space",
            Self::StoreError => "store_error",
            Self::TooBig => "too_big",
            Self::InvalidMessage => "invalid_message",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// How a login attempt ended, as counted in `sansmail_logins_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginResult {
    /// The password was right.
    Ok,
    /// Wrong user or password.
    Failed,
    /// Refused unchecked: too many failures from the address.
    Throttled,
}

impl LoginResult {
    const ALL: [Self; 3] = [Self::Ok, Self::Failed, Self::Throttled];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Throttled => "throttled",
        }
    }
}

/// Why a connection was turned away before its session started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// The server was at its connection limit.
    Busy,
    /// The client address was at its limit.
    PerIp,
    /// The server was shutting down.
    ShuttingDown,
}

impl Turned {
    const ALL: [Self; 3] = [Self::Busy, Self::PerIp, Self::ShuttingDown];

    fn as_str(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::PerIp => "per_ip",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// One listener's counters.
#[derive(Debug)]
pub struct ListenerStats {
    name: &'static str,
    protocol: &'static str,
    connections: AtomicU64,
    open: AtomicI64,
    turned_away: [AtomicU64; 3],
    sessions: [AtomicU64; Outcome::ALL.len()],
    logins: [AtomicU64; 3],
    delivered: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl ListenerStats {
    fn new(name: &'static str, protocol: &'static str) -> Self {
        Self {
            name,
            protocol,
            connections: AtomicU64::new(0),
            open: AtomicI64::new(0),
            turned_away: Default::default(),
            sessions: Default::default(),
            logins: Default::default(),
            delivered: AtomicU64::new(0),
            rejected: Default::default(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }

    /// The listener's name (`imap`, `imaps`, `submission`...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A connection was admitted.
    pub fn opened(&self) {
        self.connections.fetch_add(1, Relaxed);
        self.open.fetch_add(1, Relaxed);
    }

    /// A connection admitted with [`ListenerStats::opened`] ended so.
    pub fn closed(&self, outcome: Outcome) {
        self.open.fetch_sub(1, Relaxed);
        self.sessions[outcome.index()].fetch_add(1, Relaxed);
    }

    /// A connection was turned away at the door.
    pub fn turned_away(&self, why: Turned) {
        let i = Turned::ALL.iter().position(|t| *t == why).unwrap_or(0);
        self.turned_away[i].fetch_add(1, Relaxed);
    }

    /// A login attempt ended so.
    pub fn login(&self, result: LoginResult) {
        let i = LoginResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        self.logins[i].fetch_add(1, Relaxed);
    }

    /// `copies` copies of a message were stored (one per recipient).
    pub fn delivered(&self, copies: u64) {
        self.delivered.fetch_add(copies, Relaxed);
    }

    /// A message or recipient was refused.
    pub fn rejected(&self, why: Rejection) {
        self.rejected[why.index()].fetch_add(1, Relaxed);
    }

    /// Octets read from clients.
    pub fn bytes_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Relaxed);
    }

    /// Octets written to clients.
    pub fn bytes_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Relaxed);
    }

    /// Connections open now.
    pub fn open_now(&self) -> i64 {
        self.open.load(Relaxed)
    }

    /// Logins so far that ended with `result`.
    pub fn logins(&self, result: LoginResult) -> u64 {
        let i = LoginResult::ALL
            .iter()
            .position(|r| *r == result)
            .unwrap_or(0);
        self.logins[i].load(Relaxed)
    }
}

/// Upper bounds of the latency buckets, in microseconds (100 µs to 10 s).
const BUCKETS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    2_500_000, 10_000_000,
];

/// A latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per bucket (not cumulative); the last is above every bound.
    counts: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    /// Counts one observation.
    pub fn observe(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(BUCKETS_US.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }
}

/// A value a server sets itself (`sansmail_` is not added to its name).
#[derive(Debug)]
struct Gauge {
    name: String,
    help: String,
    value: Arc<AtomicI64>,
}

/// Every counter of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    listeners: Mutex<Vec<Arc<ListenerStats>>>,
    store: [Histogram; StoreOp::ALL.len()],
    store_errors: [AtomicU64; StoreOp::ALL.len()],
    gauges: Mutex<Vec<Gauge>>,
}

impl Metrics {
    /// No listener, nothing counted.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The counters of the listener `name`, made on first use.
    pub fn listener(&self, name: &'static str, protocol: &'static str) -> Arc<ListenerStats> {
        let mut list = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = list.iter().find(|s| s.name == name) {
            return Arc::clone(s);
        }
        let stats = Arc::new(ListenerStats::new(name, protocol));
        list.push(Arc::clone(&stats));
        stats
    }

    /// A store operation took `took` (and failed, if `failed`).
    pub fn store_op(&self, op: StoreOp, took: Duration, failed: bool) {
        let i = op.index();
        self.store[i].observe(took);
        if failed {
            self.store_errors[i].fetch_add(1, Relaxed);
        }
    }

    /// The histogram of a store operation.
    pub fn store_latency(&self, op: StoreOp) -> &Histogram {
        &self.store[op.index()]
    }

    /// A gauge the server sets itself (`outbound_queue_messages`), reported as
    /// `name` (letters, digits and `_` only; anything else becomes `_`). Asking again for the
    /// same name gives the same gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Arc<AtomicI64> {
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(g) = gauges.iter().find(|g| g.name == name) {
            return Arc::clone(&g.value);
        }
        let value = Arc::new(AtomicI64::new(0));
        gauges.push(Gauge {
            name,
            help: help.replace(['\n', '\\'], " "),
            value: Arc::clone(&value),
        });
        value
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut w = Writer { out: String::new() };
        let label = |l: &ListenerStats, extra: &str| {
            format!("listener=\"{}\",protocol=\"{}\"{extra}", l.name, l.protocol)
        };
        let mut family =
            |name: &str, kind: &str, help: &str, f: &dyn Fn(&ListenerStats) -> Series| {
                w.head(name, kind, help);
                for l in &listeners {
                    for (extra, v) in f(l) {
                        let _ = writeln!(w.out, "{name}{{{}}} {v}", label(l, &extra));
                    }
                }
            };
        let one = |c: &AtomicU64| vec![(String::new(), c.load(Relaxed).to_string())];
        let by = |key: &str, names: &[&str], counters: &[AtomicU64]| -> Series {
            names
                .iter()
                .zip(counters)
                .map(|(n, c)| (format!(",{key}=\"{n}\""), c.load(Relaxed).to_string()))
                .collect()
        };
        family(
            "sansmail_connections_total",
            "counter",
            "Connections admitted, by listener.",
            &|l| one(&l.connections),
        );
        family(
            "sansmail_connections_open",
            "gauge",
            "Connections open now, by listener.",
            &|l| vec![(String::new(), l.open.load(Relaxed).to_string())],
        );
        family(
            "sansmail_connections_refused_total",
            "counter",
            "Connections turned away before their session, by listener and reason.",
            &|l| by("reason", &Turned::ALL.map(Turned::as_str), &l.turned_away),
        );
        family(
            "sansmail_sessions_total",
            "counter",
            "Sessions ended, by listener and outcome.",
            &|l| by("outcome", &Outcome::ALL.map(Outcome::as_str), &l.sessions),
        );
        family(
            "sansmail_logins_total",
            "counter",
            "Login attempts, by listener and result.",
            &|l| {
                by(
                    "result",
                    &LoginResult::ALL.map(LoginResult::as_str),
                    &l.logins,
                )
            },
        );
        family(
            "sansmail_messages_delivered_total",
            "counter",
            "Message copies stored for local recipients, by listener.",
            &|l| one(&l.delivered),
        );
        family(
            "sansmail_messages_rejected_total",
            "counter",
            "Messages and recipients refused, by listener and reason.",
            &|l| {
                by(
                    "reason",
                    &Rejection::ALL.map(Rejection::as_str),
                    &l.rejected,
                )
            },
        );
        family(
            "sansmail_received_bytes_total",
            "counter",
            "Octets read from clients (TLS included), by listener.",
            &|l| one(&l.bytes_in),
        );
        family(
            "sansmail_sent_bytes_total",
            "counter",
            "Octets written to clients (TLS included), by listener.",
            &|l| one(&l.bytes_out),
        );
        self.render_store(&mut w);
        let gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        for g in gauges.iter() {
            w.head(&g.name, "gauge", &g.help);
            let _ = writeln!(w.out, "{} {}", g.name, g.value.load(Relaxed));
        }
        w.out
    }

    fn render_store(&self, w: &mut Writer) {
        let name = "sansmail_store_operation_seconds";
        w.head(name, "histogram", "Time the mail store took per operation.");
        for (op, h) in StoreOp::ALL.iter().zip(&self.store) {
            let op = op.as_str();
            let mut cumulative = 0;
            for (bound, c) in BUCKETS_US.iter().zip(&h.counts) {
                cumulative += c.load(Relaxed);
                let le = seconds(*bound);
                let _ = writeln!(
                    w.out,
                    "{name}_bucket{{op=\"{op}\",le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += h.counts[BUCKETS_US.len()].load(Relaxed);
            let _ = writeln!(
                w.out,
                "{name}_bucket{{op=\"{op}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = seconds(h.sum_us.load(Relaxed));
            let _ = writeln!(w.out, "{name}_sum{{op=\"{op}\"}} {sum}");
            let _ = writeln!(w.out, "{name}_count{{op=\"{op}\"}} {cumulative}");
        }
        let name = "sansmail_store_errors_total";
        w.head(
            name,
            "counter",
            "Mail store operations that failed, by operation.",
        );
        for (op, c) in StoreOp::ALL.iter().zip(&self.store_errors) {
            w.line(name, &format!("op=\"{}\"", op.as_str()), c.load(Relaxed));
        }
    }
}

/// Microseconds as seconds in decimal, without float rounding (`0.00025`).
fn seconds(us: u64) -> String {
    let (whole, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Label suffixes and values of one family's series for one listener.
type Series = Vec<(String, String)>;

struct Writer {
    out: String,
}

impl Writer {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn line(&mut self, name: &str, labels: &str, value: u64) {
        let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
    }

    #[test]
    fn renders_each_family_once_with_labels_and_cumulative_buckets() {
        let m = Metrics::new();
        let imap = m.listener("imap", "imap");
        assert!(Arc::ptr_eq(&imap, &m.listener("imap", "imap")));
        imap.opened();
        imap.opened();
        imap.closed(Outcome::Quit);
        imap.login(LoginResult::Failed);
        m.listener("smtp", "smtp").rejected(Rejection::NoSuchUser);
        m.store_op(StoreOp::Fetch, Duration::from_micros(300), false);
        m.store_op(StoreOp::Fetch, Duration::from_millis(20), true);
        m.gauge("outbound_queue_messages", "Messages\nqueued")
            .store(7, Relaxed);
        let text = m.render();
        let get = |s: &str| value(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
        assert_eq!(
            get(r#"sansmail_connections_total{listener="imap",protocol="imap"}"#),
            "2"
        );
        assert_eq!(
            get(r#"sansmail_connections_open{listener="imap",protocol="imap"}"#),
            "1"
        );
        assert_eq!(
            get(r#"sansmail_sessions_total{listener="imap",protocol="imap",outcome="quit"}"#),
            "1"
        );
        assert_eq!(
            get(r#"sansmail_logins_total{listener="imap",protocol="imap",result="failed"}"#),
            "1"
        );
        assert_eq!(
            get(
                r#"sansmail_messages_rejected_total{listener="smtp",protocol="smtp",reason="no_such_user"}"#
            ),
            "1"
        );
        let b = "sansmail_store_operation_seconds_bucket";
        assert_eq!(get(&format!(r#"{b}{{op="fetch",le="0.00025"}}"#)), "0");
        assert_eq!(get(&format!(r#"{b}{{op="fetch",le="0.0005"}}"#)), "1");
        assert_eq!(get(&format!(r#"{b}{{op="fetch",le="0.025"}}"#)), "2");
        assert_eq!(get(&format!(r#"{b}{{op="fetch",le="+Inf"}}"#)), "2");
        assert_eq!(
            get(r#"sansmail_store_operation_seconds_sum{op="fetch"}"#),
            "0.0203"
        );
        assert_eq!(get(r#"sansmail_store_errors_total{op="fetch"}"#), "1");
        assert_eq!(get("outbound_queue_messages"), "7");
        assert!(text.contains("# HELP outbound_queue_messages Messages queued\n"));
        for family in [
            "sansmail_connections_total",
            "sansmail_store_operation_seconds",
        ] {
            let heads = text.matches(&format!("# TYPE {family} ")).count();
            assert_eq!(heads, 1, "{family} declared once");
        }
    }

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(100), "0.0001");
        assert_eq!(seconds(2_500_000), "2.5");
        assert_eq!(seconds(10_000_000), "10");
    }
}
