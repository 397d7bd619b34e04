//! SEARCH criteria (RFC 9051 §6.4.4, RFC 3501 §6.4.4 and the extensions: CONDSTORE MODSEQ,
//! WITHIN, SAVEDATE, OBJECTID), ESEARCH return options (RFC 4731, RFC 5182, RFC 5267, RFC 9394),
//! and the
//! SORT and THREAD criteria (RFC 5256).

use std::{borrow::Cow, fmt};

use super::{
    InvalidInput,
    core::{AString, Atom},
    datetime::Date,
    flag::Flag,
    objectid::ObjectId,
    sequence::SequenceSet,
};

/// `search-key`. Keys in a list are ANDed; [`SearchKey::And`] is a parenthesized list.
///
/// Values built by hand can nest without limit; the parser refuses nesting deeper than
/// [`crate::codec::CommandOptions::max_depth`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchKey<'a> {
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `BCC astring`
    Bcc(AString<'a>),
    /// `BEFORE date` (internal date)
    Before(Date),
    /// `BODY astring`
    Body(AString<'a>),
    /// `CC astring`
    Cc(AString<'a>),
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `FROM astring`
    From(AString<'a>),
    /// `HEADER header-fld-name astring`
    Header(AString<'a>, AString<'a>),
    /// `KEYWORD flag-keyword`
    Keyword(Atom<'a>),
    /// `LARGER number64`
    Larger(u64),
    /// `NEW` (IMAP4rev1): recent and unseen.
    New,
    /// `NOT search-key`
    Not(Box<SearchKey<'a>>),
    /// `OLD` (IMAP4rev1): not recent.
    Old,
    /// `ON date`
    On(Date),
    /// `OR search-key search-key`
    Or(Box<SearchKey<'a>>, Box<SearchKey<'a>>),
    /// `RECENT` (IMAP4rev1)
    Recent,
    /// `SEEN`
    Seen,
    /// `SENTBEFORE date` (Date: header)
    SentBefore(Date),
    /// `SENTON date`
    SentOn(Date),
    /// `SENTSINCE date`
    SentSince(Date),
    /// `SINCE date`
    Since(Date),
    /// `SMALLER number64`
    Smaller(u64),
    /// `SUBJECT astring`
    Subject(AString<'a>),
    /// `TEXT astring`
    Text(AString<'a>),
    /// `TO astring`
    To(AString<'a>),
    /// `UID sequence-set`
    Uid(SequenceSet),
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNKEYWORD flag-keyword`
    Unkeyword(Atom<'a>),
    /// `UNSEEN`
    Unseen,
    /// `sequence-set`: message sequence numbers (or `$`).
    SequenceSet(SequenceSet),
    /// `"(" search-key *(SP search-key) ")"`; never empty.
    And(Vec<SearchKey<'a>>),
    /// `MODSEQ [entry-name entry-type-req] mod-sequence-valzer` (RFC 7162)
    ModSeq {
        /// The metadata item the value is about (`"/flags/\\Seen" priv`).
        entry: Option<ModSeqEntry<'a>>,
        /// Messages with this modseq or higher.
        modseq: u64,
    },
    /// `OLDER nz-number` (RFC 5032): internal date more than n seconds ago.
    Older(u32),
    /// `YOUNGER nz-number` (RFC 5032)
    Younger(u32),
    /// `SAVEDBEFORE date` (RFC 8514)
    SavedBefore(Date),
    /// `SAVEDON date` (RFC 8514)
    SavedOn(Date),
    /// `SAVEDSINCE date` (RFC 8514)
    SavedSince(Date),
    /// `SAVEDATESUPPORTED` (RFC 8514)
    SaveDateSupported,
    /// `EMAILID objectid` (RFC 8474)
    EmailId(ObjectId<'a>),
    /// `THREADID objectid` (RFC 8474)
    ThreadId(ObjectId<'a>),
}

impl<'a> SearchKey<'a> {
    /// Whether a string the key searches for holds octets beyond ASCII: under IMAP4rev1
    /// the command then needs `CHARSET UTF-8` (RFC 3501 §6.4.4: US-ASCII otherwise).
    pub fn has_non_ascii(&self) -> bool {
        match self {
            Self::Bcc(s)
            | Self::Body(s)
            | Self::Cc(s)
            | Self::From(s)
            | Self::Subject(s)
            | Self::Text(s)
            | Self::To(s) => !s.as_bytes().is_ascii(),
            Self::Header(name, value) => {
                !(name.as_bytes().is_ascii() && value.as_bytes().is_ascii())
            }
            Self::Not(k) => k.has_non_ascii(),
            Self::Or(a, b) => a.has_non_ascii() || b.has_non_ascii(),
            Self::And(keys) => keys.iter().any(Self::has_non_ascii),
            _ => false,
        }
    }

    /// `OR a b`.
    #[must_use]
    pub fn or(a: SearchKey<'a>, b: SearchKey<'a>) -> Self {
        Self::Or(Box::new(a), Box::new(b))
    }

    /// A parenthesized list; at least one key.
    pub fn and(keys: Vec<SearchKey<'a>>) -> Result<Self, InvalidInput> {
        if keys.is_empty() {
            return Err(InvalidInput::new(
                "search key list",
                "at least one search-key",
            ));
        }
        Ok(Self::And(keys))
    }

    /// Whether the key or a sub-key is `MODSEQ` (which turns CONDSTORE on, RFC 7162 §3.1).
    pub fn uses_modseq(&self) -> bool {
        match self {
            Self::ModSeq { .. } => true,
            Self::Not(k) => k.uses_modseq(),
            Self::Or(a, b) => a.uses_modseq() || b.uses_modseq(),
            Self::And(v) => v.iter().any(SearchKey::uses_modseq),
            _ => false,
        }
    }

    /// How many `BODY` and `TEXT` keys this one is or holds: each is a pass over every
    /// message's octets.
    pub fn body_keys(&self) -> usize {
        match self {
            Self::Body(_) | Self::Text(_) => 1,
            Self::Not(k) => k.body_keys(),
            Self::Or(a, b) => a.body_keys() + b.body_keys(),
            Self::And(v) => v.iter().map(SearchKey::body_keys).sum(),
            _ => 0,
        }
    }

    /// How deeply the key nests (1 for a key without sub-keys).
    pub fn depth(&self) -> usize {
        match self {
            Self::Not(k) => 1 + k.depth(),
            Self::Or(a, b) => 1 + a.depth().max(b.depth()),
            Self::And(v) => 1 + v.iter().map(SearchKey::depth).max().unwrap_or(0),
            _ => 1,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> SearchKey<'static> {
        use SearchKey as K;
        match self {
            Self::All => K::All,
            Self::Answered => K::Answered,
            Self::Bcc(s) => K::Bcc(s.into_owned()),
            Self::Before(d) => K::Before(d),
            Self::Body(s) => K::Body(s.into_owned()),
            Self::Cc(s) => K::Cc(s.into_owned()),
            Self::Deleted => K::Deleted,
            Self::Draft => K::Draft,
            Self::Flagged => K::Flagged,
            Self::From(s) => K::From(s.into_owned()),
            Self::Header(h, v) => K::Header(h.into_owned(), v.into_owned()),
            Self::Keyword(a) => K::Keyword(a.into_owned()),
            Self::Larger(n) => K::Larger(n),
            Self::New => K::New,
            Self::Not(k) => K::Not(Box::new(k.into_owned())),
            Self::Old => K::Old,
            Self::On(d) => K::On(d),
            Self::Or(a, b) => K::Or(Box::new(a.into_owned()), Box::new(b.into_owned())),
            Self::Recent => K::Recent,
            Self::Seen => K::Seen,
            Self::SentBefore(d) => K::SentBefore(d),
            Self::SentOn(d) => K::SentOn(d),
            Self::SentSince(d) => K::SentSince(d),
            Self::Since(d) => K::Since(d),
            Self::Smaller(n) => K::Smaller(n),
            Self::Subject(s) => K::Subject(s.into_owned()),
            Self::Text(s) => K::Text(s.into_owned()),
            Self::To(s) => K::To(s.into_owned()),
            Self::Uid(s) => K::Uid(s),
            Self::Unanswered => K::Unanswered,
            Self::Undeleted => K::Undeleted,
            Self::Undraft => K::Undraft,
            Self::Unflagged => K::Unflagged,
            Self::Unkeyword(a) => K::Unkeyword(a.into_owned()),
            Self::Unseen => K::Unseen,
            Self::SequenceSet(s) => K::SequenceSet(s),
            Self::And(v) => K::And(v.into_iter().map(SearchKey::into_owned).collect()),
            Self::ModSeq { entry, modseq } => K::ModSeq {
                entry: entry.map(ModSeqEntry::into_owned),
                modseq,
            },
            Self::Older(n) => K::Older(n),
            Self::Younger(n) => K::Younger(n),
            Self::SavedBefore(d) => K::SavedBefore(d),
            Self::SavedOn(d) => K::SavedOn(d),
            Self::SavedSince(d) => K::SavedSince(d),
            Self::SaveDateSupported => K::SaveDateSupported,
            Self::EmailId(id) => K::EmailId(id.into_owned()),
            Self::ThreadId(id) => K::ThreadId(id.into_owned()),
        }
    }
}

impl<'a> std::ops::Not for SearchKey<'a> {
    type Output = SearchKey<'a>;

    /// `NOT key`.
    fn not(self) -> SearchKey<'a> {
        SearchKey::Not(Box::new(self))
    }
}

/// `entry-type-req = entry-type-resp / "all"`, `entry-type-resp = "priv" / "shared"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// `priv`
    Private,
    /// `shared`
    Shared,
    /// `all`
    All,
}

impl EntryType {
    /// The keyword, lower case as in RFC 7162.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "priv",
            Self::Shared => "shared",
            Self::All => "all",
        }
    }
}

/// `search-modseq-ext = SP entry-name SP entry-type-req`, with
/// `entry-name = DQUOTE "/flags/" attr-flag DQUOTE` (RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModSeqEntry<'a> {
    /// The flag (`attr-flag`: a system flag or a keyword).
    pub flag: Flag<'a>,
    /// Whose metadata.
    pub entry_type: EntryType,
}

impl ModSeqEntry<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ModSeqEntry<'static> {
        ModSeqEntry {
            flag: self.flag.into_owned(),
            entry_type: self.entry_type,
        }
    }
}

/// `search-return-opt` (RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 5267 CONTEXT, RFC 9394
/// PARTIAL); SORT takes the same options (RFC 5267 ESORT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SearchReturnOpt {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE` (RFC 5182)
    Save,
    /// `PARTIAL partial-range` (RFC 9394)
    Partial(PartialRange),
    /// `CONTEXT` (RFC 5267 §4.2): the client will likely search with these criteria again.
    Context,
    /// `UPDATE` (RFC 5267 §4.3): keep telling the client how the result changes.
    Update,
}

/// `partial-range = partial-range-first / partial-range-last` (RFC 9394): `1:100` counts
/// from the first result, `-1:-100` from the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialRange {
    /// From the last result instead of the first.
    pub from_last: bool,
    /// First position, 1 or more.
    pub start: u32,
    /// Last position, 1 or more.
    pub end: u32,
}

impl PartialRange {
    /// A range of positions; both must be 1 or more.
    pub fn new(from_last: bool, start: u32, end: u32) -> Result<Self, InvalidInput> {
        if start == 0 || end == 0 {
            return Err(InvalidInput::new(
                "partial-range",
                "nz-number \":\" nz-number",
            ));
        }
        Ok(Self {
            from_last,
            start,
            end,
        })
    }
}

impl PartialRange {
    /// The positions the range names in a result of `len` messages, as a half-open range
    /// of 0-based indices in result order; `None` when none of them exists. Either end may
    /// come first (`5:1` is `1:5`, as in a sequence set).
    pub fn indices(&self, len: usize) -> Option<std::ops::Range<usize>> {
        let (lo, hi) = (self.start.min(self.end), self.start.max(self.end));
        let (lo, hi) = (
            usize::try_from(lo).ok()?,
            usize::try_from(hi).unwrap_or(usize::MAX),
        );
        let (first, last) = if self.from_last {
            // -1 is the last result, -hi the first one wanted.
            (len.saturating_sub(hi), len.checked_sub(lo)?)
        } else {
            (lo.checked_sub(1)?, hi.min(len).checked_sub(1)?)
        };
        (first <= last && last < len).then_some(first..last + 1)
    }
}

impl fmt::Display for PartialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.from_last { "-" } else { "" };
        write!(f, "{sign}{}:{sign}{}", self.start, self.end)
    }
}

/// `sort-key` (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `ARRIVAL`
    Arrival,
    /// `CC`
    Cc,
    /// `DATE`
    Date,
    /// `FROM`
    From,
    /// `SIZE`
    Size,
    /// `SUBJECT`
    Subject,
    /// `TO`
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

const SORT_KEYS: &[(&str, SortKey)] = &[
    ("ARRIVAL", SortKey::Arrival),
    ("CC", SortKey::Cc),
    ("DATE", SortKey::Date),
    ("FROM", SortKey::From),
    ("SIZE", SortKey::Size),
    ("SUBJECT", SortKey::Subject),
    ("TO", SortKey::To),
    ("DISPLAYFROM", SortKey::DisplayFrom),
    ("DISPLAYTO", SortKey::DisplayTo),
];

impl SortKey {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        SORT_KEYS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(n, _)| n)
    }

    /// The key with this name, case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        SORT_KEYS
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, k)| *k)
    }
}

/// `sort-criterion = ["REVERSE" SP] sort-key`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// `REVERSE`
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext` (RFC 5256).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm<'a> {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
    /// Any other algorithm (`thread-alg-ext = atom`), kept as written.
    Other(Atom<'a>),
}

impl<'a> ThreadAlgorithm<'a> {
    /// Interprets an atom: the two RFC 5256 algorithms case-insensitively, anything else kept.
    pub fn from_atom(atom: Atom<'a>) -> Self {
        if atom.as_str().eq_ignore_ascii_case("ORDEREDSUBJECT") {
            Self::OrderedSubject
        } else if atom.as_str().eq_ignore_ascii_case("REFERENCES") {
            Self::References
        } else {
            Self::Other(atom)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::OrderedSubject => "ORDEREDSUBJECT",
            Self::References => "REFERENCES",
            Self::Other(a) => a.as_str(),
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ThreadAlgorithm<'static> {
        match self {
            Self::OrderedSubject => ThreadAlgorithm::OrderedSubject,
            Self::References => ThreadAlgorithm::References,
            Self::Other(a) => ThreadAlgorithm::Other(a.into_owned()),
        }
    }
}

/// `charset = atom / quoted` (the name of a character set, as written).
pub type Charset<'a> = AString<'a>;

/// A charset from its name: an atom if it can be one, quoted otherwise.
pub fn charset(name: &str) -> Result<Charset<'_>, InvalidInput> {
    if !name.is_empty() && name.bytes().all(super::core::is_atom_char) {
        return Ok(AString::Atom(Cow::Borrowed(name)));
    }
    if super::core::is_quotable(name.as_bytes()) {
        return Ok(AString::String(super::core::IString::Quoted(
            Cow::Borrowed(name),
        )));
    }
    Err(InvalidInput::new("charset", "atom / quoted"))
}

#[cfg(test)]
mod tests {
    use super::PartialRange;

    fn at(from_last: bool, start: u32, end: u32, len: usize) -> Option<std::ops::Range<usize>> {
        PartialRange::new(from_last, start, end)
            .unwrap()
            .indices(len)
    }

    /// RFC 9394 §3.1: 1 is the first result, -1 the last; a range past the results gives
    /// what exists of it, or nothing.
    #[test]
    fn partial_ranges_name_positions_in_the_result() {
        assert_eq!(at(false, 1, 10, 30), Some(0..10));
        assert_eq!(at(true, 1, 5, 30), Some(25..30));
        assert_eq!(at(true, 5, 1, 30), Some(25..30));
        assert_eq!(at(false, 25, 40, 30), Some(24..30));
        assert_eq!(at(true, 20, 40, 30), Some(0..11));
        assert_eq!(at(false, 31, 40, 30), None);
        assert_eq!(at(true, 31, 40, 30), None);
        assert_eq!(at(false, 1, 1, 0), None);
        assert_eq!(at(false, 1, u32::MAX, 3), Some(0..3));
        let zero = PartialRange {
            from_last: false,
            start: 0,
            end: 2,
        };
        assert_eq!(zero.indices(3), None);
    }
}
