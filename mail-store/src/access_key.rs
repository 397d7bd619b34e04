//! URLAUTH access keys (RFC 4467 §7): the secret of one mailbox that the `INTERNAL`
//! mechanism's tokens are computed with. A key is made on the first GENURLAUTH of a mailbox
//! and forgotten by RESETKEY, which invalidates every URL authorized with it; it goes with
//! its mailbox when that is deleted.

use std::{fmt, io};

use crate::error::{Result, StoreError};

/// A mailbox's URLAUTH access key: 256 random bits (RFC 4467 §7 asks for at least 128).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey([u8; AccessKey::LEN]);

impl AccessKey {
    /// The key's length in octets.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<Self> {
        let mut key = [0; Self::LEN];
        getrandom::fill(&mut key).map_err(|e| StoreError::Io(io::Error::from(e)))?;
        Ok(Self(key))
    }

    /// A key from its octets; `None` unless there are [`LEN`](Self::LEN) of them.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The key's octets.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The key in lower-case hexadecimal (how the Maildir backend keeps it).
    pub(crate) fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.0
            .iter()
            .flat_map(|&b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
            .map(char::from)
            .collect()
    }

    /// A key from [`to_hex`](Self::to_hex)'s form.
    pub(crate) fn from_hex(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.len() != Self::LEN * 2 {
            return None;
        }
        let mut key = [0; Self::LEN];
        for (k, pair) in key.iter_mut().zip(s.chunks(2)) {
            let digit = |c: u8| char::from(c).to_digit(16);
            *k = u8::try_from(digit(pair[0])? << 4 | digit(pair[1])?).ok()?;
        }
        Some(Self(key))
    }
}

/// Never shows the key.
impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_hex_round_trips_and_debug_hides_them() {
        let a = AccessKey::random().unwrap();
        let b = AccessKey::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(AccessKey::from_hex(&a.to_hex()), Some(a.clone()));
        assert_eq!(a.to_hex().len(), 64);
        assert_eq!(format!("{a:?}"), "AccessKey(..)");
        assert_eq!(AccessKey::from_hex(&a.to_hex()[1..]), None);
        assert_eq!(AccessKey::from_hex(&"g".repeat(64)), None);
        assert_eq!(AccessKey::from_bytes(&[1; 31]), None);
        assert_eq!(
            AccessKey::from_bytes(a.as_bytes()).map(|k| k.to_hex()),
            Some(a.to_hex())
        );
    }
}
