//! The transaction beside the session: what the message's end owes (one reply in SMTP, one per
//! accepted recipient in LMTP), aborted messages, refused BDAT chunks that are skipped.

use super::{Event, Mode, Pending, Queued, State};
use crate::session::{config::Protocol, replies};
use crate::{
    codec::{ChunkReceiver, DataEnd},
    types::reply::Reply,
};

impl State {
    pub(super) fn dequeue(&mut self, q: Queued) -> Event {
        match q {
            Queued::MessageEnd { size, replies } => {
                self.pending = Some(Pending::MessageEnd { replies });
                Event::MessageEnd { size, replies }
            }
            Queued::MessageAborted(reply) => Event::MessageAborted { reply },
            Queued::TransactionReset => Event::TransactionReset,
            Queued::StartTls => Event::StartTls,
        }
    }

    /// Replies owed after the message data: one, or one per accepted recipient in LMTP.
    pub(super) fn replies_owed(&self) -> usize {
        match self.config.protocol {
            Protocol::Smtp => 1,
            Protocol::Lmtp => self
                .transaction
                .as_ref()
                .map_or(1, |t| t.rcpts_accepted.max(1)),
        }
    }

    pub(super) fn answered_message(&mut self, replies: usize) {
        if replies > 1 {
            self.pending = Some(Pending::MessageEnd {
                replies: replies - 1,
            });
        } else {
            self.pending = None;
            self.transaction = None;
        }
    }

    pub(super) fn abort_message(&mut self, reply: Reply<'static>) {
        for _ in 0..self.replies_owed() {
            self.send(&reply);
        }
        self.transaction = None;
        self.queued.push_back(Queued::MessageAborted(reply));
    }

    pub(super) fn data_ended(&mut self, end: DataEnd) {
        if end.bare_line_ending {
            self.abort_message(replies::bare_line_ending());
        } else if end.too_large {
            self.abort_message(replies::too_large());
        } else if end.line_too_long {
            self.abort_message(replies::data_line_too_long());
        } else {
            let replies = self.replies_owed();
            self.queued.push_back(Queued::MessageEnd {
                size: end.size,
                replies,
            });
        }
    }

    pub(super) fn reset_transaction(&mut self) {
        if self.transaction.take().is_some() {
            self.queued.push_back(Queued::TransactionReset);
        }
    }

    /// Skips a chunk of a transaction whose data was refused and answers it with `reply`:
    /// the transaction ends with its LAST chunk, which in LMTP is answered once per accepted
    /// recipient (the client waits for that many replies after `BDAT ... LAST`).
    pub(super) fn skip_refused_chunk(&mut self, size: u64, last: bool, reply: Reply<'static>) {
        let copies = if last { self.replies_owed() } else { 1 };
        if last {
            self.transaction = None;
        } else if let Some(t) = &mut self.transaction {
            t.refused = Some(reply.clone());
        }
        self.mode = Mode::SkipChunk {
            rx: ChunkReceiver::new(size),
            reply,
            copies,
            counted: false,
        };
    }

    pub(super) fn start_chunk(&mut self, size: u64, last: bool) {
        self.mode = Mode::Chunk {
            rx: ChunkReceiver::new(size),
            last,
        };
    }
}
