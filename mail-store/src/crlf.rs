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

/// A message's sizes with its line ends made CRLF, in one pass: `(vsize, bare_crs)`.
/// `vsize` counts every bare LF as CRLF, Dovecot's virtual size (a Maildir file name's
/// `W=`), which leaves a bare CR alone; `bare_crs` counts the CRs not followed by LF, which
/// POP3 sends as CRLF too (a client that ends lines at a bare CR must not see a line there
/// that the server did not stuff), so the size POP3 reports is their sum (RFC 1939 §11).
pub(crate) fn crlf_sizes(data: &[u8]) -> (u64, u64) {
    let (mut bare_lfs, mut bare_crs) = (0u64, 0u64);
    let mut prev = 0u8;
    for &b in data {
        match (prev, b) {
            (b'\r', b'\n') => {}
            (b'\r', _) => bare_crs += 1,
            (_, b'\n') => bare_lfs += 1,
            _ => {}
        }
        prev = b;
    }
    bare_crs += u64::from(prev == b'\r');
    (data.len() as u64 + bare_lfs, bare_crs)
}

#[cfg(test)]
mod tests {
    use super::crlf_sizes;

    #[test]
    fn bare_lf_counts_as_crlf_and_bare_cr_apart() {
        assert_eq!(crlf_sizes(b"a\r\nb\r\n"), (6, 0));
        assert_eq!(crlf_sizes(b"a\nb\n"), (6, 0));
        assert_eq!(crlf_sizes(b"a\rb\r"), (4, 2));
        assert_eq!(crlf_sizes(b"\r\r\n\n\r"), (6, 2));
        assert_eq!(crlf_sizes(b""), (0, 0));
    }
}
