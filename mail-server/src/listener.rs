//! The accept loop every listener shares: connection limits (in total and per client
//! address), implicit TLS, shutdown (stop accepting, let connections finish), and for each
//! connection its [`ConnectionRecord`]: one log line when it closes, and the listener's
//! counters in [`Metrics`].
//!
//! A listener serves the service a [`Swap`] holds ([`spawn_swappable`]): a reload stores a
//! service built from new settings, and connections accepted from then on get it, while
//! those already open keep theirs.

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::watch,
};

use sansmail_core::tls::TlsAcceptor;

use crate::{
    Stream,
    metrics::{Metrics, Turned},
    record::{ConnectionRecord, Metered},
    reload::Swap,
};

/// How long a client has to finish a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits on simultaneous connections, over all listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub total: usize,
    /// Connections open at once from one client address.
    pub per_ip: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            total: 512,
            per_ip: 32,
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    limits: ConnectionLimits,
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Refused connections being told so ([`Telling`]).
    telling: usize,
}

/// What the listeners share: the open connections, the shutdown signal and the counters.
#[derive(Debug)]
pub struct Gate {
    counts: Mutex<Counts>,
    metrics: Arc<Metrics>,
    shutdown: watch::Sender<bool>,
    /// Bumped whenever a connection ends, for [`Gate::drained`].
    closed: watch::Sender<usize>,
}

/// A connection's place under the limits; released when dropped.
#[derive(Debug)]
pub struct Slot {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut c = self
                .gate
                .counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            c.total -= 1;
            if let Some(n) = c.per_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    c.per_ip.remove(&self.ip);
                }
            }
        }
        self.gate.closed.send_modify(|n| *n += 1);
    }
}

/// The right to tell one refused client why before closing its connection ([`Gate::tell`]);
/// released when dropped.
#[derive(Debug)]
pub struct Telling {
    gate: Arc<Gate>,
}

impl Drop for Telling {
    fn drop(&mut self) {
        self.gate
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .telling -= 1;
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server is at its total limit.
    Busy,
    /// This client address is at its limit.
    TooManyFromYou,
    /// The server is shutting down.
    ShuttingDown,
}

impl Gate {
    /// A gate with these limits, counting into metrics of its own.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Self::with_metrics(limits, Metrics::new())
    }

    /// A gate with these limits, counting into `metrics`.
    pub fn with_metrics(limits: ConnectionLimits, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::new(Counts {
                limits,
                ..Counts::default()
            }),
            metrics,
            shutdown: watch::channel(false).0,
            closed: watch::channel(0).0,
        })
    }

    /// The counters of every listener of this gate.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// New limits (a reload): connections open now stay, new ones are admitted under these.
    pub fn set_limits(&self, limits: ConnectionLimits) {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .limits
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        if self.is_shutting_down() {
            return Err(Refusal::ShuttingDown);
        }
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.total >= c.limits.total {
            return Err(Refusal::Busy);
        }
        // Looked up before it is counted, so that a refusal leaves no entry behind.
        if c.per_ip.get(&ip).copied().unwrap_or(0) >= c.limits.per_ip {
            return Err(Refusal::TooManyFromYou);
        }
        *c.per_ip.entry(ip).or_insert(0) += 1;
        c.total += 1;
        Ok(Slot {
            gate: Arc::clone(self),
            ip,
        })
    }

    /// The right to tell a refused client why (which holds its socket, and on an
    /// implicit-TLS port runs a handshake, for up to [`REFUSAL_TIMEOUT`]), or `None` when as
    /// many refusals are being told as connections may be open (at least [`MIN_TELLING`]):
    /// past that the connection is closed untold, so that a flood of connections over the
    /// limits holds at most that many sockets more, and waits for no handshake.
    pub fn tell(self: &Arc<Self>) -> Option<Telling> {
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.telling >= c.limits.total.max(MIN_TELLING) {
            return None;
        }
        c.telling += 1;
        Some(Telling {
            gate: Arc::clone(self),
        })
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .total
    }

    /// Stops every listener accepting; connections see [`Gate::shutting_down`] fire.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Whether [`Gate::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Completes once shutdown starts.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|&s| s).await;
    }

    /// Completes once no connection is open.
    pub async fn drained(&self) {
        let mut rx = self.closed.subscribe();
        while self.open_connections() > 0 {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// A protocol's settings shared by its connections, which the accept loop serves: the
/// services of this crate, or a server's own.
pub trait Service: Send + Sync + Sized + 'static {
    /// The connection limits and the shutdown signal.
    fn gate(&self) -> &Arc<Gate>;

    /// The protocol, for logs and metrics (`smtp`, `lmtp`, `imap`, `pop3`).
    fn protocol(&self) -> &'static str;

    /// What an over-the-limit client is told before the connection closes (one encoded
    /// response, built with the protocol crate's encoder).
    fn busy_reply(&self) -> Vec<u8>;

    /// Runs one admitted connection (already TLS on an implicit-TLS port). `record` has the
    /// peer's address; the service writes the account and the session's end into it.
    fn handle(
        stream: Stream,
        record: Arc<ConnectionRecord>,
        service: Arc<Self>,
    ) -> impl Future<Output = io::Result<()>> + Send;
}

/// Binds `addr` and serves `service` on it in the background (under the limits and
/// shutdown of its gate), with TLS from the first byte if `implicit_tls` is set. Returns the
/// bound address and the accept loop's task, which ends at shutdown.
pub async fn spawn<S: Service>(
    name: &'static str,
    addr: SocketAddr,
    implicit_tls: Option<TlsAcceptor>,
    service: Arc<S>,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = bind(name, addr).await?;
    spawn_swappable(name, listener, implicit_tls, Arc::new(Swap::new(service)))
}

/// Serves the service in `service` on a socket already bound (by [`bind`], or handed over
/// by systemd), in the background: each accepted connection gets the service stored in the
/// [`Swap`] at that moment. Returns the bound address and the accept loop's task, which
/// ends at shutdown.
pub fn spawn_swappable<S: Service>(
    name: &'static str,
    listener: TcpListener,
    implicit_tls: Option<TlsAcceptor>,
    service: Arc<Swap<S>>,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let local = listener.local_addr()?;
    tracing::info!(listener = name, address = %local, "listening");
    let task = tokio::spawn(async move {
        if let Err(e) = serve(listener, name, implicit_tls, service).await {
            tracing::error!(listener = name, "stopped: {e}");
        }
    });
    Ok((local, task))
}

/// Accepts connections until shutdown (or the listener fails), running each admitted one as
/// its own task.
async fn serve<S: Service>(
    listener: TcpListener,
    name: &'static str,
    implicit_tls: Option<TlsAcceptor>,
    services: Arc<Swap<S>>,
) -> io::Result<()> {
    let first = services.load();
    let gate = Arc::clone(first.gate());
    let stats = gate.metrics().listener(name, first.protocol());
    drop(first);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = gate.shutting_down() => return Ok(()),
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            // Out of descriptors or a connection reset before accept: keep listening.
            Err(e) if is_transient(&e) => {
                tracing::warn!(listener = name, "accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        // Replies are small writes answering small reads: do not wait to coalesce them.
        let _ = tcp.set_nodelay(true);
        let service = services.load();
        let slot = match service.gate().enter(peer.ip().to_canonical()) {
            Ok(slot) => slot,
            Err(why) => {
                stats.turned_away(match why {
                    Refusal::Busy => Turned::Busy,
                    Refusal::TooManyFromYou => Turned::PerIp,
                    Refusal::ShuttingDown => Turned::ShuttingDown,
                });
                if why != Refusal::ShuttingDown {
                    tracing::warn!(listener = name, %peer, "connection refused: {why:?}");
                }
                // Told in a task of its own while few are; else closed here and now.
                if let Some(telling) = service.gate().tell() {
                    let implicit_tls = implicit_tls.clone();
                    tokio::spawn(async move {
                        refuse(tcp, implicit_tls.as_ref(), &service.busy_reply()).await;
                        drop(telling);
                    });
                }
                continue;
            }
        };
        let implicit_tls = implicit_tls.clone();
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            let _slot = slot;
            stats.opened();
            let record = ConnectionRecord::new(service.protocol(), peer, stats);
            let mut stream = Stream::Plain(Metered::new(tcp, Arc::clone(&record)));
            if let Some(acceptor) = &implicit_tls {
                let handshake =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.accept_tls(acceptor));
                let result = match handshake.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(io::Error::new(e.kind(), format!("TLS handshake: {e}"))),
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    )),
                };
                if result.is_err() {
                    record.finish(&result);
                    return;
                }
                record.tls(stream.tls_version());
            }
            tracing::debug!(listener = name, %peer, "connected");
            let result = S::handle(stream, Arc::clone(&record), service).await;
            record.finish(&result);
        });
    }
}

fn is_transient(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::NotConnected | io::ErrorKind::Unsupported
    )
}

/// Refused clients told why at once, at least ([`Gate::tell`]): a burst over a small
/// connection limit is still told (over plain TCP a refusal takes microseconds).
pub const MIN_TELLING: usize = 64;

/// How long telling a refused client why may take, TLS handshake included.
pub const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Tells an over-the-limit client so (over TLS on an implicit-TLS port), then closes.
async fn refuse(tcp: TcpStream, implicit_tls: Option<&TlsAcceptor>, busy: &[u8]) {
    let mut stream = sansmail_core::tls::Stream::Plain(tcp);
    let told = async {
        if let Some(acceptor) = implicit_tls {
            stream.accept_tls(acceptor).await?;
        }
        stream.write_all(busy).await?;
        stream.flush().await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, told).await;
}

/// Binds `addr`, naming the listener in the error.
pub async fn bind(name: &str, addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("{name} cannot listen on {addr}: {e}")))
}
