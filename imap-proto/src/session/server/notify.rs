//! NOTIFY (RFC 5465): the checks every server makes of the command, the set in effect, and
//! what it allows the application to send unasked.

use super::{ApiError, Inner, Mode, Server};
use crate::types::{
    capability::Capability,
    core::Tag,
    notify::{FilterMailboxes, NotifyEvent, NotifySet},
    response::{Response, StatusKind},
    response_code::ResponseCode,
};

/// The set in effect and the one a NOTIFY command being answered would put in its place.
#[derive(Debug, Default)]
pub(super) struct NotifyState {
    active: Option<NotifySet<'static>>,
    pending: Option<Next>,
}

/// What a NOTIFY being answered asks for.
#[derive(Debug)]
enum Next {
    Set(NotifySet<'static>),
    /// `NOTIFY NONE`
    Off,
}

impl NotifyState {
    /// The command was completed: OK puts its set in effect (RFC 5465 §3.1: a NOTIFY
    /// replaces the previous one), anything else leaves the old one.
    pub(super) fn completed(&mut self, ok: bool) {
        if let Some(next) = self.pending.take()
            && ok
        {
            self.active = match next {
                Next::Set(set) => Some(set),
                Next::Off => None,
            };
        }
    }
}

impl Inner {
    /// Whether a NOTIFY command goes to the application; if not, it was answered.
    pub(super) fn notify_allowed(&mut self, tag: &Tag<'_>, set: Option<&NotifySet<'_>>) -> bool {
        if !self.config.capabilities.contains(&Capability::Notify) {
            self.bad(Some(tag.clone()), "NOTIFY is not available");
            return false;
        }
        if let Some(set) = set {
            if let Err(e) = set.check() {
                self.bad(Some(tag.clone()), &e.to_string());
                return false;
            }
            // §3.1: an event the server cannot report is refused, naming those it can.
            if !set.unsupported(&self.config.notify_events).is_empty() {
                let supported = self.config.notify_events.clone();
                self.status(
                    Some(tag.clone()),
                    StatusKind::No,
                    Some(ResponseCode::BadEvent(supported)),
                    "Unsupported NOTIFY events",
                );
                return false;
            }
        }
        self.notify.pending = Some(match set {
            Some(set) => Next::Set(set.clone().into_owned()),
            None => Next::Off,
        });
        true
    }

    /// Whether the selected mailbox's changes go out as they happen (NOTIFY with a
    /// `selected` or `selected-delayed` group asking for message events, and no command
    /// being answered): `Some(true)` with expunges, `Some(false)` holding them (§6.1
    /// `selected-delayed`), `None` at the next command as usual.
    pub(super) fn notify_selected_now(&self) -> Option<bool> {
        if self.pending.is_some() || self.stream.is_some() || self.mode != Mode::Commands {
            return None;
        }
        let group = self.notify.active.as_ref()?.selected()?;
        if !group
            .events
            .iter()
            .any(|e| matches!(e, NotifyEvent::MessageNew(_)))
        {
            return None;
        }
        Some(group.filter == FilterMailboxes::Selected)
    }
}

impl Server {
    /// The NOTIFY set in effect (RFC 5465), if any: the application reports what its
    /// filters and events ask for with [`Server::send_notification`].
    pub fn notify_set(&self) -> Option<&NotifySet<'static>> {
        self.state.notify.active.as_ref()
    }

    /// Sends an untagged response about another mailbox or the mailbox list (`STATUS`,
    /// `LIST`), at any time while a NOTIFY is in effect: between commands too (RFC 5465
    /// §3). Refused when none is.
    pub fn send_notification(&mut self, response: &Response<'_>) -> Result<(), ApiError> {
        if self.state.notify.active.is_none() {
            return Err(ApiError::NotifyOff);
        }
        self.state.send(response);
        Ok(())
    }

    /// Too much to tell (RFC 5465 §3.1): sends `* OK [NOTIFICATIONOVERFLOW]` and ends the
    /// NOTIFY, as if the client had sent `NOTIFY NONE`. Nothing happens when none is in
    /// effect.
    pub fn notification_overflow(&mut self) {
        if self.state.notify.active.take().is_some() {
            self.state.status(
                None,
                StatusKind::Ok,
                Some(ResponseCode::NotificationOverflow),
                "Too many notifications, NOTIFY is off",
            );
        }
    }
}
