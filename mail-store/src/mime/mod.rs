//! ENVELOPE and BODYSTRUCTURE data, computed once when a message is stored.
//!
//! The MIME tree comes from the `mail-parser` crate; this module turns it into a
//! protocol-neutral form that the IMAP crate encodes. Header values are kept raw (unfolded,
//! encoded words left alone) because that is what IMAP sends; Dovecot's answers are the
//! reference for defaults (no `Content-Type` means `text/plain; charset=us-ascii`, `7bit`).
//!
//! [`MimeInfo`] is what is kept per message: its [`Envelope`] and its [`BodyStructure`] tree
//! (with `Content-Type` and `Content-Disposition` parameters as written).
//! [`parse_address_list`] is the RFC 5322 address-list parser ENVELOPE uses, for other
//! fields that hold addresses.

mod address;
mod envelope;
mod params;
mod repair;
mod structure;

use mail_parser::MessagePart;
use serde::{Deserialize, Serialize};

pub(crate) use self::address::search_forms;
pub use self::{
    address::parse_address_list,
    envelope::{Envelope, EnvelopeAddress},
    structure::{BodyKind, BodyStructure, Disposition},
};

/// The data computed once per message at append time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MimeInfo {
    /// The message's ENVELOPE.
    pub envelope: Envelope,
    /// The message's BODYSTRUCTURE tree.
    pub body: BodyStructure,
    /// Length of the top-level header including the blank line.
    pub header_len: u64,
}

impl MimeInfo {
    /// Parses a message. Never fails: a message the parser cannot make sense of becomes a
    /// `text/plain` body.
    pub fn parse(raw: &[u8]) -> MimeInfo {
        let mut info = repair::parse(raw, |msg, inserted| Self::build(raw, msg, inserted));
        if info.body.header_offset != 0 {
            // A reading with blank lines put in that no longer starts the message at its own
            // header (malformed MIME, found by fuzzing) is not used: the parser's own is.
            let plain = mail_parser::MessageParser::default().parse(raw);
            info = Self::build(raw, plain.as_ref(), &repair::Inserted::default());
        }
        // The message's own header starts it, wherever the parser put its first part (on
        // some malformed input, past octets it skipped).
        info.body.header_offset = 0;
        info
    }

    /// The data of `raw`, read by the parser as `msg` (with `inserted`'s blank lines).
    fn build(
        raw: &[u8],
        msg: Option<&mail_parser::Message<'_>>,
        inserted: &repair::Inserted,
    ) -> MimeInfo {
        let header_len = header_len(raw);
        match msg {
            Some(msg) if !msg.parts.is_empty() => {
                let envelope = envelope::envelope(msg, msg.raw_message());
                let mut body = structure::structure(msg, 0, msg.raw_message(), 0, 0);
                inserted.restore(&mut body, raw);
                structure::confine(&mut body, raw, (0, raw.len() as u64));
                MimeInfo {
                    envelope,
                    body,
                    header_len,
                }
            }
            _ => MimeInfo {
                envelope: Envelope::default(),
                body: BodyStructure {
                    media_type: "text".into(),
                    subtype: "plain".into(),
                    params: vec![("charset".into(), "us-ascii".into())],
                    id: None,
                    description: None,
                    encoding: "7bit".into(),
                    size: (raw.len() as u64).saturating_sub(header_len),
                    lines: Some(count_lines(
                        raw.get(usize::try_from(header_len).unwrap_or(usize::MAX)..)
                            .unwrap_or(&[]),
                    )),
                    md5: None,
                    disposition: None,
                    language: Vec::new(),
                    location: None,
                    header_offset: 0,
                    body_offset: header_len,
                    kind: BodyKind::Text,
                },
                header_len,
            },
        }
    }
}

/// Length of the header block including the empty line that ends it (the whole message if
/// there is no empty line).
pub(crate) fn header_len(raw: &[u8]) -> u64 {
    if raw.starts_with(b"\r\n") {
        return 2;
    }
    if raw.starts_with(b"\n") {
        return 1;
    }
    let mut i = 0;
    while let Some(p) = raw[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        let rest = &raw[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return (nl + 3) as u64;
        }
        if rest.starts_with(b"\n") {
            return (nl + 2) as u64;
        }
        i = nl + 1;
    }
    raw.len() as u64
}

fn count_lines(body: &[u8]) -> u64 {
    body.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The raw value of the first header called `name` in `part`, unfolded and trimmed.
fn raw_header(part: &MessagePart<'_>, raw: &[u8], name: &str) -> Option<String> {
    let h = part
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let bytes = raw.get(h.offset_start as usize..h.offset_end as usize)?;
    let text = String::from_utf8_lossy(bytes);
    let unfolded: String = text.chars().filter(|&c| c != '\r' && c != '\n').collect();
    let trimmed = unfolded.trim();
    Some(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_content_type_is_text_plain_us_ascii() {
        // Dovecot: ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 2 NIL NIL NIL NIL)
        let m = MimeInfo::parse(b"Subject: hi\r\n\r\nhello world\r\nsecond\r\n");
        assert_eq!(m.body.media_type, "text");
        assert_eq!(m.body.subtype, "plain");
        assert_eq!(m.body.params, vec![("charset".into(), "us-ascii".into())]);
        assert_eq!(m.body.encoding, "7bit");
        assert_eq!(m.body.size, 21);
        assert_eq!(m.body.lines, Some(2));
        assert_eq!(m.envelope.subject.as_deref(), Some("hi"));
        assert_eq!(m.header_len, 15);
    }
}
