//! What the session sends: responses (rewritten for IMAP4rev2 where it differs), the
//! changes the view may tell now, and BAD with its error budget.

use std::borrow::Cow;

use sansmail_core::CloseReason;

use super::Inner;
use crate::{
    DecodeError,
    codec::{ResponseOptions, encode_response},
    session::view::Notice,
    types::{
        capability::Capability,
        core::{Tag, Text},
        fetch::FetchItem,
        flag::Flag,
        response::{Continue, Data, Response, Status, StatusKind},
        response_code::ResponseCode,
    },
};

impl Inner {
    pub(super) fn utf8(&self) -> bool {
        self.enabled.contains(&Capability::Utf8Accept)
            || self.enabled.contains(&Capability::Imap4Rev2)
    }

    pub(super) fn response_options(&self) -> ResponseOptions {
        ResponseOptions {
            utf8: self.utf8(),
            ..ResponseOptions::default()
        }
    }

    pub(super) fn send(&mut self, response: &Response<'_>) {
        if let Response::Data(Data::Fetch { seq, items }) = response
            && let Some(folded) = self.fold_flags(*seq, items)
        {
            return self.send(&Response::Data(Data::Fetch {
                seq: *seq,
                items: folded,
            }));
        }
        let opts = self.response_options();
        let response = if self.enabled.contains(&Capability::Imap4Rev2) {
            match rev2_response(response) {
                Some(r) => r,
                None => return,
            }
        } else {
            Cow::Borrowed(response)
        };
        encode_response(&response, &opts, &mut self.transmit);
    }

    /// A FETCH response about a message whose flags changed and are not told yet (the
    /// `\Seen` a body fetch set, pushed as an update by the application): the response with
    /// FLAGS (and MODSEQ under CONDSTORE) added, the queued change taken. `None` to send the
    /// response as it is.
    pub(super) fn fold_flags<'a>(
        &mut self,
        seq: u32,
        items: &[FetchItem<'a>],
    ) -> Option<Vec<FetchItem<'a>>> {
        if items.iter().any(|i| matches!(i, FetchItem::Flags(_))) {
            return None;
        }
        let condstore = self.enabled.contains(&Capability::CondStore);
        let view = self.view.as_mut()?;
        let uid = view.uid(seq)?;
        let (flags, modseq) = view.take_flags(uid)?;
        let mut items = items.to_vec();
        items.push(FetchItem::Flags(flags));
        if let (true, Some(m)) = (condstore, modseq)
            && !items.iter().any(|i| matches!(i, FetchItem::ModSeq(_)))
        {
            items.push(FetchItem::ModSeq(m));
        }
        Some(items)
    }

    pub(super) fn status(
        &mut self,
        tag: Option<Tag<'_>>,
        kind: StatusKind,
        code: Option<ResponseCode<'_>>,
        text: &str,
    ) {
        let text =
            Text::new(Cow::Borrowed(text)).unwrap_or_else(|_| Text::from_parsed("invalid text"));
        self.send(&Response::Status(Status {
            tag,
            kind,
            code,
            text,
        }));
    }

    pub(super) fn continuation(&mut self, text: &str) {
        let text = Text::new(Cow::Borrowed(text)).unwrap_or_else(|_| Text::from_parsed(""));
        self.send(&Response::Continue(Continue::new(text)));
    }

    /// Tells the client the queued changes that may be told now.
    pub(super) fn tell_updates(&mut self, expunges_allowed: bool) {
        let vanished = self.enabled.contains(&Capability::QResync);
        let condstore = vanished || self.enabled.contains(&Capability::CondStore);
        let Some(view) = self.view.as_mut() else {
            return;
        };
        for notice in view.drain(expunges_allowed, vanished) {
            let data = match notice {
                Notice::Exists(n) => Data::Exists(n),
                Notice::Expunge(seq) => Data::Expunge(seq),
                Notice::Vanished(uids) => Data::Vanished {
                    earlier: false,
                    uids,
                },
                Notice::Flags {
                    seq,
                    uid,
                    flags,
                    modseq,
                } => {
                    let mut items = vec![FetchItem::Uid(uid), FetchItem::Flags(flags)];
                    if let (true, Some(m)) = (condstore, modseq) {
                        items.push(FetchItem::ModSeq(m));
                    }
                    Data::Fetch { seq, items }
                }
            };
            self.send(&Response::Data(data));
        }
    }

    pub(super) fn bad(&mut self, tag: Option<Tag<'_>>, text: &str) {
        self.status(tag, StatusKind::Bad, None, text);
        self.count_error();
    }

    /// Answers input that failed to decode as [`DecodeError::to_response`] says; `tag` is the
    /// command's, where the session read it from the message.
    pub(super) fn refuse(&mut self, error: &DecodeError, tag: Option<&Tag<'_>>) {
        let Some(response) = error.to_response(tag) else {
            return;
        };
        self.send(&response);
        if error.closes_connection() {
            self.close(CloseReason::Protocol(
                "a non-synchronizing literal or message over the limit",
            ));
        } else if matches!(&response, Response::Status(s) if s.kind == StatusKind::Bad) {
            self.count_error();
        }
    }

    /// One more error against the budget; past it the session says BYE and closes.
    fn count_error(&mut self) {
        self.errors += 1;
        if self.errors >= self.config.limits.max_errors {
            self.status(None, StatusKind::Bye, None, "Too many invalid commands");
            self.close(CloseReason::TooManyErrors);
        }
    }
}

/// What IMAP4rev2 makes of a response an application wrote for either revision: `None` to
/// leave it out. RFC 9051 has no `\Recent` flag, no `RECENT` response and no `UNSEEN`
/// response code (Appendix E, items 6 and 7): once a client enabled IMAP4rev2 they are left
/// out of what the application sends.
fn rev2_response<'r, 'a>(response: &'r Response<'a>) -> Option<Cow<'r, Response<'a>>> {
    let no_recent = |flags: &[Flag<'a>]| -> Vec<Flag<'a>> {
        flags
            .iter()
            .filter(|f| **f != Flag::Recent)
            .cloned()
            .collect()
    };
    match response {
        Response::Data(Data::Recent(_))
        | Response::Status(Status {
            tag: None,
            code: Some(ResponseCode::Unseen(_)),
            ..
        }) => None,
        Response::Data(Data::Flags(flags)) if flags.contains(&Flag::Recent) => {
            Some(Cow::Owned(Response::Data(Data::Flags(no_recent(flags)))))
        }
        Response::Status(
            status @ Status {
                code: Some(ResponseCode::PermanentFlags(flags)),
                ..
            },
        ) if flags.contains(&Flag::Recent) => Some(Cow::Owned(Response::Status(Status {
            code: Some(ResponseCode::PermanentFlags(no_recent(flags))),
            ..status.clone()
        }))),
        Response::Data(Data::Fetch { seq, items })
            if items
                .iter()
                .any(|i| matches!(i, FetchItem::Flags(f) if f.contains(&Flag::Recent))) =>
        {
            let items = items
                .iter()
                .map(|i| match i {
                    FetchItem::Flags(f) => FetchItem::Flags(no_recent(f)),
                    other => other.clone(),
                })
                .collect();
            Some(Cow::Owned(Response::Data(Data::Fetch { seq: *seq, items })))
        }
        _ => Some(Cow::Borrowed(response)),
    }
}
