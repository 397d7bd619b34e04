//! Delivery status notifications (RFC 3464) for the envelope sender, honouring the DSN
//! parameters the message came with (RFC 3461): `NOTIFY` chooses which recipients are
//! reported, `RET` whether the message or only its header is returned, `ENVID` and `ORCPT`
//! are given back as `Original-Envelope-Id` and `Original-Recipient`.
//!
//! The message is `multipart/report; report-type=delivery-status` (RFC 6522): a text for
//! people, the `message/delivery-status` part with one per-message and one per-recipient
//! block per recipient reported, and the returned message as `message/rfc822` or
//! `text/rfc822-headers`. It is sent from the null sender `<>`, so it never causes another
//! (RFC 3461 §6.2, RFC 5321 §6.1).
//!
//! A message that came with `SMTPUTF8` gets the internationalized forms (RFC 6533 §6):
//! `message/global-delivery-status`, in which a UTF-8 address is of type `utf-8`, and the
//! message returned as `message/global` or `message/global-headers`, as Postfix does.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sansmail_smtp::types::xtext::XText;

use super::queue::{QueueEntry, QueuedRecipient, Return};
use crate::smtp::date_time;

/// What a DSN reports (its `Action`, RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Could not be delivered, and will not be.
    Failed,
    /// Not delivered yet; still trying.
    Delayed,
    /// Delivered here.
    Delivered,
    /// Passed to a next hop that does not offer DSN: nothing further will be reported.
    Relayed,
}

impl Action {
    /// The keyword in `Action:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Delayed => "delayed",
            Self::Delivered => "delivered",
            Self::Relayed => "relayed",
        }
    }
}

/// The longest returned message; past it only the header is returned (RFC 3461 §4.3 leaves
/// the limit to the implementation).
pub const MAX_RETURNED: usize = 1 << 20;

/// A DSN about `recipients` (indices into `entry.recipients`, all with `action`).
#[derive(Debug)]
pub struct Report<'a> {
    /// This server's name (`Reporting-MTA`, `From: MAILER-DAEMON@…`, the Message-ID).
    pub reporting_mta: &'a str,
    /// The queued message reported on.
    pub entry: &'a QueueEntry,
    /// Its octets (the trace fields this server added first).
    pub message: &'a [u8],
    /// What happened to the recipients reported.
    pub action: Action,
    /// Which recipients (indices into the entry).
    pub recipients: &'a [usize],
    /// For `delayed`: until when delivery is tried (`Will-Retry-Until`).
    pub retry_until: Option<SystemTime>,
}

fn unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// An xtext value decoded for a report (RFC 3461 §4.2, §4.4: ORCPT and ENVID are reported
/// decoded), with CR, LF and other controls dropped so no field can be injected.
fn decoded(xtext: &str) -> String {
    let text =
        XText::from_encoded(xtext).map_or_else(|_| xtext.to_owned(), |x| x.decode().into_owned());
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Text from the peer or from here, safe in a header field: no controls, bounded.
fn field_text(s: &str) -> String {
    let mut t: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    t.truncate(crate::clipped(&t, 900).len());
    t
}

/// The header section of `message` (through the empty line that ends it, or all of it).
pub fn header_section(message: &[u8]) -> &[u8] {
    message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message, |p| &message[..p + 4])
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Report<'_> {
    /// The subject line.
    fn subject(&self) -> &'static str {
        match self.action {
            Action::Failed => "Undelivered Mail Returned to Sender",
            Action::Delayed => "Delayed Mail (still being retried)",
            Action::Delivered | Action::Relayed => "Successful Mail Delivery Report",
        }
    }

    /// Whether the internationalized forms apply (RFC 6533): the message came with
    /// `SMTPUTF8`, so its addresses and header may hold UTF-8.
    fn global(&self) -> bool {
        self.entry.smtputf8
    }

    /// The notification as a message, CRLF line ends, ready to queue from `<>` to the
    /// entry's sender. `now` dates it.
    pub fn build(&self, now: SystemTime) -> Vec<u8> {
        let e = self.entry;
        let global = self.global();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let boundary = format!("{}.{secs}.{n}/{}", e.id, self.reporting_mta);
        let mut out = String::new();
        let _ = write!(
            out,
            "From: Mail Delivery System <MAILER-DAEMON@{mta}>\r\n\
             To: <{to}>\r\n\
             Subject: {subject}\r\n\
             Date: {date}\r\n\
             Message-ID: <{id}.{secs}.{n}.dsn@{mta}>\r\n\
             Auto-Submitted: auto-replied\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status;\r\n\
             \tboundary=\"{boundary}\"\r\n\
             \r\n\
             This is a MIME-encapsulated delivery status notification.\r\n\
             \r\n",
            mta = self.reporting_mta,
            to = e.sender,
            subject = self.subject(),
            date = date_time(now),
            id = e.id,
        );
        let mut bytes = out.into_bytes();
        // The part for people.
        let mut text = format!(
            "This is the mail system at host {}.\r\n\r\n",
            self.reporting_mta
        );
        text.push_str(match self.action {
            Action::Failed => {
                "Your message could not be delivered to one or more recipients.\r\n\
                 It is attached below.\r\n"
            }
            Action::Delayed => {
                "Your message could not be delivered yet to one or more recipients.\r\n\
                 This is only a warning: delivery will be tried again, and you need not\r\n\
                 send the message again.\r\n"
            }
            Action::Delivered | Action::Relayed => {
                "Your message was delivered (or passed on to a system that sends no\r\n\
                 further notifications) for the recipients below.\r\n"
            }
        });
        text.push_str("\r\n");
        for &i in self.recipients {
            if let Some(r) = e.recipients.get(i) {
                match r.last_reply.as_deref().map(field_text) {
                    Some(why) => {
                        let _ = write!(text, "<{}>: {why}\r\n", r.address);
                    }
                    None => {
                        let _ = write!(text, "<{}>\r\n", r.address);
                    }
                }
            }
        }
        text.push_str("\r\n");
        part(
            &mut bytes,
            &boundary,
            "Notification",
            "text/plain; charset=utf-8",
            text.as_bytes(),
        );
        // The machine-readable part (RFC 3464 §2).
        let mut status = format!("Reporting-MTA: dns; {}\r\n", self.reporting_mta);
        if let Some(envid) = &e.envid {
            let _ = write!(status, "Original-Envelope-Id: {}\r\n", decoded(envid));
        }
        if let Some(from) = &e.received_from {
            let _ = write!(status, "Received-From-MTA: {}\r\n", field_text(from));
        }
        let _ = write!(status, "Arrival-Date: {}\r\n", date_time(unix(e.queued_at)));
        for &i in self.recipients {
            if let Some(r) = e.recipients.get(i) {
                self.recipient_fields(&mut status, r);
            }
        }
        status.push_str("\r\n");
        let status_type = if global {
            "message/global-delivery-status"
        } else {
            "message/delivery-status"
        };
        part(
            &mut bytes,
            &boundary,
            "Delivery report",
            status_type,
            status.as_bytes(),
        );
        // The message, or its header (RET, RFC 3461 §4.3). Without RET: the whole message on
        // failure, the header on delay and success.
        // A binary message (a NUL, a bare CR or LF: BINARYMIME) would make the DSN need
        // BINARYMIME of every hop back, which most lack: its header goes instead.
        let full = match e.ret {
            Some(Return::Full) => true,
            Some(Return::Headers) => false,
            None => self.action == Action::Failed,
        } && self.message.len() <= MAX_RETURNED
            && !is_binary(self.message);
        // A notice of success returns the message it is about, not an undelivered one.
        let what = match self.action {
            Action::Failed | Action::Delayed => "Undelivered Message",
            Action::Delivered | Action::Relayed => "Delivered Message",
        };
        let (content_type, description, body) = match (full, global) {
            (true, false) => ("message/rfc822", what.to_owned(), self.message),
            (true, true) => ("message/global", what.to_owned(), self.message),
            (false, false) => (
                "text/rfc822-headers",
                format!("{what} Headers"),
                header_section(self.message),
            ),
            (false, true) => (
                "message/global-headers",
                format!("{what} Headers"),
                header_section(self.message),
            ),
        };
        part(&mut bytes, &boundary, &description, content_type, body);
        if !bytes.ends_with(b"\r\n") {
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        bytes
    }

    /// One per-recipient block (RFC 3464 §2.3).
    fn recipient_fields(&self, out: &mut String, r: &QueuedRecipient) {
        out.push_str("\r\n");
        if let Some(orcpt) = &r.orcpt
            && let Some((kind, addr)) = orcpt.split_once(';')
        {
            let _ = write!(out, "Original-Recipient: {kind}; {}\r\n", decoded(addr));
        }
        // A UTF-8 address is of type `utf-8` (RFC 6533 §3), an ASCII one stays `rfc822`.
        let kind = if self.global() && !r.address.is_ascii() {
            "utf-8"
        } else {
            "rfc822"
        };
        let _ = write!(out, "Final-Recipient: {kind}; {}\r\n", r.address);
        let _ = write!(out, "Action: {}\r\n", self.action.as_str());
        let status = r.status.clone().unwrap_or_else(|| {
            match self.action {
                Action::Failed => "5.0.0",
                Action::Delayed => "4.0.0",
                Action::Delivered | Action::Relayed => "2.0.0",
            }
            .to_owned()
        });
        let _ = write!(out, "Status: {status}\r\n");
        if let Some(mta) = &r.remote_mta {
            let _ = write!(out, "Remote-MTA: dns; {}\r\n", field_text(mta));
        }
        if let Some(reply) = &r.last_reply {
            // A reply from a peer is an SMTP diagnostic (RFC 3464 §2.3.6); our own words are
            // "X-Sansmail", also those that start with the peer's address.
            let kind = if r.remote_mta.is_some() && is_smtp_reply(reply) {
                "smtp"
            } else {
                "x-sansmail"
            };
            let _ = write!(out, "Diagnostic-Code: {kind}; {}\r\n", field_text(reply));
        }
        if let Some(t) = self.entry.last_attempt {
            let _ = write!(out, "Last-Attempt-Date: {}\r\n", date_time(unix(t)));
        }
        if let (Action::Delayed, Some(until)) = (self.action, self.retry_until) {
            let _ = write!(out, "Will-Retry-Until: {}\r\n", date_time(until));
        }
    }
}

/// Whether `text` is an SMTP reply: a `Reply-code` (RFC 5321 §4.2) then SP, `-` or nothing.
fn is_smtp_reply(text: &str) -> bool {
    matches!(
        text.as_bytes(),
        [b'2'..=b'5', b'0'..=b'9', b'0'..=b'9']
            | [b'2'..=b'5', b'0'..=b'9', b'0'..=b'9', b' ' | b'-', ..]
    )
}

/// One body part: its boundary line, header and `body`. A body with 8-bit octets says so
/// (RFC 2045 §6.2: 7bit is assumed otherwise; RFC 2046 §5.2.1 allows no other encoding of
/// a message part), so the queue declares `BODY=8BITMIME` for the DSN.
fn part(out: &mut Vec<u8>, boundary: &str, description: &str, content_type: &str, body: &[u8]) {
    let encoding = if body.is_ascii() {
        ""
    } else {
        "Content-Transfer-Encoding: 8bit\r\n"
    };
    out.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Description: {description}\r\n\
             Content-Type: {content_type}\r\n{encoding}\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
}

/// Whether `data` holds a NUL or a bare CR or LF: what only BINARYMIME carries.
pub(super) fn is_binary(data: &[u8]) -> bool {
    data.iter().enumerate().any(|(i, &b)| {
        b == 0
            || b == b'\r' && data.get(i + 1) != Some(&b'\n')
            || b == b'\n' && (i == 0 || data[i - 1] != b'\r')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::queue::{Notify, RecipientState};

    fn entry() -> QueueEntry {
        let mut a = QueuedRecipient::new("bob@example.net");
        a.state = RecipientState::Failed;
        a.status = Some("5.1.1".into());
        a.last_reply = Some("550 5.1.1 <bob@example.net>: no such user".into());
        a.remote_mta = Some("mx.example.net".into());
        a.orcpt = Some("rfc822;bob+2Bx@example.net".into());
        let mut b = QueuedRecipient::new("carol@example.net");
        b.notify = Some(Notify::NEVER);
        let mut e = QueueEntry::new("alice@example.org", vec![a, b]);
        e.id = "abc123".into();
        e.envid = Some("QQ+2B314".into());
        e.received_from = Some("dns; client.example ([192.0.2.1])".into());
        e.last_attempt = Some(1_796_413_804);
        e
    }

    /// A report by `mail.example.org` on `recipients` of `entry`, without a retry date.
    fn report<'a>(
        entry: &'a QueueEntry,
        message: &'a [u8],
        action: Action,
        recipients: &'a [usize],
    ) -> Report<'a> {
        Report {
            reporting_mta: "mail.example.org",
            entry,
            message,
            action,
            recipients,
            retry_until: None,
        }
    }

    const MESSAGE: &[u8] = b"Received: from x\r\nSubject: hello\r\n\r\nbody line\r\n";

    /// A failure DSN returns a binary message's header only: with its octets the DSN would
    /// need BINARYMIME of every hop back to the sender, and most have none.
    #[test]
    fn a_binary_message_is_returned_as_its_header() {
        let e = entry();
        let binary = b"Subject: bin\r\n\r\nraw\x00octets\nhere\r\n";
        let report = report(&e, binary, Action::Failed, &[0]);
        let dsn = report.build(UNIX_EPOCH + Duration::from_secs(1_796_413_804));
        assert!(!is_binary(&dsn), "{}", String::from_utf8_lossy(&dsn));
        let text = String::from_utf8_lossy(&dsn);
        assert!(text.contains("text/rfc822-headers"), "{text}");
        assert!(
            text.contains("Subject: bin") && !text.contains("octets"),
            "{text}"
        );
    }

    #[test]
    fn failure_report_has_every_rfc_3464_field() {
        let e = entry();
        let report = report(&e, MESSAGE, Action::Failed, &[0]);
        let dsn = String::from_utf8(report.build(UNIX_EPOCH + Duration::from_secs(1_796_413_804)))
            .unwrap();
        assert!(dsn.contains("To: <alice@example.org>\r\n"), "{dsn}");
        assert!(
            dsn.contains(
                "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\""
            ),
            "{dsn}"
        );
        assert!(dsn.contains("Auto-Submitted: auto-replied\r\n"));
        for field in [
            "Reporting-MTA: dns; mail.example.org\r\n",
            "Original-Envelope-Id: QQ+314\r\n",
            "Received-From-MTA: dns; client.example ([192.0.2.1])\r\n",
            "Original-Recipient: rfc822; bob+x@example.net\r\n",
            "Final-Recipient: rfc822; bob@example.net\r\n",
            "Action: failed\r\n",
            "Status: 5.1.1\r\n",
            "Remote-MTA: dns; mx.example.net\r\n",
            "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: no such user\r\n",
            "Last-Attempt-Date: Fri, 04 Dec 2026 19:50:04 +0000\r\n",
        ] {
            assert!(dsn.contains(field), "missing {field:?} in\n{dsn}");
        }
        assert!(!dsn.contains("carol"), "only the recipients asked for");
        // All ASCII: no part declares an encoding (7bit is the default).
        assert!(!dsn.contains("Content-Transfer-Encoding"), "{dsn}");
        // No RET: the whole message comes back with a failure.
        assert!(dsn.contains("Content-Type: message/rfc822\r\n\r\nReceived: from x\r\nSubject: hello\r\n\r\nbody line\r\n"), "{dsn}");
        assert!(dsn.ends_with("--\r\n"));
        // Every line within the SMTP limit, every line CRLF-ended.
        assert!(
            dsn.split("\r\n")
                .all(|l| l.len() <= 998 && !l.contains('\n'))
        );
    }

    #[test]
    fn ret_hdrs_and_delay() {
        let mut e = entry();
        e.ret = Some(Return::Headers);
        e.recipients[0].state = RecipientState::Pending;
        e.recipients[0].status = Some("4.4.1".into());
        e.recipients[0].last_reply = Some("connection refused".into());
        e.recipients[0].remote_mta = None;
        let report = Report {
            retry_until: Some(UNIX_EPOCH + Duration::from_secs(1_796_413_804)),
            ..report(&e, MESSAGE, Action::Delayed, &[0])
        };
        let dsn = String::from_utf8(report.build(SystemTime::now())).unwrap();
        assert!(
            dsn.contains("Action: delayed\r\nStatus: 4.4.1\r\n"),
            "{dsn}"
        );
        assert!(dsn.contains("Diagnostic-Code: x-sansmail; connection refused\r\n"));
        // Our own words about a peer named by its address are ours, not its reply.
        assert!(is_smtp_reply("550 5.1.1 no such user") && is_smtp_reply("421"));
        assert!(!is_smtp_reply(
            "127.0.0.1 does not offer 8BITMIME, which this message needs"
        ));
        assert!(!is_smtp_reply("192 hosts"));
        assert!(dsn.contains("Will-Retry-Until: Fri, 04 Dec 2026 19:50:04 +0000\r\n"));
        assert!(dsn.contains(
            "Content-Type: text/rfc822-headers\r\n\r\nReceived: from x\r\nSubject: hello\r\n\r\n"
        ));
        assert!(!dsn.contains("body line"), "RET=HDRS returns no body");
    }

    /// A notice of success names its recipients without a reason and returns the message
    /// as delivered, not as undelivered.
    #[test]
    fn a_success_notice_says_delivered() {
        let mut e = entry();
        e.recipients[0].state = RecipientState::Delivered;
        e.recipients[0].last_reply = None;
        let report = report(&e, MESSAGE, Action::Delivered, &[0]);
        let dsn = String::from_utf8(report.build(SystemTime::now())).unwrap();
        let address = &e.recipients[0].address;
        assert!(dsn.contains(&format!("\r\n<{address}>\r\n")), "{dsn}");
        assert!(
            dsn.contains("Content-Description: Delivered Message Headers\r\n"),
            "{dsn}"
        );
        assert!(!dsn.contains("Undelivered"), "{dsn}");
    }

    /// A message that came with SMTPUTF8 is reported in the internationalized forms of
    /// RFC 6533, its UTF-8 recipient with the `utf-8` address type.
    #[test]
    fn an_smtputf8_message_gets_a_global_report() {
        let mut e = entry();
        e.smtputf8 = true;
        e.recipients[1] = QueuedRecipient::new("jos\u{e9}@exampl\u{e9}.net");
        let message = "Subject: caf\u{e9}\r\n\r\nbody\r\n";
        let build = |e: &QueueEntry| {
            let report = report(e, message.as_bytes(), Action::Failed, &[0, 1]);
            String::from_utf8(report.build(SystemTime::now())).unwrap()
        };
        let dsn = build(&e);
        for field in [
            "report-type=delivery-status",
            "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n",
            "Final-Recipient: rfc822; bob@example.net\r\n",
            "Final-Recipient: utf-8; jos\u{e9}@exampl\u{e9}.net\r\n",
            "Content-Type: message/global\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: caf\u{e9}\r\n\r\nbody\r\n",
        ] {
            assert!(dsn.contains(field), "missing {field:?} in\n{dsn}");
        }
        assert!(!dsn.contains("message/rfc822") && !dsn.contains("message/delivery-status"));
        e.ret = Some(Return::Headers);
        let dsn = build(&e);
        assert!(
            dsn.contains("Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: caf\u{e9}\r\n\r\n")
                && !dsn.contains("body\r\n"),
            "{dsn}"
        );
        // Without SMTPUTF8, the forms of RFC 3464 as before.
        e.smtputf8 = false;
        assert!(build(&e).contains("Content-Type: text/rfc822-headers\r\n"));
    }

    #[test]
    fn nothing_injected_from_the_peer() {
        let mut e = entry();
        e.recipients[0].last_reply = Some("550 bad\r\nBcc: x@evil.example".into());
        let report = report(&e, MESSAGE, Action::Failed, &[0]);
        let dsn = String::from_utf8(report.build(SystemTime::now())).unwrap();
        assert!(!dsn.contains("\r\nBcc:"), "{dsn}");
    }
}
