//! Encoders: commands and SASL lines for clients, responses for servers. They append to a
//! caller-owned buffer.

use std::io::Write as _;

use crate::grammar::{is_language_tag, is_text, is_vchar_utf8};
use crate::types::{
    capability::Capability,
    command::{AuthInitial, Command},
    listing::{Language, ScanListing, UniqueIdListing},
    response::{Body, Continuation, Reply, Response},
    sasl::{base64_encode, is_base64},
};

/// A command could not be encoded because an argument does not fit its grammar (an empty
/// or space-holding user name, CR or LF in a password: command injection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {verb}: invalid {what}")]
pub struct EncodeError {
    /// The command's keyword.
    pub verb: &'static str,
    /// Which argument.
    pub what: &'static str,
}

/// Appends `command` and its CRLF to `out`. Keywords are written in upper case. On error
/// nothing is written.
///
/// The argument length limit (40 characters) is the receiver's to enforce; the encoder only
/// refuses what could never be one argument on one line.
pub fn encode_command(command: &Command<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let verb = command.verb();
    let err = |what| EncodeError { verb, what };
    let name_ok = |s: &str| !s.is_empty() && s.chars().all(is_vchar_utf8);
    let start = out.len();
    out.extend_from_slice(verb.as_bytes());
    let result = match command {
        Command::User { name } if name_ok(name) => {
            arg(out, name);
            Ok(())
        }
        Command::User { .. } => Err(err("name")),
        Command::Pass { password } if is_text(password.expose()) => {
            arg(out, password.expose());
            Ok(())
        }
        Command::Pass { .. } => Err(err("password")),
        Command::Apop { name, digest } => {
            if !name_ok(name) {
                Err(err("name"))
            } else if digest.len() != 32 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                Err(err("digest"))
            } else {
                arg(out, name);
                arg(out, digest);
                Ok(())
            }
        }
        Command::Auth { mechanism, initial } => {
            arg(out, mechanism.as_str());
            match initial {
                None => Ok(()),
                Some(AuthInitial::Empty) => {
                    arg(out, "=");
                    Ok(())
                }
                Some(AuthInitial::Base64(b)) if !b.expose().is_empty() && is_base64(b.expose()) => {
                    arg(out, b.expose());
                    Ok(())
                }
                Some(AuthInitial::Base64(_)) => Err(err("initial response")),
            }
        }
        Command::List { msg: Some(m) }
        | Command::Uidl { msg: Some(m) }
        | Command::Retr { msg: m }
        | Command::Dele { msg: m } => {
            let _ = write!(out, " {m}");
            Ok(())
        }
        Command::Top { msg, lines } => {
            let _ = write!(out, " {msg} {lines}");
            Ok(())
        }
        Command::Lang { range: Some(r) } if r == "*" || is_language_tag(r) => {
            arg(out, r);
            Ok(())
        }
        Command::Lang { range: Some(_) } => Err(err("language range")),
        Command::AuthList
        | Command::Quit
        | Command::Stat
        | Command::List { msg: None }
        | Command::Uidl { msg: None }
        | Command::Noop
        | Command::Rset
        | Command::Capa
        | Command::Stls
        | Command::Utf8
        | Command::Lang { range: None } => Ok(()),
    };
    match result {
        Ok(()) => out.extend_from_slice(b"\r\n"),
        Err(_) => out.truncate(start),
    }
    result
}

fn arg(out: &mut Vec<u8>, s: &str) {
    out.push(b' ');
    out.extend_from_slice(s.as_bytes());
}

/// Appends a client's line in a SASL exchange (RFC 5034 §4): `data` in base64, or `*` to
/// cancel when `data` is `None`.
pub fn encode_sasl_response(data: Option<&[u8]>, out: &mut Vec<u8>) {
    match data {
        Some(d) => out.extend_from_slice(base64_encode(d).as_bytes()),
        None => out.push(b'*'),
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a single-line response (or the first line of a multi-line one) and its CRLF.
pub fn encode_response(response: &Response<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(response.status().as_str().as_bytes());
    if let Some(code) = response.code() {
        out.extend_from_slice(b" [");
        out.extend_from_slice(code.as_str().as_bytes());
        out.push(b']');
    }
    if let Some(text) = response.text() {
        out.push(b' ');
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a SASL challenge: `"+" SP [base64] CRLF`.
pub fn encode_continuation(continuation: &Continuation<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(continuation.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends a body's stuffed lines and the terminating `.` CRLF.
pub fn encode_body(body: &Body<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(body.as_stuffed());
    out.extend_from_slice(b".\r\n");
}

/// Appends a whole reply: the first line and, for a multi-line one, its body and terminator.
pub fn encode_reply(reply: &Reply<'_>, out: &mut Vec<u8>) {
    match reply {
        Reply::Single(r) => encode_response(r, out),
        Reply::MultiLine { response, body } => {
            encode_response(response, out);
            encode_body(body, out);
        }
        Reply::Continue(c) => encode_continuation(c, out),
    }
}

/// Appends one capability line of a CAPA response, with its CRLF. Known capabilities are
/// written with upper-case tags.
pub fn encode_capability(capability: &Capability<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(capability.tag().as_bytes());
    let user = |out: &mut Vec<u8>, on: bool| {
        if on {
            out.extend_from_slice(b" USER");
        }
    };
    match capability {
        Capability::Sasl(mechs) => {
            for m in mechs {
                arg(out, m.as_str());
            }
        }
        Capability::LoginDelay { seconds, per_user } => {
            let _ = write!(out, " {seconds}");
            user(out, *per_user);
        }
        Capability::Expire { days, per_user } => {
            match days {
                Some(d) => {
                    let _ = write!(out, " {d}");
                }
                None => out.extend_from_slice(b" NEVER"),
            }
            user(out, *per_user);
        }
        Capability::Implementation(text) => arg(out, text.as_str()),
        Capability::Utf8 { user: u } => user(out, *u),
        Capability::Other(o) => {
            for p in o.params() {
                arg(out, p);
            }
        }
        Capability::Top
        | Capability::User
        | Capability::RespCodes
        | Capability::AuthRespCode
        | Capability::Pipelining
        | Capability::Uidl
        | Capability::Stls
        | Capability::Lang => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a scan listing line: `msg SP size CRLF`.
pub fn encode_scan_listing(listing: &ScanListing, out: &mut Vec<u8>) {
    let _ = write!(out, "{} {}\r\n", listing.msg, listing.size);
}

/// Appends a unique-id listing line: `msg SP unique-id CRLF`.
pub fn encode_unique_id_listing(listing: &UniqueIdListing<'_>, out: &mut Vec<u8>) {
    let _ = write!(out, "{} {}\r\n", listing.msg, listing.uid);
}

/// Appends a language listing line: `language-tag SP description CRLF`.
pub fn encode_language(language: &Language<'_>, out: &mut Vec<u8>) {
    let _ = write!(out, "{} {}\r\n", language.tag(), language.description());
}
