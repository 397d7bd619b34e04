//! IMAP's side of body sections: its `section-spec` as `mail-store`'s [`Section`], which cuts
//! the octets from the stored message, and the partial range (`<origin.length>`) cut from
//! those.

use std::borrow::Cow;

use sansmail_imap::types::{
    fetch_attr::Partial,
    section::{Section as ImapSection, SectionText as ImapText},
};
use sansmail_store::section::{Section, SectionText};

/// The section a FETCH names, as the store's.
pub(crate) fn section(s: &ImapSection<'_>) -> Section {
    Section {
        part: s.part.clone(),
        text: s.text.as_ref().map(|t| match t {
            ImapText::Header => SectionText::Header,
            ImapText::Text => SectionText::Text,
            ImapText::Mime => SectionText::Mime,
            ImapText::HeaderFields { not, fields } => SectionText::HeaderFields {
                names: fields
                    .iter()
                    .map(|f| f.to_str_lossy().into_owned())
                    .collect(),
                not: *not,
            },
        }),
    }
}

/// Cuts a partial range (`<offset.length>`) out of a section's octets, if it has any,
/// copying only that range; the origin to report with it (also for a section that does not
/// exist: `NIL` with its origin).
pub(crate) fn partial(
    data: Option<Cow<'_, [u8]>>,
    p: Option<Partial>,
) -> (Option<Vec<u8>>, Option<u32>) {
    let Some(p) = p else {
        return (data.map(Cow::into_owned), None);
    };
    let cut = |d: Cow<'_, [u8]>| {
        let len = d.len();
        let from = usize::try_from(p.offset).unwrap_or(len).min(len);
        let to = usize::try_from(p.offset.saturating_add(p.length))
            .unwrap_or(len)
            .clamp(from, len);
        d[from..to].to_vec()
    };
    (
        data.map(cut),
        Some(u32::try_from(p.offset).unwrap_or(u32::MAX)),
    )
}

#[cfg(test)]
mod tests {
    use sansmail_imap::types::core::AString;

    use super::*;

    #[test]
    fn sections_convert() {
        let s = ImapSection {
            part: vec![2, 1],
            text: Some(ImapText::HeaderFields {
                not: true,
                fields: vec![AString::try_from("Subject").unwrap()],
            }),
        };
        assert_eq!(
            section(&s),
            Section {
                part: vec![2, 1],
                text: Some(SectionText::HeaderFields {
                    names: vec!["Subject".to_owned()],
                    not: true
                })
            }
        );
        let whole = ImapSection {
            part: Vec::new(),
            text: None,
        };
        assert_eq!(section(&whole), Section::whole());
    }

    #[test]
    fn partial_ranges() {
        let raw = b"Subject: x\r\n\r\nbody\r\n";
        let (cut, origin) = partial(Some(Cow::Borrowed(raw)), Some(Partial::new(2, 5).unwrap()));
        assert_eq!((cut.as_deref(), origin), (Some(&b"bject"[..]), Some(2)));
        let (cut, _) = partial(
            Some(Cow::Borrowed(raw)),
            Some(Partial::new(100, 5).unwrap()),
        );
        assert_eq!(cut.as_deref(), Some(&b""[..]));
        assert_eq!(
            partial(None, Some(Partial::new(7, 5).unwrap())),
            (None, Some(7))
        );
        assert_eq!(
            partial(Some(Cow::Owned(b"ab".to_vec())), None),
            (Some(b"ab".to_vec()), None)
        );
    }
}
