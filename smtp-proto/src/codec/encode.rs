//! Encoders: commands for clients, replies for servers. They append to a caller-owned buffer.

use std::io::Write as _;

use super::command::{MAIL_KEYWORDS, MAX_BY_TIME, MAX_ENVID, RCPT_KEYWORDS};

use crate::types::{
    address::{ForwardPath, ReversePath},
    command::{AuthInitial, Command, HelloKind},
    params::{Hold, MailParams, Notify, RcptParams, UnknownParam},
    reply::Reply,
};

/// A command could not be encoded because a free-form argument would break the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {verb}: {what} contains CR, LF or another control character")]
pub struct EncodeError {
    /// The command's verb.
    pub verb: &'static str,
    /// Which argument.
    pub what: &'static str,
}

/// Free-form arguments are plain `Cow<str>` fields, so they are checked here: no CR, LF or
/// other control character may reach the wire (command injection), and no leading SP, which
/// the decoder refuses (`NOOP  x`).
fn checked<'s>(verb: &'static str, what: &'static str, s: &'s str) -> Result<&'s str, EncodeError> {
    if !s.is_empty() && crate::grammar::is_text(s) && !s.contains('\t') && !s.starts_with(' ') {
        Ok(s)
    } else {
        Err(EncodeError { verb, what })
    }
}

/// Appends `command` and its CRLF to `out`. Verbs are written in upper case and parameters in
/// a fixed canonical order (the order of the fields of [`MailParams`] and [`RcptParams`],
/// unknown parameters last). On error nothing is written.
pub fn encode_command(command: &Command<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let result = write_command(command, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_command(command: &Command<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let verb = command.verb();
    out.extend_from_slice(verb.as_bytes());
    match command {
        Command::Hello { kind, host } => {
            // `helo = "HELO" SP Domain`: no address literal (RFC 5321 §4.1.1.1).
            if *kind == HelloKind::Helo && host.domain().is_none() {
                return Err(EncodeError {
                    verb,
                    what: "host (HELO takes a domain)",
                });
            }
            out.push(b' ');
            let _ = write!(out, "{host}");
        }
        Command::Mail { from, params } => {
            out.extend_from_slice(b" FROM:");
            write_reverse_path(from, out);
            write_mail_params(params, out)?;
        }
        Command::Rcpt { to, params } => {
            out.extend_from_slice(b" TO:");
            write_forward_path(to, out);
            write_rcpt_params(params, out)?;
        }
        Command::Bdat { size, last } => {
            let _ = write!(out, " {size}");
            if *last {
                out.extend_from_slice(b" LAST");
            }
        }
        Command::Noop { arg: Some(arg) }
        | Command::Help { topic: Some(arg) }
        | Command::Vrfy { arg }
        | Command::Expn { arg } => {
            out.push(b' ');
            out.extend_from_slice(checked(verb, "argument", arg)?.as_bytes());
        }
        Command::Auth { mechanism, initial } => {
            out.push(b' ');
            out.extend_from_slice(mechanism.as_str().as_bytes());
            match initial {
                None => {}
                Some(AuthInitial::Empty) => out.extend_from_slice(b" ="),
                Some(AuthInitial::Base64(b)) => {
                    if !crate::types::sasl::is_base64(b.expose()) || b.expose().is_empty() {
                        return Err(EncodeError {
                            verb,
                            what: "initial response",
                        });
                    }
                    out.push(b' ');
                    out.extend_from_slice(b.expose().as_bytes());
                }
            }
        }
        Command::Etrn { node } => {
            let node = checked(verb, "node", node)?;
            if super::command::etrn(node).is_err() {
                return Err(EncodeError { verb, what: "node" });
            }
            out.push(b' ');
            out.extend_from_slice(node.as_bytes());
        }
        Command::Data
        | Command::Rset
        | Command::Quit
        | Command::StartTls
        | Command::Noop { arg: None }
        | Command::Help { topic: None } => {}
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn write_reverse_path(path: &ReversePath<'_>, out: &mut Vec<u8>) {
    let _ = write!(out, "{path}");
}

fn write_forward_path(path: &ForwardPath<'_>, out: &mut Vec<u8>) {
    let _ = write!(out, "{path}");
}

/// Writes parameters not interpreted by this crate. A keyword the decoder interprets (`known`)
/// is refused: it would read back as that parameter, or as a duplicate.
fn write_unknown(
    params: &[UnknownParam<'_>],
    verb: &'static str,
    known: &[&str],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for p in params {
        let bad = || EncodeError {
            verb,
            what: "parameter",
        };
        crate::grammar::all_consuming(&p.keyword, crate::grammar::esmtp_keyword)
            .map_err(|_| bad())?;
        if known.iter().any(|k| k.eq_ignore_ascii_case(&p.keyword)) {
            return Err(bad());
        }
        out.push(b' ');
        out.extend_from_slice(p.keyword.as_bytes());
        if let Some(v) = &p.value {
            crate::grammar::all_consuming(v, crate::grammar::esmtp_value).map_err(|_| bad())?;
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
    Ok(())
}

fn write_mail_params(p: &MailParams<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if let Some(size) = p.size {
        let _ = write!(out, " SIZE={size}");
    }
    if let Some(body) = p.body {
        let _ = write!(out, " BODY={}", body.as_str());
    }
    if p.smtputf8 {
        out.extend_from_slice(b" SMTPUTF8");
    }
    if let Some(ret) = p.ret {
        let _ = write!(out, " RET={}", ret.as_str());
    }
    if let Some(envid) = &p.envid {
        // An esmtp-value has at least one character.
        if envid.as_encoded().is_empty() || envid.as_encoded().len() > MAX_ENVID {
            return Err(EncodeError {
                verb: "MAIL",
                what: "ENVID (1 to 100 characters)",
            });
        }
        let _ = write!(out, " ENVID={}", envid.as_encoded());
    }
    if let Some(auth) = &p.auth {
        if auth.as_encoded().is_empty() {
            return Err(EncodeError {
                verb: "MAIL",
                what: "AUTH (empty; `<>` is the unknown submitter)",
            });
        }
        let _ = write!(out, " AUTH={}", auth.as_encoded());
    }
    if let Some(prio) = p.mt_priority {
        if !(-9..=9).contains(&prio) {
            return Err(EncodeError {
                verb: "MAIL",
                what: "MT-PRIORITY (-9 to 9)",
            });
        }
        let _ = write!(out, " MT-PRIORITY={prio}");
    }
    if let Some(by) = p.by {
        if !(-MAX_BY_TIME..=MAX_BY_TIME).contains(&by.time) {
            return Err(EncodeError {
                verb: "MAIL",
                what: "BY time (at most 9 digits)",
            });
        }
        let mode = if by.return_on_expiry { "R" } else { "N" };
        let trace = if by.trace { "T" } else { "" };
        let _ = write!(out, " BY={};{mode}{trace}", by.time);
    }
    match &p.hold {
        Some(Hold::For(secs)) => {
            let _ = write!(out, " HOLDFOR={secs}");
        }
        Some(Hold::Until(t)) => {
            crate::grammar::all_consuming(t, crate::grammar::esmtp_value).map_err(|_| {
                EncodeError {
                    verb: "MAIL",
                    what: "HOLDUNTIL",
                }
            })?;
            let _ = write!(out, " HOLDUNTIL={t}");
        }
        None => {}
    }
    if p.requiretls {
        out.extend_from_slice(b" REQUIRETLS");
    }
    write_unknown(&p.unknown, "MAIL", MAIL_KEYWORDS, out)
}

fn write_rcpt_params(p: &RcptParams<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match p.notify {
        Some(Notify::Never) => out.extend_from_slice(b" NOTIFY=NEVER"),
        Some(Notify::On {
            success,
            failure,
            delay,
        }) => {
            let items: Vec<&str> = [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
            if items.is_empty() {
                return Err(EncodeError {
                    verb: "RCPT",
                    what: "NOTIFY (no condition)",
                });
            }
            let _ = write!(out, " NOTIFY={}", items.join(","));
        }
        None => {}
    }
    if let Some(orcpt) = &p.orcpt {
        // An `atom`, inside an `esmtp-value`, which excludes "=".
        let bad = || EncodeError {
            verb: "RCPT",
            what: "ORCPT address type",
        };
        crate::grammar::all_consuming(&orcpt.addr_type, crate::grammar::atom).map_err(|_| bad())?;
        if orcpt.addr_type.contains('=') {
            return Err(bad());
        }
        let _ = write!(
            out,
            " ORCPT={};{}",
            orcpt.addr_type,
            orcpt.addr.as_encoded()
        );
    }
    write_unknown(&p.unknown, "RCPT", RCPT_KEYWORDS, out)
}

/// Appends `reply` to `out`, one line per text line, each with the code and the enhanced
/// status code if there is one. The last line always has the SP after the code, also when
/// its text is empty (`334 `): RFC 5321 allows the code alone, but some clients reject it.
pub fn encode_reply(reply: &Reply<'_>, out: &mut Vec<u8>) {
    let code = reply.code().get();
    let lines = reply.lines();
    let n = lines.len();
    for (i, line) in lines.enumerate() {
        let sep = if i + 1 == n { ' ' } else { '-' };
        let _ = write!(out, "{code}{sep}");
        if let Some(status) = reply.status() {
            let _ = write!(out, "{status}");
            if !line.is_empty() {
                out.push(b' ');
            }
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Encodes a SASL response line: base64 of `data`, or `*` to cancel.
pub fn encode_sasl_response(data: Option<&[u8]>, out: &mut Vec<u8>) {
    match data {
        Some(d) => out.extend_from_slice(crate::types::sasl::base64_encode(d).as_bytes()),
        None => out.push(b'*'),
    }
    out.extend_from_slice(b"\r\n");
}

/// The reply as it goes on the wire, without its final CRLF.
impl std::fmt::Display for Reply<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = Vec::new();
        encode_reply(self, &mut buf);
        f.write_str(String::from_utf8_lossy(&buf).trim_end())
    }
}
