//! Settings that change while the server runs (a `SIGHUP` reload): [`Swap`] holds the current
//! value of something shared, readers take a snapshot of it, and a reload puts a new value in
//! place without stopping anyone. What a reader already holds stays valid until it lets go,
//! so a connection keeps the settings it started with while new connections get the new
//! ones.
//!
//! A listener serves through a `Swap` of its service ([`listener::spawn_swappable`]), and
//! [`Accounts`] is implemented for a `Swap` of any accounts policy, so a reload of users or
//! passwords applies to the next login, also on connections already open.
//!
//! [`listener::spawn_swappable`]: crate::listener::spawn_swappable

use std::{
    fmt,
    sync::{Arc, PoisonError, RwLock},
};

use sansmail_core::Credentials;
use sansmail_smtp::{ForwardPath, ReversePath};
use sansmail_store::AccountName;

use crate::auth::{Accounts, Refusal};

/// The current value of a setting that a reload may replace.
pub struct Swap<T: ?Sized> {
    current: RwLock<Arc<T>>,
}

impl<T: ?Sized> Swap<T> {
    /// A handle holding `value`.
    pub fn new(value: Arc<T>) -> Self {
        Self {
            current: RwLock::new(value),
        }
    }

    /// The value now in force (a snapshot: a later [`Swap::store`] does not change it).
    pub fn load(&self) -> Arc<T> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts `value` in place for every later [`Swap::load`]; returns the one it replaced.
    pub fn store(&self, value: Arc<T>) -> Arc<T> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Swap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Swap").field(&self.load()).finish()
    }
}

/// The accounts in force at each call: a reload that stores a new policy applies to the
/// next login and delivery.
impl<A: Accounts + ?Sized> Accounts for Swap<A> {
    fn verify(&self, credentials: &Credentials) -> Option<AccountName> {
        self.load().verify(credentials)
    }

    fn apop_secret(&self, user: &str) -> Option<String> {
        self.load().apop_secret(user)
    }

    fn offers_apop(&self) -> bool {
        self.load().offers_apop()
    }

    fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        self.load().recipient(to)
    }

    fn may_send_as(&self, account: &AccountName, from: &ReversePath<'_>) -> bool {
        self.load().may_send_as(account, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(&'static str);

    impl Accounts for One {
        fn verify(&self, c: &Credentials) -> Option<AccountName> {
            (c.password.expose() == self.0)
                .then(|| AccountName::try_from("alice").ok())
                .flatten()
        }

        fn recipient(&self, _: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
            Err(Refusal::NotLocal)
        }
    }

    #[test]
    fn a_snapshot_outlives_a_store_and_later_loads_see_the_new_value() {
        let swap = Swap::new(Arc::new(1));
        let before = swap.load();
        assert_eq!(*swap.store(Arc::new(2)), 1);
        assert_eq!((*before, *swap.load()), (1, 2));
    }

    #[test]
    fn accounts_follow_the_value_in_force() {
        let swap: Swap<dyn Accounts> = Swap::new(Arc::new(One("old")));
        let login = |p: &str| swap.verify(&Credentials::new("alice".to_owned(), p.to_owned()));
        assert!(login("old").is_some() && login("new").is_none());
        swap.store(Arc::new(One("new")));
        assert!(login("old").is_none() && login("new").is_some());
    }
}
