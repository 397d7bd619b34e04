//! The arguments of commands: SASL data, SELECT and LIST options, APPEND messages, STORE
//! actions, quota and metadata options.

use std::borrow::Cow;

use crate::types::{
    InvalidInput,
    core::{AString, Atom, IString, Literal, is_atom_char},
    datetime::DateTime,
    flag::Flag,
    mailbox::{decode_utf7, encode_utf7},
    sequence::SequenceSet,
    status::StatusAttr,
};

pub use sansmail_core::{Secret, is_base64_bytes as is_base64};

/// Base64 SASL data, validated, not decoded. `Debug` redacts it.
pub type SaslData<'a> = Secret<Cow<'a, str>>;

/// A SASL response (the initial response of AUTHENTICATE, or a line after a `+`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SaslResponse<'a> {
    /// Base64 data; may be empty on a continuation line, never empty as an initial response
    /// (that is [`SaslResponse::Empty`]).
    Base64(SaslData<'a>),
    /// `=`: an initial response of zero length (RFC 4959).
    Empty,
    /// `*`: the client cancels the exchange (continuation lines only).
    Cancel,
}

impl<'a> SaslResponse<'a> {
    /// Base64 data, validated.
    pub fn base64(data: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let data = data.into();
        if is_base64(data.as_bytes()) {
            Ok(Self::Base64(Secret::new(data)))
        } else {
            Err(InvalidInput::new("SASL response", "base64"))
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> SaslResponse<'static> {
        match self {
            Self::Base64(s) => {
                SaslResponse::Base64(Secret::new(Cow::Owned(s.into_inner().into_owned())))
            }
            Self::Empty => SaslResponse::Empty,
            Self::Cancel => SaslResponse::Cancel,
        }
    }
}

/// `select-param` (RFC 4466) of SELECT and EXAMINE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SelectParam {
    /// `CONDSTORE` (RFC 7162)
    CondStore,
    /// `QRESYNC (...)` (RFC 7162)
    QResync(QResync),
}

/// `"QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QResync {
    /// The last known UIDVALIDITY (nz-number).
    pub uid_validity: u32,
    /// The last known HIGHESTMODSEQ.
    pub modseq: u64,
    /// `known-uids = sequence-set`
    pub known_uids: Option<SequenceSet>,
    /// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// `list-select-opt` (RFC 5258, RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListSelectOpt {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH` (needs a base option: SUBSCRIBED or SPECIAL-USE)
    RecursiveMatch,
    /// `SPECIAL-USE` (RFC 6154)
    SpecialUse,
}

impl ListSelectOpt {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscribed => "SUBSCRIBED",
            Self::Remote => "REMOTE",
            Self::RecursiveMatch => "RECURSIVEMATCH",
            Self::SpecialUse => "SPECIAL-USE",
        }
    }
}

/// `return-option` of LIST (RFC 5258, RFC 5819 LIST-STATUS, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturnOpt {
    /// `SUBSCRIBED`
    Subscribed,
    /// `CHILDREN`
    Children,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `STATUS (status-att ...)` (RFC 5819); never empty.
    Status(Vec<StatusAttr>),
}

/// `list-mailbox = 1*list-char / string`: a LIST pattern as sent (modified UTF-7 unless
/// UTF8=ACCEPT), where `%` and `*` are wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListMailbox<'a> {
    /// `1*list-char` (`list-char = ATOM-CHAR / list-wildcards / resp-specials`)
    Token(Cow<'a, str>),
    /// `string`
    String(IString<'a>),
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`
pub const fn is_list_char(b: u8) -> bool {
    is_atom_char(b) || matches!(b, b'%' | b'*' | b']')
}

impl ListMailbox<'_> {
    /// The pattern for a UTF-8 name (with `%`/`*` wildcards): modified UTF-7 unless `utf8`,
    /// as a token if it can be one, quoted or a literal otherwise.
    pub fn from_name(name: &str, utf8: bool) -> Result<ListMailbox<'static>, InvalidInput> {
        let wire = if utf8 || name.is_ascii() && !name.contains('&') {
            name.to_owned()
        } else {
            encode_utf7(name)
        };
        if !wire.is_empty() && wire.bytes().all(is_list_char) {
            return Ok(ListMailbox::Token(Cow::Owned(wire)));
        }
        IString::from_bytes(wire.into_bytes()).map(ListMailbox::String)
    }

    /// The pattern's octets as sent.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Token(t) => t.as_bytes(),
            Self::String(s) => s.as_bytes(),
        }
    }

    /// The pattern as UTF-8: modified UTF-7 decoded unless `utf8` (a pattern that is not
    /// valid modified UTF-7 is taken as it is, like [`crate::types::mailbox::Mailbox::from_wire`]).
    pub fn to_name(&self, utf8: bool) -> String {
        let raw = String::from_utf8_lossy(self.as_bytes()).into_owned();
        if utf8 {
            raw
        } else {
            decode_utf7(&raw).unwrap_or(raw)
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ListMailbox<'static> {
        match self {
            Self::Token(t) => ListMailbox::Token(Cow::Owned(t.into_owned())),
            Self::String(s) => ListMailbox::String(s.into_owned()),
        }
    }
}

/// One message of APPEND: `append-message = append-opts SP append-data` (RFC 3502).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppendMessage<'a> {
    /// `flag-list`, if given.
    pub flags: Option<Vec<Flag<'a>>>,
    /// The internal date, if given.
    pub date: Option<DateTime>,
    /// The message.
    pub data: AppendData<'a>,
}

impl AppendMessage<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> AppendMessage<'static> {
        AppendMessage {
            flags: self
                .flags
                .map(|f| f.into_iter().map(Flag::into_owned).collect()),
            date: self.date,
            data: self.data.into_owned(),
        }
    }
}

/// `append-data = literal / literal8 / "UTF8" SP "(" literal8 ")" / "CATENATE" SP "("
/// cat-part *(SP cat-part) ")"` (RFC 3516, RFC 6855, RFC 4469).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppendData<'a> {
    /// `literal` or (BINARY) `literal8`.
    Literal(Literal<'a>),
    /// `UTF8 (literal8)` (RFC 6855): a message with UTF-8 headers.
    Utf8(Literal<'a>),
    /// `CATENATE (...)` (RFC 4469): the message made of these parts, in order.
    Catenate(Vec<CatPart<'a>>),
}

impl AppendData<'_> {
    /// The message octets, when the client sent them whole (not for CATENATE, whose parts
    /// the server puts together).
    pub fn data(&self) -> Option<&[u8]> {
        match self {
            Self::Literal(l) | Self::Utf8(l) => Some(l.data()),
            Self::Catenate(_) => None,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> AppendData<'static> {
        match self {
            Self::Literal(l) => AppendData::Literal(l.into_owned()),
            Self::Utf8(l) => AppendData::Utf8(l.into_owned()),
            Self::Catenate(parts) => {
                AppendData::Catenate(parts.into_iter().map(CatPart::into_owned).collect())
            }
        }
    }
}

/// `cat-part = text-literal / url`, `text-literal = "TEXT" SP literal`, `url = "URL" SP
/// astring` (RFC 4469 §5; the astring holds an IMAP URL, RFC 5092).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CatPart<'a> {
    /// Octets the client sends.
    Text(Literal<'a>),
    /// A message or part of one already on the server.
    Url(AString<'a>),
}

impl CatPart<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> CatPart<'static> {
        match self {
            Self::Text(l) => CatPart::Text(l.into_owned()),
            Self::Url(u) => CatPart::Url(u.into_owned()),
        }
    }
}

/// `["+" / "-"] "FLAGS"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreAction {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// `setquota-resource = resource-name SP resource-limit` (RFC 9208)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaLimit<'a> {
    /// `STORAGE`, `MESSAGE`, `MAILBOX`, `ANNOTATION-STORAGE`, or another atom.
    pub resource: Atom<'a>,
    /// `number64`
    pub limit: u64,
}

/// `scope-opt = "DEPTH" SP ("0" / "1" / "infinity")` (RFC 5464)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataDepth {
    /// `0`
    Zero,
    /// `1`
    One,
    /// `infinity`
    Infinity,
}

/// `getmetadata-options` (RFC 5464), written MAXSIZE first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MetadataOptions {
    /// `MAXSIZE number`
    pub max_size: Option<u32>,
    /// `DEPTH`
    pub depth: Option<MetadataDepth>,
}
