//! Change events across nodes: `NOTIFY` inside each transaction, one `LISTEN` connection per
//! store feeding its [`ChangeHub`](crate::ChangeHub).
//!
//! A payload is `{"a": account, "e": ChangeEvent}` in JSON. PostgreSQL delivers the
//! notifications of a transaction when it commits, in commit order, to every listening
//! connection (this node's included), so a session on any node hears of every change once
//! it is durable. A payload is at most 8000 bytes: an event about many messages is split
//! into several of the same kind ([`payloads`]), which a session takes as several changes.
//!
//! When the `LISTEN` connection drops (the database restarted, the network broke),
//! notifications sent meanwhile are lost: the task reconnects with a growing pause and,
//! once it listens again, tells every subscriber it lagged
//! ([`ChangeHub::lag_all`](crate::ChangeHub::lag_all)), so each resynchronises with
//! [`changes_since`](crate::MailStore::changes_since).

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use super::{Inner, db::DbError, quote_ident};
use crate::{
    error::Result,
    notify::{ChangeEvent, ChangeKind},
    types::AccountName,
};

/// The largest payload sent (PostgreSQL's limit is 8000 bytes).
pub const MAX_PAYLOAD: usize = 7900;

#[derive(Serialize, Deserialize)]
struct Payload {
    a: String,
    e: ChangeEvent,
}

/// The `NOTIFY` payloads that carry `event` for `account`, each at most [`MAX_PAYLOAD`]
/// bytes (an event about many messages becomes several events of the same kind).
pub fn payloads(account: &AccountName, event: ChangeEvent) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![event];
    while let Some(event) = todo.pop() {
        let p = Payload {
            a: account.as_str().to_owned(),
            e: event,
        };
        let Ok(json) = serde_json::to_string(&p) else {
            continue;
        };
        if json.len() <= MAX_PAYLOAD {
            out.push(json);
            continue;
        }
        let ChangeEvent {
            mailbox,
            origin,
            kind,
        } = p.e;
        let halves = match kind {
            ChangeKind::Appended { mut messages } if messages.len() > 1 => {
                let rest = messages.split_off(messages.len() / 2);
                [
                    ChangeKind::Appended { messages },
                    ChangeKind::Appended { messages: rest },
                ]
            }
            ChangeKind::FlagsChanged(mut v) if v.len() > 1 => {
                let rest = v.split_off(v.len() / 2);
                [ChangeKind::FlagsChanged(v), ChangeKind::FlagsChanged(rest)]
            }
            ChangeKind::Expunged { mut uids, modseq } if uids.len() > 1 => {
                let rest = uids.split_off(uids.len() / 2);
                [
                    ChangeKind::Expunged { uids, modseq },
                    ChangeKind::Expunged { uids: rest, modseq },
                ]
            }
            // One message with 200 keywords of 200 bytes: too large to tell; the
            // subscribers resynchronise instead.
            _ => [ChangeKind::Lagged, ChangeKind::Lagged],
        };
        let [a, b] = halves;
        if a == ChangeKind::Lagged {
            out.push(
                serde_json::to_string(&Payload {
                    a: account.as_str().to_owned(),
                    e: ChangeEvent {
                        mailbox,
                        origin,
                        kind: ChangeKind::Lagged,
                    },
                })
                .unwrap_or_default(),
            );
            continue;
        }
        // Popped last-in first-out: push the second half first to keep the order.
        todo.push(ChangeEvent {
            mailbox: mailbox.clone(),
            origin,
            kind: b,
        });
        todo.push(ChangeEvent {
            mailbox,
            origin,
            kind: a,
        });
    }
    out.retain(|p| !p.is_empty());
    out
}

/// Decodes a payload; `None` for one that is not ours.
fn decode(payload: &str) -> Option<(AccountName, ChangeEvent)> {
    let p: Payload = serde_json::from_str(payload).ok()?;
    Some((AccountName::try_from(p.a.as_str()).ok()?, p.e))
}

/// Connects and listens; `Ok` once `LISTEN` is in effect, so a change committed after
/// [`PostgresStore::open`](super::PostgresStore::open) returned is heard. The task then
/// runs until the store's runtime stops.
pub(crate) async fn start(config: Config, inner: Arc<Inner>) -> Result<()> {
    let rx = connect(&config, &inner.channel)
        .await
        .map_err(DbError::into_store)?;
    tokio::spawn(run(config, inner, rx));
    Ok(())
}

/// One listening connection: the notifications it receives, until it ends.
struct Listening {
    notes: mpsc::UnboundedReceiver<String>,
    _client: tokio_postgres::Client,
}

async fn connect(config: &Config, channel: &str) -> Result<Listening, DbError> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, notes) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = msg
                && tx.send(n.payload().to_owned()).is_err()
            {
                break;
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {}", quote_ident(channel)))
        .await?;
    Ok(Listening {
        notes,
        _client: client,
    })
}

async fn run(config: Config, inner: Arc<Inner>, first: Listening) {
    let mut listening = first;
    loop {
        while let Some(payload) = listening.notes.recv().await {
            if let Some((account, event)) = decode(&payload) {
                inner.hub.publish(&account, &event);
            }
        }
        // The connection ended: whatever was sent until we listen again is lost.
        inner.hub.lag_all();
        let mut pause = Duration::from_millis(50);
        listening = loop {
            tokio::time::sleep(pause).await;
            match connect(&config, &inner.channel).await {
                Ok(l) => break l,
                Err(_) => pause = (pause * 2).min(Duration::from_secs(2)),
            }
        };
        inner.hub.lag_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::MessageFlags,
        types::{Flags, ModSeq, SessionId, Uid},
    };

    #[test]
    fn large_events_are_split_in_order() {
        let account = AccountName::try_from("alice").unwrap();
        let messages: Vec<MessageFlags> = (1..=2000)
            .map(|u| MessageFlags {
                uid: Uid::new(u).unwrap(),
                flags: Flags::new(),
                modseq: ModSeq::new(7).unwrap(),
            })
            .collect();
        let origin = SessionId::new();
        let event = ChangeEvent {
            mailbox: "INBOX".into(),
            origin,
            kind: ChangeKind::Appended {
                messages: messages.clone(),
            },
        };
        let out = payloads(&account, event);
        assert!(out.len() > 1);
        let mut back = Vec::new();
        for p in &out {
            assert!(p.len() <= MAX_PAYLOAD);
            let (a, e) = decode(p).unwrap();
            assert_eq!((a.as_str(), e.origin), ("alice", origin));
            let ChangeKind::Appended { messages } = e.kind else {
                panic!()
            };
            back.extend(messages);
        }
        assert_eq!(back, messages);
        assert!(decode("not json").is_none());
    }
}
