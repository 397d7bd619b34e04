//! The mailbox tree: LIST, CREATE, DELETE, RENAME and subscriptions.

use std::collections::BTreeMap;

use super::{
    Backend, Engine, lock,
    state::{Header, MailboxState},
};
use crate::{
    error::{Result, StoreError},
    model::{ListScope, MailboxInfo},
    names,
    notify::ChangeKind,
    types::{Session, SpecialUse, UidSet},
};

impl<K: Backend> Engine<K> {
    pub fn list(&self, s: &Session, pattern: &str, scope: ListScope) -> Result<Vec<MailboxInfo>> {
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        self.discover(s.account(), &mut acct)?;
        let mailboxes: BTreeMap<String, Option<SpecialUse>> = acct
            .mailboxes
            .iter()
            .map(|(n, m)| (n.clone(), m.header.special_use))
            .collect();
        Ok(names::list(
            &mailboxes,
            &acct.subscriptions,
            pattern,
            scope,
            self.delimiter,
        ))
    }

    pub fn create_mailbox(
        &self,
        s: &Session,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<()> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        if !acct.mailboxes.contains_key(&name) {
            self.discover(s.account(), &mut acct)?;
        }
        if acct.mailboxes.contains_key(&name) {
            return Err(StoreError::MailboxExists(name));
        }
        let d = self.delimiter;
        let mut parents = Vec::new();
        let mut cut = name.as_str();
        while let Some(i) = cut.rfind(d) {
            cut = &cut[..i];
            if !acct.mailboxes.contains_key(cut) {
                parents.push(cut.to_owned());
            }
        }
        for (n, role) in parents
            .into_iter()
            .rev()
            .map(|p| (p, None))
            .chain(std::iter::once((name.clone(), special_use)))
        {
            let header = Header::new(acct.meta.next_uidvalidity(), role);
            self.backend.save_meta(s.account(), &acct.meta)?;
            self.backend.create_mailbox(s.account(), &n, &header)?;
            acct.mailboxes.insert(n.clone(), MailboxState::new(header));
            self.publish(s.account(), &n, s.id(), ChangeKind::Created);
        }
        Ok(())
    }

    pub fn delete_mailbox(&self, s: &Session, name: &str) -> Result<()> {
        let name = self.canonical(name)?;
        if name == "INBOX" {
            return Err(StoreError::NotAllowed("INBOX cannot be deleted"));
        }
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let uidvalidity = acct.mailbox(&name)?.header.uidvalidity;
        if acct.mailboxes.keys().any(|n| self.is_child(n, &name)) {
            return Err(StoreError::HasChildren(name));
        }
        self.backend.delete_mailbox(s.account(), &name)?;
        acct.mailboxes.remove(&name);
        self.publish(
            s.account(),
            &name,
            s.id(),
            ChangeKind::Deleted { uidvalidity },
        );
        Ok(())
    }

    pub fn rename_mailbox(&self, s: &Session, from: &str, to: &str) -> Result<()> {
        let from = self.canonical(from)?;
        let to = self.canonical(to)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&from)?;
        if acct.mailboxes.contains_key(&to) {
            return Err(StoreError::MailboxExists(to));
        }
        if to == "INBOX" {
            return Err(StoreError::MailboxExists(to));
        }
        // (INBOX's messages may move under it: its children stay where they are.)
        if from != "INBOX" && self.is_child(&to, &from) {
            return Err(StoreError::NotAllowed(
                "cannot rename a mailbox into itself",
            ));
        }
        drop(acct);
        // Missing parents of the target come first, as CREATE makes them.
        if let Some(i) = to.rfind(self.delimiter) {
            let parent = &to[..i];
            let exists = lock(&a).mailboxes.contains_key(parent);
            if !exists {
                self.create_mailbox(s, parent, None)?;
            }
        }
        let mut acct = lock(&a);
        if from == "INBOX" {
            // RFC 3501 §6.3.5: INBOX's messages move to the new mailbox, INBOX stays (empty).
            let header = Header::new(acct.meta.next_uidvalidity(), None);
            self.backend.save_meta(account, &acct.meta)?;
            self.backend.create_mailbox(account, &to, &header)?;
            acct.mailboxes.insert(to.clone(), MailboxState::new(header));
            self.publish(account, &to, s.id(), ChangeKind::Created);
            drop(acct);
            self.copy_or_move(s, "INBOX", &UidSet::all(), &to, true)?;
            return Ok(());
        }
        let moving: Vec<String> = acct
            .mailboxes
            .keys()
            .filter(|n| **n == from || self.is_child(n, &from))
            .cloned()
            .collect();
        for old in &moving {
            let new = format!("{to}{}", &old[from.len()..]);
            if acct.mailboxes.contains_key(&new) {
                return Err(StoreError::MailboxExists(new));
            }
        }
        for old in moving {
            let new = format!("{to}{}", &old[from.len()..]);
            self.backend.rename_mailbox(account, &old, &new)?;
            if let Some(mb) = acct.mailboxes.remove(&old) {
                acct.mailboxes.insert(new.clone(), mb);
            }
            self.publish(account, &old, s.id(), ChangeKind::Renamed { to: new });
        }
        Ok(())
    }

    pub fn subscribe(&self, s: &Session, name: &str, on: bool) -> Result<()> {
        let name = self.canonical(name)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let mut subs = acct.subscriptions.clone();
        let changed = if on {
            subs.insert(name.clone())
        } else {
            subs.remove(&name)
        };
        if changed {
            self.backend.save_subscriptions(s.account(), &subs)?;
            acct.subscriptions = subs;
            self.publish(s.account(), &name, s.id(), ChangeKind::Subscribed { on });
        }
        Ok(())
    }
}
