//! No input panics a session, and the server's buffer stays bounded: arbitrary sequences of
//! POP3 fragments (and raw bytes), in arbitrary chunks, into a `Server` whose application
//! answers every decision one way or the other, and into a `Client`.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sansmail_pop3::{
    Credentials, Mechanism, MessageNumber, Uid,
    session::{
        Maildrop, ServerConfig,
        client::{Client, ClientConfig},
        responses,
        server::{Event, Server},
    },
};

const CLIENT_FRAGMENTS: &[&[u8]] = &[
    b"USER alice\r\n",
    b"PASS secret\r\n",
    b"APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n",
    b"AUTH\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH X-TEST =\r\n",
    b"*\r\n",
    b"dGVzdA==\r\n",
    b"STAT\r\n",
    b"LIST\r\n",
    b"LIST 1\r\n",
    b"UIDL\r\n",
    b"UIDL 2\r\n",
    b"RETR 1\r\n",
    b"RETR 2\r\n",
    b"TOP 2 1\r\n",
    b"DELE 1\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"CAPA\r\n",
    b"STLS\r\n",
    b"UTF8\r\n",
    b"LANG\r\n",
    b"LANG en\r\n",
    b"QUIT\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b".",
    b" ",
    b"XYZ 1 2 3\r\n",
    b"\xff\xfe",
];

const SERVER_FRAGMENTS: &[&[u8]] = &[
    b"+OK hi <1.2@x>\r\n",
    b"+OK\r\n",
    b"-ERR no\r\n",
    b"-ERR [IN-USE] x\r\n",
    b"+ \r\n",
    b"+ dGVzdA==\r\n",
    b".\r\n",
    b"..x\r\n",
    b"TOP\r\n",
    b"SASL PLAIN\r\n",
    b"PIPELINING\r\n",
    b"STLS\r\n",
    b"1 10\r\n",
    b"1 abc\r\n",
    b"+OK 2 30\r\n",
];

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(CLIENT_FRAGMENTS).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => (1usize..600).prop_map(|n| vec![b'A'; n]),
    ]
}

fn server_config() -> ServerConfig {
    let mut c = ServerConfig::new("pop.test");
    c.auth_requires_tls = false;
    c.starttls = true;
    c.utf8 = true;
    c.apop_timestamp = Some("<1.2@pop.test>".to_owned());
    c.sasl.push(Mechanism::new("X-TEST").unwrap());
    c.languages = vec![sansmail_pop3::Language::new("en", "English").unwrap()];
    c.limits.max_errors = 1000;
    c.limits.max_auth_failures = 1000;
    c
}

/// Answers every pending decision, choosing by `yes`.
fn answer(server: &mut Server, mut yes: impl FnMut() -> bool) {
    loop {
        let (login, content, top) = match server.poll_event() {
            None => return,
            Some(Event::Login { .. } | Event::Apop { .. }) => (true, false, false),
            Some(Event::AuthExchange { .. }) => {
                if yes() {
                    server.auth_challenge(b"again").unwrap();
                    continue;
                }
                (true, false, false)
            }
            Some(Event::Retrieve { top, .. }) => (false, true, top.is_some()),
            Some(Event::Commit { .. }) => {
                if yes() {
                    server.accept().unwrap();
                } else {
                    server.reject(&responses::commit_failed()).unwrap();
                }
                continue;
            }
            Some(Event::StartTls) => {
                server.tls_established().unwrap();
                continue;
            }
            Some(_) => continue,
        };
        if login {
            if yes() {
                let mut m = Maildrop::new();
                m.push(10, Uid::new("a").unwrap());
                m.push(20, Uid::new("b").unwrap());
                server.accept_login(m).unwrap();
            } else {
                server.reject(&responses::in_use()).unwrap();
            }
        } else if content {
            if yes() {
                let more = server.message_data(b"H: x\n\n.a\r\nb\rc").unwrap();
                assert!(more || top);
                server.message_end().unwrap();
            } else {
                server.reject(&responses::message_unavailable()).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_server_survives_anything(
        fragments in proptest::collection::vec(fragment(), 0..40),
        cuts in proptest::collection::vec(1usize..50, 1..10),
        choices in proptest::collection::vec(any::<bool>(), 64),
    ) {
        let stream: Vec<u8> = fragments.concat();
        let now = Instant::now();
        let mut server = Server::new(server_config(), now);
        let mut choice = choices.iter().copied().cycle();
        let mut out = Vec::new();
        let mut rest = &stream[..];
        let mut cut = cuts.iter().copied().cycle();
        while !rest.is_empty() {
            let n = cut.next().unwrap_or(1).min(rest.len());
            server.handle_input(now, &rest[..n]);
            rest = &rest[n..];
            answer(&mut server, || choice.next().unwrap_or(true));
            // Nothing is left undecided, and what is buffered is at most one partial line.
            prop_assert!(server.buffered_len() <= 12 * 1024, "{}", server.buffered_len());
            server.poll_transmit(&mut out);
        }
        server.handle_timeout(now + Duration::from_secs(3600));
        server.handle_timeout(now + Duration::from_secs(7200));
        server.poll_transmit(&mut out);
        prop_assert!(server.is_closed());
        // Every response line the session wrote itself fits the 512-octet limit (message
        // content aside, which is short here).
        for line in out.split(|&b| b == b'\n') {
            prop_assert!(line.len() < 512);
        }
    }

    #[test]
    fn the_client_survives_anything(
        fragments in proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(SERVER_FRAGMENTS).prop_map(<[u8]>::to_vec),
                1 => proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..40,
        ),
        cut in 1usize..30,
    ) {
        let now = Instant::now();
        let mut config = ClientConfig::new(Some(Credentials::new("alice", "secret")));
        config.limits.max_response_size = 4096;
        let mut client = Client::new(config, now);
        let stream: Vec<u8> = fragments.concat();
        let msg = MessageNumber::new(1).unwrap();
        for chunk in stream.chunks(cut) {
            client.handle_input(now, chunk);
            while let Some(e) = client.poll_event() {
                if matches!(e, sansmail_pop3::session::client::Event::Ready) {
                    client.stat().unwrap();
                    client.list(None).unwrap();
                    client.retr(msg).unwrap();
                    client.uidl(Some(msg)).unwrap();
                } else if matches!(e, sansmail_pop3::session::client::Event::StartTls) {
                    client.tls_established().unwrap();
                }
            }
            let mut out = Vec::new();
            client.poll_transmit(&mut out);
        }
        client.handle_timeout(now + Duration::from_secs(3600));
        client.handle_timeout(now + Duration::from_secs(7200));
    }
}
