//! The octets a body section names (IMAP's `BODY[1.2.HEADER.FIELDS (From)]` and
//! `BINARY[1.2]`, RFC 9051 §6.4.5, RFC 3516), cut from the stored message with the offsets
//! [`mime`](crate::mime) computed at append time.
//!
//! ```text
//! section-spec = section-msgtext / (section-part ["." section-text])
//! section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
//! section-part = nz-number *("." nz-number)
//! section-text = section-msgtext / "MIME"
//! ```
//!
//! A partial range (`<origin.length>`) is the protocol's to cut from what these return.

use std::borrow::Cow;

use crate::mime::{BodyKind, BodyStructure};

/// Which text of the addressed part a [`Section`] names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// The header block, with the blank line ending it.
    Header,
    /// The body after the header block.
    Text,
    /// The part's own MIME header (only of a numbered part).
    Mime,
    /// The header fields named (or, with `not`, those not named), then the blank line.
    HeaderFields {
        /// Field names, compared ASCII case-insensitively.
        names: Vec<String>,
        /// Keep the fields not named instead.
        not: bool,
    },
}

/// A body section: a path of part numbers (empty: the message itself) and the text of that
/// part it names (none: the part's body, or for the message itself all of it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    /// Part numbers from the top, each 1-based: the n-th child of a multipart, or the
    /// message inside a `message/rfc822` part. A zero names no part.
    pub part: Vec<u32>,
    /// The text of the part.
    pub text: Option<SectionText>,
}

impl Section {
    /// The whole message (`BODY[]`).
    pub fn whole() -> Self {
        Self::default()
    }

    /// The message's own `text` (`BODY[HEADER]`, `BODY[TEXT]`).
    pub fn top(text: SectionText) -> Self {
        Self {
            part: Vec::new(),
            text: Some(text),
        }
    }

    /// Whether the top-level header block holds everything the section names, so a store
    /// may be asked for that alone.
    pub fn header_only(&self) -> bool {
        self.part.is_empty()
            && matches!(
                self.text,
                Some(SectionText::Header | SectionText::HeaderFields { .. })
            )
    }

    /// The octets the section names in `raw` (a stored message whose tree is `top`); `None`
    /// for a part that does not exist, for `MIME` of the message itself, and for `HEADER`,
    /// `HEADER.FIELDS` or `TEXT` of a part that is not a `message/rfc822`.
    pub fn extract(&self, raw: &[u8], top: &BodyStructure) -> Option<Vec<u8>> {
        self.cut(raw, top).map(Cow::into_owned)
    }

    /// As [`extract`](Self::extract), borrowing from `raw` where the section is a range of
    /// it (everything but `HEADER.FIELDS`), so that a caller wanting a few octets of a large
    /// part copies only those.
    pub fn cut<'r>(&self, raw: &'r [u8], top: &BodyStructure) -> Option<Cow<'r, [u8]>> {
        let end = raw.len() as u64;
        if self.part.is_empty() {
            // The message itself: its header is everything before the top body.
            return Some(match &self.text {
                None => Cow::Borrowed(raw),
                Some(SectionText::Header) => Cow::Borrowed(slice(raw, 0, top.body_offset)),
                Some(SectionText::Text) => Cow::Borrowed(slice(raw, top.body_offset, end)),
                Some(SectionText::HeaderFields { names, not }) => {
                    Cow::Owned(header_fields(slice(raw, 0, top.body_offset), names, *not))
                }
                Some(SectionText::Mime) => return None,
            });
        }
        let node = part(top, &self.part)?;
        let body_end = node.body_offset + node.size;
        let Some(text) = &self.text else {
            return Some(Cow::Borrowed(slice(raw, node.body_offset, body_end)));
        };
        if *text == SectionText::Mime {
            return Some(Cow::Borrowed(slice(
                raw,
                node.header_offset,
                node.body_offset,
            )));
        }
        // HEADER, HEADER.FIELDS and TEXT of a part are those of the message inside it.
        let BodyKind::Message { body: inner, .. } = &node.kind else {
            return None;
        };
        let header = slice(raw, inner.header_offset, inner.body_offset);
        Some(match text {
            SectionText::Header => Cow::Borrowed(header),
            SectionText::Text => Cow::Borrowed(slice(raw, inner.body_offset, body_end)),
            SectionText::HeaderFields { names, not } => {
                Cow::Owned(header_fields(header, names, *not))
            }
            SectionText::Mime => return None,
        })
    }
}

/// `raw[from..to]`, clipped to what exists.
fn slice(raw: &[u8], from: u64, to: u64) -> &[u8] {
    let len = raw.len();
    let from = usize::try_from(from).unwrap_or(len).min(len);
    let to = usize::try_from(to).unwrap_or(len).clamp(from, len);
    &raw[from..to]
}

/// The node that part numbers `parts` name (RFC 9051 §6.4.5): in a multipart the n-th
/// child; in a `message/rfc822` part the parts of the message inside; a part that is neither
/// has only the number 1, for itself, at the top level.
fn part<'b>(top: &'b BodyStructure, parts: &[u32]) -> Option<&'b BodyStructure> {
    let mut node = top;
    for (depth, &n) in parts.iter().enumerate() {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        let (container, entered) = match &node.kind {
            BodyKind::Message { body, .. } if depth > 0 => (&**body, true),
            _ => (node, false),
        };
        node = match &container.kind {
            BodyKind::Multipart(children) => children.get(i)?,
            _ if i == 0 && (depth == 0 || entered) => container,
            _ => return None,
        };
    }
    Some(node)
}

/// The fields of `header` (a header block; what follows its blank line is ignored) whose
/// names are in `names` (or, with `not`, are not), folded lines included, followed by the
/// blank line.
pub fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            let name = line
                .iter()
                .position(|&b| b == b':')
                .map_or(&line[..0], |p| &line[..p]);
            let name = String::from_utf8_lossy(name);
            let listed = names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.trim_end()));
            keep = listed != not;
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A Content-Transfer-Encoding that [`binary`] cannot undo (IMAP answers `NO
/// [UNKNOWN-CTE]`, RFC 3516 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Content-Transfer-Encoding {encoding:?}")]
pub struct UnknownEncoding {
    /// The encoding, as the part's header names it.
    pub encoding: String,
}

/// The octets `BINARY[parts]` names: the part's body with its Content-Transfer-Encoding
/// (`7bit`, `8bit`, `binary`, `base64`, `quoted-printable`) undone (RFC 3516 §4.2, RFC 9051
/// §6.4.5). With no part numbers it is the whole message; when the message's own body is
/// encoded, it is decoded and the header says `Content-Transfer-Encoding: binary`, as
/// Dovecot answers. `Ok(None)` for a part that does not exist.
pub fn binary(
    raw: &[u8],
    top: &BodyStructure,
    parts: &[u32],
) -> Result<Option<Vec<u8>>, UnknownEncoding> {
    let node = if parts.is_empty() {
        top
    } else {
        match part(top, parts) {
            Some(n) => n,
            None => return Ok(None),
        }
    };
    let body = slice(raw, node.body_offset, node.body_offset + node.size);
    let decoded = match node.encoding.to_ascii_lowercase().as_str() {
        _ if node.identity_encoded() && parts.is_empty() => return Ok(Some(raw.to_vec())),
        _ if node.identity_encoded() => body.to_vec(),
        "base64" => decode_base64(body),
        "quoted-printable" => decode_quoted_printable(body),
        _ => {
            return Err(UnknownEncoding {
                encoding: node.encoding.clone(),
            });
        }
    };
    if !parts.is_empty() {
        return Ok(Some(decoded));
    }
    let header = slice(raw, 0, top.body_offset);
    let mut out = Vec::with_capacity(header.len() + decoded.len());
    let mut skipping = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            skipping =
                line.len() > 26 && line[..26].eq_ignore_ascii_case(b"Content-Transfer-Encoding:");
            if skipping {
                out.extend_from_slice(b"Content-Transfer-Encoding: binary\r\n");
            }
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&decoded);
    Ok(Some(out))
}

/// Base64 as mail carries it (RFC 2045 §6.8): characters outside the alphabet (line breaks)
/// are skipped, decoding stops at the first `=`, and a dangling sextet is dropped.
pub fn decode_base64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u8;
    for &c in data {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        // Twelve bits hold a pending octet and the next sextet.
        acc = ((acc << 6) | u32::from(v)) & 0xfff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.extend(u8::try_from((acc >> bits) & 0xff).ok());
        }
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is an octet, `=` at a line's end joins it to the
/// next, whitespace at a line's end is dropped; a malformed `=` is kept as it is.
///
/// ```text
/// quoted-printable := qp-line *(CRLF qp-line)
/// qp-line := *(qp-segment transport-padding CRLF) qp-part transport-padding
/// qp-segment := qp-section *(SPACE / TAB) "="
/// hex-octet := "=" 2(DIGIT / "A" / "B" / "C" / "D" / "E" / "F")
/// ```
pub fn decode_quoted_printable(data: &[u8]) -> Vec<u8> {
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut out = Vec::with_capacity(data.len());
    for line in data.split_inclusive(|&b| b == b'\n') {
        let (content, eol): (&[u8], &[u8]) = if let Some(c) = line.strip_suffix(b"\r\n") {
            (c, b"\r\n")
        } else if let Some(c) = line.strip_suffix(b"\n") {
            (c, b"\n")
        } else {
            (line, b"")
        };
        let content = content.trim_ascii_end();
        let (content, soft) = match content.strip_suffix(b"=") {
            Some(c) => (c, true),
            None => (content, false),
        };
        let mut i = 0;
        while i < content.len() {
            let c = content[i];
            if c == b'='
                && let (Some(h), Some(l)) = (
                    content.get(i + 1).and_then(|&b| hex(b)),
                    content.get(i + 2).and_then(|&b| hex(b)),
                )
            {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
            out.push(c);
            i += 1;
        }
        if !soft {
            out.extend_from_slice(eol);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::MimeInfo;

    const NESTED: &[u8] = b"From: a@example.org\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-Y: z\r\n\r\ninner body\r\n--b--\r\n";

    fn sec(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    fn fields(names: &[&str], not: bool) -> SectionText {
        SectionText::HeaderFields {
            names: names.iter().map(|&n| n.to_owned()).collect(),
            not,
        }
    }

    /// A base64-encoded message/rfc822 is not descended into: its parts would be cut from
    /// the encoded octets. Part 1 is the encoded body; it has no HEADER of its own.
    #[test]
    fn an_encoded_attached_message_is_a_leaf() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaW5uZXINCg0KYm9keQ0K\r\n--b--\r\n";
        let info = MimeInfo::parse(raw);
        let crate::mime::BodyKind::Multipart(parts) = &info.body.kind else {
            panic!("{:?}", info.body.kind)
        };
        assert_eq!(parts[0].kind, crate::mime::BodyKind::Basic);
        assert_eq!(
            sec(&[1], None).extract(raw, &info.body).as_deref(),
            Some(&b"U3ViamVjdDogaW5uZXINCg0KYm9keQ0K"[..])
        );
        assert_eq!(
            sec(&[1], Some(SectionText::Header)).extract(raw, &info.body),
            None
        );
    }

    #[test]
    fn sections_of_a_nested_message() {
        let info = MimeInfo::parse(NESTED);
        let top = &info.body;
        let get = |s: Section| {
            s.extract(NESTED, top)
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(get(Section::whole()).unwrap().len(), NESTED.len());
        assert!(
            get(Section::top(SectionText::Header))
                .unwrap()
                .ends_with("\"b\"\r\n\r\n")
        );
        assert!(
            get(Section::top(SectionText::Text))
                .unwrap()
                .starts_with("preamble\r\n--b\r\n")
        );
        assert_eq!(get(Section::top(SectionText::Mime)), None);
        assert_eq!(get(sec(&[1], None)).unwrap(), "first");
        assert_eq!(
            get(sec(&[1], Some(SectionText::Mime))).unwrap(),
            "Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(get(sec(&[1], Some(SectionText::Header))), None);
        assert_eq!(
            get(sec(&[2], Some(SectionText::Header))).unwrap(),
            "Subject: inner\r\nX-Y: z\r\n\r\n"
        );
        assert_eq!(
            get(sec(&[2], Some(SectionText::Text))).unwrap(),
            "inner body"
        );
        assert_eq!(
            get(sec(&[2], Some(fields(&["x-y"], false)))).unwrap(),
            "X-Y: z\r\n\r\n"
        );
        assert_eq!(get(sec(&[2, 1], None)).unwrap(), "inner body");
        assert_eq!(get(sec(&[3], None)), None);
        assert_eq!(get(sec(&[0], None)), None);
        assert_eq!(get(sec(&[1, 1], None)), None);
        assert_eq!(
            get(Section::top(fields(&["subject"], false))).unwrap(),
            "Subject: outer\r\n\r\n"
        );
        assert_eq!(
            get(Section::top(fields(&["Subject", "Content-Type"], true))).unwrap(),
            "From: a@example.org\r\n\r\n"
        );
    }

    #[test]
    fn header_only_sections() {
        assert!(Section::top(SectionText::Header).header_only());
        assert!(Section::top(fields(&["From"], true)).header_only());
        assert!(!Section::whole().header_only());
        assert!(!Section::top(SectionText::Text).header_only());
        assert!(!sec(&[1], Some(SectionText::Header)).header_only());
    }

    #[test]
    fn header_fields_keep_folded_lines() {
        let h = b"Subject: a\r\n b\r\nTo: x\r\nsubject : c\r\n\r\nSubject: body\r\n";
        assert_eq!(
            header_fields(h, &["SUBJECT".to_owned()], false),
            b"Subject: a\r\n b\r\nsubject : c\r\n\r\n"
        );
        assert_eq!(header_fields(h, &[], true), &h[..h.len() - 15]);
        assert_eq!(header_fields(b"", &[], false), b"\r\n");
    }

    #[test]
    fn binary_sections_are_decoded() {
        let raw = b"Subject: b\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAGhp\r\nIQ==\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nx=3D1  \r\nend\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
        let info = MimeInfo::parse(raw);
        let top = &info.body;
        assert_eq!(binary(raw, top, &[1]).unwrap().unwrap(), b"\0hi!");
        assert_eq!(
            binary(raw, top, &[2]).unwrap().unwrap(),
            "café x=1\r\nend".as_bytes()
        );
        assert_eq!(
            binary(raw, top, &[3]),
            Err(UnknownEncoding {
                encoding: "x-uuencode".to_owned()
            })
        );
        assert_eq!(binary(raw, top, &[4]), Ok(None));
        assert_eq!(binary(raw, top, &[]).unwrap().unwrap(), raw);
        // A single part's BINARY[]: decoded, and the header says so (as Dovecot).
        let single =
            b"Subject: b64\r\nContent-Transfer-Encoding:\r\n base64\r\nX: y\r\n\r\nY2Fmw6kK\r\n";
        let info = MimeInfo::parse(single);
        assert_eq!(
            binary(single, &info.body, &[]).unwrap().unwrap(),
            "Subject: b64\r\nContent-Transfer-Encoding: binary\r\nX: y\r\n\r\ncafé\n".as_bytes()
        );
    }

    #[test]
    fn transfer_decodings() {
        assert_eq!(decode_base64(b"aGVsbG8=\r\n"), b"hello");
        assert_eq!(decode_base64(b"aGVs\r\nbG8"), b"hello");
        assert_eq!(decode_base64(b"////"), [0xff, 0xff, 0xff]);
        assert_eq!(decode_base64(b"a"), b"");
        assert_eq!(decode_base64(b""), b"");
        assert_eq!(decode_quoted_printable(b"a=ZZb=4"), b"a=ZZb=4");
        assert_eq!(decode_quoted_printable(b"a=3d=3D\nb \t\n"), b"a==\nb\n");
        assert_eq!(decode_quoted_printable(b"soft=\r\nbreak"), b"softbreak");
    }

    #[test]
    fn single_part_message_is_part_one() {
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let info = MimeInfo::parse(raw);
        assert_eq!(
            sec(&[1], None).extract(raw, &info.body).unwrap(),
            b"body\r\n"
        );
        assert_eq!(sec(&[2], None).extract(raw, &info.body), None);
        assert_eq!(sec(&[1, 1], None).extract(raw, &info.body), None);
    }
}
