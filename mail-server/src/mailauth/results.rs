//! The `Authentication-Results:` header field (RFC 8601): writing ours, and finding the ones
//! a message arrived with that claim to come from us (§5: those are forgeries, or stale).

use std::{borrow::Cow, fmt::Write as _};

/// A method's result (RFC 8601 §2.7, RFC 7208 §2.6, RFC 7489 §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// Verified.
    Pass,
    /// Verified to be wrong (SPF `-all`, a signature that does not verify, DMARC failing).
    Fail,
    /// SPF `~all`: probably not authorized.
    SoftFail,
    /// SPF `?all`, or a signature this server does not evaluate: no statement.
    Neutral,
    /// Nothing to check: no SPF record, no signature, no DMARC record.
    None,
    /// A transient failure (DNS): the same check may give a result later.
    TempError,
    /// A record or signature that cannot be interpreted.
    PermError,
}

impl AuthResult {
    /// The result keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        }
    }
}

impl std::fmt::Display for AuthResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `Authentication-Results:` field being written: an `authserv-id` and a `resinfo` per
/// method checked, each on a folded line of its own.
#[derive(Debug)]
pub(crate) struct ResultsField {
    text: String,
}

impl ResultsField {
    /// A field for `authserv_id` (this server's name).
    pub(crate) fn new(authserv_id: &str) -> Self {
        Self {
            text: format!("Authentication-Results: {}", value(authserv_id)),
        }
    }

    /// Adds `resinfo`: `method=result`, an optional reason and comment, and properties.
    ///
    /// ```text
    /// resinfo     = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
    /// methodspec  = [CFWS] method [CFWS] "=" [CFWS] result
    /// reasonspec  = "reason" [CFWS] "=" [CFWS] value
    /// propspec    = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
    /// ```
    pub(crate) fn method(
        &mut self,
        method: &str,
        result: AuthResult,
        reason: Option<&str>,
        comment: Option<&str>,
        properties: &[(&str, &str)],
    ) {
        let _ = write!(self.text, ";\r\n\t{method}={result}");
        if let Some(reason) = reason {
            let _ = write!(self.text, " reason={}", quoted_string(reason));
        }
        if let Some(comment) = comment {
            let clean: String = comment
                .chars()
                .filter(|c| !matches!(c, '(' | ')' | '\\') && !c.is_control())
                .collect();
            let _ = write!(self.text, " ({clean})");
        }
        for (property, v) in properties {
            let _ = write!(self.text, " {property}={}", pvalue(v));
        }
    }

    /// The field, ended with CRLF.
    pub(crate) fn finish(mut self) -> String {
        self.text.push_str("\r\n");
        self.text
    }
}

/// `atext` (RFC 5322 §3.2.3).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// `token` (RFC 2045 §5.1): any ASCII but space, controls and tspecials.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// `value = token / quoted-string` (RFC 2045 §5.1).
fn value(s: &str) -> Cow<'_, str> {
    if !s.is_empty() && s.bytes().all(is_token_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(quoted_string(s))
    }
}

/// `pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]`: an address or a
/// domain as it is when it is made of atoms, otherwise a quoted-string.
fn pvalue(s: &str) -> Cow<'_, str> {
    let plain = !s.is_empty()
        && s.matches('@').count() <= 1
        && s.bytes()
            .all(|b| is_atext(b) || b == b'.' || b == b'@' || !b.is_ascii());
    if plain {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(quoted_string(s))
    }
}

/// `quoted-string` (RFC 5322 §3.2.4): `"` and `\` escaped, controls (CR, LF) dropped so the
/// field cannot be ended early.
fn quoted_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The header section of `message`: each field as (name, the whole field's range), up to the
/// empty line (or the end, for a message without a body).
fn header_fields(message: &[u8]) -> Vec<(&[u8], std::ops::Range<usize>)> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < message.len() && !matches!(message[pos], b'\r' | b'\n') {
        let start = pos;
        // A field runs on over continuation lines (RFC 5322 §2.2.3 folding).
        loop {
            pos = message[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(message.len(), |i| pos + i + 1);
            if !matches!(message.get(pos), Some(b' ' | b'\t')) {
                break;
            }
        }
        let line = &message[start..pos];
        let name = line
            .iter()
            .position(|&b| b == b':')
            .map_or(&line[..0], |i| &line[..i]);
        fields.push((name, start..pos));
    }
    fields
}

/// Skips `CFWS` (RFC 5322 §3.2.2): folding white space and comments, which nest.
fn skip_cfws(mut s: &[u8]) -> &[u8] {
    loop {
        match s.first() {
            Some(b' ' | b'\t' | b'\r' | b'\n') => s = &s[1..],
            Some(b'(') => {
                let mut depth = 0usize;
                let mut i = 0;
                while i < s.len() {
                    match s[i] {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                s = s.get(i + 1..).unwrap_or_default();
            }
            _ => return s,
        }
    }
}

/// The `authserv-id` of an `Authentication-Results:` field's value (RFC 8601 §2.2).
///
/// ```text
/// authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
///                   ( no-result / 1*resinfo ) [CFWS] CRLF
/// authserv-id     = value
/// value           = token / quoted-string
/// ```
fn authserv_id(field_value: &[u8]) -> Option<Cow<'_, [u8]>> {
    let s = skip_cfws(field_value);
    if let Some(rest) = s.strip_prefix(b"\"") {
        let mut out = Vec::new();
        let mut bytes = rest.iter();
        while let Some(&b) = bytes.next() {
            match b {
                b'"' => return Some(Cow::Owned(out)),
                b'\\' => out.push(*bytes.next()?),
                b'\r' | b'\n' => {}
                b => out.push(b),
            }
        }
        None
    } else {
        let n = s.iter().take_while(|&&b| is_token_char(b)).count();
        (n > 0).then(|| Cow::Borrowed(&s[..n]))
    }
}

/// `message` without the `Authentication-Results:` fields whose `authserv-id` is `own_id`: nobody
/// but this server may claim its results (RFC 8601 §5). Others' fields stay.
pub fn without_own_results<'a>(message: &'a [u8], own_id: &str) -> Cow<'a, [u8]> {
    without_fields(message, |name, value| is_own_result(name, value, own_id))
}

/// Whether the header field `name: value` is an `Authentication-Results:` that claims to
/// be `own_id`'s.
pub(crate) fn is_own_result(name: &[u8], value: &[u8], own_id: &str) -> bool {
    name.trim_ascii_end()
        .eq_ignore_ascii_case(b"Authentication-Results")
        && authserv_id(value).is_some_and(|id| id.eq_ignore_ascii_case(own_id.as_bytes()))
}

/// `message` without the header fields for which `drop(name, value)` holds.
pub(crate) fn without_fields(message: &[u8], drop: impl Fn(&[u8], &[u8]) -> bool) -> Cow<'_, [u8]> {
    let drop: Vec<std::ops::Range<usize>> = header_fields(message)
        .into_iter()
        .filter(|(name, range)| drop(name, &message[range.start + name.len() + 1..range.end]))
        .map(|(_, range)| range)
        .collect();
    if drop.is_empty() {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len());
    let mut pos = 0;
    for range in drop {
        out.extend_from_slice(&message[pos..range.start]);
        pos = range.end;
    }
    out.extend_from_slice(&message[pos..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_grammar() {
        let mut f = ResultsField::new("mx.example.org");
        f.method(
            "spf",
            AuthResult::Pass,
            None,
            None,
            &[("smtp.mailfrom", "alice@example.net")],
        );
        f.method(
            "dkim",
            AuthResult::Fail,
            Some("body hash \"mismatch\"\r\nX-Evil: 1"),
            None,
            &[("header.d", "example.net"), ("header.s", "s1")],
        );
        f.method(
            "dmarc",
            AuthResult::Fail,
            None,
            Some("p=reject (sic)"),
            &[("header.from", "example.net")],
        );
        f.method(
            "x",
            AuthResult::None,
            None,
            None,
            &[("smtp.helo", "[192.0.2.1]")],
        );
        assert_eq!(
            f.finish(),
            "Authentication-Results: mx.example.org;\r\n\
             \tspf=pass smtp.mailfrom=alice@example.net;\r\n\
             \tdkim=fail reason=\"body hash \\\"mismatch\\\"X-Evil: 1\" header.d=example.net header.s=s1;\r\n\
             \tdmarc=fail (p=reject sic) header.from=example.net;\r\n\
             \tx=none smtp.helo=\"[192.0.2.1]\"\r\n"
        );
        assert_eq!(
            ResultsField::new("a b").finish(),
            "Authentication-Results: \"a b\"\r\n"
        );
    }

    #[test]
    fn authserv_ids() {
        let id =
            |s: &str| authserv_id(s.as_bytes()).map(|c| String::from_utf8(c.to_vec()).unwrap());
        assert_eq!(
            id(" mx.example.org; spf=pass").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            id(" (comment (nested)) mx.example.org 1; none").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            id("\r\n\t\"mx.example.org\"; none").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(id(" \"mx\\\".x\"; none").as_deref(), Some("mx\".x"));
        assert_eq!(id(" ; spf=pass"), None);
        assert_eq!(id(" \"unterminated"), None);
        assert_eq!(id(" (unterminated comment"), None);
    }

    #[test]
    fn own_results_are_removed_and_others_kept() {
        let msg = b"Received: from a\r\n\tby b\r\n\
            Authentication-Results: MX.example.org; dkim=pass\r\n\
            authentication-results : other.example; spf=pass\r\n\
            Authentication-Results: (forged)\r\n \"mx.example.org\";\r\n\tdmarc=pass\r\n\
            Subject: Authentication-Results: mx.example.org; x=pass\r\n\
            \r\n\
            Authentication-Results: mx.example.org; in the body, kept\r\n";
        let out = without_own_results(msg, "mx.example.org");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "Received: from a\r\n\tby b\r\n\
             authentication-results : other.example; spf=pass\r\n\
             Subject: Authentication-Results: mx.example.org; x=pass\r\n\
             \r\n\
             Authentication-Results: mx.example.org; in the body, kept\r\n"
        );
        let clean = b"Subject: hi\r\n\r\nbody";
        assert!(matches!(
            without_own_results(clean, "mx.example.org"),
            Cow::Borrowed(_)
        ));
        // No body, no final line end, bare LF: nothing panics, the field still goes.
        let odd = b"Subject: x\nAuthentication-Results: mx.example.org; none";
        assert_eq!(
            &*without_own_results(odd, "mx.example.org"),
            b"Subject: x\n"
        );
    }

    /// A header field of the shapes the filter must take apart: our results and others',
    /// quoted and commented ids, folding, bare LF, no colon, odd octets.
    fn field() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let name = prop_oneof![
            Just(b"Authentication-Results".to_vec()),
            Just(b"authentication-results ".to_vec()),
            Just(b"Subject".to_vec()),
            Just(b"Received".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..6),
        ];
        let piece = prop_oneof![
            Just(b" mx.example.org".to_vec()),
            Just(b" \"mx.example.org\"".to_vec()),
            Just(b" (c (d\\)) ".to_vec()),
            Just(b"; spf=pass".to_vec()),
            Just(b"\r\n\t".to_vec()),
            Just(b"\n ".to_vec()),
            Just(b"(".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"other.example".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..4),
        ];
        let end = prop_oneof![Just(b"\r\n".to_vec()), Just(b"\n".to_vec())];
        (
            name,
            any::<bool>(),
            proptest::collection::vec(piece, 0..6),
            end,
        )
            .prop_map(|(name, colon, pieces, end)| {
                let mut f = name;
                if colon {
                    f.push(b':');
                }
                f.extend(pieces.concat());
                f.extend(end);
                f
            })
    }

    proptest::proptest! {
        /// Whatever the header holds, the filter only takes whole fields out, leaves none of
        /// ours, leaves the body alone, and a second pass changes nothing.
        #[test]
        fn the_filter_removes_whole_fields_of_ours_only(
            fields in proptest::collection::vec(field(), 0..8),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let mut message = fields.concat();
            message.extend_from_slice(b"\r\n");
            message.extend_from_slice(&body);
            let out = without_own_results(&message, "mx.example.org");
            proptest::prop_assert!(out.ends_with(&body));
            // Every field left is a field of the message, in order.
            let mut rest = &message[..];
            for (_, range) in header_fields(&out) {
                let kept = &out[range];
                let at = rest.windows(kept.len()).position(|w| w == kept);
                proptest::prop_assert!(at.is_some(), "{:?} is not in the message", kept);
                rest = &rest[at.unwrap_or(0) + kept.len()..];
            }
            for (name, range) in header_fields(&out) {
                let value = &out[range.start + name.len() + 1..range.end];
                proptest::prop_assert!(
                    name.is_empty() || !is_own_result(name, value, "mx.example.org"),
                    "an own result was left: {:?}",
                    String::from_utf8_lossy(&out[range])
                );
            }
            proptest::prop_assert_eq!(&*without_own_results(&out, "mx.example.org"), &*out);
        }
    }
}
