//! The database: the source of truth. SQLite by default, in WAL mode; all writes go through
//! one writer connection and `BEGIN IMMEDIATE`, so concurrent writers queue instead of
//! failing with "database is locked". PostgreSQL when `database_url` says `postgres://`:
//! the same statements (see `sql`), for several hub instances on one database.

mod adoption;
mod authoring;
mod capped;
mod copy;
mod evidence;
mod export;
pub mod feeds;
pub mod files;
mod import;
mod jobs;
mod like_mine;
mod measures;
mod notices;
pub mod pages;
mod people;
pub mod plc;
mod questions;
mod rendered;
mod review;
mod search_docs;
mod sitemap;
mod tokens;
pub mod webhooks;

pub mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use adoption::AdoptionView;
pub use authoring::{EditTarget, RevisionRow, Saved, WorkRow};
pub use capped::Capped;
pub use copy::{CopyError, CopyOptions, CopyReport, copy};
pub use evidence::EssaInput;
pub use export::export_catalog;
pub use import::{ImportReport, import_catalog, import_dir};
pub use jobs::Job;
pub use like_mine::ProfiledSchool;
pub(crate) use notices::schedule_in;
pub use notices::{
    AdoptionFacts, Announced, Draft, EventFacts, OutboxCounts, Outgoing, Overdue, Recipient, Sent,
    Subscription,
};
pub use people::{Binding, LoginAttempt, PersonRow, SessionRow, SignInIdentity, TeamRef, User};
pub use questions::{AnswerFacts, AnswerView, QuestionFacts, QuestionTarget, QuestionView};
pub use review::{Decision, DecisionError, DueRow, QueueRow, ReviewRow, Score, Verdict};
pub use search_docs::{Change, FeedPos, IndexDoc, SearchLogEntry};
pub use sitemap::SitemapPractice;
pub use sql::{Conn, Dialect, Pool};
pub use tokens::{NewToken, TokenOwner, TokenRow};
pub use webhooks::{
    AdoptionReport, Attempt, DeliveryRow, NewDelivery, NewWebhook, PublicPractice, Webhook,
};

use sql::{Exec, Query, query, query_scalar};

/// Handles to the database. SQLite: a pool of readers and one writer connection.
/// PostgreSQL: one pool, writers serialised by an advisory lock (see `begin_write`).
#[derive(Clone, Debug)]
pub struct Db {
    read: Pool,
    write: Pool,
    /// How long a writer waits for the write lock.
    wait: Duration,
    /// Renders revisions' Markdown under the hub's image policy (`with_renderer`).
    renderer: std::sync::Arc<crate::content::Renderer>,
}

/// How long a command-line writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The advisory lock every PostgreSQL writer of one database takes: ("BS", 1).
const PG_WRITE_LOCK: (i32, i32) = (0x4253, 1);

/// Whether a database error means the writer stayed taken for longer than we wait: nothing
/// was written, and the same write can succeed later.
pub fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        // SQLITE_BUSY and its extended codes, and SQLITE_LOCKED; PostgreSQL's
        // lock_not_available (a `lock_timeout` on the writer lock) and query_canceled.
        sqlx::Error::Database(d) => matches!(
            d.code().as_deref(),
            Some("5" | "6" | "261" | "517" | "773" | "55P03" | "57014")
        ),
        _ => false,
    }
}

/// Whether `url` names a PostgreSQL database (else it is SQLite's).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Db {
    /// Opens (creating if missing) the database at `url` and runs pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_waiting(url, BUSY_TIMEOUT).await
    }

    /// The same, with writers waiting at most `wait` for the write lock (the web server waits
    /// less than a command, as a person is waiting on it).
    pub async fn connect_waiting(url: &str, wait: Duration) -> anyhow::Result<Db> {
        Db::connect_with(url, wait, 16).await
    }

    /// The same, keeping at most `pg_connections` connections to a PostgreSQL server.
    pub async fn connect_with(
        url: &str,
        wait: Duration,
        pg_connections: u32,
    ) -> anyhow::Result<Db> {
        if is_postgres_url(url) {
            return Db::connect_postgres(url, wait, pg_connections).await;
        }
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
        // sqlx takes no lock around SQLite migrations: a hub starting in another process at
        // the same moment may apply one first, and ours then fails on it. Each migration is
        // one transaction, so running again skips what the other applied.
        let mut attempt = 0;
        while let Err(e) = sqlx::migrate!("./migrations/sqlite").run(&write).await {
            attempt += 1;
            if attempt == 5 {
                return Err(e.into());
            }
            tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
        }
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Db {
            read: Pool::Sqlite(read),
            write: Pool::Sqlite(write),
            wait,
            renderer: Default::default(),
        })
    }

    async fn connect_postgres(url: &str, wait: Duration, max: u32) -> anyhow::Result<Db> {
        let options = PgConnectOptions::from_str(url)?
            .application_name("brightspots")
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(max.max(2))
            .acquire_timeout(wait.max(Duration::from_secs(1)))
            .connect_with(options)
            .await?;
        // sqlx holds an advisory lock while it migrates: instances starting together
        // migrate once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        // Rows restored from another cluster (pg_dump, pg_restore) may carry transaction ids
        // this one has not reached yet: the feed would hold them back until it did.
        let reset = query(
            "update changes set xid = 0 where xid >= pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
        )
        .execute(Exec::PgPool(&pool))
        .await?
        .rows_affected();
        if reset > 0 {
            tracing::warn!(
                rows = reset,
                "changes from another database cluster were renumbered for this one"
            );
        }
        Ok(Db {
            read: Pool::Postgres(pool.clone()),
            write: Pool::Postgres(pool),
            wait,
            renderer: Default::default(),
        })
    }

    /// This handle, rendering the Markdown of the revisions it saves or imports under
    /// `images` (a fresh connection allows images from the hub only).
    pub fn with_image_policy(mut self, images: crate::content::ImagePolicy) -> Db {
        if *self.renderer.images() != images {
            self.renderer = std::sync::Arc::new(crate::content::Renderer::new(images));
        }
        self
    }

    /// What renders the Markdown of revisions saved through this handle.
    pub fn renderer(&self) -> &std::sync::Arc<crate::content::Renderer> {
        &self.renderer
    }

    /// The SQL engine behind this database.
    pub fn dialect(&self) -> Dialect {
        self.read.dialect()
    }

    /// The readers' pool, for statements outside the store (tests, benchmarks).
    #[doc(hidden)]
    pub fn reader(&self) -> &Pool {
        &self.read
    }

    /// Starts a write transaction that holds the write lock from its first statement, so a
    /// read-then-write inside it cannot be invalidated by another writer: SQLite's one
    /// writer, and on PostgreSQL one writer per database across every instance (the store's
    /// read-then-write steps were written for one writer; the change feed does not rely on
    /// it).
    pub async fn begin_write(&self) -> sqlx::Result<Conn> {
        match &self.write {
            Pool::Sqlite(p) => Ok(Conn::SqliteTx(p.begin_with("begin immediate").await?)),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                let ms = self.wait.as_millis().max(1);
                sqlx::query(&format!("set local lock_timeout = {ms}"))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("select pg_advisory_xact_lock($1, $2)")
                    .bind(PG_WRITE_LOCK.0)
                    .bind(PG_WRITE_LOCK.1)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("set local lock_timeout = 0")
                    .execute(&mut *tx)
                    .await?;
                Ok(Conn::PgTx(tx))
            }
        }
    }

    /// A read-only transaction: one consistent snapshot for several statements.
    pub(crate) async fn begin_read(&self) -> sqlx::Result<Conn> {
        match &self.read {
            Pool::Sqlite(p) => Ok(Conn::SqliteTx(p.begin().await?)),
            Pool::Postgres(p) => Ok(Conn::PgTx(
                p.begin_with("begin isolation level repeatable read, read only")
                    .await?,
            )),
        }
    }

    /// A reading connection held for several statements.
    pub(crate) async fn acquire(&self) -> sqlx::Result<Conn> {
        match &self.read {
            Pool::Sqlite(p) => Ok(Conn::Sqlite(p.acquire().await?)),
            Pool::Postgres(p) => Ok(Conn::Postgres(p.acquire().await?)),
        }
    }

    /// Runs one statement as a write transaction only if the writer is free right now;
    /// false when it is not. For writes that may be skipped (a session's idle clock), so that
    /// a reading page never waits behind an import. On PostgreSQL the statement (one row of
    /// `sessions`) needs no writer lock and just runs.
    async fn write_if_free(&self, statement: Query<'_>) -> sqlx::Result<bool> {
        let p = match &self.write {
            Pool::Postgres(p) => return statement.execute(Exec::PgPool(p)).await.map(|_| true),
            Pool::Sqlite(p) => p,
        };
        let Some(mut conn) = p.try_acquire() else {
            return Ok(false);
        };
        let wait: i64 = sqlx::query_scalar("pragma busy_timeout")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query("pragma busy_timeout = 0")
            .execute(&mut *conn)
            .await?;
        let outcome = match sqlx::query("begin immediate").execute(&mut *conn).await {
            Ok(_) => match statement.execute(Exec::Sqlite(&mut conn)).await {
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

    /// Calls `wake` each time a write through any instance commits a change, until `wake`
    /// returns false (PostgreSQL's LISTEN/NOTIFY, reconnecting when the connection drops).
    /// Returns at once on SQLite, whose writers in other processes the indexer's poll finds.
    pub async fn listen_for_changes(&self, mut wake: impl FnMut() -> bool + Send) {
        let Pool::Postgres(pool) = &self.read else {
            return;
        };
        loop {
            let listening = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen("bs_changes").await?;
                loop {
                    listener.recv().await?;
                    if !wake() {
                        return Ok::<_, sqlx::Error>(());
                    }
                }
            };
            match listening.await {
                Ok(()) => return,
                Err(e) if pool.is_closed() => {
                    tracing::debug!(error = %e, "stopped listening for changes");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "listening for changes failed; the indexer polls meanwhile")
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Whether the database answers: what `/readyz` reports.
    pub async fn ping(&self) -> bool {
        query("select 1").execute(&self.read).await.is_ok()
    }

    /// True when no practice has been stored yet (first start: import the seed catalog).
    pub async fn is_empty(&self) -> sqlx::Result<bool> {
        let n: i64 = query_scalar("select count(*) from (select 1 from practices limit 1) as p")
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
pub(crate) async fn record_change(tx: &mut Conn, practice_id: i64, kind: &str) -> sqlx::Result<()> {
    query("insert into changes (practice_id, kind) values ($1, $2)")
        .bind(practice_id)
        .bind(kind)
        .execute(tx)
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

#[cfg(test)]
mod tests {
    /// A schema change after the PostgreSQL baseline (0008) is a pair of migrations with one
    /// number, one per engine, so that both databases always have the same schema.
    #[test]
    fn both_engines_have_the_same_migrations_after_the_baseline() {
        let versions = |engine: &str| -> std::collections::BTreeSet<u32> {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(engine);
            std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.unwrap().file_name().to_str()?.get(..4)?.parse().ok())
                .filter(|v| *v > 8)
                .collect()
        };
        assert!(!versions("sqlite").is_empty());
        assert_eq!(versions("sqlite"), versions("postgres"));
    }
}
