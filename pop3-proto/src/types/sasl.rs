//! SASL (RFC 5034): mechanism names, secrets that do not leak into logs, base64, and the
//! credentials of a USER/PASS or PLAIN login.

use std::{borrow::Cow, fmt};

pub use mail_sasl::{Secret, base64_decode, base64_encode, is_base64};

use super::InvalidInput;

/// A SASL mechanism name: `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT /
/// HYPHEN / UNDERSCORE` (RFC 4422 §3.1). Lower case is accepted on input; comparison ignores
/// case.
#[derive(Debug, Clone)]
pub struct Mechanism<'a>(Cow<'a, str>);

impl<'a> Mechanism<'a> {
    /// `PLAIN` (RFC 4616), run by the server session itself.
    pub const PLAIN: Mechanism<'static> = Mechanism(Cow::Borrowed("PLAIN"));

    /// Validates a mechanism name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let name = name.into();
        if is_mechanism(&name) {
            Ok(Self(name))
        } else {
            Err(InvalidInput::new(
                "SASL mechanism",
                "1 to 20 of A-Z 0-9 - _",
            ))
        }
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Mechanism<'static> {
        Mechanism(Cow::Owned(self.0.into_owned()))
    }
}

/// `sasl-mech = 1*20mech-char` (RFC 4422 §3.1), case-insensitive on input.
pub(crate) fn is_mechanism(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl PartialEq for Mechanism<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Mechanism<'_> {}

impl fmt::Display for Mechanism<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        let (authzid, user, password) = mail_sasl::plain_decode(message)?;
        Some(Credentials {
            authzid: authzid.map(|z| Cow::Owned(z.to_owned())),
            user: Cow::Owned(user.to_owned()),
            password: Secret::new(Cow::Owned(password.to_owned())),
        })
    }

    /// Encodes a PLAIN message (RFC 4616).
    pub fn to_plain(&self) -> Vec<u8> {
        mail_sasl::plain_encode(self.authzid.as_deref(), &self.user, self.password.expose())
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
