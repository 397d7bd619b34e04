//! Accounts and the mailbox tree.

use super::{Fixture, account, join, put};
use crate::{
    AccountName, ExpungeScope, FetchQuery, Flags, ListScope, MailStore, Session, SpecialUse,
    StoreError, UidSet, block_on,
};

fn names<S: MailStore>(store: &S, s: &Session, pattern: &str) -> Vec<String> {
    block_on(store.list(s, pattern, ListScope::All))
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect()
}

/// Accounts: creation, existence, duplicates, unknown accounts.
pub fn accounts<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let a = AccountName::try_from("alice").unwrap();
    assert!(!block_on(store.account_exists(&a)).unwrap());
    block_on(store.create_account(&a)).unwrap();
    assert!(block_on(store.account_exists(&a)).unwrap());
    assert!(matches!(
        block_on(store.create_account(&a)),
        Err(StoreError::AccountExists)
    ));
    let s = Session::new(a);
    assert_eq!(names(store, &s, "*"), vec!["INBOX"]);
    let ghost = Session::new(AccountName::try_from("ghost").unwrap());
    assert!(matches!(
        block_on(store.status(&ghost, "INBOX")),
        Err(StoreError::NoSuchAccount)
    ));
}

/// LIST with `*` and `%`, parents created with children, `INBOX` case-insensitive, invalid
/// names refused.
pub fn mailbox_tree_and_patterns<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let work_sub = join(store, &["Work", "Sub"]);
    let work_sub_deep = join(store, &["Work", "Sub", "Deep"]);
    block_on(store.create_mailbox(&s, &work_sub_deep, None)).unwrap();
    block_on(store.create_mailbox(&s, "Archive", None)).unwrap();
    block_on(store.create_mailbox(&s, "Ärger", None)).unwrap();
    // CREATE makes the missing parents (RFC 3501 §6.3.3).
    let all = names(store, &s, "*");
    assert_eq!(
        all,
        vec![
            "Archive",
            "INBOX",
            "Work",
            &work_sub,
            &work_sub_deep,
            "Ärger"
        ]
    );
    assert_eq!(
        names(store, &s, "%"),
        vec!["Archive", "INBOX", "Work", "Ärger"]
    );
    assert_eq!(
        names(store, &s, &join(store, &["Work", "%"])),
        vec![work_sub.clone()]
    );
    assert_eq!(
        names(store, &s, &join(store, &["Work", "*"])),
        vec![work_sub.clone(), work_sub_deep.clone()]
    );
    assert_eq!(names(store, &s, "inbox"), vec!["INBOX"]);
    assert_eq!(names(store, &s, "A*"), vec!["Archive"]);
    assert!(
        names(store, &s, "archive").is_empty(),
        "only INBOX is case-insensitive"
    );
    let list = block_on(store.list(&s, "*", ListScope::All)).unwrap();
    let work = list.iter().find(|m| m.name == "Work").unwrap();
    assert!(work.has_children && work.exists);
    let deep = list.iter().find(|m| m.name == work_sub_deep).unwrap();
    assert!(!deep.has_children);
    assert!(matches!(
        block_on(store.create_mailbox(&s, "Archive", None)),
        Err(StoreError::MailboxExists(_))
    ));
    assert!(matches!(
        block_on(store.create_mailbox(&s, "inbox", None)),
        Err(StoreError::MailboxExists(_))
    ));
    let d = store.hierarchy_delimiter();
    for bad in [
        String::new(),
        format!("a{d}{d}b"),
        format!("{d}a"),
        "a*".into(),
        "a\u{1}".into(),
    ] {
        assert!(
            matches!(
                block_on(store.create_mailbox(&s, &bad, None)),
                Err(StoreError::InvalidName(_))
            ),
            "{bad:?} must be refused"
        );
    }
    // Messages can go into a nested mailbox addressed with any INBOX case.
    put(store, &s, &work_sub, "nested", Flags::new());
    put(store, &s, "inbox", "lower", Flags::new());
    assert_eq!(block_on(store.status(&s, &work_sub)).unwrap().messages, 1);
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 1);
}

/// CREATE with a special-use role (RFC 6154) shows in LIST and STATUS.
pub fn create_with_special_use<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    for (name, role) in [
        ("Sent", SpecialUse::Sent),
        ("Trash", SpecialUse::Trash),
        ("Drafts", SpecialUse::Drafts),
        ("Junk", SpecialUse::Junk),
        ("Archive", SpecialUse::Archive),
    ] {
        block_on(store.create_mailbox(&s, name, Some(role))).unwrap();
    }
    let list = block_on(store.list(&s, "*", ListScope::All)).unwrap();
    let role = |n: &str| list.iter().find(|m| m.name == n).unwrap().special_use;
    assert_eq!(role("Sent"), Some(SpecialUse::Sent));
    assert_eq!(role("Trash"), Some(SpecialUse::Trash));
    assert_eq!(role("INBOX"), None);
    assert_eq!(
        block_on(store.status(&s, "Drafts")).unwrap().special_use,
        Some(SpecialUse::Drafts)
    );
}

/// RENAME moves the children; the target must not exist; a mailbox cannot move into itself.
pub fn rename_moves_children<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a_b = join(store, &["A", "B"]);
    block_on(store.create_mailbox(&s, &a_b, None)).unwrap();
    block_on(store.create_mailbox(&s, "Other", None)).unwrap();
    let u = put(
        store,
        &s,
        &a_b,
        "child",
        Flags::new().with(crate::Flag::Flagged),
    );
    let before = block_on(store.status(&s, &a_b)).unwrap();
    block_on(store.rename_mailbox(&s, "A", "Z")).unwrap();
    let z_b = join(store, &["Z", "B"]);
    assert_eq!(names(store, &s, "*"), vec!["INBOX", "Other", "Z", &z_b]);
    let after = block_on(store.status(&s, &z_b)).unwrap();
    assert_eq!(after.messages, 1);
    assert_eq!(
        after.uidvalidity, before.uidvalidity,
        "UIDs survive a rename"
    );
    let m = block_on(store.fetch(&s, &z_b, &UidSet::single(u), FetchQuery::meta())).unwrap();
    assert!(m[0].flags.contains(crate::Flag::Flagged));
    assert!(matches!(
        block_on(store.rename_mailbox(&s, "Z", "Other")),
        Err(StoreError::MailboxExists(_))
    ));
    assert!(matches!(
        block_on(store.rename_mailbox(&s, "Nope", "X")),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(block_on(store.rename_mailbox(&s, "Z", &join(store, &["Z", "C"]))).is_err());
    // Renaming into a new hierarchy creates the parents.
    let p_q = join(store, &["P", "Q"]);
    block_on(store.rename_mailbox(&s, "Other", &p_q)).unwrap();
    assert_eq!(names(store, &s, "%"), vec!["INBOX", "P", "Z"]);
    assert_eq!(names(store, &s, &join(store, &["P", "%"])), vec![p_q]);
}

/// Renaming INBOX moves its messages into the new mailbox and leaves INBOX empty and usable.
pub fn rename_inbox_moves_messages<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let child = join(store, &["INBOX", "Child"]);
    block_on(store.create_mailbox(&s, &child, None)).unwrap();
    put(
        store,
        &s,
        "INBOX",
        "one",
        Flags::new().with(crate::Flag::Seen),
    );
    put(store, &s, "INBOX", "two", Flags::new());
    let inbox_before = block_on(store.status(&s, "INBOX")).unwrap();
    block_on(store.rename_mailbox(&s, "INBOX", "Old")).unwrap();
    let old = block_on(store.status(&s, "Old")).unwrap();
    assert_eq!(old.messages, 2);
    assert_eq!(old.unseen, 1);
    let inbox = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(inbox.messages, 0);
    assert!(
        inbox.uidnext >= inbox_before.uidnext,
        "INBOX must not reuse UIDs"
    );
    assert!(
        names(store, &s, "*").contains(&child),
        "INBOX's children stay"
    );
    put(store, &s, "INBOX", "three", Flags::new());
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 1);
    // Into a child of its own (RFC 9051 §6.3.6 allows it: INBOX's children stay where
    // they are), and into a mailbox whose parent does not exist yet.
    let under = join(store, &["INBOX", "old"]);
    block_on(store.rename_mailbox(&s, "INBOX", &under)).unwrap();
    assert_eq!(block_on(store.status(&s, &under)).unwrap().messages, 1);
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 0);
    put(store, &s, "INBOX", "four", Flags::new());
    let deep = join(store, &["Archive", "2026"]);
    block_on(store.rename_mailbox(&s, "INBOX", &deep)).unwrap();
    assert_eq!(block_on(store.status(&s, &deep)).unwrap().messages, 1);
    assert!(names(store, &s, "*").contains(&"Archive".to_owned()));
}

/// DELETE: refused for INBOX, for a mailbox with children and for unknown names; removes
/// the messages.
pub fn delete_rules<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let p_c = join(store, &["P", "C"]);
    block_on(store.create_mailbox(&s, &p_c, None)).unwrap();
    put(store, &s, &p_c, "x", Flags::new());
    assert!(matches!(
        block_on(store.delete_mailbox(&s, "INBOX")),
        Err(StoreError::NotAllowed(_))
    ));
    assert!(matches!(
        block_on(store.delete_mailbox(&s, "P")),
        Err(StoreError::HasChildren(_))
    ));
    assert!(matches!(
        block_on(store.delete_mailbox(&s, "Nope")),
        Err(StoreError::NoSuchMailbox(_))
    ));
    block_on(store.delete_mailbox(&s, &p_c)).unwrap();
    block_on(store.delete_mailbox(&s, "P")).unwrap();
    assert_eq!(names(store, &s, "*"), vec!["INBOX"]);
    assert!(matches!(
        block_on(store.status(&s, &p_c)),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert_eq!(block_on(store.quota(&s)).unwrap().used_messages, 0);
    // A new mailbox with the old name is empty.
    block_on(store.create_mailbox(&s, &p_c, None)).unwrap();
    assert_eq!(block_on(store.status(&s, &p_c)).unwrap().messages, 0);
    let _ = ExpungeScope::Deleted;
}

/// SUBSCRIBE, UNSUBSCRIBE and listing subscribed names (which need not exist).
pub fn subscriptions<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    block_on(store.create_mailbox(&s, "Lists", None)).unwrap();
    block_on(store.subscribe(&s, "Lists")).unwrap();
    block_on(store.subscribe(&s, "inbox")).unwrap();
    block_on(store.subscribe(&s, "Gone")).unwrap();
    let subs = block_on(store.list(&s, "*", ListScope::Subscribed)).unwrap();
    let got: Vec<(&str, bool)> = subs.iter().map(|m| (m.name.as_str(), m.exists)).collect();
    assert_eq!(got, vec![("Gone", false), ("INBOX", true), ("Lists", true)]);
    assert!(subs.iter().all(|m| m.subscribed));
    block_on(store.unsubscribe(&s, "Gone")).unwrap();
    let all = block_on(store.list(&s, "*", ListScope::All)).unwrap();
    assert!(all.iter().find(|m| m.name == "Lists").unwrap().subscribed);
    assert_eq!(
        block_on(store.list(&s, "*", ListScope::Subscribed))
            .unwrap()
            .len(),
        2
    );
    // Another session of the same account sees the same subscriptions.
    let s2 = Session::new(s.account().clone());
    assert_eq!(
        block_on(store.list(&s2, "L*", ListScope::Subscribed)).unwrap()[0].name,
        "Lists"
    );
}

/// UIDVALIDITY only grows: a mailbox deleted and created again, or created later, never gets
/// an older or equal value.
pub fn uidvalidity_only_grows<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let mut last = block_on(store.status(&s, "INBOX")).unwrap().uidvalidity;
    for i in 0..3 {
        block_on(store.create_mailbox(&s, "Box", None)).unwrap();
        let v = block_on(store.status(&s, "Box")).unwrap().uidvalidity;
        assert!(v > last, "round {i}: {v} must exceed {last}");
        last = v;
        block_on(store.delete_mailbox(&s, "Box")).unwrap();
    }
    block_on(store.create_mailbox(&s, "Box", None)).unwrap();
    block_on(store.rename_mailbox(&s, "Box", "Box2")).unwrap();
    block_on(store.create_mailbox(&s, "Box", None)).unwrap();
    assert!(block_on(store.status(&s, "Box")).unwrap().uidvalidity > last);
}
