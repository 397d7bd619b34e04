//! The SASL pieces the workspace's protocol crates share (RFC 4422, RFC 4616, RFC 4648):
//! mechanism names, a wrapper that keeps secrets out of `Debug` output, canonical base64, and
//! the PLAIN message. One copy here instead of one per protocol.

use std::{borrow::Cow, fmt};

use crate::InvalidInput;

/// A value that must not appear in logs: passwords, SASL responses. `Debug` prints
/// `Secret(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
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
        f.write_str("Secret(<redacted>)")
    }
}

/// A user's credentials: from LOGIN, USER/PASS, or a PLAIN or LOGIN exchange, for a server to
/// check; or what a client logs in with. The same type in SMTP, IMAP and POP3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The identity to act as, if different from `authcid` (PLAIN's authorization identity).
    pub authzid: Option<String>,
    /// The identity whose password is given (the user name).
    pub authcid: String,
    /// The password.
    pub password: Secret<String>,
}

impl Credentials {
    /// A user name and password.
    pub fn new(authcid: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            authzid: None,
            authcid: authcid.into(),
            password: Secret::new(password.into()),
        }
    }

    /// The same credentials, asking to act as `authzid`.
    #[must_use]
    pub fn with_authzid(mut self, authzid: impl Into<String>) -> Self {
        self.authzid = Some(authzid.into());
        self
    }

    /// Decodes a PLAIN message (RFC 4616): `[authzid] NUL authcid NUL passwd`.
    pub fn from_plain(message: &[u8]) -> Option<Self> {
        let (authzid, authcid, password) = plain_decode(message)?;
        Some(Self {
            authzid: authzid.map(str::to_owned),
            authcid: authcid.to_owned(),
            password: Secret::new(password.to_owned()),
        })
    }

    /// Encodes a PLAIN message (RFC 4616).
    pub fn to_plain(&self) -> Vec<u8> {
        plain_encode(
            self.authzid.as_deref(),
            &self.authcid,
            self.password.expose(),
        )
    }
}

/// A SASL mechanism name: `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT /
/// HYPHEN / UNDERSCORE` (RFC 4422 §3.1). Lower case is accepted on input; comparison ignores
/// case.
#[derive(Debug, Clone)]
pub struct Mechanism<'a>(Cow<'a, str>);

impl<'a> Mechanism<'a> {
    /// `PLAIN` (RFC 4616).
    pub const PLAIN: Mechanism<'static> = Mechanism(Cow::Borrowed("PLAIN"));
    /// `LOGIN` (draft-murchison-sasl-login).
    pub const LOGIN: Mechanism<'static> = Mechanism(Cow::Borrowed("LOGIN"));

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

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Mechanism<'static> {
        Mechanism(Cow::Owned(self.0.into_owned()))
    }
}

/// `sasl-mech = 1*20mech-char` (RFC 4422 §3.1), either case.
pub fn is_mechanism(s: &str) -> bool {
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

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Whether `s` is canonical base64 (RFC 4648 §4): groups of four, `=` padding only at the
/// end. The empty string is valid.
///
/// ```text
/// base64      = base64-terminal / ( 1*(4base64-char) [base64-terminal] )
/// base64-char = ALPHA / DIGIT / "+" / "/"
/// ```
pub fn is_base64(s: &str) -> bool {
    is_base64_bytes(s.as_bytes())
}

/// [`is_base64`] for octets that may not be text yet.
pub fn is_base64_bytes(b: &[u8]) -> bool {
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// Decodes base64; `None` if `s` is not canonical base64.
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

/// A PLAIN message (RFC 4616 §2): `[authzid] NUL authcid NUL passwd`, split into its UTF-8
/// parts. `None` if it has not exactly three parts, the authentication identity or the
/// password is empty (`authcid = 1*SAFE`, `passwd = 1*SAFE`), or a part is not UTF-8. An
/// empty authzid is `None`.
pub fn plain_decode(message: &[u8]) -> Option<(Option<&str>, &str, &str)> {
    let mut parts = message.split(|&b| b == 0);
    let (authzid, authcid, passwd) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || authcid.is_empty() || passwd.is_empty() {
        return None;
    }
    let text = |b| std::str::from_utf8(b).ok();
    let authzid = if authzid.is_empty() {
        None
    } else {
        Some(text(authzid)?)
    };
    Some((authzid, text(authcid)?, text(passwd)?))
}

/// Builds a PLAIN message (RFC 4616 §2).
pub fn plain_encode(authzid: Option<&str>, authcid: &str, passwd: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(authcid.len() + passwd.len() + 2);
    out.extend_from_slice(authzid.unwrap_or_default().as_bytes());
    out.push(0);
    out.extend_from_slice(authcid.as_bytes());
    out.push(0);
    out.extend_from_slice(passwd.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names() {
        assert_eq!(
            Mechanism::new("scram-sha-256").unwrap(),
            Mechanism::new("SCRAM-SHA-256").unwrap()
        );
        assert_eq!(Mechanism::new("X").unwrap().as_str(), "X");
        for bad in [
            "",
            "PLAIN LOGIN",
            "A23456789012345678901",
            "GSS.API",
            "\u{e9}",
        ] {
            assert!(Mechanism::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Mechanism::new("A2345678901234567890").map(|m| m.as_str().len()),
            Ok(20)
        );
    }

    #[test]
    fn base64_known_answers() {
        // RFC 4648 §10.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).as_deref(), Some(plain.as_bytes()));
        }
        for bad in ["Zg=", "Zg===", "Z=g=", "Zm9v!A==", "=Zm9"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn plain_messages() {
        assert_eq!(
            plain_decode(b"\0alice\0secret"),
            Some((None, "alice", "secret"))
        );
        assert_eq!(
            plain_decode(b"admin\0alice\0pass word"),
            Some((Some("admin"), "alice", "pass word"))
        );
        assert_eq!(plain_decode(b"\0\0secret"), None);
        assert_eq!(plain_decode(b"\0alice\0secret\0x"), None);
        assert_eq!(plain_decode(b"\0alice"), None);
        // RFC 4616 §2: passwd = 1*SAFE.
        assert_eq!(plain_decode(b"\0alice\0"), None);
        assert_eq!(
            plain_encode(Some("admin"), "alice", "pw"),
            b"admin\0alice\0pw"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret(<redacted>)"
        );
    }
}
