//! BODY and BODYSTRUCTURE (RFC 9051 §7.5.2): the MIME structure of a message as the server
//! parsed it.
//!
//! ```text
//! body            = "(" (body-type-1part / body-type-mpart) ")"
//! body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
//! body-type-basic = media-basic SP body-fields
//! body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
//! body-type-text  = media-text SP body-fields SP body-fld-lines
//! body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
//! body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
//! body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
//! body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
//! ```
//!
//! Strings keep the form and case they arrived in (`"TEXT"` stays `"TEXT"`, `"text"` stays
//! `"text"`), and the extension data keeps how many of its fields were present, so a decoded
//! structure re-encodes to the same bytes.

use super::{
    core::{IString, NString},
    envelope::Envelope,
};

/// `body`: one part, or a multipart holding parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body<'a> {
    /// `body-type-1part`
    Single(SinglePart<'a>),
    /// `body-type-mpart`
    Multi(MultiPart<'a>),
}

/// `body-type-1part`: a basic, text or message/rfc822 part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinglePart<'a> {
    /// The media type (`"TEXT"`, `"APPLICATION"`, ...), as received.
    pub media_type: IString<'a>,
    /// `media-subtype = string`
    pub subtype: IString<'a>,
    /// `body-fields`
    pub fields: BodyFields<'a>,
    /// What the media type adds: nothing, line counts, or an embedded message.
    pub specific: SinglePartKind<'a>,
    /// `body-ext-1part`, when the server sent it (BODYSTRUCTURE, not BODY).
    pub ext: Option<SinglePartExt<'a>>,
}

/// What follows `body-fields` for each kind of single part. The kind follows from the media
/// type: `TEXT/*` is [`Text`](Self::Text), `MESSAGE/RFC822` and `MESSAGE/GLOBAL` are
/// [`Message`](Self::Message), everything else is [`Basic`](Self::Basic).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SinglePartKind<'a> {
    /// `body-type-basic`: nothing more.
    Basic,
    /// `body-type-text`: `SP body-fld-lines`.
    Text {
        /// `body-fld-lines = number64`
        lines: u64,
    },
    /// `body-type-msg`: `SP envelope SP body SP body-fld-lines`.
    Message {
        /// The embedded message's envelope.
        envelope: Box<Envelope<'a>>,
        /// The embedded message's structure.
        body: Box<Body<'a>>,
        /// `body-fld-lines = number64`
        lines: u64,
    },
}

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyFields<'a> {
    /// `body-fld-param`: the Content-Type parameters.
    pub params: BodyParams<'a>,
    /// `body-fld-id = nstring`: Content-ID.
    pub id: NString<'a>,
    /// `body-fld-desc = nstring`: Content-Description.
    pub description: NString<'a>,
    /// `body-fld-enc = string`: Content-Transfer-Encoding. `None` (`NIL`) only when parsed
    /// under [`Leniency::nil_for_string`](crate::codec::Leniency::nil_for_string).
    pub encoding: NString<'a>,
    /// `body-fld-octets = number`: size in its transfer encoding.
    pub octets: u32,
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`: `None` for `NIL`,
/// otherwise at least one attribute/value pair. A value is `None` only when parsed under
/// [`Leniency::nil_for_string`](crate::codec::Leniency::nil_for_string).
pub type BodyParams<'a> = Option<Vec<(IString<'a>, NString<'a>)>>;

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiPart<'a> {
    /// The parts, at least one.
    pub parts: Vec<Body<'a>>,
    /// `media-subtype` (`"MIXED"`, `"ALTERNATIVE"`, ...).
    pub subtype: IString<'a>,
    /// `body-ext-mpart`, when the server sent it.
    pub ext: Option<MultiPartExt<'a>>,
}

/// `body-ext-1part = body-fld-md5 [SP body-fld-dsp ...]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinglePartExt<'a> {
    /// `body-fld-md5 = nstring`: Content-MD5.
    pub md5: NString<'a>,
    /// The disposition and what follows it, when present.
    pub more: Option<ExtDisposition<'a>>,
}

/// `body-ext-mpart = body-fld-param [SP body-fld-dsp ...]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiPartExt<'a> {
    /// `body-fld-param`: the multipart's Content-Type parameters (boundary, ...).
    pub params: BodyParams<'a>,
    /// The disposition and what follows it, when present.
    pub more: Option<ExtDisposition<'a>>,
}

/// `body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtDisposition<'a> {
    /// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
    pub disposition: Option<Disposition<'a>>,
    /// The language and what follows it, when present.
    pub more: Option<ExtLanguage<'a>>,
}

/// `body-fld-lang [SP body-fld-loc *(SP body-extension)]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtLanguage<'a> {
    /// `body-fld-lang`
    pub language: Language<'a>,
    /// The location and what follows it, when present.
    pub more: Option<ExtLocation<'a>>,
}

/// `body-fld-loc *(SP body-extension)`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtLocation<'a> {
    /// `body-fld-loc = nstring`: Content-Location.
    pub location: NString<'a>,
    /// Future extension data.
    pub extensions: Vec<BodyExtension<'a>>,
}

/// `body-fld-dsp = "(" string SP body-fld-param ")"`: Content-Disposition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disposition<'a> {
    /// `inline`, `attachment`, ...
    pub kind: IString<'a>,
    /// Its parameters (`filename`, ...).
    pub params: BodyParams<'a>,
}

/// `body-fld-lang = nstring / "(" string *(SP string) ")"`: Content-Language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Language<'a> {
    /// One tag, or `NIL`.
    Single(NString<'a>),
    /// A parenthesized list, at least one.
    List(Vec<IString<'a>>),
}

/// `body-extension = nstring / number / number64 / "(" body-extension *(SP body-extension) ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyExtension<'a> {
    /// `nstring`
    String(NString<'a>),
    /// `number64`
    Number(u64),
    /// A parenthesized list, at least one.
    List(Vec<BodyExtension<'a>>),
}

impl<'a> Body<'a> {
    /// The media type: `MULTIPART` for a multipart, as received otherwise.
    pub fn media_type(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Single(p) => p.media_type.to_str_lossy(),
            Self::Multi(_) => std::borrow::Cow::Borrowed("MULTIPART"),
        }
    }

    /// The media subtype, as received.
    pub fn subtype(&self) -> &IString<'a> {
        match self {
            Self::Single(p) => &p.subtype,
            Self::Multi(m) => &m.subtype,
        }
    }

    fn ext_disposition(&self) -> Option<&ExtDisposition<'a>> {
        match self {
            Self::Single(p) => p.ext.as_ref()?.more.as_ref(),
            Self::Multi(m) => m.ext.as_ref()?.more.as_ref(),
        }
    }

    /// The Content-Disposition, when the server sent one.
    pub fn disposition(&self) -> Option<&Disposition<'a>> {
        self.ext_disposition()?.disposition.as_ref()
    }

    /// The Content-Language, when present.
    pub fn language(&self) -> Option<&Language<'a>> {
        self.ext_disposition()?.more.as_ref().map(|l| &l.language)
    }

    /// The Content-Location, when present and not `NIL`.
    pub fn location(&self) -> Option<&IString<'a>> {
        self.ext_disposition()?
            .more
            .as_ref()?
            .more
            .as_ref()?
            .location
            .as_ref()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Body<'static> {
        match self {
            Self::Single(p) => Body::Single(p.into_owned()),
            Self::Multi(m) => Body::Multi(m.into_owned()),
        }
    }
}

fn own(s: NString<'_>) -> NString<'static> {
    s.map(IString::into_owned)
}

fn own_params(p: BodyParams<'_>) -> BodyParams<'static> {
    p.map(|v| {
        v.into_iter()
            .map(|(k, v)| (k.into_owned(), own(v)))
            .collect()
    })
}

impl SinglePart<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> SinglePart<'static> {
        SinglePart {
            media_type: self.media_type.into_owned(),
            subtype: self.subtype.into_owned(),
            fields: self.fields.into_owned(),
            specific: self.specific.into_owned(),
            ext: self.ext.map(SinglePartExt::into_owned),
        }
    }
}

impl SinglePartKind<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> SinglePartKind<'static> {
        match self {
            Self::Basic => SinglePartKind::Basic,
            Self::Text { lines } => SinglePartKind::Text { lines },
            Self::Message {
                envelope,
                body,
                lines,
            } => SinglePartKind::Message {
                envelope: Box::new(envelope.into_owned()),
                body: Box::new(body.into_owned()),
                lines,
            },
        }
    }
}

impl BodyFields<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> BodyFields<'static> {
        BodyFields {
            params: own_params(self.params),
            id: own(self.id),
            description: own(self.description),
            encoding: own(self.encoding),
            octets: self.octets,
        }
    }
}

impl MultiPart<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> MultiPart<'static> {
        MultiPart {
            parts: self.parts.into_iter().map(Body::into_owned).collect(),
            subtype: self.subtype.into_owned(),
            ext: self.ext.map(MultiPartExt::into_owned),
        }
    }
}

impl SinglePartExt<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> SinglePartExt<'static> {
        SinglePartExt {
            md5: own(self.md5),
            more: self.more.map(ExtDisposition::into_owned),
        }
    }
}

impl MultiPartExt<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> MultiPartExt<'static> {
        MultiPartExt {
            params: own_params(self.params),
            more: self.more.map(ExtDisposition::into_owned),
        }
    }
}

impl ExtDisposition<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ExtDisposition<'static> {
        ExtDisposition {
            disposition: self.disposition.map(Disposition::into_owned),
            more: self.more.map(ExtLanguage::into_owned),
        }
    }
}

impl ExtLanguage<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ExtLanguage<'static> {
        ExtLanguage {
            language: self.language.into_owned(),
            more: self.more.map(ExtLocation::into_owned),
        }
    }
}

impl ExtLocation<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ExtLocation<'static> {
        ExtLocation {
            location: own(self.location),
            extensions: self
                .extensions
                .into_iter()
                .map(BodyExtension::into_owned)
                .collect(),
        }
    }
}

impl Disposition<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Disposition<'static> {
        Disposition {
            kind: self.kind.into_owned(),
            params: own_params(self.params),
        }
    }
}

impl Language<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Language<'static> {
        match self {
            Self::Single(s) => Language::Single(own(s)),
            Self::List(v) => Language::List(v.into_iter().map(IString::into_owned).collect()),
        }
    }
}

impl BodyExtension<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> BodyExtension<'static> {
        match self {
            Self::String(s) => BodyExtension::String(own(s)),
            Self::Number(n) => BodyExtension::Number(n),
            Self::List(v) => {
                BodyExtension::List(v.into_iter().map(BodyExtension::into_owned).collect())
            }
        }
    }
}
