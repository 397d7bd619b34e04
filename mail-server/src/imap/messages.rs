//! Commands on the selected mailbox's messages: FETCH, STORE, COPY, MOVE, EXPUNGE, CLOSE.

use std::{
    collections::{HashMap, HashSet},
    io,
};

use sansmail_imap::{
    session::view::{MessageState, Update},
    types::{
        command::StoreAction,
        fetch::FetchItem,
        fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
        flag::Flag as ImapFlag,
        mailbox::Mailbox,
        response_code::ResponseCode,
        sequence::SequenceSet,
    },
};
use sansmail_store::{
    ExpungeScope, FetchQuery, FetchedMessage, Flag, FlagOp, Flags, MailStore, ModSeq, StoreError,
    Uid, UidSet,
    model::Content,
    section::{Section, SectionText, UnknownEncoding},
};

use super::{Conn, convert, mailboxes::canonical, section};

/// A message's flags and modseq as the session's view takes them.
fn state(flags: &Flags, modseq: ModSeq) -> MessageState {
    MessageState {
        flags: convert::imap_flags(flags, false),
        modseq: Some(modseq.get()),
    }
}

/// Messages fetched per store call when their octets are wanted.
const CONTENT_BATCH: usize = 32;
/// Messages fetched per store call otherwise.
const META_BATCH: usize = 4096;

/// The sequence number of `uid` in `(seq, uid)` pairs (ascending, as the view resolves them).
fn seq_of(pairs: &[(u32, u32)], uid: u32) -> Option<u32> {
    pairs
        .binary_search_by_key(&uid, |&(_, u)| u)
        .ok()
        .map(|i| pairs[i].0)
}

fn uid_set(pairs: &[(u32, u32)]) -> UidSet {
    pairs.iter().filter_map(|&(_, u)| Uid::new(u)).collect()
}

/// What one FETCH needs from the store.
struct Plan {
    attrs: Vec<FetchAttr<'static>>,
    query: FetchQuery,
    /// The store returns only the header block.
    header_only: bool,
}

impl Plan {
    fn new(attrs: Vec<FetchAttr<'static>>) -> Self {
        let content = |a: &FetchAttr<'_>| {
            matches!(
                a,
                FetchAttr::BodySection { .. }
                    | FetchAttr::Rfc822
                    | FetchAttr::Rfc822Header
                    | FetchAttr::Rfc822Text
                    | FetchAttr::Binary { .. }
                    | FetchAttr::BinarySize { .. }
            )
        };
        let header = |a: &FetchAttr<'_>| match a {
            FetchAttr::BodySection { section, .. } => section::section(section).header_only(),
            FetchAttr::Rfc822Header => true,
            _ => false,
        };
        let wants_content = attrs.iter().any(content);
        let header_only = wants_content && attrs.iter().filter(|a| content(a)).all(header);
        let query = FetchQuery {
            envelope: attrs.contains(&FetchAttr::Envelope),
            body_structure: attrs
                .iter()
                .any(|a| matches!(a, FetchAttr::Body | FetchAttr::BodyStructure))
                || (wants_content && !header_only),
            content: wants_content.then_some(if header_only {
                Content::Header
            } else {
                Content::Full
            }),
        };
        Self {
            attrs,
            query,
            header_only,
        }
    }

    /// The octets of a section, from what the store returned.
    fn section(&self, m: &FetchedMessage, section: &Section) -> Option<Vec<u8>> {
        let raw = m.content.as_deref()?;
        if self.header_only {
            return match &section.text {
                Some(SectionText::HeaderFields { names, not }) => {
                    Some(sansmail_store::section::header_fields(raw, names, *not))
                }
                _ => Some(raw.to_vec()),
            };
        }
        section.extract(raw, m.body_structure.as_deref()?)
    }

    /// The decoded octets of `BINARY[part]`.
    fn binary(m: &FetchedMessage, part: &[u32]) -> Result<Option<Vec<u8>>, UnknownEncoding> {
        match (m.content.as_deref(), m.body_structure.as_deref()) {
            (Some(raw), Some(top)) => sansmail_store::section::binary(raw, top, part),
            _ => Ok(None),
        }
    }

    fn items(&self, m: &FetchedMessage) -> Result<Vec<FetchItem<'static>>, UnknownEncoding> {
        let nstring = |data: Option<Vec<u8>>| data.and_then(convert::istring);
        let mut items = Vec::with_capacity(self.attrs.len() + 1);
        for a in &self.attrs {
            let item = match a {
                FetchAttr::Uid => FetchItem::Uid(m.uid.get()),
                FetchAttr::Flags => FetchItem::Flags(convert::imap_flags(&m.flags, false)),
                FetchAttr::InternalDate => match convert::date_time(m.internal_date) {
                    Some(d) => FetchItem::InternalDate(d),
                    None => continue,
                },
                FetchAttr::Rfc822Size => FetchItem::Rfc822Size(m.size),
                FetchAttr::ModSeq => FetchItem::ModSeq(m.modseq.get()),
                FetchAttr::Envelope => match &m.envelope {
                    Some(e) => FetchItem::Envelope(Box::new(convert::envelope(e))),
                    None => continue,
                },
                FetchAttr::Body | FetchAttr::BodyStructure => match &m.body_structure {
                    Some(b) if *a == FetchAttr::Body => {
                        FetchItem::Body(Box::new(convert::body(b, false)))
                    }
                    Some(b) => FetchItem::BodyStructure(Box::new(convert::body(b, true))),
                    None => continue,
                },
                FetchAttr::BodySection {
                    section, partial, ..
                } => {
                    let data = self.section(m, &section::section(section));
                    let (data, origin) = section::partial(data, *partial);
                    FetchItem::BodySection {
                        section: section.clone(),
                        origin,
                        data: nstring(data),
                    }
                }
                FetchAttr::Rfc822 => FetchItem::Rfc822(nstring(self.section(m, &Section::whole()))),
                FetchAttr::Rfc822Header => FetchItem::Rfc822Header(nstring(
                    self.section(m, &Section::top(SectionText::Header)),
                )),
                FetchAttr::Rfc822Text => FetchItem::Rfc822Text(nstring(
                    self.section(m, &Section::top(SectionText::Text)),
                )),
                FetchAttr::Binary { part, partial, .. } => {
                    let (data, origin) = section::partial(Self::binary(m, part)?, *partial);
                    FetchItem::Binary {
                        part: part.clone(),
                        origin,
                        data: data.and_then(convert::binary_string),
                    }
                }
                FetchAttr::BinarySize { part } => match Self::binary(m, part)? {
                    Some(d) => FetchItem::BinarySize {
                        part: part.clone(),
                        size: u32::try_from(d.len()).unwrap_or(u32::MAX),
                    },
                    None => continue,
                },
                // Refused before the store was asked.
                _ => continue,
            };
            items.push(item);
        }
        Ok(items)
    }
}

impl<S: MailStore> Conn<'_, S> {
    /// The selected mailbox's name and whether it is read-only.
    pub(super) fn selected_mailbox(&self) -> Option<(String, bool)> {
        self.selected
            .as_ref()
            .map(|s| (s.name.clone(), s.read_only))
    }

    /// Whether `uid` is `\Recent` in this session (the session keeps track).
    pub(super) fn is_recent(&self, uid: u32) -> bool {
        self.server().view().is_some_and(|v| v.is_recent(uid))
    }

    /// `(seq, uid)` of the messages a set names, as the client knows them.
    fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<(u32, u32)> {
        self.server()
            .view()
            .map(|v| v.resolve(set, uid, self.server().saved_search()))
            .unwrap_or_default()
    }

    pub(super) async fn fetch(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        items: &FetchItems<'static>,
        modifiers: FetchModifiers,
    ) -> io::Result<()> {
        let attrs = items.attrs();
        if let Some(a) = attrs.iter().find(|a| {
            matches!(
                a,
                FetchAttr::EmailId
                    | FetchAttr::ThreadId
                    | FetchAttr::SaveDate
                    | FetchAttr::Preview { .. }
            )
        }) {
            let what = match a {
                FetchAttr::Preview { .. } => "PREVIEW",
                other => other.simple_name().unwrap_or("This item"),
            };
            return self.bad(&format!("{what} is not supported"));
        }
        let set_seen = attrs.iter().any(FetchAttr::sets_seen);
        let plan = Plan::new(items.response_attrs(uid, &modifiers));
        let Some((name, read_only)) = self.selected_mailbox() else {
            return self.no(None, "No mailbox selected");
        };
        let session = self.session()?;
        // The session let VANISHED through only in UID FETCH with CHANGEDSINCE, under
        // QRESYNC.
        if let (true, Some(since)) = (modifiers.vanished, modifiers.changed_since)
            && let Err(e) = self.vanished_since(&name, set, since).await
        {
            return self.fail(&e);
        }
        let pairs = self.resolve(set, uid);
        let batch = if plan.query.content.is_some() {
            CONTENT_BATCH
        } else {
            META_BATCH
        };
        for chunk in pairs.chunks(batch) {
            let mut found = match self
                .service
                .store
                .fetch(&session, &name, &uid_set(chunk), plan.query)
                .await
            {
                Ok(v) => v,
                Err(e) => return self.fail(&e),
            };
            // A non-peek body fetch sets \Seen (RFC 9051 §6.4.5). The change goes to the session,
            // which puts the new flags into the message's FETCH response.
            let unseen: UidSet = found
                .iter()
                .filter(|m| !m.flags.contains(Flag::Seen))
                .map(|m| m.uid)
                .collect();
            if set_seen && !read_only && !unseen.is_empty() {
                let seen = FlagOp::Add(Flags::new().with(Flag::Seen));
                let updated = match self
                    .service
                    .store
                    .store_flags(&session, &name, &unseen, seen, None)
                    .await
                {
                    Ok(r) => r.updated,
                    // On a full disk the messages are still served, without \Seen (their
                    // FLAGS say so).
                    Err(StoreError::NoSpace | StoreError::Limit(_)) => Vec::new(),
                    Err(e) => return self.fail(&e),
                };
                for u in updated {
                    if !plan.attrs.contains(&FetchAttr::Flags) {
                        let uid = u.uid.get();
                        let flags = convert::imap_flags(&u.flags, false);
                        self.push(Update::Flags {
                            uid,
                            flags,
                            modseq: Some(u.modseq.get()),
                        });
                    }
                    if let Some(m) = found.iter_mut().find(|m| m.uid == u.uid) {
                        m.flags = u.flags;
                        m.modseq = u.modseq;
                    }
                }
            }
            for m in found {
                let u = m.uid.get();
                if modifiers
                    .changed_since
                    .is_some_and(|since| m.modseq.get() <= since)
                {
                    continue;
                }
                // Messages expunged elsewhere but not yet told are left out.
                let Some(seq) = seq_of(chunk, u) else {
                    continue;
                };
                let Ok(items) = plan.items(&m) else {
                    return self.no(
                        Some(ResponseCode::UnknownCte),
                        "Cannot decode the part's Content-Transfer-Encoding",
                    );
                };
                if !items.is_empty() {
                    self.server_mut()
                        .send_fetch(seq, items, state(&m.flags, m.modseq));
                }
            }
            self.flush().await?;
        }
        self.ok(None, "FETCH completed")
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
            if uid {
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
        let store = &self.service.store;
        let result = if moving {
            store
                .move_messages(&session, &name, &uid_set(&pairs), &target)
                .await
        } else {
            store.copy(&session, &name, &uid_set(&pairs), &target).await
        };
        let copied = match result {
            Ok(c) => c,
            Err(StoreError::NoSuchMailbox(n)) if n != name => {
                return self.no(Some(ResponseCode::TryCreate), "No such mailbox");
            }
            Err(e) => return self.fail(&e),
        };
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
            let top = destination.iter().copied().max();
            self.pump_updates_with_own(destination).await?;
            self.claim_recent(top).await?;
        } else {
            self.pump_updates().await?;
        }
        if moving {
            if let Some(code) = code {
                self.untagged_ok(code, "Moved");
            }
            self.push(Update::Expunged(source));
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
        self.push(Update::Expunged(
            gone.uids.iter().map(|u| u.get()).collect(),
        ));
        self.ok(None, "EXPUNGE completed")
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
