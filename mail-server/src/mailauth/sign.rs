//! DKIM signing of outgoing mail (RFC 6376 §5), once, as a message enters the outbound queue.
//!
//! Signing at enqueue (as Postfix with OpenDKIM does) rather than at each delivery attempt:
//! the queued file is what every attempt sends, so each retry carries the same signature and
//! a DSN quotes what was sent. The `Received:` field this server added is in the queued file
//! but not among the signed fields, so it cannot break the signature; the `DKIM-Signature:`
//! field goes on top, above it.

use std::{collections::HashMap, io, sync::Arc};

use mail_auth::{
    AuthenticatedMessage,
    common::{
        crypto::{Ed25519Key, RsaKey, Sha256, SigningKey},
        headers::HeaderWriter,
    },
    dkim::{Canonicalization, DkimSigner, Done},
};
use sansmail_store::Upload;

use super::keys::{DnsRecord, DomainKey, KeyDir, KeyError, KeyType, PrivateKey};
use crate::outbound::queue::{QueueEntry, QueueStore};

/// The fields signed when present (RFC 6376 §5.4.1's list, less the trace fields that change
/// in transit). `From` is required by DKIM and always there in what is signed.
const SIGNED_FIELDS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "Sender",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
];

/// Why a message could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("DKIM signing for {domain}: {reason}")]
pub struct SignError {
    /// The domain whose key was used.
    pub domain: String,
    /// What failed.
    pub reason: String,
}

/// A domain's key, set up to sign.
enum KeySigner {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

/// What every signature here says besides the key: the fields above, and relaxed/relaxed
/// canonicalization (it survives the re-folding and whitespace changes of relays).
fn signer<K: SigningKey>(key: K, domain: &str, selector: &str) -> DkimSigner<K, Done> {
    DkimSigner::from_key(key)
        .domain(domain)
        .selector(selector)
        .headers(SIGNED_FIELDS.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// Signs messages whose `From:` domain has a key.
#[derive(Default)]
pub struct Signer {
    /// Per domain (lower case): its record, and the key set up to sign.
    keys: HashMap<String, (DnsRecord, KeySigner)>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("domains", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Signer {
    /// A signer with `keys` (the last one wins for a domain given twice).
    pub fn new(keys: impl IntoIterator<Item = DomainKey>) -> Self {
        let keys = keys
            .into_iter()
            .map(|k| {
                let record = k.record().clone();
                let signing = match k.key {
                    PrivateKey::Rsa(key) => KeySigner::Rsa(signer(key, &k.domain, &k.selector)),
                    PrivateKey::Ed25519(key) => {
                        KeySigner::Ed25519(signer(key, &k.domain, &k.selector))
                    }
                };
                (k.domain, (record, signing))
            })
            .collect();
        Self { keys }
    }

    /// A signer for `domains` with their keys in `keys` under `selector`, generating (as
    /// `kind`) those that are missing; with each domain's record and whether it is new (to
    /// be published before mail signed with it goes out). Blocks while generating.
    pub fn from_dir(
        keys: &KeyDir,
        domains: &[String],
        selector: &str,
        kind: KeyType,
    ) -> Result<(Self, Vec<(DnsRecord, bool)>), KeyError> {
        let mut loaded = Vec::with_capacity(domains.len());
        let mut records = Vec::with_capacity(domains.len());
        for domain in domains {
            let (key, generated) = keys.load_or_generate(domain, selector, kind)?;
            records.push((key.record().clone(), generated));
            loaded.push(key);
        }
        Ok((Self::new(loaded), records))
    }

    /// The DNS records of the keys, to publish.
    pub fn records(&self) -> impl Iterator<Item = &DnsRecord> {
        self.keys.values().map(|(r, _)| r)
    }

    /// The domain whose key signs `message`: its `From:` domain (RFC 5322.From, what DMARC
    /// aligns with). A `From:` naming addresses in different domains is not signed.
    fn domain_of(message: &[u8]) -> Option<String> {
        let parsed = AuthenticatedMessage::parse(message)?;
        let mut domains = parsed
            .from
            .iter()
            .filter_map(|a| a.rsplit_once('@').map(|(_, d)| d));
        let first = domains.next()?;
        if domains.any(|d| !d.eq_ignore_ascii_case(first)) {
            return None;
        }
        Some(first.to_ascii_lowercase())
    }

    /// The `DKIM-Signature:` field (ended with CRLF) to put on top of `message`, or `None`
    /// when its `From:` domain has no key here.
    pub fn sign(&self, message: &[u8]) -> Option<Result<String, SignError>> {
        let domain = Self::domain_of(message)?;
        let (_, key) = self.keys.get(&domain)?;
        let signature = match key {
            KeySigner::Rsa(s) => s.sign(message),
            KeySigner::Ed25519(s) => s.sign(message),
        };
        Some(signature.map(|s| s.to_header()).map_err(|e| SignError {
            domain,
            reason: e.to_string(),
        }))
    }
}

/// A [`QueueStore`] that DKIM-signs each message as it is committed, then hands it to the
/// queue it wraps.
pub struct SigningQueue {
    inner: Arc<dyn QueueStore>,
    signer: Arc<Signer>,
}

impl std::fmt::Debug for SigningQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningQueue")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl SigningQueue {
    /// Signs with `signer` what goes into `inner`.
    pub fn new(inner: Arc<dyn QueueStore>, signer: Arc<Signer>) -> Self {
        Self { inner, signer }
    }
}

impl QueueStore for SigningQueue {
    fn spool(&self) -> Upload {
        self.inner.spool()
    }

    /// Reads the message back (it is at most the size limit) to sign it, and queues the
    /// signed copy. A message that cannot be signed is queued unsigned, logged: refusing
    /// mail the client already sent for a signing fault would lose nothing less.
    fn commit(&self, mut message: Upload, entry: &mut QueueEntry) -> io::Result<String> {
        let keep_line_ends = message.keeps_line_ends();
        let signed = {
            let bytes = message.bytes()?;
            match self.signer.sign(&bytes) {
                None => None,
                Some(Err(e)) => {
                    tracing::error!("{e}; queued unsigned");
                    None
                }
                Some(Ok(field)) => {
                    let mut signed = self.inner.spool();
                    if keep_line_ends {
                        signed.keep_line_ends();
                    }
                    signed.write(field.as_bytes())?;
                    signed.write(&bytes)?;
                    Some(signed)
                }
            }
        };
        self.inner.commit(signed.unwrap_or(message), entry)
    }

    fn entries(&self) -> io::Result<Vec<QueueEntry>> {
        self.inner.entries()
    }

    fn entry(&self, id: &str) -> io::Result<Option<QueueEntry>> {
        self.inner.entry(id)
    }

    fn message(&self, id: &str) -> io::Result<Vec<u8>> {
        self.inner.message(id)
    }

    fn update(&self, entry: &QueueEntry) -> io::Result<()> {
        self.inner.update(entry)
    }

    fn remove(&self, id: &str) -> io::Result<()> {
        self.inner.remove(id)
    }
}
