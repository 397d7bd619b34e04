//! The stress clients' vocabulary: a seeded random number generator, the flags they play
//! with, their messages, and the commands they build.

use sansmail_imap::types::{
    command::{CommandBody, StoreAction},
    core::Atom,
    fetch_attr::{FetchAttr, FetchItems, FetchModifiers},
    flag::Flag,
    mailbox::Mailbox,
    sequence::{SeqNum, SequenceSet},
};

/// A small, seeded random number generator (xorshift64*): runs can be repeated.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `0..n` (`n` > 0).
    pub(super) fn below(&mut self, n: u32) -> u32 {
        u32::try_from(self.next() % u64::from(n.max(1))).unwrap_or(0)
    }

    pub(super) fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

pub(super) fn keyword(i: u32) -> Flag<'static> {
    Atom::new(format!("$kw{i}")).map_or(Flag::Flagged, Flag::Keyword)
}

/// One of the flags the clients play with: four system flags and eight keywords.
pub(super) fn random_flag(rng: &mut Rng) -> Flag<'static> {
    match rng.below(12) {
        0 => Flag::Seen,
        1 => Flag::Flagged,
        2 => Flag::Answered,
        3 => Flag::Draft,
        n => keyword(n - 3),
    }
}

pub(super) fn message(client: usize, i: u64) -> Vec<u8> {
    let mut m = format!(
        "From: Stress <stress@example.org>\r\nTo: alice@example.com\r\nSubject: stress {client} {i}\r\n\
Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <stress.{client}.{i}@example.org>\r\n\r\n"
    )
    .into_bytes();
    while m.len() < 2000 {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, once more.\r\n");
    }
    m
}

pub(super) fn mailbox(name: &str) -> Mailbox<'static> {
    Mailbox::new(name.to_owned()).unwrap_or_else(|_| Mailbox::inbox())
}

pub(super) fn set(from: u32, to: u32) -> SequenceSet {
    SequenceSet::range(SeqNum::Value(from.max(1)), SeqNum::Value(to.max(1)))
        .unwrap_or(SequenceSet::Items(Vec::new()))
}

pub(super) fn one(n: u32) -> SequenceSet {
    set(n, n)
}

pub(super) fn fetch(
    uid: bool,
    s: SequenceSet,
    attrs: Vec<FetchAttr<'static>>,
) -> CommandBody<'static> {
    CommandBody::Fetch {
        uid,
        set: s,
        items: FetchItems::List(attrs),
        modifiers: FetchModifiers::default(),
    }
}

pub(super) fn meta() -> Vec<FetchAttr<'static>> {
    vec![FetchAttr::Uid, FetchAttr::Flags, FetchAttr::ModSeq]
}

pub(super) fn store(
    uid: bool,
    s: SequenceSet,
    action: StoreAction,
    silent: bool,
    flag: Flag<'static>,
) -> CommandBody<'static> {
    CommandBody::Store {
        uid,
        set: s,
        unchanged_since: None,
        action,
        silent,
        flags: vec![flag],
    }
}
