//! What Dovecot (and Courier) keep beside a Maildir, read once when the store first opens
//! one of theirs, so that moving a Maildir here changes no UID, no UIDVALIDITY (and so no
//! POP3 UIDL: ours has Dovecot's default form) and no subscription.

use std::{collections::HashMap, fs, path::Path};

use super::names::{decode_levels, split_info};

/// Written in a folder once its UIDs were taken from Dovecot's or Courier's list: the list
/// is not read again, should our index of the folder be lost (it may be stale by then, and
/// a new UIDVALIDITY is the safe answer).
pub(crate) const IMPORTED: &str = "mailstore-uids-imported";

/// The largest UIDVALIDITY or UID taken from another program's list.
const MAX: u32 = i32::MAX as u32;

/// The UIDs a folder's `dovecot-uidlist` (or Courier's `courierimapuiddb`) gave its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UidList {
    pub uidvalidity: u32,
    /// Above every UID listed.
    pub uidnext: u32,
    /// Base file name (without the `:2,` info) → UID.
    pub uids: HashMap<String, u32>,
}

/// Reads `dir/dovecot-uidlist`, or else `dir/courierimapuiddb`:
///
/// ```text
/// version 3 (Dovecot 1.0+):  "3" *(SP field)      ; V<uidvalidity> N<nextuid> G<guid> ...
///                            uid *(SP ext-field) SP ":" filename
/// version 1 (Courier, old Dovecot):  "1" SP uidvalidity SP nextuid
///                            uid SP filename
/// ```
///
/// `None` when neither file is there, its header cannot be read or its values are past
/// 2^31 (Dovecot's are times in seconds; larger ones would use up the UIDVALIDITY and UID
/// spaces), and once a folder's was taken ([`IMPORTED`]); a message line that cannot be
/// read is skipped (that message gets a new UID).
pub(crate) fn uidlist(dir: &Path) -> Option<UidList> {
    if dir.join(IMPORTED).exists() {
        return None;
    }
    let text = fs::read_to_string(dir.join("dovecot-uidlist"))
        .or_else(|_| fs::read_to_string(dir.join("courierimapuiddb")))
        .ok()?;
    let mut lines = text.lines();
    let mut header = lines.next()?.split_ascii_whitespace();
    let (uidvalidity, uidnext) = match header.next()? {
        "3" => {
            let (mut v, mut n) = (None, None);
            for field in header {
                if let Some(x) = field.strip_prefix('V') {
                    v = x.parse::<u32>().ok();
                } else if let Some(x) = field.strip_prefix('N') {
                    n = x.parse::<u32>().ok();
                }
            }
            (v?, n.unwrap_or(1))
        }
        "1" | "2" => (header.next()?.parse().ok()?, header.next()?.parse().ok()?),
        _ => return None,
    };
    if uidvalidity == 0 || uidvalidity > MAX || uidnext > MAX {
        return None;
    }
    let mut list = UidList {
        uidvalidity,
        uidnext: uidnext.max(1),
        uids: HashMap::new(),
    };
    for line in lines {
        let Some((uid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(uid) = uid.parse::<u32>().ok().filter(|&u| u > 0 && u < MAX) else {
            continue;
        };
        // Version 3 puts the file name after " :"; version 1 has it as the second word.
        let file = match rest.split_once(':') {
            Some((fields, file)) if fields.is_empty() || fields.ends_with(' ') => file,
            _ => rest.split_ascii_whitespace().next().unwrap_or(""),
        };
        let base = split_info(file).0;
        if !base.is_empty() {
            list.uids.entry(base.to_owned()).or_insert(uid);
            list.uidnext = list.uidnext.max(uid + 1);
        }
    }
    Some(list)
}

/// The subscriptions in an account's Maildir root, in the store's names (`.` between
/// levels, UTF-8; names the store would refuse are left out): Dovecot's `subscriptions` (version 2: a `V\t2` line, then UTF-8 names
/// with a tab between levels; version 1: one name per line, modified UTF-7) or else Courier's
/// `courierimapsubscribed` (names under `INBOX.`). `None` when neither file is there.
pub(crate) fn subscriptions(root: &Path) -> Option<Vec<String>> {
    let names = read_subscriptions(root)?;
    Some(
        names
            .into_iter()
            .filter_map(|n| crate::names::canonical(&n, '.').ok())
            .collect(),
    )
}

fn read_subscriptions(root: &Path) -> Option<Vec<String>> {
    if let Ok(text) = fs::read_to_string(root.join("subscriptions")) {
        let mut lines = text.lines().peekable();
        let v2 = lines.next_if(|l| *l == "V\t2").is_some();
        return Some(
            lines
                .filter(|l| !l.is_empty())
                .filter_map(|l| {
                    if v2 {
                        Some(l.replace('\t', "."))
                    } else {
                        decode_levels(l)
                    }
                })
                .collect(),
        );
    }
    let text = fs::read_to_string(root.join("courierimapsubscribed")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| match l.strip_prefix("INBOX.") {
                Some(name) => decode_levels(name),
                None if l.eq_ignore_ascii_case("INBOX") => Some("INBOX".to_owned()),
                None => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of its own for a test, removed after it.
    struct Dir(std::path::PathBuf);

    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dir_with(files: &[(&str, &str)]) -> Dir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = Dir(
            std::env::temp_dir().join(format!("mail-store-dovecot-{}-{n}", std::process::id()))
        );
        fs::create_dir_all(d.path()).unwrap();
        for (name, text) in files {
            fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn uidlist_version_3() {
        let d = dir_with(&[(
            "dovecot-uidlist",
            "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n\
             25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,S\n\
             25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n\
             bad line\n\
             0 :zero\n",
        )]);
        let list = uidlist(d.path()).unwrap();
        assert_eq!(list.uidvalidity, 1_275_660_208);
        assert_eq!(list.uidnext, 25022);
        assert_eq!(list.uids.len(), 2);
        assert_eq!(
            list.uids["1276528487.M364837P9451.kurkku,S=1355,W=1394"],
            25006
        );
        assert_eq!(list.uids["1276533073.M242911P3632.kurkku"], 25017);
    }

    #[test]
    fn uidlist_version_1_and_a_next_uid_below_a_listed_one() {
        let d = dir_with(&[(
            "courierimapuiddb",
            "1 1000 5\n3 1600000000.M1P1.host:2,S\n9 1600000001.M1P1.host\n",
        )]);
        let list = uidlist(d.path()).unwrap();
        assert_eq!((list.uidvalidity, list.uidnext), (1000, 10));
        assert_eq!(list.uids["1600000000.M1P1.host"], 3);
        assert_eq!(list.uids["1600000001.M1P1.host"], 9);
    }

    #[test]
    fn uidlist_absent_unreadable_out_of_range_or_taken() {
        assert_eq!(uidlist(dir_with(&[]).path()), None);
        assert_eq!(
            uidlist(dir_with(&[("dovecot-uidlist", "3 V4294967295 N2\n")]).path()),
            None
        );
        assert_eq!(
            uidlist(dir_with(&[("dovecot-uidlist", "3 V7 N4000000000\n")]).path()),
            None
        );
        let far = dir_with(&[("dovecot-uidlist", "3 V7 N2\n4000000000 :far\n1 :near\n")]);
        assert_eq!(uidlist(far.path()).unwrap().uids.len(), 1);
        let taken = dir_with(&[("dovecot-uidlist", "3 V7 N2\n1 :a\n"), (IMPORTED, "")]);
        assert_eq!(uidlist(taken.path()), None);
        assert_eq!(
            uidlist(dir_with(&[("dovecot-uidlist", "7 V1 N2\n")]).path()),
            None
        );
        assert_eq!(
            uidlist(dir_with(&[("dovecot-uidlist", "3 N2\n")]).path()),
            None
        );
    }

    #[test]
    fn subscriptions_of_dovecot_and_courier() {
        let v2 = dir_with(&[("subscriptions", "V\t2\n\nWork\nWork\tDone\nCafé\n")]);
        assert_eq!(
            subscriptions(v2.path()).unwrap(),
            ["Work", "Work.Done", "Café"]
        );
        let v1 = dir_with(&[("subscriptions", "Work\nCaf&AOk-.Menu\n")]);
        assert_eq!(subscriptions(v1.path()).unwrap(), ["Work", "Café.Menu"]);
        let odd = dir_with(&[("subscriptions", "inbox\nA*B\nWork..Done\nfine\n")]);
        assert_eq!(subscriptions(odd.path()).unwrap(), ["INBOX", "fine"]);
        let courier = dir_with(&[("courierimapsubscribed", "INBOX.Sent\nINBOX.Work.Done\n")]);
        assert_eq!(
            subscriptions(courier.path()).unwrap(),
            ["Sent", "Work.Done"]
        );
        assert_eq!(subscriptions(dir_with(&[]).path()), None);
    }
}
