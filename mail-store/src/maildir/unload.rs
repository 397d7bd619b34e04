//! Tests of unloading the accounts no call is using, past
//! [`MaildirOptions::max_loaded_accounts`].

use std::{path::PathBuf, time::Duration};

use super::{MaildirOptions, MaildirStore};
use crate::{
    AccountName, AppendItem, FetchQuery, Flag, Flags, MailStore, Recipient, Session, StoreError,
    UidSet, Upload, block_on, model::Content,
};

fn root(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("mail-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    root
}

fn open(root: &PathBuf, max_loaded_accounts: usize) -> MaildirStore {
    let opts = MaildirOptions {
        max_loaded_accounts,
        ..MaildirOptions::default()
    };
    MaildirStore::open(root, opts).unwrap()
}

fn account(name: &str) -> AccountName {
    AccountName::try_from(name).unwrap()
}

fn loaded(store: &MaildirStore) -> usize {
    store.handle.engine.loaded_accounts()
}

/// Each message of the account's INBOX: its UID, whether it is `\Flagged`, and its text.
fn inbox(store: &MaildirStore, who: &str) -> Vec<(u32, bool, Vec<u8>)> {
    let q = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    block_on(store.fetch(&Session::new(account(who)), "INBOX", &UidSet::all(), q))
        .unwrap()
        .into_iter()
        .map(|m| {
            let flagged = m.flags.contains(Flag::Flagged);
            (m.uid.get(), flagged, m.content.unwrap_or_default())
        })
        .collect()
}

fn message(who: &str) -> Vec<u8> {
    format!("Subject: for {who}\r\n\r\nHello {who}.\r\n").into_bytes()
}

/// Past the limit, the accounts no call is using are unloaded: their locks are released
/// (another store may open them) and, used again, they are loaded with everything they had.
#[test]
fn idle_accounts_are_unloaded_past_the_limit() {
    let root = root("unload-idle");
    let store = open(&root, 2);
    let names: Vec<String> = (0..5).map(|i| format!("user{i}")).collect();
    for who in &names {
        block_on(store.create_account(&account(who))).unwrap();
        let item = AppendItem {
            flags: Flags::new().with(Flag::Flagged),
            ..AppendItem::new(Upload::from_bytes(message(who)))
        };
        block_on(store.append(&Session::new(account(who)), "INBOX", vec![item])).unwrap();
        assert!(loaded(&store) <= 2, "{} accounts loaded", loaded(&store));
    }
    // The first was unloaded, the directories its renames changed fsynced first...
    let unsynced = crate::engine::lock(&store.handle.engine.backend.unsynced);
    assert!(!unsynced.contains_key(&account("user0")), "{unsynced:?}");
    drop(unsynced);
    // ...so another store can take it (its lock was released)...
    {
        let other = open(&root, 2);
        assert_eq!(inbox(&other, "user0"), [(1, true, message("user0"))]);
    }
    // ...and this one loads each again as it was.
    for who in &names {
        assert_eq!(inbox(&store, who), [(1, true, message(who))], "{who}");
        let status = block_on(store.status(&Session::new(account(who)), "INBOX")).unwrap();
        assert_eq!(status.uidnext.get(), 2, "{who}");
    }
    assert!(loaded(&store) <= 2);
    let _ = std::fs::remove_dir_all(&root);
}

/// A delivery holds each recipient's account from staging its copy to committing it: with
/// room for one account loaded, staging the second copy must not unload the first account,
/// whose load would take the copy waiting in its `tmp/` for one a crash left.
#[test]
fn a_delivery_keeps_its_recipients_loaded() {
    let root = root("unload-delivery");
    let store = open(&root, 1);
    let names = ["rcpt0", "rcpt1", "rcpt2"];
    for who in names {
        block_on(store.create_account(&account(who))).unwrap();
    }
    let to: Vec<Recipient> = names
        .iter()
        .map(|who| Recipient::inbox(account(who)))
        .collect();
    let results = block_on(store.deliver(Upload::from_bytes(message("all")), &to));
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    for who in names {
        assert_eq!(inbox(&store, who), [(1, false, message("all"))], "{who}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// An account whose maildrop a POP3 session holds stays loaded (the lease lives in memory).
#[test]
fn a_pop3_lease_keeps_its_account_loaded() {
    let root = root("unload-pop3");
    let store = open(&root, 1);
    for who in ["pop0", "pop1"] {
        block_on(store.create_account(&account(who))).unwrap();
    }
    let lease = Duration::from_secs(600);
    let maildrop = block_on(store.pop3_open(&Session::new(account("pop0")), lease)).unwrap();
    // Loading another account unloads those no call and no lease holds.
    block_on(store.status(&Session::new(account("pop1")), "INBOX")).unwrap();
    let second = block_on(store.pop3_open(&Session::new(account("pop0")), lease));
    assert!(matches!(second, Err(StoreError::InUse)), "{second:?}");
    drop(maildrop);
    let _ = std::fs::remove_dir_all(&root);
}

/// An account whose load fails (its values are damaged) is not left locked: another store,
/// or this one later, may take it.
#[test]
fn a_failed_load_leaves_the_account_unlocked() {
    let root = root("unload-failed");
    {
        let store = open(&root, 8);
        block_on(store.create_account(&account("broken"))).unwrap();
    }
    let dir = root.join("broken").join("Maildir");
    std::fs::write(dir.join("mailstore-account"), b"{ not json").unwrap();
    let store = open(&root, 8);
    let status = block_on(store.status(&Session::new(account("broken")), "INBOX"));
    assert!(matches!(status, Err(StoreError::Corrupt(_))), "{status:?}");
    let lock = std::fs::File::options()
        .write(true)
        .open(dir.join("mailstore.lock"))
        .unwrap();
    assert!(lock.try_lock().is_ok(), "the failed load kept the lock");
    drop(store);
    let _ = std::fs::remove_dir_all(&root);
}
