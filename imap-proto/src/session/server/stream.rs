//! FETCH responses streamed in pieces: `* n FETCH (items BODY[] {size}` CRLF, then the
//! literal's octets as the application reads them, then `)` CRLF. The session asks for each
//! next piece ([`Event::FetchMore`]) only once what it queued was taken, so a large message is
//! never held whole, and a client that pipelines FETCHes and reads nothing costs one piece.
//!
//! While a response is open nothing else may go out between its octets: what the
//! application sends meanwhile is held until the response ends, and the session's own
//! `* BYE` (shutdown, autologout) is replaced by the end of the connection in the middle of
//! a literal.

use sansmail_core::CloseReason;

use super::{ApiError, Event, Inner, Pending, Server};
use crate::{
    codec::{EncodeBuf, fetch_open, literal_head},
    session::view::MessageState,
    types::{
        capability::Capability,
        fetch::{FetchItem, LiteralItem},
        response::{Data, Response},
    },
};

/// A FETCH response being streamed.
#[derive(Debug)]
pub(super) struct Streaming {
    seq: u32,
    /// Whether something follows `(` already (the next item needs a space).
    items: bool,
    literal: Option<Literal>,
    /// An [`Event::FetchMore`] is out and not answered yet.
    asked: bool,
    /// What the application sent while the response was open: it follows the response.
    pub(super) held: EncodeBuf,
}

/// The literal being streamed.
#[derive(Debug, Clone, Copy)]
struct Literal {
    len: u64,
    given: u64,
    /// A `literal8`: NUL may pass.
    binary: bool,
}

impl Literal {
    fn complete(self) -> bool {
        self.given == self.len
    }
}

impl Streaming {
    fn in_literal(&self) -> bool {
        self.literal.is_some_and(|l| !l.complete())
    }
}

impl Inner {
    /// The next [`Event::FetchMore`], if a streamed response is open and none is out.
    pub(super) fn fetch_more(&mut self) -> Option<Event> {
        let s = self.stream.as_mut()?;
        if s.asked {
            return None;
        }
        s.asked = true;
        Some(Event::FetchMore {
            seq: s.seq,
            offset: s.literal.map_or(0, |l| l.given),
        })
    }

    /// Ends an open streamed response as far as the wire allows before the session says
    /// `* BYE` or closes: after a complete literal, `)` CRLF and what was held; in the
    /// middle of one, nothing can follow (it would read as the literal's octets), so the
    /// session closes without a word. Returns whether anything more may be sent.
    pub(super) fn end_stream_for_close(&mut self) -> bool {
        let Some(s) = self.stream.take() else {
            return true;
        };
        if s.in_literal() {
            return false;
        }
        self.transmit.push(b")\r\n");
        self.transmit.push(&s.held.bytes);
        true
    }
}

impl Server {
    /// Opens a FETCH response about message `seq` whose last items are streamed literals:
    /// `* seq FETCH (` and `items`, checked against the view as in [`Server::send_fetch`]
    /// (`state` is the message's flags and mod-sequence as the application read them).
    /// Then [`Server::fetch_literal`] for each streamed item, its octets with
    /// [`Server::message_data`], and [`Server::fetch_end`].
    ///
    /// Give the first piece now and return: [`Event::FetchMore`] asks for each next one
    /// once the previous ones were taken with [`Server::poll_transmit`] (down to
    /// [`Limits::max_queued_output`](crate::Limits::max_queued_output)). Until the response
    /// ends, responses the application sends are held, and the command cannot be
    /// completed.
    pub fn fetch_begin(
        &mut self,
        seq: u32,
        items: Vec<FetchItem<'_>>,
        state: MessageState,
    ) -> Result<(), ApiError> {
        let s = &mut self.state;
        if !matches!(s.pending, Some(Pending::Command { .. })) {
            return Err(ApiError::NothingPending);
        }
        if s.stream.is_some() {
            return Err(ApiError::FetchOpen);
        }
        let mut items = items;
        s.prepare_fetch(seq, &mut items, Some(state));
        if s.enabled.contains(&Capability::Imap4Rev2) {
            // The same rewriting as a whole response gets (no `\Recent`).
            let response = Response::Data(Data::Fetch { seq, items });
            let rewritten =
                super::output::rev2_response(&response).map(std::borrow::Cow::into_owned);
            items = match rewritten {
                Some(Response::Data(Data::Fetch { items, .. })) => items,
                _ => Vec::new(),
            };
        }
        fetch_open(seq, &items, &mut s.transmit);
        s.stream = Some(Streaming {
            seq,
            items: !items.is_empty(),
            literal: None,
            asked: false,
            held: EncodeBuf::new(),
        });
        Ok(())
    }

    /// Starts a streamed literal in the open FETCH response: `BODY[] {len}` CRLF (`~{len}`
    /// for BINARY). Exactly `len` octets follow with [`Server::message_data`].
    pub fn fetch_literal(&mut self, item: &LiteralItem<'_>, len: u64) -> Result<(), ApiError> {
        let s = &mut self.state;
        let stream = s.stream.as_mut().ok_or(ApiError::NoFetch)?;
        if stream.in_literal() {
            return Err(ApiError::LiteralIncomplete);
        }
        if stream.items {
            s.transmit.push(b" ");
        }
        literal_head(item, len, &mut s.transmit);
        stream.items = true;
        stream.asked = false;
        stream.literal = Some(Literal {
            len,
            given: 0,
            binary: item.is_binary(),
        });
        Ok(())
    }

    /// The next octets of the literal in progress. More than it has left is refused
    /// ([`ApiError::LiteralOverrun`]) and nothing is sent. A NUL in a literal that is not a
    /// `literal8` is sent as 0x80, as Dovecot does (RFC 9051 §4.3: no NUL in a literal).
    pub fn message_data(&mut self, data: &[u8]) -> Result<(), ApiError> {
        let s = &mut self.state;
        let stream = s.stream.as_mut().ok_or(ApiError::NoFetch)?;
        let literal = stream.literal.as_mut().ok_or(ApiError::NoFetch)?;
        let left = literal.len - literal.given;
        if data.len() as u64 > left {
            return Err(ApiError::LiteralOverrun);
        }
        literal.given += data.len() as u64;
        stream.asked = false;
        if literal.binary || !data.contains(&0) {
            s.transmit.push(data);
        } else {
            s.transmit
                .bytes
                .extend(data.iter().map(|&b| if b == 0 { 0x80 } else { b }));
        }
        Ok(())
    }

    /// Ends the open FETCH response (`)` CRLF), after the last literal's last octet; then
    /// what the application sent meanwhile goes out.
    pub fn fetch_end(&mut self) -> Result<(), ApiError> {
        let s = &mut self.state;
        let stream = s.stream.as_ref().ok_or(ApiError::NoFetch)?;
        if stream.in_literal() {
            return Err(ApiError::LiteralIncomplete);
        }
        s.end_stream_for_close();
        Ok(())
    }

    /// Whether a streamed FETCH response is open ([`Server::fetch_begin`] without
    /// [`Server::fetch_end`] yet).
    pub fn is_fetch_open(&self) -> bool {
        self.state.stream.is_some()
    }

    /// Ends the session now, without a word: for an application that cannot go on, such as
    /// a store failing in the middle of a streamed literal, where no `NO` can follow any
    /// more. Close the connection once the transmit buffer is sent.
    pub fn close(&mut self) {
        self.state.stream = None;
        self.state.close(CloseReason::Application);
    }
}
