//! Users from a passwd-file (feature `passwd-file`): the file format Dovecot's `passwd-file`
//! reads, its password hashes checked, and a ready [`Accounts`](crate::auth::Accounts)
//! policy over it.
//!
//! - [`Password`]: a stored password (Argon2 or SHA512-CRYPT hash, or plaintext given by the
//!   operator) and its constant-time check; [`hash_password`] writes a new Argon2id hash.
//! - [`parse_users`], [`read_users_file`]: `name:hash[:uid:gid:gecos:home:shell:extra]` lines,
//!   with Dovecot's `quota_rule=` and a `senders=` list among the extra fields.
//! - [`UsersFile`]: the file edited in place (users added and removed, passwords and quotas
//!   set), every other line kept, written atomically.
//! - [`Directory`]: who receives mail here (local domains, the users, the postmaster) and who
//!   may log in and send as whom.
//!
//! ```
//! use sansmail_server::passwd_file::{Password, parse_users};
//!
//! let line = "bob:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
//! let users = parse_users(&format!("# staff\n{line}::::::quota_rule=*:storage=1G\n")).unwrap();
//! assert_eq!(users[0].name, "bob");
//! assert!(users[0].password.verify("Hello world!"));
//! assert_eq!(users[0].quota.unwrap().storage_bytes, Some(1 << 30));
//!
//! let err = parse_users("alice:secret\n").unwrap_err();
//! assert_eq!(err.line(), Some(1));
//! assert!(Password::parse_hash("secret").is_err());
//! ```

mod directory;
mod edit;
mod password;
mod users;

use std::{fmt, io, path::PathBuf};

pub use directory::Directory;
pub use edit::UsersFile;
pub use password::{Password, hash_password};
pub use users::{User, parse_users, read_users_file};

/// What is wrong with a users file, one of its lines, or a password hash: the message, and
/// where (the file and the 1-based line) when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    path: Option<PathBuf>,
    line: Option<usize>,
    io_kind: Option<io::ErrorKind>,
    message: String,
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self {
            io_kind: Some(e.kind()),
            ..Self::new(e.to_string())
        }
    }
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            path: None,
            line: None,
            io_kind: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn in_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The file, when the error came from one.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The 1-based line, when the error is about one.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// What is wrong, without the place.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The kind of the I/O error, when reading or writing the file failed.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        self.io_kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}:", path.display())?;
        }
        if let Some(line) = self.line {
            write!(f, "{line}:")?;
        }
        if self.path.is_some() || self.line.is_some() {
            f.write_str(" ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
