//! Header fields of a stored message as the protocols read them: raw values found by name,
//! and encoded words (RFC 2047) decoded for display and sorting.
//!
//! ```text
//! field       = field-name ":" unstructured CRLF
//! field-name  = 1*ftext
//! unstructured = *([FWS] VCHAR) *WSP
//! ```

/// The values of the header fields called `name` (ASCII case-insensitively) in a header
/// block, in order, unfolded (the line breaks of folding removed, the whitespace after them
/// kept) and without the whitespace after the colon.
///
/// The block ends at its first empty line; a body after it is not looked at. Whitespace
/// between a field's name and its colon (obsolete syntax, RFC 5322 §4.5) is allowed.
pub fn header_values(header: &[u8], name: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let content = line
            .strip_suffix(b"\n")
            .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
        if content.is_empty() {
            break;
        }
        if matches!(content.first(), Some(b' ' | b'\t')) {
            if let Some(v) = &mut current {
                v.extend_from_slice(content);
            }
            continue;
        }
        out.extend(current.take());
        if let Some(colon) = content.iter().position(|&b| b == b':')
            && content[..colon].trim_ascii_end().eq_ignore_ascii_case(name)
        {
            current = Some(content[colon + 1..].trim_ascii_start().to_vec());
        }
    }
    out.extend(current);
    out
}

/// An unstructured header value with its encoded words (RFC 2047 §2:
/// `encoded-word = "=?" charset "?" encoding "?" encoded-text "?="`) decoded to UTF-8, and
/// line breaks turned into spaces. The value as it is when it has no encoded word, or when
/// `mail-parser` makes nothing of it.
pub fn decode_encoded_words(raw: &str) -> String {
    if !raw.contains("=?") {
        return raw.to_owned();
    }
    let line: String = raw
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    // mail-parser decodes encoded words as part of a message: hand it a one-field one.
    let header = format!("Subject: {line}\r\n\r\n");
    mail_parser::MessageParser::new()
        .parse(header.as_bytes())
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_unfold_and_match_names() {
        let h = b"Subject: hello\r\n world\r\nX-A: 1\r\nsubject : again\r\n\r\nSubject: body";
        assert_eq!(
            header_values(h, b"Subject"),
            [b"hello world".to_vec(), b"again".to_vec()]
        );
        assert_eq!(header_values(h, b"x-a"), [b"1".to_vec()]);
        assert!(header_values(h, b"X").is_empty());
        // A continuation before any field, bare LF line ends, an empty value, no end.
        let h = b" stray\nA:\n\tfolded\nB:\nA:x";
        assert_eq!(
            header_values(h, b"A"),
            [b"\tfolded".to_vec(), b"x".to_vec()]
        );
        assert_eq!(header_values(h, b"B"), [Vec::<u8>::new()]);
        assert!(header_values(b"", b"A").is_empty());
        assert!(header_values(b"\r\nA: 1\r\n", b"A").is_empty());
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            decode_encoded_words("=?UTF-8?Q?Re=3A_caf=C3=A9?="),
            "Re: café"
        );
        assert_eq!(
            decode_encoded_words("=?ISO-8859-1?B?SvZyZw==?= Smith"),
            "Jörg Smith"
        );
        // Whitespace between adjacent encoded words is dropped (RFC 2047 §6.2).
        assert_eq!(
            decode_encoded_words("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?="),
            "ab"
        );
        assert_eq!(decode_encoded_words("plain"), "plain");
        assert_eq!(decode_encoded_words("=?broken"), "=?broken");
    }
}
