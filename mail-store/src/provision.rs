//! The mailboxes an account is given besides INBOX: one per special-use role clients file
//! mail by (RFC 6154), so that a client's first "save a copy in Sent" finds its mailbox
//! instead of failing with `[TRYCREATE]`.

use crate::{ListScope, MailStore, Result, Session, SpecialUse, StoreError};

/// Drafts, Sent, Trash, Junk and Archive, the names Dovecot's example configuration and most
/// clients use.
pub const DEFAULT_MAILBOXES: [(&str, SpecialUse); 5] = [
    ("Drafts", SpecialUse::Drafts),
    ("Sent", SpecialUse::Sent),
    ("Trash", SpecialUse::Trash),
    ("Junk", SpecialUse::Junk),
    ("Archive", SpecialUse::Archive),
];

/// Creates and subscribes each mailbox of `wanted` whose role no mailbox of the account holds
/// yet; returns the names created.
///
/// A mailbox the user made under one of these names without the role is left as it is (it
/// is theirs, and a client saving there by name finds it). A mailbox the user deleted comes
/// back at the next call, as with Dovecot's `auto = create`. Another session creating the same
/// name at the same moment is not an error.
pub async fn ensure_special_use<S: MailStore>(
    store: &S,
    session: &Session,
    wanted: &[(&str, SpecialUse)],
) -> Result<Vec<String>> {
    let existing = store.list(session, "*", ListScope::All).await?;
    let mut created = Vec::new();
    for &(name, role) in wanted {
        let taken = existing
            .iter()
            .filter(|m| m.exists)
            .any(|m| m.special_use == Some(role) || m.name == name);
        if taken {
            continue;
        }
        match store.create_mailbox(session, name, Some(role)).await {
            Ok(()) => created.push(name.to_owned()),
            Err(StoreError::MailboxExists(_)) => continue,
            Err(e) => return Err(e),
        }
        store.subscribe(session, name).await?;
    }
    Ok(created)
}

#[cfg(all(test, feature = "memory"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{AccountName, block_on, memory::MemoryStore};

    fn roles(store: &MemoryStore, s: &Session) -> Vec<(String, Option<SpecialUse>, bool)> {
        // `list` answers sorted by name.
        block_on(store.list(s, "*", ListScope::All))
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.special_use, m.subscribed))
            .collect()
    }

    #[test]
    fn a_new_account_gets_each_role_once() {
        let store = MemoryStore::new();
        let alice = AccountName::try_from("alice").unwrap();
        block_on(store.create_account(&alice)).unwrap();
        let s = Session::new(alice);

        let created = block_on(ensure_special_use(&store, &s, &DEFAULT_MAILBOXES)).unwrap();
        assert_eq!(created, ["Drafts", "Sent", "Trash", "Junk", "Archive"]);
        let want = |n: &str, r| (n.to_owned(), Some(r), true);
        assert_eq!(
            roles(&store, &s),
            [
                want("Archive", SpecialUse::Archive),
                want("Drafts", SpecialUse::Drafts),
                ("INBOX".to_owned(), None, false),
                want("Junk", SpecialUse::Junk),
                want("Sent", SpecialUse::Sent),
                want("Trash", SpecialUse::Trash),
            ]
        );
        // Nothing twice.
        let again = block_on(ensure_special_use(&store, &s, &DEFAULT_MAILBOXES)).unwrap();
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn the_users_own_mailboxes_are_respected() {
        let store = MemoryStore::new();
        let bob = AccountName::try_from("bob").unwrap();
        block_on(store.create_account(&bob)).unwrap();
        let s = Session::new(bob);
        // Sent under another name with the role; a plain "Junk" without it.
        block_on(store.create_mailbox(&s, "Sent Items", Some(SpecialUse::Sent))).unwrap();
        block_on(store.create_mailbox(&s, "Junk", None)).unwrap();

        let created = block_on(ensure_special_use(&store, &s, &DEFAULT_MAILBOXES)).unwrap();
        assert_eq!(created, ["Drafts", "Trash", "Archive"]);
        let all = roles(&store, &s);
        assert!(all.contains(&("Junk".to_owned(), None, false)), "{all:?}");
        assert!(!all.iter().any(|(n, _, _)| n == "Sent"), "{all:?}");

        // Deleted, it comes back at the next call.
        block_on(store.delete_mailbox(&s, "Trash")).unwrap();
        let created = block_on(ensure_special_use(&store, &s, &DEFAULT_MAILBOXES)).unwrap();
        assert_eq!(created, ["Trash"]);
    }
}
