//! The worker that runs the hub's background jobs (see `store::jobs`): each instance runs
//! one, and a job due once runs on one instance.

use std::sync::Arc;
use std::time::Duration;

use crate::auth;
use crate::config::Settings;
use crate::store::{Db, Job};

/// Clears expired sessions and sign-in attempts: at each start and every ten minutes.
pub const SWEEP_SESSIONS: &str = "sweep-sessions";

/// How often an idle worker looks for due jobs.
const POLL: Duration = Duration::from_secs(5);
/// How long a claimed job is this worker's before another may take it over.
const LEASE_SECS: i64 = 300;
/// Retries wait 2^attempts seconds, at most this long.
const MAX_BACKOFF_SECS: i64 = 3600;

/// Schedules the periodic jobs and runs due jobs until the process ends.
pub async fn run(db: Db, settings: Arc<Settings>) {
    if let Err(e) = db
        .schedule_job(SWEEP_SESSIONS, "periodic", "{}", auth::now())
        .await
    {
        tracing::warn!(error = %e, "cannot schedule the session sweep");
    }
    loop {
        loop {
            let now = auth::now();
            match db.claim_job(now, now + LEASE_SECS).await {
                Ok(Some(job)) => run_one(&db, &settings, &job).await,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a job; trying again later");
                    break;
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn run_one(db: &Db, settings: &Settings, job: &Job) {
    let outcome = match job.kind.as_str() {
        SWEEP_SESSIONS => auth::sweep_expired(db, settings, auth::now())
            .await
            .map(|()| Some(auth::now() + auth::SWEEP_EVERY.as_secs() as i64))
            .map_err(|e| e.to_string()),
        other => Err(format!("no handler for jobs of kind {other:?}")),
    };
    let recorded = match outcome {
        Ok(next_run) => db.finish_job(job, next_run).await,
        Err(error) => {
            tracing::warn!(kind = %job.kind, key = %job.key, %error, "job failed; will retry");
            let backoff = 1_i64
                .checked_shl(job.attempts.clamp(0, 62) as u32)
                .unwrap_or(MAX_BACKOFF_SECS)
                .min(MAX_BACKOFF_SECS);
            db.fail_job(job, &error, auth::now() + backoff).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(kind = %job.kind, error = %e, "cannot record a job's outcome; its lease runs out");
    }
}
