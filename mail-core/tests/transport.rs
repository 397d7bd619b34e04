//! The transport's send timeout: a peer that reads nothing is given up, one that reads
//! slowly is not.
#![cfg(feature = "tokio")]

use std::time::Duration;

use sansmail_core::{tls::Stream, transport::Transport};
use tokio::io::AsyncReadExt;

#[tokio::test(start_paused = true)]
async fn a_peer_that_reads_nothing_is_given_up_after_the_send_timeout() {
    let (ours, _theirs) = tokio::io::duplex(1024);
    let mut transport = Transport::new(Stream::plain(ours));
    transport.set_send_timeout(Some(Duration::from_secs(30)));
    transport.queue(&vec![b'x'; 64 * 1024]);
    let started = tokio::time::Instant::now();
    let err = transport.flush().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(err.to_string().contains("30 s"), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(31));
    // What was not written stays queued.
    assert_eq!(transport.pending_output(), 64 * 1024 - 1024);
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_that_keeps_reading_is_not_cut_off() {
    let (ours, mut theirs) = tokio::io::duplex(1024);
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            match theirs.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    });
    let mut transport = Transport::new(Stream::plain(ours));
    transport.set_send_timeout(Some(Duration::from_secs(30)));
    transport.queue(&[b'y'; 16 * 1024]);
    // 16 reads 10 s apart: far longer than the timeout in all, never 30 s without progress.
    transport.flush().await.unwrap();
    transport.shutdown().await.unwrap();
    drop(transport);
    assert_eq!(reader.await.unwrap(), vec![b'y'; 16 * 1024]);
}
