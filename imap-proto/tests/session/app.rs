//! The application used by the session tests: a small in-memory INBOX.

use sansmail_imap::{
    session::server::{Event, Server},
    types::{
        command::CommandBody,
        fetch::FetchItem,
        flag::Flag,
        response::{Data, StatusKind},
        response_code::ResponseCode,
    },
};

/// A mailbox of (uid, flags, body) the application serves.
pub struct App {
    pub messages: Vec<(u32, Vec<Flag<'static>>, Vec<u8>)>,
    pub events: Vec<String>,
    pub appended: Vec<Vec<u8>>,
    pub accept_literals: bool,
}

impl App {
    pub fn new() -> Self {
        Self {
            messages: vec![
                (10, vec![], b"Subject: one\r\n\r\nfirst\r\n".to_vec()),
                (
                    20,
                    vec![Flag::Seen],
                    b"Subject: two\r\n\r\nsecond\r\n".to_vec(),
                ),
                (30, vec![], b"Subject: three\r\n\r\nthird\r\n".to_vec()),
            ],
            events: Vec::new(),
            appended: Vec::new(),
            accept_literals: true,
        }
    }

    pub fn handle(&mut self, server: &mut Server) {
        while let Some(event) = server.poll_event() {
            self.events.push(format!("{event:?}"));
            match event {
                Event::LiteralAnnounced { .. } => {
                    if self.accept_literals {
                        server.accept_literal().unwrap();
                    } else {
                        server
                            .reject_literal(Some(ResponseCode::TooBig), "No literals today")
                            .unwrap();
                    }
                }
                Event::Login { credentials } => {
                    if credentials.authcid == "alice" && credentials.password.expose() == "secret" {
                        server.accept().unwrap();
                    } else {
                        server
                            .reject(
                                Some(ResponseCode::AuthenticationFailed),
                                "Invalid credentials",
                            )
                            .unwrap();
                    }
                }
                Event::Idle => server.accept().unwrap(),
                Event::Command(cmd) => {
                    let body = cmd.body.into_owned();
                    self.command(server, &body);
                }
                _ => {}
            }
        }
    }

    fn command(&mut self, server: &mut Server, body: &CommandBody<'static>) {
        match body {
            CommandBody::Select { mailbox, .. } | CommandBody::Examine { mailbox, .. } => {
                if mailbox.is_inbox() {
                    server.send_data(Data::Flags(vec![Flag::Seen, Flag::Deleted]));
                    server.send_data(Data::Exists(u32::try_from(self.messages.len()).unwrap()));
                    server
                        .select(self.messages.iter().map(|m| m.0).collect())
                        .unwrap();
                    server
                        .complete(
                            StatusKind::Ok,
                            Some(ResponseCode::ReadWrite),
                            "SELECT completed",
                        )
                        .unwrap();
                } else {
                    server
                        .complete(
                            StatusKind::No,
                            Some(ResponseCode::NonExistent),
                            "No such mailbox",
                        )
                        .unwrap();
                }
            }
            CommandBody::Fetch { uid, set, .. } => {
                let view = server.view().unwrap();
                let hits = view.resolve(set, *uid, &[]);
                for (seq, u) in hits {
                    let (_, flags, _) = self.messages.iter().find(|m| m.0 == u).unwrap();
                    server.send_data(Data::Fetch {
                        seq,
                        items: vec![FetchItem::Uid(u), FetchItem::Flags(flags.clone())],
                    });
                }
                server
                    .complete(StatusKind::Ok, None, "FETCH completed")
                    .unwrap();
            }
            CommandBody::Append { messages, .. } => {
                for m in messages {
                    self.appended
                        .push(m.data.data().unwrap_or_default().to_vec());
                }
                server
                    .complete(StatusKind::Ok, None, "APPEND completed")
                    .unwrap();
            }
            _ => server.complete(StatusKind::Ok, None, "done").unwrap(),
        }
    }
}
