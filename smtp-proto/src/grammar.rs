//! RFC 5321 productions shared by commands, parameters and replies, as nom parsers over `&str`.
//!
//! Every parser is named after the ABNF production it implements and quotes it. RFC 6531
//! (SMTPUTF8) extends `atext`, `qtextSMTP` and `sub-domain` with UTF-8; the parsers accept
//! UTF-8 there and leave the decision whether it is allowed to the session.

use nom::bytes::complete::{take_while, take_while1};

use crate::types::address::{AddressLiteral, Domain, DomainPart, LocalPart, Mailbox};

/// The crate's internal parse error: where it went wrong and what was expected there.
pub(crate) type PError<'a> = Expected<&'a str>;

pub(crate) type PResult<'a, O> = sansmail_core::parse::PResult<&'a str, O>;

use sansmail_core::parse::Expected;
pub(crate) use sansmail_core::parse::{expect, fail};

/// Matches a fixed ASCII string, ignoring case (ABNF literal strings are case-insensitive).
#[inline]
pub(crate) fn keyword<'a>(input: &'a str, word: &'static str) -> PResult<'a, &'a str> {
    match input.get(..word.len()) {
        Some(head) if head.eq_ignore_ascii_case(word) => Ok((&input[word.len()..], head)),
        _ => fail(input, word),
    }
}

pub(crate) fn is_utf8_non_ascii(c: char) -> bool {
    !c.is_ascii()
}

/// Byte classes for the hot productions, so that a run of characters is one table lookup per
/// octet instead of a UTF-8 decode and a character-set search per character. A class that
/// admits UTF-8 (RFC 6531) admits every octet from 0x80: the input is already valid UTF-8,
/// so a run stops only at an ASCII octet or at the end, both of which are character
/// boundaries. A class without UTF-8 stops at the first octet of a multi-octet character,
/// which is a boundary too.
mod class {
    pub const ATEXT: u8 = 1;
    pub const LDH: u8 = 2;
    pub const ESMTP_VALUE: u8 = 4;
    pub const KEYWORD: u8 = 8;
    pub const DIGIT: u8 = 16;

    pub static TABLE: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut b = 0usize;
        while b < 256 {
            #[allow(clippy::cast_possible_truncation)] // b < 256
            let c = b as u8;
            let alnum = c.is_ascii_alphanumeric();
            let mut v = 0;
            if alnum || c >= 0x80 {
                v |= ATEXT | LDH;
            }
            if matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'/'
                    | b'='
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            ) {
                v |= ATEXT;
            }
            if c == b'-' {
                v |= LDH | KEYWORD;
            }
            if alnum {
                v |= KEYWORD;
            }
            if matches!(c, 33..=60 | 62..=126) || c >= 0x80 {
                v |= ESMTP_VALUE;
            }
            if c.is_ascii_digit() {
                v |= DIGIT;
            }
            t[b] = v;
            b += 1;
        }
        t
    };
}

/// The length of the run of octets of `class` at the start of `input`.
#[inline]
fn run(input: &str, class: u8) -> usize {
    input
        .as_bytes()
        .iter()
        .position(|&b| class::TABLE[usize::from(b)] & class == 0)
        .unwrap_or(input.len())
}

/// `1*` octets of `class`, or an error saying `expected`.
#[inline]
fn run1<'a>(input: &'a str, class: u8, expected: &'static str) -> PResult<'a, &'a str> {
    match run(input, class) {
        0 => fail(input, expected),
        n => Ok((&input[n..], &input[..n])),
    }
}

/// ```text
/// Atom  = 1*atext
/// atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" /
///         "=" / "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"      ; RFC 5322
/// atext =/ UTF8-non-ascii                                           ; RFC 6531
/// ```
#[inline]
pub(crate) fn atom(input: &str) -> PResult<'_, &str> {
    run1(input, class::ATEXT, "Atom")
}

/// `Dot-string = Atom *("." Atom)`
#[inline]
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
#[inline]
pub(crate) fn string(input: &str) -> PResult<'_, &str> {
    if input.starts_with('"') {
        quoted_string(input)
    } else {
        atom(input)
    }
}

/// `Local-part = Dot-string / Quoted-string`
#[inline]
pub(crate) fn local_part(input: &str) -> PResult<'_, &str> {
    if input.starts_with('"') {
        quoted_string(input)
    } else {
        expect(input, "Local-part", dot_string)
    }
}

/// ```text
/// sub-domain = Let-dig [Ldh-str]         ; =/ U-label (RFC 6531)
/// Let-dig    = ALPHA / DIGIT
/// Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
/// ```
#[inline]
pub(crate) fn sub_domain(input: &str) -> PResult<'_, &str> {
    let (rest, label) = run1(input, class::LDH, "sub-domain")?;
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
#[inline]
pub(crate) fn esmtp_keyword(input: &str) -> PResult<'_, &str> {
    if !input.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail(input, "esmtp-keyword");
    }
    run1(input, class::KEYWORD, "esmtp-keyword")
}

/// ```text
/// esmtp-value = 1*(%d33-60 / %d62-126)   ; any CHAR excluding "=", SP, and control
/// esmtp-value =/ UTF8-non-ascii          ; RFC 6531
/// ```
#[inline]
pub(crate) fn esmtp_value(input: &str) -> PResult<'_, &str> {
    run1(input, class::ESMTP_VALUE, "esmtp-value")
}

/// `1*DIGIT` as a `u64`; overflow is an error, never a wrap.
pub(crate) fn number(input: &str) -> PResult<'_, u64> {
    let (rest, digits) = run1(input, class::DIGIT, "DIGIT")?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(input, "a number that fits in 64 bits"),
    }
}

/// Whether `s` consists of characters allowed in a free-form argument or reply text:
/// `%d09 / %d32-126`, plus UTF-8 (RFC 6531).
pub(crate) fn is_text(s: &str) -> bool {
    // Octet by octet: `s` is valid UTF-8, so its octets from 0x80 are exactly its non-ASCII
    // characters.
    s.bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

/// Runs `parser` and requires it to consume all of `input`.
#[inline]
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

/// `Domain / address-literal`
pub(crate) fn domain_part(input: &str) -> PResult<'_, DomainPart<'_>> {
    if input.starts_with('[') {
        let (rest, inner) = address_literal(input)?;
        match AddressLiteral::from_inner(inner) {
            Ok(lit) => Ok((rest, DomainPart::Literal(lit))),
            Err(what) => fail(input, what),
        }
    } else {
        let (rest, d) = expect(input, "Domain or address-literal", domain)?;
        Ok((rest, DomainPart::Domain(Domain::from_parsed(d))))
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`
pub(crate) fn mailbox(input: &str) -> PResult<'_, Mailbox<'_>> {
    let (rest, local) = local_part(input)?;
    let Some(rest) = rest.strip_prefix('@') else {
        return fail(rest, "'@'");
    };
    let (rest, domain) = domain_part(rest)?;
    Ok((rest, Mailbox::new(LocalPart::from_parsed(local), domain)))
}
