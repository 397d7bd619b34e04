//! The POP3 maildrop, delivery and quota.

use std::time::Duration;

use super::{Fixture, account, message, put};
use crate::{
    AccountName, ExpungeScope, FetchQuery, Flag, Flags, MailStore, QuotaLimits, QuotaResourceName,
    Recipient, Session, StoreError, UidSet, block_on,
};

const LEASE: Duration = Duration::from_secs(60);

/// The maildrop lists INBOX with CRLF sizes and stable UIDLs; RETR reads and may set
/// `\Seen`; QUIT deletes.
pub fn pop3_maildrop<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = put(store, &s, "INBOX", "a", Flags::new());
    let lf = b"Subject: lf\n\nbare\nlf\n".to_vec();
    let mut up = store.upload();
    up.write(&lf).unwrap();
    let b = block_on(store.append(&s, "INBOX", vec![crate::AppendItem::new(up)]))
        .unwrap()
        .uids[0];
    block_on(store.create_mailbox(&s, "Other", None)).unwrap();
    put(store, &s, "Other", "not in the maildrop", Flags::new());
    let drop1 = block_on(store.pop3_open(&s, LEASE)).unwrap();
    assert_eq!(
        drop1.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(drop1.messages[0].size, message("a", "body").len() as u64);
    assert_eq!(
        drop1.messages[1].size,
        lf.len() as u64 + 4,
        "sizes count CRLF line ends"
    );
    for m in &drop1.messages {
        assert!((1..=70).contains(&m.uidl.len()));
        assert!(m.uidl.bytes().all(|c| (0x21..=0x7e).contains(&c)));
    }
    assert_ne!(drop1.messages[0].uidl, drop1.messages[1].uidl);
    let body = block_on(store.pop3_retrieve(&s, &drop1.lease, a, true)).unwrap();
    assert_eq!(body, message("a", "body"));
    let body = block_on(store.pop3_retrieve(&s, &drop1.lease, b, false)).unwrap();
    assert_eq!(body, b"Subject: lf\r\n\r\nbare\r\nlf\r\n");
    let flags = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
    assert!(flags[0].flags.contains(Flag::Seen));
    assert!(!flags[1].flags.contains(Flag::Seen));
    block_on(store.pop3_release(&s, &drop1.lease)).unwrap();
    // UIDLs are stable across sessions.
    let s2 = Session::new(s.account().clone());
    let drop2 = block_on(store.pop3_open(&s2, LEASE)).unwrap();
    assert_eq!(drop2.messages, drop1.messages);
    let lease2 = block_on(store.pop3_renew(&s2, &drop2.lease, LEASE)).unwrap();
    let done = block_on(store.pop3_commit(&s2, &lease2, &[a])).unwrap();
    assert_eq!((done.deleted, done.already_gone), (1, 0));
    let left = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
    assert_eq!(left.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![b]);
    // The lease is gone after QUIT.
    assert!(matches!(
        block_on(store.pop3_retrieve(&s2, &lease2, b, false)),
        Err(StoreError::LeaseExpired)
    ));
    let drop3 = block_on(store.pop3_open(&s, LEASE)).unwrap();
    assert_eq!(drop3.messages[0].uidl, drop1.messages[1].uidl);
}

/// A second session gets `InUse` while the lease is live, and takes over once it lapsed; the
/// first session's lease is then dead.
pub fn pop3_lease_contention<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s1 = account(store, "alice");
    let u = put(store, &s1, "INBOX", "a", Flags::new());
    let s2 = Session::new(s1.account().clone());
    let short = Duration::from_millis(300);
    let d1 = block_on(store.pop3_open(&s1, short)).unwrap();
    assert!(matches!(
        block_on(store.pop3_open(&s2, LEASE)),
        Err(StoreError::InUse)
    ));
    assert!(StoreError::InUse.imap_code().is_some());
    // Renewing keeps it.
    let l1 = block_on(store.pop3_renew(&s1, &d1.lease, short)).unwrap();
    assert!(matches!(
        block_on(store.pop3_open(&s2, LEASE)),
        Err(StoreError::InUse)
    ));
    std::thread::sleep(short + Duration::from_millis(200));
    let d2 = block_on(store.pop3_open(&s2, LEASE)).unwrap();
    assert!(matches!(
        block_on(store.pop3_commit(&s1, &l1, &[u])),
        Err(StoreError::LeaseExpired)
    ));
    assert_eq!(
        block_on(store.status(&s1, "INBOX")).unwrap().messages,
        1,
        "a dead lease deletes nothing"
    );
    // Another account is independent.
    let bob = account(store, "bob");
    block_on(store.pop3_open(&bob, LEASE)).unwrap();
    block_on(store.pop3_release(&s2, &d2.lease)).unwrap();
    block_on(store.pop3_open(&s1, LEASE)).unwrap();
}

/// QUIT deletes what is still there and counts what another session already removed.
pub fn pop3_commit_tolerates_missing<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let u: Vec<_> = (0..3)
        .map(|i| put(store, &s, "INBOX", &format!("m{i}"), Flags::new()))
        .collect();
    let d = block_on(store.pop3_open(&s, LEASE)).unwrap();
    let imap = Session::new(s.account().clone());
    block_on(store.expunge(&imap, "INBOX", ExpungeScope::Uids(UidSet::single(u[1])))).unwrap();
    assert!(block_on(store.pop3_retrieve(&s, &d.lease, u[1], false)).is_err());
    let done = block_on(store.pop3_commit(&s, &d.lease, &[u[0], u[1]])).unwrap();
    assert_eq!((done.deleted, done.already_gone), (1, 1));
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 1);
}

/// One delivery, several recipients, one result each: unknown accounts, missing mailboxes
/// and full quotas fail alone.
pub fn delivery_per_recipient<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let alice = account(store, "alice");
    let bob = account(store, "bob");
    let carol = account(store, "carol");
    block_on(store.create_mailbox(&bob, "Lists", None)).unwrap();
    block_on(store.set_quota(
        carol.account(),
        QuotaLimits {
            storage_bytes: Some(10),
            messages: None,
        },
    ))
    .unwrap();
    let watcher = block_on(store.watch(&alice, "INBOX")).unwrap();
    let data = message("delivered", "hello");
    let mut up = store.upload();
    for chunk in data.chunks(7) {
        up.write(chunk).unwrap();
    }
    let rcpts = vec![
        Recipient::inbox(alice.account().clone()),
        Recipient {
            account: bob.account().clone(),
            mailbox: Some("Lists".into()),
            flags: Flags::new().with(Flag::Flagged),
        },
        Recipient::inbox(AccountName::try_from("nobody").unwrap()),
        Recipient::inbox(carol.account().clone()),
        Recipient {
            account: bob.account().clone(),
            mailbox: Some("Missing".into()),
            flags: Flags::new(),
        },
    ];
    let res = block_on(store.deliver(up, &rcpts));
    assert_eq!(res.len(), 5);
    let ok = res[0].as_ref().unwrap();
    assert_eq!(ok.mailbox, "INBOX");
    assert_eq!(res[1].as_ref().unwrap().mailbox, "Lists");
    assert!(matches!(res[2], Err(StoreError::NoSuchAccount)));
    assert!(matches!(
        res[3],
        Err(StoreError::OverQuota(QuotaResourceName::Storage))
    ));
    assert!(matches!(res[4], Err(StoreError::NoSuchMailbox(_))));
    let q = FetchQuery {
        content: Some(crate::Content::Full),
        ..FetchQuery::default()
    };
    let got = block_on(store.fetch(&alice, "INBOX", &UidSet::single(ok.uid), q)).unwrap();
    assert_eq!(got[0].content.as_deref(), Some(&data[..]));
    let got = block_on(store.fetch(&bob, "Lists", &UidSet::all(), q)).unwrap();
    assert!(got[0].flags.contains(Flag::Flagged));
    assert_eq!(got[0].content.as_deref(), Some(&data[..]));
    assert_eq!(block_on(store.status(&carol, "INBOX")).unwrap().messages, 0);
    assert!(
        watcher.recv_timeout(Duration::from_secs(5)).is_some(),
        "delivery notifies IMAP sessions"
    );
}

/// Quota: usage in RFC 9208 units, refusal of appends that do not fit, room again after an
/// expunge.
pub fn quota_refusal<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let q0 = block_on(store.quota(&s)).unwrap();
    assert!(
        q0.resources.is_empty(),
        "unlimited resources are not reported"
    );
    let one = message("q", "body").len() as u64;
    block_on(store.set_quota(
        s.account(),
        QuotaLimits {
            storage_bytes: Some(one * 2 + one / 2),
            messages: Some(100),
        },
    ))
    .unwrap();
    let a = put(store, &s, "INBOX", "q", Flags::new());
    block_on(store.create_mailbox(&s, "Other", None)).unwrap();
    put(store, &s, "Other", "q", Flags::new());
    let data = message("q", "body");
    let mut up = store.upload();
    up.write(&data).unwrap();
    let r = block_on(store.append(&s, "INBOX", vec![crate::AppendItem::new(up)]));
    assert!(
        matches!(r, Err(StoreError::OverQuota(QuotaResourceName::Storage))),
        "{r:?}"
    );
    assert_eq!(
        StoreError::OverQuota(QuotaResourceName::Storage).imap_code(),
        Some("OVERQUOTA")
    );
    let rep = block_on(store.quota(&s)).unwrap();
    assert_eq!(rep.used_bytes, 2 * one);
    assert_eq!(rep.used_messages, 2);
    let storage = rep
        .resources
        .iter()
        .find(|r| r.name == QuotaResourceName::Storage)
        .unwrap();
    assert_eq!(storage.usage, (2 * one).div_ceil(1024));
    assert_eq!(storage.limit, (one * 2 + one / 2) / 1024);
    let msgs = rep
        .resources
        .iter()
        .find(|r| r.name == QuotaResourceName::Message)
        .unwrap();
    assert_eq!((msgs.usage, msgs.limit), (2, 100));
    block_on(store.expunge(&s, "INBOX", ExpungeScope::Uids(UidSet::single(a)))).unwrap();
    put(store, &s, "INBOX", "q", Flags::new());
    // Limits persist per account; another account is unaffected.
    let bob = account(store, "bob");
    put(store, &bob, "INBOX", "q", Flags::new());
    put(store, &bob, "INBOX", "q", Flags::new());
    put(store, &bob, "INBOX", "q", Flags::new());
}
