//! Capabilities announced in answer to CAPA (RFC 2449 §5–6, RFC 2595 §4, RFC 3206 §6,
//! RFC 6856 §2–3).

use std::borrow::Cow;

use super::{Text, own, sasl::Mechanism};

/// One line of a CAPA response.
///
/// ```text
/// capability = capa-tag *(SP param) CRLF     ; 512 octets maximum
/// capa-tag   = 1*cchar
/// cchar      = %x21-2D / %x2F-7F             ; printable ASCII, excluding "."
/// param      = 1*VCHAR
/// ```
///
/// A known tag whose parameters do not fit its definition is kept as
/// [`Capability::Other`], as is every unknown tag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Capability<'a> {
    /// `TOP` (RFC 2449 §6.1)
    Top,
    /// `USER` (RFC 2449 §6.2): USER and PASS are accepted.
    User,
    /// `SASL *(SP mechanism)` (RFC 2449 §6.3, RFC 5034)
    Sasl(Vec<Mechanism<'a>>),
    /// `RESP-CODES` (RFC 2449 §6.4)
    RespCodes,
    /// `AUTH-RESP-CODE` (RFC 3206 §6)
    AuthRespCode,
    /// `LOGIN-DELAY SP seconds [SP "USER"]` (RFC 2449 §6.5)
    LoginDelay {
        /// Minimum seconds between logins.
        seconds: u64,
        /// `USER`: the delay varies per user.
        per_user: bool,
    },
    /// `PIPELINING` (RFC 2449 §6.6)
    Pipelining,
    /// `EXPIRE SP ( "NEVER" / days ) [SP "USER"]` (RFC 2449 §6.7)
    Expire {
        /// Days a retrieved message is kept; `None` for `NEVER`.
        days: Option<u64>,
        /// `USER`: the policy varies per user.
        per_user: bool,
    },
    /// `UIDL` (RFC 2449 §6.8)
    Uidl,
    /// `IMPLEMENTATION SP text` (RFC 2449 §6.9)
    Implementation(Text<'a>),
    /// `STLS` (RFC 2595 §4)
    Stls,
    /// `UTF8 [SP "USER"]` (RFC 6856 §2): `USER` means UTF-8 user names and passwords are
    /// accepted.
    Utf8 {
        /// The `USER` argument.
        user: bool,
    },
    /// `LANG` (RFC 6856 §3)
    Lang,
    /// Any other capability, kept as written.
    Other(OtherCapability<'a>),
}

/// A capability this crate does not type: its tag and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherCapability<'a> {
    tag: Cow<'a, str>,
    params: Vec<Cow<'a, str>>,
}

impl<'a> OtherCapability<'a> {
    pub(crate) fn from_parsed(tag: &'a str, params: Vec<Cow<'a, str>>) -> Self {
        Self {
            tag: Cow::Borrowed(tag),
            params,
        }
    }

    /// The tag as written.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The parameters.
    pub fn params(&self) -> &[Cow<'a, str>] {
        &self.params
    }
}

impl Capability<'_> {
    /// The tag, upper case for known capabilities.
    pub fn tag(&self) -> &str {
        match self {
            Self::Top => "TOP",
            Self::User => "USER",
            Self::Sasl(_) => "SASL",
            Self::RespCodes => "RESP-CODES",
            Self::AuthRespCode => "AUTH-RESP-CODE",
            Self::LoginDelay { .. } => "LOGIN-DELAY",
            Self::Pipelining => "PIPELINING",
            Self::Expire { .. } => "EXPIRE",
            Self::Uidl => "UIDL",
            Self::Implementation(_) => "IMPLEMENTATION",
            Self::Stls => "STLS",
            Self::Utf8 { .. } => "UTF8",
            Self::Lang => "LANG",
            Self::Other(o) => o.tag(),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Capability<'static> {
        match self {
            Self::Top => Capability::Top,
            Self::User => Capability::User,
            Self::Sasl(m) => Capability::Sasl(m.into_iter().map(Mechanism::into_owned).collect()),
            Self::RespCodes => Capability::RespCodes,
            Self::AuthRespCode => Capability::AuthRespCode,
            Self::LoginDelay { seconds, per_user } => Capability::LoginDelay { seconds, per_user },
            Self::Pipelining => Capability::Pipelining,
            Self::Expire { days, per_user } => Capability::Expire { days, per_user },
            Self::Uidl => Capability::Uidl,
            Self::Implementation(t) => Capability::Implementation(t.into_owned()),
            Self::Stls => Capability::Stls,
            Self::Utf8 { user } => Capability::Utf8 { user },
            Self::Lang => Capability::Lang,
            Self::Other(o) => Capability::Other(OtherCapability {
                tag: own(o.tag),
                params: o.params.into_iter().map(own).collect(),
            }),
        }
    }
}

/// A server's capability list, with the questions a client asks of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities<'a>(pub Vec<Capability<'a>>);

impl<'a> Capabilities<'a> {
    /// Whether a capability with this tag is listed (ignoring case).
    pub fn has(&self, tag: &str) -> bool {
        self.0.iter().any(|c| c.tag().eq_ignore_ascii_case(tag))
    }

    /// The SASL mechanisms offered (empty without `SASL`).
    pub fn sasl(&self) -> &[Mechanism<'a>] {
        self.0
            .iter()
            .find_map(|c| match c {
                Capability::Sasl(m) => Some(m.as_slice()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Whether `PIPELINING` is offered.
    pub fn pipelining(&self) -> bool {
        self.0.contains(&Capability::Pipelining)
    }

    /// Whether `STLS` is offered.
    pub fn stls(&self) -> bool {
        self.0.contains(&Capability::Stls)
    }

    /// Whether `USER` is offered.
    pub fn user(&self) -> bool {
        self.0.contains(&Capability::User)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Capabilities<'static> {
        Capabilities(self.0.into_iter().map(Capability::into_owned).collect())
    }
}
