//! This server's accounts: who receives mail (local domains, users, the postmaster), the
//! stored password forms (`--user` plaintext, `--users FILE` hashes) and the users file. The
//! [`Directory`] is the [`Accounts`] policy the `mail-server` listeners ask.

use std::{collections::HashMap, fmt, io, path::Path};

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use sansmail_core::Credentials;
use sansmail_server::auth::{Accounts, Refusal};
use sansmail_smtp::{ForwardPath, Mailbox, ReversePath};
use sansmail_store::{AccountName, QuotaLimits};

/// Who receives mail here and who may log in.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Domains whose users are local (compared case-insensitively).
    pub domains: Vec<String>,
    /// User names (lower case) and passwords.
    pub users: HashMap<String, Password>,
    /// The user that receives mail for `<Postmaster>` and `postmaster@<local domain>`.
    pub postmaster: String,
    /// Addresses a user may send as besides their own (lower case), from the users file.
    pub senders: HashMap<String, Vec<String>>,
}

impl Directory {
    /// Whether mail for `domain` is delivered here.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The account of a configured user (names compare case-insensitively).
    pub fn account(&self, user: &str) -> Option<AccountName> {
        let user = user.to_lowercase();
        if !self.users.contains_key(&user) {
            return None;
        }
        AccountName::try_from(user.as_str()).ok()
    }
}

impl Accounts for Directory {
    /// An authorization identity other than the user is refused: no user may act as another
    /// here.
    fn verify(&self, credentials: &Credentials) -> Option<AccountName> {
        let user = &credentials.authcid;
        if credentials
            .authzid
            .as_deref()
            .is_some_and(|z| !z.eq_ignore_ascii_case(user))
        {
            return None;
        }
        let known = self.users.get(&user.to_lowercase())?;
        if known.verify(credentials.password.expose()) {
            self.account(user)
        } else {
            None
        }
    }

    fn offers_apop(&self) -> bool {
        self.users.values().any(|u| u.plaintext().is_some())
    }

    fn apop_secret(&self, user: &str) -> Option<String> {
        self.users
            .get(&user.to_lowercase())?
            .plaintext()
            .map(str::to_owned)
    }

    /// Their own addresses (those delivered to them), `<>`, and the `senders=` of their line
    /// in the users file.
    fn may_send_as(&self, account: &AccountName, from: &ReversePath<'_>) -> bool {
        let Some(mailbox) = from.mailbox() else {
            return true;
        };
        if self.recipient(&ForwardPath::Mailbox(mailbox.clone())) == Ok(account.clone()) {
            return true;
        }
        let address = mailbox.to_string().to_lowercase();
        self.senders
            .get(account.as_str())
            .is_some_and(|list| list.contains(&address))
    }

    fn recipient(&self, to: &ForwardPath<'_>) -> Result<AccountName, Refusal> {
        let user = match to.mailbox() {
            None => self.postmaster.clone(),
            Some(m) => {
                let domain = m.domain().domain().ok_or(Refusal::AddressLiteral)?;
                if !self.is_local_domain(domain.as_str()) {
                    return Err(Refusal::NotLocal);
                }
                if m.local_part().is_postmaster() {
                    self.postmaster.clone()
                } else {
                    m.local_part().unquoted().to_lowercase()
                }
            }
        };
        self.account(&user).ok_or(Refusal::NoSuchUser)
    }
}

/// A user's password as the server keeps it.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// Given on the command line (`--user NAME:PASSWORD`). The only form APOP can use.
    Plain(String),
    /// An Argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    Argon2(String),
    /// A SHA512-CRYPT string (`$6$[rounds=N$]salt$hash`).
    Sha512Crypt(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a secret, not even a hash (offline guessing).
        f.write_str(match self {
            Self::Plain(_) => "Password::Plain(..)",
            Self::Argon2(_) => "Password::Argon2(..)",
            Self::Sha512Crypt(_) => "Password::Sha512Crypt(..)",
        })
    }
}

impl From<&str> for Password {
    fn from(plain: &str) -> Self {
        Self::Plain(plain.to_owned())
    }
}

impl Password {
    /// A stored hash: `$argon2id$…` (or `$argon2i$`, `$argon2d$`) or `$6$…`, optionally
    /// behind the scheme prefix Dovecot's passwd-files use (`{ARGON2ID}`, `{SHA512-CRYPT}`).
    /// Anything else, plaintext included, is refused: a users file holds hashes only.
    pub fn parse_hash(stored: &str) -> Result<Self, String> {
        let hash = match stored.strip_prefix('{') {
            Some(rest) => {
                let (scheme, hash) = rest
                    .split_once('}')
                    .ok_or_else(|| "unterminated {SCHEME} prefix".to_owned())?;
                let expected = match scheme.to_ascii_uppercase().as_str() {
                    "ARGON2ID" | "ARGON2I" | "ARGON2D" | "ARGON2" => "$argon2",
                    "SHA512-CRYPT" => "$6$",
                    other => return Err(format!("unsupported scheme {{{other}}}")),
                };
                if !hash.starts_with(expected) {
                    return Err(format!(
                        "{{{scheme}}} but the hash does not start with {expected}"
                    ));
                }
                hash
            }
            None => stored,
        };
        if hash.starts_with("$argon2") {
            PasswordHash::new(hash).map_err(|e| format!("bad Argon2 hash: {e}"))?;
            Ok(Self::Argon2(hash.to_owned()))
        } else if let Some(rest) = hash.strip_prefix("$6$") {
            // salt$hash, or rounds=N$salt$hash; the hash is 86 characters of crypt base64.
            let digest = rest.rsplit('$').next().unwrap_or_default();
            let well_formed = rest.contains('$')
                && digest.len() == 86
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
            if !well_formed {
                return Err(
                    "bad SHA512-CRYPT hash: expected $6$[rounds=N$]salt$<86 characters>".into(),
                );
            }
            Ok(Self::Sha512Crypt(hash.to_owned()))
        } else {
            Err(
                "not a password hash: expected $argon2id$… or $6$… (see `mailctl hash-password`)"
                    .to_owned(),
            )
        }
    }

    /// Whether `candidate` is this password. Hash checks cost milliseconds on purpose: call it
    /// off the async workers.
    pub fn verify(&self, candidate: &str) -> bool {
        match self {
            Self::Plain(known) => {
                // Compare every octet so the time taken does not tell where a guess went wrong.
                known.len() == candidate.len()
                    && known
                        .bytes()
                        .zip(candidate.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            }
            Self::Argon2(phc) => PasswordHash::new(phc).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &hash)
                    .is_ok()
            }),
            Self::Sha512Crypt(hash) => sha_crypt::sha512_check(candidate, hash).is_ok(),
        }
    }

    /// The secret itself, which only a plaintext password has (APOP needs it).
    pub fn plaintext(&self) -> Option<&str> {
        match self {
            Self::Plain(p) => Some(p),
            Self::Argon2(_) | Self::Sha512Crypt(_) => None,
        }
    }
}

/// An Argon2id hash of `password` with the crate's default (OWASP-recommended) parameters
/// and a random salt, as a PHC string for a users file.
pub fn hash_password(password: &str) -> io::Result<String> {
    let mut salt = [0u8; 16];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    }
    let salt = SaltString::encode_b64(&salt).map_err(|e| io::Error::other(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Reads a users file: one `name:hash` a line (a Dovecot passwd-file's first two fields also
/// work: whatever follows a second `:` is ignored), `#` comments and blank lines skipped. User
/// names are lower-cased. Errors name the file and line.
pub fn read_users_file(path: &Path) -> Result<Vec<User>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_users(&text).map_err(|(line, e)| format!("{}:{line}: {e}", path.display()))
}

/// One account of a users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name, lower case.
    pub name: String,
    /// The password hash.
    pub password: Password,
    /// Addresses the user may send as besides their own (`senders=a@x,b@y` among the
    /// passwd-file's extra fields, the eighth), lower case.
    pub senders: Vec<String>,
    /// The quota, from Dovecot's `quota_rule=*:storage=1G` (and `quota_rule2=*:messages=N`,
    /// also with the `userdb_` prefix) among the extra fields; `None`: unlimited.
    pub quota: Option<QuotaLimits>,
}

/// A Dovecot quota rule's limits for all mailboxes (`*:storage=1G`, `*:messages=1000`,
/// `*:bytes=N`; storage without a unit in KiB as Dovecot reads it) added to `limits`.
fn quota_rule(rule: &str, limits: &mut QuotaLimits) -> Result<(), String> {
    let Some(rest) = rule.strip_prefix("*:") else {
        return Err(format!(
            "quota rule {rule:?}: only rules for all mailboxes (*:storage=SIZE, \
             *:messages=N) are supported"
        ));
    };
    for part in rest.split(':') {
        let (what, value) = part
            .split_once('=')
            .ok_or_else(|| format!("quota rule {rule:?}: expected storage=SIZE or messages=N"))?;
        let bad = || format!("quota rule {rule:?}: bad value {value:?}");
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
            _ => return Err(format!("quota rule {rule:?}: unknown limit {what:?}")),
        }
    }
    Ok(())
}

/// [`read_users_file`]'s parser; errors carry the 1-based line number.
pub fn parse_users(text: &str) -> Result<Vec<User>, (usize, String)> {
    let mut users = Vec::new();
    let mut seen = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // name, hash, uid, gid, gecos, home, shell, extra fields (which may hold colons).
        let mut fields = line.splitn(8, ':');
        let name = fields.next().unwrap_or_default().to_lowercase();
        let hash = fields
            .next()
            .ok_or_else(|| (n, "expected NAME:HASH".to_owned()))?;
        AccountName::try_from(name.as_str())
            .map_err(|e| (n, format!("user name {name:?}: {e}")))?;
        if let Some(first) = seen.insert(name.clone(), n) {
            return Err((n, format!("user {name} already defined on line {first}")));
        }
        let password = Password::parse_hash(hash).map_err(|e| (n, format!("user {name}: {e}")))?;
        // uid, gid, gecos, home, shell, then Dovecot's space-separated extra fields.
        let extra = fields.nth(5).unwrap_or_default();
        let mut senders = Vec::new();
        let mut quota: Option<QuotaLimits> = None;
        for field in extra.split_ascii_whitespace() {
            let field = field.strip_prefix("userdb_").unwrap_or(field);
            if let Some((key, rule)) = field.split_once('=')
                && (key == "quota_rule"
                    || key
                        .strip_prefix("quota_rule")
                        .is_some_and(|n| n.parse::<u8>().is_ok()))
            {
                quota_rule(rule, quota.get_or_insert_with(QuotaLimits::default))
                    .map_err(|e| (n, format!("user {name}: {e}")))?;
                continue;
            }
            let Some(list) = field.strip_prefix("senders=") else {
                continue;
            };
            for address in list.split(',').filter(|a| !a.is_empty()) {
                Mailbox::try_from(address)
                    .map_err(|e| (n, format!("user {name}: sender {address:?}: {e}")))?;
                senders.push(address.to_lowercase());
            }
        }
        users.push(User {
            name,
            password,
            senders,
            quota,
        });
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let phc = hash_password("correct horse").unwrap();
        let p = Password::parse_hash(&phc).unwrap();
        assert!(matches!(p, Password::Argon2(_)));
        assert!(p.verify("correct horse"));
        assert!(!p.verify("correct hors"));
        assert!(!p.verify(""));
        assert_eq!(p.plaintext(), None);
        // A salt is drawn each time.
        assert_ne!(phc, hash_password("correct horse").unwrap());
    }

    /// The POP3 greeting offers APOP (its timestamp) only where some user can use it.
    #[test]
    fn apop_is_offered_only_with_a_plaintext_password() {
        let hashed = Password::parse_hash(&hash_password("pw").unwrap()).unwrap();
        let mut d = Directory {
            domains: vec!["example.org".to_owned()],
            users: HashMap::from([("alice".to_owned(), hashed)]),
            postmaster: "alice".to_owned(),
            senders: HashMap::new(),
        };
        assert!(!d.offers_apop());
        assert_eq!(d.apop_secret("alice"), None);
        d.users
            .insert("bob".to_owned(), Password::Plain("pw".to_owned()));
        assert!(d.offers_apop());
        assert_eq!(d.apop_secret("bob").as_deref(), Some("pw"));
    }

    #[test]
    fn sha512_crypt_known_answer() {
        // The first example of the SHA-crypt specification (Drepper), "Hello world!".
        let h = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        let p = Password::parse_hash(h).unwrap();
        assert!(p.verify("Hello world!"));
        assert!(!p.verify("Hello world"));
        let prefixed = Password::parse_hash(&format!("{{SHA512-CRYPT}}{h}")).unwrap();
        assert_eq!(prefixed, p);
    }

    #[test]
    fn users_file_errors_name_the_line() {
        let phc = hash_password("x").unwrap();
        let text = format!("# users\n\nAlice:{phc}\nbob:secret\n");
        let (line, msg) = parse_users(&text).unwrap_err();
        assert_eq!(line, 4);
        assert!(
            msg.contains("bob") && msg.contains("not a password hash"),
            "{msg}"
        );
        let dup = format!("alice:{phc}\nALICE:{phc}\n");
        let (line, msg) = parse_users(&dup).unwrap_err();
        assert_eq!((line, msg.contains("line 1")), (2, true), "{msg}");
        assert_eq!(parse_users("carol\n").unwrap_err().0, 1);
        assert!(
            parse_users("x:{MD5}abc\n")
                .unwrap_err()
                .1
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
        assert!(bad.unwrap_err().1.contains("sender"));
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
        assert!(bad.unwrap_err().1.contains("all mailboxes"));
        let bad = parse_users(&format!("a:{phc}::::::quota_rule=*:storage=lots\n"));
        assert_eq!(bad.unwrap_err().0, 1);
    }
}
