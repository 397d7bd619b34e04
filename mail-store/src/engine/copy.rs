//! COPY and MOVE: messages into another mailbox of the account, with the UID map.

use super::{
    Backend, Engine,
    accounts::Account,
    lock,
    state::{MessageMeta, Record},
    uid, uid_space,
};
use crate::{
    error::Result,
    model::Copied,
    types::{Session, Uid, UidSet},
};

impl<K: Backend> Engine<K> {
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
        let mut records = Vec::with_capacity(picked.len());
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
                    .move_message(account, &from, &m.blob, &to, &new_meta)
            } else {
                self.backend
                    .copy_message(account, &from, &m.blob, &to, &new_meta)
            };
            match res {
                Ok(blob) => {
                    map.push((m.uid, new_meta.uid));
                    records.push(Record::Append(new_meta.with_blob(blob)));
                }
                Err(e) => {
                    if !is_move {
                        self.discard_all(account, &to, &records);
                    }
                    // A partial move leaves the moved files in the destination unindexed;
                    // the Maildir backend's recovery indexes them there (nothing lost, nothing
                    // duplicated), so commit what moved before failing.
                    if is_move && !records.is_empty() {
                        let moved: Vec<Uid> = map.iter().map(|(u, _)| *u).collect();
                        self.finish_move(s, &mut acct, &from, &to, records, &moved)?;
                    }
                    return Err(e);
                }
            }
            next += 1;
        }
        if is_move {
            let moved: Vec<Uid> = map.iter().map(|(u, _)| *u).collect();
            self.finish_move(s, &mut acct, &from, &to, records, &moved)?;
        } else {
            let keep = records.clone();
            let dst = acct.mailbox(&to)?;
            if let Err(e) = self.commit(account, &to, dst, records, s.id()) {
                self.discard_all(account, &to, &keep);
                return Err(e);
            }
        }
        Ok(Copied { uidvalidity, map })
    }

    fn finish_move(
        &self,
        s: &Session,
        acct: &mut Account<K::Blob>,
        from: &str,
        to: &str,
        appended: Vec<Record<K::Blob>>,
        moved: &[Uid],
    ) -> Result<()> {
        let account = s.account();
        let dst = acct.mailbox(to)?;
        self.commit(account, to, dst, appended, s.id())?;
        let src = acct.mailbox(from)?;
        let modseq = src.next_modseq();
        let records = moved
            .iter()
            .map(|&uid| Record::Expunge { uid, modseq })
            .collect();
        self.commit(account, from, src, records, s.id())
    }
}
