//! QRESYNC (RFC 7162 §3.2): what a reconnecting client missed, told at SELECT/EXAMINE with
//! the `QRESYNC` parameter, and `UID FETCH ... (CHANGEDSINCE n VANISHED)`.
//!
//! The store keeps the modseq of every expunge, so the answers are exact: the
//! `seq-match-data` a client may add to help a server without that history is not needed.
//! The session checks the rules (QRESYNC enabled, VANISHED only in UID FETCH with
//! CHANGEDSINCE) and turns later expunges into `VANISHED`.

use std::io;

use sansmail_imap::{
    session::view::MessageState,
    types::{command::QResync, fetch::FetchItem, response::Data, sequence::SequenceSet},
};
use sansmail_store::{FetchedMessage, MailStore, StoreError};

use super::{Conn, convert};

/// The UIDs to report in `VANISHED (EARLIER)`: those expunged since the client's modseq
/// that `wanted` names. UIDs the client's view still holds are left out: their expunge
/// reaches the client as a plain `VANISHED` when the session may tell it.
pub(super) fn earlier(
    expunged: &[sansmail_store::Uid],
    wanted: impl Fn(u32) -> bool,
    view: &[u32],
) -> Vec<u32> {
    expunged
        .iter()
        .map(|u| u.get())
        .filter(|&u| wanted(u) && view.binary_search(&u).is_err())
        .collect()
}

impl<S: MailStore> Conn<'_, S> {
    /// UIDs expunged from `name` after `since`, ascending.
    pub(super) async fn expunged_since(
        &self,
        name: &str,
        since: u64,
    ) -> Result<Vec<sansmail_store::Uid>, StoreError> {
        let session = self
            .session
            .clone()
            .ok_or_else(|| StoreError::Io(io::Error::other("command before login")))?;
        let changes = self
            .service
            .store
            .changes_since(&session, name, since)
            .await?;
        Ok(changes.expunged)
    }

    /// The part of a SELECT/EXAMINE with `QRESYNC (uidvalidity modseq [known-uids])` (and a
    /// matching UIDVALIDITY) after the usual responses: `* VANISHED (EARLIER)` for what was
    /// expunged, then flags and modseq of each message changed since (RFC 7162 §3.2.5).
    pub(super) fn qresync_select(
        &mut self,
        q: &QResync,
        vanished: Vec<u32>,
        messages: &[FetchedMessage],
    ) {
        if let Ok(uids) = SequenceSet::from_numbers(vanished) {
            self.server_mut().send_data(Data::Vanished {
                earlier: true,
                uids,
            });
        }
        for (i, m) in messages.iter().enumerate() {
            if m.modseq.get() <= q.modseq {
                continue;
            }
            let u = m.uid.get();
            let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let flags = convert::imap_flags(&m.flags, false);
            let items = vec![
                FetchItem::Uid(u),
                FetchItem::Flags(flags.clone()),
                FetchItem::ModSeq(m.modseq.get()),
            ];
            let state = MessageState {
                flags,
                modseq: Some(m.modseq.get()),
            };
            self.server_mut().send_fetch(seq, items, state);
        }
    }

    /// `UID FETCH set ... (CHANGEDSINCE since VANISHED)`: `* VANISHED (EARLIER)` for the UIDs
    /// of `set` expunged after `since`, sent before the FETCH responses (RFC 7162 §3.2.6).
    /// `Err` carries the store's failure for the command's `NO`.
    pub(super) async fn vanished_since(
        &mut self,
        name: &str,
        set: &SequenceSet,
        since: u64,
    ) -> Result<(), StoreError> {
        let expunged = self.expunged_since(name, since).await?;
        let saved = self.server().saved_search();
        let view = self
            .server()
            .view()
            .map(|v| v.uids().to_vec())
            .unwrap_or_default();
        let wanted = |u: u32| match set {
            SequenceSet::Saved => saved.binary_search(&u).is_ok(),
            // `*` in a UID set is the largest UID; an expunged UID above every present one
            // is still named by `n:*`.
            SequenceSet::Items(_) => set.contains(u, u32::MAX),
        };
        let gone = earlier(&expunged, wanted, &view);
        if let Ok(uids) = SequenceSet::from_numbers(gone) {
            self.server_mut().send_data(Data::Vanished {
                earlier: true,
                uids,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_leaves_out_unwanted_and_still_visible_uids() {
        let uids: Vec<sansmail_store::Uid> = [2, 5, 7, 9]
            .iter()
            .filter_map(|&u| sansmail_store::Uid::new(u))
            .collect();
        assert_eq!(earlier(&uids, |u| u < 9, &[1, 7, 8]), [2, 5]);
        assert_eq!(earlier(&uids, |_| true, &[]), [2, 5, 7, 9]);
    }
}
