//! LIST patterns: `*` matches anything, `%` anything but the hierarchy delimiter.

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
