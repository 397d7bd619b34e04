//! Authentication of mail between systems: DKIM signatures on what leaves, SPF, DKIM and
//! DMARC checks on what arrives (with `mail-auth` doing the cryptography and the DNS records'
//! semantics).
//!
//! - [`keys`]: a signing key per local domain, generated at the first start, and the TXT
//!   record that publishes it;
//! - [`sign`]: [`Signer`], and [`SigningQueue`], which signs each message once as it enters
//!   the outbound queue;
//! - [`verify`]: [`Verifier`], which the port-25
//!   [`SmtpService`](crate::smtp::SmtpService) runs on each message before storing it;
//! - [`results`]: the `Authentication-Results:` field (RFC 8601).

pub mod keys;
pub mod results;
pub mod sign;
pub mod verify;

pub use keys::{DnsRecord, DomainKey, KeyDir, KeyError, KeyType};
pub use results::AuthResult;
pub use sign::{Signer, SigningQueue};
pub use verify::{Client, DmarcPolicy, Verdict, Verifier};

/// Whether the message's header section holds a `DKIM-Signature` field: a client relaying or
/// sending it must not change its lines, as breaking long ones would
/// ([`ClientConfig::max_line`](sansmail_smtp::session::client::ClientConfig::max_line)).
/// Lines may end in CRLF or LF; the header section ends at the first empty line.
pub fn is_dkim_signed(message: &[u8]) -> bool {
    message
        .split(|&b| b == b'\n')
        .take_while(|line| !line.is_empty() && *line != b"\r")
        .any(|line| {
            // `DKIM-Signature` then `:`, with the obsolete syntax's spaces before it.
            line.get(..14)
                .is_some_and(|name| name.eq_ignore_ascii_case(b"DKIM-Signature"))
                && line[14..].trim_ascii_start().starts_with(b":")
        })
}

#[cfg(test)]
mod tests {
    use super::is_dkim_signed;

    #[test]
    fn a_signature_counts_in_the_header_only() {
        assert!(is_dkim_signed(
            b"From: a\r\nDKIM-Signature: v=1\r\n\r\nbody\r\n"
        ));
        assert!(is_dkim_signed(
            b"dkim-signature : v=1\nSubject: x\n\nbody\n"
        ));
        assert!(!is_dkim_signed(b"From: a\r\n\r\nDKIM-Signature: v=1\r\n"));
        assert!(!is_dkim_signed(b"From: a\n\nDKIM-Signature: v=1\n"));
        assert!(!is_dkim_signed(b"DKIM-Signatures: v=1\r\n\r\n"));
    }
}
