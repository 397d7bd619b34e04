//! RFC 5322 address lists (`From`, `To`, groups, obsolete routes) in IMAP's four-part form.

use super::envelope::EnvelopeAddress;

/// Tokens of an RFC 5322 address list.
#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Special(char),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' => {
                // A comment, possibly nested: skipped.
                let mut depth = 0usize;
                while let Some(c) = it.next() {
                    match c {
                        '\\' => {
                            it.next();
                        }
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '"' => {
                it.next();
                let mut q = String::new();
                while let Some(c) = it.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = it.next() {
                                q.push(n);
                            }
                        }
                        '"' => break,
                        c => q.push(c),
                    }
                }
                out.push(Tok::Quoted(q));
            }
            '<' | '>' | '@' | ',' | ';' | ':' | '.' | '[' | ']' => {
                it.next();
                out.push(Tok::Special(c));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = it.peek() {
                    if c.is_whitespace() || "()<>@,;:\".[]".contains(c) {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    out
}

/// Joins tokens of an addr-spec (`a.b@c.d`) or a domain literal into text.
fn join_spec(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Word(w) => s.push_str(w),
            Tok::Quoted(q) => {
                s.push('"');
                s.push_str(q);
                s.push('"');
            }
            Tok::Special(c) => s.push(*c),
        }
    }
    s
}

fn phrase(toks: &[Tok]) -> Option<String> {
    let words: Vec<String> = toks
        .iter()
        .map(|t| match t {
            Tok::Word(w) | Tok::Quoted(w) => w.clone(),
            Tok::Special(c) => c.to_string(),
        })
        .collect();
    let s = words.join(" ").replace(" . ", ".");
    (!s.is_empty()).then_some(s)
}

fn addr_spec(name: Option<String>, adl: Option<String>, toks: &[Tok]) -> Option<EnvelopeAddress> {
    if toks.is_empty() {
        return None;
    }
    let at = toks.iter().rposition(|t| *t == Tok::Special('@'));
    let (local, host) = match at {
        Some(i) => (join_spec(&toks[..i]), Some(join_spec(&toks[i + 1..]))),
        None => (join_spec(toks), None),
    };
    Some(EnvelopeAddress {
        name,
        adl,
        mailbox: Some(local),
        host,
    })
}

/// Parses an address-list header value into IMAP's address form. Lenient: anything that does
/// not parse is skipped rather than failing the message.
pub fn parse_address_list(value: &str) -> Vec<EnvelopeAddress> {
    let toks = tokenize(value);
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_group = false;
    while i < toks.len() {
        // Collect up to the next top-level ',', ';', ':' or '<'.
        let start = i;
        while i < toks.len() && !matches!(toks[i], Tok::Special(',' | ';' | ':' | '<')) {
            i += 1;
        }
        let head = &toks[start..i];
        match toks.get(i) {
            Some(Tok::Special('<')) => {
                let close = toks[i..]
                    .iter()
                    .position(|t| *t == Tok::Special('>'))
                    .map_or(toks.len(), |p| i + p);
                let inner = &toks[i + 1..close];
                // obs-route: "@a,@b:" before the addr-spec
                let (adl, spec) = match inner.iter().position(|t| *t == Tok::Special(':')) {
                    Some(c) if inner.first() == Some(&Tok::Special('@')) => {
                        (Some(join_spec(&inner[..c])), &inner[c + 1..])
                    }
                    _ => (None, inner),
                };
                if let Some(a) = addr_spec(phrase(head), adl, spec) {
                    out.push(a);
                }
                i = close + 1;
                // skip to the separator
                while i < toks.len() && !matches!(toks[i], Tok::Special(',' | ';')) {
                    i += 1;
                }
            }
            Some(Tok::Special(':')) if !in_group => {
                out.push(EnvelopeAddress {
                    name: None,
                    adl: None,
                    mailbox: phrase(head),
                    host: None,
                });
                in_group = true;
                i += 1;
            }
            Some(Tok::Special(';')) if in_group => {
                if let Some(a) = addr_spec(None, None, head) {
                    out.push(a);
                }
                out.push(EnvelopeAddress::default());
                in_group = false;
                i += 1;
            }
            _ => {
                if let Some(a) = addr_spec(None, None, head) {
                    out.push(a);
                }
                i += 1;
            }
        }
    }
    if in_group {
        out.push(EnvelopeAddress::default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: &str, host: &str) -> EnvelopeAddress {
        EnvelopeAddress {
            name: name.map(str::to_owned),
            adl: None,
            mailbox: Some(mailbox.into()),
            host: Some(host.into()),
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address_list("Alice Doe <alice@example.org>, bob@example.net"),
            vec![
                a(Some("Alice Doe"), "alice", "example.org"),
                a(None, "bob", "example.net")
            ]
        );
        assert_eq!(
            parse_address_list("\"Doe, J.\" <j@x.y> (comment)"),
            vec![a(Some("Doe, J."), "j", "x.y")]
        );
        assert_eq!(
            parse_address_list("=?utf-8?q?J=C3=B6rg?= <j@x.y>"),
            vec![a(Some("=?utf-8?q?J=C3=B6rg?="), "j", "x.y")]
        );
        let g = parse_address_list("undisclosed-recipients:;");
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].mailbox.as_deref(), Some("undisclosed-recipients"));
        assert_eq!(g[1], EnvelopeAddress::default());
        let g = parse_address_list("team: a@b.c, d@e.f;, z@y.x");
        assert_eq!(g.len(), 5);
        assert_eq!(g[4], a(None, "z", "y.x"));
        assert_eq!(
            parse_address_list("<@route.a,@route.b:x@y.z>")[0]
                .adl
                .as_deref(),
            Some("@route.a,@route.b")
        );
    }
}
