//! The parameters of `Content-Type` and `Content-Disposition`, kept as written.

/// Skips a comment whose `(` was already taken (comments nest; `\` escapes).
fn comment(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut depth = 1;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// The parameters of a Content-Type or Content-Disposition value as written, after its
/// first `;` (RFC 2045 §5.1):
///
/// ```text
/// content   := type "/" subtype *(";" parameter)
/// parameter := attribute "=" value
/// value     := token / quoted-string
/// ```
///
/// Names are kept as given and quoted values unquoted. RFC 2231 parameters (`filename*`,
/// `name*0*`) and encoded words stay as they are, as Dovecot reports them: the client
/// decodes them with the charset they name. Comments are skipped; a parameter without `=`
/// is dropped.
pub(super) fn raw_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Past the type (or disposition) to the first `;` outside quotes and comments.
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                chars.next();
            }
            '(' if !quoted => comment(&mut chars),
            ';' if !quoted => break,
            _ => {}
        }
    }
    loop {
        // Whitespace, comments and empty parameters before a name.
        while let Some(&c) = chars.peek() {
            match c {
                ' ' | '\t' | ';' => {
                    chars.next();
                }
                '(' => {
                    chars.next();
                    comment(&mut chars);
                }
                _ => break,
            }
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if matches!(c, '=' | ';') {
                break;
            }
            name.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            continue;
        }
        while chars.next_if(|&c| c == ' ' || c == '\t').is_some() {}
        let mut val = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => val.extend(chars.next()),
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if matches!(c, ';' | ' ' | '\t' | '(') {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        // Anything else up to the next `;` (a stray word after the value) is dropped.
        while let Some(&c) = chars.peek() {
            if c == ';' {
                break;
            }
            chars.next();
            if c == '(' {
                comment(&mut chars);
            }
        }
        let name = name.trim();
        if !name.is_empty() {
            out.push((name.to_owned(), val));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::raw_params;
    use crate::mime::{BodyKind, MimeInfo};

    #[test]
    fn parameters_are_kept_as_written() {
        let p = |v: &str| raw_params(v);
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(
            p("text/plain; charset=\"utf-8\"; format=flowed"),
            pairs(&[("charset", "utf-8"), ("format", "flowed")])
        );
        assert_eq!(
            p("attachment; filename*=UTF-8''%C3%A9t%C3%A9.txt"),
            pairs(&[("filename*", "UTF-8''%C3%A9t%C3%A9.txt")])
        );
        assert_eq!(
            p(
                "application/x (a (nested) comment); name*0=\"a;b\"; name*1=c ;; x; \tQ = \"q\\\"t\" junk"
            ),
            pairs(&[("name*0", "a;b"), ("name*1", "c"), ("Q", "q\"t")])
        );
        assert_eq!(p("text/plain"), pairs(&[]));
        assert_eq!(p("text/plain;"), pairs(&[]));
        assert_eq!(p("multipart/mixed; boundary=\"\"").len(), 1);
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name=\"=?UTF-8?Q?=C3=A9?=\"\r\nContent-Disposition: attachment;\r\n filename*=UTF-8''%C3%A9\r\n\r\nx\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let BodyKind::Multipart(children) = &m.body.kind else {
            panic!("{:?}", m.body)
        };
        assert_eq!(children[0].params, pairs(&[("name", "=?UTF-8?Q?=C3=A9?=")]));
        assert_eq!(
            children[0].disposition.as_ref().unwrap().params,
            pairs(&[("filename*", "UTF-8''%C3%A9")])
        );
    }
}
