//! SORT (RFC 5256 §3) and DISPLAYFROM/DISPLAYTO (RFC 5957) over plain per-message records,
//! and ESORT's ordered `ALL` set (RFC 5267 §3.1).
//!
//! A server fills one [`Message`] per message that its SEARCH keys matched, from whatever
//! store it has, then calls [`sort`]; the same records feed [`crate::thread`]. What needs a
//! MIME or date parser stays with the caller: the subject handed to [`base_subject`] is
//! already RFC 2047-decoded, and `sent` is the parsed `Date:` (RFC 5256 §2.2).
//!
//! Strings compare with `i;ascii-casemap` ([`casemap_cmp`]); ties under every criterion are
//! broken by sequence number, which `REVERSE` does not turn around (RFC 5256 §3).
//!
//! ```text
//! sort           = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
//! sort-criteria  = "(" sort-criterion *(SP sort-criterion) ")"
//! sort-criterion = ["REVERSE" SP] sort-key
//! ```

use std::cmp::Ordering;

use crate::types::{
    search::{SortCriterion, SortKey},
    sequence::{SeqItem, SeqNum, SequenceSet},
};

/// What SORT and THREAD know of one message.
///
/// Built by the server with a struct literal (`..Message::default()` for what a command does
/// not need); every string is as RFC 5256 wants it compared, nothing is derived here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Sequence number, as the client knows it; the final tie-break.
    pub seq: u32,
    /// UID.
    pub uid: u32,
    /// INTERNALDATE in seconds since the epoch (`ARRIVAL`).
    pub arrival: i64,
    /// The `Date:` header in seconds since the epoch, or INTERNALDATE when it is missing or
    /// cannot be parsed (RFC 5256 §2.2): `DATE`, and the order of threads.
    pub sent: i64,
    /// RFC822.SIZE (`SIZE`).
    pub size: u64,
    /// The base subject ([`base_subject`] of the decoded `Subject:`): `SUBJECT`, and how
    /// threads are grouped.
    pub base_subject: String,
    /// Whether [`base_subject`] took a reply or forward marker away (THREAD=REFERENCES
    /// step 5).
    pub reply: bool,
    /// addr-mailbox of the first `From:` address, or empty (`FROM`).
    pub from: String,
    /// addr-mailbox of the first `To:` address, or empty (`TO`).
    pub to: String,
    /// addr-mailbox of the first `Cc:` address, or empty (`CC`).
    pub cc: String,
    /// The first `From:` address's decoded display name, or `mailbox@host` when it has none
    /// (RFC 5957 §2, `DISPLAYFROM`).
    pub display_from: String,
    /// The same for the first `To:` address (`DISPLAYTO`).
    pub display_to: String,
    /// The first valid msg-id of `Message-ID:`, brackets included
    /// ([`crate::thread::message_ids`]).
    pub message_id: Option<String>,
    /// The valid msg-ids of `References:`, oldest first.
    pub references: Vec<String>,
    /// The first valid msg-id of `In-Reply-To:`.
    pub in_reply_to: Option<String>,
}

// ---- strings ----

/// `i;ascii-casemap` (RFC 4790 §9.2): octet by octet with a-z mapped to A-Z.
pub fn casemap_cmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

/// `WSP = SP / HTAB`
fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The length of a `subj-blob` at the start of `s`:
/// `subj-blob = "[" *BLOBCHAR "]" *WSP`, `BLOBCHAR = %x01-5a / %x5c / %x5e-ff` (anything but
/// `[` and `]`; octets of UTF-8 text count as BLOBCHAR).
fn blob_len(s: &[u8]) -> Option<usize> {
    let inner = s.strip_prefix(b"[")?;
    let close = inner.iter().position(|&b| b == b']' || b == b'[')?;
    if inner[close] != b']' {
        return None;
    }
    let mut end = close + 2;
    while s.get(end).copied().is_some_and(is_wsp) {
        end += 1;
    }
    Some(end)
}

/// The length of a `subj-refwd` at the start of `s`:
/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"` (case-insensitive).
fn refwd_len(s: &[u8]) -> Option<usize> {
    let lower = |i: usize| s.get(i).map(u8::to_ascii_lowercase);
    let mut i = match (lower(0), lower(1)) {
        (Some(b'f'), Some(b'w')) if lower(2) == Some(b'd') => 3,
        (Some(b'r'), Some(b'e')) | (Some(b'f'), Some(b'w')) => 2,
        _ => return None,
    };
    while s.get(i).copied().is_some_and(is_wsp) {
        i += 1;
    }
    if let Some(n) = blob_len(&s[i..]) {
        i += n;
    }
    (s.get(i) == Some(&b':')).then_some(i + 1)
}

/// The length of a `subj-leader` at the start of `s`:
/// `subj-leader = (*subj-blob subj-refwd) / WSP`.
fn leader_len(s: &[u8]) -> Option<usize> {
    if s.first().copied().is_some_and(is_wsp) {
        return Some(1);
    }
    let mut i = 0;
    while let Some(n) = blob_len(&s[i..]) {
        i += n;
    }
    refwd_len(&s[i..]).map(|n| i + n)
}

/// The base subject (RFC 5256 §2.1) of a subject whose encoded words (RFC 2047) are already
/// decoded, and whether a reply or forward marker was taken away (a `subj-refwd`, a `(fwd)`
/// trailer or `[fwd: ...]`), which THREAD=REFERENCES needs (§4 step 5).
///
/// ```text
/// subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
/// subj-blob    = "[" *BLOBCHAR "]" *WSP
/// subj-fwd     = subj-fwd-hdr subject subj-fwd-trl
/// subj-fwd-hdr = "[fwd:"
/// subj-fwd-trl = "]"
/// subj-leader  = (*subj-blob subj-refwd) / WSP
/// subj-middle  = *subj-blob (subj-base / subj-fwd)
/// subj-trailer = "(fwd)" / WSP
/// ```
pub fn base_subject(subject: &str) -> (String, bool) {
    // (1) Tabs and continuations to spaces, runs of spaces to one.
    let mut s: Vec<u8> = Vec::with_capacity(subject.len());
    for b in subject.bytes() {
        let b = if matches!(b, b'\t' | b'\r' | b'\n') {
            b' '
        } else {
            b
        };
        if !(b == b' ' && s.last() == Some(&b' ')) {
            s.push(b);
        }
    }
    let mut reply = false;
    let mut start = 0;
    let mut end = s.len();
    loop {
        // (2) Trailers: "(fwd)" and white space.
        loop {
            let t = &s[start..end];
            if t.last().copied().is_some_and(is_wsp) {
                end -= 1;
            } else if t.len() >= 5 && t[t.len() - 5..].eq_ignore_ascii_case(b"(fwd)") {
                end -= 5;
                reply = true;
            } else {
                break;
            }
        }
        // (3), (4), (5): leaders, then a blob when something is left after it.
        loop {
            let mut changed = false;
            while let Some(n) = leader_len(&s[start..end]) {
                // A leader other than white space has a subj-refwd.
                reply |= !is_wsp(s[start]);
                start += n;
                changed = true;
            }
            if let Some(n) = blob_len(&s[start..end]) {
                let rest = &s[start + n..end];
                if rest.iter().any(|&b| !is_wsp(b)) {
                    start += n;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // (6) "[fwd:" ... "]" around the rest: take them away and start again at (2).
        let t = &s[start..end];
        if t.len() >= 6 && t[..5].eq_ignore_ascii_case(b"[fwd:") && t.last() == Some(&b']') {
            start += 5;
            end -= 1;
            reply = true;
            continue;
        }
        break;
    }
    // Only ASCII octets were taken away, so the rest is still UTF-8.
    (String::from_utf8_lossy(&s[start..end]).into_owned(), reply)
}

// ---- sorting ----

/// How two messages compare under one `sort-key` (RFC 5256 §3, RFC 5957 §3).
fn compare_key(key: SortKey, a: &Message, b: &Message) -> Ordering {
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Date => a.sent.cmp(&b.sent),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => casemap_cmp(&a.base_subject, &b.base_subject),
        SortKey::From => casemap_cmp(&a.from, &b.from),
        SortKey::To => casemap_cmp(&a.to, &b.to),
        SortKey::Cc => casemap_cmp(&a.cc, &b.cc),
        SortKey::DisplayFrom => casemap_cmp(&a.display_from, &b.display_from),
        SortKey::DisplayTo => casemap_cmp(&a.display_to, &b.display_to),
    }
}

/// SORT (RFC 5256 §3): orders `messages` by the criteria in turn, then by sequence number,
/// which `REVERSE` never turns around.
pub fn sort(messages: &mut [Message], criteria: &[SortCriterion]) {
    messages.sort_by(|a, b| {
        criteria
            .iter()
            .map(|c| {
                let o = compare_key(c.key, a, b);
                if c.reverse { o.reverse() } else { o }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then(a.seq.cmp(&b.seq))
    });
}

/// ESORT's `ALL` (RFC 5267 §3.1): the numbers in sort order as a `sequence-set`, runs of
/// consecutive ascending numbers written as ranges (`3:5` is 3, 4, 5 read either way, so only
/// ascending runs keep the order). `None` when `ids` is empty or holds a zero.
pub fn ordered_set(ids: &[u32]) -> Option<SequenceSet> {
    let mut items = Vec::new();
    let mut i = 0;
    while let Some(&start) = ids.get(i) {
        let mut end = start;
        while end
            .checked_add(1)
            .is_some_and(|next| ids.get(i + 1) == Some(&next))
        {
            end += 1;
            i += 1;
        }
        i += 1;
        items.push(if start == end {
            SeqItem::Single(SeqNum::Value(start))
        } else {
            SeqItem::Range(SeqNum::Value(start), SeqNum::Value(end))
        });
    }
    SequenceSet::new(items).ok()
}
