//! Flags: the system flags, keywords, a message's set of both, and STORE operations.

use std::{cmp::Ordering, fmt};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
