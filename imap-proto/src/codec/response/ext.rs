//! Generic extension values (RFC 4466 `tagged-ext-val`), as LIST-EXTENDED and ESEARCH
//! carry them.

use super::{Cx, astring};
use crate::{
    codec::core::{PResult, fail, number64, paren_list, sequence_set},
    types::response_data::{TaggedExtComp, TaggedExtVal},
};

/// ```text
/// tagged-ext-val    = tagged-ext-simple / "(" [tagged-ext-comp] ")"
/// tagged-ext-simple = sequence-set / number / number64
/// ```
pub(crate) fn tagged_ext_val<'a>(
    cx: Cx<'_, 'a>,
    input: &'a [u8],
    depth: usize,
) -> PResult<'a, TaggedExtVal<'a>> {
    if input.starts_with(b"(") {
        let depth = cx.nest(input, depth)?;
        let (rest, comps) = paren_list(input, |i| tagged_ext_comp(cx, i, depth))?;
        return Ok((rest, TaggedExtVal::Comp(comps)));
    }
    if let Ok((rest, n)) = number64(input)
        && !rest.starts_with(b":")
        && !rest.starts_with(b",")
    {
        return Ok((rest, TaggedExtVal::Number(n)));
    }
    sequence_set(input).map(|(r, s)| (r, TaggedExtVal::Set(s)))
}

/// `tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) / "(" tagged-ext-comp ")"`
fn tagged_ext_comp<'a>(
    cx: Cx<'_, 'a>,
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
