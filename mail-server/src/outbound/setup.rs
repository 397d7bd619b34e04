//! The outbound side a server starts with, put together from plain settings: the disk queue
//! (DKIM-signing when keys are given), the relay rule the SMTP services check, the runner
//! that delivers by MX or a smarthost, and the inbound checker for port 25.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use sansmail_store::MailStore;

use super::{
    Network, Relay,
    delivery::{Delivery, DeliveryConfig, Smarthost},
    dns::HickoryResolver,
    queue::{DiskQueue, QueueStore},
    schedule::{QueueRunner, RetryPolicy, StoreDelivery},
};
use crate::{
    auth::Accounts,
    mailauth::{DnsRecord, KeyDir, KeyType, Signer, SigningQueue, Verifier},
};

/// Mail to and from other systems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSettings {
    /// Logged-in clients (and `relay_networks`) may send to other systems: the mail goes
    /// into the queue and out by MX (or `smarthost`). Off: `554 5.7.1` for every recipient
    /// that is not local.
    pub relay: bool,
    /// Clients that may relay without logging in.
    pub relay_networks: Vec<Network>,
    /// Everything out through this host and port instead of MX lookups.
    pub smarthost: Option<(String, u16)>,
    /// DNS servers for MX lookups and inbound checks; empty: the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// The port MX hosts are reached on (25).
    pub mx_port: u16,
    /// DKIM keys of the local domains (generated at the first start); `None` signs nothing.
    pub dkim_keys: Option<PathBuf>,
    /// The DKIM selector.
    pub dkim_selector: String,
    /// SPF, DKIM and DMARC checks on SMTP (25, 465).
    pub check_inbound: bool,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            relay: true,
            relay_networks: Vec::new(),
            smarthost: None,
            dns_servers: Vec::new(),
            mx_port: 25,
            dkim_keys: None,
            dkim_selector: "sansmail".to_owned(),
            check_inbound: false,
        }
    }
}

/// What [`Outbound::start`] built: the pieces the SMTP services take, and the runner to spawn.
#[derive(Debug, Default)]
pub struct Outbound {
    /// For [`SmtpService::relay`](crate::smtp::SmtpService::relay) (not LMTP).
    pub relay: Option<Arc<Relay>>,
    /// For [`SmtpService::verify`](crate::smtp::SmtpService::verify) on port 25.
    pub verifier: Option<Arc<Verifier>>,
    /// Delivers the queue; run it with [`QueueRunner::run`].
    pub runner: Option<Arc<QueueRunner>>,
    /// Each local domain's DKIM record, and whether its key was made now (to publish).
    pub dkim_records: Vec<(DnsRecord, bool)>,
}

impl Outbound {
    /// Builds what `settings` ask for a server called `hostname` with `domains`, its queue in
    /// `queue_dir`, DSNs to local senders delivered into `store`.
    pub fn start<S: MailStore + 'static>(
        settings: &OutboundSettings,
        hostname: &str,
        domains: &[String],
        queue_dir: &Path,
        store: Arc<S>,
        accounts: Arc<dyn Accounts>,
    ) -> std::io::Result<Self> {
        let o = settings;
        let resolver = if o.dns_servers.is_empty() {
            // A machine without /etc/resolv.conf still serves its own users: outbound mail
            // then asks a resolver on this host, and waits in the queue if there is none.
            HickoryResolver::system().unwrap_or_else(|e| {
                tracing::warn!("no system DNS configuration ({e}): using 127.0.0.1:53");
                HickoryResolver::with_servers(
                    &[([127, 0, 0, 1], 53).into()],
                    Duration::from_secs(5),
                )
            })
        } else {
            HickoryResolver::with_servers(&o.dns_servers, Duration::from_secs(5))
        };
        let (signer, dkim_records) = match &o.dkim_keys {
            Some(dir) => {
                let keys = KeyDir::open(dir)?;
                let (signer, records) =
                    Signer::from_dir(&keys, domains, &o.dkim_selector, KeyType::default())
                        .map_err(std::io::Error::other)?;
                for (record, new) in &records {
                    let line = record.zone_line();
                    if *new {
                        tracing::warn!(record = %line, "new DKIM key; publish its TXT record");
                    } else {
                        tracing::info!(record = %line, "DKIM key");
                    }
                }
                (Some(Arc::new(signer)), records)
            }
            None => (None, Vec::new()),
        };
        let verifier = o
            .check_inbound
            .then(|| Arc::new(Verifier::new(&resolver, hostname)));
        if !o.relay {
            return Ok(Self {
                relay: None,
                verifier,
                runner: None,
                dkim_records,
            });
        }
        let disk: Arc<dyn QueueStore> = Arc::new(DiskQueue::open(queue_dir)?);
        let queue: Arc<dyn QueueStore> = match signer {
            Some(signer) => Arc::new(SigningQueue::new(disk, signer)),
            None => disk,
        };
        let mut relay = Relay::new(Arc::clone(&queue));
        relay.trusted_networks.clone_from(&o.relay_networks);
        let relay = Arc::new(relay);
        let mut config = DeliveryConfig::new(hostname);
        config.port = o.mx_port;
        config.smarthost = o.smarthost.as_ref().map(|(host, port)| Smarthost {
            host: host.clone(),
            port: *port,
            credentials: None,
            implicit_tls: *port == 465,
        });
        let delivery = Arc::new(Delivery::new(config, Arc::new(resolver))?);
        let local = Arc::new(StoreDelivery { store, accounts });
        let runner = QueueRunner::new(
            queue,
            delivery,
            Some(local),
            RetryPolicy::default(),
            hostname,
            Arc::clone(&relay.wakeup),
        );
        Ok(Self {
            relay: Some(relay),
            verifier,
            runner: Some(runner),
            dkim_records,
        })
    }
}
