//! Arbitrary bytes as a stored message, through mail-store's message analysis: the MIME tree
//! (`MimeInfo::parse`, with its repair of header blocks that run into delimiters), the body
//! sections cut from it, `BINARY` decoding, the header and address parsers, and the base
//! subject and message-id parsing of SORT and THREAD (RFC 5256).
//!
//! - The tree's offsets lie inside the message: each node's header, then its body, each
//!   child inside its parent's body, the message inside a `message/rfc822` part inside
//!   that part.
//! - `lines` of a text or message part counts the line ends of its body as stored.
//! - Every section of every part cuts without panic, inside the message; a part number past
//!   the tree names nothing.
//! - A part's `BINARY` decoding is never longer than its body.
//! - A base subject is its own base subject; message ids are never empty.
//! - SEARCH's content keys and the date parsers take the message without panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_imap::{sort::base_subject, thread::message_ids};
use sansmail_store::{
    FetchedMessage, Flags, InternalDate, ModSeq, SearchQuery, Uid,
    date::{Day, parse_day, parse_timestamp},
    headers::{decode_encoded_words, header_values},
    mime::{BodyKind, BodyStructure, MimeInfo, parse_address_list},
    search::DayCmp,
    section::{Section, SectionText, binary},
};

/// Nodes looked at in depth (sections, BINARY); the offsets of all are checked.
const MAX_VISITED: usize = 64;

fn lines(raw: &[u8], from: u64, len: u64) -> u64 {
    let from = from as usize;
    raw[from..from + len as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Checks `node`'s offsets against `[lo, hi)` and collects its part path (unless it is the
/// message inside a `message/rfc822` part, which has its part's number) and those below it.
fn check(
    raw: &[u8],
    node: &BodyStructure,
    (lo, hi): (u64, u64),
    path: &mut Vec<u32>,
    paths: &mut Vec<Vec<u32>>,
    numbered: bool,
) {
    let end = node.body_offset + node.size;
    assert!(
        lo <= node.header_offset && node.header_offset <= node.body_offset && end <= hi,
        "node at {path:?}: header {} body {}..{end} outside {lo}..{hi}",
        node.header_offset,
        node.body_offset,
    );
    if let Some(n) = node.lines {
        assert_eq!(
            n,
            lines(raw, node.body_offset, node.size),
            "lines of the part at {path:?}"
        );
    }
    if numbered {
        paths.push(path.clone());
    }
    match &node.kind {
        BodyKind::Multipart(children) => {
            // One without parts is kept so (the IMAP conversion gives it an empty text part,
            // as Dovecot does).
            for (i, child) in children.iter().enumerate() {
                path.push(i as u32 + 1);
                check(raw, child, (node.body_offset, end), path, paths, true);
                path.pop();
            }
        }
        BodyKind::Message { body, .. } => {
            assert!(
                node.lines.is_some(),
                "message part at {path:?} without lines"
            );
            check(raw, body, (node.body_offset, end), path, paths, false);
        }
        BodyKind::Text => assert!(node.lines.is_some(), "text part at {path:?} without lines"),
        BodyKind::Basic => {}
    }
}

/// SEARCH's content keys over the message (header fields, addresses, the body decoded from
/// its transfer encoding and charset, the sent date): no panic.
fn search(raw: &[u8]) {
    let message = FetchedMessage {
        uid: Uid::MIN,
        flags: Flags::new(),
        modseq: ModSeq::new(1).unwrap(),
        internal_date: InternalDate {
            timestamp: 0,
            offset_minutes: 0,
        },
        size: raw.len() as u64,
        crlf_size: raw.len() as u64,
        envelope: None,
        body_structure: None,
        content: Some(raw.to_vec()),
    };
    let keys = [
        SearchQuery::Text(b"x".to_vec()),
        SearchQuery::Body("\u{e9}t\u{e9}".as_bytes().to_vec()),
        SearchQuery::Header {
            name: b"Subject".to_vec(),
            contains: b"re".to_vec(),
        },
        SearchQuery::Address {
            name: b"From".to_vec(),
            contains: b"a@".to_vec(),
        },
        SearchQuery::SentDay(DayCmp::Since, Day::new(2000, 1, 1).unwrap()),
    ];
    for key in keys {
        let _ = key.matches(&message);
    }
}

fuzz_target!(|raw: &[u8]| {
    let info = MimeInfo::parse(raw);
    let len = raw.len() as u64;
    assert!(info.header_len <= len);
    assert_eq!(info.body.header_offset, 0);
    let mut paths = Vec::new();
    check(raw, &info.body, (0, len), &mut Vec::new(), &mut paths, true);

    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields {
            names: vec!["From".into(), "Subject".into()],
            not: false,
        }),
        Some(SectionText::HeaderFields {
            names: vec!["Content-Type".into()],
            not: true,
        }),
    ];
    for path in paths.iter().take(MAX_VISITED) {
        for text in &texts {
            let section = Section {
                part: path.clone(),
                text: text.clone(),
            };
            if let Some(cut) = section.cut(raw, &info.body) {
                assert!(
                    cut.len() <= raw.len() + 2,
                    "{section:?} longer than the message"
                );
            }
        }
        if let Ok(Some(decoded)) = binary(raw, &info.body, path)
            && !path.is_empty()
        {
            let size = Section {
                part: path.clone(),
                text: None,
            }
            .cut(raw, &info.body)
            .map_or(0, |b| b.len());
            assert!(decoded.len() <= size, "BINARY{path:?} longer than its body");
        }
        let mut past = path.clone();
        past.push(u32::MAX);
        assert!(
            Section {
                part: past.clone(),
                text: None
            }
            .cut(raw, &info.body)
            .is_none()
        );
        assert_eq!(binary(raw, &info.body, &past).ok().flatten(), None);
    }

    let header = &raw[..info.header_len as usize];
    for name in [&b"From"[..], b"To", b"Content-Type"] {
        for value in header_values(header, name) {
            let text = String::from_utf8_lossy(&value);
            let _ = parse_address_list(&text);
            let _ = decode_encoded_words(&text);
        }
    }
    for value in header_values(header, b"Subject") {
        let subject = decode_encoded_words(&String::from_utf8_lossy(&value));
        let (base, _) = base_subject(&subject);
        // The base subject of a base subject is itself (RFC 5256 §2.1).
        assert_eq!(base_subject(&base).0, base, "base subject of {subject:?}");
    }
    for value in header_values(header, b"Date") {
        let text = String::from_utf8_lossy(&value);
        let _ = (parse_day(&text), parse_timestamp(&text));
    }
    search(raw);
    for name in [&b"References"[..], b"In-Reply-To", b"Message-ID"] {
        for value in header_values(header, name) {
            for id in message_ids(&String::from_utf8_lossy(&value)) {
                assert!(!id.is_empty());
            }
        }
    }
});
