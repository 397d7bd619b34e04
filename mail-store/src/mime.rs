//! ENVELOPE and BODYSTRUCTURE data, computed once when a message is stored.
//!
//! The MIME tree comes from the `mail-parser` crate; this module turns it into a
//! protocol-neutral form that the IMAP crate encodes. Header values are kept raw (unfolded,
//! encoded words left alone) because that is what IMAP sends; Dovecot's answers are the
//! reference for defaults (no `Content-Type` means `text/plain; charset=us-ascii`, `7bit`).

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MessagePart, PartType};
use serde::{Deserialize, Serialize};

/// One address of an ENVELOPE address list, in IMAP's four-part form.
///
/// A group is written as IMAP writes it: a start marker with `mailbox` = the group name and
/// no host, the members, then an end marker with every field `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvelopeAddress {
    /// The display name, raw (encoded words are not decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source route (obsolete), without the trailing `:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adl: Option<String>,
    /// The local part, or the group name for a group start marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// The domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The ENVELOPE of a message (RFC 3501 §7.4.2): raw, unfolded header values.
///
/// As IMAP requires, `sender` and `reply_to` default to `from` when their header is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// `Date`
    #[serde(default)]
    pub date: Option<String>,
    /// `Subject`
    #[serde(default)]
    pub subject: Option<String>,
    /// `From`
    #[serde(default)]
    pub from: Vec<EnvelopeAddress>,
    /// `Sender`, or `From`
    #[serde(default)]
    pub sender: Vec<EnvelopeAddress>,
    /// `Reply-To`, or `From`
    #[serde(default)]
    pub reply_to: Vec<EnvelopeAddress>,
    /// `To`
    #[serde(default)]
    pub to: Vec<EnvelopeAddress>,
    /// `Cc`
    #[serde(default)]
    pub cc: Vec<EnvelopeAddress>,
    /// `Bcc`
    #[serde(default)]
    pub bcc: Vec<EnvelopeAddress>,
    /// `In-Reply-To`
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// `Message-ID`
    #[serde(default)]
    pub message_id: Option<String>,
}

/// A `Content-Disposition`: the value and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    /// `inline`, `attachment`, ...
    pub value: String,
    /// Parameters as (name, value), names as given.
    pub params: Vec<(String, String)>,
}

/// What kind of body a [`BodyStructure`] node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyKind {
    /// A leaf that is neither `text/*` nor `message/rfc822`.
    Basic,
    /// A `text/*` leaf; `lines` is set.
    Text,
    /// A `message/rfc822` (or `message/global`) leaf with its parsed content.
    Message {
        /// The inner message's envelope.
        envelope: Box<Envelope>,
        /// The inner message's structure.
        body: Box<BodyStructure>,
    },
    /// A `multipart/*` node with its children.
    Multipart(Vec<BodyStructure>),
}

impl BodyKind {
    /// Whether the node is `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        matches!(self, BodyKind::Multipart(_))
    }
}

/// One node of a message's MIME tree, with everything BODYSTRUCTURE needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyStructure {
    /// Media type (`text`, `multipart`, ...), as given.
    pub media_type: String,
    /// Media subtype (`plain`, `mixed`, ...), as given.
    pub subtype: String,
    /// Content-Type parameters as written: names as given, RFC 2231 forms (`name*`,
    /// `name*0`) undecoded, as IMAP servers report them.
    pub params: Vec<(String, String)>,
    /// `Content-ID`
    pub id: Option<String>,
    /// `Content-Description`
    pub description: Option<String>,
    /// `Content-Transfer-Encoding`, `7bit` when absent.
    pub encoding: String,
    /// Body size in octets, as stored (multipart: the whole body).
    pub size: u64,
    /// Number of lines of the body (`text/*` and `message/rfc822`).
    pub lines: Option<u64>,
    /// `Content-MD5`
    pub md5: Option<String>,
    /// `Content-Disposition`
    pub disposition: Option<Disposition>,
    /// `Content-Language` tags.
    pub language: Vec<String>,
    /// `Content-Location`
    pub location: Option<String>,
    /// Offset of this part's header in the stored message (for `BODY[1.2.MIME]`).
    pub header_offset: u64,
    /// Offset of this part's body in the stored message (for `BODY[1.2]`).
    pub body_offset: u64,
    /// Leaf, text, message or multipart, with the children.
    pub kind: BodyKind,
}

/// The data computed once per message at append time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MimeInfo {
    /// The message's ENVELOPE.
    pub envelope: Envelope,
    /// The message's BODYSTRUCTURE tree.
    pub body: BodyStructure,
    /// Length of the top-level header including the blank line.
    pub header_len: u64,
}

impl MimeInfo {
    /// Parses a message. Never fails: a message the parser cannot make sense of becomes a
    /// `text/plain` body.
    pub fn parse(raw: &[u8]) -> MimeInfo {
        let header_len = header_len(raw);
        match MessageParser::default().parse(raw) {
            Some(msg) if !msg.parts.is_empty() => {
                let envelope = envelope(&msg, msg.raw_message());
                let body = structure(&msg, 0, msg.raw_message(), 0, 0);
                MimeInfo {
                    envelope,
                    body,
                    header_len,
                }
            }
            _ => MimeInfo {
                envelope: Envelope::default(),
                body: BodyStructure {
                    media_type: "text".into(),
                    subtype: "plain".into(),
                    params: vec![("charset".into(), "us-ascii".into())],
                    id: None,
                    description: None,
                    encoding: "7bit".into(),
                    size: (raw.len() as u64).saturating_sub(header_len),
                    lines: Some(count_lines(
                        raw.get(usize::try_from(header_len).unwrap_or(usize::MAX)..)
                            .unwrap_or(&[]),
                    )),
                    md5: None,
                    disposition: None,
                    language: Vec::new(),
                    location: None,
                    header_offset: 0,
                    body_offset: header_len,
                    kind: BodyKind::Text,
                },
                header_len,
            },
        }
    }
}

/// Length of the header block including the empty line that ends it (the whole message if
/// there is no empty line).
pub(crate) fn header_len(raw: &[u8]) -> u64 {
    if raw.starts_with(b"\r\n") {
        return 2;
    }
    if raw.starts_with(b"\n") {
        return 1;
    }
    let mut i = 0;
    while let Some(p) = raw[i..].iter().position(|&b| b == b'\n') {
        let nl = i + p;
        let rest = &raw[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return (nl + 3) as u64;
        }
        if rest.starts_with(b"\n") {
            return (nl + 2) as u64;
        }
        i = nl + 1;
    }
    raw.len() as u64
}

fn count_lines(body: &[u8]) -> u64 {
    body.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The raw value of the first header called `name` in `part`, unfolded and trimmed.
fn raw_header(part: &MessagePart<'_>, raw: &[u8], name: &str) -> Option<String> {
    let h = part
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let bytes = raw.get(h.offset_start as usize..h.offset_end as usize)?;
    let text = String::from_utf8_lossy(bytes);
    let unfolded: String = text.chars().filter(|&c| c != '\r' && c != '\n').collect();
    let trimmed = unfolded.trim();
    Some(trimmed.to_owned())
}

/// Skips a comment whose `(` was already taken (comments nest; `\` escapes).
fn comment(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut depth = 1;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// The parameters of a Content-Type or Content-Disposition value as written, after its
/// first `;` (RFC 2045 §5.1):
///
/// ```text
/// content   := type "/" subtype *(";" parameter)
/// parameter := attribute "=" value
/// value     := token / quoted-string
/// ```
///
/// Names are kept as given and quoted values unquoted. RFC 2231 parameters (`filename*`,
/// `name*0*`) and encoded words stay as they are, as Dovecot reports them: the client
/// decodes them with the charset they name. Comments are skipped; a parameter without `=`
/// is dropped.
fn raw_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    // Past the type (or disposition) to the first `;` outside quotes and comments.
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                chars.next();
            }
            '(' if !quoted => comment(&mut chars),
            ';' if !quoted => break,
            _ => {}
        }
    }
    loop {
        // Whitespace, comments and empty parameters before a name.
        while let Some(&c) = chars.peek() {
            match c {
                ' ' | '\t' | ';' => {
                    chars.next();
                }
                '(' => {
                    chars.next();
                    comment(&mut chars);
                }
                _ => break,
            }
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if matches!(c, '=' | ';') {
                break;
            }
            name.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            continue;
        }
        while chars.next_if(|&c| c == ' ' || c == '\t').is_some() {}
        let mut val = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => val.extend(chars.next()),
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if matches!(c, ';' | ' ' | '\t' | '(') {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        // Anything else up to the next `;` (a stray word after the value) is dropped.
        while let Some(&c) = chars.peek() {
            if c == ';' {
                break;
            }
            chars.next();
            if c == '(' {
                comment(&mut chars);
            }
        }
        let name = name.trim();
        if !name.is_empty() {
            out.push((name.to_owned(), val));
        }
    }
}

fn envelope(msg: &Message<'_>, raw: &[u8]) -> Envelope {
    let Some(root) = msg.parts.first() else {
        return Envelope::default();
    };
    let addrs = |name: &str| {
        raw_header(root, raw, name)
            .map(|v| parse_address_list(&v))
            .unwrap_or_default()
    };
    let from = addrs("From");
    let mut sender = addrs("Sender");
    if sender.is_empty() {
        sender.clone_from(&from);
    }
    let mut reply_to = addrs("Reply-To");
    if reply_to.is_empty() {
        reply_to.clone_from(&from);
    }
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Envelope {
        date: nonempty(raw_header(root, raw, "Date")),
        subject: raw_header(root, raw, "Subject"),
        from,
        sender,
        reply_to,
        to: addrs("To"),
        cc: addrs("Cc"),
        bcc: addrs("Bcc"),
        in_reply_to: nonempty(raw_header(root, raw, "In-Reply-To")),
        message_id: nonempty(raw_header(root, raw, "Message-ID")),
    }
}

/// The slice of `raw` that is `part`'s body, without the CRLF that belongs to the next
/// boundary line.
fn part_body<'r>(part: &MessagePart<'_>, raw: &'r [u8]) -> &'r [u8] {
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    &raw[start..end]
}

fn structure(msg: &Message<'_>, id: usize, raw: &[u8], base: u64, depth: usize) -> BodyStructure {
    let part = &msg.parts[id];
    let (media_type, subtype, params) = match part
        .headers
        .iter()
        .find(|h| matches!(h.name, HeaderName::ContentType))
        .map(|h| &h.value)
    {
        Some(HeaderValue::ContentType(ct)) => (
            ct.c_type.to_string(),
            ct.c_subtype
                .as_deref()
                .map_or_else(|| default_subtype(&ct.c_type), str::to_owned),
            raw_header(part, raw, "Content-Type")
                .map(|v| raw_params(&v))
                .unwrap_or_default(),
        ),
        _ => default_content_type(msg, id),
    };
    let disposition = part
        .headers
        .iter()
        .find(|h| matches!(h.name, HeaderName::ContentDisposition))
        .and_then(|h| match &h.value {
            HeaderValue::ContentType(ct) => Some(Disposition {
                value: ct.c_type.to_string(),
                params: raw_header(part, raw, "Content-Disposition")
                    .map(|v| raw_params(&v))
                    .unwrap_or_default(),
            }),
            _ => None,
        });
    let language = raw_header(part, raw, "Content-Language")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let body = part_body(part, raw);
    let encoding = raw_header(part, raw, "Content-Transfer-Encoding")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "7bit".to_owned());
    let kind = match &part.body {
        PartType::Multipart(children) if depth < 64 => BodyKind::Multipart(
            children
                .iter()
                .filter_map(|&c| {
                    let c = c as usize;
                    (c < msg.parts.len() && c != id)
                        .then(|| structure(msg, c, raw, base, depth + 1))
                })
                .collect(),
        ),
        PartType::Message(inner) if depth < 64 && !inner.parts.is_empty() => {
            // mail-parser gives a nested message either offsets into the outer message (when
            // it met the message inside a multipart) or offsets into its own decoded copy
            // (when the part was the top level or transfer-encoded).
            let relative = inner.parts[0].offset_header == 0 && part.offset_body != 0;
            let (inner_raw, inner_base) = if relative {
                (inner.raw_message(), base + u64::from(part.offset_body))
            } else {
                (raw, base)
            };
            BodyKind::Message {
                envelope: Box::new(envelope(inner, inner_raw)),
                body: Box::new(structure(inner, 0, inner_raw, inner_base, depth + 1)),
            }
        }
        _ if media_type.eq_ignore_ascii_case("text") => BodyKind::Text,
        _ => BodyKind::Basic,
    };
    let lines = match kind {
        BodyKind::Text | BodyKind::Message { .. } => Some(count_lines(body)),
        _ => None,
    };
    BodyStructure {
        media_type,
        subtype,
        params,
        id: raw_header(part, raw, "Content-ID"),
        description: raw_header(part, raw, "Content-Description"),
        encoding,
        size: body.len() as u64,
        lines,
        md5: raw_header(part, raw, "Content-MD5"),
        disposition,
        language,
        location: raw_header(part, raw, "Content-Location"),
        header_offset: base + u64::from(part.offset_header),
        body_offset: base + u64::from(part.offset_body),
        kind,
    }
}

fn default_subtype(media_type: &str) -> String {
    match media_type.to_ascii_lowercase().as_str() {
        "text" => "plain",
        "multipart" => "mixed",
        "message" => "rfc822",
        _ => "octet-stream",
    }
    .to_owned()
}

/// RFC 2046: the default is `text/plain; charset=us-ascii`, except inside
/// `multipart/digest`, where it is `message/rfc822`.
fn default_content_type(msg: &Message<'_>, id: usize) -> (String, String, Vec<(String, String)>) {
    let in_digest = msg.parts.iter().any(|p| {
        matches!(&p.body, PartType::Multipart(c) if c.iter().any(|&c| c as usize == id))
            && p.headers.iter().any(|h| {
                matches!(&h.value, HeaderValue::ContentType(ct)
                    if ct.c_subtype.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("digest")))
            })
    });
    if in_digest {
        ("message".into(), "rfc822".into(), Vec::new())
    } else {
        (
            "text".into(),
            "plain".into(),
            vec![("charset".into(), "us-ascii".into())],
        )
    }
}

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
#[allow(clippy::cast_possible_truncation)]
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

    #[test]
    fn no_content_type_is_text_plain_us_ascii() {
        // Dovecot: ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 2 NIL NIL NIL NIL)
        let m = MimeInfo::parse(b"Subject: hi\r\n\r\nhello world\r\nsecond\r\n");
        assert_eq!(m.body.media_type, "text");
        assert_eq!(m.body.subtype, "plain");
        assert_eq!(m.body.params, vec![("charset".into(), "us-ascii".into())]);
        assert_eq!(m.body.encoding, "7bit");
        assert_eq!(m.body.size, 21);
        assert_eq!(m.body.lines, Some(2));
        assert_eq!(m.envelope.subject.as_deref(), Some("hi"));
        assert_eq!(m.header_len, 15);
    }

    #[test]
    fn multipart_sizes_exclude_boundary_crlf() {
        let raw = b"From: a@b.c\r\nSubject: =?utf-8?q?x?=\r\n  folded\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline1\r\nline2\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n\r\nAAAA\r\n--XX--\r\n";
        let m = MimeInfo::parse(raw);
        assert_eq!(m.envelope.subject.as_deref(), Some("=?utf-8?q?x?=  folded"));
        assert_eq!(m.envelope.sender, m.envelope.from);
        let BodyKind::Multipart(children) = &m.body.kind else {
            panic!("{:?}", m.body)
        };
        assert_eq!(m.body.subtype, "mixed");
        assert_eq!(children.len(), 2);
        let t = &children[0];
        assert_eq!(
            (t.media_type.as_str(), t.subtype.as_str()),
            ("text", "plain")
        );
        let body = &raw[t.body_offset as usize..(t.body_offset + t.size) as usize];
        assert_eq!(body, b"line1\r\nline2");
        assert_eq!(t.lines, Some(1));
        let b = &children[1];
        assert_eq!(b.encoding, "base64");
        assert_eq!(b.size, 4);
        assert_eq!(b.disposition.as_ref().unwrap().value, "attachment");
        assert_eq!(
            b.disposition.as_ref().unwrap().params,
            vec![("filename".into(), "a.bin".into())]
        );
    }

    #[test]
    fn parameters_are_kept_as_written() {
        let p = |v: &str| raw_params(v);
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(
            p("text/plain; charset=\"utf-8\"; format=flowed"),
            pairs(&[("charset", "utf-8"), ("format", "flowed")])
        );
        assert_eq!(
            p("attachment; filename*=UTF-8''%C3%A9t%C3%A9.txt"),
            pairs(&[("filename*", "UTF-8''%C3%A9t%C3%A9.txt")])
        );
        assert_eq!(
            p(
                "application/x (a (nested) comment); name*0=\"a;b\"; name*1=c ;; x; \tQ = \"q\\\"t\" junk"
            ),
            pairs(&[("name*0", "a;b"), ("name*1", "c"), ("Q", "q\"t")])
        );
        assert_eq!(p("text/plain"), pairs(&[]));
        assert_eq!(p("text/plain;"), pairs(&[]));
        assert_eq!(p("multipart/mixed; boundary=\"\"").len(), 1);
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name=\"=?UTF-8?Q?=C3=A9?=\"\r\nContent-Disposition: attachment;\r\n filename*=UTF-8''%C3%A9\r\n\r\nx\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let BodyKind::Multipart(children) = &m.body.kind else {
            panic!("{:?}", m.body)
        };
        assert_eq!(children[0].params, pairs(&[("name", "=?UTF-8?Q?=C3=A9?=")]));
        assert_eq!(
            children[0].disposition.as_ref().unwrap().params,
            pairs(&[("filename*", "UTF-8''%C3%A9")])
        );
    }

    #[test]
    fn nested_message() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y.z\r\n\r\ninner body\r\n--b--\r\n";
        let m = MimeInfo::parse(raw);
        let BodyKind::Multipart(children) = &m.body.kind else {
            panic!()
        };
        let BodyKind::Message { envelope, body } = &children[0].kind else {
            panic!("{:?}", children[0])
        };
        assert_eq!(envelope.subject.as_deref(), Some("inner"));
        assert_eq!(body.media_type, "text");
        let inner = &raw[body.body_offset as usize..(body.body_offset + body.size) as usize];
        assert_eq!(inner, b"inner body");
    }
}
#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod nested_tests {
    use super::*;

    #[test]
    fn top_level_message_rfc822() {
        let raw = b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n";
        let m = MimeInfo::parse(raw);
        let BodyKind::Message { envelope, body } = &m.body.kind else {
            panic!("{:?}", m.body)
        };
        assert_eq!(envelope.subject.as_deref(), Some("inner"));
        let inner = &raw[body.body_offset as usize..(body.body_offset + body.size) as usize];
        assert_eq!(inner, b"body\r\n");
        assert_eq!(m.body.lines, Some(3));
    }
}
