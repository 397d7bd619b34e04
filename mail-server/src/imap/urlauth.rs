//! URLAUTH (RFC 4467): GENURLAUTH authorizes URLs of this user's messages with the mailbox's
//! access key, URLFETCH returns what authorized URLs name to whoever they allow, RESETKEY
//! forgets keys so that the URLs made with them stop working. The session already refused
//! URLs that are not the logged-in user's absolute URL rumps, and unknown mechanisms.

use std::{
    io,
    time::{SystemTime, UNIX_EPOCH},
};

use sansmail_imap::{
    types::{
        core::{AString, Atom, IString},
        mailbox::Mailbox,
        response::Data,
    },
    url::{AuthUrl, INTERNAL, UrlAccess, internal_token, parse_auth_url, verify_internal_token},
};
use sansmail_store::{AccountName, MailStore, Session, StoreError};

use super::{Conn, mailboxes::canonical};

impl<S: MailStore> Conn<'_, S> {
    /// `GENURLAUTH`: each rump with the `INTERNAL` token of its mailbox's access key (made
    /// now if the mailbox has none). `NO` if a mailbox does not exist.
    pub(super) async fn genurlauth(&mut self, urls: &[(AString<'_>, Atom<'_>)]) -> io::Result<()> {
        let session = self.session()?;
        let mut authorized = Vec::with_capacity(urls.len());
        for (rump, _) in urls {
            let Ok(url) = parse_auth_url(&rump.to_str_lossy()) else {
                return self.bad("Not an absolute IMAP URL with ;URLAUTH=");
            };
            if !url.owner().eq_ignore_ascii_case(session.account().as_str()) {
                return self.bad("Only your own URLs can be authorized");
            }
            let mailbox = canonical(url.mailbox(), self.service.store.hierarchy_delimiter());
            let key = match self.service.store.make_access_key(&session, &mailbox).await {
                Ok(key) => key,
                Err(e) => return self.fail(&e),
            };
            let token = internal_token(key.as_bytes(), url.rump());
            match AString::from_bytes(url.authorized(INTERNAL, &token).into_bytes()) {
                Ok(full) => authorized.push(full),
                Err(_) => return self.bad("A URL that cannot be sent back"),
            }
        }
        self.server_mut().send_data(Data::GenUrlAuth(authorized));
        self.ok(None, "GENURLAUTH completed")
    }

    /// `URLFETCH`: each URL with what it names, `NIL` for one that is not valid for this
    /// user now (RFC 4467 §6.3). One `* URLFETCH` response per URL, written out before the
    /// next is read, so a command naming many large messages holds one at a time.
    pub(super) async fn urlfetch(&mut self, urls: &[AString<'_>]) -> io::Result<()> {
        let session = self.session()?;
        self.url_reads
            .store(0, std::sync::atomic::Ordering::Relaxed);
        for url in urls {
            let data = match parse_auth_url(&url.to_str_lossy()) {
                Ok(auth) => match self.authorized_octets(&session, &auth).await {
                    Ok(data) => data,
                    Err(e) => return self.fail(&e),
                },
                Err(_) => None,
            };
            // A part with NUL cannot be an nstring: NIL, as for any URL not served.
            let data = data.and_then(|d| IString::from_bytes(d).ok());
            self.server_mut()
                .send_data(Data::UrlFetch(vec![(url.clone(), data)]));
            self.flush().await?;
        }
        self.ok(None, "URLFETCH completed")
    }

    /// `RESETKEY`: the mailbox's access key, or every one of this user's.
    pub(super) async fn resetkey(&mut self, mailbox: Option<&Mailbox<'_>>) -> io::Result<()> {
        let session = self.session()?;
        match self
            .service
            .store
            .reset_access_keys(&session, mailbox.map(Mailbox::name))
            .await
        {
            Ok(()) => self.ok(None, "RESETKEY completed"),
            Err(e) => self.fail(&e),
        }
    }

    /// What an authorized URL names, if `fetcher` may have it now: a verifier of the
    /// `INTERNAL` mechanism matching the owner's key, not expired, and an access identifier
    /// that admits `fetcher`. `None` otherwise, without saying which check failed.
    pub(super) async fn authorized_octets(
        &self,
        fetcher: &Session,
        url: &AuthUrl,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(verifier) = &url.verifier else {
            return Ok(None);
        };
        if !verifier.mechanism.eq_ignore_ascii_case(INTERNAL) || url.is_expired(unix_now()) {
            return Ok(None);
        }
        let me = fetcher.account().as_str();
        let admitted = match &url.access {
            UrlAccess::Anonymous | UrlAccess::AuthUser => true,
            // `submit+user` is for the submission server acting for `user`; on this server
            // that is `user` logged in (BURL fetches as the user, RFC 4468 §3.3).
            UrlAccess::User(user) | UrlAccess::Submit(user) => user.eq_ignore_ascii_case(me),
        };
        if !admitted {
            return Ok(None);
        }
        let owner = if url.owner().eq_ignore_ascii_case(me) {
            fetcher.clone()
        } else {
            match AccountName::try_from(url.owner()) {
                Ok(account) => Session::new(account),
                Err(_) => return Ok(None),
            }
        };
        let store = &self.service.store;
        let mailbox = canonical(url.mailbox(), store.hierarchy_delimiter());
        let key = match store.access_key(&owner, &mailbox).await {
            Ok(Some(key)) => key,
            Ok(None)
            | Err(
                StoreError::NoSuchMailbox(_)
                | StoreError::NoSuchAccount
                | StoreError::InvalidName(_),
            ) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !verify_internal_token(key.as_bytes(), url.rump(), &verifier.token) {
            return Ok(None);
        }
        self.part_octets(&owner, &mailbox, &url.message).await
    }
}

/// Seconds since the Unix epoch, for `;EXPIRE=`.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
