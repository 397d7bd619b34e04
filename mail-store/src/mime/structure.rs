//! BODYSTRUCTURE: one node per MIME part, with the offsets that `BODY[section]` needs.

use mail_parser::{HeaderName, HeaderValue, Message, MessagePart, PartType};
use serde::{Deserialize, Serialize};

use super::{
    count_lines,
    envelope::{Envelope, envelope},
    params::raw_params,
    raw_header,
};

/// A `Content-Disposition`: the value and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    /// `inline`, `attachment`, ...
    pub value: String,
    /// Parameters as (name, value), names as given.
    pub params: Vec<(String, String)>,
}

/// What kind of body a [`BodyStructure`] node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyKind {
    /// A leaf that is neither `text/*` nor `message/rfc822`.
    Basic,
    /// A `text/*` leaf; `lines` is set.
    Text,
    /// A `message/rfc822` (or `message/global`) leaf with its parsed content.
    Message {
        /// The inner message's envelope.
        envelope: Box<Envelope>,
        /// The inner message's structure.
        body: Box<BodyStructure>,
    },
    /// A `multipart/*` node with its children.
    Multipart(Vec<BodyStructure>),
}

impl BodyKind {
    /// Whether the node is `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        matches!(self, BodyKind::Multipart(_))
    }
}

/// One node of a message's MIME tree, with everything BODYSTRUCTURE needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyStructure {
    /// Media type (`text`, `multipart`, ...), as given.
    pub media_type: String,
    /// Media subtype (`plain`, `mixed`, ...), as given.
    pub subtype: String,
    /// Content-Type parameters as written: names as given, RFC 2231 forms (`name*`,
    /// `name*0`) undecoded, as IMAP servers report them.
    pub params: Vec<(String, String)>,
    /// `Content-ID`
    pub id: Option<String>,
    /// `Content-Description`
    pub description: Option<String>,
    /// `Content-Transfer-Encoding`, `7bit` when absent.
    pub encoding: String,
    /// Body size in octets, as stored (multipart: the whole body).
    pub size: u64,
    /// Number of lines of the body (`text/*` and `message/rfc822`).
    pub lines: Option<u64>,
    /// `Content-MD5`
    pub md5: Option<String>,
    /// `Content-Disposition`
    pub disposition: Option<Disposition>,
    /// `Content-Language` tags.
    pub language: Vec<String>,
    /// `Content-Location`
    pub location: Option<String>,
    /// Offset of this part's header in the stored message (for `BODY[1.2.MIME]`).
    pub header_offset: u64,
    /// Offset of this part's body in the stored message (for `BODY[1.2]`).
    pub body_offset: u64,
    /// Leaf, text, message or multipart, with the children.
    pub kind: BodyKind,
}

/// Whether a Content-Transfer-Encoding leaves the octets as they are (RFC 2045 §6.1; none
/// given is `7bit`).
pub(super) fn is_identity(encoding: &str) -> bool {
    matches!(
        encoding.to_ascii_lowercase().as_str(),
        "" | "7bit" | "8bit" | "binary"
    )
}

/// Keeps `node` inside `[lo, hi)` of `raw` (its parent's body), and its parts inside it:
/// the parser can end an encapsulated message's header block on the line end that belongs
/// to the delimiter after its part (RFC 2046 §5.1.1), or a repaired part at the delimiter
/// line itself. A section of a part then never reaches past the part that holds it. Line
/// counts are counted from the stored octets of each body (the parser's could differ on
/// malformed input, and a repaired reading's count its inserted lines).
pub(super) fn confine(node: &mut BodyStructure, raw: &[u8], (lo, hi): (u64, u64)) {
    node.header_offset = node.header_offset.clamp(lo, hi);
    node.body_offset = node.body_offset.clamp(node.header_offset, hi);
    node.size = node.size.min(hi - node.body_offset);
    let body = (node.body_offset, node.body_offset + node.size);
    if let Some(lines) = &mut node.lines {
        let index = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
        *lines = raw.get(index(body.0)..index(body.1)).map_or(0, count_lines);
    }
    match &mut node.kind {
        BodyKind::Multipart(children) => children.iter_mut().for_each(|c| confine(c, raw, body)),
        BodyKind::Message { body: inner, .. } => confine(inner, raw, body),
        BodyKind::Basic | BodyKind::Text => {}
    }
}

impl BodyStructure {
    /// Whether the part's transfer encoding leaves its octets as they are (7bit, 8bit,
    /// binary): its body is its content.
    pub fn identity_encoded(&self) -> bool {
        is_identity(&self.encoding)
    }
}

/// The slice of `raw` that is `part`'s body, without the CRLF that belongs to the next
/// boundary line.
fn part_body<'r>(part: &MessagePart<'_>, raw: &'r [u8]) -> &'r [u8] {
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    &raw[start..end]
}

/// The node of part `id` of `msg` and its children; offsets are `base` plus offsets into
/// `raw`.
pub(super) fn structure(
    msg: &Message<'_>,
    id: usize,
    raw: &[u8],
    base: u64,
    depth: usize,
) -> BodyStructure {
    let mut seen = vec![false; msg.parts.len()];
    node(msg, id, raw, base, depth, &mut seen)
}

/// Part ids of a multipart's `children` that are read: each part of a message once, never
/// the multipart `id` itself. On malformed input the parser's lists can name a part twice
/// or name an ancestor; read as given, the tree would grow exponentially with its depth.
pub(super) fn children_once(children: &[u32], id: usize, seen: &mut [bool]) -> Vec<usize> {
    let mut out = Vec::with_capacity(children.len());
    for &c in children {
        let c = c as usize;
        if c != id && seen.get(c) == Some(&false) {
            seen[c] = true;
            out.push(c);
        }
    }
    out
}

/// [`structure`], with the parts of `msg` already in the tree marked in `seen`.
fn node(
    msg: &Message<'_>,
    id: usize,
    raw: &[u8],
    base: u64,
    depth: usize,
    seen: &mut [bool],
) -> BodyStructure {
    if let Some(s) = seen.get_mut(id) {
        *s = true;
    }
    let part = &msg.parts[id];
    let (media_type, subtype, params) = match part
        .headers
        .iter()
        .find(|h| matches!(h.name, HeaderName::ContentType))
        .map(|h| &h.value)
    {
        Some(HeaderValue::ContentType(ct)) => (
            ct.c_type.to_string(),
            ct.c_subtype
                .as_deref()
                .map_or_else(|| default_subtype(&ct.c_type), str::to_owned),
            raw_header(part, raw, "Content-Type")
                .map(|v| raw_params(&v))
                .unwrap_or_default(),
        ),
        _ => default_content_type(msg, id),
    };
    let disposition = part
        .headers
        .iter()
        .find(|h| matches!(h.name, HeaderName::ContentDisposition))
        .and_then(|h| match &h.value {
            HeaderValue::ContentType(ct) => Some(Disposition {
                value: ct.c_type.to_string(),
                params: raw_header(part, raw, "Content-Disposition")
                    .map(|v| raw_params(&v))
                    .unwrap_or_default(),
            }),
            _ => None,
        });
    let language = raw_header(part, raw, "Content-Language")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let body = part_body(part, raw);
    let encoding = raw_header(part, raw, "Content-Transfer-Encoding")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "7bit".to_owned());
    let kind = match &part.body {
        PartType::Multipart(children) if depth < 64 => BodyKind::Multipart(
            children_once(children, id, seen)
                .into_iter()
                .map(|c| node(msg, c, raw, base, depth + 1, seen))
                .collect(),
        ),
        // A transfer-encoded message/rfc822 (which RFC 2046 §5.2.1 forbids, and mail still
        // has) is left unparsed: its parts' offsets would be into the decoded copy, which
        // section numbers cannot address in the stored octets.
        PartType::Message(inner)
            if depth < 64 && !inner.parts.is_empty() && is_identity(&encoding) =>
        {
            // mail-parser gives a nested message either offsets into the outer message (when
            // it met the message inside a multipart) or offsets into its own decoded copy
            // (when the part was the top level or transfer-encoded).
            let relative = inner.parts[0].offset_header == 0 && part.offset_body != 0;
            let (inner_raw, inner_base) = if relative {
                (inner.raw_message(), base + u64::from(part.offset_body))
            } else {
                (raw, base)
            };
            BodyKind::Message {
                envelope: Box::new(envelope(inner, inner_raw)),
                body: Box::new(structure(inner, 0, inner_raw, inner_base, depth + 1)),
            }
        }
        _ if media_type.eq_ignore_ascii_case("text") => BodyKind::Text,
        _ => BodyKind::Basic,
    };
    let lines = match kind {
        BodyKind::Text | BodyKind::Message { .. } => Some(count_lines(body)),
        _ => None,
    };
    BodyStructure {
        media_type,
        subtype,
        params,
        id: raw_header(part, raw, "Content-ID"),
        description: raw_header(part, raw, "Content-Description"),
        encoding,
        size: body.len() as u64,
        lines,
        md5: raw_header(part, raw, "Content-MD5"),
        disposition,
        language,
        location: raw_header(part, raw, "Content-Location"),
        header_offset: base + u64::from(part.offset_header),
        body_offset: base + u64::from(part.offset_body),
        kind,
    }
}

fn default_subtype(media_type: &str) -> String {
    match media_type.to_ascii_lowercase().as_str() {
        "text" => "plain",
        "multipart" => "mixed",
        "message" => "rfc822",
        _ => "octet-stream",
    }
    .to_owned()
}

/// RFC 2046: the default is `text/plain; charset=us-ascii`, except inside
/// `multipart/digest`, where it is `message/rfc822`.
fn default_content_type(msg: &Message<'_>, id: usize) -> (String, String, Vec<(String, String)>) {
    let in_digest = msg.parts.iter().any(|p| {
        matches!(&p.body, PartType::Multipart(c) if c.iter().any(|&c| c as usize == id))
            && p.headers.iter().any(|h| {
                matches!(&h.value, HeaderValue::ContentType(ct)
                    if ct.c_subtype.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("digest")))
            })
    });
    if in_digest {
        ("message".into(), "rfc822".into(), Vec::new())
    } else {
        (
            "text".into(),
            "plain".into(),
            vec![("charset".into(), "us-ascii".into())],
        )
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::mime::MimeInfo;

    #[test]
    fn multipart_sizes_exclude_boundary_crlf() {
        let raw = b"From: a@b.c\r\nSubject: =?utf-8?q?x?=\r\n  folded\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline1\r\nline2\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\nAAAA\r\n--XX--\r\n";
        let m = MimeInfo::parse(raw);
        assert_eq!(m.envelope.subject.as_deref(), Some("=?utf-8?q?x?=  folded"));
        assert_eq!(m.envelope.sender, m.envelope.from);
        let BodyKind::Multipart(children) = &m.body.kind else {
            panic!("{:?}", m.body)
        };
        assert_eq!(m.body.subtype, "mixed");
        assert_eq!(children.len(), 2);
        let t = &children[0];
        assert_eq!(
            (t.media_type.as_str(), t.subtype.as_str()),
            ("text", "plain")
        );
        let body = &raw[t.body_offset as usize..(t.body_offset + t.size) as usize];
        assert_eq!(body, b"line1\r\nline2");
        assert_eq!(t.lines, Some(1));
        let b = &children[1];
        assert_eq!(b.encoding, "base64");
        assert_eq!(b.size, 4);
        assert_eq!(b.disposition.as_ref().unwrap().value, "attachment");
        assert_eq!(
            b.disposition.as_ref().unwrap().params,
            vec![("filename".into(), "a.bin".into())]
        );
    }

    #[test]
    fn nested_message() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y.z\r\n\r\ninner body\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let BodyKind::Multipart(children) = &m.body.kind else {
            panic!()
        };
        let BodyKind::Message { envelope, body } = &children[0].kind else {
            panic!("{:?}", children[0])
        };
        assert_eq!(envelope.subject.as_deref(), Some("inner"));
        assert_eq!(body.media_type, "text");
        let inner = &raw[body.body_offset as usize..(body.body_offset + body.size) as usize];
        assert_eq!(inner, b"inner body");
    }

    #[test]
    fn top_level_message_rfc822() {
        let raw = b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n";
        let m = MimeInfo::parse(raw);
        let BodyKind::Message { envelope, body } = &m.body.kind else {
            panic!("{:?}", m.body)
        };
        assert_eq!(envelope.subject.as_deref(), Some("inner"));
        let inner = &raw[body.body_offset as usize..(body.body_offset + body.size) as usize];
        assert_eq!(inner, b"body\r\n");
        assert_eq!(m.body.lines, Some(3));
    }
}
