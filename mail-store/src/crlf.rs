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

/// Counts octets with every bare LF counted as CRLF: Dovecot's virtual size (a Maildir file
/// name's `W=`), which leaves a bare CR alone.
pub(crate) fn crlf_size(data: &[u8]) -> u64 {
    let mut extra = 0u64;
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            extra += 1;
        }
        prev = b;
    }
    data.len() as u64 + extra
}

/// The CRs not followed by LF: POP3 sends each as CRLF (a client that ends lines at a bare
/// CR must not see a line there that the server did not stuff), so a message's size as
/// POP3 sends it is [`crlf_size`] plus these (RFC 1939 §11).
pub(crate) fn bare_crs(data: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut prev = 0u8;
    for &b in data {
        if prev == b'\r' && b != b'\n' {
            n += 1;
        }
        prev = b;
    }
    n + u64::from(prev == b'\r')
}

#[cfg(test)]
mod tests {
    use super::{bare_crs, crlf_size};

    #[test]
    fn bare_lf_counts_as_crlf_and_bare_cr_apart() {
        assert_eq!((crlf_size(b"a\r\nb\r\n"), bare_crs(b"a\r\nb\r\n")), (6, 0));
        assert_eq!((crlf_size(b"a\nb\n"), bare_crs(b"a\nb\n")), (6, 0));
        assert_eq!((crlf_size(b"a\rb\r"), bare_crs(b"a\rb\r")), (4, 2));
        assert_eq!((crlf_size(b"\r\r\n\n\r"), bare_crs(b"\r\r\n\n\r")), (6, 2));
        assert_eq!((crlf_size(b""), bare_crs(b"")), (0, 0));
    }
}
