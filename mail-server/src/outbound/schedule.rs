//! The queue runner: tries each queued message when it is due, records every outcome at
//! once, retries what was deferred with a growing backoff, and sends the DSNs that are due.
//!
//! Retries (defaults are Postfix's): 5 minutes after the first failure, doubling up to about
//! 67 minutes between tries, and after 5 days in the queue the message fails. A delay
//! warning goes out once a message waited 4 hours. Failed recipients and expired ones get
//! one failure DSN per attempt, to the envelope sender, never to the null sender.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    future::Future,
    io,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sansmail_smtp::ForwardPath;
use sansmail_store::{MailStore, Recipient, StoreError};
use tokio::task::JoinSet;

use super::{
    Wakeup,
    delivery::{Delivery, Outcome},
    dsn::{Action, Report},
    queue::{BodyType, QueueEntry, QueueStore, QueuedRecipient, RecipientState, unix_now},
};
use crate::auth::Accounts;

/// The most `Received:` fields a message may carry, this server's own included (Postfix's
/// `hopcount_limit`): past it the message is taken to loop (RFC 5321 §6.3).
pub(crate) const MAX_HOPS: usize = 50;

/// When to try again and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt; it doubles after each further one.
    pub first: Duration,
    /// The longest wait between attempts.
    pub max: Duration,
    /// How long a message may stay queued before it fails.
    pub lifetime: Duration,
    /// After how long in the queue a delay DSN is sent (once); `None` sends none.
    pub delay_warning: Option<Duration>,
    /// How often the queue is read from storage again (changes made by `mailctl`).
    pub rescan: Duration,
    /// Messages being delivered at once.
    pub max_parallel: usize,
}

impl Default for RetryPolicy {
    /// Postfix's defaults: `minimal_backoff_time` 300 s, `maximal_backoff_time` 4000 s,
    /// `maximal_queue_lifetime` 5 days, and a delay warning after 4 hours.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(300),
            max: Duration::from_secs(4000),
            lifetime: Duration::from_secs(5 * 24 * 3600),
            delay_warning: Some(Duration::from_secs(4 * 3600)),
            rescan: Duration::from_secs(60),
            max_parallel: 50,
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` attempts (1 or more).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.first
            .saturating_mul(1u32 << doublings)
            .min(self.max)
            .max(Duration::from_secs(1))
    }
}

/// A future of local delivery.
pub type Delivering<'a> = Pin<Box<dyn Future<Output = Vec<Outcome>> + Send + 'a>>;

/// Delivery to addresses that are local (DSNs to local senders, above all).
pub trait LocalDelivery: Send + Sync + 'static {
    /// Whether `address` is delivered here.
    fn is_local(&self, address: &str) -> bool;
    /// Delivers `message` from `sender` to local `addresses`; one outcome each, in order.
    fn deliver<'a>(
        &'a self,
        sender: &'a str,
        message: &'a [u8],
        addresses: &'a [String],
    ) -> Delivering<'a>;
}

/// Local delivery into a [`MailStore`], with the [`Accounts`] saying who is local.
pub struct StoreDelivery<S> {
    /// The store.
    pub store: Arc<S>,
    /// Who is local.
    pub accounts: Arc<dyn Accounts>,
}

impl<S> StoreDelivery<S> {
    fn account(&self, address: &str) -> Option<sansmail_store::AccountName> {
        let m = sansmail_smtp::Mailbox::try_from(address).ok()?;
        self.accounts.recipient(&ForwardPath::Mailbox(m)).ok()
    }
}

impl<S: MailStore> LocalDelivery for StoreDelivery<S> {
    fn is_local(&self, address: &str) -> bool {
        self.account(address).is_some()
    }

    fn deliver<'a>(
        &'a self,
        sender: &'a str,
        message: &'a [u8],
        addresses: &'a [String],
    ) -> Delivering<'a> {
        Box::pin(async move {
            let accounts: Vec<_> = addresses.iter().map(|a| self.account(a)).collect();
            let recipients: Vec<Recipient> = accounts
                .iter()
                .flatten()
                .cloned()
                .map(Recipient::inbox)
                .collect();
            let mut upload = self.store.upload();
            let written = upload
                .write(format!("Return-Path: <{sender}>\r\n").as_bytes())
                .and_then(|()| upload.write(message));
            let mut results = match written {
                Ok(()) => self.store.deliver(upload, &recipients).await,
                Err(e) => recipients
                    .iter()
                    .map(|_| Err(StoreError::from(io::Error::other(e.to_string()))))
                    .collect(),
            }
            .into_iter();
            accounts
                .iter()
                .map(|a| match a {
                    None => Outcome::Failed {
                        status: "5.1.1".into(),
                        diagnostic: "no such local user".into(),
                        mta: None,
                    },
                    Some(_) => match results.next() {
                        Some(Ok(_)) => Outcome::Delivered {
                            reply: "delivered to the mailbox".into(),
                            mta: String::new(),
                            dsn_passed: false,
                        },
                        Some(Err(e)) if !e.is_temporary() => Outcome::Failed {
                            status: "5.2.0".into(),
                            diagnostic: e.to_string(),
                            mta: None,
                        },
                        Some(Err(e)) => Outcome::Deferred {
                            status: "4.2.0".into(),
                            diagnostic: e.to_string(),
                            mta: None,
                        },
                        None => Outcome::Deferred {
                            status: "4.3.0".into(),
                            diagnostic: "the store gave no result".into(),
                            mta: None,
                        },
                    },
                })
                .collect()
        })
    }
}

/// Runs the queue.
pub struct QueueRunner {
    queue: Arc<dyn QueueStore>,
    delivery: Arc<Delivery>,
    local: Option<Arc<dyn LocalDelivery>>,
    policy: RetryPolicy,
    reporting_mta: String,
    wakeup: Arc<Wakeup>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When each entry not being delivered is due.
    due: Due,
    in_flight: HashSet<String>,
}

/// Entries by when they are due (Unix seconds), earliest first, and by id: a pass of the
/// runner looks at the entries it starts and no others, however long the queue.
#[derive(Default)]
struct Due {
    by_id: HashMap<String, u64>,
    order: BTreeSet<(u64, String)>,
}

impl Due {
    fn insert(&mut self, id: String, at: u64) {
        if let Some(old) = self.by_id.insert(id.clone(), at) {
            self.order.remove(&(old, id.clone()));
        }
        self.order.insert((at, id));
    }

    fn remove(&mut self, id: &str) {
        if let Some(at) = self.by_id.remove(id) {
            self.order.remove(&(at, id.to_owned()));
        }
    }

    /// Up to `max` of the entries due by `now`, earliest first, skipping those `busy`; and
    /// when the first entry due after `now` is.
    fn take_due(
        &mut self,
        now: u64,
        max: usize,
        busy: &HashSet<String>,
    ) -> (Vec<String>, Option<u64>) {
        let started: Vec<String> = self
            .order
            .iter()
            .take_while(|(at, _)| *at <= now)
            .filter(|(_, id)| !busy.contains(id))
            .take(max)
            .map(|(_, id)| id.clone())
            .collect();
        for id in &started {
            self.remove(id);
        }
        let next = self
            .order
            .range((now.saturating_add(1), String::new())..)
            .find(|(_, id)| !busy.contains(id))
            .map(|(at, _)| *at);
        (started, next)
    }
}

impl std::fmt::Debug for QueueRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueRunner")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

fn to_system(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl QueueRunner {
    /// A runner for `queue`, delivering with `delivery` (and `local` for local addresses),
    /// woken by `wakeup` (the [`Relay`](super::Relay)'s), naming itself `reporting_mta` in
    /// DSNs.
    pub fn new(
        queue: Arc<dyn QueueStore>,
        delivery: Arc<Delivery>,
        local: Option<Arc<dyn LocalDelivery>>,
        policy: RetryPolicy,
        reporting_mta: &str,
        wakeup: Arc<Wakeup>,
    ) -> Arc<Self> {
        Arc::new(Self {
            queue,
            delivery,
            local,
            policy,
            reporting_mta: reporting_mta.to_owned(),
            wakeup,
            state: Mutex::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs until `shutdown` completes: deliveries in progress are left to finish or be
    /// cut off with the runtime (what they had recorded stays recorded).
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut next_scan = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_scan {
                self.scan().await;
                next_scan = tokio::time::Instant::now() + self.policy.rescan;
            }
            for id in self.wakeup.take() {
                let queue = Arc::clone(&self.queue);
                let lookup = id.clone();
                match blocking(move || queue.entry(&lookup)).await {
                    Ok(Some(e)) => {
                        self.state().due.insert(id, e.next_attempt);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(id, "queue: cannot read the entry: {e}"),
                }
            }
            let (started, next_due) = {
                let state = &mut *self.state();
                let free = self
                    .policy
                    .max_parallel
                    .saturating_sub(state.in_flight.len());
                let (started, next_due) = state.due.take_due(unix_now(), free, &state.in_flight);
                state.in_flight.extend(started.iter().cloned());
                (started, next_due)
            };
            for id in started {
                let runner = Arc::clone(&self);
                tokio::spawn(async move {
                    // In a task of its own: an attempt that panics fails alone and is tried
                    // again like one that failed, instead of staying in flight for good.
                    let attempt = {
                        let (runner, id) = (Arc::clone(&runner), id.clone());
                        tokio::spawn(async move { runner.attempt(&id).await })
                    };
                    let next = match attempt.await {
                        Ok(Ok(next)) => next,
                        Ok(Err(e)) => {
                            tracing::error!(id, "queue: attempt failed: {e}");
                            Some(unix_now() + runner.policy.first.as_secs().max(1))
                        }
                        Err(e) => {
                            tracing::error!(id, "queue: attempt panicked: {e}");
                            Some(unix_now() + runner.policy.first.as_secs().max(1))
                        }
                    };
                    {
                        let mut state = runner.state();
                        state.in_flight.remove(&id);
                        if let Some(t) = next {
                            state.due.insert(id, t);
                        }
                    }
                    runner.wakeup.notify.notify_one();
                });
            }
            let wait = next_due.map_or(self.policy.rescan, |t| {
                Duration::from_secs(t.saturating_sub(unix_now()))
            });
            let until = (tokio::time::Instant::now() + wait).min(next_scan);
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wakeup.notify.notified() => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// Reads every entry from storage again; logs the queue's size.
    async fn scan(&self) {
        let queue = Arc::clone(&self.queue);
        match blocking(move || queue.entries()).await {
            Ok(entries) => {
                let mut state = self.state();
                let pending: usize = entries.iter().map(|e| e.pending().count()).sum();
                // An empty queue is routine; one that holds mail is what an operator watches.
                if entries.is_empty() {
                    tracing::debug!("queue: scanned, empty");
                } else {
                    tracing::info!(
                        messages = entries.len(),
                        recipients = pending,
                        "queue: scanned"
                    );
                }
                let mut due = Due::default();
                for e in entries {
                    if !state.in_flight.contains(&e.id) {
                        due.insert(e.id, e.next_attempt);
                    }
                }
                state.due = due;
            }
            Err(e) => tracing::error!("queue: cannot list the queue: {e}"),
        }
    }

    /// Tries entry `id` once; returns when it is due next (`None`: it is gone).
    pub async fn attempt(&self, id: &str) -> io::Result<Option<u64>> {
        let queue = Arc::clone(&self.queue);
        let key = id.to_owned();
        let Some(mut entry) = blocking(move || queue.entry(&key)).await? else {
            return Ok(None);
        };
        if entry.next_attempt > unix_now() {
            return Ok(Some(entry.next_attempt));
        }
        let queue = Arc::clone(&self.queue);
        let key = id.to_owned();
        let message: Arc<Vec<u8>> = match blocking(move || queue.message(&key)).await {
            Ok(m) => Arc::new(m),
            // An entry without its message: deleted by the operator (`mailctl queue
            // delete` removes the message first), or left by a commit that failed (whose
            // client was told so and sends again). It goes, rather than being tried for
            // ever; no DSN, as Postfix's `postsuper -d` sends none.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::warn!(id, "queue: an entry without its message, removed");
                let queue = Arc::clone(&self.queue);
                let key = id.to_owned();
                blocking(move || queue.remove(&key)).await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };

        // Pending recipients by destination; local ones apart.
        let mut local = Vec::new();
        let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in entry.recipients.iter().enumerate() {
            if r.state != RecipientState::Pending {
                continue;
            }
            if self.local.as_ref().is_some_and(|l| l.is_local(&r.address)) {
                local.push(i);
            } else {
                groups
                    .entry(self.delivery.destination(r))
                    .or_default()
                    .push(i);
            }
        }
        let mut tasks = JoinSet::new();
        if let (Some(l), false) = (&self.local, local.is_empty()) {
            let l = Arc::clone(l);
            let sender = entry.sender.clone();
            let message = Arc::clone(&message);
            let addresses: Vec<String> = local
                .iter()
                .filter_map(|&i| entry.recipients.get(i).map(|r| r.address.clone()))
                .collect();
            tasks.spawn(async move {
                let outcomes = l.deliver(&sender, &message, &addresses).await;
                local.into_iter().zip(outcomes).collect::<Vec<_>>()
            });
        }
        // RFC 5321 §6.3: a message that went through this many MTAs is in a loop (two
        // relays each sending it to the other); it fails, as Postfix's hopcount_limit has it.
        let hops = crate::mailauth::verify::count_fields(&message, b"Received");
        if hops > MAX_HOPS {
            let looped: Vec<(usize, Outcome)> = groups
                .drain()
                .flat_map(|(_, indices)| indices)
                .map(|i| {
                    let diagnostic = format!("mail loop: {hops} Received: fields, over {MAX_HOPS}");
                    let outcome = Outcome::Failed {
                        status: "5.4.6".to_owned(),
                        diagnostic,
                        mta: None,
                    };
                    (i, outcome)
                })
                .collect();
            tasks.spawn(async move { looped });
        }
        for (destination, indices) in groups {
            let delivery = Arc::clone(&self.delivery);
            let snapshot = entry.clone();
            let message = Arc::clone(&message);
            tasks.spawn(async move {
                delivery
                    .deliver(&destination, &snapshot, &message, &indices)
                    .await
            });
        }
        entry.last_attempt = Some(unix_now());
        while let Some(done) = tasks.join_next().await {
            let outcomes = done.map_err(io::Error::other)?;
            for (i, outcome) in outcomes {
                if let Some(r) = entry.recipients.get_mut(i) {
                    log_outcome(&entry.id, r, &outcome);
                    apply(r, outcome);
                }
            }
            // Recorded as soon as known: a restart does not send it again.
            self.store(&entry).await?;
        }
        entry.attempts += 1;
        let now = unix_now();
        let age = now.saturating_sub(entry.queued_at);
        if entry.pending().next().is_some() && age >= self.policy.lifetime.as_secs() {
            for r in &mut entry.recipients {
                if r.state == RecipientState::Pending {
                    r.state = RecipientState::Failed;
                    r.status = Some("4.4.7".into());
                    let last = r.last_reply.take().unwrap_or_default();
                    r.last_reply = Some(format!("delivery time expired; last: {last}"));
                    tracing::warn!(id = entry.id, to = r.address, "queue: expired, given up");
                }
            }
        }
        self.notify(&mut entry, &message, now).await;
        if entry.is_done() {
            let queue = Arc::clone(&self.queue);
            let key = id.to_owned();
            blocking(move || queue.remove(&key)).await?;
            tracing::info!(id, "queue: done, removed");
            return Ok(None);
        }
        entry.next_attempt = now + self.policy.backoff(entry.attempts).as_secs();
        self.store(&entry).await?;
        Ok(Some(entry.next_attempt))
    }

    async fn store(&self, entry: &QueueEntry) -> io::Result<()> {
        let queue = Arc::clone(&self.queue);
        let e = entry.clone();
        blocking(move || queue.update(&e)).await
    }

    /// Queues the DSNs due after an attempt and marks what they reported. A DSN is queued
    /// before the entry says it was (at worst a crash between the two repeats it).
    async fn notify(&self, entry: &mut QueueEntry, message: &[u8], now: u64) {
        let null_sender = entry.sender.is_empty();
        let mut failed = Vec::new();
        let mut succeeded = Vec::new();
        for (i, r) in entry.recipients.iter_mut().enumerate() {
            if r.reported {
                continue;
            }
            match r.state {
                RecipientState::Failed => {
                    r.reported = true;
                    if r.notify().failure && !null_sender {
                        failed.push(i);
                    }
                }
                RecipientState::Delivered => {
                    r.reported = true;
                    if r.notify().success && !null_sender {
                        succeeded.push(i);
                    }
                }
                RecipientState::Pending => {}
            }
        }
        let age = now.saturating_sub(entry.queued_at);
        let mut delayed = Vec::new();
        if !entry.delay_reported
            && self
                .policy
                .delay_warning
                .is_some_and(|d| age >= d.as_secs())
        {
            entry.delay_reported = true;
            if !null_sender {
                delayed = entry
                    .recipients
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.state == RecipientState::Pending && r.notify().delay)
                    .map(|(i, _)| i)
                    .collect();
            }
        }
        if null_sender
            && entry
                .recipients
                .iter()
                .any(|r| r.state == RecipientState::Failed)
        {
            tracing::info!(id = entry.id, "queue: no DSN for the null sender");
        }
        let retry_until = Some(to_system(entry.queued_at + self.policy.lifetime.as_secs()));
        let relayed: Vec<usize> = succeeded
            .iter()
            .copied()
            .filter(|&i| {
                entry
                    .recipients
                    .get(i)
                    .is_some_and(|r| r.remote_mta.is_some())
            })
            .collect();
        let delivered: Vec<usize> = succeeded
            .iter()
            .copied()
            .filter(|i| !relayed.contains(i))
            .collect();
        for (action, recipients) in [
            (Action::Failed, failed),
            (Action::Delayed, delayed),
            (Action::Relayed, relayed),
            (Action::Delivered, delivered),
        ] {
            if recipients.is_empty() {
                continue;
            }
            let report = Report {
                reporting_mta: &self.reporting_mta,
                entry,
                message,
                action,
                recipients: &recipients,
                retry_until,
            };
            let dsn = report.build(to_system(now));
            if let Err(e) = self.queue_dsn(&entry.sender, dsn).await {
                tracing::error!(id = entry.id, "queue: cannot queue a DSN: {e}");
                for &i in &recipients {
                    if let Some(r) = entry.recipients.get_mut(i) {
                        r.reported = false;
                    }
                }
                if action == Action::Delayed {
                    entry.delay_reported = false;
                }
            }
        }
    }

    async fn queue_dsn(&self, to: &str, dsn: Vec<u8>) -> io::Result<()> {
        let queue = Arc::clone(&self.queue);
        let mut entry = QueueEntry::new("", vec![QueuedRecipient::new(to)]);
        // What the DSN needs of the next hop: SMTPUTF8 for a UTF-8 address (RFC 6531 §3.4),
        // and the body type of what it returns of the message.
        entry.smtputf8 = !to.is_ascii();
        entry.body = body_type_of(&dsn);
        let id = blocking(move || {
            let mut upload = queue.spool();
            upload.write(&dsn)?;
            queue.commit(upload, &mut entry)
        })
        .await?;
        tracing::info!(id, to, "queue: DSN queued");
        self.wakeup.queued(id);
        Ok(())
    }
}

/// The least `BODY=` that carries `data` unchanged: binary with a NUL or a bare CR or LF,
/// 8-bit with octets past 127, else 7-bit.
fn body_type_of(data: &[u8]) -> BodyType {
    if super::dsn::is_binary(data) {
        BodyType::Binary
    } else if data.iter().any(|&b| b > 127) {
        BodyType::EightBit
    } else {
        BodyType::SevenBit
    }
}

fn log_outcome(id: &str, r: &QueuedRecipient, o: &Outcome) {
    match o {
        Outcome::Delivered { reply, mta, .. } => {
            tracing::info!(id, to = r.address, relay = mta, reply, "queue: delivered");
        }
        Outcome::Failed {
            status, diagnostic, ..
        } => tracing::warn!(id, to = r.address, status, diagnostic, "queue: failed"),
        Outcome::Deferred {
            status, diagnostic, ..
        } => tracing::info!(id, to = r.address, status, diagnostic, "queue: deferred"),
    }
}

fn apply(r: &mut QueuedRecipient, o: Outcome) {
    match o {
        Outcome::Delivered {
            reply,
            mta,
            dsn_passed,
        } => {
            r.state = RecipientState::Delivered;
            r.status = Some("2.0.0".into());
            r.last_reply = Some(reply);
            r.remote_mta = (!mta.is_empty()).then_some(mta);
            // The next hop took the DSN request over: it reports, not we.
            r.reported = dsn_passed;
        }
        Outcome::Failed {
            status,
            diagnostic,
            mta,
        } => {
            r.state = RecipientState::Failed;
            r.status = Some(status);
            r.last_reply = Some(diagnostic);
            r.remote_mta = mta;
        }
        Outcome::Deferred {
            status,
            diagnostic,
            mta,
        } => {
            r.status = Some(status);
            r.last_reply = Some(diagnostic);
            r.remote_mta = mta;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DSN returning an 8-bit or binary message asks the next hop for 8BITMIME or
    /// BINARYMIME (it went as 7-bit, whatever it held).
    #[test]
    fn a_dsn_declares_the_body_it_carries() {
        assert_eq!(body_type_of(b"a\r\nb\r\n"), BodyType::SevenBit);
        assert_eq!(body_type_of("\u{e9}\r\n".as_bytes()), BodyType::EightBit);
        assert_eq!(body_type_of(b"a\x00b\r\n"), BodyType::Binary);
        assert_eq!(body_type_of(b"a\rb\r\n"), BodyType::Binary);
        assert_eq!(body_type_of(b"a\nb\r\n"), BodyType::Binary);
        assert_eq!(body_type_of(b"\n"), BodyType::Binary);
        assert_eq!(body_type_of(b"end\r"), BodyType::Binary);
    }

    #[test]
    fn backoff_doubles_to_the_maximum() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (1..=7).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(waits, [300, 600, 1200, 2400, 4000, 4000, 4000]);
        assert_eq!(p.backoff(u32::MAX).as_secs(), 4000);
    }

    /// Entries come out earliest first, at most as many as asked, none being delivered and
    /// none not yet due; a new time replaces the old one; the next time is the first after
    /// `now`.
    #[test]
    fn due_entries_come_out_earliest_first() {
        let mut due = Due::default();
        for (id, at) in [("a", 30), ("b", 10), ("c", 20), ("d", 50), ("e", 10)] {
            due.insert(id.to_owned(), at);
        }
        due.insert("d".to_owned(), 5); // rescheduled: now the earliest
        due.insert("f".to_owned(), 40);
        due.remove("f");
        let busy: HashSet<String> = ["e".to_owned()].into();
        assert_eq!(
            due.take_due(25, 2, &busy),
            (vec!["d".to_owned(), "b".to_owned()], Some(30))
        );
        // "c" is due and "e" is due but busy; "a" not yet.
        assert_eq!(
            due.take_due(25, 10, &busy),
            (vec!["c".to_owned()], Some(30))
        );
        assert_eq!(
            due.take_due(25, 10, &HashSet::new()),
            (vec!["e".to_owned()], Some(30))
        );
        assert_eq!(due.take_due(100, 10, &busy), (vec!["a".to_owned()], None));
        assert!(due.by_id.is_empty() && due.order.is_empty());
        // An entry being delivered says nothing of when the runner is next due.
        due.insert("g".to_owned(), 200);
        due.insert("e".to_owned(), 150);
        assert_eq!(due.take_due(100, 10, &busy), (vec![], Some(200)));
    }
}
