//! The payloads of untagged data responses: LIST, STATUS, SEARCH/SORT, ESEARCH, NAMESPACE,
//! QUOTA, METADATA, THREAD, and the generic extension values some of them carry.

use super::{
    core::{AString, Atom, IString, NString},
    flag::MailboxAttr,
    mailbox::Mailbox,
    objectid::ObjectId,
    search::PartialRange,
    sequence::SequenceSet,
    status::StatusAttr,
};

/// ```text
/// mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
///                [SP mbox-list-extended]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListData<'a> {
    /// `mbx-list-flags`
    pub attributes: Vec<MailboxAttr<'a>>,
    /// The hierarchy delimiter, or `None` for `NIL` (a flat namespace).
    pub delimiter: Option<char>,
    /// The mailbox.
    pub mailbox: Mailbox<'a>,
    /// `mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"`
    /// (RFC 5258, IMAP4rev2): `None` when absent.
    pub extended: Option<Vec<ListExtItem<'a>>>,
}

/// `mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val`
///
/// `CHILDINFO` and `OLDNAME` are recognized whether the tag is an atom or a string, and are
/// encoded quoted, as the RFCs and servers write them. Any other tag is kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListExtItem<'a> {
    /// `CHILDINFO ("SUBSCRIBED" ...)`: the selection options a child matched. Sent quoted
    /// whatever the form (`list-select-base-opt-quoted`); read unquoted too, as a quoted
    /// string.
    ChildInfo(Vec<AString<'a>>),
    /// `OLDNAME (mailbox)`: the name before a RENAME.
    OldName(Mailbox<'a>),
    /// Any other item.
    Other {
        /// `mbox-list-extended-item-tag = astring`
        tag: AString<'a>,
        /// The value.
        value: TaggedExtVal<'a>,
    },
}

/// ```text
/// tagged-ext-val    = tagged-ext-simple / "(" [tagged-ext-comp] ")"
/// tagged-ext-simple = sequence-set / number / number64
/// ```
/// A value that is a single number is a [`Number`](Self::Number), never a one-element set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaggedExtVal<'a> {
    /// `number64`
    Number(u64),
    /// `sequence-set` (more than a single number)
    Set(SequenceSet),
    /// `"(" [tagged-ext-comp] ")"`
    Comp(Vec<TaggedExtComp<'a>>),
}

/// `tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) / "(" tagged-ext-comp ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaggedExtComp<'a> {
    /// `astring`
    AString(AString<'a>),
    /// A parenthesized group, at least one.
    List(Vec<TaggedExtComp<'a>>),
}

/// `status-att-val`: one attribute of a STATUS response and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusItem<'a> {
    /// `MESSAGES number`
    Messages(u32),
    /// `UIDNEXT nz-number`
    UidNext(u32),
    /// `UIDVALIDITY nz-number`
    UidValidity(u32),
    /// `UNSEEN number`
    Unseen(u32),
    /// `DELETED number` (IMAP4rev2)
    Deleted(u32),
    /// `SIZE number64` (RFC 8438, IMAP4rev2)
    Size(u64),
    /// `RECENT number` (IMAP4rev1)
    Recent(u32),
    /// `HIGHESTMODSEQ mod-sequence-valzer` (RFC 7162)
    HighestModSeq(u64),
    /// `APPENDLIMIT (number / nil)` (RFC 7889): `None` when there is no limit.
    AppendLimit(Option<u64>),
    /// `MAILBOXID (objectid)` (RFC 8474)
    MailboxId(ObjectId<'a>),
    /// `DELETED-STORAGE number64` (RFC 9208)
    DeletedStorage(u64),
}

impl StatusItem<'_> {
    /// The attribute.
    pub fn attr(&self) -> StatusAttr {
        match self {
            Self::Messages(_) => StatusAttr::Messages,
            Self::UidNext(_) => StatusAttr::UidNext,
            Self::UidValidity(_) => StatusAttr::UidValidity,
            Self::Unseen(_) => StatusAttr::Unseen,
            Self::Deleted(_) => StatusAttr::Deleted,
            Self::Size(_) => StatusAttr::Size,
            Self::Recent(_) => StatusAttr::Recent,
            Self::HighestModSeq(_) => StatusAttr::HighestModSeq,
            Self::AppendLimit(_) => StatusAttr::AppendLimit,
            Self::MailboxId(_) => StatusAttr::MailboxId,
            Self::DeletedStorage(_) => StatusAttr::DeletedStorage,
        }
    }

    /// The attribute's name.
    pub fn name(&self) -> &'static str {
        self.attr().as_str()
    }

    /// The value as a number, where it is one.
    pub fn number(&self) -> Option<u64> {
        match *self {
            Self::Messages(n)
            | Self::UidNext(n)
            | Self::UidValidity(n)
            | Self::Unseen(n)
            | Self::Deleted(n)
            | Self::Recent(n) => Some(u64::from(n)),
            Self::Size(n) | Self::HighestModSeq(n) | Self::DeletedStorage(n) => Some(n),
            Self::AppendLimit(n) => n,
            Self::MailboxId(_) => None,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> StatusItem<'static> {
        match self {
            Self::Messages(n) => StatusItem::Messages(n),
            Self::UidNext(n) => StatusItem::UidNext(n),
            Self::UidValidity(n) => StatusItem::UidValidity(n),
            Self::Unseen(n) => StatusItem::Unseen(n),
            Self::Deleted(n) => StatusItem::Deleted(n),
            Self::Size(n) => StatusItem::Size(n),
            Self::Recent(n) => StatusItem::Recent(n),
            Self::HighestModSeq(n) => StatusItem::HighestModSeq(n),
            Self::AppendLimit(n) => StatusItem::AppendLimit(n),
            Self::MailboxId(id) => StatusItem::MailboxId(id.into_owned()),
            Self::DeletedStorage(n) => StatusItem::DeletedStorage(n),
        }
    }
}

/// The numbers of a SEARCH or SORT response, with CONDSTORE's highest mod-sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SearchResult {
    /// Message sequence numbers or UIDs (nz-number), in the order sent.
    pub ids: Vec<u32>,
    /// `search-sort-mod-seq = "(" "MODSEQ" SP mod-sequence-value ")"` (RFC 7162)
    pub modseq: Option<u64>,
}

/// ```text
/// esearch-response  = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
/// search-correlator = SP "(" "TAG" SP tag-string ")"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ESearch<'a> {
    /// The tag of the command this answers (`tag-string = astring`).
    pub tag: Option<AString<'a>>,
    /// `UID`: the numbers are UIDs.
    pub uid: bool,
    /// `search-return-data`
    pub items: Vec<ESearchItem<'a>>,
}

/// `search-return-data`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ESearchItem<'a> {
    /// `MIN nz-number`
    Min(u32),
    /// `MAX nz-number`
    Max(u32),
    /// `ALL sequence-set`
    All(SequenceSet),
    /// `COUNT number`
    Count(u32),
    /// `MODSEQ mod-sequence-value` (RFC 7162)
    ModSeq(u64),
    /// `PARTIAL (range results)` (RFC 9394)
    Partial {
        /// `partial-range`
        range: PartialRange,
        /// `partial-results = sequence-set / "NIL"`
        results: Option<SequenceSet>,
    },
    /// `ADDTO (position set ...)` (RFC 5267 §4.3.3): messages now in an updating
    /// search's result; never empty.
    AddTo(Vec<ContextUpdate>),
    /// `REMOVEFROM (position set ...)` (RFC 5267 §4.3.4): messages no longer in it.
    RemoveFrom(Vec<ContextUpdate>),
    /// `search-ret-data-ext = search-modifier-name SP search-return-value`
    Other {
        /// `search-modifier-name`
        name: Atom<'a>,
        /// `search-return-value = tagged-ext-val`
        value: TaggedExtVal<'a>,
    },
}

/// One pair of an ADDTO or REMOVEFROM item (RFC 5267 §4.3.3, §4.3.4):
/// `context-position SP sequence-set`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextUpdate {
    /// `context-position = number`: where in the result (1 is the first), or 0 for a SEARCH
    /// result kept in mailbox order.
    pub position: u32,
    /// The message numbers or UIDs, in the result's order.
    pub set: SequenceSet,
}

/// `namespace-response = "NAMESPACE" SP namespace SP namespace SP namespace`; a `NIL`
/// namespace is an empty list (the grammar's lists hold at least one description).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Namespaces<'a> {
    /// The user's own mailboxes.
    pub personal: Vec<NamespaceDescr<'a>>,
    /// Other users' mailboxes.
    pub other: Vec<NamespaceDescr<'a>>,
    /// Shared mailboxes.
    pub shared: Vec<NamespaceDescr<'a>>,
}

/// ```text
/// namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) *namespace-response-extension ")"
/// namespace-response-extension = SP string SP "(" string *(SP string) ")"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamespaceDescr<'a> {
    /// The prefix (`""`, `"Other Users/"`, ...).
    pub prefix: IString<'a>,
    /// The hierarchy delimiter, or `None` for `NIL`.
    pub delimiter: Option<char>,
    /// Extensions: a name and at least one value each.
    pub extensions: Vec<(IString<'a>, Vec<IString<'a>>)>,
}

/// `quota-resource = resource-name SP resource-usage SP resource-limit` (RFC 9208)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaResource<'a> {
    /// The resource.
    pub name: ResourceName<'a>,
    /// `resource-usage = number64`
    pub usage: u64,
    /// `resource-limit = number64`
    pub limit: u64,
}

/// `resource-name = "STORAGE" / "MESSAGE" / "MAILBOX" / "ANNOTATION-STORAGE" / resource-name-ext`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResourceName<'a> {
    /// `STORAGE`: in units of 1024 octets.
    Storage,
    /// `MESSAGE`: messages.
    Message,
    /// `MAILBOX`: mailboxes.
    Mailbox,
    /// `ANNOTATION-STORAGE`: in units of 1024 octets.
    AnnotationStorage,
    /// Anything else (`atom`).
    Other(Atom<'a>),
}

impl ResourceName<'_> {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Storage => "STORAGE",
            Self::Message => "MESSAGE",
            Self::Mailbox => "MAILBOX",
            Self::AnnotationStorage => "ANNOTATION-STORAGE",
            Self::Other(a) => a.as_str(),
        }
    }
}

/// What a METADATA response carries (RFC 5464 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetadataEntries<'a> {
    /// `entry-values = "(" entry-value *(SP entry-value) ")"`, `entry-value = entry SP value`,
    /// `value = nstring / literal8`.
    Values(Vec<(AString<'a>, NString<'a>)>),
    /// `entry-list = entry *(SP entry)`: entries that changed (unsolicited).
    Names(Vec<AString<'a>>),
}

/// ```text
/// thread-list    = "(" (thread-members / thread-nested) ")"
/// thread-members = nz-number *(SP nz-number) [SP thread-nested]
/// thread-nested  = 2*thread-list
/// ```
/// A thread is a chain of messages, each the parent of the next, whose last message has the
/// `children` threads as replies. `ids` is empty only when there are `children` (a thread
/// whose root is missing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Thread {
    /// The chain, parent first.
    pub ids: Vec<u32>,
    /// The branches below the chain's last message.
    pub children: Vec<Thread>,
}

impl Drop for Thread {
    /// Without recursion: a tree a server built from a mailbox's references can be deeper
    /// than the stack.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut t) = pending.pop() {
            pending.append(&mut t.children);
        }
    }
}

impl TaggedExtVal<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> TaggedExtVal<'static> {
        match self {
            Self::Number(n) => TaggedExtVal::Number(n),
            Self::Set(s) => TaggedExtVal::Set(s),
            Self::Comp(c) => {
                TaggedExtVal::Comp(c.into_iter().map(TaggedExtComp::into_owned).collect())
            }
        }
    }
}

impl TaggedExtComp<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> TaggedExtComp<'static> {
        match self {
            Self::AString(a) => TaggedExtComp::AString(a.into_owned()),
            Self::List(v) => {
                TaggedExtComp::List(v.into_iter().map(TaggedExtComp::into_owned).collect())
            }
        }
    }
}

impl ListData<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ListData<'static> {
        ListData {
            attributes: self
                .attributes
                .into_iter()
                .map(MailboxAttr::into_owned)
                .collect(),
            delimiter: self.delimiter,
            mailbox: self.mailbox.into_owned(),
            extended: self
                .extended
                .map(|items| items.into_iter().map(ListExtItem::into_owned).collect()),
        }
    }
}

impl ListExtItem<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ListExtItem<'static> {
        match self {
            Self::ChildInfo(v) => {
                ListExtItem::ChildInfo(v.into_iter().map(AString::into_owned).collect())
            }
            Self::OldName(m) => ListExtItem::OldName(m.into_owned()),
            Self::Other { tag, value } => ListExtItem::Other {
                tag: tag.into_owned(),
                value: value.into_owned(),
            },
        }
    }
}

impl ESearch<'_> {
    /// Whether this tells how an updating search's result changed (ADDTO, REMOVEFROM; RFC
    /// 5267 §4.3) rather than answering a command: such responses come unsolicited, at any
    /// time, tagged with the search they update.
    pub fn is_update(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, ESearchItem::AddTo(_) | ESearchItem::RemoveFrom(_)))
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ESearch<'static> {
        ESearch {
            tag: self.tag.map(AString::into_owned),
            uid: self.uid,
            items: self
                .items
                .into_iter()
                .map(ESearchItem::into_owned)
                .collect(),
        }
    }
}

impl ESearchItem<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ESearchItem<'static> {
        match self {
            Self::Min(n) => ESearchItem::Min(n),
            Self::Max(n) => ESearchItem::Max(n),
            Self::All(s) => ESearchItem::All(s),
            Self::Count(n) => ESearchItem::Count(n),
            Self::ModSeq(n) => ESearchItem::ModSeq(n),
            Self::Partial { range, results } => ESearchItem::Partial { range, results },
            Self::AddTo(v) => ESearchItem::AddTo(v),
            Self::RemoveFrom(v) => ESearchItem::RemoveFrom(v),
            Self::Other { name, value } => ESearchItem::Other {
                name: name.into_owned(),
                value: value.into_owned(),
            },
        }
    }
}

impl NamespaceDescr<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> NamespaceDescr<'static> {
        NamespaceDescr {
            prefix: self.prefix.into_owned(),
            delimiter: self.delimiter,
            extensions: self
                .extensions
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.into_owned(),
                        v.into_iter().map(IString::into_owned).collect(),
                    )
                })
                .collect(),
        }
    }
}

fn own_descr(list: Vec<NamespaceDescr<'_>>) -> Vec<NamespaceDescr<'static>> {
    list.into_iter().map(NamespaceDescr::into_owned).collect()
}

impl Namespaces<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Namespaces<'static> {
        Namespaces {
            personal: own_descr(self.personal),
            other: own_descr(self.other),
            shared: own_descr(self.shared),
        }
    }
}

impl ResourceName<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> ResourceName<'static> {
        match self {
            Self::Storage => ResourceName::Storage,
            Self::Message => ResourceName::Message,
            Self::Mailbox => ResourceName::Mailbox,
            Self::AnnotationStorage => ResourceName::AnnotationStorage,
            Self::Other(a) => ResourceName::Other(a.into_owned()),
        }
    }
}

impl QuotaResource<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> QuotaResource<'static> {
        QuotaResource {
            name: self.name.into_owned(),
            usage: self.usage,
            limit: self.limit,
        }
    }
}

impl MetadataEntries<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> MetadataEntries<'static> {
        match self {
            Self::Values(v) => MetadataEntries::Values(
                v.into_iter()
                    .map(|(k, v)| (k.into_owned(), v.map(IString::into_owned)))
                    .collect(),
            ),
            Self::Names(v) => {
                MetadataEntries::Names(v.into_iter().map(AString::into_owned).collect())
            }
        }
    }
}
