//! Mailbox names: UTF-8 in the types, modified UTF-7 (RFC 3501 §5.1.3) on the wire unless
//! UTF8=ACCEPT is enabled.

use std::{borrow::Cow, fmt};

use super::{InvalidInput, core::AString};

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
        if name.contains(['\r', '\n', '\0']) {
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
        let raw = wire.to_str_lossy().into_owned();
        let name = if utf8 {
            Cow::Owned(raw)
        } else {
            decode_utf7(&raw).map_or(Cow::Owned(raw), Cow::Owned)
        };
        let mut mailbox = Mailbox::new(name)?;
        mailbox.name = Cow::Owned(mailbox.name.into_owned());
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

    /// The astring to send: the form it arrived in, or the cheapest form of the modified
    /// UTF-7 (or, with `utf8`, UTF-8) name.
    pub fn to_wire(&self, utf8: bool) -> AString<'_> {
        if let Some(w) = &self.wire {
            return w.clone();
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

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes a name in modified UTF-7: printable ASCII stands for itself (`&` as `&-`), other
/// characters are UTF-16 in modified base64 between `&` and `-`.
pub fn encode_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 0x3F) as usize]));
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes modified UTF-7; `None` if `s` is not valid (bad base64, unterminated shift,
/// unpaired surrogates, or ASCII that should not have been encoded).
pub fn decode_utf7(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let dash = after.find('-')?;
        let encoded = &after[..dash];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let mut bits = 0u32;
            let mut nbits = 0;
            let mut units = Vec::new();
            for b in encoded.bytes() {
                let v = u32::try_from(B64.iter().position(|&c| c == b)?).ok()?;
                bits = bits << 6 | v;
                nbits += 6;
                if nbits >= 16 {
                    nbits -= 16;
                    units.push(((bits >> nbits) & 0xFFFF) as u16);
                }
            }
            // Leftover bits must be zero padding, fewer than 6.
            if nbits >= 6 || bits & ((1 << nbits) - 1) != 0 {
                return None;
            }
            let decoded = String::from_utf16(&units).ok()?;
            if decoded.chars().any(|c| (' '..='~').contains(&c)) {
                return None;
            }
            out.push_str(&decoded);
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf7_known_answers() {
        assert_eq!(decode_utf7("&AMQ-rger").as_deref(), Some("Ärger"));
        assert_eq!(encode_utf7("Ärger"), "&AMQ-rger");
        assert_eq!(
            encode_utf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            decode_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
        assert_eq!(encode_utf7("a&b"), "a&-b");
        assert_eq!(decode_utf7("a&-b").as_deref(), Some("a&b"));
        assert_eq!(decode_utf7("&AGE-"), None, "ASCII must not be encoded");
        assert_eq!(decode_utf7("&AMQ"), None, "unterminated");
        assert_eq!(encode_utf7("😀"), "&2D3eAA-");
        assert_eq!(decode_utf7("&2D3eAA-").as_deref(), Some("😀"));
    }

    #[test]
    fn inbox_is_case_insensitive() {
        assert!(Mailbox::new("inbox").unwrap().is_inbox());
        assert_eq!(Mailbox::new("InBoX").unwrap(), Mailbox::inbox());
    }
}
