//! Updating searches (RFC 5267 §4.3, CONTEXT=SEARCH and CONTEXT=SORT): a SEARCH or SORT
//! with `RETURN (UPDATE)` whose result the session keeps, as the client knows it, for the
//! life of the selection, and the ADDTO and REMOVEFROM items that bring the client's copy
//! up to date with each new result the application computes.
//!
//! The session owns the timing: a message leaves a result (REMOVEFROM) before its EXPUNGE
//! shifts the numbers, and joins one (ADDTO) only once EXISTS made it known (§4.3.3,
//! §4.3.4). Results are kept as UIDs and numbered when told, so a search by sequence number
//! is told in the numbering of that moment.

use std::collections::HashSet;

use crate::{
    sort::ordered_set,
    types::{
        core::Tag,
        response_data::ContextUpdate,
        search::{Charset, SearchKey, SortCriterion},
        sequence::SequenceSet,
    },
};

/// What an updating search asked for: what the application evaluates again whenever the
/// mailbox changes ([`Server::refresh_search`](super::server::Server::refresh_search)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatingSearch {
    /// The tag of the SEARCH or SORT, which its updates carry (`ESEARCH (TAG "...")`).
    pub tag: Tag<'static>,
    /// `UID SEARCH` or `UID SORT`: updates name UIDs, otherwise sequence numbers.
    pub uid: bool,
    /// The SORT criteria; `None` for a SEARCH, whose result is in mailbox order.
    pub sort: Option<Vec<SortCriterion>>,
    /// The charset given, if any.
    pub charset: Option<Charset<'static>>,
    /// The search keys (ANDed).
    pub keys: Vec<SearchKey<'static>>,
}

/// An updating search and its result.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) search: UpdatingSearch,
    /// The result as the client knows it, as UIDs in result order.
    told: Vec<u32>,
    /// The newest result the application computed, as UIDs in result order; `None` until
    /// it computed one after the search.
    target: Option<Vec<u32>>,
    /// `target` holds what the client was not told yet (a new result, or messages waiting
    /// for their EXISTS): without it, and with nothing leaving, a drain has nothing to do.
    pending: bool,
}

impl Context {
    pub(crate) fn new(search: UpdatingSearch, result: Vec<u32>) -> Self {
        Self {
            search,
            told: result,
            target: None,
            pending: false,
        }
    }

    pub(crate) fn set_target(&mut self, result: Vec<u32>) {
        self.target = Some(result);
        self.pending = true;
    }

    fn sorted(&self) -> bool {
        self.search.sort.is_some()
    }

    /// The REMOVEFROM pairs that take out of the told result the messages that left it:
    /// those `leaving` the mailbox now and those not in the newest result. `number` gives
    /// a UID's number in the client's current numbering. The told result is updated.
    pub(crate) fn removals(
        &mut self,
        leaving: &HashSet<u32>,
        number: impl Fn(u32) -> Option<u32>,
    ) -> Vec<ContextUpdate> {
        if !self.pending && leaving.is_empty() {
            return Vec::new();
        }
        if let Some(t) = &mut self.target {
            t.retain(|u| !leaving.contains(u));
        }
        let target: Option<HashSet<u32>> =
            self.target.as_ref().map(|t| t.iter().copied().collect());
        let mut gone: HashSet<u32> = self
            .told
            .iter()
            .copied()
            .filter(|u| leaving.contains(u) || target.as_ref().is_some_and(|t| !t.contains(u)))
            .collect();
        if self.sorted()
            && let Some(t) = &self.target
        {
            // Sort keys do not change, so the messages that stay keep their order; should
            // they not, they leave and join again at their new positions.
            let stay: Vec<u32> = self
                .told
                .iter()
                .copied()
                .filter(|u| !gone.contains(u))
                .collect();
            let kept: HashSet<u32> = stay.iter().copied().collect();
            if !t
                .iter()
                .copied()
                .filter(|u| kept.contains(u))
                .eq(stay.iter().copied())
            {
                gone.extend(stay);
            }
        }
        if gone.is_empty() {
            return Vec::new();
        }
        let pairs = if self.sorted() {
            positioned_runs(&self.told, |u| gone.contains(&u), &number, false)
        } else {
            unpositioned(
                self.told.iter().copied().filter(|u| gone.contains(u)),
                &number,
            )
        };
        self.told.retain(|u| !gone.contains(u));
        pairs
    }

    /// The ADDTO pairs that put into the told result the messages of the newest result the
    /// client knows of (`number` gives their numbers; a message not told by EXISTS yet has
    /// none and waits). The told result is updated.
    pub(crate) fn additions(&mut self, number: impl Fn(u32) -> Option<u32>) -> Vec<ContextUpdate> {
        let Some(target) = self.target.as_ref().filter(|_| self.pending) else {
            return Vec::new();
        };
        let had: HashSet<u32> = self.told.iter().copied().collect();
        let next: Vec<u32> = target
            .iter()
            .copied()
            .filter(|&u| had.contains(&u) || number(u).is_some())
            .collect();
        // Messages not told by EXISTS yet keep the result pending.
        self.pending = next.len() != target.len();
        if next.len() == self.told.len() {
            return Vec::new();
        }
        let pairs = if self.sorted() {
            positioned_runs(&next, |u| !had.contains(&u), &number, true)
        } else {
            unpositioned(next.iter().copied().filter(|u| !had.contains(u)), &number)
        };
        self.told = next;
        pairs
    }
}

/// One pair at position 0 (a SEARCH result, kept in mailbox order, §4.3.3): the numbers in
/// ascending order, the shortest set.
fn unpositioned(
    uids: impl Iterator<Item = u32>,
    number: impl Fn(u32) -> Option<u32>,
) -> Vec<ContextUpdate> {
    SequenceSet::from_numbers(uids.filter_map(number))
        .ok()
        .map(|set| ContextUpdate { position: 0, set })
        .into_iter()
        .collect()
}

/// The runs of consecutive messages of `list` that `pick` selects, each as a pair of its
/// 1-based position and its numbers in list order. Positions of removals count in the list
/// as it shrinks (each run starts where the previous run's messages were), of additions in
/// the final list (`in_final`).
fn positioned_runs(
    list: &[u32],
    pick: impl Fn(u32) -> bool,
    number: &impl Fn(u32) -> Option<u32>,
    in_final: bool,
) -> Vec<ContextUpdate> {
    let mut pairs = Vec::new();
    let mut removed = 0;
    let mut i = 0;
    while i < list.len() {
        if !list.get(i).is_some_and(|&u| pick(u)) {
            i += 1;
            continue;
        }
        let start = i;
        while list.get(i).is_some_and(|&u| pick(u)) {
            i += 1;
        }
        let run = list.get(start..i).unwrap_or_default();
        let position = if in_final { start } else { start - removed };
        removed += run.len();
        let numbers: Vec<u32> = run.iter().filter_map(|&u| number(u)).collect();
        if let (Ok(position), Some(set)) = (u32::try_from(position + 1), ordered_set(&numbers)) {
            pairs.push(ContextUpdate { position, set });
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::search::SortKey;

    fn search(sort: bool) -> UpdatingSearch {
        UpdatingSearch {
            tag: Tag::new("B01").unwrap(),
            uid: true,
            sort: sort.then(|| {
                vec![SortCriterion {
                    reverse: true,
                    key: SortKey::Arrival,
                }]
            }),
            charset: None,
            keys: vec![SearchKey::All],
        }
    }

    fn pair(position: u32, numbers: &[u32]) -> ContextUpdate {
        ContextUpdate {
            position,
            set: ordered_set(numbers).unwrap(),
        }
    }

    #[test]
    fn search_results_change_at_position_zero_in_mailbox_order() {
        let mut c = Context::new(search(false), vec![2, 4, 6]);
        c.set_target(vec![2, 3, 7, 8]);
        assert_eq!(c.removals(&HashSet::new(), Some), [pair(0, &[4, 6])]);
        // 8 is not known to the client yet: it waits.
        let known = |u: u32| (u < 8).then_some(u);
        assert_eq!(c.additions(known), [pair(0, &[3, 7])]);
        assert_eq!(c.additions(Some), [pair(0, &[8])]);
        assert!(c.additions(Some).is_empty());
        assert_eq!(c.told, [2, 3, 7, 8]);
    }

    #[test]
    fn leaving_messages_are_removed_before_a_new_result_is_known() {
        let mut c = Context::new(search(false), vec![2, 4, 6]);
        let leaving: HashSet<u32> = [4].into();
        // Sequence numbers before the expunge: 2, 4 and 6 are messages 1 to 3.
        let seq = |u: u32| Some(u / 2);
        assert_eq!(c.removals(&leaving, seq), [pair(0, &[2])]);
        assert_eq!(c.told, [2, 6]);
    }

    #[test]
    fn sorted_results_change_at_their_positions() {
        // Newest first: 9 8 7 5 3.
        let mut c = Context::new(search(true), vec![9, 8, 7, 5, 3]);
        c.set_target(vec![12, 11, 9, 7, 3]);
        // 8 at position 2, then 5 at position 3 of what is left (9 7 5 3).
        assert_eq!(
            c.removals(&HashSet::new(), Some),
            [pair(2, &[8]), pair(3, &[5])]
        );
        assert_eq!(c.additions(Some), [pair(1, &[12, 11])]);
        assert_eq!(c.told, [12, 11, 9, 7, 3]);
        c.set_target(vec![12, 11, 10, 9, 7, 3, 1]);
        assert_eq!(c.additions(Some), [pair(3, &[10]), pair(7, &[1])]);
    }

    #[test]
    fn reordered_messages_leave_and_join_again() {
        let mut c = Context::new(search(true), vec![1, 2, 3]);
        c.set_target(vec![2, 1, 3]);
        assert_eq!(c.removals(&HashSet::new(), Some), [pair(1, &[1, 2, 3])]);
        assert_eq!(c.additions(Some), [pair(1, &[2, 1, 3])]);
    }
}
