//! RFC 5321 productions shared by commands, parameters and replies, as nom parsers over `&str`.
//!
//! Every parser is named after the ABNF production it implements and quotes it. RFC 6531
//! (SMTPUTF8) extends `atext`, `qtextSMTP` and `sub-domain` with UTF-8; the parsers accept
//! UTF-8 there and leave the decision whether it is allowed to the session.

use nom::{
    IResult,
    bytes::complete::{take_while, take_while1},
    error::{ErrorKind, ParseError},
};

/// The crate's internal parse error: where it went wrong and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PError<'a> {
    pub input: &'a str,
    pub expected: &'static str,
}

impl<'a> ParseError<&'a str> for PError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        Self {
            input,
            expected: "valid syntax",
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, O> = IResult<&'a str, O, PError<'a>>;

/// Fails at `input` saying `expected` was wanted there.
pub(crate) fn fail<'a, O>(input: &'a str, expected: &'static str) -> PResult<'a, O> {
    Err(nom::Err::Error(PError { input, expected }))
}

/// Runs `parser`; on failure, reports `expected` at the position where it started.
pub(crate) fn expect<'a, O>(
    input: &'a str,
    expected: &'static str,
    parser: impl FnOnce(&'a str) -> PResult<'a, O>,
) -> PResult<'a, O> {
    parser(input).map_err(|e| e.map(|_| PError { input, expected }))
}

/// Matches a fixed ASCII string, ignoring case (ABNF literal strings are case-insensitive).
pub(crate) fn keyword<'a>(input: &'a str, word: &'static str) -> PResult<'a, &'a str> {
    match input.get(..word.len()) {
        Some(head) if head.eq_ignore_ascii_case(word) => Ok((&input[word.len()..], head)),
        _ => fail(input, word),
    }
}

pub(crate) fn is_utf8_non_ascii(c: char) -> bool {
    !c.is_ascii()
}

/// ```text
/// atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
///         "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"      ; RFC 5322
/// atext =/ UTF8-non-ascii                                           ; RFC 6531
/// ```
pub(crate) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_utf8_non_ascii(c)
}

/// `Atom = 1*atext`
pub(crate) fn atom(input: &str) -> PResult<'_, &str> {
    expect(input, "Atom", take_while1(is_atext))
}

/// `Dot-string = Atom *("." Atom)`
pub(crate) fn dot_string(input: &str) -> PResult<'_, &str> {
    let (mut rest, _) = atom(input)?;
    while let Some(after_dot) = rest.strip_prefix('.') {
        let (after, _) = atom(after_dot)?;
        rest = after;
    }
    Ok((rest, &input[..input.len() - rest.len()]))
}

/// ```text
/// Quoted-string   = DQUOTE *QcontentSMTP DQUOTE
/// QcontentSMTP    = qtextSMTP / quoted-pairSMTP
/// quoted-pairSMTP = %d92 %d32-126
/// qtextSMTP       = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
/// ```
/// Returns the whole string, quotes included.
pub(crate) fn quoted_string(input: &str) -> PResult<'_, &str> {
    let Some(body) = input.strip_prefix('"') else {
        return fail(input, "Quoted-string");
    };
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let end = 1 + i + 1;
                return Ok((&input[end..], &input[..end]));
            }
            '\\' => match chars.next() {
                Some((_, ' '..='~')) => {}
                _ => return fail(&body[i..], "quoted-pairSMTP"),
            },
            ' '..='~' => {}
            c if is_utf8_non_ascii(c) => {}
            _ => return fail(&body[i..], "qtextSMTP"),
        }
    }
    fail(input, "closing DQUOTE")
}

/// `String = Atom / Quoted-string`
pub(crate) fn string(input: &str) -> PResult<'_, &str> {
    if input.starts_with('"') {
        quoted_string(input)
    } else {
        atom(input)
    }
}

/// `Local-part = Dot-string / Quoted-string`
pub(crate) fn local_part(input: &str) -> PResult<'_, &str> {
    if input.starts_with('"') {
        quoted_string(input)
    } else {
        expect(input, "Local-part", dot_string)
    }
}

fn is_let_dig(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_utf8_non_ascii(c)
}

/// ```text
/// sub-domain = Let-dig [Ldh-str]         ; =/ U-label (RFC 6531)
/// Let-dig    = ALPHA / DIGIT
/// Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
/// ```
pub(crate) fn sub_domain(input: &str) -> PResult<'_, &str> {
    let (rest, label) = expect(
        input,
        "sub-domain",
        take_while1(|c| is_let_dig(c) || c == '-'),
    )?;
    if label.starts_with('-') || label.ends_with('-') {
        return fail(input, "sub-domain not starting or ending with '-'");
    }
    Ok((rest, label))
}

/// Longest domain name in octets (RFC 5321 §4.5.3.1.2).
pub(crate) const MAX_DOMAIN: usize = 255;
/// Longest label in octets (RFC 1035 §2.3.4).
pub(crate) const MAX_LABEL: usize = 63;

/// `Domain = sub-domain *("." sub-domain)`
pub(crate) fn domain(input: &str) -> PResult<'_, &str> {
    let (mut rest, first) = sub_domain(input)?;
    if first.len() > MAX_LABEL {
        return fail(input, "label of at most 63 octets");
    }
    while let Some(after_dot) = rest.strip_prefix('.') {
        let (after, label) = sub_domain(after_dot)?;
        if label.len() > MAX_LABEL {
            return fail(after_dot, "label of at most 63 octets");
        }
        rest = after;
    }
    let domain = &input[..input.len() - rest.len()];
    if domain.len() > MAX_DOMAIN {
        return fail(input, "domain of at most 255 octets");
    }
    Ok((rest, domain))
}

/// `Ldh-str` as it appears in `Standardized-tag`: letters, digits and hyphens, not ending in
/// a hyphen.
pub(crate) fn ldh_str(input: &str) -> PResult<'_, &str> {
    let (rest, s) = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-')(input)?;
    if s.ends_with('-') {
        return fail(input, "Ldh-str not ending with '-'");
    }
    Ok((rest, s))
}

/// `dcontent = %d33-90 / %d94-126` (printable ASCII except `[`, `\` and `]`)
pub(crate) fn is_dcontent(c: char) -> bool {
    matches!(c, '!'..='Z' | '^'..='~')
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
///                          General-address-literal ) "]"`
///
/// Returns the text between the brackets.
pub(crate) fn address_literal(input: &str) -> PResult<'_, &str> {
    let Some(body) = input.strip_prefix('[') else {
        return fail(input, "address-literal");
    };
    let (rest, inner) = take_while(|c: char| is_dcontent(c))(body)?;
    let Some(rest) = rest.strip_prefix(']') else {
        return fail(rest, "']'");
    };
    if inner.is_empty() {
        return fail(body, "address literal content");
    }
    Ok((rest, inner))
}

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`
pub(crate) fn esmtp_keyword(input: &str) -> PResult<'_, &str> {
    if !input.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail(input, "esmtp-keyword");
    }
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-')(input)
}

/// ```text
/// esmtp-value = 1*(%d33-60 / %d62-126)   ; any CHAR excluding "=", SP, and control
/// esmtp-value =/ UTF8-non-ascii          ; RFC 6531
/// ```
pub(crate) fn is_esmtp_value_char(c: char) -> bool {
    matches!(c, '!'..='<' | '>'..='~') || is_utf8_non_ascii(c)
}

/// `esmtp-value`
pub(crate) fn esmtp_value(input: &str) -> PResult<'_, &str> {
    expect(input, "esmtp-value", take_while1(is_esmtp_value_char))
}

/// `1*DIGIT` as a `u64`; overflow is an error, never a wrap.
pub(crate) fn number(input: &str) -> PResult<'_, u64> {
    let (rest, digits) = expect(input, "DIGIT", take_while1(|c: char| c.is_ascii_digit()))?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(input, "a number that fits in 64 bits"),
    }
}

/// Whether `s` consists of characters allowed in a free-form argument or reply text:
/// `%d09 / %d32-126`, plus UTF-8 (RFC 6531).
pub(crate) fn is_text(s: &str) -> bool {
    s.chars()
        .all(|c| c == '\t' || (' '..='~').contains(&c) || is_utf8_non_ascii(c))
}

/// Runs `parser` and requires it to consume all of `input`.
pub(crate) fn all_consuming<'a, O>(
    input: &'a str,
    parser: impl FnOnce(&'a str) -> PResult<'a, O>,
) -> Result<O, PError<'a>> {
    match parser(input) {
        Ok(("", out)) => Ok(out),
        Ok((rest, _)) => Err(PError {
            input: rest,
            expected: "end of input",
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(PError {
            input: "",
            expected: "more input",
        }),
    }
}
