//! Group commit: transactions that sessions queue for one account while another transaction
//! holds its lock are carried out together by whichever of their callers takes the lock
//! first, with one journal write (one fsync) for all of them. Each keeps its own checks, its
//! own modseq and its own answer; none is answered before the batch is durable.
//!
//! [`arrivals`](super::arrivals) queues APPEND and delivery this way,
//! [`changes`](super::changes) flag changes and expunges.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use super::{accounts::SharedAccount, lock, state::Record};
use crate::{
    error::{Result, StoreError},
    types::{AccountName, SessionId},
};

/// One queued transaction and, once its batch is carried out, its answer.
pub(super) struct Waiting<T, R> {
    pub item: T,
    /// The session that asked (for the change events).
    pub origin: SessionId,
    answer: Mutex<Option<Result<R>>>,
}

impl<T, R> Waiting<T, R> {
    pub fn answer(&self, result: Result<R>) {
        *lock(&self.answer) = Some(result);
    }

    pub fn answered(&self) -> bool {
        lock(&self.answer).is_some()
    }
}

/// A transaction in a queue, shared by its caller and the caller that carries it out.
pub(super) type Queued<T, R> = Arc<Waiting<T, R>>;

/// A queued transaction carried out: its records (durable) and its answer.
pub(super) type Done<'a, T, R, B> = (&'a Queued<T, R>, Vec<Record<B>>, R);

/// The transactions of one kind waiting, by account.
pub(super) struct Queues<T, R>(Mutex<HashMap<AccountName, Vec<Queued<T, R>>>>);

impl<T, R> Queues<T, R> {
    pub fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    /// Queues `item` for `account`, takes the account's lock and, unless the previous holder
    /// of the lock carried it out already, carries out everything queued, `item` included,
    /// with `batch`, which must answer each of them.
    pub fn commit<A>(
        &self,
        account: &AccountName,
        a: &SharedAccount<A>,
        item: T,
        origin: SessionId,
        batch: impl FnOnce(&mut super::accounts::Account<A>, &[Queued<T, R>]),
    ) -> Result<R> {
        let me = Arc::new(Waiting {
            item,
            origin,
            answer: Mutex::new(None),
        });
        lock(&self.0)
            .entry(account.clone())
            .or_default()
            .push(Arc::clone(&me));
        let mut acct = lock(a);
        // A batch is drained and answered under the account's lock: answered now, or still
        // queued.
        if let Some(done) = lock(&me.answer).take() {
            return done;
        }
        let queued = lock(&self.0).remove(account).unwrap_or_default();
        batch(&mut acct, &queued);
        drop(acct);
        lock(&me.answer).take().unwrap_or_else(|| {
            Err(StoreError::Io(std::io::Error::other(
                "a transaction was left out of its group commit",
            )))
        })
    }

    /// How many transactions wait for `account`'s lock.
    #[cfg(test)]
    pub fn waiting(&self, account: &AccountName) -> usize {
        lock(&self.0).get(account).map_or(0, Vec::len)
    }
}
