//! `mailctl admin`: the users file edited in place (users added and removed, passwords and
//! quotas set), the accounts listed with what their mail takes, and the running server told
//! to reload (`SIGHUP` to the process in its `pid-file`).
//!
//! Edits keep every other line as it was (comments, other users, Dovecot's extra fields)
//! and are checked with the server's own parser before the file is replaced, atomically and
//! with its permissions, so an edit never leaves a file the server refuses at its reload.

use std::{
    io::Write as _,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use sansmail_store::{AccountName, MailStore, QuotaLimits, Session};

use crate::{accounts, config::Settings, server};

/// A users file's lines, edited in memory.
#[derive(Debug, Clone)]
pub struct UsersFile {
    path: PathBuf,
    lines: Vec<String>,
}

impl UsersFile {
    /// Reads `path`; a file that does not exist yet is empty.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(Self {
            path: path.to_owned(),
            lines: text.lines().map(str::to_owned).collect(),
        })
    }

    /// The line index of `name`'s entry.
    fn find(&self, name: &str) -> Option<usize> {
        self.lines.iter().position(|l| {
            let l = l.trim();
            !l.starts_with('#')
                && l.split(':')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    /// The names in the file, in its order.
    pub fn names(&self) -> Result<Vec<String>, String> {
        Ok(self.parsed()?.into_iter().map(|u| u.name).collect())
    }

    fn parsed(&self) -> Result<Vec<accounts::User>, String> {
        accounts::parse_users(&self.lines.join("\n"))
            .map_err(|(n, e)| format!("{}:{n}: {e}", self.path.display()))
    }

    /// Adds `name` with the Argon2id hash of `password`.
    pub fn add(&mut self, name: &str, password: &str) -> Result<(), String> {
        AccountName::try_from(name).map_err(|e| format!("user {name}: {e}"))?;
        if name.contains(':') || name.chars().any(char::is_whitespace) {
            return Err(format!("user {name:?}: no colon or space in a name"));
        }
        if self.find(name).is_some() {
            return Err(format!("user {name} exists already"));
        }
        let hash = accounts::hash_password(password).map_err(|e| e.to_string())?;
        self.lines.push(format!("{}:{hash}", name.to_lowercase()));
        Ok(())
    }

    /// Removes `name`'s entry (its mail stays in the store).
    pub fn remove(&mut self, name: &str) -> Result<(), String> {
        let i = self.find(name).ok_or_else(|| format!("no user {name}"))?;
        self.lines.remove(i);
        Ok(())
    }

    /// Replaces `name`'s password hash, keeping the rest of the entry.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), String> {
        let i = self.find(name).ok_or_else(|| format!("no user {name}"))?;
        let hash = accounts::hash_password(password).map_err(|e| e.to_string())?;
        let mut fields: Vec<&str> = self.lines[i].splitn(3, ':').collect();
        if fields.len() < 2 {
            fields.push("");
        }
        fields[1] = &hash;
        self.lines[i] = fields.join(":");
        Ok(())
    }

    /// Sets `name`'s quota as Dovecot's `quota_rule=*:storage=...:messages=...` among the
    /// entry's extra fields (the eighth field), replacing any quota rule there; no limit at
    /// all removes the rule.
    pub fn set_quota(&mut self, name: &str, limits: QuotaLimits) -> Result<(), String> {
        let i = self.find(name).ok_or_else(|| format!("no user {name}"))?;
        let mut fields: Vec<String> = self.lines[i].splitn(8, ':').map(str::to_owned).collect();
        fields.resize(8, String::new());
        let mut extra: Vec<&str> = fields[7]
            .split_ascii_whitespace()
            .filter(|f| {
                let f = f.strip_prefix("userdb_").unwrap_or(f);
                !f.starts_with("quota_rule")
            })
            .collect();
        let bytes = limits.storage_bytes.map(|b| format!(":bytes={b}"));
        let messages = limits.messages.map(|m| format!(":messages={m}"));
        let rule = format!(
            "quota_rule=*{}{}",
            bytes.unwrap_or_default(),
            messages.unwrap_or_default()
        );
        if limits.storage_bytes.is_some() || limits.messages.is_some() {
            extra.push(&rule);
        }
        fields[7] = extra.join(" ");
        let mut line = fields.join(":");
        // No empty trailing fields where nothing follows.
        while line.ends_with(':') {
            line.pop();
        }
        self.lines[i] = line;
        Ok(())
    }

    /// Checks the edited text with the server's parser, then replaces the file (a temporary
    /// file beside it, synced, renamed over it, with the old file's permissions).
    pub fn write(&self) -> Result<(), String> {
        self.parsed()?;
        let shown = self.path.display();
        let mode = std::fs::metadata(&self.path).map_or(0o600, |m| m.permissions().mode());
        let tmp = self.path.with_extension("mailctl-tmp");
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
            for line in &self.lines {
                writeln!(f, "{line}")?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{shown}: {e}")
        })
    }
}

/// An account's size in its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Octets of its messages.
    pub octets: u64,
    /// Its messages.
    pub messages: u64,
}

/// What `name`'s mail takes: in PostgreSQL the store's own count; in a Maildir the files
/// of its folders (read without the store, so while the server runs and holds it).
pub async fn usage(settings: &Settings, name: &str) -> Result<Option<Usage>, String> {
    match settings.store.as_deref() {
        Some(url) if server::is_postgres_url(url) => {
            let store = server::open_location(url)
                .await
                .map_err(|e| e.to_string())?;
            let account = AccountName::try_from(name).map_err(|e| e.to_string())?;
            if !store
                .account_exists(&account)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(None);
            }
            let q = store
                .quota(&Session::new(account))
                .await
                .map_err(|e| e.to_string())?;
            Ok(Some(Usage {
                octets: q.used_bytes,
                messages: q.used_messages,
            }))
        }
        _ => {
            let root = settings.data_dir.join(name.to_lowercase()).join("Maildir");
            if !root.is_dir() {
                return Ok(None);
            }
            let mut usage = Usage {
                octets: 0,
                messages: 0,
            };
            maildir_usage(&root, &mut usage).map_err(|e| format!("{}: {e}", root.display()))?;
            Ok(Some(usage))
        }
    }
}

/// Adds the messages of a Maildir++ tree: `cur/` and `new/` of the top folder and of each
/// `.Child` folder.
fn maildir_usage(root: &Path, usage: &mut Usage) -> std::io::Result<()> {
    let mut folders = vec![root.to_owned()];
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') && entry.file_type()?.is_dir() {
            folders.push(entry.path());
        }
    }
    for folder in folders {
        for sub in ["cur", "new"] {
            let Ok(files) = std::fs::read_dir(folder.join(sub)) else {
                continue;
            };
            for file in files {
                let meta = file?.metadata()?;
                if meta.is_file() {
                    usage.octets += meta.len();
                    usage.messages += 1;
                }
            }
        }
    }
    Ok(())
}

/// Sends `SIGHUP` to the server whose process id is in `pid_file`; the id.
pub fn signal_reload(pid_file: &Path) -> Result<i32, String> {
    let shown = pid_file.display();
    let text = std::fs::read_to_string(pid_file).map_err(|e| format!("{shown}: {e}"))?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{shown}: not a process id: {:?}", text.trim()))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .map_err(|e| format!("signalling process {pid} ({shown}): {e}"))?;
    Ok(pid)
}

/// `1.5 MiB`-style sizes for the listing.
pub fn human(octets: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    // Precision past 2^52 octets does not show in one decimal.
    #[allow(clippy::cast_precision_loss)]
    let mut value = octets as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{octets} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn edits_keep_other_lines_and_read_back_with_the_servers_parser() {
        let dir = std::env::temp_dir().join(format!("admin-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users");
        let bob = accounts::hash_password("b").unwrap();
        std::fs::write(
            &path,
            format!("# staff\nbob:{bob}:1000:1000::/home/bob::senders=b@example.org\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut f = UsersFile::read(&path).unwrap();
        f.add("Alice", "a-pass").unwrap();
        assert!(f.add("alice", "x").unwrap_err().contains("exists"));
        assert!(f.add("a:b", "x").is_err());
        f.set_quota(
            "bob",
            QuotaLimits {
                storage_bytes: Some(1 << 20),
                messages: Some(10),
            },
        )
        .unwrap();
        f.set_password("bob", "new-b").unwrap();
        f.write().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# staff\nbob:$argon2id$"), "{text}");
        assert!(
            text.contains(":1000:1000::/home/bob::senders=b@example.org quota_rule=*:bytes=1048576:messages=10\n"),
            "{text}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let users = accounts::read_users_file(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].senders, ["b@example.org"]);
        assert_eq!(users[0].quota.unwrap().messages, Some(10));
        assert!(users[1].password.verify("a-pass"));
        assert!(users[0].password.verify("new-b"));
        let mut f = UsersFile::read(&path).unwrap();
        f.set_quota("bob", QuotaLimits::default()).unwrap();
        f.remove("alice").unwrap();
        assert!(f.remove("alice").is_err());
        f.write().unwrap();
        let users = accounts::read_users_file(&path).unwrap();
        assert_eq!((users.len(), users[0].quota), (1, None));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_read_as_people_do() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
    }
}
