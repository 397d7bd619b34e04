//! The ENVELOPE of a message (RFC 9051 §7.5.2): its main header fields, parsed by the server.

use super::core::{IString, NString};

/// ```text
/// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to
///            SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
/// ```
/// An address list that is `NIL` on the wire is empty here (the grammar has no empty list:
/// `env-from = "(" 1*address ")" / nil`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Envelope<'a> {
    /// `env-date = nstring`: the Date header, unparsed.
    pub date: NString<'a>,
    /// `env-subject = nstring`
    pub subject: NString<'a>,
    /// `env-from`
    pub from: Vec<Address<'a>>,
    /// `env-sender`
    pub sender: Vec<Address<'a>>,
    /// `env-reply-to`
    pub reply_to: Vec<Address<'a>>,
    /// `env-to`
    pub to: Vec<Address<'a>>,
    /// `env-cc`
    pub cc: Vec<Address<'a>>,
    /// `env-bcc`
    pub bcc: Vec<Address<'a>>,
    /// `env-in-reply-to = nstring`
    pub in_reply_to: NString<'a>,
    /// `env-message-id = nstring`
    pub message_id: NString<'a>,
}

/// ```text
/// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
/// ```
/// An RFC 5322 group is written as an address with a `NIL` host whose mailbox is the group
/// name (start of group), then its members, then an address with `NIL` mailbox and host (end).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Address<'a> {
    /// `addr-name = nstring`: the display name.
    pub name: NString<'a>,
    /// `addr-adl = nstring`: the obsolete source route.
    pub adl: NString<'a>,
    /// `addr-mailbox = nstring`: the local part, or a group name.
    pub mailbox: NString<'a>,
    /// `addr-host = nstring`: the domain; `NIL` for group syntax.
    pub host: NString<'a>,
}

fn own(s: NString<'_>) -> NString<'static> {
    s.map(IString::into_owned)
}

fn own_list(list: Vec<Address<'_>>) -> Vec<Address<'static>> {
    list.into_iter().map(Address::into_owned).collect()
}

impl Address<'_> {
    /// Whether this address opens a group (`NIL` host, a mailbox holding the group name).
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// Whether this address closes a group (`NIL` mailbox and host).
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Address<'static> {
        Address {
            name: own(self.name),
            adl: own(self.adl),
            mailbox: own(self.mailbox),
            host: own(self.host),
        }
    }
}

impl Envelope<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Envelope<'static> {
        Envelope {
            date: own(self.date),
            subject: own(self.subject),
            from: own_list(self.from),
            sender: own_list(self.sender),
            reply_to: own_list(self.reply_to),
            to: own_list(self.to),
            cc: own_list(self.cc),
            bcc: own_list(self.bcc),
            in_reply_to: own(self.in_reply_to),
            message_id: own(self.message_id),
        }
    }
}
