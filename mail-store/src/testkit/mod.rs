//! The conformance suite: every backend, ours or a user's, runs it to prove it behaves.
//!
//! Each case is a public function taking a fresh store; it panics (like a test) when the
//! backend breaks a rule. [`conformance_tests!`](crate::conformance_tests) expands to one
//! `#[test]` per case:
//!
//! ```ignore
//! sansmail_store::conformance_tests!(sansmail_store::memory::MemoryStore::new());
//! ```
//!
//! The expression is evaluated once per case and must give a [`Fixture`] or a store. Futures
//! are driven with [`block_on`] on plain threads (the concurrency cases
//! start their own threads), so a backend must not need a particular async runtime to make
//! progress.
#![allow(
    clippy::needless_pass_by_value,
    clippy::many_single_char_names,
    clippy::items_after_statements,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation
)]

mod access_keys;
mod messages;
mod pop3;
mod range;
mod search;
mod sync;
mod tree;

use std::{any::Any, sync::Arc};

pub use self::{access_keys::*, messages::*, pop3::*, range::*, search::*, sync::*, tree::*};
use crate::{AccountName, AppendItem, Flags, InternalDate, MailStore, Session, Uid, block_on};

/// A store under test plus whatever must live as long as it (a temporary directory).
pub struct Fixture<S> {
    /// The store.
    pub store: Arc<S>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl<S> Fixture<S> {
    /// A fixture holding only a store.
    pub fn new(store: S) -> Self {
        Self {
            store: Arc::new(store),
            _guard: None,
        }
    }

    /// Keeps `guard` alive until the fixture is dropped.
    #[must_use]
    pub fn with_guard(self, guard: impl Any + Send + Sync) -> Self {
        Self {
            store: self.store,
            _guard: Some(Box::new(guard)),
        }
    }
}

impl<S: MailStore> From<S> for Fixture<S> {
    fn from(store: S) -> Self {
        Self::new(store)
    }
}

/// A named conformance case.
pub type Case<S> = (&'static str, fn(Fixture<S>));

/// Every case, by name, for a runner that is not a `#[test]` per case.
pub fn cases<S: MailStore>() -> Vec<Case<S>> {
    macro_rules! list {
        ($($name:ident),* $(,)?) => { vec![$((stringify!($name), $name::<S> as fn(Fixture<S>))),*] };
    }
    list!(
        accounts,
        mailbox_tree_and_patterns,
        create_with_special_use,
        rename_moves_children,
        rename_inbox_moves_messages,
        delete_rules,
        subscriptions,
        uidvalidity_only_grows,
        status_in_one_call,
        append_and_fetch,
        append_streamed_in_chunks,
        multi_append_all_or_nothing,
        fetch_structure,
        store_flags_and_modseq,
        unchanged_since,
        expunge_scopes,
        uidnext_rules,
        copy_and_move,
        move_within_mailbox,
        changes_since_classifies,
        recent_is_claimed_once,
        change_events_reach_other_sessions,
        account_events_cover_every_mailbox,
        concurrent_writers_and_reader,
        pop3_maildrop,
        pop3_lease_contention,
        pop3_commit_tolerates_missing,
        read_range_in_pieces,
        an_open_message_outlives_its_expunge,
        delivery_per_recipient,
        quota_refusal,
        search_flags_keywords_and_sizes,
        search_dates,
        search_header_body_and_text,
        search_logic_and_uid_scope,
        search_modseq,
        search_across_batches,
        access_keys,
        access_key_made_once,
    )
}

/// Expands to one `#[test]` per conformance case, each on a store made by `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            accounts, mailbox_tree_and_patterns, create_with_special_use, rename_moves_children,
            rename_inbox_moves_messages, delete_rules, subscriptions, uidvalidity_only_grows,
            status_in_one_call, append_and_fetch, append_streamed_in_chunks,
            multi_append_all_or_nothing, fetch_structure, store_flags_and_modseq,
            unchanged_since, expunge_scopes, uidnext_rules, copy_and_move, move_within_mailbox,
            changes_since_classifies, recent_is_claimed_once, change_events_reach_other_sessions,
            account_events_cover_every_mailbox, concurrent_writers_and_reader, pop3_maildrop, pop3_lease_contention,
            pop3_commit_tolerates_missing, read_range_in_pieces,
            an_open_message_outlives_its_expunge, delivery_per_recipient,
            quota_refusal, search_flags_keywords_and_sizes, search_dates, search_header_body_and_text,
            search_logic_and_uid_scope, search_modseq, search_across_batches, access_keys,
            access_key_made_once);
    };
    (@cases $make:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                $crate::testkit::$name($crate::testkit::Fixture::from($make));
            }
        )*
    };
}

// ---- helpers shared by the cases ----

pub(crate) fn account<S: MailStore>(store: &S, name: &str) -> Session {
    let a = AccountName::try_from(name).unwrap();
    if !block_on(store.account_exists(&a)).unwrap() {
        block_on(store.create_account(&a)).unwrap();
    }
    Session::new(a)
}

pub(crate) fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

pub(crate) fn item<S: MailStore>(store: &S, data: &[u8], flags: Flags) -> AppendItem {
    let mut up = store.upload();
    up.write(data).unwrap();
    AppendItem {
        data: up,
        flags,
        internal_date: Some(InternalDate {
            timestamp: 760_683_145,
            offset_minutes: -480,
        }),
    }
}

pub(crate) fn put<S: MailStore>(
    store: &S,
    s: &Session,
    mailbox: &str,
    subject: &str,
    flags: Flags,
) -> Uid {
    let data = message(subject, "body");
    block_on(store.append(s, mailbox, vec![item(store, &data, flags)]))
        .unwrap()
        .uids[0]
}

pub(crate) fn uid(n: u32) -> Uid {
    Uid::new(n).unwrap()
}

pub(crate) fn join<S: MailStore>(store: &S, parts: &[&str]) -> String {
    parts.join(&store.hierarchy_delimiter().to_string())
}
