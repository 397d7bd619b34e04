//! xtext (RFC 3461 §4): the encoding of ENVID, ORCPT and `AUTH=` values.

use std::{borrow::Cow, fmt};

use super::InvalidInput;

/// A value in xtext, kept encoded as it travels on the wire.
///
/// ```text
/// xtext   = *( xchar / hexchar )
/// xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "="
/// hexchar = "+" 2(%x30-39 / %x41-46)      ; "+" followed by two upper-case hex digits
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct XText<'a>(Cow<'a, str>);

fn is_xchar(b: u8) -> bool {
    (b'!'..=b'~').contains(&b) && b != b'+' && b != b'='
}

/// Checks `s` against the xtext grammar.
pub(crate) fn is_xtext(s: &str) -> bool {
    crate::grammar::is_xtext(s.as_bytes())
}

impl<'a> XText<'a> {
    /// Validates an already encoded value.
    pub fn from_encoded(s: impl Into<Cow<'a, str>>) -> Result<Self, InvalidInput> {
        let s = s.into();
        if is_xtext(&s) {
            Ok(Self(s))
        } else {
            Err(InvalidInput::new(
                "xtext",
                "xchar or '+' and two upper-case hex digits",
            ))
        }
    }

    pub(crate) fn from_parsed(s: &'a str) -> Self {
        Self(Cow::Borrowed(s))
    }

    /// Encodes any string: bytes outside `xchar` become `+XX`.
    pub fn encode(value: &str) -> XText<'static> {
        let mut out = String::with_capacity(value.len());
        for &b in value.as_bytes() {
            if is_xchar(b) {
                out.push(char::from(b));
            } else {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('+');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        }
        XText(Cow::Owned(out))
    }

    /// The encoded form, as on the wire.
    pub fn as_encoded(&self) -> &str {
        &self.0
    }

    /// The decoded value. Borrows when there is nothing to unescape. Escapes that decode to
    /// invalid UTF-8 are replaced with U+FFFD.
    pub fn decode(&self) -> Cow<'_, str> {
        if !self.0.contains('+') {
            return Cow::Borrowed(&self.0);
        }
        let b = self.0.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'+' && i + 2 < b.len() {
                let hex = |c: u8| {
                    if c.is_ascii_digit() {
                        c - b'0'
                    } else {
                        c - b'A' + 10
                    }
                };
                out.push(hex(b[i + 1]) << 4 | hex(b[i + 2]));
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        match String::from_utf8(out) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> XText<'static> {
        XText(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for XText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XText({:?})", self.0)
    }
}
