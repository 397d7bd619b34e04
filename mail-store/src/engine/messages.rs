//! One mailbox's messages: STATUS, APPEND, FETCH, STORE, EXPUNGE, the changes since a
//! modseq, `\Recent` and change subscriptions.

use std::sync::Arc;

use super::{
    Arrival, Backend, Engine, Purpose,
    changes::{Change, ChangeOp, Changed},
    crlf_sizes, lock,
    state::{Header, MessageMeta, Record},
    to_crlf, uid,
};
use crate::{
    error::{Result, StoreError},
    mime::MimeInfo,
    model::{
        AppendItem, Appended, Changes, Content, ExpungeScope, Expunged, FetchQuery, FetchedMessage,
        Status, StoreResult,
    },
    notify::Subscription,
    types::{AccountName, Flag, FlagOp, Flags, InternalDate, ModSeq, Session, Uid, UidSet},
    upload::Upload,
};

impl<K: Backend> Engine<K> {
    pub fn status(&self, s: &Session, name: &str) -> Result<Status> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mb = self.open(s.account(), &mut acct, &name)?;
        let recent = mb.messages.len()
            - mb.messages
                .partition_point(|m| m.uid.get() < mb.header.first_recent);
        let (deleted, deleted_size) = mb.deleted();
        Ok(Status {
            messages: u32::try_from(mb.messages.len()).unwrap_or(u32::MAX),
            recent: u32::try_from(recent).unwrap_or(u32::MAX),
            uidnext: uid(mb.header.uidnext)?,
            uidvalidity: mb.header.uidvalidity,
            unseen: mb.count_flag(Flag::Seen, false),
            deleted,
            size: mb.size,
            deleted_size,
            highest_modseq: mb.highest_modseq(),
            keywords: mb.keywords.clone(),
            new_keywords_allowed: true,
            special_use: mb.header.special_use,
        })
    }

    pub fn append(&self, s: &Session, name: &str, items: Vec<AppendItem>) -> Result<Appended> {
        if items.is_empty() {
            return Err(StoreError::InvalidArgument("nothing to append"));
        }
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let total: u64 = items.iter().map(|i| i.data.len()).sum();
        let count = items.len() as u64;
        Self::precheck(&a, &name, total, count)?;
        // Parsed and written without the account's lock: sessions stage in parallel, and the
        // lock is held for the commit alone, which makes the group's staged messages durable
        // where they are before its journal line (one fsync for all). UIDs are given there.
        let mut staged: Vec<MessageMeta<K::Blob>> = Vec::with_capacity(items.len());
        let res = (|| {
            for mut item in items {
                let (meta, mime) = prepare(
                    &mut item.data,
                    Uid::MIN,
                    ModSeq::MIN,
                    item.flags,
                    item.internal_date,
                )?;
                let blob = self.backend.write_message(
                    account,
                    &name,
                    &mut item.data,
                    &mime,
                    &meta,
                    Arrival::Append,
                )?;
                staged.push(meta.with_blob(blob));
            }
            self.commit_arrival(account, &a, &name, staged.clone(), s.id())
        })();
        if res.is_err() {
            for m in &staged {
                self.backend.discard(account, &name, &m.blob);
            }
        }
        res.map_err(|e| Self::staging_error(&a, &name, e))
    }

    /// Undoes the writes of a transaction that failed.
    pub(super) fn discard_all(
        &self,
        account: &AccountName,
        name: &str,
        records: &[Record<K::Blob>],
    ) {
        for r in records {
            if let Record::Append(m) = r {
                self.backend.discard(account, name, &m.blob);
            }
        }
    }

    /// The index data is read under the account's lock; the messages' octets after it, so
    /// that a long read (a SEARCH of bodies, a FETCH of large messages) holds up no other
    /// session of the account. A stored message's octets never change: a file another
    /// transaction renamed or removed meanwhile is read again under the lock.
    #[allow(clippy::many_single_char_names)]
    pub fn fetch(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        q: FetchQuery,
    ) -> Result<Vec<FetchedMessage>> {
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let listed: Vec<(FetchedMessage, K::Blob)> = {
            let mut acct = lock(&a);
            let mb = self.open(account, &mut acct, &name)?;
            mb.select(uids)
                .into_iter()
                .map(|i| {
                    let m = &mb.messages[i];
                    (fetched_meta(m), m.blob.clone())
                })
                .collect()
        };
        let reads = q.envelope || q.body_structure || q.content.is_some();
        if !reads {
            return Ok(listed.into_iter().map(|(f, _)| f).collect());
        }
        let mut out = Vec::with_capacity(listed.len());
        let mut moved = Vec::new();
        for (mut f, blob) in listed {
            match self.read_fetched(account, &name, &blob, q, &mut f) {
                Err(e) if e.is_not_found() => moved.push(f.uid),
                other => {
                    other?;
                    out.push(f);
                }
            }
        }
        if moved.is_empty() {
            return Ok(out);
        }
        let mut acct = lock(&a);
        let mb = self.open(account, &mut acct, &name)?;
        let mut gone = false;
        for uid in moved {
            // Expunged meanwhile: left out, as a FETCH after the expunge would.
            let Some(m) = mb.get(uid) else {
                continue;
            };
            let mut f = fetched_meta(m);
            // A message whose file another program removed is left out too (the answer
            // tells the client so, RFC 5530 EXPUNGEISSUED), not the whole FETCH failed: the
            // mailbox is read again below and the message expunged.
            match self.read_fetched(account, &name, &m.blob, q, &mut f) {
                Err(e) if e.is_not_found() => gone = true,
                other => {
                    other?;
                    out.push(f);
                }
            }
        }
        out.sort_by_key(|f| f.uid);
        if gone {
            self.backend.rescan(account, &name);
            self.refresh(account, &name, mb)?;
        }
        Ok(out)
    }

    /// Reads what `q` asks of one message's octets into `f`.
    fn read_fetched(
        &self,
        account: &AccountName,
        name: &str,
        blob: &K::Blob,
        q: FetchQuery,
        f: &mut FetchedMessage,
    ) -> Result<()> {
        if q.envelope || q.body_structure {
            let mime = self.backend.read_mime(account, name, blob)?;
            f.envelope = q.envelope.then(|| Arc::new(mime.envelope.clone()));
            f.body_structure = q.body_structure.then(|| Arc::new(mime.body.clone()));
        }
        if let Some(c) = q.content {
            let raw = self.backend.read_message(account, name, blob)?;
            f.content = Some(slice_content(raw, c));
        }
        Ok(())
    }

    pub fn store_flags(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        op: &FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreResult> {
        let change = Change {
            mailbox: self.canonical(name)?,
            op: ChangeOp::Flags {
                uids: uids.clone(),
                op: op.clone(),
                unchanged_since,
            },
        };
        let a = self.account(s.account())?;
        match self.commit_change(s.account(), &a, change, s.id())? {
            Changed::Stored(result) => Ok(result),
            Changed::Expunged(_) => Err(StoreError::Io(std::io::Error::other(
                "a flag change was answered as an expunge",
            ))),
        }
    }

    pub fn expunge(&self, s: &Session, name: &str, scope: &ExpungeScope) -> Result<Expunged> {
        let change = Change {
            mailbox: self.canonical(name)?,
            op: ChangeOp::Expunge(scope.clone()),
        };
        let a = self.account(s.account())?;
        match self.commit_change(s.account(), &a, change, s.id())? {
            Changed::Expunged(result) => Ok(result),
            Changed::Stored(_) => Err(StoreError::Io(std::io::Error::other(
                "an expunge was answered as a flag change",
            ))),
        }
    }

    pub fn changes_since(&self, s: &Session, name: &str, since: u64) -> Result<Changes> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mb = self.open(s.account(), &mut acct, &name)?;
        let mut new = Vec::new();
        let mut changed = Vec::new();
        for m in &mb.messages {
            if m.created.get() > since {
                new.push(m.flags_entry());
            } else if m.modseq.get() > since {
                changed.push(m.flags_entry());
            }
        }
        Ok(Changes {
            uidvalidity: mb.header.uidvalidity,
            highest_modseq: mb.highest_modseq(),
            new,
            changed,
            expunged: mb.expunged_since(since),
        })
    }

    pub fn take_recent(&self, s: &Session, name: &str) -> Result<Vec<Uid>> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mb = self.open(s.account(), &mut acct, &name)?;
        let first = mb.header.first_recent;
        if first >= mb.header.uidnext {
            return Ok(Vec::new());
        }
        let start = mb.messages.partition_point(|m| m.uid.get() < first);
        let uids = mb.messages[start..].iter().map(|m| m.uid).collect();
        let header = Header {
            first_recent: mb.header.uidnext,
            ..mb.header.clone()
        };
        let records = vec![Record::Header(header)];
        match self.commit(
            s.account(),
            &name,
            mb,
            records.clone(),
            s.id(),
            Purpose::Ordinary,
        ) {
            Ok(()) => {}
            // On a full disk the claim holds for this run only: after a restart these
            // messages are \Recent once more, which RFC 3501 allows. SELECT still works.
            Err(StoreError::NoSpace | StoreError::Limit(_)) => mb.apply_all(records),
            Err(e) => return Err(e),
        }
        Ok(uids)
    }

    pub fn watch(&self, s: &Session, name: &str) -> Result<Subscription> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        Ok(self.hub.subscribe(s.account(), &name, s.id()))
    }

    pub fn watch_account(&self, s: &Session) -> Result<Subscription> {
        self.account(s.account())?;
        Ok(self.hub.subscribe_account(s.account(), s.id()))
    }
}

/// The record that expunges `m`, removing its octets once committed.
pub(super) fn expunge_record<B: Clone>(m: &MessageMeta<B>, modseq: ModSeq) -> Record<B> {
    Record::Expunge {
        uid: m.uid,
        modseq,
        file: Some(m.blob.clone()),
        to: None,
    }
}

/// Computes what the index keeps about a new message.
pub(super) fn prepare(
    data: &mut Upload,
    uid: Uid,
    modseq: ModSeq,
    flags: Flags,
    date: Option<InternalDate>,
) -> Result<(MessageMeta<()>, MimeInfo)> {
    // The store keeps and serves messages with CRLF line ends, the form IMAP and POP3 send,
    // so that sizes, BODYSTRUCTURE offsets and the octets served always agree. Binary content
    // (an IMAP literal8) is kept as it came.
    if !data.keeps_line_ends()
        && let Some(fixed) = to_crlf(&data.bytes()?)
    {
        let spool = std::mem::replace(data, Upload::from_bytes(fixed));
        drop(spool);
    }
    let bytes = data.bytes()?;
    let mime = MimeInfo::parse(&bytes);
    let (vsize, bare_crs) = crlf_sizes(&bytes);
    let meta = MessageMeta {
        uid,
        modseq,
        created: modseq,
        flags,
        date: date.unwrap_or_else(InternalDate::now),
        size: bytes.len() as u64,
        vsize,
        bare_crs,
        blob: (),
    };
    Ok((meta, mime))
}

/// A message's index data, without anything read from its octets.
fn fetched_meta<B>(m: &MessageMeta<B>) -> FetchedMessage {
    FetchedMessage {
        uid: m.uid,
        flags: m.flags.clone(),
        modseq: m.modseq,
        internal_date: m.date,
        size: m.size,
        crlf_size: m.pop3_size(),
        envelope: None,
        body_structure: None,
        content: None,
    }
}

fn slice_content(raw: Vec<u8>, c: Content) -> Vec<u8> {
    let len = raw.len();
    let hl = usize::try_from(crate::mime::header_len(&raw)).unwrap_or(len);
    match c {
        Content::Full => raw,
        Content::Header => raw[..hl.min(len)].to_vec(),
        Content::Text => raw[hl.min(len)..].to_vec(),
        Content::Range { offset, len: n } => {
            let start = usize::try_from(offset).unwrap_or(len).min(len);
            let end = start
                .saturating_add(usize::try_from(n).unwrap_or(usize::MAX))
                .min(len);
            raw[start..end].to_vec()
        }
    }
}
