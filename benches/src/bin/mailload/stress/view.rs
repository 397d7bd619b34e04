//! One session's view of its selected mailbox, built from the untagged responses alone, and
//! every response checked against it: what a caching client relies on.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sansmail_imap::types::{fetch::FetchItem, flag::Flag};

/// Violations found, by kind, with the first few examples of each.
#[derive(Debug, Default)]
pub struct Violations {
    pub counts: BTreeMap<&'static str, u64>,
    pub examples: BTreeMap<&'static str, Vec<String>>,
}

impl Violations {
    pub fn add(&mut self, kind: &'static str, example: String) {
        *self.counts.entry(kind).or_default() += 1;
        let list = self.examples.entry(kind).or_default();
        if list.len() < 3 {
            list.push(example);
        }
    }

    pub fn merge(&mut self, other: Violations) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        for (k, v) in other.examples {
            let list = self.examples.entry(k).or_default();
            for e in v {
                if list.len() < 3 {
                    list.push(e);
                }
            }
        }
    }

    /// Violations, remarks left out.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| !k.starts_with("(remark)"))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The violation kinds (the list), and remarks that are not counted as violations.
pub mod kind {
    pub const MODSEQ_DOWN: &str = "MODSEQ of a message went down (an older state after a newer)";
    pub const SAME_MODSEQ: &str = "flags differ at the same MODSEQ";
    pub const KEYWORD: &str = "keyword in FETCH FLAGS not in the last FLAGS response";
    pub const EXISTS_DOWN: &str = "EXISTS below the messages known (without EXPUNGE)";
    pub const EXPUNGE_RANGE: &str = "EXPUNGE of a number past EXISTS";
    pub const EXPUNGE_FORBIDDEN: &str = "EXPUNGE during FETCH/STORE/SEARCH by number";
    pub const FETCH_RANGE: &str = "FETCH of a number past EXISTS";
    pub const RECENT_RANGE: &str = "RECENT above EXISTS";
    pub const UID_ORDER: &str = "UIDs not strictly increasing";
    pub const UID_CHANGED: &str = "a sequence number changed UID";
    pub const UID_BACK: &str = "an expunged UID came back";
    pub const LOST: &str = "a flag change lost (final FETCH newer than what was told)";
    pub const SET_DIFFERS: &str = "final message set differs from what was told";
    pub const RECENT_TWICE: &str = "\\Recent in two sessions";
    pub const MOVE_ORDER: &str = "MOVE into the selected mailbox: EXISTS before EXPUNGE";
    /// Remarks: RFC 7162 §3.1 wants UID and MODSEQ in every unsolicited FETCH once
    /// CONDSTORE is on; counted apart, not as violations.
    pub const NO_MODSEQ: &str = "(remark) FETCH FLAGS without MODSEQ under CONDSTORE";
}

/// A message as the client was told of it.
#[derive(Debug, Clone, Default)]
struct Msg {
    uid: Option<u32>,
    modseq: Option<u64>,
    /// Flags, lower case, `\recent` left out.
    flags: Option<BTreeSet<String>>,
}

/// The selected mailbox as told.
#[derive(Debug, Default)]
pub struct View {
    pub mailbox: String,
    pub uidvalidity: u32,
    msgs: Vec<Msg>,
    /// The last FLAGS response, lower case.
    flags_list: Option<HashSet<String>>,
    /// UIDs told expunged (they never come back).
    expunged: HashSet<u32>,
    /// UIDs this session saw `\Recent`.
    pub recent: BTreeSet<u32>,
}

fn flag_text(f: &Flag<'_>) -> String {
    f.to_string().to_ascii_lowercase()
}

/// What a FETCH response says of its message.
#[derive(Debug, Default)]
pub struct Fetched {
    pub uid: Option<u32>,
    pub modseq: Option<u64>,
    pub flags: Option<BTreeSet<String>>,
    pub recent: bool,
}

impl Fetched {
    pub fn of(items: &[FetchItem<'_>]) -> Self {
        let mut f = Self::default();
        for item in items {
            match item {
                FetchItem::Uid(u) => f.uid = Some(*u),
                FetchItem::ModSeq(m) => f.modseq = Some(*m),
                FetchItem::Flags(flags) => {
                    f.recent = flags.contains(&Flag::Recent);
                    f.flags = Some(
                        flags
                            .iter()
                            .filter(|x| **x != Flag::Recent)
                            .map(flag_text)
                            .collect(),
                    );
                }
                _ => {}
            }
        }
        f
    }
}

impl View {
    /// A fresh view after SELECT of `mailbox`.
    pub fn new(mailbox: &str) -> Self {
        Self {
            mailbox: mailbox.to_owned(),
            ..Self::default()
        }
    }

    pub fn len(&self) -> u32 {
        u32::try_from(self.msgs.len()).unwrap_or(u32::MAX)
    }

    /// The UIDs told, by sequence number (0 where unknown).
    pub fn uids(&self) -> Vec<u32> {
        self.msgs.iter().map(|m| m.uid.unwrap_or(0)).collect()
    }

    /// The first sequence number whose UID the client does not know.
    pub fn first_unknown(&self) -> Option<u32> {
        self.msgs
            .iter()
            .position(|m| m.uid.is_none())
            .and_then(|i| u32::try_from(i + 1).ok())
    }

    pub fn on_flags(&mut self, flags: &[Flag<'_>]) {
        self.flags_list = Some(flags.iter().map(flag_text).collect());
    }

    pub fn on_exists(&mut self, n: u32, v: &mut Violations) {
        let n = n as usize;
        if n < self.msgs.len() {
            v.add(
                kind::EXISTS_DOWN,
                format!(
                    "{}: EXISTS {n} with {} known",
                    self.mailbox,
                    self.msgs.len()
                ),
            );
            self.msgs.truncate(n);
        } else {
            self.msgs.resize(n, Msg::default());
        }
    }

    pub fn on_expunge(&mut self, seq: u32, forbidden: bool, v: &mut Violations) {
        if forbidden {
            v.add(
                kind::EXPUNGE_FORBIDDEN,
                format!("{}: * {seq} EXPUNGE", self.mailbox),
            );
        }
        let Some(i) = (seq as usize)
            .checked_sub(1)
            .filter(|&i| i < self.msgs.len())
        else {
            v.add(
                kind::EXPUNGE_RANGE,
                format!(
                    "{}: * {seq} EXPUNGE with {} known",
                    self.mailbox,
                    self.msgs.len()
                ),
            );
            return;
        };
        let m = self.msgs.remove(i);
        if let Some(u) = m.uid {
            self.expunged.insert(u);
        }
    }

    pub fn on_recent(&mut self, n: u32, v: &mut Violations) {
        if n > self.len() {
            v.add(
                kind::RECENT_RANGE,
                format!("{}: RECENT {n} with {} known", self.mailbox, self.len()),
            );
        }
    }

    /// A FETCH response: every check, then the view updated. `condstore`: MODSEQ is due
    /// with FLAGS.
    pub fn on_fetch(&mut self, seq: u32, f: &Fetched, condstore: bool, v: &mut Violations) {
        let mailbox = &self.mailbox;
        let Some(i) = (seq as usize)
            .checked_sub(1)
            .filter(|&i| i < self.msgs.len())
        else {
            v.add(
                kind::FETCH_RANGE,
                format!("{mailbox}: * {seq} FETCH with {} known", self.msgs.len()),
            );
            return;
        };
        if let Some(uid) = f.uid {
            match self.msgs[i].uid {
                Some(known) if known != uid => v.add(
                    kind::UID_CHANGED,
                    format!("{mailbox}: * {seq} FETCH (UID {uid}) was UID {known}"),
                ),
                Some(_) => {}
                None => {
                    let below = self.msgs[..i].iter().rev().find_map(|m| m.uid);
                    let above = self.msgs[i + 1..].iter().find_map(|m| m.uid);
                    if below.is_some_and(|b| b >= uid) || above.is_some_and(|a| a <= uid) {
                        v.add(
                            kind::UID_ORDER,
                            format!(
                                "{mailbox}: * {seq} FETCH (UID {uid}) between {below:?} and {above:?}"
                            ),
                        );
                    }
                    if self.expunged.contains(&uid) {
                        v.add(kind::UID_BACK, format!("{mailbox}: UID {uid}"));
                    }
                    self.msgs[i].uid = Some(uid);
                }
            }
        }
        let uid = self.msgs[i].uid;
        if let Some(flags) = &f.flags {
            if let Some(list) = &self.flags_list {
                for fl in flags {
                    if !fl.starts_with('\\') && !list.contains(fl) {
                        v.add(
                            kind::KEYWORD,
                            format!("{mailbox}: * {seq} FETCH (UID {uid:?}) has {fl}"),
                        );
                    }
                }
            }
            if condstore && f.modseq.is_none() {
                v.add(
                    kind::NO_MODSEQ,
                    format!("{mailbox}: * {seq} FETCH (UID {uid:?})"),
                );
            }
        }
        let m = &mut self.msgs[i];
        if let Some(new) = f.modseq {
            match m.modseq {
                Some(old) if new < old => {
                    v.add(
                        kind::MODSEQ_DOWN,
                        format!("{mailbox}: UID {uid:?} MODSEQ {new} after {old}"),
                    );
                    // Later changes are judged against what the client now holds.
                    m.modseq = Some(new);
                }
                Some(old) if new == old => {
                    if let (Some(a), Some(b)) = (&m.flags, &f.flags)
                        && a != b
                    {
                        v.add(
                            kind::SAME_MODSEQ,
                            format!("{mailbox}: UID {uid:?} MODSEQ {new}: {a:?} then {b:?}"),
                        );
                    }
                }
                _ => m.modseq = Some(new),
            }
        }
        if let Some(flags) = &f.flags {
            m.flags = Some(flags.clone());
        } else if f.modseq.is_some() {
            // MODSEQ alone (the answer to STORE .SILENT): the flags at that MODSEQ are the
            // client's to work out.
            m.flags = None;
        }
        if f.recent
            && let Some(u) = uid
        {
            self.recent.insert(u);
        }
    }

    /// The final check, after every session stopped changing the mailbox and this one was
    /// told what there was to tell: the mailbox as `FETCH 1:* (UID FLAGS MODSEQ)` shows it
    /// now against what the client was told. Then the view takes the fetched state.
    pub fn final_check(&mut self, fetched: &[(u32, Fetched)], v: &mut Violations) {
        let mailbox = &self.mailbox;
        if fetched.len() != self.msgs.len() {
            v.add(
                kind::SET_DIFFERS,
                format!(
                    "{mailbox}: {} messages now, {} told",
                    fetched.len(),
                    self.msgs.len()
                ),
            );
        }
        for (seq, f) in fetched {
            let Some(m) = (*seq as usize)
                .checked_sub(1)
                .and_then(|i| self.msgs.get(i))
            else {
                continue;
            };
            if let (Some(told), Some(now)) = (m.uid, f.uid)
                && told != now
            {
                v.add(
                    kind::SET_DIFFERS,
                    format!("{mailbox}: message {seq} is UID {now}, told {told}"),
                );
                continue;
            }
            if let (Some(told), Some(now)) = (m.modseq, f.modseq)
                && told < now
            {
                v.add(
                    kind::LOST,
                    format!(
                        "{mailbox}: UID {:?} told {:?} at MODSEQ {told}, now {:?} at {now}",
                        f.uid, m.flags, f.flags
                    ),
                );
            } else if let (Some(told), Some(now)) = (&m.flags, &f.flags)
                && m.modseq.is_none()
                && told != now
            {
                v.add(
                    kind::LOST,
                    format!("{mailbox}: UID {:?} told {told:?}, now {now:?}", f.uid),
                );
            }
        }
    }
}
