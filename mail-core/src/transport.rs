//! The loop every tokio driver runs a sans-IO [`Session`] with: send what it queued, then wait
//! for the peer or the session's timeout, and hand over what happened.
//!
//! Backpressure comes from the order: nothing is read while output is still queued, so a peer
//! that pipelines commands and never reads its answers stops being read from once the socket's
//! send buffer fills, and the session never holds more than one read of input.
//!
//! Every `async` method here is cancel-safe except the TLS handshakes: a driver can race
//! [`Transport::exchange`] against its own events (a shutdown signal, a mailbox change) in
//! `tokio::select!` and call it again later without losing input or output. A cancelled
//! handshake leaves the stream [`Stream::Broken`].

use std::{
    io,
    time::{Duration, Instant},
};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{
    deflate::Deflate,
    session::Session,
    tls::{ProtocolVersion, Stream, TlsAcceptor, TlsConnector},
};

/// How many octets one read takes at most (a TLS record's plaintext).
pub const READ_CHUNK: usize = 16 * 1024;

/// Decompressed octets handed to the session per exchange under COMPRESS=DEFLATE, at most
/// (plus one piece): a read of 16 KiB may inflate to 16 MB, which then waits compressed.
const INFLATE_BUDGET: usize = 4 * READ_CHUNK;

/// How many octets one read takes at least: what a connection that only sends commands
/// keeps (an idle IMAP session holds one of these, not a [`READ_CHUNK`]).
const MIN_READ: usize = 512;

/// What one [`Transport::exchange`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    /// This many octets arrived and went to the session (0: decompressed input that had
    /// arrived before went).
    Input(usize),
    /// The session's timeout passed and it was told.
    Timeout,
    /// The peer closed the connection.
    Eof,
}

/// A connection and the buffers between it and a session.
#[derive(Debug)]
pub struct Transport<IO> {
    stream: Stream<IO>,
    read_buf: Vec<u8>,
    /// How much the next read takes: doubled after a read that filled it (a message or a
    /// literal arriving), halved after one that used under a quarter, between [`MIN_READ`]
    /// and [`READ_CHUNK`].
    read_size: usize,
    out: Vec<u8>,
    /// Octets of `out` already written (a cancelled flush resumes here).
    written: usize,
    /// How long a write may make no progress before the peer counts as gone.
    send_timeout: Option<Duration>,
    /// COMPRESS=DEFLATE, once agreed: `out` is compressed into `wire` when flushed.
    deflate: Option<Box<Deflate>>,
    wire: Vec<u8>,
    /// Octets of `wire` already written.
    wire_written: usize,
}

/// How long a peer may leave its answers unread before the connection is given up: Postfix's
/// `smtpd_timeout` (300 s) applies to writes as to reads. Without it a client that never
/// reads would hold its connection, and what the application holds for it, forever.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(300);

/// Hands the session at most [`INFLATE_BUDGET`] octets (and a piece) of what `deflate`
/// received; the rest waits for the next exchange.
fn hand_over<S: Session + ?Sized>(deflate: &mut Deflate, session: &mut S) -> io::Result<()> {
    let now = Instant::now();
    deflate.inflate(INFLATE_BUDGET, |plain| session.handle_input(now, plain))
}

fn send_timed_out(limit: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("the peer read nothing for {} s", limit.as_secs()),
    )
}

fn handshake_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
}

/// Says which step failed: a refused certificate reads "TLS handshake: invalid peer
/// certificate: ...", not as a bare read error.
fn handshake_failed(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("TLS handshake: {e}"))
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Transport<IO> {
    /// A transport over `stream` (plaintext, or TLS already for implicit TLS).
    pub fn new(stream: Stream<IO>) -> Self {
        Self {
            stream,
            read_buf: Vec::new(),
            read_size: MIN_READ,
            out: Vec::new(),
            written: 0,
            send_timeout: Some(DEFAULT_SEND_TIMEOUT),
            deflate: None,
            wire: Vec::new(),
            wire_written: 0,
        }
    }

    /// Compresses from here on (IMAP COMPRESS=DEFLATE, RFC 4978): what is queued now (the
    /// tagged OK) goes out as it is, everything after it compressed, and all input is
    /// decompressed. `compressed_input` is what the session had read past the COMPRESS
    /// command: it was compressed already, and is decompressed into `session` now. Nothing
    /// here waits, so a driver cancelled around it cannot leave the two sides disagreeing.
    pub fn start_deflate<S: Session + ?Sized>(
        &mut self,
        session: &mut S,
        compressed_input: &[u8],
    ) -> io::Result<()> {
        self.take_output(session);
        self.wire.extend_from_slice(&self.out[self.written..]);
        self.out.clear();
        self.written = 0;
        let deflate = self.deflate.insert(Box::default());
        deflate.receive(compressed_input);
        hand_over(deflate, session)
    }

    /// Whether COMPRESS=DEFLATE is active.
    pub fn is_deflate(&self) -> bool {
        self.deflate.is_some()
    }

    /// How long a write may make no progress (the peer reads nothing) before
    /// [`flush`](Self::flush) fails with [`io::ErrorKind::TimedOut`]; `None` waits forever.
    /// [`DEFAULT_SEND_TIMEOUT`] unless set.
    pub fn set_send_timeout(&mut self, timeout: Option<Duration>) {
        self.send_timeout = timeout;
    }

    /// The connection.
    pub fn stream(&self) -> &Stream<IO> {
        &self.stream
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// The TLS version in use, once TLS is active.
    pub fn tls_version(&self) -> Option<ProtocolVersion> {
        self.stream.tls_version()
    }

    /// Queues bytes to send with the next flush (for what no session produced, such as a
    /// refusal written before any session exists).
    pub fn queue(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Takes what `session` has to send; the next flush writes it.
    pub fn take_output<S: Session + ?Sized>(&mut self, session: &mut S) {
        session.poll_transmit(&mut self.out);
    }

    /// Whether output is queued and not yet written.
    pub fn has_output(&self) -> bool {
        self.pending_output() > 0
    }

    /// Octets queued and not yet written (compressed ones counted as they are).
    pub fn pending_output(&self) -> usize {
        self.out.len() - self.written + self.wire.len() - self.wire_written
    }

    /// Writes everything queued. Cancel-safe: a later call resumes where this one stopped.
    /// Fails with [`io::ErrorKind::TimedOut`] when a write makes no progress for the send
    /// timeout.
    pub async fn flush(&mut self) -> io::Result<()> {
        if let Some(deflate) = &mut self.deflate
            && !self.out.is_empty()
        {
            // Compressed whole before any of it is written, so a cancelled flush resumes
            // in `wire`; `out` holds nothing written in this mode.
            deflate.compress(&self.out, &mut self.wire)?;
            self.out.clear();
        }
        let (buf, written) = match self.deflate {
            Some(_) => (&mut self.wire, &mut self.wire_written),
            None => (&mut self.out, &mut self.written),
        };
        while *written < buf.len() {
            let write = self.stream.write(&buf[*written..]);
            let n = match self.send_timeout {
                Some(limit) => tokio::time::timeout(limit, write)
                    .await
                    .map_err(|_| send_timed_out(limit))??,
                None => write.await?,
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            *written += n;
        }
        buf.clear();
        if buf.capacity() > READ_CHUNK {
            // A large answer's buffer is not kept for the life of the connection.
            *buf = Vec::new();
        }
        *written = 0;
        self.stream.flush().await
    }

    /// Sends what `session` queued, then waits for input or the session's timeout and hands
    /// it over. Cancel-safe.
    pub async fn exchange<S: Session + ?Sized>(&mut self, session: &mut S) -> io::Result<Exchange> {
        self.take_output(session);
        self.flush().await?;
        // Decompressed input not handed over yet comes before anything new is read: the
        // session has answered what it had, and its answers are written.
        if let Some(deflate) = &mut self.deflate
            && deflate.has_input()
        {
            hand_over(deflate, session)?;
            return Ok(Exchange::Input(0));
        }
        let deadline = session.poll_timeout();
        // Read into spare capacity (never zero-filled) sized to what the peer has been
        // sending: an idle connection keeps a small buffer, a transfer reads whole chunks.
        self.read_buf.clear();
        if self.read_buf.capacity() > self.read_size {
            self.read_buf = Vec::new();
        }
        self.read_buf.reserve_exact(self.read_size);
        let read = self.stream.read_buf(&mut self.read_buf);
        let result = match deadline {
            Some(at) => tokio::time::timeout_at(tokio::time::Instant::from_std(at), read)
                .await
                .ok(),
            None => Some(read.await),
        };
        match result {
            None => {
                session.handle_timeout(Instant::now());
                Ok(Exchange::Timeout)
            }
            Some(Ok(0)) => Ok(Exchange::Eof),
            Some(Ok(n)) => {
                if n >= self.read_size {
                    self.read_size = (self.read_size * 2).min(READ_CHUNK);
                } else if n < self.read_size / 4 {
                    self.read_size = (self.read_size / 2).max(MIN_READ);
                }
                match &mut self.deflate {
                    Some(deflate) => {
                        deflate.receive(&self.read_buf[..n]);
                        hand_over(deflate, session)?;
                    }
                    None => session.handle_input(Instant::now(), &self.read_buf[..n]),
                }
                Ok(Exchange::Input(n))
            }
            Some(Err(e)) => Err(e),
        }
    }

    /// Flushes, then runs the server side of the TLS handshake (after STARTTLS/STLS was
    /// answered), giving up after `timeout`.
    pub async fn accept_tls(
        &mut self,
        acceptor: &TlsAcceptor,
        timeout: Duration,
    ) -> io::Result<()> {
        self.flush().await?;
        tokio::time::timeout(timeout, self.stream.accept_tls(acceptor))
            .await
            .map_err(|_| handshake_timed_out())?
            .map_err(|e| handshake_failed(&e))
    }

    /// Flushes, then runs the client side of the TLS handshake with `server_name`, giving up
    /// after `timeout`.
    pub async fn connect_tls(
        &mut self,
        connector: &TlsConnector,
        server_name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<()> {
        self.flush().await?;
        tokio::time::timeout(timeout, self.stream.connect_tls(connector, server_name))
            .await
            .map_err(|_| handshake_timed_out())?
            .map_err(|e| handshake_failed(&e))
    }

    /// Sends what is queued, then closes the sending direction (TLS `close_notify` first).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.flush().await?;
        self.stream.shutdown().await
    }

    /// The connection, with whatever output was not written yet dropped.
    pub fn into_stream(self) -> Stream<IO> {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Takes every octet it is given.
    #[derive(Default)]
    struct Sink(Vec<u8>);

    impl Session for Sink {
        fn handle_input(&mut self, _: Instant, data: &[u8]) {
            self.0.extend_from_slice(data);
        }
        fn poll_transmit(&mut self, _: &mut Vec<u8>) {}
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
        fn handle_timeout(&mut self, _: Instant) {}
        fn is_closed(&self) -> bool {
            false
        }
    }

    /// A transfer reads whole chunks; once the peer only sends commands again, the buffer
    /// an idle connection keeps shrinks back to the smallest read.
    #[tokio::test]
    async fn the_read_buffer_follows_what_the_peer_sends() {
        let (ours, mut theirs) = tokio::io::duplex(256 * 1024);
        let mut transport = Transport::new(Stream::plain(ours));
        let mut sink = Sink::default();
        theirs.write_all(&vec![b'x'; 200 * 1024]).await.unwrap();
        while sink.0.len() < 200 * 1024 {
            transport.exchange(&mut sink).await.unwrap();
        }
        assert_eq!(
            transport.read_size, READ_CHUNK,
            "a transfer reads whole chunks"
        );
        for _ in 0..8 {
            theirs.write_all(b"a NOOP\r\n").await.unwrap();
            transport.exchange(&mut sink).await.unwrap();
        }
        assert_eq!(transport.read_size, MIN_READ);
        assert!(
            transport.read_buf.capacity() <= MIN_READ,
            "{}",
            transport.read_buf.capacity()
        );
        assert_eq!(sink.0.len(), 200 * 1024 + 8 * 8);
    }

    /// Under COMPRESS=DEFLATE a read that inflates to megabytes reaches the session a
    /// budget at a time, one exchange after another, and all of it in the end.
    #[tokio::test]
    async fn inflated_input_comes_a_budget_at_a_time() {
        let (ours, mut theirs) = tokio::io::duplex(256 * 1024);
        let mut transport = Transport::new(Stream::plain(ours));
        let mut sink = Sink::default();
        transport.start_deflate(&mut sink, &[]).unwrap();
        let plain = vec![b'x'; 8 << 20];
        let mut wire = Vec::new();
        Deflate::new().compress(&plain, &mut wire).unwrap();
        assert!(wire.len() <= READ_CHUNK, "{}", wire.len());
        theirs.write_all(&wire).await.unwrap();
        let mut exchanges = 0;
        while sink.0.len() < plain.len() {
            let before = sink.0.len();
            transport.exchange(&mut sink).await.unwrap();
            let given = sink.0.len() - before;
            assert!(given <= INFLATE_BUDGET + crate::deflate::PIECE, "{given}");
            exchanges += 1;
        }
        assert!(sink.0 == plain);
        assert!(exchanges >= plain.len() / (INFLATE_BUDGET + crate::deflate::PIECE));
    }

    /// A large answer's buffer is let go once it is written.
    #[tokio::test]
    async fn a_large_answer_is_not_kept() {
        let (ours, mut theirs) = tokio::io::duplex(256 * 1024);
        let mut transport = Transport::new(Stream::plain(ours));
        transport.queue(&vec![b'y'; 100 * 1024]);
        transport.flush().await.unwrap();
        assert!(
            transport.out.capacity() <= READ_CHUNK,
            "{}",
            transport.out.capacity()
        );
        let mut got = vec![0; 100 * 1024];
        tokio::io::AsyncReadExt::read_exact(&mut theirs, &mut got)
            .await
            .unwrap();
    }
}
