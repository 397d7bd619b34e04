//! The [`MailStore`] implementation: each call copies what it borrows, runs on the store's
//! runtime as one transaction (again if it lost a conflict with a concurrent one), and
//! resolves once it committed.

use std::{sync::Arc, time::Duration};

use super::{
    PostgresStore,
    blobs::Prepared,
    db::{DbError, retry},
    messages::NewMessage,
};
use crate::{
    access_key::AccessKey,
    error::{Result, StoreError},
    model::{
        AppendItem, Appended, Changes, Copied, Delivered, ExpungeScope, Expunged, FetchQuery,
        FetchedMessage, ListScope, MailboxInfo, Maildrop, Pop3Committed, Pop3Lease, QuotaLimits,
        QuotaReport, Recipient, Status, StoreResult,
    },
    notify::Subscription,
    reader::MessageReader,
    search::{SearchHit, SearchQuery},
    store::MailStore,
    types::{AccountName, FlagOp, InternalDate, ModSeq, Session, SpecialUse, Uid, UidSet},
    upload::Upload,
};

/// Reads and prepares uploads off the runtime's worker threads (a spooled upload is a file).
async fn prepare(items: Vec<AppendItem>) -> Result<Vec<NewMessage>> {
    tokio::task::spawn_blocking(move || {
        items
            .into_iter()
            .map(|mut i| {
                Ok(NewMessage {
                    blob: Arc::new(
                        Prepared::from_upload(&mut i.data).map_err(DbError::into_store)?,
                    ),
                    flags: i.flags,
                    date: i.internal_date.unwrap_or_else(InternalDate::now),
                })
            })
            .collect()
    })
    .await
    .map_err(|_| StoreError::WorkerGone)?
}

impl MailStore for PostgresStore {
    fn hierarchy_delimiter(&self) -> char {
        self.inner.delimiter
    }

    fn upload(&self) -> Upload {
        Upload::spilling_to(&self.spool_dir)
    }

    async fn create_account(&self, account: &AccountName) -> Result<()> {
        let a = account.clone();
        self.run(move |db| async move { retry(|| db.create_account(&a)).await })
            .await
    }

    async fn account_exists(&self, account: &AccountName) -> Result<bool> {
        let a = account.clone();
        self.run(move |db| async move { retry(|| db.account_exists(&a)).await })
            .await
    }

    async fn set_quota(&self, account: &AccountName, limits: QuotaLimits) -> Result<()> {
        let a = account.clone();
        self.write(account, move |db| async move {
            retry(|| db.set_quota(&a, limits)).await
        })
        .await
    }

    async fn quota(&self, session: &Session) -> Result<QuotaReport> {
        let s = session.clone();
        self.run(move |db| async move { retry(|| db.quota(&s)).await })
            .await
    }

    async fn check_quota(&self, session: &Session, octets: u64, messages: u64) -> Result<()> {
        let s = session.clone();
        self.run(move |db| async move { retry(|| db.check_quota_of(&s, octets, messages)).await })
            .await
    }

    async fn list(
        &self,
        session: &Session,
        pattern: &str,
        scope: ListScope,
    ) -> Result<Vec<MailboxInfo>> {
        let (s, p) = (session.clone(), pattern.to_owned());
        self.run(move |db| async move { retry(|| db.list(&s, &p, scope)).await })
            .await
    }

    async fn create_mailbox(
        &self,
        session: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.create_mailbox(&s, &n, special_use)).await
        })
        .await
    }

    async fn delete_mailbox(&self, session: &Session, name: &str) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.delete_mailbox(&s, &n)).await
        })
        .await
    }

    async fn rename_mailbox(&self, session: &Session, from: &str, to: &str) -> Result<()> {
        let (s, f, t) = (session.clone(), from.to_owned(), to.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.rename_mailbox(&s, &f, &t)).await
        })
        .await
    }

    async fn subscribe(&self, session: &Session, name: &str) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.subscribe(&s, &n, true)).await
        })
        .await
    }

    async fn unsubscribe(&self, session: &Session, name: &str) -> Result<()> {
        let (s, n) = (session.clone(), name.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.subscribe(&s, &n, false)).await
        })
        .await
    }

    async fn status(&self, session: &Session, mailbox: &str) -> Result<Status> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.run(move |db| async move { retry(|| db.status(&s, &m)).await })
            .await
    }

    async fn append(
        &self,
        session: &Session,
        mailbox: &str,
        items: Vec<AppendItem>,
    ) -> Result<Appended> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.run(move |db| async move {
            let items = prepare(items).await?;
            let _turn = db.write_turn(&[s.account()]).await?;
            retry(|| db.append(&s, &m, &items)).await
        })
        .await
    }

    async fn fetch(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: FetchQuery,
    ) -> Result<Vec<FetchedMessage>> {
        let (s, m, u) = (session.clone(), mailbox.to_owned(), uids.clone());
        self.run(move |db| async move { retry(|| db.fetch(&s, &m, &u, query)).await })
            .await
    }

    async fn read_range(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.run(move |db| async move { retry(|| db.read_range(&s, &m, uid, offset, len)).await })
            .await
    }

    /// Read a piece at a time as asked, from the message's blob (content-addressed, so no
    /// other message's octets can take its place): a blob is dropped with its last message,
    /// so an expunge meanwhile ends the reading with `NoSuchMessage`, but no message is held
    /// in memory whole.
    async fn open_message(
        &self,
        session: &Session,
        mailbox: &str,
        uid: Uid,
    ) -> Result<MessageReader> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        let (hash, size) = self
            .run(move |db| async move { retry(|| db.message_blob(&s, &m, uid)).await })
            .await?;
        let (inner, handle, hash) = (Arc::clone(&self.inner), self.handle.clone(), Arc::new(hash));
        Ok(MessageReader::from_pieces(
            size,
            Box::new(move |offset, len| {
                let (db, hash) = (Arc::clone(&inner), Arc::clone(&hash));
                let read = async move { retry(|| db.read_blob(&hash, uid, offset, len)).await };
                let spawned = handle.spawn(read);
                Box::pin(async move { spawned.await.unwrap_or(Err(StoreError::WorkerGone)) })
            }),
        ))
    }

    async fn search(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        query: &SearchQuery,
    ) -> Result<Vec<SearchHit>> {
        let (s, m, u, q) = (
            session.clone(),
            mailbox.to_owned(),
            uids.clone(),
            query.clone(),
        );
        let (mut hits, undecided) = self
            .run(move |db| async move { retry(|| db.search(&s, &m, &u, &q)).await })
            .await?;
        if !undecided.is_empty() {
            hits.extend(crate::search::scan(self, session, mailbox, &undecided, query).await?);
            hits.sort_unstable_by_key(|h| h.uid);
            hits.dedup_by_key(|h| h.uid);
        }
        Ok(hits)
    }

    async fn store_flags(
        &self,
        session: &Session,
        mailbox: &str,
        uids: &UidSet,
        op: FlagOp,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreResult> {
        let (s, m, u) = (session.clone(), mailbox.to_owned(), uids.clone());
        self.write(session.account(), move |db| async move {
            retry(|| db.store_flags(&s, &m, &u, &op, unchanged_since)).await
        })
        .await
    }

    async fn expunge(
        &self,
        session: &Session,
        mailbox: &str,
        scope: ExpungeScope,
    ) -> Result<Expunged> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.expunge(&s, &m, &scope)).await
        })
        .await
    }

    async fn copy(&self, session: &Session, from: &str, uids: &UidSet, to: &str) -> Result<Copied> {
        let (s, f, u, t) = (
            session.clone(),
            from.to_owned(),
            uids.clone(),
            to.to_owned(),
        );
        self.write(session.account(), move |db| async move {
            retry(|| db.copy_or_move(&s, &f, &u, &t, false)).await
        })
        .await
    }

    async fn move_messages(
        &self,
        session: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
    ) -> Result<Copied> {
        let (s, f, u, t) = (
            session.clone(),
            from.to_owned(),
            uids.clone(),
            to.to_owned(),
        );
        self.write(session.account(), move |db| async move {
            retry(|| db.copy_or_move(&s, &f, &u, &t, true)).await
        })
        .await
    }

    async fn changes_since(&self, session: &Session, mailbox: &str, since: u64) -> Result<Changes> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.run(move |db| async move { retry(|| db.changes_since(&s, &m, since)).await })
            .await
    }

    async fn take_recent(&self, session: &Session, mailbox: &str) -> Result<Vec<Uid>> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.take_recent(&s, &m)).await
        })
        .await
    }

    async fn watch(&self, session: &Session, mailbox: &str) -> Result<Subscription> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.run(move |db| async move { retry(|| db.watch(&s, &m)).await })
            .await
    }

    async fn watch_account(&self, session: &Session) -> Result<Subscription> {
        let s = session.clone();
        self.run(move |db| async move { retry(|| db.watch_account(&s)).await })
            .await
    }

    async fn pop3_open(&self, session: &Session, lease_for: Duration) -> Result<Maildrop> {
        let s = session.clone();
        self.write(session.account(), move |db| async move {
            retry(|| db.pop3_open(&s, lease_for)).await
        })
        .await
    }

    async fn pop3_renew(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        lease_for: Duration,
    ) -> Result<Pop3Lease> {
        let (s, l) = (session.clone(), lease.clone());
        self.write(session.account(), move |db| async move {
            retry(|| db.pop3_renew(&s, &l, lease_for)).await
        })
        .await
    }

    async fn pop3_retrieve(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        uid: Uid,
        mark_seen: bool,
    ) -> Result<Vec<u8>> {
        let (s, l) = (session.clone(), lease.clone());
        self.write(session.account(), move |db| async move {
            retry(|| db.pop3_retrieve(&s, &l, uid, mark_seen)).await
        })
        .await
    }

    async fn pop3_commit(
        &self,
        session: &Session,
        lease: &Pop3Lease,
        deleted: &[Uid],
    ) -> Result<Pop3Committed> {
        let (s, l, d) = (session.clone(), lease.clone(), deleted.to_vec());
        self.write(session.account(), move |db| async move {
            retry(|| db.pop3_commit(&s, &l, &d)).await
        })
        .await
    }

    async fn pop3_release(&self, session: &Session, lease: &Pop3Lease) -> Result<()> {
        let (s, l) = (session.clone(), lease.clone());
        self.write(session.account(), move |db| async move {
            retry(|| db.pop3_release(&s, &l)).await
        })
        .await
    }

    async fn access_key(&self, session: &Session, mailbox: &str) -> Result<Option<AccessKey>> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.run(move |db| async move { retry(|| db.access_key(&s, &m)).await })
            .await
    }

    async fn make_access_key(&self, session: &Session, mailbox: &str) -> Result<AccessKey> {
        let (s, m) = (session.clone(), mailbox.to_owned());
        self.write(session.account(), move |db| async move {
            retry(|| db.make_access_key(&s, &m)).await
        })
        .await
    }

    async fn reset_access_keys(&self, session: &Session, mailbox: Option<&str>) -> Result<()> {
        let (s, m) = (session.clone(), mailbox.map(str::to_owned));
        self.write(session.account(), move |db| async move {
            retry(|| db.reset_access_keys(&s, m.as_deref())).await
        })
        .await
    }

    async fn deliver(&self, message: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        let rcpts = recipients.to_vec();
        let n = rcpts.len();
        let res = self
            .run(move |db| async move {
                let item = AppendItem::new(message);
                let mut prepared = prepare(vec![item]).await?;
                let Some(m) = prepared.pop() else {
                    return Err(StoreError::InvalidArgument("nothing to deliver"));
                };
                let accounts: Vec<&AccountName> = rcpts.iter().map(|r| &r.account).collect();
                let _turn = db.write_turn(&accounts).await?;
                retry(|| db.deliver(&m.blob, m.date, &rcpts)).await
            })
            .await;
        match res {
            Ok(results) => results,
            Err(e) => {
                let text = e.to_string();
                let temporary = e.is_temporary();
                (0..n)
                    .map(|_| {
                        Err(if temporary {
                            StoreError::Io(std::io::Error::other(text.clone()))
                        } else {
                            StoreError::Corrupt(text.clone())
                        })
                    })
                    .collect()
            }
        }
    }
}
