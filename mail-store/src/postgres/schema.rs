//! The schema: versioned SQL files applied in order when a store opens.
//!
//! `schema_migrations` records each version applied. The files not yet applied run in one
//! transaction with their versions, under an advisory lock, so nodes that start together
//! apply each file once and a file that fails leaves nothing behind. A new file gets the
//! next number; an applied file is never edited.

use tokio_postgres::{Config, NoTls};

use super::{db::DbError, quote_ident};
use crate::error::{Result, StoreError};

/// The migrations, in order: (version, SQL).
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_access_keys.sql")),
    (3, include_str!("migrations/0003_expunge_history.sql")),
];

/// Applies the migrations not yet applied to `schema` (created if missing).
pub(crate) async fn migrate(config: &Config, schema: Option<&str>) -> Result<()> {
    run(config, schema).await.map_err(DbError::into_store)
}

async fn run(config: &Config, schema: Option<&str>) -> Result<(), DbError> {
    let (mut client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let tx = client.transaction().await?;
    // One lock per schema name for the whole database: nodes wait for each other here.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('sansmail-store migrations ' || $1))",
        &[&schema.unwrap_or("public")],
    )
    .await?;
    if let Some(s) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(s)))
            .await?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let applied: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if applied > newest {
        return Err(DbError::Store(StoreError::Corrupt(format!(
            "the database schema is version {applied}, newer than this program's {newest}"
        ))));
    }
    for (version, sql) in MIGRATIONS {
        if *version <= applied {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
    }
    tx.commit().await?;
    drop(client);
    let _ = driver.await;
    Ok(())
}
