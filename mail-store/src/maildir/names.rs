//! Names on disk: Maildir++ folder names (modified UTF-7, as Dovecot and Courier write them)
//! and the `:2,` flag suffix of message files.

use crate::types::{Flag, Flags, Keyword};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Encodes one hierarchy level in modified UTF-7 (RFC 3501 §5.1.3).
pub(crate) fn mutf7_encode(s: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes modified UTF-7; `None` if malformed.
pub(crate) fn mutf7_decode(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = s.split('&');
    out.push_str(it.next()?);
    for part in it {
        let (enc, rest) = part.split_once('-')?;
        if enc.is_empty() {
            out.push('&');
        } else {
            let mut bits = 0u32;
            let mut nbits = 0;
            let mut bytes = Vec::new();
            for c in enc.bytes() {
                let v = B64.iter().position(|&b| b == c)?;
                bits = (bits << 6) | u32::try_from(v).ok()?;
                nbits += 6;
                if nbits >= 8 {
                    nbits -= 8;
                    bytes.push(u8::try_from((bits >> nbits) & 0xff).ok()?);
                }
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        out.push_str(rest);
    }
    Some(out)
}

/// The directory of a mailbox below the Maildir root: `""` for INBOX, `.A.B` for `A.B`.
pub(crate) fn folder_dir(name: &str) -> String {
    if name == "INBOX" {
        return String::new();
    }
    let mut s = String::new();
    for level in name.split('.') {
        s.push('.');
        s.push_str(&mutf7_encode(level));
    }
    s
}

/// The mailbox name of a Maildir++ folder directory (`.A.B` → `A.B`), if it is one.
pub(crate) fn folder_name(dir: &str) -> Option<String> {
    let rest = dir.strip_prefix('.')?;
    if rest.is_empty() || rest.starts_with('.') {
        return None;
    }
    let levels: Option<Vec<String>> = rest.split('.').map(mutf7_decode).collect();
    let name = levels?.join(".");
    if name.eq_ignore_ascii_case("INBOX") {
        return None;
    }
    Some(name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutf7_round_trip() {
        for (plain, enc) in [
            ("Ärger", "&AMQ-rger"),
            ("a&b", "a&-b"),
            ("日本語", "&ZeVnLIqe-"),
            ("plain", "plain"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ] {
            assert_eq!(mutf7_encode(plain), enc);
            assert_eq!(mutf7_decode(enc).as_deref(), Some(plain));
        }
        assert_eq!(mutf7_decode("&Jjo!"), None);
    }

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
