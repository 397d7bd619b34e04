//! POP3 commands (RFC 1939 §4–7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH, RFC 6856 UTF8
//! and LANG).

use std::{borrow::Cow, fmt, num::NonZeroU32};

use super::{
    own,
    response::Expect,
    sasl::{Mechanism, Secret},
};

/// A message number: `msg = 1*DIGIT`, counting from 1 in the order of the maildrop listing
/// (RFC 1939 §5). Numbers stay valid for the whole session; deleted messages keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageNumber(NonZeroU32);

impl MessageNumber {
    /// The message numbered `n`; `None` for 0.
    pub const fn new(n: u32) -> Option<Self> {
        match NonZeroU32::new(n) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The position in the maildrop listing, from 0.
    pub fn index(self) -> usize {
        // A u32 always fits in usize on the platforms this crate supports (32 and 64 bit).
        usize::try_from(self.0.get() - 1).unwrap_or(usize::MAX)
    }

    /// The number of the message at `index` (from 0) in the maildrop listing.
    pub fn from_index(index: usize) -> Option<Self> {
        u32::try_from(index.checked_add(1)?)
            .ok()
            .and_then(Self::new)
    }
}

impl fmt::Display for MessageNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The optional initial response of `AUTH` (RFC 5034 §4): `initial-response = base64 / "="`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthInitial<'a> {
    /// `=`: an initial response of zero length.
    Empty,
    /// Base64, validated but not decoded. Never empty (that is [`AuthInitial::Empty`]).
    Base64(Secret<Cow<'a, str>>),
}

/// A command a client sends.
///
/// Free-form arguments (user names, passwords, language ranges) are plain `Cow<str>` fields;
/// the encoder checks them, so nothing that would break the line reaches the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `USER SP name` (RFC 1939 §7): `name` is a VCHAR parameter, UTF-8 allowed (RFC 6856).
    User {
        /// The mailbox name.
        name: Cow<'a, str>,
    },
    /// `PASS SP string` (RFC 1939 §7): the rest of the line, spaces included.
    Pass {
        /// The password.
        password: Secret<Cow<'a, str>>,
    },
    /// `APOP SP name SP digest` (RFC 1939 §7): `digest` is 32 hexadecimal digits, the MD5 of
    /// the greeting's timestamp followed by the shared secret.
    Apop {
        /// The mailbox name.
        name: Cow<'a, str>,
        /// The digest as sent.
        digest: Cow<'a, str>,
    },
    /// `AUTH SP sasl-mech [SP initial-response]` (RFC 5034 §4).
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism<'a>,
        /// The initial response, if given.
        initial: Option<AuthInitial<'a>>,
    },
    /// `AUTH` without argument: list the SASL mechanisms as a multi-line response. Not in
    /// RFC 5034, but sent by real clients (Thunderbird) and answered by Dovecot and Courier.
    AuthList,
    /// `QUIT`
    Quit,
    /// `STAT`: the drop listing.
    Stat,
    /// `LIST [SP msg]`: scan listings, one (single-line) or all (multi-line).
    List {
        /// The message, if one.
        msg: Option<MessageNumber>,
    },
    /// `RETR SP msg`
    Retr {
        /// The message.
        msg: MessageNumber,
    },
    /// `DELE SP msg`
    Dele {
        /// The message.
        msg: MessageNumber,
    },
    /// `NOOP`
    Noop,
    /// `RSET`: unmark the messages marked as deleted.
    Rset,
    /// `TOP SP msg SP n`: the header and the first `n` lines of the body.
    Top {
        /// The message.
        msg: MessageNumber,
        /// Body lines to send.
        lines: u64,
    },
    /// `UIDL [SP msg]`: unique-id listings, one (single-line) or all (multi-line).
    Uidl {
        /// The message, if one.
        msg: Option<MessageNumber>,
    },
    /// `CAPA` (RFC 2449 §5)
    Capa,
    /// `STLS` (RFC 2595 §4)
    Stls,
    /// `UTF8` (RFC 6856 §2)
    Utf8,
    /// `LANG [SP lang-range]` (RFC 6856 §3): without argument, list the languages.
    Lang {
        /// A language tag or `*`.
        range: Option<Cow<'a, str>>,
    },
}

impl Command<'_> {
    /// The keyword, upper case.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::User { .. } => "USER",
            Self::Pass { .. } => "PASS",
            Self::Apop { .. } => "APOP",
            Self::Auth { .. } | Self::AuthList => "AUTH",
            Self::Quit => "QUIT",
            Self::Stat => "STAT",
            Self::List { .. } => "LIST",
            Self::Retr { .. } => "RETR",
            Self::Dele { .. } => "DELE",
            Self::Noop => "NOOP",
            Self::Rset => "RSET",
            Self::Top { .. } => "TOP",
            Self::Uidl { .. } => "UIDL",
            Self::Capa => "CAPA",
            Self::Stls => "STLS",
            Self::Utf8 => "UTF8",
            Self::Lang { .. } => "LANG",
        }
    }

    /// What the server answers this command with, so a reader of the server's stream knows
    /// whether a `+OK` is followed by a multi-line body (RFC 1939 §3, RFC 2449 §5, RFC 6856
    /// §3). A `-ERR` is always a single line.
    ///
    /// | command | positive response |
    /// |---|---|
    /// | `CAPA`, `RETR`, `TOP`, `LIST`, `UIDL`, `LANG` (no argument), `AUTH` (no argument) | multi-line |
    /// | `AUTH mechanism …` | `+ ` challenges until a final `+OK`/`-ERR` ([`Expect::Sasl`]) |
    /// | everything else, and `LIST n`, `UIDL n`, `LANG tag` | single line |
    ///
    /// The server's greeting, before any command, is a single line.
    pub fn response_kind(&self) -> Expect {
        match self {
            Self::Capa
            | Self::Retr { .. }
            | Self::Top { .. }
            | Self::AuthList
            | Self::List { msg: None }
            | Self::Uidl { msg: None }
            | Self::Lang { range: None } => Expect::MultiLine,
            Self::Auth { .. } => Expect::Sasl,
            _ => Expect::SingleLine,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Command<'static> {
        match self {
            Self::User { name } => Command::User { name: own(name) },
            Self::Pass { password } => Command::Pass {
                password: Secret::new(own(password.into_inner())),
            },
            Self::Apop { name, digest } => Command::Apop {
                name: own(name),
                digest: own(digest),
            },
            Self::Auth { mechanism, initial } => Command::Auth {
                mechanism: mechanism.into_owned(),
                initial: initial.map(|i| match i {
                    AuthInitial::Empty => AuthInitial::Empty,
                    AuthInitial::Base64(s) => AuthInitial::Base64(Secret::new(own(s.into_inner()))),
                }),
            },
            Self::AuthList => Command::AuthList,
            Self::Quit => Command::Quit,
            Self::Stat => Command::Stat,
            Self::List { msg } => Command::List { msg },
            Self::Retr { msg } => Command::Retr { msg },
            Self::Dele { msg } => Command::Dele { msg },
            Self::Noop => Command::Noop,
            Self::Rset => Command::Rset,
            Self::Top { msg, lines } => Command::Top { msg, lines },
            Self::Uidl { msg } => Command::Uidl { msg },
            Self::Capa => Command::Capa,
            Self::Stls => Command::Stls,
            Self::Utf8 => Command::Utf8,
            Self::Lang { range } => Command::Lang {
                range: range.map(own),
            },
        }
    }
}
