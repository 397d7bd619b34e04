//! SEARCH in SQL.
//!
//! A [`SearchQuery`] becomes a condition on the `messages` row `m`: flags, keywords, UIDs,
//! sizes, dates (the internal date's and the `Date:` field's day are columns computed at
//! append), modseq, header fields (`header_fields`, every field of the header block) and
//! addresses (`addresses`, From/To/Cc/Bcc/Reply-To/Sender) map exactly, with the same ASCII
//! case-insensitive substring rule [`SearchQuery::matches`] follows. Body and text keys, and
//! address keys on other fields, do not: for those the query is written twice, once with
//! each such key as TRUE (a condition every match meets) and once as FALSE (one only
//! matches meet, `NOT` swapping the two). Rows the second holds for are hits; rows only the
//! first holds for are left to [`search::scan`](crate::search::scan), which reads their
//! octets. A query without body or text keys never reads a message.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::{
    Inner,
    blobs::{ADDRESS_FIELDS, day_number},
    db::{R, bounds, modseq, uid},
};
use crate::{
    search::{DayCmp, SearchHit, SearchQuery},
    types::{Flag, Session, UidSet},
};

/// A condition under construction: its text and its parameters (`$1` is the mailbox).
#[derive(Default)]
pub struct Condition {
    params: Vec<Box<dyn ToSql + Sync + Send>>,
    /// Whether a key could not be written in SQL.
    inexact: bool,
}

/// What a key that SQL cannot decide stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// TRUE: the condition holds for every match (and maybe more).
    Upper,
    /// FALSE: the condition holds only for matches (and maybe not all).
    Lower,
}

impl Bound {
    fn flip(self) -> Self {
        match self {
            Bound::Upper => Bound::Lower,
            Bound::Lower => Bound::Upper,
        }
    }
}

fn bit(f: Flag) -> i16 {
    match f {
        Flag::Seen => 1,
        Flag::Answered => 2,
        Flag::Flagged => 4,
        Flag::Deleted => 8,
        Flag::Draft => 16,
    }
}

impl Condition {
    /// A condition whose first parameter (`$1`) is the mailbox id.
    fn new(mailbox: i64) -> Self {
        let mut c = Self::default();
        c.param(mailbox);
        c
    }

    fn param(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(v));
        format!("${}", self.params.len())
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    /// `m.uid` in `set`.
    fn uids(&mut self, set: &UidSet) -> String {
        let (lo, hi) = bounds(set);
        match (lo.as_slice(), hi.as_slice()) {
            ([], _) => "FALSE".into(),
            ([a], [b]) => format!("m.uid BETWEEN {} AND {}", self.param(*a), self.param(*b)),
            _ => format!(
                "EXISTS (SELECT 1 FROM unnest({}::bigint[], {}::bigint[]) AS r(lo, hi) \
                 WHERE m.uid BETWEEN r.lo AND r.hi)",
                self.param(lo),
                self.param(hi)
            ),
        }
    }

    fn day(&mut self, column: &str, cmp: DayCmp, day: crate::date::Day) -> String {
        let Some(d) = day_number(Some(day)) else {
            return "FALSE".into();
        };
        let op = match cmp {
            DayCmp::Before => "<",
            DayCmp::On => "=",
            DayCmp::Since => ">=",
        };
        format!("COALESCE({column} {op} {}, FALSE)", self.param(d))
    }

    fn size(&mut self, op: &str, n: u64) -> String {
        match i64::try_from(n) {
            Ok(n) => format!("m.size {op} {}", self.param(n)),
            // Larger than any message, smaller than every one.
            Err(_) => if op == ">" { "FALSE" } else { "TRUE" }.into(),
        }
    }

    /// The condition `q` stands for, each key SQL cannot decide read as `bound` says.
    fn cond(&mut self, q: &SearchQuery, bound: Bound) -> String {
        match q {
            SearchQuery::All => "TRUE".into(),
            SearchQuery::Flag(f) => format!("(m.flags & {}) <> 0", bit(*f)),
            SearchQuery::Keyword(k) => {
                format!(
                    "{} = ANY(m.keywords_lower)",
                    self.param(k.as_str().to_ascii_lowercase())
                )
            }
            SearchQuery::Uids(set) => self.uids(set),
            SearchQuery::Larger(n) => self.size(">", *n),
            SearchQuery::Smaller(n) => self.size("<", *n),
            SearchQuery::InternalDay(cmp, day) => self.day("m.internal_day", *cmp, *day),
            SearchQuery::SentDay(cmp, day) => self.day("m.sent_day", *cmp, *day),
            SearchQuery::ArrivedBefore(t) => format!("m.internal_date < {}", self.param(*t)),
            SearchQuery::ArrivedSince(t) => format!("m.internal_date >= {}", self.param(*t)),
            SearchQuery::ModSeqAtLeast(n) => match i64::try_from(*n) {
                Ok(n) => format!("m.modseq >= {}", self.param(n)),
                Err(_) => "FALSE".into(),
            },
            SearchQuery::Header { name, contains } => {
                // The value as stored decides where it matches; one with encoded words may
                // match only decoded (RFC 2047), which the scan decides.
                self.inexact = true;
                let name = self.param(name.to_ascii_lowercase());
                let exact = format!(
                    "EXISTS (SELECT 1 FROM header_fields h WHERE h.hash = m.hash AND h.name = {name} \
                     AND position({} IN h.value) > 0)",
                    self.param(contains.to_ascii_lowercase())
                );
                match bound {
                    Bound::Lower => exact,
                    Bound::Upper => format!(
                        "({exact} OR EXISTS (SELECT 1 FROM header_fields h WHERE h.hash = m.hash \
                         AND h.name = {name} AND position('=?' IN h.value) > 0))"
                    ),
                }
            }
            SearchQuery::Address { name, contains }
                if ADDRESS_FIELDS
                    .iter()
                    .any(|f| f.as_bytes().eq_ignore_ascii_case(name)) =>
            {
                format!(
                    "EXISTS (SELECT 1 FROM addresses a WHERE a.hash = m.hash AND a.name = {} \
                     AND position({} IN a.form) > 0)",
                    self.param(name.to_ascii_lowercase()),
                    self.param(contains.to_ascii_lowercase())
                )
            }
            SearchQuery::Address { .. } | SearchQuery::Body(_) | SearchQuery::Text(_) => {
                self.inexact = true;
                match bound {
                    Bound::Upper => "TRUE".into(),
                    Bound::Lower => "FALSE".into(),
                }
            }
            SearchQuery::Not(q) => format!("NOT ({})", self.cond(q, bound.flip())),
            SearchQuery::Or(a, b) => {
                format!("(({}) OR ({}))", self.cond(a, bound), self.cond(b, bound))
            }
            SearchQuery::And(v) if v.is_empty() => "TRUE".into(),
            SearchQuery::And(v) => {
                let parts: Vec<String> = v
                    .iter()
                    .map(|q| format!("({})", self.cond(q, bound)))
                    .collect();
                parts.join(" AND ")
            }
        }
    }
}

/// The SQL a search runs: `SELECT uid, modseq, decided FROM messages m WHERE ...`, with its
/// parameters; `decided` is whether the row certainly matches (false: left to the scan).
/// Public for tests and for looking at the plans.
pub fn sql(mailbox: i64, scope: &UidSet, q: &SearchQuery) -> (String, Condition) {
    let mut c = Condition::new(mailbox);
    let scope = c.uids(scope);
    let upper = c.cond(q, Bound::Upper);
    let text = if c.inexact {
        let lower = c.cond(q, Bound::Lower);
        format!(
            "SELECT m.uid, m.modseq, ({lower}) FROM messages m \
             WHERE m.mailbox_id = $1 AND ({scope}) AND ({upper}) ORDER BY m.uid"
        )
    } else {
        format!(
            "SELECT m.uid, m.modseq, TRUE FROM messages m \
             WHERE m.mailbox_id = $1 AND ({scope}) AND ({upper}) ORDER BY m.uid"
        )
    };
    (text, c)
}

impl Condition {
    /// Whether some key is left to the scan.
    pub fn is_inexact(&self) -> bool {
        self.inexact
    }
}

impl Inner {
    /// The hits SQL decides, and the UIDs only a scan of the octets can decide.
    pub async fn search(
        &self,
        s: &Session,
        name: &str,
        uids: &UidSet,
        q: &SearchQuery,
    ) -> R<(Vec<SearchHit>, UidSet)> {
        let name = self.canonical(name)?;
        let c = self.client().await?;
        let mailbox = self.mailbox_id(&c, s, &name).await?;
        let (text, cond) = sql(mailbox, uids, q);
        // Built per query: not worth a cached statement.
        let rows = c.query(text.as_str(), &cond.params()).await?;
        let mut hits = Vec::new();
        let mut undecided = UidSet::new();
        for row in rows {
            let u = uid(row.try_get(0)?)?;
            if row.try_get::<_, bool>(2)? {
                hits.push(SearchHit {
                    uid: u,
                    modseq: modseq(row.try_get(1)?)?,
                });
            } else {
                undecided.insert(u);
            }
        }
        Ok((hits, undecided))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Uid;

    #[test]
    fn exact_queries_leave_nothing_to_the_scan() {
        let q = SearchQuery::And(vec![
            SearchQuery::Flag(Flag::Seen),
            !SearchQuery::Keyword(crate::types::Keyword::try_from("$Junk").unwrap()),
            SearchQuery::Larger(10),
        ]);
        let (text, c) = sql(7, &UidSet::all(), &q);
        assert!(!c.is_inexact(), "{text}");
        assert!(text.contains("keywords_lower") && text.contains("m.size >"));
        assert_eq!(c.params.len(), 5, "{text}");
    }

    /// A header field matches as stored or with its encoded words decoded: rows whose
    /// field holds an encoded word and does not match as stored are the scan's.
    #[test]
    fn header_keys_leave_encoded_words_to_the_scan() {
        let q = !SearchQuery::Header {
            name: b"Subject".to_vec(),
            contains: b"Hi".to_vec(),
        };
        let (text, c) = sql(7, &UidSet::all(), &q);
        assert!(c.is_inexact(), "{text}");
        assert!(text.contains("position('=?' IN h.value)"), "{text}");
    }

    #[test]
    fn body_keys_bound_the_query_both_ways() {
        let body = SearchQuery::Body(b"x".to_vec());
        let q = SearchQuery::or(SearchQuery::Flag(Flag::Deleted), !body);
        let (text, c) = sql(7, &UidSet::single(Uid::MIN), &q);
        assert!(c.is_inexact());
        // Upper bound: deleted OR NOT FALSE; lower bound: deleted OR NOT TRUE.
        assert!(
            text.contains("NOT (FALSE)") && text.contains("NOT (TRUE)"),
            "{text}"
        );
        let (text, _) = sql(7, &UidSet::new(), &SearchQuery::All);
        assert!(text.contains("(FALSE)"));
    }
}
