//! The rules of SEARCH and SORT return options and of FETCH's PARTIAL modifier the session
//! enforces before the application sees the command (RFC 4731, RFC 5267, RFC 9394), and
//! CANCELUPDATE, which it answers itself.

use super::{Inner, Step};
use crate::{
    session::contexts::UpdatingSearch,
    types::{
        capability::Capability,
        command::CommandBody,
        core::{AString, Tag},
        response::StatusKind,
        search::{SearchKey, SearchReturnOpt},
    },
};

impl Inner {
    /// Why a SEARCH or SORT's return options are refused (a BAD), if they are: an option
    /// the server does not offer, PARTIAL together with ALL or a second PARTIAL (RFC 9394
    /// §3.1), UPDATE under the tag of a search still updating (RFC 5267 §4.3).
    pub(super) fn return_opts_refusal(
        &self,
        tag: &Tag<'_>,
        body: &CommandBody<'_>,
    ) -> Option<&'static str> {
        let (opts, context_cap) = match body {
            CommandBody::Search {
                return_opts: Some(o),
                ..
            } => (o, Capability::ContextSearch),
            CommandBody::Sort {
                return_opts: Some(o),
                ..
            } => (o, Capability::ContextSort),
            _ => return None,
        };
        let offered = |c: &Capability<'_>| self.config.capabilities.contains(c);
        let whole = opts
            .iter()
            .filter(|o| matches!(o, SearchReturnOpt::All | SearchReturnOpt::Partial(_)))
            .count();
        if whole > 1 {
            return Some("Only one of PARTIAL and ALL may be given");
        }
        for o in opts {
            match o {
                SearchReturnOpt::Context | SearchReturnOpt::Update if !offered(&context_cap) => {
                    return Some("CONTEXT and UPDATE are not offered here");
                }
                SearchReturnOpt::Partial(_)
                    if !offered(&context_cap) && !offered(&Capability::Partial) =>
                {
                    return Some("PARTIAL is not offered");
                }
                _ => {}
            }
        }
        if opts.contains(&SearchReturnOpt::Update)
            && self.view.as_ref().is_some_and(|v| {
                v.contexts
                    .iter()
                    .any(|c| c.search.tag.as_str() == tag.as_str())
            })
        {
            return Some("Tag reuse: a search with this tag is still updating");
        }
        None
    }

    /// Why a FETCH's PARTIAL modifier is refused (a BAD), if it is: it is valid in UID FETCH
    /// only (RFC 9394 §3.3), and only where the server offers PARTIAL.
    pub(super) fn fetch_partial_refusal(&self, body: &CommandBody<'_>) -> Option<&'static str> {
        match body {
            CommandBody::Fetch { uid, modifiers, .. } if modifiers.partial.is_some() => {
                if !self.config.capabilities.contains(&Capability::Partial) {
                    Some("PARTIAL is not offered")
                } else if !*uid {
                    Some("PARTIAL is valid in UID FETCH only")
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Remembers what a SEARCH or SORT with UPDATE asked for, for
    /// [`Server::start_updating`](super::Server::start_updating).
    pub(super) fn note_updating(&mut self, tag: &Tag<'_>, body: &CommandBody<'_>) {
        let owned =
            |keys: &[SearchKey<'_>]| keys.iter().cloned().map(SearchKey::into_owned).collect();
        self.updating = match body {
            CommandBody::Search {
                uid,
                return_opts: Some(opts),
                charset,
                criteria,
            } if opts.contains(&SearchReturnOpt::Update) => Some(UpdatingSearch {
                tag: tag.clone().into_owned(),
                uid: *uid,
                sort: None,
                charset: charset.clone().map(AString::into_owned),
                keys: owned(criteria),
            }),
            CommandBody::Sort {
                uid,
                return_opts: Some(opts),
                criteria,
                charset,
                keys,
            } if opts.contains(&SearchReturnOpt::Update) => Some(UpdatingSearch {
                tag: tag.clone().into_owned(),
                uid: *uid,
                sort: Some(criteria.clone()),
                charset: Some(charset.clone().into_owned()),
                keys: owned(keys),
            }),
            _ => None,
        };
    }

    /// `CANCELUPDATE "tag" ...` (RFC 5267 §4.3.5): the searches stop updating, and nothing
    /// more is told of them. A tag that names no updating search is a NO, and then none is
    /// cancelled, so the client knows where it stands.
    pub(super) fn cancel_update(&mut self, tag: Tag<'static>, tags: &[Tag<'_>]) -> Step {
        let contexts = self.view.as_mut().map(|v| &mut v.contexts);
        let Some(contexts) = contexts else {
            self.bad(Some(tag), "No mailbox selected");
            return Step::Continue;
        };
        let known = |t: &Tag<'_>| contexts.iter().any(|c| c.search.tag.as_str() == t.as_str());
        if let Some(unknown) = tags.iter().find(|t| !known(t)) {
            let text = format!("No updating search has tag {}", unknown.as_str());
            self.status(Some(tag), StatusKind::No, None, &text);
            return Step::Continue;
        }
        contexts.retain(|c| !tags.iter().any(|t| t.as_str() == c.search.tag.as_str()));
        self.tell_updates(true);
        self.status(Some(tag), StatusKind::Ok, None, "CANCELUPDATE completed");
        Step::Continue
    }
}
