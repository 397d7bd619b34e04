//! The `INTERNAL` URLAUTH mechanism (RFC 4467 §7): the token is HMAC-SHA1 of the rump URL
//! under the mailbox's access key, written in hexadecimal.
//!
//! Keeping the access key (at least 128 random bits per mailbox, reset by RESETKEY) is the
//! store's; this module only computes and checks tokens.

use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};

type HmacSha1 = Hmac<Sha1>;

/// The name of the mechanism, as GENURLAUTH and URLMECH write it.
pub const INTERNAL: &str = "INTERNAL";

/// The `INTERNAL` token for `rump` under `key`: 40 lower-case hexadecimal digits.
pub fn internal_token(key: &[u8], rump: &str) -> String {
    let mut mac = keyed(key);
    mac.update(rump.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(tag.len() * 2);
    for b in tag {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// Whether `token` (hexadecimal, either case) is the `INTERNAL` token for `rump` under
/// `key`. The comparison takes the same time wherever the first difference is.
pub fn verify_internal_token(key: &[u8], rump: &str, token: &str) -> bool {
    let Some(tag) = hex_decode(token) else {
        return false;
    };
    let mut mac = keyed(key);
    mac.update(rump.as_bytes());
    mac.verify_slice(&tag).is_ok()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// HMAC-SHA1 keyed with `key` of any length: hashed first when longer than SHA-1's
/// 64-octet block, then padded with zeros to the block (RFC 2104 §2), which is the form the
/// infallible constructor takes.
fn keyed(key: &[u8]) -> HmacSha1 {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        let digest = Sha1::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    HmacSha1::new(&block.into())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            u8::try_from(digit(pair[0])? << 4 | digit(pair[1])?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2202 §3, test cases 1 and 2: HMAC-SHA1 itself.
    #[test]
    fn hmac_sha1_known_answers() {
        let key = [0x0b; 20];
        assert_eq!(
            internal_token(&key, "Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            internal_token(b"Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn tokens_verify_only_for_their_rump_and_key() {
        let key = [7u8; 32];
        let rump = "imap://fred@example.com/INBOX/;uid=20;urlauth=anonymous";
        let token = internal_token(&key, rump);
        assert_eq!(token.len(), 40);
        assert!(verify_internal_token(&key, rump, &token));
        assert!(verify_internal_token(
            &key,
            rump,
            &token.to_ascii_uppercase()
        ));
        assert!(!verify_internal_token(&[8u8; 32], rump, &token));
        assert!(!verify_internal_token(
            &key,
            &rump.replace("20", "21"),
            &token
        ));
        let mut changed = token.clone().into_bytes();
        changed[39] = if changed[39] == b'0' { b'1' } else { b'0' };
        let changed = String::from_utf8(changed).unwrap();
        assert!(!verify_internal_token(&key, rump, &changed));
        assert!(!verify_internal_token(&key, rump, &token[..38]));
        assert!(!verify_internal_token(&key, rump, &format!("{token}00")));
        assert!(!verify_internal_token(&key, rump, "zz"));
        assert!(!verify_internal_token(&key, rump, "abc"));
    }
}
