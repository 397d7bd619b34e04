//! Moving an account from one store to another (Maildir into PostgreSQL and back), through
//! the [`MailStore`] API alone, so any two backends work.
//!
//! What comes along: every mailbox (names translated between the stores' hierarchy
//! delimiters) with its special-use role, the subscriptions, and every message with its
//! octets, internal date, system flags and keywords. UIDs are kept where possible: messages
//! are appended in UID order into a fresh mailbox, and a gap between two source UIDs is
//! filled with placeholder messages that are expunged at once, as long as the gaps of a
//! mailbox add up to at most [`MAX_FILLER`]; beyond that the messages are numbered anew
//! (reported in [`Migrated::renumbered`]). UIDVALIDITY is the target's own, so IMAP clients
//! resynchronise either way; quota limits are not copied (set them on the target).
//!
//! The target account must hold no message yet (a second run refuses instead of copying
//! twice); the source is only read. Stop the servers of both stores' accounts first: a
//! Maildir account is locked by the process that has it open.

use crate::{
    error::{Result, StoreError},
    model::{AppendItem, Content, FetchQuery, ListScope},
    store::MailStore,
    types::{AccountName, Flags, Session, Uid, UidSet},
};

/// The most placeholder UIDs spent per mailbox to keep the source's UIDs.
pub const MAX_FILLER: u32 = 10_000;

/// Messages read and appended per call.
const BATCH: usize = 64;

/// What a migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Mailboxes copied (INBOX included).
    pub mailboxes: usize,
    /// Messages copied.
    pub messages: usize,
    /// Subscriptions copied.
    pub subscriptions: usize,
    /// Mailboxes (target names) whose messages got new UIDs.
    pub renumbered: Vec<String>,
}

/// `name` with the source's delimiter replaced by the target's.
fn translate(name: &str, from: char, to: char) -> Result<String> {
    if from == to {
        return Ok(name.to_owned());
    }
    let levels: Vec<&str> = name.split(from).collect();
    if levels.iter().any(|l| l.contains(to)) {
        return Err(StoreError::InvalidName(
            "a mailbox name holds the target store's hierarchy delimiter",
        ));
    }
    Ok(levels.join(&to.to_string()))
}

/// Whether the octets have a bare LF (binary content the source kept as it came).
fn has_bare_lf(data: &[u8]) -> bool {
    data.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'))
}

fn item<B: MailStore + ?Sized>(
    to: &B,
    data: &[u8],
    flags: Flags,
    date: crate::InternalDate,
) -> Result<AppendItem> {
    let mut up = to.upload();
    if has_bare_lf(data) {
        up.keep_line_ends();
    }
    up.write(data)?;
    Ok(AppendItem {
        data: up,
        flags,
        internal_date: Some(date),
    })
}

/// Copies `account` from `from` into `to` (creating it there if needed).
pub async fn migrate_account<A: MailStore + ?Sized, B: MailStore + ?Sized>(
    from: &A,
    to: &B,
    account: &AccountName,
) -> Result<Migrated> {
    let src = Session::new(account.clone());
    let dst = Session::new(account.clone());
    if !from.account_exists(account).await? {
        return Err(StoreError::NoSuchAccount);
    }
    if to.account_exists(account).await? {
        if to.quota(&dst).await?.used_messages > 0 {
            return Err(StoreError::NotAllowed(
                "the account already holds messages in the target store",
            ));
        }
    } else {
        to.create_account(account).await?;
    }
    let (d_from, d_to) = (from.hierarchy_delimiter(), to.hierarchy_delimiter());
    let mut out = Migrated::default();
    let mailboxes = from.list(&src, "*", ListScope::All).await?;
    for mb in mailboxes.iter().filter(|m| m.exists) {
        let target = translate(&mb.name, d_from, d_to)?;
        if target != "INBOX" {
            match to.create_mailbox(&dst, &target, mb.special_use).await {
                Ok(()) | Err(StoreError::MailboxExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let kept = copy_mailbox(from, to, &src, &dst, &mb.name, &target, &mut out).await?;
        if !kept {
            out.renumbered.push(target);
        }
        out.mailboxes += 1;
    }
    for sub in from.list(&src, "*", ListScope::Subscribed).await? {
        to.subscribe(&dst, &translate(&sub.name, d_from, d_to)?)
            .await?;
        out.subscriptions += 1;
    }
    Ok(out)
}

/// Copies one mailbox's messages in UID order; `true` when every UID was kept.
async fn copy_mailbox<A: MailStore + ?Sized, B: MailStore + ?Sized>(
    from: &A,
    to: &B,
    src: &Session,
    dst: &Session,
    name: &str,
    target: &str,
    out: &mut Migrated,
) -> Result<bool> {
    let index = from
        .fetch(src, name, &UidSet::all(), FetchQuery::meta())
        .await?;
    let mut next = to.status(dst, target).await?.uidnext.get();
    let gaps: u64 = index
        .iter()
        .scan(next, |n, m| {
            let gap = u64::from(m.uid.get().saturating_sub(*n));
            *n = m.uid.get().saturating_add(1);
            Some(gap)
        })
        .sum();
    let mut keep =
        index.first().is_none_or(|m| m.uid.get() >= next) && gaps <= u64::from(MAX_FILLER);
    for chunk in index.chunks(BATCH) {
        let set: UidSet = chunk.iter().map(|m| m.uid).collect();
        let full = FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        let messages = from.fetch(src, name, &set, full).await?;
        let mut items = Vec::with_capacity(messages.len());
        let mut wanted: Vec<Uid> = Vec::with_capacity(messages.len());
        for m in &messages {
            let Some(data) = m.content.as_deref() else {
                continue;
            };
            if keep && m.uid.get() > next + u32::try_from(items.len()).unwrap_or(u32::MAX) {
                // Append what is pending, then fill the gap up to this UID.
                let pending = std::mem::take(&mut items);
                if !pending.is_empty() {
                    let got = to.append(dst, target, pending).await?;
                    keep &= got.uids == wanted;
                    next = got.uids.last().map_or(next, |u| u.get() + 1);
                    wanted.clear();
                }
                keep &= fill(to, dst, target, next, m.uid.get()).await?;
                next = m.uid.get();
            }
            items.push(item(to, data, m.flags.clone(), m.internal_date)?);
            wanted.push(m.uid);
            out.messages += 1;
        }
        if !items.is_empty() {
            let got = to.append(dst, target, items).await?;
            keep &= got.uids == wanted;
            next = got.uids.last().map_or(next, |u| u.get() + 1);
        }
    }
    Ok(keep)
}

/// Appends placeholders for UIDs `next..until` and expunges them; `true` if they got
/// exactly those UIDs.
async fn fill<B: MailStore + ?Sized>(
    to: &B,
    dst: &Session,
    target: &str,
    next: u32,
    until: u32,
) -> Result<bool> {
    let mut at = next;
    let mut exact = true;
    while at < until {
        let n = (until - at).min(512);
        let mut items = Vec::with_capacity(n as usize);
        for _ in 0..n {
            items.push(item(
                to,
                b"Subject: placeholder (mailbox migration)\r\n\r\n",
                Flags::new(),
                crate::InternalDate::now(),
            )?);
        }
        let got = to.append(dst, target, items).await?;
        exact &= got.uids.first().map(|u| u.get()) == Some(at);
        let set: UidSet = got.uids.iter().copied().collect();
        to.expunge(dst, target, crate::ExpungeScope::Uids(set))
            .await?;
        at += n;
    }
    Ok(exact)
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use super::*;
    use crate::{
        ExpungeScope, Flag, InternalDate, Keyword, SpecialUse, block_on, memory::MemoryStore,
    };

    #[test]
    fn names_change_delimiter() {
        assert_eq!(translate("a.b.c", '.', '/').unwrap(), "a/b/c");
        assert!(translate("a/x.b", '.', '/').is_err());
        assert_eq!(translate("a/x", '/', '/').unwrap(), "a/x");
    }

    #[test]
    fn an_account_moves_with_flags_keywords_uids_and_roles() {
        let (a, b) = (MemoryStore::new(), MemoryStore::new());
        let alice = AccountName::try_from("alice").unwrap();
        block_on(a.create_account(&alice)).unwrap();
        let s = Session::new(alice.clone());
        block_on(a.create_mailbox(&s, "Archive/2024", None)).unwrap();
        block_on(a.create_mailbox(&s, "Sent", Some(SpecialUse::Sent))).unwrap();
        block_on(a.subscribe(&s, "Sent")).unwrap();
        let date = InternalDate {
            timestamp: 1_700_000_000,
            offset_minutes: 60,
        };
        let flags = Flags::new()
            .with(Flag::Seen)
            .with_keyword(Keyword::try_from("$Label1").unwrap());
        for i in 0..6 {
            let it = item(
                &a,
                format!("Subject: {i}\r\n\r\nx\r\n").as_bytes(),
                flags.clone(),
                date,
            )
            .unwrap();
            block_on(a.append(&s, "INBOX", vec![it])).unwrap();
        }
        let bin = item(&a, b"Subject: bin\r\n\r\n\x00\n\x01\n", Flags::new(), date).unwrap();
        block_on(a.append(&s, "Archive/2024", vec![bin])).unwrap();
        // UIDs 1, 4, 6 stay in INBOX.
        let gone: UidSet = [2, 3, 5].into_iter().filter_map(Uid::new).collect();
        block_on(a.expunge(&s, "INBOX", ExpungeScope::Uids(gone))).unwrap();
        let done = block_on(migrate_account(&a, &b, &alice)).unwrap();
        assert_eq!(
            (done.mailboxes, done.messages, done.subscriptions),
            (4, 4, 1)
        );
        assert!(done.renumbered.is_empty(), "{done:?}");
        let full = FetchQuery {
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        let before = block_on(a.fetch(&s, "INBOX", &UidSet::all(), full)).unwrap();
        let after = block_on(b.fetch(&s, "INBOX", &UidSet::all(), full)).unwrap();
        let key = |v: &[crate::FetchedMessage]| {
            v.iter()
                .map(|m| (m.uid, m.flags.clone(), m.internal_date, m.content.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&after), key(&before));
        let bin = block_on(b.fetch(&s, "Archive/2024", &UidSet::all(), full)).unwrap();
        assert_eq!(
            bin[0].content.as_deref(),
            Some(&b"Subject: bin\r\n\r\n\x00\n\x01\n"[..])
        );
        let list = block_on(b.list(&s, "*", ListScope::All)).unwrap();
        assert!(
            list.iter()
                .any(|m| m.name == "Sent" && m.special_use == Some(SpecialUse::Sent))
        );
        assert_eq!(
            block_on(b.list(&s, "*", ListScope::Subscribed))
                .unwrap()
                .len(),
            1
        );
        // A second run refuses instead of copying twice.
        assert!(matches!(
            block_on(migrate_account(&a, &b, &alice)),
            Err(StoreError::NotAllowed(_))
        ));
    }
}
