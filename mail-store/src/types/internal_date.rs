//! A message's internal date.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A message's internal date: seconds since the Unix epoch and the zone offset it was given
/// in (IMAP shows `INTERNALDATE` with a zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InternalDate {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[serde(rename = "t")]
    pub timestamp: i64,
    /// The zone offset in minutes east of UTC.
    #[serde(rename = "z", default)]
    pub offset_minutes: i16,
}

impl InternalDate {
    /// A date in UTC.
    pub const fn from_timestamp(timestamp: i64) -> Self {
        Self {
            timestamp,
            offset_minutes: 0,
        }
    }

    /// The current time, in UTC.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a `SystemTime` (UTC).
    pub fn from_system_time(t: SystemTime) -> Self {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Self::from_timestamp(secs)
    }

    /// As a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        if self.timestamp >= 0 {
            UNIX_EPOCH + std::time::Duration::from_secs(self.timestamp.unsigned_abs())
        } else {
            UNIX_EPOCH - std::time::Duration::from_secs(self.timestamp.unsigned_abs())
        }
    }
}
