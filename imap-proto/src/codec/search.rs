//! SEARCH, SORT and THREAD arguments (RFC 9051 §6.4.4, RFC 3501, RFC 4731 ESEARCH, RFC 5182
//! SEARCHRES, RFC 5256 SORT/THREAD, RFC 5267 ESORT, RFC 7162 MODSEQ, RFC 5032 WITHIN, RFC 8514
//! SAVEDATE, RFC 8474 OBJECTID, RFC 9394 PARTIAL).
//!
//! Search keys nest (parenthesized lists, NOT, OR); the depth is bounded by
//! [`CommandOptions::max_depth`] so hostile input cannot exhaust the stack.

use std::borrow::Cow;

use super::{
    command::{CommandOptions, keyword, label, upper},
    command_args::paren_list1,
    core::{
        PError, PResult, ascii, astring, atom, atom_as_sent, byte, date, fail, number64, nz_number,
        quoted, sequence_set, sp, tag_no_case,
    },
};
use crate::error::TOO_DEEP;
use crate::types::{
    command::CommandBody,
    core::{AString, Atom, IString, Tag},
    flag::Flag,
    objectid::{ObjectId, is_objectid_char},
    search::{
        Charset, EntryType, ModSeqEntry, PartialRange, SearchKey, SearchReturnOpt, SortCriterion,
        SortKey, ThreadAlgorithm,
    },
};

/// ```text
/// search             = "SEARCH" [search-return-opts] SP search-program
/// search-program     = ["CHARSET" SP charset SP] search-key *(SP search-key)
/// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
/// ```
/// `input` starts after `SEARCH`.
pub(crate) fn search<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    uid: bool,
) -> PResult<'a, CommandBody<'a>> {
    let (rest, return_opts) = search_return_opts(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, charset) = match tag_no_case(rest, "CHARSET ") {
        Ok((r, _)) => {
            let (r, c) = charset(r)?;
            (sp(r)?.0, Some(c))
        }
        Err(_) => (rest, None),
    };
    let (rest, criteria) = search_keys(rest, opts)?;
    Ok((
        rest,
        CommandBody::Search {
            uid,
            return_opts,
            charset,
            criteria,
        },
    ))
}

/// `[SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"]`
fn search_return_opts(input: &[u8]) -> PResult<'_, Option<Vec<SearchReturnOpt>>> {
    let Ok((r, _)) = tag_no_case(input, " RETURN ") else {
        return Ok((input, None));
    };
    let (r, v) = super::core::paren_list(r, search_return_opt)?;
    Ok((r, Some(v)))
}

/// ```text
/// search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE" /  ; RFC 4731, RFC 5182
///                     modifier-context / modifier-partial / modifier-update ; RFC 5267
/// modifier-context  = "CONTEXT"
/// modifier-partial  = "PARTIAL" SP partial-range
/// modifier-update   = "UPDATE"
/// ```
fn search_return_opt(input: &[u8]) -> PResult<'_, SearchReturnOpt> {
    const EXPECTED: &str = "MIN, MAX, ALL, COUNT, SAVE, CONTEXT, UPDATE or PARTIAL";
    let (rest, k) = label(input, EXPECTED, keyword)?;
    let mut buf = [0; 24];
    let opt = match upper(k, &mut buf) {
        b"MIN" => SearchReturnOpt::Min,
        b"MAX" => SearchReturnOpt::Max,
        b"ALL" => SearchReturnOpt::All,
        b"COUNT" => SearchReturnOpt::Count,
        b"SAVE" => SearchReturnOpt::Save,
        b"CONTEXT" => SearchReturnOpt::Context,
        b"UPDATE" => SearchReturnOpt::Update,
        b"PARTIAL" => {
            let (r, ()) = sp(rest)?;
            let (r, range) = partial_range(r)?;
            return Ok((r, SearchReturnOpt::Partial(range)));
        }
        _ => return fail(input, EXPECTED),
    };
    Ok((rest, opt))
}

/// ```text
/// partial-range       = partial-range-first / partial-range-last
/// partial-range-first = nz-number ":" nz-number
/// partial-range-last  = MINUS nz-number ":" MINUS nz-number
/// ```
/// (RFC 9394 §4; the command's return option and the response's PARTIAL item share it.)
pub(crate) fn partial_range(input: &[u8]) -> PResult<'_, PartialRange> {
    let (r, from_last) = match input.strip_prefix(b"-") {
        Some(r) => (r, true),
        None => (input, false),
    };
    let (r, start) = nz_number(r)?;
    let (r, ()) = byte(r, b':')?;
    let r = if from_last { byte(r, b'-')?.0 } else { r };
    let (r, end) = nz_number(r)?;
    match PartialRange::new(from_last, start, end) {
        Ok(p) => Ok((r, p)),
        Err(_) => fail(input, "partial-range"),
    }
}

/// A `quoted` that holds a command tag: CANCELUPDATE's arguments and the NOUPDATE code's
/// (RFC 5267 §5).
pub(crate) fn quoted_tag(input: &[u8]) -> PResult<'_, Tag<'_>> {
    let (r, q) = quoted(input)?;
    match Tag::new(q) {
        Ok(t) => Ok((r, t)),
        Err(_) => fail(input, "a quoted tag"),
    }
}

/// `command-select =/ "CANCELUPDATE" 1*(SP quoted)` (RFC 5267 §4.3.5); `input` starts after
/// `CANCELUPDATE`.
pub(crate) fn cancel_update(input: &[u8]) -> PResult<'_, CommandBody<'_>> {
    let mut tags = Vec::new();
    let mut rest = input;
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, t) = quoted_tag(r)?;
        tags.push(t);
        rest = r;
    }
    if tags.is_empty() {
        return fail(input, "SP quoted (the tag of an updating search)");
    }
    Ok((rest, CommandBody::CancelUpdate { tags }))
}

/// `charset = atom / quoted`
fn charset(input: &[u8]) -> PResult<'_, Charset<'_>> {
    if input.starts_with(b"\"") {
        let (r, q) = quoted(input)?;
        return Ok((r, AString::String(IString::Quoted(q))));
    }
    let (r, a) = label(input, "charset", atom)?;
    Ok((r, atom_as_sent(a)))
}

/// `search-key *(SP search-key)`
fn search_keys<'a>(input: &'a [u8], opts: &CommandOptions) -> PResult<'a, Vec<SearchKey<'a>>> {
    let (mut rest, first) = search_key(input, opts, 1)?;
    let mut keys = vec![first];
    while let Some(r) = rest.strip_prefix(b" ") {
        let (r, k) = search_key(r, opts, 1)?;
        keys.push(k);
        rest = r;
    }
    Ok((rest, keys))
}

fn too_deep<O>(input: &[u8]) -> PResult<'_, O> {
    Err(nom::Err::Failure(PError {
        input,
        expected: TOO_DEEP,
    }))
}

/// ```text
/// search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring /
///              "CC" SP astring / "DELETED" / "FLAGGED" / "FROM" SP astring /
///              "KEYWORD" SP flag-keyword / "ON" SP date / "SEEN" / "SINCE" SP date /
///              "SUBJECT" SP astring / "TEXT" SP astring / "TO" SP astring / "UNANSWERED" /
///              "UNDELETED" / "UNFLAGGED" / "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" /
///              "HEADER" SP header-fld-name SP astring / "LARGER" SP number64 /
///              "NOT" SP search-key / "OR" SP search-key SP search-key /
///              "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date /
///              "SMALLER" SP number64 / "UID" SP sequence-set / "UNDRAFT" / sequence-set /
///              "(" search-key *(SP search-key) ")"
/// search-key =/ "NEW" / "OLD" / "RECENT"                                        ; RFC 3501
/// search-key =/ "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer ; RFC 7162
/// search-key =/ "OLDER" SP nz-number / "YOUNGER" SP nz-number                 ; RFC 5032
/// search-key =/ "SAVEDBEFORE" SP date / "SAVEDON" SP date / "SAVEDSINCE" SP date /
///               "SAVEDATESUPPORTED"                                           ; RFC 8514
/// search-key =/ "EMAILID" SP objectid / "THREADID" SP objectid                ; RFC 8474
/// ```
pub(crate) fn search_key<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    depth: usize,
) -> PResult<'a, SearchKey<'a>> {
    if depth > opts.max_depth {
        return too_deep(input);
    }
    match input.first() {
        Some(b'(') => {
            let (r, v) = paren_list1(input, "search-key", |i| search_key(i, opts, depth + 1))?;
            return Ok((r, SearchKey::And(v)));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => {
            let (r, s) = sequence_set(input)?;
            return Ok((r, SearchKey::SequenceSet(s)));
        }
        _ => {}
    }
    let (rest, k) = label(input, "search-key", keyword)?;
    let mut buf = [0; 24];
    let name = upper(k, &mut buf);
    let simple = match name {
        b"ALL" => SearchKey::All,
        b"ANSWERED" => SearchKey::Answered,
        b"DELETED" => SearchKey::Deleted,
        b"DRAFT" => SearchKey::Draft,
        b"FLAGGED" => SearchKey::Flagged,
        b"NEW" => SearchKey::New,
        b"OLD" => SearchKey::Old,
        b"RECENT" => SearchKey::Recent,
        b"SEEN" => SearchKey::Seen,
        b"UNANSWERED" => SearchKey::Unanswered,
        b"UNDELETED" => SearchKey::Undeleted,
        b"UNDRAFT" => SearchKey::Undraft,
        b"UNFLAGGED" => SearchKey::Unflagged,
        b"UNSEEN" => SearchKey::Unseen,
        b"SAVEDATESUPPORTED" => SearchKey::SaveDateSupported,
        _ if ARG_KEYS.contains(&name) => {
            let (r, ()) = sp(rest)?;
            return search_key_arg(name, input, r, opts, depth);
        }
        _ => return fail(input, "search-key"),
    };
    Ok((rest, simple))
}

/// The keys that take arguments.
const ARG_KEYS: &[&[u8]] = &[
    b"BCC",
    b"BODY",
    b"CC",
    b"FROM",
    b"SUBJECT",
    b"TEXT",
    b"TO",
    b"BEFORE",
    b"ON",
    b"SINCE",
    b"SENTBEFORE",
    b"SENTON",
    b"SENTSINCE",
    b"SAVEDBEFORE",
    b"SAVEDON",
    b"SAVEDSINCE",
    b"KEYWORD",
    b"UNKEYWORD",
    b"HEADER",
    b"LARGER",
    b"SMALLER",
    b"OLDER",
    b"YOUNGER",
    b"UID",
    b"NOT",
    b"OR",
    b"MODSEQ",
    b"EMAILID",
    b"THREADID",
];

/// The keys with arguments; `r` starts after the keyword's SP.
fn search_key_arg<'a>(
    name: &[u8],
    input: &'a [u8],
    r: &'a [u8],
    opts: &CommandOptions,
    depth: usize,
) -> PResult<'a, SearchKey<'a>> {
    let text = |f: fn(AString<'a>) -> SearchKey<'a>| astring(r).map(|(r, s)| (r, f(s)));
    let on_date =
        |f: fn(crate::types::datetime::Date) -> SearchKey<'a>| date(r).map(|(r, d)| (r, f(d)));
    match name {
        b"BCC" => text(SearchKey::Bcc),
        b"BODY" => text(SearchKey::Body),
        b"CC" => text(SearchKey::Cc),
        b"FROM" => text(SearchKey::From),
        b"SUBJECT" => text(SearchKey::Subject),
        b"TEXT" => text(SearchKey::Text),
        b"TO" => text(SearchKey::To),
        b"BEFORE" => on_date(SearchKey::Before),
        b"ON" => on_date(SearchKey::On),
        b"SINCE" => on_date(SearchKey::Since),
        b"SENTBEFORE" => on_date(SearchKey::SentBefore),
        b"SENTON" => on_date(SearchKey::SentOn),
        b"SENTSINCE" => on_date(SearchKey::SentSince),
        b"SAVEDBEFORE" => on_date(SearchKey::SavedBefore),
        b"SAVEDON" => on_date(SearchKey::SavedOn),
        b"SAVEDSINCE" => on_date(SearchKey::SavedSince),
        b"KEYWORD" | b"UNKEYWORD" => {
            let (r2, a) = label(r, "flag-keyword", atom)?;
            let a = Atom::from_parsed(a);
            Ok((
                r2,
                if name == b"KEYWORD" {
                    SearchKey::Keyword(a)
                } else {
                    SearchKey::Unkeyword(a)
                },
            ))
        }
        b"HEADER" => {
            let (r, field) = label(r, "header-fld-name", astring)?;
            let (r, ()) = sp(r)?;
            let (r, value) = astring(r)?;
            Ok((r, SearchKey::Header(field, value)))
        }
        b"LARGER" => number64(r).map(|(r, n)| (r, SearchKey::Larger(n))),
        b"SMALLER" => number64(r).map(|(r, n)| (r, SearchKey::Smaller(n))),
        b"OLDER" => nz_number(r).map(|(r, n)| (r, SearchKey::Older(n))),
        b"YOUNGER" => nz_number(r).map(|(r, n)| (r, SearchKey::Younger(n))),
        b"UID" => sequence_set(r).map(|(r, s)| (r, SearchKey::Uid(s))),
        b"NOT" => {
            let (r, k) = search_key(r, opts, depth + 1)?;
            Ok((r, SearchKey::Not(Box::new(k))))
        }
        b"OR" => {
            let (r, a) = search_key(r, opts, depth + 1)?;
            let (r, ()) = sp(r)?;
            let (r, b) = search_key(r, opts, depth + 1)?;
            Ok((r, SearchKey::Or(Box::new(a), Box::new(b))))
        }
        b"MODSEQ" => modseq(r),
        b"EMAILID" | b"THREADID" => {
            let end = r
                .iter()
                .position(|&b| !is_objectid_char(b))
                .unwrap_or(r.len());
            let Ok(id) = ObjectId::new(Cow::Borrowed(ascii(&r[..end]))) else {
                return fail(r, "objectid");
            };
            Ok((
                &r[end..],
                if name == b"EMAILID" {
                    SearchKey::EmailId(id)
                } else {
                    SearchKey::ThreadId(id)
                },
            ))
        }
        _ => fail(input, "search-key"),
    }
}

/// ```text
/// search-modsequence  = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
/// search-modseq-ext   = SP entry-name SP entry-type-req
/// entry-name          = DQUOTE "/flags/" attr-flag DQUOTE
/// entry-type-req      = "priv" / "shared" / "all"
/// ```
/// `input` starts after `MODSEQ SP`.
fn modseq(input: &[u8]) -> PResult<'_, SearchKey<'_>> {
    if !input.starts_with(b"\"") {
        let (r, modseq) = label(input, "mod-sequence-valzer", number64)?;
        return Ok((
            r,
            SearchKey::ModSeq {
                entry: None,
                modseq,
            },
        ));
    }
    let (r, name) = quoted(input)?;
    let flag = match name.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("/flags/") => {
            Flag::parse(&name[7..]).ok().map(Flag::into_owned)
        }
        _ => None,
    };
    let Some(flag) = flag.filter(|f| !matches!(f, Flag::Recent | Flag::Wildcard)) else {
        return fail(input, "entry-name (\"/flags/\" attr-flag)");
    };
    let (r, ()) = sp(r)?;
    let (r2, t) = label(r, "priv, shared or all", keyword)?;
    let mut buf = [0; 24];
    let entry_type = match upper(t, &mut buf) {
        b"PRIV" => EntryType::Private,
        b"SHARED" => EntryType::Shared,
        b"ALL" => EntryType::All,
        _ => return fail(r, "priv, shared or all"),
    };
    let (r, ()) = sp(r2)?;
    let (r, modseq) = label(r, "mod-sequence-valzer", number64)?;
    Ok((
        r,
        SearchKey::ModSeq {
            entry: Some(ModSeqEntry { flag, entry_type }),
            modseq,
        },
    ))
}

/// ```text
/// sort           = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP search-criteria
/// sort-criteria  = "(" sort-criterion *(SP sort-criterion) ")"
/// sort-criterion = ["REVERSE" SP] sort-key
/// search-criteria = charset 1*(SP search-key)
/// ```
/// `input` starts after `SORT`.
pub(crate) fn sort<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    uid: bool,
) -> PResult<'a, CommandBody<'a>> {
    let (rest, return_opts) = search_return_opts(input)?;
    let (rest, ()) = sp(rest)?;
    let (rest, criteria) = paren_list1(rest, "sort-criterion", sort_criterion)?;
    let (rest, ()) = sp(rest)?;
    let (rest, charset) = charset(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, keys) = search_keys(rest, opts)?;
    Ok((
        rest,
        CommandBody::Sort {
            uid,
            return_opts,
            criteria,
            charset,
            keys,
        },
    ))
}

fn sort_criterion(input: &[u8]) -> PResult<'_, SortCriterion> {
    let (rest, reverse) = match tag_no_case(input, "REVERSE ") {
        Ok((r, _)) => (r, true),
        Err(_) => (input, false),
    };
    let (r, k) = label(rest, "sort-key", keyword)?;
    match SortKey::from_name(k) {
        Some(key) => Ok((r, SortCriterion { reverse, key })),
        None => fail(rest, "sort-key"),
    }
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`, `thread-alg = atom`
pub(crate) fn thread<'a>(
    input: &'a [u8],
    opts: &CommandOptions,
    uid: bool,
) -> PResult<'a, CommandBody<'a>> {
    let (rest, alg) = label(input, "thread-alg", atom)?;
    let (rest, ()) = sp(rest)?;
    let (rest, charset) = charset(rest)?;
    let (rest, ()) = sp(rest)?;
    let (rest, keys) = search_keys(rest, opts)?;
    Ok((
        rest,
        CommandBody::Thread {
            uid,
            algorithm: ThreadAlgorithm::from_atom(Atom::from_parsed(alg)),
            charset,
            keys,
        },
    ))
}
