//! The worker that runs the hub's background jobs (see `store::jobs`): each instance runs
//! one, and a job due once runs on one instance.

use std::time::Duration;

use crate::store::Job;
use crate::{AppState, auth, notify};

/// Clears expired sessions and sign-in attempts, and settles the outbox: at each start and
/// every ten minutes.
pub const SWEEP_SESSIONS: &str = "sweep-sessions";

/// How often an idle worker looks for due jobs.
const POLL: Duration = Duration::from_secs(5);
/// How long a claimed job is this worker's before another may take it over.
const LEASE_SECS: i64 = 300;
/// Retries wait 2^attempts seconds, at most this long.
const MAX_BACKOFF_SECS: i64 = 3600;

/// Schedules the periodic jobs and runs due jobs until the process ends.
pub async fn run(state: AppState) {
    let db = &state.db;
    let now = auth::now();
    let mut periodic = vec![db.schedule_job(SWEEP_SESSIONS, "periodic", "{}", now).await];
    if state.settings.smtp.is_some() {
        // Created once; their payloads record what they covered last.
        periodic.push(
            db.ensure_job(
                notify::digest::JOB,
                "weekly",
                "{}",
                notify::digest::next_run(now),
            )
            .await,
        );
        periodic.push(
            db.ensure_job(
                notify::daily::JOB,
                "daily",
                &since_payload(&notify::daily::day(now)),
                notify::daily::next_run(now),
            )
            .await,
        );
    }
    for e in periodic.into_iter().filter_map(Result::err) {
        tracing::warn!(error = %e, "cannot schedule a periodic job");
    }
    loop {
        loop {
            let now = auth::now();
            match db.claim_job(now, now + LEASE_SECS).await {
                Ok(Some(job)) => {
                    run_one(&state, &job).await;
                    // It may have queued mail or webhook deliveries.
                    state.wake_mail.notify_one();
                    state.wake_webhooks.notify_one();
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a job; trying again later");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = state.wake_jobs.notified() => {}
        }
    }
}

fn since_payload(day: &str) -> String {
    serde_json::json!({ "since": day }).to_string()
}

/// What a job asks to happen next: nothing (it is done), or to run again at a time with a
/// payload.
type Next = Option<(i64, String)>;

async fn handle(state: &AppState, job: &Job) -> anyhow::Result<Next> {
    let db = &state.db;
    match job.kind.as_str() {
        SWEEP_SESSIONS => {
            auth::sweep_expired(db, &state.settings, auth::now()).await?;
            // Also with e-mail off (no sender runs): nothing waits in the outbox forever.
            db.settle_mail(auth::now(), auth::now() - crate::mail::EXPIRE_SECS)
                .await?;
            Ok(Some((
                auth::now() + auth::SWEEP_EVERY.as_secs() as i64,
                "{}".into(),
            )))
        }
        notify::JOB => notify::run(state, &job.key, &job.payload)
            .await
            .map(|()| None),
        notify::digest::JOB => {
            // Due at a Monday 07:00; late runs still cover the week before that hour.
            let due = notify::digest::next_run(auth::now() - 7 * 24 * 3600);
            let added = notify::digest::run(state, due).await?;
            tracing::info!(messages = added, "weekly digest composed");
            Ok(Some((notify::digest::next_run(auth::now()), "{}".into())))
        }
        notify::daily::JOB => {
            let since = serde_json::from_str::<serde_json::Value>(&job.payload)?
                .get("since")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or_default();
            let today = notify::daily::day(auth::now());
            notify::daily::run(state, &since, &today).await?;
            Ok(Some((
                notify::daily::next_run(auth::now()),
                since_payload(&today),
            )))
        }
        other => anyhow::bail!("no handler for jobs of kind {other:?}"),
    }
}

async fn run_one(state: &AppState, job: &Job) {
    let db = &state.db;
    let outcome = handle(state, job).await.map_err(|e| format!("{e:#}"));
    let recorded = match outcome {
        Ok(next) => {
            db.finish_job(job, next.as_ref().map(|(at, p)| (*at, p.as_str())))
                .await
        }
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
