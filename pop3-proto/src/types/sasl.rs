//! SASL (RFC 5034): mechanism names, secrets that do not leak into logs, base64, and the
//! credentials of a USER/PASS or PLAIN login.

use std::{borrow::Cow, fmt};

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

/// A value that must not appear in logs: passwords, SASL responses. `Debug` prints
/// `<redacted>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself. Keep it out of logs.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Whether `s` is canonical base64 (RFC 4648 §4): groups of four, `=` padding only at the
/// end. The empty string is valid.
///
/// ```text
/// base64      = base64-terminal / ( 1*(4base64-char) [base64-terminal] )
/// base64-char = ALPHA / DIGIT / "+" / "/"
/// ```
pub fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return false;
    }
    b[..b.len() - pad]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// Decodes base64; `None` if `s` is not valid base64.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    if !is_base64(s) {
        return None;
    }
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for group in b.chunks_exact(4) {
        let n = group.iter().fold(0u32, |acc, &c| acc << 6 | value(c));
        let bytes = n.to_be_bytes();
        let keep = 3 - group.iter().filter(|&&c| c == b'=').count();
        out.extend_from_slice(&bytes[1..=keep]);
    }
    Some(out)
}

/// Encodes bytes as base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let mut n = [0u8; 4];
        n[1..=group.len()].copy_from_slice(group);
        let n = u32::from_be_bytes(n);
        for i in 0..4 {
            if i <= group.len() {
                let idx = (n >> (18 - 6 * i)) & 0x3F;
                out.push(char::from(ALPHABET[idx as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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
        let mut parts = message.split(|&b| b == 0);
        let (authzid, authcid, password) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || authcid.is_empty() {
            return None;
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok().map(Cow::Owned);
        Some(Credentials {
            authzid: if authzid.is_empty() {
                None
            } else {
                Some(text(authzid)?)
            },
            user: text(authcid)?,
            password: Secret::new(text(password)?),
        })
    }

    /// Encodes a PLAIN message (RFC 4616).
    pub fn to_plain(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(z) = &self.authzid {
            out.extend_from_slice(z.as_bytes());
        }
        out.push(0);
        out.extend_from_slice(self.user.as_bytes());
        out.push(0);
        out.extend_from_slice(self.password.expose().as_bytes());
        out
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
