//! The message data items of a FETCH response (RFC 9051 §7.5.2 and the extensions).
//!
//! ```text
//! msg-att         = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic / msg-att-static)) ")"
//! msg-att-dynamic = "FLAGS" SP "(" [flag-fetch *(SP flag-fetch)] ")"
//!                 / "MODSEQ" SP "(" permsg-modsequence ")"                    ; RFC 7162
//! msg-att-static  = "ENVELOPE" SP envelope / "INTERNALDATE" SP date-time /
//!                   "RFC822.SIZE" SP number64 / "BODY" ["STRUCTURE"] SP body /
//!                   "BODY" section ["<" number ">"] SP nstring /
//!                   "BINARY" section-binary ["<" number ">"] SP (nstring / literal8) /
//!                   "BINARY.SIZE" section-binary SP number / "UID" SP uniqueid /
//!                   "RFC822" SP nstring / "RFC822.HEADER" SP nstring / "RFC822.TEXT" SP nstring / ; RFC 3501
//!                   "EMAILID" SP "(" objectid ")" / "THREADID" SP ("(" objectid ")" / nil) /     ; RFC 8474
//!                   "SAVEDATE" SP (date-time / nil) /                                           ; RFC 8514
//!                   "PREVIEW" SP nstring                                                        ; RFC 8970
//! ```

use std::borrow::Cow;

use super::{
    InvalidInput,
    body::Body,
    core::{IString, NString},
    datetime::DateTime,
    envelope::Envelope,
    flag::Flag,
    objectid::ObjectId,
    section::Section,
};

/// One item of a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchItem<'a> {
    /// `FLAGS (flag-fetch ...)`
    Flags(Vec<Flag<'a>>),
    /// `UID uniqueid`
    Uid(u32),
    /// `INTERNALDATE date-time`
    InternalDate(DateTime),
    /// `RFC822.SIZE number64`
    Rfc822Size(u64),
    /// `ENVELOPE envelope`
    Envelope(Box<Envelope<'a>>),
    /// `BODY body`: the structure without extension data.
    Body(Box<Body<'a>>),
    /// `BODYSTRUCTURE body`: the structure with extension data.
    BodyStructure(Box<Body<'a>>),
    /// `BODY[section]<origin> nstring`
    BodySection {
        /// The section.
        section: Section<'a>,
        /// `<number>`: where a partial fetch started.
        origin: Option<u32>,
        /// The octets, or `NIL`.
        data: NString<'a>,
    },
    /// `BINARY[part]<origin> (nstring / literal8)` (RFC 3516)
    Binary {
        /// `section-binary = "[" [section-part] "]"`
        part: Vec<u32>,
        /// `<number>`: where a partial fetch started.
        origin: Option<u32>,
        /// The decoded octets (a `literal8` when they hold NUL), or `NIL`.
        data: NString<'a>,
    },
    /// `BINARY.SIZE[part] number` (RFC 3516)
    BinarySize {
        /// `section-binary = "[" [section-part] "]"`
        part: Vec<u32>,
        /// The decoded size.
        size: u32,
    },
    /// `MODSEQ (n)` (RFC 7162)
    ModSeq(u64),
    /// `EMAILID (objectid)` (RFC 8474)
    EmailId(ObjectId<'a>),
    /// `THREADID (objectid)` or `THREADID NIL` (RFC 8474)
    ThreadId(Option<ObjectId<'a>>),
    /// `SAVEDATE date-time` or `SAVEDATE NIL` (RFC 8514)
    SaveDate(Option<DateTime>),
    /// `RFC822 nstring` (IMAP4rev1)
    Rfc822(NString<'a>),
    /// `RFC822.HEADER nstring` (IMAP4rev1)
    Rfc822Header(NString<'a>),
    /// `RFC822.TEXT nstring` (IMAP4rev1)
    Rfc822Text(NString<'a>),
    /// `PREVIEW nstring` (RFC 8970)
    Preview(NString<'a>),
    /// An item of an extension this crate does not know (Gmail's `X-GM-MSGID`,
    /// `X-GM-LABELS`), as the server wrote it.
    Other(OtherItem<'a>),
}

/// A FETCH item of an extension this crate does not know: its name and its value's octets
/// (a number, an atom, a string or a parenthesized list of such, as RFC 4466's
/// `tagged-ext-val`), checked so that it encodes back to exactly one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherItem<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, [u8]>,
}

impl<'a> OtherItem<'a> {
    /// Checks `name` (a keyword) and `value` (one value, literals included).
    pub fn new(
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, [u8]>>,
    ) -> Result<Self, InvalidInput> {
        let (name, value) = (name.into(), value.into());
        if !crate::codec::response::is_keyword(name.as_bytes()) {
            return Err(InvalidInput::new("FETCH item", "a keyword"));
        }
        if !crate::codec::response::is_item_value(&value) {
            return Err(InvalidInput::new("FETCH item", "one value"));
        }
        Ok(Self { name, value })
    }

    pub(crate) fn from_parsed(name: &'a str, value: &'a [u8]) -> Self {
        Self {
            name: Cow::Borrowed(name),
            value: Cow::Borrowed(value),
        }
    }

    /// The item's name, in the case it came in.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value as it came, literals included.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> OtherItem<'static> {
        OtherItem {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
        }
    }
}

fn own(s: NString<'_>) -> NString<'static> {
    s.map(IString::into_owned)
}

impl FetchItem<'_> {
    /// The item's name as it is written in a response (`"BODY[]"` items as `"BODY"`).
    pub fn name(&self) -> &str {
        match self {
            Self::Other(o) => o.name(),
            Self::Flags(_) => "FLAGS",
            Self::Uid(_) => "UID",
            Self::InternalDate(_) => "INTERNALDATE",
            Self::Rfc822Size(_) => "RFC822.SIZE",
            Self::Envelope(_) => "ENVELOPE",
            Self::Body(_) | Self::BodySection { .. } => "BODY",
            Self::BodyStructure(_) => "BODYSTRUCTURE",
            Self::Binary { .. } => "BINARY",
            Self::BinarySize { .. } => "BINARY.SIZE",
            Self::ModSeq(_) => "MODSEQ",
            Self::EmailId(_) => "EMAILID",
            Self::ThreadId(_) => "THREADID",
            Self::SaveDate(_) => "SAVEDATE",
            Self::Rfc822(_) => "RFC822",
            Self::Rfc822Header(_) => "RFC822.HEADER",
            Self::Rfc822Text(_) => "RFC822.TEXT",
            Self::Preview(_) => "PREVIEW",
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> FetchItem<'static> {
        match self {
            Self::Flags(f) => FetchItem::Flags(f.into_iter().map(Flag::into_owned).collect()),
            Self::Uid(n) => FetchItem::Uid(n),
            Self::InternalDate(d) => FetchItem::InternalDate(d),
            Self::Rfc822Size(n) => FetchItem::Rfc822Size(n),
            Self::Envelope(e) => FetchItem::Envelope(Box::new(e.into_owned())),
            Self::Body(b) => FetchItem::Body(Box::new(b.into_owned())),
            Self::BodyStructure(b) => FetchItem::BodyStructure(Box::new(b.into_owned())),
            Self::BodySection {
                section,
                origin,
                data,
            } => FetchItem::BodySection {
                section: section.into_owned(),
                origin,
                data: own(data),
            },
            Self::Binary { part, origin, data } => FetchItem::Binary {
                part,
                origin,
                data: own(data),
            },
            Self::BinarySize { part, size } => FetchItem::BinarySize { part, size },
            Self::ModSeq(n) => FetchItem::ModSeq(n),
            Self::EmailId(id) => FetchItem::EmailId(id.into_owned()),
            Self::ThreadId(id) => FetchItem::ThreadId(id.map(ObjectId::into_owned)),
            Self::SaveDate(d) => FetchItem::SaveDate(d),
            Self::Rfc822(s) => FetchItem::Rfc822(own(s)),
            Self::Rfc822Header(s) => FetchItem::Rfc822Header(own(s)),
            Self::Rfc822Text(s) => FetchItem::Rfc822Text(own(s)),
            Self::Preview(s) => FetchItem::Preview(own(s)),
            Self::Other(o) => FetchItem::Other(o.into_owned()),
        }
    }
}

/// An item of a FETCH response whose value a server streams as a literal, piece by piece
/// (`BODY[] {n}` CRLF, then the octets): its name and origin; the length is given beside
/// it. See [`Server::fetch_literal`](crate::session::server::Server::fetch_literal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LiteralItem<'a> {
    /// `BODY[section]<origin>`
    BodySection {
        /// The section.
        section: Section<'a>,
        /// `<number>`: where a partial fetch started.
        origin: Option<u32>,
    },
    /// `BINARY[part]<origin>`, always as a `literal8` (`~{n}`): its octets may hold NUL
    /// (RFC 3516 §4.2), and a server streaming them cannot know beforehand.
    Binary {
        /// `section-binary = "[" [section-part] "]"`
        part: Vec<u32>,
        /// `<number>`: where a partial fetch started.
        origin: Option<u32>,
    },
    /// `RFC822` (IMAP4rev1)
    Rfc822,
    /// `RFC822.HEADER` (IMAP4rev1)
    Rfc822Header,
    /// `RFC822.TEXT` (IMAP4rev1)
    Rfc822Text,
}

impl LiteralItem<'_> {
    /// Whether the literal is a `literal8`, which may hold NUL.
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::Binary { .. })
    }
}
