//! A users file edited in place, as an administration tool does it.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use sansmail_store::{AccountName, QuotaLimits};

use super::{Error, User, hash_password, parse_users};

/// A users file's lines, edited in memory: users added and removed, passwords and quotas set.
///
/// Edits keep every other line as it was (comments, other users, Dovecot's extra fields),
/// and [`write`](Self::write) checks the result with [`parse_users`] before it replaces the
/// file, atomically and with its permissions: an edit never leaves a file that the server
/// refuses when it reloads.
#[derive(Debug, Clone)]
pub struct UsersFile {
    path: PathBuf,
    lines: Vec<String>,
}

impl UsersFile {
    /// Reads `path`; a file that does not exist yet is empty.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::from(e).in_file(path)),
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

    fn entry(&self, name: &str) -> Result<usize, Error> {
        self.find(name)
            .ok_or_else(|| Error::new(format!("no user {name}")))
    }

    /// The users as the file has them now.
    pub fn users(&self) -> Result<Vec<User>, Error> {
        parse_users(&self.lines.join("\n")).map_err(|e| e.in_file(&self.path))
    }

    /// The names in the file, in its order.
    pub fn names(&self) -> Result<Vec<String>, Error> {
        Ok(self.users()?.into_iter().map(|u| u.name).collect())
    }

    /// Adds `name` with the Argon2id hash of `password`.
    pub fn add(&mut self, name: &str, password: &str) -> Result<(), Error> {
        AccountName::try_from(name).map_err(|e| Error::new(format!("user {name}: {e}")))?;
        if name.contains(':') || name.chars().any(char::is_whitespace) {
            return Err(Error::new(format!(
                "user {name:?}: no colon or space in a name"
            )));
        }
        if self.find(name).is_some() {
            return Err(Error::new(format!("user {name} exists already")));
        }
        let hash = hash_password(password)?;
        self.lines.push(format!("{}:{hash}", name.to_lowercase()));
        Ok(())
    }

    /// Removes `name`'s entry (its mail stays in the store).
    pub fn remove(&mut self, name: &str) -> Result<(), Error> {
        let i = self.entry(name)?;
        self.lines.remove(i);
        Ok(())
    }

    /// Replaces `name`'s password hash, keeping the rest of the entry.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), Error> {
        let i = self.entry(name)?;
        let hash = hash_password(password)?;
        let mut fields: Vec<&str> = self.lines[i].splitn(3, ':').collect();
        if fields.len() < 2 {
            fields.push("");
        }
        fields[1] = &hash;
        self.lines[i] = fields.join(":");
        Ok(())
    }

    /// Sets `name`'s quota as Dovecot's `quota_rule=*:bytes=...:messages=...` among the
    /// entry's extra fields (the eighth field), replacing any quota rule there; no limit at
    /// all removes the rule.
    pub fn set_quota(&mut self, name: &str, limits: QuotaLimits) -> Result<(), Error> {
        let i = self.entry(name)?;
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

    /// Checks the edited text with [`parse_users`], then replaces the file (a temporary file
    /// beside it, synced, renamed over it, with the old file's permissions; a new file is
    /// readable by its owner alone).
    pub fn write(&self) -> Result<(), Error> {
        self.users()?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&self.path).map_or(0o600, |m| m.permissions().mode());
                f.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
            for line in &self.lines {
                writeln!(f, "{line}")?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::from(e).in_file(&self.path)
        })
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::passwd_file::read_users_file;

    #[test]
    fn edits_keep_other_lines_and_read_back_with_the_parser() {
        let dir = std::env::temp_dir().join(format!("passwd-file-edit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users");
        let bob = hash_password("b").unwrap();
        std::fs::write(
            &path,
            format!("# staff\nbob:{bob}:1000:1000::/home/bob::senders=b@example.org\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut f = UsersFile::read(&path).unwrap();
        f.add("Alice", "a-pass").unwrap();
        assert!(
            f.add("alice", "x")
                .unwrap_err()
                .message()
                .contains("exists")
        );
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
        let users = read_users_file(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].senders, ["b@example.org"]);
        assert_eq!(users[0].quota.unwrap().messages, Some(10));
        assert!(users[1].password.verify("a-pass"));
        assert!(users[0].password.verify("new-b"));
        let mut f = UsersFile::read(&path).unwrap();
        f.set_quota("bob", QuotaLimits::default()).unwrap();
        f.remove("alice").unwrap();
        assert_eq!(f.remove("alice").unwrap_err().message(), "no user alice");
        f.write().unwrap();
        let users = read_users_file(&path).unwrap();
        assert_eq!((users.len(), users[0].quota), (1, None));
        assert_eq!(UsersFile::read(&path).unwrap().names().unwrap(), ["bob"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An edit the parser would refuse is not written.
    #[test]
    fn a_file_the_parser_refuses_is_not_written() {
        let dir = std::env::temp_dir().join(format!("passwd-file-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users");
        std::fs::write(&path, "carol:plaintext\n").unwrap();
        let mut f = UsersFile::read(&path).unwrap();
        f.add("dave", "d").unwrap();
        let e = f.write().unwrap_err();
        assert_eq!((e.path(), e.line()), (Some(path.as_path()), Some(1)));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "carol:plaintext\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
