//! The structured answers of STAT, LIST, UIDL (RFC 1939 §5, §7) and LANG (RFC 6856 §3).

use std::{borrow::Cow, fmt};

use super::{InvalidInput, Text, command::MessageNumber, own};
use crate::grammar;

/// A unique-id: `unique-id = 1*70 %x21-7E` (RFC 1939 §7). The server never reuses it for
/// another message of the maildrop. [`Uid::new`] holds to the grammar; one read from a
/// server's UIDL answer may be longer than 70 octets, as some servers send them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid<'a>(Cow<'a, str>);

impl<'a> Uid<'a> {
    /// Longest unique-id, in octets.
    pub const MAX_LEN: usize = 70;

    /// Validates a unique-id.
    pub fn new(uid: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let uid = uid.into();
        if grammar::is_unique_id(&uid) {
            Ok(Self(uid))
        } else {
            Err(InvalidInput::new("unique-id", "1 to 70 of %x21-7E"))
        }
    }

    pub(crate) fn from_parsed(uid: &'a str) -> Self {
        Self(Cow::Borrowed(uid))
    }

    /// The unique-id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The unique-id as a `String`.
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Uid<'static> {
        Uid(own(self.0))
    }
}

impl fmt::Display for Uid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The answer to STAT: `drop-listing = count SP size` (RFC 1939 §5), after `+OK `. Deleted
/// messages are not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropListing {
    /// Messages in the maildrop.
    pub count: u64,
    /// Their total size in octets.
    pub size: u64,
}

/// One message in a LIST answer: `scan-listing = msg SP size` (RFC 1939 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanListing {
    /// The message.
    pub msg: MessageNumber,
    /// Its exact size in octets, with CRLF line ends, before stuffing.
    pub size: u64,
}

/// One message in a UIDL answer: `unique-id-listing = msg SP unique-id` (RFC 1939 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueIdListing<'a> {
    /// The message.
    pub msg: MessageNumber,
    /// Its unique-id.
    pub uid: Uid<'a>,
}

impl UniqueIdListing<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> UniqueIdListing<'static> {
        UniqueIdListing {
            msg: self.msg,
            uid: self.uid.into_owned(),
        }
    }
}

/// One line of the answer to `LANG` without argument (RFC 6856 §3):
/// `language-listing = language-tag SP description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language<'a> {
    tag: Cow<'a, str>,
    description: Text<'a>,
}

impl<'a> Language<'a> {
    /// A language: `tag` is a language tag (RFC 5646: letters, digits and `-`), `description`
    /// its name for humans.
    pub fn new(
        tag: impl Into<Cow<'a, str>>,
        description: impl Into<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        let tag = tag.into();
        if !grammar::is_language_tag(&tag) {
            return Err(InvalidInput::new(
                "language tag",
                "1 to 40 of ALPHA, DIGIT and '-'",
            ));
        }
        Ok(Self {
            tag,
            description: Text::new(description)?,
        })
    }

    pub(crate) fn from_parsed(tag: &'a str, description: &'a str) -> Self {
        Self {
            tag: Cow::Borrowed(tag),
            description: Text::from_parsed(description),
        }
    }

    /// The language tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The description.
    pub fn description(&self) -> &str {
        self.description.as_str()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Language<'static> {
        Language {
            tag: own(self.tag),
            description: self.description.into_owned(),
        }
    }
}
