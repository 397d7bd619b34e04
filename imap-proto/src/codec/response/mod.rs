//! Parsing responses (RFC 9051 §7 and §9, RFC 3501, and the extensions).
//!
//! ```text
//! response-data   = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data /
//!                   capability-data / enable-data) CRLF
//! response-tagged = tag SP resp-cond-state CRLF
//! continue-req    = "+" SP (resp-text / base64) CRLF
//! ```
//!
//! [`parse_response`] parses one message that the framer (with [`Side::Client`]) has already
//! delimited; [`decode_response`] frames and parses. Parsing is strict by default: every
//! deviation real servers are known for is accepted only under its named [`Leniency`].
//! Recursive productions (BODYSTRUCTURE, THREAD, extension values) are bounded by
//! [`ResponseOptions::max_depth`], so a nesting bomb is an error, not a stack overflow.

mod body;
mod data;
mod ext;
mod fetch;
mod list;
mod status;

use super::{
    core::{self, PError, PResult},
    frame::{FrameLimits, Framed, Framer, Side},
};
use crate::{
    error::{DecodeError, SyntaxError, SyntaxErrorKind, TOO_DEEP},
    types::{
        core::{AString, IString, NString},
        response::{Greeting, Response},
    },
};

/// Deviations from the grammar that real servers are known for. All off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct Leniency {
    /// Spaces before the final CRLF of a data response (`* SEARCH 1 2 ` from Exchange and
    /// others). Relaxes RFC 9051 §9 `response-data = "*" SP (...) CRLF`, which has no room
    /// for them. Status responses and continuation requests are not affected: their trailing
    /// spaces are part of their text.
    pub trailing_space: bool,
    /// `NIL` where a string is required in a body structure: a parameter value
    /// (`("CHARSET" NIL)`) or the transfer encoding. Relaxes RFC 9051 §9
    /// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil` and
    /// `body-fld-enc = ... / string`. The value is kept as `None` and encoded back as `NIL`.
    pub nil_for_string: bool,
    /// Flags holding `]` in flag lists (`FLAGS`, `PERMANENTFLAGS`, FETCH `FLAGS`), as Gmail
    /// sends them. Relaxes RFC 9051 §9 `flag-keyword = atom`, where `ATOM-CHAR` excludes
    /// `resp-specials` (`]`). Such a flag is kept and encoded as it came.
    pub gmail_flags: bool,
    /// A missing `SP resp-text` after a status keyword or `+` (`* OK` CRLF, `+` CRLF), and a
    /// response code with nothing after it (`* OK [HIGHESTMODSEQ 9]` CRLF, as Gmail sends).
    /// Relaxes RFC 9051 §9 `resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text`,
    /// `continue-req = "+" SP (resp-text / base64)` and `resp-text = ["[" resp-text-code "]"
    /// SP] [text]`. The text is empty and is encoded back with its SP.
    pub missing_text: bool,
    /// 8-bit octets in the text of a status response or continuation request when UTF-8 was
    /// not negotiated ([`ResponseOptions::utf8`] off), and octets that are not UTF-8 in a
    /// quoted string of ENVELOPE or a body structure (a Latin-1 subject copied unencoded);
    /// message data (`BODY[]`) is never altered. Relaxes RFC 3501 §9
    /// `TEXT-CHAR`, which is 7-bit, and RFC 9051 §9 `QUOTED-CHAR`, whose 8-bit octets are
    /// UTF-8. UTF-8 is kept; other octets become U+FFFD.
    pub eight_bit_text: bool,
    /// SP between the addresses of an ENVELOPE address list, between the parts of a
    /// multipart body, and between namespace descriptions, as in the RFC's own sample session
    /// (RFC 9051 §8 and RFC 3501 §8 write `((NIL NIL "minutes" ...) ("John Klensin" ...))`).
    /// Relaxes RFC 9051 §9 `env-from = "(" 1*address ")"`, `body-type-mpart = 1*body SP
    /// media-subtype` and `namespace = nil / "(" 1*namespace-descr ")"`. Encoded back without
    /// the spaces.
    pub spaces_in_lists: bool,
    /// `()` for a body's parameters or an ENVELOPE address list that has none, as Mail.ru
    /// and Domino send. Relaxes RFC 9051 §9 `body-fld-param = "(" string SP string ... ")" /
    /// nil` and `env-from = "(" 1*address ")" / nil`. Read and encoded back as `NIL`.
    pub empty_lists: bool,
    /// A day of one digit without its padding space in a date-time (`"8-Mar-2023 ..."`).
    /// Relaxes RFC 9051 §9 `date-day-fixed = (SP DIGIT) / 2DIGIT`. Encoded back with two
    /// digits.
    pub unpadded_day: bool,
    /// NUL in a literal (`{3}` CRLF `a` NUL `b`), as a server serving a damaged message sends
    /// it. Relaxes RFC 9051 §9 `literal = "{" number64 ["+"] "}" CRLF *CHAR8`, where `CHAR8`
    /// excludes NUL. The octets are kept.
    pub nul_in_literals: bool,
}

impl Leniency {
    /// Every leniency on: for clients that talk to whatever server they meet.
    pub const fn all() -> Self {
        Self {
            trailing_space: true,
            nil_for_string: true,
            gmail_flags: true,
            missing_text: true,
            eight_bit_text: true,
            spaces_in_lists: true,
            empty_lists: true,
            unpadded_day: true,
            nul_in_literals: true,
        }
    }
}

/// How responses are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseOptions {
    /// UTF-8 is in force (IMAP4rev2, or UTF8=ACCEPT enabled): mailbox names are UTF-8 rather
    /// than modified UTF-7, and status text may hold UTF-8.
    pub utf8: bool,
    /// The deepest nesting of recursive productions (body structures, threads, extension
    /// values) that is accepted.
    pub max_depth: usize,
    /// The framer's limits, for [`decode_response`]; by default
    /// [`FrameLimits::responses`].
    pub limits: FrameLimits,
    /// The deviations that are accepted.
    pub lenient: Leniency,
}

impl Default for ResponseOptions {
    fn default() -> Self {
        Self {
            utf8: false,
            max_depth: 100,
            limits: FrameLimits::responses(),
            lenient: Leniency::default(),
        }
    }
}

fn no_literal8<'a>(input: &'a [u8], s: &IString<'a>) -> Result<(), nom::Err<PError<'a>>> {
    match s {
        IString::Literal(l) if l.is_binary() => Err(nom::Err::Error(PError {
            input,
            expected: "string (literal8 only in BINARY and METADATA values)",
        })),
        _ => Ok(()),
    }
}

/// `string = quoted / literal` (not `literal8`).
pub(crate) fn string(input: &[u8]) -> PResult<'_, IString<'_>> {
    let (rest, s) = core::string(input)?;
    no_literal8(input, &s)?;
    Ok((rest, s))
}

/// `nstring = string / nil` (not `literal8`).
pub(crate) fn nstring(input: &[u8]) -> PResult<'_, NString<'_>> {
    let (rest, s) = core::nstring(input)?;
    if let Some(s) = &s {
        no_literal8(input, s)?;
    }
    Ok((rest, s))
}

/// `astring = 1*ASTRING-CHAR / string` (not `literal8`).
pub(crate) fn astring(input: &[u8]) -> PResult<'_, AString<'_>> {
    let (rest, s) = core::astring(input)?;
    if let AString::String(s) = &s {
        no_literal8(input, s)?;
    }
    Ok((rest, s))
}

/// A keyword in upper case, in a stack buffer: keywords are matched without allocating.
/// Anything longer than the buffer (no keyword is) becomes `""`, which matches nothing.
pub(crate) struct Upper {
    buf: [u8; 24],
    len: usize,
}

impl Upper {
    pub fn new(word: &[u8]) -> Self {
        let mut buf = [0; 24];
        let len = match buf.get_mut(..word.len()) {
            Some(b) => {
                b.copy_from_slice(word);
                b.make_ascii_uppercase();
                word.len()
            }
            None => 0,
        };
        Self { buf, len }
    }

    /// The word in upper case, matched as bytes (no UTF-8 check: keywords are ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What the parsers of this module need besides their input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cx<'o, 'a> {
    pub opts: &'o ResponseOptions,
    /// The message as text when it is UTF-8 (nearly always): strings are sliced from it
    /// rather than checked one by one.
    text: Option<&'a str>,
}

impl<'o, 'a> Cx<'o, 'a> {
    /// `string = quoted / literal` (not `literal8`), for text (ENVELOPE, body structures).
    // Strings are most of a FETCH response: inlined into each caller, the strict path costs
    // what it did before the lenient readings (`imap_responses`: 12.7 M instructions with
    // `#[inline]`, 12.1 M inlined, under callgrind).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub fn string(self, input: &'a [u8]) -> PResult<'a, IString<'a>> {
        match core::string_in(input, self.text) {
            Ok((rest, s)) => {
                no_literal8(input, &s)?;
                Ok((rest, s))
            }
            Err(e) => self.lenient_string(input, true, e),
        }
    }

    /// `nstring = string / nil` (not `literal8`), for text (ENVELOPE, body structures).
    #[inline]
    pub fn nstring(self, input: &'a [u8]) -> PResult<'a, NString<'a>> {
        self.nstring_with(input, true)
    }

    /// [`Cx::nstring`] for message data (`BODY[]`): octets are never replaced, so a quoted
    /// string that is not UTF-8 stays an error rather than losing them.
    #[inline]
    pub fn data_nstring(self, input: &'a [u8]) -> PResult<'a, NString<'a>> {
        self.nstring_with(input, false)
    }

    // Inlined into each caller, as `string`: the lenient readings are the cold path.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn nstring_with(self, input: &'a [u8], text: bool) -> PResult<'a, NString<'a>> {
        match core::nstring_in(input, self.text) {
            Ok((rest, Some(s))) => {
                no_literal8(input, &s)?;
                Ok((rest, Some(s)))
            }
            Ok(nil) => Ok(nil),
            Err(e) => self
                .lenient_string(input, text, e)
                .map(|(r, s)| (r, Some(s))),
        }
    }

    /// A string the grammar refuses (`error`) but a [`Leniency`] takes: where it is `text`,
    /// a quoted string with octets that are not UTF-8 ([`Leniency::eight_bit_text`]); a
    /// literal holding NUL ([`Leniency::nul_in_literals`]).
    #[cold]
    #[inline(never)]
    fn lenient_string(
        self,
        input: &'a [u8],
        text: bool,
        error: nom::Err<PError<'a>>,
    ) -> PResult<'a, IString<'a>> {
        let l = self.lenient();
        let taken = match (&error, input.first()) {
            (nom::Err::Error(_), Some(b'"')) if text && l.eight_bit_text => {
                core::quoted_lossy(input).map(|(r, q)| (r, IString::Quoted(q)))
            }
            (nom::Err::Error(_), Some(b'{')) if l.nul_in_literals => {
                core::literal_with_nul(input).map(|(r, l)| (r, IString::Literal(l)))
            }
            _ => return Err(error),
        };
        taken.map_err(|_| error)
    }

    pub fn lenient(self) -> &'o Leniency {
        &self.opts.lenient
    }

    /// One level deeper than `depth`; a hard failure past the limit.
    pub fn nest(self, input: &[u8], depth: usize) -> Result<usize, nom::Err<PError<'_>>> {
        if depth >= self.opts.max_depth {
            return Err(nom::Err::Failure(PError {
                input,
                expected: TOO_DEEP,
            }));
        }
        Ok(depth + 1)
    }
}

/// Runs `parser` over the message without its final CRLF; it must consume everything.
fn parse_message<'a, O>(
    message: &'a [u8],
    opts: &ResponseOptions,
    parser: impl FnOnce(Cx<'_, 'a>, &'a [u8]) -> PResult<'a, O>,
) -> Result<O, SyntaxError> {
    // The tag of a tagged response, so that a client can fail the command it answers.
    let tag = core::whole_tag(message);
    let Some(line) = message.strip_suffix(b"\r\n") else {
        return Err(SyntaxError::new(
            SyntaxErrorKind::Syntax,
            tag.as_ref(),
            message,
            &[],
            "CRLF at the end of the message",
        ));
    };
    // One check of the whole line is far cheaper than one per string; a long message (a
    // large literal) is left to the per-string checks.
    let text = if line.len() <= 16 * 1024 {
        std::str::from_utf8(line).ok()
    } else {
        None
    };
    let cx = Cx { opts, text };
    core::all_consuming(line, |i| parser(cx, i)).map_err(|e| {
        SyntaxError::new(
            SyntaxErrorKind::Syntax,
            tag.as_ref(),
            message,
            &message[line.len() - e.input.len()..],
            e.expected,
        )
    })
}

/// Parses one complete, framed response (final CRLF included).
pub fn parse_response<'a>(
    message: &'a [u8],
    opts: &ResponseOptions,
) -> Result<Response<'a>, SyntaxError> {
    parse_message(message, opts, status::response)
}

/// Parses one complete, framed greeting: `* OK`, `* PREAUTH` or `* BYE`.
pub fn parse_greeting<'a>(
    message: &'a [u8],
    opts: &ResponseOptions,
) -> Result<Greeting<'a>, SyntaxError> {
    parse_message(message, opts, status::greeting)
}

/// Finds the end of the response at the start of `input`.
fn frame(input: &[u8], opts: &ResponseOptions) -> Result<usize, DecodeError> {
    match Framer::new(Side::Client, opts.limits).next(input) {
        Framed::Complete { len } => Ok(len),
        Framed::Incomplete | Framed::LiteralAnnounced { .. } => Err(DecodeError::Incomplete),
        Framed::Invalid { error, skip } => Err(DecodeError::Frame { error, skip }),
    }
}

/// Frames and parses the response at the start of `input`: the rest of the input and the
/// response, or [`DecodeError::Incomplete`] when more input is needed.
pub fn decode_response<'a>(
    input: &'a [u8],
    opts: &ResponseOptions,
) -> Result<(&'a [u8], Response<'a>), DecodeError> {
    let len = frame(input, opts)?;
    let (message, rest) = input.split_at(len);
    let response =
        parse_response(message, opts).map_err(|error| DecodeError::Syntax { error, skip: len })?;
    Ok((rest, response))
}

/// Frames and parses the greeting at the start of `input`.
pub fn decode_greeting<'a>(
    input: &'a [u8],
    opts: &ResponseOptions,
) -> Result<(&'a [u8], Greeting<'a>), DecodeError> {
    let len = frame(input, opts)?;
    let (message, rest) = input.split_at(len);
    let greeting =
        parse_greeting(message, opts).map_err(|error| DecodeError::Syntax { error, skip: len })?;
    Ok((rest, greeting))
}

/// A resumable response decoder: keeps its framer between calls, so a response that
/// trickles in is scanned once.
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    framer: Framer,
    opts: ResponseOptions,
}

impl ResponseDecoder {
    /// A decoder with these options.
    pub fn new(opts: ResponseOptions) -> Self {
        Self {
            framer: Framer::new(Side::Client, opts.limits),
            opts,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &ResponseOptions {
        &self.opts
    }

    /// Changes the options (for example once UTF8=ACCEPT is enabled).
    pub fn set_options(&mut self, opts: ResponseOptions) {
        self.framer.set_limits(opts.limits);
        self.opts = opts;
    }

    /// Decodes the response at the start of `buf`, which holds everything received since the
    /// previous response was consumed. Call again with more octets after `Incomplete`; after
    /// any other outcome, drop the octets it covers (the response's length, or
    /// [`DecodeError::skip`]).
    pub fn decode<'a>(&mut self, buf: &'a [u8]) -> Result<(usize, Response<'a>), DecodeError> {
        match self.framer.next(buf) {
            Framed::Incomplete | Framed::LiteralAnnounced { .. } => Err(DecodeError::Incomplete),
            Framed::Invalid { error, skip } => {
                self.framer.reset();
                Err(DecodeError::Frame { error, skip })
            }
            Framed::Complete { len } => {
                self.framer.reset();
                let message = &buf[..len];
                parse_response(message, &self.opts)
                    .map(|r| (len, r))
                    .map_err(|error| DecodeError::Syntax { error, skip: len })
            }
        }
    }
}

/// Whether `name` is a keyword (an extension's FETCH item name).
pub(crate) fn is_keyword(name: &[u8]) -> bool {
    matches!(status::keyword(name), Ok(([], _)))
}

pub(crate) use fetch::is_item_value;
