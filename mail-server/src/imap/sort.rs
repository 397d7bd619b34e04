//! SORT and UID SORT with ESORT's RETURN options, over the messages the SEARCH keys match:
//! the glue between the store and `sansmail_imap::sort`.
//!
//! The records come from the stored ENVELOPE (header values as written), with encoded words
//! decoded (mail-parser) where the subject and display names need it, and the `References:`
//! header read from the header block when THREAD asks for it.

use std::io;

use sansmail_imap::{
    sort::{Message, base_subject, sort},
    thread::message_ids,
    types::{
        core::Tag,
        response::Data,
        response_data::SearchResult,
        search::{Charset, SearchKey, SearchReturnOpt, SortCriterion},
    },
};
use sansmail_store::{
    FetchQuery, FetchedMessage, MailStore, StoreError, Uid, UidSet,
    date::parse_timestamp as parse_date,
    headers::{decode_encoded_words, header_values},
    mime::{Envelope, EnvelopeAddress},
    model::Content,
};

use super::{
    Conn,
    search::{Found, Results},
};

/// Messages fetched per store call when their header block is needed.
const HEADER_BATCH: usize = 256;

/// addr-mailbox of the first address (a group's name for a group), or empty.
fn first_mailbox(list: &[EnvelopeAddress]) -> String {
    list.first()
        .and_then(|a| a.mailbox.clone())
        .unwrap_or_default()
}

/// RFC 5957 §2: the first address's display name, decoded, or when it has none its
/// `addr-mailbox "@" addr-host`.
fn display_name(list: &[EnvelopeAddress]) -> String {
    let Some(a) = list.first() else {
        return String::new();
    };
    match (&a.name, &a.mailbox, &a.host) {
        (Some(n), ..) if !n.trim().is_empty() => decode_encoded_words(n),
        (_, Some(m), Some(h)) if !h.is_empty() => format!("{m}@{h}"),
        (_, Some(m), _) => m.clone(),
        _ => String::new(),
    }
}

/// The SORT and THREAD record of a fetched message; `header` is its header block, when
/// References is wanted.
fn message(seq: u32, m: &FetchedMessage, header: Option<&[u8]>) -> Message {
    let empty = Envelope::default();
    let env = m.envelope.as_deref().unwrap_or(&empty);
    let arrival = m.internal_date.timestamp;
    let (base_subject, reply) =
        base_subject(&decode_encoded_words(env.subject.as_deref().unwrap_or("")));
    let references = header
        .map(|h| {
            header_values(h, b"References")
                .iter()
                .flat_map(|v| message_ids(&String::from_utf8_lossy(v)))
                .collect()
        })
        .unwrap_or_default();
    Message {
        seq,
        uid: m.uid.get(),
        arrival,
        sent: env.date.as_deref().and_then(parse_date).unwrap_or(arrival),
        size: m.size,
        base_subject,
        reply,
        from: first_mailbox(&env.from),
        to: first_mailbox(&env.to),
        cc: first_mailbox(&env.cc),
        display_from: display_name(&env.from),
        display_to: display_name(&env.to),
        message_id: env
            .message_id
            .as_deref()
            .and_then(|v| message_ids(v).into_iter().next()),
        references,
        in_reply_to: env
            .in_reply_to
            .as_deref()
            .and_then(|v| message_ids(v).into_iter().next()),
    }
}

impl<S: MailStore> Conn<'_, S> {
    /// The SORT and THREAD records of the messages found; `None` when a store error was
    /// answered.
    pub(super) async fn records(
        &mut self,
        found: &[Found],
        references: bool,
    ) -> io::Result<Option<Vec<Message>>> {
        let Some((name, _)) = self.selected_mailbox() else {
            self.no(None, "No mailbox selected")?;
            return Ok(None);
        };
        match self.load_records(&name, found, references).await? {
            Ok(records) => Ok(Some(records)),
            Err(e) => {
                self.fail(&e)?;
                Ok(None)
            }
        }
    }

    /// The records of `found` in mailbox `name`, fetched in batches.
    async fn load_records(
        &self,
        name: &str,
        found: &[Found],
        references: bool,
    ) -> io::Result<Result<Vec<Message>, StoreError>> {
        let session = self.session()?;
        let query = FetchQuery {
            envelope: true,
            content: references.then_some(Content::Header),
            ..FetchQuery::default()
        };
        let batch = if references {
            HEADER_BATCH
        } else {
            found.len().max(1)
        };
        let mut out = Vec::with_capacity(found.len());
        for chunk in found.chunks(batch) {
            let set: UidSet = chunk.iter().filter_map(|f| Uid::new(f.uid)).collect();
            let messages = match self.service.store.fetch(&session, name, &set, query).await {
                Ok(m) => m,
                Err(e) => return Ok(Err(e)),
            };
            for m in &messages {
                // `found` is in mailbox order, so ascending by UID.
                if let Ok(i) = chunk.binary_search_by_key(&m.uid.get(), |f| f.uid) {
                    out.push(message(chunk[i].seq, m, m.content.as_deref()));
                }
            }
        }
        Ok(Ok(out))
    }

    /// `uids` (ascending) in the order of `criteria`, for an updating SORT (RFC 5267 §4.3).
    /// Messages the client is not told of yet have no sequence number; their rank stands
    /// in for it, which orders alike.
    pub(super) async fn sort_uids(
        &self,
        uids: &[u32],
        criteria: &[SortCriterion],
    ) -> Result<Vec<u32>, StoreError> {
        let Some((name, _)) = self.selected_mailbox() else {
            return Ok(Vec::new());
        };
        let found: Vec<Found> = uids
            .iter()
            .zip(1u32..)
            .map(|(&uid, seq)| Found {
                seq,
                uid,
                modseq: 0,
            })
            .collect();
        let mut messages = self
            .load_records(&name, &found, false)
            .await
            .map_err(StoreError::from)??;
        sort(&mut messages, criteria);
        Ok(messages.iter().map(|m| m.uid).collect())
    }

    /// `["UID" SP] SORT [search-return-opts] SP sort-criteria SP charset 1*(SP search-key)`
    /// (RFC 5256 §5, RFC 5267 §3): `* SORT` numbers, or `* ESEARCH` with RETURN.
    pub(super) async fn sort(
        &mut self,
        tag: &Tag<'_>,
        uid: bool,
        return_opts: Option<Vec<SearchReturnOpt>>,
        criteria: &[SortCriterion],
        charset: &Charset<'_>,
        keys: &[SearchKey<'_>],
    ) -> io::Result<()> {
        if !self.check_charset(Some(charset))? {
            return Ok(());
        }
        let Some((found, with_modseq)) = self.find(keys).await? else {
            return Ok(());
        };
        let highest = found.iter().map(|f| f.modseq).max().filter(|_| with_modseq);
        let modseq_of: std::collections::HashMap<u32, u64> =
            found.iter().map(|f| (f.uid, f.modseq)).collect();
        let Some(mut messages) = self.records(&found, false).await? else {
            return Ok(());
        };
        sort(&mut messages, criteria);
        let ids: Vec<u32> = messages
            .iter()
            .map(|m| if uid { m.uid } else { m.seq })
            .collect();
        match return_opts {
            None => self.server_mut().send_data(Data::Sort(SearchResult {
                ids,
                modseq: highest,
            })),
            Some(opts) => {
                let uids: Vec<u32> = messages.iter().map(|m| m.uid).collect();
                let modseqs: Vec<u64> = messages
                    .iter()
                    .map(|m| modseq_of.get(&m.uid).copied().unwrap_or(0))
                    .collect();
                let modseqs = with_modseq.then_some(&modseqs[..]);
                let results = Results {
                    ids: &ids,
                    uids: &uids,
                    sorted: true,
                };
                self.esearch(tag, uid, &opts, &results, modseqs)?;
            }
        }
        self.ok(None, "SORT completed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_are_decoded_before_extraction() {
        let s = decode_encoded_words("=?UTF-8?Q?Re=3A_caf=C3=A9?=");
        assert_eq!(s, "Re: caf\u{e9}");
        assert_eq!(base_subject(&s).0, "caf\u{e9}");
        assert_eq!(decode_encoded_words("plain"), "plain");
    }

    #[test]
    fn addresses_and_display_names() {
        let a = |name: Option<&str>, mailbox: &str, host: Option<&str>| EnvelopeAddress {
            name: name.map(str::to_owned),
            adl: None,
            mailbox: Some(mailbox.to_owned()),
            host: host.map(str::to_owned),
        };
        let list = [
            a(Some("Zed"), "amy", Some("example.org")),
            a(None, "bob", None),
        ];
        assert_eq!(first_mailbox(&list), "amy");
        assert_eq!(display_name(&list), "Zed");
        assert_eq!(
            display_name(&[a(None, "amy", Some("example.org"))]),
            "amy@example.org"
        );
        assert_eq!(
            display_name(&[a(Some("=?UTF-8?Q?Andr=C3=A9?="), "a", Some("b"))]),
            "Andr\u{e9}"
        );
        assert_eq!(first_mailbox(&[]), "");
        assert_eq!(display_name(&[]), "");
    }
}
