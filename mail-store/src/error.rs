//! The one error type of the storage API.

use std::io;

/// Why a storage operation failed.
///
/// Each variant maps to what the protocols answer: see [`StoreError::imap_code`] and
/// [`StoreError::is_temporary`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The account does not exist (SMTP `550 5.1.1`).
    #[error("no such account")]
    NoSuchAccount,
    /// The account exists already.
    #[error("account exists")]
    AccountExists,
    /// The mailbox does not exist (IMAP `[NONEXISTENT]`).
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),
    /// The mailbox exists already (IMAP `[ALREADYEXISTS]`).
    #[error("mailbox exists: {0}")]
    MailboxExists(String),
    /// The mailbox has children and cannot be deleted (IMAP `[INUSE]`-class `NO`).
    #[error("mailbox has children: {0}")]
    HasChildren(String),
    /// The message is gone (expunged by another session).
    #[error("no such message: UID {0}")]
    NoSuchMessage(u32),
    /// The name is not a valid mailbox (or account, or keyword) name here.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// The operation is not allowed on this mailbox (deleting INBOX, renaming into itself).
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// The operation would exceed the account's quota (IMAP `[OVERQUOTA]`, SMTP `552 5.2.2`).
    #[error("over quota: {0}")]
    OverQuota(crate::QuotaResourceName),
    /// The file system is full (or the process's disk quota is used up): nothing was
    /// changed. Reads still work, and so does deleting, which the Maildir backend keeps room
    /// for (IMAP `[OVERQUOTA]`, SMTP `452 4.3.1`, POP3 `-ERR [SYS/TEMP]`).
    #[error("no space left on the mail store's disk")]
    NoSpace,
    /// On a full disk, the change is larger than the room kept for it: nothing was changed,
    /// and the same change on fewer messages at a time may work (IMAP `[LIMIT]`).
    #[error("too large for the space left: {0}")]
    Limit(&'static str),
    /// Another session holds the POP3 maildrop lease (POP3 `-ERR [IN-USE]`).
    #[error("maildrop in use")]
    InUse,
    /// The POP3 lease is unknown, expired or was taken over.
    #[error("lease expired")]
    LeaseExpired,
    /// The mailbox was deleted or recreated (its UIDVALIDITY changed) during the operation.
    #[error("mailbox changed under the operation")]
    UidValidityChanged,
    /// An argument was out of range (an empty multi-append, a zero UID).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The on-disk data is damaged beyond what recovery repairs.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The backend's worker went away before answering.
    #[error("backend worker stopped")]
    WorkerGone,
    /// An I/O error from the backend. A full disk is [`NoSpace`](Self::NoSpace) instead
    /// (`From<io::Error>` tells them apart).
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
}

impl StoreError {
    /// Whether this is a file that is not there (another program removed it).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

impl From<io::Error> for StoreError {
    /// [`NoSpace`](Self::NoSpace) for a full file system or an exhausted disk quota
    /// (`ENOSPC`, `EDQUOT`), [`Io`](Self::Io) for the rest.
    fn from(e: io::Error) -> Self {
        if is_no_space(&e) {
            Self::NoSpace
        } else {
            Self::Io(e)
        }
    }
}

/// Whether an I/O error says the disk (or the disk quota) is full.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

impl StoreError {
    /// The IMAP response code (RFC 5530) that fits this error, if any.
    pub fn imap_code(&self) -> Option<&'static str> {
        Some(match self {
            Self::NoSuchMailbox(_) => "NONEXISTENT",
            Self::MailboxExists(_) => "ALREADYEXISTS",
            Self::HasChildren(_) => "HASCHILDREN",
            Self::InUse => "INUSE",
            Self::OverQuota(_) | Self::NoSpace => "OVERQUOTA",
            Self::Limit(_) => "LIMIT",
            Self::NotAllowed(_) | Self::InvalidName(_) => "CANNOT",
            Self::Io(_) | Self::WorkerGone => "SERVERBUG",
            Self::Corrupt(_) => "CORRUPTION",
            Self::UidValidityChanged | Self::NoSuchMessage(_) => "EXPUNGEISSUED",
            _ => return None,
        })
    }

    /// Whether retrying later may succeed (SMTP `4xx` rather than `5xx`).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Self::Io(_) | Self::WorkerGone | Self::InUse | Self::Corrupt(_) | Self::NoSpace
        )
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
