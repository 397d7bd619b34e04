//! Parsing NOTIFY (RFC 5465 §8): the command's arguments, and the events of the `BADEVENT`
//! response code.

use super::{
    command::{CommandOptions, keyword, label, mailbox, upper},
    command_args::paren_list1,
    core::{PResult, atom, fail, sp, tag_no_case},
    fetch::fetch_att,
};
use crate::types::{
    command::CommandBody,
    core::Atom,
    mailbox::Mailbox,
    notify::{EVENT_NAMES, EventGroup, FilterMailboxes, NotifyEvent, NotifySet},
};

/// ```text
/// notify      = "NOTIFY" SP (notify-set / notify-none)
/// notify-none = "NONE"
/// ```
/// The input starts after `NOTIFY SP`.
pub(crate) fn notify<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    if let Ok((rest, _)) = tag_no_case(input, "NONE") {
        return Ok((rest, CommandBody::Notify { set: None }));
    }
    let (rest, set) = label(input, "SET or NONE", |i| notify_set(i, opts))?;
    Ok((rest, CommandBody::Notify { set: Some(set) }))
}

/// ```text
/// notify-set       = "SET" [status-indicator] SP event-groups
/// status-indicator = SP "STATUS"
/// event-groups     = event-group *(SP event-group)
/// ```
pub(crate) fn notify_set<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, NotifySet<'a>> {
    let (rest, _) = tag_no_case(input, "SET")?;
    let (mut rest, ()) = sp(rest)?;
    let mut status = false;
    if let Ok((r, _)) = tag_no_case(rest, "STATUS") {
        status = true;
        rest = sp(r)?.0;
    }
    let (mut rest, first) = label(rest, "event-group", |i| event_group(i, opts))?;
    let mut groups = vec![first];
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, g) = label(r, "event-group", |i| event_group(i, opts))?;
        groups.push(g);
        rest = r;
    }
    Ok((rest, NotifySet { status, groups }))
}

/// ```text
/// event-group = "(" filter-mailboxes SP events ")"
/// events      = ( "(" event *(SP event) ")" ) / "NONE"
/// ```
pub(crate) fn event_group<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
) -> PResult<'a, EventGroup<'a>> {
    let Some(rest) = input.strip_prefix(b"(") else {
        return fail(input, "'('");
    };
    let (rest, filter) = filter_mailboxes(rest, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, events) = if let Ok((r, _)) = tag_no_case(rest, "NONE") {
        (r, Vec::new())
    } else {
        paren_list1(rest, "event", event)?
    };
    let Some(rest) = rest.strip_prefix(b")") else {
        return fail(rest, "')'");
    };
    Ok((rest, EventGroup { filter, events }))
}

/// ```text
/// filter-mailboxes          = filter-mailboxes-selected / filter-mailboxes-other
/// filter-mailboxes-selected = "selected" / "selected-delayed"
/// filter-mailboxes-other    = "inboxes" / "personal" / "subscribed" /
///                             ( "subtree" SP one-or-more-mailbox ) /
///                             ( "mailboxes" SP one-or-more-mailbox )
/// ```
pub(crate) fn filter_mailboxes<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
) -> PResult<'a, FilterMailboxes<'a>> {
    const EXPECTED: &str =
        "selected, selected-delayed, inboxes, personal, subscribed, subtree or mailboxes";
    let (rest, word) = label(input, EXPECTED, keyword)?;
    let mut buf = [0; 24];
    Ok(match upper(word, &mut buf) {
        b"SELECTED" => (rest, FilterMailboxes::Selected),
        b"SELECTED-DELAYED" => (rest, FilterMailboxes::SelectedDelayed),
        b"INBOXES" => (rest, FilterMailboxes::Inboxes),
        b"PERSONAL" => (rest, FilterMailboxes::Personal),
        b"SUBSCRIBED" => (rest, FilterMailboxes::Subscribed),
        b"SUBTREE" => {
            let (rest, list) = one_or_more_mailbox(sp(rest)?.0, opts)?;
            (rest, FilterMailboxes::Subtree(list))
        }
        b"MAILBOXES" => {
            let (rest, list) = one_or_more_mailbox(sp(rest)?.0, opts)?;
            (rest, FilterMailboxes::Mailboxes(list))
        }
        _ => return fail(input, EXPECTED),
    })
}

/// ```text
/// one-or-more-mailbox = mailbox / many-mailboxes
/// many-mailboxes      = "(" mailbox *(SP mailbox) ")"
/// ```
pub(crate) fn one_or_more_mailbox<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
) -> PResult<'a, Vec<Mailbox<'a>>> {
    if input.starts_with(b"(") {
        paren_list1(input, "mailbox", |i| mailbox(i, opts))
    } else {
        let (rest, m) = mailbox(input, opts)?;
        Ok((rest, vec![m]))
    }
}

/// ```text
/// event         = message-event / flag-event / mailbox-event / subscription-event /
///                 metadata-event / server-metadata-event / event-ext
/// message-event = ( "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")" ] ) /
///                 "MessageExpunge"
/// event-ext     = atom
/// ```
/// Names are matched case-insensitively; an unknown one is kept as
/// [`NotifyEvent::Other`] (the server answers it with `BADEVENT`).
pub(crate) fn event(input: &[u8]) -> PResult<'_, NotifyEvent<'_>> {
    let (rest, name) = label(input, "event", atom)?;
    let Some((_, known)) = EVENT_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    else {
        return Ok((rest, NotifyEvent::Other(Atom::from_parsed(name))));
    };
    // `SP "("` after MessageNew opens its fetch attributes; `SP` alone is the next event.
    if let NotifyEvent::MessageNew(_) = known
        && rest.starts_with(b" (")
    {
        let (r, atts) = paren_list1(&rest[1..], "fetch-att", fetch_att)?;
        return Ok((r, NotifyEvent::MessageNew(atts)));
    }
    Ok((rest, known.clone()))
}
