//! IMAP URLs that name a message or a part of one (RFC 5092), as CATENATE (RFC 4469) and
//! URLAUTH use them, parsed into their pieces. Resolving one against a store is the
//! server's; this module only says what the URL names.
//!
//! ```text
//! imapurl       = "imap://" iserver ipath-query
//! iserver       = [iuserinfo "@"] host [":" port]
//! iuserinfo     = enc-user [iauth] / [enc-user] iauth
//! imessagepart  = icommand = imailbox-ref "/" iuid-only ["/" isection-only]
//!                 ["/" ipartial-only]
//! imailbox-ref  = enc-mailbox [uidvalidity]
//! uidvalidity   = ";UIDVALIDITY=" nz-number
//! iuid-only     = ";UID=" nz-number
//! isection-only = ";SECTION=" enc-section
//! ipartial-only = ";PARTIAL=" partial-range
//! partial-range = number ["." nz-number]
//! ```
//!
//! Besides the absolute form, the two relative forms a client sends to the server it is
//! talking to: an absolute path (`/INBOX;UIDVALIDITY=7/;UID=20`) and one relative to the
//! selected mailbox (`;UID=20/;SECTION=1.2`), whose [`MessageUrl::mailbox`] is `None`.
//!
//! URLAUTH (RFC 4467) adds an expiry, an access identifier and a token to the absolute form:
//! [`parse_auth_url`] reads them, [`internal_token`] computes the `INTERNAL` mechanism's token.

use std::fmt;

use crate::types::section::Section;

pub use self::auth::{AuthUrl, UrlAccess, Verifier, is_mechanism, parse_auth_url};
pub use self::token::{INTERNAL, internal_token, verify_internal_token};

mod auth;
mod token;

/// What a message URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageUrl {
    /// The user of `imap://user@host/...`, when given.
    pub user: Option<String>,
    /// The mailbox (UTF-8, percent-decoding undone); `None` for the selected one.
    pub mailbox: Option<String>,
    /// The UIDVALIDITY the URL was made under, when given.
    pub uid_validity: Option<u32>,
    /// The message.
    pub uid: u32,
    /// The section, as in `BODY[...]` (`1.2`, `HEADER`, `1.MIME`, `HEADER.FIELDS (TO)`).
    pub section: Option<String>,
    /// `<offset.length>` of the named octets; length `None` for the rest.
    pub partial: Option<(u64, Option<u64>)>,
}

impl MessageUrl {
    /// The section as a FETCH would name it (`BODY[...]`); the whole message without one.
    pub fn body_section(&self) -> Result<Section<'static>, UrlError> {
        let Some(spec) = &self.section else {
            return Ok(Section::default());
        };
        let bracketed = format!("[{spec}]");
        match crate::codec::core::section(bracketed.as_bytes()) {
            Ok(([], section)) => Ok(section.into_owned()),
            _ => Err(UrlError("a section that is no section-spec")),
        }
    }
}

/// Why a string is not a message URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(&'static str);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an IMAP message URL: {}", self.0)
    }
}

impl std::error::Error for UrlError {}

/// `%HH` escapes undone; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(UrlError("a cut %-escape"))?;
            let hex = std::str::from_utf8(hex).map_err(|_| UrlError("a bad %-escape"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError("a bad %-escape"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError("not UTF-8 once decoded"))
}

/// `;NAME=value` with NAME matched case-insensitively.
fn param<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    param_value(s.strip_prefix(';')?, name)
}

/// `NAME=value` with NAME matched case-insensitively.
fn param_value<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let (key, value) = s.split_once('=')?;
    key.eq_ignore_ascii_case(name).then_some(value)
}

fn nz_number(s: &str) -> Result<u32, UrlError> {
    match s.parse::<u32>() {
        Ok(n) if n > 0 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(UrlError("a number that is not a positive 32-bit number")),
    }
}

fn number64(s: &str) -> Result<u64, UrlError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError("a partial range that is not numbers"));
    }
    s.parse().map_err(|_| UrlError("a partial range too large"))
}

/// Parses an IMAP URL naming a message or a part of one: absolute (`imap://...`), an
/// absolute path (`/mailbox...`) or relative to the selected mailbox (`;UID=...`).
pub fn parse_message_url(url: &str) -> Result<MessageUrl, UrlError> {
    let mut user = None;
    let path = if let Some(rest) = strip_prefix_ignore_case(url, "imap://") {
        let (server, path) = rest
            .split_once('/')
            .ok_or(UrlError("no message after the server"))?;
        if let Some((userinfo, _host)) = server.rsplit_once('@') {
            let enc_user = userinfo.split(';').next().unwrap_or_default();
            if !enc_user.is_empty() {
                user = Some(percent_decode(enc_user)?);
            }
        }
        path
    } else if let Some(path) = url.strip_prefix('/') {
        path
    } else {
        url
    };
    let mut pieces = path.split('/');
    let first = pieces.next().unwrap_or_default();
    // The mailbox reference, unless the URL starts at `;UID=` (relative).
    let (mailbox, uid_validity, uid_piece) = if param(first, "UID").is_some() {
        if url.starts_with('/') || user.is_some() || url.contains("://") {
            return Err(UrlError("no mailbox"));
        }
        (None, None, first)
    } else {
        // `enc-mailbox = 1*bchar` holds `/` too (RFC 5092 §11): the mailbox runs over the
        // path's segments up to the one with a `;` (`;UIDVALIDITY=` ends the last of them,
        // `;UID=` starts the next piece), as Dovecot reads it.
        let mut end = first.len();
        let mut rest = path.get(first.len()..).unwrap_or_default();
        if !first.contains(';') {
            while let Some(next) = rest.strip_prefix('/') {
                let segment = next.split('/').next().unwrap_or_default();
                if segment.is_empty() || segment.starts_with(';') {
                    break;
                }
                end += 1 + segment.len();
                pieces.next();
                rest = &next[segment.len()..];
                if segment.contains(';') {
                    break;
                }
            }
        }
        let first = &path[..end];
        let (enc_mailbox, validity) = match first.find(';') {
            Some(i) => (&first[..i], Some(&first[i..])),
            None => (first, None),
        };
        if enc_mailbox.is_empty() {
            return Err(UrlError("an empty mailbox name"));
        }
        let uid_validity = match validity {
            None => None,
            Some(v) => Some(nz_number(
                param(v, "UIDVALIDITY").ok_or(UrlError("something other than UIDVALIDITY"))?,
            )?),
        };
        let uid_piece = pieces.next().ok_or(UrlError("no ;UID="))?;
        (Some(percent_decode(enc_mailbox)?), uid_validity, uid_piece)
    };
    // `;UID=n` then `;SECTION=` and `;PARTIAL=`, each after a `/` as RFC 5092 writes them
    // or straight after the UID as RFC 4469's own example does.
    let pieces: Vec<&str> = std::iter::once(uid_piece).chain(pieces).collect();
    if pieces.iter().any(|p| !p.starts_with(';')) {
        return Err(UrlError("a path piece that is no ;NAME=value"));
    }
    let mut params = pieces.iter().flat_map(|piece| piece.split(';').skip(1));
    let uid = match params.next() {
        Some(p) => nz_number(param_value(p, "UID").ok_or(UrlError("no ;UID="))?)?,
        None => return Err(UrlError("no ;UID=")),
    };
    let mut section = None;
    let mut partial = None;
    for p in params {
        if let Some(s) = param_value(p, "SECTION") {
            if section.is_some() || partial.is_some() {
                return Err(UrlError("SECTION out of order"));
            }
            section = Some(percent_decode(s)?);
        } else if let Some(p) = param_value(p, "PARTIAL") {
            if partial.is_some() {
                return Err(UrlError("PARTIAL twice"));
            }
            partial = Some(match p.split_once('.') {
                Some((offset, len)) => {
                    let len = number64(len)?;
                    if len == 0 {
                        return Err(UrlError("a partial range of length 0"));
                    }
                    (number64(offset)?, Some(len))
                }
                None => (number64(p)?, None),
            });
        } else {
            return Err(UrlError(
                "something other than SECTION or PARTIAL after the UID",
            ));
        }
    }
    Ok(MessageUrl {
        user,
        mailbox,
        uid_validity,
        uid,
        section,
        partial,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(
        mailbox: Option<&str>,
        uid_validity: Option<u32>,
        uid: u32,
        section: Option<&str>,
        partial: Option<(u64, Option<u64>)>,
    ) -> MessageUrl {
        MessageUrl {
            user: None,
            mailbox: mailbox.map(str::to_owned),
            uid_validity,
            uid,
            section: section.map(str::to_owned),
            partial,
        }
    }

    #[test]
    fn the_three_forms() {
        // RFC 4469's example writes ;section= straight after the UID.
        assert_eq!(
            parse_message_url("/INBOX;UIDVALIDITY=785799047/;UID=113330;section=1.5.9").unwrap(),
            url(
                Some("INBOX"),
                Some(785_799_047),
                113_330,
                Some("1.5.9"),
                None
            )
        );
        assert_eq!(
            parse_message_url("/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9").unwrap(),
            url(
                Some("INBOX"),
                Some(785_799_047),
                113_330,
                Some("1.5.9"),
                None
            )
        );
        let mut absolute = url(
            Some("Drafts/Old"),
            None,
            20,
            Some("HEADER"),
            Some((0, Some(1024))),
        );
        absolute.user = Some("fred smith".to_owned());
        assert_eq!(
            parse_message_url(
                "imap://fred%20smith;AUTH=*@mail.example.org:143/Drafts%2FOld/;UID=20/;SECTION=HEADER/;PARTIAL=0.1024"
            )
            .unwrap(),
            absolute
        );
        assert_eq!(
            parse_message_url(";UID=7/;SECTION=HEADER.FIELDS%20(TO%20FROM)").unwrap(),
            url(None, None, 7, Some("HEADER.FIELDS (TO FROM)"), None)
        );
        assert_eq!(
            parse_message_url("/Gr%C3%BC%C3%9Fe/;uid=3/;partial=10").unwrap(),
            url(Some("Grüße"), None, 3, None, Some((10, None)))
        );
        // A `/` unencoded in the mailbox (RFC 5092 §11 `bchar`), as Dovecot writes them.
        assert_eq!(
            parse_message_url("/Lists/rust/;UID=3").unwrap(),
            url(Some("Lists/rust"), None, 3, None, None)
        );
        let mut nested = url(Some("a/b/c"), Some(7), 1, Some("1"), None);
        nested.user = Some("fred".to_owned());
        assert_eq!(
            parse_message_url("imap://fred@h/a/b/c;UIDVALIDITY=7/;UID=1/;SECTION=1").unwrap(),
            nested
        );
    }

    #[test]
    fn sections_read_as_fetch_reads_them() {
        let s = |u: &str| parse_message_url(u).unwrap().body_section();
        assert_eq!(s(";UID=1").unwrap(), Section::default());
        let part = s(";UID=1/;SECTION=1.2.MIME").unwrap();
        assert_eq!(part.part, [1, 2]);
        assert_eq!(part.text, Some(crate::types::section::SectionText::Mime));
        assert!(s(";UID=1/;SECTION=HEADER.FIELDS%20(TO)").is_ok());
        assert!(s(";UID=1/;SECTION=1.]").is_err());
        assert!(s(";UID=1/;SECTION=BOGUS").is_err());
    }

    #[test]
    fn what_is_refused() {
        for bad in [
            "",
            "/INBOX",
            "/INBOX/;UID=0",
            "/INBOX/;UID=x",
            "/;UID=3",
            "/INBOX/;UID=3/;PARTIAL=1.0",
            "/INBOX/;UID=3/;PARTIAL=.5",
            "/INBOX/;UID=3/;PARTIAL=1/;SECTION=1",
            "/INBOX/;UID=3/;FOO=1",
            "/IN%ZZBOX/;UID=3",
            "/IN%FFBOX/;UID=3",
            "imap://host",
            "imap://host/;UID=3",
            "/;UID=3/x",
            "/INBOX/;UID=3/x",
            "/INBOX/;UID=3;;SECTION=1",
        ] {
            assert!(parse_message_url(bad).is_err(), "{bad:?} accepted");
        }
    }
}
