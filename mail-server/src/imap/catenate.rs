//! CATENATE (RFC 4469): an APPEND whose message is put together from text the client sends
//! and parts of messages already here, named by IMAP URLs (RFC 5092).

use std::borrow::Cow;

use sansmail_imap::{
    types::{command::CatPart, fetch_attr::Partial, response_code::ResponseCode},
    url::parse_message_url,
};
use sansmail_store::{FetchQuery, MailStore, Session, StoreError, UidSet, Upload, model::Content};

use super::{Conn, mailboxes::canonical, section};

/// Why a CATENATE was refused; the tagged `NO` says it.
pub(super) enum Refusal {
    /// `[BADURL url]`: the URL names nothing this user may read here.
    BadUrl(String),
    /// `[TOOBIG]`: the message would pass the APPEND limit.
    TooBig,
    /// The store failed.
    Store(StoreError),
}

impl Refusal {
    pub(super) fn code(&self) -> Option<ResponseCode<'static>> {
        match self {
            // A URL with `]` (or nothing) cannot stand in the code: the code is left out.
            Self::BadUrl(url) => ResponseCode::other("BADURL", Some(Cow::Owned(url.clone()))).ok(),
            Self::TooBig => Some(ResponseCode::TooBig),
            Self::Store(_) => None,
        }
    }
}

impl<S: MailStore> Conn<'_, S> {
    /// The message `parts` make, written into a fresh upload, at most `limit` octets.
    pub(super) async fn catenate(
        &self,
        session: &Session,
        parts: &[CatPart<'_>],
        limit: u64,
    ) -> Result<Upload, Refusal> {
        let mut upload = self.service.store.upload();
        let mut size = 0u64;
        for part in parts {
            let octets = match part {
                CatPart::Text(text) => Cow::Borrowed(text.data()),
                CatPart::Url(url) => {
                    Cow::Owned(self.url_octets(session, &url.to_str_lossy()).await?)
                }
            };
            size = size.saturating_add(octets.len() as u64);
            if size > limit {
                return Err(Refusal::TooBig);
            }
            upload
                .write(&octets)
                .map_err(|e| Refusal::Store(StoreError::from(e)))?;
        }
        Ok(upload)
    }

    /// The octets `url` names: a message of this user's (in the selected mailbox when the URL
    /// is relative), checked against the URL's UIDVALIDITY, cut to its section and partial
    /// range.
    async fn url_octets(&self, session: &Session, url: &str) -> Result<Vec<u8>, Refusal> {
        let bad = || Refusal::BadUrl(url.to_owned());
        let parsed = parse_message_url(url).map_err(|_| bad())?;
        if parsed
            .user
            .as_deref()
            .is_some_and(|u| !u.eq_ignore_ascii_case(session.account().as_str()))
        {
            return Err(bad());
        }
        let mailbox = match (&parsed.mailbox, &self.selected) {
            (Some(m), _) => canonical(m, self.service.store.hierarchy_delimiter()),
            (None, Some(selected)) => selected.name.clone(),
            (None, None) => return Err(bad()),
        };
        let store = &self.service.store;
        let status = match store.status(session, &mailbox).await {
            Ok(s) => s,
            Err(StoreError::NoSuchMailbox(_)) => return Err(bad()),
            Err(e) => return Err(Refusal::Store(e)),
        };
        if parsed
            .uid_validity
            .is_some_and(|v| v != status.uidvalidity.get())
        {
            return Err(bad());
        }
        let section = parsed.body_section().map_err(|_| bad())?;
        let query = FetchQuery {
            body_structure: true,
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        let uid = sansmail_store::Uid::new(parsed.uid).ok_or_else(bad)?;
        let found = match store
            .fetch(session, &mailbox, &UidSet::single(uid), query)
            .await
        {
            Ok(found) => found,
            Err(e) => return Err(Refusal::Store(e)),
        };
        let message = found.into_iter().next().ok_or_else(bad)?;
        let (Some(raw), Some(tree)) = (&message.content, &message.body_structure) else {
            return Err(bad());
        };
        let octets = section::section(&section)
            .extract(raw, tree)
            .ok_or_else(bad)?;
        // The same cut as a FETCH partial; without a length, to the end.
        let range = parsed.partial.map(|(offset, length)| Partial {
            offset,
            length: length.unwrap_or(u64::MAX),
        });
        Ok(section::partial(Some(octets), range).0.unwrap_or_default())
    }
}
