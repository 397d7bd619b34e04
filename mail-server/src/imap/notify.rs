//! NOTIFY (RFC 5465): the changes other sessions make to the account's mailboxes, told
//! without being asked. The session checks the command and keeps the set in effect; this
//! module watches the whole account in the store, matches each change against the set's
//! filters, and sends `STATUS` for mailboxes whose messages changed and `LIST` for the
//! mailbox list (created, deleted, renamed, (un)subscribed).
//!
//! Memory stays bounded: the changes waiting are read all at once and collapse into one
//! STATUS per mailbox, asked of the store after; a subscriber that fell behind the store's
//! queue, or more mailboxes owed a STATUS than [`MAX_OWED`], ends NOTIFY with
//! `* OK [NOTIFICATIONOVERFLOW]`.

use std::{collections::BTreeSet, io};

use sansmail_imap::{
    session::view::MessageState,
    types::{
        flag::MailboxAttr,
        mailbox::Mailbox,
        notify::{FilterMailboxes, NotifyEvent, NotifySet},
        response::{Data, Response},
        response_data::{ListData, ListExtItem},
        status::StatusAttr,
    },
};
use sansmail_store::{
    ChangeEvent, ChangeKind, Content, ListScope, MailStore, Subscription, Uid, UidSet,
};

use super::{Conn, convert, fetch::plan::Plan, mailboxes::status_items};

/// The most mailboxes owed a STATUS at once before NOTIFY gives up (RFC 5465 §3.1
/// NOTIFICATIONOVERFLOW).
pub(super) const MAX_OWED: usize = 1000;

/// The changes read in one go before the STATUS responses they owe are sent.
const BATCH: usize = 4096;

/// NOTIFY in effect on a connection.
pub(super) struct Notifying {
    /// Every change of the account made by other sessions.
    pub(super) sub: Subscription,
    /// The subscribed mailboxes, when a `subscribed` filter needs them.
    subscribed: Option<BTreeSet<String>>,
}

/// What a filter-matching change asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Messages,
    Flags,
    Names,
    Subscriptions,
}

fn wants(events: &[NotifyEvent<'_>], want: Want) -> bool {
    events.iter().any(|e| match want {
        Want::Messages => matches!(e, NotifyEvent::MessageNew(_) | NotifyEvent::MessageExpunge),
        Want::Flags => matches!(e, NotifyEvent::FlagChange),
        Want::Names => matches!(e, NotifyEvent::MailboxName),
        Want::Subscriptions => matches!(e, NotifyEvent::SubscriptionChange),
    })
}

impl<S: MailStore> Conn<'_, S> {
    /// A subscription changed, by another session or by this one (whose own changes the
    /// store does not echo): a `subscribed` filter follows it (RFC 5465 §6.4).
    pub(super) fn note_subscription(&mut self, name: &str, on: bool) {
        if let Some(s) = self.notify.as_mut().and_then(|n| n.subscribed.as_mut()) {
            if on {
                s.insert(name.to_owned());
            } else {
                s.remove(name);
            }
        }
    }

    /// NOTIFY, checked by the session: `NONE` stops watching; `SET` watches the account
    /// (replacing an earlier set) and, with `STATUS`, tells the current STATUS of each
    /// mailbox whose message events it asks for (RFC 5465 §3.1). A filter naming a mailbox
    /// that does not exist is no error (§6).
    pub(super) async fn notify(&mut self, set: Option<NotifySet<'static>>) -> io::Result<()> {
        let Some(set) = set else {
            self.notify = None;
            return self.ok(None, "NOTIFY completed");
        };
        let session = self.session()?;
        let store = &self.service.store;
        let sub = match store.watch_account(&session).await {
            Ok(s) => s,
            Err(e) => return self.fail(&e),
        };
        let uses_subscribed = set
            .groups
            .iter()
            .any(|g| g.filter == FilterMailboxes::Subscribed);
        let subscribed = if uses_subscribed {
            match store.list(&session, "*", ListScope::Subscribed).await {
                Ok(l) => Some(l.into_iter().map(|i| i.name).collect()),
                Err(e) => return self.fail(&e),
            }
        } else {
            None
        };
        self.notify = Some(Notifying { sub, subscribed });
        if set.status {
            let all = match store.list(&session, "*", ListScope::All).await {
                Ok(l) => l,
                Err(e) => return self.fail(&e),
            };
            for info in all.iter().filter(|i| i.exists) {
                if self.matching(&set, &info.name, Want::Messages) {
                    let flags = self.matching(&set, &info.name, Want::Flags);
                    self.send_status(&info.name, false, flags).await;
                }
            }
        }
        self.ok(None, "NOTIFY completed")
    }

    /// Whether the group of `set` that applies to mailbox `name` asks for `want`. The first
    /// group whose filter matches applies (Archiveopteryx's reading, by an RFC 5465 author), so
    /// that `(mailboxes Spam NONE) (personal ...)` leaves Spam out; for the selected mailbox a
    /// `selected` group matches. Its message changes are told as EXISTS and EXPUNGE, never
    /// as STATUS (§6).
    fn matching(&self, set: &NotifySet<'_>, name: &str, want: Want) -> bool {
        let delimiter = self.service.store.hierarchy_delimiter();
        let selected = self.selected.as_ref().is_some_and(|s| s.name == name);
        if selected && matches!(want, Want::Messages | Want::Flags) {
            return false;
        }
        let subscribed = self.notify.as_ref().and_then(|n| n.subscribed.as_ref());
        let canonical = |m: &Mailbox<'_>| super::mailboxes::canonical(m.name(), delimiter);
        let applies = |filter: &FilterMailboxes<'_>| match filter {
            FilterMailboxes::Selected | FilterMailboxes::SelectedDelayed => selected,
            // Delivery goes to INBOX only.
            FilterMailboxes::Inboxes => name == "INBOX",
            FilterMailboxes::Personal => true,
            FilterMailboxes::Subscribed => subscribed.is_some_and(|s| s.contains(name)),
            FilterMailboxes::Subtree(list) => list.iter().any(|m| {
                let top = canonical(m);
                name == top
                    || name
                        .strip_prefix(top.as_str())
                        .is_some_and(|r| r.starts_with(delimiter))
            }),
            FilterMailboxes::Mailboxes(list) => list.iter().any(|m| canonical(m) == name),
        };
        set.groups
            .iter()
            .find(|g| applies(&g.filter))
            .is_some_and(|g| wants(&g.events, want))
    }

    /// The changes waiting on the account's subscription, `first` among them: the mailbox
    /// list's as LIST at once, the messages' as one STATUS per mailbox after.
    pub(super) async fn apply_notifications(&mut self, first: ChangeEvent) -> io::Result<()> {
        let Some(set) = self.server().notify_set().cloned() else {
            self.notify = None;
            return Ok(());
        };
        let mut owed: BTreeSet<String> = BTreeSet::new();
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(ev) = next.take() {
            taken += 1;
            if !self.notification(&set, ev, &mut owed) || owed.len() > MAX_OWED {
                self.server_mut().notification_overflow();
                self.notify = None;
                return Ok(());
            }
            if taken < BATCH {
                next = self.notify.as_ref().and_then(|n| n.sub.try_next());
            }
        }
        for name in owed {
            let flags = self.matching(&set, &name, Want::Flags);
            self.send_status(&name, true, flags).await;
        }
        Ok(())
    }

    /// One change: LIST sent, or its mailbox added to `owed`. `false` when events were lost.
    fn notification(
        &mut self,
        set: &NotifySet<'_>,
        ev: ChangeEvent,
        owed: &mut BTreeSet<String>,
    ) -> bool {
        let name = ev.mailbox;
        match ev.kind {
            ChangeKind::Lagged => return false,
            ChangeKind::Appended { .. } | ChangeKind::Expunged { .. } => {
                if self.matching(set, &name, Want::Messages) {
                    owed.insert(name);
                }
            }
            ChangeKind::FlagsChanged(_) => {
                if self.matching(set, &name, Want::Flags) {
                    owed.insert(name);
                }
            }
            ChangeKind::Created => {
                if self.matching(set, &name, Want::Names) {
                    self.send_list(&name, Vec::new(), None);
                }
            }
            ChangeKind::Deleted { .. } => {
                owed.remove(&name);
                if self.matching(set, &name, Want::Names) {
                    self.send_list(&name, vec![MailboxAttr::NonExistent], None);
                }
            }
            ChangeKind::Renamed { to } => {
                if owed.remove(&name) {
                    owed.insert(to.clone());
                }
                if self.matching(set, &name, Want::Names) || self.matching(set, &to, Want::Names) {
                    let old = Mailbox::new(name).ok();
                    self.send_list(&to, Vec::new(), old);
                }
            }
            ChangeKind::Subscribed { on } => {
                self.note_subscription(&name, on);
                if self.matching(set, &name, Want::Subscriptions) {
                    let attrs = if on {
                        vec![MailboxAttr::Subscribed]
                    } else {
                        Vec::new()
                    };
                    self.send_list(&name, attrs, None);
                }
            }
        }
        true
    }

    /// `* LIST (attributes) "/" name`, with `("OLDNAME" (old))` after a rename (RFC 5465
    /// §5.4, RFC 5258 §3.5 for the form).
    fn send_list(
        &mut self,
        name: &str,
        attributes: Vec<MailboxAttr<'static>>,
        old: Option<Mailbox<'static>>,
    ) {
        let Ok(mailbox) = Mailbox::new(name.to_owned()) else {
            return;
        };
        let data = Data::List(ListData {
            attributes,
            delimiter: Some(self.service.store.hierarchy_delimiter()),
            mailbox,
            extended: old.map(|o| vec![ListExtItem::OldName(o)]),
        });
        self.tell(data);
    }

    /// `* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ])` (RFC 5465
    /// §5.2, §5.3; HIGHESTMODSEQ with CONDSTORE on or when its group asks for `flags`),
    /// unasked when `unasked`, in the NOTIFY command's answer otherwise. A mailbox that is
    /// gone by now is left out.
    async fn send_status(&mut self, name: &str, unasked: bool, flags: bool) {
        let Ok(session) = self.session() else {
            return;
        };
        let Ok(status) = self.service.store.status(&session, name).await else {
            return;
        };
        let mut attrs = vec![
            StatusAttr::Messages,
            StatusAttr::UidNext,
            StatusAttr::UidValidity,
            StatusAttr::Unseen,
        ];
        // RFC 5465 §3.1, §5.1: a flag change shows in HIGHESTMODSEQ alone, so a group asking
        // for FlagChange gets it, CONDSTORE or not.
        if self.condstore() || flags {
            attrs.push(StatusAttr::HighestModSeq);
        }
        let (Some(items), Ok(mailbox)) = (
            status_items(&status, &attrs, None),
            Mailbox::new(name.to_owned()),
        ) else {
            return;
        };
        let data = Data::Status { mailbox, items };
        if unasked {
            self.tell(data);
        } else {
            self.server_mut().send_data(data);
        }
    }

    /// RFC 5465 §5.2: under a selected group asking MessageNew with fetch attributes, the
    /// new messages of the selected mailbox the client was just told of (EXISTS) are sent
    /// as FETCH of those attributes. Bodies are read as with `.PEEK`: a notification does
    /// not set `\Seen`.
    pub(super) async fn fetch_new(&mut self, uids: &[u32]) {
        let Some(attrs) = self
            .server()
            .notify_set()
            .and_then(NotifySet::selected)
            .and_then(|g| {
                g.events.iter().find_map(|e| match e {
                    NotifyEvent::MessageNew(a) if !a.is_empty() => Some(a.clone()),
                    _ => None,
                })
            })
        else {
            return;
        };
        let (Some(sel), Ok(session)) = (self.selected.as_ref(), self.session()) else {
            return;
        };
        let name = sel.name.clone();
        // Only messages the client knows of by now: they have a sequence number.
        let told: UidSet = uids
            .iter()
            .filter(|u| self.server().view().is_some_and(|v| v.seq(**u).is_some()))
            .filter_map(|u| Uid::new(*u))
            .collect();
        if told.is_empty() {
            return;
        }
        let plan = Plan::new(attrs, self.rev2());
        let mut query = plan.meta_query();
        if plan.full || plan.streamable {
            query.content = Some(Content::Full);
        }
        let Ok(found) = self
            .service
            .store
            .fetch(&session, &name, &told, query)
            .await
        else {
            return;
        };
        for m in found {
            let (Some(seq), Ok(items)) = (
                self.server().view().and_then(|v| v.seq(m.uid.get())),
                plan.items(&m, true, false),
            ) else {
                continue;
            };
            let state = MessageState {
                flags: convert::imap_flags(&m.flags, false),
                modseq: Some(m.modseq.get()),
            };
            self.server_mut().send_fetch(seq, items, state);
        }
    }

    /// Sends `data` unasked; the session refuses only when NOTIFY is off, when there is
    /// nobody asking any more.
    fn tell(&mut self, data: Data<'static>) {
        if self
            .server_mut()
            .send_notification(&Response::Data(data))
            .is_err()
        {
            self.notify = None;
        }
    }
}
