//! Body sections (`BODY[1.2.HEADER.FIELDS (From)]<0.100>`), shared by FETCH commands and
//! FETCH responses.

use super::core::AString;

/// `section-msgtext` and `section-text`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText<'a> {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS [.NOT] (field...)`
    HeaderFields {
        /// `.NOT`: every field except these.
        not: bool,
        /// `header-fld-name = astring`
        fields: Vec<AString<'a>>,
    },
    /// `TEXT`
    Text,
    /// `MIME` (only after a part number)
    Mime,
}

/// `section-spec = section-msgtext / (section-part ["." section-text])`; empty for the whole
/// message (`BODY[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section<'a> {
    /// `section-part = nz-number *("." nz-number)`
    pub part: Vec<u32>,
    /// What of the part.
    pub text: Option<SectionText<'a>>,
}

impl Section<'_> {
    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Section<'static> {
        Section {
            part: self.part,
            text: self.text.map(|t| match t {
                SectionText::Header => SectionText::Header,
                SectionText::Text => SectionText::Text,
                SectionText::Mime => SectionText::Mime,
                SectionText::HeaderFields { not, fields } => SectionText::HeaderFields {
                    not,
                    fields: fields.into_iter().map(AString::into_owned).collect(),
                },
            }),
        }
    }
}
