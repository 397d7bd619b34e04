//! The arguments of the mailbox commands (SELECT, CREATE, LIST, STATUS, APPEND), ID, QUOTA
//! and METADATA.

use std::borrow::Cow;

use super::{
    command::{CommandOptions, keyword, label, mailbox, upper},
    core::{
        PResult, ascii, astring, atom, byte, date_time, fail, flag, literal, nstring, number,
        number64, nz_number, paren_list, sequence_set, sp, string, tag_no_case,
    },
};
use crate::types::{
    command::{
        AppendData, AppendMessage, CatPart, CommandBody, ListMailbox, ListReturnOpt, ListSelectOpt,
        MetadataDepth, MetadataOptions, QResync, QuotaLimit, SelectParam, is_list_char,
    },
    core::Atom,
    datetime::DateTime,
    flag::{Flag, MailboxAttr},
    mailbox::Mailbox,
    status::StatusAttr,
};

/// `flag` as a client may store it: not `\Recent` and not `\*`.
pub(crate) fn store_flag(input: &[u8]) -> PResult<'_, Flag<'_>> {
    let (rest, f) = flag(input)?;
    if matches!(f, Flag::Recent | Flag::Wildcard) {
        return fail(input, "flag (not \\Recent or \\*)");
    }
    Ok((rest, f))
}

/// `flag-list = "(" [flag *(SP flag)] ")"`
pub(crate) fn store_flag_list(input: &[u8]) -> PResult<'_, Vec<Flag<'_>>> {
    paren_list(input, store_flag)
}

/// `"(" item *(SP item) ")"`, at least one item.
pub(crate) fn paren_list1<'a, O>(
    input: &'a [u8],
    expected: &'static str,
    item: impl FnMut(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, Vec<O>> {
    let (rest, v) = paren_list(input, item)?;
    if v.is_empty() {
        return fail(&input[1..], expected);
    }
    Ok((rest, v))
}

/// ```text
/// select        = "SELECT" SP mailbox [select-params]
/// examine       = "EXAMINE" SP mailbox [select-params]
/// select-params = SP "(" select-param *(SP select-param) ")"
/// select-param  = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
///                 [SP known-uids] [SP seq-match-data] ")"           ; RFC 7162
/// ```
pub(crate) fn select<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    examine: bool,
) -> PResult<'a, CommandBody<'a>> {
    let (mut rest, mailbox) = mailbox(input, opts)?;
    let mut params = Vec::new();
    if let Some(r) = rest.strip_prefix(b" ") {
        let (r, p) = paren_list1(r, "select-param", select_param)?;
        rest = r;
        params = p;
    }
    Ok((
        rest,
        if examine {
            CommandBody::Examine { mailbox, params }
        } else {
            CommandBody::Select { mailbox, params }
        },
    ))
}

fn select_param(input: &[u8]) -> PResult<'_, SelectParam> {
    let (rest, name) = label(input, "CONDSTORE or QRESYNC", keyword)?;
    if name.eq_ignore_ascii_case(b"CONDSTORE") {
        return Ok((rest, SelectParam::CondStore));
    }
    if !name.eq_ignore_ascii_case(b"QRESYNC") {
        return fail(input, "CONDSTORE or QRESYNC");
    }
    let (rest, ()) = sp(rest)?;
    let (rest, ()) = byte(rest, b'(')?;
    let (rest, uid_validity) = label(rest, "uidvalidity", nz_number)?;
    let (rest, ()) = sp(rest)?;
    let (mut rest, modseq) = mod_sequence_value(rest)?;
    let mut known_uids = None;
    if rest.first() == Some(&b' ') && rest.get(1) != Some(&b'(') {
        let (r, set) = sequence_set(&rest[1..])?;
        known_uids = Some(set);
        rest = r;
    }
    let mut seq_match = None;
    if let Some(r) = rest.strip_prefix(b" (") {
        let (r, seqs) = sequence_set(r)?;
        let (r, ()) = sp(r)?;
        let (r, uids) = sequence_set(r)?;
        let (r, ()) = byte(r, b')')?;
        seq_match = Some((seqs, uids));
        rest = r;
    }
    let (rest, ()) = byte(rest, b')')?;
    Ok((
        rest,
        SelectParam::QResync(QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        }),
    ))
}

/// `mod-sequence-value = 1*DIGIT` (1 to 2^63-1)
pub(crate) fn mod_sequence_value(input: &[u8]) -> PResult<'_, u64> {
    match label(input, "mod-sequence-value", number64)? {
        (_, 0) => fail(input, "mod-sequence-value (not 0)"),
        ok => Ok(ok),
    }
}

/// ```text
/// create       = "CREATE" SP mailbox [create-params]
/// create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")"          ; RFC 6154
/// ```
pub(crate) fn create<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let (rest, mailbox) = mailbox(input, opts)?;
    let Some(r) = rest.strip_prefix(b" ") else {
        return Ok((
            rest,
            CommandBody::Create {
                mailbox,
                special_use: None,
            },
        ));
    };
    let (r, ()) = byte(r, b'(')?;
    let (r, _) = tag_no_case(r, "USE")?;
    let (r, ()) = sp(r)?;
    let (r, attrs) = paren_list(r, use_attr)?;
    let (r, ()) = byte(r, b')')?;
    Ok((
        r,
        CommandBody::Create {
            mailbox,
            special_use: Some(attrs),
        },
    ))
}

/// `use-attr = "\All" / "\Archive" / "\Drafts" / "\Flagged" / "\Junk" / "\Sent" / "\Trash" / use-attr-ext`
fn use_attr(input: &[u8]) -> PResult<'_, MailboxAttr<'_>> {
    let Some(after) = input.strip_prefix(b"\\") else {
        return fail(input, "use-attr");
    };
    let (rest, a) = atom(after)?;
    match MailboxAttr::parse(ascii(&input[..=a.len()])) {
        Ok(attr) => Ok((rest, attr)),
        Err(_) => fail(input, "use-attr"),
    }
}

/// `list-mailbox = 1*list-char / string`
pub(crate) fn list_mailbox(input: &[u8]) -> PResult<'_, ListMailbox<'_>> {
    if matches!(input, [b'"' | b'{', ..] | [b'~', b'{', ..]) {
        return string(input).map(|(r, s)| (r, ListMailbox::String(s)));
    }
    let end = input
        .iter()
        .position(|&b| !is_list_char(b))
        .unwrap_or(input.len());
    if end == 0 {
        return fail(input, "list-mailbox");
    }
    Ok((
        &input[end..],
        ListMailbox::Token(Cow::Borrowed(ascii(&input[..end]))),
    ))
}

/// ```text
/// list             = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
/// list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"
/// mbox-or-pat      = list-mailbox / patterns
/// patterns         = "(" list-mailbox *(SP list-mailbox) ")"
/// list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
/// ```
/// RECURSIVEMATCH needs a base option (SUBSCRIBED or SPECIAL-USE) beside it (RFC 5258 §3).
pub(crate) fn list<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let (rest, selection) = if input.starts_with(b"(") {
        let (r, sel) = paren_list(input, list_select_opt)?;
        if sel.contains(&ListSelectOpt::RecursiveMatch)
            && !sel
                .iter()
                .any(|o| matches!(o, ListSelectOpt::Subscribed | ListSelectOpt::SpecialUse))
        {
            return fail(input, "a base option beside RECURSIVEMATCH");
        }
        (sp(r)?.0, Some(sel))
    } else {
        (input, None)
    };
    let (rest, reference) = mailbox(rest, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, patterns) = if rest.starts_with(b"(") {
        paren_list1(rest, "list-mailbox", list_mailbox)?
    } else {
        let (r, p) = list_mailbox(rest)?;
        (r, vec![p])
    };
    let (rest, return_opts) = match rest.strip_prefix(b" ") {
        Some(r) => {
            let (r, _) = tag_no_case(r, "RETURN")?;
            let (r, ()) = sp(r)?;
            let (r, o) = paren_list(r, list_return_opt)?;
            (r, Some(o))
        }
        None => (rest, None),
    };
    Ok((
        rest,
        CommandBody::List {
            selection,
            reference,
            patterns,
            return_opts,
        },
    ))
}

fn list_select_opt(input: &[u8]) -> PResult<'_, ListSelectOpt> {
    const EXPECTED: &str = "SUBSCRIBED, REMOTE, RECURSIVEMATCH or SPECIAL-USE";
    let (rest, k) = label(input, EXPECTED, keyword)?;
    let mut buf = [0; 24];
    let opt = match upper(k, &mut buf) {
        b"SUBSCRIBED" => ListSelectOpt::Subscribed,
        b"REMOTE" => ListSelectOpt::Remote,
        b"RECURSIVEMATCH" => ListSelectOpt::RecursiveMatch,
        b"SPECIAL-USE" => ListSelectOpt::SpecialUse,
        _ => return fail(input, EXPECTED),
    };
    Ok((rest, opt))
}

/// `return-option = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" / "STATUS" SP "(" status-att *(SP status-att) ")"`
fn list_return_opt(input: &[u8]) -> PResult<'_, ListReturnOpt> {
    const EXPECTED: &str = "SUBSCRIBED, CHILDREN, SPECIAL-USE or STATUS";
    let (rest, k) = label(input, EXPECTED, keyword)?;
    let mut buf = [0; 24];
    let opt = match upper(k, &mut buf) {
        b"SUBSCRIBED" => ListReturnOpt::Subscribed,
        b"CHILDREN" => ListReturnOpt::Children,
        b"SPECIAL-USE" => ListReturnOpt::SpecialUse,
        b"STATUS" => {
            let (r, ()) = sp(rest)?;
            let (r, attrs) = paren_list1(r, "status-att", status_att)?;
            return Ok((r, ListReturnOpt::Status(attrs)));
        }
        _ => return fail(input, EXPECTED),
    };
    Ok((rest, opt))
}

/// `lsub = "LSUB" SP mailbox SP list-mailbox`
pub(crate) fn lsub<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let (rest, reference) = mailbox(input, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, pattern) = list_mailbox(rest)?;
    Ok((rest, CommandBody::Lsub { reference, pattern }))
}

/// `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE" / ...`
pub(crate) fn status_att(input: &[u8]) -> PResult<'_, StatusAttr> {
    let (rest, k) = label(input, "status-att", keyword)?;
    match StatusAttr::from_name(k) {
        Some(a) => Ok((rest, a)),
        None => fail(input, "status-att"),
    }
}

/// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`
pub(crate) fn status<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let (rest, mailbox) = mailbox(input, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, attrs) = paren_list1(rest, "status-att", status_att)?;
    Ok((rest, CommandBody::Status { mailbox, attrs }))
}

/// ```text
/// append         = "APPEND" SP mailbox 1*append-message             ; RFC 3502
/// append-message = append-opts SP append-data
/// append-opts    = [SP flag-list] [SP date-time]
/// append-data    = literal / literal8 / "UTF8" SP "(" literal8 ")"  ; RFC 3516, RFC 6855
/// append-data    =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"  ; RFC 4469
/// cat-part       = "TEXT" SP literal / "URL" SP astring
/// ```
pub(crate) fn append<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, CommandBody<'a>> {
    let (mut rest, mailbox) = mailbox(input, opts)?;
    let mut messages = Vec::new();
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, (flags, date)) = append_opts(r)?;
        let (r, data) = append_data(r)?;
        messages.push(AppendMessage { flags, date, data });
        rest = r;
    }
    if messages.is_empty() {
        return fail(rest, "SP append-message");
    }
    Ok((rest, CommandBody::Append { mailbox, messages }))
}

type AppendOpts<'a> = (Option<Vec<Flag<'a>>>, Option<DateTime>);

/// `append-opts = [SP flag-list] [SP date-time]`, after the space before it, with the space
/// that follows each of them.
fn append_opts(input: &[u8]) -> PResult<'_, AppendOpts<'_>> {
    let (r, flags) = match input.first() {
        Some(b'(') => {
            let (r, f) = store_flag_list(input)?;
            (sp(r)?.0, Some(f))
        }
        _ => (input, None),
    };
    let (r, date) = match r.first() {
        Some(b'"') => {
            let (r, d) = date_time(r)?;
            (sp(r)?.0, Some(d))
        }
        _ => (r, None),
    };
    Ok((r, (flags, date)))
}

/// The mailbox of an APPEND whose message data a synchronizing literal announced at the end
/// of `args` (the arguments after `APPEND SP`, up to the announcement's CRLF) is: the
/// literal of an `append-data`, of `UTF8 (`, or a CATENATE `TEXT` part, after any number
/// of whole messages (MULTIAPPEND). `None` for any other literal (a mailbox name, a URL)
/// and for anything that does not parse.
pub(crate) fn append_target<'a>(args: &'a [u8], opts: &CommandOptions) -> Option<Mailbox<'a>> {
    let (mut rest, mailbox) = mailbox(args, opts).ok()?;
    loop {
        let (r, _) = append_opts(rest.strip_prefix(b" ")?).ok()?;
        if announces_message_data(r) {
            return Some(mailbox);
        }
        rest = append_data(r).ok()?.0;
    }
}

/// Whether `input` is the start of an `append-data` that ends with a literal's announcement.
fn announces_message_data(input: &[u8]) -> bool {
    if literal_announcement(input) {
        return true;
    }
    if let Ok((r, _)) = tag_no_case(input, "UTF8 (") {
        return literal_announcement(r);
    }
    let Ok((mut r, _)) = tag_no_case(input, "CATENATE (") else {
        return false;
    };
    loop {
        if let Ok((text, _)) = tag_no_case(r, "TEXT ")
            && literal_announcement(text)
        {
            return true;
        }
        match cat_part(r)
            .ok()
            .and_then(|(next, _)| next.strip_prefix(b" "))
        {
            Some(next) => r = next,
            None => return false,
        }
    }
}

/// Whether `input` is exactly a synchronizing literal's announcement, `["~"] "{" number "}"
/// CRLF`, with nothing after it.
fn literal_announcement(input: &[u8]) -> bool {
    let input = input.strip_prefix(b"~").unwrap_or(input);
    input
        .strip_prefix(b"{")
        .and_then(|r| r.strip_suffix(b"}\r\n"))
        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
}

fn append_data(input: &[u8]) -> PResult<'_, AppendData<'_>> {
    if let Ok((r, _)) = tag_no_case(input, "CATENATE") {
        let (r, ()) = sp(r)?;
        let (r, parts) = paren_list1(r, "cat-part", cat_part)?;
        return Ok((r, AppendData::Catenate(parts)));
    }
    if let Ok((r, _)) = tag_no_case(input, "UTF8") {
        let (r, ()) = sp(r)?;
        let (r, ()) = byte(r, b'(')?;
        if !r.starts_with(b"~{") {
            return fail(r, "literal8");
        }
        let (r, lit) = literal(r)?;
        let (r, ()) = byte(r, b')')?;
        return Ok((r, AppendData::Utf8(lit)));
    }
    if !matches!(input, [b'{', ..] | [b'~', b'{', ..]) {
        return fail(input, "a literal (the message)");
    }
    let (r, lit) = literal(input)?;
    Ok((r, AppendData::Literal(lit)))
}

/// `cat-part = text-literal / url`, `text-literal = "TEXT" SP literal`, `url = "URL" SP
/// astring` (RFC 4469)
fn cat_part(input: &[u8]) -> PResult<'_, CatPart<'_>> {
    if let Ok((r, _)) = tag_no_case(input, "TEXT") {
        let (r, ()) = sp(r)?;
        let (r, lit) = literal(r)?;
        return Ok((r, CatPart::Text(lit)));
    }
    if let Ok((r, _)) = tag_no_case(input, "URL") {
        let (r, ()) = sp(r)?;
        let (r, url) = astring(r)?;
        return Ok((r, CatPart::Url(url)));
    }
    fail(input, "TEXT or URL")
}

/// `id = "ID" SP id-params-list`, `id-params-list = "(" *(string SP nstring) ")" / nil`
/// (RFC 2971; pairs separated by SP)
pub(crate) fn id(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    if let Ok((r, _)) = tag_no_case(input, "NIL") {
        return Ok((r, CommandBody::Id { params: None }));
    }
    let (rest, params) = paren_list(input, |i| {
        let (r, k) = string(i)?;
        let (r, ()) = sp(r)?;
        let (r, v) = nstring(r)?;
        Ok((r, (k, v)))
    })?;
    Ok((
        rest,
        CommandBody::Id {
            params: Some(params),
        },
    ))
}

/// ```text
/// setquota          = "SETQUOTA" SP quota-root-name SP setquota-list   ; RFC 9208
/// setquota-list     = "(" [setquota-resource *(SP setquota-resource)] ")"
/// setquota-resource = resource-name SP resource-limit
/// ```
pub(crate) fn setquota(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let (rest, root) = label(input, "quota-root-name", astring)?;
    let (rest, ()) = sp(rest)?;
    let (rest, limits) = paren_list(rest, |i| {
        let (r, name) = label(i, "resource-name", atom)?;
        let (r, ()) = sp(r)?;
        let (r, limit) = number64(r)?;
        Ok((
            r,
            QuotaLimit {
                resource: Atom::from_parsed(name),
                limit,
            },
        ))
    })?;
    Ok((rest, CommandBody::SetQuota { root, limits }))
}

/// ```text
/// getmetadata         = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries  ; RFC 5464
/// getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
/// getmetadata-option  = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
/// entries             = entry / "(" entry *(SP entry) ")"
/// ```
pub(crate) fn getmetadata<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
) -> PResult<'a, CommandBody<'a>> {
    let mut options = MetadataOptions::default();
    let mut rest = input;
    if input.starts_with(b"(") {
        let (r, _) = paren_list1(input, "MAXSIZE or DEPTH", |i| {
            let (r, k) = label(i, "MAXSIZE or DEPTH", keyword)?;
            let (r, ()) = sp(r)?;
            if k.eq_ignore_ascii_case(b"MAXSIZE") && options.max_size.is_none() {
                let (r, n) = number(r)?;
                options.max_size = Some(n);
                Ok((r, ()))
            } else if k.eq_ignore_ascii_case(b"DEPTH") && options.depth.is_none() {
                let (r, d) = label(r, "0, 1 or infinity", keyword)?;
                options.depth = Some(match d {
                    b"0" => MetadataDepth::Zero,
                    b"1" => MetadataDepth::One,
                    _ if d.eq_ignore_ascii_case(b"infinity") => MetadataDepth::Infinity,
                    _ => return fail(r, "0, 1 or infinity"),
                });
                Ok((r, ()))
            } else {
                fail(i, "MAXSIZE or DEPTH, once each")
            }
        })?;
        rest = sp(r)?.0;
    }
    let (rest, mailbox) = mailbox(rest, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, entries) = if rest.starts_with(b"(") {
        paren_list1(rest, "entry", astring)?
    } else {
        let (r, e) = label(rest, "entry", astring)?;
        (r, vec![e])
    };
    Ok((
        rest,
        CommandBody::GetMetadata {
            options,
            mailbox,
            entries,
        },
    ))
}

/// ```text
/// setmetadata  = "SETMETADATA" SP mailbox SP entry-values              ; RFC 5464
/// entry-values = "(" entry-value *(SP entry-value) ")"
/// entry-value  = entry SP value
/// value        = nstring / literal8
/// ```
pub(crate) fn setmetadata<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
) -> PResult<'a, CommandBody<'a>> {
    let (rest, mailbox) = mailbox(input, opts)?;
    let (rest, ()) = sp(rest)?;
    let (rest, entries) = paren_list1(rest, "entry-value", |i| {
        let (r, k) = label(i, "entry", astring)?;
        let (r, ()) = sp(r)?;
        let (r, v) = nstring(r)?;
        Ok((r, (k, v)))
    })?;
    Ok((rest, CommandBody::SetMetadata { mailbox, entries }))
}
