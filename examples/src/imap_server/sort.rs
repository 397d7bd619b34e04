//! SORT and UID SORT (RFC 5256 §3), ESORT's `RETURN (MIN MAX COUNT ALL SAVE)` (RFC 5267 §3.1)
//! and the DISPLAYFROM/DISPLAYTO keys (RFC 5957), over the messages the SEARCH keys match.
//!
//! The sort values come from the stored ENVELOPE (header values as written), with encoded
//! words (RFC 2047) decoded where RFC 5256 asks for it (the subject) and RFC 5957 does (display
//! names). Strings compare with `i;ascii-casemap` (RFC 4790 §9.2: octets, a-z as A-Z); ties
//! under every criterion are broken by sequence number, which REVERSE does not turn around
//! (RFC 5256 §3, the note on REVERSE).
//!
//! The same per-message values feed THREAD (`thread`): base subject (RFC 5256 §2.1), sent
//! date (§2.2), Message-ID, References and In-Reply-To.

use std::{cmp::Ordering, io};

use imap_proto::types::{
    core::Tag,
    response::Data,
    response_data::SearchResult,
    search::{Charset, SearchKey, SearchReturnOpt, SortCriterion, SortKey},
    sequence::{SeqItem, SeqNum, SequenceSet},
};
use mail_store::{
    FetchQuery, FetchedMessage, MailStore, Uid, UidSet,
    mime::{Envelope, EnvelopeAddress},
    model::Content,
};

use super::{
    Conn,
    date::parse_date,
    search::{Found, header_values, partial_requested},
};

/// Messages fetched per store call when their header block is needed.
const HEADER_BATCH: usize = 256;

/// What SORT and THREAD know of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Info {
    /// Sequence number, as the client knows it.
    pub seq: u32,
    pub uid: u32,
    /// INTERNALDATE, seconds since the epoch (ARRIVAL).
    pub arrival: i64,
    /// The `Date:` header in seconds since the epoch, or INTERNALDATE when it is missing or
    /// cannot be parsed (RFC 5256 §2.2).
    pub sent: i64,
    /// RFC822.SIZE
    pub size: u64,
    /// The base subject (RFC 5256 §2.1).
    pub subject: String,
    /// Whether the subject said reply or forward (`Re:`, `Fwd:`, `(fwd)`, `[fwd: ...]`).
    pub reply: bool,
    /// addr-mailbox of the first From, To and Cc address (RFC 5256 §3), or empty.
    pub from: String,
    pub to: String,
    pub cc: String,
    /// RFC 5957: the first From/To address's decoded display name, or `mailbox@host`.
    pub display_from: String,
    pub display_to: String,
    /// The first valid msg-id of `Message-ID:`, brackets included.
    pub message_id: Option<String>,
    /// The valid msg-ids of `References:`, oldest first.
    pub references: Vec<String>,
    /// The first valid msg-id of `In-Reply-To:`.
    pub in_reply_to: Option<String>,
}

// ---- strings ----

/// `i;ascii-casemap` (RFC 4790 §9.2): octet by octet with a-z mapped to A-Z.
pub(super) fn casemap_cmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

/// Decodes the encoded words (RFC 2047) of an unstructured header value to UTF-8; the value
/// as it is when it has none or the parser gives up.
pub(super) fn decode_words(raw: &str) -> String {
    if !raw.contains("=?") {
        return raw.to_owned();
    }
    let line: String = raw
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let header = format!("Subject: {line}\r\n\r\n");
    mail_parser::MessageParser::new()
        .parse(header.as_bytes())
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or(line)
}

/// `WSP = SP / HTAB`
fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The length of a `subj-blob` at the start of `s`:
/// `subj-blob = "[" *BLOBCHAR "]" *WSP`, `BLOBCHAR = %x01-5a / %x5c / %x5e-ff` (anything but
/// `[` and `]`; octets of UTF-8 text count as BLOBCHAR).
fn blob_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'[') {
        return None;
    }
    let close = s[1..].iter().position(|&b| b == b']' || b == b'[')? + 1;
    if s[close] != b']' {
        return None;
    }
    let mut end = close + 1;
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

/// The base subject of an already decoded subject (RFC 5256 §2.1), and whether a reply or
/// forward marker was taken away (a `subj-refwd`, a `(fwd)` trailer or `[fwd: ...]`), which
/// THREAD=REFERENCES needs (§4 step 5).
///
/// ```text
/// subj-trailer = "(fwd)" / WSP
/// subj-fwd-hdr = "[fwd:"
/// subj-fwd-trl = "]"
/// ```
pub(super) fn base_subject(subject: &str) -> (String, bool) {
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

// ---- message ids ----

/// The valid msg-ids of a header value (RFC 5322 §3.6.4 `msg-id = [CFWS] "<" id-left "@"
/// id-right ">" [CFWS]`), brackets included, white space inside taken out (obsolete
/// folding), comments and quoted strings between them skipped.
pub(super) fn msg_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                let mut depth = 1usize;
                for c in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            '<' => {
                let mut id = String::from("<");
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '>' => {
                            closed = true;
                            break;
                        }
                        c if c.is_whitespace() => {}
                        c => id.push(c),
                    }
                }
                let valid = closed
                    && !id[1..].contains('<')
                    && id[1..]
                        .split_once('@')
                        .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty());
                if valid {
                    id.push('>');
                    out.push(id);
                }
            }
            _ => {}
        }
    }
    out
}

// ---- addresses ----

/// addr-mailbox of the first address (a group's name for a group), or empty.
fn first_mailbox(list: &[EnvelopeAddress]) -> String {
    list.first()
        .and_then(|a| a.mailbox.clone())
        .unwrap_or_default()
}

/// RFC 5957 §2: the first address's display name, decoded, or when it has none its
/// `addr-mailbox "@" addr-host`.
fn display_name(list: &[EnvelopeAddress]) -> String {
    let Some(a) = list.first() else {
        return String::new();
    };
    match (&a.name, &a.mailbox, &a.host) {
        (Some(n), ..) if !n.trim().is_empty() => decode_words(n),
        (_, Some(m), Some(h)) => format!("{m}@{h}"),
        (_, Some(m), None) => m.clone(),
        _ => String::new(),
    }
}

impl Info {
    /// The values of a fetched message; `header` is its header block, when References is
    /// wanted.
    pub(super) fn new(seq: u32, m: &FetchedMessage, header: Option<&[u8]>) -> Self {
        let empty = Envelope::default();
        let env = m.envelope.as_deref().unwrap_or(&empty);
        let arrival = m.internal_date.timestamp;
        let (subject, reply) = base_subject(&decode_words(env.subject.as_deref().unwrap_or("")));
        let references = header
            .map(|h| {
                header_values(h, b"References")
                    .iter()
                    .flat_map(|v| msg_ids(&String::from_utf8_lossy(v)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            seq,
            uid: m.uid.get(),
            arrival,
            sent: env.date.as_deref().and_then(parse_date).unwrap_or(arrival),
            size: m.size,
            subject,
            reply,
            from: first_mailbox(&env.from),
            to: first_mailbox(&env.to),
            cc: first_mailbox(&env.cc),
            display_from: display_name(&env.from),
            display_to: display_name(&env.to),
            message_id: env
                .message_id
                .as_deref()
                .and_then(|v| msg_ids(v).into_iter().next()),
            references,
            in_reply_to: env
                .in_reply_to
                .as_deref()
                .and_then(|v| msg_ids(v).into_iter().next()),
        }
    }
}

/// How two messages compare under one sort key (RFC 5256 §3, RFC 5957 §3).
fn compare_key(key: SortKey, a: &Info, b: &Info) -> Ordering {
    match key {
        SortKey::Arrival => a.arrival.cmp(&b.arrival),
        SortKey::Date => a.sent.cmp(&b.sent),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Subject => casemap_cmp(&a.subject, &b.subject),
        SortKey::From => casemap_cmp(&a.from, &b.from),
        SortKey::To => casemap_cmp(&a.to, &b.to),
        SortKey::Cc => casemap_cmp(&a.cc, &b.cc),
        SortKey::DisplayFrom => casemap_cmp(&a.display_from, &b.display_from),
        SortKey::DisplayTo => casemap_cmp(&a.display_to, &b.display_to),
    }
}

/// Sorts by the criteria in turn, then by sequence number (never reversed).
pub(super) fn sort(messages: &mut [Info], criteria: &[SortCriterion]) {
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

/// ESORT's `ALL` (RFC 5267 §3.1): the numbers in sort order, runs of consecutive ascending
/// numbers written as ranges (`3:5` is 3, 4, 5 read either way).
fn ordered_set(ids: &[u32]) -> Option<SequenceSet> {
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

impl Conn<'_> {
    /// The sort and thread values of the messages found; `None` when a store error was
    /// answered.
    pub(super) async fn infos(
        &mut self,
        found: &[Found],
        references: bool,
    ) -> io::Result<Option<Vec<Info>>> {
        let Some((name, _)) = self.selected_mailbox() else {
            self.no(None, "No mailbox selected")?;
            return Ok(None);
        };
        let session = self.session()?;
        let query = FetchQuery {
            envelope: true,
            content: references.then_some(Content::Header),
            ..FetchQuery::default()
        };
        let batch = if references {
            HEADER_BATCH
        } else {
            found.len().max(1)
        };
        let mut out = Vec::with_capacity(found.len());
        for chunk in found.chunks(batch) {
            let set: UidSet = chunk.iter().filter_map(|f| Uid::new(f.uid)).collect();
            let messages = match self.service.store.fetch(&session, &name, &set, query).await {
                Ok(m) => m,
                Err(e) => {
                    self.fail(&e)?;
                    return Ok(None);
                }
            };
            for m in &messages {
                // `found` is in mailbox order, so ascending by UID.
                if let Ok(i) = chunk.binary_search_by_key(&m.uid.get(), |f| f.uid) {
                    out.push(Info::new(chunk[i].seq, m, m.content.as_deref()));
                }
            }
        }
        Ok(Some(out))
    }

    /// `["UID" SP] SORT [search-return-opts] SP sort-criteria SP charset 1*(SP search-key)`
    /// (RFC 5256 §5, RFC 5267 §3): `* SORT` numbers, or `* ESEARCH` with RETURN.
    pub(super) async fn sort(
        &mut self,
        tag: &Tag<'_>,
        uid: bool,
        return_opts: Option<Vec<SearchReturnOpt>>,
        criteria: &[SortCriterion],
        charset: &Charset<'_>,
        keys: &[SearchKey<'_>],
    ) -> io::Result<()> {
        if !self.check_charset(Some(charset))? {
            return Ok(());
        }
        if partial_requested(return_opts.as_deref()) {
            return self.bad("PARTIAL is not supported");
        }
        let Some((found, with_modseq)) = self.find(keys).await? else {
            return Ok(());
        };
        let highest = found.iter().map(|f| f.modseq).max().filter(|_| with_modseq);
        let Some(mut infos) = self.infos(&found, false).await? else {
            return Ok(());
        };
        sort(&mut infos, criteria);
        let ids: Vec<u32> = infos
            .iter()
            .map(|m| if uid { m.uid } else { m.seq })
            .collect();
        match return_opts {
            None => self.server.send_data(Data::Sort(SearchResult {
                ids,
                modseq: highest,
            })),
            Some(opts) => {
                // The saved result is a set; its order does not matter (RFC 5182 §2.4).
                let saved = found.iter().map(|f| f.uid).collect();
                self.esearch(tag, uid, opts, &ids, ordered_set(&ids), saved, highest);
            }
        }
        self.ok(None, "SORT completed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> (String, bool) {
        base_subject(s)
    }

    #[test]
    fn base_subject_strips_leaders_trailers_and_blobs() {
        // RFC 5256 §2.1's steps one at a time.
        assert_eq!(base("Re: foo"), ("foo".into(), true));
        assert_eq!(base("RE:   re: Fwd: fw: foo"), ("foo".into(), true));
        assert_eq!(base("Re[2]: foo"), ("foo".into(), true));
        assert_eq!(base("Fwd : foo"), ("foo".into(), true));
        assert_eq!(base("foo (fwd) (FWD)  "), ("foo".into(), true));
        assert_eq!(base("[list] Re: foo"), ("foo".into(), true));
        assert_eq!(base("[list] [other] Re: foo"), ("foo".into(), true));
        assert_eq!(base("Re: [list] foo"), ("foo".into(), true));
        // A blob alone is not taken away when nothing would be left.
        assert_eq!(base("[list]"), ("[list]".into(), false));
        assert_eq!(base("Re: [list]"), ("[list]".into(), true));
        assert_eq!(base("[list] foo"), ("foo".into(), false));
        // [fwd: ...] is unwrapped, then everything again.
        assert_eq!(base("[Fwd: Re: foo (fwd)]"), ("foo".into(), true));
        assert_eq!(base("Re: [fwd: [list] foo]"), ("foo".into(), true));
        // White space folded, tabs and continuations included.
        assert_eq!(base("  foo\t \r\n  bar  "), ("foo bar".into(), false));
        // Not leaders: no colon, or a word merely starting with "re".
        assert_eq!(base("Rebuild: done"), ("Rebuild: done".into(), false));
        assert_eq!(base("Re foo"), ("Re foo".into(), false));
        assert_eq!(base("re:"), (String::new(), true));
        assert_eq!(base(""), (String::new(), false));
        // Unbalanced brackets are text.
        assert_eq!(base("[oops Re: foo"), ("[oops Re: foo".into(), false));
        assert_eq!(base("Re: caf\u{e9}"), ("caf\u{e9}".into(), true));
    }

    #[test]
    fn encoded_words_are_decoded_before_extraction() {
        let s = decode_words("=?UTF-8?Q?Re=3A_caf=C3=A9?=");
        assert_eq!(s, "Re: caf\u{e9}");
        assert_eq!(base_subject(&s).0, "caf\u{e9}");
        assert_eq!(decode_words("plain"), "plain");
    }

    #[test]
    fn message_ids() {
        assert_eq!(
            msg_ids("<a@b> (comment <c@d>) \"<e@f>\" <g\r\n @h> <bad> <x@y"),
            ["<a@b>", "<g@h>"]
        );
        assert!(msg_ids("").is_empty());
    }

    fn info(seq: u32) -> Info {
        Info {
            seq,
            uid: seq * 10,
            ..Info::default()
        }
    }

    fn order(v: &[Info]) -> Vec<u32> {
        v.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn sort_criteria_in_turn_and_reverse_keeps_sequence_ties() {
        let mut v: Vec<Info> = (1..=4).map(info).collect();
        v[0].subject = "b".into();
        v[1].subject = "A".into();
        v[2].subject = "a".into();
        v[3].subject = "B".into();
        v[0].size = 5;
        v[3].size = 1;
        let crit = |reverse, key| SortCriterion { reverse, key };
        sort(&mut v, &[crit(false, SortKey::Subject)]);
        assert_eq!(order(&v), [2, 3, 1, 4]);
        // REVERSE turns the key around, not the sequence-number tie-break.
        sort(&mut v, &[crit(true, SortKey::Subject)]);
        assert_eq!(order(&v), [1, 4, 2, 3]);
        sort(
            &mut v,
            &[crit(true, SortKey::Subject), crit(false, SortKey::Size)],
        );
        assert_eq!(order(&v), [4, 1, 2, 3]);
    }

    #[test]
    fn addresses_and_display_names() {
        let a = |name: Option<&str>, mailbox: &str, host: Option<&str>| EnvelopeAddress {
            name: name.map(str::to_owned),
            adl: None,
            mailbox: Some(mailbox.to_owned()),
            host: host.map(str::to_owned),
        };
        let list = [
            a(Some("Zed"), "amy", Some("example.org")),
            a(None, "bob", None),
        ];
        assert_eq!(first_mailbox(&list), "amy");
        assert_eq!(display_name(&list), "Zed");
        assert_eq!(
            display_name(&[a(None, "amy", Some("example.org"))]),
            "amy@example.org"
        );
        assert_eq!(
            display_name(&[a(Some("=?UTF-8?Q?Andr=C3=A9?="), "a", Some("b"))]),
            "Andr\u{e9}"
        );
        assert_eq!(first_mailbox(&[]), "");
        assert_eq!(display_name(&[]), "");
    }

    #[test]
    fn esort_all_keeps_the_order() {
        let set = ordered_set(&[6, 3, 4, 5, 1]).unwrap();
        assert_eq!(set.to_string(), "6,3:5,1");
        assert!(ordered_set(&[]).is_none());
        assert_eq!(
            ordered_set(&[u32::MAX, 1]).unwrap().to_string(),
            "4294967295,1"
        );
    }
}
