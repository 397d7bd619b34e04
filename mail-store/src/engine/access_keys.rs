//! URLAUTH access keys (RFC 4467 §7) over the backend's storage: looked up, made once,
//! forgotten.

use super::{Backend, Engine, lock};
use crate::{access_key::AccessKey, error::Result, types::Session};

impl<K: Backend> Engine<K> {
    pub fn access_key(&self, s: &Session, mailbox: &str) -> Result<Option<AccessKey>> {
        let name = self.canonical(mailbox)?;
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        self.backend.load_access_key(s.account(), &name)
    }

    pub fn make_access_key(&self, s: &Session, mailbox: &str) -> Result<AccessKey> {
        let name = self.canonical(mailbox)?;
        let a = self.account(s.account())?;
        // The account's lock makes look-up and creation one step: one key per mailbox.
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        if let Some(key) = self.backend.load_access_key(s.account(), &name)? {
            return Ok(key);
        }
        let key = AccessKey::random()?;
        self.backend
            .save_access_key(s.account(), &name, Some(&key))?;
        Ok(key)
    }

    pub fn reset_access_keys(&self, s: &Session, mailbox: Option<&str>) -> Result<()> {
        let a = self.account(s.account())?;
        let mut acct = lock(&a);
        let names = match mailbox {
            Some(m) => {
                let name = self.canonical(m)?;
                acct.mailbox(&name)?;
                vec![name]
            }
            None => acct.mailboxes.keys().cloned().collect(),
        };
        for name in names {
            self.backend.save_access_key(s.account(), &name, None)?;
        }
        Ok(())
    }
}
