//! Line ends. The store keeps and serves messages with CRLF, the form IMAP and POP3 send,
//! so that sizes, BODYSTRUCTURE offsets and the octets served always agree; messages that
//! arrive, or that other programs wrote, with bare LFs are converted.

/// `data` with every bare LF turned into CRLF, or `None` if it has none.
pub(crate) fn to_crlf(data: &[u8]) -> Option<Vec<u8>> {
    let bare = data
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'));
    if !bare {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Some(out)
}

/// Counts octets with every bare LF and every bare CR counted as CRLF: the size POP3's
/// LIST and STAT report (RFC 1939 §11), of the message as RETR sends it (its line ends all
/// CRLF, a CR alone included: a client that ends lines at a bare CR must not see a line
/// there that the server did not stuff).
pub(crate) fn crlf_size(data: &[u8]) -> u64 {
    let mut extra = 0u64;
    let mut prev = 0u8;
    for &b in data {
        if (b == b'\n' && prev != b'\r') || (prev == b'\r' && b != b'\n') {
            extra += 1;
        }
        prev = b;
    }
    if prev == b'\r' {
        extra += 1;
    }
    data.len() as u64 + extra
}

#[cfg(test)]
mod tests {
    use super::crlf_size;

    #[test]
    fn bare_cr_and_bare_lf_count_as_crlf() {
        assert_eq!(crlf_size(b"a\r\nb\r\n"), 6);
        assert_eq!(crlf_size(b"a\nb\n"), 6);
        assert_eq!(crlf_size(b"a\rb\r"), 6);
        assert_eq!(crlf_size(b"\r\r\n\n\r"), 8);
        assert_eq!(crlf_size(b""), 0);
    }
}
