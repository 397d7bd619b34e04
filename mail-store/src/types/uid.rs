//! Message and mailbox numbers (UID, UIDVALIDITY, MODSEQ, never zero) and sets of UIDs.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

macro_rules! nonzero_newtype {
    ($(#[$m:meta])* $name:ident, $int:ty, $what:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name($int);

        impl $name {
            /// The smallest value, 1.
            pub const MIN: Self = Self(1);

            /// The value, or `None` for zero (which the protocols reserve).
            pub const fn new(v: $int) -> Option<Self> {
                if v == 0 { None } else { Some(Self(v)) }
            }

            /// The value as an integer.
            pub const fn get(self) -> $int {
                self.0
            }
        }

        impl TryFrom<$int> for $name {
            type Error = StoreError;

            fn try_from(v: $int) -> Result<Self, StoreError> {
                Self::new(v).ok_or(StoreError::InvalidArgument(concat!($what, " must not be zero")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

nonzero_newtype!(
    /// A message's unique identifier within one UIDVALIDITY of a mailbox (never zero).
    Uid, u32, "UID"
);
nonzero_newtype!(
    /// A mailbox's UIDVALIDITY (never zero). For a given mailbox name it only ever grows.
    UidValidity, u32, "UIDVALIDITY"
);
nonzero_newtype!(
    /// A modification sequence number (RFC 7162), never zero.
    ModSeq, u64, "MODSEQ"
);

/// A set of UIDs as sorted, disjoint, inclusive ranges (`1:4,7,9:*`).
///
/// `*` is written as [`u32::MAX`]: a range `n:*` is `n..=u32::MAX` and matches every UID from
/// `n` on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UidSet {
    ranges: Vec<(u32, u32)>,
}

impl UidSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every UID (`1:*`).
    pub fn all() -> Self {
        Self {
            ranges: vec![(1, u32::MAX)],
        }
    }

    /// One UID.
    pub fn single(uid: Uid) -> Self {
        Self {
            ranges: vec![(uid.get(), uid.get())],
        }
    }

    /// An inclusive range; the bounds may come in either order (IMAP allows `4:2`).
    pub fn range(a: Uid, b: Uid) -> Self {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        Self {
            ranges: vec![(lo.get(), hi.get())],
        }
    }

    /// Adds an inclusive range, keeping the ranges sorted and merged.
    pub fn insert_range(&mut self, a: Uid, b: Uid) {
        let (lo, hi) = if a <= b {
            (a.get(), b.get())
        } else {
            (b.get(), a.get())
        };
        // Ranges added in ascending order (how the store builds sets) are appended or merged
        // with the last one, without sorting the whole set again.
        match self.ranges.last_mut() {
            None => return self.ranges.push((lo, hi)),
            Some(last) if lo > last.1.saturating_add(1) => return self.ranges.push((lo, hi)),
            Some(last) if lo >= last.0 => {
                last.1 = last.1.max(hi);
                return;
            }
            Some(_) => {}
        }
        self.ranges.push((lo, hi));
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.ranges = merged;
    }

    /// Adds one UID.
    pub fn insert(&mut self, uid: Uid) {
        self.insert_range(uid, uid);
    }

    /// The UIDs below `uidnext` that are not in `present` (ascending): what a mailbox no
    /// longer holds, or never held. At most one range more than `present` has UIDs.
    pub fn gaps(present: &[u32], uidnext: u32) -> Self {
        let mut ranges = Vec::new();
        let mut next = 1u32;
        for &u in present {
            if next < u {
                ranges.push((next, u - 1));
            }
            next = next.max(u.saturating_add(1));
        }
        if next < uidnext {
            ranges.push((next, uidnext - 1));
        }
        Self { ranges }
    }

    /// Whether `uid` is in the set.
    pub fn contains(&self, uid: Uid) -> bool {
        let u = uid.get();
        let i = self.ranges.partition_point(|&(_, hi)| hi < u);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= u)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges, sorted and disjoint.
    pub fn ranges(&self) -> impl Iterator<Item = (Uid, Uid)> + '_ {
        self.ranges
            .iter()
            .filter_map(|&(lo, hi)| Some((Uid::new(lo)?, Uid::new(hi)?)))
    }
}

impl FromIterator<Uid> for UidSet {
    fn from_iter<I: IntoIterator<Item = Uid>>(iter: I) -> Self {
        let mut v: Vec<u32> = iter.into_iter().map(Uid::get).collect();
        v.sort_unstable();
        v.dedup();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for u in v {
            match ranges.last_mut() {
                Some(last) if last.1 + 1 == u => last.1 = u,
                _ => ranges.push((u, u)),
            }
        }
        Self { ranges }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u32) -> Uid {
        Uid::new(n).unwrap()
    }

    #[test]
    fn uid_set_merges_and_contains() {
        let mut s = UidSet::new();
        s.insert_range(u(5), u(3));
        s.insert(u(6));
        s.insert(u(10));
        assert_eq!(
            s.ranges()
                .map(|(a, b)| (a.get(), b.get()))
                .collect::<Vec<_>>(),
            vec![(3, 6), (10, 10)]
        );
        assert!(s.contains(u(4)) && s.contains(u(10)) && !s.contains(u(7)) && !s.contains(u(2)));
        assert!(UidSet::all().contains(u(u32::MAX)));
        let c: UidSet = [u(1), u(2), u(4)].into_iter().collect();
        assert_eq!(c.ranges().count(), 2);
    }

    #[test]
    fn gaps_are_the_uids_below_uidnext_not_present() {
        let r = |s: UidSet| {
            s.ranges()
                .map(|(a, b)| (a.get(), b.get()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            r(UidSet::gaps(&[2, 3, 5, 9], 12)),
            [(1, 1), (4, 4), (6, 8), (10, 11)]
        );
        assert_eq!(r(UidSet::gaps(&[1, 2], 3)), []);
        assert_eq!(r(UidSet::gaps(&[], 1)), []);
        assert_eq!(r(UidSet::gaps(&[], 4)), [(1, 3)]);
        assert_eq!(r(UidSet::gaps(&[u32::MAX], u32::MAX)), [(1, u32::MAX - 1)]);
    }

    proptest::proptest! {
        /// Ranges inserted in any order give the set of the UIDs they cover, as the fewest
        /// sorted, disjoint ranges.
        #[test]
        fn insert_range_keeps_sorted_merged_ranges(
            ranges in proptest::collection::vec((1u32..60, 0u32..6), 0..12)
        ) {
            let mut s = UidSet::new();
            let mut model = std::collections::BTreeSet::new();
            for &(lo, len) in &ranges {
                s.insert_range(u(lo + len), u(lo));
                model.extend(lo..=lo + len);
            }
            let got: Vec<(u32, u32)> = s.ranges().map(|(a, b)| (a.get(), b.get())).collect();
            let mut want: Vec<(u32, u32)> = Vec::new();
            for n in model {
                match want.last_mut() {
                    Some(last) if last.1 + 1 == n => last.1 = n,
                    _ => want.push((n, n)),
                }
            }
            proptest::prop_assert_eq!(got, want);
        }
    }
}
