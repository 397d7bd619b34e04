//! What a FETCH command asks for (RFC 9051 §6.4.5, RFC 3501 §6.4.5, and the extensions:
//! BINARY, CONDSTORE, QRESYNC, OBJECTID, SAVEDATE, PREVIEW, PARTIAL).

use super::{search::PartialRange, section::Section};

/// `partial = "<" number64 "." nz-number64 ">"`: a byte range of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// The first octet, from 0.
    pub offset: u64,
    /// How many octets, at least 1.
    pub length: u64,
}

impl Partial {
    /// A range; `length` must not be 0 and both must fit in 63 bits.
    pub fn new(offset: u64, length: u64) -> Result<Self, super::InvalidInput> {
        if length == 0 || offset > i64::MAX as u64 || length > i64::MAX as u64 {
            return Err(super::InvalidInput::new(
                "partial",
                "number64 \".\" nz-number64",
            ));
        }
        Ok(Self { offset, length })
    }
}

/// `"ALL" / "FAST" / "FULL"`: the FETCH macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchMacro {
    /// `ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`
    All,
    /// `FAST = (FLAGS INTERNALDATE RFC822.SIZE)`
    Fast,
    /// `FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`
    Full,
}

impl FetchMacro {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Fast => "FAST",
            Self::Full => "FULL",
        }
    }

    /// The attributes the macro stands for.
    pub fn expand(self) -> Vec<FetchAttr<'static>> {
        let mut v = vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size,
        ];
        match self {
            Self::Fast => {}
            Self::All => v.push(FetchAttr::Envelope),
            Self::Full => v.extend([FetchAttr::Envelope, FetchAttr::Body]),
        }
        v
    }
}

/// `fetch-att`: one data item FETCH asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchAttr<'a> {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `BODY`: the non-extensible body structure.
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `BODY section [partial]` / `BODY.PEEK section [partial]`
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// Which part.
        section: Section<'a>,
        /// Which octets.
        partial: Option<Partial>,
    },
    /// `BINARY [.PEEK] section-binary [partial]` (RFC 3516)
    Binary {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// `section-binary = "[" [section-part] "]"`: the part numbers, empty for the message.
        part: Vec<u32>,
        /// Which octets.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE section-binary` (RFC 3516)
    BinarySize {
        /// The part numbers, empty for the message.
        part: Vec<u32>,
    },
    /// `MODSEQ` (RFC 7162)
    ModSeq,
    /// `EMAILID` (RFC 8474)
    EmailId,
    /// `THREADID` (RFC 8474)
    ThreadId,
    /// `SAVEDATE` (RFC 8514)
    SaveDate,
    /// `RFC822` (IMAP4rev1): `BODY[]`.
    Rfc822,
    /// `RFC822.HEADER` (IMAP4rev1): `BODY.PEEK[HEADER]`.
    Rfc822Header,
    /// `RFC822.TEXT` (IMAP4rev1): `BODY[TEXT]`.
    Rfc822Text,
    /// `PREVIEW ["(" "LAZY" ")"]` (RFC 8970)
    Preview {
        /// `(LAZY)`: only if already computed.
        lazy: bool,
    },
}

impl FetchAttr<'_> {
    /// The keyword of the simple attributes (those without a section or partial).
    pub fn simple_name(&self) -> Option<&'static str> {
        Some(match self {
            Self::Envelope => "ENVELOPE",
            Self::Flags => "FLAGS",
            Self::InternalDate => "INTERNALDATE",
            Self::Rfc822Size => "RFC822.SIZE",
            Self::Body => "BODY",
            Self::BodyStructure => "BODYSTRUCTURE",
            Self::Uid => "UID",
            Self::ModSeq => "MODSEQ",
            Self::EmailId => "EMAILID",
            Self::ThreadId => "THREADID",
            Self::SaveDate => "SAVEDATE",
            Self::Rfc822 => "RFC822",
            Self::Rfc822Header => "RFC822.HEADER",
            Self::Rfc822Text => "RFC822.TEXT",
            Self::BodySection { .. }
            | Self::Binary { .. }
            | Self::BinarySize { .. }
            | Self::Preview { .. } => {
                return None;
            }
        })
    }

    /// Whether fetching this sets `\Seen` (RFC 9051 §6.4.5).
    pub fn sets_seen(&self) -> bool {
        matches!(
            self,
            Self::BodySection { peek: false, .. }
                | Self::Binary { peek: false, .. }
                | Self::Rfc822
                | Self::Rfc822Text
        )
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> FetchAttr<'static> {
        match self {
            Self::Envelope => FetchAttr::Envelope,
            Self::Flags => FetchAttr::Flags,
            Self::InternalDate => FetchAttr::InternalDate,
            Self::Rfc822Size => FetchAttr::Rfc822Size,
            Self::Body => FetchAttr::Body,
            Self::BodyStructure => FetchAttr::BodyStructure,
            Self::Uid => FetchAttr::Uid,
            Self::BodySection {
                peek,
                section,
                partial,
            } => FetchAttr::BodySection {
                peek,
                section: section.into_owned(),
                partial,
            },
            Self::Binary {
                peek,
                part,
                partial,
            } => FetchAttr::Binary {
                peek,
                part,
                partial,
            },
            Self::BinarySize { part } => FetchAttr::BinarySize { part },
            Self::ModSeq => FetchAttr::ModSeq,
            Self::EmailId => FetchAttr::EmailId,
            Self::ThreadId => FetchAttr::ThreadId,
            Self::SaveDate => FetchAttr::SaveDate,
            Self::Rfc822 => FetchAttr::Rfc822,
            Self::Rfc822Header => FetchAttr::Rfc822Header,
            Self::Rfc822Text => FetchAttr::Rfc822Text,
            Self::Preview { lazy } => FetchAttr::Preview { lazy },
        }
    }
}

/// What follows the sequence set of FETCH: a macro, one attribute, or a parenthesized list.
/// The form is kept so a decoded command re-encodes to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchItems<'a> {
    /// `"ALL" / "FAST" / "FULL"`
    Macro(FetchMacro),
    /// `fetch-att`, without parentheses.
    Single(FetchAttr<'a>),
    /// `"(" fetch-att *(SP fetch-att) ")"`; never empty.
    List(Vec<FetchAttr<'a>>),
}

impl<'a> FetchItems<'a> {
    /// The attributes asked for, macros expanded.
    pub fn attrs(&self) -> Vec<FetchAttr<'a>> {
        match self {
            Self::Macro(m) => m.expand(),
            Self::Single(a) => vec![a.clone()],
            Self::List(v) => v.clone(),
        }
    }

    /// The attributes a server's FETCH responses carry: those asked for (macros expanded),
    /// with `UID` first for UID FETCH (RFC 9051 §6.4.9: "the UID ... MUST be included") and
    /// `MODSEQ` under `CHANGEDSINCE` (RFC 7162 §3.1.4.1).
    pub fn response_attrs(&self, uid: bool, modifiers: &FetchModifiers) -> Vec<FetchAttr<'a>> {
        let mut attrs = self.attrs();
        if uid && !attrs.contains(&FetchAttr::Uid) {
            attrs.insert(0, FetchAttr::Uid);
        }
        if modifiers.changed_since.is_some() && !attrs.contains(&FetchAttr::ModSeq) {
            attrs.push(FetchAttr::ModSeq);
        }
        attrs
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> FetchItems<'static> {
        match self {
            Self::Macro(m) => FetchItems::Macro(m),
            Self::Single(a) => FetchItems::Single(a.into_owned()),
            Self::List(v) => FetchItems::List(v.into_iter().map(FetchAttr::into_owned).collect()),
        }
    }
}

/// `fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"` (RFC 4466), written in
/// this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FetchModifiers {
    /// `CHANGEDSINCE mod-sequence-value` (RFC 7162 CONDSTORE)
    pub changed_since: Option<u64>,
    /// `VANISHED` (RFC 7162 QRESYNC; UID FETCH with CHANGEDSINCE only)
    pub vanished: bool,
    /// `PARTIAL partial-range` (RFC 9394 §3.3; UID FETCH only): only the messages at these
    /// positions among those the command would answer, in UID order.
    pub partial: Option<PartialRange>,
}

impl FetchModifiers {
    /// Whether there is no modifier at all (nothing is written).
    pub fn is_empty(&self) -> bool {
        self.changed_since.is_none() && !self.vanished && self.partial.is_none()
    }
}
