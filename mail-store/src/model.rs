//! Requests and answers of the [`MailStore`](crate::MailStore) trait.

use std::{sync::Arc, time::SystemTime};

use serde::{Deserialize, Serialize};

use crate::{
    mime::{BodyStructure, Envelope},
    types::{
        AccountName, Flags, InternalDate, Keyword, ModSeq, SpecialUse, Uid, UidSet, UidValidity,
    },
    upload::Upload,
};

/// One mailbox in a LIST answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// The full name, UTF-8, with the store's hierarchy delimiter.
    pub name: String,
    /// `false` for a parent that exists only because it has children (`\NonExistent`,
    /// `\Noselect`), or a subscription to a mailbox that is gone.
    pub exists: bool,
    /// Whether the mailbox has child mailboxes (`\HasChildren` / `\HasNoChildren`).
    pub has_children: bool,
    /// Whether the account subscribed to it (`\Subscribed`).
    pub subscribed: bool,
    /// Its special-use role, if any.
    pub special_use: Option<SpecialUse>,
}

/// Which mailboxes a LIST returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListScope {
    /// Existing mailboxes (and nonexistent parents of matching children).
    #[default]
    All,
    /// Subscribed names only (LSUB, `LIST (SUBSCRIBED)`), whether or not they exist.
    Subscribed,
}

/// Everything STATUS and SELECT report, from one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `MESSAGES`
    pub messages: u32,
    /// `RECENT` (IMAP4rev1): messages no session has claimed with
    /// [`take_recent`](crate::MailStore::take_recent) yet.
    pub recent: u32,
    /// `UIDNEXT`
    pub uidnext: Uid,
    /// `UIDVALIDITY`
    pub uidvalidity: UidValidity,
    /// `UNSEEN`: messages without `\Seen`.
    pub unseen: u32,
    /// `DELETED`: messages with `\Deleted`.
    pub deleted: u32,
    /// `SIZE`: total octets.
    pub size: u64,
    /// `DELETED-STORAGE` (RFC 9208): the octets of the messages with `\Deleted`, which an
    /// EXPUNGE would free.
    pub deleted_size: u64,
    /// `HIGHESTMODSEQ`
    pub highest_modseq: ModSeq,
    /// The keywords in use in this mailbox (for `FLAGS` and `PERMANENTFLAGS`).
    pub keywords: Vec<Keyword>,
    /// Whether clients may create new keywords (`\*` in `PERMANENTFLAGS`).
    pub new_keywords_allowed: bool,
    /// The mailbox's special-use role.
    pub special_use: Option<SpecialUse>,
}

/// One message to append.
#[derive(Debug)]
pub struct AppendItem {
    /// The message octets, already received.
    pub data: Upload,
    /// Its initial flags and keywords.
    pub flags: Flags,
    /// Its internal date; `None` means now.
    pub internal_date: Option<InternalDate>,
}

impl AppendItem {
    /// A message with no flags, dated now.
    pub fn new(data: Upload) -> Self {
        Self {
            data,
            flags: Flags::new(),
            internal_date: None,
        }
    }
}

/// The answer to an append (APPENDUID, RFC 4315).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: UidValidity,
    /// The UIDs given, in the order of the items.
    pub uids: Vec<Uid>,
}

/// Which bytes of the message a fetch returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// The whole message.
    Full,
    /// Only the header block (including the blank line).
    Header,
    /// Everything after the header block.
    Text,
    /// A byte range of the whole message (`BODY[]<offset.len>`), clipped to its end.
    Range {
        /// First octet.
        offset: u64,
        /// Number of octets.
        len: u64,
    },
}

/// What a fetch returns besides the always-present UID, flags, modseq, internal date and sizes
/// (which come from the index and never touch message files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FetchQuery {
    /// ENVELOPE
    pub envelope: bool,
    /// BODYSTRUCTURE
    pub body_structure: bool,
    /// Message octets.
    pub content: Option<Content>,
}

impl FetchQuery {
    /// Only the index data (flags, dates, sizes, modseq).
    pub fn meta() -> Self {
        Self::default()
    }
}

/// One message in a fetch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    /// UID
    pub uid: Uid,
    /// FLAGS
    pub flags: Flags,
    /// MODSEQ
    pub modseq: ModSeq,
    /// INTERNALDATE
    pub internal_date: InternalDate,
    /// RFC822.SIZE: octets as stored.
    pub size: u64,
    /// Octets with every line ending in CRLF (POP3 sizes).
    pub crlf_size: u64,
    /// ENVELOPE, if asked.
    pub envelope: Option<Arc<Envelope>>,
    /// BODYSTRUCTURE, if asked.
    pub body_structure: Option<Arc<BodyStructure>>,
    /// The octets asked for.
    pub content: Option<Vec<u8>>,
}

/// A message's UID, flags and modseq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFlags {
    /// UID
    pub uid: Uid,
    /// Flags after the change.
    pub flags: Flags,
    /// MODSEQ after the change.
    pub modseq: ModSeq,
}

/// The answer to a flag store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreResult {
    /// Messages whose flags changed, with the new flags and modseq.
    pub updated: Vec<MessageFlags>,
    /// Messages left alone because their modseq was above UNCHANGEDSINCE (`[MODIFIED]`).
    pub modified: Vec<Uid>,
}

/// Which messages an expunge removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpungeScope {
    /// Every message with `\Deleted` (EXPUNGE, CLOSE).
    Deleted,
    /// Messages with `\Deleted` in this set (UID EXPUNGE).
    DeletedIn(UidSet),
    /// These messages, whatever their flags (POP3 DELE, MOVE).
    Uids(UidSet),
}

/// The answer to an expunge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expunged {
    /// The UIDs removed, ascending.
    pub uids: Vec<Uid>,
    /// The modseq recorded for these expunges, if anything was removed.
    pub modseq: Option<ModSeq>,
}

/// The answer to a copy or move (COPYUID, RFC 4315).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The destination's UIDVALIDITY.
    pub uidvalidity: UidValidity,
    /// (source UID, destination UID) pairs, ascending by source UID.
    pub map: Vec<(Uid, Uid)>,
}

/// What changed in a mailbox since a modseq (CONDSTORE/QRESYNC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The mailbox's UIDVALIDITY (a client with another one must resync fully).
    pub uidvalidity: UidValidity,
    /// The mailbox's HIGHESTMODSEQ now.
    pub highest_modseq: ModSeq,
    /// Messages appended after the modseq, ascending.
    pub new: Vec<MessageFlags>,
    /// Older messages whose flags changed after the modseq, ascending.
    pub changed: Vec<MessageFlags>,
    /// Messages expunged after the modseq (QRESYNC `VANISHED (EARLIER)`). A store keeps a
    /// bounded history of expunges: asked about a modseq older than it reaches, it answers
    /// every UID below UIDNEXT that is not in the mailbox, a superset that RFC 7162 allows
    /// (§3.2.6: a server need not remember when each message was expunged; clients ignore
    /// UIDs they do not know).
    pub expunged: UidSet,
}

/// A POP3 lease on an account's INBOX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Lease {
    pub(crate) id: u64,
    /// When the lease lapses unless renewed; after that another session may take it.
    pub expires: SystemTime,
}

/// One message of a POP3 maildrop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Message {
    /// Its UID in INBOX.
    pub uid: Uid,
    /// Its size with CRLF line ends, as STAT and LIST report.
    pub size: u64,
    /// Its UIDL: 1–70 characters from 0x21–0x7E, stable across sessions and never reused.
    pub uidl: String,
}

/// The snapshot a POP3 session works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maildrop {
    /// The lease; pass it to the other `pop3_` calls.
    pub lease: Pop3Lease,
    /// The messages, in UID order (message number = index + 1).
    pub messages: Vec<Pop3Message>,
}

/// What a POP3 QUIT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pop3Committed {
    /// Messages deleted.
    pub deleted: usize,
    /// Messages marked for deletion that were already gone (another client or IMAP session
    /// removed them); not an error.
    pub already_gone: usize,
}

/// One recipient of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The account.
    pub account: AccountName,
    /// The mailbox; `None` means INBOX.
    pub mailbox: Option<String>,
    /// Flags for the delivered copy.
    pub flags: Flags,
}

impl Recipient {
    /// Delivery into the account's INBOX.
    pub fn inbox(account: AccountName) -> Self {
        Self {
            account,
            mailbox: None,
            flags: Flags::new(),
        }
    }
}

/// Where a delivery put the message for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The mailbox name.
    pub mailbox: String,
    /// Its UIDVALIDITY.
    pub uidvalidity: UidValidity,
    /// The new message's UID.
    pub uid: Uid,
}

/// Quota resources (RFC 9208 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuotaResourceName {
    /// `STORAGE`: in units of 1024 octets.
    Storage,
    /// `MESSAGE`: number of messages.
    Message,
}

impl QuotaResourceName {
    /// The RFC 9208 name.
    pub const fn as_str(self) -> &'static str {
        match self {
            QuotaResourceName::Storage => "STORAGE",
            QuotaResourceName::Message => "MESSAGE",
        }
    }
}

impl std::fmt::Display for QuotaResourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account's limits; `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotaLimits {
    /// Maximum total octets.
    pub storage_bytes: Option<u64>,
    /// Maximum number of messages.
    pub messages: Option<u64>,
}

/// One resource in a quota report, in RFC 9208 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaResource {
    /// The resource.
    pub name: QuotaResourceName,
    /// Usage: KiB (rounded up) for STORAGE, a count for MESSAGE.
    pub usage: u64,
    /// The limit in the same unit.
    pub limit: u64,
}

/// An account's quota root (the store has one per account, named `""`), as GETQUOTAROOT and
/// GETQUOTA report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaReport {
    /// The quota root name.
    pub root: String,
    /// The limited resources (unlimited ones are left out, as RFC 9208 asks).
    pub resources: Vec<QuotaResource>,
    /// Exact usage in octets.
    pub used_bytes: u64,
    /// Exact number of messages.
    pub used_messages: u64,
}
