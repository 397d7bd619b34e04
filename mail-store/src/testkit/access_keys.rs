//! URLAUTH access keys: made once per mailbox, independent per mailbox and account, reset
//! one or all, gone with a deleted mailbox.

use std::{sync::Arc, thread};

use super::{Fixture, account, join};
use crate::{MailStore, StoreError, block_on};

/// Access keys (RFC 4467 §7): none until made, then stable; one per mailbox and account;
/// RESETKEY of one mailbox or all; a deleted mailbox's key does not come back with a new
/// mailbox of that name; unknown mailboxes refused.
pub fn access_keys<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let alice = account(store, "alice");
    let bob = account(store, "bob");
    let drafts = join(store, &["Drafts", "Old"]);
    block_on(store.create_mailbox(&alice, &drafts, None)).unwrap();

    assert_eq!(block_on(store.access_key(&alice, "INBOX")).unwrap(), None);
    let inbox = block_on(store.make_access_key(&alice, "INBOX")).unwrap();
    assert_eq!(
        block_on(store.make_access_key(&alice, "inbox")).unwrap(),
        inbox,
        "a second make returns the key made first (INBOX in any case)"
    );
    assert_eq!(
        block_on(store.access_key(&alice, "INBOX")).unwrap(),
        Some(inbox.clone())
    );
    let old = block_on(store.make_access_key(&alice, &drafts)).unwrap();
    let bobs = block_on(store.make_access_key(&bob, "INBOX")).unwrap();
    assert_ne!(old, inbox);
    assert_ne!(bobs, inbox);
    assert_ne!(inbox.as_bytes(), &[0; crate::AccessKey::LEN]);

    for missing in ["Nope".to_owned(), join(store, &["Drafts", "Nope"])] {
        let missing = missing.as_str();
        assert!(matches!(
            block_on(store.access_key(&alice, missing)),
            Err(StoreError::NoSuchMailbox(_))
        ));
        assert!(matches!(
            block_on(store.make_access_key(&alice, missing)),
            Err(StoreError::NoSuchMailbox(_))
        ));
        assert!(matches!(
            block_on(store.reset_access_keys(&alice, Some(missing))),
            Err(StoreError::NoSuchMailbox(_))
        ));
    }

    // One mailbox's reset leaves the others' keys.
    block_on(store.reset_access_keys(&alice, Some("INBOX"))).unwrap();
    assert_eq!(block_on(store.access_key(&alice, "INBOX")).unwrap(), None);
    assert_eq!(
        block_on(store.access_key(&alice, &drafts)).unwrap(),
        Some(old.clone())
    );
    let renewed = block_on(store.make_access_key(&alice, "INBOX")).unwrap();
    assert_ne!(renewed, inbox, "a reset key is never made again");

    // Without a mailbox: every key of the account, and only of that account.
    block_on(store.reset_access_keys(&alice, None)).unwrap();
    assert_eq!(block_on(store.access_key(&alice, "INBOX")).unwrap(), None);
    assert_eq!(block_on(store.access_key(&alice, &drafts)).unwrap(), None);
    assert_eq!(
        block_on(store.access_key(&bob, "INBOX")).unwrap(),
        Some(bobs)
    );

    // A deleted mailbox takes its key along.
    let gone = block_on(store.make_access_key(&alice, &drafts)).unwrap();
    block_on(store.delete_mailbox(&alice, &drafts)).unwrap();
    block_on(store.create_mailbox(&alice, &drafts, None)).unwrap();
    let now = block_on(store.access_key(&alice, &drafts)).unwrap();
    assert!(
        now.is_none_or(|k| k != gone),
        "a new mailbox got the old key"
    );
}

/// Sessions making a mailbox's first key at the same time all get the same key.
pub fn access_key_made_once<S: MailStore>(fx: Fixture<S>) {
    let store = Arc::clone(&fx.store);
    let s = account(&*store, "alice");
    block_on(store.create_mailbox(&s, "Fresh", None)).unwrap();
    let keys: Vec<_> = (0..4)
        .map(|_| {
            let (store, s) = (Arc::clone(&store), s.clone());
            thread::spawn(move || block_on(store.make_access_key(&s, "Fresh")).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "several keys made");
    assert_eq!(
        block_on(store.access_key(&s, "Fresh")).unwrap().as_ref(),
        keys.first()
    );
}
