//! `mailctl send`: one message over SMTP or submission.

use std::{io, time::Instant};

use smtp_proto::{
    DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, ReversePath,
    session::client::{Client, ClientConfig, Envelope, Event, TlsPolicy},
    types::sasl::{Credentials, Secret},
};

use super::{Conn, Endpoint, Security, fail};

/// What to send.
#[derive(Debug, Clone)]
pub struct Message {
    /// The envelope sender (`""` for the null path).
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The name given in EHLO.
    pub hello: String,
    /// The message, as it is to be delivered.
    pub content: Vec<u8>,
}

/// How the server answered each recipient and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The recipients refused at RCPT, with the reply.
    pub refused: Vec<(String, String)>,
    /// The final reply to the message.
    pub reply: String,
}

fn mailbox(address: &str) -> io::Result<Mailbox<'static>> {
    Mailbox::try_from(address)
        .map(Mailbox::into_owned)
        .map_err(|e| fail(format!("{address}: {e}")))
}

/// Sends `message`; `Ok` once the server accepted it for at least one recipient.
pub async fn send(ep: &Endpoint, message: &Message) -> io::Result<Outcome> {
    let hello = DomainPart::try_from(message.hello.as_str())
        .map(DomainPart::into_owned)
        .map_err(|e| fail(format!("--hello {}: {e}", message.hello)))?;
    let mut config = ClientConfig::new(hello);
    config.starttls = match ep.security {
        Security::StartTls => TlsPolicy::Required,
        Security::None | Security::Implicit => TlsPolicy::Never,
    };
    config.implicit_tls = ep.security == Security::Implicit;
    config.credentials = ep.login.as_ref().map(|(user, password)| Credentials {
        authzid: None,
        authcid: user.clone(),
        password: Secret::new(password.clone()),
    });
    let from = if message.from.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::Mailbox(mailbox(&message.from)?)
    };
    let mut recipients = Vec::new();
    for to in &message.to {
        recipients.push((ForwardPath::Mailbox(mailbox(to)?), RcptParams::default()));
    }
    if recipients.is_empty() {
        return Err(fail("no recipient (--to)"));
    }
    let envelope = Envelope {
        from,
        params: MailParams::default(),
        recipients,
    };

    let mut conn = Conn::open(ep).await?;
    let mut client = Client::new(config, Instant::now());
    let mut out = Vec::new();
    let mut sent = false;
    let mut outcome = Outcome {
        refused: Vec::new(),
        reply: String::new(),
    };
    let mut result: Option<io::Result<()>> = None;
    loop {
        let mut starttls = false;
        while let Some(event) = client.poll_event() {
            match event {
                Event::StartTls => starttls = true,
                Event::Ready if !sent => {
                    sent = true;
                    client.send_mail(&envelope).map_err(io::Error::other)?;
                }
                Event::Ready => client.quit().map_err(io::Error::other)?,
                Event::Recipient { index, reply } if !reply.code().is_positive() => {
                    outcome
                        .refused
                        .push((message.to[index].clone(), reply.to_string()));
                }
                Event::SendData => {
                    client
                        .send_data(&message.content)
                        .map_err(io::Error::other)?;
                    client.end_data().map_err(io::Error::other)?;
                }
                Event::Sent { replies } => {
                    let accepted = replies.iter().any(|(_, r)| r.code().is_positive());
                    outcome.reply = replies
                        .iter()
                        .map(|(_, r)| r.to_string().trim_end().to_owned())
                        .collect::<Vec<_>>()
                        .join("; ");
                    result = Some(if accepted {
                        Ok(())
                    } else {
                        Err(fail(format!("message refused: {}", outcome.reply)))
                    });
                }
                Event::TransactionFailed(e) => {
                    result = Some(Err(fail(format!("{e}"))));
                }
                Event::Failed(e) => {
                    conn.close().await;
                    return Err(fail(format!("{e}")));
                }
                _ => {}
            }
        }
        client.poll_transmit(&mut out);
        conn.write(&mut out).await?;
        if client.is_closed() {
            break;
        }
        if starttls {
            conn.start_tls().await?;
            client.tls_established().map_err(io::Error::other)?;
            continue;
        }
        match conn.read(client.poll_timeout()).await? {
            None => client.handle_timeout(Instant::now()),
            Some([]) => break,
            Some(data) => client.handle_input(Instant::now(), data),
        }
    }
    conn.close().await;
    match result {
        Some(Ok(())) => Ok(outcome),
        Some(Err(e)) => Err(e),
        None => Err(fail(
            "the server closed the connection before the message was sent",
        )),
    }
}
