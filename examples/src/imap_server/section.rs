//! The octets of a body section (`BODY[1.2.HEADER.FIELDS (From)]<0.100>`), cut from the
//! stored message with the offsets `mail-store` computed at append time.

use imap_proto::types::{
    fetch_attr::Partial,
    section::{Section, SectionText},
};
use mail_store::mime::{BodyKind, BodyStructure};

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

/// The header fields of `header` (a header block, blank line included) whose names are in
/// `names` (or, with `not`, are not), followed by the blank line.
pub(crate) fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
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

/// The octets `section` names in `raw`, before any partial range; `None` for a part that
/// does not exist.
pub(crate) fn section_bytes(
    raw: &[u8],
    top: &BodyStructure,
    section: &Section<'_>,
) -> Option<Vec<u8>> {
    let end = raw.len() as u64;
    if section.part.is_empty() {
        // The message itself: its header is everything before the top body.
        return Some(match &section.text {
            None => raw.to_vec(),
            Some(SectionText::Header) => slice(raw, 0, top.body_offset).to_vec(),
            Some(SectionText::Text) => slice(raw, top.body_offset, end).to_vec(),
            Some(SectionText::HeaderFields { not, fields }) => {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| f.to_str_lossy().into_owned())
                    .collect();
                header_fields(slice(raw, 0, top.body_offset), &names, *not)
            }
            Some(SectionText::Mime) => return None,
        });
    }
    let node = part(top, &section.part)?;
    let body_end = node.body_offset + node.size;
    match &section.text {
        None => Some(slice(raw, node.body_offset, body_end).to_vec()),
        Some(SectionText::Mime) => Some(slice(raw, node.header_offset, node.body_offset).to_vec()),
        Some(text) => {
            // HEADER, HEADER.FIELDS and TEXT of a part are those of the message inside it.
            let BodyKind::Message { body: inner, .. } = &node.kind else {
                return None;
            };
            Some(match text {
                SectionText::Header => slice(raw, inner.header_offset, inner.body_offset).to_vec(),
                SectionText::Text => slice(raw, inner.body_offset, body_end).to_vec(),
                SectionText::HeaderFields { not, fields } => {
                    let names: Vec<String> = fields
                        .iter()
                        .map(|f| f.to_str_lossy().into_owned())
                        .collect();
                    header_fields(
                        slice(raw, inner.header_offset, inner.body_offset),
                        &names,
                        *not,
                    )
                }
                SectionText::Mime => return None,
            })
        }
    }
}

/// A Content-Transfer-Encoding this server cannot undo (`NO [UNKNOWN-CTE]`, RFC 3516 §4.3).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnknownCte;

/// The octets `BINARY[part]` names: the part's body with its Content-Transfer-Encoding
/// undone (RFC 3516 §4.2, RFC 9051 §6.4.5). `BINARY[]` is the whole message; when its own
/// body is encoded, it is decoded and the header says `Content-Transfer-Encoding: binary`,
/// as Dovecot answers. `Ok(None)` for a part that does not exist.
pub(crate) fn binary_bytes(
    raw: &[u8],
    top: &BodyStructure,
    parts: &[u32],
) -> Result<Option<Vec<u8>>, UnknownCte> {
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
        "" | "7bit" | "8bit" | "binary" if parts.is_empty() => return Ok(Some(raw.to_vec())),
        "" | "7bit" | "8bit" | "binary" => body.to_vec(),
        "base64" => decode_base64(body),
        "quoted-printable" => decode_quoted_printable(body),
        _ => return Err(UnknownCte),
    };
    if !parts.is_empty() {
        return Ok(Some(decoded));
    }
    let header = slice(raw, 0, top.body_offset);
    let mut out = Vec::with_capacity(header.len() + decoded.len());
    let mut skipping = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let continued = matches!(line.first(), Some(b' ' | b'\t'));
        if !continued {
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
fn decode_base64(data: &[u8]) -> Vec<u8> {
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
        acc = ((acc << 6) | u32::from(v)) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is an octet, `=` at a line's end joins it to the
/// next, whitespace at a line's end is dropped; a malformed `=` is kept as it is.
fn decode_quoted_printable(data: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16);
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

/// Cuts a partial range (`<offset.length>`) out of a section's octets, if it has any; the
/// origin to report with it (also for a section that does not exist: `NIL` with its origin).
pub(crate) fn partial(data: Option<Vec<u8>>, p: Option<Partial>) -> (Option<Vec<u8>>, Option<u32>) {
    let Some(p) = p else {
        return (data, None);
    };
    let from = p.offset;
    let to = p.offset.saturating_add(p.length);
    (
        data.map(|d| slice(&d, from, to).to_vec()),
        Some(u32::try_from(p.offset).unwrap_or(u32::MAX)),
    )
}

/// The part of the message a section needs: `true` if the header block is enough.
pub(crate) fn header_only(section: &Section<'_>) -> bool {
    section.part.is_empty()
        && matches!(
            section.text,
            Some(SectionText::Header | SectionText::HeaderFields { .. })
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_proto::types::core::AString;
    use mail_store::mime::MimeInfo;

    const NESTED: &[u8] = b"From: a@example.org\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nX-Y: z\r\n\r\ninner body\r\n--b--\r\n";

    fn sec(part: &[u32], text: Option<SectionText<'static>>) -> Section<'static> {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    #[test]
    fn sections_of_a_nested_message() {
        let info = MimeInfo::parse(NESTED);
        let top = &info.body;
        let get =
            |s: Section<'_>| section_bytes(NESTED, top, &s).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(get(sec(&[], None)).unwrap().len(), NESTED.len());
        assert!(
            get(sec(&[], Some(SectionText::Header)))
                .unwrap()
                .ends_with("\"b\"\r\n\r\n")
        );
        assert_eq!(get(sec(&[1], None)).unwrap(), "first");
        assert_eq!(
            get(sec(&[1], Some(SectionText::Mime))).unwrap(),
            "Content-Type: text/plain\r\n\r\n"
        );
        assert_eq!(
            get(sec(&[2], Some(SectionText::Header))).unwrap(),
            "Subject: inner\r\nX-Y: z\r\n\r\n"
        );
        assert_eq!(
            get(sec(&[2], Some(SectionText::Text))).unwrap(),
            "inner body"
        );
        assert_eq!(get(sec(&[2, 1], None)).unwrap(), "inner body");
        assert_eq!(get(sec(&[3], None)), None);
        assert_eq!(get(sec(&[1, 1], None)), None);
        let fields = SectionText::HeaderFields {
            not: false,
            fields: vec![AString::try_from("subject").unwrap()],
        };
        assert_eq!(
            get(sec(&[], Some(fields))).unwrap(),
            "Subject: outer\r\n\r\n"
        );
        let not = SectionText::HeaderFields {
            not: true,
            fields: vec![
                AString::try_from("Subject").unwrap(),
                AString::try_from("Content-Type").unwrap(),
            ],
        };
        assert_eq!(
            get(sec(&[], Some(not))).unwrap(),
            "From: a@example.org\r\n\r\n"
        );
    }

    #[test]
    fn binary_sections_are_decoded() {
        let raw = b"Subject: b\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAGhp\r\nIQ==\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nx=3D1  \r\nend\r\n--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n";
        let info = MimeInfo::parse(raw);
        let top = &info.body;
        assert_eq!(binary_bytes(raw, top, &[1]).unwrap().unwrap(), b"\0hi!");
        assert_eq!(
            binary_bytes(raw, top, &[2]).unwrap().unwrap(),
            "café x=1\r\nend".as_bytes()
        );
        assert_eq!(binary_bytes(raw, top, &[3]), Err(UnknownCte));
        assert_eq!(binary_bytes(raw, top, &[4]), Ok(None));
        assert_eq!(binary_bytes(raw, top, &[]).unwrap().unwrap(), raw);
        assert_eq!(decode_base64(b"aGVsbG8=\r\n"), b"hello");
        // A single part's BINARY[]: decoded, and the header says so (as Dovecot).
        let single =
            b"Subject: b64\r\nContent-Transfer-Encoding:\r\n base64\r\nX: y\r\n\r\nY2Fmw6kK\r\n";
        let info = MimeInfo::parse(single);
        assert_eq!(
            binary_bytes(single, &info.body, &[]).unwrap().unwrap(),
            "Subject: b64\r\nContent-Transfer-Encoding: binary\r\nX: y\r\n\r\ncafé\n".as_bytes()
        );
        assert_eq!(decode_quoted_printable(b"a=ZZb=4"), b"a=ZZb=4");
    }

    #[test]
    fn single_part_message_is_part_one() {
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let info = MimeInfo::parse(raw);
        assert_eq!(
            section_bytes(raw, &info.body, &sec(&[1], None)).unwrap(),
            b"body\r\n"
        );
        assert_eq!(section_bytes(raw, &info.body, &sec(&[2], None)), None);
        let (cut, origin) = partial(Some(raw.to_vec()), Some(Partial::new(2, 5).unwrap()));
        assert_eq!((cut.as_deref(), origin), (Some(&b"bject"[..]), Some(2)));
        let (cut, _) = partial(Some(raw.to_vec()), Some(Partial::new(100, 5).unwrap()));
        assert_eq!(cut.as_deref(), Some(&b""[..]));
        assert_eq!(
            partial(None, Some(Partial::new(7, 5).unwrap())),
            (None, Some(7))
        );
        assert_eq!(
            partial(Some(b"ab".to_vec()), None),
            (Some(b"ab".to_vec()), None)
        );
    }
}
