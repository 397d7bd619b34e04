//! `mailctl pop3 fetch`: every message into a Maildir, deleted on the server with
//! `--delete` (after it is safely on disk; the deletions take effect at QUIT).

use std::{io, path::Path, time::Instant};

use pop3_proto::{
    session::client::{Client, ClientConfig, Event, TlsPolicy},
    types::{command::MessageNumber, sasl::Credentials},
};

use super::{Conn, Endpoint, Security, fail, maildir_deliver};

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
    let mut conn = Conn::open(ep).await?;
    let mut client = Client::new(config, Instant::now());
    let mut out = Vec::new();
    let mut todo: Vec<MessageNumber> = Vec::new();
    let mut listed = false;
    let mut message = Vec::new();
    let mut result = Fetched::default();
    let mut committed = None;
    loop {
        let mut starttls = false;
        let mut failure = None;
        while let Some(event) = client.poll_event() {
            match event {
                Event::StartTls => starttls = true,
                Event::Ready if !listed => {
                    listed = true;
                    client.list(None).map_err(io::Error::other)?;
                }
                Event::List(listing) => {
                    todo = listing.iter().rev().map(|l| l.msg).collect();
                    next(&mut client, &mut todo)?;
                }
                Event::MessageStart { .. } => message.clear(),
                Event::MessageData(data) => message.extend_from_slice(&data),
                Event::MessageEnd { msg } => {
                    maildir_deliver(maildir, &message)?;
                    result.saved += 1;
                    if delete {
                        client.dele(msg).map_err(io::Error::other)?;
                    } else {
                        next(&mut client, &mut todo)?;
                    }
                }
                Event::Deleted(_) => {
                    result.deleted += 1;
                    next(&mut client, &mut todo)?;
                }
                Event::Refused { request, response } => {
                    failure = Some(fail(format!("{request:?} refused: {response}")));
                }
                Event::Closed {
                    committed: c,
                    response,
                } => {
                    committed = Some(c);
                    if !c {
                        failure = Some(fail(format!("deletions not committed: {response}")));
                    }
                }
                Event::Failed(e) => failure = Some(fail(format!("{e}"))),
                _ => {}
            }
        }
        client.poll_transmit(&mut out);
        conn.write(&mut out).await?;
        if let Some(e) = failure {
            conn.close().await;
            return Err(e);
        }
        if client.is_closed() {
            break;
        }
        if starttls {
            conn.start_tls().await?;
            client.tls_established().map_err(io::Error::other)?;
            continue;
        }
        match conn.read(client.poll_timeout()).await? {
            None => client.handle_timeout(Instant::now()),
            Some([]) => break,
            Some(data) => client.handle_input(Instant::now(), data),
        }
    }
    conn.close().await;
    match committed {
        Some(true) => Ok(result),
        _ => Err(fail("the connection closed before QUIT was answered")),
    }
}

/// Retrieves the next message, or quits when none is left.
fn next(client: &mut Client, todo: &mut Vec<MessageNumber>) -> io::Result<()> {
    match todo.pop() {
        Some(msg) => client.retr(msg),
        None => client.quit(),
    }
    .map_err(io::Error::other)
}
