//! Responses (RFC 1939 §3, RFC 2449 §3 and §8): the status line with its optional response
//! code, SASL continuations (RFC 5034), and multi-line bodies.

use std::{borrow::Cow, fmt};

use super::{InvalidInput, Text};
use crate::grammar;

/// `status = "+OK" / "-ERR"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `+OK`
    Ok,
    /// `-ERR`
    Err,
}

impl Status {
    /// The indicator as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "+OK",
            Self::Err => "-ERR",
        }
    }
}

/// An extended response code (RFC 2449 §8), sent in brackets at the start of the text.
///
/// ```text
/// resp-code  = "[" resp-level *("/" resp-level) "]"
/// resp-level = 1*rchar
/// rchar      = %x21-2E / %x30-5C / %x5E-7F   ; printable ASCII, excluding "/" and "]"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResponseCode<'a> {
    /// `IN-USE` (RFC 2449 §8.1.1): the maildrop is locked by another session.
    InUse,
    /// `LOGIN-DELAY` (RFC 2449 §8.1.2): logging in again too soon.
    LoginDelay,
    /// `SYS/TEMP` (RFC 3206 §4): a temporary system failure; trying later may work.
    SysTemp,
    /// `SYS/PERM` (RFC 3206 §4): a permanent system failure; a human must act.
    SysPerm,
    /// `AUTH` (RFC 3206 §5): the credentials are wrong.
    Auth,
    /// `UTF8` (RFC 6856 §2): the message needs UTF8 mode, which the client did not enable.
    Utf8,
    /// A code this crate does not know, kept as written.
    Other(UnknownCode<'a>),
}

/// A response code this crate does not know (see [`ResponseCode::new`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownCode<'a>(Cow<'a, str>);

impl UnknownCode<'_> {
    /// The code, without brackets.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const KNOWN_CODES: [(&str, ResponseCode<'static>); 6] = [
    ("IN-USE", ResponseCode::InUse),
    ("LOGIN-DELAY", ResponseCode::LoginDelay),
    ("SYS/TEMP", ResponseCode::SysTemp),
    ("SYS/PERM", ResponseCode::SysPerm),
    ("AUTH", ResponseCode::Auth),
    ("UTF8", ResponseCode::Utf8),
];

impl<'a> ResponseCode<'a> {
    /// The code for `name` (without brackets): a known variant when the name is known
    /// (ignoring case), [`ResponseCode::Other`] otherwise.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let name = name.into();
        if !grammar::is_resp_code_body(&name) {
            return Err(InvalidInput::new(
                "response code",
                "resp-level *(\"/\" resp-level) of printable ASCII except ']'",
            ));
        }
        Ok(Self::from_parsed(name))
    }

    pub(crate) fn from_parsed(name: Cow<'a, str>) -> Self {
        KNOWN_CODES
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&name))
            .map_or(Self::Other(UnknownCode(name)), |(_, c)| c.clone())
    }

    /// The code without brackets, upper case for known codes.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InUse => "IN-USE",
            Self::LoginDelay => "LOGIN-DELAY",
            Self::SysTemp => "SYS/TEMP",
            Self::SysPerm => "SYS/PERM",
            Self::Auth => "AUTH",
            Self::Utf8 => "UTF8",
            Self::Other(c) => c.as_str(),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ResponseCode<'static> {
        match self {
            Self::InUse => ResponseCode::InUse,
            Self::LoginDelay => ResponseCode::LoginDelay,
            Self::SysTemp => ResponseCode::SysTemp,
            Self::SysPerm => ResponseCode::SysPerm,
            Self::Auth => ResponseCode::Auth,
            Self::Utf8 => ResponseCode::Utf8,
            Self::Other(c) => ResponseCode::Other(UnknownCode(super::own(c.0))),
        }
    }
}

impl fmt::Display for ResponseCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.as_str())
    }
}

/// A single-line response, or the first line of a multi-line one.
///
/// ```text
/// single-line = status [SP text] CRLF        ; 512 octets maximum (RFC 2449 §9)
/// text        = *schar / resp-code *CHAR
/// ```
///
/// `text` is `None` when nothing follows the status (`+OK`), `Some("")` for `+OK ` with a
/// trailing space. With a code, the text follows the `]` after one space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    status: Status,
    code: Option<ResponseCode<'a>>,
    text: Option<Text<'a>>,
}

impl<'a> Response<'a> {
    /// A response. Without a code, the text must not start with `[`, which a reader would
    /// take for a response code.
    pub fn new(
        status: Status,
        code: Option<ResponseCode<'a>>,
        text: Option<Text<'a>>,
    ) -> Result<Self, InvalidInput> {
        if code.is_none() && text.as_ref().is_some_and(|t| t.as_str().starts_with('[')) {
            return Err(InvalidInput::new(
                "response text",
                "text starting with '[' needs a response code",
            ));
        }
        Ok(Self { status, code, text })
    }

    /// `+OK` with `text`.
    pub fn ok(text: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        Self::new(Status::Ok, None, Some(Text::new(text)?))
    }

    /// `-ERR` with an optional code and `text`.
    pub fn err(
        code: Option<ResponseCode<'a>>,
        text: impl Into<Cow<'a, str>>,
    ) -> Result<Self, InvalidInput> {
        Self::new(Status::Err, code, Some(Text::new(text)?))
    }

    /// A response from parts known to be valid (the crate's own texts, parsed input).
    pub(crate) fn from_parts_unchecked(
        status: Status,
        code: Option<ResponseCode<'a>>,
        text: Option<Cow<'a, str>>,
    ) -> Self {
        debug_assert!(text.as_ref().is_none_or(|t| grammar::is_text(t)));
        Self {
            status,
            code,
            text: text.map(Text::from_parsed),
        }
    }

    /// `+OK` or `-ERR`.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether the status is `+OK`.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The response code, if any.
    pub fn code(&self) -> Option<&ResponseCode<'a>> {
        self.code.as_ref()
    }

    /// The text after the status (and code), if any.
    pub fn text(&self) -> Option<&str> {
        self.text.as_ref().map(Text::as_str)
    }

    /// The APOP timestamp of a greeting (RFC 1939 §7): the first `<…@…>` in the text,
    /// brackets included, as it enters the digest.
    ///
    /// ```text
    /// greeting  = "+OK" [resp-code] *gchar [timestamp] *gchar CRLF
    /// timestamp = "<" *VCHAR ">"     ; MUST conform to RFC-822 msg-id
    /// ```
    pub fn timestamp(&self) -> Option<&str> {
        grammar::find_timestamp(self.text()?)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Response<'static> {
        Response {
            status: self.status,
            code: self.code.map(ResponseCode::into_owned),
            text: self.text.map(Text::into_owned),
        }
    }
}

impl fmt::Display for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status.as_str())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(text) = &self.text {
            write!(f, " {text}")?;
        }
        Ok(())
    }
}

/// A SASL continuation request from the server (RFC 5034 §4): `continue-req = "+" SP
/// [base64] CRLF`. The base64 text is validated but kept encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation<'a>(Cow<'a, str>);

impl<'a> Continuation<'a> {
    /// A challenge carrying `data`, base64-encoded.
    pub fn new(data: &[u8]) -> Continuation<'static> {
        Continuation(Cow::Owned(super::sasl::base64_encode(data)))
    }

    /// A challenge from its base64 text (possibly empty).
    pub fn from_base64(text: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let text = text.into();
        if super::sasl::is_base64(&text) {
            Ok(Self(text))
        } else {
            Err(InvalidInput::new("SASL challenge", "base64"))
        }
    }

    pub(crate) fn from_parsed(text: &'a str) -> Self {
        Self(Cow::Borrowed(text))
    }

    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The decoded challenge.
    pub fn decode(&self) -> Vec<u8> {
        super::sasl::base64_decode(&self.0).unwrap_or_default()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Continuation<'static> {
        Continuation(super::own(self.0))
    }
}

/// The body of a multi-line response as it is on the wire: dot-stuffed lines, each ending in
/// CRLF, without the terminating `.` CRLF (RFC 1939 §3).
///
/// ```text
/// multi-line  = single-line *dot-stuffed ending
/// dot-stuffed = *CHAR CRLF    ; must be dot-stuffed
/// ending      = "." CRLF
/// ```
///
/// Only CRLF ends a line; a bare CR or LF is part of the line's data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Body<'a>(pub(crate) Cow<'a, [u8]>);

impl<'a> Body<'a> {
    /// A body from its stuffed wire form: empty, or lines each ending in CRLF, none of them
    /// a lone `.` (which would end the response).
    pub fn from_stuffed(raw: impl Into<Cow<'a, [u8]>>) -> Result<Self, InvalidInput> {
        let raw = raw.into();
        if !raw.is_empty() && !raw.ends_with(b"\r\n") {
            return Err(InvalidInput::new("body", "lines ending in CRLF"));
        }
        if raw.starts_with(b".\r\n") || memchr::memmem::find(&raw, b"\r\n.\r\n").is_some() {
            return Err(InvalidInput::new(
                "body",
                "no line that is just '.' (stuff it as '..')",
            ));
        }
        Ok(Self(raw))
    }

    pub(crate) fn from_parsed(raw: &'a [u8]) -> Self {
        Self(Cow::Borrowed(raw))
    }

    /// The stuffed wire form, without the terminator.
    pub fn as_stuffed(&self) -> &[u8] {
        &self.0
    }

    /// Whether the body has no lines.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lines, unstuffed, without their CRLF.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let raw: &[u8] = &self.0;
        let mut rest = raw;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let end = memchr::memmem::find(rest, b"\r\n").unwrap_or(rest.len());
            let line = &rest[..end];
            rest = rest.get(end + 2..).unwrap_or_default();
            Some(line.strip_prefix(b".").unwrap_or(line))
        })
    }

    /// The data, unstuffed, each line with its CRLF.
    pub fn unstuffed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len());
        for line in self.lines() {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Body<'static> {
        Body(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Body({:?})", String::from_utf8_lossy(&self.0))
    }
}

/// Everything the server sends in answer to one command (or as its greeting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A single-line response: the greeting, any `-ERR`, and `+OK` to a single-line command.
    Single(Response<'a>),
    /// `+OK` followed by a multi-line body.
    MultiLine {
        /// The first line.
        response: Response<'a>,
        /// The body.
        body: Body<'a>,
    },
    /// A SASL challenge during AUTH.
    Continue(Continuation<'a>),
}

impl Reply<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Reply<'static> {
        match self {
            Self::Single(r) => Reply::Single(r.into_owned()),
            Self::MultiLine { response, body } => Reply::MultiLine {
                response: response.into_owned(),
                body: body.into_owned(),
            },
            Self::Continue(c) => Reply::Continue(c.into_owned()),
        }
    }
}

/// What kind of reply the reader of a server's stream expects next.
///
/// To read a server's stream (a client, a protocol dump), pair it with the client's:
///
/// 1. The greeting comes first: [`Expect::SingleLine`]. Streams that hold several sessions
///    back to back have another greeting after each QUIT.
/// 2. Each command is answered once, as
///    [`Command::response_kind`](crate::Command::response_kind) says.
/// 3. Under [`Expect::Sasl`], a `+ ` challenge ([`Reply::Continue`]) means the client's next
///    line is a SASL line (`codec::decode_sasl_line`), answered once more under
///    [`Expect::Sasl`]; a `+OK` or `-ERR` ends the exchange.
/// 4. After `+OK` to STLS, the rest of both streams is TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// One line: the greeting, or the answer to a single-line command.
    SingleLine,
    /// A multi-line body follows a `+OK`; a `-ERR` is one line.
    MultiLine,
    /// During AUTH: a `+ ` challenge, or a final single-line `+OK`/`-ERR`.
    Sasl,
}
