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
pub(crate) use sansmail_core::parse::fail;

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
    /// `xchar`: `!` to `~` except `+` and `=` (RFC 3461 §4).
    pub const XCHAR: u8 = 32;
    /// An upper-case hexadecimal digit, as `hexchar` wants.
    pub const HEX_UPPER: u8 = 64;
    /// `base64-char = ALPHA / DIGIT / "+" / "/"` (RFC 4954 §4).
    pub const BASE64: u8 = 128;

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
                v |= DIGIT | HEX_UPPER;
            }
            if matches!(c, b'A'..=b'F') {
                v |= HEX_UPPER;
            }
            if matches!(c, b'!'..=b'~') && c != b'+' && c != b'=' {
                v |= XCHAR;
            }
            if alnum || c == b'+' || c == b'/' {
                v |= BASE64;
            }
            t[b] = v;
            b += 1;
        }
        t
    };
}

/// Where a production failed: the offset into the text being parsed and what the grammar
/// expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) at: usize,
    pub(crate) expected: &'static str,
}

/// What an offset-based production returns: where it ended, and its value.
pub(crate) type Step<T> = Result<(usize, T), Fail>;

/// Fails at `at`, expecting `expected`.
#[inline]
pub(crate) fn fail_at<T>(at: usize, expected: &'static str) -> Result<T, Fail> {
    Err(Fail { at, expected })
}

/// Runs an offset-based production as a nom parser over `input`.
#[inline]
fn lift<'a, O>(input: &'a str, step: impl FnOnce(&'a str, usize) -> Step<O>) -> PResult<'a, O> {
    match step(input, 0) {
        Ok((end, v)) => Ok((&input[end..], v)),
        Err(Fail { at, expected }) => fail(&input[at..], expected),
    }
}

/// ```text
/// xtext   = *( xchar / hexchar )
/// xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "="
/// hexchar = "+" 2(%x30-39 / %x41-46)
/// ```
pub(crate) fn is_xtext(b: &[u8]) -> bool {
    let mut i = 0;
    loop {
        i = run_end(b, i, class::XCHAR);
        match b.get(i) {
            None => return true,
            Some(b'+')
                if b.get(i + 1..i + 3).is_some_and(|h| {
                    h.iter()
                        .all(|&c| class::TABLE[usize::from(c)] & class::HEX_UPPER != 0)
                }) =>
            {
                i += 3;
            }
            Some(_) => return false,
        }
    }
}

/// ```text
/// base64      = base64-terminal / ( 1*(4base64-char) [base64-terminal] )
/// base64-char = ALPHA / DIGIT / "+" / "/"
/// ```
/// As [`sansmail_core::is_base64`] (the empty string included), from the byte classes.
pub(crate) fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    let chars = run_end(b, 0, class::BASE64);
    b.len().is_multiple_of(4) && b.len() - chars <= 2 && b[chars..].iter().all(|&c| c == b'=')
}

/// Where the run of octets of `class` that starts at `from` ends.
///
/// Eight octets a round, unrolled: a table lookup and a test per octet, and the loop's
/// bookkeeping once per eight. Most runs are short (labels, keywords), so the set-up is
/// kept to one bounds check.
#[inline]
pub(crate) fn run_end(b: &[u8], from: usize, class: u8) -> usize {
    let mut i = from;
    while let Some(w) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        for (j, &c) in w.iter().enumerate() {
            if class::TABLE[usize::from(c)] & class == 0 {
                return i + j;
            }
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if class::TABLE[usize::from(c)] & class == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// Where the run of `atext` octets that starts at `from` ends.
#[inline]
pub(crate) fn atext_end(b: &[u8], from: usize) -> usize {
    run_end(b, from, class::ATEXT)
}

/// The length of the run of octets of `class` at the start of `input`.
#[inline]
fn run(input: &str, class: u8) -> usize {
    run_end(input.as_bytes(), 0, class)
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

/// Where the [`dot_string`] at offset `at` of `b` ends.
#[inline]
pub(crate) fn dot_string_end(b: &[u8], at: usize) -> Result<usize, Fail> {
    let mut i = at;
    loop {
        let start = i;
        i = run_end(b, i, class::ATEXT);
        if i == start {
            return fail_at(start, "Atom");
        }
        if b.get(i) != Some(&b'.') {
            return Ok(i);
        }
        i += 1;
    }
}

/// [`dot_string`] at offset `at` of `s`.
#[inline]
pub(crate) fn dot_string_at(s: &str, at: usize) -> Step<&str> {
    dot_string_end(s.as_bytes(), at).map(|end| (end, &s[at..end]))
}

/// `Dot-string = Atom *("." Atom)`
#[inline]
pub(crate) fn dot_string(input: &str) -> PResult<'_, &str> {
    lift(input, dot_string_at)
}

/// Where the [`quoted_string`] at offset `at` of `b` ends.
#[inline]
pub(crate) fn quoted_string_end(b: &[u8], at: usize) -> Result<usize, Fail> {
    if b.get(at) != Some(&b'"') {
        return fail_at(at, "Quoted-string");
    }
    let mut i = at + 1;
    loop {
        match b.get(i) {
            None => return fail_at(at, "closing DQUOTE"),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match b.get(i + 1) {
                Some(b' '..=b'~') => i += 2,
                _ => return fail_at(i, "quoted-pairSMTP"),
            },
            // The text is UTF-8, so octets from 0x80 are exactly its non-ASCII characters.
            Some(b' '..=b'~' | 0x80..) => i += 1,
            Some(_) => return fail_at(i, "qtextSMTP"),
        }
    }
}

/// [`quoted_string`] at offset `at` of `s`.
pub(crate) fn quoted_string_at(s: &str, at: usize) -> Step<&str> {
    quoted_string_end(s.as_bytes(), at).map(|end| (end, &s[at..end]))
}

/// ```text
/// Quoted-string   = DQUOTE *QcontentSMTP DQUOTE
/// QcontentSMTP    = qtextSMTP / quoted-pairSMTP
/// quoted-pairSMTP = %d92 %d32-126
/// qtextSMTP       = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
/// ```
/// Returns the whole string, quotes included.
pub(crate) fn quoted_string(input: &str) -> PResult<'_, &str> {
    lift(input, quoted_string_at)
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

/// Where the [`local_part`] at offset `at` of `b` ends.
#[inline]
pub(crate) fn local_part_end(b: &[u8], at: usize) -> Result<usize, Fail> {
    if b.get(at) == Some(&b'"') {
        quoted_string_end(b, at)
    } else {
        dot_string_end(b, at).map_err(|_| Fail {
            at,
            expected: "Local-part",
        })
    }
}

/// [`local_part`] at offset `at` of `s`.
#[inline]
pub(crate) fn local_part_at(s: &str, at: usize) -> Step<&str> {
    local_part_end(s.as_bytes(), at).map(|end| (end, &s[at..end]))
}

/// `Local-part = Dot-string / Quoted-string`
#[inline]
pub(crate) fn local_part(input: &str) -> PResult<'_, &str> {
    lift(input, local_part_at)
}

/// Longest domain name in octets (RFC 5321 §4.5.3.1.2).
pub(crate) const MAX_DOMAIN: usize = 255;
/// Longest label in octets (RFC 1035 §2.3.4).
pub(crate) const MAX_LABEL: usize = 63;

/// Where the [`domain`] at offset `at` of `b` ends: one pass over the octets, label by label.
///
/// ```text
/// sub-domain = Let-dig [Ldh-str]         ; =/ U-label (RFC 6531)
/// Let-dig    = ALPHA / DIGIT
/// Ldh-str    = *( ALPHA / DIGIT / "-" ) Let-dig
/// ```
#[inline]
pub(crate) fn domain_end(b: &[u8], at: usize) -> Result<usize, Fail> {
    let mut i = at;
    loop {
        let start = i;
        i = run_end(b, i, class::LDH);
        if i == start {
            return fail_at(start, "sub-domain");
        }
        if b[start] == b'-' || b[i - 1] == b'-' {
            return fail_at(start, "sub-domain not starting or ending with '-'");
        }
        if i - start > MAX_LABEL {
            return fail_at(start, "label of at most 63 octets");
        }
        if b.get(i) != Some(&b'.') {
            break;
        }
        i += 1;
    }
    if i - at > MAX_DOMAIN {
        return fail_at(at, "domain of at most 255 octets");
    }
    Ok(i)
}

/// [`domain`] at offset `at` of `s`.
#[inline]
pub(crate) fn domain_at(s: &str, at: usize) -> Step<&str> {
    domain_end(s.as_bytes(), at).map(|end| (end, &s[at..end]))
}

/// `Domain = sub-domain *("." sub-domain)`
pub(crate) fn domain(input: &str) -> PResult<'_, &str> {
    lift(input, domain_at)
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

/// Where the [`esmtp_keyword`] at offset `at` of `b` ends.
#[inline]
pub(crate) fn esmtp_keyword_end(b: &[u8], at: usize) -> Result<usize, Fail> {
    let end = run_end(b, at, class::KEYWORD);
    if end == at || b[at] == b'-' {
        return fail_at(at, "esmtp-keyword");
    }
    Ok(end)
}

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`
#[inline]
pub(crate) fn esmtp_keyword(input: &str) -> PResult<'_, &str> {
    lift(input, |s, at| {
        esmtp_keyword_end(s.as_bytes(), at).map(|end| (end, &s[at..end]))
    })
}

/// Where the [`esmtp_value`] at offset `at` of `b` ends.
#[inline]
pub(crate) fn esmtp_value_end(b: &[u8], at: usize) -> Result<usize, Fail> {
    let end = run_end(b, at, class::ESMTP_VALUE);
    if end == at {
        return fail_at(at, "esmtp-value");
    }
    Ok(end)
}

/// ```text
/// esmtp-value = 1*(%d33-60 / %d62-126)   ; any CHAR excluding "=", SP, and control
/// esmtp-value =/ UTF8-non-ascii          ; RFC 6531
/// ```
#[inline]
pub(crate) fn esmtp_value(input: &str) -> PResult<'_, &str> {
    lift(input, |s, at| {
        esmtp_value_end(s.as_bytes(), at).map(|end| (end, &s[at..end]))
    })
}

/// Up to 16 octets of `b[at..end]` as a little-endian `u128` with bit 5 set in each octet,
/// for matching a keyword against [`folded`] constants in one comparison; `None` when longer.
/// Reading is cheapest when `b` goes on for 16 octets after `at` (the octets past `end` are
/// masked off): pass the input the line was cut from, not only the line.
///
/// Setting bit 5 lower-cases ASCII letters and leaves digits and `-` as they are; the octets
/// it could confuse with those (control characters) are never part of a keyword or value.
/// No folded octet is zero, so words of different lengths never compare equal.
#[inline]
pub(crate) fn fold16(b: &[u8], at: usize, end: usize) -> Option<u128> {
    let len = end - at;
    if len > 16 {
        return None;
    }
    let w = match b.get(at..at + 16) {
        Some(s) => u128::from_le_bytes(s.try_into().ok()?),
        None => {
            let mut buf = [0u8; 16];
            buf[..len].copy_from_slice(&b[at..end]);
            u128::from_le_bytes(buf)
        }
    };
    Some((w | 0x2020_2020_2020_2020_2020_2020_2020_2020) & MASK16[len])
}

/// `MASK16[n]` keeps the low `n` octets of a `u128`: a load instead of a 128-bit shift.
static MASK16: [u128; 17] = {
    let mut m = [0u128; 17];
    let mut n = 1;
    while n < 16 {
        m[n] = (1u128 << (n * 8)) - 1;
        n += 1;
    }
    m[16] = u128::MAX;
    m
};

/// A keyword of at most 16 octets as [`fold16`] reads it.
pub(crate) const fn folded(word: &str) -> u128 {
    let b = word.as_bytes();
    assert!(b.len() <= 16);
    let mut v = 0u128;
    let mut i = 0;
    while i < b.len() {
        v |= ((b[i] | 0x20) as u128) << (8 * i);
        i += 1;
    }
    v
}

/// `1*DIGIT` as a `u64` from the octets of a digit run; `None` on overflow.
#[inline]
pub(crate) fn digits_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))
    })
}

/// `1*DIGIT` as a `u64` at offset `at` of `b`; overflow is an error, never a wrap.
#[inline]
pub(crate) fn number_at(b: &[u8], at: usize) -> Step<u64> {
    let end = run_end(b, at, class::DIGIT);
    if end == at {
        return fail_at(at, "DIGIT");
    }
    match digits_u64(&b[at..end]) {
        Some(n) => Ok((end, n)),
        None => fail_at(at, "a number that fits in 64 bits"),
    }
}

/// Whether every octet of `b` is a digit (and there is at least one).
#[inline]
pub(crate) fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// Whether `s` consists of characters allowed in a free-form argument or reply text:
/// `%d09 / %d32-126`, plus UTF-8 (RFC 6531).
pub(crate) fn is_text(s: &str) -> bool {
    text_end(s.as_bytes(), 0) == s.len()
}

/// Where the run of text octets (HT, SP to `~`, and from 0x80: the octets of UTF-8
/// characters, when `b` is known to be UTF-8) that starts at `from` ends: at the first CR,
/// LF, other control character or DEL, or at the end of `b`.
///
/// Eight octets at a time: in a word, `(w - 0x20..) & !w & 0x80..` has the high bit of the
/// first octet below 0x20 set (octets after it may be flagged falsely, through the borrow,
/// but they are never the lowest), and the same on `w ^ 0x7f..` finds the first DEL.
#[inline]
pub(crate) fn text_end(b: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut i = from;
    // While a whole word is left: `i <= last` keeps `i + 8` in bounds and from overflowing,
    // so the loop carries no other check.
    let last = b.len().checked_sub(8);
    while last.is_some_and(|last| i <= last) {
        let w = b
            .get(i..i + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .map_or(0, u64::from_le_bytes);
        let del = w ^ (ONES * 0x7f);
        let stop = ((w.wrapping_sub(ONES * 0x20) & !w) | (del.wrapping_sub(ONES) & !del)) & HIGH;
        if stop == 0 {
            i += 8;
            continue;
        }
        i += (stop.trailing_zeros() / 8) as usize;
        if b.get(i) != Some(&b'\t') {
            return i;
        }
        i += 1;
    }
    while let Some(&c) = b.get(i) {
        if (c < b' ' && c != b'\t') || c == 0x7f {
            break;
        }
        i += 1;
    }
    i
}

/// `b[from..to]` as text, checked to be UTF-8, where `b[floor..from]` is known to be ASCII;
/// the octets after `to`, when they are UTF-8 too, make the check cheaper.
///
/// `str::from_utf8` goes octet by octet up to the first address that is a multiple of 8,
/// then 16 octets at a time, then octet by octet after the last whole 16 octets. So the
/// check starts at such an address in the ASCII prefix when there is one, and runs on past
/// `to` to where its last 16 octets end when `b` goes on that far: a short text is then
/// checked in one or two steps instead of octet by octet. Only when that wider check fails
/// (the octets after `to` end inside a character, say) is `b[from..to]` checked alone, which
/// gives the exact answer and error.
// Out of line, the call costs about what the wider check saves (callgrind, smtp_replies).
#[allow(clippy::inline_always)]
#[inline(always)]
pub(crate) fn utf8_span(
    b: &[u8],
    floor: usize,
    from: usize,
    to: usize,
) -> Result<&str, std::str::Utf8Error> {
    let addr = b.as_ptr().addr();
    let back = addr.wrapping_add(from) % 8;
    let start = if from - floor >= back {
        from - back
    } else {
        from
    };
    // Octets before the first aligned address, then whole blocks of 16 to at least `to`.
    let lead = (8 - addr.wrapping_add(start) % 8) % 8;
    if let Some(body) = (to - start).checked_sub(lead) {
        let end = to + (body.wrapping_neg() & 15);
        if let Some(Ok(wide)) = b.get(start..end).map(std::str::from_utf8)
            && let Some((_, text)) = wide.split_at_checked(from - start)
            && let Some((text, _)) = text.split_at_checked(to - from)
        {
            return Ok(text);
        }
    }
    std::str::from_utf8(&b[from..to])
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

/// What follows the `@` of a mailbox (or the argument of EHLO), before it is built: the
/// offsets of a domain, or of the text between the brackets of an address literal that was
/// checked to be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host {
    Domain(usize, usize),
    Literal(usize, usize),
}

impl Host {
    /// The value, with its text from `t`.
    #[inline]
    pub(crate) fn build(self, t: Text<'_>) -> Option<DomainPart<'_>> {
        Some(match self {
            Self::Domain(a, e) => DomainPart::Domain(Domain::from_parsed(t.get(a, e)?)),
            Self::Literal(a, e) => {
                DomainPart::Literal(AddressLiteral::from_inner(t.get(a, e)?).ok()?)
            }
        })
    }
}

/// A mailbox before it is built: the offsets of its local part, and its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MailboxAt {
    pub(crate) local: (usize, usize),
    pub(crate) host: Host,
}

impl MailboxAt {
    /// The value, with its text from `t`.
    #[inline]
    pub(crate) fn build(self, t: Text<'_>) -> Option<Mailbox<'_>> {
        let local = LocalPart::from_parsed(t.get(self.local.0, self.local.1)?);
        Some(Mailbox::new(local, self.host.build(t)?))
    }
}

/// The text of a line that was checked to be UTF-8 from offset `base`, for building values
/// from the offsets the byte-level productions return.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    pub(crate) s: &'a str,
    pub(crate) base: usize,
}

impl<'a> Text<'a> {
    /// The text from offset `a` to `e` of the line; `None` only if those are not character
    /// boundaries inside the checked text, which the productions never return.
    #[inline]
    pub(crate) fn get(self, a: usize, e: usize) -> Option<&'a str> {
        self.s
            .get(a.wrapping_sub(self.base)..e.wrapping_sub(self.base))
    }
}

/// [`domain_part`] at offset `at` of `b`: `Domain / address-literal`.
#[inline]
pub(crate) fn host_at(b: &[u8], at: usize) -> Step<Host> {
    if b.get(at) == Some(&b'[') {
        return address_literal_at(b, at);
    }
    match domain_end(b, at) {
        Ok(end) => Ok((end, Host::Domain(at, end))),
        Err(_) => fail_at(at, "Domain or address-literal"),
    }
}

/// An `address-literal` at offset `at` of `b`, where `b[at]` is `[`.
#[inline(never)]
fn address_literal_at(b: &[u8], at: usize) -> Step<Host> {
    let from = at + 1;
    let end = from
        + b.get(from..).map_or(0, |r| {
            r.iter()
                .position(|&c| !is_dcontent(char::from(c)))
                .unwrap_or(r.len())
        });
    if b.get(end) != Some(&b']') {
        return fail_at(end, "']'");
    }
    if end == from {
        return fail_at(from, "address literal content");
    }
    // `dcontent` is ASCII.
    let Ok(inner) = std::str::from_utf8(&b[from..end]) else {
        return fail_at(from, "address literal content");
    };
    // Checked here, for the error; built again with the rest of the value.
    match AddressLiteral::from_inner(inner) {
        Ok(_) => Ok((end + 1, Host::Literal(from, end))),
        Err(what) => fail_at(at, what),
    }
}

/// [`mailbox`] at offset `at` of `b`.
#[inline]
pub(crate) fn mailbox_spans(b: &[u8], at: usize) -> Step<MailboxAt> {
    let i = local_part_end(b, at)?;
    if b.get(i) != Some(&b'@') {
        return fail_at(i, "'@'");
    }
    let (end, host) = host_at(b, i + 1)?;
    Ok((
        end,
        MailboxAt {
            local: (at, i),
            host,
        },
    ))
}

/// [`mailbox`] at offset `at` of `s`.
#[inline]
pub(crate) fn mailbox_at(s: &str, at: usize) -> Step<Mailbox<'_>> {
    let (end, m) = mailbox_spans(s.as_bytes(), at)?;
    match m.build(Text { s, base: 0 }) {
        Some(m) => Ok((end, m)),
        None => fail_at(at, "UTF-8"),
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`
pub(crate) fn mailbox(input: &str) -> PResult<'_, Mailbox<'_>> {
    lift(input, mailbox_at)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every octet's classes against the ABNF productions they stand for.
    #[test]
    fn byte_classes_match_the_abnf() {
        for c in 0..=255u8 {
            let t = class::TABLE[usize::from(c)];
            let has = |k: u8| t & k != 0;
            let non_ascii = c >= 0x80;
            let atext = c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c);
            assert_eq!(has(class::ATEXT), atext || non_ascii, "atext {c}");
            let ldh = c.is_ascii_alphanumeric() || c == b'-';
            assert_eq!(has(class::LDH), ldh || non_ascii, "Ldh {c}");
            assert_eq!(has(class::KEYWORD), ldh, "esmtp-keyword {c}");
            let value = (33..=60).contains(&c) || (62..=126).contains(&c);
            assert_eq!(
                has(class::ESMTP_VALUE),
                value || non_ascii,
                "esmtp-value {c}"
            );
            assert_eq!(has(class::DIGIT), c.is_ascii_digit(), "DIGIT {c}");
            let xchar = (33..=126).contains(&c) && c != b'+' && c != b'=';
            assert_eq!(has(class::XCHAR), xchar, "xchar {c}");
            let hex = c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
            assert_eq!(has(class::HEX_UPPER), hex, "hexchar {c}");
            let b64 = c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
            assert_eq!(has(class::BASE64), b64, "base64-char {c}");
        }
    }

    proptest! {
        /// The word-at-a-time search stops where an octet-by-octet one does.
        #[test]
        fn text_end_matches_octet_by_octet(
            b in prop::collection::vec(
                prop::sample::select(vec![b'a', b' ', b'\t', b'\r', b'\n', 0x00, 0x1f, 0x7f, 0x80, 0xff]),
                0..40,
            ),
            from in 0usize..40,
        ) {
            let from = from.min(b.len());
            let expected = b[from..]
                .iter()
                .position(|&c| (c < b' ' && c != b'\t') || c == 0x7f)
                .map_or(b.len(), |i| from + i);
            prop_assert_eq!(text_end(&b, from), expected);
        }

        /// The unrolled run stops where an octet-by-octet one does.
        #[test]
        fn run_end_matches_octet_by_octet(
            b in prop::collection::vec(
                prop::sample::select(vec![b'a', b'-', b'.', b'@', b'=', b'+', b'9', 0x80, b'\r']),
                0..40,
            ),
            from in 0usize..44,
        ) {
            for k in [class::ATEXT, class::LDH, class::KEYWORD, class::ESMTP_VALUE, class::XCHAR] {
                let expected = b.get(from..).map_or(from, |r| {
                    from + r.iter().position(|&c| class::TABLE[usize::from(c)] & k == 0).unwrap_or(r.len())
                });
                prop_assert_eq!(run_end(&b, from, k), expected);
            }
        }

        /// The table-driven base64 check agrees with the shared one.
        #[test]
        fn is_base64_matches_core(s in "[A-Za-z0-9+/=*é ]{0,14}") {
            prop_assert_eq!(is_base64(&s), sansmail_core::is_base64(&s));
        }

        /// Checking past the span or from before it gives the same answer as checking the
        /// span alone, errors included.
        #[test]
        fn utf8_span_matches_from_utf8(
            b in prop::collection::vec(
                prop::sample::select(vec![b'a', b' ', 0x80, 0xa9, 0xc3, 0xe2, 0xf0, 0xff]),
                0..64,
            ),
            from in 0usize..64,
            len in 0usize..64,
        ) {
            let from = from.min(b.len());
            let to = (from + len).min(b.len());
            let floor = b[..from].iter().rposition(|c| !c.is_ascii()).map_or(0, |i| i + 1);
            prop_assert_eq!(utf8_span(&b, floor, from, to), std::str::from_utf8(&b[from..to]));
        }
    }
}
