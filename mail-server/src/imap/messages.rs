//! Commands on the selected mailbox's messages: STORE, COPY, MOVE, EXPUNGE, CLOSE (FETCH is
//! in `fetch`).

use std::{
    collections::{HashMap, HashSet},
    io,
};

use sansmail_imap::{
    session::view::{MessageState, Update},
    types::{
        capability::Capability, command::StoreAction, fetch::FetchItem, flag::Flag as ImapFlag,
        mailbox::Mailbox, response_code::ResponseCode, sequence::SequenceSet,
    },
};
use sansmail_store::{
    ExpungeScope, FetchQuery, FlagOp, Flags, MailStore, ModSeq, StoreError, Uid, UidSet,
};

use super::{Conn, convert, mailboxes::canonical};

/// A message's flags and modseq as the session's view takes them.
pub(super) fn state(flags: &Flags, modseq: ModSeq) -> MessageState {
    MessageState {
        flags: convert::imap_flags(flags, false),
        modseq: Some(modseq.get()),
    }
}

/// The sequence number of `uid` in `(seq, uid)` pairs (ascending, as the view resolves them).
pub(super) fn seq_of(pairs: &[(u32, u32)], uid: u32) -> Option<u32> {
    pairs
        .binary_search_by_key(&uid, |&(_, u)| u)
        .ok()
        .map(|i| pairs[i].0)
}

pub(super) fn uid_set(pairs: &[(u32, u32)]) -> UidSet {
    pairs.iter().filter_map(|&(_, u)| Uid::new(u)).collect()
}

/// The text beside `EXPUNGEISSUED` for messages named by number that another session
/// expunged (Dovecot's words).
const EXPUNGED_ELSEWHERE: &str = "Some of the requested messages no longer exist";

impl<S: MailStore> Conn<'_, S> {
    /// The selected mailbox's name and whether it is read-only.
    pub(super) fn selected_mailbox(&self) -> Option<(String, bool)> {
        self.selected
            .as_ref()
            .map(|s| (s.name.clone(), s.read_only))
    }

    /// `(seq, uid)` of the messages a set names, as the client knows them.
    pub(super) fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<(u32, u32)> {
        self.server()
            .view()
            .map(|v| v.resolve(set, uid, self.server().saved_search()))
            .unwrap_or_default()
    }

    /// `* n FETCH (FLAGS ...)` for messages whose flags this session changed (`updated`
    /// gives their new state; the others are read from the store). With `silent`, only
    /// MODSEQ goes out (CONDSTORE, RFC 7162 §3.2), or nothing: the session is told the new
    /// state instead, so that a change made elsewhere before ours reaches the client as the
    /// state that includes both.
    async fn report_flags(
        &mut self,
        name: &str,
        pairs: &[(u32, u32)],
        uid: bool,
        silent: bool,
        updated: &HashMap<u32, (Flags, ModSeq)>,
    ) -> io::Result<()> {
        let session = self.session()?;
        let unchanged: Vec<(u32, u32)> = pairs
            .iter()
            .copied()
            .filter(|(_, u)| !updated.contains_key(u))
            .collect();
        let mut found: HashMap<u32, (Flags, ModSeq)> = HashMap::new();
        if !silent && !unchanged.is_empty() {
            match self
                .service
                .store
                .fetch(&session, name, &uid_set(&unchanged), FetchQuery::meta())
                .await
            {
                Ok(v) => found.extend(v.into_iter().map(|m| (m.uid.get(), (m.flags, m.modseq)))),
                Err(e) => return self.fail(&e),
            }
        }
        let condstore = self.condstore();
        for &(seq, u) in pairs {
            let Some((flags, modseq)) = updated.get(&u).or_else(|| found.get(&u)) else {
                continue;
            };
            let state = state(flags, *modseq);
            if silent && !(condstore && updated.contains_key(&u)) {
                if updated.contains_key(&u) && self.server_mut().note_state(u, state).is_err() {
                    self.selected = None;
                }
                continue;
            }
            let mut items = Vec::new();
            if !silent {
                items.push(FetchItem::Flags(state.flags.clone()));
            }
            // Under CONDSTORE a STORE's FETCH responses carry UID and MODSEQ (RFC 7162
            // §3.2.4), for STORE as for UID STORE.
            if uid || condstore {
                items.push(FetchItem::Uid(u));
            }
            if condstore {
                items.push(FetchItem::ModSeq(modseq.get()));
            }
            self.server_mut().send_fetch(seq, items, state);
        }
        Ok(())
    }

    pub(super) async fn store(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        unchanged_since: Option<u64>,
        action: StoreAction,
        silent: bool,
        flags: &[ImapFlag<'static>],
    ) -> io::Result<()> {
        let flags = match convert::store_flags(flags) {
            Ok(f) => f,
            Err(text) => return self.bad(&text),
        };
        let Some((name, read_only)) = self.selected_mailbox() else {
            return self.no(None, "No mailbox selected");
        };
        if read_only {
            return self.no(Some(ResponseCode::Cannot), "The mailbox is read-only");
        }
        let session = self.session()?;
        let pairs = self.resolve(set, uid);
        let op = match action {
            StoreAction::Replace => FlagOp::Replace(flags),
            StoreAction::Add => FlagOp::Add(flags),
            StoreAction::Remove => FlagOp::Remove(flags),
        };
        let (updated, modified): (HashMap<u32, (Flags, ModSeq)>, HashSet<u32>) =
            match unchanged_since {
                // Every message has a modseq above 0 (RFC 7162 §3.1.3).
                Some(0) => (HashMap::new(), pairs.iter().map(|&(_, u)| u).collect()),
                _ if pairs.is_empty() => (HashMap::new(), HashSet::new()),
                since => match self
                    .service
                    .store
                    .store_flags(
                        &session,
                        &name,
                        &uid_set(&pairs),
                        op,
                        since.and_then(ModSeq::new),
                    )
                    .await
                {
                    Ok(r) => (
                        r.updated
                            .into_iter()
                            .map(|m| (m.uid.get(), (m.flags, m.modseq)))
                            .collect(),
                        r.modified.iter().map(|u| u.get()).collect(),
                    ),
                    Err(e) => return self.fail(&e),
                },
            };
        let told: Vec<(u32, u32)> = pairs
            .iter()
            .copied()
            .filter(|(_, u)| !modified.contains(u))
            .collect();
        if !told.is_empty() {
            self.report_flags(&name, &told, uid, silent, &updated)
                .await?;
        }
        let code = if modified.is_empty() {
            None
        } else {
            let numbers: Vec<u32> = pairs
                .iter()
                .filter(|(_, u)| modified.contains(u))
                .map(|&(s, u)| if uid { u } else { s })
                .collect();
            SequenceSet::from_numbers(numbers)
                .ok()
                .map(ResponseCode::Modified)
        };
        // Our own flag changes may move messages in or out of updating searches.
        self.refresh_searches().await;
        self.ok(code, "STORE completed")
    }

    /// COPY or MOVE, with COPYUID (RFC 4315, RFC 6851).
    pub(super) async fn copy_or_move(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mailbox: &Mailbox<'_>,
        moving: bool,
    ) -> io::Result<()> {
        let Some((name, read_only)) = self.selected_mailbox() else {
            return self.no(None, "No mailbox selected");
        };
        if moving && read_only {
            return self.no(Some(ResponseCode::Cannot), "The mailbox is read-only");
        }
        let session = self.session()?;
        let pairs = self.resolve(set, uid);
        if pairs.is_empty() {
            return self.ok(None, "No messages");
        }
        let target = canonical(mailbox.name(), self.service.store.hierarchy_delimiter());
        let reserved = if target == name {
            self.reserve_recent()
        } else {
            None
        };
        let store = &self.service.store;
        let result = if moving {
            store
                .move_messages(&session, &name, &uid_set(&pairs), &target)
                .await
        } else {
            store.copy(&session, &name, &uid_set(&pairs), &target).await
        };
        if result.as_ref().map_or(true, |c| c.map.is_empty()) {
            self.recent_reserved(reserved, false).await?;
        }
        let copied = match result {
            Ok(c) => c,
            Err(StoreError::NoSuchMailbox(n)) if n != name => {
                return self.no(Some(ResponseCode::TryCreate), "No such mailbox");
            }
            Err(e) => return self.fail(&e),
        };
        // Messages another session expunged meanwhile were not copied. By sequence number
        // the client named them: with none copied the command fails, as Dovecot answers;
        // with some, the client is told (RFC 5530 EXPUNGEISSUED) beside what was copied
        // (RFC 2180 §4.4.1 allows either). A UID that is gone is ignored without an error
        // (RFC 9051 §6.4.9).
        let missed = !uid && copied.map.len() < pairs.len();
        if copied.map.is_empty() && !uid {
            self.pump_updates().await?;
            return self.no(Some(ResponseCode::ExpungeIssued), EXPUNGED_ELSEWHERE);
        }
        let source: Vec<u32> = copied.map.iter().map(|(s, _)| s.get()).collect();
        let destination: Vec<u32> = copied.map.iter().map(|(_, d)| d.get()).collect();
        let code = match (
            SequenceSet::from_numbers(source.clone()),
            SequenceSet::from_numbers(destination.clone()),
        ) {
            (Ok(source), Ok(destination)) => Some(ResponseCode::CopyUid {
                uid_validity: copied.uidvalidity.get(),
                source,
                destination,
            }),
            _ => None,
        };
        // Our own changes are not echoed to us: tell the view in their place.
        if target == name {
            self.pump_updates_with_own(destination).await?;
            self.recent_reserved(reserved, true).await?;
        } else {
            self.pump_updates().await?;
        }
        if missed {
            self.untagged_ok(ResponseCode::ExpungeIssued, EXPUNGED_ELSEWHERE);
        }
        if moving {
            if let Some(code) = code {
                self.untagged_ok(code, "Moved");
            }
            self.push(Update::Expunged {
                uids: source,
                modseq: None,
            });
            self.ok(None, "MOVE completed")
        } else {
            self.ok(code, "COPY completed")
        }
    }

    /// EXPUNGE, or UID EXPUNGE of a set.
    pub(super) async fn expunge(&mut self, set: Option<SequenceSet>) -> io::Result<()> {
        let Some((name, read_only)) = self.selected_mailbox() else {
            return self.no(None, "No mailbox selected");
        };
        if read_only {
            return self.no(Some(ResponseCode::Cannot), "The mailbox is read-only");
        }
        let session = self.session()?;
        let scope = match set {
            None => ExpungeScope::Deleted,
            Some(set) => {
                let pairs = self.resolve(&set, true);
                if pairs.is_empty() {
                    return self.ok(None, "UID EXPUNGE completed");
                }
                ExpungeScope::DeletedIn(uid_set(&pairs))
            }
        };
        let gone = match self.service.store.expunge(&session, &name, scope).await {
            Ok(e) => e,
            Err(e) => return self.fail(&e),
        };
        self.pump_updates().await?;
        self.push(Update::Expunged {
            uids: gone.uids.iter().map(|u| u.get()).collect(),
            modseq: gone.modseq.map(sansmail_store::ModSeq::get),
        });
        // VANISHED carries no mod-sequence: under QRESYNC the tagged OK says where the
        // mailbox stands after the expunge (RFC 7162 §3.2.7, as Dovecot does).
        let code = gone
            .modseq
            .filter(|_| self.server().is_enabled(&Capability::QResync))
            .map(|m| ResponseCode::HighestModSeq(m.get()));
        self.ok(code, "EXPUNGE completed")
    }

    /// CLOSE: expunges silently (unless read-only), then the session deselects.
    pub(super) async fn close(&mut self) -> io::Result<()> {
        let Some((name, read_only)) = self.selected_mailbox() else {
            return self.no(None, "No mailbox selected");
        };
        if !read_only {
            let session = self.session()?;
            if let Err(e) = self
                .service
                .store
                .expunge(&session, &name, ExpungeScope::Deleted)
                .await
            {
                return self.fail(&e);
            }
        }
        self.ok(None, "CLOSE completed")
    }
}
