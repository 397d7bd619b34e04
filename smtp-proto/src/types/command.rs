//! SMTP commands (RFC 5321 §4.1 and the extensions).

use std::borrow::Cow;

use super::{
    address::{Domain, DomainPart, ForwardPath, ReversePath},
    params::{MailParams, RcptParams},
    sasl::{Mechanism, Secret},
};

/// Which greeting verb opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloKind {
    /// `HELO`: plain SMTP, no extensions.
    Helo,
    /// `EHLO`: ESMTP.
    Ehlo,
    /// `LHLO`: LMTP (RFC 2033).
    Lhlo,
}

impl HelloKind {
    /// The verb.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Helo => "HELO",
            Self::Ehlo => "EHLO",
            Self::Lhlo => "LHLO",
        }
    }
}

/// The optional initial response of `AUTH` (RFC 4954 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthInitial<'a> {
    /// `=`: an initial response of zero length.
    Empty,
    /// Base64, validated but not decoded.
    Base64(Secret<Cow<'a, str>>),
}

/// A command a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `HELO SP Domain`, `EHLO SP ( Domain / address-literal )`, `LHLO SP ...`
    Hello {
        /// Which verb.
        kind: HelloKind,
        /// The client's name. For HELO it is always a domain.
        host: DomainPart<'a>,
    },
    /// `MAIL FROM:Reverse-path [SP Mail-parameters]`
    Mail {
        /// The sender.
        from: ReversePath<'a>,
        /// The parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`
    Rcpt {
        /// The recipient.
        to: ForwardPath<'a>,
        /// The parameters.
        params: RcptParams<'a>,
    },
    /// `DATA`
    Data,
    /// `BDAT SP chunk-size [SP end-marker]` (RFC 3030)
    Bdat {
        /// The number of octets that follow the command line.
        size: u64,
        /// `LAST`: this chunk ends the message.
        last: bool,
    },
    /// `RSET`
    Rset,
    /// `NOOP [SP String]`
    Noop {
        /// The argument, ignored by servers.
        arg: Option<Cow<'a, str>>,
    },
    /// `QUIT`
    Quit,
    /// `VRFY SP String`
    Vrfy {
        /// The user or mailbox to verify.
        arg: Cow<'a, str>,
    },
    /// `EXPN SP String`
    Expn {
        /// The list to expand.
        arg: Cow<'a, str>,
    },
    /// `HELP [SP String]`
    Help {
        /// The topic.
        topic: Option<Cow<'a, str>>,
    },
    /// `STARTTLS` (RFC 3207)
    StartTls,
    /// `AUTH SP mechanism [SP initial-response]` (RFC 4954)
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism<'a>,
        /// The initial response, if given.
        initial: Option<AuthInitial<'a>>,
    },
    /// `ETRN SP node` (RFC 1985): `node` is a domain, `@domain` or `#queue`.
    Etrn {
        /// The argument as written.
        node: Cow<'a, str>,
    },
}

impl Command<'_> {
    /// The verb, upper case.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Hello { kind, .. } => kind.as_str(),
            Self::Mail { .. } => "MAIL",
            Self::Rcpt { .. } => "RCPT",
            Self::Data => "DATA",
            Self::Bdat { .. } => "BDAT",
            Self::Rset => "RSET",
            Self::Noop { .. } => "NOOP",
            Self::Quit => "QUIT",
            Self::Vrfy { .. } => "VRFY",
            Self::Expn { .. } => "EXPN",
            Self::Help { .. } => "HELP",
            Self::StartTls => "STARTTLS",
            Self::Auth { .. } => "AUTH",
            Self::Etrn { .. } => "ETRN",
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Command<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            Self::Hello { kind, host } => Command::Hello {
                kind,
                host: host.into_owned(),
            },
            Self::Mail { from, params } => Command::Mail {
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Self::Rcpt { to, params } => Command::Rcpt {
                to: to.into_owned(),
                params: params.into_owned(),
            },
            Self::Data => Command::Data,
            Self::Bdat { size, last } => Command::Bdat { size, last },
            Self::Rset => Command::Rset,
            Self::Noop { arg } => Command::Noop { arg: arg.map(own) },
            Self::Quit => Command::Quit,
            Self::Vrfy { arg } => Command::Vrfy { arg: own(arg) },
            Self::Expn { arg } => Command::Expn { arg: own(arg) },
            Self::Help { topic } => Command::Help {
                topic: topic.map(own),
            },
            Self::StartTls => Command::StartTls,
            Self::Auth { mechanism, initial } => Command::Auth {
                mechanism: mechanism.into_owned(),
                initial: initial.map(|i| match i {
                    AuthInitial::Empty => AuthInitial::Empty,
                    AuthInitial::Base64(s) => AuthInitial::Base64(Secret::new(own(s.into_inner()))),
                }),
            },
            Self::Etrn { node } => Command::Etrn { node: own(node) },
        }
    }
}

/// Makes a `HELO` command's domain into the host of [`Command::Hello`].
impl<'a> From<Domain<'a>> for DomainPart<'a> {
    fn from(d: Domain<'a>) -> Self {
        DomainPart::Domain(d)
    }
}
