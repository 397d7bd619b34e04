//! Delivery (SMTP/LMTP): one message to several recipients, each copy committed in its own
//! account (with the arrivals queued there, [`super::arrivals`]), and the copies one unit
//! across a crash.
//!
//! Every copy is staged first (written where no reader sees it, without the account's
//! lock); a single copy is made durable by its commit, with the group it commits in. With
//! more than one, the copies are made durable where they are and the backend marks them as
//! one delivery ([`Backend::begin_delivery`]), and each is committed in its own account.
//! Should the process die in between, recovery puts the marked copies in place: a message
//! the client sent once arrives for every recipient or for none, whatever happened before
//! its answer. A copy that fails on its own (an account
//! over quota) fails alone; SMTP, which has one answer for all, takes the others back.

use super::{
    Arrival, Backend, Engine, SharedAccount, copy_of, messages::prepare, state::MessageMeta,
};
use crate::{
    error::{Result, StoreError},
    mime::MimeInfo,
    model::{Delivered, Recipient},
    types::{Flags, ModSeq, SessionId, Uid},
    upload::Upload,
};

/// A recipient's staged copy: its mailbox and blob, and its account, held from staging to
/// commit so that the account stays loaded in between (unloaded and loaded again, it would
/// take the copy in `tmp/` for one a crash abandoned).
type Staged<B> = (String, B, SharedAccount<B>);

impl<K: Backend> Engine<K> {
    pub fn deliver(&self, mut upload: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        let origin = SessionId::new();
        let prepared = match prepare(&mut upload, Uid::MIN, ModSeq::MIN, Flags::new(), None) {
            Ok(p) => p,
            Err(e) => return recipients.iter().map(|_| Err(copy_of(&e))).collect(),
        };
        let mut staged: Vec<Result<Staged<K::Blob>>> = recipients
            .iter()
            .map(|r| self.stage_delivery(&mut upload, &prepared, r))
            .collect();
        // Copies marked as one delivery are durable where they are before the mark names
        // them. A single copy is made so by its commit, with the group it commits in.
        if staged.iter().filter(|s| s.is_ok()).count() > 1 {
            for (r, s) in recipients.iter().zip(&mut staged) {
                if let Ok((mailbox, blob, _)) = s
                    && let Err(e) = self.backend.sync_staged(&r.account, mailbox)
                {
                    self.backend.discard(&r.account, mailbox, blob);
                    *s = Err(e);
                }
            }
        }
        let marked: Vec<(&Recipient, &Staged<K::Blob>)> = recipients
            .iter()
            .zip(&staged)
            .filter_map(|(r, s)| s.as_ref().ok().map(|s| (r, s)))
            .collect();
        let mark = if marked.len() > 1 {
            let list: Vec<_> = marked
                .iter()
                .map(|(r, (mailbox, blob, _))| (&r.account, mailbox.as_str(), blob))
                .collect();
            match self.backend.begin_delivery(&list) {
                Ok(mark) => Some(mark),
                Err(e) => {
                    for (r, s) in recipients.iter().zip(&mut staged) {
                        if let Ok((mailbox, blob, _)) = s {
                            self.backend.discard(&r.account, mailbox, blob);
                            *s = Err(copy_of(&e));
                        }
                    }
                    None
                }
            }
        } else {
            None
        };
        let results = recipients
            .iter()
            .zip(staged)
            .map(|(r, s)| s.and_then(|s| self.commit_delivery(&prepared.0, r, s, origin)))
            .collect();
        if let Some(mark) = mark {
            self.backend.end_delivery(mark);
        }
        results
    }

    /// Stages one recipient's copy (no UID yet: that is given at the commit).
    fn stage_delivery(
        &self,
        upload: &mut Upload,
        (meta, mime): &(MessageMeta<()>, MimeInfo),
        r: &Recipient,
    ) -> Result<Staged<K::Blob>> {
        let account = &r.account;
        let name = self.canonical(r.mailbox.as_deref().unwrap_or("INBOX"))?;
        let a = self.account(account)?;
        Self::precheck(&a, &name, meta.size, 1)?;
        let meta = MessageMeta {
            flags: r.flags.clone(),
            ..meta.clone()
        };
        let blob = self
            .backend
            .write_message(account, &name, upload, mime, &meta, Arrival::Delivery)
            .map_err(|e| Self::staging_error(&a, &name, e))?;
        Ok((name, blob, a))
    }

    /// Commits one recipient's staged copy in its mailbox (removing it if that fails),
    /// together with the arrivals other sessions staged for the account meanwhile.
    fn commit_delivery(
        &self,
        meta: &MessageMeta<()>,
        r: &Recipient,
        (name, blob, a): Staged<K::Blob>,
        origin: SessionId,
    ) -> Result<Delivered> {
        let account = &r.account;
        let copy = MessageMeta {
            flags: r.flags.clone(),
            ..meta.clone()
        }
        .with_blob(blob.clone());
        let res = self
            .commit_arrival(account, &a, &name, vec![copy], origin)
            .and_then(|appended| {
                Ok(Delivered {
                    uidvalidity: appended.uidvalidity,
                    uid: appended
                        .uids
                        .first()
                        .copied()
                        .ok_or(StoreError::InvalidArgument("no UID given"))?,
                    mailbox: name.clone(),
                })
            });
        if res.is_err() {
            self.backend.discard(account, &name, &blob);
        }
        res
    }
}

/// Where [`Engine::deliver_until`] stops, as if the process died there.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Crash {
    /// Every copy staged, no marker yet.
    BeforeMark,
    /// The marker written and the first copy committed.
    AfterFirstCommit,
}

#[cfg(test)]
impl<K: Backend> Engine<K> {
    /// A delivery that stops at `crash` (the backend's recovery is left to deal with it).
    pub(crate) fn deliver_until(&self, mut upload: Upload, recipients: &[Recipient], crash: Crash) {
        let origin = SessionId::new();
        let Ok(prepared) = prepare(&mut upload, Uid::MIN, ModSeq::MIN, Flags::new(), None) else {
            return;
        };
        let staged: Vec<Staged<K::Blob>> = recipients
            .iter()
            .filter_map(|r| self.stage_delivery(&mut upload, &prepared, r).ok())
            .collect();
        if let Crash::BeforeMark = crash {
            return;
        }
        let list: Vec<_> = recipients
            .iter()
            .zip(&staged)
            .map(|(r, (m, b, _))| (&r.account, m.as_str(), b))
            .collect();
        if self.backend.begin_delivery(&list).is_ok()
            && let (Some(r), Some(s)) = (recipients.first(), staged.into_iter().next())
        {
            let _ = self.commit_delivery(&prepared.0, r, s, origin);
        }
    }
}
