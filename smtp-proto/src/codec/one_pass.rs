//! The common command lines, parsed in one pass over the input before the line is framed.
//!
//! No production of the command grammar admits a control character, so a parse over the
//! unframed input stops at the CR of the line's end just as it stops at the end of a framed
//! line. A line is accepted here only when its parse ends at a CRLF within the line limit
//! (where the framer would have cut it) and its text is UTF-8, checked once at the end; the
//! values are then built from the offsets the parse returned. Everything else (any error,
//! STARTTLS) is left to the caller's exact path, which frames the line and parses it with
//! [`super::command::command`]: both run the same productions, so this path accepts a subset
//! of what that one accepts, with the same values, and never decides an error.

use super::command::{
    self, AUTH, BDAT, DATA, EHLO, ETRN, EXPN, FROM, FromAt, HELO, HELP, LHLO, MAIL, NOOP, NOTIFY,
    ORCPT, OrcptAt, QUIT, RCPT, RSET, ToAt, VRFY, word4,
};
use crate::grammar::{
    Host, MailboxAt, Text, domain_end, esmtp_keyword_end, esmtp_value_end, fold16, local_part_end,
    text_end, utf8_span,
};
use crate::types::{
    command::Command,
    params::{Notify, RcptParams},
};

/// Where the line must end.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End {
    /// At a CRLF, within `max` octets counting the CRLF.
    Crlf { max: usize },
    /// At the end of the input: the line was framed already.
    Slice,
}

impl End {
    /// How many octets the line takes, its end included, if it ends at `i`.
    #[inline]
    fn at(self, b: &[u8], i: usize) -> Option<usize> {
        match self {
            Self::Crlf { max } => {
                (i + 2 <= max && b.get(i..i + 2) == Some(b"\r\n")).then_some(i + 2)
            }
            Self::Slice => (i == b.len()).then_some(i),
        }
    }
}

/// The text of `b[from..to]`, where `b[..from]` is known to be ASCII.
#[inline]
fn text(b: &[u8], from: usize, to: usize) -> Option<Text<'_>> {
    let s = utf8_span(b, 0, from, to).ok()?;
    Some(Text { s, base: from })
}

/// The command line at the start of `b`: `ok(octets taken, command)`, or `slow()` for the
/// exact path.
///
/// Each command is built in the call that returns it, so that it is written where it is
/// returned instead of being copied there.
#[inline]
pub(crate) fn command<'a, R>(
    b: &'a [u8],
    end: End,
    ok: impl FnOnce(usize, Command<'a>) -> R,
    slow: impl FnOnce() -> R,
) -> R {
    let Some(verb) = word4(b, 0) else {
        return slow();
    };
    if b.get(4) != Some(&b' ') {
        // A verb without arguments.
        return match (end.at(b, 4), verb) {
            (Some(n), QUIT) => ok(n, Command::Quit),
            (Some(n), DATA) => ok(n, Command::Data),
            (Some(n), RSET) => ok(n, Command::Rset),
            (Some(n), NOOP) => ok(n, Command::Noop { arg: None }),
            (Some(n), HELP) => ok(n, Command::Help { topic: None }),
            _ => slow(),
        };
    }
    match verb {
        RCPT => rcpt(b, end, ok, slow),
        MAIL => mail(b, end, ok, slow),
        EHLO | HELO | LHLO => hello(b, end, verb, ok, slow),
        BDAT => match command::bdat_args(b, 5) {
            Ok((i, size, last)) => match end.at(b, i) {
                Some(n) => ok(n, Command::Bdat { size, last }),
                None => slow(),
            },
            Err(_) => slow(),
        },
        NOOP | HELP | VRFY | EXPN | AUTH | ETRN => text_command(b, end, verb, ok, slow),
        _ => slow(),
    }
}

/// `rcpt = "RCPT TO:" ( ... ) [SP Rcpt-parameters] CRLF`
#[inline(never)]
fn rcpt<'a, R>(
    b: &'a [u8],
    end: End,
    ok: impl FnOnce(usize, Command<'a>) -> R,
    slow: impl FnOnce() -> R,
) -> R {
    if let Some(r) = CommonRcpt::parse(b, end)
        // "RCPT TO:" is ASCII.
        && let Some(t) = text(b, 8, r.end)
        && let Some(to) = r.to.build(t)
        && let Some(orcpt) = r.orcpt.map_or(Some(None), |o| command::orcpt_value(t, o).map(Some))
    {
        let params = RcptParams {
            notify: r.notify,
            orcpt,
            unknown: Vec::new(),
        };
        return ok(r.n, Command::Rcpt { to, params });
    }
    if let Ok((i, to, params)) = command::rcpt_args(b, b, 5)
        && let Some(n) = end.at(b, i)
        // "RCPT TO:" is ASCII.
        && let Some(t) = text(b, 8, i)
        && let Some(to) = to.build(t)
        && let Some(params) = params.build(t, b, b)
    {
        return ok(n, Command::Rcpt { to, params });
    }
    slow()
}

/// `"<" Local-part "@" Domain ">"` at offset `at`: the common `Path`, without the source
/// route and address literal [`command::path`] also reads.
#[inline]
fn common_path(b: &[u8], at: usize) -> Option<(usize, MailboxAt)> {
    if b.get(at) != Some(&b'<') {
        return None;
    }
    let local_end = local_part_end(b, at + 1).ok()?;
    if b.get(local_end) != Some(&b'@') {
        return None;
    }
    let host_end = domain_end(b, local_end + 1).ok()?;
    if b.get(host_end) != Some(&b'>') {
        return None;
    }
    let host = Host::Domain(local_end + 1, host_end);
    Some((
        host_end + 1,
        MailboxAt {
            local: (at + 1, local_end),
            host,
        },
    ))
}

/// A RCPT line of the common shape: `TO:<Postmaster>` or a [`common_path`], then NOTIFY
/// and ORCPT at most once each, as offsets.
struct CommonRcpt {
    /// Octets taken.
    n: usize,
    /// Where the line's text ends.
    end: usize,
    to: ToAt,
    notify: Option<Notify>,
    orcpt: Option<OrcptAt>,
}

impl CommonRcpt {
    /// The line after `RCPT`, read in one function instead of through the offsets
    /// [`command::rcpt_args`] returns. `None` for any other shape and for errors, which the
    /// general path reports.
    #[inline]
    fn parse(b: &[u8], end: End) -> Option<Self> {
        let w: [u8; 4] = b.get(5..9)?.try_into().ok()?;
        // "TO" in either case, then ":<" exactly.
        if u32::from_le_bytes(w) | 0x2020 != u32::from_le_bytes(*b"to:<") {
            return None;
        }
        let (mut i, to) = if b
            .get(8..20)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"<Postmaster>"))
        {
            (20, ToAt::Postmaster)
        } else {
            let (i, m) = common_path(b, 8)?;
            (i, ToAt::Mailbox(m))
        };
        let mut notify = None;
        let mut orcpt = None;
        while b.get(i) == Some(&b' ') {
            let kw = i + 1;
            let kw_end = esmtp_keyword_end(b, kw).ok()?;
            if b.get(kw_end) != Some(&b'=') {
                return None;
            }
            let v = kw_end + 1;
            i = esmtp_value_end(b, v).ok()?;
            match fold16(b, kw, kw_end) {
                Some(NOTIFY) if notify.is_none() => {
                    notify = Some(command::notify(b, v, i).ok()?);
                }
                Some(ORCPT) if orcpt.is_none() => orcpt = Some(command::orcpt(b, v, i).ok()?),
                _ => return None,
            }
        }
        Some(Self {
            n: end.at(b, i)?,
            end: i,
            to,
            notify,
            orcpt,
        })
    }
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`
#[inline(never)]
fn mail<'a, R>(
    b: &'a [u8],
    end: End,
    ok: impl FnOnce(usize, Command<'a>) -> R,
    slow: impl FnOnce() -> R,
) -> R {
    // The common shape first: "FROM:" then "<>" or a common path, read without the
    // offsets of the general path being returned through its productions.
    if word4(b, 5) == Some(FROM)
        && b.get(9) == Some(&b':')
        && let Some((i, from)) = match b.get(10..12) {
            Some(b"<>") => Some((12, FromAt::Null)),
            _ => common_path(b, 10).map(|(i, m)| (i, FromAt::Mailbox(m))),
        }
        && let Ok((i, params)) = command::mail_params(b, b, i)
        && let Some(n) = end.at(b, i)
        // "MAIL FROM:" is ASCII.
        && let Some(t) = text(b, 10, i)
        && let Some(from) = from.build(t)
        && let Some(params) = params.build(t, b, b)
    {
        return ok(n, Command::Mail { from, params });
    }
    if let Ok((i, from, params)) = command::mail_args(b, b, 5)
        && let Some(n) = end.at(b, i)
        // "MAIL FROM:" is ASCII.
        && let Some(t) = text(b, 10, i)
        && let Some(from) = from.build(t)
        && let Some(params) = params.build(t, b, b)
    {
        return ok(n, Command::Mail { from, params });
    }
    slow()
}

/// `ehlo = "EHLO" SP ( Domain / address-literal ) CRLF`, and HELO and LHLO.
#[inline(never)]
fn hello<'a, R>(
    b: &'a [u8],
    end: End,
    verb: u32,
    ok: impl FnOnce(usize, Command<'a>) -> R,
    slow: impl FnOnce() -> R,
) -> R {
    if let Ok((i, kind, host)) = command::hello_args(b, 5, verb)
        && let Some(n) = end.at(b, i)
        && let Some(t) = text(b, 5, i)
        && let Some(host) = host.build(t)
    {
        return ok(n, Command::Hello { kind, host });
    }
    slow()
}

/// The commands whose argument is the rest of the line as text. Their arguments admit no
/// control character but HT, so the line ends where the text does.
#[inline(never)]
fn text_command<'a, R>(
    b: &'a [u8],
    end: End,
    verb: u32,
    ok: impl FnOnce(usize, Command<'a>) -> R,
    slow: impl FnOnce() -> R,
) -> R {
    let window = match end {
        End::Crlf { max } => b.get(..max).unwrap_or(b),
        End::Slice => b,
    };
    let i = text_end(window, 5);
    if let Some(n) = end.at(b, i)
        && let Ok(s) = utf8_span(b, 0, 5, i)
        && let Ok(cmd) = command::text_command(verb, s, 0)
    {
        return ok(n, cmd);
    }
    slow()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::DecodeError;
    use crate::codec::line::split_line;

    /// What the exact path makes of the line at the start of `input`.
    fn exact(input: &[u8], max: usize) -> Result<(usize, Command<'_>), DecodeError> {
        let (line, rest) = split_line(input, max)?;
        command::command(line, input, |cmd| (input.len() - rest.len(), cmd))
    }

    /// This path accepts only what the exact one accepts, with the same value, framed or not.
    /// The one-pass parser takes `input` as the framed path does, or not at all. Values are
    /// compared by their `Debug` text too: `Domain` equality ignores ASCII case, and the
    /// two paths must hand out the same octets.
    fn agrees(input: &[u8]) {
        for max in [512, 24] {
            let fast = command(input, End::Crlf { max }, |n, c| Some((n, c)), || None);
            if let Some(fast) = fast {
                let fast = Ok(fast);
                let exact = exact(input, max);
                let shown = String::from_utf8_lossy(input);
                assert_eq!(format!("{fast:?}"), format!("{exact:?}"), "{shown:?}");
                assert_eq!(fast, exact, "{shown:?}");
            }
        }
        let line = input.split(|&c| c == b'\r').next().unwrap_or(input);
        if let Some(fast) = command(line, End::Slice, |_, c| Some(c), || None) {
            let fast = Ok(fast);
            let exact = command::command(line, line, |c| c);
            let shown = String::from_utf8_lossy(line);
            assert_eq!(format!("{fast:?}"), format!("{exact:?}"), "{shown:?}");
            assert_eq!(fast, exact, "{shown:?}");
        }
    }

    const PIECES: &[&str] = &[
        "RCPT TO:",
        "MAIL FROM:",
        "EHLO ",
        "HELO ",
        "LHLO ",
        "BDAT ",
        "AUTH ",
        "VRFY ",
        "NOOP",
        "HELP",
        "QUIT",
        "DATA",
        "RSET",
        "ETRN ",
        "EXPN ",
        "rcpt to:",
        "<",
        ">",
        "<>",
        "@",
        ".",
        "a",
        "Zz9",
        "-",
        "\"",
        "\\",
        " ",
        "\t",
        "\r\n",
        "\r",
        "\n",
        "é",
        "\u{80}",
        ",",
        ":",
        "[",
        "]",
        "1.2.3.4",
        "IPv6:",
        "::1",
        "x-tag:",
        "=",
        ";",
        "+",
        "+2B",
        "SIZE=",
        "BODY=",
        "8BITMIME",
        "7bit",
        "SMTPUTF8",
        "REQUIRETLS",
        "RET=",
        "HDRS",
        "ENVID=",
        "AUTH=",
        "MT-PRIORITY=",
        "BY=",
        "120;R",
        "-5;nt",
        "HOLDFOR=",
        "HOLDUNTIL=",
        "NOTIFY=",
        "NEVER",
        "SUCCESS",
        "FAILURE,DELAY",
        "ORCPT=",
        "rfc822",
        "X-FOO",
        "LAST",
        "123",
        "<Postmaster>",
        "PLAIN",
        "AGFs",
        "==",
        "*",
        "#",
        "example.org",
        "0123456789",
        "STARTTLS",
    ];

    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(PIECES), 1..14)
            .prop_map(|p| p.concat().into_bytes())
    }

    macro_rules! label63 {
        () => {
            "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        };
    }
    /// Four labels of 63 octets: a domain of 255.
    macro_rules! domain255 {
        () => {
            concat!(
                label63!(),
                ".",
                label63!(),
                ".",
                label63!(),
                ".",
                label63!()
            )
        };
    }
    const LOCALS: &[&str] = &[
        "a",
        "a.b",
        "Zz-9+x",
        "\"x y\"",
        "\"a\\\"b\"",
        "\"\"",
        "é",
        "a..b",
        ".a",
        "",
        "\"a",
        "Postmaster",
        "postmaster",
        "rEsUlT",
        // 64 and 65 octets: the local part's limit.
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];
    const DOMAINS: &[&str] = &[
        "example.org",
        "a-b.c9",
        "-a.b",
        "a.",
        "a-",
        "[1.2.3.4]",
        "[IPv6:::1]",
        "[x-y:z]",
        "[]",
        "[1.2.3]",
        "[IPv6:zz]",
        "é.org",
        "a",
        "A.B.C.D.E",
        "",
        "x.example.net",
        "EXAMPLE.Org",
        // A label of 63 octets and one of 64; domains of 255 octets and of 257.
        concat!(label63!(), ".org"),
        concat!(label63!(), "c.org"),
        domain255!(),
        concat!(domain255!(), ".a"),
    ];
    const PARAMS: &[&str] = &[
        " SIZE=123",
        " size=99999999999999999999",
        " SIZE=",
        " SIZE=1a",
        " BODY=8BITMIME",
        " body=7bit",
        " BODY=binarymime",
        " BODY=x",
        " SMTPUTF8",
        " SMTPUTF8=1",
        " REQUIRETLS",
        " RET=HDRS",
        " RET=full",
        " RET=x",
        " ENVID=QQ+2B1",
        " ENVID=a=b",
        " ENVID=+2b",
        " AUTH=<>",
        " AUTH=a+2Bb",
        " MT-PRIORITY=-3",
        " MT-PRIORITY=+9",
        " MT-PRIORITY=10",
        " BY=120;RT",
        " BY=-5;n",
        " BY=1;x",
        " BY=1234567890;R",
        " HOLDFOR=5",
        " HOLDFOR=x",
        " HOLDUNTIL=2020-01-01T00:00:00Z",
        " X-FOO=bar",
        " X-FOO",
        " xé=é",
        " NOTIFY=NEVER",
        " NOTIFY=SUCCESS,DELAY",
        " NOTIFY=failure",
        " NOTIFY=SUCCESS,SUCCESS",
        " NOTIFY=",
        " notify=success",
        " Notify=Delay,Failure",
        " NOTIFY=SUCCESS,FAILURE,DELAY",
        " NOTIFY=DELAY,SUCCESS,FAILURE",
        " NOTIFY=NEVER,SUCCESS",
        " NOTIFY=SUCCESS,,DELAY",
        " NOTIFY=SUCCESS,",
        " NOTIFY",
        " orcpt=rfc822;a@b",
        " Orcpt=RFC822;x+2By",
        " ORCPT=rfc822;",
        " ORCPT=utf-8;a\\x{E9}b",
        " ORCPT",
        " ORCPT=rfc822;a@b",
        " ORCPT=rfc822;a+2Bb",
        " ORCPT=;a",
        " ORCPT=é;a",
        " ORCPT=a",
        " =x",
        "  ",
        " -X",
        " X=",
    ];
    const TEXTS: &[&str] = &[
        "AUTH PLAIN",
        "AUTH PLAIN AGFs",
        "AUTH PLAIN AGFsaQ==",
        "AUTH PLAIN =",
        "AUTH PLAIN A===",
        "AUTH X-Y_z",
        "AUTH PLAIN AGF",
        "AUTH  PLAIN",
        "VRFY postmaster",
        "VRFY \"a b\"",
        "VRFY A User <a@b>",
        "VRFY  x",
        "VRFY é",
        "VRFY a\tb",
        "EXPN list",
        "NOOP ping",
        "HELP MAIL",
        "ETRN example.org",
        "ETRN @example.org",
        "ETRN #queue",
        "ETRN #",
        "NOOP",
        "HELP",
        "QUIT",
        "DATA",
        "RSET",
        "STARTTLS",
        "quit",
        "BDAT 10",
        "BDAT 0 LAST",
        "bdat 5 last",
        "BDAT 99999999999999999999",
        "BDAT x",
        "BDAT 5 LAS",
        "BDAT 5  LAST",
        "FROB x",
        "",
        "QUIT ",
        "DATA x",
    ];

    /// Lines near the grammar: a command built from pieces, then perhaps mangled.
    fn near_line() -> impl Strategy<Value = Vec<u8>> {
        let local = prop::sample::select(LOCALS);
        let domain = prop::sample::select(DOMAINS);
        let path = (0..8u8, local, domain, prop::sample::select(DOMAINS)).prop_map(
            |(k, l, d, r)| match k {
                0 => "<>".to_owned(),
                1 => "<Postmaster>".to_owned(),
                2 => format!("<@{r},@{d}:{l}@{d}>"),
                3 => format!("{l}@{d}"),
                4 => "<POSTMASTER>".to_owned(),
                5 => "<postmaster>x".to_owned(),
                _ => format!("<{l}@{d}>"),
            },
        );
        let verb = prop::sample::select(
            &[
                "MAIL FROM:",
                "mail from:",
                "RCPT TO:",
                "Rcpt To:",
                "MAIL FROM: ",
                "RCPT TO: ",
                "MAIL TO:",
                "EHLO ",
                "HELO ",
                "LHLO ",
                "ehlo ",
            ][..],
        );
        let params = prop::collection::vec(prop::sample::select(PARAMS), 0..4);
        let cmd = (verb, path, params, prop::sample::select(DOMAINS)).prop_map(|(v, p, ps, d)| {
            if v.ends_with(':') || v.ends_with(": ") {
                format!("{v}{p}{}", ps.concat())
            } else {
                format!("{v}{d}")
            }
        });
        let line = prop_oneof![cmd, prop::sample::select(TEXTS).prop_map(str::to_owned)];
        let end = prop::sample::select(&["\r\n", "\r\nQUIT\r\n", "\n", "", "\r", "\r\r\n"][..]);
        let mangle = prop::option::weighted(
            0.3,
            (
                any::<prop::sample::Index>(),
                prop::sample::select(
                    &[
                        b' ', b'\r', b'\n', 0, b'.', b'@', b'<', b'>', b'"', 0xc3, 0xa9, 0xff,
                        b'\t', b'=', b':', b',', b';', 0x1a, 0x1c, b'O', b'o',
                    ][..],
                ),
                any::<bool>(),
            ),
        );
        (line, end, mangle).prop_map(|(l, e, m)| {
            let mut b = format!("{l}{e}").into_bytes();
            // One octet inserted, or put in place of one.
            if let Some((at, c, replace)) = m {
                let at = at.index(b.len() + 1);
                match b.get_mut(at) {
                    Some(o) if replace => *o = c,
                    _ => b.insert(at, c),
                }
            }
            b
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn one_pass_agrees_with_the_exact_path(mut l in line(), tail in line()) {
            agrees(&l);
            l.extend_from_slice(b"\r\n");
            agrees(&l);
            l.extend_from_slice(&tail);
            agrees(&l);
        }

        #[test]
        fn one_pass_agrees_near_the_grammar(b in near_line()) {
            agrees(&b);
        }

        #[test]
        fn one_pass_agrees_on_any_octets(b in prop::collection::vec(any::<u8>(), 0..40)) {
            agrees(&b);
        }
    }

    #[test]
    fn one_pass_agrees_on_the_client_stream() {
        let stream = include_bytes!("../../../examples/tests/fixtures/smtp-client-stream.txt");
        let mut rest = &stream[..];
        let mut taken = 0;
        while let Some(lf) = rest.iter().position(|&c| c == b'\n') {
            agrees(rest);
            if command(rest, End::Crlf { max: 512 }, |_, _| true, || false) {
                taken += 1;
            }
            rest = &rest[lf + 1..];
        }
        assert!(taken > 2000, "{taken}");
    }
}
