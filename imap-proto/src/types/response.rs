//! Responses (RFC 9051 §7, RFC 3501 §7, and the extensions): status responses, server data
//! and continuation requests.
//!
//! ```text
//! response         = *(continue-req / response-data) response-done
//! response-data    = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data /
//!                    capability-data / enable-data) CRLF
//! response-tagged  = tag SP resp-cond-state CRLF
//! resp-cond-state  = ("OK" / "NO" / "BAD") SP resp-text
//! resp-cond-bye    = "BYE" SP resp-text
//! resp-cond-auth   = ("OK" / "PREAUTH") SP resp-text
//! greeting         = "*" SP (resp-cond-auth / resp-cond-bye) CRLF
//! continue-req     = "+" SP (resp-text / base64) CRLF
//! ```

use super::{
    capability::Capability,
    core::{AString, IString, NString, Tag, Text},
    fetch::FetchItem,
    flag::Flag,
    mailbox::Mailbox,
    response_code::ResponseCode,
    response_data::{
        ESearch, ListData, MetadataEntries, Namespaces, QuotaResource, SearchResult, StatusItem,
        Thread,
    },
    sequence::SequenceSet,
};

/// One response: a line, or lines joined by literals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response<'a> {
    /// A status response, tagged or untagged.
    Status(Status<'a>),
    /// Untagged server data (`* ...`).
    Data(Data<'a>),
    /// A continuation request (`+ ...`).
    Continue(Continue<'a>),
}

/// The condition of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
    /// `PREAUTH` (untagged, greeting only)
    PreAuth,
    /// `BYE` (untagged)
    Bye,
}

impl StatusKind {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::No => "NO",
            Self::Bad => "BAD",
            Self::PreAuth => "PREAUTH",
            Self::Bye => "BYE",
        }
    }
}

/// A status response: `tag OK/NO/BAD resp-text` or `* OK/NO/BAD/PREAUTH/BYE resp-text`.
///
/// A tagged status is `OK`, `NO` or `BAD` (`response-tagged`); [`Status::tagged`] refuses the
/// others, and the parser never produces them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status<'a> {
    /// The command's tag, or `None` for `*`.
    pub tag: Option<Tag<'a>>,
    /// The condition.
    pub kind: StatusKind,
    /// `"[" resp-text-code "]"`
    pub code: Option<ResponseCode<'a>>,
    /// Human-readable text (may be empty, as IMAP4rev2 allows). Without a code it must not
    /// start with `[`, which would read as one.
    pub text: Text<'a>,
}

impl<'a> Status<'a> {
    /// A tagged `OK`, `NO` or `BAD`.
    pub fn tagged(
        tag: Tag<'a>,
        kind: StatusKind,
        code: Option<ResponseCode<'a>>,
        text: Text<'a>,
    ) -> Result<Self, super::InvalidInput> {
        if matches!(kind, StatusKind::PreAuth | StatusKind::Bye) {
            return Err(super::InvalidInput::new(
                "tagged status",
                "OK, NO or BAD (response-tagged)",
            ));
        }
        Ok(Self {
            tag: Some(tag),
            kind,
            code,
            text,
        })
    }

    /// An untagged status (`* OK`, `* BYE`, ...).
    pub fn untagged(kind: StatusKind, code: Option<ResponseCode<'a>>, text: Text<'a>) -> Self {
        Self {
            tag: None,
            kind,
            code,
            text,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Status<'static> {
        Status {
            tag: self.tag.map(Tag::into_owned),
            kind: self.kind,
            code: self.code.map(ResponseCode::into_owned),
            text: self.text.into_owned(),
        }
    }
}

/// The kind of a greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GreetingKind {
    /// `OK`: not authenticated yet.
    Ok,
    /// `PREAUTH`: already authenticated.
    PreAuth,
    /// `BYE`: the server refuses the connection.
    Bye,
}

/// `greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Greeting<'a> {
    /// `OK`, `PREAUTH` or `BYE`.
    pub kind: GreetingKind,
    /// `"[" resp-text-code "]"` (often `CAPABILITY`).
    pub code: Option<ResponseCode<'a>>,
    /// Human-readable text.
    pub text: Text<'a>,
}

impl Greeting<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Greeting<'static> {
        Greeting {
            kind: self.kind,
            code: self.code.map(ResponseCode::into_owned),
            text: self.text.into_owned(),
        }
    }
}

impl<'a> From<Greeting<'a>> for Status<'a> {
    fn from(g: Greeting<'a>) -> Self {
        let kind = match g.kind {
            GreetingKind::Ok => StatusKind::Ok,
            GreetingKind::PreAuth => StatusKind::PreAuth,
            GreetingKind::Bye => StatusKind::Bye,
        };
        Status::untagged(kind, g.code, g.text)
    }
}

/// `continue-req = "+" SP (resp-text / base64) CRLF`
///
/// The grammar cannot tell text from base64 (`+ idle` is both), so the line is kept as text;
/// the side that knows it is in a SASL exchange reads it with [`Continue::base64`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Continue<'a> {
    /// `"[" resp-text-code "]"`
    pub code: Option<ResponseCode<'a>>,
    /// The text, or the base64 challenge (may be empty). Without a code it must not start
    /// with `[`, which would read as one.
    pub text: Text<'a>,
}

pub use sansmail_core::is_base64;

impl<'a> Continue<'a> {
    /// A continuation request with this text and no code.
    pub fn new(text: Text<'a>) -> Self {
        Self { code: None, text }
    }

    /// The text as a base64 challenge, if it is one (no code, and `base64` syntax).
    pub fn base64(&self) -> Option<&str> {
        let t = self.text.as_str();
        (self.code.is_none() && is_base64(t)).then_some(t)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Continue<'static> {
        Continue {
            code: self.code.map(ResponseCode::into_owned),
            text: self.text.into_owned(),
        }
    }
}

/// Untagged server data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Data<'a> {
    /// `CAPABILITY cap ...`
    Capability(Vec<Capability<'a>>),
    /// `ENABLED cap ...` (RFC 5161)
    Enabled(Vec<Capability<'a>>),
    /// `LIST (attrs) delimiter mailbox [extended data]`
    List(ListData<'a>),
    /// `LSUB (attrs) delimiter mailbox` (IMAP4rev1)
    Lsub(ListData<'a>),
    /// `STATUS mailbox (attr value ...)`
    Status {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// The attributes and their values.
        items: Vec<StatusItem<'a>>,
    },
    /// `SEARCH n ... [(MODSEQ n)]` (IMAP4rev1; CONDSTORE adds the MODSEQ)
    Search(SearchResult),
    /// `SORT n ... [(MODSEQ n)]` (RFC 5256)
    Sort(SearchResult),
    /// `ESEARCH [(TAG "x")] [UID] items` (RFC 4731, IMAP4rev2)
    ESearch(ESearch<'a>),
    /// `FLAGS (flag ...)`
    Flags(Vec<Flag<'a>>),
    /// `n EXISTS`
    Exists(u32),
    /// `n RECENT` (IMAP4rev1)
    Recent(u32),
    /// `n EXPUNGE`
    Expunge(u32),
    /// `VANISHED [(EARLIER)] uids` (RFC 7162 QRESYNC)
    Vanished {
        /// `(EARLIER)`: an answer to a FETCH or SELECT with VANISHED, not a fresh expunge.
        earlier: bool,
        /// The UIDs.
        uids: SequenceSet,
    },
    /// `n FETCH (items)`
    Fetch {
        /// The message sequence number.
        seq: u32,
        /// The items, at least one.
        items: Vec<FetchItem<'a>>,
    },
    /// `ID (field value ...)` or `ID NIL` (RFC 2971)
    Id(Option<Vec<(IString<'a>, NString<'a>)>>),
    /// `NAMESPACE personal other shared` (RFC 2342, IMAP4rev2)
    Namespace(Namespaces<'a>),
    /// `QUOTA root (resource usage limit ...)` (RFC 9208)
    Quota {
        /// `quota-root-name = astring`
        root: AString<'a>,
        /// The resources.
        resources: Vec<QuotaResource<'a>>,
    },
    /// `QUOTAROOT mailbox root ...` (RFC 9208)
    QuotaRoot {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// Its quota roots.
        roots: Vec<AString<'a>>,
    },
    /// `METADATA mailbox (entry value ...)` or `METADATA mailbox entry ...` (RFC 5464)
    Metadata {
        /// The mailbox (`""` for server annotations).
        mailbox: Mailbox<'a>,
        /// Entries with values, or only names (unsolicited).
        entries: MetadataEntries<'a>,
    },
    /// `THREAD (thread-list)...` (RFC 5256)
    Thread(Vec<Thread>),
    /// `GENURLAUTH 1*(SP url-full)` (RFC 4467): the authorized URLs, in the command's order.
    GenUrlAuth(Vec<AString<'a>>),
    /// `URLFETCH 1*(SP url-full SP nstring)` (RFC 4467): each URL with its data, `NIL`
    /// where it could not be fetched.
    UrlFetch(Vec<(AString<'a>, NString<'a>)>),
}

impl Data<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Data<'static> {
        match self {
            Self::Capability(c) => {
                Data::Capability(c.into_iter().map(Capability::into_owned).collect())
            }
            Self::Enabled(c) => Data::Enabled(c.into_iter().map(Capability::into_owned).collect()),
            Self::List(l) => Data::List(l.into_owned()),
            Self::Lsub(l) => Data::Lsub(l.into_owned()),
            Self::Status { mailbox, items } => Data::Status {
                mailbox: mailbox.into_owned(),
                items: items.into_iter().map(StatusItem::into_owned).collect(),
            },
            Self::Search(s) => Data::Search(s),
            Self::Sort(s) => Data::Sort(s),
            Self::ESearch(e) => Data::ESearch(e.into_owned()),
            Self::Flags(f) => Data::Flags(f.into_iter().map(Flag::into_owned).collect()),
            Self::Exists(n) => Data::Exists(n),
            Self::Recent(n) => Data::Recent(n),
            Self::Expunge(n) => Data::Expunge(n),
            Self::Vanished { earlier, uids } => Data::Vanished { earlier, uids },
            Self::Fetch { seq, items } => Data::Fetch {
                seq,
                items: items.into_iter().map(FetchItem::into_owned).collect(),
            },
            Self::Id(params) => Data::Id(params.map(|v| {
                v.into_iter()
                    .map(|(k, v)| (k.into_owned(), v.map(IString::into_owned)))
                    .collect()
            })),
            Self::Namespace(n) => Data::Namespace(n.into_owned()),
            Self::Quota { root, resources } => Data::Quota {
                root: root.into_owned(),
                resources: resources
                    .into_iter()
                    .map(QuotaResource::into_owned)
                    .collect(),
            },
            Self::QuotaRoot { mailbox, roots } => Data::QuotaRoot {
                mailbox: mailbox.into_owned(),
                roots: roots.into_iter().map(AString::into_owned).collect(),
            },
            Self::Metadata { mailbox, entries } => Data::Metadata {
                mailbox: mailbox.into_owned(),
                entries: entries.into_owned(),
            },
            Self::Thread(t) => Data::Thread(t),
            Self::GenUrlAuth(urls) => {
                Data::GenUrlAuth(urls.into_iter().map(AString::into_owned).collect())
            }
            Self::UrlFetch(items) => Data::UrlFetch(
                items
                    .into_iter()
                    .map(|(u, d)| (u.into_owned(), d.map(IString::into_owned)))
                    .collect(),
            ),
        }
    }
}

impl Response<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Response<'static> {
        match self {
            Self::Status(s) => Response::Status(s.into_owned()),
            Self::Data(d) => Response::Data(d.into_owned()),
            Self::Continue(c) => Response::Continue(c.into_owned()),
        }
    }

    /// The tag, for a tagged status response.
    pub fn tag(&self) -> Option<&Tag<'_>> {
        match self {
            Self::Status(s) => s.tag.as_ref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_detection() {
        assert!(is_base64(""));
        assert!(is_base64("dGVzdA=="));
        assert!(is_base64("idle"));
        assert!(!is_base64("Ready for literal"));
        assert!(!is_base64("abc"));
        assert!(!is_base64("a==="));
    }

    #[test]
    fn tagged_refuses_bye() {
        let t = Tag::new("a1").unwrap();
        let text = Text::new("x").unwrap();
        assert!(Status::tagged(t.clone(), StatusKind::Bye, None, text.clone()).is_err());
        assert!(Status::tagged(t, StatusKind::No, None, text).is_ok());
    }
}
