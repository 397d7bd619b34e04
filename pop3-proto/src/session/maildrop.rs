//! The server's view of a maildrop during the TRANSACTION state (RFC 1939 §5): message
//! numbers, sizes, unique-ids and deletion marks.

use crate::types::{command::MessageNumber, listing::DropListing, listing::Uid};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    size: u64,
    uid: Box<str>,
    deleted: bool,
}

/// The messages of a locked maildrop, in the order that numbers them from 1.
///
/// The application builds it after authenticating the user and locking the maildrop, and
/// hands it to [`Server::accept_login`](super::server::Server::accept_login). The session then
/// answers STAT, LIST, UIDL, DELE and RSET from it, and lists the deletions to commit at QUIT.
///
/// Sizes are exact octet counts with CRLF line ends, before stuffing (RFC 1939 §11). Each
/// unique-id must be unique in the maildrop and never reused for another message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maildrop {
    entries: Vec<Entry>,
    live: u64,
    live_size: u64,
}

/// Why DELE was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeleteError {
    NoSuchMessage,
    AlreadyDeleted,
}

impl Maildrop {
    /// An empty maildrop.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next message; returns its number, or `None` once 2³² − 1 messages are in.
    pub fn push(&mut self, size: u64, uid: Uid<'_>) -> Option<MessageNumber> {
        let msg = MessageNumber::from_index(self.entries.len())?;
        self.entries.push(Entry {
            size,
            uid: uid.into_string().into_boxed_str(),
            deleted: false,
        });
        self.live += 1;
        self.live_size = self.live_size.saturating_add(size);
        Some(msg)
    }

    /// Messages in the listing, deleted ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the listing has no messages.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A message's size, unique-id and whether it is marked as deleted.
    pub fn get(&self, msg: MessageNumber) -> Option<(u64, &str, bool)> {
        self.entries
            .get(msg.index())
            .map(|e| (e.size, &*e.uid, e.deleted))
    }

    /// Size and unique-id of a message that exists and is not marked as deleted.
    pub fn live(&self, msg: MessageNumber) -> Option<(u64, &str)> {
        match self.get(msg) {
            Some((size, uid, false)) => Some((size, uid)),
            _ => None,
        }
    }

    /// The messages not marked as deleted, with their sizes and unique-ids.
    pub fn iter_live(&self) -> impl Iterator<Item = (MessageNumber, u64, &str)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .filter_map(|(i, e)| Some((MessageNumber::from_index(i)?, e.size, &*e.uid)))
    }

    /// The answer to STAT: messages not marked as deleted and their total size.
    pub fn stat(&self) -> DropListing {
        DropListing {
            count: self.live,
            size: self.live_size,
        }
    }

    /// The messages marked as deleted.
    pub fn deletions(&self) -> Deletions {
        Deletions(
            self.entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.deleted)
                .filter_map(|(i, e)| Some((MessageNumber::from_index(i)?, e.uid.to_string())))
                .collect(),
        )
    }

    pub(crate) fn delete(&mut self, msg: MessageNumber) -> Result<(), DeleteError> {
        let entry = self
            .entries
            .get_mut(msg.index())
            .ok_or(DeleteError::NoSuchMessage)?;
        if entry.deleted {
            return Err(DeleteError::AlreadyDeleted);
        }
        entry.deleted = true;
        self.live -= 1;
        self.live_size = self.live_size.saturating_sub(entry.size);
        Ok(())
    }

    /// RSET: unmarks every deleted message.
    pub(crate) fn reset(&mut self) {
        for e in &mut self.entries {
            e.deleted = false;
        }
        self.live = self.entries.len() as u64;
        self.live_size = self
            .entries
            .iter()
            .fold(0u64, |acc, e| acc.saturating_add(e.size));
    }
}

/// The messages marked as deleted, which the application removes at QUIT (the UPDATE state,
/// RFC 1939 §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deletions(Vec<(MessageNumber, String)>);

impl Deletions {
    /// How many messages are marked.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is marked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The marked messages with their unique-ids, in message-number order.
    pub fn iter(&self) -> impl Iterator<Item = (MessageNumber, &str)> {
        self.0.iter().map(|(msg, uid)| (*msg, uid.as_str()))
    }
}
