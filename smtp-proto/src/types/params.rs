//! MAIL and RCPT parameters (`esmtp-param`) as typed values.
//!
//! Parameters this crate does not know are kept as [`UnknownParam`]s rather than rejected, so
//! new extensions pass through. The `unknown` vectors allocate only when such a parameter
//! appears.

use std::borrow::Cow;

use super::{InvalidInput, xtext::XText};

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `7BIT`
    SevenBit,
    /// `8BITMIME`
    EightBitMime,
    /// `BINARYMIME` (needs BDAT)
    BinaryMime,
}

impl Body {
    /// The keyword as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SevenBit => "7BIT",
            Self::EightBitMime => "8BITMIME",
            Self::BinaryMime => "BINARYMIME",
        }
    }
}

/// `RET=` (RFC 3461 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// `FULL`: return the whole message in a DSN.
    Full,
    /// `HDRS`: return only the headers.
    Hdrs,
}

impl Ret {
    /// The keyword as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Hdrs => "HDRS",
        }
    }
}

/// `NOTIFY=` (RFC 3461 §4.1): `NEVER`, or any of `SUCCESS`, `FAILURE`, `DELAY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// `NEVER`
    Never,
    /// A non-empty combination of the three conditions.
    On {
        /// `SUCCESS`
        success: bool,
        /// `FAILURE`
        failure: bool,
        /// `DELAY`
        delay: bool,
    },
}

/// `ORCPT=addr-type;xtext` (RFC 3461 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orcpt<'a> {
    /// The address type, usually `rfc822`. An `atom`.
    pub addr_type: Cow<'a, str>,
    /// The original recipient, xtext-encoded.
    pub addr: XText<'a>,
}

impl Orcpt<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Orcpt<'static> {
        Orcpt {
            addr_type: Cow::Owned(self.addr_type.into_owned()),
            addr: self.addr.into_owned(),
        }
    }
}

/// `BY=time;mode[T]` (RFC 2852).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverBy {
    /// Seconds, possibly negative for `R` mode.
    pub time: i64,
    /// `R` (return if not delivered in time) or `N` (notify).
    pub return_on_expiry: bool,
    /// The trace modifier `T`.
    pub trace: bool,
}

/// `HOLDFOR=` or `HOLDUNTIL=` (RFC 4865, FUTURERELEASE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold<'a> {
    /// `HOLDFOR=seconds`
    For(u64),
    /// `HOLDUNTIL=date-time` (RFC 3339), kept as written.
    Until(Cow<'a, str>),
}

/// A parameter this crate does not interpret: `esmtp-keyword ["=" esmtp-value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownParam<'a> {
    /// The keyword, as written.
    pub keyword: Cow<'a, str>,
    /// The value, if any.
    pub value: Option<Cow<'a, str>>,
}

impl<'a> UnknownParam<'a> {
    /// Builds a parameter, validating keyword and value.
    pub fn new(
        keyword: impl Into<Cow<'a, str>>,
        value: Option<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        let keyword = keyword.into();
        super::validate("parameter keyword", &keyword, crate::grammar::esmtp_keyword)?;
        if let Some(v) = &value {
            super::validate("parameter value", v, crate::grammar::esmtp_value)?;
        }
        Ok(Self { keyword, value })
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> UnknownParam<'static> {
        UnknownParam {
            keyword: Cow::Owned(self.keyword.into_owned()),
            value: self.value.map(|v| Cow::Owned(v.into_owned())),
        }
    }
}

/// The parameters of `MAIL FROM:`. Each known parameter appears at most once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` (RFC 1870): the client's estimate of the message size.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), xtext.
    pub envid: Option<XText<'a>>,
    /// `AUTH=` (RFC 4954 §5): the authenticated submitter, xtext (`<>` for none).
    pub auth: Option<XText<'a>>,
    /// `MT-PRIORITY=` (RFC 6710), from -9 to 9.
    pub mt_priority: Option<i8>,
    /// `BY=` (RFC 2852).
    pub by: Option<DeliverBy>,
    /// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865).
    pub hold: Option<Hold<'a>>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// Parameters not interpreted here, in the order received.
    pub unknown: Vec<UnknownParam<'a>>,
}

impl MailParams<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> MailParams<'static> {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(XText::into_owned),
            auth: self.auth.map(XText::into_owned),
            mt_priority: self.mt_priority,
            by: self.by,
            hold: self.hold.map(|h| match h {
                Hold::For(s) => Hold::For(s),
                Hold::Until(t) => Hold::Until(Cow::Owned(t.into_owned())),
            }),
            requiretls: self.requiretls,
            unknown: self
                .unknown
                .into_iter()
                .map(UnknownParam::into_owned)
                .collect(),
        }
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == MailParams::default()
    }
}

/// The parameters of `RCPT TO:`. Each known parameter appears at most once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461).
    pub orcpt: Option<Orcpt<'a>>,
    /// Parameters not interpreted here, in the order received.
    pub unknown: Vec<UnknownParam<'a>>,
}

impl RcptParams<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(Orcpt::into_owned),
            unknown: self
                .unknown
                .into_iter()
                .map(UnknownParam::into_owned)
                .collect(),
        }
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == RcptParams::default()
    }
}
