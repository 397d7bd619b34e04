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
    let mut out = Vec::new();
    for (name, exists) in names {
        if !matches(pattern, &name, d) {
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

/// Whether `name` matches `pattern`. A leading `INBOX` in the pattern matches
/// case-insensitively (names reach here with INBOX already canonical).
pub(crate) fn matches(pattern: &str, name: &str, delim: char) -> bool {
    let p: Vec<char> = canonical_inbox(pattern, delim).chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob(&p, &n, delim)
}

fn canonical_inbox(pattern: &str, delim: char) -> String {
    let first_end = pattern.find(delim).unwrap_or(pattern.len());
    if pattern[..first_end].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &pattern[first_end..])
    } else {
        pattern.to_owned()
    }
}

fn glob(p: &[char], n: &[char], delim: char) -> bool {
    // Iterative matcher with memoisation over (pattern index, name index).
    let mut memo = vec![None::<bool>; (p.len() + 1) * (n.len() + 1)];
    go(p, n, 0, 0, delim, &mut memo)
}

#[allow(clippy::many_single_char_names)]
fn go(p: &[char], n: &[char], i: usize, j: usize, delim: char, memo: &mut [Option<bool>]) -> bool {
    let key = i * (n.len() + 1) + j;
    if let Some(v) = memo[key] {
        return v;
    }
    let v = match p.get(i) {
        None => j == n.len(),
        Some('*') => (j..=n.len()).any(|k| go(p, n, i + 1, k, delim, memo)),
        Some('%') => {
            let mut k = j;
            loop {
                if go(p, n, i + 1, k, delim, memo) {
                    break true;
                }
                if k == n.len() || n[k] == delim {
                    break false;
                }
                k += 1;
            }
        }
        Some(c) => n.get(j) == Some(c) && go(p, n, i + 1, j + 1, delim, memo),
    };
    memo[key] = Some(v);
    v
}

#[cfg(test)]
mod tests {
    use super::matches;

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
