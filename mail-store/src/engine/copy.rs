//! COPY and MOVE: messages into another mailbox of the account, with the UID map.

use super::{
    Backend, Engine, Purpose, lock,
    state::{MessageMeta, Record},
    uid, uid_space,
};
use crate::{
    error::Result,
    model::Copied,
    types::{Session, UidSet},
};

impl<K: Backend> Engine<K> {
    /// COPY, or MOVE: one transaction over both mailboxes, so a move is whole or not at all
    /// (RFC 6851 §3.3: the messages are copied, then expunged from the source, atomically).
    #[allow(clippy::explicit_counter_loop)]
    pub fn copy_or_move(
        &self,
        s: &Session,
        from: &str,
        uids: &UidSet,
        to: &str,
        is_move: bool,
    ) -> Result<Copied> {
        let from = self.canonical(from)?;
        let to = self.canonical(to)?;
        let account = s.account();
        let a = self.account(account)?;
        let mut acct = lock(&a);
        acct.mailbox(&to)?;
        let src = self.open(account, &mut acct, &from)?;
        let picked: Vec<MessageMeta<K::Blob>> = src
            .select(uids)
            .into_iter()
            .map(|i| src.messages[i].clone())
            .collect();
        let src_modseq = src.next_modseq();
        let dst = self.open(account, &mut acct, &to)?;
        let uidvalidity = dst.header.uidvalidity;
        if picked.is_empty() {
            return Ok(Copied {
                uidvalidity,
                map: Vec::new(),
            });
        }
        if !is_move {
            let total: u64 = picked.iter().map(|m| m.size).sum();
            acct.check_quota(total, picked.len() as u64)?;
        }
        let dst = acct.mailbox(&to)?;
        uid_space(dst.header.uidnext, picked.len())?;
        let modseq = dst.next_modseq();
        let mut next = dst.header.uidnext;
        let mut appended = Vec::with_capacity(picked.len());
        let mut expunged = Vec::new();
        let mut map = Vec::with_capacity(picked.len());
        for m in &picked {
            let new_meta = MessageMeta {
                uid: uid(next)?,
                modseq,
                created: modseq,
                ..m.with_blob(())
            };
            let res = if is_move {
                self.backend
                    .plan_move(account, &from, &m.blob, &to, &new_meta)
            } else {
                self.backend
                    .copy_message(account, &from, &m.blob, &to, &new_meta)
            };
            match res {
                Ok(blob) => {
                    map.push((m.uid, new_meta.uid));
                    if is_move {
                        expunged.push(Record::Expunge {
                            uid: m.uid,
                            // Within one mailbox the move is one transaction of one modseq.
                            modseq: if from == to { modseq } else { src_modseq },
                            file: Some(m.blob.clone()),
                            to: Some((to.clone(), blob.clone())),
                        });
                    }
                    appended.push(Record::Append(new_meta.with_blob(blob)));
                }
                Err(e) => {
                    if !is_move {
                        self.discard_all(account, &to, &appended);
                    }
                    return Err(e);
                }
            }
            next += 1;
        }
        if !is_move {
            let keep = appended.clone();
            let dst = acct.mailbox(&to)?;
            if let Err(e) = self.commit(account, &to, dst, appended, s.id(), Purpose::Ordinary) {
                self.discard_all(account, &to, &keep);
                return Err(e);
            }
            return Ok(Copied { uidvalidity, map });
        }
        // Moving to a Trash folder is how many clients delete: the room kept for deleting
        // may be used.
        if from == to {
            let mut records = appended;
            records.extend(expunged);
            let mb = acct.mailbox(&to)?;
            self.commit(account, &to, mb, records, s.id(), Purpose::Deleting)?;
        } else {
            self.backend.commit(
                account,
                &[(to.as_str(), &appended), (from.as_str(), &expunged)],
                Purpose::Deleting,
            )?;
            let dst = acct.mailbox(&to)?;
            self.apply(account, &to, dst, appended, s.id());
            let src = acct.mailbox(&from)?;
            self.apply(account, &from, src, expunged, s.id());
        }
        Ok(Copied { uidvalidity, map })
    }
}
