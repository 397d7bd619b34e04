//! CATENATE (RFC 4469): an APPEND whose message is put together from text the client sends
//! and parts of messages already here, named by IMAP URLs (RFC 5092), this user's or
//! URLAUTH-authorized ones (RFC 4469 §4).

use std::{borrow::Cow, sync::atomic::Ordering};

use sansmail_imap::{
    types::{command::CatPart, fetch_attr::Partial, response_code::ResponseCode},
    url::{MessageUrl, parse_auth_url, parse_message_url},
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

/// At most how many octets of messages one command's URLs read (after the first message).
const URL_READ_BUDGET: u64 = 256 << 20;

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
    /// range; or, for a URLAUTH-authorized URL (RFC 4469 §4), what URLFETCH would return.
    async fn url_octets(&self, session: &Session, url: &str) -> Result<Vec<u8>, Refusal> {
        let bad = || Refusal::BadUrl(url.to_owned());
        if let Ok(auth) = parse_auth_url(url)
            && auth.verifier.is_some()
        {
            return match self.authorized_octets(session, &auth).await {
                Ok(Some(octets)) => Ok(octets),
                Ok(None) => Err(bad()),
                Err(e) => Err(Refusal::Store(e)),
            };
        }
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
        match self.part_octets(session, &mailbox, &parsed).await {
            Ok(Some(octets)) => Ok(octets),
            Ok(None) => Err(bad()),
            Err(e) => Err(Refusal::Store(e)),
        }
    }

    /// The octets of the message part `url` names in `session`'s `mailbox` (the store's
    /// name): checked against the URL's UIDVALIDITY, cut to its section and partial range.
    /// `None` when the URL names nothing there. Reads only: no `\Seen` is set.
    pub(super) async fn part_octets(
        &self,
        session: &Session,
        mailbox: &str,
        url: &MessageUrl,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let store = &self.service.store;
        let status = match store.status(session, mailbox).await {
            Ok(s) => s,
            Err(StoreError::NoSuchMailbox(_) | StoreError::NoSuchAccount) => return Ok(None),
            Err(e) => return Err(e),
        };
        if url
            .uid_validity
            .is_some_and(|v| v != status.uidvalidity.get())
        {
            return Ok(None);
        }
        let Ok(section) = url.body_section() else {
            return Ok(None);
        };
        let Some(uid) = sansmail_store::Uid::new(url.uid) else {
            return Ok(None);
        };
        let query = FetchQuery {
            body_structure: true,
            content: Some(Content::Full),
            ..FetchQuery::default()
        };
        let found = store
            .fetch(session, mailbox, &UidSet::single(uid), query)
            .await?;
        let Some(message) = found.into_iter().next() else {
            return Ok(None);
        };
        let (Some(raw), Some(tree)) = (&message.content, &message.body_structure) else {
            return Ok(None);
        };
        // However small the part, its whole message was read: past the budget (the first
        // message always), the command is refused rather than have a few hundred URLs of
        // one large message read it a few hundred times.
        let len = raw.len() as u64;
        let read = self.url_reads.fetch_add(len, Ordering::Relaxed) + len;
        if read > URL_READ_BUDGET && read != len {
            return Err(StoreError::Limit(
                "the URLs read too much mail for one command",
            ));
        }
        let Some(octets) = section::section(&section).cut(raw, tree) else {
            return Ok(None);
        };
        // The same cut as a FETCH partial; without a length, to the end.
        let range = url.partial.map(|(offset, length)| Partial {
            offset,
            length: length.unwrap_or(u64::MAX),
        });
        Ok(Some(
            section::partial(Some(octets), range).0.unwrap_or_default(),
        ))
    }
}
