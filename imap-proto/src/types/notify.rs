//! NOTIFY (RFC 5465): which events a client wants told about which mailboxes, without
//! asking.
//!
//! ```text
//! notify           = "NOTIFY" SP (notify-set / notify-none)
//! notify-set       = "SET" [status-indicator] SP event-groups
//! notify-none      = "NONE"
//! event-groups     = event-group *(SP event-group)
//! event-group      = "(" filter-mailboxes SP events ")"
//! events           = ( "(" event *(SP event) ")" ) / "NONE"
//! ```

use super::{core::Atom, fetch_attr::FetchAttr, mailbox::Mailbox};

/// `notify-set`: what `NOTIFY SET` asks for (`NOTIFY NONE` is its absence).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotifySet<'a> {
    /// `STATUS`: send the current STATUS of each mailbox the filters match, at once.
    pub status: bool,
    /// The event groups; never empty.
    pub groups: Vec<EventGroup<'a>>,
}

/// `event-group = "(" filter-mailboxes SP events ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventGroup<'a> {
    /// Which mailboxes.
    pub filter: FilterMailboxes<'a>,
    /// Which events; empty for `NONE` (nothing about these mailboxes).
    pub events: Vec<NotifyEvent<'a>>,
}

/// `filter-mailboxes`
///
/// ```text
/// filter-mailboxes          = filter-mailboxes-selected / filter-mailboxes-other
/// filter-mailboxes-selected = "selected" / "selected-delayed"
/// filter-mailboxes-other    = "inboxes" / "personal" / "subscribed" /
///                             ( "subtree" SP one-or-more-mailbox ) /
///                             ( "mailboxes" SP one-or-more-mailbox )
/// one-or-more-mailbox       = mailbox / many-mailboxes
/// many-mailboxes            = "(" mailbox *(SP mailbox) ")"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FilterMailboxes<'a> {
    /// `selected`: the selected mailbox, told at once (EXPUNGE included).
    Selected,
    /// `selected-delayed`: the selected mailbox, EXPUNGE held until a command allows it.
    SelectedDelayed,
    /// `inboxes`: the mailboxes new mail is delivered to.
    Inboxes,
    /// `personal`: every mailbox of the user's personal namespace.
    Personal,
    /// `subscribed`: the subscribed mailboxes.
    Subscribed,
    /// `subtree`: these mailboxes and all below them; never empty.
    Subtree(Vec<Mailbox<'a>>),
    /// `mailboxes`: exactly these mailboxes; never empty.
    Mailboxes(Vec<Mailbox<'a>>),
}

impl FilterMailboxes<'_> {
    /// Whether this is `selected` or `selected-delayed`.
    pub fn is_selected(&self) -> bool {
        matches!(self, Self::Selected | Self::SelectedDelayed)
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> FilterMailboxes<'static> {
        let owned = |v: Vec<Mailbox<'_>>| v.into_iter().map(Mailbox::into_owned).collect();
        match self {
            Self::Selected => FilterMailboxes::Selected,
            Self::SelectedDelayed => FilterMailboxes::SelectedDelayed,
            Self::Inboxes => FilterMailboxes::Inboxes,
            Self::Personal => FilterMailboxes::Personal,
            Self::Subscribed => FilterMailboxes::Subscribed,
            Self::Subtree(v) => FilterMailboxes::Subtree(owned(v)),
            Self::Mailboxes(v) => FilterMailboxes::Mailboxes(owned(v)),
        }
    }
}

/// `event`
///
/// ```text
/// event         = message-event / flag-event / mailbox-event / subscription-event /
///                 metadata-event / server-metadata-event / event-ext
/// message-event = ( "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")" ] ) /
///                 "MessageExpunge"
/// flag-event    = "FlagChange" / "AnnotationChange"
/// mailbox-event = "MailboxName" / "SubscriptionChange" / "MailboxMetadataChange" /
///                 "ServerMetadataChange"
/// event-ext     = atom
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotifyEvent<'a> {
    /// `MessageNew [(fetch-att ...)]`: the attributes to FETCH of each new message of the
    /// selected mailbox; empty when none are given.
    MessageNew(Vec<FetchAttr<'a>>),
    /// `MessageExpunge`
    MessageExpunge,
    /// `FlagChange`
    FlagChange,
    /// `AnnotationChange`
    AnnotationChange,
    /// `MailboxName`: created, deleted, renamed.
    MailboxName,
    /// `SubscriptionChange`
    SubscriptionChange,
    /// `MailboxMetadataChange` (RFC 5464)
    MailboxMetadataChange,
    /// `ServerMetadataChange` (RFC 5464)
    ServerMetadataChange,
    /// `event-ext`: an event this crate does not know, as written.
    Other(Atom<'a>),
}

/// The names of the known events, as RFC 5465 spells them.
pub(crate) const EVENT_NAMES: &[(&str, NotifyEvent<'static>)] = &[
    ("MessageNew", NotifyEvent::MessageNew(Vec::new())),
    ("MessageExpunge", NotifyEvent::MessageExpunge),
    ("FlagChange", NotifyEvent::FlagChange),
    ("AnnotationChange", NotifyEvent::AnnotationChange),
    ("MailboxName", NotifyEvent::MailboxName),
    ("SubscriptionChange", NotifyEvent::SubscriptionChange),
    ("MailboxMetadataChange", NotifyEvent::MailboxMetadataChange),
    ("ServerMetadataChange", NotifyEvent::ServerMetadataChange),
];

impl NotifyEvent<'_> {
    /// The event's name as sent (`MessageNew`, or the atom of an unknown event).
    pub fn name(&self) -> &str {
        match self {
            Self::MessageNew(_) => "MessageNew",
            Self::Other(a) => a.as_str(),
            known => EVENT_NAMES
                .iter()
                .find(|(_, e)| e == known)
                .map_or("", |(n, _)| n),
        }
    }

    /// Whether `other` is the same event, fetch attributes aside.
    pub fn same_kind(&self, other: &NotifyEvent<'_>) -> bool {
        match (self, other) {
            (Self::MessageNew(_), NotifyEvent::MessageNew(_)) => true,
            (Self::Other(a), NotifyEvent::Other(b)) => a.as_str().eq_ignore_ascii_case(b.as_str()),
            (a, b) => a.name() == b.name() && !matches!(a, Self::Other(_)),
        }
    }

    /// Whether the event is about messages (allowed with `selected`, RFC 5465 §6.1).
    pub fn is_message_event(&self) -> bool {
        matches!(
            self,
            Self::MessageNew(_) | Self::MessageExpunge | Self::FlagChange | Self::AnnotationChange
        )
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> NotifyEvent<'static> {
        match self {
            Self::MessageNew(v) => {
                NotifyEvent::MessageNew(v.into_iter().map(FetchAttr::into_owned).collect())
            }
            Self::MessageExpunge => NotifyEvent::MessageExpunge,
            Self::FlagChange => NotifyEvent::FlagChange,
            Self::AnnotationChange => NotifyEvent::AnnotationChange,
            Self::MailboxName => NotifyEvent::MailboxName,
            Self::SubscriptionChange => NotifyEvent::SubscriptionChange,
            Self::MailboxMetadataChange => NotifyEvent::MailboxMetadataChange,
            Self::ServerMetadataChange => NotifyEvent::ServerMetadataChange,
            Self::Other(a) => NotifyEvent::Other(a.into_owned()),
        }
    }
}

/// Why a `notify-set` breaks a rule of RFC 5465 that its grammar cannot express (answered
/// with `BAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyRuleError {
    /// §5: MessageNew and MessageExpunge go together.
    #[error("MessageNew and MessageExpunge must be given together")]
    NewWithoutExpunge,
    /// §5: FlagChange and AnnotationChange need MessageNew and MessageExpunge.
    #[error("FlagChange and AnnotationChange require MessageNew and MessageExpunge")]
    FlagsWithoutNew,
    /// §6.1: one `selected` or `selected-delayed` filter at most.
    #[error("only one selected or selected-delayed filter is allowed")]
    TwoSelected,
    /// §6.1: only message events go with `selected` and `selected-delayed`.
    #[error("only message events can be used with selected or selected-delayed")]
    MailboxEventOnSelected,
    /// §5.2: fetch attributes are for the selected mailbox only.
    #[error("MessageNew fetch attributes are only allowed with selected or selected-delayed")]
    FetchOutsideSelected,
}

impl<'a> NotifySet<'a> {
    /// Checks the rules of RFC 5465 §5 and §6.1 that hold for every server.
    pub fn check(&self) -> Result<(), NotifyRuleError> {
        if self
            .groups
            .iter()
            .filter(|g| g.filter.is_selected())
            .count()
            > 1
        {
            return Err(NotifyRuleError::TwoSelected);
        }
        for g in &self.groups {
            let has = |f: fn(&NotifyEvent<'_>) -> bool| g.events.iter().any(f);
            let new = has(|e| matches!(e, NotifyEvent::MessageNew(_)));
            let expunge = has(|e| matches!(e, NotifyEvent::MessageExpunge));
            if new != expunge {
                return Err(NotifyRuleError::NewWithoutExpunge);
            }
            if !new && has(|e| matches!(e, NotifyEvent::FlagChange | NotifyEvent::AnnotationChange))
            {
                return Err(NotifyRuleError::FlagsWithoutNew);
            }
            if g.filter.is_selected() {
                if has(|e| !e.is_message_event() && !matches!(e, NotifyEvent::Other(_))) {
                    return Err(NotifyRuleError::MailboxEventOnSelected);
                }
            } else if has(|e| matches!(e, NotifyEvent::MessageNew(a) if !a.is_empty())) {
                return Err(NotifyRuleError::FetchOutsideSelected);
            }
        }
        Ok(())
    }

    /// The events asked for that are not among `supported` (compared by
    /// [`NotifyEvent::same_kind`]), each once.
    pub fn unsupported(&self, supported: &[NotifyEvent<'_>]) -> Vec<NotifyEvent<'a>> {
        let mut out: Vec<NotifyEvent<'a>> = Vec::new();
        for e in self.groups.iter().flat_map(|g| &g.events) {
            if !supported.iter().any(|s| s.same_kind(e)) && !out.iter().any(|o| o.same_kind(e)) {
                out.push(e.clone());
            }
        }
        out
    }

    /// The group for the selected mailbox, if any.
    pub fn selected(&self) -> Option<&EventGroup<'a>> {
        self.groups.iter().find(|g| g.filter.is_selected())
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> NotifySet<'static> {
        NotifySet {
            status: self.status,
            groups: self
                .groups
                .into_iter()
                .map(|g| EventGroup {
                    filter: g.filter.into_owned(),
                    events: g.events.into_iter().map(NotifyEvent::into_owned).collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(
        filter: FilterMailboxes<'static>,
        events: Vec<NotifyEvent<'static>>,
    ) -> NotifySet<'static> {
        NotifySet {
            status: false,
            groups: vec![EventGroup { filter, events }],
        }
    }

    #[test]
    fn rules_of_sections_5_and_6_1() {
        use NotifyEvent::*;
        let new = || MessageNew(Vec::new());
        assert_eq!(
            group(FilterMailboxes::Personal, vec![new()]).check(),
            Err(NotifyRuleError::NewWithoutExpunge)
        );
        assert_eq!(
            group(FilterMailboxes::Personal, vec![MessageExpunge]).check(),
            Err(NotifyRuleError::NewWithoutExpunge)
        );
        assert_eq!(
            group(FilterMailboxes::Selected, vec![FlagChange]).check(),
            Err(NotifyRuleError::FlagsWithoutNew)
        );
        assert_eq!(
            group(
                FilterMailboxes::Selected,
                vec![new(), MessageExpunge, MailboxName]
            )
            .check(),
            Err(NotifyRuleError::MailboxEventOnSelected)
        );
        assert_eq!(
            group(
                FilterMailboxes::Inboxes,
                vec![MessageNew(vec![FetchAttr::Uid]), MessageExpunge]
            )
            .check(),
            Err(NotifyRuleError::FetchOutsideSelected)
        );
        let mut two = group(FilterMailboxes::Selected, Vec::new());
        two.groups.push(EventGroup {
            filter: FilterMailboxes::SelectedDelayed,
            events: Vec::new(),
        });
        assert_eq!(two.check(), Err(NotifyRuleError::TwoSelected));
        let ok = group(
            FilterMailboxes::Selected,
            vec![MessageNew(vec![FetchAttr::Uid]), MessageExpunge, FlagChange],
        );
        assert_eq!(ok.check(), Ok(()));
        assert_eq!(
            group(FilterMailboxes::Personal, vec![MailboxName]).check(),
            Ok(())
        );
    }

    #[test]
    fn unsupported_lists_each_event_once() {
        use NotifyEvent::*;
        let mut set = group(
            FilterMailboxes::Personal,
            vec![MailboxName, AnnotationChange],
        );
        set.groups.push(EventGroup {
            filter: FilterMailboxes::Inboxes,
            events: vec![AnnotationChange, Other(Atom::from_parsed("XEvent"))],
        });
        let supported = [MessageNew(Vec::new()), MessageExpunge, MailboxName];
        assert_eq!(
            set.unsupported(&supported),
            vec![AnnotationChange, Other(Atom::from_parsed("XEvent"))]
        );
        assert_eq!(MessageNew(vec![FetchAttr::Uid]).name(), "MessageNew");
        assert_eq!(ServerMetadataChange.name(), "ServerMetadataChange");
    }
}
