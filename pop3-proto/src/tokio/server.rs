//! The server driver: a [`Server`] session over a connection.
//!
//! ```no_run
//! use sansmail_pop3::session::{Maildrop, ServerConfig, responses, server::Event};
//! use sansmail_pop3::tokio::{server::Connection, tls::Stream};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::new("pop.example.org"), None);
//! while let Some(event) = conn.next_event().await? {
//!     let session = conn.session_mut();
//!     let answered = match event {
//!         Event::Login { credentials, .. } if credentials.password.expose() == "secret" => {
//!             // Lock the user's maildrop and list its messages here.
//!             session.accept_login(Maildrop::new())
//!         }
//!         Event::Login { .. } | Event::Apop { .. } | Event::AuthExchange { .. } => {
//!             session.reject(&responses::auth_failed())
//!         }
//!         Event::Retrieve { .. } => session.reject(&responses::message_unavailable()),
//!         // Delete what was marked, then sign off.
//!         Event::Commit { .. } => session.accept(),
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
/// ([`sansmail_core::driver::Connection`]), which runs STLS, the session's timeouts and
/// backpressure; [`shutdown`](sansmail_core::driver::Connection::shutdown) answers `-ERR [SYS/TEMP]` (nothing is deleted).
pub type Connection<IO> = driver::Connection<Server, IO>;
