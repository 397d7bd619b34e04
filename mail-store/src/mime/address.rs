//! RFC 5322 address lists (`From`, `To`, groups, obsolete routes) in IMAP's four-part form.

use super::envelope::EnvelopeAddress;

/// Tokens of an RFC 5322 address list.
#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Special(char),
    /// A comment's text (nested parentheses kept, whitespace runs as one space, trimmed):
    /// no part of an address, but the display name of one that has no phrase.
    Comment(String),
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
                // A comment, possibly nested.
                it.next();
                let mut depth = 1usize;
                let mut text = String::new();
                while let Some(c) = it.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = it.next() {
                                text.push(n);
                            }
                        }
                        '(' => {
                            depth += 1;
                            text.push(c);
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        c => text.push(c),
                    }
                }
                out.push(Tok::Comment(
                    text.split_whitespace().collect::<Vec<_>>().join(" "),
                ));
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
            // `.` is no separator: it belongs to the word it is in, so a phrase keeps its
            // spacing (`Dr. Smith`, obs-phrase) and an addr-spec joins as before.
            '<' | '>' | '@' | ',' | ';' | ':' | '[' | ']' => {
                it.next();
                out.push(Tok::Special(c));
            }
            // A close without its open: nothing after it is read, as Dovecot stops there.
            ')' => break,
            _ => {
                // `c` is none of the above, so the word has at least it: every round of the
                // outer loop consumes a character.
                let mut w = String::from(c);
                it.next();
                while let Some(&c) = it.peek() {
                    if c.is_whitespace() || "()<>@,;:\"[]".contains(c) {
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
            Tok::Comment(_) => {}
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
        .filter_map(|t| match t {
            Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
            Tok::Special(c) => Some(c.to_string()),
            Tok::Comment(_) => None,
        })
        .collect();
    let s = words.join(" ");
    (!s.is_empty()).then_some(s)
}

/// The last comment among `toks`: the display name of an address without a phrase, as
/// Dovecot reads `user@domain (Real Name)`.
fn comment_name(toks: &[Tok]) -> Option<String> {
    toks.iter().rev().find_map(|t| match t {
        Tok::Comment(c) if !c.is_empty() => Some(c.clone()),
        _ => None,
    })
}

fn addr_spec(name: Option<String>, adl: Option<String>, toks: &[Tok]) -> Option<EnvelopeAddress> {
    if toks.iter().all(|t| matches!(t, Tok::Comment(_))) {
        return None;
    }
    let at = toks.iter().rposition(|t| *t == Tok::Special('@'));
    // Without a domain (`From: root`) the host is empty, not NIL: NIL marks a group
    // (RFC 9051 §7.5.2). Dovecot answers "" too.
    let (local, host) = match at {
        Some(i) => (join_spec(&toks[..i]), join_spec(&toks[i + 1..])),
        None => (join_spec(toks), String::new()),
    };
    Some(EnvelopeAddress {
        name,
        adl,
        mailbox: Some(local),
        host: Some(host),
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
                let after = (close + 1).min(toks.len());
                i = after;
                // skip to the separator
                while i < toks.len() && !matches!(toks[i], Tok::Special(',' | ';')) {
                    i += 1;
                }
                // Without a phrase, a comment names the address (`<a@b> (Name)`).
                let name = phrase(head)
                    .or_else(|| comment_name(&toks[after..i]))
                    .or_else(|| comment_name(head));
                if let Some(a) = addr_spec(name, adl, spec) {
                    out.push(a);
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
                if let Some(a) = addr_spec(comment_name(head), None, head) {
                    out.push(a);
                }
                out.push(EnvelopeAddress::default());
                in_group = false;
                i += 1;
            }
            _ => {
                if let Some(a) = addr_spec(comment_name(head), None, head) {
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

/// The addresses of an address-list header value as SEARCH FROM/TO/CC/BCC compares them:
/// `Display Name <local@domain>` (the name with its encoded words decoded), or
/// `local@domain`; comments and folding are gone, so `<user (c)@ (c) domain.org>` is found
/// as `user@domain.org` (as Dovecot finds it). Group markers are left out.
pub(crate) fn search_forms(value: &str) -> Vec<String> {
    parse_address_list(value)
        .into_iter()
        .filter_map(|a| {
            let mailbox = a.mailbox?;
            let spec = match a.host {
                Some(host) if !host.is_empty() => format!("{mailbox}@{host}"),
                _ => mailbox,
            };
            Some(match a.name {
                Some(name) => format!("{} <{spec}>", crate::headers::decode_encoded_words(&name)),
                None => spec,
            })
        })
        .collect()
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

    /// A comment names an address that has no phrase (Dovecot's answers); it is never part
    /// of the address itself.
    #[test]
    fn comments() {
        assert_eq!(
            parse_address_list("user@domain (Real Name)"),
            vec![a(Some("Real Name"), "user", "domain")]
        );
        assert_eq!(
            parse_address_list("<user-from (comment)@ (comment) domain.org>"),
            vec![a(None, "user-from", "domain.org")]
        );
        assert_eq!(
            parse_address_list(
                "(lead) a@b.c (Name (nested) here), d@e.f (  spaced   name ), \"Q\" <q@x.org> (c2)"
            ),
            vec![
                a(Some("Name (nested) here"), "a", "b.c"),
                a(Some("spaced name"), "d", "e.f"),
                a(Some("Q"), "q", "x.org")
            ]
        );
        assert_eq!(
            parse_address_list("<a@b.c> (After), Real (not this) Name <d@e.f>"),
            vec![
                a(Some("After"), "a", "b.c"),
                a(Some("Real Name"), "d", "e.f")
            ]
        );
        assert_eq!(parse_address_list("(only a comment)"), vec![]);
    }

    /// A phrase keeps its words' spacing around dots (RFC 5322 obs-phrase), as Dovecot
    /// reads it; dotted addr-specs are unchanged.
    #[test]
    fn dotted_phrases() {
        assert_eq!(
            parse_address_list("Dr. Smith <s@x.org>, John Q. Public <jqp@x.org>"),
            vec![
                a(Some("Dr. Smith"), "s", "x.org"),
                a(Some("John Q. Public"), "jqp", "x.org")
            ]
        );
        assert_eq!(
            parse_address_list("A.B. Name <first.last@mail.x.org>"),
            vec![a(Some("A.B. Name"), "first.last", "mail.x.org")]
        );
        assert_eq!(
            parse_address_list("first . last @ x . org, \"q d\".x@[10.0.0.1]"),
            vec![
                a(None, "first.last", "x.org"),
                a(None, "\"q d\".x", "[10.0.0.1]")
            ]
        );
    }

    /// An address without a domain keeps a host of "" (NIL would start a group).
    #[test]
    fn no_domain() {
        assert_eq!(
            parse_address_list("root, MAILER-DAEMON (Mail Delivery System)"),
            vec![
                a(None, "root", ""),
                a(Some("Mail Delivery System"), "MAILER-DAEMON", "")
            ]
        );
    }

    #[test]
    fn search_forms_drop_comments() {
        assert_eq!(
            search_forms(
                "<user-from (comment)@ (comment) domain.org>, =?utf-8?q?J=C3=B6rg?= <j@x.y>"
            ),
            ["user-from@domain.org", "Jörg <j@x.y>"]
        );
        assert_eq!(
            search_forms("user@domain (Real Name)"),
            ["Real Name <user@domain>"]
        );
    }

    /// A `)` without its `(` ended no token, so the tokenizer pushed empty words without end:
    /// a message with `From: a) b` took all memory when it was stored. Found by the
    /// `store_message` fuzz target. The list ends at it, as Dovecot's does.
    #[test]
    fn a_stray_close_parenthesis_ends_the_list() {
        assert_eq!(parse_address_list(")"), vec![]);
        assert_eq!(
            parse_address_list("x@y.z ) , q@r.s"),
            vec![a(None, "x", "y.z")]
        );
        assert_eq!(
            parse_address_list("Foo) Bar <a@b.c>")[0].mailbox.as_deref(),
            Some("Foo")
        );
        let message = b"From: a) b\r\nSubject: t\r\n\r\nbody\r\n";
        assert_eq!(crate::mime::MimeInfo::parse(message).envelope.from.len(), 1);
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
