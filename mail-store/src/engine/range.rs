//! Reading part of a stored message, so that a large one is served in bounded pieces
//! ([`MailStore::read_range`](crate::MailStore::read_range)).

use super::{Backend, Engine, lock};
use crate::{
    error::{Result, StoreError},
    reader::ReadAt,
    types::{AccountName, Session, Uid},
};

/// A backend that reads part of a message without reading the rest.
pub(crate) trait RangeRead: Backend {
    /// Octets `offset..offset + len` of the message as it is served, which is `size` octets
    /// long (the index's size); the engine keeps `offset + len` within it.
    fn read_range(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
        size: u64,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>>;

    /// The message, `size` octets as served, opened so that reading it goes on working
    /// after it is expunged ([`MailStore::open_message`](crate::MailStore::open_message)).
    fn open(
        &self,
        account: &AccountName,
        mailbox: &str,
        blob: &Self::Blob,
        size: u64,
    ) -> Result<Box<dyn ReadAt>>;
}

impl<K: RangeRead> Engine<K> {
    pub fn read_range(
        &self,
        s: &Session,
        name: &str,
        uid: Uid,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        self.with_message(s, name, uid, |account, name, blob, size| {
            let left = size.saturating_sub(offset);
            let len = usize::try_from(left).map_or(len, |left| len.min(left));
            if len == 0 {
                return Ok(Vec::new());
            }
            self.backend
                .read_range(account, name, blob, size, offset, len)
        })
    }

    /// Message `uid` opened for reading, and its size as served.
    pub fn open_message(
        &self,
        s: &Session,
        name: &str,
        uid: Uid,
    ) -> Result<(Box<dyn ReadAt>, u64)> {
        self.with_message(s, name, uid, |account, name, blob, size| {
            Ok((self.backend.open(account, name, blob, size)?, size))
        })
    }

    /// `f` on message `uid`'s blob and size as served, under the account's lock: no expunge
    /// removes the message's file meanwhile.
    fn with_message<T>(
        &self,
        s: &Session,
        name: &str,
        uid: Uid,
        f: impl FnOnce(&AccountName, &str, &K::Blob, u64) -> Result<T>,
    ) -> Result<T> {
        let name = self.canonical(name)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        let mb = self.open(account, &mut acct, &name)?;
        let m = mb.get(uid).ok_or(StoreError::NoSuchMessage(uid.get()))?;
        f(account, &name, &m.blob, m.size)
    }
}
