//! The ENVELOPE of a message: its types and how they are read from the top-level header.

use mail_parser::Message;
use serde::{Deserialize, Serialize};

use super::{address::parse_address_list, raw_header};

/// One address of an ENVELOPE address list, in IMAP's four-part form.
///
/// A group is written as IMAP writes it: a start marker with `mailbox` = the group name and
/// no host, the members, then an end marker with every field `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvelopeAddress {
    /// The display name, raw (encoded words are not decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source route (obsolete), without the trailing `:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adl: Option<String>,
    /// The local part, or the group name for a group start marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// The domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The ENVELOPE of a message (RFC 3501 §7.4.2): raw, unfolded header values.
///
/// As IMAP requires, `sender` and `reply_to` default to `from` when their header is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// `Date`
    #[serde(default)]
    pub date: Option<String>,
    /// `Subject`
    #[serde(default)]
    pub subject: Option<String>,
    /// `From`
    #[serde(default)]
    pub from: Vec<EnvelopeAddress>,
    /// `Sender`, or `From`
    #[serde(default)]
    pub sender: Vec<EnvelopeAddress>,
    /// `Reply-To`, or `From`
    #[serde(default)]
    pub reply_to: Vec<EnvelopeAddress>,
    /// `To`
    #[serde(default)]
    pub to: Vec<EnvelopeAddress>,
    /// `Cc`
    #[serde(default)]
    pub cc: Vec<EnvelopeAddress>,
    /// `Bcc`
    #[serde(default)]
    pub bcc: Vec<EnvelopeAddress>,
    /// `In-Reply-To`
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// `Message-ID`
    #[serde(default)]
    pub message_id: Option<String>,
}

/// The ENVELOPE of `msg`, whose header offsets index `raw`.
pub(super) fn envelope(msg: &Message<'_>, raw: &[u8]) -> Envelope {
    let Some(root) = msg.parts.first() else {
        return Envelope::default();
    };
    let addrs = |name: &str| {
        raw_header(root, raw, name)
            .map(|v| parse_address_list(&v))
            .unwrap_or_default()
    };
    let from = addrs("From");
    let mut sender = addrs("Sender");
    if sender.is_empty() {
        sender.clone_from(&from);
    }
    let mut reply_to = addrs("Reply-To");
    if reply_to.is_empty() {
        reply_to.clone_from(&from);
    }
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Envelope {
        date: nonempty(raw_header(root, raw, "Date")),
        subject: raw_header(root, raw, "Subject"),
        from,
        sender,
        reply_to,
        to: addrs("To"),
        cc: addrs("Cc"),
        bcc: addrs("Bcc"),
        in_reply_to: nonempty(raw_header(root, raw, "In-Reply-To")),
        message_id: nonempty(raw_header(root, raw, "Message-ID")),
    }
}
