//! Framing, parsing and encoding: pure functions over bytes.
//!
//! Decoders return `Ok((rest, message))`, `Err(DecodeError::Incomplete)` when more input is
//! needed, or another [`DecodeError`] when the input can never become valid.
//!
//! Whether a `+OK` is followed by a multi-line body depends on the command it answers
//! ([`Command::response_kind`]), so the response decoder takes an [`Expect`]. Small
//! multi-line answers (CAPA, LIST, UIDL) can be decoded whole with [`decode_response`];
//! message content (RETR, TOP) is read in chunks with a [`MultiLineReceiver`] after the first
//! line, and written with a [`Stuffer`].

mod command;
mod encode;
pub mod line;
mod multiline;
pub(crate) mod response;
pub mod transcript;

use std::borrow::Cow;

pub use encode::{
    EncodeError, encode_body, encode_capability, encode_command, encode_continuation,
    encode_language, encode_reply, encode_response, encode_sasl_response, encode_scan_listing,
    encode_unique_id_listing,
};
pub use multiline::{MultiLineReceiver, Stuffer};

use crate::{
    DecodeError, Limits, grammar,
    types::{
        capability::Capability,
        command::Command,
        listing::{Language, ScanListing, UniqueIdListing},
        response::{Body, Expect, Reply, Response},
        sasl::Secret,
    },
};

/// Decodes the command line at the start of `input` under the default [`Limits`].
pub fn decode_command(input: &[u8]) -> Result<(&[u8], Command<'_>), DecodeError> {
    let limits = Limits::DEFAULT;
    decode_command_in(input, limits.max_command_line, limits.max_argument)
}

/// Decodes the command line at the start of `input`.
pub fn decode_command_with<'a>(
    input: &'a [u8],
    limits: &Limits,
) -> Result<(&'a [u8], Command<'a>), DecodeError> {
    decode_command_in(input, limits.max_command_line, limits.max_argument)
}

/// One pass for a line that is valid: the command is parsed straight from `input` up to its
/// CR, which must start the CRLF within `max_line` (so no more than `max_line` octets are
/// read). Anything else (a bad command, a bare CR or LF, a line too long or not complete yet)
/// is framed first and parsed again as a line, which gives the error exactly.
#[inline]
fn decode_command_in(
    input: &[u8],
    max_line: usize,
    max_arg: usize,
) -> Result<(&[u8], Command<'_>), DecodeError> {
    let head = &input[..input.len().min(max_line)];
    let mut cur = command::Cursor::<true>::new(head);
    // The CRLF is the end of the line `command::command` would check for.
    if let Ok(cmd) = command::keyword_and_arguments(&mut cur, max_arg) {
        let end = cur.pos();
        if end + 2 <= max_line && input.get(end..end + 2) == Some(b"\r\n") {
            return Ok((&input[end + 2..], cmd));
        }
    }
    decode_command_framed(input, max_line, max_arg)
}

/// The line is framed first, then parsed: for everything but a valid complete line, kept out
/// of the one-pass path so that it stays small.
#[cold]
#[inline(never)]
fn decode_command_framed(
    input: &[u8],
    max_line: usize,
    max_arg: usize,
) -> Result<(&[u8], Command<'_>), DecodeError> {
    let (line, rest) = line::split_line(input, max_line)?;
    Ok((rest, parse_line(line, max_arg)?))
}

/// Converts a line to `&str`, reporting where the UTF-8 breaks.
fn utf8<'a>(line: &'a [u8], expected: &'static str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(line).map_err(|e| DecodeError::Syntax {
        at: e.valid_up_to(),
        expected,
    })
}

/// Maps a parse error inside `text` to a [`DecodeError::Syntax`] with its offset.
fn syntax(text: &str, e: &grammar::PError<'_>) -> DecodeError {
    DecodeError::Syntax {
        at: text.len().saturating_sub(e.input.len()),
        expected: e.expected,
    }
}

/// Parses one command line, without its CRLF.
pub fn parse_command_line<'a>(line: &'a [u8], limits: &Limits) -> Result<Command<'a>, DecodeError> {
    parse_line(line, limits.max_argument)
}

/// A line that is not UTF-8 fails as such, wherever else it goes wrong first; the parsers
/// check UTF-8 only where they take text, so it is checked here once one fails.
fn parse_line(line: &[u8], max_arg: usize) -> Result<Command<'_>, DecodeError> {
    command::command(&mut command::Cursor::<false>::new(line), max_arg)
        .map_err(|e| utf8(line, "UTF-8").err().unwrap_or(e))
}

/// A client's line during AUTH (RFC 5034 §4): a response, or `*` to cancel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslLine<'a> {
    /// Base64 (possibly empty), validated but not decoded.
    Response(Secret<Cow<'a, str>>),
    /// `*`: the client cancels the exchange.
    Cancel,
}

/// Parses one line of a SASL exchange, without its CRLF: `base64 / "*"`.
pub fn parse_sasl_line(line: &[u8]) -> Result<SaslLine<'_>, DecodeError> {
    let text = utf8(line, "base64 or '*'")?;
    if text == "*" {
        Ok(SaslLine::Cancel)
    } else if crate::types::sasl::is_base64(text) {
        Ok(SaslLine::Response(Secret::new(Cow::Borrowed(text))))
    } else {
        Err(DecodeError::Syntax {
            at: 0,
            expected: "base64 or '*'",
        })
    }
}

/// Decodes the SASL line at the start of `input`.
pub fn decode_sasl_line(
    input: &[u8],
    max_line: usize,
) -> Result<(&[u8], SaslLine<'_>), DecodeError> {
    let (line, rest) = line::split_line(input, max_line)?;
    Ok((rest, parse_sasl_line(line)?))
}

/// Parses a response line (not a continuation), without its CRLF.
pub fn parse_response_line(line: &[u8]) -> Result<Response<'_>, DecodeError> {
    let text = utf8(line, "UTF-8 text")?;
    grammar::all_consuming(text, response::single_line).map_err(|e| syntax(text, &e))
}

/// A `+OK`/`-ERR` line whose text is not the grammar's (octets that are not UTF-8, control
/// characters: Latin-1 greetings and errors from localized servers), read the way a client
/// should be liberal in: the text with each such octet or control as U+FFFD. `None` when the
/// line does not start with a status.
pub(crate) fn parse_response_line_lossy(line: &[u8]) -> Option<Response<'static>> {
    let text: String = String::from_utf8_lossy(line)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    grammar::all_consuming(text.as_str(), response::single_line)
        .ok()
        .map(Response::into_owned)
}

/// Parses the first line of a reply given what is expected: under [`Expect::Sasl`], a `+ `
/// challenge is accepted too.
pub fn parse_reply_line(line: &[u8], expect: Expect) -> Result<Reply<'_>, DecodeError> {
    if expect == Expect::Sasl && line.starts_with(b"+ ") {
        let text = utf8(line, "base64")?;
        return grammar::all_consuming(text, response::continue_req)
            .map(Reply::Continue)
            .map_err(|e| syntax(text, &e));
    }
    parse_response_line(line).map(Reply::Single)
}

/// Decodes a whole reply at the start of `input` under the default [`Limits`].
pub fn decode_response(input: &[u8], expect: Expect) -> Result<(&[u8], Reply<'_>), DecodeError> {
    decode_response_with(input, expect, &Limits::DEFAULT)
}

/// Decodes a whole reply at the start of `input`: the first line, and under
/// [`Expect::MultiLine`] after a `+OK`, the body up to the terminating `.` CRLF.
///
/// The body is found by searching for CRLF `.` CRLF from its start on every call; to read
/// large bodies as they arrive, decode the first line with [`line::split_line`] and
/// [`parse_reply_line`] and the body with a [`MultiLineReceiver`].
pub fn decode_response_with<'a>(
    input: &'a [u8],
    expect: Expect,
    limits: &Limits,
) -> Result<(&'a [u8], Reply<'a>), DecodeError> {
    let max_line = if expect == Expect::Sasl {
        limits.max_sasl_line.max(limits.max_response_line)
    } else {
        limits.max_response_line
    };
    let (line, rest) = line::split_line(input, max_line)?;
    let reply = parse_reply_line(line, expect)?;
    let response = match reply {
        Reply::Single(r) if expect == Expect::MultiLine && r.is_ok() => r,
        other => return Ok((rest, other)),
    };
    let max = limits.max_response_size;
    let (body_len, consumed) = if rest.starts_with(b".\r\n") {
        (0, 3)
    } else {
        // Built once: building a finder costs more than searching a short body.
        static BODY_END: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\r\n.\r\n"));
        match BODY_END.find(rest) {
            Some(i) => (i + 2, i + 5),
            None if rest.len() > max => return Err(DecodeError::ResponseTooLarge { max }),
            None => return Err(DecodeError::Incomplete),
        }
    };
    if body_len > max {
        return Err(DecodeError::ResponseTooLarge { max });
    }
    let body = Body::from_parsed(&rest[..body_len]);
    Ok((&rest[consumed..], Reply::MultiLine { response, body }))
}

/// Parses one line of a CAPA body, without its CRLF (and already unstuffed).
pub fn parse_capability(line: &[u8]) -> Result<Capability<'_>, DecodeError> {
    let text = utf8(line, "capability")?;
    grammar::all_consuming(text, response::capability).map_err(|e| syntax(text, &e))
}

/// Parses one line of a LIST body: `msg SP size`.
pub fn parse_scan_listing(line: &[u8]) -> Result<ScanListing, DecodeError> {
    let text = utf8(line, "scan listing")?;
    grammar::all_consuming(text, response::scan_listing).map_err(|e| syntax(text, &e))
}

/// Parses one line of a UIDL body: `msg SP unique-id`.
pub fn parse_unique_id_listing(line: &[u8]) -> Result<UniqueIdListing<'_>, DecodeError> {
    let text = utf8(line, "unique-id listing")?;
    grammar::all_consuming(text, response::unique_id_listing).map_err(|e| syntax(text, &e))
}

/// Parses one line of a LANG body: `language-tag SP description`.
pub fn parse_language(line: &[u8]) -> Result<Language<'_>, DecodeError> {
    let text = utf8(line, "language listing")?;
    grammar::all_consuming(text, response::language_listing).map_err(|e| syntax(text, &e))
}
