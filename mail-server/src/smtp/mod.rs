//! SMTP, submission and LMTP into a store: `sansmail_smtp`'s server driver, with each accepted
//! message delivered through [`MailStore::deliver`] (one result per recipient, every copy
//! durable before its `250`). No protocol rule lives here; this module only answers the
//! session's decisions.

use std::{borrow::Cow, io, net::SocketAddr, sync::Arc, time::SystemTime};

use sansmail_smtp::types::params::{Body, MailParams, Notify as SmtpNotify, RcptParams, Ret};

use sansmail_core::{CloseReason, tls::TlsAcceptor};
use sansmail_smtp::{
    ForwardPath, Mechanism, Reply, ReplyCode,
    codec::BareLineEndings,
    session::{
        Protocol, ServerConfig, replies,
        server::{Event, Server},
    },
    tokio::server::Connection,
    types::command::HelloKind,
    types::reply::EnhancedStatus,
};
use sansmail_store::{
    AccountName, Delivered, ExpungeScope, MailStore, Recipient, Session, StoreError, UidSet, Upload,
};

use crate::{
    Stream,
    auth::{Authenticator, Login, Refusal},
    listener::Gate,
    mailauth::{
        Client, Verifier,
        results::{is_own_result, without_fields},
    },
    metrics::Rejection,
    outbound::{
        Relay,
        queue::{BodyType, Notify, QueueEntry, QueuedRecipient, RecipientState, Return},
        schedule::MAX_HOPS,
    },
    plaintext_allowed,
    record::ConnectionRecord,
};

mod trace;

pub(crate) use trace::date_time;

/// Settings shared by every connection.
#[derive(Debug)]
pub struct SmtpService<S> {
    /// The session configuration. Per connection, STARTTLS is offered when `tls` is set and
    /// the connection is not TLS already, and AUTH needs TLS unless plaintext is allowed
    /// from this peer.
    pub config: ServerConfig,
    /// Password checks, the failed-login throttle (shared with the other listeners), and
    /// which recipients are local.
    pub auth: Arc<Authenticator>,
    /// Where messages go.
    pub store: Arc<S>,
    /// For STARTTLS; `None` offers no STARTTLS.
    pub tls: Option<TlsAcceptor>,
    /// AUTH without TLS from a loopback address.
    pub allow_plaintext_loopback: bool,
    /// Shutdown: a connection waiting for the client's next command closes with `421`.
    pub gate: Arc<Gate>,
    /// Relaying to other systems through the outbound queue; `None` (the default) refuses
    /// every recipient that is not local (`554 5.7.1`). Never in LMTP.
    pub relay: Option<Arc<Relay>>,
    /// SPF, DKIM and DMARC checks (port 25): each message from a client that neither logged
    /// in nor may relay gets an `Authentication-Results:` field, and a DMARC `p=reject`
    /// failure is refused (`550 5.7.1`). `None` (the default, and for submission and LMTP)
    /// checks nothing.
    pub verify: Option<Arc<Verifier>>,
}

impl<S: MailStore> SmtpService<S> {
    /// SMTP (port 25) or submission (`submission`: MAIL only after AUTH, RFC 6409), with
    /// AUTH PLAIN and LOGIN.
    pub fn new(
        hostname: &str,
        submission: bool,
        auth: Arc<Authenticator>,
        store: Arc<S>,
        gate: Arc<Gate>,
    ) -> Self {
        let mut config = ServerConfig::new(hostname);
        config.extensions.auth = vec![Mechanism::PLAIN, Mechanism::LOGIN];
        config.require_auth = submission;
        // Postfix 3.9's default (`smtpd_forbid_bare_newline = normalize`): stock clients
        // (Python's smtplib.sendmail with LF line ends) are served, lines end in CRLF in the
        // store, and still only CRLF.CRLF ends the data, so nothing can be smuggled.
        config.bare_line_endings = BareLineEndings::Normalize;
        Self {
            config,
            auth,
            store,
            tls: None,
            allow_plaintext_loopback: true,
            gate,
            relay: None,
            verify: None,
        }
    }
}

/// The state of the transaction the application keeps beside the session.
#[derive(Default)]
struct Transaction {
    /// The envelope sender, as written.
    reverse_path: String,
    /// The envelope sender's address (empty for `<>`).
    sender: String,
    /// The recipients as written, for the trace field.
    forward_paths: Vec<String>,
    recipients: Vec<Recipient>,
    /// The local recipients' addresses (LMTP's `Delivered-To:`), in step with `recipients`.
    addresses: Vec<String>,
    /// The store's copies being written: one for all recipients in SMTP, one per recipient
    /// in LMTP (each with its own `Delivered-To:`). A copy that could not be written is the
    /// error that refuses its recipients.
    copies: Vec<Result<Upload, StoreError>>,
    /// The MAIL parameters, for the queue.
    params: MailParams<'static>,
    /// Recipients elsewhere, for the outbound queue.
    remote: Vec<QueuedRecipient>,
    /// Local recipients that asked for a "delivered" DSN (`NOTIFY=SUCCESS`, RFC 3461
    /// §6.2): they go into the queue as delivered, whose runner sends the notice.
    notices: Vec<QueuedRecipient>,
    /// The queue's copy of the message (only with remote recipients).
    spool: Option<Upload>,
    /// Writing the message failed (why): it is refused at the end, nothing half-delivered.
    broken: Option<StoreError>,
    /// The client, as a DSN names it (`Received-From-MTA`).
    received_from: Option<String>,
    /// A message held back for verification: no copy is written before its checks are
    /// done, since their field goes above the message.
    held: Option<Held>,
    /// The start of a message not held back, kept until its header section is complete:
    /// `Authentication-Results:` fields that claim this server's name are taken out of it
    /// (RFC 8601 §5), on submission too, where a user could forge them for another.
    header: Option<Vec<u8>>,
    /// The header section was longer than the filter takes: the message is refused.
    header_too_large: bool,
    /// The message came with `MAX_HOPS` `Received:` fields or more: it loops, and is refused
    /// at the end of its data rather than bounced later.
    too_many_hops: bool,
    /// A submission (an authenticated client): the host name to complete the header with
    /// (`Date:` and `Message-ID:` if missing, RFC 6409 §8.3, §8.4).
    submission_host: Option<String>,
}

impl Transaction {
    /// Whether the message goes into the outbound queue too: for recipients elsewhere, or
    /// for a "delivered" notice.
    fn needs_queue(&self) -> bool {
        !self.remote.is_empty() || !self.notices.is_empty()
    }
}

/// A message being received for verification: the trace fields for its copies, and its
/// octets as the client sent them (spilling to the store's spool past a megabyte).
struct Held {
    fields: String,
    raw: Upload,
}

fn reply(code: ReplyCode, status: (u8, u16, u16), text: &str) -> Reply<'static> {
    let status = EnhancedStatus::new(status.0, status.1, status.2).ok();
    Reply::new(code, status, text.to_owned()).unwrap_or_else(|_| replies::ok())
}

/// Where `to` goes: a local recipient, one for the outbound queue (when `relay` allows), or
/// the reply refusing it.
fn recipient(
    auth: &Authenticator,
    relay: bool,
    to: &ForwardPath<'_>,
    params: &RcptParams<'_>,
    hostname: &str,
) -> Result<Result<Recipient, QueuedRecipient>, Reply<'static>> {
    // This host's postmaster is reachable by its name too, whatever domains the accounts
    // serve (RFC 5321 §4.5.1), as `Received: ... for <postmaster@hostname>` names it: it is
    // `<Postmaster>` to them.
    let host_postmaster = to.mailbox().is_some_and(|m| {
        m.local_part().is_postmaster()
            && m.domain()
                .domain()
                .is_some_and(|d| d.as_str().eq_ignore_ascii_case(hostname))
    });
    let asked = if host_postmaster {
        &ForwardPath::Postmaster
    } else {
        to
    };
    match auth.accounts.recipient(asked) {
        Ok(account) => Ok(Ok(Recipient::inbox(account))),
        Err(Refusal::NotLocal) if relay => match to.mailbox() {
            Some(m) => Ok(Err(queued(&m.to_string(), params))),
            None => Err(refusal(Refusal::NoSuchUser)),
        },
        Err(r) => Err(refusal(r)),
    }
}

/// A recipient for the queue, with its DSN parameters.
fn queued(address: &str, params: &RcptParams<'_>) -> QueuedRecipient {
    let mut r = QueuedRecipient::new(address);
    r.notify = params.notify.map(|n| match n {
        SmtpNotify::Never => Notify::NEVER,
        SmtpNotify::On {
            success,
            failure,
            delay,
        } => Notify {
            success,
            failure,
            delay,
        },
    });
    r.orcpt = params
        .orcpt
        .as_ref()
        .map(|o| format!("{};{}", o.addr_type, o.addr.as_encoded()));
    r
}

/// The reply refusing a recipient.
fn refusal(why: Refusal) -> Reply<'static> {
    match why {
        Refusal::AddressLiteral => reply(
            ReplyCode::MAILBOX_UNAVAILABLE,
            (5, 1, 2),
            "Address literals are not local here",
        ),
        Refusal::NotLocal => reply(
            ReplyCode::TRANSACTION_FAILED,
            (5, 7, 1),
            "Relay access denied",
        ),
        _ => reply(
            ReplyCode::MAILBOX_UNAVAILABLE,
            (5, 1, 1),
            "No such user here",
        ),
    }
}

/// Runs one connection (already TLS on an implicit-TLS port), writing the account and the
/// session's end into `record`.
pub async fn handle_connection<S: MailStore>(
    stream: Stream,
    record: Arc<ConnectionRecord>,
    service: Arc<SmtpService<S>>,
) -> io::Result<()> {
    let peer = record.peer();
    let mut config = service.config.clone();
    config.auth_requires_tls = !plaintext_allowed(service.allow_plaintext_loopback, peer);
    let lmtp = config.protocol == Protocol::Lmtp;
    let mut conn = Connection::new(stream, config, service.tls.clone());
    // Dropping an unfinished upload removes its spool file.
    let mut t = Transaction::default();
    let mut helo: Option<(String, bool)> = None;
    let mut account: Option<AccountName> = None;
    let mut was_tls = conn.transport().is_tls();
    loop {
        let event = tokio::select! {
            event = conn.next_event() => event?,
            // Between commands (or mid-message, which the client will send again): nothing
            // is half-delivered.
            () = service.gate.shutting_down() => {
                let (commands, tls) = (conn.session().commands(), conn.transport().tls_version());
                record.session_state(commands, tls, Some(&CloseReason::Shutdown));
                conn.shutdown().await;
                return Ok(());
            }
        };
        let server = conn.session();
        let (commands, close) = (server.commands(), server.close_reason());
        record.session_state(commands, conn.transport().tls_version(), close);
        let Some(event) = event else { return Ok(()) };
        let tls = conn.transport().is_tls();
        if tls && !was_tls {
            // After STARTTLS, what the client said in plaintext is forgotten (RFC 3207
            // §4.2), a login included: the session resets its own state, and so does this.
            helo = None;
            account = None;
            t = Transaction::default();
        }
        was_tls = tls;
        let server = conn.session_mut();
        match event {
            Event::Hello { kind, host } => {
                helo = Some((host.to_string(), kind != HelloKind::Helo));
            }
            Event::Mail { from, params } => {
                t = Transaction::default();
                match account.as_ref() {
                    Some(a) if !service.auth.accounts.may_send_as(a, &from) => {
                        tracing::warn!(%peer, account = %a, sender = %from, "smtp: sender refused");
                        record.rejected(Rejection::SenderNotOwned);
                        reject(server, &not_owned(a))?;
                    }
                    _ => {
                        t.reverse_path = from.to_string();
                        t.sender = from.mailbox().map(ToString::to_string).unwrap_or_default();
                        t.params = params;
                        accept(server)?;
                    }
                }
            }
            Event::Rcpt { to, params } => {
                let relay = !lmtp
                    && service
                        .relay
                        .as_ref()
                        .is_some_and(|r| r.allows(peer.ip(), account.is_some()));
                let found =
                    match recipient(&service.auth, relay, &to, &params, &service.config.hostname) {
                        Ok(Ok(local)) => {
                            match over_quota(&*service.store, &local, t.params.size).await {
                                Some(e) => Err(failure(&e)),
                                None => Ok(Ok(local)),
                            }
                        }
                        other => other,
                    };
                match found {
                    Ok(r) => {
                        match r {
                            // A mailbox named twice in one SMTP transaction (or by two
                            // of its addresses) gets one copy, as Postfix's duplicate
                            // filter gives; LMTP answers each recipient on its own.
                            Ok(local) if !lmtp && t.recipients.contains(&local) => {}
                            Ok(local) => {
                                t.recipients.push(local);
                                let address =
                                    to.mailbox().map(ToString::to_string).unwrap_or_default();
                                let success = matches!(
                                    params.notify,
                                    Some(SmtpNotify::On { success: true, .. })
                                );
                                // The notice is sent through the queue, for the clients
                                // that may relay (our users, our hosts): from anyone else
                                // it would mail the message to whatever sender was given, a
                                // reflector for spam. LMTP leaves DSNs to its client.
                                if success && relay && !t.sender.is_empty() {
                                    let mut r = queued(&address, &params);
                                    r.state = RecipientState::Delivered;
                                    r.status = Some("2.0.0".to_owned());
                                    t.notices.push(r);
                                }
                                t.addresses.push(address);
                            }
                            Err(remote) => {
                                if !t
                                    .remote
                                    .iter()
                                    .any(|r| same_address(&r.address, &remote.address))
                                {
                                    t.remote.push(remote);
                                }
                            }
                        }
                        // `For` takes a Path (RFC 5321 §4.4): `<Postmaster>` is this
                        // host's postmaster.
                        t.forward_paths.push(match &to {
                            ForwardPath::Postmaster => {
                                format!("<postmaster@{}>", service.config.hostname)
                            }
                            ForwardPath::Mailbox(_) => to.to_string(),
                        });
                        accept(server)?;
                    }
                    Err(r) => {
                        record.rejected(rejection(&r));
                        reject(server, &r)?;
                    }
                }
            }
            Event::DataStart => {
                let (helo_name, extended) = helo
                    .as_ref()
                    .map_or((None, true), |(h, e)| (Some(h.as_str()), *e));
                let fields = trace::Trace {
                    helo: helo_name,
                    peer: peer.ip(),
                    hostname: &service.config.hostname,
                    protocol: trace::Protocol {
                        lmtp,
                        extended,
                        tls,
                        authenticated: account.is_some(),
                        smtputf8: t.params.smtputf8,
                    },
                    reverse_path: &t.reverse_path,
                    for_recipient: match t.forward_paths.as_slice() {
                        [one] => Some(one.as_str()),
                        _ => None,
                    },
                }
                .fields(SystemTime::now());
                // Checked: mail from other systems, not from our own users or hosts.
                let trusted = service
                    .relay
                    .as_ref()
                    .is_some_and(|r| r.allows(peer.ip(), false));
                if service.verify.is_some() && !lmtp && account.is_none() && !trusted {
                    t.held = Some(Held {
                        fields,
                        raw: service.store.upload(),
                    });
                } else {
                    open_copies(&service, &mut t, &fields, lmtp);
                    // LMTP's client is the site's own MTA, whose results may carry our name.
                    t.header = (!lmtp).then(Vec::new);
                    t.submission_host =
                        (!lmtp && account.is_some()).then(|| service.config.hostname.clone());
                }
                accept(server)?;
            }
            Event::MessageData(data) => match &mut t.held {
                Some(held) => {
                    if let Err(e) = held.raw.write(&data) {
                        t.held = None;
                        t.broken = Some(e.into());
                    }
                }
                None => take_data(&mut t, &data, own_id(&service)),
            },
            Event::MessageEnd { replies, .. } => {
                end_header(&mut t, None, own_id(&service));
                let from = helo.as_ref().map_or("unknown", |(h, _)| h.as_str());
                let name =
                    trace::client_name(from, t.params.smtputf8).unwrap_or(Cow::Borrowed("unknown"));
                t.received_from = Some(format!("dns; {name} ([{}])", peer.ip().to_canonical()));
                if let (Some(held), Some(verifier)) = (t.held.take(), &service.verify) {
                    let sender = t.sender.clone();
                    let client = Client {
                        ip: peer.ip().to_canonical(),
                        helo: from,
                        mail_from: &sender,
                    };
                    if let Some(reply) =
                        release(&service, verifier, &mut t, held, &client, lmtp).await
                    {
                        record.rejected(Rejection::InvalidMessage);
                        t = Transaction::default();
                        reject(server, &reply)?;
                        continue;
                    }
                }
                finish_message(server, &mut t, &service, replies, &record).await?;
            }
            Event::MessageAborted { reply } => {
                record.rejected(rejection(&reply));
                t = Transaction::default();
            }
            Event::TransactionReset => t = Transaction::default(),
            Event::Auth { credentials, .. } => {
                let user = credentials.authcid.clone();
                let login = service.auth.login(peer.ip(), credentials).await;
                record.login(&user, &login);
                match login {
                    Login::Accepted(a) => {
                        account = Some(a);
                        accept(conn.session_mut())?;
                    }
                    Login::Failed => reject(conn.session_mut(), &replies::auth_failed())?,
                    Login::Refused => reject(conn.session_mut(), &replies::temp_auth_failure())?,
                }
            }
            // Only PLAIN and LOGIN are offered; the session runs them.
            Event::AuthExchange { .. } => reject(server, &replies::auth_failed())?,
            _ => {}
        }
    }
}

/// Starts the copies of a message: the store's (one, or one per recipient in LMTP) and the
/// queue's when some recipients are elsewhere, each beginning with the trace `fields`.
fn open_copies<S: MailStore>(
    service: &SmtpService<S>,
    t: &mut Transaction,
    fields: &str,
    lmtp: bool,
) {
    // RFC 3030 §3: BINARYMIME's octets are the message as it is, bare CR and LF included.
    let binary = t.params.body == Some(Body::BinaryMime);
    let start = |extra: &str| {
        let mut upload = service.store.upload();
        if binary {
            upload.keep_line_ends();
        }
        upload
            .write(trace::with_delivered_to(fields, extra).as_bytes())
            .map(|()| upload)
            .map_err(StoreError::from)
    };
    t.copies = match (lmtp, t.recipients.is_empty()) {
        (_, true) => Vec::new(),
        // Dovecot's and Postfix's local delivery name the recipient in each
        // copy, so LMTP writes one copy per recipient.
        (true, false) => t.addresses.iter().map(|a| start(a)).collect(),
        (false, false) => vec![start("")],
    };
    if let (Some(relay), true) = (&service.relay, t.needs_queue()) {
        // Return-Path is the final delivery's to add (RFC 5321 §4.4), not a relay's.
        let received = fields.split_once("\r\n").map_or("", |(_, r)| r);
        let mut spool = relay.queue.spool();
        if let Err(e) = spool.write(received.as_bytes()) {
            t.broken = Some(e.into());
        }
        t.spool = Some(spool);
    }
}

/// The name this server gives itself in `Authentication-Results:`.
fn own_id<S: MailStore>(service: &SmtpService<S>) -> &str {
    service
        .verify
        .as_ref()
        .map_or(service.config.hostname.as_str(), |v| v.authserv_id())
}

/// The most of a message's start kept to find its header section's end; a message with a
/// longer header section is refused (`552 5.3.4`; no client writes one).
const MAX_FILTERED_HEADER: usize = 256 * 1024;

/// Message octets of a message not held back: through the header filter while it runs
/// ([`Transaction::header`]), then to every copy.
fn take_data(t: &mut Transaction, data: &[u8], own_id: &str) {
    let Some(header) = &mut t.header else {
        return write_data(t, data);
    };
    let from = header.len().saturating_sub(3);
    header.extend_from_slice(data);
    // An empty header section (the message starts with its blank line) ends at once.
    let end = if header.starts_with(b"\r\n") {
        Some(2)
    } else {
        header[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| from + at + 4)
    };
    if end.is_some() {
        end_header(t, end, own_id);
    } else if header.len() > MAX_FILTERED_HEADER {
        // Passed on unfiltered, results forged past the limit would get through: refused.
        t.header = None;
        t.copies.clear();
        t.spool = None;
        t.header_too_large = true;
    }
}

/// Writes what the header filter kept, without our own results up to `end` (the header
/// section's end, if it was found), and stops filtering.
fn end_header(t: &mut Transaction, end: Option<usize>, own_id: &str) {
    let Some(kept) = t.header.take() else { return };
    let end = end.unwrap_or(kept.len());
    t.too_many_hops = loops(&kept[..end]);
    if let Some(host) = t.submission_host.take() {
        let added = trace::missing_fields(&kept[..end], &host, SystemTime::now());
        write_data(t, added.as_bytes());
    }
    write_data(t, &as_received(&kept[..end], own_id));
    write_data(t, &kept[end..]);
}

/// The message as this server takes it in: without `Authentication-Results:` fields that
/// claim to be ours (RFC 8601 §5), and without `Return-Path:` fields, which only final
/// delivery writes (RFC 5321 §4.4; Postfix's cleanup drops them too).
fn as_received<'a>(message: &'a [u8], own_id: &str) -> Cow<'a, [u8]> {
    without_fields(message, |name, value| {
        name.trim_ascii_end().eq_ignore_ascii_case(b"Return-Path")
            || is_own_result(name, value, own_id)
    })
}

/// Whether a message whose header section is `header` has been through too many hops:
/// with this server's `Received:` it would carry more than `MAX_HOPS`.
fn loops(header: &[u8]) -> bool {
    crate::mailauth::verify::count_fields(header, b"Received") >= MAX_HOPS
}

/// Writes message octets to every copy; a copy that fails is the error for its recipients.
fn write_data(t: &mut Transaction, data: &[u8]) {
    for copy in &mut t.copies {
        if let Ok(m) = copy
            && let Err(e) = m.write(data)
        {
            *copy = Err(e.into());
        }
    }
    if let Some(m) = &mut t.spool
        && let Err(e) = m.write(data)
    {
        t.spool = None;
        t.broken = Some(e.into());
    }
}

/// Verifies a held message and, unless DMARC refuses it (the reply returned), writes its
/// copies: the trace fields with `Authentication-Results:` between `Return-Path:` and
/// `Received:` (above what this server received, below what final delivery adds), then the
/// message without any results that claim to be ours (RFC 8601 §5).
async fn release<S: MailStore>(
    service: &SmtpService<S>,
    verifier: &Verifier,
    t: &mut Transaction,
    mut held: Held,
    client: &Client<'_>,
    lmtp: bool,
) -> Option<Reply<'static>> {
    // At most the session's size limit: the checks need the whole message at once.
    let raw = match held.raw.bytes() {
        Ok(raw) => raw,
        Err(e) => {
            t.broken = Some(e.into());
            return None;
        }
    };
    if loops(&raw) {
        t.too_many_hops = true;
        return None;
    }
    let verdict = verifier.verify(client, &raw).await;
    tracing::info!(
        peer = %client.ip,
        helo = client.helo,
        sender = client.mail_from,
        spf = %verdict.spf,
        dkim = %verdict.dkim,
        dmarc = %verdict.dmarc,
        from_domain = verdict.from_domain.as_deref().unwrap_or(""),
        refused = verdict.refuse,
        "smtp: message authentication"
    );
    if verdict.refuse {
        let text = match verdict.from_domain.as_deref() {
            Some(domain) => {
                format!("Message refused: it fails DMARC, and {domain} asks for rejection")
            }
            None => "Message refused: it needs exactly one From: field (RFC 5322 §3.6)".to_owned(),
        };
        return Some(reply(ReplyCode::MAILBOX_UNAVAILABLE, (5, 7, 1), &text));
    }
    let fields = trace::with_results(&held.fields, &verdict.field);
    open_copies(service, t, &fields, lmtp);
    write_data(t, &as_received(&raw, verifier.authserv_id()));
    None
}

/// What a refusal counts as in `sansmail_messages_rejected_total`, by its enhanced status
/// code (RFC 3463).
fn rejection(reply: &Reply<'_>) -> Rejection {
    let status = reply.status().map(|s| (s.subject(), s.detail()));
    match (reply.code().get(), status) {
        (554, Some((7, 1))) => Rejection::RelayDenied,
        (553, Some((7, 1))) => Rejection::SenderNotOwned,
        (_, Some((1, 1))) => Rejection::NoSuchUser,
        (_, Some((1, 2))) => Rejection::AddressLiteral,
        (_, Some((2, 2))) => Rejection::OverQuota,
        (_, Some((3, 1))) => Rejection::NoSpace,
        (552, _) | (_, Some((3, 4))) => Rejection::TooBig,
        (500 | 501, _) | (_, Some((6, _))) => Rejection::InvalidMessage,
        _ => Rejection::StoreError,
    }
}

/// `553 5.7.1`: an authenticated user may send only as an address of their own (Postfix's
/// `reject_sender_login_mismatch`).
fn not_owned(account: &AccountName) -> Reply<'static> {
    reply(
        ReplyCode::MAILBOX_NAME_NOT_ALLOWED,
        (5, 7, 1),
        &format!("Sender address not owned by user {account}"),
    )
}

/// Room left for the fields a delivery adds (Return-Path, Received, Delivered-To,
/// Authentication-Results) when a SIZE estimate is checked against a quota.
const TRACE_FIELDS: u64 = 1024;

/// Whether `r`'s account has room for a message of `size` octets (the client's SIZE
/// estimate; one octet when it gave none) and the trace fields this server adds: checked at
/// RCPT, where the refusal (552 5.2.2, as Dovecot's LMTP `lmtp_rcpt_check_quota` answers)
/// is this recipient's alone. The delivery checks again, exactly.
async fn over_quota<S: MailStore>(
    store: &S,
    r: &Recipient,
    size: Option<u64>,
) -> Option<StoreError> {
    let session = Session::new(r.account.clone());
    let octets = size.unwrap_or(0).max(1).saturating_add(TRACE_FIELDS);
    match store.check_quota(&session, octets, 1).await {
        Err(e @ StoreError::OverQuota(_)) => Some(e),
        _ => None,
    }
}

/// Whether two addresses name the same mailbox: the local part as written (it may be
/// case-sensitive, RFC 5321 §2.4), the domain in any case.
fn same_address(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        _ => a == b,
    }
}

/// The reply for a recipient whose copy could not be stored: the one place where a store
/// error becomes an SMTP reply.
fn failure(e: &StoreError) -> Reply<'static> {
    match e {
        // RFC 5321 §4.2.2 "exceeded storage allocation", RFC 3463 X.2.2 "Mailbox full".
        StoreError::OverQuota(_) => reply(
            ReplyCode::EXCEEDED_STORAGE,
            (5, 2, 2),
            "Mailbox full: over quota",
        ),
        // RFC 5321 §4.2.2 "insufficient system storage", RFC 3463 X.3.1 "Mail system full":
        // temporary, the client tries again later.
        StoreError::NoSpace | StoreError::Limit(_) => reply(
            ReplyCode::INSUFFICIENT_STORAGE,
            (4, 3, 1),
            "Insufficient system storage; try again later",
        ),
        // The directory knows the user (an unknown one is refused before the store is
        // asked) but the store has no account or mailbox for them (one that could not be
        // created, a Maildir's cur/ removed by hand): the site's to mend, so the sender
        // tries again rather than bouncing the mail.
        e if !e.is_temporary()
            && !matches!(e, StoreError::NoSuchMailbox(_) | StoreError::NoSuchAccount) =>
        {
            reply(
                ReplyCode::TRANSACTION_FAILED,
                (5, 3, 0),
                "Message refused by the mail store",
            )
        }
        _ => reply(
            ReplyCode::LOCAL_ERROR,
            (4, 3, 0),
            "Local error in processing; try again later",
        ),
    }
}

/// [`failure`], made temporary: for the one answer SMTP gives a message whose other
/// recipients' copies were stored (and taken back).
fn retry_later(e: &StoreError) -> Reply<'static> {
    match e {
        StoreError::OverQuota(_) => reply(
            ReplyCode::INSUFFICIENT_STORAGE,
            (4, 2, 2),
            "Mailbox full for a recipient; try again later",
        ),
        e if !e.is_temporary() => reply(
            ReplyCode::LOCAL_ERROR,
            (4, 3, 0),
            "A recipient's copy could not be stored; try again later",
        ),
        e => failure(e),
    }
}

/// The message is complete: deliver it through the store (local recipients) and queue it
/// (remote ones), then acknowledge. A `250` goes out only once every copy is durable: the
/// store's and the queue's.
async fn finish_message<S: MailStore>(
    server: &mut Server,
    t: &mut Transaction,
    service: &SmtpService<S>,
    answers: usize,
    record: &ConnectionRecord,
) -> io::Result<()> {
    if t.header_too_large {
        // Nothing of it was kept: no copy, no queue entry.
        *t = Transaction::default();
        record.rejected(Rejection::TooBig);
        let too_large = reply(
            ReplyCode::EXCEEDED_STORAGE,
            (5, 3, 4),
            "Message header section too large",
        );
        for _ in 0..answers {
            reject(server, &too_large)?;
        }
        return Ok(());
    }
    if t.too_many_hops {
        // Refused now, as Postfix does, rather than delivered here and bounced by the queue.
        *t = Transaction::default();
        record.rejected(Rejection::InvalidMessage);
        let text = format!("Too many hops: over {MAX_HOPS} Received: fields, a mail loop");
        let looping = reply(ReplyCode::TRANSACTION_FAILED, (5, 4, 6), &text);
        for _ in 0..answers {
            reject(server, &looping)?;
        }
        return Ok(());
    }
    let recipients = std::mem::take(&mut t.recipients);
    let copies = std::mem::take(&mut t.copies);
    let mut results: Vec<Result<Delivered, StoreError>> = Vec::with_capacity(recipients.len());
    if let Some(e) = t.broken.take() {
        results.push(Err(e));
    } else if copies.len() == recipients.len() {
        // A copy per recipient: LMTP, or SMTP with one recipient.
        for (copy, r) in copies.into_iter().zip(&recipients) {
            match copy {
                Ok(m) => results.extend(service.store.deliver(m, std::slice::from_ref(r)).await),
                Err(e) => results.push(Err(e)),
            }
        }
    } else if let Some(copy) = copies.into_iter().next() {
        match copy {
            Ok(m) => results = service.store.deliver(m, &recipients).await,
            Err(e) => results.push(Err(e)),
        }
    }
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        tracing::error!("smtp delivery: {e}");
        record.rejected(rejection(&failure(e)));
    }
    record.delivered(results.iter().filter(|r| r.is_ok()).count() as u64);
    if answers == 1 {
        // SMTP: one answer for all, so every copy or none: the copies already stored are
        // taken back when another failed (the client sends the message again later).
        let first_error = results.iter().find_map(|r| r.as_ref().err());
        match first_error {
            None if results.len() == recipients.len() => {
                if let (Some(relay), true) = (&service.relay, t.needs_queue()) {
                    match enqueue(relay, t).await {
                        Ok((id, n)) => {
                            tracing::info!(id, recipients = n, "queue: message queued");
                            relay.wakeup.queued(id);
                        }
                        Err(e) => {
                            tracing::error!("queue: cannot queue a message: {e}");
                            take_back(service, &recipients, &results).await;
                            return reject(server, &failure(&StoreError::from(e)));
                        }
                    }
                }
                accept(server)
            }
            None => {
                take_back(service, &recipients, &results).await;
                reject(server, &failure(&StoreError::WorkerGone))
            }
            Some(e) => {
                // A recipient's permanent failure is not the others': with their copies
                // taken back, the client is asked to try again (SMTP gives one outcome
                // for all), and at the next try, with SIZE (which Postfix and most MTAs
                // send), the refusal comes at RCPT, for that recipient alone. Without
                // SIZE the message keeps failing for all until the mailbox has room.
                let reply = if results.iter().any(Result::is_ok) {
                    retry_later(e)
                } else {
                    failure(e)
                };
                take_back(service, &recipients, &results).await;
                reject(server, &reply)
            }
        }
    } else {
        // LMTP: one answer per recipient, in RCPT order.
        for i in 0..answers {
            match results.get(i) {
                Some(Ok(_)) => accept(server)?,
                Some(Err(e)) => reject(server, &failure(e))?,
                None => reject(server, &failure(&StoreError::WorkerGone))?,
            }
        }
        Ok(())
    }
}

/// Puts the transaction's remote recipients and its spooled copy into the outbound queue,
/// durably; returns the queue id and the number of recipients queued.
async fn enqueue(relay: &Relay, t: &mut Transaction) -> io::Result<(String, usize)> {
    let spool = t
        .spool
        .take()
        .ok_or_else(|| io::Error::other("message could not be spooled"))?;
    let mut recipients = std::mem::take(&mut t.remote);
    recipients.append(&mut t.notices);
    let mut entry = QueueEntry::new(t.sender.clone(), recipients);
    entry.envid = t.params.envid.as_ref().map(|x| x.as_encoded().to_owned());
    entry.ret = t.params.ret.map(|r| match r {
        Ret::Full => Return::Full,
        Ret::Hdrs => Return::Headers,
    });
    entry.body = match t.params.body {
        Some(Body::EightBitMime) => BodyType::EightBit,
        Some(Body::BinaryMime) => BodyType::Binary,
        Some(Body::SevenBit) | None => BodyType::SevenBit,
    };
    entry.smtputf8 = t.params.smtputf8;
    entry.received_from = t.received_from.take();
    let n = entry.recipients.len();
    let queue = Arc::clone(&relay.queue);
    tokio::task::spawn_blocking(move || queue.commit(spool, &mut entry))
        .await
        .map_err(io::Error::other)?
        .map(|id| (id, n))
}

/// Removes the copies of a message that SMTP answers with a failure (another copy could not
/// be stored). Removing needs no free space in the store; if it fails all the same, the copy
/// stays and comes again with the client's retry (logged).
async fn take_back<S: MailStore>(
    service: &SmtpService<S>,
    recipients: &[Recipient],
    results: &[Result<Delivered, StoreError>],
) {
    for (r, d) in recipients.iter().zip(results) {
        let Ok(d) = d else { continue };
        let session = Session::new(r.account.clone());
        let one = ExpungeScope::Uids(UidSet::single(d.uid));
        if let Err(e) = service.store.expunge(&session, &d.mailbox, one).await {
            tracing::error!(
                "smtp: taking back the copy for {} of a refused message: {e}",
                r.account
            );
        }
    }
}

fn accept(server: &mut Server) -> io::Result<()> {
    server.accept().map_err(io::Error::other)
}

fn reject(server: &mut Server, reply: &Reply<'_>) -> io::Result<()> {
    server.reject(reply).map_err(io::Error::other)
}

impl<S: MailStore> crate::listener::Service for SmtpService<S> {
    fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    fn protocol(&self) -> &'static str {
        match self.config.protocol {
            Protocol::Lmtp => "lmtp",
            Protocol::Smtp => "smtp",
        }
    }

    /// What a client over the connection limit is told.
    fn busy_reply(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let busy = reply(
            ReplyCode::SERVICE_NOT_AVAILABLE,
            (4, 7, 0),
            "Too many connections, try again later",
        );
        sansmail_smtp::codec::encode_reply(&busy, &mut out);
        out
    }

    fn handle(
        stream: Stream,
        record: Arc<ConnectionRecord>,
        service: Arc<Self>,
    ) -> impl Future<Output = io::Result<()>> + Send {
        handle_connection(stream, record, service)
    }
}

/// Binds a plaintext listener for `service` (under the limits and shutdown of its gate) and
/// serves it in the background, returning the bound address.
pub async fn spawn<S: MailStore>(
    addr: SocketAddr,
    service: Arc<SmtpService<S>>,
) -> io::Result<SocketAddr> {
    crate::listener::spawn("smtp", addr, None, service)
        .await
        .map(|(local, _)| local)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store failure is permanent only where the message or the recipient is at fault; a
    /// mailbox missing from an account that exists is the site's to mend, so it is temporary.
    #[test]
    fn store_failures_as_replies() {
        let code = |e: StoreError| failure(&e).code().get();
        assert_eq!(code(StoreError::NoSuchMailbox("INBOX".into())), 451);
        assert_eq!(code(StoreError::NoSpace), 452);
        assert_eq!(code(StoreError::NoSuchAccount), 451);
    }

    #[test]
    fn same_address_ignores_the_domains_case_only() {
        assert!(same_address("Carol@Example.NET", "Carol@example.net"));
        assert!(!same_address("Carol@example.net", "carol@example.net"));
        assert!(same_address("\"a@b\"@example.net", "\"a@b\"@EXAMPLE.net"));
    }
}
