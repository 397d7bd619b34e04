//! `mailctl pop3 fetch`: every message into a Maildir, deleted on the server with
//! `--delete` (after it is safely on disk; the deletions take effect at QUIT).

use std::{io, path::Path};

use sansmail_pop3::{
    session::client::{ClientConfig, TlsPolicy},
    tokio::client::Pop3Client,
    types::sasl::Credentials,
};

use super::{Endpoint, Security, fail, maildir_deliver};
use crate::tls::TlsConnector;

/// What a fetch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fetched {
    /// Messages written into the Maildir.
    pub saved: usize,
    /// Messages deleted on the server (committed at QUIT).
    pub deleted: usize,
}

/// Downloads every message into `maildir`; with `delete`, removes them from the server.
pub async fn fetch(ep: &Endpoint, maildir: &Path, delete: bool) -> io::Result<Fetched> {
    let (user, password) = ep
        .login
        .clone()
        .ok_or_else(|| fail("pop3 fetch needs --user and --password"))?;
    let mut config = ClientConfig::new(Some(Credentials::new(user, password)));
    config.starttls = match ep.security {
        Security::StartTls => TlsPolicy::Required,
        Security::None | Security::Implicit => TlsPolicy::Never,
    };
    config.implicit_tls = ep.security == Security::Implicit;
    config.limits.response_timeout = ep.timeout;
    let tls = match ep.security {
        Security::None => None,
        Security::StartTls | Security::Implicit => Some(TlsConnector::new(&ep.verify)?),
    };
    let failed = |e: sansmail_pop3::tokio::client::Error| fail(format!("{e}"));
    let mut pop = Pop3Client::connect(&ep.host, ep.port, config, tls)
        .await
        .map_err(|e| fail(format!("{}:{}: {e}", ep.host, ep.port)))?;
    let mut result = Fetched::default();
    for listing in pop.list().await.map_err(failed)? {
        let message = pop.retr(listing.msg).await.map_err(failed)?;
        // On disk before the server may delete it.
        maildir_deliver(maildir, &message)?;
        result.saved += 1;
        if delete {
            pop.dele(listing.msg).await.map_err(failed)?;
            result.deleted += 1;
        }
    }
    if pop.quit().await.map_err(failed)? {
        Ok(result)
    } else {
        Err(fail("the server did not commit the deletions"))
    }
}
