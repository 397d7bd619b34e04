//! Message flags and mailbox attributes.

use std::{borrow::Cow, fmt};

use super::{InvalidInput, core::Atom};

/// A message flag (`flag`, `flag-fetch`, `flag-perm` of RFC 9051 §9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag<'a> {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// `\Recent` (IMAP4rev1 only; never stored by clients)
    Recent,
    /// `\*` in PERMANENTFLAGS: new keywords may be created.
    Wildcard,
    /// `flag-keyword = atom` (including `$Forwarded`, `$MDNSent`, `$Junk`, ...)
    Keyword(Atom<'a>),
    /// `flag-extension = "\" atom`, a backslash flag this crate does not know.
    Extension(Atom<'a>),
}

impl<'a> Flag<'a> {
    /// A keyword flag (no backslash).
    pub fn keyword(name: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        Atom::new(name).map(Self::Keyword)
    }

    /// Parses `\Name` or `keyword` as written (system flags case-insensitively).
    pub fn parse(s: &'a str) -> Result<Self, InvalidInput> {
        match s.strip_prefix('\\') {
            Some("*") => Ok(Self::Wildcard),
            Some(name) => Ok(match name.to_ascii_lowercase().as_str() {
                "answered" => Self::Answered,
                "flagged" => Self::Flagged,
                "deleted" => Self::Deleted,
                "seen" => Self::Seen,
                "draft" => Self::Draft,
                "recent" => Self::Recent,
                _ => Self::Extension(Atom::new(name)?),
            }),
            None => Atom::new(s).map(Self::Keyword),
        }
    }

    /// Whether this is one of the system flags stored with messages.
    pub fn is_system(&self) -> bool {
        matches!(
            self,
            Self::Answered | Self::Flagged | Self::Deleted | Self::Seen | Self::Draft
        )
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Flag<'static> {
        match self {
            Self::Answered => Flag::Answered,
            Self::Flagged => Flag::Flagged,
            Self::Deleted => Flag::Deleted,
            Self::Seen => Flag::Seen,
            Self::Draft => Flag::Draft,
            Self::Recent => Flag::Recent,
            Self::Wildcard => Flag::Wildcard,
            Self::Keyword(a) => Flag::Keyword(a.into_owned()),
            Self::Extension(a) => Flag::Extension(a.into_owned()),
        }
    }
}

impl fmt::Display for Flag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answered => f.write_str("\\Answered"),
            Self::Flagged => f.write_str("\\Flagged"),
            Self::Deleted => f.write_str("\\Deleted"),
            Self::Seen => f.write_str("\\Seen"),
            Self::Draft => f.write_str("\\Draft"),
            Self::Recent => f.write_str("\\Recent"),
            Self::Wildcard => f.write_str("\\*"),
            Self::Keyword(a) => f.write_str(a.as_str()),
            Self::Extension(a) => write!(f, "\\{a}"),
        }
    }
}

/// A mailbox attribute in LIST responses (`mbx-list-flags`, RFC 9051, RFC 6154, RFC 5258).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxAttr<'a> {
    /// `\Noinferiors`
    NoInferiors,
    /// `\Noselect`
    NoSelect,
    /// `\Marked`
    Marked,
    /// `\Unmarked`
    Unmarked,
    /// `\NonExistent`
    NonExistent,
    /// `\Subscribed`
    Subscribed,
    /// `\Remote`
    Remote,
    /// `\HasChildren`
    HasChildren,
    /// `\HasNoChildren`
    HasNoChildren,
    /// `\All` (special use)
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
    /// Any other `"\" atom`, kept.
    Extension(Atom<'a>),
}

const ATTRS: &[(&str, MailboxAttr<'static>)] = &[
    ("Noinferiors", MailboxAttr::NoInferiors),
    ("Noselect", MailboxAttr::NoSelect),
    ("Marked", MailboxAttr::Marked),
    ("Unmarked", MailboxAttr::Unmarked),
    ("NonExistent", MailboxAttr::NonExistent),
    ("Subscribed", MailboxAttr::Subscribed),
    ("Remote", MailboxAttr::Remote),
    ("HasChildren", MailboxAttr::HasChildren),
    ("HasNoChildren", MailboxAttr::HasNoChildren),
    ("All", MailboxAttr::All),
    ("Archive", MailboxAttr::Archive),
    ("Drafts", MailboxAttr::Drafts),
    ("Flagged", MailboxAttr::Flagged),
    ("Junk", MailboxAttr::Junk),
    ("Sent", MailboxAttr::Sent),
    ("Trash", MailboxAttr::Trash),
];

impl<'a> MailboxAttr<'a> {
    /// Parses `\Name` (case-insensitively for the known ones).
    pub fn parse(s: &'a str) -> Result<Self, InvalidInput> {
        let name = s
            .strip_prefix('\\')
            .ok_or(InvalidInput::new("mailbox attribute", "\"\\\" atom"))?;
        for (known, attr) in ATTRS {
            if known.eq_ignore_ascii_case(name) {
                return Ok(attr.clone());
            }
        }
        Atom::new(name).map(Self::Extension)
    }

    /// Whether this is a special-use attribute (RFC 6154).
    pub fn is_special_use(&self) -> bool {
        matches!(
            self,
            Self::All
                | Self::Archive
                | Self::Drafts
                | Self::Flagged
                | Self::Junk
                | Self::Sent
                | Self::Trash
        )
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> MailboxAttr<'static> {
        match self {
            Self::Extension(a) => MailboxAttr::Extension(a.into_owned()),
            other => ATTRS
                .iter()
                .find(|(_, a)| *a == other)
                .map_or(MailboxAttr::NoSelect, |(_, a)| a.clone()),
        }
    }
}

impl fmt::Display for MailboxAttr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Self::Extension(a) = self {
            return write!(f, "\\{a}");
        }
        let name = ATTRS.iter().find(|(_, a)| a == self).map_or("", |(n, _)| n);
        write!(f, "\\{name}")
    }
}
