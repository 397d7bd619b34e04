//! QRESYNC (RFC 7162 §3.2): what a reconnecting client missed, told at SELECT/EXAMINE with
//! the `QRESYNC` parameter, and `UID FETCH ... (CHANGEDSINCE n VANISHED)`.
//!
//! The store keeps the modseq of recent expunges, so the answers are exact for a client that
//! was away for a while; for one away longer than the store's history reaches, the store
//! names every UID that is not in the mailbox any more, which RFC 7162 §3.2.6 allows. Both
//! are ranges, so the answer stays as small as the mailbox. The `seq-match-data` a client may
//! add to help a server without history is not needed. The session checks the rules
//! (QRESYNC enabled, VANISHED only in UID FETCH with CHANGEDSINCE) and turns later expunges
//! into `VANISHED`.

use std::io;

use sansmail_imap::{
    session::view::MessageState,
    types::{
        command::QResync,
        fetch::FetchItem,
        response::Data,
        sequence::{SeqItem, SeqNum, SequenceSet},
    },
};
use sansmail_store::{FetchedMessage, MailStore, StoreError, UidSet};

use super::{Conn, convert};

/// Inclusive UID ranges, ascending and disjoint.
pub(super) type Ranges = Vec<(u32, u32)>;

/// The UIDs to report in `VANISHED (EARLIER)`: those of `expunged` that `wanted` holds.
/// UIDs the client's view still holds (`view`, ascending) are left out: their expunge
/// reaches the client as a plain `VANISHED` when the session may tell it.
pub(super) fn earlier(expunged: &UidSet, wanted: &[(u32, u32)], view: &[u32]) -> Ranges {
    let mut out = Ranges::new();
    let mut keep = |lo: u32, hi: u32| {
        // Split around the view's UIDs in lo..=hi.
        let mut from = lo;
        let first = view.partition_point(|&u| u < lo);
        for &u in view[first..].iter().take_while(|&&u| u <= hi) {
            if from < u {
                out.push((from, u - 1));
            }
            from = u.saturating_add(1);
            if u == u32::MAX {
                return;
            }
        }
        if from <= hi {
            out.push((from, hi));
        }
    };
    let mut w = wanted.iter().peekable();
    for (a, b) in expunged.ranges() {
        let (lo, hi) = (a.get(), b.get());
        // Wanted ranges wholly below this one are of no more use.
        while w.next_if(|&&(_, whi)| whi < lo).is_some() {}
        for &(wlo, whi) in w.clone().take_while(|&&(wlo, _)| wlo <= hi) {
            keep(lo.max(wlo), hi.min(whi));
        }
    }
    out
}

/// The UIDs a set names, as [`Ranges`]: `*` is the largest UID there could be (an expunged
/// UID above every present one is still named by `n:*`), and `$` is `saved`.
pub(super) fn ranges_of(set: &SequenceSet, saved: &[u32]) -> Ranges {
    let mut r: Ranges = match set {
        SequenceSet::Items(items) => items.iter().map(|i| i.bounds(u32::MAX)).collect(),
        SequenceSet::Saved => saved.iter().map(|&u| (u, u)).collect(),
    };
    r.sort_unstable();
    let mut merged = Ranges::with_capacity(r.len());
    for (lo, hi) in r {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// `* VANISHED (EARLIER) uids`, unless there are none.
fn vanished_earlier(ranges: &[(u32, u32)]) -> Option<Data<'static>> {
    let items = ranges
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                SeqItem::Single(SeqNum::Value(lo))
            } else {
                SeqItem::Range(SeqNum::Value(lo), SeqNum::Value(hi))
            }
        })
        .collect();
    let uids = SequenceSet::new(items).ok()?;
    Some(Data::Vanished {
        earlier: true,
        uids,
    })
}

impl<S: MailStore> Conn<'_, S> {
    /// UIDs expunged from `name` after `since`, ascending.
    pub(super) async fn expunged_since(
        &self,
        name: &str,
        since: u64,
    ) -> Result<UidSet, StoreError> {
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
        vanished: &[(u32, u32)],
        messages: &[FetchedMessage],
    ) {
        if let Some(data) = vanished_earlier(vanished) {
            self.server_mut().send_data(data);
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
        let wanted = ranges_of(set, self.server().saved_search());
        let view = self
            .server()
            .view()
            .map(|v| v.uids().to_vec())
            .unwrap_or_default();
        if let Some(data) = vanished_earlier(&earlier(&expunged, &wanted, &view)) {
            self.server_mut().send_data(data);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(uids: &[u32]) -> UidSet {
        uids.iter()
            .filter_map(|&u| sansmail_store::Uid::new(u))
            .collect()
    }

    #[test]
    fn earlier_leaves_out_unwanted_and_still_visible_uids() {
        let uids = set(&[2, 5, 7, 9]);
        assert_eq!(earlier(&uids, &[(1, 8)], &[1, 7, 8]), [(2, 2), (5, 5)]);
        assert_eq!(
            earlier(&uids, &[(1, u32::MAX)], &[]),
            [(2, 2), (5, 5), (7, 7), (9, 9)]
        );
    }

    #[test]
    fn earlier_works_on_ranges_without_listing_their_uids() {
        // The store's answer for a client older than its history: every UID not in the
        // mailbox, here all but 10 and 4,000,000,000 below 4,000,000,001.
        let mut gone = UidSet::new();
        let u = |n| sansmail_store::Uid::new(n).unwrap();
        gone.insert_range(u(1), u(9));
        gone.insert_range(u(11), u(3_999_999_999));
        let known = [(5, 20), (100, 200), (3_999_999_990, u32::MAX)];
        assert_eq!(
            earlier(&gone, &known, &[10, 150, 4_000_000_000]),
            [
                (5, 9),
                (11, 20),
                (100, 149),
                (151, 200),
                (3_999_999_990, 3_999_999_999)
            ]
        );
        assert_eq!(earlier(&gone, &[], &[]), []);
        assert_eq!(earlier(&UidSet::new(), &known, &[]), []);
        // A view UID at the very top ends the range it is in.
        assert_eq!(
            earlier(
                &set(&[u32::MAX - 1, u32::MAX]),
                &[(1, u32::MAX)],
                &[u32::MAX]
            ),
            [(u32::MAX - 1, u32::MAX - 1)]
        );
    }

    #[test]
    fn ranges_of_sorts_merges_and_reads_star_and_dollar() {
        let set = SequenceSet::new(vec![
            SeqItem::Range(SeqNum::Value(9), SeqNum::Value(7)),
            SeqItem::Single(SeqNum::Value(3)),
            SeqItem::Range(SeqNum::Value(4), SeqNum::Value(5)),
            SeqItem::Range(SeqNum::Value(20), SeqNum::Largest),
        ])
        .unwrap();
        assert_eq!(ranges_of(&set, &[]), [(3, 5), (7, 9), (20, u32::MAX)]);
        assert_eq!(ranges_of(&SequenceSet::Saved, &[8, 2, 3]), [(2, 3), (8, 8)]);
    }
}
