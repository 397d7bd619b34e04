//! Mailboxes, domains, address literals and the paths of MAIL and RCPT.

use std::{
    borrow::Cow,
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
};

use super::{InvalidInput, validate};
use crate::grammar;

/// A domain name (RFC 5321 `Domain`, with RFC 6531 U-labels). The name a client gives in
/// HELO may also hold `_` where the server takes it
/// ([`ServerConfig::lenient_envelope`](crate::session::ServerConfig::lenient_envelope)).
///
/// Comparison is case-insensitive for ASCII, as DNS names are.
#[derive(Clone)]
pub struct Domain<'a>(Cow<'a, str>);

impl<'a> Domain<'a> {
    /// Validates `s` as a domain.
    pub fn new(s: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let s = s.into();
        validate("domain", &s, grammar::domain)?;
        Ok(Self(s))
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// The domain as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the domain is plain ASCII (no U-labels).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Domain<'static> {
        Domain(Cow::Owned(self.0.into_owned()))
    }
}

impl PartialEq for Domain<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for Domain<'_> {}

impl fmt::Debug for Domain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain({:?})", self.0)
    }
}

impl fmt::Display for Domain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]` or `[tag:content]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressLiteral<'a> {
    /// `IPv4-address-literal`
    Ipv4(Ipv4Addr),
    /// `IPv6-address-literal`
    Ipv6(Ipv6Addr),
    /// `General-address-literal = Standardized-tag ":" 1*dcontent`
    General {
        /// The tag before the colon.
        tag: Cow<'a, str>,
        /// What follows the colon.
        content: Cow<'a, str>,
    },
}

impl<'a> AddressLiteral<'a> {
    /// Interprets the text between the brackets of an `address-literal`.
    pub(crate) fn from_inner(inner: &'a str) -> Result<Self, &'static str> {
        if let Some(v6) = strip_prefix_ignore_case(inner, "IPv6:") {
            return v6
                .parse()
                .map(Self::Ipv6)
                .map_err(|_| "IPv6-address-literal");
        }
        if inner.starts_with(|c: char| c.is_ascii_digit()) && !inner.contains(':') {
            return inner
                .parse()
                .map(Self::Ipv4)
                .map_err(|_| "IPv4-address-literal");
        }
        let (tag, content) = inner.split_once(':').ok_or("General-address-literal")?;
        if grammar::all_consuming(tag, grammar::ldh_str).is_err() || content.is_empty() {
            return Err("General-address-literal");
        }
        Ok(Self::General {
            tag: Cow::Borrowed(tag),
            content: Cow::Borrowed(content),
        })
    }

    /// Builds a general address literal, validating both parts.
    pub fn general(
        tag: impl Into<Cow<'a, str>>,
        content: impl Into<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        let (tag, content) = (tag.into(), content.into());
        validate("address literal tag", &tag, grammar::ldh_str)?;
        if tag.eq_ignore_ascii_case("IPv6") {
            return Err(InvalidInput::new(
                "address literal tag",
                "not IPv6 (use Ipv6)",
            ));
        }
        if content.is_empty() || !content.chars().all(grammar::is_dcontent) {
            return Err(InvalidInput::new("address literal", "1*dcontent"));
        }
        Ok(Self::General { tag, content })
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> AddressLiteral<'static> {
        match self {
            Self::Ipv4(a) => AddressLiteral::Ipv4(a),
            Self::Ipv6(a) => AddressLiteral::Ipv6(a),
            Self::General { tag, content } => AddressLiteral::General {
                tag: Cow::Owned(tag.into_owned()),
                content: Cow::Owned(content.into_owned()),
            },
        }
    }
}

impl fmt::Display for AddressLiteral<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipv4(a) => write!(f, "[{a}]"),
            Self::Ipv6(a) => write!(f, "[IPv6:{a}]"),
            Self::General { tag, content } => write!(f, "[{tag}:{content}]"),
        }
    }
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// What follows the `@` of a mailbox, and what EHLO names: `Domain / address-literal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainPart<'a> {
    /// A domain name.
    Domain(Domain<'a>),
    /// An address literal.
    Literal(AddressLiteral<'a>),
}

impl DomainPart<'_> {
    /// The domain name, if this is one.
    pub fn domain(&self) -> Option<&Domain<'_>> {
        match self {
            Self::Domain(d) => Some(d),
            Self::Literal(_) => None,
        }
    }

    /// The domain as written (an address literal with its brackets).
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            Self::Domain(d) => Cow::Borrowed(d.as_str()),
            Self::Literal(l) => Cow::Owned(l.to_string()),
        }
    }

    /// Whether the value is plain ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            Self::Domain(d) => d.is_ascii(),
            Self::Literal(_) => true,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> DomainPart<'static> {
        match self {
            Self::Domain(d) => DomainPart::Domain(d.into_owned()),
            Self::Literal(l) => DomainPart::Literal(l.into_owned()),
        }
    }
}

impl fmt::Display for DomainPart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => d.fmt(f),
            Self::Literal(l) => l.fmt(f),
        }
    }
}

impl<'a> TryFrom<&'a str> for DomainPart<'a> {
    type Error = InvalidInput;

    fn try_from(s: &'a str) -> Result<Self, InvalidInput> {
        if s.starts_with('[') {
            let inner = validate("address literal", s, grammar::address_literal)?;
            AddressLiteral::from_inner(inner)
                .map(Self::Literal)
                .map_err(|reason| InvalidInput::new("address literal", reason))
        } else {
            Domain::new(s).map(Self::Domain)
        }
    }
}

/// The local part of a mailbox, kept in its wire form (`Dot-string` or `Quoted-string`).
///
/// Local parts are case-sensitive (RFC 5321 §2.4), so comparison is exact.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalPart<'a>(Cow<'a, str>);

impl<'a> LocalPart<'a> {
    /// Builds a local part from its *unquoted* value, quoting it if it is not a `Dot-string`.
    pub fn new(value: &str) -> Result<LocalPart<'static>, InvalidInput> {
        if grammar::all_consuming(value, grammar::dot_string).is_ok() {
            return Ok(LocalPart(Cow::Owned(value.to_owned())));
        }
        let mut quoted = String::with_capacity(value.len() + 2);
        quoted.push('"');
        for c in value.chars() {
            match c {
                '"' | '\\' => {
                    quoted.push('\\');
                    quoted.push(c);
                }
                ' '..='~' => quoted.push(c),
                c if !c.is_ascii() => quoted.push(c),
                _ => return Err(InvalidInput::new("local part", "printable characters")),
            }
        }
        quoted.push('"');
        Ok(LocalPart(Cow::Owned(quoted)))
    }

    /// Validates `wire` as a `Local-part` in wire form (quotes included if quoted).
    pub fn from_wire(wire: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let wire = wire.into();
        validate("local part", &wire, grammar::local_part)?;
        Ok(Self(wire))
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// The wire form, quotes and escapes included.
    pub fn as_wire(&self) -> &str {
        &self.0
    }

    /// Whether this names the postmaster: `Postmaster` in any case, quoted or not (RFC 5321
    /// §4.5.1: a server accepts it for every domain it is the destination of, whatever the
    /// case, though other local parts may be case-sensitive).
    pub fn is_postmaster(&self) -> bool {
        self.unquoted().eq_ignore_ascii_case("postmaster")
    }

    /// Whether this is a `Quoted-string`.
    pub fn is_quoted(&self) -> bool {
        self.0.starts_with('"')
    }

    /// The value with quotes and escapes removed.
    pub fn unquoted(&self) -> Cow<'_, str> {
        let Some(inner) = self.0.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
            return Cow::Borrowed(&self.0);
        };
        if !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> LocalPart<'static> {
        LocalPart(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for LocalPart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalPart({:?})", self.0)
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox<'a> {
    local_part: LocalPart<'a>,
    domain: DomainPart<'a>,
}

impl<'a> Mailbox<'a> {
    /// Joins a local part and a domain.
    pub fn new(local_part: LocalPart<'a>, domain: DomainPart<'a>) -> Self {
        Self { local_part, domain }
    }

    /// The local part.
    pub fn local_part(&self) -> &LocalPart<'a> {
        &self.local_part
    }

    /// The domain or address literal.
    pub fn domain(&self) -> &DomainPart<'a> {
        &self.domain
    }

    /// Whether the address is plain ASCII; otherwise it needs SMTPUTF8 (RFC 6531).
    pub fn is_ascii(&self) -> bool {
        self.local_part.0.is_ascii() && self.domain.is_ascii()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            local_part: self.local_part.into_owned(),
            domain: self.domain.into_owned(),
        }
    }
}

impl fmt::Display for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part.as_wire(), self.domain)
    }
}

impl<'a> TryFrom<&'a str> for Mailbox<'a> {
    type Error = InvalidInput;

    /// Parses `local@domain` (wire form, without angle brackets).
    fn try_from(s: &'a str) -> Result<Self, InvalidInput> {
        validate("mailbox", s, crate::grammar::mailbox)
    }
}

/// The argument of `MAIL FROM:`: `Reverse-path = Path / "<>"`.
///
/// A source route (`<@a,@b:user@c>`) is accepted by the parser and dropped, as RFC 5321
/// §4.1.1.2 tells servers to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath<'a> {
    /// `<>`: the null sender of bounces.
    Null,
    /// A mailbox.
    Mailbox(Mailbox<'a>),
}

impl<'a> ReversePath<'a> {
    /// The mailbox, unless this is the null path.
    pub fn mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            Self::Null => None,
            Self::Mailbox(m) => Some(m),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            Self::Null => ReversePath::Null,
            Self::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }
}

impl fmt::Display for ReversePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("<>"),
            Self::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The argument of `RCPT TO:`.
///
/// `<Postmaster>` without a domain is its own variant: it is legal, and it is not the null
/// path. `<Postmaster@domain>` is an ordinary mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>`
    Postmaster,
    /// A mailbox.
    Mailbox(Mailbox<'a>),
}

impl<'a> ForwardPath<'a> {
    /// The mailbox, unless this is the bare `<Postmaster>`.
    pub fn mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            Self::Postmaster => None,
            Self::Mailbox(m) => Some(m),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ForwardPath<'static> {
        match self {
            Self::Postmaster => ForwardPath::Postmaster,
            Self::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }
}

impl fmt::Display for ForwardPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postmaster => f.write_str("<Postmaster>"),
            Self::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}
