//! The metrics endpoint: a minimal HTTP/1.x responder for Prometheus' scrapes. `GET /metrics`
//! (and `/`) gets [`Metrics::render`]; anything else a 404 or 405. One request per
//! connection, answered with `Connection: close`; a request head over 8 KiB or slower than
//! 5 s is dropped, and past 16 connections at once a new one is closed unanswered, so that
//! connections left open cannot take the descriptors the mail listeners need. Meant for a
//! loopback or management address, not the internet.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::Metrics;
use crate::listener::Gate;

const MAX_HEAD: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once (a scraper needs one).
const MAX_CONNECTIONS: usize = 16;

/// Serves `metrics` on `listener` until the gate shuts down, each scrape as its own task.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, gate: Arc<Gate>) {
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = gate.shutting_down() => return,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                    tracing::debug!(%peer, "metrics: {MAX_CONNECTIONS} connections open, closed");
                    continue;
                };
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    if let Err(e) = tokio::time::timeout(TIMEOUT, answer(tcp, &metrics)).await {
                        tracing::debug!(%peer, "metrics: {e}");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!("metrics: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Binds `addr` and serves the endpoint in the background; returns the bound address.
pub async fn spawn(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    gate: Arc<Gate>,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = crate::listener::bind("metrics", addr).await?;
    let local = listener.local_addr()?;
    Ok((local, tokio::spawn(serve(listener, metrics, gate))))
}

async fn answer(mut tcp: TcpStream, metrics: &Metrics) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = tcp.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return respond(&mut tcp, "431 Request Header Fields Too Large", "").await;
        }
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_ascii_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics" | "/") => {
            let body = if method == "GET" {
                metrics.render()
            } else {
                String::new()
            };
            respond(&mut tcp, "200 OK", &body).await
        }
        (_, "/metrics" | "/") => respond(&mut tcp, "405 Method Not Allowed", "").await,
        _ => respond(&mut tcp, "404 Not Found", "not found: try /metrics\n").await,
    }
}

async fn respond(tcp: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(body.as_bytes()).await?;
    tcp.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::ConnectionLimits;

    /// The answer to `request`; empty when the connection was closed (or reset) unanswered.
    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut out = String::new();
        if tcp.write_all(request.as_bytes()).await.is_ok() {
            let _ = tcp.read_to_string(&mut out).await;
        }
        out
    }

    #[tokio::test]
    async fn scrapes_and_refuses_other_paths() {
        let metrics = Metrics::new();
        metrics.listener("imap", "imap").opened();
        let gate = Gate::new(ConnectionLimits::default());
        let (addr, task) = spawn("127.0.0.1:0".parse().unwrap(), metrics, Arc::clone(&gate))
            .await
            .unwrap();
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains("\nsansmail_connections_total{listener=\"imap\",protocol=\"imap\"} 1\n"),
            "{ok}"
        );
        let length: usize = ok
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        assert_eq!(length, ok.split_once("\r\n\r\n").unwrap().1.len());
        let missing = get(addr, "GET /other HTTP/1.0\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        let post = get(addr, "POST /metrics HTTP/1.0\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        gate.shutdown();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn connections_past_the_limit_are_closed_unanswered() {
        let metrics = Metrics::new();
        let gate = Gate::new(ConnectionLimits::default());
        let (addr, task) = spawn("127.0.0.1:0".parse().unwrap(), metrics, Arc::clone(&gate))
            .await
            .unwrap();
        // Connections that send nothing hold every place.
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        // Until the server has accepted them all, a new one may still be among them.
        let refused = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                let out = get(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
                if out.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(refused.is_ok(), "a scrape past the limit was answered");
        // Their places come back when they close.
        drop(idle);
        let ok = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                let out = get(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
                if out.starts_with("HTTP/1.1 200 OK") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            ok.is_ok(),
            "no scrape answered after the idle connections closed"
        );
        gate.shutdown();
        task.await.unwrap();
    }
}
