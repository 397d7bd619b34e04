//! Encoding NOTIFY's arguments (RFC 5465 §8) and its events (also in `BADEVENT`).

use super::{push_astring, push_fetch_att, sp_mailbox};
use crate::{
    codec::EncodeBuf,
    types::notify::{FilterMailboxes, NotifyEvent, NotifySet},
};

/// ` SET [STATUS] event-group *(SP event-group)`, or ` NONE` for `None`.
pub(super) fn push_notify(out: &mut EncodeBuf, set: Option<&NotifySet<'_>>, utf8: bool) {
    let Some(set) = set else {
        out.push(b" NONE");
        return;
    };
    out.push(if set.status { b" SET STATUS" } else { b" SET" });
    for g in &set.groups {
        out.push(b" (");
        push_filter(out, &g.filter, utf8);
        if g.events.is_empty() {
            out.push(b" NONE)");
        } else {
            out.push(b" (");
            out.push_separated(&g.events, push_event);
            out.push(b"))");
        }
    }
}

fn push_filter(out: &mut EncodeBuf, filter: &FilterMailboxes<'_>, utf8: bool) {
    let (word, list): (&[u8], _) = match filter {
        FilterMailboxes::Selected => (b"selected", None),
        FilterMailboxes::SelectedDelayed => (b"selected-delayed", None),
        FilterMailboxes::Inboxes => (b"inboxes", None),
        FilterMailboxes::Personal => (b"personal", None),
        FilterMailboxes::Subscribed => (b"subscribed", None),
        FilterMailboxes::Subtree(l) => (b"subtree", Some(l)),
        FilterMailboxes::Mailboxes(l) => (b"mailboxes", Some(l)),
    };
    out.push(word);
    match list.map(Vec::as_slice) {
        None => {}
        Some([one]) => sp_mailbox(out, one, utf8),
        Some(many) => {
            out.push(b" (");
            out.push_separated(many, |o, m| push_astring(o, &m.to_wire(utf8)));
            out.push(b")");
        }
    }
}

/// `event`: its name, and MessageNew's fetch attributes in parentheses when it has some.
pub(crate) fn push_event(out: &mut EncodeBuf, e: &NotifyEvent<'_>) {
    out.push(e.name().as_bytes());
    if let NotifyEvent::MessageNew(atts) = e
        && !atts.is_empty()
    {
        out.push(b" (");
        out.push_separated(atts, push_fetch_att);
        out.push(b")");
    }
}
