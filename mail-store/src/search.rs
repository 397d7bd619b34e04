//! Searching stored messages: a protocol-neutral query tree ([`SearchQuery`]), its
//! evaluation over one message ([`SearchQuery::matches`]), and the scan that
//! [`MailStore::search`] does unless a backend answers queries itself ([`scan`]).
//!
//! The query holds what is a property of the stored message. What belongs to a protocol
//! session is resolved by the caller first: IMAP turns message sequence numbers, `$` and
//! `\Recent` into [`SearchQuery::Uids`], and `OLDER`/`YOUNGER` into
//! [`SearchQuery::ArrivedBefore`]/[`SearchQuery::ArrivedSince`] with its own clock. The store
//! never reads a clock to search.
//!
//! Text keys compare ASCII case-insensitively against the unfolded header values and the
//! body, raw and decoded (RFC 9051 §6.4.4 matches "the associated text"): a header value
//! also with its encoded words decoded (RFC 2047), the body also as its text parts read
//! once their transfer encoding and charset are undone (RFC 2045). An empty string matches
//! every message. Date keys compare calendar days.

use crate::{
    date::{Day, parse_day},
    error::Result,
    headers::header_values,
    model::{Content, FetchQuery, FetchedMessage},
    store::MailStore,
    types::{Flag, Keyword, ModSeq, Session, Uid, UidSet},
};

/// Messages fetched per store call by [`scan`] when the query needs their octets.
pub const CONTENT_BATCH: usize = 64;

/// Octets of content [`scan`] compares before it lets other tasks on its thread run.
const SCAN_SLICE: u64 = 256 * 1024;

/// Returns `Pending` once, having asked to be polled again: the executor runs other tasks
/// in between. (The store is independent of any runtime, so not `tokio::task::yield_now`.)
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// How a message's day compares with the day a query names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayCmp {
    /// Strictly earlier.
    Before,
    /// The same day.
    On,
    /// The same day or later.
    Since,
}

impl DayCmp {
    /// Whether `day` stands in this relation to `reference`.
    pub fn holds(self, day: Day, reference: Day) -> bool {
        match self {
            DayCmp::Before => day < reference,
            DayCmp::On => day == reference,
            DayCmp::Since => day >= reference,
        }
    }
}

/// What a search asks of each message. Build a conjunction with [`SearchQuery::And`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchQuery {
    /// Every message.
    All,
    /// The system flag is set (wrap in [`Not`](Self::Not) for "not set").
    Flag(Flag),
    /// The keyword is set (case-insensitively).
    Keyword(Keyword),
    /// The UID is in the set.
    Uids(UidSet),
    /// RFC822.SIZE is greater than this.
    Larger(u64),
    /// RFC822.SIZE is less than this.
    Smaller(u64),
    /// The internal date's day, in the zone the date was given in, compares so with the day.
    InternalDay(DayCmp, Day),
    /// The `Date:` field's day as written (its zone not applied) compares so with the day;
    /// without a `Date:` field that parses, the internal date's day does.
    SentDay(DayCmp, Day),
    /// The internal date is earlier than this instant (seconds since the epoch, UTC).
    ArrivedBefore(i64),
    /// The internal date is this instant or later (seconds since the epoch, UTC).
    ArrivedSince(i64),
    /// The mod-sequence is at least this.
    ModSeqAtLeast(u64),
    /// A header field of this name (ASCII case-insensitively) has a value containing the
    /// string. With an empty string: the field is present.
    Header {
        /// The field name.
        name: Vec<u8>,
        /// What the unfolded value must contain.
        contains: Vec<u8>,
    },
    /// An address field of this name (`From`, `To`, `Cc`, `Bcc`) holds an address whose
    /// written form contains the string: `Display Name <local@domain>` with comments and
    /// folding removed and encoded words decoded (IMAP SEARCH FROM/TO/CC/BCC, as Dovecot
    /// matches them). A field that holds no `local@domain` address is compared as written. With an empty
    /// string: the field is present.
    Address {
        /// The field name.
        name: Vec<u8>,
        /// What an address must contain.
        contains: Vec<u8>,
    },
    /// The body (everything after the header block) contains the string.
    Body(Vec<u8>),
    /// The header block or the body contains the string.
    Text(Vec<u8>),
    /// The query does not match.
    Not(Box<SearchQuery>),
    /// Either query matches.
    Or(Box<SearchQuery>, Box<SearchQuery>),
    /// Every query matches (an empty list: every message).
    And(Vec<SearchQuery>),
}

impl std::ops::Not for SearchQuery {
    type Output = Self;

    /// `NOT query`.
    fn not(self) -> Self {
        Self::Not(Box::new(self))
    }
}

/// A message a search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchHit {
    /// Its UID.
    pub uid: Uid,
    /// Its mod-sequence when it was searched (CONDSTORE reports the highest).
    pub modseq: ModSeq,
}

/// Needles up to this long are compared at every offset: at most this many comparisons an
/// octet, and nothing to build or allocate for each message a search looks at.
const SHORT_NEEDLE: usize = 32;

/// Whether `needle` occurs in `hay`, ASCII case-insensitively. An empty needle matches.
///
/// A longer needle is looked for with Knuth–Morris–Pratt ([`contains_long`]): compared at
/// every offset it could cost `hay × needle`, days of CPU for a 32 MB needle of `a`s ending
/// in `b` against a 60 MB message of `a`s.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if needle.len() > SHORT_NEEDLE {
        return contains_long(hay, needle);
    }
    let Some(last) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    // Only where the first octet (either case) is: `memchr2` skips the rest many octets an
    // instruction, where comparing at every offset costs a few instructions each.
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut at = 0;
    while let Some(found) = hay
        .get(at..=last)
        .and_then(|h| memchr::memchr2(lower, upper, h))
    {
        let start = at + found;
        if hay
            .get(start..start + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return true;
        }
        at = start + 1;
    }
    false
}

/// [`contains`] by Knuth–Morris–Pratt over case-folded octets: each octet of `hay` is looked
/// at once, whatever the needle.
fn contains_long(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.len() > hay.len() {
        return false;
    }
    let at = |k: usize| needle.get(k).map(u8::to_ascii_lowercase);
    // `border[i]`: the length of the longest proper prefix of `needle[..=i]` that is also
    // its suffix, where a partial match of `i + 1` octets resumes after a mismatch.
    let mut border = vec![0usize; needle.len()];
    // The partial match of `k` octets, extended by `c` (folded).
    let step = |border: &[usize], mut k: usize, c: u8| {
        while k > 0 && at(k) != Some(c) {
            k = border.get(k - 1).copied().unwrap_or(0);
        }
        if at(k) == Some(c) { k + 1 } else { k }
    };
    let mut k = 0;
    for i in 1..needle.len() {
        k = step(&border, k, at(i).unwrap_or_default());
        if let Some(b) = border.get_mut(i) {
            *b = k;
        }
    }
    let mut k = 0;
    for &c in hay {
        k = step(&border, k, c.to_ascii_lowercase());
        if k == needle.len() {
            return true;
        }
    }
    false
}

/// Splits a stored message at the blank line ending its header (a message without one is
/// all header).
fn split(raw: &[u8]) -> (&[u8], &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    raw.split_at(end)
}

/// The larger need of two: the whole message covers the header.
fn max_content(a: Option<Content>, b: Option<Content>) -> Option<Content> {
    match (a, b) {
        (Some(Content::Full), _) | (_, Some(Content::Full)) => Some(Content::Full),
        (Some(x), _) | (None, Some(x)) => Some(x),
        (None, None) => None,
    }
}

/// One message as the keys see it.
struct Candidate<'a> {
    m: &'a FetchedMessage,
    /// The whole content: `header` then `body`.
    raw: &'a [u8],
    header: &'a [u8],
    body: &'a [u8],
    /// The text parts decoded, worked out when a key first needs them.
    texts: std::cell::OnceCell<Vec<String>>,
    /// The header block with its encoded words decoded, likewise.
    decoded_header: std::cell::OnceCell<String>,
}

/// Whether a message's body may read otherwise once decoded: an encoded or non-UTF-8
/// part, or parts.
fn encoded(header: &[u8]) -> bool {
    let field = |name: &[u8]| {
        header_values(header, name)
            .iter()
            .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    field(b"Content-Transfer-Encoding")
        .iter()
        .any(|v| v.contains("base64") || v.contains("quoted-printable"))
        || field(b"Content-Type").iter().any(|v| {
            v.starts_with("multipart/")
                || v.contains("charset") && !v.contains("utf-8") && !v.contains("us-ascii")
        })
}

impl Candidate<'_> {
    fn header_has(&self, name: &[u8], needle: &[u8]) -> bool {
        header_values(self.header, name).iter().any(|v| {
            contains(v, needle)
                || v.windows(2).any(|w| w == b"=?")
                    && contains(
                        crate::headers::decode_encoded_words(&String::from_utf8_lossy(v))
                            .as_bytes(),
                        needle,
                    )
        })
    }

    /// Whether a text part of the body, decoded, holds `needle`.
    fn decoded_body_has(&self, needle: &[u8]) -> bool {
        let texts = self.texts.get_or_init(|| {
            if self.body.is_empty() || !encoded(self.header) {
                return Vec::new();
            }
            mail_parser::MessageParser::new()
                .parse(self.raw)
                .map(|m| {
                    m.parts
                        .iter()
                        .filter_map(|p| match &p.body {
                            mail_parser::PartType::Text(t) | mail_parser::PartType::Html(t) => {
                                Some(t.to_string())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        texts.iter().any(|t| contains(t.as_bytes(), needle))
    }

    fn address_has(&self, name: &[u8], needle: &[u8]) -> bool {
        header_values(self.header, name).iter().any(|v| {
            let forms = crate::mime::search_forms(&String::from_utf8_lossy(v));
            if forms.iter().any(|f| f.contains('@')) {
                forms.iter().any(|f| contains(f.as_bytes(), needle))
            } else {
                contains(v, needle)
            }
        })
    }

    fn sent_day(&self) -> Option<Day> {
        header_values(self.header, b"Date")
            .first()
            .and_then(|v| parse_day(&String::from_utf8_lossy(v)))
            .or_else(|| Day::of(self.m.internal_date))
    }
}

impl SearchQuery {
    /// `OR a b`.
    #[must_use]
    pub fn or(a: SearchQuery, b: SearchQuery) -> Self {
        Self::Or(Box::new(a), Box::new(b))
    }

    /// What of the message's octets the query needs besides the index data: `None`,
    /// [`Content::Header`] or [`Content::Full`].
    pub fn content_needed(&self) -> Option<Content> {
        match self {
            Self::Body(_) | Self::Text(_) => Some(Content::Full),
            Self::Header { .. } | Self::Address { .. } | Self::SentDay(..) => Some(Content::Header),
            Self::Not(q) => q.content_needed(),
            Self::Or(a, b) => max_content(a.content_needed(), b.content_needed()),
            Self::And(v) => v.iter().map(Self::content_needed).fold(None, max_content),
            Self::All
            | Self::Flag(_)
            | Self::Keyword(_)
            | Self::Uids(_)
            | Self::Larger(_)
            | Self::Smaller(_)
            | Self::InternalDay(..)
            | Self::ArrivedBefore(_)
            | Self::ArrivedSince(_)
            | Self::ModSeqAtLeast(_) => None,
        }
    }

    /// Whether `message` matches. Its [`content`](FetchedMessage::content) must be what
    /// [`content_needed`](Self::content_needed) asks for (the header block or the whole
    /// message); without it, header and body read as empty.
    pub fn matches(&self, message: &FetchedMessage) -> bool {
        let raw = message.content.as_deref().unwrap_or_default();
        let (header, body) = split(raw);
        self.eval(&Candidate {
            m: message,
            raw,
            header,
            body,
            texts: std::cell::OnceCell::new(),
            decoded_header: std::cell::OnceCell::new(),
        })
    }

    fn eval(&self, c: &Candidate<'_>) -> bool {
        match self {
            Self::Header { name, contains: v } => c.header_has(name, v),
            Self::Address { name, contains: v } => c.address_has(name, v),
            Self::Body(v) => contains(c.body, v) || c.decoded_body_has(v),
            Self::Text(v) => {
                contains(c.header, v)
                    || contains(
                        c.decoded_header
                            .get_or_init(|| {
                                crate::headers::decode_encoded_words(&String::from_utf8_lossy(
                                    c.header,
                                ))
                            })
                            .as_bytes(),
                        v,
                    )
                    || contains(c.body, v)
                    || c.decoded_body_has(v)
            }
            Self::SentDay(cmp, day) => c.sent_day().is_some_and(|d| cmp.holds(d, *day)),
            Self::Not(q) => !q.eval(c),
            Self::Or(a, b) => a.eval(c) || b.eval(c),
            Self::And(v) => v.iter().all(|q| q.eval(c)),
            _ => self.decide(c.m).unwrap_or(false),
        }
    }

    /// The answer from the index data alone (flags, UID, sizes, dates, modseq), or `None`
    /// when it depends on the message's octets.
    fn decide(&self, m: &FetchedMessage) -> Option<bool> {
        Some(match self {
            Self::All => true,
            Self::Flag(f) => m.flags.contains(*f),
            Self::Keyword(k) => m.flags.has_keyword(k.as_str()),
            Self::Uids(set) => set.contains(m.uid),
            Self::Larger(n) => m.size > *n,
            Self::Smaller(n) => m.size < *n,
            Self::InternalDay(cmp, day) => {
                Day::of(m.internal_date).is_some_and(|d| cmp.holds(d, *day))
            }
            Self::ArrivedBefore(t) => m.internal_date.timestamp < *t,
            Self::ArrivedSince(t) => m.internal_date.timestamp >= *t,
            Self::ModSeqAtLeast(n) => m.modseq.get() >= *n,
            Self::Not(q) => !q.decide(m)?,
            Self::Or(a, b) => match (a.decide(m), b.decide(m)) {
                (Some(true), _) | (_, Some(true)) => true,
                (Some(false), Some(false)) => false,
                _ => return None,
            },
            Self::And(v) => {
                let mut known = true;
                for q in v {
                    match q.decide(m) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => known = false,
                    }
                }
                if !known {
                    return None;
                }
                true
            }
            Self::Header { .. }
            | Self::Address { .. }
            | Self::Body(_)
            | Self::Text(_)
            | Self::SentDay(..) => {
                return None;
            }
        })
    }
}

/// Searches by fetching and evaluating: what [`MailStore::search`] does by default, and what
/// a backend that answers some queries itself can fall back to for the others.
///
/// The index data of `uids` comes in one fetch and settles every message it can (flags,
/// sizes, dates, modseq). When the query needs octets, the undecided messages are fetched
/// again [`CONTENT_BATCH`] at a time, with the header block alone unless a body or text key
/// needs the whole message. Hits come ascending by UID. Comparing runs on the caller's
/// task, which lets others run after every 256 KiB compared, so that a search through large
/// messages holds up no other session on its thread for long.
pub async fn scan<S: MailStore + ?Sized>(
    store: &S,
    session: &Session,
    mailbox: &str,
    uids: &UidSet,
    query: &SearchQuery,
) -> Result<Vec<SearchHit>> {
    let hit = |m: &FetchedMessage| SearchHit {
        uid: m.uid,
        modseq: m.modseq,
    };
    let index = store
        .fetch(session, mailbox, uids, FetchQuery::meta())
        .await?;
    let Some(content) = query.content_needed() else {
        return Ok(index.iter().filter(|m| query.matches(m)).map(hit).collect());
    };
    let mut hits = Vec::new();
    let mut undecided = Vec::new();
    for m in &index {
        match query.decide(m) {
            Some(true) => hits.push(hit(m)),
            Some(false) => {}
            None => undecided.push(m.uid),
        }
    }
    let with_content = FetchQuery {
        content: Some(content),
        ..FetchQuery::default()
    };
    let mut compared = 0u64;
    for chunk in undecided.chunks(CONTENT_BATCH) {
        let set: UidSet = chunk.iter().copied().collect();
        let messages = store.fetch(session, mailbox, &set, with_content).await?;
        for m in &messages {
            if query.matches(m) {
                hits.push(hit(m));
            }
            compared += m.size;
            if compared >= SCAN_SLICE {
                compared = 0;
                YieldNow(false).await;
            }
        }
    }
    hits.sort_unstable_by_key(|h| h.uid);
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::{Flags, InternalDate};

    proptest! {
        /// The same answers as comparing at every offset.
        #[test]
        fn contains_matches_comparing_at_every_offset(
            hay in prop::collection::vec(prop::sample::select(&b"aAbB\xc3"[..]), 0..40),
            needle in prop::collection::vec(prop::sample::select(&b"aAbB\xc3"[..]), 0..6),
        ) {
            let naive = needle.is_empty()
                || hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(&needle));
            prop_assert_eq!(contains(&hay, &needle), naive);
            prop_assert_eq!(contains_long(&hay, &needle), naive);
        }
    }

    /// A needle that matches at every offset but its last octet costs a pass over the
    /// message, not a comparison of the needle at each offset.
    #[test]
    fn a_needle_made_to_almost_match_everywhere_is_searched_in_one_pass() {
        let hay = vec![b'a'; 4 << 20];
        let mut needle = vec![b'A'; 1 << 20];
        needle.push(b'b');
        assert!(!contains(&hay, &needle));
        let mut hay = hay;
        hay.push(b'B');
        assert!(contains(&hay, &needle));
    }

    fn message(raw: &[u8]) -> FetchedMessage {
        FetchedMessage {
            uid: Uid::MIN,
            flags: Flags::new().with(Flag::Seen),
            modseq: ModSeq::new(7).unwrap(),
            internal_date: InternalDate {
                // 2003-07-01T23:30:00Z, 2 July in its zone.
                timestamp: 1_057_102_200,
                offset_minutes: 60,
            },
            size: raw.len() as u64,
            crlf_size: raw.len() as u64,
            envelope: None,
            body_structure: None,
            content: Some(raw.to_vec()),
        }
    }

    fn day(y: u16, m: u8, d: u8) -> Day {
        Day::new(y, m, d).unwrap()
    }

    fn header(name: &str, v: &str) -> SearchQuery {
        SearchQuery::Header {
            name: name.as_bytes().to_vec(),
            contains: v.as_bytes().to_vec(),
        }
    }

    const RAW: &[u8] =
        b"Subject: Hello\r\n World\r\nDate: 30 Jun 2003 23:00 -1000\r\n\r\nBody text\r\n";

    #[test]
    fn text_keys_are_case_insensitive_substrings() {
        let m = message(RAW);
        assert!(header("subject", "LO WO").matches(&m));
        assert!(header("Subject", "").matches(&m));
        assert!(!header("From", "").matches(&m));
        assert!(!header("Subject", "body").matches(&m));
        assert!(SearchQuery::Body(b"BODY T".to_vec()).matches(&m));
        assert!(!SearchQuery::Body(b"hello".to_vec()).matches(&m));
        assert!(SearchQuery::Text(b"hello".to_vec()).matches(&m));
        assert!(SearchQuery::Text(b"xt\r\n".to_vec()).matches(&m));
        assert!(SearchQuery::Body(Vec::new()).matches(&message(b"")));
        assert!(contains(b"Hello World", b"o wo"));
        assert!(!contains(b"abc", b"abcd"));
    }

    /// SEARCH FROM/TO/CC compare addresses without their comments, and find the display
    /// name a comment gives; a field that holds no address is compared as written.
    /// RFC 9051 §6.4.4: the text keys match the text, decoded: encoded words in header
    /// fields (RFC 2047), and text parts' transfer encodings and charsets (RFC 2045).
    #[test]
    fn text_keys_match_decoded_text() {
        let m = message(b"Subject: =?UTF-8?Q?Un_caf=C3=A9?=\r\n\r\nplain\r\n");
        assert!(header("Subject", "un café").matches(&m));
        assert!(header("Subject", "=?utf-8").matches(&m), "the raw form too");
        assert!(SearchQuery::Text("café".into()).matches(&m));
        assert!(!header("Subject", "thé").matches(&m));
        let base64 = message(
            b"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Content-Transfer-Encoding: base64\r\n\r\nVW4gY2Fmw6kgYXUgbGFpdA0K\r\n",
        );
        assert!(SearchQuery::Body("café au".into()).matches(&base64));
        assert!(SearchQuery::Text("CAFÉ AU".to_lowercase().into()).matches(&base64));
        assert!(!SearchQuery::Body("thé".into()).matches(&base64));
        let latin1 = message(
            b"Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
              Content-Transfer-Encoding: quoted-printable\r\n\r\nUn caf=E9 =\r\nnoir\r\n",
        );
        assert!(SearchQuery::Body("café noir".into()).matches(&latin1));
        let parts = message(
            b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
              Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
              VW4gY2Fmw6kgYXUgbGFpdA0K\r\n--b--\r\n",
        );
        assert!(SearchQuery::Body("au lait".into()).matches(&parts));
    }

    #[test]
    fn address_keys_read_addresses() {
        let m = message(
            b"From: user@domain.example (Real Name)\r\nTo: <user-from (comment)@ (comment) domain.org>\r\nCc: not an address\r\n\r\nbody\r\n",
        );
        let q = |name: &str, v: &str| SearchQuery::Address {
            name: name.as_bytes().to_vec(),
            contains: v.as_bytes().to_vec(),
        };
        assert!(q("To", "user-from@domain.org").matches(&m));
        assert!(q("to", "USER-FROM@domain").matches(&m));
        assert!(!q("To", "comment").matches(&m));
        assert!(q("From", "real name").matches(&m));
        assert!(q("From", "Real Name <user@domain.example>").matches(&m));
        assert!(q("Cc", "an addr").matches(&m));
        assert!(q("Cc", "").matches(&m) && !q("Bcc", "").matches(&m));
        // The raw comparison found the comment and missed the address.
        assert!(!header("To", "user-from@domain.org").matches(&m));
        assert_eq!(q("To", "x").content_needed(), Some(Content::Header));
    }

    #[test]
    fn days_compare_as_written_or_in_their_zone() {
        let m = message(RAW);
        let q = |cmp, d| SearchQuery::InternalDay(cmp, d).matches(&m);
        assert!(q(DayCmp::On, day(2003, 7, 2)));
        assert!(q(DayCmp::Before, day(2003, 7, 3)) && !q(DayCmp::Before, day(2003, 7, 2)));
        assert!(q(DayCmp::Since, day(2003, 7, 2)) && !q(DayCmp::Since, day(2003, 7, 3)));
        let s = |cmp, d, m: &FetchedMessage| SearchQuery::SentDay(cmp, d).matches(m);
        assert!(s(DayCmp::On, day(2003, 6, 30), &m));
        // No Date: field, or one that does not parse: the internal date's day.
        assert!(s(
            DayCmp::On,
            day(2003, 7, 2),
            &message(b"Subject: x\r\n\r\n")
        ));
        assert!(s(
            DayCmp::On,
            day(2003, 7, 2),
            &message(b"Date: soon\r\n\r\n")
        ));
        let at = |t| SearchQuery::ArrivedSince(t).matches(&m);
        assert!(at(1_057_102_200) && !at(1_057_102_201));
        assert!(SearchQuery::ArrivedBefore(1_057_102_201).matches(&m));
        assert!(!SearchQuery::ArrivedBefore(1_057_102_200).matches(&m));
    }

    #[test]
    fn index_keys_and_logic() {
        let m = message(RAW);
        let size = RAW.len() as u64;
        assert!(SearchQuery::Flag(Flag::Seen).matches(&m));
        assert!((!SearchQuery::Flag(Flag::Deleted)).matches(&m));
        assert!(!SearchQuery::Keyword(Keyword::try_from("x").unwrap()).matches(&m));
        assert!(
            SearchQuery::Larger(size - 1).matches(&m) && !SearchQuery::Larger(size).matches(&m)
        );
        assert!(
            SearchQuery::Smaller(size + 1).matches(&m) && !SearchQuery::Smaller(size).matches(&m)
        );
        assert!(SearchQuery::ModSeqAtLeast(7).matches(&m));
        assert!(!SearchQuery::ModSeqAtLeast(8).matches(&m));
        assert!(SearchQuery::Uids(UidSet::all()).matches(&m));
        assert!(!SearchQuery::Uids(UidSet::new()).matches(&m));
        assert!(SearchQuery::And(Vec::new()).matches(&m));
        let never = !SearchQuery::All;
        assert!(SearchQuery::or(never.clone(), SearchQuery::All).matches(&m));
        assert!(!SearchQuery::And(vec![SearchQuery::All, never]).matches(&m));
    }

    #[test]
    fn what_a_query_needs() {
        let body = SearchQuery::Body(b"x".to_vec());
        let head = header("To", "x");
        assert_eq!(SearchQuery::All.content_needed(), None);
        assert_eq!(head.content_needed(), Some(Content::Header));
        assert_eq!(
            SearchQuery::SentDay(DayCmp::On, day(2003, 1, 1)).content_needed(),
            Some(Content::Header)
        );
        assert_eq!(
            SearchQuery::or(head.clone(), body.clone()).content_needed(),
            Some(Content::Full)
        );
        assert_eq!(
            SearchQuery::And(vec![SearchQuery::All, !head.clone()]).content_needed(),
            Some(Content::Header)
        );
        assert_eq!(
            (!SearchQuery::Text(Vec::new())).content_needed(),
            Some(Content::Full)
        );
        assert_eq!(SearchQuery::And(Vec::new()).content_needed(), None);
    }

    #[test]
    fn index_data_decides_what_it_can() {
        let m = message(RAW);
        let seen = SearchQuery::Flag(Flag::Seen);
        let draft = SearchQuery::Flag(Flag::Draft);
        let body = SearchQuery::Body(b"x".to_vec());
        assert_eq!(seen.decide(&m), Some(true));
        assert_eq!(body.decide(&m), None);
        assert_eq!((!body.clone()).decide(&m), None);
        assert_eq!(
            SearchQuery::or(seen.clone(), body.clone()).decide(&m),
            Some(true)
        );
        assert_eq!(
            SearchQuery::or(draft.clone(), body.clone()).decide(&m),
            None
        );
        assert_eq!(
            SearchQuery::And(vec![body.clone(), draft.clone()]).decide(&m),
            Some(false)
        );
        assert_eq!(SearchQuery::And(vec![seen, body]).decide(&m), None);
    }

    #[test]
    fn messages_split_at_the_first_blank_line() {
        assert_eq!(
            split(b"A: b\r\n\r\nc\r\n\r\nd"),
            (&b"A: b\r\n\r\n"[..], &b"c\r\n\r\nd"[..])
        );
        assert_eq!(split(b"A: b\r\n"), (&b"A: b\r\n"[..], &b""[..]));
        assert_eq!(split(b""), (&b""[..], &b""[..]));
    }

    /// A scan through large messages lets other tasks run in between: it returns `Pending`
    /// (having woken itself) once per 256 KiB compared, even on a store that never waits.
    #[test]
    fn a_scan_through_large_messages_yields() {
        use std::{
            future::Future,
            sync::{Arc, atomic::AtomicUsize, atomic::Ordering},
            task::{Context, Poll, Wake, Waker},
        };

        use crate::{AccountName, AppendItem, memory::MemoryStore};

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
            fn wake_by_ref(self: &Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }

        let store = MemoryStore::new();
        let account = AccountName::try_from("alice").unwrap();
        crate::block_on(store.create_account(&account)).unwrap();
        let session = Session::new(account);
        let body = "a line of body text that does not hold the word searched for\r\n".repeat(2_000);
        let items = (0..8)
            .map(|i| {
                let mut up = store.upload();
                up.write(format!("Subject: {i}\r\n\r\n{body}").as_bytes())
                    .unwrap();
                AppendItem {
                    data: up,
                    flags: Flags::new(),
                    internal_date: None,
                }
            })
            .collect();
        crate::block_on(store.append(&session, "INBOX", items)).unwrap();

        let query = SearchQuery::Body(b"needle".to_vec());
        let all = UidSet::all();
        let mut search = std::pin::pin!(scan(&store, &session, "INBOX", &all, &query));
        let wakes = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        let mut pending = 0;
        let hits = loop {
            match search.as_mut().poll(&mut cx) {
                Poll::Ready(hits) => break hits.unwrap(),
                Poll::Pending => pending += 1,
            }
        };
        assert!(hits.is_empty());
        // Eight messages of 121 KiB: a slice of 256 KiB is passed after every third.
        assert_eq!(pending, 2, "{pending}");
        assert_eq!(wakes.0.load(Ordering::Relaxed), pending);
    }
}
