//! Parsers for the productions every IMAP message is built from (RFC 9051 §9), as nom
//! parsers over the octets of one framed message.

use std::borrow::Cow;

use nom::bytes::complete::take_while1;

use super::frame::LiteralMode;
use crate::types::{
    core::{AString, IString, Literal, Tag, is_astring_char, is_atom_char, is_text_char},
    datetime::{Date, DateTime, month_number},
    flag::Flag,
    section::{Section, SectionText},
    sequence::{SeqItem, SeqNum, SequenceSet},
};

/// The crate's internal parse error: where it went wrong and what was expected there.
pub(crate) type PError<'a> = Expected<&'a [u8]>;

pub(crate) type PResult<'a, O> = sansmail_core::parse::PResult<&'a [u8], O>;

use sansmail_core::parse::Expected;
pub(crate) use sansmail_core::parse::{expect, fail};

/// A fixed string, ignoring ASCII case (ABNF literal strings are case-insensitive).
pub(crate) fn tag_no_case<'a>(input: &'a [u8], word: &'static str) -> PResult<'a, &'a [u8]> {
    match input.get(..word.len()) {
        Some(head) if head.eq_ignore_ascii_case(word.as_bytes()) => {
            Ok((&input[word.len()..], head))
        }
        _ => fail(input, word),
    }
}

/// One octet.
pub(crate) fn byte(input: &[u8], b: u8) -> PResult<'_, ()> {
    match input.first() {
        Some(&c) if c == b => Ok((&input[1..], ())),
        _ => fail(
            input,
            match b {
                b' ' => "SP",
                b'(' => "'('",
                b')' => "')'",
                b'[' => "'['",
                b']' => "']'",
                b'"' => "DQUOTE",
                b'<' => "'<'",
                b'>' => "'>'",
                b'.' => "'.'",
                b':' => "':'",
                b'=' => "'='",
                _ => "a delimiter",
            },
        ),
    }
}

pub(crate) fn sp(input: &[u8]) -> PResult<'_, ()> {
    byte(input, b' ')
}

/// `ATOM-CHAR`, a bit of [`CLASS`].
pub(crate) const ATOM_CHAR: u8 = 1;
/// `ASTRING-CHAR`.
pub(crate) const ASTRING_CHAR: u8 = 1 << 1;
/// `<any ASTRING-CHAR except "+">`, the octets of a `tag`.
pub(crate) const TAG_CHAR: u8 = 1 << 2;
/// The octets of the keywords this crate matches: letters, digits, `.`, `-` and `=`.
pub(crate) const KEYWORD_CHAR: u8 = 1 << 3;
/// `ALPHA`: the octets of a command name.
pub(crate) const ALPHA: u8 = 1 << 5;
/// `TEXT-CHAR` (with 8-bit octets) except the `quoted-specials`: taken as they are in a
/// quoted string.
const QUOTED_PLAIN: u8 = 1 << 4;

/// The byte classes of the grammar, one bit each: one load per octet instead of a chain of
/// comparisons. Built from the ABNF predicates themselves.
static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)]
        let b = i as u8;
        let mut c = 0;
        if is_atom_char(b) {
            c |= ATOM_CHAR;
        }
        if is_astring_char(b) {
            c |= ASTRING_CHAR;
        }
        if is_astring_char(b) && b != b'+' {
            c |= TAG_CHAR;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'=') {
            c |= KEYWORD_CHAR;
        }
        if b.is_ascii_alphabetic() {
            c |= ALPHA;
        }
        if is_text_char(b) && b != b'"' && b != b'\\' {
            c |= QUOTED_PLAIN;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// The length of the run of octets of `class` at the start of `input`.
#[inline]
pub(crate) fn run(input: &[u8], class: u8) -> usize {
    // Eight octets a round, unrolled: a lookup and a test per octet, the loop's bookkeeping
    // once per eight.
    let mut i = 0;
    while let Some(w) = input.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        for (j, &c) in w.iter().enumerate() {
            if CLASS[usize::from(c)] & class == 0 {
                return i + j;
            }
        }
        i += 8;
    }
    while let Some(&c) = input.get(i) {
        if CLASS[usize::from(c)] & class == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// A non-empty run of `class`, or `expected` at `input`.
#[inline]
pub(crate) fn run1<'a>(
    input: &'a [u8],
    class: u8,
    expected: &'static str,
) -> PResult<'a, &'a [u8]> {
    match run(input, class) {
        0 => fail(input, expected),
        n => Ok((&input[n..], &input[..n])),
    }
}

/// ASCII octets as `&str` (callers only pass ASCII runs).
pub(crate) fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// `atom = 1*ATOM-CHAR`
pub(crate) fn atom(input: &[u8]) -> PResult<'_, &str> {
    let (rest, a) = run1(input, ATOM_CHAR, "atom")?;
    Ok((rest, ascii(a)))
}

/// `1*ASTRING-CHAR`, in a message whose `text` is known (see [`text_of`]).
fn astring_atom<'a>(input: &'a [u8], text: Option<&'a str>) -> PResult<'a, &'a str> {
    let (rest, a) = run1(input, ASTRING_CHAR, "astring")?;
    Ok((rest, text_of(text, a).unwrap_or_default()))
}

/// ```text
/// quoted      = DQUOTE *QUOTED-CHAR DQUOTE
/// QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
/// ```
/// Returns the value, unescaped (borrowed when there was nothing to unescape).
pub(crate) fn quoted(input: &[u8]) -> PResult<'_, Cow<'_, str>> {
    quoted_in(input, None)
}

/// `part` (of the message `text`, already checked as UTF-8, when given) as text: sliced from
/// `text` when it lies in it, instead of checking it again; checked on its own otherwise.
pub(crate) fn text_of<'a>(text: Option<&'a str>, part: &'a [u8]) -> Option<&'a str> {
    if let Some(t) = text {
        let at = part.as_ptr().addr().wrapping_sub(t.as_ptr().addr());
        if let Some(s) = at.checked_add(part.len()).and_then(|end| t.get(at..end)) {
            return Some(s);
        }
    }
    std::str::from_utf8(part).ok()
}

/// [`quoted`] in a message whose `text` is known (see [`text_of`]).
pub(crate) fn quoted_in<'a>(input: &'a [u8], text: Option<&'a str>) -> PResult<'a, Cow<'a, str>> {
    let QuotedSpan {
        body,
        raw,
        rest,
        escaped,
    } = quoted_span(input)?;
    let Some(text) = text_of(text, raw) else {
        return fail(body, "UTF-8 in quoted string");
    };
    if !escaped {
        return Ok((rest, Cow::Borrowed(text)));
    }
    Ok((rest, Cow::Owned(unescape(text))))
}

/// The text of a quoted string without its `\` escapes (each escapes `"` or `\`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(e) = chars.next() {
                out.push(e);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`quoted`] with octets that are not UTF-8 taken as U+FFFD: what a client makes of the
/// Latin-1 subjects some servers copy into ENVELOPE unencoded.
#[cold]
pub(crate) fn quoted_lossy(input: &[u8]) -> PResult<'_, Cow<'_, str>> {
    let QuotedSpan { raw, rest, .. } = quoted_span(input)?;
    // The escapes are ASCII, so they survive the replacement unchanged.
    Ok((rest, Cow::Owned(unescape(&String::from_utf8_lossy(raw)))))
}

/// A `quoted` found in the input.
struct QuotedSpan<'a> {
    /// The input after the opening quote.
    body: &'a [u8],
    /// The octets between the quotes, escapes still in.
    raw: &'a [u8],
    /// The input after the closing quote.
    rest: &'a [u8],
    /// Whether `raw` holds an escape.
    escaped: bool,
}

// Its span stays in registers inside its caller (see `Cx::string`).
#[allow(clippy::inline_always)]
#[inline(always)]
fn quoted_span(input: &[u8]) -> Result<QuotedSpan<'_>, nom::Err<PError<'_>>> {
    let (body, ()) = byte(input, b'"')?;
    let mut escaped = false;
    let mut i = 0;
    loop {
        i += run(&body[i..], QUOTED_PLAIN);
        match body.get(i) {
            None => return Err(error(input, "closing DQUOTE")),
            Some(b'"') => break,
            Some(b'\\') => {
                match body.get(i + 1) {
                    Some(b'"' | b'\\') => {}
                    _ => return Err(error(&body[i..], "\\\\ or \\\" (quoted-specials)")),
                }
                escaped = true;
                i += 2;
            }
            Some(_) => return Err(error(&body[i..], "QUOTED-CHAR")),
        }
    }
    Ok(QuotedSpan {
        body,
        raw: &body[..i],
        rest: &body[i + 1..],
        escaped,
    })
}

fn error<'a>(input: &'a [u8], expected: &'static str) -> nom::Err<PError<'a>> {
    nom::Err::Error(PError { input, expected })
}

/// `number64 = 1*DIGIT` (fits in 63 bits)
pub(crate) fn number64(input: &[u8]) -> PResult<'_, u64> {
    let (rest, digits) = expect(input, "number", take_while1(|b: u8| b.is_ascii_digit()))?;
    match number64_value(digits) {
        Some(n) => Ok((rest, n)),
        None => fail(input, "a number below 2^63"),
    }
}

/// The value of `digits` (ASCII digits, any number of leading zeros), or `None` past
/// 2^63 - 1. Folded directly (no UTF-8 check and no `str::parse`: this is the hottest
/// production of FETCH responses); overflow is refused, never wrapped.
pub(crate) fn number64_value(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .filter(|&n| i64::try_from(n).is_ok())
    })
}

/// `number = 1*DIGIT` (fits in 32 bits)
pub(crate) fn number(input: &[u8]) -> PResult<'_, u32> {
    let (rest, n) = number64(input)?;
    match u32::try_from(n) {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(input, "a number below 2^32"),
    }
}

/// `nz-number = digit-nz *DIGIT`
pub(crate) fn nz_number(input: &[u8]) -> PResult<'_, u32> {
    match number(input)? {
        (_, 0) => fail(input, "nz-number"),
        ok => Ok(ok),
    }
}

/// ```text
/// literal  = "{" number64 ["+"] "}" CRLF *CHAR8     ; CHAR8 = %x01-ff
/// literal8 = "~{" number64 "}" CRLF *OCTET          ; RFC 3516, RFC 9051
/// ```
pub(crate) fn literal(input: &[u8]) -> PResult<'_, Literal<'_>> {
    literal_with(input, false)
}

/// [`literal`] with NUL among its octets, as a server may send a damaged message.
pub(crate) fn literal_with_nul(input: &[u8]) -> PResult<'_, Literal<'_>> {
    literal_with(input, true)
}

fn literal_with(input: &[u8], nul: bool) -> PResult<'_, Literal<'_>> {
    let (binary, after_tilde) = match input.strip_prefix(b"~") {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let (rest, ()) = byte(after_tilde, b'{')?;
    let (rest, len) = number64(rest)?;
    let (rest, mode) = match rest.strip_prefix(b"+") {
        Some(r) => (r, LiteralMode::NonSync),
        None => (rest, LiteralMode::Sync),
    };
    let Some(rest) = rest.strip_prefix(b"}\r\n") else {
        return fail(rest, "'}' CRLF");
    };
    let Some(data) = usize::try_from(len).ok().and_then(|n| rest.get(..n)) else {
        return fail(rest, "the literal's octets");
    };
    if !binary && !nul && data.contains(&0) {
        return fail(rest, "no NUL in a literal (CHAR8)");
    }
    Ok((
        &rest[data.len()..],
        Literal::from_parsed(data, mode, binary),
    ))
}

/// `string = quoted / literal`
pub(crate) fn string(input: &[u8]) -> PResult<'_, IString<'_>> {
    string_in(input, None)
}

/// [`string`] in a message whose `text` is known (see [`text_of`]).
pub(crate) fn string_in<'a>(input: &'a [u8], text: Option<&'a str>) -> PResult<'a, IString<'a>> {
    match input.first() {
        Some(b'"') => quoted_in(input, text).map(|(r, q)| (r, IString::Quoted(q))),
        Some(b'{' | b'~') => literal(input).map(|(r, l)| (r, IString::Literal(l))),
        _ => fail(input, "string"),
    }
}

/// `astring = 1*ASTRING-CHAR / string`
///
/// `~` is an ASTRING-CHAR (`~peter/mail`); only `~{` starts a literal8.
pub(crate) fn astring(input: &[u8]) -> PResult<'_, AString<'_>> {
    astring_in(input, None)
}

/// [`astring`] in a message whose `text` is known (see [`text_of`]).
pub(crate) fn astring_in<'a>(input: &'a [u8], text: Option<&'a str>) -> PResult<'a, AString<'a>> {
    match input {
        [b'"' | b'{', ..] | [b'~', b'{', ..] => {
            string_in(input, text).map(|(r, s)| (r, AString::String(s)))
        }
        _ => astring_atom(input, text).map(|(r, a)| (r, atom_as_sent(a))),
    }
}

/// An astring read as an atom, in the form it is sent in so that it encodes back to the
/// same value: `NIL` (any case) is sent quoted, lest it be read as nil.
pub(crate) fn atom_as_sent(a: &str) -> AString<'_> {
    if a.eq_ignore_ascii_case("NIL") {
        AString::String(IString::Quoted(Cow::Borrowed(a)))
    } else {
        AString::Atom(Cow::Borrowed(a))
    }
}

/// `nil = "NIL"`
pub(crate) fn nil(input: &[u8]) -> PResult<'_, ()> {
    tag_no_case(input, "NIL").map(|(r, _)| (r, ()))
}

/// `nstring = string / nil`
pub(crate) fn nstring(input: &[u8]) -> PResult<'_, Option<IString<'_>>> {
    nstring_in(input, None)
}

/// [`nstring`] in a message whose `text` is known (see [`text_of`]).
pub(crate) fn nstring_in<'a>(
    input: &'a [u8],
    text: Option<&'a str>,
) -> PResult<'a, Option<IString<'a>>> {
    // Most values are quoted: tried before NIL.
    if input.first() == Some(&b'"') {
        return quoted_in(input, text).map(|(r, q)| (r, Some(IString::Quoted(q))));
    }
    if let Ok((rest, ())) = nil(input) {
        return Ok((rest, None));
    }
    expect(input, "nstring", |i| string_in(i, text)).map(|(r, s)| (r, Some(s)))
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
pub(crate) fn tag(input: &[u8]) -> PResult<'_, Tag<'_>> {
    let (rest, t) = run1(input, TAG_CHAR, "tag")?;
    Ok((rest, Tag::from_parsed(ascii(t))))
}

/// The tag a message starts with, only when its whole first token (up to SP or the line's
/// CRLF) is one: for `x+4 NOOP` the prefix `x` could name another command of the client's.
pub(crate) fn whole_tag(input: &[u8]) -> Option<Tag<'_>> {
    let (rest, t) = tag(input).ok()?;
    (rest.first() == Some(&b' ') || rest.starts_with(b"\r\n")).then_some(t)
}

/// `mailbox = "INBOX" / astring` (the INBOX rule is applied by [`crate::types::mailbox::Mailbox`])
pub(crate) fn mailbox(input: &[u8]) -> PResult<'_, AString<'_>> {
    expect(input, "mailbox", astring)
}

/// `text = 1*TEXT-CHAR`, here also empty, up to the end of the line.
pub(crate) fn text(input: &[u8]) -> PResult<'_, &str> {
    let end = input
        .iter()
        .position(|&b| !is_text_char(b))
        .unwrap_or(input.len());
    match std::str::from_utf8(&input[..end]) {
        Ok(t) => Ok((&input[end..], t)),
        Err(_) => fail(input, "UTF-8 text"),
    }
}

/// `seq-number = nz-number / "*"`
fn seq_number(input: &[u8]) -> PResult<'_, SeqNum> {
    if let Some(rest) = input.strip_prefix(b"*") {
        return Ok((rest, SeqNum::Largest));
    }
    expect(input, "seq-number", nz_number).map(|(r, n)| (r, SeqNum::Value(n)))
}

/// ```text
/// sequence-set = (seq-number / seq-range) ["," sequence-set]
/// seq-range    = seq-number ":" seq-number
/// sequence-set =/ "$"                                    ; RFC 5182
/// ```
pub(crate) fn sequence_set(input: &[u8]) -> PResult<'_, SequenceSet> {
    if let Some(rest) = input.strip_prefix(b"$") {
        return Ok((rest, SequenceSet::Saved));
    }
    let mut items = Vec::new();
    let mut rest = input;
    loop {
        let (r, a) = seq_number(rest)?;
        let (r, item) = match r.strip_prefix(b":") {
            Some(r) => {
                let (r, b) = seq_number(r)?;
                (r, SeqItem::Range(a, b))
            }
            None => (r, SeqItem::Single(a)),
        };
        items.push(item);
        match r.strip_prefix(b",") {
            Some(r) => rest = r,
            None => {
                rest = r;
                break;
            }
        }
    }
    match SequenceSet::new(items) {
        Ok(set) => Ok((rest, set)),
        Err(_) => fail(input, "sequence-set"),
    }
}

/// ```text
/// flag           = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
///                  flag-keyword / flag-extension
/// flag-extension = "\" atom
/// flag-perm      = flag / "\*"
/// flag-fetch     = flag / "\Recent"
/// ```
pub(crate) fn flag(input: &[u8]) -> PResult<'_, Flag<'_>> {
    let (rest, len) = if let Some(r) = input.strip_prefix(b"\\*") {
        (r, 2)
    } else {
        let after = input.strip_prefix(b"\\").unwrap_or(input);
        let (r, a) = run1(after, ATOM_CHAR, "atom")?;
        (r, input.len() - after.len() + a.len())
    };
    match Flag::parse(ascii(&input[..len])) {
        Ok(f) => Ok((rest, f)),
        Err(_) => fail(input, "flag"),
    }
}

/// `"(" [flag *(SP flag)] ")"`
pub(crate) fn flag_list(input: &[u8]) -> PResult<'_, Vec<Flag<'_>>> {
    paren_list(input, flag)
}

/// `"(" [item *(SP item)] ")"`
pub(crate) fn paren_list<'a, O>(
    input: &'a [u8],
    item: impl FnMut(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, Vec<O>> {
    // Room for eight from the start: one allocation, where growing from four would
    // reallocate for the five-item lists (STATUS attributes, FETCH items) clients send.
    paren_list_with(input, 8, item)
}

/// [`paren_list`] into a Vec made with `capacity`, for lists that are usually long.
pub(crate) fn paren_list_with<'a, O>(
    input: &'a [u8],
    capacity: usize,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, Vec<O>> {
    let (mut rest, ()) = byte(input, b'(')?;
    if let Some(r) = rest.strip_prefix(b")") {
        return Ok((r, Vec::new()));
    }
    let mut out = Vec::with_capacity(capacity);
    loop {
        let (r, o) = item(rest)?;
        out.push(o);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, out));
        }
        let (r, ()) = sp(r)?;
        rest = r;
    }
}

fn digits_exact(input: &[u8], n: usize) -> PResult<'_, u32> {
    match input.get(..n) {
        Some(d) if d.iter().all(u8::is_ascii_digit) => Ok((
            &input[n..],
            d.iter().fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')),
        )),
        _ => fail(input, "DIGIT"),
    }
}

fn date_month(input: &[u8]) -> PResult<'_, u8> {
    match input.get(..3).and_then(month_number) {
        Some(m) => Ok((&input[3..], m)),
        None => fail(input, "date-month"),
    }
}

fn small<T: TryFrom<u32>>(input: &[u8], v: u32) -> Result<T, nom::Err<PError<'_>>> {
    T::try_from(v).map_err(|_| {
        nom::Err::Error(PError {
            input,
            expected: "a smaller number",
        })
    })
}

/// ```text
/// date-time      = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
/// date-day-fixed = (SP DIGIT) / 2DIGIT
/// time           = 2DIGIT ":" 2DIGIT ":" 2DIGIT
/// zone           = ("+" / "-") 4DIGIT
/// ```
pub(crate) fn date_time(input: &[u8]) -> PResult<'_, DateTime> {
    let (rest, ()) = byte(input, b'"')?;
    let (rest, day) = match rest.strip_prefix(b" ") {
        Some(r) => digits_exact(r, 1)?,
        None => digits_exact(rest, 2)?,
    };
    let (rest, ()) = byte(rest, b'-')?;
    let (rest, month) = date_month(rest)?;
    let (rest, ()) = byte(rest, b'-')?;
    let (rest, year) = digits_exact(rest, 4)?;
    let (rest, ()) = sp(rest)?;
    let (rest, h) = digits_exact(rest, 2)?;
    let (rest, ()) = byte(rest, b':')?;
    let (rest, m) = digits_exact(rest, 2)?;
    let (rest, ()) = byte(rest, b':')?;
    let (rest, s) = digits_exact(rest, 2)?;
    let (rest, ()) = sp(rest)?;
    let (sign, rest) = match rest.first() {
        Some(b'+') => (1i32, &rest[1..]),
        Some(b'-') => (-1, &rest[1..]),
        _ => return fail(rest, "zone"),
    };
    let (rest, zone) = digits_exact(rest, 4)?;
    let (rest, ()) = byte(rest, b'"')?;
    let zone_minutes = sign * i32::try_from(zone / 100 * 60 + zone % 100).unwrap_or(i32::MAX);
    let date = Date::new(
        small(input, year)?,
        small(input, month.into())?,
        small(input, day)?,
    );
    let dt = date.and_then(|d| {
        DateTime::new(
            d,
            u8::try_from(h).unwrap_or(99),
            u8::try_from(m).unwrap_or(99),
            u8::try_from(s).unwrap_or(99),
            i16::try_from(zone_minutes).unwrap_or(i16::MAX),
        )
    });
    match dt {
        Ok(dt) => Ok((rest, dt)),
        Err(_) => fail(input, "a valid date-time"),
    }
}

/// `date = date-text / DQUOTE date-text DQUOTE`,
/// `date-text = date-day "-" date-month "-" date-year`, `date-day = 1*2DIGIT`
pub(crate) fn date(input: &[u8]) -> PResult<'_, Date> {
    let (quoted, inner) = match input.strip_prefix(b"\"") {
        Some(r) => (true, r),
        None => (false, input),
    };
    let (rest, day) = digits_exact(inner, 2).or_else(|_| digits_exact(inner, 1))?;
    let (rest, ()) = byte(rest, b'-')?;
    let (rest, month) = date_month(rest)?;
    let (rest, ()) = byte(rest, b'-')?;
    let (rest, year) = digits_exact(rest, 4)?;
    let rest = if quoted { byte(rest, b'"')?.0 } else { rest };
    match Date::new(small(input, year)?, month, small(input, day)?) {
        Ok(d) => Ok((rest, d)),
        Err(_) => fail(input, "a valid date"),
    }
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`
fn header_list(input: &[u8]) -> PResult<'_, Vec<AString<'_>>> {
    // The names are checked as UTF-8 once, up to the first `)`, rather than one by one.
    let text = memchr::memchr(b')', input).and_then(|end| std::str::from_utf8(&input[..end]).ok());
    // Clients ask for a dozen fields or more: one allocation instead of three.
    let (rest, list) = paren_list_with(input, 16, |i| astring_in(i, text))?;
    if list.is_empty() {
        return fail(input, "at least one header-fld-name");
    }
    Ok((rest, list))
}

/// ```text
/// section         = "[" [section-spec] "]"
/// section-spec    = section-msgtext / (section-part ["." section-text])
/// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
/// section-part    = nz-number *("." nz-number)
/// section-text    = section-msgtext / "MIME"
/// ```
pub(crate) fn section(input: &[u8]) -> PResult<'_, Section<'_>> {
    let (mut rest, ()) = byte(input, b'[')?;
    let mut part = Vec::new();
    while rest.first().is_some_and(u8::is_ascii_digit) {
        let (r, n) = nz_number(rest)?;
        part.push(n);
        match r.strip_prefix(b".") {
            Some(after) if after.first().is_some_and(u8::is_ascii_digit) => rest = after,
            Some(after) => {
                rest = after;
                break;
            }
            None => {
                rest = r;
                break;
            }
        }
    }
    let after_part_dot = !part.is_empty()
        && input.len() - rest.len() > 1
        && rest.len() < input.len()
        && input[input.len() - rest.len() - 1] == b'.';
    let (rest, text) = if rest.starts_with(b"]") {
        if after_part_dot {
            return fail(rest, "section-text");
        }
        (rest, None)
    } else if let Ok((r, _)) = tag_no_case(rest, "HEADER.FIELDS.NOT") {
        let (r, ()) = sp(r)?;
        let (r, fields) = header_list(r)?;
        (r, Some(SectionText::HeaderFields { not: true, fields }))
    } else if let Ok((r, _)) = tag_no_case(rest, "HEADER.FIELDS") {
        let (r, ()) = sp(r)?;
        let (r, fields) = header_list(r)?;
        (r, Some(SectionText::HeaderFields { not: false, fields }))
    } else if let Ok((r, _)) = tag_no_case(rest, "HEADER") {
        (r, Some(SectionText::Header))
    } else if let Ok((r, _)) = tag_no_case(rest, "TEXT") {
        (r, Some(SectionText::Text))
    } else if let (Ok((r, _)), false) = (tag_no_case(rest, "MIME"), part.is_empty()) {
        (r, Some(SectionText::Mime))
    } else {
        return fail(rest, "section-text or ']'");
    };
    let (rest, ()) = byte(rest, b']')?;
    Ok((rest, Section { part, text }))
}

/// Requires `parser` to consume everything.
pub(crate) fn all_consuming<'a, O>(
    input: &'a [u8],
    parser: impl FnOnce(&'a [u8]) -> PResult<'a, O>,
) -> Result<O, PError<'a>> {
    match parser(input) {
        Ok(([], out)) => Ok(out),
        Ok((rest, _)) => Err(PError {
            input: rest,
            expected: "end of input",
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(PError {
            input: &[],
            expected: "more input",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_classes_match_the_abnf() {
        for b in 0..=255u8 {
            let has = |class| run(&[b], class) == 1;
            assert_eq!(has(ATOM_CHAR), is_atom_char(b), "{b}");
            assert_eq!(has(ASTRING_CHAR), is_astring_char(b), "{b}");
            assert_eq!(has(TAG_CHAR), is_astring_char(b) && b != b'+', "{b}");
            assert_eq!(has(ALPHA), b.is_ascii_alphabetic(), "{b}");
            assert_eq!(
                has(QUOTED_PLAIN),
                is_text_char(b) && b != b'"' && b != b'\\',
                "{b}"
            );
            assert_eq!(
                has(KEYWORD_CHAR),
                b.is_ascii_alphanumeric() || b"-.=".contains(&b),
                "{b}"
            );
        }
    }

    proptest::proptest! {
        /// The unrolled run stops where an octet-by-octet one does, for every class.
        #[test]
        fn run_matches_octet_by_octet(
            b in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'Z', b'0', b'-', b'.', b'"', b'\\', b' ', b'(', b'+', 0x80, b'\r']),
                0..40,
            ),
        ) {
            for class in [ATOM_CHAR, ASTRING_CHAR, TAG_CHAR, KEYWORD_CHAR, ALPHA, QUOTED_PLAIN] {
                let expected = b
                    .iter()
                    .position(|&c| CLASS[usize::from(c)] & class == 0)
                    .unwrap_or(b.len());
                proptest::prop_assert_eq!(run(&b, class), expected);
            }
        }
    }

    #[test]
    fn strings() {
        assert_eq!(
            astring(b"foo bar").unwrap(),
            (&b" bar"[..], AString::Atom("foo".into()))
        );
        assert_eq!(quoted(b"\"p@ss w0rd\" x").unwrap().1, "p@ss w0rd");
        assert_eq!(quoted(b"\"a\\\"b\\\\c\"").unwrap().1, "a\"b\\c");
        assert!(quoted(b"\"a\\nb\"").is_err());
        assert!(quoted(b"\"a\0b\"").is_err());
        let (rest, l) = literal(b"{3}\r\nabc)").unwrap();
        assert_eq!(
            (rest, l.data(), l.mode()),
            (&b")"[..], &b"abc"[..], LiteralMode::Sync)
        );
        assert!(literal(b"{3}\r\na\0c").is_err());
        assert_eq!(literal(b"~{3+}\r\na\0c").unwrap().1.data(), b"a\0c");
        assert_eq!(nstring(b"NIL").unwrap().1, None);
        assert_eq!(
            astring(b"~peter/mail x").unwrap(),
            (&b" x"[..], AString::Atom("~peter/mail".into()))
        );
    }

    #[test]
    fn sequence_sets() {
        let (_, s) = sequence_set(b"4576,4578,4581:4585").unwrap();
        assert_eq!(s.to_string(), "4576,4578,4581:4585");
        assert_eq!(sequence_set(b"4:*").unwrap().1.to_string(), "4:*");
        assert!(sequence_set(b"0").is_err());
        assert_eq!(sequence_set(b"$").unwrap().1, SequenceSet::Saved);
    }

    #[test]
    fn sections() {
        let (_, s) = section(b"[HEADER.FIELDS (From To)]").unwrap();
        assert!(
            matches!(s.text, Some(SectionText::HeaderFields { not: false, ref fields }) if fields.len() == 2)
        );
        let (_, s) = section(b"[1.2.MIME]").unwrap();
        assert_eq!(s.part, [1, 2]);
        assert_eq!(section(b"[]").unwrap().1, Section::default());
        assert!(section(b"[MIME]").is_err());
        assert!(section(b"[1.]").is_err());
    }

    #[test]
    fn dates() {
        let (_, dt) = date_time(b"\"17-Jul-2025 02:44:25 -0700\"").unwrap();
        assert_eq!(dt.to_string(), "17-Jul-2025 02:44:25 -0700");
        let (_, dt) = date_time(b"\" 7-Jul-2025 02:44:25 +0000\"").unwrap();
        assert_eq!(dt.date().day(), 7);
        assert_eq!(date(b"1-Feb-2025").unwrap().1.to_string(), "1-Feb-2025");
        assert!(date(b"30-Feb-2025").is_err());
    }
}
