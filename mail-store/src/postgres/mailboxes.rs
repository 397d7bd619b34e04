//! Accounts, quota, the mailbox tree and subscriptions.

use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::GenericClient;

use super::{
    Inner,
    db::{R, commit, execute, query, query_opt},
};
use crate::{
    error::StoreError,
    model::{ListScope, MailboxInfo, QuotaLimits, QuotaReport, QuotaResource, QuotaResourceName},
    notify::ChangeKind,
    types::{AccountName, Session, SpecialUse, UidSet},
};

fn limit(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Inner {
    pub async fn create_account(&self, account: &AccountName) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = query_opt(
            &tx,
            "INSERT INTO accounts (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&account.as_str()],
        )
        .await?
        .ok_or(StoreError::AccountExists)?;
        let id: i64 = row.try_get(0)?;
        let uidvalidity = self.next_uidvalidity(&tx, id).await?;
        execute(
            &tx,
            "INSERT INTO mailboxes (account_id, name, uidvalidity) VALUES ($1, 'INBOX', $2)",
            &[&id, &uidvalidity],
        )
        .await?;
        commit(tx).await?;
        self.cache_account(account, id);
        Ok(())
    }

    pub async fn account_exists(&self, account: &AccountName) -> R<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        match self.account_id(&tx, account).await {
            Ok(_) => Ok(true),
            Err(super::db::DbError::Store(StoreError::NoSuchAccount)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn set_quota(&self, account: &AccountName, limits: QuotaLimits) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let id = self.account_id(&tx, account).await?;
        execute(
            &tx,
            "UPDATE accounts SET quota_bytes = $2, quota_messages = $3 WHERE id = $1",
            &[&id, &limit(limits.storage_bytes), &limit(limits.messages)],
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// The account's limits and usage (octets, messages), in one snapshot.
    pub async fn usage(&self, tx: &impl GenericClient, account: i64) -> R<(QuotaLimits, u64, u64)> {
        let row = query_opt(
            tx,
            "SELECT a.quota_bytes, a.quota_messages, \
               (SELECT COALESCE(sum(m.size), 0)::bigint FROM messages m \
                  JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = a.id), \
               (SELECT count(*) FROM messages m \
                  JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = a.id) \
             FROM accounts a WHERE a.id = $1",
            &[&account],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        let bytes: Option<i64> = row.try_get(0)?;
        let messages: Option<i64> = row.try_get(1)?;
        Ok((
            QuotaLimits {
                storage_bytes: bytes.map(unsigned),
                messages: messages.map(unsigned),
            },
            unsigned(row.try_get(2)?),
            unsigned(row.try_get(3)?),
        ))
    }

    /// Fails with [`StoreError::OverQuota`] unless `bytes` and `messages` more fit. Call it
    /// with the account's row locked ([`lock_account`](Inner::lock_account)), so two
    /// transactions cannot both take the last room.
    pub async fn check_quota(
        &self,
        tx: &impl GenericClient,
        account: i64,
        bytes: u64,
        messages: u64,
    ) -> R<()> {
        let (limits, used_bytes, used_messages) = self.usage(tx, account).await?;
        if let Some(l) = limits.storage_bytes
            && used_bytes.saturating_add(bytes) > l
        {
            return Err(StoreError::OverQuota(QuotaResourceName::Storage).into());
        }
        if let Some(l) = limits.messages
            && used_messages.saturating_add(messages) > l
        {
            return Err(StoreError::OverQuota(QuotaResourceName::Message).into());
        }
        Ok(())
    }

    /// Whether the account has a quota (then adding messages locks its row and checks it).
    pub async fn has_quota(&self, tx: &impl GenericClient, account: i64) -> R<bool> {
        let row = query_opt(
            tx,
            "SELECT quota_bytes IS NOT NULL OR quota_messages IS NOT NULL FROM accounts \
             WHERE id = $1",
            &[&account],
        )
        .await?
        .ok_or(StoreError::NoSuchAccount)?;
        Ok(row.try_get(0)?)
    }

    /// [`MailStore::check_quota`](crate::MailStore::check_quota): one row read for an
    /// account without a quota, the usage summed only for one with.
    pub async fn check_quota_of(&self, s: &Session, octets: u64, messages: u64) -> R<()> {
        let c = self.client().await?;
        let id = self.account_id(&c, s.account()).await?;
        if !self.has_quota(&c, id).await? {
            return Ok(());
        }
        self.check_quota(&c, id, octets, messages).await
    }

    pub async fn quota(&self, s: &Session) -> R<QuotaReport> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let id = self.account_id(&tx, s.account()).await?;
        let (limits, bytes, count) = self.usage(&tx, id).await?;
        let mut resources = Vec::new();
        if let Some(limit) = limits.storage_bytes {
            resources.push(QuotaResource {
                name: QuotaResourceName::Storage,
                usage: bytes.div_ceil(1024),
                limit: limit / 1024,
            });
        }
        if let Some(limit) = limits.messages {
            resources.push(QuotaResource {
                name: QuotaResourceName::Message,
                usage: count,
                limit,
            });
        }
        Ok(QuotaReport {
            root: String::new(),
            resources,
            used_bytes: bytes,
            used_messages: count,
        })
    }

    pub async fn list(&self, s: &Session, pattern: &str, scope: ListScope) -> R<Vec<MailboxInfo>> {
        let mut c = self.client().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let id = self.account_id(&tx, s.account()).await?;
        let mut mailboxes = BTreeMap::new();
        for row in query(
            &tx,
            "SELECT name, special_use FROM mailboxes WHERE account_id = $1",
            &[&id],
        )
        .await?
        {
            let name: String = row.try_get(0)?;
            let role: Option<String> = row.try_get(1)?;
            mailboxes.insert(name, role.as_deref().and_then(SpecialUse::from_name));
        }
        let mut subs = BTreeSet::new();
        for row in query(
            &tx,
            "SELECT name FROM subscriptions WHERE account_id = $1",
            &[&id],
        )
        .await?
        {
            subs.insert(row.try_get::<_, String>(0)?);
        }
        commit(tx).await?;
        Ok(crate::names::list(
            &mailboxes,
            &subs,
            pattern,
            scope,
            self.delimiter,
        ))
    }

    /// Creates `name` and its missing parents inside `tx` (the account's row locked).
    async fn create_in(
        &self,
        tx: &impl GenericClient,
        s: &Session,
        account: i64,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> R<()> {
        let d = self.delimiter;
        let mut chain = Vec::new();
        let mut cut = name;
        while let Some(i) = cut.rfind(d) {
            cut = &cut[..i];
            chain.push(cut);
        }
        chain.reverse();
        for parent in chain {
            let exists = query_opt(
                tx,
                "SELECT 1 FROM mailboxes WHERE account_id = $1 AND name = $2",
                &[&account, &parent],
            )
            .await?
            .is_some();
            if !exists {
                let uv = self.next_uidvalidity(tx, account).await?;
                execute(
                    tx,
                    "INSERT INTO mailboxes (account_id, name, uidvalidity) VALUES ($1, $2, $3)",
                    &[&account, &parent, &uv],
                )
                .await?;
                self.notify(tx, s.account(), parent, s.id(), vec![ChangeKind::Created])
                    .await?;
            }
        }
        let uv = self.next_uidvalidity(tx, account).await?;
        let role = special_use.map(SpecialUse::as_str);
        let created = execute(
            tx,
            "INSERT INTO mailboxes (account_id, name, uidvalidity, special_use) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, name) DO NOTHING",
            &[&account, &name, &uv, &role],
        )
        .await?;
        if created == 0 {
            return Err(StoreError::MailboxExists(name.to_owned()).into());
        }
        self.notify(tx, s.account(), name, s.id(), vec![ChangeKind::Created])
            .await
    }

    pub async fn create_mailbox(
        &self,
        s: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> R<()> {
        let name = self.canonical(name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.lock_account(&tx, s.account()).await?;
        self.create_in(&tx, s, account, &name, special_use).await?;
        commit(tx).await?;
        Ok(())
    }

    pub async fn delete_mailbox(&self, s: &Session, name: &str) -> R<()> {
        let name = self.canonical(name)?;
        if name == "INBOX" {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted").into());
        }
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.lock_account(&tx, s.account()).await?;
        let mb = self.mailbox(&tx, s.account(), &name, true).await?;
        let prefix = format!("{name}{}", self.delimiter);
        let children = query_opt(
            &tx,
            "SELECT 1 FROM mailboxes WHERE account_id = $1 AND left(name, length($2)) = $2 \
             LIMIT 1",
            &[&account, &prefix],
        )
        .await?;
        if children.is_some() {
            return Err(StoreError::HasChildren(name).into());
        }
        let hashes: Vec<Vec<u8>> = query(
            &tx,
            "SELECT hash FROM messages WHERE mailbox_id = $1",
            &[&mb.id],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        execute(&tx, "DELETE FROM messages WHERE mailbox_id = $1", &[&mb.id]).await?;
        super::blobs::adjust(&tx, &hashes, -1).await?;
        execute(&tx, "DELETE FROM mailboxes WHERE id = $1", &[&mb.id]).await?;
        let uidvalidity = super::db::uidvalidity(mb.uidvalidity)?;
        self.notify(
            &tx,
            s.account(),
            &name,
            s.id(),
            vec![ChangeKind::Deleted { uidvalidity }],
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    pub async fn rename_mailbox(&self, s: &Session, from: &str, to: &str) -> R<()> {
        let from = self.canonical(from)?;
        let to = self.canonical(to)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.lock_account(&tx, s.account()).await?;
        self.mailbox(&tx, s.account(), &from, true).await?;
        let exists = |n: String| {
            let tx = &tx;
            async move {
                query_opt(
                    tx,
                    "SELECT 1 FROM mailboxes WHERE account_id = $1 AND name = $2",
                    &[&account, &n],
                )
                .await
                .map(|r| r.is_some())
            }
        };
        if to == "INBOX" || exists(to.clone()).await? {
            return Err(StoreError::MailboxExists(to).into());
        }
        // (INBOX's messages may move under it: its children stay where they are.)
        if from != "INBOX" && self.is_child(&to, &from) {
            return Err(StoreError::NotAllowed("cannot rename a mailbox into itself").into());
        }
        // Missing parents of the target come first, as CREATE makes them.
        if let Some(i) = to.rfind(self.delimiter) {
            let parent = &to[..i];
            if !exists(parent.to_owned()).await? {
                self.create_in(&tx, s, account, parent, None).await?;
            }
        }
        if from == "INBOX" {
            // RFC 3501 §6.3.5: INBOX's messages move to the new mailbox, INBOX stays (empty).
            self.create_in(&tx, s, account, &to, None).await?;
            let src = self.mailbox(&tx, s.account(), "INBOX", true).await?;
            let dst = self.mailbox(&tx, s.account(), &to, true).await?;
            self.transfer(&tx, s, ("INBOX", &src), (&to, &dst), &UidSet::all(), true)
                .await?;
            commit(tx).await?;
            return Ok(());
        }
        let prefix = format!("{from}{}", self.delimiter);
        let moving: Vec<String> = query(
            &tx,
            "SELECT name FROM mailboxes WHERE account_id = $1 \
             AND (name = $2 OR left(name, length($3)) = $3) ORDER BY name",
            &[&account, &from, &prefix],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        for old in &moving {
            let new = format!("{to}{}", &old[from.len()..]);
            if exists(new.clone()).await? {
                return Err(StoreError::MailboxExists(new).into());
            }
        }
        for old in moving {
            let new = format!("{to}{}", &old[from.len()..]);
            execute(
                &tx,
                "UPDATE mailboxes SET name = $3 WHERE account_id = $1 AND name = $2",
                &[&account, &old, &new],
            )
            .await?;
            self.notify(
                &tx,
                s.account(),
                &old,
                s.id(),
                vec![ChangeKind::Renamed { to: new }],
            )
            .await?;
        }
        commit(tx).await?;
        Ok(())
    }

    pub async fn subscribe(&self, s: &Session, name: &str, on: bool) -> R<()> {
        let name = self.canonical(name)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let account = self.account_id(&tx, s.account()).await?;
        let sql = if on {
            "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2"
        };
        if execute(&tx, sql, &[&account, &name]).await? > 0 {
            self.notify(
                &tx,
                s.account(),
                &name,
                s.id(),
                vec![ChangeKind::Subscribed { on }],
            )
            .await?;
        }
        commit(tx).await?;
        Ok(())
    }
}
