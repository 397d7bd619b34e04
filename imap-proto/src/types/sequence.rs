//! Sequence sets (RFC 9051 §9 `sequence-set`), with `*` and SEARCHRES's `$`.

use std::fmt;

use super::InvalidInput;

/// One end of a range: a number (1 or more) or `*`, the largest number in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNum {
    /// `nz-number`
    Value(u32),
    /// `*`
    Largest,
}

impl SeqNum {
    /// The number, with `*` standing for `largest`.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            Self::Value(n) => n,
            Self::Largest => largest,
        }
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(n) => write!(f, "{n}"),
            Self::Largest => f.write_str("*"),
        }
    }
}

/// `seq-number / seq-range`; a range may be written in either order (`4:2` = `2:4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqItem {
    /// `seq-number`
    Single(SeqNum),
    /// `seq-range = seq-number ":" seq-number`, as written.
    Range(SeqNum, SeqNum),
}

impl SeqItem {
    /// The inclusive bounds, low first, with `*` standing for `largest`.
    pub fn bounds(self, largest: u32) -> (u32, u32) {
        match self {
            Self::Single(n) => {
                let n = n.resolve(largest);
                (n, n)
            }
            Self::Range(a, b) => {
                let (a, b) = (a.resolve(largest), b.resolve(largest));
                (a.min(b), a.max(b))
            }
        }
    }
}

/// `sequence-set = (seq-number / seq-range) ["," sequence-set]`, or `$` (RFC 5182 SEARCHRES).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Ranges and numbers, in the order written. Never empty.
    Items(Vec<SeqItem>),
    /// `$`: the result of the last SEARCH with SAVE.
    Saved,
}

impl SequenceSet {
    /// A set from items; at least one, and no zero.
    pub fn new(items: Vec<SeqItem>) -> Result<Self, InvalidInput> {
        let zero = |n: SeqNum| n == SeqNum::Value(0);
        let bad = items.iter().any(|i| match *i {
            SeqItem::Single(n) => zero(n),
            SeqItem::Range(a, b) => zero(a) || zero(b),
        });
        if items.is_empty() || bad {
            return Err(InvalidInput::new(
                "sequence set",
                "at least one nz-number or range",
            ));
        }
        Ok(Self::Items(items))
    }

    /// The set holding one number.
    pub fn single(n: u32) -> Result<Self, InvalidInput> {
        Self::new(vec![SeqItem::Single(SeqNum::Value(n))])
    }

    /// `a:b`.
    pub fn range(a: SeqNum, b: SeqNum) -> Result<Self, InvalidInput> {
        Self::new(vec![SeqItem::Range(a, b)])
    }

    /// A compact set from sorted or unsorted numbers (for UID sets in responses).
    pub fn from_numbers(numbers: impl IntoIterator<Item = u32>) -> Result<Self, InvalidInput> {
        let mut v: Vec<u32> = numbers.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        let mut items = Vec::new();
        let mut iter = v.into_iter().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while end < u32::MAX && iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            items.push(if start == end {
                SeqItem::Single(SeqNum::Value(start))
            } else {
                SeqItem::Range(SeqNum::Value(start), SeqNum::Value(end))
            });
        }
        Self::new(items)
    }

    /// Whether the set names `*` (so reaches the largest number, whatever that is).
    pub fn has_largest(&self) -> bool {
        match self {
            Self::Items(items) => items.iter().any(|i| match i {
                SeqItem::Single(n) => *n == SeqNum::Largest,
                SeqItem::Range(a, b) => *a == SeqNum::Largest || *b == SeqNum::Largest,
            }),
            Self::Saved => false,
        }
    }

    /// Whether `n` is in the set, with `*` standing for `largest`. `$` contains nothing here;
    /// the session resolves it.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            Self::Items(items) => items.iter().any(|i| {
                let (lo, hi) = i.bounds(largest);
                (lo..=hi).contains(&n)
            }),
            Self::Saved => false,
        }
    }

    /// The numbers of the set in the order written, each range expanded low to high, with
    /// `*` standing for `largest`; `$` yields nothing. For sets a server sent (APPENDUID,
    /// COPYUID, ESEARCH ALL), which name existing messages; a client's `1:*` would yield
    /// every number up to `largest`.
    pub fn iter(&self, largest: u32) -> impl Iterator<Item = u32> + '_ {
        let items: &[SeqItem] = match self {
            Self::Items(items) => items,
            Self::Saved => &[],
        };
        items.iter().flat_map(move |i| {
            let (lo, hi) = i.bounds(largest);
            lo..=hi
        })
    }

    /// The numbers in the set that exist in `existing` (sorted ascending), with `*` standing
    /// for the largest of them. Never expands a range beyond what exists, so `1:4294967295`
    /// costs no more than the mailbox.
    pub fn filter<'s>(&'s self, existing: &'s [u32]) -> impl Iterator<Item = u32> + 's {
        let largest = existing.last().copied().unwrap_or(0);
        existing
            .iter()
            .copied()
            .filter(move |&n| self.contains(n, largest))
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Saved => f.write_str("$"),
            Self::Items(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    match item {
                        SeqItem::Single(n) => write!(f, "{n}")?,
                        SeqItem::Range(a, b) => write!(f, "{a}:{b}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs are joined up to the largest UID, which has no successor to overflow into.
    #[test]
    fn from_numbers_joins_runs_up_to_the_last_uid() {
        let set = SequenceSet::from_numbers([u32::MAX, 7, u32::MAX - 1, 5, 6, 9]).unwrap();
        let expected = [
            SeqItem::Range(SeqNum::Value(5), SeqNum::Value(7)),
            SeqItem::Single(SeqNum::Value(9)),
            SeqItem::Range(SeqNum::Value(u32::MAX - 1), SeqNum::Value(u32::MAX)),
        ];
        assert_eq!(set, SequenceSet::new(expected.to_vec()).unwrap());
    }

    #[test]
    fn has_largest_sees_a_star_anywhere() {
        let star = |items: Vec<SeqItem>| SequenceSet::new(items).unwrap().has_largest();
        assert!(star(vec![SeqItem::Range(
            SeqNum::Value(5000),
            SeqNum::Largest
        )]));
        assert!(star(vec![
            SeqItem::Single(SeqNum::Value(1)),
            SeqItem::Single(SeqNum::Largest)
        ]));
        assert!(!star(vec![SeqItem::Range(
            SeqNum::Value(1),
            SeqNum::Value(9)
        )]));
        assert!(!SequenceSet::Saved.has_largest());
    }
}
