//! The EHLO reply as a typed list of service extensions (RFC 5321 §4.1.1.1).

use std::borrow::Cow;

use super::{
    InvalidInput,
    reply::{Reply, ReplyCode},
    sasl::{Mechanism, is_mechanism},
};

/// One service extension advertised in the EHLO reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Capability<'a> {
    /// `SIZE [SP max]` (RFC 1870). `Some(0)` means no fixed limit.
    Size(Option<u64>),
    /// `PIPELINING` (RFC 2920)
    Pipelining,
    /// `8BITMIME` (RFC 6152)
    EightBitMime,
    /// `SMTPUTF8` (RFC 6531)
    SmtpUtf8,
    /// `CHUNKING` (RFC 3030)
    Chunking,
    /// `BINARYMIME` (RFC 3030)
    BinaryMime,
    /// `DSN` (RFC 3461)
    Dsn,
    /// `STARTTLS` (RFC 3207)
    StartTls,
    /// `AUTH mechanism...` (RFC 4954)
    Auth(Vec<Mechanism<'a>>),
    /// `ENHANCEDSTATUSCODES` (RFC 2034)
    EnhancedStatusCodes,
    /// `REQUIRETLS` (RFC 8689)
    RequireTls,
    /// `DELIVERBY [SP min-by-time]` (RFC 2852)
    DeliverBy(Option<u64>),
    /// `FUTURERELEASE SP max-interval SP max-datetime` (RFC 4865)
    FutureRelease {
        /// Longest hold in seconds.
        max_interval: u64,
        /// Latest release time, RFC 3339, as written.
        max_datetime: Cow<'a, str>,
    },
    /// `MT-PRIORITY [SP profile]` (RFC 6710)
    MtPriority(Option<Cow<'a, str>>),
    /// `ETRN` (RFC 1985)
    Etrn,
    /// `HELP`
    Help,
    /// Anything else, kept as keyword and parameters.
    Other {
        /// The keyword as written.
        keyword: Cow<'a, str>,
        /// Space-separated parameters.
        params: Vec<Cow<'a, str>>,
    },
}

impl<'a> Capability<'a> {
    /// Parses one `ehlo-line = ehlo-keyword *( SP ehlo-param )`.
    pub fn parse(line: &'a str) -> Self {
        let mut words = line.split(' ');
        let keyword = words.next().unwrap_or_default();
        let params: Vec<&'a str> = words.collect();
        let plain = |c: Capability<'a>| if params.is_empty() { Some(c) } else { None };
        let known = match keyword.to_ascii_uppercase().as_str() {
            "SIZE" => match params.as_slice() {
                [] => Some(Self::Size(None)),
                [n] => n.parse().ok().map(|n| Self::Size(Some(n))),
                _ => None,
            },
            "PIPELINING" => plain(Self::Pipelining),
            "8BITMIME" => plain(Self::EightBitMime),
            "SMTPUTF8" => plain(Self::SmtpUtf8),
            "CHUNKING" => plain(Self::Chunking),
            "BINARYMIME" => plain(Self::BinaryMime),
            "DSN" => plain(Self::Dsn),
            "STARTTLS" => plain(Self::StartTls),
            "ENHANCEDSTATUSCODES" => plain(Self::EnhancedStatusCodes),
            "REQUIRETLS" => plain(Self::RequireTls),
            "ETRN" => plain(Self::Etrn),
            "HELP" => plain(Self::Help),
            "AUTH" if params.iter().all(|m| is_mechanism(m)) => Some(Self::Auth(
                params
                    .iter()
                    .filter_map(|m| Mechanism::new(*m).ok())
                    .collect(),
            )),
            "DELIVERBY" => match params.as_slice() {
                [] => Some(Self::DeliverBy(None)),
                [n] => n.parse().ok().map(|n| Self::DeliverBy(Some(n))),
                _ => None,
            },
            "FUTURERELEASE" => match params.as_slice() {
                [i, d] => i.parse().ok().map(|max_interval| Self::FutureRelease {
                    max_interval,
                    max_datetime: Cow::Borrowed(*d),
                }),
                _ => None,
            },
            "MT-PRIORITY" => match params.as_slice() {
                [] => Some(Self::MtPriority(None)),
                [p] => Some(Self::MtPriority(Some(Cow::Borrowed(*p)))),
                _ => None,
            },
            _ => None,
        };
        // Only the canonical spelling is lifted into a typed variant, so encoding gives back
        // the bytes received (`SIZE 0010` and `size 10` stay as written).
        let canonical = |cap: &Capability<'_>| {
            let mut written = String::with_capacity(line.len());
            cap.write_line(&mut written);
            written == line
        };
        match known {
            Some(cap) if canonical(&cap) => cap,
            _ => Self::Other {
                keyword: Cow::Borrowed(keyword),
                params: params.into_iter().map(Cow::Borrowed).collect(),
            },
        }
    }

    /// The keyword, upper case for the known ones.
    pub fn keyword(&self) -> &str {
        match self {
            Self::Size(_) => "SIZE",
            Self::Pipelining => "PIPELINING",
            Self::EightBitMime => "8BITMIME",
            Self::SmtpUtf8 => "SMTPUTF8",
            Self::Chunking => "CHUNKING",
            Self::BinaryMime => "BINARYMIME",
            Self::Dsn => "DSN",
            Self::StartTls => "STARTTLS",
            Self::Auth(_) => "AUTH",
            Self::EnhancedStatusCodes => "ENHANCEDSTATUSCODES",
            Self::RequireTls => "REQUIRETLS",
            Self::DeliverBy(_) => "DELIVERBY",
            Self::FutureRelease { .. } => "FUTURERELEASE",
            Self::MtPriority(_) => "MT-PRIORITY",
            Self::Etrn => "ETRN",
            Self::Help => "HELP",
            Self::Other { keyword, .. } => keyword,
        }
    }

    /// Writes the `ehlo-line`.
    pub fn write_line(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str(self.keyword());
        match self {
            Self::Size(Some(n)) | Self::DeliverBy(Some(n)) => {
                let _ = write!(out, " {n}");
            }
            Self::Auth(mechs) => {
                for m in mechs {
                    out.push(' ');
                    out.push_str(m.as_str());
                }
            }
            Self::FutureRelease {
                max_interval,
                max_datetime,
            } => {
                let _ = write!(out, " {max_interval} {max_datetime}");
            }
            Self::MtPriority(Some(p)) => {
                out.push(' ');
                out.push_str(p);
            }
            Self::Other { params, .. } => {
                for p in params {
                    out.push(' ');
                    out.push_str(p);
                }
            }
            _ => {}
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Capability<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Self::Size(n) => Capability::Size(n),
            Self::Pipelining => Capability::Pipelining,
            Self::EightBitMime => Capability::EightBitMime,
            Self::SmtpUtf8 => Capability::SmtpUtf8,
            Self::Chunking => Capability::Chunking,
            Self::BinaryMime => Capability::BinaryMime,
            Self::Dsn => Capability::Dsn,
            Self::StartTls => Capability::StartTls,
            Self::Auth(m) => Capability::Auth(m.into_iter().map(Mechanism::into_owned).collect()),
            Self::EnhancedStatusCodes => Capability::EnhancedStatusCodes,
            Self::RequireTls => Capability::RequireTls,
            Self::DeliverBy(n) => Capability::DeliverBy(n),
            Self::FutureRelease {
                max_interval,
                max_datetime,
            } => Capability::FutureRelease {
                max_interval,
                max_datetime: own(max_datetime),
            },
            Self::MtPriority(p) => Capability::MtPriority(p.map(own)),
            Self::Etrn => Capability::Etrn,
            Self::Help => Capability::Help,
            Self::Other { keyword, params } => Capability::Other {
                keyword: own(keyword),
                params: params.into_iter().map(own).collect(),
            },
        }
    }
}

/// A positive EHLO reply: the server's name, its greeting, and its extensions.
///
/// ```text
/// ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
///             / ( "250-" Domain [ SP ehlo-greet ] CRLF
///                 *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhloReply<'a> {
    /// The server's name as it gives it (a domain or an address literal).
    pub domain: Cow<'a, str>,
    /// The free text after the name.
    pub greeting: Option<Cow<'a, str>>,
    /// The advertised extensions, in order.
    pub capabilities: Vec<Capability<'a>>,
}

impl EhloReply<'_> {
    /// What a client makes of a `250` reply to EHLO that [`EhloReply::from_reply`] refuses:
    /// an enhanced status code before each line (some servers send them) is dropped, and a
    /// reply without a domain gives an empty one, so that the extensions offered (STARTTLS
    /// above all) are still seen.
    pub fn from_reply_leniently(reply: &Reply<'_>) -> EhloReply<'static> {
        let strip = |line: &str| -> String {
            super::reply::enhanced_status(line)
                .map_or(line, |(_, rest)| rest)
                .to_owned()
        };
        let mut lines = reply.lines().map(strip);
        let first = lines.next().unwrap_or_default();
        let (domain, greeting) = match first.split_once(' ') {
            Some((d, g)) => (d.to_owned(), Some(Cow::Owned(g.to_owned()))),
            None => (first, None),
        };
        EhloReply {
            domain: Cow::Owned(domain),
            greeting,
            capabilities: lines
                .filter(|l| !l.is_empty())
                .map(|l| Capability::parse(&l).into_owned())
                .collect(),
        }
    }
}

impl<'a> EhloReply<'a> {
    /// Reads the capabilities from a `250` reply to EHLO or LHLO.
    pub fn from_reply(reply: &'a Reply<'_>) -> Result<Self, InvalidInput> {
        if reply.code() != ReplyCode::OK || reply.status().is_some() {
            return Err(InvalidInput::new(
                "EHLO reply",
                "a 250 reply without status code",
            ));
        }
        let mut rest = reply.lines();
        let first = rest
            .next()
            .ok_or(InvalidInput::new("EHLO reply", "at least one line"))?;
        let (domain, greeting) = match first.split_once(' ') {
            Some((d, g)) => (d, Some(Cow::Borrowed(g))),
            None => (first, None),
        };
        if domain.is_empty() {
            return Err(InvalidInput::new("EHLO reply", "the server's domain"));
        }
        Ok(Self {
            domain: Cow::Borrowed(domain),
            greeting,
            capabilities: rest.map(Capability::parse).collect(),
        })
    }

    /// Builds the `250` reply.
    pub fn to_reply(&self) -> Result<Reply<'static>, InvalidInput> {
        let mut lines = Vec::with_capacity(1 + self.capabilities.len());
        let mut first = self.domain.clone().into_owned();
        if let Some(g) = &self.greeting {
            first.push(' ');
            first.push_str(g);
        }
        lines.push(Cow::Owned(first));
        for cap in &self.capabilities {
            let mut line = String::new();
            cap.write_line(&mut line);
            lines.push(Cow::Owned(line));
        }
        let reply = Reply::from_lines(ReplyCode::OK, None, lines)?;
        // Lines that all start like an enhanced status code (a server named `2.0.0`) would
        // read back as a status, which an EHLO reply does not carry (RFC 2034 §3).
        if reply.status().is_some() {
            return Err(InvalidInput::new(
                "EHLO reply",
                "lines that do not all start with an enhanced status code",
            ));
        }
        Ok(reply)
    }

    /// The extension with this keyword, if advertised.
    pub fn get(&self, keyword: &str) -> Option<&Capability<'a>> {
        self.capabilities
            .iter()
            .find(|c| c.keyword().eq_ignore_ascii_case(keyword))
    }

    /// Whether an extension with this keyword is advertised.
    pub fn has(&self, keyword: &str) -> bool {
        self.get(keyword).is_some()
    }

    /// The advertised `SIZE` limit: `None` if not advertised or 0 (no limit). Read as clients
    /// read it also where it is not written canonically (`size 1000`, `SIZE  1000`).
    pub fn size_limit(&self) -> Option<u64> {
        match self.get("SIZE") {
            Some(Capability::Size(Some(n))) if *n > 0 => Some(*n),
            Some(Capability::Other { params, .. }) => params
                .iter()
                .find(|p| !p.is_empty())
                .and_then(|p| p.parse().ok())
                .filter(|&n| n > 0),
            _ => None,
        }
    }

    /// The advertised SASL mechanisms.
    pub fn auth_mechanisms(&self) -> &[Mechanism<'a>] {
        match self.get("AUTH") {
            Some(Capability::Auth(m)) => m,
            _ => &[],
        }
    }

    /// Whether the server offers SASL `mechanism`: in the AUTH line, read as clients read
    /// it (words separated by runs of spaces, in any case), or in the pre-RFC `AUTH=` line
    /// old servers send (`AUTH=PLAIN LOGIN`), as Postfix's client reads them too.
    pub fn offers_auth(&self, mechanism: &Mechanism<'_>) -> bool {
        self.capabilities.iter().any(|c| match c {
            Capability::Auth(m) => m.contains(mechanism),
            Capability::Other { keyword, params } => {
                let legacy = keyword
                    .get(..5)
                    .filter(|k| k.eq_ignore_ascii_case("AUTH="))
                    .map(|_| &keyword[5..]);
                (keyword.eq_ignore_ascii_case("AUTH") || legacy.is_some())
                    && legacy
                        .into_iter()
                        .chain(params.iter().map(AsRef::as_ref))
                        .any(|w| w.eq_ignore_ascii_case(mechanism.as_str()))
            }
            _ => false,
        })
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> EhloReply<'static> {
        EhloReply {
            domain: Cow::Owned(self.domain.into_owned()),
            greeting: self.greeting.map(|g| Cow::Owned(g.into_owned())),
            capabilities: self
                .capabilities
                .into_iter()
                .map(Capability::into_owned)
                .collect(),
        }
    }
}
