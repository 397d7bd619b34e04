//! Parsing commands (RFC 9051 §6 and §9, RFC 3501, and the extensions).
//!
//! [`parse_command`] takes one complete framed message (the line or lines with their literals
//! and the final CRLF, as delimited by [`super::frame::Framer`]) and dispatches on the command
//! name. The argument parsers live in `command_args` (mailbox commands), `fetch` (FETCH and
//! STORE) and `search` (SEARCH, SORT, THREAD).

use std::borrow::Cow;

use super::{
    command_args as mbox,
    core::{self, PError, PResult, ascii, astring, atom, fail, sequence_set, sp},
    fetch,
    frame::{FrameLimits, Framed, Framer, Side},
    search, urlauth,
};
use crate::{
    error::{DecodeError, SyntaxError, SyntaxErrorKind},
    types::{
        capability::Capability,
        command::{Command, CommandBody, SaslResponse, Secret, is_base64},
        core::{Atom, Tag},
        mailbox::Mailbox,
    },
};

/// How commands are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOptions {
    /// UTF8=ACCEPT is enabled (RFC 6855/9051): mailbox names are UTF-8, not modified UTF-7.
    pub utf8: bool,
    /// The deepest nesting of search keys (parenthesized lists, NOT, OR) accepted. Deeper
    /// input is refused with [`SyntaxErrorKind::TooDeep`] instead of exhausting the stack.
    pub max_depth: usize,
}

impl Default for CommandOptions {
    fn default() -> Self {
        Self {
            utf8: false,
            max_depth: 64,
        }
    }
}

/// Parses one complete framed command: `tag SP command-name [SP arguments] CRLF`, literals
/// included.
pub fn parse_command<'a>(
    message: &'a [u8],
    opts: &CommandOptions,
) -> Result<Command<'a>, SyntaxError> {
    let (rest, tag) = core::tag(message).map_err(|e| SyntaxError::from_nom(None, message, &e))?;
    if core::whole_tag(message).is_none() {
        // Untagged: a valid prefix of the token is not the client's tag (RFC 9051 §9 `tag`).
        return Err(SyntaxError::new(
            SyntaxErrorKind::Syntax,
            None,
            message,
            rest,
            "a tag",
        ));
    }
    let syntax = |e: nom::Err<PError<'_>>| SyntaxError::from_nom(Some(&tag), message, &e);
    let (rest, ()) = sp(rest).map_err(syntax)?;
    let (args, name) = command_name(rest).map_err(syntax)?;
    let Some(parsed) = dispatch(name, args, opts) else {
        return Err(SyntaxError::new(
            SyntaxErrorKind::UnknownCommand,
            Some(&tag),
            message,
            rest,
            "a command name",
        ));
    };
    let (rest, body) = parsed.map_err(syntax)?;
    if rest != b"\r\n" {
        let at = if rest.starts_with(b"\r\n") {
            &rest[2..]
        } else {
            rest
        };
        let expected = if rest.starts_with(b"\r\n") {
            "end of message"
        } else {
            "CRLF"
        };
        return Err(SyntaxError::new(
            SyntaxErrorKind::Syntax,
            Some(&tag),
            message,
            at,
            expected,
        ));
    }
    Ok(Command { tag, body })
}

/// Frames the first command in `input` (as a server does, with the default
/// [`FrameLimits`]) and parses it. Returns the command and the input after it.
///
/// A synchronizing literal whose octets are not all in `input` yet gives
/// [`DecodeError::LiteralAnnounced`]: answer `+` (once per literal: a caller that already
/// answered for that `line_end` treats it as [`DecodeError::Incomplete`]) or refuse the command.
pub fn decode_command<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
) -> Result<(&'a [u8], Command<'a>), DecodeError> {
    let mut framer = Framer::new(Side::Server, FrameLimits::default());
    loop {
        match framer.next(input) {
            Framed::Complete { len } => {
                let (message, rest) = input.split_at(len);
                return match parse_command(message, opts) {
                    Ok(cmd) => Ok((rest, cmd)),
                    Err(error) => Err(DecodeError::Syntax { error, skip: len }),
                };
            }
            Framed::Incomplete => return Err(DecodeError::Incomplete),
            Framed::LiteralAnnounced { len, line_end } => {
                let present = (input.len() - line_end) as u64;
                if present < len {
                    let tag = core::whole_tag(input).map(Tag::into_owned);
                    return Err(DecodeError::LiteralAnnounced { tag, len, line_end });
                }
            }
            Framed::Invalid { error, skip } => return Err(DecodeError::Frame { error, skip }),
        }
    }
}

/// Parses the line that ends IDLE: `"DONE" CRLF` (RFC 2177, case-insensitive).
pub fn parse_idle_done(line: &[u8]) -> Result<(), SyntaxError> {
    if line.len() == 6 && line[..4].eq_ignore_ascii_case(b"DONE") && &line[4..] == b"\r\n" {
        return Ok(());
    }
    let at = line
        .iter()
        .zip(b"DONE\r\n")
        .position(|(a, b)| !a.eq_ignore_ascii_case(b))
        .unwrap_or(line.len().min(6));
    Err(SyntaxError::new(
        SyntaxErrorKind::Syntax,
        None,
        line,
        &line[at..],
        "DONE CRLF",
    ))
}

/// Parses a line a client sends during AUTHENTICATE after a continuation request:
/// `base64 CRLF` (possibly empty) or `"*" CRLF` to cancel (RFC 9051 §6.2.2).
pub fn parse_sasl_response(line: &[u8]) -> Result<SaslResponse<'_>, SyntaxError> {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return Err(SyntaxError::new(
            SyntaxErrorKind::Syntax,
            None,
            line,
            &line[line.len()..],
            "CRLF",
        ));
    };
    if body == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    if !is_base64(body) {
        return Err(SyntaxError::new(
            SyntaxErrorKind::Syntax,
            None,
            line,
            line,
            "base64 or \"*\"",
        ));
    }
    Ok(SaslResponse::Base64(Secret::new(Cow::Borrowed(ascii(
        body,
    )))))
}

/// The mailbox that the synchronizing literal announced at the end of `prefix` is message
/// data for, so that a server can refuse a message that will not fit (RFC 7889 `TOOBIG`,
/// RFC 9208 `OVERQUOTA`, `TRYCREATE`) before the client sends it. `prefix` is the command
/// up to the announcement's CRLF, as [`Framed::LiteralAnnounced`]'s `line_end` delimits
/// it: `tag SP "APPEND" SP mailbox`, any whole messages before (MULTIAPPEND), then
/// `append-opts SP` and the literal, the literal8 of `UTF8 (`, or a CATENATE `TEXT` part.
/// `None` for a literal that is anything else (a mailbox name, a URL, another command's).
pub fn append_literal_mailbox<'a>(prefix: &'a [u8], opts: &CommandOptions) -> Option<Mailbox<'a>> {
    let (rest, _) = core::tag(prefix).ok()?;
    let (rest, ()) = sp(rest).ok()?;
    let (args, name) = command_name(rest).ok()?;
    if !name.eq_ignore_ascii_case(b"APPEND") {
        return None;
    }
    mbox::append_target(args.strip_prefix(b" ")?, opts)
}

/// The command name: letters (`STARTTLS`, `GETQUOTAROOT`, `UID`).
fn command_name(input: &[u8]) -> PResult<'_, &[u8]> {
    core::run1(input, core::ALPHA, "a command name")
}

/// The parsed arguments, or `None` if `name` is not a command.
fn dispatch<'a>(
    name: &[u8],
    args: &'a [u8],
    opts: &CommandOptions,
) -> Option<PResult<'a, CommandBody<'a>>> {
    let mut buf = [0; 24];
    let bare = |body: CommandBody<'static>| Ok((args, body));
    Some(match upper(name, &mut buf) {
        b"CAPABILITY" => bare(CommandBody::Capability),
        b"NOOP" => bare(CommandBody::Noop),
        b"LOGOUT" => bare(CommandBody::Logout),
        b"STARTTLS" => bare(CommandBody::StartTls),
        b"NAMESPACE" => bare(CommandBody::Namespace),
        b"IDLE" => bare(CommandBody::Idle),
        b"CHECK" => bare(CommandBody::Check),
        b"CLOSE" => bare(CommandBody::Close),
        b"UNSELECT" => bare(CommandBody::Unselect),
        b"EXPUNGE" => bare(CommandBody::Expunge),
        b"AUTHENTICATE" => with_sp(args, authenticate),
        b"LOGIN" => with_sp(args, login),
        b"ENABLE" => enable(args),
        b"SELECT" => with_sp(args, |i| mbox::select(i, opts, false)),
        b"EXAMINE" => with_sp(args, |i| mbox::select(i, opts, true)),
        b"CREATE" => with_sp(args, |i| mbox::create(i, opts)),
        b"DELETE" => with_sp(args, |i| {
            mailbox_only(i, opts, |mailbox| CommandBody::Delete { mailbox })
        }),
        b"RENAME" => with_sp(args, |i| rename(i, opts)),
        b"SUBSCRIBE" => with_sp(args, |i| {
            mailbox_only(i, opts, |mailbox| CommandBody::Subscribe { mailbox })
        }),
        b"UNSUBSCRIBE" => with_sp(args, |i| {
            mailbox_only(i, opts, |mailbox| CommandBody::Unsubscribe { mailbox })
        }),
        b"LIST" => with_sp(args, |i| mbox::list(i, opts)),
        b"LSUB" => with_sp(args, |i| mbox::lsub(i, opts)),
        b"STATUS" => with_sp(args, |i| mbox::status(i, opts)),
        b"APPEND" => with_sp(args, |i| mbox::append(i, opts)),
        b"SEARCH" => search::search(args, opts, false),
        b"FETCH" => with_sp(args, |i| fetch::fetch(i, false)),
        b"STORE" => with_sp(args, |i| fetch::store(i, false)),
        b"COPY" => with_sp(args, |i| copy_move(i, opts, false, false)),
        b"MOVE" => with_sp(args, |i| copy_move(i, opts, false, true)),
        b"UID" => with_sp(args, |i| uid(i, opts)),
        b"ID" => with_sp(args, mbox::id),
        b"GETQUOTA" => with_sp(args, |i| {
            astring(i).map(|(r, root)| (r, CommandBody::GetQuota { root }))
        }),
        b"GETQUOTAROOT" => with_sp(args, |i| {
            mailbox_only(i, opts, |mailbox| CommandBody::GetQuotaRoot { mailbox })
        }),
        b"SETQUOTA" => with_sp(args, mbox::setquota),
        b"COMPRESS" => with_sp(args, compress),
        b"SORT" => search::sort(args, opts, false),
        b"THREAD" => with_sp(args, |i| search::thread(i, opts, false)),
        b"CANCELUPDATE" => search::cancel_update(args),
        b"GETMETADATA" => with_sp(args, |i| mbox::getmetadata(i, opts)),
        b"SETMETADATA" => with_sp(args, |i| mbox::setmetadata(i, opts)),
        b"RESETKEY" => urlauth::resetkey(args, opts),
        b"GENURLAUTH" => urlauth::genurlauth(args),
        b"URLFETCH" => urlauth::urlfetch(args),
        b"NOTIFY" => with_sp(args, |i| super::notify::notify(i, opts)),
        _ => return None,
    })
}

/// `SP` followed by the arguments.
fn with_sp<'a, O>(
    input: &'a [u8],
    parser: impl FnOnce(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, O> {
    let (rest, ()) = sp(input)?;
    parser(rest)
}

/// `mailbox`, interpreted with [`Mailbox::from_wire`].
pub(crate) fn mailbox<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, Mailbox<'a>> {
    let (rest, wire) = core::mailbox(input)?;
    match Mailbox::from_wire(wire, opts.utf8) {
        Ok(m) => Ok((rest, m)),
        Err(_) => fail(input, "a mailbox name without CR, LF or NUL"),
    }
}

fn mailbox_only<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    body: impl FnOnce(Mailbox<'a>) -> CommandBody<'a>,
) -> PResult<'a, CommandBody<'a>> {
    let (rest, m) = mailbox(input, opts)?;
    Ok((rest, body(m)))
}

/// Runs `parser`; if it fails where it started, reports `expected` there instead (a failure
/// further in, such as a NUL inside a quoted string, keeps its own position and words).
pub(crate) fn label<'a, O>(
    input: &'a [u8],
    expected: &'static str,
    parser: impl FnOnce(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, O> {
    parser(input).map_err(|e| {
        e.map(|inner| {
            if inner.input.len() == input.len() {
                PError { input, expected }
            } else {
                inner
            }
        })
    })
}

/// `word` in upper case, copied into `buf` (no allocation); empty, matching no keyword, if
/// it is longer than the buffer.
pub(crate) fn upper<'b>(word: &[u8], buf: &'b mut [u8; 24]) -> &'b [u8] {
    match buf.get_mut(..word.len()) {
        Some(b) => {
            b.copy_from_slice(word);
            b.make_ascii_uppercase();
            b
        }
        None => &[],
    }
}

/// A keyword (letters, digits, `.`, `-`, `=`), for matching case-insensitively.
pub(crate) fn keyword(input: &[u8]) -> PResult<'_, &[u8]> {
    core::run1(input, core::KEYWORD_CHAR, "a keyword")
}

/// ```text
/// authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
/// auth-type    = atom
/// initial-resp = (base64 / "=")                       ; RFC 4959
/// ```
fn authenticate(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let (rest, mech) = label(input, "auth-type", atom)?;
    let mechanism = Atom::from_parsed(mech);
    let Some(after) = rest.strip_prefix(b" ") else {
        return Ok((
            rest,
            CommandBody::Authenticate {
                mechanism,
                initial: None,
            },
        ));
    };
    let end = after
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
        .unwrap_or(after.len());
    let data = &after[..end];
    let initial = if data == b"=" {
        SaslResponse::Empty
    } else if !data.is_empty() && is_base64(data) {
        SaslResponse::Base64(Secret::new(Cow::Borrowed(ascii(data))))
    } else {
        return fail(after, "initial-resp (base64 or \"=\")");
    };
    Ok((
        &after[end..],
        CommandBody::Authenticate {
            mechanism,
            initial: Some(initial),
        },
    ))
}

/// `login = "LOGIN" SP userid SP password`, both `astring`.
fn login(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let (rest, username) = label(input, "userid", astring)?;
    let (rest, ()) = sp(rest)?;
    let (rest, password) = label(rest, "password", astring)?;
    Ok((
        rest,
        CommandBody::Login {
            username,
            password: Secret::new(password),
        },
    ))
}

/// `enable = "ENABLE" 1*(SP capability)`, `capability = atom` (RFC 5161)
fn enable(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let mut capabilities = Vec::new();
    let mut rest = input;
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, a) = label(r, "capability", atom)?;
        match Capability::parse(a) {
            Ok(c) => capabilities.push(c),
            Err(_) => return fail(r, "capability"),
        }
        rest = r;
    }
    if capabilities.is_empty() {
        return fail(input, "SP capability");
    }
    Ok((rest, CommandBody::Enable { capabilities }))
}

/// `rename = "RENAME" SP mailbox SP mailbox`
fn rename<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let (rest, from) = mailbox(input, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, to) = mailbox(rest, opts)?;
    Ok((rest, CommandBody::Rename { from, to }))
}

/// ```text
/// copy = "COPY" SP sequence-set SP mailbox
/// move = "MOVE" SP sequence-set SP mailbox            ; RFC 6851
/// ```
fn copy_move<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    uid: bool,
    is_move: bool,
) -> PResult<'a, CommandBody<'a>> {
    let (rest, set) = sequence_set(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, mailbox) = mailbox(rest, opts)?;
    Ok((
        rest,
        if is_move {
            CommandBody::Move { uid, set, mailbox }
        } else {
            CommandBody::Copy { uid, set, mailbox }
        },
    ))
}

/// ```text
/// uid         = "UID" SP (copy / move / fetch / search / store / uid-expunge)
/// uid-expunge = "EXPUNGE" SP sequence-set              ; RFC 4315
/// ```
/// plus `UID SORT` and `UID THREAD` (RFC 5256).
fn uid<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    const EXPECTED: &str = "COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT or THREAD";
    let (rest, name) = label(input, EXPECTED, command_name)?;
    let mut buf = [0; 24];
    match upper(name, &mut buf) {
        b"COPY" => with_sp(rest, |i| copy_move(i, opts, true, false)),
        b"MOVE" => with_sp(rest, |i| copy_move(i, opts, true, true)),
        b"FETCH" => with_sp(rest, |i| fetch::fetch(i, true)),
        b"STORE" => with_sp(rest, |i| fetch::store(i, true)),
        b"SEARCH" => search::search(rest, opts, true),
        b"SORT" => search::sort(rest, opts, true),
        b"THREAD" => with_sp(rest, |i| search::thread(i, opts, true)),
        b"EXPUNGE" => with_sp(rest, |i| {
            sequence_set(i).map(|(r, set)| (r, CommandBody::UidExpunge { set }))
        }),
        _ => fail(input, EXPECTED),
    }
}

/// `compress = "COMPRESS" SP algorithm`, `algorithm = "DEFLATE"` (RFC 4978; any atom kept)
fn compress(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let (rest, a) = label(input, "algorithm", atom)?;
    Ok((
        rest,
        CommandBody::Compress {
            algorithm: Atom::from_parsed(a),
        },
    ))
}
