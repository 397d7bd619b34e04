//! What the service tests share: one account, alice, and its authenticator.

use std::sync::Arc;

use sansmail_core::Credentials;
use sansmail_server::auth::{Accounts, Authenticator, Refusal, ThrottleConfig};
use sansmail_smtp::ForwardPath;
use sansmail_store::AccountName;

/// alice, password secret; no local recipients.
struct Alice;

impl Accounts for Alice {
    fn verify(&self, c: &Credentials) -> Option<AccountName> {
        (c.authcid == "alice" && c.password.expose() == "secret")
            .then(|| AccountName::try_from("alice").ok())
            .flatten()
    }

    fn recipient(&self, _: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        Err(Refusal::NotLocal)
    }
}

/// An authenticator that knows alice alone.
pub fn alice_only() -> Arc<Authenticator> {
    Arc::new(Authenticator::new(
        Arc::new(Alice),
        ThrottleConfig::default(),
    ))
}
