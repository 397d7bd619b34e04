//! The storage API that IMAP, POP3 and SMTP/LMTP delivery share, with its backends.
//!
//! - [`MailStore`]: the async trait. Every method is one transaction; UIDs, UIDVALIDITY and
//!   modseqs come from the backend; change events reach every other session of a mailbox
//!   through a [`Subscription`].
//! - [`maildir::MaildirStore`] (feature `maildir`, the embedded default): Maildir++ on disk
//!   that other tools read, plus our own index and journal beside the messages.
//! - [`memory::MemoryStore`] (feature `memory`): for tests and embedding.
//! - `postgres::PostgresStore` (feature `postgres`): PostgreSQL, for several server
//!   processes over one database, change events through `LISTEN`/`NOTIFY`, SEARCH in SQL.
//! - [`testkit`]: the conformance suite every backend (ours or yours) runs.
//! - [`either::EitherStore`]: one store type for a backend chosen at start;
//!   [`migrate`]: an account from one store into another.
//! - [`provision`]: the special-use mailboxes (Drafts, Sent, Trash, Junk, Archive) an
//!   account is given besides INBOX.
//! - [`mime`]: ENVELOPE and BODYSTRUCTURE data, computed once at append time.
//! - What runs on stored messages, for every protocol: [`search`] (a query tree, its
//!   evaluation, and [`MailStore::search`]'s default scan), [`section`] (the octets of a body
//!   section, transfer encodings undone), [`headers`] (field values, encoded words) and
//!   [`date`] (calendar days, RFC 5322 `Date:` values).
//!
//! # Design
//!
//! - **One transaction per call.** Each method happens entirely or not at all and is durable
//!   when its future resolves. UIDs, UIDVALIDITY and modseqs are assigned by the backend
//!   inside the transaction; one transaction gets one modseq, however many messages it
//!   touches. Calls are stateless (a [`Session`] names the account and the caller, a mailbox
//!   is named by its name), so several server processes over one database fit the trait.
//! - **Change events** are plain serializable data routed by a [`ChangeHub`]; a database
//!   backend feeds the same hub from `LISTEN`/`NOTIFY`. A subscriber that falls behind gets
//!   [`ChangeKind::Lagged`] and resynchronises with [`MailStore::changes_since`].
//! - **Messages are served with CRLF line ends**, the form IMAP and POP3 send: a message
//!   appended with bare LFs is stored with CRLF, and files other programs wrote with LF
//!   (Dovecot does) are converted when read, so RFC822.SIZE, BODYSTRUCTURE offsets and the
//!   octets served agree.
//! - **Blocking work** (the Maildir backend's file I/O) runs on an [`Executor`]; the
//!   futures are `Send`, so a multi-threaded runtime can call the store from spawned tasks.
//! - **Dependencies**: `mail-parser` for the MIME tree, `serde`/`serde_json` for the
//!   Maildir index, `thiserror` for the error type. No async runtime.
//!
//! ```
//! use sansmail_store::{block_on, memory::MemoryStore, AccountName, AppendItem, FetchQuery, MailStore, Session, UidSet, Upload};
//!
//! let store = MemoryStore::new();
//! let alice = AccountName::try_from("alice").unwrap();
//! block_on(store.create_account(&alice)).unwrap();
//! let s = Session::new(alice);
//! let mut up = store.upload();
//! up.write(b"Subject: hi\r\n\r\nhello\r\n").unwrap();
//! let appended = block_on(store.append(&s, "INBOX", vec![AppendItem::new(up)])).unwrap();
//! let got = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
//! assert_eq!(got[0].uid, appended.uids[0]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

// Shared by the backends; without one, nothing calls them.
#[cfg_attr(
    not(any(feature = "maildir", feature = "memory", feature = "postgres")),
    allow(dead_code)
)]
pub mod access_key;
mod crlf;
pub mod date;
pub mod either;
#[cfg(any(feature = "maildir", feature = "memory"))]
mod engine;
pub mod error;
pub mod exec;
pub mod headers;
#[cfg(feature = "maildir")]
pub mod maildir;
#[cfg(feature = "memory")]
pub mod memory;
pub mod migrate;
pub mod mime;
pub mod model;
#[cfg_attr(
    not(any(feature = "maildir", feature = "memory", feature = "postgres")),
    allow(dead_code)
)]
mod names;
pub mod notify;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod provision;
pub mod reader;
pub mod search;
pub mod section;
pub mod store;
pub mod testkit;
pub mod types;
pub mod upload;

pub use access_key::AccessKey;
pub use error::{Result, StoreError};
pub use exec::{Executor, block_on};
pub use model::*;
pub use notify::{ChangeEvent, ChangeHub, ChangeKind, Subscription};
pub use reader::MessageReader;
pub use search::{SearchHit, SearchQuery};
pub use store::MailStore;
pub use types::{
    AccountName, Flag, FlagOp, Flags, InternalDate, Keyword, ModSeq, Session, SessionId,
    SpecialUse, Uid, UidSet, UidValidity,
};
pub use upload::Upload;
