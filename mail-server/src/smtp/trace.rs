//! Trace fields a receiving server prepends to each message it delivers (RFC 5321 §4.4):
//! `Return-Path:` with the envelope sender, and `Received:` saying from whom, by whom, with
//! which protocol (RFC 3848's `ESMTPSA` and kin) and when.

use std::{
    borrow::Cow,
    fmt::Write as _,
    net::IpAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use sansmail_store::date::Day;

/// How the message came in, for `with` (RFC 3848).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Protocol {
    /// LMTP rather than SMTP.
    pub lmtp: bool,
    /// The client said EHLO/LHLO (ESMTP) rather than HELO.
    pub extended: bool,
    /// Over TLS.
    pub tls: bool,
    /// The client authenticated.
    pub authenticated: bool,
    /// The transaction used SMTPUTF8 (RFC 6531 §4.3: `UTF8SMTP`, `UTF8LMTP` and their
    /// `S`/`A` forms).
    pub smtputf8: bool,
}

impl Protocol {
    /// `SMTP`, `ESMTP`, `ESMTPS`, `ESMTPA`, `ESMTPSA`, `LMTP`, `LMTPS`, `LMTPA`, `LMTPSA`
    /// (RFC 3848), or with SMTPUTF8 `UTF8SMTP`, `UTF8LMTP` and their `S`/`A` forms (RFC 6531
    /// §4.3).
    fn keyword(self) -> String {
        let mut k = String::from(match (self.lmtp, self.extended, self.smtputf8) {
            (true, _, true) => "UTF8LMTP",
            (true, _, false) => "LMTP",
            (false, true, true) => "UTF8SMTP",
            (false, true, false) => "ESMTP",
            (false, false, _) => "SMTP",
        });
        // RFC 3848 has no SMTPS/SMTPA: those need ESMTP.
        if self.lmtp || self.extended {
            if self.tls {
                k.push('S');
            }
            if self.authenticated {
                k.push('A');
            }
        }
        k
    }
}

/// `fields` (from [`Trace::fields`]) with `Delivered-To: address` after its `Return-Path:`,
/// where Dovecot's LMTP and Postfix's local delivery put it; unchanged for an empty address.
pub(super) fn with_delivered_to<'a>(fields: &'a str, address: &str) -> Cow<'a, str> {
    if address.is_empty() {
        return Cow::Borrowed(fields);
    }
    let (return_path, rest) = fields.split_once("\r\n").unwrap_or((fields, ""));
    Cow::Owned(format!(
        "{return_path}\r\nDelivered-To: {address}\r\n{rest}"
    ))
}

/// `fields` (from [`Trace::fields`]) with `results` (whole header fields, CRLF-ended) after
/// its `Return-Path:`: above this server's `Received:`, as a field added after it.
pub(super) fn with_results(fields: &str, results: &str) -> String {
    let (return_path, rest) = fields.split_once("\r\n").unwrap_or((fields, ""));
    format!("{return_path}\r\n{results}{rest}")
}

/// What a `Received:` field says.
#[derive(Debug)]
pub(super) struct Trace<'a> {
    /// The name the client gave in HELO/EHLO/LHLO.
    pub helo: Option<&'a str>,
    /// The client's address.
    pub peer: IpAddr,
    /// This server's name.
    pub hostname: &'a str,
    /// How the message came in.
    pub protocol: Protocol,
    /// The envelope sender, as written (`<a@example.org>` or `<>`).
    pub reverse_path: &'a str,
    /// The recipient, when there is exactly one (naming several would tell each the others).
    pub for_recipient: Option<&'a str>,
}

impl Trace<'_> {
    /// `Return-Path:` and `Received:`, each line ended with CRLF, folded under 78 octets.
    pub(super) fn fields(&self, now: SystemTime) -> String {
        let mut out = String::new();
        let _ = write!(out, "Return-Path: {}\r\n", self.reverse_path);
        let literal = match self.peer.to_canonical() {
            IpAddr::V4(v4) => format!("[{v4}]"),
            IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
        };
        let from = match self.helo {
            Some(helo) => {
                client_name(helo, self.protocol.smtputf8).unwrap_or(Cow::Borrowed(&literal))
            }
            None => Cow::Borrowed("unknown"),
        };
        let _ = write!(
            out,
            "Received: from {from} ({literal})\r\n\tby {} (sansmail) with {} id {}",
            self.hostname,
            self.protocol.keyword(),
            message_id(now),
        );
        if let Some(rcpt) = self.for_recipient {
            let _ = write!(out, "\r\n\tfor {rcpt}");
        }
        let _ = write!(out, ";\r\n\t{}\r\n", date_time(now));
        out
    }
}

/// The client's HELO name as a trace field may carry it: U-labels only in a message sent
/// with SMTPUTF8 (RFC 6531 §3.7.3), A-labels otherwise; `None` for a name that has no
/// A-label form.
pub(super) fn client_name(helo: &str, smtputf8: bool) -> Option<Cow<'_, str>> {
    if helo.is_ascii() || smtputf8 {
        return Some(Cow::Borrowed(helo));
    }
    idna::domain_to_ascii(helo).ok().map(Cow::Owned)
}

/// What a submission server adds to a message whose header section, `header`, lacks them:
/// `Date:` (RFC 6409 §8.3; RFC 5322 §3.6 requires it) and `Message-ID:` (§8.4), the latter
/// unique with this process and `host`.
pub(super) fn missing_fields(header: &[u8], host: &str, now: SystemTime) -> String {
    let lacks = |name: &[u8]| sansmail_store::headers::header_values(header, name).is_empty();
    let mut out = String::new();
    if lacks(b"Date") {
        let _ = write!(out, "Date: {}\r\n", date_time(now));
    }
    if lacks(b"Message-ID") {
        let id = message_id(now);
        let _ = write!(out, "Message-ID: <{id}.{}@{host}>\r\n", std::process::id());
    }
    out
}

/// An id for the `Received:` field, unique within this process and over time.
fn message_id(now: SystemTime) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "{:x}{:05x}",
        since.as_secs(),
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xF_FFFF
    )
}

/// `date-time` (RFC 5322 §3.3) in UTC: `Fri, 04 Dec 2026 19:50:04 +0000`.
pub(crate) fn date_time(now: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let Some(day) = Day::from_days_since_epoch(days) else {
        return "Thu, 01 Jan 1970 00:00:00 +0000".to_owned();
    };
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::from(day.month().clamp(1, 12) - 1)];
    format!(
        "{weekday}, {:02} {month} {} {:02}:{:02}:{:02} +0000",
        day.day(),
        day.year(),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dates_are_rfc_5322() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_413_804); // 2026-12-04 19:50:04 UTC
        assert_eq!(date_time(t), "Fri, 04 Dec 2026 19:50:04 +0000");
        assert_eq!(date_time(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(date_time(leap), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn a_submission_gets_date_and_message_id_if_it_lacks_them() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_413_804);
        let added = missing_fields(b"Subject: x\r\n", "mx.example", t);
        let (date, id) = added.split_once("\r\nMessage-ID: <").unwrap();
        assert_eq!(date, "Date: Fri, 04 Dec 2026 19:50:04 +0000");
        assert!(id.ends_with("@mx.example>\r\n"), "{added}");
        assert_ne!(added, missing_fields(b"Subject: x\r\n", "mx.example", t));
        let complete = b"date: Fri, 04 Dec 2026 19:50:04 +0000\r\nMessage-Id: <a@b>\r\n";
        assert_eq!(missing_fields(complete, "mx.example", t), "");
    }

    #[test]
    fn protocol_keywords_follow_rfc_3848() {
        let p = |lmtp, extended, tls, authenticated| {
            Protocol {
                lmtp,
                extended,
                tls,
                authenticated,
                smtputf8: false,
            }
            .keyword()
        };
        assert_eq!(p(false, false, false, false), "SMTP");
        assert_eq!(p(false, false, true, true), "SMTP");
        assert_eq!(p(false, true, false, false), "ESMTP");
        assert_eq!(p(false, true, true, false), "ESMTPS");
        assert_eq!(p(false, true, false, true), "ESMTPA");
        assert_eq!(p(false, true, true, true), "ESMTPSA");
        assert_eq!(p(true, true, true, false), "LMTPS");
        let utf8 = |lmtp, tls, authenticated| {
            Protocol {
                lmtp,
                extended: true,
                tls,
                authenticated,
                smtputf8: true,
            }
            .keyword()
        };
        assert_eq!(utf8(false, false, false), "UTF8SMTP");
        assert_eq!(utf8(false, true, true), "UTF8SMTPSA");
        assert_eq!(utf8(true, false, true), "UTF8LMTPA");
    }

    #[test]
    fn fields_name_the_client_and_one_recipient() {
        let t = Trace {
            helo: Some("client.example"),
            peer: "192.0.2.7".parse().unwrap(),
            hostname: "mx.example.org",
            protocol: Protocol {
                lmtp: false,
                extended: true,
                tls: true,
                authenticated: false,
                smtputf8: false,
            },
            reverse_path: "<a@example.net>",
            for_recipient: Some("<b@example.org>"),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_796_413_804);
        let f = t.fields(now);
        assert!(f.starts_with("Return-Path: <a@example.net>\r\nReceived: from client.example ([192.0.2.7])\r\n\tby mx.example.org (sansmail) with ESMTPS id "), "{f}");
        assert!(
            f.ends_with("\r\n\tfor <b@example.org>;\r\n\tFri, 04 Dec 2026 19:50:04 +0000\r\n"),
            "{f}"
        );
        assert!(f.lines().all(|l| l.len() < 78), "{f}");
        let v6 = Trace {
            peer: "::1".parse().unwrap(),
            for_recipient: None,
            helo: None,
            ..t
        };
        let f = v6.fields(now);
        assert!(f.contains("from unknown ([IPv6:::1])"), "{f}");
        assert!(!f.contains("for "), "{f}");
    }
}
