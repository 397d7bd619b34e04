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
/// Names are kept as given and quoted values unquoted. RFC 2231 continuations (`name*0`,
/// `name*1*`) are joined into one parameter, as Dovecot reports them
/// ([`merge_continuations`]); values stay encoded (`filename*`, encoded words): the client
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
            return merge_continuations(out);
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

/// Joins RFC 2231 §3 continuations, as Dovecot's rfc2231-parser does: `key*0="a";
/// key*1="b"` becomes `key="ab"`, and when any section is extended (`key*1*=%41`) `key*`
/// with the plain sections %-escaped (and `''` before them when section 0 is plain), so the
/// value stays one RFC 2231 §4 extended value. A key whose sections are not exactly 0..n
/// stays as written.
fn merge_continuations(params: Vec<(String, String)>) -> Vec<(String, String)> {
    /// `key*N` or `key*N*`: the key, N, and whether the section is extended.
    fn section(name: &str) -> Option<(&str, usize, bool)> {
        let (name, extended) = match name.strip_suffix('*') {
            Some(n) => (n, true),
            None => (name, false),
        };
        let (key, n) = name.rsplit_once('*')?;
        let digits = !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit());
        (digits && !key.is_empty() && (n == "0" || !n.starts_with('0')))
            .then(|| Some((key, n.parse().ok()?, extended)))
            .flatten()
    }
    if !params.iter().any(|(n, _)| section(n).is_some()) {
        return params;
    }
    // The sections of each key, gathered in one pass (a header may hold thousands of
    // parameters: nothing here is quadratic in them).
    let mut sections: std::collections::HashMap<String, Vec<(usize, bool, usize)>> =
        std::collections::HashMap::new();
    for (at, (name, _)) in params.iter().enumerate() {
        if let Some((key, n, extended)) = section(name) {
            sections
                .entry(key.to_ascii_lowercase())
                .or_default()
                .push((n, extended, at));
        }
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(params.len());
    for (name, value) in &params {
        let Some((key, _, _)) = section(name) else {
            out.push((name.clone(), value.clone()));
            continue;
        };
        // The key's sections go where its first one was.
        let Some(mut parts) = sections.remove(&key.to_ascii_lowercase()) else {
            continue;
        };
        parts.sort_by_key(|p| p.0);
        let whole = parts.iter().enumerate().all(|(i, p)| p.0 == i);
        if !whole {
            parts.sort_by_key(|p| p.2);
            out.extend(parts.iter().map(|p| params[p.2].clone()));
            continue;
        }
        if parts.iter().any(|p| p.1) {
            let mut v = String::new();
            if !parts[0].1 {
                v.push_str("''");
            }
            for &(_, extended, at) in &parts {
                if extended {
                    v.push_str(&params[at].1);
                } else {
                    percent_escape(&params[at].1, &mut v);
                }
            }
            out.push((format!("{key}*"), v));
        } else {
            let joined: String = parts.iter().map(|p| params[p.2].1.as_str()).collect();
            out.push((key.to_owned(), joined));
        }
    }
    out
}

/// Appends `text` with each octet that is not an RFC 2231 `attribute-char` as `%XX`.
fn percent_escape(text: &str, out: &mut String) {
    for b in text.bytes() {
        let attribute_char = b.is_ascii_graphic() && !b"*'%()<>@,;:\\\"/[]?=".contains(&b);
        if attribute_char {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::raw_params;
    use crate::mime::{BodyKind, MimeInfo};

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    /// Thousands of continued parameters (one message's header can hold them) are joined
    /// in one pass; each key gathered once.
    #[test]
    fn many_continuations() {
        let mut header = String::from("text/plain");
        for i in 0..20_000 {
            use std::fmt::Write as _;
            let _ = write!(header, "; k{i}*0=a; k{i}*1=b");
        }
        let joined = raw_params(&header);
        assert_eq!(joined.len(), 20_000);
        assert!(joined.iter().all(|(k, v)| k.starts_with('k') && v == "ab"));
    }

    /// RFC 2231 continuations joined as Dovecot joins them.
    #[test]
    fn continuations_are_joined() {
        let p = |v: &str| raw_params(v);
        assert_eq!(
            p("attachment; filename*1=\"name.pdf\"; size=3; filename*0=\"very long \""),
            pairs(&[("filename", "very long name.pdf"), ("size", "3")])
        );
        assert_eq!(
            p("text/plain; NAME*0*=utf-8''%C3; name*1*=%A9.txt"),
            pairs(&[("NAME*", "utf-8''%C3%A9.txt")])
        );
        assert_eq!(
            p("x/y; k*0=\"a b\"; k*1*=%41"),
            pairs(&[("k*", "''a%20b%41")])
        );
        // Not 0..n: left as written; a lone extended value is no continuation.
        assert_eq!(
            p("x/y; k*0=a; k*2=c; n*=utf-8''x; m*01=z"),
            pairs(&[
                ("k*0", "a"),
                ("k*2", "c"),
                ("n*", "utf-8''x"),
                ("m*01", "z")
            ])
        );
    }

    #[test]
    fn parameters_are_kept_as_written() {
        let p = |v: &str| raw_params(v);
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
            pairs(&[("name", "a;bc"), ("Q", "q\"t")])
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
