//! STATUS attributes (RFC 9051 §6.3.11, with the extensions' additions), shared by the STATUS
//! command and the STATUS response.

use std::fmt;

/// `status-att`: what a STATUS command asks for, and what a STATUS response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusAttr {
    /// `MESSAGES`: the number of messages.
    Messages,
    /// `UIDNEXT`: the next UID.
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`: messages without `\Seen`.
    Unseen,
    /// `DELETED`: messages with `\Deleted` (IMAP4rev2).
    Deleted,
    /// `SIZE`: the total size in octets (RFC 8438, IMAP4rev2).
    Size,
    /// `RECENT` (IMAP4rev1 only).
    Recent,
    /// `HIGHESTMODSEQ` (RFC 7162 CONDSTORE).
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889).
    AppendLimit,
    /// `MAILBOXID` (RFC 8474 OBJECTID).
    MailboxId,
    /// `DELETED-STORAGE` (RFC 9208 QUOTA).
    DeletedStorage,
}

const NAMES: &[(&str, StatusAttr)] = &[
    ("MESSAGES", StatusAttr::Messages),
    ("UIDNEXT", StatusAttr::UidNext),
    ("UIDVALIDITY", StatusAttr::UidValidity),
    ("UNSEEN", StatusAttr::Unseen),
    ("DELETED", StatusAttr::Deleted),
    ("SIZE", StatusAttr::Size),
    ("RECENT", StatusAttr::Recent),
    ("HIGHESTMODSEQ", StatusAttr::HighestModSeq),
    ("APPENDLIMIT", StatusAttr::AppendLimit),
    ("MAILBOXID", StatusAttr::MailboxId),
    ("DELETED-STORAGE", StatusAttr::DeletedStorage),
];

impl StatusAttr {
    /// Every attribute, in the order above.
    pub const ALL: [StatusAttr; 11] = [
        Self::Messages,
        Self::UidNext,
        Self::UidValidity,
        Self::Unseen,
        Self::Deleted,
        Self::Size,
        Self::Recent,
        Self::HighestModSeq,
        Self::AppendLimit,
        Self::MailboxId,
        Self::DeletedStorage,
    ];

    /// The name on the wire, upper case.
    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("", |(n, _)| n)
    }

    /// The attribute with this name, case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        NAMES
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, a)| *a)
    }
}

impl fmt::Display for StatusAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in StatusAttr::ALL {
            assert_eq!(StatusAttr::from_name(a.as_str().as_bytes()), Some(a));
            assert_eq!(
                StatusAttr::from_name(a.as_str().to_ascii_lowercase().as_bytes()),
                Some(a)
            );
        }
        assert_eq!(StatusAttr::from_name(b"BOGUS"), None);
    }
}
