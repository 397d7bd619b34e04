//! The persistence contract: what a backend does for the engine, and what it hands back
//! when it opens an account.

use std::{
    collections::BTreeSet,
    fmt,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use super::state::{Header, MailboxState, MessageMeta, Record};
use crate::{
    access_key::AccessKey,
    error::Result,
    mime::MimeInfo,
    model::QuotaLimits,
    types::{AccountName, Flags, UidValidity},
    upload::Upload,
};

/// Account-wide values that a backend persists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountMeta {
    /// The last UIDVALIDITY handed out in this account; new ones are always larger.
    pub last_uidvalidity: u32,
    #[serde(default)]
    pub quota: QuotaLimits,
}

impl AccountMeta {
    /// A UIDVALIDITY larger than any this account handed out, time-based when possible.
    pub fn next_uidvalidity(&mut self) -> UidValidity {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let v = now.max(self.last_uidvalidity.saturating_add(1)).max(1);
        self.last_uidvalidity = v;
        UidValidity::new(v).unwrap_or(UidValidity::MIN)
    }
}

/// What a backend finds when it opens an account.
pub(crate) struct Loaded<B> {
    pub mailboxes: Vec<(String, MailboxState<B>)>,
    pub subscriptions: BTreeSet<String>,
    pub meta: AccountMeta,
}

/// Where a backend puts a message it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Appended by a client that saw it (Maildir `cur/`).
    Append,
    /// Delivered by SMTP/LMTP (Maildir `new/`).
    Delivery,
}

/// How much of the room a backend keeps for deletions on a full disk a transaction may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Adding or changing: must leave the room kept for deleting.
    Ordinary,
    /// Deleting, or how clients delete (`\Deleted`, EXPUNGE, MOVE, POP3 QUIT): may use all
    /// of it.
    Deleting,
}

/// One mailbox's records in a transaction.
pub(crate) type Part<'a, B> = (&'a str, &'a [Record<B>]);

/// What a backend keeps while the copies of one delivery are committed (the Maildir
/// backend's marker file); see [`Backend::begin_delivery`].
pub(crate) struct DeliveryMark(pub Option<std::path::PathBuf>);

/// The default of [`Backend::expunge_history`]: at most 256 KiB of history a mailbox.
pub(crate) const DEFAULT_EXPUNGE_HISTORY: usize = 16_384;

/// Persistence for the engine. Every method is blocking and may do I/O.
///
/// A transaction is prepared first (new octets staged where no reader sees them, new
/// locations planned) and then committed: [`commit`](Self::commit) makes its records durable
/// in one step and only then moves, renames or removes message octets, so a transaction that
/// fails changed nothing and one that was committed is carried out, by recovery if a crash
/// interrupted it.
pub(crate) trait Backend: Send + Sync + 'static {
    type Blob: Clone + Send + Sync + fmt::Debug + 'static;

    /// Extra rules for mailbox names (characters the backend cannot store).
    fn check_name(&self, name: &str) -> Result<()>;
    /// [`MailStore::changed_from_outside`](crate::MailStore::changed_from_outside).
    fn changed_from_outside(&self) -> bool {
        false
    }
    fn upload(&self) -> Upload;
    fn load_account(&self, account: &AccountName) -> Result<Option<Loaded<Self::Blob>>>;
    /// At most how many accounts the engine keeps loaded; past it, it unloads those no call
    /// is using ([`unload_accounts`](Self::unload_accounts)). `None` (the default): every
    /// account it ever loaded, for a backend that keeps accounts nowhere else.
    fn max_loaded_accounts(&self) -> Option<usize> {
        None
    }
    /// How many expunges each mailbox remembers with their modseqs
    /// ([`MailboxState::trim_expunged`]); asked about older ones, the engine answers with a
    /// superset.
    fn expunge_history(&self) -> usize {
        DEFAULT_EXPUNGE_HISTORY
    }
    /// Lets go of what the backend holds for accounts the engine unloads, which no call is
    /// using (open files, locks), or for one whose load failed: a later
    /// [`load_account`](Self::load_account) loads one as a new process would. Returns those
    /// it could not let go of (they stay loaded).
    fn unload_accounts(&self, _accounts: &[AccountName]) -> Vec<AccountName> {
        Vec::new()
    }
    fn create_account(
        &self,
        account: &AccountName,
        meta: &AccountMeta,
        inbox: &Header,
    ) -> Result<()>;
    fn save_meta(&self, account: &AccountName, meta: &AccountMeta) -> Result<()>;
    fn save_subscriptions(&self, account: &AccountName, subs: &BTreeSet<String>) -> Result<()>;
    /// The mailbox's URLAUTH access key, if it has one.
    fn load_access_key(&self, account: &AccountName, mailbox: &str) -> Result<Option<AccessKey>>;
    /// Stores the mailbox's access key durably, or removes it (`None`). A key goes with its
    /// mailbox when [`delete_mailbox`](Self::delete_mailbox) removes it.
    fn save_access_key(
        &self,
        account: &AccountName,
        mailbox: &str,
        key: Option<&AccessKey>,
    ) -> Result<()>;
    fn create_mailbox(&self, account: &AccountName, name: &str, header: &Header) -> Result<()>;
    fn delete_mailbox(&self, account: &AccountName, name: &str) -> Result<()>;
    fn rename_mailbox(&self, account: &AccountName, from: &str, to: &str) -> Result<()>;
    /// Stages a message durably where no reader sees it; committing its `Append` record puts
    /// it in place, [`discard`](Self::discard) removes it.
    fn write_message(
        &self,
        account: &AccountName,
        mailbox: &str,
        upload: &mut Upload,
        mime: &MimeInfo,
        meta: &MessageMeta<()>,
        arrival: Arrival,
    ) -> Result<Self::Blob>;
    /// Stages a copy of a message into `to`, as [`write_message`](Self::write_message) does.
    fn copy_message(
        &self,
        account: &AccountName,
        from: &str,
        blob: &Self::Blob,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<Self::Blob>;
    /// Where a message moved from `from` to `to` will be; committing the source's `Expunge`
    /// record with `to` moves it there.
    fn plan_move(
        &self,
        account: &AccountName,
        from: &str,
        blob: &Self::Blob,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<Self::Blob>;
    /// Makes the copies of one message staged for several mailboxes (and accounts) one
    /// delivery: from now on, if the process dies before each is committed, recovery puts
    /// every one of them in place. [`end_delivery`](Self::end_delivery) once each copy was
    /// committed or discarded.
    fn begin_delivery(&self, copies: &[(&AccountName, &str, &Self::Blob)]) -> Result<DeliveryMark>;
    fn end_delivery(&self, mark: DeliveryMark);
    /// Makes what `write_message`/`copy_message` staged for `mailbox` durable where it is
    /// (Maildir: one fsync of `tmp/` for whatever was staged before it). [`commit`] does so
    /// for the messages it appends, once for a whole group of arrivals; the engine calls it
    /// itself only before [`begin_delivery`] names the copies.
    ///
    /// [`commit`]: Self::commit
    /// [`begin_delivery`]: Self::begin_delivery
    fn sync_staged(&self, _account: &AccountName, _mailbox: &str) -> Result<()> {
        Ok(())
    }
    /// Removes what `write_message`/`copy_message` staged for a transaction that failed.
    fn discard(&self, account: &AccountName, mailbox: &str, blob: &Self::Blob);
    /// The blob of a message once its flags are `flags`; committing the `Flags` record (with
    /// the old blob as `from`) makes the change.
    fn plan_flags(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
        flags: &Flags,
    ) -> Result<Self::Blob>;
    fn read_message(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
    ) -> Result<Vec<u8>>;
    fn read_mime(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
    ) -> Result<Arc<MimeInfo>>;
    /// Makes a transaction durable, every part or none (the messages it appends included,
    /// where they were staged), then carries out what its records say about message octets.
    /// The engine applies it afterwards. An `Err` means nothing changed.
    fn commit(
        &self,
        account: &AccountName,
        parts: &[Part<'_, Self::Blob>],
        purpose: Purpose,
    ) -> Result<()>;
    /// Called after a transaction was applied (the Maildir backend compacts its journal).
    fn applied(&self, account: &AccountName, mailbox: &str, state: &MailboxState<Self::Blob>);
    /// Mailboxes other programs created or removed since the account was loaded (Maildir++
    /// folders that maildrop, mutt or mbsync made): those not among `known`, opened, and the
    /// names among `known` that are gone. The engine asks before LIST and when a name it
    /// does not know is used.
    #[allow(clippy::type_complexity)]
    fn discover(
        &self,
        account: &AccountName,
        known: &BTreeSet<String>,
        meta: &mut AccountMeta,
    ) -> Result<(Vec<(String, MailboxState<Self::Blob>)>, Vec<String>)> {
        let _ = (account, known, meta);
        Ok((Vec::new(), Vec::new()))
    }
    /// A message's octets were found gone (another program removed the file): the next
    /// [`Backend::refresh`] looks at the mailbox again, whatever it thinks changed.
    fn rescan(&self, account: &AccountName, mailbox: &str) {
        let _ = (account, mailbox);
    }
    /// Changes made to the mailbox by other programs since the last call, already recorded
    /// by the backend (or kept to be recorded first at the next commit): the engine applies
    /// them.
    fn refresh(
        &self,
        account: &AccountName,
        mailbox: &str,
        state: &MailboxState<Self::Blob>,
    ) -> Result<Vec<Record<Self::Blob>>>;
}
