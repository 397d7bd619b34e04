//! The server driver: a [`Server`] session over a connection.
//!
//! A server with mailboxes races [`Connection::next_event`] (cancel-safe) against its store's
//! change notifications and hands each change to the session with
//! [`Server::push_update`]; the session tells the client when RFC 9051 §7.4.1 allows.
//!
//! ```no_run
//! use sansmail_imap::session::{ServerConfig, server::Event};
//! use sansmail_imap::tokio::{server::Connection, tls::Stream};
//! use sansmail_imap::types::{command::CommandBody, response::StatusKind, response_code::ResponseCode};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::default(), None);
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Login { credentials } if credentials.password.expose() == "secret" => {
//!             session.accept()
//!         }
//!         Event::Login { .. } => {
//!             session.reject(Some(ResponseCode::AuthenticationFailed), "Authentication failed")
//!         }
//!         Event::LiteralAnnounced { .. } => session.accept_literal(),
//!         Event::Command(cmd) => match cmd.body {
//!             CommandBody::Namespace => session.complete(StatusKind::Ok, None, "done"),
//!             _ => session.complete(StatusKind::No, None, "Not here"),
//!         },
//!         _ => Ok(()),
//!     };
//!     answered.map_err(std::io::Error::other)?;
//! }
//! # Ok(()) }
//! ```

use std::{sync::Arc, time::Instant};

use sansmail_core::driver::{self, Driven, ServerSession};

use crate::session::{
    ServerConfig,
    server::{ApiError, Event, Server},
};

impl Driven for Server {
    type Event = Event;
    type Error = ApiError;

    fn poll_event(&mut self) -> Option<Event> {
        Server::poll_event(self)
    }

    fn is_start_tls(event: &Event) -> bool {
        matches!(event, Event::StartTls)
    }

    fn tls_established(&mut self) -> Result<(), ApiError> {
        Server::tls_established(self)
    }

    fn is_start_deflate(event: &Event) -> bool {
        matches!(event, Event::Compress)
    }

    fn deflate_established(&mut self) -> Result<Vec<u8>, ApiError> {
        Server::deflate_established(self)
    }
}

impl ServerSession for Server {
    type Config = Arc<ServerConfig>;

    fn start(
        mut config: Arc<ServerConfig>,
        implicit_tls: bool,
        starttls: bool,
        now: Instant,
    ) -> Self {
        // Shared by every connection unless this one's TLS differs from it.
        if (config.implicit_tls, config.starttls) != (implicit_tls, starttls) {
            let config = Arc::make_mut(&mut config);
            config.implicit_tls = implicit_tls;
            config.starttls = starttls;
        }
        Server::new(config, now)
    }

    fn shut_down(&mut self) {
        self.shutdown();
    }
}

/// A [`Server`] session over a connection: the workspace's one server driver
/// ([`sansmail_core::driver::Connection`]), which runs STARTTLS, the session's timeouts and
/// backpressure; [`shutdown`](sansmail_core::driver::Connection::shutdown) answers `* BYE`.
pub type Connection<IO> = driver::Connection<Server, IO>;
