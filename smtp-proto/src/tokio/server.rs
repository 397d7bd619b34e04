//! The server driver: a [`Server`] session over a connection.
//!
//! ```no_run
//! use sansmail_smtp::session::{ServerConfig, server::Event};
//! use sansmail_smtp::tokio::{server::Connection, tls::Stream};
//!
//! # async fn serve(tcp: tokio::net::TcpStream) -> std::io::Result<()> {
//! let mut conn = Connection::new(Stream::plain(tcp), ServerConfig::new("mx.example.org"), None);
//! let mut message = Vec::new();
//! while let Some(event) = conn.next_event().await? {
//!     match event {
//!         Event::Mail { .. } | Event::Rcpt { .. } | Event::DataStart => {
//!             conn.session_mut().accept().map_err(std::io::Error::other)?;
//!         }
//!         Event::MessageData(data) => message.extend_from_slice(&data),
//!         Event::MessageEnd { .. } => {
//!             // Make the message durable here, then acknowledge it.
//!             conn.session_mut().accept().map_err(std::io::Error::other)?;
//!             message.clear();
//!         }
//!         Event::MessageAborted { .. } | Event::TransactionReset => message.clear(),
//!         Event::Auth { .. } | Event::AuthExchange { .. } => {
//!             let refused = sansmail_smtp::session::replies::auth_failed();
//!             conn.session_mut().reject(&refused).map_err(std::io::Error::other)?;
//!         }
//!         _ => {}
//!     }
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
/// ([`sansmail_core::driver::Connection`]), which runs STARTTLS, the session's timeouts and
/// backpressure; [`shutdown`](sansmail_core::driver::Connection::shutdown) answers `421 4.3.2`.
pub type Connection<IO> = driver::Connection<Server, IO>;
