//! Response codes: the bracketed `[CODE ...]` that may open the text of a status response or
//! a continuation request (RFC 9051 §7.1 and the extensions).
//!
//! ```text
//! resp-text      = ["[" resp-text-code "]" SP] [text]
//! resp-text-code = "ALERT" / "BADCHARSET" [SP "(" charset *(SP charset) ")" ] /
//!                  capability-data / "PARSE" / "PERMANENTFLAGS" SP "(" [flag-perm *(SP flag-perm)] ")" /
//!                  "READ-ONLY" / "READ-WRITE" / "TRYCREATE" / "UIDNEXT" SP nz-number /
//!                  "UIDVALIDITY" SP nz-number / resp-code-apnd / resp-code-copy / "UIDNOTSTICKY" /
//!                  "UNAVAILABLE" / "AUTHENTICATIONFAILED" / "AUTHORIZATIONFAILED" / "EXPIRED" /
//!                  "PRIVACYREQUIRED" / "CONTACTADMIN" / "NOPERM" / "INUSE" / "EXPUNGEISSUED" /
//!                  "CORRUPTION" / "SERVERBUG" / "CLIENTBUG" / "CANNOT" / "LIMIT" / "OVERQUOTA" /
//!                  "ALREADYEXISTS" / "NONEXISTENT" / "NOTSAVED" / "HASCHILDREN" / "CLOSED" /
//!                  "UNKNOWN-CTE" / "NOTIFICATIONOVERFLOW" / unsupported-events-code /
//!                  atom [SP 1*<any TEXT-CHAR except "]">]
//! unsupported-events-code = "BADEVENT" SP "(" event *(SP event) ")"   ; RFC 5465
//! ```

use std::borrow::Cow;

use super::{
    InvalidInput,
    capability::Capability,
    core::{AString, Atom, Tag},
    flag::Flag,
    notify::NotifyEvent,
    objectid::ObjectId,
    sequence::SequenceSet,
};

/// One response code.
///
/// Codes are recognized case-insensitively and encoded in upper case. A code this crate does
/// not know, or a known name whose arguments do not parse, is kept as [`ResponseCode::Other`]
/// (the ABNF's catch-all `atom [SP 1*<any TEXT-CHAR except "]">]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseCode<'a> {
    /// `ALERT`: show the text to the user.
    Alert,
    /// `ALREADYEXISTS` (RFC 5530)
    AlreadyExists,
    /// `APPENDUID uidvalidity uid-set` (RFC 4315; a set after MULTIAPPEND)
    AppendUid {
        /// The destination mailbox's UIDVALIDITY.
        uid_validity: u32,
        /// The UIDs of the appended messages (never `*` or `$`).
        uids: SequenceSet,
    },
    /// `AUTHENTICATIONFAILED` (RFC 5530)
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED` (RFC 5530)
    AuthorizationFailed,
    /// `BADCHARSET [(charset ...)]`; `charset = atom / quoted`
    BadCharset(Vec<AString<'a>>),
    /// `BADEVENT (event ...)` (RFC 5465): the events the server supports, after a NOTIFY
    /// asking for others; never empty.
    BadEvent(Vec<NotifyEvent<'a>>),
    /// `CANNOT` (RFC 5530)
    Cannot,
    /// `CAPABILITY cap ...`
    Capability(Vec<Capability<'a>>),
    /// `CLIENTBUG` (RFC 5530)
    ClientBug,
    /// `CLOSED` (RFC 7162 QRESYNC)
    Closed,
    /// `COMPRESSIONACTIVE` (RFC 4978)
    CompressionActive,
    /// `CONTACTADMIN` (RFC 5530)
    ContactAdmin,
    /// `COPYUID uidvalidity source-uids destination-uids` (RFC 4315)
    CopyUid {
        /// The destination mailbox's UIDVALIDITY.
        uid_validity: u32,
        /// UIDs in the source mailbox.
        source: SequenceSet,
        /// The UIDs they got in the destination, in the same order.
        destination: SequenceSet,
    },
    /// `CORRUPTION` (RFC 5530)
    Corruption,
    /// `EXPIRED` (RFC 5530)
    Expired,
    /// `EXPUNGEISSUED` (RFC 5530)
    ExpungeIssued,
    /// `HASCHILDREN` (RFC 9051)
    HasChildren,
    /// `HIGHESTMODSEQ n` (RFC 7162 CONDSTORE)
    HighestModSeq(u64),
    /// `INUSE` (RFC 5530)
    InUse,
    /// `LIMIT` (RFC 5530)
    Limit,
    /// `MAILBOXID (objectid)` (RFC 8474)
    MailboxId(ObjectId<'a>),
    /// `METADATA ...` (RFC 5464)
    Metadata(MetadataCode),
    /// `MODIFIED sequence-set` (RFC 7162): messages not stored because they changed.
    Modified(SequenceSet),
    /// `NOMODSEQ` (RFC 7162)
    NoModSeq,
    /// `NOUPDATE quoted` (RFC 5267 §4.3.1): the tag of a SEARCH or SORT whose UPDATE the
    /// server will not honour.
    NoUpdate(Tag<'a>),
    /// `NONEXISTENT` (RFC 5530)
    NonExistent,
    /// `NOPERM` (RFC 5530)
    NoPerm,
    /// `NOTIFICATIONOVERFLOW` (RFC 5465): the server stopped NOTIFY, too much to tell.
    NotificationOverflow,
    /// `NOTSAVED` (RFC 5182 SEARCHRES)
    NotSaved,
    /// `OVERQUOTA` (RFC 5530)
    OverQuota,
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (flag-perm ...)`; `\*` is [`Flag::Wildcard`].
    PermanentFlags(Vec<Flag<'a>>),
    /// `PRIVACYREQUIRED` (RFC 5530)
    PrivacyRequired,
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `SERVERBUG` (RFC 5530)
    ServerBug,
    /// `TOOBIG` (RFC 4469, RFC 7889 APPENDLIMIT)
    TooBig,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT nz-number`
    UidNext(u32),
    /// `UIDNOTSTICKY` (RFC 4315)
    UidNotSticky,
    /// `UIDVALIDITY nz-number`
    UidValidity(u32),
    /// `UNAVAILABLE` (RFC 5530)
    Unavailable,
    /// `UNKNOWN-CTE` (RFC 3516 BINARY)
    UnknownCte,
    /// `UNSEEN nz-number` (IMAP4rev1 only)
    Unseen(u32),
    /// `URLMECH SP "INTERNAL" *(SP mechanism ["=" base64])` (RFC 4467): the URLAUTH
    /// mechanisms for the selected mailbox. `INTERNAL` is always there and not in the list;
    /// the list holds the others, with their base64 parameters.
    UrlMech(Vec<(Atom<'a>, Option<Cow<'a, str>>)>),
    /// `USEATTR` (RFC 6154)
    UseAttr,
    /// Any other code: `atom [SP 1*<any TEXT-CHAR except "]">]`.
    Other {
        /// The code's name, as received.
        name: Atom<'a>,
        /// What follows the name, without the separating SP.
        text: Option<Cow<'a, str>>,
    },
}

/// The `METADATA` response code arguments (RFC 5464 §4.2, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataCode {
    /// `LONGENTRIES n`: entries longer than the client's MAXSIZE were left out; `n` is the
    /// longest.
    LongEntries(u32),
    /// `MAXSIZE n`: the largest value the server accepts.
    MaxSize(u32),
    /// `TOOMANY`: too many annotations.
    TooMany,
    /// `NOPRIVATE`: private annotations are not supported.
    NoPrivate,
}

/// The codes without arguments, with their canonical names.
pub(crate) const SIMPLE_CODES: &[(&str, ResponseCode<'static>)] = &[
    ("ALERT", ResponseCode::Alert),
    ("ALREADYEXISTS", ResponseCode::AlreadyExists),
    ("AUTHENTICATIONFAILED", ResponseCode::AuthenticationFailed),
    ("AUTHORIZATIONFAILED", ResponseCode::AuthorizationFailed),
    ("CANNOT", ResponseCode::Cannot),
    ("CLIENTBUG", ResponseCode::ClientBug),
    ("CLOSED", ResponseCode::Closed),
    ("COMPRESSIONACTIVE", ResponseCode::CompressionActive),
    ("CONTACTADMIN", ResponseCode::ContactAdmin),
    ("CORRUPTION", ResponseCode::Corruption),
    ("EXPIRED", ResponseCode::Expired),
    ("EXPUNGEISSUED", ResponseCode::ExpungeIssued),
    ("HASCHILDREN", ResponseCode::HasChildren),
    ("INUSE", ResponseCode::InUse),
    ("LIMIT", ResponseCode::Limit),
    ("NOMODSEQ", ResponseCode::NoModSeq),
    ("NONEXISTENT", ResponseCode::NonExistent),
    ("NOPERM", ResponseCode::NoPerm),
    ("NOTIFICATIONOVERFLOW", ResponseCode::NotificationOverflow),
    ("NOTSAVED", ResponseCode::NotSaved),
    ("OVERQUOTA", ResponseCode::OverQuota),
    ("PARSE", ResponseCode::Parse),
    ("PRIVACYREQUIRED", ResponseCode::PrivacyRequired),
    ("READ-ONLY", ResponseCode::ReadOnly),
    ("READ-WRITE", ResponseCode::ReadWrite),
    ("SERVERBUG", ResponseCode::ServerBug),
    ("TOOBIG", ResponseCode::TooBig),
    ("TRYCREATE", ResponseCode::TryCreate),
    ("UIDNOTSTICKY", ResponseCode::UidNotSticky),
    ("UNAVAILABLE", ResponseCode::Unavailable),
    ("UNKNOWN-CTE", ResponseCode::UnknownCte),
    ("USEATTR", ResponseCode::UseAttr),
];

/// The names of the codes that take arguments.
pub(crate) const CODES_WITH_ARGS: &[&str] = &[
    "APPENDUID",
    "BADCHARSET",
    "BADEVENT",
    "CAPABILITY",
    "COPYUID",
    "HIGHESTMODSEQ",
    "MAILBOXID",
    "METADATA",
    "MODIFIED",
    "NOUPDATE",
    "PERMANENTFLAGS",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "URLMECH",
];

/// Whether `name` is a code this crate knows (case-insensitively).
pub fn is_known_code(name: &str) -> bool {
    SIMPLE_CODES
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(name))
        || CODES_WITH_ARGS.iter().any(|n| n.eq_ignore_ascii_case(name))
}

impl<'a> ResponseCode<'a> {
    /// A code this crate does not know. Refuses the names of known codes (build the typed
    /// variant instead) and text that is empty or holds `]`, CR, LF or NUL.
    pub fn other(
        name: impl Into<Cow<'a, str>>,
        text: Option<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        let name = Atom::new(name)?;
        if is_known_code(name.as_str()) {
            return Err(InvalidInput::new(
                "response code",
                "a name that is not a known code",
            ));
        }
        if let Some(t) = &text
            && (t.is_empty() || t.bytes().any(|b| matches!(b, b']' | b'\r' | b'\n' | 0)))
        {
            return Err(InvalidInput::new(
                "response code text",
                "1*<any TEXT-CHAR except \"]\">",
            ));
        }
        Ok(Self::Other { name, text })
    }

    /// The canonical name of a code without arguments.
    pub(crate) fn simple_name(&self) -> Option<&'static str> {
        SIMPLE_CODES
            .iter()
            .find(|(_, c)| c == self)
            .map(|(n, _)| *n)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ResponseCode<'static> {
        match self {
            Self::AppendUid { uid_validity, uids } => {
                ResponseCode::AppendUid { uid_validity, uids }
            }
            Self::BadCharset(c) => {
                ResponseCode::BadCharset(c.into_iter().map(AString::into_owned).collect())
            }
            Self::BadEvent(e) => {
                ResponseCode::BadEvent(e.into_iter().map(NotifyEvent::into_owned).collect())
            }
            Self::Capability(c) => {
                ResponseCode::Capability(c.into_iter().map(Capability::into_owned).collect())
            }
            Self::CopyUid {
                uid_validity,
                source,
                destination,
            } => ResponseCode::CopyUid {
                uid_validity,
                source,
                destination,
            },
            Self::HighestModSeq(n) => ResponseCode::HighestModSeq(n),
            Self::MailboxId(id) => ResponseCode::MailboxId(id.into_owned()),
            Self::Metadata(m) => ResponseCode::Metadata(m),
            Self::Modified(s) => ResponseCode::Modified(s),
            Self::NoUpdate(t) => ResponseCode::NoUpdate(t.into_owned()),
            Self::PermanentFlags(f) => {
                ResponseCode::PermanentFlags(f.into_iter().map(Flag::into_owned).collect())
            }
            Self::UidNext(n) => ResponseCode::UidNext(n),
            Self::UidValidity(n) => ResponseCode::UidValidity(n),
            Self::Unseen(n) => ResponseCode::Unseen(n),
            Self::UrlMech(m) => ResponseCode::UrlMech(
                m.into_iter()
                    .map(|(a, d)| (a.into_owned(), d.map(|d| Cow::Owned(d.into_owned()))))
                    .collect(),
            ),
            Self::Other { name, text } => ResponseCode::Other {
                name: name.into_owned(),
                text: text.map(|t| Cow::Owned(t.into_owned())),
            },
            simple => SIMPLE_CODES
                .iter()
                .find(|(_, c)| *c == simple)
                .map_or(ResponseCode::Alert, |(_, c)| c.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_refuses_known_names_and_bad_text() {
        assert!(ResponseCode::other("X-FOO", None).is_ok());
        assert!(ResponseCode::other("X-FOO", Some("a b".into())).is_ok());
        assert!(ResponseCode::other("alert", None).is_err());
        assert!(ResponseCode::other("UIDNEXT", Some("5".into())).is_err());
        assert!(ResponseCode::other("X", Some("a]".into())).is_err());
        assert!(ResponseCode::other("X", Some(String::new().into())).is_err());
    }

    #[test]
    fn into_owned_keeps_simple_codes() {
        for (_, c) in SIMPLE_CODES {
            assert_eq!(&c.clone().into_owned(), c);
        }
    }
}
