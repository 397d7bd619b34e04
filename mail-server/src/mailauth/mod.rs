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
