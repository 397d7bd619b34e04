//! The string forms of IMAP (RFC 9051 §4.3): atoms, quoted strings, literals, and the
//! productions built from them (`astring`, `nstring`, `tag`, `text`).
//!
//! Values keep the form they arrived in, so a decoded message re-encodes to the same bytes;
//! the `From` constructors pick the cheapest valid form (atom, then quoted, then literal).

use std::{borrow::Cow, fmt};

use super::InvalidInput;

/// `ATOM-CHAR = <any CHAR except atom-specials>`;
/// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`
pub const fn is_atom_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7E) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`
pub const fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// Whether `value` goes out as a bare astring: ASTRING-CHARs, and not `NIL` in any case,
/// which is a valid astring but which many parsers read as nil.
pub(crate) fn is_bare_astring(value: &[u8]) -> bool {
    !value.is_empty()
        && value.iter().all(|&b| is_astring_char(b))
        && !value.eq_ignore_ascii_case(b"NIL")
}

/// `TEXT-CHAR = <any CHAR except CR and LF>` (without NUL), plus UTF-8 octets in IMAP4rev2.
pub const fn is_text_char(b: u8) -> bool {
    b != 0 && b != b'\r' && b != b'\n'
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag<'a>(Cow<'a, str>);

impl<'a> Tag<'a> {
    /// Validates a tag.
    pub fn new(s: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(|b| is_astring_char(b) && b != b'+') {
            Ok(Self(s))
        } else {
            Err(InvalidInput::new("tag", "1*<ASTRING-CHAR except \"+\">"))
        }
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Tag<'static> {
        Tag(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for Tag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({:?})", self.0)
    }
}

impl fmt::Display for Tag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `atom = 1*ATOM-CHAR`
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Atom<'a>(Cow<'a, str>);

impl<'a> Atom<'a> {
    /// Validates an atom.
    pub fn new(s: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let s = s.into();
        if !s.is_empty() && s.bytes().all(is_atom_char) {
            Ok(Self(s))
        } else {
            Err(InvalidInput::new("atom", "1*ATOM-CHAR"))
        }
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// The atom.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Atom<'static> {
        Atom(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for Atom<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({:?})", self.0)
    }
}

impl fmt::Display for Atom<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A literal: `{n}` CRLF and `n` octets, `{n+}` (LITERAL+), or `~{n}` (literal8, BINARY).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Literal<'a> {
    data: Cow<'a, [u8]>,
    mode: LiteralMode,
    binary: bool,
}

impl<'a> Literal<'a> {
    /// A literal; `CHAR8 = %x01-ff` forbids NUL unless it is a `literal8`.
    pub fn new(data: impl Into<Cow<'a, [u8]>>, mode: LiteralMode) -> Result<Self, InvalidInput> {
        let data = data.into();
        if data.contains(&0) {
            return Err(InvalidInput::new("literal", "no NUL (use literal8)"));
        }
        Ok(Self {
            data,
            mode,
            binary: false,
        })
    }

    /// A `literal8` (RFC 3516, RFC 9051): any octets.
    pub fn binary(data: impl Into<Cow<'a, [u8]>>, mode: LiteralMode) -> Self {
        Self {
            data: data.into(),
            mode,
            binary: true,
        }
    }

    pub(crate) fn from_parsed(data: &'a [u8], mode: LiteralMode, binary: bool) -> Self {
        Self {
            data: Cow::Borrowed(data),
            mode,
            binary,
        }
    }

    /// The octets.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Synchronizing or not.
    pub fn mode(&self) -> LiteralMode {
        self.mode
    }

    /// Whether this is a `literal8`.
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// The same octets with another mode.
    #[must_use]
    pub fn with_mode(mut self, mode: LiteralMode) -> Self {
        self.mode = mode;
        self
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Literal<'static> {
        Literal {
            data: Cow::Owned(self.data.into_owned()),
            mode: self.mode,
            binary: self.binary,
        }
    }
}

impl fmt::Debug for Literal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Literal({:?}, {:?})",
            String::from_utf8_lossy(&self.data),
            self.mode
        )
    }
}

/// `string = quoted / literal`. A quoted string holds its value, unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IString<'a> {
    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`
    Quoted(Cow<'a, str>),
    /// `literal`
    Literal(Literal<'a>),
}

impl<'a> IString<'a> {
    /// The value's octets.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Quoted(s) => s.as_bytes(),
            Self::Literal(l) => l.data(),
        }
    }

    /// The value as text, replacing invalid UTF-8.
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        match self {
            Self::Quoted(s) => Cow::Borrowed(s),
            Self::Literal(l) => String::from_utf8_lossy(l.data()),
        }
    }

    /// A quoted string if the value allows it, a literal otherwise.
    pub fn from_bytes(value: impl Into<Cow<'a, [u8]>>) -> Result<Self, InvalidInput> {
        let value = value.into();
        if is_quotable(&value) {
            return Ok(Self::Quoted(match value {
                Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default()),
                Cow::Owned(b) => Cow::Owned(String::from_utf8(b).unwrap_or_default()),
            }));
        }
        Literal::new(value, LiteralMode::Sync).map(Self::Literal)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> IString<'static> {
        match self {
            Self::Quoted(s) => IString::Quoted(Cow::Owned(s.into_owned())),
            Self::Literal(l) => IString::Literal(l.into_owned()),
        }
    }
}

/// Whether `value` can be a quoted string: UTF-8 text without CR, LF or NUL, and short enough
/// that a literal would not be the better form.
pub fn is_quotable(value: &[u8]) -> bool {
    value.len() <= 1024
        && value.iter().all(|&b| is_text_char(b))
        && std::str::from_utf8(value).is_ok()
}

impl<'a> TryFrom<&'a str> for IString<'a> {
    type Error = InvalidInput;

    /// A quoted string, or a literal for text a quoted string cannot hold; NUL is refused.
    fn try_from(s: &'a str) -> Result<Self, InvalidInput> {
        Self::from_bytes(s.as_bytes())
    }
}

/// `astring = 1*ASTRING-CHAR / string`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AString<'a> {
    /// `1*ASTRING-CHAR`. `NIL` is read and sent as a [`String`](Self::String) (many parsers
    /// would take a bare one for nil).
    Atom(Cow<'a, str>),
    /// `string`
    String(IString<'a>),
}

impl<'a> AString<'a> {
    /// The value's octets.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Atom(a) => a.as_bytes(),
            Self::String(s) => s.as_bytes(),
        }
    }

    /// The value as text borrowed from the input it was parsed from, if it is that and UTF-8.
    pub(crate) fn as_input_str(&self) -> Option<&'a str> {
        match self {
            Self::Atom(Cow::Borrowed(a)) | Self::String(IString::Quoted(Cow::Borrowed(a))) => {
                Some(a)
            }
            Self::String(IString::Literal(Literal {
                data: Cow::Borrowed(d),
                ..
            })) => std::str::from_utf8(d).ok(),
            _ => None,
        }
    }

    /// The value as text, replacing invalid UTF-8.
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        match self {
            Self::Atom(a) => Cow::Borrowed(a),
            Self::String(s) => s.to_str_lossy(),
        }
    }

    /// The cheapest form for `value`: atom, quoted string or literal. A literal is chosen for
    /// values with CR, LF or 8-bit octets that are not UTF-8; NUL is refused. `NIL` is quoted.
    pub fn from_bytes(value: impl Into<Cow<'a, [u8]>>) -> Result<Self, InvalidInput> {
        let value = value.into();
        if is_bare_astring(&value) {
            return Ok(Self::Atom(match value {
                Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).unwrap_or_default()),
                Cow::Owned(b) => Cow::Owned(String::from_utf8(b).unwrap_or_default()),
            }));
        }
        IString::from_bytes(value).map(Self::String)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> AString<'static> {
        match self {
            Self::Atom(a) => AString::Atom(Cow::Owned(a.into_owned())),
            Self::String(s) => AString::String(s.into_owned()),
        }
    }
}

impl<'a> TryFrom<&'a str> for AString<'a> {
    type Error = InvalidInput;

    fn try_from(s: &'a str) -> Result<Self, InvalidInput> {
        Self::from_bytes(s.as_bytes())
    }
}

/// `nstring = string / nil`
pub type NString<'a> = Option<IString<'a>>;

/// `text = 1*TEXT-CHAR`: free text that ends a response line. Validated: no CR, LF or NUL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Text<'a>(Cow<'a, str>);

impl<'a> Text<'a> {
    /// Validates text (it may be empty: servers send `* OK` with nothing after it).
    pub fn new(s: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let s = s.into();
        if s.bytes().all(is_text_char) {
            Ok(Self(s))
        } else {
            Err(InvalidInput::new("text", "no CR, LF or NUL"))
        }
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Text<'static> {
        Text(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({:?})", self.0)
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a literal needs the server's `+` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiteralMode {
    /// `{n}`: the client waits for a continuation request.
    Sync,
    /// `{n+}` (LITERAL+/LITERAL-, RFC 7888): the octets follow at once.
    NonSync,
}
