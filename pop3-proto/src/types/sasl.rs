//! SASL (RFC 5034): mechanism names, secrets that do not leak into logs, base64, and the
//! credentials of a USER/PASS or PLAIN login.

use std::borrow::Cow;

pub(crate) use mail_core::is_mechanism;
pub use mail_core::{InvalidMechanism, Mechanism, Secret, base64_decode, base64_encode, is_base64};

use super::InvalidInput;

impl From<mail_core::InvalidMechanism> for InvalidInput {
    fn from(_: mail_core::InvalidMechanism) -> Self {
        InvalidInput::new("SASL mechanism", "1 to 20 of A-Z 0-9 - _")
    }
}

/// A user name and password, from `USER`/`PASS` or from a SASL `PLAIN` exchange, for the
/// application to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The identity to act as, if different from `user` (PLAIN only).
    pub authzid: Option<Cow<'a, str>>,
    /// The identity whose password is given.
    pub user: Cow<'a, str>,
    /// The password.
    pub password: Secret<Cow<'a, str>>,
}

impl<'a> Credentials<'a> {
    /// Credentials for a user, with no separate authorization identity.
    pub fn new(user: impl Into<Cow<'a, str>>, password: impl Into<Cow<'a, str>>) -> Self {
        Self {
            authzid: None,
            user: user.into(),
            password: Secret::new(password.into()),
        }
    }

    /// Decodes a PLAIN message (RFC 4616): `[authzid] NUL authcid NUL passwd`.
    pub fn from_plain(message: &[u8]) -> Option<Credentials<'static>> {
        let (authzid, user, password) = mail_core::plain_decode(message)?;
        Some(Credentials {
            authzid: authzid.map(|z| Cow::Owned(z.to_owned())),
            user: Cow::Owned(user.to_owned()),
            password: Secret::new(Cow::Owned(password.to_owned())),
        })
    }

    /// Encodes a PLAIN message (RFC 4616).
    pub fn to_plain(&self) -> Vec<u8> {
        mail_core::plain_encode(self.authzid.as_deref(), &self.user, self.password.expose())
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Credentials<'static> {
        Credentials {
            authzid: self.authzid.map(super::own),
            user: super::own(self.user),
            password: Secret::new(super::own(self.password.into_inner())),
        }
    }
}
