//! APOP (RFC 1939 §7): authentication by a digest of the greeting's timestamp and a secret
//! shared by client and server.
//!
//! ```text
//! greeting  = "+OK" [resp-code] *gchar [timestamp] *gchar CRLF
//! timestamp = "<" *VCHAR ">"            ; an RFC 822 msg-id, e.g. <pid.clock@hostname>
//! apop      = "APOP" SP name SP digest  ; digest = MD5(timestamp secret), 32 lower-case hex
//! ```
//!
//! The server session puts the timestamp the application chose (unique per connection: the
//! crate has no clock) in its greeting, and hands the name and digest of an APOP command to
//! the application in [`Event::Apop`](crate::session::server::Event::Apop), which looks up
//! the secret and checks it with [`verify`]. The client session computes the digest with
//! [`digest`]. MD5 is implemented in the crate (about 80 lines, tested against RFC 1321)
//! rather than pulled in as a dependency, since APOP is its only use.

/// The APOP digest for `timestamp` (brackets included) and `secret`: 32 lower-case
/// hexadecimal digits.
///
/// ```
/// // RFC 1939 §7's example.
/// assert_eq!(
///     sansmail_pop3::apop::digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
///     "c4c9334bac560ecc979e58001b3e22fb",
/// );
/// ```
pub fn digest(timestamp: &str, secret: &str) -> String {
    let mut input = Vec::with_capacity(timestamp.len() + secret.len());
    input.extend_from_slice(timestamp.as_bytes());
    input.extend_from_slice(secret.as_bytes());
    crate::md5::md5(&input)
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xF)]));
            s
        })
}

/// Whether `digest` (as the client sent it, either case) is right for `timestamp` and
/// `secret`. The comparison takes the same time wherever the digests differ.
pub fn verify(timestamp: &str, secret: &str, digest: &str) -> bool {
    let want = self::digest(timestamp, secret);
    want.len() == digest.len()
        && want
            .bytes()
            .zip(digest.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()))
            == 0
}

/// Whether `timestamp` can be put in a greeting: `"<" 1*VCHAR ">"` holding an `@` and no
/// other `<` or `>`, like `<1896.697170952@dbc.mtview.ca.us>`.
pub fn is_timestamp(timestamp: &str) -> bool {
    crate::grammar::find_timestamp(timestamp) == Some(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1939_example() {
        let ts = "<1896.697170952@dbc.mtview.ca.us>";
        assert_eq!(digest(ts, "tanstaaf"), "c4c9334bac560ecc979e58001b3e22fb");
        assert!(verify(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
        assert!(verify(ts, "tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB"));
        assert!(!verify(ts, "tanstaag", "c4c9334bac560ecc979e58001b3e22fb"));
        assert!(!verify(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22f"));
        assert!(!verify(ts, "tanstaaf", "d4c9334bac560ecc979e58001b3e22fb"));
    }

    #[test]
    fn timestamps() {
        assert!(is_timestamp("<1896.697170952@dbc.mtview.ca.us>"));
        assert!(!is_timestamp("1896.697170952@dbc.mtview.ca.us"));
        assert!(!is_timestamp("<no-at-sign>"));
        assert!(!is_timestamp("<a@b> "));
        assert!(!is_timestamp("<a b@c>"));
        assert!(!is_timestamp("<a<b@c>"));
    }
}
