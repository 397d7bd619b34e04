//! What the session sends: responses (rewritten for IMAP4rev2 where it differs), the
//! changes the view may tell now, and BAD with its error budget.

use std::borrow::Cow;

use sansmail_core::CloseReason;

use super::Inner;
use crate::{
    DecodeError,
    codec::{ResponseOptions, encode_response},
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

    /// Sends a response the application or the session wrote. A FETCH response goes
    /// through [`Inner::send_fetch`] (the view's checks, `\Recent`, new keywords).
    pub(super) fn send(&mut self, response: &Response<'_>) {
        if let Response::Data(Data::Fetch { seq, items }) = response {
            return self.send_fetch(*seq, items.clone(), None);
        }
        self.observe(response);
        self.encode(response);
    }

    /// Encodes a response as it is (rewritten for IMAP4rev2).
    pub(super) fn encode(&mut self, response: &Response<'_>) {
        let opts = self.response_options();
        let response = if self.enabled.contains(&Capability::Imap4Rev2) {
            match rev2_response(response) {
                Some(r) => r,
                None => return,
            }
        } else {
            Cow::Borrowed(response)
        };
        // Nothing goes between the octets of a streamed FETCH response: held until it ends.
        let out = match &mut self.stream {
            Some(stream) => &mut stream.held,
            None => &mut self.transmit,
        };
        encode_response(&response, &opts, out);
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

    /// Whether more output is queued than [`Limits::max_queued_output`] allows: no further
    /// command is taken until the client takes some.
    ///
    /// [`Limits::max_queued_output`]: crate::Limits::max_queued_output
    pub(super) fn over_output_limit(&self) -> bool {
        self.transmit.bytes.len() > self.config.limits.max_queued_output
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
pub(super) fn rev2_response<'r, 'a>(response: &'r Response<'a>) -> Option<Cow<'r, Response<'a>>> {
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
