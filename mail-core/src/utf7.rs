//! Modified UTF-7 (RFC 3501 §5.1.3), the form IMAP mailbox names take on the wire unless
//! UTF8=ACCEPT is enabled, and the form Maildir++ folder names take on disk (Dovecot,
//! Courier).
//!
//! Printable ASCII stands for itself, except `&`, which is written `&-`. Any other run of
//! characters is UTF-16, big-endian, in base64 with `,` instead of `/` and without padding,
//! between `&` and `-`.
//!
//! ```
//! use sansmail_core::utf7;
//!
//! assert_eq!(utf7::encode("Entwürfe & Co"), "Entw&APw-rfe &- Co");
//! assert_eq!(utf7::decode("Entw&APw-rfe &- Co").as_deref(), Some("Entwürfe & Co"));
//! ```

/// The modified base64 alphabet: `,` where base64 has `/`.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Whether `c` stands for itself (printable US-ASCII).
fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// Encodes `name` in modified UTF-7. Every string has an encoding, and it is the one
/// [`decode`] accepts.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Writes `pending` UTF-16 units as one `&...-` run and empties it.
fn flush(pending: &mut Vec<u16>, out: &mut String) {
    if pending.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        // 1, 2 or 3 bytes make 2, 3 or 4 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 0x3F) as usize]));
        }
    }
    out.push('-');
    pending.clear();
}

/// Decodes modified UTF-7; `None` if `s` is not the encoding [`encode`] would give: bad
/// base64, an unterminated `&`, non-zero padding bits, unpaired surrogates, or printable
/// ASCII that should have stood for itself. Rejecting those keeps the mapping one-to-one, so
/// a name decoded from the wire or from disk encodes back to the same octets.
pub fn decode(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let dash = after.find('-')?;
        let encoded = &after[..dash];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let decoded = decode_run(encoded)?;
            if decoded.chars().any(is_direct) {
                return None;
            }
            out.push_str(&decoded);
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The characters of one base64 run (between `&` and `-`).
fn decode_run(encoded: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut units = Vec::with_capacity(encoded.len() * 6 / 16);
    for b in encoded.bytes() {
        let v = u32::try_from(B64.iter().position(|&c| c == b)?).ok()?;
        bits = bits << 6 | v;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(u16::try_from((bits >> nbits) & 0xFFFF).ok()?);
        }
    }
    // What is left over must be zero padding, fewer than 6 bits.
    if nbits >= 6 || bits & ((1 << nbits) - 1) != 0 {
        return None;
    }
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn known_answers() {
        for (plain, enc) in [
            ("Ärger", "&AMQ-rger"),
            ("a&b", "a&-b"),
            ("&", "&-"),
            ("日本語", "&ZeVnLIqe-"),
            ("plain", "plain"),
            ("", ""),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
            ("Work.Ärger", "Work.&AMQ-rger"),
        ] {
            assert_eq!(encode(plain), enc);
            assert_eq!(decode(enc).as_deref(), Some(plain), "{enc}");
        }
    }

    #[test]
    fn rejects_what_encode_would_not_write() {
        assert_eq!(decode("&Jjo!"), None, "bad base64, unterminated");
        assert_eq!(decode("&AMQ"), None, "unterminated");
        assert_eq!(decode("&AGE-"), None, "ASCII must not be encoded");
        assert_eq!(decode("&AMR-"), None, "non-zero padding bits");
        assert_eq!(decode("&AMQA-"), None, "six bits or more left over");
        assert_eq!(decode("&2D0-"), None, "an unpaired surrogate");
        assert_eq!(decode("&A/Q-"), None, "'/' is not in the alphabet");
    }

    #[test]
    fn round_trips() {
        let samples: Vec<char> = ('\0'..='\u{2ff}')
            .chain(['\u{ffff}', '\u{10000}', '\u{10ffff}', 'ß', '€', '台'])
            .collect();
        for window in samples.windows(5) {
            let s: String = window.iter().collect();
            let e = encode(&s);
            assert!(e.chars().all(super::is_direct), "{e}");
            assert_eq!(decode(&e).as_deref(), Some(s.as_str()), "{e}");
        }
    }
}
