//! The POP3 maildrop under a lease kept in the account's row (so `[IN-USE]` holds across
//! nodes, timed by the database's clock), and SMTP/LMTP delivery.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{
    Inner,
    blobs::Prepared,
    db::{R, commit, execute, query, query_opt},
    messages::NewMessage,
};
use crate::{
    error::StoreError,
    model::{Delivered, Maildrop, Pop3Committed, Pop3Lease, Pop3Message, Recipient},
    types::{Flag, InternalDate, Session, SessionId, Uid, UidSet},
};

/// A lease's expiry from the database (seconds since the epoch).
fn expiry(secs: f64) -> SystemTime {
    if secs.is_finite() && secs > 0.0 {
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    } else {
        UNIX_EPOCH
    }
}

/// The lease id as stored.
fn lease_id(l: &Pop3Lease) -> i64 {
    i64::try_from(l.id).unwrap_or(-1)
}

fn session_id(s: &Session) -> i64 {
    // The raw id's bits, as a signed column holds them.
    i64::from_ne_bytes(s.id().get().to_ne_bytes())
}

impl Inner {
    /// Locks the account's row and checks that `lease` is the live one.
    async fn check_lease(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        s: &Session,
        lease: &Pop3Lease,
    ) -> R<i64> {
        let account = self.lock_account(tx, s.account()).await?;
        let held = query_opt(
            tx,
            "SELECT 1 FROM accounts WHERE id = $1 AND lease_id = $2",
            &[&account, &lease_id(lease)],
        )
        .await?;
        if held.is_none() {
            return Err(StoreError::LeaseExpired.into());
        }
        Ok(account)
    }

    pub async fn pop3_open(&self, s: &Session, lease_for: Duration) -> R<Maildrop> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.lock_account(&tx, s.account()).await?;
        let row = query_opt(
            &tx,
            "SELECT lease_id IS NOT NULL AND lease_expires > clock_timestamp() \
               AND lease_session IS DISTINCT FROM $2 FROM accounts WHERE id = $1",
            &[&account, &session_id(s)],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        if row.try_get::<_, bool>(0)? {
            return Err(StoreError::InUse.into());
        }
        let row = query_opt(
            &tx,
            "UPDATE accounts SET lease_id = nextval('lease_ids'), lease_session = $2, \
               lease_expires = clock_timestamp() + make_interval(secs => $3) \
             WHERE id = $1 RETURNING lease_id, extract(epoch FROM lease_expires)::float8",
            &[&account, &session_id(s), &lease_for.as_secs_f64()],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        let id: i64 = row.try_get(0)?;
        let expires = expiry(row.try_get(1)?);
        let mb = self.mailbox(&tx, s.account(), "INBOX", false).await?;
        let uidvalidity = super::db::u32_of(mb.uidvalidity, "UIDVALIDITY")?;
        let mut messages = Vec::new();
        for r in query(
            &tx,
            "SELECT uid, vsize FROM messages WHERE mailbox_id = $1 ORDER BY uid",
            &[&mb.id],
        )
        .await?
        {
            let uid = super::db::uid(r.try_get(0)?)?;
            messages.push(Pop3Message {
                uid,
                size: u64::try_from(r.try_get::<_, i64>(1)?).unwrap_or(0),
                // Dovecot's default pop3_uidl_format, %08Xu%08Xv (lower-case hex).
                uidl: format!("{:08x}{:08x}", uid.get(), uidvalidity),
            });
        }
        commit(tx).await?;
        Ok(Maildrop {
            lease: Pop3Lease {
                id: u64::try_from(id).unwrap_or(0),
                expires,
            },
            messages,
        })
    }

    pub async fn pop3_renew(
        &self,
        s: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> R<Pop3Lease> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.check_lease(&tx, s, lease).await?;
        let row = query_opt(
            &tx,
            "UPDATE accounts SET lease_expires = clock_timestamp() + make_interval(secs => $2) \
             WHERE id = $1 RETURNING extract(epoch FROM lease_expires)::float8",
            &[&account, &lease_for.as_secs_f64()],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        let expires = expiry(row.try_get(0)?);
        commit(tx).await?;
        Ok(Pop3Lease {
            id: lease.id,
            expires,
        })
    }

    pub async fn pop3_retrieve(
        &self,
        s: &Session,
        lease: &Pop3Lease,
        u: Uid,
        mark_seen: bool,
    ) -> R<Vec<u8>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        self.check_lease(&tx, s, lease).await?;
        let mb = self.mailbox(&tx, s.account(), "INBOX", mark_seen).await?;
        let row = query_opt(
            &tx,
            "SELECT bl.data, m.flags, m.keywords FROM messages m \
             JOIN blobs bl ON bl.hash = m.hash WHERE m.mailbox_id = $1 AND m.uid = $2",
            &[&mb.id, &i64::from(u.get())],
        )
        .await?
        .ok_or(StoreError::NoSuchMessage(u.get()))?;
        let data: Vec<u8> = row.try_get(0)?;
        let flags = super::messages::flags_of(row.try_get(1)?, &row.try_get::<_, Vec<String>>(2)?);
        if mark_seen && !flags.contains(Flag::Seen) {
            let flags = flags.with(Flag::Seen);
            self.write_flags(&tx, s, "INBOX", mb.id, &[(u, flags)])
                .await?;
        }
        commit(tx).await?;
        Ok(data)
    }

    pub async fn pop3_commit(
        &self,
        s: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> R<Pop3Committed> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.check_lease(&tx, s, lease).await?;
        let mb = self.mailbox(&tx, s.account(), "INBOX", true).await?;
        let set: UidSet = deleted.iter().copied().collect();
        let mut wanted = deleted.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let wanted = wanted.len();
        let present: Vec<i64> = self
            .select(&tx, mb.id, &set)
            .await?
            .iter()
            .map(|m| i64::from(m.uid.get()))
            .collect();
        let out = Pop3Committed {
            deleted: present.len(),
            already_gone: wanted - present.len(),
        };
        // One transaction: every deletion or none (RFC 1939 §6, the UPDATE state).
        self.remove(&tx, s, "INBOX", mb.id, &present, None).await?;
        execute(
            &tx,
            "UPDATE accounts SET lease_id = NULL, lease_session = NULL, lease_expires = NULL \
             WHERE id = $1",
            &[&account],
        )
        .await?;
        commit(tx).await?;
        Ok(out)
    }

    pub async fn pop3_release(&self, s: &Session, lease: &Pop3Lease) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.account_id(&tx, s.account()).await?;
        execute(
            &tx,
            "UPDATE accounts SET lease_id = NULL, lease_session = NULL, lease_expires = NULL \
             WHERE id = $1 AND lease_id = $2",
            &[&account, &lease_id(lease)],
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Delivers one prepared message: one transaction for all recipients, each in a
    /// savepoint of its own, so a recipient that fails (unknown, over quota) fails alone and
    /// the others' copies become durable together when it commits (a message reaches every
    /// recipient it was accepted for, or, if the commit fails, none).
    pub async fn deliver(
        &self,
        blob: &Arc<Prepared>,
        date: InternalDate,
        recipients: &[Recipient],
    ) -> R<Vec<crate::Result<Delivered>>> {
        let origin = SessionId::new();
        // The rows are locked in one order in every delivery, by account name and then by
        // mailbox name (an account's row before its mailboxes'; COPY and MOVE take their two
        // mailboxes in name order too), so that two transactions taking the same rows never
        // wait for each other in a cycle (a deadlock, which PostgreSQL breaks after a second
        // by failing one of them).
        let mut order: Vec<(&str, Option<String>, usize)> = recipients
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mailbox = self.canonical(r.mailbox.as_deref().unwrap_or("INBOX")).ok();
                (r.account.as_str(), mailbox, i)
            })
            .collect();
        order.sort();
        let mut c = self.client().await?;
        let mut tx = c.transaction().await?;
        let mut results = Vec::with_capacity(recipients.len());
        for (_, _, i) in order {
            let r = &recipients[i];
            let sp = tx.savepoint("rcpt").await?;
            match self.deliver_one(&sp, blob, date, r, origin).await {
                Ok(d) => {
                    sp.commit().await?;
                    results.push((i, Ok(d)));
                }
                Err(super::db::DbError::Store(e)) => {
                    sp.rollback().await?;
                    results.push((i, Err(e)));
                }
                // A database failure fails the whole delivery (and may be retried).
                Err(e) => return Err(e),
            }
        }
        commit(tx).await?;
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }

    async fn deliver_one(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        blob: &Arc<Prepared>,
        date: InternalDate,
        r: &Recipient,
        origin: SessionId,
    ) -> R<Delivered> {
        let name = self.canonical(r.mailbox.as_deref().unwrap_or("INBOX"))?;
        let account = self.account_id(tx, &r.account).await?;
        let quota = self.has_quota(tx, account).await?;
        if quota {
            self.lock_account(tx, &r.account).await?;
        }
        let mb = self.mailbox(tx, &r.account, &name, true).await?;
        if quota {
            self.check_quota(tx, account, u64::try_from(blob.size).unwrap_or(0), 1)
                .await?;
        }
        let s = Session::new(r.account.clone());
        let item = NewMessage {
            blob: Arc::clone(blob),
            flags: r.flags.clone(),
            date,
        };
        let uids = self
            .insert_messages(tx, &s, origin, &name, &mb, std::slice::from_ref(&item))
            .await?;
        let uid = uids
            .first()
            .copied()
            .ok_or_else(|| StoreError::Corrupt("delivery gave no UID".into()))?;
        Ok(Delivered {
            mailbox: name,
            uidvalidity: super::db::uidvalidity(mb.uidvalidity)?,
            uid,
        })
    }
}
