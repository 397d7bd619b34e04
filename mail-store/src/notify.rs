//! Change notifications: what IMAP IDLE and untagged updates are built on.
//!
//! A backend publishes one [`ChangeEvent`] per committed mutation to a [`ChangeHub`]; every
//! [`Subscription`] of the same account and mailbox, except the one of the session that made
//! the change, receives it. The hub is in-process; a backend spanning processes feeds it from
//! its own transport (PostgreSQL: a `LISTEN` task calling [`ChangeHub::publish`] with the
//! decoded `NOTIFY` payload, which is why events are plain serializable data).
//!
//! A subscription to a whole account ([`ChangeHub::subscribe_account`]) receives the events
//! of every mailbox of the account, and those about the mailbox list itself
//! ([`ChangeKind::Created`], [`ChangeKind::Subscribed`], renames and deletions): what IMAP
//! NOTIFY (RFC 5465) reports for mailboxes other than the selected one.
//!
//! Queues are bounded: a subscriber that falls behind gets [`ChangeKind::Lagged`] once and
//! should resynchronise with [`MailStore::changes_since`](crate::MailStore::changes_since).

use sansmail_core::swept::SweptMap;
use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{Arc, Condvar, Mutex, Weak},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use crate::{
    model::MessageFlags,
    types::{AccountName, ModSeq, SessionId, Uid, UidValidity},
};

/// Events queued per subscription before it is told it lagged.
pub const QUEUE_CAPACITY: usize = 4096;

/// Messages and UIDs (see [`ChangeKind::items`]) queued per subscription before it is told
/// it lagged: one `STORE 1:*` on a large mailbox is one event, but as large as the mailbox.
pub const QUEUE_ITEMS: usize = 1 << 16;

/// A change to one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// The mailbox's name.
    pub mailbox: String,
    /// The session that made the change ([`SessionId::EXTERNAL`] for changes found on disk).
    pub origin: SessionId,
    /// What happened.
    pub kind: ChangeKind,
}

/// What happened to a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Messages were added (append, copy, move, delivery): send `EXISTS`.
    Appended {
        /// The new messages with their flags and modseq.
        messages: Vec<MessageFlags>,
    },
    /// Flags changed: send `FETCH (FLAGS .. MODSEQ ..)`.
    FlagsChanged(Vec<MessageFlags>),
    /// Messages were expunged: send `EXPUNGE` or `VANISHED`.
    Expunged {
        /// The UIDs removed.
        uids: Vec<Uid>,
        /// The modseq of the expunge.
        modseq: ModSeq,
    },
    /// The mailbox was renamed; this subscription sees nothing more.
    Renamed {
        /// The new name.
        to: String,
    },
    /// The mailbox was deleted (or recreated with another UIDVALIDITY); close it (`BYE` or
    /// `NO` for the selected mailbox).
    Deleted {
        /// The UIDVALIDITY the mailbox had.
        uidvalidity: UidValidity,
    },
    /// The mailbox was created (by CREATE, or as a missing parent or a RENAME's target).
    Created,
    /// The mailbox was subscribed (`on`) or unsubscribed; it need not exist.
    Subscribed {
        /// Subscribed rather than unsubscribed.
        on: bool,
    },
    /// Events were dropped because the subscriber fell behind: resynchronise.
    Lagged,
}

impl ChangeKind {
    /// How many messages or UIDs the event lists (at least one): what a queued event
    /// weighs against [`QUEUE_ITEMS`].
    pub fn items(&self) -> usize {
        match self {
            Self::Appended { messages } | Self::FlagsChanged(messages) => messages.len(),
            Self::Expunged { uids, .. } => uids.len(),
            _ => 1,
        }
        .max(1)
    }
}

#[derive(Debug, Default)]
struct Queue {
    /// Shared with the other subscriptions the event went to: published once, cloned
    /// only by those that take it while another still holds it.
    events: VecDeque<Arc<ChangeEvent>>,
    /// The [`ChangeKind::items`] of `events`.
    items: usize,
    lagged: bool,
    waker: Option<Waker>,
}

impl Queue {
    fn clear(&mut self) {
        self.events.clear();
        self.items = 0;
    }
}

#[derive(Debug)]
struct Shared {
    session: SessionId,
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn push(&self, ev: &Arc<ChangeEvent>) {
        let mut q = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if q.lagged {
            return;
        }
        let items = ev.kind.items();
        if q.events.len() >= QUEUE_CAPACITY || q.items + items > QUEUE_ITEMS {
            q.clear();
            q.lagged = true;
        } else {
            q.events.push_back(Arc::clone(ev));
            q.items += items;
        }
        if let Some(w) = q.waker.take() {
            w.wake();
        }
        drop(q);
        self.ready.notify_all();
    }

    /// Drops what is queued and tells the subscriber it lagged.
    fn lag(&self) {
        let mut q = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        q.clear();
        q.lagged = true;
        if let Some(w) = q.waker.take() {
            w.wake();
        }
        drop(q);
        self.ready.notify_all();
    }
}

/// Routes events to the subscriptions of each (account, mailbox), and to those of each
/// account as a whole.
#[derive(Debug, Default)]
pub struct ChangeHub {
    // A key is otherwise cleaned only when a change to it is published, which a mailbox
    // that does not exist (a SELECT of a random name) never sees.
    subs: Mutex<Routes<(AccountName, String)>>,
    accounts: Mutex<Routes<AccountName>>,
}

/// The subscriptions under each key.
type Routes<K> = SweptMap<K, Vec<Weak<Shared>>>;

/// Adds `sub` to `key`'s list in `routes`, the lists with no live subscription swept as
/// the map grows.
fn route<K: std::hash::Hash + Eq>(routes: &mut Routes<K>, key: K, sub: Weak<Shared>) {
    let in_use = |list: &mut Vec<Weak<Shared>>| {
        list.retain(|w| w.strong_count() > 0);
        !list.is_empty()
    };
    let list = routes.get_or_insert_with(key, in_use, Vec::new);
    list.retain(|w| w.strong_count() > 0);
    list.push(sub);
}

/// The live subscriptions of `list`, dropping the dead ones.
fn live(list: &mut Vec<Weak<Shared>>) -> Vec<Arc<Shared>> {
    list.retain(|w| w.strong_count() > 0);
    list.iter().filter_map(Weak::upgrade).collect()
}

fn new_shared(session: SessionId) -> Arc<Shared> {
    Arc::new(Shared {
        session,
        queue: Mutex::new(Queue::default()),
        ready: Condvar::new(),
    })
}

impl ChangeHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes `session` to the changes of `mailbox` in `account`.
    pub fn subscribe(
        &self,
        account: &AccountName,
        mailbox: &str,
        session: SessionId,
    ) -> Subscription {
        let shared = new_shared(session);
        let mut subs = self
            .subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        route(
            &mut subs,
            (account.clone(), mailbox.to_owned()),
            Arc::downgrade(&shared),
        );
        Subscription { shared }
    }

    /// Subscribes `session` to the changes of every mailbox of `account` and of its
    /// mailbox list.
    pub fn subscribe_account(&self, account: &AccountName, session: SessionId) -> Subscription {
        let shared = new_shared(session);
        let mut accounts = self
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        route(&mut accounts, account.clone(), Arc::downgrade(&shared));
        Subscription { shared }
    }

    /// Delivers `event` to every subscriber of its mailbox and of its account, except its
    /// origin.
    pub fn publish(&self, account: &AccountName, event: &ChangeEvent) {
        let mut targets: Vec<Arc<Shared>> = {
            let mut accounts = self
                .accounts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match accounts.get_mut(account) {
                Some(list) => {
                    let t = live(list);
                    if list.is_empty() {
                        accounts.remove(account);
                    }
                    t
                }
                None => Vec::new(),
            }
        };
        {
            let mut subs = self
                .subs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = (account.clone(), event.mailbox.clone());
            if let Some(list) = subs.get_mut(&key) {
                targets.extend(live(list));
                if list.is_empty() {
                    subs.remove(&key);
                }
            }
        }
        targets.retain(|s| s.session != event.origin);
        if targets.is_empty() {
            return;
        }
        let event = Arc::new(event.clone());
        for s in targets {
            s.push(&event);
        }
    }
}

impl ChangeHub {
    /// Tells every subscription that it lagged ([`ChangeKind::Lagged`]), so each one
    /// resynchronises with [`MailStore::changes_since`](crate::MailStore::changes_since):
    /// what a transport that may have lost events does (a `LISTEN` connection that dropped
    /// and came back).
    pub fn lag_all(&self) {
        let targets: Vec<Arc<Shared>> = {
            let mut subs = self
                .subs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut t = Vec::new();
            subs.retain(|_, list| {
                t.extend(live(list));
                !list.is_empty()
            });
            drop(subs);
            let mut accounts = self
                .accounts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            accounts.retain(|_, list| {
                t.extend(live(list));
                !list.is_empty()
            });
            t
        };
        for s in targets {
            s.lag();
        }
    }
}

/// A stream of change events for one mailbox. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    shared: Arc<Shared>,
}

impl Subscription {
    fn take(&self) -> Option<ChangeEvent> {
        let mut q = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::take_locked(&mut q)
    }

    fn take_locked(q: &mut Queue) -> Option<ChangeEvent> {
        if q.lagged {
            q.lagged = false;
            return Some(ChangeEvent {
                mailbox: String::new(),
                origin: SessionId::EXTERNAL,
                kind: ChangeKind::Lagged,
            });
        }
        let ev = q.events.pop_front()?;
        q.items -= ev.kind.items();
        Some(Arc::unwrap_or_clone(ev))
    }

    /// The next event if one is queued.
    pub fn try_next(&self) -> Option<ChangeEvent> {
        self.take()
    }

    /// Waits for the next event.
    pub fn recv(&mut self) -> impl Future<Output = ChangeEvent> + Send + '_ {
        Next { sub: self }
    }

    /// Blocks the thread until an event comes or `timeout` passes (for code without an async
    /// runtime).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<ChangeEvent> {
        let deadline = Instant::now() + timeout;
        let mut q = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(ev) = Self::take_locked(&mut q) {
                return Some(ev);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            q = self
                .shared
                .ready
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

struct Next<'a> {
    sub: &'a mut Subscription,
}

impl Future for Next<'_> {
    type Output = ChangeEvent;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ChangeEvent> {
        let mut q = self
            .sub
            .shared
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match Subscription::take_locked(&mut q) {
            Some(ev) => Poll::Ready(ev),
            None => {
                q.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(origin: SessionId) -> ChangeEvent {
        ChangeEvent {
            mailbox: "INBOX".into(),
            origin,
            kind: ChangeKind::Expunged {
                uids: vec![Uid::new(1).unwrap()],
                modseq: ModSeq::new(2).unwrap(),
            },
        }
    }

    #[test]
    fn skips_origin_and_reports_lag() {
        let hub = ChangeHub::new();
        let acct = AccountName::try_from("a").unwrap();
        let (me, other) = (SessionId::new(), SessionId::new());
        let mine = hub.subscribe(&acct, "INBOX", me);
        let theirs = hub.subscribe(&acct, "INBOX", other);
        hub.publish(&acct, &ev(me));
        assert!(mine.try_next().is_none());
        assert_eq!(theirs.try_next(), Some(ev(me)));
        for _ in 0..=QUEUE_CAPACITY {
            hub.publish(&acct, &ev(other));
        }
        assert_eq!(mine.try_next().unwrap().kind, ChangeKind::Lagged);
        assert!(mine.try_next().is_none());
        hub.publish(&acct, &ev(other));
        assert!(mine.recv_timeout(Duration::from_millis(10)).is_some());
        drop(theirs);
        hub.publish(&acct, &ev(me));
        assert_eq!(hub.subs.lock().unwrap().values().next().unwrap().len(), 1);
    }

    #[test]
    fn account_subscription_sees_every_mailbox_but_its_own_changes() {
        let hub = ChangeHub::new();
        let (acct, other_acct) = (
            AccountName::try_from("a").unwrap(),
            AccountName::try_from("b").unwrap(),
        );
        let (me, other) = (SessionId::new(), SessionId::new());
        let all = hub.subscribe_account(&acct, me);
        let created = ChangeEvent {
            mailbox: "New".into(),
            origin: other,
            kind: ChangeKind::Created,
        };
        hub.publish(&acct, &created);
        hub.publish(&acct, &ev(other));
        hub.publish(&acct, &ev(me));
        hub.publish(&other_acct, &ev(other));
        assert_eq!(all.try_next(), Some(created));
        assert_eq!(all.try_next(), Some(ev(other)));
        assert!(
            all.try_next().is_none(),
            "its own and other accounts' changes"
        );
        for _ in 0..=QUEUE_CAPACITY {
            hub.publish(&acct, &ev(other));
        }
        assert_eq!(all.try_next().unwrap().kind, ChangeKind::Lagged);
        hub.lag_all();
        assert_eq!(all.try_next().unwrap().kind, ChangeKind::Lagged);
        drop(all);
        hub.publish(&acct, &ev(other));
        assert!(hub.accounts.lock().unwrap().is_empty(), "dropped, unrouted");
    }

    /// Subscriptions to mailboxes that never change (a SELECT of a name that does not
    /// exist) are dropped by the time the map has doubled, so the map stays bounded by the
    /// live ones; a live one is kept and still routed.
    #[test]
    fn dead_subscriptions_to_quiet_mailboxes_are_swept() {
        let hub = ChangeHub::new();
        let acct = AccountName::try_from("a").unwrap();
        let (me, other) = (SessionId::new(), SessionId::new());
        let live = hub.subscribe(&acct, "INBOX", me);
        for i in 0..10 * SweptMap::<(), ()>::MIN {
            drop(hub.subscribe(&acct, &format!("nowhere{i}"), me));
        }
        let keys = hub.subs.lock().unwrap().len();
        assert!(keys <= SweptMap::<(), ()>::MIN, "{keys} keys kept");
        hub.publish(&acct, &ev(other));
        assert_eq!(live.try_next(), Some(ev(other)));
    }

    /// A subscriber that does not read is told it lagged once the messages its queued
    /// events list pass [`QUEUE_ITEMS`], however few the events; one that reads keeps up.
    #[test]
    fn queues_are_bounded_by_the_messages_they_list() {
        let hub = ChangeHub::new();
        let acct = AccountName::try_from("a").unwrap();
        let (slow, reader) = (
            hub.subscribe(&acct, "INBOX", SessionId::new()),
            hub.subscribe(&acct, "INBOX", SessionId::new()),
        );
        let flags = |n: usize| ChangeEvent {
            mailbox: "INBOX".into(),
            origin: SessionId::new(),
            kind: ChangeKind::FlagsChanged(
                (1..=n)
                    .map(|u| MessageFlags {
                        uid: Uid::new(u32::try_from(u).unwrap()).unwrap(),
                        flags: crate::types::Flags::new(),
                        modseq: ModSeq::new(7).unwrap(),
                    })
                    .collect(),
            ),
        };
        let half = flags(QUEUE_ITEMS / 2);
        hub.publish(&acct, &half);
        assert_eq!(reader.try_next().as_ref(), Some(&half));
        hub.publish(&acct, &half);
        assert_eq!(reader.try_next().as_ref(), Some(&half));
        hub.publish(&acct, &flags(1));
        assert_eq!(reader.try_next().unwrap().kind.items(), 1);
        assert_eq!(slow.try_next().unwrap().kind, ChangeKind::Lagged);
        assert!(slow.try_next().is_none(), "what was queued is dropped");
        // Read, it is served again.
        hub.publish(&acct, &half);
        assert_eq!(slow.try_next().as_ref(), Some(&half));
    }

    #[test]
    fn lag_all_reaches_every_subscription() {
        let hub = ChangeHub::new();
        let acct = AccountName::try_from("a").unwrap();
        let a = hub.subscribe(&acct, "INBOX", SessionId::new());
        let b = hub.subscribe(&acct, "Other", SessionId::new());
        hub.publish(&acct, &ev(SessionId::new()));
        hub.lag_all();
        assert_eq!(a.try_next().unwrap().kind, ChangeKind::Lagged);
        assert!(a.try_next().is_none(), "queued events are dropped");
        assert_eq!(b.try_next().unwrap().kind, ChangeKind::Lagged);
        let other = SessionId::new();
        hub.publish(&acct, &ev(other));
        assert_eq!(a.try_next(), Some(ev(other)));
    }
}
