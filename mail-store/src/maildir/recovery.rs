//! Recovery and other programs: opening a mailbox replays its journal over its snapshot and
//! compares the index with the directory, so messages delivered, renamed or removed by
//! another program (or written before a crash) are picked up.

use std::{
    collections::{HashMap, HashSet},
    fs, io,
    path::Path,
};

use super::{
    FileRef,
    disk::{COMPACT_AFTER, Disk, Runtime, mtimes, not_found},
    index,
    names::{dovecot_keywords, flags_from_info, split_info},
};
use crate::{
    engine::{AccountMeta, Header, MailboxState, MessageMeta, Record, crlf_size, lock, to_crlf},
    error::{Result, StoreError},
    mime::MimeInfo,
    types::{AccountName, InternalDate, Keyword, Uid},
};

impl Disk {
    /// Opens one mailbox: snapshot, journal replay, directory scan, fresh snapshot.
    pub(super) fn load_mailbox(
        &self,
        a: &AccountName,
        name: &str,
        meta: &mut AccountMeta,
    ) -> Result<MailboxState<FileRef>> {
        let dir = self.mailbox_dir(a, name);
        Self::ensure_dirs(&dir)?;
        self.clean_tmp(&dir.join("tmp"));
        let (mut state, generation) = match index::read_snapshot(&dir) {
            Ok(Some(found)) => found,
            // No index (a Maildir another program wrote) or one we cannot trust: UIDs start
            // over under a new UIDVALIDITY.
            Ok(None) | Err(StoreError::Corrupt(_)) => (
                MailboxState::new(Header::new(meta.next_uidvalidity(), None)),
                0,
            ),
            Err(e) => return Err(e),
        };
        let mut replayed = 0;
        let mut valid_len = None;
        if let Some((txs, len)) = index::read_log(&dir, generation)? {
            replayed = txs.len();
            valid_len = Some(len);
            for tx in txs {
                state.apply_all(tx);
            }
        }
        let records = Self::scan(&dir, &state)?;
        let (log, generation, log_lines) = match valid_len {
            // A clean snapshot and journal: keep appending to the journal.
            Some(len) if records.is_empty() && replayed < COMPACT_AFTER => (
                index::open_log(&dir, len, self.durable())?,
                generation,
                replayed,
            ),
            // Otherwise fold everything into a new snapshot.
            _ => {
                state.apply_all(records);
                let generation = generation + 1;
                index::write_snapshot(&dir, &state, generation, self.durable())?;
                (
                    index::reset_log(&dir, generation, self.durable())?,
                    generation,
                    0,
                )
            }
        };
        lock(&self.rt).insert(
            (a.clone(), name.to_owned()),
            Runtime {
                log,
                generation,
                log_lines,
                mtimes: mtimes(&dir),
            },
        );
        Ok(state)
    }

    /// Lists `cur/` and `new/`: base name → (file name, in `new/`).
    fn list_files(dir: &Path) -> io::Result<HashMap<String, (String, bool)>> {
        let mut out = HashMap::new();
        for (sub, is_new) in [("new", true), ("cur", false)] {
            for e in fs::read_dir(dir.join(sub))? {
                let e = e?;
                let Ok(file) = e.file_name().into_string() else {
                    continue;
                };
                if file.starts_with('.') {
                    continue;
                }
                let base = split_info(&file).0.to_owned();
                out.insert(base, (file, is_new));
            }
        }
        Ok(out)
    }

    /// Compares the directory with the index: files that vanished are expunged, files renamed
    /// by other programs change flags, files not indexed get UIDs.
    pub(super) fn scan(dir: &Path, state: &MailboxState<FileRef>) -> Result<Vec<Record<FileRef>>> {
        let files = Self::list_files(dir)?;
        let dovecot_kw = dovecot_keywords(dir);
        let modseq = state.next_modseq();
        let mut records = Vec::new();
        let mut known = HashSet::with_capacity(state.messages.len());
        for m in &state.messages {
            let base = split_info(&m.blob.file).0;
            match files.get(base) {
                None => records.push(Record::Expunge { uid: m.uid, modseq }),
                Some((file, is_new)) => {
                    known.insert(base);
                    if *file != m.blob.file || *is_new != m.blob.new {
                        let (sys, letters) = flags_from_info(split_info(file).1);
                        let mut flags = sys;
                        // Keywords Dovecot keeps as letters come from the name; the others
                        // live only in our index.
                        for k in m.flags.keywords() {
                            let lettered = dovecot_kw
                                .iter()
                                .any(|d| d.eq_ignore_ascii_case(k.as_str()));
                            if !k.as_str().eq_ignore_ascii_case(Keyword::FORWARDED) && !lettered {
                                flags.insert_keyword(k.clone());
                            }
                        }
                        for i in letters {
                            if let Some(k) = dovecot_kw
                                .get(i)
                                .and_then(|k| Keyword::try_from(k.as_str()).ok())
                            {
                                flags.insert_keyword(k);
                            }
                        }
                        records.push(Record::Flags {
                            uid: m.uid,
                            modseq,
                            flags,
                            blob: FileRef {
                                file: file.clone(),
                                new: *is_new,
                                cache: m.blob.cache,
                            },
                        });
                    }
                }
            }
        }
        let mut fresh: Vec<(&String, &(String, bool))> = files
            .iter()
            .filter(|(b, _)| !known.contains(b.as_str()))
            .collect();
        if fresh.is_empty() {
            return Ok(records);
        }
        // Maildir names start with the delivery time: sorting by it keeps arrival order.
        fresh.sort_by(|a, b| arrival_key(a.0).cmp(&arrival_key(b.0)));
        let keywords = &dovecot_kw;
        let mut next = state.header.uidnext;
        for (base, (file, is_new)) in fresh {
            let path = dir.join(if *is_new { "new" } else { "cur" }).join(file);
            let data = match fs::read(&path) {
                // Other programs (Dovecot, MDAs) store LF line ends; we serve CRLF.
                Ok(d) => to_crlf(&d).unwrap_or(d),
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            let date = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_or_else(|_| InternalDate::now(), InternalDate::from_system_time);
            let (mut flags, kw_idx) = flags_from_info(split_info(file).1);
            for i in kw_idx {
                if let Some(k) = keywords
                    .get(i)
                    .and_then(|k| Keyword::try_from(k.as_str()).ok())
                {
                    flags.insert_keyword(k);
                }
            }
            let mime = MimeInfo::parse(&data);
            let Some(uid) = Uid::new(next) else {
                break;
            };
            next += 1;
            records.push(Record::Append(MessageMeta {
                uid,
                modseq,
                created: modseq,
                flags,
                date,
                size: data.len() as u64,
                vsize: crlf_size(&data),
                blob: FileRef {
                    file: file.clone(),
                    new: *is_new,
                    cache: index::append_cache(dir, base, &mime),
                },
            }));
        }
        Ok(records)
    }
}

/// The delivery time in a Maildir base name (`<secs>.M<micros>P<pid>...` or `<secs>.<...>`),
/// as numbers, then the name: plain string order would put `M99999` after `M682796`.
fn arrival_key(base: &str) -> (u64, u64, &str) {
    let (secs, rest) = base.split_once('.').unwrap_or((base, ""));
    let micros = rest.strip_prefix('M').map_or(0, |r| {
        r.bytes().take_while(u8::is_ascii_digit).fold(0u64, |n, d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
    });
    (secs.parse().unwrap_or(u64::MAX), micros, base)
}

#[cfg(test)]
mod arrival_tests {
    use super::arrival_key;

    #[test]
    fn arrival_order_is_numeric() {
        let mut names = vec![
            "1700000000.M682796P1.h",
            "1700000000.M99999P1.h",
            "999999999.M5P1.h",
            "1700000001.x",
        ];
        names.sort_by_key(|n| arrival_key(n));
        assert_eq!(
            names,
            [
                "999999999.M5P1.h",
                "1700000000.M99999P1.h",
                "1700000000.M682796P1.h",
                "1700000001.x"
            ]
        );
    }
}
