//! URLAUTH access keys (RFC 4467 §7): one row per mailbox in `mailbox_access_keys`, removed
//! with its mailbox (`ON DELETE CASCADE`); a rename keeps the row, as the mailbox keeps its id.

use super::{
    Inner,
    db::{R, commit, execute, query_opt},
};
use crate::{access_key::AccessKey, error::StoreError, types::Session};

const SELECT_KEY: &str = "SELECT key FROM mailbox_access_keys WHERE mailbox_id = $1";

fn key_of(bytes: &[u8]) -> R<AccessKey> {
    AccessKey::from_bytes(bytes).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "an access key of {} octets, not {}",
            bytes.len(),
            AccessKey::LEN
        ))
        .into()
    })
}

impl Inner {
    pub async fn access_key(&self, s: &Session, name: &str) -> R<Option<AccessKey>> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        let mb = self.mailbox(&c, s.account(), &name, false).await?;
        match query_opt(&c, SELECT_KEY, &[&mb.id]).await? {
            Some(row) => Ok(Some(key_of(row.try_get(0)?)?)),
            None => Ok(None),
        }
    }

    pub async fn make_access_key(&self, s: &Session, name: &str) -> R<AccessKey> {
        let name = self.canonical(name)?;
        let fresh = AccessKey::random()?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let mb = self.mailbox(&tx, s.account(), &name, false).await?;
        // Two nodes making the first key of a mailbox at once: the first insert wins and
        // both read its key.
        execute(
            &tx,
            "INSERT INTO mailbox_access_keys (mailbox_id, key) VALUES ($1, $2) \
             ON CONFLICT (mailbox_id) DO NOTHING",
            &[&mb.id, &&fresh.as_bytes()[..]],
        )
        .await?;
        let row = query_opt(&tx, SELECT_KEY, &[&mb.id])
            .await?
            .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
        let key = key_of(row.try_get(0)?)?;
        commit(tx).await?;
        Ok(key)
    }

    pub async fn reset_access_keys(&self, s: &Session, name: Option<&str>) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        match name {
            Some(name) => {
                let name = self.canonical(name)?;
                let mb = self.mailbox(&tx, s.account(), &name, false).await?;
                execute(
                    &tx,
                    "DELETE FROM mailbox_access_keys WHERE mailbox_id = $1",
                    &[&mb.id],
                )
                .await?;
            }
            None => {
                let account = self.account_id(&tx, s.account()).await?;
                execute(
                    &tx,
                    "DELETE FROM mailbox_access_keys WHERE mailbox_id IN \
                     (SELECT id FROM mailboxes WHERE account_id = $1)",
                    &[&account],
                )
                .await?;
            }
        }
        commit(tx).await?;
        Ok(())
    }
}
