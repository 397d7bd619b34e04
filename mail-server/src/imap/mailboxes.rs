//! Commands on mailboxes: SELECT/EXAMINE, LIST/LSUB, CREATE, DELETE, RENAME,
//! (UN)SUBSCRIBE, STATUS, APPEND and QUOTA.

use std::{collections::BTreeMap, io};

use sansmail_imap::{
    session::view::Update,
    types::{
        command::{
            AppendData, AppendMessage, ListMailbox, ListReturnOpt, ListSelectOpt, SelectParam,
        },
        core::AString,
        flag::{Flag as ImapFlag, MailboxAttr},
        mailbox::Mailbox,
        response::Data,
        response_code::ResponseCode,
        response_data::{ListData, ListExtItem, QuotaResource, ResourceName, StatusItem},
        sequence::SequenceSet,
        status::StatusAttr,
    },
};
use sansmail_store::{
    AppendItem, FetchQuery, Flag, ListScope, MailStore, MailboxInfo, QuotaResourceName, StoreError,
    UidSet,
};

use super::{Conn, Selected, api, catenate::Refusal, convert};

/// The name as the store keys it: `INBOX` (and its children's first level) in upper case.
pub(super) fn canonical(name: &str, delimiter: char) -> String {
    let first_end = name.find(delimiter).unwrap_or(name.len());
    if name[..first_end].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &name[first_end..])
    } else {
        name.to_owned()
    }
}

/// The messages of `uids` (ascending) no session has claimed `\Recent` for, as EXAMINE shows
/// them. Each claim takes every message there is, so the unclaimed ones are the newest:
/// the last `status.recent` of those the status counted. One expunged since the status
/// makes an older one count; in doubt a message is recent (RFC 3501 §2.3.2). Later
/// arrivals are left to the sessions that claim them.
fn unclaimed_recent(uids: &[u32], status: &sansmail_store::Status) -> Vec<u32> {
    let counted = uids.partition_point(|&u| u < status.uidnext.get());
    let n = usize::try_from(status.recent)
        .unwrap_or(usize::MAX)
        .min(counted);
    uids[counted - n..counted].to_vec()
}

/// Whether this server reports a STATUS item (MAILBOXID it does not).
fn status_supported(a: StatusAttr) -> bool {
    !matches!(a, StatusAttr::MailboxId)
}

/// The STATUS items asked for; `None` for an attribute this server does not report.
pub(super) fn status_items(
    s: &sansmail_store::Status,
    attrs: &[StatusAttr],
    append_limit: Option<u64>,
) -> Option<Vec<StatusItem<'static>>> {
    attrs
        .iter()
        .map(|a| {
            Some(match a {
                StatusAttr::Messages => StatusItem::Messages(s.messages),
                StatusAttr::UidNext => StatusItem::UidNext(s.uidnext.get()),
                StatusAttr::UidValidity => StatusItem::UidValidity(s.uidvalidity.get()),
                StatusAttr::Unseen => StatusItem::Unseen(s.unseen),
                StatusAttr::Deleted => StatusItem::Deleted(s.deleted),
                StatusAttr::Size => StatusItem::Size(s.size),
                StatusAttr::Recent => StatusItem::Recent(s.recent),
                StatusAttr::HighestModSeq => StatusItem::HighestModSeq(s.highest_modseq.get()),
                StatusAttr::AppendLimit => StatusItem::AppendLimit(append_limit),
                StatusAttr::DeletedStorage => StatusItem::DeletedStorage(s.deleted_size),
                StatusAttr::MailboxId => return None,
            })
        })
        .collect()
}

/// The parents RECURSIVEMATCH (RFC 5258 §3.5) and LSUB with `%` (RFC 3501 §6.3.9) report
/// for subscribed mailboxes the patterns do not match: for each such subscription, its
/// nearest parent that a pattern matches (`matching`), as Dovecot does; a parent whose
/// subscribed child a pattern matches itself (one of `found`) is not reported for it. A
/// subscribed mailbox that is reported (in `found`) and has subscribed children is reported
/// too (RECURSIVEMATCH gives it CHILDINFO, as Dovecot does).
fn subscribed_parents(
    subscribed: &[MailboxInfo],
    found: &BTreeMap<String, (MailboxInfo, bool)>,
    matching: &BTreeMap<String, MailboxInfo>,
    d: char,
) -> Vec<(String, MailboxInfo)> {
    let mut out: BTreeMap<String, MailboxInfo> = BTreeMap::new();
    for s in subscribed {
        let mut cut = s.name.as_str();
        let matched = found.contains_key(cut);
        while let Some(i) = cut.rfind(d) {
            cut = &cut[..i];
            if let Some((info, _)) = found.get(cut) {
                out.insert(cut.to_owned(), info.clone());
                if !matched {
                    break;
                }
            } else if !matched && let Some(info) = matching.get(cut) {
                out.insert(cut.to_owned(), info.clone());
                break;
            }
        }
    }
    out.into_iter().collect()
}

impl<S: MailStore> Conn<'_, S> {
    /// `pump_updates` after this session added `own` (UIDs) to the selected mailbox. Our own
    /// changes are not echoed to us, so ours are told in their place: before the first
    /// queued change about a UID as high (another session's append after ours, or a flag
    /// change or expunge of our message by a session that saw it). The view only takes UIDs
    /// above those it has; told after a delivery that committed later, ours were dropped,
    /// and the session could neither see nor touch its own message (UID STORE and UID
    /// EXPUNGE of it did nothing).
    pub(super) async fn pump_updates_with_own(&mut self, own: Vec<u32>) -> io::Result<()> {
        use sansmail_store::ChangeKind;
        let first = own.iter().copied().min().unwrap_or(0);
        let mut own = Some(own).filter(|o| !o.is_empty());
        while let Some(ev) = self.selected.as_ref().and_then(|s| s.sub.try_next()) {
            let about_ours = match &ev.kind {
                ChangeKind::Appended { messages } => messages.iter().any(|m| m.uid.get() > first),
                ChangeKind::FlagsChanged(list) => list.iter().any(|m| m.uid.get() >= first),
                ChangeKind::Expunged { uids, .. } => uids.iter().any(|u| u.get() >= first),
                _ => false,
            };
            if about_ours && let Some(own) = own.take() {
                self.push(Update::New(own));
            }
            self.apply_one(ev).await?;
            if self.closing {
                break;
            }
        }
        if let Some(own) = own {
            self.push(Update::New(own));
        }
        // Ours may match updating searches (RFC 5267 §4.3).
        self.refresh_searches().await;
        Ok(())
    }

    fn delimiter(&self) -> char {
        self.service.store.hierarchy_delimiter()
    }

    /// SELECT (or EXAMINE): the client's view of the mailbox, and a subscription to the
    /// changes other sessions make to it.
    pub(super) async fn select(
        &mut self,
        mailbox: Mailbox<'static>,
        params: &[SelectParam],
        read_only: bool,
    ) -> io::Result<()> {
        // Whatever happens, the mailbox selected before is closed (RFC 9051 §6.3.2).
        self.selected = None;
        // The session refused QRESYNC unless enabled, which turned CONDSTORE on.
        let qresync = params.iter().find_map(|p| match p {
            SelectParam::QResync(q) => Some(q.clone()),
            SelectParam::CondStore => None,
        });
        let rev2 = self.rev2();
        let session = self.session()?;
        let store = &self.service.store;
        let name = canonical(mailbox.name(), self.delimiter());
        // Subscribe first: a change racing with the snapshot below arrives as an update the
        // view ignores if it already holds it. The status is read before the snapshot, so
        // that its UIDNEXT and HIGHESTMODSEQ are never past what the snapshot shows: a
        // client that keeps them and leaves before hearing of a racing change would
        // otherwise never learn of it (RFC 7162 §3.1.2.1: no change below the HIGHESTMODSEQ
        // it was given may be unseen).
        let sub = match store.watch(&session, &name).await {
            Ok(s) => s,
            Err(e) => return self.fail(&e),
        };
        let status = match store.status(&session, &name).await {
            Ok(s) => s,
            Err(e) => return self.fail(&e),
        };
        let messages = match store
            .fetch(&session, &name, &UidSet::all(), FetchQuery::meta())
            .await
        {
            Ok(m) => m,
            Err(e) => return self.fail(&e),
        };
        // IMAP4rev1 \Recent: SELECT claims it; EXAMINE sees it without claiming it (RFC
        // 3501 §2.3.2, §6.3.2). IMAP4rev2 has no \Recent, and leaves it to IMAP4rev1 sessions.
        let claims_recent = !read_only && !rev2;
        let uids: Vec<u32> = messages.iter().map(|m| m.uid.get()).collect();
        let exists = u32::try_from(uids.len()).unwrap_or(u32::MAX);
        // RECENT counts messages of the snapshot (RFC 3501 §7.3.2: never more than EXISTS);
        // one claimed that arrived after it is counted when its EXISTS goes out.
        let (recent, recent_count) = if claims_recent {
            match store.take_recent(&session, &name).await {
                Ok(claimed) => {
                    let v: Vec<u32> = claimed.iter().map(|u| u.get()).collect();
                    let shown = v.iter().filter(|u| uids.binary_search(u).is_ok()).count();
                    (v, u32::try_from(shown).unwrap_or(u32::MAX))
                }
                Err(e) => return self.fail(&e),
            }
        } else if rev2 {
            (Vec::new(), status.recent.min(exists))
        } else {
            let v = unclaimed_recent(&uids, &status);
            let n = u32::try_from(v.len()).unwrap_or(u32::MAX);
            (v, n)
        };
        // QRESYNC with the mailbox's UIDVALIDITY; with another one the client resynchronises
        // fully and the parameter is ignored (RFC 7162 §3.2.5).
        let qresync = qresync.filter(|q| q.uid_validity == status.uidvalidity.get());
        let vanished = match &qresync {
            Some(q) => match self.expunged_since(&name, q.modseq).await {
                Ok(gone) => {
                    let known = match &q.known_uids {
                        Some(k) => super::qresync::ranges_of(k, &[]),
                        None => vec![(1, u32::MAX)],
                    };
                    super::qresync::earlier(&gone, &known, &uids)
                }
                Err(e) => return self.fail(&e),
            },
            None => Vec::new(),
        };
        self.server_mut().select(uids.clone()).map_err(super::api)?;
        self.server_mut().claim_recent(recent).map_err(super::api)?;
        let flags = convert::mailbox_flags(&status.keywords);
        self.server_mut().send_data(Data::Flags(flags.clone()));
        self.server_mut().send_data(Data::Exists(exists));
        self.server_mut().send_data(Data::Recent(recent_count));
        if let Some(i) = messages.iter().position(|m| !m.flags.contains(Flag::Seen)) {
            let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
            self.untagged_ok(ResponseCode::Unseen(seq), "First unseen");
        }
        let permanent = if read_only {
            Vec::new()
        } else {
            let mut p = flags;
            if status.new_keywords_allowed {
                p.push(ImapFlag::Wildcard);
            }
            p
        };
        self.untagged_ok(ResponseCode::PermanentFlags(permanent), "Flags permitted");
        self.untagged_ok(
            ResponseCode::UidValidity(status.uidvalidity.get()),
            "UIDs valid",
        );
        // Above every UID shown, also one that arrived between the status and the
        // snapshot (clients fetch UIDNEXT:* for what is new).
        let uidnext = uids.last().map_or(status.uidnext.get(), |&u| {
            status.uidnext.get().max(u.saturating_add(1))
        });
        self.untagged_ok(ResponseCode::UidNext(uidnext), "Predicted next UID");
        self.untagged_ok(
            ResponseCode::HighestModSeq(status.highest_modseq.get()),
            "Highest",
        );
        if rev2 {
            // IMAP4rev2 SELECT answers with the mailbox's LIST (RFC 9051 §6.3.2).
            if let Some(data) = self
                .mailbox_info(&name)
                .await
                .and_then(|info| self.list_data(&info, true, false, false))
            {
                self.server_mut().send_data(Data::List(data));
            }
        }
        self.selected = Some(Selected {
            name: name.clone(),
            read_only,
            sub,
            claims_recent,
            uidvalidity: status.uidvalidity.get(),
        });
        if let Some(q) = qresync {
            self.qresync_select(&q, &vanished, &messages);
        }
        if read_only {
            self.ok(Some(ResponseCode::ReadOnly), "EXAMINE completed")
        } else {
            self.ok(Some(ResponseCode::ReadWrite), "SELECT completed")
        }
    }

    pub(super) async fn create(
        &mut self,
        mailbox: &Mailbox<'_>,
        special_use: Option<&[MailboxAttr<'_>]>,
    ) -> io::Result<()> {
        let session = self.session()?;
        let d = self.delimiter();
        // A trailing delimiter says the name will have children (RFC 9051 §6.3.4).
        let name = mailbox.name().trim_end_matches(d);
        let role = match special_use {
            None | Some([]) => None,
            Some([one]) => match convert::special_use(one) {
                Some(u) => Some(u),
                None => return self.no(Some(ResponseCode::UseAttr), "Not a special-use attribute"),
            },
            Some(_) => return self.no(Some(ResponseCode::UseAttr), "One special use per mailbox"),
        };
        match self
            .service
            .store
            .create_mailbox(&session, name, role)
            .await
        {
            Ok(()) => self.ok(None, "CREATE completed"),
            Err(e) => self.fail(&e),
        }
    }

    pub(super) async fn delete(&mut self, mailbox: &Mailbox<'_>) -> io::Result<()> {
        let session = self.session()?;
        match self
            .service
            .store
            .delete_mailbox(&session, mailbox.name())
            .await
        {
            Ok(()) => {
                // Deleting the selected mailbox ends the session after the OK, as Dovecot
                // does and as another session's DELETE does: IMAP has no way to tell a
                // client that it left the Selected state (RFC 9051 `CLOSED` is SELECT's),
                // and its view would otherwise serve a mailbox of the same name created later.
                let name = canonical(mailbox.name(), self.delimiter());
                let selected = self.selected.as_ref().is_some_and(|s| s.name == name);
                self.ok(None, "DELETE completed")?;
                if selected {
                    self.selected = None;
                    self.bye("The selected mailbox was deleted");
                }
                Ok(())
            }
            Err(e) => self.fail(&e),
        }
    }

    pub(super) async fn rename(&mut self, from: &Mailbox<'_>, to: &Mailbox<'_>) -> io::Result<()> {
        let session = self.session()?;
        let d = self.delimiter();
        let store = &self.service.store;
        if let Err(e) = store.rename_mailbox(&session, from.name(), to.name()).await {
            return self.fail(&e);
        }
        // Renaming the selected mailbox or one above it: follow it (our own change is not
        // echoed to us). RENAME INBOX moves its messages out and leaves it selected, empty:
        // the client is told they went (RFC 9051 §6.3.6).
        let from = canonical(from.name(), d);
        let to = canonical(to.name(), d);
        let followed = self.selected.as_ref().and_then(|s| {
            if from == "INBOX" {
                return None;
            }
            let rest = s.name.strip_prefix(from.as_str())?;
            (rest.is_empty() || rest.starts_with(d)).then(|| format!("{to}{rest}"))
        });
        if from == "INBOX" && self.selected.as_ref().is_some_and(|s| s.name == "INBOX") {
            // Arrivals told by events before the move are queued first: they moved too.
            self.pump_updates().await?;
            let gone: Vec<u32> = self
                .server()
                .view()
                .map(|v| v.uids().iter().copied().chain(v.queued_new()).collect())
                .unwrap_or_default();
            self.push(Update::Expunged {
                uids: gone,
                modseq: None,
            });
        }
        if let Some(to) = followed {
            match store.watch(&session, &to).await {
                Ok(sub) => {
                    if let Some(s) = &mut self.selected {
                        s.name = to;
                        s.sub = sub;
                    }
                }
                Err(e) => tracing::error!("imap: following the renamed mailbox {to}: {e}"),
            }
        }
        self.ok(None, "RENAME completed")
    }

    pub(super) async fn subscribe(&mut self, mailbox: &Mailbox<'_>, on: bool) -> io::Result<()> {
        let session = self.session()?;
        let store = &self.service.store;
        let result = if on {
            store.subscribe(&session, mailbox.name()).await
        } else {
            store.unsubscribe(&session, mailbox.name()).await
        };
        if result.is_ok() {
            self.note_subscription(&canonical(mailbox.name(), self.delimiter()), on);
        }
        match result {
            Ok(()) if on => self.ok(None, "SUBSCRIBE completed"),
            Ok(()) => self.ok(None, "UNSUBSCRIBE completed"),
            Err(e) => self.fail(&e),
        }
    }

    /// What LIST says of one mailbox.
    async fn mailbox_info(&self, name: &str) -> Option<MailboxInfo> {
        let session = self.session().ok()?;
        let infos = self
            .service
            .store
            .list(&session, name, ListScope::All)
            .await
            .ok()?;
        infos.into_iter().find(|i| i.name == name)
    }

    fn list_data(
        &self,
        info: &MailboxInfo,
        extended: bool,
        subscribed: bool,
        childinfo: bool,
    ) -> Option<ListData<'static>> {
        let mut attributes = Vec::new();
        if !info.exists {
            attributes.push(if extended {
                MailboxAttr::NonExistent
            } else {
                MailboxAttr::NoSelect
            });
        }
        attributes.push(if info.has_children {
            MailboxAttr::HasChildren
        } else {
            MailboxAttr::HasNoChildren
        });
        if subscribed && info.subscribed {
            attributes.push(MailboxAttr::Subscribed);
        }
        if let Some(u) = info.special_use {
            attributes.push(convert::special_use_attr(u));
        }
        let extended = childinfo.then(|| {
            vec![ListExtItem::ChildInfo(
                AString::try_from("SUBSCRIBED").into_iter().collect(),
            )]
        });
        Some(ListData {
            attributes,
            delimiter: Some(self.delimiter()),
            mailbox: Mailbox::new(info.name.clone()).ok()?,
            extended,
        })
    }

    /// LIST, with the LIST-EXTENDED selection (SUBSCRIBED, SPECIAL-USE, RECURSIVEMATCH)
    /// and return options (SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS).
    pub(super) async fn list(
        &mut self,
        selection: Vec<ListSelectOpt>,
        reference: &Mailbox<'_>,
        patterns: &[ListMailbox<'_>],
        return_opts: Option<Vec<ListReturnOpt>>,
    ) -> io::Result<()> {
        let session = self.session()?;
        let d = self.delimiter();
        // IMAP4rev2's LIST is the extended one (RFC 9051 §6.3.9).
        let extended =
            !selection.is_empty() || return_opts.is_some() || patterns.len() > 1 || self.rev2();
        let ret = return_opts.unwrap_or_default();
        let by_subscription = selection.contains(&ListSelectOpt::Subscribed);
        let by_special_use = selection.contains(&ListSelectOpt::SpecialUse);
        let recursive = selection.contains(&ListSelectOpt::RecursiveMatch);
        if recursive && !by_subscription && !by_special_use {
            return self.bad("RECURSIVEMATCH needs another selection option");
        }
        let show_subscribed = by_subscription || ret.contains(&ListReturnOpt::Subscribed);
        let append_limit = Some(self.append_limit());
        let utf8 = self.server().utf8_names();
        let status_attrs = ret.iter().find_map(|r| match r {
            ListReturnOpt::Status(a) => Some(a.clone()),
            _ => None,
        });
        // An item STATUS would refuse is refused here too, not left out of every answer.
        if let Some(attrs) = &status_attrs
            && !attrs.iter().copied().all(status_supported)
        {
            return self.bad("Unsupported STATUS attribute");
        }
        if let [only] = patterns
            && only.as_bytes().is_empty()
        {
            // The hierarchy delimiter and the root of the reference (RFC 9051 §6.3.9).
            if let Ok(root) = Mailbox::new("") {
                self.server_mut().send_data(Data::List(ListData {
                    attributes: vec![MailboxAttr::NoSelect],
                    delimiter: Some(d),
                    mailbox: root,
                    extended: None,
                }));
            }
            return self.ok(None, "LIST completed");
        }
        let store = &self.service.store;
        let scope = if by_subscription {
            ListScope::Subscribed
        } else {
            ListScope::All
        };
        let mut found: BTreeMap<String, (MailboxInfo, bool)> = BTreeMap::new();
        // What every pattern matches, whatever the selection (RECURSIVEMATCH's parents).
        let mut matching: BTreeMap<String, MailboxInfo> = BTreeMap::new();
        for p in patterns {
            let pattern = format!("{}{}", reference.name(), p.to_name(utf8));
            let infos = match store.list(&session, &pattern, scope).await {
                Ok(v) => v,
                Err(e) => return self.fail(&e),
            };
            for i in infos {
                found.insert(i.name.clone(), (i, false));
            }
            if recursive && by_subscription {
                match store.list(&session, &pattern, ListScope::All).await {
                    Ok(all) => matching.extend(all.into_iter().map(|i| (i.name.clone(), i))),
                    Err(e) => return self.fail(&e),
                }
            }
        }
        if recursive && by_subscription {
            let subscribed = match store.list(&session, "*", ListScope::Subscribed).await {
                Ok(v) => v,
                Err(e) => return self.fail(&e),
            };
            for (parent, info) in subscribed_parents(&subscribed, &found, &matching, d) {
                found
                    .entry(parent)
                    .and_modify(|(_, childinfo)| *childinfo = true)
                    .or_insert((info, true));
            }
        }
        for (info, childinfo) in found.into_values() {
            if by_special_use && info.special_use.is_none() {
                continue;
            }
            if let Some(data) = self.list_data(&info, extended, show_subscribed, childinfo) {
                self.server_mut().send_data(Data::List(data));
            }
            if let Some(attrs) = &status_attrs
                && info.exists
                && let Ok(s) = self.mailbox_status(&session, &info.name).await
                && let (Some(items), Ok(mailbox)) = (
                    status_items(&s, attrs, append_limit),
                    Mailbox::new(info.name),
                )
            {
                self.server_mut().send_data(Data::Status { mailbox, items });
            }
        }
        self.ok(None, "LIST completed")
    }

    /// LSUB (IMAP4rev1): the subscribed names matching the pattern.
    pub(super) async fn lsub(
        &mut self,
        reference: &Mailbox<'_>,
        pattern: &ListMailbox<'_>,
    ) -> io::Result<()> {
        let session = self.session()?;
        let d = self.delimiter();
        let pattern = format!(
            "{}{}",
            reference.name(),
            pattern.to_name(self.server().utf8_names())
        );
        let store = &self.service.store;
        let (matched, matching, subscribed) = match (
            store.list(&session, &pattern, ListScope::Subscribed).await,
            store.list(&session, &pattern, ListScope::All).await,
            store.list(&session, "*", ListScope::Subscribed).await,
        ) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return self.fail(&e),
        };
        let mut found: BTreeMap<String, (MailboxInfo, bool)> = matched
            .into_iter()
            .map(|i| (i.name.clone(), (i, true)))
            .collect();
        let matching: BTreeMap<String, MailboxInfo> =
            matching.into_iter().map(|i| (i.name.clone(), i)).collect();
        // RFC 3501 §6.3.9: with "foo/bar" subscribed and "foo" not, "%" returns "foo" as
        // \Noselect (the nearest parent the pattern matches, as Dovecot picks it).
        for (parent, info) in subscribed_parents(&subscribed, &found, &matching, d) {
            found.entry(parent).or_insert((info, false));
        }
        for (info, own) in found.into_values() {
            let attributes = if info.exists && own {
                Vec::new()
            } else {
                vec![MailboxAttr::NoSelect]
            };
            if let Ok(mailbox) = Mailbox::new(info.name) {
                self.server_mut().send_data(Data::Lsub(ListData {
                    attributes,
                    delimiter: Some(d),
                    mailbox,
                    extended: None,
                }));
            }
        }
        self.ok(None, "LSUB completed")
    }

    pub(super) async fn status(
        &mut self,
        mailbox: &Mailbox<'_>,
        attrs: &[StatusAttr],
    ) -> io::Result<()> {
        let session = self.session()?;
        let s = match self.mailbox_status(&session, mailbox.name()).await {
            Ok(s) => s,
            Err(e) => return self.fail(&e),
        };
        let Some(items) = status_items(&s, attrs, Some(self.append_limit())) else {
            return self.bad("Unsupported STATUS attribute");
        };
        self.server_mut().send_data(Data::Status {
            mailbox: mailbox.clone().into_owned(),
            items,
        });
        self.ok(None, "STATUS completed")
    }

    /// A mailbox's status as STATUS and LIST-STATUS give it (RFC 5819 §2: the same answer).
    /// The selected mailbox's RECENT is this session's (as Dovecot answers): the messages it
    /// claimed are no longer recent for anyone else.
    async fn mailbox_status(
        &self,
        session: &sansmail_store::Session,
        name: &str,
    ) -> sansmail_store::Result<sansmail_store::Status> {
        let mut s = self.service.store.status(session, name).await?;
        let name = canonical(name, self.delimiter());
        if self
            .selected
            .as_ref()
            .is_some_and(|sel| sel.claims_recent && sel.name == name)
            && let Some(view) = self.server().view()
        {
            s.recent = view.recent_count();
        }
        Ok(s)
    }

    /// APPEND (and MULTIAPPEND's several messages in one transaction), with APPENDUID.
    pub(super) async fn append(
        &mut self,
        mailbox: &Mailbox<'_>,
        messages: Vec<AppendMessage<'static>>,
    ) -> io::Result<()> {
        let session = self.session()?;
        // The URLs of all the command's CATENATE messages share one read budget.
        self.url_reads
            .store(0, std::sync::atomic::Ordering::Relaxed);
        let store = &self.service.store;
        let mut items = Vec::with_capacity(messages.len());
        for m in messages {
            let flags = match convert::store_flags(m.flags.as_deref().unwrap_or_default()) {
                Ok(f) => f,
                Err(text) => return self.bad(&text),
            };
            let mut data = match &m.data {
                AppendData::Catenate(parts) => {
                    let limit = self.append_limit();
                    match self.catenate(&session, parts, limit).await {
                        Ok(upload) => upload,
                        Err(Refusal::Store(e)) => return self.fail(&e),
                        Err(refusal) => {
                            let code = refusal.code();
                            return self.no(code, "CATENATE: a part cannot be put in");
                        }
                    }
                }
                AppendData::Literal(l) | AppendData::Utf8(l) => {
                    let mut data = store.upload();
                    if let Err(e) = data.write(l.data()) {
                        return self.fail(&StoreError::from(e));
                    }
                    data
                }
            };
            // A `~{n}` literal8 (RFC 3516 §4.3): binary content, stored octet for octet
            // (Dovecot turns its bare LFs into CRLF; a binary part would not survive that).
            if matches!(&m.data, AppendData::Literal(l) if l.is_binary()) {
                data.keep_line_ends();
            }
            items.push(AppendItem {
                data,
                flags,
                internal_date: m.date.map(convert::internal_date),
            });
        }
        let name = canonical(mailbox.name(), self.delimiter());
        let into_selected = self.selected.as_ref().is_some_and(|s| s.name == name);
        let reserved = if into_selected {
            self.reserve_recent()
        } else {
            None
        };
        let result = store.append(&session, mailbox.name(), items).await;
        if result.is_err() {
            self.recent_reserved(reserved, false).await?;
        }
        let appended = match result {
            Ok(a) => a,
            Err(StoreError::NoSuchMailbox(_)) => {
                return self.no(Some(ResponseCode::TryCreate), "No such mailbox");
            }
            Err(e) => return self.fail(&e),
        };
        let uids: Vec<u32> = appended.uids.iter().map(|u| u.get()).collect();
        if into_selected {
            // Our own append is not echoed to us: tell the view in its place.
            self.pump_updates_with_own(uids.clone()).await?;
            self.recent_reserved(reserved, true).await?;
        }
        let code = SequenceSet::from_numbers(uids)
            .ok()
            .map(|uids| ResponseCode::AppendUid {
                uid_validity: appended.uidvalidity.get(),
                uids,
            });
        self.ok(code, "APPEND completed")
    }

    /// A message of `len` octets for APPEND into `mailbox` was announced: it is refused
    /// before the client sends it when the mailbox does not exist (`TRYCREATE`) or the
    /// message cannot fit the quota (`OVERQUOTA`), as Dovecot does. Storing it checks both
    /// again.
    pub(super) async fn announced_message(
        &mut self,
        mailbox: &Mailbox<'_>,
        len: u64,
    ) -> io::Result<()> {
        let Some(session) = self.session.clone() else {
            // Before login the command itself is refused.
            return self.server_mut().accept_literal().map_err(api);
        };
        let store = &self.service.store;
        let refusal = match store.status(&session, mailbox.name()).await {
            Err(e @ StoreError::NoSuchMailbox(_)) => {
                Some((Some(ResponseCode::TryCreate), convert::error_code(&e).1))
            }
            _ => match store.check_quota(&session, len, 1).await {
                Err(e @ StoreError::OverQuota(_)) => Some(convert::error_code(&e)),
                _ => None,
            },
        };
        let server = self.server_mut();
        match refusal {
            Some((code, text)) => server.reject_literal(code, &text),
            None => server.accept_literal(),
        }
        .map_err(api)
    }

    /// `* QUOTA`, when the root limits anything: `quota-response` lists at least one
    /// resource (RFC 9208 §9), so a root without limits gets no line, as Dovecot answers.
    fn send_quota(&mut self, report: &sansmail_store::QuotaReport) {
        if report.resources.is_empty() {
            return;
        }
        let resources = report
            .resources
            .iter()
            .map(|r| QuotaResource {
                name: match r.name {
                    QuotaResourceName::Storage => ResourceName::Storage,
                    QuotaResourceName::Message => ResourceName::Message,
                },
                usage: r.usage,
                limit: r.limit,
            })
            .collect();
        if let Ok(root) = AString::from_bytes(report.root.clone().into_bytes()) {
            self.server_mut().send_data(Data::Quota { root, resources });
        }
    }

    pub(super) async fn quota_root(&mut self, mailbox: &Mailbox<'_>) -> io::Result<()> {
        let session = self.session()?;
        let store = &self.service.store;
        if let Err(e) = store.status(&session, mailbox.name()).await {
            return self.fail(&e);
        }
        let report = match store.quota(&session).await {
            Ok(r) => r,
            Err(e) => return self.fail(&e),
        };
        // A root that limits nothing is not named: RFC 9208 §4.3.2 answers each root named
        // with its QUOTA response, and a `quota-list` holds at least one resource.
        let roots = AString::from_bytes(report.root.clone().into_bytes())
            .ok()
            .filter(|_| !report.resources.is_empty());
        self.server_mut().send_data(Data::QuotaRoot {
            mailbox: mailbox.clone().into_owned(),
            roots: roots.into_iter().collect(),
        });
        self.send_quota(&report);
        self.ok(None, "GETQUOTAROOT completed")
    }

    pub(super) async fn quota(&mut self, root: &str) -> io::Result<()> {
        let session = self.session()?;
        let report = match self.service.store.quota(&session).await {
            Ok(r) => r,
            Err(e) => return self.fail(&e),
        };
        if report.root != root {
            return self.no(Some(ResponseCode::NonExistent), "No such quota root");
        }
        self.send_quota(&report);
        self.ok(None, "GETQUOTA completed")
    }
}
