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

/// Counts octets with every bare LF counted as CRLF.
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
