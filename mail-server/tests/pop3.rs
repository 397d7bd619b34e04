//! The POP3 service end to end on loopback, over a memory store.

mod common;

use std::{net::SocketAddr, sync::Arc};

use sansmail_server::{
    listener::{ConnectionLimits, Gate},
    pop3::{self, Pop3Service},
};
use sansmail_store::{AccountName, MailStore, Recipient, Upload, memory::MemoryStore};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

async fn start(store: Arc<MemoryStore>) -> SocketAddr {
    let auth = common::alice_only();
    let gate = Gate::new(ConnectionLimits::default());
    let service = Pop3Service::new("pop3.example", auth, store, gate);
    pop3::spawn("127.0.0.1:0".parse().unwrap(), Arc::new(service))
        .await
        .unwrap()
}

async fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut l = String::new();
    r.read_line(&mut l).await.unwrap();
    assert!(l.ends_with("\r\n"), "{l:?}");
    l.truncate(l.len() - 2);
    l
}

async fn send(r: &mut BufReader<TcpStream>, command: &str) -> String {
    r.get_mut()
        .write_all(format!("{command}\r\n").as_bytes())
        .await
        .unwrap();
    line(r).await
}

/// LIST and STAT give each message's size as RETR sends it (RFC 1939 §11): a message kept
/// octet for octet (BINARYMIME, a literal8) with a bare CR and a bare LF is sent with
/// CRLF for each, and its size counts them so. Before, the bare CR was left out of the
/// count and RETR sent one octet more than LIST said.
#[tokio::test]
async fn sizes_are_those_of_the_message_as_sent() {
    let store = Arc::new(MemoryStore::new());
    let alice = AccountName::try_from("alice").unwrap();
    store.create_account(&alice).await.unwrap();
    let message = b"Subject: bare\r\n\r\nline a\rline b\nline c\r\n.dot\r\n";
    let mut data = Upload::from_bytes(message.to_vec());
    data.keep_line_ends();
    let delivered = store
        .deliver(data, &[Recipient::inbox(alice.clone())])
        .await;
    assert!(delivered.iter().all(Result::is_ok), "{delivered:?}");
    let addr = start(store.clone()).await;
    let mut c = BufReader::new(TcpStream::connect(addr).await.unwrap());
    assert!(line(&mut c).await.starts_with("+OK"));
    assert!(send(&mut c, "USER alice").await.starts_with("+OK"));
    assert!(send(&mut c, "PASS secret").await.starts_with("+OK"));
    let listed = send(&mut c, "LIST 1").await;
    let size: usize = listed
        .strip_prefix("+OK 1 ")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(send(&mut c, "RETR 1").await.starts_with("+OK"));
    let mut sent = Vec::new();
    loop {
        let l = line(&mut c).await;
        if l == "." {
            break;
        }
        // Byte-stuffing is not part of the size.
        let l = l.strip_prefix('.').unwrap_or(&l);
        sent.extend_from_slice(l.as_bytes());
        sent.extend_from_slice(b"\r\n");
    }
    assert_eq!(
        sent,
        b"Subject: bare\r\n\r\nline a\r\nline b\r\nline c\r\n.dot\r\n".to_vec()
    );
    assert_eq!(
        size,
        sent.len(),
        "LIST says {size}, RETR sent {}",
        sent.len()
    );
    let stat = send(&mut c, "STAT").await;
    assert_eq!(stat, format!("+OK 1 {size}"));
}
