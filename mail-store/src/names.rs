//! Mailbox names for every backend: the rules a name follows, `INBOX`'s canonical form, and
//! LIST patterns (`*` matches anything, `%` anything but the hierarchy delimiter).

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    error::{Result, StoreError},
    model::{ListScope, MailboxInfo},
    types::SpecialUse,
};

/// Validates a mailbox name and makes its leading `INBOX` canonical (any case becomes
/// `INBOX`): 1-1000 bytes, no control character, no empty hierarchy level, no wildcard.
pub(crate) fn canonical(name: &str, d: char) -> Result<String> {
    if name.is_empty() || name.len() > 1000 {
        return Err(StoreError::InvalidName("mailbox name must be 1-1000 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::InvalidName(
            "mailbox name has a control character",
        ));
    }
    if name.split(d).any(str::is_empty) {
        return Err(StoreError::InvalidName(
            "mailbox name has an empty hierarchy level",
        ));
    }
    if name.contains(['*', '%']) {
        return Err(StoreError::InvalidName("mailbox name has a wildcard"));
    }
    let first_end = name.find(d).unwrap_or(name.len());
    Ok(if name[..first_end].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &name[first_end..])
    } else {
        name.to_owned()
    })
}

/// A LIST answer from an account's mailboxes (name and special-use role) and
/// subscriptions: the names `pattern` matches, sorted, with nonexistent parents of existing
/// mailboxes (or, for [`ListScope::Subscribed`], the subscribed names whether or not they
/// exist).
pub(crate) fn list(
    mailboxes: &BTreeMap<String, Option<SpecialUse>>,
    subscriptions: &BTreeSet<String>,
    pattern: &str,
    scope: ListScope,
    d: char,
) -> Vec<MailboxInfo> {
    let mut names: BTreeMap<String, bool> = BTreeMap::new();
    match scope {
        ListScope::All => {
            for name in mailboxes.keys() {
                names.insert(name.clone(), true);
                let mut cut = name.as_str();
                while let Some(i) = cut.rfind(d) {
                    cut = &cut[..i];
                    names.entry(cut.to_owned()).or_insert(false);
                }
            }
        }
        ListScope::Subscribed => {
            for name in subscriptions {
                names.insert(name.clone(), mailboxes.contains_key(name));
            }
        }
    }
    let is_child = |n: &str, parent: &str| {
        n.len() > parent.len() && n.starts_with(parent) && n[parent.len()..].starts_with(d)
    };
    let pattern = Pattern::new(pattern, d);
    let mut out = Vec::new();
    for (name, exists) in names {
        if !pattern.matches(&name) {
            continue;
        }
        let has_children = mailboxes
            .range(format!("{name}{d}")..)
            .next()
            .is_some_and(|(n, _)| is_child(n, &name));
        out.push(MailboxInfo {
            special_use: mailboxes.get(&name).copied().flatten(),
            subscribed: subscriptions.contains(&name),
            name,
            exists,
            has_children,
        });
    }
    out
}

/// A LIST pattern, read once for all the names it is matched against. A leading `INBOX`
/// matches case-insensitively (names reach here with INBOX already canonical).
///
/// A pattern may be as long as a command line or a literal allows, so its cost is bounded
/// by the name: runs of wildcards are collapsed, a pattern with more ordinary characters
/// than the name has matches nothing, and the matcher neither recurses nor remembers more
/// than one flag per position of the name.
pub(crate) struct Pattern {
    elements: Vec<char>,
    ordinary: usize,
    delim: char,
}

impl Pattern {
    pub(crate) fn new(pattern: &str, delim: char) -> Self {
        let elements = collapse_wildcards(&canonical_inbox(pattern, delim));
        let ordinary = elements.iter().filter(|c| !matches!(c, '*' | '%')).count();
        Self {
            elements,
            ordinary,
            delim,
        }
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        if self.ordinary > name.len() {
            return false;
        }
        let n: Vec<char> = name.chars().collect();
        self.ordinary <= n.len() && glob(&self.elements, &n, self.delim)
    }
}

/// Whether `name` matches `pattern` ([`Pattern`]).
#[cfg(test)]
pub(crate) fn matches(pattern: &str, name: &str, delim: char) -> bool {
    Pattern::new(pattern, delim).matches(name)
}

fn canonical_inbox(pattern: &str, delim: char) -> String {
    let first_end = pattern.find(delim).unwrap_or(pattern.len());
    if pattern[..first_end].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &pattern[first_end..])
    } else {
        pattern.to_owned()
    }
}

/// The pattern with each run of wildcards as one: a run holding `*` matches what `*`
/// does, a run of `%` what `%` does.
fn collapse_wildcards(pattern: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(pattern.len());
    for c in pattern.chars() {
        match (out.last_mut(), c) {
            (Some(last @ ('*' | '%')), '*' | '%') => {
                if c == '*' {
                    *last = '*';
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Carries the set of name positions that the pattern read so far can end at through the
/// pattern, one element at a time: O(|p|·|n|) time, O(|n|) memory.
fn glob(p: &[char], n: &[char], delim: char) -> bool {
    let mut at = vec![false; n.len() + 1];
    at[0] = true;
    for &c in p {
        match c {
            // Any position at or after one reached.
            '*' => {
                let mut reached = false;
                for a in &mut at {
                    reached |= *a;
                    *a = reached;
                }
            }
            // The same, without crossing a delimiter.
            '%' => {
                let mut reached = false;
                for (j, a) in at.iter_mut().enumerate() {
                    let carried = j > 0 && reached && n[j - 1] != delim;
                    reached = *a || carried;
                    *a = reached;
                }
            }
            // One position on, where the name has this character.
            c => {
                for j in (0..n.len()).rev() {
                    at[j + 1] = at[j] && n[j] == c;
                }
                at[0] = false;
            }
        }
        if !at.contains(&true) {
            return false;
        }
    }
    at[n.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    /// The definition, recursively: the reference for the matcher on short inputs.
    fn reference(p: &[char], n: &[char], d: char) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|k| reference(rest, &n[k..], d)),
            Some(('%', rest)) => (0..=n.len())
                .take_while(|&k| k == 0 || n[k - 1] != d)
                .any(|k| reference(rest, &n[k..], d)),
            Some((c, rest)) => n.first() == Some(c) && reference(rest, &n[1..], d),
        }
    }

    /// Every string of up to `len` characters from `alphabet`.
    fn strings(alphabet: &[char], len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..len {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn agrees_with_the_definition() {
        let patterns = strings(&['a', 'b', '/', '*', '%'], 5);
        let names = strings(&['a', 'b', '/'], 5);
        for p in &patterns {
            let pc: Vec<char> = p.chars().collect();
            for n in &names {
                let nc: Vec<char> = n.chars().collect();
                assert_eq!(
                    matches(p, n, '/'),
                    reference(&pc, &nc, '/'),
                    "pattern {p:?}, name {n:?}"
                );
            }
        }
    }

    /// A pattern of a whole command line's wildcards, on a thread with the stack of the
    /// executors that list mailboxes: the recursive matcher overflowed it from about 20,000.
    #[test]
    fn long_patterns_are_cheap() {
        let t = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                let name = format!("{}x", "a/".repeat(499));
                (
                    matches(&"%".repeat(60_000), "INBOX", '/'),
                    matches(&"*a".repeat(30_000), &name, '/'),
                    matches(&format!("{}x", "*a/".repeat(499)), &name, '/'),
                    matches(&"%a".repeat(30_000), &"a".repeat(1000), '/'),
                )
            })
            .expect("spawn");
        assert_eq!(t.join().expect("no overflow"), (true, false, true, false));
    }

    #[test]
    fn wildcards() {
        assert!(matches("*", "a/b/c", '/'));
        assert!(matches("%", "a", '/'));
        assert!(!matches("%", "a/b", '/'));
        assert!(matches("a/%", "a/b", '/'));
        assert!(!matches("a/%", "a/b/c", '/'));
        assert!(matches("a/*", "a/b/c", '/'));
        assert!(matches("inbox", "INBOX", '/'));
        assert!(matches("Inbox.%", "INBOX.x", '.'));
        assert!(!matches("inbox", "inboxes", '/'));
        assert!(matches("%b%", "abc", '/'));
        assert!(matches("*c", "a/b/c", '/'));
        assert!(!matches("x", "X", '/'));
    }
}
