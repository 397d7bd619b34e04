//! The storage trait.

use std::{future::Future, time::Duration};

use crate::{
    access_key::AccessKey,
    error::{Result, StoreError},
    model::{
        AppendItem, Appended, Changes, Content, Copied, Delivered, ExpungeScope, Expunged,
        FetchQuery, FetchedMessage, ListScope, MailboxInfo, Maildrop, Pop3Committed, Pop3Lease,
        QuotaLimits, QuotaReport, Recipient, Status, StoreResult,
    },
    notify::Subscription,
    reader::MessageReader,
    search::{self, SearchHit, SearchQuery},
    types::{AccountName, FlagOp, ModSeq, Session, SpecialUse, Uid, UidSet},
    upload::Upload,
};

/// The storage API that IMAP, POP3 and SMTP/LMTP delivery share.
///
/// Every method is one transaction: it happens entirely or not at all, and what it returned
/// is durable when the future resolves. UIDs, UIDVALIDITY and modseqs are assigned by the
/// backend. Methods take `&self` and may be called from many tasks at once; the futures are
/// `Send`, so a multi-threaded runtime can run them from spawned tasks.
///
/// Calls are stateless (a [`Session`] names the account and the caller, a mailbox is named
/// by its name), so several server processes over one database backend fit the same trait.
/// Mailbox names are UTF-8 with [`hierarchy_delimiter`](Self::hierarchy_delimiter) between
/// levels; `INBOX` is case-insensitive. Encoding names (modified UTF-7) is the protocol
/// crates' job.
///
/// The conformance suite in [`testkit`](crate::testkit) checks a backend against every rule
/// written here.
pub trait MailStore: Send + Sync + 'static {
    /// The hierarchy delimiter of mailbox names.
    fn hierarchy_delimiter(&self) -> char;

    /// Whether other programs change the mailboxes behind the store (an MDA delivering into
    /// a Maildir), which it learns of only when a mailbox is looked at again: a server then
    /// looks at the mailboxes its sessions have open now and then. `false` (the default):
    /// every change reaches [`watch`](Self::watch) by itself.
    fn changed_from_outside(&self) -> bool {
        false
    }

    /// A new, empty upload to stream a message into before
    /// [`append`](Self::append) or [`deliver`](Self::deliver).
    fn upload(&self) -> Upload;

    /// Creates an account with an empty INBOX.
    fn create_account(&self, account: &AccountName) -> impl Future<Output = Result<()>> + Send;

    /// Whether the account exists.
    fn account_exists(&self, account: &AccountName) -> impl Future<Output = Result<bool>> + Send;

    /// Sets an account's quota limits.
    fn set_quota(
        &self,
        account: &AccountName,
        limits: QuotaLimits,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The account's quota usage and limits (RFC 9208).
    fn quota(&self, session: &Session) -> impl Future<Output = Result<QuotaReport>> + Send;

    /// Whether `messages` more messages of `octets` octets in all fit the account's quota
    /// now: [`StoreError::OverQuota`] if they do not. For a refusal before the message is
    /// there (SMTP RCPT with SIZE, as Dovecot's LMTP checks); storing the message checks
    /// again.
    fn check_quota(
        &self,
        session: &Session,
        octets: u64,
        messages: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Mailboxes whose names match `pattern`, sorted by name. `*` matches any characters,
    /// `%` any but the delimiter; the leading `INBOX` matches case-insensitively.
    fn list(
        &self,
        session: &Session,
        pattern: &str,
        scope: ListScope,
    ) -> impl Future<Output = Result<Vec<MailboxInfo>>> + Send;

    /// Creates a mailbox (and any missing parents), optionally with a special-use role.
    fn create_mailbox(
        &self,
        session: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes a mailbox and its messages. INBOX cannot be deleted, nor a mailbox that has
    /// children.
    fn delete_mailbox(
        &self,
        session: &Session,
        name: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Renames a mailbox; its children move with it. Renaming INBOX moves its messages into a
    /// new mailbox and leaves INBOX empty (children of INBOX stay).
    fn rename_mailbox(
        &self,
        session: &Session,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Adds a name to the subscriptions (it need not exist).
    fn subscribe(&self, session: &Session, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Removes a name from the subscriptions.
    fn unsubscribe(&self, session: &Session, name: &str)
    -> impl Future<Output = Result<()>> + Send;

    /// Everything STATUS and SELECT report, in one call.
    fn status(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Status>> + Send;

    /// Appends messages: all of them or none (MULTIAPPEND). Quota is checked inside the same
    /// operation.
    fn append(
        &self,
        session: &Session,
        mailbox: &str,
        items: Vec<AppendItem>,
    ) -> impl Future<Output = Result<Appended>> + Send;

    /// The messages of `uids` that exist, ascending by UID.
    fn fetch(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: FetchQuery,
    ) -> impl Future<Output = Result<Vec<FetchedMessage>>> + Send;

    /// Octets `offset..offset + len` of one message as [`fetch`](Self::fetch) serves it
    /// (CRLF line ends), without reading the rest: for sending a large message in bounded
    /// pieces (POP3 RETR and TOP, an IMAP literal). Shorter than `len` only at the end of
    /// the message, and empty from there on. A message that is not there is
    /// [`StoreError::NoSuchMessage`].
    ///
    /// The default asks [`fetch`](Self::fetch) for [`Content::Range`], so it costs what the
    /// backend's range fetch costs; the embedded backends override it to read only the
    /// range.
    fn read_range(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
        offset: u64,
        len: usize,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send {
        let range = Content::Range {
            offset,
            len: len as u64,
        };
        content_of(self, session, mailbox, uid, range)
    }

    /// Opens message `uid` (as [`fetch`](Self::fetch) serves its octets) for reading in
    /// pieces that stay readable if another session expunges the message meanwhile, as an
    /// open file stays readable after it is unlinked: a large message is sent whole or not
    /// at all (POP3 RETR, an IMAP literal). A message that is not there is
    /// [`StoreError::NoSuchMessage`].
    ///
    /// The default reads the whole message now; the embedded backends open its file (or
    /// share its octets) and read each piece when asked.
    fn open_message(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
    ) -> impl Future<Output = Result<MessageReader>> + Send {
        async move {
            let whole = content_of(self, session, mailbox, uid, Content::Full).await?;
            Ok(MessageReader::from_bytes(whole))
        }
    }

    /// The messages of `uids` that `query` matches, ascending by UID, each with its modseq.
    ///
    /// The default fetches and evaluates ([`search::scan`]): the index data of every message
    /// at once, then the undecided ones' header block or whole content in batches of
    /// [`search::CONTENT_BATCH`] when the query needs it. A backend that can answer a query
    /// itself (a database turning it into its own query language) overrides this and may
    /// still call [`search::scan`] for what it cannot translate.
    fn search(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: &SearchQuery,
    ) -> impl Future<Output = Result<Vec<SearchHit>>> + Send {
        search::scan(self, session, mailbox, uids, query)
    }

    /// Changes flags. A message whose modseq is above `unchanged_since` is left alone and
    /// reported in [`StoreResult::modified`]. Each message whose flags change gets a new
    /// modseq, and HIGHESTMODSEQ follows.
    fn store_flags(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        op: FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> impl Future<Output = Result<StoreResult>> + Send;

    /// Removes messages, remembering the modseq of the expunge for
    /// [`changes_since`](Self::changes_since).
    fn expunge(
        &self,
        session: &Session,
        mailbox: &str,
        scope: ExpungeScope,
    ) -> impl Future<Output = Result<Expunged>> + Send;

    /// Copies messages into another mailbox of the account.
    fn copy(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> impl Future<Output = Result<Copied>> + Send;

    /// Moves messages: afterwards each is in `to` and not in `from`, never both or neither.
    fn move_messages(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> impl Future<Output = Result<Copied>> + Send;

    /// What changed after `since` (0 for everything).
    fn changes_since(
        &self,
        session: &Session,
        mailbox: &str,
        since: u64,
    ) -> impl Future<Output = Result<Changes>> + Send;

    /// Claims the mailbox's `\Recent` messages for this session (IMAP4rev1 SELECT): returns
    /// them, and no later call returns them again.
    fn take_recent(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Vec<Uid>>> + Send;

    /// Subscribes to the mailbox's changes made by every other session.
    fn watch(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Subscription>> + Send;

    /// Subscribes to the changes other sessions make to every mailbox of the account and
    /// to its mailbox list (created, deleted, renamed, (un)subscribed): what IMAP NOTIFY
    /// reports.
    fn watch_account(&self, session: &Session)
    -> impl Future<Output = Result<Subscription>> + Send;

    /// Opens the account's INBOX as a POP3 maildrop under an exclusive lease of `lease_for`.
    /// While another session's lease is live this fails with
    /// [`StoreError::InUse`].
    fn pop3_open(
        &self,
        session: &Session,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Maildrop>> + Send;

    /// Extends a lease (call it on activity so a long session keeps the maildrop).
    fn pop3_renew(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Pop3Lease>> + Send;

    /// Reads one message of the maildrop (RETR/TOP), optionally setting `\Seen`.
    fn pop3_retrieve(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        uid: Uid,
        mark_seen: bool,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// Deletes the messages marked with DELE and releases the lease (QUIT in UPDATE state).
    /// Messages already gone are counted, not an error.
    fn pop3_commit(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> impl Future<Output = Result<Pop3Committed>> + Send;

    /// Releases the lease without deleting anything (connection lost).
    fn pop3_release(
        &self,
        session: &Session,
        lease: &Pop3Lease,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Delivers one message to several recipients (SMTP/LMTP), one result per recipient in
    /// order. Each recipient's copy is durable when its result is `Ok`.
    fn deliver(
        &self,
        message: Upload,
        recipients: &[Recipient],
    ) -> impl Future<Output = Vec<Result<Delivered>>> + Send;

    /// The mailbox's URLAUTH access key (RFC 4467 §7), `None` while it has none (never made,
    /// or reset since). [`StoreError::NoSuchMailbox`] if the mailbox does not exist.
    fn access_key(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<Option<AccessKey>>> + Send;

    /// The mailbox's access key, made from fresh random octets and stored durably first if
    /// it has none. Concurrent calls agree on one key.
    fn make_access_key(
        &self,
        session: &Session,
        mailbox: &str,
    ) -> impl Future<Output = Result<AccessKey>> + Send;

    /// Forgets access keys (RESETKEY): the mailbox's, or with `None` those of every mailbox of
    /// the account. URLs authorized with them no longer verify; the next
    /// [`make_access_key`](Self::make_access_key) makes a new key. A deleted mailbox's key
    /// goes with it.
    fn reset_access_keys(
        &self,
        session: &Session,
        mailbox: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// `content` of message `uid`, fetched: the default of the reads that have their own path
/// in the embedded backends.
async fn content_of<S: MailStore + ?Sized>(
    store: &S,
    session: &Session,
    mailbox: &str,
    uid: Uid,
    content: Content,
) -> Result<Vec<u8>> {
    let uids: UidSet = std::iter::once(uid).collect();
    let query = FetchQuery {
        content: Some(content),
        ..FetchQuery::default()
    };
    store
        .fetch(session, mailbox, &uids, query)
        .await?
        .into_iter()
        .find(|m| m.uid == uid)
        .and_then(|m| m.content)
        .ok_or(StoreError::NoSuchMessage(uid.get()))
}
