//! `mailctl send`: one message over SMTP or submission.

use std::io;

use sansmail_smtp::{
    DomainPart, ForwardPath, MailParams, Mailbox, RcptParams, ReversePath,
    session::client::{ClientConfig, Envelope, TlsPolicy},
    tokio::client::SmtpClient,
    types::sasl::Credentials,
};

use super::{Endpoint, Security, fail};
use crate::tls::TlsConnector;

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
    config.credentials = ep
        .login
        .as_ref()
        .map(|(user, password)| Credentials::new(user, password));
    // A signed message goes as it is: breaking its long lines would break the signature.
    if sansmail_server::mailauth::is_dkim_signed(&message.content) {
        config.max_line = None;
    }
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

    let tls = match ep.security {
        Security::None => None,
        Security::StartTls | Security::Implicit => Some(TlsConnector::new(&ep.verify)?),
    };
    config.reply_timeout = ep.timeout;
    let mut client = SmtpClient::connect(&ep.host, ep.port, config, tls)
        .await
        .map_err(|e| fail(format!("{}:{}: {e}", ep.host, ep.port)))?;
    let sent = client
        .send(&envelope, &message.content)
        .await
        .map_err(|e| fail(format!("{e}")))?;
    let outcome = Outcome {
        refused: message
            .to
            .iter()
            .zip(&sent.recipients)
            .filter(|(_, r)| !r.code().is_positive())
            .map(|(to, r)| (to.clone(), r.to_string()))
            .collect(),
        reply: {
            // SMTP's one verdict covers every accepted recipient; LMTP gives each its own.
            let mut replies: Vec<String> = sent
                .recipients
                .iter()
                .filter(|r| r.code().is_positive())
                .map(|r| r.to_string().trim_end().to_owned())
                .collect();
            replies.dedup();
            replies.join("; ")
        },
    };
    client.quit().await.map_err(|e| fail(format!("{e}")))?;
    if sent.accepted() == 0 {
        return Err(fail(format!(
            "message refused: {}",
            sent.recipients
                .first()
                .map(|r| r.to_string().trim_end().to_owned())
                .unwrap_or_default()
        )));
    }
    Ok(outcome)
}
