//! Mailbox names: UTF-8 in the types, modified UTF-7 (RFC 3501 §5.1.3) on the wire unless
//! UTF8=ACCEPT is enabled.

use std::{borrow::Cow, fmt};

use super::{
    InvalidInput,
    core::{AString, IString},
};

/// A mailbox name as the user sees it (UTF-8). `INBOX` is case-insensitive and always
/// stored as `INBOX`. Equality and hashing look at the name only, not at the form it
/// arrived in.
#[derive(Clone)]
pub struct Mailbox<'a> {
    name: Cow<'a, str>,
    /// The form it arrived in, kept so that re-encoding gives the same bytes.
    wire: Option<AString<'a>>,
}

impl<'a> Mailbox<'a> {
    /// A mailbox with this (UTF-8) name.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let name = name.into();
        if name.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(InvalidInput::new("mailbox", "no CR, LF or NUL"));
        }
        let name = if name.eq_ignore_ascii_case("INBOX") {
            Cow::Borrowed("INBOX")
        } else {
            name
        };
        Ok(Self { name, wire: None })
    }

    /// `INBOX`.
    pub fn inbox() -> Mailbox<'static> {
        Mailbox {
            name: Cow::Borrowed("INBOX"),
            wire: None,
        }
    }

    /// Interprets a decoded `mailbox` astring: modified UTF-7 unless `utf8` (UTF8=ACCEPT) is
    /// on. A name that is not valid modified UTF-7 is taken as it is (RFC 3501 lets servers
    /// accept such names; many clients send them).
    pub fn from_wire(wire: AString<'a>, utf8: bool) -> Result<Self, InvalidInput> {
        let name = match wire.as_input_str() {
            // The name as it arrived when modified UTF-7 leaves it unchanged (no `&`): borrowed.
            Some(s) if utf8 || !s.contains('&') => Cow::Borrowed(s),
            _ => {
                let raw = wire.to_str_lossy().into_owned();
                if utf8 {
                    Cow::Owned(raw)
                } else {
                    decode_utf7(&raw).map_or(Cow::Owned(raw), Cow::Owned)
                }
            }
        };
        let mut mailbox = Mailbox::new(name)?;
        mailbox.wire = Some(wire);
        Ok(mailbox)
    }

    /// The name, UTF-8.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is INBOX.
    pub fn is_inbox(&self) -> bool {
        self.name == "INBOX"
    }

    /// The astring to send: the form it arrived in while that form still reads as this
    /// name (a name learnt in modified UTF-7 is sent in UTF-8 once UTF-8 is in force, and
    /// the other way round), or else the cheapest form of the modified UTF-7 (or, with
    /// `utf8`, UTF-8) name.
    pub fn to_wire(&self, utf8: bool) -> AString<'_> {
        self.wire_form(utf8, true)
    }

    /// [`Mailbox::to_wire`], where a wire form that is a literal is kept only if `literal`
    /// (a server answers a name the client sent as a literal in the cheapest form, as
    /// Dovecot does).
    pub(crate) fn wire_form(&self, utf8: bool, literal: bool) -> AString<'_> {
        if let Some(w) = &self.wire {
            let text = w.to_str_lossy();
            let reads_as_name = if utf8 {
                text == self.name
            } else {
                text.is_ascii()
            };
            let is_literal = matches!(w, AString::String(IString::Literal(_)));
            if reads_as_name && (literal || !is_literal) {
                return w.clone();
            }
            // The same octets in their cheapest form: a name that is not valid modified
            // UTF-7 (`a&b`, taken as it is) must come back as it was sent.
            if reads_as_name
                && let Ok(cheapest) = AString::from_bytes(text.into_owned().into_bytes())
            {
                return cheapest;
            }
        }
        let encoded: Cow<'_, str> = if utf8 || self.name.is_ascii() && !self.name.contains('&') {
            Cow::Borrowed(&self.name)
        } else {
            Cow::Owned(encode_utf7(&self.name))
        };
        match encoded {
            Cow::Borrowed(s) => AString::from_bytes(s.as_bytes()),
            Cow::Owned(s) => AString::from_bytes(s.into_bytes()),
        }
        .unwrap_or(AString::Atom(Cow::Borrowed("INBOX")))
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            name: Cow::Owned(self.name.into_owned()),
            wire: self.wire.map(AString::into_owned),
        }
    }
}

impl PartialEq for Mailbox<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Mailbox<'_> {}

impl std::hash::Hash for Mailbox<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Debug for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({:?})", self.name)
    }
}

impl fmt::Display for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

// One implementation for the workspace, shared with mail-store's Maildir folder names.
pub use sansmail_core::utf7::{decode as decode_utf7, encode as encode_utf7};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive() {
        assert!(Mailbox::new("inbox").unwrap().is_inbox());
        assert_eq!(Mailbox::new("InBoX").unwrap(), Mailbox::inbox());
    }
}
