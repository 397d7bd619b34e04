//! Untagged data: `mailbox-data`, `message-data`, `capability-data`, `enable-data` and the
//! extensions' data responses.

use super::{
    Cx, astring,
    ext::tagged_ext_val,
    fetch,
    list::{mailbox_list, mailbox_name, namespace_response},
    nstring,
    status::{capabilities, keyword, paren_objectid, uid_set},
    string,
};
use crate::{
    codec::core::{
        self, PResult, ascii, atom, byte, fail, nil, number, number64, nz_number, paren_list,
        sequence_set, sp, tag_no_case,
    },
    types::{
        core::{Atom, is_atom_char},
        flag::Flag,
        response::Data,
        response_data::{
            ContextUpdate, ESearch, ESearchItem, MetadataEntries, QuotaResource, ResourceName,
            SearchResult, StatusItem, Thread,
        },
    },
};

/// The data after `"*" SP`.
pub(crate) fn response_data<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    if input.first().is_some_and(u8::is_ascii_digit) {
        return message_data(cx, input);
    }
    let (rest, name) = keyword(input)?;
    match super::Upper::new(name).as_bytes() {
        b"CAPABILITY" => capabilities(rest).map(|(r, c)| (r, Data::Capability(c))),
        b"ENABLED" => capabilities(rest).map(|(r, c)| (r, Data::Enabled(c))),
        b"LIST" => mailbox_list(cx, rest).map(|(r, l)| (r, Data::List(l))),
        b"LSUB" => mailbox_list(cx, rest).map(|(r, l)| (r, Data::Lsub(l))),
        b"STATUS" => status(cx, rest),
        b"SEARCH" => search_result(rest).map(|(r, s)| (r, Data::Search(s))),
        b"SORT" => search_result(rest).map(|(r, s)| (r, Data::Sort(s))),
        b"ESEARCH" => esearch(cx, rest).map(|(r, e)| (r, Data::ESearch(e))),
        b"FLAGS" => {
            let (rest, ()) = sp(rest)?;
            flag_list(cx, rest).map(|(r, f)| (r, Data::Flags(f)))
        }
        b"VANISHED" => vanished(rest),
        b"ID" => id(rest),
        b"NAMESPACE" => namespace_response(cx, rest),
        b"QUOTA" => quota(rest),
        b"QUOTAROOT" => quotaroot(cx, rest),
        b"METADATA" => metadata(cx, rest),
        b"THREAD" => thread_data(cx, rest),
        b"GENURLAUTH" => genurlauth_data(rest),
        b"URLFETCH" => urlfetch_data(rest),
        _ => fail(input, "a known untagged response"),
    }
}

/// ```text
/// message-data  = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
/// mailbox-data  =/ number SP "EXISTS" / number SP "RECENT"
/// ```
fn message_data<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let (rest, n) = number(input)?;
    let (rest, ()) = sp(rest)?;
    let (after, name) = keyword(rest)?;
    let nz = |d: Data<'a>| {
        if n == 0 {
            fail(input, "nz-number")
        } else {
            Ok((after, d))
        }
    };
    match super::Upper::new(name).as_bytes() {
        b"EXISTS" => Ok((after, Data::Exists(n))),
        b"RECENT" => Ok((after, Data::Recent(n))),
        b"EXPUNGE" => nz(Data::Expunge(n)),
        b"FETCH" => {
            if n == 0 {
                return fail(input, "nz-number");
            }
            let (after, ()) = sp(after)?;
            let (after, items) = fetch::msg_att(cx, after)?;
            Ok((after, Data::Fetch { seq: n, items }))
        }
        _ => fail(rest, "EXISTS, RECENT, EXPUNGE or FETCH"),
    }
}

/// ```text
/// flag       = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
/// flag-fetch = flag / "\Recent"
/// flag-perm  = flag / "\*"
/// ```
/// `\*` only where `perm`. Under [`Leniency::gmail_flags`](super::Leniency::gmail_flags)
/// a flag may also hold `]`.
pub(crate) fn flag<'a>(cx: Cx<'_, 'a>, input: &'a [u8], perm: bool) -> PResult<'a, Flag<'a>> {
    if cx.lenient().gmail_flags
        && let Some(f) = gmail_flag(input)
    {
        return Ok(f);
    }
    let (rest, f) = core::flag(input)?;
    if f == Flag::Wildcard && !perm {
        return fail(input, "flag (\\* only in PERMANENTFLAGS)");
    }
    Ok((rest, f))
}

/// A flag token up to SP or `)` that holds `]`: kept as it came.
fn gmail_flag(input: &[u8]) -> Option<(&[u8], Flag<'_>)> {
    let backslash = input.starts_with(b"\\");
    let body = &input[usize::from(backslash)..];
    let len = body
        .iter()
        .position(|&b| !(is_atom_char(b) || b == b']'))
        .unwrap_or(body.len());
    let name = &body[..len];
    if !name.contains(&b']') {
        return None;
    }
    let atom = Atom::from_parsed(ascii(name));
    let flag = if backslash {
        Flag::Extension(atom)
    } else {
        Flag::Keyword(atom)
    };
    Some((&body[len..], flag))
}

/// `flag-list = "(" [flag *(SP flag)] ")"` (and the FETCH flags, `flag-fetch`)
pub(crate) fn flag_list<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Vec<Flag<'a>>> {
    if cx.lenient().gmail_flags {
        return paren_list(input, |i| flag(cx, i, false));
    }
    let (rest, flags) = core::flag_list(input)?;
    if flags.contains(&Flag::Wildcard) {
        return fail(input, "flag (\\* only in PERMANENTFLAGS)");
    }
    Ok((rest, flags))
}

/// ```text
/// mailbox-data =/ "STATUS" SP mailbox SP "(" [status-att-list] ")"
/// status-att-list = status-att-val *(SP status-att-val)
/// ```
fn status<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let (rest, ()) = sp(input)?;
    let (rest, mailbox) = mailbox_name(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, items) = paren_list(rest, status_att_val)?;
    Ok((rest, Data::Status { mailbox, items }))
}

/// ```text
/// status-att-val = ("MESSAGES" SP number) / ("UIDNEXT" SP nz-number) / ("UIDVALIDITY" SP nz-number) /
///                  ("UNSEEN" SP number) / ("DELETED" SP number) / ("SIZE" SP number64) /
///                  ("RECENT" SP number) / ("HIGHESTMODSEQ" SP mod-sequence-valzer) /
///                  ("APPENDLIMIT" SP (number / nil)) / ("MAILBOXID" SP "(" objectid ")") /
///                  ("DELETED-STORAGE" SP number64)
/// ```
fn status_att_val(input: &[u8]) -> PResult<'_, StatusItem<'_>> {
    let (rest, name) = keyword(input)?;
    let (rest, ()) = sp(rest)?;
    match super::Upper::new(name).as_bytes() {
        b"MESSAGES" => number(rest).map(|(r, n)| (r, StatusItem::Messages(n))),
        b"UIDNEXT" => nz_number(rest).map(|(r, n)| (r, StatusItem::UidNext(n))),
        b"UIDVALIDITY" => nz_number(rest).map(|(r, n)| (r, StatusItem::UidValidity(n))),
        b"UNSEEN" => number(rest).map(|(r, n)| (r, StatusItem::Unseen(n))),
        b"DELETED" => number(rest).map(|(r, n)| (r, StatusItem::Deleted(n))),
        b"SIZE" => number64(rest).map(|(r, n)| (r, StatusItem::Size(n))),
        b"RECENT" => number(rest).map(|(r, n)| (r, StatusItem::Recent(n))),
        b"HIGHESTMODSEQ" => number64(rest).map(|(r, n)| (r, StatusItem::HighestModSeq(n))),
        b"APPENDLIMIT" => match nil(rest) {
            Ok((r, ())) => Ok((r, StatusItem::AppendLimit(None))),
            Err(_) => number64(rest).map(|(r, n)| (r, StatusItem::AppendLimit(Some(n)))),
        },
        b"MAILBOXID" => paren_objectid(rest).map(|(r, id)| (r, StatusItem::MailboxId(id))),
        b"DELETED-STORAGE" => number64(rest).map(|(r, n)| (r, StatusItem::DeletedStorage(n))),
        _ => fail(input, "status-att"),
    }
}

/// ```text
/// "SEARCH" *(SP nz-number) [SP search-sort-mod-seq]
/// "SORT" *(SP nz-number) [SP search-sort-mod-seq]
/// search-sort-mod-seq = "(" "MODSEQ" SP mod-sequence-value ")"
/// ```
fn search_result(mut input: &[u8]) -> PResult<'_, SearchResult> {
    let mut result = SearchResult::default();
    while let Some(r) = input.strip_prefix(b" ") {
        if let Some(r) = r.strip_prefix(b"(") {
            let (r, _) = tag_no_case(r, "MODSEQ")?;
            let (r, ()) = sp(r)?;
            let (r, n) = number64(r)?;
            let (r, ()) = byte(r, b')')?;
            result.modseq = Some(n);
            return Ok((r, result));
        }
        let (r, n) = nz_number(r)?;
        result.ids.push(n);
        input = r;
    }
    Ok((input, result))
}

/// ```text
/// esearch-response   = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
/// search-correlator  = SP "(" "TAG" SP tag-string ")"
/// search-return-data = "MIN" SP nz-number / "MAX" SP nz-number / "ALL" SP sequence-set /
///                      "COUNT" SP number / "MODSEQ" SP mod-sequence-value /
///                      "PARTIAL" SP "(" partial-range SP partial-results ")" /
///                      ret-data-addto / ret-data-removefrom / search-ret-data-ext
/// ```
fn esearch<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, ESearch<'a>> {
    let mut out = ESearch::default();
    let mut rest = input;
    if let Some(r) = rest.strip_prefix(b" (") {
        let (r, _) = tag_no_case(r, "TAG")?;
        let (r, ()) = sp(r)?;
        let (r, t) = astring(r)?;
        let (r, ()) = byte(r, b')')?;
        out.tag = Some(t);
        rest = r;
    }
    if let Some(r) = rest.strip_prefix(b" ")
        && let Ok((after, k)) = keyword(r)
        && k.eq_ignore_ascii_case(b"UID")
    {
        out.uid = true;
        rest = after;
    }
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, item) = search_return_data(cx, r)?;
        out.items.push(item);
        rest = r;
    }
    Ok((rest, out))
}

fn search_return_data<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, ESearchItem<'a>> {
    let (after, name) = atom(input)?;
    let (rest, ()) = sp(after)?;
    match super::Upper::new(name.as_bytes()).as_bytes() {
        b"MIN" => nz_number(rest).map(|(r, n)| (r, ESearchItem::Min(n))),
        b"MAX" => nz_number(rest).map(|(r, n)| (r, ESearchItem::Max(n))),
        b"ALL" => sequence_set(rest).map(|(r, s)| (r, ESearchItem::All(s))),
        b"COUNT" => number(rest).map(|(r, n)| (r, ESearchItem::Count(n))),
        b"MODSEQ" => number64(rest).map(|(r, n)| (r, ESearchItem::ModSeq(n))),
        b"PARTIAL" => {
            let (r, ()) = byte(rest, b'(')?;
            let (r, range) = crate::codec::search::partial_range(r)?;
            let (r, ()) = sp(r)?;
            let (r, results) = match nil(r) {
                Ok((r, ())) => (r, None),
                Err(_) => sequence_set(r).map(|(r, s)| (r, Some(s)))?,
            };
            let (r, ()) = byte(r, b')')?;
            Ok((r, ESearchItem::Partial { range, results }))
        }
        b"ADDTO" => context_updates(rest).map(|(r, v)| (r, ESearchItem::AddTo(v))),
        b"REMOVEFROM" => context_updates(rest).map(|(r, v)| (r, ESearchItem::RemoveFrom(v))),
        _ => {
            let (r, value) = tagged_ext_val(cx, rest, 0)?;
            Ok((
                r,
                ESearchItem::Other {
                    name: Atom::from_parsed(name),
                    value,
                },
            ))
        }
    }
}

/// ```text
/// ret-data-addto      = "ADDTO" SP "(" context-position SP sequence-set
///                       *(SP context-position SP sequence-set) ")"
/// ret-data-removefrom = "REMOVEFROM" SP "(" context-position SP sequence-set
///                       *(SP context-position SP sequence-set) ")"
/// context-position    = number
/// ```
/// (RFC 5267 §5); `input` starts at the `(`.
fn context_updates(input: &[u8]) -> PResult<'_, Vec<ContextUpdate>> {
    let (mut rest, ()) = byte(input, b'(')?;
    let mut pairs = Vec::new();
    loop {
        let (r, position) = number(rest)?;
        let (r, ()) = sp(r)?;
        let (r, set) = sequence_set(r)?;
        pairs.push(ContextUpdate { position, set });
        rest = match r.strip_prefix(b" ") {
            Some(r) => r,
            None => return Ok((byte(r, b')')?.0, pairs)),
        };
    }
}

/// `expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids` (RFC 7162)
fn vanished(input: &[u8]) -> PResult<'_, Data<'_>> {
    let (rest, ()) = sp(input)?;
    let (rest, earlier) = match tag_no_case(rest, "(EARLIER)") {
        Ok((r, _)) => (sp(r)?.0, true),
        Err(_) => (rest, false),
    };
    let (rest, uids) = uid_set(rest)?;
    Ok((rest, Data::Vanished { earlier, uids }))
}

/// ```text
/// id-response    = "ID" SP id-params-list                      ; RFC 2971
/// id-params-list = "(" *(string SP nstring) ")" / nil          ; pairs separated by SP
/// ```
fn id(input: &[u8]) -> PResult<'_, Data<'_>> {
    let (rest, ()) = sp(input)?;
    if let Ok((r, ())) = nil(rest) {
        return Ok((r, Data::Id(None)));
    }
    let (rest, pairs) = paren_list(rest, |i| {
        let (r, k) = string(i)?;
        let (r, ()) = sp(r)?;
        let (r, v) = nstring(r)?;
        Ok((r, (k, v)))
    })?;
    Ok((rest, Data::Id(Some(pairs))))
}

/// ```text
/// quota-response = "QUOTA" SP quota-root-name SP quota-list
/// quota-list     = "(" quota-resource *(SP quota-resource) ")"   ; RFC 2087 allowed "()"
/// quota-resource = resource-name SP resource-usage SP resource-limit
/// ```
fn quota(input: &[u8]) -> PResult<'_, Data<'_>> {
    let (rest, ()) = sp(input)?;
    let (rest, root) = astring(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, resources) = paren_list(rest, |i| {
        let (r, name) = atom(i)?;
        let (r, ()) = sp(r)?;
        let (r, usage) = number64(r)?;
        let (r, ()) = sp(r)?;
        let (r, limit) = number64(r)?;
        let name = match super::Upper::new(name.as_bytes()).as_bytes() {
            b"STORAGE" => ResourceName::Storage,
            b"MESSAGE" => ResourceName::Message,
            b"MAILBOX" => ResourceName::Mailbox,
            b"ANNOTATION-STORAGE" => ResourceName::AnnotationStorage,
            _ => ResourceName::Other(Atom::from_parsed(name)),
        };
        Ok((r, QuotaResource { name, usage, limit }))
    })?;
    Ok((rest, Data::Quota { root, resources }))
}

/// `quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)`
fn quotaroot<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let (rest, ()) = sp(input)?;
    let (mut rest, mailbox) = mailbox_name(cx, rest)?;
    let mut roots = Vec::new();
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, root) = astring(r)?;
        roots.push(root);
        rest = r;
    }
    Ok((rest, Data::QuotaRoot { mailbox, roots }))
}

/// ```text
/// metadata-resp = "METADATA" SP mailbox SP (entry-values / entry-list)
/// entry-values  = "(" entry-value *(SP entry-value) ")"
/// entry-value   = entry SP value
/// entry-list    = entry *(SP entry)
/// value         = nstring / literal8
/// ```
fn metadata<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let (rest, ()) = sp(input)?;
    let (rest, mailbox) = mailbox_name(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    if rest.starts_with(b"(") {
        let (rest, values) = paren_list(rest, |i| {
            let (r, entry) = astring(i)?;
            let (r, ()) = sp(r)?;
            // `value = nstring / literal8`
            let (r, value) = crate::codec::core::nstring(r)?;
            Ok((r, (entry, value)))
        })?;
        if values.is_empty() {
            return fail(rest, "at least one entry-value");
        }
        return Ok((
            rest,
            Data::Metadata {
                mailbox,
                entries: MetadataEntries::Values(values),
            },
        ));
    }
    let (mut rest, first) = astring(rest)?;
    let mut names = vec![first];
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, entry) = astring(r)?;
        names.push(entry);
        rest = r;
    }
    Ok((
        rest,
        Data::Metadata {
            mailbox,
            entries: MetadataEntries::Names(names),
        },
    ))
}

/// `thread-data = "THREAD" [SP 1*thread-list]`
fn thread_data<'a>(cx: Cx<'_, 'a>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let Some(mut rest) = input.strip_prefix(b" ") else {
        return Ok((input, Data::Thread(Vec::new())));
    };
    let mut threads = Vec::new();
    loop {
        let (r, t) = thread_list(cx, rest, 0)?;
        threads.push(t);
        rest = r;
        if !rest.starts_with(b"(") {
            return Ok((rest, Data::Thread(threads)));
        }
    }
}

/// ```text
/// thread-list    = "(" (thread-members / thread-nested) ")"
/// thread-members = nz-number *(SP nz-number) [SP thread-nested]
/// thread-nested  = 2*thread-list
/// ```
/// One nested list is accepted too: it means the same as its members appended to the chain,
/// and some servers send it.
fn thread_list<'a>(cx: Cx<'_, 'a>, input: &'a [u8], depth: usize) -> PResult<'a, Thread> {
    let depth = cx.nest(input, depth)?;
    let (mut rest, ()) = byte(input, b'(')?;
    let mut thread = Thread::default();
    if rest.first().is_some_and(u8::is_ascii_digit) {
        loop {
            let (r, n) = nz_number(rest)?;
            thread.ids.push(n);
            match r.strip_prefix(b" ") {
                Some(r) if r.starts_with(b"(") => {
                    rest = r;
                    break;
                }
                Some(r) => rest = r,
                None => {
                    let (r, ()) = byte(r, b')')?;
                    return Ok((r, thread));
                }
            }
        }
    }
    while rest.starts_with(b"(") {
        let (r, child) = thread_list(cx, rest, depth)?;
        thread.children.push(child);
        rest = r;
    }
    if thread.children.is_empty() {
        return fail(rest, "nz-number or thread-list");
    }
    let (rest, ()) = byte(rest, b')')?;
    Ok((rest, thread))
}

/// `genurlauth-data = "*" SP "GENURLAUTH" 1*(SP url-full)`, `url-full = astring`
/// (RFC 4467 §9), after the name.
fn genurlauth_data(mut input: &[u8]) -> PResult<'_, Data<'_>> {
    let mut urls = Vec::new();
    while let Ok((r, ())) = sp(input) {
        let (r, url) = astring(r)?;
        urls.push(url);
        input = r;
    }
    if urls.is_empty() {
        return fail(input, "SP url-full");
    }
    Ok((input, Data::GenUrlAuth(urls)))
}

/// `urlfetch-data = "*" SP "URLFETCH" 1*(SP url-full SP nstring)` (RFC 4467 §9), after the
/// name.
fn urlfetch_data(mut input: &[u8]) -> PResult<'_, Data<'_>> {
    let mut items = Vec::new();
    while let Ok((r, ())) = sp(input) {
        let (r, url) = astring(r)?;
        let (r, ()) = sp(r)?;
        let (r, data) = nstring(r)?;
        items.push((url, data));
        input = r;
    }
    if items.is_empty() {
        return fail(input, "SP url-full SP nstring");
    }
    Ok((input, Data::UrlFetch(items)))
}
