//! The vocabulary of the storage API: names, UIDs, modseqs, flags and sets of UIDs.
//!
//! Every type validates on construction, so a value that exists is a valid one.

use std::{
    cmp::Ordering,
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

macro_rules! nonzero_newtype {
    ($(#[$m:meta])* $name:ident, $int:ty, $what:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name($int);

        impl $name {
            /// The smallest value, 1.
            pub const MIN: Self = Self(1);

            /// The value, or `None` for zero (which the protocols reserve).
            pub const fn new(v: $int) -> Option<Self> {
                if v == 0 { None } else { Some(Self(v)) }
            }

            /// The value as an integer.
            pub const fn get(self) -> $int {
                self.0
            }
        }

        impl TryFrom<$int> for $name {
            type Error = StoreError;

            fn try_from(v: $int) -> Result<Self, StoreError> {
                Self::new(v).ok_or(StoreError::InvalidArgument(concat!($what, " must not be zero")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

nonzero_newtype!(
    /// A message's unique identifier within one UIDVALIDITY of a mailbox (never zero).
    Uid, u32, "UID"
);
nonzero_newtype!(
    /// A mailbox's UIDVALIDITY (never zero). For a given mailbox name it only ever grows.
    UidValidity, u32, "UIDVALIDITY"
);
nonzero_newtype!(
    /// A modification sequence number (RFC 7162), never zero.
    ModSeq, u64, "MODSEQ"
);

/// A set of UIDs as sorted, disjoint, inclusive ranges (`1:4,7,9:*`).
///
/// `*` is written as [`u32::MAX`]: a range `n:*` is `n..=u32::MAX` and matches every UID from
/// `n` on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UidSet {
    ranges: Vec<(u32, u32)>,
}

impl UidSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every UID (`1:*`).
    pub fn all() -> Self {
        Self {
            ranges: vec![(1, u32::MAX)],
        }
    }

    /// One UID.
    pub fn single(uid: Uid) -> Self {
        Self {
            ranges: vec![(uid.get(), uid.get())],
        }
    }

    /// An inclusive range; the bounds may come in either order (IMAP allows `4:2`).
    pub fn range(a: Uid, b: Uid) -> Self {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        Self {
            ranges: vec![(lo.get(), hi.get())],
        }
    }

    /// Adds an inclusive range, keeping the ranges sorted and merged.
    pub fn insert_range(&mut self, a: Uid, b: Uid) {
        let (lo, hi) = if a <= b {
            (a.get(), b.get())
        } else {
            (b.get(), a.get())
        };
        self.ranges.push((lo, hi));
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.ranges = merged;
    }

    /// Adds one UID.
    pub fn insert(&mut self, uid: Uid) {
        self.insert_range(uid, uid);
    }

    /// Whether `uid` is in the set.
    pub fn contains(&self, uid: Uid) -> bool {
        let u = uid.get();
        let i = self.ranges.partition_point(|&(_, hi)| hi < u);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= u)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges, sorted and disjoint.
    pub fn ranges(&self) -> impl Iterator<Item = (Uid, Uid)> + '_ {
        self.ranges
            .iter()
            .filter_map(|&(lo, hi)| Some((Uid::new(lo)?, Uid::new(hi)?)))
    }
}

impl FromIterator<Uid> for UidSet {
    fn from_iter<I: IntoIterator<Item = Uid>>(iter: I) -> Self {
        let mut v: Vec<u32> = iter.into_iter().map(Uid::get).collect();
        v.sort_unstable();
        v.dedup();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for u in v {
            match ranges.last_mut() {
                Some(last) if last.1 + 1 == u => last.1 = u,
                _ => ranges.push((u, u)),
            }
        }
        Self { ranges }
    }
}

/// The five system flags a store keeps (`\Recent` is a session property, see
/// [`Status::recent`](crate::Status::recent)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
}

impl Flag {
    /// All system flags.
    pub const ALL: [Flag; 5] = [
        Flag::Seen,
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Draft,
    ];

    const fn bit(self) -> u8 {
        match self {
            Flag::Seen => 1,
            Flag::Answered => 2,
            Flag::Flagged => 4,
            Flag::Deleted => 8,
            Flag::Draft => 16,
        }
    }

    /// The IMAP spelling, with the backslash.
    pub const fn as_str(self) -> &'static str {
        match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
        }
    }

    /// Parses the IMAP spelling (case-insensitive).
    pub fn from_name(s: &str) -> Option<Self> {
        Flag::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
    }
}

/// A keyword (user flag): an IMAP atom without `\`, at most 200 bytes. Keywords compare
/// case-insensitively (RFC 3501 §2.3.2) and keep the spelling they were first given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Keyword(String);

impl Keyword {
    /// `$Forwarded` (RFC 5550), stored as the Maildir `P` flag.
    pub const FORWARDED: &'static str = "$Forwarded";

    /// The keyword as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Keyword {
    type Error = StoreError;

    fn try_from(s: &str) -> Result<Self, StoreError> {
        if s.is_empty() || s.len() > 200 {
            return Err(StoreError::InvalidName("keyword must be 1-200 bytes"));
        }
        // atom-char minus the list-wildcards and resp-specials, and no '\' (system flags).
        let bad = |b: u8| {
            b <= b' '
                || b >= 0x7f
                || matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        };
        if s.bytes().any(bad) {
            return Err(StoreError::InvalidName(
                "keyword must be an IMAP atom without '\\'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for Keyword {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, StoreError> {
        Keyword::try_from(s.as_str())
    }
}

impl From<Keyword> for String {
    fn from(k: Keyword) -> String {
        k.0
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Keyword {}
impl PartialOrd for Keyword {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Keyword {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .bytes()
            .map(|b| b.to_ascii_lowercase())
            .cmp(other.0.bytes().map(|b| b.to_ascii_lowercase()))
    }
}
impl std::hash::Hash for Keyword {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

/// A message's flags: the system flags and a sorted set of keywords.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flags {
    #[serde(rename = "s")]
    bits: u8,
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    keywords: Vec<Keyword>,
}

impl Flags {
    /// No flags.
    pub fn new() -> Self {
        Self::default()
    }

    /// These flags plus `flag`.
    #[must_use]
    pub fn with(mut self, flag: Flag) -> Self {
        self.insert(flag);
        self
    }

    /// These flags plus `keyword`.
    #[must_use]
    pub fn with_keyword(mut self, keyword: Keyword) -> Self {
        self.insert_keyword(keyword);
        self
    }

    /// Sets a system flag.
    pub fn insert(&mut self, flag: Flag) {
        self.bits |= flag.bit();
    }

    /// Clears a system flag.
    pub fn remove(&mut self, flag: Flag) {
        self.bits &= !flag.bit();
    }

    /// Adds a keyword (no-op if present in any case).
    pub fn insert_keyword(&mut self, keyword: Keyword) {
        if let Err(i) = self.keywords.binary_search(&keyword) {
            self.keywords.insert(i, keyword);
        }
    }

    /// Removes a keyword (case-insensitive).
    pub fn remove_keyword(&mut self, keyword: &Keyword) {
        if let Ok(i) = self.keywords.binary_search(keyword) {
            self.keywords.remove(i);
        }
    }

    /// Whether the system flag is set.
    pub fn contains(&self, flag: Flag) -> bool {
        self.bits & flag.bit() != 0
    }

    /// Whether the keyword is set (case-insensitive).
    pub fn has_keyword(&self, keyword: &str) -> bool {
        Keyword::try_from(keyword).is_ok_and(|k| self.keywords.binary_search(&k).is_ok())
    }

    /// The system flags that are set, in [`Flag::ALL`] order.
    pub fn system(&self) -> impl Iterator<Item = Flag> + '_ {
        Flag::ALL.into_iter().filter(|f| self.contains(*f))
    }

    /// The keywords, sorted case-insensitively.
    pub fn keywords(&self) -> &[Keyword] {
        &self.keywords
    }

    /// Whether no flag and no keyword is set.
    pub fn is_empty(&self) -> bool {
        self.bits == 0 && self.keywords.is_empty()
    }

    /// Applies a STORE operation, returning the result.
    #[must_use]
    pub fn apply(&self, op: &FlagOp) -> Flags {
        match op {
            FlagOp::Replace(f) => f.clone(),
            FlagOp::Add(f) => {
                let mut out = self.clone();
                out.bits |= f.bits;
                for k in &f.keywords {
                    out.insert_keyword(k.clone());
                }
                out
            }
            FlagOp::Remove(f) => {
                let mut out = self.clone();
                out.bits &= !f.bits;
                for k in &f.keywords {
                    out.remove_keyword(k);
                }
                out
            }
        }
    }
}

impl fmt::Display for Flags {
    /// The IMAP flag list without parentheses: `\Seen \Flagged $Label1`.
    #[allow(clippy::redundant_closure_for_method_calls)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self
            .system()
            .map(|f| f.as_str())
            .chain(self.keywords.iter().map(|k| k.as_str()))
        {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(s)?;
        }
        Ok(())
    }
}

/// A STORE operation (`+FLAGS`, `-FLAGS`, `FLAGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagOp {
    /// Add these flags.
    Add(Flags),
    /// Remove these flags.
    Remove(Flags),
    /// Replace all flags with these.
    Replace(Flags),
}

/// A special-use role (RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpecialUse {
    /// `\All`
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
}

impl SpecialUse {
    /// Every role.
    pub const ALL: [SpecialUse; 7] = [
        SpecialUse::All,
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Flagged,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
    ];

    /// The attribute as IMAP spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// Parses the attribute (case-insensitive, with the backslash).
    pub fn from_name(s: &str) -> Option<Self> {
        SpecialUse::ALL
            .into_iter()
            .find(|u| u.as_str().eq_ignore_ascii_case(s))
    }
}

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

    fn u(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    #[test]
    fn uid_set_merges_and_contains() {
        let mut s = UidSet::new();
        s.insert_range(u(5), u(3));
        s.insert(u(6));
        s.insert(u(10));
        assert_eq!(
            s.ranges()
                .map(|(a, b)| (a.get(), b.get()))
                .collect::<Vec<_>>(),
            vec![(3, 6), (10, 10)]
        );
        assert!(s.contains(u(4)) && s.contains(u(10)) && !s.contains(u(7)) && !s.contains(u(2)));
        assert!(UidSet::all().contains(u(u32::MAX)));
        let c: UidSet = [u(1), u(2), u(4)].into_iter().collect();
        assert_eq!(c.ranges().count(), 2);
    }

    #[test]
    fn keyword_rules() {
        assert!(Keyword::try_from("$Label1").is_ok());
        assert!(Keyword::try_from("\\Seen").is_err());
        assert!(Keyword::try_from("a b").is_err());
        assert!(Keyword::try_from("").is_err());
        assert_eq!(
            Keyword::try_from("Work").unwrap(),
            Keyword::try_from("wORK").unwrap()
        );
    }

    #[test]
    fn flag_ops() {
        let k = Keyword::try_from("x").unwrap();
        let f = Flags::new().with(Flag::Seen).with_keyword(k.clone());
        let g = f.apply(&FlagOp::Add(Flags::new().with(Flag::Flagged)));
        assert!(g.contains(Flag::Seen) && g.contains(Flag::Flagged) && g.has_keyword("X"));
        let h = g.apply(&FlagOp::Remove(
            Flags::new().with(Flag::Seen).with_keyword(k),
        ));
        assert_eq!(h, Flags::new().with(Flag::Flagged));
        assert_eq!(g.to_string(), "\\Seen \\Flagged x");
    }

    #[test]
    fn account_names() {
        assert!(AccountName::try_from("alice").is_ok());
        assert!(AccountName::try_from(".x").is_err());
        assert!(AccountName::try_from("a/b").is_err());
        assert!(AccountName::try_from("").is_err());
    }
}
