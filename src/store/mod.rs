//! The database: the source of truth. SQLite by default, in WAL mode; all writes go through
//! one writer connection and `BEGIN IMMEDIATE`, so concurrent writers queue instead of
//! failing with "database is locked".

mod adoption;
mod authoring;
mod capped;
mod export;
mod import;
pub mod pages;
mod people;
pub mod plc;
mod review;
mod search_docs;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

pub use adoption::AdoptionView;
pub use authoring::{EditTarget, RevisionRow, Saved, WorkRow};
pub use capped::Capped;
pub use export::export_catalog;
pub use import::{ImportReport, import_catalog, import_dir};
pub use people::{Binding, LoginAttempt, PersonRow, SessionRow, SignInIdentity, TeamRef, User};
pub use review::{Decision, DecisionError, DueRow, QueueRow, ReviewRow, Score};
pub use search_docs::{IndexDoc, SearchLogEntry};

/// Handles to the database: a pool of readers and a single writer.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: SqlitePool,
    write: SqlitePool,
}

/// How long a command-line writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a database error means the writer stayed taken for longer than we wait: nothing
/// was written, and the same write can succeed later.
pub fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        // SQLITE_BUSY and its extended codes, and SQLITE_LOCKED.
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("5" | "6" | "261" | "517" | "773"))
        }
        _ => false,
    }
}

impl Db {
    /// Opens (creating if missing) the database at `url` and runs pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_waiting(url, BUSY_TIMEOUT).await
    }

    /// The same, with writers waiting at most `wait` for the write lock (the web server waits
    /// less than a command, as a person is waiting on it).
    pub async fn connect_waiting(url: &str, wait: Duration) -> anyhow::Result<Db> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(wait);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(wait)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Db { read, write })
    }

    /// Starts a write transaction that holds the write lock from its first statement, so a
    /// read-then-write inside it cannot be invalidated by another writer.
    pub async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.write.begin_with("begin immediate").await
    }

    /// Runs one statement as a write transaction only if the writer is free right now;
    /// false when it is not. For writes that may be skipped (a session's idle clock), so that
    /// a reading page never waits behind an import.
    pub async fn write_if_free<'q>(
        &self,
        statement: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::Result<bool> {
        let Some(mut conn) = self.write.try_acquire() else {
            return Ok(false);
        };
        let wait: i64 = sqlx::query_scalar("pragma busy_timeout")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query("pragma busy_timeout = 0")
            .execute(&mut *conn)
            .await?;
        let outcome = match sqlx::query("begin immediate").execute(&mut *conn).await {
            Ok(_) => match statement.execute(&mut *conn).await {
                Ok(_) => sqlx::query("commit")
                    .execute(&mut *conn)
                    .await
                    .map(|_| true),
                Err(e) => {
                    sqlx::query("rollback").execute(&mut *conn).await?;
                    Err(e)
                }
            },
            Err(e) if is_busy(&e) => Ok(false),
            Err(e) => Err(e),
        };
        sqlx::query(&format!("pragma busy_timeout = {wait}"))
            .execute(&mut *conn)
            .await?;
        outcome
    }

    /// Whether the database answers: what `/readyz` reports.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.read).await.is_ok()
    }

    /// True when no practice has been stored yet (first start: import the seed catalog).
    pub async fn is_empty(&self) -> sqlx::Result<bool> {
        let n: i64 = sqlx::query_scalar("select count(*) from (select 1 from practices limit 1)")
            .fetch_one(&self.read)
            .await?;
        Ok(n == 0)
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Appends to the feed the search index tails. Call inside the transaction of the write.
pub(crate) async fn record_change(
    tx: &mut Transaction<'_, Sqlite>,
    practice_id: i64,
    kind: &str,
) -> sqlx::Result<()> {
    sqlx::query("insert into changes (practice_id, kind) values (?, ?)")
        .bind(practice_id)
        .bind(kind)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Encodes a list for a JSON text column.
pub(crate) fn json_list<T: AsRef<str>>(items: &[T]) -> String {
    serde_json::to_string(&items.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// Decodes a JSON text column written by `json_list`.
pub(crate) fn parse_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}
