//! Between `mail-store`'s protocol-neutral values and `imap-proto`'s wire types: flags,
//! dates, ENVELOPE, BODYSTRUCTURE and error codes.

use std::borrow::Cow;

use sansmail_imap::types::{
    body::{
        Body, BodyFields, BodyParams, Disposition as ImapDisposition, ExtDisposition, ExtLanguage,
        ExtLocation, Language, MultiPart, MultiPartExt, SinglePart, SinglePartExt, SinglePartKind,
    },
    core::{Atom, IString, NString},
    datetime::DateTime,
    envelope::{Address, Envelope as ImapEnvelope},
    flag::{Flag as ImapFlag, MailboxAttr},
    response_code::ResponseCode,
};
use sansmail_store::{
    Flag, Flags, InternalDate, Keyword, SpecialUse, StoreError,
    mime::{BodyKind, BodyStructure, Envelope, EnvelopeAddress},
};

/// A message's flags as IMAP writes them (`\Recent` for messages this session claimed).
pub(crate) fn imap_flags(flags: &Flags, recent: bool) -> Vec<ImapFlag<'static>> {
    let mut out: Vec<ImapFlag<'static>> = flags
        .system()
        .map(|f| match f {
            Flag::Seen => ImapFlag::Seen,
            Flag::Answered => ImapFlag::Answered,
            Flag::Flagged => ImapFlag::Flagged,
            Flag::Deleted => ImapFlag::Deleted,
            Flag::Draft => ImapFlag::Draft,
        })
        .collect();
    out.extend(
        flags
            .keywords()
            .iter()
            .filter_map(|k| Atom::new(k.as_str().to_owned()).ok())
            .map(ImapFlag::Keyword),
    );
    if recent {
        out.push(ImapFlag::Recent);
    }
    out
}

/// The flags a client asked to store or append. `\Recent`, `\*` and unknown backslash
/// flags cannot be stored.
pub(crate) fn store_flags(flags: &[ImapFlag<'_>]) -> Result<Flags, String> {
    let mut out = Flags::new();
    for f in flags {
        match f {
            ImapFlag::Seen => out.insert(Flag::Seen),
            ImapFlag::Answered => out.insert(Flag::Answered),
            ImapFlag::Flagged => out.insert(Flag::Flagged),
            ImapFlag::Deleted => out.insert(Flag::Deleted),
            ImapFlag::Draft => out.insert(Flag::Draft),
            ImapFlag::Keyword(k) => out.insert_keyword(
                Keyword::try_from(k.as_str()).map_err(|_| format!("Invalid keyword {k}"))?,
            ),
            other => return Err(format!("Cannot store {other}")),
        }
    }
    Ok(out)
}

/// The flags a mailbox knows: the system flags and the keywords in use.
pub(crate) fn mailbox_flags(keywords: &[Keyword]) -> Vec<ImapFlag<'static>> {
    let mut flags = vec![
        ImapFlag::Answered,
        ImapFlag::Flagged,
        ImapFlag::Deleted,
        ImapFlag::Seen,
        ImapFlag::Draft,
    ];
    flags.extend(
        keywords
            .iter()
            .filter_map(|k| Atom::new(k.as_str().to_owned()).ok())
            .map(ImapFlag::Keyword),
    );
    flags
}

/// An internal date in the zone it was given in.
pub(crate) fn date_time(d: InternalDate) -> Option<DateTime> {
    let zone = d.offset_minutes;
    let local = DateTime::from_unix_timestamp(d.timestamp + i64::from(zone) * 60)?;
    let (h, m, s) = local.time();
    DateTime::new(local.date(), h, m, s, zone)
        .ok()
        .or_else(|| DateTime::from_unix_timestamp(d.timestamp))
}

/// APPEND's date.
pub(crate) fn internal_date(d: DateTime) -> InternalDate {
    InternalDate {
        timestamp: d.unix_timestamp(),
        offset_minutes: d.zone_minutes(),
    }
}

/// A string value, quoted or as a literal; `None` for what cannot be sent.
pub(crate) fn istring(s: impl Into<Vec<u8>>) -> Option<IString<'static>> {
    let mut bytes = s.into();
    // A NUL cannot be sent in a string (only in BINARY's literal8); Dovecot sends 0x80.
    for b in &mut bytes {
        if *b == 0 {
            *b = 0x80;
        }
    }
    IString::from_bytes(bytes).ok()
}

/// Decoded BINARY octets: a `literal8` when they hold NUL (RFC 3516 §4.2), otherwise a
/// string.
pub(crate) fn binary_string(data: Vec<u8>) -> Option<IString<'static>> {
    use sansmail_imap::{codec::frame::LiteralMode, types::core::Literal};
    if data.contains(&0) {
        Some(IString::Literal(Literal::binary(data, LiteralMode::Sync)))
    } else {
        IString::from_bytes(data).ok()
    }
}

fn nstring(s: Option<&str>) -> NString<'static> {
    s.and_then(|s| istring(s.as_bytes()))
}

fn address(a: &EnvelopeAddress) -> Address<'static> {
    Address {
        name: nstring(a.name.as_deref()),
        adl: nstring(a.adl.as_deref()),
        mailbox: nstring(a.mailbox.as_deref()),
        host: nstring(a.host.as_deref()),
    }
}

fn addresses(list: &[EnvelopeAddress]) -> Vec<Address<'static>> {
    list.iter().map(address).collect()
}

/// ENVELOPE.
pub(crate) fn envelope(e: &Envelope) -> ImapEnvelope<'static> {
    ImapEnvelope {
        date: nstring(e.date.as_deref()),
        subject: nstring(e.subject.as_deref()),
        from: addresses(&e.from),
        sender: addresses(&e.sender),
        reply_to: addresses(&e.reply_to),
        to: addresses(&e.to),
        cc: addresses(&e.cc),
        bcc: addresses(&e.bcc),
        in_reply_to: nstring(e.in_reply_to.as_deref()),
        message_id: nstring(e.message_id.as_deref()),
    }
}

fn params(list: &[(String, String)]) -> BodyParams<'static> {
    if list.is_empty() {
        return None;
    }
    Some(
        list.iter()
            .filter_map(|(k, v)| Some((istring(k.as_bytes())?, istring(v.as_bytes()))))
            .collect(),
    )
}

fn plain(s: &str) -> IString<'static> {
    istring(s.as_bytes()).unwrap_or(IString::Quoted(Cow::Borrowed("")))
}

/// The extension data shared by single parts and multiparts: disposition, language,
/// location (always written out, as Dovecot does).
fn ext_disposition(b: &BodyStructure) -> ExtDisposition<'static> {
    // A list even of one tag, as Dovecot writes it (`("en")`); NIL for none.
    let language = match b.language.as_slice() {
        [] => Language::Single(None),
        tags => Language::List(tags.iter().map(|l| plain(l)).collect()),
    };
    ExtDisposition {
        disposition: b.disposition.as_ref().map(|d| ImapDisposition {
            kind: plain(&d.value),
            params: params(&d.params),
        }),
        more: Some(ExtLanguage {
            language,
            more: Some(ExtLocation {
                location: nstring(b.location.as_deref()),
                extensions: Vec::new(),
            }),
        }),
    }
}

/// An empty `text/plain` part: what a multipart without parts holds, and the body of a
/// `message/rfc822` that did not parse, as Dovecot reports them.
fn empty_text() -> BodyStructure {
    BodyStructure {
        media_type: "text".to_owned(),
        subtype: "plain".to_owned(),
        params: Vec::new(),
        id: None,
        description: None,
        encoding: "7bit".to_owned(),
        size: 0,
        lines: Some(0),
        md5: None,
        disposition: None,
        language: Vec::new(),
        location: None,
        header_offset: 0,
        body_offset: 0,
        kind: BodyKind::Text,
    }
}

/// BODYSTRUCTURE (`extended`) or BODY. A `multipart/*` part is always `body-type-mpart`
/// and a `message/rfc822` part always `body-type-msg` (RFC 9051 §9), whatever their
/// content: one without parts gets an empty text part, one whose message did not parse an
/// empty envelope and body, as Dovecot answers. A `message/global` part is `body-type-msg`
/// only under IMAP4rev2 (`rev2`): IMAP4rev1's `media-message` is `message/rfc822` alone
/// (RFC 3501 §9), so there it is `body-type-basic`, as Dovecot answers.
pub(crate) fn body(b: &BodyStructure, extended: bool, rev2: bool) -> Body<'static> {
    let multipart = b.kind.is_multipart() || b.media_type.eq_ignore_ascii_case("multipart");
    if multipart {
        let children = match &b.kind {
            BodyKind::Multipart(children) if !children.is_empty() => Cow::Borrowed(children),
            _ => Cow::Owned(vec![empty_text()]),
        };
        return Body::Multi(MultiPart {
            parts: children.iter().map(|c| body(c, extended, rev2)).collect(),
            subtype: plain(&b.subtype),
            ext: extended.then(|| MultiPartExt {
                params: params(&b.params),
                more: Some(ext_disposition(b)),
            }),
        });
    }
    let lines = b.lines.unwrap_or(0);
    let rfc822 = b.subtype.eq_ignore_ascii_case("rfc822");
    let specific = match &b.kind {
        BodyKind::Text => SinglePartKind::Text { lines },
        BodyKind::Message {
            envelope: env,
            body: inner,
        } if rfc822 || rev2 => SinglePartKind::Message {
            envelope: Box::new(envelope(env)),
            body: Box::new(body(inner, extended, rev2)),
            lines,
        },
        BodyKind::Basic if b.media_type.eq_ignore_ascii_case("message") && rfc822 => {
            SinglePartKind::Message {
                envelope: Box::new(envelope(&Envelope::default())),
                body: Box::new(body(&empty_text(), extended, rev2)),
                lines,
            }
        }
        BodyKind::Basic | BodyKind::Multipart(_) | BodyKind::Message { .. } => {
            SinglePartKind::Basic
        }
    };
    // A text part without a charset is us-ascii (RFC 2045 §5.2, RFC 2046 §4.1.2); said
    // explicitly, as Dovecot does, so clients need not know the default.
    let mut body_params = Cow::Borrowed(b.params.as_slice());
    if b.media_type.eq_ignore_ascii_case("text")
        && !b
            .params
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("charset"))
    {
        body_params
            .to_mut()
            .push(("charset".to_owned(), "us-ascii".to_owned()));
    }
    Body::Single(SinglePart {
        media_type: plain(&b.media_type),
        subtype: plain(&b.subtype),
        fields: BodyFields {
            params: params(&body_params),
            id: nstring(b.id.as_deref()),
            description: nstring(b.description.as_deref()),
            encoding: Some(plain(&b.encoding)),
            octets: u32::try_from(b.size).unwrap_or(u32::MAX),
        },
        specific,
        ext: extended.then(|| SinglePartExt {
            md5: nstring(b.md5.as_deref()),
            more: Some(ext_disposition(b)),
        }),
    })
}

/// The LIST attribute of a special-use role.
pub(crate) fn special_use_attr(u: SpecialUse) -> MailboxAttr<'static> {
    match u {
        SpecialUse::All => MailboxAttr::All,
        SpecialUse::Archive => MailboxAttr::Archive,
        SpecialUse::Drafts => MailboxAttr::Drafts,
        SpecialUse::Flagged => MailboxAttr::Flagged,
        SpecialUse::Junk => MailboxAttr::Junk,
        SpecialUse::Sent => MailboxAttr::Sent,
        SpecialUse::Trash => MailboxAttr::Trash,
    }
}

/// The special-use role of a CREATE's `USE` attribute.
pub(crate) fn special_use(a: &MailboxAttr<'_>) -> Option<SpecialUse> {
    Some(match a {
        MailboxAttr::All => SpecialUse::All,
        MailboxAttr::Archive => SpecialUse::Archive,
        MailboxAttr::Drafts => SpecialUse::Drafts,
        MailboxAttr::Flagged => SpecialUse::Flagged,
        MailboxAttr::Junk => SpecialUse::Junk,
        MailboxAttr::Sent => SpecialUse::Sent,
        MailboxAttr::Trash => SpecialUse::Trash,
        _ => return None,
    })
}

/// The response code and text of a `NO` for a store error (RFC 5530 codes): the one place
/// where a store error becomes an IMAP answer.
pub(crate) fn error_code(e: &StoreError) -> (Option<ResponseCode<'static>>, String) {
    let code = match e {
        StoreError::NoSuchMailbox(_) => Some(ResponseCode::NonExistent),
        StoreError::MailboxExists(_) => Some(ResponseCode::AlreadyExists),
        StoreError::HasChildren(_) => Some(ResponseCode::HasChildren),
        StoreError::InUse => Some(ResponseCode::InUse),
        // A full disk is OVERQUOTA as in Dovecot ("Not enough disk space"): the client's
        // remedy is the same, deleting mail.
        StoreError::OverQuota(_) | StoreError::NoSpace => Some(ResponseCode::OverQuota),
        StoreError::Limit(_) => Some(ResponseCode::Limit),
        StoreError::NotAllowed(_) | StoreError::InvalidName(_) => Some(ResponseCode::Cannot),
        StoreError::UidValidityChanged => Some(ResponseCode::ExpungeIssued),
        StoreError::Corrupt(_) => Some(ResponseCode::Corruption),
        StoreError::Io(_) | StoreError::WorkerGone => Some(ResponseCode::ServerBug),
        _ => None,
    };
    // Fixed ASCII texts: a name in the text could carry 8-bit octets, which IMAP4rev1
    // response text may not (RFC 3501 TEXT-CHAR is 7-bit).
    let text = match e {
        StoreError::NoSuchMailbox(_) => "No such mailbox",
        StoreError::MailboxExists(_) => "Mailbox already exists",
        StoreError::HasChildren(_) => "Mailbox has children",
        StoreError::InUse => "Mailbox in use",
        StoreError::OverQuota(_) => "Over quota",
        StoreError::NoSpace => "Not enough disk space; deleting mail still works",
        StoreError::NotAllowed(why)
        | StoreError::InvalidName(why)
        | StoreError::InvalidArgument(why)
        | StoreError::Limit(why) => why,
        StoreError::UidValidityChanged => "Mailbox changed during the operation",
        StoreError::NoSuchAccount => "No such account",
        // Internal details go to the log, not to the client.
        _ => "Internal error; try again later",
    };
    let text: String = text
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect();
    (code, text)
}
