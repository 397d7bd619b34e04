//! Status, append, fetch, store, expunge, copy and move.

use super::{Fixture, account, item, message, put, uid};
use crate::{
    Content, ExpungeScope, FetchQuery, Flag, FlagOp, Flags, InternalDate, Keyword, MailStore,
    ModSeq, QuotaLimits, StoreError, UidSet, block_on, mime::BodyKind,
};

fn kw(s: &str) -> Keyword {
    Keyword::try_from(s).unwrap()
}

/// STATUS reports MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, DELETED, SIZE, HIGHESTMODSEQ,
/// RECENT and the keywords in one call.
pub fn status_in_one_call<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let empty = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(
        (
            empty.messages,
            empty.unseen,
            empty.deleted,
            empty.size,
            empty.recent
        ),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(empty.uidnext.get(), 1);
    assert!(empty.new_keywords_allowed);
    put(store, &s, "INBOX", "a", Flags::new().with(Flag::Seen));
    put(
        store,
        &s,
        "INBOX",
        "b",
        Flags::new().with(Flag::Deleted).with_keyword(kw("$Label1")),
    );
    put(store, &s, "INBOX", "c", Flags::new());
    let st = block_on(store.status(&s, "INBOX")).unwrap();
    let total: u64 = ["a", "b", "c"]
        .iter()
        .map(|x| message(x, "body").len() as u64)
        .sum();
    assert_eq!(st.messages, 3);
    assert_eq!(st.unseen, 2);
    assert_eq!(st.deleted, 1);
    assert_eq!(st.deleted_size, message("b", "body").len() as u64);
    assert_eq!(empty.deleted_size, 0);
    assert_eq!(st.size, total);
    assert_eq!(st.recent, 3);
    assert_eq!(st.uidnext.get(), 4);
    assert_eq!(st.uidvalidity, empty.uidvalidity);
    assert!(st.highest_modseq > empty.highest_modseq);
    assert_eq!(st.keywords, vec![kw("$label1")]);
}

/// APPEND returns (UIDVALIDITY, UID) and keeps flags, keywords and the internal date; FETCH
/// returns them with sizes, modseq, raw bytes, ranges, header and text.
pub fn append_and_fetch<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let data = message("hello", "line one\r\nline two");
    let flags = Flags::new()
        .with(Flag::Seen)
        .with(Flag::Draft)
        .with_keyword(kw("$Forwarded"))
        .with_keyword(kw("Work"));
    let mut it = item(store, &data, flags.clone());
    let date = InternalDate {
        timestamp: 1_700_000_000,
        offset_minutes: 120,
    };
    it.internal_date = Some(date);
    let st0 = block_on(store.status(&s, "INBOX")).unwrap();
    let a = block_on(store.append(&s, "INBOX", vec![it])).unwrap();
    assert_eq!(a.uidvalidity, st0.uidvalidity);
    assert_eq!(a.uids, vec![st0.uidnext]);
    let u = a.uids[0];
    let q = FetchQuery {
        content: Some(Content::Full),
        ..FetchQuery::default()
    };
    let got = block_on(store.fetch(&s, "INBOX", &UidSet::single(u), q)).unwrap();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.uid, u);
    assert_eq!(m.flags, flags);
    assert_eq!(m.internal_date, date);
    assert_eq!(m.size, data.len() as u64);
    assert_eq!(m.crlf_size, data.len() as u64);
    assert_eq!(m.content.as_deref(), Some(&data[..]));
    assert!(m.modseq <= block_on(store.status(&s, "INBOX")).unwrap().highest_modseq);
    let range = |c| {
        block_on(store.fetch(
            &s,
            "INBOX",
            &UidSet::single(u),
            FetchQuery {
                content: Some(c),
                ..FetchQuery::default()
            },
        ))
        .unwrap()
        .remove(0)
        .content
        .unwrap()
    };
    assert_eq!(range(Content::Range { offset: 6, len: 5 }), &data[6..11]);
    assert_eq!(
        range(Content::Range {
            offset: data.len() as u64 - 3,
            len: 100
        }),
        &data[data.len() - 3..]
    );
    assert!(
        range(Content::Range {
            offset: 10_000,
            len: 5
        })
        .is_empty()
    );
    let header = range(Content::Header);
    assert!(header.ends_with(b"\r\n\r\n") && header.starts_with(b"From:"));
    assert_eq!(range(Content::Text), b"line one\r\nline two\r\n");
    // Index data only: no content, envelope or structure.
    let meta = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
    assert!(meta[0].content.is_none() && meta[0].envelope.is_none());
    // UIDs that do not exist are skipped.
    assert!(
        block_on(store.fetch(&s, "INBOX", &UidSet::single(uid(999)), q))
            .unwrap()
            .is_empty()
    );
    // A bare-LF message is kept and served with CRLF line ends, the form IMAP and POP3 send,
    // so RFC822.SIZE, the octets and the POP3 size agree.
    let lf = b"Subject: lf\n\na\nb\n".to_vec();
    let u2 = block_on(store.append(&s, "INBOX", vec![item(store, &lf, Flags::new())]))
        .unwrap()
        .uids[0];
    let m2 = block_on(store.fetch(&s, "INBOX", &UidSet::single(u2), q)).unwrap();
    assert_eq!(
        (m2[0].size, m2[0].crlf_size),
        (lf.len() as u64 + 4, lf.len() as u64 + 4)
    );
    assert_eq!(
        m2[0].content.as_deref(),
        Some(&b"Subject: lf\r\n\r\na\r\nb\r\n"[..])
    );
    assert!(matches!(
        block_on(store.append(&s, "Nope", vec![item(store, &data, Flags::new())])),
        Err(StoreError::NoSuchMailbox(_))
    ));
    assert!(matches!(
        block_on(store.append(&s, "INBOX", vec![])),
        Err(StoreError::InvalidArgument(_))
    ));
}

/// An upload written in many small chunks, larger than the in-memory threshold, arrives
/// intact.
pub fn append_streamed_in_chunks<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let mut data = b"Subject: big\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    let mut line = 0u32;
    while data.len() < crate::upload::SPILL_THRESHOLD + 300_000 {
        data.extend_from_slice(
            format!("line {line} of a large message, 0123456789\r\n").as_bytes(),
        );
        line += 1;
    }
    let mut up = store.upload();
    for chunk in data.chunks(4093) {
        up.write(chunk).unwrap();
    }
    assert_eq!(up.len(), data.len() as u64);
    let u = block_on(store.append(&s, "INBOX", vec![crate::AppendItem::new(up)]))
        .unwrap()
        .uids[0];
    let got = block_on(store.fetch(
        &s,
        "INBOX",
        &UidSet::single(u),
        FetchQuery {
            content: Some(Content::Full),
            body_structure: true,
            ..FetchQuery::default()
        },
    ))
    .unwrap();
    assert_eq!(got[0].content.as_deref(), Some(&data[..]));
    assert_eq!(
        got[0].body_structure.as_ref().unwrap().lines,
        Some(u64::from(line))
    );
}

/// MULTIAPPEND is all or nothing: when the quota refuses the batch, no message is added and
/// UIDNEXT does not move.
pub fn multi_append_all_or_nothing<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let one = message("one", "x");
    let a = block_on(store.append(
        &s,
        "INBOX",
        (0..3).map(|_| item(store, &one, Flags::new())).collect(),
    ))
    .unwrap();
    let ids: Vec<u32> = a.uids.iter().map(|u| u.get()).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    block_on(store.set_quota(
        s.account(),
        QuotaLimits {
            storage_bytes: None,
            messages: Some(5),
        },
    ))
    .unwrap();
    let before = block_on(store.status(&s, "INBOX")).unwrap();
    let r = block_on(store.append(
        &s,
        "INBOX",
        (0..3).map(|_| item(store, &one, Flags::new())).collect(),
    ));
    assert!(matches!(
        r,
        Err(StoreError::OverQuota(crate::QuotaResourceName::Message))
    ));
    let after = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(after.messages, 3);
    assert_eq!(after.uidnext, before.uidnext);
    assert_eq!(after.highest_modseq, before.highest_modseq);
    let two = block_on(store.append(
        &s,
        "INBOX",
        (0..2).map(|_| item(store, &one, Flags::new())).collect(),
    ))
    .unwrap();
    assert_eq!(two.uids.len(), 2);
}

/// ENVELOPE and BODYSTRUCTURE come back as computed at append time.
pub fn fetch_structure<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let plain = b"Subject: plain\r\nFrom: a@b.c\r\n\r\nhello world\r\nsecond\r\n".to_vec();
    let multi = b"From: \"Bob B.\" <bob@example.net>\r\nTo: a@b.c, team: x@y.z;\r\nSubject: parts\r\nMessage-ID: <p@x>\r\nContent-Type: multipart/alternative; boundary=\"=b\"\r\n\r\n--=b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n--=b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>hi</p>\r\n--=b--\r\n".to_vec();
    let a = block_on(store.append(
        &s,
        "INBOX",
        vec![
            item(store, &plain, Flags::new()),
            item(store, &multi, Flags::new()),
        ],
    ))
    .unwrap();
    let q = FetchQuery {
        envelope: true,
        body_structure: true,
        content: None,
    };
    let got = block_on(store.fetch(&s, "INBOX", &UidSet::all(), q)).unwrap();
    assert_eq!(got.len(), 2);
    let b0 = got[0].body_structure.as_ref().unwrap();
    // Dovecot: ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 2 NIL NIL NIL NIL)
    assert_eq!(
        (b0.media_type.as_str(), b0.subtype.as_str()),
        ("text", "plain")
    );
    assert_eq!(
        b0.params,
        vec![("charset".to_owned(), "us-ascii".to_owned())]
    );
    assert_eq!(
        (b0.encoding.as_str(), b0.size, b0.lines),
        ("7bit", 21, Some(2))
    );
    let e0 = got[0].envelope.as_ref().unwrap();
    assert_eq!(e0.subject.as_deref(), Some("plain"));
    assert_eq!(e0.sender, e0.from);
    assert_eq!(got[1].uid, a.uids[1]);
    let e1 = got[1].envelope.as_ref().unwrap();
    assert_eq!(e1.from[0].name.as_deref(), Some("Bob B."));
    assert_eq!(e1.from[0].mailbox.as_deref(), Some("bob"));
    assert_eq!(
        e1.to.len(),
        4,
        "one address and a group of one: {:?}",
        e1.to
    );
    assert_eq!(e1.message_id.as_deref(), Some("<p@x>"));
    let b1 = got[1].body_structure.as_ref().unwrap();
    assert_eq!(b1.subtype, "alternative");
    let BodyKind::Multipart(parts) = &b1.kind else {
        panic!("{b1:?}")
    };
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].size, 2);
    assert_eq!(parts[1].encoding, "quoted-printable");
    assert_eq!(
        &multi[parts[1].body_offset as usize..][..parts[1].size as usize],
        b"<p>hi</p>"
    );
    assert!(b1.kind.is_multipart());
}

/// STORE adds, removes and replaces flags and keywords; each change bumps the message's
/// modseq and HIGHESTMODSEQ; a STORE that changes nothing bumps nothing.
pub fn store_flags_and_modseq<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let u1 = put(store, &s, "INBOX", "a", Flags::new());
    let u2 = put(store, &s, "INBOX", "b", Flags::new());
    let h0 = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    let set = UidSet::range(u1, u2);
    let add = Flags::new().with(Flag::Seen).with_keyword(kw("Todo"));
    let r = block_on(store.store_flags(&s, "INBOX", &set, FlagOp::Add(add.clone()), None)).unwrap();
    assert_eq!(r.updated.len(), 2);
    assert!(r.modified.is_empty());
    let h1 = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    assert!(h1 > h0);
    assert!(
        r.updated
            .iter()
            .all(|m| m.flags == add && m.modseq > h0 && m.modseq <= h1)
    );
    // The same STORE again changes nothing.
    let r = block_on(store.store_flags(&s, "INBOX", &set, FlagOp::Add(add.clone()), None)).unwrap();
    assert!(r.updated.is_empty());
    assert_eq!(
        block_on(store.status(&s, "INBOX")).unwrap().highest_modseq,
        h1
    );
    let r = block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(u1),
        FlagOp::Remove(Flags::new().with_keyword(kw("TODO"))),
        None,
    ))
    .unwrap();
    assert_eq!(r.updated[0].flags, Flags::new().with(Flag::Seen));
    let h2 = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    assert!(h2 > h1);
    let repl = Flags::new().with(Flag::Flagged).with(Flag::Answered);
    block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(u2),
        FlagOp::Replace(repl.clone()),
        None,
    ))
    .unwrap();
    let got = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
    assert_eq!(got[0].flags, Flags::new().with(Flag::Seen));
    assert_eq!(got[1].flags, repl);
    let st = block_on(store.status(&s, "INBOX")).unwrap();
    assert!(got[1].modseq > got[0].modseq);
    assert_eq!(got[1].modseq, st.highest_modseq);
    assert_eq!(st.unseen, 1);
    assert!(
        st.keywords.contains(&kw("todo")),
        "keywords once used stay defined"
    );
}

/// UNCHANGEDSINCE (RFC 7162): messages changed after the given modseq are left alone and
/// reported.
pub fn unchanged_since<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let u1 = put(store, &s, "INBOX", "a", Flags::new());
    let u2 = put(store, &s, "INBOX", "b", Flags::new());
    let base = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::single(u2),
        FlagOp::Add(Flags::new().with(Flag::Flagged)),
        None,
    ))
    .unwrap();
    let r = block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::all(),
        FlagOp::Add(Flags::new().with(Flag::Seen)),
        Some(base),
    ))
    .unwrap();
    assert_eq!(r.modified, vec![u2]);
    assert_eq!(r.updated.len(), 1);
    assert_eq!(r.updated[0].uid, u1);
    let got = block_on(store.fetch(&s, "INBOX", &UidSet::single(u2), FetchQuery::meta())).unwrap();
    assert!(!got[0].flags.contains(Flag::Seen));
    // UNCHANGEDSINCE 1 is below every message's modseq.
    let r = block_on(store.store_flags(
        &s,
        "INBOX",
        &UidSet::all(),
        FlagOp::Add(Flags::new().with(Flag::Draft)),
        ModSeq::new(1),
    ))
    .unwrap();
    assert_eq!(r.modified, vec![u1, u2]);
}

/// EXPUNGE removes `\Deleted` messages (all, or within a UID set); an explicit UID set removes
/// those messages; each expunge has a modseq.
pub fn expunge_scopes<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let del = Flags::new().with(Flag::Deleted);
    let u: Vec<_> = (0..6)
        .map(|i| {
            put(
                store,
                &s,
                "INBOX",
                &format!("m{i}"),
                if i % 2 == 0 {
                    del.clone()
                } else {
                    Flags::new()
                },
            )
        })
        .collect();
    let h0 = block_on(store.status(&s, "INBOX")).unwrap().highest_modseq;
    let r = block_on(store.expunge(
        &s,
        "INBOX",
        ExpungeScope::DeletedIn(UidSet::range(u[0], u[2])),
    ))
    .unwrap();
    assert_eq!(r.uids, vec![u[0], u[2]]);
    let m1 = r.modseq.unwrap();
    assert!(m1 > h0);
    assert_eq!(
        block_on(store.status(&s, "INBOX")).unwrap().highest_modseq,
        m1
    );
    let r = block_on(store.expunge(&s, "INBOX", ExpungeScope::Deleted)).unwrap();
    assert_eq!(r.uids, vec![u[4]]);
    let r = block_on(store.expunge(&s, "INBOX", ExpungeScope::Uids(UidSet::single(u[1])))).unwrap();
    assert_eq!(r.uids, vec![u[1]]);
    let r = block_on(store.expunge(&s, "INBOX", ExpungeScope::Deleted)).unwrap();
    assert!(r.uids.is_empty() && r.modseq.is_none());
    let left: Vec<_> = block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta()))
        .unwrap()
        .into_iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, vec![u[3], u[5]]);
    let ch = block_on(store.changes_since(&s, "INBOX", h0.get())).unwrap();
    assert_eq!(ch.expunged, UidSet::from_iter([u[0], u[1], u[2], u[4]]));
    assert_eq!(
        block_on(store.changes_since(&s, "INBOX", m1.get()))
            .unwrap()
            .expunged,
        UidSet::from_iter([u[1], u[4]])
    );
}

/// UIDs strictly increase and are never reused, even after the highest message is expunged.
pub fn uidnext_rules<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = put(store, &s, "INBOX", "a", Flags::new());
    let b = put(store, &s, "INBOX", "b", Flags::new());
    assert!(b > a);
    block_on(store.expunge(&s, "INBOX", ExpungeScope::Uids(UidSet::single(b)))).unwrap();
    let st = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(
        st.uidnext.get(),
        b.get() + 1,
        "UIDNEXT does not go back after an expunge"
    );
    let c = put(store, &s, "INBOX", "c", Flags::new());
    assert!(c > b);
    let st2 = block_on(store.status(&s, "INBOX")).unwrap();
    assert_eq!(st2.uidnext.get(), c.get() + 1);
    assert_eq!(st2.uidvalidity, st.uidvalidity);
}

/// COPY keeps the source and returns the UID map; MOVE leaves each message in exactly one
/// place; flags and dates travel; COPY counts against the quota.
pub fn copy_and_move<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    block_on(store.create_mailbox(&s, "Dest", None)).unwrap();
    put(store, &s, "Dest", "already", Flags::new());
    let f = Flags::new().with(Flag::Flagged).with_keyword(kw("Blue"));
    let u: Vec<_> = (0..4)
        .map(|i| put(store, &s, "INBOX", &format!("m{i}"), f.clone()))
        .collect();
    let c = block_on(store.copy(&s, "INBOX", &UidSet::range(u[0], u[1]), "Dest")).unwrap();
    let dest = block_on(store.status(&s, "Dest")).unwrap();
    assert_eq!(c.uidvalidity, dest.uidvalidity);
    assert_eq!(
        c.map.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![u[0], u[1]]
    );
    assert_eq!(
        c.map.iter().map(|p| p.1.get()).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(dest.messages, 3);
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 4);
    let copied = block_on(store.fetch(
        &s,
        "Dest",
        &UidSet::single(c.map[0].1),
        FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        },
    ))
    .unwrap();
    assert_eq!(copied[0].flags, f);
    assert_eq!(
        copied[0].content.as_deref(),
        Some(&message("m0", "body")[..])
    );
    let m = block_on(store.move_messages(&s, "INBOX", &UidSet::range(u[2], u[3]), "Dest")).unwrap();
    assert_eq!(m.map.len(), 2);
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 2);
    assert_eq!(block_on(store.status(&s, "Dest")).unwrap().messages, 5);
    let moved = block_on(store.fetch(
        &s,
        "Dest",
        &UidSet::single(m.map[1].1),
        FetchQuery {
            content: Some(Content::Full),
            envelope: true,
            ..FetchQuery::default()
        },
    ))
    .unwrap();
    assert_eq!(
        moved[0].content.as_deref(),
        Some(&message("m3", "body")[..])
    );
    assert_eq!(
        moved[0].envelope.as_ref().unwrap().subject.as_deref(),
        Some("m3")
    );
    assert_eq!(block_on(store.quota(&s)).unwrap().used_messages, 7);
    // Nothing to copy is not an error.
    assert!(
        block_on(store.copy(&s, "INBOX", &UidSet::single(uid(999)), "Dest"))
            .unwrap()
            .map
            .is_empty()
    );
    assert!(matches!(
        block_on(store.copy(&s, "INBOX", &UidSet::all(), "Nope")),
        Err(StoreError::NoSuchMailbox(_))
    ));
    // COPY past the quota is refused whole; MOVE still works (usage does not change).
    block_on(store.set_quota(
        s.account(),
        QuotaLimits {
            storage_bytes: None,
            messages: Some(8),
        },
    ))
    .unwrap();
    assert!(matches!(
        block_on(store.copy(&s, "INBOX", &UidSet::all(), "Dest")),
        Err(StoreError::OverQuota(_))
    ));
    assert_eq!(block_on(store.status(&s, "Dest")).unwrap().messages, 5);
    block_on(store.move_messages(&s, "INBOX", &UidSet::all(), "Dest")).unwrap();
    assert_eq!(block_on(store.status(&s, "INBOX")).unwrap().messages, 0);
    assert_eq!(block_on(store.status(&s, "Dest")).unwrap().messages, 7);
}

/// MOVE into the same mailbox gives the messages new UIDs.
pub fn move_within_mailbox<S: MailStore>(fx: Fixture<S>) {
    let store = &*fx.store;
    let s = account(store, "alice");
    let a = put(store, &s, "INBOX", "a", Flags::new().with(Flag::Seen));
    let m = block_on(store.move_messages(&s, "INBOX", &UidSet::single(a), "INBOX")).unwrap();
    assert_eq!(m.map.len(), 1);
    assert!(m.map[0].1 > a);
    let all = block_on(store.fetch(
        &s,
        "INBOX",
        &UidSet::all(),
        FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        },
    ))
    .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].uid, m.map[0].1);
    assert!(all[0].flags.contains(Flag::Seen));
    assert_eq!(all[0].content.as_deref(), Some(&message("a", "body")[..]));
}
