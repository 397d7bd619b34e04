//! Who is calling: the account, and the session that change events skip.

use std::{
    fmt,
    sync::atomic::{AtomicU64, Ordering as AtomicOrdering},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// An account (user) name: 1–255 bytes of UTF-8 without control characters or `/`, not
/// starting with `.` (it names a directory in the Maildir backend).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountName(String);

impl AccountName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for AccountName {
    type Error = StoreError;

    fn try_from(s: &str) -> Result<Self, StoreError> {
        if s.is_empty() || s.len() > 255 {
            return Err(StoreError::InvalidName("account name must be 1-255 bytes"));
        }
        if s.starts_with('.') || s.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
            return Err(StoreError::InvalidName(
                "account name has a control character, '/', '\\' or a leading '.'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one session (an IMAP connection, a POP3 connection, a delivery) so that change
/// events are not echoed to the session that caused them. Unique across processes in
/// practice: it mixes the process id, the start time and a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(u64);

impl SessionId {
    /// Changes found on disk that no session of ours made (another program wrote the
    /// Maildir).
    pub const EXTERNAL: SessionId = SessionId(0);

    /// A new, unique id.
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let base = *BASE.get_or_init(|| {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() ^ (u64::from(d.subsec_nanos()) << 20));
            (u64::from(std::process::id()) << 40) ^ (t << 16)
        });
        let n = COUNTER.fetch_add(1, AtomicOrdering::Relaxed);
        SessionId((base.wrapping_add(n)).max(1))
    }

    /// The raw value (for a wire format such as a NOTIFY payload).
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Rebuilds an id from [`get`](Self::get).
    pub const fn from_raw(v: u64) -> Self {
        SessionId(v)
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

/// Who is calling: the account every call acts on, and the session id that change
/// notifications use to skip their origin. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    account: AccountName,
    id: SessionId,
}

impl Session {
    /// A new session of `account` with a fresh id.
    pub fn new(account: AccountName) -> Self {
        Self {
            account,
            id: SessionId::new(),
        }
    }

    /// The account.
    pub fn account(&self) -> &AccountName {
        &self.account
    }

    /// The session id.
    pub fn id(&self) -> SessionId {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names() {
        assert!(AccountName::try_from("alice").is_ok());
        assert!(AccountName::try_from(".x").is_err());
        assert!(AccountName::try_from("a/b").is_err());
        assert!(AccountName::try_from("").is_err());
    }
}
