//! DKIM signing keys, one per local domain, kept as PEM files in a directory of their own
//! (beside the queue), and the DNS record that publishes each.
//!
//! A key is `<selector>._domainkey.<domain>.pem`: the file is named after the TXT record that
//! goes with it. RSA keys are PKCS#1 (`RSA PRIVATE KEY`, what `opendkim-genkey` writes),
//! Ed25519 keys PKCS#8 (`PRIVATE KEY`); an operator's own key in either form is used as it is.
//! A missing key is generated at the first start, written with mode 0600, fsynced, then moved
//! into place, so a crash leaves either no key or a whole one.

use std::{
    fmt::Write as _,
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
};

use mail_auth::{
    common::crypto::{Ed25519Key, RsaKey, Sha256},
    dkim::generate::DkimKeyPair,
};
use rustls_pki_types::PrivateKeyDer;
use sansmail_core::sasl::{base64_decode, base64_encode};

/// Which kind of key to generate for a domain that has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// RSA, 2048 bits, signing with `rsa-sha256`: what every verifier accepts.
    #[default]
    Rsa2048,
    /// Ed25519, signing with `ed25519-sha256` (RFC 8463): short records, but not every
    /// verifier knows it yet, so best published beside an RSA selector.
    Ed25519,
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The domain or selector cannot be a DNS name (and so not a file name either).
    #[error("{0:?} is not a valid DNS name for a DKIM key")]
    InvalidName(String),
    /// Reading or writing the key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The file holds no key this server can sign with.
    #[error("{path}: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating a key failed.
    #[error("generating a DKIM key: {0}")]
    Generate(String),
}

/// A private key, ready to sign.
pub(crate) enum PrivateKey {
    Rsa(RsaKey<Sha256>),
    Ed25519(Ed25519Key),
}

/// A domain's signing key and the selector it is published under.
pub struct DomainKey {
    pub(crate) domain: String,
    pub(crate) selector: String,
    pub(crate) key: PrivateKey,
    record: DnsRecord,
}

impl std::fmt::Debug for DomainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainKey")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

impl DomainKey {
    /// The signing domain (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The TXT record that publishes the public key.
    pub fn record(&self) -> &DnsRecord {
        &self.record
    }
}

/// The TXT record publishing a DKIM public key (RFC 6376 §3.6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// `<selector>._domainkey.<domain>`.
    pub name: String,
    /// `v=DKIM1; k=rsa; p=<base64>`.
    pub value: String,
}

impl DnsRecord {
    /// The record as a zone file line, its value split into the 255-octet strings a TXT
    /// record is made of (RFC 1035 §3.3.14).
    pub fn zone_line(&self) -> String {
        let strings: Vec<String> = self
            .value
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!("{}. IN TXT ( {} )", self.name, strings.join(" "))
    }
}

impl std::fmt::Display for DnsRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.zone_line())
    }
}

/// Whether `name` is a DNS name made of LDH labels (letters, digits, inner hyphens), each 1
/// to 63 octets, 253 at most in all: so it is also a safe file name part.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The directory of signing keys.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    /// Opens `dir`, creating it (mode 0700) if it is missing.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key file of `domain` under `selector`.
    pub fn path(&self, domain: &str, selector: &str) -> Result<PathBuf, KeyError> {
        let (domain, selector) = (domain.to_ascii_lowercase(), selector.to_ascii_lowercase());
        for name in [&domain, &selector] {
            if !is_dns_name(name) {
                return Err(KeyError::InvalidName(name.clone()));
            }
        }
        Ok(self.dir.join(format!("{selector}._domainkey.{domain}.pem")))
    }

    /// The key of `domain` under `selector`, generated as `kind` if there is none yet.
    /// Returns whether it was generated (its record is new and must be published). Blocks:
    /// RSA generation takes a moment.
    pub fn load_or_generate(
        &self,
        domain: &str,
        selector: &str,
        kind: KeyType,
    ) -> Result<(DomainKey, bool), KeyError> {
        let path = self.path(domain, selector)?;
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let (pem, generated) = match fs::read_to_string(&path) {
            Ok(pem) => (pem, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let pem = generate(kind)?;
                write_private(&path, pem.as_bytes()).map_err(io)?;
                (pem, true)
            }
            Err(e) => return Err(io(e)),
        };
        let (key, record) = parse_pem(&pem).map_err(|reason| KeyError::BadKey {
            path: path.clone(),
            reason,
        })?;
        let (domain, selector) = (domain.to_ascii_lowercase(), selector.to_ascii_lowercase());
        let record = DnsRecord {
            name: format!("{selector}._domainkey.{domain}"),
            value: record,
        };
        if generated {
            tracing::info!(%domain, %selector, path = %path.display(), "dkim: generated a key; publish {record}");
        }
        Ok((
            DomainKey {
                domain,
                selector,
                key,
                record,
            },
            generated,
        ))
    }
}

/// A new key of `kind`, as PEM.
fn generate(kind: KeyType) -> Result<String, KeyError> {
    let generate_error = |e: mail_auth::Error| KeyError::Generate(e.to_string());
    Ok(match kind {
        KeyType::Rsa2048 => {
            let pair = DkimKeyPair::generate_rsa(2048).map_err(generate_error)?;
            pem("RSA PRIVATE KEY", pair.private_key())
        }
        KeyType::Ed25519 => {
            let pair = DkimKeyPair::generate_ed25519().map_err(generate_error)?;
            pem("PRIVATE KEY", pair.private_key())
        }
    })
}

/// Writes a private key: a temporary file only the owner may read, fsynced, renamed into
/// place, and the directory fsynced.
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("pem.{}.tmp", std::process::id()));
    let res = (|| {
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        match path.parent() {
            Some(dir) => File::open(dir)?.sync_all(),
            None => Ok(()),
        }
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// `der` as a PEM block (RFC 7468) labelled `label`.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

/// The first PEM block of `text`: its label and decoded contents.
fn unpem(text: &str) -> Result<(&str, Vec<u8>), String> {
    let start = text
        .find("-----BEGIN ")
        .ok_or("no \"-----BEGIN\" line: not a PEM file")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let (label, rest) = rest
        .split_once("-----")
        .ok_or("the BEGIN line does not end in \"-----\"")?;
    let end = format!("-----END {label}-----");
    let body = &rest[..rest.find(&end).ok_or_else(|| format!("no {end:?} line"))?];
    let b64: String = body.split_whitespace().collect();
    let der = base64_decode(&b64).ok_or_else(|| format!("the {label} block is not base64"))?;
    Ok((label, der))
}

/// The key in `pem` and the value of its DNS record.
fn parse_pem(pem: &str) -> Result<(PrivateKey, String), String> {
    let (label, der) = unpem(pem)?;
    let crypto = |e: mail_auth::Error| format!("{label}: {e}");
    match label {
        "RSA PRIVATE KEY" => {
            let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs1(der.as_slice().into()));
            Ok(rsa(key.map_err(crypto)?))
        }
        "PRIVATE KEY" => {
            match RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(der.as_slice().into())) {
                Ok(key) => Ok(rsa(key)),
                // ring's own PKCS#8 v2 and OpenSSL's v1 (no public key inside) alike.
                Err(_) => {
                    let key = Ed25519Key::from_pkcs8_maybe_unchecked_der(&der).map_err(crypto)?;
                    let record =
                        format!("v=DKIM1; k=ed25519; p={}", base64_encode(&key.public_key()));
                    Ok((PrivateKey::Ed25519(key), record))
                }
            }
        }
        other => Err(format!(
            "a {other:?} block; expected \"RSA PRIVATE KEY\" or \"PRIVATE KEY\""
        )),
    }
}

fn rsa(key: RsaKey<Sha256>) -> (PrivateKey, String) {
    let record = format!(
        "v=DKIM1; k=rsa; p={}",
        base64_encode(&subject_public_key_info(&key.public_key()))
    );
    (PrivateKey::Rsa(key), record)
}

/// An RSAPublicKey (PKCS#1) wrapped in a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the form
/// DKIM records carry in practice (RFC 6376 §3.6.1), which every verifier reads.
///
/// ```text
/// SubjectPublicKeyInfo ::= SEQUENCE {
///     algorithm         AlgorithmIdentifier,  -- rsaEncryption, NULL
///     subjectPublicKey  BIT STRING }          -- the RSAPublicKey
/// ```
fn subject_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    /// rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
    const RSA_ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0]; // no unused bits
    bits.extend_from_slice(rsa_public_key);
    let mut spki = RSA_ALGORITHM.to_vec();
    spki.extend(der(0x03, &bits));
    der(0x30, &spki)
}

/// One DER TLV: `tag`, the definite length, `content`.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dkim-keys-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn names_must_be_dns_names() {
        let keys = KeyDir::open(temp_dir("names")).unwrap();
        assert!(keys.path("example.org", "s2026").is_ok());
        for bad in [
            "",
            "../etc",
            "a/b",
            "a..b",
            "-a.example",
            "a_b.example",
            "é.example",
        ] {
            assert!(
                matches!(keys.path(bad, "s"), Err(KeyError::InvalidName(_))),
                "{bad:?}"
            );
            assert!(keys.path("example.org", bad).is_err(), "{bad:?}");
        }
        let _ = fs::remove_dir_all(keys.dir());
    }

    #[test]
    fn ed25519_key_is_generated_once_and_kept_private() {
        let dir = temp_dir("ed25519");
        let keys = KeyDir::open(&dir).unwrap();
        let (key, generated) = keys
            .load_or_generate("Example.ORG", "ed", KeyType::Ed25519)
            .unwrap();
        assert!(generated);
        assert_eq!(key.domain(), "example.org");
        assert_eq!(key.record().name, "ed._domainkey.example.org");
        let value = &key.record().value;
        assert!(value.starts_with("v=DKIM1; k=ed25519; p="), "{value}");
        // The raw 32-octet public key (RFC 8463 §4.2).
        let p = value.rsplit_once("p=").unwrap().1;
        assert_eq!(base64_decode(p).unwrap().len(), 32);
        let path = dir.join("ed._domainkey.example.org.pem");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // The second start reads the same key, and asks for no new record.
        let (again, generated) = keys
            .load_or_generate("example.org", "ed", KeyType::Rsa2048)
            .unwrap();
        assert!(!generated);
        assert_eq!(again.record(), key.record());
        assert!(
            fs::read_dir(&dir).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp"))
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn rsa_record_is_a_subject_public_key_info() {
        let dir = temp_dir("rsa");
        let keys = KeyDir::open(&dir).unwrap();
        let path = keys.path("example.org", "rsa").unwrap();
        fs::write(&path, include_str!("../../tests/fixtures/dkim-rsa.pem")).unwrap();
        let (key, generated) = keys
            .load_or_generate("example.org", "rsa", KeyType::Rsa2048)
            .unwrap();
        assert!(!generated);
        let value = &key.record().value;
        assert!(
            value.starts_with("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
            "{value}"
        );
        let line = key.record().zone_line();
        assert!(
            line.starts_with("rsa._domainkey.example.org. IN TXT ( \""),
            "{line}"
        );
        assert_eq!(line.matches('"').count(), 4, "two strings: {line}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let dir = temp_dir("bad");
        let keys = KeyDir::open(&dir).unwrap();
        let path = keys.path("example.org", "x").unwrap();
        for (text, want) in [
            ("hello", "not a PEM file"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "CERTIFICATE",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\n!!\n-----END RSA PRIVATE KEY-----\n",
                "not base64",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                "RSA PRIVATE KEY",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n",
                "no \"-----END PRIVATE KEY-----\" line",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let e = keys
                .load_or_generate("example.org", "x", KeyType::Ed25519)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.contains("x._domainkey.example.org.pem"),
                "{e}"
            );
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
        assert_eq!(&der(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
    }
}
