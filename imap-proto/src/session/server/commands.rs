//! Each command against the connection state: what the session answers itself (CAPABILITY,
//! NOOP, LOGOUT, STARTTLS, ENABLE, ID, LOGIN and AUTHENTICATE up to the decision), what it
//! refuses, and what goes to the application.

use sansmail_core::{CloseReason, Credentials, base64_decode};

use super::{Event, Inner, Kind, Mode, Pending, Step};
use crate::{
    session::view::MailboxView,
    types::{
        capability::Capability,
        command::{Command, CommandBody, SaslResponse, State},
        core::{Atom, IString, Tag},
        response::{Data, Response, StatusKind},
        response_code::ResponseCode,
        search::{SearchKey, SearchReturnOpt},
    },
};

const ENABLEABLE: &[Capability<'static>] = &[
    Capability::CondStore,
    Capability::QResync,
    Capability::Utf8Accept,
    Capability::Imap4Rev2,
];

impl Inner {
    pub(super) fn close(&mut self, why: CloseReason) {
        self.mode = Mode::Closed;
        self.conn = State::Logout;
        self.pending = None;
        self.closed.get_or_insert(why);
    }

    pub(super) fn deselect(&mut self) {
        if self.view.take().is_some() {
            self.queued.push(Event::Deselected);
        }
        if self.conn == State::Selected {
            self.conn = State::Authenticated;
        }
    }

    /// Turns an extension on without ENABLE (CONDSTORE by its first use, RFC 7162 §3.1),
    /// if it is offered.
    pub(super) fn enable_implicitly(&mut self, cap: Capability<'static>) {
        if self.config.capabilities.contains(&cap) && !self.enabled.contains(&cap) {
            self.enabled.push(cap);
        }
    }

    /// The capabilities to advertise now.
    pub(super) fn capabilities(&self) -> Vec<Capability<'static>> {
        let c = &self.config;
        let mut caps = c.capabilities.clone();
        if self.conn == State::NotAuthenticated {
            if c.starttls && !self.tls {
                caps.push(Capability::StartTls);
            }
            if self.login_allowed() {
                caps.extend(c.auth_mechanisms.iter().cloned().map(Capability::Auth));
                caps.push(Capability::SaslIr);
            } else {
                caps.push(Capability::LoginDisabled);
            }
        }
        caps
    }

    pub(super) fn login_allowed(&self) -> bool {
        self.tls || !self.config.auth_requires_tls
    }

    pub(super) fn command(&mut self, mut cmd: Command<'_>) -> Step {
        if !cmd.body.valid_in(self.conn) {
            self.bad(Some(cmd.tag), "Command not valid in this state");
            return Step::Continue;
        }
        if let Some(refusal) = self.refusal_until_enabled(&cmd.body) {
            self.bad(Some(cmd.tag), refusal);
            return Step::Continue;
        }
        if let Some(refusal) = self.urlauth_refusal(&cmd.body) {
            self.bad(Some(cmd.tag), refusal);
            return Step::Continue;
        }
        // RFC 6855 §3: once UTF8=ACCEPT is enabled, text is UTF-8 and a SEARCH that names a
        // charset SHOULD be refused.
        if let CommandBody::Search {
            charset: Some(_), ..
        } = &cmd.body
            && self.enabled.contains(&Capability::Utf8Accept)
        {
            self.bad(Some(cmd.tag), "No CHARSET once UTF8=ACCEPT is enabled");
            return Step::Continue;
        }
        let keys = match &cmd.body {
            CommandBody::Search { criteria: k, .. }
            | CommandBody::Sort { keys: k, .. }
            | CommandBody::Thread { keys: k, .. } => k.iter().map(SearchKey::body_keys).sum(),
            _ => 0,
        };
        if keys > self.config.limits.max_body_search_keys {
            let text = format!(
                "{keys} BODY and TEXT keys, more than the {} this server takes in one command",
                self.config.limits.max_body_search_keys
            );
            self.status(
                Some(cmd.tag),
                StatusKind::No,
                Some(ResponseCode::Limit),
                &text,
            );
            return Step::Continue;
        }
        if let CommandBody::Search { return_opts, .. } = &mut cmd.body
            && return_opts.is_none()
            && self.enabled.contains(&Capability::Imap4Rev2)
        {
            // IMAP4rev2 answers every SEARCH with ESEARCH, `ALL` when no return option is
            // given (RFC 9051 §6.4.4).
            *return_opts = Some(Vec::new());
        }
        if let Some(refusal) = self
            .return_opts_refusal(&cmd.tag, &cmd.body)
            .or_else(|| self.fetch_partial_refusal(&cmd.body))
        {
            self.bad(Some(cmd.tag), refusal);
            return Step::Continue;
        }
        let tag = cmd.tag.clone().into_owned();
        match &cmd.body {
            CommandBody::CancelUpdate { tags } => self.cancel_update(tag, tags),
            CommandBody::Capability => {
                let caps = self.capabilities();
                self.send(&Response::Data(Data::Capability(caps)));
                self.status(Some(tag), StatusKind::Ok, None, "CAPABILITY completed");
                Step::Continue
            }
            CommandBody::Noop | CommandBody::Check => {
                self.tell_updates(true);
                self.status(Some(tag), StatusKind::Ok, None, "NOOP completed");
                Step::Continue
            }
            CommandBody::Logout => {
                self.status(None, StatusKind::Bye, None, "Logging out");
                self.status(Some(tag), StatusKind::Ok, None, "LOGOUT completed");
                self.close(CloseReason::Quit);
                self.queued.push(Event::Logout);
                Step::Continue
            }
            CommandBody::StartTls => {
                if !self.config.starttls || self.tls {
                    self.bad(Some(tag), "STARTTLS not available");
                    return Step::Continue;
                }
                self.status(Some(tag), StatusKind::Ok, None, "Begin TLS negotiation now");
                // Bytes pipelined behind STARTTLS were sent in plaintext before the
                // handshake (CVE-2011-0411 class): drop them.
                self.pos = usize::MAX;
                self.mode = Mode::AwaitTls;
                self.queued.push(Event::StartTls);
                Step::Continue
            }
            CommandBody::Compress { algorithm } => {
                if !self
                    .config
                    .capabilities
                    .contains(&Capability::CompressDeflate)
                {
                    self.bad(Some(tag), "COMPRESS not available");
                } else if self.deflate {
                    self.status(
                        Some(tag),
                        StatusKind::No,
                        Some(ResponseCode::CompressionActive),
                        "DEFLATE active already",
                    );
                } else if !algorithm.as_str().eq_ignore_ascii_case("DEFLATE") {
                    self.status(
                        Some(tag),
                        StatusKind::No,
                        None,
                        "Unknown compression algorithm",
                    );
                } else {
                    self.status(Some(tag), StatusKind::Ok, None, "DEFLATE active");
                    self.deflate = true;
                    self.mode = Mode::AwaitDeflate;
                    self.queued.push(Event::Compress);
                }
                Step::Continue
            }
            CommandBody::Login { username, password } => {
                if !self.login_allowed() {
                    self.status(
                        Some(tag),
                        StatusKind::No,
                        Some(ResponseCode::PrivacyRequired),
                        "Use STARTTLS first",
                    );
                    return Step::Continue;
                }
                // Credentials are UTF-8 text: octets that are not cannot be compared (made
                // U+FFFD, two Latin-1 passwords would be the same one).
                let (Ok(user), Ok(pass)) = (
                    std::str::from_utf8(username.as_bytes()),
                    std::str::from_utf8(password.expose().as_bytes()),
                ) else {
                    self.status(
                        Some(tag),
                        StatusKind::No,
                        Some(ResponseCode::AuthenticationFailed),
                        "Authentication failed",
                    );
                    return Step::Continue;
                };
                let credentials = Credentials::new(user, pass);
                self.pending = Some(Pending::Login { tag });
                Step::Event(Event::Login { credentials })
            }
            CommandBody::Authenticate { mechanism, initial } => {
                self.authenticate(tag, mechanism, initial.as_ref())
            }
            CommandBody::Enable { capabilities } => {
                let asked: Vec<Capability<'static>> = capabilities
                    .iter()
                    .map(|c| c.clone().into_owned())
                    .collect();
                let before = self.enabled.len();
                for cap in &asked {
                    let offered =
                        ENABLEABLE.contains(cap) && self.config.capabilities.contains(cap);
                    if offered && !self.enabled.contains(cap) {
                        // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                        if *cap == Capability::QResync
                            && !self.enabled.contains(&Capability::CondStore)
                        {
                            self.enabled.push(Capability::CondStore);
                        }
                        self.enabled.push(cap.clone());
                    }
                }
                // ENABLED lists what was asked for and this command enabled (RFC 5161 §3.2),
                // CONDSTORE too when asked for and QRESYNC turned it on; each once.
                let mut newly: Vec<Capability<'static>> = Vec::new();
                for cap in asked {
                    if self.enabled[before..].contains(&cap) && !newly.contains(&cap) {
                        newly.push(cap);
                    }
                }
                self.send(&Response::Data(Data::Enabled(newly.clone())));
                self.status(Some(tag), StatusKind::Ok, None, "ENABLE completed");
                if !newly.is_empty() {
                    self.queued.push(Event::Enabled(newly));
                }
                Step::Continue
            }
            CommandBody::Idle => {
                self.pending = Some(Pending::Idle { tag });
                Step::Event(Event::Idle)
            }
            // RFC 2971: valid in every state; what the server says of itself is configured.
            CommandBody::Id { .. } => {
                let fields = self.config.id.as_ref().map(|fields| {
                    fields
                        .iter()
                        .filter_map(|(k, v)| {
                            let k = IString::from_bytes(k.as_bytes().to_vec()).ok()?;
                            Some((k, IString::from_bytes(v.as_bytes().to_vec()).ok()))
                        })
                        .collect()
                });
                self.send(&Response::Data(Data::Id(fields)));
                self.status(Some(tag), StatusKind::Ok, None, "ID completed");
                Step::Continue
            }
            // Refused here, or handed to the application (its set takes effect on OK).
            CommandBody::Notify { set } if !self.notify_allowed(&tag, set.as_ref()) => {
                Step::Continue
            }
            body if self.past_last_message(body) => {
                // RFC 9051 §6.4: a sequence number past the last message is a BAD; UID sets
                // may name what does not exist.
                self.bad(Some(tag), "Invalid message sequence number");
                Step::Continue
            }
            body => {
                let kind = match body {
                    CommandBody::Select { .. } => Kind::Select { read_only: false },
                    CommandBody::Examine { .. } => Kind::Select { read_only: true },
                    CommandBody::Close | CommandBody::Unselect => Kind::Close,
                    CommandBody::Fetch { uid: false, .. }
                    | CommandBody::Store { uid: false, .. }
                    | CommandBody::Search { uid: false, .. }
                    | CommandBody::Sort { uid: false, .. }
                    | CommandBody::Thread { uid: false, .. } => Kind::NoExpunge,
                    CommandBody::ResetKey { .. } => Kind::ResetKey,
                    CommandBody::Notify { .. } => Kind::Notify,
                    _ => Kind::Other,
                };
                if matches!(kind, Kind::Select { .. }) {
                    // Selecting closes the current mailbox first (RFC 9051 §6.3.2); the
                    // command itself tells the application, so no Deselected event.
                    let was_selected = self.view.take().is_some();
                    self.forget_told();
                    if self.conn == State::Selected {
                        self.conn = State::Authenticated;
                    }
                    // `* OK [CLOSED]` separates the old mailbox's responses from the new
                    // one's (RFC 7162 §3.2.11 for CONDSTORE and QRESYNC servers, RFC 9051
                    // §6.3.2).
                    let c = &self.config.capabilities;
                    if was_selected
                        && (c.contains(&Capability::CondStore)
                            || c.contains(&Capability::QResync)
                            || c.contains(&Capability::Imap4Rev2))
                    {
                        self.status(
                            None,
                            StatusKind::Ok,
                            Some(ResponseCode::Closed),
                            "Previous mailbox closed",
                        );
                    }
                }
                if enables_condstore(body) && !self.enabled.contains(&Capability::CondStore) {
                    self.enable_implicitly(Capability::CondStore);
                    if self.enabled.contains(&Capability::CondStore) {
                        self.condstore_enabled_now();
                    }
                }
                self.note_updating(&tag, body);
                self.saving_search = matches!(
                    body,
                    CommandBody::Search { return_opts: Some(o), .. }
                        | CommandBody::Sort { return_opts: Some(o), .. }
                        if o.contains(&SearchReturnOpt::Save)
                );
                self.pending = Some(Pending::Command { tag, kind });
                Step::Event(Event::Command(cmd.into_owned()))
            }
        }
    }

    /// Whether a command's sequence-number set names a number past the last message the
    /// client knows.
    pub(super) fn past_last_message(&self, body: &CommandBody<'_>) -> bool {
        use crate::types::sequence::{SeqItem, SeqNum, SequenceSet};
        let (CommandBody::Fetch {
            uid: false, set, ..
        }
        | CommandBody::Store {
            uid: false, set, ..
        }
        | CommandBody::Copy {
            uid: false, set, ..
        }
        | CommandBody::Move {
            uid: false, set, ..
        }) = body
        else {
            return false;
        };
        // RFC 9051 §9 (seq-number): any number past the last message, and `*` in an
        // empty mailbox, is an error, in a range too: `10:*` with two messages is `2:10`
        // (Dovecot answers BAD alike).
        let len = self.view.as_ref().map_or(0, MailboxView::len);
        let past = |n: &SeqNum| match n {
            SeqNum::Value(v) => *v > len,
            SeqNum::Largest => len == 0,
        };
        match set {
            SequenceSet::Items(items) => items.iter().any(|i| match i {
                SeqItem::Single(n) => past(n),
                SeqItem::Range(a, b) => past(a) || past(b),
            }),
            SequenceSet::Saved => false,
        }
    }

    /// Why a command using an extension that must be enabled first is refused: `SELECT/EXAMINE
    /// (QRESYNC ...)` needs `ENABLE QRESYNC` (RFC 7162 §3.2.5); the FETCH modifier
    /// `VANISHED` needs it too, and is valid only in UID FETCH with `CHANGEDSINCE` (§3.2.6);
    /// APPEND's `UTF8 (...)` needs `ENABLE UTF8=ACCEPT` (RFC 6855 §4).
    pub(super) fn refusal_until_enabled(&self, body: &CommandBody<'_>) -> Option<&'static str> {
        use crate::types::command::SelectParam;
        let enabled = self.enabled.contains(&Capability::QResync);
        match body {
            CommandBody::Select { params, .. } | CommandBody::Examine { params, .. }
                if !enabled && params.iter().any(|p| matches!(p, SelectParam::QResync(_))) =>
            {
                Some("QRESYNC is not enabled")
            }
            // RFC 6855 §4: APPEND's `UTF8 (literal8)` only after ENABLE UTF8=ACCEPT.
            CommandBody::Append { messages, .. }
                if !self.enabled.contains(&Capability::Utf8Accept)
                    && messages
                        .iter()
                        .any(|m| matches!(m.data, crate::types::command::AppendData::Utf8(_))) =>
            {
                Some("UTF8 needs ENABLE UTF8=ACCEPT")
            }
            CommandBody::Fetch { uid, modifiers, .. } if modifiers.vanished => {
                if !enabled {
                    Some("VANISHED needs ENABLE QRESYNC")
                } else if !*uid || modifiers.changed_since.is_none() {
                    Some("VANISHED is valid in UID FETCH with CHANGEDSINCE only")
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Why a URLAUTH command is refused (RFC 4467 §6): GENURLAUTH takes absolute URL rumps
    /// with `;URLAUTH=` (no verifier yet) of the user who logged in, and mechanisms this
    /// server has; RESETKEY only mechanisms it has.
    pub(super) fn urlauth_refusal(&self, body: &CommandBody<'_>) -> Option<&'static str> {
        use crate::url::{INTERNAL, parse_auth_url};
        let known = |m: &Atom<'_>| m.as_str().eq_ignore_ascii_case(INTERNAL);
        match body {
            CommandBody::GenUrlAuth { urls } => urls.iter().find_map(|(url, mechanism)| {
                let Ok(url) = parse_auth_url(&url.to_str_lossy()) else {
                    return Some("Not an absolute IMAP URL with ;URLAUTH=");
                };
                if url.verifier.is_some() {
                    Some("A URL rump ends at the access identifier")
                } else if self
                    .user
                    .as_deref()
                    .is_some_and(|u| !u.eq_ignore_ascii_case(url.owner()))
                {
                    Some("Only your own URLs can be authorized")
                } else if !known(mechanism) {
                    Some("Unknown URLAUTH mechanism")
                } else {
                    None
                }
            }),
            CommandBody::ResetKey { mechanisms, .. } if !mechanisms.iter().all(known) => {
                Some("Unknown URLAUTH mechanism")
            }
            _ => None,
        }
    }

    pub(super) fn authenticate(
        &mut self,
        tag: Tag<'static>,
        mechanism: &Atom<'_>,
        initial: Option<&SaslResponse<'_>>,
    ) -> Step {
        if !self.login_allowed() {
            self.status(
                Some(tag),
                StatusKind::No,
                Some(ResponseCode::PrivacyRequired),
                "Use STARTTLS first",
            );
            return Step::Continue;
        }
        let Some(offered) = self
            .config
            .auth_mechanisms
            .iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(mechanism.as_str()))
            .cloned()
        else {
            self.status(
                Some(tag),
                StatusKind::No,
                None,
                "Unsupported authentication mechanism",
            );
            return Step::Continue;
        };
        let app_mechanism = (!offered.as_str().eq_ignore_ascii_case("PLAIN")).then_some(offered);
        let initial = match initial {
            None => None,
            Some(SaslResponse::Empty) => Some(Vec::new()),
            Some(SaslResponse::Base64(d)) => match base64_decode(d.expose()) {
                Some(b) => Some(b),
                None => {
                    self.status(Some(tag), StatusKind::Bad, None, "Invalid base64");
                    return Step::Continue;
                }
            },
            Some(SaslResponse::Cancel) => {
                self.status(Some(tag), StatusKind::Bad, None, "Authentication cancelled");
                return Step::Continue;
            }
        };
        match (initial, app_mechanism) {
            (Some(data), mechanism) => self.sasl_data(tag, mechanism, data),
            (None, None) => {
                self.continuation("");
                self.mode = Mode::Sasl {
                    tag,
                    mechanism: None,
                };
                Step::Continue
            }
            (None, Some(mechanism)) => {
                self.mode = Mode::Sasl {
                    tag: tag.clone(),
                    mechanism: Some(mechanism.clone()),
                };
                self.pending = Some(Pending::AuthExchange { tag });
                Step::Event(Event::AuthExchange {
                    mechanism,
                    response: None,
                })
            }
        }
    }
}

/// Whether a command turns CONDSTORE on by using it (RFC 7162 §3.1): SELECT/EXAMINE
/// (CONDSTORE), STATUS HIGHESTMODSEQ, FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
/// UNCHANGEDSINCE.
fn enables_condstore(body: &CommandBody<'_>) -> bool {
    use crate::types::{
        command::SelectParam,
        fetch_attr::{FetchAttr, FetchItems},
        search::SearchKey,
        status::StatusAttr,
    };
    match body {
        CommandBody::Select { params, .. } | CommandBody::Examine { params, .. } => {
            params.iter().any(|p| matches!(p, SelectParam::CondStore))
        }
        CommandBody::Status { attrs, .. } => attrs.contains(&StatusAttr::HighestModSeq),
        CommandBody::Fetch {
            items, modifiers, ..
        } => {
            modifiers.changed_since.is_some()
                || match items {
                    FetchItems::Single(a) => *a == FetchAttr::ModSeq,
                    FetchItems::List(v) => v.contains(&FetchAttr::ModSeq),
                    FetchItems::Macro(_) => false,
                }
        }
        CommandBody::Search { criteria, .. } => criteria.iter().any(SearchKey::uses_modseq),
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        _ => false,
    }
}
