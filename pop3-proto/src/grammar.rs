//! Productions of RFC 1939 and RFC 2449 §9 shared by commands and responses, as nom parsers
//! over `&str`.
//!
//! Every parser is named after the ABNF production it implements and quotes it. RFC 6856
//! (UTF8) lets user names, passwords and response text carry UTF-8; the parsers accept it
//! there and leave the decision whether it is allowed to the session.

use nom::bytes::complete::take_while1;

use crate::types::command::MessageNumber;

/// The crate's internal parse error: where it went wrong and what was expected there.
pub(crate) type PError<'a> = Expected<&'a str>;

pub(crate) type PResult<'a, O> = sansmail_core::parse::PResult<&'a str, O>;

use sansmail_core::parse::Expected;
pub(crate) use sansmail_core::parse::{expect, fail};

/// The `expected` of an argument over the length limit.
pub(crate) const ARGUMENT_TOO_LONG: &str = "a shorter argument";

/// Runs `parser` and requires it to consume all of `input`.
pub(crate) fn all_consuming<'a, O>(
    input: &'a str,
    parser: impl FnOnce(&'a str) -> PResult<'a, O>,
) -> Result<O, PError<'a>> {
    match parser(input) {
        Ok(("", out)) => Ok(out),
        Ok((rest, _)) => Err(PError {
            input: rest,
            expected: "end of line",
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(PError {
            input: "",
            expected: "more input",
        }),
    }
}

/// `SP`: exactly one space.
pub(crate) fn sp(input: &str) -> PResult<'_, ()> {
    match input.strip_prefix(' ') {
        Some(rest) => Ok((rest, ())),
        None => fail(input, "SP"),
    }
}

/// `VCHAR = %x21-7E`
pub(crate) fn is_vchar(c: char) -> bool {
    c.is_ascii_graphic()
}

/// `VCHAR / UTF8-non-ascii` (RFC 6856 §2: UTF-8 in user names and passwords)
pub(crate) fn is_vchar_utf8(c: char) -> bool {
    is_vchar(c) || !c.is_ascii()
}

/// `param = 1*VCHAR`, at most `max` characters.
pub(crate) fn param(input: &str, max: usize) -> PResult<'_, &str> {
    limited(input, max, expect(input, "param", take_while1(is_vchar))?)
}

fn limited<'a>(input: &'a str, max: usize, (rest, p): (&'a str, &'a str)) -> PResult<'a, &'a str> {
    if p.chars().count() > max {
        return fail(input, ARGUMENT_TOO_LONG);
    }
    Ok((rest, p))
}

/// `1*DIGIT` as a `u64`; overflow is an error, never a wrap.
pub(crate) fn number(input: &str) -> PResult<'_, u64> {
    let (rest, digits) = expect(input, "DIGIT", take_while1(|c: char| c.is_ascii_digit()))?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(input, "a number that fits in 64 bits"),
    }
}

/// `msg = 1*DIGIT`: a message number, from 1, that fits in 32 bits.
pub(crate) fn msg(input: &str) -> PResult<'_, MessageNumber> {
    let (rest, n) = expect(input, "message number", number)?;
    match u32::try_from(n).ok().and_then(MessageNumber::new) {
        Some(m) => Ok((rest, m)),
        None => fail(input, "message number from 1 to 4294967295"),
    }
}

/// `rchar = %x21-2E / %x30-5C / %x5E-7F` (printable ASCII, excluding "/" and "]"; DEL is
/// left out as the control character it is)
pub(crate) fn is_rchar(c: char) -> bool {
    is_vchar(c) && c != '/' && c != ']'
}

/// `resp-level *("/" resp-level)`, `resp-level = 1*rchar`: the inside of a response code.
pub(crate) fn is_resp_code_body(s: &str) -> bool {
    !s.is_empty()
        && s.split('/')
            .all(|l| !l.is_empty() && l.chars().all(is_rchar))
}

/// `resp-code = "[" resp-level *("/" resp-level) "]"`; returns the inside.
pub(crate) fn resp_code(input: &str) -> PResult<'_, &str> {
    let Some(body) = input.strip_prefix('[') else {
        return fail(input, "'['");
    };
    let end = body.find(']').unwrap_or(body.len());
    let inner = &body[..end];
    if end == body.len() || !is_resp_code_body(inner) {
        return fail(input, "resp-code");
    }
    Ok((&body[end + 1..], inner))
}

/// `cchar = %x21-2D / %x2F-7F` (printable ASCII, excluding ".")
pub(crate) fn is_cchar(c: char) -> bool {
    is_vchar(c) && c != '.'
}

/// `capa-tag = 1*cchar`
pub(crate) fn capa_tag(input: &str) -> PResult<'_, &str> {
    expect(input, "capa-tag", take_while1(is_cchar))
}

/// Whether `s` is response or free text: `*( HTAB / %x20-7E / UTF8-non-ascii )`.
pub(crate) fn is_text(s: &str) -> bool {
    // Octet by octet: in a `str`, the octets from 0x80 up are exactly those of the non-ASCII
    // characters, so nothing needs decoding. What is refused is the controls but HT, and DEL;
    // in chunks without an early exit inside, which the compiler turns into vector code.
    s.as_bytes().chunks(32).all(|chunk| {
        let refused = |b: u8| (b < b' ' && b != b'\t') || b == 0x7f;
        chunk.iter().fold(0u8, |bad, &b| bad | u8::from(refused(b))) == 0
    })
}

/// `timestamp = "<" *VCHAR ">"`, conforming to an RFC 822 msg-id (so with an `@`): the first
/// one in `text`, brackets included.
pub(crate) fn find_timestamp(text: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(open) = text[from..].find('<').map(|i| from + i) {
        let body = &text[open + 1..];
        let len = body.find(|c: char| !is_vchar(c) || c == '<' || c == '>');
        match len {
            Some(n) if body[n..].starts_with('>') && body[..n].contains('@') => {
                return Some(&text[open..open + n + 2]);
            }
            _ => from = open + 1,
        }
    }
    None
}

/// `unique-id = 1*70 %x21-7E` (RFC 1939 §7)
pub(crate) fn is_unique_id(s: &str) -> bool {
    (1..=70).contains(&s.len()) && s.chars().all(is_vchar)
}

/// `unique-id` as a server sends it: `1*%x21-7E`. RFC 1939 §7 allows 70 octets at most,
/// but some servers send longer ones, and a client that refused them could not keep track
/// of those messages (fetchmail takes 128); the response line's limit bounds them.
pub(crate) fn unique_id(input: &str) -> PResult<'_, &str> {
    expect(input, "unique-id", take_while1(is_vchar))
}

/// A language tag as LANG uses it (RFC 6856 §3, RFC 5646): `1*40(ALPHA / DIGIT / "-")`.
/// The full RFC 5646 grammar is left to the application.
pub(crate) fn is_language_tag(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_ht_sp_printable_ascii_and_non_ascii() {
        for c in (0..=0x7f_u8).map(char::from) {
            let want = c == '\t' || (' '..='~').contains(&c);
            assert_eq!(is_text(&c.to_string()), want, "{c:?}");
        }
        assert!(is_text(""));
        assert!(is_text("gr\u{fc}\u{df}e \u{4e00}\u{1f600}\tok"));
        // A refused octet anywhere, across the chunks the check works in.
        let long = "x".repeat(100);
        assert!(is_text(&long));
        for at in [0, 1, 31, 32, 33, 63, 64, 99] {
            for bad in ['\r', '\n', '\0', '\u{7f}', '\u{1b}'] {
                let mut s: Vec<char> = long.chars().collect();
                s[at] = bad;
                let s: String = s.into_iter().collect();
                assert!(!is_text(&s), "{bad:?} at {at}");
            }
        }
    }
}
