//! What the listeners share: the configured users and the `mail-store` Maildir backend.

use std::{collections::HashMap, path::Path, sync::Arc};

use crate::auth::Password;
use mail_store::{
    AccountName, Executor, MailStore, StoreError,
    maildir::{MaildirOptions, MaildirStore},
};

/// The store every listener uses.
pub type Store = MaildirStore;

/// Who receives mail here and who may log in.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Domains whose users are local (compared case-insensitively).
    pub domains: Vec<String>,
    /// User names (lower case) and passwords.
    pub users: HashMap<String, Password>,
    /// The user that receives mail for `<Postmaster>` and `postmaster@<local domain>`.
    pub postmaster: String,
}

impl Directory {
    /// Whether mail for `domain` is delivered here.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The account of a configured user (names compare case-insensitively).
    pub fn account(&self, user: &str) -> Option<AccountName> {
        let user = user.to_lowercase();
        if !self.users.contains_key(&user) {
            return None;
        }
        AccountName::try_from(user.as_str()).ok()
    }

    /// A user's password in plaintext, for mechanisms that need the secret itself (APOP);
    /// `None` for unknown users and for users whose password is stored hashed.
    pub fn password(&self, user: &str) -> Option<&str> {
        self.users.get(&user.to_lowercase())?.plaintext()
    }

    /// The account whose password this is. An authorization identity other than the user
    /// is refused (no user may act as another here).
    pub fn authenticate(
        &self,
        authzid: Option<&str>,
        user: &str,
        password: &str,
    ) -> Option<AccountName> {
        if authzid.is_some_and(|z| !z.eq_ignore_ascii_case(user)) {
            return None;
        }
        let known = self.users.get(&user.to_lowercase())?;
        if known.verify(password) {
            self.account(user)
        } else {
            None
        }
    }
}

/// Opens the Maildir store under `data_dir` (its blocking work on tokio's blocking pool) and
/// creates the accounts of the configured users that do not exist yet. Call it from inside a
/// tokio runtime.
pub async fn open_store(data_dir: &Path, directory: &Directory) -> Result<Arc<Store>, StoreError> {
    let handle = tokio::runtime::Handle::current();
    let options = MaildirOptions {
        executor: Executor::from_fn(move |job| {
            handle.spawn_blocking(job);
        }),
        ..MaildirOptions::default()
    };
    let root = data_dir.to_owned();
    let store = tokio::task::spawn_blocking(move || MaildirStore::open(root, options))
        .await
        .map_err(|_| StoreError::WorkerGone)??;
    let mut users: Vec<&String> = directory.users.keys().collect();
    users.sort();
    for user in users {
        let account = AccountName::try_from(user.as_str())?;
        if !store.account_exists(&account).await? {
            store.create_account(&account).await?;
        }
    }
    Ok(Arc::new(store))
}
