//! The client's configuration, the envelope it sends, its events and errors.

#[cfg(doc)]
use super::Client;
use std::time::Duration;

use crate::{
    DecodeError,
    codec::ReplyLimits,
    session::config::Protocol,
    types::{
        address::{DomainPart, ForwardPath, ReversePath},
        capability::EhloReply,
        params::{MailParams, RcptParams},
        reply::Reply,
        sasl::Credentials,
    },
};

pub use sansmail_core::TlsPolicy;

/// A client session's configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The name given in EHLO/HELO/LHLO.
    pub hello_name: DomainPart<'static>,
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// STARTTLS policy.
    pub starttls: TlsPolicy,
    /// The connection is TLS from the start (implicit TLS).
    pub implicit_tls: bool,
    /// Credentials for AUTH (PLAIN preferred, then LOGIN). AUTH is required when set.
    pub credentials: Option<Credentials>,
    /// Pipeline MAIL/RCPT/DATA when the server offers PIPELINING.
    pub pipelining: bool,
    /// Use BDAT when the server offers CHUNKING (and PIPELINING).
    pub chunking: bool,
    /// Limits on the replies accepted; [`ClientConfig::new`] accepts any text in them
    /// ([`ReplyLimits::any_text`]).
    pub reply_limits: ReplyLimits,
    /// How long to wait for a reply (RFC 5321 §4.5.3.2: 5 minutes for most commands).
    pub reply_timeout: Duration,
    /// How long to wait for the reply after the message data (RFC 5321 §4.5.3.2.6: 10 minutes).
    pub data_end_timeout: Duration,
    /// Message lines longer than this (octets, without the CRLF) are broken by inserting
    /// CRLF and a space, as Postfix's `smtp_line_length_limit` does: RFC 5321 §4.5.3.1.6
    /// allows 998, and a receiver may refuse longer lines. Breaking a line changes the
    /// message: a DKIM signature over it no longer verifies, so send signed mail with
    /// `None` (the server's outbound queue does). `None` sends lines as they are;
    /// BINARYMIME data is never broken. [`ClientConfig::new`]: 998.
    pub max_line: Option<usize>,
}

impl ClientConfig {
    /// Defaults for a client that introduces itself as `hello_name`.
    pub fn new(hello_name: DomainPart<'static>) -> Self {
        Self {
            hello_name,
            protocol: Protocol::Smtp,
            starttls: TlsPolicy::Opportunistic,
            implicit_tls: false,
            credentials: None,
            pipelining: true,
            chunking: true,
            reply_limits: ReplyLimits {
                any_text: true,
                ..ReplyLimits::default()
            },
            reply_timeout: Duration::from_secs(5 * 60),
            data_end_timeout: Duration::from_secs(10 * 60),
            max_line: Some(998),
        }
    }
}

/// One transaction: a sender and its recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender.
    pub from: ReversePath<'static>,
    /// MAIL parameters. SIZE and the DSN parameters are dropped when the server does not
    /// offer the extension; SMTPUTF8 is added when an address needs it; a BODY or SMTPUTF8
    /// the server does not offer fails the transaction ([`ClientError::NotOffered`]).
    pub params: MailParams<'static>,
    /// The recipients and their parameters.
    pub recipients: Vec<(ForwardPath<'static>, RcptParams<'static>)>,
}

impl Envelope {
    /// An envelope from `from` to `recipients`, without parameters.
    pub fn new(
        from: ReversePath<'static>,
        recipients: impl IntoIterator<Item = ForwardPath<'static>>,
    ) -> Self {
        Self {
            from,
            params: MailParams::default(),
            recipients: recipients
                .into_iter()
                .map(|to| (to, RcptParams::default()))
                .collect(),
        }
    }
}

/// Which step a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The server's greeting.
    Greeting,
    /// EHLO, HELO or LHLO.
    Hello,
    /// STARTTLS.
    StartTls,
    /// AUTH.
    Auth,
    /// MAIL FROM.
    Mail,
    /// RCPT TO (a `421` there: the server closed while the recipients were given).
    Rcpt,
    /// DATA or BDAT.
    Data,
    /// The reply after the message data.
    Message,
}

/// Why the session or a transaction failed. Server replies are kept whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused a step.
    #[error("server refused {stage:?}: {reply}")]
    Rejected {
        /// The step.
        stage: Stage,
        /// The server's reply.
        reply: Reply<'static>,
    },
    /// Every recipient was refused; the replies are in the `Recipient` events.
    #[error("all recipients were refused")]
    NoValidRecipients,
    /// TLS is required (by the policy, or by credentials under
    /// [`TlsPolicy::Opportunistic`]) but the server does not offer STARTTLS or refused it.
    #[error("the server does not offer STARTTLS")]
    TlsNotOffered,
    /// Credentials are set but the server offers neither PLAIN nor LOGIN.
    #[error("the server offers no usable AUTH mechanism")]
    AuthNotOffered,
    /// The message is larger than the server's SIZE limit.
    #[error("message of {size} octets exceeds the server's limit of {limit}")]
    TooLarge {
        /// The declared size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The message needs an extension the server does not offer: `8BITMIME` for
    /// `BODY=8BITMIME` (RFC 6152 §3), `BINARYMIME` with `CHUNKING` for `BODY=BINARYMIME`
    /// (RFC 3030 §3), `SMTPUTF8` for addresses beyond ASCII (RFC 6531 §3.4). Nothing was
    /// sent for it.
    #[error("the message needs {0}, which the server does not offer")]
    NotOffered(&'static str),
    /// The server sent something that is not a valid reply.
    #[error("invalid reply: {0}")]
    Protocol(DecodeError),
    /// The server sent a reply nobody asked for, or one out of place.
    #[error("unexpected reply: {0}")]
    Unexpected(Reply<'static>),
    /// No reply in time.
    #[error("timed out waiting for the server")]
    Timeout,
}

/// What happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's EHLO reply (after TLS, the second one).
    Capabilities(EhloReply<'static>),
    /// STARTTLS was accepted: run the TLS handshake now, then call
    /// [`Client::tls_established`].
    StartTls,
    /// AUTH succeeded.
    Authenticated,
    /// The session is ready for [`Client::send_mail`] or [`Client::quit`].
    Ready,
    /// The server's answer to one recipient, by index into the envelope.
    Recipient {
        /// Index into [`Envelope::recipients`].
        index: usize,
        /// The reply.
        reply: Reply<'static>,
    },
    /// The server waits for the message: call [`Client::send_data`], then
    /// [`Client::end_data`].
    SendData,
    /// The whole message was transferred and the server gave its verdict: in SMTP one reply;
    /// in LMTP one per accepted recipient, in envelope order (the indices are those of the
    /// accepted recipients). A verdict may be negative (a `5xx` after DATA's dot or BDAT
    /// LAST): check each reply's code. Refusals before the message was complete (MAIL, every
    /// RCPT, DATA itself, an earlier BDAT chunk) are [`Event::TransactionFailed`] instead.
    /// When an LMTP session fails after some of its final replies, `Sent` comes with
    /// those, the recipients not yet answered given a `421 4.4.2` (their delivery is
    /// unknown: send to them again), and [`Event::Failed`] follows.
    Sent {
        /// The final replies with the recipient index they answer (SMTP: the first
        /// accepted one).
        replies: Vec<(usize, Reply<'static>)>,
    },
    /// The transaction failed; the session is ready for another (`Ready` follows).
    TransactionFailed(ClientError),
    /// The session failed and is closed.
    Failed(ClientError),
    /// QUIT was answered; close the connection.
    Closed,
}
