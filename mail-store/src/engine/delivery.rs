//! Delivery (SMTP/LMTP): one message to several recipients, each copy its own transaction.

use super::{
    Arrival, Backend, Engine, Purpose, lock,
    messages::prepare,
    state::{MessageMeta, Record},
    uid, uid_space,
};
use crate::{
    error::{Result, StoreError},
    mime::MimeInfo,
    model::{Delivered, Recipient},
    types::{Flags, ModSeq, SessionId, Uid},
    upload::Upload,
};

impl<K: Backend> Engine<K> {
    pub fn deliver(&self, mut upload: Upload, recipients: &[Recipient]) -> Vec<Result<Delivered>> {
        let origin = SessionId::new();
        let prepared = match prepare(&mut upload, Uid::MIN, ModSeq::MIN, Flags::new(), None) {
            Ok(p) => p,
            Err(e) => {
                let no_space = matches!(e, StoreError::NoSpace);
                let msg = e.to_string();
                return recipients
                    .iter()
                    .map(|_| {
                        Err(if no_space {
                            StoreError::NoSpace
                        } else {
                            StoreError::Io(std::io::Error::other(msg.clone()))
                        })
                    })
                    .collect();
            }
        };
        recipients
            .iter()
            .map(|r| self.deliver_one(&mut upload, &prepared, r, origin))
            .collect()
    }

    fn deliver_one(
        &self,
        upload: &mut Upload,
        (meta, mime): &(MessageMeta<()>, MimeInfo),
        r: &Recipient,
        origin: SessionId,
    ) -> Result<Delivered> {
        let account = &r.account;
        let name = self.canonical(r.mailbox.as_deref().unwrap_or("INBOX"))?;
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&name)?;
        acct.check_quota(meta.size, 1)?;
        let mb = self.open(account, &mut acct, &name)?;
        uid_space(mb.header.uidnext, 1)?;
        let modseq = mb.next_modseq();
        let meta = MessageMeta {
            uid: uid(mb.header.uidnext)?,
            modseq,
            created: modseq,
            flags: r.flags.clone(),
            ..meta.clone()
        };
        let blob =
            self.backend
                .write_message(account, &name, upload, mime, &meta, Arrival::Delivery)?;
        let rec = Record::Append(meta.with_blob(blob));
        let keep = vec![rec.clone()];
        if let Err(e) = self.commit(account, &name, mb, vec![rec], origin, Purpose::Ordinary) {
            self.discard_all(account, &name, &keep);
            return Err(e);
        }
        Ok(Delivered {
            uidvalidity: mb.header.uidvalidity,
            uid: meta.uid,
            mailbox: name,
        })
    }
}
