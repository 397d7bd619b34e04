//! What every call does with the database: errors, running a transaction again when it lost
//! a conflict or its connection broke before it committed, prepared statements, finding an account and a mailbox, sending change events.

use std::{future::Future, time::Duration};

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::{Row, error::SqlState, types::ToSql};

use super::Inner;
use crate::{
    error::StoreError,
    notify::{ChangeEvent, ChangeKind},
    types::{AccountName, ModSeq, SessionId, UidSet, UidValidity},
};

/// Why a database call failed, before it becomes a [`StoreError`].
#[derive(Debug)]
pub(crate) enum DbError {
    /// A rule of the store (no such mailbox, over quota...).
    Store(StoreError),
    /// The database refused or failed.
    Pg(tokio_postgres::Error),
    /// No connection could be had.
    Pool(String),
    /// The connection broke while `COMMIT` was on its way: the transaction may have
    /// committed or not, so it is not run again (an APPEND would be stored twice).
    CommitUnknown(tokio_postgres::Error),
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Pg(e)
    }
}

impl DbError {
    /// Running the transaction again may succeed, and is safe: it lost a conflict with a
    /// concurrent one, or its connection broke before it committed (the database rolls
    /// back what it had not committed; the next try takes another connection, waiting for
    /// a restarting database to come back).
    fn is_retryable(&self) -> bool {
        match self {
            Self::Pg(e) => is_conflict(e) || is_broken(e),
            Self::Store(_) | Self::Pool(_) | Self::CommitUnknown(_) => false,
        }
    }

    pub fn into_store(self) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Pg(e) => {
                let what = match e.as_db_error() {
                    Some(db) => format!("database: {} ({})", db.message(), db.code().code()),
                    None => format!("database: {e}"),
                };
                StoreError::Io(std::io::Error::other(what))
            }
            Self::Pool(e) => {
                StoreError::Io(std::io::Error::other(format!("database unavailable: {e}")))
            }
            Self::CommitUnknown(e) => StoreError::Io(std::io::Error::other(format!(
                "database: connection lost during COMMIT, outcome unknown: {e}"
            ))),
        }
    }
}

/// A serialization failure or a deadlock: the transaction was rolled back.
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// The connection is gone: closed, cut (an I/O error), or the server is shutting down or
/// restarting (SQLSTATE class 57P: admin and crash shutdown, cannot connect now).
fn is_broken(e: &tokio_postgres::Error) -> bool {
    e.is_closed()
        || e.code().is_some_and(|c| {
            *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        })
        || std::error::Error::source(e).is_some_and(<dyn std::error::Error>::is::<std::io::Error>)
}

/// Commits `tx`. A conflict reported by `COMMIT` is a rollback (run it again); any other
/// failure leaves the outcome unknown ([`DbError::CommitUnknown`]), which is never retried.
pub(crate) async fn commit(tx: Transaction<'_>) -> R<()> {
    tx.commit().await.map_err(|e| {
        if is_conflict(&e) {
            DbError::Pg(e)
        } else {
            DbError::CommitUnknown(e)
        }
    })
}

pub(crate) type R<T> = std::result::Result<T, DbError>;

/// Runs `op` (one transaction), again when it lost a conflict with a concurrent one
/// (serialization failure, deadlock) or its connection broke before it committed, up to a
/// few times.
pub(crate) async fn retry<T, F, Fut>(mut op: F) -> crate::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = R<T>>,
{
    let mut pause = Duration::from_millis(2);
    for _ in 0..8 {
        match op().await {
            Err(e) if e.is_retryable() => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            r => return r.map_err(DbError::into_store),
        }
    }
    op().await.map_err(DbError::into_store)
}

/// Parameters of a statement.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The rows of a statement, prepared once per connection.
pub(crate) async fn query(tx: &impl GenericClient, sql: &str, p: &Params<'_>) -> R<Vec<Row>> {
    let st = tx.prepare_cached(sql).await?;
    Ok(tx.query(&st, p).await?)
}

/// At most one row.
pub(crate) async fn query_opt(
    tx: &impl GenericClient,
    sql: &str,
    p: &Params<'_>,
) -> R<Option<Row>> {
    let st = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&st, p).await?)
}

/// The number of rows a statement changed.
pub(crate) async fn execute(tx: &impl GenericClient, sql: &str, p: &Params<'_>) -> R<u64> {
    let st = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&st, p).await?)
}

/// A UID set as two arrays of bounds, for `unnest($lo, $hi)`.
pub(crate) fn bounds(set: &UidSet) -> (Vec<i64>, Vec<i64>) {
    set.ranges()
        .map(|(lo, hi)| (i64::from(lo.get()), i64::from(hi.get())))
        .unzip()
}

/// A stored integer as a u32 (a UID, a UIDVALIDITY), or a corruption error.
pub(crate) fn u32_of(v: i64, what: &'static str) -> R<u32> {
    u32::try_from(v).map_err(|_| DbError::Store(StoreError::Corrupt(format!("{what} {v}"))))
}

pub(crate) fn uidvalidity(v: i64) -> R<UidValidity> {
    UidValidity::new(u32_of(v, "UIDVALIDITY")?)
        .ok_or_else(|| DbError::Store(StoreError::Corrupt("UIDVALIDITY 0".into())))
}

pub(crate) fn modseq(v: i64) -> R<ModSeq> {
    u64::try_from(v)
        .ok()
        .and_then(ModSeq::new)
        .ok_or_else(|| DbError::Store(StoreError::Corrupt(format!("modseq {v}"))))
}

pub(crate) fn uid(v: i64) -> R<crate::types::Uid> {
    crate::types::Uid::new(u32_of(v, "UID")?)
        .ok_or_else(|| DbError::Store(StoreError::Corrupt("UID 0".into())))
}

/// The largest UID a mailbox may give: one below `u32::MAX`, so that UIDNEXT after it is
/// still a 32-bit UID (as the Maildir engine gives them).
pub(crate) const MAX_UID: i64 = u32::MAX as i64 - 1;

/// A mailbox row found (and locked, when asked) inside a transaction.
#[derive(Debug, Clone)]
pub(crate) struct MailboxRow {
    pub id: i64,
    pub uidvalidity: i64,
    pub uidnext: i64,
    pub highest_modseq: i64,
    pub first_recent: i64,
    /// The expunge history is complete above this modseq.
    pub expunged_floor: i64,
}

impl Inner {
    /// The account's id, or [`StoreError::NoSuchAccount`].
    pub async fn account_id(&self, tx: &impl GenericClient, name: &AccountName) -> R<i64> {
        if let Some(id) = self.cached_account(name) {
            return Ok(id);
        }
        let row = query_opt(
            tx,
            "SELECT id FROM accounts WHERE name = $1",
            &[&name.as_str()],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        let id: i64 = row.try_get(0)?;
        self.cache_account(name, id);
        Ok(id)
    }

    /// Locks the account's row (quota, the mailbox tree, the POP3 lease): every transaction
    /// that locks an account does so before it locks any of its mailboxes.
    pub async fn lock_account(&self, tx: &impl GenericClient, name: &AccountName) -> R<i64> {
        let id = self.account_id(tx, name).await?;
        query_opt(
            tx,
            "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        Ok(id)
    }

    /// The mailbox's row, locked `FOR UPDATE` when `lock` (every transaction that adds,
    /// changes or removes messages of a mailbox holds its lock until it commits).
    pub async fn mailbox(
        &self,
        tx: &impl GenericClient,
        account: &AccountName,
        name: &str,
        lock: bool,
    ) -> R<MailboxRow> {
        let id = self.account_id(tx, account).await?;
        let sql = if lock {
            "SELECT id, uidvalidity, uidnext, highest_modseq, first_recent, expunged_floor \
             FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE"
        } else {
            "SELECT id, uidvalidity, uidnext, highest_modseq, first_recent, expunged_floor \
             FROM mailboxes WHERE account_id = $1 AND name = $2"
        };
        let row = query_opt(tx, sql, &[&id, &name])
            .await?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_owned()))?;
        Ok(MailboxRow {
            id: row.try_get(0)?,
            uidvalidity: row.try_get(1)?,
            uidnext: row.try_get(2)?,
            highest_modseq: row.try_get(3)?,
            first_recent: row.try_get(4)?,
            expunged_floor: row.try_get(5)?,
        })
    }

    /// Gives the (locked) mailbox the next modseq, as its new HIGHESTMODSEQ.
    pub async fn bump_modseq(&self, tx: &impl GenericClient, mailbox: i64) -> R<ModSeq> {
        let row = query_opt(
            tx,
            "UPDATE mailboxes SET highest_modseq = nextval('modseq') WHERE id = $1 \
             RETURNING highest_modseq",
            &[&mailbox],
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt("mailbox vanished under its lock".into()))?;
        modseq(row.try_get(0)?)
    }

    /// A UIDVALIDITY larger than any the account gave, time-based when possible (the
    /// database's clock, the same for every node).
    pub async fn next_uidvalidity(&self, tx: &impl GenericClient, account: i64) -> R<i64> {
        let row = query_opt(
            tx,
            "UPDATE accounts SET last_uidvalidity = LEAST(4294967295, \
             GREATEST(extract(epoch FROM clock_timestamp())::bigint, last_uidvalidity + 1)) \
             WHERE id = $1 RETURNING last_uidvalidity",
            &[&account],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        Ok(row.try_get(0)?)
    }

    /// Sends change events with the transaction: other nodes' (and this node's) `LISTEN`
    /// connections get them when it commits, in commit order.
    pub async fn notify(
        &self,
        tx: &impl GenericClient,
        account: &AccountName,
        mailbox: &str,
        origin: SessionId,
        kinds: Vec<ChangeKind>,
    ) -> R<()> {
        for kind in kinds {
            let event = ChangeEvent {
                mailbox: mailbox.to_owned(),
                origin,
                kind,
            };
            for payload in super::listen::payloads(account, event) {
                execute(
                    tx,
                    "SELECT pg_notify($1, $2)",
                    &[&self.channel.as_str(), &payload],
                )
                .await?;
            }
        }
        Ok(())
    }
}
