//! Names on disk: Maildir++ folder names (modified UTF-7, as Dovecot and Courier write them)
//! and the `:2,` flag suffix of message files, with Dovecot's keyword letters.

use std::{fs, path::Path};

use sansmail_core::utf7;

use crate::types::{Flag, Flags, Keyword};

/// The directory of a mailbox below the Maildir root: `""` for INBOX, `.A.B` for `A.B`.
pub(crate) fn folder_dir(name: &str) -> String {
    if name == "INBOX" {
        return String::new();
    }
    let mut s = String::new();
    for level in name.split('.') {
        s.push('.');
        s.push_str(&utf7::encode(level));
    }
    s
}

/// The mailbox name of a Maildir++ folder directory (`.A.B` → `A.B`), if it is one: only a
/// directory [`folder_dir`] gives back for the name, since the store finds a mailbox's
/// files there. Another spelling (raw UTF-8 as mutt or Dovecot's `:UTF-8` write it, or
/// modified UTF-7 not in its shortest form) would be served from a second, empty
/// directory created beside it, and opened twice at the next load.
pub(crate) fn folder_name(dir: &str) -> Option<String> {
    let rest = dir.strip_prefix('.')?;
    if rest.is_empty() || rest.starts_with('.') {
        return None;
    }
    let name = decode_levels(rest)?;
    if name.eq_ignore_ascii_case("INBOX") || folder_dir(&name) != dir {
        return None;
    }
    Some(name)
}

/// A `.`-separated name in modified UTF-7, level by level, as UTF-8.
pub(crate) fn decode_levels(name: &str) -> Option<String> {
    let levels: Option<Vec<String>> = name.split('.').map(utf7::decode).collect();
    levels.map(|l| l.join("."))
}

/// Splits a message file name into its base and the letters after `:2,`.
pub(crate) fn split_info(file: &str) -> (&str, &str) {
    match file.rsplit_once(':') {
        Some((base, info)) => (base, info.strip_prefix("2,").unwrap_or("")),
        None => (file, ""),
    }
}

fn letter(flag: Flag) -> char {
    match flag {
        Flag::Draft => 'D',
        Flag::Flagged => 'F',
        Flag::Answered => 'R',
        Flag::Seen => 'S',
        Flag::Deleted => 'T',
    }
}

/// The letters of the Maildir flags we own.
const OURS: &str = "DFPRST";

/// The `:2,` suffix for `flags`, keeping `extra` letters (keywords of other programs) and
/// sorting all letters in ASCII order.
pub(crate) fn info_for(flags: &Flags, old_info: &str) -> String {
    let mut letters: Vec<char> = flags.system().map(letter).collect();
    if flags.has_keyword(Keyword::FORWARDED) {
        letters.push('P');
    }
    letters.extend(old_info.chars().filter(|c| !OURS.contains(*c)));
    letters.sort_unstable();
    letters.dedup();
    let mut s = String::from(":2,");
    s.extend(letters);
    s
}

/// The system flags (and `$Forwarded`) a file's info letters say, plus the lowercase letters
/// (Dovecot keyword indices).
pub(crate) fn flags_from_info(info: &str) -> (Flags, Vec<usize>) {
    let mut f = Flags::new();
    let mut kw = Vec::new();
    for c in info.chars() {
        match c {
            'D' => f.insert(Flag::Draft),
            'F' => f.insert(Flag::Flagged),
            'R' => f.insert(Flag::Answered),
            'S' => f.insert(Flag::Seen),
            'T' => f.insert(Flag::Deleted),
            'P' => {
                if let Ok(k) = Keyword::try_from(Keyword::FORWARDED) {
                    f.insert_keyword(k);
                }
            }
            'a'..='z' => kw.push((c as usize) - ('a' as usize)),
            _ => {}
        }
    }
    (f, kw)
}

/// Whether a file name's flag letters agree with `flags` (ignoring other programs' letters).
pub(crate) fn info_matches(file: &str, flags: &Flags) -> bool {
    let (_, info) = split_info(file);
    let (f, _) = flags_from_info(info);
    let mut ours = flags.clone();
    for k in flags.keywords() {
        if !k.as_str().eq_ignore_ascii_case(Keyword::FORWARDED) {
            ours.remove_keyword(k);
        }
    }
    f == ours
}

/// The keywords of Dovecot's letters `a`–`z`, by index, from its `dovecot-keywords` file (none
/// if there is no such file).
pub(crate) fn dovecot_keywords(dir: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(dir.join("dovecot-keywords")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some((n, kw)) = line.split_once(' ')
            && let Ok(n) = n.parse::<usize>()
        {
            if out.len() <= n {
                out.resize(n + 1, String::new());
            }
            kw.clone_into(&mut out[n]);
        }
    }
    out
}

/// The other programs' letters of `old_info`, with the letters of Dovecot's keywords set to
/// match `flags` (`dovecot-keywords` maps `a`–`z` to keywords).
pub(crate) fn dovecot_letters(dovecot_kw: &[String], flags: &Flags, old_info: &str) -> String {
    if dovecot_kw.is_empty() {
        return old_info.to_owned();
    }
    let mut out: String = old_info
        .chars()
        .filter(|c| {
            !c.is_ascii_lowercase()
                || dovecot_kw
                    .get((*c as usize) - ('a' as usize))
                    .is_none_or(String::is_empty)
        })
        .collect();
    for (i, k) in dovecot_kw.iter().enumerate().take(26) {
        if !k.is_empty() && flags.has_keyword(k) {
            out.push(char::from(b'a' + u8::try_from(i).unwrap_or(0)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders() {
        assert_eq!(folder_dir("INBOX"), "");
        assert_eq!(folder_dir("Work.Ärger"), ".Work.&AMQ-rger");
        assert_eq!(
            folder_name(".Work.&AMQ-rger").as_deref(),
            Some("Work.Ärger")
        );
        assert_eq!(folder_name(".."), None);
        assert_eq!(folder_name("..deleted"), None);
        assert_eq!(folder_name("cur"), None);
        // Not the encoding folder_dir writes: it would map to another directory.
        assert_eq!(folder_name(".&AGE-"), None);
        assert_eq!(folder_name(".Entwürfe"), None);
        assert_eq!(folder_name(".Work.Entwürfe"), None);
    }

    #[test]
    fn info_letters_sorted_and_kept() {
        let f = Flags::new()
            .with(Flag::Seen)
            .with(Flag::Answered)
            .with(Flag::Flagged)
            .with_keyword(Keyword::try_from("$Forwarded").unwrap());
        assert_eq!(info_for(&f, ""), ":2,FPRS");
        assert_eq!(info_for(&Flags::new().with(Flag::Deleted), "Sab"), ":2,Tab");
        assert_eq!(split_info("123.x,S=5:2,RS"), ("123.x,S=5", "RS"));
        assert_eq!(split_info("123.x"), ("123.x", ""));
        let (g, kw) = flags_from_info("DFPRSTac");
        assert!(
            g.contains(Flag::Draft) && g.contains(Flag::Deleted) && g.has_keyword("$forwarded")
        );
        assert_eq!(kw, vec![0, 2]);
        assert!(info_matches(
            "x:2,FPRS",
            &f.clone().with_keyword(Keyword::try_from("Other").unwrap())
        ));
        assert!(!info_matches("x:2,FRS", &f));
    }
}
