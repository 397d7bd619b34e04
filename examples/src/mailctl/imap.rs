//! `mailctl imap list|fetch|watch|flag`, on `sansmail_imap`'s client driver.

use std::{io, time::Duration};

use sansmail_core::Credentials;
use sansmail_imap::{
    session::client::{ClientConfig, TlsPolicy},
    tokio::client::{Fetched, ImapClient},
    types::{
        command::StoreAction,
        fetch_attr::FetchAttr,
        flag::Flag,
        section::{Section, SectionText},
        sequence::{SeqNum, SequenceSet},
    },
};
use tokio::net::TcpStream;

use super::{Endpoint, Security, fail};
use crate::tls::TlsConnector;

/// How long one IDLE lasts before it is renewed (servers drop idlers after 30 minutes).
const IDLE_FOR: Duration = Duration::from_secs(29 * 60);

/// A logged-in IMAP session.
pub struct Session(ImapClient<TcpStream>);

fn failed(e: impl std::fmt::Display) -> io::Error {
    fail(e.to_string())
}

/// `n:*`
fn from(n: u32) -> io::Result<SequenceSet> {
    SequenceSet::range(SeqNum::Value(n.max(1)), SeqNum::Largest).map_err(|e| fail(e.to_string()))
}

fn peek(text: Option<SectionText<'static>>) -> FetchAttr<'static> {
    FetchAttr::BodySection {
        peek: true,
        section: Section {
            text,
            ..Section::default()
        },
        partial: None,
    }
}

impl Session {
    /// Connects, runs STARTTLS if asked, and logs in.
    pub async fn open(ep: &Endpoint) -> io::Result<Self> {
        let credentials = ep
            .login
            .as_ref()
            .map(|(user, password)| Credentials::new(user, password));
        let mut config = ClientConfig::new(credentials);
        config.starttls = match ep.security {
            Security::StartTls => TlsPolicy::Required,
            Security::None | Security::Implicit => TlsPolicy::Never,
        };
        config.implicit_tls = ep.security == Security::Implicit;
        config.response_timeout = ep.timeout;
        let tls = match ep.security {
            Security::None => None,
            Security::StartTls | Security::Implicit => Some(TlsConnector::new(&ep.verify)?),
        };
        ImapClient::connect(&ep.host, ep.port, config, tls)
            .await
            .map(Self)
            .map_err(|e| fail(format!("{}:{}: {e}", ep.host, ep.port)))
    }

    /// LOGOUT.
    pub async fn logout(self) -> io::Result<()> {
        self.0.logout().await.map_err(failed)
    }

    /// Every mailbox's name.
    pub async fn list(&mut self) -> io::Result<Vec<String>> {
        let list = self.0.list("*").await.map_err(failed)?;
        Ok(list
            .into_iter()
            .map(|l| l.mailbox.name().to_owned())
            .collect())
    }

    /// Selects `name` (EXAMINE when `read_only`).
    pub async fn select(&mut self, name: &str, read_only: bool) -> io::Result<()> {
        if read_only {
            self.0.examine(name).await.map_err(failed)?;
        } else {
            self.0.select(name).await.map_err(failed)?;
        }
        Ok(())
    }

    /// UID FETCH of `set`: per message its UID and what was asked.
    async fn fetch_items(
        &mut self,
        set: &SequenceSet,
        attrs: Vec<FetchAttr<'_>>,
    ) -> io::Result<Vec<(u32, Fetched)>> {
        let fetched = self.0.uid_fetch(set, attrs).await.map_err(failed)?;
        Ok(fetched
            .into_iter()
            .filter_map(|f| Some((f.uid()?, f)))
            .collect())
    }

    /// The full messages: one UID, or every message (`None`), without setting `\Seen`.
    pub async fn fetch(&mut self, uid: Option<u32>) -> io::Result<Vec<(u32, Vec<u8>)>> {
        let set = match uid {
            Some(u) => SequenceSet::single(u).map_err(|e| fail(e.to_string()))?,
            None => from(1)?,
        };
        let messages = self.fetch_items(&set, vec![peek(None)]).await?;
        Ok(messages
            .into_iter()
            .filter(|(u, _)| uid.is_none_or(|want| want == *u))
            .map(|(u, f)| (u, f.body().unwrap_or_default().to_vec()))
            .collect())
    }

    /// Adds and removes flags on one message; its flags afterwards.
    pub async fn flag(
        &mut self,
        uid: u32,
        add: &[String],
        remove: &[String],
    ) -> io::Result<String> {
        let set = SequenceSet::single(uid).map_err(|e| fail(e.to_string()))?;
        for (action, names) in [(StoreAction::Add, add), (StoreAction::Remove, remove)] {
            if names.is_empty() {
                continue;
            }
            let flags = names
                .iter()
                .map(|f| {
                    Flag::parse(f)
                        .map(Flag::into_owned)
                        .map_err(|e| fail(format!("flag {f}: {e}")))
                })
                .collect::<io::Result<Vec<_>>>()?;
            self.0
                .uid_store(&set, action, flags, true)
                .await
                .map_err(failed)?;
        }
        let messages = self.fetch_items(&set, vec![FetchAttr::Flags]).await?;
        let flags = messages
            .into_iter()
            .find(|(u, _)| *u == uid)
            .and_then(|(_, f)| f.flags().map(<[Flag]>::to_vec))
            .ok_or_else(|| fail(format!("no message with UID {uid}")))?;
        Ok(flags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "))
    }

    /// IDLE in the selected mailbox: `on_idle()` once watching (every message delivered from
    /// then on is reported); for each message that arrives, `on_new(uid, header)` with its
    /// From and Subject header lines. Returns after `limit` messages (never when `None`).
    pub async fn watch(
        &mut self,
        limit: Option<usize>,
        on_idle: impl FnOnce(),
        mut on_new: impl FnMut(u32, &str),
    ) -> io::Result<()> {
        let everything = from(1)?;
        let known = self.fetch_items(&everything, vec![FetchAttr::Uid]).await?;
        let mut seen = known.iter().map(|(u, _)| *u).max().unwrap_or(0);
        // Deliveries from here on reach the session: at the latest IDLE's start tells them.
        on_idle();
        let header = SectionText::HeaderFields {
            not: false,
            fields: ["FROM", "SUBJECT"]
                .into_iter()
                .filter_map(|f| sansmail_imap::types::core::AString::try_from(f).ok())
                .collect(),
        };
        let mut count = 0;
        while limit.is_none_or(|l| count < l) {
            self.0.idle(IDLE_FOR).await.map_err(failed)?;
            let new = self
                .fetch_items(&from(seen + 1)?, vec![peek(Some(header.clone()))])
                .await?;
            for (uid, f) in new {
                if uid <= seen {
                    continue;
                }
                on_new(uid, &String::from_utf8_lossy(f.body().unwrap_or_default()));
                seen = seen.max(uid);
                count += 1;
            }
        }
        Ok(())
    }
}
