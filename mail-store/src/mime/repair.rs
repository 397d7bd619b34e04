//! Body parts whose header block runs straight into a boundary delimiter.
//!
//! RFC 2046 §5.1.1 makes a part's blank line and body optional (`body-part :=
//! MIME-part-headers [CRLF *OCTET]`): `--b` CRLF `Content-Type: text/plain` CRLF `--b` is a
//! part with headers and nothing else. The parser reads a header block up to a blank line
//! and takes the delimiter for a malformed header line, so the parts after it vanish into
//! this one (or, at the close delimiter, the part is dropped). [`parse`] finds such
//! delimiters, in each multipart's body (the parts between two of its delimiter lines with
//! no blank line) and in the header blocks of the parser's tree (an encapsulated message of
//! headers alone), has the parser read the message again with a blank line before each, and
//! [`Inserted`] maps the structure's offsets back to the stored octets, as Dovecot reads
//! these parts.

use std::borrow::Cow;

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, PartType};

use super::{
    raw_header,
    structure::{BodyKind, BodyStructure, is_identity},
};

/// Rounds of reading again: each finds what the last one's reading revealed, one level of
/// nesting deeper.
const ROUNDS: usize = 4;
/// Blank lines put in at most, in all.
const MAX_INSERTED: usize = 1000;
/// Blank lines put in at most before one delimiter: a second one ends the header block of
/// an encapsulated message (`message/rfc822`) of nothing, whose part's header block ran into
/// the delimiter.
const MAX_AT_ONE_PLACE: usize = 2;

/// The blank lines put into a copy of a message, each at its octet offset in the copy (the
/// two octets `CRLF` there are not in the stored message), ascending.
#[derive(Debug, Default)]
pub(super) struct Inserted(Vec<usize>);

impl Inserted {
    /// The stored message's offset for offset `x` of the copy (one inside an inserted CRLF
    /// is taken for where it was put in).
    fn stored(&self, x: u64) -> u64 {
        // The positions ascend and the inserted line ends do not overlap.
        let before = self.0.partition_point(|&p| p as u64 + 2 <= x);
        let mut out = x - 2 * before as u64;
        if let Some(&p) = self.0.get(before)
            && x > p as u64
        {
            out -= x - p as u64;
        }
        out
    }

    /// `node`'s offsets and sizes, from the copy's to those of `raw`, the stored message.
    /// Line counts are the copy's still: [`confine`](super::structure::confine) counts them
    /// again.
    pub(super) fn restore(&self, node: &mut BodyStructure, raw: &[u8]) {
        if self.0.is_empty() {
            return;
        }
        let end = node.body_offset + node.size;
        // The positions ascend, as in `stored`.
        let after_inserted = node
            .body_offset
            .checked_sub(2)
            .and_then(|p| usize::try_from(p).ok())
            .is_some_and(|p| self.0.binary_search(&p).is_ok());
        node.header_offset = self.stored(node.header_offset);
        node.body_offset = self.stored(node.body_offset);
        node.size = self.stored(end).saturating_sub(node.body_offset);
        if after_inserted {
            // A header block that runs into a delimiter ends before the line end, which
            // is the delimiter's (RFC 2046 §5.1.1), as Dovecot reads it; the body is empty.
            let at = usize::try_from(node.body_offset).unwrap_or(usize::MAX);
            let eol = match raw.get(..at) {
                Some([.., b'\r', b'\n']) => 2,
                Some([.., b'\n']) => 1,
                _ => 0,
            };
            node.body_offset = node.body_offset.saturating_sub(eol).max(node.header_offset);
            node.size = 0;
        }
        match &mut node.kind {
            BodyKind::Multipart(children) => children.iter_mut().for_each(|c| self.restore(c, raw)),
            BodyKind::Message { body, .. } => self.restore(body, raw),
            BodyKind::Basic | BodyKind::Text => {}
        }
    }
}

/// Reads `raw` with a blank line before every boundary delimiter that a part's header
/// block runs into, and calls `build` on the result with the copy that was read and the
/// lines inserted into it.
pub(super) fn parse<T>(raw: &[u8], build: impl FnOnce(Option<&Message<'_>>, &Inserted) -> T) -> T {
    let mut stored_at: Vec<usize> = Vec::new();
    let mut copy: Cow<'_, [u8]> = Cow::Borrowed(raw);
    let mut inserted = Inserted::default();
    let mut round = 0;
    loop {
        round += 1;
        let found = match MessageParser::default().parse(&copy[..]) {
            Some(msg) if round <= ROUNDS && stored_at.len() < MAX_INSERTED => {
                let mut found = Vec::new();
                walk(
                    &msg,
                    0,
                    msg.raw_message(),
                    0,
                    &mut Vec::new(),
                    0,
                    &mut found,
                );
                if found.is_empty() {
                    return build(Some(&msg), &inserted);
                }
                found
            }
            msg => return build(msg.as_ref(), &inserted),
        };
        // A delimiter found where a blank line already is in front of it (it starts right
        // after the last one put in there) gets one more; `stored_at[i]` is where
        // `inserted.0[i]` was put in. Merged in one pass: a message can hold many
        // thousands of delimiter lines.
        let mut wanted: Vec<(usize, usize)> = found
            .into_iter()
            .map(|x| {
                let at = usize::try_from(inserted.stored(x as u64)).unwrap_or(usize::MAX);
                let first = stored_at.partition_point(|&s| s < at);
                let have = stored_at[first..].partition_point(|&s| s == at);
                let past_all = have > 0 && inserted.0[first + have - 1] + 2 == x;
                let want = if past_all { have + 1 } else { have.max(1) };
                (at, want.min(MAX_AT_ONE_PLACE))
            })
            .collect();
        wanted.extend(
            stored_at
                .chunk_by(|a, b| a == b)
                .map(|run| (run[0], run.len())),
        );
        wanted.sort_unstable();
        stored_at.clear();
        for run in wanted.chunk_by(|a, b| a.0 == b.0) {
            // Sorted: the last of a run wants the most.
            if let Some(&(at, want)) = run.last() {
                let room = MAX_INSERTED - stored_at.len();
                stored_at.extend(std::iter::repeat_n(at, want.min(room)));
            }
            if stored_at.len() == MAX_INSERTED {
                break;
            }
        }
        let mut with = Vec::with_capacity(raw.len() + 2 * stored_at.len());
        let mut from = 0;
        let mut positions = Vec::with_capacity(stored_at.len());
        for &at in &stored_at {
            let at = at.min(raw.len());
            with.extend_from_slice(&raw[from..at]);
            positions.push(with.len());
            with.extend_from_slice(b"\r\n");
            from = at;
        }
        with.extend_from_slice(&raw[from..]);
        copy = Cow::Owned(with);
        inserted = Inserted(positions);
    }
}

/// Collects into `found` the offsets (in `raw`, plus `base`) of the delimiter lines of
/// `boundaries` (the enclosing multiparts') that part `id`'s header block holds, and does
/// the same for the parts below it.
fn walk(
    msg: &Message<'_>,
    id: usize,
    raw: &[u8],
    base: usize,
    boundaries: &mut Vec<Vec<u8>>,
    depth: usize,
    found: &mut Vec<usize>,
) {
    let mut seen = vec![false; msg.parts.len()];
    let at = Place { raw, base, depth };
    walk_part(msg, id, at, boundaries, found, &mut seen);
}

/// Where [`walk_part`] reads: the octets a part's offsets are into, what to add to them,
/// and how deep in the tree.
#[derive(Clone, Copy)]
struct Place<'r> {
    raw: &'r [u8],
    base: usize,
    depth: usize,
}

/// [`walk`], with the parts of `msg` already walked marked in `seen` (as `structure` reads
/// them: each once).
fn walk_part(
    msg: &Message<'_>,
    id: usize,
    Place { raw, base, depth }: Place<'_>,
    boundaries: &mut Vec<Vec<u8>>,
    found: &mut Vec<usize>,
    seen: &mut [bool],
) {
    if let Some(s) = seen.get_mut(id) {
        *s = true;
    }
    let Some(part) = msg.parts.get(id) else {
        return;
    };
    let start = part.offset_header as usize;
    let end = (part.offset_body as usize).min(raw.len());
    if let Some(block) = raw.get(start..end)
        && let Some(at) = delimiter_line(block, boundaries)
    {
        found.push(base + start + at);
    }
    if depth >= 64 {
        return;
    }
    match &part.body {
        PartType::Multipart(children) => {
            let boundary = part
                .headers
                .iter()
                .find(|h| matches!(h.name, HeaderName::ContentType))
                .and_then(|h| match &h.value {
                    HeaderValue::ContentType(ct) => ct.attribute("boundary"),
                    _ => None,
                });
            let Some(boundary) = boundary else {
                return;
            };
            let delimiter = [b"--", boundary.as_bytes()].concat();
            let body = (part.offset_body as usize).min(raw.len());
            boundaries.push(delimiter);
            headers_only_parts(&raw[body..], boundaries, |at| found.push(base + body + at));
            let below = Place {
                raw,
                base,
                depth: depth + 1,
            };
            for c in super::structure::children_once(children, id, seen) {
                walk_part(msg, c, below, boundaries, found, seen);
            }
            boundaries.pop();
        }
        // As `structure` reads nested messages: not transfer-encoded ones; offsets into
        // the outer message, or into the inner one's own octets from where its part's body
        // starts.
        PartType::Message(inner)
            if !inner.parts.is_empty()
                && raw_header(part, raw, "Content-Transfer-Encoding")
                    .is_none_or(|e| is_identity(&e)) =>
        {
            let relative = inner.parts[0].offset_header == 0 && part.offset_body != 0;
            let (inner_raw, inner_base) = if relative {
                (inner.raw_message(), base + part.offset_body as usize)
            } else {
                (raw, base)
            };
            walk(
                inner,
                0,
                inner_raw,
                inner_base,
                boundaries,
                depth + 1,
                found,
            );
        }
        _ => {}
    }
}

/// Calls `found` with the offset in `body` (a multipart's body, up to the end of the
/// message) of each delimiter line that ends one of its parts with no blank line: a part of
/// headers alone, or of nothing, which the parser would take the delimiter into. The parts
/// are read from the delimiter lines themselves, up to the close delimiter or a delimiter
/// line of an enclosing multipart (which ends this one too), as the parser may have dropped
/// or merged them (one whose header block reaches the end of the message is dropped).
/// `delimiters` are the enclosing multiparts', this one's last.
fn headers_only_parts(body: &[u8], delimiters: &[Vec<u8>], mut found: impl FnMut(usize)) {
    let Some(delimiter) = delimiters.last() else {
        return;
    };
    let mut part_start: Option<usize> = None;
    let mut at = 0;
    while let Some(d) = body
        .get(at..)
        .and_then(|rest| delimiter_line(rest, delimiters))
    {
        let line = at + d;
        if let Some(start) = part_start
            && !has_blank_line(&body[start..line])
        {
            found(line);
        }
        if !is_delimiter(&body[line..], delimiter) {
            return;
        }
        let rest = &body[line + delimiter.len()..];
        if rest.starts_with(b"--") {
            return;
        }
        let Some(lf) = memchr::memchr(b'\n', rest) else {
            return;
        };
        at = line + delimiter.len() + lf + 1;
        part_start = Some(at);
    }
}

/// Whether a part's octets hold the blank line that ends its header block (first among
/// them when it has no header fields).
fn has_blank_line(part: &[u8]) -> bool {
    part.starts_with(b"\r\n")
        || part.starts_with(b"\n")
        || memchr::memmem::find(part, b"\n\r\n").is_some()
        || memchr::memmem::find(part, b"\n\n").is_some()
}

/// The offset in `block` of the first line that is one of `delimiters` (`"--" boundary`),
/// or its close (`"--"` after it), with only white space after it (RFC 2046 §5.1.1).
fn delimiter_line(block: &[u8], delimiters: &[Vec<u8>]) -> Option<usize> {
    if delimiters.is_empty() {
        return None;
    }
    let mut at = 0;
    loop {
        let line = &block[at..];
        if delimiters.iter().any(|d| is_delimiter(line, d)) {
            return Some(at);
        }
        at += memchr::memchr(b'\n', line)? + 1;
    }
}

/// Whether `line` (up to its line end) is `delimiter` or its close (`"--"` after it), with
/// only white space after it (RFC 2046 §5.1.1).
fn is_delimiter(line: &[u8], delimiter: &[u8]) -> bool {
    line.strip_prefix(delimiter).is_some_and(|rest| {
        let rest = rest.strip_prefix(b"--").unwrap_or(rest);
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        rest[..end]
            .iter()
            .all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
    })
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use crate::mime::{BodyKind, BodyStructure, MimeInfo};

    /// The parts of a multipart node.
    fn parts(node: &BodyStructure) -> &[BodyStructure] {
        match &node.kind {
            BodyKind::Multipart(children) => children,
            other => panic!("not multipart: {other:?}"),
        }
    }

    /// A part's MIME header block and body, as `BODY[n.MIME]` and `BODY[n]` serve them.
    fn header_and_body<'r>(raw: &'r [u8], node: &BodyStructure) -> (&'r str, &'r str) {
        let (h, b) = (node.header_offset as usize, node.body_offset as usize);
        let text = |s| std::str::from_utf8(s).unwrap();
        (text(&raw[h..b]), text(&raw[b..b + node.size as usize]))
    }

    /// What Dovecot 2.3 answers for each (BODYSTRUCTURE and BODY[n], BODY[n.MIME]): a header
    /// block that runs into a delimiter ends the part there, without the line end (the
    /// delimiter's), and the parts after it are read as parts.
    #[test]
    fn a_part_of_headers_alone_ends_at_the_delimiter() {
        let raw = b"Subject: s\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n--b\r\nContent-Type: text/html\r\n\r\n\
            <p>x</p>\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 2, "{:?}", m.body);
        assert_eq!(
            (p[0].subtype.as_str(), p[0].size, p[0].lines),
            ("plain", 0, Some(0))
        );
        assert_eq!(
            header_and_body(raw, &p[0]),
            ("Content-Type: text/plain", "")
        );
        assert_eq!((p[1].subtype.as_str(), p[1].size), ("html", 8));
        assert_eq!(header_and_body(raw, &p[1]).1, "<p>x</p>");
        // The same with bare LF line ends.
        let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
        let m = MimeInfo::parse(&lf);
        let p = parts(&m.body);
        assert_eq!(p.len(), 2, "{:?}", m.body);
        assert_eq!(
            header_and_body(&lf, &p[0]),
            ("Content-Type: text/plain", "")
        );
        assert_eq!(header_and_body(&lf, &p[1]).1, "<p>x</p>");
    }

    #[test]
    fn a_message_of_headers_alone_ends_at_the_delimiter() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nmain\r\n\
            --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y.z\r\n\
            --b\r\nContent-Type: application/pdf\r\n\r\nPDF\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 3, "{:?}", m.body);
        assert_eq!(p[1].size, 29);
        assert_eq!(p[1].lines, Some(2));
        let BodyKind::Message { envelope, body } = &p[1].kind else {
            panic!("{:?}", p[1]);
        };
        assert_eq!(envelope.subject.as_deref(), Some("inner"));
        assert_eq!(
            header_and_body(raw, body),
            ("Subject: inner\r\nFrom: x@y.z", "")
        );
        assert_eq!((p[2].subtype.as_str(), p[2].size), ("pdf", 3));
        assert_eq!(header_and_body(raw, &p[2]).1, "PDF");
    }

    /// A `message/rfc822` part of headers alone: its message is empty (Dovecot: size 0,
    /// lines 0, an empty text/plain inside), and the part after it stays a part. Before, the
    /// encapsulated message took the delimiter line for its header, swallowed the next part,
    /// and `BODY[1.HEADER]` served octets of that part. Found by the `store_message` fuzz
    /// target.
    #[test]
    fn an_encapsulated_message_of_nothing_ends_at_the_delimiter() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: message/rfc822\r\n--b\r\n\r\ny\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 2, "{:?}", m.body);
        assert_eq!(
            header_and_body(raw, &p[0]),
            ("Content-Type: message/rfc822", "")
        );
        assert_eq!((p[0].size, p[0].lines), (0, Some(0)));
        let BodyKind::Message { envelope, body } = &p[0].kind else {
            panic!("{:?}", p[0]);
        };
        assert_eq!(envelope.subject, None);
        assert_eq!(header_and_body(raw, body), ("", ""));
        assert_eq!((body.size, body.lines), (0, Some(0)));
        assert_eq!(header_and_body(raw, &p[1]), ("\r\n", "y"));
        assert_eq!(p[1].lines, Some(0));
    }

    /// An inner multipart without its close delimiter, whose part of headers alone runs into
    /// the outer close delimiter: the part ends there (Dovecot: `text/html` of 0 octets with
    /// `Content-Type: text/html` as its MIME header). Before, the parser dropped the part and
    /// the multipart had none, which IMAP's `body-type-mpart` does not allow. Found by the
    /// `store_message` fuzz target.
    #[test]
    fn a_part_of_headers_alone_ends_at_an_enclosing_delimiter() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n\
            --i\r\nContent-Type: text/html\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let outer = parts(&m.body);
        assert_eq!(outer.len(), 1, "{:?}", m.body);
        let inner = parts(&outer[0]);
        assert_eq!(inner.len(), 1, "{:?}", outer[0]);
        assert_eq!(inner[0].subtype, "html");
        assert_eq!(
            header_and_body(raw, &inner[0]),
            ("Content-Type: text/html", "")
        );
        assert_eq!((inner[0].size, inner[0].lines), (0, Some(0)));
    }

    /// An encapsulated message whose header block ends on the line end before the
    /// delimiter (which is the delimiter's, RFC 2046 §5.1.1): its header and body stay inside
    /// its part, so `BODY[1.HEADER]` holds no octet of the delimiter. Found by the
    /// `store_message` fuzz target.
    #[test]
    fn an_encapsulated_message_stays_inside_its_part() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 1, "{:?}", m.body);
        assert_eq!(header_and_body(raw, &p[0]).1, "Subject: in\r\n");
        let BodyKind::Message { envelope, body } = &p[0].kind else {
            panic!("{:?}", p[0]);
        };
        assert_eq!(envelope.subject.as_deref(), Some("in"));
        assert_eq!(header_and_body(raw, body), ("Subject: in\r\n", ""));
        assert_eq!((body.size, body.lines), (0, Some(0)));
    }

    #[test]
    fn a_multipart_of_headers_alone_ends_at_the_outer_delimiter() {
        let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n\
            --o\r\nContent-Type: multipart/alternative; boundary=i\r\n\
            --o\r\nContent-Type: text/plain\r\n\r\nafter\r\n--o--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 2, "{:?}", m.body);
        assert_eq!(
            header_and_body(raw, &p[0]),
            ("Content-Type: multipart/alternative; boundary=i", "")
        );
        assert_eq!(header_and_body(raw, &p[1]).1, "after");
        assert_eq!(m.body.size as usize, raw.len() - m.header_len as usize);
    }

    /// A part of headers alone before the close delimiter, and a run of them: each ends at
    /// the next delimiter (the parser dropped the first and merged the run into its first).
    #[test]
    fn runs_of_headers_alone_and_the_last_before_the_close() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\n\r\nx\r\n--b\r\nContent-Type: text/html\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 2, "{:?}", m.body);
        assert_eq!(header_and_body(raw, &p[0]), ("\r\n", "x"));
        assert_eq!(header_and_body(raw, &p[1]), ("Content-Type: text/html", ""));
        let mut run = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for i in 0..70 {
            run.extend_from_slice(format!("--b\r\nContent-Type: text/x-{i}\r\n").as_bytes());
        }
        run.extend_from_slice(b"--b\r\n\r\nlast\r\n--b--\r\n");
        let m = MimeInfo::parse(&run);
        let p = parts(&m.body);
        assert_eq!(p.len(), 71);
        for (i, part) in p[..70].iter().enumerate() {
            let header = format!("Content-Type: text/x-{i}");
            assert_eq!(header_and_body(&run, part), (header.as_str(), ""));
        }
        assert_eq!(header_and_body(&run, &p[70]).1, "last");
    }

    /// Well-formed messages are read once, as before: nothing is inserted, and a header
    /// line that only starts like a delimiter is no delimiter.
    #[test]
    fn well_formed_messages_are_left_alone() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\nX-Note: --b is the boundary\r\n\r\nhi\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let p = parts(&m.body);
        assert_eq!(p.len(), 1);
        assert_eq!(header_and_body(raw, &p[0]).1, "hi");
    }

    /// Malformed MIME (found by fuzzing) whose reading with blank lines put in started the
    /// message at octet 232: the parser's own reading is kept instead, so the message's
    /// header starts at 0 and ends where the header block does.
    #[test]
    fn a_repair_that_moves_the_message_start_is_not_used() {
        let raw = b"Subject: \rs\n\
            Content-Type: mCCCCCCCCCCCCtContentoao\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\x00\xffTo: \xff\xff\xffSubjectype: multipart/mixed; boundary=b\r\n\
            \r s\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed; boundary=b\r\n\
            \r\n\
            &-b\r\n\
            Content-Typems:s aege/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSubub\xff\xff\xff\xffbb\r\n\
            \r\n\
            y\r\n\
            \x08\x00\x00jec\x8c\xc8ject \x00--b--\r\n";
        let m = MimeInfo::parse(raw);
        assert_eq!(m.body.header_offset, 0);
        assert_eq!(m.body.body_offset, m.header_len);
    }

    /// Malformed MIME (found by fuzzing) on which the parser itself starts the first part at
    /// octet 232: the message's header still starts at 0.
    #[test]
    fn the_message_starts_at_its_first_octet() {
        let raw = b"SuMessage-ID: ntent-Type: mCCCCCCCCCCCCtContentoao\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\x00\xffTo: \xff\xff\xffSubjectype: multipart/mixed; boundary=b\r\n\
            \r s\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Conb\r\n\
            Content-Type: message/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: messagetent-Type: message/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed;\xcaboundary=b\r\n\
            \r\n\
            &-b\r\n\
            Content-Typems:u aege/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSubub\xff\xff\xff\xffbb\r\n\
            \r\n\
            y\r\n\
            \x08\x00\x00jec\x8c\xc8ject \x00--b--\r\n";
        assert_eq!(MimeInfo::parse(raw).body.header_offset, 0);
    }

    /// Malformed MIME (found by fuzzing, 1,123 octets) whose parts the parser lists under
    /// more than one multipart: read as listed, the tree doubled at each level, and storing
    /// the message took all memory. Each part is now read once.
    #[test]
    fn each_part_is_read_once() {
        fn nodes(n: &BodyStructure) -> usize {
            1 + match &n.kind {
                BodyKind::Multipart(c) => c.iter().map(nodes).sum(),
                BodyKind::Message { body, .. } => nodes(body),
                BodyKind::Basic | BodyKind::Text => 0,
            }
        }
        let raw = b"SuMessage-ID: ntent-Type: mCCCCCCCCCCCCtContentoao\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\x00\xffTo: \xff\xff\xffSubjectype: multipart/mixed; boundary=b\r\n\
            \r s\r\n\
            Content-Type: multipart/mixed\xc3\x83; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed; boundary=toao\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc\x00\xffTo: \xff\xff\xffSubjectype: multipart/mixed; boundary=b\r\n\
            \r s\r\n\
            Content-Type: multipart/mixed\xc3\x83; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed; boundary=b\r\n\
            \r\n\
            --b\r\n\
            Conb\r\n\
            Content-Type: message/rfc822\r\n\
            bab\rbjec::::::\x01\x00\x11\x00:::::::::::::::::::::::::::::::::::::::::::::::::::\xf8\xf8\xf8\xa0\xa0\xa0\xa0\xa0 4: s\r\n\
            mt: ssage-\r\n\
            Cose6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: messagetent-Type: message/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed;\xcabo|ndary=b\r\n\
            \xea\xf5\xd9\xd2b\r\n\
            Content-Typems:u aege/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSubub\xffb\r\n\
            \r\n\
            --b\r\n\
            Conb\r\n\
            Content-Type: message/rfc822\r\n\
            bab\rbjec::::::\x01\x00\x11\x00:::::::::::::::::::::::::::::::::::::::::::::::::::\xf8\xf8\xf8\xa0\xa0\xa0\xa0\xa0 4: s\r\n\
            mt: ssage-\r\n\
            Cose6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: messagetent-Type: message/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSu\n\
            --b\r\n\
            Content-Type: message/rfc822\r\n\
            22mixed;\xcabo|ndary=b\r\n\
            \xea\xf5\xd9\xd2b\r\n\
            Content-Typems:u aege/rfc822\r\n\
            base6422\r\n\
            \r\n\
            SSubub\xff\xff\xff\xffbb\r\n\
            \r\n\
            y\r\n\
            \x08\x00\x00jec\x8c\xc8ject \x00--b--\r\n";
        let m = MimeInfo::parse(raw);
        assert!(nodes(&m.body) < 64, "{} nodes", nodes(&m.body));
    }
}
