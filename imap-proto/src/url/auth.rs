//! URLAUTH-authorized URLs (RFC 4467 §3, RFC 5092 §11): an absolute message URL with an
//! expiry, an access identifier and, once authorized, a mechanism and a token.
//!
//! ```text
//! authimapurl      = "imap://" enc-user [iauth] "@" hostport "/" imessagepart
//! authimapurlfull  = authimapurl iurlauth
//! authimapurlrump  = authimapurl iurlauth-rump
//! iurlauth         = iurlauth-rump iua-verifier
//! iurlauth-rump    = [expire] ";URLAUTH=" access
//! iua-verifier     = ":" uauth-mechanism ":" enc-urlauth
//! expire           = ";EXPIRE=" date-time          ; RFC 3339
//! access           = ("submit+" enc-user) / ("user+" enc-user) / "authuser" / "anonymous"
//! uauth-mechanism  = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".")
//! enc-urlauth      = 32*HEXDIG
//! ```

use super::{MessageUrl, UrlError, parse_message_url, percent_decode, strip_prefix_ignore_case};
use crate::types::datetime::days_from_civil;

/// Who may fetch a URLAUTH-authorized URL (`access`, RFC 4467 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UrlAccess {
    /// `submit+user`: the message submission server acting for `user`.
    Submit(String),
    /// `user+user`: only `user`, logged in to this server.
    User(String),
    /// `authuser`: any user logged in to this server.
    AuthUser,
    /// `anonymous`: anyone, logged in or not.
    Anonymous,
}

/// A URL of RFC 4467: the rump (`authimapurlrump`), or the full URL with its verifier
/// (`authimapurlfull`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUrl {
    /// The message the URL names; its `user` (the owner of the access key) and `mailbox` are
    /// always present.
    pub message: MessageUrl,
    /// `hostport`, as written.
    pub host: String,
    /// `;EXPIRE=`: the end of the URL's validity, in seconds since the Unix epoch (UTC).
    pub expire: Option<i64>,
    /// `;URLAUTH=`: who may fetch it.
    pub access: UrlAccess,
    /// `:mechanism:token`, on a full URL.
    pub verifier: Option<Verifier>,
    /// The URL as given.
    text: String,
    /// Where the rump ends in `text`.
    rump_len: usize,
}

/// `iua-verifier = ":" uauth-mechanism ":" enc-urlauth`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Verifier {
    /// `uauth-mechanism`, as written.
    pub mechanism: String,
    /// `enc-urlauth`: the token, at least 32 hexadecimal digits.
    pub token: String,
}

impl AuthUrl {
    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The rump: everything before `:mechanism:token`, what the token authorizes
    /// (RFC 4467 §7).
    pub fn rump(&self) -> &str {
        &self.text[..self.rump_len]
    }

    /// The owner of the access key: the URL's user.
    pub fn owner(&self) -> &str {
        self.message.user.as_deref().unwrap_or_default()
    }

    /// The owner's mailbox the URL names.
    pub fn mailbox(&self) -> &str {
        self.message.mailbox.as_deref().unwrap_or_default()
    }

    /// Whether `;EXPIRE=` has passed at `now` (seconds since the Unix epoch).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expire.is_some_and(|t| now >= t)
    }

    /// The full URL: this URL's rump authorized with `mechanism` and `token`.
    pub fn authorized(&self, mechanism: &str, token: &str) -> String {
        format!("{}:{mechanism}:{token}", self.rump())
    }
}

/// Whether `s` is a `uauth-mechanism`: `1*(ALPHA / DIGIT / "-" / ".")`.
pub fn is_mechanism(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
}

/// Parses a URL of RFC 4467, rump or full: `authimapurlrump` / `authimapurlfull`.
pub fn parse_auth_url(url: &str) -> Result<AuthUrl, UrlError> {
    let after_scheme =
        strip_prefix_ignore_case(url, "imap://").ok_or(UrlError("not an absolute imap:// URL"))?;
    let (server, _) = after_scheme
        .split_once('/')
        .ok_or(UrlError("no message after the server"))?;
    let host = match server.rsplit_once('@') {
        Some((_, host)) if !host.is_empty() => host.to_owned(),
        _ => return Err(UrlError("no user@ before the host")),
    };
    let upper = url.to_ascii_uppercase();
    let at = upper.rfind(";URLAUTH=").ok_or(UrlError("no ;URLAUTH="))?;
    let authorization = &url[at + ";URLAUTH=".len()..];
    let (access, verifier) = match authorization.split_once(':') {
        None => (authorization, None),
        Some((access, verifier)) => (access, Some(iua_verifier(verifier)?)),
    };
    let rump_len = at + ";URLAUTH=".len() + access.len();
    let access = access_id(access)?;
    let (message_end, expire) = match upper[..at].rfind(";EXPIRE=") {
        Some(e) => (e, Some(rfc3339_date_time(&url[e + ";EXPIRE=".len()..at])?)),
        None => (at, None),
    };
    let message = parse_message_url(&url[..message_end])?;
    if message.user.is_none() {
        return Err(UrlError("no user@ before the host"));
    }
    Ok(AuthUrl {
        message,
        host,
        expire,
        access,
        verifier: verifier.map(|(mechanism, token)| Verifier {
            mechanism: mechanism.to_owned(),
            token: token.to_owned(),
        }),
        text: url.to_owned(),
        rump_len,
    })
}

/// `uauth-mechanism ":" enc-urlauth`, after the first `:`.
fn iua_verifier(s: &str) -> Result<(&str, &str), UrlError> {
    let (mechanism, token) = s
        .split_once(':')
        .ok_or(UrlError("a verifier without :token"))?;
    if !is_mechanism(mechanism) {
        return Err(UrlError(
            "a mechanism that is not 1*(ALPHA / DIGIT / - / .)",
        ));
    }
    if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UrlError("a token that is not 32 or more hex digits"));
    }
    Ok((mechanism, token))
}

/// `access = ("submit+" enc-user) / ("user+" enc-user) / "authuser" / "anonymous"`
fn access_id(s: &str) -> Result<UrlAccess, UrlError> {
    let user = |enc: &str| {
        if enc.is_empty() {
            return Err(UrlError("an access identifier without a user"));
        }
        percent_decode(enc)
    };
    if let Some(enc) = strip_prefix_ignore_case(s, "submit+") {
        Ok(UrlAccess::Submit(user(enc)?))
    } else if let Some(enc) = strip_prefix_ignore_case(s, "user+") {
        Ok(UrlAccess::User(user(enc)?))
    } else if s.eq_ignore_ascii_case("authuser") {
        Ok(UrlAccess::AuthUser)
    } else if s.eq_ignore_ascii_case("anonymous") {
        Ok(UrlAccess::Anonymous)
    } else {
        Err(UrlError("an unknown access identifier"))
    }
}

/// ```text
/// date-time      = full-date "T" full-time
/// full-date      = date-fullyear "-" date-month "-" date-mday
/// full-time      = partial-time time-offset
/// partial-time   = time-hour ":" time-minute ":" time-second [time-secfrac]
/// time-offset    = "Z" / time-numoffset
/// time-numoffset = ("+" / "-") time-hour ":" time-minute
/// ```
/// (RFC 3339 §5.6; `T` and `Z` in either case), as seconds since the Unix epoch.
pub fn rfc3339_date_time(s: &str) -> Result<i64, UrlError> {
    const BAD: UrlError = UrlError("an EXPIRE that is no RFC 3339 date-time");
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Result<i64, UrlError> {
        let d = b.get(from..from + n).ok_or(BAD)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return Err(BAD);
        }
        Ok(d.iter().fold(0, |acc, &c| acc * 10 + i64::from(c - b'0')))
    };
    let sep = |at: usize, c: u8| {
        if b.get(at).is_some_and(|x| x.eq_ignore_ascii_case(&c)) {
            Ok(())
        } else {
            Err(BAD)
        }
    };
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    sep(4, b'-')?;
    sep(7, b'-')?;
    sep(10, b'T')?;
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    sep(13, b':')?;
    sep(16, b':')?;
    let mut at = 19;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err(BAD);
        }
    }
    let offset = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            sep(at + 3, b':')?;
            let (h, m) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
            if h > 23 || m > 59 {
                return Err(BAD);
            }
            let minutes = h * 60 + m;
            if sign == b'+' { minutes } else { -minutes }
        }
        _ => return Err(BAD),
    };
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(year) => 29,
        2 => 28,
        _ => return Err(BAD),
    };
    // time-second may be 60 (a leap second): counted as the next second.
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 60 {
        return Err(BAD);
    }
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_unix_time() {
        assert_eq!(rfc3339_date_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(rfc3339_date_time("2006-05-01T12:00:00Z"), Ok(1_146_484_800));
        assert_eq!(
            rfc3339_date_time("2006-05-01t14:30:00.25+02:30"),
            Ok(1_146_484_800)
        );
        assert_eq!(
            rfc3339_date_time("2000-02-29T00:00:00-00:01"),
            Ok(951_782_460)
        );
        for bad in [
            "",
            "2006-05-01",
            "2006-05-01T12:00:00",
            "2006-02-29T00:00:00Z",
            "2006-13-01T00:00:00Z",
            "2006-05-01T24:00:00Z",
            "2006-05-01T12:00:00.Z",
            "2006-05-01T12:00:00+2:00",
            "2006-05-01T12:00:00Zjunk",
            "２００6-05-01T12:00:00Z",
        ] {
            assert!(rfc3339_date_time(bad).is_err(), "{bad:?} accepted");
        }
    }
}
