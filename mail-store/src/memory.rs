//! The in-memory backend, for tests and embedding. Nothing survives the process.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
};

use crate::{
    access_key::AccessKey,
    engine::{
        AccountMeta, Arrival, Backend, DeliveryMark, Engine, Handle, Header, Loaded, MailboxState,
        MessageMeta, Part, Purpose, RangeRead, Record, impl_mail_store, lock,
    },
    error::Result,
    mime::MimeInfo,
    reader::{ReadAt, piece},
    types::{AccountName, Flags},
    upload::Upload,
};

/// A message held in memory.
#[derive(Debug)]
pub struct MemBlob {
    data: Vec<u8>,
    mime: Arc<MimeInfo>,
}

#[derive(Debug, Default)]
struct Mem {
    /// URLAUTH access keys by account and mailbox.
    access_keys: Mutex<HashMap<(AccountName, String), AccessKey>>,
}

impl Backend for Mem {
    type Blob = Arc<MemBlob>;

    fn check_name(&self, _name: &str) -> Result<()> {
        Ok(())
    }
    fn upload(&self) -> Upload {
        Upload::in_memory()
    }
    fn load_account(&self, _account: &AccountName) -> Result<Option<Loaded<Self::Blob>>> {
        // Accounts live only in the engine's map: one it has not seen does not exist.
        Ok(None)
    }
    fn create_account(&self, _: &AccountName, _: &AccountMeta, _: &Header) -> Result<()> {
        Ok(())
    }
    fn save_meta(&self, _: &AccountName, _: &AccountMeta) -> Result<()> {
        Ok(())
    }
    fn save_subscriptions(&self, _: &AccountName, _: &BTreeSet<String>) -> Result<()> {
        Ok(())
    }
    fn create_mailbox(&self, _: &AccountName, _: &str, _: &Header) -> Result<()> {
        Ok(())
    }
    fn load_access_key(&self, account: &AccountName, mailbox: &str) -> Result<Option<AccessKey>> {
        let keys = lock(&self.access_keys);
        Ok(keys.get(&(account.clone(), mailbox.to_owned())).cloned())
    }
    fn save_access_key(
        &self,
        account: &AccountName,
        mailbox: &str,
        key: Option<&AccessKey>,
    ) -> Result<()> {
        let mut keys = lock(&self.access_keys);
        let at = (account.clone(), mailbox.to_owned());
        match key {
            Some(k) => keys.insert(at, k.clone()),
            None => keys.remove(&at),
        };
        Ok(())
    }
    fn delete_mailbox(&self, account: &AccountName, name: &str) -> Result<()> {
        lock(&self.access_keys).remove(&(account.clone(), name.to_owned()));
        Ok(())
    }
    fn rename_mailbox(&self, account: &AccountName, from: &str, to: &str) -> Result<()> {
        // The key goes with the mailbox, as a Maildir folder's file does.
        let mut keys = lock(&self.access_keys);
        if let Some(k) = keys.remove(&(account.clone(), from.to_owned())) {
            keys.insert((account.clone(), to.to_owned()), k);
        }
        Ok(())
    }
    fn write_message(
        &self,
        _: &AccountName,
        _: &str,
        upload: &mut Upload,
        mime: &MimeInfo,
        _: &MessageMeta<()>,
        _: Arrival,
    ) -> Result<Self::Blob> {
        Ok(Arc::new(MemBlob {
            data: upload.bytes()?.into_owned(),
            mime: Arc::new(mime.clone()),
        }))
    }
    fn copy_message(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: &str,
        _: &MessageMeta<()>,
    ) -> Result<Self::Blob> {
        Ok(Arc::clone(blob))
    }
    fn plan_move(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: &str,
        _: &MessageMeta<()>,
    ) -> Result<Self::Blob> {
        Ok(Arc::clone(blob))
    }
    fn begin_delivery(&self, _: &[(&AccountName, &str, &Self::Blob)]) -> Result<DeliveryMark> {
        Ok(DeliveryMark(None))
    }
    fn end_delivery(&self, _: DeliveryMark) {}
    fn discard(&self, _: &AccountName, _: &str, _: &Self::Blob) {}
    fn plan_flags(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: &Flags,
    ) -> Result<Self::Blob> {
        Ok(Arc::clone(blob))
    }
    fn read_message(&self, _: &AccountName, _: &str, blob: &Self::Blob) -> Result<Vec<u8>> {
        Ok(blob.data.clone())
    }
    fn read_mime(&self, _: &AccountName, _: &str, blob: &Self::Blob) -> Result<Arc<MimeInfo>> {
        Ok(Arc::clone(&blob.mime))
    }
    fn commit(&self, _: &AccountName, _: &[Part<'_, Self::Blob>], _: Purpose) -> Result<()> {
        Ok(())
    }
    fn applied(&self, _: &AccountName, _: &str, _: &MailboxState<Self::Blob>) {}
    fn refresh(
        &self,
        _: &AccountName,
        _: &str,
        _: &MailboxState<Self::Blob>,
    ) -> Result<Vec<Record<Self::Blob>>> {
        Ok(Vec::new())
    }
}

impl RangeRead for Mem {
    fn read_range(
        &self,
        _: &AccountName,
        _: &str,
        blob: &Self::Blob,
        _: u64,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        Ok(piece(&blob.data, offset, len))
    }

    fn open(&self, _: &AccountName, _: &str, blob: &Self::Blob, _: u64) -> Result<Box<dyn ReadAt>> {
        Ok(Box::new(SharedBlob(Arc::clone(blob))))
    }
}

/// A message's octets, shared with the store: an expunge drops the store's reference only.
struct SharedBlob(Arc<MemBlob>);

impl ReadAt for SharedBlob {
    fn read_at(&mut self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        Ok(piece(&self.0.data, offset, len))
    }
}

/// The in-memory store. Its hierarchy delimiter is `/`.
///
/// Operations run on the calling task (they only take a mutex for a short time), so it
/// needs no executor.
pub struct MemoryStore {
    handle: Handle<Mem>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            handle: Handle::new(Engine::new(Mem::default(), '/'), None),
        }
    }
}

impl_mail_store!(MemoryStore, handle);
