//! Untagged data: `mailbox-data`, `message-data`, `capability-data`, `enable-data` and the
//! extensions' data responses.

use super::{
    Cx, astring, fetch, nstring,
    status::{capabilities, keyword, paren_objectid, uid_set},
    string,
};
use crate::{
    codec::core::{
        self, PResult, ascii, atom, byte, expect, fail, nil, number, number64, nz_number,
        paren_list, quoted, sequence_set, sp, tag_no_case,
    },
    types::{
        core::{Atom, is_atom_char},
        flag::{Flag, MailboxAttr},
        mailbox::Mailbox,
        response::Data,
        response_data::{
            ESearch, ESearchItem, ListData, ListExtItem, MetadataEntries, NamespaceDescr,
            Namespaces, PartialRange, QuotaResource, ResourceName, SearchResult, StatusItem,
            TaggedExtComp, TaggedExtVal, Thread,
        },
    },
};

/// The data after `"*" SP`.
pub(crate) fn response_data<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    if input.first().is_some_and(u8::is_ascii_digit) {
        return message_data(cx, input);
    }
    let (rest, name) = keyword(input)?;
    match super::Upper::new(name).as_str() {
        "CAPABILITY" => capabilities(rest).map(|(r, c)| (r, Data::Capability(c))),
        "ENABLED" => capabilities(rest).map(|(r, c)| (r, Data::Enabled(c))),
        "LIST" => mailbox_list(cx, rest).map(|(r, l)| (r, Data::List(l))),
        "LSUB" => mailbox_list(cx, rest).map(|(r, l)| (r, Data::Lsub(l))),
        "STATUS" => status(cx, rest),
        "SEARCH" => search_result(rest).map(|(r, s)| (r, Data::Search(s))),
        "SORT" => search_result(rest).map(|(r, s)| (r, Data::Sort(s))),
        "ESEARCH" => esearch(cx, rest).map(|(r, e)| (r, Data::ESearch(e))),
        "FLAGS" => {
            let (rest, ()) = sp(rest)?;
            flag_list(cx, rest).map(|(r, f)| (r, Data::Flags(f)))
        }
        "VANISHED" => vanished(rest),
        "ID" => id(rest),
        "NAMESPACE" => namespace_response(cx, rest),
        "QUOTA" => quota(rest),
        "QUOTAROOT" => quotaroot(cx, rest),
        "METADATA" => metadata(cx, rest),
        "THREAD" => thread_data(cx, rest),
        _ => fail(input, "a known untagged response"),
    }
}

/// ```text
/// message-data  = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
/// mailbox-data  =/ number SP "EXISTS" / number SP "RECENT"
/// ```
fn message_data<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
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
    match super::Upper::new(name).as_str() {
        "EXISTS" => Ok((after, Data::Exists(n))),
        "RECENT" => Ok((after, Data::Recent(n))),
        "EXPUNGE" => nz(Data::Expunge(n)),
        "FETCH" => {
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
pub(crate) fn flag<'a>(cx: Cx<'_>, input: &'a [u8], perm: bool) -> PResult<'a, Flag<'a>> {
    if cx.lenient().gmail_flags {
        if let Some(f) = gmail_flag(input) {
            return Ok(f);
        }
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
pub(crate) fn flag_list<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Vec<Flag<'a>>> {
    if cx.lenient().gmail_flags {
        return paren_list(input, |i| flag(cx, i, false));
    }
    let (rest, flags) = core::flag_list(input)?;
    if flags.contains(&Flag::Wildcard) {
        return fail(input, "flag (\\* only in PERMANENTFLAGS)");
    }
    Ok((rest, flags))
}

/// `"(" 1*DQUOTE QUOTED-CHAR DQUOTE ")" / nil`: a hierarchy delimiter.
pub(crate) fn delimiter(input: &[u8]) -> PResult<'_, Option<char>> {
    if let Ok((rest, ())) = nil(input) {
        return Ok((rest, None));
    }
    let (rest, q) = expect(input, "a quoted delimiter or NIL", quoted)?;
    let mut chars = q.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok((rest, Some(c))),
        _ => fail(input, "one QUOTED-CHAR"),
    }
}

/// Interprets a `mailbox` astring.
pub(crate) fn mailbox_name<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Mailbox<'a>> {
    let (rest, a) = expect(input, "mailbox", astring)?;
    match Mailbox::from_wire(a, cx.opts.utf8) {
        Ok(m) => Ok((rest, m)),
        Err(_) => fail(input, "a mailbox name without CR, LF or NUL"),
    }
}

/// ```text
/// mailbox-data  =/ "LIST" SP mailbox-list / "LSUB" SP mailbox-list
/// mailbox-list  = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
///                 [SP mbox-list-extended]
/// mbox-list-extended = "(" [mbox-list-extended-item *(SP mbox-list-extended-item)] ")"
/// mbox-list-extended-item = mbox-list-extended-item-tag SP tagged-ext-val
/// ```
fn mailbox_list<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, ListData<'a>> {
    let (rest, ()) = sp(input)?;
    let (rest, attributes) = paren_list(rest, mbx_list_flag)?;
    let (rest, ()) = sp(rest)?;
    let (rest, delimiter) = delimiter(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, mailbox) = mailbox_name(cx, rest)?;
    let (rest, extended) = match rest.strip_prefix(b" ") {
        Some(r) => {
            let (r, items) = paren_list(r, |i| list_ext_item(cx, i))?;
            (r, Some(items))
        }
        None => (rest, None),
    };
    Ok((
        rest,
        ListData {
            attributes,
            delimiter,
            mailbox,
            extended,
        },
    ))
}

/// `mbx-list-flag = "\" atom` (every kind: `\Noselect`, `\HasChildren`, `\Sent`, ...)
fn mbx_list_flag(input: &[u8]) -> PResult<'_, MailboxAttr<'_>> {
    let (rest, ()) = expect(input, "mbx-list-flag", |i| byte(i, b'\\'))?;
    let (rest, a) = atom(rest)?;
    match MailboxAttr::parse(ascii(&input[..=a.len()])) {
        Ok(attr) => Ok((rest, attr)),
        Err(_) => fail(input, "mbx-list-flag"),
    }
}

/// `CHILDINFO (...)`, `OLDNAME (mailbox)`, or any `astring SP tagged-ext-val`.
fn list_ext_item<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, ListExtItem<'a>> {
    let (rest, name) = astring(input)?;
    let (rest, ()) = sp(rest)?;
    // The tags are recognized in any form; servers and the RFCs quote them.
    if name.as_bytes().eq_ignore_ascii_case(b"CHILDINFO") {
        let (r, list) = paren_list(rest, astring)?;
        if list.is_empty() {
            return fail(rest, "at least one CHILDINFO value");
        }
        return Ok((r, ListExtItem::ChildInfo(list)));
    }
    if name.as_bytes().eq_ignore_ascii_case(b"OLDNAME") {
        let (r, ()) = byte(rest, b'(')?;
        let (r, m) = mailbox_name(cx, r)?;
        let (r, ()) = byte(r, b')')?;
        return Ok((r, ListExtItem::OldName(m)));
    }
    let (rest, value) = tagged_ext_val(cx, rest, 0)?;
    Ok((rest, ListExtItem::Other { tag: name, value }))
}

/// ```text
/// tagged-ext-val    = tagged-ext-simple / "(" [tagged-ext-comp] ")"
/// tagged-ext-simple = sequence-set / number / number64
/// ```
pub(crate) fn tagged_ext_val<'a>(
    cx: Cx<'_>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, TaggedExtVal<'a>> {
    if input.starts_with(b"(") {
        let depth = cx.nest(input, depth)?;
        let (rest, comps) = paren_list(input, |i| tagged_ext_comp(cx, i, depth))?;
        return Ok((rest, TaggedExtVal::Comp(comps)));
    }
    if let Ok((rest, n)) = number64(input) {
        if !rest.starts_with(b":") && !rest.starts_with(b",") {
            return Ok((rest, TaggedExtVal::Number(n)));
        }
    }
    sequence_set(input).map(|(r, s)| (r, TaggedExtVal::Set(s)))
}

/// `tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) / "(" tagged-ext-comp ")"`
fn tagged_ext_comp<'a>(
    cx: Cx<'_>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, TaggedExtComp<'a>> {
    if input.starts_with(b"(") {
        let depth = cx.nest(input, depth)?;
        let (rest, list) = paren_list(input, |i| tagged_ext_comp(cx, i, depth))?;
        if list.is_empty() {
            return fail(input, "tagged-ext-comp");
        }
        return Ok((rest, TaggedExtComp::List(list)));
    }
    astring(input).map(|(r, a)| (r, TaggedExtComp::AString(a)))
}

/// ```text
/// mailbox-data =/ "STATUS" SP mailbox SP "(" [status-att-list] ")"
/// status-att-list = status-att-val *(SP status-att-val)
/// ```
fn status<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
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
    match super::Upper::new(name).as_str() {
        "MESSAGES" => number(rest).map(|(r, n)| (r, StatusItem::Messages(n))),
        "UIDNEXT" => nz_number(rest).map(|(r, n)| (r, StatusItem::UidNext(n))),
        "UIDVALIDITY" => nz_number(rest).map(|(r, n)| (r, StatusItem::UidValidity(n))),
        "UNSEEN" => number(rest).map(|(r, n)| (r, StatusItem::Unseen(n))),
        "DELETED" => number(rest).map(|(r, n)| (r, StatusItem::Deleted(n))),
        "SIZE" => number64(rest).map(|(r, n)| (r, StatusItem::Size(n))),
        "RECENT" => number(rest).map(|(r, n)| (r, StatusItem::Recent(n))),
        "HIGHESTMODSEQ" => number64(rest).map(|(r, n)| (r, StatusItem::HighestModSeq(n))),
        "APPENDLIMIT" => match nil(rest) {
            Ok((r, ())) => Ok((r, StatusItem::AppendLimit(None))),
            Err(_) => number64(rest).map(|(r, n)| (r, StatusItem::AppendLimit(Some(n)))),
        },
        "MAILBOXID" => paren_objectid(rest).map(|(r, id)| (r, StatusItem::MailboxId(id))),
        "DELETED-STORAGE" => number64(rest).map(|(r, n)| (r, StatusItem::DeletedStorage(n))),
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
///                      "PARTIAL" SP "(" partial-range SP partial-results ")" / search-ret-data-ext
/// ```
fn esearch<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, ESearch<'a>> {
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
    if let Some(r) = rest.strip_prefix(b" ") {
        if let Ok((after, k)) = keyword(r) {
            if k.eq_ignore_ascii_case("UID") {
                out.uid = true;
                rest = after;
            }
        }
    }
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, item) = search_return_data(cx, r)?;
        out.items.push(item);
        rest = r;
    }
    Ok((rest, out))
}

fn search_return_data<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, ESearchItem<'a>> {
    let (after, name) = atom(input)?;
    let (rest, ()) = sp(after)?;
    match super::Upper::new(name).as_str() {
        "MIN" => nz_number(rest).map(|(r, n)| (r, ESearchItem::Min(n))),
        "MAX" => nz_number(rest).map(|(r, n)| (r, ESearchItem::Max(n))),
        "ALL" => sequence_set(rest).map(|(r, s)| (r, ESearchItem::All(s))),
        "COUNT" => number(rest).map(|(r, n)| (r, ESearchItem::Count(n))),
        "MODSEQ" => number64(rest).map(|(r, n)| (r, ESearchItem::ModSeq(n))),
        "PARTIAL" => {
            let (r, ()) = byte(rest, b'(')?;
            let (r, range) = partial_range(r)?;
            let (r, ()) = sp(r)?;
            let (r, results) = match nil(r) {
                Ok((r, ())) => (r, None),
                Err(_) => sequence_set(r).map(|(r, s)| (r, Some(s)))?,
            };
            let (r, ()) = byte(r, b')')?;
            Ok((r, ESearchItem::Partial { range, results }))
        }
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

/// `partial-range = nz-number ":" nz-number / "-" nz-number ":" "-" nz-number` (RFC 9394)
fn partial_range(input: &[u8]) -> PResult<'_, PartialRange> {
    let from_end = input.starts_with(b"-");
    let r = if from_end { &input[1..] } else { input };
    let (r, first) = nz_number(r)?;
    let (r, ()) = byte(r, b':')?;
    let (r, ()) = if from_end { byte(r, b'-')? } else { (r, ()) };
    let (r, last) = nz_number(r)?;
    Ok((
        r,
        PartialRange {
            from_end,
            first,
            last,
        },
    ))
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
/// namespace-response = "NAMESPACE" SP namespace SP namespace SP namespace
/// namespace          = nil / "(" 1*namespace-descr ")"
/// namespace-descr    = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
///                      *(SP string SP "(" string *(SP string) ")") ")"
/// ```
fn namespace_response<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
    let (rest, ()) = sp(input)?;
    let (rest, personal) = namespace(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, other) = namespace(cx, rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, shared) = namespace(cx, rest)?;
    Ok((
        rest,
        Data::Namespace(Namespaces {
            personal,
            other,
            shared,
        }),
    ))
}

fn namespace<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Vec<NamespaceDescr<'a>>> {
    if let Ok((r, ())) = nil(input) {
        return Ok((r, Vec::new()));
    }
    let (mut rest, ()) = byte(input, b'(')?;
    let mut out = Vec::new();
    loop {
        let (r, d) = namespace_descr(rest)?;
        out.push(d);
        if let Some(r) = r.strip_prefix(b")") {
            return Ok((r, out));
        }
        rest = super::body::skip_list_space(cx, r);
    }
}

fn namespace_descr(input: &[u8]) -> PResult<'_, NamespaceDescr<'_>> {
    let (rest, ()) = byte(input, b'(')?;
    let (rest, prefix) = string(rest)?;
    let (rest, ()) = sp(rest)?;
    let (mut rest, delimiter) = delimiter(rest)?;
    let mut extensions = Vec::new();
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, name) = string(r)?;
        let (r, ()) = sp(r)?;
        let (r, values) = paren_list(r, string)?;
        if values.is_empty() {
            return fail(r, "at least one namespace extension value");
        }
        extensions.push((name, values));
        rest = r;
    }
    let (rest, ()) = byte(rest, b')')?;
    Ok((
        rest,
        NamespaceDescr {
            prefix,
            delimiter,
            extensions,
        },
    ))
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
        let name = match super::Upper::new(name).as_str() {
            "STORAGE" => ResourceName::Storage,
            "MESSAGE" => ResourceName::Message,
            "MAILBOX" => ResourceName::Mailbox,
            "ANNOTATION-STORAGE" => ResourceName::AnnotationStorage,
            _ => ResourceName::Other(Atom::from_parsed(name)),
        };
        Ok((r, QuotaResource { name, usage, limit }))
    })?;
    Ok((rest, Data::Quota { root, resources }))
}

/// `quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)`
fn quotaroot<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
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
fn metadata<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
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
fn thread_data<'a>(cx: Cx<'_>, input: &'a [u8]) -> PResult<'a, Data<'a>> {
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
fn thread_list<'a>(cx: Cx<'_>, input: &'a [u8], depth: usize) -> PResult<'a, Thread> {
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
