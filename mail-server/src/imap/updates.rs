//! Changes other sessions make to the selected mailbox: the store's change events as the
//! session's updates, a resynchronisation from the store after events were missed, and the
//! new results of updating searches (RFC 5267 §4.3) that the changes bring.

use std::{collections::HashMap, io};

use sansmail_imap::session::view::Update;
use sansmail_store::{ChangeEvent, ChangeKind, FetchQuery, MailStore, UidSet};

use super::{Conn, convert};

impl<S: MailStore> Conn<'_, S> {
    /// Hands the session every change queued for the selected mailbox.
    pub(super) async fn pump_updates(&mut self) -> io::Result<()> {
        self.pump_after(false).await
    }

    /// One change made by another session, and those queued behind it: a burst of changes
    /// costs one evaluation of the updating searches.
    pub(super) async fn apply_change(&mut self, ev: ChangeEvent) -> io::Result<()> {
        let stale = self.apply_one(ev).await?;
        self.pump_after(stale).await
    }

    /// The queued changes; then the updating searches are evaluated again if any of them
    /// (or what came before, `stale`) may have changed their results.
    async fn pump_after(&mut self, mut stale: bool) -> io::Result<()> {
        while let Some(ev) = self.selected.as_ref().and_then(|s| s.sub.try_next()) {
            stale |= self.apply_one(ev).await?;
            if self.closing {
                break;
            }
        }
        if stale && !self.closing {
            self.refresh_searches().await;
        }
        Ok(())
    }

    /// One change made by another session, as the updates the session tells the client;
    /// whether it may change the results of updating searches (arrivals, flags: expunged
    /// messages the session takes out of them itself).
    pub(super) async fn apply_one(&mut self, ev: ChangeEvent) -> io::Result<bool> {
        if self.selected.is_none() {
            return Ok(false);
        }
        let refresh = matches!(
            ev.kind,
            ChangeKind::Appended { .. } | ChangeKind::FlagsChanged(_)
        );
        let updates = match ev.kind {
            ChangeKind::Appended { messages } => {
                // Claimed first, so that an idling client hears RECENT with EXISTS.
                self.claim_recent(messages.iter().map(|m| m.uid.get()).max())
                    .await?;
                vec![Update::New(messages.iter().map(|m| m.uid.get()).collect())]
            }
            ChangeKind::FlagsChanged(list) => list
                .iter()
                .map(|m| Update::Flags {
                    uid: m.uid.get(),
                    flags: convert::imap_flags(&m.flags, false),
                    modseq: Some(m.modseq.get()),
                })
                .collect(),
            ChangeKind::Expunged { uids, modseq } => vec![Update::Expunged {
                uids: uids.iter().map(|u| u.get()).collect(),
                modseq: Some(modseq.get()),
            }],
            ChangeKind::Renamed { .. } => {
                self.bye("The selected mailbox was renamed");
                return Ok(false);
            }
            ChangeKind::Deleted { .. } => {
                self.bye("The selected mailbox was deleted");
                return Ok(false);
            }
            // The mailbox list's changes are NOTIFY's (see `notify`).
            ChangeKind::Created | ChangeKind::Subscribed { .. } => return Ok(false),
            ChangeKind::Lagged => {
                for u in self.resync().await? {
                    self.push(u);
                }
                self.claim_recent(None).await?;
                return Ok(true);
            }
        };
        let new = match updates.first() {
            Some(Update::New(uids)) => uids.clone(),
            _ => Vec::new(),
        };
        for u in updates {
            self.push(u);
        }
        if !new.is_empty() {
            self.fetch_new(&new).await;
        }
        Ok(refresh)
    }

    /// Evaluates the updating searches again (RFC 5267 §4.3) after messages arrived or
    /// flags changed; the session tells the client the difference when updates may go out.
    pub(super) async fn refresh_searches(&mut self) {
        let searches: Vec<_> = self.server().updating_searches().cloned().collect();
        for search in searches {
            if let Some(result) = self.evaluate(&search).await {
                // Only fails when the search ended meanwhile: nothing to tell then.
                let _ = self
                    .server_mut()
                    .refresh_search(search.tag.as_str(), result);
            }
        }
    }

    /// `f` on the `\Recent` hint of the selected mailbox ([`recent_hint`]), under the
    /// service's lock; `None` with nothing selected.
    fn with_recent_hint<R>(&self, f: impl FnOnce(&mut u32) -> R) -> Option<R> {
        let sel = self.selected.as_ref()?;
        let key = (
            self.session().ok()?.account().to_string(),
            sel.name.clone(),
            sel.uidvalidity,
        );
        let mut map = self
            .service
            .recent_claimed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(f(recent_hint(&mut map, key)))
    }

    /// Before a command of this session adds messages to its selected mailbox (APPEND,
    /// COPY, MOVE into it): the other sessions told of them leave `\Recent` to this one,
    /// whose client hears of them first, in the command's own response (RFC 3501 §2.3.2).
    /// They skip their claim while the hint is at its top; [`Self::recent_reserved`] puts
    /// it back. `None`: this session claims nothing.
    pub(super) fn reserve_recent(&mut self) -> Option<u32> {
        self.selected.as_ref().filter(|s| s.claims_recent)?;
        self.with_recent_hint(|hint| std::mem::replace(hint, u32::MAX))
    }

    /// After [`Self::reserve_recent`]: if the command added messages (`claim`), this
    /// session's claim, made while the hint still holds the others back; then the hint
    /// back to what it was, or to the newest message this session knows, whichever is
    /// higher (the claim took every message there was).
    pub(super) async fn recent_reserved(
        &mut self,
        reserved: Option<u32>,
        claim: bool,
    ) -> io::Result<()> {
        if claim {
            self.claim_recent(None).await?;
        }
        // (Another session's command that holds the hint too puts it back.)
        let Some(before) = reserved.filter(|&b| b != u32::MAX) else {
            return Ok(());
        };
        // The arrivals queued for the client count: the command's own are told only when
        // it completes, and a hint left below them lets a session told of them late claim
        // again, and take the next arrival from the session that reserves for it.
        let known = self
            .server()
            .view()
            .and_then(|v| {
                v.uids()
                    .last()
                    .copied()
                    .into_iter()
                    .chain(v.queued_new())
                    .max()
            })
            .filter(|_| claim)
            .unwrap_or(0);
        self.with_recent_hint(|hint| *hint = before.max(known));
        Ok(())
    }

    /// IMAP4rev1 `\Recent`: messages that arrived in the selected mailbox and that no
    /// session has been told of yet are claimed for this one (the store arbitrates, so each
    /// is `\Recent` in exactly one session); the session announces them with RECENT.
    /// `upto`: the highest UID that arrived; if another session already claimed (or is
    /// claiming) that far, the store is not asked (`None`: ask anyway).
    pub(super) async fn claim_recent(&mut self, upto: Option<u32>) -> io::Result<()> {
        let Some(sel) = self.selected.as_ref().filter(|s| s.claims_recent) else {
            return Ok(());
        };
        let name = sel.name.clone();
        let session = self.session()?;
        // Reserved before asking, so that of the sessions told at once only the first asks
        // the store (the others skip: it is claimed, by that one).
        if let Some(u) = upto {
            let claimed = self.with_recent_hint(|hint| {
                let claimed = *hint >= u;
                *hint = (*hint).max(u);
                claimed
            });
            if claimed == Some(true) {
                return Ok(());
            }
        }
        match self.service.store.take_recent(&session, &name).await {
            Ok(uids) => {
                let uids: Vec<u32> = uids.iter().map(|u| u.get()).collect();
                let top = uids.iter().copied().chain(upto).max().unwrap_or(0);
                self.with_recent_hint(|hint| *hint = (*hint).max(top));
                if !uids.is_empty() && self.server_mut().claim_recent(uids).is_err() {
                    self.selected = None;
                }
            }
            // Nobody gets them now; the next SELECT does.
            Err(e) => tracing::warn!("imap: claiming \\Recent in {name}: {e}"),
        }
        Ok(())
    }

    /// Queues a change for the client. Nothing is selected in the session only while a
    /// selection is being replaced or closed, when there is nobody to tell.
    pub(super) fn push(&mut self, update: Update) {
        if self.server_mut().push_update(update).is_err() {
            self.selected = None;
        }
    }

    /// After missed change events: compares the view with the store.
    async fn resync(&mut self) -> io::Result<Vec<Update>> {
        let (Some(sel), Some(view)) = (&self.selected, self.server().view()) else {
            return Ok(Vec::new());
        };
        // What the client was told of, and the arrivals queued for it: one of those gone
        // by now needs its expunge queued too, or EXISTS would count it for good.
        let mut known = view.uids().to_vec();
        known.extend(view.queued_new());
        known.sort_unstable();
        known.dedup();
        let session = self.session()?;
        let name = sel.name.clone();
        let now = match self
            .service
            .store
            .fetch(&session, &name, &UidSet::all(), FetchQuery::meta())
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!("imap resync of {name}: {e}");
                self.bye("Cannot resynchronise the mailbox");
                return Ok(Vec::new());
            }
        };
        let present: Vec<u32> = now.iter().map(|m| m.uid.get()).collect();
        let floor = known.last().copied().unwrap_or(0);
        let gone: Vec<u32> = known
            .iter()
            .copied()
            .filter(|u| present.binary_search(u).is_err())
            .collect();
        // When these went is not known: as early as mod-sequences go, so that commands
        // ending while they wait say a HIGHESTMODSEQ below any (a full resynchronization
        // for a QRESYNC client, after missed events only).
        let modseq = (!gone.is_empty()).then_some(2);
        let mut updates = vec![Update::Expunged { uids: gone, modseq }];
        for m in &now {
            let uid = m.uid.get();
            if uid <= floor {
                updates.push(Update::Flags {
                    uid,
                    flags: convert::imap_flags(&m.flags, false),
                    modseq: Some(m.modseq.get()),
                });
            }
        }
        updates.push(Update::New(
            present.into_iter().filter(|&u| u > floor).collect(),
        ));
        Ok(updates)
    }
}

/// Mailboxes whose `\Recent` claims the service remembers (each key names a mailbox, so a
/// client that creates, selects and deletes mailboxes in a loop would add one each time).
const MAX_RECENT_HINTS: usize = 1 << 16;

/// The highest UID some session claimed `\Recent` up to in the mailbox `key`. The hints only
/// spare other sessions a call to the store, which decides the claims: when there are
/// [`MAX_RECENT_HINTS`] of them, they are forgotten all at once.
fn recent_hint(
    map: &mut HashMap<(String, String, u32), u32>,
    key: (String, String, u32),
) -> &mut u32 {
    if map.len() >= MAX_RECENT_HINTS && !map.contains_key(&key) {
        map.clear();
    }
    map.entry(key).or_insert(0)
}

#[cfg(test)]
mod recent_hint_tests {
    use super::*;

    #[test]
    fn recent_hints_are_bounded() {
        let mut map = HashMap::new();
        for i in 0..3 * MAX_RECENT_HINTS {
            *recent_hint(&mut map, ("alice".into(), format!("box{i}"), 1)) = 7;
            assert!(map.len() <= MAX_RECENT_HINTS);
        }
        let key = ("alice".to_owned(), "INBOX".to_owned(), 1);
        *recent_hint(&mut map, key.clone()) = 9;
        assert_eq!(
            *recent_hint(&mut map, key),
            9,
            "a hint stays until the map is full"
        );
    }
}
