//! FETCH, with whole-message sections streamed.
//!
//! `BODY[]`, `BODY.PEEK[]`, `RFC822`, `BODY[TEXT]`, `RFC822.TEXT`, `BINARY[]` of a message
//! that needs no decoding, and partial ranges (`<n.m>`) of them are ranges of the stored
//! message. For a message larger than one piece they are read from
//! [`MailStore::open_message`] a piece ([`FETCH_PIECE`]) at a time and streamed (another
//! session's expunge meanwhile does not cut the message short): the response
//! is opened with the other items (`* n FETCH (UID 5 BODY[] {size}`), each next piece is
//! read only when the session asks for it ([`Event::FetchMore`], once the last one was sent),
//! so a client fetching a 32 MiB message, or pipelining a thousand such FETCHes and reading
//! none, costs one piece, not three copies of the message.
//!
//! Sections that need the message parsed or decoded (parts, `HEADER.FIELDS`, `BINARY[1]`)
//! are cut from the whole message, fetched a few messages at a time ([`CONTENT_BUDGET`]
//! octets at most, or one message).
//!
//! [`Event::FetchMore`]: sansmail_imap::session::server::Event::FetchMore

pub(super) mod plan;

use std::{collections::VecDeque, io};

use sansmail_imap::{
    session::view::Update,
    types::{
        fetch::FetchItem,
        fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
        response_code::ResponseCode,
        search::PartialRange,
        sequence::SequenceSet,
    },
};
use sansmail_store::{
    FetchQuery, FetchedMessage, Flag, FlagOp, Flags, MailStore, MessageReader, Session, StoreError,
    Uid, UidSet, model::Content,
};

use self::plan::{ItemsError, Literal, Plan};
use super::{
    Conn, api, convert,
    messages::{seq_of, state, uid_set},
};

/// Octets read from the store per piece of a streamed literal.
pub(crate) const FETCH_PIECE: usize = 64 * 1024;
/// Octets of whole messages fetched per store call (or one message, if larger).
const CONTENT_BUDGET: u64 = 4 << 20;
/// Messages per store call when no octets are wanted.
const META_BATCH: usize = 4096;
/// Messages per store call when some octets are wanted (their index data, envelope and
/// structure; the octets are fetched within [`CONTENT_BUDGET`]).
const CONTENT_META_BATCH: usize = 256;

/// A message fetched from the store, not answered yet.
struct Ready {
    seq: u32,
    m: FetchedMessage,
    /// Its literals, if it is streamed.
    literals: Option<Vec<Literal>>,
    /// The whole message is needed (and, once `full`, held in `m.content`).
    needs_full: bool,
    /// `m.content` holds the whole message (not the header block).
    full: bool,
    /// This FETCH set its `\Seen`.
    seen_now: bool,
}

/// The message whose response is being streamed.
struct Streaming {
    uid: Uid,
    /// The message, open until the response is out: an expunge meanwhile does not cut it.
    reader: Option<MessageReader>,
    literals: VecDeque<Literal>,
    current: Option<Literal>,
}

/// A FETCH in progress: the messages left, those fetched, and the response being streamed.
pub(super) struct FetchRun {
    session: Session,
    name: String,
    read_only: bool,
    set_seen: bool,
    changed_since: Option<u64>,
    plan: Plan,
    /// `(seq, uid)` not asked of the store yet.
    pending: VecDeque<(u32, u32)>,
    ready: VecDeque<Ready>,
    streaming: Option<Streaming>,
    /// Messages the client was told of were found expunged and left out (the tagged OK
    /// says `EXPUNGEISSUED`, as Dovecot's does; RFC 2180 §4.1, RFC 5530).
    skipped: bool,
}

/// What one step of a FETCH came to.
enum Step {
    Continue,
    /// A streamed literal waits for the session's `FetchMore`.
    Wait,
    /// The command was completed (or the session closed).
    Done,
}

impl<S: MailStore> Conn<'_, S> {
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
        let plan = Plan::new(items.response_attrs(uid, &modifiers), self.rev2());
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
        let mut pending = self.resolve(set, uid);
        if let Some(range) = modifiers.partial {
            match self
                .fetch_partial(&session, &name, pending, range, modifiers.changed_since)
                .await
            {
                Ok(p) => pending = p,
                Err(e) => return self.fail(&e),
            }
        }
        let pending = pending.into();
        self.fetching = Some(FetchRun {
            session,
            name,
            read_only,
            set_seen,
            changed_since: modifiers.changed_since,
            plan,
            pending,
            ready: VecDeque::new(),
            streaming: None,
            skipped: false,
        });
        self.fetch_more().await
    }

    /// UID FETCH's PARTIAL (RFC 9394 §3.3): of the messages `pending` names (in UID order),
    /// those at the range's positions; with CHANGEDSINCE, positions among the messages that
    /// changed since (RFC 9394 §3.4 combines them), which the store is asked for first.
    async fn fetch_partial(
        &self,
        session: &Session,
        name: &str,
        mut pending: Vec<(u32, u32)>,
        range: PartialRange,
        changed_since: Option<u64>,
    ) -> Result<Vec<(u32, u32)>, StoreError> {
        if let Some(since) = changed_since {
            let set: UidSet = pending.iter().filter_map(|&(_, u)| Uid::new(u)).collect();
            let meta = self
                .service
                .store
                .fetch(session, name, &set, FetchQuery::meta())
                .await?;
            let changed: std::collections::HashSet<u32> = meta
                .iter()
                .filter(|m| m.modseq.get() > since)
                .map(|m| m.uid.get())
                .collect();
            pending.retain(|(_, u)| changed.contains(u));
        }
        Ok(range
            .indices(pending.len())
            .and_then(|i| pending.get(i))
            .map(<[(u32, u32)]>::to_vec)
            .unwrap_or_default())
    }

    /// Goes on with the FETCH in progress (at its start, and at each `FetchMore`) until a
    /// streamed literal waits for its next piece or the command is complete.
    pub(super) async fn fetch_more(&mut self) -> io::Result<()> {
        let Some(mut run) = self.fetching.take() else {
            return Ok(());
        };
        loop {
            match self.fetch_step(&mut run).await? {
                Step::Continue => {}
                Step::Wait => {
                    self.fetching = Some(run);
                    return Ok(());
                }
                Step::Done => return Ok(()),
            }
        }
    }

    async fn fetch_step(&mut self, run: &mut FetchRun) -> io::Result<Step> {
        if run.streaming.is_some() {
            return self.stream_step(run).await;
        }
        let Some(next) = run.ready.front() else {
            if run.pending.is_empty() {
                if run.skipped {
                    self.ok(
                        Some(ResponseCode::ExpungeIssued),
                        "Some messages were already expunged",
                    )?;
                } else {
                    self.ok(None, "FETCH completed")?;
                }
                return Ok(Step::Done);
            }
            // What the last batch produced goes out before the next is read.
            self.flush().await?;
            return self.fetch_batch(run).await;
        };
        if next.needs_full && !next.full {
            return self.fetch_content(run).await;
        }
        let Some(r) = run.ready.pop_front() else {
            return Ok(Step::Continue);
        };
        self.answer(run, r).await
    }

    /// The index data (and envelope, structure, header) of the next batch, with `\Seen` set
    /// where the FETCH sets it.
    async fn fetch_batch(&mut self, run: &mut FetchRun) -> io::Result<Step> {
        let n = run.plan.batch().min(run.pending.len());
        let chunk: Vec<(u32, u32)> = run.pending.drain(..n).collect();
        let store = &self.service.store;
        let query = run.plan.meta_query();
        let mut found = match store
            .fetch(&run.session, &run.name, &uid_set(&chunk), query)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.fail(&e)?;
                return Ok(Step::Done);
            }
        };
        if found.len() < chunk.len() {
            run.skipped = true;
        }
        // CHANGEDSINCE picks the messages first (RFC 7162 §3.1.4.1): those it leaves out are
        // neither returned nor marked `\Seen`.
        if let Some(since) = run.changed_since {
            found.retain(|m| m.modseq.get() > since);
        }
        // A non-peek body fetch sets \Seen (RFC 9051 §6.4.5). The change goes to the
        // session, which puts the new flags into the message's FETCH response.
        let mut seen_now = Vec::new();
        let unseen: UidSet = found
            .iter()
            .filter(|m| !m.flags.contains(Flag::Seen))
            .map(|m| m.uid)
            .collect();
        if run.set_seen && !run.read_only && !unseen.is_empty() {
            let seen = FlagOp::Add(Flags::new().with(Flag::Seen));
            let updated = match store
                .store_flags(&run.session, &run.name, &unseen, seen, None)
                .await
            {
                Ok(r) => r.updated,
                // On a full disk the messages are still served, without \Seen (their
                // FLAGS say so).
                Err(StoreError::NoSpace | StoreError::Limit(_)) => Vec::new(),
                Err(e) => {
                    self.fail(&e)?;
                    return Ok(Step::Done);
                }
            };
            for u in updated {
                seen_now.push(u.uid);
                // Queued for every message: a FETCH response that carries the new flags
                // drops it (the view never tells a state not newer than one told), and a
                // message left unanswered (NO [LIMIT], NO [UNKNOWN-CTE]) is told later.
                self.push(Update::Flags {
                    uid: u.uid.get(),
                    flags: convert::imap_flags(&u.flags, false),
                    modseq: Some(u.modseq.get()),
                });
                if let Some(m) = found.iter_mut().find(|m| m.uid == u.uid) {
                    m.flags = u.flags;
                    m.modseq = u.modseq;
                }
            }
        }
        for m in found {
            // Messages expunged elsewhere but not yet told are left out.
            let Some(seq) = seq_of(&chunk, m.uid.get()) else {
                continue;
            };
            let literals = run.plan.literals(&m);
            let needs_full = run.plan.full || (literals.is_none() && run.plan.streamable);
            run.ready.push_back(Ready {
                seq,
                seen_now: seen_now.contains(&m.uid),
                m,
                literals,
                needs_full,
                full: false,
            });
        }
        Ok(Step::Continue)
    }

    /// The whole octets of the next messages that need them, [`CONTENT_BUDGET`] at a time.
    async fn fetch_content(&mut self, run: &mut FetchRun) -> io::Result<Step> {
        let mut uids = UidSet::new();
        let mut octets = 0u64;
        for r in run.ready.iter().take_while(|r| r.needs_full && !r.full) {
            if !uids.is_empty() && octets.saturating_add(r.m.size) > CONTENT_BUDGET {
                break;
            }
            octets = octets.saturating_add(r.m.size);
            uids.insert(r.m.uid);
        }
        let query = FetchQuery {
            envelope: false,
            body_structure: true,
            content: Some(Content::Full),
        };
        let got = match self
            .service
            .store
            .fetch(&run.session, &run.name, &uids, query)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.fail(&e)?;
                return Ok(Step::Done);
            }
        };
        let mut got: std::collections::HashMap<Uid, FetchedMessage> =
            got.into_iter().map(|m| (m.uid, m)).collect();
        // Those asked for and not found were expunged meanwhile: left out.
        let mut skipped = false;
        run.ready.retain_mut(|r| {
            if !uids.contains(r.m.uid) {
                return true;
            }
            let Some(c) = got.remove(&r.m.uid) else {
                skipped = true;
                return false;
            };
            r.m.content = c.content;
            if r.m.body_structure.is_none() {
                r.m.body_structure = c.body_structure;
            }
            r.full = true;
            true
        });
        run.skipped |= skipped;
        Ok(Step::Continue)
    }

    /// One message's response: whole, or opened for streaming.
    async fn answer(&mut self, run: &mut FetchRun, r: Ready) -> io::Result<Step> {
        let streamed = r.literals.is_some();
        let mut items = match run.plan.items(&r.m, r.full, streamed) {
            Ok(items) => items,
            Err(e) => {
                let (code, text) = match e {
                    ItemsError::UnknownEncoding(e) => (
                        ResponseCode::UnknownCte,
                        format!(
                            "Cannot decode the part's Content-Transfer-Encoding {:?}",
                            e.encoding
                        ),
                    ),
                    // RFC 9051 §7.1: LIMIT, a server limit refused the operation.
                    ItemsError::TooLarge { budget } => (
                        ResponseCode::Limit,
                        format!(
                            "The items asked for hold more than {budget} octets of message {}; ask for fewer at once",
                            r.seq
                        ),
                    ),
                };
                self.no(Some(code), &text)?;
                return Ok(Step::Done);
            }
        };
        if r.seen_now && self.condstore() {
            // A FETCH that sets \Seen says the message's UID and MODSEQ under CONDSTORE
            // (RFC 7162 §3.2.4).
            if !items.iter().any(|i| matches!(i, FetchItem::ModSeq(_))) {
                items.insert(0, FetchItem::ModSeq(r.m.modseq.get()));
            }
            if !items.iter().any(|i| matches!(i, FetchItem::Uid(_))) {
                items.insert(0, FetchItem::Uid(r.m.uid.get()));
            }
        }
        let state = state(&r.m.flags, r.m.modseq);
        let Some(mut literals) = r.literals else {
            if !items.is_empty() {
                self.server_mut().send_fetch(r.seq, items, state);
            }
            return Ok(Step::Continue);
        };
        // The message is opened and its first piece read before the response is opened: a
        // message expunged meanwhile is left out, and a failing store is still a NO.
        let mut reader = None;
        if let Some(first) = literals.iter_mut().find(|l| l.len > 0) {
            let len = first.len.min(FETCH_PIECE as u64);
            let store = &self.service.store;
            let read = match store.open_message(&run.session, &run.name, r.m.uid).await {
                Ok(opened) => {
                    let opened = reader.insert(opened);
                    opened.read(first.start, piece(len)).await
                }
                Err(e) => Err(e),
            };
            match read {
                Ok(data) => first.first = Some(data),
                Err(StoreError::NoSuchMessage(_)) => {
                    run.skipped = true;
                    return Ok(Step::Continue);
                }
                Err(e) => {
                    self.fail(&e)?;
                    return Ok(Step::Done);
                }
            }
        }
        self.server_mut()
            .fetch_begin(r.seq, items, state)
            .map_err(api)?;
        run.streaming = Some(Streaming {
            uid: r.m.uid,
            reader,
            literals: literals.into(),
            current: None,
        });
        Ok(Step::Continue)
    }

    /// The next piece of the response being streamed, the next literal, or its end.
    async fn stream_step(&mut self, run: &mut FetchRun) -> io::Result<Step> {
        let Some(st) = run.streaming.as_mut() else {
            return Ok(Step::Continue);
        };
        let Some(lit) = st.current.as_mut() else {
            if let Some(next) = st.literals.pop_front() {
                self.server_mut()
                    .fetch_literal(&next.item, next.len)
                    .map_err(api)?;
                st.current = Some(next);
            } else {
                self.server_mut().fetch_end().map_err(api)?;
                run.streaming = None;
            }
            return Ok(Step::Continue);
        };
        if lit.done == lit.len {
            st.current = None;
            return Ok(Step::Continue);
        }
        let want = (lit.len - lit.done).min(FETCH_PIECE as u64);
        let data = match (lit.first.take(), &mut st.reader) {
            (Some(data), _) => Ok(data),
            (None, Some(reader)) => reader.read(lit.start + lit.done, piece(want)).await,
            (None, None) => Err(StoreError::NoSuchMessage(st.uid.get())),
        };
        let mut data = match data {
            Ok(d) if !d.is_empty() => d,
            // A literal cannot be taken back: its length is announced and part of its octets
            // may be out, so whatever followed (a NO, a BYE) would be read as more of them.
            // The only honest answer left is closing the connection; the client sees the
            // response cut short and no completion.
            failed => {
                let why = failed.map_or_else(|e| e.to_string(), |_| "it ended early".to_owned());
                tracing::error!(
                    "imap: message {} of {} in {}: {why}; closing the connection",
                    st.uid,
                    run.session.account(),
                    run.name
                );
                self.server_mut().close();
                return Ok(Step::Done);
            }
        };
        data.truncate(piece(want));
        lit.done += data.len() as u64;
        let more = lit.done < lit.len;
        self.server_mut().message_data(&data).map_err(api)?;
        Ok(if more { Step::Wait } else { Step::Continue })
    }
}

/// A piece length as `usize` (at most [`FETCH_PIECE`]).
fn piece(len: u64) -> usize {
    usize::try_from(len).map_or(FETCH_PIECE, |n| n.min(FETCH_PIECE))
}
