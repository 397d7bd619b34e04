//! `CommandBody::into_owned`.

use super::{AppendMessage, CommandBody, ListMailbox, QuotaLimit, SaslResponse, Secret};
use crate::types::{
    capability::Capability,
    core::{AString, Atom, IString, Tag},
    flag::{Flag, MailboxAttr},
    mailbox::Mailbox,
    search::SearchKey,
};

fn keys(v: Vec<SearchKey<'_>>) -> Vec<SearchKey<'static>> {
    v.into_iter().map(SearchKey::into_owned).collect()
}

pub(super) fn body_into_owned(body: CommandBody<'_>) -> CommandBody<'static> {
    use CommandBody as B;
    match body {
        B::Capability => B::Capability,
        B::Noop => B::Noop,
        B::Logout => B::Logout,
        B::StartTls => B::StartTls,
        B::Authenticate { mechanism, initial } => B::Authenticate {
            mechanism: mechanism.into_owned(),
            initial: initial.map(SaslResponse::into_owned),
        },
        B::Login { username, password } => B::Login {
            username: username.into_owned(),
            password: Secret::new(password.into_inner().into_owned()),
        },
        B::Enable { capabilities } => B::Enable {
            capabilities: capabilities
                .into_iter()
                .map(Capability::into_owned)
                .collect(),
        },
        B::Select { mailbox, params } => B::Select {
            mailbox: mailbox.into_owned(),
            params,
        },
        B::Examine { mailbox, params } => B::Examine {
            mailbox: mailbox.into_owned(),
            params,
        },
        B::Create {
            mailbox,
            special_use,
        } => B::Create {
            mailbox: mailbox.into_owned(),
            special_use: special_use.map(|v| v.into_iter().map(MailboxAttr::into_owned).collect()),
        },
        B::Delete { mailbox } => B::Delete {
            mailbox: mailbox.into_owned(),
        },
        B::Rename { from, to } => B::Rename {
            from: from.into_owned(),
            to: to.into_owned(),
        },
        B::Subscribe { mailbox } => B::Subscribe {
            mailbox: mailbox.into_owned(),
        },
        B::Unsubscribe { mailbox } => B::Unsubscribe {
            mailbox: mailbox.into_owned(),
        },
        B::List {
            selection,
            reference,
            patterns,
            return_opts,
        } => B::List {
            selection,
            reference: reference.into_owned(),
            patterns: patterns.into_iter().map(ListMailbox::into_owned).collect(),
            return_opts,
        },
        B::Lsub { reference, pattern } => B::Lsub {
            reference: reference.into_owned(),
            pattern: pattern.into_owned(),
        },
        B::Namespace => B::Namespace,
        B::Status { mailbox, attrs } => B::Status {
            mailbox: mailbox.into_owned(),
            attrs,
        },
        B::Append { mailbox, messages } => B::Append {
            mailbox: mailbox.into_owned(),
            messages: messages
                .into_iter()
                .map(AppendMessage::into_owned)
                .collect(),
        },
        B::Idle => B::Idle,
        B::Check => B::Check,
        B::Close => B::Close,
        B::Unselect => B::Unselect,
        B::CancelUpdate { tags } => B::CancelUpdate {
            tags: tags.into_iter().map(Tag::into_owned).collect(),
        },
        B::Expunge => B::Expunge,
        B::UidExpunge { set } => B::UidExpunge { set },
        B::Search {
            uid,
            return_opts,
            charset,
            criteria,
        } => B::Search {
            uid,
            return_opts,
            charset: charset.map(AString::into_owned),
            criteria: keys(criteria),
        },
        B::Fetch {
            uid,
            set,
            items,
            modifiers,
        } => B::Fetch {
            uid,
            set,
            items: items.into_owned(),
            modifiers,
        },
        B::Store {
            uid,
            set,
            unchanged_since,
            action,
            silent,
            flags,
        } => B::Store {
            uid,
            set,
            unchanged_since,
            action,
            silent,
            flags: flags.into_iter().map(Flag::into_owned).collect(),
        },
        B::Copy { uid, set, mailbox } => B::Copy {
            uid,
            set,
            mailbox: mailbox.into_owned(),
        },
        B::Move { uid, set, mailbox } => B::Move {
            uid,
            set,
            mailbox: mailbox.into_owned(),
        },
        B::Id { params } => B::Id {
            params: params.map(|v| {
                v.into_iter()
                    .map(|(k, v)| (k.into_owned(), v.map(IString::into_owned)))
                    .collect()
            }),
        },
        B::GetQuota { root } => B::GetQuota {
            root: root.into_owned(),
        },
        B::GetQuotaRoot { mailbox } => B::GetQuotaRoot {
            mailbox: mailbox.into_owned(),
        },
        B::SetQuota { root, limits } => B::SetQuota {
            root: root.into_owned(),
            limits: limits
                .into_iter()
                .map(|l| QuotaLimit {
                    resource: l.resource.into_owned(),
                    limit: l.limit,
                })
                .collect(),
        },
        B::Compress { algorithm } => B::Compress {
            algorithm: algorithm.into_owned(),
        },
        B::Sort {
            uid,
            return_opts,
            criteria,
            charset,
            keys: k,
        } => B::Sort {
            uid,
            return_opts,
            criteria,
            charset: charset.into_owned(),
            keys: keys(k),
        },
        B::Thread {
            uid,
            algorithm,
            charset,
            keys: k,
        } => B::Thread {
            uid,
            algorithm: algorithm.into_owned(),
            charset: charset.into_owned(),
            keys: keys(k),
        },
        B::GetMetadata {
            options,
            mailbox,
            entries,
        } => B::GetMetadata {
            options,
            mailbox: mailbox.into_owned(),
            entries: entries.into_iter().map(AString::into_owned).collect(),
        },
        B::Notify { set } => B::Notify {
            set: set.map(super::NotifySet::into_owned),
        },
        B::SetMetadata { mailbox, entries } => B::SetMetadata {
            mailbox: mailbox.into_owned(),
            entries: entries
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.map(IString::into_owned)))
                .collect(),
        },
        B::ResetKey {
            mailbox,
            mechanisms,
        } => B::ResetKey {
            mailbox: mailbox.map(Mailbox::into_owned),
            mechanisms: mechanisms.into_iter().map(Atom::into_owned).collect(),
        },
        B::GenUrlAuth { urls } => B::GenUrlAuth {
            urls: urls
                .into_iter()
                .map(|(u, m)| (u.into_owned(), m.into_owned()))
                .collect(),
        },
        B::UrlFetch { urls } => B::UrlFetch {
            urls: urls.into_iter().map(AString::into_owned).collect(),
        },
    }
}
