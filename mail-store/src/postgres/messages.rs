//! One mailbox's messages: STATUS, APPEND, FETCH, STORE, EXPUNGE, COPY and MOVE, the
//! changes since a modseq, `\Recent` and change subscriptions.

use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{
    Inner,
    blobs::{self, Prepared, day_number},
    db::{DbError, MAX_UID, MailboxRow, R, bounds, commit, execute, modseq, query, query_opt, uid},
};
use crate::{
    date::Day,
    error::StoreError,
    mime::MimeInfo,
    model::{
        Appended, Changes, Content, Copied, ExpungeScope, Expunged, FetchQuery, FetchedMessage,
        MessageFlags, Status, StoreResult,
    },
    notify::{ChangeKind, Subscription},
    types::{Flag, FlagOp, Flags, InternalDate, Keyword, ModSeq, Session, SessionId, Uid, UidSet},
};

/// A message to add: its prepared octets, flags and internal date.
pub(crate) struct NewMessage {
    pub blob: Arc<Prepared>,
    pub flags: Flags,
    pub date: InternalDate,
}

/// The bit of a system flag in the `flags` column.
fn bit(f: Flag) -> i16 {
    match f {
        Flag::Seen => 1,
        Flag::Answered => 2,
        Flag::Flagged => 4,
        Flag::Deleted => 8,
        Flag::Draft => 16,
    }
}

/// (bits, keywords as spelled, keywords in lower case).
pub(crate) fn flag_columns(f: &Flags) -> (i16, Vec<String>, Vec<String>) {
    let bits = f.system().map(bit).sum();
    let kw: Vec<String> = f.keywords().iter().map(|k| k.as_str().to_owned()).collect();
    let lower = kw.iter().map(|k| k.to_ascii_lowercase()).collect();
    (bits, kw, lower)
}

pub(crate) fn flags_of(bits: i16, keywords: &[String]) -> Flags {
    let mut f = Flags::new();
    for flag in Flag::ALL {
        if bits & bit(flag) != 0 {
            f.insert(flag);
        }
    }
    for k in keywords {
        if let Ok(k) = Keyword::try_from(k.as_str()) {
            f.insert_keyword(k);
        }
    }
    f
}

/// The columns [`meta`] reads, in its order.
pub(crate) const META: &str =
    "m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.date_offset, m.size, m.vsize";

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A message's index data from the [`META`] columns.
pub(crate) fn meta(row: &Row) -> R<FetchedMessage> {
    let keywords: Vec<String> = row.try_get(3)?;
    let offset: i32 = row.try_get(5)?;
    Ok(FetchedMessage {
        uid: uid(row.try_get(0)?)?,
        modseq: modseq(row.try_get(1)?)?,
        flags: flags_of(row.try_get(2)?, &keywords),
        internal_date: InternalDate {
            timestamp: row.try_get(4)?,
            offset_minutes: i16::try_from(offset).unwrap_or(0),
        },
        size: unsigned(row.try_get(6)?),
        crlf_size: unsigned(row.try_get(7)?),
        envelope: None,
        body_structure: None,
        content: None,
    })
}

fn flags_entry(m: &FetchedMessage) -> MessageFlags {
    MessageFlags {
        uid: m.uid,
        flags: m.flags.clone(),
        modseq: m.modseq,
    }
}

/// An SQL `substring` of the blob's octets for a fetch's content, with its parameters
/// numbered from `$next`.
fn content_sql(c: Content) -> (&'static str, Option<(i32, i32)>) {
    match c {
        Content::Full => ("bl.data", None),
        Content::Header => ("substring(bl.data FROM 1 FOR bl.header_len::integer)", None),
        Content::Text => ("substring(bl.data FROM bl.header_len::integer + 1)", None),
        Content::Range { offset, len } => (
            "substring(bl.data FROM $4 FOR $5)",
            Some((
                i32::try_from(offset.saturating_add(1)).unwrap_or(i32::MAX),
                i32::try_from(len).unwrap_or(i32::MAX),
            )),
        ),
    }
}

impl Inner {
    /// The mailbox's id, without a lock, or [`StoreError::NoSuchMailbox`].
    pub async fn mailbox_id(&self, c: &impl GenericClient, s: &Session, name: &str) -> R<i64> {
        Ok(self.mailbox(c, s.account(), name, false).await?.id)
    }

    pub async fn status(&self, s: &Session, name: &str) -> R<Status> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        let account = self.account_id(&c, s.account()).await?;
        let row = query_opt(
            &c,
            "SELECT b.uidvalidity, b.uidnext, b.highest_modseq, b.special_use, \
               n.messages, n.unseen, n.deleted, n.size, n.recent, \
               ARRAY(SELECT keyword FROM mailbox_keywords k WHERE k.mailbox_id = b.id), \
               n.deleted_size \
             FROM mailboxes b, LATERAL (SELECT count(*) AS messages, \
                 count(*) FILTER (WHERE m.flags & 1 = 0) AS unseen, \
                 count(*) FILTER (WHERE m.flags & 8 <> 0) AS deleted, \
                 COALESCE(sum(m.size), 0)::bigint AS size, \
                 COALESCE(sum(m.size) FILTER (WHERE m.flags & 8 <> 0), 0)::bigint AS deleted_size, \
                 count(*) FILTER (WHERE m.uid >= b.first_recent) AS recent \
               FROM messages m WHERE m.mailbox_id = b.id) n \
             WHERE b.account_id = $1 AND b.name = $2",
            &[&account, &name],
        )
        .await?
        .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
        let count = |i: usize| -> R<u32> {
            Ok(u32::try_from(row.try_get::<_, i64>(i)?).unwrap_or(u32::MAX))
        };
        let role: Option<String> = row.try_get(3)?;
        let mut keywords: Vec<Keyword> = row
            .try_get::<_, Vec<String>>(9)?
            .iter()
            .filter_map(|k| Keyword::try_from(k.as_str()).ok())
            .collect();
        keywords.sort();
        let uidnext = Uid::new(super::db::u32_of(row.try_get(1)?, "UIDNEXT")?)
            .ok_or(StoreError::InvalidArgument("UID space exhausted"))?;
        Ok(Status {
            messages: count(4)?,
            recent: count(8)?,
            uidnext,
            uidvalidity: super::db::uidvalidity(row.try_get(0)?)?,
            unseen: count(5)?,
            deleted: count(6)?,
            size: unsigned(row.try_get(7)?),
            deleted_size: unsigned(row.try_get(10)?),
            highest_modseq: modseq(row.try_get(2)?)?,
            keywords,
            new_keywords_allowed: true,
            special_use: role
                .as_deref()
                .and_then(crate::types::SpecialUse::from_name),
        })
    }

    /// Adds messages to a locked mailbox inside `tx`: UIDs from its UIDNEXT, one modseq,
    /// blob references, keywords and the change event. The caller checked the quota.
    pub(crate) async fn insert_messages(
        &self,
        tx: &impl GenericClient,
        s: &Session,
        origin: SessionId,
        name: &str,
        mb: &MailboxRow,
        items: &[NewMessage],
    ) -> R<Vec<Uid>> {
        let n = i64::try_from(items.len()).unwrap_or(i64::MAX);
        if mb.uidnext.saturating_add(n) - 1 > MAX_UID {
            return Err(StoreError::InvalidArgument("UID space exhausted").into());
        }
        let modseq = self.bump_modseq(tx, mb.id).await?;
        let ms = i64::try_from(modseq.get()).unwrap_or(i64::MAX);
        execute(
            tx,
            "UPDATE mailboxes SET uidnext = uidnext + $2 WHERE id = $1",
            &[&mb.id, &n],
        )
        .await?;
        let mut uids = Vec::with_capacity(items.len());
        let mut events = Vec::with_capacity(items.len());
        let mut kw_seen: Vec<(String, String)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let u = mb.uidnext + i64::try_from(i).unwrap_or(0);
            blobs::add(tx, &item.blob, 1).await?;
            let (bits, kw, lower) = flag_columns(&item.flags);
            let internal_day = day_number(Day::of(item.date));
            let sent_day = item.blob.sent_day.or(internal_day);
            execute(
                tx,
                "INSERT INTO messages (mailbox_id, uid, modseq, created_modseq, flags, keywords, \
                   keywords_lower, internal_date, date_offset, internal_day, sent_day, size, \
                   vsize, hash) \
                 VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &mb.id,
                    &u,
                    &ms,
                    &bits,
                    &kw,
                    &lower,
                    &item.date.timestamp,
                    &i32::from(item.date.offset_minutes),
                    &internal_day,
                    &sent_day,
                    &item.blob.size,
                    &item.blob.vsize,
                    &item.blob.hash,
                ],
            )
            .await?;
            for (k, l) in kw.into_iter().zip(lower) {
                if !kw_seen.iter().any(|(_, x)| *x == l) {
                    kw_seen.push((k, l));
                }
            }
            let u = uid(u)?;
            uids.push(u);
            events.push(MessageFlags {
                uid: u,
                flags: item.flags.clone(),
                modseq,
            });
        }
        self.note_keywords(tx, mb.id, kw_seen).await?;
        self.notify(
            tx,
            s.account(),
            name,
            origin,
            vec![ChangeKind::Appended { messages: events }],
        )
        .await?;
        Ok(uids)
    }

    /// Records keywords (spelled, lower case) as used in the mailbox.
    async fn note_keywords(
        &self,
        tx: &impl GenericClient,
        mailbox: i64,
        kw: Vec<(String, String)>,
    ) -> R<()> {
        if kw.is_empty() {
            return Ok(());
        }
        let (spelled, lower): (Vec<String>, Vec<String>) = kw.into_iter().unzip();
        execute(
            tx,
            "INSERT INTO mailbox_keywords (mailbox_id, lower_name, keyword) \
             SELECT $1, l, k FROM unnest($2::text[], $3::text[]) AS x(k, l) \
             ON CONFLICT DO NOTHING",
            &[&mailbox, &spelled, &lower],
        )
        .await?;
        Ok(())
    }

    pub async fn append(&self, s: &Session, name: &str, items: &[NewMessage]) -> R<Appended> {
        if items.is_empty() {
            return Err(StoreError::InvalidArgument("nothing to append").into());
        }
        let name = self.canonical(name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.account_id(&tx, s.account()).await?;
        let quota = self.has_quota(&tx, account).await?;
        if quota {
            self.lock_account(&tx, s.account()).await?;
        }
        let mb = self.mailbox(&tx, s.account(), &name, true).await?;
        if quota {
            let bytes: i64 = items.iter().map(|i| i.blob.size).sum();
            self.check_quota(&tx, account, unsigned(bytes), items.len() as u64)
                .await?;
        }
        let uids = self
            .insert_messages(&tx, s, s.id(), &name, &mb, items)
            .await?;
        commit(tx).await?;
        Ok(Appended {
            uidvalidity: super::db::uidvalidity(mb.uidvalidity)?,
            uids,
        })
    }

    pub async fn fetch(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        q: FetchQuery,
    ) -> R<Vec<FetchedMessage>> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        let mailbox = self.mailbox_id(&c, s, &name).await?;
        let (lo, hi) = bounds(uids);
        let want_mime = q.envelope || q.body_structure;
        let content = q.content.map(content_sql);
        let join = if want_mime || content.is_some() {
            " JOIN blobs bl ON bl.hash = m.hash"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {META}{}{} FROM messages m \
             JOIN unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) ON m.uid BETWEEN r.lo AND r.hi\
             {join} WHERE m.mailbox_id = $1 ORDER BY m.uid",
            if want_mime {
                ", bl.mime"
            } else {
                ", NULL::text"
            },
            content.map_or(String::new(), |(expr, _)| format!(", {expr}")),
        );
        let range = content.and_then(|(_, r)| r);
        let rows = match &range {
            Some((from, len)) => query(&c, &sql, &[&mailbox, &lo, &hi, from, len]).await?,
            None => query(&c, &sql, &[&mailbox, &lo, &hi]).await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut m = meta(&row)?;
            if want_mime {
                let text: Option<String> = row.try_get(8)?;
                let mime: MimeInfo = serde_json::from_str(text.as_deref().unwrap_or(""))
                    .map_err(|e| StoreError::Corrupt(format!("stored MIME data: {e}")))?;
                if q.envelope {
                    m.envelope = Some(Arc::new(mime.envelope.clone()));
                }
                if q.body_structure {
                    m.body_structure = Some(Arc::new(mime.body));
                }
            }
            if content.is_some() {
                m.content = Some(row.try_get::<_, Vec<u8>>(9)?);
            }
            out.push(m);
        }
        Ok(out)
    }

    pub async fn read_range(
        &self,
        s: &Session,
        name: &str,
        u: Uid,
        offset: u64,
        len: usize,
    ) -> R<Vec<u8>> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        let mailbox = self.mailbox_id(&c, s, &name).await?;
        let from = i32::try_from(offset.saturating_add(1)).unwrap_or(i32::MAX);
        let len = i32::try_from(len).unwrap_or(i32::MAX);
        let row = query_opt(
            &c,
            "SELECT substring(bl.data FROM $3 FOR $4) FROM messages m \
             JOIN blobs bl ON bl.hash = m.hash WHERE m.mailbox_id = $1 AND m.uid = $2",
            &[&mailbox, &i64::from(u.get()), &from, &len],
        )
        .await?
        .ok_or(StoreError::NoSuchMessage(u.get()))?;
        Ok(row.try_get(0)?)
    }

    /// A message's blob (the hash of its content) and its size, for reading it later by
    /// what it holds rather than where it is: a mailbox deleted and created again under the
    /// same name meanwhile cannot put another message's octets in its place.
    pub async fn message_blob(&self, s: &Session, name: &str, u: Uid) -> R<(Vec<u8>, u64)> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        let mailbox = self.mailbox_id(&c, s, &name).await?;
        let row = query_opt(
            &c,
            "SELECT m.hash, m.size FROM messages m WHERE m.mailbox_id = $1 AND m.uid = $2",
            &[&mailbox, &i64::from(u.get())],
        )
        .await?
        .ok_or(StoreError::NoSuchMessage(u.get()))?;
        Ok((row.try_get(0)?, unsigned(row.try_get(1)?)))
    }

    /// `len` octets of a blob from `offset`; `NoSuchMessage(uid)` once the blob is gone (its
    /// last message expunged).
    pub async fn read_blob(&self, hash: &[u8], uid: Uid, offset: u64, len: usize) -> R<Vec<u8>> {
        let c = self.client().await?;
        let from = i32::try_from(offset.saturating_add(1)).unwrap_or(i32::MAX);
        let len = i32::try_from(len).unwrap_or(i32::MAX);
        let row = query_opt(
            &c,
            "SELECT substring(data FROM $2 FOR $3) FROM blobs WHERE hash = $1",
            &[&hash, &from, &len],
        )
        .await?
        .ok_or(StoreError::NoSuchMessage(uid.get()))?;
        Ok(row.try_get(0)?)
    }

    /// The index data of the messages of `uids` in a mailbox, ascending.
    pub(crate) async fn select(
        &self,
        c: &impl GenericClient,
        mailbox: i64,
        uids: &UidSet,
    ) -> R<Vec<FetchedMessage>> {
        let (lo, hi) = bounds(uids);
        query(
            c,
            &format!(
                "SELECT {META} FROM messages m \
                 JOIN unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) \
                   ON m.uid BETWEEN r.lo AND r.hi \
                 WHERE m.mailbox_id = $1 ORDER BY m.uid"
            ),
            &[&mailbox, &lo, &hi],
        )
        .await?
        .iter()
        .map(meta)
        .collect()
    }

    /// Sets the flags of messages of a locked mailbox to one modseq, grouped by the flags
    /// they end with (one statement per distinct result), and tells the watchers.
    pub(crate) async fn write_flags(
        &self,
        tx: &impl GenericClient,
        s: &Session,
        name: &str,
        mailbox: i64,
        changes: &[(Uid, Flags)],
    ) -> R<Vec<MessageFlags>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let modseq = self.bump_modseq(tx, mailbox).await?;
        let ms = i64::try_from(modseq.get()).unwrap_or(i64::MAX);
        let mut groups: Vec<(&Flags, Vec<i64>)> = Vec::new();
        for (u, f) in changes {
            match groups.iter_mut().find(|(g, _)| *g == f) {
                Some((_, v)) => v.push(i64::from(u.get())),
                None => groups.push((f, vec![i64::from(u.get())])),
            }
        }
        let mut kw_seen: Vec<(String, String)> = Vec::new();
        for (f, us) in groups {
            let (bits, kw, lower) = flag_columns(f);
            execute(
                tx,
                "UPDATE messages SET flags = $3, keywords = $4, keywords_lower = $5, modseq = $6 \
                 WHERE mailbox_id = $1 AND uid = ANY($2)",
                &[&mailbox, &us, &bits, &kw, &lower, &ms],
            )
            .await?;
            for (k, l) in kw.into_iter().zip(lower) {
                if !kw_seen.iter().any(|(_, x)| *x == l) {
                    kw_seen.push((k, l));
                }
            }
        }
        self.note_keywords(tx, mailbox, kw_seen).await?;
        let updated: Vec<MessageFlags> = changes
            .iter()
            .map(|(u, f)| MessageFlags {
                uid: *u,
                flags: f.clone(),
                modseq,
            })
            .collect();
        self.notify(
            tx,
            s.account(),
            name,
            s.id(),
            vec![ChangeKind::FlagsChanged(updated.clone())],
        )
        .await?;
        Ok(updated)
    }

    pub async fn store_flags(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        op: &FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> R<StoreResult> {
        let name = self.canonical(name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mb = self.mailbox(&tx, s.account(), &name, true).await?;
        let mut result = StoreResult::default();
        let mut changes = Vec::new();
        for m in self.select(&tx, mb.id, uids).await? {
            if let Some(limit) = unchanged_since
                && m.modseq > limit
            {
                result.modified.push(m.uid);
                continue;
            }
            let flags = m.flags.apply(op);
            if flags != m.flags {
                changes.push((m.uid, flags));
            }
        }
        result.updated = self.write_flags(&tx, s, &name, mb.id, &changes).await?;
        commit(tx).await?;
        Ok(result)
    }

    /// Records the expunges of `uids` at modseq `ms` in the history of a locked mailbox. Past
    /// [`PostgresOptions::expunge_history`] rows, the oldest go down to half of it and the
    /// mailbox's floor rises to the modseq they reached (once per many expunges: the rows
    /// are counted in the mailbox row, and recounted only when trimmed).
    ///
    /// [`PostgresOptions::expunge_history`]: super::PostgresOptions::expunge_history
    async fn record_expunged(
        &self,
        tx: &impl GenericClient,
        mailbox: i64,
        uids: &[i64],
        ms: i64,
    ) -> R<()> {
        execute(
            tx,
            "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $3 FROM unnest($2::bigint[]) AS u \
             ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
            &[&mailbox, &uids, &ms],
        )
        .await?;
        let added = i64::try_from(uids.len()).unwrap_or(i64::MAX);
        let count: i64 = query(
            tx,
            "UPDATE mailboxes SET expunged_count = expunged_count + $2 WHERE id = $1 \
             RETURNING expunged_count",
            &[&mailbox, &added],
        )
        .await?
        .first()
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
        let keep = i64::try_from(self.expunge_history).unwrap_or(i64::MAX);
        if count <= keep {
            return Ok(());
        }
        execute(
            tx,
            "WITH gone AS ( \
                 DELETE FROM expunged WHERE mailbox_id = $1 AND uid IN ( \
                     SELECT uid FROM expunged WHERE mailbox_id = $1 \
                     ORDER BY modseq, uid \
                     LIMIT GREATEST((SELECT count(*) FROM expunged WHERE mailbox_id = $1) - $2::bigint / 2, 0)) \
                 RETURNING modseq) \
             UPDATE mailboxes SET \
                 expunged_floor = GREATEST(expunged_floor, (SELECT COALESCE(max(modseq), 0) FROM gone)), \
                 expunged_count = (SELECT count(*) FROM expunged WHERE mailbox_id = $1) - (SELECT count(*) FROM gone) \
             WHERE id = $1",
            &[&mailbox, &keep],
        )
        .await?;
        Ok(())
    }

    /// Removes messages of a locked mailbox at one modseq, recording the expunges, and tells
    /// the watchers. `None` when none of `uids` is there.
    pub(crate) async fn remove(
        &self,
        tx: &impl GenericClient,
        s: &Session,
        name: &str,
        mailbox: i64,
        uids: &[i64],
        modseq: Option<ModSeq>,
    ) -> R<Option<(Vec<Uid>, ModSeq)>> {
        if uids.is_empty() {
            return Ok(None);
        }
        let modseq = match modseq {
            Some(m) => m,
            None => self.bump_modseq(tx, mailbox).await?,
        };
        let ms = i64::try_from(modseq.get()).unwrap_or(i64::MAX);
        let rows = query(
            tx,
            "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) RETURNING uid, hash",
            &[&mailbox, &uids],
        )
        .await?;
        let mut gone = Vec::with_capacity(rows.len());
        let mut hashes = Vec::with_capacity(rows.len());
        for r in &rows {
            gone.push(r.try_get::<_, i64>(0)?);
            hashes.push(r.try_get::<_, Vec<u8>>(1)?);
        }
        gone.sort_unstable();
        self.record_expunged(tx, mailbox, &gone, ms).await?;
        blobs::adjust(tx, &hashes, -1).await?;
        let gone: Vec<Uid> = gone.into_iter().map(uid).collect::<R<_>>()?;
        self.notify(
            tx,
            s.account(),
            name,
            s.id(),
            vec![ChangeKind::Expunged {
                uids: gone.clone(),
                modseq,
            }],
        )
        .await?;
        Ok(Some((gone, modseq)))
    }

    pub async fn expunge(&self, s: &Session, name: &str, scope: &ExpungeScope) -> R<Expunged> {
        let name = self.canonical(name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mb = self.mailbox(&tx, s.account(), &name, true).await?;
        let (set, deleted_only) = match scope {
            ExpungeScope::Deleted => (UidSet::all(), true),
            ExpungeScope::DeletedIn(set) => (set.clone(), true),
            ExpungeScope::Uids(set) => (set.clone(), false),
        };
        let picked: Vec<i64> = self
            .select(&tx, mb.id, &set)
            .await?
            .iter()
            .filter(|m| !deleted_only || m.flags.contains(Flag::Deleted))
            .map(|m| i64::from(m.uid.get()))
            .collect();
        let done = self.remove(&tx, s, &name, mb.id, &picked, None).await?;
        commit(tx).await?;
        Ok(match done {
            Some((uids, modseq)) => Expunged {
                uids,
                modseq: Some(modseq),
            },
            None => Expunged {
                uids: Vec::new(),
                modseq: None,
            },
        })
    }

    /// COPY, or MOVE, of `uids` from one locked mailbox to another (they may be the same)
    /// inside `tx`: new UIDs in the destination in source order, one modseq per mailbox
    /// (one in all within a mailbox), blob references for copies, the expunges of a move.
    pub(crate) async fn transfer(
        &self,
        tx: &impl GenericClient,
        s: &Session,
        (from, src): (&str, &MailboxRow),
        (to, dst): (&str, &MailboxRow),
        uids: &UidSet,
        is_move: bool,
    ) -> R<Copied> {
        let uidvalidity = super::db::uidvalidity(dst.uidvalidity)?;
        let picked = self.select(tx, src.id, uids).await?;
        if picked.is_empty() {
            return Ok(Copied {
                uidvalidity,
                map: Vec::new(),
            });
        }
        let n = i64::try_from(picked.len()).unwrap_or(i64::MAX);
        // The destination's UIDNEXT as it is now (a same-mailbox move sees its own lock).
        let next: i64 = query_opt(
            tx,
            "SELECT uidnext FROM mailboxes WHERE id = $1",
            &[&dst.id],
        )
        .await?
        .ok_or_else(|| StoreError::NoSuchMailbox(to.to_owned()))?
        .try_get(0)?;
        if next.saturating_add(n) - 1 > MAX_UID {
            return Err(StoreError::InvalidArgument("UID space exhausted").into());
        }
        let modseq = self.bump_modseq(tx, dst.id).await?;
        let ms = i64::try_from(modseq.get()).unwrap_or(i64::MAX);
        execute(
            tx,
            "UPDATE mailboxes SET uidnext = uidnext + $2 WHERE id = $1",
            &[&dst.id, &n],
        )
        .await?;
        let old: Vec<i64> = picked.iter().map(|m| i64::from(m.uid.get())).collect();
        let new: Vec<i64> = (0..n).map(|i| next + i).collect();
        let rows = query(
            tx,
            "INSERT INTO messages (mailbox_id, uid, modseq, created_modseq, flags, keywords, \
               keywords_lower, internal_date, date_offset, internal_day, sent_day, size, vsize, \
               hash) \
             SELECT $1, p.new, $4, $4, m.flags, m.keywords, m.keywords_lower, m.internal_date, \
               m.date_offset, m.internal_day, m.sent_day, m.size, m.vsize, m.hash \
             FROM unnest($3::bigint[], $5::bigint[]) AS p(old, new) \
             JOIN messages m ON m.mailbox_id = $2 AND m.uid = p.old \
             RETURNING hash",
            &[&dst.id, &src.id, &old, &ms, &new],
        )
        .await?;
        let mut kw_seen = Vec::new();
        for m in &picked {
            let (_, kw, lower) = flag_columns(&m.flags);
            for (k, l) in kw.into_iter().zip(lower) {
                if !kw_seen.iter().any(|(_, x): &(String, String)| *x == l) {
                    kw_seen.push((k, l));
                }
            }
        }
        self.note_keywords(tx, dst.id, kw_seen).await?;
        let mut map = Vec::with_capacity(picked.len());
        let mut appended = Vec::with_capacity(picked.len());
        for (m, u) in picked.iter().zip(&new) {
            let u = uid(*u)?;
            map.push((m.uid, u));
            appended.push(MessageFlags {
                uid: u,
                flags: m.flags.clone(),
                modseq,
            });
        }
        if is_move {
            // Within one mailbox the move is one transaction of one modseq.
            let same = src.id == dst.id;
            let src_modseq = if same { Some(modseq) } else { None };
            let appended_event = vec![ChangeKind::Appended { messages: appended }];
            if same {
                self.remove_moved(tx, s, from, src.id, &old, src_modseq)
                    .await?;
                self.notify(tx, s.account(), to, s.id(), appended_event)
                    .await?;
            } else {
                self.notify(tx, s.account(), to, s.id(), appended_event)
                    .await?;
                self.remove_moved(tx, s, from, src.id, &old, None).await?;
            }
        } else {
            let hashes: Vec<Vec<u8>> = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            blobs::adjust(tx, &hashes, 1).await?;
            self.notify(
                tx,
                s.account(),
                to,
                s.id(),
                vec![ChangeKind::Appended { messages: appended }],
            )
            .await?;
        }
        Ok(Copied { uidvalidity, map })
    }

    /// The source half of a move: the rows go (their blobs now belong to the copies) and the
    /// expunges are recorded.
    async fn remove_moved(
        &self,
        tx: &impl GenericClient,
        s: &Session,
        name: &str,
        mailbox: i64,
        uids: &[i64],
        modseq: Option<ModSeq>,
    ) -> R<()> {
        let modseq = match modseq {
            Some(m) => m,
            None => self.bump_modseq(tx, mailbox).await?,
        };
        let ms = i64::try_from(modseq.get()).unwrap_or(i64::MAX);
        execute(
            tx,
            "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2)",
            &[&mailbox, &uids],
        )
        .await?;
        self.record_expunged(tx, mailbox, uids, ms).await?;
        let gone: Vec<Uid> = uids.iter().map(|u| uid(*u)).collect::<R<_>>()?;
        self.notify(
            tx,
            s.account(),
            name,
            s.id(),
            vec![ChangeKind::Expunged { uids: gone, modseq }],
        )
        .await
    }

    pub async fn copy_or_move(
        &self,
        s: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
        is_move: bool,
    ) -> R<Copied> {
        let from = self.canonical(from)?;
        let to = self.canonical(to)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.account_id(&tx, s.account()).await?;
        let quota = !is_move && self.has_quota(&tx, account).await?;
        if quota {
            self.lock_account(&tx, s.account()).await?;
        }
        // Both rows, locked in name order, the order a delivery to several mailboxes takes
        // them in too: two transactions that lock the same two rows wait for each other
        // instead of deadlocking.
        let (first, second) = if from <= to {
            (&from, &to)
        } else {
            (&to, &from)
        };
        let a = self.mailbox(&tx, s.account(), first, true).await?;
        let b = self.mailbox(&tx, s.account(), second, true).await?;
        let (src, dst) = if *first == from { (a, b) } else { (b, a) };
        if quota {
            let picked = self.select(&tx, src.id, uids).await?;
            let bytes: u64 = picked.iter().map(|m| m.size).sum();
            self.check_quota(&tx, account, bytes, picked.len() as u64)
                .await?;
        }
        let copied = self
            .transfer(&tx, s, (&from, &src), (&to, &dst), uids, is_move)
            .await?;
        commit(tx).await?;
        Ok(copied)
    }

    pub async fn changes_since(&self, s: &Session, name: &str, since: u64) -> R<Changes> {
        let name = self.canonical(name)?;
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let mb = self.mailbox(&tx, s.account(), &name, false).await?;
        let mut new = Vec::new();
        let mut changed = Vec::new();
        for row in query(
            &tx,
            &format!(
                "SELECT {META}, m.created_modseq FROM messages m \
                 WHERE m.mailbox_id = $1 AND m.modseq > $2 ORDER BY m.uid"
            ),
            &[&mb.id, &since],
        )
        .await?
        {
            let m = meta(&row)?;
            let created: i64 = row.try_get(8)?;
            if created > since {
                new.push(flags_entry(&m));
            } else {
                changed.push(flags_entry(&m));
            }
        }
        let expunged = if since >= mb.expunged_floor {
            query(
                &tx,
                "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
                &[&mb.id, &since],
            )
            .await?
            .iter()
            .map(|r| uid(r.try_get(0)?))
            .collect::<R<UidSet>>()?
        } else {
            // Older than the history: every UID not in the mailbox (RFC 7162 §3.2.6).
            let present = query(
                &tx,
                "SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid",
                &[&mb.id],
            )
            .await?
            .iter()
            .map(|r| Ok(uid(r.try_get(0)?)?.get()))
            .collect::<R<Vec<u32>>>()?;
            UidSet::gaps(&present, u32::try_from(mb.uidnext).unwrap_or(u32::MAX))
        };
        commit(tx).await?;
        Ok(Changes {
            uidvalidity: super::db::uidvalidity(mb.uidvalidity)?,
            highest_modseq: modseq(mb.highest_modseq)?,
            new,
            changed,
            expunged,
        })
    }

    pub async fn take_recent(&self, s: &Session, name: &str) -> R<Vec<Uid>> {
        let name = self.canonical(name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mb = self.mailbox(&tx, s.account(), &name, true).await?;
        if mb.first_recent >= mb.uidnext {
            return Ok(Vec::new());
        }
        execute(
            &tx,
            "UPDATE mailboxes SET first_recent = uidnext WHERE id = $1",
            &[&mb.id],
        )
        .await?;
        let uids = query(
            &tx,
            "SELECT uid FROM messages WHERE mailbox_id = $1 AND uid >= $2 ORDER BY uid",
            &[&mb.id, &mb.first_recent],
        )
        .await?
        .iter()
        .map(|r| uid(r.try_get(0)?))
        .collect::<R<Vec<Uid>>>()?;
        commit(tx).await?;
        Ok(uids)
    }

    pub async fn watch(&self, s: &Session, name: &str) -> R<Subscription> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        // Subscribed first: a change committed while we check is not missed.
        let sub = self.hub.subscribe(s.account(), &name, s.id());
        self.mailbox_id(&c, s, &name).await?;
        Ok(sub)
    }

    pub async fn watch_account(&self, s: &Session) -> R<Subscription> {
        let c = self.client().await?;
        let sub = self.hub.subscribe_account(s.account(), s.id());
        self.account_id(&c, s.account()).await?;
        Ok(sub)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        e.into_store()
    }
}
