//! What a FETCH asks of the store, and which of its items are streamed: whole-message
//! sections (`BODY[]`, `BODY[TEXT]`, `RFC822`, `RFC822.TEXT`, `BINARY[]` of a message that
//! needs no decoding, and partial ranges of them) are ranges of the stored message, read a
//! piece at a time; the other items are cut from what [`MailStore::fetch`] returns.
//!
//! [`MailStore::fetch`]: sansmail_store::MailStore::fetch

use std::borrow::Cow;

use sansmail_imap::types::{
    fetch::{FetchItem, LiteralItem},
    fetch_attr::{FetchAttr, Partial},
    section::SectionText as ImapText,
};
use sansmail_store::{
    FetchQuery, FetchedMessage,
    model::Content,
    section::{Section, SectionText, UnknownEncoding},
};

use super::{CONTENT_META_BATCH, FETCH_PIECE, META_BATCH};
use crate::imap::{convert, section};

/// Messages larger than this have their whole-message sections streamed.
const STREAM_ABOVE: u64 = FETCH_PIECE as u64;

/// The octets one message's response may hold besides what is streamed: this many times
/// the message's size, plus [`BUILT_SLACK`]. Every section, decoded part and header list
/// asked for is built before the response goes out, so without a bound a short command
/// naming the same large part many times would hold many copies of it.
const BUILT_PER_SIZE: u64 = 3;
/// See [`BUILT_PER_SIZE`].
const BUILT_SLACK: u64 = 4 << 20;

/// Why a message's response items cannot be built.
#[derive(Debug)]
pub(in crate::imap) enum ItemsError {
    /// A part to decode has an encoding [`binary`](sansmail_store::section::binary) does
    /// not know.
    UnknownEncoding(UnknownEncoding),
    /// The items would hold more than the message's budget (see [`BUILT_PER_SIZE`]).
    TooLarge {
        /// The budget, octets.
        budget: u64,
    },
}

impl From<UnknownEncoding> for ItemsError {
    fn from(e: UnknownEncoding) -> Self {
        Self::UnknownEncoding(e)
    }
}

/// Which octets of the message a streamable attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// The whole message.
    Message,
    /// From the top body on (`TEXT`).
    Text,
    /// The whole message, if its top part needs no decoding (`BINARY[]`).
    Binary,
}

/// A streamable attribute: its octets and its literal.
struct Streamable {
    range: Range,
    partial: Option<Partial>,
    item: LiteralItem<'static>,
}

fn origin(partial: Option<Partial>) -> Option<u32> {
    partial.map(|p| u32::try_from(p.offset).unwrap_or(u32::MAX))
}

/// Whether an attribute names a range of the stored message, and which.
fn streamable(a: &FetchAttr<'static>) -> Option<Streamable> {
    let (range, partial, item) = match a {
        FetchAttr::BodySection {
            section, partial, ..
        } if section.part.is_empty() && matches!(section.text, None | Some(ImapText::Text)) => (
            if section.text.is_none() {
                Range::Message
            } else {
                Range::Text
            },
            *partial,
            LiteralItem::BodySection {
                section: section.clone(),
                origin: origin(*partial),
            },
        ),
        FetchAttr::Rfc822 => (Range::Message, None, LiteralItem::Rfc822),
        FetchAttr::Rfc822Text => (Range::Text, None, LiteralItem::Rfc822Text),
        FetchAttr::Binary { part, partial, .. } if part.is_empty() => (
            Range::Binary,
            *partial,
            LiteralItem::Binary {
                part: Vec::new(),
                origin: origin(*partial),
            },
        ),
        _ => return None,
    };
    Some(Streamable {
        range,
        partial,
        item,
    })
}

/// Whether an attribute needs message octets.
fn wants_content(a: &FetchAttr<'_>) -> bool {
    matches!(
        a,
        FetchAttr::BodySection { .. }
            | FetchAttr::Rfc822
            | FetchAttr::Rfc822Header
            | FetchAttr::Rfc822Text
            | FetchAttr::Binary { .. }
            | FetchAttr::BinarySize { .. }
    )
}

/// Whether an attribute needs only the header block.
fn header_only(a: &FetchAttr<'_>) -> bool {
    match a {
        FetchAttr::BodySection { section, .. } => section::section(section).header_only(),
        FetchAttr::Rfc822Header => true,
        _ => false,
    }
}

/// A streamed literal of one message: its item and octets `start..start + len`.
pub(super) struct Literal {
    pub(super) item: LiteralItem<'static>,
    pub(super) start: u64,
    pub(super) len: u64,
    /// Octets given so far.
    pub(super) done: u64,
    /// The first piece, read before the response was opened.
    pub(super) first: Option<Vec<u8>>,
}

/// What one FETCH needs from the store.
pub(in crate::imap) struct Plan {
    pub(super) attrs: Vec<FetchAttr<'static>>,
    /// Attributes that cannot be streamed need the whole message.
    pub(in crate::imap) full: bool,
    /// Attributes that cannot be streamed need the header block (and none the whole
    /// message).
    header: bool,
    /// Some attribute can be streamed.
    pub(in crate::imap) streamable: bool,
    /// The top part's structure is needed beside the message octets (TEXT's offset,
    /// BINARY[]'s encoding).
    top: bool,
    /// IMAP4rev2 is enabled: a `message/global` part has `body-type-msg`'s layout, which
    /// IMAP4rev1's grammar gives `message/rfc822` alone.
    rev2: bool,
}

impl Plan {
    pub(in crate::imap) fn new(mut attrs: Vec<FetchAttr<'static>>, rev2: bool) -> Self {
        // An attribute asked for twice is answered once, as Dovecot answers.
        let mut i = 0;
        while i < attrs.len() {
            if attrs[..i].contains(&attrs[i]) {
                attrs.remove(i);
            } else {
                i += 1;
            }
        }
        let mut full = false;
        let mut header = false;
        let mut streams = false;
        let mut top = false;
        for a in attrs.iter().filter(|a| wants_content(a)) {
            if let Some(s) = streamable(a) {
                streams = true;
                top |= s.range != Range::Message;
            } else if header_only(a) {
                header = true;
            } else {
                full = true;
            }
        }
        Self {
            attrs,
            full,
            header: header && !full,
            streamable: streams,
            top,
            rev2,
        }
    }

    /// The first store call for a batch: index data, ENVELOPE, the structure where it is
    /// needed, the header block where it is all that is needed.
    pub(in crate::imap) fn meta_query(&self) -> FetchQuery {
        FetchQuery {
            envelope: self.attrs.contains(&FetchAttr::Envelope),
            body_structure: self
                .attrs
                .iter()
                .any(|a| matches!(a, FetchAttr::Body | FetchAttr::BodyStructure))
                || self.top
                || self.full,
            content: self.header.then_some(Content::Header),
        }
    }

    /// Messages per batch.
    pub(super) fn batch(&self) -> usize {
        if self.full || self.header || self.streamable {
            CONTENT_META_BATCH
        } else {
            META_BATCH
        }
    }

    /// The literals to stream for `m`, if it is large enough and each streamable attribute
    /// is a range of it; `None`: answer it whole.
    pub(super) fn literals(&self, m: &FetchedMessage) -> Option<Vec<Literal>> {
        if !self.streamable || m.size <= STREAM_ABOVE {
            return None;
        }
        let mut out = Vec::new();
        for s in self.attrs.iter().filter_map(streamable) {
            let (from, to) = match s.range {
                Range::Message => (0, m.size),
                Range::Text => (m.body_structure.as_ref()?.body_offset.min(m.size), m.size),
                Range::Binary => {
                    if !m.body_structure.as_ref()?.identity_encoded() {
                        return None;
                    }
                    (0, m.size)
                }
            };
            let (start, len) = match s.partial {
                None => (from, to - from),
                Some(p) => {
                    let start = from.saturating_add(p.offset).min(to);
                    (start, p.length.min(to - start))
                }
            };
            out.push(Literal {
                item: s.item,
                start,
                len,
                done: 0,
                first: None,
            });
        }
        Some(out)
    }

    /// The octets of a section from what the store returned: the whole message (`full`)
    /// or its header block; borrowed where the section is a range of it.
    fn section<'m>(m: &'m FetchedMessage, full: bool, section: &Section) -> Option<Cow<'m, [u8]>> {
        let raw = m.content.as_deref()?;
        if !full {
            return match &section.text {
                Some(SectionText::HeaderFields { names, not }) => Some(Cow::Owned(
                    sansmail_store::section::header_fields(raw, names, *not),
                )),
                _ => Some(Cow::Borrowed(raw)),
            };
        }
        // A part the message does not have is empty, not NIL, as Dovecot answers
        // (imap-msgpart: "MIME part not found. return an empty part"); NIL stays for
        // content the store could not give.
        let top = m.body_structure.as_deref()?;
        Some(section.cut(raw, top).unwrap_or_default())
    }

    /// The decoded octets of `BINARY[part]`: empty for a part the message does not have
    /// (so `BINARY.SIZE` 0, as Dovecot answers).
    fn binary(m: &FetchedMessage, part: &[u32]) -> Result<Option<Vec<u8>>, UnknownEncoding> {
        match (m.content.as_deref(), m.body_structure.as_deref()) {
            (Some(raw), Some(top)) => {
                sansmail_store::section::binary(raw, top, part).map(|d| Some(d.unwrap_or_default()))
            }
            _ => Ok(None),
        }
    }

    /// [`Self::binary`], from `cache` when the item before named the same part (each
    /// partial range of a part is an item of its own, and BINARY.SIZE names it again).
    fn binary_cached<'c, 'p>(
        cache: &'c mut Option<(&'p [u32], Option<Vec<u8>>)>,
        m: &FetchedMessage,
        part: &'p [u32],
    ) -> Result<Option<&'c [u8]>, UnknownEncoding> {
        if cache.as_ref().is_none_or(|(p, _)| *p != part) {
            *cache = Some((part, Self::binary(m, part)?));
        }
        Ok(cache.as_ref().and_then(|(_, d)| d.as_deref()))
    }

    /// The response items for `m`, all of them (`streamed` false) or those not streamed.
    pub(in crate::imap) fn items(
        &self,
        m: &FetchedMessage,
        full: bool,
        streamed: bool,
    ) -> Result<Vec<FetchItem<'static>>, ItemsError> {
        let budget = m
            .size
            .saturating_mul(BUILT_PER_SIZE)
            .saturating_add(BUILT_SLACK);
        let mut built = 0u64;
        let mut count = |data: &Option<Vec<u8>>| {
            built = built.saturating_add(data.as_ref().map_or(0, |d| d.len() as u64));
            if built > budget {
                Err(ItemsError::TooLarge { budget })
            } else {
                Ok(())
            }
        };
        let nstring = |data: Option<Vec<u8>>| data.and_then(convert::istring);
        let mut decoded = None;
        let mut items = Vec::with_capacity(self.attrs.len() + 1);
        for a in &self.attrs {
            if streamed && streamable(a).is_some() {
                continue;
            }
            let item = match a {
                FetchAttr::Uid => FetchItem::Uid(m.uid.get()),
                FetchAttr::Flags => FetchItem::Flags(convert::imap_flags(&m.flags, false)),
                FetchAttr::InternalDate => match convert::date_time(m.internal_date) {
                    Some(d) => FetchItem::InternalDate(d),
                    None => continue,
                },
                FetchAttr::Rfc822Size => FetchItem::Rfc822Size(m.size),
                FetchAttr::ModSeq => FetchItem::ModSeq(m.modseq.get()),
                FetchAttr::Envelope => match &m.envelope {
                    Some(e) => FetchItem::Envelope(Box::new(convert::envelope(e))),
                    None => continue,
                },
                FetchAttr::Body | FetchAttr::BodyStructure => match &m.body_structure {
                    Some(b) if *a == FetchAttr::Body => {
                        FetchItem::Body(Box::new(convert::body(b, false, self.rev2)))
                    }
                    Some(b) => {
                        FetchItem::BodyStructure(Box::new(convert::body(b, true, self.rev2)))
                    }
                    None => continue,
                },
                FetchAttr::BodySection {
                    section, partial, ..
                } => {
                    let data = Self::section(m, full, &section::section(section));
                    let (data, origin) = section::partial(data, *partial);
                    count(&data)?;
                    FetchItem::BodySection {
                        section: section.clone(),
                        origin,
                        data: nstring(data),
                    }
                }
                FetchAttr::Rfc822 | FetchAttr::Rfc822Header | FetchAttr::Rfc822Text => {
                    let section = match a {
                        FetchAttr::Rfc822 => Section::whole(),
                        FetchAttr::Rfc822Header => Section::top(SectionText::Header),
                        _ => Section::top(SectionText::Text),
                    };
                    let data = Self::section(m, full, &section).map(Cow::into_owned);
                    count(&data)?;
                    let data = nstring(data);
                    match a {
                        FetchAttr::Rfc822 => FetchItem::Rfc822(data),
                        FetchAttr::Rfc822Header => FetchItem::Rfc822Header(data),
                        _ => FetchItem::Rfc822Text(data),
                    }
                }
                FetchAttr::Binary { part, partial, .. } => {
                    let whole = Self::binary_cached(&mut decoded, m, part)?;
                    let (data, origin) = section::partial(whole.map(Cow::Borrowed), *partial);
                    count(&data)?;
                    FetchItem::Binary {
                        part: part.clone(),
                        origin,
                        data: data.and_then(convert::binary_string),
                    }
                }
                FetchAttr::BinarySize { part } => match Self::binary_cached(&mut decoded, m, part)?
                {
                    Some(d) => FetchItem::BinarySize {
                        part: part.clone(),
                        size: u32::try_from(d.len()).unwrap_or(u32::MAX),
                    },
                    None => continue,
                },
                // Refused before the store was asked.
                _ => continue,
            };
            items.push(item);
        }
        Ok(items)
    }
}
