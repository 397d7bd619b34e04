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

/// Persistence for the engine. Every method is blocking and may do I/O.
pub(crate) trait Backend: Send + Sync + 'static {
    type Blob: Clone + Send + Sync + fmt::Debug + 'static;

    /// Extra rules for mailbox names (characters the backend cannot store).
    fn check_name(&self, name: &str) -> Result<()>;
    fn upload(&self) -> Upload;
    fn load_account(&self, account: &AccountName) -> Result<Option<Loaded<Self::Blob>>>;
    fn create_account(
        &self,
        account: &AccountName,
        meta: &AccountMeta,
        inbox: &Header,
    ) -> Result<()>;
    fn save_meta(&self, account: &AccountName, meta: &AccountMeta) -> Result<()>;
    fn save_subscriptions(&self, account: &AccountName, subs: &BTreeSet<String>) -> Result<()>;
    fn create_mailbox(&self, account: &AccountName, name: &str, header: &Header) -> Result<()>;
    fn delete_mailbox(&self, account: &AccountName, name: &str) -> Result<()>;
    fn rename_mailbox(&self, account: &AccountName, from: &str, to: &str) -> Result<()>;
    /// Stores a message durably (but not yet indexed).
    fn write_message(
        &self,
        account: &AccountName,
        mailbox: &str,
        upload: &mut Upload,
        mime: &MimeInfo,
        meta: &MessageMeta<()>,
        arrival: Arrival,
    ) -> Result<Self::Blob>;
    fn copy_message(
        &self,
        account: &AccountName,
        from: &str,
        blob: &Self::Blob,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<Self::Blob>;
    fn move_message(
        &self,
        account: &AccountName,
        from: &str,
        blob: &Self::Blob,
        to: &str,
        meta: &MessageMeta<()>,
    ) -> Result<Self::Blob>;
    /// Undoes a `write_message`/`copy_message` whose transaction failed.
    fn discard(&self, account: &AccountName, mailbox: &str, blob: &Self::Blob);
    fn set_flags(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
        flags: &Flags,
    ) -> Result<Self::Blob>;
    /// Removes a message's octets; a message already gone is not an error.
    fn remove_message(&self, account: &AccountName, mailbox: &str, blob: &Self::Blob)
    -> Result<()>;
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
    /// Makes a transaction durable; the engine applies it afterwards.
    fn commit(
        &self,
        account: &AccountName,
        mailbox: &str,
        records: &[Record<Self::Blob>],
    ) -> Result<()>;
    /// Called after a transaction was applied (the Maildir backend compacts its journal).
    fn applied(&self, account: &AccountName, mailbox: &str, state: &MailboxState<Self::Blob>);
    /// Changes made to the mailbox by other programs since the last call.
    fn refresh(
        &self,
        account: &AccountName,
        mailbox: &str,
        state: &MailboxState<Self::Blob>,
    ) -> Result<Vec<Record<Self::Blob>>>;
}
