//! SASL (RFC 4954): mechanism names, secrets that do not leak into logs, and base64.

pub(crate) use mail_core::is_mechanism;
pub use mail_core::{InvalidMechanism, Mechanism, Secret, base64_decode, base64_encode, is_base64};

use super::InvalidInput;

impl From<mail_core::InvalidMechanism> for InvalidInput {
    fn from(_: mail_core::InvalidMechanism) -> Self {
        InvalidInput::new("SASL mechanism", "1 to 20 of A-Z 0-9 - _")
    }
}

/// The credentials of a PLAIN or LOGIN exchange, for the application to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The identity to act as, if different from `authcid` (PLAIN only).
    pub authzid: Option<String>,
    /// The identity whose password is given.
    pub authcid: String,
    /// The password.
    pub password: Secret<String>,
}

impl Credentials {
    /// Decodes a PLAIN message (RFC 4616): `[authzid] NUL authcid NUL passwd`.
    pub fn from_plain(message: &[u8]) -> Option<Self> {
        let (authzid, authcid, password) = mail_core::plain_decode(message)?;
        Some(Self {
            authzid: authzid.map(str::to_owned),
            authcid: authcid.to_owned(),
            password: Secret::new(password.to_owned()),
        })
    }

    /// Encodes a PLAIN message (RFC 4616).
    pub fn to_plain(&self) -> Vec<u8> {
        mail_core::plain_encode(
            self.authzid.as_deref(),
            &self.authcid,
            self.password.expose(),
        )
    }
}
