//! Stored passwords: Argon2 and SHA512-CRYPT hashes, and plaintext the operator gave.

use std::{fmt, io};

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};

use super::Error;

/// A user's password as the server keeps it.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// Plaintext, as an operator gives it on a command line. The only form APOP can use.
    Plain(String),
    /// An Argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    Argon2(String),
    /// A SHA512-CRYPT string (`$6$[rounds=N$]salt$hash`).
    Sha512Crypt(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret, not even a hash (offline guessing).
        f.write_str(match self {
            Self::Plain(_) => "Password::Plain(..)",
            Self::Argon2(_) => "Password::Argon2(..)",
            Self::Sha512Crypt(_) => "Password::Sha512Crypt(..)",
        })
    }
}

impl From<&str> for Password {
    fn from(plain: &str) -> Self {
        Self::Plain(plain.to_owned())
    }
}

impl Password {
    /// A stored hash: `$argon2id$…` (or `$argon2i$`, `$argon2d$`) or `$6$…`, optionally
    /// behind the scheme prefix Dovecot's passwd-files use (`{ARGON2ID}`, `{SHA512-CRYPT}`).
    /// Anything else, plaintext included, is refused: a users file holds hashes only.
    pub fn parse_hash(stored: &str) -> Result<Self, Error> {
        let hash = match stored.strip_prefix('{') {
            Some(rest) => {
                let (scheme, hash) = rest
                    .split_once('}')
                    .ok_or_else(|| Error::new("unterminated {SCHEME} prefix"))?;
                let expected = match scheme.to_ascii_uppercase().as_str() {
                    "ARGON2ID" | "ARGON2I" | "ARGON2D" | "ARGON2" => "$argon2",
                    "SHA512-CRYPT" => "$6$",
                    other => return Err(Error::new(format!("unsupported scheme {{{other}}}"))),
                };
                if !hash.starts_with(expected) {
                    return Err(Error::new(format!(
                        "{{{scheme}}} but the hash does not start with {expected}"
                    )));
                }
                hash
            }
            None => stored,
        };
        if hash.starts_with("$argon2") {
            PasswordHash::new(hash).map_err(|e| Error::new(format!("bad Argon2 hash: {e}")))?;
            Ok(Self::Argon2(hash.to_owned()))
        } else if let Some(rest) = hash.strip_prefix("$6$") {
            // salt$hash, or rounds=N$salt$hash; the hash is 86 characters of crypt base64.
            let digest = rest.rsplit('$').next().unwrap_or_default();
            let well_formed = rest.contains('$')
                && digest.len() == 86
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
            if !well_formed {
                return Err(Error::new(
                    "bad SHA512-CRYPT hash: expected $6$[rounds=N$]salt$<86 characters>",
                ));
            }
            Ok(Self::Sha512Crypt(hash.to_owned()))
        } else {
            Err(Error::new(
                "not a password hash: expected $argon2id$… or $6$…",
            ))
        }
    }

    /// Whether `candidate` is this password. Hash checks cost milliseconds on purpose: call it
    /// off the async workers (as [`Authenticator`](crate::auth::Authenticator) does).
    pub fn verify(&self, candidate: &str) -> bool {
        match self {
            Self::Plain(known) => {
                // Compare every octet so the time taken does not tell where a guess went wrong.
                known.len() == candidate.len()
                    && known
                        .bytes()
                        .zip(candidate.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }
            Self::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &hash)
                    .is_ok()
            }),
            Self::Sha512Crypt(hash) => sha_crypt::sha512_check(candidate, hash).is_ok(),
        }
    }

    /// The secret itself, which only a plaintext password has (APOP needs it).
    pub fn plaintext(&self) -> Option<&str> {
        match self {
            Self::Plain(p) => Some(p),
            Self::Argon2(_) | Self::Sha512Crypt(_) => None,
        }
    }
}

/// An Argon2id hash of `password` with the crate's default (OWASP-recommended) parameters
/// and a random salt from the operating system, as a PHC string for a users file.
pub fn hash_password(password: &str) -> io::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(io::Error::from)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| io::Error::other(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        let p = Password::parse_hash(&phc).unwrap();
        assert!(matches!(p, Password::Argon2(_)));
        assert!(p.verify("correct horse"));
        assert!(!p.verify("correct hors"));
        assert!(!p.verify(""));
        assert_eq!(p.plaintext(), None);
        // A salt is drawn each time.
        assert_ne!(phc, hash_password("correct horse").unwrap());
    }

    #[test]
    fn sha512_crypt_known_answer() {
        // The first example of the SHA-crypt specification (Drepper), "Hello world!".
        let h = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        let p = Password::parse_hash(h).unwrap();
        assert!(p.verify("Hello world!"));
        assert!(!p.verify("Hello world"));
        let prefixed = Password::parse_hash(&format!("{{SHA512-CRYPT}}{h}")).unwrap();
        assert_eq!(prefixed, p);
    }

    #[test]
    fn plaintext_compares_whole() {
        let p = Password::from("pw");
        assert!(p.verify("pw"));
        assert!(!p.verify("pw2") && !p.verify("p") && !p.verify("PW"));
        assert_eq!(p.plaintext(), Some("pw"));
        assert_eq!(format!("{p:?}"), "Password::Plain(..)");
    }
}
