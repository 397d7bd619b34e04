//! The encoding buffer and the encoders of the core productions.
//!
//! Encoders append to an [`EncodeBuf`], which also records where each literal's octets begin:
//! a client must stop there and wait for the server's `+` before sending a synchronizing
//! literal. A server ignores the marks.

use std::{fmt::Write as _, io::Write as _};

use super::frame::LiteralMode;
use crate::types::{
    core::{AString, IString, Literal, is_bare_astring},
    datetime::DateTime,
    flag::Flag,
    mailbox::Mailbox,
    section::{Section, SectionText},
    sequence::SequenceSet,
};

/// Where a literal's octets start in an [`EncodeBuf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralMark {
    /// Offset of the first octet of the literal's data (just after `{n}` CRLF).
    pub data_start: usize,
    /// Synchronizing or not.
    pub mode: LiteralMode,
}

/// Encoded bytes and the literal marks within them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodeBuf {
    /// The octets.
    pub bytes: Vec<u8>,
    /// Literal marks, in order.
    pub literals: Vec<LiteralMark>,
    /// UTF-8 is in force (IMAP4rev2, UTF8=ACCEPT): a quoted string may hold 8-bit text.
    /// Without it, [`EncodeBuf::push_text`] sends such text as a literal, since a quoted
    /// string is 7-bit (RFC 3501 §4.3). [`encode_command`](super::encode_command) and
    /// [`encode_response`](super::encode_response) set it from their options.
    pub utf8: bool,
    /// A server's responses are being encoded: every literal goes as a synchronizing one,
    /// whatever mode it was read in (RFC 9051 §9: non-synchronizing literals are not
    /// allowed from server to client). [`encode_response`](super::encode_response) sets it,
    /// [`encode_command`](super::encode_command) clears it.
    pub server: bool,
}

impl EncodeBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends raw octets.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends a displayable value.
    pub fn push_display(&mut self, v: impl std::fmt::Display) {
        let _ = write!(self.bytes, "{v}");
    }

    /// Appends a literal: `{n}` / `{n+}` (not in a server's responses) / `~{n}`, CRLF, the
    /// octets.
    pub fn push_literal(&mut self, lit: &Literal<'_>) {
        if lit.is_binary() {
            self.bytes.push(b'~');
        }
        let mode = if self.server {
            LiteralMode::Sync
        } else {
            lit.mode()
        };
        let plus = if mode == LiteralMode::NonSync {
            "+"
        } else {
            ""
        };
        let _ = write!(self.bytes, "{{{}{plus}}}\r\n", lit.data().len());
        self.literals.push(LiteralMark {
            data_start: self.bytes.len(),
            mode,
        });
        self.bytes.extend_from_slice(lit.data());
    }

    /// A `string` holding `value`: quoted, or a synchronizing literal for 8-bit text while
    /// [`EncodeBuf::utf8`] is off.
    pub fn push_text(&mut self, value: &str) {
        // CR, LF and NUL are no QUOTED-CHAR: a hand-built `IString::Quoted` holding them
        // goes as a literal, so that its text can never end the line (NUL, which no
        // literal but a literal8 carries, is left out).
        let unquotable = |b: u8| b == b'\r' || b == b'\n' || b == 0 || (b >= 0x80 && !self.utf8);
        if !value.bytes().any(unquotable) {
            self.push_quoted(value);
        } else if let Ok(lit) = Literal::new(value.as_bytes(), LiteralMode::Sync) {
            self.push_literal(&lit);
        } else {
            let without_nul: Vec<u8> = value.bytes().filter(|&b| b != 0).collect();
            self.push_literal(&Literal::from_parsed(
                &without_nul,
                LiteralMode::Sync,
                false,
            ));
        }
    }

    /// Appends a quoted string, escaping `\` and `"`, as it is: for the productions that
    /// are quoted only (`QUOTED-CHAR`, `charset`); [`EncodeBuf::push_text`] for a `string`.
    pub fn push_quoted(&mut self, value: &str) {
        self.bytes.push(b'"');
        for b in value.bytes() {
            if b == b'"' || b == b'\\' {
                self.bytes.push(b'\\');
            }
            self.bytes.push(b);
        }
        self.bytes.push(b'"');
    }

    /// `string`
    pub fn push_string(&mut self, s: &IString<'_>) {
        match s {
            IString::Quoted(q) => self.push_text(q),
            IString::Literal(l) => self.push_literal(l),
        }
    }

    /// `astring`; an atom that cannot go out bare (`NIL`) is quoted.
    pub fn push_astring(&mut self, s: &AString<'_>) {
        match s {
            AString::Atom(a) if is_bare_astring(a.as_bytes()) => self.push(a.as_bytes()),
            AString::Atom(a) => self.push_text(a),
            AString::String(s) => self.push_string(s),
        }
    }

    /// `nstring`
    pub fn push_nstring(&mut self, s: Option<&IString<'_>>) {
        match s {
            Some(s) => self.push_string(s),
            None => self.push(b"NIL"),
        }
    }

    /// `mailbox`, modified UTF-7 unless `utf8`.
    pub fn push_mailbox(&mut self, m: &Mailbox<'_>, utf8: bool) {
        self.push_astring(&m.wire_form(utf8, !self.server));
    }

    /// `date-time`, quoted.
    pub fn push_date_time(&mut self, dt: &DateTime) {
        let _ = write!(self.bytes, "\"{dt}\"");
    }

    /// `sequence-set`
    pub fn push_sequence_set(&mut self, set: &SequenceSet) {
        self.push_display(set);
    }

    /// `"(" [flag *(SP flag)] ")"`
    pub fn push_flag_list(&mut self, flags: &[Flag<'_>]) {
        self.bytes.push(b'(');
        self.push_separated(flags, |buf, f| buf.push_display(f));
        self.bytes.push(b')');
    }

    /// Items separated by single spaces.
    pub fn push_separated<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.bytes.push(b' ');
            }
            each(self, item);
        }
    }

    /// `section`
    pub fn push_section(&mut self, section: &Section<'_>) {
        self.bytes.push(b'[');
        let mut s = String::new();
        for (i, p) in section.part.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            let _ = write!(s, "{p}");
        }
        self.push(s.as_bytes());
        if let Some(text) = &section.text {
            if !section.part.is_empty() {
                self.bytes.push(b'.');
            }
            match text {
                SectionText::Header => self.push(b"HEADER"),
                SectionText::Text => self.push(b"TEXT"),
                SectionText::Mime => self.push(b"MIME"),
                SectionText::HeaderFields { not, fields } => {
                    self.push(if *not {
                        b"HEADER.FIELDS.NOT ("
                    } else {
                        b"HEADER.FIELDS ("
                    });
                    self.push_separated(fields, Self::push_astring);
                    self.bytes.push(b')');
                }
            }
        }
        self.bytes.push(b']');
    }
}
