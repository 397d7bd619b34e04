//! The SMTP listener: sockets into `smtp_proto::session::server::Server`, messages into
//! Maildir. No protocol rule lives here; this file only answers the session's decisions.

use std::{
    collections::HashMap,
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

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

use crate::maildir::{self, Incoming};

/// Who receives mail here.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Domains whose users are local (compared case-insensitively).
    pub domains: Vec<String>,
    /// User names and passwords.
    pub users: HashMap<String, String>,
    /// The user that receives mail for `<Postmaster>` and `postmaster@<local domain>`.
    pub postmaster: String,
}

impl Directory {
    fn is_local_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Settings shared by every connection.
#[derive(Debug)]
pub struct SmtpService {
    /// The session configuration.
    pub config: ServerConfig,
    /// Local users and domains.
    pub directory: Directory,
    /// Where Maildirs live.
    pub data_dir: PathBuf,
}

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, service: Arc<SmtpService>) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
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
    recipients: Vec<PathBuf>,
    message: Option<Incoming>,
}

enum Rcpt {
    Local(PathBuf),
    Refused(Reply<'static>),
}

fn reply(code: ReplyCode, status: (u8, u16, u16), text: &str) -> Reply<'static> {
    let status = EnhancedStatus::new(status.0, status.1, status.2).ok();
    Reply::new(code, status, text.to_owned()).unwrap_or_else(|_| replies::ok())
}

fn recipient(service: &SmtpService, to: &ForwardPath<'_>) -> io::Result<Rcpt> {
    let dir = &service.directory;
    let user = match to.mailbox() {
        None => dir.postmaster.clone(),
        Some(m) => {
            let Some(domain) = m.domain().domain() else {
                return Ok(Rcpt::Refused(reply(
                    ReplyCode::MAILBOX_UNAVAILABLE,
                    (5, 1, 2),
                    "Address literals are not local here",
                )));
            };
            if !dir.is_local_domain(domain.as_str()) {
                return Ok(Rcpt::Refused(reply(
                    ReplyCode::TRANSACTION_FAILED,
                    (5, 7, 1),
                    "Relay access denied",
                )));
            }
            let local = m.local_part().unquoted().to_lowercase();
            if local == "postmaster" {
                dir.postmaster.clone()
            } else if dir.users.contains_key(&local) {
                local
            } else {
                return Ok(Rcpt::Refused(reply(
                    ReplyCode::MAILBOX_UNAVAILABLE,
                    (5, 1, 1),
                    "No such user here",
                )));
            }
        }
    };
    Ok(Rcpt::Local(maildir::maildir(&service.data_dir, &user)?))
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
        drive(&mut server, &mut transaction, service)?;
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
    if let Some(m) = transaction.message.take() {
        m.discard();
    }
    let _ = stream.shutdown().await;
    Ok(())
}

/// Answers every event the session has.
fn drive(server: &mut Server, t: &mut Transaction, service: &SmtpService) -> io::Result<()> {
    while let Some(event) = server.poll_event() {
        match event {
            Event::Mail { .. } => {
                *t = Transaction::default();
                accept(server)?;
            }
            Event::Rcpt { to, .. } => match recipient(service, &to)? {
                Rcpt::Local(dir) => {
                    t.recipients.push(dir);
                    accept(server)?;
                }
                Rcpt::Refused(r) => reject(server, r)?,
            },
            Event::DataStart => {
                let spool = t.recipients.first().map(|d| d.join("tmp"));
                match spool.map(|s| Incoming::create(&s, &service.config.hostname)) {
                    Some(Ok(m)) => {
                        t.message = Some(m);
                        accept(server)?;
                    }
                    _ => reject(
                        server,
                        reply(
                            ReplyCode::LOCAL_ERROR,
                            (4, 3, 0),
                            "Cannot store message now",
                        ),
                    )?,
                }
            }
            Event::MessageData(data) => {
                if let Some(m) = &mut t.message {
                    if m.write(data).is_err() {
                        // Reported at the end: the message is refused, nothing half-delivered.
                        if let Some(m) = t.message.take() {
                            m.discard();
                        }
                    }
                }
            }
            Event::MessageEnd { replies: n, .. } => finish_message(server, t, service, n)?,
            Event::MessageAborted { .. } | Event::TransactionReset => {
                if let Some(m) = t.message.take() {
                    m.discard();
                }
                t.recipients.clear();
            }
            Event::Auth { credentials, .. } => {
                let ok = credentials
                    .authzid
                    .as_ref()
                    .is_none_or(|z| *z == credentials.authcid)
                    && service.directory.users.get(&credentials.authcid)
                        == Some(credentials.password.expose());
                if ok {
                    accept(server)?;
                } else {
                    reject(server, replies::auth_failed())?;
                }
            }
            Event::AuthExchange { .. } => reject(server, replies::auth_failed())?,
            // Hello needs no answer; STARTTLS is not offered by this listener yet.
            _ => {}
        }
    }
    Ok(())
}

/// The message is complete: make it durable, then acknowledge. A `250` goes out only for a
/// recipient whose copy is fsynced.
fn finish_message(
    server: &mut Server,
    t: &mut Transaction,
    service: &SmtpService,
    answers: usize,
) -> io::Result<()> {
    let targets = std::mem::take(&mut t.recipients);
    let results = match t.message.take() {
        Some(m) => m
            .deliver(&targets, &service.config.hostname)
            .unwrap_or_else(|e| vec![Err(e)]),
        None => vec![Err(io::Error::other("message could not be spooled"))],
    };
    let failed = || {
        reply(
            ReplyCode::LOCAL_ERROR,
            (4, 3, 0),
            "Local error in processing; try again later",
        )
    };
    if answers == 1 {
        // SMTP: one answer for all; only positive if every copy is durable.
        if results.len() == targets.len() && results.iter().all(Result::is_ok) {
            accept(server)
        } else {
            reject(server, failed())
        }
    } else {
        for i in 0..answers {
            match results.get(i) {
                Some(Ok(_)) => accept(server)?,
                _ => reject(server, failed())?,
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

/// Reads `<data-dir>/<user>/Maildir/new` (for tests and tools).
pub fn new_messages(data_dir: &Path, user: &str) -> io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir.join(user).join("Maildir").join("new"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}
