//! Capabilities (RFC 9051 §7.2.2 and the extensions).

use std::{borrow::Cow, fmt};

use super::{InvalidInput, core::Atom};

/// One capability. Known names are recognized in their canonical spelling; anything else is
/// kept as an atom, so the list re-encodes as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability<'a> {
    /// `IMAP4rev1`
    Imap4Rev1,
    /// `IMAP4rev2`
    Imap4Rev2,
    /// `STARTTLS`
    StartTls,
    /// `LOGINDISABLED`
    LoginDisabled,
    /// `AUTH=mechanism`
    Auth(Atom<'a>),
    /// `SASL-IR` (RFC 4959)
    SaslIr,
    /// `IDLE` (RFC 2177)
    Idle,
    /// `UIDPLUS` (RFC 4315)
    UidPlus,
    /// `MOVE` (RFC 6851)
    Move,
    /// `CONDSTORE` (RFC 7162)
    CondStore,
    /// `QRESYNC` (RFC 7162)
    QResync,
    /// `ENABLE` (RFC 5161)
    Enable,
    /// `NAMESPACE` (RFC 2342)
    Namespace,
    /// `ID` (RFC 2971)
    Id,
    /// `SPECIAL-USE` (RFC 6154)
    SpecialUse,
    /// `CREATE-SPECIAL-USE` (RFC 6154)
    CreateSpecialUse,
    /// `CHILDREN` (RFC 3348)
    Children,
    /// `LIST-EXTENDED` (RFC 5258)
    ListExtended,
    /// `LIST-STATUS` (RFC 5819)
    ListStatus,
    /// `ESEARCH` (RFC 4731)
    ESearch,
    /// `SEARCHRES` (RFC 5182)
    SearchRes,
    /// `UNSELECT` (RFC 3691)
    Unselect,
    /// `UTF8=ACCEPT` (RFC 6855)
    Utf8Accept,
    /// `APPENDLIMIT[=n]` (RFC 7889)
    AppendLimit(Option<u64>),
    /// `STATUS=SIZE` (RFC 8438)
    StatusSize,
    /// `BINARY` (RFC 3516)
    Binary,
    /// `QUOTA` (RFC 9208)
    Quota,
    /// `LITERAL+` (RFC 7888)
    LiteralPlus,
    /// `LITERAL-` (RFC 7888)
    LiteralMinus,
    /// `MULTIAPPEND` (RFC 3502)
    MultiAppend,
    /// `COMPRESS=DEFLATE` (RFC 4978)
    CompressDeflate,
    /// `OBJECTID` (RFC 8474)
    ObjectId,
    /// `SAVEDATE` (RFC 8514)
    SaveDate,
    /// `METADATA` (RFC 5464)
    Metadata,
    /// `SORT` (RFC 5256)
    Sort,
    /// `ESORT` (RFC 5267 §3): SORT takes RETURN options.
    ESort,
    /// `CONTEXT=SEARCH` (RFC 5267 §4): SEARCH takes CONTEXT, UPDATE and PARTIAL.
    ContextSearch,
    /// `CONTEXT=SORT` (RFC 5267 §4): SORT takes them too.
    ContextSort,
    /// `PARTIAL` (RFC 9394)
    Partial,
    /// `URLAUTH` (RFC 4467); a server offering it answers URLFETCH too.
    UrlAuth,
    /// `NOTIFY` (RFC 5465)
    Notify,
    /// `THREAD=algorithm` (RFC 5256)
    Thread(Atom<'a>),
    /// Anything else.
    Other(Atom<'a>),
}

const SIMPLE: &[(&str, Capability<'static>)] = &[
    ("IMAP4rev1", Capability::Imap4Rev1),
    ("IMAP4rev2", Capability::Imap4Rev2),
    ("STARTTLS", Capability::StartTls),
    ("LOGINDISABLED", Capability::LoginDisabled),
    ("SASL-IR", Capability::SaslIr),
    ("IDLE", Capability::Idle),
    ("UIDPLUS", Capability::UidPlus),
    ("MOVE", Capability::Move),
    ("CONDSTORE", Capability::CondStore),
    ("QRESYNC", Capability::QResync),
    ("ENABLE", Capability::Enable),
    ("NAMESPACE", Capability::Namespace),
    ("ID", Capability::Id),
    ("SPECIAL-USE", Capability::SpecialUse),
    ("CREATE-SPECIAL-USE", Capability::CreateSpecialUse),
    ("CHILDREN", Capability::Children),
    ("LIST-EXTENDED", Capability::ListExtended),
    ("LIST-STATUS", Capability::ListStatus),
    ("ESEARCH", Capability::ESearch),
    ("SEARCHRES", Capability::SearchRes),
    ("UNSELECT", Capability::Unselect),
    ("UTF8=ACCEPT", Capability::Utf8Accept),
    ("STATUS=SIZE", Capability::StatusSize),
    ("BINARY", Capability::Binary),
    ("QUOTA", Capability::Quota),
    ("LITERAL+", Capability::LiteralPlus),
    ("LITERAL-", Capability::LiteralMinus),
    ("MULTIAPPEND", Capability::MultiAppend),
    ("COMPRESS=DEFLATE", Capability::CompressDeflate),
    ("OBJECTID", Capability::ObjectId),
    ("SAVEDATE", Capability::SaveDate),
    ("METADATA", Capability::Metadata),
    ("SORT", Capability::Sort),
    ("ESORT", Capability::ESort),
    ("CONTEXT=SEARCH", Capability::ContextSearch),
    ("CONTEXT=SORT", Capability::ContextSort),
    ("PARTIAL", Capability::Partial),
    ("NOTIFY", Capability::Notify),
    ("APPENDLIMIT", Capability::AppendLimit(None)),
    ("URLAUTH", Capability::UrlAuth),
];

impl<'a> Capability<'a> {
    /// Interprets an atom from a capability list. Names compare case-insensitively, as the
    /// ABNF's strings do (RFC 5234 §2.3): `starttls` is STARTTLS.
    pub fn parse(atom: &'a str) -> Result<Self, InvalidInput> {
        if let Some((_, c)) = SIMPLE.iter().find(|(n, _)| n.eq_ignore_ascii_case(atom)) {
            return Ok(c.clone());
        }
        let after = |prefix: &str| {
            atom.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .map(|_| &atom[prefix.len()..])
        };
        // `AUTH=` and `THREAD=` with nothing after them are still atoms (`capability = ("AUTH="
        // auth-type) / atom`): kept as unknown capabilities.
        // SASL names mechanisms in upper case (RFC 4422 §3.1): `auth=plain` is PLAIN.
        let mechanism = after("AUTH=").map(|m| {
            if m.bytes().any(|b| b.is_ascii_lowercase()) {
                Atom::new(m.to_ascii_uppercase())
            } else {
                Atom::new(m)
            }
        });
        if let Some(Ok(m)) = mechanism {
            return Ok(Self::Auth(m));
        }
        if let Some(Ok(a)) = after("THREAD=").map(Atom::new) {
            return Ok(Self::Thread(a));
        }
        if let Some(digits) = after("APPENDLIMIT=") {
            // Only the canonical spelling (no leading zeros) is lifted, so it re-encodes as is.
            if let Ok(n) = digits.parse::<u64>()
                && n.to_string() == digits
            {
                return Ok(Self::AppendLimit(Some(n)));
            }
        }
        Atom::new(atom).map(Self::Other)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Capability<'static> {
        match self {
            Self::Auth(a) => Capability::Auth(a.into_owned()),
            Self::Thread(a) => Capability::Thread(a.into_owned()),
            Self::Other(a) => Capability::Other(a.into_owned()),
            Self::AppendLimit(n) => Capability::AppendLimit(n),
            other => SIMPLE
                .iter()
                .find(|(_, c)| *c == other)
                .map_or(Capability::Imap4Rev1, |(_, c)| c.clone()),
        }
    }

    /// An unknown capability by name.
    pub fn other(name: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        Atom::new(name).map(Self::Other)
    }
}

impl fmt::Display for Capability<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth(m) => write!(f, "AUTH={m}"),
            Self::Thread(a) => write!(f, "THREAD={a}"),
            Self::Other(a) => f.write_str(a.as_str()),
            Self::AppendLimit(Some(n)) => write!(f, "APPENDLIMIT={n}"),
            other => f.write_str(
                SIMPLE
                    .iter()
                    .find(|(_, c)| c == other)
                    .map_or("", |(n, _)| n),
            ),
        }
    }
}
