//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

use sansmail_store::maildir::{MaildirOptions, MaildirStore};

/// A directory removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "mail-store-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn maildir_store(dir: &Path) -> MaildirStore {
    MaildirStore::open(dir, MaildirOptions::default()).unwrap()
}

pub fn maildir_fixture() -> sansmail_store::testkit::Fixture<MaildirStore> {
    let dir = TempDir::new("kit");
    let store = maildir_store(dir.path());
    sansmail_store::testkit::Fixture::new(store).with_guard(dir)
}

/// A Maildir store that keeps one account loaded: every call for another account unloads
/// the idle ones, and loads its own again.
pub fn maildir_fixture_one_loaded() -> sansmail_store::testkit::Fixture<MaildirStore> {
    let dir = TempDir::new("kit-one");
    let opts = MaildirOptions {
        max_loaded_accounts: 1,
        ..MaildirOptions::default()
    };
    let store = MaildirStore::open(dir.path(), opts).unwrap();
    sansmail_store::testkit::Fixture::new(store).with_guard(dir)
}

/// The test cluster's URL from `SANSMAIL_TEST_POSTGRES`, or a failure telling how to start
/// one: these tests never skip silently.
#[cfg(feature = "postgres")]
pub fn postgres_url() -> String {
    std::env::var("SANSMAIL_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "SANSMAIL_TEST_POSTGRES is not set: start a private PostgreSQL cluster with \
             `. .ci/postgres.sh` (from the workspace root; it installs Debian's postgresql \
             if missing) and run the tests from that shell"
        )
    })
}

/// A PostgreSQL store in a schema of its own, dropped with the fixture.
#[cfg(feature = "postgres")]
pub fn postgres_store(tag: &str) -> (sansmail_store::postgres::PostgresStore, String) {
    use sansmail_store::postgres::{PostgresOptions, PostgresStore};
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "t_{tag}_{}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 1_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    );
    let store = sansmail_store::block_on(PostgresStore::open(
        &postgres_url(),
        PostgresOptions {
            schema: Some(schema.clone()),
            pool_size: 4,
            ..PostgresOptions::default()
        },
    ))
    .unwrap();
    (store, schema)
}

/// Drops a test schema when dropped.
#[cfg(feature = "postgres")]
pub struct SchemaGuard(pub String);

#[cfg(feature = "postgres")]
impl Drop for SchemaGuard {
    fn drop(&mut self) {
        // A store of its own (the fixture's may be gone first): the schema goes with it.
        let url = postgres_url();
        let schema = self.0.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

#[cfg(feature = "postgres")]
pub fn postgres_fixture()
-> sansmail_store::testkit::Fixture<sansmail_store::postgres::PostgresStore> {
    let (store, schema) = postgres_store("kit");
    sansmail_store::testkit::Fixture::new(store).with_guard(SchemaGuard(schema))
}

/// Runs one SQL statement on the test cluster and returns its first column as text.
#[cfg(feature = "postgres")]
pub fn postgres_sql(sql: &str) -> String {
    let url = postgres_url();
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let rows = client.simple_query(&sql).await.unwrap();
            rows.iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                    _ => None,
                })
                .unwrap_or_default()
        })
    })
    .join()
    .unwrap()
}
