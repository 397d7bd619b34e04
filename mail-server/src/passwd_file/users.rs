//! The users file: Dovecot's passwd-file lines, read into [`User`]s.

use std::{collections::HashMap, path::Path};

use sansmail_smtp::Mailbox;
use sansmail_store::{AccountName, QuotaLimits};

use super::{Error, Password};

/// One account of a users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name, lower case.
    pub name: String,
    /// The password.
    pub password: Password,
    /// Addresses the user may send as besides their own (`senders=a@x,b@y` among the
    /// passwd-file's extra fields, the eighth), lower case.
    pub senders: Vec<String>,
    /// The quota, from Dovecot's `quota_rule=*:storage=1G` (and `quota_rule2=*:messages=N`,
    /// also with the `userdb_` prefix) among the extra fields; `None`: unlimited.
    pub quota: Option<QuotaLimits>,
}

/// Reads a users file (see [`parse_users`]). Errors name the file and the line.
pub fn read_users_file(path: &Path) -> Result<Vec<User>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::from(e).in_file(path))?;
    parse_users(&text).map_err(|e| e.in_file(path))
}

/// A users file's text: one `name:hash` a line, optionally followed by a Dovecot
/// passwd-file's further fields (`uid:gid:gecos:home:shell:extra`, of which the extra fields
/// are read), `#` comments and blank lines skipped. User names are lower-cased and must be
/// unique; errors carry the 1-based line.
pub fn parse_users(text: &str) -> Result<Vec<User>, Error> {
    let mut users = Vec::new();
    let mut seen = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let user = parse_line(line, n, &mut seen).map_err(|e| e.at_line(n))?;
        users.push(user);
    }
    Ok(users)
}

/// One entry; `seen` maps the names so far to their lines.
fn parse_line(line: &str, n: usize, seen: &mut HashMap<String, usize>) -> Result<User, Error> {
    // name, hash, uid, gid, gecos, home, shell, extra fields (which may hold colons).
    let mut fields = line.splitn(8, ':');
    let name = fields.next().unwrap_or_default().to_lowercase();
    let hash = fields
        .next()
        .ok_or_else(|| Error::new("expected NAME:HASH"))?;
    AccountName::try_from(name.as_str())
        .map_err(|e| Error::new(format!("user name {name:?}: {e}")))?;
    if let Some(first) = seen.insert(name.clone(), n) {
        return Err(Error::new(format!(
            "user {name} already defined on line {first}"
        )));
    }
    let in_user = |e: Error| Error::new(format!("user {name}: {}", e.message()));
    let password = Password::parse_hash(hash).map_err(in_user)?;
    let extra = fields.nth(5).unwrap_or_default();
    let mut senders = Vec::new();
    let mut quota: Option<QuotaLimits> = None;
    // Dovecot's space-separated extra fields; those it has and this server does not use are
    // left alone.
    for field in extra.split_ascii_whitespace() {
        let field = field.strip_prefix("userdb_").unwrap_or(field);
        if let Some((key, rule)) = field.split_once('=')
            && (key == "quota_rule"
                || key
                    .strip_prefix("quota_rule")
                    .is_some_and(|n| n.parse::<u8>().is_ok()))
        {
            quota_rule(rule, quota.get_or_insert_with(QuotaLimits::default)).map_err(in_user)?;
            continue;
        }
        let Some(list) = field.strip_prefix("senders=") else {
            continue;
        };
        for address in list.split(',').filter(|a| !a.is_empty()) {
            Mailbox::try_from(address)
                .map_err(|e| Error::new(format!("user {name}: sender {address:?}: {e}")))?;
            senders.push(address.to_lowercase());
        }
    }
    Ok(User {
        name,
        password,
        senders,
        quota,
    })
}

/// A Dovecot quota rule's limits for all mailboxes (`*:storage=1G`, `*:messages=1000`,
/// `*:bytes=N`; storage without a unit in KiB as Dovecot reads it) added to `limits`.
fn quota_rule(rule: &str, limits: &mut QuotaLimits) -> Result<(), Error> {
    let Some(rest) = rule.strip_prefix("*:") else {
        return Err(Error::new(format!(
            "quota rule {rule:?}: only rules for all mailboxes (*:storage=SIZE, \
             *:messages=N) are supported"
        )));
    };
    for part in rest.split(':') {
        let (what, value) = part.split_once('=').ok_or_else(|| {
            Error::new(format!(
                "quota rule {rule:?}: expected storage=SIZE or messages=N"
            ))
        })?;
        let bad = || Error::new(format!("quota rule {rule:?}: bad value {value:?}"));
        match what {
            "storage" | "bytes" => {
                let (digits, unit) = value.split_at(
                    value
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(value.len()),
                );
                let n: u64 = digits.parse().map_err(|_| bad())?;
                let shift = match (what, unit) {
                    ("bytes", "") | (_, "b" | "B") => 0,
                    ("storage", "") | (_, "k" | "K") => 10,
                    (_, "M") => 20,
                    (_, "G") => 30,
                    (_, "T") => 40,
                    _ => return Err(bad()),
                };
                let octets = n.checked_mul(1 << shift).ok_or_else(bad)?;
                // 0 means unlimited, as in Dovecot.
                limits.storage_bytes = (octets > 0).then_some(octets);
            }
            "messages" => {
                let n: u64 = value.parse().map_err(|_| bad())?;
                limits.messages = (n > 0).then_some(n);
            }
            _ => {
                return Err(Error::new(format!(
                    "quota rule {rule:?}: unknown limit {what:?}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::passwd_file::hash_password;

    #[test]
    fn errors_name_the_line() {
        let phc = hash_password("x").unwrap();
        let text = format!("# users\n\nAlice:{phc}\nbob:secret\n");
        let e = parse_users(&text).unwrap_err();
        assert_eq!(e.line(), Some(4));
        assert!(
            e.message().contains("bob") && e.message().contains("not a password hash"),
            "{e}"
        );
        assert!(e.to_string().starts_with("4: user bob: "), "{e}");
        let dup = format!("alice:{phc}\nALICE:{phc}\n");
        let e = parse_users(&dup).unwrap_err();
        assert_eq!(
            (e.line(), e.message().contains("line 1")),
            (Some(2), true),
            "{e}"
        );
        assert_eq!(parse_users("carol\n").unwrap_err().line(), Some(1));
        assert!(
            parse_users("x:{MD5}abc\n")
                .unwrap_err()
                .message()
                .contains("unsupported scheme")
        );
        let ok = parse_users(&format!("Alice:{phc}:1000:1000::/home/alice\n")).unwrap();
        assert_eq!(ok[0].name, "alice");
        assert!(ok[0].password.verify("x"));
        assert!(ok[0].senders.is_empty());
        let with = parse_users(&format!(
            "bob:{phc}::::::userdb_x=1 senders=Bob@Example.NET,b@example.com\n"
        ))
        .unwrap();
        assert_eq!(with[0].senders, ["bob@example.net", "b@example.com"]);
        let bad = parse_users(&format!("bob:{phc}::::::senders=not-an-address\n"));
        assert!(bad.unwrap_err().message().contains("sender"));
    }

    #[test]
    fn quota_rules_among_the_extra_fields() {
        let phc = hash_password("x").unwrap();
        let users = parse_users(&format!(
            "a:{phc}::::::userdb_quota_rule=*:storage=1G quota_rule2=*:messages=500\n\
             b:{phc}::::::quota_rule=*:storage=2048\n\
             c:{phc}::::::quota_rule=*:bytes=5000:messages=0\n\
             d:{phc}\n"
        ))
        .unwrap();
        let q: Vec<_> = users.iter().map(|u| u.quota).collect();
        assert_eq!(
            q,
            [
                Some(QuotaLimits {
                    storage_bytes: Some(1 << 30),
                    messages: Some(500)
                }),
                Some(QuotaLimits {
                    storage_bytes: Some(2 << 20),
                    messages: None
                }),
                Some(QuotaLimits {
                    storage_bytes: Some(5000),
                    messages: None
                }),
                None,
            ]
        );
        let bad = parse_users(&format!("a:{phc}::::::quota_rule=INBOX:storage=1G\n"));
        assert!(bad.unwrap_err().message().contains("all mailboxes"));
        let bad = parse_users(&format!("a:{phc}::::::quota_rule=*:storage=lots\n"));
        assert_eq!(bad.unwrap_err().line(), Some(1));
    }

    #[test]
    fn a_missing_file_is_named() {
        let path = Path::new("/nonexistent/sansmail-users");
        let e = read_users_file(path).unwrap_err();
        assert_eq!((e.path(), e.line()), (Some(path), None));
        assert_eq!(e.io_kind(), Some(std::io::ErrorKind::NotFound));
        assert!(
            e.to_string().starts_with("/nonexistent/sansmail-users: "),
            "{e}"
        );
    }
}
