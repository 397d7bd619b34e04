//! Starting the mail server: one store, and the SMTP, IMAP and POP3 listeners on it.
//! The `mailserver` binary and the interop tests both start it this way.

use std::{io, net::SocketAddr, path::PathBuf, sync::Arc};

use crate::{
    imap_server::{self, ImapService},
    pop3_server::{self, Pop3Service},
    smtp_server::{self, SmtpService},
    store_glue::{self, Directory, Store},
};

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SMTP listener's address, or `None` for no SMTP.
    pub smtp: Option<SocketAddr>,
    /// The IMAP listener's address, or `None` for no IMAP.
    pub imap: Option<SocketAddr>,
    /// The POP3 listener's address, or `None` for no POP3.
    pub pop3: Option<SocketAddr>,
    /// Where the Maildirs live (`<data-dir>/<user>/Maildir`).
    pub data_dir: PathBuf,
    /// The server's name in greetings.
    pub hostname: String,
    /// Users and local domains.
    pub directory: Directory,
}

/// The running server: where each listener is bound, and the store they share.
#[derive(Debug)]
pub struct Running {
    /// The SMTP listener's address.
    pub smtp: Option<SocketAddr>,
    /// The IMAP listener's address.
    pub imap: Option<SocketAddr>,
    /// The POP3 listener's address.
    pub pop3: Option<SocketAddr>,
    /// The store.
    pub store: Arc<Store>,
}

/// Opens the store and binds the listeners; they run as tasks on the current tokio runtime
/// until it shuts down.
pub async fn start(options: Options) -> io::Result<Running> {
    std::fs::create_dir_all(&options.data_dir)?;
    let store = store_glue::open_store(&options.data_dir, &options.directory)
        .await
        .map_err(|e| io::Error::other(format!("{}: {e}", options.data_dir.display())))?;
    let directory = Arc::new(options.directory);
    let bind = |what: &str, addr: SocketAddr, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} cannot listen on {addr}: {e}"))
    };
    let mut running = Running {
        smtp: None,
        imap: None,
        pop3: None,
        store: Arc::clone(&store),
    };
    if let Some(addr) = options.smtp {
        let service = Arc::new(SmtpService {
            config: smtp_proto::session::ServerConfig::new(options.hostname.clone()),
            directory: Arc::clone(&directory),
            store: Arc::clone(&store),
        });
        running.smtp = Some(
            smtp_server::spawn(addr, service)
                .await
                .map_err(|e| bind("smtp", addr, e))?,
        );
    }
    if let Some(addr) = options.imap {
        let service = Arc::new(ImapService::new(
            &options.hostname,
            Arc::clone(&directory),
            Arc::clone(&store),
        ));
        running.imap = Some(
            imap_server::spawn(addr, service)
                .await
                .map_err(|e| bind("imap", addr, e))?,
        );
    }
    if let Some(addr) = options.pop3 {
        let service = Arc::new(Pop3Service::new(
            &options.hostname,
            Arc::clone(&directory),
            Arc::clone(&store),
        ));
        running.pop3 = Some(
            pop3_server::spawn(addr, service)
                .await
                .map_err(|e| bind("pop3", addr, e))?,
        );
    }
    Ok(running)
}
