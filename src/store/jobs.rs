//! Work that must happen once across every hub instance on one database (a sweep today, an
//! e-mail or a webhook tomorrow), claimed from the `jobs` table with a lease.
//!
//! A claim moves the job's `run_after` to the end of its lease in the same statement that
//! picks it, so no other instance can pick it until then; the claim holds no lock while the
//! job runs (a long transaction would hold back every instance's change feed on PostgreSQL).
//! An instance that dies mid-job lets its lease run out and another runs the job again: a job
//! runs at least once, and once per lease unless its worker dies, so handlers are idempotent.

use sqlx::FromRow;

use super::sql::{Exec, Query, Row, query, query_as};
use super::{Db, Pool};

/// A claimed job. `attempts` counts claims and fences the claimer: finishing a job whose lease
/// another instance has since taken over changes nothing.
#[derive(Debug, Clone, FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub attempts: i64,
}

impl Db {
    /// Makes job `(kind, key)` due at `run_after` (unix seconds), or earlier if it already
    /// waits for a later time.
    pub async fn schedule_job(
        &self,
        kind: &str,
        key: &str,
        payload: &str,
        run_after: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query(
            r#"insert into jobs (kind, key, payload, run_after) values ($1, $2, $3, $4)
               on conflict (kind, key) do update set payload = excluded.payload,
                 run_after = case when jobs.run_after > excluded.run_after
                                  then excluded.run_after else jobs.run_after end"#,
        )
        .bind(kind)
        .bind(key)
        .bind(payload)
        .bind(run_after)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    /// Takes the job due longest at `now`, leased to this caller until `lease_until`.
    pub async fn claim_job(&self, now: i64, lease_until: i64) -> sqlx::Result<Option<Job>> {
        // The outer `run_after <= $1` matters on PostgreSQL: a row another claimer updated
        // meanwhile is re-checked against it, and is no longer due.
        self.claim(now, lease_until, |skip_locked| {
            format!(
                r#"update jobs set attempts = attempts + 1, run_after = $2
                   where run_after <= $1 and id = (select id from jobs where run_after <= $1
                                                   order by run_after, id limit 1 {skip_locked})
                   returning id, kind, key, payload, attempts"#
            )
        })
        .await
    }

    /// Runs a claim: `statement(lock)` updates one due row (`$1`: now, `$2`: the lease's end)
    /// and returns it; `lock` goes at the end of its row-picking subquery.
    pub(super) async fn claim<O: Row>(
        &self,
        now: i64,
        lease_until: i64,
        statement: impl Fn(&str) -> String,
    ) -> sqlx::Result<Option<O>> {
        match &self.write {
            // One statement, without the writer lock: concurrent claimers skip each other's
            // rows instead of queueing.
            Pool::Postgres(p) => {
                query_as(statement("for update skip locked"))
                    .bind(now)
                    .bind(lease_until)
                    .fetch_optional(Exec::PgPool(p))
                    .await
            }
            Pool::Sqlite(_) => {
                let mut tx = self.begin_write().await?;
                let row = query_as(statement(""))
                    .bind(now)
                    .bind(lease_until)
                    .fetch_optional(&mut tx)
                    .await?;
                tx.commit().await?;
                Ok(row)
            }
        }
    }

    /// Makes job `(kind, key)` due at `run_after` unless it exists (keeping its payload: a
    /// periodic job's record of what it covered last).
    pub async fn ensure_job(
        &self,
        kind: &str,
        key: &str,
        payload: &str,
        run_after: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        insert_job(&mut tx, kind, key, payload, run_after).await?;
        tx.commit().await
    }

    /// Records a job as done: due again at `next` (with a new payload), or gone.
    pub async fn finish_job(&self, job: &Job, next: Option<(i64, &str)>) -> sqlx::Result<()> {
        let (sql, run_after, payload) = match next {
            Some((at, payload)) => (
                "update jobs set run_after = $3, payload = $4, attempts = 0, last_error = null where id = $1 and attempts = $2",
                Some(at),
                payload,
            ),
            None => ("delete from jobs where id = $1 and attempts = $2", None, ""),
        };
        self.job_statement(
            query(sql)
                .bind(job.id)
                .bind(job.attempts)
                .bind(run_after)
                .bind(payload),
        )
        .await
    }

    /// Records a failed run; the job is tried again at `retry_at`.
    pub async fn fail_job(&self, job: &Job, error: &str, retry_at: i64) -> sqlx::Result<()> {
        self.job_statement(
            query(
                "update jobs set run_after = $3, last_error = $4 where id = $1 and attempts = $2",
            )
            .bind(job.id)
            .bind(job.attempts)
            .bind(retry_at)
            .bind(error),
        )
        .await
    }

    async fn job_statement(&self, statement: Query<'_>) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        statement.execute(&mut tx).await?;
        tx.commit().await
    }

    /// `(kind, key, run_after, attempts, last_error)` of every job, for tests and operators.
    pub async fn jobs(&self) -> sqlx::Result<Vec<(String, String, i64, i64, Option<String>)>> {
        query_as("select kind, key, run_after, attempts, last_error from jobs order by kind, key")
            .fetch_all(&self.read)
            .await
    }
}

/// Adds job `(kind, key)` due at `run_after` unless it exists, inside the caller's transaction.
pub(super) async fn insert_job(
    tx: &mut super::Conn,
    kind: &str,
    key: &str,
    payload: &str,
    run_after: i64,
) -> sqlx::Result<()> {
    query(
        "insert into jobs (kind, key, payload, run_after) values ($1, $2, $3, $4) on conflict (kind, key) do nothing",
    )
    .bind(kind)
    .bind(key)
    .bind(payload)
    .bind(run_after)
    .execute(tx)
    .await?;
    Ok(())
}
