//! IMAP commands (RFC 9051 §6, RFC 3501 §6, and the extensions).

pub use self::args::{
    AppendData, AppendMessage, CatPart, ListMailbox, ListReturnOpt, ListSelectOpt, MetadataDepth,
    MetadataOptions, QResync, QuotaLimit, SaslData, SaslResponse, Secret, SelectParam, StoreAction,
    is_base64, is_list_char,
};
use super::{
    capability::Capability,
    core::{AString, Atom, IString, NString, Tag},
    fetch_attr::{FetchItems, FetchModifiers},
    flag::{Flag, MailboxAttr},
    mailbox::Mailbox,
    notify::NotifySet,
    search::{Charset, SearchKey, SearchReturnOpt, SortCriterion, ThreadAlgorithm},
    sequence::SequenceSet,
    status::StatusAttr,
};

mod args;
mod owned;

/// The connection states of RFC 9051 §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Before LOGIN or AUTHENTICATE.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// After LOGOUT (or BYE): no command is valid.
    Logout,
}

/// A command: its tag and what it asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command<'a> {
    /// The tag the client chose.
    pub tag: Tag<'a>,
    /// The command.
    pub body: CommandBody<'a>,
}

impl<'a> Command<'a> {
    /// A command with this tag.
    pub fn new(tag: Tag<'a>, body: CommandBody<'a>) -> Self {
        Self { tag, body }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> Command<'static> {
        Command {
            tag: self.tag.into_owned(),
            body: self.body.into_owned(),
        }
    }
}

/// Every command of IMAP4rev1, IMAP4rev2 and the supported extensions.
///
/// Lists documented "never empty" are refused empty by the parser and should not be built
/// empty: the encoder writes them as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandBody<'a> {
    /// `CAPABILITY`
    Capability,
    /// `NOOP`
    Noop,
    /// `LOGOUT`
    Logout,
    /// `STARTTLS`
    StartTls,
    /// `AUTHENTICATE SP auth-type [SP initial-resp]` (initial response: RFC 4959 SASL-IR)
    Authenticate {
        /// `auth-type = atom`, as written.
        mechanism: Atom<'a>,
        /// `initial-resp = base64 / "="`; never [`SaslResponse::Cancel`].
        initial: Option<SaslResponse<'a>>,
    },
    /// `LOGIN SP userid SP password`
    Login {
        /// `userid = astring`
        username: AString<'a>,
        /// `password = astring`
        password: Secret<AString<'a>>,
    },
    /// `ENABLE 1*(SP capability)` (RFC 5161); never empty.
    Enable {
        /// What to enable.
        capabilities: Vec<Capability<'a>>,
    },
    /// `SELECT SP mailbox [select-params]`
    Select {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// CONDSTORE, QRESYNC; empty for none.
        params: Vec<SelectParam>,
    },
    /// `EXAMINE SP mailbox [select-params]`
    Examine {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// CONDSTORE, QRESYNC; empty for none.
        params: Vec<SelectParam>,
    },
    /// `CREATE SP mailbox [SP "(" "USE" SP "(" [use-attr *(SP use-attr)] ")" ")"]` (RFC 6154)
    Create {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// `USE (...)`: the special uses (CREATE-SPECIAL-USE), if given.
        special_use: Option<Vec<MailboxAttr<'a>>>,
    },
    /// `DELETE SP mailbox`
    Delete {
        /// The mailbox.
        mailbox: Mailbox<'a>,
    },
    /// `RENAME SP mailbox SP mailbox`
    Rename {
        /// The existing name.
        from: Mailbox<'a>,
        /// The new name.
        to: Mailbox<'a>,
    },
    /// `SUBSCRIBE SP mailbox`
    Subscribe {
        /// The mailbox.
        mailbox: Mailbox<'a>,
    },
    /// `UNSUBSCRIBE SP mailbox`
    Unsubscribe {
        /// The mailbox.
        mailbox: Mailbox<'a>,
    },
    /// `LIST [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]` (RFC 5258)
    List {
        /// `list-select-opts`, if given (may be `()`).
        selection: Option<Vec<ListSelectOpt>>,
        /// The reference name.
        reference: Mailbox<'a>,
        /// One pattern (written bare), or several (`patterns`, written in parentheses).
        /// Never empty.
        patterns: Vec<ListMailbox<'a>>,
        /// `RETURN (...)`, if given (may be empty).
        return_opts: Option<Vec<ListReturnOpt>>,
    },
    /// `LSUB SP mailbox SP list-mailbox` (IMAP4rev1)
    Lsub {
        /// The reference name.
        reference: Mailbox<'a>,
        /// The pattern.
        pattern: ListMailbox<'a>,
    },
    /// `NAMESPACE` (RFC 2342)
    Namespace,
    /// `STATUS SP mailbox SP "(" status-att *(SP status-att) ")"`
    Status {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// What to report; never empty.
        attrs: Vec<StatusAttr>,
    },
    /// `APPEND SP mailbox 1*append-message` (several: RFC 3502 MULTIAPPEND)
    Append {
        /// The mailbox.
        mailbox: Mailbox<'a>,
        /// The messages; never empty.
        messages: Vec<AppendMessage<'a>>,
    },
    /// `IDLE` (RFC 2177); the client ends it with a `DONE` line
    /// ([`crate::codec::parse_idle_done`]).
    Idle,
    /// `CHECK` (IMAP4rev1)
    Check,
    /// `CLOSE`
    Close,
    /// `UNSELECT` (RFC 3691)
    Unselect,
    /// `EXPUNGE`
    Expunge,
    /// `UID EXPUNGE SP sequence-set` (RFC 4315)
    UidExpunge {
        /// UIDs to expunge (if marked `\Deleted`).
        set: SequenceSet,
    },
    /// `["UID" SP] SEARCH [search-return-opts] SP ["CHARSET" SP charset SP] search-key *(SP search-key)`
    Search {
        /// `UID SEARCH`
        uid: bool,
        /// `RETURN (...)` (RFC 4731 ESEARCH), if given (may be empty).
        return_opts: Option<Vec<SearchReturnOpt>>,
        /// `CHARSET`, if given.
        charset: Option<Charset<'a>>,
        /// The keys, ANDed; never empty.
        criteria: Vec<SearchKey<'a>>,
    },
    /// `["UID" SP] FETCH SP sequence-set SP fetch-items [fetch-modifiers]`
    Fetch {
        /// `UID FETCH`
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// What to fetch.
        items: FetchItems<'a>,
        /// `(CHANGEDSINCE n [VANISHED])`
        modifiers: FetchModifiers,
    },
    /// `["UID" SP] STORE SP sequence-set [store-modifiers] SP store-att-flags`
    Store {
        /// `UID STORE`
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// `(UNCHANGEDSINCE n)` (RFC 7162)
        unchanged_since: Option<u64>,
        /// Replace, add or remove.
        action: StoreAction,
        /// `.SILENT`: no untagged FETCH in reply.
        silent: bool,
        /// The flags (written as a parenthesized list).
        flags: Vec<Flag<'a>>,
    },
    /// `["UID" SP] COPY SP sequence-set SP mailbox`
    Copy {
        /// `UID COPY`
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Where to.
        mailbox: Mailbox<'a>,
    },
    /// `["UID" SP] MOVE SP sequence-set SP mailbox` (RFC 6851)
    Move {
        /// `UID MOVE`
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Where to.
        mailbox: Mailbox<'a>,
    },
    /// `ID SP id-params-list` (RFC 2971)
    Id {
        /// `NIL` (None) or field–value pairs.
        params: Option<Vec<(IString<'a>, NString<'a>)>>,
    },
    /// `GETQUOTA SP quota-root-name` (RFC 9208)
    GetQuota {
        /// `quota-root-name = astring`
        root: AString<'a>,
    },
    /// `GETQUOTAROOT SP mailbox` (RFC 9208)
    GetQuotaRoot {
        /// The mailbox.
        mailbox: Mailbox<'a>,
    },
    /// `SETQUOTA SP quota-root-name SP "(" [setquota-resource *(SP setquota-resource)] ")"`
    SetQuota {
        /// The quota root.
        root: AString<'a>,
        /// The limits (may be empty: remove all).
        limits: Vec<QuotaLimit<'a>>,
    },
    /// `COMPRESS SP algorithm` (RFC 4978)
    Compress {
        /// `DEFLATE`, as written.
        algorithm: Atom<'a>,
    },
    /// `["UID" SP] SORT [search-return-opts] SP sort-criteria SP charset 1*(SP search-key)`
    /// (RFC 5256, RFC 5267 ESORT)
    Sort {
        /// `UID SORT`
        uid: bool,
        /// `RETURN (...)` (ESORT), if given.
        return_opts: Option<Vec<SearchReturnOpt>>,
        /// `"(" sort-criterion *(SP sort-criterion) ")"`; never empty.
        criteria: Vec<SortCriterion>,
        /// The charset (mandatory).
        charset: Charset<'a>,
        /// The search keys; never empty.
        keys: Vec<SearchKey<'a>>,
    },
    /// `CANCELUPDATE 1*(SP quoted)` (RFC 5267 §4.3.5): stop the updates of the searches
    /// with these tags.
    CancelUpdate {
        /// The tags of the updating SEARCH or SORT commands; never empty.
        tags: Vec<Tag<'a>>,
    },
    /// `["UID" SP] THREAD SP thread-alg SP charset 1*(SP search-key)` (RFC 5256)
    Thread {
        /// `UID THREAD`
        uid: bool,
        /// The algorithm.
        algorithm: ThreadAlgorithm<'a>,
        /// The charset (mandatory).
        charset: Charset<'a>,
        /// The search keys; never empty.
        keys: Vec<SearchKey<'a>>,
    },
    /// `GETMETADATA [SP getmetadata-options] SP mailbox SP entries` (RFC 5464)
    GetMetadata {
        /// MAXSIZE and DEPTH.
        options: MetadataOptions,
        /// The mailbox (`""` for server annotations).
        mailbox: Mailbox<'a>,
        /// Entry names; one is written bare, several in parentheses. Never empty.
        entries: Vec<AString<'a>>,
    },
    /// `SETMETADATA SP mailbox SP "(" entry SP value *(SP entry SP value) ")"` (RFC 5464)
    SetMetadata {
        /// The mailbox (`""` for server annotations).
        mailbox: Mailbox<'a>,
        /// Entry names and values (`NIL` removes; a value may be a `literal8`). Never empty.
        entries: Vec<(AString<'a>, NString<'a>)>,
    },
    /// `RESETKEY [SP mailbox *(SP mechanism)]` (RFC 4467): without a mailbox, every access
    /// key of the user.
    ResetKey {
        /// The mailbox whose keys to reset; `None` for all of them.
        mailbox: Option<Mailbox<'a>>,
        /// The mechanisms (`INTERNAL`) whose keys to reset; empty for all. Only with a
        /// mailbox.
        mechanisms: Vec<Atom<'a>>,
    },
    /// `GENURLAUTH 1*(SP url-rump SP mechanism)` (RFC 4467); never empty.
    GenUrlAuth {
        /// `url-rump = astring` and `mechanism` pairs.
        urls: Vec<(AString<'a>, Atom<'a>)>,
    },
    /// `URLFETCH 1*(SP url-full)` (RFC 4467); never empty.
    UrlFetch {
        /// `url-full = astring`
        urls: Vec<AString<'a>>,
    },
    /// `NOTIFY SP (notify-set / notify-none)` (RFC 5465)
    Notify {
        /// `SET ...`, or `None` for `NONE`.
        set: Option<NotifySet<'a>>,
    },
}

fn uid_name(uid: bool, plain: &'static str, with_uid: &'static str) -> &'static str {
    if uid { with_uid } else { plain }
}

impl CommandBody<'_> {
    /// The command's name as sent, upper case, with `UID ` for the UID forms.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Capability => "CAPABILITY",
            Self::Noop => "NOOP",
            Self::Logout => "LOGOUT",
            Self::StartTls => "STARTTLS",
            Self::Authenticate { .. } => "AUTHENTICATE",
            Self::Login { .. } => "LOGIN",
            Self::Enable { .. } => "ENABLE",
            Self::Select { .. } => "SELECT",
            Self::Examine { .. } => "EXAMINE",
            Self::Create { .. } => "CREATE",
            Self::Delete { .. } => "DELETE",
            Self::Rename { .. } => "RENAME",
            Self::Subscribe { .. } => "SUBSCRIBE",
            Self::Unsubscribe { .. } => "UNSUBSCRIBE",
            Self::List { .. } => "LIST",
            Self::Lsub { .. } => "LSUB",
            Self::Namespace => "NAMESPACE",
            Self::Status { .. } => "STATUS",
            Self::Append { .. } => "APPEND",
            Self::Idle => "IDLE",
            Self::Check => "CHECK",
            Self::Close => "CLOSE",
            Self::Unselect => "UNSELECT",
            Self::Expunge => "EXPUNGE",
            Self::UidExpunge { .. } => "UID EXPUNGE",
            Self::Search { uid, .. } => uid_name(*uid, "SEARCH", "UID SEARCH"),
            Self::Fetch { uid, .. } => uid_name(*uid, "FETCH", "UID FETCH"),
            Self::Store { uid, .. } => uid_name(*uid, "STORE", "UID STORE"),
            Self::Copy { uid, .. } => uid_name(*uid, "COPY", "UID COPY"),
            Self::Move { uid, .. } => uid_name(*uid, "MOVE", "UID MOVE"),
            Self::Id { .. } => "ID",
            Self::GetQuota { .. } => "GETQUOTA",
            Self::GetQuotaRoot { .. } => "GETQUOTAROOT",
            Self::SetQuota { .. } => "SETQUOTA",
            Self::Compress { .. } => "COMPRESS",
            Self::Sort { uid, .. } => uid_name(*uid, "SORT", "UID SORT"),
            Self::Thread { uid, .. } => uid_name(*uid, "THREAD", "UID THREAD"),
            Self::CancelUpdate { .. } => "CANCELUPDATE",
            Self::GetMetadata { .. } => "GETMETADATA",
            Self::SetMetadata { .. } => "SETMETADATA",
            Self::ResetKey { .. } => "RESETKEY",
            Self::GenUrlAuth { .. } => "GENURLAUTH",
            Self::UrlFetch { .. } => "URLFETCH",
            Self::Notify { .. } => "NOTIFY",
        }
    }

    /// Whether this is a `UID` form (its numbers are UIDs, not sequence numbers).
    pub fn is_uid(&self) -> bool {
        match self {
            Self::UidExpunge { .. } => true,
            Self::Search { uid, .. }
            | Self::Fetch { uid, .. }
            | Self::Store { uid, .. }
            | Self::Copy { uid, .. }
            | Self::Move { uid, .. }
            | Self::Sort { uid, .. }
            | Self::Thread { uid, .. } => *uid,
            _ => false,
        }
    }

    /// Whether the command may be sent in `state` (RFC 9051 §6 and the extensions' RFCs).
    pub fn valid_in(&self, state: State) -> bool {
        use State::{Authenticated, Logout, NotAuthenticated, Selected};
        match self {
            // RFC 9051 §6.1 and RFC 2971 (ID: any state).
            Self::Capability | Self::Noop | Self::Logout | Self::Id { .. } => state != Logout,
            Self::StartTls | Self::Authenticate { .. } | Self::Login { .. } => {
                state == NotAuthenticated
            }
            // RFC 5161 §3.1: only before a mailbox is selected.
            Self::Enable { .. } => state == Authenticated,
            Self::Select { .. }
            | Self::Examine { .. }
            | Self::Create { .. }
            | Self::Delete { .. }
            | Self::Rename { .. }
            | Self::Subscribe { .. }
            | Self::Unsubscribe { .. }
            | Self::List { .. }
            | Self::Lsub { .. }
            | Self::Namespace
            | Self::Status { .. }
            | Self::Append { .. }
            | Self::Idle
            | Self::GetQuota { .. }
            | Self::GetQuotaRoot { .. }
            | Self::SetQuota { .. }
            | Self::Compress { .. }
            | Self::GetMetadata { .. }
            | Self::SetMetadata { .. }
            | Self::Notify { .. } => matches!(state, Authenticated | Selected),
            // RFC 4467 §9: command-auth and command-select.
            Self::ResetKey { .. } | Self::GenUrlAuth { .. } | Self::UrlFetch { .. } => {
                matches!(state, Authenticated | Selected)
            }
            Self::Check
            | Self::Close
            | Self::Unselect
            | Self::Expunge
            | Self::UidExpunge { .. }
            | Self::Search { .. }
            | Self::Fetch { .. }
            | Self::Store { .. }
            | Self::Copy { .. }
            | Self::Move { .. }
            | Self::Sort { .. }
            | Self::Thread { .. }
            | Self::CancelUpdate { .. } => state == Selected,
        }
    }

    /// Detaches the value from the input it borrows.
    pub fn into_owned(self) -> CommandBody<'static> {
        owned::body_into_owned(self)
    }
}
