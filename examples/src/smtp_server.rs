//! The SMTP listener: sockets into `smtp_proto::session::server::Server`, messages into
//! `mail-store` (one delivery per message, one result per recipient, durable before the
//! `250`). No protocol rule lives here; this file only answers the session's decisions.

use std::{io, net::SocketAddr, sync::Arc, time::Instant};

use mail_store::{MailStore, Recipient, StoreError, Upload};

use smtp_proto::{
    ForwardPath, Reply, ReplyCode,
    session::{
        ServerConfig, replies,
        server::{Event, Server},
    },
    types::reply::EnhancedStatus,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

pub use crate::store_glue::Directory;
use crate::store_glue::Store;

/// Settings shared by every connection.
#[derive(Debug)]
pub struct SmtpService {
    /// The session configuration.
    pub config: ServerConfig,
    /// Local users and domains.
    pub directory: Arc<Directory>,
    /// Where messages go.
    pub store: Arc<Store>,
}

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, service: Arc<SmtpService>) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        // Replies are small writes answering small reads: do not wait to coalesce them.
        let _ = stream.set_nodelay(true);
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            if let Err(e) = handle_connection(stream, peer, &service).await {
                eprintln!("smtp {peer}: {e}");
            }
        });
    }
}

/// The state of the transaction the application keeps beside the session.
#[derive(Default)]
struct Transaction {
    recipients: Vec<Recipient>,
    message: Option<Upload>,
    /// Writing the message failed: it is refused at the end, nothing half-delivered.
    broken: bool,
}

enum Rcpt {
    Local(Recipient),
    Refused(Reply<'static>),
}

fn reply(code: ReplyCode, status: (u8, u16, u16), text: &str) -> Reply<'static> {
    let status = EnhancedStatus::new(status.0, status.1, status.2).ok();
    Reply::new(code, status, text.to_owned()).unwrap_or_else(|_| replies::ok())
}

fn recipient(service: &SmtpService, to: &ForwardPath<'_>) -> Rcpt {
    let dir = &service.directory;
    let user = match to.mailbox() {
        None => dir.postmaster.clone(),
        Some(m) => {
            let Some(domain) = m.domain().domain() else {
                return Rcpt::Refused(reply(
                    ReplyCode::MAILBOX_UNAVAILABLE,
                    (5, 1, 2),
                    "Address literals are not local here",
                ));
            };
            if !dir.is_local_domain(domain.as_str()) {
                return Rcpt::Refused(reply(
                    ReplyCode::TRANSACTION_FAILED,
                    (5, 7, 1),
                    "Relay access denied",
                ));
            }
            let local = m.local_part().unquoted().to_lowercase();
            if local == "postmaster" {
                dir.postmaster.clone()
            } else {
                local
            }
        }
    };
    match dir.account(&user) {
        Some(account) => Rcpt::Local(Recipient::inbox(account)),
        None => Rcpt::Refused(reply(
            ReplyCode::MAILBOX_UNAVAILABLE,
            (5, 1, 1),
            "No such user here",
        )),
    }
}

async fn handle_connection(
    mut stream: TcpStream,
    _peer: SocketAddr,
    service: &SmtpService,
) -> io::Result<()> {
    let mut server = Server::new(service.config.clone(), Instant::now());
    let mut transaction = Transaction::default();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        drive(&mut server, &mut transaction, service).await?;
        server.poll_transmit(&mut out);
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if server.is_closed() {
            break;
        }
        let deadline = server.poll_timeout().map(tokio::time::Instant::from_std);
        let read = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, stream.read(&mut buf)).await.ok(),
                None => Some(stream.read(&mut buf).await),
            }
        };
        match read.await {
            None => server.handle_timeout(Instant::now()),
            Some(Ok(0)) => break,
            Some(Ok(n)) => server.handle_input(Instant::now(), &buf[..n]),
            Some(Err(e)) => return Err(e),
        }
    }
    // Dropping an unfinished upload removes its spool file.
    drop(transaction);
    let _ = stream.shutdown().await;
    Ok(())
}

/// What an event asks of the application, detached from the session's input.
enum Step {
    Mail,
    Rcpt(Rcpt),
    DataStart,
    MessageEnd(usize),
    Reset,
    Auth(bool),
    Refuse(Reply<'static>),
    Nothing,
}

/// Answers every event the session has.
async fn drive(server: &mut Server, t: &mut Transaction, service: &SmtpService) -> io::Result<()> {
    loop {
        let step = match server.poll_event() {
            None => return Ok(()),
            Some(Event::Mail { .. }) => Step::Mail,
            Some(Event::Rcpt { to, .. }) => Step::Rcpt(recipient(service, &to)),
            Some(Event::DataStart) => Step::DataStart,
            Some(Event::MessageData(data)) => {
                if let Some(m) = &mut t.message
                    && m.write(data).is_err()
                {
                    t.message = None;
                    t.broken = true;
                }
                Step::Nothing
            }
            Some(Event::MessageEnd { replies: n, .. }) => Step::MessageEnd(n),
            Some(Event::MessageAborted { .. } | Event::TransactionReset) => Step::Reset,
            Some(Event::Auth { credentials, .. }) => Step::Auth(
                service
                    .directory
                    .authenticate(
                        credentials.authzid.as_deref(),
                        &credentials.authcid,
                        credentials.password.expose(),
                    )
                    .is_some(),
            ),
            Some(Event::AuthExchange { .. }) => Step::Refuse(replies::auth_failed()),
            // Hello needs no answer; STARTTLS is not offered by this listener yet.
            Some(_) => Step::Nothing,
        };
        match step {
            Step::Mail => {
                *t = Transaction::default();
                accept(server)?;
            }
            Step::Rcpt(Rcpt::Local(r)) => {
                t.recipients.push(r);
                accept(server)?;
            }
            Step::Rcpt(Rcpt::Refused(r)) | Step::Refuse(r) => reject(server, r)?,
            Step::DataStart => {
                t.message = Some(service.store.upload());
                t.broken = false;
                accept(server)?;
            }
            Step::MessageEnd(n) => finish_message(server, t, service, n).await?,
            Step::Reset => *t = Transaction::default(),
            Step::Auth(true) => accept(server)?,
            Step::Auth(false) => reject(server, replies::auth_failed())?,
            Step::Nothing => {}
        }
    }
}

/// The reply for a recipient whose copy could not be stored.
fn failure(e: &StoreError) -> Reply<'static> {
    match e {
        StoreError::OverQuota(_) => reply(
            ReplyCode::EXCEEDED_STORAGE,
            (5, 2, 2),
            "Mailbox full: over quota",
        ),
        StoreError::NoSuchAccount => reply(
            ReplyCode::MAILBOX_UNAVAILABLE,
            (5, 1, 1),
            "No such user here",
        ),
        e if !e.is_temporary() => reply(
            ReplyCode::TRANSACTION_FAILED,
            (5, 3, 0),
            "Message refused by the mail store",
        ),
        _ => reply(
            ReplyCode::LOCAL_ERROR,
            (4, 3, 0),
            "Local error in processing; try again later",
        ),
    }
}

/// The message is complete: deliver it through the store, then acknowledge. A `250` goes
/// out only for a recipient whose copy the store reports durable.
async fn finish_message(
    server: &mut Server,
    t: &mut Transaction,
    service: &SmtpService,
    answers: usize,
) -> io::Result<()> {
    let recipients = std::mem::take(&mut t.recipients);
    let results: Vec<Result<(), Reply<'static>>> = match t.message.take() {
        Some(m) if !t.broken => service
            .store
            .deliver(m, &recipients)
            .await
            .into_iter()
            .map(|r| {
                r.map(|_| ()).map_err(|e| {
                    eprintln!("smtp delivery: {e}");
                    failure(&e)
                })
            })
            .collect(),
        _ => vec![Err(failure(&StoreError::Io(io::Error::other(
            "message could not be spooled",
        ))))],
    };
    t.broken = false;
    if answers == 1 {
        // SMTP: one answer for all. It can be positive only if every copy is durable; if
        // some failed, the client retries the whole message (the durable copies repeat).
        let first_error = results.iter().find_map(|r| r.as_ref().err().cloned());
        match first_error {
            None if results.len() == recipients.len() => accept(server),
            None => reject(server, failure(&StoreError::WorkerGone)),
            Some(r) => reject(server, r),
        }
    } else {
        // LMTP: one answer per recipient, in RCPT order.
        for i in 0..answers {
            match results.get(i) {
                Some(Ok(())) => accept(server)?,
                Some(Err(r)) => reject(server, r.clone())?,
                None => reject(server, failure(&StoreError::WorkerGone))?,
            }
        }
        Ok(())
    }
}

fn accept(server: &mut Server) -> io::Result<()> {
    server.accept().map_err(io::Error::other)
}

fn reject(server: &mut Server, reply: Reply<'_>) -> io::Result<()> {
    server.reject(reply).map_err(io::Error::other)
}

/// Binds and serves in the background, returning the bound address.
pub async fn spawn(addr: SocketAddr, service: Arc<SmtpService>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, service).await {
            eprintln!("smtp listener: {e}");
        }
    });
    Ok(local)
}
