//! What the client is told of the selected mailbox beyond its numbering: every FETCH
//! response checked against the view (never a state older than one told; queued changes
//! folded in or dropped), `\Recent` on the messages recent in this session, new keywords
//! announced with FLAGS and PERMANENTFLAGS before a FETCH uses them (RFC 9051 §7.3.5, RFC 3501
//! §7.2.6), RECENT whenever its count changes, and HIGHESTMODSEQ when CONDSTORE is turned on
//! with a mailbox selected (RFC 7162 §3.1).

use std::borrow::Cow;

use super::Inner;
use crate::{
    session::view::{MessageState, Notice},
    types::{
        capability::Capability,
        core::Text,
        fetch::FetchItem,
        flag::Flag,
        response::{Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

/// What the client was told of the selected mailbox's flags and mod-sequences: read from the
/// responses the application sent for SELECT (FLAGS, PERMANENTFLAGS, HIGHESTMODSEQ, RECENT)
/// and kept up to date with what the session sent since.
#[derive(Debug, Clone, Default)]
pub(super) struct Told {
    /// The last FLAGS list (`None`: none was sent).
    flags: Option<Vec<Flag<'static>>>,
    /// The last PERMANENTFLAGS list.
    permanent: Option<Vec<Flag<'static>>>,
    /// The highest mod-sequence the client was told of (SELECT's HIGHESTMODSEQ, then each
    /// MODSEQ and each flag change told).
    highest_modseq: Option<u64>,
    /// The last RECENT count.
    recent: u32,
}

impl Told {
    fn raise(&mut self, modseq: u64) {
        self.highest_modseq = Some(self.highest_modseq.map_or(modseq, |h| h.max(modseq)));
    }
}

/// Whether `flags` holds `keyword` (keywords compare ASCII case-insensitively).
fn has_keyword(flags: &[Flag<'_>], keyword: &str) -> bool {
    flags
        .iter()
        .any(|f| matches!(f, Flag::Keyword(k) if k.as_str().eq_ignore_ascii_case(keyword)))
}

impl Inner {
    /// Learns from a response about to go out what the client is told of the mailbox.
    pub(super) fn observe(&mut self, response: &Response<'_>) {
        match response {
            Response::Data(Data::Flags(flags)) => {
                self.told.flags = Some(flags.iter().cloned().map(Flag::into_owned).collect());
            }
            Response::Data(Data::Recent(n)) => self.told.recent = *n,
            Response::Status(Status {
                tag: None,
                code: Some(code),
                ..
            }) => match code {
                ResponseCode::PermanentFlags(flags) => {
                    self.told.permanent =
                        Some(flags.iter().cloned().map(Flag::into_owned).collect());
                }
                ResponseCode::HighestModSeq(m) => self.told.raise(*m),
                _ => {}
            },
            _ => {}
        }
    }

    /// Forgets what the client was told of the mailbox selected before (SELECT, EXAMINE).
    pub(super) fn forget_told(&mut self) {
        self.told = Told::default();
    }

    /// `* OK [HIGHESTMODSEQ n]` when CONDSTORE was just turned on with a mailbox selected
    /// (RFC 7162 §3.1: the first CONDSTORE-enabling command). `n` is the highest
    /// mod-sequence the client was told of: never above a change it has not seen.
    pub(super) fn condstore_enabled_now(&mut self) {
        if self.view.is_none() {
            return;
        }
        if let Some(h) = self.told.highest_modseq {
            self.status(
                None,
                StatusKind::Ok,
                Some(ResponseCode::HighestModSeq(h)),
                "Highest",
            );
        }
    }

    /// The `HIGHESTMODSEQ` a command's completion must carry (RFC 7162 §3.2.10): while an
    /// expunge waits to be told (RFC 9051 §7.4.1) and the client was told a mod-sequence as
    /// high as the expunge's, one below it, so that a client resynchronizing from what it
    /// last saw still learns of the expunge. Dovecot answers the same.
    pub(super) fn held_expunge_floor(&self) -> Option<u64> {
        let condstore = self.enabled.contains(&Capability::CondStore)
            || self.enabled.contains(&Capability::QResync);
        let floor = self.view.as_ref()?.held_expunge_floor()?;
        (condstore && self.told.highest_modseq.is_some_and(|h| h > floor)).then_some(floor)
    }

    /// Sends a FETCH response about message `seq` after checking it against the view.
    /// `state` is the message's flags and mod-sequence as the application read them.
    ///
    /// - A queued change to the message newer than `state` stays queued (it goes out later)
    ///   or, when the response has no FLAGS, goes out in it; one not newer is dropped, and a
    ///   response without FLAGS then carries `state`'s flags (they changed since the client
    ///   knew them).
    /// - `\Recent` is added to the FLAGS of a message recent in this session.
    /// - Keywords the client was not told of in FLAGS are announced first.
    pub(super) fn send_fetch(
        &mut self,
        seq: u32,
        mut items: Vec<FetchItem<'_>>,
        state: Option<MessageState>,
    ) {
        self.prepare_fetch(seq, &mut items, state);
        self.encode(&Response::Data(Data::Fetch { seq, items }));
    }

    /// [`Self::send_fetch`] up to the encoding: the view's checks, new keywords announced,
    /// `\Recent` added (also for a streamed response's items).
    pub(super) fn prepare_fetch(
        &mut self,
        seq: u32,
        items: &mut Vec<FetchItem<'_>>,
        state: Option<MessageState>,
    ) {
        self.check_fetch(seq, items, state);
        self.announce_keywords(items);
        self.add_recent(seq, items);
        for item in items.iter() {
            if let FetchItem::ModSeq(m) = item {
                self.told.raise(*m);
            }
        }
    }

    /// The view's part of [`Self::send_fetch`]: queued changes and told states.
    fn check_fetch(
        &mut self,
        seq: u32,
        items: &mut Vec<FetchItem<'_>>,
        state: Option<MessageState>,
    ) {
        let condstore = self.enabled.contains(&Capability::CondStore);
        // During SELECT (QRESYNC's changed messages), the view being opened.
        let Some(view) = self.view.as_mut().or(self.next_view.as_mut()) else {
            return;
        };
        let Some(uid) = view.uid(seq) else {
            return;
        };
        let has_flags = items.iter().any(|i| matches!(i, FetchItem::Flags(_)));
        let sent_modseq = items.iter().find_map(|i| match i {
            FetchItem::ModSeq(m) => Some(*m),
            _ => None,
        });
        let state_modseq = state.as_ref().and_then(|s| s.modseq).or(sent_modseq);
        // Whether a change queued for the message is newer than the response's state (one
        // without a mod-sequence to compare counts as newer).
        let queued_is_newer = view
            .queued_flags(uid)
            .map(|(_, q)| match (q, state_modseq) {
                (Some(q), Some(s)) => *q > s,
                _ => true,
            });
        // The flags and modseq to add to a response without FLAGS.
        let mut fold: Option<(Vec<Flag<'static>>, Option<u64>)> = None;
        match queued_is_newer {
            // It goes out after the response, or in it.
            Some(true) if !has_flags => fold = view.take_flags(uid),
            // Old news: the response tells a newer state, or carries the flags of one.
            Some(false) if has_flags => {
                view.take_flags(uid);
            }
            Some(false) => {
                if let Some(s) = &state {
                    view.take_flags(uid);
                    fold = Some((s.flags.clone(), state_modseq));
                }
            }
            Some(true) | None => {}
        }
        let mut told = None;
        if let Some((flags, modseq)) = fold {
            items.push(FetchItem::Flags(flags));
            // A change made elsewhere: under CONDSTORE its FETCH carries UID and MODSEQ
            // (RFC 7162 §3.2.4).
            if condstore && !items.iter().any(|i| matches!(i, FetchItem::Uid(_))) {
                items.push(FetchItem::Uid(uid));
            }
            if let Some(m) = modseq {
                if let Some(FetchItem::ModSeq(sent)) =
                    items.iter_mut().find(|i| matches!(i, FetchItem::ModSeq(_)))
                {
                    *sent = m;
                } else if condstore {
                    items.push(FetchItem::ModSeq(m));
                }
                told = Some(m);
            }
        } else if has_flags {
            told = state_modseq;
        } else if let (Some(s), Some(m)) = (state, state_modseq) {
            // A state the client is not told now: a change older than it that arrives
            // later goes out as this state (never as a MODSEQ below one just sent).
            view.learn(uid, s.flags, m);
        }
        if let Some(m) = told {
            view.note_told(uid, m);
            self.told.raise(m);
        }
    }

    /// Sends FLAGS (and PERMANENTFLAGS for a mailbox that takes new keywords) with the
    /// keywords of `items`' FLAGS the client was not told of.
    fn announce_keywords(&mut self, items: &[FetchItem<'_>]) {
        let Some(known) = &self.told.flags else {
            return;
        };
        let mut new: Vec<Flag<'static>> = Vec::new();
        for item in items {
            if let FetchItem::Flags(flags) = item {
                for f in flags {
                    if let Flag::Keyword(k) = f
                        && !has_keyword(known, k.as_str())
                        && !has_keyword(&new, k.as_str())
                    {
                        new.push(f.clone().into_owned());
                    }
                }
            }
        }
        if new.is_empty() {
            return;
        }
        let mut flags = known.clone();
        flags.extend(new.iter().cloned());
        self.send(&Response::Data(Data::Flags(flags)));
        if let Some(permanent) = &self.told.permanent
            && !permanent.is_empty()
        {
            // New keywords before `\*`, as Dovecot writes them.
            let mut permanent = permanent.clone();
            let at = permanent
                .iter()
                .position(|f| *f == Flag::Wildcard)
                .unwrap_or(permanent.len());
            permanent.splice(at..at, new);
            let text = Text::new(Cow::Borrowed("Flags permitted"))
                .unwrap_or_else(|_| Text::from_parsed("Flags permitted"));
            self.send(&Response::Status(Status {
                tag: None,
                kind: StatusKind::Ok,
                code: Some(ResponseCode::PermanentFlags(permanent)),
                text,
            }));
        }
    }

    /// `\Recent` in the FLAGS of a message recent in this session (IMAP4rev1), after the
    /// system flags as Dovecot writes it.
    fn add_recent(&self, seq: u32, items: &mut [FetchItem<'_>]) {
        let Some(view) = self.view.as_ref().or(self.next_view.as_ref()) else {
            return;
        };
        if !view.uid(seq).is_some_and(|u| view.is_recent(u)) {
            return;
        }
        for item in items {
            if let FetchItem::Flags(flags) = item
                && !flags.contains(&Flag::Recent)
            {
                let at = flags
                    .iter()
                    .position(|f| matches!(f, Flag::Keyword(_)))
                    .unwrap_or(flags.len());
                flags.insert(at, Flag::Recent);
            }
        }
    }

    /// Tells the client the queued changes that may be told now: expunges, EXISTS, RECENT
    /// when its count changed (IMAP4rev1, SELECT), then flag changes.
    pub(super) fn tell_updates(&mut self, expunges_allowed: bool) {
        let vanished = self.enabled.contains(&Capability::QResync);
        let condstore = vanished || self.enabled.contains(&Capability::CondStore);
        let rev2 = self.enabled.contains(&Capability::Imap4Rev2);
        let Some(view) = self.view.as_mut() else {
            return;
        };
        let notices = view.drain(expunges_allowed, vanished);
        let recent = (!rev2 && !view.is_read_only())
            .then(|| view.recent_count())
            .filter(|n| *n != self.told.recent);
        let mut recent_told = recent.is_none();
        for notice in notices {
            let data = match notice {
                Notice::Exists(n) => Data::Exists(n),
                Notice::Context(e) => Data::ESearch(e),
                Notice::Expunge(seq) => Data::Expunge(seq),
                Notice::Vanished(uids) => Data::Vanished {
                    earlier: false,
                    uids,
                },
                Notice::Flags {
                    seq,
                    uid,
                    flags,
                    modseq,
                } => {
                    if let (false, Some(n)) = (recent_told, recent) {
                        self.send(&Response::Data(Data::Recent(n)));
                        recent_told = true;
                    }
                    let mut items = vec![FetchItem::Uid(uid), FetchItem::Flags(flags)];
                    if let Some(m) = modseq {
                        self.told.raise(m);
                        if condstore {
                            items.push(FetchItem::ModSeq(m));
                        }
                    }
                    self.announce_keywords(&items);
                    self.add_recent(seq, &mut items);
                    self.encode(&Response::Data(Data::Fetch { seq, items }));
                    continue;
                }
            };
            self.send(&Response::Data(data));
        }
        if let (false, Some(n)) = (recent_told, recent) {
            self.send(&Response::Data(Data::Recent(n)));
        }
    }
}
