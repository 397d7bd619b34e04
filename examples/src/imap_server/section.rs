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

/// Cuts a partial range (`<offset.length>`); the origin to report with it.
pub(crate) fn partial(data: Vec<u8>, p: Option<Partial>) -> (Vec<u8>, Option<u32>) {
    match p {
        None => (data, None),
        Some(p) => {
            let from = p.offset;
            let to = p.offset.saturating_add(p.length);
            (
                slice(&data, from, to).to_vec(),
                Some(u32::try_from(p.offset).unwrap_or(u32::MAX)),
            )
        }
    }
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
    fn single_part_message_is_part_one() {
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let info = MimeInfo::parse(raw);
        assert_eq!(
            section_bytes(raw, &info.body, &sec(&[1], None)).unwrap(),
            b"body\r\n"
        );
        assert_eq!(section_bytes(raw, &info.body, &sec(&[2], None)), None);
        let (cut, origin) = partial(raw.to_vec(), Some(Partial::new(2, 5).unwrap()));
        assert_eq!((cut.as_slice(), origin), (&b"bject"[..], Some(2)));
        let (cut, _) = partial(raw.to_vec(), Some(Partial::new(100, 5).unwrap()));
        assert!(cut.is_empty());
    }
}
