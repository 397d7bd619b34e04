//! The PostgreSQL backend (feature `postgres`): several server processes (nodes) over one
//! database.
//!
//! [`PostgresStore`] implements [`MailStore`](crate::MailStore) directly, one database
//! transaction per call, and keeps no authoritative state in the process: every node reads
//! and writes the same rows, so a node can be added, killed or restarted at any time. What
//! it shares with the embedded backends is protocol-neutral: the name rules, the MIME
//! parsing that computes ENVELOPE and BODYSTRUCTURE at append, the search evaluation its
//! SQL search falls back to, the [`ChangeHub`] and the conformance suite.
//!
//! - **Schema** (`migrations/*.sql`, applied in order at start under an advisory lock, so
//!   nodes starting together apply each once): accounts, the mailbox tree, subscriptions,
//!   messages, the expunge history, and message octets stored once per content (SHA-256,
//!   reference-counted, shared by copies and deliveries to several recipients) with their
//!   header fields and addresses in tables for SEARCH.
//! - **UIDs and modseqs** are given inside the transaction that adds or changes messages,
//!   under the lock of the mailbox's row: no duplicates under concurrent appends from any
//!   number of nodes, and no gap a client could see (a UID is visible only once every lower
//!   one committed or was never given). Modseqs come from one sequence for the database.
//! - **Change events** are sent with `NOTIFY` inside the same transaction and reach every
//!   node's [`ChangeHub`] through a `LISTEN` connection ([`listen`]), in
//!   commit order, once the transaction committed. When that connection drops, every
//!   subscriber is told it lagged and resynchronises with
//!   [`changes_since`](crate::MailStore::changes_since).
//! - **SEARCH** is turned into SQL for the keys that map (flags, keywords, dates, sizes,
//!   UIDs, modseq, header fields, addresses); messages only body or text keys can decide are
//!   then evaluated by [`search::scan`](crate::search::scan) ([`query`]).
//! - **The POP3 lease** lives in the account's row: `[IN-USE]` holds across nodes.
//!
//! The store runs its connections on a small tokio runtime of its own, so its futures can be
//! polled by any executor (the conformance suite uses [`block_on`](crate::block_on)).
//!
//! ```no_run
//! use sansmail_store::{block_on, postgres::{PostgresOptions, PostgresStore}};
//!
//! let store = block_on(PostgresStore::open(
//!     "postgres://mail@127.0.0.1/mail",
//!     PostgresOptions::default(),
//! ))?;
//! # Ok::<(), sansmail_store::StoreError>(())
//! ```

mod access_keys;
mod blobs;
mod db;
pub mod listen;
mod mailboxes;
mod messages;
mod pop3;
pub mod query;
mod schema;
mod store;

use std::{
    path::PathBuf,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use sansmail_core::swept::SweptMap;
use tokio_postgres::NoTls;

use self::db::DbError;
use crate::{
    error::{Result, StoreError},
    notify::ChangeHub,
    types::AccountName,
};

/// How a [`PostgresStore`] connects and behaves.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema the tables live in (created if missing); `None`: the connection's default
    /// (`public`). Several stores in one database (tests) each take their own.
    pub schema: Option<String>,
    /// Connections in the pool (the `LISTEN` connection comes on top).
    pub pool_size: usize,
    /// Worker threads of the store's runtime.
    pub threads: usize,
    /// The hierarchy delimiter of mailbox names.
    pub delimiter: char,
    /// Where uploads larger than [`SPILL_THRESHOLD`](crate::upload::SPILL_THRESHOLD) are
    /// spooled before they are stored; `None`: the system's temporary folder.
    pub spool_dir: Option<PathBuf>,
    /// How long a call waits for the database (a free connection, a connection to a
    /// restarting server) before it fails with a temporary error.
    pub connect_timeout: Duration,
    /// Expunges each mailbox remembers with the modseq they happened at (default 16,384
    /// rows): past it, the oldest go, and QRESYNC questions about an older modseq are
    /// answered with every UID not in the mailbox, as
    /// [`MaildirOptions::expunge_history`](crate::maildir::MaildirOptions::expunge_history).
    /// Upgrade every node before one trims: a node of a version before this option (its
    /// schema check stops it from starting after the migration, not while it runs) reads
    /// a trimmed history as complete and may leave out older expunges in its answers.
    pub expunge_history: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: None,
            pool_size: 16,
            threads: 2,
            delimiter: '/',
            spool_dir: None,
            connect_timeout: Duration::from_secs(10),
            expunge_history: crate::engine::DEFAULT_EXPUNGE_HISTORY,
        }
    }
}

/// What every call of a store shares: the pool, the change hub the `LISTEN` task feeds,
/// and the account ids already looked up (accounts are never removed).
pub(crate) struct Inner {
    pub pool: Pool,
    pub hub: ChangeHub,
    /// The `NOTIFY` channel (one per schema).
    pub channel: String,
    pub delimiter: char,
    pub connect_timeout: Duration,
    pub expunge_history: usize,
    accounts: Mutex<std::collections::HashMap<AccountName, i64>>,
    /// Each account's turn to write, on this node ([`Inner::write_turn`]): one async lock per
    /// account that wrote lately.
    turns: Mutex<SweptMap<AccountName, Arc<tokio::sync::Mutex<()>>>>,
}

/// The PostgreSQL backend. Cheap to share behind an `Arc`; dropping the last handle stops
/// its runtime (in-flight calls fail with [`StoreError::WorkerGone`]).
pub struct PostgresStore {
    inner: Arc<Inner>,
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    spool_dir: PathBuf,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("channel", &self.inner.channel)
            .finish_non_exhaustive()
    }
}

/// `name` quoted as an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or the key=value
    /// form), applies the schema's migrations, and starts listening for other nodes'
    /// changes. Fails when the database cannot be reached within
    /// [`connect_timeout`](PostgresOptions::connect_timeout).
    pub async fn open(url: &str, options: PostgresOptions) -> Result<Self> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Io(std::io::Error::other(format!("database URL: {e}"))))?;
        if let Some(schema) = &options.schema {
            if schema.is_empty() || schema.len() > 60 {
                return Err(StoreError::InvalidName("schema name must be 1-60 bytes"));
            }
            config.options(format!("-c search_path={}", quote_ident(schema)));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("sansmail");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads.max(1))
            .thread_name("sansmail-pg")
            .enable_all()
            .build()
            .map_err(StoreError::Io)?;
        let handle = runtime.handle().clone();
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _guard = runtime.enter();
            Pool::builder(manager)
                .max_size(options.pool_size.max(1))
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(options.connect_timeout))
                .create_timeout(Some(options.connect_timeout))
                .recycle_timeout(Some(options.connect_timeout))
                .build()
                .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
        };
        let channel = format!(
            "sansmail_{}",
            options
                .schema
                .as_deref()
                .unwrap_or("public")
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(40)
                .collect::<String>()
        );
        let inner = Arc::new(Inner {
            pool,
            hub: ChangeHub::new(),
            channel,
            delimiter: options.delimiter,
            connect_timeout: options.connect_timeout,
            expunge_history: options.expunge_history,
            accounts: Mutex::new(std::collections::HashMap::new()),
            turns: Mutex::default(),
        });
        let schema = options.schema.clone();
        let start = {
            let inner = Arc::clone(&inner);
            async move {
                schema::migrate(&config, schema.as_deref()).await?;
                listen::start(config, inner).await
            }
        };
        match handle.spawn(start).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                runtime.shutdown_background();
                return Err(e);
            }
            Err(_) => {
                runtime.shutdown_background();
                return Err(StoreError::WorkerGone);
            }
        }
        Ok(Self {
            inner,
            runtime: Some(runtime),
            handle,
            spool_dir: options.spool_dir.unwrap_or_else(std::env::temp_dir),
        })
    }

    /// Runs one call on the store's runtime and waits for it from any executor.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let fut = f(Arc::clone(&self.inner));
        match self.handle.spawn(fut).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::WorkerGone),
        }
    }

    /// [`Self::run`] for a write transaction of `account`, in that account's turn on this
    /// node ([`Inner::write_turn`]).
    async fn write<T, F, Fut>(&self, account: &AccountName, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let account = account.clone();
        self.run(move |db| async move {
            let _turn = db.write_turn(&[&account]).await?;
            f(db).await
        })
        .await
    }

    /// Drops the schema this store uses, with everything in it (for tests: each case's own
    /// schema). The store must not be used afterwards.
    pub async fn drop_schema(&self, schema: &str) -> Result<()> {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(schema));
        self.run(move |inner| async move {
            let client = inner.client().await?;
            client.batch_execute(&sql).await.map_err(DbError::from)?;
            Ok(())
        })
        .await
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Inner {
    /// A pooled connection, waiting up to the connect timeout for the database to come back
    /// (a restart) before failing.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        let deadline = tokio::time::Instant::now() + self.connect_timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            match self.pool.get().await {
                Ok(c) => return Ok(c),
                Err(e) => {
                    if tokio::time::Instant::now() + pause > deadline {
                        return Err(DbError::Pool(e.to_string()));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
            }
        }
    }

    /// Waits for the accounts' turn to write on this node, in name order, and holds it until
    /// the guards are dropped. A write transaction locks its account's rows and keeps a
    /// pooled connection while it waits for them: taken before the connection, the turn
    /// makes the callers of one busy account (a long EXPUNGE, a burst of deliveries) wait
    /// here with no connection, rather than fill the pool that every account shares. (The
    /// turn is the whole account's: its writes to different mailboxes take turns too.) A
    /// caller waits for a turn as long as for a connection, the connect timeout, and then
    /// fails with a temporary error.
    pub async fn write_turn(
        &self,
        accounts: &[&AccountName],
    ) -> crate::Result<Vec<tokio::sync::OwnedMutexGuard<()>>> {
        let mut names: Vec<&AccountName> = accounts.to_vec();
        names.sort_unstable();
        names.dedup();
        let locks: Vec<_> = {
            let mut turns = self
                .turns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A turn no call holds is in the map alone.
            let held = |l: &mut Arc<_>| Arc::strong_count(l) > 1;
            names
                .iter()
                .map(|a| Arc::clone(turns.get_or_insert_with((*a).clone(), held, Arc::default)))
                .collect()
        };
        let deadline = tokio::time::Instant::now() + self.connect_timeout;
        let mut held = Vec::with_capacity(locks.len());
        for l in locks {
            match tokio::time::timeout_at(deadline, l.lock_owned()).await {
                Ok(guard) => held.push(guard),
                Err(_) => {
                    return Err(DbError::Pool(
                        "timed out waiting for the account's other writes on this node".into(),
                    )
                    .into_store());
                }
            }
        }
        Ok(held)
    }

    pub fn cached_account(&self, name: &AccountName) -> Option<i64> {
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .copied()
    }

    pub fn cache_account(&self, name: &AccountName, id: i64) {
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.clone(), id);
    }

    /// Validates a mailbox name and makes `INBOX` canonical.
    pub fn canonical(&self, name: &str) -> Result<String> {
        crate::names::canonical(name, self.delimiter)
    }

    pub fn is_child(&self, name: &str, parent: &str) -> bool {
        name.len() > parent.len()
            && name.starts_with(parent)
            && name[parent.len()..].starts_with(self.delimiter)
    }
}
